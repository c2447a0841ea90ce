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
from scipy import special

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
    "demand_response": 9,
    "four_cp": 10,
    "power_common": 11,
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
        out = np.empty((self.paths,) + tuple(shape))
        for j, g in enumerate(self._generators):  # the one allowed loop over paths
            out[j] = fn(g, tuple(shape))  # contiguous writes; the path axis moves last below
        return np.moveaxis(out, 0, -1)

    def normal(self, shape: tuple) -> np.ndarray:
        """Standard normals of shape ``shape + (paths,)``."""
        return self._draw(lambda g, s: g.standard_normal(s), shape)

    def uniform(self, shape: tuple) -> np.ndarray:
        """Uniforms on [0, 1) of shape ``shape + (paths,)``."""
        return self._draw(lambda g, s: g.random(s), shape)

    def integers(self, high: int, shape: tuple) -> np.ndarray:
        """Integers in [0, high) of shape ``shape + (paths,)``."""
        return self._draw(lambda g, s: g.integers(0, high, s), shape).astype(np.int64)


# --------------------------------------------------------------------------- inverse CDFs
def poisson_inverse_cdf(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson counts ``min{k : F(k; λ) > u}`` for per-path means λ, vectorised.

    Starts from the Cornish–Fisher normal approximation and corrects with the exact CDF
    ``F(k; λ) = Q(k + 1, λ)`` (scipy.special.pdtr) until it brackets ``u``; a handful of
    vectorised steps at most. Using uniforms keeps each path's random stream independent of
    the state (DESIGN.md: inverse CDFs where the parameter depends on the state).

    Examples
    --------
    >>> poisson_inverse_cdf(np.array([0.0, 0.5, 0.97]), np.array([1.0, 1.0, 1.0])).tolist()
    [0, 1, 3]
    """
    u = np.asarray(u, dtype=float)
    lam = np.broadcast_to(np.asarray(mean, dtype=float), u.shape)
    z = np.clip(special.ndtri(u), -8.0, 8.0)
    k = np.maximum(np.floor(lam + np.sqrt(lam) * z + (z * z - 1) / 6.0), 0.0)
    while (up := special.pdtr(k, lam) <= u).any():
        k = np.where(up, k + 1, k)
    while (down := (k > 0) & (special.pdtr(k - 1, lam) > u)).any():
        k = np.where(down, k - 1, k)
    return np.where(lam > 0, k, 0.0).astype(np.int64)


def binomial_inverse_cdf(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) counts ``min{k : F(k; n, p) > u}`` from uniforms, vectorised.

    Small means (machine failures: a few units a day) walk the CDF up from ``k = 0`` with
    the pmf recurrence ``f(k+1) = f(k) (n − k) / (k + 1) · p / (1 − p)``, one vectorised step
    per count; large means start from the normal approximation and correct with the exact
    CDF (``scipy.special.bdtr``). The state-dependent ``n`` (units still working) is why
    failures are drawn by inverse CDF from each path's uniforms (DESIGN.md, "Randomness").

    Examples
    --------
    >>> binomial_inverse_cdf(np.array([0.0, 0.5, 0.9995]), 10, 0.5).astype(int).tolist()
    [0, 5, 10]
    >>> binomial_inverse_cdf(np.array([0.0, 0.5, 0.9995]), 100, 0.5).astype(int).tolist()
    [0, 50, 66]
    """
    u, n, p = np.broadcast_arrays(np.asarray(u, float), np.rint(n).astype(np.int64), np.asarray(p, float))
    if u.size == 0:
        return np.zeros(u.shape)
    if float((n * p).max()) <= 50.0:
        # walk only the draws still below their uniform (most stop at 0, 1 or 2)
        shape = u.shape
        u, n, p = u.ravel(), n.ravel(), p.ravel()
        k = np.zeros(u.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            pmf = np.where(p < 1, np.exp(n * np.log1p(-np.minimum(p, 1.0))), (n == 0).astype(float))
            odds = np.where(p < 1, p / (1 - p), np.inf)
        idx = np.flatnonzero((pmf <= u) & (n > 0))
        pmf_a, cdf_a, k_a = pmf[idx], pmf[idx], np.zeros(idx.size)
        while idx.size:
            with np.errstate(invalid="ignore"):
                pmf_a = pmf_a * (n[idx] - k_a) / (k_a + 1) * odds[idx]
            k_a = k_a + 1
            cdf_a = cdf_a + pmf_a
            k[idx] = k_a
            keep = (cdf_a <= u[idx]) & (k_a < n[idx])
            idx, pmf_a, cdf_a, k_a = idx[keep], pmf_a[keep], cdf_a[keep], k_a[keep]
        return np.where(p >= 1, n, k).reshape(shape).astype(float)
    z = np.clip(special.ndtri(u), -8.0, 8.0)
    k = np.clip(np.floor(n * p + z * np.sqrt(n * p * (1 - p))), 0, n).astype(np.int64)
    while (up := (k < n) & (special.bdtr(k, n, p) <= u)).any():
        k = np.where(up, k + 1, k)
    while (down := (k > 0) & (special.bdtr(np.maximum(k - 1, 0), n, p) > u)).any():
        k = np.where(down, k - 1, k)
    return k.astype(float)
