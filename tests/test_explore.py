"""The planning-session explorer (issue 15): `relaysim explore` in a real browser.

The live app is started by the test itself (`python -m relaysim explore` on a free loopback
port, stopped at the end) and driven with Playwright for Python pointed at Debian's
`chromium` (Playwright's own browser download is not used). The exported take-away page
is opened from a file:// URL with every other request aborted. Without Panel, Playwright or
Chromium the browser tests skip and say why; .ci/run installs all three.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from relaysim import load_scenario, run
from relaysim.app.levers import default_levers, grid_values, parse_lever
from relaysim.app.session import Explorer, save_variant
from relaysim.cli import main
from relaysim.engines.keyed import STREAM_VERSION
from relaysim.errors import ScenarioError, UsageError

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"
REPS, SEED = 200, 3
# a description that would inject markup if it were not escaped
DESCRIPTION = "Three levels <b id='inject'>bold</b> & <script>window.pwned=1</script>"
NAME = "minimal <i id='inject-name'>marked</i>"  # and a name
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


# --------------------------------------------------------------------------- no browser


def test_levers_in_the_planners_words_grouped_by_junction_and_level():
    sc = load_scenario(BASELINE)
    levers = default_levers(sc)
    by_group: dict[str, list[str]] = {}
    for lv in levers:
        by_group.setdefault(lv.group, []).append(lv.path)
    for to in ("principal", "coach", "classroom"):
        assert by_group[f"Handoff to {to}"] == [f"zones.{to}.rehearsed",
                                                f"zones.{to}.checkpoint",
                                                f"zones.{to}.fumble"]
    assert "levels.coach.succession" in by_group["Coach"]
    assert {"levels.principal.trust", "levels.principal.capacity",
            "levels.principal.turnover"} <= set(by_group["Principal"])
    assert set(by_group["Initiative 'reading'"]) == {"initiatives.reading.deadline",
                                                    "initiatives.reading.success_threshold"}
    assert all(lv.label and "." not in lv.label for lv in levers)
    # a stream adds the number of initiatives arriving
    port = load_scenario(ROOT / "scenarios" / "portfolio.toml")
    if port.stream.rate > 0:
        assert any(lv.path == "initiative_stream.rate" for lv in default_levers(port))


def test_parse_lever_and_grid():
    sc = load_scenario(MINIMAL)
    lv = parse_lever("zones.principal.fumble=0:0.4", sc)
    assert (lv.kind, lv.lo, lv.hi, lv.group) == ("float", 0, 0.4, "Handoff to principal")
    assert grid_values(lv, 3) == [0.0, 0.2, 0.4]
    assert grid_values(parse_lever("zones.classroom.rehearsed", sc), 5) == [False, True]
    for bad in ("zones.nowhere.fumble=0:1", "zones.principal.fumble=0.4:0",
                "zones.principal.fumble", "zones.principal.fumble=a:b"):
        with pytest.raises(UsageError):
            parse_lever(bad, sc)


def test_save_variant_is_a_valid_scenario_and_stays_in_its_folder(tmp_path):
    sc = load_scenario(MINIMAL)
    p = save_variant(sc, {"zones.classroom.rehearsed": True}, "v1", tmp_path)
    assert p == tmp_path.resolve() / "v1.toml"
    text = p.read_text(encoding="utf-8")
    assert text.startswith("# A variant of ") and "zones.classroom.rehearsed = true" in text
    assert main(["validate", str(p)]) == 0
    assert load_scenario(p).hash == sc.with_values({"zones.classroom.rehearsed": True}).hash
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "link.toml").symlink_to(outside / "x.toml")
    for name in ("../evil", "a/b", "/etc/passwd", "..", ".hidden", "x.toml/../y", "link",
                 "v1"):  # v1: exists, never overwritten
        with pytest.raises(UsageError):
            save_variant(sc, {}, name, tmp_path)
    assert not (outside / "x.toml").exists()
    assert not (tmp_path.parent / "evil.toml").exists()
    with pytest.raises(ScenarioError, match=r"zones\.classroom\.fumble"):
        save_variant(sc, {"zones.classroom.fumble": 1.5}, "bad", tmp_path)


def test_newer_change_supersedes_older_run(tmp_path):
    sc = load_scenario(MINIMAL)
    ex = Explorer(sc, default_levers(sc), reps=2000, seed=0, workers=1, save_dir=tmp_path,
                  draw=False)
    try:
        ex.wait(1)
        g1 = ex.request({"zones.principal.fumble": 0.3})
        g2 = ex.request({"zones.classroom.rehearsed": True})
        v = ex.wait(g2)
        assert v is not None and v.gen == g2 == g1 + 1
        assert v.values == {"zones.classroom.rehearsed": True}
        assert g1 not in ex.shown  # the older run's results were never shown
        g3 = ex.request({"zones.classroom.fumble": 1.5})
        assert ex.wait(g3) is None
        assert "zones.classroom.fumble" in ex.error[1] and "< 1" in ex.error[1]
    finally:
        ex.close()


def test_simpy_engine_works_and_says_it_is_slower(tmp_path):
    """--engine simpy (or auto without numba): the same paired numbers as the fast engine,
    and the page's header says it is the slower engine; with the fast engine it names it."""
    from relaysim.app.server import header_html

    sc = load_scenario(MINIMAL)
    change = {"zones.classroom.rehearsed": True}
    want = run(sc.with_values(change), reps=40, seed=2, workers=1, engine="fast")
    views = {}
    for engine in ("simpy", "fast"):
        ex = Explorer(sc, [], reps=40, seed=2, workers=1, save_dir=tmp_path, draw=False,
                      engine=engine)
        try:
            views[engine] = ex.wait(ex.request(change))
            head = header_html(ex)
        finally:
            ex.close()
        assert views[engine].engine == engine and ex.slow_engine is (engine == "simpy")
        if engine == "simpy":
            assert "id='rs-engine'" in head and "rs-slow" in head
            assert "SimPy engine (the slower one)" in head and "40 replications" in head
        else:
            assert "Engine: fast." in head and "SimPy" not in head
    for v in views.values():
        got = v.numbers["variant"]["completion_rate"]["estimate"]
        assert got == want.completion_rate
    assert views["simpy"].numbers == views["fast"].numbers
    with pytest.raises(UsageError, match="engine must be one of"):
        Explorer(sc, [], reps=10, seed=0, workers=1, engine="quantum")


