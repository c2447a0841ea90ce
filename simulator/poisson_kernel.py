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
block of days at once; the compiled callers make it with :func:`normal_guesses`, the same doubles).
numba's ``exp`` and ``log`` are the C library's and may differ from numpy's in the last bit;
they enter only the pmf estimates, which decide nothing within the margin ``m`` (10,000 times
their error), so every count is the exact ``min{k : pdtr(k, λ) > u}`` either way.

An element whose ``λ > 0`` is above :data:`simulator.rng.POISSON_MEAN_MAX` (2⁵², +inf included), or
whose ``u`` is outside [0, 1) or NaN, makes :func:`counts` return :data:`OTHER` and change nothing: the
caller runs the reference (which raises a ``ValueError`` for a mean above 2⁵² or ``u ≥ 1``: beyond 2⁵³
``k + 1 == k`` and the stepping below would never end).

**The CDF at the guess without ``pdtr`` (a proved bracket).** ``pdtr`` (cephes' ``igamc``, its uniform
asymptotic series at λ ≈ 144) is most of the count's time. Where ``16 ≤ λ < 2048`` and ``k ≥ 1``,
:func:`cdf_bracket` gives ``low ≤ F ≤ high`` around ``F = pdtr(k, λ)``, and the reference's decisions at
the guess are taken from it where it decides them, ``pdtr`` only where it does not:

* ``high ≤ u`` (so ``F ≤ u``) and ``low + f⁺ > u + m`` (so ``F + f⁺ > u + m``): the count is ``k + 1``;
* ``low > u`` (so ``F > u``) and ``high − f < u − m`` (so ``F − f < u − m``): the count is ``k``;

the steps with ``pdtr`` (:func:`_stepped`) take exactly these branches then (the estimates count there:
λ < 1e7; ``F − f < u − m`` rules out the step down and the stepping), ``f`` and ``f⁺`` are the very doubles
they use, and IEEE addition is monotone (``a ≤ a′ ⇒ fl(a + b) ≤ fl(a′ + b)``), so the rounded sums
compare as theirs do. Anything else (``u`` within the bracket's width of a step, a count other than
``k`` or ``k + 1``) runs those steps, as before. The count is therefore :func:`_stepped`'s (the
reference's, above) for every input, not in most cases, provided ``low ≤ F ≤ high``:

*What G is.* ``T = pdtr(k, λᵢ)`` at ``λᵢ = ⌊λ⌋``, tabulated once a process per integer mean, for
``k`` within ``⌈6 √(λᵢ + 1)⌉ + 8`` of ``λᵢ`` (:func:`_fill`, lazily, a row the first time a mean in
``[λᵢ, λᵢ + 1)`` comes). Exactly, ``∂P(k, t)/∂t = −p(t)`` with ``p(t) = tᵏ e⁻ᵗ / k!`` (the pmf), so with
``h = λ − λᵢ ∈ [0, 1)`` (exact: Sterbenz) and Taylor's theorem about ``λ`` (``p′ = p (k/t − 1)``)

    P(k, λ) = T − ∫_λᵢ^λ p(t) dt = T − h p(λ) (1 − h r / 2) − R,    r = k/λ − 1,
    |R| ≤ (h³ / 6) max_[λᵢ, λ] |p″|,   p″(t) = p(t) ((k/t − 1)² − k/t²),

and ``G = T − h f (1 − h r / 2)``. *Its error term:* ``p(t) ≤ 1/√(2π k)`` (Robbins: ``k! ≥ √(2π k) (k/e)ᵏ``,
and ``k ln(t/k) ≤ t − k``); ``|(k/t − 1)² − k/t²| ≤ max((k/t − 1)², k/t²)``, ``k/t − 1`` is monotone in
``t`` (so its square is largest at an end) and ``k/t² ≤ k/λᵢ²``. Hence

    |R| ≤ h³ max((k/λᵢ − 1)², (k/λ − 1)², k/λᵢ²) / (6 √(2π k))       (≈ 4e-5 h³ at λ ≈ k ≈ 144 ± 12).

