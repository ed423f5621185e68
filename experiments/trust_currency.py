"""Trust as currency: with trust built by clean handoffs and spent by fumbles, do early
fumbles cost more than late ones, and does stable leadership matter more?

Question: "trust is the real currency" (the seeds): it is built by clean handoffs and spent
by dropped ones. If it is, a district that fumbles its first initiative pays for it again
in every later handoff into the same people, and a principal who leaves takes the trust
built with the district office along. How much more does an early fumble cost than a late
one, and how much more does principal turnover cost, when trust moves (docs/model.md
section 4.9) than when it is fixed?

Hypothesis: (1) with dynamic trust an early fumble-prone initiative costs more, relative
to a late one, than with static trust (the difference in differences is negative);
(2) with dynamic trust principal turnover costs more than with static trust.

Design: the baseline district (its tree, rates, turnover and success definition) receives
a sequence of four initiatives, each a copy of the baseline's reading curriculum (clarity
0.6), launched every 90 school days (days 0, 90, 180, 270: ASSUMPTION, a district that
starts a new initiative each half year, as the seeds' "initiative fatigue" describes), each
with the baseline's two years to its deadline (launch + 360); the horizon is four school
years (720 days). Outcome: coverage at the deadline averaged over the four initiatives
(the share of the 4 x 480 classroom implementations the district asked for that happened
on time); also the later initiatives' coverage and completion.

- Trust rule. Static (trust fixed per level, as without [trust_dynamics]) against dynamic
  with gain 0.2 and loss 0.35 (ASSUMPTION; the range checked is gain 0.1 to 0.3 by loss
  0.2 to 0.5, a 3 x 3 grid, with loss above gain because a dropped handoff is remembered
  longer than a clean one), bounds low 0.1 and high 0.9 (ASSUMPTION: nobody trusts
  completely or not at all). The grid also has gain 0 (trust only spent) and loss 0
  (trust only built), to tell which half of the rule carries the effect. Starting trusts
  are the baseline's (principals 0.6, coaches 0.5, teachers 0.45).
- Part 1, early against late fumbles. One initiative is fumble-prone: its clarity is 0.25
  instead of 0.6 (ASSUMPTION, a vague initiative; the portfolio scenario's goals have
  0.35; the fumble odds of each of its handoffs rise by exp(2 x 0.35) = 2x). Early: the
  first initiative; late: the fourth. Cost of a fumble-prone initiative = coverage with
  it minus coverage with all four clear. The answer is the difference in differences
  (early - late under dynamic trust) - (early - late under static trust).
- Part 2, stable leadership. Principal turnover 0 against 18% a year (NCES Principal
  Follow-up Survey, about 17-20% leave their school a year [S]; the other posts keep the
  baseline's rates); cost = coverage at 18% minus coverage at 0; the answer is (cost under
  dynamic trust) - (cost under static trust). A new principal starts at new_trust: the
  level's starting 0.6 (the default: a newcomer starts where the first principal did, so
  only what the leaver built is lost) and, as a second case, 0.4 (ASSUMPTION, range
  0.3-0.5: a newcomer who does not know the office yet), in both trust rules.
- Trust over time: each level's mean trust at days 90 to 720, read by moving the first
  initiative's deadline (the deadline only says when outcomes and trust are read, it
  changes no event: the other initiatives' records are checked to be identical).

Every variant runs with the same seed (common random numbers), so every comparison,
including the differences in differences, is paired replication by replication; intervals
are the project's paired t with a floor for sparse differences
(relaysim.study.intervals.paired_means), on per-replication coverage (completion, 0/1, by
Tango's score interval through _common.paired).

Modelling limit that bounds Part 2: in the model a runner's trust is its trust in its giver
and a giver's departure does not change it (docs/model.md section 4.9). A new principal
forfeits only the principal's own trust in the district office; the coaches' trust in a
new principal does not restart.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
from _common import Experiment, cli, effect, paired, pct, rate
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import relaysim
from relaysim.model.scenario import scenario_from_dict
from relaysim.study.intervals import paired_means

N_INITIATIVES = 4
GAP = 90  # school days between launches (ASSUMPTION)
SPAN = 360  # launch to deadline: the baseline's two school years
HORIZON = 720  # four school years
VAGUE = 0.25  # clarity of the fumble-prone initiative (ASSUMPTION; the others 0.6)
RULE = {"gain": 0.2, "loss": 0.35, "low": 0.1, "high": 0.9}  # ASSUMPTION (see docstring)
GAINS = (0.0, 0.1, 0.2, 0.3)  # the grid; 0 separates trust built from trust spent
LOSSES = (0.0, 0.2, 0.35, 0.5)
TURNOVER = 0.18  # principals leaving their school a year (NCES [S])
NEWCOMER = 0.4  # a new principal's trust in the second case (ASSUMPTION, 0.3-0.5)
TIMES = tuple(range(GAP, HORIZON + 1, GAP))  # days at which trust is read
NAMES = [f"initiative{k + 1}" for k in range(N_INITIATIVES)]


def sequence(base: relaysim.Scenario) -> relaysim.Scenario:
    """The baseline's district receiving four copies of its initiative, GAP days apart."""
    raw = copy.deepcopy(base.raw)
    one = raw["initiatives"][0]
    raw["initiatives"] = [dict(one, name=n, launch=GAP * k, deadline=GAP * k + SPAN)
                          for k, n in enumerate(NAMES)]
    raw["scenario"]["horizon"] = HORIZON
    raw["scenario"]["name"] = "trust_currency"
    return scenario_from_dict(raw, source=base.source)


