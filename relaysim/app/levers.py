"""Which levers a scenario offers the explorer, in the planner's words.

A lever is one dotted path (as `--set` takes it) with a control: a switch for flags, a
slider for numbers. The default levers are grouped by junction (each handoff's rehearsal,
checkpoint and fumble risk), by level (trust, capacity, turnover, succession) and by
initiative (deadline, success threshold; with an initiative stream, how many new
initiatives arrive a year); with peer sharing, how much the district recognizes showcase
schools ("Sharing school wins"). Any other path comes in with `--lever PATH=LO:HI`.

Values are never checked here: every change goes through Scenario.with_values, exactly as
`--set` does, so a bad value gets the same message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..model.draws import is_draw
from ..model.scenario import Scenario, ScenarioError, parse_value
from ..model.schema import ENTITY_KEY, MERGED_FORBIDDEN, SECTION_SPEC, label

__all__ = ["Lever", "default_levers", "parse_lever", "grid_values", "lever_label"]

def lever_label(path: str) -> str:
    """A path's words without its group (the group names the handoff or level), from the
    model's schema, e.g. zones.coach.fumble -> 'fumble risk'."""
    parts = path.split(".")
    spec_table = SECTION_SPEC.get(parts[0])
    field = parts[2] if parts[0] in ENTITY_KEY and len(parts) > 2 else parts[-1]
    if parts[0] == "initiative_stream" and len(parts) == 2:
        field = parts[1]
    spec = spec_table.get(field) if isinstance(spec_table, dict) else None
    if spec is not None and getattr(spec, "label", "") and len(parts) <= 3:
        return spec.label
    return label(path).partition(": ")[2] or label(path)  # the planner's words, any path


@dataclass(frozen=True)
class Lever:
    path: str
    group: str  # e.g. "Handoff to coach", "Principal", "Initiative 'reading'"
    label: str
    kind: str  # "bool", "int" or "float"
    base: Any  # the value in the scenario as written
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.01

    @property
    def slug(self) -> str:
        """A name safe in CSS classes and element ids."""
        return "lever-" + "".join(c if c.isalnum() else "-" for c in self.path)


#: the key a slider moves when a parameter is drawn from a distribution: its centre
_CENTRE_KEY = {"beta": "mean", "truncnormal": "mean", "lognormal": "median",
               "triangular": "mode"}


def _target(sc: Scenario, path: str) -> tuple[str, Any] | None:
    """(the path a slider for `path` moves, its value): the parameter itself, or the
    centre of its distribution when it is drawn (None for a uniform or a choice, which
    have no single centre to move)."""
    v = sc.get(path)
    if not is_draw(v):
        return path, v
    key = _CENTRE_KEY.get(v["dist"])
    return None if key is None else (f"{path}.{key}", v[key])


def _value(sc: Scenario, path: str) -> float:
    """The parameter's value, or its distribution's centre (0 if it has none)."""
    got = _target(sc, path)
    return 0.0 if got is None else float(got[1])


def _num_lever(sc: Scenario, path: str, group: str, lo: float, hi: float,
               kind: str = "float", base: Any = None) -> Lever | None:
    got = _target(sc, path)
    if got is None:
        return None
    if got[0] != path:  # a drawn parameter: the slider moves its distribution's centre
        path, base = got[0], got[1] if base is None or is_draw(base) else base
    v = got[1] if base is None else base
    if is_draw(v):  # e.g. succession unset, loss_on_turnover drawn: nothing single to move
        return None
    if kind == "int":
        return Lever(path, group, lever_label(path), "int", int(v), int(lo), int(hi), 1)
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / 50)) if span > 0 else 0.01
    return Lever(path, group, lever_label(path), "float", float(v), float(lo), float(hi), step)


