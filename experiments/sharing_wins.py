"""Sharing school wins: do showcase visits between schools recover more of an initiative
than district reviews that take the same staff time?

Question (issue 17; Wilhelm 2014, "District Office Leaders: Sharing School Wins",
../shared/seeds/): a district that recognizes schools where a practice works can have them
host showcase visits for peer principals; a district that keeps to the leveling norm ("who
do you think you are?") does not. (1) Does such a culture of recognition, in which
showcases share often, recover more of the implementation than the district's own periodic
reviews of dropped batons ([feedback]) that take the same staff time? (2) How much does the
sharing network's shape matter: every principal, principals of the same kind of school
(segments), or a sparse ring? (3) How much does it help new principals after turnover?

Hypothesis (the article's): sharing recovers more than reviews of the same cost; a network
that reaches every school recovers most; new principals who visit showcases recover
batons that were lost when their predecessor left.

Design: the baseline district (20 schools, 480 classrooms, principal turnover 18% a year,
NCES via FIGURES.md), every variant run with the same seed, so each comparison is paired
replication by replication (common random numbers); outcome: coverage at the deadline
(classrooms implementing with fidelity, paired t interval) and completion (the 80% target,
Tango's paired interval). Peer sharing is between principals (levels.principal.sharing):
a school with THRESHOLD of its classrooms implementing is a showcase and hosts visits at a
rate of 4 a year times `recognition`, each from a peer principal that lacks the baton.

The same staff time. The common currency is hours of principal and district staff time
per school year, counted over the whole run (three school years):
- a district review round looks at every school, REVIEW_HOURS each (20 x REVIEW_HOURS
  hours a round); rounds come every feedback.interval days while the run lasts, so their
  cost is fixed by the schedule: every 180, 90 or 45 days gives 2, 5 or 11 rounds in the
  540 days, 40, 100 or 220 hours a year (the three budgets);
- a showcase visit costs VISIT_HOURS, wasted or not (a visit whose hosts find nobody
  lacking the practice still took the time); a newcomer's visit costs the same.
Sharing's cost follows the showcases a run produces, so `recognition` is calibrated to each
budget (a pilot run at recognition 1, then a linear scaling to the budget's visits) and
every arm's realized cost is reported next to its effect.

ASSUMPTIONS (value; range in the robustness check):
- REVIEW_HOURS = 3 h of district staff time to review one school (2-6);
- VISIT_HOURS = 6 h per showcase visit: the host's preparation and tour, the visitor's half
  day, the district's facilitation (3-12). Only their ratio matters: 2 (0.5-4, a grid);
- DETECT = 0.5, the chance a review finds a dropped baton (0.3-0.8, drawn);
- THRESHOLD = 0.8 of a school's classrooms implementing makes it a showcase (0.5-0.9,
  drawn: the article's "schools on an upward trajectory" can show small wins);
- the lateral zone (a visit and its follow-up): 5 days, base fumble risk 0.10 like the
  district's handoff to principals (0.05-0.3, drawn), fidelity kept 0.95;
- the principal handoff's base fumble risk, 0.10 in the baseline (0.05-0.3, drawn): only
  drops at the principal level are within peers' reach;
- target "lacking": the district sends visitors to the schools that lack the practice;
- segments: elementary 60%, middle 20%, high 20% of the schools; ring: each principal's 2
  neighbours; random: 2 peers drawn anew each replication;
- newcomer visits: 3 a year (times recognition) while a new principal lacks the baton,
  with principal turnover at 18% and 35% a year.

Robustness: the four drawn ASSUMPTIONS above are drawn per replication (uniform over their
ranges, the same draws in every arm), at the middle budget, for each cost ratio on the
grid; the verdict is the paired difference sharing - reviews at each ratio.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

import numpy as np
from _common import SCENARIOS, Experiment, cli, dci, effect, paired
from matplotlib.figure import Figure

import relaysim
from relaysim.engines.records import PEER_FIELDS

REVIEW_HOURS = 3.0  # per school and review round (ASSUMPTION, 2-6)
VISIT_HOURS = 6.0  # per showcase visit (ASSUMPTION, 3-12)
DETECT = 0.5  # chance a review finds a dropped baton (ASSUMPTION, 0.3-0.8)
INTERVALS = (180.0, 90.0, 45.0)  # review schedules: the three budgets
MIDDLE = 90.0
RATIOS = (0.5, 1.0, 2.0, 4.0)  # VISIT_HOURS / REVIEW_HOURS on the robustness grid
SHARING = {"rate": 4.0, "threshold": 0.8, "network": "all", "target": "lacking",
           "duration": 5.0, "fumble": 0.10, "retention": 0.95}
SEGMENTS = [{"name": "elementary", "share": 0.6, "set": {}},
            {"name": "middle", "share": 0.2, "set": {}},
            {"name": "high", "share": 0.2, "set": {}}]
NEWCOMER_RATE = 3.0
NO_REVIEWS = 10_000.0  # a review interval past the horizon: the drawn detect is inert


def _u(low: float, high: float) -> dict[str, Any]:
    return {"dist": "uniform", "low": low, "high": high, "per": "replication"}


DRAWN = {"feedback.detect": _u(0.3, 0.8), "levels.principal.sharing.threshold": _u(0.5, 0.9),
         "levels.principal.sharing.fumble": _u(0.05, 0.3), "zones.principal.fumble": _u(0.05, 0.3)}


class Runs:
    """Runs and, per replication, the peer counts of the sharing level (reps x
    PEER_FIELDS, from the run's columns; zeros without sharing)."""

    def __init__(self, ex: Experiment) -> None:
        self.ex = ex
        self.engines: set[str] = set()

    def run(self, sc: relaysim.Scenario, reps: int) -> tuple[relaysim.RunResult, np.ndarray]:
        res = self.ex.run(sc, reps)
        self.engines.add(res.engine)
        k, cols = sc.sharing_level, res.columns
        if k is None or cols.peers is None:
            return res, np.zeros((reps, len(PEER_FIELDS)))
        return res, cols.peers[cols.rows_of(sc.initiatives[0].name), k].astype(float)


def rounds(sc: relaysim.Scenario) -> int:
    """Review rounds in the run (days interval, 2 x interval, ... before the horizon)."""
    if sc.feedback.detect <= 0 or sc.feedback.interval >= sc.horizon:
        return 0
    return math.ceil(sc.horizon / sc.feedback.interval) - 1


def years(sc: relaysim.Scenario) -> float:
    return sc.horizon / sc.year_length


def review_hours(sc: relaysim.Scenario) -> float:
    """Staff hours a year of the scenario's district reviews."""
    return rounds(sc) * sc.level_sizes[1] * REVIEW_HOURS / years(sc)


def visit_hours(sc: relaysim.Scenario, peers: np.ndarray, visit: float = VISIT_HOURS
                ) -> dict[str, float]:
    """Staff hours a year of showcase visits: mean and 95% interval over replications."""
    h = peers[:, PEER_FIELDS.index("shares")] * visit / years(sc)
    se = h.std(ddof=1) / math.sqrt(len(h)) if len(h) > 1 else 0.0
    return {"mean": float(h.mean()), "ci95": [float(h.mean() - 1.96 * se),
                                              float(h.mean() + 1.96 * se)]}


def peer_mean(peers: np.ndarray, field: str) -> float:
    return float(peers[:, PEER_FIELDS.index(field)].mean())


def with_sharing(sc: relaysim.Scenario, **over: Any) -> relaysim.Scenario:
    return sc.with_values({f"levels.principal.sharing.{k}": v
                           for k, v in {**SHARING, **over}.items()})


def calibrate(runs: Runs, sc: relaysim.Scenario, reps: int, budgets: dict[Any, float],
              visit: float = VISIT_HOURS) -> dict[Any, float]:
    """Recognition giving each budget's hours a year of showcase visits: a pilot run at
    recognition 1, then a linear scaling (visits are about proportional to it)."""
    _, peers = runs.run(with_sharing(sc, recognition=1.0), reps)
    per_unit = visit_hours(sc, peers, visit)["mean"]
    return {k: b / per_unit for k, b in budgets.items()}


def segmented(sc_file: str) -> relaysim.Scenario:
    """The baseline with its schools in three segments that change nothing but who shares
    with whom (the draws of every runner are unchanged)."""
    raw = tomllib.loads((SCENARIOS / sc_file).read_text(encoding="utf-8"))
    raw["levels"][1]["segments"] = SEGMENTS
    return relaysim.scenario_from_dict(raw)


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("sharing_wins", __doc__, argv)
    reps = ex.reps(quick=200, full=4000)
    pilot = ex.reps(quick=100, full=1000)
    runs = Runs(ex)
    base = ex.scenario("baseline.toml")
    out: dict[str, Any] = {"reps": reps}
    out["cost"] = equal_cost(ex, runs, base, reps, pilot)
    out["networks"] = networks(ex, runs, base, reps, out["cost"])
    out["newcomers"] = newcomers(ex, runs, base, reps, pilot, out["cost"])
    out["robust"] = robustness(ex, runs, base, reps, pilot)
    figure(ex, out)
    finish(ex, runs, out)


def equal_cost(ex: Experiment, runs: Runs, base: relaysim.Scenario, reps: int, pilot: int
               ) -> dict[str, Any]:
    """(1) Reviews and sharing at three budgets, each against neither (paired)."""
    reviews = {i: base.with_values({"feedback.interval": i, "feedback.detect": DETECT})
               for i in INTERVALS}
    budgets = {i: review_hours(sc) for i, sc in reviews.items()}
    rec = calibrate(runs, base, pilot, budgets)
    none, _ = runs.run(base, reps)
    rows = []
    for i in INTERVALS:
        r_rev, _ = runs.run(reviews[i], reps)
        r_sh, peers = runs.run(with_sharing(base, recognition=rec[i]), reps)
        rows.append({
            "interval": i, "budget": budgets[i], "recognition": rec[i],
            "share_hours": visit_hours(base, peers), "review": paired(none, r_rev, "coverage"),
            "share": paired(none, r_sh, "coverage"), "vs": paired(r_rev, r_sh, "coverage"),
            "vs_c": paired(r_rev, r_sh), "rescued": _rescues(r_rev),
            "recovered": peer_mean(peers, "recovered"),
            "peer_impl": peer_mean(peers, "implemented"),
            "peer_reached": peer_mean(peers, "reached"), "runs": (r_rev, r_sh, peers)})
    return {"none": none, "rows": rows, "budgets": budgets, "recognition": rec}


def _rescues(res: relaysim.RunResult) -> float:
    """Dropped batons a run's reviews found and passed again, mean per replication."""
    return float(np.mean([sum(z.rescues for z in r.initiatives[0].zones)
                          for r in res.replications]))


def networks(ex: Experiment, runs: Runs, base: relaysim.Scenario, reps: int,
             cost: dict[str, Any]) -> dict[str, Any]:
    """(2) The network's shape at the middle budget's recognition."""
    rec = cost["recognition"][MIDDLE]
    row = next(r for r in cost["rows"] if r["interval"] == MIDDLE)
    r_all, p_all = row["runs"][1], row["runs"][2]
    seg = segmented("baseline.toml")
    shapes = {"every school": (r_all, p_all)}
    for label, sc in (("same kind\nof school", with_sharing(seg, recognition=rec,
                                                            network="segment")),
                      ("ring:\n2 neighbours", with_sharing(base, recognition=rec,
                                                           network="ring", degree=2)),
                      ("2 random\npeers", with_sharing(base, recognition=rec,
                                                       network="random", degree=2))):
        shapes[label] = runs.run(sc, reps)
    none = cost["none"]
    return {label: {"gain": paired(none, r, "coverage"),
                    "vs_all": None if r is r_all else paired(r_all, r, "coverage"),
                    "recovered": peer_mean(p, "recovered"),
                    "hours": visit_hours(base, p)} for label, (r, p) in shapes.items()}


def newcomers(ex: Experiment, runs: Runs, base: relaysim.Scenario, reps: int, pilot: int,
              cost: dict[str, Any]) -> dict[str, Any]:
    """(3) New principals visiting showcases, at 18% and 35% principal turnover."""
    out = {}
    for turnover in (0.18, 0.35):
        env = base.with_values({"levels.principal.turnover": turnover})
        if turnover == 0.18:
            rec = cost["recognition"][MIDDLE]
            none = cost["none"]
            row = next(r for r in cost["rows"] if r["interval"] == MIDDLE)
            r_sh, p_sh = row["runs"][1], row["runs"][2]
        else:
            rec = calibrate(runs, env, pilot, {MIDDLE: cost["budgets"][MIDDLE]})[MIDDLE]
            none, _ = runs.run(env, reps)
            r_sh, p_sh = runs.run(with_sharing(env, recognition=rec), reps)
        r_new, p_new = runs.run(with_sharing(env, recognition=rec,
                                             newcomer_rate=NEWCOMER_RATE), reps)
        out[turnover] = {
            "sharing": paired(none, r_sh, "coverage"), "added": paired(r_sh, r_new, "coverage"),
            "added_c": paired(r_sh, r_new), "lost_none": _lost(none),
            "from_lost": peer_mean(p_new, "from_lost"),
            "from_lost_share": peer_mean(p_sh, "from_lost"),
            "newcomers": peer_mean(p_new, "newcomers"),
            "extra_handoffs": peer_mean(p_new, "handoffs") - peer_mean(p_sh, "handoffs")}
    return out


def _lost(res: relaysim.RunResult) -> float:
    """Classrooms lost to turnover per replication (all levels), mean."""
    return float(np.mean([r.initiatives[0].lost for r in res.replications]))


def robustness(ex: Experiment, runs: Runs, base: relaysim.Scenario, reps: int, pilot: int
               ) -> dict[str, Any]:
    """(4) The verdict over the ASSUMPTION ranges: four drawn per replication, the cost
    ratio on a grid, at the middle budget."""
    drawn = base.with_values({**DRAWN, "feedback.interval": NO_REVIEWS,
                              "levels.principal.sharing.recognition": 0.0,
                              **{f"levels.principal.sharing.{k}": v for k, v in SHARING.items()
                                 if k not in ("threshold", "fumble")}})
    rev = drawn.with_values({"feedback.interval": MIDDLE})
    budget = review_hours(rev.with_values({"feedback.detect": DETECT}))
    none, _ = runs.run(drawn, reps)
    r_rev, _ = runs.run(rev, reps)
    _, peers1 = runs.run(drawn.with_values({"levels.principal.sharing.recognition": 1.0}),
                         pilot)
    out: dict[str, Any] = {"budget": budget, "review": paired(none, r_rev, "coverage"),
                           "ratios": {}}
    for ratio in RATIOS:
        visit = ratio * REVIEW_HOURS
        rec = budget / visit_hours(drawn, peers1, visit)["mean"]
        r_sh, p_sh = runs.run(drawn.with_values(
            {"levels.principal.sharing.recognition": rec}), reps)
        out["ratios"][ratio] = {"recognition": rec, "hours": visit_hours(drawn, p_sh, visit),
                                "share": paired(none, r_sh, "coverage"),
                                "vs": paired(r_rev, r_sh, "coverage"),
                                "vs_c": paired(r_rev, r_sh), "res": r_sh}
    out["by_fumble"] = _by_fumble(none, r_rev, out["ratios"][min(RATIOS)]["res"])
    return out


def _by_fumble(none: relaysim.RunResult, rev: relaysim.RunResult, share: relaysim.RunResult
               ) -> dict[str, Any]:
    """Sharing (at the cheapest visits) minus reviews in the replications whose principal
    handoff was riskiest (top quarter of the drawn fumble risk), paired."""
    from relaysim.study.intervals import paired_means

    f = share.district_values["zones.principal.fumble"]
    top = f >= np.quantile(f, 0.75)
    cov = [np.array([r.initiatives[0].coverage for r in x.replications]) for x in
           (rev, share)]
    m = paired_means(cov[0][top], cov[1][top], max_abs_difference=1.0)
    return {"low": float(np.quantile(f, 0.75)), "difference": m.difference,
            "ci95": list(m.ci), "n": int(top.sum())}


def figure(ex: Experiment, out: dict[str, Any]) -> None:
    fig = Figure(figsize=(15, 5.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
    rows = out["cost"]["rows"]
    for key, color, lab, hours in (
            ("review", "#D55E00", "district reviews", [r["budget"] for r in rows]),
            ("share", "#0072B2", "showcase visits", [r["share_hours"]["mean"] for r in rows])):
        y = np.array([100 * r[key]["difference"] for r in rows])
        lo = np.array([100 * r[key]["ci95"][0] for r in rows])
        hi = np.array([100 * r[key]["ci95"][1] for r in rows])
        ax1.errorbar(hours, y, yerr=[y - lo, hi - y], fmt="o-", color=color, lw=2.5,
                     capsize=4, label=lab)
    ax1.axhline(0, color="#999999", lw=1)
    ax1.set_xlabel("Staff hours a year (principals and district office)")
    ax1.set_ylabel("Classrooms implementing: gain (points)")
    ax1.set_title("Same staff time: reviews or showcase visits?")
    ax1.legend(frameon=False)
    _bars(ax2, {k: v["gain"] for k, v in out["networks"].items()},
          "Who visits whom (same recognition)")
    robust = out["robust"]["ratios"]
    _bars(ax3, {f"a visit =\n{r:g} x a\nschool review": robust[r]["vs"] for r in RATIOS},
          "Visits minus reviews, same hours,\nover the assumption ranges", "#CC79A7")
    ex.note(fig, f"{out['reps']} replications per bar/point, seed {ex.seed}; 95% intervals "
                 f"from paired replications")
    ex.figure(fig, "sharing_wins.png")


def _bars(ax: Any, effects: dict[str, dict[str, Any]], title: str,
          color: str = "#0072B2") -> None:
    labels = list(effects)
    y = np.array([100 * e["difference"] for e in effects.values()])
    lo = np.array([100 * e["ci95"][0] for e in effects.values()])
    hi = np.array([100 * e["ci95"][1] for e in effects.values()])
    ax.bar(range(len(y)), y, yerr=[y - lo, hi - y], color=color, capsize=4)
    ax.axhline(0, color="#999999", lw=1)
    ax.set_xticks(range(len(y)), labels, fontsize=10)
    ax.set_ylabel("Classrooms implementing: difference (points)")
    ax.set_title(title)


def _pts(d: dict[str, Any]) -> str:
    """A coverage effect in points, two decimals (some effects here are a tenth of one)."""
    lo, hi = d["ci95"]
    return (f"{100 * d['difference']:+.2f} points (95% CI {100 * lo:+.2f} to "
            f"{100 * hi:+.2f} points)")


def finish(ex: Experiment, runs: Runs, out: dict[str, Any]) -> None:
    cost, net, new, rob = out["cost"], out["networks"], out["newcomers"], out["robust"]
    drops = np.array([[z.drops for z in r.initiatives[0].zones]
                      for r in cost["none"].replications]).mean(axis=0)
    sc = cost["none"].scenario
    sizes = [sc.n_classrooms // n for n in sc.level_sizes]  # classrooms under one runner
    ex.say(f"Engine: {', '.join(sorted(runs.engines))}. Coverage effects are paired "
           f"differences in classrooms implementing at the deadline (points).")
    ex.say(f"Without either, a run drops {drops[1]:.2f} batons at the handoff to principals "
           f"({drops[1] * sizes[1]:.1f} classrooms, within peers' reach) and "
           + ", ".join(f"{drops[k]:.2f} at the handoff to {lv.name}" for k, lv in
                       enumerate(cost["none"].scenario.levels) if k > 1)
           + f" ({sum(drops[k] * sizes[k] for k in range(2, len(drops))):.1f} classrooms, "
           f"beyond it); {_lost(cost['none']):.1f} classrooms are lost to turnover.")
    ex.say("")
    for r in cost["rows"]:
        h = r["share_hours"]
        ex.say(f"- reviews every {r['interval']:g} days ({r['budget']:.0f} h a year): "
               f"{_pts(r['review'])}, {r['rescued']:.1f} dropped batons found a run; "
               f"showcase visits at recognition {r['recognition']:.2f} ({h['mean']:.0f} h a "
               f"year, 95% CI {h['ci95'][0]:.0f} to {h['ci95'][1]:.0f}): {_pts(r['share'])}, "
               f"{r['recovered']:.2f} batons picked up from a peer a run, reaching "
               f"{r['peer_reached']:.1f} classrooms by the end of the run, "
               f"{r['peer_impl']:.1f} implementing by the deadline; visits minus "
               f"reviews {_pts(r['vs'])}; completion {effect(r['vs_c'])}")
    ex.say("")
    for label, d in net.items():
        vs = "" if d["vs_all"] is None else f"; minus 'every school': {_pts(d['vs_all'])}"
        ex.say(f"- network '{label.replace(chr(10), ' ')}': {_pts(d['gain'])} against "
               f"neither ({d['recovered']:.2f} batons from peers a run, "
               f"{d['hours']['mean']:.0f} h a year){vs}")
    ex.say("")
    for t, d in new.items():
        ex.say(f"- principal turnover {100 * t:.0f}% a year: sharing {_pts(d['sharing'])}; "
               f"adding newcomer visits ({NEWCOMER_RATE:g} a year) {_pts(d['added'])}, "
               f"completion {effect(d['added_c'])}; {d['newcomers']:.3f} new principals a "
               f"run got the baton from a peer, {d['from_lost']:.3f} batons lost to "
               f"turnover picked up ({d['from_lost_share']:.3f} without newcomer visits), "
               f"lateral handoffs a run change by {d['extra_handoffs']:+.2f} (newcomers take "
               f"some of the batons showcases would have handed over)")
    ex.say("")
    ex.say(f"Robustness (detect, threshold, lateral and principal fumble risk drawn per "
           f"replication; reviews every {MIDDLE:g} days, {rob['budget']:.0f} h a year, "
           f"{_pts(rob['review'])}):")
    for ratio, d in rob["ratios"].items():
        ex.say(f"- a visit costing {ratio:g} x a school review: visits {_pts(d['share'])} "
               f"(recognition {d['recognition']:.2f}, {d['hours']['mean']:.0f} h a year); "
               f"minus reviews {_pts(d['vs'])}")
    bf = rob["by_fumble"]
    ex.say(f"- where the principal handoff is riskiest (drawn fumble >= {bf['low']:.2f}, "
           f"{bf['n']} replications), the cheapest visits minus reviews: {_pts(bf)}")
    _headlines(ex, out)
    ex.finish(_answer(out))


def _headlines(ex: Experiment, out: dict[str, Any]) -> None:
    mid = next(r for r in out["cost"]["rows"] if r["interval"] == MIDDLE)
    ex.headline("review_gain", mid["review"]["difference"], (0.02, 0.12),
                "coverage gained by reviews every 90 days (100 h a year)",
                mid["review"]["ci95"])
    ex.headline("share_gain", mid["share"]["difference"], (-0.01, 0.03),
                "coverage gained by showcase visits of the same staff time",
                mid["share"]["ci95"])
    ex.headline("share_minus_review", mid["vs"]["difference"], (-0.12, -0.01),
                "showcase visits minus reviews of the same staff time, coverage",
                mid["vs"]["ci95"], effect=mid["vs_c"])
    cheap = out["robust"]["ratios"][min(RATIOS)]["vs"]
    ex.headline("share_minus_review_robust", cheap["difference"], (-0.12, 0.0),
                "the same over the assumption ranges, visits at half a review's cost",
                cheap["ci95"])


def _answer(out: dict[str, Any]) -> str:
    mid = next(r for r in out["cost"]["rows"] if r["interval"] == MIDDLE)
    rob = out["robust"]["ratios"]
    wins = [r for r in RATIOS if rob[r]["vs"]["ci95"][0] > 0]
    loses = [r for r in RATIOS if rob[r]["vs"]["ci95"][1] < 0]
    net = out["networks"]
    spread = max(d["gain"]["difference"] for d in net.values()) - min(
        d["gain"]["difference"] for d in net.values())
    new = out["newcomers"][0.18]
    vs = mid["vs"]
    first = ("No" if vs["ci95"][1] < 0 else "Yes" if vs["ci95"][0] > 0 else
             "Not measurably either way")
    return (
        f"{first}: at the same staff time ({mid['budget']:.0f} hours a year), district "
        f"reviews every 90 days raise the classrooms implementing by {_pts(mid['review'])}, "
        f"showcase visits by {_pts(mid['share'])}; visits minus reviews {_pts(vs)} "
        f"(completion {100 * mid['vs_c']['difference']:+.1f} points, "
        f"{dci(mid['vs_c']['ci95'])}). In the model a peer can pass the baton only to a "
        f"principal who lacks it, and only once a school has it working; reviews also find "
        f"the drops inside schools (the coach and classroom handoffs). The network's shape "
        f"moves the gain by at most {100 * spread:.2f} points; newcomer visits add "
        f"{_pts(new['added'])} at 18% principal turnover. Over the assumption ranges "
        + ("reviews stay ahead at every cost ratio tried" if len(loses) == len(RATIOS) else
           "visits stay ahead at every cost ratio tried" if len(wins) == len(RATIOS) else
           "reviews stay ahead when a visit costs "
           + (", ".join(f"{r:g}" for r in loses) or "no ratio tried")
           + " x a school review, visits when it costs "
           + (", ".join(f"{r:g}" for r in wins) or "no ratio tried") + " x")
        + f". The hypothesis is {'supported' if vs['ci95'][0] > 0 else 'not supported'}.")


if __name__ == "__main__":
    cli(main)
