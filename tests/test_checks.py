"""The engine against closed forms (MODEL.md "Checks", FIGURES.md "Closed forms").

Every statistical assertion uses a fixed seed and a tolerance derived from the standard
error of the estimate computed from the *exact* value and the number of draws n:

    |estimate - exact| <= Z * SE,   Z = 4.

Under the normal approximation a correct engine fails one such comparison with
probability 2 * (1 - Phi(4)) = 6.3e-5, so even across the ~60 comparisons in this file
a correct engine passes for all but about 1 seed in 250; with the fixed seeds used here
the outcome is deterministic (no flakiness), and a systematic error of a few SE (e.g. an
odds factor applied twice or not at all) is far outside the band. KS tests assert
p > 1e-3 (a correct engine fails for 1 seed in 1000).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from relaysim import run, trace
from relaysim.engines import select
from relaysim.model import distributions as D
from relaysim.model.plan import fumble_probability
from relaysim.model.scenario import Window
from relaysim.study.stats import km_curve, km_quantiles, wilson

Z = 4.0  # tolerance in standard errors (see the module docstring)


def binomial_close(successes: int, n: int, exact: float) -> None:
    """successes/n within Z standard errors of `exact` (SE from the exact p)."""
    se = math.sqrt(exact * (1 - exact) / n)
    est = successes / n
    assert abs(est - exact) <= Z * se, (est, exact, se)


def mean_close(values, exact_mean: float, exact_var: float) -> None:
    x = np.asarray(values, dtype=float)
    se = math.sqrt(exact_var / len(x))
    assert abs(x.mean() - exact_mean) <= Z * se, (x.mean(), exact_mean, se)


#: every closed-form check runs on both engines (the same records; the SimPy engine is
#: the reference, the fast engine must agree with the formulas too)
ENGINES = ("simpy", "fast")


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


def simulate(sc, seed: int, rep: int, engine: str = "simpy"):
    """Replication `rep` of `sc` on `engine`."""
    return select.chunk_runner(engine)(sc, seed, rep, rep + 1)[0]


def outcomes(sc, reps: int, seed: int, which: int = 0, engine: str = "simpy"):
    """The first (or `which`) initiative's outcome in each of `reps` replications."""
    return [r.initiatives[which] for r in select.chunk_runner(engine)(sc, seed, 0, reps)]


def chain(n_levels: int, **level_kw):
    """Levels L0..L{n-1}, one runner each."""
    return [{"name": f"L{k}", **level_kw} for k in range(n_levels)]


# --------------------------------------------------------------------------- Check 1


@pytest.mark.parametrize(
    "fumbles, seed",
    [((0.04, 0.04, 0.04), 1), ((0.10, 0.20, 0.30), 2), ((0.25,), 3)],
)
def test_check1_no_retry_chain(make_scenario, engine, fumbles, seed):
    """One runner per level, recover 0, neutral factors: P(completed) = prod(1 - p_i)."""
    n = 4000
    sc = make_scenario(
        levels=chain(len(fumbles) + 1, work={"dist": "fixed", "value": 1}),
        zones=[{"to": f"L{k + 1}", "fumble": p, "duration": 0.5}
               for k, p in enumerate(fumbles)],
        horizon=100,
    )
    exact = math.prod(1 - p for p in fumbles)
    if fumbles == (0.04, 0.04, 0.04):
        assert exact == pytest.approx(0.885, abs=5e-4)  # FIGURES.md
    res = run(sc, reps=n, seed=seed, workers=1, engine=engine)
    k = res.summary["initiatives"]["a"]["completion_rate"]["successes"]
    binomial_close(k, n, exact)
    # each exchange drops w.p. p_i given it is reached: drops per zone are exact too
    reached = n
    for lvl, p in enumerate(fumbles, start=1):
        drops = sum(r.initiatives[0].zones[lvl].drops for r in res.replications)
        binomial_close(drops, reached, p)  # Bin(reached, p) given the batons reaching it
        reached -= drops


# --------------------------------------------------------------------------- Check 2


def exact_fanout(n_top: int, p1: float, per: int, p2: float, need: int) -> float:
    """P(#implementing classrooms >= need): m principals reached ~ Bin(n_top, 1-p1),
    then classrooms ~ Bin(per*m, 1-p2)."""
    return float(sum(
        sps.binom.pmf(m, n_top, 1 - p1) * sps.binom.sf(need - 1, per * m, 1 - p2)
        for m in range(n_top + 1)
    ))


