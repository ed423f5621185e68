"""Scenarios: the frozen model objects the engines read, and loading them from TOML.

A scenario is read from TOML (the user's language: levels, zones, initiatives, effects),
checked completely by validate.py (every problem at once, by dotted path), normalised
(every default filled in) and frozen into the small dataclasses below. The normalised
form is what gets hashed, listed by `validate --list-paths` and changed by `--set`/`--vary`
(paths.py), so two files that differ only in comments or spelled-out defaults are the
same scenario.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import Problem, ScenarioError, UsageError
from . import distributions as D
from . import formulas as F
from . import paths as P
from .draws import Draw, make_draw
from .schema import MERGED_FORBIDDEN, segment_may_set
from .validate import Validator

__all__ = [
    "Scenario",
    "Level",
    "Zone",
    "Window",
    "Tank",
    "Segment",
    "Sharing",
    "Initiative",
    "InitiativeStream",
    "Feedback",
    "TrustDynamics",
    "Effects",
    "load_scenario",
    "scenario_from_dict",
    "parse_value",
    "raw_from_normalized",
]


# -- model objects -------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Exchanges may start only when `t mod period` lies in [open, close)."""

    period: float
    open: float
    close: float

    def next_open(self, t: float) -> float:
        """Earliest time >= t at which an exchange may start."""
        return F.window_next_open(t, self.period, self.open, self.close)


@dataclass(frozen=True)
class Tank:
    """What a runner has left: level in [0, 1], drained by work, refilled while idle."""

    drain: float
    recovery: float
    floor: float
    check_tank: float

    @property
    def active(self) -> bool:
        return self.drain > 0


@dataclass(frozen=True)
class Sharing:
    """Peer sharing between the runners of one level (docs/model.md 4.10): showcases hand
    the baton sideways to peers that lack it, through a lateral exchange zone."""

    rate: float  # shares per showcase per school year, before recognition
    recognition: float  # scales rate and newcomer_rate (0: no sharing)
    threshold: float  # share of a runner's classrooms implementing: a showcase
    network: str  # all | segment | ring | random
    degree: int  # neighbours per runner (ring, random)
    target: str  # lacking | any
    newcomer_rate: float  # visits per school year of a newcomer lacking the baton
    duration: float  # days one lateral handoff takes
    fumble: float  # base risk of a lateral handoff
    retention: float  # fidelity kept by a lateral handoff

    @property
    def share_rate(self) -> float:
        """Shares per showcase per school year (rate x recognition)."""
        return self.rate * self.recognition

    @property
    def visit_rate(self) -> float:
        """A newcomer's visits per school year (newcomer_rate x recognition)."""
        return self.newcomer_rate * self.recognition


@dataclass(frozen=True, eq=False)
class Segment:
    """Runners of one level (and their subtrees) with their own parameters."""

    name: str
    share: float
    overrides: dict[str, Any]
    variant: Scenario = field(repr=False)  # the scenario as seen by this segment's runners


@dataclass(frozen=True)
class Level:
    """One leg of the relay: `count` runners under each runner of the level above."""

    name: str
    count: int
    capacity: int
    work: D.Distribution
    trust: float
    turnover: float = 0.0
    vacancy: D.Distribution = D.ZERO
    new_trust: float = 0.5
    loss_on_turnover: float = 1.0
    succession: float | None = None
    tank: Tank = Tank(0.0, 0.0, 0.2, 0.0)
    merged_with_parent: bool = False
    segments: tuple[Segment, ...] = ()
    sharing: Sharing | None = None

    @property
    def loss(self) -> float:
        """Chance that a baton held by a leaver is lost (succession planning if any)."""
        return self.loss_on_turnover if self.succession is None else self.succession


@dataclass(frozen=True)
class Zone:
    """The exchange zone into level `to`."""

    to: str
    duration: D.Distribution
    fumble: float
    recover: float
    rework: D.Distribution
    max_attempts: int | None
    rehearsed: bool
    checkpoint: bool
    retention: float
    slots: int | None
    window: Window | None


