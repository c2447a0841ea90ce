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
#: Indices of the ``flows`` tuple (``(paths,)`` arrays, the masked day's flows and two ledger inputs).
(PRICE, MINED, MINING_REV, HOSTING_REV, POWER, POWER_CREDIT, DR_CREDIT, TRANSMISSION, HOSTING_POWER, HOSTING_COST,
 SITE_OPEX, REPAIR, RESALE, HPC_POWER, HPC_OPEX, SITE_OPEX_HPC, MW_HOSTING, MW_HPC, EXPANSION, PRICE_BEFORE,
 PLEDGED) = range(21)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def maximum(a, b):
    """``np.maximum(a, b)`` of two floats: ``a`` if it is NaN or larger, else ``b`` (ties give ``b``)."""
    if a > b or a != a:
        return a
    return b


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def minimum(a, b):
    """``np.minimum(a, b)`` of two floats: ``a`` if it is NaN or smaller, else ``b`` (ties give ``b``)."""
    if a < b or a != a:
        return a
    return b


@njit(cache=True, nogil=True, error_model="numpy")
def rows_sum(x):
    """``x.sum(axis=0)`` of a ``(rows, paths ≥ 2)`` array: ``((0.0 + x₀) + x₁) + …`` per column."""
    out = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for p in range(x.shape[1]):
            out[p] = out[p] + x[i, p]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _any(x):
    """``x.any()`` of a float array (NaN counts as nonzero)."""
    for v in x.ravel():
        if v != 0.0:
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def _hpc(rev, prepay, ended, deferred, deferred_out, hpc_revenue, hpc_cash):
    """``Ledger._hpc_revenue``: the projects' deferred revenue into ``deferred_out``; the day's recognised
    revenue and cash into ``hpc_revenue`` and ``hpc_cash`` (sums over projects from +0.0)."""
    paths = hpc_revenue.shape[0]
    for p in range(paths):
        hpc_revenue[p] = 0.0
        hpc_cash[p] = 0.0
    for j in range(rev.shape[0]):
        for p in range(paths):
            d = deferred[j, p] + prepay[j, p]
            used = minimum(d, rev[j, p])
            kept = d - used if ended[j, p] else 0.0
            deferred_out[j, p] = (d - used) - kept
            hpc_revenue[p] = hpc_revenue[p] + (rev[j, p] + kept)
            hpc_cash[p] = hpc_cash[p] + ((rev[j, p] - used) + prepay[j, p])


@njit(cache=True, nogil=True, error_model="numpy")
def _machines(retired, lost, delivered, purchase, units, cost, units_out, cost_out, fraction_day, fraction_next,
              start_day, day):
    """``Ledger._book_assets``' machines: write-offs, units and unit costs, depreciation, purchase capex.
    Returns ``(removed, depreciation, purchase capex, status)``; ``units_out``/``cost_out`` hold the new
    arrays where the status says they changed (the numpy form keeps the same objects otherwise)."""
    cohorts, paths = units.shape
    removed, status = np.zeros(paths), 0
    leaving = np.empty((cohorts, paths))
    for c in range(cohorts):
        for p in range(paths):
            leaving[c, p] = retired[c, p] + lost[c, p]
    if _any(leaving):
        for c in range(cohorts):
            phi = fraction_day[c, 0]
            for p in range(paths):
                removed[p] = removed[p] + minimum(leaving[c, p], units[c, p]) * (cost[c, p] * phi)
                units_out[c, p] = maximum(units[c, p] - leaving[c, p], 0.0)
        units, status = units_out, UNITS_CHANGED
    any_delivered = False
    for c in range(cohorts):
        for p in range(paths):
            any_delivered = any_delivered or delivered[c, p] > 0
    if any_delivered:
        for c in range(cohorts):
            for p in range(paths):
                n = delivered[c, p]
                cost_out[c, p] = purchase[c, p] / n if n > 0 else cost[c, p]
                units_out[c, p] = units[c, p] + n
        units, cost, status = units_out, cost_out, status | UNITS_CHANGED | COST_CHANGED
    depreciation = np.zeros(paths)
    for c in range(cohorts):
        phi, phi_next, waiting = fraction_day[c, 0], fraction_next[c, 0], not day >= start_day[c, 0]
        for p in range(paths):
            charge = 0.0 if waiting else cost[c, p] * phi - cost[c, p] * phi_next
            depreciation[p] = depreciation[p] + units[c, p] * charge
    return removed, depreciation, rows_sum(purchase), status


