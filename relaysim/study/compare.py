"""Paired comparison of two scenarios under common random numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..model.scenario import Scenario
from .run import run
from .stats import mean_ci

__all__ = ["compare"]


def _paired(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    d = b - a
    est, (lo, hi) = mean_ci(d)
    var_d = float(np.var(d, ddof=1)) if len(d) > 1 else math.nan
    var_ind = (float(np.var(a, ddof=1)) + float(np.var(b, ddof=1))) if len(d) > 1 else math.nan
    if var_d > 0:
        ratio = var_ind / var_d
    elif var_ind > 0:
        ratio = math.inf
    else:
        ratio = 1.0
    n = len(d)
    return {
        "a": float(a.mean()), "b": float(b.mean()),
        "difference": est, "ci95": [lo, hi],
        # an unpaired comparison needs `ratio` times as many replications per scenario
        # for an interval as narrow as this paired one
        "variance_ratio": ratio,
        "independent_reps_needed": (None if not math.isfinite(ratio) else math.ceil(n * ratio)),
        "reps_saved": (None if not math.isfinite(ratio) else max(0, math.ceil(n * ratio) - n)),
    }


def compare(a: Scenario, b: Scenario, reps: int = 1000, seed: int = 0,
            workers: int | None = None, engine: str = "auto") -> dict[str, Any]:
    """Run A and B with the same seed (replication i of both shares its random numbers) and
    report B - A for each named initiative they share: completion rate and coverage, each
    with a 95% interval, and how many replications pairing saved over independent runs."""
    ra = run(a, reps=reps, seed=seed, workers=workers, engine=engine)
    rb = run(b, reps=reps, seed=seed, workers=workers, engine=engine)
    out: dict[str, Any] = {
        "a": {"scenario": a.name, "scenario_hash": a.hash, "source": a.source},
        "b": {"scenario": b.name, "scenario_hash": b.hash, "source": b.source},
        "seed": seed, "reps": reps, "relaysim_version": __version__,
        "stream_version": STREAM_VERSION, "initiatives": {},
    }
    names_a = [i.name for i in a.initiatives]
    shared = [n for n in names_a if n in {i.name for i in b.initiatives}]
    for name in shared:
        def col(res: Any, attr: str, name: str = name) -> np.ndarray:
            return np.array([float(getattr(o, attr)) for r in res.replications
                             for o in r.initiatives if o.name == name])
        out["initiatives"][name] = {
            "completion_rate": _paired(col(ra, "completed"), col(rb, "completed")),
            "coverage": _paired(col(ra, "coverage"), col(rb, "coverage")),
        }
    out["unpaired"] = sorted({i.name for i in a.initiatives} ^ {i.name for i in b.initiatives})
    return out


def compare_text(res: dict[str, Any]) -> str:
    """Words for a comparison."""
    lines = [f"B ('{res['b']['scenario']}') minus A ('{res['a']['scenario']}'), "
             f"{res['reps']} paired replications, seed {res['seed']}"]
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
    if not res["initiatives"]:
        lines.append("The two scenarios share no named initiative to compare.")
    return "\n".join(lines)
