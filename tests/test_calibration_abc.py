"""The ABC machinery of experiments/calibration.py (experiments/_inference.py), checked on
a toy simulator of rates whose truth is known: binomial outcomes with logistic rates in
two of three parameters (the third has no effect), so the method must recover the two
and leave the third at its prior range.

The experiment's own check on the real model (districts simulated at known
hyperparameters must fall inside the reported 90% intervals) is its `synthetic_inside`
headline, run by tests/test_experiments.py with --quick.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))

from _inference import (
    Emulator,
    Prior,
    emulated_posterior,
    rejection,
    wquantile,
)

PRIOR = Prior(("a", "b", "c"), (0.5, 0.5, 0.0), (2.0, 2.0, 1.0), (True, True, False))
TRUTH = np.array([1.2, 0.8, 0.5])


def toy_rates(theta: np.ndarray) -> np.ndarray:
    """Two rates: the first moves with a and b, the second with b only; c does nothing."""
    la, lb = np.log(theta[:, 0]), np.log(theta[:, 1])
    return np.column_stack([special.expit(1.5 * la - 1.0 * lb - 0.5),
                            special.expit(-2.0 * lb + 0.3 * la ** 2 + 0.3)])


def toy_fit(seed: int, draws: int = 300, units: int = 40, observed: int = 1000):
    """A reference table, a study at TRUTH, and the emulator posterior."""
    rng = np.random.default_rng(seed)
    theta = PRIOR.sample(rng, draws)
    p = toy_rates(theta)
    k1 = rng.binomial(units, p[:, 0])
    k2 = rng.binomial(k1, p[:, 1])  # a conditional rate, among the units of the first
    n = np.full(draws, units)
    p_true = toy_rates(TRUTH[None, :])[0]
    o1 = rng.binomial(observed, p_true[0])
    o2 = rng.binomial(o1, p_true[1])
    obs = np.array([o1 / observed, o2 / o1])
    se = np.sqrt(obs * (1 - obs) / np.array([observed, o1]))
    ems = [Emulator.select(PRIOR, theta, k1, n), Emulator.select(PRIOR, theta, k2, k1)]
    post = emulated_posterior(PRIOR, ems, obs, se, rng, 20_000)
    return theta, np.column_stack([k1 / n, k2 / np.maximum(k1, 1)]), obs, se, ems, post


def test_known_values_inside_the_90_intervals_and_the_idle_parameter_is_not_pinned():
    """Fixed seed: the truth lies inside every 90% interval; a and b are pinned (posterior
    90% width under 60% of the prior's), c is not (over 80%)."""
    post = toy_fit(seed=11)[5]
    lo, hi = post.interval(0.9)
    assert np.all((lo <= TRUTH) & (TRUTH <= hi)), (lo, hi)
    sh = post.shrinkage()
    assert sh[0] < 0.6 and sh[1] < 0.6, sh
    assert sh[2] > 0.8, sh
    assert post.ess > 200


def test_the_intervals_cover_the_truth_at_about_their_level():
    """Over 20 independent repetitions (tables and studies), the 90% interval of a holds
    the truth at least 15 times: if the coverage were 90%, fewer than 15 would happen
    with probability 1.1% (binomial), and a badly overconfident method fails."""
    hits = sum(bool(lo <= TRUTH[0] <= hi) for lo, hi in
               (toy_fit(seed=100 + r, draws=150, units=30)[5].interval(0.9)[:, 0]
                for r in range(20)))
    assert stats.binom.cdf(14, 20, 0.9) < 0.012
    assert hits >= 15, hits


def test_the_emulator_fits_within_binomial_noise():
    theta, _, _, _, ems, _ = toy_fit(seed=12)
    rng = np.random.default_rng(3)
    n = np.full(len(theta), 40)
    k = rng.binomial(n, toy_rates(theta)[:, 0])
    assert 0.7 < ems[0].dispersion(theta, k, n) < 1.4
    assert np.max(np.abs(ems[0].rate(theta) - toy_rates(theta)[:, 0])) < 0.08


def test_rejection_keeps_the_closest_share():
    rates = np.array([[0.35, 0.37], [0.5, 0.37], [0.36, 0.40], [np.nan, 0.37]])
    mask, tol = rejection(rates, np.array([0.35, 0.37]), np.array([0.01, 0.03]), keep=0.5)
    assert mask.tolist() == [True, False, True, False]
    assert tol == pytest.approx(np.hypot(1.0, 1.0))


def test_weighted_quantiles():
    x = np.arange(1.0, 101.0)
    assert wquantile(x, np.ones(100), (0.5,))[0] == pytest.approx(50.5)
    w = np.where(x <= 50, 1.0, 0.0)  # all the mass on 1..50
    assert wquantile(x, w, (0.5,))[0] == pytest.approx(25.5)


def test_prior_unit_scale_and_sampling():
    rng = np.random.default_rng(0)
    th = PRIOR.sample(rng, 5000)
    assert PRIOR.contains(th).all()
    u = PRIOR.unit(th)
    assert np.allclose(u.mean(axis=0), 0, atol=0.05)  # uniform on the prior's scale
    assert PRIOR.unit(np.array([[1.0, 1.0, 0.5]]))[0] == pytest.approx([0, 0, 0])
