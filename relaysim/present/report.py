"""A one-file HTML report for a planning session: figures embedded, no external requests."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .._version import __version__
from ..errors import UsageError
from ..files import atomic_write
from . import plot as P
from .results import Results, load_discovery, load_screening, open_results, rate_text

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
    return f'<img alt="{html.escape(alt)}" src="{P.data_uri(fig)}">'


def _pct(x: float | None) -> str:
    return rate_text(x)


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


def _qp(q: float | None) -> str:
    return "" if q is None else f"{q:.2g}"


def _discovery_section(res: Results) -> str:
    """'When does it fail?' from discovery.json, when the folder has one (relaysim
    discover)."""
    from ..study.discover import box_phrase, limit_phrase

    out: list[str] = []
    try:
        disc = load_discovery(res)
    except UsageError as e:
        disc, out = None, [f"<p>{html.escape(str(e))}</p>"]
    if disc is not None:
        out.append("<section id='discovery'><h2>When does it fail?</h2>")
        what = "replications" if disc["per_rep"] else "sweep points"
        out.append(f"<p>Condition: <code>{html.escape(str(disc['where']))}</code> for "
                   f"'{html.escape(str(disc['initiative']))}': met by "
                   f"{disc['cases_meeting']} of {disc['cases']} {what} "
                   f"({_pct(disc['share_meeting'])}); {html.escape(disc['method'].upper())}.</p>")
        shown = [b for b in disc["boxes"] if b["coverage"] > 0][:3]
        if not shown:
            out.append("<p>No box reaches the density threshold: the condition is not "
                       "concentrated anywhere in the ranges swept.</p>")
        for b in shown:
            out.append(f"<p class='headline'>{html.escape(box_phrase(disc, b))}</p>")
            rows = "".join(
                f"<tr><td>{html.escape(limit_phrase(lim))}</td><td>"
                f"{_qp(lim.get('qp'))}</td></tr>"
                for lim in b["limits"])
            if rows:
                out.append(f"<table><tr><th>Limit</th><th>quasi-p</th></tr>{rows}</table>")
        for fn, alt in ((P.tradeoff, "Coverage and density along the peeling trajectory"),
                        (P.boxlims, "The box's limits")):
            try:
                out.append(_img(fn(res), alt))
            except UsageError:
                pass
        fs = disc.get("feature_scores") or []
        if fs:
            items = "".join(f"<li>{html.escape(P.label(f['parameter']))} "
                            f"({f['score']:.2f})</li>" for f in fs[:5])
            out.append(f"<p>Which parameters matter to it most (extra-trees feature "
                       f"scores):</p><ol>{items}</ol>")
        out.append("</section>")
    return "\n".join(out)


def _screening_section(res: Results) -> str:
    """'Which levers matter at all?' from screening.json (relaysim screen)."""
    out: list[str] = []
    scr = load_screening(res)
    if scr is not None:
        out.append("<section id='screening'><h2>Which levers matter at all?</h2>")
        what = "implementation" if scr["output"] == "completion_rate" else "coverage"
        rows = "".join(
            f"<tr><td>{html.escape(P.label(e['parameter']))}</td><td>{100 * e['mu_star']:.0f} "
            f"points ({100 * e['mu_star_ci95'][0]:.0f} to {100 * e['mu_star_ci95'][1]:.0f})"
            f"</td><td>{100 * e['sigma']:.0f}</td></tr>" for e in scr["morris"])
        out.append(f"<p>Morris screening: moving each lever across its range changes the "
                   f"chance of {what} by mu* percentage points on average (95% CI); sigma "
                   "is how much that change depends on the other levers.</p>")
        out.append(f"<table><tr><th>Lever</th><th>mu*</th><th>sigma</th></tr>{rows}</table>")
        if scr.get("no_effect"):
            out.append("<p>No detectable effect: "
                       f"{html.escape(', '.join(P.label(p) for p in scr['no_effect']))}.</p>")
        out.append(_img(P.morris(res), "Morris screening: mu* against sigma"))
        out.append("</section>")
    return "\n".join(out)


def variants_section(path: str | Path) -> str:
    """The variants a planning session kept with the explorer's "Add to report" (the JSON
    file `relaysim explore` writes in its save folder), as an HTML section."""
    import json

    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"--variants {p}: cannot read it ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != "relaysim-explorer-variants":
        raise UsageError(f"--variants {p}: not a file of variants kept by relaysim explore")
    e = html.escape
    base = doc.get("base", {})
    rows = []
    for v in doc.get("variants", []):
        changes = ", ".join(f"{e(P.label(k))} = {e(json.dumps(x))}"
                            for k, x in v.get("changes", {}).items()) or "none"
        b, a = v.get("variant") or {}, v.get("base") or {}
        d = (v.get("paired") or {}).get("completion_rate") or {}
        lo, hi = d.get("ci95") or [None, None]
        diff = ("n/a" if d.get("difference") is None else
                f"{100 * d['difference']:+.1f} points" +
                (f" (95% CI {100 * lo:+.1f} to {100 * hi:+.1f})" if lo is not None else ""))
        rows.append(
            f"<tr><td>{e(str(v.get('label', '')))}</td><td>{changes}</td>"
            f"<td>{_pct((a.get('completion_rate') or {}).get('estimate'))}</td>"
            f"<td>{_pct((b.get('completion_rate') or {}).get('estimate'))}</td>"
            f"<td>{e(diff)}</td><td>{e(str(v.get('reps')))} / {e(str(v.get('seed')))}</td></tr>")
    return ("<section id='variants'><h2>Variants explored in the planning session</h2>"
            f"<p class='small'>Each against '{e(str(base.get('scenario', '?')))}' as written, "
            "paired (same seed and replications).</p><table><tr><th>Variant</th>"
            "<th>Changes</th><th>As written</th><th>Variant</th><th>Difference (paired)</th>"
            f"<th>Reps / seed</th></tr>{''.join(rows)}</table></section>")


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
    out = ["<section id='headline'><h2>How often the initiative is implemented</h2>"]
    if _pct(s0.get("completion_rate")) == "n/a":
        out.append(f"<p class='headline'>'{html.escape(name)}' was not observed in any run "
                   "at this point (no replication reached it), so there is no rate to "
                   "show.</p>")
    else:
        out.append(f"<p class='headline'>'{html.escape(name)}' is implemented by its deadline "
                   f"in <b>{html.escape(_pct(s0['completion_rate']))}</b> of simulated runs "
                   f"(95% CI {_pct(s0.get('ci_low'))} to {_pct(s0.get('ci_high'))}).</p>")
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
        k = res.scenario.sharing_level
        if k is not None:
            who = html.escape(res.scenario.levels[k].name.replace("_", " "))
            body += (f"<p>The arcs above the {who}s are the sideways handoffs of peer "
                     f"sharing: a {who} whose classrooms have the initiative working hosts "
                     f"showcase visits for peers that lack it. How many batons peers picked "
                     f"up is in <code>relaysim run</code>'s text and the explorer.</p>")
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


def _threshold_section(res: Results) -> str:
    out = ["<section id='threshold'><h2>How completion depends on the bar</h2>",
           "<p class='small'>Completion counts the runs whose coverage at the deadline "
           "reaches the success threshold. The curve shows the share of runs reaching "
           "every other bar too: where it is steep, a few points of coverage move "
           "completion a lot.</p>"]
    try:
        out.append(_img(P.threshold(res), "Share of runs reaching each coverage"))
    except UsageError as e:
        out.append(f"<p>{html.escape(str(e))}</p>")
    out.append("</section>")
    return "\n".join(out)


def _sensitivity_section(res: Results) -> str:
    out = ["<section id='sensitivity'><h2>Which lever matters most</h2>"]
    if res.sensitivity:
        out.append(_img(P.tornado(res), "Tornado: one lever at a time"))
        out.append(_img(P.sobol(res), "Sobol indices"))
        out.append(f"<p class='small'>{html.escape(_sobol_noise_words(res.sensitivity))}</p>")
    else:
        out.append("<p>No sensitivity analysis in this folder: run <code>relaysim "
                   "sensitivity SCENARIO --vary ... --out DIR</code> and report that folder.</p>")
    out.append("</section>")
    return "\n".join(out)


def _sobol_noise_words(sens: dict[str, Any]) -> str:
    """Whether the Sobol intervals include replication noise (issue 12 point 3)."""
    k = sens.get("seeds", 1)
    if k >= 2:
        return (f"Replication noise is included in the Sobol intervals: the design was run "
                f"under {k} independent seeds and each interval adds the spread of the index "
                f"between seeds to the bootstrap over design rows.")
    return ("Replication noise is left out of the Sobol intervals: the design was run under "
            "one seed, whose noise every point shares (common random numbers), so the "
            "bootstrap over design rows does not see it. Rerun with --seeds 4 to include "
            "it.")


def _try_first_section(res: Results) -> str:
    return (f"<section id='try-first'><h2>What to try first</h2>\n"
            f"<p class='try'>{html.escape(what_to_try_first(res))}</p></section>")


#: the report's sections in order, each (Results) -> HTML
SECTIONS = [_scenario_section, _headline_section, _relay_section, _drops_section,
            _threshold_section, _sensitivity_section, _discovery_section, _screening_section,
            _try_first_section]


def report_html(src: str | Path | Results, variants: str | Path | None = None) -> str:
    """The report as one self-contained HTML string; `variants`: the explorer's kept
    variants (explorer-variants.json) to include."""
    res = src if isinstance(src, Results) else open_results(src)
    if not res.rows or not res.initiatives:
        raise UsageError(f"{res.source}: no results to report yet")
    sc = res.scenario
    title = f"relaysim report: {html.escape(sc.name if sc else str(res.source))}"
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
           f"<style>{CSS}</style></head><body>", f"<h1>{title}</h1>"]
    out += [section(res) for section in SECTIONS]
    if variants is not None:
        out.append(variants_section(variants))
    made = res.meta.get("relaysim_version")
    streams = res.meta.get("stream_version")
    by = (f" (simulated by relaysim {html.escape(str(made))}, random streams "
          f"v{html.escape(str(streams))})" if made is not None and streams is not None else "")
    out.append(f"<p class='small'>Made by relaysim {__version__} from "
               f"{html.escape(Path(res.source).name)}{by}. Every number comes from simulation "
               "with the seed and replications shown; intervals are 95%.</p></body></html>")
    return "\n".join(out)


def write_report(src: str | Path, path: str | Path,
                 variants: str | Path | None = None) -> Path:
    """Write the report (atomically) and return its path."""
    text = report_html(src, variants)
    p = Path(path)
    atomic_write(p, text)
    return p
