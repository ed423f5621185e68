"""Sensitivity: which lever matters most (an 'analysis' over a sweep).

Sobol indices: a Saltelli design (matrices A, B and the d mixes A_B^(i), from a scrambled
Sobol sequence) is run as a sweep, so it runs in parallel, in a store, and resumes; the
completion rate (or coverage) at each point is handed to the Saltelli (2010) estimators
(those of scipy.stats.sobol_indices), whose bootstrap over the design rows gives 95%
intervals. Every point of one sweep shares its random numbers (common random numbers),
which keeps replication noise from masquerading as a parameter effect between points, but
also means that noise does not average out over the design rows, and the bootstrap does
not see it. So the same design is run under K independent seeds (`seeds`, `--seeds`): the
spread of each index between seeds is its replication noise, added to the bootstrap
variance (intervals.combine_seed_noise). With K = 1 the intervals leave that noise out.

Tornado: one parameter at a time at the low and the high end of its range, every other
parameter at the scenario's value, also as one sweep; each end is compared with the
scenario as written replication by replication (paired, common random numbers).
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
from ..files import LOCK_NAME, atomic_write, json_safe
from ..model.scenario import Scenario
from .compare import paired_completion, paired_coverage
from .designs import MAX_POINTS, Parameter
from .intervals import combine_seed_noise
from .store import Store
from .summary import as_arrays
from .sweep import Progress, sweep

__all__ = ["sensitivity", "saltelli_points", "tornado_points", "sensitivity_text",
           "seed_values", "SEEDS"]

OUTPUTS = ("completion_rate", "coverage_mean")

#: default number of independent seeds of the Saltelli sweep. The between-seed variance of
#: K seeds has K - 1 degrees of freedom, and the interval uses Student t on them: K = 2
#: would multiply that part by t(1) = 12.7, K = 4 by t(3) = 3.2. The cost is K sweeps.
SEEDS = 4


def seed_values(seed: int, seeds: int) -> list[int]:
    """The sweep seeds of the K runs of the Saltelli design: `seed` itself first (so
    seeds = 1 is the single-sweep analysis), then seeds derived from it, independent of
    it and of the seeds of other --seed values (not seed + 1, seed + 2, ...)."""
    if not isinstance(seeds, int) or seeds < 1:
        raise UsageError(f"seeds must be a whole number >= 1, got {seeds!r}")
    return [seed] + [int(np.random.SeedSequence(seed, spawn_key=(0x5EED, k))
                         .generate_state(1)[0]) for k in range(1, seeds)]


def _sobol_dir(k: int) -> str:
    """Seed k's sweep folder: sobol/ for the first (as before seeds existed), then
    sobol-s1/, sobol-s2/, ..."""
    return "sobol" if k == 0 else f"sobol-s{k}"


def saltelli_points(params: list[Parameter], n: int, seed: int
                    ) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Points of A, B and A_B^(i) (i = 1..d), in that order, and the unit samples."""
    if n < 2 or n & (n - 1):
        lower = 1 << max(1, n.bit_length() - 1)
        raise UsageError(f"Sobol indices need --samples a power of two (>= 2), got {n} "
                         f"(try {lower} or {lower * 2})")
    d = len(params)
    if n * (d + 2) > MAX_POINTS:
        raise UsageError(f"--samples {n} gives {n * (d + 2):,} points, more than the limit of "
                         f"{MAX_POINTS:,}")
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
               seed: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """BCa bootstrap intervals of the Saltelli (2010) estimators, the ones
    scipy.stats.sobol_indices uses, resampling the N base rows with a seeded generator
    (SobolResult.bootstrap would draw from numpy's global state: not reproducible).
    Returns the first- and total-order intervals, the point estimates (first, then total)
    and the bootstrap distribution (2d x n_resamples)."""
    d = f_ab.shape[0]
    # centred on the full-sample mean, as scipy does before estimating (Sobol' & Levitan
    # 1999); the resamples are not re-centred, matching SobolResult.bootstrap
    mean = np.mean(np.concatenate([f_a, f_b]))
    f_a, f_b, f_ab = f_a - mean, f_b - mean, f_ab - mean

    def statistic(idx: np.ndarray) -> np.ndarray:
        return _estimators(f_a[idx], f_b[idx], f_ab[:, idx])

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    with warnings.catch_warnings():
        # a parameter with no effect at all gives a degenerate bootstrap (BCa undefined)
        warnings.simplefilter("ignore")
        res = stats.bootstrap([np.arange(len(f_a))], statistic, method="BCa",
                              n_resamples=n_resamples, vectorized=False, rng=rng)
    ci = res.confidence_interval
    point = statistic(np.arange(len(f_a)))
    return (_CI(ci.low[:d], ci.high[:d]), _CI(ci.low[d:], ci.high[d:]), point,
            np.asarray(res.bootstrap_distribution))


