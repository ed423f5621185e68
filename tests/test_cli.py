"""The command line end to end, in subprocesses, on every bundled scenario.

Checks the contract of INTERFACE.md: `validate`, `run` (text, --json, --per-rep, --set,
--workers), `trace`, and that bad input exits with status 2 and a message, never a
traceback, and never damages a file that already exists.

Each subprocess pays for importing numpy/scipy, so independent commands are started
together in a few module-scoped batches (`run_many`) and the tests read their results.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import relaysim
from relaysim import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
IDS = [p.stem for p in SCENARIOS]
MINIMAL = ROOT / "scenarios" / "minimal.toml"
REPS = 40
SEED = 3

Proc = subprocess.CompletedProcess


CONSOLE_SCRIPT = Path(sys.executable).parent / "relaysim"


def relaysim_cli(*args: object, exe: list[str] | None = None) -> Proc[str]:
    """Run `python -m relaysim ARGS` (or `exe ARGS`) and capture its output."""
    argv = exe or [sys.executable, "-m", "relaysim"]
    return subprocess.run([*argv, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def run_many(jobs: dict[Any, list[object]]) -> dict[Any, Proc[str]]:
    """Run several `python -m relaysim` command lines at once; results by key. A job whose
    first element is the console script runs that instead."""
    workers = max(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as ex:
        futures = {}
        for key, args in jobs.items():
            exe = [str(args[0])] if args and args[0] == CONSOLE_SCRIPT else None
            futures[key] = ex.submit(relaysim_cli, *(args[1:] if exe else args), exe=exe)
        return {key: f.result() for key, f in futures.items()}


def reported(sc: relaysim.Scenario) -> set[str]:
    """Names results are reported under: the named initiatives, plus "stream" for a
    scenario with an initiative stream (INTERFACE.md: its arrivals are pooled)."""
    return {ini.name for ini in sc.initiatives} | ({"stream"} if sc.stream.rate > 0 else set())


def ok(proc: Proc[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def refused(proc: Proc[str]) -> str:
    """Bad input: exit status 2, a message on stderr, no traceback, nothing on stdout."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.strip()
    assert proc.stdout == ""
    return proc.stderr


def test_bundled_scenarios_exist():
    names = {p.name for p in SCENARIOS}
    assert {"minimal.toml", "baseline.toml"} <= names


# --------------------------------------------------------------------------- per scenario