@dataclass(frozen=True)
class Initiative:
    name: str
    launch: float
    deadline: float
    clarity: float
    priority: int
    min_fidelity: float
    success_threshold: float


@dataclass(frozen=True)
class InitiativeStream:
    """Poisson arrivals of initiatives, each a copy of the template."""

    rate: float  # per school year
    start: float
    stop: float
    clarity: float
    priority: int
    min_fidelity: float
    success_threshold: float
    deadline_after: float


@dataclass(frozen=True)
class Feedback:
    """The district's periodic review of dropped batons."""

    interval: float
    detect: float


@dataclass(frozen=True)
class TrustDynamics:
    """Dynamic trust (docs/model.md section 4.9): each clean handoff raises the receiver's
    trust in its giver by the share `gain` of the gap to `high`, each fumbled attempt
    lowers it by the share `loss` of the gap to `low`. Off (trust fixed) when both are 0."""

    gain: float = 0.0
    loss: float = 0.0
    low: float = 0.0
    high: float = 1.0

    @property
    def on(self) -> bool:
        return self.gain > 0.0 or self.loss > 0.0


@dataclass(frozen=True)
class Effects:
    trust: float
    clarity: float
    rehearsal: float
    checkpoint: float
    checkpoint_time: float
    load: float
    tank: float


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated, normalised scenario. Build with `load_scenario` or `scenario_from_dict`."""

    name: str
    description: str
    horizon: float
    year_length: float
    time_unit: str
    levels: tuple[Level, ...]
    zones: tuple[Zone | None, ...]  # zones[k] is the zone into level k (zones[0] is None)
    initiatives: tuple[Initiative, ...]
    effects: Effects
    stream: InitiativeStream
    feedback: Feedback
    normalized: dict[str, Any] = field(repr=False)
    raw: dict[str, Any] = field(repr=False)
    source: str | None = None
    #: parameters given as distributions (draws.py); the objects above hold their centres
    draws: tuple[Draw, ...] = ()
    #: one replication's per-runner values (engines/realize.py): (dotted path, value per
    #: runner of its level), applied by the plan
    runner_values: tuple[tuple[str, tuple[float, ...]], ...] = field(default=(), repr=False)
    trust_dynamics: TrustDynamics = TrustDynamics()

    # -- identity -----------------------------------------------------------------
    @property
    def hash(self) -> str:
        """sha256 of the normalised scenario (comments and spelled-out defaults ignored)."""
        norm = self.normalized
        if norm["scenario"].get("time_unit") == "days":
            # added after 0.1.0 hashes were published: at its default it leaves them unchanged
            norm = {**norm, "scenario": {k: v for k, v in norm["scenario"].items()
                                         if k != "time_unit"}}
        if norm.get("trust_dynamics") == _NO_TRUST_DYNAMICS:
            # added after 0.1.0 too: off at its defaults, it leaves the old hashes unchanged
            norm = {k: v for k, v in norm.items() if k != "trust_dynamics"}
        text = json.dumps(norm, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    @property
    def time_unit_one(self) -> str:
        """The clock's unit in the singular ("day" for "days"), for labels like "day 30"."""
        u = self.time_unit
        return u[:-1] if len(u) > 1 and u.endswith("s") else u

    # -- shape --------------------------------------------------------------------
    @property
    def level_sizes(self) -> tuple[int, ...]:
        """Number of runners on each level (the first level has one)."""
        sizes, n = [], 1
        for k, lv in enumerate(self.levels):
            n = 1 if k == 0 else n * lv.count
            sizes.append(n)
        return tuple(sizes)

    @property
    def n_classrooms(self) -> int:
        return self.level_sizes[-1]

    @property
    def sharing_level(self) -> int | None:
        """Index of the level whose runners share with their peers, if any."""
        for k, lv in enumerate(self.levels):
            if lv.sharing is not None:
                return k
        return None

    @property
    def segment_level(self) -> int | None:
        """Index of the level that declares segments, if any."""
        for k, lv in enumerate(self.levels):
            if lv.segments:
                return k
        return None

    def level_index(self, name: str) -> int:
        for k, lv in enumerate(self.levels):
            if lv.name == name:
                return k
        raise KeyError(name)

    # -- parameters by dotted path ------------------------------------------------
    def paths(self) -> dict[str, Any]:
        """Every settable dotted path with its current value (defaults included; optional
        parameters that are unset, such as succession, are left out)."""
        return {k: v for k, v in P.flatten_normalized(self.normalized).items()
                if v is not None}

    def get(self, path: str) -> Any:
        """Current value at a dotted path: a number, flag or text, or a table such as a
        distribution (None for an unset optional parameter). Raises ScenarioError if the
        path names nothing."""
        return P.get_value(self, path)

    def with_runner_values(self, values: tuple[tuple[str, tuple[float, ...]], ...]
                           ) -> Scenario:
        """A copy whose runners take their own values of some parameters: (dotted path,
        one value per runner of the path's level), as one replication draws them."""
        return replace(self, runner_values=values)

    def with_values(self, values: dict[str, Any]) -> Scenario:
        """A copy with the given dotted paths set; the result is fully re-validated."""
        problems: list[Problem] = []
        raw = copy.deepcopy(self.raw)
        for path, value in values.items():
            try:
                P.check_path(self, path)
            except ScenarioError as e:
                problems.extend(e.problems)
                continue
            P.set_raw(raw, path, value)
        try:
            sc = scenario_from_dict(raw, source=self.source)
        except ScenarioError as e:
            problems.extend(e.problems)
        if problems:
            raise ScenarioError(problems, self.source)
        return sc


