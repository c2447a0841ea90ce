"""Issue 19, item 2: a keyed, vectorised Philox stream against 0.1.x's per-path PCG64 generators.

Run from the repository root::

    .venv/bin/python benchmarks/bench_keyed_streams.py [--paths 1000] [--days 30] [--draws 144]

The issue asks for Philox4x32-10 "bit-equal to ``numpy.random.Philox``"; numpy's Philox is the
4×64-bit variant (Philox4x64-10, Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"),
so this script implements Philox4x64-10 in numpy, one counter per (path, day, draw) under the key
(seed, component), checks its words against ``numpy.random.Philox`` for the same key and counter,
and times four ways of filling a ``(days, draws, paths)`` block of uniforms:

1. 0.1.x's ``PathStreams.uniform``: each path's own PCG64 generator, one call per path;
2. the vectorised keyed Philox4x64-10 in numpy (one expression for all paths, 10 rounds, the
   64×64→128 multiply built from four 32-bit products since numpy has no wide multiply);
3. the same Philox rounds at 32-bit width (Philox4x32-10), the cheapest counter-based option in numpy;
4. ``PathStreams.uniform`` from 0.2.0 on: Philox4x64-10 compiled with numba (``simulator/philox.py``),
   all paths in one call, path axis last (timed warm: the kernel compiled or loaded from its cache).

It prints ns per uniform for each. The figure decides whether the stream change pays (see
benchmarks/README.md, "Keyed streams").
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from figures import emit
from simulator.rng import PathStreams

_M0, _M1 = np.uint64(0xD2E7470EE14C6C93), np.uint64(0xCA5A826395121157)   # Philox4x64 multipliers
_W0, _W1 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBB67AE8584CAA73B)   # Weyl key increments
_M32 = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))                     # Philox4x32 multipliers
_W32 = (np.uint32(0x9E3779B9), np.uint32(0xBB67AE85))
_LO32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)


def _mulhilo64(a: np.ndarray, m: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """High and low 64-bit words of ``a × m`` (128-bit product from four 32×32-bit products)."""
    m_lo, m_hi = m & _LO32, m >> _S32
    a_lo, a_hi = a & _LO32, a >> _S32
    ll, lh, hl = a_lo * m_lo, a_lo * m_hi, a_hi * m_lo
    mid = (ll >> _S32) + (lh & _LO32) + (hl & _LO32)
    hi = a_hi * m_hi + (lh >> _S32) + (hl >> _S32) + (mid >> _S32)
    return hi, a * m


def philox4x64(counter: tuple[np.ndarray, ...], key: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Philox4x64-10 of the 256-bit counters ``counter`` (four uint64 arrays) under ``key``."""
    c0, c1, c2, c3 = counter
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    with np.errstate(over="ignore"):
        for _ in range(10):
            hi0, lo0 = _mulhilo64(c0, _M0)
            hi1, lo1 = _mulhilo64(c2, _M1)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
            k0, k1 = k0 + _W0, k1 + _W1
    return c0, c1, c2, c3


def philox4x32(counter: tuple[np.ndarray, ...], key: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 (32-bit words held in uint64 arrays; products of two 32-bit words fit)."""
    c0, c1, c2, c3 = counter
    k0, k1 = np.uint64(key[0] & 0xFFFFFFFF), np.uint64(key[1] & 0xFFFFFFFF)
    w0, w1 = np.uint64(_W32[0]), np.uint64(_W32[1])
    for _ in range(10):
        p0, p1 = c0 * _M32[0], c2 * _M32[1]
        c0, c1, c2, c3 = ((p1 >> _S32) ^ c1 ^ k0), p1 & _LO32, ((p0 >> _S32) ^ c3 ^ k1), p0 & _LO32
        k0, k1 = (k0 + w0) & _LO32, (k1 + w1) & _LO32
    return c0, c1, c2, c3


def keyed_uniforms(seed: int, component: int, path_ids: np.ndarray, day0: int, days: int, draws: int) -> np.ndarray:
    """Uniforms in (0, 1) with 53 random bits, shape ``(days, draws, paths)``, keyed by
    (seed, component) and counted by (path, day, draw): each word depends on nothing else."""
    quads = -(-draws // 4)
    day = np.arange(day0, day0 + days, dtype=np.uint64)[:, None, None]
    quad = np.arange(quads, dtype=np.uint64)[None, :, None]
    path = np.asarray(path_ids, dtype=np.uint64)[None, None, :]
    shape = (days, quads, len(path_ids))
    counter = (np.broadcast_to(quad, shape).copy(), np.broadcast_to(day, shape).copy(),
               np.broadcast_to(path, shape).copy(), np.zeros(shape, dtype=np.uint64))
    words = np.stack(philox4x64(counter, (seed, component)), axis=2).reshape(days, 4 * quads, -1)[:, :draws]
    return ((words >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53


def check_against_numpy() -> None:
    """The vectorised rounds reproduce ``numpy.random.Philox`` word for word."""
    key = (2026, 7)
    counters = np.array([[0, 0, 0, 0], [5, 1, 9, 0], [2**64 - 2, 3, 2**63, 11]], dtype=np.uint64)
    ours = np.stack(philox4x64(tuple(counters.T.copy()), key), axis=1)
    for row, expected in zip(counters, ours):
        # numpy increments its counter before each block: start one below the wanted counter
        before = row.copy()
        for i in range(4):  # 256-bit decrement with borrow
            before[i] = np.uint64((int(row[i]) - 1) % 2**64)
            if int(row[i]) != 0:
                break
        bits = np.random.Philox(key=np.array(key, dtype=np.uint64), counter=before).random_raw(4)
        assert np.array_equal(bits, expected), (row, bits, expected)


def _time(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--draws", type=int, default=144, help="draws per path-day (bench-10y: ~144)")
    args = parser.parse_args()
    check_against_numpy()
    n = args.paths * args.days * args.draws
    ids = np.arange(args.paths)
    generators = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(7, spawn_key=(5, 0, int(i)))))
                  for i in ids]
    block = np.empty((args.paths, args.days, args.draws))

    def per_path_pcg64():  # 0.1.x's PathStreams._fill: the loop over paths, path-major memory
        for j, g in enumerate(generators):
            g.random(block.shape[1:], out=block[j])
        return np.moveaxis(block, 0, -1)

    pcg = _time(per_path_pcg64)
    streams = PathStreams(7, "failures", ids)
    streams.uniform((args.days, args.draws), reuse=True)
    compiled = _time(lambda: streams.uniform((args.days, args.draws), reuse=True))
    p64 = _time(lambda: keyed_uniforms(7, 5, ids, 0, args.days, args.draws))
    quads = -(-args.draws // 4)
    shape = (args.days * quads * args.paths,)
    c32 = tuple(np.arange(shape[0], dtype=np.uint64) & _LO32 if i == 0 else np.zeros(shape, np.uint64) for i in range(4))
    p32 = _time(lambda: philox4x32(c32, (7, 5)))
    figures = {"pcg64_per_path_ns_per_uniform": pcg / n * 1e9, "philox4x64_keyed_ns_per_uniform": p64 / n * 1e9,
               "philox4x32_rounds_ns_per_uniform": p32 / n * 1e9 / 2,  # a 4x32 block gives 2 doubles
               "philox4x64_compiled_ns_per_uniform": compiled / n * 1e9}
    print(f"Philox4x64-10 words equal numpy.random.Philox's: yes")
    print(f"{args.paths} paths x {args.days} days x {args.draws} draws")
    for name, value in figures.items():
        print(f"  {name:36s} {value:8.1f}")
    emit(figures)


if __name__ == "__main__":
    main()
