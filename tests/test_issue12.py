"""Regression tests for issue 12 ("Honest intervals"), each with the issue's reproduction.

Interval methods themselves (closed forms, coverage by simulation) are tested in
tests/test_intervals.py; this file checks that the commands use them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relaysim import load_scenario
from relaysim.study.compare import compare, compare_text

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "scenarios" / "minimal.toml"


@pytest.fixture(scope="module")
def minimal():
    return load_scenario(MINIMAL)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_point1_compare_never_reports_a_zero_width_interval(minimal, seed):
    """Point 1: B = minimal with the classroom fumble risk 0.10 -> 0.0995, 100 reps. No pair
    disagrees, and the old t interval was "+0.0 (95% CI +0.0 to +0.0)"."""
    b = minimal.with_values({"zones.classroom.fumble": 0.0995})
    res = compare(minimal, b, reps=100, seed=seed, workers=1)
    d = res["initiatives"]["reading"]["completion_rate"]
    assert d["discordant"] == {"a_not_b": 0, "b_not_a": 0}
    lo, hi = d["ci95"]
    assert lo < 0 < hi and hi - lo > 0.05  # 100 pairs cannot rule out a few points
    assert d["method"] == "tango-score"
    cov = res["initiatives"]["reading"]["coverage"]
    assert cov["ci95"][0] < cov["ci95"][1]
    text = compare_text(res)
    assert "0 replications completed under A only, 0 under B only" in text
    assert "+0.0 to +0.0" not in text


def test_point1_one_discordant_pair_in_the_helping_direction(minimal):
    """With a single discordant pair (fumble 0.10 -> 0.098, seed 1: one replication
    completes under B only) one pair in 100 is weak evidence: the interval includes 0, is
    not [x, x], and reaches further in the helping direction than the old symmetric t
    interval (+1.0, 95% CI -1.0 to +3.0)."""
    b = minimal.with_values({"zones.classroom.fumble": 0.098})
    d = compare(minimal, b, reps=100, seed=1, workers=1)["initiatives"]["reading"]
    c = d["completion_rate"]
    assert c["discordant"] == {"a_not_b": 0, "b_not_a": 1}
    assert c["difference"] == pytest.approx(0.01)
    lo, hi = c["ci95"]
    assert lo < 0 < 0.01 < hi
    assert hi > 0.05 and hi - 0.01 > 0.01 - lo
    # the coverage effect is reported next to it
    assert d["coverage"]["difference"] > 0


def test_point1_reps_saved_is_judged_by_the_interval_printed():
    """Pairing's saving was var(A) + var(B) over var(B - A): one differing coverage pair in
    100 made var(B - A) tiny and claimed tens of thousands of replications saved, although
    the floored interval printed is far wider than that variance implies. Now the saving
    is what an unpaired run needs for an interval as narrow as the one printed, and with
    no discordant pair the completion's saving is finite (Tango's interval has width)."""
    import math

    import numpy as np

    from relaysim.study.compare import Z95, paired_completion, paired_coverage

    rng = np.random.default_rng(0)
    a = rng.uniform(0.6, 0.95, 100)
    b = a.copy()
    b[17] += 0.05  # one pair differs
    d = paired_coverage(a, b)
    var_ind = float(np.var(a, ddof=1) + np.var(b, ddof=1))
    half = (d["ci95"][1] - d["ci95"][0]) / 2
    need = d["independent_reps_needed"]
    assert need == math.ceil(var_ind / (half / Z95) ** 2)
    # an unpaired interval from `need` replications each is no wider than the printed one
    assert Z95 * math.sqrt(var_ind / need) <= half + 1e-12
    naive = var_ind / float(np.var(b - a, ddof=1))  # the old ratio
    assert d["variance_ratio"] < naive / 4  # 163 against 910 (91,000 replications "saved")
    done = np.ones(100)
    done[::4] = 0
    c = paired_completion(done, done)
    assert c["reps_saved"] is not None and 0 < c["reps_saved"] < 2000


def test_point5_more_attempts_can_hurt_with_slots(minimal):
    """Point 5: with limited slots an extra attempt holds the giver's slot through rework
    and blocks its siblings. On minimal.toml with one coaching slot per principal
    (classroom zone: slots 1, fumble 0.3, recover 0.9, rework mean 40 days, deadline 90),
    raising max_attempts from 2 to 3 lowers completion under common random numbers: more
    replications get worse than better, and the paired interval excludes 0."""
    base = {"zones.classroom.slots": 1, "zones.classroom.fumble": 0.3,
            "zones.classroom.recover": 0.9,
            "zones.classroom.rework": {"dist": "exponential", "mean": 40},
            "zones.classroom.max_attempts": 2, "initiatives.reading.deadline": 90}
    a = minimal.with_values(base)
    b = minimal.with_values({**base, "zones.classroom.max_attempts": 3})
    d = compare(a, b, reps=2000, seed=0, workers=1)["initiatives"]["reading"]
    c = d["completion_rate"]
    assert c["discordant"]["a_not_b"] > c["discordant"]["b_not_a"]  # 34 vs 17 at seed 0
    assert c["ci95"][1] < 0  # -0.85 points (95% CI -1.6 to -0.2) at seed 0, 2,000 reps
    assert d["coverage"]["difference"] < 0


def test_point2_stream_intervals_are_clustered_by_replication():
    """Point 2: overloaded.toml, 300 reps, about 9 arrivals per replication. Arrivals in
    one replication share queues, tanks and departures: the clustered standard error of
    the stream's coverage is larger than the one that treats arrivals as independent, and
    run --json reports the design effect."""
    import numpy as np

    from relaysim.study.run import run

    res = run(load_scenario(ROOT / "scenarios" / "overloaded.toml"), reps=300, seed=0,
              workers=1)
    cov = res.summary["initiatives"]["stream"]["coverage"]
    assert cov["design_effect"] > 1.5  # 2.49 at seed 0; issue 12 found 1.8
    assert cov["clusters"] == 300 and cov["method"] == "t-cluster"
    vals = np.array([o.coverage for r in res.replications for o in r.initiatives
                     if o.name == "stream" and o.observed])
    naive_se = vals.std(ddof=1) / np.sqrt(len(vals))
    assert cov["se"] > 1.2 * naive_se
    lo, hi = cov["ci95"]
    assert hi - lo > 2 * 1.96 * naive_se * 1.2
    # a named initiative has one outcome per replication: nothing to cluster
    named = res.summary["initiatives"]["reading"]
    assert named["completion_rate"]["design_effect"] == 1.0
    assert named["completion_rate"]["method"] == "wilson"
    # KM quartile intervals and per-level intervals are reported
    assert set(named["completion_time"]["ci95"]) == {"q25", "median", "q75"}
    for lv in res.summary["levels"].values():
        assert lv["utilization_ci95"][0] <= lv["utilization"] <= lv["utilization_ci95"][1]


def test_point4_precision_waits_for_the_minimum(minimal, tmp_path):
    """Point 4: a point whose completion is 0 (deadline 1) gave a tiny Wilson half-width
    after the first chunk of 50 and stopped there. Now no point stops before --min-reps
    (200), and the 50/50-ish point runs until the rule's width is reached."""
    from relaysim.study.intervals import precision_half_width
    from relaysim.study.sweep import sweep

    pts = [{"initiatives.reading.deadline": 1}, {"initiatives.reading.deadline": 360}]
    res = sweep(minimal, pts, reps=600, seed=0, out=tmp_path, workers=1, precision=0.05)
    never, hard = (r["initiatives"]["reading"] for r in res.rows)
    assert res.rows[0]["reps"] == 200 and never["completion_rate"] == 0
    assert 200 < res.rows[1]["reps"] <= 600
    assert precision_half_width(hard["successes"], hard["n"], 0.05) <= 0.05
