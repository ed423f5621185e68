"""The floor under the fast engine: a bare compiled event loop of the benchmark district.

Issue 11 sized its 100x target from "a compiled event loop of the same contention-free
20-school model (a heap of events, keyed random draws)". This is that loop, written as
leanly as we can, so `benchmarks/engine.py` can measure it side by side with both engines:

- the fast engine's own event queue (its 4-ary heap, FIFOs for events at the current time:
  `_schedule`, `_pop` and `_first` from engines/_fastkernel.py, called, not copied);
- per runner two kinds of entry only: "exchange done" and "work done". No processes, no
  event rows, no Initialize events, no capacity, no records beyond a count;
- relaysim's keyed draws (engines/keyed.py: a per-replication prefix, then two SplitMix64
  steps) and the C library's log1p for the exponential, as both engines draw them.

Because its draws are relaysim's, it reaches exactly the classrooms relaysim reaches in every
replication (the benchmark checks this), so it is the same model, not a cheaper one. It
carries none of relaysim's other features, which is why it is a floor and not an engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from relaysim.engines import _fastkernel as K
from relaysim.engines import keyed
from relaysim.engines.fast import _line_aligned
from relaysim.engines.streams import DURATION, FUMBLE, RECOVER, WORK

_KC = keyed.compiled()
_prefix, _uniform_at = _KC.prefix, _KC.uniform_at


@njit(inline="always")
def _exp(kpre: Any, cnt: Any, purpose: int, p: int, i: int, r: int, mean: float) -> float:
    n = cnt[purpose, r]
    cnt[purpose, r] = n + 1
    return -mean * math.log1p(-_uniform_at(kpre[purpose, p], i, n))


@njit(inline="always")
def _u(kpre: Any, cnt: Any, purpose: int, p: int, i: int, r: int) -> float:
    n = cnt[purpose, r]
    cnt[purpose, r] = n + 1
    return _uniform_at(kpre[purpose, p], i, n)


@njit
def _one(seed: int, rep: int, counts: Any, offs: Any, level_of: Any, work_mean: float,
         zone_mean: float, fumble: float, recover: float, horizon: float, hq: Any, fq: Any,
         st: Any, cnt: Any, kpre: Any) -> int:
    nlev = counts.shape[0]
    cap = level_of.shape[0] + 1
    for purpose in (WORK, DURATION, FUMBLE, RECOVER):
        for p in range(nlev):
            kpre[purpose, p] = _prefix(seed, rep, purpose, p)
    cnt[:, :] = 0
    st[:] = 0
    # an entry's event: runner << 1 | (1: its work ended, 0: an exchange into it ended)
    now = 0.0
    K._schedule(hq, fq, now, st, cap, _exp(kpre, cnt, WORK, 0, 0, 0, work_mean), K.NORMAL, 1)
    reached = 0
    while True:  # the engine's order: the heap's events for now, then the FIFO's, then later
        if st[K.ST_HEAP] > 0 and K._first(hq) == now:
            now, key = K._pop(hq, st)
        elif st[K.ST_NH] < st[K.ST_NT]:
            key = fq[cap + 1 + st[K.ST_NH]]
            st[K.ST_NH] += 1
            if st[K.ST_NH] == st[K.ST_NT]:
                st[K.ST_NH] = 0
                st[K.ST_NT] = 0
        elif st[K.ST_HEAP] > 0:
            if K._first(hq) >= horizon:
                break
            now, key = K._pop(hq, st)
        else:
            break
        e = key & K._EMASK
        r = e >> 1
        p = level_of[r]
        i = r - offs[p]
        if e & 1 == 0:  # an exchange ended: fumbled, recovered, or through to work
            if _u(kpre, cnt, FUMBLE, p, i, r) >= fumble:
                t = now + _exp(kpre, cnt, WORK, p, i, r, work_mean)
                K._schedule(hq, fq, now, st, cap, t, K.NORMAL, (r << 1) | 1)
            elif _u(kpre, cnt, RECOVER, p, i, r) < recover:
                t = now + _exp(kpre, cnt, DURATION, p, i, r, zone_mean)
                K._schedule(hq, fq, now, st, cap, t, K.NORMAL, r << 1)
        elif p == nlev - 1:
            reached += 1
        else:  # work ended: one exchange into each child
            c = counts[p + 1]
            for j in range(i * c, (i + 1) * c):
                rc = offs[p + 1] + j
                t = now + _exp(kpre, cnt, DURATION, p + 1, j, rc, zone_mean)
                K._schedule(hq, fq, now, st, cap, t, K.NORMAL, rc << 1)
    return reached


@njit
def _chunk(seed: int, rep0: int, rep1: int, counts: Any, offs: Any, level_of: Any,
           work_mean: float, zone_mean: float, fumble: float, recover: float, horizon: float,
           hq: Any, fq: Any, st: Any, cnt: Any, kpre: Any, out: Any) -> None:
    for rep in range(rep0, rep1):
        out[rep - rep0] = _one(seed, rep, counts, offs, level_of, work_mean, zone_mean, fumble,
                               recover, horizon, hq, fq, st, cnt, kpre)


def reached(seed_key: int, rep0: int, rep1: int, counts: list[int], work_mean: float,
            zone_mean: float, fumble: float, recover: float, horizon: float) -> np.ndarray:
    """Classrooms reached by `horizon` (days) in replications rep0..rep1-1 of a tree with
    `counts[p]` runners under each runner of level p - 1, exponential work and exchange
    durations (means in days), fumble and recovery probabilities, unlimited attempts and no
    rework. `seed_key` is relaysim.engines.keyed.seed_key(seed)."""
    sizes = np.cumprod(np.asarray(counts, np.int64))
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    level_of = np.repeat(np.arange(len(counts), dtype=np.int64), sizes)
    runners = int(sizes.sum())
    cap = runners + 1  # at most one pending event per runner
    hq = _line_aligned(K._HT + 2 * (cap + 1))
    fq, st = np.empty(2 * (cap + 1), np.int64), np.zeros(K.ST_N, np.int64)
    cnt = np.zeros((RECOVER + 1, runners), np.int64)
    kpre = np.zeros((RECOVER + 1, len(counts)), np.int64)
    out = np.empty(rep1 - rep0, np.int64)
    _chunk(seed_key, rep0, rep1, np.asarray(counts, np.int64), offs, level_of, work_mean,
           zone_mean, fumble, recover, horizon, hq, fq, st, cnt, kpre, out)
    return out
