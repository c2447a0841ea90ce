"""The installed fleet at the ASIC price index over a block's days, compiled: one pass, day by day.

:func:`simulator.fleet.installed_value` (numpy, cohort by cohort on
:func:`simulator.market.asic_price.index_rows`) is the reference. For each day ``j`` and path ``p``,
cohort by cohort in order,

    index_c   = max(frontier[j, p] − penalty_c, floor[j, p])          [USD/TH]  (np.maximum: NaN propagates)
    ths_c     = installed[j, c, p] × hashrate_ths_c                    [TH/s]
    value     = (ths_0 × index_0 + 0.0) + ths_1 × index_1 + …           [USD]
    ths       = (ths_0 + 0.0) + ths_1 + …                              [TH/s]

(``+ 0.0`` as numpy's sums start from +0.0), the same IEEE operations on the same operands in the same
order, so the same bits (tests/test_trades_block.py checks both forms). What it saves is the reference's
passes over ``(days, paths)`` arrays, eight numpy calls a cohort. Compiled with ``cache=True`` and ``nogil``,
no ``fastmath`` (no contraction of ``a × b + c``); importing this module imports numba.
"""
from __future__ import annotations

from numba import njit

from simulator import numba_cache

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True)
def installed_value(hashrate_ths, frontier_usd_per_th, penalty_usd_per_th, floor_usd_per_th, installed_units,
                    value_usd, ths):
    """:func:`simulator.fleet.installed_value` into ``value_usd`` and ``ths`` ``(n, paths)``, from the index's terms
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
            ths[j, i] = ths_c + 0.0
        for c in range(1, cohorts):
            h = hashrate_ths[c]
            penalty = penalty_usd_per_th[c]
            for i in range(paths):
                row, floor = frontier_usd_per_th[j, i] - penalty, floor_usd_per_th[j, i]
                index = row if (row >= floor or row != row) else floor
                ths_c = installed_units[j, c, i] * h
                value_usd[j, i] += ths_c * index
                ths[j, i] += ths_c
