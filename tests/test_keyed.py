"""Keyed random numbers (random streams v2 and v3): quality, the three code paths, lazy numba."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from relaysim.engines import keyed as K

KEY = st.integers(min_value=0, max_value=2**63 - 1)
SMALL = st.integers(min_value=0, max_value=10**6)


def test_version_and_range():
    assert K.STREAM_VERSION == 3
    u = K.uniforms(0, 0, 0, 0, np.arange(1000)[:, None], np.arange(50)[None, :])
    assert u.shape == (1000, 50)
    assert u.dtype == np.float64
    assert (u >= 0).all() and (u < 1).all()
    # 53 random bits: every value is a multiple of 2**-53
    assert (u * 2.0**53 == np.floor(u * 2.0**53)).all()


def test_extremes_stay_in_range():
    top = 2**63 - 1
    for key in [(0,) * 6, (top,) * 6, (top, 0, top, 0, top, 0)]:
        assert 0.0 <= K.uniform(*key) < 1.0


@settings(max_examples=300, deadline=None)
@given(KEY, KEY, SMALL, SMALL, st.lists(KEY, min_size=1, max_size=8),
       st.lists(KEY, min_size=1, max_size=5))
def test_uniforms_match_uniform(seed, rep, purpose, level, runners, ns):
    r = np.array(runners, dtype=np.int64)[:, None]
    n = np.array(ns, dtype=np.int64)[None, :]
    got = K.uniforms(seed, rep, purpose, level, r, n)
    want = np.array([[K.uniform(seed, rep, purpose, level, a, b) for b in ns] for a in runners])
    assert got.tobytes() == want.tobytes()


def test_numba_bit_identical_on_random_keys():
    pytest.importorskip("numba")
    c = K.compiled()
    rng = np.random.default_rng(11)
    keys = np.concatenate([rng.integers(0, 2**63, (3000, 6)),
                           rng.integers(0, 50, (2000, 6))]).tolist()
    keys += [[2**63 - 1] * 6, [0] * 6]
    for k in keys:
        want = K.uniform(*k)
        assert c.uniform(*k) == want
        # the compiled engine's two halves: a prefix per (purpose, level), then the rest
        assert c.uniform_at(c.prefix(*k[:4]), *k[4:]) == want
        assert K.uniform_at(K.prefix(*k[:4]), *k[4:]) == want


@settings(max_examples=500, deadline=None)
@given(KEY, KEY, SMALL, SMALL, KEY, KEY)
def test_numba_bit_identical_hypothesis(seed, rep, purpose, level, runner, n):
    want = K.uniform(seed, rep, purpose, level, runner, n)
    assert K.uniform_nb()(seed, rep, purpose, level, runner, n) == want
    assert K.uniform_at(K.prefix(seed, rep, purpose, level), runner, n) == want


def test_uniform_ks_and_moments():
    # one runner's stream (n = 0..N) and many runners' first draws (the block layout)
    along_n = K.uniforms(7, 3, 0, 2, 5, np.arange(200_000))
    across = K.uniforms(7, 3, 0, 2, np.arange(200_000), 0)
    across_rep = np.array([K.uniform(7, r, 0, 2, 5, 0) for r in range(20_000)])
    for u in (along_n, across, across_rep):
        assert stats.kstest(u, "uniform").pvalue > 1e-4
        se = np.sqrt(1 / 12 / u.size)
        assert abs(u.mean() - 0.5) < 5 * se


@pytest.mark.parametrize("axis", ["n", "runner", "rep", "seed", "purpose", "level"])
def test_no_correlation_between_neighbouring_keys(axis):
    m = 50_000
    i = np.arange(m)

    def at(offset: int) -> np.ndarray:
        if axis == "n":
            return K.uniforms(1, 2, 3, 4, 5, i + offset)
        if axis == "runner":
            return K.uniforms(1, 2, 3, 4, i + offset, 6)
        # the scalar components: key i of the block, neighbour by +1 on the axis
        base = dict(seed=1, rep=2, purpose=3, level=4)
        base[axis] += offset
        return K.uniforms(base["seed"], base["rep"], base["purpose"], base["level"], i, 6)

    a, b = at(0), at(1)
    # lag-1 correlation and an independence test on a 10x10 grid of pairs
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 5 / np.sqrt(m)
    table, _, _ = np.histogram2d(a, b, bins=10, range=[[0, 1], [0, 1]])
    assert stats.chi2_contingency(table).pvalue > 1e-4
    # neighbouring n within one stream too
    if axis == "n":
        assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 5 / np.sqrt(m)


def test_bits_are_balanced():
    # every one of the 53 bits is set about half the time (a weak mixer leaves low bits)
    u = K.uniforms(0, 0, 1, 1, np.arange(100_000), 0)
    bits = (u * 2.0**53).astype(np.uint64)
    for b in range(53):
        frac = float(((bits >> np.uint64(b)) & np.uint64(1)).mean())
        assert abs(frac - 0.5) < 5 * 0.5 / np.sqrt(u.size), b


def test_seed_key():
    assert K.seed_key(0) == 0
    assert K.seed_key(2**63 - 1) == 2**63 - 1
    big = [K.seed_key(2**63), K.seed_key(2**64), K.seed_key(2**64 + 1), K.seed_key(10**40)]
    assert len(set(big)) == 4
    assert all(0 <= b < 2**63 for b in big)
    with pytest.raises(ValueError):
        K.seed_key(-1)


def test_import_does_not_load_numba():
    code = ("import sys, relaysim.engines.keyed, relaysim.engines.streams, "
            "relaysim.engines.simpy_engine, relaysim.model.distributions; "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_streams_draw_is_ppf_of_keyed_uniform(make_scenario):
    """Runner i's n-th draw for (purpose, level) is its distribution's ppf of
    uniform(seed, rep, purpose, level, i, n), past the first block too, and a purpose
    without a transform gives the uniform itself."""
    from relaysim.engines import streams as S
    from relaysim.model.distributions import gamma_table, ppf_scalar
    from relaysim.model.plan import plan_for, transform

    sc = make_scenario(levels=[{"name": "d"}, {"name": "s", "count": 5,
                                               "work": {"dist": "gamma", "mean": 10, "cv": 0.5}}],
                       zones=[{"to": "s", "fumble": 0.1}])
    plan = plan_for(sc)
    for seed in (0, 12345, 2**63 + 7):
        st = S.Streams(seed, 9, plan.sizes)
        st.register(S.WORK, 1, transform(plan, 1, "work"))
        code, params = plan.bundles[1][0].work.packed()
        key = K.seed_key(seed)
        for i in (4, 0, 2):
            for n in range(3 * S.BLOCK + 1):
                want = ppf_scalar(code, params, K.uniform(key, 9, S.WORK, 1, i, n),
                                  gamma_table(params[0]))
                assert st.draw(S.WORK, 1, i) == want
                assert st.draw(S.FUMBLE, 1, i) == K.uniform(key, 9, S.FUMBLE, 1, i, n)
