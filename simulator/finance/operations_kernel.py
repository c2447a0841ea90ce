"""The ledger's operating day, compiled: :meth:`simulator.finance.ledger.Ledger.book_operations` for all
paths in one call.

The numpy form in :mod:`simulator.finance.ledger` (``book_operations``, ``_hpc_revenue``,
``_book_assets``, ``_book_segments``, ``AssetPool.step``, ``_sell_btc``) stays the definition; this
module runs its arithmetic element by element, with the same IEEE operations on the same operands in
the same order (tests/test_operations_kernel.py compares every output bit for bit). Per path, in USD
unless named:

* fair-value gain ``g = ((T + B_pledged) + B_recv)(P_t − P_{t−1})``; costs
  ``m = ((((((p − c) − d) + x) + h) + f) + o) + r − o_hpc``, ``k = (p_hpc + o_hpc') + o_hpc``,
  cost of revenue ``m + k``; SG&A ``s/365 × alive``;
* HPC (per project j, in project order): ``D ← D + prepay``, ``used = min(D, rev)``,
  ``kept = D − used`` where the lease ends (else 0), ``D ← (D − used) − kept``; revenue
  ``Σ_j (rev + kept)`` and cash ``Σ_j ((rev − used) + prepay)``;
* machines (per cohort c): leavers ``Σ_c min(ℓ, n) × (u × φ_day)`` written off, ``n ← max(n − ℓ, 0)``;
  deliveries ``u ← capex/delivered``, ``n ← n + delivered``; depreciation
  ``Σ_c n × (u φ_day − u φ_{day+1})`` (0 for a cohort not yet in service);
* asset pools: ``B, base ← + CIP`` on a new month, ``CIP ← 0 + spent``, ``base ← base + change``,
  ``charge = min(base/life, B) × alive``, ``B ← B − charge``;
* segment shares of SG&A ``max(x, 0)/Σ max(·, 0)`` (revenue share) and the sites' MW shares;
  the treasury sells ``min(f × mined, T)`` at the day's close.

Rules that keep the bits: a sum over cohorts or projects starts at ``+0.0`` and adds rows from the
first (numpy 2's ``sum(axis=0)`` of a C-ordered ``(rows, ≥ 2 columns)`` array; its result is never
``−0.0``); ``a + b + c`` is ``(a + b) + c``; :func:`maximum` and :func:`minimum` are numpy's
(measured on this machine, scalar and SIMD loops alike: a NaN first operand is returned, else the
larger/smaller one, and on a tie, ``max(−0.0, +0.0)`` included, the SECOND operand); a branch the
numpy form takes on ``any()`` of a whole array is taken here on the same test. No ``exp``, ``log``
or ``pow`` (numba's are the C library's, not numpy's AVX-512 ones): the day's log return stays in
numpy. Compiled with ``cache=True``, ``nogil``, ``error_model="numpy"`` (a division by zero gives
±inf or NaN as numpy's does), without ``fastmath`` (no fused multiply-adds, no reassociation), never
``parallel`` (worker processes fork). Importing this module imports numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import numba_cache
from simulator.kernel_math import maximum, minimum, rows_sum_into

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

#: Rows of ``lines_at`` (the ledger's flow-line indices) in the order this module books them.
BOOKED_LINES = ("btc_fair_value_gain_usd", "sga_mining_usd", "sga_hosting_usd", "sga_hpc_usd", "revenue_usd",
                "cost_of_revenue_usd", "sga_usd", "ebitda_usd", "cash_revenue_usd", "ebitda_mining_usd",
                "ebitda_hpc_usd", "hpc_revenue_recognised_usd", "hpc_depreciation_usd", "depreciation_hosting_usd",
                "depreciation_mining_usd", "impairment_usd", "depreciation_usd", "capex_usd", "resale_proceeds_usd",
                "btc_sold", "btc_sales_usd")
#: Rows of the ``out`` block: the ledger's new day state and what the close reads.
CASH, TREASURY, EQUITY, MONTH_BTC, EBITDA, SHARE_MINING, SHARE_HOSTING, SHARE_HPC = range(8)
OUT_ROWS = 8
#: Bits of the returned status.
UNITS_CHANGED, COST_CHANGED, SEGMENT_SHARES = 1, 2, 4
#: Bits of ``zero_tables``: the retired units, the delivered units, the purchase capex are +0.0.
NO_RETIRED, NO_DELIVERIES, NO_PURCHASES = 1, 2, 4
#: Rows of the ``rows`` table ``(ROWS, paths)``: the masked day's flows, then the ledger's inputs (the
#: previous close's BTC price, the pledged BTC, cash, treasury BTC, equity and the month's BTC so far).
(PRICE, MINED, MINING_REV, HOSTING_REV, POWER, POWER_CREDIT, DR_CREDIT, TRANSMISSION, HOSTING_POWER, HOSTING_COST,
 SITE_OPEX, REPAIR, RESALE, HPC_POWER, HPC_OPEX, SITE_OPEX_HPC, MW_HOSTING, MW_HPC, EXPANSION, PRICE_BEFORE,
 PLEDGED, CASH_BEFORE, TREASURY_BEFORE, EQUITY_BEFORE, MONTH_BTC_BEFORE) = range(25)
ROWS = 25
#: The rows of ``rows`` read from the block's flows by day index (:func:`book_day`'s ``block``, one ``(n, paths)``
#: array each, in this order): every flow row but the resale value (the day's trades').
BLOCK_ROWS = tuple(r for r in range(PRICE_BEFORE) if r != RESALE)
#: Where ``block`` holds the HPC projects' revenue, prepayment, building and GPU capex (``hpc``'s four rows), after
#: :data:`BLOCK_ROWS`: each the block's ``(n, projects, paths)`` field as ``(n·projects, paths)`` rows.
BLOCK_HPC = len(BLOCK_ROWS)


@njit(cache=True, nogil=True, error_model="numpy")
def rows_sum(x):
    """``x.sum(axis=0)`` of a ``(rows, paths ≥ 2)`` array (:func:`simulator.kernel_math.rows_sum_into`), a new row."""
    out = np.empty(x.shape[1])
    rows_sum_into(x, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _any(x):
    """``x.any()`` of a float array (NaN counts as nonzero)."""
    for v in x.ravel():
        if v != 0.0:
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def trailing_vol_update(x, window_row, mean, m2, n):
    """``TrailingVol.push``'s running update (:class:`simulator.finance.structural.TrailingVol`): the log return
    ``x`` replaces the window's oldest ``y`` (``window_row``, overwritten); the mean ``x̄`` becomes
    ``x̄' = x̄ + (x − y)/n`` and ``M₂`` becomes ``M₂ + (x − y)(((x − x̄') + y) − x̄)``, per path, in place."""
    for p in range(x.shape[0]):
        y, mean_before = window_row[p], mean[p]
        change = x[p] - y
        mean[p] = mean_before + change / n
        m2[p] = m2[p] + change * (((x[p] - mean[p]) + y) - mean_before)
        window_row[p] = x[p]


@njit(cache=True, nogil=True, error_model="numpy")
def _hpc(rev, prepay, ended, ended_at, deferred, deferred_out, hpc_revenue, hpc_cash):
    """``Ledger._hpc_revenue``: the projects' deferred revenue into ``deferred_out``; the day's recognised
    revenue and cash into ``hpc_revenue`` and ``hpc_cash`` (sums over projects from +0.0). Project ``j``'s lease-ended
    flags are row ``ended_at + j`` of ``ended``."""
    paths = hpc_revenue.shape[0]
    for p in range(paths):
        hpc_revenue[p] = 0.0
        hpc_cash[p] = 0.0
    for j in range(rev.shape[0]):
        for p in range(paths):
            d = deferred[j, p] + prepay[j, p]
            used = minimum(d, rev[j, p])
            kept = d - used if ended[ended_at + j, p] else 0.0
            deferred_out[j, p] = (d - used) - kept
            hpc_revenue[p] = hpc_revenue[p] + (rev[j, p] + kept)
            hpc_cash[p] = hpc_cash[p] + ((rev[j, p] - used) + prepay[j, p])


@njit(cache=True, nogil=True, error_model="numpy")
def _any_leaving(retired, lost, lost_mask, mask_lost, no_retired):
    """``(retired + lost).any()`` (NaN counts as nonzero), the sums taken one by one, not stored (the units lost
    ``lost × lost_mask`` where ``mask_lost``: :func:`_lost`)."""
    for c in range(lost.shape[0]):
        for p in range(lost.shape[1]):
            if (0.0 if no_retired else retired[c, p]) + _lost(lost, lost_mask, mask_lost, c, p) != 0.0:
                return True
    return False


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _lost(lost, lost_mask, mask_lost, c, p):
    """Cohort ``c``'s units lost on path ``p``: ``lost × lost_mask`` (the alive mask as 1.0 and 0.0: numpy's product,
    element by element) where ``mask_lost``, else as they are."""
    return lost[c, p] * lost_mask[p] if mask_lost else lost[c, p]


@njit(cache=True, nogil=True, error_model="numpy")
def _any_delivered(delivered):
    """Whether a path takes a delivery (``(delivered > 0).any()``)."""
    for c in range(delivered.shape[0]):
        for p in range(delivered.shape[1]):
            if delivered[c, p] > 0:
                return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def _machines(retired, lost, delivered, purchase, units, cost, units_out, cost_out, fraction_day, fraction_next,
              start_day, day, lost_mask, mask_lost, zero_tables):
    """``Ledger._book_assets``' machines: write-offs, units and unit costs, depreciation, purchase capex.
    Returns ``(removed, depreciation, purchase capex, status)``; ``units_out``/``cost_out`` hold the new
    arrays where the status says they changed (the numpy form keeps the same objects otherwise).
    ``zero_tables``' bits (:data:`NO_RETIRED`, :data:`NO_DELIVERIES`, :data:`NO_PURCHASES`) say which tables
    are the caller's table of +0.0, whose test and sum are known without reading it (the retired units read
    as +0.0: the same additions). The units lost are ``lost × lost_mask`` where ``mask_lost`` (:func:`_lost`). The leavers ``retired + lost`` are summed as they are used, not stored. On a
    day without deliveries the write-offs and the depreciation of the units left are taken in one pass over the
    cohorts (the units and costs read once; every sum adds its terms in the numpy form's order)."""
    cohorts, paths = units.shape
    removed, depreciation, status = np.zeros(paths), np.zeros(paths), 0
    no_retired = zero_tables & NO_RETIRED != 0  # (then +0.0 stands for the table's every element)
    leaving_any = _any_leaving(retired, lost, lost_mask, mask_lost, no_retired)
    any_delivered = not zero_tables & NO_DELIVERIES and _any_delivered(delivered)  # (+0.0 > 0 nowhere)
    if not any_delivered:  # the write-offs and the depreciation in one pass (each sum's terms in the same order)
        for c in range(cohorts):
            phi, phi_next, waiting = fraction_day[c, 0], fraction_next[c, 0], not day >= start_day[c, 0]
            if leaving_any:
                for p in range(paths):
                    leaving = (0.0 if no_retired else retired[c, p]) + _lost(lost, lost_mask, mask_lost, c, p)
                    removed[p] = removed[p] + minimum(leaving, units[c, p]) * (cost[c, p] * phi)
                    n = maximum(units[c, p] - leaving, 0.0)
                    units_out[c, p] = n
                    charge = 0.0 if waiting else cost[c, p] * phi - cost[c, p] * phi_next
                    depreciation[p] = depreciation[p] + n * charge
            else:
                for p in range(paths):
                    charge = 0.0 if waiting else cost[c, p] * phi - cost[c, p] * phi_next
                    depreciation[p] = depreciation[p] + units[c, p] * charge
        status = UNITS_CHANGED if leaving_any else 0
    else:
        if leaving_any:
            for c in range(cohorts):
                phi = fraction_day[c, 0]
                for p in range(paths):
                    leaving = (0.0 if no_retired else retired[c, p]) + _lost(lost, lost_mask, mask_lost, c, p)
                    removed[p] = removed[p] + minimum(leaving, units[c, p]) * (cost[c, p] * phi)
                    units_out[c, p] = maximum(units[c, p] - leaving, 0.0)
            units = units_out
        for c in range(cohorts):
            for p in range(paths):
                n = delivered[c, p]
                cost_out[c, p] = purchase[c, p] / n if n > 0 else cost[c, p]
                units_out[c, p] = units[c, p] + n
        units, cost, status = units_out, cost_out, UNITS_CHANGED | COST_CHANGED
        for c in range(cohorts):
            phi, phi_next, waiting = fraction_day[c, 0], fraction_next[c, 0], not day >= start_day[c, 0]
            for p in range(paths):
                charge = 0.0 if waiting else cost[c, p] * phi - cost[c, p] * phi_next
                depreciation[p] = depreciation[p] + units[c, p] * charge
    # (rows of +0.0 summed from +0.0 give +0.0)
    return removed, depreciation, np.zeros(paths) if zero_tables & NO_PURCHASES else rows_sum(purchase), status


@njit(cache=True, nogil=True, error_model="numpy")
def _pools(pools, active, has_change, life_days, new_month, alive, dep, expansion, hpc):
    """``AssetPool.step`` of every pool into ``dep`` (one row each; an inactive pool charges +0.0 and keeps its
    state) and the active pools' new book, base and construction in progress in place of the old ones.
    ``pools``: ``(4, pools, paths)``: book, base, in progress, base change due today; the day's spending read
    where the day's rows hold it: the sites' expansion capex ``expansion``, each project's building and GPU capex
    rows of ``hpc`` (:func:`book_day`'s; the pools are the sites, then each project's building and GPUs)."""
    for k in range(pools.shape[1]):
        if not active[k]:
            for p in range(dep.shape[1]):
                dep[k, p] = 0.0
            continue
        life, plus_change = life_days[k], has_change[k]
        spent = expansion if k == 0 else hpc[2 + (k - 1) % 2, (k - 1) // 2]
        for p in range(dep.shape[1]):
            bk, bb, cip = pools[0, k, p], pools[1, k, p], pools[2, k, p]
            if new_month:  # last month's construction into service
                bk, bb, cip = bk + cip, bb + cip, 0.0
            cip = cip + spent[p]
            bb = bb + (pools[3, k, p] if plus_change else 0.0)
            charge = minimum(bb / life, bk) * (1.0 if alive[p] else 0.0)
            dep[k, p] = charge
            pools[0, k, p], pools[1, k, p], pools[2, k, p] = bk - charge, bb, cip


@njit(cache=True, nogil=True, error_model="numpy")
def masked_from(x, j, mask):
    """:meth:`simulator.block.OpsBlock._masked_from` of a C-ordered float block field ``x`` ``(n, paths)`` and the alive
    mask as 1.0 and 0.0 ``mask`` ``(paths,)``: ``(False, an empty table)`` where ``x`` is ±0.0 on every day from ``j``
    (NaN is nonzero: numpy's ``any()``), else ``(True, out)``: a new table, the rows before ``j`` copied and the others
    ``x × mask`` (numpy's product, element by element)."""
    n, paths = x.shape
    nonzero = 0
    for d in range(j, n):  # (a day's count, vectorised, then the test)
        for p in range(paths):
            nonzero += x[d, p] != 0.0
        if nonzero:
            break
    if not nonzero:
        return False, np.empty((0, 0))
    out = np.empty((n, paths))
    for d in range(j):
        for p in range(paths):
            out[d, p] = x[d, p]
    for d in range(j, n):
        for p in range(paths):
            out[d, p] = x[d, p] * mask[p]
    return True, out


@njit(cache=True, nogil=True, error_model="numpy")
def masked_days_from(x, j, mask):
    """:meth:`simulator.block.OpsBlock._masked_from` of a block's per-day amount ``x`` ``(n,)`` (each day's the same on
    every path) and the alive mask as 1.0 and 0.0 ``mask`` ``(paths,)``: ``(False, an empty table)`` where ``x`` is ±0.0
    on every day from ``j`` (NaN is nonzero: numpy's ``any()``), else ``(True, out)``: a new ``(n, paths)`` table, day
    ``d``'s row ``x[d]`` on every path before ``j`` and ``x[d] × mask`` from ``j`` (numpy's product of ``x`` broadcast to
    the paths, element by element)."""
    n, paths = x.shape[0], mask.shape[0]
    nonzero = False
    for d in range(j, n):
        if x[d] != 0.0:
            nonzero = True
            break
    if not nonzero:
        return False, np.empty((0, 0))
    out = np.empty((n, paths))
    for d in range(j):
        for p in range(paths):
            out[d, p] = x[d]
    for d in range(j, n):
        for p in range(paths):
            out[d, p] = x[d] * mask[p]
    return True, out


@njit(cache=True, nogil=True, error_model="numpy")
def _day_rows(block, j, rows, hpc):
    """Day ``j`` of the block's flow rows (``block``: :data:`BLOCK_ROWS`' arrays ``(n, paths)``) copied into ``rows``,
    and of its HPC rows (``block[BLOCK_HPC:]``, ``(n·projects, paths)``) into ``hpc`` ``(4, projects, paths)``."""
    for k in range(BLOCK_HPC):
        r = k if k < RESALE else k + 1
        src = block[k]
        for p in range(rows.shape[1]):
            rows[r, p] = src[j, p]
    projects = hpc.shape[1]
    for q in range(4):
        src = block[BLOCK_HPC + q]
        for k in range(projects):
            for p in range(rows.shape[1]):
                hpc[q, k, p] = src[j * projects + k, p]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ledger_rows(rows, price_before, pledged, cash, treasury, equity, month_btc):
    """The ledger's rows of ``rows``: the previous close's price, the BTC pledged (``0.0 + x``: the floats of
    ``Ledger.pledged_btc``'s sum from +0.0), cash, treasury BTC, equity and the month's BTC so far."""
    for p in range(rows.shape[1]):
        rows[PRICE_BEFORE, p], rows[PLEDGED, p], rows[CASH_BEFORE, p] = price_before[p], 0.0 + pledged[p], cash[p]
        rows[TREASURY_BEFORE, p], rows[EQUITY_BEFORE, p], rows[MONTH_BTC_BEFORE, p] = treasury[p], equity[p], month_btc[p]


@njit(cache=True, nogil=True, error_model="numpy")
def book_day(rows, block, j, alive, out, retired, lost, delivered, purchase, units, cost, units_out, cost_out, fraction_day,
             fraction_next, start_day, hpc, ended, ended_at, deferred, deferred_out, pools, pool_flags, life_days, month,
             total, lines_at, amounts, rings, scalars, price_before, pledged, cash, treasury, equity, month_btc,
             log_return, vol_row, vol_mean, vol_m2, vol_update, day, by_revenue, dcf, new_month, lost_mask, mask_lost,
             zero_tables):
    """The day of ``Ledger.book_operations`` for every path; returns the status bits.

    ``rows``: ``(ROWS, paths)`` (this module's row names), of which :data:`BLOCK_ROWS` are first copied from day
    ``j`` of the block's flows ``block`` where ``j ≥ 0`` (else ``rows`` holds them already), and the ledger's rows
    from ``price_before`` … ``month_btc`` (:func:`_ledger_rows`); ``out``: ``(OUT_ROWS, paths)`` for the
    new state; the day's retired, lost and
    delivered units, purchase capex, the units and their unit cost ``(cohorts, paths)``; the remaining
    fractions on ``day`` and ``day + 1`` and the start days ``(cohorts, 1)``;
    ``hpc``: ``(4, projects, paths)`` revenue, prepayment, building and GPU capex (copied from ``block`` where
    ``j ≥ 0``, :func:`_day_rows`); ``ended``: the projects' lease-ended flags from row ``ended_at``; ``deferred``
    ``(projects, paths)``; ``pools``: ``(4, pools, paths)`` (:func:`_pools`: an active pool's new state written
    over its first three rows; its spending read from ``rows`` and ``hpc``), ``pool_flags`` ``(2 pools,)``
    active, then has a change; ``month``/``total``: the LineBook's sums, ``lines_at`` their rows for
    :data:`BOOKED_LINES`, ``amounts`` ``(len(BOOKED_LINES), paths)`` scratch for the day's amounts; ``rings``: the dcf's run-rate rows to write (variable, other, fixed);
    ``scalars``: SG&A a day, BTC receivable, sell fraction, the volatility's window [days];
    ``by_revenue``: SG&A by revenue shares;
    ``lost_mask``, ``mask_lost``: the alive mask as 1.0 and 0.0 ``(paths,)`` the units lost are multiplied by as
    they are read, and whether they are (:func:`_lost`; the caller's flows hold them unmasked);
    ``zero_tables``: which cohort tables are all +0.0 (:func:`_machines`; 0: read them all); with ``vol_update``,
    the trailing volatility's running update of the day's ``log_return`` (:func:`trailing_vol_update` of the window's
    row ``vol_row``, mean ``vol_mean`` and ``M₂`` ``vol_m2``, in place, over the window of ``scalars[3]`` days;
    ``TrailingVol.update_row``).
    """
    paths, n_pools = alive.shape[0], pools.shape[1]
    if vol_update:
        trailing_vol_update(log_return, vol_row, vol_mean, vol_m2, scalars[3])
    if j >= 0:
        _day_rows(block, j, rows, hpc)
    _ledger_rows(rows, price_before, pledged, cash, treasury, equity, month_btc)
    hpc_revenue, hpc_cash = np.empty(paths), np.empty(paths)
    _hpc(hpc[0], hpc[1], ended, ended_at, deferred, deferred_out, hpc_revenue, hpc_cash)
    removed, machine_dep, purchase_capex, status = _machines(
        retired, lost, delivered, purchase, units, cost, units_out, cost_out,
        fraction_day, fraction_next, start_day, day, lost_mask, mask_lost, zero_tables)
    dep = np.empty((n_pools, paths))
    _pools(pools, pool_flags[:n_pools], pool_flags[n_pools:], life_days, new_month, alive, dep, rows[EXPANSION], hpc)
    if by_revenue and (_any(rows[HOSTING_REV]) or _any(hpc_revenue)):
        status |= SEGMENT_SHARES
    _income(rows, alive, out, hpc_revenue, hpc_cash, amounts, rings, scalars[0], scalars[1],
            status & SEGMENT_SHARES != 0, dcf)
    _assets(rows, out, removed, machine_dep, purchase_capex, rows_sum(hpc[2]), rows_sum(hpc[3]), dep, amounts,
            scalars[2])
    for k in range(len(BOOKED_LINES)):  # LineBook.book: month and total, each amount as it comes
        line = lines_at[k]
        for p in range(paths):
            month[line, p] = month[line, p] + amounts[k, p]
            total[line, p] = total[line, p] + amounts[k, p]
    return status


@njit(cache=True, nogil=True, error_model="numpy")
def _income(f, alive, out, hpc_revenue, hpc_cash, amounts, rings, sga_day, receivable, shares, dcf):
    """The fair-value gain, revenue, costs and EBITDA lines (``amounts`` rows 0–11); cash, treasury BTC
    and equity after them into ``out``; the month's BTC, EBITDA, segment shares and the dcf's run rates."""
    price, price_before, pledged, mined_btc = f[PRICE], f[PRICE_BEFORE], f[PLEDGED], f[MINED]
    power, credit, dr_credit, transmission = f[POWER], f[POWER_CREDIT], f[DR_CREDIT], f[TRANSMISSION]
    hosting_power, hosting_cost, site_opex, repair = f[HOSTING_POWER], f[HOSTING_COST], f[SITE_OPEX], f[REPAIR]
    hpc_power, hpc_opex, site_opex_hpc = f[HPC_POWER], f[HPC_OPEX], f[SITE_OPEX_HPC]
    mining_revenue, hosting_revenue = f[MINING_REV], f[HOSTING_REV]
    cash0, treasury0, equity0, month_btc = f[CASH_BEFORE], f[TREASURY_BEFORE], f[EQUITY_BEFORE], f[MONTH_BTC_BEFORE]
    variable, other, fixed = rings[0], rings[1], rings[2]
    for p in range(alive.shape[0]):
        gain = ((treasury0[p] + pledged[p]) + receivable) * (price[p] - price_before[p])
        mining_cost = (((((((power[p] - credit[p]) - dr_credit[p]) + transmission[p]) + hosting_power[p])
                         + hosting_cost[p]) + site_opex[p]) + repair[p])
        hpc_cost = (hpc_power[p] + hpc_opex[p]) + site_opex_hpc[p]
        mining_cost = mining_cost - site_opex_hpc[p]
        cost_of_revenue = mining_cost + hpc_cost
        sga = sga_day * (1.0 if alive[p] else 0.0)
        mining_rev, hosting_rev, hpc_rev = mining_revenue[p], hosting_revenue[p], hpc_revenue[p]
        revenue = (mining_rev + hosting_rev) + hpc_rev
        ebitda = (revenue - cost_of_revenue) - sga
        if shares:  # segments.revenue_shares
            m, h, c = maximum(mining_rev, 0.0), maximum(hosting_rev, 0.0), maximum(hpc_rev, 0.0)
            whole = (m + h) + c
            h_share = h / whole if whole > 0 else 0.0
            c_share = c / whole if whole > 0 else 0.0
            m_share = (1.0 - h_share) - c_share
            out[SHARE_MINING, p], out[SHARE_HOSTING, p], out[SHARE_HPC, p] = m_share, h_share, c_share
            amounts[1, p], amounts[2, p], amounts[3, p] = sga * m_share, sga * h_share, sga * c_share
        else:  # all to mining (_book_segments books the one line; +0.0 added to a sum that is never −0.0)
            amounts[1, p], amounts[2, p], amounts[3, p] = sga, 0.0, 0.0
        cash_revenue = hosting_rev + hpc_cash[p]
        amounts[0, p], amounts[4, p], amounts[5, p], amounts[6, p] = gain, revenue, cost_of_revenue, sga
        amounts[7, p], amounts[8, p] = ebitda, cash_revenue
        amounts[9, p] = (mining_rev + hosting_rev) - mining_cost
        amounts[10, p], amounts[11, p] = hpc_rev - hpc_cost, hpc_rev
        mined = mined_btc[p]
        out[CASH, p] = ((cash0[p] + cash_revenue) - cost_of_revenue) - sga
        out[TREASURY, p] = treasury0[p] + mined
        out[EQUITY, p] = (equity0[p] + gain) + ebitda
        out[MONTH_BTC, p], out[EBITDA, p] = month_btc[p] + mined, ebitda
        if dcf:  # the dcf's run rates (the BTC mined is pushed by the caller)
            variable[p] = (((power[p] - credit[p]) + hosting_power[p]) + hosting_cost[p]) + repair[p]
            other[p] = (hosting_rev + dr_credit[p]) - transmission[p]
            fixed[p] = site_opex[p] + sga


@njit(cache=True, nogil=True, error_model="numpy")
def _assets(f, out, removed, machine_dep, purchase_capex, building_capex, gpu_capex, dep, amounts, sell_fraction):
    """``_book_assets``' depreciation split, impairment and capex, then ``_sell_btc`` of a share of the day's
    production at the close (``amounts`` rows 12–20); cash, treasury BTC and equity in ``out`` updated."""
    price, mined_btc, resale_usd = f[PRICE], f[MINED], f[RESALE]
    mw_hosting, mw_hpc, expansion = f[MW_HOSTING], f[MW_HPC], f[EXPANSION]
    for p in range(out.shape[1]):
        resale = resale_usd[p]
        impairment = removed[p] - resale
        site_dep = dep[0, p]
        depreciation = machine_dep[p] + site_dep
        hosting_dep = site_dep * mw_hosting[p]
        hpc_assets_dep = 0.0
        for j in range(1, dep.shape[0], 2):  # each project's building, then its GPUs
            hpc_assets_dep = (hpc_assets_dep + dep[j, p]) + dep[j + 1, p]
        depreciation = depreciation + hpc_assets_dep
        hpc_depreciation = hpc_assets_dep + site_dep * mw_hpc[p]
        capex = ((purchase_capex[p] + expansion[p]) + building_capex[p]) + gpu_capex[p]
        amounts[12, p], amounts[13, p] = hpc_depreciation, hosting_dep
        amounts[14, p] = (depreciation - hpc_depreciation) - hosting_dep
        amounts[15, p], amounts[16, p], amounts[17, p], amounts[18, p] = impairment, depreciation, capex, resale
        cash = (out[CASH, p] - capex) + resale
        out[EQUITY, p] = (out[EQUITY, p] - impairment) - depreciation
        treasury = out[TREASURY, p]
        sold = minimum(sell_fraction * mined_btc[p], treasury)
        proceeds = sold * price[p]
        out[TREASURY, p], out[CASH, p] = treasury - sold, cash + proceeds
        amounts[19, p], amounts[20, p] = sold, proceeds
