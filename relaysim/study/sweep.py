"""Sweeps: run a design's points through an executor into a store (the 'run' half).

Work goes out as chunks of replications (point, start, stop). Replication i of every point
draws the keyed random numbers of (seed, i) (random streams version 3), so points share
their random numbers (common random numbers) and differences between points are paired.
A worker returns a compact columnar record per chunk (one row per replication and
initiative, no events); the parent writes it to the SQLite store the moment it arrives.
results.csv is computed only from the store, in replication order, so it is byte for byte
the same whatever the number of workers, the scheduler, the order chunks finished in, or
how often the sweep was interrupted and resumed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..engines import select
from ..engines.keyed import STREAM_VERSION
from ..errors import Problem, ScenarioError, UsageError
from ..files import LOCK_NAME, FolderLock, atomic_write, safe_name
from ..model.scenario import Scenario
from .execute import default_workers, local_pool, stop_pool
from .intervals import precision_half_width
from .limits import check_work
from .store import Store
from .summary import compact_chunk
from .table import results_from_store, rows_to_csv

__all__ = ["sweep", "SweepResult", "manifest_store"]

Progress = Callable[[int, int], None]  # (replications just finished, points finished)


# --------------------------------------------------------------------------- precision


def _half_width(tally: dict[str, list[float]], target: float) -> float:
    """Largest --precision half-width of a completion rate at a point (inf before any
    data), from {initiative: [n, k, m, sum n^2, sum k^2, sum n k]} over m replications.

    The rule's width (intervals.precision_half_width): Wilson at the point of
    [p-hat - H, p-hat + H] closest to 1/2, at the effective size n / design effect, the
    design effect clustering the stream's arrivals by replication."""
    widths = []
    for n, k, m, snn, skk, snk in tally.values():
        if not n:
            continue
        deff = 1.0
        r = k / n
        if m > 1 and 0 < r < 1:
            var = m / (m - 1) * (skk - 2 * r * snk + r * r * snn) / (n * n)
            deff = max(1.0, var / (r * (1 - r) / n))
        widths.append(precision_half_width(k, n, target, deff=deff))
    return max(widths) if widths else math.inf


