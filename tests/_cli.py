"""Helpers the command-line tests share: run `relaysim` in this process, and the
environment for a `python -m relaysim` subprocess that imports this relaysim."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import relaysim
from relaysim.cli import main

PKG_ROOT = Path(relaysim.__file__).resolve().parents[1]


def cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """Run the command line in this process: (exit status, stdout, stderr)."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:  # argparse usage errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def sub_env() -> dict[str, str]:
    """Environment for a `python -m relaysim` subprocess that imports this relaysim (and
    draws with matplotlib's file backend)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PKG_ROOT), env.get("PYTHONPATH", "")) if p)
    env["MPLBACKEND"] = "Agg"
    return env
