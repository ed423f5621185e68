"""Scenario discovery: under which conditions does the condition of interest (failure) hold?

Two halves over a finished sweep (an LHS, Sobol or grid design with enough points):
`prepare` turns the sweep's points and a condition on one of its outputs (e.g.
``completion_rate < 0.5``, per point, or ``completed == 0`` per stored replication) into a
table of parameter values x and a yes/no outcome y; `analyse` hands them to the EMA
Workbench: PRIM (the Patient Rule Induction Method, `ema_workbench.analysis.prim`) peels
the parameter space down to boxes where the condition is concentrated, CART
(`ema_workbench.analysis.cart`, a scikit-learn decision tree) is the alternative, and
extra-trees feature scoring ranks which parameters matter to the condition at all.

Each box is reported with its coverage (the share of all cases meeting the condition that
fall inside it), density (the share of cases inside it that meet the condition), mass (the
share of all cases inside it) and, for PRIM, each limit's quasi-p-value (Bryant & Lempert
2010: a one-sided binomial test of whether the limit matters).

The EMA Workbench, scikit-learn and pandas are an optional extra:
``pip install 'relaysim[discovery]'``.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import UsageError
from ..files import atomic_write, json_safe

__all__ = ["Prepared", "prepare", "analyse", "discover", "discovery_text", "parse_condition",
           "box_phrase", "condition_phrase", "POINT_OUTPUTS", "REP_OUTPUTS", "MIN_POINTS"]

# per-point outputs of a sweep (results.csv columns per initiative, store summaries)
POINT_OUTPUTS = ("completion_rate", "ci_low", "ci_high", "coverage_mean",
                 "completion_time_median", "fidelity_mean")
# per-replication outcomes in the store (--per-rep)
REP_OUTPUTS = ("completed", "coverage", "time")
MIN_POINTS = 20  # fewer design points than this cannot support a box
METHODS = ("prim", "cart")

_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}
_COND = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")

_OUTPUT_WORDS = {
    "completion_rate": "the chance of implementation", "ci_low": "the chance of "
    "implementation (lower 95% bound)", "ci_high": "the chance of implementation (upper 95% "
    "bound)", "coverage_mean": "the share of classrooms implementing",
    "completion_time_median": "the median days to implementation",
    "fidelity_mean": "fidelity", "completed": "implementation",
    "coverage": "the share of classrooms implementing", "time": "the days to implementation",
}
_OP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "equal to",
             "!=": "not equal to"}
# fields whose values are shares or probabilities: shown as percentages
_SHARES = {"fumble", "recover", "retention", "turnover", "new_trust", "succession",
           "loss_on_turnover", "clarity", "min_fidelity", "success_threshold", "detect",
           "share", "trust", "floor", "check_tank", "completion_rate", "ci_low", "ci_high",
           "coverage_mean", "coverage", "fidelity_mean"}
_PER_YEAR = {"turnover", "rate"}


def _ema() -> Any:
    """The EMA Workbench's analysis modules, or a one-line UsageError naming the extra."""
    try:
        with warnings.catch_warnings():
            # "ipyparallel not installed" and friends: noise for a command-line user
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import cart, feature_scoring, prim
    except ImportError:
        raise UsageError("scenario discovery needs the EMA Workbench: "
                         "pip install 'relaysim[discovery]'") from None
    return prim, cart, feature_scoring


def parse_condition(text: str, per_rep: bool = False) -> tuple[str, str, float]:
    """'completion_rate < 0.5' -> ('completion_rate', '<', 0.5), checked against the
    outputs a sweep has (per point, or per replication with per_rep)."""
    m = _COND.fullmatch(text or "")
    if not m:
        raise UsageError(f"--where {text!r}: expected OUTPUT OP NUMBER, e.g. "
                         "\"completion_rate < 0.5\" (OP one of <, <=, >, >=, ==, !=)")
    col, op, raw = m.groups()
    col = col.rpartition(".")[2] if "." in col else col  # 'reading.completion_rate'
    known = REP_OUTPUTS if per_rep else POINT_OUTPUTS
    if col not in known:
        other = POINT_OUTPUTS if per_rep else REP_OUTPUTS
        hint = (f" ({col} is a per-replication outcome: add --per-rep)" if col in REP_OUTPUTS
                and not per_rep else f" ({col} is a per-point output: drop --per-rep)"
                if col in other else "")
        raise UsageError(f"--where {text!r}: unknown output {col!r}{hint}; "
                         f"{'per replication' if per_rep else 'per point'} the outputs are "
                         f"{', '.join(known)}")
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"--where {text!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"--where {text!r}: the threshold must be finite")
    return col, op, value


