"""The compiled relay (numba): SimPy's event loop, replayed as explicit state machines.

Imported only by relaysim.engines.fast, and only when the fast engine is used. Every
model formula is the very function in relaysim.model.formulas, compiled with numba.njit
(`_jit_formulas`); nothing of the model is re-typed here.

How it mirrors relaysim.engines.simpy_engine (read that first):

- The event queue is a heap of (time, priority, eid, event) exactly as SimPy's
  (URGENT 0 before NORMAL 1, eid counting every schedule). Timeouts schedule at
  now + delay when created, `succeed()` at now, a new process's first step (SimPy's
  Initialize) URGENT at now, an interrupt URGENT at now. Process ends are not
  scheduled: nobody waits on them, and eids only order events relative to each other.
- Each SimPy process (a baton copy's `carry`, `_launch`, `_arrivals`, `_reviews`) is a
  row of the process table with a program counter (PC_*) standing for the `yield` it is
  suspended at. An event's callbacks are a FIFO list of waiting processes linked through
  the table (or one of the callback kinds DISPATCH, DEPART, FILL, INTERRUPT). A timeout
  or a process start, which only its own process waits on, needs no event row: its queue
  entry names the process directly (_DIRECT), and an interrupt makes it wake nobody.
- A runner's capacity queue is a sorted list by (priority, seq, tick), which pops in the
  same order as the reference's heapq; an interrupted waiter leaves its event in the
  queue with no callbacks, as in SimPy.
- Pools (events, processes, heap, queue nodes, tracks, dropped batons) have fixed sizes
  per call; when one is full the replication stops with a status and the caller reruns
  it with that pool doubled (the kernel is deterministic, so the result is the same).
"""

from __future__ import annotations

import types

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import types as nbt
from numba.extending import get_cython_function_address, intrinsic

from ..model import distributions as _D
from ..model import formulas as _F
from . import keyed
from ._jit import jit_copy
from .nbspecial import cython_name

# -- the model's formulas, compiled from the very functions in model/formulas.py ----------


def _jit_formulas() -> types.SimpleNamespace:
    """njit every function of model.formulas; calls between them resolve to the compiled
    versions (numba cannot call plain Python functions)."""
    g = dict(vars(_F))
    out = {}
    for name in _F.__all__:
        f = g[name]
        if isinstance(f, types.FunctionType):
            out[name] = njit(cache=True)(jit_copy(f, g))
    g.update(out)
    return types.SimpleNamespace(**out)


F = _jit_formulas()
fumble_odds = F.fumble_odds
probability = F.probability
implements = F.implements
tank_rate = F.tank_rate
tank_level = F.tank_level
tank_slowed = F.tank_slowed
window_next_open = F.window_next_open
exponential_gap = F.exponential_gap
departure_gap = F.departure_gap
trust_factor = F.trust_factor
trust_after = F.trust_after
handed_on = F.handed_on

# -- scipy's special functions, for the inverse CDFs ---------------------------------------
# The C functions scipy.special.cython_special exports (the same code as scipy.special's
# ufuncs, see nbspecial.py), bound by symbol name rather than by address: numba can then
# cache the kernel on disk (relaysim.engines.nbspecial's ctypes binding cannot be cached).
for _name, _n in (("gammaincinv", 2), ("ndtri", 1)):
    llvm.add_symbol("relaysim_" + _name, get_cython_function_address(
        "scipy.special.cython_special", cython_name(_name, _n)))
_gammaincinv_c = nbt.ExternalFunction(
    "relaysim_gammaincinv", nbt.float64(nbt.float64, nbt.float64, nbt.intc))
_ndtri_c = nbt.ExternalFunction("relaysim_ndtri", nbt.float64(nbt.float64, nbt.intc))


@njit(cache=True)
def _gammaincinv(a, y):
    return _gammaincinv_c(a, y, 0)


@njit(cache=True)
def _ndtri(y):
    return _ndtri_c(y, 0)


#: model.distributions.ppf_scalar itself (and the gamma table's helpers), its gammaincinv
#: and ndtri the functions above
_G = {**vars(_D), "gammaincinv": _gammaincinv, "ndtri": _ndtri}
_G["_hermite"] = njit(cache=True, inline="always")(jit_copy(_D._hermite, _G))
_G["_gamma_cell"] = njit(cache=True)(jit_copy(_D._gamma_cell, _G))
ppf_scalar = njit(cache=True, inline="always")(jit_copy(_D.ppf_scalar, _G))
GAMMA_CODE = _D.GAMMA
#: the keyed uniform of random streams (engines/keyed.py), compiled, and its two halves
_KC = keyed.compiled()
uniform = _KC.uniform
prefix = _KC.prefix
uniform_at = _KC.uniform_at


# -- layout of the parameter and state arrays (fast.py fills the parameters) -------------
# level ints
LV_SIZE, LV_COUNT, LV_LEAVES, LV_OFF, LV_TURN, LV_TANK, LV_EXTRA, LV_N = range(8)
# bundle ints
B_CAP, B_ZONE, B_MAXATT, B_SLOTS, B_CP, B_WIN, B_N = range(7)
# bundle floats
(BF_RET, BF_RECOVER, BF_PERIOD, BF_OPEN, BF_CLOSE, BF_ODDS0, BF_ODDSNEW, BF_TURN, BF_LOSS,
 BF_DRAIN, BF_RECOVERY, BF_FLOOR, BF_CHECK, BF_TRUST0, BF_TRUSTNEW, BF_ZODDS, BF_N) = range(17)
# global floats
(G_HORIZON, G_LOAD, G_TANKEFF, G_CPTIME, G_SRATE, G_SSTART, G_SSTOP, G_SMEANGAP, G_SDEADAFTER,
 G_SCLAR, G_SMINFID, G_FBINT, G_FBDETECT, G_TGAIN, G_TLOSS, G_TLOW, G_THIGH, G_TDEADLINE,
 G_TRUSTEFF, G_SHMEAN, G_VMEAN, G_SHDUR, G_SHRET, G_SHODDS, G_N) = range(25)
# global ints (GI_PS: the sharing level, nlev when none shares)
(GI_CONTENDED, GI_NLEV, GI_SPRIO, GI_SNEED, GI_NCLASS, GI_NINI, GI_TDYN, GI_PS, GI_SANY,
 GI_SHOWNEED, GI_SRAND, GI_N) = range(12)
# dist slots per bundle
DS_WORK, DS_DUR, DS_REWORK, DS_VAC = 0, 1, 2, 3
# purposes (streams.py numbers)
WORK, DURATION, FUMBLE, RECOVER, REWORK = 0, 1, 2, 3, 4
TURNOVER, VACANCY, LOSS, REVIEW, STREAM = 5, 6, 7, 8, 9
MERGED_WORK = 20
SHARE_GAP, SHARE_PICK, SHARE_FUMBLE, NEWCOMER = 10, 11, 12, 13
# peer sharing: where a track's copy stands at a runner (simpy_engine's _NONE.._EXCH)
SS_NONE, SS_LIVE, SS_DONE, SS_DROPPED, SS_LOST, SS_EXCH = range(6)
# peer counts per track (records.PEER_FIELDS)
(TP_SHARES, TP_HANDOFFS, TP_FUMBLES, TP_RECOVERED, TP_FROMDROP, TP_FROMLOST, TP_NEWC,
 TP_REACHED, TP_IMPL, TP_N) = range(10)# output track ints / floats
(TI_REP, TI_NAME, TI_IMPL, TI_IMPLBD, TI_BELOW, TI_DROPPED, TI_LOST, TI_INFLIGHT, TI_REACHBD,
 TI_PRIO, TI_NEED, TI_N) = range(12)
TF_LAUNCH, TF_DEADLINE, TF_FIDSUM, TF_DONE, TF_CLAR, TF_MINFID, TF_N = range(7)
# capacities / status codes
CAP_EV, CAP_PROC, CAP_HEAP, CAP_QN, CAP_TR, CAP_DROP, CAP_N = range(7)
# state counters
(ST_EVHW, ST_EVFREE, ST_HEAP, ST_EID, ST_NPROC, ST_QNHW, ST_QNFREE, ST_SEQ, ST_TICK, ST_OVF,
 ST_NTR, ST_NDROP, ST_UH, ST_UT, ST_NH, ST_NT, ST_N) = range(17)
# event ints
E_KIND, E_A, E_B, E_HEAD, E_TAIL, E_NCB, E_N = range(7)
EK_RESUME, EK_DISPATCH, EK_DEPART, EK_FILL, EK_INTR, EK_DIRECT = range(6)
# process ints / floats
(P_PC, P_TR, P_P, P_I, P_SEQ, P_ATT, P_BEGAN, P_TARGET, P_WNEXT, P_HPREV, P_HNEXT, P_ALIVE,
 P_OK, P_PEER, P_AUX, P_N) = range(16)
