"""Golden outputs: `run --json` and a sweep's results.csv of every bundled scenario, as
sha256 digests stored in tests/golden.json.

A change that moves any number relaysim prints fails here. A restructure must leave every
digest unchanged; a deliberate change of the model or of the random streams regenerates
them (`python tests/test_golden.py --update`) in the same commit, and says so.
"""

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).with_name("golden.json")
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def outputs(path: Path, tmp: Path) -> dict[str, str]:
    """Digests of the run JSON (40 replications, seed 3) and of a two-point sweep's
    results.csv (30 replications, seed 2) of one scenario, both on one worker."""
    import relaysim
    from relaysim.study.designs import make_design, parse_vary

    sc = relaysim.load_scenario(path)
    res = relaysim.run(sc, reps=40, seed=3, workers=1)
    doc = json.loads(res.to_json())
    # where it was read from, which release, which engine (both give the same numbers)
    for k in ("source", "relaysim_version", "engine"):
        doc.pop(k, None)
    design = make_design([parse_vary("effects.load=1.0:1.5:2", sc)], design="grid")
    sw = relaysim.sweep(sc, design, reps=30, seed=2, out=tmp / path.stem, workers=1)
    return {
        "run": hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest(),
        "per_rep": hashlib.sha256(res.per_rep_csv().replace(
            relaysim.__version__, "VERSION").encode()).hexdigest(),
        "results_csv": hashlib.sha256(sw.results_csv.read_bytes()).hexdigest(),
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_outputs_match_the_golden_digests(path: Path, tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert path.stem in golden, f"no golden digests for {path.name}: run --update"
    assert outputs(path, tmp_path) == golden[path.stem]


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_golden.py --update")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        doc = {p.stem: outputs(p, Path(d)) for p in SCENARIOS}
    GOLDEN.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
