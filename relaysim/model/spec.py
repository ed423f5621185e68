"""How one scenario key is checked: `Spec` (kind, default, range, words) and its range test.

The schema (schema.py) and the distribution families (distributions.py) describe their
keys with it; validate.py applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["REQUIRED", "Spec", "prob", "in_range"]

#: the default of a key that must be given
REQUIRED: Any = object()


@dataclass(frozen=True)
class Spec:
    """How one scenario key is checked: its kind, default and allowed range, what it means
    (`doc`) and what a planner calls it (`label`)."""

    kind: str  # float | int | bool | str | name | dist | window | table | int_or_unlimited
    default: Any = REQUIRED
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    doc: str = ""
    sub: dict[str, Spec] | None = None  # for kind "table": the sub-table's keys
    label: str = ""  # the planner's words, e.g. "fumble risk"

    def range_text(self) -> str:
        lo = "" if self.lo is None else ("> " if self.lo_open else ">= ") + f"{self.lo:g}"
        hi = "" if self.hi is None else ("< " if self.hi_open else "<= ") + f"{self.hi:g}"
        if lo and hi:
            return f"{lo} and {hi}"
        return lo or hi


def prob(default: Any, doc: str = "", hi_open: bool = False, label: str = "") -> Spec:
    """A probability or share in [0, 1] (or [0, 1) with hi_open)."""
    return Spec("float", default, 0.0, 1.0, hi_open=hi_open, doc=doc, label=label)


def in_range(x: float, s: Spec) -> bool:
    """x lies within s's bounds."""
    if s.lo is not None and (x <= s.lo if s.lo_open else x < s.lo):
        return False
    if s.hi is not None and (x >= s.hi if s.hi_open else x > s.hi):
        return False
    return True
