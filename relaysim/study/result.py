"""The result of a run: its replication records, the estimates of INTERFACE.md (`run
--json`), the per-replication CSV, and the summary in a planner's words."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..engines.records import InitiativeOutcome, Replication
from ..files import atomic_write, json_safe
from ..model.scenario import Scenario
from .clustered import initiative_intervals, level_intervals
from .summary import estimate

__all__ = ["RunResult", "summarize_initiative", "run_summary_text"]


def _num(x: float | None, nd: int = 6) -> float | None:
    """JSON-friendly float: None for NaN/None, rounded for stable text."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd)


def summarize_initiative(outs: list[InitiativeOutcome], level_names: list[str],
                         n_reps: int) -> dict[str, Any]:
    """The `run --json` estimates of one initiative (or the stream's arrivals pooled).

    Completion and coverage count only initiatives whose deadline falls within the horizon
    (`observed`; every named initiative is); completion times use all, censored as needed.
    The numbers are summary.estimate's, nested under the same words."""
    cols = {
        "completed": np.array([o.completed for o in outs], dtype=float),
        "time": np.array([o.completion_time for o in outs], dtype=float),
        "follow": np.array([o.follow_up for o in outs], dtype=float),
        "coverage": np.array([o.coverage for o in outs], dtype=float),
        "fidelity": np.array([o.fidelity for o in outs], dtype=float),
        "observed": np.array([o.observed for o in outs], dtype=float),
    }
    e = estimate(cols, quartiles=True)
    n, k = e["n"], e["successes"]
    clo, chi = e["coverage_ci"]
    n_class = outs[0].n_classrooms if outs else 0
    return {
        "runs": len(outs),
        "observed": n,
        "completion_rate": {"estimate": _num(k / n) if n else None,
                            "ci95": [_num(e["ci_low"]), _num(e["ci_high"])], "successes": k},
        "coverage": {"mean": _num(e["coverage_mean"]), "ci95": [_num(clo), _num(chi)]},
        "completion_time": {"median": _num(e["completion_time_median"]),
                            "q25": _num(e["completion_time_q25"]),
                            "q75": _num(e["completion_time_q75"]),
                            "censored": e["censored"], "units": "days since launch"},
        "fidelity": {"mean": _num(e["fidelity_mean"])},
        "classrooms": {
            "dropped_mean": _num(sum(o.dropped for o in outs) / len(outs) / n_class)
            if outs else None,
            "lost_to_turnover_mean": _num(sum(o.lost for o in outs) / len(outs) / n_class)
            if outs else None,
            "units": "share of classrooms cut off, mean per initiative",
        },
        "zones": _zone_counts(outs, level_names, n_reps),
    }


def _zone_counts(outs: list[InitiativeOutcome], level_names: list[str], n_reps: int
                 ) -> dict[str, Any]:
    """Exchange counts per handoff, and each handoff's share of all drops."""
    zones: dict[str, Any] = {}
    total_drops = sum(z.drops for o in outs for z in o.zones)
    for lvl, name in enumerate(level_names):
        if lvl == 0:
            continue
        d = sum(o.zones[lvl].drops for o in outs)
        zones[name] = {
            "attempts": sum(o.zones[lvl].attempts for o in outs),
            "fumbles": sum(o.zones[lvl].fumbles for o in outs),
            "recoveries": sum(o.zones[lvl].recoveries for o in outs),
            "drops": d,
            "rescues": sum(o.zones[lvl].rescues for o in outs),
            "drop_share": _num(d / total_drops) if total_drops else 0.0,
            "drops_per_rep": _num(d / n_reps),
        }
    return zones