def _estimators(a: np.ndarray, b: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Saltelli (2010) first-order and Jansen total-order estimators (first d, then d
    total), from outputs already centred on the mean of A and B."""
    var = np.var(np.concatenate([a, b]))
    if var == 0:
        return np.zeros(2 * ab.shape[0])
    first = np.mean(b * (ab - a), axis=-1) / var
    total = 0.5 * np.mean((a - ab) ** 2, axis=-1) / var
    return np.concatenate([first, total])


def _split(y: np.ndarray, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f_A, f_B and f_AB (d x n) from the outputs of the Saltelli points in order."""
    return y[:n], y[n:2 * n], y[2 * n:].reshape(d, n)


def _indices(y: np.ndarray, n: int, d: int) -> np.ndarray:
    """First (d) then total (d) indices of one sweep's outputs, centred as scipy does."""
    f_a, f_b, f_ab = _split(y, n, d)
    mean = np.mean(np.concatenate([f_a, f_b]))
    return _estimators(f_a - mean, f_b - mean, f_ab - mean)


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


def initiative_name(scenario: Scenario, initiative: str | None) -> str:
    """The initiative an analysis reports on (default the first), refused before any work
    when the scenario has no such initiative."""
    names = [i.name for i in scenario.initiatives]
    if scenario.stream.rate > 0:
        names.append("stream")
    if initiative is None:
        return names[0] if names else "stream"
    if initiative not in names:
        raise UsageError(f"--initiative {initiative!r}: the scenario has no such initiative "
                         f"(it has: {', '.join(names) or 'none'})")
    return initiative


#: what a sensitivity folder holds (and sobol-s1, sobol-s2, ... under more seeds)
_ANALYSIS_FILES = ("sobol", "tornado", "sensitivity.json", LOCK_NAME)


def _check_analysis_folder(out: Path) -> None:
    """Refuse a sensitivity --out that holds anything but an analysis's own files."""
    if not out.is_dir():
        return
    other = sorted(p.name for p in out.iterdir()
                   if p.name not in _ANALYSIS_FILES and not p.name.startswith("sobol-s"))
    if other:
        raise UsageError(f"{out} is not this analysis's folder: {other[0]} is in the way; "
                         "choose an empty or new --out, or pass --force to write over it")


def _sub_sweep(scenario: Scenario, points: list[dict[str, Any]], seed: int, folder: Path,
               resume: bool, first: bool, kw: dict[str, Any]) -> Any:
    """One of the analysis's sweeps. Under `resume` the first must have its store; a later
    one the analysis stopped before reaching has none yet, and starts."""
    again = resume and (first or (folder / "store.sqlite").exists())
    return sweep(scenario, points, seed=seed, out=folder, resume=again, **kw)


def sensitivity(scenario: Scenario, params: list[Parameter], samples: int, reps: int = 400,
                seed: int = 0, out: str | Path = "sensitivity", output: str = "completion_rate",
                initiative: str | None = None, workers: int | None = None,
                executor: Any = None, resume: bool = False, bootstrap: int = 999,
                progress: Progress | None = None, seeds: int = SEEDS,
                force: bool = False, engine: str = "auto") -> dict[str, Any]:
    """First- and total-order Sobol indices (with 95% intervals) and a tornado.

    samples: N of the Saltelli design (power of two); the design has N*(d+2) points with
    `reps` replications each and is run under `seeds` independent seeds (seed_values;
    folders OUT/sobol, OUT/sobol-s1, ...), so K sweeps. With seeds >= 2 each index is the
    mean over seeds and its interval adds the between-seed variance to the bootstrap over
    design rows; with seeds = 1 the interval is the bootstrap alone and leaves replication
    noise out. output: 'completion_rate' or 'coverage_mean' of `initiative` (default the
    first). Results are written to OUT/sensitivity.json. A non-empty OUT holding
    anything else is refused unless `force`.
    """
    if output not in OUTPUTS:
        raise UsageError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if not params:
        raise UsageError("sensitivity needs at least one --vary")
    out = Path(out)
    name = initiative_name(scenario, initiative)
    points, _ = saltelli_points(params, samples, seed)
    if not force:
        _check_analysis_folder(out)
    sweep_seeds = seed_values(seed, seeds)
    kw: dict[str, Any] = {"reps": reps, "workers": workers, "executor": executor,
                          "progress": progress, "force": force, "engine": engine}
    runs = [_sub_sweep(scenario, points, s, out / _sobol_dir(k), resume, k == 0, kw).rows
            for k, s in enumerate(sweep_seeds)]
    tres = _sub_sweep(scenario, tornado_points(params), seed, out / "tornado", resume,
                      False, kw)
    result: dict[str, Any] = {
        "scenario": scenario.name, "scenario_hash": scenario.hash, "seed": seed,
        "reps_per_point": reps, "samples": samples, "points": len(points),
        "seeds": seeds, "seed_values": sweep_seeds, "replication_noise_included": seeds >= 2,
        "relaysim_version": __version__, "stream_version": STREAM_VERSION,
        "initiative": name, "output": output,
        "parameters": [p.path for p in params],
    }
    result.update(sobol_analysis(runs[0], params, samples, reps, name, output, bootstrap,
                                 seed))
    if seeds >= 2:
        result.update(sobol_seeds_analysis(runs, params, samples, name, output, bootstrap,
                                           seed))
        v = result["output_variance"]
        result["seed_noise_share"] = result["seed_noise_variance"] / v if v > 0 else None
    else:
        _single_seed_keys(result)
    with Store(tres.out / "store.sqlite") as st:
        per_rep = [_rep_columns(st, j, name) for j in range(len(tres.rows))]
    result.update(tornado_analysis(tres.rows, params, name, output,
                                   {p.path: scenario.get(p.path) for p in params}, per_rep))
    result["ranking"] = [s["parameter"] for s in
                         sorted(result["sobol"], key=lambda s: -s["total"])]
    atomic_write(out / "sensitivity.json", json.dumps(json_safe(result), indent=2))
    return result


def _rep_columns(st: Store, point: int, name: str) -> dict[str, np.ndarray] | None:
    """A point's per-replication outcome columns of initiative `name` (float arrays, in
    replication order), or None if it has none."""
    parts = [as_arrays(d["initiatives"][name]) | {"rep": np.asarray(
        d["initiatives"][name]["rep"], dtype=float)}
        for _, _, d in st.chunks_of(point) if name in d["initiatives"]]
    if not parts:
        return None
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


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
    f_ci, t_ci, point, _ = _bootstrap(f_a, f_b, f_ab, bootstrap, seed)
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


def sobol_seeds_analysis(runs: list[list[dict[str, Any]]], params: list[Parameter], n: int,
                         name: str, output: str, bootstrap: int, seed: int
                         ) -> dict[str, Any]:
    """Sobol indices over K >= 2 seeds of the same Saltelli design (runs[k]: seed k's rows).

    Each index: the mean of the K per-seed indices; its 95% interval adds the between-seed
    variance / K (replication noise) to the variance of a BCa bootstrap over the design
    rows of the seed-averaged outputs (intervals.combine_seed_noise, Student t on
    Welch-Satterthwaite degrees of freedom). Also each seed's indices, the bootstrap-only
    interval, and the share of the interval's variance from replication noise."""
    d = len(params)
    ys = np.array([[_value(r, name, output) for r in rows] for rows in runs])
    per_seed = np.array([_indices(y, n, d) for y in ys])  # K x 2d
    f_a, f_b, f_ab = _split(ys.mean(axis=0), n, d)
    f_ci, t_ci, _, dist = _bootstrap(f_a, f_b, f_ab, bootstrap, seed)
    sobol = []
    for i, p in enumerate(params):
        moved = any(not np.array_equal(_split(y, n, d)[2][i], y[:n]) for y in ys)
        entry: dict[str, Any] = {"parameter": p.path}
        for key, j, ci in (("first", i, f_ci), ("total", d + i, t_ci)):
            c = combine_seed_noise(per_seed[:, j], dist[j])
            boot = [float(np.ravel(ci.low)[i]), float(np.ravel(ci.high)[i])]
            if not moved:  # not a single output moved under any seed: exactly 0
                boot = [c.estimate, c.estimate]
            entry.update({key: c.estimate, f"{key}_ci95": list(c.ci),
                          f"{key}_ci95_bootstrap": boot, f"{key}_per_seed": c.per_seed,
                          f"{key}_noise_share": None if math.isnan(c.noise_share)
                          else c.noise_share, f"{key}_df": c.df})
        sobol.append(entry)
    return {"sobol": sobol,
            # replication noise measured directly: each point's variance between seeds
            "seed_noise_variance": float(np.mean(np.var(ys, axis=0, ddof=1)))}


def _single_seed_keys(result: dict[str, Any]) -> None:
    """The per-seed keys for an analysis of one seed (no replication noise measured)."""
    for s in result["sobol"]:
        for key in ("first", "total"):
            s[f"{key}_ci95_bootstrap"] = list(s[f"{key}_ci95"])
            s[f"{key}_per_seed"] = [s[key]]
            s[f"{key}_noise_share"] = None
            s[f"{key}_df"] = math.inf


def tornado_analysis(rows: list[dict[str, Any]], params: list[Parameter], name: str,
                     output: str, base: dict[str, Any],
                     per_rep: list[dict[str, np.ndarray] | None] | None = None
                     ) -> dict[str, Any]:
    """One parameter at a time: `output` at the scenario as written (row 0) and at each
    parameter's low and high end (rows 1 + 2i and 2 + 2i), largest swing first.

    per_rep[j]: point j's per-replication columns (from the tornado store). With them each
    end also gets its paired difference from the scenario as written (`low_vs_base`,
    `high_vs_base`): the same replications under common random numbers, by Tango's score
    interval with the discordant counts (completion) or the floored paired t (coverage).
    """

    def interval(s: dict[str, Any]) -> list[Any]:
        return list(s["coverage_ci"]) if output == "coverage_mean" else [s["ci_low"],
                                                                         s["ci_high"]]

    base_s = rows[0]["initiatives"][name]
    tornado = []
    for i, p in enumerate(params):
        lo_row, hi_row = rows[1 + 2 * i], rows[2 + 2 * i]
        lo_s, hi_s = lo_row["initiatives"][name], hi_row["initiatives"][name]
        t = {
            "parameter": p.path, "base": base[p.path],
            "low": lo_row["values"][p.path], "high": hi_row["values"][p.path],
            "at_low": lo_s[output], "at_high": hi_s[output],
            "at_low_ci95": interval(lo_s),
            "at_high_ci95": interval(hi_s),
        }
        if per_rep is not None:
            t["low_vs_base"] = _paired_end(per_rep[0], per_rep[1 + 2 * i], output)
            t["high_vs_base"] = _paired_end(per_rep[0], per_rep[2 + 2 * i], output)
        tornado.append(t)
    tornado.sort(key=lambda t: -abs((t["at_high"] or 0) - (t["at_low"] or 0)))
    return {"baseline": base_s[output], "baseline_ci95": interval(base_s),
            "tornado": tornado}


def _paired_end(base: dict[str, np.ndarray] | None, end: dict[str, np.ndarray] | None,
                output: str) -> dict[str, Any] | None:
    """The end minus the scenario as written, replication by replication (replications
    observed at both), or None when they cannot be paired: a stream has several arrivals
    per replication, and they differ between points."""
    if base is None or end is None:
        return None
    if len(np.unique(base["rep"])) < len(base["rep"]):
        return None
    keep_b = base["observed"] > 0
    keep_e = end["observed"] > 0
    reps, ib, ie = np.intersect1d(base["rep"][keep_b], end["rep"][keep_e],
                                  return_indices=True)
    if not len(reps):
        return None
    col = "completed" if output == "completion_rate" else "coverage"
    x, y = base[col][keep_b][ib], end[col][keep_e][ie]
    d = paired_completion(x, y) if col == "completed" else paired_coverage(x, y)
    return {k: d[k] for k in ("difference", "ci95", "method", "discordant", "nonzero_pairs")
            if k in d} | {"n": len(reps)}


def sensitivity_text(res: dict[str, Any]) -> str:
    what = "completion rate" if res["output"] == "completion_rate" else "coverage"
    k = res.get("seeds", 1)
    lines = [f"Which levers move the {what} of '{res['initiative']}' in '{res['scenario']}' "
             f"({res['points']} points x {res['reps_per_point']} replications x {k} "
             f"seed{'s' if k != 1 else ''}, seed {res['seed']}, random streams "
             f"v{res['stream_version']})",
             "", f"{'parameter':<40} {'first order (95% CI)':>26} {'total (95% CI)':>26}"
             + ("   noise" if k >= 2 else "")]
    for s in sorted(res["sobol"], key=lambda s: -s["total"]):
        f, t = s["first_ci95"], s["total_ci95"]
        share = s.get("total_noise_share")
        lines.append(f"{s['parameter']:<40} {s['first']:6.2f} [{f[0]:5.2f}, {f[1]:5.2f}]"
                     f"      {s['total']:6.2f} [{t[0]:5.2f}, {t[1]:5.2f}]"
                     + (f"   {100 * share:4.0f}%" if k >= 2 and share is not None else ""))
    lines += ["", *_noise_lines(res)]
    lines += ["", "One at a time (low -> high end of each range; paired difference from the "
                  "scenario as written, 95% CI):"]
    for t in res["tornado"]:
        lo, hi = t["at_low"], t["at_high"]
        lines.append(f"  {t['parameter']:<40} {t['low']!s:>8} -> {t['high']!s:<8} "
                     f"{100 * (lo or 0):5.1f}% -> {100 * (hi or 0):5.1f}%")
        for end in ("low", "high"):
            d = t.get(f"{end}_vs_base")
            if d:
                lines.append(f"      at the {end} end: {_paired_words(d)}")
    return "\n".join(lines)


def _paired_words(d: dict[str, Any]) -> str:
    lo, hi = d["ci95"]
    out = f"{100 * d['difference']:+.1f} points ({100 * lo:+.1f} to {100 * hi:+.1f})"
    if "discordant" in d:
        dd = d["discordant"]
        out += f", {dd['b_not_a']} replications better and {dd['a_not_b']} worse"
    return out


def _noise_lines(res: dict[str, Any]) -> list[str]:
    """What the intervals say about replication noise (correct under common random
    numbers: the points of one sweep share their noise, so no per-point share bounds the
    noise in the indices; only independent seeds measure it)."""
    k = res.get("seeds", 1)
    share = res.get("noise_share")
    point = ("" if share is None or share != share else
             f"Replication noise is about {100 * share:.1f}% of the output variance "
             f"(binomial variance of each point's estimate, one seed). ")
    if k >= 2:
        seen = res.get("seed_noise_share")
        if seen is not None and point:
            point += f"Measured between the seeds it is {100 * seen:.1f}%. "
        return [f"Replication noise is included: the design was run under {k} independent "
                f"seeds, and each interval adds the spread of the index between seeds to "
                f"the bootstrap over design rows (Student t on the seeds' degrees of "
                f"freedom). 'noise' is the share of the total index's interval variance "
                f"that comes from the seeds. " + point + "Within one seed every point "
                "shares its random numbers, so that noise does not average out over the "
                "design rows: the spread between seeds, not this share, says how much the "
                "indices move."]
    return [point + "Replication noise is NOT included in these intervals (--seeds 1): "
            "every point shares one seed (common random numbers), so the noise is common to "
            "the points, does not average out over the design rows, and the bootstrap over "
            "design rows does not see it. The percentage above neither bounds nor measures "
            "the noise in the indices. Run with --seeds 4 (or more) to include it."]
