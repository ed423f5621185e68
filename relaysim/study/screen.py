"""Screening: which of many parameters matter at all (Morris elementary effects).

SALib-shaped: `sample` draws R Morris trajectories (SALib.sample.morris) in the unit cube
of the varied parameters, each one step per parameter on a p-level grid; the points run as
one sweep (parallel, in a store, resumable, on Dask if asked), every point with the same
random numbers (common random numbers), so a parameter that changes nothing has an
elementary effect of exactly 0; `analyse` hands the outputs to SALib.analyze.morris: mu*
(the mean absolute elementary effect), its bootstrap 95% interval, and sigma (the spread
of the effects: interactions or non-linearity).

Effects are in the output's units per a move across the parameter's whole range (SALib's
delta = p / (2(p - 1)) of the range, divided out), e.g. mu* = 0.4 for the completion rate:
moving that lever across its range changes the chance of implementation by about 40
points on average.

SALib is an optional extra: ``pip install 'relaysim[screening]'``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..errors import UsageError
from ..files import atomic_write, json_safe
from ..model.scenario import Scenario
from .designs import MAX_POINTS, Parameter
from .sensitivity import initiative_name
from .sweep import Progress, sweep

__all__ = ["sample", "analyse", "screen", "screening_text", "OUTPUTS"]

OUTPUTS = ("completion_rate", "coverage_mean")


def _salib() -> tuple[Any, Any]:
    try:
        from SALib.analyze import morris as analyze_morris
        from SALib.sample import morris as sample_morris
    except ImportError:
        raise UsageError("screening needs SALib: pip install 'relaysim[screening]'") from None
    return sample_morris, analyze_morris


def _problem(params: list[Parameter]) -> dict[str, Any]:
    return {"num_vars": len(params), "names": [p.path for p in params],
            "bounds": [[0.0, 1.0]] * len(params)}


def sample(params: list[Parameter], trajectories: int, levels: int = 4, seed: int = 0
           ) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Points of R Morris trajectories (R*(d+1) points) and their unit-cube coordinates.

    Each unit coordinate is mapped onto the parameter's range (or list of values) as
    designs.Parameter.from_unit does, so whole numbers stay whole and lists are indexed."""
    if not params:
        raise UsageError("screening needs at least one --vary")
    if len({p.path for p in params}) != len(params):
        raise UsageError("each path may be varied only once")
    if trajectories * (len(params) + 1) > MAX_POINTS:
        raise UsageError(f"--trajectories {trajectories} gives "
                         f"{trajectories * (len(params) + 1):,} points, more than the limit "
                         f"of {MAX_POINTS:,}")
    if trajectories < 2:
        raise UsageError(f"--trajectories must be at least 2 (for an interval), got "
                         f"{trajectories}")
    if levels < 2 or levels % 2:
        raise UsageError(f"--levels must be an even number >= 2, got {levels}")
    sample_morris, _ = _salib()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x302,)))
    x = sample_morris.sample(_problem(params), trajectories, num_levels=levels,
                             seed=int(rng.integers(2**31 - 1)))
    x = np.clip(x, 0.0, 1.0)
    points = [{p.path: p.from_unit(float(u)) for p, u in zip(params, row, strict=True)}
              for row in x]
    return points, x


def analyse(params: list[Parameter], x: np.ndarray, y: np.ndarray, levels: int = 4,
            seed: int = 0, resamples: int = 1000) -> list[dict[str, Any]]:
    """mu*, its bootstrap 95% interval, mu and sigma per parameter (SALib), strongest first."""
    _, analyze_morris = _salib()
    if np.isnan(y).any():
        raise UsageError("some points have no estimate of the output (no replication "
                         "observed); screening needs every point")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    res = analyze_morris.analyze(_problem(params), x, y, num_resamples=resamples,
                                 conf_level=0.95, num_levels=levels,
                                 seed=int(rng.integers(2**31 - 1)))
    out = []
    for i, p in enumerate(params):
        mu_star = float(res["mu_star"][i])
        half = float(res["mu_star_conf"][i])
        if math.isnan(half):
            half = 0.0
        out.append({"parameter": p.path, "mu_star": mu_star,
                    "mu_star_ci95": [max(0.0, mu_star - half), mu_star + half],
                    "mu": float(res["mu"][i]), "sigma": float(res["sigma"][i])})
    out.sort(key=lambda r: -r["mu_star"])
    return out


