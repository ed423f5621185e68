"""Sensitivity: which lever matters most (an 'analysis' over a sweep).

Sobol indices: a Saltelli design (matrices A, B and the d mixes A_B^(i), from a scrambled
Sobol sequence) is run as one sweep, so it runs in parallel, in a store, and resumes; the
completion rate (or coverage) at each point is handed to scipy.stats.sobol_indices, whose
bootstrap gives 95% intervals. Every point shares its random numbers (common random
numbers), which keeps replication noise from masquerading as a parameter effect; the noise
that remains is estimated from the binomial variance at each point and reported as a share
of the output variance.

Tornado: one parameter at a time at the low and the high end of its range, every other
parameter at the scenario's value, also as one sweep.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import stats
from scipy.stats import qmc

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..errors import UsageError
from ..files import atomic_write, json_safe
from ..model.scenario import Scenario
from .designs import Parameter
from .sweep import Progress, sweep

__all__ = ["sensitivity", "saltelli_points", "tornado_points", "sensitivity_text"]

OUTPUTS = ("completion_rate", "coverage_mean")


def saltelli_points(params: list[Parameter], n: int, seed: int
                    ) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Points of A, B and A_B^(i) (i = 1..d), in that order, and the unit samples."""
    if n < 2 or n & (n - 1):
        lower = 1 << max(1, n.bit_length() - 1)
        raise UsageError(f"Sobol indices need --samples a power of two (>= 2), got {n} "
                         f"(try {lower} or {lower * 2})")
    d = len(params)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5A1,)))
    u = qmc.Sobol(2 * d, rng=rng).random(n)
    a, b = u[:, :d], u[:, d:]
    mats = [a, b]
    for i in range(d):
        ab = a.copy()
        ab[:, i] = b[:, i]
        mats.append(ab)
    units = np.vstack(mats)
    points = [{p.path: p.from_unit(float(x)) for p, x in zip(params, row, strict=True)}
              for row in units]
    return points, units


def _bootstrap(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray, n_resamples: int,
               seed: int) -> tuple[Any, Any, np.ndarray]:
    """BCa bootstrap intervals of the Saltelli (2010) estimators, the ones
    scipy.stats.sobol_indices uses, resampling the N base rows with a seeded generator
    (SobolResult.bootstrap would draw from numpy's global state: not reproducible)."""
    d = f_ab.shape[0]
    # centred on the full-sample mean, as scipy does before estimating (Sobol' & Levitan
    # 1999); the resamples are not re-centred, matching SobolResult.bootstrap
    mean = np.mean(np.concatenate([f_a, f_b]))
    f_a, f_b, f_ab = f_a - mean, f_b - mean, f_ab - mean

    def statistic(idx: np.ndarray) -> np.ndarray:
        a, b, ab = f_a[idx], f_b[idx], f_ab[:, idx]
        var = np.var(np.concatenate([a, b]))
        if var == 0:
            return np.zeros(2 * d)
        first = np.mean(b * (ab - a), axis=-1) / var
        total = 0.5 * np.mean((a - ab) ** 2, axis=-1) / var
        return np.concatenate([first, total])

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    with warnings.catch_warnings():
        # a parameter with no effect at all gives a degenerate bootstrap (BCa undefined)
        warnings.simplefilter("ignore")
        res = stats.bootstrap([np.arange(len(f_a))], statistic, method="BCa",
                              n_resamples=n_resamples, vectorized=False, rng=rng)
    ci = res.confidence_interval
    point = statistic(np.arange(len(f_a)))
    return (_CI(ci.low[:d], ci.high[:d]), _CI(ci.low[d:], ci.high[d:]), point)


class _CI(NamedTuple):
    low: np.ndarray
    high: np.ndarray


def tornado_points(params: list[Parameter]) -> list[dict[str, Any]]:
    """The scenario as written, then for each parameter its low end and its high end
    (every other parameter at the scenario's value)."""
    points: list[dict[str, Any]] = [{}]
    for p in params:
        if p.values is not None:
            lo, hi = p.values[0], p.values[-1]
        elif p.kind == "int":
            lo, hi = round(p.lo or 0), round(p.hi or 0)
        else:
            lo, hi = float(p.lo or 0.0), float(p.hi or 0.0)
        points += [{p.path: lo}, {p.path: hi}]
    return points