def default_levers(sc: Scenario) -> list[Lever]:
    """The levers every planning session gets, for this scenario."""
    out: list[Lever | None] = []
    for k, lv in enumerate(sc.levels):
        if k == 0 or lv.merged_with_parent:
            continue
        g = f"Handoff to {lv.name.replace('_', ' ')}"
        z = f"zones.{lv.name}"
        for f in ("rehearsed", "checkpoint"):
            out.append(Lever(f"{z}.{f}", g, lever_label(f"{z}.{f}"), "bool",
                             bool(sc.get(f"{z}.{f}"))))
        fum = _value(sc, f"{z}.fumble")
        out.append(_num_lever(sc, f"{z}.fumble", g, 0.0, max(0.5, min(0.99, 2 * fum))))
    for k, lv in enumerate(sc.levels):
        g = lv.name.replace("_", " ").capitalize()
        p = f"levels.{lv.name}"
        if lv.merged_with_parent:
            continue
        if k > 0:
            out.append(_num_lever(sc, f"{p}.trust", g, 0.0, 1.0))
        cap = int(_value(sc, f"{p}.capacity"))
        out.append(_num_lever(sc, f"{p}.capacity", g, 1, max(4, 2 * cap), kind="int"))
        turn = _value(sc, f"{p}.turnover")
        out.append(_num_lever(sc, f"{p}.turnover", g, 0.0, max(0.5, 2 * turn)))
        # succession: with succession planning, the chance a leaver's baton is lost instead
        # of loss_on_turnover; unset means none, i.e. the same as loss_on_turnover
        succ = sc.get(f"{p}.succession")
        base = succ if succ is not None else sc.get(f"{p}.loss_on_turnover")
        out.append(_num_lever(sc, f"{p}.succession", g, 0.0, 1.0, base=base))
    out += _sharing_levers(sc)
    td = sc.trust_dynamics
    if td.gain > 0 or td.loss > 0:  # trust built by clean handoffs, spent by fumbles
        for key in ("gain", "loss"):
            out.append(_num_lever(sc, f"trust_dynamics.{key}", "Trust over time", 0.0, 1.0))
    if sc.stream.rate > 0:
        rate = _value(sc, "initiative_stream.rate")
        out.append(_num_lever(sc, "initiative_stream.rate", "New initiatives", 0.0,
                              max(4.0, 2 * rate)))
    for ini in sc.initiatives[:3]:
        g = f"Initiative '{ini.name}'"
        p = f"initiatives.{ini.name}"
        dl = sc.get(f"{p}.deadline")
        if dl is not None and not is_draw(dl):
            lo = max(1.0, min(float(dl), sc.year_length) / 4)
            out.append(_num_lever(sc, f"{p}.deadline", g, lo, max(float(dl), sc.horizon)))
        out.append(_num_lever(sc, f"{p}.success_threshold", g, 0.05, 1.0))
    return [lv for lv in out if lv is not None and not _forbidden(sc, lv.path)]


def _sharing_levers(sc: Scenario) -> list[Lever | None]:
    """With peer sharing: how much the district recognizes showcase schools, which scales
    every sharing rate (0 = the leveling norm at its strictest: no sharing at all)."""
    k = sc.sharing_level
    if k is None:
        return []
    path = f"levels.{sc.levels[k].name}.sharing.recognition"
    return [_num_lever(sc, path, "Sharing school wins", 0.0, max(3.0, 2 * _value(sc, path)))]


def _forbidden(sc: Scenario, path: str) -> bool:
    parts = path.split(".")
    if parts[0] != "levels":
        return False
    lv = next(x for x in sc.levels if x.name == parts[1])
    return lv.merged_with_parent and parts[2] in MERGED_FORBIDDEN


def parse_lever(text: str, sc: Scenario) -> Lever:
    """`PATH=LO:HI` (a slider over the range) or `PATH` alone for a flag."""
    path, sep, rng = text.partition("=")
    path = path.strip()
    try:
        base = sc.get(path)
    except ScenarioError as e:
        raise UsageError(f"--lever {text}: {e}") from None
    words = lever_label(path)
    who, colon, _ = label(path).partition(": ")
    group = who if colon else "More levers"
    if isinstance(base, bool):
        return Lever(path, group, words, "bool", base)
    if not sep:
        raise UsageError(f"--lever {text}: give a range, PATH=LO:HI (e.g. "
                         "zones.coach.retention=0.7:1)")
    lo_s, colon, hi_s = rng.partition(":")
    lo, hi = parse_value(lo_s.strip()), parse_value(hi_s.strip())
    if (not colon or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                             for x in (lo, hi)) or not lo < hi):
        raise UsageError(f"--lever {text}: the range must be LO:HI with numbers LO < HI")
    if base is not None and not isinstance(base, (int, float)):
        raise UsageError(f"--lever {text}: {path} is not a number or a flag "
                         f"(it is {base!r}); give a numeric path such as {path}.mean")
    kind = "int" if isinstance(base, int) and isinstance(lo, int) and isinstance(hi, int) \
        else "float"
    start = base if base is not None else lo
    return _num_lever(sc, path, group, lo, hi, kind=kind, base=start)


def grid_values(lever: Lever, k: int) -> list[Any]:
    """K evenly spaced values over the lever's range (both values of a flag)."""
    if lever.kind == "bool":
        return [False, True]
    if k < 2:
        raise UsageError("--grid must be at least 2")
    vals = [lever.lo + (lever.hi - lever.lo) * i / (k - 1) for i in range(k)]
    if lever.kind == "int":
        out: list[Any] = []
        for v in vals:
            r = round(v)
            if r not in out:
                out.append(r)
        return out
    return [round(v, 10) for v in vals]