SET_ARGS = ["--set", "zones.principal.fumble=0.9", "--set", "zones.principal.recover=0"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[Any, Any]:
    """Every command run on every bundled scenario (plus a few on minimal), run at once."""
    tmp = tmp_path_factory.mktemp("cli")
    jobs: dict[Any, list[object]] = {}
    for path in SCENARIOS:
        s = path.stem
        jobs[s, "validate"] = ["validate", path]
        jobs[s, "paths"] = ["validate", path, "--list-paths"]
        (tmp / s).mkdir()
        # an older, longer file in the way: the run must replace it completely
        (tmp / s / "reps.csv").write_text("old line\n" * 1000, encoding="utf-8")
        jobs[s, "json"] = ["run", path, "--reps", REPS, "--seed", SEED, "--workers", 1,
                           "--json", "--per-rep", tmp / s / "reps.csv"]
        jobs[s, "json2"] = ["run", path, "--reps", REPS, "--seed", SEED, "--workers", 2,
                            "--json"]
        jobs[s, "text"] = ["run", path, "--reps", 20]
        jobs[s, "trace"] = ["trace", path]
        jobs[s, "trace-json"] = ["trace", path, "--json", "--seed", 2, "--rep", 1]
    jobs["paths-set"] = ["validate", MINIMAL, "--list-paths", "--set",
                         "zones.principal.fumble=0.3", "--set", "levels.classroom.trust=0.9"]
    jobs["console"] = [CONSOLE_SCRIPT, "validate", MINIMAL]
    jobs["json-set"] = ["run", MINIMAL, "--reps", REPS, "--seed", SEED, "--workers", 1,
                        "--json", *SET_ARGS]
    out: dict[Any, Any] = run_many(jobs)
    out["tmp"] = tmp
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_validate_prints_ok(outputs, path):
    out = ok(outputs[path.stem, "validate"])
    sc = load_scenario(path)
    assert out.startswith(f"ok: {path}")
    assert sc.hash[:12] in out
    for lv, n in zip(sc.levels, sc.level_sizes, strict=True):
        assert f"{n} {lv.name}" in out


def _listed(out: str) -> dict[str, Any]:
    listed = {}
    for line in out.splitlines():
        key, sep, value = line.partition(" = ")
        assert sep, line
        listed[key] = json.loads(value)
    return listed


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_validate_list_paths(outputs, path):
    """--list-paths prints every settable path with its value as JSON, one per line."""
    listed = _listed(ok(outputs[path.stem, "paths"]))
    assert listed == load_scenario(path).paths()
    assert "scenario.horizon" in listed


def test_validate_list_paths_with_set(outputs):
    """--set changes what --list-paths shows."""
    listed = _listed(ok(outputs["paths-set"]))
    assert listed["zones.principal.fumble"] == 0.3
    assert listed["levels.classroom.trust"] == 0.9


def _interval(ci: list[float | None], estimate: float | None) -> None:
    assert isinstance(ci, list) and len(ci) == 2
    lo, hi = ci
    if lo is not None and hi is not None:
        assert lo <= hi
        if estimate is not None:
            assert lo - 1e-9 <= estimate <= hi + 1e-9


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_run_json_has_every_required_key(outputs, path):
    """Every key INTERFACE.md requires is there, with sensible values."""
    doc = json.loads(ok(outputs[path.stem, "json"]))
    sc = load_scenario(path)
    assert doc["scenario"] == sc.name
    assert doc["scenario_hash"] == sc.hash
    assert doc["seed"] == SEED
    assert doc["reps"] == REPS
    assert doc["relaysim_version"] == relaysim.__version__
    assert set(doc["initiatives"]) == reported(sc)
    level_names = [lv.name for lv in sc.levels]
    for est in doc["initiatives"].values():
        cr = est["completion_rate"]
        assert 0 <= cr["estimate"] <= 1
        _interval(cr["ci95"], cr["estimate"])
        cov = est["coverage"]
        assert 0 <= cov["mean"] <= 1
        _interval(cov["ci95"], cov["mean"])
        ct = est["completion_time"]
        assert {"median", "q25", "q75"} <= set(ct)
        known = [ct[q] for q in ("q25", "median", "q75") if ct[q] is not None]
        assert known == sorted(known)
        assert "mean" in est["fidelity"]
        assert set(est["zones"]) == set(level_names[1:])
        for z in est["zones"].values():
            assert {"attempts", "fumbles", "recoveries", "drops", "drop_share"} <= set(z)
            assert 0 <= z["fumbles"] <= z["attempts"]
            # every fumble is either caught (a recovery) or drops the baton
            assert z["fumbles"] == z["recoveries"] + z["drops"]
            assert 0 <= z["drop_share"] <= 1
        if any(z["drops"] for z in est["zones"].values()):
            shares = [z["drop_share"] for z in est["zones"].values()]
            assert math.isclose(sum(shares), 1.0, abs_tol=1e-5)
    assert set(doc["levels"]) == set(level_names)
    for lv in doc["levels"].values():
        assert {"wait_mean", "utilization", "departures"} <= set(lv)
        assert 0 <= lv["utilization"] <= 1
        assert lv["wait_mean"] is None or lv["wait_mean"] >= 0


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_per_rep_csv(outputs, path):
    """--per-rep writes one row per replication and initiative, with INTERFACE.md's columns,
    agreeing with the JSON summary of the same run."""
    doc = json.loads(ok(outputs[path.stem, "json"]))
    sc = load_scenario(path)
    file = outputs["tmp"] / path.stem / "reps.csv"
    with open(file, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    zone_cols = [f"drops.{lv.name}" for lv in sc.levels[1:]]
    required = ["rep", "seed", "completed", "completion_time", "coverage", "fidelity",
                *zone_cols]
    assert set(required) <= set(rows[0])
    names = [ini.name for ini in sc.initiatives]
    named = [r for r in rows if r["initiative"] in names]
    assert len(named) == REPS * len(names)
    assert {(int(r["rep"]), r["initiative"]) for r in named} == {
        (i, n) for i in range(REPS) for n in names
    }
    # one row per stream arrival, as many as the JSON summary pooled
    assert {r["initiative"] for r in rows} == reported(sc)
    if sc.stream.rate > 0:
        names.append("stream")
        assert sum(r["initiative"] == "stream" for r in rows) == (
            doc["initiatives"]["stream"]["runs"])
    by_name = {ini.name: (ini.deadline - ini.launch) for ini in sc.initiatives}
    by_name["stream"] = sc.stream.deadline_after
    for r in rows:
        assert r["seed"] == str(SEED)
        assert r["completed"] in ("0", "1")
        assert 0 <= float(r["coverage"]) <= 1
        if r["completed"] == "1":
            assert r["completion_time"] != ""
            assert float(r["completion_time"]) <= by_name[r["initiative"]] + 1e-9
        for c in zone_cols:
            assert int(r[c]) >= 0
    for name in names:
        mine = [r for r in rows if r["initiative"] == name]
        est = doc["initiatives"][name]
        rate = sum(int(r["completed"]) for r in mine) / len(mine)
        assert rate == pytest.approx(est["completion_rate"]["estimate"], abs=1e-6)
        cov = sum(float(r["coverage"]) for r in mine) / len(mine)
        assert cov == pytest.approx(est["coverage"]["mean"], abs=1e-5)
        for lv in sc.levels[1:]:
            drops = sum(int(r[f"drops.{lv.name}"]) for r in mine)
            assert drops == est["zones"][lv.name]["drops"]
    # the older, longer file was replaced, and no temporary file is left beside it
    assert [p.name for p in file.parent.iterdir()] == ["reps.csv"]


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_workers_do_not_change_results(outputs, path):
    """--workers 2 prints byte-identical JSON to --workers 1."""
    assert ok(outputs[path.stem, "json2"]) == ok(outputs[path.stem, "json"])


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_run_text_is_readable(outputs, path):
    out = ok(outputs[path.stem, "text"])
    sc = load_scenario(path)
    assert f"scenario '{sc.name}'" in out
    assert "20 replications, seed 0" in out
    for ini in sc.initiatives:
        assert f"Initiative '{ini.name}'" in out
    assert "Implemented in" in out and "95% CI" in out
    assert "Classrooms implementing at the deadline" in out
    assert f"{sc.time_unit.capitalize()} from launch to implementation" in out  # its own unit
    for lv in sc.levels:
        assert lv.name in out
    assert "{" not in out  # words, not a data structure


def test_run_set_changes_the_scenario(outputs):
    """--set applies to run: the hash changes and a very fumbly zone lowers completion."""
    base = json.loads(ok(outputs["minimal", "json"]))
    doc = json.loads(ok(outputs["json-set"]))
    assert doc["scenario_hash"] != base["scenario_hash"]
    assert doc["scenario_hash"] == load_scenario(
        MINIMAL, {"zones.principal.fumble": 0.9, "zones.principal.recover": 0}).hash
    before = base["initiatives"]["reading"]["completion_rate"]["estimate"]
    after = doc["initiatives"]["reading"]["completion_rate"]["estimate"]
    assert after < before


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_trace_in_words(outputs, path):
    out = ok(outputs[path.stem, "trace"])
    assert "hands" in out and "has the" in out
    assert out.startswith("One run of")
    assert "by the deadline" in out
    sc = load_scenario(path)
    assert out.splitlines()[1].startswith(sc.time_unit_one.capitalize() + " ")


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_trace_json(outputs, path):
    doc = json.loads(ok(outputs[path.stem, "trace-json"]))
    sc = load_scenario(path)
    assert doc["scenario"] == sc.name and doc["scenario_hash"] == sc.hash
    assert doc["seed"] == 2 and doc["rep"] == 1
    assert doc["events"] and all({"t", "event"} <= set(e) for e in doc["events"])
    times = [e["t"] for e in doc["events"]]
    assert times == sorted(times)
    assert {o["initiative"] for o in doc["outcome"]} == reported(sc)


# --------------------------------------------------------------------------- bad input

M = str(MINIMAL)
# id: (file to write or None, command line, expected text on stderr, names the file)
BAD: dict[str, tuple[tuple[str, str | bytes] | None, list[str], str, bool]] = {
    "missing-file": (None, ["validate", "{tmp}/missing.toml"], "file not found", True),
    "bad-toml": (("bad.toml", "[scenario\nhorizon = 3\n"), ["validate", "{file}"],
                 "not valid TOML", True),
    "non-utf8": (("latin.toml", b"\xff\xfe\x00"), ["run", "{file}"], "cannot read file", True),
    "unknown-key": (("unknown.toml", MINIMAL.read_text() + "\n[effects]\nlaod = 1.5\n"),
                    ["run", "{file}", "--reps", "5"],
                    "effects.laod: unknown key 'laod'; did you mean 'load'?", True),
    "three-problems": (
        ("three.toml", MINIMAL.read_text()
         .replace("horizon = 360", "horizon = 360\nhorizn = 3")
         .replace("fumble = 0.15", "fumble = 1.5")
         .replace('dist = "exponential", mean = 20', 'dist = "exponental", mean = 20')),
        ["trace", "{file}"], "3 problems found", True),
    "reps-0": (None, ["run", M, "--reps", "0"], "--reps", False),
    "reps-negative": (None, ["run", M, "--reps", "-1"], "--reps", False),
    "reps-word": (None, ["run", M, "--reps", "x"], "--reps", False),
    "set-no-equals": (None, ["run", M, "--set", "zones.principal.fumble"],
                      "--set expects PATH=VALUE", False),
    "set-unknown-path": (None, ["run", M, "--reps", "5", "--set", "zones.principal.fumbel=0.2"],
                         "nearest valid paths: zones.principal.fumble", True),
    "set-bad-value": (None, ["run", M, "--reps", "5", "--set", "zones.principal.fumble=2"],
                      "zones.principal.fumble: must be >= 0 and < 1, got 2", True),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[list[str], Proc[str]]]:
    tmp = tmp_path_factory.mktemp("bad")
    jobs: dict[str, list[object]] = {}
    for key, (make, args, _, _) in BAD.items():
        file = None
        if make is not None:
            file = tmp / make[0]
            data = make[1]
            file.write_bytes(data if isinstance(data, bytes) else data.encode())
        jobs[key] = [a.format(tmp=tmp, file=file) for a in args]
    procs = run_many(jobs)
    return {key: ([str(a) for a in jobs[key]], procs[key]) for key in jobs}


@pytest.mark.parametrize("key", list(BAD))
def test_bad_input_exits_2_without_traceback(bad_runs, key):
    """Bad input: exit 2, a message on stderr naming the file when there is one."""
    args, proc = bad_runs[key]
    err = refused(proc)
    _, _, expected, names_file = BAD[key]
    assert expected in err
    if names_file:
        assert f"{args[1]}: " in err


def test_scenario_error_lists_every_problem(bad_runs):
    """Several problems in one file: all are printed, each with the file and dotted path."""
    args, proc = bad_runs["three-problems"]
    err = refused(proc)
    for frag in ("scenario.horizn", "zones.principal.fumble", "levels.classroom.work.dist"):
        line = next(ln for ln in err.splitlines() if frag in ln)
        assert f"{args[1]}: {frag}: " in line


def test_reps_negative_message(bad_runs):
    assert "must be >= 1" in refused(bad_runs["reps-negative"][1])


# --------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def file_runs(tmp_path_factory) -> dict[str, Any]:
    """Runs that write, or must not write, files; each in its own directory."""
    root = tmp_path_factory.mktemp("files")
    bad = root / "bad.toml"
    bad.write_text(MINIMAL.read_text() + "\n[effects]\nload = 0\n", encoding="utf-8")
    dirs = {k: root / k for k in ("missing-dir", "trace-missing", "trace-out",
                                  "scenario-error", "bad-set-path")}
    for d in dirs.values():
        d.mkdir()
    for k in ("scenario-error", "bad-set-path"):
        (dirs[k] / "reps.csv").write_text("rep,completed\n0,1\n", encoding="utf-8")
    per_rep = ["--reps", 3, "--per-rep"]
    jobs: dict[str, list[object]] = {
        "missing-dir": ["run", M, *per_rep, dirs["missing-dir"] / "no" / "such" / "reps.csv"],
        "trace-missing": ["trace", M, "--out", dirs["trace-missing"] / "no" / "trace.txt"],
        "trace-out": ["trace", M, "--json", "--out", dirs["trace-out"] / "trace.json"],
        "scenario-error": ["run", bad, *per_rep, dirs["scenario-error"] / "reps.csv"],
        "bad-set-path": ["run", M, "--set", "nothing.here=1", *per_rep,
                         dirs["bad-set-path"] / "reps.csv"],
    }
    return {"dirs": dirs, "procs": run_many(jobs), "jobs": jobs}


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_per_rep_into_missing_directory(file_runs):
    """--per-rep into a missing directory exits 2 with a message naming the path, and
    leaves no temporary file."""
    err = refused(file_runs["procs"]["missing-dir"])
    assert str(file_runs["jobs"]["missing-dir"][-1]) in err
    assert _names(file_runs["dirs"]["missing-dir"]) == []


def test_trace_out_missing_dir(file_runs):
    refused(file_runs["procs"]["trace-missing"])


def test_trace_out_writes_file(file_runs):
    assert ok(file_runs["procs"]["trace-out"]) == ""
    d = file_runs["dirs"]["trace-out"]
    assert json.loads((d / "trace.json").read_text())["events"]
    assert _names(d) == ["trace.json"]


@pytest.mark.parametrize("key", ["scenario-error", "bad-set-path"])
def test_failed_run_leaves_existing_per_rep_file_alone(file_runs, key):
    """A run that fails neither changes nor removes an existing per-rep file."""
    refused(file_runs["procs"][key])
    d = file_runs["dirs"][key]
    assert (d / "reps.csv").read_text(encoding="utf-8") == "rep,completed\n0,1\n"
    assert _names(d) == ["reps.csv"]


# --------------------------------------------------------------------------- entry points


def test_console_script(outputs):
    """The `relaysim` console script is installed next to the interpreter and works."""
    assert CONSOLE_SCRIPT.exists()
    assert ok(outputs["console"]).startswith(f"ok: {M}")
