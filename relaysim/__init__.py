"""relaysim: a discrete-event simulator of district initiatives as relay races.

    import relaysim
    sc = relaysim.load_scenario("scenarios/baseline.toml")
    res = relaysim.run(sc, reps=1000, seed=0)
    print(res.text())

The package reads as layers, each importing only the ones before it:
model (scenarios, distributions, formulas, plan) -> engines (one replication) ->
study (runs, sweeps, comparisons, sensitivity) -> present (text, traces, plots, report)
-> cli.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .engines.records import InitiativeOutcome, LevelOutcome, Replication, ZoneCounts
from .errors import RelaysimError, ScenarioError, UsageError
from .model.scenario import Scenario, load_scenario, scenario_from_dict
from .present.trace import Trace, trace
from .study.compare import compare
from .study.run import RunResult, run
from .study.sweep import SweepResult, sweep

__all__ = [
    "__version__",
    "load_scenario",
    "scenario_from_dict",
    "run",
    "trace",
    "sweep",
    "compare",
    "plot",
    "load_results",
    "Scenario",
    "RunResult",
    "SweepResult",
    "Trace",
    "Replication",
    "InitiativeOutcome",
    "LevelOutcome",
    "ZoneCounts",
    "RelaysimError",
    "ScenarioError",
    "UsageError",
]


def __getattr__(name: str) -> Any:
    # matplotlib and pandas are imported only when plots or results are asked for
    if name == "plot":
        return importlib.import_module(".present.plot", __name__)
    if name == "load_results":
        return importlib.import_module(".present.results", __name__).load_results
    raise AttributeError(f"module 'relaysim' has no attribute {name!r}")