@pytest.mark.parametrize(
    "p1, p2, threshold, need, seed",
    [(0.2, 0.15, 0.75, 9, 4), (0.1, 0.3, 0.5, 6, 5), (0.2, 0.15, 1.0, 12, 6)],
)
def test_check2_fanout_threshold(make_scenario, engine, p1, p2, threshold, need, seed):
    n = 3000
    sc = make_scenario(
        levels=[
            {"name": "district", "work": 1},
            {"name": "principal", "count": 3, "work": 1},
            {"name": "classroom", "count": 4, "work": 1},
        ],
        zones=[
            {"to": "principal", "fumble": p1, "duration": 0.5},
            {"to": "classroom", "fumble": p2, "duration": 0.5},
        ],
        initiatives=[{"name": "a", "success_threshold": threshold}],
        horizon=100,  # everything is over by day 4: the deadline is irrelevant
    )
    assert math.ceil(threshold * 12) == need
    exact = exact_fanout(3, p1, 4, p2, need)
    outs = outcomes(sc, n, seed, engine=engine)
    binomial_close(sum(o.completed for o in outs), n, exact)
    # coverage: E = (1-p1)(1-p2); Var(coverage) from the law of total variance
    q1, q2 = 1 - p1, 1 - p2
    e_m, v_m = 3 * q1, 3 * q1 * p1  # principals reached
    var_cls = 4 * q2 * p2 * e_m + (4 * q2) ** 2 * v_m  # classrooms implementing
    mean_close([o.coverage for o in outs], q1 * q2, var_cls / 144)
    # the drops counted in the principal zone are Bin(3n, p1)
    binomial_close(sum(o.zones[1].drops for o in outs), 3 * n, p1)
    # the completion time, when complete, is 1 + 0.5 + 1 + 0.5 + 1 = 4 days
    assert all(o.completion_time == pytest.approx(4.0) for o in outs if o.completed)


# --------------------------------------------------------------------------- Check 3

RATES = (1.0, 2.0, 3.0)


def hypoexp_cdf(t, rates=RATES):
    """CDF of a sum of independent Exp(rate_i), distinct rates:
    F(t) = 1 - sum_i (prod_{j != i} r_j / (r_j - r_i)) exp(-r_i t)."""
    t = np.asarray(t, dtype=float)
    s = np.zeros_like(t)
    for i, ri in enumerate(rates):
        c = math.prod(rj / (rj - ri) for j, rj in enumerate(rates) if j != i)
        s = s + c * np.exp(-ri * t)
    return np.where(t > 0, 1 - s, 0.0)


def test_hypoexponential_closed_form_matches_figures():
    mean = sum(1 / r for r in RATES)
    var = sum(1 / r**2 for r in RATES)
    assert mean == pytest.approx(1.833, abs=5e-4)
    assert var == pytest.approx(1.361, abs=5e-4)
    assert float(hypoexp_cdf(2.0)) == pytest.approx(0.6465, abs=5e-5)


def test_check3_hypoexponential_completion_time(make_scenario, engine):
    n = 3000
    sc = make_scenario(
        levels=[{"name": f"L{k}", "work": {"dist": "exponential", "mean": 1 / r}}
                for k, r in enumerate(RATES)],
        horizon=1000,  # P(T > 1000) is 0 in double precision
    )
    outs = outcomes(sc, n, seed=7, engine=engine)
    assert all(o.completed for o in outs)
    times = np.array([o.completion_time for o in outs])
    mean_close(times, sum(1 / r for r in RATES), sum(1 / r**2 for r in RATES))
    for t in (0.5, 1.0, 2.0, 4.0):
        f = float(hypoexp_cdf(t))
        binomial_close(int((times <= t).sum()), n, f)
    assert sps.kstest(times, hypoexp_cdf).pvalue > 1e-3


# --------------------------------------------------------------------------- Check 4


