"""The engine benchmark runs end to end (`--quick`) and writes its JSON; timings are never
asserted, only that every figure is there and that relaysim and the bare loop agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "engine.py"


def test_engine_benchmark_quick_writes_expected_json(tmp_path: Path) -> None:
    """`benchmarks/engine.py --quick --out F` exits 0, prints the table and fills F."""
    out = tmp_path / "engine.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "relaysim/bare" in proc.stdout and "Scaling" in proc.stdout

    doc = json.loads(out.read_text())
    assert doc["mode"] == "quick"
    for key in ("timestamp", "seed", "machine", "engine", "workers", "scaling", "ratios",
                "load_start", "load_end", "wall_seconds", "sanity_passed"):
        assert key in doc, key
    for key in ("python", "simpy", "numpy", "relaysim", "cpu_count", "platform"):
        assert key in doc["machine"], key

    eng = doc["engine"]
    for who in ("relaysim", "bare"):
        assert eng[who]["reps_per_s_best"] > 0
        assert len(eng[who]["seconds"]) == eng[who]["repeats"]
    assert eng["ratio_best"] > 0 and eng["ratio_median"] > 0
    assert eng["sanity"]["passed"] and doc["sanity_passed"]
    assert {c["quantity"].split(" (")[0] for c in eng["sanity"]["checks"]} >= {
        "classrooms implemented per rep", "exchange attempts per rep"}

    w = doc["workers"]
    assert w["workers_1"]["reps_per_s_best"] > 0 and w["workers_2"]["reps_per_s_best"] > 0
    assert w["speedup_best"] > 0
    assert w["identical_results"]  # the result does not depend on the worker count

    assert [r["schools"] for r in doc["scaling"]] == [5, 20, 80, 320]
    for r in doc["scaling"]:
        assert r["runners"] == 1 + r["schools"] * (1 + 3 + 24)
        assert r["relaysim_s_per_rep"] > 0 and r["relaysim_us_per_runner"] > 0
    assert set(doc["ratios"]) >= {"relaysim_over_bare", "workers2_over_workers1"}
