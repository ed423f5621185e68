"""A one-file HTML report for a planning session: figures embedded, no external requests."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from matplotlib.figure import Figure

from .._version import __version__
from ..errors import UsageError
from ..files import atomic_write
from . import plot as P
from .results import Results, open_results

__all__ = ["report_html", "write_report", "what_to_try_first"]

CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
h1 { font-size: 1.9em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; color: #0072B2; }
.headline { font-size: 1.5em; background: #f3f7fb; border-left: 6px solid #0072B2;
            padding: 0.6em 1em; }
.try { background: #fff7e6; border-left: 6px solid #E69F00; padding: 0.6em 1em; }
img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
table { border-collapse: collapse; } td, th { padding: 0.25em 0.8em; text-align: left;
border-bottom: 1px solid #ddd; } .small { color: #666; font-size: 0.9em; }
"""


def _img(fig: Figure, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def what_to_try_first(res: Results) -> str:
    """A plain-language paragraph derived from the numbers: where batons fall most, and
    which lever moved implementation most (sensitivity), with its size."""
    name = res.initiatives[0]
    parts = []
    try:
        d = res.per_rep(0).get(name)
    except UsageError:
        d = None
    if d is not None and len(d["drops"]):
        m = d["drops"].mean(axis=0)
        if m.sum() > 0:
            k = int(m.argmax())
            parts.append(f"Most batons fall at the handoff to {d['zones'][k]} "
                         f"({100 * m[k] / m.sum():.0f}% of all drops): start there, with a "
                         "rehearsed handoff, a joint checkpoint, or someone who catches fumbles.")
        else:
            parts.append("No baton was dropped at any handoff in these runs; delays, not "
                         "fumbles, decide the outcome.")
    sens = res.sensitivity
    if sens:
        tor = sens.get("tornado") or []
        if tor:
            t = tor[0]
            lo, hi = t["at_low"], t["at_high"]
            better = "high" if (hi or 0) >= (lo or 0) else "low"
            best, worst = (hi, lo) if better == "high" else (lo, hi)
            parts.append(
                f"Of the levers tested, {P.label(t['parameter']).lower()} moves implementation "
                f"most: from {_pct(worst)} to {_pct(best)} across its range "
                f"(best at the {better} end, {t[better]}).")
        totals = {x["parameter"]: x["total"] for x in sens.get("sobol", [])}
        ranking = [r for r in sens.get("ranking") or [] if totals.get(r, 0) > 0]
        noise = sens.get("noise_share")
        if ranking and noise is not None and noise < 0.1:
            parts.append(f"It also explains the most variation overall (Sobol ranking: "
                         f"{', '.join(P.label(r) for r in ranking[:3])}).")
    if not parts:
        parts.append("Run a sensitivity analysis (relaysim sensitivity) to rank the levers.")
    return " ".join(parts)


def _scenario_section(res: Results) -> str:
    sc = res.scenario
    out = ["<section id='scenario'><h2>The scenario</h2>"]
    if sc is not None:
        if sc.description:
            out.append(f"<p>{html.escape(sc.description)}</p>")
        rows = "".join(f"<tr><td>{html.escape(lv.name)}</td><td>{n:,}</td></tr>"
                       for lv, n in zip(sc.levels, sc.level_sizes, strict=True))
        out.append(f"<table><tr><th>Level</th><th>Runners</th></tr>{rows}</table>")
        out.append(f"<p class='small'>{sc.horizon:g} {sc.time_unit} simulated; scenario hash "
                   f"{sc.hash[:12]}.</p>")
    out.append("</section>")
    return "\n".join(out)


def _headline_section(res: Results) -> str:
    name = res.initiatives[0]
    s0 = res.rows[0]["initiatives"][name]
    seed = res.meta.get("seed", "?")
    out = ["<section id='headline'><h2>How often the initiative is implemented</h2>",
           f"<p class='headline'>'{html.escape(name)}' is implemented by its deadline in "
           f"<b>{_pct(s0['completion_rate'])}</b> of simulated runs (95% CI "
           f"{_pct(s0['ci_low'])} to {_pct(s0['ci_high'])}).</p>"]
    pt = res.rows[0]["values"]
    if pt and not res.sensitivity:
        where = ", ".join(f"{html.escape(P.label(k))} = {html.escape(str(v))}"
                          for k, v in pt.items())
        out.append(f"<p class='small'>This is the sweep's first point ({where}).</p>")
    seed_txt = f"seed {seed}" if seed != "?" else "seed not recorded (no store)"
    out.append(f"<p class='small'>{res.rows[0]['reps']} replications, {seed_txt}; on average "
               f"{_pct(s0.get('coverage_mean'))} of classrooms implement by the deadline.</p>")
    out.append("</section>")
    return "\n".join(out)


def _relay_section(res: Results) -> str:
    if res.scenario is not None:
        body = _img(P.relay(res), "The district's relay")
    else:
        body = ("<p>The relay picture needs the sweep's manifest.json (the scenario); "
                "report the sweep folder rather than its results.csv.</p>")
    return f"<section id='relay'><h2>The relay</h2>\n{body}\n</section>"


def _drops_section(res: Results) -> str:
    try:
        body = _img(P.drops(res, point=0), "Drops per handoff")
    except UsageError as e:
        body = f"<p>{html.escape(str(e))}</p>"
    return f"<section id='drops'><h2>Where the baton falls</h2>\n{body}\n</section>"


def _sensitivity_section(res: Results) -> str:
    out = ["<section id='sensitivity'><h2>Which lever matters most</h2>"]
    if res.sensitivity:
        out.append(_img(P.tornado(res), "Tornado: one lever at a time"))
        out.append(_img(P.sobol(res), "Sobol indices"))
        noise = res.sensitivity.get("noise_share")
        if noise is not None:
            out.append(f"<p class='small'>Replication noise is {100 * noise:.1f}% of the "
                       "variation between points.</p>")
    else:
        out.append("<p>No sensitivity analysis in this folder: run <code>relaysim "
                   "sensitivity SCENARIO --vary ... --out DIR</code> and report that folder.</p>")
    out.append("</section>")
    return "\n".join(out)


def _try_first_section(res: Results) -> str:
    return (f"<section id='try-first'><h2>What to try first</h2>\n"
            f"<p class='try'>{html.escape(what_to_try_first(res))}</p></section>")


#: the report's sections in order, each (Results) -> HTML
SECTIONS = [_scenario_section, _headline_section, _relay_section, _drops_section,
            _sensitivity_section, _try_first_section]


def report_html(src: str | Path | Results) -> str:
    """The report as one self-contained HTML string."""
    res = src if isinstance(src, Results) else open_results(src)
    if not res.rows or not res.initiatives:
        raise UsageError(f"{res.source}: no results to report yet")
    sc = res.scenario
    title = f"relaysim report: {html.escape(sc.name if sc else str(res.source))}"
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
           f"<style>{CSS}</style></head><body>", f"<h1>{title}</h1>"]
    out += [section(res) for section in SECTIONS]
    out.append(f"<p class='small'>Made by relaysim {__version__} from "
               f"{html.escape(Path(res.source).name)}. Every number comes from simulation with "
               "the seed and replications shown; intervals are 95%.</p></body></html>")
    return "\n".join(out)


def write_report(src: str | Path, path: str | Path) -> Path:
    """Write the report (atomically) and return its path."""
    text = report_html(src)
    p = Path(path)
    atomic_write(p, text)
    return p
