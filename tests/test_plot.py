"""Figures (issue 5): every kind drawn from a small real sweep and checked on the Figure
object (axes, labels, number of lines, bars, circles), not only that a file appeared.

Also: PNG, SVG and PDF by file extension; the Okabe-Ito palette; fonts for slides; labels
in the planner's words, never a dotted path; plots from results.csv alone; plots of a
sweep that is still running; the `relaysim plot` command line.

The sweeps are tiny (tens of replications, one worker) and made once per module.
"""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib.colors as mcolors
import matplotlib.patches as mpatches
import matplotlib.text as mtext
import numpy as np
import pytest
from _cli import cli, sub_env
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

import relaysim
from relaysim import UsageError, load_scenario
from relaysim import plot as P
from relaysim.engines.keyed import STREAM_VERSION
from relaysim.present.results import open_results
from relaysim.study.designs import make_design, parse_vary
from relaysim.study.sensitivity import sensitivity
from relaysim.study.store import Store
from relaysim.study.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"

FUMBLE = "zones.principal.fumble"
TRUST = "levels.principal.trust"
CHECKPOINT_TIME = "effects.checkpoint_time"

#: Okabe & Ito (2008), written out here rather than taken from relaysim.present.plot
OKABE_ITO = {"#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442",
             "#000000"}
#: a dotted path (zones.principal.fumble, levels.x.trust, ...) left in a label
DOTTED = re.compile(r"\b(?:zones|levels|effects|initiatives|feedback|initiative_stream|"
                    r"scenario)\.\w")
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}

#: four levels, three exchange zones; the coach handoff is the fumbly one
RELAY4 = {
    "name": "four-step",
    "levels": [
        {"name": "district", "work": {"dist": "exponential", "mean": 5}},
        {"name": "principal", "count": 3, "work": {"dist": "exponential", "mean": 8}},
        {"name": "coach", "count": 1, "work": {"dist": "exponential", "mean": 8}},
        {"name": "classroom", "count": 3, "work": {"dist": "exponential", "mean": 10}},
    ],
    "zones": [
        {"to": "principal", "fumble": 0.1, "recover": 0.5},
        {"to": "coach", "fumble": 0.3},
        {"to": "classroom", "fumble": 0.05},
    ],
    "initiatives": [{"name": "math", "deadline": 250, "success_threshold": 0.7}],
}


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def minimal() -> relaysim.Scenario:
    return load_scenario(MINIMAL)


@pytest.fixture(scope="module")
def grid_dir(minimal, tmp_path_factory) -> Path:
    """fumble risk (4 values) x trust (2 values): a curve with two lines, a 2 x 4 heatmap."""
    pts = make_design([parse_vary(f"{FUMBLE}=0:0.45:4", minimal),
                       parse_vary(f"{TRUST}=0.4,0.9", minimal)], "grid", None, 0)
    out = tmp_path_factory.mktemp("grid")
    sweep(minimal, pts, reps=40, seed=5, out=out, workers=1)
    return out


@pytest.fixture(scope="module")
def relay4_dir(make_scenario, tmp_path_factory) -> Path:
    """The four-level relay, coach fumble risk at two values (survival, drops, relay)."""
    raw = RELAY4
    sc = make_scenario(levels=raw["levels"], zones=raw["zones"],
                       initiatives=raw["initiatives"], horizon=250, name=raw["name"])
    out = tmp_path_factory.mktemp("relay4")
    sweep(sc, [{"zones.coach.fumble": 0.1}, {"zones.coach.fumble": 0.4}], reps=40, seed=2,
          out=out, workers=1)
    return out


@pytest.fixture(scope="module")
def sens_dir(minimal, tmp_path_factory) -> Path:
    """A small sensitivity analysis over three parameters (tornado, sobol)."""
    params = [parse_vary(v, minimal) for v in
              (f"{FUMBLE}=0:0.5:2", f"{TRUST}=0.3:0.9:2", f"{CHECKPOINT_TIME}=0:5:2")]
    out = tmp_path_factory.mktemp("sens")
    sensitivity(minimal, params, samples=4, reps=40, seed=3, out=out, workers=1,
                bootstrap=99)
    return out


