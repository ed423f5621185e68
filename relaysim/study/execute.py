"""Executing replications: the unit of work shipped to a worker (a chunk of replications),
how replications are split into chunks, and running chunks on a local process pool or any
concurrent.futures executor.

Replication i of a run with seed s always draws the same random numbers, whichever worker
runs it and however the replications are chunked, so results never depend on either.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

from ..engines import select
from ..engines.records import Replication
from ..machine import default_workers
from ..model.scenario import Scenario

__all__ = ["default_workers", "run_chunk", "chunks", "execute"]


def run_chunk(scenario: Scenario, seed: int, start: int, stop: int, engine: str = "auto"
              ) -> list[Replication]:
    """Replications start..stop-1 (the unit of work shipped to a worker) on `engine`
    ("auto", "fast" or "simpy": the same records, see relaysim.engines.select)."""
    return select.chunk_runner(select.resolve(engine))(scenario, seed, start, stop)


def chunks(reps: int, chunk_size: int, start: int = 0) -> list[tuple[int, int]]:
    """Split replications start..start+reps-1 into (start, stop) ranges."""
    return [(a, min(a + chunk_size, start + reps)) for a in range(start, start + reps, chunk_size)]


def execute(scenario: Scenario, seed: int, parts: list[tuple[int, int]], workers: int,
            executor: Executor | None, engine: str = "auto") -> Iterator[list[Replication]]:
    """The records of each (start, stop) part, in the order of `parts`: in this process
    (one worker or one part), on `executor` if given (left open), else on a local pool of
    `workers` processes (shut down at the end)."""
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
