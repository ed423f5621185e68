"""One inverse CDF per family: vectorised ppf, ppf_scalar and its numba compilation agree
bit for bit (the SimPy and compiled engines turn the same uniform into the same time)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaysim.model import distributions as D

DISTS = [
    D.Fixed(3.0), D.Fixed(0.0), D.Exponential(5.0), D.Exponential(1e-3),
    D.Gamma(15.0, 0.5), D.Gamma(9.0, 0.01), D.Gamma(2.0, 3.0), D.Gamma(2.0, 10.0),
    D.Lognormal(20.0, 0.4), D.Lognormal(5.0, 0.0), D.Lognormal(5.0, 10.0),
    D.Uniform(10.0, 40.0), D.Uniform(0.0, 0.0),
    D.Triangular(1.0, 2.0, 5.0), D.Triangular(2.0, 2.0, 2.0), D.Triangular(1.0, 5.0, 5.0),
    D.Triangular(1.0, 1.0, 5.0), D.Empirical((5.0, 1.0, 3.0, 3.0, 9.0)), D.Empirical((4.0,)),
]
GRID = np.concatenate([
    [0.0, 5e-324, 2.0**-53, 1e-300, 1e-17, 0.5, 0.25, 0.75, 1 - 2.0**-53, 1 - 2.0**-30],
    np.random.default_rng(0).random(3000),
])


def _ids(d: D.Distribution) -> str:
    return d.describe()


def _tab(code: int, params: np.ndarray, fresh: bool = False) -> np.ndarray:
    """The table ppf_scalar takes: a tabulated gamma's (this process's shared one, or a
    fresh empty one), NO_TABLE for the rest."""
    if code != D.GAMMA or not params[3]:
        return D.NO_TABLE
    return np.zeros((D.GAMMA_CELLS + 1, 3)) if fresh else D.gamma_table(params[0])


def test_codes_are_distinct_and_packed_is_flat():
    codes = {cls.code for cls in D.FAMILIES.values()}
    assert codes == set(range(len(D.FAMILIES)))
    for d in DISTS:
        code, params = d.packed()
        assert code == type(d).code
        assert params.dtype == np.float64 and params.ndim == 1
    assert D.Empirical((5.0, 1.0, 3.0)).packed()[1].tolist() == [1.0, 3.0, 5.0]


@pytest.mark.parametrize("d", DISTS, ids=_ids)
def test_ppf_scalar_equals_vectorised_ppf(d):
    code, params = d.packed()
    tab = _tab(code, params, fresh=True)
    scalar = np.array([D.ppf_scalar(code, params, float(u), tab) for u in GRID])
    assert scalar.tobytes() == d.ppf(GRID).tobytes()
    assert not np.isnan(scalar).any()
    assert (scalar >= 0).all()


@pytest.mark.parametrize("d", DISTS, ids=_ids)
def test_numba_ppf_equals_python(d):
    pytest.importorskip("numba")
    from relaysim.engines import nbspecial

    f = nbspecial.ppf_scalar_nb()
    code, params = d.packed()
    tab_nb, tab_py = _tab(code, params, fresh=True), _tab(code, params, fresh=True)
    nb = np.array([f(code, params, float(u), tab_nb) for u in GRID])
    py = np.array([D.ppf_scalar(code, params, float(u), tab_py) for u in GRID[::-1]])[::-1]
    assert nb.tobytes() == py.tobytes()
    assert tab_nb.tobytes() == tab_py.tobytes()  # filled in opposite orders


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 10.0), st.floats(0.01, 500.0),
       st.floats(0.0, 1.0, exclude_max=True))
def test_gamma_lognormal_numba_hypothesis(spread, scale, u):
    pytest.importorskip("numba")
    from relaysim.engines import nbspecial

    f = nbspecial.ppf_scalar_nb()
    for d in (D.Gamma(scale, spread), D.Lognormal(scale, spread), D.Exponential(scale)):
        code, params = d.packed()
        assert (f(code, params, u, _tab(code, params, fresh=True))
                == D.ppf_scalar(code, params, u, _tab(code, params))
                == d.ppf(np.array([u]))[0])


def test_nbspecial_finds_double_functions():
    pytest.importorskip("numba")
    import scipy.special as sp

    from relaysim.engines import nbspecial

    assert nbspecial.gammaincinv(2.5, 0.3, 0) == sp.gammaincinv(2.5, 0.3)
    assert nbspecial.ndtri(0.3, 0) == sp.ndtri(0.3)


# -- the tabulated gamma inverse CDF (distributions.GAMMA_CELLS) --------------------------
@pytest.mark.parametrize("cv", [0.01, 0.05, 0.3, 0.5, 1.0, 2.0, 3.0, 10.0])
def test_tabulated_gamma_is_within_its_tolerance_of_the_exact_quantile(cv):
    """Everywhere in [0, 1), not only at the midpoints the table checks: a cubic Hermite's
    error peaks at its midpoint, so 1.5 times the tolerance bounds it (the tails and the
    cells that fail the check are exact)."""
    from scipy.special import gammaincinv

    g = D.Gamma(7.0, cv)
    shape, scale = g.packed()[1][:2]
    u = np.concatenate([np.random.default_rng(1).random(200_000),
                        (np.arange(D.GAMMA_CELLS) + 0.5) / D.GAMMA_CELLS])
    exact = gammaincinv(shape, u) * scale
    got = g.ppf(u)
    ok = exact > 0
    assert np.all(np.abs(got[ok] / exact[ok] - 1) <= 1.5 * D.GAMMA_TOL)
    assert np.array_equal(got[~ok], exact[~ok])
    outside = (u < 1 / 64) | (u >= 63 / 64)
    assert np.array_equal(got[outside], exact[outside])  # the tails are exact
    assert np.all(np.diff(got[np.argsort(u)]) >= 0)  # still monotone: common random numbers


def test_a_gamma_table_is_the_same_whatever_order_it_is_filled_in():
    code, params = D.Gamma(3.0, 0.7).packed()
    u = np.random.default_rng(2).random(5000)
    a, b = _tab(code, params, fresh=True), _tab(code, params, fresh=True)
    va = [D.ppf_scalar(code, params, float(x), a) for x in u]
    vb = [D.ppf_scalar(code, params, float(x), b) for x in u[::-1]][::-1]
    assert va == vb and a.tobytes() == b.tobytes()
    assert set(np.unique(a[:, 2])) <= {0.0, 1.0, 2.0}


def test_a_drawn_cv_makes_an_exact_gamma_and_a_drawn_mean_keeps_the_table():
    """A gamma whose cv is drawn per runner has a shape of its own: tabulating it would
    fill a table per runner, so it calls the exact inverse CDF."""
    from scipy.special import gammaincinv

    g = D.Gamma(10.0, 0.5)
    assert g.packed()[1][3] == 1.0
    assert g.with_param("mean", 12.0).packed()[1][3] == 1.0
    exact = g.with_param("cv", 0.6)
    assert exact.packed()[1][3] == 0.0 and exact.with_param("mean", 3.0).packed()[1][3] == 0.0
    u = np.random.default_rng(3).random(100)
    shape = 1 / 0.6**2
    assert exact.ppf(u).tobytes() == (gammaincinv(shape, u) * (10.0 / shape)).tobytes()
