"""How much work one replication of a scenario asks for, before any is done: the expected
number of engine events (an order of magnitude, not a promise) and the memory one
replication holds in a worker. study/limits.py refuses runs far beyond its limits.

Events per replication, from the scenario alone:

    baton copies   every initiative (named, plus the stream's expected arrivals
                   rate x (arrival days) / year_length) reaches every runner once:
                   initiatives x runners copies, each about 3 events plus 3 per exchange
                   attempt (1 / (1 - fumble x recover) attempts expected, at most
                   max_attempts; one more event per attempt with a window)
    reviews        horizon / interval when reviews can find a drop (detect > 0)
    departures     turnover x runners x horizon / year_length, two events each (leave,
                   fill), per level (the largest turnover of the level or its segments)
"""

from __future__ import annotations

import math

from .scenario import Scenario

__all__ = ["expected_events", "expected_arrivals", "replication_bytes", "BYTES_PER_COPY"]

#: memory a baton copy holds in the engine while in flight (SimPy process, events and
#: per-runner state): measured at about 1.7 KB per classroom with one initiative
#: (1,000,000 classrooms: 1.8 GB resident, 100,000: 0.3 GB)
BYTES_PER_COPY = 2000


def expected_arrivals(sc: Scenario) -> float:
    """Initiatives the stream is expected to bring in one replication."""
    s = sc.stream
    if s.rate <= 0:
        return 0.0
    days = max(0.0, min(s.stop, sc.horizon) - s.start)
    return s.rate * (days / sc.year_length)


def _attempts(sc: Scenario, k: int) -> float:
    """Expected exchange attempts into level k (events per attempt folded in)."""
    z = sc.zones[k] if k < len(sc.zones) else None
    if z is None:
        return 0.0
    p = z.fumble * z.recover
    n = math.inf if p >= 1 else 1.0 / (1.0 - p)
    if z.max_attempts is not None:
        n = min(n, float(z.max_attempts))
    return n * (4.0 if z.window is not None else 3.0)


def _turnover(sc: Scenario, k: int) -> float:
    """The largest turnover of level k, in the scenario or as any segment sees it."""
    rates = [sc.levels[k].turnover]
    for lv in sc.levels:
        for seg in lv.segments:
            if k < len(seg.variant.levels):
                rates.append(seg.variant.levels[k].turnover)
    return max(rates)


def expected_events(sc: Scenario) -> float:
    """Expected engine events of one replication (inf when unbounded)."""
    sizes = sc.level_sizes
    years = sc.horizon / sc.year_length
    inits = len(sc.initiatives) + expected_arrivals(sc)
    events = 0.0
    for k, n in enumerate(sizes):
        events += inits * n * (3.0 + _attempts(sc, k))
        events += 2.0 * _turnover(sc, k) * n * years
    if sc.feedback.detect > 0:
        events += sc.horizon / sc.feedback.interval
    return events if math.isfinite(events) else math.inf


def replication_bytes(sc: Scenario) -> float:
    """Memory one replication may hold at once in a worker: a baton copy in flight per
    runner and initiative (named initiatives may all be in flight together; stream
    arrivals count with the share of the horizon they stay open)."""
    open_share = min(1.0, sc.stream.deadline_after / sc.horizon) if sc.stream.rate > 0 else 0
    inits = len(sc.initiatives) + expected_arrivals(sc) * open_share
    return max(1.0, inits) * sum(sc.level_sizes) * BYTES_PER_COPY
