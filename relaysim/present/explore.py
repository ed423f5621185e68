"""Figures of scenario discovery (discovery.json) and Morris screening (screening.json):
the coverage/density trade-off along PRIM's peeling trajectory, the chosen box's limits,
and mu* against sigma. Same style as plot.py: Figure objects, planner's words, provenance
under each figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import UsageError
from . import plot as P
from .results import Results

__all__ = ["tradeoff", "boxlims", "morris", "load_discovery", "load_screening"]


def _folder(src: Results | str | Path) -> Path:
    p = Path(src.source) if isinstance(src, Results) else Path(src)
    return p if p.is_dir() else p.parent


def _load(src: Results | str | Path, name: str, how: str) -> dict[str, Any] | None:
    f = _folder(src) / name
    if not f.exists():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"{f}: cannot read ({e}); run `{how}` again") from None


def load_discovery(src: Results | str | Path) -> dict[str, Any] | None:
    """The folder's discovery.json, or None."""
    return _load(src, "discovery.json", "relaysim discover")


def load_screening(src: Results | str | Path) -> dict[str, Any] | None:
    """The folder's screening.json, or None."""
    return _load(src, "screening.json", "relaysim screen")


def _need_discovery(src: Results | str | Path) -> dict[str, Any]:
    d = load_discovery(src)
    if d is None:
        raise UsageError(f"{_folder(src)}: no discovery.json (run `relaysim discover` on "
                         "this sweep folder first)")
    return d


def tradeoff(src: Results | str | Path) -> Figure:
    """Coverage against density of every box on PRIM's peeling trajectory, coloured by how
    many parameters the box restricts; the chosen box ringed."""
    d = _need_discovery(src)
    boxes = [b for b in d["boxes"] if b.get("trajectory")]
    if not boxes:
        raise UsageError(f"{_folder(src)}: the trade-off needs PRIM's peeling trajectory "
                         f"(this discovery used {d['method'].upper()})")
    b = boxes[0]
    t = b["trajectory"]
    fig, ax = P._new((9, 6.5))
    cov = np.array([r["coverage"] for r in t])
    den = np.array([r["density"] for r in t])
    dims = np.array([r["res_dim"] for r in t])
    sc = ax.scatter(cov, den, c=dims, cmap="viridis", s=45, zorder=3)
    ax.plot(cov, den, color="#999999", lw=1, zorder=2)
    ax.scatter([b["coverage"]], [b["density"]], s=260, facecolors="none",
               edgecolors=P.PALETTE[3], linewidths=2.5, zorder=4, label="chosen box")
    cb = fig.colorbar(sc, ax=ax)
    cb.set_label("parameters restricted")
    ax.axhline(d["threshold"], color="#555555", ls=":", lw=1)
    ax.set_xlabel("Coverage: share of all cases meeting the condition inside the box")
    ax.set_ylabel("Density: share of the box meeting it")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Where '{d['where']}' concentrates (PRIM peeling trajectory)")
    ax.legend(frameon=False, loc="lower left")
    P._note(fig, _prov(d))
    P._apply_style(fig)
    return fig


def boxlims(src: Results | str | Path) -> Figure:
    """The chosen box: each restricted parameter's limits as a bar across its swept
    range (true/false and text parameters: the values kept)."""
    d = _need_discovery(src)
    shown = [b for b in d["boxes"] if b["coverage"] > 0]
    if not shown or not shown[0]["limits"]:
        raise UsageError(f"{_folder(src)}: no box restricts any parameter")
    b = shown[0]
    lims = b["limits"]
    fig, ax = P._new((11, 1.6 + 0.8 * len(lims)))
    for i, lim in enumerate(reversed(lims)):
        if lim["kind"] in ("float", "int"):
            span = (lim["max"] - lim["min"]) or 1.0
            lo = (lim["lower"] - lim["min"]) / span
            hi = (lim["upper"] - lim["min"]) / span
            ax.barh(i, 1, color="#e8e8e8", height=0.5)
            ax.barh(i, hi - lo, left=lo, color=P.PALETTE[3], height=0.5)
            ax.text(lo - 0.01, i, P._tick(lim["lower"]), ha="right", va="center", fontsize=11)
            ax.text(hi + 0.01, i, P._tick(lim["upper"]), ha="left", va="center", fontsize=11)
        else:
            ax.barh(i, 1, color="#e8e8e8", height=0.5)
            kept = ", ".join(P._tick(v) for v in lim["values"])
            ax.text(0.5, i, f"only: {kept}", ha="center", va="center", fontsize=12)
        qp = lim.get("qp")
        if qp is not None:
            ax.text(1.1, i, f"quasi-p {qp:.1g}", va="center", fontsize=10, color="#555555")
    ax.set_yticks(range(len(lims)), [P.label(lim["parameter"]) for lim in reversed(lims)])
    ax.set_xlim(-0.08, 1.3)
    ax.set_xticks([0, 1], ["low end of range", "high end"])
    ax.set_title(f"The box: coverage {100 * b['coverage']:.0f}%, density "
                 f"{100 * b['density']:.0f}%, mass {100 * b['mass']:.0f}%")
    P._note(fig, _prov(d))
    P._apply_style(fig)
    return fig


def _prov(d: dict[str, Any]) -> str:
    what = "replications" if d["per_rep"] else "points"
    reps = d.get("reps_per_point") or []
    r = f", {reps[0]}-{reps[-1]} replications per point" if len(reps) > 1 else \
        f", {reps[0]} replications per point" if reps else ""
    return f"{d['method'].upper()} on {d['cases']} {what}{r}, seed {d.get('seed', '?')}"


def morris(src: Results | str | Path) -> Figure:
    """Morris screening: mu* (how much each lever moves the output, with its 95% interval)
    against sigma (how much that depends on the other levers)."""
    s = load_screening(src)
    if s is None:
        raise UsageError(f"{_folder(src)}: no screening.json (run `relaysim screen` with "
                         "--out and plot that folder)")
    fig, ax = P._new((10, 7))
    eff = s["morris"]
    top = max([e["mu_star_ci95"][1] for e in eff] + [e["sigma"] for e in eff] + [1e-9])
    for i, e in enumerate(eff):
        lo, hi = e["mu_star_ci95"]
        color = P.PALETTE[i % len(P.PALETTE)]
        ax.errorbar([e["mu_star"]], [e["sigma"]], xerr=[[e["mu_star"] - lo], [hi - e["mu_star"]]],
                    fmt="o", ms=9, color=color, capsize=3, label=P.label(e["parameter"]))
    ax.plot([0, top * 1.1], [0, top * 1.1], color="#999999", ls=":", lw=1)
    ax.text(top, top * 1.02, "sigma = mu*", color="#777777", fontsize=10, ha="right")
    ax.set_xlim(0, top * 1.15)
    ax.set_ylim(0, top * 1.15)
    what = "implementation" if s["output"] == "completion_rate" else "coverage"
    ax.set_xlabel(f"mu*: change in {what} across the lever's range")
    ax.set_ylabel("sigma: how much it depends on the others")
    ax.set_title("Which levers matter at all (Morris screening, 95% CI)")
    ax.legend(frameon=False, loc="upper left", fontsize=11)
    P._note(fig, f"{s['trajectories']} trajectories, {s['points']} points x "
                 f"{s['reps_per_point']} replications, seed {s['seed']}")
    P._apply_style(fig)
    return fig
