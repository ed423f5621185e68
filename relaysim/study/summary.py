"""Estimates from replications: one set of estimators and one vocabulary for runs and
sweeps.

Outcomes travel as columns: per initiative, one entry per replication (`COLUMNS`, plus
drops per zone). A sweep stores exactly these columns per chunk; a run builds them from
its records. `estimate` turns the columns of one initiative into the estimates, under
these names (results.csv's columns; `run --json` nests the same numbers):

    n, successes              observed initiatives (deadline within the horizon), successes
    completion_rate           successes / n, with its Wilson 95% interval ci_low, ci_high
    coverage_mean             mean share of classrooms implementing at the deadline,
                              coverage_ci (t interval clipped to [0, 1]), coverage_var
    fidelity_mean             mean fidelity of classrooms reached by the deadline
    completion_time_q25, completion_time_median, completion_time_q75
                              Kaplan-Meier quartiles of days from launch to success
                              (None where too many runs are censored to say), censored
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engines.records import Replication
from ..model.scenario import Scenario
from .execute import run_chunk
from .stats import km_quantiles, mean_ci, wilson

__all__ = ["COLUMNS", "outcome_columns", "compact_chunk", "estimate", "summarize_point"]

#: per-replication outcome columns of one initiative (drops per zone come with them)
COLUMNS = ("rep", "completed", "time", "follow", "coverage", "fidelity", "observed")
_NUMERIC = ("completed", "time", "follow", "coverage", "fidelity", "observed")


def outcome_columns(records: Iterable[Replication], n_zones: int
                    ) -> dict[str, dict[str, list[Any]]]:
    """Per initiative, one row per replication: rep, completed, completion time (None if
    censored), follow-up, coverage, fidelity (None if no classroom was reached), observed,
    and drops per zone (zones of levels 1..n_zones)."""
    cols: dict[str, dict[str, list[Any]]] = {}
    for r in records:
        for o in r.initiatives:
            c = cols.get(o.name)
            if c is None:
                c = cols[o.name] = {k: [] for k in COLUMNS}
                c["drops"] = [[] for _ in range(n_zones)]  # type: ignore[assignment]
            c["rep"].append(r.rep)
            c["completed"].append(int(o.completed))
            c["time"].append(o.completion_time)
            c["follow"].append(o.follow_up)
            c["coverage"].append(o.coverage)
            c["fidelity"].append(None if math.isnan(o.fidelity) else o.fidelity)
            c["observed"].append(int(o.observed))
            for j in range(n_zones):
                c["drops"][j].append(o.zones[j + 1].drops)
    return cols


def compact_chunk(scenario: Scenario, seed: int, start: int, stop: int, engine: str = "auto"
                  ) -> dict[str, Any]:
    """Run replications start..stop-1 and keep only their outcome columns (what a sweep
    ships back from a worker and stores)."""
    zone_names = [lv.name for lv in scenario.levels[1:]]
    direct = _columns_direct(scenario, seed, start, stop, engine)
    if direct is not None:  # the fast engine's arrays, no record objects (same values)
        cols = direct
    else:
        cols = outcome_columns(run_chunk(scenario, seed, start, stop, engine),
                               len(zone_names))
    return {"start": start, "stop": stop, "zones": zone_names, "initiatives": cols}


def _columns_direct(scenario: Scenario, seed: int, start: int, stop: int, engine: str
                    ) -> dict[str, dict[str, list[Any]]] | None:
    """outcome_columns of a chunk from the fast engine's arrays (None on SimPy)."""
    from .columns import ZONE_FIELDS, chunk_columns

    c = chunk_columns.direct(scenario, seed, start, stop, engine)  # type: ignore[attr-defined]
    if c is NotImplemented:
        return None
    init, names = c.init, c.names
    drops = init["zones"][:, 1:, ZONE_FIELDS.index("drops")]
    order = list(dict.fromkeys(init["name"].tolist()))  # names in order of first outcome
    out: dict[str, dict[str, list[Any]]] = {}
    for code in order:
        m = init["name"] == code
        time, fid = init["completion_time"][m], init["fidelity"][m]
        out[names[code]] = {
            "rep": init["rep"][m].tolist(), "completed": init["completed"][m].tolist(),
            "time": [None if math.isnan(x) else x for x in time.tolist()],
            "follow": init["follow_up"][m].tolist(), "coverage": init["coverage"][m].tolist(),
            "fidelity": [None if math.isnan(x) else x for x in fid.tolist()],
            "observed": init["observed"][m].tolist(),
            "drops": drops[m].T.tolist()}
    return out


def estimate(a: dict[str, np.ndarray], quartiles: bool = False) -> dict[str, Any]:
    """The estimates of one initiative from its outcome columns (float arrays; None as
    NaN). With `quartiles`, the Kaplan-Meier quartiles and the censored count too."""
    obs = a["observed"] > 0
    n, k = int(obs.sum()), int(a["completed"][obs].sum())
    lo, hi = wilson(k, n)
    cov_x = a["coverage"][obs]
    cov, (cov_lo, cov_hi) = mean_ci(cov_x, bounds=(0.0, 1.0))
    fid_mean, _ = mean_ci(a["fidelity"][obs])
    out: dict[str, Any] = {
        "completion_rate": k / n if n else None, "ci_low": lo, "ci_high": hi,
        "coverage_mean": cov}
    if quartiles:
        q25, q50, q75 = km_quantiles(a["time"], a["follow"])
        out.update(completion_time_q25=q25, completion_time_median=q50,
                   completion_time_q75=q75, censored=int(np.isnan(a["time"]).sum()))
    else:
        (out["completion_time_median"],) = km_quantiles(a["time"], a["follow"], qs=(0.5,))
    out.update(fidelity_mean=fid_mean, n=n, successes=k, coverage_ci=[cov_lo, cov_hi],
               coverage_var=float(np.var(cov_x, ddof=1)) if n > 1 else math.nan)
    return out


def as_arrays(cols: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """Outcome columns as float arrays (None becomes NaN)."""
    return {k: np.asarray(cols[k], dtype=float) for k in _NUMERIC}


def summarize_point(chunks: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-initiative estimates of one sweep point from its chunks (in replication order).

    Chunks are folded in one at a time into float arrays (about 30 bytes per replication),
    so memory does not depend on how the replications were chunked or decoded."""
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    for ch in chunks:
        for name, c in ch["initiatives"].items():
            m = parts.setdefault(name, {k: [] for k in _NUMERIC})
            for k, v in as_arrays(c).items():
                m[k].append(v)
    return {name: estimate({k: np.concatenate(v) for k, v in m.items()})
            for name, m in parts.items()}
