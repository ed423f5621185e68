"""How wrong is the held tank level? The numbers in docs/model.md section 4.1.

The engines stretch a baton's work to `work / max(level, floor)` with the tank level when
the work starts and hold that length (the held rule). Integrated exactly, the work
progresses at `max(level(t), floor)` per day and ends when the integral reaches the work
(relaysim/model/tank_error.py). This script measures the difference on every bundled
scenario with a tank (overloaded, small_rural), in two ways:

1. Closed form, batons started together (`tank_error.together`): the typical case (the
   level's mean work, a full tank, as many batons as the capacity) and the scenario's range
   (every starting level, number of batons and work quantile up to the 95th).
2. Replay of the engine's own schedules: the SimPy engine runs the scenario with turnover
   off at the tank levels (a departure resets the tank and restarts or loses a leg; the
   replay has none); for every runner of every tank level, its batons' arrivals and
   stretched work times are replayed with `tank_error.run` ("given": reproduces the
   engine's starts, checked, and recovers each baton's work units), then under the
   integrated rule. Reported per level: the leg's relative lengthening and the finish
   delay, in days and as a share of the finish day (days since the initiative's launch),
   typical (median) and worst (99th percentile, maximum). Then a first-order effect on
   outcomes: each classroom's reached day is moved by the delays of its own leg and its
   ancestors' legs, with nothing else changed (no feedback on queues, fumbles, windows),
   and coverage and completion at the deadline are recounted.

    python experiments/tank_error.py                 # 200 replications, seed 0 (~10 s)
    python experiments/tank_error.py --reps 20       # quicker
    python experiments/tank_error.py --out tank_error.json
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import relaysim
from relaysim.engines.simpy_engine import simulate
from relaysim.model.plan import plan_for
from relaysim.model.tank_error import Tank, raw_work, run, together

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("overloaded", "small_rural")


def tank_levels(sc: relaysim.Scenario) -> list[int]:
    """Physical levels whose runners have a tank."""
    return [p for p, has in enumerate(plan_for(sc).has_tank) if has]


def closed_forms(sc: relaysim.Scenario, p: int) -> dict[str, Any]:
    """Batons started together: the typical case and the worst over the scenario's range."""
    plan = plan_for(sc)
    lv = sc.levels[plan.logical[p]]
    tank = Tank(lv.tank.drain, lv.tank.recovery, lv.tank.floor)
    rng = np.random.default_rng(0)  # a merged level's leg is a sum: its quantile by sampling
    legs = sum(sc.levels[k].work.sample(rng, 200_000) for k in plan.legs[p])
    mean, q95 = float(np.mean(legs)), float(np.quantile(legs, 0.95))
    held, integ = together(1.0, lv.capacity, mean, tank)
    worst = max((together(L0, b, w, tank)[1] / together(L0, b, w, tank)[0] - 1, L0, b, w)
                for L0 in np.linspace(tank.floor, 1.0, 51)
                for b in range(1, lv.capacity + 1)
                for w in np.linspace(0.0, q95, 96)[1:])
    return {"tank": tank.__dict__, "capacity": lv.capacity, "mean_work": mean,
            "work_q95": q95, "typical_held": held, "typical_integrated": integ,
            "typical_level_at_end_held": max(0.0, 1 - tank.drain * lv.capacity * held),
            "worst_longer": worst[0], "worst_at": {"level0": round(float(worst[1]), 3),
                                                   "batons": worst[2],
                                                   "work": round(float(worst[3]), 1)}}