def screen(scenario: Scenario, params: list[Parameter], trajectories: int, reps: int = 200,
           seed: int = 0, out: str | Path = "screen", output: str = "completion_rate",
           initiative: str | None = None, levels: int = 4, workers: int | None = None,
           executor: Any = None, resume: bool = False, resamples: int = 1000,
           progress: Progress | None = None, force: bool = False, engine: str = "auto"
           ) -> dict[str, Any]:
    """Morris screening as one sweep into OUT (results.csv, store.sqlite, manifest.json,
    so `relaysim report OUT` and `relaysim plot OUT` read it) plus OUT/screening.json."""
    if output not in OUTPUTS:
        raise UsageError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    points, x = sample(params, trajectories, levels, seed)
    name = initiative_name(scenario, initiative)
    res = sweep(scenario, points, reps=reps, seed=seed, out=out, resume=resume,
                workers=workers, executor=executor, progress=progress, force=force,
                engine=engine)
    if res.failed:
        raise UsageError(f"{len(res.failed)} chunk(s) of the screening sweep failed (see "
                         f"{res.out / 'store.sqlite'}); first error: {res.failed[0][3]}")

    def value(row: dict[str, Any]) -> float:
        s = row["initiatives"].get(name)
        if s is None:
            raise UsageError(f"no initiative named {name!r} in the results")
        v = s[output]
        return math.nan if v is None else float(v)

    y = np.array([value(r) for r in res.rows])
    effects = analyse(params, x, y, levels, seed, resamples)
    result = {
        "scenario": scenario.name, "scenario_hash": scenario.hash, "seed": seed,
        "reps_per_point": reps, "trajectories": trajectories, "levels": levels,
        "points": len(points), "relaysim_version": __version__,
        "stream_version": STREAM_VERSION, "initiative": name,
        "output": output, "parameters": [p.path for p in params],
        "ranges": {p.path: (list(p.values) if p.values is not None else [p.lo, p.hi])
                   for p in params},
        "output_mean": float(np.mean(y)), "output_sd": float(np.std(y, ddof=1)),
        "morris": effects, "ranking": [e["parameter"] for e in effects],
        "no_effect": [e["parameter"] for e in effects if e["mu_star_ci95"][0] <= 0],
    }
    atomic_write(Path(res.out) / "screening.json", json.dumps(json_safe(result), indent=2))
    return result


def screening_text(res: dict[str, Any]) -> str:
    what = "completion rate" if res["output"] == "completion_rate" else "coverage"
    lines = [f"Which levers move the {what} of '{res['initiative']}' in '{res['scenario']}' at "
             f"all (Morris: {res['trajectories']} trajectories, {res['points']} points x "
             f"{res['reps_per_point']} replications, seed {res['seed']}, random streams "
             f"v{res['stream_version']})", "",
             f"{'parameter':<40} {'mu* (95% CI)':>24} {'sigma':>8}"]
    for e in res["morris"]:
        lo, hi = e["mu_star_ci95"]
        lines.append(f"{e['parameter']:<40} {e['mu_star']:7.3f} [{lo:6.3f}, {hi:6.3f}] "
                     f"{e['sigma']:8.3f}")
    lines += ["", "mu*: the average size of the change in the output when the lever moves "
              "across its whole range; sigma: how much that change depends on the other "
              "levers (interactions, curvature)."]
    if res["no_effect"]:
        lines.append(f"No detectable effect (interval reaches 0): {', '.join(res['no_effect'])}"
                     ". Leave these out of a Sobol analysis.")
    return "\n".join(lines)
