"""Leadership turnover stalls initiatives; does succession planning protect them?

Question: how much does principal and superintendent turnover, across the published range,
lower the chance that an initiative is implemented, and how much of that loss does
succession planning (shadowing, bench strength: a leaver's batons are rarely lost) win
back?

Hypothesis: completion falls as turnover rises; with succession planning it falls less.

Design: the baseline district. Principal turnover from 0 to 0.35 a year (FIGURES.md: NCES
Principal Follow-up Survey, about 17-20% leave their school a year [S]) with the district
office's (superintendent's) turnover at 0.15 a year (White 2023: 14.2-17.1% [S]); each
with no succession planning (a leaver's batons are lost) and with succession planning
(each baton lost with probability SUCCESSION). Same seed everywhere (paired comparisons).
"""

from __future__ import annotations

import numpy as np
from _common import Experiment, ci, cli, dci, paired, pct, rate
from matplotlib.figure import Figure

SUCCESSION = 0.2  # chance a leaver's baton is lost with succession planning (ASSUMPTION)
SUPERINTENDENT = 0.15  # per year (White 2023, 14.2-17.1%)


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("turnover_and_succession", __doc__, argv)
    reps = ex.reps(quick=150, full=2000)
    base = ex.scenario("baseline.toml")
    top, principal = base.levels[0].name, base.levels[1].name
    rates = [0.0, 0.1, 0.18, 0.25, 0.35]
    runs: dict[tuple[float, bool], object] = {}
    for t in rates:
        for plan in (False, True):
            values = {f"levels.{principal}.turnover": t, f"levels.{top}.turnover": SUPERINTENDENT,
                      f"levels.{principal}.loss_on_turnover": 1.0,
                      f"levels.{top}.loss_on_turnover": 1.0,
                      f"levels.{principal}.succession": SUCCESSION if plan else None,
                      f"levels.{top}.succession": SUCCESSION if plan else None}
            runs[(t, plan)] = ex.run(base.with_values(values), reps)

    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.add_subplot()
    for plan, color, lab in ((False, "#D55E00", "no succession planning"),
                             (True, "#0072B2", "succession planning")):
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
    fig.supxlabel(f"{reps} replications per point, seed {ex.seed}", x=0.99, ha="right",
                  fontsize=10, color="#555555")
    ex.figure(fig, "turnover_and_succession.png")

    for t in rates:
        a, b = rate(runs[(t, False)]), rate(runs[(t, True)])
        ex.say(f"- principal turnover {100 * t:.0f}%/yr: no plan {pct(a['value'])} "
               f"({ci(a['ci95'])}), succession {pct(b['value'])} ({ci(b['ci95'])})")
    drop = paired(runs[(0.0, False)], runs[(0.18, False)], "coverage")
    saved = paired(runs[(0.18, False)], runs[(0.18, True)], "coverage")
    ex.say("")
    ex.say(f"From no principal turnover to 18%/yr (no plan): coverage "
           f"{100 * drop['difference']:+.1f} points ({dci(drop['ci95'])}).")
    ex.say(f"Succession planning at 18%/yr: coverage {100 * saved['difference']:+.1f} points "
           f"({dci(saved['ci95'])}).")
    ex.headline("turnover_effect_coverage", drop["difference"], (-1.0, 0.0),
                "coverage change from 0 to 18% principal turnover (no plan)", drop["ci95"])
    ex.headline("succession_effect_coverage", saved["difference"], (0.0, 1.0),
                "coverage gained by succession planning at 18% turnover", saved["ci95"])
    ex.finish(
        f"At the NCES rate of about 18% a year, principal turnover costs "
        f"{-100 * drop['difference']:.1f} coverage points ({dci(drop['ci95'])}) against a "
        f"district with none; succession planning wins back {100 * saved['difference']:.1f} "
        f"points ({dci(saved['ci95'])}). Completion: "
        f"{pct(rate(runs[(0.18, False)])['value'])} without a plan, "
        f"{pct(rate(runs[(0.18, True)])['value'])} with one.")


if __name__ == "__main__":
    cli(main)
