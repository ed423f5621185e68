"""relaysim.study.intervals: closed forms, edge cases and coverage by simulation.

Coverage checks draw data with a known truth from fixed seeds and count how often the 95%
interval contains it. With R repetitions the Monte Carlo standard error of a coverage near
0.95 is sqrt(0.95 * 0.05 / R): 0.0069 at R = 1000, so the acceptance bound 0.93 sits about
three standard errors below nominal, and the seeds are fixed, so the tests cannot flicker.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from relaysim.study import intervals as iv

Z = float(stats.norm.ppf(0.975))


def _mc_se(p: float, r: int) -> float:
    return math.sqrt(p * (1 - p) / r)


# ---------------------------------------------------------------- paired proportions


def test_tango_zero_discordant_closed_form():
    # b = c = 0: the score equation reduces to n d / (1 - d) = z^2
    for n in (20, 100, 2000):
        r = iv.paired_proportions_table(n - 7, 0, 0, 7)
        h = Z**2 / (n + Z**2)
        assert r.difference == 0.0 and (r.b, r.c) == (0, 0)
        assert r.ci[0] == pytest.approx(-h, abs=1e-9)
        assert r.ci[1] == pytest.approx(h, abs=1e-9)


def test_tango_inverts_the_score_test():
    r = iv.paired_proportions_table(50, 10, 20, 20)
    assert r.difference == pytest.approx(0.1)
    # the bounds (B minus A) are where Tango's statistic (A minus B) equals -+z
    assert iv._tango_z(-r.ci[0], 10, 20, 100) == pytest.approx(-Z, abs=1e-6)
    assert iv._tango_z(-r.ci[1], 10, 20, 100) == pytest.approx(Z, abs=1e-6)
    # Newcombe's method 10 agrees closely away from the boundary
    nw = iv.paired_proportions_table(50, 10, 20, 20, method="newcombe")
    assert nw.ci[0] == pytest.approx(r.ci[0], abs=0.01)
    assert nw.ci[1] == pytest.approx(r.ci[1], abs=0.01)


def test_paired_proportions_from_arrays_counts_and_direction():
    a = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    b = np.array([1, 0, 1, 1, 1, 0, 1, 1])
    r = iv.paired_proportions(a, b)
    assert (r.b, r.c, r.n) == (1, 2, 8)  # b: A won, c: B won
    assert r.difference == pytest.approx((2 - 1) / 8)
    assert r.a == pytest.approx(5 / 8) and r.b_rate == pytest.approx(6 / 8)
    assert r.ci[0] < r.difference < r.ci[1]
    d = r.as_dict()
    assert d["ci"] == list(r.ci) and d["b"] == 1 and d["c"] == 2


def test_issue12_point1_no_zero_width_interval():
    """Issue 12 point 1: with no discordant pair (common random numbers, a tiny change)
    the old t interval was [0, 0]; with one pair in the helping direction it went below
    what the data allow. The score interval is honest in both cases."""
    none = iv.paired_proportions(np.ones(100), np.ones(100))
    assert none.ci[1] - none.ci[0] > 0.05
    assert none.ci[0] < 0 < none.ci[1]
    one = iv.paired_proportions_table(80, 0, 1, 19)
    assert one.ci[0] < one.ci[1]
    assert one.ci[0] < 0.01 < one.ci[1]
    assert one.ci[1] > 0.04  # not [x, x]: one pair in 100 is weak evidence
    # the interval is not symmetric about the estimate (t would be)
    assert one.ci[1] - one.difference > one.difference - one.ci[0]


def test_paired_proportions_extremes_and_errors():
    r = iv.paired_proportions_table(0, 0, 100, 0)
    assert r.difference == 1.0 and r.ci[1] == 1.0 and 0.9 < r.ci[0] < 1.0
    r = iv.paired_proportions_table(0, 100, 0, 0)
    assert r.difference == -1.0 and r.ci[0] == -1.0
    e = iv.paired_proportions_table(0, 0, 0, 0)
    assert e.n == 0 and math.isnan(e.difference)
    with pytest.raises(ValueError):
        iv.paired_proportions_table(1, -1, 0, 0)
    with pytest.raises(ValueError):
        iv.paired_proportions_table(1, 1, 0, 0, method="wald")
    with pytest.raises(ValueError):
        iv.paired_proportions([1, 0], [1])


@pytest.mark.parametrize("probs", [
    (0.70, 0.004, 0.016, 0.280),  # rare discordance, B helps: truth +0.012
    (0.70, 0.005, 0.005, 0.290),  # rare discordance, no effect
    (0.50, 0.000, 0.010, 0.490),  # a lever that can only help
])
def test_paired_proportions_coverage(probs):
    rng = np.random.default_rng(20240612)
    truth = probs[2] - probs[1]
    reps = 1000
    hits = 0
    for _ in range(reps):
        n11, b, c, n00 = rng.multinomial(200, probs)
        lo, hi = iv.paired_proportions_table(n11, b, c, n00).ci
        hits += lo <= truth <= hi
    assert hits / reps >= 0.93, (hits / reps, _mc_se(0.95, reps))


# ---------------------------------------------------------------------- paired means


def test_paired_means_closed_form():
    a = np.array([0.5, 0.6, 0.7, 0.8, 0.9])
    b = a + np.array([0.1, 0.0, 0.2, 0.1, 0.1])
    r = iv.paired_means(a, b)
    d = b - a
    assert r.difference == pytest.approx(d.mean())
    se_t = d.std(ddof=1) / math.sqrt(5)
    assert r.se >= se_t - 1e-15  # the floor can only widen
    h = stats.t.ppf(0.975, 4) * r.se
    assert r.ci == pytest.approx((d.mean() - h, d.mean() + h))
    assert r.nonzero == 4 and r.method == "t-floor"


def test_paired_means_all_zero_is_not_zero_width():
    a = np.linspace(0.2, 0.9, 300)
    r = iv.paired_means(a, a)
    u = 1 - 0.025 ** (1 / 300)  # Clopper-Pearson upper limit of 0 of 300
    assert r.method == "zero-pairs" and r.nonzero == 0
    assert r.ci == pytest.approx((-u, u))


@pytest.mark.parametrize("pi, mu, sd", [(0.10, 0.02, 0.03), (0.03, 0.02, 0.03),
                                        (0.03, 0.05, 0.01)])
def test_paired_means_coverage_sparse_differences(pi, mu, sd):
    """Coverage differences under common random numbers: most pairs identical."""
    rng = np.random.default_rng(7)
    reps, n, hits = 1000, 300, 0
    for _ in range(reps):
        a = rng.uniform(0.5, 0.9, n)
        b = a + (rng.random(n) < pi) * rng.normal(mu, sd, n)
        lo, hi = iv.paired_means(a, b).ci
        hits += lo <= pi * mu <= hi
    assert hits / reps >= 0.93


# --------------------------------------------------------------- clustered estimates


def test_ratio_estimate_closed_form():
    y = np.array([3.0, 1.0, 4.0, 0.0])
    n = np.array([5.0, 2.0, 6.0, 1.0])
    r = iv.ratio_estimate(y, n, proportion=True)
    R = 8 / 14
    v = 4 / 3 * np.sum((y - R * n) ** 2) / 14**2
    assert r.estimate == pytest.approx(R)
    assert r.se == pytest.approx(math.sqrt(v))
    assert r.naive_se == pytest.approx(math.sqrt(R * (1 - R) / 14))
    assert r.deff == pytest.approx(v / (R * (1 - R) / 14))
    assert (r.clusters, r.units) == (4, 14.0)
    assert r.ci[0] < R < r.ci[1]


def test_ratio_estimate_one_unit_per_cluster_is_the_plain_estimate():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 1.0, 50)
    r = iv.ratio_estimate(x, np.ones(50), y_sq=x * x)
    assert r.estimate == pytest.approx(x.mean())
    assert r.se == pytest.approx(x.std(ddof=1) / math.sqrt(50))
    assert r.deff == pytest.approx(1.0)
    m = iv.replication_mean(np.append(x, np.nan))
    assert m.estimate == pytest.approx(x.mean()) and m.clusters == 50


def test_ratio_proportion_does_not_collapse_at_zero_or_one():
    r = iv.ratio_estimate(np.zeros(30), np.full(30, 9.0), proportion=True)
    assert r.estimate == 0.0 and r.ci[0] == 0.0 and r.ci[1] > 0.01
    r = iv.ratio_estimate(np.full(30, 9.0), np.full(30, 9.0), proportion=True)
    assert r.ci[1] == 1.0 and r.ci[0] < 0.99


def test_ratio_estimate_empty_and_errors():
    assert math.isnan(iv.ratio_estimate([], []).estimate)
    assert math.isnan(iv.ratio_estimate([0, 0], [0, 0]).estimate)
    with pytest.raises(ValueError):
        iv.ratio_estimate([1], [1, 2])


def test_clustered_stream_coverage_and_design_effect():
    """Issue 12 point 2: arrivals in one replication share a random effect (queues,
    tanks). The clustered interval covers; the naive one (arrivals independent) does not,
    and the design effect says by how much."""
    rng = np.random.default_rng(2)
    reps, hits, naive_hits, deffs = 1000, 0, 0, []
    for _ in range(reps):
        m = 300
        k = 1 + rng.poisson(8, m)  # about 9 arrivals per replication
        p = rng.beta(1.2, 0.8, m)  # shared by the arrivals of a replication; mean 0.6
        y = rng.binomial(k, p)
        r = iv.ratio_estimate(y, k, proportion=True)
        hits += r.ci[0] <= 0.6 <= r.ci[1]
        naive_hits += abs(r.estimate - 0.6) <= Z * r.naive_se
        deffs.append(r.deff)
    assert hits / reps >= 0.93
    assert naive_hits / reps < 0.8
    # design effect 1 + (k_bar - 1) * ICC with ICC = 1 / (1 + a + b) = 0.33 and k varying
    assert 3.0 < float(np.mean(deffs)) < 4.5


def test_clustered_continuous_coverage():
    rng = np.random.default_rng(3)
    reps, hits = 400, 0
    for _ in range(reps):
        m = 300
        k = 1 + rng.poisson(8, m)
        mu = rng.normal(0.7, 0.1, m)
        vals = [mu[i] + rng.normal(0, 0.1, k[i]) for i in range(m)]
        y = np.array([v.sum() for v in vals])
        ysq = np.array([(v * v).sum() for v in vals])
        r = iv.ratio_estimate(y, k, y_sq=ysq, bounds=(0.0, 1.0))
        hits += r.ci[0] <= 0.7 <= r.ci[1]
        assert r.deff > 1.5
    assert hits / reps >= 0.93


def test_binomial_mixture_completion_coverage():
    """Completion of a named initiative: one 0/1 per replication, success probability
    varying between replications (a binomial mixture; marginally Bernoulli(mean))."""
    rng = np.random.default_rng(4)
    for a, b in ((4.0, 1.0), (19.4, 0.6)):  # means 0.8 and 0.97
        truth = a / (a + b)
        reps, hits = 1000, 0
        for _ in range(reps):
            y = rng.random(200) < rng.beta(a, b, 200)
            r = iv.ratio_estimate(y.astype(float), np.ones(200), proportion=True)
            hits += r.ci[0] <= truth <= r.ci[1]
        assert hits / reps >= 0.93, (truth, hits / reps)


# ---------------------------------------------------------------------- Kaplan-Meier


def test_km_quantiles_match_point_estimates_and_scipy_band():
    times = [1.0, 2.0, 3.0, None, 5.0, 6.0, None, 8.0]
    fu = [9.0] * 8
    out = iv.km_quantile_intervals(times, fu)
    from relaysim.study.stats import km_quantiles

    assert [o.estimate for o in out] == km_quantiles(times, fu)
    for o in out:
        assert o.low is not None and o.low <= o.estimate
        assert o.high is None or o.high >= o.estimate
        assert o.method == "km-log-log-band-inversion"
    # the q-quantile's lower limit is the first time scipy's lower band is <= 1 - q
    res = stats.ecdf(stats.CensoredData(uncensored=[1, 2, 3, 5, 6, 8], right=[9, 9]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = res.sf.confidence_interval(0.95, method="log-log").low
    idx = np.nonzero(np.nan_to_num(low.probabilities) <= 0.5)[0][0]
    assert out[1].low == low.quantiles[idx]


def test_km_quantiles_all_censored_and_no_censoring():
    out = iv.km_quantile_intervals([None, None], [3.0, 4.0])
    assert all(o.estimate is None and o.low is None for o in out)
    t = np.arange(1.0, 41.0)
    out = iv.km_quantile_intervals(list(t), list(t), qs=(0.5,), method="linear")
    assert out[0].estimate == 20.0 and out[0].low < 20.0 < out[0].high


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
def test_km_quantile_coverage_with_censoring(q):
    rng = np.random.default_rng(5)
    truth = -math.log(1 - q)  # exponential(1) quantile
    reps, hits = 1000, 0
    for _ in range(reps):
        t = rng.exponential(1.0, 200)
        c = rng.uniform(0.0, 3.0, 200)  # about 32% censored
        o = iv.km_quantile_intervals(np.where(t <= c, t, np.nan), np.minimum(t, c),
                                     qs=(q,))[0]
        hits += (o.low is not None and o.low <= truth
                 and (o.high is None or truth <= o.high))
    assert hits / reps >= 0.93


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
def test_km_quantile_coverage_clustered_by_replication(q):
    """The stream's completion times: arrivals of one replication share a frailty (queues,
    tanks), so Greenwood's band, which treats them as independent, undercovers (about
    0.80 to 0.87 here); widened by the design effect (clusters=...) it covers. Gamma(1.5)
    frailty on an exponential(1) time: S(t) = (1 + t/1.5)^-1.5 marginally."""
    rng = np.random.default_rng(8)
    k = 1.5
    truth = k * ((1 - q) ** (-1 / k) - 1)
    reps, hits, naive = 1000, 0, 0
    for _ in range(reps):
        sizes = 1 + rng.poisson(5, 150)  # 150 replications, about 6 arrivals each
        cl = np.repeat(np.arange(150), sizes)
        t = rng.exponential(1 / np.repeat(rng.gamma(k, 1 / k, 150), sizes))
        c = rng.uniform(0.0, 4.0, len(t))
        times, fu = np.where(t <= c, t, np.nan), np.minimum(t, c)
        for clusters in (cl, None):
            o = iv.km_quantile_intervals(times, fu, qs=(q,), clusters=clusters)[0]
            ok = (o.low is not None and o.low <= truth and (o.high is None or truth <= o.high))
            if clusters is None:
                naive += ok
            else:
                hits += ok
                assert o.method == "km-log-log-band-inversion-clustered"
    assert hits / reps >= 0.93
    assert naive / reps < 0.9  # the check can tell the two apart


def test_km_clustered_with_one_unit_per_cluster_is_the_plain_band():
    rng = np.random.default_rng(9)
    t = rng.exponential(1.0, 200)
    c = rng.uniform(0.0, 3.0, 200)
    times, fu = np.where(t <= c, t, np.nan), np.minimum(t, c)
    plain = iv.km_quantile_intervals(times, fu)
    one = iv.km_quantile_intervals(times, fu, clusters=np.arange(200))
    assert [(o.low, o.high) for o in one] == [(o.low, o.high) for o in plain]
    with pytest.raises(ValueError):
        iv.km_quantile_intervals(times, fu, clusters=np.arange(3))


# ------------------------------------------------------------------------ --precision


def test_precision_half_width_does_not_collapse():
    # issue 12 point 4: 50 of 50 gave a plain Wilson half-width of 0.036 and stopped
    plain = iv.wilson_half_width(1.0, 50)
    assert plain == pytest.approx(0.036, abs=0.001)
    assert iv.precision_half_width(50, 50, 0.05) > 0.05
    assert iv.precision_half_width(0, 50, 0.05) == pytest.approx(
        iv.wilson_half_width(0.05, 50))
    # in the middle it is the ordinary Wilson width at p-hat
    assert iv.precision_half_width(100, 200, 0.05) == pytest.approx(
        iv.wilson_half_width(0.5, 200))
    # a design effect shrinks the sample
    assert iv.precision_half_width(100, 200, 0.05, deff=2.0) == pytest.approx(
        iv.wilson_half_width(0.5, 100))


def test_precision_stop_minimum():
    assert not iv.precision_stop([(50, 50)], 0.05)
    assert not iv.precision_stop([(199, 199)], 0.05, min_reps=200)
    assert iv.precision_stop([(200, 200)], 0.05)
    assert not iv.precision_stop([(50, 50)], 0.05, min_reps=50)  # evaluated at 0.95
    assert iv.precision_stop([(50, 50)], 0.2, min_reps=50)  # evaluated at 0.8: 0.11
    assert not iv.precision_stop([(200, 200), (100, 200)], 0.05)  # every tally counts
    assert not iv.precision_stop([], 0.05)


def _old_rule(p: float, target: float, repeats: int, seed: int) -> np.ndarray:
    """The rule issue 12 reports: plain Wilson, checked every 50, no minimum."""
    rng = np.random.default_rng(seed)
    est = np.empty(repeats)
    for r in range(repeats):
        n = k = 0
        while n < 100_000:
            k += int(rng.binomial(50, p))
            n += 50
            if iv.wilson_half_width(k / n, n) <= target:
                break
        est[r] = k / n
    return est


def test_issue12_point4_old_rule_is_biased_new_rule_is_not():
    old = _old_rule(0.03, 0.05, 2000, seed=11)
    assert (old.mean() - 0.03) / 0.03 < -0.10  # the -13% relative the issue found
    new = iv.replay_precision_rule(0.03, 0.05, 2000, seed=11)
    assert abs(new["p_hat"].mean() - 0.03) / 0.03 < 0.02
    # a point at 96.4% no longer stops at 50 reporting 100%
    r = iv.replay_precision_rule(0.964, 0.05, 500, seed=12)
    assert r["n"].min() >= 200 and r["p_hat"].max() < 1.0


@pytest.mark.parametrize("p", [0.03, 0.5, 0.97])
def test_precision_rule_replay_bias_and_coverage(p):
    target, repeats = 0.05, 2000
    r = iv.replay_precision_rule(p, target, repeats, seed=int(p * 1000))
    bias = float(r["p_hat"].mean() - p)
    se = float(r["p_hat"].std(ddof=1)) / math.sqrt(repeats)
    assert 3 * se < target / 10  # the check has the power to see a bias of H/10
    assert abs(bias) < target / 10
    covered = float(np.mean((r["low"] <= p) & (p <= r["high"])))
    assert covered >= 0.93
    # and the reported intervals meet the precision asked for
    assert float(np.max((r["high"] - r["low"]) / 2)) <= target + 1e-9
    assert r["n"].min() >= 200


# ------------------------------------------------------------------- replication noise


def test_combine_seed_noise_closed_form():
    per_seed = [0.24, 0.39, 0.33, 0.29]  # issue 12 point 3: one index over four seeds
    s = iv.combine_seed_noise(per_seed, np.zeros(200))
    sd = float(np.std(per_seed, ddof=1))
    assert s.estimate == pytest.approx(np.mean(per_seed))
    assert s.se == pytest.approx(sd / 2)
    assert s.seed_sd == pytest.approx(sd)
    assert s.noise_share == pytest.approx(1.0)
    boot = np.random.default_rng(0).normal(0.3, 0.05, 400)
    s = iv.combine_seed_noise(per_seed, boot)
    bv = float(np.var(boot, ddof=1))
    assert s.se == pytest.approx(math.sqrt(bv + sd**2 / 4))
    assert s.noise_share == pytest.approx(sd**2 / 4 / (bv + sd**2 / 4))
    assert s.ci[0] < s.estimate < s.ci[1] and s.seeds == 4


def test_combine_seed_noise_few_seeds_use_student_t():
    """The between-seed variance of K seeds has K - 1 degrees of freedom: with it alone
    the interval is Student t on K - 1, not normal; a dominant bootstrap makes it normal."""
    per_seed = [0.24, 0.39, 0.33, 0.29]
    s = iv.combine_seed_noise(per_seed, np.zeros(200))
    sd = float(np.std(per_seed, ddof=1))
    assert s.df == pytest.approx(3.0)
    half = (s.ci[1] - s.ci[0]) / 2
    assert half == pytest.approx(stats.t.ppf(0.975, 3) * sd / 2)
    s = iv.combine_seed_noise(per_seed, np.random.default_rng(1).normal(0, 1.0, 2000))
    assert s.df > 1000 and (s.ci[1] - s.ci[0]) / 2 == pytest.approx(1.96 * s.se, rel=0.01)
    one = iv.combine_seed_noise([0.3], np.random.default_rng(1).normal(0.3, 0.05, 400))
    assert one.df == math.inf and math.isnan(one.noise_share)
