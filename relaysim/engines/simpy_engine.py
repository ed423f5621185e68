"""The relay on SimPy: one replication of a scenario.

The district is a tree of runners (people; merged roles are one person, see plan.py):
physical level p has `sizes[p]` runners and runner i has children
`i*count .. (i+1)*count - 1` on level p+1, so the tree is implicit: no object per runner,
only flat per-level lists of state.

The life of one baton copy is one SimPy process, `carry`, readable top to bottom:

    exchange zone into this runner (slots, checkpoint, tank check, window, attempts,
    fumbles, rework) -> the runner's queue (priority, then FIFO) -> the runner's work
    -> hand on to each child (each child's copy is a new `carry` process).

A runner's capacity and a giver's exchange slots are counted by hand (`_release`): a free
slot costs no event at all, which keeps the engine close to a bare SimPy loop in speed.
Only a baton that must wait gets an event to wait on.

Dynamics are events on runners, not processes per runner: a departure is a timeout with a
callback (`_depart`) that interrupts the batons the leaver holds; the tank is a level that
changes linearly between events and is brought up to date only when a runner's load
changes (`_tank_sync`), so no clock polls it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator
from functools import partial
from itertools import count as _counter
from typing import Any

import simpy

from ..model import formulas as F
from ..model.plan import Bundle, Plan, plan_for, transform
from ..model.scenario import Initiative, Scenario, Zone
from . import streams as S
from .realize import realize
from .records import InitiativeOutcome, LevelOutcome, Replication, ZoneCounts

Tracer = Callable[..., None]

__all__ = ["simulate", "Relay"]

_LOST, _STAY = "lost", "stay"


class _Track:
    """Running tallies for one initiative in one replication."""

    __slots__ = ("below", "clarity_factor", "done_at", "dropped", "fidelity_sum", "implemented",
                 "implemented_by_deadline", "in_flight", "ini", "lost", "name",
                 "reached_by_deadline", "need", "zones")

    def __init__(self, ini: Initiative, name: str, n_levels: int, n_classrooms: int,
                 clarity_effect: float) -> None:
        self.ini = ini
        self.name = name  # the name results are reported under ("stream" for arrivals)
        self.need = F.classrooms_needed(ini.success_threshold, n_classrooms)
        self.implemented = 0
        self.implemented_by_deadline = 0
        self.below = 0
        self.dropped = 0
        self.lost = 0
        self.in_flight = 0
        self.fidelity_sum = 0.0
        self.reached_by_deadline = 0
        self.done_at: float | None = None
        # per physical level: [attempts, fumbles, recoveries, drops, rescues]
        self.zones = [[0, 0, 0, 0, 0] for _ in range(n_levels)]
        self.clarity_factor = F.clarity_factor(ini.clarity, clarity_effect)


class Relay:
    """One replication: build with a scenario, seed material and replication index, then
    call `run()` for a `Replication` record. `tracer(t, event, **data)`, if given, hears
    every event (see relaysim.trace for the words)."""

    def __init__(self, scenario: Scenario, seed: int, rep: int,
                 tracer: Tracer | None = None) -> None:
        scenario = realize(scenario, seed, rep)  # this replication's district
        self.sc = scenario
        self.seed, self.rep, self.tracer = seed, rep, tracer
        self.env = simpy.Environment()
        plan = self.plan = plan_for(scenario)
        sizes = self.sizes = plan.sizes
        n_levels = len(sizes)
        self.last = n_levels - 1
        self.counts = plan.counts
        self.leaves = plan.leaves
        self.logical = plan.logical
        eff = self.eff = scenario.effects
        self.streams = self._streams(plan, seed, rep)
        self.bundle = [plan.runner_bundles(p) for p in range(n_levels)]
        self.odds = [self._runner_odds(p) for p in range(n_levels)]
        # dynamic trust (docs/model.md 4.9): each post's trust in its giver, and its value
        # at the trust deadline once an update after the deadline has replaced it
        self.td = scenario.trust_dynamics
        self.trusting = self.td.on
        if self.trusting:
            self.trust = [[b.trust for b in self.bundle[p]] for p in range(n_levels)]
            self.trust_then: list[list[float | None]] = [[None] * n for n in sizes]
            self.trust_deadline = (scenario.initiatives[0].deadline if scenario.initiatives
                                   else scenario.horizon)
        self.busy = [[0] * n for n in sizes]
        self.held = [[0] * n for n in sizes]
        self.queues: dict[tuple[int, int], list[Any]] = {}
        self.slots_used: dict[tuple[int, int], int] = {}
        self.slot_queues: dict[tuple[int, int], list[Any]] = {}
        self.seq = _counter()  # arrival order: FIFO within a priority
        self.tick = _counter()  # unique tie-breaker: a kept baton re-queues with its old seq
        # with one initiative no two batons ever compete for a runner: skip the dispatch step
        self.contended = len(scenario.initiatives) > 1 or scenario.stream.rate > 0
        self.dispatching: set[tuple[int, int]] = set()
        self.wait_total = [0.0] * n_levels
        self.waits = [0] * n_levels
        self.busy_time = [0.0] * n_levels
        self.departures = [0] * n_levels
        self.extra_legs = [len(ls) - 1 for ls in plan.legs]
        # dynamics state, only where the level uses it
        self.has_turnover = plan.has_turnover
        self.has_tank = plan.has_tank
        self.vacant = [[False] * n if plan.has_turnover[p] else None
                       for p, n in enumerate(sizes)]
        self.holding: dict[tuple[int, int], dict[Any, None]] = {}
        self.fill_events: dict[tuple[int, int], simpy.Event] = {}
        self.tank = [[1.0] * n if plan.has_tank[p] else None for p, n in enumerate(sizes)]
        self.tank_t = [[0.0] * n if plan.has_tank[p] else None for p, n in enumerate(sizes)]
        self.tank_events: dict[tuple[int, int], simpy.Event] = {}
        self.dropped: list[tuple[_Track, int, int, float]] = []
        self.tracks = [_Track(ini, ini.name, n_levels, sizes[-1], eff.clarity)
                       for ini in scenario.initiatives]

    @staticmethod
    def _streams(plan: Plan, seed: int, rep: int) -> S.Streams:
        """This replication's random streams, each (purpose, level) through its runners'
        distributions."""
        st = S.Streams(seed, rep, plan.sizes)
        for p in range(len(plan.sizes)):
            st.register(S.WORK, p, transform(plan, p, "work"))
            for j in range(1, len(plan.legs[p])):
                st.register(S.MERGED_WORK + j, p, transform(plan, p, "work", j))
            if any(b.zone is not None for b in plan.bundles[p]):
                st.register(S.DURATION, p, transform(plan, p, "zone.duration"))
                st.register(S.REWORK, p, transform(plan, p, "zone.rework"))
            if plan.has_turnover[p]:
                st.register(S.VACANCY, p, transform(plan, p, "vacancy"))
        return st

    def _runner_odds(self, p: int) -> list[float]:
        """Fumble odds into each runner of level p: zone and trust (clarity, load and tank
        are applied per attempt)."""
        per_bundle = {id(b): b.zone_odds * F.trust_factor(b.trust, self.eff.trust)
                      for b in self.plan.bundles[p]}
        if len(per_bundle) == 1:  # one bundle: a C-level repeat, no per-runner exp
            return [next(iter(per_bundle.values()))] * self.sizes[p]
        return [per_bundle[id(b)] for b in self.bundle[p]]

    # -- the run ------------------------------------------------------------------
    def run(self) -> Replication:
        env = self.env
        for tr in self.tracks:
            env.process(self._launch(tr))
        if self.sc.stream.rate > 0:
            env.process(self._arrivals())
        if self.sc.feedback.detect > 0:
            env.process(self._reviews())
        for p in range(len(self.sizes)):
            if self.has_turnover[p]:
                for i in range(self.sizes[p]):
                    self._schedule_departure(p, i)
        env.run(until=self.sc.horizon)
        return self._record()

    def _launch(self, tr: _Track) -> Generator[simpy.Event, Any, None]:
        if tr.ini.launch > self.env.now:
            yield self.env.timeout(tr.ini.launch - self.env.now)
        if self.tracer:
            self.tracer(self.env.now, "launch", initiative=tr.ini.name)
        yield from self.carry(tr, 0, 0, 1.0)

    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        """The initiative stream: Poisson arrivals, each a copy of the template."""
        env, s = self.env, self.sc.stream
        mean_gap = self.sc.year_length / s.rate
        t, n = s.start, 0
        while True:
            t += F.exponential_gap(self.streams.draw(S.STREAM, 0, 0), mean_gap)
            if t >= s.stop or t >= self.sc.horizon:
                return
            yield env.timeout(t - env.now)
            n += 1
            ini = Initiative(name=f"stream-{n}", launch=t, deadline=t + s.deadline_after,
                             clarity=s.clarity, priority=s.priority,
                             min_fidelity=s.min_fidelity,
                             success_threshold=s.success_threshold)
            tr = _Track(ini, "stream", len(self.sizes), self.sizes[-1], self.eff.clarity)
            self.tracks.append(tr)
            env.process(self._launch(tr))

    # -- one baton copy: exchange into runner (p, i), its leg, then hand on ----------
    def carry(self, tr: _Track, p: int, i: int, fidelity: float
              ) -> Generator[simpy.Event, Any, None]:
        """The life of one baton copy bound for runner (p, i), top to bottom."""
        leaves = self.leaves[p]
        tr.in_flight += leaves
        b = self.bundle[p][i]
        zone = b.zone
        if zone is not None:
            ok = yield from self._exchange(tr, b, p, i)
            if not ok:
                tr.in_flight -= leaves
                tr.dropped += leaves
                if self.sc.feedback.detect > 0:
                    self.dropped.append((tr, p, i, fidelity))
                return
            fidelity *= zone.retention
            if self.tracer:
                self.tracer(self.env.now, "handoff", initiative=tr.ini.name,
                            level=self.logical[p], runner=i, fidelity=fidelity)
        finished = yield from self._leg(tr, b, p, i)
        if not finished:
            return
        tr.in_flight -= leaves
        if p == self.last:
            self._reached(tr, i, fidelity)
            return
        if self.tracer:
            self.tracer(self.env.now, "finish", initiative=tr.ini.name, level=self.logical[p],
                        runner=i)
        c = self.counts[p + 1]
        process = self.env.process
        for j in range(i * c, (i + 1) * c):
            process(self.carry(tr, p + 1, j, fidelity))

    def _leg(self, tr: _Track, b: Bundle, p: int, i: int) -> Generator[simpy.Event, Any, bool]:
        """Runner (p, i)'s leg: queue for capacity, then work. False if the baton was lost
        when the runner left; a kept baton waits for the new runner and starts again."""
        env = self.env
        arrived = env.now
        seq = next(self.seq)
        turnover = self.has_turnover[p]
        held = self.held[p]
        while True:
            held[i] += 1
            if turnover:
                me = env.active_process
                self.holding.setdefault((p, i), {})[me] = None
            work, began = 0.0, False
            try:
                yield from self._take_capacity(tr, b, p, i, seq)
                started = env.now
                self.wait_total[p] += started - arrived  # counted when work starts
                self.waits[p] += 1
                began = True
                work = self._work_time(b, p, i)
                self.busy_time[p] += min(work, self.sc.horizon - started)
                if self.tracer:
                    self.tracer(env.now, "start", initiative=tr.ini.name,
                                level=self.logical[p], runner=i, work=work,
                                waited=env.now - arrived)
                if work > 0:
                    yield env.timeout(work)
            except simpy.Interrupt as why:
                # the runner left (see _depart): the baton is lost, or waits for the new one
                held[i] -= 1
                del self.holding[(p, i)][me]
                if work > 0:
                    self.busy_time[p] -= max(0.0, min(started + work, self.sc.horizon) - env.now)
                if why.cause == _LOST:
                    self._lost(tr, p, i)
                    return False
                if began:
                    arrived = env.now  # its wait was counted; a new wait begins
                continue
            break
        if self.queues.get((p, i)) or self.has_tank[p]:
            self._release(p, i)
        else:  # nobody waiting, no tank: just free the slot (saves a call per leg)
            self.busy[p][i] -= 1
        held[i] -= 1
        if turnover:
            del self.holding[(p, i)][me]
        return True

    def _take_capacity(self, tr: _Track, b: Bundle, p: int, i: int, seq: int
                       ) -> Generator[simpy.Event, Any, None]:
        """Take one of runner (p, i)'s capacity slots, queueing (priority, then FIFO) if
        none is free or several initiatives may contend for it at this instant."""
        env = self.env
        turnover = self.has_turnover[p]
        free = self.busy[p][i] < b.capacity and not (turnover and self.vacant[p][i])
        if free and not self.contended:
            if self.has_tank[p]:
                self._tank_sync(p, i)
            self.busy[p][i] += 1
            return
        ev = env.event()
        heapq.heappush(self.queues.setdefault((p, i), []),
                       (tr.ini.priority, seq, next(self.tick), ev))
        if free and (p, i) not in self.dispatching:
            # several initiatives: batons arriving at the same instant are
            # sorted by priority before the free runner picks one
            self.dispatching.add((p, i))
            env.timeout(0).callbacks.append(partial(self._dispatch, p, i))
        if self.tracer and not free:
            self.tracer(env.now, "queued", initiative=tr.ini.name, level=self.logical[p],
                        runner=i, ahead=len(self.queues[(p, i)]) - 1 + self.busy[p][i])
        yield ev

    def _work_time(self, b: Bundle, p: int, i: int) -> float:
        """Days runner (p, i) works on this baton: its leg (and merged legs), slowed by a
        low tank."""
        work = self.streams.draw(S.WORK, p, i)
        if self.extra_legs[p]:
            for j in range(1, self.extra_legs[p] + 1):
                work += self.streams.draw(S.MERGED_WORK + j, p, i)
        if self.has_tank[p]:
            work = F.tank_slowed(work, self._tank_now(p, i), b.tank.floor)
        return work

    def _lost(self, tr: _Track, p: int, i: int) -> None:
        leaves = self.leaves[p]
        tr.in_flight -= leaves
        tr.lost += leaves
        if self.tracer:
            self.tracer(self.env.now, "lost", initiative=tr.ini.name, level=self.logical[p],
                        runner=i, classrooms=leaves)

    def _dispatch(self, p: int, i: int, _event: simpy.Event) -> None:
        """Give a free runner's slots to the best waiting batons (priority, then FIFO)."""
        self.dispatching.discard((p, i))
        q = self.queues.get((p, i))
        cap = self.bundle[p][i].capacity
        while q and self.busy[p][i] < cap and not (self.has_turnover[p] and self.vacant[p][i]):
            ev = heapq.heappop(q)[-1]
            if ev.callbacks:
                if self.has_tank[p]:
                    self._tank_sync(p, i)
                self.busy[p][i] += 1
                ev.succeed()

    def _release(self, p: int, i: int) -> None:
        """A baton leaves runner (p, i): hand the slot to the next live waiter or free it."""
        q = self.queues.get((p, i))
        while q:
            ev = heapq.heappop(q)[-1]
            if ev.callbacks:  # an interrupted waiter left an event nobody waits on
                ev.succeed()
                return
        if self.has_tank[p]:
            self._tank_sync(p, i)
        self.busy[p][i] -= 1
        if self.has_tank[p]:
            self._tank_changed(p, i)

    def _exchange(self, tr: _Track, b: Bundle, p: int, i: int
                  ) -> Generator[simpy.Event, Any, bool]:
        """Pass the baton from runner (p-1, i // count) to (p, i). True when received."""
        zone = b.zone
        assert zone is not None
        giver = (p - 1, i // self.counts[p])
        if zone.slots is not None:
            yield from self._take_slot(giver, zone.slots)
        if zone.checkpoint and self.eff.checkpoint_time > 0:
            yield self.env.timeout(self.eff.checkpoint_time)
        if self.has_tank[p] and b.tank.check_tank > 0:
            yield from self._wait_for_tank(tr, p, i, b.tank.check_tank)
        ok = yield from self._attempts(tr, zone, p, i)
        if zone.slots is not None:
            q = self.slot_queues.get(giver)
            if q:
                q.pop(0).succeed()
            else:
                self.slots_used[giver] -= 1
        return ok

    def _take_slot(self, giver: tuple[int, int], slots: int
                   ) -> Generator[simpy.Event, Any, None]:
        """One of the giver's exchange slots (FIFO when all are in use)."""
        used = self.slots_used.get(giver, 0)
        if used < slots:
            self.slots_used[giver] = used + 1
            return
        ev = self.env.event()
        self.slot_queues.setdefault(giver, []).append(ev)
        yield ev

    def _attempts(self, tr: _Track, zone: Zone, p: int, i: int
                  ) -> Generator[simpy.Event, Any, bool]:
        """Exchange attempts until the baton is received (True) or dropped (False)."""
        env = self.env
        trace = self.tracer
        draw = self.streams.draw
        counts = tr.zones[p]
        attempt = 0
        while True:
            attempt += 1
            if self.has_turnover[p]:
                while self.vacant[p][i]:
                    yield self._fill_event(p, i)
            if zone.window is not None:
                start = zone.window.next_open(env.now)
                if start > env.now:
                    if trace:
                        trace(env.now, "window_wait", initiative=tr.ini.name,
                              level=self.logical[p], runner=i, until=start)
                    yield env.timeout(start - env.now)
            has_tank = self.has_tank[p]
            pf = F.probability(F.fumble_odds(
                self.odds[p][i], tr.clarity_factor, self.held[p][i], self.eff.load,
                has_tank, self._tank_now(p, i) if has_tank else 1.0, self.eff.tank))
            if trace:
                trace(env.now, "exchange", initiative=tr.ini.name, level=self.logical[p],
                      runner=i, attempt=attempt, p_fumble=pf)
            duration = draw(S.DURATION, p, i)
            if duration > 0:
                yield env.timeout(duration)
            counts[0] += 1
            if draw(S.FUMBLE, p, i) >= pf:
                if self.trusting:
                    self._trust_moves(tr, p, i, True)
                return True
            counts[1] += 1
            caught = draw(S.RECOVER, p, i) < zone.recover
            if not caught or (zone.max_attempts is not None and attempt >= zone.max_attempts):
                counts[3] += 1
                if trace:
                    trace(env.now, "drop", initiative=tr.ini.name, level=self.logical[p],
                          runner=i, caught=caught, attempt=attempt, classrooms=self.leaves[p])
                if self.trusting:
                    self._trust_moves(tr, p, i, False)
                return False
            counts[2] += 1
            rework = draw(S.REWORK, p, i)
            if trace:
                trace(env.now, "fumble", initiative=tr.ini.name, level=self.logical[p],
                      runner=i, attempt=attempt, rework=rework)
            if self.trusting:
                self._trust_moves(tr, p, i, False)
            if rework > 0:
                yield env.timeout(rework)

    # -- dynamic trust: moved by each exchange attempt, reset by a new runner ---------
    def _trust_moves(self, tr: _Track, p: int, i: int, clean: bool) -> None:
        """The outcome of an exchange attempt into runner (p, i) moves its trust in its
        giver (formulas.trust_after); not while the post is vacant (nobody received)."""
        if self.has_turnover[p] and self.vacant[p][i]:
            return
        td = self.td
        old = self.trust[p][i]
        new = F.trust_after(old, clean, td.gain, td.loss, td.low, td.high)
        if new == old:
            return
        self._set_trust(p, i, new)
        if self.tracer:
            self.tracer(self.env.now, "trust", initiative=tr.ini.name, level=self.logical[p],
                        runner=i, before=old, trust=new, clean=clean)

    def _set_trust(self, p: int, i: int, value: float) -> None:
        """Runner (p, i)'s trust becomes `value`, and its fumble odds with it; the first
        change after the trust deadline keeps the value it replaces (the one reported)."""
        if self.env.now > self.trust_deadline and self.trust_then[p][i] is None:
            self.trust_then[p][i] = self.trust[p][i]
        self.trust[p][i] = value
        self.odds[p][i] = self.bundle[p][i].zone_odds * F.trust_factor(value, self.eff.trust)

    def _trust_at_deadline(self, p: int) -> float:
        """Mean over level p's posts of the trust at the trust deadline (added in runner
        order, as the compiled engine adds them)."""
        total = 0.0
        for now, then in zip(self.trust[p], self.trust_then[p], strict=True):
            total += now if then is None else then
        return total / self.sizes[p]

    def _reached(self, tr: _Track, i: int, fidelity: float) -> None:
        """A classroom finished its leg with the baton."""
        now = self.env.now
        ini = tr.ini
        by_deadline = now <= ini.deadline
        implements = F.implements(fidelity, ini.min_fidelity)
        if by_deadline:
            tr.reached_by_deadline += 1
            tr.fidelity_sum += fidelity
        if implements:
            tr.implemented += 1
            if by_deadline:
                tr.implemented_by_deadline += 1
            if tr.implemented == tr.need and tr.done_at is None:
                tr.done_at = now
                if self.tracer:
                    self.tracer(now, "complete", initiative=ini.name,
                                share=tr.implemented / self.sizes[-1])
        else:
            tr.below += 1
        if self.tracer:
            self.tracer(now, "reached", initiative=ini.name, level=len(self.sc.levels) - 1,
                        runner=i, fidelity=fidelity, implements=implements)

    # -- the tank: exact piecewise-linear level, updated only when load changes -----
    def _tank_rate(self, p: int, i: int) -> float:
        t = self.bundle[p][i].tank
        return F.tank_rate(t.drain, t.recovery, self.busy[p][i])

    def _tank_now(self, p: int, i: int) -> float:
        """Runner (p, i)'s tank level now (rate is constant since the last sync)."""
        return F.tank_level(self.tank[p][i], self._tank_rate(p, i),
                            self.env.now - self.tank_t[p][i])

    def _tank_sync(self, p: int, i: int) -> None:
        """Fold the elapsed linear change into the stored level (call before load changes)."""
        self.tank[p][i] = self._tank_now(p, i)
        self.tank_t[p][i] = self.env.now

    def _tank_changed(self, p: int, i: int) -> None:
        ev = self.tank_events.pop((p, i), None)
        if ev is not None:
            ev.succeed()

    def _wait_for_tank(self, tr: _Track, p: int, i: int, need: float
                       ) -> Generator[simpy.Event, Any, None]:
        """check_tank: the giver waits until the receiver's tank is at least `need`."""
        env = self.env
        first = True
        while True:
            level = self._tank_now(p, i)
            if level >= need - 1e-12:
                return
            if first and self.tracer:
                self.tracer(env.now, "tank_wait", initiative=tr.ini.name,
                            level=self.logical[p], runner=i, tank=level, need=need)
            first = False
            rate = self._tank_rate(p, i)
            if rate > 0:
                yield env.timeout((need - level) / rate)
            else:  # draining or flat: nothing changes until the receiver's load does
                ev = self.tank_events.get((p, i))
                if ev is None:
                    ev = self.tank_events[(p, i)] = env.event()
                yield ev

    # -- turnover: departures, vacancies, new runners ---------------------------------
    def _schedule_departure(self, p: int, i: int) -> None:
        rate = self.bundle[p][i].turnover
        if rate <= 0:
            return
        gap = F.departure_gap(self.streams.draw(S.TURNOVER, p, i), rate)
        if self.env.now + gap < self.sc.horizon:
            self.env.timeout(gap).callbacks.append(partial(self._depart, p, i))

    def _depart(self, p: int, i: int, _event: simpy.Event) -> None:
        b = self.bundle[p][i]
        self.departures[p] += 1
        self.vacant[p][i] = True
        lost = kept = 0
        for proc in list(self.holding.get((p, i), ())):
            if self.streams.draw(S.LOSS, p, i) < b.loss:
                proc.interrupt(_LOST)
                lost += 1
            else:
                proc.interrupt(_STAY)
                kept += 1
        if self.has_tank[p]:
            self._tank_sync(p, i)
        self.busy[p][i] = 0
        gap = self.streams.draw(S.VACANCY, p, i)
        if self.tracer:
            self.tracer(self.env.now, "departure", level=self.logical[p], runner=i,
                        lost=lost, kept=kept, vacancy=gap)
        self.env.timeout(gap).callbacks.append(partial(self._fill, p, i))

    def _fill(self, p: int, i: int, _event: simpy.Event) -> None:
        b = self.bundle[p][i]
        self.vacant[p][i] = False
        self.odds[p][i] = b.zone_odds * F.trust_factor(b.new_trust, self.eff.trust)
        if self.trusting:
            self._set_trust(p, i, b.new_trust)
        if self.has_tank[p]:
            self.tank[p][i] = 1.0
            self.tank_t[p][i] = self.env.now
            self._tank_changed(p, i)
        if self.tracer:
            self.tracer(self.env.now, "filled", level=self.logical[p], runner=i,
                        trust=b.new_trust)
        ev = self.fill_events.pop((p, i), None)
        if ev is not None:
            ev.succeed()
        q = self.queues.get((p, i))
        while q and self.busy[p][i] < b.capacity:
            ev = heapq.heappop(q)[-1]
            if ev.callbacks:
                self.busy[p][i] += 1
                ev.succeed()
        self._schedule_departure(p, i)

    def _fill_event(self, p: int, i: int) -> simpy.Event:
        ev = self.fill_events.get((p, i))
        if ev is None:
            ev = self.fill_events[(p, i)] = self.env.event()
        return ev

    # -- feedback: periodic reviews that find dropped batons -------------------------
    def _reviews(self) -> Generator[simpy.Event, Any, None]:
        env, fb = self.env, self.sc.feedback
        while True:
            yield env.timeout(fb.interval)
            still = []
            rescued = 0
            for entry in self.dropped:
                tr, p, i, fidelity = entry
                if self.streams.draw(S.REVIEW, p, i) < fb.detect:
                    rescued += 1
                    tr.dropped -= self.leaves[p]
                    tr.zones[p][4] += 1
                    if self.tracer:
                        self.tracer(env.now, "rescue", initiative=tr.ini.name,
                                    level=self.logical[p], runner=i)
                    env.process(self.carry(tr, p, i, fidelity))
                else:
                    still.append(entry)
            self.dropped = still
            if self.tracer and (rescued or still):
                self.tracer(env.now, "review", rescued=rescued, missed=len(still))

    # -- the record -----------------------------------------------------------------
    def _record(self) -> Replication:
        sc = self.sc
        plan: Plan = self.plan
        n = self.sizes[-1]
        n_logical = len(sc.levels)
        inits = []
        for tr in self.tracks:
            ini = tr.ini
            done = tr.done_at
            zones = [ZoneCounts()] * n_logical
            for p, k in enumerate(self.logical):
                zones[k] = ZoneCounts(*tr.zones[p])
            inits.append(InitiativeOutcome(
                name=tr.name,
                launch=ini.launch,
                deadline=ini.deadline,
                completed=done is not None and done <= ini.deadline,
                completion_time=None if done is None else done - ini.launch,
                follow_up=sc.horizon - ini.launch,
                coverage=tr.implemented_by_deadline / n,
                fidelity=(tr.fidelity_sum / tr.reached_by_deadline
                          if tr.reached_by_deadline else math.nan),
                n_classrooms=n,
                implemented=tr.implemented_by_deadline,
                implemented_total=tr.implemented,
                below_fidelity=tr.below,
                dropped=tr.dropped,
                lost=tr.lost,
                in_flight=tr.in_flight,
                zones=tuple(zones),
                observed=ini.deadline <= sc.horizon,
            ))
        levels = []
        for k in range(n_logical):
            p = plan.phys_of[k]
            cap = sum(b.capacity for b in self.bundle[p])
            levels.append(LevelOutcome(
                wait_total=self.wait_total[p],
                waits=self.waits[p],
                busy_time=self.busy_time[p],
                capacity_time=cap * sc.horizon,
                # one person, one departure: counted on the person's first level only
                departures=self.departures[p] if plan.logical[p] == k else 0,
                trust=(self._trust_at_deadline(p)
                       if self.trusting and k > 0 and plan.logical[p] == k else None),
            ))
        return Replication(rep=self.rep, seed=self.seed, initiatives=tuple(inits),
                           levels=tuple(levels))


def simulate(scenario: Scenario, seed: int, rep: int, tracer: Tracer | None = None
             ) -> Replication:
    """Run replication `rep` of `scenario` with seed material `seed`."""
    return Relay(scenario, seed, rep, tracer).run()
