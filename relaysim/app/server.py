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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RelaysimError, ScenarioError, UsageError
from ..model.scenario import Scenario, parse_value
from .levers import Lever
from .session import Explorer, esc, headline_text

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
<p>Initiative '{name}', {v.numbers['reps']} paired replications, seed {v.numbers['seed']},
random streams v{v.numbers['stream_version']} (the scenario as written: hash
{esc(ex.scenario.hash[:12])}). Changes: {changes}.</p>
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


def engine_text(ex: Explorer) -> str:
    """Which engine answers, and, for the SimPy engine, that it is slower."""
    if ex.slow_engine:
        return (f"Running on the SimPy engine (the slower one): each change takes about "
                f"{max(ex.base_seconds, 0.1):.1f} s for {ex.reps} replications. The numbers "
                f"are the same as the fast engine's, only later.")
    return f"Engine: {ex.engine}."


def header_html(ex: Explorer) -> str:
    """The page's title, the scenario's description (as text) and the engine note."""
    sc = ex.scenario
    cls = "rs-slow" if ex.slow_engine else "rs-note"
    return (f"<h1 style='margin:0'>Explore: {esc(sc.name)}</h1>"
            f"<p id='rs-description'>{esc(sc.description)}</p>"
            f"<div class='{cls}' id='rs-engine'>{esc(engine_text(ex))}</div>")


def _figures_html(ex: Explorer) -> str:
    v = ex.view
    if v is None or not v.figures:
        return "<p class='rs-note'>Drawing...</p>"
    f = v.figures  # the relay as a data URI, the curves as inline SVG (session.figures)
    return (f"<h3>The relay (variant) and each handoff's share of the drops</h3>"
            f"<img id='fig-relay' alt='The relay' style='max-width:100%' "
            f"src='{f['relay']}'>"
            f"<div style='display:flex;flex-wrap:wrap;gap:12px'>"
            f"<div style='flex:1 1 420px'><h3>Coverage at the deadline</h3>{f['coverage']}"
            f"</div><div style='flex:1 1 420px'><h3>Time to implementation</h3>{f['time']}"
            f"</div></div>")


