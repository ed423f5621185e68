"""Teach numba scipy.special's gammaincinv and ndtri (importing this imports numba).

`relaysim.model.distributions.ppf_scalar` calls `distributions.gammaincinv(a, u)` and
`distributions.ndtri(u)`. Under Python those call scipy's ufuncs; once this module is imported,
numba compiles the same calls into calls of the C functions that
scipy.special.cython_special exports, found with
`numba.extending.get_cython_function_address`. Both are the same compiled code as the
ufuncs' double loops, so the results agree bit for bit (tests/test_ppf.py checks it).

    from relaysim.engines import nbspecial
    ppf = nbspecial.ppf_scalar_nb()     # numba.njit(ppf_scalar), compiled on first use

cython_special exports a function under its own name, or under `__pyx_fuse_<k>name` when
it is fused over several types; the capsule signature tells which one takes doubles.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any

import numba
import scipy.special.cython_special as _cs
from numba.extending import get_cython_function_address, overload

from ..model import distributions as D

__all__ = ["gammaincinv", "ndtri", "ppf_scalar_nb", "cython_name"]


def cython_name(name: str, n_args: int) -> str:
    """The name under which cython_special exports the all-double version of `name`."""
    want = "double (" + ", ".join(["double"] * n_args) + ", int __pyx_skip_dispatch)"
    for key, capsule in _cs.__pyx_capi__.items():  # type: ignore[attr-defined]
        if (key == name or (key.startswith("__pyx_fuse_") and key.endswith(name)
                            and key[len("__pyx_fuse_"):].lstrip("0123456789") == name)):
            if want in repr(capsule):
                return key
    raise LookupError(f"scipy.special.cython_special exports no double {name}")


def _cfunc(name: str, n_args: int) -> Any:
    addr = get_cython_function_address("scipy.special.cython_special",
                                       cython_name(name, n_args))
    ftype = ctypes.CFUNCTYPE(ctypes.c_double, *([ctypes.c_double] * n_args), ctypes.c_int)
    return ftype(addr)


gammaincinv = _cfunc("gammaincinv", 2)  #: C gammaincinv(a, y, skip_dispatch)
ndtri = _cfunc("ndtri", 1)  #: C ndtri(y, skip_dispatch)


def _is_real(t: Any) -> bool:
    return isinstance(t, (numba.types.Float, numba.types.Integer))


@overload(D.gammaincinv)
def _gammaincinv_nb(a, y):  # type: ignore[no-untyped-def]  # (numba: no annotations)
    if _is_real(a) and _is_real(y):
        def impl(a, y):  # type: ignore[no-untyped-def]
            return gammaincinv(float(a), float(y), 0)
        return impl
    return None


@overload(D.ndtri)
def _ndtri_nb(y):  # type: ignore[no-untyped-def]
    if _is_real(y):
        def impl(y):  # type: ignore[no-untyped-def]
            return ndtri(float(y), 0)
        return impl
    return None


# the gamma table's helpers, compiled from their own code (their gammaincinv resolves to
# the overload above)
@overload(D._hermite)
def _hermite_nb(tab, k, t):  # type: ignore[no-untyped-def]
    return D._hermite


@overload(D._gamma_cell)
def _gamma_cell_nb(tab, a, lga, k):  # type: ignore[no-untyped-def]
    return D._gamma_cell


@cache
def ppf_scalar_nb() -> Any:
    """`ppf_scalar` compiled by numba (signature (int64, float64[::1], float64,
    float64[:, ::1]))."""
    from ..model.distributions import ppf_scalar

    return numba.njit(ppf_scalar)
