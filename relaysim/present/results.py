"""Reading stored results back (for plots and reports): a sweep folder, its store, its
results.csv, or a sensitivity folder. Works while a sweep is still running: the store is
read as it stands (WAL lets readers in while the sweep writes)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..model.scenario import Scenario, ScenarioError, raw_from_normalized, scenario_from_dict
from ..study.store import Store
from ..study.sweep import manifest_store
from ..study.table import results_from_store

__all__ = ["Results", "open_results", "load_results", "load_discovery", "load_screening",
           "rate_text"]


def _num(s: str) -> Any:
    if s == "":
        return None
    if s in ("true", "false"):
        return s == "true"
    try:
        v = float(s)
    except ValueError:
        return s
    return int(v) if v.is_integer() and "." not in s and "e" not in s.lower() else v


@dataclass
class Results:
    """A sweep's points and estimates, its per-replication outcomes when the store is
    there, its scenario when the manifest is there, and sensitivity results if any."""

    source: Path
    params: list[str]
    rows: list[dict[str, Any]]  # {"point", "values", "reps", "initiatives": {name: {...}}}
    scenario: Scenario | None = None
    store_path: Path | None = None
    sensitivity: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def initiatives(self) -> list[str]:
        names: list[str] = []
        for r in self.rows:
            names += [n for n in r["initiatives"] if n not in names]
        return names

    def per_rep(self, point: int | None = None) -> dict[str, dict[str, np.ndarray]]:
        """Per-replication outcomes by initiative, for one point or all points pooled."""
        if self.store_path is None:
            raise UsageError(f"{self.source}: per-replication data needs the sweep's store "
                             "(store.sqlite)")
        out: dict[str, dict[str, list[Any]]] = {}
        zones: list[str] = []
        with Store(self.store_path, read_only=True) as st:
            pts = [point] if point is not None else st.points()
            for j in pts:
                for _, _, d in st.chunks_of(j):
                    zones = d["zones"]
                    for name, c in d["initiatives"].items():
                        m = out.setdefault(name, {"time": [], "follow": [], "completed": [],
                                                  "coverage": [], "drops": []})
                        m["time"] += [math.nan if t is None else t for t in c["time"]]
                        m["follow"] += c["follow"]
                        m["completed"] += c["completed"]
                        m["coverage"] += c["coverage"]
                        m["drops"] += list(zip(*c["drops"], strict=True)) if c["drops"] else []
        res: dict[str, dict[str, np.ndarray]] = {}
        for name, m in out.items():
            res[name] = {k: np.asarray(v, dtype=float) for k, v in m.items()}
            res[name]["zones"] = np.asarray(zones, dtype=object)
        return res


def open_results(path: str | Path) -> Results:
    """Open a sweep folder, a store (.sqlite), a results.csv or a sensitivity folder.

    A folder's own store.sqlite comes first (then the store its manifest names, relative
    to the folder); a store whose sweep id or identity differs from the manifest beside
    it is refused before any number is read from it."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such file or folder")
    if p.is_dir() and (p / "sensitivity.json").exists():
        sens = _read_json(p / "sensitivity.json", "relaysim sensitivity")
        base = open_results(p / "tornado") if (p / "tornado").exists() else None
        if base is None:
            raise UsageError(f"{p}: sensitivity folder without its tornado/ sweep")
        base.sensitivity = sens
        base.source = p
        return base
    manifest: dict[str, Any] = {}
    store_path = csv_path = None
    if p.is_dir():
        if (p / "manifest.json").exists():
            manifest = _read_json(p / "manifest.json", "the sweep")
        store_path = p / "store.sqlite" if (p / "store.sqlite").exists() else None
        named = manifest_store(manifest, p)
        if store_path is None and named is not None and named.exists():
            store_path = named
        csv_path = p / "results.csv" if (p / "results.csv").exists() else None
    elif p.suffix == ".sqlite":
        store_path = p
        mp = p.with_name("manifest.json")
        if mp.exists():
            m = _read_json(mp, "the sweep")
            if manifest_store(m, p.parent) in (None, p.resolve()):
                manifest = m
    elif p.suffix == ".csv":
        csv_path = p
    else:
        raise UsageError(f"{p}: expected a sweep folder, a store (.sqlite) or a results.csv")
    scenario = _manifest_scenario(manifest)
    if store_path is not None:
        return _from_store(p, store_path, scenario, manifest)
    if csv_path is None:
        raise UsageError(f"{p}: no results.csv or store.sqlite here")
    return _from_csv(p, csv_path, scenario, manifest)


def _read_json(f: Path, how: str) -> dict[str, Any]:
    """A JSON object from a file relaysim wrote, or one clear error."""
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"{f}: cannot read ({e.strerror or e})") from None
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{f}: not valid JSON ({e}); it was edited or cut short: run "
                         f"{how} again") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{f}: expected a JSON object, found {type(doc).__name__}; it was "
                         f"edited: run {how} again")
    return doc


def _manifest_scenario(manifest: dict[str, Any]) -> Scenario | None:
    norm = manifest.get("scenario_normalized")
    if norm is None:
        return None
    try:
        raw = raw_from_normalized(norm)
        return scenario_from_dict(raw, source=manifest.get("scenario_file"))
    except (ScenarioError, TypeError, KeyError, AttributeError, ValueError) as e:
        raise UsageError(f"manifest.json: its scenario cannot be read back ({e}); was the "
                         "manifest edited?") from None


