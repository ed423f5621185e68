"""The take-away page: `relaysim explore SCENARIO --export FILE.html --lever ... --grid K`.

The levers' grid is run once as a sweep (resumable: its folder FILE-grid/ sits next to the
file, and running the command again continues an interrupted grid), then one HTML file is
written with everything inlined: the stored numbers of every grid point as JSON, the relay
picture of every point as a PNG data URI, a little hand-written JavaScript for the
sliders, and the styles. It needs no server and loads nothing from anywhere.
"""

from __future__ import annotations

import html
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import UsageError
from ..files import atomic_write, json_safe
from ..model.scenario import Scenario
from .levers import Lever, grid_values

__all__ = ["export", "export_html", "MAX_POINTS"]

MAX_POINTS = 216  # every point carries a picture: keep the file a few megabytes

CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } .note { color: #555; font-size: 0.9em; }
.levers { display: grid; grid-template-columns: 22em 1fr 7em; gap: 0.4em 1em;
          align-items: center; background: #f3f7fb; padding: 0.8em 1em; }
.num { font-size: 1.3em; } .big { font-size: 1.8em; font-weight: bold; color: #0072B2; }
img { max-width: 100%; height: auto; display: block; margin-top: 0.8em; }
"""

JS = """
(function () {
  var data = JSON.parse(document.getElementById('grid-data').textContent);
  var sliders = Array.prototype.slice.call(document.querySelectorAll('input.lever'));
  function pct(x) { return x === null ? 'n/a' : (100 * x).toFixed(1) + '%'; }
  function show(v) { return typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v); }
  function update() {
    var idx = 0;
    sliders.forEach(function (s, i) {
      var k = parseInt(s.value, 10);
      idx = idx * data.levers[i].values.length + k;
      document.getElementById('value-' + i).textContent = show(data.levers[i].values[k]);
    });
    var p = data.points[idx];
    document.getElementById('point').textContent = String(idx);
    document.getElementById('completion').textContent = pct(p.completion_rate);
    document.getElementById('completion-ci').textContent =
      pct(p.ci_low) + ' to ' + pct(p.ci_high);
    document.getElementById('coverage').textContent = pct(p.coverage_mean);
    document.getElementById('median-time').textContent =
      p.completion_time_median === null ? 'not reached in half the runs'
        : p.completion_time_median.toFixed(0) + ' days';
    document.getElementById('relay').src = document.getElementById('png-' + idx).textContent;
  }
  sliders.forEach(function (s) { s.addEventListener('input', update); });
  update();
})();
"""


def export(sc: Scenario, levers: list[Lever], path: str | Path, grid: int = 3, reps: int = 500,
           seed: int = 0, workers: int | None = None, quiet: bool = True,
           engine: str = "auto") -> Path:
    """Run the grid (resumable, in PATH-grid/ next to the file) and write the page."""
    from ..present.results import open_results
    from ..study.sweep import sweep

    if not levers:
        raise UsageError("the take-away page needs at least one --lever")
    axes = [(lv, grid_values(lv, grid)) for lv in levers]
    n = 1
    for _, vals in axes:
        n *= len(vals)
    if n > MAX_POINTS:
        raise UsageError(f"the grid has {n} points; the take-away page holds at most "
                         f"{MAX_POINTS}: use fewer --lever or a smaller --grid")
    design = [{lv.path: v for (lv, _), v in zip(axes, combo, strict=True)}
              for combo in itertools.product(*(vals for _, vals in axes))]
    out = Path(path)
    folder = out.with_name(out.stem + "-grid")
    tick = _progress(n * reps, quiet)
    # continue the grid's sweep when it is there (a rerun or an interrupted export)
    resume = (folder / "store.sqlite").exists()
    sweep(sc, design, reps=reps, seed=seed, out=folder, resume=resume, workers=workers,
          progress=tick, engine=engine)
    res = open_results(folder)
    atomic_write(out, export_html(sc, axes, res, reps, seed))
    return out


def _progress(total: int, quiet: bool) -> Callable[[int, int], None] | None:
    if quiet or not sys.stderr.isatty():
        return None
    done = [0]

    def tick(n_reps: int, n_points: int) -> None:
        done[0] += n_reps
        sys.stderr.write(f"\r{done[0]}/{total} replications")
        sys.stderr.flush()

    return tick


def export_html(sc: Scenario, axes: list[tuple[Lever, list[Any]]], res: Any, reps: int,
                seed: int) -> str:
    from ..present import plot as P

    name = res.initiatives[0]
    points, pngs = [], []
    for j, row in enumerate(res.rows):
        s = row["initiatives"].get(name, {})
        points.append({k: s.get(k) for k in ("completion_rate", "ci_low", "ci_high",
                                             "coverage_mean", "completion_time_median")})
        pngs.append(P.data_uri(P.relay(res, point=j, initiative=name), dpi=60))
    data = {"levers": [{"path": lv.path, "label": lv.label, "values": vals}
                       for lv, vals in axes], "points": points}
    # JSON inside <script>: no '<' at all, so no '</script>' can end it early
    blob = json.dumps(json_safe(data)).replace("<", "\\u003c")
    e = html.escape
    rows = []
    for i, (lv, vals) in enumerate(axes):
        start = vals.index(lv.base) if lv.base in vals else 0
        rows.append(
            f"<label for='lever-{i}'>{e(lv.group)}: {e(lv.label)}</label>"
            f"<input type='range' class='lever' id='lever-{i}' min='0' "
            f"max='{len(vals) - 1}' step='1' value='{start}' "
            f"data-path='{e(lv.path)}'><span id='value-{i}'></span>")
    store = "".join(f"<script type='text/plain' id='png-{j}'>{u}</script>"
                    for j, u in enumerate(pngs))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:;
 style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>relaysim explorer: {e(sc.name)}</title><style>{CSS}</style></head><body>
<h1>Explore: {e(sc.name)}</h1>
<p>{e(sc.description)}</p>
<p class="note">Each slider snaps to the points that were run: {len(res.rows)} grid points,
{reps} replications each, seed {seed} (the same random numbers at every point, so
differences between points are paired). Numbers are as stored; intervals are 95%.</p>
<div class="levers">{''.join(rows)}</div>
<p class="num">Implemented by the deadline in <span class="big" id="completion"></span> of
runs (95% CI <span id="completion-ci"></span>); on average <span id="coverage"></span> of
classrooms implement; median time to implementation <span id="median-time"></span>
(grid point <span id="point"></span>).</p>
<img id="relay" alt="The relay at this grid point">
<p class="note">Made by relaysim {e(__version__)} explore --export from
{e(Path(sc.source).name if sc.source else sc.name)} (scenario hash {e(sc.hash[:12])}, random
streams v{e(str(res.meta.get("stream_version", "?")))}); the grid's results are in the folder
{e(Path(res.source).name)} next to this file.</p>
<script type="application/json" id="grid-data">{blob}</script>
{store}
<script>{JS}</script>
</body></html>
"""
