"""Random streams per replication, per purpose, per runner (common random numbers).

Every random quantity belongs to one runner and one purpose (its work times, the
durations, fumble draws, recovery draws and rework times of the exchanges into it, ...).
Runner i of physical level k takes its n-th draw for a purpose from the keyed uniform

    u = keyed.uniform(seed_key(seed), rep, purpose, k, i, n)

(random streams version 3, see keyed.py), passed through that runner's distribution's
inverse CDF when the purpose has one (`register`). A draw is a pure function of its key:
runner i of level k draws its n-th work time alike in every variant of the scenario,
whatever other runners do. That couples two variants run with the same seed (common
random numbers) and keeps a paired comparison tight; and the compiled engine, which
computes the same keys, draws exactly the same numbers.

For speed, the first BLOCK draws of every runner for one (purpose, level) are computed as
one (runners x BLOCK) array the first time that purpose is used on that level; a runner
that needs more gets them BLOCK at a time. The block layout never changes a value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .keyed import seed_key, uniforms

# purposes: the number is part of every key, so never renumber one
WORK, DURATION, FUMBLE, RECOVER, REWORK = 0, 1, 2, 3, 4
TURNOVER, VACANCY, LOSS, REVIEW, STREAM = 5, 6, 7, 8, 9
MERGED_WORK = 20  # + j for the j-th merged leg of one person (j >= 1)
# peer sharing (docs/model.md 4.10), all keyed by a runner of the sharing level: a
# showcase's share times, its picks of a peer and the fumble draws of its lateral
# handoffs; a newcomer's visit times, picks and fumble draws; the random network
SHARE_GAP, SHARE_PICK, SHARE_FUMBLE, NEWCOMER, NETWORK = 10, 11, 12, 13, 14
PARAMETER = 16  # parameters drawn from distributions (realize.py; level = the path's key)

BLOCK = 4
_COLS = np.arange(BLOCK)[None, :]

#: (uniforms of shape (rows, BLOCK), runner indices of those rows) -> draws of that shape
Transform = Callable[[np.ndarray, np.ndarray], np.ndarray] | None


class Streams:
    """Per-runner random streams for one replication (run seed `seed`, replication `rep`)."""

    __slots__ = ("seed", "key", "rep", "sizes", "_rows", "_cursor", "_transform", "_extra")

    def __init__(self, seed: int, rep: int, sizes: tuple[int, ...]) -> None:
        self.seed = seed
        self.key = seed_key(seed)
        self.rep = rep
        self.sizes = sizes
        self._rows: dict[tuple[int, int], list[list[float]]] = {}
        self._cursor: dict[tuple[int, int], list[int]] = {}
        self._transform: dict[tuple[int, int], Transform] = {}
        self._extra: dict[tuple[int, int, int, int], list[float]] = {}

    def register(self, purpose: int, level: int, transform: Transform) -> None:
        """Draws for (purpose, level) are uniforms passed through `transform(u, rows)`
        (e.g. each runner's work distribution's inverse CDF)."""
        self._transform[(purpose, level)] = transform

    def _values(self, key: tuple[int, int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        u = uniforms(self.key, self.rep, key[0], key[1], rows[:, None], cols)
        t = self._transform.get(key)
        return t(u, rows) if t is not None else u

    def _open(self, key: tuple[int, int]) -> None:
        n = self.sizes[key[1]]
        self._rows[key] = self._values(key, np.arange(n), _COLS).tolist()
        self._cursor[key] = [0] * n

    def draw(self, purpose: int, level: int, i: int) -> float:
        """The next draw of runner i on `level` for `purpose`."""
        key = (purpose, level)
        cur = self._cursor.get(key)
        if cur is None:
            self._open(key)
            cur = self._cursor[key]
        n = cur[i]
        cur[i] = n + 1
        if n < BLOCK:
            return self._rows[key][i][n]
        return self._overflow(key, i, n)

    def _overflow(self, key: tuple[int, int], i: int, n: int) -> float:
        block, pos = divmod(n, BLOCK)
        ekey = (key[0], key[1], i, block)
        values = self._extra.get(ekey)
        if values is None:
            values = self._extra[ekey] = self._values(
                key, np.array([i]), _COLS + block * BLOCK)[0].tolist()
        return values[pos]
