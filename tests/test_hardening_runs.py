"""Issue 16, items 5 to 8: no runaway work, no orphan workers, no crash when a worker dies,
no hang on an address that is not a Dask scheduler.

The signal tests start their own `python -m relaysim` processes, find its pool workers in
/proc and check by pid that none survives. The resource tests use small limits set here,
so that everything runs in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _cli import cli, sub_env

import relaysim
import relaysim.study.execute as execute_mod
from relaysim import load_scenario
from relaysim.study.compare import compare
from relaysim.study.execute import PoolDied
from relaysim.study.run import run

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"


# --------------------------------------------------------------------------- helpers




def relaysim_proc(*args: Any, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "relaysim", *map(str, args)],
                            env=sub_env(), stdout=stdout, stderr=subprocess.PIPE)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st is not None and st[1] == pid and st[0] != "Z":
                out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has died)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def wait_for_workers(proc: subprocess.Popen, n: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        kids = children(proc.pid)
        if len(kids) >= n:
            return kids
        if proc.poll() is not None:
            pytest.fail(f"relaysim ended (status {proc.returncode}) before its workers "
                        f"started: {proc.stderr.read().decode()}")
        assert time.monotonic() < deadline, f"no {n} workers in {timeout} s"
        time.sleep(0.02)


def assert_all_gone(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, \
            f"workers still running {timeout} s later: {[p for p in pids if alive(p)]}"
        time.sleep(0.05)


def finish(proc: subprocess.Popen, timeout: float = 30) -> tuple[int, str]:
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.returncode, err


def count_ok(store: Path) -> int | None:
    if not store.exists():
        return None
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks WHERE status='ok'")
                       .fetchone()[0])
    except sqlite3.Error:
        return None


LONG_RUN = ("run", MINIMAL, "--reps", 400000, "--workers", 2, "--chunk-size", 50, "--quiet")
SWEEP = ("sweep", MINIMAL, "--set", "levels.principal.count=10",
         "--set", "levels.classroom.count=10",
         "--vary", "levels.principal.trust=0.3,0.6,0.9", "--reps", "2000", "--chunk-size", "5",
         "--seed", "3", "--quiet")


# --------------------------------------------------------------------------- item 6


def test_sigterm_stops_run_and_its_workers():
    """SIGTERM is a clean stop: one line, exit 143, and no worker left running."""
    proc = relaysim_proc(*LONG_RUN)
    try:
        kids = wait_for_workers(proc, 2)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        rc, err = finish(proc, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert_all_gone(kids)


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_workers_die_with_a_killed_parent(command, tmp_path):
    """SIGKILL of relaysim itself (no chance to clean up): its workers die with it."""
    args = LONG_RUN if command == "run" else (*SWEEP, "--workers", 2, "--out", tmp_path / "s")
    proc = relaysim_proc(*args)
    try:
        kids = wait_for_workers(proc, 2)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        rc, _ = finish(proc, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == -signal.SIGKILL
    assert_all_gone(kids)


def test_sigterm_sweep_resumes_to_the_same_bytes(capsys, tmp_path):
    """A sweep stopped by SIGTERM exits 143, leaves no worker, says how to go on, and
    --resume gives results.csv identical to a sweep never interrupted."""
    out = tmp_path / "cut"
    store = out / "store.sqlite"
    total = 3 * 2000 // 5  # enough chunks that the fast engine is still busy at SIGTERM
    proc = relaysim_proc(*SWEEP, "--workers", 2, "--out", out)
    try:
        kids = wait_for_workers(proc, 2)
        deadline = time.monotonic() + 60
        while (count_ok(store) or 0) < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        rc, err = finish(proc, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 143, err
    assert "--resume" in err and "Traceback" not in err
    assert_all_gone(kids)
    n = count_ok(store)
    assert n is not None and 0 < n < total
    rc, _, err = cli(capsys, *SWEEP, "--workers", 2, "--out", out, "--resume")
    assert rc == 0, err
    rc, _, err = cli(capsys, *SWEEP, "--workers", 1, "--out", tmp_path / "whole")
    assert rc == 0, err
    assert (out / "results.csv").read_bytes() == (tmp_path / "whole" / "results.csv").read_bytes()


# --------------------------------------------------------------------------- item 7


def _dying_chunk(scenario: Any, seed: int, start: int, stop: int, engine: str = "auto"
                 ) -> Any:
    """run_chunk, except that the worker running replication 60 dies (once, or always
    when RELAYSIM_TEST_ALWAYS_DIE is set)."""
    flag = Path(os.environ["RELAYSIM_TEST_FLAG"])
    if start <= 60 < stop and (os.environ.get("RELAYSIM_TEST_ALWAYS_DIE") or not flag.exists()):
        flag.touch()
        os._exit(9)
    from relaysim.engines.simpy_engine import simulate  # the same records as any engine

    return [simulate(scenario, seed, rep) for rep in range(start, stop)]


def test_run_recovers_from_a_dead_worker(monkeypatch, tmp_path):
    sc = load_scenario(MINIMAL)
    expected = run(sc, reps=200, seed=4, workers=1)
    monkeypatch.setenv("RELAYSIM_TEST_FLAG", str(tmp_path / "died"))
    monkeypatch.setattr(execute_mod, "run_chunk", _dying_chunk)
    got = run(sc, reps=200, seed=4, workers=2, chunk_size=10)
    assert (tmp_path / "died").exists()  # a worker did die
    assert got.to_json() == expected.to_json()
    assert got.per_rep_csv() == expected.per_rep_csv()


def test_run_gives_up_when_workers_keep_dying(monkeypatch, tmp_path):
    sc = load_scenario(MINIMAL)
    monkeypatch.setenv("RELAYSIM_TEST_FLAG", str(tmp_path / "died"))
    monkeypatch.setenv("RELAYSIM_TEST_ALWAYS_DIE", "1")
    monkeypatch.setattr(execute_mod, "run_chunk", _dying_chunk)
    with pytest.raises(PoolDied, match=r"died 4 times.*replications 60"):
        run(sc, reps=200, seed=4, workers=2, chunk_size=10)


def test_compare_recovers_from_a_dead_worker(monkeypatch, tmp_path):
    a = load_scenario(MINIMAL)
    b = a.with_values({"zones.principal.fumble": 0.3})
    expected = compare(a, b, reps=150, seed=2, workers=1)
    monkeypatch.setenv("RELAYSIM_TEST_FLAG", str(tmp_path / "died"))
    monkeypatch.setattr(execute_mod, "run_chunk", _dying_chunk)
    assert compare(a, b, reps=150, seed=2, workers=2) == expected
    assert (tmp_path / "died").exists()


def _dies_mid_send(records: list[Any]) -> Any:
    """A fold that makes this worker die halfway through writing any message larger than
    PIPE_BUF to the pool's pipes, the way a worker killed while sending a result does."""
    from multiprocessing import connection

    def half_then_die(self: Any, buf: Any) -> None:
        if len(buf) > 4096:
            os.write(self._handle, bytes(buf[: len(buf) // 2]))
            os._exit(9)
        original(self, buf)

    original = connection.Connection._send
    connection.Connection._send = half_then_die
    return records * 50  # a result far larger than PIPE_BUF


def test_a_worker_dying_while_it_sends_a_result_does_not_hang_the_run():
    """ProcessPoolExecutor waits forever for the rest of a half-written result. Results go
    through files, so what crosses the pipe is small enough to be written atomically."""
    import threading

    sc = load_scenario(MINIMAL)
    box: dict[str, Any] = {}

    def go() -> None:
        box["got"] = list(execute_mod.execute(sc, 3, [(0, 20), (20, 40)], 2, None,
                                              fold=_dies_mid_send))

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(120)
    assert not t.is_alive(), "the run hung on a half-written result"
    expected = execute_mod.run_chunk(sc, 3, 0, 20) * 50
    assert box["got"][0] == expected


def test_cli_run_survives_a_killed_worker():
    """kill -9 of one worker of `relaysim run`: the same JSON as a run never disturbed."""
    # enough replications that the workers still run after 0.3 s on the fast engine
    args = ("run", MINIMAL, "--reps", 400000, "--seed", 1, "--chunk-size", 1000, "--json",
            "--quiet")
    proc = relaysim_proc(*args, "--workers", 2, stdout=subprocess.PIPE)
    try:
        kids = wait_for_workers(proc, 2)
        time.sleep(0.3)
        os.kill(kids[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    expected = subprocess.run([sys.executable, "-m", "relaysim", *map(str, args),
                               "--workers", "1"], env=sub_env(), capture_output=True,
                              timeout=120)
    assert json.loads(out) == json.loads(expected.stdout)
    assert out == expected.stdout


# --------------------------------------------------------------------------- item 8


def _serve(handler: Any) -> tuple[str, Any]:
    """A TCP server on a free local port calling handler(conn) per connection, in a thread."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return f"tcp://127.0.0.1:{srv.getsockname()[1]}", srv


def _silent(conn: Any) -> None:  # an HTTP server waits for the request: says nothing
    time.sleep(30)
    conn.close()


def _garbage(conn: Any) -> None:  # e.g. a proxy: a length of exbibytes, then junk
    conn.sendall(b"\xff\xff\xff\xff\xff\xff\xff\x30" + b"HTTP/1.1 400 Bad Request\r\n" * 4)
    time.sleep(5)
    conn.close()


def _hang_up(conn: Any) -> None:
    conn.close()


@pytest.mark.parametrize("handler", [_silent, _garbage, _hang_up, None],
                         ids=["http-like", "garbage", "hang-up", "closed-port"])
def test_not_a_scheduler_fails_fast_in_one_line(handler, capsys, monkeypatch, tmp_path):
    import relaysim.cli as cli_mod

    monkeypatch.setattr(cli_mod, "PROBE_SECONDS", 1.5)
    if handler is None:
        import socket

        srv = socket.socket()  # a port that nothing listens on
        srv.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    else:
        address, srv = _serve(handler)
    try:
        t0 = time.monotonic()
        rc, _, err = cli(capsys, "sweep", MINIMAL, "--vary", "levels.principal.trust=0.3,0.6",
                         "--reps", 4, "--scheduler", address, "--out", tmp_path / "s",
                         "--quiet")
        took = time.monotonic() - t0
    finally:
        srv.close()
    assert rc == 2
    assert took < 5, took
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert address in lines[0]
    assert ("not a Dask scheduler" in err) if handler else ("cannot reach" in err)


def test_not_an_address(capsys, tmp_path):
    rc, _, err = cli(capsys, "sweep", MINIMAL, "--vary", "levels.principal.trust=0.3,0.6",
                     "--reps", 4, "--scheduler", "not an address", "--out", tmp_path / "s")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_warns_while_the_cluster_has_no_workers(tmp_path):
    """A scheduler without workers: a warning at once, and SIGTERM still stops cleanly."""
    import warnings

    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=0, processes=True, dashboard_address=":0")
    try:
        proc = relaysim_proc("sweep", MINIMAL, "--vary", "levels.principal.trust=0.3,0.6",
                             "--reps", 4, "--scheduler", cluster.scheduler_address,
                             "--out", tmp_path / "s", "--quiet")
        try:
            line = b""
            deadline = time.monotonic() + 30
            while b"no workers" not in line:
                assert time.monotonic() < deadline, "no warning in 30 s"
                line = proc.stderr.readline()
                assert line or proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            rc, err = finish(proc, timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        cluster.close()
    assert cluster.scheduler_address in line.decode()
    assert rc == 143, err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- item 5


RUNAWAY = {
    "reviews": ["--set", "feedback.interval=1e-300", "--set", "feedback.detect=0.5"],
    "turnover": ["--set", "levels.classroom.turnover=1e300"],
    "year_length": ["--set", "scenario.year_length=1e-300",
                    "--set", "levels.classroom.turnover=1"],
    "stream": ["--set", "initiative_stream.rate=1e9"],
    "daily reviews for 1e9 days": ["--set", "scenario.horizon=1e9", "--set",
                                   "feedback.interval=1", "--set", "feedback.detect=0.5"],
    "reps": ["--reps", "99999999999999999999"],
    "reps x events": ["--reps", "900000000"],
}


@pytest.mark.parametrize("extra", RUNAWAY.values(), ids=RUNAWAY.keys())
def test_runaway_runs_are_refused_before_any_work(extra, capsys):
    t0 = time.monotonic()
    rc, out, err = cli(capsys, "run", MINIMAL, *extra, "--workers", 1, "--quiet")
    assert rc == 2, err
    assert time.monotonic() - t0 < 5
    assert "limit" in err and "Traceback" not in err and not out


def test_horizon_is_bounded_like_durations(capsys):
    rc, _, err = cli(capsys, "run", MINIMAL, "--set", "scenario.horizon=1e308")
    assert rc == 2 and "scenario.horizon: must be > 0 and <= 1e+09" in err


@pytest.mark.parametrize("vary", [
    ["--vary", "levels.principal.trust=0.1:0.3:100000000"],
    ["--vary", "levels.principal.trust=0.1:0.3:2000",
     "--vary", "zones.principal.fumble=0:0.5:2000"],
    ["--vary", "levels.principal.trust=0.1:0.3:2", "--design", "lhs", "--samples", "100000000"],
])
def test_huge_designs_are_refused_before_they_are_built(vary, capsys, tmp_path):
    t0 = time.monotonic()
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--out", tmp_path / "s", "--quiet")
    assert rc == 2 and "limit of 1,000,000" in err, err
    assert time.monotonic() - t0 < 5 and not (tmp_path / "s").exists()


def test_sweep_work_is_bounded_and_max_events_raises_the_limit(capsys, tmp_path):
    vary = ["--vary", "levels.principal.trust=0.1:0.3:3", "--reps", 50, "--workers", 1,
            "--quiet"]
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--max-events", 12000,
                     "--out", tmp_path / "a")
    assert rc == 2 and "x 50 replications x 3 points" in err and "--max-events" in err
    assert not (tmp_path / "a").exists()
    rc, _, err = cli(capsys, "sweep", MINIMAL, *vary, "--max-events", 1e5,
                     "--out", tmp_path / "b")
    assert rc == 0, err


def test_run_and_compare_take_max_events(capsys):
    rc, _, err = cli(capsys, "run", MINIMAL, "--reps", 200, "--max-events", 1e4)
    assert rc == 2 and "more than the limit of 1e+04" in err
    rc, _, err = cli(capsys, "run", MINIMAL, "--reps", 20, "--max-events", 1e4, "--workers", 1)
    assert rc == 0, err
    rc, _, err = cli(capsys, "compare", MINIMAL, MINIMAL, "--reps", 60, "--max-events", 1e4)
    assert rc == 2 and "x 2 points" in err
    rc, _, err = cli(capsys, "run", MINIMAL, "--max-events", "-1")
    assert rc == 2 and "must be > 0" in err


def test_memory_is_checked_against_the_workers(monkeypatch):
    import relaysim.study.limits as limits

    sc = load_scenario(MINIMAL)
    monkeypatch.setattr(limits, "available_memory", lambda: 50_000.0)
    with pytest.raises(relaysim.UsageError, match="use --workers 1 or fewer"):
        run(sc, reps=10, workers=2, chunk_size=1)
    monkeypatch.setattr(limits, "available_memory", lambda: 10_000.0)
    with pytest.raises(relaysim.UsageError, match="one replication needs about"):
        run(sc, reps=10, workers=1)


def test_kept_outcomes_are_checked_against_the_memory(monkeypatch, capsys):
    # run and compare keep every replication's outcomes: --reps 1e8 of minimal.toml passes
    # the events limit but needs tens of GB; refused before any work, with a --reps that fits
    import re

    import relaysim.study.limits as limits
    from relaysim.study.columns import bytes_per_rep

    sc = load_scenario(MINIMAL)
    have = 400_000.0
    monkeypatch.setattr(limits, "available_memory", lambda: have)
    args = ("--workers", 1, "--engine", "simpy", "--quiet")
    t0 = time.monotonic()
    rc, out, err = cli(capsys, "run", MINIMAL, "--reps", 10_000, *args)
    assert rc == 2 and "keeping the outcomes of 10,000 replications" in err, err
    assert time.monotonic() - t0 < 5 and not out and "Traceback" not in err
    fit = int(re.search(r"use --reps ([\d,]+) or fewer", err).group(1).replace(",", ""))
    assert fit * bytes_per_rep(sc) * limits.KEEP_PEAK < have
    assert (fit + 1) * bytes_per_rep(sc) * limits.KEEP_PEAK > have - 40_000
    rc, _, err = cli(capsys, "run", MINIMAL, "--reps", fit, *args)
    assert rc == 0, err
    with pytest.raises(relaysim.UsageError, match="keeping the outcomes"):
        compare(sc, sc, reps=fit, workers=1, engine="simpy")  # both runs are kept


def test_bytes_per_rep_is_what_a_run_keeps():
    from relaysim.study.columns import bytes_per_rep

    for name in ("minimal", "baseline"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        c = run(sc, reps=50, workers=1, engine="simpy").columns
        held = (sum(a.nbytes for a in c.init.values()) + c.zones.nbytes
                + sum(a.nbytes for a in c.level.values()) + c.reps_index.nbytes)
        assert held == 50 * bytes_per_rep(sc)  # one named initiative, no stream