#: the normalised [trust_dynamics] of a scenario that does not use it
_NO_TRUST_DYNAMICS = {"gain": 0.0, "loss": 0.0, "low": 0.0, "high": 1.0}


# -- loading -------------------------------------------------------------------------


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, validate and normalise a TOML scenario file.

    `overrides` maps dotted paths to values, as `--set` does. Raises ScenarioError listing
    every problem (file, dotted path, what is wrong).
    """
    p = Path(path)
    src = str(path)
    try:
        # utf-8-sig: a byte-order mark (as some Windows editors write) is accepted
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError([Problem("", "file not found")], src) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem("", f"cannot read file: {e}")], src) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError([Problem("", f"not valid TOML: {e}")], src) from None
    except RecursionError:
        raise ScenarioError([Problem("", _TOO_DEEP)], src) from None
    sc = scenario_from_dict(raw, source=src)
    return sc.with_values(overrides) if overrides else sc


_TOO_DEEP = "values nested too deeply (arrays or tables inside each other hundreds of times)"


def parse_value(text: str) -> Any:
    """Parse a command-line value as TOML (numbers, booleans, arrays, tables), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise UsageError(f"{text[:40]!r}...: {_TOO_DEEP}") from None


def scenario_from_dict(raw: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML) and build the Scenario."""
    try:
        v = Validator()
        norm = v.scenario(raw)
        if v.problems:
            raise ScenarioError(v.problems + _segment_value_problems(raw, norm, source), source)
        if v.draws:
            problems = _draw_problems(raw, v.draws)
            if problems:
                raise ScenarioError(problems, source)
        sc = _build(norm, copy.deepcopy(raw), source)
        return _with_draws(sc, v.draws) if v.draws else sc
    except RecursionError:
        raise ScenarioError([Problem("", _TOO_DEEP)], source) from None


# -- parameters given as distributions ------------------------------------------------


def _with_draws(sc: Scenario, tables: dict[str, dict[str, Any]]) -> Scenario:
    """The scenario built with each drawn parameter at its centre, given its draws; the
    normalised form (hashed, listed, set by path) holds the distributions' tables."""
    norm = copy.deepcopy(sc.normalized)
    for path, table in tables.items():
        P.put_normalized(norm, path, table)
    spec_kind = {path: P.spec_of(path).kind for path in tables}
    draws = tuple(Draw(path, make_draw(t), t["per"], spec_kind[path] == "int")
                  for path, t in sorted(tables.items()))
    return replace(sc, normalized=norm, draws=draws)


