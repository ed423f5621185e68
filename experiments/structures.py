"""Structures side by side: how do different district structures carry the same kind of
initiative, and where does each one break?

Question: the scenario library describes districts of different shapes and conditions (a
mid-size baseline, a small rural district where principals double as coaches, a large
urban district with networks, autonomous 'portfolio' schools, differentiated support for
struggling schools, stable and unstable leadership, an overloaded district). For each:
how often is its flagship initiative implemented by the deadline, how long does it take,
and at which junction does the baton fall?

Hypothesis: structure matters as much as effort: fewer junctions (small rural, portfolio)
lose fewer batons but have less slack; more junctions (large urban) lose more; stable
leadership beats high turnover; overload is the worst condition; in every structure most
batons fall at the junction with the most handoffs, the one into the classroom.

Design: every scenario file as written (see each file's comments and sources:
scenarios/*.toml, FIGURES.md), run with the same seed and number of replications.
Completion: the first named initiative (the flagship; in overloaded.toml the stream of
further initiatives is summarised separately) with a Wilson 95% interval. Time: the
Kaplan-Meier median of days from launch to the success threshold (runs that never get
there count as censored at the horizon). Where it breaks: the zone with the largest share
of drops (dropped exchanges), and the share of classrooms cut off, per cause (the drops at
each zone, each cutting off the receiver's whole subtree; and batons lost when someone
left). Scenarios with the baseline's tree (differentiated_support, stable_leadership,
high_turnover) are also compared with the baseline replication by replication: the same
seed gives them common random numbers. ASSUMPTION: the scenarios differ in many
parameters at once, so a difference between them describes the whole package, not one
lever.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _common import (
    Experiment,
    ci,
    cli,
    coverage_effect,
    dci,
    effect,
    paired,
    pct,
    rate,
    stream_minus_flagship,
)
from matplotlib.figure import Figure

import relaysim

STRUCTURES = {
    "baseline": "baseline",
    "small_rural": "small rural",
    "large_urban": "large urban",
    "portfolio": "portfolio",
    "differentiated_support": "differentiated support",
    "stable_leadership": "stable leadership",
    "high_turnover": "high turnover",
    "overloaded": "overloaded",
}
SAME_TREE = ("differentiated_support", "stable_leadership", "high_turnover")
ZONE_COLORS = {"network": "#CC79A7", "principal": "#E69F00", "coach": "#56B4E9",
               "classroom": "#0072B2"}
TURNOVER_COLOR = "#D55E00"


def cut_off(res: relaysim.RunResult) -> dict[str, float]:
    """Mean share of the flagship's classrooms cut off per replication, by cause: drops at
    each zone (drops x classrooms below one receiver) and batons lost to turnover."""
    sc = res.scenario
    name = sc.initiatives[0].name
    sizes = sc.level_sizes
    n = sc.n_classrooms
    out: dict[str, float] = {}
    outs = [o for r in res.replications for o in r.initiatives if o.name == name]
    for k, lv in enumerate(sc.levels):
        if k == 0 or sc.zones[k] is None:
            continue
        below = n // sizes[k]
        out[lv.name] = float(np.mean([o.zones[k].drops * below for o in outs])) / n
    out["turnover"] = float(np.mean([o.lost for o in outs])) / n
    return out


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("structures", __doc__, argv)
    reps = ex.reps(quick=70, full=2000)
    res: dict[str, relaysim.RunResult] = {}
    names: dict[str, str] = {}
    for key in STRUCTURES:
        sc = ex.scenario(f"{key}.toml")
        res[key] = ex.run(sc, reps)
        schools = dict(zip([lv.name for lv in sc.levels], sc.level_sizes, strict=True))
        extra = f", {sc.stream.rate:g} more a year" if sc.stream.rate > 0 else ""
        names[key] = (f"{STRUCTURES[key]} ({schools['principal']} schools{extra})"
                      if "principal" in schools else STRUCTURES[key])

    info: dict[str, dict[str, Any]] = {}
    for key, r in res.items():
        s = r.initiative()
        zones = {z: v for z, v in s["zones"].items() if v["attempts"]}
        worst = max(zones, key=lambda z: zones[z]["drop_share"]) if zones else None
        cuts = cut_off(r)
        info[key] = {"rate": rate(r), "median": s["completion_time"]["median"],
                     "q25": s["completion_time"]["q25"], "q75": s["completion_time"]["q75"],
                     "worst": worst, "worst_share": zones[worst]["drop_share"] if worst else 0,
                     "coverage": s["coverage"], "cuts": cuts,
                     "breaks": max(cuts, key=cuts.__getitem__),
                     "sizes": r.scenario.level_sizes}

    # ---------------------------------------------------------------- figure
    keys = list(STRUCTURES)
    labels = [names[k] for k in keys]
    ypos = np.arange(len(keys))[::-1]
    fig = Figure(figsize=(17, 7), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3, sharey=True)
    v = np.array([info[k]["rate"]["value"] for k in keys])
    err = np.array([[info[k]["rate"]["value"] - info[k]["rate"]["ci95"][0],
                     info[k]["rate"]["ci95"][1] - info[k]["rate"]["value"]] for k in keys]).T
    colors = ["#555555" if k == "baseline" else "#0072B2" for k in keys]
    ax1.barh(ypos, 100 * v, xerr=100 * err, color=colors, capsize=4)
    ax1.set_yticks(ypos, labels)
    ax1.set_xlabel("Chance the initiative is implemented\nby its deadline (%)")
    ax1.set_title("How often")
    for y, k in zip(ypos, keys, strict=True):
        med, q25, q75 = info[k]["median"], info[k]["q25"], info[k]["q75"]
        horizon = res[k].scenario.horizon
        if q25 is not None:
            ax2.plot([q25, q75 if q75 is not None else horizon], [y, y], color="#0072B2",
                     lw=6, alpha=0.35, solid_capstyle="butt")
        if med is not None:
            ax2.plot([med], [y], "o", color="#0072B2", ms=10)
        else:
            ax2.text(horizon, y, "most never ", ha="right", va="center", fontsize=11)
        deadline = res[k].scenario.initiatives[0].deadline
        ax2.plot([deadline], [y], "|", color="#D55E00", ms=18, mew=2.5)
    ax2.set_xlabel("Days from launch to implementation\n(median and quartiles; | = deadline)")
    ax2.set_title("How long")
    left = np.zeros(len(keys))
    causes = [*ZONE_COLORS, "turnover"]
    for cause in causes:
        w = np.array([info[k]["cuts"].get(cause, 0.0) for k in keys])
        if not w.any():
            continue
        ax3.barh(ypos, 100 * w, left=100 * left,
                 color=ZONE_COLORS.get(cause, TURNOVER_COLOR),
                 label="lost when someone left" if cause == "turnover"
                 else f"dropped at the handoff to {cause}")
        left += w
    ax3.set_xlabel("Classrooms cut off (% of the district)")
    ax3.set_title("Where it breaks")
    fig.legend(*ax3.get_legend_handles_labels(), frameon=False, fontsize=11,
               loc="outside upper center", ncol=5)
    ex.note(fig, f"scenarios/*.toml as written; {reps} replications each, seed {ex.seed} "
                 f"(flagship initiative)")
    ex.figure(fig, "structures.png")

    # ---------------------------------------------------------------- words
    ex.say("| structure | runners per level | implemented (95% CI) | median days (IQR) | "
           "most drops at | classrooms cut off: drops / turnover | most classrooms cut off by |")
    ex.say("|---|---|---|---|---|---|---|")

    def cause(c: str) -> str:
        return "turnover" if c == "turnover" else f"drops at the handoff to {c}"


    def days(x: float | None) -> str:
        return "never (censored)" if x is None else f"{x:.0f}"

    for k in keys:
        i = info[k]
        drops = sum(v for c, v in i["cuts"].items() if c != "turnover")
        ex.say(f"| {names[k]} | {'/'.join(str(s) for s in i['sizes'])} | "
               f"{pct(i['rate']['value'])} ({ci(i['rate']['ci95'])}) | {days(i['median'])} "
               f"({days(i['q25'])} to {days(i['q75'])}) | {i['worst']} "
               f"({pct(i['worst_share'])} of drops) | {pct(drops)} / "
               f"{pct(i['cuts']['turnover'])} | {cause(i['breaks'])} "
               f"({pct(i['cuts'][i['breaks']])}) |")
    stream = res["overloaded"].summary["initiatives"].get("stream")
    if stream:
        e = stream["completion_rate"]
        sm = stream_minus_flagship(res["overloaded"])
        ex.say("")
        ex.say(f"Overloaded: the further initiatives (pooled, {stream['observed']} of them) are "
               f"implemented in {pct(e['estimate'])} ({ci(e['ci95'])}); minus the flagship, "
               f"in the same replications: {effect(sm)}.")
    ex.say("")
    ex.say("Paired with the baseline (same tree, same seed: common random numbers):")
    diffs = {}
    for k in SAME_TREE:
        d = diffs[k] = paired(res["baseline"], res[k])
        ex.say(f"- {names[k]} minus baseline: completion {effect(d)}")

    best = max(keys, key=lambda k: info[k]["rate"]["value"])
    worst = min(keys, key=lambda k: info[k]["rate"]["value"])
    classroom_first = [k for k in keys if info[k]["worst"] == "classroom"]
    d_lead = paired(res["high_turnover"], res["stable_leadership"])
    ex.headline("stable_minus_high_turnover", d_lead["difference"], (0.35, 0.70),
                "completion with stable leadership minus with high turnover (paired)",
                d_lead["ci95"], d_lead)
    ex.headline("classroom_drop_share_baseline", info["baseline"]["worst_share"]
                if info["baseline"]["worst"] == "classroom" else 0.0, (0.75, 0.93),
                "share of the baseline's drops that happen at the handoff to classrooms")
    ex.headline("structures_breaking_at_classroom", len(classroom_first) / len(keys),
                (0.75, 1.0), "share of structures whose most frequent drop is at the "
                "handoff to classrooms")
    if stream:
        ex.headline("overload_stream_minus_flagship", sm["difference"], (-0.55, -0.20),
                    "overloaded district: completion of the further initiatives (pooled) minus "
                    "the flagship's (same replications; clustered by replication)",
                    sm["ci95"], sm)
    # classrooms cut off: all drops together against departures, per structure
    drops_win = [k for k in keys if sum(v for c, v in info[k]["cuts"].items()
                                         if c != "turnover") > info[k]["cuts"]["turnover"]]
    lead_word = "beats" if d_lead["difference"] > 0 else "trails"

    # the hypothesis, part by part (drop shares: share of all exchanges' drops per zone)
    def drops_rate(k: str) -> float:
        return sum(info[k]["cuts"][c] for c in info[k]["cuts"] if c != "turnover")

    parts = {
        "fewer junctions lose fewer batons": all(
            drops_rate(k) < drops_rate("baseline") for k in ("small_rural", "portfolio")),
        "more junctions (large urban) do worse": (
            info["large_urban"]["rate"]["ci95"][1] < info["baseline"]["rate"]["ci95"][0]),
        "stable leadership beats high turnover": d_lead["ci95"][0] > 0,
        "overload is the worst condition for the initiatives added": bool(stream) and all(
            stream["completion_rate"]["estimate"] < info[k]["rate"]["value"] for k in keys),
        "most batons fall at the handoff into classrooms": len(classroom_first) == len(keys),
    }
    held = [k for k, ok in parts.items() if ok]
    failed = [k for k, ok in parts.items() if not ok]
    ex.say("")
    ex.say("Hypothesis, part by part: " + "; ".join(
        f"{k}: {'holds' if ok else 'does not hold'}" for k, ok in parts.items()) + ".")
    ex.finish(
        f"Of the {len(keys)} structures, {STRUCTURES[best]} implements its initiative most "
        f"often ({pct(info[best]['rate']['value'])}, {ci(info[best]['rate']['ci95'])}) and "
        f"{STRUCTURES[worst]} least often ({pct(info[worst]['rate']['value'])}); stable "
        f"leadership {lead_word} high turnover by {100 * abs(d_lead['difference']):.1f} points "
        f"({dci(d_lead['ci95'])}; coverage {coverage_effect(d_lead)}). In "
        f"{len(classroom_first)} of {len(keys)} structures most "
        f"batons fall at the handoff to classrooms; counted in classrooms cut off, drops at all "
        f"handoffs together cut off more than departures in {len(drops_win)} of {len(keys)}, "
        f"and departures more than drops in "
        f"{', '.join(STRUCTURES[k] for k in keys if k not in drops_win) or 'none'}. Of the "
        f"hypothesis, {len(held)} of {len(parts)} parts hold"
        + (f"; these do not: {', '.join(failed)}" if failed else "") + ".")


if __name__ == "__main__":
    cli(main)
