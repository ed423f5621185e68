"""Checking a raw scenario (the parsed TOML) completely: every problem is collected and
reported at once, by dotted path, with "did you mean" for near misses. The result is the
normalised scenario (every default filled in) that scenario.py builds and hashes."""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from ..errors import Problem
from . import distributions as D
from .draws import DRAW_FAMILIES, PER, Choice, is_draw, make_draw, runner_parameter
from .paths import flatten_set
from .schema import (
    EFFECTS_SPEC,
    FEEDBACK_SPEC,
    INITIATIVE_SPEC,
    LEVEL_SPEC,
    MAX_CLASSROOMS,
    MERGED_FORBIDDEN,
    NAME_RE,
    NETWORKS,
    SCENARIO_SPEC,
    SECTIONS,
    SEGMENT_SCOPE,
    STREAM_SPEC,
    TARGETS,
    TRUST_DYNAMICS_SPEC,
    UNIT_RE,
    WINDOW_SPEC,
    ZONE_SPEC,
    segment_may_set,
)
from .spec import REQUIRED, Spec, in_range

__all__ = ["Validator"]

#: C0 and C1 control characters (NUL, line breaks, ESC of terminal codes, DEL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")



class Validator:
    """Collects every problem of a raw scenario while normalising it."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        #: parameters given as distributions: dotted path -> the checked table
        self.draws: dict[str, dict[str, Any]] = {}

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
                if s.default is REQUIRED:
                    self.err(p, f"is required ({s.doc})" if s.doc else "is required")
                    out[key] = None
                elif s.kind == "table":
                    out[key] = self.fields({}, s.sub or {}, p)
                elif s.kind == "opt_table":  # absent: left out of the normalised form
                    pass
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
        if kind in ("float", "int") and is_draw(x):
            return self.draw(x, s, path)
        if kind == "dist":
            return self.dist(x, path)
        if kind == "window":
            return self.window(x, path)
        if kind in ("table", "opt_table"):
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
            if kind == "name" and not NAME_RE.fullmatch(x):
                self.err(path, f"{x!r} is not a valid name (a letter, then letters, digits, "
                         "'_' or '-')")
            elif _CONTROL.search(x):
                self.err(path, f"{x!r} holds a control character (a NUL, a line break, a "
                         "terminal escape code, ...); use plain text")
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
        if not in_range(x, s):
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
            self.err(_join(path, "dist"), f"is required (one of: {', '.join(D.FAMILIES)})")
            return None
        if not isinstance(fam, str) or fam not in D.FAMILIES:
            near = difflib.get_close_matches(str(fam), list(D.FAMILIES), n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            self.err(
                _join(path, "dist"),
                f"unknown distribution '{fam}'{hint} (one of: {', '.join(D.FAMILIES)})",
            )
            return None
        cls = D.FAMILIES[fam]
        spec = {"dist": Spec("str", REQUIRED), **cls.bounds}
        before = len(self.problems)
        out = self.fields(t, spec, path)
        if len(self.problems) > before:
            return None
        bad = cls.problems(out)
        for key, msg in bad:
            self.err(_join(path, key) if key else path, msg)
        if bad:
            return None
        if fam == "empirical":
            out["values"] = [float(v) for v in out["values"]]
        return out

    def draw(self, x: dict[str, Any], s: Spec, path: str) -> Any:
        """A parameter given as a distribution (draws.py): checks the table, and that every
        value it can draw lies in the parameter's range. Returns its centre (what the rest
        of the scenario is checked with); the table goes to `self.draws`."""
        fam = x.get("dist")
        if not isinstance(fam, str) or fam not in DRAW_FAMILIES:
            near = difflib.get_close_matches(str(fam), list(DRAW_FAMILIES), n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            self.err(_join(path, "dist"), f"unknown distribution '{fam}'{hint} (a parameter "
                     f"may be drawn from: {', '.join(DRAW_FAMILIES)})")
            return None
        parts = path.split(".")
        if parts[0] == "scenario" or "segments" in parts or parts[-1] == "count":
            self.err(path, "cannot be drawn from a distribution (it fixes the clock or the "
                     "district's shape); give a value")
            return None
        cls = DRAW_FAMILIES[fam]
        spec = {"dist": Spec("str", REQUIRED), "per": Spec("str", "replication"),
                **cls.bounds}
        before = len(self.problems)
        out = self.fields(x, spec, path)
        if out.get("per") not in PER:
            self.err(_join(path, "per"), f"must be one of {', '.join(PER)}, got "
                     f"{_show(out.get('per'))}")
        elif out["per"] == "runner" and not runner_parameter(path):
            self.err(_join(path, "per"), "per = \"runner\" needs a parameter of each runner "
                     "(a level's capacity, trust, turnover, work, vacancy, tank, or the "
                     "fumble risk, recovery, retention, duration or rework of the handoff "
                     "into it); this one is the same for the whole district: use "
                     "per = \"replication\"")
        if len(self.problems) > before:
            return None
        bad = cls.problems(out)
        for key, msg in bad:
            self.err(_join(path, key), msg)
        if bad:
            return None
        d = make_draw(out)
        if s.kind == "int" and not (isinstance(d, Choice) and all(
                float(v).is_integer() for v in d.values)):
            self.err(path, "a whole-number parameter can only be drawn from a `choice` of "
                     "whole numbers")
            return None
        lo, hi, lo_in, hi_in = d.support()
        if not (_reaches_within(lo, lo_in, s) and _reaches_within(hi, hi_in, s)):
            ends = f"[{lo:g}, {hi:g}]" if lo_in and hi_in else f"({lo:g}, {hi:g})"
            self.err(path, f"this {fam} can draw values in {ends}, outside the parameter's "
                     f"range ({s.range_text()})")
            return None
        self.draws[path] = out
        c = d.centre()
        return int(c) if s.kind == "int" else float(c)

    def segments(self, x: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(x, list) or not all(isinstance(s, dict) for s in x):
            self.err(path, f"must be an array of tables {{name, share, set}}, got {_typename(x)}")
            return []
        spec = {"name": Spec("name", REQUIRED), "share": Spec("float", REQUIRED, 0.0, 1.0,
                                                               lo_open=True),
                "set": Spec("list", {})}
        out, seen, total = [], set(), 0.0
        for i, seg in enumerate(x):
            name = seg.get("name")
            sp = _join(path, name) if isinstance(name, str) and NAME_RE.fullmatch(name) else (
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
            f["set"] = flatten_set(sets)
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
            label = name if isinstance(name, str) and NAME_RE.fullmatch(name) else f"[{i}]"
            path = f"{section}.{label}" if not label.startswith("[") else f"{section}{label}"
            if isinstance(name, str) and name in seen:
                self.err(_join(path, key), f"'{name}' appears more than once in [[{section}]]")
            if isinstance(name, str):
                seen.add(name)
            out.append(self.fields(item, spec, path))
        return out

    # -- the whole scenario ------------------------------------------------------------
    def scenario(self, raw: Any) -> dict[str, Any]:
        """The normalised scenario (defaults filled in); problems are collected."""
        norm: dict[str, Any] = {}
        if not isinstance(raw, dict):
            self.err("", "a scenario must be a table")
            return norm
        self.unknown_keys(raw, SECTIONS, "")
        norm["scenario"] = self.header(raw)
        horizon = norm["scenario"]["horizon"]
        norm["levels"] = levels = self.levels(raw)
        norm["zones"] = self.zones(raw, levels)
        norm["initiative_stream"] = self.stream(raw, horizon)
        norm["initiatives"] = self.initiatives(raw, horizon, norm["initiative_stream"])
        eff = self.table(raw.get("effects", {}), "effects") or {}
        norm["effects"] = self.fields(eff, EFFECTS_SPEC, "effects")
        fb = self.table(raw.get("feedback", {}), "feedback") or {}
        norm["feedback"] = self.fields(fb, FEEDBACK_SPEC, "feedback")
        norm["trust_dynamics"] = self.trust_dynamics(raw)
        self.tree_size(levels)
        return norm

    def trust_dynamics(self, raw: dict[str, Any]) -> dict[str, Any]:
        """[trust_dynamics] (optional): gain, loss and the bounds low <= high."""
        td = self.table(raw.get("trust_dynamics", {}), "trust_dynamics") or {}
        out = self.fields(td, TRUST_DYNAMICS_SPEC, "trust_dynamics")
        low, high = out["low"], out["high"]
        if not (isinstance(low, float) and isinstance(high, float)):
            return out
        # a drawn bound (draws.py) must stay on its side in every replication
        top = self._support("trust_dynamics.low", low)[1]
        bottom = self._support("trust_dynamics.high", high)[0]
        if top > bottom:
            drawn = "trust_dynamics.low" in self.draws or "trust_dynamics.high" in self.draws
            self.err("trust_dynamics.low", f"must be <= trust_dynamics.high ({bottom:g}), "
                     f"got {top:g}" + (" (the ends the distributions can draw)"
                                       if drawn else ""))
        return out

    def _support(self, path: str, value: float) -> tuple[float, float]:
        """The values a parameter can take: its value, or the support of its draw."""
        if path not in self.draws:
            return value, value
        lo, hi, _, _ = make_draw(self.draws[path]).support()
        return lo, hi

    def header(self, raw: dict[str, Any]) -> dict[str, Any]:
        sc = self.table(raw.get("scenario", {}), "scenario") or {}
        if "scenario" not in raw:
            self.err("scenario", "the [scenario] table is required (it holds at least horizon)")
        out = self.fields(sc, SCENARIO_SPEC, "scenario")
        unit = out.get("time_unit")
        if isinstance(unit, str) and not UNIT_RE.fullmatch(unit):
            self.err("scenario.time_unit",
                     f"{unit!r} is not a unit name (letters and spaces, at most 24, "
                     "e.g. 'days' or 'seconds')")
        return out

    def levels(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        levels = self.named_list(raw.get("levels", []), LEVEL_SPEC, "levels", "name")
        if not levels:
            if "levels" in raw and isinstance(raw.get("levels"), list):
                self.err("levels", "at least one level is required")
            elif "levels" not in raw:
                self.err("levels", "at least one [[levels]] table is required")
            return levels
        if "count" in raw["levels"][0] and levels[0]["count"] not in (1, None):
            self.err(
                _join(_entity_path("levels", levels[0]["name"], 0), "count"),
                "the first level has exactly one runner (count must be 1 or left out)",
            )
        raw_levels = raw["levels"]
        for k, lv in enumerate(levels):
            if lv["merged_with_parent"] is True:
                self.merged_level(k, lv, levels, raw_levels[k] if k < len(raw_levels) else {})
        self.level_extras(levels)
        return levels

    def merged_level(self, k: int, lv: dict[str, Any], levels: list[dict[str, Any]],
                     given: dict[str, Any]) -> None:
        lp = _entity_path("levels", lv["name"], k)
        if k == 0:
            self.err(_join(lp, "merged_with_parent"), "the first level has no parent")
            return
        for key in MERGED_FORBIDDEN:
            if key in given and not (key == "count" and given[key] == 1):
                parent = levels[k - 1]["name"]
                self.err(_join(lp, key), f"a merged level is run by the same person as "
                         f"'{parent}' (one per {parent}, shared capacity, tank and "
                         f"turnover): set this on levels.{parent}, not here")
        lv["count"] = 1

    def level_extras(self, levels: list[dict[str, Any]]) -> None:
        """Tank consistency and segments, which need the whole list of levels."""
        level_names = [lv["name"] for lv in levels if isinstance(lv["name"], str)]
        seg_levels = []
        for k, lv in enumerate(levels):
            lp = _entity_path("levels", lv["name"], k)
            t = lv.get("tank") or {}
            if t.get("check_tank") and t.get("drain") and not t.get("recovery"):
                self.err(_join(lp, "tank.check_tank"),
                         "needs tank.recovery > 0: a tank that drains and never refills would "
                         "keep the giver waiting forever")
            if not lv["segments"]:
                continue
            seg_levels.append(lp)
            if k == 0:
                self.err(_join(lp, "segments"), "the first level has one runner: segments "
                         "belong on a level below it")
            below = set(level_names[k:])
            for seg in lv["segments"]:
                for path in seg["set"]:
                    if not segment_may_set(path, below):
                        self.err(f"{lp}.segments.{seg['name']}.{path}",
                                 SEGMENT_SCOPE.format(lv["name"]))
        if len(seg_levels) > 1:
            self.err("levels", "only one level may declare segments (found: "
                     + ", ".join(seg_levels) + ")")
        self.sharing(levels)

    def sharing(self, levels: list[dict[str, Any]]) -> None:
        """Peer sharing (docs/model.md 4.10): on one level other than the first, with a
        known network and target; a segment network needs segments at or above it."""
        found = []
        seg_k = next((k for k, lv in enumerate(levels) if lv["segments"]), None)
        for k, lv in enumerate(levels):
            sh = lv.get("sharing")
            if not isinstance(sh, dict):
                continue
            lp = _entity_path("levels", lv["name"], k)
            found.append(lp)
            if k == 0:
                self.err(_join(lp, "sharing"), "the first level has one runner: it has no "
                         "peers to share with; put sharing on a level below it")
            for key, allowed in (("network", NETWORKS), ("target", TARGETS)):
                v = sh.get(key)
                if isinstance(v, str) and v not in allowed:
                    near = difflib.get_close_matches(v, list(allowed), n=1, cutoff=0.5)
                    hint = f"; did you mean '{near[0]}'?" if near else ""
                    self.err(_join(lp, f"sharing.{key}"), f"unknown {key} '{v}'{hint} "
                             f"(one of: {', '.join(allowed)})")
            if sh.get("network") == "segment" and (seg_k is None or seg_k > k):
                self.err(_join(lp, "sharing.network"), "'segment' needs segments on this "
                         "level or a level above it")
        if len(found) > 1:
            self.err("levels", "only one level may share between peers (found: "
                     + ", ".join(found) + ")")

    def zones(self, raw: dict[str, Any], levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
        level_names = [lv["name"] for lv in levels if isinstance(lv["name"], str)]
        first_name = levels[0]["name"] if levels else None
        merged = {lv["name"] for lv in levels if lv["merged_with_parent"] is True}
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
        return zones

    def stream(self, raw: dict[str, Any], horizon: Any) -> dict[str, Any]:
        stream = self.table(raw.get("initiative_stream", {}), "initiative_stream") or {}
        st = self.fields(stream, STREAM_SPEC, "initiative_stream")
        if st["stop"] is None and isinstance(horizon, float):
            st["stop"] = horizon
        if (isinstance(st["start"], float) and isinstance(st["stop"], float)
                and st["rate"] and st["stop"] <= st["start"]):
            self.err("initiative_stream.stop", f"must be after start ({st['start']:g}), "
                     f"got {st['stop']:g}")
        return st

    def initiatives(self, raw: dict[str, Any], horizon: Any, st: dict[str, Any]
                    ) -> list[dict[str, Any]]:
        inits = self.named_list(raw.get("initiatives", []), INITIATIVE_SPEC, "initiatives", "name")
        if not inits and not st["rate"] and not (
                "initiatives" in raw and not isinstance(raw["initiatives"], list)):
            self.err("initiatives", "at least one [[initiatives]] table (or an "
                     "[initiative_stream] with rate > 0) is required")
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
        return inits

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


# -- helpers


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _entity_path(section: str, name: Any, i: int) -> str:
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        return f"{section}.{name}"
    return f"{section}[{i}]"


def _reaches_within(x: float, reached: bool, s: Spec) -> bool:
    """An end x of a draw's support (reached: the end itself can be drawn; else only
    values up to it) stays within s's bounds."""
    if math.isinf(x):
        return (s.lo is None) if x < 0 else (s.hi is None)
    if in_range(x, s):
        return True
    # an open end may sit on a closed bound: beta's (0, 1) within [0, 1]
    return not reached and ((s.lo is not None and x == s.lo) or (s.hi is not None and x == s.hi))


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

