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
from ..model.scenario import Scenario, raw_from_normalized, scenario_from_dict
from ..study.store import Store
from ..study.table import results_from_store

__all__ = ["Results", "open_results", "load_results", "load_discovery", "load_screening"]


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
        with Store(self.store_path) as st:
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
    """Open a sweep folder, a store (.sqlite), a results.csv or a sensitivity folder."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such file or folder")
    sens = None
    if p.is_dir() and (p / "sensitivity.json").exists():
        sens = json.loads((p / "sensitivity.json").read_text(encoding="utf-8"))
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
            manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        store_path = p / "store.sqlite" if (p / "store.sqlite").exists() else None
        if manifest.get("store") and Path(manifest["store"]).exists():
            store_path = Path(manifest["store"])
        csv_path = p / "results.csv" if (p / "results.csv").exists() else None
    elif p.suffix == ".sqlite":
        store_path = p
        mp = p.with_name("manifest.json")
        if mp.exists():
            manifest = json.loads(mp.read_text(encoding="utf-8"))
    elif p.suffix == ".csv":
        csv_path = p
    else:
        raise UsageError(f"{p}: expected a sweep folder, a store (.sqlite) or a results.csv")
    scenario = None
    if manifest.get("scenario_normalized") is not None:
        raw = raw_from_normalized(manifest["scenario_normalized"])
        scenario = scenario_from_dict(raw, source=manifest.get("scenario_file"))
    if store_path is not None:
        with Store(store_path) as st:
            meta = st.meta()
            points = meta.get("points")
            if points is None:
                raise UsageError(f"{store_path}: store has no design (not a relaysim sweep?)")
            rows = results_from_store(st, points)
        params = meta.get("params") or manifest.get("params") or (list(points[0]) if points
                                                                   else [])
        return Results(p, params, rows, scenario, store_path, sens, meta)
    if csv_path is None:
        raise UsageError(f"{p}: no results.csv or store.sqlite here")
    return _from_csv(p, csv_path, scenario, manifest)


def _from_csv(p: Path, csv_path: Path, scenario: Scenario | None,
              manifest: dict[str, Any]) -> Results:
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise UsageError(f"{csv_path}: empty file")
        body = list(reader)
    # the parameters are the columns before the first initiative's estimates
    first_stat = next((j for j, h in enumerate(header) if h.endswith(".completion_rate")),
                      len(header))
    params = [h for h in header[:first_stat] if h != "reps"]
    rows = []
    for j, line in enumerate(body):
        rec = dict(zip(header, line, strict=False))
        inits: dict[str, dict[str, Any]] = {}
        for h, v in rec.items():
            if h in params or h == "reps":
                continue
            name, _, stat = h.rpartition(".")
            inits.setdefault(name, {})[stat] = _num(v)
        rows.append({"point": j, "values": {k: _num(rec[k]) for k in params},
                     "reps": int(rec.get("reps") or 0), "initiatives": inits})
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