def _draw_problems(raw: dict[str, Any], tables: dict[str, dict[str, Any]]) -> list[Problem]:
    """Problems of a scenario with drawn parameters that a single value hides: the
    scenario must stay valid with each draw at either end of its range (the others at
    their centres), and a segment may not set a drawn parameter."""
    problems: list[Problem] = []
    centred = copy.deepcopy(raw)
    for path, t in tables.items():
        P.set_raw(centred, path, make_draw(t).centre())
    for path, t in sorted(tables.items()):
        lo, hi, lo_in, hi_in = make_draw(t).support()
        for end, x, reached in (("lowest", lo, lo_in), ("highest", hi, hi_in)):
            if not (reached and math.isfinite(x)):
                continue
            trial = copy.deepcopy(centred)
            P.set_raw(trial, path, int(x) if P.spec_of(path).kind == "int" else x)
            v = Validator()
            v.scenario(trial)
            problems += [Problem(path, f"at its {end} value {x:g}, {q.path} {q.message}")
                         for q in v.problems]
    for lv in raw.get("levels", []):
        for seg in lv.get("segments", []) if isinstance(lv, dict) else []:
            for p in P.flatten_set(seg.get("set") or {}) if isinstance(seg, dict) else {}:
                if p in tables:
                    problems.append(Problem(p, f"is drawn from a distribution and set by "
                                            f"segment '{seg.get('name')}': choose one"))
    return problems


# -- building ------------------------------------------------------------------------


def _limit(v: int | str) -> int | None:
    return None if v == "unlimited" else int(v)


def _dist(d: dict[str, Any]) -> D.Distribution:
    params = {k: v for k, v in d.items() if k != "dist"}
    return D.make(d["dist"], **params)


def _level(k: int, lv: dict[str, Any]) -> Level:
    return Level(
        name=lv["name"],
        count=1 if k == 0 else lv["count"],
        capacity=lv["capacity"],
        work=_dist(lv["work"]),
        trust=lv["trust"],
        turnover=lv["turnover"],
        vacancy=_dist(lv["vacancy"]),
        new_trust=lv["trust"] if lv["new_trust"] is None else lv["new_trust"],
        loss_on_turnover=lv["loss_on_turnover"],
        succession=lv["succession"],
        tank=Tank(**lv["tank"]),
        merged_with_parent=lv["merged_with_parent"],
        sharing=Sharing(**lv["sharing"]) if lv.get("sharing") else None,
    )


def _zone(z: dict[str, Any]) -> Zone:
    w = z["window"]
    return Zone(
        to=z["to"],
        duration=_dist(z["duration"]),
        fumble=z["fumble"],
        recover=z["recover"],
        rework=_dist(z["rework"]),
        max_attempts=_limit(z["max_attempts"]),
        rehearsed=z["rehearsed"],
        checkpoint=z["checkpoint"],
        retention=z["retention"],
        slots=_limit(z["slots"]),
        window=Window(**w) if w else None,
    )


def _build(norm: dict[str, Any], raw: dict[str, Any], source: str | None) -> Scenario:
    sc = norm["scenario"]
    levels = tuple(_level(k, lv) for k, lv in enumerate(norm["levels"]))
    if norm["levels"]:
        norm["levels"][0]["count"] = 1
    by_to = {z["to"]: z for z in norm["zones"]}
    zones = tuple(_zone(by_to[lv.name]) if lv.name in by_to else None for lv in levels)
    # zones are stored in level order so the normalised form does not depend on file order
    order = {lv.name: k for k, lv in enumerate(levels)}
    norm["zones"] = sorted(norm["zones"], key=lambda z: order[z["to"]])
    inits = tuple(Initiative(**ini) for ini in norm["initiatives"])
    st = norm["initiative_stream"]
    stream = InitiativeStream(rate=st["rate"], start=st["start"], stop=st["stop"],
                              **st["template"])
    sc = Scenario(
        name=sc["name"],
        description=sc["description"],
        horizon=sc["horizon"],
        year_length=sc["year_length"],
        time_unit=sc["time_unit"],
        levels=levels,
        zones=zones,
        initiatives=inits,
        effects=Effects(**norm["effects"]),
        stream=stream,
        feedback=Feedback(**norm["feedback"]),
        trust_dynamics=TrustDynamics(**norm["trust_dynamics"]),
        normalized=norm,
        raw=raw,
        source=source,
    )
    return _with_segments(sc)


