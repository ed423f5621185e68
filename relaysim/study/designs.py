"""Designs: which parameter values to run (the 'sample' half of a sweep).

A parameter is a dotted path with a range or a list of values; its type (float, whole
number, true/false, text) comes from the scenario's current value at that path, so whole
numbers stay whole and booleans stay booleans. A design turns parameters into points
(dicts of path -> value): `grid` (every combination), `lhs` and `sobol`
(scipy.stats.qmc, seeded), or points read from a CSV file.
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

from ..errors import UsageError
from ..model.draws import is_draw
from ..model.paths import spec_of
from ..model.scenario import Scenario, ScenarioError, parse_value

__all__ = ["Parameter", "parse_vary", "make_design", "read_design_csv", "DESIGNS",
           "MAX_POINTS"]

DESIGNS = ("grid", "lhs", "sobol")

#: a design holds at most this many points (refused before any is built)
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class Parameter:
    """One varied parameter: a range (lo, hi, n) or an explicit list of values."""

    path: str
    kind: str  # "float" | "int" | "bool" | "choice"
    lo: float | None = None
    hi: float | None = None
    n: int | None = None
    values: tuple[Any, ...] | None = None

    def grid(self) -> list[Any]:
        """Values for a grid design."""
        if self.values is not None:
            return list(self.values)
        assert self.lo is not None and self.hi is not None and self.n is not None
        if self.kind == "int":
            vals = sorted({round(float(v)) for v in np.linspace(self.lo, self.hi, self.n)})
            return vals
        return [float(v) for v in np.linspace(self.lo, self.hi, self.n)]

    def from_unit(self, u: float) -> Any:
        """Map u in [0, 1) to a value (for LHS/Sobol): uniform on the range or the list."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        assert self.lo is not None and self.hi is not None
        if self.kind == "int":
            lo, hi = round(self.lo), round(self.hi)
            return min(lo + int(u * (hi - lo + 1)), hi)
        return float(self.lo + u * (self.hi - self.lo))


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "choice"


def parse_vary(spec: str, scenario: Scenario) -> Parameter:
    """Parse `PATH=LO:HI:N` or `PATH=V1,V2,...` against the scenario (path and type)."""
    path, sep, rhs = spec.partition("=")
    path, rhs = path.strip(), rhs.strip()
    if not sep or not path or not rhs:
        raise UsageError(f"--vary expects PATH=LO:HI:N or PATH=V1,V2,..., got {spec!r}")
    try:
        current = scenario.get(path)
    except ScenarioError as e:
        raise UsageError(f"--vary {spec!r}: " + "; ".join(str(p) for p in e.problems)) from None
    kind = _kind_of(current)
    if is_draw(current):  # a parameter given as a distribution: the sweep sets values
        kind = "int" if spec_of(path).kind == "int" else "float"
    if current is None or (isinstance(current, str) and current == "unlimited"):
        kind = "int"  # optional whole numbers (max_attempts, slots) and optional probabilities
        if path.rsplit(".", 1)[-1] in ("new_trust", "succession", "stop"):
            kind = "float"
    if ":" in rhs and "," not in rhs:
        parts = rhs.split(":")
        if len(parts) != 3:
            raise UsageError(f"--vary {spec!r}: a range is LO:HI:N (three parts)")
        if kind in ("bool", "choice"):
            what = "true/false" if kind == "bool" else "text"
            raise UsageError(f"--vary {spec!r}: {path} is {what}; list the values instead "
                             f"(e.g. {path}=true,false)")
        try:
            lo, hi = float(parts[0]), float(parts[1])
            n = int(parts[2])
        except ValueError:
            raise UsageError(f"--vary {spec!r}: LO and HI must be numbers and N a whole "
                             "number") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise UsageError(f"--vary {spec!r}: need finite LO <= HI")
        if n < 1:
            raise UsageError(f"--vary {spec!r}: N must be >= 1")
        if n > MAX_POINTS:
            raise UsageError(f"--vary {spec!r}: N is more than the limit of {MAX_POINTS:,} "
                             f"points of a design")
        if kind == "int" and (lo != int(lo) or hi != int(hi)):
            raise UsageError(f"--vary {spec!r}: {path} is a whole number; LO and HI must be too")
        return Parameter(path, kind, lo, hi, n)
    raw_vals = [v.strip() for v in rhs.split(",") if v.strip()]
    if not raw_vals:
        raise UsageError(f"--vary {spec!r}: no values given")
    vals = []
    for v in raw_vals:
        x = parse_value(v)
        if kind == "float" and isinstance(x, int) and not isinstance(x, bool):
            x = float(x)
        if kind in ("float", "int") and (isinstance(x, bool) or not isinstance(x, (int, float))):
            raise UsageError(f"--vary {spec!r}: {v!r} is not a number")
        if kind == "int" and isinstance(x, float):
            if not x.is_integer():
                raise UsageError(f"--vary {spec!r}: {path} is a whole number, got {v}")
            x = int(x)
        if kind == "bool" and not isinstance(x, bool):
            raise UsageError(f"--vary {spec!r}: {path} is true or false, got {v!r}")
        vals.append(x)
    return Parameter(path, kind if kind != "choice" else "choice", values=tuple(vals))