def store_drops(folder: Path, point: int) -> tuple[list[str], np.ndarray, str]:
    """(zones, replications x zones drops, initiative) read straight from the store."""
    zones, rows, name = [], [], ""
    with Store(folder / "store.sqlite") as st:
        for _, _, d in st.chunks_of(point):
            zones = d["zones"]
            name, c = next(iter(d["initiatives"].items()))
            rows += list(zip(*c["drops"], strict=True))
    return zones, np.asarray(rows, dtype=float), name


def store_censored(folder: Path, point: int) -> bool:
    """Whether any replication of the point never reached implementation."""
    with Store(folder / "store.sqlite") as st:
        return any(t is None for _, _, d in st.chunks_of(point)
                   for c in d["initiatives"].values() for t in c["time"])


# --------------------------------------------------------------------------- helpers


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(mtext.Text) if t.get_text().strip()]


def check_words(fig: Figure) -> None:
    """Labels in the planner's words: no dotted path anywhere in the figure."""
    bad = [t for t in texts(fig) if DOTTED.search(t)]
    assert not bad, f"labels with variable names: {bad}"


def check_slide_ready(fig: Figure) -> None:
    """Readable at slide size: big enough figure, no text under 10 pt, axis labels and
    titles of the main axes at 12 pt or more; provenance (replications, seed, relaysim and
    random streams versions) stated."""
    w, h = fig.get_size_inches()
    assert w >= 9 and h >= 3.5
    sizes = [t.get_fontsize() for t in fig.findobj(mtext.Text) if t.get_text().strip()]
    assert min(sizes) >= 10, sorted(sizes)[:5]
    ax = fig.axes[0]
    for t in (ax.title, ax.xaxis.label, ax.yaxis.label):
        if t.get_text():
            assert t.get_fontsize() >= 12, (t.get_text(), t.get_fontsize())
    assert any(re.search(r"\d+ replications.*seed \d+", t) for t in texts(fig)), texts(fig)
    assert any(re.search(rf"relaysim {re.escape(relaysim.__version__)}, random streams "
                         rf"v{STREAM_VERSION}$", t) for t in texts(fig)), texts(fig)


def hexes(colors: Any) -> set[str]:
    return {mcolors.to_hex(c, keep_alpha=False) for c in colors}


def bars(ax: Any) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def bands(ax: Any) -> list[Any]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def solid_lines(ax: Any) -> list[Any]:
    return [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("None", "", " ")]




# --------------------------------------------------------------------------- the kinds


def test_curve_one_line_and_band_per_value_of_the_other_parameter(minimal, grid_dir):
    res = open_results(grid_dir)
    fig = P.curve(res, x=FUMBLE)
    (ax,) = fig.axes
    assert fig._supxlabel.get_text().splitlines() == [
        "40 replications per point, seed 5",
        f"scenario {minimal.hash[:12]}, relaysim {relaysim.__version__}, random streams "
        f"v{STREAM_VERSION}"]
    lines = solid_lines(ax)
    assert len(lines) == 2 and len(bands(ax)) == 2
    assert "fumble risk" in ax.get_xlabel() and "Handoff to principal" in ax.get_xlabel()
    assert "implemented" in ax.get_ylabel()
    assert ax.get_ylim() == (0, 100)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 2 and all("trust" in t for t in legend)
    assert {"0.4", "0.9"} == {t.rsplit("= ", 1)[1] for t in legend}
    # each line holds the completion rates of its points, in per cent, in x order
    for line, trust in zip(lines, (0.4, 0.9), strict=True):
        rows = sorted((r for r in res.rows if r["values"][TRUST] == trust),
                      key=lambda r: r["values"][FUMBLE])
        np.testing.assert_allclose(line.get_xdata(), [r["values"][FUMBLE] for r in rows])
        np.testing.assert_allclose(
            line.get_ydata(), [100 * r["initiatives"]["reading"]["completion_rate"]
                               for r in rows])
    # more fumbles, fewer implementations (common random numbers keep this monotone-ish)
    for line in lines:
        y = line.get_ydata()
        assert y[0] > y[-1]
    assert hexes(ln.get_color() for ln in lines) <= OKABE_ITO
    check_words(fig)
    check_slide_ready(fig)


