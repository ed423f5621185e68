"""Practice the pass: rehearsal at one exchange zone versus at all of them, and where the
returns diminish.

Question: relay teams rehearse handoffs for hours. If a district rehearses the handoff at
one junction only, which one, and how much more does rehearsing every junction add?

Hypothesis: rehearsal helps wherever it is done, the best single zone gives most of the
gain, and the zones' gains add up to less than rehearsing them all together gives beyond
the sum (diminishing returns across zones: a negative interaction). Rehearsal also shows
diminishing returns in its strength (the odds factor effects.rehearsal).

Design: the baseline district; variants with no rehearsal, rehearsal at each single zone,
and at all zones; then all zones rehearsed with the rehearsal odds factor from 1 (no
effect) to 0.2. All variants share their random numbers (same seed), so each comparison is
paired replication by replication. The interaction is (all - none) - sum over zones of
(zone alone - none), per replication, with a 95% t interval: 0 means the zones' effects
simply add up.
"""

from __future__ import annotations

import numpy as np
from _common import Contrast, Experiment, ci, cli, dci, effect, mean_ci, paired, pct, per_rep, rate
from matplotlib.figure import Figure

import relaysim

NONE, ALL = "none", "all"  # variant names; the others are the zones rehearsed alone


def rehearsed(base: relaysim.Scenario) -> dict[str, relaysim.Scenario]:
    """No handoff rehearsed, each zone (by receiving level) alone, and all of them."""
    zones = [z.to for z in base.zones if z is not None]
    none = base.with_values({f"zones.{z}.rehearsed": False for z in zones})
    return {NONE: none, **{z: none.with_values({f"zones.{z}.rehearsed": True}) for z in zones},
            ALL: none.with_values({f"zones.{z}.rehearsed": True for z in zones})}


