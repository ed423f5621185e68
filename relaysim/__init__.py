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
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import RelaysimError, ScenarioError, UsageError

if TYPE_CHECKING:
    from .engines.records import InitiativeOutcome, LevelOutcome, Replication, ZoneCounts
    from .model.scenario import Scenario, load_scenario, scenario_from_dict
    from .present.results import load_results
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

# The API is imported when first used, so that `import relaysim` (and the command line's
# start-up) does not pay for scipy, matplotlib or the engines it does not need.
_HOME = {
    "load_scenario": ".model.scenario", "scenario_from_dict": ".model.scenario",
    "Scenario": ".model.scenario", "run": ".study.run", "RunResult": ".study.run",
    "sweep": ".study.sweep", "SweepResult": ".study.sweep", "compare": ".study.compare",
    "trace": ".present.trace", "Trace": ".present.trace", "load_results": ".present.results",
    "Replication": ".engines.records", "InitiativeOutcome": ".engines.records",
    "LevelOutcome": ".engines.records", "ZoneCounts": ".engines.records",
}


def __getattr__(name: str) -> Any:
    if name == "plot":
        return importlib.import_module(".present.plot", __name__)
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'relaysim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
