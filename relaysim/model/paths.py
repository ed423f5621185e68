"""Parameters by dotted path (`levels.principal.trust`, `zones.coach.work.mean`): which
paths a scenario has, their values, and setting them in a raw scenario dict (`--set`,
`--vary`, segments). Scenario.get, .paths and .with_values are built on these."""

from __future__ import annotations

import copy
import difflib
from typing import Any, Protocol

from ..errors import Problem, ScenarioError
from . import distributions as D
from .draws import DRAW_KEYS, is_draw
from .schema import ENTITY_KEY, MERGED_FORBIDDEN, SECTION_SPEC, WINDOW_SPEC, ZONE_SPEC
from .spec import Spec


class Scenario(Protocol):
    """What dotted paths need of a scenario (relaysim.model.scenario.Scenario has it; this
    module sits below that one, so it names the shape rather than the class)."""

    normalized: dict[str, Any]
    source: str | None
    levels: Any
    zones: Any

    def paths(self) -> dict[str, Any]: ...

    def level_index(self, name: str) -> int: ...

__all__ = ["flatten_normalized", "candidate_paths", "check_path", "get_value", "set_raw",
           "flatten_set", "zone_default_value", "put_normalized", "spec_of"]

_ALL_DIST_PARAMS = {"dist"} | {k for f in D.FAMILIES.values() for k in f.bounds}


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
                if is_draw(sv):  # a distribution's parameter, itself drawn
                    for dk, dv in sv.items():
                        out[f"{base}.{k}.{sk}.{dk}"] = list(dv) if isinstance(dv, list) else dv
                else:
                    out[f"{base}.{k}.{sk}"] = list(sv) if isinstance(sv, list) else sv
        else:
            out[f"{base}.{k}"] = v


