"""Scenario files: load, validate, address parameters by dotted path, hash.

A scenario is read from TOML (the user's language: levels, zones, initiatives, effects),
checked completely (every problem is collected and reported at once, by dotted path),
normalised (every default filled in) and frozen into small dataclasses the engine reads.
The normalised form is what gets hashed, listed by `validate --list-paths` and changed by
`--set`/`--vary`, so two files that differ only in comments or spelled-out defaults are the
same scenario.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import Problem, ScenarioError
from . import distributions as D
from . import formulas as F

__all__ = [
    "Scenario",
    "Level",
    "Zone",
    "Window",
    "Initiative",
    "Effects",
    "load_scenario",
    "scenario_from_dict",
    "parse_value",
    "MAX_CLASSROOMS",
    "MAX_DAYS",
    "MIN_CV",
    "MAX_SPREAD",
]

#: a scenario whose tree would hold more runners than this is refused before allocation
MAX_CLASSROOMS = 10_000_000

# Bounds on distribution parameters, so that every accepted distribution gives finite,
# non-negative samples for every uniform in [0, 1), and a finite mean and variance:
#: the largest duration parameter (a mean, median, value, bound or empirical value), in
#: days: about 5.5 million school years, long enough to write "never", while the largest
#: sample at the other bounds (lognormal, sigma 10, u just below 1) stays near 1e45
MAX_DAYS = 1e9
#: gamma's smallest cv: below about 0.0012 (shape 1/cv^2 above ~7e5) scipy's inverse CDF is
#: no longer monotone in u, which breaks common random numbers; below ~1e-154 the shape is
#: inf (and 1/cv^2 divides by zero once cv^2 underflows, e.g. cv = 1e-300).
#: A cv under 0.01 is a fixed duration for any purpose here: write `fixed` instead
MIN_CV = 0.01
#: the largest gamma cv and lognormal sigma. Both are already extreme at 10: the gamma's
#: median is below 1e-28 of its mean, the lognormal's mean exp(50) times its median. With
#: sigma above about 18 the lognormal's variance (exp(2 sigma^2) median^2) overflows
MAX_SPREAD = 10.0

_REQUIRED = object()
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_UNIT_RE = re.compile(r"^[A-Za-z][A-Za-z ]{0,23}$")


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Spec:
    """How one scenario key is checked: its kind, default and allowed range."""

    kind: str  # float | int | bool | str | name | dist | window | table | int_or_unlimited
    default: Any = _REQUIRED
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    doc: str = ""
    sub: dict[str, Spec] | None = None  # for kind "table": the sub-table's keys

    def range_text(self) -> str:
        lo = "" if self.lo is None else ("> " if self.lo_open else ">= ") + f"{self.lo:g}"
        hi = "" if self.hi is None else ("< " if self.hi_open else "<= ") + f"{self.hi:g}"
        if lo and hi:
            return f"{lo} and {hi}"
        return lo or hi


def _prob(default: Any, doc: str = "", hi_open: bool = False) -> Spec:
    return Spec("float", default, 0.0, 1.0, hi_open=hi_open, doc=doc)


SCENARIO_SPEC: dict[str, Spec] = {
    "name": Spec("str", "scenario", doc="short name used in outputs"),
    "description": Spec("str", "", doc="one line for humans"),
    "horizon": Spec("float", _REQUIRED, 0.0, lo_open=True, doc="days simulated"),
    "year_length": Spec("float", 180.0, 0.0, lo_open=True, doc="days per school year"),
    "time_unit": Spec("str", "days", doc="what one unit of the clock is called in outputs "
                      "(plural, e.g. days or seconds); labels only, the model is unchanged"),
}

TANK_SPEC: dict[str, Spec] = {
    "drain": Spec("float", 0.0, 0.0, doc="tank lost per day per baton being worked"),
    "recovery": Spec("float", 0.0, 0.0, doc="tank regained per day while idle"),
    "floor": Spec("float", 0.2, 0.0, 1.0, lo_open=True, doc="work slows at most to work/floor"),
    "check_tank": _prob(0.0, "giver waits until the receiver's tank is at least this"),
}

LEVEL_SPEC: dict[str, Spec] = {
    "name": Spec("name", _REQUIRED, doc="level name, e.g. principal"),
    "count": Spec("int", 1, 1, doc="runners under each runner of the level above"),
    "capacity": Spec("int", 1, 1, doc="batons one runner works on at once"),
    "work": Spec("dist", D.ZERO, doc="days one runner spends on its leg for one baton"),
    "trust": _prob(0.5, "receivers' trust in the level above"),
    "turnover": Spec("float", 0.0, 0.0, doc="departures per runner per school year (Poisson)"),
    "vacancy": Spec("dist", D.ZERO, doc="days a post stays empty after a departure"),
    "new_trust": Spec("float", None, 0.0, 1.0, doc="trust of a new runner (default: trust)"),
    "loss_on_turnover": _prob(1.0, "chance each baton the leaver held is lost"),
    "succession": Spec("float", None, 0.0, 1.0,
                       doc="with succession planning: the loss chance instead (default none)"),
    "tank": Spec("table", None, doc="energy: {drain, recovery, floor, check_tank}", sub=TANK_SPEC),
    "merged_with_parent": Spec("bool", False, doc="run by the same person as the level above"),
    "segments": Spec("segments", None, doc="[{name, share, set = {path = value}}]"),
}

#: keys a merged level may not set: they belong to the person, i.e. to the parent level
MERGED_FORBIDDEN = ("count", "capacity", "trust", "turnover", "vacancy", "new_trust",
                    "loss_on_turnover", "succession", "tank", "segments")

ZONE_SPEC: dict[str, Spec] = {
    "to": Spec("name", _REQUIRED, doc="receiving level"),
    "duration": Spec("dist", D.ZERO, doc="days one exchange attempt takes"),
    "fumble": _prob(0.0, "base probability an attempt fails", hi_open=True),
    "recover": _prob(0.0, "chance a fumble is caught and retried"),
    "rework": Spec("dist", D.ZERO, doc="days before a caught fumble is retried"),
    "max_attempts": Spec("int_or_unlimited", "unlimited", 1, doc="attempts before the baton drops"),
    "rehearsed": Spec("bool", False, doc="practised handoff"),
    "checkpoint": Spec("bool", False, doc="joint checkpoint before the exchange"),
    "retention": _prob(1.0, "fidelity kept on a successful exchange"),
    "slots": Spec("int_or_unlimited", "unlimited", 1, doc="exchanges one giver holds at once"),
    "window": Spec("window", None, doc="{period, open, close}: when exchanges may start"),
}

INITIATIVE_SPEC: dict[str, Spec] = {
    "name": Spec("name", _REQUIRED),
    "launch": Spec("float", 0.0, 0.0, doc="day the district office receives the baton"),
    "deadline": Spec("float", None, 0.0, lo_open=True, doc="day by which it must be implemented"),
    "clarity": _prob(0.5, "how clear the initiative is"),
    "priority": Spec("int", 0, doc="smaller runs first in a busy runner's queue"),
    "min_fidelity": _prob(0.0, "fidelity a classroom needs to count as implementing"),
    "success_threshold": Spec(
        "float", 0.8, 0.0, 1.0, lo_open=True, doc="share of classrooms that must implement"
    ),
}

EFFECTS_SPEC: dict[str, Spec] = {
    "trust": Spec("float", 2.0, 0.0, doc="log-odds of a fumble lost per unit of trust"),
    "clarity": Spec("float", 2.0, 0.0, doc="log-odds of a fumble lost per unit of clarity"),
    "rehearsal": Spec("float", 0.5, 0.0, lo_open=True, doc="odds factor when rehearsed"),
    "checkpoint": Spec("float", 0.6, 0.0, lo_open=True, doc="odds factor with a checkpoint"),
    "checkpoint_time": Spec("float", 2.0, 0.0, doc="days a checkpoint costs"),
    "load": Spec("float", 1.25, 0.0, lo_open=True, doc="odds factor per baton already held"),
    "tank": Spec("float", 1.5, 0.0, doc="log-odds added per unit of tank emptiness"),
}

TEMPLATE_SPEC: dict[str, Spec] = {
    "clarity": _prob(0.5, "clarity of each arriving initiative"),
    "priority": Spec("int", 0, doc="queue priority (smaller first)"),
    "min_fidelity": _prob(0.0),
    "success_threshold": Spec("float", 0.8, 0.0, 1.0, lo_open=True),
    "deadline_after": Spec("float", 180.0, 0.0, lo_open=True, doc="days from arrival to deadline"),
}

STREAM_SPEC: dict[str, Spec] = {
    "rate": Spec("float", 0.0, 0.0, doc="new initiatives per school year (Poisson); 0 = none"),
    "start": Spec("float", 0.0, 0.0, doc="day arrivals begin"),
    "stop": Spec("float", None, 0.0, doc="day arrivals end (default: the horizon)"),
    "template": Spec("table", None, doc="what each arrival is like", sub=TEMPLATE_SPEC),
}

FEEDBACK_SPEC: dict[str, Spec] = {
    "interval": Spec("float", 90.0, 0.0, lo_open=True, doc="days between district reviews"),
    "detect": _prob(0.0, "chance a review finds a dropped baton (0 = no reviews)"),
}

WINDOW_SPEC: dict[str, Spec] = {
    "period": Spec("float", _REQUIRED, 0.0, lo_open=True),
    "open": Spec("float", _REQUIRED, 0.0),
    "close": Spec("float", _REQUIRED, 0.0, lo_open=True),
}

_DAYS = Spec("float", _REQUIRED, 0.0, MAX_DAYS)  # a duration: >= 0 and <= MAX_DAYS
_DAYS_POS = Spec("float", _REQUIRED, 0.0, MAX_DAYS, lo_open=True)  # > 0 and <= MAX_DAYS

DIST_PARAMS: dict[str, dict[str, Spec]] = {
    "fixed": {"value": _DAYS},
    "exponential": {"mean": _DAYS_POS},
    "gamma": {"mean": _DAYS_POS, "cv": Spec("float", _REQUIRED, MIN_CV, MAX_SPREAD)},
    "lognormal": {"median": _DAYS_POS, "sigma": Spec("float", _REQUIRED, 0.0, MAX_SPREAD)},
    "uniform": {"low": _DAYS, "high": _DAYS},
    "triangular": {"low": _DAYS, "mode": _DAYS, "high": _DAYS},
    "empirical": {"values": Spec("list", _REQUIRED)},
}

SECTIONS = ("scenario", "levels", "zones", "initiatives", "effects", "initiative_stream",
            "feedback")


# --------------------------------------------------------------------------- model objects


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

    # -- identity -----------------------------------------------------------------
    @property
    def hash(self) -> str:
        """sha256 of the normalised scenario (comments and spelled-out defaults ignored)."""
        norm = self.normalized
        if norm["scenario"].get("time_unit") == "days":
            # added after 0.1.0 hashes were published: at its default it leaves them unchanged
            norm = {**norm, "scenario": {k: v for k, v in norm["scenario"].items()
                                         if k != "time_unit"}}
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
        return {k: v for k, v in _flatten_normalized(self.normalized).items()
                if v is not None}

    def get(self, path: str) -> Any:
        """Current value at a dotted path: a number, flag or text, or a table such as a
        distribution (None for an unset optional parameter). Raises ScenarioError if the
        path names nothing."""
        _check_path(self, path)
        parts = path.split(".")
        section = parts[0]
        if section in _ENTITY_KEY:
            key = _ENTITY_KEY[section]
            item = next((x for x in self.normalized[section] if x[key] == parts[1]), None)
            if item is None:  # a level's undeclared zone: the instant, perfect default
                return _zone_default_path_value(path)
            rest = parts[2:]
            if section == "levels" and rest[0] == "segments":
                seg = next(x for x in item["segments"] if x["name"] == rest[1])
                if rest[2:] == ["share"]:
                    return seg["share"]
                sub = ".".join(rest[2:])
                return seg["set"].get(sub, self.get(sub))
            node: Any = item
        else:
            node, rest = self.normalized[section], parts[1:]
        for r in rest:
            if not isinstance(node, dict) or r not in node:
                raise ScenarioError([Problem(path, "is not set in this scenario (e.g. a "
                                             "parameter of another distribution family)")],
                                    self.source)
            node = node[r]
        return copy.deepcopy(node)

    def with_values(self, values: dict[str, Any]) -> Scenario:
        """A copy with the given dotted paths set; the result is fully re-validated."""
        problems: list[Problem] = []
        raw = copy.deepcopy(self.raw)
        for path, value in values.items():
            try:
                _check_path(self, path)
            except ScenarioError as e:
                problems.extend(e.problems)
                continue
            _set_raw(raw, path, value)
        try:
            sc = scenario_from_dict(raw, source=self.source)
        except ScenarioError as e:
            problems.extend(e.problems)
        if problems:
            raise ScenarioError(problems, self.source)
        return sc


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, validate and normalise a TOML scenario file.

    `overrides` maps dotted paths to values, as `--set` does. Raises ScenarioError listing
    every problem (file, dotted path, what is wrong).
    """
    p = Path(path)
    src = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem("", "file not found")], src) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem("", f"cannot read file: {e}")], src) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError([Problem("", f"not valid TOML: {e}")], src) from None
    sc = scenario_from_dict(raw, source=src)
    return sc.with_values(overrides) if overrides else sc


