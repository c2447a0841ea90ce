"""The close's firm value, compiled: a contract's expected value and the NAV method's assets, one pass each.

Two numpy forms are the reference, and each pass here does their floating-point operations in the
same order on each path, so every number is theirs bit for bit (tests/test_firm_value_kernel.py):

* :meth:`simulator.finance.contracts.ContractValuer.value_usd`: project ``j``'s value on a path is
  ``PV(a)`` read from its tables at the path's age ``a`` in days once completed (0 once its lease has
  ended), else ``PV(0) (1 + ρ)^{−τ} − capex left``, with
  ``PV(a) = factor × revenue[a] − power price × power[a] − fixed[a]`` [USD]. The tables
  (:meth:`~simulator.finance.contracts.ContractValuer.pv_parts`, a year of ages at a time, with
  ``**``) and the discount ``(1 + ρ)^{−τ}`` stay numpy and Python; the gather and the arithmetic
  run here.
* :meth:`simulator.finance.ledger.Ledger._firm_value` for ``valuation.method: nav``: the assets
  ``V = cash + BTC held × price + carried assets − other liabilities − Σ deferred revenue
  + fleet market value + sites' value × (1 − HPC share) + Σ HPC projects`` and their BTC-linked
  part ``BTC held × price + operations`` [USD].

numpy's semantics written out: a sum over rows starts from +0.0 (numpy's ``add.reduce`` over axis 0
and Python's ``sum(…, np.zeros(paths))`` alike, so a ``−0.0`` row sums to ``+0.0``), a NaN completion
day compares False, and a division never raises (``error_model="numpy"``). Compiled with
``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); importing this module
imports numba, which :mod:`simulator.finance.contracts` does only once a run's closes pay for it
(:data:`simulator.finance.contracts.FIRM_VALUE_KERNEL`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import numba_cache
from simulator.kernel_math import clip, minimum

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True, error_model="numpy")
def contract_value(completed_day, ended, day, factor, unit_factor, power_price, revenue, power, fixed, final_from,
                   discount, build_left_usd, gpu_capex_usd, out):
    """One project's value on every path into ``out`` ``(paths,)`` [USD]; returns ``(done, max age)``.

    The path's age in days is ``day − completed day`` where completed (``completed_day ≤ day``; NaN:
    not yet), else 0. If the largest age is not below ``final_from`` (the tables' length, or a number
    past every age once they reach the end of the life) the tables are short: nothing is written and
    ``(False, max age)`` tells the caller to extend them and call again. ``unit_factor``: the lease rate
    factor is 1 (GPU cloud; ``1.0 × revenue`` as the numpy form multiplies it)."""
    paths = completed_day.shape[0]
    max_age = 0
    for p in range(paths):
        if completed_day[p] <= day:
            age = np.intp(day - completed_day[p])
            if age > max_age:
                max_age = age
    if not max_age < final_from:
        return False, max_age
    last = fixed.shape[0] - 1  # (the last entry: past the life, worth 0)
    for p in range(paths):
        done = completed_day[p] <= day
        age = min(np.intp(day - completed_day[p]), last) if done else 0
        f = 1.0 if unit_factor else factor[p]
        pv = f * revenue[age] - power_price[p] * power[age] - fixed[age]
        if done:
            out[p] = 0.0 if ended[p] else pv
        else:
            out[p] = pv * discount - build_left_usd - gpu_capex_usd
    return True, max_age


@njit(cache=True, nogil=True, error_model="numpy")
def nav_firm_value(cash_usd, treasury_btc, pledged_btc, receivable_btc, price_usd, carried_usd, other_liabilities_usd,
                   deferred_revenue_usd, fleet_market_value_usd, site_book_usd, site_in_progress_usd, site_hpc_share,
                   hpc_value_usd):
    """The NAV method's assets ``V`` and their BTC-linked part ``(paths,)`` each [USD] (module docstring):
    ``pledged_btc`` ``(BTC-backed books, paths)``, ``deferred_revenue_usd`` and ``hpc_value_usd``
    ``(projects, paths)`` (each project at its contract value or its book value), each summed from +0.0."""
    paths = cash_usd.shape[0]
    assets, linked = np.empty(paths), np.empty(paths)
    for p in range(paths):
        pledged = 0.0
        for i in range(pledged_btc.shape[0]):
            pledged += pledged_btc[i, p]
        btc_usd = (treasury_btc[p] + pledged + receivable_btc) * price_usd[p]
        deferred = 0.0
        for j in range(deferred_revenue_usd.shape[0]):
            deferred += deferred_revenue_usd[j, p]
        liquid = cash_usd[p] + btc_usd + carried_usd - other_liabilities_usd - deferred
        operations = fleet_market_value_usd[p] + (site_book_usd[p] + site_in_progress_usd[p]) * (1 - site_hpc_share[p])
        hpc = 0.0
        for j in range(hpc_value_usd.shape[0]):
            hpc += hpc_value_usd[j, p]
        assets[p] = liquid + operations + hpc
        linked[p] = btc_usd + operations
    return assets, linked


@njit(cache=True, nogil=True, error_model="numpy")
def convertible_strike(diluted, face, balance_usd, share_price_usd, conversion_price_usd, cap_price_usd, has_cap):
    """A convertible in :meth:`simulator.finance.ledger.Ledger._strike`, if-converted: where its balance is
    above 0 and the share price above the conversion price ``K`` its face (``face``, written in place)
    is 0 and the diluted shares gain ``balance / K × (1 − c)``, ``c = clip((min(S, cap) − K) / S, 0, 1)``
    the capped call's offset (0 without a cap). Returns ``(any in the money, diluted)``: ``diluted``
    itself when none is (the numpy form adds nothing then), else a new array (``+ 0.0`` on the others)."""
    paths = diluted.shape[0]
    itm = np.empty(paths, dtype=np.bool_)
    some = False
    for p in range(paths):
        itm[p] = balance_usd[p] > 0 and share_price_usd[p] > conversion_price_usd
        some = some or itm[p]
    if not some:
        return False, diluted
    out = np.empty(paths)
    for p in range(paths):
        if itm[p]:
            s = share_price_usd[p]
            offset = 0.0
            if has_cap:
                gain = minimum(s, cap_price_usd) - conversion_price_usd
                offset = clip(gain / s if s > conversion_price_usd and s > 0 else 0.0, 0.0, 1.0)
            out[p] = diluted[p] + balance_usd[p] / conversion_price_usd * (1 - offset)
            face[p] = 0.0
        else:
            out[p] = diluted[p] + 0.0
    return True, out
