"""The command line: a thin layer over the public API (relaysim.load_scenario, run, trace).

Every error a user can cause ends in a message naming the file and dotted path, and exit
status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import RelaysimError, UsageError
from .files import atomic_write, check_output_file, json_safe, safe_name
from .machine import default_workers

if TYPE_CHECKING:
    from .model.scenario import Scenario


def _overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    from .model.scenario import parse_value

    out: dict[str, Any] = {}
    for item in pairs or ():
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            raise UsageError(f"--set expects PATH=VALUE (e.g. zones.principal.fumble=0.2), "
                             f"got {item!r}")
        out[path.strip()] = parse_value(value.strip())
    return out


def _load(args: argparse.Namespace) -> Scenario:
    from .model.scenario import load_scenario

    return load_scenario(args.scenario, _overrides(getattr(args, "set", None)))


def _progress(total: int, quiet: bool) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A progress bar on a terminal (tqdm when installed), nothing when piped or quiet."""
    if quiet or not sys.stderr.isatty():
        return None, lambda: None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            sys.stderr.write(f"\r{done[0]}/{total} replications")
            sys.stderr.flush()

        return tick, lambda: sys.stderr.write("\n")
    bar = tqdm(total=total, unit="rep", file=sys.stderr, leave=False)
    return bar.update, bar.close


def cmd_run(args: argparse.Namespace) -> int:
    from .study.run import run

    check_output_file(args.per_rep, "--per-rep")
    sc = _load(args)
    tick, close = _progress(args.reps, args.quiet)
    try:
        res = run(sc, reps=args.reps, seed=args.seed, workers=args.workers,
                  chunk_size=args.chunk_size, progress=tick, max_events=args.max_events,
                  engine=args.engine)
    finally:
        close()
    if args.per_rep:
        res.write_per_rep(args.per_rep)
    if args.json:
        print(res.to_json())
    else:
        print(res.text())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    sc = _load(args)
    if args.list_paths:
        for path, value in sc.paths().items():
            print(f"{path} = {json.dumps(value)}")
        return 0
    sizes = ", ".join(f"{n} {lv.name}" for lv, n in zip(sc.levels, sc.level_sizes, strict=True))
    print(f"ok: {args.scenario} ('{sc.name}', {sizes}; {len(sc.initiatives)} initiative(s); "
          f"hash {sc.hash[:12]})")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from .present.trace import trace

    check_output_file(args.out, "--out")
    sc = _load(args)
    tr = trace(sc, seed=args.seed, rep=args.rep)
    text = tr.to_json() if args.json else tr.text()
    if args.out:
        atomic_write(args.out, text + "\n")
    else:
        print(text)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .study.designs import make_design, parse_vary, read_design_csv
    from .study.sweep import sweep

    sc = _load(args)
    if args.scheduler and args.workers:
        raise UsageError("give --workers (local processes) or --scheduler (Dask), not both")
    if args.design.lower().endswith(".csv"):
        if args.vary:
            raise UsageError("--design FILE.csv lists the points itself; drop --vary")
        points = read_design_csv(args.design, sc)
        _check_set_vs_vary(args, list(points[0]) if points else [])
    else:
        if not args.vary:
            raise UsageError("sweep needs at least one --vary PATH=LO:HI:N or PATH=V1,V2,...")
        params = [parse_vary(v, sc) for v in args.vary]
        _check_set_vs_vary(args, [p.path for p in params])
        points = make_design(params, args.design, args.samples, args.seed)
    if args.resume and not (args.out or args.store):
        raise UsageError("--resume needs the --out folder (or --store file) of the sweep")
    executor, client, workers = None, None, args.workers
    if args.scheduler:
        executor, client = _dask_executor(args.scheduler)
        workers = _cluster_threads(client)
    n_points = len(points)
    tick, close = _sweep_progress(n_points, args.reps, args.quiet)
    try:
        res = sweep(sc, points, reps=args.reps, seed=args.seed, out=args.out, store=args.store,
                    resume=args.resume, executor=executor, workers=workers,
                    chunk_size=args.chunk_size, precision=args.precision, progress=tick,
                    min_reps=args.min_reps, max_events=args.max_events,
                    force=args.force, engine=args.engine)
    finally:
        close()
        if client is not None:
            client.close()
    print(f"{n_points} points x up to {args.reps} replications -> {res.results_csv}")
    if res.failed:
        print(f"relaysim: {len(res.failed)} chunk(s) FAILED after retries and are missing from "
              f"the results (see {res.out / 'store.sqlite'}); first error: {res.failed[0][3]}",
              file=sys.stderr)
        return 1
    return 0