def with_rule(sc: relaysim.Scenario, gain: float, loss: float) -> relaysim.Scenario:
    return sc.with_values({"trust_dynamics.gain": gain, "trust_dynamics.loss": loss,
                           "trust_dynamics.low": RULE["low"],
                           "trust_dynamics.high": RULE["high"]})


def cov(res: relaysim.RunResult, names: list[str] | None = None) -> np.ndarray:
    """Per replication: coverage at the deadline averaged over the named initiatives."""
    keep = set(names or NAMES)
    return np.array([np.mean([o.coverage for o in r.initiatives if o.name in keep])
                     for r in res.replications])


def diff(a: np.ndarray, b: np.ndarray, bound: float = 1.0) -> dict[str, Any]:
    """b - a, paired (paired_means: t with a floor for sparse differences)."""
    m = paired_means(a, b, max_abs_difference=bound)
    return {"difference": m.difference, "ci95": list(m.ci), "n": m.n}


def arm(ex: Experiment, sc: relaysim.Scenario, reps: int, newcomer: bool = False
        ) -> dict[str, relaysim.RunResult]:
    """One trust rule's variants: all clear, early or late fumble-prone, no principal
    turnover (and, if asked, newcomers at NEWCOMER)."""
    out = {"clear": ex.run(sc, reps),
           "early": ex.run(sc.with_values({f"initiatives.{NAMES[0]}.clarity": VAGUE}), reps),
           "late": ex.run(sc.with_values({f"initiatives.{NAMES[-1]}.clarity": VAGUE}), reps),
           "stable": ex.run(sc.with_values({"levels.principal.turnover": 0.0}), reps)}
    if newcomer:
        out["newcomer"] = ex.run(sc.with_values({"levels.principal.new_trust": NEWCOMER}),
                                 reps)
    return out


