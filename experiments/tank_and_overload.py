"""Tank and overload: how many initiatives can a district carry at once before they fail,
and how much does fatigue (the tank) move that point?

Question: every initiative a district launches shares the same principals, coaches and
teachers. As the number launched together grows, how fast does the chance that each one
is implemented fall, where is the overload point, and how does it depend on how fast
people's tanks drain and refill? How does it compare with the published "performance
declines when a school carries more than 6 instructional initiatives" (Reeves 2011, 2,000+
school plans, proprietary data [M], FIGURES.md: a range, not a target)?

Hypothesis: completion per initiative falls as initiatives are added (queues, busier
receivers fumble more, effects.load); with tanks it falls faster and the overload point
comes earlier; the flagship, first in every queue, is protected by its place in line
unless fatigue reaches it.

Design: scenarios/overloaded.toml (four schools, 48 classrooms; principals and coaches work
on two initiatives at a time and teachers on three, tanks on principals, coaches and
teachers) with its stream switched
off and instead N initiatives launched together on day 0 (the start of the school year),
N = 1..10: the flagship 'reading' as written plus N-1 copies of the file's stream template
(clarity 0.5, same priority, two years to the deadline). ASSUMPTION: launched together is
the harshest timing; Reeves counts initiatives a school carries at once. Tank settings:
none (drain 0), as in the file, drain doubled, recovery halved. Outcome: the share of the
N initiatives implemented by their deadline (per replication, then averaged: the chance a
given initiative is implemented); the overload point is where that falls below half its
single-initiative value (linear interpolation between the N tested; 95% interval by
bootstrapping replications). Every variant runs with the same seed (common random
numbers): replication i of each faces the same runners' draws, so differences between
tank settings and between N are paired.

Caveats. The file's capacities were chosen so that the district saturates at 6 to 8
initiatives a year (see its comments): agreement with Reeves' figure is partly built in,
and what this experiment finds is how launching together and fatigue move the point.
"Below half the solo chance" is an operational threshold; by "performance declines" alone,
every added initiative already costs something.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from _common import Experiment, cli, dci, pct
from matplotlib.figure import Figure

import relaysim
from relaysim.study.intervals import paired_means

REEVES = 6  # initiatives per school above which performance declines (Reeves 2011 [M])
BOOT = 2000  # bootstrap resamples of replications for the overload point


def with_initiatives(sc: relaysim.Scenario, n: int, drain: float = 1.0,
                     recovery: float = 1.0) -> relaysim.Scenario:
    """The scenario with its stream off and n initiatives launched together: the first as
    written, n - 1 copies of the stream template; every tank's drain and recovery scaled."""
    raw = copy.deepcopy(sc.raw)
    tpl = dict(raw.get("initiative_stream", {}).get("template", {}))
    raw.pop("initiative_stream", None)
    first = raw["initiatives"][0]
    launch = first.get("launch", 0.0)
    inis = [first]
    for k in range(2, n + 1):
        inis.append({"name": f"initiative{k}", "launch": launch,
                     "deadline": launch + tpl.get("deadline_after", first["deadline"] - launch),
                     **{key: tpl[key] for key in ("clarity", "priority", "min_fidelity",
                                                  "success_threshold") if key in tpl}})
    raw["initiatives"] = inis
    for lv in raw["levels"]:
        if "tank" in lv:
            lv["tank"] = {**lv["tank"], "drain": lv["tank"].get("drain", 0.0) * drain,
                          "recovery": lv["tank"].get("recovery", 0.0) * recovery}
    return relaysim.scenario_from_dict(raw, source=sc.source)


def shares(res: relaysim.RunResult) -> np.ndarray:
    """Per replication: the share of its initiatives implemented by their deadlines."""
    return np.array([np.mean([o.completed for o in r.initiatives]) for r in res.replications])


def coverages(res: relaysim.RunResult) -> np.ndarray:
    """Per replication: the mean coverage at the deadline of its initiatives."""
    return np.array([np.mean([o.coverage for o in r.initiatives]) for r in res.replications])


