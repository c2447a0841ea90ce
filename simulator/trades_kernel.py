"""The installed fleet at the ASIC price index over a block's days, compiled: one pass, day by day.

:func:`simulator.fleet.installed_value` (numpy, cohort by cohort on
:func:`simulator.market.asic_price.index_rows`) is the reference. For each day ``j`` and path ``p``,
cohort by cohort in order,

    index_c   = max(frontier[j, p] − penalty_c, floor[j, p])          [USD/TH]  (np.maximum: NaN propagates)
    ths_c     = installed[j, c, p] × hashrate_ths_c                    [TH/s]
    value     = (ths_0 × index_0 + 0.0) + ths_1 × index_1 + …           [USD]
    ehs       = ((ths_0 + 0.0) + ths_1 + …) / 10⁶                       [EH/s]

(``+ 0.0`` as numpy's sums start from +0.0), the same IEEE operations on the same operands in the same
order, so the same bits (tests/test_trades_block.py checks both forms). What it saves is the reference's
passes over ``(days, paths)`` arrays, eight numpy calls a cohort. :func:`chain_index_terms` makes the index's
terms at the chain's halving-adjusted hashprice the same way, element by element (the reference's sixteen passes of
:func:`simulator.market.asic_price.chain_halving_adjusted_hashprice` and ``_price_terms``). Compiled with
``cache=True`` and ``nogil``, no ``fastmath`` (no contraction of ``a × b + c``); importing this module imports numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import chain, numba_cache
from simulator.chain import HALVING_INTERVAL, MAX_HALVINGS
from simulator.market.asic_price import HORIZON_DAYS
from simulator.units import TARGET_BLOCKS_PER_DAY, THS_PER_EHS, THS_PER_PHS

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

#: Each era's block subsidy [BTC], eras 0 … 64 (:func:`simulator.chain.subsidy_btc_of_heights` at their first heights).
ERA_SUBSIDY_BTC = chain.subsidy_btc_of_heights(np.arange(MAX_HALVINGS + 1.0) * HALVING_INTERVAL)


@njit(cache=True, nogil=True)
def installed_value(hashrate_ths, frontier_usd_per_th, penalty_usd_per_th, floor_usd_per_th, installed_units,
                    value_usd, ehs):
    """:func:`simulator.fleet.installed_value` into ``value_usd`` [USD] and ``ehs`` [EH/s: the sum in TH/s, then
    divided by 10⁶ while the day's row is in the cache] ``(n, paths)``, from the index's terms
    (:func:`simulator.market.asic_price._price_terms`: ``frontier`` and ``floor`` ``(n, paths)``, ``penalty``
    ``(cohorts,)``) and ``installed_units`` ``(n, cohorts, paths)`` (at least one cohort)."""
    n, cohorts, paths = installed_units.shape
    for j in range(n):
        h = hashrate_ths[0]
        penalty = penalty_usd_per_th[0]
        for i in range(paths):
            row, floor = frontier_usd_per_th[j, i] - penalty, floor_usd_per_th[j, i]
            index = row if (row >= floor or row != row) else floor
            ths_c = installed_units[j, 0, i] * h
            value_usd[j, i] = ths_c * index + 0.0
            ehs[j, i] = ths_c + 0.0
        for c in range(1, cohorts):
            h = hashrate_ths[c]
            penalty = penalty_usd_per_th[c]
            for i in range(paths):
                row, floor = frontier_usd_per_th[j, i] - penalty, floor_usd_per_th[j, i]
                index = row if (row >= floor or row != row) else floor
                ths_c = installed_units[j, c, i] * h
                value_usd[j, i] += ths_c * index
                ehs[j, i] += ths_c
        for i in range(paths):
            ehs[j, i] = ehs[j, i] / THS_PER_EHS


@njit(cache=True, nogil=True, error_model="numpy")  # x / 0 is ±inf or NaN, as numpy's
def chain_index_terms(hashprice_usd_per_ph_day, height, fees_btc_per_block, frontier_multiple_days, frontier_factor,
                      floor_multiple_days, frontier_usd_per_th, floor_usd_per_th):
    """The second-hand index's per-day terms (:func:`simulator.market.asic_price._price_terms`, ``new`` False) at the
    hashprice a buyer expects on a simulated chain (:func:`simulator.market.asic_price.chain_halving_adjusted_hashprice`),
    into ``frontier_usd_per_th`` and ``floor_usd_per_th``, all ``(n, paths)``. Element by element, numpy's operations
    in its order (the reference's shortcuts — one era, no halving within a year — give these same floats):

        tip = ⌊height⌋,  era = ⌊tip / 210,000⌋,  s = subsidy(min(era, 64)) / (subsidy + fees)     [BTC / BTC]
        d = ((era + 1) · 210,000 − tip) / 144,  after = clip((365 − d) / 365, 0, 1) if d > 0 else 0   [days]
        h = hashprice · (1 − ½ s · after),  r = h / 1,000                                         [USD/(TH·day)]
        frontier = r · A · (1 + π · 0),  floor = r · F                                              [USD/TH]

    ``subsidy`` is :data:`ERA_SUBSIDY_BTC`; ``A``, ``1 + π · 0`` and ``F`` are the index's constants
    (:meth:`simulator.market.asic_price.ChainIndexRows.constants`). Heights are finite and ≥ 0 (as the reference's): a
    NaN or negative one raises ValueError.
    """
    for j in range(hashprice_usd_per_ph_day.shape[0]):
        if _index_terms_row(hashprice_usd_per_ph_day[j], height[j], fees_btc_per_block[j], frontier_multiple_days,
                            frontier_factor, floor_multiple_days, frontier_usd_per_th[j], floor_usd_per_th[j]):
            raise ValueError("chain_index_terms: a height is NaN or negative")


@njit(cache=True, nogil=True, error_model="numpy")
def _index_terms_row(hashprice_usd_per_ph_day, height, fees_btc_per_block, frontier_multiple_days, frontier_factor,
                     floor_multiple_days, frontier_usd_per_th, floor_usd_per_th):
    """One day's row of :func:`chain_index_terms`, without branches (selects and a gather of the era's subsidy: the
    compiler runs it on SIMD lanes, ~1 against ~6 ns an element): ``after`` is the clip where ``d > 0``, else 0, as
    the branch gave; a NaN or negative era reads era 0's subsidy (an index inside the table) and is counted, and the
    caller raises, never reading the row. Returns the count of such heights."""
    bad = 0
    for i in range(height.shape[0]):
        tip = np.floor(height[i])
        era = np.floor(tip / HALVING_INTERVAL)
        bad += not era >= 0.0
        subsidy = ERA_SUBSIDY_BTC[np.int64(min(era if era >= 0.0 else 0.0, MAX_HALVINGS))]
        share = subsidy / (subsidy + fees_btc_per_block[i])
        days = ((era + 1.0) * HALVING_INTERVAL - tip) / TARGET_BLOCKS_PER_DAY
        x = (HORIZON_DAYS - days) / HORIZON_DAYS
        clipped = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        after = clipped if days > 0 else 0.0
        revenue = hashprice_usd_per_ph_day[i] * (1.0 - 0.5 * share * after) / THS_PER_PHS
        frontier_usd_per_th[i] = revenue * frontier_multiple_days * frontier_factor
        floor_usd_per_th[i] = revenue * floor_multiple_days
    return bad
