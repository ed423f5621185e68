"""The scenario library (scenarios/*.toml): every file validates, runs, cites its sources,
and the scenarios that make a claim make it.

Every scenario is run once, at 200 replications with seed 0 and `workers=1` (what a user
gets from `relaysim run FILE --reps 200 --workers 1`), in a module fixture shared by the
tests; the files are spread over up to two processes to keep the module quick. Times are
printed (`pytest -s tests/test_library.py`), never asserted.

Statistical tolerances follow tests/test_dynamics.py: agreement with a target within
Z_MATCH = 4 standard errors (false-alarm probability 6e-5 for a correct scenario), and a
directional claim must hold with a Z_DIRECTION = 3 SE margin. A target that is itself a
published interval is matched within Z_BAND = 3 SE of its ends (false-alarm probability at
most 1.3e-3 for a scenario whose rate lies in the interval). Seeds are fixed, so nothing
here is flaky; the margins are there so that a seed change would not break a correct
scenario and a wrong one would not pass by luck.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import relaysim
from relaysim import RunResult, load_scenario
from relaysim.study.execute import default_workers

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"
FILES = sorted(SCENARIO_DIR.glob("*.toml"))
IDS = [f.stem for f in FILES]

#: the library issue 6 asks for
REQUIRED = {"baseline", "small_rural", "large_urban", "differentiated_support", "portfolio",
            "stable_leadership", "high_turnover", "overloaded", "relay_4x100"}

REPS = 200
SEED = 0
Z_MATCH = 4.0
Z_DIRECTION = 3.0
Z_BAND = 3.0


def _timed_run(path: str) -> tuple[str, float, RunResult]:
    """One scenario file at REPS replications, seed SEED, in one process; wall time."""
    sc = load_scenario(path)
    t0 = time.perf_counter()
    res = relaysim.run(sc, reps=REPS, seed=SEED, workers=1)
    return path, time.perf_counter() - t0, res


def _cost(path: Path) -> float:
    """Rough work per replication: classroom batons (named initiatives plus expected
    stream arrivals), so that the two processes get the long runs first."""
    sc = load_scenario(path)
    s = sc.stream
    arrivals = s.rate * max(0.0, min(s.stop, sc.horizon) - s.start) / sc.year_length
    return sc.n_classrooms * (len(sc.initiatives) + arrivals)


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[float, RunResult]]:
    """{stem: (seconds, RunResult)} for every scenario file."""
    paths = [str(f) for f in sorted(FILES, key=_cost, reverse=True)]
    n = min(2, default_workers(), len(paths))
    if n <= 1:
        done = [_timed_run(p) for p in paths]
    else:
        with ProcessPoolExecutor(max_workers=n) as ex:
            done = list(ex.map(_timed_run, paths))
    out = {Path(p).stem: (dt, res) for p, dt, res in sorted(done)}
    print(f"\n{'scenario':24s} {'seconds':>8s}  completion rate (95% CI), {REPS} reps, "
          f"seed {SEED}")
    for stem, (dt, res) in out.items():
        for name, ini in res.summary["initiatives"].items():
            cr = ini["completion_rate"]
            lo, hi = cr["ci95"]
            print(f"{stem:24s} {dt:8.2f}  {name}: {cr['estimate']:.3f} ({lo:.3f}-{hi:.3f})")
    return out


def _completed(res: RunResult, name: str | None = None) -> np.ndarray:
    """Per replication: 1 if the (first) named initiative was implemented in time."""
    out = []
    for r in res.replications:
        o = next(o for o in r.initiatives if name is None or o.name == name)
        out.append(float(o.completed))
    return np.asarray(out)


# --------------------------------------------------------------------------- every file


def test_library_is_complete():
    assert REQUIRED <= set(IDS), sorted(REQUIRED - set(IDS))


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_validates(path):
    """Loads without a ScenarioError; the name in the file is the file's name."""
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert sc.description


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_cites_figures(path):
    """At least one comment line points at the published figures it draws on."""
    comments = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                if ln.lstrip().startswith("#")]
    assert any("FIGURES.md" in ln for ln in comments), path.name


