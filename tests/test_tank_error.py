"""relaysim.model.tank_error: the held-level rule against the slowdown integrated over the
work, on one runner (issue 13, item 3; docs/model.md section 4.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaysim.model import formulas as F
from relaysim.model.tank_error import (
    Legs,
    Tank,
    compare,
    progress,
    raw_work,
    run,
    time_for,
    together,
)

TEACHER = Tank(drain=0.002, recovery=0.02, floor=0.5)  # scenarios/overloaded.toml


def test_three_batons_from_a_full_tank_by_hand() -> None:
    """overloaded.toml's teacher, three 80-unit batons from a full tank. Held: 80 days.
    Integrated: the level reaches the floor 0.5 after 0.5 / 0.006 = 83.3 days, with
    (1 + 0.5) / 2 x 83.3 = 62.5 units done; the last 17.5 at speed 0.5 take 35 days."""
    held, integrated = together(1.0, 3, 80.0, TEACHER)
    assert held == 80.0
    assert integrated == pytest.approx(83.0 + 1 / 3 + 35.0, rel=1e-12)
    # 40 units stay above the floor: t - 0.003 t^2 = 40
    assert together(1.0, 3, 40.0, TEACHER)[1] == pytest.approx(
        (1 - math.sqrt(1 - 0.48)) / 0.006, rel=1e-12)


@pytest.mark.parametrize("level0", [1.0, 0.8, 0.55, 0.5, 0.3, 0.0])
@pytest.mark.parametrize("batons", [1, 2, 3])
@pytest.mark.parametrize("work", [5.0, 40.0, 80.0, 200.0])
def test_replay_matches_the_closed_form(level0: float, batons: int, work: float) -> None:
    """b equal batons started together: every rule's replay finishes at the closed form."""
    legs = compare(np.zeros(batons), np.full(batons, work), 3, TEACHER, level0=level0)
    held, integrated = together(level0, batons, work, TEACHER)
    assert legs["held"].finish == pytest.approx(np.full(batons, held), rel=1e-12)
    assert legs["integrated"].finish == pytest.approx(np.full(batons, integrated), rel=1e-9)
    assert integrated >= held


def _level(path: list[tuple[float, float, int]], tank: Tank, t: np.ndarray) -> np.ndarray:
    """The tank level at days t, from the path's events and the engines' formulas."""
    days, level, busy = (np.array(c, float) for c in zip(*path, strict=True))
    rate = np.array([F.tank_rate(tank.drain, tank.recovery, int(b)) for b in busy])
    k = np.clip(np.searchsorted(days, t, side="right") - 1, 0, len(path) - 1)
    return np.clip(level[k] + rate[k] * (t - days[k]), 0.0, 1.0)


def _integral(legs: Legs, tank: Tank, j: int) -> float:
    """The integral of max(level, floor) over baton j's work, by the trapezoid rule on a
    fine grid that holds every event (independent of progress/time_for)."""
    days = np.array([p[0] for p in legs.path])
    inside = days[(days > legs.start[j]) & (days < legs.finish[j])]
    t = np.union1d(np.linspace(legs.start[j], legs.finish[j], 20001), inside)
    v = np.maximum(_level(legs.path, tank, t), tank.floor)
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(t)))


schedules = st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0, 300), min_size=n, max_size=n).map(sorted),
    st.lists(st.floats(0.5, 150), min_size=n, max_size=n),
    st.integers(1, 4),
    st.builds(Tank, st.floats(0, 0.02), st.floats(0, 0.05), st.floats(0.05, 1.0))))


@settings(max_examples=150, deadline=None)
@given(schedules)
def test_integrated_legs_do_their_work(case: tuple) -> None:
    """Under the integrated rule, the integral of max(level, floor) over each baton's work
    is its work; the queue is first come first served within capacity."""
    arrivals, work, capacity, tank = case
    legs = run(np.array(arrivals), np.array(work), capacity, tank, "integrated")
    for j, w in enumerate(work):
        assert _integral(legs, tank, j) == pytest.approx(w, rel=1e-4)
    assert np.all(legs.start >= legs.arrival) and np.all(np.diff(legs.start) >= -1e-9)


@settings(max_examples=200, deadline=None)
@given(schedules)
def test_integrated_is_never_faster(case: tuple) -> None:
    """While a baton is in work its runner's level only falls, so integrated work is never
    faster than the held rule: each baton finishes no earlier, and takes at least
    work / max(its starting level, floor). Each rule's tank path is its own."""
    arrivals, work, capacity, tank = case
    legs = compare(np.array(arrivals), np.array(work), capacity, tank)
    h, i = legs["held"], legs["integrated"]
    assert np.all(i.finish >= h.finish * (1 - 1e-9) - 1e-9)
    assert np.all(i.start >= h.start - 1e-9)
    assert np.all(i.level <= h.level + 1e-9)
    own = np.array(work) / np.maximum(i.level, tank.floor)
    assert np.all(i.finish - i.start >= own * (1 - 1e-9))


@settings(max_examples=100, deadline=None)
@given(schedules)
def test_no_drain_no_difference(case: tuple) -> None:
    """drain = 0: the level never moves, the two rules agree exactly."""
    arrivals, work, capacity, tank = case
    tank = Tank(0.0, tank.recovery, tank.floor)
    legs = compare(np.array(arrivals), np.array(work), capacity, tank)
    assert legs["integrated"].finish == pytest.approx(legs["held"].finish, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(schedules)
def test_given_work_times_recover_the_draws(case: tuple) -> None:
    """Replaying the held rule's work times as "given" reproduces its schedule, and
    raw_work recovers the work units."""
    arrivals, work, capacity, tank = case
    held = run(np.array(arrivals), np.array(work), capacity, tank, "held")
    again = run(np.array(arrivals), held.finish - held.start, capacity, tank, "given")
    assert again.start == pytest.approx(held.start, rel=1e-12, abs=1e-9)
    assert raw_work(again, tank.floor) == pytest.approx(np.array(work), rel=1e-9)


@given(st.floats(0, 1), st.floats(-0.1, 0), st.floats(0.05, 1), st.floats(0, 500))
def test_time_for_inverts_progress(level: float, slope: float, floor: float,
                                   work: float) -> None:
    days = time_for(level, slope, floor, work)
    assert progress(level, slope, floor, days) == pytest.approx(work, rel=1e-9, abs=1e-9)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="rule"):
        run(np.zeros(1), np.ones(1), 1, TEACHER, "exact")
    with pytest.raises(ValueError, match="order"):
        run(np.array([2.0, 1.0]), np.ones(2), 1, TEACHER)
