"""A run's replication records as numpy columns (issue 11 item 5, issue 16 item 5).

`run` folds each chunk's records into columns as it arrives and lets the records go, so
a run holds about a tenth of the memory the `Replication` objects took. The records can
be rebuilt from the columns exactly (`RunColumns.replications`), for code that wants them.

Initiative outcomes are one row each, in replication order and, within a replication, in
the order of its record (named initiatives, then the stream's arrivals); `rep` says
which replication a row belongs to and `name` indexes `names`. Level outcomes are one row
per replication and one column per level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engines.records import (
    PEER_FIELDS,
    InitiativeOutcome,
    LevelOutcome,
    PeerCounts,
    Replication,
    ZoneCounts,
)

__all__ = ["RunColumns", "ColumnBuilder", "ChunkColumns", "chunk_columns", "INIT_FLOAT",
           "INIT_INT", "LEVEL_FLOAT", "LEVEL_INT", "bytes_per_rep"]

#: per initiative outcome (completion_time is NaN where the record says None)
INIT_FLOAT = ("launch", "deadline", "completion_time", "follow_up", "coverage", "fidelity")
INIT_INT = ("rep", "name", "completed", "observed", "n_classrooms", "implemented",
            "implemented_total", "below_fidelity", "dropped", "lost", "in_flight")
#: per replication and level
LEVEL_FLOAT = ("wait_total", "busy_time", "capacity_time", "trust")  # trust: NaN for None
LEVEL_INT = ("waits", "departures")
ZONE_FIELDS = ("attempts", "fumbles", "recoveries", "drops", "rescues")
#: integer columns are int32 (counts, classrooms up to the 10-million limit) but for these
_INT_DTYPE = {"rep": np.int64, "completed": np.int8, "observed": np.int8}


def bytes_per_rep(sc: Any) -> float:
    """Bytes the columns of one replication of scenario `sc` take (expected: the stream's
    arrivals are a mean), from the column types below: what a run keeps per replication."""
    from ..model.work import expected_arrivals

    n_levels = len(sc.levels)
    row = 8 * len(INIT_FLOAT) + sum(np.dtype(_INT_DTYPE.get(k, np.int32)).itemsize
                                    for k in INIT_INT)
    row += 4 * n_levels * (len(ZONE_FIELDS)
                           + (len(PEER_FIELDS) if sc.sharing_level is not None else 0))
    rows = len(sc.initiatives) + expected_arrivals(sc)
    return rows * row + n_levels * (8 * len(LEVEL_FLOAT) + 4 * len(LEVEL_INT)) + 8


@dataclass
class RunColumns:
    """Columns of one run: `init[field]` (rows), `zones` (rows x levels x ZONE_FIELDS),
    `level[field]` (reps x levels), `reps_index` (the replication of each level row)."""

    seed: int
    names: list[str]
    init: dict[str, np.ndarray]
    zones: np.ndarray
    level: dict[str, np.ndarray]
    reps_index: np.ndarray
    #: with peer sharing only: rows x levels x PEER_FIELDS (None without sharing)
    peers: np.ndarray | None = None

    @property
    def n_reps(self) -> int:
        return len(self.reps_index)

    def utilization(self) -> np.ndarray:
        """busy_time / capacity_time per replication and level (0 without capacity), as
        LevelOutcome.utilization computes it."""
        busy, cap = self.level["busy_time"], self.level["capacity_time"]
        return np.where(cap > 0, busy / np.where(cap > 0, cap, 1.0), 0.0)

    def rows_of(self, name: str) -> np.ndarray:
        """Indices of the rows of one initiative name, in replication order."""
        return np.flatnonzero(self.init["name"] == self.names.index(name))

    def replications(self) -> list[Replication]:
        """The Replication records the columns were folded from (equal to them)."""
        f = {k: self.init[k].tolist() for k in INIT_FLOAT}
        i = {k: self.init[k].tolist() for k in INIT_INT}
        zones = self.zones.tolist()
        peers = None if self.peers is None else self.peers.tolist()
        lv = {k: self.level[k].tolist() for k in LEVEL_FLOAT + LEVEL_INT}
        out: list[Replication] = []
        row, n_rows = 0, len(i["rep"])
        for k, rep in enumerate(self.reps_index.tolist()):
            inits = []
            while row < n_rows and i["rep"][row] == rep:
                inits.append(_outcome(self.names, f, i, zones[row], row,
                                      None if peers is None else peers[row]))
                row += 1
            levels = tuple(LevelOutcome(wait_total=lv["wait_total"][k][j],
                                        waits=lv["waits"][k][j],
                                        busy_time=lv["busy_time"][k][j],
                                        capacity_time=lv["capacity_time"][k][j],
                                        departures=lv["departures"][k][j],
                                        trust=_none_if_nan(lv["trust"][k][j]))
                           for j in range(len(lv["waits"][k])))
            out.append(Replication(rep=rep, seed=self.seed, initiatives=tuple(inits),
                                   levels=levels))
        return out


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def _outcome(names: list[str], f: dict[str, list[Any]], i: dict[str, list[Any]],
             zones: list[list[int]], r: int, peers: list[list[int]] | None = None
             ) -> InitiativeOutcome:
    t = f["completion_time"][r]
    return InitiativeOutcome(
        name=names[i["name"][r]], launch=f["launch"][r], deadline=f["deadline"][r],
        completed=bool(i["completed"][r]), completion_time=None if math.isnan(t) else t,
        follow_up=f["follow_up"][r], coverage=f["coverage"][r], fidelity=f["fidelity"][r],
        n_classrooms=i["n_classrooms"][r], implemented=i["implemented"][r],
        implemented_total=i["implemented_total"][r],
        below_fidelity=i["below_fidelity"][r], dropped=i["dropped"][r], lost=i["lost"][r],
        in_flight=i["in_flight"][r], zones=tuple(ZoneCounts(*z) for z in zones),
        observed=bool(i["observed"][r]),
        peers=() if peers is None else tuple(PeerCounts(*x) for x in peers))


class ColumnBuilder:
    """Folds chunks of Replication records into RunColumns (chunks in any order)."""

    def __init__(self, seed: int, n_levels: int, names: list[str] | None = None) -> None:
        self.seed = int(seed)
        self.n_levels = n_levels
        self.names: list[str] = list(names or [])
        self._init: dict[str, list[tuple[int, np.ndarray]]] = {}
        self._level: dict[str, list[tuple[int, np.ndarray]]] = {}

    def _code(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def add(self, recs: list[Replication]) -> None:
        """Fold one chunk's records (in replication order)."""
        self.add_chunk(chunk_columns(recs))

    def add_chunk(self, chunk: ChunkColumns | None) -> None:
        """Fold one chunk's columns (chunk_columns of its records)."""
        if chunk is None:
            return
        if chunk.seed != self.seed:
            raise ValueError("records of another seed folded into a run's columns")
        recode = np.array([self._code(n) for n in chunk.names] or [0], dtype=np.int32)
        chunk.init["name"] = recode[chunk.init["name"]]
        for k, a in chunk.init.items():
            self._init.setdefault(k, []).append((chunk.first, a))
        for k, a in chunk.level.items():
            self._level.setdefault(k, []).append((chunk.first, a))

    @staticmethod
    def _join(parts: dict[str, list[tuple[int, np.ndarray]]], k: str, empty: np.ndarray
              ) -> np.ndarray:
        """One column of every chunk in replication order; the chunks' pieces are let go
        column by column, so finishing needs little more than the columns themselves."""
        got = parts.pop(k, [])
        got.sort(key=lambda p: p[0])
        return np.concatenate([a for _, a in got]) if got else empty

    def finish(self) -> RunColumns:
        """The columns of every chunk folded, in replication order."""
        L, Z = self.n_levels, len(ZONE_FIELDS)
        init = {k: self._join(self._init, k, np.zeros(0, dtype=float if k in INIT_FLOAT
                                                      else _INT_DTYPE.get(k, np.int32)))
                for k in INIT_FLOAT + INIT_INT}
        zones = self._join(self._init, "zones", np.zeros((0, L, Z), dtype=np.int32))
        peers = (self._join(self._init, "peers", np.zeros((0, L, len(PEER_FIELDS)), np.int32))
                 if "peers" in self._init else None)
        level = {k: self._join(self._level, k, np.zeros((0, L), dtype=float
                                                        if k in LEVEL_FLOAT else np.int32))
                 for k in LEVEL_FLOAT + LEVEL_INT}
        reps = self._join(self._level, "reps_index", np.zeros(0, dtype=np.int64))
        return RunColumns(self.seed, list(self.names), init, zones, level, reps, peers)