@pytest.mark.parametrize("stem", IDS)
def test_runs_with_rates_in_range(results, stem):
    """200 replications finish; every completion rate and its interval lie in [0, 1]."""
    _, res = results[stem]
    assert len(res.replications) == REPS
    inits = res.summary["initiatives"]
    assert inits
    for ini in inits.values():
        cr = ini["completion_rate"]
        assert cr["estimate"] is not None
        lo, hi = cr["ci95"]
        assert 0.0 <= lo <= cr["estimate"] <= hi <= 1.0
        cov = ini["coverage"]["mean"]
        assert 0.0 <= cov <= 1.0


# --------------------------------------------------------------------------- claims


def test_baseline_in_sic_range(results):
    """Calibration (FIGURES.md, SIC start-up 35%, 95% CI 33-38% [S]): the baseline's
    completion estimate over its n replications lies in 33-38% widened by Z_BAND binomial
    standard errors, SE = sqrt(p (1 - p) / n) with p at each end of the interval (at n = 200:
    0.230-0.483). The estimate at 1000 replications is quoted in docs/tutorial.md."""
    _, res = results["baseline"]
    lo_t, hi_t = 0.33, 0.38
    n = len(res.replications)
    assert n == REPS
    est = res.initiative()["completion_rate"]["estimate"]
    lo = lo_t - Z_BAND * math.sqrt(lo_t * (1 - lo_t) / n)
    hi = hi_t + Z_BAND * math.sqrt(hi_t * (1 - hi_t) / n)
    print(f"\nbaseline: completion {est:.3f} over {n} reps (accepted {lo:.3f}-{hi:.3f})")
    assert lo <= est <= hi, (est, lo, hi)


def test_relay_per_exchange_failure_is_calibrated():
    """relay_4x100: the drop probability per exchange matches the championship figure.

    Target (FIGURES.md [W]): 22% of 214 men's teams failed at some point in a meet of
    about 2 rounds x 3 exchanges, so 1 - (1 - p)^6 = 0.22, p = 1 - 0.78^(1/6) = 0.0406.
    With every odds factor neutral, recover = 0 and max_attempts = 1, each exchange
    attempt is an independent Bernoulli(p) drop (MODEL.md: the probability is exactly
    `fumble`), so pooled over the three zones drops/attempts estimates p with
    SE = sqrt(p (1 - p) / attempts). And a race is clean (no drop) with probability
    (1 - p)^3 = 0.883 (FIGURES.md: 0.96^3 = 0.885), binomial over replications; the
    deadline (38.0 s) is ~3.7 sd above the mean clean time, so the completion rate equals
    the clean rate up to ~1e-4. 4000 replications (about a second) give SE 0.0018 on p.
    """
    p = 1 - 0.78 ** (1 / 6)
    sc = load_scenario(SCENARIO_DIR / "relay_4x100.toml")
    assert len(sc.levels) == 4 and all(lv.count == 1 for lv in sc.levels)
    zones = [z for z in sc.zones if z is not None]
    assert len(zones) == 3
    for z in zones:  # the file's rounded rate is the derived one
        assert abs(z.fumble - p) < 0.005 and z.recover == 0.0 and z.max_attempts == 1
    reps = 4000
    res = relaysim.run(sc, reps=reps, seed=SEED, workers=1)
    zs = res.initiative("race")["zones"]
    attempts = sum(zs[z.to]["attempts"] for z in zones)
    drops = sum(zs[z.to]["drops"] for z in zones)
    se = math.sqrt(p * (1 - p) / attempts)
    print(f"\nrelay: {drops}/{attempts} = {drops / attempts:.4f} per exchange "
          f"(target {p:.4f}, SE {se:.4f})")
    assert abs(drops / attempts - p) < Z_MATCH * se
    clean_target = (1 - p) ** 3
    se_race = math.sqrt(clean_target * (1 - clean_target) / reps)
    clean = np.mean([r.initiatives[0].dropped == 0 for r in res.replications])
    done = _completed(res, "race").mean()
    print(f"relay: clean races {clean:.4f}, completed {done:.4f} "
          f"(target {clean_target:.4f}, SE {se_race:.4f})")
    assert abs(clean - clean_target) < Z_MATCH * se_race
    assert done <= clean
    assert abs(done - clean_target) < Z_MATCH * se_race


