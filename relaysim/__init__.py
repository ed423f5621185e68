"""relaysim: a discrete-event simulator of district initiatives as relay races.

    import relaysim
    sc = relaysim.load_scenario("scenarios/baseline.toml")
    res = relaysim.run(sc, reps=1000, seed=0)
    print(res.text())
"""

__version__ = "0.1.0"

from .errors import RelaysimError, ScenarioError, UsageError
from .records import InitiativeOutcome, LevelOutcome, Replication, ZoneCounts
from .run import RunResult, run
from .scenario import Scenario, load_scenario, scenario_from_dict
from .trace import Trace, trace

__all__ = [
    "__version__",
    "load_scenario",
    "scenario_from_dict",
    "run",
    "trace",
    "Scenario",
    "RunResult",
    "Trace",
    "Replication",
    "InitiativeOutcome",
    "LevelOutcome",
    "ZoneCounts",
    "RelaysimError",
    "ScenarioError",
    "UsageError",
]