@njit(cache=True, nogil=True, error_model="numpy")
def _pools(book, base, in_progress, spent, change, active, has_change, life_days, new_month, alive, pools_out, dep):
    """``AssetPool.step`` of every pool into ``dep`` (one row each; an inactive pool charges +0.0 and keeps its
    state) and the active pools' new book, base and construction in progress into rows ``3k … 3k + 2``."""
    for k in range(len(book)):
        if not active[k]:
            for p in range(dep.shape[1]):
                dep[k, p] = 0.0
            continue
        b, bs, ip, s, ch = book[k], base[k], in_progress[k], spent[k], change[k]
        life, plus_change = life_days[k], has_change[k]
        for p in range(dep.shape[1]):
            bk, bb, cip = b[p], bs[p], ip[p]
            if new_month:  # last month's construction into service
                bk, bb, cip = bk + cip, bb + cip, 0.0
            cip = cip + s[p]
            bb = bb + (ch[p] if plus_change else 0.0)
            charge = minimum(bb / life, bk) * (1.0 if alive[p] else 0.0)
            dep[k, p] = charge
            pools_out[3 * k, p], pools_out[3 * k + 1, p], pools_out[3 * k + 2, p] = bk - charge, bb, cip


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _book(month, total, line, p, amount):
    month[line, p] = month[line, p] + amount
    total[line, p] = total[line, p] + amount


