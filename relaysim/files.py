"""Writing files safely: atomic replacement of output files, strict JSON."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError

__all__ = ["atomic_write", "json_safe"]


def json_safe(x: Any) -> Any:
    """The same structure with NaN and infinities as None (strict JSON has neither)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.floating):
        return json_safe(float(x))
    return x


def atomic_write(path: str | Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees a half-written file."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    except OSError as e:
        raise UsageError(f"cannot write {p}: {e.strerror or e}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
