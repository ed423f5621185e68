"""Approximate Bayesian computation (ABC) for a noisy simulator of rates, as
experiments/calibration.py uses it. numpy and scipy only.

The simulator returns, for a hyperparameter vector theta, binary outcomes of n simulated
units (districts); the published targets are rates with standard errors. Two estimates of
the posterior are made from one reference table (prior draws theta_i, each simulated with
its own seed):

- rejection ABC on the raw table: the distance of each draw's simulated rates from the
  targets, each in units of its target's standard error, and the closest `keep` share of
  draws accepted. Honest but coarse: each draw's rates carry the simulation noise of only
  n units, so the accepted set is wider than the targets alone warrant;
- ABC with an emulator: a logistic regression of the units' outcomes on a polynomial of
  theta, fitted to the whole table (N x n units, so its noise is that of N x n units, not
  n), stands in for the simulator's rate at any theta (the polynomial's degree, 1 to 3,
  chosen by AIC). Prior draws (many, cheap) are then
  weighted with a Gaussian kernel whose widths are the targets' standard errors, which is
  exact inference for the error model "published rate = the population's rate + sampling
  error of that standard error" (Wilkinson 2013, Stat. Appl. Genet. Mol. Biol. 12(2)).
  The emulator's own uncertainty is carried by drawing its coefficients from their
  approximate normal distribution, one draw per prior draw.

A conditional rate (sustained among the started) is emulated on the units that started.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
from scipy import special, stats


@dataclass(frozen=True)
class Prior:
    """Independent uniform priors, each on a linear or a log scale."""

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    log: tuple[bool, ...]

    def _scale(self, theta: np.ndarray) -> np.ndarray:
        t = np.array(theta, dtype=float, ndmin=2)
        logs = np.array(self.log)
        t[:, logs] = np.log(t[:, logs])
        return t

    def _ends(self) -> tuple[np.ndarray, np.ndarray]:
        return self._scale(np.array(self.low))[0], self._scale(np.array(self.high))[0]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent draws (n x k), on the parameters' own scale."""
        lo, hi = self._ends()
        x = lo + (hi - lo) * rng.random((n, len(self.names)))
        return np.where(np.array(self.log), np.exp(x), x)

    def unit(self, theta: np.ndarray) -> np.ndarray:
        """theta mapped to [-1, 1] on the prior's scale (log for log-uniform ones)."""
        lo, hi = self._ends()
        return 2 * (self._scale(theta) - lo) / (hi - lo) - 1

    def width90(self) -> np.ndarray:
        """Width of each prior's central 90% interval, on the prior's scale."""
        lo, hi = self._ends()
        return 0.9 * (hi - lo)

    def contains(self, theta: np.ndarray) -> np.ndarray:
        u = self.unit(theta)
        return np.all((u >= -1) & (u <= 1), axis=1)


def basis(u: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial terms of u (n x k) up to `degree`, with the constant first."""
    cols = [np.ones(len(u))]
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(range(u.shape[1]), d):
            cols.append(np.prod(u[:, list(combo)], axis=1))
    return np.column_stack(cols)


@dataclass(frozen=True)
class Emulator:
    """A binomial logistic regression of a rate on a polynomial of the prior's unit
    coordinates: rate(theta) = expit(basis(unit(theta)) @ coef)."""

    prior: Prior
    degree: int
    coef: np.ndarray
    cov: np.ndarray

    @classmethod
    def fit(cls, prior: Prior, theta: np.ndarray, k: np.ndarray, n: np.ndarray,
            degree: int = 2, ridge: float = 1e-4) -> Emulator:
        """Maximum likelihood by Newton's method (k successes of n per draw; draws with
        n = 0 carry no information). A small ridge keeps the Hessian invertible."""
        x = basis(prior.unit(theta), degree)
        k, n = np.asarray(k, float), np.asarray(n, float)
        b = np.zeros(x.shape[1])
        pen = ridge * np.eye(len(b))
        pen[0, 0] = 0.0
        for _ in range(100):
            p = special.expit(x @ b)
            h = x.T @ (x * (n * p * (1 - p))[:, None]) + pen
            step = np.linalg.solve(h, x.T @ (k - n * p) - pen @ b)
            b = b + step
            if np.max(np.abs(step)) < 1e-9:
                break
        p = special.expit(x @ b)
        h = x.T @ (x * (n * p * (1 - p))[:, None]) + pen
        return cls(prior, degree, b, np.linalg.inv(h))

    @classmethod
    def select(cls, prior: Prior, theta: np.ndarray, k: np.ndarray, n: np.ndarray,
               degrees: tuple[int, ...] = (1, 2, 3)) -> Emulator:
        """The fit of the degree with the smallest AIC (binomial log-likelihood)."""
        fits = [cls.fit(prior, theta, k, n, d) for d in degrees]
        return min(fits, key=lambda e: e.aic(theta, k, n))

    def aic(self, theta: np.ndarray, k: np.ndarray, n: np.ndarray) -> float:
        p = np.clip(self.rate(theta), 1e-12, 1 - 1e-12)
        ll = np.sum(stats.binom.logpmf(np.asarray(k), np.asarray(n), p))
        return float(2 * len(self.coef) - 2 * ll)

    def rate(self, theta: np.ndarray, coef: np.ndarray | None = None) -> np.ndarray:
        """The emulated rate at each theta (with one coefficient vector per theta when
        `coef` is an (n x p) array of draws)."""
        x = basis(self.prior.unit(theta), self.degree)
        if coef is None:
            return special.expit(x @ self.coef)
        return special.expit(np.einsum("ij,ij->i", x, coef))

    def coef_draws(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.multivariate_normal(self.coef, self.cov, size=n, method="cholesky")

    def dispersion(self, theta: np.ndarray, k: np.ndarray, n: np.ndarray) -> float:
        """Mean squared Pearson residual of the draws' counts (about 1 when the emulator
        fits the simulator within its binomial noise; much above 1 when it does not)."""
        p, n = self.rate(theta), np.asarray(n, float)
        use = n > 0
        z = (np.asarray(k)[use] - n[use] * p[use]) / np.sqrt(n[use] * p[use] * (1 - p[use]))
        return float(np.mean(z**2))


def distances(rates: np.ndarray, targets: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row of rates from the targets, in standard errors (a row
    with a missing rate is infinitely far)."""
    d = np.sqrt(np.sum(((rates - targets) / se) ** 2, axis=1))
    return np.where(np.isfinite(d), d, np.inf)


