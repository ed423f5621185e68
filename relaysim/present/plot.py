"""Figures for planning sessions and papers. Every function returns a matplotlib Figure.

Labels use the planner's words (trust, handoff, classrooms), the palette is Okabe-Ito
(colour-blind safe), fonts are sized for slides, and every figure says how many
replications and which seed produced it.
"""

from __future__ import annotations

import base64
import functools
import inspect
import io
import itertools
import math
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.patches
import matplotlib.text
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats

from ..errors import UsageError
from ..files import write_output
from ..model.plan import fumble_probability
from ..model.scenario import Scenario
from ..model.schema import label
from ..study.result import RunResult
from .results import (
    Results,
    analysis_folder,
    load_discovery,
    load_screening,
    open_results,
    rate_text,
)

__all__ = ["KINDS", "curve", "heatmap", "tornado", "sobol", "survival", "drops", "relay",
           "tradeoff", "boxlims", "morris", "threshold", "lines", "coverage_steps", "label",
           "save", "plot", "note", "stamp"]

#: every plot kind by name (filled by @plot_kind below; the CLI's --kind reads it)
KINDS: dict[str, Callable[..., Figure]] = {}


def plot_kind(f: Callable[..., Figure]) -> Callable[..., Figure]:
    """Register a plot kind under its function's name; its figure's text is drawn as
    typed (no mathtext: `Budget $5 vs $10` stays text)."""

    @functools.wraps(f)
    def kind(*args: Any, **kw: Any) -> Figure:
        return _plain(f(*args, **kw))

    KINDS[f.__name__] = kind
    return kind


def _plain(fig: Figure) -> Figure:
    """Every text of the figure as typed: `$` in user input (names, values, conditions)
    must not start matplotlib's mathtext."""
    for t in fig.findobj(matplotlib.text.Text):
        t.set_parse_math(False)
    return fig

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000"]
RISK = LinearSegmentedColormap.from_list("risk", ["#009E73", "#F0E442", "#D55E00"])

def _style() -> dict[str, Any]:
    return {"font.size": 14, "axes.titlesize": 16, "axes.labelsize": 14,
            "legend.fontsize": 12, "xtick.labelsize": 12, "ytick.labelsize": 12,
            "axes.spines.top": False, "axes.spines.right": False, "text.parse_math": False}


def _new(figsize: tuple[float, float] = (10, 6)) -> tuple[Figure, Any]:
    # Figure objects, not pyplot: no global state, no screen, safe in workers and tests
    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _apply_style(fig: Figure) -> None:
    s = _style()
    for ax in fig.axes:
        ax.title.set_fontsize(s["axes.titlesize"])
        ax.xaxis.label.set_fontsize(s["axes.labelsize"])
        ax.yaxis.label.set_fontsize(s["axes.labelsize"])
        ax.tick_params(labelsize=s["xtick.labelsize"])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        leg = ax.get_legend()
        if leg is not None:
            for t in leg.get_texts():
                t.set_fontsize(s["legend.fontsize"])


def note(fig: Figure, text: str, meta: Mapping[str, Any] | None = None,
         fontsize: float = 10) -> None:
    """Provenance under the figure (constrained layout keeps it clear of the labels):
    `text`, then `stamp(meta)` when meta is given."""
    fig.supxlabel(text + (stamp(meta) if meta is not None else ""), x=0.99, ha="right",
                  fontsize=fontsize, color="#555555")


def stamp(meta: Mapping[str, Any]) -> str:
    """A figure note's second line naming what made the numbers: "\\n" and the scenario's
    hash, the relaysim version and the random streams (each when `meta` records it under
    scenario_hash, relaysim_version, stream_version), or "" when it records none."""
    parts = []
    if meta.get("scenario_hash"):
        parts.append(f"scenario {str(meta['scenario_hash'])[:12]}")
    if meta.get("relaysim_version"):
        parts.append(f"relaysim {meta['relaysim_version']}")
    if meta.get("stream_version") is not None:
        parts.append(f"random streams v{meta['stream_version']}")
    return "\n" + ", ".join(parts) if parts else ""


def _provenance(res: Results) -> str:
    seed = res.meta.get("seed", "?")
    reps = sorted({r["reps"] for r in res.rows})
    reps_s = str(reps[0]) if len(reps) == 1 else f"{reps[0]}-{reps[-1]}"
    return f"{reps_s} replications per point, seed {seed}"


def _initiative(res: Results, initiative: str | None) -> str:
    names = res.initiatives
    if not names:
        raise UsageError(f"{res.source}: no results yet")
    if initiative is None:
        return names[0]
    if initiative not in names:
        raise UsageError(f"no initiative {initiative!r} in {res.source} (have: {', '.join(names)})")
    return initiative


def _observed(res: Results, name: str) -> None:
    """Refuse, with a message, a figure of rates where nothing was observed."""
    if not any(math.isfinite(_rate(r["initiatives"].get(name, {}).get("completion_rate")))
               for r in res.rows):
        raise UsageError(f"'{name}' was never observed in {res.source} (no replication "
                         "reached it): there is no rate to plot")