@pytest.mark.parametrize("p, r, seed", [(0.3, 0.6, 8), (0.5, 0.9, 9)])
def test_check4_attempts_geometric(make_scenario, engine, p, r, seed):
    """Each attempt ends the exchange w.p. (1-p) + p(1-r) = 1 - pr, so the number of
    attempts is geometric on {1, 2, ...} with that success probability; the exchange
    ends in a drop w.p. p(1-r) / (1 - pr)."""
    n = 4000
    sc = make_scenario(
        levels=chain(2),
        zones=[{"to": "L1", "fumble": p, "recover": r, "duration": 1,
                "rework": {"dist": "exponential", "mean": 2}}],
        horizon=1000,
    )
    zs = [o.zones[1] for o in outcomes(sc, n, seed, engine=engine)]
    end = 1 - p * r
    att = np.array([z.attempts for z in zs])
    for k in (1, 2, 3, 4):
        binomial_close(int((att == k).sum()), n, (1 - end) ** (k - 1) * end)
    binomial_close(int((att >= 5).sum()), n, (1 - end) ** 4)
    mean_close(att, 1 / end, (1 - end) / end**2)
    drops = sum(z.drops for z in zs)
    binomial_close(drops, n, p * (1 - r) / end)
    # bookkeeping of one exchange: every attempt but the last was a caught fumble
    for z in zs:
        assert z.recoveries == z.attempts - 1
        assert z.fumbles == z.attempts - 1 + z.drops
        assert z.drops in (0, 1)


@pytest.mark.parametrize("p, lam, seed", [(0.4, 0.5, 10), (0.7, 2.0, 11)])
def test_geometric_sum_of_exponentials_is_exponential(make_scenario, engine, p, lam, seed):
    """FIGURES.md: a geometric number (success prob q = 1-p) of Exp(lam) attempts is
    Exp(q lam). recover 1, no rework, no work: completion time = exchange time."""
    n = 3000
    sc = make_scenario(
        levels=chain(2),
        zones=[{"to": "L1", "fumble": p, "recover": 1.0,
                "duration": {"dist": "exponential", "mean": 1 / lam}}],
        horizon=1000,
    )
    outs = outcomes(sc, n, seed, engine=engine)
    assert all(o.completed for o in outs)
    rate = (1 - p) * lam
    times = np.array([o.completion_time for o in outs])
    mean_close(times, 1 / rate, 1 / rate**2)
    assert sps.kstest(times, "expon", args=(0, 1 / rate)).pvalue > 1e-3


@pytest.mark.parametrize("p, m, seed", [(0.5, 3, 12), (0.3, 2, 13), (0.2, 1, 14)])
def test_max_attempts_drop_probability(make_scenario, engine, p, m, seed):
    """recover 1 and max_attempts m: the baton drops iff m attempts in a row fumble."""
    reps, per = 1000, 10  # 10 independent receivers per replication
    sc = make_scenario(
        levels=[{"name": "L0"}, {"name": "L1", "count": per}],
        zones=[{"to": "L1", "fumble": p, "recover": 1.0, "max_attempts": m}],
        horizon=10,
    )
    outs = outcomes(sc, reps, seed, engine=engine)
    assert all(o.zones[1].attempts <= m * per for o in outs)
    binomial_close(sum(o.zones[1].drops for o in outs), reps * per, p**m)
    binomial_close(sum(o.dropped for o in outs), reps * per, p**m)


# --------------------------------------------------------------------------- odds factors


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def logit(p: float) -> float:
    return math.log(p / (1 - p))


BASE_P = 0.2


def one_zone(make_scenario, trust=0.5, clarity=0.5, effects=None, **zone):
    return make_scenario(
        levels=[{"name": "L0"}, {"name": "L1", "trust": trust}],
        zones=[{"to": "L1", "fumble": BASE_P, **zone}],
        initiatives=[{"name": "a", "clarity": clarity}],
        effects=effects,
    )