PF_FID, PF_ARRIVED, PF_WORK, PF_STARTED, PF_PF, PF_U, PF_T, PF_N = range(8)
# queue nodes: prio, seq, tick, event, next
Q_PRIO, Q_SEQ, Q_TICK, Q_EV, Q_NEXT, Q_N = range(6)
# program counters
(PC_LAUNCH, PC_CARRY, PC_X_SLOT, PC_X_CP, PC_TANK, PC_ATT_INIT, PC_ATT_TOP, PC_VAC, PC_WIN,
 PC_AFTER_WIN, PC_AFTER_DUR, PC_X_END, PC_LEG, PC_LEG_LOOP, PC_STARTED, PC_WORKED,
 PC_ARRIVALS, PC_ARR_LOOP, PC_ARR_WAKE, PC_REVIEWS, PC_REV_WAKE, PC_INTR, PC_SHOW,
 PC_SHOW_LOOP, PC_SHOW_WAKE, PC_LAT, PC_LAT_END, PC_NEWC, PC_NEWC_LOOP, PC_NEWC_WAKE) = range(30)
LOST, STAY = 0, 1
URGENT, NORMAL = 0, 1
DONE = -1  # program counter of a finished process


# -- small pool helpers -------------------------------------------------------------------
@njit(cache=True, inline="always")
def _new_event(ev, evfree, st, cap, kind, a, b):
    if st[ST_EVFREE] > 0:
        st[ST_EVFREE] -= 1
        e = evfree[st[ST_EVFREE]]
    elif st[ST_EVHW] < cap:
        e = st[ST_EVHW]
        st[ST_EVHW] += 1
    else:
        st[ST_OVF] = CAP_EV + 1
        e = cap  # the spare row: garbage, the replication is rerun
    ev[e, E_KIND] = kind
    ev[e, E_A] = a
    ev[e, E_B] = b
    ev[e, E_HEAD] = -1
    ev[e, E_TAIL] = -1
    ev[e, E_NCB] = 0
    return e


@njit(cache=True, inline="always")
def _free_event(evfree, st, e):
    evfree[st[ST_EVFREE]] = e
    st[ST_EVFREE] += 1


_EBITS = 24  # an event's pool index lives in the low bits of its heap key
_EMASK = (1 << _EBITS) - 1
_PRIO = 1 << 62
_EIDMASK = (1 << (62 - _EBITS)) - 1
#: an entry at or above _DIRECT wakes process (entry - _DIRECT) directly: a timeout or a
#: process start that only that process waits on needs no event row. Its eid is its identity:
#: the process waits on it while its P_TARGET is _token(eid).
_DIRECT = 1 << (_EBITS - 1)
_HT = 6  # the heap's node 0 is at hq[_HT]: node j's children 4j+1..4j+4 start 64-byte aligned


@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (for x >= 0 they order as x does)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return nbt.int64(nbt.float64), codegen


@intrinsic
def _float(typingctx, x):
    """The float64 whose IEEE bits are x (the inverse of _bits)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return nbt.float64(nbt.int64), codegen


@njit(cache=True, inline="always")
def _schedule(hq, fq, now, st, cap, t, prio, e):
    """SimPy's heappush((t, prio, eid, e)).

    An event for now goes to one of two FIFOs (URGENT, NORMAL), which is the order the heap
    would give it: everything scheduled now has a larger eid than every heap entry for now
    (those were scheduled earlier), URGENT events are only ever scheduled for now, and the
    FIFOs are emptied before time moves on. Later events go to a 4-ary heap hq of (time,
    key) pairs, the time as its IEEE bits (which order as the times do, for times >= 0) and
    key = prio * 2**62 + eid * 2**24 + e, so (time, key) orders as (t, prio, eid). Node j is
    the pair at hq[_HT + 2j]: a node's four children fill one 64-byte cache line when hq is
    so aligned (fast.py aligns it). The FIFOs hold eid * 2**24 + e."""
    if t == now:
        if prio == URGENT:
            k = st[ST_UT]
            if k >= cap:
                st[ST_OVF] = CAP_HEAP + 1
                return
            fq[k] = (st[ST_EID] << _EBITS) + e
            st[ST_UT] = k + 1
        else:
            k = st[ST_NT]
            if k >= cap:
                st[ST_OVF] = CAP_HEAP + 1
                return
            fq[cap + 1 + k] = (st[ST_EID] << _EBITS) + e
            st[ST_NT] = k + 1
        st[ST_EID] += 1
        return
    n = st[ST_HEAP]
    if n >= cap:
        st[ST_OVF] = CAP_HEAP + 1
        return
    key = prio * _PRIO + (st[ST_EID] << _EBITS) + e
    st[ST_EID] += 1
    st[ST_HEAP] = n + 1
    u = _bits(t)
    j = n
    while j > 0:
        parent = (j - 1) >> 2
        pu = hq[_HT + 2 * parent]
        if pu < u or (pu == u and hq[_HT + 2 * parent + 1] < key):
            break
        hq[_HT + 2 * j] = pu
        hq[_HT + 2 * j + 1] = hq[_HT + 2 * parent + 1]
        j = parent
    hq[_HT + 2 * j] = u
    hq[_HT + 2 * j + 1] = key


@njit(cache=True, inline="always")
def _first(hq):
    """The heap's earliest time (days); the heap must not be empty."""
    return _float(hq[_HT])


@njit(cache=True, inline="always")
def _pop(hq, st):
    """heappop: (t, key) of the earliest entry."""
    t0 = _float(hq[_HT])
    k0 = hq[_HT + 1]
    n = st[ST_HEAP] - 1
    st[ST_HEAP] = n
    if n > 0:
        u = hq[_HT + 2 * n]
        key = hq[_HT + 2 * n + 1]
        j = 0
        while True:
            c = 4 * j + 1
            if c + 3 < n:  # four children, one cache line: the smallest in two rounds
                x = _HT + 2 * c
                a0, b0, a1, b1 = hq[x], hq[x + 1], hq[x + 2], hq[x + 3]
                a2, b2, a3, b3 = hq[x + 4], hq[x + 5], hq[x + 6], hq[x + 7]
                lo = (a1 < a0) | ((a1 == a0) & (b1 < b0))
                la, lb, lm = (a1, b1, c + 1) if lo else (a0, b0, c)
                hi = (a3 < a2) | ((a3 == a2) & (b3 < b2))
                ha, hb, hm = (a3, b3, c + 3) if hi else (a2, b2, c + 2)
                up = (ha < la) | ((ha == la) & (hb < lb))
                mt, mk, m = (ha, hb, hm) if up else (la, lb, lm)
            elif c < n:
                m = c
                mt = hq[_HT + 2 * c]
                mk = hq[_HT + 2 * c + 1]
                for x in range(c + 1, n):
                    xt = hq[_HT + 2 * x]
                    xk = hq[_HT + 2 * x + 1]
                    less = (xt < mt) | ((xt == mt) & (xk < mk))
                    m = x if less else m
                    mt = xt if less else mt
                    mk = xk if less else mk
            else:
                break
            if (u < mt) | ((u == mt) & (key < mk)):
                break
            hq[_HT + 2 * j] = mt
            hq[_HT + 2 * j + 1] = mk
            j = m
        hq[_HT + 2 * j] = u
        hq[_HT + 2 * j + 1] = key
    return t0, k0


@njit(cache=True, inline="always")
def _token(eid):
    """P_TARGET of a process waiting on the direct entry with this eid (events are >= 0,
    -1 is nothing)."""
    return -2 - eid


@njit(cache=True, inline="always")
def _wake(hq, fq, cap_heap, st, pi, w, now, at, prio):
    """Schedule a direct entry for process w at `at`, which w (alone) waits on."""
    pi[w, P_TARGET] = _token(st[ST_EID])
    _schedule(hq, fq, now, st, cap_heap, at, prio, _DIRECT + w)


@njit(cache=True, inline="always")
def _wait(ev, pi, w, e):
    """Process w yields event e: append w to e's callbacks."""
    pi[w, P_TARGET] = e
    pi[w, P_WNEXT] = -1
    if ev[e, E_TAIL] < 0:
        ev[e, E_HEAD] = w
    else:
        pi[ev[e, E_TAIL], P_WNEXT] = w
    ev[e, E_TAIL] = w
    ev[e, E_NCB] += 1


@njit(cache=True, inline="always")
def _sleep(hq, fq, cap_heap, st, pi, w, now, at):
    """Process w yields env.timeout(at - now): NORMAL at `at`, only w waits on it."""
    _wake(hq, fq, cap_heap, st, pi, w, now, at, NORMAL)


@njit(cache=True, inline="always")
def _start(hq, fq, cap_heap, st, pi, w, now):
    """env.process: process w's first step (SimPy's Initialize), URGENT at now."""
    _wake(hq, fq, cap_heap, st, pi, w, now, now, URGENT)


