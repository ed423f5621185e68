"""Leadership turnover stalls initiatives; does succession planning protect them?

Question: how much does principal and superintendent turnover, across the published range,
lower the chance that an initiative is implemented, and how much of that loss does
succession planning (shadowing, bench strength: a leaver's batons are rarely lost) win
back?

Hypothesis: completion falls as turnover rises; with succession planning it falls less.

Design: the baseline district, each comparison paired (same seed everywhere). (1)
Principal turnover from 0 to 0.35 a year (FIGURES.md: NCES Principal Follow-up Survey,
about 17-20% leave their school a year [S]) with the superintendent's (district office's)
turnover at 0.15 a year (White 2023: 14.2-17.1% [S]), without and with succession planning
FOR PRINCIPALS (a leaver's batons are lost with probability SUCCESSION instead of 1), so
that what principal turnover costs and what principal succession wins back are measured
on the same lever. (2) Superintendent turnover 0, 0.15 and 0.30 a year with principals at
0.18, without and with succession planning for the superintendent.
"""

from __future__ import annotations

import numpy as np
from _common import Experiment, ci, cli, dci, effect, paired, pct, rate
from matplotlib.figure import Figure

SUCCESSION = 0.2  # chance a leaver's baton is lost with succession planning (ASSUMPTION)
SUPERINTENDENT = 0.15  # per year (White 2023, 14.2-17.1%)


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("turnover_and_succession", __doc__, argv)
    reps = ex.reps(quick=100, full=2000)
    base = ex.scenario("baseline.toml")
    top, principal = base.levels[0].name, base.levels[1].name
    rates = [0.0, 0.1, 0.18, 0.25, 0.35]
    sup_rates = [0.0, SUPERINTENDENT, 0.30]

    def variant(t_p: float, t_s: float, plan_p: bool, plan_s: bool) -> object:
        return ex.run(base.with_values({
            f"levels.{principal}.turnover": t_p, f"levels.{top}.turnover": t_s,
            f"levels.{principal}.loss_on_turnover": 1.0, f"levels.{top}.loss_on_turnover": 1.0,
            f"levels.{principal}.succession": SUCCESSION if plan_p else None,
            f"levels.{top}.succession": SUCCESSION if plan_s else None}), reps)

    runs = {(t, plan): variant(t, SUPERINTENDENT, plan, False)
            for t in rates for plan in (False, True)}
    sup = {(t, plan): (runs[(0.18, False)] if (t, plan) == (SUPERINTENDENT, False)
                       else variant(0.18, t, False, plan))
           for t in sup_rates for plan in (False, True)}

    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.add_subplot()
    for plan, color, lab in ((False, "#D55E00", "no succession planning"),
                             (True, "#0072B2", "succession planning for principals")):
        y = np.array([rate(runs[(t, plan)])["value"] for t in rates])
        lo = np.array([rate(runs[(t, plan)])["ci95"][0] for t in rates])
        hi = np.array([rate(runs[(t, plan)])["ci95"][1] for t in rates])
        ax.plot(100 * np.array(rates), 100 * y, "o-", color=color, lw=2.5, label=lab)
        ax.fill_between(100 * np.array(rates), 100 * lo, 100 * hi, color=color, alpha=0.15)
    ax.axvspan(17, 20, color="#999999", alpha=0.2, label="NCES: principals leaving a year")
    ax.set_xlabel("Principals leaving their school per year (%)")
    ax.set_ylabel("Chance the initiative is implemented (%)")
    ax.set_title(f"Principal turnover (superintendent {100 * SUPERINTENDENT:.0f}%/year)")
    ax.legend(frameon=False)
    ex.note(fig, f"{reps} replications per point, seed {ex.seed}")
    ex.figure(fig, "turnover_and_succession.png")

    for t in rates:
        a, b = rate(runs[(t, False)]), rate(runs[(t, True)])
        ex.say(f"- principal turnover {100 * t:.0f}%/yr: no plan {pct(a['value'])} "
               f"({ci(a['ci95'])}), succession {pct(b['value'])} ({ci(b['ci95'])})")
    ex.say("")
    for t in sup_rates:
        a, b = rate(sup[(t, False)]), rate(sup[(t, True)])
        ex.say(f"- superintendent turnover {100 * t:.0f}%/yr (principals 18%): no plan "
               f"{pct(a['value'])} ({ci(a['ci95'])}), succession {pct(b['value'])} "
               f"({ci(b['ci95'])})")
    drop = paired(runs[(0.0, False)], runs[(0.18, False)], "coverage")
    saved = paired(runs[(0.18, False)], runs[(0.18, True)], "coverage")
    drop_c = paired(runs[(0.0, False)], runs[(0.18, False)])
    saved_c = paired(runs[(0.18, False)], runs[(0.18, True)])
    s_drop = paired(sup[(0.0, False)], sup[(SUPERINTENDENT, False)], "coverage")
    s_saved = paired(sup[(SUPERINTENDENT, False)], sup[(SUPERINTENDENT, True)], "coverage")
    ex.say("")
    ex.say(f"From no principal turnover to 18%/yr (no plan): completion {effect(drop_c)}.")
    ex.say(f"Succession planning for principals at 18%/yr: completion {effect(saved_c)}.")
    ex.say(f"Superintendent turnover from 0 to {100 * SUPERINTENDENT:.0f}%/yr: coverage "
           f"{100 * s_drop['difference']:+.1f} points ({dci(s_drop['ci95'])}); succession "
           f"planning for the superintendent: {100 * s_saved['difference']:+.1f} points "
           f"({dci(s_saved['ci95'])}).")
    ex.headline("turnover_effect_coverage", drop["difference"], (-0.03, -0.003),
                "coverage change from 0 to 18% principal turnover (no plan)", drop["ci95"])
    ex.headline("succession_effect_coverage", saved["difference"], (0.002, 0.03),
                "coverage gained by succession planning for principals at 18% turnover",
                saved["ci95"])
    share = saved["difference"] / -drop["difference"] if drop["difference"] < 0 else float("nan")
    falls = drop["ci95"][1] < 0
    less = saved["ci95"][0] > 0
    verdict = ("supported" if falls and less else "not supported" if not falls
               else "half supported: turnover costs, but succession planning does not "
               "measurably protect")
    ex.finish(
        f"At the NCES rate of about 18% a year, principal turnover costs "
        f"{-100 * drop['difference']:.1f} coverage points ({dci(drop['ci95'])}) and "
        f"{-100 * drop_c['difference']:.1f} completion points ({dci(drop_c['ci95'])}) "
        f"against a district with none; "
        f"succession planning for principals wins back {100 * saved['difference']:.1f} "
        f"coverage points ({dci(saved['ci95'])}), {100 * share:.0f}% of the loss, lifting "
        f"completion from {pct(rate(runs[(0.18, False)])['value'])} to "
        f"{pct(rate(runs[(0.18, True)])['value'])} ({effect(saved_c)}). The "
        f"superintendent's "
        f"{100 * SUPERINTENDENT:.0f}% a year costs {-100 * s_drop['difference']:.1f} coverage "
        f"points ({dci(s_drop['ci95'])}) and succession planning there wins back "
        f"{100 * s_saved['difference']:.1f} ({dci(s_saved['ci95'])}); the hypothesis is "
        f"{verdict}.")

if __name__ == "__main__":
    cli(main)