#: the manifest keys a store must agree with (a store from before sweep ids)
_IDENTITY = ("scenario_hash", "seed", "reps", "chunk_size", "precision", "points",
             "stream_version")


def _check_belongs(store_path: Path, meta: dict[str, Any], manifest: dict[str, Any]) -> None:
    """Refuse a store that is not the one the manifest describes."""
    if not manifest:
        return
    if "sweep_id" in manifest or "sweep_id" in meta:
        diffs = ["sweep_id"] if manifest.get("sweep_id") != meta.get("sweep_id") else []
    else:
        diffs = [k for k in _IDENTITY if k in manifest and manifest[k] != meta.get(k)]
    if diffs:
        raise UsageError(f"{store_path} is not the store of the sweep its manifest.json "
                         f"describes (differs in: {', '.join(diffs)}); was the folder moved, "
                         "or another sweep run into its old place? Not showing its numbers")


def _from_store(p: Path, store_path: Path, scenario: Scenario | None,
                manifest: dict[str, Any]) -> Results:
    with Store(store_path, read_only=True) as st:
        meta = st.meta()
        _check_belongs(store_path, meta, manifest)
        points = meta.get("points")
        if not isinstance(points, list):
            raise UsageError(f"{store_path}: store has no design (not a relaysim sweep?)")
        rows = results_from_store(st, points)
    params = meta.get("params") or manifest.get("params") or (list(points[0]) if points
                                                               else [])
    return Results(p, params, rows, scenario, store_path, None, meta)


#: results.csv columns that hold numbers (per initiative)
_NUMBER_STATS = ("completion_rate", "ci_low", "ci_high", "coverage_mean",
                 "completion_time_median")


def rate_text(x: float | None) -> str:
    """A rate for people: a percentage; 'n/a' when nothing was observed (None or NaN);
    a plain message, never '500%', for a value no rate can take."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if not 0.0 <= x <= 1.0:
        return f"invalid ({x:g} is not a rate)"
    return f"{100 * x:.0f}%"


def _csv_number(csv_path: Path, ln: int, col: str, text: str) -> float | None:
    v = _num(text)
    if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
        return v  # a rate outside [0, 1] is read as is: report and plot say so
    raise UsageError(f"{csv_path}:{ln}: column {col}: {text[:40]!r} is not a number (was "
                     "the file edited? `relaysim report` reads the store when it is there)")


def _csv_reps(csv_path: Path, ln: int, text: str) -> int:
    try:
        n = int(text or "0")
    except ValueError:
        n = -1
    if n < 0:
        raise UsageError(f"{csv_path}:{ln}: reps {text[:40]!r} is not a whole number >= 0")
    return n


def _from_csv(p: Path, csv_path: Path, scenario: Scenario | None,
              manifest: dict[str, Any]) -> Results:
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as f:
            lines = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{csv_path}: cannot read ({e})") from None
    if not lines:
        raise UsageError(f"{csv_path}: empty file")
    header, body = lines[0], lines[1:]
    # the parameters are the columns before the first initiative's estimates
    first_stat = next((j for j, h in enumerate(header) if h.endswith(".completion_rate")),
                      len(header))
    params = [h for h in header[:first_stat] if h != "reps"]
    rows = []
    for j, line in enumerate(body):
        ln = j + 2
        if len(line) != len(header):
            raise UsageError(f"{csv_path}:{ln}: expected {len(header)} values, got "
                             f"{len(line)} (was the file edited or cut short?)")
        rec = dict(zip(header, line, strict=True))
        inits: dict[str, dict[str, Any]] = {}
        for h, v in rec.items():
            if h in params or h == "reps":
                continue
            name, _, stat = h.rpartition(".")
            inits.setdefault(name, {})[stat] = (_csv_number(csv_path, ln, h, v)
                                                if stat in _NUMBER_STATS else _num(v))
        rows.append({"point": j, "values": {k: _num(rec[k]) for k in params},
                     "reps": _csv_reps(csv_path, ln, rec.get("reps", "")),
                     "initiatives": inits})
    return Results(p, params, rows, scenario, None, None, manifest)


def load_results(path: str | Path) -> Any:
    """A sweep's results.csv (from its folder or the file) as a pandas DataFrame when pandas
    is installed, else as a list of dicts of strings."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.csv"
    if not p.exists():
        raise UsageError(f"{p}: no results.csv here")
    try:
        import pandas as pd
    except ImportError:
        with p.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return pd.read_csv(p)


# -- analyses stored beside a sweep -----------------------------------------------


def analysis_folder(src: Results | str | Path) -> Path:
    """The folder of a sweep (or of the file given)."""
    p = Path(src.source) if isinstance(src, Results) else Path(src)
    return p if p.is_dir() else p.parent


def _load(src: Results | str | Path, name: str, how: str) -> dict[str, Any] | None:
    f = analysis_folder(src) / name
    if not f.exists():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"{f}: cannot read ({e}); run `{how}` again") from None


def load_discovery(src: Results | str | Path) -> dict[str, Any] | None:
    """The folder's discovery.json, or None."""
    return _load(src, "discovery.json", "relaysim discover")


def load_screening(src: Results | str | Path) -> dict[str, Any] | None:
    """The folder's screening.json, or None."""
    return _load(src, "screening.json", "relaysim screen")