def test_heatmap_image_is_the_grid(grid_dir):
    res = open_results(grid_dir)
    fig = P.heatmap(res, x=FUMBLE, y=TRUST)
    ax, cax = fig.axes
    (im,) = ax.images
    grid = np.asarray(im.get_array())
    assert grid.shape == (2, 4)  # trust values x fumble values
    assert "fumble risk" in ax.get_xlabel() and "trust" in ax.get_ylabel()
    assert "implemented" in cax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.15", "0.3", "0.45"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.4", "0.9"]
    for r in res.rows:
        i = [0.4, 0.9].index(r["values"][TRUST])
        j = [0.0, 0.15, 0.3, 0.45].index(round(r["values"][FUMBLE], 2))
        assert grid[i, j] == pytest.approx(100 * r["initiatives"]["reading"]["completion_rate"])
    assert len(ax.texts) == 8  # every cell annotated
    assert im.get_clim() == (0, 100)
    check_words(fig)
    check_slide_ready(fig)


def test_tornado_one_bar_pair_per_parameter_largest_swing_on_top(sens_dir):
    res = open_results(sens_dir)
    sens = res.sensitivity
    fig = P.tornado(res)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 3
    assert len(bars(ax)) == 2 * 3
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    # top to bottom = sensitivity.json's order (largest swing first)
    assert ticks[::-1] == [P.label(t["parameter"]) for t in sens["tornado"]]
    assert ticks[-1] == "Handoff to principal: fumble risk"
    base = 100 * sens["baseline"]
    for i, t in enumerate(reversed(sens["tornado"])):
        lo_bar, hi_bar = (p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - i)
                          < 1e-9)
        assert lo_bar.get_x() == pytest.approx(base)
        assert lo_bar.get_x() + lo_bar.get_width() == pytest.approx(100 * t["at_low"])
        assert hi_bar.get_x() + hi_bar.get_width() == pytest.approx(100 * t["at_high"])
        # each end's value label sits beyond its whisker, never across it
        xs = [x for c in ax.collections for seg in c.get_segments() for x, y in seg
              if abs(y - i) < 0.5]
        labels = [tx for tx in ax.texts if tx.get_position()[1] == i]
        assert xs and len(labels) == (1 if labels[0].get_text() == "no effect" else 2)
        for tx in labels:
            x = tx.get_position()[0]
            if tx.get_text() == "no effect":
                assert x > max(xs), (x, xs)
            elif tx.get_ha() == "left":
                assert x > max(v for v in xs if v >= base), (tx.get_text(), x, xs)
            else:
                assert x < min(v for v in xs if v <= base), (tx.get_text(), x, xs)
    assert "implemented" in ax.get_xlabel()
    assert hexes(p.get_facecolor() for p in ax.patches) <= OKABE_ITO
    check_words(fig)
    check_slide_ready(fig)


def test_sobol_two_bars_per_parameter_with_error_bars(sens_dir):
    res = open_results(sens_dir)
    sens = res.sensitivity
    fig = P.sobol(res)
    ax = fig.axes[0]
    first, total = bars(ax)
    for c in (first, total):
        assert len(c) == 3
        assert c.errorbar is not None
    items = sorted(sens["sobol"], key=lambda s: s["total"])
    np.testing.assert_allclose([b.get_width() for b in first], [s["first"] for s in items])
    np.testing.assert_allclose([b.get_width() for b in total], [s["total"] for s in items])
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [P.label(s["parameter"]) for s in items]
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "first order" in legend and "total" in legend
    assert "variation" in ax.get_xlabel()
    assert hexes(p.get_facecolor() for p in ax.patches) <= OKABE_ITO
    # the note says how many seeds the design ran under (SEEDS = 4 by default)
    assert sens["seeds"] == 4
    assert (f"{sens['points']} points x 40 replications x 4 independent seeds (the first is "
            "seed 3") in fig._supxlabel.get_text()
    check_words(fig)
    check_slide_ready(fig)