@dataclass
class ChunkColumns:
    """One chunk's outcomes as columns (what a worker sends back: numpy arrays pickle in
    a fraction of the time of the records). `init["name"]` indexes this chunk's `names`."""

    first: int
    seed: int
    names: list[str]
    init: dict[str, np.ndarray]
    level: dict[str, np.ndarray]


def chunk_columns(recs: list[Replication]) -> ChunkColumns | None:
    """The columns of one chunk's records (in replication order); None for no records."""
    if not recs:
        return None
    seed = recs[0].seed
    if any(r.seed != seed for r in recs):
        raise ValueError("records of different seeds in one chunk")
    n_levels = len(recs[0].levels)
    outs = [(r.rep, o) for r in recs for o in r.initiatives]
    names = list(dict.fromkeys(o.name for _, o in outs))
    codes = {n: k for k, n in enumerate(names)}
    init = {k: np.array([getattr(o, k) for _, o in outs], dtype=float)
            for k in INIT_FLOAT if k != "completion_time"}
    init["completion_time"] = np.array(
        [math.nan if o.completion_time is None else o.completion_time for _, o in outs],
        dtype=float)
    for k in INIT_INT:
        vals = ([rep for rep, _ in outs] if k == "rep" else
                [codes[o.name] for _, o in outs] if k == "name" else
                [getattr(o, k) for _, o in outs])
        init[k] = np.array(vals, dtype=_INT_DTYPE.get(k, np.int32))
    init["zones"] = np.array([[[getattr(z, a) for a in ZONE_FIELDS] for z in o.zones]
                              for _, o in outs], dtype=np.int32).reshape(
                                  len(outs), n_levels, len(ZONE_FIELDS))
    if outs and outs[0][1].peers:  # peer sharing: its counts per level
        init["peers"] = np.array([[[getattr(x, a) for a in PEER_FIELDS] for x in o.peers]
                                  for _, o in outs], dtype=np.int32).reshape(
                                      len(outs), n_levels, len(PEER_FIELDS))
    level = {k: np.array([[getattr(x, k) for x in r.levels] for r in recs], dtype=float)
             for k in LEVEL_FLOAT}
    level.update({k: np.array([[getattr(x, k) for x in r.levels] for r in recs],
                              dtype=np.int32) for k in LEVEL_INT})
    level["reps_index"] = np.array([r.rep for r in recs], dtype=np.int64)
    return ChunkColumns(recs[0].rep, int(seed), names, init, level)


