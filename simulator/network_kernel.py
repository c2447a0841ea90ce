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
where an element is outside the Poisson kernel's domain (or, in ``expected`` mode, ``λ`` is above
2⁵²: numpy's day raises), :data:`OTHER` (nothing usable written).
The counts' ``table`` argument is :data:`simulator.poisson_kernel.CDF_TABLE` (the callers'): its
proved bracket of the CDF spares ``pdtr`` wherever it decides the count.

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); importing
this module imports numba, which :mod:`simulator.network` does only for large runs.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import chain, numba_cache, units
from simulator.poisson_kernel import _MEAN_MAX, CDF_TABLE, counts_in_steps, in_domain  # noqa: F401 (CDF_TABLE: the callers')
from simulator.poisson_kernel import poisson_normal_guess  # noqa: F401 (the callers' compiled guess: rng's doubles)

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

OTHER, NEAR_HALVING = -1, -2
_SECONDS_PER_DAY = float(units.SECONDS_PER_DAY)
_HS_PER_EHS = float(units.HS_PER_EHS)
_HASHES = float(units.HASHES_PER_DIFFICULTY_1)
_REWARD_K = units.SECONDS_PER_DAY / units.HASHES_PER_DIFFICULTY_1
_HALVING = float(chain.HALVING_INTERVAL)
_RETARGET = float(chain.RETARGET_INTERVAL)
_TARGET_TIMESPAN_S = float(chain.TARGET_TIMESPAN_S)
_MIN_TIMESPAN_S, _MAX_TIMESPAN_S = float(chain.MIN_TIMESPAN_S), float(chain.MAX_TIMESPAN_S)
_LAST_ERA = chain.MAX_HALVINGS


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _time_s(day, height, h_start, safe_n):
    """Time [s since the start] block ``height`` is mined within day ``day`` (``_split_day``'s ``time_s``)."""
    return (day + (height - h_start) / safe_n) * _SECONDS_PER_DAY


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _piece(f_from, f_to, s, fees):
    """``∫ (s + fees) dt`` over the day fractions ``[f_from, f_to]``: :func:`simulator.network._piece` with no
    halving today (its fraction 1, one subsidy), in its operations."""
    return (min(f_to, 1.0) - min(f_from, 1.0)) * (s + fees) + (max(f_to, 1.0) - max(f_from, 1.0)) * (s + fees)


@njit(cache=True, nogil=True, error_model="numpy")
def split_path(day, h_start, n, d0, epoch_start, retarget, fees, s):
    """:func:`simulator.network._split_day` of one busy path with one era's subsidy ``s`` all day (no
    halving reached): its operations in its order (:func:`simulator.network._retargets` for the
    retargets). Returns (difficulty, epoch start [s], next retarget, reward [BTC/(H/s·day)]) at the
    day's end.

    The day splits at ``f = (h − 1 − h_start)/N`` where block ``h − 1`` is mined; an epoch whose first
    block comes today starts then; each retarget crossed (several where ≥ 2,016 blocks a day) sets
    ``D ← max(D T / clamp(t_last − t_first, T/4, 4T), 1)`` (:func:`simulator.chain.next_difficulty`) and
    the next epoch's first-block time (NaN: tomorrow); once ``D`` is not finite the day's remaining
    retargets are skipped to the last. With one retarget ``reward = k (a (s + f)/D0 + (b − a)(s + f)/D_mid
    + (1 − b)(s + f)/D_new)`` with ``a = min(f, 1)``, ``b = max(f, 1)``; with several ``k Σ piece/D`` over
    the pieces between them (:func:`_piece`).
    """
    h_end = h_start + n
    safe_n = n if n > 0 else 1.0
    crossing = h_start < retarget - 1 and retarget - 1 <= h_end and n > 0
    f_retarget = (retarget - 1 - h_start) / safe_n if crossing else 1.0
    difficulty, epoch = d0, epoch_start
    if np.isnan(epoch_start) and retarget - _RETARGET <= h_end and n > 0:  # the epoch's first block is today's
        epoch = _time_s(day, retarget - _RETARGET, h_start, safe_n)
    crossed = crossing
    count, f_from, per_difficulty = 0.0, 0.0, 0.0
    while crossed:
        timespan = _time_s(day, retarget - 1, h_start, safe_n) - epoch
        clamped = timespan if np.isnan(timespan) else min(max(timespan, _MIN_TIMESPAN_S), _MAX_TIMESPAN_S)
        d_next = difficulty * _TARGET_TIMESPAN_S / clamped
        f_here = (retarget - 1 - h_start) / safe_n
        per_difficulty = per_difficulty + _piece(f_from, f_here, s, fees) / difficulty
        f_from = f_here
        count += 1.0
        difficulty = d_next if (d_next >= 1.0 or np.isnan(d_next)) else 1.0  # np.maximum(·, 1.0)
        epoch = _time_s(day, retarget, h_start, safe_n) if retarget <= h_end else np.nan
        retarget = retarget + _RETARGET
        crossed = retarget - 1 <= h_end
        if crossed and not np.isfinite(difficulty):  # skip to the day's last epoch end
            more = np.floor((h_end - (retarget - 1)) / _RETARGET) + 1
            retarget = retarget + more * _RETARGET
            count += more
            first = retarget - _RETARGET
            epoch = _time_s(day, first, h_start, safe_n) if first <= h_end else np.nan
            crossed = False
    if count >= 2:
        return difficulty, epoch, retarget, _REWARD_K * (per_difficulty + _piece(f_from, 1.0, s, fees) / difficulty)
    a, b = min(f_retarget, 1.0), max(f_retarget, 1.0)
    mid_d = difficulty if f_retarget < 1.0 else d0
    reward = _REWARD_K * (a * (s + fees) / d0 + (b - a) * (s + fees) / mid_d + (1 - b) * (s + fees) / difficulty)
    return difficulty, epoch, retarget, reward


