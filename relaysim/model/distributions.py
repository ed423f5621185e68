"""Duration distributions, in days.

Every distribution is a small frozen object that knows its mean and variance (so tests
can compare samples with them) and turns uniforms in [0, 1) into durations through its
inverse CDF (`ppf`). Sampling by inverse CDF is what makes common random numbers work:
the same uniform drawn for the same runner gives a longer work time when the mean is
longer, a shorter one when it is shorter, in every variant of a scenario.

Durations are never negative: every family here is supported on [0, inf).

One inverse CDF per family, for both engines: `Distribution.packed()` gives the family's
integer `code` and its parameters as a flat float64 array, and `ppf_scalar(code, params,
u)` is the inverse CDF of one uniform, written so that numba can compile it (the compiled
engine imports relaysim.engines.nbspecial first, which teaches numba scipy.special's
gammaincinv and ndtri through scipy.special.cython_special, the same C functions). The
vectorised `ppf` of every family computes the same expression in the same order, so the
two agree bit for bit. Elementary functions (exp, log1p) are the C library's, as
`math` and numba call them, never numpy's SIMD versions (which differ in the last bit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from .spec import REQUIRED, Spec

__all__ = [
    "Distribution",
    "ppf_scalar",
    "scaled",
    "gamma_table",
    "GAMMA_CELLS",
    "GAMMA_TOL",
    "NO_TABLE",
    "Fixed",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Uniform",
    "Triangular",
    "Empirical",
    "FAMILIES",
    "ZERO",
    "MAX_DAYS",
    "MIN_CV",
    "MAX_SPREAD",
]

# Bounds on distribution parameters, so that every accepted distribution gives finite,
# non-negative samples for every uniform in [0, 1), and a finite mean and variance:
#: the largest duration parameter (a mean, median, value, bound or empirical value), in
#: days: about 5.5 million school years, long enough to write "never", while the largest
#: sample at the other bounds (lognormal, sigma 10, u just below 1) stays near 1e45
MAX_DAYS = 1e9
#: gamma's smallest cv: below about 0.0012 (shape 1/cv^2 above ~7e5) scipy's inverse CDF is
#: no longer monotone in u, which breaks common random numbers; below ~1e-154 the shape is
#: inf (and 1/cv^2 divides by zero once cv^2 underflows, e.g. cv = 1e-300).
#: A cv under 0.01 is a fixed duration for any purpose here: write `fixed` instead
MIN_CV = 0.01
#: the largest gamma cv and lognormal sigma. Both are already extreme at 10: the gamma's
#: median is below 1e-28 of its mean, the lognormal's mean exp(50) times its median. With
#: sigma above about 18 the lognormal's variance (exp(2 sigma^2) median^2) overflows
MAX_SPREAD = 10.0

_DAYS = Spec("float", REQUIRED, 0.0, MAX_DAYS)  # a duration: >= 0 and <= MAX_DAYS
_DAYS_POS = Spec("float", REQUIRED, 0.0, MAX_DAYS, lo_open=True)  # > 0 and <= MAX_DAYS


# family codes of `Distribution.code` / `ppf_scalar` (never renumber one)
FIXED, EXPONENTIAL, GAMMA, LOGNORMAL, UNIFORM, TRIANGULAR, EMPIRICAL = range(7)


def _libm(f: Any, x: np.ndarray) -> np.ndarray:
    """Elementwise C-library `f` (math.exp, math.log1p) of a float array."""
    x = np.asarray(x, dtype=float)
    return np.fromiter(map(f, x.ravel().tolist()), float, x.size).reshape(x.shape)


def gammaincinv(a: Any, y: Any) -> Any:
    """scipy.special.gammaincinv (scipy is imported on first use, which keeps the command
    line's start-up short; under numba, engines/nbspecial.py supplies the same C function)."""
    from scipy import special

    return special.gammaincinv(a, y)


def ndtri(y: Any) -> Any:
    """scipy.special.ndtri (imported on first use; see gammaincinv)."""
    from scipy import special

    return special.ndtri(y)


#: The gamma inverse CDF is tabulated: [0, 1) is cut into GAMMA_CELLS equal cells, and in a
#: cell of [1/64, 63/64) the quantile is the cubic Hermite interpolant of its two end nodes
#: (exact values and slopes, from scipy's gammaincinv and the density), when that is within
#: GAMMA_TOL (relative) of the exact quantile at the cell's midpoint, where a cubic
#: Hermite's error peaks. Other cells, and the tails, call gammaincinv itself. A table is
#: filled lazily, cell by cell; every entry is a pure function of (shape, cell), so the
#: order of filling never changes a value. About 20 times faster than gammaincinv per draw.
GAMMA_CELLS = 8192
GAMMA_TOL = 1e-10
_G_LO = GAMMA_CELLS // 64
_G_HI = GAMMA_CELLS - GAMMA_CELLS // 64
#: the `tab` argument of `ppf_scalar` for families other than a tabulated gamma
NO_TABLE = np.zeros((2, 3))


def _hermite(tab, k, t):  # type: ignore[no-untyped-def]  # (numba's overload: no annotations)
    """Cubic Hermite interpolation in cell k of a gamma table at t in [0, 1) (k, t may be
    arrays: the same expression elementwise). Row j of tab: node j's quantile, its slope
    times the cell width, and cell j's state (0 not filled, 1 interpolated, 2 exact)."""
    t2 = t * t
    t3 = t2 * t
    return (tab[k, 0] * (2.0 * t3 - 3.0 * t2 + 1.0) + tab[k, 1] * (t3 - 2.0 * t2 + t)
            + tab[k + 1, 0] * (3.0 * t2 - 2.0 * t3) + tab[k + 1, 1] * (t3 - t2))


def _gamma_cell(tab, a, lga, k):  # type: ignore[no-untyped-def]
    """Fill cell k of the table of the standard gamma with shape a (lga = lgamma(a)):
    its two nodes, then its state (1 if interpolation is within GAMMA_TOL of the exact
    quantile at the midpoint, else 2), which it returns. numba-compatible."""
    for j in range(k, k + 2):
        q = gammaincinv(a, j / GAMMA_CELLS)
        tab[j, 0] = q
        tab[j, 1] = math.exp(lga - (a - 1.0) * math.log(q) + q) / GAMMA_CELLS  # 1 / density
    mid = gammaincinv(a, (k + 0.5) / GAMMA_CELLS)
    state = 1.0 if abs(_hermite(tab, k, 0.5) - mid) <= GAMMA_TOL * mid else 2.0
    tab[k, 2] = state
    return state


@lru_cache(maxsize=64)
def gamma_table(shape: float) -> np.ndarray:
    """The (lazily filled) inverse-CDF table of the standard gamma with this shape, shared
    by every Python caller in this process (see GAMMA_CELLS)."""
    return np.zeros((GAMMA_CELLS + 1, 3))


def ppf_scalar(code: int, params: np.ndarray, u: float, tab: np.ndarray) -> float:
    """Inverse CDF at one uniform u in [0, 1) of the family `code` with packed `params`
    (see `Distribution.packed`); `tab` is a tabulated gamma's table (`gamma_table(shape)`),
    NO_TABLE for any other. numba-compatible; equal bit for bit to `ppf`."""
    if code == FIXED:
        return params[0]
    if code == EXPONENTIAL:
        return -params[0] * math.log1p(-u)
    if code == GAMMA:  # params: shape, scale, lgamma(shape), tabulated (0: exact)
        if params[3] != 0.0:
            s = u * GAMMA_CELLS
            k = int(s)
            if _G_LO <= k < _G_HI:
                state = tab[k, 2]
                if state == 0.0:
                    state = _gamma_cell(tab, params[0], params[2], k)
                if state == 1.0:
                    return _hermite(tab, k, s - k) * params[1]
        return gammaincinv(params[0], u) * params[1]
    if code == LOGNORMAL:  # params: median, sigma
        if params[1] == 0.0:
            return params[0]
        return params[0] * math.exp(params[1] * ndtri(u))
    if code == UNIFORM:  # params: low, high
        return params[0] + (params[1] - params[0]) * u
    if code == TRIANGULAR:  # params: low, mode, high
        a = params[0]
        c = params[1]
        b = params[2]
        if b == a:
            return a
        if u < (c - a) / (b - a):
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1 - u) * (b - a) * (b - c))
    # EMPIRICAL: params are the sorted values
    m = params.size
    i = int(u * m)
    if i > m - 1:
        i = m - 1
    return params[i]


