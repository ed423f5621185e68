"""Monte Carlo runs: replications in chunks, on any executor, summarised with intervals.

A result is a pure function of (scenario, seed, reps): replication i always draws the
keyed random numbers of (seed, i) (random streams version 3, engines/keyed.py), so the
records are identical for any worker count, chunk size or completion order (chunks are
put back in replication order).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from ..engines import select
from ..errors import UsageError
from ..model.scenario import Scenario
from .columns import ColumnBuilder, chunk_columns
from .execute import chunks, default_workers, execute, run_chunk, run_chunk_then
from .limits import check_work
from .result import RunResult

__all__ = ["run", "RunResult"]


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


#: a task (one chunk on one worker) should take about this long, once replications are
#: cheap: long enough that shipping it costs little, short enough to balance the workers
TASK_SECONDS = 1.0
#: the probe stops doubling once it has taken this long
PROBE_SECONDS = 0.05


def probe_chunk_size(scenario: Scenario, seed: int, reps: int, workers: int, engine: str,
                     cols: ColumnBuilder) -> tuple[int, int]:
    """Time the first replications here (one untimed that loads the engine, then 1, 2,
    4, ... until PROBE_SECONDS have passed or a fair share of the work is done; all
    folded into `cols`, not wasted) and choose the chunk size: about TASK_SECONDS of work
    per task, but at least four tasks per worker.

    Returns (replications done, chunk size). The records do not depend on either; only
    `run` (and so `compare`) chooses chunks this way: a sweep's chunking is part of its
    store and must not depend on timing (--resume)."""
    def runner(a: int, b: int) -> Any:
        return run_chunk_then(chunk_columns, run_chunk, scenario, seed, a, b, engine)
    share = max(1, math.ceil(reps / (4 * max(1, workers))))
    cols.add_chunk(runner(0, 1))  # untimed: loads the engine (compiled code)
    done, n, per = 1, 1, 0.0
    while done < min(share, reps):
        n = min(n, share - done, reps - done)
        t0 = time.perf_counter()
        cols.add_chunk(runner(done, done + n))
        per = (time.perf_counter() - t0) / n
        done += n
        if per * n >= PROBE_SECONDS:
            break
        n *= 2
    by_time = math.ceil(TASK_SECONDS / per) if per > 0 else share
    left = max(1, math.ceil((reps - done) / (4 * max(1, workers))))
    return done, max(1, min(by_time, left))


def run(
    scenario: Scenario,
    reps: int = 1000,
    seed: int = 0,
    workers: int | None = None,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    max_events: float | None = None,
    engine: str = "auto",
) -> RunResult:
    """Run `reps` replications of `scenario` and summarise them.

    workers: processes to use (default all cores; 1 runs in this process). A given
    `executor` (any concurrent.futures.Executor) is used instead and left open.
    chunk_size: replications per unit of work (default: about TASK_SECONDS of work per
    chunk, timed on the first replications, and at least four chunks per worker).
    progress: called with the number of replications finished after each chunk.
    max_events: refuse (UsageError) a run expected to need more engine events than this
    (default limits.MAX_EVENTS; see study/limits.py), before any work is done.
    engine: "auto" (fast, or SimPy without numba), "fast" or "simpy" (same results).
    The result does not depend on workers, chunk_size, executor or engine.
    """
    _check_args(reps, seed, workers, chunk_size)
    engine = select.resolve(engine)
    n_workers = workers if workers is not None else default_workers()
    check_work([scenario], reps, max_events,
               None if executor is not None else min(n_workers, reps), keep=True)
    cols = ColumnBuilder(int(seed), len(scenario.levels))
    start = 0
    if chunk_size is None:  # timed on the first replications, which are kept
        start, chunk_size = probe_chunk_size(scenario, seed, reps, n_workers, engine, cols)
        if progress is not None and start:
            progress(start)
    parts = chunks(reps - start, chunk_size, start)
    # each chunk's columns are made in the worker and folded here as they come back
    done = zip(parts, execute(scenario, seed, parts, n_workers, executor, engine,
                              fold=chunk_columns), strict=True)
    for (a, b), got in done:
        cols.add_chunk(got)
        if progress is not None:
            progress(b - a)
    return RunResult(scenario=scenario, seed=int(seed), reps=int(reps), engine=engine,
                     columns=cols.finish())
