"""Philox4x64-10 counter-based random numbers, compiled with numba, for all paths at once.

A counter-based generator maps a 256-bit counter and a 128-bit key to 256 random bits with a
fixed bijection, so any draw of any path is computed directly from its coordinates: no state
is carried from one draw to the next and there is nothing to split between workers.

Notes
-----
Philox4x64-10 (Salmon, Moraes, Dror and Shaw 2011, "Parallel random numbers: as easy as 1,
2, 3", SC'11, doi:10.1145/2063384.2063405; the Random123 library's ``philox4x64``). The
counter is four 64-bit words ``(c0, c1, c2, c3)``, the key two ``(k0, k1)``. One round is

    (h0, l0) = M0 · c0,  (h1, l1) = M1 · c2        (128-bit products split in high, low words)
    (c0, c1, c2, c3) ← (h1 ⊕ c1 ⊕ k0,  l1,  h0 ⊕ c3 ⊕ k1,  l0)

with ``M0 = 0xD2E7470EE14C6C93``, ``M1 = 0xCA5A826395121157``; between rounds the key is
bumped by the Weyl constants ``W0 = 0x9E3779B97F4A7C15`` (golden ratio) and
``W1 = 0xBB67AE8584CAA73B`` (√3 − 1), modulo 2⁶⁴. Ten rounds give the block's four output
words. This is exactly ``numpy.random.Philox``'s function (numpy increments its counter
*before* each block, so ``Philox(key=k, counter=c).random_raw(4)`` is the block of ``c + 1``;
tests/test_rng.py checks the bits). The 64 × 64 → 128-bit product is computed from 32-bit
halves (numba has no 128-bit integers).

Layout used by :class:`simulator.rng.PathStreams` (docs/decisions.md, "Issue 19: random
streams"): key ``(seed mod 2⁶⁴, component id · 2³² + sub-stream)``; counter ``(n, path id,
seed div 2⁶⁴, 0)``, where the ``n``-th block holds a path's draws ``4n … 4n + 3`` of that
stream, in the order the stream's calls draw them.

Each output word ``x`` becomes, by ``mode``:

- uniform: ``u = max(m, ½) · 2⁻⁵³`` with ``m = ⌊x / 2¹¹⌋``: 53 random bits (each of the 2⁵³
  values of ``m`` its own ``u``), in (0, 1), never 0 or 1; ``m = 0`` gives 2⁻⁵⁴. (The
  midpoint ``(m + ½) · 2⁻⁵³`` is not a double for ``m ≥ 2⁵²``: it rounds to even, and to
  exactly 1.0 for the top word; every value here is exact, and ``1 − u`` too for ``m ≥ 1``.)
- normal: ``Φ⁻¹(u)`` by Wichura's algorithm AS 241 (PPND16; Applied Statistics 37(3),
  477–484, 1988), relative error about 1e-16; ``−8.3 < z < 8.3`` since ``2⁻⁵⁴ ≤ u ≤ 1 − 2⁻⁵³``;
- integer in [0, high): ``⌊x · high / 2⁶⁴⌋`` (the high word of the product; Lemire 2019,
  "Fast random integer generation in an interval", ACM TOMACS 29(1)). Each value is hit by
  ⌊2⁶⁴/high⌋ or ⌈2⁶⁴/high⌉ of the 2⁶⁴ words, so its probability is within 2⁻⁶⁴ of 1/high.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_U64 = np.uint64
M0, M1 = _U64(0xD2E7470EE14C6C93), _U64(0xCA5A826395121157)
W0, W1 = _U64(0x9E3779B97F4A7C15), _U64(0xBB67AE8584CAA73B)
_LOW32, _S32, _S11 = _U64(0xFFFFFFFF), _U64(32), _U64(11)
_TWO_M53 = 2.0 ** -53

#: ``mode`` of :func:`fill`.
UNIFORM, NORMAL, INTEGER = 0, 1, 2

# AS 241 (PPND16) coefficients, lowest order first: Wichura (1988), as published.
_A = (3.3871328727963666080, 1.3314166789178437745e2, 1.9715909503065514427e3, 1.3731693765509461125e4,
      4.5921953931549871457e4, 6.7265770927008700853e4, 3.3430575583588128105e4, 2.5090809287301226727e3)
_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4, 5.2264952788528545610e3)
_C = (1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550, 3.64784832476320460504,
      1.27045825245236838258, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9)
_E = (6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580, 2.96560571828504891230e-1,
      2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15)


@njit(cache=True, nogil=True, inline="always")
def _mulhilo(a, b):
    """``(high, low)`` 64-bit words of the 128-bit product ``a · b``, from 32-bit halves."""
    a_lo, a_hi, b_lo, b_hi = a & _LOW32, a >> _S32, b & _LOW32, b >> _S32
    cross_1, cross_2 = a_lo * b_hi, a_hi * b_lo
    middle = ((a_lo * b_lo) >> _S32) + (cross_1 & _LOW32) + (cross_2 & _LOW32)
    high = a_hi * b_hi + (cross_1 >> _S32) + (cross_2 >> _S32) + (middle >> _S32)
    return high, a * b


@njit(cache=True, nogil=True, inline="always")
def _round(c0, c1, c2, c3, k0, k1):
    """One Philox4x64 round with round key ``(k0, k1)``."""
    h0, l0 = _mulhilo(M0, c0)
    h1, l1 = _mulhilo(M1, c2)
    return h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0


@njit(cache=True, nogil=True, inline="always")
def _philox(c0, c1, c2, c3, k0, k1):
    """The four output words of Philox4x64-10 for counter ``(c0, c1, c2, c3)`` and key ``(k0, k1)``.

    The ten rounds are written out: a loop over them keeps the compiler from running the
    loop over paths that calls this on SIMD lanes (measured: 47 against 8 ns a block).
    """
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + W0, k1 + W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(2) * W0, k1 + _U64(2) * W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(3) * W0, k1 + _U64(3) * W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(4) * W0, k1 + _U64(4) * W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(5) * W0, k1 + _U64(5) * W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(6) * W0, k1 + _U64(6) * W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(7) * W0, k1 + _U64(7) * W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _U64(8) * W0, k1 + _U64(8) * W1)
    return _round(c0, c1, c2, c3, k0 + _U64(9) * W0, k1 + _U64(9) * W1)


@njit(cache=True, nogil=True, inline="always")
def _poly(c, x):
    """``c[0] + c[1] x + … + c[7] x⁷`` by Horner's rule."""
    return ((((((c[7] * x + c[6]) * x + c[5]) * x + c[4]) * x + c[3]) * x + c[2]) * x + c[1]) * x + c[0]