# (scenario keywords, fumble_probability keywords, expected log-odds shift) with the
# default effects of MODEL.md: trust 2.0, clarity 2.0, rehearsal 0.5, checkpoint 0.6,
# load 1.25, tank 1.5
FACTOR_CASES = {
    "neutral": ({}, {}, 0.0),
    "trust": ({"trust": 0.9}, {}, -2.0 * 0.4),
    "low_trust": ({"trust": 0.1}, {}, -2.0 * -0.4),
    "clarity": ({"clarity": 0.2}, {}, -2.0 * -0.3),
    "rehearsal": ({"rehearsed": True}, {}, math.log(0.5)),
    "checkpoint": ({"checkpoint": True}, {}, math.log(0.6)),
    "load": ({}, {"held": 3}, 3 * math.log(1.25)),
    "tank": ({}, {"tank": 0.3}, 1.5 * 0.7),
    "all": ({"trust": 0.8, "clarity": 0.9, "rehearsed": True, "checkpoint": True},
            {"held": 2, "tank": 0.5},
            -2.0 * 0.3 - 2.0 * 0.4 + math.log(0.5) + math.log(0.6) + 2 * math.log(1.25)
            + 1.5 * 0.5),
}


@pytest.mark.parametrize("case", list(FACTOR_CASES))
def test_odds_factor_formula(make_scenario, case):
    sc_kw, fp_kw, shift = FACTOR_CASES[case]
    sc = one_zone(make_scenario, **sc_kw)
    got = fumble_probability(sc, 1, sc.initiatives[0], **fp_kw)
    assert got == pytest.approx(logistic(logit(BASE_P) + shift), rel=1e-12)
    if case == "neutral":
        # "with every factor neutral the probability is exactly `fumble`" (up to rounding)
        assert got == pytest.approx(BASE_P, rel=1e-14)


def test_odds_factors_read_the_effects_table(make_scenario):
    eff = {"trust": 1.0, "clarity": 3.0, "rehearsal": 0.3, "checkpoint": 0.9, "load": 2.0,
           "tank": 0.5}
    sc = one_zone(make_scenario, trust=0.7, clarity=0.4, effects=eff, rehearsed=True,
                  checkpoint=True)
    shift = (-1.0 * 0.2 - 3.0 * -0.1 + math.log(0.3) + math.log(0.9) + 2 * math.log(2.0)
             + 0.5 * 0.6)
    got = fumble_probability(sc, 1, sc.initiatives[0], held=2, tank=0.4)
    assert got == pytest.approx(logistic(logit(BASE_P) + shift), rel=1e-12)
    # an explicit receiver trust overrides the level's
    got = fumble_probability(sc, 1, sc.initiatives[0], trust=0.5)
    shift = -3.0 * -0.1 + math.log(0.3) + math.log(0.9)
    assert got == pytest.approx(logistic(logit(BASE_P) + shift), rel=1e-12)


def test_no_zone_or_zero_fumble_never_fumbles(make_scenario):
    sc = make_scenario(levels=chain(3), zones=[{"to": "L2", "fumble": 0.0, "rehearsed": True}])
    ini = sc.initiatives[0]
    assert fumble_probability(sc, 1, ini, held=5, tank=0.0) == 0.0  # no zone: perfect
    assert fumble_probability(sc, 2, ini, held=5, tank=0.0) == 0.0


@pytest.mark.parametrize(
    "case, sc_kw, seed",
    [("neutral", {}, 15), ("trust", {"trust": 0.9}, 16), ("rehearsal", {"rehearsed": True}, 17),
     ("clarity", {"clarity": 0.2}, 18)],
)
def test_simulated_fumble_frequency(make_scenario, engine, case, sc_kw, seed):
    """fumbles / attempts in simulation matches the formula (recover 0: one attempt per
    exchange, 40 independent receivers per replication, 20000 attempts)."""
    reps, per = 500, 40
    sc = make_scenario(
        levels=[{"name": "L0"}, {"name": "L1", "count": per, "trust": sc_kw.get("trust", 0.5)}],
        zones=[{"to": "L1", "fumble": BASE_P, "rehearsed": sc_kw.get("rehearsed", False)}],
        initiatives=[{"name": "a", "clarity": sc_kw.get("clarity", 0.5)}],
        horizon=10,
    )
    expected = logistic(logit(BASE_P) + FACTOR_CASES[case][2])
    assert expected == pytest.approx(fumble_probability(sc, 1, sc.initiatives[0]))
    zs = [o.zones[1] for o in outcomes(sc, reps, seed, engine=engine)]
    attempts = sum(z.attempts for z in zs)
    assert attempts == reps * per
    binomial_close(sum(z.fumbles for z in zs), attempts, expected)


