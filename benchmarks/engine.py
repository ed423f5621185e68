"""Engine benchmark: relaysim against a bare SimPy loop of the same model, measured together.

    python benchmarks/engine.py            # full run, two to four minutes
    python benchmarks/engine.py --quick    # smoke run, about ten seconds
    python benchmarks/engine.py --out results.json
    python benchmarks/engine.py --against-commit none   # skip section 6

What is measured (see benchmarks/README.md):

1. relaysim replications per second on a contention-free district (1 district office,
   20 principals, 3 coaches each, 8 classrooms each; exponential work, fumbly zones).
2. In the same run, interleaved with 1., a bare SimPy loop of the same model written here;
   the ratio relaysim/bare (target >= 0.5) and a check that both models agree.
3. relaysim.run with workers=1 against workers=2 (process pool): reps/s and speedup.
4. Scaling: seconds per replication for 5, 20, 80 and 320 schools, per runner.
5. Contention and dynamics: the same district carrying 6 concurrent initiatives (staggered
   launches, different priorities) with turnover, succession and tanks on, interleaved with
   the contention-free case: reps/s of both side by side.
7. The fast engine (numba) against the SimPy engine, side by side, one worker, identical
   records: the contention-free 20-school district (target >= 100x), scenarios/baseline.toml
   (>= 50x) and scenarios/overloaded.toml (>= 30x); its time per replication at 5, 20, 80
   and 320 schools; the first-compile time (a fresh numba cache) and the cached start-up.
6. The contention-free case on the pre-dynamics engine (git commit 9d5e697, or
   --against-commit SHA) against the current one, each in its own interpreter, in short
   alternating bursts of the same replications: the ratio current/pre (target >= 0.9).
   Skipped with a note without git or the commit.

Timings are throughput on a shared machine: every figure is the best (and the median) of
several interleaved repeats, and the machine's load average is recorded with them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import io
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import simpy

import relaysim
from relaysim.engines.keyed import STREAM_VERSION
from relaysim.engines.simpy_engine import Relay
from relaysim.files import atomic_write

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "engine.json"
QUICK_OUT = HERE / "results" / "engine-quick.json"  # so a smoke run never replaces a full one

# ------------------------------------------------------------------------ the district

SCHOOLS = 20  # principals under the district office (the benchmark district)
COACHES = 3  # coaches per principal
CLASSROOMS = 8  # classrooms per coach
WORK_MEAN = 5.0  # exponential work, every level
ZONE_MEAN = 2.0  # exponential exchange duration, every zone
FUMBLE = 0.1
RECOVER = 0.5  # rework 0, unlimited attempts
HORIZON = 180.0
THRESHOLD = 0.8  # relaysim's default success_threshold (share of classrooms)
SEED = 20240901


def district_dict(schools: int) -> dict[str, Any]:
    """The benchmark scenario as relaysim's scenario dict (the parsed TOML)."""
    work = {"dist": "exponential", "mean": WORK_MEAN}

    def zone(to: str) -> dict[str, Any]:
        return {"to": to, "duration": {"dist": "exponential", "mean": ZONE_MEAN},
                "fumble": FUMBLE, "recover": RECOVER,
                "rework": {"dist": "fixed", "value": 0}, "max_attempts": "unlimited"}

    return {
        "scenario": {"name": f"bench-{schools}", "horizon": HORIZON},
        "levels": [
            {"name": "district", "work": work},
            {"name": "principal", "count": schools, "work": work},
            {"name": "coach", "count": COACHES, "work": work},
            {"name": "classroom", "count": CLASSROOMS, "work": work},
        ],
        "zones": [zone("principal"), zone("coach"), zone("classroom")],
        "initiatives": [{"name": "initiative", "launch": 0, "deadline": HORIZON,
                         "success_threshold": THRESHOLD}],
    }


def district(schools: int) -> relaysim.Scenario:
    return relaysim.scenario_from_dict(district_dict(schools))


def level_sizes(schools: int) -> list[int]:
    return [1, schools, schools * COACHES, schools * COACHES * CLASSROOMS]


# the same district under contention and dynamics (section 5)
LAUNCHES = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)  # six initiatives, staggered by two weeks
PRIORITIES = (3, 1, 4, 0, 5, 2)  # all different, not in launch order: later ones overtake
TURNOVER = {"district": 0.15, "principal": 0.18}  # departures per runner per year
VACANCY_MEAN = 15.0  # exponential days a post stays empty (about three school weeks)
SUCCESSION = 0.3  # chance a baton held by a leaver is lost (succession planning)
TANK = {"drain": 0.02, "recovery": 0.05}  # principals and coaches: per day per baton / idle


def dynamics_dict(schools: int) -> dict[str, Any]:
    """The benchmark district carrying six initiatives, with turnover and tanks on.

    Same tree, work, zones and horizon as `district_dict` (a year: year_length 180 is the
    default, so the per-year rates apply once). Every runner has capacity 1, so the six
    initiatives queue for every runner (priority, then FIFO).
    """
    d = district_dict(schools)
    d["scenario"]["name"] = f"bench-dynamics-{schools}"
    for lv in d["levels"]:
        if lv["name"] in TURNOVER:
            lv.update(turnover=TURNOVER[lv["name"]], succession=SUCCESSION,
                      vacancy={"dist": "exponential", "mean": VACANCY_MEAN})
        if lv["name"] in ("principal", "coach"):
            lv["tank"] = dict(TANK)
    d["initiatives"] = [{"name": f"initiative-{k + 1}", "launch": t, "deadline": HORIZON,
                         "priority": pr, "success_threshold": THRESHOLD}
                        for k, (t, pr) in enumerate(zip(LAUNCHES, PRIORITIES, strict=True))]
    return d


# ------------------------------------------------------------------------ the bare loop


