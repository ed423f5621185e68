"""Flat, frozen records of what one replication yields (compact enough to ship between
processes: no per-event data)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ZoneCounts:
    """Exchange counts in one zone for one initiative in one replication."""

    attempts: int = 0
    fumbles: int = 0
    recoveries: int = 0
    drops: int = 0
    rescues: int = 0  # dropped batons found by a review and passed again (feedback)


@dataclass(frozen=True, slots=True)
class PeerCounts:
    """Peer sharing on one level for one initiative in one replication (docs/model.md
    4.10); all zero on levels that do not share."""

    shares: int = 0  # share events of showcases (visits hosted), wasted ones included
    handoffs: int = 0  # lateral handoffs begun (showcase shares and newcomer visits)
    fumbles: int = 0  # lateral handoffs that fumbled
    recovered: int = 0  # peers that got a live copy from a lateral handoff
    from_dropped: int = 0  # ... whose baton had been dropped (here or above them)
    from_lost: int = 0  # ... whose baton had been lost to turnover (here or above them)
    newcomers: int = 0  # ... that were new runners visiting a showcase
    reached: int = 0  # classrooms reached through peer copies by the horizon
    implemented: int = 0  # classrooms implementing through peer copies by the deadline


PEER_FIELDS = ("shares", "handoffs", "fumbles", "recovered", "from_dropped", "from_lost",
               "newcomers", "reached", "implemented")


@dataclass(frozen=True, slots=True)
class InitiativeOutcome:
    """What one initiative achieved in one replication.

    Times are in days since the initiative's launch. `completion_time` is None when the
    success threshold was not reached before the horizon (right-censored at `follow_up`).
    Classroom counts partition the district: implemented_total + below_fidelity + dropped
    + lost + in_flight == n_classrooms, where `implemented_total` counts every classroom
    that finished its leg with enough fidelity by the horizon.
    """

    name: str
    launch: float
    deadline: float
    completed: bool
    completion_time: float | None
    follow_up: float
    coverage: float
    fidelity: float
    n_classrooms: int
    implemented: int  # by the deadline
    implemented_total: int  # by the horizon
    below_fidelity: int  # reached by the horizon, fidelity under min_fidelity
    dropped: int  # cut off by a dropped exchange (the receiver and its subtree)
    lost: int  # cut off because a runner who held the baton left (turnover)
    in_flight: int  # still on their way at the horizon
    zones: tuple[ZoneCounts, ...]  # indexed by level; entry 0 (the top level) is always empty
    observed: bool = True  # deadline <= horizon (stream arrivals near the end are not)
    #: with peer sharing only (a level with a `sharing` table; () otherwise): per level
    peers: tuple[PeerCounts, ...] = ()

    @property
    def fidelity_known(self) -> bool:
        return not math.isnan(self.fidelity)


@dataclass(frozen=True, slots=True)
class LevelOutcome:
    """Per-level load in one replication."""

    wait_total: float  # days batons waited in runners' queues before work began
    waits: int  # batons that began work
    busy_time: float  # runner-days of work done before the horizon (sum over slots)
    capacity_time: float  # runner-slot-days available (runners x capacity x horizon)
    departures: int  # runners who left (turnover)
    # with dynamic trust only ([trust_dynamics] gain or loss > 0; None otherwise, and on
    # the first level and merged levels): the mean over the level's posts of the receiving
    # runner's trust in its giver at the trust deadline (docs/model.md section 4.9)
    trust: float | None = None

    @property
    def utilization(self) -> float:
        return self.busy_time / self.capacity_time if self.capacity_time > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Replication:
    """One replication: its index, its seed material and per-initiative/per-level outcomes."""

    rep: int
    seed: int
    initiatives: tuple[InitiativeOutcome, ...]
    levels: tuple[LevelOutcome, ...]
