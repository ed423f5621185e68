"""Sweeps: designs, the resumable store, executors, retries, adaptive precision, the CLI.

The promise under test (INTERFACE.md, "sweep outputs"): results.csv is computed from the
store in replication order, so it is the same byte for byte whatever the number of
workers, the chunk size, the executor (process pool, Dask), and however often the sweep
was interrupted and resumed. Bad input ends in a message and exit status 2, never a
traceback, and nothing already written is lost.

Everything runs on small scenarios with few replications; each Dask cluster is started
once per module (two processes for the byte-for-byte check, two in-process threads for
the retry check).
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _cli import cli, sub_env

import relaysim
import relaysim.study.sweep as sweep_mod
from relaysim import UsageError, load_scenario
from relaysim.present.results import load_results
from relaysim.study.compare import compare
from relaysim.study.designs import make_design, parse_vary, read_design_csv
from relaysim.study.intervals import precision_half_width
from relaysim.study.store import Store
from relaysim.study.summary import summarize_point
from relaysim.study.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"
#: the folder holding the relaysim this test process imported: subprocesses and Dask
#: workers must import the same one (an installed copy elsewhere would be tested instead)
PKG_ROOT = Path(relaysim.__file__).resolve().parents[1]

TRUST = "levels.principal.trust"
FUMBLE = "zones.principal.fumble"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def minimal() -> relaysim.Scenario:
    """The example scenario (three levels, one initiative)."""
    return load_scenario(MINIMAL)




def grid(scenario: relaysim.Scenario, *specs: str) -> list[dict[str, Any]]:
    """Grid design points from --vary specs."""
    return make_design([parse_vary(s, scenario) for s in specs], "grid")


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def half_width(row: dict[str, str], name: str = "reading") -> float:
    return (float(row[f"{name}.ci_high"]) - float(row[f"{name}.ci_low"])) / 2


def count_ok(store: Path) -> int | None:
    """Chunks stored so far, read-only; None while the store is busy or not there yet."""
    if not store.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.2)
        try:
            return int(db.execute(
                "SELECT COUNT(*) FROM chunks WHERE status = 'ok'").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:  # 'database is locked', no table yet, ...
        return None


class Stop(Exception):
    """Raised from a progress callback to interrupt a sweep."""


# --------------------------------------------------------------------------- designs


def test_grid_is_the_cartesian_product_keeping_ints_and_booleans(minimal):
    """A grid holds every combination; whole numbers stay int, booleans stay bool."""
    params = [parse_vary("levels.principal.capacity=1:4:4", minimal),
              parse_vary("zones.principal.rehearsed=true,false", minimal),
              parse_vary(f"{TRUST}=0.2:0.8:3", minimal)]
    pts = make_design(params, "grid")
    assert len(pts) == 4 * 2 * 3
    caps = [p["levels.principal.capacity"] for p in pts]
    assert sorted(set(caps)) == [1, 2, 3, 4]
    assert all(type(c) is int for c in caps)
    assert {p["zones.principal.rehearsed"] for p in pts} == {True, False}
    assert all(type(p["zones.principal.rehearsed"]) is bool for p in pts)
    assert all(type(p[TRUST]) is float for p in pts)
    assert sorted({p[TRUST] for p in pts}) == pytest.approx([0.2, 0.5, 0.8])
    combos = {(p["levels.principal.capacity"], p["zones.principal.rehearsed"], p[TRUST])
              for p in pts}
    assert len(combos) == len(pts)  # no duplicates: the full product
    # a list of whole numbers for a whole-number path stays whole
    assert parse_vary("levels.principal.count=2,3.0", minimal).values == (2, 3)
    assert all(type(v) is int for v in parse_vary("levels.principal.count=2,3.0",
                                                  minimal).values)


@pytest.mark.parametrize("design, n", [("lhs", 10), ("sobol", 16)])
def test_lhs_and_sobol_cover_their_ranges(minimal, design, n):
    """Each of n equal strata of every range holds exactly one point (LHS by design; the
    first 2^m scrambled Sobol points are a net, so every 1-D projection is stratified)."""
    params = [parse_vary(f"{TRUST}=0.2:0.8:3", minimal),
              parse_vary(f"{FUMBLE}=0.0:0.3:2", minimal)]
    pts = make_design(params, design, samples=n, seed=5)
    assert len(pts) == n
    for p in params:
        xs = [pt[p.path] for pt in pts]
        assert all(p.lo <= x <= p.hi for x in xs)
        strata = sorted(min(int((x - p.lo) / (p.hi - p.lo) * n), n - 1) for x in xs)
        assert strata == list(range(n)), (p.path, xs)
    assert make_design(params, design, samples=n, seed=5) == pts
    assert make_design(params, design, samples=n, seed=6) != pts


def test_sobol_needs_a_power_of_two(minimal, capsys, tmp_path):
    """A Sobol design with a non-power-of-two --samples is a usage error naming the fix."""
    with pytest.raises(UsageError, match="power of two"):
        make_design([parse_vary(f"{TRUST}=0.2:0.8:3", minimal)], "sobol", samples=6)
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--vary", f"{TRUST}=0.2:0.8:3",
                     "--design", "sobol", "--samples", 6, "--reps", 5, "--workers", 1,
                     "--out", tmp_path / "o")
    assert rc == 2
    assert "power of two" in err and "--samples 6" in err and "try 4 or 8" in err
    assert "Traceback" not in err


def test_design_csv_points(minimal, capsys, tmp_path):
    """A CSV of dotted paths gives one point per row with the scenario's types; a sweep
    runs it; a header naming no parameter is an error listing the nearest paths."""
    f = tmp_path / "points.csv"
    f.write_text("levels.principal.capacity,zones.principal.rehearsed,"
                 f"{TRUST}\n1,true,0.5\n2,false,1\n\n", encoding="utf-8")
    pts = read_design_csv(f, minimal)
    assert pts == [{"levels.principal.capacity": 1, "zones.principal.rehearsed": True,
                    TRUST: 0.5},
                   {"levels.principal.capacity": 2, "zones.principal.rehearsed": False,
                    TRUST: 1.0}]
    assert type(pts[1][TRUST]) is float and type(pts[1]["levels.principal.capacity"]) is int
    out = tmp_path / "run"
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--design", f, "--reps", 8, "--workers", 1,
                     "--out", out)
    assert rc == 0, err
    rows = csv_rows(out / "results.csv")
    assert [(r["levels.principal.capacity"], r["zones.principal.rehearsed"], r[TRUST],
             r["reps"]) for r in rows] == [("1", "true", "0.5", "8"), ("2", "false", "1", "8")]

    bad = tmp_path / "bad.csv"
    bad.write_text("levels.principal.capacty\n2\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"levels\.principal\.capacity"):
        read_design_csv(bad, minimal)
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--design", bad, "--reps", 5, "--workers", 1,
                     "--out", tmp_path / "bad")
    assert rc == 2
    assert "levels.principal.capacty" in err and "nearest valid paths" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- same bytes


def test_results_identical_for_workers_and_chunk_sizes(minimal, tmp_path):
    """results.csv is byte-identical for 1 or 2 worker processes and any chunk size."""
    pts = grid(minimal, f"{TRUST}=0.3,0.7", f"{FUMBLE}=0.1,0.2")
    r1 = sweep(minimal, pts, reps=40, seed=2, out=tmp_path / "w1", workers=1, chunk_size=10)
    r2 = sweep(minimal, pts, reps=40, seed=2, out=tmp_path / "w2", workers=2, chunk_size=10)
    r3 = sweep(minimal, pts, reps=40, seed=2, out=tmp_path / "c7", workers=1, chunk_size=7)
    text = r1.results_csv.read_bytes()
    assert r2.results_csv.read_bytes() == text
    assert r3.results_csv.read_bytes() == text
    assert [r["reps"] for r in r1.rows] == [40] * 4
    assert r1.reps_run == r2.reps_run == r3.reps_run == 160
    # and a point's row agrees with a plain run of that point
    res = json.loads(relaysim.run(minimal.with_values(pts[0]), reps=40, seed=2,
                                  workers=1).to_json())
    first = csv_rows(r1.results_csv)[0]
    assert float(first["reading.completion_rate"]) == pytest.approx(
        res["initiatives"]["reading"]["completion_rate"]["estimate"])


@pytest.fixture(scope="module")
def dask_client():
    """A two-process Dask cluster on loopback, closed after the module."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed "
                        "(pip install 'relaysim[dask]'); the Dask executor is not tested")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           env={"PYTHONPATH": sub_env()["PYTHONPATH"]})
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_results_identical_on_dask(minimal, tmp_path, dask_client):
    """A Dask LocalCluster's executor writes the same results.csv as one local process."""
    where = dask_client.run(lambda: str(Path(relaysim.__file__).resolve().parents[1]))
    assert set(where.values()) == {str(PKG_ROOT)}  # workers run this relaysim
    pts = grid(minimal, f"{TRUST}=0.3,0.7", f"{FUMBLE}=0.1,0.2")
    local = sweep(minimal, pts, reps=30, seed=4, out=tmp_path / "local", workers=1,
                  chunk_size=10)
    dask = sweep(minimal, pts, reps=30, seed=4, out=tmp_path / "dask",
                 executor=dask_client.get_executor(), chunk_size=10)
    assert dask.failed == []
    assert dask.results_csv.read_bytes() == local.results_csv.read_bytes()