def bare_replication(schools: int, seed: int) -> tuple[int, int, int]:
    """One replication of the district, written the plain SimPy way.

    A simpy.Resource (capacity 1) per runner; one process per baton copy, which runs the
    exchange into its runner and then the runner's leg (one process per handoff+leg is the
    cheaper of the plain designs and schedules as many processes as relaysim, so the
    comparison does not flatter relaysim). Random numbers come from Python's `random`:
    for one scalar draw at a time it is several times faster than numpy's default_rng
    (about 0.05 us for random() and 0.25 us for expovariate() against 0.5-0.7 us for
    Generator.random()/exponential() on the machine this was written on), so this is the
    fastest straightforward choice for the bare loop.

    Returns (classrooms implemented by the horizon, exchange attempts, events scheduled).
    """
    rnd = random.Random(seed)
    expo, unif = rnd.expovariate, rnd.random
    work_rate, zone_rate = 1.0 / WORK_MEAN, 1.0 / ZONE_MEAN
    env = simpy.Environment()
    sizes = level_sizes(schools)
    fan = [1, schools, COACHES, CLASSROOMS]
    last = len(sizes) - 1
    runners = [[simpy.Resource(env, capacity=1) for _ in range(n)] for n in sizes]
    tally = [0, 0]  # classrooms implemented, exchange attempts

    def baton(k: int, i: int) -> Generator[simpy.Event, Any, None]:
        if k > 0:  # the exchange zone into runner (k, i)
            while True:
                yield env.timeout(expo(zone_rate))
                tally[1] += 1
                if unif() >= FUMBLE:
                    break  # received
                if unif() >= RECOVER:
                    return  # fumble not caught: dropped for (k, i) and its subtree
                # caught: retry at once (rework 0, unlimited attempts)
        with runners[k][i].request() as req:  # the runner's leg
            yield req
            yield env.timeout(expo(work_rate))
        if k == last:
            tally[0] += 1
            return
        c = fan[k + 1]
        for j in range(i * c, (i + 1) * c):
            env.process(baton(k + 1, j))

    env.process(baton(0, 0))
    env.run(until=HORIZON)
    return tally[0], tally[1], _events(env)


def _events(env: simpy.Environment) -> int:
    """Events the environment scheduled (SimPy numbers them from one counter)."""
    eid = getattr(env, "_eid", None)
    return next(eid) if eid is not None else -1


def bare_seed(seed: int, rep: int) -> int:
    return seed * 1_000_003 + rep


# ------------------------------------------------------------------------ timing helpers


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process and its children)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(fn: Callable[[], Any]) -> tuple[Timing, Any]:
    """Wall and CPU time of fn(). Pool workers' CPU time counts once they have exited
    (relaysim.run shuts its pool down before returning)."""
    c0, t0 = _cpu(), time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0, _cpu() - c0), out


def _summary(times: list[Timing], reps: int) -> dict[str, Any]:
    """reps/s from the best and the median repeat (best = least disturbed by other load).

    `cores_used` (CPU seconds / wall seconds) shows how much of the machine a repeat got:
    about 1 for a serial run on a quiet machine, about 2 for two busy workers.
    """
    wall = [w for w, _ in times]
    cpu = [c for _, c in times]
    best, med = min(wall), statistics.median(wall)
    cores = [c / w if w > 0 else math.nan for w, c in times]
    return {"reps": reps, "repeats": len(times), "seconds": [round(t, 5) for t in wall],
            "cpu_seconds": [round(c, 3) for c in cpu],
            "cores_used": [round(x, 3) for x in cores],
            "cores_used_median": statistics.median(cores),
            "reps_per_s_best": reps / best, "reps_per_s_median": reps / med,
            "reps_per_cpu_s_best": reps / min(cpu) if min(cpu) > 0 else None,
            "s_per_rep_best": best / reps, "s_per_rep_median": med / reps}


def _ratios(a: dict[str, Any], b: dict[str, Any], pair_ratios: list[float]
            ) -> dict[str, Any]:
    """a/b speed from two _summary()s: best, median, and the median of adjacent pairs."""
    return {"ratio_best": a["reps_per_s_best"] / b["reps_per_s_best"],
            "ratio_median": a["reps_per_s_median"] / b["reps_per_s_median"],
            "ratio_paired_median": statistics.median(pair_ratios),
            "ratio_paired": pair_ratios}


def _repeats(most: int, budget: float, least: int = 2) -> Iterator[int]:
    """Repeat numbers: at least `least` (if `most` allows), at most `most`, and no new
    repeat once `budget` seconds have gone (keeps a full run near its time on a busy box)."""
    t0 = time.perf_counter()
    for r in range(most):
        if r >= least and time.perf_counter() - t0 > budget:
            return
        yield r


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not Unix
        return None


# ------------------------------------------------------------------------ 7: fast engine

FAST_TARGETS = {"contention_free_20": 100.0, "baseline": 50.0, "overloaded": 30.0}


def _fast_cases() -> dict[str, relaysim.Scenario]:
    root = HERE.parent / "scenarios"
    return {"contention_free_20": district(SCHOOLS),
            "baseline": relaysim.load_scenario(root / "baseline.toml"),
            "overloaded": relaysim.load_scenario(root / "overloaded.toml")}


def _bare(seed: int, rep0: int, rep1: int) -> np.ndarray:
    """The district of SCHOOLS schools on benchmarks/bare_compiled.py's loop: classrooms
    reached in each replication."""
    import bare_compiled

    from relaysim.engines.keyed import seed_key
    return bare_compiled.reached(seed_key(seed), rep0, rep1, [1, SCHOOLS, COACHES, CLASSROOMS],
                                 WORK_MEAN, ZONE_MEAN, FUMBLE, RECOVER, HORIZON)


def _reached(recs: list[Any]) -> np.ndarray:
    """Classrooms reached (implemented or below the fidelity floor) per replication."""
    return np.array([t.implemented_total + t.below_fidelity for rec in recs
                     for t in rec.initiatives])


def _startup(cache_dir: str) -> float:
    """Seconds for a fresh interpreter to get the fast engine ready (compile or load)."""
    code = ("import time; t0 = time.perf_counter()\n"
            "from relaysim.engines import fast; fast.kernel()\n"
            "print(time.perf_counter() - t0)")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(HERE.parent))
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    return float(got.stdout.strip().splitlines()[-1])


