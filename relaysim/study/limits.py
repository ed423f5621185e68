"""Bounds on the work a command is asked to do, checked before any is done.

- replications: at most MAX_REPS per point;
- design points: at most designs.MAX_POINTS;
- events: the expected engine events of the whole command (model/work.py: events per
  replication x replications, summed over points) at most `max_events` (MAX_EVENTS by
  default, `--max-events` on the command line), and those of one replication at most
  max_events / REP_SHARE (a replication runs on one core and cannot be split);
- memory: a replication's baton copies in flight (model/work.py) times the local workers
  that hold one each must fit in the memory this machine has available, and so must the
  results `run` and `compare` keep: every replication's outcome columns
  (columns.bytes_per_rep, about 300 bytes for a small scenario, more with a stream of
  initiatives) times KEEP_PEAK (folding the chunks into columns holds both for a moment).
  A sweep keeps summaries only.

The engine does very roughly 100,000 to 200,000 events per second per core, so the
default limit of 1e10 events is a day or so of one core, and one replication may take
about a quarter of an hour.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import UsageError
from ..model.scenario import Scenario
from ..model.work import expected_events, replication_bytes
from .columns import bytes_per_rep

__all__ = ["MAX_REPS", "MAX_EVENTS", "REP_SHARE", "KEEP_PEAK", "check_work",
           "available_memory"]

MAX_REPS = 10**9
MAX_EVENTS = 1e10
REP_SHARE = 100
#: peak memory of a run's kept results over the size of their columns (measured 2.1:
#: 1,000,000 replications of scenarios/minimal.toml, 278 MB of columns, 572 MB resident)
KEEP_PEAK = 2.5


def available_memory() -> float | None:
    """Bytes of memory available to new work now (Linux: MemAvailable), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size(x: float) -> str:
    return f"{x:.3g}"


def check_work(scenarios: list[Scenario], reps: int, max_events: float | None = None,
               workers: int | None = None, keep: bool = False) -> float:
    """Refuse (UsageError) work beyond the limits; the expected events of it all.

    scenarios: every point to run (reps replications each); workers: local processes
    that each hold a replication (None: an external executor, their memory not checked);
    keep: every replication's outcomes are kept in this process (run, compare)."""
    limit = MAX_EVENTS if max_events is None else float(max_events)
    if not limit > 0:
        raise UsageError(f"max_events must be > 0, got {max_events!r}")
    if reps > MAX_REPS:
        raise UsageError(f"{reps} replications is more than the limit of {MAX_REPS:,} "
                         f"per point")
    per = [expected_events(sc) for sc in scenarios]
    worst = max(per)
    if worst > limit / REP_SHARE:
        sc = scenarios[per.index(worst)]
        raise UsageError(
            f"one replication of '{sc.name}' would run about {_size(worst)} events, more "
            f"than the limit of {_size(limit / REP_SHARE)} per replication (1/{REP_SHARE} "
            f"of --max-events {_size(limit)}); check the horizon, year_length, feedback "
            f"interval, initiative_stream rate, turnover and level counts, or raise "
            f"--max-events")
    total = math.fsum(per) * reps
    if total > limit:
        pts = f" x {len(scenarios)} points" if len(scenarios) > 1 else ""
        raise UsageError(
            f"this would run about {_size(total)} events ({_size(max(per))} per replication "
            f"x {reps} replications{pts}), more than the limit of {_size(limit)} "
            f"(roughly {limit / 1.5e5 / 3600:.0f} core-hours); use fewer replications or "
            f"points, or raise --max-events")
    if workers is not None:
        _check_memory(scenarios, workers)
    if keep:
        _check_kept(scenarios, reps, workers)
    return total


def _check_kept(scenarios: list[Scenario], reps: int, workers: int | None) -> None:
    """The outcomes a run keeps, with its local workers' replications, must fit."""
    have = available_memory()
    if have is None:
        return
    each = math.fsum(bytes_per_rep(sc) for sc in scenarios) * KEEP_PEAK
    busy = max(replication_bytes(sc) for sc in scenarios) * (workers or 0)
    if each * reps + busy > have:
        fit = max(0, int((have - busy) // each))
        raise UsageError(
            f"keeping the outcomes of {reps:,} replications needs about "
            f"{each * reps / 2**30:.1f} GiB of memory (about {each:,.0f} bytes each) and this "
            f"machine has {have / 2**30:.1f} GiB available; use --reps {fit:,} or fewer (a "
            f"sweep keeps only each point's summary)")


def _check_memory(scenarios: list[Scenario], workers: int) -> None:
    have = available_memory()
    if have is None:
        return
    need = max(replication_bytes(sc) for sc in scenarios)
    if need > have:
        raise UsageError(f"one replication needs about {need / 2**30:.1f} GiB of memory and "
                         f"this machine has {have / 2**30:.1f} GiB available; use a smaller "
                         f"district")
    if need * workers > have:
        fit = max(1, int(have // need))
        raise UsageError(f"{workers} workers need about {need * workers / 2**30:.1f} GiB of "
                         f"memory (one replication each) and this machine has "
                         f"{have / 2**30:.1f} GiB available; use --workers {fit} or fewer")