@njit(cache=True, inline="always")
def _detach(ev, pi, w):
    """Remove process w from the callbacks of the event it waits on (an interrupt)."""
    e = pi[w, P_TARGET]
    if e < 0:  # a direct entry: it wakes nobody now
        pi[w, P_TARGET] = -1
        return
    prev = -1
    x = ev[e, E_HEAD]
    while x >= 0 and x != w:
        prev = x
        x = pi[x, P_WNEXT]
    if x < 0:
        return
    nxt = pi[w, P_WNEXT]
    if prev < 0:
        ev[e, E_HEAD] = nxt
    else:
        pi[prev, P_WNEXT] = nxt
    if ev[e, E_TAIL] == w:
        ev[e, E_TAIL] = prev
    ev[e, E_NCB] -= 1


@njit(cache=True, inline="always")
def _q_push(qn, qhead, qlen, qfree, st, cap, r, prio, seq, tick, e):
    if st[ST_QNFREE] > 0:
        st[ST_QNFREE] -= 1
        node = qfree[st[ST_QNFREE]]
    elif st[ST_QNHW] < cap:
        node = st[ST_QNHW]
        st[ST_QNHW] += 1
    else:
        st[ST_OVF] = CAP_QN + 1
        return
    qn[node, Q_PRIO] = prio
    qn[node, Q_SEQ] = seq
    qn[node, Q_TICK] = tick
    qn[node, Q_EV] = e
    prev = -1
    x = qhead[r]
    while x >= 0:
        if (qn[x, Q_PRIO] > prio or (qn[x, Q_PRIO] == prio and (
                qn[x, Q_SEQ] > seq or (qn[x, Q_SEQ] == seq and qn[x, Q_TICK] > tick)))):
            break
        prev = x
        x = qn[x, Q_NEXT]
    qn[node, Q_NEXT] = x
    if prev < 0:
        qhead[r] = node
    else:
        qn[prev, Q_NEXT] = node
    qlen[r] += 1


@njit(cache=True, inline="always")
def _q_pop(qn, qhead, qlen, qfree, st, r):
    node = qhead[r]
    qhead[r] = qn[node, Q_NEXT]
    qlen[r] -= 1
    qfree[st[ST_QNFREE]] = node
    st[ST_QNFREE] += 1
    return qn[node, Q_EV]


@njit(cache=True, inline="always")
def _draw(kpre, pidx, p, i, r, cnt, dslot, b, dcode, dn, dpar, gtab):
    """Runner (p, i)'s next draw for purpose index pidx (streams.py's purpose, merged legs
    after 9): its keyed uniform, through its bundle's inverse CDF in slot dslot."""
    n = cnt[pidx, r]
    cnt[pidx, r] = n + 1
    u = uniform_at(kpre[pidx, p], i, n)  # kpre: this replication's prefix per purpose, level
    if dslot < 0:
        return u
    par = dpar[b, dslot, :dn[b, dslot]]
    code = dcode[b, dslot]
    tid = 0
    if code == GAMMA_CODE and par[3] > 0.0:  # a tabulated gamma: par[3] is 1 + its table
        tid = int(par[3]) - 1
    return ppf_scalar(code, par, u, gtab[tid])


# -- peer sharing (simpy_engine.Relay's sharing methods) -----------------------------------
@njit(cache=True, inline="always")
def _sdraw(seedk, rep, purpose, ps, i, scnt):
    """Runner i of the sharing level's next keyed uniform for a sharing purpose."""
    n = scnt[purpose - SHARE_GAP, i]
    scnt[purpose - SHARE_GAP, i] = n + 1
    return uniform(seedk, rep, purpose, ps, i, n)


@njit(cache=True, inline="always")
def _eff(lv, sclaim, tl, p, i, ps):
    """Relay._eff: classrooms a copy at (p, i) stands for, less what peers took."""
    if p < ps:
        return lv[p, LV_LEAVES] - sclaim[tl, lv[p, LV_OFF] + i]
    return lv[p, LV_LEAVES]


@njit(cache=True, inline="always")
def _lacks(sstat, tl, lv, ps, j, vacant):
    """Relay._lacks: runner j of the sharing level lacks the baton and is in post."""
    r = lv[ps, LV_OFF] + j
    s0 = sstat[tl, r]
    if s0 == SS_LIVE or s0 == SS_DONE:
        return False
    return not (lv[ps, LV_TURN] and vacant[r])