def bench_fast(plan: dict[str, Any], repeats: int, seed: int, cold: bool,
               budget: float = math.inf) -> dict[str, Any]:
    """Fast vs SimPy engine: interleaved repeats of the same replications on each case."""
    from relaysim.engines import fast, simpy_engine

    fast.kernel()
    # the objects earlier sections left alive would make every full garbage collection in a
    # timed SimPy run slow (a fresh `relaysim run` has few): the collector skips them here
    gc.collect()
    gc.freeze()
    out: dict[str, Any] = {"cases": {}, "scaling": []}
    for name, sc in _fast_cases().items():
        n_s, n_f = plan["fast_simpy_reps"], plan["fast_reps"]
        fast.simulate_chunk(sc, seed, 0, 2)  # parameters built, caches warm
        times: dict[str, list[Timing]] = {"simpy": [], "fast": [], "fast_columns": []}
        whos = ["simpy", "fast", "fast_columns"]
        if name == "contention_free_20":  # the floor: the bare compiled loop
            times["bare"] = []
            whos.append("bare")
            bare_reached = _bare(seed, 0, n_f)  # compiles it, and checks it is the same model
        same = True
        for r in _repeats(repeats, budget / 3, least=2):
            for who in (whos if r % 2 == 0 else whos[::-1]):
                if who == "bare":
                    dt, _ = _timed(lambda n=n_f: _bare(seed, 0, n))
                elif who == "simpy":
                    dt, recs = _timed(lambda sc=sc, n=n_s: [simpy_engine.simulate(sc, seed, i)
                                                            for i in range(n)])
                    ref = recs
                elif who == "fast":
                    dt, frecs = _timed(lambda sc=sc, n=n_f: fast.simulate_chunk(sc, seed, 0, n))
                else:
                    dt, _ = _timed(lambda sc=sc, n=n_f: fast.run_columns(sc, seed, 0, n))
                times[who].append(dt)
            same = same and all(a.rep == b.rep and a.initiatives[0].implemented
                                == b.initiatives[0].implemented
                                for a, b in zip(ref, frecs, strict=False))
        s = {k: _summary(v, n_s if k == "simpy" else n_f) for k, v in times.items()}
        ratio = s["fast"]["reps_per_s_best"] / s["simpy"]["reps_per_s_best"]
        if "bare" in s:
            s["bare_ratio_best"] = s["bare"]["reps_per_s_best"] / s["simpy"]["reps_per_s_best"]
            s["bare_ratio_median"] = (s["bare"]["reps_per_s_median"]
                                      / s["simpy"]["reps_per_s_median"])
            s["bare_same_reached"] = bool(np.array_equal(bare_reached, _reached(frecs)))
        out["cases"][name] = {
            **s, "ratio_best": ratio,
            "ratio_median": s["fast"]["reps_per_s_median"] / s["simpy"]["reps_per_s_median"],
            "ratio_cpu_best": (s["fast"]["reps_per_cpu_s_best"] / s["simpy"]["reps_per_cpu_s_best"]
                               if s["fast"]["reps_per_cpu_s_best"]
                               and s["simpy"]["reps_per_cpu_s_best"] else None),
            "ratio_columns_best": (s["fast_columns"]["reps_per_s_best"]
                                   / s["simpy"]["reps_per_s_best"]),
            "target": FAST_TARGETS[name], "met": ratio >= FAST_TARGETS[name],
            "same_outcomes": same}
    for schools, (n_f, n_s) in plan["fast_scaling_reps"].items():
        sc = district(schools)
        fast.simulate_chunk(sc, seed, 0, 1)
        simpy_engine.simulate(sc, seed, 0)  # warm (first-use costs out of its one repeat)
        tf = min(_timed(lambda sc=sc, n=n_f: fast.simulate_chunk(sc, seed, 0, n))[0][0]
                 for _ in range(2)) / n_f
        ts = min(_timed(lambda sc=sc, n=n_s: [simpy_engine.simulate(sc, seed, i)
                                              for i in range(n)])[0][0]
                 for _ in range(2)) / n_s
        runners = sum(level_sizes(schools))
        out["scaling"].append({"schools": schools, "runners": runners, "fast_s_per_rep": tf,
                               "fast_us_per_runner": tf / runners * 1e6,
                               "simpy_s_per_rep": ts, "ratio": ts / tf})
    out["startup"] = {"cached_s": None, "first_compile_s": None}
    with tempfile.TemporaryDirectory() as d:
        if cold:
            out["startup"]["first_compile_s"] = _startup(d)
            out["startup"]["cached_s"] = _startup(d)
    if not cold:  # the project's own cache, compiled above
        out["startup"]["cached_s"] = _startup(os.environ.get("NUMBA_CACHE_DIR", ""))
    gc.unfreeze()
    return out


def _render_fast(f: dict[str, Any]) -> list[str]:
    lines = ["7. Fast engine (numba) vs SimPy engine, one worker, same records",
             f"  {'case':<22}{'SimPy ms/rep':>13}{'fast ms/rep':>12}{'ratio best':>11}"
             f"{'median':>8}{'per CPU s':>10}{'columns':>9}{'target':>8}"]
    for name, c in f["cases"].items():
        cpu = f"{c['ratio_cpu_best']:>9.0f}x" if c["ratio_cpu_best"] else f"{'-':>10}"
        lines.append(f"  {name:<22}{c['simpy']['s_per_rep_best'] * 1e3:>13.2f}"
                     f"{c['fast']['s_per_rep_best'] * 1e3:>12.3f}{c['ratio_best']:>10.0f}x"
                     f"{c['ratio_median']:>7.0f}x{cpu}"
                     f"{c['ratio_columns_best']:>8.0f}x{c['target']:>7.0f}x"
                     + ("" if c["met"] else "  NOT met"))
        if "bare" in c:
            share = c["bare"]["s_per_rep_best"] / c["fast"]["s_per_rep_best"]
            lines.append(f"    floor, the issue's bare compiled loop (a heap and keyed draws, "
                         f"nothing else; same classrooms reached: {c['bare_same_reached']}):")
            lines.append(f"    {c['bare']['s_per_rep_best'] * 1e3:.3f} ms/rep, "
                         f"{c['bare_ratio_best']:.0f}x SimPy best, {c['bare_ratio_median']:.0f}x"
                         f" median; the fast engine runs at {share:.0%} of its speed")
    lines.append(f"  {'schools':>8}{'runners':>9}{'fast ms/rep':>13}{'us/runner':>11}"
                 f"{'SimPy ms/rep':>14}{'ratio':>8}")
    for r in f["scaling"]:
        lines.append(f"  {r['schools']:>8}{r['runners']:>9}{r['fast_s_per_rep'] * 1e3:>13.3f}"
                     f"{r['fast_us_per_runner']:>11.2f}{r['simpy_s_per_rep'] * 1e3:>14.2f}"
                     f"{r['ratio']:>7.0f}x")
    su = f["startup"]
    first = "not measured (--quick)" if su["first_compile_s"] is None else \
        f"{su['first_compile_s']:.1f} s"
    lines.append(f"  start-up: first compile {first}, cached {su['cached_s']:.2f} s")
    w = f.get("workers")
    if w:
        lines.append(f"  relaysim.run on the fast engine, {w['reps']} reps, side by side: "
                     f"workers=1 {w['workers_1']['reps_per_s_best']:.0f} reps/s, workers=2 "
                     f"{w['workers_2']['reps_per_s_best']:.0f} reps/s (cores used "
                     f"{w['workers_2']['cores_used_median']:.2f}): speedup "
                     f"{w['speedup_best']:.2f}x best, {w['speedup_median']:.2f}x median "
                     f"(target 1.8x); identical results: {w['identical_results']}")
    return lines


# ------------------------------------------------------------------------ 1 + 2: engine


def _mean_se(xs: list[float]) -> tuple[float, float]:
    m = statistics.fmean(xs)
    se = statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else math.inf
    return m, se