class _Page:
    """One tab's page: its Explorer, its widgets and the lever values they ask for.
    Widget callbacks only change the requested values; `poll` (a periodic callback in the
    tab's own session) puts progress, errors, numbers and figures on the page."""

    def __init__(self, sc: Scenario, levers: list[Lever], reps: int, seed: int,
                 save_dir: Path, share: Explorer, workers: int | None) -> None:
        import panel as pn

        self.pn = pn
        self.sc = sc
        self.levers = levers
        self.reps = reps
        self.ex = Explorer(sc, levers, reps=reps, seed=seed, workers=workers,
                           save_dir=save_dir, share=share)
        self.values: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.widgets: dict[str, Any] = {}
        self.groups: dict[str, list[Any]] = {}
        self.shown: dict[str, Any] = {"gen": -1, "figs": False, "err": None}
        self.message = pn.pane.HTML("", css_classes=["rs-message"],
                                    sizing_mode="stretch_width")
        self._lever_widgets()
        self._other_widgets()
        self._keep_widgets()
        self._status_widgets()

    def wanted(self) -> dict[str, Any]:
        return {**self.values, **self.extra}

    def changed(self) -> None:
        self.ex.request(self.wanted())

    def _error(self, text: str) -> None:
        """`text` is HTML, escaped by the caller."""
        self.message.object = f"<div class='rs-error' id='rs-error'>{text}</div>"

    # -- the levers ----------------------------------------------------------------
    def on_lever(self, lever: Lever) -> Callable[[Any], None]:
        def cb(event: Any) -> None:
            v = event.new
            if lever.kind == "int":
                v = int(v)
            if v == lever.base:
                self.values.pop(lever.path, None)
            else:
                self.values[lever.path] = v
            self.changed()
        return cb

    def _lever_widget(self, lv: Lever) -> Any:
        pn = self.pn
        if lv.kind == "bool":
            w = pn.widgets.Checkbox(name=lv.label, value=bool(lv.base), css_classes=[lv.slug])
            w.param.watch(self.on_lever(lv), "value")
        elif lv.kind == "int":
            w = pn.widgets.IntSlider(name=lv.label, start=int(lv.lo), end=int(lv.hi),
                                     value=int(lv.base), step=1, css_classes=[lv.slug])
            w.param.watch(self.on_lever(lv), "value_throttled")
        else:
            base = min(max(float(lv.base), lv.lo), lv.hi)
            w = pn.widgets.FloatSlider(name=lv.label, start=lv.lo, end=lv.hi, value=base,
                                       step=lv.step, css_classes=[lv.slug])
            w.param.watch(self.on_lever(lv), "value_throttled")
        return w

    def _lever_widgets(self) -> None:
        for lv in self.levers:
            w = self._lever_widget(lv)
            self.widgets[lv.path] = w
            self.groups.setdefault(lv.group, []).append(w)

    def reset(self, event: Any) -> None:
        self.values.clear()
        self.extra.clear()
        for lv in self.levers:
            w = self.widgets[lv.path]
            w.value = (bool(lv.base) if lv.kind == "bool" else
                       min(max(lv.base, lv.lo), lv.hi))
        self.changed()

    # -- any other change ----------------------------------------------------------
    def _other_widgets(self) -> None:
        pn = self.pn
        self.other = pn.widgets.TextInput(
            name="Any other change: PATH = VALUE (as --set takes it)",
            placeholder="e.g. zones.coach.retention = 0.8", css_classes=["rs-other"])
        self.other_btn = pn.widgets.Button(name="Apply", button_type="primary",
                                           css_classes=["rs-other-apply"])
        self.reset_btn = pn.widgets.Button(name="Back to the scenario as written",
                                           css_classes=["rs-reset"])
        self.other_btn.on_click(self.apply_other)
        self.reset_btn.on_click(self.reset)

    def apply_other(self, event: Any) -> None:
        text = self.other.value.strip()
        path, sep, raw = text.partition("=")
        if not sep or not path.strip():
            self._error("Write PATH = VALUE, e.g. zones.coach.retention = 0.8")
            return
        key = path.strip()
        had = key in self.extra
        old = self.extra.get(key)
        self.extra[key] = parse_value(raw.strip())
        self.changed()
        try:
            self.sc.with_values(self.wanted())
        except ScenarioError:
            # the page shows the refusal; later moves of the levers run without it
            if had:
                self.extra[key] = old
            else:
                self.extra.pop(key)

    # -- keep this variant ---------------------------------------------------------
    def _keep_widgets(self) -> None:
        pn = self.pn
        self.save_name = pn.widgets.TextInput(name="File name (saved in the save folder)",
                                              value=f"{self.sc.name}-variant",
                                              css_classes=["rs-save-name"])
        self.save_btn = pn.widgets.Button(name="Save variant", button_type="success",
                                          css_classes=["rs-save"])
        self.report_label = pn.widgets.TextInput(name="Label for the report", value="",
                                                 placeholder="e.g. rehearse the coach handoff",
                                                 css_classes=["rs-report-label"])
        self.report_btn = pn.widgets.Button(name="Add to report",
                                            css_classes=["rs-add-report"])
        self.save_btn.on_click(self.save)
        self.report_btn.on_click(self.add_report)

    def save(self, event: Any) -> None:
        try:
            p = self.ex.save_variant(self.wanted(), self.save_name.value.strip())
        except ScenarioError as e:
            self._error("Not saved: " +
                        esc("; ".join(f"{x.path}: {x.message}" for x in e.problems)))
            return
        except RelaysimError as e:
            self._error(f"Not saved: {esc(e)}")
            return
        self.message.object = f"<div class='rs-ok' id='rs-saved'>Saved {esc(p)}</div>"

    def add_report(self, event: Any) -> None:
        v = self.ex.view
        if v is None or v.values != self.wanted():
            self._error("Wait for the numbers of this variant, then add it.")
            return
        try:
            p = self.ex.add_to_report(v, self.report_label.value.strip())
        except RelaysimError as e:
            self._error(esc(e))
            return
        self.message.object = (f"<div class='rs-ok' id='rs-reported'>Kept for the report in "
                               f"{esc(p)} (relaysim report DIR --variants {esc(p)})</div>")

    # -- header, progress, numbers and figures -------------------------------------
    def header_html(self) -> str:
        return header_html(self.ex)

    def _status_widgets(self) -> None:
        pn = self.pn
        self.header = pn.pane.HTML(self.header_html(), sizing_mode="stretch_width")
        self.progress = pn.indicators.Progress(name="Running", value=0, max=self.reps,
                                               width=300, css_classes=["rs-progress"])
        self.status = pn.pane.HTML("", css_classes=["rs-status"])
        self.error = pn.pane.HTML("", css_classes=["rs-error-pane"],
                                  sizing_mode="stretch_width")
        self.nums = pn.pane.HTML(_numbers_html(self.ex), sizing_mode="stretch_width",
                                 css_classes=["rs-numbers"])
        self.figs = pn.pane.HTML(_figures_html(self.ex), sizing_mode="stretch_width")

    def poll(self) -> None:
        ex, shown = self.ex, self.shown
        gen, done, total = ex.progress
        busy = ex.running or ex.generation != (ex.view.gen if ex.view else -1)
        err = ex.error
        if err is not None and err[0] == ex.generation:
            busy = False
        self.progress.value = min(done, total) if busy else total
        self.progress.active = busy
        self.status.object = (f"<span id='rs-running'>Running change {gen}: {done} of "
                              f"{total} replications...</span>" if busy else
                              "<span id='rs-idle'>Up to date.</span>")
        if err != shown["err"]:
            shown["err"] = err
            self.error.object = ("" if err is None else
                                 f"<div class='rs-error' id='rs-error'>This change was not "
                                 f"run: {esc(err[1])}</div>")
        v = ex.view
        if v is not None and (v.gen != shown["gen"] or bool(v.figures) != shown["figs"]):
            if v.gen != shown["gen"]:
                self.nums.object = _numbers_html(ex)
            shown["gen"], shown["figs"] = v.gen, bool(v.figures)
            self.figs.object = _figures_html(ex)

    # -- layout --------------------------------------------------------------------
    def layout(self) -> Any:
        pn = self.pn
        cards = [pn.Card(*ws, title=g, collapsed=False, sizing_mode="stretch_width")
                 for g, ws in self.groups.items()]
        sidebar = pn.Column(
            pn.pane.HTML("<b>Levers</b> <span class='rs-note'>(move one; the numbers "
                         "follow)</span>"),
            *cards,
            pn.Card(self.other, self.other_btn, title="More", sizing_mode="stretch_width"),
            self.reset_btn, width=360)
        main = pn.Column(
            self.header, pn.Row(self.progress, self.status), self.error,
            pn.Card(self.save_name, self.save_btn, self.report_label, self.report_btn,
                    self.message, title="Keep this variant", sizing_mode="stretch_width"),
            self.nums, self.figs, sizing_mode="stretch_width")
        return pn.Row(sidebar, main, sizing_mode="stretch_width")


def page(sc: Scenario, levers: list[Lever], reps: int, seed: int, save_dir: Path,
         share: Explorer, workers: int | None) -> Any:
    """One tab's page."""
    import panel as pn

    p = _Page(sc, levers, reps, seed, save_dir, share, workers)
    pn.state.add_periodic_callback(p.poll, period=150)
    pn.state.on_session_destroyed(lambda ctx: p.ex.close())
    return p.layout()


def serve(sc: Scenario, levers: list[Lever], reps: int = 500, seed: int = 0,
          port: int | None = None, host: str = "127.0.0.1", open_browser: bool = False,
          save_dir: str | Path = ".", workers: int | None = None, engine: str = "auto"
          ) -> None:
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
                      draw=False, engine=engine)
    if shared.slow_engine:
        print(f"relaysim explore: {engine_text(shared)}", file=sys.stderr, flush=True)
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
