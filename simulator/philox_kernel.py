"""The compiled Philox4x64-10 kernel: :mod:`simulator.philox`'s maths, with numba, ~2 ns a draw.

The equations, constants, key/counter layout and conversions are documented in
:mod:`simulator.philox`; its leaf functions (:func:`~simulator.philox.mulhilo`,
:func:`~simulator.philox.poly`, :func:`~simulator.philox.log_reduced`) are compiled here as they
are, so both forms run the same operations in the same order. Compiled with ``cache=True`` (the
machine code is kept in a directory per source version, :mod:`simulator.numba_cache`; the first run
after an install or an edit compiles, 2–3 s on the 2-core machine) and ``nogil``, never ``parallel``:
worker processes fork.
Importing this module imports numba (~0.2 s; loading the cached kernel adds ~0.2 s).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator import numba_cache, philox
from simulator.philox import (A, B, C, D, E, F, INTEGER, M0, M1, SQRT_HALF, UNIFORM, W0, W1, _S11,
                              _TWO_M53, _U64)

#: A double's fraction bits, and the exponent bits of [0.5, 1) (``math.frexp``'s fraction).
_FRACTION, _HALF_EXPONENT = np.int64((1 << 52) - 1), np.int64(1022 << 52)

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

_mulhilo = njit(cache=True, nogil=True, inline="always")(philox.mulhilo)
_poly = njit(cache=True, nogil=True, inline="always")(philox.poly)
_log_reduced = njit(cache=True, nogil=True, inline="always")(philox.log_reduced)


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
def _normal(u):
    """``Φ⁻¹(u)`` for ``u`` in (0, 1): AS 241, as :func:`simulator.philox._normals` computes it."""
    q = u - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(A, r) / _poly(B, r)
    m, e = math.frexp(min(u, 1.0 - u))
    ef = float(e)
    if m < SQRT_HALF:
        m, ef = m * 2.0, ef - 1.0
    t = math.sqrt(-_log_reduced(m, ef))
    if t <= 5.0:
        z = _poly(C, t - 1.6) / _poly(D, t - 1.6)
    else:
        z = _poly(E, t - 5.0) / _poly(F, t - 5.0)
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
        _normals(row, words)


@njit(cache=True, nogil=True, error_model="numpy")
def _normals(row, words):
    """``row[p]`` ← :func:`_normal` of word ``words[p]``'s uniform, in two passes (as :func:`simulator.philox._normals`):
    AS 241's central ratio for every path, a loop without branches the compiler runs on SIMD lanes, then
    :func:`_normal` again where ``|u − 0.5| > 0.425`` (~15 % of the draws: its tails). Each element's result is
    :func:`_normal`'s, the same operations on the same doubles (the central ratio is its branch for those
    ``u``; the tails' are overwritten); ``error_model="numpy"``: a tail's central ratio, never kept, may
    divide by zero without raising."""
    tail = False
    for p in range(row.shape[0]):
        q = max(float(words[p] >> _S11), 0.5) * _TWO_M53 - 0.5
        r = 0.180625 - q * q
        row[p] = q * _poly(A, r) / _poly(B, r)
        tail |= abs(q) > 0.425
    if tail:
        _tails(row, words)


@njit(cache=True, nogil=True, error_model="numpy")
def _tails(row, words):
    """``row[p]`` ← :func:`_normal`'s tail branch where ``|u − 0.5| > 0.425``: the tails' ``min(u, 1 − u)`` gathered
    (a path's ``u`` is at least 2⁻⁵⁴, ``1 − u`` at least 2⁻⁵³: normal doubles, whose ``math.frexp`` is their
    fraction's bits with the exponent of [0.5, 1) and their exponent − 1022, read from the bits here), then
    each step of the branch for all of them at once (loops the compiler runs on SIMD lanes; both ratios
    computed and the one :func:`_normal` takes kept, the other never read), the same operations on the same
    doubles, and scattered back."""
    n = row.shape[0]
    at, v = np.empty(n, np.int64), np.empty(n)
    tails = 0
    for p in range(n):
        u = max(float(words[p] >> _S11), 0.5) * _TWO_M53
        if abs(u - 0.5) > 0.425:
            at[tails], v[tails] = p, min(u, 1.0 - u)
            tails += 1
    bits, exponents = v[:tails].view(np.int64), np.empty(tails)
    for i in range(tails):
        b = bits[i]
        exponents[i] = float((b >> 52) - 1022)
        bits[i] = (b & _FRACTION) | _HALF_EXPONENT  # (v[i] now holds the fraction)
    out = np.empty(tails)
    for i in range(tails):
        m, ef = v[i], exponents[i]
        low = m < SQRT_HALF
        m, ef = (m * 2.0 if low else m), (ef - 1.0 if low else ef)
        t = math.sqrt(-_log_reduced(m, ef))
        central, far = _poly(C, t - 1.6) / _poly(D, t - 1.6), _poly(E, t - 5.0) / _poly(F, t - 5.0)
        out[i] = central if t <= 5.0 else far
    for i in range(tails):
        p = at[i]
        q = max(float(words[p] >> _S11), 0.5) * _TWO_M53 - 0.5
        row[p] = -out[i] if q < 0 else out[i]


@njit(cache=True, nogil=True)
def _uniform_rows(out, row, n, path_ids, seed_high, key0, key1):
    """``out[row … row + 3, p]``: the uniforms of block ``n``'s four words for every path ``p`` (:func:`_blocks`
    and :func:`_convert` in one pass: each word converted as it is made, no words written and read back)."""
    counter, zero = _U64(n), _U64(0)
    o0, o1, o2, o3 = out[row], out[row + 1], out[row + 2], out[row + 3]
    for p in range(path_ids.shape[0]):
        x0, x1, x2, x3 = _philox(counter, path_ids[p], seed_high, zero, key0, key1)
        o0[p] = max(float(x0 >> _S11), 0.5) * _TWO_M53
        o1[p] = max(float(x1 >> _S11), 0.5) * _TWO_M53
        o2[p] = max(float(x2 >> _S11), 0.5) * _TWO_M53
        o3[p] = max(float(x3 >> _S11), 0.5) * _TWO_M53


@njit(cache=True, nogil=True)
def fill_block(out, start, n, words, path_ids, key0, key1, seed_high, mode, high):
    """The rows of ``out`` (draws ``start … start + m − 1`` of every path) that block ``n`` (draws ``4n … 4n + 3``)
    holds, as :func:`fill` writes them: a uniform block wholly inside by :func:`_uniform_rows`, else through
    ``words`` ``(4, paths)`` (scratch) and :func:`_convert` of the rows inside."""
    m = out.shape[0]
    if mode == UNIFORM and start <= 4 * n and 4 * n + 4 <= start + m:
        _uniform_rows(out, 4 * n - start, n, path_ids, seed_high, key0, key1)
        return
    _blocks(words, n, path_ids, seed_high, key0, key1)
    for lane in range(max(0, start - 4 * n), min(4, start + m - 4 * n)):
        _convert(out[4 * n + lane - start], words[lane], mode, high)


@njit(cache=True, nogil=True)
def fill(out, start, path_ids, key0, key1, seed_high, mode, high):
    """:func:`simulator.philox.fill`, compiled: block by block, all paths of a block at once (:func:`fill_block`)."""
    m, paths = out.shape
    if m == 0 or paths == 0:
        return
    words = np.empty((4, paths), dtype=np.uint64)
    for n in range(start // 4, (start + m - 1) // 4 + 1):
        fill_block(out, start, n, words, path_ids, key0, key1, seed_high, mode, high)


@njit(cache=True, nogil=True)
def fill_rows(out, start, stride, path_ids, key0, key1, seed_high, mode, high):
    """:func:`simulator.philox.fill_rows`, compiled: :func:`fill` of each group ``out[g]`` from ``start + g · stride``."""
    for g in range(out.shape[0]):
        fill(out[g], start + g * stride, path_ids, key0, key1, seed_high, mode, high)


@njit(cache=True, nogil=True)
def raw_blocks(counters, key0, key1):
    """Philox4x64-10's output words for each row ``(c0, c1, c2, c3)`` of ``counters`` (uint64 (n, 4))."""
    out = np.empty_like(counters)
    for i in range(counters.shape[0]):
        x = _philox(counters[i, 0], counters[i, 1], counters[i, 2], counters[i, 3], key0, key1)
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = x
    return out