def _compare(name: str, a: list[float], b: list[float], max_z: float) -> dict[str, Any]:
    ma, sa = _mean_se(a)
    mb, sb = _mean_se(b)
    se = math.hypot(sa, sb)
    z = (ma - mb) / se if se > 0 else (0.0 if ma == mb else math.inf)
    return {"quantity": name, "relaysim_mean": ma, "relaysim_se": sa, "bare_mean": mb,
            "bare_se": sb, "z": z, "passed": abs(z) <= max_z}


def bench_engine(reps: int, repeats: int, seed: int, budget: float = math.inf
                 ) -> dict[str, Any]:
    """relaysim vs the bare loop on the benchmark district, interleaved (A B B A ...)."""
    sc = district(SCHOOLS)
    n_class = sc.n_classrooms
    need = math.ceil(THRESHOLD * n_class - 1e-9)

    def run_relaysim() -> list[tuple[int, int]]:
        res = relaysim.run(sc, reps=reps, seed=seed, workers=1, engine="simpy")
        return [(o.implemented, sum(z.attempts for z in o.zones))
                for r in res.replications for o in r.initiatives]

    def run_bare() -> list[tuple[int, int]]:
        return [bare_replication(SCHOOLS, bare_seed(seed, i))[:2] for i in range(reps)]

    times: dict[str, list[Timing]] = {"relaysim": [], "bare": []}
    outputs: dict[str, list[tuple[int, int]]] = {}
    pair_ratios = []
    for r in _repeats(repeats, budget, least=3):
        order = ("bare", "relaysim") if r % 2 == 0 else ("relaysim", "bare")
        got = {}
        for who in order:
            dt, out = _timed(run_bare if who == "bare" else run_relaysim)
            times[who].append(dt)
            got[who] = dt[0]
            outputs.setdefault(who, out)  # same seeds every repeat: same output
        pair_ratios.append(got["bare"] / got["relaysim"])

    rs, bare = _summary(times["relaysim"], reps), _summary(times["bare"], reps)
    # the models must agree: same tree, distributions and fumble/recover logic
    max_z = 4.0
    checks = [
        _compare("classrooms implemented per rep",
                 [x[0] for x in outputs["relaysim"]], [x[0] for x in outputs["bare"]], max_z),
        _compare("exchange attempts per rep",
                 [x[1] for x in outputs["relaysim"]], [x[1] for x in outputs["bare"]], max_z),
        _compare(f"completed (>= {need} of {n_class} classrooms)",
                 [float(x[0] >= need) for x in outputs["relaysim"]],
                 [float(x[0] >= need) for x in outputs["bare"]], max_z),
    ]
    # exact expectation: every exchange succeeds with p = (1-f)/(1-f*r), three zones deep,
    # and (almost) every baton is through all legs well before the horizon
    p_exchange = (1 - FUMBLE) / (1 - FUMBLE * RECOVER)
    expected = n_class * p_exchange**3
    return {
        "scenario": district_dict(SCHOOLS),
        "runners": sum(level_sizes(SCHOOLS)),
        "classrooms": n_class,
        "relaysim": rs,
        "bare": bare,
        **_ratios(rs, bare, pair_ratios),
        # per CPU second: less sensitive to how much of a core each repeat was given
        "ratio_cpu_best": rs["reps_per_cpu_s_best"] / bare["reps_per_cpu_s_best"],
        "target_ratio": 0.5,
        "events_per_rep": _event_counts(sc, seed, n=min(5, reps)),
        "sanity": {
            "max_abs_z": max_z,
            "checks": checks,
            "expected_classrooms_analytic": expected,
            "passed": all(c["passed"] for c in checks),
        },
    }


def _event_counts(sc: relaysim.Scenario, seed: int, n: int = 5) -> dict[str, float]:
    """Mean SimPy events scheduled per replication (untimed; explains the ratio)."""
    bare = [bare_replication(SCHOOLS, bare_seed(seed, i))[2] for i in range(n)]
    return {"relaysim": _relay_events(sc, seed, n), "bare": statistics.fmean(bare), "reps": n}


# ------------------------------------------------------------------------ 3: workers


def bench_workers(reps: int, repeats: int, seed: int, budget: float = math.inf,
                  engine: str = "simpy") -> dict[str, Any]:
    """relaysim.run with workers=1 and workers=2 (a fresh process pool per call), on
    `engine` (default chunk size: the fast engine's chunks are sized from its cost)."""
    sc = district(SCHOOLS)
    times: dict[int, list[Timing]] = {1: [], 2: []}
    texts: dict[int, str] = {}
    for r in _repeats(repeats, budget):
        for w in ((1, 2) if r % 2 == 0 else (2, 1)):
            dt, res = _timed(lambda w=w: relaysim.run(sc, reps=reps, seed=seed, workers=w,
                                                      engine=engine))
            times[w].append(dt)
            texts.setdefault(w, res.to_json())
    one, two = _summary(times[1], reps), _summary(times[2], reps)
    return {
        "reps": reps,
        "engine": engine,
        "workers_1": one,
        "workers_2": two,
        "speedup_best": two["reps_per_s_best"] / one["reps_per_s_best"],
        "speedup_median": two["reps_per_s_median"] / one["reps_per_s_median"],
        "identical_results": texts[1] == texts[2],
        "cpu_count": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
        "note": "pool start-up included. On a 2-core machine with other load the speedup is "
                "bounded by the cores left free, not by relaysim: cores_used shows how much "
                "CPU the run actually got"
                + (", and Linux autogroup scheduling (on here) shares the CPU between login "
                   "sessions, so a second worker gains little while other sessions are busy"
                   if _autogroup() else ""),
    }


