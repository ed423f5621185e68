"""Which engine runs the replications: "fast" (compiled, numba), "simpy" (the reference
model) or "auto" (fast when numba can be imported, else SimPy, said once on stderr).

Both give the same records (relaysim.engines.fast), so the choice changes speed only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..errors import UsageError
from .records import Replication

ENGINES = ("auto", "fast", "simpy")
_said = False


def resolve(engine: str = "auto") -> str:
    """'fast' or 'simpy' for a requested engine (auto falls back to SimPy without numba)."""
    global _said
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "simpy":
        return "simpy"
    from . import fast
    if fast.available():
        return "fast"
    if engine == "fast":
        raise UsageError(f"the fast engine needs numba, which cannot be imported "
                         f"({fast.import_error()}); use --engine simpy")
    if not _said:
        print(f"relaysim: numba cannot be imported ({fast.import_error()}); running the "
              "SimPy engine instead (same results, slower)", file=sys.stderr, flush=True)
        _said = True
    return "simpy"


def prepare(engine: str) -> None:
    """Before starting a local pool: load the fast engine in this process, so that a cold
    cache is compiled once, here, and the workers load it from the cache instead of each
    compiling it (with two workers that halves a first run's time)."""
    if resolve(engine) == "fast":
        from . import fast

        fast.kernel()


def chunk_runner(engine: str) -> Callable[..., list[Replication]]:
    """simulate_chunk(scenario, seed, start, stop) of a resolved engine."""
    if engine == "fast":
        from .fast import simulate_chunk
        return simulate_chunk
    from .simpy_engine import simulate

    def simpy_chunk(scenario, seed, start, stop):  # type: ignore[no-untyped-def]
        return [simulate(scenario, seed, rep) for rep in range(start, stop)]
    return simpy_chunk
