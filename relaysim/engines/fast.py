"""The fast engine: the relay of simpy_engine.py compiled with numba, same records.

`simulate_chunk(scenario, seed, start, stop)` runs replications start..stop-1 in one call
of the compiled kernel (relaysim/engines/_fastkernel.py) and returns the same
`Replication` records as the SimPy engine (counts equal, times within rounding); the
columns behind them come from `run_columns`. numba is imported only here, and only when
the fast engine is used (`available()` tells whether it can be).
"""

from __future__ import annotations

import gc
import hashlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model import formulas as F
from ..model.distributions import GAMMA, ZERO, gamma_table
from ..model.plan import Plan, plan_for
from ..model.scenario import Scenario
from .keyed import seed_key
from .network import as_arrays, neighbours
from .realize import realize
from .records import InitiativeOutcome, LevelOutcome, PeerCounts, Replication, ZoneCounts

__all__ = ["available", "simulate", "simulate_chunk", "run_columns", "kernel"]

_KERNEL: Any = None
_IMPORT_ERROR: str | None = None


def available() -> bool:
    """True when numba can be imported (the fast engine can run)."""
    global _IMPORT_ERROR
    if _KERNEL is not None:
        return True
    try:
        import numba  # noqa: F401
    except Exception as e:  # ImportError, or numba hidden (sys.modules['numba'] = None)
        _IMPORT_ERROR = f"{type(e).__name__}: {e}"
        return False
    return True


def import_error() -> str | None:
    return _IMPORT_ERROR


def kernel() -> Any:
    """The compiled kernel module, compiled (or loaded from numba's cache) on first use."""
    global _KERNEL
    if _KERNEL is None:
        t0 = time.perf_counter()
        _invalidate_stale_cache()
        from . import _fastkernel as K  # compiles nothing yet: numba compiles on first call
        cold = not _cached(K)
        if cold:
            print("relaysim: compiling the fast engine once (one to two minutes); later runs "
                  "load it from the cache", file=sys.stderr, flush=True)
        _KERNEL = K
        _warm(K)
        _KERNEL_TIMES["load"] = time.perf_counter() - t0
        _KERNEL_TIMES["cold"] = float(cold)
    return _KERNEL


_KERNEL_TIMES: dict[str, float] = {}


#: sources compiled into the kernel besides _fastkernel.py itself
_DEPENDENCIES = ("model/formulas.py", "model/distributions.py", "engines/keyed.py",
                 "engines/nbspecial.py")


def _invalidate_stale_cache() -> None:
    """numba's cache checks only the kernel's own file, not the formulas, distributions and
    generator compiled into it: when one of those changed since the cache was written,
    touch _fastkernel.py so that numba recompiles (nothing happens on a read-only install)."""
    pkg = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(b"".join((pkg / d).read_bytes() for d in _DEPENDENCIES))
    stamp = pkg / "engines" / "__pycache__" / "_fastkernel.dependencies"
    try:
        old = stamp.read_text() if stamp.exists() else None
        if old != digest.hexdigest():
            if old is not None:
                os.utime(pkg / "engines" / "_fastkernel.py")
            stamp.parent.mkdir(exist_ok=True)
            stamp.write_text(digest.hexdigest())
    except OSError:
        pass


def _cached(K: Any) -> bool:
    """Whether numba's on-disk cache holds the kernel for the current source."""
    try:
        return bool(K.run_chunk._cache._cache_file._load_index())
    except Exception:  # numba internals moved: assume cached, say nothing
        return True


def _warm(K: Any) -> None:
    """Compile (or load) the kernel for its one signature with a tiny replication."""
    from ..model.scenario import scenario_from_dict
    sc = scenario_from_dict({
        "scenario": {"name": "warm", "horizon": 10},
        "levels": [{"name": "a", "work": {"dist": "fixed", "value": 1}},
                   {"name": "b", "count": 1, "work": {"dist": "fixed", "value": 1}}],
        "zones": [{"to": "b"}],
        "initiatives": [{"name": "x", "launch": 0, "deadline": 10}],
    })
    run_columns(sc, 0, 0, 1, _kernel=K)


#: what _Params.args holds, in run_chunk's order
_ARGS = ("lv", "rb", "bi", "bf", "dcode", "dn", "dpar", "gtab", "gf", "gi", "ini_f", "ini_i")


