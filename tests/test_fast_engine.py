"""Differential tests: the fast (compiled) engine against the SimPy engine, the oracle.

Records must be identical: counts and flags exactly, times and fidelities within 1e-9
relative. Scenarios: every bundled one, and Hypothesis-generated small ones covering each
feature on its own and all of them together (fixed durations on whole days make many
events simultaneous, which is where an engine's event order shows).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaysim.engines import fast, simpy_engine
from relaysim.model.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
REPS = int(os.environ.get("RELAYSIM_DIFF_REPS", "200"))

pytestmark = pytest.mark.skipif(not fast.available(), reason="numba not importable")


def _diff(x: Any, y: Any, path: str = "") -> str | None:
    """First difference between two records ("" when identical up to 1e-9 relative)."""
    if dataclasses.is_dataclass(x):
        if type(x) is not type(y):
            return f"{path}: {type(x).__name__} != {type(y).__name__}"
        for f in dataclasses.fields(x):
            d = _diff(getattr(x, f.name), getattr(y, f.name), f"{path}.{f.name}")
            if d:
                return d
        return None
    if isinstance(x, (tuple, list)):
        if len(x) != len(y):
            return f"{path}: {len(x)} items != {len(y)}"
        for k, (a, b) in enumerate(zip(x, y, strict=True)):
            d = _diff(a, b, f"{path}[{k}]")
            if d:
                return d
        return None
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) and math.isnan(y):
            return None
        if x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y)):
            return None
        return f"{path}: {x!r} != {y!r}"
    if type(x) is not type(y) or x != y:
        return f"{path}: {x!r} != {y!r}"
    return None


def _simpy_chunk(path: str, start: int, stop: int) -> list[Any]:
    sc = load_scenario(path)
    return [simpy_engine.simulate(sc, 0, r) for r in range(start, stop)]


@pytest.fixture(scope="module")
def oracle() -> Any:
    """SimPy records of every bundled scenario, on two processes (the slow half)."""
    with ProcessPoolExecutor(max_workers=2) as ex:
        futs = {(str(p), a): ex.submit(_simpy_chunk, str(p), a, min(a + 50, REPS))
                for p in SCENARIOS for a in range(0, REPS, 50)}
        got: dict[str, list[Any]] = {}
        for (p, _a), f in sorted(futs.items()):
            got.setdefault(p, []).extend(f.result())
    return got


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_scenarios_identical(path: Path, oracle: Any) -> None:
    sc = load_scenario(path)
    mine = fast.simulate_chunk(sc, 0, 0, REPS)
    theirs = oracle[str(path)]
    assert len(mine) == len(theirs) == REPS
    for a, b in zip(mine, theirs, strict=True):
        d = _diff(a, b)
        assert d is None, f"{path.stem} rep {a.rep}: {d}"


#: bundled scenarios with dynamic trust on (their own reps: the SimPy side runs here)
TRUST_REPS = max(10, REPS // 4)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_scenarios_with_dynamic_trust_identical(path: Path) -> None:
    sc = load_scenario(path, {"trust_dynamics.gain": 0.15, "trust_dynamics.loss": 0.35,
                              "trust_dynamics.low": 0.1, "trust_dynamics.high": 0.9})
    mine = fast.simulate_chunk(sc, 4, 0, TRUST_REPS)
    for a in mine:
        d = _diff(a, simpy_engine.simulate(sc, 4, a.rep))
        assert d is None, f"{path.stem} rep {a.rep}: {d}"
    assert any(lv.trust is not None for lv in mine[0].levels)


def test_chunking_does_not_matter() -> None:
    sc = load_scenario(ROOT / "scenarios" / "overloaded.toml")
    whole = fast.simulate_chunk(sc, 3, 0, 12)
    parts = fast.simulate_chunk(sc, 3, 0, 5) + fast.simulate_chunk(sc, 3, 5, 12)
    assert whole == parts or all(_diff(a, b) is None for a, b in zip(whole, parts, strict=True))


# -------------------------------------------------------------- generated scenarios

FEATURES = ("capacity", "initiatives", "stream", "slots", "windows", "checkpoints", "tank",
            "turnover", "feedback", "segments", "merged", "max_attempts", "min_fidelity",
            "trust_dynamics", "draws", "sharing")


def _dist(draw: Any, lo: float = 0.0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixed", "fixed", "exponential", "gamma", "lognormal",
                                 "uniform", "triangular", "empirical"]))
    if kind == "fixed":
        return {"dist": "fixed", "value": float(draw(st.integers(0 if lo == 0 else 1, 6)))}
    if kind == "exponential":
        return {"dist": "exponential", "mean": draw(st.sampled_from([0.5, 2.0, 5.0]))}
    if kind == "gamma":
        return {"dist": "gamma", "mean": draw(st.sampled_from([1.0, 4.0])),
                "cv": draw(st.sampled_from([0.3, 1.0]))}
    if kind == "lognormal":
        return {"dist": "lognormal", "median": draw(st.sampled_from([1.0, 3.0])),
                "sigma": draw(st.sampled_from([0.0, 0.5]))}
    if kind == "uniform":
        return {"dist": "uniform", "low": 1.0, "high": draw(st.sampled_from([1.0, 4.0]))}
    if kind == "triangular":
        return {"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 3.0}
    return {"dist": "empirical", "values": [1.0, 2.0, 2.0, 5.0]}


@st.composite
def scenario_dicts(draw: Any, features: frozenset[str]) -> dict[str, Any]:
    on = features.__contains__
    horizon = float(draw(st.sampled_from([60, 120, 200])))
    n_levels = draw(st.integers(3, 4))
    names = ["district", "principal", "coach", "classroom"][:n_levels]
    levels: list[dict[str, Any]] = []
    merged_k = draw(st.integers(2, n_levels - 2)) if on("merged") and n_levels == 4 else None
    for k, name in enumerate(names):
        lv: dict[str, Any] = {"name": name, "work": _dist(draw)}
        if k == merged_k:
            lv["merged_with_parent"] = True
            levels.append(lv)
            continue
        if k:
            lv["count"] = draw(st.integers(1, 3))
        lv["trust"] = draw(st.sampled_from([0.3, 0.5, 0.8]))
        if on("capacity"):
            lv["capacity"] = draw(st.integers(1, 2))
        if on("tank") and draw(st.booleans()):
            recovery = draw(st.sampled_from([0.0, 0.05]))
            lv["tank"] = {"drain": draw(st.sampled_from([0.02, 0.1])), "recovery": recovery,
                          "floor": draw(st.sampled_from([0.3, 0.8])),
                          "check_tank": draw(st.sampled_from([0.0, 0.5, 0.9]))
                          if recovery else 0.0}
        if on("turnover") and draw(st.integers(0, 3)):
            lv["turnover"] = draw(st.sampled_from([2.0, 6.0]))
            lv["vacancy"] = _dist(draw)
            lv["new_trust"] = draw(st.sampled_from([0.2, 0.5]))
            lv["loss_on_turnover"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
        levels.append(lv)
    zones = []
    for k in range(1, n_levels):
        if k == merged_k:
            continue
        z: dict[str, Any] = {"to": names[k], "duration": _dist(draw),
                             "fumble": draw(st.sampled_from([0.0, 0.2, 0.5])),
                             "recover": draw(st.sampled_from([0.0, 0.5, 0.9])),
                             "rework": _dist(draw),
                             "rehearsed": draw(st.booleans())}
        if on("max_attempts"):
            z["max_attempts"] = draw(st.integers(1, 3))
        if on("min_fidelity"):
            z["retention"] = draw(st.sampled_from([0.7, 0.9, 1.0]))
        if on("slots") and draw(st.booleans()):
            z["slots"] = draw(st.integers(1, 2))
        if on("windows") and draw(st.booleans()):
            z["window"] = {"period": 30.0, "open": float(draw(st.integers(0, 10))),
                           "close": float(draw(st.integers(15, 30)))}
        if on("checkpoints"):
            z["checkpoint"] = draw(st.booleans())
        zones.append(z)
    n_ini = draw(st.integers(2, 3)) if on("initiatives") else 1
    inits = []
    for j in range(n_ini):
        ini: dict[str, Any] = {"name": f"i{j}", "launch": float(draw(st.integers(0, 10))),
                               "deadline": horizon * draw(st.sampled_from([0.5, 1.0])),
                               "clarity": draw(st.sampled_from([0.3, 0.5, 0.9])),
                               "priority": draw(st.integers(0, 2)),
                               "success_threshold": draw(st.sampled_from([0.3, 0.8]))}
        if on("min_fidelity"):
            ini["min_fidelity"] = draw(st.sampled_from([0.5, 0.7, 0.81]))
        inits.append(ini)
    d: dict[str, Any] = {"scenario": {"name": "gen", "horizon": horizon},
                         "levels": levels, "zones": zones, "initiatives": inits,
                         "effects": {"checkpoint_time": float(draw(st.integers(0, 3)))}}
    if on("stream"):
        d["initiative_stream"] = {
            "rate": draw(st.sampled_from([5.0, 20.0])), "start": 0.0,
            "stop": horizon * draw(st.sampled_from([0.5, 1.0])),
            "template": {"priority": draw(st.integers(0, 2)),
                         "deadline_after": draw(st.sampled_from([30.0, 100.0]))}}
    if on("feedback"):
        d["feedback"] = {"interval": draw(st.sampled_from([5.0, 20.0])),
                         "detect": draw(st.sampled_from([0.3, 1.0]))}
    if on("trust_dynamics"):  # starting trusts (0.2 to 0.8) may lie outside the bounds
        d["trust_dynamics"] = {"gain": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
                               "loss": draw(st.sampled_from([0.05, 0.3, 1.0])),
                               "low": draw(st.sampled_from([0.0, 0.1, 0.3])),
                               "high": draw(st.sampled_from([0.6, 0.9, 1.0]))}
    if on("segments"):
        seg_level = names[1]
        d["levels"][1]["count"] = draw(st.integers(2, 4))
        sets = {f"levels.{seg_level}.trust": 0.2}
        if not on("merged"):
            sets[f"levels.{names[-1]}.work"] = _dist(draw)
        sets[f"zones.{names[-1]}.fumble"] = draw(st.sampled_from([0.1, 0.4]))
        d["levels"][1]["segments"] = [{"name": "red", "share": draw(st.sampled_from([0.3, 0.5])),
                                       "set": sets}]
    if on("draws"):
        _add_draws(draw, d, merged_k, on("segments"))
    if on("sharing"):
        _add_sharing(draw, d, merged_k, on("segments"))
    return d


def _add_sharing(draw: Any, d: dict[str, Any], merged_k: int | None, segments: bool) -> None:
    """Peer sharing on one level (any but the first and a merged one), every option."""
    levels = d["levels"]
    k = draw(st.sampled_from([k for k in range(1, len(levels)) if k != merged_k]))
    nets = ["all", "ring", "random"] + (["segment"] if segments else [])
    levels[k]["sharing"] = {
        "rate": draw(st.sampled_from([2.0, 8.0, 40.0])),
        "recognition": draw(st.sampled_from([0.5, 1.0, 3.0])),
        "threshold": draw(st.sampled_from([0.3, 0.8, 1.0])),
        "network": draw(st.sampled_from(nets)), "degree": draw(st.integers(1, 3)),
        "target": draw(st.sampled_from(["lacking", "any"])),
        "newcomer_rate": draw(st.sampled_from([0.0, 6.0, 40.0])),
        "duration": float(draw(st.integers(0, 3))),
        "fumble": draw(st.sampled_from([0.0, 0.3, 0.6])),
        "retention": draw(st.sampled_from([0.8, 1.0]))}
    if draw(st.booleans()):
        levels[k]["count"] = draw(st.integers(2, 4))


def _add_draws(draw: Any, d: dict[str, Any], merged_k: int | None, segments: bool) -> None:
    """Parameters given as distributions (per replication and per runner), on paths no
    segment sets."""
    d["effects"]["trust"] = {"dist": "uniform", "low": 1.0, "high": 3.0}
    d["effects"]["load"] = {"dist": "lognormal", "median": 1.25, "sigma": 0.2}
    levels = d["levels"]
    last = len(levels) - 1
    free = [k for k in range(1, len(levels))
            if k != merged_k and not (segments and k in (1, last))]
    if not free:
        return
    k = draw(st.sampled_from(free))
    lv = levels[k]
    lv["trust"] = {"dist": "beta", "mean": 0.5, "sd": draw(st.sampled_from([0.0, 0.2])),
                   "per": draw(st.sampled_from(["runner", "replication"]))}
    if "capacity" in lv:
        lv["capacity"] = {"dist": "choice", "values": [1, 2], "per": "runner"}
    if lv["work"]["dist"] == "exponential":
        lv["work"]["mean"] = {"dist": "truncnormal", "mean": 2.0, "sd": 1.0, "low": 0.5,
                              "high": 4.0, "per": "runner"}
    if lv.get("turnover"):
        lv["turnover"] = {"dist": "triangular", "low": 0.0, "mode": 2.0, "high": 6.0,
                          "per": "runner"}
    if lv.get("tank"):
        lv["tank"]["floor"] = {"dist": "uniform", "low": 0.3, "high": 0.9, "per": "runner"}
    if lv.get("vacancy", {}).get("dist") == "exponential":
        lv["vacancy"]["mean"] = {"dist": "uniform", "low": 0.5, "high": 3.0, "per": "runner"}
    if lv.get("turnover"):
        lv["loss_on_turnover"] = {"dist": "beta", "mean": 0.5, "sd": 0.3, "per": "runner"}
        lv["new_trust"] = {"dist": "choice", "values": [0.2, 0.6], "per": "runner"}
    if merged_k is not None and levels[merged_k]["work"]["dist"] == "exponential":
        levels[merged_k]["work"]["mean"] = {"dist": "uniform", "low": 0.5, "high": 3.0,
                                            "per": "runner"}
    z = next(z for z in d["zones"] if z["to"] == lv["name"])
    z["recover"] = {"dist": "triangular", "low": 0.0, "mode": 0.5, "high": 0.9,
                    "per": draw(st.sampled_from(["runner", "replication"]))}
    z["fumble"] = {"dist": "beta", "mean": 0.3, "sd": 0.2, "per": "runner"}
    z["retention"] = {"dist": "uniform", "low": 0.7, "high": 1.0, "per": "runner"}
    if z["duration"]["dist"] == "exponential":
        z["duration"]["mean"] = {"dist": "uniform", "low": 0.5, "high": 4.0, "per": "runner"}


def _check_dict(d: dict[str, Any], reps: int = 3) -> None:
    sc = scenario_from_dict(d)
    seed = 7
    mine = fast.simulate_chunk(sc, seed, 0, reps)
    for a in mine:
        b = simpy_engine.simulate(sc, seed, a.rep)
        diff = _diff(a, b)
        assert diff is None, f"rep {a.rep}: {diff}\n{json.dumps(d)}"


@pytest.mark.parametrize("feature", FEATURES)
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_feature_alone(feature: str, data: Any) -> None:
    _check_dict(data.draw(scenario_dicts(frozenset([feature]))))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_features_together(data: Any) -> None:
    chosen = data.draw(st.sets(st.sampled_from(FEATURES), min_size=2))
    _check_dict(data.draw(scenario_dicts(frozenset(chosen))))


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_all_features(data: Any) -> None:
    _check_dict(data.draw(scenario_dicts(frozenset(FEATURES))), reps=4)


# -------------------------------------------------------------- the command line

def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "relaysim", *args], capture_output=True,
                          text=True, env=e, cwd=ROOT, check=True)


def test_cli_run_json_identical_across_engines() -> None:
    outs = {}
    for engine in ("simpy", "fast"):
        got = _cli("run", "scenarios/overloaded.toml", "--reps", "40", "--workers", "1",
                   "--json", "--quiet", "--engine", engine)
        doc = json.loads(got.stdout)
        assert doc.pop("engine") == engine
        outs[engine] = json.dumps(doc, indent=2)
    assert outs["simpy"] == outs["fast"]


def test_cli_sweep_results_identical_across_engines(tmp_path: Path) -> None:
    texts = {}
    for engine in ("simpy", "fast"):
        out = tmp_path / engine
        _cli("sweep", "scenarios/minimal.toml", "--vary", "zones.principal.fumble=0.05:0.3:3",
             "--reps", "30", "--workers", "1", "--quiet", "--out", str(out), "--engine", engine)
        texts[engine] = (out / "results.csv").read_bytes()
    assert texts["simpy"] == texts["fast"]


def test_auto_falls_back_without_numba() -> None:
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import json\n"
        "from relaysim.cli import main\n"
        "sys.exit(main(['run', 'scenarios/minimal.toml', '--reps', '30', '--workers', '1',"
        " '--json', '--quiet']))\n"
    )
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,
                         cwd=ROOT, check=True)
    assert "numba cannot be imported" in got.stderr
    assert "SimPy engine instead" in got.stderr
    fell = json.loads(got.stdout)
    assert fell.pop("engine") == "simpy"
    ran = json.loads(_cli("run", "scenarios/minimal.toml", "--reps", "30", "--workers", "1",
                          "--json", "--quiet", "--engine", "fast").stdout)
    assert ran.pop("engine") == "fast"
    assert fell == ran
