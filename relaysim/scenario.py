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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import distributions as D
from .errors import Problem, ScenarioError

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
]

#: a scenario whose tree would hold more runners than this is refused before allocation
MAX_CLASSROOMS = 10_000_000

_REQUIRED = object()
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Spec:
    """How one scenario key is checked: its kind, default and allowed range."""

    kind: str  # float | int | bool | str | name | dist | window | int_or_unlimited
    default: Any = _REQUIRED
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    doc: str = ""

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
}

LEVEL_SPEC: dict[str, Spec] = {
    "name": Spec("name", _REQUIRED, doc="level name, e.g. principal"),
    "count": Spec("int", 1, 1, doc="runners under each runner of the level above"),
    "capacity": Spec("int", 1, 1, doc="batons one runner works on at once"),
    "work": Spec("dist", D.ZERO, doc="days one runner spends on its leg for one baton"),
    "trust": _prob(0.5, "receivers' trust in the level above"),
}

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

WINDOW_SPEC: dict[str, Spec] = {
    "period": Spec("float", _REQUIRED, 0.0, lo_open=True),
    "open": Spec("float", _REQUIRED, 0.0),
    "close": Spec("float", _REQUIRED, 0.0, lo_open=True),
}

DIST_PARAMS: dict[str, dict[str, Spec]] = {
    "fixed": {"value": Spec("float", _REQUIRED, 0.0)},
    "exponential": {"mean": Spec("float", _REQUIRED, 0.0, lo_open=True)},
    "gamma": {
        "mean": Spec("float", _REQUIRED, 0.0, lo_open=True),
        "cv": Spec("float", _REQUIRED, 0.0, lo_open=True),
    },
    "lognormal": {
        "median": Spec("float", _REQUIRED, 0.0, lo_open=True),
        "sigma": Spec("float", _REQUIRED, 0.0),
    },
    "uniform": {"low": Spec("float", _REQUIRED, 0.0), "high": Spec("float", _REQUIRED, 0.0)},
    "triangular": {
        "low": Spec("float", _REQUIRED, 0.0),
        "mode": Spec("float", _REQUIRED, 0.0),
        "high": Spec("float", _REQUIRED, 0.0),
    },
    "empirical": {"values": Spec("list", _REQUIRED)},
}

SECTIONS = ("scenario", "levels", "zones", "initiatives", "effects")


# --------------------------------------------------------------------------- model objects


@dataclass(frozen=True)
class Window:
    """Exchanges may start only when `t mod period` lies in [open, close)."""

    period: float
    open: float
    close: float

    def next_open(self, t: float) -> float:
        """Earliest time >= t at which an exchange may start."""
        phase = t % self.period
        if self.open <= phase < self.close:
            return t
        base = t - phase
        if phase < self.open:
            return base + self.open
        return base + self.period + self.open


@dataclass(frozen=True)
class Level:
    """One leg of the relay: `count` runners under each runner of the level above."""

    name: str
    count: int
    capacity: int
    work: D.Distribution
    trust: float


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
    levels: tuple[Level, ...]
    zones: tuple[Zone | None, ...]  # zones[k] is the zone into level k (zones[0] is None)
    initiatives: tuple[Initiative, ...]
    effects: Effects
    normalized: dict[str, Any] = field(repr=False)
    raw: dict[str, Any] = field(repr=False)
    source: str | None = None

    # -- identity -----------------------------------------------------------------
    @property
    def hash(self) -> str:
        """sha256 of the normalised scenario (comments and spelled-out defaults ignored)."""
        text = json.dumps(self.normalized, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

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

    def level_index(self, name: str) -> int:
        for k, lv in enumerate(self.levels):
            if lv.name == name:
                return k
        raise KeyError(name)

    # -- parameters by dotted path ------------------------------------------------
    def paths(self) -> dict[str, Any]:
        """Every settable dotted path with its current value (defaults included)."""
        return _flatten_normalized(self.normalized)

    def get(self, path: str) -> Any:
        """Current value at a dotted path (raises ScenarioError if it names nothing)."""
        _check_path(self, path)
        paths = self.paths()
        if path in paths:
            return paths[path]
        return _zone_default_path_value(path)

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
        raise ScenarioError(v.problems, source)
    return _build(norm, copy.deepcopy(raw), source)


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
            if not math.isfinite(x):
                self.err(path, f"must be a finite number, got {x}")
                return None
            x = float(x)
        if not _in_range(x, s):
            self.err(path, f"must be {s.range_text()}, got {x:g}")
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
        if fam not in DIST_PARAMS:
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
                    and math.isfinite(v)
                    and v >= 0
                    for v in vals
                )
            )
            if not ok:
                self.err(_join(path, "values"), "must be a non-empty list of finite numbers >= 0")
                return None
            out["values"] = [float(v) for v in vals]
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

        levels = self.named_list(raw.get("levels", []), LEVEL_SPEC, "levels", "name")
        if not levels:
            if "levels" in raw and isinstance(raw.get("levels"), list):
                self.err("levels", "at least one level is required")
            elif "levels" not in raw:
                self.err("levels", "at least one [[levels]] table is required")
        norm["levels"] = levels
        first_raw = (raw.get("levels") or [{}])[0]
        if levels and "count" in first_raw and levels[0]["count"] not in (1, None):
            self.err(
                _join(_entity_path("levels", levels[0]["name"], 0), "count"),
                "the first level has exactly one runner (count must be 1 or left out)",
            )
        level_names = [lv["name"] for lv in levels]

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
            elif to == level_names[0]:
                self.err(
                    _join(zp, "to"),
                    f"'{to}' is the first level: the baton starts there, no exchange leads into it",
                )
        norm["zones"] = zones

        inits = self.named_list(raw.get("initiatives", []), INITIATIVE_SPEC, "initiatives", "name")
        if "initiatives" not in raw:
            self.err("initiatives", "at least one [[initiatives]] table is required")
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
    return Scenario(
        name=sc["name"],
        description=sc["description"],
        horizon=sc["horizon"],
        year_length=sc["year_length"],
        levels=levels,
        zones=tuple(zones),
        initiatives=inits,
        effects=Effects(**norm["effects"]),
        normalized=norm,
        raw=raw,
        source=source,
    )


