"""INTERIM keyed random draws and scalar inverse CDFs, until branch `streams` lands.

The counter-based generator and the scalar inverse CDFs are being built on another branch
(relaysim/engines/keyed.py, relaysim.model.distributions.ppf_scalar / packed). The fast
engine and streams.py call them only through this module, so swapping in the real ones is
a change of imports here.

`uniform(seed, rep, purpose, level, runner, n)`: the n-th uniform in [0, 1) of one
(purpose, level, runner): SplitMix64 finalisers chained over the key. Plain Python here
(exact integer arithmetic, masked to 64 bits), numpy-vectorised in `uniform_array`, and
compiled in relaysim.engines.fast with numpy uint64 arithmetic: all three agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from ..model import distributions as D

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
C1 = 0xBF58476D1CE4E5B9
C2 = 0x94D049BB133111EB
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

__all__ = ["uniform", "uniform_array", "packed", "FIXED", "EXPONENTIAL", "GAMMA",
           "LOGNORMAL", "UNIFORM", "TRIANGULAR", "EMPIRICAL"]


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * C1) & M64
    z = ((z ^ (z >> 27)) * C2) & M64
    return z ^ (z >> 31)


def uniform(seed: int, rep: int, purpose: int, level: int, runner: int, n: int) -> float:
    h = _mix((seed + GOLDEN) & M64)
    for v in (rep, purpose, level, runner, n):
        h = _mix(((h ^ (v & M64)) + GOLDEN) & M64)
    return (h >> 11) * TO_UNIT


def _mix_a(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(C1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(C2)
    return z ^ (z >> np.uint64(31))


def uniform_array(seed: int, rep: int, purpose: int, level: int, runners: np.ndarray,
                  ns: np.ndarray) -> np.ndarray:
    """uniform() over a grid: runners (column vector) x ns (row vector), broadcast."""
    g = np.uint64(GOLDEN)
    with np.errstate(over="ignore"):
        h = _mix_a(np.array([(seed + GOLDEN) & M64], dtype=np.uint64))[0]
        for v in (rep, purpose, level):
            h = _mix_a(np.array([((int(h) ^ (v & M64)) + GOLDEN) & M64], dtype=np.uint64))[0]
        r = np.asarray(runners, dtype=np.uint64)
        hr = _mix_a((np.uint64(h) ^ r) + g)
        hn = _mix_a((hr[:, None] ^ np.asarray(ns, dtype=np.uint64)[None, :]) + g)
    return (hn >> np.uint64(11)).astype(np.float64) * TO_UNIT


# -- packed distributions: (code, params) with the same arithmetic as Distribution.ppf ----
FIXED, EXPONENTIAL, GAMMA, LOGNORMAL, UNIFORM, TRIANGULAR, EMPIRICAL = range(7)


def packed(d: D.Distribution) -> tuple[int, np.ndarray]:
    if isinstance(d, D.Fixed):
        return FIXED, np.array([float(d.value)])
    if isinstance(d, D.Exponential):
        return EXPONENTIAL, np.array([float(d.mean_)])
    if isinstance(d, D.Gamma):
        shape = 1.0 / d.cv**2
        return GAMMA, np.array([shape, d.mean_ / shape])
    if isinstance(d, D.Lognormal):
        return LOGNORMAL, np.array([float(d.median), float(d.sigma)])
    if isinstance(d, D.Uniform):
        return UNIFORM, np.array([float(d.low), float(d.high)])
    if isinstance(d, D.Triangular):
        return TRIANGULAR, np.array([float(d.low), float(d.mode), float(d.high)])
    if isinstance(d, D.Empirical):
        return EMPIRICAL, np.sort(np.asarray(d.values, dtype=float))
    raise TypeError(f"no packed form for {d!r}")