def sensitivity(scenario: Scenario, params: list[Parameter], samples: int, reps: int = 400,
                seed: int = 0, out: str | Path = "sensitivity", output: str = "completion_rate",
                initiative: str | None = None, workers: int | None = None,
                executor: Any = None, resume: bool = False, bootstrap: int = 999,
                progress: Progress | None = None, engine: str = "auto") -> dict[str, Any]:
    """First- and total-order Sobol indices (with bootstrap 95% intervals) and a tornado.

    samples: N of the Saltelli design (power of two); the sweep has N*(d+2) points with
    `reps` replications each. output: 'completion_rate' or 'coverage_mean' of
    `initiative` (default the first). Results are written to OUT/sensitivity.json.
    """
    if output not in OUTPUTS:
        raise UsageError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if not params:
        raise UsageError("sensitivity needs at least one --vary")
    out = Path(out)
    name = initiative or (scenario.initiatives[0].name if scenario.initiatives else "stream")
    points, _ = saltelli_points(params, samples, seed)
    sres = sweep(scenario, points, reps=reps, seed=seed, out=out / "sobol", resume=resume,
                 workers=workers, executor=executor, progress=progress, engine=engine)
    tres = sweep(scenario, tornado_points(params), reps=reps, seed=seed, out=out / "tornado",
                 resume=resume, workers=workers, executor=executor, progress=progress,
                 engine=engine)
    result: dict[str, Any] = {
        "scenario": scenario.name, "scenario_hash": scenario.hash, "seed": seed,
        "reps_per_point": reps, "samples": samples, "points": len(points),
        "relaysim_version": __version__, "stream_version": STREAM_VERSION,
        "initiative": name, "output": output,
        "parameters": [p.path for p in params],
    }
    result.update(sobol_analysis(sres.rows, params, samples, reps, name, output, bootstrap,
                                 seed))
    result.update(tornado_analysis(tres.rows, params, name, output,
                                   {p.path: scenario.get(p.path) for p in params}))
    result["ranking"] = [s["parameter"] for s in
                         sorted(result["sobol"], key=lambda s: -s["total"])]
    atomic_write(out / "sensitivity.json", json.dumps(json_safe(result), indent=2))
    return result


def _value(row: dict[str, Any], name: str, output: str) -> float:
    s = row["initiatives"].get(name)
    if s is None:
        raise UsageError(f"no initiative named {name!r} in the results")
    v = s[output]
    return math.nan if v is None else float(v)


def sobol_analysis(rows: list[dict[str, Any]], params: list[Parameter], n: int, reps: int,
                   name: str, output: str, bootstrap: int, seed: int) -> dict[str, Any]:
    """Sobol indices of `output` from the Saltelli sweep's rows (A, B, then AB_i blocks of
    n rows each), with bootstrap 95% intervals and the replication noise."""
    d = len(params)
    y = np.array([_value(r, name, output) for r in rows])
    f_a, f_b = y[:n], y[n:2 * n]
    f_ab = y[2 * n:].reshape(d, n)
    var_y = float(np.var(np.concatenate([f_a, f_b]), ddof=1))
    # replication noise: the binomial (or sample) variance of each point's estimate
    if output == "completion_rate":
        noise = float(np.mean(y * (1 - y))) / reps
    else:
        noise = float(np.nanmean([r["initiatives"][name]["coverage_var"] for r in rows])) / reps
    result: dict[str, Any] = {"output_variance": var_y, "noise_variance": noise,
                              "noise_share": (noise / var_y) if var_y > 0 else None}
    if not var_y > 0:
        result["sobol"] = [{"parameter": p.path, "first": 0.0, "total": 0.0,
                            "first_ci95": [0.0, 0.0], "total_ci95": [0.0, 0.0]}
                           for p in params]
        return result
    f_ci, t_ci, point = _bootstrap(f_a, f_b, f_ab, bootstrap, seed)
    if d >= 2:
        res = stats.sobol_indices(func={"f_A": f_a[None, :], "f_B": f_b[None, :],
                                        "f_AB": f_ab[:, None, :]}, n=n)
        first, total = np.ravel(res.first_order), np.ravel(res.total_order)
    else:  # scipy 1.17 fails for a single parameter; the same estimator, by hand
        first, total = point[:1], point[1:]

    def ci(c: Any, i: int, est: float) -> list[float]:
        lo, hi = float(np.ravel(c.low)[i]), float(np.ravel(c.high)[i])
        if math.isnan(lo) or math.isnan(hi):
            if np.array_equal(f_ab[i], f_a):  # not a single output moved: exactly 0
                return [est, est]
        return [lo, hi]

    result["sobol"] = [
        {"parameter": p.path, "first": float(first[i]), "total": float(total[i]),
         "first_ci95": ci(f_ci, i, float(first[i])),
         "total_ci95": ci(t_ci, i, float(total[i]))}
        for i, p in enumerate(params)
    ]
    return result


