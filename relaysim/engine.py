"""The relay on SimPy: one replication of a scenario.

The district is a tree of runners: level k has `level_sizes[k]` runners and runner i of
level k has children `i*count .. (i+1)*count - 1` on level k+1, so the tree is implicit
(no objects per runner, only flat per-level lists of state).

The life of one baton copy is one SimPy process, `carry`, readable top to bottom:

    exchange zone into this runner (checkpoint, window, attempts, fumbles, rework)
      -> the runner's queue (priority, then FIFO) -> the runner's work -> hand on to each
         child (each child's copy is a new `carry` process).

A runner's capacity and a giver's exchange slots are counted by hand (`_acquire`,
`_release`): a free slot costs no event at all, which keeps the engine close to a bare
SimPy loop in speed. Only a baton that must wait gets an event to wait on.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator
from itertools import count as _counter
from typing import Any

import simpy

from . import streams as S
from .records import InitiativeOutcome, LevelOutcome, Replication, ZoneCounts
from .scenario import Initiative, Scenario

Tracer = Callable[..., None]

__all__ = ["simulate", "Relay", "fumble_probability"]


def fumble_probability(scenario: Scenario, k: int, initiative: Initiative,
                       held: int = 0, tank: float = 1.0, trust: float | None = None) -> float:
    """Probability that one exchange attempt into level k fumbles (MODEL.md, odds form).

    `held` is the number of batons the receiver already holds, `tank` its tank level,
    `trust` the receiver's trust (default: the level's).
    """
    zone = scenario.zones[k]
    if zone is None:
        return 0.0
    eff = scenario.effects
    t = scenario.levels[k].trust if trust is None else trust
    p = zone.fumble
    if p == 0.0:
        return 0.0
    odds = p / (1.0 - p)
    odds *= math.exp(-eff.trust * (t - 0.5)) * math.exp(-eff.clarity * (initiative.clarity - 0.5))
    if zone.rehearsed:
        odds *= eff.rehearsal
    if zone.checkpoint:
        odds *= eff.checkpoint
    if held:
        odds *= eff.load**held
    if tank < 1.0:
        odds *= math.exp(eff.tank * (1.0 - tank))
    return odds / (1.0 + odds)


class _Track:
    """Running tallies for one initiative in one replication."""

    __slots__ = ("ini", "need", "implemented", "implemented_by_deadline", "below", "dropped",
                 "lost", "in_flight", "fidelity_sum", "reached_by_deadline", "done_at", "zones",
                 "odds")

    def __init__(self, ini: Initiative, n_levels: int, n_classrooms: int) -> None:
        self.ini = ini
        self.need = max(1, math.ceil(ini.success_threshold * n_classrooms - 1e-9))
        self.implemented = 0
        self.implemented_by_deadline = 0
        self.below = 0
        self.dropped = 0
        self.lost = 0
        self.in_flight = 0
        self.fidelity_sum = 0.0
        self.reached_by_deadline = 0
        self.done_at: float | None = None
        # per level: [attempts, fumbles, recoveries, drops]
        self.zones = [[0, 0, 0, 0] for _ in range(n_levels)]
        self.odds: list[float] = []  # static fumble odds into each level


class Relay:
    """One replication: build with a scenario, seed material and replication index, then
    call `run()` for a `Replication` record. `tracer(t, event, **data)`, if given, hears
    every event (see relaysim.trace for the words)."""

    def __init__(self, scenario: Scenario, seed: int, rep: int,
                 tracer: Tracer | None = None) -> None:
        self.sc = scenario
        self.seed, self.rep, self.tracer = seed, rep, tracer
        self.env = simpy.Environment()
        sizes = self.sizes = scenario.level_sizes
        self.last = len(sizes) - 1
        self.counts = [lv.count for lv in scenario.levels]
        self.caps = [lv.capacity for lv in scenario.levels]
        leaves = [1] * len(sizes)
        for k in range(self.last - 1, -1, -1):
            leaves[k] = leaves[k + 1] * self.counts[k + 1]
        self.leaves = leaves
        st = self.streams = S.Streams(seed, rep, sizes)
        for k, lv in enumerate(scenario.levels):
            st.register(S.WORK, k, lv.work.ppf)
            z = scenario.zones[k]
            if z is not None:
                st.register(S.DURATION, k, z.duration.ppf)
                st.register(S.REWORK, k, z.rework.ppf)
        self.busy = [[0] * n for n in sizes]
        self.held = [[0] * n for n in sizes]
        self.queues: dict[tuple[int, int], list[Any]] = {}
        self.slots_used: dict[tuple[int, int], int] = {}
        self.slot_queues: dict[tuple[int, int], list[Any]] = {}
        self.seq = _counter()
        self.wait_total = [0.0] * len(sizes)
        self.waits = [0] * len(sizes)
        self.busy_time = [0.0] * len(sizes)
        self.departures = [0] * len(sizes)
        self.tracks = [_Track(ini, len(sizes), sizes[-1]) for ini in scenario.initiatives]
        eff = scenario.effects
        for tr in self.tracks:
            for k in range(len(sizes)):
                p = fumble_probability(scenario, k, tr.ini)
                tr.odds.append(p / (1.0 - p))
        self._load_factor = eff.load

    # -- the run ------------------------------------------------------------------
    def run(self) -> Replication:
        env = self.env
        for tr in self.tracks:
            env.process(self._launch(tr))
        env.run(until=self.sc.horizon)
        return self._record()

    def _launch(self, tr: _Track) -> Generator[simpy.Event, Any, None]:
        if tr.ini.launch > 0:
            yield self.env.timeout(tr.ini.launch)
        if self.tracer:
            self.tracer(self.env.now, "launch", initiative=tr.ini.name)
        yield from self.carry(tr, 0, 0, 1.0)

    # -- one baton copy: exchange into runner (k, i), its leg, then hand on ----------
    def carry(self, tr: _Track, k: int, i: int, fidelity: float
              ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        trace = self.tracer
        tr.in_flight += self.leaves[k]
        zone = self.sc.zones[k]
        if zone is not None:
            ok = yield from self._exchange(tr, zone, k, i)
            if not ok:
                tr.in_flight -= self.leaves[k]
                tr.dropped += self.leaves[k]
                return
            fidelity *= zone.retention
            if trace:
                trace(env.now, "handoff", initiative=tr.ini.name, level=k, runner=i,
                      fidelity=fidelity)

        # the runner's leg: queue for capacity, then work
        arrived = env.now
        held = self.held[k]
        held[i] += 1
        if self.busy[k][i] < self.caps[k]:
            self.busy[k][i] += 1
        else:
            ev = env.event()
            heapq.heappush(self.queues.setdefault((k, i), []),
                           (tr.ini.priority, next(self.seq), ev))
            if trace:
                trace(env.now, "queued", initiative=tr.ini.name, level=k, runner=i,
                      ahead=len(self.queues[(k, i)]) - 1 + self.busy[k][i])
            yield ev
        self.wait_total[k] += env.now - arrived
        self.waits[k] += 1
        work = self.streams.draw(S.WORK, k, i)
        self.busy_time[k] += min(work, self.sc.horizon - env.now)
        if trace:
            trace(env.now, "start", initiative=tr.ini.name, level=k, runner=i, work=work,
                  waited=env.now - arrived)
        if work > 0:
            yield env.timeout(work)
        q = self.queues.get((k, i))
        if q:
            heapq.heappop(q)[2].succeed()
        else:
            self.busy[k][i] -= 1
        held[i] -= 1
        tr.in_flight -= self.leaves[k]

        if k == self.last:
            self._reached(tr, i, fidelity)
            return
        if trace:
            trace(env.now, "finish", initiative=tr.ini.name, level=k, runner=i)
        c = self.counts[k + 1]
        process = env.process
        for j in range(i * c, (i + 1) * c):
            process(self.carry(tr, k + 1, j, fidelity))

    def _exchange(self, tr: _Track, zone: Any, k: int, i: int
                  ) -> Generator[simpy.Event, Any, bool]:
        """Pass the baton from runner (k-1, i // count) to (k, i). True when received."""
        env = self.env
        trace = self.tracer
        draw = self.streams.draw
        giver = (k - 1, i // self.counts[k])
        if zone.slots is not None:
            used = self.slots_used.get(giver, 0)
            if used < zone.slots:
                self.slots_used[giver] = used + 1
            else:
                ev = env.event()
                self.slot_queues.setdefault(giver, []).append(ev)
                yield ev
        if zone.checkpoint and self.sc.effects.checkpoint_time > 0:
            yield env.timeout(self.sc.effects.checkpoint_time)
        counts = tr.zones[k]
        attempt = 0
        ok = False
        while True:
            attempt += 1
            if zone.window is not None:
                start = zone.window.next_open(env.now)
                if start > env.now:
                    if trace:
                        trace(env.now, "window_wait", initiative=tr.ini.name, level=k,
                              runner=i, until=start)
                    yield env.timeout(start - env.now)
            odds = tr.odds[k]
            held = self.held[k][i]
            if held:
                odds *= self._load_factor**held
            p = odds / (1.0 + odds)
            if trace:
                trace(env.now, "exchange", initiative=tr.ini.name, level=k, runner=i,
                      attempt=attempt, p_fumble=p)
            duration = draw(S.DURATION, k, i)
            if duration > 0:
                yield env.timeout(duration)
            counts[0] += 1
            if draw(S.FUMBLE, k, i) >= p:
                ok = True
                break
            counts[1] += 1
            caught = draw(S.RECOVER, k, i) < zone.recover
            if not caught or (zone.max_attempts is not None and attempt >= zone.max_attempts):
                counts[3] += 1
                if trace:
                    trace(env.now, "drop", initiative=tr.ini.name, level=k, runner=i,
                          caught=caught, attempt=attempt, classrooms=self.leaves[k])
                break
            counts[2] += 1
            rework = draw(S.REWORK, k, i)
            if trace:
                trace(env.now, "fumble", initiative=tr.ini.name, level=k, runner=i,
                      attempt=attempt, rework=rework)
            if rework > 0:
                yield env.timeout(rework)
        if zone.slots is not None:
            q = self.slot_queues.get(giver)
            if q:
                q.pop(0).succeed()
            else:
                self.slots_used[giver] -= 1
        return ok

    def _reached(self, tr: _Track, i: int, fidelity: float) -> None:
        """A classroom finished its leg with the baton."""
        now = self.env.now
        ini = tr.ini
        by_deadline = now <= ini.deadline
        implements = fidelity >= ini.min_fidelity
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
            self.tracer(now, "reached", initiative=ini.name, level=self.last, runner=i,
                        fidelity=fidelity, implements=implements)

    # -- the record -----------------------------------------------------------------
    def _record(self) -> Replication:
        sc = self.sc
        n = self.sizes[-1]
        inits = []
        for tr in self.tracks:
            ini = tr.ini
            done = tr.done_at
            inits.append(InitiativeOutcome(
                name=ini.name,
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
                zones=tuple(ZoneCounts(*c) for c in tr.zones),
            ))
        levels = tuple(
            LevelOutcome(
                wait_total=self.wait_total[k],
                waits=self.waits[k],
                busy_time=self.busy_time[k],
                capacity_time=self.sizes[k] * self.caps[k] * sc.horizon,
                departures=self.departures[k],
            )
            for k in range(len(self.sizes))
        )
        return Replication(rep=self.rep, seed=self.seed, initiatives=tuple(inits), levels=levels)


def simulate(scenario: Scenario, seed: int, rep: int, tracer: Tracer | None = None
             ) -> Replication:
    """Run replication `rep` of `scenario` with seed material `seed`."""
    return Relay(scenario, seed, rep, tracer).run()