def test_survival_one_line_per_point_and_censoring_marks(grid_dir, relay4_dir):
    for folder in (grid_dir, relay4_dir):
        res = open_results(folder)
        fig = P.survival(res)
        ax = fig.axes[0]
        n = min(6, len(res.rows))
        assert len(solid_lines(ax)) == n
        assert ax.get_xlabel() == "Days since launch"
        assert ax.get_ylim() == (0, 100)
        censored = [j for j in range(n) if store_censored(folder, j)]
        marks = [ln for ln in ax.get_lines() if ln.get_marker() == "+"]
        assert censored, "the fixture should leave some runs unimplemented at the horizon"
        assert len(marks) == len(censored)
        assert len(ax.get_legend().get_texts()) == n
        check_words(fig)
        check_slide_ready(fig)
    fig = P.survival(open_results(grid_dir), points=[1, 3, 5])
    assert len(solid_lines(fig.axes[0])) == 3


def test_drops_one_bar_per_exchange_zone(relay4_dir):
    res = open_results(relay4_dir)
    zones, mat, name = store_drops(relay4_dir, 1)
    assert zones == ["principal", "coach", "classroom"] and name == "math"
    fig = P.drops(res, point=1)
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    (c,) = bars(ax)
    np.testing.assert_allclose([b.get_height() for b in c], mat.mean(axis=0))
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [" ".join(t.split()) for t in ticks] == [f"Handoff to {z}" for z in zones]
    assert "dropped" in ax.get_ylabel()
    # the zone where most batons fall stands out (vermilion), the others are blue
    worst = int(mat.mean(axis=0).argmax())
    colours = [mcolors.to_hex(b.get_facecolor()) for b in c]
    assert colours[worst] == "#d55e00"
    assert set(colours) <= OKABE_ITO
    assert sum("% of drops" in t for t in texts(fig)) == 3
    check_words(fig)
    check_slide_ready(fig)


def test_relay_one_circle_per_level_and_a_box_per_zone(relay4_dir):
    res = open_results(relay4_dir)
    fig = P.relay(res)
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, mpatches.Circle)]
    boxes = [p for p in ax.patches if isinstance(p, mpatches.FancyBboxPatch)]
    assert len(circles) == 4 and len(boxes) == 3
    title = fig.get_suptitle()
    assert "four-step" in title
    assert re.search(r"implemented in \d+% of runs \(95% CI \d+-\d+%\)", title)
    words = texts(fig)
    for level in ("district", "principal", "coach", "classroom"):
        assert level in words
    assert sum(t.endswith("% of drops") for t in words) == 3
    assert {mcolors.to_hex(c.get_facecolor()) for c in circles} == {"#0072b2"}
    # one runner per level: 1 district, 3 principals, 3 coaches, 9 classrooms
    assert [t.get_text() for t in ax.texts if t.get_text().isdigit()] == ["1", "3", "3", "9"]
    check_words(fig)
    # straight from a Scenario, without results
    sc = res.scenario
    fig = P.relay(sc)
    assert len([p for p in fig.axes[0].patches if isinstance(p, mpatches.Circle)]) == 4


def test_labels_are_in_the_planners_words(minimal):
    assert P.label(FUMBLE) == "Handoff to principal: fumble risk"
    assert P.label(TRUST) == "Principal: trust in the level above"
    assert "checkpoint" in P.label(CHECKPOINT_TIME)
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    numeric = [p for p, v in base.paths().items()
               if isinstance(v, int | float) and not p.startswith("scenario.")]
    assert len(numeric) > 20
    bad = {p: P.label(p) for p in numeric if DOTTED.search(P.label(p)) or "." in P.label(p)}
    assert not bad


def test_scenario_paths_are_in_words_too():
    for path in ("scenario.horizon", "scenario.year_length"):
        assert not DOTTED.search(P.label(path)), P.label(path)


# --------------------------------------------------------------------------- files


