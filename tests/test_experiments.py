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

import pytest

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
    "trust_currency",
]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: experiments whose headline numbers include a paired completion effect
COMPLETION_EFFECTS = ("baton_vs_speed", "structures", "weakest_zone")
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
