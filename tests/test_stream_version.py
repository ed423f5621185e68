"""The random streams version is recorded wherever results are (run --json, the per-rep
CSV, manifest.json, the sweep store), and a store written with other streams is never
continued."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

import relaysim
from relaysim import UsageError, load_scenario
from relaysim.cli import main
from relaysim.engines.keyed import STREAM_VERSION
from relaysim.study.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"
TRUST = "levels.principal.trust"


@pytest.fixture(scope="module")
def minimal() -> relaysim.Scenario:
    return load_scenario(MINIMAL)


def test_stream_version_is_3():
    assert STREAM_VERSION == 3


def test_run_json_and_per_rep_csv(capsys, tmp_path):
    per_rep = tmp_path / "reps.csv"
    rc = main(["run", str(MINIMAL), "--reps", "5", "--workers", "1", "--json",
               "--per-rep", str(per_rep)])
    assert rc in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["stream_version"] == 3
    keys = list(doc)
    assert keys.index("stream_version") == keys.index("relaysim_version") + 1
    rows = list(csv.DictReader(io.StringIO(per_rep.read_text(encoding="utf-8"))))
    assert rows and all(r["stream_version"] == "3" for r in rows)


def test_api_summary_compare_and_trace(minimal):
    res = relaysim.run(minimal, reps=3, seed=1, workers=1)
    assert res.summary["stream_version"] == 3
    assert all(r["stream_version"] == 3 for r in res.per_rep_rows())
    assert json.loads(relaysim.trace(minimal, seed=1, rep=0).to_json())["stream_version"] == 3
    assert relaysim.compare(minimal, minimal, reps=3, seed=1, workers=1)["stream_version"] == 3


def _points():
    return [{TRUST: 0.3}, {TRUST: 0.6}]


def test_manifest_and_store_identity(minimal, tmp_path):
    sweep(minimal, _points(), reps=4, seed=2, out=tmp_path, workers=1)
    m = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert m["stream_version"] == 3
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["stream_version"]) == 3


def _set_store_stream_version(store: Path, value: int | None) -> None:
    """Rewrite the store's recorded stream version, checkpointed into the file and closed
    (an open connection would fold its WAL into the file later, at an unknown moment)."""
    db = sqlite3.connect(store)
    try:
        with db:
            db.execute("DELETE FROM meta WHERE key = 'stream_version'")
            if value is not None:
                db.execute("INSERT INTO meta (key, value) VALUES ('stream_version', ?)",
                           (json.dumps(value),))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


@pytest.mark.parametrize("old", [None, 1, 2])
def test_resume_refuses_a_store_of_other_streams(minimal, tmp_path, old):
    """A store without stream_version (written before it was recorded: version 1) or with
    another one is refused on --resume, with a message naming both versions; the store and
    results are left alone."""
    out = tmp_path / "sw"
    sweep(minimal, _points(), reps=4, seed=2, out=out, workers=1, chunk_size=2)
    store = out / "store.sqlite"
    _set_store_stream_version(store, old)
    before = store.read_bytes()
    with pytest.raises(UsageError) as e:
        sweep(minimal, _points(), reps=8, seed=2, out=out, workers=1, chunk_size=2,
              resume=True)
    msg = str(e.value)
    assert f"random streams version {old if old is not None else 1}" in msg
    assert "this relaysim uses 3" in msg
    assert "without --resume" in msg and "new --out" in msg
    assert store.read_bytes() == before


def test_cli_resume_refusal_is_a_usage_error(capsys, minimal, tmp_path):
    out = tmp_path / "sw"
    sweep(minimal, _points(), reps=4, seed=0, out=out, workers=1, chunk_size=2)
    _set_store_stream_version(out / "store.sqlite", None)
    rc = main(["sweep", str(MINIMAL), "--vary", f"{TRUST}=0.3,0.6", "--reps", "4",
               "--chunk-size", "2", "--workers", "1", "--out", str(out), "--resume"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "random streams version 1" in err and "uses 3" in err


def test_resume_same_streams_still_works(minimal, tmp_path):
    out = tmp_path / "sw"
    sweep(minimal, _points(), reps=4, seed=2, out=out, workers=1, chunk_size=2)
    res = sweep(minimal, _points(), reps=4, seed=2, out=out, workers=1, chunk_size=2,
                resume=True)
    assert res.reps_run == 0


def test_text_outputs_name_the_streams(minimal, capsys):
    """What `run` and `compare` print names the streams next to the seed (sensitivity's
    text: tests/test_sensitivity.py)."""
    from relaysim.study.compare import compare_text

    assert main(["run", str(MINIMAL), "--reps", "5", "--workers", "1"]) in (0, None)
    head = capsys.readouterr().out.splitlines()[0]
    assert head.endswith(f"5 replications, seed 0 | random streams v{STREAM_VERSION}"), head
    cmp = relaysim.compare(minimal, minimal, reps=3, seed=1, workers=1)
    assert f"seed 1, random streams v{STREAM_VERSION}" in compare_text(cmp).splitlines()[0]
