"""Dynamic trust (issue 13 item 2, docs/model.md section 4.9): `[trust_dynamics]` gain,
loss, low and high; each exchange attempt moves the receiver's trust in its giver.

- the rule itself (formulas.trust_after): closed forms and bounds;
- an exact check by enumeration: one zone, one receiver, max_attempts k, the fumble
  probability changing with trust after each fumble, against a Monte Carlo run with a
  tolerance of four standard errors (fixed seed);
- properties (Hypothesis) where they truly hold: bounds alone (gain = loss = 0) change
  nothing; with effects.trust = 0 trust moves but nothing else does; trust stays in
  [low, high]; with one initiative and no turnover, slots or reviews, loss alone never
  raises coverage; a new runner starts at new_trust;
- the trust deadline; schema, validation and hashes; outputs only when the rule is on.
The differential tests against the compiled engine are in tests/test_fast_engine.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast_engine import _diff, scenario_dicts

import relaysim
from relaysim.engines import fast, simpy_engine
from relaysim.errors import ScenarioError
from relaysim.model import formulas as F
from relaysim.model.scenario import load_scenario, scenario_from_dict
from relaysim.present.trace import trace

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "scenarios" / "minimal.toml"
ON = {"trust_dynamics.gain": 0.2, "trust_dynamics.loss": 0.4}


# ------------------------------------------------------------------------ the rule


@settings(max_examples=200, deadline=None)
@given(t0=st.floats(0, 1), loss=st.floats(0, 1), low=st.floats(0, 1), j=st.integers(0, 30))
def test_losses_close_the_gap_geometrically(t0: float, loss: float, low: float,
                                            j: int) -> None:
    """j fumbles from t0 >= low leave low + (1 - loss)^j (t0 - low)."""
    t0 = max(t0, low)
    t = t0
    for _ in range(j):
        t = F.trust_after(t, False, 0.0, loss, low, 1.0)
    assert t == pytest.approx(low + (1 - loss) ** j * (t0 - low), abs=1e-12)
    assert low <= t <= t0


@settings(max_examples=200, deadline=None)
@given(t0=st.floats(0, 1), gain=st.floats(0, 1), high=st.floats(0, 1), j=st.integers(0, 30))
def test_gains_close_the_gap_geometrically(t0: float, gain: float, high: float,
                                           j: int) -> None:
    """j clean handoffs from t0 <= high leave high - (1 - gain)^j (high - t0)."""
    t0 = min(t0, high)
    t = t0
    for _ in range(j):
        t = F.trust_after(t, True, gain, 0.0, 0.0, high)
    assert t == pytest.approx(high - (1 - gain) ** j * (high - t0), abs=1e-12)
    assert t0 <= t <= high


@settings(max_examples=300, deadline=None)
@given(t=st.floats(0, 1), clean=st.booleans(), gain=st.floats(0, 1), loss=st.floats(0, 1),
       a=st.floats(0, 1), b=st.floats(0, 1))
def test_trust_never_moves_the_wrong_way_nor_leaves_the_bounds(
        t: float, clean: bool, gain: float, loss: float, a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    new = F.trust_after(t, clean, gain, loss, low, high)
    assert (new >= t) if clean else (new <= t)
    if low <= t <= high:
        assert low <= new <= high
    assert 0.0 <= new <= 1.0


# --------------------------------------------------------- exact check by enumeration

T0, GAIN, LOSS, LOW, HIGH = 0.7, 0.3, 0.35, 0.1, 0.95
FUMBLE, RECOVER, K = 0.4, 0.8, 4


def _one_zone() -> relaysim.Scenario:
    """District -> one teacher; every duration 0, so all happens at day 0."""
    return scenario_from_dict({
        "scenario": {"name": "one-zone", "horizon": 10.0},
        "levels": [{"name": "district"}, {"name": "teacher", "trust": T0}],
        "zones": [{"to": "teacher", "fumble": FUMBLE, "recover": RECOVER,
                   "max_attempts": K}],
        "initiatives": [{"name": "a", "deadline": 10.0}],
        "trust_dynamics": {"gain": GAIN, "loss": LOSS, "low": LOW, "high": HIGH},
    })


def _enumerate() -> dict[tuple[bool, int], tuple[float, float]]:
    """{(received, attempts): (probability, trust at the deadline)} by enumeration: the
    j-th attempt (after j fumbles, trust low + (1 - loss)^j (t0 - low)) fumbles with
    p_j = odds_j / (1 + odds_j), odds_j = fumble/(1 - fumble) exp(-2 (trust_j - 0.5))."""
    def p(j: int) -> float:
        trust = LOW + (1 - LOSS) ** j * (T0 - LOW)
        odds = FUMBLE / (1 - FUMBLE) * math.exp(-2.0 * (trust - 0.5))
        return odds / (1 + odds)

    out = {}
    reach = 1.0  # probability that attempt a happens
    for a in range(1, K + 1):
        pf = p(a - 1)
        before = LOW + (1 - LOSS) ** (a - 1) * (T0 - LOW)
        out[(True, a)] = (reach * (1 - pf), before + GAIN * (HIGH - before))
        after = LOW + (1 - LOSS) ** a * (T0 - LOW)
        drop = reach * pf * ((1 - RECOVER) if a < K else 1.0)
        out[(False, a)] = (drop, after)
        reach *= pf * RECOVER
    assert math.isclose(sum(v[0] for v in out.values()), 1.0, abs_tol=1e-12)
    return out


def test_enumeration_matches_monte_carlo() -> None:
    """Probability the baton gets through, the distribution of attempts and the expected
    trust at the deadline: exact values within 4 standard errors of 6,000 replications."""
    exact = _enumerate()
    n = 6000
    res = relaysim.run(_one_zone(), reps=n, seed=20240613, workers=1)
    seen: dict[tuple[bool, int], int] = {}
    trusts = []
    for r in res.replications:
        o = r.initiatives[0]
        z = o.zones[1]
        key = (o.dropped == 0, z.attempts)
        seen[key] = seen.get(key, 0) + 1
        trusts.append(r.levels[1].trust)
    assert set(seen) <= set(exact)
    for key, (prob, _) in exact.items():
        se = math.sqrt(prob * (1 - prob) / n)
        assert abs(seen.get(key, 0) / n - prob) <= 4 * se + 1e-12, key
    through = sum(p for (ok, _), (p, _) in exact.items() if ok)
    got = sum(c for (ok, _), c in seen.items() if ok) / n
    assert abs(got - through) <= 4 * math.sqrt(through * (1 - through) / n)
    mean = sum(p * t for p, t in exact.values())
    sd = math.sqrt(sum(p * (t - mean) ** 2 for p, t in exact.values()))
    assert abs(sum(trusts) / n - mean) <= 4 * sd / math.sqrt(n)
    # and each replication's trust is exactly the enumerated value of its outcome
    for r in res.replications[:200]:
        o = r.initiatives[0]
        assert r.levels[1].trust == pytest.approx(
            exact[(o.dropped == 0, o.zones[1].attempts)][1], abs=1e-12)


# ------------------------------------------------------------------------ properties

PROPERTY_FEATURES = ("capacity", "initiatives", "stream", "slots", "windows", "checkpoints",
                     "tank", "turnover", "feedback", "segments", "merged", "max_attempts",
                     "min_fidelity")


def _features(draw: Any, allowed: tuple[str, ...] = PROPERTY_FEATURES) -> frozenset[str]:
    return frozenset(draw(st.sets(st.sampled_from(allowed), max_size=4)))


def _without_trust(rec: Any) -> Any:
    return dataclasses.replace(rec, levels=tuple(dataclasses.replace(lv, trust=None)
                                                 for lv in rec.levels))


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bounds_alone_change_nothing(data: Any) -> None:
    """gain = loss = 0 (whatever the bounds): records identical to no [trust_dynamics]."""
    d = data.draw(scenario_dicts(_features(data.draw)))
    d.pop("trust_dynamics", None)
    off = scenario_from_dict(d)
    d["trust_dynamics"] = {"gain": 0.0, "loss": 0.0, "low": 0.2, "high": 0.7}
    zero = scenario_from_dict(d)
    for rep in range(2):
        a, b = simpy_engine.simulate(off, 5, rep), simpy_engine.simulate(zero, 5, rep)
        assert _diff(a, b) is None


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_trust_acts_only_through_the_fumble_odds(data: Any) -> None:
    """With effects.trust = 0 trust moves (and is reported) but changes no other number:
    the rule draws no random number and schedules no event."""
    d = data.draw(scenario_dicts(_features(data.draw) | {"trust_dynamics"}))
    d["effects"]["trust"] = 0.0
    on = scenario_from_dict(d)
    d.pop("trust_dynamics")
    off = scenario_from_dict(d)
    for rep in range(2):
        a, b = simpy_engine.simulate(on, 5, rep), simpy_engine.simulate(off, 5, rep)
        assert a.levels[1].trust is not None
        assert _diff(_without_trust(a), b) is None


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_trust_stays_within_the_bounds(data: Any) -> None:
    """Every trust a trace reports, and every level's mean at the deadline, lies in
    [low, high] when every starting trust does (the generated trusts are 0.2 to 0.8)."""
    d = data.draw(scenario_dicts(_features(data.draw) | {"trust_dynamics"}))
    low = data.draw(st.sampled_from([0.0, 0.1, 0.2]))
    high = data.draw(st.sampled_from([0.8, 0.9, 1.0]))
    d["trust_dynamics"].update(low=low, high=high)
    sc = scenario_from_dict(d)
    tr = trace(sc, seed=3, rep=0)
    moved = [ev for ev in tr.events if ev["event"] == "trust"]
    for ev in moved:
        assert low <= ev["trust"] <= high
        assert (ev["trust"] > ev["before"]) == ev["clean"]
    assert tr.record is not None
    for lv in tr.record.levels:
        assert lv.trust is None or low - 1e-12 <= lv.trust <= high + 1e-12


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_losses_alone_never_raise_coverage(data: Any) -> None:
    """One initiative, no turnover, slots, reviews or stream: each runner receives one
    exchange, and with loss > 0 and gain = 0 each of its attempts is at least as risky
    as without the rule, on the same random numbers. So no replication implements more
    classrooms, or reaches its threshold sooner (common random numbers, model.md 3.3.7)."""
    allowed = ("capacity", "windows", "checkpoints", "tank", "segments", "merged",
               "max_attempts", "min_fidelity")
    d = data.draw(scenario_dicts(_features(data.draw, allowed)))
    off = scenario_from_dict(d)
    d["trust_dynamics"] = {"loss": data.draw(st.sampled_from([0.2, 0.6, 1.0]))}
    on = scenario_from_dict(d)
    for rep in range(3):
        a = simpy_engine.simulate(on, 9, rep).initiatives[0]
        b = simpy_engine.simulate(off, 9, rep).initiatives[0]
        assert a.implemented <= b.implemented and a.implemented_total <= b.implemented_total
        assert a.completed <= b.completed
        if a.completion_time is not None:
            assert b.completion_time is not None
            assert a.completion_time >= b.completion_time - 1e-9


def test_a_new_runner_starts_at_new_trust() -> None:
    """After a departure and a vacancy the new runner's trust is new_trust: the first
    trust change after each 'filled' starts from it; none happens while the post is
    vacant."""
    sc = load_scenario(ROOT / "scenarios" / "high_turnover.toml",
                       {**ON, "levels.coach.new_trust": 0.15})
    k = sc.level_index("coach")
    fills = changes = 0
    for rep in range(4):
        state: dict[int, str] = {}
        for ev in trace(sc, seed=1, rep=rep).events:
            if ev.get("level") != k:
                continue
            i = ev.get("runner")
            if ev["event"] == "departure":
                state[i] = "vacant"
            elif ev["event"] == "filled":
                assert ev["trust"] == 0.15
                state[i] = "new"
                fills += 1
            elif ev["event"] == "trust":
                assert state.get(i) != "vacant"
                if state.get(i) == "new":
                    assert ev["before"] == 0.15
                    changes += 1
                state[i] = "moved"
    assert fills and changes


# ----------------------------------------------------------------- the trust deadline


def _deadline_scenario(second_launch: float) -> relaysim.Scenario:
    """One teacher, two initiatives whose handoffs never fumble: each clean handoff
    raises the teacher's trust from 0.5 by half the gap to 1."""
    return scenario_from_dict({
        "scenario": {"name": "deadline", "horizon": 100.0},
        "levels": [{"name": "district", "work": 1}, {"name": "teacher", "work": 1}],
        "zones": [{"to": "teacher"}],
        "initiatives": [{"name": "first", "deadline": 10.0},
                        {"name": "second", "launch": second_launch, "deadline": 100.0}],
        "trust_dynamics": {"gain": 0.5},
    })


