"""Executing replications: the unit of work shipped to a worker (a chunk of replications),
how replications are split into chunks, and running chunks on a local process pool or any
concurrent.futures executor.

Replication i of a run with seed s always draws the same random numbers, whichever worker
runs it and however the replications are chunked, so results never depend on either.

Local pools come from `local_pool`: their workers die with the process that started them,
even when it is killed with SIGKILL (Linux: the kernel's parent-death signal; everywhere:
a watchdog thread in each worker that checks the parent twice a second), and they leave
SIGINT and SIGTERM to the parent, which stops them itself (`stop_pool`). When a worker dies
(killed, or out of memory), `execute` starts a new pool and runs the lost chunks again;
the results are the same as if nothing had happened.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..engines import select
from ..engines.records import Replication
from ..errors import RelaysimError
from ..machine import default_workers
from ..model.scenario import Scenario

__all__ = ["default_workers", "run_chunk", "chunks", "execute", "local_pool", "stop_pool",
           "PoolDied", "POOL_RESTARTS"]

#: how often a local pool may be rebuilt after a worker died, in one run, before giving up
POOL_RESTARTS = 3

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_WATCH_SECONDS = 0.5


class PoolDied(RelaysimError):
    """Workers kept dying (killed, or out of memory): the run gave up."""


def run_chunk(scenario: Scenario, seed: int, start: int, stop: int, engine: str = "auto"
              ) -> list[Replication]:
    """Replications start..stop-1 (the unit of work shipped to a worker) on `engine`
    ("auto", "fast" or "simpy": the same records, see relaysim.engines.select)."""
    return select.chunk_runner(select.resolve(engine))(scenario, seed, start, stop)


_ENGINE_CHUNK = run_chunk  # the engines' own (not a stand-in a test put in its place)


def run_chunk_then(fold: Callable[[list[Replication]], Any] | None, runner: Callable[..., Any],
                   *args: Any) -> Any:
    """runner(*args), passed through `fold` in the worker when given (so that a worker
    can send back something smaller than the records, such as their columns)."""
    direct = getattr(fold, "direct", None)  # the fold straight from the engine, if it can
    if direct is not None and runner is _ENGINE_CHUNK:
        got = direct(*args)
        if got is not NotImplemented:
            return got
    got = runner(*args)
    return got if fold is None else fold(got)


def _spilled(folder: str, fold: Callable[[list[Replication]], Any] | None,
             runner: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """run_chunk_then(fold, runner, *args), pickled to a new file in `folder`: (True, its
    name) is what goes back through the pool's result pipe; (False, the result itself)
    when the file cannot be written (a full disk).

    Why: a worker killed while writing a large result leaves half a message in the pipe,
    and ProcessPoolExecutor then waits for the rest forever. A file name is far below
    PIPE_BUF, so its write is atomic: a killed worker has sent all of it or nothing."""
    got = run_chunk_then(fold, runner, *args)
    try:
        fd, path = tempfile.mkstemp(dir=folder, suffix=".pickle")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(got, f, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        return False, got
    return True, path


def _unspilled(sent: tuple[bool, Any]) -> Any:
    """What _spilled computed; its file, if any, is removed."""
    in_file, got = sent
    if not in_file:
        return got
    with open(got, "rb") as f:
        value = pickle.load(f)
    os.unlink(got)
    return value


def chunks(reps: int, chunk_size: int, start: int = 0) -> list[tuple[int, int]]:
    """Split replications start..start+reps-1 into (start, stop) ranges."""
    return [(a, min(a + chunk_size, start + reps)) for a in range(start, start + reps, chunk_size)]


# --------------------------------------------------------------------------- local pools


def _worker_init(parent: int, death_signal: bool) -> None:
    """In each pool worker: leave Ctrl-C and SIGTERM to the parent (it stops the pool), and
    die with the parent: at once on Linux (PR_SET_PDEATHSIG), else within half a second."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if death_signal and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog does
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent,), daemon=True,
                     name="relaysim-parent-watchdog").start()


def _watchdog(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


def local_pool(workers: int, death_signal: bool = True) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process (see the module's words).

    death_signal: also arm Linux's parent-death signal. It fires when the *thread* that
    started the workers ends, so pass False for a pool that outlives the call that
    creates it in a short-lived thread (the watchdog still guards the process)."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                               initargs=(os.getpid(), death_signal))


def stop_pool(ex: ProcessPoolExecutor) -> None:
    """Stop a local pool now: terminate its workers (work in them is lost) and shut it
    down without waiting for running chunks."""
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()
    ex.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- executing


def execute(scenario: Scenario, seed: int, parts: list[tuple[int, int]], workers: int,
            executor: Executor | None, engine: str = "auto",
            fold: Callable[[list[Replication]], Any] | None = None) -> Iterator[Any]:
    """The records of each (start, stop) part, in the order of `parts`: in this process
    (one worker or one part), on `executor` if given (left open), else on a local pool of
    `workers` processes (stopped at the end, rebuilt if a worker dies). With `fold` (a
    module-level function), fold(records) of each part instead, computed in the worker."""
    if executor is None and (workers == 1 or len(parts) == 1):
        for a, b in parts:
            yield run_chunk_then(fold, run_chunk, scenario, seed, a, b, engine)
        return
    if executor is not None:
        futures = [executor.submit(run_chunk_then, fold, run_chunk, scenario, seed, a, b,
                                   engine) for a, b in parts]
        try:
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.cancel()
        return
    yield from _on_local_pool(scenario, seed, parts, workers, engine, fold)


def _on_local_pool(scenario: Scenario, seed: int, parts: list[tuple[int, int]], workers: int,
                   engine: str = "auto", fold: Callable[[list[Replication]], Any] | None = None
                   ) -> Iterator[Any]:
    """execute() on pools of our own: when a worker dies the pool breaks; a new one runs
    the parts not yet returned (identical results: a replication is a pure function of
    its seed and index). Gives up after POOL_RESTARTS rebuilds."""
    select.prepare(engine)
    todo = list(parts)
    restarts = 0
    folder = tempfile.mkdtemp(prefix="relaysim-chunks-")
    ex = local_pool(workers)
    try:
        while todo:
            try:  # submit too: a pool may break while chunks are still being submitted
                futures = [ex.submit(_spilled, folder, fold, run_chunk, scenario, seed, a, b,
                                     engine) for a, b in todo]
                for f in futures:
                    got = _unspilled(f.result())
                    todo.pop(0)
                    yield got
            except BrokenProcessPool:
                restarts += 1
                if restarts > POOL_RESTARTS:
                    a, b = todo[0]
                    raise PoolDied(
                        f"worker processes died {restarts} times (killed, or out of memory?) "
                        f"while running replications {a}..{b - 1}; try fewer --workers"
                    ) from None
                stop_pool(ex)
                ex = local_pool(workers)
    except BaseException:
        stop_pool(ex)  # interrupted, or the consumer stopped early: stop the workers now
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ex.shutdown(wait=True)
