"""The explorer's web page (Panel, the optional extra `relaysim[app]`).

Each browser tab gets its own Explorer (its own background thread and generation counter)
sharing the server's process pool and its run of the scenario as written. Widgets only
send requests; a periodic callback in the tab's own session shows progress and puts the
newest finished numbers and figures on the page, so no Bokeh model is touched from the
background thread.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

from ..errors import RelaysimError, ScenarioError, UsageError
from ..model.scenario import Scenario, parse_value
from .levers import Lever
from .session import Explorer, data_uri, esc, headline_text

__all__ = ["serve", "free_port", "page"]

CSS = """
.rs-num { font-size: 15px; line-height: 1.45; }
.rs-num table { border-collapse: collapse; }
.rs-num td, .rs-num th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }
.rs-big { font-size: 22px; font-weight: bold; color: #0072B2; }
.rs-var { font-size: 22px; font-weight: bold; color: #b36b00; }
.rs-note { color: #555; font-size: 13px; }
.rs-slow { background: #fff7e6; border-left: 5px solid #E69F00; padding: 4px 10px; }
.rs-error { background: #fdecea; border-left: 5px solid #D55E00; padding: 6px 10px;
            color: #7a1f00; font-size: 15px; }
.rs-ok { color: #006b4f; }
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _numbers_html(ex: Explorer) -> str:
    v = ex.view
    if v is None:
        return "<div class='rs-num'>Running the scenario as written...</div>"
    t = headline_text(v.numbers, ex.scenario.time_unit)
    changes = ", ".join(f"{esc(p)} = {esc(json.dumps(x))}" for p, x in v.values.items()) or \
        "none (the scenario as written)"
    name = esc(v.numbers["initiative"])
    return f"""<div class='rs-num'>
<p>Initiative '{name}', {v.numbers['reps']} paired replications, seed {v.numbers['seed']}.
Changes: {changes}.</p>
<table>
<tr><th></th><th>As written</th><th>Variant</th><th>Variant minus as written (paired)</th></tr>
<tr><td>Implemented by the deadline</td>
<td><span class='rs-big' id='completion-base'>{esc(t['completion_base'])}</span></td>
<td><span class='rs-var' id='completion-variant'>{esc(t['completion_variant'])}</span></td>
<td id='completion-diff'>{esc(t['completion_diff'])}</td></tr>
<tr><td>Classrooms implementing (coverage)</td><td id='coverage-base'>
{esc(t['coverage_base'])}</td><td id='coverage-variant'>{esc(t['coverage_variant'])}</td>
<td id='coverage-diff'>{esc(t['coverage_diff'])}</td></tr>
<tr><td>Time to implementation</td><td id='time-base'>{esc(t['time_base'])}</td>
<td id='time-variant'>{esc(t['time_variant'])}</td><td></td></tr>
</table>
<p class='rs-note'>New numbers {v.seconds:.2f} s after the change
({esc(v.engine)} engine).</p></div>"""


def _figures_html(ex: Explorer) -> str:
    v = ex.view
    if v is None or not v.figures:
        return "<p class='rs-note'>Drawing...</p>"
    f = v.figures
    return (f"<h3>The relay (variant) and each handoff's share of the drops</h3>"
            f"<img id='fig-relay' alt='The relay' style='max-width:100%' "
            f"src='{data_uri(f['relay'])}'>"
            f"<div style='display:flex;flex-wrap:wrap;gap:12px'>"
            f"<div><h3>Coverage at the deadline</h3><img id='fig-coverage' alt='Coverage at "
            f"the deadline' style='max-width:100%' src='{data_uri(f['coverage'])}'></div>"
            f"<div><h3>Time to implementation</h3><img id='fig-time' alt='Time to "
            f"implementation' style='max-width:100%' src='{data_uri(f['time'])}'></div></div>")


def page(sc: Scenario, levers: list[Lever], reps: int, seed: int, save_dir: Path,
         share: Explorer, workers: int | None) -> Any:
    """One tab's page."""
    import panel as pn

    ex = Explorer(sc, levers, reps=reps, seed=seed, workers=workers, save_dir=save_dir,
                  share=share)
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    widgets: dict[str, Any] = {}

    def changed() -> None:
        want = {**values, **extra}
        ex.request(want)

    def on_lever(lever: Lever):
        def cb(event: Any) -> None:
            v = event.new
            if lever.kind == "int":
                v = int(v)
            if v == lever.base:
                values.pop(lever.path, None)
            else:
                values[lever.path] = v
            changed()
        return cb

    groups: dict[str, list[Any]] = {}
    for lv in levers:
        if lv.kind == "bool":
            w = pn.widgets.Checkbox(name=lv.label, value=bool(lv.base), css_classes=[lv.slug])
            w.param.watch(on_lever(lv), "value")
        elif lv.kind == "int":
            w = pn.widgets.IntSlider(name=lv.label, start=int(lv.lo), end=int(lv.hi),
                                     value=int(lv.base), step=1, css_classes=[lv.slug])
            w.param.watch(on_lever(lv), "value_throttled")
        else:
            base = min(max(float(lv.base), lv.lo), lv.hi)
            w = pn.widgets.FloatSlider(name=lv.label, start=lv.lo, end=lv.hi, value=base,
                                       step=lv.step, css_classes=[lv.slug])
            w.param.watch(on_lever(lv), "value_throttled")
        widgets[lv.path] = w
        groups.setdefault(lv.group, []).append(w)

    other = pn.widgets.TextInput(name="Any other change: PATH = VALUE (as --set takes it)",
                                 placeholder="e.g. zones.coach.retention = 0.8",
                                 css_classes=["rs-other"])
    other_btn = pn.widgets.Button(name="Apply", button_type="primary",
                                  css_classes=["rs-other-apply"])
    reset_btn = pn.widgets.Button(name="Back to the scenario as written",
                                  css_classes=["rs-reset"])
    message = pn.pane.HTML("", css_classes=["rs-message"], sizing_mode="stretch_width")

    def apply_other(event: Any) -> None:
        text = other.value.strip()
        path, sep, raw = text.partition("=")
        if not sep or not path.strip():
            message.object = ("<div class='rs-error' id='rs-error'>Write PATH = VALUE, e.g. "
                              "zones.coach.retention = 0.8</div>")
            return
        key = path.strip()
        had = key in extra
        old = extra.get(key)
        extra[key] = parse_value(raw.strip())
        changed()
        try:
            sc.with_values({**values, **extra})
        except ScenarioError:
            # the page shows the refusal; later moves of the levers run without it
            if had:
                extra[key] = old
            else:
                extra.pop(key)

    def reset(event: Any) -> None:
        values.clear()
        extra.clear()
        for lv in levers:
            w = widgets[lv.path]
            w.value = (bool(lv.base) if lv.kind == "bool" else
                       min(max(lv.base, lv.lo), lv.hi))
        changed()

    other_btn.on_click(apply_other)
    reset_btn.on_click(reset)

    save_name = pn.widgets.TextInput(name="File name (saved in the save folder)",
                                     value=f"{sc.name}-variant", css_classes=["rs-save-name"])
    save_btn = pn.widgets.Button(name="Save variant", button_type="success",
                                 css_classes=["rs-save"])
    report_label = pn.widgets.TextInput(name="Label for the report", value="",
                                        placeholder="e.g. rehearse the coach handoff",
                                        css_classes=["rs-report-label"])
    report_btn = pn.widgets.Button(name="Add to report", css_classes=["rs-add-report"])

    def save(event: Any) -> None:
        try:
            p = ex.save_variant({**values, **extra}, save_name.value.strip())
        except ScenarioError as e:
            message.object = ("<div class='rs-error' id='rs-error'>Not saved: " +
                              esc("; ".join(f"{x.path}: {x.message}" for x in e.problems))
                              + "</div>")
            return
        except RelaysimError as e:
            message.object = f"<div class='rs-error' id='rs-error'>Not saved: {esc(e)}</div>"
            return
        message.object = f"<div class='rs-ok' id='rs-saved'>Saved {esc(p)}</div>"

    def add_report(event: Any) -> None:
        v = ex.view
        if v is None or v.values != {**values, **extra}:
            message.object = ("<div class='rs-error' id='rs-error'>Wait for the numbers of "
                              "this variant, then add it.</div>")
            return
        try:
            p = ex.add_to_report(v, report_label.value.strip())
        except RelaysimError as e:
            message.object = f"<div class='rs-error' id='rs-error'>{esc(e)}</div>"
            return
        message.object = (f"<div class='rs-ok' id='rs-reported'>Kept for the report in "
                          f"{esc(p)} (relaysim report DIR --variants {esc(p)})</div>")

    save_btn.on_click(save)
    report_btn.on_click(add_report)

    slow = ""
    if ex.slow_engine:
        slow = (f"<div class='rs-slow' id='rs-engine'>Running on the SimPy engine (the "
                f"slower one): each change takes about {max(ex.base_seconds, 0.1):.1f} s for "
                f"{reps} replications. The numbers are the same, only later.</div>")
    else:
        slow = (f"<div class='rs-note' id='rs-engine'>Engine: {esc(ex.engine)}.</div>")
    header = pn.pane.HTML(
        f"<h1 style='margin:0'>Explore: {esc(sc.name)}</h1>"
        f"<p id='rs-description'>{esc(sc.description)}</p>{slow}",
        sizing_mode="stretch_width")
    progress = pn.indicators.Progress(name="Running", value=0, max=reps, width=300,
                                      css_classes=["rs-progress"])
    status = pn.pane.HTML("", css_classes=["rs-status"])
    error = pn.pane.HTML("", css_classes=["rs-error-pane"], sizing_mode="stretch_width")
    nums = pn.pane.HTML(_numbers_html(ex), sizing_mode="stretch_width",
                        css_classes=["rs-numbers"])
    figs = pn.pane.HTML(_figures_html(ex), sizing_mode="stretch_width")
    shown = {"gen": -1, "figs": False, "err": None}

    def poll() -> None:
        gen, done, total = ex.progress
        busy = ex.running or ex.generation != (ex.view.gen if ex.view else -1)
        err = ex.error
        if err is not None and err[0] == ex.generation:
            busy = False
        progress.value = min(done, total) if busy else total
        progress.active = busy
        status.object = (f"<span id='rs-running'>Running change {gen}: {done} of {total} "
                         "replications...</span>" if busy else
                         "<span id='rs-idle'>Up to date.</span>")
        if err != shown["err"]:
            shown["err"] = err
            error.object = ("" if err is None else
                            f"<div class='rs-error' id='rs-error'>This change was not run: "
                            f"{esc(err[1])}</div>")
        v = ex.view
        if v is not None and (v.gen != shown["gen"] or bool(v.figures) != shown["figs"]):
            if v.gen != shown["gen"]:
                nums.object = _numbers_html(ex)
            shown["gen"], shown["figs"] = v.gen, bool(v.figures)
            figs.object = _figures_html(ex)

    cards = [pn.Card(*ws, title=g, collapsed=False, sizing_mode="stretch_width")
             for g, ws in groups.items()]
    sidebar = pn.Column(
        pn.pane.HTML("<b>Levers</b> <span class='rs-note'>(move one; the numbers follow)"
                     "</span>"),
        *cards,
        pn.Card(other, other_btn, title="More", sizing_mode="stretch_width"),
        reset_btn, width=360)
    main = pn.Column(
        header, pn.Row(progress, status), error,
        pn.Card(save_name, save_btn, report_label, report_btn, message,
                title="Keep this variant", sizing_mode="stretch_width"),
        nums, figs, sizing_mode="stretch_width")
    pn.state.add_periodic_callback(poll, period=150)
    pn.state.on_session_destroyed(lambda ctx: ex.close())
    return pn.Row(sidebar, main, sizing_mode="stretch_width")


def serve(sc: Scenario, levers: list[Lever], reps: int = 500, seed: int = 0,
          port: int | None = None, host: str = "127.0.0.1", open_browser: bool = False,
          save_dir: str | Path = ".", workers: int | None = None) -> None:
    """Run the explorer until interrupted (Ctrl-C)."""
    try:
        import panel as pn
    except ImportError:
        raise UsageError("relaysim explore needs Panel: pip install 'relaysim[app]'") from None
    folder = Path(save_dir)
    if not folder.is_dir():
        raise UsageError(f"--save-dir {save_dir}: folder does not exist")
    pn.extension(raw_css=[CSS])
    port = port or free_port(host)
    print(f"relaysim explore: running '{sc.name}' as written ({reps} replications, seed "
          f"{seed})...", file=sys.stderr, flush=True)
    shared = Explorer(sc, levers, reps=reps, seed=seed, workers=workers, save_dir=folder,
                      draw=False)
    where = f"[{host}]" if ":" in host else host
    print(f"relaysim explore: open http://{where}:{port}/ (engine {shared.engine}; "
          f"Ctrl-C stops)", flush=True)
    origins: list[str] | str = [f"{h}:{port}" for h in {host, "localhost", "127.0.0.1"}]
    if host in ("0.0.0.0", "::", ""):
        # every address of this machine: browsers arrive under names we cannot list
        origins = "*"
        print("relaysim explore: listening on every network address; anyone who can reach "
              "this machine can use the page", file=sys.stderr, flush=True)
    try:
        pn.serve(lambda: page(sc, levers, reps, seed, folder, shared, workers), port=port,
                 address=host, websocket_origin=origins, show=open_browser, start=True,
                 title=f"relaysim explore: {sc.name}", verbose=False, threaded=False)
    finally:
        shared.close()
