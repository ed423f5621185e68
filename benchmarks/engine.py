"""Engine benchmark: relaysim against a bare SimPy loop of the same model, measured together.

    python benchmarks/engine.py            # full run, about a minute or two
    python benchmarks/engine.py --quick    # smoke run, a few seconds
    python benchmarks/engine.py --out results.json

What is measured (see benchmarks/README.md):

1. relaysim replications per second on a contention-free district (1 district office,
   20 principals, 3 coaches each, 8 classrooms each; exponential work, fumbly zones).
2. In the same run, interleaved with 1., a bare SimPy loop of the same model written here;
   the ratio relaysim/bare (target >= 0.5) and a check that both models agree.
3. relaysim.run with workers=1 against workers=2 (process pool): reps/s and speedup.
4. Scaling: seconds per replication for 5, 20, 80 and 320 schools, per runner.

Timings are throughput on a shared machine: every figure is the best (and the median) of
several interleaved repeats, and the machine's load average is recorded with them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import simpy

import relaysim
from relaysim.engine import Relay
from relaysim.run import atomic_write

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
        res = relaysim.run(sc, reps=reps, seed=seed, workers=1)
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
        "ratio_best": rs["reps_per_s_best"] / bare["reps_per_s_best"],
        "ratio_median": rs["reps_per_s_median"] / bare["reps_per_s_median"],
        "ratio_paired_median": statistics.median(pair_ratios),
        # per CPU second: less sensitive to how much of a core each repeat was given
        "ratio_cpu_best": rs["reps_per_cpu_s_best"] / bare["reps_per_cpu_s_best"],
        "ratio_paired": pair_ratios,
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
    rel, bare = [], []
    for i in range(n):
        relay = Relay(sc, seed, i)
        relay.run()
        rel.append(_events(relay.env))
        bare.append(bare_replication(SCHOOLS, bare_seed(seed, i))[2])
    return {"relaysim": statistics.fmean(rel), "bare": statistics.fmean(bare), "reps": n}


# ------------------------------------------------------------------------ 3: workers


def bench_workers(reps: int, repeats: int, seed: int, budget: float = math.inf
                  ) -> dict[str, Any]:
    """relaysim.run with workers=1 and workers=2 (a fresh process pool per call)."""
    sc = district(SCHOOLS)
    times: dict[int, list[Timing]] = {1: [], 2: []}
    texts: dict[int, str] = {}
    for r in _repeats(repeats, budget):
        for w in ((1, 2) if r % 2 == 0 else (2, 1)):
            dt, res = _timed(lambda w=w: relaysim.run(sc, reps=reps, seed=seed, workers=w))
            times[w].append(dt)
            texts.setdefault(w, res.to_json())
    one, two = _summary(times[1], reps), _summary(times[2], reps)
    return {
        "reps": reps,
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
                    dt, _ = _timed(lambda s=sc, n=reps: relaysim.run(s, reps=n, seed=seed,
                                                                    workers=1))
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
    return "\n".join(lines)


PLANS = {
    # engine reps, engine repeats, pool reps, pool repeats, {schools: reps}, scaling repeats
    "full": (120, 9, 800, 3, {5: 200, 20: 50, 80: 12, 320: 3}, 4),
    "quick": (24, 2, 40, 1, {5: 6, 20: 2, 80: 1, 320: 1}, 1),
}
# seconds after which no new repeat starts, per section (engine, workers, scaling); about
# a minute in all on a quiet 2-core machine, capped near 3 minutes on a busy one
BUDGETS = {"full": (60.0, 50.0, 40.0), "quick": (math.inf, math.inf, math.inf)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fast smoke run (a few seconds)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"JSON results file (default: {DEFAULT_OUT.relative_to(HERE.parent)}, "
                         f"with --quick {QUICK_OUT.relative_to(HERE.parent)})")
    ap.add_argument("--seed", type=int, default=SEED, help="seed for both models")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "full"
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    e_reps, e_rep, w_reps, w_rep, plan, s_rep = PLANS[mode]
    started = time.perf_counter()
    doc: dict[str, Any] = {
        "benchmark": "engine",
        "mode": mode,
        "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": args.seed,
        "machine": machine_info(),
        "load_start": _load(),
        "plan": {"engine_reps": e_reps, "engine_max_repeats": e_rep, "pool_reps": w_reps,
                 "pool_max_repeats": w_rep, "scaling_reps": {str(k): v for k, v in plan.items()},
                 "scaling_max_repeats": s_rep,
                 "budget_s": [None if math.isinf(b) else b for b in BUDGETS[mode]]},
    }
    b_eng, b_work, b_scale = BUDGETS[mode]
    doc["engine"] = bench_engine(e_reps, e_rep, args.seed, b_eng)
    doc["load_after_engine"] = _load()
    doc["workers"] = bench_workers(w_reps, w_rep, args.seed, b_work)
    doc["load_after_workers"] = _load()
    doc["scaling"] = bench_scaling(plan, s_rep, args.seed, b_scale)
    doc["load_end"] = _load()
    doc["wall_seconds"] = time.perf_counter() - started
    doc["ratios"] = {
        "relaysim_over_bare": doc["engine"]["ratio_best"],
        "relaysim_over_bare_median": doc["engine"]["ratio_median"],
        "relaysim_over_bare_cpu": doc["engine"]["ratio_cpu_best"],
        "workers2_over_workers1": doc["workers"]["speedup_best"],
        "workers2_over_workers1_median": doc["workers"]["speedup_median"],
        "scaling_relaysim_over_bare": {str(r["schools"]): r["ratio"] for r in doc["scaling"]},
    }
    doc["sanity_passed"] = doc["engine"]["sanity"]["passed"]

    print(render(doc))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {out} ({doc['wall_seconds']:.1f} s)")
    return 0 if doc["sanity_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
