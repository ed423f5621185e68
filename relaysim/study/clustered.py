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

from typing import Any

import numpy as np

from ..files import json_number
from .columns import ZONE_FIELDS, RunColumns
from .intervals import RatioEstimate, km_quantile_intervals, ratio_estimate, replication_mean
from .stats import wilson

__all__ = ["initiative_intervals", "level_intervals"]


def _pair(ci: tuple[float, float]) -> list[float | None]:
    return [json_number(ci[0]), json_number(ci[1])]


def _describe(r: RatioEstimate) -> dict[str, Any]:
    return {"ci95": _pair(r.ci), "se": json_number(r.se),
            "design_effect": json_number(r.deff, 4), "clusters": r.clusters,
            "method": r.method}


def _per_rep(rep: np.ndarray, weights: np.ndarray | None, n_reps: int) -> np.ndarray:
    """Sums per replication, each in row order (as Python's sum over the records)."""
    return np.bincount(rep, weights=weights, minlength=n_reps).astype(float)


def initiative_intervals(cols: RunColumns, rows: np.ndarray, n_reps: int) -> dict[str, Any]:
    """Clustered intervals for one initiative name: `rows` are its outcomes in `cols`
    (one per replication for a named initiative, the arrivals for the stream, possibly
    none in some replications).

    Returns {"completion_rate": {...}, "coverage": {...}, "fidelity": {...},
    "completion_time": {...}, "zones": {level index: {...}}} holding the new keys.
    """
    c = cols.init
    rep_all = c["rep"][rows]
    obs = rows[c["observed"][rows] != 0]
    rep = c["rep"][obs]
    n = _per_rep(rep, None, n_reps)
    single = bool(np.all(n == 1))
    k = _per_rep(rep, c["completed"][obs].astype(float), n_reps)
    comp = ratio_estimate(k, n, proportion=True)
    comp_d = _describe(comp)
    if single:  # one outcome per replication: independent units, the plain Wilson
        lo, hi = wilson(int(k.sum()), int(n.sum()))
        comp_d.update(ci95=[json_number(lo), json_number(hi)], design_effect=1.0,
                      method="wilson")
    cov_v = c["coverage"][obs]
    cov_y = _per_rep(rep, cov_v, n_reps)
    # squared as Python squares them (libm pow), without a list of Python floats
    squares = np.fromiter((float(v) ** 2 for v in cov_v), dtype=float, count=len(cov_v))
    cov_sq = _per_rep(rep, squares, n_reps)
    cov = ratio_estimate(cov_y, n, y_sq=cov_sq, bounds=(0.0, 1.0))
    fid_all = c["fidelity"][obs]
    known = ~np.isnan(fid_all)
    fid_v, fid_rep = fid_all[known], rep[known]
    fid = ratio_estimate(_per_rep(fid_rep, fid_v, n_reps), _per_rep(fid_rep, None, n_reps),
                         y_sq=_per_rep(fid_rep, fid_v * fid_v, n_reps))
    # several outcomes in a replication (the stream): the band widened by the design effect
    kmq = km_quantile_intervals(c["completion_time"][rows], c["follow_up"][rows],
                                clusters=rep_all if len(np.unique(rep_all)) < len(rep_all)
                                else None)
    times = {
        "ci95": {name: [json_number(q.low), json_number(q.high)]
                 for name, q in zip(("q25", "median", "q75"), kmq, strict=True)},
        "ci_method": kmq[0].method,
    }
    zones: dict[int, dict[str, Any]] = {}
    n_levels = cols.zones.shape[1] if len(rows) else 0
    drops = cols.zones[rows, :, ZONE_FIELDS.index("drops")]
    total = _per_rep(rep_all, drops.sum(axis=1).astype(float), n_reps)
    for lvl in range(1, n_levels):
        d = _per_rep(rep_all, drops[:, lvl].astype(float), n_reps)
        share = ratio_estimate(d, total, proportion=True)
        per_rep = replication_mean(d)
        zones[lvl] = {"drop_share_ci95": _pair(share.ci) if total.sum() else [0.0, 0.0],
                      "drops_per_rep_ci95": _pair(per_rep.ci)}
    return {"completion_rate": comp_d, "coverage": _describe(cov),
            "fidelity": _describe(fid), "completion_time": times, "zones": zones}


def level_intervals(cols: RunColumns, lvl: int) -> dict[str, Any]:
    """Per-level intervals over replications: wait_mean as the ratio wait_total / waits
    (clustered by replication, Student t), utilization as the mean of the per-replication
    utilizations (Student t), both with 95% intervals."""
    w = ratio_estimate(cols.level["wait_total"][:, lvl],
                       cols.level["waits"][:, lvl].astype(float))
    u = replication_mean(np.ascontiguousarray(cols.utilization()[:, lvl]), bounds=(0.0, 1.0))
    return {"wait_mean_ci95": _pair(w.ci), "wait_mean_se": json_number(w.se),
            "utilization_ci95": _pair(u.ci)}
