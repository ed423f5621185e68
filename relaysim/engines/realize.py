"""One replication's district: the values of the parameters a scenario draws from
distributions (relaysim.model.draws), and the concrete scenario they make.

Parameter draws have keyed streams of their own (keyed.py, purpose `streams.PARAMETER`):
the draw of parameter `path` for runner r in replication `rep` is

    u = keyed.uniform(seed_key(seed), rep, PARAMETER, path_key(path), r, 0)

(r = 0 for a draw per replication), passed through the distribution's inverse CDF. The
key holds the parameter's dotted path, so changing one parameter's distribution never
changes another's draws; two variants run with the same seed draw the same districts
(common random numbers); and scenarios without distributions draw nothing, so their
results are those of a scenario that never heard of distributions.

Both engines call `realize` first, so they run the same district.
"""

from __future__ import annotations

import copy
import hashlib
from functools import cache

import numpy as np

from ..errors import Problem, ScenarioError
from ..model import paths as P
from ..model.scenario import Scenario, scenario_from_dict
from .keyed import seed_key, uniform, uniforms
from .streams import PARAMETER

__all__ = ["realize", "replication_values", "path_key"]


@cache
def path_key(path: str) -> int:
    """The key component of a dotted path: 63 bits of its sha256."""
    return int.from_bytes(hashlib.sha256(path.encode()).digest()[:8], "little") >> 1


def replication_values(sc: Scenario, seed: int, rep: int) -> dict[str, float]:
    """The values drawn per replication (`per = "replication"`) in replication `rep`, by
    dotted path ({} when the scenario draws nothing per replication)."""
    key = seed_key(seed)
    return {d.path: d.value(uniform(key, rep, PARAMETER, path_key(d.path), 0, 0))
            for d in sc.draws if d.per == "replication"}


def realize(sc: Scenario, seed: int, rep: int) -> Scenario:
    """The district of replication `rep`: `sc` with every drawn parameter at its value
    for that replication (per-runner values in `runner_values`, for the plan). A
    scenario that draws nothing is returned as it is."""
    if not sc.draws:
        return sc
    key = seed_key(seed)
    raw = copy.deepcopy(sc.raw)
    runner: list[tuple[str, tuple[float, ...]]] = []
    for path, x in replication_values(sc, seed, rep).items():
        P.set_raw(raw, path, x)
    for d in sc.draws:
        if d.per != "runner":
            continue
        n = sc.level_sizes[sc.level_index(d.path.split(".")[1])]
        u = uniforms(key, rep, PARAMETER, path_key(d.path), np.arange(n, dtype=np.int64), 0)
        runner.append((d.path, d.runner_values(u)))
        P.set_raw(raw, d.path, d.dist.centre())
    try:
        out = scenario_from_dict(raw, sc.source)
    except ScenarioError as e:  # values that are valid alone but not together
        raise ScenarioError([Problem(q.path, f"{q.message} (in the district drawn for "
                                     f"replication {rep})") for q in e.problems],
                            sc.source) from None
    return out.with_runner_values(tuple(runner)) if runner else out
