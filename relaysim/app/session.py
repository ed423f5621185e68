"""The explorer's engine room, with no web framework: the scenario as written is run once;
each change of the levers runs the variant with the same seed and replications (paired,
common random numbers) in a background thread, and the study layer's summary and paired
comparison make the numbers. A newer change supersedes an older run still going: each
request carries a generation number, a run whose generation is stale stops at its next
chunk (its queued chunks are cancelled) and its results are dropped.
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import RelaysimError, ScenarioError, UsageError
from ..files import atomic_write, json_safe
from ..model.scenario import Scenario
from ..model.toml_out import dumps_toml
from ..study.compare import compare_results
from ..study.execute import default_workers, local_pool
from ..study.run import RunResult, run
from ..study.stats import km_curve
from .levers import Lever

__all__ = ["Explorer", "Superseded", "engine_note", "save_variant", "VARIANTS_FORMAT"]

VARIANTS_FORMAT = "relaysim-explorer-variants"


class Superseded(Exception):
    """Raised inside a run's progress callback when a newer change has arrived."""


class _Tracked(Executor):
    """A shared process pool, remembering the futures of one run so they can be cancelled."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self.futures: list[Future] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        f = self.pool.submit(fn, *args, **kwargs)
        self.futures.append(f)
        return f

    def cancel(self) -> None:
        for f in self.futures:
            f.cancel()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            self.cancel()


def engine_note(res: RunResult) -> tuple[str, bool]:
    """(which engine made a run, whether it is the slower SimPy engine). `run` picks the
    engine itself ("auto", or the one asked for); a RunResult that does not say which ran
    the SimPy engine."""
    eng = str(getattr(res, "engine", None) or "simpy")
    return eng, eng.lower() == "simpy"


def _pct(x: float | None, nd: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else \
        f"{100 * x:.{nd}f}%"


@dataclass
class View:
    """What the page shows for one variant: numbers first, figures when drawn."""

    gen: int
    values: dict[str, Any]
    numbers: dict[str, Any]
    seconds: float  # from the change to the numbers
    engine: str
    slow_engine: bool
    figures: dict[str, str] = field(default_factory=dict)  # see figures()
    figure_seconds: float | None = None


def first_initiative(res: RunResult) -> str:
    return next(iter(res.summary["initiatives"]))


def numbers(base: RunResult, var: RunResult) -> dict[str, Any]:
    """The explorer's numbers from the study layer: both runs' summaries and their paired
    comparison (same seed and replications)."""
    name = first_initiative(base)
    sa = base.summary["initiatives"][name]
    sb = var.summary["initiatives"].get(name)
    cmp = compare_results(base, var)["initiatives"].get(name)
    out: dict[str, Any] = {"initiative": name, "reps": base.reps, "seed": base.seed,
                           "stream_version": base.summary["stream_version"],
                           "base": sa, "variant": sb, "paired": cmp}
    return json_safe(out)


def headline_text(n: dict[str, Any], unit: str = "days") -> dict[str, str]:
    """Numbers as the page prints them."""
    a, b, p = n["base"], n["variant"], n["paired"]
    out = {}

    def rate(s: dict[str, Any] | None) -> str:
        if s is None or s["completion_rate"]["estimate"] is None:
            return "n/a"
        lo, hi = s["completion_rate"]["ci95"]
        return f"{_pct(s['completion_rate']['estimate'])} (95% CI {_pct(lo)} to {_pct(hi)})"

    def cov(s: dict[str, Any] | None) -> str:
        if s is None or s["coverage"]["mean"] is None:
            return "n/a"
        lo, hi = s["coverage"]["ci95"]
        return f"{_pct(s['coverage']['mean'])} (95% CI {_pct(lo)} to {_pct(hi)})"

    def diff(key: str) -> str:
        if p is None:
            return "n/a (the variant has no initiative of that name)"
        d = p[key]
        lo, hi = d["ci95"]
        if lo is None:
            return f"{100 * d['difference']:+.1f} points"
        return (f"{100 * d['difference']:+.1f} points (95% CI {100 * lo:+.1f} to "
                f"{100 * hi:+.1f})")

    def ttime(s: dict[str, Any] | None) -> str:
        if s is None:
            return "n/a"
        t = s["completion_time"]
        if t["median"] is None:
            return "not reached in half the runs"
        q = (f" (middle half {t['q25']:.0f} to {t['q75']:.0f})"
             if t["q25"] is not None and t["q75"] is not None else "")
        return f"median {t['median']:.0f} {unit}{q}"

    out["completion_base"] = rate(a)
    out["completion_variant"] = rate(b)
    out["completion_diff"] = diff("completion_rate")
    out["coverage_base"] = cov(a)
    out["coverage_variant"] = cov(b)
    out["coverage_diff"] = diff("coverage")
    out["time_base"] = ttime(a)
    out["time_variant"] = ttime(b)
    return out


# --------------------------------------------------------------------------- figures


def curve_charts(base: RunResult, var: RunResult, name: str) -> dict[str, str]:
    """The coverage and time curves of both runs as inline SVG: the data of the plot kinds
    `threshold` and `survival` (present/plot.py), drawn without matplotlib (about a
    millisecond each, against a tenth of a second for a PNG)."""
    from ..present.plot import PALETTE, coverage_steps, lines, success_threshold
    from ..present.svg import Curve, step_chart

    _, found, _, unit = lines({"as written": base, "variant": var}, initiative=name)
    colors = PALETTE[:2]
    cov = []
    for ln, c in zip(found, colors, strict=True):
        if len(ln.coverage):
            xs, ys = coverage_steps(ln.coverage)
            cov.append(Curve(ln.label, 100 * xs, 100 * ys, c, where="pre"))
    thr = success_threshold(var.scenario, name)
    times = []
    for ln, c in zip(found, colors, strict=True):
        t, f = km_curve(ln.time, ln.follow)
        times.append(Curve(ln.label, np.r_[0, t, var.scenario.horizon],
                           100 * np.r_[0, f, f[-1] if len(f) else 0], c))
    ini = next((i for i in var.scenario.initiatives if i.name == name), None)
    due = None if ini is None or ini.deadline is None else ini.deadline - ini.launch
    return {
        "coverage": step_chart(cov, 100, "Classrooms implementing at the deadline (%)",
                               "Runs with at least that (%)",
                               None if thr is None else 100 * thr, "success threshold",
                               "fig-coverage", "Coverage at the deadline"),
        "time": step_chart(times, var.scenario.horizon,
                           f"{(unit or 'days').capitalize()} since launch",
                           "Runs implemented by then (%)", due, "deadline", "fig-time",
                           "Time to implementation"),
    }


def relay_figure(var: RunResult, name: str) -> Any:
    from ..present.plot import relay

    s = var.summary["initiatives"].get(name) or {}
    zones = s.get("zones", {})
    shares = [zones[lv.name]["drop_share"] if lv.name in zones else 0.0
              for lv in var.scenario.levels[1:]]
    cr = s.get("completion_rate", {})
    headline = None
    if cr.get("estimate") is not None:
        headline = (cr["estimate"], cr["ci95"][0], cr["ci95"][1], name)
    peers = s.get("peer_sharing")
    if peers is not None:  # the district's reviews at the same handoff, for the share
        runs = max(int(s.get("runs") or 0), 1)
        peers = {**peers, "rescued": zones.get(peers["level"], {}).get("rescues", 0) / runs}
    return relay(var.scenario, shares=shares, headline=headline, peers=peers)


def figures(base: RunResult, var: RunResult, dpi: int = 80) -> dict[str, str]:
    """What the page shows under the numbers, ready for HTML: the relay as a PNG data URI,
    the coverage and time curves as inline SVG."""
    from ..present.plot import data_uri

    name = first_initiative(base)
    return {"relay": data_uri(relay_figure(var, name), dpi),
            **curve_charts(base, var, name)}


# --------------------------------------------------------------------------- the session


class Explorer:
    """One scenario explored at fixed replications and seed. Thread-safe: `request` may be
    called from any thread; the latest finished view is `view`, the progress `progress`."""

    def __init__(self, scenario: Scenario, levers: list[Lever], reps: int = 500,
                 seed: int = 0, workers: int | None = None, save_dir: str | Path = ".",
                 draw: bool = True, share: Explorer | None = None,
                 engine: str = "auto") -> None:
        from ..engines.select import resolve

        self.scenario = scenario
        # the engine asked for (auto: fast, SimPy without numba); checked before any run
        self.requested_engine = share.requested_engine if share is not None else engine
        resolve(self.requested_engine)
        self.levers = levers
        self.reps = reps
        self.seed = seed
        self.workers = workers if workers is not None else default_workers()
        self.save_dir = Path(save_dir)
        self.draw = draw
        # another Explorer of the same scenario (another browser tab) lends its pool and
        # its run of the scenario as written
        self._own_pool = share is None
        self._pool = share._pool if share is not None else (
            local_pool(self.workers, death_signal=False) if self.workers > 1 else None)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._gen = 0
        self._pending: tuple[int, dict[str, Any], float] | None = None
        self._closed = False
        self.progress: tuple[int, int, int] = (0, 0, reps)  # (gen, done, total)
        self.running = False
        self.error: tuple[int, str] | None = None
        self.view: View | None = None
        self.shown: list[int] = []  # generations whose numbers were shown, in order
        # figures by the variant's scenario hash: the same hash, seed and replications give
        # the same runs, so a variant seen before (e.g. back to as written) is not redrawn
        self._drawn: dict[str, dict[str, str]] = {}
        if share is not None:
            self.base, self.base_seconds = share.base, share.base_seconds
        else:
            t0 = time.perf_counter()
            self.base = self._run(scenario, lambda n: None)
            self.base_seconds = time.perf_counter() - t0
        self.engine, self.slow_engine = engine_note(self.base)
        self._thread = threading.Thread(target=self._loop, name="relaysim-explore",
                                        daemon=True)
        self._thread.start()
        self.request({})

    # -- running -------------------------------------------------------------------
    def _run(self, sc: Scenario, tick: Callable[[int], None],
             tracked: _Tracked | None = None) -> RunResult:
        kw: dict[str, Any] = {"workers": self.workers, "progress": tick,
                              "chunk_size": max(1, math.ceil(self.reps / (4 * self.workers)))}
        if tracked is not None:
            kw["executor"] = tracked
        elif self._pool is not None:
            kw["executor"] = self._pool
        kw["engine"] = self.requested_engine
        return run(sc, reps=self.reps, seed=self.seed, **kw)

    def request(self, values: dict[str, Any]) -> int:
        """Ask for the variant with these dotted-path values; returns its generation. Any
        older request still waiting or running is superseded."""
        with self._wake:
            self._gen += 1
            self._pending = (self._gen, dict(values), time.perf_counter())
            self.progress = (self._gen, 0, self.reps)
            self._wake.notify()
            return self._gen

    @property
    def generation(self) -> int:
        return self._gen

    def _stale(self, gen: int) -> bool:
        return gen != self._gen or self._closed

    def _loop(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                gen, values, t0 = self._pending  # type: ignore[misc]
                self._pending = None
                self.running = True
            try:
                self._compute(gen, values, t0)
            except Superseded:
                pass
            except RelaysimError as e:
                self._fail(gen, str(e))
            except Exception as e:  # never a traceback on the page; the log has it
                import traceback

                traceback.print_exc()
                self._fail(gen, f"the run failed: {type(e).__name__}: {e}")
            finally:
                with self._lock:
                    self.running = self._pending is not None

    def _fail(self, gen: int, msg: str) -> None:
        with self._lock:
            if not self._stale(gen):
                self.error = (gen, msg)

    def _compute(self, gen: int, values: dict[str, Any], t0: float) -> None:
        try:
            sc = self.scenario.with_values(values) if values else self.scenario
        except ScenarioError as e:
            self._fail(gen, "; ".join(f"{p.path}: {p.message}" for p in e.problems))
            return
        if sc.hash == self.scenario.hash:
            res = self.base
        else:
            tracked = _Tracked(self._pool) if self._pool is not None else None
            done = [0]

            def tick(n: int) -> None:
                done[0] += n
                if self._stale(gen):
                    raise Superseded
                self.progress = (gen, done[0], self.reps)

            try:
                res = self._run(sc, tick, tracked)
            except Superseded:
                if tracked is not None:
                    tracked.cancel()
                raise
        if self._stale(gen):
            raise Superseded
        nums = numbers(self.base, res)
        eng, slow = engine_note(res)
        view = View(gen, values, nums, time.perf_counter() - t0, eng, slow)
        with self._lock:
            if self._stale(gen):
                raise Superseded
            self.view = view
            self.shown.append(gen)
            self.error = None
            self.progress = (gen, self.reps, self.reps)
        if self.draw and not self._stale(gen):  # a newer change: skip drawing this one
            figs = self._drawn.get(res.scenario.hash)
            if figs is None:
                figs = figures(self.base, res)
                if len(self._drawn) >= 32:  # each about 100 kB
                    self._drawn.pop(next(iter(self._drawn)))
                self._drawn[res.scenario.hash] = figs
            with self._lock:
                if self.view is view:
                    view.figures = figs
                    view.figure_seconds = time.perf_counter() - t0

    def wait(self, gen: int | None = None, figures: bool = False,
             timeout: float = 120.0) -> View | None:
        """Block until the view (or error) of generation `gen` (default: the latest) is in."""
        gen = self._gen if gen is None else gen
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v, err = self.view, self.error
            if err is not None and err[0] == gen:
                return None
            if v is not None and v.gen == gen and (not figures or v.figures or not self.draw):
                return v
            time.sleep(0.01)
        raise TimeoutError(f"no result for change {gen} within {timeout} s")

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._pool is not None and self._own_pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- saving --------------------------------------------------------------------
    def save_variant(self, values: dict[str, Any], name: str) -> Path:
        return save_variant(self.scenario, values, name, self.save_dir)

    def add_to_report(self, view: View, label: str = "") -> Path:
        """Keep a variant for the HTML report: append it to
        SAVE_DIR/explorer-variants.json (`relaysim report DIR --variants FILE`)."""
        return add_to_report(self.scenario, view, label, self.save_dir)


# --------------------------------------------------------------------------- files

_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def safe_target(save_dir: Path, name: str, suffix: str) -> Path:
    """SAVE_DIR/NAME.suffix, refusing anything that could land elsewhere: names with path
    separators, dots or other characters, and existing symbolic links."""
    stem = name[: -len(suffix)] if name.endswith(suffix) else name
    if not _NAME_OK.fullmatch(stem):
        raise UsageError(f"file name {name!r}: use letters, digits, '-' and '_' only "
                         "(it is saved in the save folder)")
    folder = save_dir.resolve()
    if not folder.is_dir():
        raise UsageError(f"save folder {save_dir} does not exist")
    p = folder / f"{stem}{suffix}"
    if p.is_symlink() or p.resolve().parent != folder:
        raise UsageError(f"{p}: refusing to write through a symbolic link")
    return p


def describe_changes(sc: Scenario, values: dict[str, Any]) -> list[str]:
    out = []
    for path, v in values.items():
        try:
            was = sc.get(path)
        except ScenarioError:
            was = None
        out.append(f"{path} = {json.dumps(v)} (was {json.dumps(was)})")
    return out


def save_variant(sc: Scenario, values: dict[str, Any], name: str, save_dir: Path) -> Path:
    """Write the variant as a scenario TOML file in `save_dir` (never elsewhere), with a
    comment naming the base scenario and the changes. Returns its path."""
    variant = sc.with_values(values)  # ScenarioError: the same message as --set
    p = safe_target(save_dir, name, ".toml")
    if p.exists():
        raise UsageError(f"{p.name} already exists in {p.parent}: choose another name")
    changes = describe_changes(sc, values) or ["(none: the scenario as written)"]
    header = "\n".join([
        f"A variant of {sc.source or sc.name} (scenario '{sc.name}', hash {sc.hash[:12]}),",
        f"saved by relaysim {__version__} explore on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. Changes:",
        *[f"  {c}" for c in changes],
    ])
    atomic_write(p, dumps_toml(variant.raw, header))
    return p


def add_to_report(sc: Scenario, view: View, label: str, save_dir: Path) -> Path:
    p = safe_target(save_dir, "explorer-variants", ".json")
    doc: dict[str, Any] = {"format": VARIANTS_FORMAT, "version": 1,
                           "base": {"scenario": sc.name, "source": sc.source,
                                    "scenario_hash": sc.hash},
                           "variants": []}
    if p.exists():
        try:
            old = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UsageError(f"{p}: cannot read it ({e}); move it away first") from None
        if old.get("format") != VARIANTS_FORMAT or old.get("base", {}).get(
                "scenario_hash") != sc.hash:
            raise UsageError(f"{p} keeps variants of another scenario: choose another "
                             "save folder")
        doc = old
    n = view.numbers
    doc["variants"].append({
        "label": label or f"variant {len(doc['variants']) + 1}",
        "changes": view.values,
        "initiative": n["initiative"],
        "seed": n["seed"], "reps": n["reps"], "stream_version": n["stream_version"],
        "engine": view.engine,
        "base": _brief(n["base"]), "variant": _brief(n["variant"]),
        "paired": n["paired"],
        "added": datetime.now(UTC).isoformat(timespec="seconds"),
        "relaysim_version": __version__,
    })
    atomic_write(p, json.dumps(json_safe(doc), indent=2))
    return p


def _brief(s: dict[str, Any] | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"completion_rate": s["completion_rate"], "coverage": s["coverage"],
            "completion_time": s["completion_time"]}


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)
