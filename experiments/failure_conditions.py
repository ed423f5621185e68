"""Under which conditions does the rollout fail? Scenario discovery over the baseline.

Question: across plausible ranges of the district's conditions and levers (turnover and
succession planning at every level, rehearsal and joint checkpoints at each handoff, how
many batons principals and coaches can carry at once, how many other initiatives arrive,
how clear the initiative is), which combinations make it likely that the initiative is
implemented in fewer than half of the runs?

Hypothesis: failure is concentrated in a box a planner can name in two or three
conditions, and those are about the classroom handoff and leadership turnover rather
than about capacity or clarity.

Design: the baseline district. A Latin hypercube over the levers and conditions below
(relaysim.sweep: one sweep, common random numbers at every point), then PRIM from the EMA
Workbench (relaysim.study.discover) on the points whose completion rate is below 50%, with
its coverage, density and quasi-p-values (a box where at least 80% of the points fail, or,
if failure is too spread out for that, at least half), and extra-trees feature scores.
The full run (at least 1,000 points) uses the fast engine (relaysim's default, engine
"auto"; --engine NAME to choose); --quick runs 24 points.
"""

from __future__ import annotations

import inspect
import sys

from _common import Experiment, cli, pct

from relaysim.engines import select
from relaysim.errors import UsageError
from relaysim.present import plot as P
from relaysim.present.results import open_results
from relaysim.study.designs import make_design, parse_vary
from relaysim.study.discover import box_phrase, discover, limit_phrase
from relaysim.study.sweep import sweep

CONDITION = "completion_rate < 0.5"
# PRIM is asked for a box in which at least 80% of the points fail; when failure is too
# spread out for that, for one in which at least half do (more likely to fail than not)
THRESHOLDS = (0.8, 0.5)
VARY = (
    "levels.district.turnover=0:0.3:2",
    "levels.principal.turnover=0:0.35:2",
    "levels.coach.turnover=0:0.3:2",
    "levels.classroom.turnover=0:0.3:2",
    "levels.district.succession=0.2:1:2",
    "levels.principal.succession=0.2:1:2",
    "levels.coach.succession=0.2:1:2",
    "levels.classroom.succession=0.2:1:2",
    "zones.principal.rehearsed=true,false",
    "zones.coach.rehearsed=true,false",
    "zones.classroom.rehearsed=true,false",
    "zones.principal.checkpoint=true,false",
    "zones.coach.checkpoint=true,false",
    "zones.classroom.checkpoint=true,false",
    "levels.principal.capacity=1:3:2",
    "levels.coach.capacity=1:3:2",
    "initiative_stream.rate=0:3:2",
    "initiatives.reading.clarity=0.3:0.9:2",
)


def _engine(argv: list[str]) -> tuple[str | None, list[str]]:
    """--engine NAME, taken out of the arguments the shared parser sees."""
    rest, engine = [], None
    it = iter(argv)
    for a in it:
        if a == "--engine":
            engine = next(it, None)
            if engine is None:
                print("failure_conditions.py: error: --engine needs a name", file=sys.stderr)
                sys.exit(2)
        elif a.startswith("--engine="):
            engine = a.split("=", 1)[1]
        else:
            rest.append(a)
    return engine, rest


def main(argv: list[str] | None = None) -> None:
    engine, argv = _engine(list(sys.argv[1:] if argv is None else argv))
    ex = Experiment.from_args("failure_conditions", __doc__, argv)
    kw = {}
    if engine not in (None, "simpy"):
        if "engine" not in inspect.signature(sweep).parameters:
            raise UsageError(f"--engine {engine}: this relaysim has only the SimPy engine")
        kw["engine"] = engine
    reps = ex.reps(quick=10, full=200)
    points = 24 if ex.quick else 1024
    base = ex.scenario("baseline.toml")
    params = [parse_vary(v, base) for v in VARY]
    design = make_design(params, "lhs", points, ex.seed)
    sweep(base, design, reps=reps, seed=ex.seed, out=ex.out / "sweep",
          resume=(ex.out / "sweep" / "store.sqlite").exists(), workers=ex.workers, **kw)
    res = open_results(ex.out / "sweep")
    for threshold in THRESHOLDS:
        d = discover(res, CONDITION, out=ex.out / "sweep", seed=ex.seed, threshold=threshold)
        if d["boxes"]:
            break
    else:
        raise UsageError(f"PRIM found no box with density {THRESHOLDS[-1]:.0%} or more")
    ex.figure(P.tradeoff(ex.out / "sweep"), "failure_conditions_tradeoff.png")
    ex.figure(P.boxlims(ex.out / "sweep"), "failure_conditions_box.png")

    box = d["boxes"][0]
    ex.say(f"{points} points of a Latin hypercube over {len(params)} levers and conditions, "
           f"{reps} replications each (engine {select.resolve(engine or 'auto')}).")
    ex.say(f"Points where the initiative is implemented in fewer than half of the runs: "
           f"{d['cases_meeting']} of {d['cases']} ({pct(d['share_meeting'])}).")
    ex.say("")
    if threshold != THRESHOLDS[0]:
        ex.say(f"No box reaches a density of {THRESHOLDS[0]:.0%}: failure is too spread out "
               f"for that. PRIM was asked again for a density of {threshold:.0%}.")
    ex.say(f"PRIM's chosen box: {box_phrase(d, box)}")
    for lim in box["limits"]:
        qp = lim.get("qp")
        ex.say(f"- {limit_phrase(lim)} (quasi-p {'n/a' if qp is None else f'{qp:.2g}'})")
    ex.say("")
    ex.say("Extra-trees feature scores (which conditions matter to failure at all): " +
           ", ".join(f"{s['parameter']} {s['score']:.2f}" for s in d["feature_scores"][:5]))
    ex.headline("share_failing", d["share_meeting"], (0.05, 0.95),
                "share of sweep points with completion below 50%")
    ex.headline("box_lift", box["density"] / d["share_meeting"], (2.0, 100.0),
                "density of PRIM's chosen box (share of its points that fail) over the share "
                "of all points that fail: failure is concentrated in the box")
    ex.headline("box_coverage", box["coverage"], (0.1, 1.0),
                "coverage of PRIM's chosen box (share of all failing points inside it)")
    top = P.label(d["feature_scores"][0]["parameter"])
    ex.finish(f"{box_phrase(d, box)} The condition that matters most to failure (extra-trees "
              f"feature score) is {top[0].lower()}{top[1:]}."
              + (" (Quick run: 24 points and 10 replications each; the full run has 1,024 "
                 "points.)" if ex.quick else ""))


if __name__ == "__main__":
    cli(main)
