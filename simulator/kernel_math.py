"""numpy's elementwise ``maximum``, ``minimum`` and ``clip`` of one float, and its sum over a table's rows, for the
compiled kernels.

Every kernel (``simulator/*_kernel.py``, ``simulator/finance/*_kernel.py``) must give its numpy form's
bits, so each helper is numpy 2's ufunc loop written out for one pair of doubles (checked against
numpy on every pair of special values, in its scalar and SIMD loops, by tests/test_kernel_math.py):

* ``maximum(a, b) = a`` if ``a`` is NaN or ``a > b``, else ``b``: NaN propagates from either operand,
  and a tie gives the second operand (``maximum(−0.0, +0.0) = +0.0``, ``maximum(+0.0, −0.0) = −0.0``);
* ``minimum(a, b) = a`` if ``a`` is NaN or ``a < b``, else ``b`` (the same rules);
* ``clip(x, low, high)``: ``low`` if ``x < low``, then ``high`` if that is ``> high``, else ``x`` itself,
  so NaN is kept and ``clip(−0.0, 0.0, 1.0) = −0.0`` (numpy 2's ``clip`` loops; for the kernels'
  ``low ≤ high``, ``min(max(x, low), high)`` with ``x`` kept on a tie).

Pure selections: no arithmetic, so no rounding and no units of their own (a result has its operands'
unit). ``rows_sum_into(x, out)`` is ``x.sum(axis=0)`` of a ``(rows, paths ≥ 2)`` table, ``((0.0 + x₀) + x₁) + …``
per column (numpy adds such a table's rows one after the other; tests/test_operations_kernel.py). Compiled ``inline="always"`` (a call costs nothing in a kernel's loop) with
``error_model="numpy"``; kernels in several files share them because numba's cache is kept per source
version (:mod:`simulator.numba_cache`): numba's own stamp sees only the file a kernel is defined in, so
an edit here would otherwise leave the kernels' cached machine code stale.
"""
from __future__ import annotations

from numba import njit

from simulator import numba_cache

numba_cache.configure()


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def maximum(a, b):
    """``np.maximum(a, b)`` of two floats: ``a`` if it is NaN or larger, else ``b`` (a tie gives ``b``)."""
    if a != a or a > b:
        return a
    return b


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def minimum(a, b):
    """``np.minimum(a, b)`` of two floats: ``a`` if it is NaN or smaller, else ``b`` (a tie gives ``b``)."""
    if a != a or a < b:
        return a
    return b


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def clip(x, low, high):
    """``np.clip(x, low, high)`` of one float for bounds that are not NaN (every caller's are constants
    or configured numbers): ``x`` unless it lies outside (NaN and ``clip(−0.0, 0.0, 1.0) = −0.0`` kept).
    A NaN bound is not numpy's: ``np.clip(0.5, nan, 1.0)`` is NaN, this 0.5."""
    if x < low:
        x = low
    if x > high:
        x = high
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def rows_sum_into(x, out):
    """``out ← x.sum(axis=0)`` of a ``(rows, paths ≥ 2)`` array: ``((0.0 + x₀) + x₁) + …`` per column."""
    out[:] = 0.0
    for i in range(x.shape[0]):
        for p in range(x.shape[1]):
            out[p] = out[p] + x[i, p]