def _figures(grid_dir: Path, relay4_dir: Path, sens_dir: Path) -> dict[str, Figure]:
    return {
        "curve": P.plot(grid_dir, "curve", x=FUMBLE),
        "heatmap": P.plot(grid_dir, "heatmap", x=FUMBLE, y=TRUST),
        "tornado": P.plot(sens_dir, "tornado"),
        "sobol": P.plot(sens_dir, "sobol"),
        "survival": P.plot(relay4_dir, "survival"),
        "drops": P.plot(relay4_dir, "drops"),
        "relay": P.plot(relay4_dir, "relay"),
        "threshold": P.plot(relay4_dir, "threshold"),
    }


def test_every_kind_saves_as_png_svg_and_pdf(grid_dir, relay4_dir, sens_dir, tmp_path):
    figs = _figures(grid_dir, relay4_dir, sens_dir)
    # the discovery and screening kinds are saved in tests/test_discover.py
    assert set(figs) | {"tradeoff", "boxlims", "morris"} == set(P.KINDS)
    for kind, fig in figs.items():
        check_words(fig)
        for ext in ("png", "svg", "pdf"):
            path = tmp_path / f"{kind}.{ext}"
            P.save(fig, path)
            data = path.read_bytes()
            if ext == "svg":
                assert data.lstrip().startswith(b"<?xml") and b"<svg" in data[:2000], kind
            else:
                assert data.startswith(MAGIC[ext]), (kind, ext)
            assert len(data) > 5000, (kind, ext)
        upper = tmp_path / f"{kind}-upper.PNG"
        P.save(fig, upper)
        assert upper.read_bytes().startswith(MAGIC["png"])
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    for bad in ("x.jpg", "x", "x.png.txt"):
        with pytest.raises(UsageError, match=r"\.png, \.svg or \.pdf"):
            P.save(figs["curve"], tmp_path / bad)
        assert not (tmp_path / bad).exists()
    with pytest.raises(UsageError, match="cannot write"):
        P.save(figs["curve"], tmp_path / "no-such-folder" / "x.png")
    with pytest.raises(UsageError, match="unknown plot kind"):
        P.plot(grid_dir, "pie")


def test_no_text_falls_off_the_figure(grid_dir, relay4_dir, sens_dir):
    """Every axes (its title, labels, drawn tick labels, texts, legend) and the figure's
    title and note are drawn wholly inside the figure: nothing is clipped in the PNG."""
    for kind, fig in _figures(grid_dir, relay4_dir, sens_dir).items():
        canvas = FigureCanvasAgg(fig)  # what savefig uses for PNG
        canvas.draw()  # constrained layout runs at draw time
        renderer = canvas.get_renderer()
        box = fig.bbox
        extents = [(f"axes {i}", ax.get_tightbbox(renderer)) for i, ax in enumerate(fig.axes)]
        extents += [(t.get_text(), t.get_window_extent(renderer))
                    for t in (fig._suptitle, fig._supxlabel) if t is not None]
        for what, e in extents:
            assert (e.x0 >= box.x0 - 1 and e.y0 >= box.y0 - 1 and e.x1 <= box.x1 + 1
                    and e.y1 <= box.y1 + 1), (kind, what, e, box)