def contrasts(s: dict[str, relaysim.RunResult], d: dict[str, relaysim.RunResult]
              ) -> dict[str, dict[str, Any]]:
    """Costs under each rule and the differences in differences (dynamic - static)."""
    c = {k: cov(r) for k, r in s.items()}
    e = {k: cov(r) for k, r in d.items()}
    out = {}
    for tag, x in (("static", c), ("dynamic", e)):
        out[f"early_{tag}"] = diff(x["clear"], x["early"])
        out[f"late_{tag}"] = diff(x["clear"], x["late"])
        out[f"early_minus_late_{tag}"] = diff(x["late"], x["early"])
        out[f"turnover_{tag}"] = diff(x["stable"], x["clear"])
    out["did_fumble"] = diff(c["early"] - c["late"], e["early"] - e["late"], 2.0)
    out["did_turnover"] = diff(c["clear"] - c["stable"], e["clear"] - e["stable"], 2.0)
    if "newcomer" in c and "newcomer" in e:
        for tag, x in (("static", c), ("dynamic", e)):
            out[f"turnover_newcomer_{tag}"] = diff(x["stable"], x["newcomer"])
        out["did_turnover_newcomer"] = diff(c["newcomer"] - c["stable"],
                                            e["newcomer"] - e["stable"], 2.0)
    return out


def spillover(runs: dict[str, relaysim.RunResult]) -> dict[str, Any]:
    """What the first initiative's fumbles cost the first initiative itself and the later
    three, in coverage points."""
    return {"own": diff(cov(runs["clear"], NAMES[:1]), cov(runs["early"], NAMES[:1])),
            "later": diff(cov(runs["clear"], NAMES[1:]), cov(runs["early"], NAMES[1:]))}


def trust_path(ex: Experiment, sc: relaysim.Scenario, reps: int,
               at_deadline: relaysim.RunResult) -> tuple[np.ndarray, bool]:
    """Mean trust per level (rows: levels below the first; columns: day 0 and TIMES),
    read by moving the first initiative's deadline; and whether the later initiatives'
    records were identical to those of `at_deadline` (same seed, first `reps` reps)."""
    levels = [lv.name for lv in sc.levels[1:]]
    path = np.empty((len(levels), len(TIMES) + 1))
    path[:, 0] = [sc.get(f"levels.{n}.trust") for n in levels]
    same = True
    for j, t in enumerate(TIMES):
        r = ex.run(sc.with_values({f"initiatives.{NAMES[0]}.deadline": float(t)}), reps)
        path[:, j + 1] = [np.mean([rep.levels[i + 1].trust for rep in r.replications])
                          for i in range(len(levels))]
        ref = at_deadline.replications[:reps]
        same = same and all(a.initiatives[1:] == b.initiatives[1:] or
                            _same(a.initiatives[1:], b.initiatives[1:])
                            for a, b in zip(ref, r.replications, strict=True))
    return path, same


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Records equal, NaN (no fidelity known) equal to NaN."""
    for x, y in zip(a, b, strict=True):
        for f in dataclasses.fields(x):
            v, w = getattr(x, f.name), getattr(y, f.name)
            if v != w and not (isinstance(v, float) and np.isnan(v) and np.isnan(w)):
                return False
    return True


def grid(ex: Experiment, seq: relaysim.Scenario, static: dict[str, relaysim.RunResult],
         main: dict[str, relaysim.RunResult], reps: int, main_reps: int
         ) -> dict[tuple[float, float], dict[str, dict[str, Any]]]:
    """The two differences in differences at each (gain, loss) of the grid; the main
    rule's point reuses the main runs (truncated to `reps` where they have more)."""
    out = {}
    s = {k: _head(r, reps) for k, r in static.items()}
    for g in GAINS:
        for lo in LOSSES:
            if (g, lo) == (RULE["gain"], RULE["loss"]):
                d = {k: _head(r, reps) for k, r in main.items()}
            elif g == 0 and lo == 0:
                d = s  # the static rule itself: both differences are 0
            else:
                d = arm(ex, with_rule(seq, g, lo), reps)
            out[(g, lo)] = contrasts(s, d)
    return out


class _Head:
    """The first n replications of a run (same seed, so still paired)."""

    def __init__(self, res: relaysim.RunResult, n: int) -> None:
        self.replications = res.replications[:n]


def _head(res: relaysim.RunResult, n: int) -> Any:
    return res if len(res.replications) <= n else _Head(res, n)


