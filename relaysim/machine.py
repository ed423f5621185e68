"""What this machine offers the work: its cores."""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
