"""Philox4x64-10 counter-based random numbers for all paths at once: the maths and its numpy form.

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
  477–484, 1988), relative error about 1e-16; ``−8.3 < z < 8.3`` since ``2⁻⁵⁴ ≤ u ≤ 1 − 2⁻⁵³``.
  Its tails need ``ln r``, computed here from ``+ − × ÷`` alone (:func:`log_reduced`), so that
  the numpy form and the compiled one give the same bits whatever libm or SIMD maths they use;
- integer in [0, high): ``⌊x · high / 2⁶⁴⌋`` (the high word of the product; Lemire 2019,
  "Fast random integer generation in an interval", ACM TOMACS 29(1)). Each value is hit by
  ⌊2⁶⁴/high⌋ or ⌈2⁶⁴/high⌉ of the 2⁶⁴ words, so its probability is within 2⁻⁶⁴ of 1/high.

Two implementations give the same bits (tests/test_rng.py checks them against each other):
:func:`fill_numpy` (numpy, ~100 ns a draw, nothing to load) and
:func:`simulator.philox_kernel.fill` (numba, ~2 ns a draw, ~0.4 s to import numba and load the
compiled kernel from its cache once per process). :func:`fill` uses numpy for a process's first
small draws and the kernel from the first large one on: a short run never loads numba. Which one
ran never changes a number.
"""
from __future__ import annotations


import numpy as np

from simulator.lazy_kernel import LazyKernel

_U64 = np.uint64
M0, M1 = _U64(0xD2E7470EE14C6C93), _U64(0xCA5A826395121157)
W0, W1 = _U64(0x9E3779B97F4A7C15), _U64(0xBB67AE8584CAA73B)
_LOW32, _S32, _S11 = _U64(0xFFFFFFFF), _U64(32), _U64(11)
_TWO_M53 = 2.0 ** -53

#: ``mode`` of :func:`fill`.
UNIFORM, NORMAL, INTEGER = 0, 1, 2

# AS 241 (PPND16) coefficients, lowest order first: Wichura (1988), as published.
A = (3.3871328727963666080, 1.3314166789178437745e2, 1.9715909503065514427e3, 1.3731693765509461125e4,
     4.5921953931549871457e4, 6.7265770927008700853e4, 3.3430575583588128105e4, 2.5090809287301226727e3)
B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
     2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4, 5.2264952788528545610e3)
C = (1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550, 3.64784832476320460504,
     1.27045825245236838258, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4)
D = (1.0, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
     1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9)
E = (6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580, 2.96560571828504891230e-1,
     2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7)
F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
     7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15)
#: ``1/(2k + 1)``, k = 0 … 10: atanh's series, for :func:`log_reduced`.
ATANH = tuple(1.0 / (2 * k + 1) for k in range(11))
LN2 = 0.6931471805599453
SQRT_HALF = 0.7071067811865476


# The leaf functions below run as they are in numpy and, compiled, inside
# simulator/philox_kernel.py (an edit here gives the kernels a new cache directory:
# simulator/numba_cache.py; tests/test_rng.py's numpy-against-kernel test would see a stale kernel).
def mulhilo(a, b):
    """``(high, low)`` 64-bit words of the 128-bit product ``a · b`` (uint64), from 32-bit halves."""
    a_lo, a_hi, b_lo, b_hi = a & _LOW32, a >> _S32, b & _LOW32, b >> _S32
    low_low = a_lo * b_lo
    t = a_hi * b_lo + (low_low >> _S32)
    w = (t & _LOW32) + a_lo * b_hi
    return a_hi * b_hi + (t >> _S32) + (w >> _S32), a * b


def poly(c, x):
    """``c[0] + c[1] x + … + c[7] x⁷`` by Horner's rule."""
    return ((((((c[7] * x + c[6]) * x + c[5]) * x + c[4]) * x + c[3]) * x + c[2]) * x + c[1]) * x + c[0]


def log_reduced(m, e):
    """``ln(m · 2^e)`` for ``m`` in [√½, √2) and a float ``e``, from ``+ − × ÷`` alone.

    ``ln m = 2 atanh(s) = 2 (s + s³/3 + … + s²¹/21)`` with ``s = (m − 1)/(m + 1)``, ``|s| < 0.172``
    (the next term is below 1e-18 of ``ln m``), plus ``e ln 2``. Within ~2e-16 of the true value;
    used for AS 241's tails, where ``−ln r`` ranges over 2.6 … 37.4.
    """
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = ((((((((((ATANH[10] * z + ATANH[9]) * z + ATANH[8]) * z + ATANH[7]) * z + ATANH[6]) * z + ATANH[5]) * z
              + ATANH[4]) * z + ATANH[3]) * z + ATANH[2]) * z + ATANH[1]) * z + ATANH[0])
    return e * LN2 + 2.0 * s * p


def _uniforms(words: np.ndarray) -> np.ndarray:
    return np.maximum((words >> _S11).astype(np.float64), 0.5) * _TWO_M53


