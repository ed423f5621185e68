"""Parameters given as distributions (a population of districts): exact mixtures, common
random numbers, and the checks on bad input."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from relaysim import load_scenario
from relaysim.engines import fast, simpy_engine
from relaysim.engines.realize import realize, replication_values
from relaysim.errors import ScenarioError
from relaysim.model.draws import DRAW_FAMILIES, make_draw
from relaysim.model.scenario import scenario_from_dict
from relaysim.study.run import run

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"


def one_zone(n: int, fumble: Any, threshold: float = 1.0) -> dict[str, Any]:
    """District -> n classrooms through one zone: one attempt each, no recovery, neutral
    trust and clarity (so an attempt fumbles with exactly the zone's risk), instant work
    and a deadline no handoff can miss."""
    return {
        "scenario": {"name": "one_zone", "horizon": 1000.0},
        "levels": [{"name": "district", "work": 0.0},
                   {"name": "classroom", "count": n, "work": 0.0, "trust": 0.5}],
        "zones": [{"to": "classroom", "fumble": fumble, "max_attempts": 1,
                   "duration": {"dist": "fixed", "value": 1.0}}],
        "initiatives": [{"name": "x", "deadline": 1000.0, "clarity": 0.5,
                         "success_threshold": threshold}],
    }


def rates(d: dict[str, Any], reps: int, seed: int = 11) -> tuple[float, float]:
    res = run(scenario_from_dict(d), reps=reps, seed=seed, workers=1)
    ini = res.initiative()
    return ini["completion_rate"]["estimate"], ini["coverage"]["mean"]


def test_fumble_drawn_per_replication_from_a_beta_completes_one_minus_its_mean():
    """One zone, fumble ~ Beta(a, b) per replication: completion = 1 - a / (a + b)."""
    a, b = 2.0, 8.0
    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    reps = 4000
    got, _ = rates(one_zone(1, {"dist": "beta", "mean": mean, "sd": sd}), reps)
    exact = 1 - a / (a + b)
    se = math.sqrt(exact * (1 - exact) / reps)
    assert abs(got - exact) < 4 * se, (got, exact, se)


def test_per_replication_risk_shared_by_n_classrooms_gives_the_beta_binomial_mixture():
    """Fumble ~ Beta per replication, shared by 8 classrooms, success with >= 6: the
    completion is the mixture integral of the binomial tail over the Beta (quadrature)."""
    n, k, mean, sd = 8, 6, 0.25, 0.15
    fam = make_draw({"dist": "beta", "mean": mean, "sd": sd})
    a, b = fam._ab()
    exact, _ = integrate.quad(lambda p: stats.binom.sf(k - 1, n, 1 - p) *
                              stats.beta.pdf(p, a, b), 0, 1)
    reps = 4000
    got, _ = rates(one_zone(n, {"dist": "beta", "mean": mean, "sd": sd}, k / n), reps)
    se = math.sqrt(exact * (1 - exact) / reps)
    assert abs(got - exact) < 4 * se, (got, exact, se)


def test_per_runner_risks_make_classrooms_independent_with_the_mean_risk():
    """Fumble ~ Beta per classroom: each implements with probability 1 - mean,
    independently, so completion (>= 6 of 8) is a binomial tail; the same Beta drawn per
    replication (above) gives a wider mixture, and the two differ."""
    n, k, mean, sd = 8, 6, 0.25, 0.15
    reps = 4000
    got, cov = rates(one_zone(n, {"dist": "beta", "mean": mean, "sd": sd,
                                  "per": "runner"}, k / n), reps)
    exact = stats.binom.sf(k - 1, n, 1 - mean)
    se = math.sqrt(exact * (1 - exact) / reps)
    assert abs(got - exact) < 4 * se, (got, exact, se)
    assert abs(cov - (1 - mean)) < 4 * math.sqrt(mean * (1 - mean) / (n * reps))


SPREADLESS = [
    ({"dist": "beta", "mean": 0.3, "sd": 0.0}, 0.3),
    ({"dist": "truncnormal", "mean": 0.3, "sd": 0.0, "low": 0.0, "high": 0.9}, 0.3),
    ({"dist": "uniform", "low": 0.3, "high": 0.3}, 0.3),
    ({"dist": "triangular", "low": 0.3, "mode": 0.3, "high": 0.3}, 0.3),
    ({"dist": "choice", "values": [0.3]}, 0.3),
]


@pytest.mark.parametrize("dist,value", SPREADLESS, ids=[d["dist"] for d, _ in SPREADLESS])
@pytest.mark.parametrize("per", ["replication", "runner"])
def test_a_distribution_without_spread_is_the_plain_value(dist, value, per):
    sc = load_scenario(MINIMAL)
    plain = sc.with_values({"zones.classroom.fumble": value,
                            "levels.principal.trust": value})
    drawn = sc.with_values({"zones.classroom.fumble": {**dist, "per": per},
                            "levels.principal.trust": {**dist, "per": per}})
    for rep in range(6):
        assert simpy_engine.simulate(drawn, 3, rep) == simpy_engine.simulate(plain, 3, rep)
    assert fast.simulate_chunk(drawn, 3, 0, 30) == fast.simulate_chunk(plain, 3, 0, 30)


def test_lognormal_without_spread_is_the_plain_value():
    sc = load_scenario(MINIMAL)
    plain = sc.with_values({"effects.load": 1.4})
    drawn = sc.with_values({"effects.load": {"dist": "lognormal", "median": 1.4,
                                             "sigma": 0.0}})
    assert fast.simulate_chunk(drawn, 5, 0, 40) == fast.simulate_chunk(plain, 5, 0, 40)


PATHS = ["zones.classroom.fumble", "levels.principal.trust", "effects.trust",
         "levels.classroom.work.mean", "zones.principal.recover"]


def _draw_for(path: str, spread: float, per: str) -> dict[str, Any]:
    if path == "effects.trust":
        return {"dist": "uniform", "low": 2 - spread, "high": 2 + spread}
    if path == "levels.classroom.work.mean":
        return {"dist": "triangular", "low": 20 - 10 * spread, "mode": 20,
                "high": 20 + 10 * spread, "per": per}
    return {"dist": "beta", "mean": 0.4, "sd": 0.3 * spread, "per": per}


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changing_one_distribution_leaves_the_other_draws_alone(data):
    """Common random numbers: the draws of parameter B do not depend on A's distribution
    (or on whether A is drawn at all)."""
    a_path, b_path = data.draw(st.lists(st.sampled_from(PATHS), min_size=2, max_size=2,
                                        unique=True))
    per_b = "replication" if b_path == "effects.trust" else data.draw(
        st.sampled_from(["replication", "runner"]))
    per_a = "replication" if a_path == "effects.trust" else "runner"
    base = load_scenario(MINIMAL).with_values({b_path: _draw_for(b_path, 1.0, per_b)})
    spread = data.draw(st.sampled_from([0.2, 0.6, 1.0]))
    other = base.with_values({a_path: _draw_for(a_path, spread, per_a)})
    seed, rep = data.draw(st.integers(0, 2**40)), data.draw(st.integers(0, 10**6))

    def b_values(sc: Any) -> Any:
        r = realize(sc, seed, rep)
        return replication_values(sc, seed, rep).get(b_path), dict(r.runner_values).get(
            b_path)

    assert b_values(base) == b_values(other)


def test_draws_on_parameters_that_do_nothing_leave_the_results_alone():
    """The parameter streams are separate from the engine's: drawing a parameter that has
    no effect here (the review interval without reviews, a newcomer's trust where nobody
    leaves) gives the records of the plain scenario."""
    sc = load_scenario(MINIMAL)
    drawn = sc.with_values({
        "feedback.interval": {"dist": "uniform", "low": 10, "high": 90},
        "levels.principal.new_trust": {"dist": "triangular", "low": 0.1, "mode": 0.5,
                                       "high": 0.9, "per": "runner"}})
    assert drawn.draws
    assert fast.simulate_chunk(drawn, 9, 0, 60) == fast.simulate_chunk(sc, 9, 0, 60)
    assert simpy_engine.simulate(drawn, 9, 4) == simpy_engine.simulate(sc, 9, 4)


def test_bundled_scenarios_draw_nothing():
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        sc = load_scenario(path)
        if not sc.draws:
            assert realize(sc, 1, 2) is sc


@pytest.mark.parametrize("family", sorted(DRAW_FAMILIES))
def test_each_family_draws_within_its_support_and_is_monotone(family):
    table = {"beta": {"mean": 0.3, "sd": 0.2}, "truncnormal": {"mean": 1, "sd": 2,
                                                                "low": 0, "high": 3},
             "lognormal": {"median": 2, "sigma": 0.5}, "uniform": {"low": 1, "high": 4},
             "triangular": {"low": 1, "mode": 2, "high": 5},
             "choice": {"values": [1, 3, 7], "weights": [1, 2, 1]}}[family]
    d = make_draw({"dist": family, **table})
    u = np.linspace(0, 1, 501, endpoint=False)
    x = np.array([d.value(float(v)) for v in u])
    lo, hi, _, _ = d.support()
    assert (x >= lo).all() and (x <= hi).all()
    assert (np.diff(x) >= 0).all()  # inverse CDF: common random numbers keep their order
    # the per-runner (vector) form is the same inverse CDF, equal bit for bit: a parameter
    # drawn per runner gets the values it would get drawn per replication
    assert np.array_equal(d.many(u), x)


def test_the_distribution_of_draws_matches_the_family():
    """Per-runner beta draws over many runners and replications: mean and sd as given."""
    sc = load_scenario(MINIMAL).with_values(
        {"levels.classroom.trust": {"dist": "beta", "mean": 0.6, "sd": 0.1,
                                    "per": "runner"}})
    x = np.concatenate([dict(realize(sc, 4, rep).runner_values)["levels.classroom.trust"]
                        for rep in range(400)])
    assert abs(x.mean() - 0.6) < 4 * 0.1 / math.sqrt(x.size)
    assert abs(x.std() - 0.1) < 0.01


def test_set_reaches_a_distributions_own_parameters():
    sc = load_scenario(MINIMAL, {"levels.principal.trust": {"dist": "beta", "mean": 0.6,
                                                            "sd": 0.1, "per": "runner"}})
    wider = sc.with_values({"levels.principal.trust.sd": 0.2})
    assert wider.get("levels.principal.trust")["sd"] == 0.2
    assert sc.hash != wider.hash
    assert "levels.principal.trust.sd" in wider.paths()


def _cli(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relaysim", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


BAD = [
    ('levels.principal.trust={dist="lognormal",median=0.5,sigma=0.2}',
     "levels.principal.trust", "outside the parameter's range"),
    ('zones.classroom.fumble={dist="uniform",low=0.1,high=1.2}',
     "zones.classroom.fumble", "outside the parameter's range"),
    ('levels.principal.trust={dist="betta",mean=0.5,sd=0.1}',
     "levels.principal.trust.dist", "unknown distribution 'betta'; did you mean 'beta'"),
    ('effects.trust={dist="uniform",low=1,high=3,per="runner"}',
     "effects.trust.per", "needs a parameter of each runner"),
    ('initiatives.reading.clarity={dist="beta",mean=0.5,sd=0.1,per="runner"}',
     "initiatives.reading.clarity.per", "needs a parameter of each runner"),
    ('levels.principal.trust={dist="beta",mean=0.5,sd=0.1,per="school"}',
     "levels.principal.trust.per", "must be one of replication, runner"),
    ('levels.principal.capacity={dist="uniform",low=1,high=3}',
     "levels.principal.capacity", "whole-number parameter"),
    ('levels.classroom.count={dist="choice",values=[2,3]}',
     "levels.classroom.count", "cannot be drawn"),
]


@pytest.mark.parametrize("setting,path,words", BAD, ids=[b[1] for b in BAD])
def test_bad_distributions_are_refused_with_their_dotted_path(setting, path, words, tmp_path):
    out = tmp_path / "o.json"
    p = _cli("run", MINIMAL, "--reps", 5, "--set", setting, "--per-rep", out)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert f"{path}:" in p.stderr and words in p.stderr, p.stderr
    assert not out.exists()


def test_a_bad_distribution_in_a_file_names_the_file(tmp_path):
    text = MINIMAL.read_text().replace("fumble = 0.10", 'fumble = { dist = "beta", '
                                       'mean = 0.1, sd = 0.5 }')
    f = tmp_path / "bad.toml"
    f.write_text(text)
    p = _cli("validate", f)
    assert p.returncode == 2
    assert str(f) in p.stderr and "zones.classroom.fumble.sd" in p.stderr, p.stderr


def test_run_records_each_replications_district(tmp_path):
    setting = 'effects.trust={dist="uniform",low=1,high=3}'
    p = _cli("run", MINIMAL, "--reps", 20, "--seed", 3, "--set", setting, "--json",
             "--per-rep", tmp_path / "r.csv")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    sc = load_scenario(MINIMAL, {"effects.trust": {"dist": "uniform", "low": 1, "high": 3}})
    want = [replication_values(sc, 3, rep)["effects.trust"] for rep in range(20)]
    got = doc["drawn_parameters"]["effects.trust"]["values"]
    assert np.allclose(got, want, rtol=1e-6)
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "drawn.effects.trust"
    assert float(rows[1].split(",")[-1]) == want[0]


def test_a_segment_may_not_set_a_drawn_parameter():
    raw = copy.deepcopy(load_scenario(ROOT / "scenarios" / "minimal.toml").raw)
    raw["levels"][1]["segments"] = [{"name": "red", "share": 0.5,
                                     "set": {"zones.classroom.fumble": 0.3}}]
    raw["zones"][1]["fumble"] = {"dist": "beta", "mean": 0.1, "sd": 0.05}
    with pytest.raises(ScenarioError, match=r"zones\.classroom\.fumble.*segment 'red'"):
        scenario_from_dict(raw)
    raw["zones"][1]["fumble"] = 0.1
    raw["levels"][1]["segments"][0]["set"] = {"zones.classroom.fumble": {
        "dist": "beta", "mean": 0.1, "sd": 0.05}}
    with pytest.raises(ScenarioError, match="sets values, not distributions"):
        scenario_from_dict(raw)


def test_explorer_sliders_move_a_drawn_parameters_centre():
    from relaysim.app.levers import default_levers

    sc = load_scenario(MINIMAL, {
        "zones.principal.fumble": {"dist": "beta", "mean": 0.15, "sd": 0.05},
        "levels.principal.trust": {"dist": "uniform", "low": 0.3, "high": 0.7,
                                   "per": "runner"}})
    paths = {lv.path: lv for lv in default_levers(sc)}
    assert paths["zones.principal.fumble.mean"].base == 0.15
    assert "(drawn), average" in paths["zones.principal.fumble.mean"].label
    assert not any(p.startswith("levels.principal.trust") for p in paths)  # no centre
    moved = sc.with_values({"zones.principal.fumble.mean": 0.3})
    assert moved.draws[-1].dist.mean == 0.3
