"""Random streams: one ``numpy.random.Generator`` per (component, path).

DESIGN.md, "Vectorised discrete events": path ``i`` of component ``c`` is seeded by
``SeedSequence(seed, spawn_key=(c, i))``, so its numbers depend only on ``(seed, c, i)``:
simulating paths 0..999 together or in chunks of 100 gives the same trajectories. Each path
draws its next *block* of numbers (e.g. a year of normals) from its own generator; that
draw is the one Python loop over paths the design allows. Everything downstream is
vectorised over the last (path) axis.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: Stable component ids: the spawn key's first element. Never renumber (it changes results).
COMPONENTS: dict[str, int] = {
    "btc_price": 0,
    "fees": 1,
    "network_hashrate": 2,
    "blocks": 3,
    "power": 4,
    "failures": 5,
    "pool": 6,
    "hpc": 7,
    "events": 8,
}


@dataclass
class PathStreams:
    """Per-path generators of one component, for the absolute path ids ``path_ids``.

    Parameters
    ----------
    seed : int
        The scenario seed.
    component : str
        A key of :data:`COMPONENTS` (or ``"name:k"`` for the k-th sub-stream, e.g. a site).
    path_ids : array of int
        Absolute path indices (0-based) simulated in this chunk.

    Examples
    --------
    >>> a = PathStreams(7, "btc_price", np.arange(4)).normal((3,))
    >>> b = PathStreams(7, "btc_price", np.arange(2, 4)).normal((3,))
    >>> bool(np.array_equal(a[:, 2:], b))
    True
    """

    seed: int
    component: str
    path_ids: np.ndarray
    _generators: list = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name, _, sub = self.component.partition(":")
        key = (COMPONENTS[name], int(sub or 0))
        self.path_ids = np.asarray(self.path_ids, dtype=np.int64)
        self._generators = [
            np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key + (int(i),))))
            for i in self.path_ids
        ]

    @property
    def paths(self) -> int:
        return len(self._generators)

    def _draw(self, fn: Callable[[np.random.Generator, tuple], np.ndarray], shape: tuple) -> np.ndarray:
        out = np.empty(tuple(shape) + (self.paths,))
        for j, g in enumerate(self._generators):  # the one allowed loop over paths
            out[..., j] = fn(g, tuple(shape))
        return out

    def normal(self, shape: tuple) -> np.ndarray:
        """Standard normals of shape ``shape + (paths,)``."""
        return self._draw(lambda g, s: g.standard_normal(s), shape)

    def uniform(self, shape: tuple) -> np.ndarray:
        """Uniforms on [0, 1) of shape ``shape + (paths,)``."""
        return self._draw(lambda g, s: g.random(s), shape)

    def integers(self, high: int, shape: tuple) -> np.ndarray:
        """Integers in [0, high) of shape ``shape + (paths,)``."""
        return self._draw(lambda g, s: g.integers(0, high, s), shape).astype(np.int64)
