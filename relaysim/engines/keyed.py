"""Keyed random numbers: every draw is a pure function of its key (random streams v2, v3).

A draw is keyed by (seed, rep, purpose, level, runner, n): the n-th draw (from 0) of
runner `runner` on physical level `level` for `purpose` (see streams.py for the purpose
numbers) in replication `rep` of a run with seed `seed`. No generator state exists; the
SimPy engine and the compiled engine compute the same uniform from the same key.

The function is a chain of SplitMix64 steps. Starting from h = 0, each key component x
in turn is absorbed as

    h = mix64(h + (x + 1) * GOLDEN)        (all arithmetic modulo 2**64)

where mix64 is SplitMix64's output function (Stafford's "Mix13" finaliser) and GOLDEN
its increment. For a fixed prefix the last step runs over n exactly as SplitMix64 runs
over its counter, so one runner's stream is a SplitMix64 sequence; a different prefix
starts it from an unrelated, fully avalanched state. The 53 high bits give a float64 in
[0, 1): (h >> 11) * 2**-53.

One source serves three callers, with bit-identical results:
- `uniform` with Python ints (masked to 64 bits after every step);
- `uniform` compiled by numba (`uniform_nb()`, with `prefix` and `uniform_at`) with int64
  arguments: the masks are no-ops there, products wrap modulo 2**64, and every right
  shift is masked, so an arithmetic shift of a negative int64 gives the same bits as a
  logical one;
- `uniforms`, on numpy uint64 arrays (broadcast), for block draws.

Every key component is a whole number in [0, 2**63), so it fits an int64. Run seeds are
any whole numbers >= 0: the key uses `seed_key(seed)`, which is the seed itself below
2**63 and a 63-bit SplitMix64 digest of larger ones. This module never imports numba.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

__all__ = ["STREAM_VERSION", "uniform", "uniforms", "seed_key", "prefix", "uniform_at",
           "uniform_nb", "compiled"]

#: version 1: a SeedSequence(seed, spawn_key=(rep, purpose, level[, runner, block]))
#: PCG64 generator per key; version 2: this module; version 3: the same uniforms, with the
#: gamma inverse CDF tabulated (distributions.GAMMA_CELLS: within 1e-10 of version 2's)
STREAM_VERSION: int = 3

_M64 = 0xFFFFFFFFFFFFFFFF
_KEY_LIMIT = 1 << 63  # every key component is below this (an int64)
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_LOW34 = (1 << 34) - 1  # masks after >> 30, >> 27, >> 31, >> 11: a logical shift in any
_LOW37 = (1 << 37) - 1  # integer type (int64 shifts arithmetically under numba)
_LOW33 = (1 << 33) - 1
_LOW53 = (1 << 53) - 1
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


def _step(h: Any, x: Any) -> Any:
    """One key component x absorbed into the state h (SplitMix64's increment and mix)."""
    z = (h + (x + 1) * _GOLDEN) & _M64
    z = ((z ^ ((z >> 30) & _LOW34)) * _C1) & _M64
    z = ((z ^ ((z >> 27) & _LOW37)) * _C2) & _M64
    return z ^ ((z >> 31) & _LOW33)


def uniform(seed: int, rep: int, purpose: int, level: int, runner: int, n: int) -> float:
    """The uniform in [0, 1) of key (seed, rep, purpose, level, runner, n).

    All arguments are whole numbers in [0, 2**63) (pass `seed_key(seed)` for a run seed).
    Numba-compatible: compile with `uniform_nb()` and call it with int64 arguments
    (numba types uint64 + int64 as float64, so uint64 arguments do not compile).
    """
    h = seed ^ seed  # 0, of the arguments' type (int, int64 under numba, uint64 arrays)
    for x in (seed, rep, purpose, level, runner, n):
        h = _step(h, x)
    return ((h >> 11) & _LOW53) * _TWO_M53


def prefix(seed: int, rep: int, purpose: int, level: int) -> int:
    """The state after the key's first four components: `uniform_at(prefix(seed, rep,
    purpose, level), runner, n) == uniform(seed, rep, purpose, level, runner, n)`, two
    steps a draw instead of six (the compiled engine keeps one prefix per purpose and
    level for a replication)."""
    h = seed ^ seed
    for x in (seed, rep, purpose, level):
        h = _step(h, x)
    return h


def uniform_at(h: int, runner: int, n: int) -> float:
    """`uniform` of the key whose first four components left the state h (`prefix`)."""
    h = _step(_step(h, runner), n)
    return ((h >> 11) & _LOW53) * _TWO_M53


def uniforms(seed: int, rep: int, purpose: int, level: int, runners: Any, n: Any
             ) -> np.ndarray:
    """`uniform` for arrays of runners and draw numbers (broadcast against each other),
    bit-identical to it elementwise. Returns a float64 array of the broadcast shape."""
    r = np.asarray(runners)
    k = np.asarray(n)
    if (r.size and r.min() < 0) or (k.size and k.min() < 0):
        raise ValueError("runners and draw numbers must be >= 0")
    if r.dtype.kind not in "iu" or k.dtype.kind not in "iu":
        raise TypeError("runners and draw numbers must be integer arrays")
    shape = np.broadcast_shapes(r.shape, k.shape)
    # arrays of at least one dimension: numpy wraps array arithmetic silently (0-d would
    # become numpy scalars, whose overflow warns)
    r64 = np.atleast_1d(r.astype(np.uint64))
    k64 = np.atleast_1d(k.astype(np.uint64))
    out = uniform(seed, rep, purpose, level, r64, k64)
    return out.reshape(shape)  # only differs when both are scalars: (1,) -> ()


def seed_key(seed: int) -> int:
    """The key component of a run seed: the seed itself if below 2**63, else a 63-bit
    SplitMix64 digest of its 64-bit words (so any whole seed >= 0 gives an int64 key)."""
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if seed < _KEY_LIMIT:
        return seed
    h = 0
    words = 0
    while seed:
        h = _step(h, seed & _M64)
        seed >>= 64
        words += 1
    return _step(h, words) & (_KEY_LIMIT - 1)


@cache
def compiled() -> Any:
    """`uniform`, `prefix` and `uniform_at` compiled by numba (imported here, on first
    call; cached on disk), as attributes of a namespace."""
    import types

    import numba

    from ._jit import jit_copy

    g = dict(globals())
    out = {}
    for name in ("_step", "uniform", "prefix", "uniform_at"):
        g[name] = out[name] = numba.njit(cache=True, inline="always")(
            jit_copy(globals()[name], g))
    return types.SimpleNamespace(**out)


def uniform_nb() -> Any:
    """`uniform` compiled by numba (see `compiled`)."""
    return compiled().uniform
