"""The command line: a thin layer over the public API (relaysim.load_scenario, run, trace).

Every error a user can cause ends in a message naming the file and dotted path, and exit
status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .errors import RelaysimError, UsageError
from .run import atomic_write, default_workers, run
from .scenario import Scenario, load_scenario, parse_value
from .trace import trace


def _overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in pairs or ():
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            raise UsageError(f"--set expects PATH=VALUE (e.g. zones.principal.fumble=0.2), "
                             f"got {item!r}")
        out[path.strip()] = parse_value(value.strip())
    return out


def _load(args: argparse.Namespace) -> Scenario:
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
    sc = _load(args)
    tick, close = _progress(args.reps, args.quiet)
    try:
        res = run(sc, reps=args.reps, seed=args.seed, workers=args.workers,
                  chunk_size=args.chunk_size, progress=tick)
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
    sc = _load(args)
    tr = trace(sc, seed=args.seed, rep=args.rep)
    text = tr.to_json() if args.json else tr.text()
    if args.out:
        atomic_write(args.out, text + "\n")
    else:
        print(text)
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
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="relaysim",
        description="Simulate a district initiative as a relay race: where does the baton fall?",
    )
    p.add_argument("--version", action="version", version=f"relaysim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def scenario_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", help="scenario file (TOML)")
        sp.add_argument("--set", action="append", metavar="PATH=VALUE",
                        help="override a parameter by dotted path (repeatable), "
                             "e.g. --set zones.principal.fumble=0.2")

    r = sub.add_parser("run", help="Monte Carlo estimates for a scenario")
    scenario_args(r)
    r.add_argument("--reps", type=_pos_int, default=1000, help="replications (default 1000)")
    r.add_argument("--seed", type=_nonneg_int, default=0, help="seed (default 0)")
    r.add_argument("--workers", type=_pos_int, default=None,
                   help=f"processes (default all cores: {default_workers()})")
    r.add_argument("--chunk-size", type=_pos_int, default=None,
                   help="replications per unit of work (does not change results)")
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    r.add_argument("--per-rep", metavar="FILE.csv", help="write one row per replication")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check a scenario file; print every problem or 'ok'")
    scenario_args(v)
    v.add_argument("--list-paths", action="store_true",
                   help="print every settable dotted path with its current value")
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("trace", help="one replication, event by event, in words")
    scenario_args(t)
    t.add_argument("--seed", type=_nonneg_int, default=0)
    t.add_argument("--rep", type=_nonneg_int, default=0, help="which replication (default 0)")
    t.add_argument("--json", action="store_true", help="events as JSON")
    t.add_argument("--out", metavar="FILE", help="write to a file instead of stdout")
    t.set_defaults(func=cmd_trace)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RelaysimError as e:
        print(f"relaysim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("relaysim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `relaysim trace ... | head`
        return 0