@njit(cache=True, nogil=True, error_model="numpy")
def _day(day, height, difficulty, epoch_start_s, next_retarget, hashrate_ehs, fees_btc_per_block, u, z, poisson,
         era_subsidy_btc, h_end, blocks, expected, reward, revenue, table):
    """Day ``day`` of every path, the chain ``height … next_retarget`` advanced in place (each path
    from its own values only); returns the number of busy paths, or :data:`NEAR_HALVING` /
    :data:`OTHER` with the chain unchanged (``h_end`` is scratch)."""
    paths = height.shape[0]
    for i in range(paths):
        expected[i] = _SECONDS_PER_DAY * (hashrate_ehs[i] * _HS_PER_EHS) / (difficulty[i] * _HASHES)
    if poisson:
        for i in range(paths):
            if not in_domain(u[i], z[i], expected[i]):
                return OTHER
        counts_in_steps(u, z, expected, blocks, table)  # (count of each element, a step at a time)
    else:
        for i in range(paths):
            if expected[i] > _MEAN_MAX:  # heights past 2⁵³: numpy's day raises
                return OTHER
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
    m = 0
    for i in range(paths):
        n, f = blocks[i], fees_btc_per_block[i]
        revenue[i] = s * n + n * f
        if h_end[i] >= next_retarget[i] - 1 or np.isnan(epoch_start_s[i]):
            m += 1
            difficulty[i], epoch_start_s[i], next_retarget[i], reward[i] = split_path(
                day, height[i], n, difficulty[i], epoch_start_s[i], next_retarget[i], f, s)
        else:
            reward[i] = _REWARD_K * ((s + f) / difficulty[i])
        height[i] = h_end[i]
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def one_segment_day(day, height, difficulty, epoch_start_s, next_retarget, hashrate_ehs, fees_btc_per_block, u, z,
                    poisson, era_subsidy_btc, blocks, expected, reward, revenue, new_height, new_difficulty,
                    new_epoch_start_s, new_next_retarget, table):
    """Day ``day`` of every path (module notes): returns the number of busy paths (split here by
    :func:`split_path`), or :data:`NEAR_HALVING` (the counts written) or :data:`OTHER`.

    ``u`` and ``z`` (the clipped normal quantile of ``u``) are the day's Poisson uniforms, used where
    ``poisson``; else ``N = λ`` (``expected`` mode). Outputs (paths,): ``blocks`` (N), ``expected``
    (λ), ``reward``, ``revenue`` and the end-of-day chain ``new_*``; ``table`` is
    :data:`simulator.poisson_kernel.CDF_TABLE` (the Poisson counts' bracket).
    """
    new_height[:] = height
    new_difficulty[:] = difficulty
    new_epoch_start_s[:] = epoch_start_s
    new_next_retarget[:] = next_retarget
    return _day(day, new_height, new_difficulty, new_epoch_start_s, new_next_retarget, hashrate_ehs,
                fees_btc_per_block, u, z, poisson, era_subsidy_btc, np.empty(height.shape[0]), blocks, expected,
                reward, revenue, table)


@njit(cache=True, nogil=True, error_model="numpy")
def block_days(first, j, height, difficulty, epoch_start_s, next_retarget, hashrate_ehs, fees_btc_per_block, u, z,
               poisson, era_subsidy_btc, blocks, expected, reward, revenue, difficulty_rows, height_rows, table):
    """Days ``first + j`` … of a block, rows ``(n, paths)``, the chain advanced in place; returns the
    first day not done (``n``: all), with :data:`NEAR_HALVING` or :data:`OTHER` (that day untouched
    but for its counts: the caller's), else 0. ``u`` and ``z`` ``(n, 0)`` in ``expected`` mode."""
    h_end = np.empty(height.shape[0])
    n = hashrate_ehs.shape[0]
    while j < n:
        status = _day(first + j, height, difficulty, epoch_start_s, next_retarget, hashrate_ehs[j],
                      fees_btc_per_block[j], u[j], z[j], poisson, era_subsidy_btc, h_end, blocks[j], expected[j],
                      reward[j], revenue[j], table)
        if status < 0:
            return j, status
        difficulty_rows[j] = difficulty
        height_rows[j] = height
        j += 1
    return n, 0