def _autogroup() -> bool | None:
    """Whether Linux shares CPU time between sessions rather than between processes."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ------------------------------------------------------------------------ 4: scaling


def bench_scaling(plan: dict[int, int], repeats: int, seed: int, budget: float = math.inf
                  ) -> list[dict[str, Any]]:
    """Seconds per replication against district size (relaysim and the bare loop)."""
    rows = []
    for schools, reps in plan.items():
        sc = district(schools)
        runners = sum(level_sizes(schools))
        times: dict[str, list[Timing]] = {"relaysim": [], "bare": []}
        for r in _repeats(repeats, budget / len(plan)):
            order = ("bare", "relaysim") if r % 2 == 0 else ("relaysim", "bare")
            for who in order:
                if who == "bare":
                    dt, _ = _timed(lambda s=schools, n=reps: [
                        bare_replication(s, bare_seed(seed, i)) for i in range(n)])
                else:
                    dt, _ = _timed(lambda s=sc, n=reps: relaysim.run(
                        s, reps=n, seed=seed, engine="simpy", workers=1))
                times[who].append(dt)
        rs, bare = _summary(times["relaysim"], reps), _summary(times["bare"], reps)
        rows.append({
            "schools": schools,
            "runners": runners,
            "classrooms": level_sizes(schools)[-1],
            "reps": reps,
            "repeats": len(times["bare"]),
            "relaysim": rs,
            "bare": bare,
            "relaysim_s_per_rep": rs["s_per_rep_best"],
            "relaysim_us_per_runner": rs["s_per_rep_best"] / runners * 1e6,
            "bare_s_per_rep": bare["s_per_rep_best"],
            "bare_us_per_runner": bare["s_per_rep_best"] / runners * 1e6,
            "ratio": bare["s_per_rep_best"] / rs["s_per_rep_best"],
        })
    return rows


# ------------------------------------------------------------------------ 5: dynamics


def bench_dynamics(reps_dyn: int, reps_free: int, repeats: int, seed: int,
                   budget: float = math.inf) -> dict[str, Any]:
    """Six initiatives with turnover and tanks against the contention-free district,
    both through relaysim.run (workers=1), interleaved (A B B A ...)."""
    dyn, free = relaysim.scenario_from_dict(dynamics_dict(SCHOOLS)), district(SCHOOLS)
    plan = {"dynamics": (dyn, reps_dyn), "contention_free": (free, reps_free)}
    times: dict[str, list[Timing]] = {k: [] for k in plan}
    first: dict[str, relaysim.RunResult] = {}
    pair_ratios = []
    for r in _repeats(repeats, budget):
        order = tuple(plan) if r % 2 == 0 else tuple(reversed(plan))
        got = {}
        for who in order:
            sc, n = plan[who]
            dt, res = _timed(lambda sc=sc, n=n: relaysim.run(sc, reps=n, seed=seed, workers=1,
                                                                    engine="simpy"))
            times[who].append(dt)
            got[who] = n / dt[0]
            first.setdefault(who, res)
        pair_ratios.append(got["dynamics"] / got["contention_free"])
    d, f = _summary(times["dynamics"], reps_dyn), _summary(times["contention_free"], reps_free)
    n_ini = len(dyn.initiatives)
    return {
        "scenario": dynamics_dict(SCHOOLS),
        "initiatives": n_ini,
        "dynamics": d,
        "contention_free": f,
        **_ratios(d, f, pair_ratios),
        # six batons go down the tree per replication instead of one
        "initiative_reps_per_s_best": d["reps_per_s_best"] * n_ini,
        "per_initiative_ratio_best": d["reps_per_s_best"] * n_ini / f["reps_per_s_best"],
        "events_per_rep": {
            "dynamics": _relay_events(dyn, seed, n=min(3, reps_dyn)),
            "contention_free": _relay_events(free, seed, n=min(3, reps_free)),
        },
        "outcomes": _dynamics_outcomes(first["dynamics"]),
    }


def _relay_events(sc: relaysim.Scenario, seed: int, n: int) -> float:
    counts = []
    for i in range(n):
        relay = Relay(sc, seed, i)
        relay.run()
        counts.append(_events(relay.env))
    return statistics.fmean(counts)


def _dynamics_outcomes(res: relaysim.RunResult) -> dict[str, Any]:
    """Means per replication, to show the dynamics are really exercised (not asserted)."""
    reps = res.replications
    n_lv = len(reps[0].levels)
    per_ini: dict[str, list[Any]] = {}
    for rep in reps:
        for o in rep.initiatives:
            per_ini.setdefault(o.name, []).append(o)
    return {
        "reps": len(reps),
        "departures_per_rep": [statistics.fmean(r.levels[k].departures for r in reps)
                               for k in range(n_lv)],
        "mean_queue_wait_days": [
            sum(r.levels[k].wait_total for r in reps) / max(1, sum(r.levels[k].waits for r in reps))
            for k in range(n_lv)],
        "initiatives": {
            name: {"completed_share": statistics.fmean(float(o.completed) for o in os_),
                   "implemented": statistics.fmean(o.implemented for o in os_),
                   "dropped": statistics.fmean(o.dropped for o in os_),
                   "lost_to_turnover": statistics.fmean(o.lost for o in os_)}
            for name, os_ in per_ini.items()},
    }


# ------------------------------------------------------------------------ 6: pre-dynamics

ROOT = HERE.parent  # the working tree whose relaysim is "current"
PRE_DYNAMICS = "9d5e697"  # last commit before dynamics (d34bf86) landed

# One engine in its own interpreter, PYTHONPATH pointing at its relaysim tree. After a
# warm-up it reads "start stop" lines and times run_chunk (the engine, no summary) on
# those replications, answering one JSON line each, so the parent can alternate short
# bursts between two engines that both stay warm.
_CHILD = r"""
import json, sys, time
args = json.loads(sys.argv[1])
import importlib, os
import relaysim
# the tree's own home of run_chunk: relaysim.study.execute since the restructure, before
# it relaysim.run (never a module of another tree: an editable install's finder would
# supply one the old tree lacks)
here = os.path.dirname(relaysim.__file__)
name = ("relaysim.study.execute" if os.path.exists(os.path.join(here, "study", "execute.py"))
        else "relaysim.run")
run_chunk = importlib.import_module(name).run_chunk
sc = relaysim.scenario_from_dict(args["scenario"])
seed = args["seed"]
if args["warmup"]:
    run_chunk(sc, seed + 1, 0, args["warmup"])
print(json.dumps({"file": relaysim.__file__, "version": relaysim.__version__}), flush=True)
for line in sys.stdin:
    a, b = map(int, line.split())
    c0, t0 = time.process_time(), time.perf_counter()
    reps = run_chunk(sc, seed, a, b)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = [[o.implemented, sum(z.attempts for z in o.zones)]
           for r in reps for o in r.initiatives]
    print(json.dumps({"wall": wall, "cpu": cpu, "outputs": out}), flush=True)
"""


class _ChildFailed(RuntimeError):
    pass


def _git(*args: str, binary: bool = False) -> subprocess.CompletedProcess[Any]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                          text=not binary, timeout=60, check=True)


def export_commit(commit: str, dest: Path) -> tuple[dict[str, str] | None, str | None]:
    """Extract `commit`'s tree into dest (git archive). (info, None) or (None, why not)."""
    try:
        sha = _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").stdout.strip()
        subject = _git("log", "-1", "--format=%h %s", sha).stdout.strip()
        tar = _git("archive", "--format=tar", sha, binary=True).stdout
    except FileNotFoundError:
        return None, "git is not installed"
    except subprocess.CalledProcessError as e:
        err = (e.stderr.decode() if isinstance(e.stderr, bytes) else e.stderr or "").strip()
        return None, (f"commit {commit!r} is not available in {ROOT} (not a git checkout, "
                      f"e.g. a tarball, or the commit is missing){': ' + err if err else ''}")
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"git failed: {e}"
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(dest, filter="data")
    if not (dest / "relaysim" / "__init__.py").exists():
        return None, f"commit {sha[:9]} has no relaysim package"
    return {"sha": sha, "subject": subject}, None