def _direct(scenario: Any, seed: int, start: int, stop: int, engine: str = "auto") -> Any:
    """chunk_columns of a chunk straight from the fast engine's arrays (no record objects:
    the same values, checked in tests/test_columns.py); NotImplemented for SimPy."""
    from ..engines import fast, select

    if select.resolve(engine) != "fast" or stop <= start:
        return NotImplemented
    a = fast.outcome_arrays(scenario, seed, start, stop)
    init = {k: np.ascontiguousarray(a["init"][k], dtype=float) for k in INIT_FLOAT}
    init.update({k: np.ascontiguousarray(a["init"][k], dtype=_INT_DTYPE.get(k, np.int32))
                 for k in INIT_INT})
    init["zones"] = np.ascontiguousarray(a["zones"], dtype=np.int32)
    if a.get("peers") is not None:
        init["peers"] = np.ascontiguousarray(a["peers"], dtype=np.int32)
    level = {k: np.ascontiguousarray(a["level"][k], dtype=float) for k in LEVEL_FLOAT}
    level.update({k: np.ascontiguousarray(a["level"][k], dtype=np.int32) for k in LEVEL_INT})
    level["reps_index"] = a["reps_index"]
    return ChunkColumns(start, int(seed), a["names"], init, level)


#: execute.run_chunk_then uses this instead of records + chunk_columns where it can
chunk_columns.direct = _direct  # type: ignore[attr-defined]


def columns_of(records: list[Replication], seed: int, n_levels: int) -> RunColumns:
    """RunColumns of a list of records (sorted by replication)."""
    b = ColumnBuilder(seed, n_levels)
    b.add(sorted(records, key=lambda r: r.rep))
    return b.finish()