@dataclass
class _Params:
    plan: Plan  # without per-runner values (the runners' values are in args)
    args: tuple[Any, ...]  # the kernel's parameter arrays, named by _ARGS
    n_ini: int
    exp_tracks: int
    caps: np.ndarray
    scenario: Any = None
    gamma_ids: dict[float, int] | None = None  # shape -> row of the kernel's gamma tables

    def arg(self, name: str) -> np.ndarray:
        """One of the kernel's parameter arrays, by its name in _ARGS."""
        return self.args[_ARGS.index(name)]

    def level_capacity(self, p: int) -> int:
        """Batons physical level p's runners work on at once, all runners together."""
        lv, rb, bi = self.arg("lv"), self.arg("rb"), self.arg("bi")
        off, n = int(lv[p, 3]), int(lv[p, 0])
        return int(bi[rb[off:off + n], 0].sum())


_PARAMS: dict[int, _Params] = {}


def _params(sc: Scenario) -> _Params:
    # long on purpose: one flat table of the kernel's parameters, field by field in the
    # layout _fastkernel reads (LV_*, B_*, BF_*, G_*, GI_* columns)
    got = _PARAMS.get(id(sc))
    if got is not None and got.scenario is sc:
        return got
    if len(_PARAMS) > 64:
        _PARAMS.clear()
    if sc.runner_values:
        par = _PARAMS[id(sc)] = _runner_params(sc)
        return par
    plan = plan_for(sc)
    eff = sc.effects
    nlev = len(plan.sizes)
    lv = np.zeros((nlev, 7), np.int64)
    off = 0
    boff = 0
    rb_parts, bundles = [], []
    for p in range(nlev):
        lv[p] = (plan.sizes[p], plan.counts[p], plan.leaves[p], off, plan.has_turnover[p],
                 plan.has_tank[p], len(plan.legs[p]) - 1)
        idx = plan.bundle_index[p]
        rb_parts.append((np.zeros(plan.sizes[p], np.int64) if idx is None
                         else np.asarray(idx, np.int64)) + boff)
        bundles.extend(plan.bundles[p])
        boff += len(plan.bundles[p])
        off += plan.sizes[p]
    rb = np.concatenate(rb_parts)
    nb = len(bundles)
    n_slots = 4 + max(int(lv[:, 6].max()), 0)
    bi_rows, bf_rows, slots = [], [], []
    zero = ZERO.packed()
    for b in bundles:
        z = b.zone
        bi_rows.append((b.capacity, z is not None,
                        (z.max_attempts or 0) if z is not None else 0,
                        (z.slots if z.slots is not None else -1) if z is not None else -1,
                        bool(z.checkpoint) if z is not None else 0,
                        (z.window is not None) if z is not None else 0, 0))
        w = z.window if z is not None else None
        bf_rows.append((z.retention if z else 1.0, z.recover if z else 0.0,
                        w.period if w else 0.0, w.open if w else 0.0, w.close if w else 0.0,
                        b.zone_odds * F.trust_factor(b.trust, eff.trust),
                        b.zone_odds * F.trust_factor(b.new_trust, eff.trust),
                        b.turnover, b.loss, b.tank.drain, b.tank.recovery, b.tank.floor,
                        b.tank.check_tank, b.trust, b.new_trust, b.zone_odds, 0.0))
        row = [b.work.packed(),
               z.duration.packed() if z is not None else zero,
               z.rework.packed() if z is not None else zero,
               b.vacancy.packed()]
        row += [d.packed() for d in b.extra_work]
        row += [zero] * (n_slots - len(row))
        slots.append(row)
    bi = np.array(bi_rows, np.int64).reshape(nb, 7)
    bf = np.array(bf_rows, np.float64).reshape(nb, 17)
    # the distinct (code, params) pairs once each, then every slot as an index into them
    distinct: dict[int, int] = {}
    table: list[tuple[int, np.ndarray]] = []
    ids = np.empty((nb, n_slots), np.int64)
    for k, row in enumerate(slots):
        for j, packed in enumerate(row):
            i = distinct.get(id(packed))
            if i is None:
                i = distinct[id(packed)] = len(table)
                table.append(packed)
            ids[k, j] = i
    mp = max(len(par) for _, par in table)
    u_code = np.array([code for code, _ in table], np.int64)
    u_n = np.array([len(par) for _, par in table], np.int64)
    u_par = np.zeros((len(table), mp), np.float64)
    for i, (_, par) in enumerate(table):
        u_par[i, :len(par)] = par
    gtab, gamma_ids = _gamma_tables(u_code, u_par)
    dcode, dn, dpar = u_code[ids], u_n[ids], u_par[ids]
    s = sc.stream
    fb = sc.feedback
    td = sc.trust_dynamics
    n_class = plan.sizes[-1]
    k_sh = sc.sharing_level
    sh = None if k_sh is None else sc.levels[k_sh].sharing
    ps = nlev if k_sh is None else plan.phys_of[k_sh]
    gf = np.array([sc.horizon, eff.load, eff.tank, eff.checkpoint_time, s.rate, s.start,
                   s.stop, sc.year_length / s.rate if s.rate > 0 else 0.0, s.deadline_after,
                   F.clarity_factor(s.clarity, eff.clarity), s.min_fidelity, fb.interval,
                   fb.detect, td.gain, td.loss, td.low, td.high,
                   sc.initiatives[0].deadline if sc.initiatives else sc.horizon, eff.trust,
                   *_sharing_floats(sc), 0.0], np.float64)
    contended = len(sc.initiatives) > 1 or s.rate > 0
    gi = np.array([contended, nlev, s.priority, F.classrooms_needed(s.success_threshold,
                                                                       n_class),
                   n_class, len(sc.initiatives), td.on, ps,
                   sh is not None and sh.target == "any",
                   0 if sh is None else F.classrooms_needed(sh.threshold, plan.leaves[ps]),
                   sh is not None and sh.network == "random", 0], np.int64)
    ini_f = np.array([[i.launch, i.deadline, F.clarity_factor(i.clarity, eff.clarity),
                       i.min_fidelity] for i in sc.initiatives], np.float64).reshape(-1, 4)
    ini_i = np.array([[i.priority, F.classrooms_needed(i.success_threshold, n_class)]
                      for i in sc.initiatives], np.int64).reshape(-1, 2)
    arrivals = 0.0
    if s.rate > 0:
        arrivals = max(0.0, min(s.stop, sc.horizon) - s.start) / gf[7]
    exp_tracks = len(sc.initiatives) + int(2 * arrivals + 4 * math.sqrt(arrivals) + 4)
    R = int(lv[-1, 3] + lv[-1, 0])
    procs = 2 * R * (exp_tracks + 1) + 64
    caps = np.array([2 * procs, procs, procs, 4 * R + 64, 0, R + 64, 0], np.int64)
    par = _Params(plan, (lv, rb, bi, bf, dcode, dn, dpar, gtab, gf, gi, ini_f, ini_i),
                  len(sc.initiatives), exp_tracks, caps, gamma_ids=gamma_ids)
    par.scenario = sc
    _PARAMS[id(sc)] = par
    return par