def test_high_turnover_completes_less_than_stable_leadership(results):
    """Same structure, same seed, so replication i of one is paired with replication i of
    the other (common random numbers): stable minus high, per replication, has a mean
    more than Z_DIRECTION standard errors above 0."""
    _, stable = results["stable_leadership"]
    _, high = results["high_turnover"]
    assert stable.scenario.level_sizes == high.scenario.level_sizes
    d = _completed(stable) - _completed(high)
    se = d.std(ddof=1) / math.sqrt(len(d))
    print(f"\nstable - high: {d.mean():.3f} (SE {se:.3f}, {len(d)} paired reps)")
    assert d.mean() > Z_DIRECTION * se


def test_differentiated_support_has_segments():
    """Red-zone schools are a segment, and they get more support than the rest."""
    sc = load_scenario(SCENARIO_DIR / "differentiated_support.toml")
    k = sc.segment_level
    assert k is not None and sc.levels[k].name == "principal"
    segs = {s.name: s for s in sc.levels[k].segments}
    assert "red" in segs and 0 < segs["red"].share < 1
    red = segs["red"].variant
    base = sc
    assert any(getattr(red.zones[j], key) > getattr(base.zones[j], key)
               for j in range(1, len(sc.levels)) if sc.zones[j] is not None
               for key in ("recover", "rehearsed", "checkpoint"))


def test_small_rural_has_a_merged_level():
    sc = load_scenario(SCENARIO_DIR / "small_rural.toml")
    assert any(lv.merged_with_parent for lv in sc.levels)
    assert sc.level_sizes[1] <= 5  # few schools


def test_large_urban_has_a_network_level():
    sc = load_scenario(SCENARIO_DIR / "large_urban.toml")
    names = [lv.name for lv in sc.levels]
    assert len(names) >= 5
    assert names.index("network") == 1 and names[2] == "principal"


def test_overloaded_has_a_heavy_stream(results):
    """At least 8 new initiatives a year (Reeves' threshold is 6 [M], FIGURES.md), and the
    run saw them: the stream's arrivals are summarised under 'stream'."""
    sc = load_scenario(SCENARIO_DIR / "overloaded.toml")
    assert sc.stream.rate >= 8
    _, res = results["overloaded"]
    arrivals = res.summary["initiatives"]["stream"]["runs"] / REPS
    expected = sc.stream.rate * (sc.stream.stop - sc.stream.start) / sc.year_length
    assert arrivals > 0.8 * expected  # Poisson mean `expected` per replication, 200 reps


def test_portfolio_is_shorter_and_vaguer_than_baseline():
    base = load_scenario(SCENARIO_DIR / "baseline.toml")
    port = load_scenario(SCENARIO_DIR / "portfolio.toml")
    assert len(port.levels) < len(base.levels)
    assert port.initiatives[0].clarity < base.initiatives[0].clarity


def test_turnover_scenarios_differ_as_named():
    stable = load_scenario(SCENARIO_DIR / "stable_leadership.toml")
    high = load_scenario(SCENARIO_DIR / "high_turnover.toml")
    for s, h in zip(stable.levels, high.levels, strict=True):
        assert s.turnover < h.turnover
        assert s.loss < h.loss == 1.0  # succession vs none