def rejection(rates: np.ndarray, targets: np.ndarray, se: np.ndarray, keep: float
              ) -> tuple[np.ndarray, float]:
    """Rejection ABC: the closest `keep` share of the draws (a mask) and the tolerance
    (the largest accepted distance)."""
    d = distances(rates, targets, se)
    n = max(1, round(keep * len(d)))
    order = np.argsort(d, kind="stable")[:n]
    mask = np.zeros(len(d), dtype=bool)
    mask[order] = True
    return mask, float(d[order[-1]])


@dataclass(frozen=True)
class Posterior:
    """Weighted draws of theta (prior draws weighted by the Gaussian kernel)."""

    prior: Prior
    theta: np.ndarray
    weight: np.ndarray

    @property
    def ess(self) -> float:
        """Kish's effective sample size of the weights."""
        w = self.weight
        return float(w.sum() ** 2 / np.sum(w**2)) if w.sum() > 0 else 0.0

    def quantiles(self, qs: tuple[float, ...]) -> np.ndarray:
        """Weighted quantiles of each parameter (len(qs) x k)."""
        out = np.empty((len(qs), self.theta.shape[1]))
        for j in range(self.theta.shape[1]):
            out[:, j] = wquantile(self.theta[:, j], self.weight, qs)
        return out

    def interval(self, level: float = 0.9) -> np.ndarray:
        """Central credible intervals (2 x k)."""
        a = (1 - level) / 2
        return self.quantiles((a, 1 - a))

    def shrinkage(self) -> np.ndarray:
        """Posterior 90% width over prior 90% width, on the prior's scale (1: the targets
        say nothing about the parameter; near 0: they pin it)."""
        lo, hi = self.interval(0.9)
        scale = self.prior._scale
        return (scale(hi)[0] - scale(lo)[0]) / self.prior.width90()

    def correlation(self, i: int, j: int) -> float:
        """Weighted correlation of two parameters on the prior's scale."""
        x = self.prior._scale(self.theta)
        c = np.cov(x[:, [i, j]].T, aweights=self.weight)
        return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))


def wquantile(x: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of x under weights w (inverse of the weighted empirical CDF, with each
    draw's mass centred on it)."""
    order = np.argsort(x)
    xs, ws = x[order], w[order]
    cw = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
    return np.interp(qs, cw, xs)


def emulated_posterior(prior: Prior, emulators: list[Emulator], targets: np.ndarray,
                       se: np.ndarray, rng: np.random.Generator, draws: int) -> Posterior:
    """Kernel ABC on the emulators: `draws` prior draws, each weighted by the product of
    normal densities of (target - emulated rate) / se, with every draw's emulator
    coefficients drawn afresh (emulator uncertainty)."""
    theta = prior.sample(rng, draws)
    logw = np.zeros(draws)
    for em, t, s in zip(emulators, targets, se, strict=True):
        r = em.rate(theta, em.coef_draws(rng, draws))
        logw += stats.norm.logpdf((t - r) / s)
    w = np.exp(logw - logw.max())
    return Posterior(prior, theta, w)
