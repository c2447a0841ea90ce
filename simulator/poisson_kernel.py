"""The day's Poisson block counts, compiled: :func:`simulator.rng.poisson_inverse_cdf` one element at a time.

:func:`simulator.rng.poisson_inverse_cdf` (numpy) is the reference. Per element, with the
clipped normal quantile ``z = clip(Φ⁻¹(u), −8, 8)`` and the mean ``λ``:

    k  = max(⌊λ + √λ z + (z² − 1)/6⌋, 0)                (Cornish–Fisher guess)
    F  = pdtr(k, λ)                                     (scipy's exact CDF, P(N ≤ k))
    f  = exp(k ln λ − λ − ln Γ(k + 1)),  f⁺ = f λ/(k + 1)   (pmf at k and k + 1: estimates)

then, where ``F ≤ u``, one step up (for sure where ``F + f⁺ > u + m``, else stepping on with
``pdtr`` while ``pdtr(k, λ) ≤ u``); where ``F > u`` and ``k > 0``, one step down for sure where
``F − f > u + m``, then stepping down with ``pdtr`` unless ``F − f < u − m``
(``m`` = :data:`simulator.rng._CDF_MARGIN`; the estimates count only where ``0 < λ < 1e7``);
``0`` where ``λ ≤ 0``. These are the reference's decisions in its order, so the counts are
equal (tests/test_network_kernel.py): ``pdtr`` and ``gammaln`` are scipy's own compiled
functions (``scipy.special.cython_special``, called by symbol: the cached machine code stays
valid in every process), ``z`` is :func:`simulator.rng.poisson_normal_guess` (the caller's, a
block of days at once).
numba's ``exp`` and ``log`` are the C library's and may differ from numpy's in the last bit;
they enter only the pmf estimates, which decide nothing within the margin ``m`` (10,000 times
their error), so every count is the exact ``min{k : pdtr(k, λ) > u}`` either way.

An element whose ``λ > 0`` is above :data:`simulator.rng.POISSON_MEAN_MAX` (2⁵², +inf included), or
whose ``u`` is outside [0, 1) or NaN, makes :func:`counts` return :data:`OTHER` and change nothing: the
caller runs the reference (which raises a ``ValueError`` for a mean above 2⁵² or ``u ≥ 1``: beyond 2⁵³
``k + 1 == k`` and the stepping below would never end).

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); importing
this module imports numba (~0.2 s), which :mod:`simulator.rng` does only for large runs.
"""
from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

from simulator import numba_cache, rng

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

OK, OTHER = 0, 1
_MARGIN = rng._CDF_MARGIN
#: Where the pmf estimates are used (the reference's ``fine``: finite, accurate).
_FINE_BELOW = 1e7
#: The largest mean drawn (the reference's domain; above it no exact count).
_MEAN_MAX = rng.POISSON_MEAN_MAX


def _scipy_call(name: str, arguments: int):
    """The code generator of a call of ``scipy.special.cython_special.<name>`` (doubles in, a double
    out) by a symbol registered in this process: the compiled code names the symbol, not an
    address, so numba's cache can keep it."""
    symbol = f"hashfleet_scipy_{name}"
    llvm.add_symbol(symbol, get_cython_function_address("scipy.special.cython_special", name))
    # cython's cpdef signature: the doubles, then ``int __pyx_skip_dispatch`` (0: a module function)
    fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * arguments + [ir.IntType(32)])

    def codegen(context, builder, signature, values):
        fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
        return builder.call(fn, list(values) + [ir.Constant(ir.IntType(32), 0)])
    return codegen


_PDTR, _GAMMALN = _scipy_call("pdtr", 2), _scipy_call("gammaln", 1)


@intrinsic
def _pdtr(typingctx, k, lam):
    """scipy's ``pdtr(k, λ)`` = P(N ≤ k) for N ~ Poisson(λ), in compiled code."""
    return types.float64(types.float64, types.float64), _PDTR


@intrinsic
def _gammaln(typingctx, x):
    """scipy's ``gammaln(x)`` = ln |Γ(x)|, in compiled code."""
    return types.float64(types.float64), _GAMMALN


@njit(cache=True, nogil=True)
def pdtr(k, lam):
    """scipy's ``pdtr(k, λ)`` on scalars, as compiled code calls it (for the tests)."""
    return _pdtr(k, lam)


@njit(cache=True, nogil=True)
def gammaln(x):
    """scipy's ``gammaln(x)`` on a scalar, as compiled code calls it (for the tests)."""
    return _gammaln(x)


@njit(cache=True, nogil=True, error_model="numpy")
def count(u, z, lam):
    """One element's count (module notes), as a float, in :func:`in_domain`: ``u`` in [0, 1), ``λ ≤ 2⁵²``,
    ``z`` not NaN."""
    if not lam > 0:
        return 0.0
    k = np.floor(lam + np.sqrt(lam) * z + (z * z - 1) / 6.0)
    if not k > 0:  # the reference's max(·, 0), and +0 where the sum is −0
        k = 0.0
    cdf = _pdtr(k, lam)
    fine = lam < _FINE_BELOW
    k_next = k + 1
    pmf_k = np.exp(k * np.log(lam) - lam - _gammaln(k_next))
    if cdf <= u:
        pmf_next = pmf_k * lam / k_next
        k = k_next
        if not (fine and cdf + pmf_next > u + _MARGIN):
            while _pdtr(k, lam) <= u:
                k += 1
        return k
    if k > 0:
        below = cdf - pmf_k
        if fine and below > u + _MARGIN:
            k -= 1
        if not (fine and below < u - _MARGIN):
            while k > 0 and _pdtr(k - 1, lam) > u:
                k -= 1
    return k


@njit(cache=True, nogil=True, inline="always")
def in_domain(u, z, lam):
    """Whether :func:`count` takes an element: ``λ ≤ 0`` (or NaN), or ``0 < λ ≤ 2⁵²`` with ``u`` in [0, 1) and
    ``z`` not NaN."""
    return not lam > 0 or (lam <= _MEAN_MAX and 0.0 <= u < 1.0 and not np.isnan(z))


@njit(cache=True, nogil=True, error_model="numpy")
def counts(u, z, lam, out):
    """:func:`count` of every element of the rows ``u``, ``z``, ``λ`` into ``out``; returns :data:`OK`,
    or :data:`OTHER` (``out`` unchanged) where an element is outside :func:`count`'s domain."""
    for i in range(u.shape[0]):
        if not in_domain(u[i], z[i], lam[i]):
            return OTHER
    for i in range(u.shape[0]):
        out[i] = count(u[i], z[i], lam[i])
    return OK


def poisson_inverse_cdf(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """:func:`simulator.rng.poisson_inverse_cdf` through :func:`counts` (the reference where it returns
    :data:`OTHER`): the same int64 counts, for any shape."""
    u = np.asarray(u, dtype=float)
    lam = np.ascontiguousarray(np.broadcast_to(np.asarray(mean, dtype=float), u.shape)).reshape(-1)
    flat = np.ascontiguousarray(u).reshape(-1)
    out = np.empty(flat.shape)
    if counts(flat, rng.poisson_normal_guess(flat), lam, out) != OK:
        return rng.poisson_inverse_cdf(u, mean)
    return out.astype(np.int64).reshape(u.shape)
