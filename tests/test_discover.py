"""Scenario discovery and screening (issue 14).

PRIM (and CART) on a synthetic sweep whose failure region is known by construction; Morris
screening ranking two strong levers first and finding no effect for the top level's trust
(which no zone reads); bad input as one-line errors with exit status 2; the report's new
sections, rendered by headless Chromium.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import relaysim
from relaysim import load_scenario
from relaysim.cli import main
from relaysim.engines.keyed import STREAM_VERSION
from relaysim.present import plot as P
from relaysim.study.designs import parse_vary
from relaysim.study.discover import MIN_POINTS, box_phrase
from relaysim.study.screen import screen, screening_text
from relaysim.study.store import Store

pytest.importorskip("ema_workbench", reason="pip install 'relaysim[discovery]'")
pytest.importorskip("SALib", reason="pip install 'relaysim[screening]'")

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"

FUMBLE = "zones.classroom.fumble"
TURNOVER = "levels.principal.turnover"
STEP = 0.05  # the synthetic grid's step
TRUE_FUMBLE, TRUE_TURNOVER = 0.2, 0.25  # failure: fumble > 0.2 and turnover > 0.25

STRONG = ("zones.classroom.fumble", "zones.principal.fumble")
NULL = "levels.district.trust"  # the top level's trust: no zone reads it
MORRIS_VARY = ("zones.classroom.fumble=0:0.5:2", "zones.principal.fumble=0:0.5:2",
               f"{NULL}=0:1:2", "levels.principal.turnover=0:0.3:2")


def run_cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def write_csv(folder: Path, rows: list[tuple[float, float, float]]) -> Path:
    """A results.csv (the columns a sweep writes) with the given (fumble, turnover,
    completion rate) points."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{FUMBLE},{TURNOVER},reading.completion_rate,reading.ci_low,reading.ci_high,"
             "reading.coverage_mean,reading.completion_time_median,reps"]
    for f, t, c in rows:
        lines.append(f"{f!r},{t!r},{c!r},{c - 0.05!r},{c + 0.05!r},{c!r},100.0,100")
    (folder / "results.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """A grid with step 0.05 over fumble x turnover in [0, 0.5]^2 where the initiative is
    implemented 30% of the time inside the failure region and 90% outside, plus a little
    noise (so the outcome is not a step function of the grid alone)."""
    rng = np.random.default_rng(14)
    grid = [round(STEP * i, 2) for i in range(11)]
    rows = []
    for f, t in itertools.product(grid, grid):
        fail = f > TRUE_FUMBLE and t > TRUE_TURNOVER
        c = (0.3 if fail else 0.9) + float(rng.normal(0, 0.05))
        rows.append((f, t, round(c, 4)))
    return write_csv(tmp_path_factory.mktemp("synthetic"), rows)


def found_limits(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    box = next(b for b in d["boxes"] if b["chosen"])
    return {lim["parameter"]: lim for lim in box["limits"]}, box


@pytest.mark.parametrize("method", ["prim", "cart"])
def test_box_recovers_the_known_failure_region(synthetic, capsys, method):
    rc, out, err = run_cli(capsys, "discover", synthetic, "--where", "completion_rate < 0.5",
                           "--method", method)
    assert rc == 0, err
    d = json.loads((synthetic / "discovery.json").read_text(encoding="utf-8"))
    assert d["method"] == method and d["points"] == 121
    assert d["cases_meeting"] == 30  # 6 fumble values above 0.2 x 5 turnover above 0.25
    lims, box = found_limits(d)
    assert set(lims) == {FUMBLE, TURNOVER}, lims
    # lower limits within one grid step of the true ones, upper ends not restricted
    assert abs(lims[FUMBLE]["lower"] - TRUE_FUMBLE) <= STEP + 1e-9, lims[FUMBLE]
    assert abs(lims[TURNOVER]["lower"] - TRUE_TURNOVER) <= STEP + 1e-9, lims[TURNOVER]
    assert lims[FUMBLE]["upper"] == pytest.approx(0.5)
    assert lims[TURNOVER]["upper"] == pytest.approx(0.5)
    assert box["coverage"] > 0.8 and box["density"] > 0.8
    # the planner's sentence and the printed report say the same
    phrase = box_phrase(d, box)
    assert "principal turnover per year" in phrase and "handoff to classroom" in phrase
    assert phrase.startswith("The chance of implementation was below 50%")
    assert phrase in out
    if method == "prim":
        for lim in lims.values():
            assert lim["qp"] is not None and lim["qp"] < 0.01  # both limits matter
        assert "Along the peeling trajectory" in out
        assert (synthetic / "discovery-tradeoff.png").exists()
    assert (synthetic / "discovery-boxlims.png").exists()
    # feature scoring ranks the two parameters of the box (the only two here) with
    # non-zero scores
    scores = {s["parameter"]: s["score"] for s in d["feature_scores"]}
    assert set(scores) == {FUMBLE, TURNOVER} and min(scores.values()) > 0.1


# --------------------------------------------------------------------------- real sweeps


@pytest.fixture(scope="module")
def minimal() -> relaysim.Scenario:
    return load_scenario(MINIMAL)


@pytest.fixture(scope="module")
def screened(minimal, tmp_path_factory) -> tuple[dict[str, Any], Path]:
    """Morris over two strong levers, one weak one and one without any effect; the same
    folder is a sweep, so discovery runs on it too (for the report)."""
    params = [parse_vary(v, minimal) for v in MORRIS_VARY]
    out = tmp_path_factory.mktemp("screen")
    res = screen(minimal, params, trajectories=10, reps=80, seed=3, out=out, workers=1,
                 resamples=500)
    return res, out


def test_morris_ranks_the_strong_levers_first_and_finds_no_effect(minimal, screened):
    res, out = screened
    by = {e["parameter"]: e for e in res["morris"]}
    assert set(res["ranking"][:2]) == set(STRONG), res["ranking"]
    null = by[NULL]
    lo, hi = null["mu_star_ci95"]
    assert lo <= 0 <= hi, null
    # with common random numbers a parameter nobody reads changes nothing at all
    assert null["mu_star"] == 0 and null["sigma"] == 0
    assert NULL in res["no_effect"]
    for p in STRONG:
        assert by[p]["mu_star_ci95"][0] > 0.1, by[p]
    saved = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    assert saved["ranking"] == res["ranking"] and saved["points"] == 10 * (4 + 1)
    assert saved["points"] == len((out / "results.csv").read_text().splitlines()) - 1
    assert saved["stream_version"] == STREAM_VERSION and saved["scenario_hash"] == minimal.hash
    assert f"seed 3, random streams v{STREAM_VERSION})" in screening_text(res).splitlines()[0]


def test_morris_resumes_without_running_again(minimal, screened):
    res, out = screened
    with Store(out / "store.sqlite") as st:
        before = sum(1 for j in st.points() for _ in st.chunks_of(j))
    calls: list[int] = []
    params = [parse_vary(v, minimal) for v in MORRIS_VARY]
    again = screen(minimal, params, trajectories=10, reps=80, seed=3, out=out, workers=1,
                   resamples=500, resume=True, progress=lambda n, p: calls.append(n))
    assert calls == [] and again["morris"] == res["morris"]
    with Store(out / "store.sqlite") as st:
        assert sum(1 for j in st.points() for _ in st.chunks_of(j)) == before


def test_morris_figure_and_cli(screened, capsys, tmp_path):
    _, out = screened
    fig = P.morris(out)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 4
    rc, o, err = run_cli(capsys, "plot", out, "--kind", "morris", "-o", tmp_path / "m.png")
    assert rc == 0, err
    rc, o, err = run_cli(capsys, "screen", MINIMAL, "--vary", MORRIS_VARY[0], "--vary",
                         MORRIS_VARY[2], "--trajectories", 3, "--reps", 10, "--workers", 1,
                         "--quiet", "--json", "--out", tmp_path / "s")
    assert rc == 0, err
    assert json.loads(o)["points"] == 3 * 3
    # --engine simpy: the same screening, from the reference engine
    rc, o2, err = run_cli(capsys, "screen", MINIMAL, "--vary", MORRIS_VARY[0], "--vary",
                          MORRIS_VARY[2], "--trajectories", 3, "--reps", 10, "--workers", 1,
                          "--quiet", "--json", "--out", tmp_path / "s-simpy", "--engine",
                          "simpy")
    assert rc == 0, err
    assert json.loads(o2)["morris"] == json.loads(o)["morris"]


def test_discovery_and_screening_kinds_save_in_every_format(report, screened, tmp_path):
    """tradeoff, boxlims and morris through plot(): PNG, SVG and PDF (test_plot.py saves
    the other kinds)."""
    from relaysim import plot as P

    _, out = screened  # `report` ran discover on this folder
    magic = {"png": b"\x89PNG", "pdf": b"%PDF"}
    for kind in ("tradeoff", "boxlims", "morris"):
        assert kind in P.KINDS
        fig = P.plot(out, kind)
        for ext in ("png", "svg", "pdf"):
            path = tmp_path / f"{kind}.{ext}"
            P.save(fig, path)
            data = path.read_bytes()
            assert data.startswith(magic[ext]) if ext in magic else b"<svg" in data[:2000]
            assert len(data) > 5000, (kind, ext)
    rc = main(["plot", str(out), "--kind", "tradeoff", "--x", "a", "-o", str(tmp_path / "x.png")])
    assert rc == 2


def test_discover_per_replication(screened, capsys, tmp_path):
    _, out = screened
    rc, o, err = run_cli(capsys, "discover", out, "--where", "completed == 0", "--per-rep",
                         "--out", tmp_path / "d", "--no-figures")
    assert rc == 0, err
    d = json.loads((tmp_path / "d" / "discovery.json").read_text(encoding="utf-8"))
    assert d["per_rep"] and d["cases"] == 50 * 80 and d["points"] == 50
    # provenance: the sweep's, read from its store
    assert d["stream_version"] == STREAM_VERSION and d["seed"] == 3
    assert d["scenario_hash"] == load_scenario(MINIMAL).hash
    assert "The initiative was not implemented in" in o
    lims, _ = found_limits(d)
    assert set(lims) <= {*STRONG, "levels.principal.turnover"} and lims
    assert NULL not in lims


# --------------------------------------------------------------------------- bad input


def assert_usage_error(rc: int, err: str, *words: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("relaysim: error: "), err
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize("where, words", [
    ("completion < 0.5", ("unknown output 'completion'", "completion_rate")),
    ("completed == 0", ("per-replication", "--per-rep")),
    ("completion_rate << 0.5", ("expected OUTPUT OP NUMBER",)),
    ("completion_rate < half", ("'half' is not a number",)),
    ("completion_rate < 2", ("every point", "meets the condition")),
    ("completion_rate < -1", ("no point", "meets the condition")),
])
def test_bad_conditions(synthetic, capsys, where, words):
    rc, _, err = run_cli(capsys, "discover", synthetic, "--where", where, "--no-figures",
                         "--out", synthetic / "bad")
    assert_usage_error(rc, err, *words)


def test_too_few_points(tmp_path, capsys):
    folder = write_csv(tmp_path / "few", [(0.1 * i, 0.1, 0.2 + 0.1 * i) for i in range(5)])
    rc, _, err = run_cli(capsys, "discover", folder, "--where", "completion_rate < 0.5")
    assert_usage_error(rc, err, "5 point(s) is too few", f"at least {MIN_POINTS}")


def test_unknown_initiative_and_missing_folder(synthetic, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "discover", synthetic, "--where", "completion_rate < 0.5",
                         "--initiative", "maths", "--no-figures")
    assert_usage_error(rc, err, "'maths'", "reading")
    rc, _, err = run_cli(capsys, "discover", tmp_path / "nowhere", "--where",
                         "completion_rate < 0.5")
    assert_usage_error(rc, err, "no such file or folder")


def test_discovery_extra_not_installed(synthetic, capsys, monkeypatch):
    for mod in [m for m in sys.modules if m.startswith("ema_workbench")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    rc, _, err = run_cli(capsys, "discover", synthetic, "--where", "completion_rate < 0.5",
                         "--out", synthetic / "noextra")
    assert_usage_error(rc, err, "pip install 'relaysim[discovery]'")
    assert not (synthetic / "noextra" / "discovery.json").exists()


def test_screening_extra_not_installed(capsys, monkeypatch, tmp_path):
    for mod in [m for m in sys.modules if m.startswith("SALib")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "SALib", None)
    rc, _, err = run_cli(capsys, "screen", MINIMAL, "--vary", MORRIS_VARY[0],
                         "--trajectories", 4, "--out", tmp_path / "s", "--quiet")
    assert_usage_error(rc, err, "pip install 'relaysim[screening]'")
    assert not (tmp_path / "s" / "store.sqlite").exists()


@pytest.mark.parametrize("args, words", [
    (["--trajectories", 1], ("at least 2",)),
    (["--trajectories", 4, "--levels", 3], ("even number",)),
    (["--trajectories", 4, "--vary", "zones.nowhere.fumble=0:1:2"], ("nowhere",)),
])
def test_bad_screening_input(capsys, tmp_path, args, words):
    rc, _, err = run_cli(capsys, "screen", MINIMAL, "--vary", MORRIS_VARY[0], *args,
                         "--out", tmp_path / "s", "--quiet", "--workers", 1)
    assert_usage_error(rc, err, *words)


# --------------------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def report(screened, tmp_path_factory) -> Path:
    """The report of the screening folder after `relaysim discover` ran on it too."""
    _, out = screened
    assert main(["discover", str(out), "--where", "completion_rate < 0.5"]) == 0
    path = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(out), "-o", str(path)]) == 0
    return path


def test_report_has_the_discovery_and_screening_sections(report):
    text = report.read_text(encoding="utf-8")
    assert "<section id='discovery'><h2>When does it fail?</h2>" in text
    assert "<section id='screening'><h2>Which levers matter at all?</h2>" in text
    # what the user typed is escaped: the condition's '<' never reaches the page raw
    assert "completion_rate &lt; 0.5" in text and "completion_rate < 0.5" not in text
    m = re.search(r"<section id='discovery'>.*?</section>", text, re.S)
    assert m and "of all such sweep points" in m.group(0)
    assert "handoff to" in m.group(0)
    assert text.count("data:image/png;base64,") == 6  # relay, drops, threshold, 2 boxes, morris


def test_report_sections_render_in_headless_chromium(report, tmp_path):
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from test_report import PROBE, read_rgb, run_chromium
    finally:
        sys.path.pop(0)
    page = tmp_path / "report.html"
    shutil.copy(report, page)
    shot = tmp_path / "shot.png"
    run_chromium(exe, tmp_path, page.as_uri(), f"--screenshot={shot}",
                 "--window-size=1200,6000")
    img = read_rgb(shot)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500
    assert float((img.min(axis=2) < 245).mean()) > 0.08
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    dom = run_chromium(exe, tmp_path, probe.as_uri(), "--dump-dom")
    m = re.search(r"<title>([^<]*)</title>", dom)
    assert m and m.group(1) == "IMAGES 6 6", m and m.group(1)
    assert "When does it fail?" in dom and "Which levers matter at all?" in dom