def test_live_figures_kinds_and_inline_curves(tmp_path):
    """The coverage and time curves of a live session: the plot kinds threshold and
    survival draw them from the two runs; the page gets them as inline SVG (two curves
    each, the success threshold and the deadline marked, labels escaped)."""
    from relaysim.app.session import figures
    from relaysim.present import plot as P

    sc = load_scenario(MINIMAL)
    base = run(sc, reps=60, seed=2, workers=1)
    var = run(sc.with_values({"zones.classroom.rehearsed": True}), reps=60, seed=2, workers=1)
    runs = {"as written": base, "variant": var}
    fig = P.plot(runs, "threshold")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)
    assert sum(ln.get_linestyle() == "--" for ln in ax.get_lines()) == 1
    assert ax.get_xlim() == (0, 100)
    fig = P.plot(runs, "survival")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == list(runs)
    assert "60 replications, seed 2" in fig._supxlabel.get_text()
    f = figures(base, var)
    assert f["relay"].startswith("data:image/png;base64,")
    for key, mark in (("coverage", "success threshold"), ("time", "deadline")):
        svg = f[key]
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert svg.count("class='curve'") == 2 and mark in svg and "<script" not in svg
    assert "id='fig-coverage'" in f["coverage"] and "id='fig-time'" in f["time"]