def test_threshold_legend_keeps_clear_of_the_axes_title_and_note(grid_dir):
    """The knife-edge plot of six points with two-parameter labels: its legend sits under
    the axes, clear of the x label and the provenance note; the title stays on the figure;
    and constrained layout never gives up (beside the axes, long labels squeezed them to
    nothing: a clipped title and a 'constrained_layout not applied' warning)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = P.threshold(grid_dir, points=list(range(6)))
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    r = canvas.get_renderer()
    ax = fig.axes[0]
    leg = ax.get_legend().get_window_extent(r)
    note = fig._supxlabel.get_window_extent(r)
    xlabel = ax.xaxis.label.get_window_extent(r)
    title = ax.title.get_window_extent(r)
    assert len(ax.get_legend().get_texts()) == 6
    assert leg.y1 <= xlabel.y0 + 1 and leg.y0 >= note.y1 - 1, (leg, xlabel, note)
    assert fig.bbox.x0 - 1 <= title.x0 and title.x1 <= fig.bbox.x1 + 1
    assert fig.bbox.x0 - 1 <= leg.x0 and leg.x1 <= fig.bbox.x1 + 1


# --------------------------------------------------------------------------- sources


def test_curve_and_heatmap_from_results_csv_alone(grid_dir, tmp_path):
    """Only results.csv (no store, no manifest): curve and heatmap still work and show the
    same numbers; the kinds that need replications say so."""
    shutil.copy(grid_dir / "results.csv", tmp_path / "results.csv")
    full = P.curve(grid_dir, x=FUMBLE)
    for src in (tmp_path, tmp_path / "results.csv"):
        res = open_results(src)
        assert res.store_path is None and res.scenario is None
        assert set(res.params) == {FUMBLE, TRUST}
        assert res.initiatives == ["reading"]
        fig = P.curve(res, x=FUMBLE)
        ax = fig.axes[0]
        assert len(solid_lines(ax)) == 2 and len(bands(ax)) == 2
        assert "fumble risk" in ax.get_xlabel()
        for a, b in zip(solid_lines(ax), solid_lines(full.axes[0]), strict=True):
            np.testing.assert_allclose(a.get_ydata(), b.get_ydata(), rtol=1e-8)
        hm = P.heatmap(res, x=FUMBLE, y=TRUST)
        assert np.asarray(hm.axes[0].images[0].get_array()).shape == (2, 4)
        check_words(fig)
        check_words(hm)
        for kind in ("drops", "survival"):
            with pytest.raises(UsageError, match="store"):
                P.plot(res, kind)
        with pytest.raises(UsageError, match="manifest"):
            P.relay(res)


def test_one_dot_parameters_from_results_csv(minimal, tmp_path):
    pts = [{CHECKPOINT_TIME: 1.0}, {CHECKPOINT_TIME: 3.0}]
    sweep(minimal, pts, reps=5, seed=0, out=tmp_path / "s", workers=1)
    (tmp_path / "c").mkdir()
    shutil.copy(tmp_path / "s" / "results.csv", tmp_path / "c" / "results.csv")
    res = open_results(tmp_path / "c")
    assert res.params == [CHECKPOINT_TIME]
    assert res.initiatives == ["reading"]


def test_default_axis_is_the_same_from_store_and_csv(grid_dir, tmp_path):
    shutil.copy(grid_dir / "results.csv", tmp_path / "results.csv")
    assert open_results(grid_dir).params == open_results(tmp_path).params == [FUMBLE, TRUST]


def _count_ok(store: Path) -> int | None:
    if not store.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.2)
        try:
            return int(db.execute(
                "SELECT COUNT(*) FROM chunks WHERE status = 'ok'").fetchone()[0])
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None


def test_plot_while_the_sweep_is_still_running(tmp_path):
    """A long CLI sweep (one worker) is plotted from its folder mid-way: the curve has its
    finished points and empty ones, drops of point 0 work; then the sweep is killed."""
    out = tmp_path / "running"
    cmd = [sys.executable, "-m", "relaysim", "sweep", str(MINIMAL),
           "--set", "levels.principal.count=10", "--set", "levels.classroom.count=10",
           "--vary", f"{FUMBLE}=0:0.45:8", "--reps", "20000", "--chunk-size", "10",
           "--seed", "1", "--workers", "1", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=sub_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while (_count_ok(out / "store.sqlite") or 0) < 2:
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended (status {proc.returncode}) before it could be "
                            f"plotted: {proc.stderr.read().decode()}")
            assert time.monotonic() < deadline, "the sweep stored no chunks in 60 s"
            time.sleep(0.02)
        res = open_results(out)
        assert not (out / "results.csv").exists()
        assert len(res.rows) == 8 and res.store_path is not None
        assert res.rows[0]["reps"] > 0 and res.rows[-1]["reps"] == 0
        fig = P.curve(res)
        (line,) = solid_lines(fig.axes[0])
        y = np.asarray(line.get_ydata(), dtype=float)
        assert len(y) == 8 and np.isfinite(y[0]) and np.isnan(y[-1])
        fig = P.drops(res, point=0)
        assert len(fig.axes[0].patches) == 2
        P.save(fig, tmp_path / "drops.png")
        P.save(P.plot(out, "curve"), tmp_path / "curve.svg")
        assert proc.poll() is None, "the sweep finished before the plots: make it longer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


# --------------------------------------------------------------------------- CLI


def test_cli_plot(grid_dir, sens_dir, tmp_path, capsys):
    done = subprocess.run([sys.executable, "-m", "relaysim", "plot", str(grid_dir),
                           "--kind", "curve", "-o", str(tmp_path / "x.png")],
                          env=sub_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x.png").read_bytes().startswith(MAGIC["png"])
    assert "x.png" in done.stdout

    rc, out, err = cli(capsys, "plot", sens_dir, "--kind", "sobol", "-o", tmp_path / "s.pdf")
    assert rc == 0, err
    assert "wrote" in out
    assert (tmp_path / "s.pdf").read_bytes().startswith(MAGIC["pdf"])
    rc, _, err = cli(capsys, "plot", grid_dir, "--kind", "heatmap", "--x", TRUST,
                     "--y", FUMBLE, "-o", tmp_path / "h.svg")
    assert rc == 0, err

    rc, _, err = cli(capsys, "plot", grid_dir, "--kind", "pie", "-o", tmp_path / "p.png")
    assert rc == 2 and "invalid choice" in err and "Traceback" not in err
    rc, _, err = cli(capsys, "plot", tmp_path / "nowhere", "--kind", "curve",
                     "-o", tmp_path / "n.png")
    assert rc == 2 and "nowhere" in err and "Traceback" not in err
    assert not (tmp_path / "n.png").exists()
    rc, _, err = cli(capsys, "plot", grid_dir, "--kind", "curve", "-o", tmp_path / "c.gif")
    assert rc == 2 and ".png, .svg or .pdf" in err
    rc, _, err = cli(capsys, "plot", grid_dir, "--kind", "curve", "--x", "levels.nope.trust",
                     "-o", tmp_path / "c.png")
    assert rc == 2 and "not varied" in err
    rc, _, err = cli(capsys, "plot", grid_dir, "--kind", "tornado", "-o", tmp_path / "t.png")
    assert rc == 2 and "sensitivity" in err

    missing = subprocess.run([sys.executable, "-m", "relaysim", "plot",
                              str(tmp_path / "nowhere"), "--kind", "curve",
                              "-o", str(tmp_path / "n.png")],
                             env=sub_env(), capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and "no such file or folder" in missing.stderr


def test_cli_option_a_kind_does_not_take_is_a_usage_error(grid_dir, sens_dir, tmp_path,
                                                           capsys):
    rc, _, err = cli(capsys, "plot", grid_dir, "--kind", "survival", "--x", FUMBLE,
                     "-o", tmp_path / "s.png")
    assert rc in (0, 2) and "Traceback" not in err
    rc, _, err = cli(capsys, "plot", sens_dir, "--kind", "tornado", "--initiative", "reading",
                     "-o", tmp_path / "t.png")
    assert rc in (0, 2)


def test_threshold_curve_reads_completion_at_the_bar(relay4_dir):
    """Issue 12 point 6: P(coverage >= x) per point; read at the success threshold it is
    the completion rate (the dot), and the threshold is marked."""
    res = open_results(relay4_dir)
    fig = P.threshold(res)
    ax = fig.axes[0]
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(dots) == len(res.rows)
    name = res.initiatives[0]
    for j, dot in enumerate(dots):
        rate = res.rows[j]["initiatives"][name]["completion_rate"]
        assert dot.get_ydata()[0] == pytest.approx(100 * rate, abs=1e-6)
    assert any("success threshold" in t.get_text() for t in ax.texts)
    assert "threshold" in P.KINDS
    assert P.plot(relay4_dir, "threshold").axes
