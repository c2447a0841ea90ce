"""Random streams: one ``numpy.random.Generator`` per (component, path).

DESIGN.md, "Vectorised discrete events": path ``i`` of component ``c`` is seeded by
``SeedSequence(seed, spawn_key=(c, i))``, so its numbers depend only on ``(seed, c, i)``:
simulating paths 0..999 together or in chunks of 100 gives the same trajectories. Each path
draws its next *block* of numbers (e.g. a year of normals) from its own generator; that
draw is the one Python loop over paths the design allows. Everything downstream is
vectorised over the last (path) axis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

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
    _buffer: np.ndarray | None = field(init=False, repr=False, default=None)

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

    def _fill(self, method: str, shape: tuple, reuse: bool) -> np.ndarray:
        """Each path's block drawn straight into its row of a ``(paths,) + shape`` array."""
        full = (self.paths,) + tuple(shape)
        out = self._buffer if reuse and self._buffer is not None and self._buffer.shape == full else None
        if out is None:
            out = np.empty(full)
            if reuse:
                self._buffer = out
        for j, g in enumerate(self._generators):  # the one allowed loop over paths
            getattr(g, method)(full[1:], out=out[j])  # contiguous writes; the path axis moves last below
        return np.moveaxis(out, 0, -1)

    def normal(self, shape: tuple, *, reuse: bool = False) -> np.ndarray:
        """Standard normals of shape ``shape + (paths,)``.

        ``reuse=True`` draws into the array the previous ``reuse`` draw of this shape returned
        (overwriting it): a big block drawn again and again then costs no fresh memory, whose
        first touch is slow. The numbers are the same either way.
        """
        return self._fill("standard_normal", shape, reuse)

    def uniform(self, shape: tuple, *, reuse: bool = False) -> np.ndarray:
        """Uniforms on [0, 1) of shape ``shape + (paths,)`` (``reuse``: see :meth:`normal`)."""
        return self._fill("random", shape, reuse)

    def integers(self, high: int, shape: tuple) -> np.ndarray:
        """Integers in [0, high) of shape ``shape + (paths,)``."""
        out = np.empty((self.paths,) + tuple(shape), dtype=np.int64)
        for j, g in enumerate(self._generators):  # the one allowed loop over paths
            out[j] = g.integers(0, high, tuple(shape))
        return np.moveaxis(out, 0, -1)


def path_last(a: np.ndarray) -> np.ndarray:
    """``a`` (path axis last) as a C-contiguous array: each day's or hour's row of paths contiguous.

    :meth:`PathStreams.uniform` and friends return views whose memory is path-major (each
    path's block is drawn contiguously); an operation on one day of such a view reads one
    element per path from far apart. This copies the block once, in tiles that stay in the
    cache (several times faster than ``np.ascontiguousarray`` on a transposed view). Values
    are copied, never changed.
    """
    if a.flags.c_contiguous or a.ndim < 2:
        return np.ascontiguousarray(a)
    src = np.moveaxis(a, -1, 0)
    if not src.flags.c_contiguous:
        return np.ascontiguousarray(a)
    paths = src.shape[0]
    flat_src = src.reshape(paths, -1)
    out = np.empty((flat_src.shape[1], paths), dtype=a.dtype)
    for i in range(0, flat_src.shape[1], _TILE):
        out[i:i + _TILE] = flat_src[:, i:i + _TILE].T
    return out.reshape(a.shape)


#: Rows per tile of :func:`path_last`'s copy.
_TILE = 256


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
    cdf = special.pdtr(k, lam)
    # The neighbouring CDF values F(k ± 1) = F(k) ± pmf are estimated within far less than
    # _CDF_MARGIN; where the estimate decides "F(k ± 1) <= u" beyond doubt, the exact F is
    # not evaluated (the answer is the one the exact F gives). Only draws too close to call,
    # or whose guess is off by two or more, step with the exact CDF (scipy.special.pdtr).
    with np.errstate(all="ignore"):
        fine = (lam > 0) & (lam < 1e7)  # finite, and where the pmf estimate is accurate
        log_pmf = k * np.log(np.where(fine, lam, 1.0)) - lam - special.gammaln(k + 1)
        pmf_k = np.exp(log_pmf)  # P(N = k)
        pmf_next = pmf_k * lam / (k + 1)  # P(N = k + 1)
    up = cdf <= u
    exact_up, exact_down = np.zeros(u.shape, dtype=bool), np.zeros(u.shape, dtype=bool)
    # F(k) <= u: the answer is k + 1 if F(k + 1) > u, else more
    above_next = cdf + pmf_next
    stop_up = up & fine & (above_next > u + _CDF_MARGIN)
    k[up] += 1
    exact_up[up & ~stop_up] = True  # F(k + 1) <= u for sure or too close: step with the exact CDF
    # F(k) > u: the answer is k if F(k - 1) <= u (or k = 0), else less
    down = ~up & (k > 0)
    below = cdf - pmf_k
    surely_down = down & fine & (below > u + _CDF_MARGIN)
    surely_stays = down & fine & (below < u - _CDF_MARGIN)
    k[surely_down] -= 1
    exact_down[down & ~surely_stays] = True  # one step taken for sure, or too close to call
    # exact stepping, as before, from where the estimates left each draw
    up_at = np.flatnonzero(exact_up)
    up_at = up_at[special.pdtr(k.flat[up_at], lam.flat[up_at]) <= u.flat[up_at]]
    while up_at.size:
        k.flat[up_at] += 1
        up_at = up_at[special.pdtr(k.flat[up_at], lam.flat[up_at]) <= u.flat[up_at]]
    down_at = np.flatnonzero(exact_down & (k > 0))
    down_at = down_at[special.pdtr(k.flat[down_at] - 1, lam.flat[down_at]) > u.flat[down_at]]
    while down_at.size:
        k.flat[down_at] -= 1
        down_at = down_at[(k.flat[down_at] > 0) & (special.pdtr(k.flat[down_at] - 1, lam.flat[down_at])
                                                  > u.flat[down_at])]
    return np.where(lam > 0, k, 0.0).astype(np.int64)