def test_load_factor_applies_to_a_busy_receiver(make_scenario):
    """The second baton arrives while the receiver still holds the first: the engine
    uses fumble_probability(held=1) (read from the trace)."""
    sc = make_scenario(
        levels=[{"name": "L0"}, {"name": "L1", "work": 100}],
        zones=[{"to": "L1", "fumble": BASE_P, "duration": 0.5}],
        initiatives=[{"name": "a", "launch": 0}, {"name": "b", "launch": 1}],
        horizon=300,
    )
    tr = trace(sc, seed=0, rep=0)
    ex = {e["initiative"]: e for e in tr.events if e["event"] == "exchange" and e["attempt"] == 1}
    a, b = sc.initiatives
    assert ex["a"]["p_fumble"] == pytest.approx(fumble_probability(sc, 1, a, held=0))
    assert ex["b"]["p_fumble"] == pytest.approx(fumble_probability(sc, 1, b, held=1))
    assert ex["b"]["p_fumble"] > ex["a"]["p_fumble"]


# --------------------------------------------------------------------------- retention

RETENTIONS = (0.9, 0.8, 0.95)


def retention_chain(make_scenario, min_fidelity):
    return make_scenario(
        levels=[{"name": "L0"}] + [{"name": f"L{k}", "count": 2} for k in (1, 2, 3)],
        zones=[{"to": f"L{k}", "retention": r} for k, r in zip((1, 2, 3), RETENTIONS,
                                                                strict=True)],
        initiatives=[{"name": "a", "min_fidelity": min_fidelity}],
        horizon=10,
    )


def test_retention_multiplies_fidelity(make_scenario, engine):
    prod = math.prod(RETENTIONS)  # 0.684
    o = simulate(retention_chain(make_scenario, prod - 1e-6), 0, 0, engine).initiatives[0]
    assert o.fidelity == pytest.approx(prod, rel=1e-12)
    assert o.implemented == o.implemented_total == o.n_classrooms == 8
    assert o.completed and o.coverage == 1.0


def test_min_fidelity_above_retained_fidelity_means_nothing_implements(make_scenario, engine):
    prod = math.prod(RETENTIONS)
    o = simulate(retention_chain(make_scenario, prod + 1e-6), 0, 0, engine).initiatives[0]
    assert o.implemented_total == 0 and o.below_fidelity == 8
    assert not o.completed and o.coverage == 0.0 and o.completion_time is None
    assert o.fidelity == pytest.approx(prod, rel=1e-12)  # fidelity is still reported


def test_fidelity_exactly_at_threshold_implements(make_scenario, engine):
    sc = make_scenario(
        levels=chain(3),
        zones=[{"to": "L1", "retention": 0.7}, {"to": "L2", "retention": 0.7}],
        initiatives=[{"name": "a", "min_fidelity": 0.49}],
        horizon=10,
    )
    assert simulate(sc, 0, 0, engine).initiatives[0].implemented_total == 1


# --------------------------------------------------------------------------- distributions

FAMILY_PARAMS = [
    ("fixed", {"value": 3.0}),
    ("exponential", {"mean": 2.0}),
    ("gamma", {"mean": 5.0, "cv": 0.5}),
    ("gamma", {"mean": 5.0, "cv": 2.0}),
    ("lognormal", {"median": 4.0, "sigma": 0.4}),
    ("uniform", {"low": 1.0, "high": 3.0}),
    ("triangular", {"low": 1.0, "mode": 2.0, "high": 5.0}),
    ("triangular", {"low": 2.0, "mode": 2.0, "high": 2.0}),
    ("empirical", {"values": [1.0, 2.0, 2.0, 7.0]}),
]


@pytest.mark.parametrize("family, params", FAMILY_PARAMS)
def test_distribution_moments(family, params):
    """Sample mean within Z*sqrt(var/n) of .mean; sample variance within Z*SE(s^2) of .var,
    SE(s^2) = sqrt((mu4 - var^2)/n) with the fourth central moment mu4 estimated from the
    sample (n = 200000, so the estimate of the SE itself is accurate to a few %)."""
    d = D.make(family, **params)
    n = 200_000
    x = d.sample(np.random.default_rng(20), n)
    assert (x >= 0).all()
    if d.var == 0:
        assert np.allclose(x, d.mean, rtol=0, atol=1e-12)
        return
    assert abs(x.mean() - d.mean) <= Z * math.sqrt(d.var / n)
    mu4 = float(np.mean((x - x.mean()) ** 4))
    se_var = math.sqrt(max(mu4 - d.var**2, 0.0) / n)
    assert abs(x.var(ddof=1) - d.var) <= Z * se_var, (x.var(ddof=1), d.var, se_var)