def engine_schedules(sc: relaysim.Scenario, seed: int, rep: int
                     ) -> tuple[dict[tuple[int, int], list[dict[str, Any]]], list[dict[str, Any]],
                                dict[str, float]]:
    """One SimPy replication's batons per tank runner (logical level, runner): arrival,
    engine work time, start, initiative; the classrooms reached; each initiative's launch."""
    legs: dict[tuple[int, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    reached: list[dict[str, Any]] = []
    launch: dict[str, float] = {}
    tanked = {plan_for(sc).logical[p] for p in tank_levels(sc)}

    def tracer(t: float, event: str, **d: Any) -> None:
        key = (d.get("level"), d.get("runner"))
        if event == "launch":
            launch[d["initiative"]] = t
        elif event == "handoff" and key[0] in tanked:
            legs[key][d["initiative"]] = {"arrival": t, "initiative": d["initiative"]}
        elif event == "start" and key[0] in tanked:
            legs[key][d["initiative"]].update(start=t, work=d["work"])
        elif event == "reached":
            reached.append({"t": t, "classroom": d["runner"], **d})

    simulate(sc, seed, rep, tracer)
    out = {k: sorted((b for b in v.values() if "start" in b), key=lambda b: b["arrival"])
           for k, v in legs.items()}
    return out, reached, launch


def replay(sc: relaysim.Scenario, p: int, batons: list[dict[str, Any]]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """One runner's batons: (held start, held finish, integrated start, integrated finish,
    largest gap between the engine's starts and the replay's)."""
    lv = sc.levels[plan_for(sc).logical[p]]
    tank = Tank(lv.tank.drain, lv.tank.recovery, lv.tank.floor)
    arrivals = np.array([b["arrival"] for b in batons])
    given = run(arrivals, np.array([b["work"] for b in batons]), lv.capacity, tank, "given")
    gap = float(np.max(np.abs(given.start - [b["start"] for b in batons])))
    work = raw_work(given, tank.floor)
    held = run(arrivals, work, lv.capacity, tank, "held")
    integ = run(arrivals, work, lv.capacity, tank, "integrated")
    gap = max(gap, float(np.max(np.abs(held.finish - given.finish))))
    return held.start, held.finish, integ.start, integ.finish, gap


def deadline_of(sc: relaysim.Scenario, name: str, launch: float) -> tuple[float, float]:
    """An initiative's deadline (absolute day) and success threshold."""
    for ini in sc.initiatives:
        if ini.name == name:
            return ini.deadline, ini.success_threshold
    return launch + sc.stream.deadline_after, sc.stream.success_threshold


def one_replication(sc: relaysim.Scenario, seed: int, rep: int) -> dict[str, Any]:
    """Per tank level, every started baton's held and integrated leg and finish; per
    initiative, coverage at the deadline as run and with the first-order delays."""
    plan = plan_for(sc)
    batons, reached, launch = engine_schedules(sc, seed, rep)
    rows: dict[int, list[tuple[float, ...]]] = defaultdict(list)
    delay: dict[tuple[int, int, str], float] = {}
    gap = 0.0
    for (logical, i), bs in batons.items():
        p = plan.logical.index(logical)
        hs, hf, is_, if_, g = replay(sc, p, bs)
        gap = max(gap, g)
        for b, row in zip(bs, zip(hs, hf, is_, if_, strict=True), strict=True):
            rows[p].append((*row, launch[b["initiative"]]))
            delay[(p, i, b["initiative"])] = row[3] - row[1]
    cover: list[tuple[float, float, bool, bool]] = []
    n = sc.n_classrooms
    for name, t0 in launch.items():
        deadline, threshold = deadline_of(sc, name, t0)
        if deadline > sc.horizon:
            continue
        mine = [r for r in reached if r["initiative"] == name and r["implements"]]
        shift = [sum(delay.get((p, r["classroom"] // plan.leaves[p], name), 0.0)
                     for p in tank_levels(sc)) for r in mine]
        held = sum(r["t"] <= deadline for r in mine)
        integ = sum(r["t"] + s <= deadline for r, s in zip(mine, shift, strict=True))
        need = max(1, math.ceil(threshold * n - 1e-9))
        cover.append((held / n, integ / n, held >= need, integ >= need))
    return {"rows": rows, "cover": cover, "gap": gap}


def summarise(rows: list[tuple[float, ...]]) -> dict[str, Any]:
    """Relative lengthening of the leg and delay of the finish (days; share of the finish
    day since launch): typical (median), mean, 90th and 99th percentiles, maximum."""
    a = np.array(rows)
    hs, hf, is_, if_, t0 = a.T
    held, integ = hf - hs, if_ - is_
    pos = held > 0
    stats = {"leg_longer": integ[pos] / held[pos] - 1, "finish_delay_days": if_ - hf,
             "finish_delay_share": (if_ - hf) / np.maximum(hf - t0, 1e-9)}
    out: dict[str, Any] = {"batons": len(a), "held_leg_median": float(np.median(held)),
                           "integrated_leg_median": float(np.median(integ))}
    for key, x in stats.items():
        out[key] = {"median": float(np.median(x)), "mean": float(np.mean(x)),
                    "p90": float(np.quantile(x, 0.9)), "p99": float(np.quantile(x, 0.99)),
                    "max": float(np.max(x))}
    return out


def measure(name: str, reps: int, seed: int) -> dict[str, Any]:
    """Closed forms and replays for every tank level of one bundled scenario."""
    sc = relaysim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
    plan = plan_for(sc)
    names = {p: sc.levels[plan.logical[p]].name for p in tank_levels(sc)}
    quiet = sc.with_values({f"levels.{n}.turnover": 0.0 for n in names.values()})
    rows: dict[int, list[tuple[float, ...]]] = defaultdict(list)
    cover: list[tuple[float, float, bool, bool]] = []
    paired: list[np.ndarray] = []  # per replication: mean change of coverage, completion
    gap = 0.0
    for rep in range(reps):
        r = one_replication(quiet, seed, rep)
        for p, rs in r["rows"].items():
            rows[p] += rs
        cover += r["cover"]
        if r["cover"]:
            d = np.array(r["cover"], float)
            paired.append(np.array([d[:, 1] - d[:, 0], d[:, 3] - d[:, 2]]).mean(axis=1))
        gap = max(gap, r["gap"])
    c, dp = np.array(cover, float), np.array(paired)
    half = 1.96 * dp.std(axis=0, ddof=1) / math.sqrt(len(dp))  # replications independent
    return {"scenario": name, "replications": reps, "seed": seed,
            "replay_vs_engine_max_gap_days": gap,
            "levels": {names[p]: {"closed_form": closed_forms(sc, p),
                                  "replay": summarise(rows[p])} for p in names},
            "outcomes": {"initiatives": len(c),
                         "coverage_held": float(c[:, 0].mean()),
                         "coverage_integrated": float(c[:, 1].mean()),
                         "completion_held": float(c[:, 2].mean()),
                         "completion_integrated": float(c[:, 3].mean()),
                         "coverage_change_ci95": [float(dp[:, 0].mean() - half[0]),
                                                  float(dp[:, 0].mean() + half[0])],
                         "completion_change_ci95": [float(dp[:, 1].mean() - half[1]),
                                                    float(dp[:, 1].mean() + half[1])]}}


def report(m: dict[str, Any]) -> None:
    """Print one scenario's numbers."""
    print(f"\n{m['scenario']}: {m['replications']} replications, seed {m['seed']} (turnover "
          f"off at the tank levels); replay vs engine starts: max gap "
          f"{m['replay_vs_engine_max_gap_days']:.1e} days")
    for lv, d in m["levels"].items():
        cf, rp = d["closed_form"], d["replay"]
        print(f"  {lv}: tank {cf['tank']}, capacity {cf['capacity']}, mean work "
              f"{cf['mean_work']:.1f}")
        print(f"    closed form, {cf['capacity']} batons from a full tank, mean work: held "
              f"{cf['typical_held']:.1f} d (tank ends at {cf['typical_level_at_end_held']:.2f}),"
              f" integrated {cf['typical_integrated']:.1f} d "
              f"(+{cf['typical_integrated'] / cf['typical_held'] - 1:.1%}); worst in range "
              f"+{cf['worst_longer']:.1%} at {cf['worst_at']}")
        for key in ("leg_longer", "finish_delay_days", "finish_delay_share"):
            s = rp[key]
            fmt = (lambda x: f"{x:.1f}") if key.endswith("days") else (lambda x: f"{x:.1%}")
            print(f"    replay {key} ({rp['batons']} batons): median {fmt(s['median'])}, "
                  f"mean {fmt(s['mean'])}, p90 {fmt(s['p90'])}, p99 {fmt(s['p99'])}, "
                  f"max {fmt(s['max'])}")
    o = m["outcomes"]
    print(f"  first order, {o['initiatives']} initiatives: coverage at the deadline "
          f"{o['coverage_held']:.1%} held -> {o['coverage_integrated']:.1%} integrated; "
          f"completion {o['completion_held']:.1%} -> {o['completion_integrated']:.1%} (95% "
          f"intervals of the changes over replications: coverage "
          f"{o['coverage_change_ci95'][0]:+.1%} to {o['coverage_change_ci95'][1]:+.1%}, "
          f"completion {o['completion_change_ci95'][0]:+.1%} to "
          f"{o['completion_change_ci95'][1]:+.1%})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write every number to this JSON file")
    args = ap.parse_args()
    results = [measure(name, args.reps, args.seed) for name in SCENARIOS]
    for m in results:
        report(m)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
