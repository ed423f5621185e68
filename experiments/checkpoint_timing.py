"""Time the exchange zone: a joint checkpoint before each handoff, or a district review
after it, for the same staff time?

Question: staff time can go into a joint checkpoint just before every handoff (giver and
receiver check the plan together; it lowers the fumble odds by effects.checkpoint and costs
effects.checkpoint_time days per handoff), or into periodic district reviews after the
fact that find dropped batons and pass them again (feedback). With equal staff time, which
gets the initiative implemented more often?

Hypothesis ("time the exchange zone"): preventing fumbles before the handoff beats finding
them afterwards, because a rescued baton arrives late.

Design: the baseline district. Staff time: a checkpoint costs checkpoint_time staff-days
per handoff (every handoff in the district); a review costs C staff-days per school, for
C = 1, 2, 4, ..., 32 (ASSUMPTION: unknown, so swept). The review interval is set so that reviews
use the same staff-days as the checkpoints; a review finds each dropped baton with
probability DETECT (ASSUMPTION 0.5). ASSUMPTION: reviews are spread over the whole horizon
while the outcome is judged at the deadline, so the reviews after the deadline (a third
of them in the baseline) spend staff time that cannot help; this favours checkpoints, and
the cost at which checkpoints start to win would be higher with reviews packed before the
deadline. Same seed for all variants (paired comparisons).
"""

from __future__ import annotations

import numpy as np
from _common import Experiment, ci, cli, dci, paired, pct, rate
from matplotlib.figure import Figure

REVIEW_COST = 1.0  # staff-days per school per review (ASSUMPTION)
DETECT = 0.5  # chance a review finds a given dropped baton (ASSUMPTION)


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("checkpoint_timing", __doc__, argv)
    reps = ex.reps(quick=150, full=12000)
    base = ex.scenario("baseline.toml")
    zones = [z.to for z in base.zones if z is not None]
    sizes = dict(zip([lv.name for lv in base.levels], base.level_sizes, strict=True))
    handoffs = sum(sizes[z] for z in zones)
    schools = base.level_sizes[1]
    cp_time = base.effects.checkpoint_time
    staff_days = handoffs * cp_time

    neither = base.with_values({**{f"zones.{z}.checkpoint": False for z in zones},
                                "feedback.detect": 0.0})
    checkpoints = neither.with_values({f"zones.{z}.checkpoint": True for z in zones})
    r_neither, r_cp = ex.run(neither, reps), ex.run(checkpoints, reps)
    costs = [REVIEW_COST * 2**k for k in range(6)]  # 1 to 32 staff-days per school
    intervals = {c: base.horizon / (staff_days / (c * schools)) for c in costs}
    r_rev = {c: ex.run(neither.with_values({"feedback.detect": DETECT,
                                            "feedback.interval": intervals[c]}), reps)
             for c in costs}

    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.add_subplot()
    xs = np.array(costs)
    y = np.array([rate(r_rev[c])["value"] for c in costs])
    lo = np.array([rate(r_rev[c])["ci95"][0] for c in costs])
    hi = np.array([rate(r_rev[c])["ci95"][1] for c in costs])
    ax.plot(xs, 100 * y, "o-", color="#E69F00", lw=2.5, label="reviews after the handoff")
    ax.fill_between(xs, 100 * lo, 100 * hi, color="#E69F00", alpha=0.2)
    rc = rate(r_cp)
    ax.axhline(100 * rc["value"], color="#0072B2", lw=2.5, label="checkpoint before every handoff")
    ax.axhspan(100 * rc["ci95"][0], 100 * rc["ci95"][1], color="#0072B2", alpha=0.15)
    ax.axhline(100 * rate(r_neither)["value"], color="#555555", ls="--", label="neither")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [f"{c:g} day(s)\n(every {intervals[c]:.0f} days)" for c in costs])
    ax.set_xlabel("Staff-days one review costs per school (and so how often reviews happen)")
    ax.set_ylabel("Chance the initiative is implemented (%)")
    ax.set_title(f"Same staff time ({staff_days:.0f} staff-days): check before, or review after?")
    ax.legend(frameon=False)
    ex.note(fig, f"{reps} replications per point, seed {ex.seed}")
    ex.figure(fig, "checkpoint_timing.png")

    ex.say(f"Staff time: {handoffs} handoffs x {cp_time:g} days = {staff_days:.0f} staff-days.")
    ex.say(f"- neither: {pct(rate(r_neither)['value'])} ({ci(rate(r_neither)['ci95'])})")
    ex.say(f"- checkpoint before every handoff: {pct(rc['value'])} ({ci(rc['ci95'])})")
    diffs = {}
    for c in costs:
        r = rate(r_rev[c])
        diffs[c] = paired(r_rev[c], r_cp, "coverage")
        ex.say(f"- reviews costing {c:g} staff-day(s) per school, every {intervals[c]:.0f} days: "
               f"{pct(r['value'])} ({ci(r['ci95'])}); checkpoints minus reviews, coverage "
               f"{100 * diffs[c]['difference']:+.1f} points ({dci(diffs[c]['ci95'])})")
    g_cp = paired(r_neither, r_cp, "coverage")
    g_rev = paired(r_neither, r_rev[REVIEW_COST], "coverage")
    ex.headline("checkpoint_gain_coverage", g_cp["difference"], (0.025, 0.06),
                "coverage gained by checkpoints before every handoff", g_cp["ci95"])
    ex.headline("review_gain_coverage", g_rev["difference"], (0.07, 0.13),
                "coverage gained by reviews (1 staff-day per school)", g_rev["ci95"])
    better = [c for c in costs if diffs[c]["ci95"][0] > 0]
    worse = [c for c in costs if diffs[c]["ci95"][1] < 0]
    if better and worse and max(worse) < min(better):
        tail = (f"reviews win while a review costs at most {max(worse):g} staff-day(s) per "
                f"school and checkpoints win from {min(better):g} staff-days on")
    elif better and worse:
        tail = (f"reviews win at review costs of {', '.join(f'{c:g}' for c in worse)} and "
                f"checkpoints at {', '.join(f'{c:g}' for c in better)} staff-days per school")
    elif worse:
        tail = "reviews win at every review cost tested"
    elif better:
        tail = "checkpoints win at every review cost tested"
    else:
        tail = "the two are not distinguishable at this sample size"
    verdict = ("supported" if better and not worse else
               "not supported" if worse and not better else
               "supported only when reviews are costly" if worse else "not settled")
    helps = [n for n, g in (("checkpoints", g_cp), ("cheap frequent reviews", g_rev))
             if g["ci95"][0] > 0]
    opener = ("Both help" if len(helps) == 2 else f"Only {helps[0]} help" if helps
              else "Neither helps clearly")
    ex.finish(
        f"{opener}: checkpoints change coverage by {100 * g_cp['difference']:+.1f} points "
        f"({dci(g_cp['ci95'])}), cheap frequent reviews by {100 * g_rev['difference']:+.1f} "
        f"({dci(g_rev['ci95'])}). For the same staff time, {tail}: whether to check before or "
        f"review after depends on how cheaply the district can review (ASSUMPTION: a review "
        f"finds each dropped baton with probability {DETECT:g}), so the hypothesis that "
        f"checking before beats reviewing after is {verdict}.")


if __name__ == "__main__":
    cli(main)
