"""Explorer responsiveness: time from a lever change to new numbers (and to new figures).

    python benchmarks/explorer.py                 # 500 replications of scenarios/baseline.toml
    python benchmarks/explorer.py --quick         # a smoke run (minimal.toml, 50 reps)

It drives relaysim.app.session.Explorer, the object behind the `relaysim explore` page,
without a browser: the scenario as written is run once, then each lever change below is
requested and timed until its paired numbers are in (what the page shows first) and until
its three figures are drawn. A last row fires three changes 50 ms apart, as a planner
dragging a slider does, and times the newest one's numbers (older runs are superseded).
The engine is whatever `relaysim.run` picks (engine="auto" once the fast engine lands);
the table says which. Issue 15's target: new numbers within 1 s for 500 replications of
the baseline on two cores with the fast engine. Timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from engine import _load, machine_info  # noqa: E402

import relaysim  # noqa: E402
from relaysim.app.levers import default_levers  # noqa: E402
from relaysim.app.session import Explorer  # noqa: E402
from relaysim.files import atomic_write  # noqa: E402

DEFAULT_OUT = HERE / "results" / "explorer.json"
QUICK_OUT = HERE / "results" / "explorer-quick.json"


def changes(sc: relaysim.Scenario) -> list[dict[str, Any]]:
    """Lever changes a planning session might make, one after another."""
    zones = [lv.name for k, lv in enumerate(sc.levels) if k > 0 and not lv.merged_with_parent]
    out: list[dict[str, Any]] = [{f"zones.{zones[-1]}.rehearsed": True}]
    if len(zones) > 1:
        out.append({f"zones.{zones[-1]}.rehearsed": True, f"zones.{zones[-2]}.checkpoint": True})
    out.append({f"zones.{zones[0]}.fumble": 0.05})
    out.append({f"levels.{sc.levels[1].name}.succession": 0.2})
    out.append({})  # back to the scenario as written (no run: the stored one)
    return out


def bench(scenario: Path, reps: int, seed: int, workers: int | None) -> dict[str, Any]:
    sc = relaysim.load_scenario(scenario)
    t0 = time.perf_counter()
    ex = Explorer(sc, default_levers(sc), reps=reps, seed=seed, workers=workers)
    try:
        ex.wait(1, figures=True)
        start = time.perf_counter() - t0
        rows = []
        for values in changes(sc):
            g = ex.request(values)
            v = ex.wait(g, figures=True)
            assert v is not None, ex.error
            rows.append({"change": values, "numbers_s": v.seconds,
                         "figures_s": v.figure_seconds,
                         "completion": v.numbers["variant"]["completion_rate"]["estimate"]})
        # a dragged slider: three changes 50 ms apart; the newest one's numbers count
        zone = f"zones.{sc.levels[-1].name}.fumble"
        t1 = time.perf_counter()
        for x in (0.2, 0.12, 0.08):
            g = ex.request({zone: x})
            time.sleep(0.05)
        v = ex.wait(g)
        first_to_newest = time.perf_counter() - t1
        assert v is not None, ex.error
        v = ex.wait(g, figures=True)
        drag = {"changes": 3, "spacing_s": 0.05,
                "newest_numbers_s_after_first_change": first_to_newest,
                "newest_numbers_s": v.seconds, "newest_figures_s": v.figure_seconds,
                "shown_generations": ex.shown[-3:]}
    finally:
        ex.close()
    timed = [r for r in rows if r["change"]]
    return {"scenario": str(scenario.relative_to(ROOT)) if scenario.is_relative_to(ROOT)
            else str(scenario), "reps": reps, "seed": seed, "workers": ex.workers,
            "engine": ex.engine, "slow_engine": ex.slow_engine,
            "startup_s": start, "base_run_s": ex.base_seconds, "changes": rows,
            "numbers_s_median": statistics.median(r["numbers_s"] for r in timed),
            "figures_s_median": statistics.median(r["figures_s"] for r in timed),
            "drag": drag}


def render(doc: dict[str, Any]) -> str:
    r = doc["result"]
    lines = [f"Explorer: {r['scenario']}, {r['reps']} replications, seed {r['seed']}, "
             f"{r['workers']} workers, engine {r['engine']}"
             + (" (the slower SimPy engine)" if r["slow_engine"] else ""),
             f"start-up (scenario as written + first page): {r['startup_s']:.2f} s",
             "", f"{'change':<62} {'numbers':>8} {'figures':>8} {'completion':>10}"]
    for c in r["changes"]:
        what = ", ".join(f"{k}={json.dumps(v)}" for k, v in c["change"].items()) or \
            "(back to as written)"
        lines.append(f"{what[:62]:<62} {c['numbers_s']:>7.2f}s {c['figures_s']:>7.2f}s "
                     f"{100 * c['completion']:>9.1f}%")
    d = r["drag"]
    lines += ["", f"median over changes: numbers {r['numbers_s_median']:.2f} s, figures "
              f"{r['figures_s_median']:.2f} s",
              f"dragged slider (3 changes 50 ms apart): newest numbers "
              f"{d['newest_numbers_s']:.2f} s after the newest change "
              f"({d['newest_numbers_s_after_first_change']:.2f} s after the first); shown "
              f"{d['shown_generations']}",
              f"load average at start {doc['load_start']}, at end {doc['load_end']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.toml")
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="minimal.toml, 50 replications")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.quick:
        a.scenario, a.reps = ROOT / "scenarios" / "minimal.toml", 50
    out = a.out or (QUICK_OUT if a.quick else DEFAULT_OUT)
    doc: dict[str, Any] = {"mode": "quick" if a.quick else "full",
                           "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                           "machine": machine_info(), "load_start": _load()}
    t = time.perf_counter()
    doc["result"] = bench(a.scenario.resolve(), a.reps, a.seed, a.workers)
    doc["wall_seconds"] = time.perf_counter() - t
    doc["load_end"] = _load()
    atomic_write(out, json.dumps(doc, indent=2) + "\n")
    print(render(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
