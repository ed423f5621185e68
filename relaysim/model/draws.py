"""Parameters given as distributions: a population of districts, schools and classrooms.

Any numeric parameter of a scenario may be written as a distribution instead of a value,
with a scope (`per`) that says where the draw is made:

    trust = { dist = "beta", mean = 0.6, sd = 0.1, per = "runner" }

- `per = "replication"` (the default): one draw per replication, for the whole district
  (input uncertainty, or differences between districts);
- `per = "runner"`: one draw per runner of the level (per school, coach or teacher), for a
  level's own parameters and those of the exchange zone into it.

Each family is a small frozen object that checks its own parameters (`bounds`,
`problems`), knows its support (so the validator can refuse a distribution that can leave
the parameter's range) and turns a uniform u in [0, 1) into a value by its inverse CDF
(`value`). Drawing by inverse CDF keeps common random numbers: the same uniform gives a
higher value when the distribution moves up. With sd = 0 (or sigma = 0, or low = high)
every family gives its centre exactly, so a distribution with no spread is the plain
value.

The uniforms come from keyed streams of their own (relaysim.engines.realize), one per
dotted path, so changing one parameter's distribution never changes another's draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import distributions as D
from .distributions import ppf_scalar
from .spec import REQUIRED, Spec

__all__ = ["DrawFamily", "Draw", "DRAW_FAMILIES", "DRAW_KEYS", "PER", "make_draw",
           "is_draw", "runner_parameter", "RUNNER_LEVEL_KEYS", "RUNNER_ZONE_KEYS"]

#: where a draw is made
PER = ("replication", "runner")

#: keys that may be drawn per runner: a level's own, and the zone into it
RUNNER_LEVEL_KEYS = ("capacity", "trust", "new_trust", "turnover", "loss_on_turnover",
                     "succession", "work", "vacancy", "tank")
RUNNER_ZONE_KEYS = ("fumble", "recover", "retention", "duration", "rework")

_ANY = Spec("float", REQUIRED)
_TINY = 5e-324
_EPS = 2.0 ** -53
_SD = Spec("float", REQUIRED, 0.0)


def is_draw(x: Any) -> bool:
    """A value written as a parameter distribution (a table with `dist`)."""
    return isinstance(x, dict) and "dist" in x


def runner_parameter(path: str) -> bool:
    """`path` names a parameter each runner has its own of (so it may be drawn per
    runner): levels.NAME.KEY[.sub] or zones.NAME.KEY[.sub] with KEY as above."""
    parts = path.split(".")
    if len(parts) < 3:
        return False
    keys = {"levels": RUNNER_LEVEL_KEYS, "zones": RUNNER_ZONE_KEYS}.get(parts[0], ())
    return parts[2] in keys


class DrawFamily:
    """Base class: a distribution of one numeric parameter."""

    family: ClassVar[str] = ""
    bounds: ClassVar[dict[str, Spec]] = {}

    @classmethod
    def problems(cls, v: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems of parameters that passed their own bounds but not together."""
        return []

    def support(self) -> tuple[float, float, bool, bool]:
        """(lowest, highest, lowest reachable?, highest reachable?) value."""
        raise NotImplementedError  # pragma: no cover - every family overrides

    def value(self, u: float) -> float:
        """Inverse CDF at u in [0, 1)."""
        raise NotImplementedError  # pragma: no cover

    def many(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF of an array of uniforms (the per-runner draws of a level), equal bit
        for bit to `value` of each: every family writes its inverse CDF once."""
        return np.array([self.value(float(x)) for x in u], dtype=float)

    def centre(self) -> float:
        """The value the rest of the scenario is checked and shown with (the mean, or the
        median where the mean is not the natural centre)."""
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class Beta(DrawFamily):
    """Beta by mean and sd, on (0, 1): for probabilities and shares."""

    mean: float
    sd: float
    family: ClassVar[str] = "beta"
    bounds: ClassVar[dict[str, Spec]] = {
        "mean": Spec("float", REQUIRED, 0.0, 1.0, lo_open=True, hi_open=True), "sd": _SD}

    @classmethod
    def problems(cls, v: dict[str, Any]) -> list[tuple[str, str]]:
        m, s = v["mean"], v["sd"]
        if s > 0 and s * s >= m * (1 - m):
            return [("sd", f"a beta with mean {m:g} needs sd below "
                     f"sqrt(mean x (1 - mean)) = {math.sqrt(m * (1 - m)):.4g}, got {s:g}")]
        return []

    def _ab(self) -> tuple[float, float]:
        k = self.mean * (1 - self.mean) / (self.sd * self.sd) - 1.0
        return self.mean * k, (1 - self.mean) * k

    def support(self) -> tuple[float, float, bool, bool]:
        if self.sd == 0:
            return self.mean, self.mean, True, True
        return 0.0, 1.0, False, False

    def many(self, u: np.ndarray) -> np.ndarray:
        if self.sd == 0:
            return np.full(np.shape(u), self.mean)
        from scipy import special

        a, b = self._ab()
        # (0, 1) even where rounding would reach an end
        return np.clip(special.betaincinv(a, b, u), _TINY, 1.0 - _EPS)

    def value(self, u: float) -> float:
        return float(self.many(np.asarray(u, dtype=float)))

    def centre(self) -> float:
        return self.mean


@dataclass(frozen=True)
class TruncNormal(DrawFamily):
    """Normal by mean and sd, cut to [low, high] (either end may be left out)."""

    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf
    family: ClassVar[str] = "truncnormal"
    bounds: ClassVar[dict[str, Spec]] = {"mean": _ANY, "sd": _SD,
                                         "low": Spec("float", -math.inf),
                                         "high": Spec("float", math.inf)}

    @classmethod
    def problems(cls, v: dict[str, Any]) -> list[tuple[str, str]]:
        if not v["low"] < v["high"]:
            return [("high", f"must be above low ({v['low']:g}), got {v['high']:g}")]
        if not v["low"] <= v["mean"] <= v["high"]:
            return [("mean", f"must lie within low and high, got {v['mean']:g}")]
        return []

    def support(self) -> tuple[float, float, bool, bool]:
        if self.sd == 0:
            return self.mean, self.mean, True, True
        return self.low, self.high, True, True

    def many(self, u: np.ndarray) -> np.ndarray:
        if self.sd == 0:
            return np.full(np.shape(u), self.mean)
        from scipy import special

        pa = special.ndtr((self.low - self.mean) / self.sd)
        pb = special.ndtr((self.high - self.mean) / self.sd)
        # clipped: rounding in a far tail
        return np.clip(self.mean + self.sd * special.ndtri(pa + u * (pb - pa)), self.low,
                       self.high)

    def value(self, u: float) -> float:
        return float(self.many(np.asarray(u, dtype=float)))

    def centre(self) -> float:
        return self.mean


@dataclass(frozen=True)
class LogNormal(DrawFamily):
    """Lognormal by median and sigma (of the log), on (0, inf)."""

    median: float
    sigma: float
    family: ClassVar[str] = "lognormal"
    bounds: ClassVar[dict[str, Spec]] = {
        "median": Spec("float", REQUIRED, 0.0, lo_open=True), "sigma": Spec(
            "float", REQUIRED, 0.0, 10.0)}

    def support(self) -> tuple[float, float, bool, bool]:
        if self.sigma == 0:
            return self.median, self.median, True, True
        return 0.0, math.inf, False, False

    def value(self, u: float) -> float:  # the duration family's inverse CDF
        return float(ppf_scalar(D.LOGNORMAL, np.array([self.median, self.sigma]), u,
                                D.NO_TABLE))

    def many(self, u: np.ndarray) -> np.ndarray:  # the same, vectorised (equal bit for bit)
        return D.Lognormal(self.median, self.sigma).ppf(u)

    def centre(self) -> float:
        return self.median


@dataclass(frozen=True)
class UniformDraw(DrawFamily):
    """Uniform on [low, high]."""

    low: float
    high: float
    family: ClassVar[str] = "uniform"
    bounds: ClassVar[dict[str, Spec]] = {"low": _ANY, "high": _ANY}

    @classmethod
    def problems(cls, v: dict[str, Any]) -> list[tuple[str, str]]:
        if v["high"] < v["low"]:
            return [("high", f"must be at least low ({v['low']:g}), got {v['high']:g}")]
        return []

    def support(self) -> tuple[float, float, bool, bool]:
        return self.low, self.high, True, True

    def value(self, u: float) -> float:
        return self.low + (self.high - self.low) * u

    def many(self, u: np.ndarray) -> np.ndarray:  # the same expression, on an array
        return self.value(np.asarray(u, dtype=float))  # type: ignore[return-value]

    def centre(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class TriangularDraw(DrawFamily):
    """Triangular on [low, high] with its peak at mode."""

    low: float
    mode: float
    high: float
    family: ClassVar[str] = "triangular"
    bounds: ClassVar[dict[str, Spec]] = {"low": _ANY, "mode": _ANY, "high": _ANY}

    @classmethod
    def problems(cls, v: dict[str, Any]) -> list[tuple[str, str]]:
        if not v["low"] <= v["mode"] <= v["high"]:
            return [("mode", f"must lie within low and high, got {v['mode']:g}")]
        return []

    def support(self) -> tuple[float, float, bool, bool]:
        return self.low, self.high, True, True

    def value(self, u: float) -> float:  # the duration family's inverse CDF, on any reals
        return float(ppf_scalar(D.TRIANGULAR, np.array([self.low, self.mode, self.high]),
                                u, D.NO_TABLE))

    def centre(self) -> float:
        return self.mode


@dataclass(frozen=True)
class Choice(DrawFamily):
    """One of a list of values, with optional weights (equal by default)."""

    values: tuple[float, ...]
    weights: tuple[float, ...] = ()
    cumulative: tuple[float, ...] = field(default=(), compare=False)
    family: ClassVar[str] = "choice"
    bounds: ClassVar[dict[str, Spec]] = {"values": Spec("list", REQUIRED),
                                         "weights": Spec("list", [])}

    @classmethod
    def problems(cls, v: dict[str, Any]) -> list[tuple[str, str]]:
        vals, w = v["values"], v["weights"]
        ok = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and (  # noqa: E731
            math.isfinite(x))
        if not vals or not all(ok(x) for x in vals):
            return [("values", "must be a non-empty array of numbers")]
        if w and (len(w) != len(vals) or not all(ok(x) and x >= 0 for x in w) or not sum(w)):
            return [("weights", f"must be {len(vals)} numbers >= 0, not all 0 (one per "
                     "value)")]
        return []

    def __post_init__(self) -> None:
        w = self.weights or (1.0,) * len(self.values)
        total, acc, cum = float(sum(w)), 0.0, []
        for x in w:
            acc += x
            cum.append(acc / total)
        object.__setattr__(self, "cumulative", tuple(cum))

    def support(self) -> tuple[float, float, bool, bool]:
        return min(self.values), max(self.values), True, True

    def value(self, u: float) -> float:
        return float(self.many(np.asarray([u], dtype=float))[0])

    def many(self, u: np.ndarray) -> np.ndarray:
        i = np.searchsorted(np.asarray(self.cumulative), u, side="right")
        return np.asarray(self.values, dtype=float)[np.minimum(i, len(self.values) - 1)]

    def centre(self) -> float:
        return self.values[max(range(len(self.values)), key=lambda i: self.cumulative[i]
                               - (self.cumulative[i - 1] if i else 0.0))]


DRAW_FAMILIES: dict[str, type[DrawFamily]] = {
    c.family: c for c in (Beta, TruncNormal, LogNormal, UniformDraw, TriangularDraw, Choice)}

#: every key a parameter distribution may hold (for dotted paths such as trust.sd)
DRAW_KEYS = {"dist", "per"} | {k for c in DRAW_FAMILIES.values() for k in c.bounds}


@dataclass(frozen=True)
class Draw:
    """One parameter given as a distribution: its dotted path, family and scope."""

    path: str
    dist: DrawFamily
    per: str
    integer: bool = False  # a whole-number parameter (only `choice` of whole numbers)

    def value(self, u: float) -> float | int:
        """The parameter's value for uniform u (a draw per replication)."""
        x = self.dist.value(u)
        return int(x) if self.integer else x

    def runner_values(self, u: np.ndarray) -> tuple[float | int, ...]:
        """The values for the uniforms of a level's runners (a draw per runner)."""
        x = self.dist.many(u)
        return tuple(int(v) for v in x) if self.integer else tuple(x.tolist())


def make_draw(table: dict[str, Any]) -> DrawFamily:
    """The family object of a checked table ({"dist": ..., params..., "per": ...})."""
    cls = DRAW_FAMILIES[table["dist"]]
    params = {k: table[k] for k in cls.bounds if k in table}
    if cls is Choice:
        params = {k: tuple(float(x) for x in v) for k, v in params.items()}
    return cls(**params)