def _tally(tally: dict[str, list[float]], data: dict[str, Any]) -> None:
    """Add a chunk's observed completions to {initiative: [n, k, m, snn, skk, snk]}."""
    for name, c in data["initiatives"].items():
        t = tally.setdefault(name, [0, 0, 0, 0, 0, 0])
        per_rep: dict[int, list[int]] = {}
        for rep, done, seen in zip(c["rep"], c["completed"], c["observed"], strict=True):
            nk = per_rep.setdefault(rep, [0, 0])
            if seen:
                nk[0] += 1
                nk[1] += done
        for ni, ki in per_rep.values():
            t[0] += ni
            t[1] += ki
            t[2] += 1
            t[3] += ni * ni
            t[4] += ki * ki
            t[5] += ni * ki


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What a sweep produced: its folder, points, one summary row per point, failures."""

    out: Path
    params: list[str]
    points: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    failed: list[tuple[int, int, int, str]] = field(default_factory=list)
    seconds: float = 0.0
    reps_run: int = 0

    @property
    def results_csv(self) -> Path:
        return self.out / "results.csv"


def _identity(scenario: Scenario, points: list[dict[str, Any]], reps: int, seed: int,
              chunk_size: int, precision: float | None) -> dict[str, Any]:
    return {"scenario_hash": scenario.hash, "seed": seed, "reps": reps,
            "chunk_size": chunk_size, "precision": precision, "points": points,
            "relaysim_version": __version__, "stream_version": STREAM_VERSION}


def _point_scenarios(scenario: Scenario, points: list[dict[str, Any]]) -> list[Scenario]:
    out, problems = [], []
    for j, pt in enumerate(points):
        try:
            out.append(scenario.with_values(pt))
        except ScenarioError as e:
            problems += [Problem(f"point {j} ({_pt(pt)}): {p.path}", p.message)
                         for p in e.problems]
    if problems:
        raise ScenarioError(problems, scenario.source)
    return out


def _pt(pt: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pt.items())


def sweep(
    scenario: Scenario,
    design: list[dict[str, Any]],
    reps: int,
    seed: int = 0,
    out: str | Path | None = None,
    store: str | Path | None = None,
    resume: bool = False,
    executor: Executor | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    precision: float | None = None,
    retries: int = 2,
    progress: Progress | None = None,
    min_reps: int = 200,
    max_events: float | None = None,
    force: bool = False,
    engine: str = "auto",
) -> SweepResult:
    """Run every point of `design` (dicts of dotted path -> value) for `reps` replications.

    Results go to `out` (results.csv, store.sqlite unless `store` is given, manifest.json).
    executor: any concurrent.futures.Executor (e.g. a Dask client's get_executor());
    otherwise `workers` local processes (default all cores; 1 runs in this process).
    precision: add chunks to a point until it has at least `min_reps` replications and
    every completion rate is precise to +-precision by the rule of
    intervals.precision_half_width (Wilson at the worse of p-hat and 1/2 within
    +-precision, clustered by replication for the stream), or `reps` is reached. Points
    then have unequal replication counts: they are paired (common random numbers) only up
    to the shorter count. Failing chunks are retried `retries` times, then recorded as
    failed; the rest of the sweep still finishes. engine: "auto", "fast" or "simpy".
    max_events: refuse (UsageError) a sweep expected to need more engine events than this
    (default limits.MAX_EVENTS), before anything is written. The folder is locked while it
    runs; a non-empty folder not its own needs `force`."""
    t0 = time.perf_counter()
    chunk_size = _check_sweep_args(design, reps, seed, precision, chunk_size, min_reps)
    n_workers = workers if workers is not None else default_workers()
    params, design = _complete_design(scenario, design)
    scenarios = _point_scenarios(scenario, design)
    check_work(scenarios, reps, max_events, None if executor is not None else n_workers)
    out_dir, store_path = _folder_and_store(scenario, out, store, resume)
    identity = _identity(scenario, design, reps, seed, chunk_size, precision)
    if precision is not None:
        identity["min_reps"] = min_reps
    identity["params"] = params  # in --vary order (points are stored with sorted keys)
    with _locks(out_dir, store_path):
        if not force:
            _check_folder(out_dir, identity, store_path)
        with Store(store_path) as st:
            identity["sweep_id"] = st.claim(identity, resume)
            _write_manifest(out_dir, scenario, design, identity, store_path)
            runner = _Runner(st, scenarios, seed, reps, chunk_size, precision, executor,
                             n_workers, retries, progress)
            runner.min_reps, runner.engine = min_reps, select.resolve(engine)  # same results
            runner.go()
            rows = results_from_store(st, design)
            failed = st.failed()
        atomic_write(out_dir / "results.csv", rows_to_csv(rows, params))
    return SweepResult(out=out_dir, params=params, points=design, rows=rows, failed=failed,
                       seconds=time.perf_counter() - t0, reps_run=runner.reps_run)


def _locks(out_dir: Path, store_path: Path) -> contextlib.ExitStack:
    """The sweep folder's lock, and the store's when it lives elsewhere."""
    locks = contextlib.ExitStack()
    try:
        locks.enter_context(FolderLock(out_dir, "sweep folder"))
        if store_path.resolve().parent != out_dir.resolve():
            locks.enter_context(FolderLock(store_path, "store"))
    except BaseException:
        locks.close()
        raise
    return locks


def _folder_and_store(scenario: Scenario, out: str | Path | None,
                      store: str | Path | None, resume: bool) -> tuple[Path, Path]:
    """The output folder (default runs/<safe name>-<time>), created, and the store
    (default OUT/store.sqlite). With `resume` the store must be there, so that a typo in
    --out does not silently start afresh (checked before any folder is made)."""
    out_dir = Path(out) if out is not None else Path("runs") / (
        f"{safe_name(scenario.name)}-{time.strftime('%Y%m%d-%H%M%S')}")
    store_path = Path(store) if store is not None else out_dir / "store.sqlite"
    if resume and not store_path.exists():
        raise UsageError(f"--resume: there is no store at {store_path}, so nothing to "
                         "resume (check --out/--store; drop --resume to start afresh)")
    _make_folder(out_dir)
    return out_dir, store_path


def _make_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create output folder {out_dir}: {e.strerror or e}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {out_dir} is not writable")


#: what a sweep keeps in its folder besides what the manifest vouches for
_STORE_FILES = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "store.sqlite-journal",
                LOCK_NAME)


def _check_folder(out_dir: Path, identity: dict[str, Any], store_path: Path) -> None:
    """Refuse a non-empty folder that is not this sweep's own (naming a file in the way).

    The folder is this sweep's own when its manifest.json is this sweep's (same identity,
    same store), or when it holds its own store.sqlite (which Store.claim checks)."""
    mine = store_path.resolve().parent == out_dir.resolve()
    if mine and store_path.is_file() and store_path.stat().st_size > 0:
        return  # the folder's own store vouches for it (Store.claim refuses another sweep)
    entries = sorted(p.name for p in out_dir.iterdir()
                     if not (mine and p.name in _STORE_FILES) and p.name != LOCK_NAME)
    if not entries:
        return
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        why = _not_own(manifest, out_dir, identity, store_path)
        if why is None:
            return
        in_way = f"manifest.json ({why})"
    else:
        in_way = entries[0]
    raise UsageError(f"{out_dir} is not this sweep's folder: {in_way} is in the way; choose "
                     "an empty or new --out, or pass --force to write over it")


def _not_own(manifest: Path, out_dir: Path, identity: dict[str, Any], store_path: Path
             ) -> str | None:
    """Why a manifest.json is not this sweep's, or None when it is."""
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"
    if not isinstance(m, dict):
        return "not a relaysim manifest"
    diffs = [k for k in identity if k != "sweep_id"
             and m.get(k) != json.loads(json.dumps(identity[k]))]
    if diffs:
        return f"another sweep: differs in {', '.join(diffs)}"
    if manifest_store(m, out_dir) != store_path.resolve():
        return f"its store is {m.get('store')}"
    return None


def manifest_store(manifest: dict[str, Any], folder: Path) -> Path | None:
    """The store a manifest names, resolved: relative to the sweep folder (manifests
    before 0.2 held a path relative to where the sweep was run, tried second)."""
    s = manifest.get("store")
    if not isinstance(s, str) or not s:
        return None
    here = (folder / s).resolve()
    if manifest.get("store_relative_to") == "folder" or here.exists():
        return here
    return Path(s).resolve()


def _check_sweep_args(design: list[dict[str, Any]], reps: int, seed: int,
                      precision: float | None, chunk_size: int | None,
                      min_reps: int = 200) -> int:
    """Refuse bad arguments; the chunk size to use."""
    if not isinstance(min_reps, int) or min_reps < 1:
        raise UsageError(f"min_reps must be a whole number >= 1, got {min_reps!r}")
    if not isinstance(reps, int) or reps < 1:
        raise UsageError(f"reps must be a whole number >= 1, got {reps!r}")
    if not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a whole number >= 0, got {seed!r}")
    if precision is not None and not (0 < precision < 0.5):
        raise UsageError(f"precision must be between 0 and 0.5, got {precision!r}")
    if not design:
        raise UsageError("the design has no points")
    if chunk_size is None:
        # never from the worker count: a sweep resumed with other --workers must match
        chunk_size = 50 if precision is not None else max(1, min(200, math.ceil(reps / 16)))
    if chunk_size < 1:
        raise UsageError("chunk_size must be >= 1")
    return chunk_size


def _complete_design(scenario: Scenario, design: list[dict[str, Any]]
                     ) -> tuple[list[str], list[dict[str, Any]]]:
    """The design's parameters (in first-seen order) and its points, each with every
    parameter (a point that leaves one out takes the scenario's value)."""
    params: list[str] = []
    for pt in design:
        params += [k for k in pt if k not in params]
    if any(len(pt) != len(params) for pt in design):
        design = [{k: pt[k] if k in pt else scenario.get(k) for k in params} for pt in design]
    return params, design


def _write_manifest(out_dir: Path, scenario: Scenario, design: list[dict[str, Any]],
                    identity: dict[str, Any], store_path: Path) -> None:
    text = None
    if scenario.source:
        try:
            text = Path(scenario.source).read_text(encoding="utf-8")
        except OSError:
            text = None
    manifest = {
        **identity,
        "scenario": scenario.name,
        "scenario_file": scenario.source,
        "scenario_text": text,
        "scenario_normalized": scenario.normalized,
        "design_points": len(design),
        # relative to the sweep folder, so the folder can be moved or archived whole
        "store": os.path.relpath(store_path.resolve(), out_dir.resolve()),
        "store_relative_to": "folder",
        "reproduce": "relaysim sweep with the same scenario, points (use the points as a "
                     "--design CSV), --reps, --seed and --chunk-size",
    }
    atomic_write(out_dir / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True))