def coverage_effect(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """y - x in mean coverage, paired (intervals.paired_means: t with the variance floored
    for sparse differences), as the `effect` a headline states next to a completion
    effect: completion is a threshold on coverage (issue 12)."""
    m = paired_means(x, y, max_abs_difference=1.0)
    return {"coverage": {"difference": m.difference, "ci95": list(m.ci)}}


def first_done(res: relaysim.RunResult) -> np.ndarray:
    """Per replication: 1 if the flagship (the first initiative) was implemented."""
    return np.array([float(r.initiatives[0].completed) for r in res.replications])


def mean_ci(x: np.ndarray) -> dict[str, Any]:
    m = float(x.mean())
    h = 1.96 * float(x.std(ddof=1)) / np.sqrt(len(x))
    return {"value": m, "ci95": [m - h, m + h]}


def crossing(ns: list[int], curve: np.ndarray) -> float:
    """First N at which the curve falls below half its value at N = ns[0] (interpolated);
    inf when it never does in the range tested."""
    half = 0.5 * curve[0]
    for k in range(1, len(ns)):
        if curve[k] < half:
            a, b = curve[k - 1], curve[k]
            return float(ns[k - 1] + (ns[k] - ns[k - 1]) * (a - half) / (a - b))
    return float("inf")


def overload_point(ns: list[int], mat: np.ndarray, seed: int) -> dict[str, Any]:
    """Crossing of the mean curve and a bootstrap 95% interval (replications resampled
    jointly across N: they are paired)."""
    est = crossing(ns, mat.mean(axis=1))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    reps = mat.shape[1]
    boots = np.array([crossing(ns, mat[:, rng.integers(0, reps, reps)].mean(axis=1))
                      for _ in range(BOOT)])
    lo, hi = np.quantile(boots, [0.025, 0.975], method="inverted_cdf")  # inf-safe
    return {"value": est, "ci95": [float(lo), float(hi)],
            "never": float(np.mean(np.isinf(boots)))}


def fmt_n(x: float) -> str:
    return f"beyond {x}" if np.isinf(x) else f"{x:.1f}"


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("tank_and_overload", __doc__, argv)
    reps = ex.reps(quick=80, full=1000)
    ns = [1, 2, 4, 6, 8, 10] if ex.quick else list(range(1, 11))
    settings = {"no tanks": (0.0, 1.0), "tanks as in the file": (1.0, 1.0),
                "drain doubled": (2.0, 1.0)}
    if not ex.quick:
        settings["recovery halved"] = (1.0, 0.5)
    base = ex.scenario("overloaded.toml")
    per: dict[str, np.ndarray] = {}
    flag: dict[str, np.ndarray] = {}
    cov: dict[str, np.ndarray] = {}
    for name, (drain, recovery) in settings.items():
        runs = [ex.run(with_initiatives(base, n, drain, recovery), reps) for n in ns]
        per[name] = np.vstack([shares(r) for r in runs])  # (len(ns), reps)
        flag[name] = np.vstack([first_done(r) for r in runs])
        cov[name] = np.vstack([coverages(r) for r in runs])
    points = {name: overload_point(ns, per[name], ex.seed) for name in settings}

    # ---------------------------------------------------------------- figure
    colors = {"no tanks": "#555555", "tanks as in the file": "#0072B2",
              "drain doubled": "#D55E00", "recovery halved": "#E69F00"}
    fig = Figure(figsize=(14, 6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    for ax, data in ((ax1, per), (ax2, flag)):
        ax.axvspan(REEVES + 0.5, max(ns) + 0.5, color="#999999", alpha=0.15,
                   label=f"more than {REEVES} (Reeves: performance declines)")
        for name in settings:
            y = np.array([mean_ci(row)["value"] for row in data[name]])
            lo = np.array([mean_ci(row)["ci95"][0] for row in data[name]])
            hi = np.array([mean_ci(row)["ci95"][1] for row in data[name]])
            ax.plot(ns, 100 * y, "o--" if name == "recovery halved" else "o-",
                    color=colors[name], lw=2.5, label=name)
            ax.fill_between(ns, 100 * np.clip(lo, 0, 1), 100 * np.clip(hi, 0, 1),
                            color=colors[name], alpha=0.15)
        ax.set_xlabel("Initiatives launched together")
        ax.set_xticks(ns)
        ax.set_xlim(0.5, max(ns) + 0.5)
    for name in settings:
        p = points[name]["value"]
        half = 50 * per[name][0].mean()
        if np.isfinite(p):
            ax1.plot([p], [half], "v", color=colors[name], ms=12, mec="white")
    ax1.set_ylabel("Chance an initiative is implemented (%)")
    ax1.set_title("Each initiative (triangles: half its solo chance)")
    ax2.set_title("The flagship, first in every queue")
    ax1.legend(frameon=False, fontsize=11, loc="upper right")
    ex.note(fig, f"scenarios/overloaded.toml, stream off; {reps} replications per point, "
                 f"seed {ex.seed}")
    ex.figure(fig, "tank_and_overload.png")

    # ---------------------------------------------------------------- words
    for name in settings:
        row = ", ".join(f"{n}: {pct(mean_ci(per[name][k])['value'])}" for k, n in enumerate(ns))
        p = points[name]
        ex.say(f"- {name}: chance per initiative by N launched together: {row}. Overload "
               f"point (below half of the solo chance): N = {fmt_n(p['value'])} (95% CI "
               f"{fmt_n(p['ci95'][0])} to {fmt_n(p['ci95'][1])})")
        steps = -np.diff(per[name].mean(axis=1)) / np.diff(ns)
        k = int(np.argmax(steps))
        ex.say(f"  steepest fall: {100 * steps[k]:.1f} points per added initiative between "
               f"{ns[k]} and {ns[k + 1]}; flagship: {pct(flag[name][0].mean())} alone, "
               f"{pct(flag[name][-1].mean())} with {ns[-1]}")
    k6 = ns.index(REEVES)
    d_drain = mean_ci(per["drain doubled"][k6] - per["no tanks"][k6])
    d_tank = mean_ci(per["tanks as in the file"][k6] - per["no tanks"][k6])
    c_drain = coverage_effect(cov["no tanks"][k6], cov["drain doubled"][k6])
    c_tank = coverage_effect(cov["no tanks"][k6], cov["tanks as in the file"][k6])
    c_load = coverage_effect(cov["no tanks"][0], cov["no tanks"][k6])
    d_flag = mean_ci(flag["tanks as in the file"][-1] - flag["tanks as in the file"][0])
    d_flag0 = mean_ci(flag["no tanks"][-1] - flag["no tanks"][0])
    ex.say("")
    ex.say(f"At N = {REEVES} (paired, same random numbers): tanks as in the file change the "
           f"chance per initiative by {100 * d_tank['value']:+.1f} points ({dci(d_tank['ci95'])})"
           f" against no tanks; doubled drain by {100 * d_drain['value']:+.1f} points "
           f"({dci(d_drain['ci95'])}). Mean coverage at the deadline (completion is a "
           f"threshold on it): {100 * c_tank['coverage']['difference']:+.1f} points "
           f"({dci(c_tank['coverage']['ci95'])}) and "
           f"{100 * c_drain['coverage']['difference']:+.1f} points "
           f"({dci(c_drain['coverage']['ci95'])}).")
    ex.say(f"Flagship from 1 to {ns[-1]} initiatives: {100 * d_flag0['value']:+.1f} points "
           f"without tanks ({dci(d_flag0['ci95'])}), {100 * d_flag['value']:+.1f} with the "
           f"file's tanks ({dci(d_flag['ci95'])}).")

    p = points["tanks as in the file"]
    ex.headline("overload_point", p["value"], (3.0, 8.0),
                "initiatives launched together at which each one's chance falls below half "
                "its solo chance (tanks as in the file)", p["ci95"])
    ex.headline("tank_effect_at_6", d_tank["value"], (-0.20, -0.06),
                f"change in each initiative's chance at N = {REEVES} from the file's tanks "
                "(vs none)", d_tank["ci95"], c_tank)
    ex.headline("drain_effect_at_6", d_drain["value"], (-0.25, -0.10),
                f"change in each initiative's chance at N = {REEVES} from doubled drain "
                "(vs no tanks)", d_drain["ci95"], c_drain)
    d_load = mean_ci(per["no tanks"][k6] - per["no tanks"][0])
    ex.headline("load_effect_1_to_6", d_load["value"], (-0.35, -0.08),
                f"change in each initiative's chance from 1 to {REEVES} initiatives, no tanks "
                "(queues and busy receivers alone)", d_load["ci95"], c_load)
    p0, p2 = points["no tanks"], points["drain doubled"]

    if p["ci95"][1] < REEVES:
        vs = f"earlier than Reeves' 'more than {REEVES}'"
    elif p["ci95"][0] > REEVES + 1:
        vs = f"later than Reeves' 'more than {REEVES}'"
    else:
        vs = f"consistent with Reeves' 'more than {REEVES}'"

    def change(d: dict[str, Any]) -> str:
        if d["ci95"][1] < 0:
            return f"falls by {-100 * d['value']:.0f} points ({dci(d['ci95'])})"
        if d["ci95"][0] > 0:
            return f"rises by {100 * d['value']:.0f} points ({dci(d['ci95'])})"
        return f"does not change detectably ({100 * d['value']:+.0f} points, {dci(d['ci95'])})"

    means = per["tanks as in the file"].mean(axis=1)
    opener = ("Each added initiative lowers every initiative's chance of being implemented"
              if np.all(np.diff(means) < 0) else
              "Adding initiatives lowers each one's chance of being implemented overall, "
              "though not at every step")
    faster = p["value"] < p0["value"]
    verdict = ("supported" if faster and d_tank["ci95"][1] < 0 and d_load["ci95"][1] < 0
               else "not supported")
    ex.finish(
        f"{opener}; with "
        f"the file's tanks it falls below half its solo value at about {fmt_n(p['value'])} "
        f"initiatives launched together (95% CI {fmt_n(p['ci95'][0])} to "
        f"{fmt_n(p['ci95'][1])}), {vs}; at {fmt_n(p0['value'])} "
        f"without fatigue, at {fmt_n(p2['value'])} when tanks drain twice as fast"
        + (f" and at {fmt_n(points['recovery halved']['value'])} when they refill half as "
           f"fast (tanks refill only when people are idle)" if "recovery halved" in points
           else "") + ". From 1 "
        f"to {ns[-1]} initiatives the flagship, first in every queue, {change(d_flag0)} "
        f"without tanks and {change(d_flag)} with them; the hypothesis (completion falls with "
        f"load, faster with tanks) is {verdict}, though the file's capacities were chosen to "
        f"saturate near Reeves' figure.")


if __name__ == "__main__":
    cli(main)