*The rest, within* ``S =`` :data:`_BRACKET_SLACK` ``= 1e-9`` *added to |R|'s bound:* ``pdtr(k, λ)`` is
cephes' ``igamc(k + 1, λ)``, documented (scipy's ``cephes/igam.c``) to 1.9e-14 relative (peak, a in
[0.5, 100], x ≤ 100), or ``1 − igam`` where ``x < a``, ``igam`` to 9.9e-14: ≤ 1e-13 absolute, twice
(``T`` and ``F``); outside a, x ≤ 100 (a > 100: its uniform expansion; or x > 100) the accuracy is not
documented, and tests/test_poisson_bracket.py measures it within 1e-13 of a 40-digit sum over this range; the pmf estimate ``f`` (numba's exp/log
and scipy's ``gammaln``, documented to 3.5e-16 relative: an exponent below 2·10⁴ in size, its error
< 1.5e-11, so ``f``'s relative error < 2e-11, ``f ≤ 0.1``) enters times ``h (1 + |r|/2) ≤ 2``: < 4e-12;
rounding ``G``, ``|R|``'s bound and ``low``/``high`` (a few operations on numbers ≤ 2): < 1e-15. Their
sum is below 5e-12; ``S`` is 200 times it. (The floats are ``low = fl(G − ε)``, ``high = fl(G + ε)``,
``ε = |R|'s bound + S``: their rounding is inside S.)

So the exact ``pdtr`` is called only where ``u`` is within ``ε`` of a step or the count is not ``k`` or ``k + 1``:
6 draws in 10³ at λ ≈ 144 ± 30 % (``ε`` ~1.6e-5 on average, and the guess puts ``u`` near ``F(k)``;
tests/test_poisson_bracket.py counts it). Outside ``[16, 2048)`` (no table row kept), for ``k = 0``
or a guess beyond the row, every decision is ``pdtr``'s, as before.
The table is :data:`CDF_TABLE` (row ``i`` for ``λᵢ = 16 + i``: the number of entries kept, 0 until filled,
the first ``k``, then ``pdtr(k, λᵢ)``; after these :data:`CDF_ROWS`, ``gammaln(k + 1)`` of the counts ``k`` met,
kept as scipy computed them: the pmf estimate's own doubles), passed in by the callers; a row is written by one thread
(processes fork; numba's ``nogil`` kernels are not run from several threads at once).

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
#: The means with a bracket (module notes): ``16 ≤ λ < 2048``, one table row per integer ``⌊λ⌋``.
_TABLE_LO, _TABLE_HI = 16, 2048
#: Added to the bracket's remainder bound: cephes' and the pmf estimate's error, 200 times over (module notes).
_BRACKET_SLACK = 1e-9
#: A row's doubles: the entries' count, the first ``k``, and ``2 ⌈6 √(λᵢ + 1)⌉ + 17`` CDF values at most.
_ROW = 2 + 2 * int(np.ceil(6.0 * np.sqrt(_TABLE_HI))) + 17


#: The CDF rows of a table (one per integer mean in [16, 2048)); the rows after them keep ``gammaln(k + 1)``.
CDF_ROWS = _TABLE_HI - _TABLE_LO
#: The ``k`` whose ``gammaln(k + 1)`` a table keeps, ``0 … GAMMALN_KEPT − 1`` (:func:`_gammaln_of_count`).
GAMMALN_KEPT = 4096


def new_table() -> np.ndarray:
    """An empty CDF table (module notes): zeros, rows filled as means come (the pages only then); after its
    :data:`CDF_ROWS`, NaN places for ``gammaln(k + 1)``, ``k < GAMMALN_KEPT`` (:func:`_gammaln_of_count`)."""
    table = np.zeros((CDF_ROWS + -(-GAMMALN_KEPT // _ROW), _ROW))
    table[CDF_ROWS:] = np.nan
    return table


#: This process's CDF table (module notes), passed to :func:`counts` and the network's kernels.
CDF_TABLE = new_table()


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


_PDTR, _GAMMALN, _NDTRI = _scipy_call("pdtr", 2), _scipy_call("gammaln", 1), _scipy_call("ndtri", 1)


@intrinsic
def _pdtr(typingctx, k, lam):
    """scipy's ``pdtr(k, λ)`` = P(N ≤ k) for N ~ Poisson(λ), in compiled code."""
    return types.float64(types.float64, types.float64), _PDTR


@intrinsic
def _gammaln(typingctx, x):
    """scipy's ``gammaln(x)`` = ln |Γ(x)|, in compiled code."""
    return types.float64(types.float64), _GAMMALN


@intrinsic
def _ndtri(typingctx, y):
    """scipy's ``ndtri(y)`` = Φ⁻¹(y), in compiled code."""
    return types.float64(types.float64), _NDTRI


#: Cephes' ``ndtri`` (scipy's, ``xsf/cephes/ndtri.h``) on ``exp(−2) < y ≤ 1 − exp(−2)``: ``√(2π)`` and the rational
#: ``P0/Q0`` in ``(y − ½)²`` (``Q0`` monic, its leading 1 implicit: ``p1evl``), as the C source spells them.
_NDTRI_LOW = 0.13533528323661269189
_NDTRI_HIGH = 1.0 - 0.13533528323661269189
_S2PI = 2.50662827463100050242E0
_P0 = (-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1, 1.39312609387279679503E1,
       -1.23916583867381258016E0)
_Q0 = (1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1, -2.25462687854119370527E2,
       2.00260212380060660359E2, -8.20372256168333339912E1, 1.59056225126211695515E1, -1.18331621121330003142E0)


@njit(cache=True, nogil=True, error_model="numpy")
def normal_guesses(u, out):
    """``out[i]`` ← :func:`simulator.rng.poisson_normal_guess` of ``u[i]`` (``clip(ndtri(u), −8, 8)``), the same
    doubles: first, on SIMD lanes for every element, Cephes' central branch (``exp(−2) < y ≤ 1 − exp(−2)``, where
    ndtri returns ``√(2π) (y′ + y′ (y′² P0(y′²) / Q0(y′²)))`` with ``y′ = y − ½``: ``polevl``'s and ``p1evl``'s Horner
    steps, the C source's operations in its order; numba neither reorders nor fuses them without ``fastmath``, and
    scipy's x86-64 build has no FMA to contract them into) — its values, |x| < 1.2, need no clip; then scipy's own
    ``ndtri`` (by symbol, as ``pdtr``) for every other element (the tails, 0, 1, NaN, outside [0, 1]), clipped as
    ``np.clip`` does (NaN kept). tests/test_poisson_bracket.py holds it to scipy bit for bit."""
    p0, p1, p2, p3, p4 = _P0
    q0, q1, q2, q3, q4, q5, q6, q7 = _Q0
    n = u.shape[0]
    for i in range(n):
        y = u[i] - 0.5
        y2 = y * y
        p = (((p0 * y2 + p1) * y2 + p2) * y2 + p3) * y2 + p4
        q = ((((((y2 + q0) * y2 + q1) * y2 + q2) * y2 + q3) * y2 + q4) * y2 + q5) * y2 + q6
        q = q * y2 + q7
        out[i] = (y + y * (y2 * p / q)) * _S2PI
    for i in range(n):
        y = u[i]
        if not (y <= _NDTRI_HIGH and y > _NDTRI_LOW):  # ndtri's other branches (NaN too): its own value, clipped
            x = _ndtri(y)
            out[i] = x if x != x else min(max(x, -8.0), 8.0)


def poisson_normal_guess(u: np.ndarray) -> np.ndarray:
    """:func:`simulator.rng.poisson_normal_guess` of a float array ``u`` through :func:`normal_guesses` (the same
    doubles; a C-ordered result of ``u``'s shape)."""
    flat = np.ascontiguousarray(u, dtype=float).reshape(-1)
    out = np.empty(flat.shape)
    normal_guesses(flat, out)
    return out.reshape(np.shape(u))


@njit(cache=True, nogil=True)
def pdtr(k, lam):
    """scipy's ``pdtr(k, λ)`` on scalars, as compiled code calls it (for the tests)."""
    return _pdtr(k, lam)


@njit(cache=True, nogil=True)
def gammaln(x):
    """scipy's ``gammaln(x)`` on a scalar, as compiled code calls it (for the tests)."""
    return _gammaln(x)


@njit(cache=True, nogil=True, error_model="numpy")
def _fill(row, lam_i):
    """Row ``λᵢ`` of :data:`CDF_TABLE`: ``pdtr(k, λᵢ)`` for ``k`` within ``⌈6 √(λᵢ + 1)⌉ + 8`` of ``λᵢ``
    (module notes)."""
    half = np.ceil(6.0 * np.sqrt(lam_i + 1.0)) + 8.0
    first = max(lam_i - half, 0.0)
    n = int(lam_i + half - first) + 1
    for j in range(n):
        row[2 + j] = _pdtr(first + j, lam_i)
    row[1] = first
    row[0] = n


@njit(cache=True, nogil=True, error_model="numpy")
def cdf_bracket(k, lam, pmf_k, table):
    """``(low, high)`` with ``low ≤ pdtr(k, λ) ≤ high`` (module notes: ``G ∓ ε``) from ``table``'s row ``⌊λ⌋``
    (filled here the first time) and ``pmf_k``, the pmf estimate at ``k``; ``(NaN, NaN)`` where no bound is
    kept (``λ`` outside [16, 2048), ``k < 1``, ``k`` beyond the row)."""
    lam_i, t = _tabled(k, lam, table)
    return _bracket(k, lam, pmf_k, lam_i, t)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _tabled(k, lam, table):
    """``(λᵢ, T)``: ``λᵢ = ⌊λ⌋`` and ``T = pdtr(k, λᵢ)`` from ``table``'s row ``λᵢ`` (filled here the first time),
    ``T`` NaN where no bound is kept (``λ`` outside [16, 2048), ``k < 1``, ``k`` beyond the row)."""
    lam_i = np.floor(lam)
    if not (_TABLE_LO <= lam < _TABLE_HI and k >= 1.0):
        return lam_i, np.nan
    row = table[int(lam_i) - _TABLE_LO]
    if row[0] == 0.0:
        _fill(row, lam_i)
    j = k - row[1]
    if not (0.0 <= j < row[0]):
        return lam_i, np.nan
    return lam_i, row[2 + int(j)]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _bracket(k, lam, pmf_k, lam_i, t):
    """:func:`cdf_bracket`'s ``G ∓ ε`` of ``T = t`` (:func:`_tabled`; NaN: ``(NaN, NaN)``), arithmetic only (no call,
    no branch: a loop of it runs on SIMD lanes, each element's operations its own)."""
    h = lam - lam_i  # exact (Sterbenz)
    r = k / lam - 1.0
    a = k / lam_i - 1.0
    g = t - h * pmf_k * (1.0 - 0.5 * h * r)
    aa, rr, kl = a * a, r * r, k / (lam_i * lam_i)
    m = aa if aa > rr else rr
    curvature = m if m > kl else kl  # bounds |p″| / p on [λᵢ, λ] (of numbers, never NaN where t is not: max)
    eps = h * h * h / 6.0 * curvature / np.sqrt(2.0 * np.pi * k) + _BRACKET_SLACK
    return g - eps, g + eps


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gammaln_of_count(k_next, table):
    """scipy's ``gammaln(k + 1)`` for a count ``k ≥ 0`` (``k_next = k + 1``, an integer): kept in ``table``'s rows
    after its CDF rows for ``k <`` :data:`GAMMALN_KEPT` (NaN until the first call for that ``k`` computes it: the
    same function on the same argument, so the same double), else computed."""
    if not k_next <= GAMMALN_KEPT:
        return _gammaln(k_next)
    i = int(k_next) - 1
    row, col = CDF_ROWS + i // _ROW, i % _ROW
    value = table[row, col]
    if value != value:
        value = _gammaln(k_next)
        table[row, col] = value
    return value


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _first_guess(z, lam):
    """The Cornish–Fisher guess ``k = max(⌊λ + √λ z + (z² − 1)/6⌋, 0)`` (+0 where the sum is −0)."""
    k = np.floor(lam + np.sqrt(lam) * z + (z * z - 1) / 6.0)
    return k if k > 0 else 0.0  # the reference's max(·, 0), and +0 where the sum is −0 (or NaN: no count made)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _decide(u, k, lam, pmf_k, low, high):
    """The count where the bracket ``low ≤ F ≤ high`` decides the reference's steps at ``k`` (module notes), else
    −1; without branches (u is as likely either side of F): never both, as low ≤ high."""
    up = (high <= u) & (low + pmf_k * lam / (k + 1) > u + _MARGIN)  # F ≤ u, F + f⁺ > u + m (f⁺ the reference's)
    down = (low > u) & (high - pmf_k < u - _MARGIN)  # F > u, F − f < u − m
    return (k + up) if up | down else -1.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _guess(u, z, lam, table):
    """The guess ``k``, the pmf estimate ``f`` at it, and the count where :func:`cdf_bracket` decides the
    reference's steps at ``k`` (module notes), else −1."""
    k = _first_guess(z, lam)
    pmf_k = np.exp(k * np.log(lam) - lam - _gammaln_of_count(k + 1, table))
    low, high = cdf_bracket(k, lam, pmf_k, table)
    return k, pmf_k, _decide(u, k, lam, pmf_k, low, high)


@njit(cache=True, nogil=True, error_model="numpy")
def decided(u, z, lam, table):
    """The count where :func:`cdf_bracket` decides it without ``pdtr``, else −1 (for the tests: how often the
    bracket decides), in :func:`count`'s domain with ``λ > 0``."""
    return _guess(u, z, lam, table)[2]


@njit(cache=True, nogil=True, error_model="numpy")
def count(u, z, lam, table):
    """One element's count (module notes), as a float, in :func:`in_domain`: ``u`` in [0, 1), ``λ ≤ 2⁵²``,
    ``z`` not NaN; ``table`` is :data:`CDF_TABLE` (or a fresh :func:`new_table`). The one-element statement of
    the algorithm the module notes prove (with :func:`_guess` and :func:`cdf_bracket`): the engine runs
    :func:`counts_in_steps`, the same operations a step at a time over a day's paths, which the tests hold to
    this form element by element (tests/test_poisson_bracket.py)."""
    if not lam > 0:
        return 0.0
    k, pmf_k, known = _guess(u, z, lam, table)
    return known if known >= 0.0 else _stepped(u, k, lam, pmf_k)


@njit(cache=True, nogil=True, error_model="numpy")
def _stepped(u, k, lam, pmf_k):
    """The reference's steps from the guess ``k`` with ``pdtr`` (module notes), ``pmf_k`` the pmf estimate at it."""
    cdf = _pdtr(k, lam)
    fine = lam < _FINE_BELOW
    k_next = k + 1
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
def counts(u, z, lam, out, table):
    """:func:`count` of every element of the rows ``u``, ``z``, ``λ`` into ``out`` (the element-at-a-time reference
    of :func:`counts_in_steps`); returns :data:`OK`,
    or :data:`OTHER` (``out`` unchanged) where an element is outside :func:`count`'s domain."""
    for i in range(u.shape[0]):
        if not in_domain(u[i], z[i], lam[i]):
            return OTHER
    counts_in_steps(u, z, lam, out, table)
    return OK


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def counts_in_steps(u, z, lam, out, table):
    """``out[i]`` ← :func:`count` of element ``i`` (each in :func:`in_domain`), one step of it over every element before
    the next: the guesses, the logarithms, the exponents, the exponentials, the table's rows, the brackets and
    decisions, then :func:`_stepped` where undecided. Each element's operations and operands are :func:`count`'s,
    in its order (the same functions: :func:`_first_guess`, :func:`_gammaln_of_count` (its kept values read in a loop
    of loads, :func:`_gammaln_of_counts`), :func:`_tabled` (as :func:`_tabled_all`), :func:`_bracket`,
    :func:`_decide`), so the same doubles and the same count; what changes is the schedule: a
    loop without calls runs on SIMD lanes, and a loop of calls overlaps them, where :func:`count`'s chain of
    dependent calls (log, exp, the table) ran one element after another (~45 against ~60 ns an element at
    λ ≈ 144, measured). An element with ``λ ≤ 0`` (or NaN) is computed along and its count is 0, as
    :func:`count`'s; its guess and lookups read the tables as any element's do (a row or a ``gammaln`` is filled
    with the same doubles whoever comes first)."""
    n = u.shape[0]
    k, e, lam_i, t = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        k[i] = _first_guess(z[i], lam[i])
    for i in range(n):
        e[i] = np.log(lam[i])
    _gammaln_of_counts(k, t, table)  # (t: scratch, the lgamma of each k + 1)
    for i in range(n):
        e[i] = k[i] * e[i] - lam[i] - t[i]
    for i in range(n):
        e[i] = np.exp(e[i])  # the pmf estimate at the guess
    _tabled_all(k, lam, lam_i, t, table)
    for i in range(n):
        low, high = _bracket(k[i], lam[i], e[i], lam_i[i], t[i])
        out[i] = _decide(u[i], k[i], lam[i], e[i], low, high)
    for i in range(n):
        if not lam[i] > 0:
            out[i] = 0.0
        elif out[i] < 0.0:
            out[i] = _stepped(u[i], k[i], lam[i], e[i])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gammaln_of_counts(k, out, table):
    """``out[i]`` ← :func:`_gammaln_of_count` of ``k[i] + 1`` (counts ``k ≥ 0``), the same doubles: each kept one read
    where :func:`_gammaln_of_count` reads it — row ``CDF_ROWS + i // _ROW``, column ``i % _ROW`` of the C-ordered
    table is its flat element ``CDF_ROWS · _ROW + i`` — in a loop of loads alone, then :func:`_gammaln_of_count`
    itself for those not kept yet (NaN) or beyond the kept ones (it fills the table). The loads' loop has no call:
    ~1 against ~13 ns an element (measured)."""
    flat = table.reshape(-1)  # a view: the same memory
    kept_at = CDF_ROWS * _ROW - 1
    for i in range(k.shape[0]):
        k_next = k[i] + 1
        out[i] = flat[kept_at + int(k_next)] if k_next <= GAMMALN_KEPT else np.nan
    for i in range(k.shape[0]):
        if out[i] != out[i]:
            out[i] = _gammaln_of_count(k[i] + 1, table)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _tabled_all(k, lam, lam_i, t, table):
    """``(lam_i[i], t[i])`` ← :func:`_tabled` of ``(k[i], λ[i])``: first the rows met for the first time filled
    (:func:`_tabled`'s own condition and fill), then every element's ``⌊λ⌋`` and ``T`` read without branches or row
    views (:func:`_tabled`'s conditions as selections, its entry where they hold, NaN where not: the same doubles),
    ~2 against ~13 ns an element (measured)."""
    for i in range(k.shape[0]):
        if _TABLE_LO <= lam[i] < _TABLE_HI and k[i] >= 1.0:
            r = int(np.floor(lam[i])) - _TABLE_LO
            if table[r, 0] == 0.0:
                _fill(table[r], np.floor(lam[i]))
    flat = table.reshape(-1)  # a view: row r's entry c is flat[r · _ROW + c]
    for i in range(k.shape[0]):
        floor = np.floor(lam[i])
        ok = (_TABLE_LO <= lam[i]) & (lam[i] < _TABLE_HI) & (k[i] >= 1.0)
        row = (int(floor) - _TABLE_LO) * _ROW if ok else 0
        j = k[i] - flat[row + 1]
        ok = ok & (0.0 <= j) & (j < flat[row])
        value = flat[row + 2 + (int(j) if ok else 0)]
        lam_i[i], t[i] = floor, value if ok else np.nan


def poisson_inverse_cdf(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """:func:`simulator.rng.poisson_inverse_cdf` through :func:`counts` (the reference where it returns
    :data:`OTHER`): the same int64 counts, for any shape."""
    u = np.asarray(u, dtype=float)
    lam = np.ascontiguousarray(np.broadcast_to(np.asarray(mean, dtype=float), u.shape)).reshape(-1)
    flat = np.ascontiguousarray(u).reshape(-1)
    out = np.empty(flat.shape)
    if counts(flat, poisson_normal_guess(flat), lam, out, CDF_TABLE) != OK:
        return rng.poisson_inverse_cdf(u, mean)
    return out.astype(np.int64).reshape(u.shape)
