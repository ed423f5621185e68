"""Robust answers: do the verdicts of weakest_zone, baton_vs_speed and practice_the_pass
survive when the odds effects are drawn from their plausible ranges?

Question: every experiment runs with the odds effects of the fumble formula at their
defaults (trust 2, clarity 2, rehearsal 0.5, checkpoint 0.6, load 1.25, tank 1.5), and
MODEL.md calls every one of them an assumption. Does each headline verdict still hold over
the effects' plausible ranges, and in what share of the draws?

Hypothesis: the verdicts that rest on large differences (halving the fumble risk of the
handoff to classrooms or to coaches beats halving the one to principals; no single
rehearsed handoff gives half of the gain of rehearsing all) survive in every draw; the
narrow ones (cleaner handoffs beat faster legs by about a point; the zones' rehearsal
effects interact by about a point) hold on average but not in every draw.

Design: the ranges are _common.EFFECT_RANGES (each effect's log-odds size between half and
one and a half times its default; ASSUMPTION), drawn uniformly. Each experiment's headline
comparison is imported from the experiment (its `headline` function: the variants and the
contrasts its answer states, each with its claimed sign, or 0 for a tie). (a) Pooled: every
variant runs with the effects drawn per replication (`per = "replication"`); with one seed
the variants draw the same effects in each replication, so each contrast is paired and its
mean is the verdict's effect averaged over the ranges (paired intervals of
relaysim.study.intervals: Tango's score interval for a difference in completion, the
floored paired t interval otherwise). (b) Share of draws: K effect vectors (the draws of
the pooled run's first K replications); for each, every variant runs R replications with
the effects fixed at that vector and a seed of the vector's own (so the vectors' noise is
independent), and the contrast gets its paired 95% interval. A verdict with a sign holds
in a draw when the interval lies on the claimed side and is reversed when it lies on the
other; the share of draws in which the true effect has the claimed sign then lies between
the share that holds and one minus the share reversed (up to each interval's 5% error),
each with its Wilson interval. A tie holds where the interval includes 0 (which gets
easier with fewer replications, so R is stated) and breaks where it does not. (c) Which
effect matters: Spearman's rank correlation of the K contrasts with each effect. In the
baseline no runner holds a second baton (one initiative), no level has a tank and no zone
a checkpoint, so load, tank and checkpoint cannot matter here: they are drawn anyway, as a
check that the answers do not depend on them. Besides the usual outputs, draws.json holds
every effect vector and each contrast's estimate and interval in it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import baton_vs_speed
import numpy as np
import practice_the_pass
import weakest_zone
from _common import (
    EFFECT_RANGES,
    Experiment,
    cli,
    contrast_effect,
    effect_vectors,
    effects_drawn,
    resolved_sign,
    share_of_draws,
)
from matplotlib.figure import Figure
from scipy import stats

from relaysim.files import atomic_write, json_safe
from relaysim.machine import default_workers
from relaysim.model.schema import label
from relaysim.study.execute import local_pool, stop_pool

#: experiment -> (its headline comparison, pooled replications per variant (quick, full),
#: replications per variant and effect vector (quick, full)); R is larger where the
#: verdict's difference is small
PARTS = {
    "weakest_zone": (weakest_zone.headline, (200, 6000), (100, 1000)),
    "baton_vs_speed": (baton_vs_speed.headline, (200, 12000), (100, 5000)),
    "practice_the_pass": (practice_the_pass.headline, (200, 6000), (100, 1000)),
}
VECTORS = (4, 50)  # effect vectors K (quick, full)
CHANCE = {1: 0.025, 0: 0.05}  # a draw's interval excludes a true 0 on one side, either side


def vector_seed(seed: int, i: int) -> int:
    """The seed of effect vector i's runs: its own, so the vectors' noise is independent."""
    return 1000 * (seed + 1) + i


def survival(pooled: dict[str, Any], share: dict[str, Any], claim: int) -> str:
    """Words for whether a verdict survives: the pooled interval on the claimed side (or,
    for a tie, around 0), and no more draws reversed (broken) than chance gives."""
    sign = resolved_sign(pooled)
    chance = CHANCE[abs(claim)]
    few_against = share["reversed_ci95"][0] <= chance
    if claim == 0:
        if sign != 0:
            return f"broken: the pooled difference is {'above' if sign > 0 else 'below'} 0"
        return "survives" if few_against else "survives on average, broken in some draws"
    if sign == claim:
        return "survives" if few_against else "survives on average, reversed in some draws"
    return "not resolved over the ranges" if sign == 0 else "reversed"


def sensitivity(diffs: list[float], vectors: list[dict[str, float]]) -> dict[str, Any]:
    """Spearman's rank correlation of the per-vector contrast with each effect."""
    out = {}
    for p in EFFECT_RANGES:
        r = stats.spearmanr([v[p] for v in vectors], diffs)
        out[p] = {"rho": float(r.statistic), "p": float(r.pvalue)}
    return out