#: a heatmap writes its numbers in the cells up to this many cells, and labels at most
#: this many ticks per axis (every k-th beyond)
HEATMAP_NUMBERS_MAX = 150
HEATMAP_TICKS_MAX = 12


def _thin_ticks(axis: Any, values: list[Any]) -> None:
    step = max(1, math.ceil(len(values) / HEATMAP_TICKS_MAX))
    idx = list(range(0, len(values), step))
    axis.set_ticks(idx, [_tick(values[i]) for i in idx])


def _as_results(src: Results | str | Path) -> Results:
    return src if isinstance(src, Results) else open_results(src)


# --------------------------------------------------------------------------- kinds


@plot_kind
def curve(src: Results | str | Path, x: str | None = None, initiative: str | None = None
          ) -> Figure:
    """Completion rate against one swept parameter with its 95% band; one line per
    combination of the other parameters' values."""
    res = _as_results(src)
    name = _initiative(res, initiative)
    if not res.params:
        raise UsageError("a curve needs a sweep with at least one varied parameter")
    x = x or res.params[0]
    if x not in res.params:
        raise UsageError(f"{x} was not varied in this sweep (varied: {', '.join(res.params)})")
    _observed(res, name)
    others = [p for p in res.params if p != x]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in res.rows:
        groups.setdefault(tuple(r["values"][p] for p in others), []).append(r)
    fig, ax = _new()
    for (key, rows), color in zip(sorted(groups.items(), key=lambda kv: str(kv[0])),
                                  itertools.cycle(PALETTE), strict=False):
        rows = sorted(rows, key=lambda r: float(r["values"][x]))
        xs = np.array([float(r["values"][x]) for r in rows])
        s = [r["initiatives"].get(name, {}) for r in rows]
        y = np.array([_rate(v.get("completion_rate")) for v in s])
        lo = np.array([_rate(v.get("ci_low")) for v in s])
        hi = np.array([_rate(v.get("ci_high")) for v in s])
        lab = ", ".join(f"{label(p)} = {_tick(v)}" for p, v in zip(others, key, strict=True))
        ax.plot(xs, 100 * y, marker="o", color=color, lw=2.5, label=lab or None)
        ax.fill_between(xs, 100 * lo, 100 * hi, color=color, alpha=0.2, lw=0)
    ax.set_xlabel(label(x))
    ax.set_ylabel("Chance the initiative is implemented (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"'{name}': implemented by the deadline (95% band)")
    if others:
        ax.legend(frameon=False)
    note(fig, _provenance(res) + _invalid_note(res, name), res.meta)
    _apply_style(fig)
    return fig


@plot_kind
def heatmap(src: Results | str | Path, x: str | None = None, y: str | None = None,
            initiative: str | None = None) -> Figure:
    """Completion rate over two swept parameters (other parameters averaged over)."""
    res = _as_results(src)
    name = _initiative(res, initiative)
    if len(res.params) < 2:
        raise UsageError("a heatmap needs a sweep with two varied parameters")
    x = x or res.params[0]
    y = y or next(p for p in res.params if p != x)
    _observed(res, name)
    xs = sorted({r["values"][x] for r in res.rows}, key=float)
    ys = sorted({r["values"][y] for r in res.rows}, key=float)
    grid = np.full((len(ys), len(xs)), np.nan)
    sums: dict[tuple[int, int], list[float]] = {}
    for r in res.rows:
        v = _rate(r["initiatives"].get(name, {}).get("completion_rate"))
        if math.isfinite(v):
            sums.setdefault((ys.index(r["values"][y]), xs.index(r["values"][x])), []).append(v)
    for (i, j), vs in sums.items():
        grid[i, j] = 100 * float(np.mean(vs))
    fig, ax = _new((10, 7))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="cividis", vmin=0, vmax=100)
    _thin_ticks(ax.xaxis, xs)
    _thin_ticks(ax.yaxis, ys)
    numbers = grid.size <= HEATMAP_NUMBERS_MAX  # past that, the colour bar reads them
    for i in range(len(ys) if numbers else 0):
        for j in range(len(xs)):
            if not math.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=11,
                        color="white" if grid[i, j] < 55 else "black")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.set_title(f"'{name}': chance of implementation (%)")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("Chance the initiative is implemented (%)")
    note(fig, _provenance(res) + _invalid_note(res, name), res.meta)
    _apply_style(fig)
    return fig


def _sens(src: Results | str | Path) -> tuple[Results, dict[str, Any]]:
    res = _as_results(src)
    if res.sensitivity is None:
        raise UsageError(f"{res.source}: no sensitivity.json (run `relaysim sensitivity` "
                         "with --out and plot that folder)")
    return res, res.sensitivity