# --------------------------------------------------------------------------- dotted paths

_ENTITY_KEY = {"levels": "name", "zones": "to", "initiatives": "name"}
_SECTION_SPEC = {
    "scenario": SCENARIO_SPEC,
    "effects": EFFECTS_SPEC,
    "levels": LEVEL_SPEC,
    "zones": ZONE_SPEC,
    "initiatives": INITIATIVE_SPEC,
}


def _flatten_normalized(norm: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("scenario", "effects"):
        for k, v in norm[section].items():
            out[f"{section}.{k}"] = v
    for section, key in _ENTITY_KEY.items():
        for item in norm[section]:
            base = f"{section}.{item[key]}"
            for k, v in item.items():
                if k == key:
                    continue
                if isinstance(v, dict):
                    for sk, sv in v.items():
                        out[f"{base}.{k}.{sk}"] = sv
                else:
                    out[f"{base}.{k}"] = v
    return out


def _candidate_paths(sc: Scenario) -> list[str]:
    """Valid paths, including those of zones a level could have but does not declare."""
    paths = list(sc.paths())
    declared = {z.to for z in sc.zones if z is not None}
    for lv in sc.levels[1:]:
        if lv.name not in declared:
            paths += [f"zones.{lv.name}.{k}" for k in ZONE_SPEC if k != "to"]
    return paths


def _zone_default_path_value(path: str) -> Any:
    parts = path.split(".")
    s = ZONE_SPEC[parts[2]]
    v = s.default
    if isinstance(v, D.Distribution):
        d = v.to_dict()
        return d if len(parts) == 3 else d.get(parts[3])
    return v


def _check_path(sc: Scenario, path: str) -> None:
    """Raise ScenarioError unless `path` names a settable parameter of `sc`."""
    parts = path.split(".")
    ok = False
    section = parts[0]
    if section in ("scenario", "effects") and len(parts) == 2:
        ok = parts[1] in _SECTION_SPEC[section]
    elif section in _ENTITY_KEY and len(parts) in (3, 4):
        spec = _SECTION_SPEC[section]
        key = _ENTITY_KEY[section]
        names = [item[key] for item in sc.normalized[section]]
        if section == "zones":
            names = [lv.name for lv in sc.levels[1:]]
        fld = parts[2]
        if parts[1] in names and fld in spec and fld != key:
            kind = spec[fld].kind
            if len(parts) == 3:
                ok = True
            elif kind == "window":
                ok = parts[3] in WINDOW_SPEC
            elif kind == "dist":
                ok = parts[3] == "dist" or any(parts[3] in p for p in DIST_PARAMS.values())
    if not ok:
        near = difflib.get_close_matches(path, _candidate_paths(sc), n=3, cutoff=0.6)
        hint = f"; nearest valid paths: {', '.join(near)}" if near else ""
        raise ScenarioError(
            [Problem(path, f"names no parameter{hint} (see `relaysim validate --list-paths`)")],
            sc.source,
        )


def _set_raw(raw: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    section = parts[0]
    if section in ("scenario", "effects"):
        raw.setdefault(section, {})[parts[1]] = value
        return
    key = _ENTITY_KEY[section]
    items = raw.setdefault(section, [])
    item = next((x for x in items if isinstance(x, dict) and x.get(key) == parts[1]), None)
    if item is None:  # only zones can be created this way (a level with an implicit zone)
        item = {key: parts[1]}
        items.append(item)
    if len(parts) == 3:
        item[parts[2]] = value
        return
    sub = item.get(parts[2])
    if isinstance(sub, (int, float)) and not isinstance(sub, bool):
        sub = {"dist": "fixed", "value": sub}
    if not isinstance(sub, dict):
        default = ZONE_SPEC.get(parts[2], LEVEL_SPEC.get(parts[2]))
        dv = default.default if default is not None else None
        sub = dv.to_dict() if isinstance(dv, D.Distribution) else {}
    sub = dict(sub)
    sub[parts[3]] = value
    item[parts[2]] = sub


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
