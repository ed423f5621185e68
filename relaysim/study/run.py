"""Monte Carlo runs: replications in chunks, on any executor, summarised with intervals.

A result is a pure function of (scenario, seed, reps): replication i always draws from
SeedSequence(seed, spawn_key=(i,)), so the records are identical for any worker count,
chunk size or completion order (chunks are put back in replication order).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engines import select
from ..engines.records import InitiativeOutcome, Replication
from ..errors import UsageError
from ..model.scenario import Scenario
from .stats import km_quantiles, mean_ci, wilson

__all__ = ["run", "run_chunk", "RunResult", "chunks", "default_workers", "atomic_write",
           "json_safe"]


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_chunk(scenario: Scenario, seed: int, start: int, stop: int, engine: str = "auto"
              ) -> list[Replication]:
    """Replications start..stop-1 (the unit of work shipped to a worker)."""
    return select.chunk_runner(select.resolve(engine))(scenario, seed, start, stop)


def chunks(reps: int, chunk_size: int, start: int = 0) -> list[tuple[int, int]]:
    """Split replications start..start+reps-1 into (start, stop) ranges."""
    return [(a, min(a + chunk_size, start + reps)) for a in range(start, start + reps, chunk_size)]


def _check_args(reps: int, seed: int, workers: int | None, chunk_size: int | None) -> None:
    def whole(x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool)

    problems = []
    if not whole(reps) or reps < 1:
        problems.append(f"reps must be a whole number >= 1, got {reps!r}")
    if not whole(seed) or seed < 0:
        problems.append(f"seed must be a whole number >= 0, got {seed!r}")
    if workers is not None and (not whole(workers) or workers < 1):
        problems.append(f"workers must be a whole number >= 1, got {workers!r}")
    if chunk_size is not None and (not whole(chunk_size) or chunk_size < 1):
        problems.append(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    if problems:
        raise UsageError("; ".join(problems))


def run(
    scenario: Scenario,
    reps: int = 1000,
    seed: int = 0,
    workers: int | None = None,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
) -> RunResult:
    """Run `reps` replications of `scenario` and summarise them.

    workers: processes to use (default all cores; 1 runs in this process). A given
    `executor` (any concurrent.futures.Executor) is used instead and left open.
    chunk_size: replications per unit of work (default: about four chunks per worker).
    progress: called with the number of replications finished after each chunk.
    engine: "auto" (fast, or SimPy without numba), "fast" or "simpy" (same results).
    The result does not depend on workers, chunk_size, executor or engine.
    """
    _check_args(reps, seed, workers, chunk_size)
    engine = select.resolve(engine)
    n_workers = workers if workers is not None else default_workers()
    if chunk_size is None:
        chunk_size = max(1, min(200, math.ceil(reps / (4 * max(1, n_workers)))))
    parts = chunks(reps, chunk_size)
    records: list[Replication] = []
    for got in _execute(scenario, seed, parts, n_workers, executor, engine):
        records.extend(got)
        if progress is not None:
            progress(len(got))
    records.sort(key=lambda r: r.rep)
    return RunResult(scenario=scenario, seed=int(seed), reps=int(reps), replications=records,
                     engine=engine)


def _execute(scenario: Scenario, seed: int, parts: list[tuple[int, int]], workers: int,
             executor: Executor | None, engine: str = "auto") -> Iterator[list[Replication]]:
    if executor is None and (workers == 1 or len(parts) == 1):
        for a, b in parts:
            yield run_chunk(scenario, seed, a, b, engine)
        return
    own = executor is None
    ex = executor or ProcessPoolExecutor(max_workers=workers)
    try:
        futures = [ex.submit(run_chunk, scenario, seed, a, b, engine) for a, b in parts]
        for f in futures:
            yield f.result()
    finally:
        if own:
            ex.shutdown(cancel_futures=True)


# --------------------------------------------------------------------------- results


def _num(x: float | None, nd: int = 6) -> float | None:
    """JSON-friendly float: None for NaN/None, rounded for stable text."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd)


