"""The tank's slowdown held at the start of the work, or integrated over it: how large an
error the engines' rule makes (issue 13, item 3; docs/model.md section 4.1).

The engines stretch a baton's work W (in work units: days at a full tank) to
`W / max(level, floor)` days, with the runner's tank level when the work starts, and keep
that length however the level moves during the work (the **held** rule). Integrated
exactly, work progresses at speed `max(level(t), floor)` work units per day, so the baton
finishes at the T where the integral of `max(level(t), floor) dt` from its start to T
equals W (the **integrated** rule). `level(t)` is the piecewise-linear tank path: it falls
at `drain x b` per day while `b > 0` batons are in work, rises at `recovery` per day while
none is, clamped to [0, 1]; its slope changes whenever a baton starts or finishes, and
under either rule those moments depend on the rule.

Everything here is about ONE runner, exact and event by event (no time steps): batons
arrive at given days with given work, at most `capacity` are in work at once, the others
wait first come first served. Pure Python; the engines do not use it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import formulas as F

#: "held": the engines' rule. "integrated": exact. "given": `work` are the work times in
#: days as the engine drew them (already stretched), used to recover the raw work.
RULES = ("held", "integrated", "given")
_TIE = 1e-12  # relative: batons whose time left is this close to the least finish together


@dataclass(frozen=True)
class Tank:
    """A level's tank: `drain` per day per baton in work, `recovery` per day idle, `floor`
    the least speed (work takes at most 1 / floor times as long)."""
    drain: float
    recovery: float
    floor: float


@dataclass(frozen=True)
class Legs:
    """One runner's batons under one rule, in the order given. Days, except `level` (the
    tank level when the work started) and `path`, the tank path as (day, level, batons in
    work after the event) at every event: in between the level moves at
    `formulas.tank_rate(drain, recovery, batons)` per day, clamped to [0, 1]."""
    arrival: np.ndarray
    start: np.ndarray
    finish: np.ndarray
    level: np.ndarray
    path: list[tuple[float, float, int]] = field(repr=False)


def progress(level: float, slope: float, floor: float, days: float) -> float:
    """Work units one baton does in `days` days from tank `level`, the level changing by
    `slope` (<= 0: the runner is working) per day: the integral of max(level(t), floor)."""
    if slope >= 0.0 or level <= floor:
        return max(level, floor) * days
    to_floor = (level - floor) / -slope
    if days <= to_floor:
        return (level + 0.5 * slope * days) * days
    return 0.5 * (level + floor) * to_floor + floor * (days - to_floor)


def time_for(level: float, slope: float, floor: float, work: float) -> float:
    """Days one baton needs to do `work` units from tank `level`, the level changing by
    `slope` (<= 0) per day: the inverse of `progress`."""
    if slope >= 0.0 or level <= floor:
        return work / max(level, floor)
    to_floor = (level - floor) / -slope
    at_floor = 0.5 * (level + floor) * to_floor
    if work <= at_floor:  # root of level T + slope T^2 / 2 = work, in a stable form
        return 2.0 * work / (level + math.sqrt(max(level * level + 2.0 * slope * work, 0.0)))
    return to_floor + (work - at_floor) / floor


def together(level0: float, batons: int, work: float, tank: Tank) -> tuple[float, float]:
    """Closed form: days each of `batons` batons of `work` units takes when all start
    together at tank `level0` (and nothing else starts or finishes meanwhile): (held,
    integrated). Integrated: L0 T - drain b T^2 / 2 = work while above the floor, then
    speed `floor`."""
    held = work / max(level0, tank.floor)
    s = tank.drain * batons
    if s == 0.0 or level0 <= tank.floor:
        return held, held
    t_floor = (level0 - tank.floor) / s
    done_at_floor = level0 * t_floor - s * t_floor ** 2 / 2
    if work <= done_at_floor:
        return held, (level0 - math.sqrt(level0 ** 2 - 2 * s * work)) / s
    return held, t_floor + (work - done_at_floor) / tank.floor


class _Runner:
    """The runner's state while `run` replays its batons."""

    def __init__(self, tank: Tank, rule: str, level0: float, t0: float, n: int) -> None:
        self.tank, self.rule, self.level, self.t = tank, rule, level0, t0
        self.left: dict[int, float] = {}  # baton -> work units left (days left: held/given)
        self.speed: dict[int, float] = {}  # held/given: the baton's fixed speed
        self.start, self.finish, self.at = (np.full(n, np.nan) for _ in range(3))
        self.path = [(t0, level0, 0)]

    def slope(self) -> float:
        return F.tank_rate(self.tank.drain, self.tank.recovery, len(self.left))

    def time_left(self, j: int) -> float:
        if self.rule == "integrated":
            return time_for(self.level, self.slope(), self.tank.floor, self.left[j])
        return self.left[j] / self.speed[j]

    def advance(self, days: float) -> None:
        slope = self.slope()
        done = progress(self.level, slope, self.tank.floor, days)  # integrated: shared
        for j in self.left:
            self.left[j] -= done if self.rule == "integrated" else self.speed[j] * days
        self.level = F.tank_level(self.level, slope, days)
        self.t += days

    def begin(self, j: int, work: float) -> None:
        self.start[j], self.at[j] = self.t, self.level
        self.left[j] = work
        self.speed[j] = 1.0 if self.rule == "given" else max(self.level, self.tank.floor)


