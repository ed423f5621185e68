"""Monte Carlo estimates with their uncertainty, from scipy.stats."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["wilson", "mean_ci", "km_quantiles", "km_curve"]


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (scipy.stats.binomtest)."""
    if n <= 0:
        return (math.nan, math.nan)
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95,
            bounds: tuple[float, float] | None = None) -> tuple[float, tuple[float, float]]:
    """Mean and Student-t interval of the mean; NaN values are ignored. With `bounds`
    (e.g. (0, 1) for shares) the interval is clipped to them. One value: NaN interval."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return math.nan, (math.nan, math.nan)
    m = float(x.mean())
    if n == 1:
        return m, (math.nan, math.nan)
    se = float(x.std(ddof=1)) / math.sqrt(n)
    h = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    lo, hi = m - h, m + h
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return m, (lo, hi)


def km_curve(times: Sequence[float | None], follow_up: Sequence[float]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate of the completion-time CDF.

    `times[i]` is the event time, or None/NaN when replication i was censored at
    `follow_up[i]`. Returns (t, F(t)) at the distinct observed times.
    """
    t = np.asarray(times, dtype=float)  # None (censored) becomes NaN
    f = np.asarray(follow_up, dtype=float)
    if t.shape != f.shape:
        raise ValueError("times and follow_up must have the same length")
    censored = np.isnan(t)
    ev, cens = t[~censored], f[censored]
    if not len(ev):
        return np.array([]), np.array([])
    res = stats.ecdf(stats.CensoredData(uncensored=ev, right=cens))
    return np.asarray(res.cdf.quantiles), np.asarray(res.cdf.probabilities)


def km_quantiles(times: Sequence[float | None], follow_up: Sequence[float],
                 qs: Sequence[float] = (0.25, 0.5, 0.75)) -> list[float | None]:
    """Kaplan-Meier quantiles of completion time; None where the curve never reaches q
    (too many runs censored to say)."""
    t, f = km_curve(times, follow_up)
    out: list[float | None] = []
    for q in qs:
        idx = np.nonzero(f >= q - 1e-12)[0]
        out.append(float(t[idx[0]]) if len(idx) else None)
    return out
