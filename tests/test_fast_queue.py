"""The compiled engine's event queue pops in SimPy's order, checked against heapq.

SimPy keeps (time, priority, eid, event) in a heapq. The kernel keeps later events in a
4-ary heap of (time bits, key) pairs laid out in cache lines (engines/_fastkernel.py,
`_schedule`, `_pop`, `_first`). Times drawn from a few whole numbers make many ties, so the
priority and the eid must break them exactly as heapq does.
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaysim.engines import fast

pytestmark = pytest.mark.skipif(not fast.available(), reason="numba not importable")

CAP = 64


def _queue() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from relaysim.engines import _fastkernel as K

    return (fast._line_aligned(K._HT + 2 * (CAP + 1)), np.zeros(2 * (CAP + 1), np.int64),
            np.zeros(K.ST_N, np.int64))


# an operation: ("push", time, priority, event) or ("pop",)
_push = st.tuples(st.just("push"), st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 1e-300, 7e3]),
                  st.sampled_from([0, 1]), st.integers(0, 1000))
_ops = st.lists(st.one_of(_push, _push, _push, st.just(("pop",))), min_size=10,
                max_size=160)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_the_kernel_queue_pops_in_heapq_order(ops: list[tuple]) -> None:
    _check(ops)


def test_a_long_run_with_many_ties_pops_in_heapq_order() -> None:
    rng = np.random.default_rng(7)
    ops: list[tuple] = []
    for _ in range(4000):
        if rng.random() < 0.55:
            ops.append(("push", float(rng.integers(0, 4)), int(rng.integers(0, 2)),
                        int(rng.integers(0, 1000))))
        else:
            ops.append(("pop",))
    _check(ops)


def _check(ops: list[tuple]) -> None:
    """Run `ops` on the kernel's queue and on heapq; every pop must agree."""
    from relaysim.engines import _fastkernel as K

    hq, fq, state = _queue()
    ref: list[tuple[float, int, int, int]] = []
    eid = 0
    now = -1.0  # never equal to a time, so every event goes to the heap (not the FIFOs)
    for op in ops:
        if op[0] == "push":
            if len(ref) >= CAP:
                continue
            _, t, prio, e = op
            K._schedule(hq, fq, now, state, CAP, t, prio, e)
            heapq.heappush(ref, (t, prio, eid, e))
            eid += 1
        elif ref:
            assert K._first(hq) == ref[0][0]
            t, key = K._pop(hq, state)
            rt, rprio, reid, re = heapq.heappop(ref)
            assert (t, key >> 62, (key >> K._EBITS) & K._EIDMASK, key & K._EMASK) == (
                rt, rprio, reid, re)
        assert state[K.ST_HEAP] == len(ref)
    while ref:  # drain: everything left comes out in order too
        t, key = K._pop(hq, state)
        rt, _, _, re = heapq.heappop(ref)
        assert (t, key & K._EMASK) == (rt, re)


def test_the_heap_lays_a_nodes_children_in_one_cache_line() -> None:
    from relaysim.engines import _fastkernel as K

    hq = _queue()[0]
    assert hq.ctypes.data % 64 == 0
    for j in range(5):  # children 4j+1 .. 4j+4: pairs at _HT + 2c, 16 bytes each
        first = hq.ctypes.data + 8 * (K._HT + 2 * (4 * j + 1))
        assert first % 64 == 0