@pytest.mark.parametrize("engine", ["simpy", "fast"])
@pytest.mark.parametrize(("launch", "want"), [(20.0, 0.75), (9.0, 0.875), (0.0, 0.875)])
def test_trust_is_read_at_the_first_initiatives_deadline(engine: str, launch: float,
                                                         want: float) -> None:
    """Handoffs at day 1 (first) and launch + 1 (second): the second counts only when it
    falls at or before the first initiative's deadline, day 10 (inclusive)."""
    if engine == "fast" and not fast.available():
        pytest.skip("numba not importable")
    sim = simpy_engine.simulate if engine == "simpy" else fast.simulate
    rec = sim(_deadline_scenario(launch), 0, 0)
    assert rec.levels[0].trust is None
    assert rec.levels[1].trust == want
    # the deadline itself is included: a handoff at exactly day 10 counts
    assert sim(_deadline_scenario(9.0), 0, 0).levels[1].trust == 0.875


# ------------------------------------------------------- schema, validation, hashes


def _problems(**td: Any) -> dict[str, str]:
    raw = json.loads(json.dumps(load_scenario(MINIMAL).raw))
    raw["trust_dynamics"] = td
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(raw)
    return {p.path: p.message for p in e.value.problems}


def test_low_above_high_is_refused_with_its_path() -> None:
    got = _problems(gain=0.1, low=0.8, high=0.3)
    assert list(got) == ["trust_dynamics.low"]
    assert "must be <= trust_dynamics.high (0.3), got 0.8" in got["trust_dynamics.low"]