def _check_set_vs_vary(args: argparse.Namespace, varied: list[str]) -> None:
    """A path both --set and varied would silently take the varied values: refuse."""
    both = [p for p in _overrides(getattr(args, "set", None)) if p in varied]
    if both:
        raise UsageError(f"{both[0]} is both --set and varied; drop one of them")


#: --workers beyond this many per core is refused unless --force (a typo, not a plan)
WORKERS_PER_CORE = 4


def _check_workers(args: argparse.Namespace) -> None:
    import os

    workers = getattr(args, "workers", None)
    ceiling = WORKERS_PER_CORE * (os.cpu_count() or 1)
    if workers is not None and workers > ceiling and not getattr(args, "force", False):
        raise UsageError(f"--workers {workers} is more than {WORKERS_PER_CORE} per core on "
                         f"this machine ({ceiling}); pass --force if you mean it")


#: seconds a Dask scheduler has to greet a new connection before it is taken for another
#: service (a scheduler greets at once)
PROBE_SECONDS = 5.0
#: seconds between warnings while a Dask cluster has no workers
NO_WORKERS_WARN_SECONDS = 30.0


def _dask_executor(address: str) -> tuple[Any, Any]:
    """An executor on the Dask scheduler at `address`, and its client. Refused in one line,
    within seconds, when the address is not a Dask scheduler; warns (on stderr) while the
    cluster has no workers."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'relaysim[dask]'") from None
    _probe_scheduler(address)
    try:
        client = Client(address, timeout="10s")
    except Exception as e:  # whatever Dask raises on a bad peer: one line, no traceback
        text = " ".join(str(e).split())[:300]
        raise UsageError(f"cannot use the Dask scheduler at {address}: "
                         f"{type(e).__name__}: {text}") from None
    _watch_workers(client, address)
    # pure=False: a retried chunk must run again, not return the cached failure
    return client.get_executor(pure=False), client


def _probe_scheduler(address: str, seconds: float | None = None) -> None:
    """Check that a tcp:// address greets like a Dask scheduler (an 8-byte length, then a
    small msgpack handshake naming its compression and pickle protocol) before Dask's own
    client, which waits for ever on a silent peer (a web server) and tries to allocate
    whatever length garbage claims. Other schemes (tls://, ...) are left to Dask."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme != "tcp":
            return
        host, port = parse_host_port(loc)
    except ValueError as e:
        raise UsageError(f"--scheduler {address!r} is not an address like tcp://HOST:PORT "
                         f"({e})") from None
    seconds = PROBE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    try:
        sock = socket.create_connection((host, port), timeout=seconds)
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {why}") from None
    not_dask = f"{address} is not a Dask scheduler"
    try:
        with sock:
            (n,) = struct.unpack("<Q", _recv_exactly(sock, 8, deadline))
            body = _recv_exactly(sock, n, deadline) if 0 < n <= 1 << 16 else b""
    except TimeoutError:
        raise UsageError(f"{not_dask}: nothing there greeted like one within {seconds:g} s "
                         f"(a web server? the dashboard's port?)") from None
    except (EOFError, OSError):
        raise UsageError(f"{not_dask}: it closed the connection without a Dask greeting"
                         ) from None
    if b"compression" not in body:
        raise UsageError(f"{not_dask}: it answered with something else")


def _recv_exactly(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        got = sock.recv(n - len(data))
        if not got:
            raise EOFError
        data += got
    return data


def _watch_workers(client: Any, address: str, every: float = 2.0) -> None:
    """Warn on stderr while the cluster has no workers (at once, then every
    NO_WORKERS_WARN_SECONDS), for as long as the client is open."""

    def loop() -> None:
        last = -math.inf
        while client.status == "running":
            try:
                n = sum(client.nthreads().values())
            except Exception:  # closed meanwhile
                return
            now = time.monotonic()
            if n:
                last = -math.inf
            elif now - last >= NO_WORKERS_WARN_SECONDS:
                print(f"relaysim: warning: the Dask cluster at {address} has no workers; "
                      f"the work waits until some join (Ctrl-C to stop)", file=sys.stderr,
                      flush=True)
                last = now
            time.sleep(every)

    threading.Thread(target=loop, daemon=True, name="relaysim-dask-workers").start()


def _cluster_threads(client: Any) -> int | None:
    """Worker threads of a Dask cluster now (sizes how many chunks are kept in flight)."""
    try:
        return sum(client.nthreads().values()) or None
    except Exception:  # a cluster that cannot say: keep the default
        return None


def _sweep_progress(points: int, reps: int, quiet: bool
                    ) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    if quiet or not sys.stderr.isatty():
        return None, lambda: None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        return None, lambda: None
    bar = tqdm(total=points * reps, unit="rep", file=sys.stderr, leave=False,
               desc=f"0/{points} points")
    done = [0]

    def tick(n_reps: int, n_points: int) -> None:
        done[0] += n_points
        bar.set_description(f"{done[0]}/{points} points", refresh=False)
        bar.update(n_reps)

    return tick, bar.close


def cmd_compare(args: argparse.Namespace) -> int:
    from .model.scenario import load_scenario
    from .study.compare import compare, compare_text

    a = load_scenario(args.scenario_a, _overrides(args.set))
    b = load_scenario(args.scenario_b, _overrides(args.set))
    res = compare(a, b, reps=args.reps, seed=args.seed, workers=args.workers,
                  max_events=args.max_events,
                  engine=args.engine)
    print(json.dumps(json_safe(res), indent=2) if args.json else compare_text(res))
    return 0


def _varied(args: argparse.Namespace, command: str) -> tuple[Scenario, list[Any], str]:
    """The scenario, its --vary parameters and the output folder of an analysis command
    (sensitivity, screen), refusing what cannot run."""
    from .study.designs import parse_vary

    sc = _load(args)
    if not args.vary:
        raise UsageError(f"{command} needs at least one --vary PATH=LO:HI:N (the range)")
    params = [parse_vary(v, sc) for v in args.vary]
    _check_set_vs_vary(args, [p.path for p in params])
    if args.scheduler and args.workers:
        raise UsageError("give --workers (local processes) or --scheduler (Dask), not both")
    return sc, params, args.out or f"runs/{safe_name(sc.name)}-{command}"


def _workers_or_cluster(args: argparse.Namespace) -> tuple[Any, Any, int | None]:
    """(executor, Dask client, workers): local processes, or the --scheduler's cluster."""
    executor, client = _dask_executor(args.scheduler) if args.scheduler else (None, None)
    workers = _cluster_threads(client) if client is not None else args.workers
    return executor, client, workers


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .study.sensitivity import sensitivity, sensitivity_text

    sc, params, out = _varied(args, "sensitivity")
    d = len(params)
    executor, client, workers = _workers_or_cluster(args)
    tick, close = _sweep_progress(args.seeds * args.samples * (d + 2) + 2 * d + 1, args.reps,
                                  args.quiet)
    try:
        res = sensitivity(sc, params, samples=args.samples, reps=args.reps, seed=args.seed,
                          out=out, output=args.output, initiative=args.initiative,
                          workers=workers, executor=executor, resume=args.resume,
                          progress=tick, seeds=args.seeds, force=args.force,
                          engine=args.engine)
    finally:
        close()
        if client is not None:
            client.close()
    print(json.dumps(json_safe(res), indent=2) if args.json else sensitivity_text(res))
    return 0


class _PlotKinds:
    """The plot kinds, read from the plot registry only when argparse needs them (so that
    `relaysim --help` does not import matplotlib)."""

    def _kinds(self) -> list[str]:
        from .present.plot import KINDS

        return list(KINDS)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds()

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds())


def cmd_discover(args: argparse.Namespace) -> int:
    from .present.results import open_results
    from .study.discover import discover, discovery_text

    res = open_results(args.run_dir)
    d = discover(res, args.where, per_rep=args.per_rep, initiative=args.initiative,
                 out=args.out, method=args.method, threshold=args.threshold,
                 peel_alpha=args.peel_alpha, mass_min=args.mass_min, boxes=args.boxes,
                 seed=args.seed)
    folder = Path(d["folder"])
    written = ["discovery.json"]
    if not args.no_figures:
        from .present import plot as P
        from .present.plot import save

        kinds = (("tradeoff", P.tradeoff), ("boxlims", P.boxlims))
        for kind, fn in kinds:
            if kind == "tradeoff" and args.method != "prim":
                continue
            try:
                fig = fn(folder)
            except UsageError:  # e.g. no box restricts anything: no figure to draw
                continue
            save(fig, folder / f"discovery-{kind}.png")
            written.append(f"discovery-{kind}.png")
    if args.json:
        print(json.dumps(json_safe(d), indent=2))
    else:
        print(discovery_text(d))
        print(f"\nwrote {', '.join(written)} in {folder}")
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    from .study.screen import screen, screening_text

    sc, params, out = _varied(args, "screen")
    executor, client, workers = _workers_or_cluster(args)
    tick, close = _sweep_progress(args.trajectories * (len(params) + 1), args.reps, args.quiet)
    try:
        res = screen(sc, params, trajectories=args.trajectories, reps=args.reps,
                     seed=args.seed, out=out, output=args.output, initiative=args.initiative,
                     levels=args.levels, workers=workers, executor=executor,
                     resume=args.resume, progress=tick, force=args.force,
                     engine=args.engine)
    finally:
        close()
        if client is not None:
            client.close()
    print(json.dumps(json_safe(res), indent=2) if args.json else screening_text(res))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .present import plot as P

    check_output_file(args.output, "--output")
    fig = P.plot(args.source, args.kind, x=args.x, y=args.y, initiative=args.initiative)
    P.save(fig, args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .present.report import write_report

    check_output_file(args.output, "--output")
    p = write_report(args.source, args.output, variants=args.variants)
    print(f"wrote {p}")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    from .app.levers import default_levers, parse_lever

    sc = _load(args)
    extra = [parse_lever(t, sc) for t in args.lever or ()]
    if args.export:
        from .app.export import export

        check_output_file(args.export, "--export")
        if not extra:
            raise UsageError("--export needs at least one --lever PATH=LO:HI (the grid's axes)")
        p = export(sc, extra, args.export, grid=args.grid, reps=args.reps, seed=args.seed,
                   workers=args.workers, quiet=args.quiet, engine=args.engine)
        print(f"wrote {p}")
        return 0
    from .app.server import serve

    given = {lv.path for lv in extra}
    levers = [lv for lv in default_levers(sc) if lv.path not in given] + extra
    serve(sc, levers, reps=args.reps, seed=args.seed, port=args.port, host=args.host,
          open_browser=args.open, save_dir=args.save_dir, workers=args.workers,
          engine=args.engine)
    return 0


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def _pos_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _force_arg(sp: argparse.ArgumentParser, out: bool = True) -> None:
    sp.add_argument("--force", action="store_true",
                    help=("write into an --out folder that holds other files, " if out else "")
                    + "and allow --workers above 4 per core")


def _engine_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--engine", choices=("auto", "fast", "simpy"), default="auto",
                    help="fast (compiled), simpy (the reference model) or auto (fast, SimPy "
                         "without numba); the results are the same")


def _max_events(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 1e11, got {text!r}"
                                         ) from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _max_events_arg(sp: argparse.ArgumentParser) -> None:
    from .study.limits import MAX_EVENTS, REP_SHARE

    sp.add_argument("--max-events", type=_max_events, default=None, metavar="N",
                    help=f"refuse work expected to need more simulation events than N "
                         f"(default {MAX_EVENTS:g}; one replication at most N/{REP_SHARE})")


def _scenario_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("scenario", help="scenario file (TOML)")
    sp.add_argument("--set", action="append", metavar="PATH=VALUE",
                    help="override a parameter by dotted path (repeatable), "
                         "e.g. --set zones.principal.fumble=0.2")


def _parser_run(sub: Any) -> None:
    r = sub.add_parser("run", help="Monte Carlo estimates for a scenario")
    _scenario_args(r)
    r.add_argument("--reps", type=_pos_int, default=1000, help="replications (default 1000)")
    r.add_argument("--seed", type=_nonneg_int, default=0, help="seed (default 0)")
    r.add_argument("--workers", type=_pos_int, default=None,
                   help=f"processes (default all cores: {default_workers()})")
    r.add_argument("--chunk-size", type=_pos_int, default=None,
                   help="replications per unit of work (does not change results)")
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    r.add_argument("--per-rep", metavar="FILE.csv", help="write one row per replication")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _force_arg(r, out=False)
    _max_events_arg(r)
    _engine_arg(r)
    r.set_defaults(func=cmd_run)


def _parser_validate(sub: Any) -> None:
    v = sub.add_parser("validate", help="check a scenario file; print every problem or 'ok'")
    _scenario_args(v)
    v.add_argument("--list-paths", action="store_true",
                   help="print every settable dotted path with its current value")
    v.set_defaults(func=cmd_validate)


def _parser_trace(sub: Any) -> None:
    t = sub.add_parser("trace", help="one replication, event by event, in words")
    _scenario_args(t)
    t.add_argument("--seed", type=_nonneg_int, default=0)
    t.add_argument("--rep", type=_nonneg_int, default=0, help="which replication (default 0)")
    t.add_argument("--json", action="store_true", help="events as JSON")
    t.add_argument("--out", metavar="FILE", help="write to a file instead of stdout")
    t.set_defaults(func=cmd_trace)


def _parser_sweep(sub: Any) -> None:
    sw = sub.add_parser("sweep", help="run a design of parameter values into a resumable store")
    _scenario_args(sw)
    sw.add_argument("--vary", action="append", metavar="PATH=LO:HI:N|PATH=V1,V2,...",
                    help="a parameter to vary (repeatable)")
    sw.add_argument("--design", default="grid",
                    help="grid (default), lhs, sobol, or a CSV file of points")
    sw.add_argument("--samples", type=_pos_int, help="points for lhs/sobol")
    sw.add_argument("--reps", type=_pos_int, default=1000, help="replications per point "
                    "(the cap under --precision)")
    sw.add_argument("--seed", type=_nonneg_int, default=0)
    sw.add_argument("--workers", type=_pos_int, default=None, help="local processes "
                    f"(default all cores: {default_workers()})")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    sw.add_argument("--precision", type=float, metavar="H",
                    help="add replications until every completion rate is within +-H "
                    "(at least --min-reps first; Wilson at the worse of p and 1/2 within +-H)")
    sw.add_argument("--min-reps", type=_pos_int, default=200,
                    help="under --precision, replications per point before it may stop "
                    "(default 200)")
    sw.add_argument("--chunk-size", type=_pos_int, default=None,
                    help="replications per unit of work")
    sw.add_argument("--store", metavar="FILE.sqlite", help="store (default OUT/store.sqlite)")
    sw.add_argument("--resume", action="store_true", help="continue an interrupted sweep")
    sw.add_argument("--out", metavar="DIR", help="output folder (default runs/<name>-<time>)")
    _force_arg(sw)
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    _max_events_arg(sw)
    _engine_arg(sw)
    sw.set_defaults(func=cmd_sweep)


def _parser_compare(sub: Any) -> None:
    c = sub.add_parser("compare", help="B minus A with the same random numbers (paired)")
    c.add_argument("scenario_a")
    c.add_argument("scenario_b")
    c.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a parameter in both scenarios")
    c.add_argument("--reps", type=_pos_int, default=1000)
    c.add_argument("--seed", type=_nonneg_int, default=0)
    c.add_argument("--workers", type=_pos_int, default=None)
    c.add_argument("--json", action="store_true")
    _force_arg(c, out=False)
    _max_events_arg(c)
    _engine_arg(c)
    c.set_defaults(func=cmd_compare)


def _parser_sensitivity(sub: Any) -> None:
    se = sub.add_parser("sensitivity", help="Sobol indices (95%% CI) and a tornado")
    _scenario_args(se)
    se.add_argument("--vary", action="append", metavar="PATH=LO:HI:N",
                    help="a parameter and its range (repeatable; N is ignored)")
    se.add_argument("--samples", type=_pos_int, required=True,
                    help="N of the Saltelli design, a power of two (N*(d+2) points)")
    se.add_argument("--reps", type=_pos_int, default=400, help="replications per point")
    se.add_argument("--seed", type=_nonneg_int, default=0)
    se.add_argument("--seeds", type=_pos_int, default=4, metavar="K",
                    help="run the design under K independent seeds and put the replication "
                    "noise into the intervals (default 4; 1: bootstrap only, noise left out)")
    se.add_argument("--output", default="completion_rate",
                    choices=("completion_rate", "coverage_mean"))
    se.add_argument("--initiative", help="which initiative (default the first)")
    se.add_argument("--workers", type=_pos_int, default=None, help="local processes "
                    f"(default all cores: {default_workers()})")
    se.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    se.add_argument("--out", metavar="DIR", help="folder (default runs/<name>-sensitivity)")
    _force_arg(se)
    se.add_argument("--resume", action="store_true")
    se.add_argument("--json", action="store_true")
    se.add_argument("--quiet", action="store_true")
    _engine_arg(se)
    se.set_defaults(func=cmd_sensitivity)


def _parser_discover(sub: Any) -> None:
    di = sub.add_parser("discover", help="scenario discovery: where in the swept ranges a "
                        "condition (failure) concentrates (PRIM or CART)")
    di.add_argument("run_dir", metavar="RUN_DIR", help="a sweep folder (LHS/Sobol/grid), its "
                    "store or results.csv")
    di.add_argument("--where", required=True, metavar="CONDITION",
                    help="e.g. \"completion_rate < 0.5\" (per point) or, with --per-rep, "
                         "\"completed == 0\"")
    di.add_argument("--per-rep", action="store_true",
                    help="one case per stored replication (completed, coverage, time)")
    di.add_argument("--initiative", help="which initiative (default the first)")
    di.add_argument("--method", default="prim", choices=("prim", "cart"))
    di.add_argument("--threshold", type=float, default=0.8,
                    help="density a box must reach (default 0.8)")
    di.add_argument("--peel-alpha", type=float, default=0.05, help="PRIM's peeling step")
    di.add_argument("--mass-min", type=float, default=0.05,
                    help="smallest share of cases in a box (default 0.05)")
    di.add_argument("--boxes", type=_pos_int, default=1, help="PRIM boxes to find in turn")
    di.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the feature scores")
    di.add_argument("--out", metavar="DIR", help="where discovery.json and figures go "
                    "(default RUN_DIR)")
    di.add_argument("--no-figures", action="store_true")
    di.add_argument("--json", action="store_true")
    di.set_defaults(func=cmd_discover)


def _parser_screen(sub: Any) -> None:
    sc_ = sub.add_parser("screen", help="Morris screening: which levers matter at all")
    _scenario_args(sc_)
    sc_.add_argument("--vary", action="append", metavar="PATH=LO:HI:N",
                     help="a parameter and its range (repeatable; N is ignored)")
    sc_.add_argument("--trajectories", type=_pos_int, required=True, metavar="R",
                     help="Morris trajectories (R*(d+1) points)")
    sc_.add_argument("--levels", type=_pos_int, default=4, help="grid levels (even; default 4)")
    sc_.add_argument("--reps", type=_pos_int, default=200, help="replications per point")
    sc_.add_argument("--seed", type=_nonneg_int, default=0)
    sc_.add_argument("--output", default="completion_rate",
                     choices=("completion_rate", "coverage_mean"))
    sc_.add_argument("--initiative", help="which initiative (default the first)")
    sc_.add_argument("--workers", type=_pos_int, default=None, help="local processes "
                     f"(default all cores: {default_workers()})")
    sc_.add_argument("--scheduler", metavar="ADDRESS",
                     help="Dask scheduler, e.g. tcp://host:8786")
    sc_.add_argument("--out", metavar="DIR", help="folder (default runs/<name>-screen)")
    _force_arg(sc_)
    sc_.add_argument("--resume", action="store_true")
    sc_.add_argument("--json", action="store_true")
    sc_.add_argument("--quiet", action="store_true")
    _engine_arg(sc_)
    sc_.set_defaults(func=cmd_screen)


def _parser_plot(sub: Any) -> None:
    pl = sub.add_parser("plot", help="a figure from a sweep or sensitivity folder or store")
    pl.add_argument("source", metavar="STORE_OR_DIR")
    pl.add_argument("--kind", required=True, choices=_PlotKinds(), metavar="KIND",
                    help="the figure: curve, heatmap, tornado, sobol, survival, drops, relay, "
                         "... (a wrong name lists them all)")
    pl.add_argument("-o", "--output", required=True, metavar="FILE",
                    help="PNG, SVG or PDF (by extension)")
    pl.add_argument("--x", help="parameter on the x axis (curve, heatmap)")
    pl.add_argument("--y", help="parameter on the y axis (heatmap)")
    pl.add_argument("--initiative", help="which initiative (default the first)")
    pl.set_defaults(func=cmd_plot)



def _parser_explore(sub: Any) -> None:
    ex = sub.add_parser("explore", help="a local web page to pull levers and see the relay "
                        "change (needs relaysim[app]); --export writes a take-away page")
    _scenario_args(ex)
    ex.add_argument("--port", type=_nonneg_int, default=0, help="port (default: a free one)")
    ex.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only)")
    ex.add_argument("--open", action="store_true", help="open a browser tab")
    ex.add_argument("--reps", type=_pos_int, default=500,
                    help="replications per variant (default 500)")
    ex.add_argument("--seed", type=_nonneg_int, default=0, help="seed (default 0)")
    ex.add_argument("--workers", type=_pos_int, default=None,
                    help=f"processes (default all cores: {default_workers()})")
    ex.add_argument("--lever", action="append", metavar="PATH=LO:HI",
                    help="another lever by dotted path and range (repeatable)")
    ex.add_argument("--save-dir", default=".", metavar="DIR",
                    help="the only folder Save variant and Add to report write into "
                         "(default: here)")
    ex.add_argument("--export", metavar="FILE.html",
                    help="run the --lever grid and write one self-contained HTML page")
    ex.add_argument("--grid", type=_pos_int, default=3,
                    help="grid points per --lever for --export (default 3)")
    ex.add_argument("--quiet", action="store_true", help="no progress bar (--export)")
    _engine_arg(ex)
    _force_arg(ex, out=False)
    ex.set_defaults(func=cmd_explore)