@plot_kind
def tornado(src: Results | str | Path) -> Figure:
    """One parameter at a time: completion at the low and the high end of each range,
    around the scenario as written (largest swing on top), each end with the 95% interval
    of its paired difference from the scenario as written (when the analysis has it)."""
    _, sens = _sens(src)
    items = list(reversed(sens["tornado"]))
    base = sens.get("baseline")
    fig, ax = _new((11, 1.2 + 0.8 * len(items)))
    for i, t in enumerate(items):
        lo, hi = 100 * _f(t["at_low"]), 100 * _f(t["at_high"])
        ref = 100 * base if base is not None else (lo + hi) / 2
        ax.barh(i, lo - ref, left=ref, color=PALETTE[1], height=0.6,
                label="low end" if i == 0 else None)
        ax.barh(i, hi - ref, left=ref, color=PALETTE[0], height=0.6,
                label="high end" if i == 0 else None)
        spans = _paired_bars(ax, i, t, ref, base is not None)
        if abs(hi - lo) < 0.5:  # no visible effect: one label, not two crammed together
            ax.text(max(lo, hi, ref, *(b for _, b in spans.values())) + 1, i, "no effect",
                    ha="left", va="center", fontsize=11, color="#555555")
            continue
        for key, end, value in (("low", lo, t["low"]), ("high", hi, t["high"])):
            right = end >= ref
            a, b = spans.get(key, (end, end))  # the label clears the whisker
            ax.text(max(end, b) + 1 if right else min(end, a) - 1, i, _tick(value),
                    va="center", fontsize=11, ha="left" if right else "right")
    if base is not None:
        ax.axvline(100 * base, color="black", lw=1)
    ax.set_yticks(range(len(items)), [label(t["parameter"]) for t in items])
    ax.set_xlabel("Chance the initiative is implemented (%)")
    ax.set_xlim(0, 105)
    ax.set_title("Which lever moves implementation most (one at a time)")
    ax.legend(frameon=False, loc="lower right")
    paired = any(t.get("low_vs_base") for t in items)
    note(fig, f"{sens['reps_per_point']} replications per bar end, seed {sens['seed']}"
          + ("; whiskers: 95% CI of each end minus the scenario as written, paired "
             "replication by replication" if paired else ""), sens)
    _apply_style(fig)
    return fig


def _paired_bars(ax: Any, i: int, t: dict[str, Any], ref: float, has_base: bool
                 ) -> dict[str, tuple[float, float]]:
    """Whiskers at a tornado bar's ends: the paired difference's 95% interval from the
    scenario as written (`low_vs_base`, `high_vs_base`), drawn around the end. Returns
    each drawn whisker's span (per cent), by end ("low", "high")."""
    spans: dict[str, tuple[float, float]] = {}
    if not has_base:
        return spans
    for end in ("low", "high"):
        d = t.get(f"{end}_vs_base")
        if not d or d.get("ci95") is None or None in d["ci95"]:
            continue
        x = ref + 100 * d["difference"]
        lo, hi = ref + 100 * d["ci95"][0], ref + 100 * d["ci95"][1]
        ax.errorbar(x, i, xerr=[[max(x - lo, 0)], [max(hi - x, 0)]], fmt="none",
                    ecolor="#333333", capsize=3, lw=1.2)
        spans[end] = (min(lo, x), max(hi, x))
    return spans


@plot_kind
def sobol(src: Results | str | Path) -> Figure:
    """First- and total-order Sobol indices with bootstrap 95% intervals."""
    _, sens = _sens(src)
    items = sorted(sens["sobol"], key=lambda s: s["total"])
    fig, ax = _new((11, 1.2 + 0.9 * len(items)))
    ys = np.arange(len(items))
    for off, key, color, lab in ((0.2, "first", PALETTE[0], "on its own (first order)"),
                                 (-0.2, "total", PALETTE[1], "with interactions (total)")):
        v = np.array([s[key] for s in items])
        ci = np.array([s[f"{key}_ci95"] for s in items])
        err = np.vstack([np.clip(v - ci[:, 0], 0, None), np.clip(ci[:, 1] - v, 0, None)])
        ax.barh(ys + off, v, height=0.38, color=color, label=lab, xerr=err,
                error_kw={"ecolor": "#333333", "capsize": 3})
    ax.set_yticks(ys, [label(s["parameter"]) for s in items])
    ax.set_xlabel("Share of the variation in implementation explained")
    ax.set_xlim(0, 1.0)  # a share; estimates or intervals past 1 are noise and are clipped
    for y0, s in zip(ys, items, strict=True):
        if max(s["total_ci95"][1], s["first_ci95"][1]) > 1:
            ax.text(0.99, y0, "interval runs past 1", ha="right", va="center", fontsize=10,
                    color="#555555")
    ax.set_title("What drives implementation (Sobol indices, 95% CI)")
    ax.legend(frameon=False, loc="lower right")
    k = sens.get("seeds", 1)
    seeds = (f" x {k} independent seeds (the first is seed {sens['seed']}; the intervals "
             "include replication noise)" if k >= 2 else f", seed {sens['seed']}")
    note(fig, f"{sens['points']} points x {sens['reps_per_point']} replications{seeds}", sens)
    _apply_style(fig)
    return fig


#: live runs by label, e.g. {"as written": base, "variant": variant} (paired: same seed
#: and replications); the survival and threshold kinds draw one line per run
Runs = Mapping[str, RunResult]


@dataclass
class Line:
    """One line of the survival and threshold kinds: per-replication outcomes of one
    point or run."""

    label: str
    time: np.ndarray  # completion time since launch, NaN if not implemented (censored)
    follow: np.ndarray  # follow-up: how long each run watched the initiative
    coverage: np.ndarray  # share of classrooms implementing at the deadline
    threshold: float | None  # this line's success threshold


