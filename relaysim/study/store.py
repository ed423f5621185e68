"""The sweep store: SQLite (WAL) holding every finished chunk of replications.

A chunk is written in one transaction as soon as it finishes, so a sweep killed at any
moment (even SIGKILL) loses at most the chunks in flight, and `--resume` runs only what is
missing. The store remembers what it belongs to (scenario hash, seed, design, chunking);
a store from a different sweep is refused rather than mixed in.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files import LOCK_NAME

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


#: how long a write waits for another process's lock on the store before it gives up
BUSY_SECONDS = 30.0


class StoreError(UsageError):
    """The store cannot be used for this sweep (foreign, corrupt, unreadable)."""


class Store:
    """A sweep's SQLite store. Use as a context manager."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        """read_only: only read (report, plot), so a finished sweep in a folder this user
        cannot write (a colleague's, an archive, a read-only mount) can still be read."""
        self.path = Path(path)
        with self._guard():
            if read_only:
                self.db = self._open_read_only()
                self._check_foreign()
                return
            self.db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
            self._check_foreign()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)

    def _open_read_only(self) -> sqlite3.Connection:
        """A read-only connection. A WAL store's reader needs its -shm file, which it
        cannot create in a folder it may not write; a store with no -wal file left (its
        sweep closed it, so the file holds everything) is then opened as immutable."""
        uri = "file:" + urllib.parse.quote(str(self.path.resolve()))
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_SECONDS)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite's errors (disk full, read-only, locked, corrupt) as one clear line."""
        try:
            yield
        except sqlite3.Error as e:
            raise StoreError(self._explain(e)) from None
        except (ValueError, TypeError, KeyError) as e:  # a row that is not our JSON
            raise StoreError(f"{self.path}: corrupt store (a stored chunk cannot be read: "
                             f"{e}); rerun the sweep into a new --out") from None

    def _explain(self, e: sqlite3.Error) -> str:
        text = str(e)
        low = text.lower()
        if "full" in low:
            return (f"{self.path}: the disk is full ({text}); free some space and rerun with "
                    "--resume (finished chunks are kept)")
        if "readonly" in low or "read-only" in low:
            return f"{self.path}: the store is read-only ({text}); make it writable or copy it"
        if "locked" in low or "busy" in low:
            return (f"{self.path}: the store is locked by another process{self._holder()} "
                    f"({text}); wait for it to finish")
        if "malformed" in low or "corrupt" in low:
            return (f"{self.path}: corrupt store ({text}); rerun the sweep into a new --out, "
                    "or restore the store from a copy")
        if "unable to open" in low:
            return (f"{self.path}: cannot open the store ({text}); is its folder there and "
                    "writable?")
        return f"{self.path}: not a usable relaysim store ({text})"

    def _holder(self) -> str:
        """' (pid N: its name)' of the other processes that have the store open (Linux,
        those /proc lets us see), else ' (relaysim pid N)' from a sweep's lock file beside
        the store; never this process (its own sweep holds that lock file)."""
        pids = _openers(self.path)
        if pids:
            return " (" + ", ".join(f"pid {p}: {_command(p)}" for p in pids[:3]) + ")"
        for lock in (self.path.with_name(f".{self.path.name}.lock"),
                     self.path.parent / LOCK_NAME):
            try:
                pid = lock.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError):
                continue
            if pid.isdigit() and int(pid) != os.getpid():
                return f" (relaysim pid {pid})"
        return ""

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
        with self._guard():
            rows = self.db.execute("SELECT key, value FROM meta").fetchall()
            return {k: json.loads(v) for k, v in rows}

    def claim(self, identity: dict[str, Any], resume: bool) -> str:
        """Bind the store to a sweep, or check it belongs to this one; its sweep id (a
        random fingerprint the manifest records, so a store is never mistaken for another).

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
            sweep_id = uuid.uuid4().hex
            with self._guard(), self.db:
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v, sort_keys=True))
                     for k, v in {**identity, "sweep_id": sweep_id}.items()],
                )
            return sweep_id
        diffs = [k for k in identity if have.get(k) != json.loads(json.dumps(identity[k]))]
        if diffs:
            raise StoreError(
                f"{self.path} belongs to a different sweep (differs in: {', '.join(diffs)}); "
                "use another --out/--store, or the same scenario, seed, design and reps"
            )
        if not resume and self.count_ok() > 0:
            raise StoreError(f"{self.path} already holds results of this sweep; pass --resume "
                             "to continue it, or choose another --out/--store")
        if "sweep_id" not in have:  # a store from before sweep ids: give it one now
            have["sweep_id"] = uuid.uuid4().hex
            with self._guard(), self.db:
                self.db.execute("INSERT INTO meta (key, value) VALUES ('sweep_id', ?)",
                                (json.dumps(have["sweep_id"]),))
        return str(have["sweep_id"])

    # -- chunks -------------------------------------------------------------------
    def done(self) -> set[tuple[int, int]]:
        """(point, start) of chunks finished successfully."""
        with self._guard():
            rows = self.db.execute("SELECT point, start FROM chunks WHERE status = 'ok'")
            return {(p, s) for p, s in rows}

    def count_ok(self) -> int:
        with self._guard():
            return int(self.db.execute(
                "SELECT COUNT(*) FROM chunks WHERE status='ok'").fetchone()[0])

    def put(self, point: int, start: int, stop: int, data: dict[str, Any]) -> None:
        with self._guard(), self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO chunks (point, start, stop, status, error, data) "
                "VALUES (?, ?, ?, 'ok', NULL, ?)",
                (point, start, stop, json.dumps(data, separators=(",", ":"))),
            )

    def put_failed(self, point: int, start: int, stop: int, error: str) -> None:
        with self._guard(), self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO chunks (point, start, stop, status, error, data) "
                "VALUES (?, ?, ?, 'failed', ?, NULL)",
                (point, start, stop, error),
            )

    def failed(self) -> list[tuple[int, int, int, str]]:
        with self._guard():
            rows = self.db.execute(
                "SELECT point, start, stop, error FROM chunks WHERE status='failed' "
                "ORDER BY point, start")
            return [tuple(r) for r in rows]  # type: ignore[misc]

    def chunks_of(self, point: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(start, stop, data) of a point's finished chunks, in replication order."""
        with self._guard():
            rows = self.db.execute(
                "SELECT start, stop, data FROM chunks WHERE point = ? AND status = 'ok' "
                "ORDER BY start", (point,))
            for start, stop, data in rows:
                yield start, stop, json.loads(data)

    def points(self) -> list[int]:
        with self._guard():
            rows = self.db.execute(
                "SELECT DISTINCT point FROM chunks WHERE status='ok' ORDER BY 1").fetchall()
            return [r[0] for r in rows]


def _openers(path: Path) -> list[int]:
    """Other processes with the store (or its -wal/-shm files) open, by pid (Linux /proc;
    processes of other users are not visible without privileges)."""
    try:
        real = os.path.realpath(path)
    except OSError:
        return []
    names = {real, f"{real}-wal", f"{real}-shm", f"{real}-journal"}
    me, found = os.getpid(), []
    try:
        procs = [d for d in os.listdir("/proc") if d.isdigit() and int(d) != me]
    except OSError:
        return []
    for d in procs:
        try:
            fds = os.listdir(f"/proc/{d}/fd")
            if any(os.readlink(f"/proc/{d}/fd/{fd}") in names for fd in fds):
                found.append(int(d))
        except OSError:
            continue
    return sorted(found)


def _command(pid: int) -> str:
    """A process's command line, shortened (or its name, or '?')."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        text = " ".join(a.decode("utf-8", "replace") for a in argv if a)
    except OSError:
        text = ""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return (text[:57] + "...") if len(text) > 60 else (text or "?")