def test_out_of_range_and_unknown_keys_are_refused() -> None:
    got = _problems(gain=1.5, loss=-0.1, hihg=1)
    assert set(got) == {"trust_dynamics.gain", "trust_dynamics.loss", "trust_dynamics.hihg"}
    assert "did you mean 'high'" in got["trust_dynamics.hihg"]
    assert ">= 0 and <= 1" in got["trust_dynamics.gain"]


def test_bad_section_exits_2_naming_the_path() -> None:
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    got = subprocess.run([sys.executable, "-m", "relaysim", "validate", str(MINIMAL),
                          "--set", "trust_dynamics.low=0.9", "--set",
                          "trust_dynamics.high=0.5"], capture_output=True, text=True,
                         env=e, cwd=ROOT)
    assert got.returncode == 2
    assert "trust_dynamics.low: must be <= trust_dynamics.high" in got.stderr


def test_defaults_leave_the_hash_unchanged() -> None:
    """A spelled-out [trust_dynamics] at its defaults is the same scenario (same hash as
    before the section existed); any other value is a different one."""
    sc = load_scenario(MINIMAL)
    raw = json.loads(json.dumps(sc.raw))
    raw["trust_dynamics"] = {"gain": 0, "loss": 0.0, "low": 0, "high": 1}
    assert scenario_from_dict(raw).hash == sc.hash
    assert sc.with_values({"trust_dynamics.high": 0.9}).hash != sc.hash
    assert not sc.trust_dynamics.on and sc.with_values(ON).trust_dynamics.on


