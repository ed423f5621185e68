"""How the engines compile plain model functions with numba (imports nothing heavy).

numba cannot call a plain Python function, so a module's functions that call each other
are compiled as copies bound to a globals dict in which each callee is replaced by its
compiled version (model/formulas.py, model/distributions.py and keyed.py are written so).
"""

from __future__ import annotations

import types


def jit_copy(f: types.FunctionType, g: dict[str, object]) -> types.FunctionType:
    """`f` itself (same code object) bound to globals `g`, ready for numba.njit."""
    copy = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    copy.__qualname__ = f.__qualname__
    copy.__module__ = f.__module__
    return copy