def _gamma_tables(code: np.ndarray, par: np.ndarray) -> tuple[np.ndarray, dict[float, int]]:
    """The kernel's gamma tables: one per distinct shape of a tabulated gamma among the
    packed distributions (code, par) (a copy of `distributions.gamma_table(shape)`, as
    filled so far in this process), and each such row's par[:, 3] set to 1 + its table."""
    ids: dict[float, int] = {}
    if par.shape[1] > 3:
        for i in np.flatnonzero((code == GAMMA) & (par[:, 3] != 0.0)).tolist():
            par[i, 3] = 1 + ids.setdefault(float(par[i, 0]), len(ids))
    if not ids:
        return np.zeros((1, 2, 3)), ids
    return np.stack([gamma_table(a) for a in ids]), ids


def _sharing_floats(sc: Scenario) -> tuple[float, ...]:
    """G_SHMEAN, G_VMEAN (mean days between shares, visits; 0: none), G_SHDUR, G_SHRET,
    G_SHODDS (the lateral zone's odds without trust, clarity, load and tank)."""
    k = sc.sharing_level
    if k is None:
        return (0.0,) * 5
    sh = sc.levels[k].sharing
    assert sh is not None
    y, eff = sc.year_length, sc.effects
    return (y / sh.share_rate if sh.share_rate > 0 else 0.0,
            y / sh.visit_rate if sh.visit_rate > 0 else 0.0, sh.duration, sh.retention,
            F.zone_odds(sh.fumble, False, False, eff.rehearsal, eff.checkpoint))