def run_part(ex: Experiment, name: str, k: int) -> dict[str, Any]:
    """One experiment's headline comparison, pooled over the effect draws and by vector."""
    started = time.perf_counter()
    fn, (q_pool, f_pool), (q_vec, f_vec) = PARTS[name]
    n_pool, r_vec = ex.reps(q_pool, f_pool), ex.reps(q_vec, f_vec)
    base = ex.scenario("baseline.toml")
    variants, contrasts = fn(base)
    runs = {v: ex.run(effects_drawn(sc), n_pool) for v, sc in variants.items()}
    pooled = {c.key: contrast_effect(runs, c) for c in contrasts}
    vectors = effect_vectors(base, k, ex.seed)
    by_vector: dict[str, list[dict[str, Any]]] = {c.key: [] for c in contrasts}
    for i, vec in enumerate(vectors):
        got = {v: ex.run(sc.with_values(vec), r_vec, seed=vector_seed(ex.seed, i))
               for v, sc in variants.items()}
        for c in contrasts:
            by_vector[c.key].append(contrast_effect(got, c))
    out = {"pooled_reps": n_pool, "vector_reps": r_vec, "vectors": vectors, "contrasts": {}}
    for c in contrasts:
        signs = [resolved_sign(d) for d in by_vector[c.key]]
        diffs = [d["difference"] for d in by_vector[c.key]]
        share = share_of_draws(signs, c.claim)
        out["contrasts"][c.key] = {
            "what": c.what, "claim": c.claim, "attr": c.attr, "pooled": pooled[c.key],
            "share": share, "survival": survival(pooled[c.key], share, c.claim),
            "by_vector": [{"difference": d["difference"], "ci95": d["ci95"]}
                          for d in by_vector[c.key]],
            "spread": [float(np.min(diffs)), float(np.median(diffs)), float(np.max(diffs))],
            "sensitivity": sensitivity(diffs, vectors)}
    out["seconds"] = time.perf_counter() - started
    return out


def strongest(sens: dict[str, Any]) -> tuple[str, dict[str, float]]:
    """The effect with the largest rank correlation (nan-safe)."""
    return max(sens.items(), key=lambda kv: np.nan_to_num(abs(kv[1]["rho"])))


def figure(ex: Experiment, name: str, part: dict[str, Any]) -> None:
    """Each contrast by effect vector against the effect it is most sensitive to, with
    its paired 95% interval, and the pooled estimate as a band."""
    cs = part["contrasts"]
    fig = Figure(figsize=(max(4.2 * len(cs), 7.5), 5), layout="constrained")
    for ax, (key, c) in zip(np.atleast_1d(fig.subplots(1, len(cs))), cs.items(), strict=True):
        p, _ = strongest(c["sensitivity"])
        x = np.array([v[p] for v in part["vectors"]])
        y = 100 * np.array([d["difference"] for d in c["by_vector"]])
        lo = 100 * np.array([d["ci95"][0] for d in c["by_vector"]])
        hi = 100 * np.array([d["ci95"][1] for d in c["by_vector"]])
        colour = np.where(lo > 0, "#0072B2", np.where(hi < 0, "#D55E00", "#999999"))
        ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="none", ecolor=colour, alpha=0.6)
        ax.scatter(x, y, c=colour, s=18, zorder=3)
        pl = c["pooled"]
        ax.axhspan(100 * pl["ci95"][0], 100 * pl["ci95"][1], color="#009E73", alpha=0.2)
        ax.axhline(100 * pl["difference"], color="#009E73", lw=2, label="pooled")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(label(p))  # the planner's words, not the dotted path
        ax.set_title(key.replace("_", " "), fontsize=10)
        ax.set_ylabel(f"{'completion' if c['attr'] == 'completed' else 'coverage'} "
                      "difference (points)")
    fig.suptitle(f"{name}: the headline contrasts over {len(part['vectors'])} effect draws\n"
                 "(blue: above 0, orange: below 0, grey: the interval includes 0)")
    ex.note(fig, f"{part['vector_reps']} replications per variant and draw; pooled band: "
                 f"{part['pooled_reps']} replications per variant with the effects drawn "
                 f"per replication; seed {ex.seed}", fontsize=9)
    ex.figure(fig, f"robust_{name}.png")