def tornado_analysis(rows: list[dict[str, Any]], params: list[Parameter], name: str,
                     output: str, base: dict[str, Any]) -> dict[str, Any]:
    """One parameter at a time: `output` at the scenario as written (row 0) and at each
    parameter's low and high end (rows 1 + 2i and 2 + 2i), largest swing first."""

    def interval(s: dict[str, Any]) -> list[Any]:
        return list(s["coverage_ci"]) if output == "coverage_mean" else [s["ci_low"],
                                                                         s["ci_high"]]

    base_s = rows[0]["initiatives"][name]
    tornado = []
    for i, p in enumerate(params):
        lo_row, hi_row = rows[1 + 2 * i], rows[2 + 2 * i]
        lo_s, hi_s = lo_row["initiatives"][name], hi_row["initiatives"][name]
        tornado.append({
            "parameter": p.path, "base": base[p.path],
            "low": lo_row["values"][p.path], "high": hi_row["values"][p.path],
            "at_low": lo_s[output], "at_high": hi_s[output],
            "at_low_ci95": interval(lo_s),
            "at_high_ci95": interval(hi_s),
        })
    tornado.sort(key=lambda t: -abs((t["at_high"] or 0) - (t["at_low"] or 0)))
    return {"baseline": base_s[output], "baseline_ci95": interval(base_s),
            "tornado": tornado}


def sensitivity_text(res: dict[str, Any]) -> str:
    what = "completion rate" if res["output"] == "completion_rate" else "coverage"
    lines = [f"Which levers move the {what} of '{res['initiative']}' in '{res['scenario']}' "
             f"({res['points']} points x {res['reps_per_point']} replications, seed {res['seed']})",
             "", f"{'parameter':<40} {'first order (95% CI)':>26} {'total (95% CI)':>26}"]
    for s in sorted(res["sobol"], key=lambda s: -s["total"]):
        f, t = s["first_ci95"], s["total_ci95"]
        lines.append(f"{s['parameter']:<40} {s['first']:6.2f} [{f[0]:5.2f}, {f[1]:5.2f}]"
                     f"      {s['total']:6.2f} [{t[0]:5.2f}, {t[1]:5.2f}]")
    if res.get("noise_share") is not None and res["noise_share"] == res["noise_share"]:
        share = res["noise_share"]
        # Under common random numbers every point shares the seed, so the noise is
        # correlated across points: this share neither bounds nor measures the noise in the
        # indices, and the bootstrap (over design rows) leaves it out (issue 12 point 3).
        lines += ["", f"Replication noise is about {100 * share:.1f}% of the output variance "
                      f"(the variance of each point's estimate). Every point uses the same "
                      f"seed, so that noise is shared between points and the intervals above "
                      f"(a bootstrap over design rows) leave it out: rerun with other --seed "
                      f"values to see how much the indices move."]
    lines += ["", "One at a time (low -> high end of each range):"]
    for t in res["tornado"]:
        lo, hi = t["at_low"], t["at_high"]
        lines.append(f"  {t['parameter']:<40} {t['low']!s:>8} -> {t['high']!s:<8} "
                     f"{100 * (lo or 0):5.1f}% -> {100 * (hi or 0):5.1f}%")
    return "\n".join(lines)