def pts(d: dict[str, Any]) -> str:
    """A paired coverage difference in points with its interval."""
    lo, hi = d["ci95"]
    return (f"{100 * d['difference']:+.2f} points (95% CI {100 * lo:+.2f} to "
            f"{100 * hi:+.2f})")


def cost(d: dict[str, Any]) -> str:
    """A coverage loss (a negative difference) as positive points with its interval."""
    lo, hi = d["ci95"]
    return (f"{-100 * d['difference']:.2f} coverage points (95% CI {-100 * hi:.2f} to "
            f"{-100 * lo:.2f})")


def in_range(robust: dict[tuple[float, float], dict[str, Any]]
             ) -> list[dict[str, Any]]:
    """The grid points within the stated range (gain and loss both above 0)."""
    return [r for (g, lo), r in robust.items() if g > 0 and lo > 0]


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("trust_currency", __doc__, argv)
    reps = ex.reps(quick=120, full=4000)
    grid_reps = ex.reps(quick=40, full=1500)
    path_reps = ex.reps(quick=30, full=400)
    seq = sequence(ex.scenario("baseline.toml"))
    dyn = with_rule(seq, RULE["gain"], RULE["loss"])
    static, dynamic = arm(ex, seq, reps, True), arm(ex, dyn, reps, True)
    main_c = contrasts(static, dynamic)
    spill = {"static": spillover(static), "dynamic": spillover(dynamic)}
    paths = {}
    same = True
    for v in ("clear", "early", "late"):
        sc = dyn if v == "clear" else dyn.with_values(
            {f"initiatives.{NAMES[0 if v == 'early' else -1]}.clarity": VAGUE})
        paths[v], ok = trust_path(ex, sc, path_reps, dynamic[v])
        same = same and ok
    robust = grid(ex, seq, static, dynamic, grid_reps, reps)
    levels = [lv.name for lv in seq.levels[1:]]
    figures(ex, main_c, paths, robust, levels, reps, grid_reps, path_reps)
    report(ex, static, dynamic, main_c, spill, paths, robust, levels, same)


def figures(ex: Experiment, c: dict[str, Any], paths: dict[str, np.ndarray],
            robust: dict[tuple[float, float], dict[str, Any]], levels: list[str],
            reps: int, grid_reps: int, path_reps: int) -> None:
    """The costs (bars), trust over time, and the verdicts across the gain/loss grid."""
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    for ax, keys, labels, title in (
            (ax1, ("early", "late"), ["first of four\n(early)", "last of four\n(late)"],
             f"One initiative is vague (clarity {VAGUE:g} instead of 0.6)"),
            (ax2, ("turnover", "turnover_newcomer"),
             ["new principal starts\nat trust 0.6", f"new principal starts\nat trust "
              f"{NEWCOMER:g}"], f"Principal turnover {100 * TURNOVER:.0f}% a year vs none")):
        for j, (tag, color) in enumerate((("static", "#999999"), ("dynamic", "#0072B2"))):
            ds = [c[f"{k}_{tag}"] for k in keys]
            y = np.array([-100 * d["difference"] for d in ds])
            err = np.array([[y[i] + 100 * d["ci95"][1], -100 * d["ci95"][0] - y[i]]
                            for i, d in enumerate(ds)]).T
            ax.bar(np.arange(len(keys)) + (j - 0.5) * 0.38, y, 0.38, yerr=err, capsize=4,
                   color=color, label=f"{tag} trust")
        ax.set_xticks(range(len(keys)), labels)
        ax.set_title(title)
    ax1.set_ylabel("Classroom implementations lost\n(coverage points, mean of 4 initiatives)")
    ax1.legend(frameon=False)
    ex.note(fig, f"{reps} replications per variant, seed {ex.seed}; 95% intervals")
    ex.figure(fig, "trust_currency.png")
    trust_figure(ex, paths, levels, path_reps)
    grid_figure(ex, robust, grid_reps)