def headline(base: relaysim.Scenario) -> tuple[dict[str, relaysim.Scenario], list[Contrast]]:
    """The headline comparisons (also rerun by robust_answers), as the answer states them:
    no single zone gives half of the coverage gain of rehearsing all (all + none - 2 x
    zone > 0, per zone); the zones' effects interact a little, negatively in completion
    and positively in coverage (all - none - sum of (zone - none)); the handoffs to
    classrooms and to coaches tie."""
    variants = rehearsed(base)
    zones = [z for z in variants if z not in (NONE, ALL)]
    inter = {ALL: 1, NONE: len(zones) - 1, **{z: -1 for z in zones}}
    return variants, [
        *(Contrast(f"all_beyond_twice_{z}", f"rehearse all, beyond twice the gain of {z} "
                   "alone, coverage", {ALL: 1, NONE: 1, z: -2}, +1, "coverage")
          for z in zones),
        Contrast("interaction_completion", "all zones minus the sum of single-zone gains, "
                 "completion", inter, -1),
        Contrast("interaction_coverage", "all zones minus the sum of single-zone gains, "
                 "coverage", inter, +1, "coverage"),
        Contrast(f"{zones[-1]}_minus_{zones[-2]}", f"rehearse {zones[-1]} minus "
                 f"{zones[-2]}, completion", {zones[-1]: 1, zones[-2]: -1}, 0)]


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("practice_the_pass", __doc__, argv)
    reps = ex.reps(quick=150, full=12000)
    base = ex.scenario("baseline.toml", **{"effects.rehearsal": 0.5})
    variants = rehearsed(base)
    zones = [z for z in variants if z not in (NONE, ALL)]
    runs = {k: ex.run(sc, reps) for k, sc in variants.items()}
    r_none, r_all, everywhere = runs[NONE], runs[ALL], variants[ALL]
    single = {z: runs[z] for z in zones}

    gains = {z: paired(r_none, r, "coverage") for z, r in single.items()}
    gains_c = {z: paired(r_none, r) for z, r in single.items()}
    order = sorted(zones, key=lambda z: -gains_c[z]["difference"])  # by completion gain
    best = order[0]
    vs = paired(single[order[1]], single[best]) if len(order) > 1 else None
    tie = vs is not None and vs["ci95"][0] <= 0
    g_best = gains[best]
    g_all = paired(r_none, r_all, "coverage")
    g_rest = paired(single[best], r_all, "coverage")

    def interaction(attr: str) -> dict[str, float]:
        base0 = per_rep(r_none, attr)
        d = (per_rep(r_all, attr) - base0) - sum(per_rep(single[z], attr) - base0
                                                 for z in zones)
        return mean_ci(d)

    inter, inter_c = interaction("coverage"), interaction("completed")

    strengths = [1.0, 0.8, 0.6, 0.4, 0.2]
    by_strength = [ex.run(everywhere.with_values({"effects.rehearsal": s}), reps)
                   for s in strengths]

    fig = Figure(figsize=(13, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    labels = ["none", *[f"handoff to\n{z}" for z in zones], "all\nhandoffs"]
    vals = [rate(r_none), *[rate(single[z]) for z in zones], rate(r_all)]
    y = np.array([v["value"] for v in vals])
    err = np.array([[v["value"] - v["ci95"][0], v["ci95"][1] - v["value"]] for v in vals]).T
    colors = ["#999999"] + ["#0072B2"] * len(zones) + ["#009E73"]
    ax1.bar(range(len(vals)), 100 * y, yerr=100 * err, color=colors, capsize=4)
    ax1.set_xticks(range(len(vals)), labels)
    ax1.set_ylabel("Chance the initiative is implemented (%)")
    ax1.set_title("Where the handoff is rehearsed")
    ys = np.array([rate(r)["value"] for r in by_strength])
    ax2.plot(strengths, 100 * ys, "o-", color="#009E73", lw=2.5)
    ax2.invert_xaxis()
    ax2.set_xlabel("Fumble odds when rehearsed (1 = rehearsal does nothing)")
    ax2.set_ylabel("Chance the initiative is implemented (%)")
    ax2.set_title("How strong rehearsal is (all handoffs)")
    ex.note(fig, f"{reps} replications per bar/point, seed {ex.seed}")
    ex.figure(fig, "practice_the_pass.png")

    ex.say(f"No rehearsal: {pct(rate(r_none)['value'])} ({ci(rate(r_none)['ci95'])}).")
    for z in zones:
        g = gains[z]
        ex.say(f"- rehearse the handoff to {z} only: {pct(rate(single[z])['value'])}; coverage "
               f"gain {100 * g['difference']:+.1f} points ({dci(g['ci95'])})")
    ex.say(f"- rehearse every handoff: {pct(rate(r_all)['value'])}; coverage gain "
           f"{100 * g_all['difference']:+.1f} points ({dci(g_all['ci95'])})")
    ex.say("")
    ex.say(f"Best single zone by completion: the handoff to {best}"
           + (f" (minus the handoff to {order[1]}: completion {effect(vs)})" if vs else "")
           + f". Adding the other {len(zones) - 1} "
           f"zone(s) adds {100 * g_rest['difference']:+.1f} coverage points "
           f"({dci(g_rest['ci95'])}).")
    ex.say(f"Interaction (all zones minus the sum of the single-zone gains): coverage "
           f"{100 * inter['difference']:+.2f} points ({dci(inter['ci95'])}), completion "
           f"{100 * inter_c['difference']:+.1f} points ({dci(inter_c['ci95'])}).")
    for s, r in zip(strengths, by_strength, strict=True):
        ex.say(f"- rehearsal odds factor {s:g}: {pct(rate(r)['value'])} ({ci(rate(r)['ci95'])})")

    ex.headline("best_single_gain", g_best["difference"], (0.015, 0.03),
                "coverage gain from rehearsing the best single zone", g_best["ci95"])
    ex.headline("all_minus_best_single", g_rest["difference"], (0.02, 0.045),
                "further coverage gain from rehearsing all zones", g_rest["ci95"])
    ex.headline("interaction_coverage", inter["difference"], (-0.01, 0.01),
                "all zones minus the sum of single-zone gains, coverage (0 = additive)",
                inter["ci95"])
    steps = np.diff(ys)
    ex.say("Each step of rehearsal strength adds (completion points): "
           + ", ".join(f"{100 * s:+.1f}" for s in steps))
    lo_i, hi_i = inter_c["ci95"]
    shape = ("add up: the interaction is indistinguishable from 0" if lo_i <= 0 <= hi_i else
             "add up to more than their sum (they reinforce each other)" if lo_i > 0 else
             "add up to less than their sum (diminishing returns across zones)")
    first = (f"Rehearsing the handoff to {best} or to {order[1]} alone raises completion "
             f"about equally, from {pct(rate(r_none)['value'])} to "
             f"{pct(rate(single[best])['value'])} and {pct(rate(single[order[1]])['value'])}"
             if tie else
             f"Rehearsing the handoff to {best} alone raises completion most, from "
             f"{pct(rate(r_none)['value'])} to {pct(rate(single[best])['value'])}")
    part = g_best["difference"] / g_all["difference"] if g_all["difference"] > 0 else 0.0
    if len(steps) > 1 and np.all(np.diff(steps) < 0):
        strength = "shows diminishing returns throughout"
    elif len(steps) > 1 and steps[-1] < max(steps[:-1]):
        strength = "shows diminishing returns only at the strong end"
    else:
        strength = "shows no diminishing returns"
    ex.finish(
        f"{first}, {100 * part:.0f}% of the coverage gain of rehearsing every handoff "
        f"(completion {pct(rate(r_all)['value'])}); the zones' effects {shape} (completion "
        f"{100 * inter_c['difference']:+.1f} points, {dci(inter_c['ci95'])}; coverage "
        f"{100 * inter['difference']:+.2f} points, {dci(inter['ci95'])}). Rehearsal's "
        f"strength {strength}: the steps from odds factor 1 to 0.2 add "
        + ", ".join(f"{100 * s:+.1f}" for s in steps) + " completion points.")


if __name__ == "__main__":
    cli(main)