@pytest.mark.parametrize("family, params", FAMILY_PARAMS)
def test_ppf_monotone_and_nonnegative(family, params):
    d = D.make(family, **params)
    u = np.concatenate([[0.0], np.linspace(1e-9, 1 - 1e-9, 2001), [np.nextafter(1.0, 0.0)]])
    y = d.ppf(u)
    assert np.all(np.isfinite(y)) and np.all(y >= 0)
    assert np.all(np.diff(y) >= 0)


# --------------------------------------------------------------------------- windows


@pytest.mark.parametrize("launch", [0.0, 6.0, 13.5])
def test_exchanges_start_only_inside_their_window(make_scenario, launch):
    period, lo, hi = 10.0, 2.0, 5.0
    sc = make_scenario(
        levels=[{"name": "L0", "work": {"dist": "uniform", "low": 0, "high": 3}},
                {"name": "L1", "count": 6, "work": {"dist": "exponential", "mean": 2}},
                {"name": "L2", "count": 2}],
        zones=[{"to": "L1", "duration": {"dist": "uniform", "low": 0, "high": 4},
                "fumble": 0.5, "recover": 0.8, "rework": {"dist": "uniform", "low": 0, "high": 7},
                "window": {"period": period, "open": lo, "close": hi}},
               {"to": "L2", "duration": 1, "fumble": 0.3, "recover": 1.0, "rework": 3,
                "window": {"period": 7.0, "open": 0.0, "close": 1.5}}],
        initiatives=[{"name": "a", "launch": launch}],
        horizon=400,
    )
    windows = {1: (period, lo, hi), 2: (7.0, 0.0, 1.5)}
    n_ex = n_wait = n_retry = 0
    for rep in range(15):
        for e in trace(sc, seed=21, rep=rep).events:
            if e["event"] == "window_wait":
                n_wait += 1
            if e["event"] != "exchange":
                continue
            n_ex += 1
            n_retry += e["attempt"] > 1
            per, op, cl = windows[e["level"]]
            phase = e["t"] % per
            # trace times are rounded to 1e-6 days
            assert (op - 1e-6 <= phase < cl + 1e-6) or (op == 0 and phase > per - 1e-6), e
    assert n_ex > 100 and n_wait > 10 and n_retry > 10  # the test is not vacuous


def test_checkpoint_then_window_is_a_checkpoint_just_before_the_exchange(make_scenario):
    """With a checkpoint and a window (no tank check, no turnover, no slots), the first
    attempt happens at the window's first open moment at least checkpoint_time after the
    giver finished: the same time as a checkpoint held just before the exchange."""
    cp = 2.5
    w = Window(10.0, 2.0, 5.0)
    sc = make_scenario(
        levels=[{"name": "L0", "work": {"dist": "uniform", "low": 0, "high": 9}},
                {"name": "L1", "count": 8, "work": {"dist": "exponential", "mean": 4}}],
        zones=[{"to": "L1", "duration": 0.5, "fumble": 0.3, "recover": 1.0, "rework": 1,
                "checkpoint": True, "window": {"period": 10.0, "open": 2.0, "close": 5.0}}],
        effects={"checkpoint_time": cp},
        horizon=200,
    )
    n = 0
    for rep in range(20):
        finished = None
        for e in trace(sc, seed=5, rep=rep).events:
            if e["event"] == "finish" and e["level"] == 0:
                finished = e["t"]
            elif e["event"] == "exchange" and e["attempt"] == 1:
                assert finished is not None
                assert e["t"] == pytest.approx(w.next_open(finished + cp), abs=2e-6), e
                n += 1
    assert n == 20 * 8


@pytest.mark.parametrize("t", [0.0, 1.99, 2.0, 3.0, 4.999, 5.0, 9.99, 10.0, 12.0, 25.0, 1e6 + 7])
def test_window_next_open(t):
    w = Window(10.0, 2.0, 5.0)
    s = w.next_open(t)
    assert s >= t and s - t < 10.0
    assert 2.0 <= s % 10.0 < 5.0
    if 2.0 <= t % 10.0 < 5.0:
        assert s == t