def trust_figure(ex: Experiment, paths: dict[str, np.ndarray], levels: list[str],
                 path_reps: int) -> None:
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot()
    days = np.array((0, *TIMES))
    colors = ("#D55E00", "#0072B2", "#009E73")
    styles = (("clear", "-", "all four clear"), ("early", "--", "first one vague"),
              ("late", ":", "last one vague"))
    for i, color in enumerate(colors[:len(levels)]):
        for v, ls, _ in styles:
            ax.plot(days, paths[v][i], ls, color=color, lw=2.2)
        ax.axhline(paths["clear"][i, 0], color=color, lw=0.8, alpha=0.5)
    for k in range(N_INITIATIVES):
        ax.axvline(GAP * k, color="#cccccc", lw=0.8, zorder=0)
    ax.set_xlabel(f"School day (a new initiative every {GAP} days; thin lines: static "
                  "trust)")
    ex.note(fig, f"{path_reps} replications per point, seed {ex.seed}")
    ax.set_ylabel("Mean trust (dynamic rule)")
    ax.set_title(f"Trust built and spent (gain {RULE['gain']:g}, loss {RULE['loss']:g})")
    # colour = level, line style = variant: six legend entries instead of nine
    keys = [Line2D([], [], color=c, lw=2.2, label=f"{lv} level's trust in its giver")
            for lv, c in zip(levels, colors, strict=False)]
    keys += [Line2D([], [], ls=ls, color="#333333", lw=2.2, label=lab) for _, ls, lab in styles]
    ax.legend(handles=keys, frameon=False, fontsize=10, ncol=2, loc="lower right")
    ex.figure(fig, "trust_currency_trust.png")


def grid_figure(ex: Experiment, robust: dict[tuple[float, float], dict[str, Any]],
                grid_reps: int) -> None:
    fig = Figure(figsize=(12, 5), layout="constrained")
    for ax, key, title in zip(fig.subplots(1, 2), ("did_fumble", "did_turnover"), (
            "Early minus late fumble cost:\ndynamic minus static (coverage points)",
            "Cost of principal turnover:\ndynamic minus static (coverage points)"),
            strict=True):
        z = np.array([[100 * robust[(g, lo)][key]["difference"] for g in GAINS]
                      for lo in LOSSES])
        lim = max(abs(z).max(), 1e-9)
        im = ax.imshow(z, cmap="RdBu", vmin=-lim, vmax=lim, origin="lower")
        for i, lo in enumerate(LOSSES):
            for j, g in enumerate(GAINS):
                c = robust[(g, lo)][key]["ci95"]
                sure = "*" if c[1] < 0 or c[0] > 0 else ""
                ax.text(j, i, f"{z[i, j]:+.2f}{sure}", ha="center", va="center",
                        color="white" if abs(z[i, j]) > 0.6 * lim else "black")
        ax.set_xticks(range(len(GAINS)), [f"{g:g}" for g in GAINS])
        ax.set_yticks(range(len(LOSSES)), [f"{lo:g}" for lo in LOSSES])
        ax.set_xlabel("gain per clean handoff")
        ax.set_ylabel("loss per fumble")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    ex.note(fig, f"{grid_reps} replications per variant, seed {ex.seed}; * 95% interval "
                 "excludes 0")
    ex.figure(fig, "trust_currency_robustness.png")


