"""The experiment scripts: each runs with --quick, writes its outputs, and its headline
numbers lie within the ranges its summary claims for them.

Each test runs `python experiments/NAME.py --quick --out TMP --workers 1` from the
repository root in a subprocess (as a user would), then reads TMP/results.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import relaysim
from relaysim.engines.keyed import STREAM_VERSION

ROOT = Path(__file__).resolve().parent.parent

EXPERIMENTS = [
    "baton_vs_speed",
    "weakest_zone",
    "tank_and_overload",
    "checkpoint_timing",
    "practice_the_pass",
    "turnover_and_succession",
    "structures",
    "calibration",
    "relay_4x100",
    "failure_conditions",
    "sharing_wins",
    "robust_answers",
    "trust_currency",
]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: experiments whose headline numbers include a paired completion effect
COMPLETION_EFFECTS = ("baton_vs_speed", "structures", "weakest_zone", "robust_answers",
                      "tank_and_overload")
QUICK_SECONDS = 60  # what --quick promises on a free two-core machine
HARD_TIMEOUT = 600  # a run this long is hung, not slow


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_quick_run(name: str, tmp_path: Path) -> None:
    """--quick exits 0, writes summary.md, results.json and every figure, and every
    headline number lies within its claimed range."""
    script = ROOT / "experiments" / f"{name}.py"
    if not script.exists():
        pytest.skip(f"experiments/{name}.py does not exist yet")
    out = tmp_path / name
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, f"experiments/{name}.py", "--quick", "--out", str(out),
         "--workers", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=HARD_TIMEOUT, check=False)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, f"{name} failed:\n{proc.stderr[-4000:]}"
    if elapsed > QUICK_SECONDS:
        warnings.warn(f"{name} --quick took {elapsed:.0f} s (promised under "
                      f"{QUICK_SECONDS} s; a busy machine is slower)", stacklevel=1)

    summary = out / "summary.md"
    results = out / "results.json"
    assert summary.is_file(), "summary.md not written"
    assert results.is_file(), "results.json not written"
    data = json.loads(results.read_text(encoding="utf-8"))
    text = summary.read_text(encoding="utf-8")
    assert data["experiment"] == name
    assert data["quick"] is True
    assert data["answer"] and data["answer"] in proc.stdout, "the answer is not printed"

    assert data["figures"], "no figure listed in results.json"
    for fig in data["figures"]:
        path = out / fig
        assert path.is_file(), f"figure {fig} listed but not written"
        assert path.read_bytes()[:8] == PNG_MAGIC, f"{fig} is not a PNG"
        assert f"]({fig})" in text, f"summary.md does not show {fig}"

    assert data["headlines"], "no headline numbers"
    for key, h in data["headlines"].items():
        lo, hi = h["claim"]
        assert lo < hi, f"{key}: empty claimed range {h['claim']}"
        assert f"`{key}`" in text, f"summary.md does not state the headline {key}"
        assert lo <= h["value"] <= hi, (
            f"{name}: {key} = {h['value']:.4g} lies outside its claimed range "
            f"[{lo:g}, {hi:g}] ({h['what']})")
        assert h["holds"] is True
        if "coverage" in h:  # a completion effect states its coverage effect (issue 12)
            c_lo, c_hi = h["coverage"]["ci95"]
            assert c_lo <= h["coverage"]["value"] <= c_hi, (key, h["coverage"])
    # provenance: replications, the scenario files' hashes, version and commit
    assert data["reps"] and all(isinstance(n, int) and n > 0 for n in data["reps"])
    assert data["scenario_hashes"] and data["relaysim_version"]
    assert data["stream_version"] == STREAM_VERSION
    assert f"random streams v{STREAM_VERSION}" in text
    for file, digest in data["scenario_hashes"].items():
        assert digest[:12] in text and file in text
    assert "git_commit" in data
    if name in COMPLETION_EFFECTS:
        assert any("coverage" in h for h in data["headlines"].values()), \
            f"{name}: no completion headline states its coverage effect"
        assert "coverage effect (points, 95% CI)" in text


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers: must be >= 1"),
    (["--seed", "-1"], "--seed: must be >= 0"),
    (["--seed", "x"], "expected a whole number"),
    (["--out", "FILE"], "cannot create the folder"),
])
def test_experiment_bad_options_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    """Bad options end with a one-line error and exit status 2, never a traceback, and
    before any work is done."""
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    args = [str(afile) if a == "FILE" else a for a in args]
    proc = subprocess.run([sys.executable, "experiments/relay_4x100.py", "--quick", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert afile.read_text() == "keep me"


def test_experiment_relaysim_error_exits_2(tmp_path: Path) -> None:
    """A relaysim error inside an experiment (here: a sensitivity store left by another
    design in --out) is one line on stderr and exit status 2."""
    out = tmp_path / "wz"
    (out / "sensitivity" / "sobol").mkdir(parents=True)
    (out / "sensitivity" / "sobol" / "store.sqlite").write_bytes(b"not a database" * 100)
    proc = subprocess.run([sys.executable, "experiments/weakest_zone.py", "--quick",
                           "--workers", "1", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr


# ------------------------------------------- robust_answers and its helpers in _common


@pytest.fixture(scope="module")
def common():
    """experiments/_common.py and robust_answers.py, imported as the scripts import them."""
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        import _common
        import robust_answers
        yield _common, robust_answers
    finally:
        sys.path.remove(str(ROOT / "experiments"))


def test_effect_ranges_follow_their_rule(common) -> None:
    """Each odds effect's range holds its default, lies in the parameter's range and is the
    stated rule: the log-odds effect times 0.5 to 1.5 (odds factors rounded outwards to two
    decimals); every range says why."""
    from relaysim.model.schema import EFFECTS_SPEC
    c, _ = common
    assert set(c.EFFECT_RANGES) == {f"effects.{k}" for k in
                                    ("trust", "clarity", "rehearsal", "checkpoint", "load",
                                     "tank")}
    for path, r in c.EFFECT_RANGES.items():
        spec = EFFECTS_SPEC[path.split(".")[1]]
        assert spec.lo < r.low < spec.default < r.high, path
        assert "ASSUMPTION" in r.why
        if path.split(".")[1] in ("trust", "clarity", "tank"):
            assert (r.low, r.high) == pytest.approx((0.5 * spec.default, 1.5 * spec.default))
        else:
            ends = sorted((spec.default ** 0.5, spec.default ** 1.5))
            assert r.low <= ends[0] < r.low + 0.01 and r.high - 0.01 < ends[1] <= r.high, path


def test_effects_drawn_pair_the_variants(common) -> None:
    """Two variants drawn with one seed draw the same effects in each replication (common
    random numbers), inside the ranges; effect_vectors are those draws."""
    from relaysim.engines.realize import replication_values
    c, _ = common
    base = relaysim.load_scenario(ROOT / "scenarios" / "baseline.toml")
    a = c.effects_drawn(base)
    b = c.effects_drawn(base.with_values({"zones.coach.fumble": 0.06}))
    vecs = c.effect_vectors(base, 20, seed=3)
    assert len(vecs) == 20 and len({v["effects.trust"] for v in vecs}) == 20
    for rep in range(20):
        va = replication_values(a, 3, rep)
        assert va == replication_values(b, 3, rep) == vecs[rep]
        for path, r in c.EFFECT_RANGES.items():
            assert r.low <= va[path] <= r.high
    assert replication_values(a, 4, 0) != vecs[0]


def test_contrast_effect_uses_the_paired_intervals(common) -> None:
    """A B - A contrast is _common.paired (Tango for completion); a wider contrast is
    intervals.paired_means on the weighted sums, replication by replication."""
    from relaysim.study.intervals import paired_means
    c, _ = common
    base = relaysim.load_scenario(ROOT / "scenarios" / "baseline.toml")
    scs = {"a": base, "b": base.with_values({"zones.classroom.fumble": 0.05}),
           "c": base.with_values({"zones.coach.fumble": 0.05})}
    runs = {k: relaysim.run(sc, reps=60, seed=1, workers=1) for k, sc in scs.items()}
    two = c.contrast_effect(runs, c.Contrast("b_a", "b - a", {"b": 1, "a": -1}, +1))
    assert two == c.paired(runs["a"], runs["b"])
    assert two["method"] == "tango-score"
    w = {"b": 1, "c": 1, "a": -2}
    got = c.contrast_effect(runs, c.Contrast("bc_2a", "b + c - 2a", w, +1, "coverage"))
    cov = {k: c.per_rep(r, "coverage") for k, r in runs.items()}
    want = paired_means(2 * cov["a"], cov["b"] + cov["c"], max_abs_difference=2)
    assert got["difference"] == pytest.approx(float(np.mean(cov["b"] + cov["c"] - 2 * cov["a"])))
    assert got["ci95"] == list(want.ci) and got["method"] == want.method


def test_share_of_draws_counts_and_bounds(common) -> None:
    """Draws are counted by their intervals' side; Wilson intervals come with the shares;
    a tie holds where the interval includes 0."""
    c, ra = common
    assert [c.resolved_sign({"ci95": ci}) for ci in ([0.1, 0.2], [-0.2, -0.1], [-0.1, 0.1])] \
        == [1, -1, 0]
    s = c.share_of_draws([1] * 7 + [0] * 2 + [-1], claim=+1)
    assert (s["k"], s["holds"], s["reversed"], s["unresolved"]) == (10, 0.7, 0.1, 0.2)
    assert s["holds_ci95"][0] < 0.7 < s["holds_ci95"][1]
    assert c.share_of_draws([1] * 7 + [0] * 2 + [-1], claim=-1)["holds"] == 0.1
    tie = c.share_of_draws([0] * 8 + [1, -1], claim=0)
    assert (tie["holds"], tie["reversed"], tie["positive"], tie["negative"]) == (0.8, 0.2, 1, 1)
    # survival: the pooled interval's side, and no more reversals than chance
    sh = c.share_of_draws([1] * 50, claim=+1)
    assert ra.survival({"ci95": [0.01, 0.02]}, sh, +1) == "survives"
    assert ra.survival({"ci95": [-0.01, 0.02]}, sh, +1) == "not resolved over the ranges"
    assert ra.survival({"ci95": [-0.02, -0.01]}, sh, +1) == "reversed"
    some = c.share_of_draws([1] * 40 + [-1] * 10, claim=+1)
    assert ra.survival({"ci95": [0.01, 0.02]}, some, +1).startswith("survives on average")
    assert ra.survival({"ci95": [-0.01, 0.02]}, c.share_of_draws([0] * 50, 0), 0) == "survives"
    assert ra.survival({"ci95": [0.01, 0.02]}, tie, 0).startswith("broken")


def test_headline_comparisons_match_the_experiments(common) -> None:
    """Each experiment's `headline` gives the variants its own main runs and contrasts over
    them with the claimed signs its answer states."""
    _, ra = common
    base = relaysim.load_scenario(ROOT / "scenarios" / "baseline.toml")
    claims = {}
    for name, (fn, _pool, _vec) in ra.PARTS.items():
        variants, contrasts = fn(base)
        for con in contrasts:
            assert set(con.weights) <= set(variants), (name, con.key)
            assert sum(con.weights.values()) == 0, (name, con.key)  # a contrast
            claims[f"{name}.{con.key}"] = con.claim
    assert claims["baton_vs_speed.handoffs_minus_speed"] == 1
    assert claims["weakest_zone.classroom_minus_principal"] == 1
    assert claims["weakest_zone.classroom_minus_coach"] == 0
    assert claims["practice_the_pass.interaction_completion"] == -1
    v, _ = ra.PARTS["baton_vs_speed"][0](base)
    assert v["handoffs"].get("zones.classroom.fumble") == pytest.approx(0.15 * 0.7)
    assert v["speed"].get("zones.classroom.fumble") == pytest.approx(0.15)


def test_figure_note_names_what_made_it(common, tmp_path: Path) -> None:
    """An experiment's figure note: its own text, then (one scenario file) the scenario's
    hash, the relaysim version and the random streams; with several files, no hash."""
    common, _ = common
    import matplotlib.pyplot as plt

    ex = common.Experiment("x", "doc", True, tmp_path, 0, 1)
    sc = ex.scenario("minimal.toml")
    fig = plt.figure()
    ex.note(fig, "40 replications, seed 0")
    assert fig._supxlabel.get_text().splitlines() == [
        "40 replications, seed 0", f"scenario {sc.hash[:12]}, relaysim {relaysim.__version__}, "
        f"random streams v{STREAM_VERSION}"]
    ex.scenario("baseline.toml")
    ex.note(fig, "y")
    assert fig._supxlabel.get_text().splitlines()[1] == (
        f"relaysim {relaysim.__version__}, random streams v{STREAM_VERSION}")
    plt.close(fig)
    # a long note on a narrow figure wraps instead of running off its left edge
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5), layout="constrained")
    FigureCanvasAgg(fig)
    fig.subplots()
    words = "1000 replications per variant and draw; pooled band: 12000 replications " * 3
    ex.note(fig, words.strip(), fontsize=9)
    fig.canvas.draw()
    box = fig._supxlabel.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width + 1, (box, fig.bbox)
    assert len(fig._supxlabel.get_text().splitlines()) >= 3
