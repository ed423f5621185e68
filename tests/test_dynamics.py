"""Dynamics (MODEL.md "Dynamics", "Initiatives", check 5): the tank, turnover and succession,
feedback reviews, the initiative stream, segments and merged roles.

Every test uses fixed seeds, so a run is a pure function of its inputs and nothing here is
flaky. Statistical tolerances are still derived from standard errors (each derivation is in a
comment), so that a seed change would not break a correct engine and a wrong engine would not
pass by luck:

* agreement with a known value ("the engine matches theory"): |estimate - truth| < Z_MATCH SE,
  Z_MATCH = 4 (two-sided false-alarm probability 6e-5 for a correct engine);
* a directional claim that must not be violated ("never helps"): mean <= 0 + 3 SE;
* a directional effect that must be present ("significantly worse"): mean + 3 SE < 0.

Tests that document an engine or validation bug are marked xfail(strict=True): they fail
today and will XPASS (and so fail the run, prompting removal of the mark) once fixed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from relaysim.engines import select
from relaysim.engines.simpy_engine import Relay, simulate
from relaysim.errors import ScenarioError
from relaysim.model.plan import fumble_probability, plan_for
from relaysim.model.scenario import Scenario, scenario_from_dict
from relaysim.present.trace import trace
from relaysim.study.run import RunResult, run

Z_MATCH = 4.0  # see the module docstring
Z_DIRECTION = 3.0

slow = pytest.mark.slow


# --------------------------------------------------------------------------- helpers

#: the closed-form and exact-equality checks run on both engines (same records)
ENGINES = ("simpy", "fast")


@pytest.fixture(params=ENGINES)
def engine(request: Any) -> str:
    return request.param


def _on(engine: str, sc: Scenario, seed: int, rep: int) -> Any:
    """Replication `rep` of `sc` on `engine` ("simpy" or "fast")."""
    return select.chunk_runner(engine)(sc, seed, rep, rep + 1)[0]


def _sc(raw: dict[str, Any]) -> Scenario:
    return scenario_from_dict(copy.deepcopy(raw))


def _problems(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem the validator reports, as {dotted path: [messages]}."""
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(copy.deepcopy(raw))
    out: dict[str, list[str]] = defaultdict(list)
    for p in info.value.problems:
        out[p.path].append(p.message)
    return dict(out)


def _events(tr: Any, kind: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in tr.events
            if e["event"] == kind and all(e.get(k) == v for k, v in match.items())]