def report(ex: Experiment, static: dict[str, Any], dynamic: dict[str, Any],
           c: dict[str, Any], spill: dict[str, Any], paths: dict[str, np.ndarray],
           robust: dict[tuple[float, float], dict[str, Any]], levels: list[str],
           same: bool) -> None:
    """The summary's lines: the sequence, both parts, the grid and the deadline check."""
    for tag, runs in (("static", static), ("dynamic", dynamic)):
        ex.say(f"- all four clear, {tag} trust: completion "
               + ", ".join(pct(rate(runs["clear"], n)["value"]) for n in NAMES)
               + f"; coverage averaged over the four {pct(cov(runs['clear']).mean())}")
    j360, j720 = TIMES.index(SPAN) + 1, len(TIMES)
    ex.say("- mean trust (dynamic, all clear) at day 0 / 360 / 720: " + "; ".join(
        f"{lv} {paths['clear'][i, 0]:.2f} / {paths['clear'][i, j360]:.2f} / "
        f"{paths['clear'][i, j720]:.2f}" for i, lv in enumerate(levels))
        + "; with the first initiative vague, at day 360: " + ", ".join(
        f"{lv} {paths['early'][i, j360]:.2f}" for i, lv in enumerate(levels)))
    ex.say("")
    ex.say("Part 1, coverage (mean of the four initiatives) lost to one vague initiative:")
    for tag, runs in (("static", static), ("dynamic", dynamic)):
        second = paired(runs["clear"], runs["early"], initiative=NAMES[1])
        ex.say(f"- {tag} trust: early {pts(c[f'early_{tag}'])}, late {pts(c[f'late_{tag}'])};"
               f" early minus late {pts(c[f'early_minus_late_{tag}'])}; of the early cost, "
               f"the first initiative's own coverage {pts(spill[tag]['own'])} and the later "
               f"three's {pts(spill[tag]['later'])}; the second initiative's completion "
               f"{effect(second)}")
    ex.say(f"- difference in differences (dynamic - static) of early minus late: "
           f"{pts(c['did_fumble'])}")
    ex.say("")
    ex.say(f"Part 2, coverage lost to {100 * TURNOVER:.0f}% principal turnover a year:")
    for tag in ("static", "dynamic"):
        ex.say(f"- {tag} trust: newcomer at 0.6 {pts(c[f'turnover_{tag}'])}, newcomer at "
               f"{NEWCOMER:g} {pts(c[f'turnover_newcomer_{tag}'])}")
    ex.say(f"- difference in differences (dynamic - static): newcomer at 0.6 "
           f"{pts(c['did_turnover'])}; at {NEWCOMER:g} {pts(c['did_turnover_newcomer'])}")
    ex.say("")
    ex.say("Across the gain/loss grid (difference in differences, coverage points):")
    for (g, lo), r in robust.items():
        ex.say(f"- gain {g:g}, loss {lo:g}: early - late {pts(r['did_fumble'])}; turnover "
               f"{pts(r['did_turnover'])}")
    ex.say("")
    ex.say("Check: moving the first initiative's deadline changed no other initiative's "
           "records" if same else "WARNING: moving the first initiative's deadline changed "
           "another initiative's records; the trust-over-time figure is suspect")
    headlines_and_answer(ex, c, robust)


