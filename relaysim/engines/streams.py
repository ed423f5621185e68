"""Random streams per replication, per purpose, per runner (common random numbers).

Replication `rep` of a run with seed `seed` owns SeedSequence(seed, spawn_key=(rep,)).
Inside it, every random quantity belongs to one runner and one purpose (its work times,
the durations, fumble draws, recovery draws and rework times of the exchanges into it):
runner i of level k draws its n-th work time from the same place in every variant of the
scenario, whatever other runners do. That is what couples two variants run with the same
seed (common random numbers) and keeps a paired comparison tight.

For speed, the first BLOCK draws of every runner for one (purpose, level) come from one
generator as a (runners x BLOCK) array, made the first time that purpose is used on that
level; row i depends only on i, never on how many runners the level has. A runner that
needs more than BLOCK draws gets further blocks from its own generator, keyed by
(rep, purpose, level, runner, block number), so its stream continues deterministically.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._interim import uniform_array

# purposes: the number is part of the spawn key, so never renumber one
WORK, DURATION, FUMBLE, RECOVER, REWORK = 0, 1, 2, 3, 4
TURNOVER, VACANCY, LOSS, REVIEW, STREAM = 5, 6, 7, 8, 9
MERGED_WORK = 20  # + j for the j-th merged leg of one person (j >= 1)

BLOCK = 4

#: (uniforms of shape (rows, BLOCK), runner indices of those rows) -> draws of that shape
Transform = Callable[[np.ndarray, np.ndarray], np.ndarray] | None


class Streams:
    """Per-runner random streams for one replication."""

    __slots__ = ("entropy", "rep", "sizes", "_rows", "_cursor", "_transform", "_extra")

    def __init__(self, entropy: int, rep: int, sizes: tuple[int, ...]) -> None:
        self.entropy = entropy
        self.rep = rep
        self.sizes = sizes
        self._rows: dict[tuple[int, int], list[list[float]]] = {}
        self._cursor: dict[tuple[int, int], list[int]] = {}
        self._transform: dict[tuple[int, int], Transform] = {}
        self._extra: dict[tuple[int, int, int, int], list[float]] = {}

    def _generator(self, *key: int) -> np.random.Generator:
        ss = np.random.SeedSequence(self.entropy, spawn_key=(self.rep, *key))
        return np.random.Generator(np.random.PCG64(ss))

    def register(self, purpose: int, level: int, transform: Transform) -> None:
        """Draws for (purpose, level) are uniforms passed through `transform(u, rows)`
        (e.g. each runner's work distribution's inverse CDF)."""
        self._transform[(purpose, level)] = transform

    def _open(self, key: tuple[int, int]) -> None:
        n = self.sizes[key[1]]
        u = uniform_array(self.entropy, self.rep, key[0], key[1], np.arange(n), np.arange(BLOCK))
        t = self._transform.get(key)
        self._rows[key] = (t(u, np.arange(n)) if t is not None else u).tolist()
        self._cursor[key] = [0] * self.sizes[key[1]]

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
            u = uniform_array(self.entropy, self.rep, key[0], key[1], np.array([i]),
                              np.arange(block * BLOCK, (block + 1) * BLOCK))
            t = self._transform.get(key)
            values = self._extra[ekey] = (t(u, np.array([i])) if t is not None else u)[0].tolist()
        return values[pos]