def _mean_se(x: Any) -> tuple[float, float]:
    """Mean of independent observations and its standard error (sample sd / sqrt(n))."""
    a = np.asarray(x, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


def _probe_tank(sc: Scenario, times: list[float], p: int = 0, i: int = 0,
                seed: int = 0, rep: int = 0) -> dict[float, float]:
    """Runner (p, i)'s tank level read through the engine (`Relay._tank_now`) at `times`.

    A probe process steps the replication's own environment to each time; the tank is
    continuous in time, so which of several simultaneous events runs first does not matter.
    """
    relay = Relay(sc, seed, rep)
    env = relay.env
    got: dict[float, float] = {}

    def probe() -> Any:
        for t in times:
            yield env.timeout(t - env.now)
            got[t] = relay._tank_now(p, i)

    env.process(probe())
    relay.run()
    return got


def _conserved(o: Any) -> bool:
    return (o.implemented_total + o.below_fidelity + o.dropped + o.lost + o.in_flight
            == o.n_classrooms)


# --------------------------------------------------------------------------- Erlang C


def _erlang_c(c: int, a: float) -> float:
    """P(wait) in M/M/c with offered load a = lambda / mu (a < c)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_erlang_c_formula_matches_figures():
    """The closed form used below reproduces FIGURES.md's numbers."""
    c3 = _erlang_c(3, 0.2 / 0.1)
    assert c3 == pytest.approx(4 / 9)  # 0.444
    assert c3 / (3 * 0.1 - 0.2) == pytest.approx(4.44, abs=0.005)
    assert _erlang_c(1, 3 / 5) / (5 - 3) == pytest.approx(0.3)


def _queue_scenario(lam: float, mu: float, c: int, horizon: float) -> Scenario:
    # year_length 1 makes the stream's `rate` a per-day rate; the classroom level is
    # instant so batons finish; deadline_after is irrelevant (only the queue is measured)
    return _sc({
        "scenario": {"name": f"mm{c}", "horizon": horizon, "year_length": 1.0},
        "levels": [
            {"name": "district", "capacity": c,
             "work": {"dist": "exponential", "mean": 1.0 / mu}},
            {"name": "classroom"},
        ],
        "initiative_stream": {"rate": lam, "template": {"deadline_after": 1.0}},
    })


@slow
@pytest.mark.parametrize(
    ("lam", "mu", "c", "horizon"),
    [(0.2, 0.1, 3, 20_000.0), (3.0, 5.0, 1, 1_000.0)],
    ids=["M/M/3", "M/M/1"],
)
def test_poisson_stream_into_one_runner_has_erlang_c_wait(lam, mu, c, horizon):
    """MODEL check 5: mean queue wait and P(wait) at the district match Erlang C."""
    sc = _queue_scenario(lam, mu, c, horizon)
    reps, seed = 16, 2024
    # Waits inside one replication are autocorrelated, so the SE of the within-replication
    # mean is not sd/sqrt(n_batons). Independent replications are independent batch means:
    # SE = sd(per-replication means) / sqrt(reps), which accounts for the correlation.
    # Transient: each replication starts empty. The bias of a time average started empty is
    # of order Wq * t_relax / horizon, with relaxation time t_relax ~ 1/(c mu (1-sqrt(rho))^2):
    # ~100 days for M/M/3 (rho 2/3) and ~4 days for M/M/1 (rho 0.6), i.e. a relative bias
    # <= 0.5% at these horizons (20 000 and 1 000 days), far below 4 SE (about 15-20% of Wq
    # here), so the transient is not discarded but made negligible.
    records, means, p_wait = [], [], []
    for rep in range(reps):
        waited: list[float] = []

        def hear(t, event, _w=waited, **data):
            if event == "start" and data["level"] == 0:
                _w.append(data["waited"])

        r = simulate(sc, seed, rep, tracer=hear)
        records.append(r)
        lv = r.levels[0]
        # the record counts a baton's wait when its work ends, the trace when it starts:
        # they differ only by the (at most c) batons still being worked at the horizon
        assert len(waited) - c <= lv.waits <= len(waited)
        assert lv.waits > 0.5 * lam * horizon
        means.append(lv.wait_total / lv.waits)
        p_wait.append(float(np.mean(np.asarray(waited) > 0)))

    a = lam / mu
    C = _erlang_c(c, a)
    wq = C / (c * mu - lam)
    summary = RunResult(scenario=sc, seed=seed, reps=reps, replications=records).summary
    wait_mean = summary["levels"]["district"]["wait_mean"]
    m, se = _mean_se(means)
    assert se < 0.1 * wq  # the test has the precision to see a 40% error
    # the summary pools batons (a ratio estimator); replications are equally long, so its
    # standard error is that of the mean of replication means to first order
    assert abs(wait_mean - wq) < Z_MATCH * se, (wait_mean, wq, se)
    assert abs(m - wq) < Z_MATCH * se, (m, wq, se)
    pm, pse = _mean_se(p_wait)
    assert abs(pm - C) < Z_MATCH * pse, (pm, C, pse)
    # the last level is instant: nobody waits there
    assert summary["levels"]["classroom"]["wait_mean"] == 0.0


# --------------------------------------------------------------------------- the tank

_TANK_RAW = {
    "scenario": {"horizon": 100.0},
    "levels": [
        {"name": "district", "capacity": 2, "work": 4.0,
         "tank": {"drain": 0.1, "recovery": 0.05, "floor": 0.3}},
        {"name": "classroom"},
    ],
    "initiatives": [{"name": "a", "launch": 0.0}, {"name": "b", "launch": 2.0},
                    {"name": "c", "launch": 8.0}],
}


def _tank_by_hand(t: float) -> float:
    """The district's tank, computed by hand for _TANK_RAW (drain 0.1 per baton being
    worked, recovery 0.05 when idle, clamped to [0, 1]; work 4 / max(level, floor 0.3)):

    a: works [0, 4)            level 1.0 at 0
    b: starts at 2, level 0.8, work 4 / 0.8 = 5, so works [2, 7)
       [0, 2) one baton: 1 - 0.1 t;  [2, 4) two: 0.8 - 0.2 (t-2);  [4, 7) one: 0.4 - 0.1 (t-4)
    idle [7, 8): 0.1 + 0.05 (t-7)
    c: starts at 8, level 0.15 < floor, work 4 / 0.3 = 13.33.., so works [8, 21.33..)
       0.15 - 0.1 (t-8) hits 0 at 9.5 and stays there (clamp) until 21.33..
    idle from 21.33..: 0.05 (t - 21.33..), reaching 1 at 41.33.. and staying there (clamp)
    """
    end_c = 8 + 4 / 0.3
    if t <= 2:
        return 1 - 0.1 * t
    if t <= 4:
        return 0.8 - 0.2 * (t - 2)
    if t <= 7:
        return 0.4 - 0.1 * (t - 4)
    if t <= 8:
        return 0.1 + 0.05 * (t - 7)
    if t <= end_c:
        return max(0.0, 0.15 - 0.1 * (t - 8))
    return min(1.0, 0.05 * (t - end_c))


def test_tank_level_is_the_hand_computed_piecewise_linear_path():
    """Tank level between events: drain per baton, recovery when idle, clamps at 0 and 1."""
    sc = _sc(_TANK_RAW)
    end_c = 8 + 4 / 0.3
    times = [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.5, 7.0, 7.5, 8.0, 9.0, 9.5, 9.75, 15.0,
             end_c, 25.0, 30.0, 41.0, 8 + 4 / 0.3 + 20.0, 45.0, 60.0]
    got = _probe_tank(sc, times)
    for t in times:
        assert got[t] == pytest.approx(_tank_by_hand(t), abs=1e-9), t
    assert got[15.0] == 0.0 and got[9.75] == 0.0  # clamped at empty while working
    assert got[45.0] == 1.0 and got[60.0] == 1.0  # clamped at full while idle
    assert got[0.0] == 1.0  # every runner starts full


def test_tank_stretches_work_by_the_level_at_start_with_floor():
    """'start' events show work / max(level, floor): 4, 4/0.8, 4/0.3 (level 0.15 < floor)."""
    tr = trace(_sc(_TANK_RAW))
    work = {e["initiative"]: e["work"] for e in _events(tr, "start", level=0)}
    assert work["a"] == pytest.approx(4.0, abs=1e-9)
    assert work["b"] == pytest.approx(4.0 / 0.8, abs=1e-9)
    assert work["c"] == pytest.approx(4.0 / 0.3, abs=1e-9)
    fin = {e["initiative"]: e["t"] for e in _events(tr, "finish", level=0)}
    assert fin == pytest.approx({"a": 4.0, "b": 7.0, "c": 8 + 4 / 0.3}, abs=1e-6)


def test_no_drain_means_no_tank_effect():
    """A tank with drain 0 (the default) never stretches work or raises fumble odds."""
    raw = copy.deepcopy(_TANK_RAW)
    raw["levels"][0]["tank"] = {"drain": 0.0, "recovery": 0.0, "floor": 0.5}
    work = [e["work"] for e in _events(trace(_sc(raw)), "start", level=0)]
    assert work == [4.0, 4.0, 4.0]


def _check_tank_raw(check: float, launch_b: float) -> dict[str, Any]:
    # a's leg at the school drains the school's tank 1 -> 0.5 over [0, 5); recovery 0.1/day
    return {
        "scenario": {"horizon": 100.0},
        "levels": [
            {"name": "district"},
            {"name": "school", "work": 5.0,
             "tank": {"drain": 0.1, "recovery": 0.1, "floor": 0.3, "check_tank": check}},
        ],
        "zones": [{"to": "school", "fumble": 0.1}],
        "initiatives": [{"name": "a", "launch": 0.0},
                        {"name": "b", "launch": launch_b, "clarity": 0.7}],
    }


@pytest.mark.parametrize(("launch_b", "level_then"), [(3.0, 0.7), (6.0, 0.6)])
def test_check_tank_giver_waits_until_receiver_level_reaches_threshold(launch_b, level_then):
    """check_tank 0.9: b reaches the school's zone at launch_b with the tank at 0.7 (still
    draining: the wait needs a's release) or 0.6 (recovering); either way the level is
    0.5 at day 5 and reaches 0.9 at 5 + 0.4 / 0.1 = 9, exactly when the exchange starts."""
    sc = _sc(_check_tank_raw(0.9, launch_b))
    tr = trace(sc)
    (wait,) = _events(tr, "tank_wait", initiative="b")
    assert wait["t"] == pytest.approx(launch_b, abs=1e-9)
    assert wait["tank"] == pytest.approx(level_then, abs=1e-9)
    assert wait["need"] == 0.9
    (ex,) = _events(tr, "exchange", initiative="b")
    assert ex["t"] == pytest.approx(9.0, abs=1e-6)
    # the receiver's tank when the exchange starts is the threshold, and it raises the odds
    ini_b = sc.initiatives[1]
    assert ex["p_fumble"] == pytest.approx(fumble_probability(sc, 1, ini_b, tank=0.9), abs=1e-12)
    assert _probe_tank(sc, [9.0], p=1)[9.0] == pytest.approx(0.9, abs=1e-9)
    # and the school's work on b is stretched by that level
    (st,) = _events(tr, "start", initiative="b", level=1)
    assert st["work"] == pytest.approx(5.0 / 0.9, abs=1e-9)
    assert not _events(tr, "tank_wait", initiative="a")


@pytest.mark.parametrize(("launch_b", "held", "level"), [(3.0, 1, 0.7), (6.0, 0, 0.6)])
def test_depleted_receiver_fumble_probability(launch_b, held, level):
    """Without check_tank the exchange happens at once; its fumble probability is
    fumble_probability(..., held, tank=level) with the receiver's level then."""
    sc = _sc(_check_tank_raw(0.0, launch_b))
    tr = trace(sc)
    assert not _events(tr, "tank_wait")
    (ex,) = _events(tr, "exchange", initiative="b")
    assert ex["t"] == pytest.approx(launch_b, abs=1e-9)
    want = fumble_probability(sc, 1, sc.initiatives[1], held=held, tank=level)
    assert ex["p_fumble"] == pytest.approx(want, abs=1e-12)
    assert ex["p_fumble"] > fumble_probability(sc, 1, sc.initiatives[1], held=held)
    (ex_a,) = _events(tr, "exchange", initiative="a")
    assert ex_a["p_fumble"] == pytest.approx(0.1, abs=1e-12)  # all factors neutral


# --------------------------------------------------------------------------- turnover


@slow
def test_departures_per_runner_year_match_the_rate(engine):
    """Departures are Poisson at `turnover` per runner-year (vacancy 0: always occupied)."""
    rate, n_schools, horizon, year, reps = 0.5, 50, 360.0, 180.0, 40
    sc = _sc({
        "scenario": {"horizon": horizon, "year_length": year},
        "levels": [{"name": "district"},
                   {"name": "school", "count": n_schools, "turnover": rate},
                   {"name": "classroom", "count": 2}],
        "initiatives": [{"name": "a"}],
    })
    res = run(sc, reps=reps, seed=3, workers=1, engine=engine)
    count = sum(r.levels[1].departures for r in res.replications)
    expected = rate * n_schools * reps * horizon / year  # 2000 runner-departures
    # a sum of independent Poisson counts is Poisson: SE = sqrt(expected)
    assert abs(count - expected) < Z_MATCH * math.sqrt(expected), (count, expected)
    assert res.summary["levels"]["school"]["departures"] == pytest.approx(count / reps)
    assert all(r.levels[k].departures == 0 for r in res.replications for k in (0, 2))


def _turnover_raw(**school: Any) -> dict[str, Any]:
    lv = {"name": "school", "count": 6, "capacity": 10, "work": 60.0, "turnover": 3.0,
          "vacancy": 15.0}
    lv.update(school)
    return {
        "scenario": {"horizon": 720.0},
        "levels": [{"name": "district"}, lv, {"name": "classroom", "count": 3}],
        "initiatives": [{"name": f"i{k}", "launch": 20.0 * k} for k in range(4)],
    }


def test_loss_on_turnover_one_loses_every_held_baton_for_good():
    """loss_on_turnover 1, no succession: a baton held at a departure is lost, and the
    classrooms under that runner never get it."""
    sc = _sc(_turnover_raw(loss_on_turnover=1.0))
    n_lost = 0
    for rep in range(8):
        tr = trace(sc, 1, rep)
        for d in _events(tr, "departure"):
            assert d["kept"] == 0
        lost = _events(tr, "lost")
        n_lost += len(lost)
        for e in lost:
            assert e["level"] == 1 and e["classrooms"] == 3
            under = set(range(3 * e["runner"], 3 * e["runner"] + 3))
            reached = {x["runner"] for x in _events(tr, "reached", initiative=e["initiative"])}
            assert not under & reached
            # nothing of that initiative is even started below the leaver
            assert not [x for x in _events(tr, "start", initiative=e["initiative"], level=2)
                        if x["runner"] in under]
        for o in tr.record.initiatives:
            assert o.lost == 3 * len(_events(tr, "lost", initiative=o.name))
            assert _conserved(o)
    assert n_lost > 10  # the scenario does exercise losses


def test_succession_zero_loses_nothing():
    """succession 0 overrides loss_on_turnover 1: held batons wait for the new runner."""
    sc = _sc(_turnover_raw(loss_on_turnover=1.0, succession=0.0))
    departures = kept = 0
    for rep in range(8):
        tr = trace(sc, 1, rep)
        assert not _events(tr, "lost")
        assert all(o.lost == 0 and _conserved(o) for o in tr.record.initiatives)
        departures += tr.record.levels[1].departures
        kept += sum(d["kept"] for d in _events(tr, "departure"))
    assert departures > 0 and kept > 0


@slow
def test_partial_succession_loses_the_stated_share():
    """succession 0.3: each baton held at a departure is lost with probability 0.3."""
    sc = _sc(_turnover_raw(count=10, succession=0.3, loss_on_turnover=0.9))
    lost = kept = 0
    for rep in range(40):
        for d in _events(trace(sc, 5, rep), "departure"):
            lost += d["lost"]
            kept += d["kept"]
    n = lost + kept
    # independent Bernoulli(0.3) draws: SE = sqrt(0.3 * 0.7 / n)
    assert n > 1000
    assert abs(lost / n - 0.3) < Z_MATCH * math.sqrt(0.3 * 0.7 / n)


def test_vacant_post_starts_no_work_and_takes_no_exchange_until_filled():
    """After a 'departure' nothing starts at (or is handed to) that runner before 'filled';
    batons kept through the vacancy start exactly when the post is filled."""
    raw = _turnover_raw(succession=0.0)
    raw["zones"] = [{"to": "school", "duration": 1.0}]
    sc = _sc(raw)
    restarted = 0
    for rep in range(8):
        tr = trace(sc, 2, rep)
        vacant: dict[int, float] = {}
        filled_at: dict[int, float] = {}
        for e in tr.events:
            if e.get("level") != 1:
                continue
            i = e["runner"]
            if e["event"] == "departure":
                assert i not in vacant
                vacant[i] = e["t"]
            elif e["event"] == "filled":
                assert e["t"] == pytest.approx(vacant.pop(i) + 15.0, abs=1e-6)
                filled_at[i] = e["t"]
            elif e["event"] in ("start", "exchange"):
                assert i not in vacant, e
                if e["event"] == "start" and e["waited"] > 0:
                    # capacity 10 > 4 batons: only a vacancy makes a baton wait
                    assert e["t"] == filled_at[i]
                    restarted += 1
    assert restarted > 0


def test_new_trust_sets_the_fumble_odds_into_a_filled_post():
    """After 'filled', exchanges into that runner use new_trust (trace p_fumble)."""
    sc = _sc({
        "scenario": {"horizon": 600.0},
        "levels": [{"name": "district"},
                   {"name": "school", "count": 2, "trust": 0.8, "new_trust": 0.2,
                    "turnover": 1.0}],
        "zones": [{"to": "school", "fumble": 0.2, "duration": 1.0}],
        "initiatives": [{"name": f"i{k}", "launch": 10.0 * k, "clarity": 0.3 + 0.01 * k}
                        for k in range(60)],
    })
    inis = {ini.name: ini for ini in sc.initiatives}
    seen = {"old": 0, "new": 0}
    for rep in range(3):
        tr = trace(sc, 4, rep)
        filled: set[int] = set()
        for e in tr.events:
            if e["event"] == "filled":
                filled.add(e["runner"])
            elif e["event"] == "exchange":
                # school work is instant, so a receiver never holds another baton
                new = e["runner"] in filled
                trust = 0.2 if new else 0.8
                want = fumble_probability(sc, 1, inis[e["initiative"]], trust=trust)
                assert e["p_fumble"] == pytest.approx(want, abs=1e-12)
                seen["new" if new else "old"] += 1
    assert seen["old"] > 10 and seen["new"] > 10


def test_new_runner_starts_with_a_full_tank():
    """A kept baton restarting at the filled post gets work / 1: the tank is full again."""
    # capacity above the number of batons, so no baton is queued at a departure (see
    # test_kept_queued_baton_survives_a_departure for what happens then)
    raw = _turnover_raw(succession=0.0, work=20.0, capacity=40,
                        tank={"drain": 0.02, "recovery": 0.0, "floor": 0.1})
    raw["initiatives"] = [{"name": f"i{k}", "launch": 5.0 * k} for k in range(30)]
    sc = _sc(raw)
    at_fill = 0
    for rep in range(4):
        tr = trace(sc, 6, rep)
        fills = {(e["runner"], e["t"]) for e in _events(tr, "filled", level=1)}
        first_start_after: dict[tuple[int, float], float] = {}
        for e in _events(tr, "start", level=1):
            for i, tf in fills:
                if e["runner"] == i and e["t"] == tf:
                    first_start_after.setdefault((i, tf), e["work"])
        for work in first_start_after.values():
            assert work == pytest.approx(20.0, abs=1e-9)
            at_fill += 1
        # without recovery the tank only empties, so work before any turnover stretches
        assert max(e["work"] for e in _events(tr, "start", level=1)) > 20.0
    assert at_fill > 0


# --------------------------------------------------------------------------- common random
# numbers: directional properties

_DIR_RAW = {
    "scenario": {"horizon": 360.0},
    "levels": [
        {"name": "district", "work": {"dist": "exponential", "mean": 10.0}},
        {"name": "principal", "count": 4, "work": {"dist": "gamma", "mean": 30.0, "cv": 0.5},
         "turnover": 0.2, "vacancy": {"dist": "exponential", "mean": 30.0},
         "tank": {"drain": 0.02, "recovery": 0.05, "floor": 0.2}},
        {"name": "classroom", "count": 5, "work": {"dist": "exponential", "mean": 20.0},
         "turnover": 0.1},
    ],
    "zones": [
        {"to": "principal", "fumble": 0.1, "recover": 0.5,
         "duration": {"dist": "exponential", "mean": 3.0}},
        {"to": "classroom", "fumble": 0.1, "duration": 2.0},
    ],
    "initiatives": [{"name": "a", "deadline": 200.0},
                    {"name": "b", "launch": 30.0, "deadline": 250.0}],
    "initiative_stream": {"rate": 2.0},
}


def _paired_coverage_diff(change: dict[str, Any], reps: int = 200, seed: int = 11
                          ) -> tuple[float, float]:
    """Mean and SE of (changed - base) coverage of the named initiatives, paired by seed
    and replication (common random numbers). The pairs are independent across
    replications, so SE = sd(differences) / sqrt(reps)."""
    base = _sc(_DIR_RAW)
    alt = base.with_values(change)
    d = []
    for rep in range(reps):
        a, b = simulate(base, seed, rep), simulate(alt, seed, rep)
        ca = [o.coverage for o in a.initiatives if o.name != "stream"]
        cb = [o.coverage for o in b.initiatives if o.name != "stream"]
        d.append(np.mean(cb) - np.mean(ca))
    return _mean_se(d)


@slow
@pytest.mark.parametrize(
    ("small", "large"),
    [({"levels.principal.turnover": 0.4}, {"levels.principal.turnover": 3.0}),
     ({"levels.principal.tank.recovery": 0.03}, {"levels.principal.tank.recovery": 0.0})],
    ids=["more-turnover", "less-recovery"],
)
def test_more_turnover_or_less_recovery_never_helps(small, large):
    """Paired with common random numbers: a small change does not help (mean diff <= 3 SE);
    a large one hurts significantly (mean diff + 3 SE < 0)."""
    m, se = _paired_coverage_diff(small)
    assert m <= 0 + Z_DIRECTION * se, (m, se)
    m, se = _paired_coverage_diff(large)
    assert se > 0
    assert m + Z_DIRECTION * se < 0, (m, se)


def test_common_random_numbers_identical_variant_identical_results(engine):
    """Setting a parameter to its current value changes nothing, replication by replication."""
    base = _sc(_DIR_RAW)
    same = base.with_values({"levels.principal.turnover": 0.2})
    for rep in range(5):
        assert _on(engine, base, 11, rep) == _on(engine, same, 11, rep)


# --------------------------------------------------------------------------- feedback


def _feedback_raw(detect: float, interval: float = 4.5, horizon: float = 400.0
                  ) -> dict[str, Any]:
    # deterministic work and instant exchanges: drops happen at t = 1 (into schools), at
    # 3 or review + 2 (into classrooms, after the school's 2 days), or at a review time
    # (a rescued exchange fumbling again). With interval 4.5, k*4.5 + 2 is never a review
    # time, so every drop is found by the first review strictly after it.
    return {
        "scenario": {"horizon": horizon},
        "levels": [{"name": "district", "work": 1.0},
                   {"name": "school", "count": 4, "work": 2.0},
                   {"name": "classroom", "count": 3}],
        "zones": [{"to": "school", "fumble": 0.4}, {"to": "classroom", "fumble": 0.3}],
        "initiatives": [{"name": "a", "deadline": 100.0}],
        "feedback": {"interval": interval, "detect": detect},
    }


def test_feedback_detect_one_rescues_every_drop_at_the_next_review():
    """detect 1: each drop is rescued at the first review after it and passed again, so
    with a long horizon nothing stays dropped."""
    sc = _sc(_feedback_raw(1.0))
    drops_seen = 0
    for rep in range(10):
        tr = trace(sc, 8, rep)
        rescues = defaultdict(list)
        for e in _events(tr, "rescue"):
            rescues[(e["level"], e["runner"])].append(e["t"])
        for d in _events(tr, "drop"):
            nxt = (math.floor(d["t"] / 4.5 + 1e-9) + 1) * 4.5
            assert nxt in rescues[(d["level"], d["runner"])], d
            drops_seen += 1
        o = tr.record.initiatives[0]
        assert o.dropped == 0 and o.in_flight == 0
        assert o.implemented_total == o.n_classrooms == 12
        for k in (1, 2):
            assert o.zones[k].rescues == o.zones[k].drops
        assert sum(o.zones[k].rescues for k in (1, 2)) == len(_events(tr, "rescue"))
        reached_by_deadline = sum(e["t"] <= 100.0 for e in _events(tr, "reached"))
        assert o.coverage == reached_by_deadline / 12
    assert drops_seen > 10


def test_feedback_after_last_review_leaves_drop_dropped():
    """A drop after the last review before the horizon stays dropped (conservation holds)."""
    sc = _sc(_feedback_raw(1.0, interval=50.0, horizon=40.0) | {
        "initiatives": [{"name": "a", "deadline": 40.0}]})
    for rep in range(5):
        tr = trace(sc, 8, rep)
        o = tr.record.initiatives[0]
        assert not _events(tr, "rescue")
        assert o.dropped == sum(d["classrooms"] for d in _events(tr, "drop"))
        assert _conserved(o)


@slow
def test_feedback_detects_each_dropped_baton_with_probability_detect():
    """detect 0.5: of the dropped batons a review looks at, half are rescued."""
    sc = _sc(_feedback_raw(0.5))
    rescued = looked = 0
    for rep in range(40):
        for e in _events(trace(sc, 9, rep), "review"):
            rescued += e["rescued"]
            looked += e["rescued"] + e["missed"]
    # each look is an independent Bernoulli(0.5): SE = sqrt(0.25 / n)
    assert looked > 300
    assert abs(rescued / looked - 0.5) < Z_MATCH * math.sqrt(0.25 / looked)


def test_no_feedback_no_reviews():
    tr = trace(_sc(_feedback_raw(0.0)), 8, 0)
    assert not _events(tr, "review") and not _events(tr, "rescue")
    assert tr.record.initiatives[0].dropped > 0


# --------------------------------------------------------------------------- merged roles


def _district(merged: bool, pr_work: Any, coach_work: Any = None) -> dict[str, Any]:
    levels: list[dict[str, Any]] = [
        {"name": "district", "work": {"dist": "gamma", "mean": 5.0, "cv": 0.5}},
        {"name": "principal", "count": 3, "capacity": 1, "trust": 0.6, "work": pr_work,
         "turnover": 1.5, "vacancy": {"dist": "exponential", "mean": 15.0}, "new_trust": 0.3,
         "tank": {"drain": 0.05, "recovery": 0.02, "floor": 0.25}},
    ]
    if merged:
        coach = {"name": "coach", "merged_with_parent": True, "count": 1}
        if coach_work is not None:
            coach["work"] = coach_work
        levels.append(coach)
    levels.append({"name": "classroom", "count": 4,
                   "work": {"dist": "exponential", "mean": 3.0}, "turnover": 0.5})
    return {
        "scenario": {"horizon": 300.0},
        "levels": levels,
        "zones": [
            {"to": "principal", "fumble": 0.2, "recover": 0.5,
             "duration": {"dist": "exponential", "mean": 2.0}},
            {"to": "classroom", "fumble": 0.15, "duration": 1.0, "retention": 0.9},
        ],
        "initiatives": [{"name": "a", "deadline": 200.0, "min_fidelity": 0.5},
                        {"name": "b", "launch": 20.0, "priority": -1}],
        "initiative_stream": {"rate": 3.0},
        "feedback": {"interval": 30.0, "detect": 0.5},
    }


def _outcomes(sc: Scenario, r: Any) -> list[tuple[Any, ...]]:
    names = [lv.name for lv in sc.levels]
    out = []
    for o in r.initiatives:
        zones = {names[k]: o.zones[k] for k in range(1, len(names))
                 if sc.zones[k] is not None}
        out.append((o.name, o.launch, o.completed, o.completion_time, o.coverage, o.fidelity,
                    o.implemented_total, o.below_fidelity, o.dropped, o.lost, o.in_flight,
                    sorted(zones.items())))
    return out


@pytest.mark.parametrize(
    ("pr_work", "coach_work", "flat_work"),
    [({"dist": "exponential", "mean": 10.0}, None, {"dist": "exponential", "mean": 10.0}),
     (3.0, 2.0, 5.0)],
    ids=["coach-no-work", "fixed-work-adds"],
)
def test_merged_level_equals_the_district_without_it(pr_work, coach_work, flat_work, engine):
    """A principal who is also the coach is one person: the four-level district with the
    coach merged gives exactly the three-level district's results, replication by
    replication (turnover, tanks, stream and feedback on)."""
    four = _sc(_district(True, pr_work, coach_work))
    three = _sc(_district(False, flat_work))
    assert four.n_classrooms == three.n_classrooms == 12
    lost = departures = 0
    for rep in range(25):
        r4, r3 = _on(engine, four, 7, rep), _on(engine, three, 7, rep)
        assert _outcomes(four, r4) == _outcomes(three, r3)
        assert r4.levels[1] == r3.levels[1]  # one person's load ...
        # ... reported on the merged level too, but the person leaves only once
        assert r4.levels[2] == dataclasses.replace(r3.levels[1], departures=0)
        lost += sum(o.lost for o in r4.initiatives)
        departures += r4.levels[1].departures
    assert lost > 0 and departures > 0  # turnover did bite


def test_merged_level_has_no_zone_and_no_own_trace_position():
    sc = _sc(_district(True, 3.0, 2.0))
    tr = trace(sc, 7, 0)
    assert not [e for e in tr.events if e.get("level") == 2]
    assert sc.zones[2] is None
    assert plan_for(sc).legs == ((0,), (1, 2), (3,))


def test_zone_into_merged_level_is_an_error():
    raw = _district(True, 3.0)
    raw["zones"].append({"to": "coach", "fumble": 0.1})
    probs = _problems(raw)
    assert list(probs) == ["zones.coach.to"]
    assert "merged" in probs["zones.coach.to"][0]


def test_merged_level_cannot_set_the_persons_parameters():
    """count (other than 1), capacity, tank, turnover, trust...: one error each, at once."""
    raw = _district(True, 3.0)
    raw["levels"][2].update(count=2, capacity=2, tank={"drain": 0.1}, turnover=0.2,
                            trust=0.3, succession=0.0)
    probs = _problems(raw)
    for key in ("count", "capacity", "tank", "turnover", "trust", "succession"):
        msgs = probs.pop(f"levels.coach.{key}")
        assert "levels.principal" in msgs[0]
    assert not probs
    raw["levels"][0]["merged_with_parent"] = True
    assert "levels.district.merged_with_parent" in _problems(raw)


def test_every_listed_path_of_a_merged_level_is_settable():
    sc = _sc(_district(True, 3.0))
    for path, value in sc.paths().items():
        if path.startswith("levels.coach.") and value is not None:
            assert sc.with_values({path: value}).hash == sc.hash, path


# --------------------------------------------------------------------------- segments

_SEG_RAW = {
    "scenario": {"horizon": 400.0},
    "levels": [
        {"name": "district", "work": 1.0},
        {"name": "school", "count": 10, "work": 2.0,
         "segments": [
             {"name": "red", "share": 0.3,
              "set": {"zones.school.fumble": 0.0, "zones.classroom.fumble": 0.0}},
             {"name": "blue", "share": 0.2,
              "set": {"levels": {"classroom": {"work": {"dist": "fixed", "value": 7.0}}}}},
         ]},
        {"name": "classroom", "count": 3, "work": 1.0},
    ],
    "zones": [{"to": "school", "fumble": 0.2}, {"to": "classroom", "fumble": 0.2}],
    "initiatives": [{"name": f"i{k}", "launch": 5.0 * k} for k in range(4)],
}


def test_segments_split_runners_by_share_in_index_order():
    """red = schools 0-2 (30% of 10), blue = schools 3-4; subtrees follow their school."""
    plan = plan_for(_sc(_SEG_RAW))
    assert plan.bundle_index[0] is None
    assert plan.bundle_index[1].tolist() == [1, 1, 1, 2, 2, 0, 0, 0, 0, 0]
    assert plan.bundle_index[2].tolist() == [1] * 9 + [2] * 6 + [0] * 15
    assert [b.segment for b in plan.bundles[2]] == ["", "red", "blue"]


def test_perfect_segment_has_no_drops_in_its_subtree():
    """red's zones are perfect: drops only at runners outside red's subtree; blue's
    classrooms work 7 days (its override), everyone else's 1."""
    sc = _sc(_SEG_RAW)
    outside = 0
    for rep in range(10):
        tr = trace(sc, 12, rep)
        for d in _events(tr, "drop"):
            first_outside = 3 if d["level"] == 1 else 9
            assert d["runner"] >= first_outside, d
            outside += 1
        for e in _events(tr, "exchange"):
            red = e["runner"] < (3 if e["level"] == 1 else 9)
            assert (e["p_fumble"] == 0.0) == red
        for e in _events(tr, "start", level=2):
            assert e["work"] == (7.0 if 9 <= e["runner"] < 15 else 1.0)
    assert outside > 10


def test_segment_paths_are_listed_and_settable():
    sc = _sc(_SEG_RAW)
    paths = sc.paths()
    assert paths["levels.school.segments.red.share"] == 0.3
    assert paths["levels.school.segments.red.zones.classroom.fumble"] == 0.0
    assert paths["levels.school.segments.blue.share"] == 0.2
    sc2 = sc.with_values({"levels.school.segments.red.share": 0.5,
                          "levels.school.segments.red.zones.classroom.fumble": 0.25,
                          "levels.school.segments.blue.levels.classroom.work.value": 9.0})
    p2 = sc2.paths()
    assert p2["levels.school.segments.red.share"] == 0.5
    assert p2["levels.school.segments.red.zones.classroom.fumble"] == 0.25
    assert plan_for(sc2).bundle_index[1].tolist() == [1] * 5 + [2] * 2 + [0] * 3
    red_child = plan_for(sc2).bundles[2][1]
    assert red_child.zone.fumble == 0.25 and red_child.segment == "red"
    blue_child = plan_for(sc2).bundles[2][2]
    assert blue_child.work.mean == 9.0
    assert sc.paths() == paths  # the original is untouched
    # an unknown segment or a path outside the segment's subtree is an error
    with pytest.raises(ScenarioError) as info:
        sc.with_values({"levels.school.segments.green.share": 0.1})
    assert info.value.problems[0].path == "levels.school.segments.green.share"
    with pytest.raises(ScenarioError) as info:
        sc.with_values({"levels.school.segments.red.share": 0.9})
    assert [p.path for p in info.value.problems] == ["levels.school.segments"]


def test_segment_errors():
    """Shares over 1, overrides outside the segment level's subtree or of fixed keys, bad
    override values: each names its path."""
    raw = copy.deepcopy(_SEG_RAW)
    raw["levels"][1]["segments"][1]["share"] = 0.8
    assert "more than 1" in _problems(raw)["levels.school.segments"][0]

    raw = copy.deepcopy(_SEG_RAW)
    raw["levels"][1]["segments"][0]["set"] = {
        "levels.district.capacity": 2,  # above the segment level
        "initiatives.i0.clarity": 0.2,  # not a level or zone
        "effects.trust": 1.0,
        "levels.classroom.count": 2,  # shape is fixed
        "levels.school.merged_with_parent": True,
        "zones.classroom.fumble": 1.5,  # out of range
        "zones.classroom.fumbel": 0.1,  # no such key
    }
    probs = _problems(raw)
    sp = "levels.school.segments.red."
    assert set(probs) == {sp + p for p in raw["levels"][1]["segments"][0]["set"]}
    assert "zones.classroom.fumble" in probs[sp + "zones.classroom.fumbel"][0]

    raw = copy.deepcopy(_SEG_RAW)
    raw["levels"][1]["segments"] = [{"name": "red", "share": 0.0},
                                    {"name": "red", "share": 0.2, "set": 5},
                                    {"share": 0.1, "colour": "x"}]
    probs = _problems(raw)
    assert {"levels.school.segments.red.share", "levels.school.segments.red.name",
            "levels.school.segments.red.set", "levels.school.segments[2].name",
            "levels.school.segments[2].colour"} <= set(probs)

    for bad in ({"name": "red", "share": 0.5}, 3, [1, 2]):
        raw = copy.deepcopy(_SEG_RAW)
        raw["levels"][1]["segments"] = bad
        assert list(_problems(raw)) == ["levels.school.segments"]

    raw = copy.deepcopy(_SEG_RAW)
    raw["levels"][2]["segments"] = [{"name": "x", "share": 0.5}]
    raw["levels"][0]["segments"] = [{"name": "y", "share": 0.5}]
    probs = _problems(raw)
    assert "levels.district.segments" in probs and "levels" in probs


def test_segment_override_errors_reported_with_other_errors():
    raw = copy.deepcopy(_SEG_RAW)
    raw["levels"][1]["segments"][0]["set"] = {"levels.district.capacity": 2}
    raw["feedback"] = {"detect": 2}
    assert set(_problems(raw)) == {"feedback.detect",
                                   "levels.school.segments.red.levels.district.capacity"}


# --------------------------------------------------------------------------- the stream


@slow
def test_stream_arrivals_per_year_match_the_rate(engine):
    """Poisson arrivals at `rate` per school year between start and stop."""
    rate, start, stop, year, reps = 6.0, 90.0, 810.0, 180.0, 150
    sc = _sc({
        "scenario": {"horizon": 900.0, "year_length": year},
        "levels": [{"name": "district"}, {"name": "classroom", "count": 2}],
        "initiatives": [{"name": "named"}],
        "initiative_stream": {"rate": rate, "start": start, "stop": stop,
                              "template": {"deadline_after": 60.0}},
    })
    res = run(sc, reps=reps, seed=21, workers=1, engine=engine)
    arrivals = [o for r in res.replications for o in r.initiatives if o.name == "stream"]
    expected = rate * (stop - start) / year * reps  # 3600
    # a sum of independent Poisson counts is Poisson: SE = sqrt(expected)
    assert abs(len(arrivals) - expected) < Z_MATCH * math.sqrt(expected)
    assert all(start <= o.launch < stop for o in arrivals)
    assert all(o.deadline == pytest.approx(o.launch + 60.0) for o in arrivals)
    # pooled under "stream" in the summary, next to the named initiative
    inits = res.summary["initiatives"]
    assert set(inits) == {"named", "stream"}
    assert inits["stream"]["runs"] == len(arrivals)
    assert inits["stream"]["observed"] == sum(o.observed for o in arrivals) == len(arrivals)
    assert inits["named"]["runs"] == reps
    assert inits["stream"]["completion_rate"]["estimate"] == 1.0  # instant, perfect


def test_stream_arrivals_beyond_the_horizon_deadline_are_not_observed(engine):
    sc = _sc({
        "scenario": {"horizon": 360.0},
        "levels": [{"name": "district", "work": 1.0}, {"name": "classroom"}],
        "initiative_stream": {"rate": 10.0, "template": {"deadline_after": 100.0}},
    })
    res = run(sc, reps=5, seed=1, workers=1, engine=engine)
    outs = [o for r in res.replications for o in r.initiatives]
    assert {o.name for o in outs} == {"stream"}
    late = [o for o in outs if o.launch + 100.0 > 360.0]
    assert late and all(not o.observed for o in late)
    s = res.summary["initiatives"]["stream"]
    assert s["observed"] == len(outs) - len(late)


@slow
def test_named_high_priority_initiatives_wait_less_than_a_low_priority_stream():
    """At a busy district, priority 0 named initiatives jump ahead of the priority 1
    stream, so they wait less (mean waits from trace 'start' events)."""
    sc = _sc({
        "scenario": {"horizon": 720.0},
        "levels": [{"name": "district", "work": {"dist": "exponential", "mean": 15.0}},
                   {"name": "classroom"}],
        "initiatives": [{"name": f"n{k}", "launch": 30.0 * k, "priority": 0}
                        for k in range(20)],
        "initiative_stream": {"rate": 5.0, "template": {"priority": 1,
                                                        "deadline_after": 100.0}},
    })
    diffs = []
    for rep in range(30):
        w: dict[bool, list[float]] = {True: [], False: []}
        for e in _events(trace(sc, 3, rep), "start", level=0):
            w[e["initiative"].startswith("stream-")].append(e["waited"])
        diffs.append(np.mean(w[True]) - np.mean(w[False]))
    # replications are independent: SE = sd(per-replication differences) / sqrt(reps)
    m, se = _mean_se(diffs)
    assert m - Z_DIRECTION * se > 0, (m, se)


# --------------------------------------------------------------------------- conservation


def test_conservation_with_turnover_feedback_stream_tank_and_segments(engine):
    """implemented_total + below_fidelity + dropped + lost + in_flight == n_classrooms for
    every initiative record, and each category does occur."""
    raw = copy.deepcopy(_DIR_RAW)
    raw["scenario"]["horizon"] = 300.0
    raw["initiatives"] = [{"name": "a", "deadline": 200.0},
                          {"name": "b", "launch": 30.0, "deadline": 250.0,
                           "min_fidelity": 0.95}]
    raw["zones"][1]["retention"] = 0.9
    raw["levels"][1]["turnover"] = 2.0
    raw["levels"][1]["tank"]["check_tank"] = 0.5
    raw["levels"][1]["segments"] = [{"name": "red", "share": 0.5,
                                     "set": {"zones.classroom.fumble": 0.3}}]
    raw["initiative_stream"] = {"rate": 4.0, "template": {"deadline_after": 60.0}}
    raw["feedback"] = {"interval": 20.0, "detect": 0.5}
    sc = _sc(raw)
    totals: dict[str, int] = defaultdict(int)
    for rep in range(30):
        for o in _on(engine, sc, 5, rep).initiatives:
            assert _conserved(o), (rep, o)
            for key in ("implemented_total", "below_fidelity", "dropped", "lost",
                        "in_flight"):
                totals[key] += getattr(o, key)
            totals["rescues"] += sum(z.rescues for z in o.zones)
    assert all(v > 0 for v in totals.values()), dict(totals)


# --------------------------------------------------------------------------- engine bugs


def test_kept_queued_baton_survives_a_departure():
    """Two batons at a capacity-1 school, succession 0: at a departure the queued one is
    kept and re-queued. The replication must run and conserve classrooms."""
    sc = _sc({
        "scenario": {"horizon": 300.0},
        "levels": [{"name": "district"},
                   {"name": "school", "work": 50.0, "turnover": 9.0, "vacancy": 5.0,
                    "succession": 0.0}],
        "initiatives": [{"name": "i0", "launch": 0.0}, {"name": "i1", "launch": 1.0}],
    })
    r = simulate(sc, 0, 0)
    assert all(_conserved(o) and o.lost == 0 for o in r.initiatives)


# --------------------------------------------------------------------------- bad input


def test_every_new_key_rejects_bad_input_all_at_once():
    raw = {
        "scenario": {"horizon": 100.0},
        "levels": [
            {"name": "district", "turnover": -1, "succession": 2,
             "tank": {"floor": 0, "check_tank": 1.5, "drian": 0.1, "recovery": -0.5}},
            {"name": "school", "count": 3, "vacancy": "long", "new_trust": "high",
             "loss_on_turnover": 1.2, "turnover": "often", "tank": 5},
            {"name": "classroom", "count": 2, "merged_with_parent": 1,
             "tank": {"drain": "x", "check_tank": True}},
        ],
        "initiatives": [{"name": "a"}],
        "initiative_stream": {"rate": -1, "start": "soon", "stop": -5.0, "rat": 1,
                              "template": {"clarity": 2, "dedline_after": 3, "priority": 0.5,
                                           "deadline_after": 0, "min_fidelity": 1.5,
                                           "success_threshold": 0}},
        "feedback": {"detect": 2, "interval": 0, "detetc": 1},
    }
    probs = _problems(raw)
    expect = {
        "levels.district.turnover": ">= 0",
        "levels.district.succession": "<= 1",
        "levels.district.tank.floor": "> 0",
        "levels.district.tank.check_tank": "<= 1",
        "levels.district.tank.drian": "did you mean 'drain'",
        "levels.district.tank.recovery": ">= 0",
        "levels.school.vacancy": "table",
        "levels.school.new_trust": "number",
        "levels.school.loss_on_turnover": "<= 1",
        "levels.school.turnover": "number",
        "levels.school.tank": "table",
        "levels.classroom.merged_with_parent": "true or false",
        "levels.classroom.tank.drain": "number",
        "levels.classroom.tank.check_tank": "number",
        "initiative_stream.rate": ">= 0",
        "initiative_stream.start": "number",
        "initiative_stream.rat": "did you mean 'rate'",
        "initiative_stream.template.clarity": "<= 1",
        "initiative_stream.template.dedline_after": "did you mean 'deadline_after'",
        "initiative_stream.template.priority": "whole number",
        "initiative_stream.template.deadline_after": "> 0",
        "initiative_stream.stop": ">= 0",
        "initiative_stream.template.min_fidelity": "<= 1",
        "initiative_stream.template.success_threshold": "> 0",
        "feedback.detect": "<= 1",
        "feedback.interval": "> 0",
        "feedback.detetc": "did you mean 'detect'",
    }
    for path, words in expect.items():
        assert path in probs, path
        assert any(words in m for m in probs[path]), (path, probs[path])


def test_bad_dynamics_tables_are_reported_as_tables():
    raw = {"scenario": {"horizon": 100.0},
           "levels": [{"name": "district", "vacancy": {"dist": "exponential"}}],
           "initiatives": [{"name": "a"}],
           "initiative_stream": {"rate": 1.0, "template": [1]},
           "feedback": 3}
    probs = _problems(raw)
    assert "levels.district.vacancy.mean" in probs
    assert "initiative_stream.template" in probs
    assert "feedback" in probs


def test_a_stream_alone_is_a_scenario_but_rate_zero_is_not():
    base = {"scenario": {"horizon": 100.0}, "levels": [{"name": "district"}]}
    _sc(base | {"initiative_stream": {"rate": 1.0}})
    assert "initiatives" in _problems(base | {"initiative_stream": {"rate": 0.0}})
    probs = _problems(base | {"initiatives": [{"name": "stream"}]})
    assert "reserved" in probs["initiatives.stream.name"][0]


def test_non_boolean_merged_with_parent_reports_only_its_type():
    raw = {"scenario": {"horizon": 100.0},
           "levels": [{"name": "district"},
                      {"name": "school", "count": 3, "merged_with_parent": "yes",
                       "capacity": 2}],
           "initiatives": [{"name": "a"}]}
    assert list(_problems(raw)) == ["levels.school.merged_with_parent"]


def test_optional_dynamics_paths_round_trip():
    sc = _sc(_DIR_RAW)
    for path in ("levels.principal.new_trust", "levels.principal.succession"):
        assert path not in sc.paths()  # unset optional parameters are not listed
        assert sc.get(path) is None
        assert sc.with_values({path: sc.get(path)}).hash == sc.hash
        assert sc.with_values({path: 0.3}).get(path) == 0.3