def _run_line(label_: str, res: RunResult, name: str) -> Line:
    outs = [o for r in res.replications for o in r.initiatives if o.name == name]
    return Line(label_, np.array([o.completion_time for o in outs], dtype=float),
                np.array([o.follow_up for o in outs], dtype=float),
                np.array([o.coverage for o in outs if o.observed], dtype=float),
                success_threshold(res.scenario, name))


def lines(src: Results | str | Path | Runs, points: list[int] | None = None,
          initiative: str | None = None) -> tuple[str, list[Line], str, str | None]:
    """(initiative, its lines, provenance note, time unit): from live runs, or from stored
    results, one line per point (default the first six), named by how each differs from
    the first."""
    if isinstance(src, Mapping):
        first = next(iter(src.values()))
        name = initiative or next(iter(first.summary["initiatives"]))
        return (name, [_run_line(k, r, name) for k, r in src.items()],
                f"{first.reps} replications, seed {first.seed}"
                + stamp({k: first.summary[k] for k in ("relaysim_version", "stream_version")}),
                first.scenario.time_unit)
    res = _as_results(src)
    name = _initiative(res, initiative)
    pts = points if points is not None else list(range(min(len(res.rows), 6)))
    ref = res.rows[pts[0]]["values"] if pts else {}
    out = []
    for j in pts:
        d = res.per_rep(j).get(name)
        if d is None:
            continue
        vals = res.rows[j]["values"]
        lab = "; ".join(f"{label(p)} = {_tick(v)}" for p, v in vals.items() if v != ref.get(p))
        if not lab:
            lab = "; ".join(f"{label(p)} = {_tick(v)}" for p, v in vals.items()) or (
                res.scenario.name if res.scenario else name)
        out.append(Line(lab, d["time"], d["follow"], d["coverage"],
                        _threshold_of(res, j, name)))
    unit = res.scenario.time_unit if res.scenario is not None else None
    return name, out, _provenance(res) + stamp(res.meta), unit


