"""Paired comparison of two scenarios under common random numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..errors import UsageError
from ..model.scenario import Scenario
from .intervals import paired_means, paired_proportions
from .limits import check_work
from .run import RunResult, run

__all__ = ["compare", "compare_results", "compare_text", "paired_completion", "paired_coverage"]

Z95 = float(stats.norm.ppf(0.975))


def _variance_ratio(a: np.ndarray, b: np.ndarray, ci: tuple[float, float] | list[float]
                    ) -> dict[str, Any]:
    """How many replications pairing saved, judged by the interval actually reported.

    An unpaired difference from n replications per scenario has a half-width of about
    z sqrt((var(A) + var(B)) / n). The paired interval's half-width w implies a variance
    per pair of n (w / z)^2: var(B - A) for a plain t interval, but more when the pairs
    rarely disagree (Tango's score interval, the floored t), so a single differing pair
    does not claim thousands of replications saved. variance_ratio is var(A) + var(B)
    over that variance: two independent runs need that many times `n` replications each
    for an interval as narrow as the paired one."""
    n = len(a)
    var_ind = (float(np.var(a, ddof=1)) + float(np.var(b, ddof=1))) if n > 1 else math.nan
    w = (float(ci[1]) - float(ci[0])) / 2
    var_d = n * (w / Z95) ** 2 if w == w else math.nan
    if var_d > 0:
        ratio = var_ind / var_d if var_ind > 0 else 1.0
    elif var_ind > 0:
        ratio = math.inf
    else:
        ratio = 1.0
    finite = math.isfinite(ratio)
    return {
        "variance_ratio": ratio,
        "independent_reps_needed": math.ceil(n * ratio) if finite else None,
        "reps_saved": max(0, math.ceil(n * ratio) - n) if finite else None,
    }


def paired_completion(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """B minus A for paired 0/1 completions: Tango's score interval, which keeps its
    width when the pairs rarely disagree, and the discordant counts."""
    r = paired_proportions(a, b)
    return {
        "a": r.a, "b": r.b_rate, "difference": r.difference, "ci95": list(r.ci),
        "method": "tango-score",
        # a_not_b: replications completed under A only; b_not_a: under B only
        "discordant": {"a_not_b": r.b, "b_not_a": r.c},
        **_variance_ratio(a, b, r.ci),
    }


def paired_coverage(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """B minus A for paired coverages (shares): t interval with the variance floored for
    sparse non-zero differences (intervals.paired_means)."""
    r = paired_means(a, b, max_abs_difference=1.0)
    return {
        "a": r.a, "b": r.b, "difference": r.difference, "ci95": list(r.ci),
        "method": r.method, "nonzero_pairs": r.nonzero,
        **_variance_ratio(a, b, r.ci),
    }


def compare(a: Scenario, b: Scenario, reps: int = 1000, seed: int = 0,
            workers: int | None = None, max_events: float | None = None,
            engine: str = "auto") -> dict[str, Any]:
    """Run A and B with the same seed (replication i of both shares its random numbers) and
    report B - A for each named initiative they share: completion rate (Tango's score
    interval for paired proportions, with the discordant counts) and coverage at the
    deadline (paired t with a floor for sparse differences), each with a 95% interval, and
    how many replications pairing saved over independent runs. max_events bounds the work
    of both runs together (study/limits.py)."""
    if isinstance(reps, int) and reps >= 1:  # both runs' work at once (run checks the rest)
        check_work([a, b], reps, max_events, keep=True)
    ra = run(a, reps=reps, seed=seed, workers=workers, max_events=max_events,
             engine=engine)
    rb = run(b, reps=reps, seed=seed, workers=workers, max_events=max_events,
             engine=engine)
    return compare_results(ra, rb)


def compare_results(ra: RunResult, rb: RunResult) -> dict[str, Any]:
    """B - A from two runs already made with the same seed and replications (paired)."""
    a, b = ra.scenario, rb.scenario
    if ra.seed != rb.seed or ra.reps != rb.reps:
        raise UsageError(f"a paired comparison needs the same seed and replications, got "
                         f"seed {ra.seed}/{rb.seed}, reps {ra.reps}/{rb.reps}")
    out: dict[str, Any] = {
        "a": {"scenario": a.name, "scenario_hash": a.hash, "source": a.source},
        "b": {"scenario": b.name, "scenario_hash": b.hash, "source": b.source},
        "seed": ra.seed, "reps": ra.reps, "relaysim_version": __version__,
        "stream_version": STREAM_VERSION, "initiatives": {},
    }
    names_a = [i.name for i in a.initiatives]
    shared = [n for n in names_a if n in {i.name for i in b.initiatives}]
    for name in shared:
        def col(res: Any, attr: str, name: str = name) -> np.ndarray:
            return np.array([float(getattr(o, attr)) for r in res.replications
                             for o in r.initiatives if o.name == name])
        out["initiatives"][name] = {
            "completion_rate": paired_completion(col(ra, "completed"), col(rb, "completed")),
            "coverage": paired_coverage(col(ra, "coverage"), col(rb, "coverage")),
        }
    out["unpaired"] = sorted({i.name for i in a.initiatives} ^ {i.name for i in b.initiatives})
    return out


def compare_text(res: dict[str, Any]) -> str:
    """Words for a comparison."""
    lines = [f"B ('{res['b']['scenario']}') minus A ('{res['a']['scenario']}'), "
             f"{res['reps']} paired replications, seed {res['seed']}, random streams "
             f"v{res['stream_version']}"]
    for name, d in res["initiatives"].items():
        lines.append(f"Initiative '{name}':")
        for key, label in (("completion_rate", "completion rate"), ("coverage", "coverage")):
            x = d[key]
            lo, hi = x["ci95"]
            saved = (f"; pairing saved about {x['reps_saved']} replications per scenario"
                     if x["reps_saved"] is not None else "")
            lines.append(
                f"  {label}: {100 * x['a']:.1f}% -> {100 * x['b']:.1f}%, difference "
                f"{100 * x['difference']:+.1f} points (95% CI {100 * lo:+.1f} to {100 * hi:+.1f})"
                f"{saved}")
            if "discordant" in x:
                dd = x["discordant"]
                lines.append(
                    f"    {dd['a_not_b']} replications completed under A only, "
                    f"{dd['b_not_a']} under B only (score interval for paired proportions)")
        lines.append("  Completion counts the replications whose coverage reaches the success "
                     "threshold: read it next to the coverage difference.")
    if not res["initiatives"]:
        lines.append("The two scenarios share no named initiative to compare.")
    return "\n".join(lines)