def headlines_and_answer(ex: Experiment, c: dict[str, Any],
                         robust: dict[tuple[float, float], dict[str, Any]]) -> None:
    """Headline numbers with their claimed ranges, and the answer with its verdicts."""
    h = ex.headline
    for key, claim, what in (
            ("did_fumble", (-0.012, -0.004),
             "early minus late fumble cost, dynamic minus static trust (coverage)"),
            ("early_minus_late_static", (-0.02, -0.006),
             "early minus late fumble cost, static trust (coverage)"),
            ("early_minus_late_dynamic", (-0.03, -0.012),
             "early minus late fumble cost, dynamic trust (coverage)"),
            ("did_turnover", (-0.003, 0.001), "cost of 18% principal turnover, dynamic "
             "minus static (coverage; newcomer at 0.6)"),
            ("did_turnover_newcomer", (-0.003, 0.001),
             f"the same with newcomers at {NEWCOMER:g}")):
        h(key, c[key]["difference"], claim, what, c[key]["ci95"])
    built = robust[(RULE["gain"], 0.0)]["did_fumble"]
    spent = robust[(0.0, RULE["loss"])]["did_fumble"]
    h("did_fumble_built_only", built["difference"], (-0.012, -0.003),
      f"did_fumble with gain {RULE['gain']:g} and loss 0 (trust only built)", built["ci95"])
    h("did_fumble_spent_only", spent["difference"], (-0.005, 0.001),
      f"did_fumble with gain 0 and loss {RULE['loss']:g} (trust only spent)", spent["ci95"])
    rng = in_range(robust)
    f_share = sum(r["did_fumble"]["ci95"][1] < 0 for r in rng) / len(rng)
    t_share = sum(r["did_turnover"]["ci95"][1] < 0 for r in rng) / len(rng)
    h("grid_share_fumble", f_share, (0.75, 1.0), "share of the gain/loss range where early "
      "fumbles cost measurably more with dynamic trust", None)
    fd, td, tn = c["did_fumble"], c["did_turnover"], c["did_turnover_newcomer"]
    spent_t = robust[(0.0, RULE["loss"])]["did_turnover"]
    extra = td["difference"] / c["turnover_static"]["difference"]
    ex.finish(
        f"An early fumble costs more than a late one, and more so when trust moves. With "
        f"trust fixed, a vague first initiative (clarity {VAGUE:g}) already costs "
        f"{cost(c['early_static'])} averaged over the four initiatives against "
        f"{cost(c['late_static'])} for a vague last one: its retries and reworks hold the "
        f"coaches and classrooms the later initiatives need. With trust built and spent "
        f"(gain {RULE['gain']:g}, loss {RULE['loss']:g}) the costs are "
        f"{cost(c['early_dynamic'])} and {cost(c['late_dynamic'])}, a difference in "
        f"differences of {pts(fd)}: hypothesis 1 is {_verdict(fd)}, at "
        f"{100 * f_share:.0f}% of the gain/loss range (gain 0.1-0.3, loss 0.2-0.5). "
        f"{_channel(built, spent)} Principal turnover at "
        f"{100 * TURNOVER:.0f}% a year costs {cost(c['turnover_static'])} with static "
        f"trust and {cost(c['turnover_dynamic'])} with dynamic trust (difference {pts(td)}; "
        f"measurably more at {100 * t_share:.0f}% of the range; with newcomers starting "
        f"at {NEWCOMER:g} instead of 0.6, {pts(tn)}): hypothesis 2 is {_verdict(td)}, but "
        f"the extra is {100 * extra:.0f}% of what turnover costs anyway, and with trust "
        f"only spent (gain 0, loss {RULE['loss']:g}) it turns round ({pts(spent_t)}): a "
        f"newcomer then starts fresh above the worn-down trust of the one who left. In "
        f"this model a leaving principal takes along only the principal's own trust in the "
        f"district office, whose handoff fumbles least; the coaches' trust does not "
        f"restart with a new principal (a giver's departure leaves the receiver's trust "
        f"as it was), so the model cannot show stable leadership mattering through the "
        f"trust of the people a principal leads.")


def _channel(built: dict[str, Any], spent: dict[str, Any]) -> str:
    """Which half of the rule carries the early fumble's extra cost."""
    b, s = -built["difference"], -spent["difference"]
    if b > 2 * s:
        return (f"The extra cost comes from trust not built rather than trust spent "
                f"(gain only {pts(built)}; loss only {pts(spent)}): a dropped baton cuts "
                f"off a whole subtree, whose runners then miss the clean handoffs that "
                f"would have built their trust for the next initiatives.")
    if s > 2 * b:
        return (f"The extra cost comes from trust spent by the fumbles rather than trust "
                f"not built (loss only {pts(spent)}; gain only {pts(built)}).")
    return (f"Trust not built and trust spent both carry it (gain only {pts(built)}; "
            f"loss only {pts(spent)}).")


def _verdict(d: dict[str, Any]) -> str:
    """Hypotheses here predict a negative difference in differences."""
    if d["ci95"][1] < 0:
        return "supported"
    if d["ci95"][0] > 0:
        return "contradicted (the difference goes the other way)"
    return "not supported (no measurable difference)"


if __name__ == "__main__":
    cli(main)
