"""The network's day in one segment, compiled: block counts, heights, FPPS reward and revenue, busy paths.

:func:`simulator.network.advance_day` (numpy) is the reference. Per path, from the start-of-day
difficulty ``D``, tip ``h``, the day's mean hashrate ``H`` [EH/s] and fees per block ``f`` [BTC]:

    λ = 86400 (H · 1e18) / (D 2^32)                     expected blocks
    N = Poisson inverse CDF of u at λ                   (:func:`simulator.poisson_kernel.count`), or λ
    h_end = h + N
    reward  = (86400 / 2^32) ((s + f) / D)              [BTC/(H/s·day)]
    revenue = s N + N f                                  [BTC]

with ``s`` [BTC] the subsidy of the era of the lowest tip's next block (Core's rule, the table
``era_subsidy_btc``), and the paths to split (:func:`simulator.network._busy_paths`): those whose
``h_end ≥`` their next retarget height − 1, or whose epoch's first block is still to come. These
are the reference's operations in its order (numba does not reorder or fuse floating-point
operations without ``fastmath``), so every number is the same, bit for bit
(tests/test_network_kernel.py). Where some path may reach the lowest tip's next halving
(``h_end ≥`` that halving − 1) :func:`one_segment_day` returns :data:`NEAR_HALVING` after the
counts (``blocks``, ``expected``, ``h_end`` are written; the rest is the caller's, in numpy), and
where an element is outside the Poisson kernel's domain, :data:`OTHER` (nothing usable written).

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); importing
this module imports numba, which :mod:`simulator.network` does only for large runs.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import chain, units
from simulator.poisson_kernel import count

OTHER, NEAR_HALVING = -1, -2
_SECONDS_PER_DAY = float(units.SECONDS_PER_DAY)
_HS_PER_EHS = float(units.HS_PER_EHS)
_HASHES = float(units.HASHES_PER_DIFFICULTY_1)
_REWARD_K = units.SECONDS_PER_DAY / units.HASHES_PER_DIFFICULTY_1
_HALVING = float(chain.HALVING_INTERVAL)
_LAST_ERA = chain.MAX_HALVINGS


@njit(cache=True, nogil=True, error_model="numpy")
def one_segment_day(height, difficulty, epoch_start_s, next_retarget, hashrate_ehs, fees_btc_per_block, u, z,
                    poisson, era_subsidy_btc, h_end, blocks, expected, reward, revenue, busy, subsidy_btc):
    """One day of every path in one segment (module notes); returns the number of busy paths (their
    indices in ``busy[:m]``), :data:`NEAR_HALVING` or :data:`OTHER`.

    ``u`` and ``z`` (the clipped normal quantile of ``u``) are the day's Poisson uniforms, used where
    ``poisson``; else ``N = λ`` (``expected`` mode). Outputs (paths,): ``h_end``, ``blocks`` (N),
    ``expected`` (λ), ``reward``, ``revenue``, ``busy`` (int64 scratch) and ``subsidy_btc`` (1,): ``s``.
    """
    paths = height.shape[0]
    for i in range(paths):
        expected[i] = _SECONDS_PER_DAY * (hashrate_ehs[i] * _HS_PER_EHS) / (difficulty[i] * _HASHES)
    if poisson:
        for i in range(paths):
            lam = expected[i]
            if lam > 0 and not (np.isfinite(lam) and 0.0 <= u[i] < 1.0 and not np.isnan(z[i])):
                return OTHER
        for i in range(paths):
            blocks[i] = count(u[i], z[i], expected[i])
    else:
        blocks[:] = expected
    low = np.inf
    for i in range(paths):
        low = min(low, height[i])
    if not np.isfinite(low) or paths == 0:
        return OTHER
    low = np.floor(low)
    halving_from = (low // _HALVING + 1) * _HALVING - 1  # the lowest tip's next halving height − 1
    near = False
    for i in range(paths):
        h_end[i] = height[i] + blocks[i]
        near |= not h_end[i] < halving_from
    if near:
        return NEAR_HALVING
    s = era_subsidy_btc[min(int((low + 1) // _HALVING), _LAST_ERA)]
    subsidy_btc[0] = s
    m = 0
    for i in range(paths):
        n, f = blocks[i], fees_btc_per_block[i]
        reward[i] = _REWARD_K * ((s + f) / difficulty[i])
        revenue[i] = s * n + n * f
        if h_end[i] >= next_retarget[i] - 1 or np.isnan(epoch_start_s[i]):
            busy[m] = i
            m += 1
    return m
