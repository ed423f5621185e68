"""The results table of a sweep: one row per design point, computed from the store alone
(in replication order, so it is the same whatever the workers, scheduler or interruptions)
and written as results.csv."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any

from .store import Store
from .summary import summarize_point

__all__ = ["results_from_store", "rows_to_csv", "STATS"]

#: the estimates written per initiative, in column order (summary.py's names)
STATS = ("completion_rate", "ci_low", "ci_high", "coverage_mean", "completion_time_median")


def results_from_store(st: Store, design: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per design point from the store's chunks (replication order)."""
    rows = []
    for j, pt in enumerate(design):
        counted = [0]

        def chunks(j: int = j, counted: list[int] = counted) -> Iterator[dict[str, Any]]:
            for start, stop, d in st.chunks_of(j):
                counted[0] += stop - start
                yield d

        summary = summarize_point(chunks())
        rows.append({"point": j, "values": pt, "reps": counted[0], "initiatives": summary})
    return rows


def rows_to_csv(rows: list[dict[str, Any]], params: list[str]) -> str:
    """results.csv text: parameters, then per initiative its estimates, then reps."""
    names: list[str] = []
    for r in rows:
        for name in r["initiatives"]:
            if name not in names and name != "stream":
                names.append(name)
    if any("stream" in r["initiatives"] for r in rows):
        names.append("stream")
    header = [*params, *(f"{n}.{s}" for n in names for s in STATS), "reps"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        line = [_cell(r["values"][p]) for p in params]
        for n in names:
            s = r["initiatives"].get(n)
            line += [_fmt(s[k]) if s else "" for k in STATS]
        line.append(str(r["reps"]))
        w.writerow(line)
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _fmt(v)
    return str(v)


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.10g}"
