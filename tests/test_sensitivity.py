"""Sensitivity analysis (issue 5): Sobol indices rank a parameter known to dominate above
one known to do nothing, with sound intervals; the tornado agrees; the analysis resumes.

The scenario is scenarios/minimal.toml. zones.principal.fumble over 0..0.5 moves the chance
of implementation from about 95% to about 30%: it dominates. effects.checkpoint_time over
0..5 days cannot matter at all, because no exchange zone has a checkpoint; with common
random numbers every replication comes out exactly the same whatever its value.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import relaysim
from relaysim import UsageError, load_scenario
from relaysim import plot as P
from relaysim.cli import main
from relaysim.study.designs import parse_vary
from relaysim.study.sensitivity import saltelli_points, sensitivity, sensitivity_text
from relaysim.study.store import Store

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"

DOMINANT = "zones.principal.fumble"
NULL = "effects.checkpoint_time"
VARY = (f"{DOMINANT}=0:0.5:2", f"{NULL}=0:5:2")
SAMPLES, REPS, SEED = 16, 100, 1


@pytest.fixture(scope="module")
def minimal() -> relaysim.Scenario:
    sc = load_scenario(MINIMAL)
    assert not any(z is not None and z.checkpoint for z in sc.zones), \
        "the null parameter needs a scenario without checkpoints"
    return sc


@pytest.fixture(scope="module")
def params(minimal) -> list[Any]:
    return [parse_vary(v, minimal) for v in VARY]


@pytest.fixture(scope="module")
def analysis(minimal, params, tmp_path_factory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("sens")
    res = sensitivity(minimal, params, samples=SAMPLES, reps=REPS, seed=SEED, out=out,
                      workers=1)
    return res, out


def by_param(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["parameter"]: s for s in res["sobol"]}


def chunks(store: Path) -> list[tuple[int, int, int]]:
    with Store(store) as st:
        return [(j, a, b) for j in st.points() for a, b, _ in st.chunks_of(j)]


# --------------------------------------------------------------------------- Sobol


def test_dominant_parameter_ranks_first_with_an_interval_away_from_zero(analysis):
    res, _ = analysis
    s = by_param(res)
    dom, null = s[DOMINANT], s[NULL]
    assert res["ranking"] == [DOMINANT, NULL]
    assert dom["total"] > null["total"]
    assert dom["total"] == max(x["total"] for x in res["sobol"])
    lo, hi = dom["total_ci95"]
    assert 0 < lo <= dom["total"] <= hi
    assert dom["first_ci95"][0] > 0
    # a single dominant parameter explains most of the variance on its own
    assert dom["first"] > 0.5 and dom["total"] > 0.5


def test_parameter_without_effect_has_index_zero(analysis):
    res, _ = analysis
    null = by_param(res)[NULL]
    for key in ("first", "total"):
        est = null[key]
        lo, hi = null[f"{key}_ci95"]
        assert abs(est) < 0.05, (key, est)
        assert lo <= 0 <= hi or lo == hi == 0, (key, lo, hi)
        assert not (math.isnan(lo) or math.isnan(hi))


def test_total_at_least_first_order_within_noise(analysis):
    res, _ = analysis
    for s in res["sobol"]:
        f_lo, f_hi = s["first_ci95"]
        t_lo, t_hi = s["total_ci95"]
        tol = ((f_hi - f_lo) + (t_hi - t_lo)) / 4  # mean of the two half-widths
        assert s["total"] >= s["first"] - tol, s
        for key in ("first", "total"):
            lo, hi = s[f"{key}_ci95"]
            assert lo <= hi


def test_noise_share_is_reported_and_small(analysis):
    res, out = analysis
    assert res["output_variance"] > 0
    assert res["noise_share"] == pytest.approx(res["noise_variance"] / res["output_variance"])
    assert 0 < res["noise_share"] < 0.2
    text = sensitivity_text(res)
    assert "Replication noise is" in text and "% of the output variance" in text
    # the file on disk is what was returned
    saved = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    assert saved["noise_share"] == pytest.approx(res["noise_share"])
    assert saved["ranking"] == res["ranking"]
    assert saved["samples"] == SAMPLES and saved["reps_per_point"] == REPS
    assert saved["points"] == SAMPLES * (2 + 2)


def test_design_is_a_saltelli_design(params):
    pts, units = saltelli_points(params, 8, seed=0)
    assert len(pts) == 8 * (len(params) + 2) and units.shape == (len(pts), 2)
    a, b = units[:8], units[8:16]
    for i in range(len(params)):
        ab = units[16 + 8 * i: 24 + 8 * i]
        assert (ab[:, i] == b[:, i]).all()
        assert (ab[:, 1 - i] == a[:, 1 - i]).all()
    assert all(0 <= p[DOMINANT] <= 0.5 and 0 <= p[NULL] <= 5 for p in pts)


# --------------------------------------------------------------------------- tornado


def test_tornado_puts_the_dominant_parameter_first(analysis):
    res, _ = analysis
    tor = res["tornado"]
    assert [t["parameter"] for t in tor] == [DOMINANT, NULL]
    dom, null = tor
    assert (dom["low"], dom["high"]) == (0.0, 0.5)
    assert dom["at_low"] > dom["at_high"] + 0.3  # fewer fumbles, more implementations
    assert null["at_low"] == null["at_high"] == res["baseline"]
    assert dom["base"] == 0.15 and null["base"] == 2.0
    text = sensitivity_text(res)
    assert text.index(DOMINANT, text.index("One at a time")) < \
        text.index(NULL, text.index("One at a time"))


def test_tornado_figure_has_the_dominant_parameter_on_top(analysis):
    _, out = analysis
    fig = P.tornado(out)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[-1] == P.label(DOMINANT)  # barh: the last tick is drawn on top
    fig = P.sobol(out)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[-1] == P.label(DOMINANT)


# --------------------------------------------------------------------------- resume


def test_resume_runs_nothing_new(minimal, params, analysis):
    res, out = analysis
    before = {k: chunks(out / k / "store.sqlite") for k in ("sobol", "tornado")}
    calls: list[int] = []
    again = sensitivity(minimal, params, samples=SAMPLES, reps=REPS, seed=SEED, out=out,
                        workers=1, resume=True, progress=lambda n, p: calls.append(n))
    assert calls == []  # not a single replication ran again
    assert {k: chunks(out / k / "store.sqlite") for k in ("sobol", "tornado")} == before
    assert estimates(again) == estimates(res)
    assert again["tornado"] == res["tornado"] and again["ranking"] == res["ranking"]
    # without --resume the finished analysis is not silently redone
    with pytest.raises(UsageError, match="--resume"):
        sensitivity(minimal, params, samples=SAMPLES, reps=REPS, seed=SEED, out=out,
                    workers=1)


def test_same_seed_gives_the_same_intervals(minimal, params, analysis):
    res, out = analysis
    again = sensitivity(minimal, params, samples=SAMPLES, reps=REPS, seed=SEED, out=out,
                        workers=1, resume=True)
    assert again["sobol"] == res["sobol"]


def estimates(res: dict[str, Any]) -> list[tuple[str, float, float]]:
    """The point estimates of the indices (not their bootstrap intervals)."""
    return [(s["parameter"], s["first"], s["total"]) for s in res["sobol"]]


def test_interrupted_analysis_resumes_where_it_stopped(minimal, params, tmp_path):
    """Stop after a few chunks; resuming runs only the rest and gives the same indices as
    an analysis never interrupted."""
    class Stop(Exception):
        pass

    seen: list[int] = []

    def stop_soon(n_reps: int, n_points: int) -> None:
        seen.append(n_reps)
        if len(seen) == 5:
            raise Stop

    kw: dict[str, Any] = {"samples": 4, "reps": 20, "seed": 2, "workers": 1}
    with pytest.raises(Stop):
        sensitivity(minimal, params, out=tmp_path / "cut", progress=stop_soon, **kw)
    stored = chunks(tmp_path / "cut" / "sobol" / "store.sqlite")
    assert len(stored) == 5
    rest: list[int] = []
    cut = sensitivity(minimal, params, out=tmp_path / "cut", resume=True,
                      progress=lambda n, p: rest.append(n), **kw)
    total = 20 * (4 * (2 + 2) + (1 + 2 * 2))  # Saltelli points + tornado points
    assert sum(rest) == total - sum(b - a for _, a, b in stored)
    whole = sensitivity(minimal, params, out=tmp_path / "whole", **kw)
    assert estimates(cut) == estimates(whole)
    assert cut["tornado"] == whole["tornado"]


# --------------------------------------------------------------------------- input


@pytest.mark.parametrize("samples", [0, 1, 3, 12, 24, 100])
def test_samples_must_be_a_power_of_two(minimal, params, tmp_path, samples):
    with pytest.raises(UsageError, match="power of two"):
        sensitivity(minimal, params, samples=samples, reps=5, out=tmp_path, workers=1)
    assert not (tmp_path / "sobol").exists()


def run_cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """`relaysim ARGS` in this process: exit status, stdout, stderr."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_sensitivity(capsys, tmp_path):
    def cli(*args: Any) -> tuple[int, str, str]:
        return run_cli(capsys, *args)

    base = ["sensitivity", MINIMAL, "--vary", VARY[0], "--vary", VARY[1], "--reps", 10,
            "--workers", 1, "--quiet"]
    rc, out, err = cli(*base, "--samples", 12, "--out", tmp_path / "bad")
    assert rc == 2 and "power of two" in err and "Traceback" not in err
    assert "try 8 or 16" in err
    rc, out, err = cli(*base, "--samples", 2, "--out", tmp_path / "ok", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["samples"] == 2 and "noise_share" in res
    assert (tmp_path / "ok" / "sensitivity.json").exists()
    rc, out, err = cli("sensitivity", MINIMAL, "--samples", 4, "--out", tmp_path / "none")
    assert rc == 2 and "--vary" in err
    rc, out, err = cli(*base, "--samples", 4, "--vary", "zones.nowhere.fumble=0:1:2",
                       "--out", tmp_path / "nowhere")
    assert rc == 2 and "Traceback" not in err


def test_cli_sensitivity_on_a_dask_scheduler(capsys, tmp_path):
    """--scheduler runs the Saltelli sweep on a Dask cluster with the same indices as one
    local process; --workers and --scheduler exclude each other."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed "
                        "(pip install 'relaysim[dask]'); the Dask executor is not tested")
    import warnings

    from distributed import LocalCluster

    def cli(*args: Any) -> tuple[int, str, str]:
        return run_cli(capsys, *args)

    base = ["sensitivity", MINIMAL, "--vary", VARY[0], "--vary", VARY[1], "--reps", 10,
            "--samples", 2, "--seed", 5, "--quiet", "--json"]
    rc, _, err = cli(*base, "--workers", 2, "--scheduler", "tcp://127.0.0.1:1",
                     "--out", tmp_path / "both")
    assert rc == 2 and "not both" in err and not (tmp_path / "both").exists()
    rc, out, err = cli(*base, "--workers", 1, "--out", tmp_path / "local")
    assert rc == 0, err
    local = json.loads(out)
    with warnings.catch_warnings():  # another test's cluster may hold the dashboard port
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                               protocol="tcp://", host="127.0.0.1", dashboard_address=None)
    try:
        rc, out, err = cli(*base, "--scheduler", cluster.scheduler_address,
                           "--out", tmp_path / "dask")
    finally:
        cluster.close()
    assert rc == 0, err
    dask = json.loads(out)
    assert dask["sobol"] == local["sobol"] and dask["tornado"] == local["tornado"]