def test_paths_and_labels() -> None:
    sc = load_scenario(MINIMAL)
    assert sc.paths()["trust_dynamics.gain"] == 0.0
    assert sc.get("trust_dynamics.high") == 1.0
    assert relaysim.model.schema.label("trust_dynamics.loss") == \
        "Trust dynamics: trust lost per fumble"


# ------------------------------------------------------------------------- outputs


def test_outputs_only_when_the_rule_is_on() -> None:
    sc = load_scenario(MINIMAL)
    off = relaysim.run(sc, reps=30, seed=1, workers=1)
    assert "trust" not in off.text().lower().split("relay:")[1]
    assert all("trust_at_deadline" not in lv for lv in off.summary["levels"].values())
    assert "trust." not in off.per_rep_csv().splitlines()[0]
    assert all(lv.trust is None for r in off.replications for lv in r.levels)

    on = relaysim.run(sc.with_values(ON), reps=30, seed=1, workers=1)
    levels = on.summary["levels"]
    assert "trust_at_deadline" not in levels["district"]
    for name in ("principal", "classroom"):
        t = levels[name]["trust_at_deadline"]
        assert t["start"] == 0.5 and 0 <= t["ci95"][0] <= t["mean"] <= t["ci95"][1] <= 1
    header = on.per_rep_csv().splitlines()[0].split(",")
    assert header[-2:] == ["trust.principal", "trust.classroom"]
    assert "Trust in the level above" in on.text()
    # the columns give back the records exactly
    reps = on.replications
    assert [r.levels[2].trust for r in reps] == [
        r.levels[2].trust for r in on.columns.replications()]