@dataclass
class RunResult:
    """Replication records of one run plus the estimates of INTERFACE.md."""

    scenario: Scenario
    seed: int
    reps: int
    replications: list[Replication] = field(repr=False)
    engine: str = "simpy"  # the engine that ran them (same records either way)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The `run --json` document (seed, reps, scenario hash and version included)."""
        sc = self.scenario
        names = [lv.name for lv in sc.levels]
        by_name: dict[str, list[InitiativeOutcome]] = {}
        for r in self.replications:
            for o in r.initiatives:
                by_name.setdefault(o.name, []).append(o)
        inits = {name: summarize_initiative(outs, names, len(self.replications))
                 for name, outs in by_name.items()}
        for name, est in inits.items():  # intervals clustered by replication, new keys only
            by_rep = [[o for o in r.initiatives if o.name == name] for r in self.replications]
            _merge_intervals(est, initiative_intervals(by_rep), names)
        levels = {}
        n = len(self.replications)
        for k, name in enumerate(names):
            recs = [r.levels[k] for r in self.replications]
            waits = sum(x.waits for x in recs)
            levels[name] = {
                "wait_mean": _num(sum(x.wait_total for x in recs) / waits) if waits else None,
                "utilization": _num(float(np.mean([x.utilization for x in recs]))),
                "departures": _num(sum(x.departures for x in recs) / n),
                **level_intervals(recs),
            }
        return {
            "scenario": sc.name,
            "scenario_hash": sc.hash,
            "source": sc.source,
            "seed": self.seed,
            "reps": self.reps,
            "engine": self.engine,
            "relaysim_version": __version__,
            "stream_version": STREAM_VERSION,
            "initiatives": inits,
            "levels": levels,
        }

    def initiative(self, name: str | None = None) -> dict[str, Any]:
        """Estimates for one initiative (default: the first)."""
        inits = self.summary["initiatives"]
        return inits[name] if name is not None else next(iter(inits.values()))

    @property
    def completion_rate(self) -> float:
        """Completion rate of the first initiative (a convenience for notebooks)."""
        return float(self.initiative()["completion_rate"]["estimate"])

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(json_safe(self.summary), indent=indent)

    # -- per replication ----------------------------------------------------------------
    def per_rep_rows(self) -> Iterable[dict[str, Any]]:
        """One row per replication and initiative (the `--per-rep` CSV)."""
        zone_levels = [(k, lv.name) for k, lv in enumerate(self.scenario.levels) if k > 0]
        h = self.scenario.hash  # computed once: it hashes the whole normalised scenario
        for r in self.replications:
            for o in r.initiatives:
                row: dict[str, Any] = {
                    "rep": r.rep,
                    "seed": r.seed,
                    "spawn_key": r.rep,
                    "scenario_hash": h,
                    "relaysim_version": __version__,
                    "stream_version": STREAM_VERSION,
                    "initiative": o.name,
                    "launch": o.launch,
                    "completed": int(o.completed),
                    "completion_time": "" if o.completion_time is None else o.completion_time,
                    "coverage": o.coverage,
                    "fidelity": "" if math.isnan(o.fidelity) else o.fidelity,
                    "observed": int(o.observed),
                    "dropped_classrooms": o.dropped,
                    "lost_classrooms": o.lost,
                    "in_flight_classrooms": o.in_flight,
                }
                for k, name in zone_levels:
                    row[f"drops.{name}"] = o.zones[k].drops
                yield row

    def per_rep_csv(self) -> str:
        rows = list(self.per_rep_rows())
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["rep"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()

    def write_per_rep(self, path: str | Path) -> None:
        """Write the per-replication CSV atomically (temporary name, then rename)."""
        atomic_write(path, self.per_rep_csv())

    # -- words ---------------------------------------------------------------------------
    def text(self) -> str:
        """A readable summary for people."""
        return run_summary_text(self)


def _merge_intervals(est: dict[str, Any], iv: dict[str, Any], level_names: list[str]) -> None:
    """Put the clustered intervals into one initiative's estimates (ci95 replaced by the
    clustered interval, everything else added)."""
    for key in ("completion_rate", "coverage", "fidelity", "completion_time"):
        est[key].update(iv[key])
    for lvl, extra in iv["zones"].items():
        if level_names[lvl] in est["zones"]:
            est["zones"][level_names[lvl]].update(extra)


# -- words ----------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _time(x: float | None) -> str:
    if x is None:
        return "not reached"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def run_summary_text(res: RunResult) -> str:
    """The run's estimates in a planner's words."""
    s = res.summary
    sc = res.scenario
    lines = [
        f"relaysim {s['relaysim_version']} | scenario '{sc.name}' (hash {sc.hash[:12]}) | "
        f"{s['reps']} replications, seed {s['seed']}",
    ]
    if sc.description:
        lines.append(sc.description)
    sizes = sc.level_sizes
    chain = " -> ".join(f"{lv.name} ({n})" for lv, n in zip(sc.levels, sizes, strict=True))
    lines.append(f"The relay: {chain}")
    by_name = {ini.name: ini for ini in sc.initiatives}
    for name, est in s["initiatives"].items():
        lines.append("")
        lines += _initiative_lines(sc, name, est, by_name.get(name))
    unit = sc.time_unit
    lines.append("")
    lines.append(f"Runners: mean wait for a free runner ({unit}), share of capacity in use")
    for name, lv in s["levels"].items():
        wait = "-" if lv["wait_mean"] is None else f"{lv['wait_mean']:.1f}"
        extra = f", departures per run {lv['departures']:.2f}" if lv["departures"] else ""
        lines.append(f"  {name:<14} wait {wait:>6}   busy {_pct(lv['utilization']):>6}{extra}")
    return "\n".join(lines)


def _initiative_lines(sc: Scenario, name: str, est: dict[str, Any], ini: Any) -> list[str]:
    """One initiative's (or the stream's, when `ini` is None) estimates in words."""
    one, unit = sc.time_unit_one, sc.time_unit
    if ini is not None:
        lines = [f"Initiative '{name}': launched {one} {ini.launch:g}, "
                 f"deadline {one} {ini.deadline:g}, "
                 f"needs {100 * ini.success_threshold:.0f}% of {sc.n_classrooms} classrooms"]
    else:
        lines = [f"Initiatives from the stream ({est['runs']} arrivals in all runs)"]
    cr = est["completion_rate"]
    lines.append(f"  Implemented in {_pct(cr['estimate'])} of runs "
                 f"(95% CI {_pct(cr['ci95'][0])} to {_pct(cr['ci95'][1])})")
    cov = est["coverage"]
    lines.append(
        f"  Classrooms implementing at the deadline: {_pct(cov['mean'])} on average "
        f"(95% CI {_pct(cov['ci95'][0])} to {_pct(cov['ci95'][1])}); completion "
        f"counts the runs where this reaches the success threshold, so read the two "
        f"together")
    deff = cov.get("design_effect")
    if ini is None and deff is not None:
        lines.append(f"  Intervals are clustered by run: arrivals in one run share queues "
                     f"(design effect {deff:.2f} for coverage)")
    ct = est["completion_time"]
    lines.append(
        f"  {unit.capitalize()} from launch to implementation: median {_time(ct['median'])} "
        f"(quartiles {_time(ct['q25'])} to {_time(ct['q75'])}; "
        f"{ct['censored']} runs never reached it)")
    med_ci = ct.get("ci95", {}).get("median")
    if med_ci and ct["median"] is not None:
        lines.append(f"    median 95% CI {_time(med_ci[0])} to {_time(med_ci[1])} "
                     f"(Kaplan-Meier band inverted)")
    if est["fidelity"]["mean"] is not None:
        lines.append(f"  Mean fidelity of classrooms reached: {est['fidelity']['mean']:.2f}")
    return lines + _drops_lines(est["zones"])


def _drops_lines(zones: dict[str, Any]) -> list[str]:
    total = sum(z["drops"] for z in zones.values())
    if not total:
        return ["  No baton was dropped at any handoff."]
    parts = sorted(zones.items(), key=lambda kv: -kv[1]["drops"])
    desc = ", ".join(
        f"handoff to {name} {_pct(z['drop_share'])}" for name, z in parts if z["drops"]
    )
    return [f"  Where the baton falls (share of drops): {desc}"]
