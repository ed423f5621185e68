"""The scenario as the engine sees it: people, not titles.

Merged roles collapse into their parent (one person runs both legs, so no exchange zone
between them, one capacity, one tank, one turnover clock), and segments give each runner
the parameters of its segment's variant scenario. The result, a Plan, lists *physical*
levels (one per person-level) with, per runner, a reference to its parameter bundle.
Plans are cached per scenario object, so a replication only builds per-runner state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import formulas as F
from .distributions import Distribution
from .draws import RUNNER_LEVEL_KEYS
from .scenario import Initiative, Level, Scenario, Segment, Tank, Zone

__all__ = ["Plan", "Bundle", "plan_for", "fumble_probability"]


@dataclass(frozen=True, eq=False)
class Bundle:
    """Everything one runner needs to know about itself and the zone into it."""

    work: Distribution
    extra_work: tuple[Distribution, ...]  # merged legs run by the same person
    capacity: int
    trust: float
    new_trust: float
    turnover: float  # per day
    vacancy: Distribution
    loss: float
    tank: Tank
    zone: Zone | None
    zone_odds: float  # fumble odds into this runner without trust and clarity (0: never)
    segment: str


@dataclass(frozen=True, eq=False)
class Plan:
    scenario: Scenario
    logical: tuple[int, ...]  # logical level index of each physical level's first leg
    legs: tuple[tuple[int, ...], ...]  # logical levels run by each physical level
    phys_of: tuple[int, ...]  # physical level of each logical level
    counts: tuple[int, ...]
    sizes: tuple[int, ...]
    leaves: tuple[int, ...]  # classrooms under one runner of each physical level
    bundles: tuple[tuple[Bundle, ...], ...]  # distinct bundles per physical level
    bundle_index: tuple[np.ndarray | None, ...]  # per runner index into bundles (None: all 0)
    has_turnover: tuple[bool, ...]
    has_tank: tuple[bool, ...]
    has_window_or_slots: tuple[bool, ...]

    def runner_bundles(self, p: int) -> list[Bundle]:
        """Per-runner list of bundle references for physical level p."""
        idx = self.bundle_index[p]
        if idx is None:
            return [self.bundles[p][0]] * self.sizes[p]
        b = self.bundles[p]
        return [b[j] for j in idx.tolist()]


def _bundle(sc: Scenario, legs: tuple[int, ...], segment: str,
            levels: dict[int, Level] | None = None, zone_of: Zone | None = None) -> Bundle:
    """The bundle of a runner of physical level `legs` in scenario (or segment variant)
    `sc`; `levels` and `zone_of` replace its Level objects and zone (one runner's own)."""
    levels = levels or {}
    lv: Level = levels.get(legs[0], sc.levels[legs[0]])
    zone = zone_of if zone_of is not None else sc.zones[legs[0]]
    eff = sc.effects
    odds = 0.0 if zone is None else F.zone_odds(zone.fumble, zone.rehearsed, zone.checkpoint,
                                                eff.rehearsal, eff.checkpoint)
    return Bundle(
        work=lv.work,
        extra_work=tuple(levels.get(k, sc.levels[k]).work for k in legs[1:]),
        capacity=lv.capacity,
        trust=lv.trust,
        new_trust=lv.new_trust,
        turnover=lv.turnover / sc.year_length,
        vacancy=lv.vacancy,
        loss=lv.loss,
        tank=lv.tank,
        zone=zone,
        zone_odds=odds,
        segment=segment,
    )


_CACHE: dict[int, Plan] = {}


def plan_for(sc: Scenario) -> Plan:
    """The (cached) Plan of a scenario."""
    plan = _CACHE.get(id(sc))
    if plan is None or plan.scenario is not sc:
        if len(_CACHE) > 64:
            _CACHE.clear()
        plan = _CACHE[id(sc)] = _compile(sc)
    return plan


def _segment_of(segs: tuple[Segment, ...], n_s: int) -> np.ndarray:
    """Segment number (0: none) of each runner of the segment level: runner j belongs to
    segment s when it lies in that segment's share of the level, in index order (its
    subtree follows it)."""
    seg_of = np.zeros(n_s, dtype=np.int64)
    cum = 0.0
    for s_i, s in enumerate(segs, start=1):
        lo = math.floor(cum * n_s + 0.5)
        cum += s.share
        hi = math.floor(cum * n_s + 0.5)
        seg_of[lo:hi] = s_i
    return seg_of


def _compile(sc: Scenario) -> Plan:
    legs: list[list[int]] = []
    for k, lv in enumerate(sc.levels):
        if lv.merged_with_parent and legs:
            legs[-1].append(k)
        else:
            legs.append([k])
    legs_t = tuple(tuple(x) for x in legs)
    phys_of = tuple(p for p, ls in enumerate(legs_t) for _ in ls)
    counts = tuple(sc.levels[ls[0]].count if p else 1 for p, ls in enumerate(legs_t))
    sizes, n = [], 1
    for p, c in enumerate(counts):
        n = 1 if p == 0 else n * c
        sizes.append(n)
    leaves = [1] * len(sizes)
    for p in range(len(sizes) - 2, -1, -1):
        leaves[p] = leaves[p + 1] * counts[p + 1]

    seg_level = sc.segment_level
    ps = phys_of[seg_level] if seg_level is not None else None
    segs = sc.levels[seg_level].segments if seg_level is not None else ()
    bundles: list[tuple[Bundle, ...]] = []
    index: list[np.ndarray | None] = []
    for p, ls in enumerate(legs_t):
        base = _bundle(sc, ls, "")
        if ps is None or p < ps:
            bundles.append((base,))
            index.append(None)
            continue
        bundles.append((base, *(_bundle(s.variant, ls, s.name) for s in segs)))
        index.append(np.repeat(_segment_of(segs, sizes[ps]), sizes[p] // sizes[ps]))
    if sc.runner_values:
        _own_bundles(sc, legs_t, phys_of, sizes, bundles, index)
    has_turnover = tuple(any(b.turnover > 0 for b in bs) for bs in bundles)
    has_tank = tuple(any(b.tank.active for b in bs) for bs in bundles)
    has_ws = tuple(
        any(b.zone is not None and (b.zone.window is not None or b.zone.slots is not None)
            for b in bs)
        for bs in bundles
    )
    return Plan(
        scenario=sc,
        logical=tuple(ls[0] for ls in legs_t),
        legs=legs_t,
        phys_of=phys_of,
        counts=counts,
        sizes=tuple(sizes),
        leaves=tuple(leaves),
        bundles=tuple(bundles),
        bundle_index=tuple(index),
        has_turnover=has_turnover,
        has_tank=has_tank,
        has_window_or_slots=has_ws,
    )


def _own_bundles(sc: Scenario, legs: tuple[tuple[int, ...], ...], phys_of: tuple[int, ...],
                 sizes: list[int], bundles: list[tuple[Bundle, ...]],
                 index: list[np.ndarray | None]) -> None:
    """Give every runner of a level with per-runner values (sc.runner_values) a bundle of
    its own: its segment's bundle with the drawn values in place (in bundles, index)."""
    by_level: dict[int, list[tuple[str, tuple[float, ...]]]] = {}
    for path, values in sc.runner_values:
        by_level.setdefault(phys_of[sc.level_index(path.split(".")[1])], []).append(
            (path, values))
    seg_level = sc.segment_level
    segs = sc.levels[seg_level].segments if seg_level is not None else ()
    for p, changes in by_level.items():
        idx = index[p]
        parsed = [(sc.level_index(path.split(".")[1]), path.split(".")[0],
                   *[*path.split(".")[2:], None][:2], values) for path, values in changes]
        own = []
        for r in range(sizes[p]):
            j = 0 if idx is None else int(idx[r])
            src = sc if j == 0 else segs[j - 1].variant
            level_changes: dict[int, dict[str, object]] = {}
            zone_changes: dict[str, object] = {}
            zone = src.zones[legs[p][0]]
            for k, section, key, sub, values in parsed:
                x = values[r]
                if section == "zones":
                    assert zone is not None
                    zone_changes[key] = x if sub is None else getattr(zone, key).with_param(
                        sub, x)
                    continue
                assert key in RUNNER_LEVEL_KEYS
                lv, ch = src.levels[k], level_changes.setdefault(k, {})
                if sub is None:
                    ch[key] = x
                    if key == "trust" and sc.normalized["levels"][k]["new_trust"] is None:
                        ch.setdefault("new_trust", x)  # a newcomer's trust follows the post's
                elif key == "tank":
                    ch["tank"] = replace(ch.get("tank", lv.tank), **{sub: x})
                else:
                    ch[key] = ch.get(key, getattr(lv, key)).with_param(sub, x)
            lvs = {k: replace(src.levels[k], **ch) for k, ch in level_changes.items()}
            if zone_changes:
                zone = replace(zone, **zone_changes)
            own.append(_bundle(src, legs[p], bundles[p][j].segment, lvs, zone))
        bundles[p] = tuple(own)
        index[p] = np.arange(sizes[p], dtype=np.int64)


def transform(plan: Plan, p: int, attr: str, leg: int = 0
              ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A Streams transform: each row's uniforms through its runner's distribution's ppf.

    attr is 'work', 'vacancy', or 'zone.duration' / 'zone.rework'; leg picks a merged leg.
    """
    bs = plan.bundles[p]
    idx = plan.bundle_index[p]

    def dist_of(b: Bundle) -> Distribution:
        if attr == "work":
            return b.work if leg == 0 else b.extra_work[leg - 1]
        if attr == "vacancy":
            return b.vacancy
        z = b.zone
        assert z is not None
        return z.duration if attr == "zone.duration" else z.rework

    if idx is None or len(bs) == 1:
        d = dist_of(bs[0])
        return lambda u, rows: d.ppf(u)

    dists = [dist_of(b) if (attr in ("work", "vacancy") or b.zone is not None) else None
             for b in bs]

    def f(u: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = np.empty_like(u)
        which = idx[rows]
        for j, d in enumerate(dists):
            m = which == j
            if m.any():
                out[m] = d.ppf(u[m]) if d is not None else 0.0
        return out

    return f


def fumble_probability(scenario: Scenario, k: int, initiative: Initiative,
                       held: int = 0, tank: float = 1.0, trust: float | None = None) -> float:
    """Probability that one exchange attempt into level k fumbles (MODEL.md, odds form).

    `held` is the number of batons the receiver already holds, `tank` its tank level,
    `trust` the receiver's trust (default: the level's).
    """
    zone = scenario.zones[k]
    if zone is None or zone.fumble == 0.0:
        return 0.0
    eff = scenario.effects
    t = scenario.levels[k].trust if trust is None else trust
    base = F.zone_odds(zone.fumble, zone.rehearsed, zone.checkpoint, eff.rehearsal,
                       eff.checkpoint)
    odds = F.fumble_odds(base * F.trust_factor(t, eff.trust),
                         F.clarity_factor(initiative.clarity, eff.clarity),
                         held, eff.load, tank < 1.0, tank, eff.tank)
    # every factor neutral: the zone's own probability as written, not odds -> probability
    neutral = F.zone_odds(zone.fumble, False, False, eff.rehearsal, eff.checkpoint)
    return zone.fumble if odds == neutral else F.probability(odds)