def _normals(words: np.ndarray) -> np.ndarray:
    """AS 241 on every word's uniform, the same operations as the compiled kernel's scalar form."""
    u = _uniforms(words)
    q = u - 0.5
    r = 0.180625 - q * q
    z = q * poly(A, r) / poly(B, r)
    tail = np.abs(q) > 0.425
    if tail.any():
        ut, qt = u[tail], q[tail]
        m, e = np.frexp(np.minimum(ut, 1.0 - ut))
        e = e.astype(np.float64)
        low = m < SQRT_HALF
        m, e = np.where(low, m * 2.0, m), np.where(low, e - 1.0, e)
        t = np.sqrt(-log_reduced(m, e))
        zt = np.where(t <= 5.0, poly(C, t - 1.6) / poly(D, t - 1.6), poly(E, t - 5.0) / poly(F, t - 5.0))
        z[tail] = np.where(qt < 0, -zt, zt)
    return z


def convert_numpy(words: np.ndarray, mode: int, high: np.uint64) -> np.ndarray:
    """Output words as uniforms, normals or integers in [0, high) (as floats): see the module notes."""
    if mode == INTEGER:
        return mulhilo(words, _U64(high))[0].astype(np.float64)
    return _uniforms(words) if mode == UNIFORM else _normals(words)


def philox_numpy(c0, c1, c2, c3, k0: int, k1: int):
    """Philox4x64-10 of uint64 counter arrays ``c0 … c3`` under the key ``(k0, k1)`` (ints)."""
    for r in range(10):
        h0, l0 = mulhilo(M0, c0)
        h1, l1 = mulhilo(M1, c2)
        key0, key1 = _U64((k0 + r * int(W0)) % 2**64), _U64((k1 + r * int(W1)) % 2**64)
        c0, c1, c2, c3 = h1 ^ c1 ^ key0, l1, h0 ^ c3 ^ key1, l0
    return c0, c1, c2, c3


def fill_numpy(out, start, path_ids, key0, key1, seed_high, mode, high) -> None:
    """:func:`simulator.philox_kernel.fill` in numpy: the same arguments, the same bits."""
    m, paths = out.shape
    if m == 0 or paths == 0:
        return
    first = start // 4
    n = np.arange(first, (start + m - 1) // 4 + 1, dtype=np.uint64)[:, None]
    shape = (n.shape[0], paths)
    counter = (np.broadcast_to(n, shape), np.broadcast_to(path_ids[None, :], shape),
               np.full(shape, seed_high, dtype=np.uint64), np.zeros(shape, dtype=np.uint64))
    words = np.stack(philox_numpy(*counter, int(key0), int(key1)), axis=1).reshape(4 * shape[0], paths)
    out[...] = convert_numpy(words[start - 4 * first: start - 4 * first + m], mode, high)


#: The compiled kernel: loaded for a call of at least 2¹⁶ draws (all paths) or once a process has
#: made 2²⁰ draws with numpy (~0.1 s of numpy).
KERNEL = LazyKernel("simulator.philox_kernel", large_from=2**16, numpy_at_most=2**20)


def fill(out, start, path_ids, key0, key1, seed_high, mode, high) -> None:
    """Fill ``out`` (draws × paths, float64, C order) with draws ``start … start + draws − 1`` of each path.

    ``path_ids`` (uint64) are the counters' second words, ``key0, key1`` the key and
    ``seed_high`` the counters' third word (all uint64); ``mode`` is :data:`UNIFORM`,
    :data:`NORMAL` or :data:`INTEGER` (then ``high`` ≥ 1). Row ``j``, column ``p`` of ``out`` is
    draw ``start + j`` of path ``path_ids[p]``. Numpy or the compiled kernel (module notes).
    """
    kernel = KERNEL.for_call(out.size)
    (fill_numpy if kernel is None else kernel.fill)(out, start, path_ids, key0, key1, seed_high, mode, high)


def fill_rows_numpy(out, start, stride, path_ids, key0, key1, seed_high, mode, high) -> None:
    """:func:`simulator.philox_kernel.fill_rows` in numpy: :func:`fill_numpy` of each group, the same bits."""
    for g in range(out.shape[0]):
        fill_numpy(out[g], start + g * stride, path_ids, key0, key1, seed_high, mode, high)


def fill_rows(out, start, stride, path_ids, key0, key1, seed_high, mode, high) -> None:
    """Fill ``out`` (groups × rows × paths, float64, C order) with the first ``rows`` draws of each group of
    ``stride`` draws from ``start``: ``out[g]`` is :func:`fill`'s ``rows`` draws from ``start + g · stride``
    (the draws in between are not computed: a counter-based stream needs none of them to reach the next).
    Numpy or the compiled kernel, as :func:`fill` (the same bits)."""
    kernel = KERNEL.for_call(out.size)
    (fill_rows_numpy if kernel is None else kernel.fill_rows)(out, start, stride, path_ids, key0, key1, seed_high,
                                                               mode, high)
