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
from .network import neighbours
from .realize import realize
from .records import InitiativeOutcome, LevelOutcome, PeerCounts, Replication, ZoneCounts

Tracer = Callable[..., None]

__all__ = ["simulate", "Relay"]

_LOST, _STAY = "lost", "stay"
# peer sharing: where a track's baton stands at a runner (levels down to the sharing one)
_NONE, _LIVE, _DONE, _DROPPED, _LOST_, _EXCH = 0, 1, 2, 3, 4, 5


class _PeerTrack:
    """Peer sharing state of one initiative (docs/model.md 4.10): per runner of the levels
    down to the sharing level ps, where its copy stands (`status`: _NONE not yet arrived,
    _LIVE in exchange, queued or working, _DONE finished, _DROPPED, _LOST_ to turnover)
    (_EXCH: on the sharing level, in the exchange from above, not yet received) and,
    above ps, the classrooms of its subtree that peer copies took over (`claimed`);
    per runner of ps its implementing classrooms, the fidelity of its finished copy and
    whether it is a showcase; and the PeerCounts tallies."""

    __slots__ = ("claimed", "counts", "fid", "impl", "show", "status")

    def __init__(self, sizes: tuple[int, ...], ps: int) -> None:
        self.status = [bytearray(n) for n in sizes[:ps + 1]]
        self.claimed = [[0] * n for n in sizes[:ps]]
        n = sizes[ps]
        self.impl = [0] * n
        self.fid = [0.0] * n
        self.show = [False] * n
        self.counts = [0] * 9  # records.PEER_FIELDS


