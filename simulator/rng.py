"""Random streams: counter-based Philox draws of one component for all paths at once.

Every number is a pure function of ``(seed, component, sub-stream, path, position)``, where
the position counts the draws of that path on that stream in the order the calls make them
(issue 19; docs/decisions.md, "Issue 19: random streams"). One call
(:func:`simulator.philox.fill`: compiled, or numpy for a short run) fills a block for all
paths, path axis last, in C order.
Simulating paths 0..999 together or in chunks, in one process or several, gives the same
numbers by construction. Everything downstream is vectorised over the last (path) axis.
Streams from 0.2.0 on differ from 0.1.x's per-path PCG64 generators for the same seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from simulator import philox

#: Stable component ids: the Philox key's component word (``id · 2³² + sub-stream``). Never renumber (it changes results).
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
    """Keyed draws of one component, for the absolute path ids ``path_ids``.

    Parameters
    ----------
    seed : int
        The scenario seed, in [0, 2¹²⁸).
    component : str
        A key of :data:`COMPONENTS` (or ``"name:k"`` for the k-th sub-stream, e.g. a site).
    path_ids : array of int
        Absolute path indices (0-based) simulated in this chunk.

    Notes
    -----
    Draw ``i`` (0-based, counted over all calls) of path ``p`` is word ``i mod 4`` of the
    Philox4x64-10 block with key ``(seed mod 2⁶⁴, id · 2³² + k)`` and counter
    ``(⌊i/4⌋, p, ⌊seed/2⁶⁴⌋, 0)`` (``id``: :data:`COMPONENTS`; ``k``: the sub-stream), turned
    into a uniform, a normal or an integer (:mod:`simulator.philox`). A call of ``m`` draws
    per path takes the path's next ``m`` positions, so splitting a block of days into two
    calls gives the same numbers as one call.

    Examples
    --------
    >>> a = PathStreams(7, "btc_price", np.arange(4)).normal((3,))
    >>> b = PathStreams(7, "btc_price", np.arange(2, 4)).normal((3,))
    >>> bool(np.array_equal(a[:, 2:], b))
    True
    >>> PathStreams(7, "btc_price", np.arange(2)).uniform((2,)).round(6).tolist()
    [[0.90076, 0.140991], [0.777463, 0.122578]]
    """

    seed: int
    component: str
    path_ids: np.ndarray
    _key: tuple = field(init=False, repr=False)
    _counter_paths: np.ndarray = field(init=False, repr=False)
    _position: int = field(init=False, repr=False, default=0)
    _buffer: np.ndarray | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        name, _, sub = self.component.partition(":")
        sub_stream, seed = int(sub or 0), int(self.seed)
        if not 0 <= sub_stream < 2**32:
            raise ValueError(f"sub-stream {sub_stream} of {name!r} must be in [0, 2**32)")
        if not 0 <= seed < 2**128:
            raise ValueError(f"seed {seed} must be in [0, 2**128)")
        self.path_ids = np.asarray(self.path_ids, dtype=np.int64)
        if self.path_ids.size and self.path_ids.min() < 0:
            raise ValueError("path ids must be >= 0")
        self._counter_paths = self.path_ids.astype(np.uint64)
        self._key = (np.uint64(seed % 2**64), np.uint64(COMPONENTS[name] * 2**32 + sub_stream),
                     np.uint64(seed >> 64))

    @property
    def paths(self) -> int:
        return len(self.path_ids)

    def _fill(self, mode: int, shape: tuple, reuse: bool, high: int = 0) -> np.ndarray:
        """The next ``prod(shape)`` draws of every path, as a C-contiguous ``shape + (paths,)`` array."""
        out = self._drawn_at(self._position, mode, shape, reuse, high)
        self._position += math.prod(out.shape[:-1])
        return out

    def _drawn_at(self, start: int, mode: int, shape: tuple, reuse: bool, high: int = 0) -> np.ndarray:
        """Draws ``start … start + prod(shape) − 1`` of every path, as a C-contiguous ``shape + (paths,)`` array
        (the stream's position unchanged)."""
        full = tuple(int(n) for n in shape) + (self.paths,)
        out = self._buffer if reuse and self._buffer is not None and self._buffer.shape == full else None
        if out is None:
            out = np.empty(full)
            if reuse:
                self._buffer = out
        key0, key1, seed_high = self._key
        philox.fill(out.reshape(math.prod(full[:-1]), self.paths), start, self._counter_paths, key0, key1,
                    seed_high, mode, np.uint64(high))
        return out

    def reserve(self, shape: tuple) -> int:
        """Move the stream on by ``prod(shape)`` draws a path, as :meth:`uniform` of ``shape`` would, without
        drawing them; returns the position of the first (:meth:`uniform_at` draws them later, or a compiled
        caller from :attr:`philox_key`: a counter-based stream needs no draw to reach the next)."""
        start = self._position
        self._position += math.prod(int(n) for n in shape)
        return start

    def uniform_at(self, start: int, shape: tuple, *, reuse: bool = False) -> np.ndarray:
        """The uniforms of draws ``start … start + prod(shape) − 1`` of every path, ``shape + (paths,)``: what
        :meth:`uniform` of ``shape`` gave, or would have given, from position ``start`` (the stream's position
        unchanged; ``reuse``: see :meth:`normal`)."""
        return self._drawn_at(start, philox.UNIFORM, shape, reuse)

    def normal(self, shape: tuple, *, reuse: bool = False) -> np.ndarray:
        """Standard normals of shape ``shape + (paths,)``: ``Φ⁻¹`` of the draws' uniforms (AS 241).

        ``reuse=True`` draws into the array the previous ``reuse`` draw of this shape returned
        (overwriting it): a big block drawn again and again then costs no fresh memory, whose
        first touch is slow. The numbers are the same either way.
        """
        return self._fill(philox.NORMAL, shape, reuse)

    def uniform(self, shape: tuple, *, reuse: bool = False) -> np.ndarray:
        """Uniforms on (0, 1), 53 random bits, of shape ``shape + (paths,)`` (``reuse``: see :meth:`normal`)."""
        return self._fill(philox.UNIFORM, shape, reuse)

    def uniform_rows(self, shape: tuple, rows: int) -> tuple[np.ndarray, int]:
        """The first ``rows`` of each of ``groups`` groups of ``size`` uniforms (``shape = (groups, size)``),
        ``(groups, rows, paths)``, and the position of the first draw: the stream moves on by ``groups · size``
        draws, as :meth:`uniform` of ``shape`` would, and the rows drawn are its rows (the others are left to a
        caller that computes them from the position and :attr:`philox_key`, or never needs them)."""
        groups, size = (int(n) for n in shape)
        assert 0 <= rows <= size, (rows, size)
        out, start = np.empty((groups, rows, self.paths)), self._position
        key0, key1, seed_high = self._key
        philox.fill_rows(out, start, size, self._counter_paths, key0, key1, seed_high, philox.UNIFORM, np.uint64(0))
        self._position += groups * size
        return out, start

    @property
    def philox_key(self) -> tuple:
        """``(counter path words, key0, key1, seed high word)`` (uint64) of this stream's draws
        (:func:`simulator.philox.fill`'s arguments besides the output, position and mode)."""
        key0, key1, seed_high = self._key
        return self._counter_paths, key0, key1, seed_high

    def integers(self, high: int, shape: tuple) -> np.ndarray:
        """Integers in [0, high) of shape ``shape + (paths,)``; each value's probability is within 2⁻⁶⁴ of 1/high."""
        if not 1 <= int(high) <= 2**53:
            raise ValueError(f"high must be in [1, 2**53], not {high}")
        return self._fill(philox.INTEGER, shape, False, int(high)).astype(np.int64)


# --------------------------------------------------------------------------- inverse CDFs
#: Draws up to which :func:`poisson_inverse_cdf` and :func:`binomial_inverse_cdf` take them one by one in
#: Python floats (a one-path run's: its network's day, its cohorts' failures), above which on whole arrays.
_ONE_BY_ONE_AT_MOST = 8


def poisson_inverse_cdf(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson counts ``min{k : F(k; λ) > u}`` for per-path means λ, vectorised.

    Starts from the Cornish–Fisher normal approximation and corrects with the exact CDF
    ``F(k; λ) = Q(k + 1, λ)`` (scipy.special.pdtr) until it brackets ``u``; a handful of
    vectorised steps at most. Using uniforms keeps each path's random stream independent of
    the state (DESIGN.md: inverse CDFs where the parameter depends on the state).
    :mod:`simulator.poisson_kernel` compiles the same decisions element by element (the network's
    large runs use it: :func:`simulator.network.advance_block`); this is its reference. Up to
    :data:`_ONE_BY_ONE_AT_MOST` draws (a one-path run's day) take them one by one in Python floats
    (:func:`_poisson_one`).

    Means at most :data:`POISSON_MEAN_MAX` (2⁵²) are drawn exactly; a mean ``λ ≤ 0``, −inf or NaN
    gives 0. A larger mean, +inf included, raises a ``ValueError`` naming it, as does a uniform
    ``u ≥ 1`` where ``λ > 0`` (its quantile is +inf): above 2⁵³ a double cannot step by one count
    (``k + 1 == k``) and ``F(k) ≤ u`` held for ever (the loop hung), an infinite mean gave −2⁶³, and
    no count is a defined answer to either; such a mean only comes from an overflowed or absurd rate
    (a network hashrate 10¹³ times its difficulty's). Every step below is then bounded: the guess is
    within ``0.3 √λ`` of the count for the streams' uniforms (``2⁻⁵⁴ ≤ u ≤ 1 − 2⁻⁵³``).

    Examples
    --------
    >>> poisson_inverse_cdf(np.array([0.0, 0.5, 0.97]), np.array([1.0, 1.0, 1.0])).tolist()
    [0, 1, 3]
    """
    u = np.asarray(u, dtype=float)
    lam = np.broadcast_to(np.asarray(mean, dtype=float), u.shape)
    poisson_domain_check(u, lam)
    if u.size <= _ONE_BY_ONE_AT_MOST and (u >= 0.0).all():  # a NaN or negative u: the arrays' (numpy's cast of NaN)
        draws = zip(u.ravel().tolist(), lam.ravel().tolist())
        return np.array([_poisson_one(*draw) for draw in draws], dtype=np.int64).reshape(u.shape)
    z = poisson_normal_guess(u)
    k = np.maximum(np.floor(lam + np.sqrt(lam) * z + (z * z - 1) / 6.0), 0.0)
    cdf = special.pdtr(k, lam)
    # The neighbouring CDF values F(k ± 1) = F(k) ± pmf are estimated within far less than
    # _CDF_MARGIN; where the estimate decides "F(k ± 1) <= u" beyond doubt, the exact F is
    # not evaluated (the answer is the one the exact F gives). Only draws too close to call,
    # or whose guess is off by two or more, step with the exact CDF (scipy.special.pdtr).
    fine = (lam > 0) & (lam < 1e7)  # finite, and where the pmf estimate is accurate (else unused)
    with np.errstate(all="ignore"):
        k_next = k + 1
        pmf_k = np.exp(k * np.log(lam) - lam - special.gammaln(k_next))  # P(N = k)
        pmf_next = pmf_k * lam / k_next  # P(N = k + 1)
    up = cdf <= u
    u_high, u_low = u + _CDF_MARGIN, u - _CDF_MARGIN
    # F(k) <= u: the answer is k + 1 if F(k + 1) > u, else more: step with the exact CDF
    # where F(k + 1) <= u for sure or too close to call
    exact_up = up & ~(fine & (cdf + pmf_next > u_high))
    # F(k) > u: the answer is k if F(k - 1) <= u (or k = 0), else less: one step taken for sure
    # where F(k - 1) > u beyond doubt, and the exact CDF steps on unless F(k - 1) <= u beyond doubt
    down = ~up & (k > 0)
    below = cdf - pmf_k
    surely_down = down & fine & (below > u_high)
    exact_down = down & ~(fine & (below < u_low))
    k = k + up - surely_down
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


def _poisson_one(u: float, lam: float) -> int:
    """:func:`poisson_inverse_cdf` of one draw (``0 ≤ u``, ``u < 1`` where ``λ > 0``) in Python floats: its
    decisions in its order, on the same functions of the element (scipy's ``ndtri``, ``pdtr`` and ``gammaln``,
    numpy's ``log`` and ``exp``), IEEE arithmetic and the correctly rounded ``sqrt`` and ``floor``: the same count,
    without some forty numpy calls. 0 where ``λ ≤ 0`` or NaN."""
    if not lam > 0:
        return 0
    z = min(max(float(special.ndtri(u)), -8.0), 8.0)
    k = max(float(math.floor(lam + math.sqrt(lam) * z + (z * z - 1) / 6.0)), 0.0)
    cdf = float(special.pdtr(k, lam))
    fine = lam < 1e7  # where the pmf estimate is accurate (else unused)
    if fine:
        k_next = k + 1
        pmf_k = float(np.exp(k * float(np.log(lam)) - lam - float(special.gammaln(k_next))))  # P(N = k)
    if cdf <= u:  # the answer is k + 1 or more
        exact = not (fine and cdf + pmf_k * lam / k_next > u + _CDF_MARGIN)
        k += 1
        while exact and special.pdtr(k, lam) <= u:
            k += 1
    elif k > 0:  # the answer is k or less
        below = cdf - pmf_k if fine else math.nan
        if fine and below > u + _CDF_MARGIN:
            k -= 1
        exact = not (fine and below < u - _CDF_MARGIN)
        while exact and k > 0 and special.pdtr(k - 1, lam) > u:
            k -= 1
    return int(k)


def poisson_normal_guess(u: np.ndarray) -> np.ndarray:
    """``clip(Φ⁻¹(u), −8, 8)`` (``scipy.special.ndtri``), the normal quantile of
    :func:`poisson_inverse_cdf`'s Cornish–Fisher guess; per element, so a block of days' uniforms
    can be turned at once (:mod:`simulator.poisson_kernel` takes it as given)."""
    return np.clip(special.ndtri(u), -8.0, 8.0)


#: Largest Poisson mean [-] :func:`poisson_inverse_cdf` draws: its counts (up to ``λ + 8.3 √λ`` for the
#: streams' uniforms) stay below 2⁵³, where doubles hold every integer and a step of one count counts.
POISSON_MEAN_MAX = 2.0**52


def poisson_domain_check(u: np.ndarray, lam: np.ndarray) -> None:
    """Raise ``ValueError`` (naming the first offending element of the flattened arrays) where a
    Poisson count has no exact answer: ``λ >`` :data:`POISSON_MEAN_MAX` (+inf included) or ``u ≥ 1``
    with ``λ > 0``; NaN means and uniforms pass (their counts are what they always were)."""
    _reject(lam > POISSON_MEAN_MAX, lam, lambda x, i: (
        f"Poisson mean {x!r} (element {i}) is above 2**52 = {POISSON_MEAN_MAX:.4g}, beyond the counts doubles "
        "hold exactly: an overflowed or absurd rate (e.g. a network hashrate far beyond its difficulty's), not a "
        "count to draw"))
    _reject((u >= 1.0) & (lam > 0), u, lambda x, i: (
        f"uniform {x!r} (element {i}) of a Poisson draw is not below 1: its quantile is +inf (uniforms must be in "
        "[0, 1))"))


def _reject(bad: np.ndarray, values: np.ndarray, message) -> None:
    """Raise ``ValueError(message(value, index))`` at the first element (flattened) where ``bad`` holds."""
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise ValueError(message(float(values.reshape(-1)[i]), i))


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

    A count ``n`` above :data:`BINOMIAL_N_MAX` (2⁵³, +inf included) raises a ``ValueError`` naming it:
    it gave −2⁶³ (the large-mean branch's int64 cast), and beyond 2⁵³ no count is exact in doubles. A
    NaN ``n`` or ``p`` terminates with what it always gave. Every loop below ends: the walk at ``n``
    steps at most (``j < n``), the large-mean steps at ``k = n`` or ``k = 0``.

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
    binomial_domain_check(n)
    if not float((n * p).max()) <= BINOMIAL_WALK_MEAN_AT_MOST:  # NaN too, as before
        return _binomial_large(u, n, p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = p / (1 - p)
        pmf = n * np.log1p(-np.minimum(p, 1.0))
        if isinstance(pmf, np.ndarray) and pmf.shape == shape:
            np.exp(pmf, out=pmf)
        else:
            pmf = np.broadcast_to(np.exp(pmf), shape).copy()
        u, n, odds = (a if a.shape == shape else np.broadcast_to(a, shape) for a in (u, n, odds))
        if pmf.size <= _ONE_BY_ONE_AT_MOST:
            k = _walk_one_by_one(u, n, pmf, odds)
        else:
            k = _walk_arrays(u, n, pmf, odds)
    if (p >= 1).any():
        k = np.where(np.broadcast_to(p, shape) >= 1, n, k)
    return k


def _walk_one_by_one(u: np.ndarray, n: np.ndarray, pmf: np.ndarray, odds: np.ndarray) -> np.ndarray:
    """:func:`binomial_inverse_cdf`'s walk for a few draws (one path's cohorts): :func:`binomial_walk` on each
    draw's Python floats, the vectorised walk's operations in its order (the same counts), without a dozen numpy
    calls a step. ``u``, ``n``, ``pmf`` (``f(0)``) and ``odds`` have the draws' shape; the counts are floats."""
    draws = zip(*(a.ravel().tolist() for a in (u, n, pmf, odds)))
    return np.array([binomial_walk(*draw) for draw in draws], dtype=float).reshape(u.shape)


def _walk_arrays(u: np.ndarray, n: np.ndarray, pmf: np.ndarray, odds: np.ndarray) -> np.ndarray:
    """:func:`binomial_inverse_cdf`'s walk on whole arrays (see its Notes); ``pmf`` (``f(0)``, the draws' shape)
    is walked in place. The counts are floats of the draws' shape."""
    shape = u.shape
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
    return k


#: Largest number of trials :func:`binomial_inverse_cdf` draws from: doubles hold every count up to it.
BINOMIAL_N_MAX = 2.0**53


def binomial_domain_check(n: np.ndarray) -> None:
    """Raise ``ValueError`` (naming the first offending element, flattened) where a rounded count ``n``
    is above :data:`BINOMIAL_N_MAX` (+inf included); NaN passes."""
    _reject(n > BINOMIAL_N_MAX, n, lambda x, i: (
        f"binomial count n = {x!r} (element {i}) is above 2**53 = {BINOMIAL_N_MAX:.4g}, beyond the counts doubles "
        "hold exactly: an overflowed or absurd number of units or blocks, not a count to draw from"))


#: Fraction of the draws still walking below which :func:`binomial_inverse_cdf` gathers them.
_COMPACT_BELOW = 0.15

#: Largest mean ``n·p`` over the whole array for which :func:`binomial_inverse_cdf` walks up from
#: ``k = 0``; above it (or NaN) every draw of the array takes the normal start (``_binomial_large``).
BINOMIAL_WALK_MEAN_AT_MOST = 50.0


def binomial_walk(u: float, n: float, pmf: float, odds: float) -> float:
    """One draw of :func:`binomial_inverse_cdf`'s walk up from ``k = 0``, on scalars.

    ``n`` is the rounded count, ``pmf = f(0) = exp(n ln(1 − p))`` as numpy computes it (``np.exp``
    of ``n * np.log1p(-min(p, 1))``) and ``odds = p / (1 − p)``; returns ``min{k : F(k) > u}``
    (capped at ``n``; 0 where ``n ≤ 0`` or ``f(0) > u``) as a float. Valid where the whole
    array's ``n·p ≤`` :data:`BINOMIAL_WALK_MEAN_AT_MOST` and ``p < 1`` (``p ≥ 1`` gives ``n``).

    :mod:`simulator.failure_kernel` compiles this function and :func:`binomial_walk_on` as they
    are (an edit here gives the kernels a new cache directory: :mod:`simulator.numba_cache`).

    Examples
    --------
    >>> p = 0.5
    >>> f0 = float(np.exp(10 * np.log1p(-p)))
    >>> [binomial_walk(u, 10.0, f0, p / (1 - p)) for u in (0.0, 0.5, 0.9995)]
    [0.0, 5.0, 10.0]
    """
    if not (n > 0 and pmf <= u):
        return 0.0
    return binomial_walk_on(u, n, pmf, pmf, 1.0, 0.0, odds)


def binomial_walk_on(u: float, n: float, pmf: float, cdf: float, k: float, j: float, odds: float) -> float:
    """The rest of a :func:`binomial_walk` still walking after ``j`` steps with ``pmf = f(j)``,
    ``cdf = F(j)`` and count ``k = j + 1``: the vectorised walk's floating-point operations in
    its order (``f ← f·(n − j)``, ``f ← f/(j + 1)``, ``f ← f·odds``, ``j ← j + 1``, ``F ← F + f``;
    it walks on while ``F ≤ u`` and ``j < n``), so the counts are equal."""
    while True:
        pmf *= n - j
        pmf /= j + 1
        pmf *= odds
        j += 1
        cdf += pmf
        if not (cdf <= u and j < n):
            return k
        k += 1


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