def test_export_rejects_grids_too_big(tmp_path):
    sc = load_scenario(MINIMAL)
    args = ["explore", str(MINIMAL), "--export", str(tmp_path / "x.html"), "--grid", "7"]
    for p in ("zones.principal.fumble=0:0.4", "zones.classroom.fumble=0:0.4",
              "levels.principal.trust=0:1"):
        args += ["--lever", p]
    assert main(args) == 2
    assert main(["explore", str(MINIMAL), "--export", str(tmp_path / "y.html")]) == 2
    assert sc is not None


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                        "(pip install 'relaysim[test]')")
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run "
                    "installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    """minimal.toml with a name and a description full of markup."""
    raw = tomllib.loads(MINIMAL.read_text(encoding="utf-8"))
    raw["scenario"]["description"] = DESCRIPTION
    raw["scenario"]["name"] = NAME
    from relaysim.model.toml_out import dumps_toml

    p = tmp_path_factory.mktemp("scen") / "minimal_marked.toml"
    p.write_text(dumps_toml(raw), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def server(scenario_file, tmp_path_factory):
    pytest.importorskip("panel", reason="Panel is not installed (pip install 'relaysim[app]')")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    save = tmp_path_factory.mktemp("save")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaysim", "explore", str(scenario_file), "--port", str(port),
         "--reps", str(REPS), "--seed", str(SEED), "--workers", "1", "--save-dir", str(save)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        line = proc.stdout.readline() + proc.stdout.readline()
        assert url in line, line
        end = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > end or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield url, save
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cli_rate(path: Path, *sets: str) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "relaysim", "run", str(path), "--reps", str(REPS), "--seed",
         str(SEED), "--json", "--quiet", *[a for s in sets for a in ("--set", s)]],
        capture_output=True, text=True, check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    doc = json.loads(out.stdout)
    return next(iter(doc["initiatives"].values()))["completion_rate"]["estimate"]


def _not_blank(path: Path) -> None:
    import matplotlib.image

    img = (matplotlib.image.imread(path)[..., :3] * 255).astype(np.uint8)
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    ink = float((img.min(axis=2) < 245).mean())
    assert colours > 200, colours
    assert ink > 0.05, ink


def test_live_app(browser, server, scenario_file, tmp_path):
    url, save = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(url)
    base = run(load_scenario(scenario_file), reps=REPS, seed=SEED).completion_rate
    base_txt = page.locator("#completion-base")
    base_txt.wait_for()
    assert base_txt.inner_text().startswith(_pct(base))
    provenance = page.locator(".rs-num p").first.inner_text()
    assert f"seed {SEED}, random streams v{STREAM_VERSION}" in provenance, provenance
    # the description is text, not markup
    assert page.locator("#rs-description").inner_text() == DESCRIPTION
    assert page.locator("#inject").count() == 0
    # so is the name, in the heading and the window title
    assert NAME in page.locator("h1").first.inner_text()
    assert NAME in page.title()
    assert page.locator("#inject-name").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
    assert page.locator("#rs-engine").count() == 1

    # the classroom-rehearsal control: the same number as `relaysim run --set`
    want = _pct(_cli_rate(scenario_file, "zones.classroom.rehearsed=true"))
    assert want != _pct(base)
    page.locator(".lever-zones-classroom-rehearsed input[type=checkbox]").check()
    variant = page.locator("#completion-variant")
    from playwright.sync_api import expect

    expect(variant).to_have_text(re.compile("^" + re.escape(want)), timeout=30_000)
    assert variant.inner_text().startswith(want)

    # Save variant writes a file that `relaysim validate` accepts
    page.locator(".rs-save-name input").fill("rehearse-classroom")
    page.locator(".rs-save button").click()
    page.locator("#rs-saved").wait_for()
    saved = save / "rehearse-classroom.toml"
    assert saved.exists()
    assert main(["validate", str(saved)]) == 0
    assert load_scenario(saved).get("zones.classroom.rehearsed") is True
    # a name that tries to leave the folder: an error on the page, nothing written
    page.locator(".rs-save-name input").fill("../escape")
    page.locator(".rs-save button").click()
    page.locator("#rs-error").wait_for()
    assert not (save.parent / "escape.toml").exists()

    # Add to report keeps the variant in the save folder's JSON
    page.locator(".rs-add-report button").click()
    page.locator("#rs-reported").wait_for()
    kept = json.loads((save / "explorer-variants.json").read_text(encoding="utf-8"))
    assert kept["variants"][-1]["changes"] == {"zones.classroom.rehearsed": True}

    # the curves are inline SVG, two lines each
    for fig in ("#fig-coverage", "#fig-time"):
        page.locator(fig).wait_for()
        assert page.locator(f"{fig} polyline.curve").count() == 2
    page.locator("#fig-relay").wait_for()
    shot = tmp_path / "explore.png"
    page.screenshot(path=str(shot), full_page=True)
    _not_blank(shot)

    # a bad lever value: an error on the page, never a traceback
    page.locator(".rs-other input").fill("zones.classroom.fumble = 1.5")
    page.locator(".rs-other-apply button").click()
    err = page.locator(".rs-error-pane #rs-error")
    err.wait_for()
    assert "zones.classroom.fumble" in err.inner_text()
    assert "Traceback" not in page.content()
    page.close()


def test_exported_page_works_offline(browser, tmp_path):
    out = tmp_path / "explorer.html"
    args = ["explore", str(MINIMAL), "--export", str(out), "--lever", "zones.classroom.rehearsed",
            "--lever", "zones.principal.fumble=0:0.4", "--grid", "2", "--reps", "40",
            "--workers", "1", "--quiet"]
    assert main(args) == 0
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:)", text), "a link to outside"
    assert re.search(rf"hash {load_scenario(MINIMAL).hash[:12]}, random\s+streams "
                     rf"v{STREAM_VERSION}\)", text), "provenance"
    assert (tmp_path / "explorer-grid" / "results.csv").exists()
    mtime = (tmp_path / "explorer-grid" / "store.sqlite").stat().st_mtime
    assert main(args) == 0  # resumed: the grid is not run again
    assert (tmp_path / "explorer-grid" / "store.sqlite").stat().st_mtime == mtime

    from relaysim.present.results import open_results

    rows = open_results(tmp_path / "explorer-grid").rows
    ctx = browser.new_context(offline=True)
    attempted: list[str] = []

    def abort(route):
        attempted.append(route.request.url)
        route.abort()

    ctx.route(lambda u: not u.startswith(("file:", "data:")), abort)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    # points run rehearsed-major: (no, 0), (no, 0.4), (yes, 0), (yes, 0.4)
    page.locator("#lever-0").fill("1")
    page.locator("#lever-1").fill("1")
    assert page.locator("#point").inner_text() == "3"
    assert rows[3]["values"] == {"zones.classroom.rehearsed": True,
                                 "zones.principal.fumble": 0.4}
    want = rows[3]["initiatives"]["reading"]["completion_rate"]
    assert page.locator("#completion").inner_text() == _pct(want)
    assert page.locator("#value-0").inner_text() == "yes"
    assert page.evaluate("() => document.getElementById('relay').naturalWidth") > 0
    assert attempted == [] and errors == []
    ctx.close()


def test_report_escapes_and_includes_kept_variants(scenario_file, tmp_path):
    """The HTML report escapes scenario names and descriptions and shows the variants a
    session kept with Add to report."""
    from relaysim.app.session import add_to_report
    from relaysim.study.sweep import sweep

    sc = load_scenario(scenario_file)
    ex = Explorer(sc, [], reps=30, seed=1, workers=1, save_dir=tmp_path, draw=False)
    try:
        v = ex.wait(ex.request({"zones.classroom.rehearsed": True}))
    finally:
        ex.close()
    kept = add_to_report(sc, v, "rehearse <i>classrooms</i>", tmp_path)
    folder = tmp_path / "sweep"
    sweep(sc, [{"zones.principal.fumble": 0.1}], reps=20, seed=1, out=folder, workers=1)
    out = tmp_path / "report.html"
    assert main(["report", str(folder), "-o", str(out), "--variants", str(kept)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<b id='inject'>" not in text and "<script>window" not in text
    assert "&lt;b id=&#x27;inject&#x27;&gt;" in text
    assert "<i id='inject-name'>" not in text and "&lt;i id=&#x27;inject-name" in text
    assert "id='variants'" in text and "rehearse &lt;i&gt;classrooms&lt;/i&gt;" in text
    assert f"random streams v{STREAM_VERSION}" in text  # the store's, in the footer
    saved = json.loads(kept.read_text(encoding="utf-8"))
    assert saved["variants"][0]["stream_version"] == STREAM_VERSION
    assert main(["report", str(folder), "-o", str(out), "--variants", str(scenario_file)]) == 2


def test_explorer_benchmark_quick(tmp_path):
    """benchmarks/explorer.py --quick runs and writes its JSON (timings never asserted)."""
    out = tmp_path / "explorer.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "explorer.py"), "--quick",
                           "--workers", "1", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "numbers" in proc.stdout and "dragged slider" in proc.stdout
    doc = json.loads(out.read_text())
    r = doc["result"]
    assert r["reps"] == 50 and r["engine"] and len(r["changes"]) >= 4
    assert all(c["numbers_s"] >= 0 and c["figures_s"] >= c["numbers_s"] for c in r["changes"])
    assert r["drag"]["shown_generations"][-1] == max(r["drag"]["shown_generations"])