def parse_value(text: str) -> Any:
    """Parse a command-line value as TOML (numbers, booleans, arrays, tables), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def scenario_from_dict(raw: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML) and build the Scenario."""
    v = _Validator()
    norm = v.scenario(raw)
    if v.problems:
        raise ScenarioError(v.problems + _segment_value_problems(raw, norm, source), source)
    return _build(norm, copy.deepcopy(raw), source)


def _segment_value_problems(raw: dict[str, Any], norm: dict[str, Any], source: str | None
                            ) -> list[Problem]:
    """Problems with segment override values, found even when the scenario has other
    problems (so every error is reported at once), as long as the rest can be built."""
    levels = norm.get("levels") or []
    k = next((k for k, lv in enumerate(levels) if lv.get("segments")), None)
    if k is None or not isinstance(raw.get("levels"), list):
        return []
    base_raw = copy.deepcopy(raw)
    for item in base_raw["levels"]:
        if isinstance(item, dict):
            item.pop("segments", None)
    try:
        base = scenario_from_dict(base_raw, source)
    except ScenarioError:
        return []
    below = {lv.name for lv in base.levels[k:]}
    problems = []
    for seg in levels[k]["segments"]:
        sp = f"levels.{levels[k]['name']}.segments.{seg['name']}"
        ok = {p: v for p, v in seg["set"].items()
              if p.split(".")[0] in ("levels", "zones") and len(p.split(".")) >= 3
              and p.split(".")[1] in below and p.split(".")[2] not in _SEGMENT_FIXED}
        try:
            base.with_values(ok)
        except ScenarioError as e:
            problems += [Problem(f"{sp}.{q.path}", q.message) for q in e.problems]
    return problems