# --------------------------------------------------------------------------- capacity, priority


def start_order(sc, seed=0):
    return [e["initiative"] for e in trace(sc, seed=seed).events if e["event"] == "start"]


def one_busy_runner(make_scenario, initiatives, capacity=1):
    return make_scenario(levels=[{"name": "d", "capacity": capacity, "work": 1}],
                         initiatives=initiatives, horizon=100)


def test_queue_orders_by_priority_then_fifo(make_scenario):
    # 'first' takes the idle runner; the rest wait and leave the queue by priority
    sc = one_busy_runner(make_scenario, [
        {"name": "first", "priority": 9},
        {"name": "late_hi", "priority": 1, "launch": 0.5},
        {"name": "lo", "priority": 5, "launch": 0.1},
        {"name": "hi", "priority": 1, "launch": 0.2},
    ])
    assert start_order(sc) == ["first", "hi", "late_hi", "lo"]


def test_capacity_lets_batons_work_together(make_scenario):
    sc = one_busy_runner(make_scenario, [{"name": n} for n in "abc"], capacity=2)
    starts = [e for e in trace(sc).events if e["event"] == "start"]
    assert [e["t"] for e in starts] == [0.0, 0.0, 1.0]
    rec = trace(sc).record.levels[0]
    assert rec.waits == 3 and rec.wait_total == pytest.approx(1.0)


def test_simultaneous_launch_priority_listed_first(make_scenario):
    sc = one_busy_runner(make_scenario, [{"name": "hi", "priority": 1},
                                         {"name": "lo", "priority": 5}])
    assert start_order(sc) == ["hi", "lo"]


def test_simultaneous_launch_priority_listed_second(make_scenario):
    sc = one_busy_runner(make_scenario, [{"name": "lo", "priority": 5},
                                         {"name": "hi", "priority": 1}])
    assert start_order(sc) == ["hi", "lo"]


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("k, n", [(7, 20), (0, 10), (10, 10), (412, 1000), (1, 1)])
def test_wilson_by_hand(k, n):
    z = sps.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(max(0.0, centre - half), abs=1e-12)
    assert hi == pytest.approx(min(1.0, centre + half), abs=1e-12)
    assert 0.0 <= lo <= p <= hi <= 1.0


def test_wilson_known_value():
    lo, hi = wilson(7, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.1812, 0.5671)


def test_km_quantiles_with_censoring_by_hand():
    # events at 1, 3, 4; censored at 2 and 5.  At risk 5, 3, 2:
    # S(1) = 4/5, S(3) = 4/5 * 2/3 = 8/15, S(4) = 8/15 * 1/2 = 4/15
    times = [1.0, None, 3.0, 4.0, None]
    follow = [9.0, 2.0, 9.0, 9.0, 5.0]
    t, f = km_curve(times, follow)
    curve = dict(zip(t.tolist(), f.tolist(), strict=True))
    # the curve is given at every distinct time, censoring times included (flat there)
    assert list(curve) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert list(curve.values()) == pytest.approx([1 / 5, 1 / 5, 7 / 15, 11 / 15, 11 / 15])
    # q25: F first >= .25 at 3; median: F(3) = .467 < .5, F(4) = .733; q75 never reached
    assert km_quantiles(times, follow) == [3.0, 4.0, None]
    assert km_quantiles(times, follow, qs=(0.2, 0.7333)) == [1.0, 4.0]


def test_km_tie_between_event_and_censoring():
    # a run censored at the time of an event is still at risk at that event
    t, f = km_curve([1.0, None, 1.0, 4.0, None], [9.0, 1.0, 9.0, 9.0, 5.0])
    assert dict(zip(t.tolist(), f.tolist(), strict=True)) == pytest.approx(
        {1.0: 2 / 5, 4.0: 1 - 3 / 5 * 1 / 2, 5.0: 1 - 3 / 5 * 1 / 2})


def test_km_quantiles_uncensored_and_all_censored():
    assert km_quantiles([1.0, 2.0, 3.0, 4.0], [9.0] * 4) == [1.0, 2.0, 3.0]
    assert km_quantiles([None, None], [5.0, 5.0]) == [None, None, None]