@dataclass
class Prepared:
    """What `analyse` works on: parameter values (one row per case), yes/no outcome."""

    source: str
    params: list[str]
    kinds: dict[str, str]  # path -> "float" | "int" | "bool" | "choice"
    x: dict[str, list[Any]]
    y: np.ndarray
    where: str
    column: str
    op: str
    value: float
    per_rep: bool
    initiative: str
    points: int
    cases: int
    scenario: str | None = None
    seed: Any = None
    reps: list[int] | None = None
    scenario_hash: str | None = None
    stream_version: int | None = None  # the sweep's random streams (from its manifest)


def _kind(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    return "choice"


def _per_point_cases(res: Any, name: str, params: list[str], col: str,
                     meets: Any, where: str) -> tuple[dict[str, list[Any]], list[np.ndarray]]:
    """One case per design point: its parameter values, and whether its estimate meets
    the condition."""
    x: dict[str, list[Any]] = {p: [] for p in params}
    vals = []
    for r in res.rows:
        s = r["initiatives"].get(name) or {}
        if col not in s:
            have = ", ".join(k for k in POINT_OUTPUTS if k in s)
            raise UsageError(f"--where {where!r}: {res.source} has no {col} for "
                             f"'{name}' (have: {have})")
        v = s[col]
        vals.append(math.nan if v is None else float(v))
        for p in params:
            x[p].append(r["values"][p])
    return x, [meets(np.asarray(vals, dtype=float))]


def _per_rep_cases(res: Any, name: str, params: list[str], col: str,
                   meets: Any, where: str) -> tuple[dict[str, list[Any]], list[np.ndarray]]:
    """One case per stored replication, with its point's parameter values."""
    x: dict[str, list[Any]] = {p: [] for p in params}
    ys = []
    for r in res.rows:
        d = res.per_rep(r["point"]).get(name)
        if d is None or not len(d[col]):
            continue
        arr = np.asarray(d[col], dtype=float)
        ys.append(meets(arr))
        for p in params:
            x[p] += [r["values"][p]] * len(arr)
    return x, ys


def prepare(res: Any, where: str, per_rep: bool = False, initiative: str | None = None
            ) -> Prepared:
    """Cases and outcome from a sweep's Results (relaysim.present.results.open_results).

    Per point: one case per design point, y = the condition on that point's estimate (a
    point without an estimate, e.g. no median when nothing was implemented, counts as not
    meeting it unless the condition is about completion). Per replication: one case per
    stored replication, with its point's parameter values."""
    col, op, value = parse_condition(where, per_rep)
    names = res.initiatives
    if not res.rows or not names:
        raise UsageError(f"{res.source}: no results in this sweep yet")
    name = initiative or names[0]
    if name not in names:
        raise UsageError(f"--initiative {name!r}: not in {res.source} "
                         f"(have: {', '.join(names)})")
    if len(res.rows) < MIN_POINTS:
        raise UsageError(f"{res.source}: {len(res.rows)} point(s) is too few for scenario "
                         f"discovery (need at least {MIN_POINTS}; run an LHS design, e.g. "
                         "relaysim sweep ... --design lhs --samples 200)")
    params = [p for p in res.params
              if len({json.dumps(r["values"].get(p)) for r in res.rows}) > 1]
    if not params:
        raise UsageError(f"{res.source}: no parameter varies across the points; nothing to "
                         "discover")
    kinds = {p: _kind([r["values"][p] for r in res.rows]) for p in params}
    reps = sorted({int(r.get("reps") or 0) for r in res.rows})
    fn = _OPS[op]
    cases = _per_rep_cases if per_rep else _per_point_cases
    x, ys = cases(res, name, params, col, lambda arr: fn(arr, value) & ~np.isnan(arr), where)
    y = np.concatenate(ys) if ys else np.zeros(0, dtype=bool)
    what = "replications" if per_rep else "points"
    if len(y) == 0:
        raise UsageError(f"{res.source}: no {what} with results for '{name}'")
    k = int(y.sum())
    if k == 0:
        raise UsageError(f"--where {where!r}: no {what[:-1]} of {res.source} meets the "
                         f"condition (0 of {len(y)}); nothing to explain. Loosen it, or widen "
                         "the ranges swept")
    if k == len(y):
        raise UsageError(f"--where {where!r}: every {what[:-1]} of {res.source} meets the "
                         f"condition ({k} of {len(y)}); nothing to tell apart. Tighten it, or "
                         "widen the ranges swept")
    sc = getattr(res, "scenario", None)
    return Prepared(str(res.source), params, kinds, x, y.astype(bool), where.strip(), col, op,
                    value, per_rep, name, len(res.rows), len(y),
                    scenario=sc.name if sc is not None else None,
                    seed=res.meta.get("seed"), reps=reps,
                    scenario_hash=res.meta.get("scenario_hash"),
                    stream_version=res.meta.get("stream_version"))


# --------------------------------------------------------------------------- analyse


def _frame(prep: Prepared) -> Any:
    """Parameter table for the workbench: every number as a float, true/false as 0.0/1.0
    (CART splits it at 0.5), text as a pandas category. Whole numbers are floats too: the
    workbench's PRIM (2.5) pastes fractional limits into whole-number columns, which
    pandas 3 refuses (TypeError); limits of whole numbers are rounded inward when reported."""
    import pandas as pd

    cols: dict[str, Any] = {}
    for p in prep.params:
        if prep.kinds[p] in ("bool", "int", "float"):
            cols[p] = np.asarray(prep.x[p], dtype=float)
        else:
            cols[p] = pd.Categorical([str(v) for v in prep.x[p]])
    return pd.DataFrame(cols)


def _limit(prep: Prepared, p: str, lo: Any, hi: Any, full: tuple[Any, Any],
           qp: list[float] | None = None) -> dict[str, Any]:
    kind = prep.kinds[p]
    out: dict[str, Any] = {"parameter": p, "kind": kind}
    if kind == "choice":
        vals = sorted(str(v) for v in lo)
        out.update(values=vals, restricted=set(vals) != set(map(str, full[0])))
    elif kind == "bool":
        lo_b, hi_b = bool(float(lo) >= 0.5), bool(float(hi) > 0.5)
        vals = sorted({lo_b, hi_b} if lo_b != hi_b else {lo_b})
        out.update(values=vals, restricted=len(vals) == 1)
    else:
        lo_f, hi_f = float(lo), float(hi)
        out.update(lower=lo_f, upper=hi_f, min=float(full[0]), max=float(full[1]),
                   restricted=bool(lo_f > float(full[0]) or hi_f < float(full[1])))
    if qp is not None:
        ps = [float(q) for q in qp if q is not None and q >= 0 and not math.isnan(q)]
        out["qp"] = max(ps) if ps else None
    return out


def _box_dict(prep: Prepared, lims: Any, init: Any, stats: dict[str, Any],
              qp: dict[str, list[float]] | None = None, closed: bool = False
              ) -> dict[str, Any]:
    limits = []
    for p in prep.params:
        lo, hi = lims[p].iloc[0], lims[p].iloc[1]
        lim = _limit(prep, p, lo, hi, (init[p].iloc[0], init[p].iloc[1]),
                     None if qp is None else qp.get(p, [-1, -1]))
        if lim["restricted"]:
            lim["closed"] = closed  # PRIM: limits are values inside the box
            limits.append(lim)
    return {**{k: float(v) for k, v in stats.items()}, "limits": limits}


def _prim(prep: Prepared, df: Any, y: np.ndarray, threshold: float, peel_alpha: float,
          paste_alpha: float, mass_min: float, n_boxes: int) -> list[dict[str, Any]]:
    prim, _, _ = _ema()
    from ema_workbench.analysis import scenario_discovery_util as sdutil

    init = sdutil._make_box(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the workbench's pandas deprecation warnings
        p = prim.Prim(df, y, threshold=threshold, peel_alpha=peel_alpha,
                      paste_alpha=paste_alpha, mass_min=mass_min)
    boxes = []
    for _ in range(n_boxes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = p.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory
        if int(traj["res_dim"].iloc[-1]) == 0:  # a 'dump box': nothing more to find
            break
        dens = traj["density"].to_numpy(dtype=float)
        cov = traj["coverage"].to_numpy(dtype=float)
        ok = np.flatnonzero(dens >= threshold)
        # the chosen box: most coverage among those dense enough, else the densest
        # (ties: the denser)
        chosen = (int(max(ok, key=lambda i: (cov[i], dens[i]))) if len(ok)
                  else int(np.argmax(dens)))
        trajectory = [{"box": i, "coverage": float(cov[i]), "density": float(dens[i]),
                       "mass": float(traj["mass"].iloc[i]),
                       "res_dim": int(traj["res_dim"].iloc[i])} for i in range(len(traj))]
        # the boxes offered for choice: the last box at each number of restricted
        # dimensions (the densest before one more parameter must be restricted) and the
        # chosen box
        offered = sorted({chosen} | {i for i in range(len(traj))
                                     if i == len(traj) - 1
                                     or traj["res_dim"].iloc[i + 1] != traj["res_dim"].iloc[i]})
        cands = []
        for i in offered:
            st = {"coverage": cov[i], "density": dens[i], "mass": traj["mass"].iloc[i],
                  "res_dim": traj["res_dim"].iloc[i]}
            d = _box_dict(prep, box.box_lims[i], init, st, box.qp[i], closed=True)
            d["box"] = i
            d["chosen"] = i == chosen
            cands.append(d)
        main = next(c for c in cands if c["chosen"])
        boxes.append({**main, "trajectory": trajectory, "candidates": cands})
    return boxes


def _cart(prep: Prepared, df: Any, y: np.ndarray, threshold: float, mass_min: float
          ) -> list[dict[str, Any]]:
    _, cart, _ = _ema()
    from ema_workbench.analysis import scenario_discovery_util as sdutil

    init = sdutil._make_box(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = cart.CART(df, y, mass_min=mass_min)
        c.build_tree()
        found = list(zip(c.boxes, c.stats, strict=True))
    leaves = []
    for lims, st in found:
        stats = {"coverage": st["coverage"], "density": st["density"], "mass": st["mass"],
                 "res_dim": st["res dim"]}
        leaves.append(_box_dict(prep, lims, init, stats))
    # leaves where the condition is concentrated, most coverage first
    leaves.sort(key=lambda b: (-(b["density"] >= threshold), -b["coverage"], -b["density"]))
    for i, b in enumerate(leaves):
        b["box"] = i
        b["chosen"] = i == 0
    return leaves


def _scores(prep: Prepared, df: Any, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    _, _, fs = _ema()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores, _ = fs.get_ex_feature_scores(df, y, random_state=seed)
    col = scores.columns[0]
    return [{"parameter": str(p), "score": float(scores.loc[p, col])} for p in scores.index]


def analyse(prep: Prepared, method: str = "prim", threshold: float = 0.8,
            peel_alpha: float = 0.05, paste_alpha: float = 0.05, mass_min: float = 0.05,
            boxes: int = 1, seed: int = 0) -> dict[str, Any]:
    """Boxes where the condition is concentrated (PRIM or CART), and feature scores."""
    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold is a density between 0 and 1, got {threshold}")
    if not 0 < peel_alpha < 0.5 or not 0 <= paste_alpha < 0.5:
        raise UsageError("--peel-alpha must be in (0, 0.5) and --paste-alpha in [0, 0.5)")
    if not 0 < mass_min < 1:
        raise UsageError(f"--mass-min is a share between 0 and 1, got {mass_min}")
    _ema()
    df = _frame(prep)
    y = prep.y.astype(int) if method == "cart" else prep.y.astype(bool)
    if method == "prim":
        found = _prim(prep, df, y, threshold, peel_alpha, paste_alpha, mass_min, boxes)
    else:
        found = _cart(prep, df, y, threshold, mass_min)
    ranges = {}
    for p in prep.params:
        if prep.kinds[p] in ("bool", "choice"):
            ranges[p] = sorted({json.dumps(v) for v in prep.x[p]})
        else:
            ranges[p] = [float(min(prep.x[p])), float(max(prep.x[p]))]
    return {
        "source": prep.source, "scenario": prep.scenario, "scenario_hash": prep.scenario_hash,
        "seed": prep.seed, "reps_per_point": prep.reps, "relaysim_version": __version__,
        "stream_version": prep.stream_version,
        "where": prep.where, "output": prep.column, "op": prep.op, "value": prep.value,
        "per_rep": prep.per_rep, "initiative": prep.initiative, "points": prep.points,
        "cases": prep.cases, "cases_meeting": int(prep.y.sum()),
        "share_meeting": float(prep.y.mean()), "method": method, "threshold": threshold,
        "peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "mass_min": mass_min,
        "parameters": prep.params, "kinds": prep.kinds, "ranges": ranges,
        "boxes": found, "feature_scores": _scores(prep, df, prep.y.astype(int), seed),
        "phrase": None,
    }


def discover(res: Any, where: str, per_rep: bool = False, initiative: str | None = None,
             out: str | Path | None = None, **kw: Any) -> dict[str, Any]:
    """prepare + analyse; writes OUT/discovery.json (OUT defaults to the sweep folder)."""
    prep = prepare(res, where, per_rep, initiative)
    result = analyse(prep, **kw)
    result["phrase"] = box_phrase(result, result["boxes"][0]) if result["boxes"] else None
    folder = Path(out) if out is not None else _folder(res.source)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create {folder}: {e}") from None
    atomic_write(folder / "discovery.json", json.dumps(json_safe(result), indent=2))
    result["folder"] = str(folder)
    return result


def _folder(source: str | Path) -> Path:
    p = Path(source)
    return p if p.is_dir() else p.parent


# --------------------------------------------------------------------------- words


def _label(path: str) -> str:
    from ..model.schema import label

    return label(path)


def _num(path: str, v: float) -> str:
    field = path.rsplit(".", 1)[-1]
    if field in _SHARES:
        return f"{100 * v:.3g}%"
    return f"{v:.3g}"


_ZONE_BOOL = {"rehearsed": "rehearsal", "checkpoint": "joint checkpoint"}


def _inline(path: str, value: bool | None = None) -> str:
    """A parameter in mid-sentence words: 'principal turnover per year', 'fumble risk at
    the handoff to classroom', 'no rehearsal at the handoff to classroom'."""
    parts = path.split(".")
    lab = _label(path)
    who, sep, words = lab.partition(": ")
    if not sep:
        return lab if value is None else f"{'' if value else 'no '}{lab}"
    if parts[0] == "zones" and len(parts) == 3:
        words = _ZONE_BOOL.get(parts[2], words) if value is not None else words
        words = words if value is None or value else f"no {words}"
        return f"{words} at the {who[0].lower()}{who[1:]}"
    if parts[0] == "levels" and len(parts) == 3:
        words = f"{parts[1]} {words}"
        return words if value is None or value else f"no {words}"
    words = f"{words} ({who[0].lower()}{who[1:]})"
    return words if value is None or value else f"no {words}"


def limit_phrase(lim: dict[str, Any]) -> str:
    """One limit in the planner's words, e.g. 'Principal: turnover per year above 24% a
    year' or 'Handoff to classroom: no rehearsed handoff'."""
    p = lim["parameter"]
    if lim["kind"] == "bool":
        return _inline(p, bool(lim["values"][0]))
    lab = _inline(p)
    if lim["kind"] == "choice":
        return f"{lab} {' or '.join(lim['values'])}"
    lo_r = lim["lower"] > lim["min"]
    hi_r = lim["upper"] < lim["max"]
    lo, hi = _num(p, lim["lower"]), _num(p, lim["upper"])
    if lim["kind"] == "int":  # whole numbers: the limits rounded inward
        lo, hi = f"{math.ceil(lim['lower'] - 1e-9)}", f"{math.floor(lim['upper'] + 1e-9)}"
    if lo_r and hi_r:
        return f"{lab} between {lo} and {hi}"
    closed = lim["kind"] == "int" or lim.get("closed")
    return f"{lab} {'at least' if closed else 'above'} {lo}" if lo_r else \
        f"{lab} {'at most' if closed else 'below'} {hi}"


def condition_phrase(res: dict[str, Any]) -> str:
    """The condition in words: 'the initiative was not implemented', 'the chance of
    implementation was below 50%'."""
    col, op, v = res["output"], res["op"], res["value"]
    if col == "completed":
        failed = (op in ("==", "<=") and v < 1) or (op == "<" and v <= 1) or \
            (op == "!=" and v == 1)
        return "the initiative was not implemented" if failed else \
            "the initiative was implemented"
    val = f"{100 * v:.0f}%" if col in _SHARES else f"{v:g}"
    return f"{_OUTPUT_WORDS.get(col, col)} was {_OP_WORDS[op]} {val}"


def box_phrase(res: dict[str, Any], box: dict[str, Any]) -> str:
    """A box as a sentence: '<condition> in 84% of runs with <limits>; that box holds 61% of
    all of them (29% of all runs)'."""
    what = "runs" if res["per_rep"] else "sweep points"
    lims = [limit_phrase(lim) for lim in box["limits"]]
    if not lims:
        where = "anywhere"
    else:
        where = "with " + (", ".join(lims[:-1]) + " and " + lims[-1] if len(lims) > 1
                           else lims[0])
    cond = condition_phrase(res)
    return (f"{cond[0].upper()}{cond[1:]} in {100 * box['density']:.0f}% of {what} {where}; "
            f"that box holds {100 * box['coverage']:.0f}% of all such {what} "
            f"({100 * box['mass']:.0f}% of all {what} fall inside it).")


def discovery_text(res: dict[str, Any]) -> str:
    what = "replications" if res["per_rep"] else "points"
    lines = [f"When does {res['where']!r} hold for '{res['initiative']}'? "
             f"{res['cases_meeting']} of {res['cases']} {what} do "
             f"({100 * res['share_meeting']:.0f}%); method {res['method'].upper()}, "
             f"{res['points']} sweep points.", ""]
    if not res["boxes"]:
        lines.append("No box reaches the density threshold "
                     f"({100 * res['threshold']:.0f}%): the condition is not concentrated "
                     "anywhere in the ranges swept.")
    shown = [b for b in res["boxes"] if b["coverage"] > 0][:3]
    for n, b in enumerate(shown, start=1):
        lines.append(f"Box {n}: {box_phrase(res, b)}")
        lines.append(f"  coverage {b['coverage']:.2f}  density {b['density']:.2f}  "
                     f"mass {b['mass']:.2f}  restricted parameters {b['res_dim']:.0f}")
        for lim in b["limits"]:
            qp = lim.get("qp")
            qps = "" if qp is None else f"   (quasi-p {qp:.2g})"
            lines.append(f"    {limit_phrase(lim)}{qps}")
        if b.get("candidates") and len(b["candidates"]) > 1:
            lines += ["  Along the peeling trajectory (choose another box for more coverage "
                      "or more density):",
                      f"    {'box':>5} {'coverage':>9} {'density':>8} {'mass':>6} "
                      f"{'parameters':>10}"]
            for c in b["candidates"]:
                mark = "  <- chosen" if c["chosen"] else ""
                lines.append(f"    {c['box']:>5} {c['coverage']:>9.2f} {c['density']:>8.2f} "
                             f"{c['mass']:>6.2f} {c['res_dim']:>10.0f}{mark}")
        lines.append("")
    lines.append("Which parameters matter to the condition (extra-trees feature scores):")
    for s in res["feature_scores"]:
        lines.append(f"  {s['score']:6.3f}  {_label(s['parameter'])}")
    return "\n".join(lines)