# --------------------------------------------------------------------------- validation


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def err(self, path: str, msg: str) -> None:
        self.problems.append(Problem(path, msg))

    # -- generic --------------------------------------------------------------------
    def unknown_keys(self, table: dict[str, Any], allowed: Any, path: str) -> None:
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.5)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                valid = ", ".join(sorted(allowed))
                self.err(_join(path, key), f"unknown key '{key}'{hint} (valid keys: {valid})")

    def table(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.err(path, f"must be a table, got {_typename(value)}")
            return None
        return value

    def fields(self, table: dict[str, Any], spec: dict[str, Spec], path: str) -> dict[str, Any]:
        self.unknown_keys(table, spec, path)
        out: dict[str, Any] = {}
        for key, s in spec.items():
            p = _join(path, key)
            if key not in table:
                if s.default is _REQUIRED:
                    self.err(p, f"is required ({s.doc})" if s.doc else "is required")
                    out[key] = None
                elif s.kind == "table":
                    out[key] = self.fields({}, s.sub or {}, p)
                elif s.kind == "segments":
                    out[key] = []
                else:
                    d = s.default
                    out[key] = d.to_dict() if isinstance(d, D.Distribution) else d
                continue
            out[key] = self.value(table[key], s, p)
        return out

    def value(self, x: Any, s: Spec, path: str) -> Any:
        kind = s.kind
        if kind == "dist":
            return self.dist(x, path)
        if kind == "window":
            return self.window(x, path)
        if kind == "table":
            t = self.table(x, path)
            return None if t is None else self.fields(t, s.sub or {}, path)
        if kind == "segments":
            return self.segments(x, path)
        if kind == "bool":
            if not isinstance(x, bool):
                self.err(path, f"must be true or false, got {_show(x)}")
            return x
        if kind in ("str", "name"):
            if not isinstance(x, str):
                self.err(path, f"must be a string, got {_show(x)}")
                return None
            if kind == "name" and not _NAME_RE.match(x):
                self.err(
                    path,
                    f"'{x}' is not a valid name (a letter, then letters, digits, '_' or '-')",
                )
            return x
        if kind == "int_or_unlimited":
            if x == "unlimited":
                return x
            kind = "int"
        if kind == "list":
            return x
        if kind == "int":
            if isinstance(x, bool) or not isinstance(x, int):
                if isinstance(x, float) and math.isfinite(x) and x.is_integer():
                    x = int(x)
                else:
                    extra = ' or "unlimited"' if s.kind == "int_or_unlimited" else ""
                    self.err(path, f"must be a whole number{extra}, got {_show(x)}")
                    return None
        elif kind == "float":
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                self.err(path, f"must be a number, got {_show(x)}")
                return None
            try:
                x = float(x)
            except OverflowError:
                x = math.inf
            if not math.isfinite(x):
                self.err(path, f"must be a finite number, got {x}")
                return None
        if not _in_range(x, s):
            shown = f"{x:g}" if isinstance(x, float) else str(x)
            self.err(path, f"must be {s.range_text()}, got {shown}")
            return None
        return x

    def dist(self, x: Any, path: str) -> dict[str, Any] | None:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            x = {"dist": "fixed", "value": x}  # a bare number is a fixed duration
        t = self.table(x, path)
        if t is None:
            return None
        fam = t.get("dist")
        if fam is None:
            self.err(_join(path, "dist"), f"is required (one of: {', '.join(DIST_PARAMS)})")
            return None
        if not isinstance(fam, str) or fam not in DIST_PARAMS:
            near = difflib.get_close_matches(str(fam), list(DIST_PARAMS), n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            self.err(
                _join(path, "dist"),
                f"unknown distribution '{fam}'{hint} (one of: {', '.join(DIST_PARAMS)})",
            )
            return None
        spec = {"dist": Spec("str", _REQUIRED), **DIST_PARAMS[fam]}
        before = len(self.problems)
        out = self.fields(t, spec, path)
        if len(self.problems) > before:
            return None
        if fam == "uniform" and out["low"] > out["high"]:
            self.err(path, f"uniform needs low <= high, got {out['low']:g} > {out['high']:g}")
            return None
        if fam == "triangular" and not out["low"] <= out["mode"] <= out["high"]:
            self.err(path, "triangular needs low <= mode <= high")
            return None
        if fam == "empirical":
            vals = out["values"]
            ok = (
                isinstance(vals, list)
                and len(vals) > 0
                and all(
                    isinstance(v, (int, float))
                    and not isinstance(v, bool)
                    and 0 <= v <= MAX_DAYS  # refuses nan and inf; exact for a huge int
                    for v in vals
                )
            )
            if not ok:
                self.err(_join(path, "values"), "must be a non-empty list of finite numbers >= 0 "
                         f"and <= {MAX_DAYS:g}")
                return None
            out["values"] = [float(v) for v in vals]
        return out

    def segments(self, x: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(x, list) or not all(isinstance(s, dict) for s in x):
            self.err(path, f"must be an array of tables {{name, share, set}}, got {_typename(x)}")
            return []
        spec = {"name": Spec("name", _REQUIRED), "share": Spec("float", _REQUIRED, 0.0, 1.0,
                                                               lo_open=True),
                "set": Spec("list", {})}
        out, seen, total = [], set(), 0.0
        for i, seg in enumerate(x):
            name = seg.get("name")
            sp = _join(path, name) if isinstance(name, str) and _NAME_RE.match(name) else (
                f"{path}[{i}]")
            f = self.fields(seg, spec, sp)
            if isinstance(name, str) and name in seen:
                self.err(_join(sp, "name"), f"segment '{name}' appears more than once")
            if isinstance(name, str):
                seen.add(name)
            sets = f["set"]
            if not isinstance(sets, dict):
                self.err(_join(sp, "set"), "must be a table of dotted paths and values")
                sets = {}
            f["set"] = _flatten_set(sets)
            if isinstance(f["share"], float):
                total += f["share"]
            out.append(f)
        if total > 1 + 1e-9:
            self.err(path, f"segment shares add up to {total:g}, more than 1")
        return out

    def window(self, x: Any, path: str) -> dict[str, Any] | None:
        if x is None:
            return None
        t = self.table(x, path)
        if t is None:
            return None
        before = len(self.problems)
        out = self.fields(t, WINDOW_SPEC, path)
        if len(self.problems) > before:
            return None
        if not out["open"] < out["close"] <= out["period"]:
            self.err(path, "needs 0 <= open < close <= period")
            return None
        return out

    def named_list(
        self, raw: Any, spec: dict[str, Spec], section: str, key: str
    ) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
            self.err(section, f"must be an array of tables ([[{section}]]), got {_typename(raw)}")
            return []
        out, seen = [], set()
        for i, item in enumerate(raw):
            name = item.get(key)
            label = name if isinstance(name, str) and _NAME_RE.match(name) else f"[{i}]"
            path = f"{section}.{label}" if not label.startswith("[") else f"{section}{label}"
            if isinstance(name, str) and name in seen:
                self.err(_join(path, key), f"'{name}' appears more than once in [[{section}]]")
            if isinstance(name, str):
                seen.add(name)
            out.append(self.fields(item, spec, path))
        return out

    # -- the whole scenario ------------------------------------------------------------
    def scenario(self, raw: Any) -> dict[str, Any]:
        norm: dict[str, Any] = {}
        if not isinstance(raw, dict):
            self.err("", "a scenario must be a table")
            return norm
        self.unknown_keys(raw, SECTIONS, "")
        sc = self.table(raw.get("scenario", {}), "scenario") or {}
        if "scenario" not in raw:
            self.err("scenario", "the [scenario] table is required (it holds at least horizon)")
        norm["scenario"] = self.fields(sc, SCENARIO_SPEC, "scenario")
        horizon = norm["scenario"]["horizon"]
        unit = norm["scenario"].get("time_unit")
        if isinstance(unit, str) and not _UNIT_RE.match(unit):
            self.err("scenario.time_unit",
                     f"'{unit}' is not a unit name (letters and spaces, at most 24, "
                     "e.g. 'days' or 'seconds')")

        levels = self.named_list(raw.get("levels", []), LEVEL_SPEC, "levels", "name")
        if not levels:
            if "levels" in raw and isinstance(raw.get("levels"), list):
                self.err("levels", "at least one level is required")
            elif "levels" not in raw:
                self.err("levels", "at least one [[levels]] table is required")
        norm["levels"] = levels
        first_raw = raw["levels"][0] if levels else {}
        if levels and "count" in first_raw and levels[0]["count"] not in (1, None):
            self.err(
                _join(_entity_path("levels", levels[0]["name"], 0), "count"),
                "the first level has exactly one runner (count must be 1 or left out)",
            )
        level_names = [lv["name"] for lv in levels if isinstance(lv["name"], str)]
        first_name = levels[0]["name"] if levels else None
        raw_levels = raw.get("levels") if isinstance(raw.get("levels"), list) else []
        merged = set()
        seg_levels = []
        for k, lv in enumerate(levels):
            lp = _entity_path("levels", lv["name"], k)
            if lv["segments"]:
                seg_levels.append(lp)
                if k == 0:
                    self.err(_join(lp, "segments"), "the first level has one runner: segments "
                             "belong on a level below it")
            if lv["merged_with_parent"] is not True:
                continue
            merged.add(lv["name"])
            if k == 0:
                self.err(_join(lp, "merged_with_parent"), "the first level has no parent")
                continue
            given = raw_levels[k] if k < len(raw_levels) else {}
            for key in MERGED_FORBIDDEN:
                if key in given and not (key == "count" and given[key] == 1):
                    parent = levels[k - 1]["name"]
                    self.err(_join(lp, key), f"a merged level is run by the same person as "
                             f"'{parent}' (one per {parent}, shared capacity, tank and "
                             f"turnover): set this on levels.{parent}, not here")
            lv["count"] = 1
        for k, lv in enumerate(levels):
            t = lv.get("tank") or {}
            if t.get("check_tank") and t.get("drain") and not t.get("recovery"):
                self.err(_join(_entity_path("levels", lv["name"], k), "tank.check_tank"),
                         "needs tank.recovery > 0: a tank that drains and never refills would "
                         "keep the giver waiting forever")
            for seg in lv.get("segments") or []:
                below = set(level_names[k:])
                for path in seg["set"]:
                    parts = path.split(".")
                    if (len(parts) < 3 or parts[0] not in ("levels", "zones")
                            or parts[1] not in below
                            or (parts[0] == "levels" and parts[2] in _SEGMENT_FIXED)):
                        self.err(f"{_entity_path('levels', lv['name'], k)}.segments."
                                 f"{seg['name']}.{path}", _SEGMENT_SCOPE.format(lv["name"]))
        if len(seg_levels) > 1:
            self.err("levels", "only one level may declare segments (found: "
                     + ", ".join(seg_levels) + ")")

        zones = self.named_list(raw.get("zones", []), ZONE_SPEC, "zones", "to")
        for i, z in enumerate(zones):
            to = z["to"]
            if to is None:
                continue
            zp = _entity_path("zones", to, i)
            if to not in level_names:
                near = difflib.get_close_matches(to, level_names, n=1, cutoff=0.5)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                self.err(_join(zp, "to"), f"no level is named '{to}'{hint}")
            elif to == first_name:
                self.err(
                    _join(zp, "to"),
                    f"'{to}' is the first level: the baton starts there, no exchange leads into it",
                )
            elif to in merged:
                self.err(_join(zp, "to"), f"'{to}' is merged with its parent "
                         "(merged_with_parent = true): one person runs both legs, so there is "
                         "no exchange zone between them")
        norm["zones"] = zones

        inits = self.named_list(raw.get("initiatives", []), INITIATIVE_SPEC, "initiatives", "name")
        stream = self.table(raw.get("initiative_stream", {}), "initiative_stream") or {}
        norm["initiative_stream"] = st = self.fields(stream, STREAM_SPEC, "initiative_stream")
        if st["stop"] is None and isinstance(horizon, float):
            st["stop"] = horizon
        if not inits and not st["rate"] and not (
                "initiatives" in raw and not isinstance(raw["initiatives"], list)):
            self.err("initiatives", "at least one [[initiatives]] table (or an "
                     "[initiative_stream] with rate > 0) is required")
        if (isinstance(st["start"], float) and isinstance(st["stop"], float)
                and st["rate"] and st["stop"] <= st["start"]):
            self.err("initiative_stream.stop", f"must be after start ({st['start']:g}), "
                     f"got {st['stop']:g}")
        for i, ini in enumerate(inits):
            ip = _entity_path("initiatives", ini["name"], i)
            if ini["name"] == "stream":
                self.err(_join(ip, "name"), "'stream' is reserved for the initiative stream")
            if ini["deadline"] is None and isinstance(horizon, float):
                ini["deadline"] = horizon
            dl, la = ini["deadline"], ini["launch"]
            if isinstance(dl, float) and isinstance(la, float) and dl <= la:
                self.err(_join(ip, "deadline"), f"must be after launch ({la:g}), got {dl:g}")
            if isinstance(dl, float) and isinstance(horizon, float) and dl > horizon:
                self.err(
                    _join(ip, "deadline"),
                    f"must be <= scenario.horizon ({horizon:g}) so the outcome is observed, "
                    f"got {dl:g}",
                )
        norm["initiatives"] = inits

        eff = self.table(raw.get("effects", {}), "effects") or {}
        norm["effects"] = self.fields(eff, EFFECTS_SPEC, "effects")
        fb = self.table(raw.get("feedback", {}), "feedback") or {}
        norm["feedback"] = self.fields(fb, FEEDBACK_SPEC, "feedback")

        self.tree_size(levels)
        return norm

    def tree_size(self, levels: list[dict[str, Any]]) -> None:
        n = 1
        for k, lv in enumerate(levels):
            c = lv.get("count")
            if k == 0 or not isinstance(c, int):
                continue
            n *= c
            if n > MAX_CLASSROOMS:
                self.err(
                    _join(_entity_path("levels", lv["name"], k), "count"),
                    f"the district would have more than {MAX_CLASSROOMS:,} runners on level "
                    f"'{lv['name']}' (product of counts); refusing to allocate it",
                )
                return


# --------------------------------------------------------------------------- building


def _limit(v: int | str) -> int | None:
    return None if v == "unlimited" else int(v)


def _dist(d: dict[str, Any]) -> D.Distribution:
    params = {k: v for k, v in d.items() if k != "dist"}
    return D.make(d["dist"], **params)


def _build(norm: dict[str, Any], raw: dict[str, Any], source: str | None) -> Scenario:
    sc = norm["scenario"]
    levels = tuple(
        Level(
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
        )
        for k, lv in enumerate(norm["levels"])
    )
    if norm["levels"]:
        norm["levels"][0]["count"] = 1
    by_to = {z["to"]: z for z in norm["zones"]}
    zones: list[Zone | None] = []
    for lv in levels:
        z = by_to.get(lv.name)
        if z is None:
            zones.append(None)
            continue
        w = z["window"]
        zones.append(
            Zone(
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
        )
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
        zones=tuple(zones),
        initiatives=inits,
        effects=Effects(**norm["effects"]),
        stream=stream,
        feedback=Feedback(**norm["feedback"]),
        normalized=norm,
        raw=raw,
        source=source,
    )
    return _with_segments(sc)


def _with_segments(sc: Scenario) -> Scenario:
    """Attach each segment's variant scenario (base + the segment's overrides)."""
    k = next((k for k, lv in enumerate(sc.normalized["levels"]) if lv["segments"]), None)
    if k is None:
        return sc
    lv_norm = sc.normalized["levels"][k]
    lp = f"levels.{lv_norm['name']}"
    base_raw = copy.deepcopy(sc.raw)
    for item in base_raw.get("levels", []):
        item.pop("segments", None)
    base = scenario_from_dict(base_raw, source=sc.source)
    below = {lv.name for lv in sc.levels[k:]}
    problems: list[Problem] = []
    segs = []
    for seg in lv_norm["segments"]:
        sp = f"{lp}.segments.{seg['name']}"
        ok = {}
        for path, value in seg["set"].items():
            parts = path.split(".")
            if (len(parts) < 3 or parts[0] not in ("levels", "zones") or parts[1] not in below
                    or (parts[0] == "levels" and parts[2] in _SEGMENT_FIXED)):
                problems.append(Problem(f"{sp}.{path}", _SEGMENT_SCOPE.format(lv_norm["name"])))
                continue
            ok[path] = value
        try:
            variant = base.with_values(ok)
        except ScenarioError as e:
            problems.extend(Problem(f"{sp}.{p.path}", p.message) for p in e.problems)
            continue
        segs.append(Segment(seg["name"], seg["share"], dict(seg["set"]), variant))
    if problems:
        raise ScenarioError(problems, sc.source)
    levels = list(sc.levels)
    levels[k] = replace(levels[k], segments=tuple(segs))
    return replace(sc, levels=tuple(levels))


_SEGMENT_FIXED = ("count", "segments", "merged_with_parent", "name")
_SEGMENT_SCOPE = ("a segment may set level and zone parameters of '{}' and the levels below "
                  "it (not count, names, segments or merging)")


def _flatten_set(sets: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'zones': {'coach': {'fumble': 0.1}}} or {'zones.coach.fumble': 0.1} -> dotted paths."""
    out: dict[str, Any] = {}
    for key, v in sets.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(v, dict) and not ("dist" in v or path.count(".") >= 3):
            out.update(_flatten_set(v, path))
        else:
            out[path] = v
    return out


# --------------------------------------------------------------------------- dotted paths

_ENTITY_KEY = {"levels": "name", "zones": "to", "initiatives": "name"}
_SECTION_SPEC: dict[str, dict[str, Spec]] = {
    "scenario": SCENARIO_SPEC,
    "effects": EFFECTS_SPEC,
    "feedback": FEEDBACK_SPEC,
    "initiative_stream": STREAM_SPEC,
    "levels": LEVEL_SPEC,
    "zones": ZONE_SPEC,
    "initiatives": INITIATIVE_SPEC,
}
_ALL_DIST_PARAMS = {"dist"} | {k for p in DIST_PARAMS.values() for k in p}


def _flatten_table(base: str, table: dict[str, Any], out: dict[str, Any]) -> None:
    for k, v in table.items():
        if k == "segments" and isinstance(v, list):
            for seg in v:
                sp = f"{base}.segments.{seg['name']}"
                out[f"{sp}.share"] = seg["share"]
                for path, value in seg["set"].items():
                    out[f"{sp}.{path}"] = value
        elif isinstance(v, dict):
            for sk, sv in v.items():
                out[f"{base}.{k}.{sk}"] = list(sv) if isinstance(sv, list) else sv
        else:
            out[f"{base}.{k}"] = v


def _flatten_normalized(norm: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("scenario", "effects", "feedback", "initiative_stream"):
        _flatten_table(section, norm[section], out)
    for section, key in _ENTITY_KEY.items():
        for item in norm[section]:
            skip = {key}
            if section == "levels" and item.get("merged_with_parent") is True:
                skip |= set(MERGED_FORBIDDEN)  # the person's, i.e. the parent level's
            _flatten_table(f"{section}.{item[key]}",
                           {k: v for k, v in item.items() if k not in skip}, out)
    return out


def _candidate_paths(sc: Scenario) -> list[str]:
    """Valid paths, including those of zones a level could have but does not declare."""
    paths = list(sc.paths())
    declared = {z.to for z in sc.zones if z is not None}
    for lv in sc.levels[1:]:
        if lv.name not in declared and not lv.merged_with_parent:
            paths += [f"zones.{lv.name}.{k}" for k in ZONE_SPEC if k != "to"]
    return paths


def _zone_default_path_value(path: str) -> Any:
    parts = path.split(".")
    v = ZONE_SPEC[parts[2]].default
    if isinstance(v, D.Distribution):
        d = v.to_dict()
        return d if len(parts) == 3 else d.get(parts[3])
    return v


def _path_ok(sc: Scenario, parts: list[str]) -> bool:
    section = parts[0]
    spec = _SECTION_SPEC.get(section)
    if spec is None:
        return False
    if section in _ENTITY_KEY:
        key = _ENTITY_KEY[section]
        if len(parts) < 3:
            return False
        if section == "zones":
            names = [lv.name for lv in sc.levels[1:] if not lv.merged_with_parent]
        else:
            names = [item[key] for item in sc.normalized[section]]
        if parts[1] not in names:
            return False
        rest = parts[2:]
        if section == "levels" and rest[0] == "segments":
            k = sc.level_index(parts[1])
            segs = {seg.name: seg for seg in sc.levels[k].segments}
            if len(rest) < 3 or rest[1] not in segs:
                return False
            return rest[2:] == ["share"] or (len(rest) >= 5 and _path_ok(sc, rest[2:]))
        if rest[0] == key:
            return False
        if section == "levels" and rest[0] in MERGED_FORBIDDEN and any(
                lv.name == parts[1] and lv.merged_with_parent for lv in sc.levels):
            return False
    else:
        rest = parts[1:]
    if not rest or rest[0] not in spec:
        return False
    s = spec[rest[0]]
    if len(rest) == 1:
        return s.kind != "segments"
    if len(rest) != 2:
        return False
    if s.kind == "dist":
        return rest[1] in _ALL_DIST_PARAMS
    if s.kind == "window":
        return rest[1] in WINDOW_SPEC
    if s.kind == "table":
        return rest[1] in (s.sub or {})
    return False


def _check_path(sc: Scenario, path: str) -> None:
    """Raise ScenarioError unless `path` names a settable parameter of `sc`."""
    if not _path_ok(sc, path.split(".")):
        near = difflib.get_close_matches(path, _candidate_paths(sc), n=3, cutoff=0.6)
        hint = f"; nearest valid paths: {', '.join(near)}" if near else ""
        raise ScenarioError(
            [Problem(path, f"names no parameter{hint} (see `relaysim validate --list-paths`)")],
            sc.source,
        )


def _set_raw(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set a (checked) dotted path in the user's raw scenario dict."""
    parts = path.split(".")
    section = parts[0]
    spec = _SECTION_SPEC[section]
    if section in _ENTITY_KEY:
        key = _ENTITY_KEY[section]
        items = raw.setdefault(section, [])
        item = next((x for x in items if isinstance(x, dict) and x.get(key) == parts[1]), None)
        if item is None:  # only zones can be created this way (a level's implicit zone)
            item = {key: parts[1]}
            items.append(item)
        rest = parts[2:]
        if section == "levels" and rest[0] == "segments":
            seg = next(x for x in item["segments"] if x.get("name") == rest[1])
            if rest[2:] == ["share"]:
                seg["share"] = value
            else:
                sets = _flatten_set(seg.get("set") or {})
                sets[".".join(rest[2:])] = value
                seg["set"] = sets
            return
        target = item
    else:
        target = raw.setdefault(section, {})
        rest = parts[1:]
    if len(rest) == 1:
        if value is None:  # unset an optional parameter (back to its default)
            target.pop(rest[0], None)
        else:
            target[rest[0]] = value
        return
    sub = target.get(rest[0])
    if isinstance(sub, (int, float)) and not isinstance(sub, bool):
        sub = {"dist": "fixed", "value": sub}
    if not isinstance(sub, dict):
        dv = spec[rest[0]].default
        sub = dv.to_dict() if isinstance(dv, D.Distribution) else {}
    sub = dict(sub)
    sub[rest[1]] = value
    target[rest[0]] = sub


# --------------------------------------------------------------------------- helpers


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _entity_path(section: str, name: Any, i: int) -> str:
    if isinstance(name, str) and _NAME_RE.match(name):
        return f"{section}.{name}"
    return f"{section}[{i}]"


def _in_range(x: float, s: Spec) -> bool:
    if s.lo is not None and (x <= s.lo if s.lo_open else x < s.lo):
        return False
    if s.hi is not None and (x >= s.hi if s.hi_open else x > s.hi):
        return False
    return True


def _typename(x: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(x), type(x).__name__
    )


def _show(x: Any) -> str:
    if isinstance(x, str):
        return f"the string {x!r}"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (dict, list)):
        return _typename(x)
    return repr(x)
