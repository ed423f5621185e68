"""Step curves as small inline SVG, for the explorer's live page: the same data as the
survival and threshold plot kinds (present/plot.py), drawn in a millisecond instead of a
matplotlib figure's tenth of a second, and sharp at any size. Okabe-Ito colours."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Curve", "step_chart"]

W, H = 560, 330  # the viewBox; the page scales it
L, R, T, B = 62, 16, 34, 52  # margins: left (y ticks and label), right, top (legend), bottom


@dataclass
class Curve:
    label: str
    x: np.ndarray  # step points in data units
    y: np.ndarray  # percent, 0..100
    color: str
    where: str = "post"  # "post": y[i] holds on [x[i], x[i+1]); "pre": on (x[i-1], x[i]]


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _ticks(hi: float) -> list[float]:
    """About five round ticks from 0 to hi."""
    raw = hi / 5 or 1.0
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [float(v) for v in np.arange(0, hi + step / 2, step) if v <= hi + 1e-9]


def _path(c: Curve, sx: float, sy: float, x_hi: float) -> str:
    """Points of a step line, already in pixels."""
    xs = np.clip(np.asarray(c.x, dtype=float), 0, x_hi)
    ys = np.asarray(c.y, dtype=float)
    pts: list[tuple[float, float]] = []
    for i in range(len(xs)):
        if pts:  # the riser: 'post' rises at x[i] from y[i-1]; 'pre' holds y[i] from x[i-1]
            pts.append((xs[i], ys[i - 1]) if c.where == "post" else (xs[i - 1], ys[i]))
        pts.append((xs[i], ys[i]))
    pts = [p for k, p in enumerate(pts) if k == 0 or p != pts[k - 1]]
    return " ".join(f"{L + x * sx:.1f},{H - B - y * sy:.1f}" for x, y in pts)


def step_chart(curves: Sequence[Curve], x_hi: float, x_label: str, y_label: str,
               mark: float | None = None, mark_label: str = "", chart_id: str = "",
               title: str = "") -> str:
    """One SVG element: step curves over x in [0, x_hi], y in percent, an optional dashed
    vertical mark, axes with round ticks, a legend on top. Text is escaped."""
    x_hi = float(x_hi) or 1.0
    sx, sy = (W - L - R) / x_hi, (H - T - B) / 100.0
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' "
           f"style='width:100%;max-width:{W}px;height:auto;font-family:sans-serif' "
           f"role='img' id='{_esc(chart_id)}' aria-label='{_esc(title or y_label)}'>"]
    for v in _ticks(100.0):
        y = H - B - v * sy
        out.append(f"<line x1='{L}' x2='{W - R}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e6e6e6'/>"
                   f"<text x='{L - 6}' y='{y + 4:.1f}' font-size='12' text-anchor='end'>"
                   f"{v:.0f}</text>")
    for v in _ticks(x_hi):
        x = L + v * sx
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{H - B}' y2='{H - B + 5}' "
                   f"stroke='#333'/><text x='{x:.1f}' y='{H - B + 19}' font-size='12' "
                   f"text-anchor='middle'>{v:g}</text>")
    out.append(f"<line x1='{L}' x2='{W - R}' y1='{H - B}' y2='{H - B}' stroke='#333'/>"
               f"<line x1='{L}' x2='{L}' y1='{T}' y2='{H - B}' stroke='#333'/>"
               f"<text x='{(L + W - R) / 2}' y='{H - 10}' font-size='13' "
               f"text-anchor='middle'>{_esc(x_label)}</text>"
               f"<text transform='translate(16 {(T + H - B) / 2}) rotate(-90)' "
               f"font-size='13' text-anchor='middle'>{_esc(y_label)}</text>")
    if mark is not None and 0 <= mark <= x_hi:
        x = L + mark * sx
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{T - 4}' y2='{H - B}' "
                   f"stroke='#555' stroke-width='1.5' stroke-dasharray='6 4'/>"
                   f"<text x='{x + 4:.1f}' y='{T + 8}' font-size='12' fill='#555'>"
                   f"{_esc(mark_label)}</text>")
    legend_x = L
    for c in curves:
        out.append(f"<polyline class='curve' fill='none' stroke='{c.color}' "
                   f"stroke-width='2.5' points='{_path(c, sx, sy, x_hi)}'/>"
                   f"<line x1='{legend_x}' x2='{legend_x + 22}' y1='14' y2='14' "
                   f"stroke='{c.color}' stroke-width='3'/><text x='{legend_x + 28}' y='18' "
                   f"font-size='13'>{_esc(c.label)}</text>")
        legend_x += 40 + 8 * len(c.label)
    out.append("</svg>")
    return "".join(out)