@njit(cache=True, nogil=True, inline="always")
def _normal(u):
    """``Φ⁻¹(u)`` for ``u`` in (0, 1): AS 241's three rational approximations."""
    q = u - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(_A, r) / _poly(_B, r)
    r = np.sqrt(-np.log(min(u, 1.0 - u)))  # exact where it is the smaller: u = m · 2⁻⁵³ > ½
    if r <= 5.0:
        z = _poly(_C, r - 1.6) / _poly(_D, r - 1.6)
    else:
        z = _poly(_E, r - 5.0) / _poly(_F, r - 5.0)
    return -z if q < 0 else z


@njit(cache=True, nogil=True)
def _blocks(words, n, path_ids, seed_high, key0, key1):
    """``words[:, p]``: the four output words of counter ``(n, path_ids[p], seed_high, 0)``.

    A loop without branches over the paths: the compiler runs it on several paths per SIMD
    instruction.
    """
    counter, zero = _U64(n), _U64(0)
    for p in range(path_ids.shape[0]):
        x0, x1, x2, x3 = _philox(counter, path_ids[p], seed_high, zero, key0, key1)
        words[0, p], words[1, p], words[2, p], words[3, p] = x0, x1, x2, x3


@njit(cache=True, nogil=True)
def _convert(row, words, mode, high):
    """``row[p]`` from output word ``words[p]``: a uniform, a normal or an integer in [0, high)."""
    if mode == INTEGER:
        for p in range(row.shape[0]):
            row[p] = float(_mulhilo(words[p], high)[0])
    elif mode == UNIFORM:
        for p in range(row.shape[0]):
            row[p] = max(float(words[p] >> _S11), 0.5) * _TWO_M53
    else:
        for p in range(row.shape[0]):
            row[p] = _normal(max(float(words[p] >> _S11), 0.5) * _TWO_M53)


@njit(cache=True, nogil=True)
def fill(out, start, path_ids, key0, key1, seed_high, mode, high):
    """Fill ``out`` (draws × paths, C order) with draws ``start … start + draws − 1`` of each path.

    Parameters
    ----------
    out : float64 array (m, P)
        Row ``j``, column ``p``: draw ``start + j`` of path ``path_ids[p]``.
    start : int
        Position of the first draw in each path's sequence.
    path_ids : uint64 array (P,)
        Absolute path ids (the counter's second word).
    key0, key1, seed_high : uint64
        The key and the counter's third word.
    mode : int
        :data:`UNIFORM`, :data:`NORMAL` or :data:`INTEGER` (then ``high``, uint64, ≥ 1).
    """
    m, paths = out.shape
    if m == 0 or paths == 0:
        return
    words = np.empty((4, paths), dtype=np.uint64)
    for n in range(start // 4, (start + m - 1) // 4 + 1):
        _blocks(words, n, path_ids, seed_high, key0, key1)
        for lane in range(max(0, start - 4 * n), min(4, start + m - 4 * n)):
            _convert(out[4 * n + lane - start], words[lane], mode, high)


@njit(cache=True, nogil=True)
def raw_blocks(counters, key0, key1):
    """Philox4x64-10's output words for each row ``(c0, c1, c2, c3)`` of ``counters`` (uint64 (n, 4))."""
    out = np.empty_like(counters)
    for i in range(counters.shape[0]):
        x = _philox(counters[i, 0], counters[i, 1], counters[i, 2], counters[i, 3], key0, key1)
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = x
    return out
