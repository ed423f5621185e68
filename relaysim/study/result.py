"""The result of a run: its replication records, the estimates of INTERFACE.md (`run
--json`), the per-replication CSV, and the summary in a planner's words."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..engines.realize import replication_values
from ..engines.records import PEER_FIELDS, Replication
from ..files import atomic_write, json_number, json_safe
from ..model.plan import plan_for
from ..model.scenario import Scenario
from ..model.schema import label
from .clustered import initiative_intervals, level_intervals
from .columns import ZONE_FIELDS, RunColumns, columns_of
from .stats import mean_ci
from .summary import estimate

__all__ = ["RunResult", "summarize_initiative", "run_summary_text"]


def summarize_initiative(cols: RunColumns, rows: np.ndarray, level_names: list[str],
                         n_reps: int) -> dict[str, Any]:
    """The `run --json` estimates of one initiative (or the stream's arrivals pooled):
    `rows` are its outcomes in `cols`, in replication order.

    Completion and coverage count only initiatives whose deadline falls within the horizon
    (`observed`; every named initiative is); completion times use all, censored as needed.
    The numbers are summary.estimate's, nested under the same words."""
    c = cols.init
    est_cols = {"completed": c["completed"][rows].astype(float),
                "time": c["completion_time"][rows], "follow": c["follow_up"][rows],
                "coverage": c["coverage"][rows], "fidelity": c["fidelity"][rows],
                "observed": c["observed"][rows].astype(float)}
    e = estimate(est_cols, quartiles=True)
    n, k = e["n"], e["successes"]
    clo, chi = e["coverage_ci"]
    runs = len(rows)
    n_class = int(c["n_classrooms"][rows[0]]) if runs else 0
    return {
        "runs": runs,
        "observed": n,
        "completion_rate": {"estimate": json_number(k / n) if n else None,
                            "ci95": [json_number(e["ci_low"]), json_number(e["ci_high"])],
                            "successes": k},
        "coverage": {"mean": json_number(e["coverage_mean"]),
                     "ci95": [json_number(clo), json_number(chi)]},
        "completion_time": {"median": json_number(e["completion_time_median"]),
                            "q25": json_number(e["completion_time_q25"]),
                            "q75": json_number(e["completion_time_q75"]),
                            "censored": e["censored"], "units": "days since launch"},
        "fidelity": {"mean": json_number(e["fidelity_mean"])},
        "classrooms": {
            "dropped_mean": json_number(int(c["dropped"][rows].sum()) / runs / n_class)
            if runs else None,
            "lost_to_turnover_mean": json_number(int(c["lost"][rows].sum()) / runs / n_class)
            if runs else None,
            "units": "share of classrooms cut off, mean per initiative",
        },
        "zones": _zone_counts(cols.zones[rows], level_names, n_reps),
    }


def _sequential_sum(x: np.ndarray) -> float:
    """sum() of the values in order, as Python's sum over the records added them (not
    numpy's pairwise sum): np.add.accumulate adds strictly left to right."""
    return float(np.add.accumulate(x)[-1]) if len(x) else 0.0


def _zone_counts(z: np.ndarray, level_names: list[str], n_reps: int) -> dict[str, Any]:
    """Exchange counts per handoff, and each handoff's share of all drops (z: one
    initiative's zone counts, rows x levels x ZONE_FIELDS)."""
    zones: dict[str, Any] = {}
    tot = z.sum(axis=0).tolist() if len(z) else [[0] * len(ZONE_FIELDS)] * len(level_names)
    drop = ZONE_FIELDS.index("drops")
    total_drops = sum(t[drop] for t in tot)
    for lvl, name in enumerate(level_names):
        if lvl == 0:
            continue
        counts = dict(zip(ZONE_FIELDS, tot[lvl], strict=True))
        d = counts["drops"]
        zones[name] = {
            "attempts": counts["attempts"],
            "fumbles": counts["fumbles"],
            "recoveries": counts["recoveries"],
            "drops": d,
            "rescues": counts["rescues"],
            "drop_share": json_number(d / total_drops) if total_drops else 0.0,
            "drops_per_rep": json_number(d / n_reps),
        }
    return zones


class RunResult:
    """Replication outcomes of one run (as columns, `columns`) plus the estimates of
    INTERFACE.md. `replications` (the Replication records) is rebuilt from the columns
    when first asked for; give either `replications` or `columns`."""

    def __init__(self, scenario: Scenario, seed: int, reps: int,
                 replications: list[Replication] | None = None, engine: str = "simpy",
                 columns: RunColumns | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.reps = reps
        self.engine = engine  # the engine that ran them (same records either way)
        if columns is None:
            columns = columns_of(list(replications or []), seed, len(scenario.levels))
        self.columns = columns

    def __repr__(self) -> str:
        return (f"RunResult(scenario={self.scenario.name!r}, seed={self.seed}, "
                f"reps={self.reps}, engine={self.engine!r})")

    @cached_property
    def replications(self) -> list[Replication]:
        """The Replication records (built from the columns on first use)."""
        return self.columns.replications()

    @cached_property
    def district_values(self) -> dict[str, np.ndarray]:
        """Each replication's value of every parameter drawn per replication (by dotted
        path; one value per replication, in the order of `columns.reps_index`). {} when
        none is drawn."""
        sc = self.scenario
        paths = [d.path for d in sc.draws if d.per == "replication"]
        if not paths:
            return {}
        rows = [replication_values(sc, self.seed, rep)
                for rep in self.columns.reps_index.tolist()]
        return {p: np.array([r[p] for r in rows], dtype=float) for p in paths}

    def _draws_summary(self) -> dict[str, Any]:
        """The `run --json` entries of drawn parameters: each distribution as written and,
        for draws per replication, every replication's value."""
        out: dict[str, Any] = {}
        values = self.district_values
        for d in self.scenario.draws:
            entry: dict[str, Any] = {"distribution": self.scenario.get(d.path), "per": d.per}
            if d.path in values:
                entry["values"] = [json_number(float(x)) for x in values[d.path]]
            out[d.path] = entry
        return out

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The `run --json` document (seed, reps, scenario hash and version included)."""
        sc = self.scenario
        cols = self.columns
        names = [lv.name for lv in sc.levels]
        n = cols.n_reps
        codes, first = np.unique(cols.init["name"], return_index=True)
        inits = {}
        for code in codes[np.argsort(first)].tolist():  # names in order of first outcome
            rows = np.flatnonzero(cols.init["name"] == code)
            est = summarize_initiative(cols, rows, names, n)
            _merge_intervals(est, initiative_intervals(cols, rows, n), names)
            if cols.peers is not None:
                est["peer_sharing"] = peer_summary(sc, cols, rows)
            inits[cols.names[code]] = est
        levels = {}
        util = cols.utilization()
        for k, name in enumerate(names):
            waits = int(cols.level["waits"][:, k].sum())
            wait_total = _sequential_sum(cols.level["wait_total"][:, k])
            levels[name] = {
                "wait_mean": json_number(wait_total / waits) if waits else None,
                "utilization": json_number(float(np.mean(np.ascontiguousarray(util[:, k])))),
                "departures": json_number(int(cols.level["departures"][:, k].sum()) / n),
                **level_intervals(cols, k),
            }
        for name, est in trust_summary(sc, cols).items():
            levels[name]["trust_at_deadline"] = est
        out = {
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
        if sc.draws:
            out["drawn_parameters"] = self._draws_summary()
        return out

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
        cols = self.columns
        c = {k: cols.init[k].tolist() for k in ("rep", "name", "launch", "completed",
                                                  "completion_time", "coverage", "fidelity",
                                                  "observed", "dropped", "lost", "in_flight")}
        drops = cols.zones[:, :, ZONE_FIELDS.index("drops")].tolist()
        # dynamic trust only: each level's trust at the deadline, per replication
        trust_levels = [(k, name) for k, name in enumerate(s.name for s in self.scenario.levels)
                        if name in trust_summary(self.scenario, cols)]
        trust = cols.level["trust"].tolist()
        rep_row = {rep: j for j, rep in enumerate(cols.reps_index.tolist())}
        drawn = {p: v.tolist() for p, v in self.district_values.items()}
        k_sh = self.scenario.sharing_level
        peers = (cols.peers[:, k_sh].tolist() if cols.peers is not None and k_sh is not None
                 else None)
        for r, rep in enumerate(c["rep"]):
            t, fid = c["completion_time"][r], c["fidelity"][r]
            row: dict[str, Any] = {
                "rep": rep,
                "seed": cols.seed,
                "spawn_key": rep,
                "scenario_hash": h,
                "relaysim_version": __version__,
                "stream_version": STREAM_VERSION,
                "initiative": cols.names[c["name"][r]],
                "launch": c["launch"][r],
                "completed": c["completed"][r],
                "completion_time": "" if math.isnan(t) else t,
                "coverage": c["coverage"][r],
                "fidelity": "" if math.isnan(fid) else fid,
                "observed": c["observed"][r],
                "dropped_classrooms": c["dropped"][r],
                "lost_classrooms": c["lost"][r],
                "in_flight_classrooms": c["in_flight"][r],
            }
            for k, name in zone_levels:
                row[f"drops.{name}"] = drops[r][k]
            for k, name in trust_levels:
                x = trust[rep_row[rep]][k]
                row[f"trust.{name}"] = "" if math.isnan(x) else x
            for path, v in drawn.items():  # the district this replication drew
                row[f"drawn.{path}"] = v[rep_row[rep]]
            if peers is not None:  # peer sharing only
                for f, x in zip(PEER_FIELDS, peers[r], strict=True):
                    row[f"peers.{f}"] = x
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


def peer_summary(sc: Scenario, cols: RunColumns, rows: np.ndarray) -> dict[str, Any]:
    """With peer sharing (a level's `sharing` table), for one initiative's rows: the
    sharing level and each PeerCounts field's mean per replication (docs/model.md 4.10)."""
    k = sc.sharing_level
    assert k is not None and cols.peers is not None
    x = cols.peers[rows, k]
    n = max(len(rows), 1)
    return {"level": sc.levels[k].name,
            **{f: json_number(int(x[:, j].sum()) / n) for j, f in enumerate(PEER_FIELDS)},
            "units": "mean per replication (reached and implemented: classrooms)"}


def trust_summary(sc: Scenario, cols: RunColumns) -> dict[str, dict[str, Any]]:
    """With dynamic trust ([trust_dynamics]), per level whose trust can move: the mean
    over replications of the level's mean trust in the level above at the trust deadline
    (docs/model.md 4.9), its Student t 95% interval and the level's mean trust at the
    start. Empty without dynamic trust (the outputs are then as before it existed)."""
    drawn = any(d.path.startswith("trust_dynamics.") for d in sc.draws)
    if not (sc.trust_dynamics.on or drawn) or cols.n_reps == 0:
        return {}
    plan = plan_for(sc)
    out = {}
    for k, lv in enumerate(sc.levels):
        x = cols.level["trust"][:, k]
        if k == 0 or np.isnan(x).all():
            continue
        m, (lo, hi) = mean_ci(x, bounds=(0.0, 1.0))
        start = [b.trust for b in plan.runner_bundles(plan.phys_of[k])]
        out[lv.name] = {"mean": json_number(m), "ci95": [json_number(lo), json_number(hi)],
                        "start": json_number(sum(start) / len(start)),
                        "at": "deadline of the first initiative (the horizon without one)"}
    return out


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


def _draws_lines(res: RunResult) -> list[str]:
    """The parameters drawn from distributions, each with the spread of its draws."""
    sc = res.scenario
    if not sc.draws:
        return []
    lines = ["Drawn from distributions (a population of districts):"]
    values = res.district_values
    for d in sc.draws:
        where = "each replication" if d.per == "replication" else "each runner"
        text = f"  {label(d.path)} [{d.path}]: {d.dist.family}, one draw for {where}"
        if d.path in values:
            lo, mid, hi = np.quantile(values[d.path], [0.05, 0.5, 0.95]).tolist()
            text += f" (drawn: median {mid:.3g}, 90% of districts {lo:.3g} to {hi:.3g})"
        lines.append(text)
    return lines


def run_summary_text(res: RunResult) -> str:
    """The run's estimates in a planner's words."""
    s = res.summary
    sc = res.scenario
    lines = [
        f"relaysim {s['relaysim_version']} | scenario '{sc.name}' (hash {sc.hash[:12]}) | "
        f"{s['reps']} replications, seed {s['seed']} | random streams v{s['stream_version']}",
    ]
    if sc.description:
        lines.append(sc.description)
    sizes = sc.level_sizes
    chain = " -> ".join(f"{lv.name} ({n})" for lv, n in zip(sc.levels, sizes, strict=True))
    lines.append(f"The relay: {chain}")
    if sc.sharing_level is not None:
        sh, who = sc.levels[sc.sharing_level].sharing, sc.levels[sc.sharing_level].name
        assert sh is not None
        lines.append(f"  and sideways between {who}s ({_NETWORK_WORDS[sh.network]}): a "
                     f"{who} whose classrooms have it working ({100 * sh.threshold:.0f}%) "
                     f"hosts {sh.share_rate:.3g} showcase visits a year")
    lines += _draws_lines(res)
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
    return "\n".join(lines + _trust_lines(sc, s["levels"]) + _peer_lines(s["initiatives"]))


#: who shares with whom, in words (run text)
_NETWORK_WORDS = {"all": "every one with every other", "segment": "within each segment",
                  "ring": "each with its nearest neighbours",
                  "random": "each with a few peers picked at random"}


def _peer_lines(inits: dict[str, Any]) -> list[str]:
    """Peer sharing in words (nothing without it)."""
    got = {name: est["peer_sharing"] for name, est in inits.items() if "peer_sharing" in est}
    if not got:
        return []
    level = next(iter(got.values()))["level"]
    lines = ["", f"Peer sharing between {level}s (mean per run): batons recovered by peers "
             "(from drops, from turnover), lateral fumbles, classrooms implementing through "
             "peer copies"]
    for name, p in got.items():
        lines.append(f"  {name:<14} recovered {p['recovered']:.2f} ({p['from_dropped']:.2f}, "
                     f"{p['from_lost']:.2f})   fumbles {p['fumbles']:.2f}   classrooms "
                     f"{p['implemented']:.2f}   shares {p['shares']:.2f}")
    return lines


def _trust_lines(sc: Scenario, levels: dict[str, Any]) -> list[str]:
    """Dynamic trust in words (nothing without it)."""
    got = {name: lv["trust_at_deadline"] for name, lv in levels.items()
           if "trust_at_deadline" in lv}
    if not got:
        return []
    when = (f"the deadline of '{sc.initiatives[0].name}'" if sc.initiatives
            else "the end of the run")
    lines = ["", f"Trust in the level above (built by clean handoffs, spent by fumbles), "
             f"mean at {when}"]
    for name, t in got.items():
        lo, hi = t["ci95"]
        ci = "" if lo is None or hi is None else f" (95% CI {lo:.3f} to {hi:.3f})"
        lines.append(f"  {name:<14} {t['start']:.3f} at the start -> {t['mean']:.3f}{ci}")
    return lines


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