@njit(cache=True, nogil=True, error_model="numpy")
def book_day(flows, alive, state, out, cohorts, units_out, cost_out, fractions, hpc, deferred_out, pools, pools_out,
             month, total, lines_at, rings, scalars, flags):
    """The day of ``Ledger.book_operations`` for every path; returns the status bits.

    ``flows``: the ``(paths,)`` arrays named by this module's indices; ``state``: cash, treasury BTC,
    equity, the month's BTC; ``out``: ``(OUT_ROWS, paths)`` for the new state; ``cohorts``: retired,
    lost, delivered units, purchase capex, units, unit cost ``(cohorts, paths)``; ``fractions``: the
    remaining fractions on ``day`` and ``day + 1`` and the start days ``(cohorts, 1)``; ``hpc``: revenue,
    prepayment, lease ended, building and GPU capex, deferred revenue ``(projects, paths)``; ``pools``:
    book, base, in progress, spent, change (tuples of ``(paths,)``), active, has change, life days;
    ``month``/``total``: the LineBook's sums, ``lines_at`` their rows for :data:`BOOKED_LINES`;
    ``rings``: the dcf's run-rate rows to write (variable, other, fixed); ``scalars``: SG&A a day, BTC
    receivable, sell fraction, day; ``flags``: shares by revenue, dcf, new month.
    """
    f = flows
    sga_day, receivable, sell_fraction, day = scalars[0], scalars[1], scalars[2], scalars[3]
    by_revenue, dcf, new_month = flags[0], flags[1], flags[2]
    paths = alive.shape[0]
    hpc_revenue, hpc_cash = np.empty(paths), np.empty(paths)
    _hpc(hpc[0], hpc[1], hpc[2], hpc[5], deferred_out, hpc_revenue, hpc_cash)
    removed, machine_dep, purchase_capex, status = _machines(
        cohorts[0], cohorts[1], cohorts[2], cohorts[3], cohorts[4], cohorts[5], units_out, cost_out,
        fractions[0], fractions[1], fractions[2], day)
    dep = np.empty((len(pools[0]), paths))
    _pools(pools[0], pools[1], pools[2], pools[3], pools[4], pools[5], pools[6], pools[7], new_month, alive,
           pools_out, dep)
    building_capex, gpu_capex = rows_sum(hpc[3]), rows_sum(hpc[4])
    if by_revenue and (_any(f[HOSTING_REV]) or _any(hpc_revenue)):
        status |= SEGMENT_SHARES
    for p in range(paths):
        _operations_path(f, alive[p], state, out, p, hpc_revenue[p], hpc_cash[p], removed[p], machine_dep[p],
                         purchase_capex[p], building_capex[p], gpu_capex[p], dep, month, total, lines_at, rings,
                         sga_day, receivable, sell_fraction, status & SEGMENT_SHARES != 0, dcf)
    return status


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _operations_path(f, alive, state, out, p, hpc_revenue, hpc_cash, removed, machine_dep, purchase_capex,
                     building_capex, gpu_capex, dep, month, total, at, rings, sga_day, receivable, sell_fraction,
                     shares, dcf):
    """Path ``p`` of :func:`book_day`: every line and state update in the numpy form's order."""
    cash, treasury, equity, mined, sga = _income_path(f, alive, state, out, p, hpc_revenue, hpc_cash, month, total,
                                                      at, rings, sga_day, receivable, shares, dcf)
    # _book_assets
    resale = f[RESALE][p]
    impairment = removed - resale
    site_dep = dep[0, p]
    depreciation = machine_dep + site_dep
    hosting_dep = site_dep * f[MW_HOSTING][p]
    hpc_assets_dep = 0.0
    for j in range(1, dep.shape[0], 2):  # each project's building, then its GPUs
        hpc_assets_dep = (hpc_assets_dep + dep[j, p]) + dep[j + 1, p]
    depreciation = depreciation + hpc_assets_dep
    hpc_depreciation = hpc_assets_dep + site_dep * f[MW_HPC][p]
    _book(month, total, at[12], p, hpc_depreciation)
    _book(month, total, at[13], p, hosting_dep)
    _book(month, total, at[14], p, (depreciation - hpc_depreciation) - hosting_dep)
    capex = ((purchase_capex + f[EXPANSION][p]) + building_capex) + gpu_capex
    cash = (cash - capex) + resale
    equity = (equity - impairment) - depreciation
    _book(month, total, at[15], p, impairment)
    _book(month, total, at[16], p, depreciation)
    _book(month, total, at[17], p, capex)
    _book(month, total, at[18], p, resale)
    # _sell_btc: a share of today's production at the day's close
    sold = minimum(sell_fraction * mined, treasury)
    proceeds = sold * f[PRICE][p]
    out[TREASURY, p] = treasury - sold
    out[CASH, p] = cash + proceeds
    out[EQUITY, p] = equity
    _book(month, total, at[19], p, sold)
    _book(month, total, at[20], p, proceeds)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _income_path(f, alive, state, out, p, hpc_revenue, hpc_cash, month, total, at, rings, sga_day, receivable,
                 shares, dcf):
    """The fair-value gain, revenue, costs and EBITDA lines of path ``p``; returns its cash, treasury BTC,
    equity, BTC mined and SG&A after them."""
    price = f[PRICE][p]
    gain = ((state[1][p] + f[PLEDGED][p]) + receivable) * (price - f[PRICE_BEFORE][p])
    _book(month, total, at[0], p, gain)
    equity = state[2][p] + gain
    mining_cost = (((((((f[POWER][p] - f[POWER_CREDIT][p]) - f[DR_CREDIT][p]) + f[TRANSMISSION][p])
                      + f[HOSTING_POWER][p]) + f[HOSTING_COST][p]) + f[SITE_OPEX][p]) + f[REPAIR][p])
    hpc_cost = (f[HPC_POWER][p] + f[HPC_OPEX][p]) + f[SITE_OPEX_HPC][p]
    mining_cost = mining_cost - f[SITE_OPEX_HPC][p]
    cost_of_revenue = mining_cost + hpc_cost
    sga = sga_day * (1.0 if alive else 0.0)
    mining_rev, hosting_rev = f[MINING_REV][p], f[HOSTING_REV][p]
    revenue = (mining_rev + hosting_rev) + hpc_revenue
    ebitda = (revenue - cost_of_revenue) - sga
    out[EBITDA, p] = ebitda
    if shares:  # segments.revenue_shares
        m, h, c = maximum(mining_rev, 0.0), maximum(hosting_rev, 0.0), maximum(hpc_revenue, 0.0)
        whole = (m + h) + c
        h_share = h / whole if whole > 0 else 0.0
        c_share = c / whole if whole > 0 else 0.0
        m_share = (1.0 - h_share) - c_share
        out[SHARE_MINING, p], out[SHARE_HOSTING, p], out[SHARE_HPC, p] = m_share, h_share, c_share
        _book(month, total, at[1], p, sga * m_share)
        _book(month, total, at[2], p, sga * h_share)
        _book(month, total, at[3], p, sga * c_share)
    else:
        _book(month, total, at[1], p, sga)
    cash_revenue = hosting_rev + hpc_cash
    _book(month, total, at[4], p, revenue)
    _book(month, total, at[5], p, cost_of_revenue)
    _book(month, total, at[6], p, sga)
    _book(month, total, at[7], p, ebitda)
    _book(month, total, at[8], p, cash_revenue)
    _book(month, total, at[9], p, (mining_rev + hosting_rev) - mining_cost)
    _book(month, total, at[10], p, hpc_revenue - hpc_cost)
    _book(month, total, at[11], p, hpc_revenue)
    cash = ((state[0][p] + cash_revenue) - cost_of_revenue) - sga
    mined = f[MINED][p]
    out[MONTH_BTC, p] = state[3][p] + mined
    if dcf:  # the dcf's run rates (the BTC mined is pushed by the caller)
        rings[0][p] = (((f[POWER][p] - f[POWER_CREDIT][p]) + f[HOSTING_POWER][p]) + f[HOSTING_COST][p]) + f[REPAIR][p]
        rings[1][p] = (hosting_rev + f[DR_CREDIT][p]) - f[TRANSMISSION][p]
        rings[2][p] = f[SITE_OPEX][p] + sga
    return cash, state[1][p] + mined, equity + ebitda, mined, sga
