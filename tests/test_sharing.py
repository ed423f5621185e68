"""Peer sharing (issue 17, docs/model.md 4.10): lateral handoffs between runners of one
level, checked against a closed form and by properties, on both engines.

- closed form: two principals, one dropped and one showcasing from a known time t0;
  with shares at rate r per school year of Y days and an instant lateral zone of fumble
  risk q, the dropped one is recovered by day D with probability
  1 - exp(-r (1 - q) (D - t0) / Y);
- with sharing off, or recognition 0, every record is today's;
- with one initiative, no slots, no turnover at or below the sharing level, fidelity
  that never matters (min_fidelity 0) and target = "any", raising recognition never
  lowers a replication's coverage (docs/model.md 4.10 proves it under these conditions;
  with target = "lacking" it can, and a case is shown).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaysim.engines import fast, simpy_engine
from relaysim.engines.records import PEER_FIELDS, PeerCounts
from relaysim.errors import ScenarioError
from relaysim.model.scenario import load_scenario, scenario_from_dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fast_engine import FEATURES, scenario_dicts

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ["simpy"] + (["fast"] if fast.available() else [])


def _records(sc: Any, seed: int, reps: int, engine: str) -> list[Any]:
    if engine == "fast":
        return fast.simulate_chunk(sc, seed, 0, reps)
    return [simpy_engine.simulate(sc, seed, r) for r in range(reps)]


def _two_principals(r: float, q: float, t0: float, deadline: float) -> dict[str, Any]:
    """District works t0 days, then hands to two principals through a zone that drops with
    probability 1/2 (no recovery); principals and classrooms work 0 days, classroom
    handoffs are perfect; one classroom per principal, threshold 1: a principal whose
    baton arrived is a showcase at t0 exactly."""
    return {
        "scenario": {"name": "two", "horizon": deadline + 10.0, "year_length": 180.0},
        "levels": [
            {"name": "district", "work": t0},
            {"name": "principal", "count": 2, "work": 0.0,
             "sharing": {"rate": r, "fumble": q, "threshold": 1.0}},
            {"name": "classroom", "count": 1, "work": 0.0},
        ],
        "zones": [{"to": "principal", "fumble": 0.5}],
        "initiatives": [{"name": "a", "deadline": deadline}],
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_closed_form_two_principals(engine: str) -> None:
    r, q, t0, deadline, year = 6.0, 0.3, 20.0, 50.0, 180.0
    sc = scenario_from_dict(_two_principals(r, q, t0, deadline))
    recs = _records(sc, 11, 4000, engine)
    # the replications with exactly one principal dropped (the other showcases from t0)
    one = [x.initiatives[0] for x in recs if x.initiatives[0].zones[1].drops == 1]
    assert len(one) > 1500
    hit = sum(o.coverage == 1.0 for o in one)  # the dropped one's classroom by the deadline
    p = 1.0 - math.exp(-r * (1.0 - q) * (deadline - t0) / year)
    se = math.sqrt(p * (1.0 - p) / len(one))
    assert abs(hit / len(one) - p) < 4.0 * se, (hit / len(one), p, se)
    for o in one:  # the records say what happened
        pc = o.peers[1]
        assert pc.recovered == pc.from_dropped == (1 if o.implemented_total == 2 else 0)
        assert pc.handoffs == pc.recovered + pc.fumbles
        assert o.dropped == 1 - pc.recovered
        assert pc.reached == pc.recovered and pc.implemented == (o.coverage == 1.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_closed_form_mean_shares(engine: str) -> None:
    """Shares are a Poisson process from t0 to the horizon: their mean count per showcase
    is r (H - t0) / Y, whether or not anybody needs them (target = "any")."""
    r, t0, deadline, year = 6.0, 20.0, 50.0, 180.0
    d = _two_principals(r, 0.0, t0, deadline)
    d["levels"][1]["sharing"]["target"] = "any"
    d["zones"][0]["fumble"] = 0.0  # both principals showcase from t0
    sc = scenario_from_dict(d)
    recs = _records(sc, 5, 1000, engine)
    shares = [x.initiatives[0].peers[1].shares for x in recs]
    mean = 2 * r * (sc.horizon - t0) / year
    se = math.sqrt(mean / len(shares))  # Poisson: variance = mean
    assert abs(sum(shares) / len(shares) - mean) < 4.0 * se
    assert all(x.initiatives[0].peers[1].handoffs == 0 for x in recs)  # nobody lacked it


# -------------------------------------------------------------- sharing off

def _without_peers(rec: Any) -> Any:
    return dataclasses.replace(rec, initiatives=tuple(
        dataclasses.replace(o, peers=()) for o in rec.initiatives))


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sharing_off_or_no_recognition_changes_nothing(engine: str, data: Any) -> None:
    chosen = data.draw(st.sets(st.sampled_from([f for f in FEATURES if f != "sharing"])))
    d = data.draw(scenario_dicts(frozenset(chosen) | {"sharing"}))
    k = next(k for k, lv in enumerate(d["levels"]) if "sharing" in lv)
    off = copy.deepcopy(d)
    del off["levels"][k]["sharing"]
    silent = copy.deepcopy(d)
    if data.draw(st.booleans()):
        silent["levels"][k]["sharing"]["recognition"] = 0.0
    else:
        silent["levels"][k]["sharing"].update(rate=0.0, newcomer_rate=0.0)
    base = _records(scenario_from_dict(off), 3, 3, engine)
    quiet = _records(scenario_from_dict(silent), 3, 3, engine)
    n_levels = len(d["levels"])
    for a, b in zip(base, quiet, strict=True):
        assert all(o.peers == () for o in a.initiatives)
        assert all(o.peers[k].shares == 0 and o.peers == (PeerCounts(),) * n_levels
                   for o in b.initiatives)
        assert _without_peers(b) == a


# -------------------------------------------------------------- recognition is monotone

MONOTONE_FEATURES = ("capacity", "windows", "checkpoints", "tank", "turnover", "feedback",
                     "segments", "merged", "max_attempts", "draws")


def _monotone_case(d: dict[str, Any]) -> dict[str, Any]:
    """The conditions under which recognition is monotone: one initiative, no stream, no
    slots, no turnover at or below the sharing level, min_fidelity 0, target "any"."""
    d = copy.deepcopy(d)
    k = next(k for k, lv in enumerate(d["levels"]) if "sharing" in lv)
    d["levels"][k]["sharing"]["target"] = "any"
    for lv in d["levels"][k:]:
        lv.pop("turnover", None)
    for ini in d["initiatives"]:
        ini["min_fidelity"] = 0.0
    return d


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=int(os.environ.get("MONO_N", "40")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_raising_recognition_never_lowers_coverage(engine: str, data: Any) -> None:
    chosen = data.draw(st.sets(st.sampled_from(MONOTONE_FEATURES)))
    d = _monotone_case(data.draw(scenario_dicts(frozenset(chosen) | {"sharing"})))
    k = next(k for k, lv in enumerate(d["levels"]) if "sharing" in lv)
    covs = []
    for rec in (0.0, 0.3, 1.0, 2.5, 8.0):
        d["levels"][k]["sharing"]["recognition"] = rec
        covs.append([x.initiatives[0].coverage
                     for x in _records(scenario_from_dict(d), 5, 4, engine)])
    for lo, hi in itertools.pairwise(covs):
        assert all(b >= a for a, b in zip(lo, hi, strict=True)), covs


def test_targeting_the_lacking_is_not_monotone() -> None:
    """With target = "lacking" a showcase's k-th share goes to one of the peers lacking
    the baton *then*; sharing sooner changes who lacks it, so the same share can go to a
    peer that its baton from above was about to reach, and a dropped one waits longer.
    A scenario where raising recognition lowers coverage in one replication."""
    d = _lacking_counterexample()
    covs = {}
    for rec in (1.0, 1.5):
        d["levels"][1]["sharing"]["recognition"] = rec
        sc = scenario_from_dict(d)
        covs[rec] = [simpy_engine.simulate(sc, 0, r).initiatives[0].coverage
                     for r in range(60)]
    assert any(b < a for a, b in zip(covs[1.0], covs[1.5], strict=True))


def _lacking_counterexample() -> dict[str, Any]:
    return {
        "scenario": {"name": "lacking", "horizon": 120.0},
        "levels": [
            {"name": "district", "work": 5.0},
            {"name": "principal", "count": 6, "work": {"dist": "exponential", "mean": 20.0},
             "capacity": 1,
             "sharing": {"rate": 20.0, "threshold": 1.0, "fumble": 0.5}},
            {"name": "classroom", "count": 1, "work": 0.0},
        ],
        "zones": [{"to": "principal", "fumble": 0.5,
                   "duration": {"dist": "exponential", "mean": 10.0}}],
        "initiatives": [{"name": "a", "deadline": 60.0}],
    }


# -------------------------------------------------------------- partition and checks

@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_classrooms_still_partition_the_district(data: Any) -> None:
    chosen = data.draw(st.sets(st.sampled_from(FEATURES))) | {"sharing"}
    sc = scenario_from_dict(data.draw(scenario_dicts(frozenset(chosen))))
    for r in range(3):
        for o in simpy_engine.simulate(sc, 9, r).initiatives:
            assert min(o.dropped, o.lost, o.in_flight) >= 0
            assert (o.implemented_total + o.below_fidelity + o.dropped + o.lost
                    + o.in_flight) == o.n_classrooms
            pc = o.peers[next(k for k, lv in enumerate(sc.levels) if lv.sharing)]
            assert pc.handoffs == pc.fumbles + pc.recovered + (pc.handoffs - pc.fumbles
                                                               - pc.recovered)
            assert pc.recovered >= pc.from_dropped + pc.from_lost
            assert pc.recovered >= pc.newcomers and pc.reached >= pc.implemented
            assert len(PEER_FIELDS) == len(dataclasses.fields(pc))


@pytest.mark.parametrize(("change", "says"), [
    ({"network": "star"}, "unknown network 'star'"),
    ({"target": "lack"}, "did you mean 'lacking'"),
    ({"network": "segment"}, "'segment' needs segments"),
    ({"recognition": -1.0}, "must be >= 0"),
    ({"threshold": 0.0}, "must be > 0"),
    ({"fumble": 1.0}, "must be >= 0 and < 1"),
    ({"degree": 0}, "must be >= 1"),
    ({"rate2": 1.0}, "unknown key 'rate2'"),
])
def test_bad_sharing_tables_are_refused(change: dict[str, Any], says: str) -> None:
    d = _two_principals(4.0, 0.1, 10.0, 50.0)
    d["levels"][1]["sharing"].update(change)
    with pytest.raises(ScenarioError, match=says):
        scenario_from_dict(d)


def test_sharing_only_on_one_level_below_the_first() -> None:
    d = _two_principals(4.0, 0.1, 10.0, 50.0)
    d["levels"][0]["sharing"] = {}
    d["levels"][2]["sharing"] = {}
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d)
    text = str(e.value)
    assert "the first level has one runner" in text
    assert "only one level may share" in text


def test_without_sharing_the_hash_and_paths_are_unchanged() -> None:
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert not any(".sharing." in p for p in sc.paths())
    assert all("sharing" not in lv for lv in sc.normalized["levels"])
    on = sc.with_values({"levels.principal.sharing.recognition": 2.0})
    assert on.levels[1].sharing is not None and on.levels[1].sharing.share_rate == 8.0
    assert on.hash != sc.hash


def test_networks() -> None:
    from relaysim.engines.network import neighbours
    from relaysim.model.plan import plan_for

    d = _two_principals(4.0, 0.1, 10.0, 50.0)
    d["levels"][1]["count"] = 6
    for net, degree, want in (("all", 2, [1, 2, 3, 4, 5]), ("ring", 2, [1, 5]),
                              ("ring", 3, [1, 2, 5]), ("ring", 9, [1, 2, 3, 4, 5])):
        d["levels"][1]["sharing"].update(network=net, degree=degree)
        sc = scenario_from_dict(d)
        assert neighbours(plan_for(sc), sc.levels[1].sharing, 1, 0, 0)[0] == want
    d["levels"][1]["sharing"].update(network="random", degree=2)
    sc = scenario_from_dict(d)
    graphs = [neighbours(plan_for(sc), sc.levels[1].sharing, 1, 0, rep) for rep in range(3)]
    assert all(len(x) == 2 and i not in x for g in graphs for i, x in enumerate(g))
    assert graphs[0] != graphs[1]  # a new graph each replication
    assert graphs[0] == neighbours(plan_for(sc), sc.levels[1].sharing, 1, 0, 0)