def test_trace_tells_each_change_in_words() -> None:
    tr = trace(load_scenario(MINIMAL, ON), seed=0, rep=0)
    text = tr.text()
    assert "Principal 1's trust in the district rises from 0.50 to 0.60 after a clean " \
           "handoff." in text
    moved = [ev for ev in tr.events if ev["event"] == "trust"]
    assert moved and all({"before", "trust", "clean"} <= set(ev) for ev in moved)


# ------------------------------------------------- with parameters drawn per replication


def test_drawn_bounds_must_keep_their_order_over_their_support() -> None:
    sc = load_scenario(MINIMAL)
    with pytest.raises(ScenarioError) as e:
        sc.with_values({"trust_dynamics.loss": 0.3, "trust_dynamics.low": 0.5,
                        "trust_dynamics.high": {"dist": "uniform", "low": 0.3, "high": 0.9}})
    (p,) = e.value.problems
    assert p.path == "trust_dynamics.low" and "can draw" in p.message


def test_a_drawn_gain_and_loss_run_alike_in_both_engines() -> None:
    if not fast.available():
        pytest.skip("numba not importable")
    sc = load_scenario(ROOT / "scenarios" / "portfolio.toml", {
        "trust_dynamics.gain": {"dist": "uniform", "low": 0.0, "high": 0.4},
        "trust_dynamics.loss": {"dist": "uniform", "low": 0.1, "high": 0.6}})
    mine = fast.simulate_chunk(sc, 2, 0, 6)
    for a in mine:
        assert _diff(a, simpy_engine.simulate(sc, 2, a.rep)) is None
    res = relaysim.run(sc, reps=6, seed=2, workers=1)
    assert any("trust_at_deadline" in lv for lv in res.summary["levels"].values())


def test_explorer_offers_gain_and_loss_levers_when_trust_moves():
    from relaysim.app.levers import default_levers

    on = load_scenario(ROOT / "scenarios" / "minimal.toml", {"trust_dynamics.gain": 0.2})
    paths = {lv.path for lv in default_levers(on)}
    assert {"trust_dynamics.gain", "trust_dynamics.loss"} <= paths
    off = load_scenario(ROOT / "scenarios" / "minimal.toml")
    assert not any(lv.path.startswith("trust_dynamics") for lv in default_levers(off))
