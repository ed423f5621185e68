"""Intervals for `run` estimates, clustered by replication (issue 12).

Adapters from replication records to relaysim.study.intervals: every quantity pooled over
the outcomes of one initiative name is a ratio sum(y)/sum(n) over replications, so the
stream's arrivals (which share queues, tanks and departures within a replication) get a
clustered standard error and a design effect. A named initiative has one outcome per
replication; its clusters are single units and the intervals reduce to the usual ones
(design effect 1).

The functions return only keys that are new in the `run --json` document, or the
`ci95` values they replace; the caller merges them into the summary.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engines.records import InitiativeOutcome, LevelOutcome
from .intervals import RatioEstimate, km_quantile_intervals, ratio_estimate, replication_mean
from .stats import wilson

__all__ = ["initiative_intervals", "level_intervals"]


def _num(x: float | None, nd: int = 6) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


def _pair(ci: tuple[float, float]) -> list[float | None]:
    return [_num(ci[0]), _num(ci[1])]


def _describe(r: RatioEstimate) -> dict[str, Any]:
    return {"ci95": _pair(r.ci), "se": _num(r.se), "design_effect": _num(r.deff, 4),
            "clusters": r.clusters, "method": r.method}


def initiative_intervals(by_rep: list[list[InitiativeOutcome]]) -> dict[str, Any]:
    """Clustered intervals for one initiative name; by_rep[i]: its outcomes in replication
    i (one for a named initiative, the arrivals for the stream; may be empty).

    Returns {"completion_rate": {...}, "coverage": {...}, "fidelity": {...},
    "completion_time": {...}, "zones": {level index: {...}}} holding the new keys.
    """
    obs = [[o for o in outs if o.observed] for outs in by_rep]
    n = np.array([len(x) for x in obs], dtype=float)
    single = bool(np.all(n == 1))
    k = np.array([sum(o.completed for o in x) for x in obs], dtype=float)
    comp = ratio_estimate(k, n, proportion=True)
    comp_d = _describe(comp)
    if single:  # one outcome per replication: independent units, the plain Wilson
        lo, hi = wilson(int(k.sum()), int(n.sum()))
        comp_d.update(ci95=[_num(lo), _num(hi)], design_effect=1.0, method="wilson")
    cov_y = np.array([sum(o.coverage for o in x) for x in obs])
    cov_sq = np.array([sum(o.coverage ** 2 for o in x) for x in obs])
    cov = ratio_estimate(cov_y, n, y_sq=cov_sq, bounds=(0.0, 1.0))
    fid_lists = [[o.fidelity for o in x if not math.isnan(o.fidelity)] for x in obs]
    fid = ratio_estimate(np.array([sum(v) for v in fid_lists]),
                         np.array([len(v) for v in fid_lists], dtype=float),
                         y_sq=np.array([sum(f * f for f in v) for v in fid_lists]))
    flat = [o for outs in by_rep for o in outs]
    kmq = km_quantile_intervals([o.completion_time for o in flat], [o.follow_up for o in flat])
    times = {
        "ci95": {name: [_num(q.low), _num(q.high)]
                 for name, q in zip(("q25", "median", "q75"), kmq, strict=True)},
        "ci_method": kmq[0].method + ("" if single else " (arrivals treated as independent)"),
    }
    zones: dict[int, dict[str, Any]] = {}
    n_levels = len(flat[0].zones) if flat else 0
    total = np.array([sum(z.drops for o in outs for z in o.zones) for outs in by_rep],
                     dtype=float)
    for lvl in range(1, n_levels):
        d = np.array([sum(o.zones[lvl].drops for o in outs) for outs in by_rep], dtype=float)
        share = ratio_estimate(d, total, proportion=True)
        per_rep = replication_mean(d)
        zones[lvl] = {"drop_share_ci95": _pair(share.ci) if total.sum() else [0.0, 0.0],
                      "drops_per_rep_ci95": _pair(per_rep.ci)}
    return {"completion_rate": comp_d, "coverage": _describe(cov),
            "fidelity": _describe(fid), "completion_time": times, "zones": zones}


def level_intervals(recs: list[LevelOutcome]) -> dict[str, Any]:
    """Per-level intervals over replications: wait_mean as the ratio wait_total / waits
    (clustered by replication, Student t), utilization as the mean of the per-replication
    utilizations (Student t), both with 95% intervals."""
    w = ratio_estimate(np.array([x.wait_total for x in recs]),
                       np.array([x.waits for x in recs], dtype=float))
    u = replication_mean([x.utilization for x in recs], bounds=(0.0, 1.0))
    return {"wait_mean_ci95": _pair(w.ci), "wait_mean_se": _num(w.se),
            "utilization_ci95": _pair(u.ci)}
