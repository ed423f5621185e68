"""Who shares with whom: the neighbours of each runner of the sharing level (docs/model.md
4.10), one list per runner in ascending order, the same for both engines.

- all: every other runner of the level;
- segment: every other runner of the same segment (runners outside every segment form
  one group of their own);
- ring: the runners in index order on a circle; runner i's neighbours are the first
  `degree` of i+1, i-1, i+2, i-2, ... (mod n), so an even degree is symmetric and an odd
  one adds the next runner ahead;
- random: each runner draws `degree` distinct others uniformly, by a partial
  Fisher-Yates shuffle of the others (in index order) with keyed uniforms of purpose
  NETWORK (streams.py), draw t for the t-th pick: a new graph in every replication,
  directed (j may be i's neighbour without i being j's).
"""

from __future__ import annotations

import numpy as np

from ..model.plan import Plan
from ..model.scenario import Sharing
from .keyed import seed_key, uniform
from .streams import NETWORK

__all__ = ["neighbours", "as_arrays"]


def neighbours(plan: Plan, sharing: Sharing, p: int, seed: int, rep: int
               ) -> list[list[int]]:
    """Each runner's neighbours on physical level p (ascending runner indices)."""
    n = plan.sizes[p]
    net = sharing.network
    if net == "all":
        return [[j for j in range(n) if j != i] for i in range(n)]
    if net == "segment":
        seg = [b.segment for b in plan.runner_bundles(p)]
        return [[j for j in range(n) if j != i and seg[j] == seg[i]] for i in range(n)]
    k = min(sharing.degree, n - 1)
    if net == "ring":
        out = []
        for i in range(n):
            got: list[int] = []
            step = 1
            while len(got) < k:
                for j in ((i + step) % n, (i - step) % n):
                    if j != i and j not in got and len(got) < k:
                        got.append(j)
                step += 1
            out.append(sorted(got))
        return out
    key = seed_key(seed)
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        m = n - 1
        for t in range(k):
            x = t + int(uniform(key, rep, NETWORK, p, i, t) * (m - t))
            others[t], others[x] = others[x], others[t]
        out.append(sorted(others[:k]))
    return out


def as_arrays(nbrs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The lists as compressed rows: runner i's neighbours are idx[ptr[i]:ptr[i + 1]]."""
    ptr = np.zeros(len(nbrs) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in nbrs])
    idx = np.array([j for x in nbrs for j in x] or [0], dtype=np.int64)
    return ptr, idx