def make_design(params: list[Parameter], design: str = "grid", samples: int | None = None,
                seed: int = 0) -> list[dict[str, Any]]:
    """Points of a design: grid (every combination) or lhs/sobol with `samples` points."""
    if not params:
        raise UsageError("a sweep needs at least one --vary")
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise UsageError("each path may be varied only once")
    if design == "grid":
        if samples is not None:
            raise UsageError("--samples is for lhs and sobol designs; a grid runs every "
                             "combination of the --vary values (drop --samples, or give "
                             "--design lhs/sobol)")
        size = math.prod(len(p.values) if p.values is not None else p.n or 1 for p in params)
        if size > MAX_POINTS:
            raise UsageError(f"this grid has {size:,} points, more than the limit of "
                             f"{MAX_POINTS:,}; use fewer values or --design lhs/sobol")
        return [dict(zip(paths, combo, strict=True))
                for combo in itertools.product(*(p.grid() for p in params))]
    if design not in DESIGNS:
        raise UsageError(f"unknown design {design!r} (one of: {', '.join(DESIGNS)}, or a CSV file)")
    if samples is None or samples < 1:
        raise UsageError(f"--design {design} needs --samples N (number of points)")
    if samples > MAX_POINTS:
        raise UsageError(f"--samples {samples} is more than the limit of {MAX_POINTS:,} points")
    d = len(params)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xD351,)))
    if design == "lhs":
        u = qmc.LatinHypercube(d, rng=rng).random(samples)
    else:
        if samples & (samples - 1):
            lower = 1 << (samples.bit_length() - 1)
            raise UsageError(f"a Sobol design needs a power of two points for its balance "
                             f"properties; --samples {samples} is not (try {lower} or "
                             f"{lower * 2})")
        u = qmc.Sobol(d, rng=rng).random(samples)
    return [{p.path: p.from_unit(float(x)) for p, x in zip(params, row, strict=True)}
            for row in u]


def read_design_csv(path: str | Path, scenario: Scenario) -> list[dict[str, Any]]:
    """Points from a CSV file whose header names dotted paths, one point per row."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise UsageError(f"{path}: cannot read design file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: a design file must be UTF-8 text (byte {e.start} is not); "
                         "save it as CSV UTF-8") from None
    except csv.Error as e:
        raise UsageError(f"{path}: not a readable CSV file ({e})") from None
    if len(rows) > MAX_POINTS + 1:
        raise UsageError(f"{path}: more than the limit of {MAX_POINTS:,} points")
    if len(rows) < 2:
        raise UsageError(f"{path}: a design file needs a header of dotted paths and one row "
                         "per point")
    header = [h.strip() for h in rows[0]]
    dup = next((h for j, h in enumerate(header) if h in header[:j]), None)
    if dup is not None:
        raise UsageError(f"{path}: column {dup!r} appears more than once in the header")
    problems = []
    for h in header:
        try:
            scenario.get(h)
        except ScenarioError as e:
            problems += [str(x) for x in e.problems]
    if problems:
        raise UsageError(f"{path}: " + "; ".join(problems))
    points = []
    for ln, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise UsageError(f"{path}:{ln}: expected {len(header)} values, got {len(row)}")
        point = {}
        for h, cell in zip(header, row, strict=True):
            cur = scenario.get(h)
            v = parse_value(cell.strip())
            if isinstance(cur, float) and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            point[h] = v
        points.append(point)
    return points