class _Track:
    """Running tallies for one initiative in one replication."""

    __slots__ = ("below", "clarity_factor", "done_at", "dropped", "fidelity_sum", "implemented",
                 "implemented_by_deadline", "in_flight", "ini", "lost", "name", "peer",
                 "reached_by_deadline", "need", "zones")

    def __init__(self, ini: Initiative, name: str, n_levels: int, n_classrooms: int,
                 clarity_effect: float, peer: _PeerTrack | None = None) -> None:
        self.peer = peer
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
        self.eff = scenario.effects
        self.streams = self._streams(plan, seed, rep)
        self.bundle = [plan.runner_bundles(p) for p in range(n_levels)]
        self.odds = [self._runner_odds(p) for p in range(n_levels)]
        # dynamic trust (docs/model.md 4.10): each post's trust in its giver, and its value
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
        self.dropped: list[tuple[_Track, int, int, float, bool]] = []
        self._sharing_setup(scenario)
        self.tracks = [self._new_track(ini, ini.name) for ini in scenario.initiatives]

    def _sharing_setup(self, sc: Scenario) -> None:
        """Peer sharing (docs/model.md 4.10): the sharing level ps, the network, each
        runner's trust factor (for the lateral odds) and newcomer generation."""
        k = sc.sharing_level
        self.share = None if k is None else sc.levels[k].sharing
        self.ps = self.last + 1  # no level shares: every `p <= self.ps` test is cheap
        if self.share is None:
            return
        plan, p = self.plan, self.plan.phys_of[k]
        self.ps = p
        self.nbrs = neighbours(plan, self.share, p, self.seed, self.rep)
        self.tfac = [F.trust_factor(b.trust, self.eff.trust) for b in self.bundle[p]]
        self.gen = [0] * self.sizes[p]
        self.anc_div = [self.sizes[p] // self.sizes[q] for q in range(p)]
        self.show_need = F.classrooms_needed(self.share.threshold, self.leaves[p])
        self.lat_odds = F.zone_odds(self.share.fumble, False, False, self.eff.rehearsal,
                                    self.eff.checkpoint)

    def _new_track(self, ini: Initiative, name: str) -> _Track:
        peer = None if self.share is None else _PeerTrack(self.sizes, self.ps)
        return _Track(ini, name, len(self.sizes), self.sizes[-1], self.eff.clarity, peer)

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
        if tr.peer is not None:
            tr.peer.status[0][0] = _LIVE
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
            tr = self._new_track(ini, "stream")
            self.tracks.append(tr)
            env.process(self._launch(tr))

    # -- one baton copy: exchange into runner (p, i), its leg, then hand on ----------
    def carry(self, tr: _Track, p: int, i: int, fidelity: float, peer: bool = False
              ) -> Generator[simpy.Event, Any, None]:
        """The life of one baton copy bound for runner (p, i), top to bottom (`peer`: it
        descends from a copy a peer handed sideways)."""
        sharing = tr.peer is not None and p <= self.ps
        leaves = self._eff(tr, p, i) if sharing else self.leaves[p]
        tr.in_flight += leaves
        b = self.bundle[p][i]
        zone = b.zone
        if zone is not None:
            ok = yield from self._exchange(tr, b, p, i)
            if sharing:
                pt = tr.peer
                assert pt is not None
                if p == self.ps:
                    if pt.status[p][i] != _EXCH:  # a peer's copy came first: this one
                        return  # vanishes (its classrooms went with the peer's copy)
                    pt.status[p][i] = _LIVE
                leaves = self._eff(tr, p, i)  # peers may have taken part of the subtree
            if not ok:
                if sharing:
                    pt.status[p][i] = _DROPPED
                tr.in_flight -= leaves
                tr.dropped += leaves
                if self.sc.feedback.detect > 0:
                    self.dropped.append((tr, p, i, fidelity, peer))
                return
            fidelity = F.handed_on(fidelity, zone.retention)
            if self.tracer:
                self.tracer(self.env.now, "handoff", initiative=tr.ini.name,
                            level=self.logical[p], runner=i, fidelity=fidelity)
        yield from self._leg_on(tr, b, p, i, fidelity, peer)

    def _leg_on(self, tr: _Track, b: Bundle, p: int, i: int, fidelity: float, peer: bool
                ) -> Generator[simpy.Event, Any, None]:
        """Runner (p, i)'s leg with a copy it received, then the hand-on to its children."""
        finished = yield from self._leg(tr, b, p, i)
        if not finished:
            return
        pt = tr.peer
        if pt is not None and p <= self.ps:
            tr.in_flight -= self._eff(tr, p, i)
            pt.status[p][i] = _DONE
            if p == self.ps:
                pt.fid[i] = fidelity
        else:
            tr.in_flight -= self.leaves[p]
        if p == self.last:
            self._reached(tr, i, fidelity, peer)
            return
        if self.tracer:
            self.tracer(self.env.now, "finish", initiative=tr.ini.name, level=self.logical[p],
                        runner=i)
        c = self.counts[p + 1]
        process = self.env.process
        below = pt is not None and p + 1 <= self.ps
        for j in range(i * c, (i + 1) * c):
            if below and not self._spawn(tr, p + 1, j):
                continue
            process(self.carry(tr, p + 1, j, fidelity, peer))

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
        if tr.peer is not None and p <= self.ps:
            leaves = self._eff(tr, p, i)
            tr.peer.status[p][i] = _LOST_
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
        if p == self.ps:  # the lateral zone's odds follow the receiver's trust too
            self.tfac[i] = F.trust_factor(value, self.eff.trust)

    def _trust_at_deadline(self, p: int) -> float:
        """Mean over level p's posts of the trust at the trust deadline (added in runner
        order, as the compiled engine adds them)."""
        total = 0.0
        for now, then in zip(self.trust[p], self.trust_then[p], strict=True):
            total += now if then is None else then
        return total / self.sizes[p]

    def _reached(self, tr: _Track, i: int, fidelity: float, peer: bool = False) -> None:
        """A classroom finished its leg with the baton (`peer`: through a peer copy)."""
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
        pt = tr.peer
        if pt is not None:
            if peer:
                pt.counts[7] += 1
                if implements and by_deadline:
                    pt.counts[8] += 1
            if implements:
                s = i // self.leaves[self.ps]
                pt.impl[s] += 1
                if pt.impl[s] == self.show_need:
                    self._showcase_begins(tr, s)

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
        if p == self.ps:
            self.tfac[i] = F.trust_factor(b.new_trust, self.eff.trust)
            if self.share is not None and self.share.visit_rate > 0:
                self.gen[i] += 1
                self.env.process(self._newcomer(i, self.gen[i]))

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
                tr, p, i, fidelity, peer = entry
                if self.streams.draw(S.REVIEW, p, i) < fb.detect:
                    rescued += 1
                    if tr.peer is not None and p <= self.ps:
                        tr.dropped -= self._eff(tr, p, i)
                        tr.peer.status[p][i] = _EXCH if p == self.ps else _LIVE
                    else:
                        tr.dropped -= self.leaves[p]
                    tr.zones[p][4] += 1
                    if self.tracer:
                        self.tracer(env.now, "rescue", initiative=tr.ini.name,
                                    level=self.logical[p], runner=i)
                    env.process(self.carry(tr, p, i, fidelity, peer))
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
                peers=self._peer_counts(tr),
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


    def _peer_counts(self, tr: _Track) -> tuple[PeerCounts, ...]:
        """The PeerCounts per logical level (() without sharing)."""
        if tr.peer is None:
            return ()
        out = [PeerCounts()] * len(self.sc.levels)
        out[self.logical[self.ps]] = PeerCounts(*tr.peer.counts)
        return tuple(out)

    # -- peer sharing (docs/model.md 4.10) --------------------------------------------
    def _eff(self, tr: _Track, p: int, i: int) -> float:
        """Classrooms a copy at (p, i) stands for: its subtree less what peers took."""
        if p < self.ps:
            return self.leaves[p] - tr.peer.claimed[p][i]  # type: ignore[union-attr]
        return self.leaves[p]

    def _spawn(self, tr: _Track, p: int, j: int) -> bool:
        """A copy from above is about to start for (p, j), p <= ps: False when (p, j)
        already has one from a peer (skipped: no double counting)."""
        pt = tr.peer
        assert pt is not None
        if p == self.ps:
            st = pt.status[p][j]
            if st == _LIVE or st == _DONE:
                if self.tracer:
                    self.tracer(self.env.now, "peer_skip", initiative=tr.ini.name,
                                level=self.logical[p], runner=j)
                return False
            if st == _LOST_:  # a peer copy it had was lost: this one replaces it
                tr.lost -= self.leaves[p]
            pt.status[p][j] = _EXCH if self.bundle[p][j].zone is not None else _LIVE
            return True
        pt.status[p][j] = _LIVE
        return True

    def _lacks(self, tr: _Track, j: int) -> bool:
        """Runner j of the sharing level lacks tr's baton and is in post to receive it."""
        st = tr.peer.status[self.ps][j]  # type: ignore[union-attr]
        if st == _LIVE or st == _DONE:  # received (in the exchange from above: not yet)
            return False
        return not (self.has_turnover[self.ps] and self.vacant[self.ps][j])  # type: ignore[index]

    def _showcase_begins(self, tr: _Track, s: int) -> None:
        tr.peer.show[s] = True  # type: ignore[union-attr]
        if self.tracer:
            self.tracer(self.env.now, "showcase", initiative=tr.ini.name,
                        level=self.logical[self.ps], runner=s)
        if self.share is not None and self.share.share_rate > 0:
            self.env.process(self._showcase(tr, s))

    def _showcase(self, tr: _Track, s: int) -> Generator[simpy.Event, Any, None]:
        """Showcase s shares tr's baton at Poisson times (rate x recognition per year)."""
        env = self.env
        mean = self.sc.year_length / self.share.share_rate  # type: ignore[union-attr]
        t = env.now
        while True:
            t += F.exponential_gap(self.streams.draw(S.SHARE_GAP, self.ps, s), mean)
            if t >= self.sc.horizon:
                return
            yield env.timeout(t - env.now)
            self._share(tr, s)

    def _share(self, tr: _Track, s: int) -> None:
        """One share of showcase s: a neighbour picked uniformly (among those lacking the
        baton, or among all with target = "any") gets a lateral handoff."""
        p, draw = self.ps, self.streams.draw
        u_pick = draw(S.SHARE_PICK, p, s)
        u_fumble = draw(S.SHARE_FUMBLE, p, s)
        tr.peer.counts[0] += 1  # type: ignore[union-attr]
        nb = self.nbrs[s]
        if self.share.target != "any":  # type: ignore[union-attr]
            nb = [j for j in nb if self._lacks(tr, j)]
        j = nb[int(u_pick * len(nb))] if nb else -1
        if j < 0 or not self._lacks(tr, j):
            if self.tracer:
                self.tracer(self.env.now, "share_wasted", initiative=tr.ini.name,
                            level=self.logical[p], runner=s, peer=j)
            return
        self._lateral_start(tr, s, j, u_fumble, False)

    def _lateral_start(self, tr: _Track, s: int, j: int, u_fumble: float, newcomer: bool
                       ) -> None:
        """A lateral handoff from showcase s to runner j begins (its fumble odds now)."""
        p = self.ps
        has_tank = self.has_tank[p]
        pf = F.probability(F.fumble_odds(
            self.lat_odds * self.tfac[j], tr.clarity_factor, self.held[p][j], self.eff.load,
            has_tank, self._tank_now(p, j) if has_tank else 1.0, self.eff.tank))
        tr.peer.counts[1] += 1  # type: ignore[union-attr]
        if self.tracer:
            self.tracer(self.env.now, "share", initiative=tr.ini.name, level=self.logical[p],
                        runner=s, peer=j, p_fumble=pf, newcomer=newcomer)
        self.env.process(self._lateral(tr, s, j, pf, u_fumble, newcomer))

    def _lateral(self, tr: _Track, s: int, j: int, pf: float, u_fumble: float,
                 newcomer: bool) -> Generator[simpy.Event, Any, None]:
        """The lateral exchange zone from s to j; on success j's leg with a peer copy."""
        sh = self.share
        assert sh is not None and tr.peer is not None
        if sh.duration > 0:
            yield self.env.timeout(sh.duration)
        p, trace = self.ps, self.tracer
        if u_fumble < pf:
            tr.peer.counts[2] += 1
            if trace:
                trace(self.env.now, "peer_fumble", initiative=tr.ini.name,
                      level=self.logical[p], runner=s, peer=j)
            return
        if not self._lacks(tr, j):
            if trace:
                trace(self.env.now, "peer_moot", initiative=tr.ini.name,
                      level=self.logical[p], runner=s, peer=j)
            return
        was = self._claim(tr, j, newcomer)
        fidelity = F.handed_on(tr.peer.fid[s], sh.retention)
        if trace:
            trace(self.env.now, "peer_handoff", initiative=tr.ini.name, level=self.logical[p],
                  runner=s, peer=j, fidelity=fidelity, was=was, classrooms=self.leaves[p])
        yield from self._leg_on(tr, self.bundle[p][j], p, j, fidelity, True)

    def _claim(self, tr: _Track, j: int, newcomer: bool) -> str:
        """Runner j of the sharing level takes a peer copy: its classrooms move from the
        bucket that held them (in flight above it, dropped or lost) to its live copy.
        Returns where they were ("ahead", "dropped", "lost")."""
        pt, p = tr.peer, self.ps
        assert pt is not None
        L = self.leaves[p]
        st = pt.status[p][j]
        if st == _NONE:  # its subtree belongs to the deepest ancestor with a copy
            q = p - 1
            while pt.status[q][j // self.anc_div[q]] == _NONE:
                q -= 1
            st = pt.status[q][j // self.anc_div[q]]
            for qq in range(q, p):
                pt.claimed[qq][j // self.anc_div[qq]] += L
        elif st == _DROPPED:
            self.dropped = [e for e in self.dropped
                            if not (e[0] is tr and e[1] == p and e[2] == j)]
        c = pt.counts
        if st == _LIVE or st == _EXCH:  # an ancestor's copy, or its own in the exchange
            tr.in_flight -= L
            was = "ahead"
        elif st == _DROPPED:
            tr.dropped -= L
            c[4] += 1
            was = "dropped"
        else:
            assert st == _LOST_, st
            tr.lost -= L
            c[5] += 1
            was = "lost"
        c[3] += 1
        if newcomer:
            c[6] += 1
        pt.status[p][j] = _LIVE
        tr.in_flight += L
        return was

    def _newcomer(self, i: int, gen: int) -> Generator[simpy.Event, Any, None]:
        """A new runner i of the sharing level visits showcase neighbours at Poisson times
        (newcomer_rate x recognition per year) while in post, for every initiative it
        lacks that a neighbour showcases."""
        env, p, draw = self.env, self.ps, self.streams.draw
        mean = self.sc.year_length / self.share.visit_rate  # type: ignore[union-attr]
        t = env.now
        while True:
            t += F.exponential_gap(draw(S.NEWCOMER, p, i), mean)
            if t >= self.sc.horizon:
                return
            yield env.timeout(t - env.now)
            if self.gen[i] != gen or self.vacant[p][i]:  # type: ignore[index]
                return
            for tr in self.tracks:
                if tr.peer is None or not self._lacks(tr, i):
                    continue
                shows = [s for s in self.nbrs[i] if tr.peer.show[s]]
                if shows:
                    s = shows[int(draw(S.NEWCOMER, p, i) * len(shows))]
                    self._lateral_start(tr, s, i, draw(S.NEWCOMER, p, i), True)


def simulate(scenario: Scenario, seed: int, rep: int, tracer: Tracer | None = None
             ) -> Replication:
    """Run replication `rep` of `scenario` with seed material `seed`."""
    return Relay(scenario, seed, rep, tracer).run()