def coverage_steps(coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(coverage >= x) from x = 0 to the largest coverage seen, as points of a 'pre' step:
    it is left-continuous, constant on (x_{i-1}, x_i]."""
    cov = np.sort(np.asarray(coverage, dtype=float))
    xs = np.unique(cov)
    surv = 1.0 - np.searchsorted(cov, xs, side="left") / len(cov)  # P(C >= x) at each x
    return np.r_[0.0, xs], np.r_[1.0, surv]


def success_threshold(sc: Scenario | None, name: str) -> float | None:
    ini = next((i for i in sc.initiatives if i.name == name), None) if sc else None
    return None if ini is None else float(ini.success_threshold)


@plot_kind
def survival(src: Results | str | Path | Runs, points: list[int] | None = None,
             initiative: str | None = None) -> Figure:
    """Kaplan-Meier estimate of the share of runs implemented by each time since launch
    (in the scenario's time_unit), one line per point (or per live run); + marks runs
    censored at the horizon without implementation."""
    name, found, prov, unit = lines(src, points, initiative)
    fig, ax = _new()
    for ln, color in zip(found, itertools.cycle(PALETTE), strict=False):
        t, follow = ln.time, ln.follow
        ev = ~np.isnan(t)
        if not ev.any():
            ax.plot([0, float(np.max(follow))], [0, 0], color=color, lw=2.5, label=ln.label)
            continue
        km = stats.ecdf(stats.CensoredData(uncensored=t[ev], right=follow[~ev]))
        q, pr = km.cdf.quantiles, km.cdf.probabilities
        ax.step(np.r_[0, q], 100 * np.r_[0, pr], where="post", color=color, lw=2.5,
                label=ln.label)
        cens = np.unique(follow[~ev])
        if len(cens):
            ax.plot(cens, 100 * km.cdf.evaluate(cens), "+", color=color, ms=14, mew=2)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"{(unit or 'days').capitalize()} since launch")
    ax.set_ylabel("Runs implemented by then (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"'{name}': time to implementation (Kaplan-Meier; + = censored)")
    ax.legend(frameon=False, fontsize=11, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    note(fig, prov)
    _apply_style(fig)
    return fig


def _threshold_of(res: Results, j: int, name: str) -> float | None:
    """The success threshold of initiative `name` at point j (varied or the scenario's)."""
    v = res.rows[j]["values"].get(f"initiatives.{name}.success_threshold")
    if v is not None:
        return float(v)
    if res.scenario is None:
        return None
    return next((i.success_threshold for i in res.scenario.initiatives if i.name == name),
                None)


@plot_kind
def threshold(src: Results | str | Path | Runs, points: list[int] | None = None,
              initiative: str | None = None) -> Figure:
    """The knife edge (issue 12): P(coverage at the deadline >= x) against x, one line per
    point (or per live run), with the success threshold marked. Completion is this curve
    read at the threshold, so a planner sees how much completion depends on where the bar
    is set."""
    name, found, prov, _ = lines(src, points, initiative)
    found = [ln for ln in found if len(ln.coverage)]
    # the legend goes under the axes, its long labels wrapped, and the figure grows with it
    # (beside the axes a long label squeezed them to nothing and pushed the title off)
    labels = ["\n".join(textwrap.wrap(ln.label, 90)) or ln.label for ln in found]
    rows = sum(lab.count("\n") + 1 for lab in labels)
    fig, ax = _new((10, 6 + 0.28 * rows))
    marked: set[float] = set()
    for ln, lab, color in zip(found, labels, itertools.cycle(PALETTE), strict=False):
        xs, ys = coverage_steps(ln.coverage)
        ax.step(100 * xs, 100 * ys, where="pre", color=color, lw=2.5, label=lab)
        thr = ln.threshold
        if thr is not None:
            p_at = float(np.mean(ln.coverage >= thr - 1e-12))
            ax.plot([100 * thr], [100 * p_at], "o", color=color, ms=9)
            if thr not in marked:
                marked.add(thr)
                ax.axvline(100 * thr, color="0.4", lw=1.2, ls="--")
                ax.annotate(f"success threshold {100 * thr:.0f}%", (100 * thr, 100),
                            xytext=(4, -14), textcoords="offset points", fontsize=11,
                            color="0.3")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.set_xlabel("Classrooms implementing at the deadline, x (%)")
    ax.set_ylabel("Runs with coverage >= x (%)")
    ax.set_title(f"'{name}': completion is this curve\nread at the success threshold")
    if found:
        ax.legend(frameon=False, fontsize=11, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    note(fig, "dot = completion rate at the threshold; " + prov)
    _apply_style(fig)
    return fig


@plot_kind
def drops(src: Results | str | Path, point: int | None = 0, initiative: str | None = None
          ) -> Figure:
    """Where the baton falls: mean drops per replication at each exchange zone (95% CI)."""
    res = _as_results(src)
    name = _initiative(res, initiative)
    d = res.per_rep(point).get(name)
    if d is None or not len(d["drops"]):
        raise UsageError(f"{res.source}: no replications stored for '{name}' yet")
    zones = list(d["zones"])
    mat = d["drops"]  # replications x zones
    mean = mat.mean(axis=0)
    se = mat.std(axis=0, ddof=1) / math.sqrt(len(mat)) if len(mat) > 1 else np.zeros_like(mean)
    total = mean.sum()
    fig, ax = _new((10, 5))
    xs = np.arange(len(zones))
    bars = ax.bar(xs, mean, yerr=1.96 * se, color=[PALETTE[3 if m == mean.max() and m > 0 else 0]
                                                  for m in mean],
                  error_kw={"ecolor": "#333333", "capsize": 4})
    for b, m, e in zip(bars, mean, 1.96 * se, strict=True):
        share = f"{100 * m / total:.0f}% of drops" if total > 0 else "no drops"
        ax.text(b.get_x() + b.get_width() / 2, b.get_height() + e, share, ha="center",
                va="bottom", fontsize=12)
    ax.margins(y=0.15)
    ax.set_xticks(xs, [f"Handoff to\n{z}" for z in zones])
    ax.set_ylabel("Batons dropped per run")
    where = "pooled over all points" if point is None else ""
    ax.set_title(f"Where the baton falls: '{name}'" + (f"\n{where}" if where else ""))
    note(fig, f"{len(mat)} replications, seed {res.meta.get('seed', '?')}", res.meta)
    _apply_style(fig)
    return fig


def _relay_data(src: Results | str | Path | Scenario, point: int, initiative: str | None,
                shares: Any = None, headline: tuple | None = None
                ) -> tuple[Scenario, Results | None, np.ndarray | None, tuple | None]:
    """The scenario of the relay picture, its results (if any), each handoff's share of
    the drops and the headline (rate, low, high, initiative): read from stored results,
    or, for a Scenario, as the caller gives them (e.g. from a live run)."""
    if isinstance(src, Scenario):
        return src, None, shares, headline
    res = _as_results(src)
    sc = res.scenario
    if sc is None:
        raise UsageError(f"{res.source}: the relay picture needs the sweep's manifest.json")
    if res.rows and res.rows[point]["values"]:
        sc = sc.with_values(res.rows[point]["values"])
    shares, headline = None, None
    name = _initiative(res, initiative)
    try:
        d = res.per_rep(point).get(name)
        if d is not None and len(d["drops"]):
            m = d["drops"].mean(axis=0)
            shares = (m / m.sum()) if m.sum() > 0 else np.zeros_like(m)
    except UsageError:
        shares = None
    s = res.rows[point]["initiatives"].get(name, {})
    if s.get("completion_rate") is not None:
        headline = (s["completion_rate"], s["ci_low"], s["ci_high"], name)
    return sc, res, shares, headline


@plot_kind
def relay(src: Results | str | Path | Scenario, point: int = 0, initiative: str | None = None,
          shares: Any = None, headline: tuple[float, float, float, str] | None = None,
          peers: Mapping[str, Any] | None = None) -> Figure:
    """The district's relay: levels as runners, exchange zones coloured by fumble risk and
    annotated with the share of drops that happen there; with peer sharing, arcs between
    the runners of the sharing level (the sideways handoffs of showcase visits).

    Given a Scenario, `shares` (each zone's share of drops, top to bottom), `headline`
    (completion rate, CI low, CI high, initiative) and `peers` (a run summary's
    `peer_sharing` for the initiative, optionally with `rescued`: batons the district's
    reviews found at the same handoff, per run) come from the caller, e.g. a run's
    summary; given stored results they are read from the store (peer counts are not
    stored: the arcs then come without numbers)."""
    sc, res, shares, headline = _relay_data(src, point, initiative, shares, headline)
    levels = sc.levels
    sizes = sc.level_sizes
    ini = sc.initiatives[0] if sc.initiatives else None
    fig, ax = _new((11, 4.6 if sc.sharing_level is None else 6.8))
    n = len(levels)
    xs = np.arange(n) * 3.0
    for k, (lv, size) in enumerate(zip(levels, sizes, strict=True)):
        circ = matplotlib.patches.Circle((xs[k], 0), 0.75, color=PALETTE[0], zorder=3)
        ax.add_patch(circ)
        ax.text(xs[k], 0, f"{size:,}", ha="center", va="center", color="white", fontsize=15,
                fontweight="bold", zorder=4)
        ax.text(xs[k], -1.15, lv.name.replace("_", " "), ha="center", va="top", fontsize=14)
        under = f"trust {lv.trust:.2f}" if k else "starts the baton"
        note_size = 13
        if lv.merged_with_parent:
            under = "same person as above"
        ax.text(xs[k], -1.65, under, ha="center", va="top", fontsize=note_size, color="#555555")
        if k == 0:
            continue
        zone = sc.zones[k]
        p = fumble_probability(sc, k, ini) if (zone is not None and ini is not None) else 0.0
        color = RISK(min(p / 0.3, 1.0)) if zone is not None else "#BBBBBB"
        ax.add_patch(matplotlib.patches.FancyBboxPatch(
            (xs[k - 1] + 0.85, -0.35), 3.0 - 1.7, 0.7, boxstyle="round,pad=0.05",
            color=color, zorder=2))
        txt = "no handoff" if lv.merged_with_parent else (
            f"fumble {100 * p:.0f}%" if zone is not None else "instant")
        ax.text((xs[k - 1] + xs[k]) / 2, 0.62, txt, ha="center", va="bottom", fontsize=12)
        if shares is not None and k - 1 < len(shares):
            ax.text((xs[k - 1] + xs[k]) / 2, -0.62, f"{100 * shares[k - 1]:.0f}% of drops",
                    ha="center", va="top", fontsize=12, fontweight="bold")
    k_sh = sc.sharing_level
    if k_sh is not None:
        _sideways(ax, sc, k_sh, float(xs[k_sh]), peers)
    ax.set_xlim(-1.2, xs[-1] + 1.2)
    ax.set_ylim(-2.1, 1.3 if k_sh is None else 4.3)
    ax.set_aspect("equal")
    ax.axis("off")
    # a figure title: with an equal-aspect axes, an axes title can be pushed off the top
    fig.suptitle(_relay_title(sc, headline), fontsize=15)
    _risk_colorbar(fig, ax)
    if res is not None:
        note(fig, _provenance(res), res.meta)
    return fig


def _relay_title(sc: Scenario, headline: tuple[float, float, float, str] | None) -> str:
    title = f"The relay of '{sc.name}': runners per level and the handoffs between them"
    if headline is not None:
        r, lo, hi, name = headline
        ci = (f"{100 * lo:.0f}-{100 * hi:.0f}%" if rate_text(lo).endswith("%")
              and rate_text(hi).endswith("%") else "n/a")
        title += f"\n'{name}' implemented in {rate_text(r)} of runs (95% CI {ci})"
    return title


#: the network of the sharing level in a planner's words
_NETWORK_WORDS = {"all": "with every other {who}", "segment": "with the {who}s of their segment",
                  "ring": "with their nearest neighbours",
                  "random": "with a few peers picked at random"}


def _sideways(ax: Any, sc: Scenario, k: int, x: float, peers: Mapping[str, Any] | None
              ) -> None:
    """Peer sharing on level k drawn above its circle: a few of its runners as dots, arcs
    between them in the shape of the network, and in words who shares with whom, how
    often, and (with `peers`) the batons picked up from a peer and their share of the
    batons recovered at the handoff into the level."""
    sh = sc.levels[k].sharing
    assert sh is not None
    n = min(sc.level_sizes[k], 5)
    dx = np.linspace(-1.1, 1.1, n) if n > 1 else np.zeros(1)
    y = 1.35
    for a, b in _arc_pairs(sh.network, sh.degree, n):
        ax.add_patch(matplotlib.patches.FancyArrowPatch(
            (x + dx[a], y + 0.12), (x + dx[b], y + 0.12), arrowstyle="-",
            connectionstyle=f"arc3,rad={-0.3 - 0.05 * (b - a)}", color=PALETTE[2], lw=2,
            zorder=2))
    for d in dx:
        ax.add_patch(matplotlib.patches.Circle((x + d, y), 0.12, color=PALETTE[0], zorder=3))
    who = sc.levels[k].name.replace("_", " ")
    lines = [f"{who.capitalize()}s pass it sideways, "
             + _NETWORK_WORDS.get(sh.network, "to peers").format(who=who),
             f"a school that has it working hosts {sh.share_rate:.3g} showcase visits a year"
             if sh.share_rate > 0 else "no showcase visits (no recognition)"]
    if peers:
        got = float(peers.get("recovered") or 0.0)
        lines.append(f"picked up from a peer: {got:.2f} batons a run")
        rescued = float(peers.get("rescued") or 0.0)
        if rescued > 0 and got > 0:
            lines.append(f"{100 * got / (got + rescued):.0f}% of the batons recovered here "
                         f"(district reviews: {100 * rescued / (got + rescued):.0f}%)")
    ax.text(x, y + 0.95, "\n".join(lines), ha="center", va="bottom", fontsize=12,
            color="#333333", linespacing=1.3)


def _arc_pairs(network: str, degree: int, n: int) -> list[tuple[int, int]]:
    """Which of n dots (runners in a row) are joined, in the network's shape."""
    if n < 2:
        return []
    if network == "all":
        return list(itertools.combinations(range(n), 2))
    if network == "segment":  # two groups
        cut = (n + 1) // 2
        return [(a, b) for a, b in itertools.combinations(range(n), 2)
                if (a < cut) == (b < cut)]
    if network == "ring":
        pairs = {(i, i + s) for s in range(1, max(1, degree // 2) + 1) for i in range(n - s)}
        return sorted(pairs | {(0, n - 1)})
    return [(i, min(n - 1, i + 2)) for i in range(0, n - 1, 2)] + [(1, n - 1)]


def _risk_colorbar(fig: Figure, ax: Any) -> None:
    sm = matplotlib.cm.ScalarMappable(cmap=RISK, norm=matplotlib.colors.Normalize(0, 30))
    cb = fig.colorbar(sm, ax=ax, orientation="horizontal", fraction=0.05, pad=0.02,
                      shrink=0.5)
    cb.set_label("Fumble risk of one handoff attempt (%)", fontsize=13)
    cb.ax.tick_params(labelsize=12)


# ------------------------------------------------------------- discovery and screening


def _need_discovery(src: Results | str | Path) -> dict[str, Any]:
    d = load_discovery(src)
    if d is None:
        raise UsageError(f"{analysis_folder(src)}: no discovery.json (run `relaysim discover` on "
                         "this sweep folder first)")
    return d


@plot_kind
def tradeoff(src: Results | str | Path) -> Figure:
    """Coverage against density of every box on PRIM's peeling trajectory, coloured by how
    many parameters the box restricts; the chosen box ringed."""
    d = _need_discovery(src)
    boxes = [b for b in d["boxes"] if b.get("trajectory")]
    if not boxes:
        raise UsageError(f"{analysis_folder(src)}: the trade-off needs PRIM's peeling trajectory "
                         f"(this discovery used {d['method'].upper()})")
    b = boxes[0]
    t = b["trajectory"]
    fig, ax = _new((9, 6.5))
    cov = np.array([r["coverage"] for r in t])
    den = np.array([r["density"] for r in t])
    dims = np.array([r["res_dim"] for r in t])
    sc = ax.scatter(cov, den, c=dims, cmap="viridis", s=45, zorder=3)
    ax.plot(cov, den, color="#999999", lw=1, zorder=2)
    ax.scatter([b["coverage"]], [b["density"]], s=260, facecolors="none",
               edgecolors=PALETTE[3], linewidths=2.5, zorder=4, label="chosen box")
    cb = fig.colorbar(sc, ax=ax)
    cb.set_label("parameters restricted")
    cb.ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no 1.5 parameters
    ax.axhline(d["threshold"], color="#555555", ls=":", lw=1)
    ax.set_xlabel("Coverage: share of all cases meeting the condition inside the box")
    ax.set_ylabel("Density: share of the box meeting it")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Where '{d['where']}' concentrates (PRIM peeling trajectory)")
    ax.legend(frameon=False, loc="lower left")
    note(fig, _prov(d), d)
    _apply_style(fig)
    return fig


@plot_kind
def boxlims(src: Results | str | Path) -> Figure:
    """The chosen box: each restricted parameter's limits as a bar across its swept
    range (true/false and text parameters: the values kept)."""
    d = _need_discovery(src)
    shown = [b for b in d["boxes"] if b["coverage"] > 0]
    if not shown or not shown[0]["limits"]:
        raise UsageError(f"{analysis_folder(src)}: no box restricts any parameter")
    b = shown[0]
    lims = b["limits"]
    fig, ax = _new((11, 1.8 + 0.9 * len(lims)))
    for i, lim in enumerate(reversed(lims)):
        if lim["kind"] in ("float", "int"):
            span = (lim["max"] - lim["min"]) or 1.0
            lo = (lim["lower"] - lim["min"]) / span
            hi = (lim["upper"] - lim["min"]) / span
            ax.barh(i, 1, color="#e8e8e8", height=0.45)
            ax.barh(i, hi - lo, left=lo, color=PALETTE[3], height=0.45)
            # the limits above the bar, at its ends (beside it, a limit at the low end of
            # the range ran into the axis)
            ax.text(lo, i + 0.26, _tick(lim["lower"]), ha="right" if hi - lo < 0.2 else "left",
                    va="bottom", fontsize=11)
            ax.text(hi, i + 0.26, _tick(lim["upper"]), ha="left" if hi - lo < 0.2 else "right",
                    va="bottom", fontsize=11)
        else:
            ax.barh(i, 1, color="#e8e8e8", height=0.45)
            kept = ", ".join(_tick(v) for v in lim["values"])
            ax.text(0.5, i, f"only: {kept}", ha="center", va="center", fontsize=12)
        qp = lim.get("qp")
        if qp is not None:
            ax.text(1.04, i, f"quasi-p {qp:.1g}", va="center", fontsize=10, color="#555555")
    ax.set_yticks(range(len(lims)), [label(lim["parameter"]) for lim in reversed(lims)])
    ax.set_ylim(-0.5, len(lims) - 0.2)
    ax.set_xlim(-0.03, 1.22)
    ax.set_xticks([0, 1], ["low end of range", "high end"])
    ax.set_title(f"The box: coverage {100 * b['coverage']:.0f}%, density "
                 f"{100 * b['density']:.0f}%, mass {100 * b['mass']:.0f}%")
    note(fig, _prov(d), d)
    _apply_style(fig)
    return fig


def _prov(d: dict[str, Any]) -> str:
    what = "replications" if d["per_rep"] else "points"
    reps = d.get("reps_per_point") or []
    r = f", {reps[0]}-{reps[-1]} replications per point" if len(reps) > 1 else \
        f", {reps[0]} replications per point" if reps else ""
    return f"{d['method'].upper()} on {d['cases']} {what}{r}, seed {d.get('seed', '?')}"


@plot_kind
def morris(src: Results | str | Path) -> Figure:
    """Morris screening: mu* (how much each lever moves the output, with its 95% interval)
    against sigma (how much that depends on the other levers)."""
    s = load_screening(src)
    if s is None:
        raise UsageError(f"{analysis_folder(src)}: no screening.json (run `relaysim screen` with "
                         "--out and plot that folder)")
    fig, ax = _new((10, 7))
    eff = s["morris"]
    top = max([e["mu_star_ci95"][1] for e in eff] + [e["sigma"] for e in eff] + [1e-9])
    for i, e in enumerate(eff):
        lo, hi = e["mu_star_ci95"]
        color = PALETTE[i % len(PALETTE)]
        ax.errorbar([e["mu_star"]], [e["sigma"]], xerr=[[e["mu_star"] - lo], [hi - e["mu_star"]]],
                    fmt="o", ms=9, color=color, capsize=3, label=label(e["parameter"]))
    ax.plot([0, top * 1.1], [0, top * 1.1], color="#999999", ls=":", lw=1)
    ax.text(top, top * 1.02, "sigma = mu*", color="#777777", fontsize=10, ha="right")
    ax.set_xlim(0, top * 1.15)
    ax.set_ylim(0, top * 1.15)
    what = "implementation" if s["output"] == "completion_rate" else "coverage"
    ax.set_xlabel(f"mu*: change in {what} across the lever's range")
    ax.set_ylabel("sigma: how much it depends on the others")
    ax.set_title("Which levers matter at all (Morris screening, 95% CI)")
    ax.legend(frameon=False, loc="upper left", fontsize=11)
    note(fig, f"{s['trajectories']} trajectories, {s['points']} points x "
                 f"{s['reps_per_point']} replications, seed {s['seed']}", s)
    _apply_style(fig)
    return fig


# --------------------------------------------------------------------------- files


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


def _rate(v: Any) -> float:
    """A rate to draw: NaN (not drawn) when missing or outside [0, 1]."""
    x = _f(v)
    return x if 0.0 <= x <= 1.0 else math.nan


def _invalid_note(res: Results, name: str) -> str:
    """'; N values outside [0, 1] not drawn' when the results hold such rates."""
    n = sum(1 for r in res.rows for k in ("completion_rate", "ci_low", "ci_high")
            if math.isfinite(v := _f(r["initiatives"].get(name, {}).get(k)))
            and not 0.0 <= v <= 1.0)
    return f"; {n} value(s) outside [0, 1] not drawn (edited results?)" if n else ""


def _tick(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def data_uri(fig: Figure, dpi: int = 110) -> str:
    """The figure as a PNG data URI, for HTML pages that carry their images inline."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def save(fig: Figure, path: str | Path) -> None:
    """Write PNG, SVG or PDF by extension (files.write_output: atomically for a file,
    through a symbolic link, straight into a device or pipe)."""
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in ("png", "svg", "pdf"):
        raise UsageError(f"{p}: the file name must end in .png, .svg or .pdf")
    write_output(p, lambda f: fig.savefig(f, dpi=150 if ext == "png" else None, format=ext))


def plot(src: str | Path | Results, kind: str, **kw: Any) -> Figure:
    """The figure of the given kind (see KINDS) from a sweep/sensitivity folder or store."""
    if kind not in KINDS:
        raise UsageError(f"unknown plot kind {kind!r} (one of: {', '.join(KINDS)})")
    given = {k: v for k, v in kw.items() if v is not None}
    takes = inspect.signature(KINDS[kind]).parameters
    extra = [k for k in given if k not in takes]
    if extra:
        raise UsageError(f"--kind {kind} does not take {', '.join('--' + k for k in extra)}")
    return KINDS[kind](src, **given)