def flatten_normalized(norm: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("scenario", "effects", "feedback", "initiative_stream", "trust_dynamics"):
        if section in norm:  # trust_dynamics: not in manifests written before it existed
            _flatten_table(section, norm[section], out)
    for section, key in ENTITY_KEY.items():
        for item in norm[section]:
            skip = {key}
            if section == "levels" and item.get("merged_with_parent") is True:
                skip |= set(MERGED_FORBIDDEN)  # the person's, i.e. the parent level's
            _flatten_table(f"{section}.{item[key]}",
                           {k: v for k, v in item.items() if k not in skip}, out)
    return out


def candidate_paths(sc: Scenario) -> list[str]:
    """Valid paths, including those of zones a level could have but does not declare."""
    paths = list(sc.paths())
    declared = {z.to for z in sc.zones if z is not None}
    for lv in sc.levels[1:]:
        if lv.name not in declared and not lv.merged_with_parent:
            paths += [f"zones.{lv.name}.{k}" for k in ZONE_SPEC if k != "to"]
    return paths


def zone_default_value(path: str) -> Any:
    parts = path.split(".")
    v = ZONE_SPEC[parts[2]].default
    if isinstance(v, D.Distribution):
        d = v.to_dict()
        return d if len(parts) == 3 else d.get(parts[3])
    return v


def _path_ok(sc: Scenario, parts: list[str]) -> bool:
    section = parts[0]
    spec = SECTION_SPEC.get(section)
    if spec is None:
        return False
    if section in ENTITY_KEY:
        key = ENTITY_KEY[section]
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
    if len(rest) == 3:  # a drawn parameter of a distribution or sub-table: work.mean.sd
        return s.kind in ("dist", "table", "opt_table") and _path_ok(sc, parts[:-1]) and (
            rest[2] in DRAW_KEYS)
    if len(rest) != 2:
        return False
    if s.kind in ("float", "int"):  # a parameter given as a distribution: trust.sd
        return rest[1] in DRAW_KEYS
    if s.kind == "dist":
        return rest[1] in _ALL_DIST_PARAMS
    if s.kind == "window":
        return rest[1] in WINDOW_SPEC
    if s.kind in ("table", "opt_table"):
        return rest[1] in (s.sub or {})
    return False


def check_path(sc: Scenario, path: str) -> None:
    """Raise ScenarioError unless `path` names a settable parameter of `sc`."""
    if not _path_ok(sc, path.split(".")):
        near = difflib.get_close_matches(path, candidate_paths(sc), n=3, cutoff=0.6)
        hint = f"; nearest valid paths: {', '.join(near)}" if near else ""
        raise ScenarioError(
            [Problem(path, f"names no parameter{hint} (see `relaysim validate --list-paths`)")],
            sc.source,
        )


def set_raw(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set a (checked) dotted path in the user's raw scenario dict."""
    parts = path.split(".")
    section = parts[0]
    spec = SECTION_SPEC[section]
    if section in ENTITY_KEY:
        key = ENTITY_KEY[section]
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
                sets = flatten_set(seg.get("set") or {})
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
    kind = spec[rest[0]].kind
    if kind in ("float", "int") or len(rest) == 3:  # a key of a parameter's distribution
        if len(rest) == 3:
            target = target.setdefault(rest[0], {})
            rest = rest[1:]
        sub = target.get(rest[0])
        sub = dict(sub) if isinstance(sub, dict) else {}
        sub[rest[1]] = value
        target[rest[0]] = sub
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


def get_value(sc: Scenario, path: str) -> Any:
    """Current value at a dotted path: a number, flag or text, or a table such as a
    distribution (None for an unset optional parameter). Raises ScenarioError if the
    path names nothing."""
    check_path(sc, path)
    parts = path.split(".")
    section = parts[0]
    if section in ENTITY_KEY:
        key = ENTITY_KEY[section]
        item = next((x for x in sc.normalized[section] if x[key] == parts[1]), None)
        if item is None:  # a level's undeclared zone: the instant, perfect default
            return zone_default_value(path)
        rest = parts[2:]
        if section == "levels" and rest[0] == "segments":
            seg = next(x for x in item["segments"] if x["name"] == rest[1])
            if rest[2:] == ["share"]:
                return seg["share"]
            sub = ".".join(rest[2:])
            return seg["set"].get(sub, get_value(sc, sub))
        node: Any = item
    else:
        node, rest = sc.normalized[section], parts[1:]
    for r in rest:
        if not isinstance(node, dict) or r not in node:
            raise ScenarioError([Problem(path, "is not set in this scenario (e.g. a "
                                         "parameter of another distribution family)")],
                                sc.source)
        node = node[r]
    return copy.deepcopy(node)


def _locate(norm: dict[str, Any], path: str) -> tuple[dict[str, Any], list[str]]:
    """The table of a normalised scenario that `path` starts in, and the rest of it."""
    parts = path.split(".")
    section = parts[0]
    if section in ENTITY_KEY:
        key = ENTITY_KEY[section]
        return next(x for x in norm[section] if x[key] == parts[1]), parts[2:]
    return norm[section], parts[1:]


def put_normalized(norm: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` (as the validator names it) in a normalised scenario dict."""
    node, rest = _locate(norm, path)
    for r in rest[:-1]:
        node = node[r]
    node[rest[-1]] = value


def spec_of(path: str) -> Spec:
    """How the parameter at `path` is checked (a distribution's parameters: as floats)."""
    parts = path.split(".")
    section = parts[0]
    rest = parts[2:] if section in ENTITY_KEY else parts[1:]
    s = SECTION_SPEC[section][rest[0]]
    if len(rest) == 1:
        return s
    if s.kind in ("table", "opt_table"):
        return (s.sub or {})[rest[1]]
    if s.kind == "window":
        return WINDOW_SPEC[rest[1]]
    return Spec("float")


def flatten_set(sets: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'zones': {'coach': {'fumble': 0.1}}} or {'zones.coach.fumble': 0.1} -> dotted paths."""
    out: dict[str, Any] = {}
    for key, v in sets.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(v, dict) and not ("dist" in v or path.count(".") >= 3):
            out.update(flatten_set(v, path))
        else:
            out[path] = v
    return out
