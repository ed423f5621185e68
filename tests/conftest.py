"""Shared test helpers: build scenarios from small dicts.

    def test_x(make_scenario):
        sc = make_scenario(levels=[{"name": "d"}, {"name": "c", "count": 3}],
                           zones=[{"to": "c", "fumble": 0.1}], horizon=100)

Keep additions here additive: other test files rely on these names.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from relaysim import Scenario, scenario_from_dict


def scenario_dict(
    levels: list[dict[str, Any]] | None = None,
    zones: list[dict[str, Any]] | None = None,
    initiatives: list[dict[str, Any]] | None = None,
    horizon: float = 1000.0,
    effects: dict[str, Any] | None = None,
    **scenario_keys: Any,
) -> dict[str, Any]:
    """The raw (TOML-shaped) dict of a scenario. Defaults: one level 'district', no zones,
    one initiative 'a' with every default, horizon 1000."""
    raw: dict[str, Any] = {
        "scenario": {"horizon": horizon, **scenario_keys},
        "levels": copy.deepcopy(levels) if levels is not None else [{"name": "district"}],
        "initiatives": (copy.deepcopy(initiatives) if initiatives is not None
                        else [{"name": "a"}]),
    }
    if zones:
        raw["zones"] = copy.deepcopy(zones)
    if effects:
        raw["effects"] = dict(effects)
    return raw


def build_scenario(**kwargs: Any) -> Scenario:
    """A validated Scenario from the keyword arguments of `scenario_dict`."""
    return scenario_from_dict(scenario_dict(**kwargs))


@pytest.fixture(scope="session")
def make_scenario():
    """The `build_scenario` function (session-scoped, so usable with hypothesis)."""
    return build_scenario


@pytest.fixture(scope="session", autouse=True)
def _fast_engine_compiled() -> None:
    """Compile (or load) the fast engine once, in this process, before any test: on a
    fresh checkout numba's cache is empty, and tests that start relaysim in a subprocess
    (with time limits) should load the compiled engine rather than each compile it."""
    from relaysim.engines import fast

    if fast.available():
        fast.kernel()