def _parser_report(sub: Any) -> None:
    rp = sub.add_parser("report", help="one self-contained HTML report")
    rp.add_argument("source", metavar="STORE_OR_DIR")
    rp.add_argument("-o", "--output", default="report.html", metavar="FILE")
    rp.add_argument("--variants", metavar="FILE.json",
                    help="include the variants kept with relaysim explore's Add to report "
                         "(explorer-variants.json in its save folder)")
    rp.set_defaults(func=cmd_report)


#: one function per command, each adding its parser (in the order of --help)
_PARSERS = (
    _parser_run,
    _parser_validate,
    _parser_trace,
    _parser_sweep,
    _parser_compare,
    _parser_sensitivity,
    _parser_discover,
    _parser_screen,
    _parser_explore,
    _parser_plot,
    _parser_report,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="relaysim",
        description="Simulate a district initiative as a relay race: where does the baton fall?",
    )
    p.add_argument("--version", action="version", version=f"relaysim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _PARSERS:
        add(sub)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler, `docker stop`, `timeout`): stop as for Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends at once
    raise Terminated


#: commands that keep their finished chunks in a store: an interrupted one can resume
_RESUMABLE = ("sweep", "sensitivity", "screen")


def _interrupted(args: argparse.Namespace, e: KeyboardInterrupt) -> int:
    what = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
    hint = ""
    if args.command in _RESUMABLE:
        hint = ("; finished chunks are kept: run the same command with --resume"
                + ("" if getattr(args, "out", None) else " and the --out folder") + " to go on")
    print(f"relaysim: {what}{hint}", file=sys.stderr)
    return 143 if isinstance(e, Terminated) else 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _check_workers(args)
        return int(args.func(args))
    except RelaysimError as e:
        print(f"relaysim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated)
        return _interrupted(args, e)
    except BrokenPipeError:  # e.g. `relaysim trace ... | head`
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
