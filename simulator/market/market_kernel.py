"""The market's recursions in time, compiled: the fees' AR(1) and the price's running sums.

Each function is the compiled form of a numpy reference that stays the definition and runs every small call
(:mod:`simulator.lazy_kernel`): :func:`ar1` — :meth:`simulator.market.fees.LognormalFees.block`'s recursion
``x_d = φ x_{d−1} + shock_d`` (two numpy calls a day: a product, then a sum); :func:`cumulate` —
:func:`simulator.market.price.cumulate` (one numpy addition a day). The same operations on the same operands in the
same order, element by element, without a numpy call a day (a year of 500 paths: ~1.2 ms and ~0.3 ms in numpy). The
exponentials after them stay numpy's (its SIMD ``exp`` is not the compiled one).

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork), without ``fastmath`` (no
multiply-add fused: ``φ x + shock`` is a rounded product, then a rounded sum, as numpy's two calls), with
``error_model="numpy"``. Importing this module imports numba.
"""
from __future__ import annotations

from numba import njit

from simulator import numba_cache

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True, error_model="numpy")
def ar1(x, previous, shocks, phi, first):
    """``x[k] ← φ · x[k − 1] + shocks[k − first]`` for ``k = first … len(x) − 1``, the first from ``previous``
    ``(paths,)`` (``x[k − 1]`` after it): a product, then a sum, per element and day in order."""
    paths = x.shape[1]
    before = previous
    for k in range(first, x.shape[0]):
        row, shock = x[k], shocks[k - first]
        for p in range(paths):
            row[p] = phi * before[p] + shock[p]
        before = row


@njit(cache=True, nogil=True, error_model="numpy")
def cumulate(carry, increments):
    """``increments[0] ← carry + increments[0]``, then ``increments[d] ← increments[d − 1] + increments[d]``: the
    running sums along the days, row after row in place."""
    if increments.shape[0] == 0:
        return
    paths = increments.shape[1]
    row = increments[0]
    for p in range(paths):
        row[p] = carry[p] + row[p]
    for d in range(1, increments.shape[0]):
        before, row = increments[d - 1], increments[d]
        for p in range(paths):
            row[p] = before[p] + row[p]