#: the parameters that are times in days, in whichever family has them (what `scaled`
#: multiplies; cv and sigma are shapes)
_IN_DAYS = ("mean", "median", "value", "low", "mode", "high")


def scaled(duration: Any, factor: float) -> Any:
    """A duration as a scenario writes it (a number of days, or a distribution table such
    as {"dist": "gamma", "mean": 15, "cv": 0.5}) with every time in it multiplied by
    `factor`: for the same uniform, every family then draws `factor` times the duration."""
    if isinstance(duration, (int, float)):
        return duration * factor
    out = dict(duration)
    for key in _IN_DAYS:
        if key in out:
            out[key] = out[key] * factor
    if "values" in out:
        out["values"] = [v * factor for v in out["values"]]
    return out


class Distribution:
    """Base class: a non-negative duration distribution (days)."""

    family: ClassVar[str] = ""
    #: integer family code for `ppf_scalar`
    code: ClassVar[int] = -1
    #: parameter names as written in scenario files, in order
    params: ClassVar[tuple[str, ...]] = ()
    #: how each parameter is checked (kind, range), in the order of `params`
    bounds: ClassVar[dict[str, Spec]] = {}

    @classmethod
    def problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems with parameters that passed their own bounds but not together, as
        (parameter or "", message); values are those of `bounds`, already checked."""
        return []

    @property
    def mean(self) -> float:  # pragma: no cover - every family overrides
        raise NotImplementedError

    @property
    def var(self) -> float:  # pragma: no cover - every family overrides
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Inverse CDF of an array of uniforms in [0, 1)."""
        raise NotImplementedError

    def _packed(self) -> list[float]:  # pragma: no cover - every family overrides
        raise NotImplementedError

    def packed(self) -> tuple[int, np.ndarray]:
        """(code, params) for `ppf_scalar`: the family code and a flat float64 array
        (computed once per object: read it, never write to it)."""
        got = self.__dict__.get("_packed_memo")
        if got is None:
            got = (self.code, np.asarray(self._packed(), dtype=np.float64))
            object.__setattr__(self, "_packed_memo", got)
        return got

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw `size` durations from `rng` (by inverse CDF, so CRN-coupled)."""
        return self.ppf(rng.random(size))

    @property
    def is_zero(self) -> bool:
        """True for the point mass at 0 (an instant step)."""
        return False

    def with_param(self, name: str, value: float) -> Distribution:
        """The same family with one parameter changed (e.g. one runner's drawn mean)."""
        t = self.to_dict()
        t[name] = value
        return make(t.pop("dist"), **t)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"dist": self.family}
        for p in self.params:
            v = getattr(self, p)
            d[p] = list(v) if isinstance(v, tuple) else v
        return d

    def describe(self) -> str:
        """Short human description, e.g. 'gamma(mean=15, cv=0.5)'."""
        args = ", ".join(f"{p}={_fmt(getattr(self, p))}" for p in self.params)
        return f"{self.family}({args})"


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class Fixed(Distribution):
    value: float
    family: ClassVar[str] = "fixed"
    code: ClassVar[int] = FIXED
    params: ClassVar[tuple[str, ...]] = ("value",)
    bounds: ClassVar[dict[str, Spec]] = {"value": _DAYS}

    def _packed(self) -> list[float]:
        return [float(self.value)]

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def var(self) -> float:
        return 0.0

    @property
    def is_zero(self) -> bool:
        return self.value == 0

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), float(self.value))