#: Margin [probability] within which an estimated Poisson CDF value does not decide a draw:
#: the estimate F(k) ± pmf is off from scipy's F(k ± 1) by ~1e-13 at most (pdtr's own
#: relative error and the pmf's through lgamma), 10,000 times less.
_CDF_MARGIN = 1e-9


def binomial_inverse_cdf(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) counts ``min{k : F(k; n, p) > u}`` from uniforms, vectorised.

    Small means (machine failures: a few units a day) walk the CDF up from ``k = 0`` with
    the pmf recurrence ``f(k+1) = f(k) (n − k) / (k + 1) · p / (1 − p)``, one vectorised step
    per count; large means start from the normal approximation and correct with the exact
    CDF (``scipy.special.bdtr``). The state-dependent ``n`` (units still working) is why
    failures are drawn by inverse CDF from each path's uniforms (DESIGN.md, "Randomness").

    Notes
    -----
    The walk's first steps run in place on whole arrays (a step costs a few in-place
    operations, cheaper than gathering the draws still walking); once fewer than
    :data:`_COMPACT_BELOW` of the draws still walk, those are gathered and finished alone.
    Each draw goes through the same floating-point operations in the same order either way,
    so the counts do not depend on the array's size or on the other draws beside it.

    Examples
    --------
    >>> binomial_inverse_cdf(np.array([0.0, 0.5, 0.9995]), 10, 0.5).astype(int).tolist()
    [0, 5, 10]
    >>> binomial_inverse_cdf(np.array([0.0, 0.5, 0.9995]), 100, 0.5).astype(int).tolist()
    [0, 50, 66]
    """
    u, p = np.asarray(u, dtype=float), np.asarray(p, dtype=float)
    n = np.rint(np.asarray(n, dtype=float))
    shape = u.shape if u.shape == n.shape and p.ndim == 0 else np.broadcast_shapes(u.shape, n.shape, p.shape)
    if not math.prod(shape):
        return np.zeros(shape)
    if not float((n * p).max()) <= 50.0:  # NaN too, as before
        return _binomial_large(u, n, p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = p / (1 - p)
        pmf = n * np.log1p(-np.minimum(p, 1.0))
        if isinstance(pmf, np.ndarray) and pmf.shape == shape:
            np.exp(pmf, out=pmf)
        else:
            pmf = np.broadcast_to(np.exp(pmf), shape).copy()
        u, n, odds = (a if a.shape == shape else np.broadcast_to(a, shape) for a in (u, n, odds))
        walking = pmf <= u
        if not n.min() > 0:
            walking &= n > 0
        k = walking.astype(float)  # a draw counts one for every step it starts
        cdf = pmf.copy()
        j = 0.0
        while (active := np.count_nonzero(walking)) >= _COMPACT_BELOW * walking.size:
            pmf *= n - j
            pmf /= j + 1
            pmf *= odds
            j += 1
            cdf += pmf
            walking &= cdf <= u
            walking &= j < n
            k += walking
        if active:
            idx = np.flatnonzero(walking)
            flat = k.reshape(-1)
            pmf_a, cdf_a, n_a, u_a = (a.reshape(-1)[idx] if a.flags.c_contiguous else a.ravel()[idx]
                                      for a in (pmf, cdf, n, u))
            odds_a = odds if odds.ndim == 0 else odds.reshape(-1)[idx] if odds.flags.c_contiguous else \
                odds[np.unravel_index(idx, shape)]
            while idx.size:
                pmf_a *= n_a - j
                pmf_a /= j + 1
                pmf_a *= odds_a
                j += 1
                cdf_a += pmf_a
                go = np.flatnonzero((cdf_a <= u_a) & (j < n_a))
                idx, pmf_a, cdf_a, n_a, u_a = (a[go] for a in (idx, pmf_a, cdf_a, n_a, u_a))
                odds_a = odds_a if odds_a.ndim == 0 else odds_a[go]
                flat[idx] += 1
    if (p >= 1).any():
        k = np.where(np.broadcast_to(p, shape) >= 1, n, k)
    return k


#: Fraction of the draws still walking below which :func:`binomial_inverse_cdf` gathers them.
_COMPACT_BELOW = 0.15


def _binomial_large(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial inverse CDF for large means: normal approximation, corrected with the exact CDF."""
    u, n, p = np.broadcast_arrays(u, n.astype(np.int64), p)
    z = np.clip(special.ndtri(u), -8.0, 8.0)
    k = np.clip(np.floor(n * p + z * np.sqrt(n * p * (1 - p))), 0, n).astype(np.int64)
    while (up := (k < n) & (special.bdtr(k, n, p) <= u)).any():
        k = np.where(up, k + 1, k)
    while (down := (k > 0) & (special.bdtr(np.maximum(k - 1, 0), n, p) > u)).any():
        k = np.where(down, k - 1, k)
    return k.astype(float)