def report(ex: Experiment, name: str, part: dict[str, Any]) -> None:
    """The part's lines in summary.md."""
    ex.say(f"### {name}")
    ex.say("")
    ex.say(f"{part['pooled_reps']} replications per variant pooled over the draws; "
           f"{len(part['vectors'])} effect vectors x {part['vector_reps']} replications per "
           f"variant ({part['seconds']:.0f} s).")
    ex.say("")
    ex.say("| contrast | claim | pooled (points, 95% CI) | draws: holds / reversed (or "
           "broken) / unresolved | share holds, 95% CI | range over draws (points) | most "
           "sensitive to (Spearman rho, p) | verdict |")
    ex.say("|---|---|---|---|---|---|---|---|")
    for key, c in part["contrasts"].items():
        pl, sh = c["pooled"], c["share"]
        p, s = strongest(c["sensitivity"])
        lo, med, hi = (100 * x for x in c["spread"])
        claim = {1: "> 0", -1: "< 0", 0: "tie"}[c["claim"]]
        n = sh["k"]
        ex.say(f"| {c['what']} (`{key}`) | {claim} | {100 * pl['difference']:+.2f} "
               f"({100 * pl['ci95'][0]:+.2f} to {100 * pl['ci95'][1]:+.2f}) | "
               f"{round(sh['holds'] * n)} / "
               f"{round(sh['reversed'] * n)} / {round(sh['unresolved'] * n)} | "
               f"{100 * sh['holds']:.0f}% ({100 * sh['holds_ci95'][0]:.0f} to "
               f"{100 * sh['holds_ci95'][1]:.0f}%) | {lo:+.1f} to {hi:+.1f} (median "
               f"{med:+.1f}) | {p.split('.')[-1]} ({s['rho']:+.2f}, {s['p']:.1g}) | "
               f"{c['survival']} |")
    ex.say("")


def sentence(name: str, part: dict[str, Any]) -> str:
    """One sentence per experiment for the answer."""
    bits = []
    for key, c in part["contrasts"].items():
        sh = c["share"]
        if c["claim"] == 0:
            where = f"holds in {100 * sh['holds']:.0f}% of draws"
        else:
            where = (f"holds in {100 * sh['holds']:.0f}% of draws (true share "
                     f"{100 * sh['holds']:.0f} to {100 * (1 - sh['reversed']):.0f}%)")
        bits.append(f"{key} {c['survival']} (pooled {100 * c['pooled']['difference']:+.1f} "
                    f"points; {where})")
    return f"{name}: " + "; ".join(bits) + "."


def headlines(ex: Experiment, parts: dict[str, dict[str, Any]]) -> None:
    """The numbers results.json records, with the ranges claimed for them."""
    wz = parts["weakest_zone"]["contrasts"]["classroom_minus_principal"]
    ex.headline("weakest_zone_classroom_minus_principal", wz["pooled"]["difference"],
                (0.03, 0.25), "halve classroom minus halve principal handoff, completion, "
                "pooled over the effect draws", wz["pooled"]["ci95"], wz["pooled"])
    ex.headline("weakest_zone_share_reversed", wz["share"]["reversed"], (0.0, 0.05),
                "share of effect draws in which halving the principal handoff beats halving "
                "the classroom handoff (the verdict reversed)")
    bv = parts["baton_vs_speed"]["contrasts"]["handoffs_minus_speed"]
    ex.headline("baton_vs_speed_handoffs_minus_speed", bv["pooled"]["difference"],
                (-0.06, 0.08), "all on handoffs minus all on speed, completion, pooled over "
                "the effect draws", bv["pooled"]["ci95"], bv["pooled"])
    pp = parts["practice_the_pass"]["contrasts"]["all_beyond_twice_classroom"]
    ex.headline("practice_all_beyond_twice_classroom", pp["pooled"]["difference"],
                (0.005, 0.08), "rehearse all zones, beyond twice the gain of the classroom "
                "zone alone, coverage, pooled over the effect draws", pp["pooled"]["ci95"])


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("robust_answers", __doc__, argv)
    k = VECTORS[0] if ex.quick else VECTORS[1]
    workers = ex.workers or default_workers()
    ex.executor = local_pool(workers) if workers > 1 else None  # one pool for many runs
    try:
        parts = {name: run_part(ex, name, k) for name in PARTS}
    finally:
        if ex.executor is not None:
            stop_pool(ex.executor)
    ex.say("Plausible ranges of the odds effects (each drawn uniformly):")
    for p, r in EFFECT_RANGES.items():
        ex.say(f"- {p}: {r.low:g} to {r.high:g}. {r.why}.")
    ex.say("")
    for name, part in parts.items():
        report(ex, name, part)
        figure(ex, name, part)
    headlines(ex, parts)
    atomic_write(ex.out / "draws.json", json.dumps(json_safe(parts), indent=1,
                                                   allow_nan=False))
    ex.finish(" ".join(sentence(n, p) for n, p in parts.items()))


if __name__ == "__main__":
    cli(main)
