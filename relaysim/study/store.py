"""The sweep store: SQLite (WAL) holding every finished chunk of replications.

A chunk is written in one transaction as soon as it finishes, so a sweep killed at any
moment (even SIGKILL) loses at most the chunks in flight, and `--resume` runs only what is
missing. The store remembers what it belongs to (scenario hash, seed, design, chunking);
a store from a different sweep is refused rather than mixed in.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UsageError

__all__ = ["Store", "StoreError"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    point INTEGER NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    status TEXT NOT NULL,          -- 'ok' or 'failed'
    error TEXT,
    data TEXT,                     -- JSON, per-replication compact outcomes (columnar)
    PRIMARY KEY (point, start)
);
"""


class StoreError(UsageError):
    """The store cannot be used for this sweep (foreign, corrupt, unreadable)."""


class Store:
    """A sweep's SQLite store. Use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            self._check_foreign()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a usable relaysim store ({e})") from None

    def _check_foreign(self) -> None:
        """Refuse, untouched, an SQLite file that holds anything but a relaysim store."""
        tables = {r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return
        expect = {"meta": ["key", "value"],
                  "chunks": ["point", "start", "stop", "status", "error", "data"]}
        found = {t: [c[1] for c in self.db.execute(f"PRAGMA table_info('{t}')")]
                 for t in tables}
        if found != expect:
            self.db.close()
            raise StoreError(f"{self.path}: an SQLite file that is not a relaysim store "
                             f"(tables: {', '.join(sorted(tables))}); choose another --store")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- identity -----------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        try:
            rows = self.db.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: corrupt store ({e})") from None
        return {k: json.loads(v) for k, v in rows}

    def claim(self, identity: dict[str, Any], resume: bool) -> None:
        """Bind the store to a sweep, or check it belongs to this one.

        A fresh store takes `identity`. An existing one must match it exactly; without
        `resume`, an existing non-empty store is refused so finished work is never
        overwritten by accident.
        """
        have = self.meta()
        if have and resume and "stream_version" in identity \
                and have.get("stream_version") != identity["stream_version"]:
            raise StoreError(
                f"{self.path} was written with random streams version "
                f"{have.get('stream_version', 1)} and this relaysim uses "
                f"{identity['stream_version']}, so its results cannot be continued: rerun "
                "the sweep without --resume into a new --out (or --store)"
            )
        if not have:
            with self.db:
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v, sort_keys=True)) for k, v in identity.items()],
                )
            return
        diffs = [k for k in identity if have.get(k) != json.loads(json.dumps(identity[k]))]
        if diffs:
            raise StoreError(
                f"{self.path} belongs to a different sweep (differs in: {', '.join(diffs)}); "
                "use another --out/--store, or the same scenario, seed, design and reps"
            )
        if not resume and self.count_ok() > 0:
            raise StoreError(f"{self.path} already holds results of this sweep; pass --resume "
                             "to continue it, or choose another --out/--store")

    # -- chunks -------------------------------------------------------------------
    def done(self) -> set[tuple[int, int]]:
        """(point, start) of chunks finished successfully."""
        try:
            rows = self.db.execute("SELECT point, start FROM chunks WHERE status = 'ok'")
            return {(p, s) for p, s in rows}
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: corrupt store ({e})") from None

    def count_ok(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks WHERE status='ok'").fetchone()[0])

    def put(self, point: int, start: int, stop: int, data: dict[str, Any]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO chunks (point, start, stop, status, error, data) "
                "VALUES (?, ?, ?, 'ok', NULL, ?)",
                (point, start, stop, json.dumps(data, separators=(",", ":"))),
            )

    def put_failed(self, point: int, start: int, stop: int, error: str) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO chunks (point, start, stop, status, error, data) "
                "VALUES (?, ?, ?, 'failed', ?, NULL)",
                (point, start, stop, error),
            )

    def failed(self) -> list[tuple[int, int, int, str]]:
        rows = self.db.execute(
            "SELECT point, start, stop, error FROM chunks WHERE status='failed' "
            "ORDER BY point, start")
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def chunks_of(self, point: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(start, stop, data) of a point's finished chunks, in replication order."""
        rows = self.db.execute(
            "SELECT start, stop, data FROM chunks WHERE point = ? AND status = 'ok' "
            "ORDER BY start", (point,))
        for start, stop, data in rows:
            yield start, stop, json.loads(data)

    def points(self) -> list[int]:
        rows = self.db.execute("SELECT DISTINCT point FROM chunks WHERE status='ok' ORDER BY 1")
        return [r[0] for r in rows]
