"""A run's outcomes travel as columns (study/columns.py): folded chunk by chunk, in any
chunk order, they rebuild exactly the records the engines gave, and the summary does not
depend on the chunking."""

from __future__ import annotations

import pytest

from relaysim import load_scenario, run
from relaysim.engines import select
from relaysim.study.columns import ColumnBuilder, columns_of
from relaysim.study.result import RunResult


@pytest.mark.parametrize("name", ["minimal", "overloaded", "baseline"])
def test_columns_rebuild_the_records_exactly(name):
    sc = load_scenario(f"scenarios/{name}.toml")
    recs = select.chunk_runner("fast")(sc, 4, 0, 30)
    b = ColumnBuilder(4, len(sc.levels))
    for a in (20, 10, 0):  # chunks out of order
        b.add(recs[a:a + 10])
    # repr: NaN fidelities (nothing reached) are equal only by their text
    assert repr(b.finish().replications()) == repr(recs)
    res = run(sc, reps=30, seed=4, workers=1, chunk_size=7, engine="fast")
    assert repr(res.replications) == repr(recs)
    assert res.summary == RunResult(sc, 4, 30, replications=recs, engine="fast").summary
    assert res.per_rep_csv() == RunResult(sc, 4, 30, replications=recs).per_rep_csv()


def test_empty_and_stream_only_columns():
    sc = load_scenario("scenarios/minimal.toml")
    cols = columns_of([], 0, len(sc.levels))
    assert cols.n_reps == 0 and cols.replications() == []


def test_probe_chooses_chunks_from_cost_and_keeps_the_probe_replications(monkeypatch):
    """The default chunk size comes from timing the first replications (kept, reported
    to progress); the result is the same as with any fixed chunk size."""
    from relaysim.study import run as run_mod

    sc = load_scenario("scenarios/minimal.toml")
    b = ColumnBuilder(2, len(sc.levels))
    done, size = run_mod.probe_chunk_size(sc, 2, 400, 2, "fast", b)
    assert 1 <= done <= 50 and 1 <= size <= 44  # at most a quarter of a worker's share
    assert b.finish().n_reps == done
    monkeypatch.setattr(run_mod, "TASK_SECONDS", 1e-9)  # costly replications: chunks of 1
    assert run_mod.probe_chunk_size(sc, 2, 400, 2, "fast", ColumnBuilder(2, 3))[1] == 1
    seen = []
    res = run(sc, reps=97, seed=2, workers=1, engine="fast", progress=seen.append)
    assert sum(seen) == 97 and len(seen) > 1
    assert res.summary == run(sc, reps=97, seed=2, workers=1, chunk_size=97,
                              engine="fast").summary


@pytest.mark.parametrize("path", sorted(__import__("glob").glob("scenarios/*.toml")))
def test_fast_engine_columns_equal_the_columns_of_its_records(path):
    """The fast engine's arrays (no record objects) give exactly the columns of the
    records: the same rebuilt records, summary and per-rep CSV."""
    from relaysim.study.columns import _direct, chunk_columns

    sc = load_scenario(path)
    recs = select.chunk_runner("fast")(sc, 3, 5, 45)
    a, b = ColumnBuilder(3, len(sc.levels)), ColumnBuilder(3, len(sc.levels))
    a.add_chunk(chunk_columns(recs))
    b.add_chunk(_direct(sc, 3, 5, 25, "fast"))
    b.add_chunk(_direct(sc, 3, 25, 45, "fast"))
    ca, cb = a.finish(), b.finish()
    assert repr(cb.replications()) == repr(recs)
    for k in ca.init:
        assert ca.init[k].dtype == cb.init[k].dtype, k
    ra = RunResult(sc, 3, 40, engine="fast", columns=ca)
    rb = RunResult(sc, 3, 40, engine="fast", columns=cb)
    assert ra.to_json() == rb.to_json() and ra.per_rep_csv() == rb.per_rep_csv()


@pytest.mark.parametrize("name", ["baseline", "overloaded", "minimal"])
def test_sweep_chunks_from_the_fast_engines_arrays_equal_those_from_records(name):
    """compact_chunk (what a sweep stores) straight from the fast engine's arrays is the
    same document, value for value and type for type, as from Replication records."""
    import json

    from relaysim.engines import fast
    from relaysim.study.summary import compact_chunk, outcome_columns

    sc = load_scenario(f"scenarios/{name}.toml")
    got = compact_chunk(sc, 5, 3, 40, engine="fast")
    recs = fast.simulate_chunk(sc, 5, 3, 40)
    want = outcome_columns(recs, len(sc.levels) - 1)
    assert json.dumps(got["initiatives"]) == json.dumps(want)