class _Engine:
    """A persistent child interpreter timing one relaysim tree's engine on request."""

    def __init__(self, root: Path, scenario: dict[str, Any], seed: int, warmup: int,
                 cwd: Path) -> None:
        self.root = root
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.err = tempfile.TemporaryFile(mode="w+")
        # -P: do not put the working directory first on sys.path (3.11+); cwd is neutral
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-c", _CHILD,
             json.dumps({"scenario": scenario, "seed": seed, "warmup": warmup})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
            env=env, cwd=cwd)
        hello = self._reply()
        if not Path(hello["file"]).resolve().is_relative_to(root.resolve()):
            self.close()
            raise _ChildFailed(f"imported relaysim from {hello['file']}, not from {root}")
        self.version = hello["version"]

    def _reply(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            self.err.seek(0)
            raise _ChildFailed(f"{self.root}: exit {self.proc.returncode}: "
                               f"{self.err.read().strip()[-800:]}")
        return json.loads(line)

    def run(self, start: int, stop: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{start} {stop}\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.SubprocessError):
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def bench_against(commit: str | None, bursts: int, burst_reps: int, seed: int, warmup: int,
                  budget: float = math.inf) -> dict[str, Any]:
    """The contention-free district on the engine of `commit` and on the current one.

    Each engine runs in its own persistent interpreter (PYTHONPATH set to its tree); the
    parent alternates short bursts of the same replications between them (A B B A ...),
    only one running at a time, so both see the same machine load within a fraction of a
    second, and both stay warm. Per burst pair the ratio of times is a paired comparison
    on identical work; its median is the headline figure.
    """
    if commit is None:
        return {"skipped": True, "note": "skipped (--against-commit none)"}
    with tempfile.TemporaryDirectory(prefix="relaysim-bench-") as tmp:
        old = Path(tmp) / "pre"
        info, why = export_commit(commit, old)
        if info is None:
            return {"commit": commit, "skipped": True, "note": f"skipped: {why}"}
        scenario = district_dict(SCHOOLS)
        times: dict[str, list[Timing]] = {"pre": [], "current": []}
        pair_ratios: list[float] = []
        identical = True
        engines: dict[str, _Engine] = {}
        try:
            for who, root in (("pre", old), ("current", ROOT)):
                engines[who] = _Engine(root, scenario, seed, warmup, Path(tmp))
            for r in _repeats(bursts, budget, least=min(bursts, 6)):
                start = r * burst_reps
                order = ("pre", "current") if r % 2 == 0 else ("current", "pre")
                got = {who: engines[who].run(start, start + burst_reps) for who in order}
                for who, res in got.items():
                    times[who].append((res["wall"], res["cpu"]))
                identical &= got["pre"]["outputs"] == got["current"]["outputs"]
                pair_ratios.append(got["pre"]["wall"] / got["current"]["wall"])
            versions = {who: e.version for who, e in engines.items()}
        except (_ChildFailed, subprocess.SubprocessError, OSError, ValueError) as e:
            return {"commit": commit, **info, "skipped": True,
                    "note": f"skipped: a timing subprocess failed ({e})"}
        finally:
            for e in engines.values():
                e.close()
    pre, cur = _summary(times["pre"], burst_reps), _summary(times["current"], burst_reps)
    wall = {k: sum(w for w, _ in v) for k, v in times.items()}
    cpu = {k: sum(c for _, c in v) for k, v in times.items()}
    q1, _, q3 = statistics.quantiles(pair_ratios, n=4) if len(pair_ratios) > 1 else (
        [pair_ratios[0]] * 3)
    return {
        "skipped": False,
        "commit": commit,
        **info,
        "bursts": len(pair_ratios),
        "burst_reps": burst_reps,
        "reps_each": len(pair_ratios) * burst_reps,
        "current": cur,
        "pre": pre,
        "versions": versions,
        "reps_per_s_total": {k: len(pair_ratios) * burst_reps / w for k, w in wall.items()},
        **_ratios(cur, pre, pair_ratios),
        "ratio_paired_iqr": [q1, q3],
        "ratio_total": wall["pre"] / wall["current"],
        "ratio_cpu_total": cpu["pre"] / cpu["current"],
        "target_ratio": 0.9,
        "identical_results": identical,
        "warmup_reps": warmup,
        "note": "each engine in its own interpreter (PYTHONPATH set to its tree), warmed up; "
                "bursts of the same replications alternate between them (A B B A ...); "
                "only run_chunk is timed",
    }


# ------------------------------------------------------------------------ machine, output


def machine_info() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "simpy": simpy.__version__,
        "numpy": np.__version__,
        "relaysim": relaysim.__version__,
        "cpu_count": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
        "sched_autogroup": _autogroup(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "git_commit": _git_commit(),
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _l1(load: list[float] | None) -> str:
    return "?" if not load else f"{load[0]:.2f}"


def render(doc: dict[str, Any]) -> str:
    """The results as a readable text table."""
    m, e, w = doc["machine"], doc["engine"], doc["workers"]
    lines = [
        f"relaysim {m['relaysim']} engine benchmark ({doc['mode']}), {doc['timestamp']}",
        f"python {m['python']}, simpy {m['simpy']}, numpy {m['numpy']}, "
        f"{m['usable_cpus']}/{m['cpu_count']} cpus, {m['platform']}",
        f"1-minute load average: start {_l1(doc['load_start'])}, "
        f"after 1-2 {_l1(doc['load_after_engine'])}, after 3 {_l1(doc['load_after_workers'])}, "
        f"after 4 {_l1(doc['load_after_scaling'])}, after 5 {_l1(doc['load_after_dynamics'])}, "
        f"end {_l1(doc['load_end'])} (machine has {m['cpu_count']} cpus)",
        "reps/s: best and median of interleaved repeats; cores used: median CPU s / wall s",
        "",
        f"1-2. District of {SCHOOLS} schools x {COACHES} coaches x {CLASSROOMS} classrooms "
        f"({e['runners']} runners), {e['relaysim']['reps']} reps x {e['relaysim']['repeats']} "
        "repeats",
        f"  {'':<24}{'reps/s best':>12}{'reps/s median':>15}{'ms/rep best':>13}"
        f"{'events/rep':>12}{'cores used':>12}",
    ]
    for who, label in (("bare", "bare SimPy loop"), ("relaysim", "relaysim (workers=1)")):
        s = e[who]
        lines.append(f"  {label:<24}{s['reps_per_s_best']:>12.1f}{s['reps_per_s_median']:>15.1f}"
                     f"{s['s_per_rep_best'] * 1e3:>13.2f}{e['events_per_rep'][who]:>12.0f}"
                     f"{s['cores_used_median']:>12.2f}")
    verdict = "met" if e["ratio_best"] >= e["target_ratio"] else "NOT met"
    lines += [
        f"  ratio relaysim/bare: {e['ratio_best']:.2f} best, {e['ratio_median']:.2f} median, "
        f"{e['ratio_paired_median']:.2f} median of adjacent pairs, "
        f"{e['ratio_cpu_best']:.2f} per CPU second (target >= {e['target_ratio']}: {verdict})",
        "",
        f"  Sanity check, same model? ({'PASSED' if e['sanity']['passed'] else 'FAILED'}, "
        f"|z| <= {e['sanity']['max_abs_z']:g}, {e['relaysim']['reps']} reps each)",
        f"  {'':<40}{'relaysim':>18}{'bare':>18}{'z':>7}",
    ]
    for c in e["sanity"]["checks"]:
        a = f"{c['relaysim_mean']:.3f} ± {c['relaysim_se']:.3f}"
        b = f"{c['bare_mean']:.3f} ± {c['bare_se']:.3f}"
        lines.append(f"  {c['quantity']:<40}{a:>18}{b:>18}{c['z']:>7.2f}")
    lines += [
        f"  (analytic mean classrooms implemented: "
        f"{e['sanity']['expected_classrooms_analytic']:.1f}; ± is one SE)",
        "",
        f"3. relaysim.run, process pool, {w['reps']} reps x {w['workers_1']['repeats']} repeats",
        f"  {'':<24}{'reps/s best':>12}{'reps/s median':>15}{'cores used':>12}",
    ]
    for k, label in (("workers_1", "workers=1"), ("workers_2", "workers=2")):
        s = w[k]
        lines.append(f"  {label:<24}{s['reps_per_s_best']:>12.1f}{s['reps_per_s_median']:>15.1f}"
                     f"{s['cores_used_median']:>12.2f}")
    lines += [
        f"  speedup {w['speedup_best']:.2f}x best, {w['speedup_median']:.2f}x median; "
        f"identical results: {w['identical_results']}",
        f"  note: {w['note']} (usable cpus: {w['usable_cpus']}).",
        "",
        "4. Scaling (best repeat)",
        f"  {'schools':>8}{'runners':>9}{'reps':>6}{'relaysim s/rep':>16}{'us/runner':>11}"
        f"{'bare s/rep':>12}{'us/runner':>11}{'ratio':>7}",
    ]
    for r in doc["scaling"]:
        lines.append(f"  {r['schools']:>8}{r['runners']:>9}{r['reps']:>6}"
                     f"{r['relaysim_s_per_rep']:>16.4f}{r['relaysim_us_per_runner']:>11.1f}"
                     f"{r['bare_s_per_rep']:>12.4f}{r['bare_us_per_runner']:>11.1f}"
                     f"{r['ratio']:>7.2f}")
    lines.append("  (ratio = relaysim speed / bare speed)")
    lines += ["", *_render_dynamics(doc["dynamics"]), "", *_render_against(doc["against"])]
    if "fast" in doc:
        lines += ["", *_render_fast(doc["fast"])]
    return "\n".join(lines)


def _render_dynamics(d: dict[str, Any]) -> list[str]:
    dy, cf = d["dynamics"], d["contention_free"]
    out = d["outcomes"]
    lines = [
        f"5. Contention and dynamics: the same district, {d['initiatives']} initiatives "
        f"(launches {', '.join(f'{x:g}' for x in LAUNCHES)}; priorities "
        f"{', '.join(map(str, PRIORITIES))}),",
        f"   turnover {', '.join(f'{k} {v}/yr' for k, v in TURNOVER.items())}, vacancy "
        f"exp(mean {VACANCY_MEAN:g} d), succession {SUCCESSION}, tanks on principals and "
        f"coaches (drain {TANK['drain']}, recovery {TANK['recovery']})",
        f"  {'':<30}{'reps':>6}{'repeats':>8}{'reps/s best':>12}{'reps/s median':>15}"
        f"{'events/rep':>12}{'cores used':>12}",
    ]
    for key, label, s in (("contention_free", "contention-free (1 initiative)", cf),
                          ("dynamics", f"{d['initiatives']} initiatives + dynamics", dy)):
        lines.append(f"  {label:<30}{s['reps']:>6}{s['repeats']:>8}{s['reps_per_s_best']:>12.1f}"
                     f"{s['reps_per_s_median']:>15.1f}{d['events_per_rep'][key]:>12.0f}"
                     f"{s['cores_used_median']:>12.2f}")
    lines += [
        f"  ratio dynamics/contention-free: {d['ratio_best']:.3f} best, "
        f"{d['ratio_median']:.3f} median, {d['ratio_paired_median']:.3f} median of pairs; "
        f"per initiative carried: {d['per_initiative_ratio_best']:.2f}",
        f"  (per rep, {out['reps']} reps: departures by level "
        f"{', '.join(f'{x:.2f}' for x in out['departures_per_rep'])}; mean queue wait (days) "
        f"{', '.join(f'{x:.2f}' for x in out['mean_queue_wait_days'])};",
        "   completed share by initiative "
        + ", ".join(f"{v['completed_share']:.2f}" for v in out["initiatives"].values())
        + "; classrooms lost to turnover "
        + ", ".join(f"{v['lost_to_turnover']:.1f}" for v in out["initiatives"].values()) + ")",
    ]
    return lines


def _render_against(a: dict[str, Any]) -> list[str]:
    if a.get("skipped"):
        return [f"6. Pre-dynamics engine: {a['note']}"]
    pre, cur = a["pre"], a["current"]
    verdict = "met" if a["ratio_paired_median"] >= a["target_ratio"] else "NOT met"
    lines = [
        f"6. Contention-free district, pre-dynamics engine ({a['subject']}) vs current:",
        f"   {a['bursts']} alternating bursts of {a['burst_reps']} reps "
        f"({a['reps_each']} reps each), each engine in its own warm interpreter",
        f"  {'':<16}{'reps/s total':>13}{'best burst':>12}{'median burst':>14}"
        f"{'reps/CPU s':>12}{'cores used':>12}",
    ]
    for key, label, s in (("pre", "pre-dynamics", pre), ("current", "current", cur)):
        lines.append(f"  {label:<16}{a['reps_per_s_total'][key]:>13.1f}"
                     f"{s['reps_per_s_best']:>12.1f}{s['reps_per_s_median']:>14.1f}"
                     f"{s['reps_per_cpu_s_best']:>12.1f}{s['cores_used_median']:>12.2f}")
    q1, q3 = a["ratio_paired_iqr"]
    lines += [
        f"  ratio current/pre: {a['ratio_paired_median']:.3f} median of burst pairs "
        f"(quartiles {q1:.3f}-{q3:.3f}), {a['ratio_total']:.3f} total time, "
        f"{a['ratio_cpu_total']:.3f} total CPU, {a['ratio_best']:.3f} best bursts "
        f"(target >= {a['target_ratio']}: {verdict}); identical results: "
        f"{a['identical_results']} (not expected: the pre-dynamics engine draws from random "
        f"streams version 1, today's from version {STREAM_VERSION})",
    ]
    return lines


PLANS: dict[str, dict[str, Any]] = {
    "full": {"engine_reps": 120, "engine_repeats": 9, "pool_reps": 800, "pool_repeats": 3,
             "scaling_reps": {5: 200, 20: 50, 80: 12, 320: 3}, "scaling_repeats": 4,
             "dynamics_reps": 16, "free_reps": 100, "dynamics_repeats": 6,
             "against_bursts": 60, "against_burst_reps": 5, "against_warmup": 5,
             "fast_reps": 2000, "fast_simpy_reps": 40, "fast_repeats": 7,
             "fast_pool_reps": 40000, "fast_pool_repeats": 3,
             "fast_scaling_reps": {5: (4000, 40), 20: (1000, 10), 80: (250, 3), 320: (60, 1)}},
    "quick": {"engine_reps": 24, "engine_repeats": 2, "pool_reps": 40, "pool_repeats": 1,
              "scaling_reps": {5: 6, 20: 2, 80: 1, 320: 1}, "scaling_repeats": 1,
              "dynamics_reps": 2, "free_reps": 8, "dynamics_repeats": 1,
              "against_bursts": 4, "against_burst_reps": 2, "against_warmup": 1,
              "fast_reps": 40, "fast_simpy_reps": 2, "fast_repeats": 1,
              "fast_pool_reps": 400, "fast_pool_repeats": 1,
              "fast_scaling_reps": {5: (20, 1), 20: (10, 1), 80: (2, 1), 320: (1, 1)}},
}
# seconds after which no new repeat starts, per section (engine, workers, scaling, dynamics,
# against); about two minutes in all on a quiet 2-core machine, capped near 4 on a busy one
BUDGETS = {"full": {"engine": 60.0, "workers": 50.0, "scaling": 40.0, "dynamics": 40.0,
                    "against": 45.0, "fast": 90.0},
           "quick": dict.fromkeys(("engine", "workers", "scaling", "dynamics", "against", "fast"),
                                  math.inf)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fast smoke run (a few seconds)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"JSON results file (default: {DEFAULT_OUT.relative_to(HERE.parent)}, "
                         f"with --quick {QUICK_OUT.relative_to(HERE.parent)})")
    ap.add_argument("--seed", type=int, default=SEED, help="seed for both models")
    ap.add_argument("--against-commit", default=PRE_DYNAMICS, metavar="SHA",
                    help="git commit whose engine section 6 compares against (default "
                         f"{PRE_DYNAMICS}, the last one before dynamics); 'none' skips it")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "full"
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    plan, budget = PLANS[mode], BUDGETS[mode]
    against = None if args.against_commit.lower() in ("", "none") else args.against_commit
    started = time.perf_counter()
    doc: dict[str, Any] = {
        "benchmark": "engine",
        "mode": mode,
        "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": args.seed,
        "machine": machine_info(),
        "load_start": _load(),
        "plan": {**{k: v for k, v in plan.items() if k != "scaling_reps"},
                 "scaling_reps": {str(k): v for k, v in plan["scaling_reps"].items()},
                 "against_commit": against,
                 "budget_s": {k: None if math.isinf(b) else b for k, b in budget.items()}},
    }
    doc["engine"] = bench_engine(plan["engine_reps"], plan["engine_repeats"], args.seed,
                                 budget["engine"])
    doc["load_after_engine"] = _load()
    doc["workers"] = bench_workers(plan["pool_reps"], plan["pool_repeats"], args.seed,
                                   budget["workers"])
    doc["load_after_workers"] = _load()
    doc["scaling"] = bench_scaling(plan["scaling_reps"], plan["scaling_repeats"], args.seed,
                                   budget["scaling"])
    doc["load_after_scaling"] = _load()
    doc["dynamics"] = bench_dynamics(plan["dynamics_reps"], plan["free_reps"],
                                     plan["dynamics_repeats"], args.seed, budget["dynamics"])
    doc["load_after_dynamics"] = _load()
    doc["against"] = bench_against(against, plan["against_bursts"], plan["against_burst_reps"],
                                   args.seed, plan["against_warmup"], budget["against"])
    doc["fast"] = bench_fast(plan, plan["fast_repeats"], args.seed, cold=mode == "full",
                             budget=budget["fast"])
    doc["fast"]["workers"] = bench_workers(plan["fast_pool_reps"], plan["fast_pool_repeats"],
                                           args.seed, budget["workers"], engine="fast")
    doc["load_end"] = _load()
    doc["wall_seconds"] = time.perf_counter() - started
    a = doc["against"]
    doc["ratios"] = {
        "relaysim_over_bare": doc["engine"]["ratio_best"],
        "relaysim_over_bare_median": doc["engine"]["ratio_median"],
        "relaysim_over_bare_cpu": doc["engine"]["ratio_cpu_best"],
        "workers2_over_workers1": doc["workers"]["speedup_best"],
        "workers2_over_workers1_median": doc["workers"]["speedup_median"],
        "scaling_relaysim_over_bare": {str(r["schools"]): r["ratio"] for r in doc["scaling"]},
        "dynamics_over_contention_free": doc["dynamics"]["ratio_best"],
        "dynamics_over_contention_free_median": doc["dynamics"]["ratio_median"],
        "current_over_pre_dynamics": None if a["skipped"] else a["ratio_paired_median"],
        "current_over_pre_dynamics_total": None if a["skipped"] else a["ratio_total"],
        "current_over_pre_dynamics_cpu": None if a["skipped"] else a["ratio_cpu_total"],
        "fast_over_simpy": {k: c["ratio_best"] for k, c in doc["fast"]["cases"].items()},
        "fast_over_simpy_cpu": {k: c["ratio_cpu_best"] for k, c in doc["fast"]["cases"].items()},
    }
    doc["sanity_passed"] = doc["engine"]["sanity"]["passed"]

    print(render(doc))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {out} ({doc['wall_seconds']:.1f} s)")
    return 0 if doc["sanity_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
