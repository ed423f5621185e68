"""The model's formulas, each written once (MODEL.md; docs/model.md sections 3-5).

Both engines call these functions: the SimPy engine as plain Python, the compiled engine
through `numba.njit` of the very same functions (relaysim.engines.fast). They therefore
take and return only floats and ints, use only `math`, and fix the order of every
floating-point operation, so that the two engines compute bit-identical values.

Units: times in days (or the scenario's `time_unit`), rates per day, probabilities and
shares in [0, 1], odds as p / (1 - p).
"""

from __future__ import annotations

import math

__all__ = [
    "CENTRE",
    "FIDELITY_SLACK",
    "zone_odds",
    "trust_factor",
    "trust_after",
    "clarity_factor",
    "load_factor",
    "tank_factor",
    "probability",
    "fumble_odds",
    "handed_on",
    "classrooms_needed",
    "implements",
    "tank_rate",
    "tank_level",
    "tank_slowed",
    "window_next_open",
    "exponential_gap",
    "departure_gap",
]

#: trust and clarity shift the odds around this centre: at 0.5 they leave them unchanged
CENTRE = 0.5
#: fidelity compared with min_fidelity with this slack (0.7 * 0.7 < 0.49 in floating point)
FIDELITY_SLACK = 1e-9


# -- fumble odds (MODEL.md, odds form) -------------------------------------------------
def zone_odds(fumble: float, rehearsed: bool, checkpoint: bool, rehearsal: float,
              checkpoint_effect: float) -> float:
    """Odds of a fumble from the zone alone: base risk, rehearsal and checkpoint factors
    (0 when the zone never fumbles)."""
    if fumble <= 0.0:
        return 0.0
    odds = fumble / (1.0 - fumble)
    if rehearsed:
        odds *= rehearsal
    if checkpoint:
        odds *= checkpoint_effect
    return odds


def trust_factor(trust: float, trust_effect: float) -> float:
    """Odds factor of the receiver's trust in the giver."""
    return math.exp(-trust_effect * (trust - CENTRE))


def trust_after(trust: float, clean: bool, gain: float, loss: float, low: float,
                high: float) -> float:
    """The receiver's trust in its giver after one exchange attempt (dynamic trust,
    docs/model.md section 4.9): a clean handoff (`clean`) closes the share `gain` of the
    gap up to `high`, a fumbled attempt loses the share `loss` of the gap down to `low`.
    Trust never moves the wrong way (a clean handoff never lowers it, a fumble never
    raises it) and, once in [low, high], never leaves it."""
    if clean:
        if trust < high:
            return min(high, trust + gain * (high - trust))
        return trust
    if trust > low:
        return max(low, trust - loss * (trust - low))
    return trust


def clarity_factor(clarity: float, clarity_effect: float) -> float:
    """Odds factor of the initiative's clarity."""
    return math.exp(-clarity_effect * (clarity - CENTRE))


def load_factor(held: int, load_effect: float) -> float:
    """Odds factor of the batons the receiver already holds (`load_effect` per baton)."""
    return load_effect ** float(held)


def tank_factor(level: float, tank_effect: float) -> float:
    """Odds factor of the receiver's tank level (1 when the tank is full)."""
    return math.exp(tank_effect * (1.0 - level))


def probability(odds: float) -> float:
    """Probability from odds."""
    return odds / (1.0 + odds)


def fumble_odds(runner_odds: float, clarity: float, held: int, load_effect: float,
                has_tank: bool, level: float, tank_effect: float) -> float:
    """Odds that one exchange attempt fumbles.

    `runner_odds` is zone_odds x trust_factor of the receiver (fixed between departures),
    `clarity` the initiative's clarity_factor, `held` the batons the receiver holds and
    `level` its tank level (read only when the level has a tank)."""
    odds = runner_odds * clarity
    if held:
        odds *= load_factor(held, load_effect)
    if has_tank:
        odds *= tank_factor(level, tank_effect)
    return odds


# -- fidelity and success ----------------------------------------------------------------
def handed_on(fidelity: float, retention: float) -> float:
    """Fidelity after one handoff (down a zone, or sideways from a showcase) that keeps the
    share `retention` of it."""
    return fidelity * retention


def classrooms_needed(success_threshold: float, n_classrooms: int) -> int:
    """Classrooms that must implement for the initiative to count as implemented."""
    return max(1, math.ceil(success_threshold * n_classrooms - 1e-9))


def implements(fidelity: float, min_fidelity: float) -> bool:
    """A classroom reached with this fidelity implements the initiative."""
    return fidelity >= min_fidelity - FIDELITY_SLACK


# -- the tank: a level in [0, 1] that changes linearly between load changes -------------
def tank_rate(drain: float, recovery: float, busy: int) -> float:
    """Change of the tank level per day: drained by each baton worked, refilled idle."""
    return -drain * busy if busy else recovery


def tank_level(level: float, rate: float, elapsed: float) -> float:
    """The level `elapsed` days after it was `level`, at a constant `rate`, in [0, 1]."""
    x = level + rate * elapsed
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


def tank_slowed(work: float, level: float, floor: float) -> float:
    """Work time stretched by a low tank (at most to work / floor)."""
    return work / max(level, floor)


# -- clocks ----------------------------------------------------------------------------
def window_next_open(t: float, period: float, open_: float, close: float) -> float:
    """Earliest time >= t at which `t mod period` lies in [open, close)."""
    phase = t % period
    if open_ <= phase < close:
        return t
    base = t - phase
    if phase < open_:
        return base + open_
    return base + period + open_


def exponential_gap(u: float, mean: float) -> float:
    """Inverse CDF of an exponential gap with the given mean, at a uniform u in [0, 1)."""
    return -mean * math.log1p(-u)


def departure_gap(u: float, rate: float) -> float:
    """Inverse CDF of the time to a runner's departure (Poisson, `rate` per day) at u."""
    return -math.log1p(-u) / rate