def run(arrivals: np.ndarray, work: np.ndarray, capacity: int, tank: Tank,
        rule: str = "held", level0: float = 1.0) -> Legs:
    """Replay one runner's batons under `rule` (see RULES), exactly, event by event.
    `arrivals` (days, non-decreasing), `work` (work units; for "given", work times in
    days), `level0` the tank level at the first arrival. At one instant, finishes come
    before arrivals, and freed places go to the longest-waiting batons."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    arrivals, work = np.asarray(arrivals, float), np.asarray(work, float)
    if np.any(np.diff(arrivals) < 0):
        raise ValueError("arrivals must be in order")
    n = len(arrivals)
    r = _Runner(tank, rule, level0, float(arrivals[0]) if n else 0.0, n)
    queue: deque[int] = deque()
    nxt = 0
    while nxt < n or r.left or queue:
        to_arrival = float(arrivals[nxt]) - r.t if nxt < n else math.inf
        times = {j: r.time_left(j) for j in r.left}
        to_finish = min(times.values(), default=math.inf)
        step = min(to_arrival, to_finish)
        r.advance(step)
        if to_finish <= to_arrival:
            for j, left in times.items():
                if left <= to_finish * (1 + _TIE) + _TIE:
                    r.finish[j] = r.t
                    del r.left[j], r.speed[j]
        if to_arrival <= step:
            r.t = float(arrivals[nxt])  # exactly, not a sum of steps
            queue.append(nxt)
            nxt += 1
        while queue and len(r.left) < capacity:
            j = queue.popleft()
            r.begin(j, float(work[j]))
        r.path.append((r.t, r.level, len(r.left)))
    return Legs(arrivals, r.start, r.finish, r.at, r.path)


def raw_work(legs: Legs, floor: float) -> np.ndarray:
    """Work units behind work times stretched by the held rule: (finish - start) x
    max(level at start, floor), e.g. of a "given" replay of an engine's work times."""
    return (legs.finish - legs.start) * np.maximum(legs.level, floor)


def compare(arrivals: np.ndarray, work: np.ndarray, capacity: int, tank: Tank,
            level0: float = 1.0) -> dict[str, Legs]:
    """The same batons (arrival days, work units) on one runner under the held and the
    integrated rule: {"held": Legs, "integrated": Legs}. Each rule makes its own tank
    path, so starts (after a queue) and levels differ too."""
    return {rule: run(arrivals, work, capacity, tank, rule, level0)
            for rule in ("held", "integrated")}