def summarize_initiative(outs: list[InitiativeOutcome], level_names: list[str],
                         n_reps: int) -> dict[str, Any]:
    """Estimates for one initiative (or the stream's arrivals pooled) over replications.

    Completion and coverage count only initiatives whose deadline falls within the horizon
    (`observed`; every named initiative is); completion times use all, censored as needed.
    """
    obs = [o for o in outs if o.observed]
    n = len(obs)
    k = sum(o.completed for o in obs)
    lo, hi = wilson(k, n)
    cov, (clo, chi) = mean_ci([o.coverage for o in obs], bounds=(0.0, 1.0))
    fid, _ = mean_ci([o.fidelity for o in obs])
    q25, q50, q75 = km_quantiles([o.completion_time for o in outs], [o.follow_up for o in outs])
    zones: dict[str, Any] = {}
    total_drops = sum(z.drops for o in outs for z in o.zones)
    for lvl, name in enumerate(level_names):
        if lvl == 0:
            continue
        d = sum(o.zones[lvl].drops for o in outs)
        zones[name] = {
            "attempts": sum(o.zones[lvl].attempts for o in outs),
            "fumbles": sum(o.zones[lvl].fumbles for o in outs),
            "recoveries": sum(o.zones[lvl].recoveries for o in outs),
            "drops": d,
            "rescues": sum(o.zones[lvl].rescues for o in outs),
            "drop_share": _num(d / total_drops) if total_drops else 0.0,
            "drops_per_rep": _num(d / n_reps),
        }
    n_class = outs[0].n_classrooms if outs else 0
    return {
        "runs": len(outs),
        "observed": n,
        "completion_rate": {"estimate": _num(k / n) if n else None,
                            "ci95": [_num(lo), _num(hi)], "successes": k},
        "coverage": {"mean": _num(cov), "ci95": [_num(clo), _num(chi)]},
        "completion_time": {"median": _num(q50), "q25": _num(q25), "q75": _num(q75),
                            "censored": sum(o.completion_time is None for o in outs),
                            "units": "days since launch"},
        "fidelity": {"mean": _num(fid)},
        "classrooms": {
            "dropped_mean": _num(sum(o.dropped for o in outs) / len(outs) / n_class)
            if outs else None,
            "lost_to_turnover_mean": _num(sum(o.lost for o in outs) / len(outs) / n_class)
            if outs else None,
            "units": "share of classrooms cut off, mean per initiative",
        },
        "zones": zones,
    }


@dataclass
class RunResult:
    """Replication records of one run plus the estimates of INTERFACE.md."""

    scenario: Scenario
    seed: int
    reps: int
    replications: list[Replication] = field(repr=False)
    engine: str = "simpy"  # the engine that ran them (same records either way)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The `run --json` document (seed, reps, scenario hash and version included)."""
        sc = self.scenario
        names = [lv.name for lv in sc.levels]
        by_name: dict[str, list[InitiativeOutcome]] = {}
        for r in self.replications:
            for o in r.initiatives:
                by_name.setdefault(o.name, []).append(o)
        inits = {name: summarize_initiative(outs, names, len(self.replications))
                 for name, outs in by_name.items()}
        levels = {}
        n = len(self.replications)
        for k, name in enumerate(names):
            recs = [r.levels[k] for r in self.replications]
            waits = sum(x.waits for x in recs)
            levels[name] = {
                "wait_mean": _num(sum(x.wait_total for x in recs) / waits) if waits else None,
                "utilization": _num(float(np.mean([x.utilization for x in recs]))),
                "departures": _num(sum(x.departures for x in recs) / n),
            }
        return {
            "scenario": sc.name,
            "scenario_hash": sc.hash,
            "source": sc.source,
            "seed": self.seed,
            "reps": self.reps,
            "engine": self.engine,
            "relaysim_version": __version__,
            "initiatives": inits,
            "levels": levels,
        }

    def initiative(self, name: str | None = None) -> dict[str, Any]:
        """Estimates for one initiative (default: the first)."""
        inits = self.summary["initiatives"]
        return inits[name] if name is not None else next(iter(inits.values()))

    @property
    def completion_rate(self) -> float:
        """Completion rate of the first initiative (a convenience for notebooks)."""
        return float(self.initiative()["completion_rate"]["estimate"])

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(json_safe(self.summary), indent=indent)

    # -- per replication ----------------------------------------------------------------
    def per_rep_rows(self) -> Iterable[dict[str, Any]]:
        """One row per replication and initiative (the `--per-rep` CSV)."""
        zone_levels = [(k, lv.name) for k, lv in enumerate(self.scenario.levels) if k > 0]
        h = self.scenario.hash  # computed once: it hashes the whole normalised scenario
        for r in self.replications:
            for o in r.initiatives:
                row: dict[str, Any] = {
                    "rep": r.rep,
                    "seed": r.seed,
                    "spawn_key": r.rep,
                    "scenario_hash": h,
                    "relaysim_version": __version__,
                    "initiative": o.name,
                    "launch": o.launch,
                    "completed": int(o.completed),
                    "completion_time": "" if o.completion_time is None else o.completion_time,
                    "coverage": o.coverage,
                    "fidelity": "" if math.isnan(o.fidelity) else o.fidelity,
                    "observed": int(o.observed),
                    "dropped_classrooms": o.dropped,
                    "lost_classrooms": o.lost,
                    "in_flight_classrooms": o.in_flight,
                }
                for k, name in zone_levels:
                    row[f"drops.{name}"] = o.zones[k].drops
                yield row

    def per_rep_csv(self) -> str:
        rows = list(self.per_rep_rows())
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["rep"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()

    def write_per_rep(self, path: str | Path) -> None:
        """Write the per-replication CSV atomically (temporary name, then rename)."""
        atomic_write(path, self.per_rep_csv())

    # -- words ---------------------------------------------------------------------------
    def text(self) -> str:
        """A readable summary for people."""
        from ..present.text import run_summary_text

        return run_summary_text(self)


def json_safe(x: Any) -> Any:
    """The same structure with NaN and infinities as None (strict JSON has neither)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.floating):
        return json_safe(float(x))
    return x


def atomic_write(path: str | Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees a half-written file."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    except OSError as e:
        raise UsageError(f"cannot write {p}: {e.strerror or e}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