# --------------------------------------------------------------------------- resume


def test_killed_sweep_resumes_to_the_same_bytes(capsys, tmp_path):
    """SIGKILL a CLI sweep mid-way; --resume writes results.csv identical to a sweep never
    interrupted."""
    args = ["sweep", str(MINIMAL), "--set", "levels.principal.count=10",
            "--set", "levels.classroom.count=10", "--vary", f"{TRUST}=0.3,0.6,0.9",
            "--reps", "120", "--chunk-size", "6", "--seed", "3", "--workers", "1", "--quiet"]
    total = 3 * 120 // 6
    killed = tmp_path / "killed"
    store = killed / "store.sqlite"
    cmd = [sys.executable, "-m", "relaysim", *args, "--out", str(killed)]
    proc = subprocess.Popen(cmd, env=sub_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            n = count_ok(store)
            if n is not None and 3 <= n <= total - 10:
                break
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended (status {proc.returncode}) before it could be "
                            f"killed mid-way ({n} of {total} chunks): make it longer; "
                            f"{proc.stderr.read().decode()}")
            assert time.monotonic() < deadline, "the sweep stored no chunks in 60 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    n = count_ok(store)
    assert n is not None and 0 < n < total
    assert not (killed / "results.csv").exists()

    done = subprocess.run([*cmd, "--resume"], env=sub_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert count_ok(store) == total

    whole = tmp_path / "whole"
    rc, _, err = cli(capsys, *args, "--out", whole)
    assert rc == 0, err
    assert (killed / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()


def test_interrupted_sweep_runs_only_what_is_missing(minimal, tmp_path):
    """An interrupted sweep keeps its finished chunks; resuming runs only the rest and gives
    the same bytes as an uninterrupted sweep."""
    pts = grid(minimal, f"{TRUST}=0.3,0.7")
    clean = sweep(minimal, pts, reps=30, seed=1, out=tmp_path / "clean", workers=1,
                  chunk_size=5)
    seen = []

    def stop_after_four(n_reps: int, n_points: int) -> None:
        seen.append(n_reps)
        if len(seen) == 4:
            raise Stop

    out = tmp_path / "cut"
    with pytest.raises(Stop):
        sweep(minimal, pts, reps=30, seed=1, out=out, workers=1, chunk_size=5,
              progress=stop_after_four)
    assert count_ok(out / "store.sqlite") == 4
    with pytest.raises(UsageError, match="--resume"):  # never silently redone
        sweep(minimal, pts, reps=30, seed=1, out=out, workers=1, chunk_size=5)
    res = sweep(minimal, pts, reps=30, seed=1, out=out, workers=1, chunk_size=5, resume=True)
    assert res.reps_run == 60 - 4 * 5
    assert res.results_csv.read_bytes() == clean.results_csv.read_bytes()


def test_resume_with_nothing_left_rewrites_the_same_results(minimal, tmp_path):
    """--resume on a finished store runs nothing and writes the same results.csv again."""
    pts = grid(minimal, f"{TRUST}=0.3,0.7")
    first = sweep(minimal, pts, reps=20, seed=0, out=tmp_path, workers=1, chunk_size=10)
    before = first.results_csv.read_bytes()
    first.results_csv.write_text("scribbled over\n", encoding="utf-8")
    again = sweep(minimal, pts, reps=20, seed=0, out=tmp_path, workers=1, chunk_size=10,
                  resume=True)
    assert again.reps_run == 0
    assert again.results_csv.read_bytes() == before


def test_resume_with_other_worker_count(minimal, tmp_path):
    """A sweep started with one worker can be resumed with two (default chunk size)."""
    pts = grid(minimal, f"{TRUST}=0.3,0.7")
    clean = sweep(minimal, pts, reps=40, seed=0, out=tmp_path / "clean", workers=1)
    calls = []

    def stop_after_one(n_reps: int, n_points: int) -> None:
        calls.append(n_reps)
        raise Stop

    out = tmp_path / "cut"
    with pytest.raises(Stop):
        sweep(minimal, pts, reps=40, seed=0, out=out, workers=1, progress=stop_after_one)
    res = sweep(minimal, pts, reps=40, seed=0, out=out, workers=2, resume=True)
    assert res.results_csv.read_bytes() == clean.results_csv.read_bytes()


# --------------------------------------------------------------------------- failures


class FailingExecutor(ThreadPoolExecutor):
    """Runs tasks in threads; the task for chunk (TRUST == trust, start) raises its first
    `times` calls. Counts calls per (trust, start)."""

    def __init__(self, trust: float, start: int, times: float = math.inf) -> None:
        super().__init__(max_workers=2)
        self.target, self.times = (trust, start), times
        self.calls: dict[tuple[float, int], int] = {}
        self.lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        scenario, start = args[0], args[2]
        key = (scenario.get(TRUST), start)

        def task():
            with self.lock:
                self.calls[key] = n = self.calls.get(key, 0) + 1
            if key == self.target and n <= self.times:
                raise RuntimeError(f"injected failure in chunk {key}, call {n}")
            return fn(*args, **kwargs)

        return super().submit(task)


def test_failing_chunk_is_retried_then_recorded(minimal, tmp_path):
    """A chunk that always fails is tried retries+1 times, stored as failed with its error;
    the rest finishes, results.csv has fewer reps for that point, and a resume fixes it."""
    pts = grid(minimal, f"{TRUST}=0.3,0.6,0.9")
    clean = sweep(minimal, pts, reps=30, seed=0, out=tmp_path / "clean", workers=1,
                  chunk_size=10)
    out = tmp_path / "bad"
    with FailingExecutor(0.6, 10) as ex:
        res = sweep(minimal, pts, reps=30, seed=0, out=out, executor=ex, chunk_size=10,
                    retries=2)
    assert ex.calls[(0.6, 10)] == 3
    assert all(n == 1 for k, n in ex.calls.items() if k != (0.6, 10))
    assert len(ex.calls) == 9
    assert len(res.failed) == 1
    point, start, stop, error = res.failed[0]
    assert (point, start, stop) == (1, 10, 20)
    assert "RuntimeError" in error and "injected failure in chunk (0.6, 10)" in error
    with Store(out / "store.sqlite") as st:
        assert st.failed() == res.failed
        assert st.count_ok() == 8
    assert [r["reps"] for r in res.rows] == [30, 20, 30]
    assert [r["reps"] for r in csv_rows(res.results_csv)] == ["30", "20", "30"]
    # the other points are untouched by the failure
    good = csv_rows(clean.results_csv)
    bad = csv_rows(res.results_csv)
    assert bad[0] == good[0] and bad[2] == good[2]

    fixed = sweep(minimal, pts, reps=30, seed=0, out=out, workers=1, chunk_size=10,
                  resume=True)
    assert fixed.failed == [] and fixed.reps_run == 10
    assert fixed.results_csv.read_bytes() == clean.results_csv.read_bytes()


def test_chunk_failing_once_gives_the_clean_result(minimal, tmp_path):
    """A chunk that fails once and then succeeds leaves no trace in the results."""
    pts = grid(minimal, f"{TRUST}=0.3,0.6,0.9")
    clean = sweep(minimal, pts, reps=30, seed=0, out=tmp_path / "clean", workers=1,
                  chunk_size=10)
    with FailingExecutor(0.9, 0, times=1) as ex:
        res = sweep(minimal, pts, reps=30, seed=0, out=tmp_path / "flaky", executor=ex,
                    chunk_size=10, retries=2)
    assert ex.calls[(0.9, 0)] == 2
    assert res.failed == []
    assert res.results_csv.read_bytes() == clean.results_csv.read_bytes()


def always_fail_point1_chunk0(scenario, seed, start, stop, engine="auto"):
    """compact_chunk, except that chunk 0 of trust 0.6 raises (counts its calls)."""
    if scenario.get(TRUST) == 0.6 and start == 0:
        FAIL_CALLS.append(start)
        raise ValueError("boom in the worker")
    return REAL_COMPACT_CHUNK(scenario, seed, start, stop, engine)


FAIL_CALLS: list[int] = []
REAL_COMPACT_CHUNK = sweep_mod.compact_chunk


def test_failed_chunks_in_one_process_and_on_the_cli(minimal, capsys, tmp_path, monkeypatch):
    """Without an executor (one process) a failing chunk is retried too; the CLI then exits
    non-zero and says which chunk failed and why."""
    monkeypatch.setattr(sweep_mod, "compact_chunk", always_fail_point1_chunk0)
    FAIL_CALLS.clear()
    pts = grid(minimal, f"{TRUST}=0.3,0.6")
    res = sweep(minimal, pts, reps=20, seed=0, out=tmp_path / "api", workers=1,
                chunk_size=10, retries=3)
    assert len(FAIL_CALLS) == 4
    assert [f[:3] for f in res.failed] == [(1, 0, 10)]
    assert "ValueError: boom in the worker" in res.failed[0][3]
    assert [r["reps"] for r in res.rows] == [20, 10]

    # the CLI cannot be handed a failing executor, so the worker function is patched in
    # this process and the CLI is run in-process (one worker runs chunks here)
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--vary", f"{TRUST}=0.3,0.6", "--reps", 20,
                     "--chunk-size", 10, "--workers", 1, "--out", tmp_path / "cli")
    assert rc != 0
    assert "1 chunk(s) FAILED" in err and "boom in the worker" in err
    assert "Traceback" not in err
    assert (tmp_path / "cli" / "results.csv").exists()  # the rest is still written


def crash_once(scenario, seed, start, stop, engine="auto"):
    """compact_chunk, except that the worker process running chunk 10 of trust 0.6 dies
    the first time (a marker file remembers it across processes)."""
    if scenario.get(TRUST) == 0.6 and start == 10:
        try:
            os.close(os.open(os.environ["RELAYSIM_TEST_CRASH_MARKER"],
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return REAL_COMPACT_CHUNK(scenario, seed, start, stop, engine)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="patching the worker function needs forked worker processes")
def test_worker_process_dying_is_survived(minimal, tmp_path, monkeypatch):
    """A worker process that dies takes the pool down; a new pool reruns what was lost and
    the results are those of a clean run."""
    pts = grid(minimal, f"{TRUST}=0.3,0.6")
    clean = sweep(minimal, pts, reps=30, seed=0, out=tmp_path / "clean", workers=1,
                  chunk_size=10)
    marker = tmp_path / "crashed"
    monkeypatch.setenv("RELAYSIM_TEST_CRASH_MARKER", str(marker))
    monkeypatch.setattr(sweep_mod, "compact_chunk", crash_once)
    res = sweep(minimal, pts, reps=30, seed=0, out=tmp_path / "crash", workers=2,
                chunk_size=10)
    assert marker.exists()  # a worker did die
    assert res.failed == []
    assert res.results_csv.read_bytes() == clean.results_csv.read_bytes()


@pytest.fixture(scope="module")
def inproc_dask():
    """A Dask cluster of two worker threads in this process (so a patched function is
    seen by the workers), on loopback TCP."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed "
                        "(pip install 'relaysim[dask]'); the Dask executor is not tested")
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():  # the other cluster's scheduler holds port 8787
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                               protocol="tcp://", host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


FLAKY_CALLS: dict[tuple[float, int], int] = {}
FLAKY_LOCK = threading.Lock()


def fail_once_point1_chunk0(scenario, seed, start, stop, engine="auto"):
    """compact_chunk, except that chunk 0 of trust 0.6 raises on its first call."""
    key = (scenario.get(TRUST), start)
    with FLAKY_LOCK:
        FLAKY_CALLS[key] = n = FLAKY_CALLS.get(key, 0) + 1
    if key == (0.6, 0) and n == 1:
        raise RuntimeError("transient worker failure")
    return REAL_COMPACT_CHUNK(scenario, seed, start, stop, engine)


def test_dask_retry_runs_the_chunk_again(minimal, tmp_path, inproc_dask, monkeypatch):
    """On Dask a chunk that fails once is run again and the sweep has no failures."""
    monkeypatch.setattr(sweep_mod, "compact_chunk", fail_once_point1_chunk0)
    FLAKY_CALLS.clear()
    pts = grid(minimal, f"{TRUST}=0.3,0.6")
    res = sweep(minimal, pts, reps=20, seed=0, out=tmp_path, chunk_size=10,
                executor=inproc_dask.get_executor(), retries=2)
    assert FLAKY_CALLS[(0.6, 0)] == 2
    assert res.failed == []


def test_cli_sweep_on_a_dask_scheduler(capsys, tmp_path, inproc_dask):
    """`sweep --scheduler ADDRESS` writes the same results.csv as `--workers 1`."""
    args = ["sweep", MINIMAL, "--vary", f"{TRUST}=0.3,0.7", "--vary", f"{FUMBLE}=0.1,0.2",
            "--reps", 30, "--seed", 4, "--chunk-size", 10, "--quiet"]
    rc, _, err = cli(capsys, *args, "--workers", 1, "--out", tmp_path / "local")
    assert rc == 0, err
    rc, _, err = cli(capsys, *args, "--scheduler", inproc_dask.scheduler.address,
                     "--out", tmp_path / "dask")
    assert rc == 0, err
    assert (tmp_path / "dask" / "results.csv").read_bytes() == \
        (tmp_path / "local" / "results.csv").read_bytes()


# --------------------------------------------------------------------------- CRN


def test_a_parameter_that_cannot_matter_changes_nothing(minimal, tmp_path):
    """Points differing only in an effect no zone uses (rehearsal, with no rehearsed zone)
    share their random numbers, so every replication comes out the same."""
    pts = grid(minimal, "effects.rehearsal=0.5,0.9")
    res = sweep(minimal, pts, reps=40, seed=7, out=tmp_path, workers=1, chunk_size=20)
    assert res.rows[0]["initiatives"] == res.rows[1]["initiatives"]
    with Store(tmp_path / "store.sqlite") as st:
        assert list(st.chunks_of(0)) == list(st.chunks_of(1))
    a, b = csv_rows(res.results_csv)
    assert {k: v for k, v in a.items() if k != "effects.rehearsal"} == \
        {k: v for k, v in b.items() if k != "effects.rehearsal"}


def test_paired_difference_is_tighter_than_independent(minimal):
    """For a small change the paired (common random numbers) difference has a smaller
    variance than two independent runs would."""
    b = minimal.with_values({FUMBLE: 0.2})
    res = compare(minimal, b, reps=200, seed=1, workers=1)
    for key in ("completion_rate", "coverage"):
        d = res["initiatives"]["reading"][key]
        assert d["variance_ratio"] > 1, (key, d)
        lo, hi = d["ci95"]
        assert lo <= d["difference"] <= hi
        assert d["reps_saved"] > 0


# --------------------------------------------------------------------------- precision


def test_adaptive_precision_stops_each_point_when_precise(capsys, tmp_path):
    """--precision H adds chunks to a point until its completion-rate half-width is <= H
    (stopping at the first chunk that gets there), never past --reps; a point that
    cannot get there stops at --reps. The result is the same for 1 and 2 workers."""
    common = ["sweep", MINIMAL, "--vary", "initiatives.reading.deadline=1,360",
              "--precision", 0.08, "--reps", 55, "--chunk-size", 10, "--seed", 0,
              "--min-reps", 10]
    rc, _, err = cli(capsys, *common, "--workers", 1, "--out", tmp_path / "w1")
    assert rc == 0, err
    rows = csv_rows(tmp_path / "w1" / "results.csv")
    never, hard = rows  # deadline 1: nothing completes (narrow at once); 360: near 50/50
    assert float(never["reading.completion_rate"]) == 0
    assert int(never["reps"]) < 55 and half_width(never) <= 0.08
    assert int(hard["reps"]) == 55 and half_width(hard) > 0.08
    with Store(tmp_path / "w1" / "store.sqlite") as st:
        for j, row in enumerate(rows):
            chunks = [d for _, _, d in st.chunks_of(j)]
            assert sum(d["stop"] - d["start"] for d in chunks) == int(row["reps"]) <= 55
            # it did not stop late: one chunk fewer was not yet precise enough by the
            # rule (Wilson at the worse of p-hat and 1/2 within +-H; issue 12)
            s = summarize_point(chunks[:-1])["reading"]
            assert precision_half_width(s["successes"], s["n"], 0.08) > 0.08
    rc, _, err = cli(capsys, *common, "--workers", 2, "--out", tmp_path / "w2")
    assert rc == 0, err
    assert (tmp_path / "w2" / "results.csv").read_bytes() == \
        (tmp_path / "w1" / "results.csv").read_bytes()


# --------------------------------------------------------------------------- bad input

BAD_VARY = [
    ("x", "PATH=LO:HI:N"),
    (f"{TRUST}=1:2", "three parts"),
    (f"{TRUST}=a:b:3", "LO and HI must be numbers"),
    ("levels.principal.capacity=2:1:3", "LO <= HI"),
    (f"{TRUST}=0.1:0.9:0", "N must be >= 1"),
    (f"{TRUST}=0.1,high", "'high' is not a number"),
    ("levels.principal.capacity=1,2.5", "whole number"),
    ("zones.principal.rehearsed=0:1:2", "list the values instead"),
    ("levels.principal.trus=0.1,0.2", "nearest valid paths: levels.principal.trust"),
    (f"{TRUST}=0.5,1.5", f"point 1 ({TRUST}=1.5): {TRUST}: must be >= 0 and <= 1"),
    ("levels.principal.capacity=0:2:3", "point 0 (levels.principal.capacity=0)"),
]


@pytest.mark.parametrize("spec, message", BAD_VARY, ids=[s for s, _ in BAD_VARY])
def test_bad_vary_is_a_usage_error(capsys, tmp_path, spec, message):
    """Each bad --vary ends in exit status 2 with a message saying what is wrong."""
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--vary", spec, "--reps", 5, "--workers", 1,
                     "--out", tmp_path / "o")
    assert rc == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o" / "results.csv").exists()


def test_bad_combinations_of_options(capsys, tmp_path):
    """--resume needs a folder or store; --workers and --scheduler exclude each other;
    --precision must lie in (0, 0.5); a path is varied once; LHS needs --samples."""
    vary = ["--vary", f"{TRUST}=0.3,0.6", "--reps", 5]
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--resume", "--workers", 1)
    assert rc == 2 and "--resume needs the --out folder" in err
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--workers", 2,
                     "--scheduler", "tcp://127.0.0.1:1", "--out", tmp_path / "o")
    assert rc == 2 and "not both" in err
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--precision", 0.7, "--workers", 1,
                     "--out", tmp_path / "o")
    assert rc == 2 and "precision must be between 0 and 0.5" in err
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--reps", 0)
    assert rc == 2 and "must be >= 1" in err
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--vary", f"{TRUST}=0.1,0.2",
                     "--workers", 1, "--out", tmp_path / "o")
    assert rc == 2 and "only once" in err
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--design", "lhs", "--workers", 1,
                     "--out", tmp_path / "o")
    assert rc == 2 and "--samples" in err
    assert "Traceback" not in err


def test_corrupt_store_is_refused_and_left_alone(capsys, tmp_path):
    """A file of garbage given as --store is refused (exit 2, in a real process too, no
    traceback) and not modified."""
    junk = tmp_path / "junk.sqlite"
    data = bytes(range(256)) * 16
    junk.write_bytes(data)
    args = ["sweep", MINIMAL, "--vary", f"{TRUST}=0.3,0.6", "--reps", 5, "--workers", 1,
            "--store", junk, "--out", tmp_path / "o"]
    rc, _, err = cli(capsys, *args)
    assert rc == 2 and "junk.sqlite" in err and "not a usable relaysim store" in err
    done = subprocess.run([sys.executable, "-m", "relaysim", *map(str, args)], env=sub_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "not a usable relaysim store" in done.stderr
    assert "Traceback" not in done.stderr
    assert junk.read_bytes() == data


def test_other_sqlite_database_is_refused_untouched(capsys, tmp_path):
    """Another program's SQLite database given as --store is refused and left unchanged."""
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE chunks (x INTEGER)")
    db.execute("INSERT INTO chunks VALUES (1)")
    db.commit()
    db.close()
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--vary", f"{TRUST}=0.3,0.6", "--reps", 5,
                     "--workers", 1, "--store", other, "--out", tmp_path / "o")
    assert rc == 2 and "Traceback" not in err
    db = sqlite3.connect(other)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    db.close()
    assert tables == ["chunks"]


def test_existing_and_foreign_stores_are_refused(capsys, tmp_path):
    """A finished sweep's store is not overwritten without --resume; a store from another
    seed or scenario is refused even with --resume; nothing written before changes."""
    out = tmp_path / "run"
    base = ["sweep", MINIMAL, "--vary", f"{TRUST}=0.3,0.6", "--reps", 10, "--workers", 1,
            "--out", out]
    rc, _, err = cli(capsys, *base)
    assert rc == 0, err
    before = {p.name: p.read_bytes() for p in (out / "results.csv", out / "manifest.json")}
    n_ok = count_ok(out / "store.sqlite")

    rc, _, err = cli(capsys, *base)
    assert rc == 2 and "already holds results" in err and "--resume" in err
    rc, _, err = cli(capsys, *base, "--seed", 1, "--resume")
    assert rc == 2 and "belongs to a different sweep" in err and "seed" in err
    rc, _, err = cli(capsys, *base, "--set", "effects.trust=1.0", "--resume")
    assert rc == 2 and "belongs to a different sweep" in err and "scenario_hash" in err
    rc, _, err = cli(capsys, *base[:3], f"{TRUST}=0.3,0.7", *base[4:], "--resume")
    assert rc == 2 and "belongs to a different sweep" in err and "points" in err
    assert "Traceback" not in err

    after = {p.name: p.read_bytes() for p in (out / "results.csv", out / "manifest.json")}
    assert after == before
    assert count_ok(out / "store.sqlite") == n_ok


# --------------------------------------------------------------------------- outputs


def test_manifest_and_load_results(minimal, tmp_path):
    """manifest.json records scenario text and hash, design, seed, reps and version;
    load_results gives a DataFrame with the documented columns."""
    pd = pytest.importorskip("pandas")
    pts = grid(minimal, f"{TRUST}=0.3,0.6", "levels.principal.capacity=1,2")
    res = sweep(minimal, pts, reps=10, seed=9, out=tmp_path, workers=1)
    m = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert m["scenario_text"] == MINIMAL.read_text(encoding="utf-8")
    assert m["scenario_hash"] == minimal.hash
    assert m["points"] == pts and m["design_points"] == 4
    assert m["seed"] == 9 and m["reps"] == 10
    assert m["relaysim_version"] == relaysim.__version__
    assert m["scenario"] == "minimal"

    df = load_results(tmp_path)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == [TRUST, "levels.principal.capacity", "reading.completion_rate",
                                "reading.ci_low", "reading.ci_high", "reading.coverage_mean",
                                "reading.completion_time_median", "reps"]
    assert len(df) == 4 and (df["reps"] == 10).all()
    assert df["levels.principal.capacity"].tolist() == [1, 2, 1, 2]
    assert (df["reading.ci_low"] <= df["reading.completion_rate"]).all()
    assert (df["reading.completion_rate"] <= df["reading.ci_high"]).all()
    assert load_results(res.results_csv).equals(df)
    with pytest.raises(UsageError, match=r"no results\.csv"):
        load_results(tmp_path / "nowhere")


def test_compare_cli_json(capsys, tmp_path):
    """`relaysim compare A B --json` reports B - A with a 95% interval and reps saved."""
    b = tmp_path / "b.toml"
    b.write_text(MINIMAL.read_text(encoding="utf-8").replace("fumble = 0.15", "fumble = 0.3"),
                 encoding="utf-8")
    rc, out, err = cli(capsys, "compare", MINIMAL, b, "--reps", 100, "--workers", 1, "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["reps"] == 100 and res["seed"] == 0
    assert res["a"]["scenario_hash"] != res["b"]["scenario_hash"]
    d = res["initiatives"]["reading"]["completion_rate"]
    lo, hi = d["ci95"]
    assert lo <= d["difference"] <= hi
    assert d["difference"] == pytest.approx(d["b"] - d["a"])
    assert d["difference"] < 0  # more fumbles, fewer completions
    assert isinstance(d["reps_saved"], int) and d["reps_saved"] >= 0
    assert "coverage" in res["initiatives"]["reading"]
    rc, out, _ = cli(capsys, "compare", MINIMAL, b, "--reps", 100, "--workers", 1)
    assert rc == 0 and "difference" in out and "95% CI" in out


def test_points_may_leave_parameters_out(minimal, tmp_path):
    """A point without some varied path takes the scenario's value for it."""
    pts = [{TRUST: 0.3}, {FUMBLE: 0.25}]
    res = sweep(minimal, pts, reps=10, seed=0, out=tmp_path, workers=1)
    rows = csv_rows(res.results_csv)
    assert [(r[TRUST], r[FUMBLE]) for r in rows] == [("0.3", "0.15"), ("0.5", "0.25")]
    full = sweep(minimal, [{TRUST: 0.3, FUMBLE: 0.15}, {TRUST: 0.5, FUMBLE: 0.25}], reps=10,
                 seed=0, out=tmp_path / "full", workers=1)
    assert full.results_csv.read_bytes() == res.results_csv.read_bytes()


def test_store_holds_chunks_keyed_by_point_and_range(minimal, tmp_path):
    """The store holds one row per (point, replication range), bound to its sweep."""
    pts = grid(minimal, f"{TRUST}=0.3,0.6")
    sweep(minimal, pts, reps=25, seed=0, out=tmp_path, workers=1, chunk_size=10)
    with Store(tmp_path / "store.sqlite") as st:
        assert st.meta()["scenario_hash"] == minimal.hash
        ranges = [(j, a, b) for j in (0, 1) for a, b, _ in st.chunks_of(j)]
    assert ranges == [(j, a, b) for j in (0, 1) for a, b in ((0, 10), (10, 20), (20, 25))]


def test_results_csv_is_valid_csv_with_one_row_per_point(minimal, tmp_path):
    """results.csv: the varied paths, the per-initiative estimates, then reps."""
    pts = grid(minimal, "zones.principal.rehearsed=true,false")
    res = sweep(minimal, pts, reps=10, seed=0, out=tmp_path, workers=1)
    text = res.results_csv.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "zones.principal.rehearsed" and rows[0][-1] == "reps"
    assert [r[0] for r in rows[1:]] == ["true", "false"]


def test_vary_a_range_over_a_parameter_given_as_a_distribution():
    """A drawn parameter (here effects.load, triangular per replication) can be swept by a
    range: each point sets a plain value in place of the distribution."""
    from relaysim.study.designs import make_design, parse_vary

    sc = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" /
                       "district_population.toml")
    assert isinstance(sc.get("effects.load"), dict)
    p = parse_vary("effects.load=1.0:1.5:2", sc)
    assert p.kind == "float"
    design = make_design([p], design="grid")
    assert len(design) == 2
    for point in design:
        variant = sc.with_values(point)
        assert variant.get("effects.load") in (1.0, 1.5)
        assert "effects.load" not in {d.path for d in variant.draws}