@njit(cache=True, inline="always")
def _claim(lv, ps, tr, tl, j, newcomer, sstat, sclaim, o_ti, o_tp, drop_i, drop_f, st):
    """Relay._claim: runner j takes a peer copy; its classrooms leave their bucket."""
    L = lv[ps, LV_LEAVES]
    r = lv[ps, LV_OFF] + j
    s0 = sstat[tl, r]
    if s0 == SS_NONE:
        q = ps - 1
        while sstat[tl, lv[q, LV_OFF] + j // (lv[ps, LV_SIZE] // lv[q, LV_SIZE])] == SS_NONE:
            q -= 1
        s0 = sstat[tl, lv[q, LV_OFF] + j // (lv[ps, LV_SIZE] // lv[q, LV_SIZE])]
        for qq in range(q, ps):
            sclaim[tl, lv[qq, LV_OFF] + j // (lv[ps, LV_SIZE] // lv[qq, LV_SIZE])] += L
    elif s0 == SS_DROPPED:
        kept = 0
        for d in range(st[ST_NDROP]):
            if drop_i[d, 0] == tr and drop_i[d, 1] == ps and drop_i[d, 2] == j:
                continue
            for c in range(4):
                drop_i[kept, c] = drop_i[d, c]
            drop_f[kept] = drop_f[d]
            kept += 1
        st[ST_NDROP] = kept
    if s0 == SS_LIVE or s0 == SS_EXCH:
        o_ti[tr, TI_INFLIGHT] -= L
    elif s0 == SS_DROPPED:
        o_ti[tr, TI_DROPPED] -= L
        o_tp[tr, TP_FROMDROP] += 1
    else:
        o_ti[tr, TI_LOST] -= L
        o_tp[tr, TP_FROMLOST] += 1
    o_tp[tr, TP_RECOVERED] += 1
    if newcomer:
        o_tp[tr, TP_NEWC] += 1
    sstat[tl, r] = SS_LIVE
    o_ti[tr, TI_INFLIGHT] += L


@njit(cache=True, inline="always")
def _new_proc(pi, st, cap_proc, pc, tr, p, i, peer, aux):
    """A new process row (env.process): its state; the caller schedules its start."""
    w2 = st[ST_NPROC]
    if w2 >= cap_proc:
        st[ST_OVF] = CAP_PROC + 1
        w2 = cap_proc
    else:
        st[ST_NPROC] = w2 + 1
    pi[w2, P_PC] = pc
    pi[w2, P_TR] = tr
    pi[w2, P_P] = p
    pi[w2, P_I] = i
    pi[w2, P_ALIVE] = 1
    pi[w2, P_PEER] = peer
    pi[w2, P_AUX] = aux
    return w2


@njit(cache=True)  # not inlined: numba cannot inline a call with this many arguments
def _start_lateral(pi, pf, st, ev, evfree, hq, fq, cap_proc, cap_ev, cap_heap, lv, rb,
                   bf, tank, tank_t, busy, trust, held, o_tf, o_tp, gf, tr, ps, j, peer, src,
                   u_f, now, load, tank_eff):
    """Relay._lateral begun: a lateral handoff of track tr from runner `src` into runner j
    of the sharing level (peer 0: a showcase's share, 2: a newcomer's visit), its fumble
    chance fixed now from the receiver's trust, load and tank."""
    rj = lv[ps, LV_OFF] + j
    has_tank = lv[ps, LV_TANK] != 0
    level = 1.0
    if has_tank:
        bj = rb[rj]
        level = tank_level(tank[rj], tank_rate(bf[bj, BF_DRAIN], bf[bj, BF_RECOVERY],
                                               busy[rj]), now - tank_t[rj])
    o_tp[tr, TP_HANDOFFS] += 1
    w2 = _new_proc(pi, st, cap_proc, PC_LAT, tr, ps, j, peer, src)
    pf[w2, PF_PF] = probability(fumble_odds(
        gf[G_SHODDS] * trust_factor(trust[rj], gf[G_TRUSTEFF]), o_tf[tr, TF_CLAR],
        held[rj], load, has_tank, level, tank_eff))
    pf[w2, PF_U] = u_f
    _start(hq, fq, cap_heap, st, pi, w2, now)


# per-runner state columns (ri: ints, rf: floats)
(R_BUSY, R_HELD, R_VAC, R_SLOTS, R_SHEAD, R_STAIL, R_DISP, R_FILL, R_TANKEV, R_QHEAD, R_QLEN,
 R_HHEAD, R_HTAIL, R_LEVEL, R_N) = range(15)
RF_ODDS, RF_TANK, RF_TANKT, RF_TRUST, RF_TRUSTD, RF_N = range(6)
# per physical level float outputs (out_lf columns)
LF_WAIT, LF_BUSY, LF_TRUST, LF_N = range(4)


@njit(cache=True, inline="always")
def _set_trust(trust, trustd, odds, r, value, now, zodds, gf):
    """simpy_engine.Relay._set_trust: runner r's trust becomes `value`, its odds with it;
    the first change after the trust deadline keeps the value it replaces (NaN: none)."""
    if now > gf[G_TDEADLINE] and np.isnan(trustd[r]):
        trustd[r] = trust[r]
    trust[r] = value
    odds[r] = zodds * trust_factor(value, gf[G_TRUSTEFF])


@njit(cache=True, inline="always")
def _trust_moves(trust, trustd, odds, r, clean, now, zodds, gf):
    """simpy_engine.Relay._trust_moves (the caller checks the post is not vacant)."""
    old = trust[r]
    new = trust_after(old, clean, gf[G_TGAIN], gf[G_TLOSS], gf[G_TLOW], gf[G_THIGH])
    if new != old:
        _set_trust(trust, trustd, odds, r, new, now, zodds, gf)


@njit(cache=True, _nrt=False)
def run_chunk(seed, rep0, rep1, lv, rb, bi, bf, dcode, dn, dpar, gtab, gf, gi, ini_f, ini_i,
              nb_ptr, nb_idx, caps, out_lf, out_li, o_ti, o_tf, o_tz, o_tp, ev, evfree, pi,
              pf, runlist, hq, qn, qfree, drop_i, drop_f, st, cnt, kpre, ri, rf, fq, sstat,
              sclaim, simpl, sfid, sshow, scnt, sgen):
    """Replications rep0..rep1-1. Returns (status, reps done, track rows written); status 0
    is success, k > 0 means pool k-1 (CAP_*) overflowed in replication rep0 + reps done.

    Compiled without numba's reference counting (_nrt=False): every array is allocated by
    the caller (relaysim.engines.fast), so the event loop never touches a refcount."""
    nlev = gi[GI_NLEV]
    R = lv[nlev - 1, LV_OFF] + lv[nlev - 1, LV_SIZE]
    rows = 0
    for rep in range(rep0, rep1):
        nbrow = rep - rep0 if gi[GI_SRAND] else 0
        status = _one(seed, rep, lv, rb, bi, bf, dcode, dn, dpar, gtab, gf, gi, ini_f, ini_i,
                      nb_ptr, nb_idx[nbrow], caps, out_lf[rep - rep0], out_li[rep - rep0],
                      o_ti, o_tf, o_tz, o_tp, rows, ev, evfree, pi, pf, runlist, hq, qn,
                      qfree, drop_i, drop_f, st, cnt, kpre, R, ri, rf, fq, sstat, sclaim, simpl,
                      sfid, sshow, scnt, sgen)
        if status != 0:
            return status, rep - rep0, rows
        rows += st[ST_NTR]
    return 0, rep1 - rep0, rows


@njit(cache=True, _nrt=False)
def _one(seed, rep, lv, rb, bi, bf, dcode, dn, dpar, gtab, gf, gi, ini_f, ini_i, nb_ptr, nbrs,
         caps, lf, li, o_ti, o_tf, o_tz, o_tp, row0, ev, evfree, pi, pf, runlist, hq, qn,
         qfree, drop_i, drop_f, st, cnt, kpre, R, ri, rf, fq, sstat, sclaim, simpl, sfid, sshow,
         scnt, sgen):
    # long on purpose: SimPy's event loop and every process's state machine share these
    # locals; helpers in the hot loop would cost calls, and splitting it would scatter the
    # one-to-one correspondence with simpy_engine.py (each PC_* branch is one of its yields)
    nlev = gi[GI_NLEV]
    last = nlev - 1
    horizon = gf[G_HORIZON]
    load = gf[G_LOAD]
    tank_eff = gf[G_TANKEFF]
    cp_time = gf[G_CPTIME]
    contended = gi[GI_CONTENDED] != 0
    has_stream = gf[G_SRATE] > 0
    detect = gf[G_FBDETECT]
    has_feedback = detect > 0
    cap_ev, cap_proc, cap_heap = caps[CAP_EV], caps[CAP_PROC], caps[CAP_HEAP]
    cap_qn, cap_tr, cap_drop = caps[CAP_QN], caps[CAP_TR], caps[CAP_DROP]
    tr_room = o_ti.shape[0] - row0
    if cap_tr < tr_room:
        tr_room = cap_tr

    st[:] = 0
    cnt[:, :] = 0
    seedk = seed
    for pidx in range(kpre.shape[0]):
        for p in range(nlev):
            kpre[pidx, p] = prefix(seedk, rep, pidx if pidx < 10 else MERGED_WORK + pidx - 9, p)
    # peer sharing (simpy_engine.Relay._sharing_setup): ps the sharing level, nlev if none
    ps = gi[GI_PS]
    shar = ps < nlev
    n_upto = 0
    sh_rows = sstat.shape[0]
    if shar:
        n_upto = lv[ps, LV_OFF] + lv[ps, LV_SIZE]
        scnt[:, :] = 0
        sgen[:] = 0
    # per-runner state (views of the caller's arrays)
    busy = ri[:, R_BUSY]
    held = ri[:, R_HELD]
    vacant = ri[:, R_VAC]
    slots_used = ri[:, R_SLOTS]
    slot_head = ri[:, R_SHEAD]  # slot waiters: FIFO of events through queue nodes
    slot_tail = ri[:, R_STAIL]
    dispatching = ri[:, R_DISP]
    fill_ev = ri[:, R_FILL]
    tank_ev = ri[:, R_TANKEV]
    qhead = ri[:, R_QHEAD]
    qlen = ri[:, R_QLEN]
    hhead = ri[:, R_HHEAD]
    htail = ri[:, R_HTAIL]
    level_of = ri[:, R_LEVEL]
    odds = rf[:, RF_ODDS]
    tank = rf[:, RF_TANK]
    tank_t = rf[:, RF_TANKT]
    trust = rf[:, RF_TRUST]
    trustd = rf[:, RF_TRUSTD]
    tdyn = gi[GI_TDYN] != 0
    for p in range(nlev):
        for i in range(lv[p, LV_SIZE]):
            r = lv[p, LV_OFF] + i
            for c in range(R_N):
                ri[r, c] = 0
            slot_head[r] = -1
            slot_tail[r] = -1
            fill_ev[r] = -1
            tank_ev[r] = -1
            qhead[r] = -1
            hhead[r] = -1
            htail[r] = -1
            level_of[r] = p
            odds[r] = bf[rb[r], BF_ODDS0]
            trust[r] = bf[rb[r], BF_TRUST0]
            trustd[r] = np.nan
            tank[r] = 1.0
            tank_t[r] = 0.0
    wait_total = lf[:, LF_WAIT]
    busy_time = lf[:, LF_BUSY]
    waits = li[:, 0]
    departures = li[:, 1]
    for p in range(nlev):
        wait_total[p] = 0.0
        busy_time[p] = 0.0
        waits[p] = 0
        departures[p] = 0

    # the tracks: rows row0.. of the outputs
    nini = gi[GI_NINI]
    if nini > tr_room:
        return CAP_TR + 1
    for k in range(nini):
        t = row0 + k
        o_ti[t, :] = 0
        o_ti[t, TI_REP] = rep
        o_ti[t, TI_NAME] = k
        o_ti[t, TI_PRIO] = ini_i[k, 0]
        o_ti[t, TI_NEED] = ini_i[k, 1]
        o_tf[t, TF_LAUNCH] = ini_f[k, 0]
        o_tf[t, TF_DEADLINE] = ini_f[k, 1]
        o_tf[t, TF_CLAR] = ini_f[k, 2]
        o_tf[t, TF_MINFID] = ini_f[k, 3]
        o_tf[t, TF_FIDSUM] = 0.0
        o_tf[t, TF_DONE] = np.nan
        o_tz[t, :, :] = 0
        o_tp[t, :] = 0
        if shar:
            if k >= sh_rows:
                return CAP_TR + 1
            sstat[k, :n_upto] = 0
            sclaim[k, :n_upto] = 0
            simpl[k, :] = 0
            sfid[k, :] = 0.0
            sshow[k, :] = 0
    ntr = nini
    arr_t = 0.0
    now = 0.0

    # env.process(...) for each initiative's _launch, the stream, the reviews
    for k in range(nini + (1 if has_stream else 0) + (1 if has_feedback else 0)):
        w = st[ST_NPROC]
        st[ST_NPROC] += 1
        pi[w, :] = -1
        pi[w, P_ALIVE] = 1
        if k < nini:
            pi[w, P_PC] = PC_LAUNCH
            pi[w, P_TR] = row0 + k
            pi[w, P_P] = 0
            pi[w, P_I] = 0
            pf[w, PF_FID] = 1.0
        elif k == nini and has_stream:
            pi[w, P_PC] = PC_ARRIVALS
        else:
            pi[w, P_PC] = PC_REVIEWS
        _start(hq, fq, cap_heap, st, pi, w, now)
    # departures
    for p in range(nlev):
        if lv[p, LV_TURN]:
            for i in range(lv[p, LV_SIZE]):
                r = lv[p, LV_OFF] + i
                b = rb[r]
                rate = bf[b, BF_TURN]
                if rate <= 0:
                    continue
                gap = departure_gap(_draw(kpre, TURNOVER, p, i, r, cnt, -1, b,
                                          dcode, dn, dpar, gtab), rate)
                if now + gap < horizon:
                    e = _new_event(ev, evfree, st, cap_ev, EK_DEPART, r, 0)
                    _schedule(hq, fq, now, st, cap_heap, now + gap, NORMAL, e)

    while True:
        if st[ST_OVF]:
            return st[ST_OVF]
        # the next event in SimPy's order: URGENT ones for now, then the heap's for now
        # (scheduled earlier: smaller eids), then NORMAL ones scheduled now, then later ones
        if st[ST_UH] < st[ST_UT]:
            key = fq[st[ST_UH]]
            st[ST_UH] += 1
            if st[ST_UH] == st[ST_UT]:
                st[ST_UH] = 0
                st[ST_UT] = 0
        elif st[ST_HEAP] > 0 and _first(hq) == now:
            now, key = _pop(hq, st)
        elif st[ST_NH] < st[ST_NT]:
            key = fq[cap_heap + 1 + st[ST_NH]]
            st[ST_NH] += 1
            if st[ST_NH] == st[ST_NT]:
                st[ST_NH] = 0
                st[ST_NT] = 0
        elif st[ST_HEAP] > 0:
            if _first(hq) >= horizon:
                break
            now, key = _pop(hq, st)
        else:
            break
        e = key & _EMASK
        nrun = 0
        cause = -1
        if e >= _DIRECT:  # a process's own timeout or start: it wakes that process only,
            kind = EK_DIRECT  # unless an interrupt took the process off it (then nobody)
            w = e - _DIRECT
            if pi[w, P_TARGET] == _token((key >> _EBITS) & _EIDMASK):
                runlist[0] = w
                nrun = 1
        else:
            kind = ev[e, E_KIND]
        if kind == EK_RESUME:
            x = ev[e, E_HEAD]
            while x >= 0 and nrun <= cap_proc:
                runlist[nrun] = x
                nrun += 1
                x = pi[x, P_WNEXT]
        elif kind == EK_INTR:
            w = ev[e, E_A]
            if pi[w, P_ALIVE] == 1:
                _detach(ev, pi, w)
                runlist[0] = w
                nrun = 1
                cause = ev[e, E_B]
                pi[w, P_PC] = PC_INTR
        elif kind == EK_DISPATCH:
            r = ev[e, E_A]
            p = level_of[r]
            b = rb[r]
            dispatching[r] = 0
            cap = bi[b, B_CAP]
            while qlen[r] > 0 and busy[r] < cap and not (lv[p, LV_TURN] and vacant[r]):
                q = _q_pop(qn, qhead, qlen, qfree, st, r)
                if ev[q, E_NCB] > 0:
                    if lv[p, LV_TANK]:
                        tank[r] = tank_level(tank[r], tank_rate(bf[b, BF_DRAIN],
                                             bf[b, BF_RECOVERY], busy[r]), now - tank_t[r])
                        tank_t[r] = now
                    busy[r] += 1
                    _schedule(hq, fq, now, st, cap_heap, now, NORMAL, q)
                else:
                    _free_event(evfree, st, q)
        elif kind == EK_DEPART:
            r = ev[e, E_A]
            p = level_of[r]
            b = rb[r]
            i = r - lv[p, LV_OFF]
            departures[p] += 1
            vacant[r] = 1
            x = hhead[r]
            while x >= 0:
                u = _draw(kpre, LOSS, p, i, r, cnt, -1, b, dcode, dn, dpar, gtab)
                e2 = _new_event(ev, evfree, st, cap_ev, EK_INTR, x,
                                LOST if u < bf[b, BF_LOSS] else STAY)
                _schedule(hq, fq, now, st, cap_heap, now, URGENT, e2)
                x = pi[x, P_HNEXT]
            if lv[p, LV_TANK]:
                tank[r] = tank_level(tank[r], tank_rate(bf[b, BF_DRAIN], bf[b, BF_RECOVERY],
                                                        busy[r]), now - tank_t[r])
                tank_t[r] = now
            busy[r] = 0
            gap = _draw(kpre, VACANCY, p, i, r, cnt, DS_VAC, b, dcode, dn, dpar, gtab)
            e2 = _new_event(ev, evfree, st, cap_ev, EK_FILL, r, 0)
            _schedule(hq, fq, now, st, cap_heap, now + gap, NORMAL, e2)
        elif kind == EK_FILL:
            r = ev[e, E_A]
            p = level_of[r]
            b = rb[r]
            i = r - lv[p, LV_OFF]
            vacant[r] = 0
            odds[r] = bf[b, BF_ODDSNEW]
            if tdyn:
                _set_trust(trust, trustd, odds, r, bf[b, BF_TRUSTNEW], now, bf[b, BF_ZODDS], gf)
            elif p == ps:  # the lateral odds read the receiver's trust
                trust[r] = bf[b, BF_TRUSTNEW]
            if lv[p, LV_TANK]:
                tank[r] = 1.0
                tank_t[r] = now
                e2 = tank_ev[r]
                if e2 >= 0:
                    tank_ev[r] = -1
                    _schedule(hq, fq, now, st, cap_heap, now, NORMAL, e2)
            e2 = fill_ev[r]
            if e2 >= 0:
                fill_ev[r] = -1
                _schedule(hq, fq, now, st, cap_heap, now, NORMAL, e2)
            cap = bi[b, B_CAP]
            while qlen[r] > 0 and busy[r] < cap:
                q = _q_pop(qn, qhead, qlen, qfree, st, r)
                if ev[q, E_NCB] > 0:
                    busy[r] += 1
                    _schedule(hq, fq, now, st, cap_heap, now, NORMAL, q)
                else:
                    _free_event(evfree, st, q)
            rate = bf[b, BF_TURN]
            if rate > 0:
                gap = departure_gap(_draw(kpre, TURNOVER, p, i, r, cnt, -1, b,
                                          dcode, dn, dpar, gtab), rate)
                if now + gap < horizon:
                    e2 = _new_event(ev, evfree, st, cap_ev, EK_DEPART, r, 0)
                    _schedule(hq, fq, now, st, cap_heap, now + gap, NORMAL, e2)
            if p == ps and gf[G_VMEAN] > 0:  # a newcomer who may visit showcases
                sgen[i] += 1
                w2 = _new_proc(pi, st, cap_proc, PC_NEWC, -1, p, i, 0, sgen[i])
                _start(hq, fq, cap_heap, st, pi, w2, now)
        if kind != EK_DIRECT:
            _free_event(evfree, st, e)

        # run the resumed processes in callback order, each up to its next yield
        for k in range(nrun):
            w = runlist[k]
            pc = pi[w, P_PC]
            p = pi[w, P_P]
            leaves = 0
            if p >= 0:
                leaves = lv[p, LV_LEAVES]
                if shar and p <= ps:
                    leaves = _eff(lv, sclaim, pi[w, P_TR] - row0, p, pi[w, P_I], ps)
            # one `if` per program counter, in the order a baton copy passes them: a step
            # that moves on without yielding falls through to the next in the same pass
            while True:
                if st[ST_OVF]:
                    return st[ST_OVF]
                # read afresh on every pass (they never change), so that the compiler does
                # not hoist every array address that depends on them out of this loop, for
                # every branch, at every resume
                tr = pi[w, P_TR]
                p = pi[w, P_P]
                i = pi[w, P_I]
                tl = tr - row0
                r = 0
                b = 0
                if p >= 0:
                    r = lv[p, LV_OFF] + i
                    b = rb[r]
                if pc == PC_LAUNCH:
                    launch = o_tf[tr, TF_LAUNCH]
                    pc = PC_CARRY
                    if launch > now:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + (launch - now))
                        break
                if pc == PC_CARRY:
                    if shar and p == 0:
                        sstat[tl, 0] = SS_LIVE
                    o_ti[tr, TI_INFLIGHT] += leaves
                    if bi[b, B_ZONE]:
                        if bi[b, B_SLOTS] >= 0:
                            g = lv[p - 1, LV_OFF] + i // lv[p, LV_COUNT]
                            if slots_used[g] < bi[b, B_SLOTS]:
                                slots_used[g] += 1
                            else:
                                e2 = _new_event(ev, evfree, st, cap_ev, EK_RESUME, 0, 0)
                                # FIFO of slot waiters, linked through queue nodes
                                if st[ST_QNFREE] > 0:
                                    st[ST_QNFREE] -= 1
                                    node = qfree[st[ST_QNFREE]]
                                elif st[ST_QNHW] < cap_qn:
                                    node = st[ST_QNHW]
                                    st[ST_QNHW] += 1
                                else:
                                    st[ST_OVF] = CAP_QN + 1
                                    node = cap_qn
                                qn[node, Q_EV] = e2
                                qn[node, Q_NEXT] = -1
                                if slot_tail[g] < 0:
                                    slot_head[g] = node
                                else:
                                    qn[slot_tail[g], Q_NEXT] = node
                                slot_tail[g] = node
                                _wait(ev, pi, w, e2)
                                pc = PC_X_SLOT
                                break
                        pc = PC_X_SLOT
                    else:
                        pc = PC_LEG
                if pc == PC_X_SLOT:
                    pc = PC_X_CP
                    if bi[b, B_CP] and cp_time > 0:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + cp_time)
                        break
                if pc == PC_X_CP:
                    if lv[p, LV_TANK] and bf[b, BF_CHECK] > 0:
                        pc = PC_TANK
                    else:
                        pc = PC_ATT_INIT
                if pc == PC_TANK:
                    need = bf[b, BF_CHECK]
                    rate = tank_rate(bf[b, BF_DRAIN], bf[b, BF_RECOVERY], busy[r])
                    level = tank_level(tank[r], rate, now - tank_t[r])
                    if level >= need - 1e-12:
                        pc = PC_ATT_INIT
                    elif rate > 0:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + (need - level) / rate)
                        break
                    else:
                        e2 = tank_ev[r]
                        if e2 < 0:
                            e2 = _new_event(ev, evfree, st, cap_ev, EK_RESUME, 0, 0)
                            tank_ev[r] = e2
                        _wait(ev, pi, w, e2)
                        break
                if pc == PC_ATT_INIT:
                    pi[w, P_ATT] = 0
                    pc = PC_ATT_TOP
                if pc == PC_ATT_TOP:
                    pi[w, P_ATT] += 1
                    pc = PC_VAC
                if pc == PC_VAC:
                    if lv[p, LV_TURN] and vacant[r]:
                        e2 = fill_ev[r]
                        if e2 < 0:
                            e2 = _new_event(ev, evfree, st, cap_ev, EK_RESUME, 0, 0)
                            fill_ev[r] = e2
                        _wait(ev, pi, w, e2)
                        break
                    pc = PC_WIN
                if pc == PC_WIN:
                    pc = PC_AFTER_WIN
                    if bi[b, B_WIN]:
                        start = window_next_open(now, bf[b, BF_PERIOD], bf[b, BF_OPEN],
                                                 bf[b, BF_CLOSE])
                        if start > now:
                            _sleep(hq, fq, cap_heap, st, pi, w, now, now + (start - now))
                            break
                if pc == PC_AFTER_WIN:
                    has_tank = lv[p, LV_TANK] != 0
                    level = 1.0
                    if has_tank:
                        level = tank_level(tank[r], tank_rate(bf[b, BF_DRAIN],
                                           bf[b, BF_RECOVERY], busy[r]), now - tank_t[r])
                    pf[w, PF_PF] = probability(fumble_odds(
                        odds[r], o_tf[tr, TF_CLAR], held[r], load, has_tank, level, tank_eff))
                    dur = _draw(kpre, DURATION, p, i, r, cnt, DS_DUR, b,
                                dcode, dn, dpar, gtab)
                    pc = PC_AFTER_DUR
                    if dur > 0:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + dur)
                        break
                if pc == PC_AFTER_DUR:
                    o_tz[tr, p, 0] += 1
                    if _draw(kpre, FUMBLE, p, i, r, cnt, -1, b, dcode, dn,
                             dpar, gtab) >= pf[w, PF_PF]:
                        if tdyn and not (lv[p, LV_TURN] and vacant[r]):
                            _trust_moves(trust, trustd, odds, r, True, now, bf[b, BF_ZODDS], gf)
                        pi[w, P_OK] = 1
                        pc = PC_X_END
                        continue
                    o_tz[tr, p, 1] += 1
                    caught = _draw(kpre, RECOVER, p, i, r, cnt, -1, b, dcode,
                                   dn, dpar, gtab) < bf[b, BF_RECOVER]
                    maxatt = bi[b, B_MAXATT]
                    if tdyn and not (lv[p, LV_TURN] and vacant[r]):
                        _trust_moves(trust, trustd, odds, r, False, now, bf[b, BF_ZODDS], gf)
                    if not caught or (maxatt > 0 and pi[w, P_ATT] >= maxatt):
                        o_tz[tr, p, 3] += 1
                        pi[w, P_OK] = 0
                        pc = PC_X_END
                        continue
                    o_tz[tr, p, 2] += 1
                    rework = _draw(kpre, REWORK, p, i, r, cnt, DS_REWORK, b,
                                   dcode, dn, dpar, gtab)
                    pc = PC_ATT_TOP
                    if rework > 0:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + rework)
                        break
                if pc == PC_X_END:
                    if bi[b, B_SLOTS] >= 0:
                        g = lv[p - 1, LV_OFF] + i // lv[p, LV_COUNT]
                        node = slot_head[g]
                        if node >= 0:
                            slot_head[g] = qn[node, Q_NEXT]
                            if slot_head[g] < 0:
                                slot_tail[g] = -1
                            qfree[st[ST_QNFREE]] = node
                            st[ST_QNFREE] += 1
                            _schedule(hq, fq, now, st, cap_heap, now, NORMAL, qn[node, Q_EV])
                        else:
                            slots_used[g] -= 1
                    if shar and p <= ps:
                        if p == ps:
                            if sstat[tl, r] != SS_EXCH:  # a peer's copy came first
                                pc = DONE
                                break
                            sstat[tl, r] = SS_LIVE
                        leaves = _eff(lv, sclaim, tl, p, i, ps)
                    if pi[w, P_OK] == 0:
                        if shar and p <= ps:
                            sstat[tl, r] = SS_DROPPED
                        o_ti[tr, TI_INFLIGHT] -= leaves
                        o_ti[tr, TI_DROPPED] += leaves
                        if has_feedback:
                            nd = st[ST_NDROP]
                            if nd >= cap_drop:
                                st[ST_OVF] = CAP_DROP + 1
                                nd = cap_drop
                            else:
                                st[ST_NDROP] = nd + 1
                            drop_i[nd, 0] = tr
                            drop_i[nd, 1] = p
                            drop_i[nd, 2] = i
                            drop_i[nd, 3] = 1 if pi[w, P_PEER] == 1 else 0
                            drop_f[nd] = pf[w, PF_FID]
                        pc = DONE
                        break
                    pf[w, PF_FID] = handed_on(pf[w, PF_FID], bf[b, BF_RET])
                    pc = PC_LEG
                if pc == PC_LEG:
                    pf[w, PF_ARRIVED] = now
                    pi[w, P_SEQ] = st[ST_SEQ]
                    st[ST_SEQ] += 1
                    pc = PC_LEG_LOOP
                if pc == PC_LEG_LOOP:
                    held[r] += 1
                    turnover = lv[p, LV_TURN] != 0
                    if turnover:  # holding[(p, i)][me] = None: append
                        pi[w, P_HNEXT] = -1
                        pi[w, P_HPREV] = htail[r]
                        if htail[r] < 0:
                            hhead[r] = w
                        else:
                            pi[htail[r], P_HNEXT] = w
                        htail[r] = w
                    pf[w, PF_WORK] = 0.0
                    pi[w, P_BEGAN] = 0
                    free = busy[r] < bi[b, B_CAP] and not (turnover and vacant[r])
                    if free and not contended:
                        if lv[p, LV_TANK]:
                            tank[r] = tank_level(tank[r], tank_rate(
                                bf[b, BF_DRAIN], bf[b, BF_RECOVERY], busy[r]), now - tank_t[r])
                            tank_t[r] = now
                        busy[r] += 1
                        pc = PC_STARTED
                    else:
                        e2 = _new_event(ev, evfree, st, cap_ev, EK_RESUME, 0, 0)
                        _q_push(qn, qhead, qlen, qfree, st, cap_qn, r, o_ti[tr, TI_PRIO],
                                pi[w, P_SEQ], st[ST_TICK], e2)
                        st[ST_TICK] += 1
                        if free and not dispatching[r]:
                            dispatching[r] = 1
                            e3 = _new_event(ev, evfree, st, cap_ev, EK_DISPATCH, r, 0)
                            _schedule(hq, fq, now, st, cap_heap, now, NORMAL, e3)
                        _wait(ev, pi, w, e2)
                        pc = PC_STARTED
                        break
                if pc == PC_STARTED:
                    started = now
                    pf[w, PF_STARTED] = started
                    wait_total[p] += started - pf[w, PF_ARRIVED]
                    waits[p] += 1
                    pi[w, P_BEGAN] = 1
                    work = _draw(kpre, WORK, p, i, r, cnt, DS_WORK, b, dcode, dn,
                                 dpar, gtab)
                    for j in range(1, lv[p, LV_EXTRA] + 1):
                        work += _draw(kpre, 9 + j, p, i, r, cnt,
                                      DS_VAC + j, b, dcode, dn, dpar, gtab)
                    if lv[p, LV_TANK]:
                        level = tank_level(tank[r], tank_rate(bf[b, BF_DRAIN],
                                           bf[b, BF_RECOVERY], busy[r]), now - tank_t[r])
                        work = tank_slowed(work, level, bf[b, BF_FLOOR])
                    pf[w, PF_WORK] = work
                    busy_time[p] += min(work, horizon - started)
                    pc = PC_WORKED
                    if work > 0:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + work)
                        break
                if pc == PC_WORKED:
                    if qlen[r] > 0 or lv[p, LV_TANK]:
                        # _release
                        handed = False
                        while qlen[r] > 0:
                            q = _q_pop(qn, qhead, qlen, qfree, st, r)
                            if ev[q, E_NCB] > 0:
                                _schedule(hq, fq, now, st, cap_heap, now, NORMAL, q)
                                handed = True
                                break
                            _free_event(evfree, st, q)
                        if not handed:
                            if lv[p, LV_TANK]:
                                tank[r] = tank_level(tank[r], tank_rate(
                                    bf[b, BF_DRAIN], bf[b, BF_RECOVERY], busy[r]),
                                    now - tank_t[r])
                                tank_t[r] = now
                            busy[r] -= 1
                            if lv[p, LV_TANK]:
                                e2 = tank_ev[r]
                                if e2 >= 0:
                                    tank_ev[r] = -1
                                    _schedule(hq, fq, now, st, cap_heap, now, NORMAL, e2)
                    else:
                        busy[r] -= 1
                    held[r] -= 1
                    if lv[p, LV_TURN]:
                        _unhold(pi, hhead, htail, r, w)
                    peer = 1 if pi[w, P_PEER] == 1 else 0
                    if shar and p <= ps:
                        o_ti[tr, TI_INFLIGHT] -= _eff(lv, sclaim, tl, p, i, ps)
                        sstat[tl, r] = SS_DONE
                        if p == ps:
                            sfid[tl, i] = pf[w, PF_FID]
                    else:
                        o_ti[tr, TI_INFLIGHT] -= leaves
                    if p == last:
                        fid = pf[w, PF_FID]
                        _reached(o_ti, o_tf, tr, now, fid)
                        if shar:  # Relay._reached's peer sharing part
                            imp = implements(fid, o_tf[tr, TF_MINFID])
                            if peer:
                                o_tp[tr, TP_REACHED] += 1
                                if imp and now <= o_tf[tr, TF_DEADLINE]:
                                    o_tp[tr, TP_IMPL] += 1
                            if imp:
                                sc_ = i // lv[ps, LV_LEAVES]
                                simpl[tl, sc_] += 1
                                if simpl[tl, sc_] == gi[GI_SHOWNEED]:
                                    sshow[tl, sc_] = 1
                                    if gf[G_SHMEAN] > 0:
                                        w2 = _new_proc(pi, st, cap_proc, PC_SHOW, tr, ps, sc_,
                                                       0, 0)
                                        _start(hq, fq, cap_heap, st, pi, w2, now)
                        pc = DONE
                        break
                    c = lv[p + 1, LV_COUNT]
                    for j in range(i * c, (i + 1) * c):
                        if shar and p + 1 <= ps:  # Relay._spawn
                            rc = lv[p + 1, LV_OFF] + j
                            if p + 1 == ps:
                                s0 = sstat[tl, rc]
                                if s0 == SS_LIVE or s0 == SS_DONE:
                                    continue
                                if s0 == SS_LOST:
                                    o_ti[tr, TI_LOST] -= lv[ps, LV_LEAVES]
                                sstat[tl, rc] = SS_EXCH if bi[rb[rc], B_ZONE] else SS_LIVE
                            else:
                                sstat[tl, rc] = SS_LIVE
                        w2 = st[ST_NPROC]
                        if w2 >= cap_proc:
                            st[ST_OVF] = CAP_PROC + 1
                            w2 = cap_proc
                        else:
                            st[ST_NPROC] = w2 + 1
                        pi[w2, P_PC] = PC_CARRY
                        pi[w2, P_TR] = tr
                        pi[w2, P_P] = p + 1
                        pi[w2, P_I] = j
                        pi[w2, P_ALIVE] = 1
                        pi[w2, P_PEER] = peer
                        pf[w2, PF_FID] = pf[w, PF_FID]
                        _start(hq, fq, cap_heap, st, pi, w2, now)
                    pc = DONE
                    break
                if pc == PC_INTR:
                    held[r] -= 1
                    _unhold(pi, hhead, htail, r, w)
                    work = pf[w, PF_WORK]
                    if work > 0:
                        busy_time[p] -= max(0.0, min(pf[w, PF_STARTED] + work, horizon) - now)
                    if cause == LOST:
                        if shar and p <= ps:
                            leaves = _eff(lv, sclaim, tl, p, i, ps)
                            sstat[tl, r] = SS_LOST
                        o_ti[tr, TI_INFLIGHT] -= leaves
                        o_ti[tr, TI_LOST] += leaves
                        pc = DONE
                        break
                    if pi[w, P_BEGAN]:
                        pf[w, PF_ARRIVED] = now
                    pc = PC_LEG_LOOP
                if pc == PC_ARRIVALS:
                    arr_t = gf[G_SSTART]
                    pc = PC_ARR_LOOP
                if pc == PC_ARR_LOOP:
                    u = _draw(kpre, STREAM, 0, 0, 0, cnt, -1, 0, dcode, dn, dpar, gtab)
                    arr_t += exponential_gap(u, gf[G_SMEANGAP])
                    if arr_t >= gf[G_SSTOP] or arr_t >= horizon:
                        pc = DONE
                        break
                    _sleep(hq, fq, cap_heap, st, pi, w, now, now + (arr_t - now))
                    pc = PC_ARR_WAKE
                    break
                if pc == PC_ARR_WAKE:
                    if ntr >= tr_room:
                        st[ST_OVF] = CAP_TR + 1
                        return st[ST_OVF]
                    t = row0 + ntr
                    ntr += 1
                    o_ti[t, :] = 0
                    o_ti[t, TI_REP] = rep
                    o_ti[t, TI_NAME] = -1
                    o_ti[t, TI_PRIO] = gi[GI_SPRIO]
                    o_ti[t, TI_NEED] = gi[GI_SNEED]
                    o_tf[t, TF_LAUNCH] = arr_t
                    o_tf[t, TF_DEADLINE] = arr_t + gf[G_SDEADAFTER]
                    o_tf[t, TF_CLAR] = gf[G_SCLAR]
                    o_tf[t, TF_MINFID] = gf[G_SMINFID]
                    o_tf[t, TF_FIDSUM] = 0.0
                    o_tf[t, TF_DONE] = np.nan
                    o_tz[t, :, :] = 0
                    o_tp[t, :] = 0
                    if shar:
                        tl2 = t - row0
                        if tl2 >= sh_rows:
                            st[ST_OVF] = CAP_TR + 1
                            return st[ST_OVF]
                        sstat[tl2, :n_upto] = 0
                        sclaim[tl2, :n_upto] = 0
                        simpl[tl2, :] = 0
                        sfid[tl2, :] = 0.0
                        sshow[tl2, :] = 0
                    w2 = st[ST_NPROC]
                    if w2 >= cap_proc:
                        st[ST_OVF] = CAP_PROC + 1
                        return st[ST_OVF]
                    st[ST_NPROC] = w2 + 1
                    pi[w2, :] = -1
                    pi[w2, P_PC] = PC_LAUNCH
                    pi[w2, P_TR] = t
                    pi[w2, P_P] = 0
                    pi[w2, P_I] = 0
                    pi[w2, P_ALIVE] = 1
                    pf[w2, PF_FID] = 1.0
                    _start(hq, fq, cap_heap, st, pi, w2, now)
                    pc = PC_ARR_LOOP
                if pc == PC_REVIEWS:
                    _sleep(hq, fq, cap_heap, st, pi, w, now, now + gf[G_FBINT])
                    pc = PC_REV_WAKE
                    break
                if pc == PC_REV_WAKE:
                    nd = st[ST_NDROP]
                    kept = 0
                    for d in range(nd):
                        dtr = drop_i[d, 0]
                        dp = drop_i[d, 1]
                        di = drop_i[d, 2]
                        dr = lv[dp, LV_OFF] + di
                        u = _draw(kpre, REVIEW, dp, di, dr, cnt, -1, 0, dcode, dn,
                                  dpar, gtab)
                        if u < detect:
                            if shar and dp <= ps:
                                o_ti[dtr, TI_DROPPED] -= _eff(lv, sclaim, dtr - row0, dp, di, ps)
                                sstat[dtr - row0, dr] = SS_EXCH if dp == ps else SS_LIVE
                            else:
                                o_ti[dtr, TI_DROPPED] -= lv[dp, LV_LEAVES]
                            o_tz[dtr, dp, 4] += 1
                            w2 = st[ST_NPROC]
                            if w2 >= cap_proc:
                                st[ST_OVF] = CAP_PROC + 1
                                return st[ST_OVF]
                            st[ST_NPROC] = w2 + 1
                            pi[w2, P_PC] = PC_CARRY
                            pi[w2, P_TR] = dtr
                            pi[w2, P_P] = dp
                            pi[w2, P_I] = di
                            pi[w2, P_ALIVE] = 1
                            pi[w2, P_PEER] = drop_i[d, 3]
                            pf[w2, PF_FID] = drop_f[d]
                            _start(hq, fq, cap_heap, st, pi, w2, now)
                        else:
                            drop_i[kept, 0] = dtr
                            drop_i[kept, 1] = dp
                            drop_i[kept, 2] = di
                            drop_i[kept, 3] = drop_i[d, 3]
                            drop_f[kept] = drop_f[d]
                            kept += 1
                    st[ST_NDROP] = kept
                    pc = PC_REVIEWS
                if pc == PC_SHOW:  # Relay._showcase: shares at Poisson times
                    pf[w, PF_T] = now
                    pc = PC_SHOW_LOOP
                if pc == PC_SHOW_LOOP:
                    pf[w, PF_T] += exponential_gap(_sdraw(seedk, rep, SHARE_GAP, ps, i, scnt),
                                                   gf[G_SHMEAN])
                    if pf[w, PF_T] >= horizon:
                        pc = DONE
                        break
                    _sleep(hq, fq, cap_heap, st, pi, w, now, now + (pf[w, PF_T] - now))
                    pc = PC_SHOW_WAKE
                    break
                if pc == PC_SHOW_WAKE:  # Relay._share
                    u_pick = _sdraw(seedk, rep, SHARE_PICK, ps, i, scnt)
                    u_f = _sdraw(seedk, rep, SHARE_FUMBLE, ps, i, scnt)
                    o_tp[tr, TP_SHARES] += 1
                    a0 = nb_ptr[i]
                    a1 = nb_ptr[i + 1]
                    j = -1
                    if gi[GI_SANY]:
                        if a1 > a0:
                            j = nbrs[a0 + int(u_pick * (a1 - a0))]
                    else:
                        m = 0
                        for x in range(a0, a1):
                            if _lacks(sstat, tl, lv, ps, nbrs[x], vacant):
                                m += 1
                        if m > 0:
                            want = int(u_pick * m)
                            for x in range(a0, a1):
                                if _lacks(sstat, tl, lv, ps, nbrs[x], vacant):
                                    if want == 0:
                                        j = nbrs[x]
                                        break
                                    want -= 1
                    pc = PC_SHOW_LOOP
                    if j >= 0 and _lacks(sstat, tl, lv, ps, j, vacant):
                        _start_lateral(pi, pf, st, ev, evfree, hq, fq, cap_proc, cap_ev,
                                       cap_heap, lv, rb, bf, tank, tank_t, busy, trust, held,
                                       o_tf, o_tp, gf, tr, ps, j, 0, i, u_f, now, load,
                                       tank_eff)
                if pc == PC_LAT:  # Relay._lateral: the lateral zone from P_AUX to i
                    pc = PC_LAT_END
                    if gf[G_SHDUR] > 0:
                        _sleep(hq, fq, cap_heap, st, pi, w, now, now + gf[G_SHDUR])
                        break
                if pc == PC_LAT_END:
                    if pf[w, PF_U] < pf[w, PF_PF]:
                        o_tp[tr, TP_FUMBLES] += 1
                        pc = DONE
                        break
                    if not _lacks(sstat, tl, lv, ps, i, vacant):
                        pc = DONE
                        break
                    _claim(lv, ps, tr, tl, i, pi[w, P_PEER] == 2, sstat, sclaim, o_ti, o_tp,
                           drop_i, drop_f, st)
                    pf[w, PF_FID] = handed_on(sfid[tl, pi[w, P_AUX]], gf[G_SHRET])
                    pi[w, P_PEER] = 1
                    pc = PC_LEG
                if pc == PC_NEWC:  # Relay._newcomer
                    pf[w, PF_T] = now
                    pc = PC_NEWC_LOOP
                if pc == PC_NEWC_LOOP:
                    pf[w, PF_T] += exponential_gap(_sdraw(seedk, rep, NEWCOMER, ps, i, scnt),
                                                   gf[G_VMEAN])
                    if pf[w, PF_T] >= horizon:
                        pc = DONE
                        break
                    _sleep(hq, fq, cap_heap, st, pi, w, now, now + (pf[w, PF_T] - now))
                    pc = PC_NEWC_WAKE
                    break
                if pc == PC_NEWC_WAKE:
                    if sgen[i] != pi[w, P_AUX] or vacant[r]:
                        pc = DONE
                        break
                    a0 = nb_ptr[i]
                    a1 = nb_ptr[i + 1]
                    for t2 in range(row0, row0 + ntr):
                        tl2 = t2 - row0
                        if not _lacks(sstat, tl2, lv, ps, i, vacant):
                            continue
                        m = 0
                        for x in range(a0, a1):
                            m += sshow[tl2, nbrs[x]]
                        if m == 0:
                            continue
                        want = int(_sdraw(seedk, rep, NEWCOMER, ps, i, scnt) * m)
                        sj = -1
                        for x in range(a0, a1):
                            if sshow[tl2, nbrs[x]]:
                                if want == 0:
                                    sj = nbrs[x]
                                    break
                                want -= 1
                        u_f = _sdraw(seedk, rep, NEWCOMER, ps, i, scnt)
                        _start_lateral(pi, pf, st, ev, evfree, hq, fq, cap_proc, cap_ev,
                                       cap_heap, lv, rb, bf, tank, tank_t, busy, trust, held,
                                       o_tf, o_tp, gf, t2, ps, i, 2, sj, u_f, now, load,
                                       tank_eff)
                    pc = PC_NEWC_LOOP
            pi[w, P_PC] = pc
            if pc == DONE:
                pi[w, P_ALIVE] = 0
    if st[ST_OVF]:
        return st[ST_OVF]
    st[ST_NTR] = ntr
    # dynamic trust: each level's mean trust at the trust deadline (Relay._trust_at_deadline)
    for p in range(nlev):
        if tdyn:
            total = 0.0
            for i in range(lv[p, LV_SIZE]):
                r = lv[p, LV_OFF] + i
                total += trust[r] if np.isnan(trustd[r]) else trustd[r]
            lf[p, LF_TRUST] = total / lv[p, LV_SIZE]
        else:
            lf[p, LF_TRUST] = np.nan
    return 0


@njit(cache=True, inline="always")
def _unhold(pi, hhead, htail, r, w):
    prev = pi[w, P_HPREV]
    nxt = pi[w, P_HNEXT]
    if prev < 0:
        hhead[r] = nxt
    else:
        pi[prev, P_HNEXT] = nxt
    if nxt < 0:
        htail[r] = prev
    else:
        pi[nxt, P_HPREV] = prev


@njit(cache=True, inline="always")
def _reached(o_ti, o_tf, tr, now, fidelity):
    by_deadline = now <= o_tf[tr, TF_DEADLINE]
    if by_deadline:
        o_ti[tr, TI_REACHBD] += 1
        o_tf[tr, TF_FIDSUM] += fidelity
    if implements(fidelity, o_tf[tr, TF_MINFID]):
        o_ti[tr, TI_IMPL] += 1
        if by_deadline:
            o_ti[tr, TI_IMPLBD] += 1
        if o_ti[tr, TI_IMPL] == o_ti[tr, TI_NEED] and np.isnan(o_tf[tr, TF_DONE]):
            o_tf[tr, TF_DONE] = now
    else:
        o_ti[tr, TI_BELOW] += 1