class _Runner:
    """Schedules chunks on an executor, writes them to the store, retries failures."""

    def __init__(self, st: Store, scenarios: list[Scenario], seed: int, reps: int,
                 chunk_size: int, precision: float | None, executor: Executor | None,
                 workers: int, retries: int, progress: Progress | None) -> None:
        self.st, self.scenarios, self.seed, self.reps = st, scenarios, seed, reps
        self.cs, self.precision, self.executor = chunk_size, precision, executor
        self.workers, self.retries, self.progress = workers, retries, progress
        self.engine = "auto"
        self.reps_run = 0
        self.pool: Any = None  # the local pool in use (rebuilt when a worker dies)
        self.done = st.done()
        self.min_reps = 200  # --precision: no point stops before this many replications
        self.tallies: dict[int, dict[str, list[float]]] = {}  # --precision: [n, k] per initiative
        self.reached: dict[int, int] = {}  # --precision: replications stored per point

    # -- which chunks to run ------------------------------------------------------
    def _fixed_units(self) -> list[tuple[int, int, int]]:
        return [(j, a, min(a + self.cs, self.reps))
                for j in range(len(self.scenarios))
                for a in range(0, self.reps, self.cs) if (j, a) not in self.done]

    def _next_adaptive(self, j: int) -> tuple[int, int, int] | None:
        """The next chunk of point j under --precision, or None when it is precise enough.

        Counts are kept in memory (read from the store once, on resume), so deciding costs
        nothing that grows with the replications already run."""
        if j not in self.tallies:
            self.tallies[j], self.reached[j] = {}, 0
            for _, stop, d in self.st.chunks_of(j):
                _tally(self.tallies[j], d)
                self.reached[j] = max(self.reached[j], stop)
        a = self.reached[j]
        if a >= self.reps:
            return None
        if (a >= min(self.min_reps, self.reps) and a > 0
                and _half_width(self.tallies[j], self.precision) <= self.precision):  # type: ignore[arg-type]
            return None
        return (j, a, min(a + self.cs, self.reps))

    # -- running ------------------------------------------------------------------------
    def go(self) -> None:
        if self.precision is None:
            queue = self._fixed_units()
        else:
            queue = [u for j in range(len(self.scenarios)) if (u := self._next_adaptive(j))]
        if not queue:
            return
        if self.executor is None and (self.workers == 1 or len(queue) == 1):
            self._serial(queue)
            return
        if self.executor is not None:
            self._parallel(self.executor, queue, own=False)
            return
        select.prepare(self.engine)  # a cold fast engine compiles once here, not per worker
        self.pool = local_pool(self.workers)
        try:
            self._parallel(self.pool, queue, own=True)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): stop the workers now
            stop_pool(self.pool)
            raise
        self.pool.shutdown()

    def _finish(self, unit: tuple[int, int, int], data: dict[str, Any]) -> list[tuple]:
        j, a, b = unit
        self.st.put(j, a, b, data)
        self.done.add((j, a))
        if self.precision is not None and j in self.tallies:
            _tally(self.tallies[j], data)
            self.reached[j] = max(self.reached[j], b)
        self.reps_run += b - a
        nxt: list[tuple[int, int, int]] = []
        point_done = 0
        if self.precision is not None:
            u = self._next_adaptive(j)
            if u is None:
                point_done = 1
            else:
                nxt.append(u)
        else:
            point_done = int(all((j, s) in self.done for s in range(0, self.reps, self.cs)))
        if self.progress is not None:
            self.progress(b - a, point_done)
        return nxt

    def _serial(self, queue: list[tuple[int, int, int]]) -> None:
        while queue:
            unit = queue.pop(0)
            j, a, b = unit
            for attempt in range(self.retries + 1):
                try:
                    data = compact_chunk(self.scenarios[j], self.seed, a, b, self.engine)
                except Exception as e:  # recorded; the sweep goes on
                    if attempt == self.retries:
                        self.st.put_failed(j, a, b, _describe(e))
                    continue
                queue.extend(self._finish(unit, data))
                break

    def _parallel(self, ex: Executor, queue: list[tuple[int, int, int]], own: bool) -> None:
        tries: dict[tuple[int, int, int], int] = {}
        inflight: dict[Future[Any], tuple[int, int, int]] = {}
        # enough in flight to keep every worker busy: an external executor (a Dask
        # cluster) may have many more workers than this machine has cores
        limit = 2 * self.workers + 2 if own else max(64, 4 * self.workers)
        while queue or inflight:
            while queue and len(inflight) < limit:
                unit = queue.pop(0)
                j, a, b = unit
                # the attempt number makes a retry a new task for executors that cache
                # results by arguments (Dask's pure tasks)
                inflight[ex.submit(_attempt_chunk, self.scenarios[j], self.seed, a, b,
                                   tries.get(unit, 0), self.engine)] = unit
            finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for f in finished:
                unit = inflight.pop(f)
                try:
                    data = f.result()
                except BrokenProcessPool as e:
                    if not own:
                        raise
                    # a worker died: the whole local pool is gone; start a new one and
                    # count one failure against every chunk that was in it
                    stop_pool(ex)
                    ex = self.pool = local_pool(self.workers)
                    lost = [unit, *inflight.values()]
                    inflight.clear()
                    for u in lost:
                        self._retry_or_fail(u, tries, queue, e)
                    break
                except Exception as e:  # recorded; the sweep goes on
                    self._retry_or_fail(unit, tries, queue, e)
                    continue
                queue.extend(self._finish(unit, data))

    def _retry_or_fail(self, unit: tuple[int, int, int], tries: dict[tuple[int, int, int], int],
                       queue: list[tuple[int, int, int]], e: BaseException) -> None:
        tries[unit] = tries.get(unit, 0) + 1
        if tries[unit] <= self.retries:
            queue.append(unit)
        else:
            self.st.put_failed(*unit, _describe(e))


def _attempt_chunk(scenario: Scenario, seed: int, start: int, stop: int, attempt: int,
                   engine: str = "auto") -> dict[str, Any]:
    """compact_chunk, with the attempt number as an argument (ignored by the work)."""
    return compact_chunk(scenario, seed, start, stop, engine)


def _describe(e: BaseException) -> str:
    tb = "".join(traceback.format_exception_only(type(e), e)).strip()
    return tb[:2000]