@dataclass(frozen=True)
class Exponential(Distribution):
    mean_: float
    family: ClassVar[str] = "exponential"
    code: ClassVar[int] = EXPONENTIAL
    params: ClassVar[tuple[str, ...]] = ("mean",)
    bounds: ClassVar[dict[str, Spec]] = {"mean": _DAYS_POS}

    def _packed(self) -> list[float]:
        return [float(self.mean_)]

    @property
    def mean(self) -> float:  # type: ignore[override]
        return float(self.mean_)

    @property
    def var(self) -> float:
        return float(self.mean_) ** 2

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return -float(self.mean_) * _libm(math.log1p, -np.asarray(u, dtype=float))


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma with the given mean and coefficient of variation (shape = 1/cv^2)."""

    mean_: float
    cv: float
    family: ClassVar[str] = "gamma"
    code: ClassVar[int] = GAMMA
    params: ClassVar[tuple[str, ...]] = ("mean", "cv")
    bounds: ClassVar[dict[str, Spec]] = {"mean": _DAYS_POS,
                                         "cv": Spec("float", REQUIRED, MIN_CV, MAX_SPREAD)}

    def _packed(self) -> list[float]:
        shape = 1.0 / float(self.cv) ** 2
        tabulated = 0.0 if self.__dict__.get("_exact") else 1.0
        return [shape, float(self.mean_) / shape, math.lgamma(shape), tabulated]

    def with_param(self, name: str, value: float) -> Distribution:
        """See `Distribution.with_param`. A gamma with its own cv (drawn per runner) has
        a shape of its own: it calls the exact inverse CDF instead of filling a table."""
        d = super().with_param(name, value)
        if name == "cv" or self.__dict__.get("_exact"):
            object.__setattr__(d, "_exact", True)
        return d

    @property
    def mean(self) -> float:  # type: ignore[override]
        return float(self.mean_)

    @property
    def var(self) -> float:
        return (self.mean_ * self.cv) ** 2

    def ppf(self, u: np.ndarray) -> np.ndarray:
        shape, scale, lga, tabulated = self.packed()[1].tolist()
        u = np.asarray(u, dtype=float)
        use = np.zeros(u.shape, dtype=bool)
        out = np.empty(u.shape)
        if tabulated:
            tab = gamma_table(shape)
            s = u * GAMMA_CELLS
            k = s.astype(np.int64)
            inner = (k >= _G_LO) & (k < _G_HI)
            for c in np.unique(k[inner][tab[k[inner], 2] == 0.0]).tolist():
                _gamma_cell(tab, shape, lga, c)
            use[inner] = tab[k[inner], 2] == 1.0
            out[use] = _hermite(tab, k[use], s[use] - k[use]) * scale
        rest = ~use
        out[rest] = gammaincinv(shape, u[rest]) * scale
        return out


@dataclass(frozen=True)
class Lognormal(Distribution):
    """Lognormal with the given median and log-scale sigma."""

    median: float
    sigma: float
    family: ClassVar[str] = "lognormal"
    code: ClassVar[int] = LOGNORMAL
    params: ClassVar[tuple[str, ...]] = ("median", "sigma")
    bounds: ClassVar[dict[str, Spec]] = {"median": _DAYS_POS, "sigma": Spec(
        "float", REQUIRED, 0.0, MAX_SPREAD)}

    def _packed(self) -> list[float]:
        return [float(self.median), float(self.sigma)]

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    @property
    def var(self) -> float:
        s2 = self.sigma**2
        return (math.exp(s2) - 1) * self.median**2 * math.exp(s2)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if self.sigma == 0:  # a point mass; 0 * ndtri(0) would be 0 * -inf = nan at u = 0
            return np.full(u.shape, float(self.median))
        median, sigma = self._packed()
        return median * _libm(math.exp, sigma * ndtri(u))


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float
    family: ClassVar[str] = "uniform"
    code: ClassVar[int] = UNIFORM
    params: ClassVar[tuple[str, ...]] = ("low", "high")
    bounds: ClassVar[dict[str, Spec]] = {"low": _DAYS, "high": _DAYS}

    @classmethod
    def problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        if values["low"] > values["high"]:
            return [("", f"uniform needs low <= high, got {values['low']:g} > "
                         f"{values['high']:g}")]
        return []

    def _packed(self) -> list[float]:
        return [float(self.low), float(self.high)]

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def ppf(self, u: np.ndarray) -> np.ndarray:
        low, high = self._packed()
        return low + (high - low) * np.asarray(u, dtype=float)


@dataclass(frozen=True)
class Triangular(Distribution):
    low: float
    mode: float
    high: float
    family: ClassVar[str] = "triangular"
    code: ClassVar[int] = TRIANGULAR
    params: ClassVar[tuple[str, ...]] = ("low", "mode", "high")
    bounds: ClassVar[dict[str, Spec]] = {"low": _DAYS, "mode": _DAYS, "high": _DAYS}

    @classmethod
    def problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        if not values["low"] <= values["mode"] <= values["high"]:
            return [("", "triangular needs low <= mode <= high")]
        return []

    def _packed(self) -> list[float]:
        return [float(self.low), float(self.mode), float(self.high)]

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def var(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def ppf(self, u: np.ndarray) -> np.ndarray:
        a, c, b = self._packed()
        u = np.asarray(u, dtype=float)
        if b == a:
            return np.full(u.shape, float(a))
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)


@dataclass(frozen=True)
class Empirical(Distribution):
    """Equally likely observed durations (resampled)."""

    values: tuple[float, ...]
    family: ClassVar[str] = "empirical"
    code: ClassVar[int] = EMPIRICAL
    params: ClassVar[tuple[str, ...]] = ("values",)
    bounds: ClassVar[dict[str, Spec]] = {"values": Spec("list", REQUIRED)}

    @classmethod
    def problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        vals = values["values"]
        ok = (isinstance(vals, list) and len(vals) > 0
              and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      and 0 <= v <= MAX_DAYS  # refuses nan and inf; exact for a huge int
                      for v in vals))
        if not ok:
            return [("values", "must be a non-empty list of finite numbers >= 0 "
                               f"and <= {MAX_DAYS:g}")]
        return []

    def _packed(self) -> list[float]:
        # sorted so that a larger uniform never gives a shorter duration (monotone, CRN)
        return sorted(float(v) for v in self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def var(self) -> float:
        return float(np.var(self.values))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        vals = np.asarray(self._packed(), dtype=float)
        idx = np.minimum((np.asarray(u, dtype=float) * len(vals)).astype(int), len(vals) - 1)
        return vals[idx]


FAMILIES: dict[str, type[Distribution]] = {
    c.family: c for c in (Fixed, Exponential, Gamma, Lognormal, Uniform, Triangular, Empirical)
}

ZERO = Fixed(0.0)


def make(family: str, **params: Any) -> Distribution:
    """Build a distribution from its scenario-file name and parameters (already checked)."""
    cls = FAMILIES[family]
    if cls is Exponential:
        return Exponential(float(params["mean"]))
    if cls is Gamma:
        return Gamma(float(params["mean"]), float(params["cv"]))
    if cls is Empirical:
        return Empirical(tuple(float(v) for v in params["values"]))
    return cls(**{k: float(v) for k, v in params.items()})