# -- segments: each a variant of the scenario without segments -----------------------


def _without_segments(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of a raw scenario with every level's segments removed (the base)."""
    base = copy.deepcopy(raw)
    for item in base.get("levels", []) if isinstance(base.get("levels"), list) else []:
        if isinstance(item, dict):
            item.pop("segments", None)
            # sharing is the whole level's (the engines read the scenario's, not a
            # variant's): the base drops it, so a segment network needs no segments there
            item.pop("sharing", None)
    return base


def _segment_variants(raw: dict[str, Any], levels: list[dict[str, Any]], k: int,
                      source: str | None) -> tuple[list[Segment], list[Problem]]:
    """The segments of level k, each with its variant scenario (the base with the
    segment's overrides), and the problems with the override values. Overrides outside
    the segment's scope are skipped here: the validator reports them."""
    base = scenario_from_dict(_without_segments(raw), source)
    below = {lv.name for lv in base.levels[k:]}
    segments, problems = [], []
    for seg in levels[k]["segments"]:
        sp = f"levels.{levels[k]['name']}.segments.{seg['name']}"
        ok = {p: v for p, v in seg["set"].items() if segment_may_set(p, below)}
        try:
            variant = base.with_values(ok)
        except ScenarioError as e:
            problems += [Problem(f"{sp}.{q.path}", q.message) for q in e.problems]
            continue
        extra = {d.path for d in variant.draws} - {d.path for d in base.draws}
        if extra:
            problems += [Problem(f"{sp}.set.{p}", "a segment sets values, not distributions "
                                 "(draw the parameter for the whole level instead)")
                         for p in sorted(extra)]
            continue
        segments.append(Segment(seg["name"], seg["share"], dict(seg["set"]), variant))
    return segments, problems


def _segment_value_problems(raw: dict[str, Any], norm: dict[str, Any], source: str | None
                            ) -> list[Problem]:
    """Problems with segment override values, found even when the scenario has other
    problems (so every error is reported at once), as long as the rest can be built."""
    levels = norm.get("levels") or []
    k = next((k for k, lv in enumerate(levels) if lv.get("segments")), None)
    if k is None or not isinstance(raw.get("levels"), list):
        return []
    try:
        return _segment_variants(raw, levels, k, source)[1]
    except ScenarioError:
        return []


def _with_segments(sc: Scenario) -> Scenario:
    """Attach each segment's variant scenario (base + the segment's overrides)."""
    k = next((k for k, lv in enumerate(sc.normalized["levels"]) if lv["segments"]), None)
    if k is None:
        return sc
    segments, problems = _segment_variants(sc.raw, sc.normalized["levels"], k, sc.source)
    if problems:
        raise ScenarioError(problems, sc.source)
    levels = list(sc.levels)
    levels[k] = replace(levels[k], segments=tuple(segments))
    return replace(sc, levels=tuple(levels))


def raw_from_normalized(norm: dict[str, Any]) -> dict[str, Any]:
    """A raw scenario dict equivalent to a normalised one (the null defaults dropped), e.g.
    to rebuild a sweep's scenario from its manifest."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if v is not None}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    raw = clean(norm)
    for lv in raw.get("levels", []):
        if not lv.get("segments"):
            lv.pop("segments", None)
        if lv.get("merged_with_parent"):
            for k in MERGED_FORBIDDEN:
                lv.pop(k, None)
    return raw