def _network(sc: Scenario, plan: Plan, seed: int, start: int, stop: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """The sharing network as compressed rows (network.as_arrays): one row of neighbours
    per replication start..stop-1 for a random network, else one row for all."""
    k = sc.sharing_level
    if k is None:
        return np.zeros(2, np.int64), np.zeros((1, 1), np.int64)
    sh = sc.levels[k].sharing
    assert sh is not None
    p = plan.phys_of[k]
    reps = range(start, stop) if sh.network == "random" else range(start, start + 1)
    rows = [as_arrays(neighbours(plan, sh, p, seed, rep)) for rep in reps]
    return rows[0][0], np.stack([idx for _, idx in rows])


def _sharing_scratch(K: Any, par: _Params, rows: int) -> tuple[np.ndarray, ...]:
    """The kernel's peer sharing state: per track (`rows` of one replication) where its
    copy stands and what peers claimed, per runner of the sharing level its implementing
    classrooms, finished fidelity and showcase flag; draw counters and newcomer
    generations (one element each without sharing)."""
    lvl = par.arg("lv")
    ps = int(par.arg("gi")[K.GI_PS])
    if ps >= len(lvl):
        rows = 1
    n_ps = int(lvl[ps, 0]) if ps < len(lvl) else 1
    n_upto = int(lvl[ps, 3] + lvl[ps, 0]) if ps < len(lvl) else 1
    return (np.zeros((rows, n_upto), np.int64), np.zeros((rows, n_upto), np.int64),
            np.zeros((rows, n_ps), np.int64), np.zeros((rows, n_ps), np.float64),
            np.zeros((rows, n_ps), np.int64), np.zeros((4, n_ps), np.int64),
            np.zeros(n_ps, np.int64))


def _runner_params(sc: Scenario) -> _Params:
    """_params of a replication whose runners have values of their own (realize.py):
    the parameters without them, with each affected runner's bundle row copied and its
    values written in. The same numbers as packing one bundle per runner
    (plan._own_bundles, what the SimPy engine runs: the differential tests compare
    them), without building those objects."""
    base = _params(sc.with_runner_values(()))
    lv, rb, bi, bf, dcode, dn, dpar, *rest = base.args
    lv, rb = lv.copy(), rb.copy()
    flat = [b for bs in base.plan.bundles for b in bs]
    blocks = [(bi, bf, dcode, dn, dpar)]
    nb = len(bi)
    by_level: dict[int, list[tuple[str, tuple[float, ...]]]] = {}
    for path, values in sc.runner_values:
        k = sc.level_index(path.split(".")[1])
        by_level.setdefault(base.plan.phys_of[k], []).append((path, values))
    for p, changes in by_level.items():
        off, n = int(lv[p, 3]), int(lv[p, 0])
        rows = rb[off:off + n].copy()
        block = (bi[rows], bf[rows], dcode[rows], dn[rows], dpar[rows])
        _write_runner_values(sc, base.plan, p, [flat[j] for j in rows.tolist()], changes,
                             block, base.gamma_ids or {})
        blocks.append(block)
        rb[off:off + n] = nb + np.arange(n)
        nb += n
        lv[p, 4] = bool((block[1][:, 7] > 0).any())  # LV_TURN: BF_TURN > 0 somewhere
        lv[p, 5] = bool((block[1][:, 9] > 0).any())  # LV_TANK: BF_DRAIN > 0 somewhere
    stacked = [np.concatenate([b[i] for b in blocks]) for i in range(5)]
    par = _Params(base.plan, (lv, rb, *stacked, *rest), base.n_ini, base.exp_tracks,
                  base.caps.copy(), sc, base.gamma_ids)
    return par


def _write_runner_values(sc: Scenario, plan: Plan, p: int, own: list[Any],
                         changes: list[tuple[str, tuple[float, ...]]],
                         block: tuple[np.ndarray, ...], gamma_ids: dict[float, int]) -> None:
    # long on purpose: one branch per kind of per-runner parameter, each the column of
    # _params that the bundle field fills (BF_*, B_CAP, DS_* slots)
    bi, bf, dcode, dn, dpar = block
    eff = sc.effects
    trust, new_trust, zodds = bf[:, 13].copy(), bf[:, 14].copy(), bf[:, 15].copy()
    legs = plan.legs[p]
    for path, values in changes:
        parts = path.split(".")
        k = sc.level_index(parts[1])
        key, sub = parts[2], (parts[3] if len(parts) > 3 else None)
        if parts[0] == "zones":
            if sub is not None:
                slot = 1 if key == "duration" else 2
                _write_dists(dcode, dn, dpar, slot, [getattr(b.zone, key) for b in own],
                             sub, values, gamma_ids)
            elif key == "fumble":
                zodds = np.array([F.zone_odds(x, b.zone.rehearsed, b.zone.checkpoint,
                                              eff.rehearsal, eff.checkpoint)
                                  for b, x in zip(own, values, strict=True)])
            else:
                bf[:, 0 if key == "retention" else 1] = values
            continue
        leg = legs.index(k)
        if sub is not None and key in ("work", "vacancy"):
            dists = [(b.work if leg == 0 else b.extra_work[leg - 1]) if key == "work"
                     else b.vacancy for b in own]
            slot = (0 if leg == 0 else 3 + leg) if key == "work" else 3
            _write_dists(dcode, dn, dpar, slot, dists, sub, values, gamma_ids)
        elif key == "tank":
            bf[:, {"drain": 9, "recovery": 10, "floor": 11, "check_tank": 12}[sub]] = values
        elif key == "capacity":
            bi[:, 0] = values
        elif key == "trust":
            trust = np.array(values, float)
            if sc.normalized["levels"][k]["new_trust"] is None:
                new_trust = trust.copy()  # a newcomer's trust follows the post's
        elif key == "new_trust":
            new_trust = np.array(values, float)
        elif key == "turnover":
            bf[:, 7] = [x / sc.year_length for x in values]
        elif key == "succession" or sc.normalized["levels"][k]["succession"] is None:
            bf[:, 8] = values  # loss_on_turnover counts only without succession planning
    bf[:, 13], bf[:, 14], bf[:, 15] = trust, new_trust, zodds
    bf[:, 5] = [z * F.trust_factor(t, eff.trust) for z, t in zip(zodds.tolist(),
                                                                   trust.tolist(), strict=True)]
    bf[:, 6] = [z * F.trust_factor(t, eff.trust) for z, t in zip(zodds.tolist(),
                                                                   new_trust.tolist(),
                                                                   strict=True)]


def _write_dists(dcode: np.ndarray, dn: np.ndarray, dpar: np.ndarray, slot: int,
                 dists: list[Any], param: str, values: tuple[float, ...],
                 gamma_ids: dict[float, int]) -> None:
    """Each runner's distribution in `slot` with one parameter set to its own value (a
    tabulated gamma keeps its shape, so its table is one of `gamma_ids`')."""
    for r, (d, x) in enumerate(zip(dists, values, strict=True)):
        code, par = d.with_param(param, x).packed()
        dcode[r, slot], dn[r, slot] = code, len(par)
        dpar[r, slot, :len(par)] = par
        if code == GAMMA and par[3] != 0.0:
            dpar[r, slot, 3] = 1 + gamma_ids[float(par[0])]


@dataclass
class Columns:
    """One chunk's outcomes as arrays (see _fastkernel's TI_*/TF_* column layout)."""

    start: int
    stop: int
    level_f: np.ndarray  # (reps, physical levels, [wait_total, busy_time, trust])
    level_i: np.ndarray  # (reps, physical levels, [waits, departures])
    track_i: np.ndarray  # (tracks, TI_N), in replication then creation order
    track_f: np.ndarray  # (tracks, TF_N)
    track_z: np.ndarray  # (tracks, physical levels, 5)
    track_p: np.ndarray  # (tracks, TP_N): peer counts on the sharing level


def run_columns(sc: Scenario, seed: int, start: int, stop: int, _kernel: Any = None
                ) -> Columns:
    """Replications start..stop-1 as columns (one kernel call, reruns when a pool fills)."""
    K = _kernel if _kernel is not None else kernel()
    par = _params(sc)
    nlev = len(par.plan.sizes)
    n = stop - start
    lf = np.zeros((n, nlev, K.LF_N), np.float64)
    li = np.zeros((n, nlev, 2), np.int64)
    rows = max(16, n * par.exp_tracks)
    parts_i, parts_f, parts_z, parts_p, done = [], [], [], [], 0
    lvl = par.arg("lv")
    n_runners = int(lvl[-1, 3] + lvl[-1, 0])
    n_purposes = 10 + max(1, int(lvl[:, 6].max()))
    (nb_ptr, nb_idx), sh_rows = _network(sc, par.plan, seed, start, stop), 2 * par.exp_tracks + 16
    while done < n:
        caps = par.caps
        o_ti = np.zeros((rows, K.TI_N), np.int64)
        o_tf = np.zeros((rows, K.TF_N), np.float64)
        o_tz = np.zeros((rows, nlev, 5), np.int64)
        o_tp = np.zeros((rows, K.TP_N), np.int64)
        caps[K.CAP_TR] = rows
        c_ev, c_proc, c_heap = int(caps[K.CAP_EV]), int(caps[K.CAP_PROC]), int(caps[K.CAP_HEAP])
        c_qn, c_drop = int(caps[K.CAP_QN]), int(caps[K.CAP_DROP])
        # every array the kernel uses (it allocates none: no reference counting inside)
        scratch = (np.empty((c_ev + 1, K.E_N), np.int64), np.empty(c_ev + 1, np.int64),
                   np.empty((c_proc + 1, K.P_N), np.int64),
                   np.empty((c_proc + 1, K.PF_N), np.float64), np.empty(c_proc + 1, np.int64),
                   _line_aligned(K._HT + 2 * (c_heap + 1)),
                   np.empty((c_qn + 1, K.Q_N), np.int64), np.empty(c_qn + 1, np.int64),
                   np.empty((c_drop + 1, 4), np.int64), np.empty(c_drop + 1, np.float64),
                   np.zeros(K.ST_N, np.int64), np.zeros((n_purposes, n_runners), np.int64),
                   np.empty((n_purposes, nlev), np.int64),
                   np.zeros((n_runners, K.R_N), np.int64),
                   np.zeros((n_runners, K.RF_N), np.float64),
                   np.empty(2 * (c_heap + 1), np.int64), *_sharing_scratch(K, par, sh_rows))
        status, reps_done, nrows = K.run_chunk(
            seed_key(seed), start + done, stop, *par.args, nb_ptr,
            nb_idx[done:] if len(nb_idx) > 1 else nb_idx, caps, lf[done:], li[done:], o_ti,
            o_tf, o_tz, o_tp, *scratch)
        parts_i.append(o_ti[:nrows])
        parts_f.append(o_tf[:nrows])
        parts_z.append(o_tz[:nrows])
        parts_p.append(o_tp[:nrows])
        done += reps_done
        if status:
            which = status - 1
            if which == K.CAP_TR:
                rows *= 2
                sh_rows *= 2
            else:
                caps[which] *= 2
                if max(caps[K.CAP_EV], caps[K.CAP_PROC]) >= K._DIRECT:
                    raise RuntimeError("fast engine: more than 2**23 live events or "
                                       "processes in one replication; use engine='simpy'")
                if which == K.CAP_PROC:  # events and heap follow the processes
                    caps[K.CAP_EV] = max(caps[K.CAP_EV], 2 * caps[K.CAP_PROC])
                    caps[K.CAP_HEAP] = max(caps[K.CAP_HEAP], caps[K.CAP_PROC])
    return Columns(start, stop, lf, li, np.concatenate(parts_i), np.concatenate(parts_f),
                   np.concatenate(parts_z), np.concatenate(parts_p))



def _line_aligned(n: int) -> np.ndarray:
    """n int64s whose first element starts a 64-byte cache line (the kernel's event heap
    keeps each node's four children in one line)."""
    buf = np.empty(n + 8, np.int64)
    skip = (-buf.ctypes.data // 8) % 8
    return buf[skip:skip + n]

def records(sc: Scenario, seed: int, cols: Columns) -> list[Replication]:
    """The `Replication` records of a chunk's columns (as the SimPy engine builds them)."""
    enabled = gc.isenabled()
    gc.disable()  # many small frozen objects, no cycles: collecting them is wasted time
    try:
        return _records(sc, seed, cols)
    finally:
        if enabled:
            gc.enable()


def _records(sc: Scenario, seed: int, cols: Columns) -> list[Replication]:
    par = _params(sc)
    plan = par.plan
    K = _KERNEL
    n_logical = len(sc.levels)
    n = plan.sizes[-1]
    horizon = sc.horizon
    names = [i.name for i in sc.initiatives]
    caps = [par.level_capacity(p) * horizon for p in range(len(plan.sizes))]
    logical = plan.logical
    ti = cols.track_i.tolist()
    tf = cols.track_f.tolist()
    tz = cols.track_z.tolist()
    k_sh, tp = sc.sharing_level, cols.track_p.tolist()
    lf = cols.level_f.tolist()
    li = cols.level_i.tolist()
    out, t, nt, empty = [], 0, len(ti), ZoneCounts()
    for k, rep in enumerate(range(cols.start, cols.stop)):
        inits = []
        while t < nt and ti[t][K.TI_REP] == rep:
            a, f = ti[t], tf[t]
            launch, deadline, done = f[K.TF_LAUNCH], f[K.TF_DEADLINE], f[K.TF_DONE]
            zones = [empty] * n_logical
            for p, lk in enumerate(logical):
                zones[lk] = ZoneCounts(*tz[t][p])
            reached = a[K.TI_REACHBD]
            undone = math.isnan(done)
            inits.append(InitiativeOutcome(
                name=names[a[K.TI_NAME]] if a[K.TI_NAME] >= 0 else "stream",
                launch=launch,
                deadline=deadline,
                completed=not undone and done <= deadline,
                completion_time=None if undone else done - launch,
                follow_up=horizon - launch,
                coverage=a[K.TI_IMPLBD] / n,
                fidelity=f[K.TF_FIDSUM] / reached if reached else math.nan,
                n_classrooms=n,
                implemented=a[K.TI_IMPLBD],
                implemented_total=a[K.TI_IMPL],
                below_fidelity=a[K.TI_BELOW],
                dropped=a[K.TI_DROPPED],
                lost=a[K.TI_LOST],
                in_flight=a[K.TI_INFLIGHT],
                zones=tuple(zones),
                observed=deadline <= horizon,
                peers=() if k_sh is None else _peers(tp[t], k_sh, n_logical),
            ))
            t += 1
        levels = []
        for lk in range(n_logical):
            p = plan.phys_of[lk]
            levels.append(LevelOutcome(
                wait_total=lf[k][p][0], waits=li[k][p][0], busy_time=lf[k][p][1],
                capacity_time=caps[p], departures=li[k][p][1] if logical[p] == lk else 0,
                trust=_trust(lf[k][p][2], lk, logical[p])))
        out.append(Replication(rep=rep, seed=seed, initiatives=tuple(inits),
                               levels=tuple(levels)))
    return out


def _peers(counts: list[int], k: int, n_logical: int) -> tuple[PeerCounts, ...]:
    """A track's PeerCounts per logical level: its counts on the sharing level k."""
    out = [PeerCounts()] * n_logical
    out[k] = PeerCounts(*counts)
    return tuple(out)


def _trust(mean: float, k: int, first: int) -> float | None:
    """A logical level's trust at the deadline: the kernel's mean of its physical level
    (NaN without dynamic trust), None on the first level and on merged levels."""
    return None if k == 0 or first != k or math.isnan(mean) else mean


def simulate_chunk(sc: Scenario, seed: int, start: int, stop: int) -> list[Replication]:
    """Replications start..stop-1 of `sc` as `Replication` records."""
    if sc.draws:  # each replication its own district (realize.py): one kernel call each
        out: list[Replication] = []
        for rep in range(start, stop):
            rsc = realize(sc, seed, rep)
            out += records(rsc, seed, run_columns(rsc, seed, rep, rep + 1))
        return out
    return records(sc, seed, run_columns(sc, seed, start, stop))


def simulate(sc: Scenario, seed: int, rep: int) -> Replication:
    """One replication (as simpy_engine.simulate)."""
    return simulate_chunk(sc, seed, rep, rep + 1)[0]


def outcome_arrays(sc: Scenario, seed: int, start: int, stop: int) -> dict[str, Any]:
    """Replications start..stop-1 as arrays named like the record fields, computed as
    `records` computes them (same values, no Python object per replication):
    {"names": initiative names (code len(names) - 1 is "stream"), "init": {field: rows},
    "zones": rows x logical levels x 5, "level": {field: reps x logical levels},
    "reps_index": reps}."""
    if sc.draws:  # each replication its own district (realize.py)
        return _joined([outcome_arrays(realize(sc, seed, rep), seed, rep, rep + 1)
                        for rep in range(start, stop)])
    cols = run_columns(sc, seed, start, stop)
    par = _params(sc)
    plan, K = par.plan, _KERNEL
    n_logical, n, horizon = len(sc.levels), plan.sizes[-1], sc.horizon
    ti, tf = cols.track_i, cols.track_f
    launch, deadline, done = tf[:, K.TF_LAUNCH], tf[:, K.TF_DEADLINE], tf[:, K.TF_DONE]
    undone = np.isnan(done)
    reached = ti[:, K.TI_REACHBD]
    names = [i.name for i in sc.initiatives] + ["stream"]
    with np.errstate(invalid="ignore", divide="ignore"):
        init = {
            "launch": launch.copy(), "deadline": deadline.copy(),
            "completion_time": np.where(undone, np.nan, done - launch),
            "follow_up": horizon - launch,
            "coverage": ti[:, K.TI_IMPLBD] / n,
            "fidelity": np.where(reached != 0, tf[:, K.TF_FIDSUM] / reached, np.nan),
            "rep": ti[:, K.TI_REP].copy(),
            "name": np.where(ti[:, K.TI_NAME] >= 0, ti[:, K.TI_NAME], len(names) - 1),
            "completed": ~undone & (done <= deadline), "observed": deadline <= horizon,
            "n_classrooms": np.full(len(ti), n), "implemented": ti[:, K.TI_IMPLBD],
            "implemented_total": ti[:, K.TI_IMPL], "below_fidelity": ti[:, K.TI_BELOW],
            "dropped": ti[:, K.TI_DROPPED], "lost": ti[:, K.TI_LOST],
            "in_flight": ti[:, K.TI_INFLIGHT]}
    zones = np.zeros((len(ti), n_logical, 5), np.int64)
    for p, lk in enumerate(plan.logical):
        zones[:, lk] = cols.track_z[:, p]
    caps = [par.level_capacity(p) * horizon for p in range(len(plan.sizes))]
    phys = [plan.phys_of[lk] for lk in range(n_logical)]
    own = np.array([plan.logical[p] == lk for lk, p in enumerate(phys)])
    level = {"wait_total": cols.level_f[:, phys, 0], "busy_time": cols.level_f[:, phys, 1],
             "capacity_time": np.tile(np.array([float(caps[p]) for p in phys]),
                                      (stop - start, 1)),
             "trust": np.where((own & (np.arange(n_logical) > 0))[None, :],
                               cols.level_f[:, phys, 2], np.nan),
             "waits": cols.level_i[:, phys, 0],
             "departures": np.where(own, cols.level_i[:, phys, 1], 0)}
    peers = None
    k_sh = sc.sharing_level
    if k_sh is not None:
        peers = np.zeros((len(ti), n_logical, K.TP_N), np.int64)
        peers[:, k_sh] = cols.track_p
    return {"names": names, "init": init, "zones": zones, "level": level,
            "reps_index": np.arange(start, stop, dtype=np.int64), "peers": peers}


def _joined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """outcome_arrays of consecutive chunks as one."""
    first = parts[0]
    return {"names": first["names"],
            "init": {k: np.concatenate([p["init"][k] for p in parts]) for k in first["init"]},
            "zones": np.concatenate([p["zones"] for p in parts]),
            "peers": (None if first["peers"] is None
                      else np.concatenate([p["peers"] for p in parts])),
            "level": {k: np.concatenate([p["level"][k] for p in parts])
                      for k in first["level"]},
            "reps_index": np.concatenate([p["reps_index"] for p in parts])}
