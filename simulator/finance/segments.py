"""Segment allocation of shared costs: mining, hosting and HPC (the per-BTC costs are mining's).

* Site opex (``opex_usd_per_mw_year × capacity``) is split by the MW each use takes on the
  day: HPC projects' reserved facility MW, then hosting clients' MW, each capped at what the
  site has; idle capacity goes to mining:
  ``hpc = opex × min(MW_hpc, C) / C``, ``hosting = opex × min(MW_host, C − min(MW_hpc, C)) / C``,
  ``mining = opex − hpc − hosting``.
* The sites' depreciation is split the same way with the company-wide MW shares.
* SG&A and stock-based compensation are allocated by revenue share,
  ``cost_s = cost × revenue_s / Σ revenue`` (all to mining on a day without revenue), or all
  to mining (``company.cost_allocation: all_to_mining``).

The parts always sum to the whole (allocation by shares of one total). Units: USD, MW.
"""
from __future__ import annotations

import numpy as np


def mw_shares(capacity_mw: float, hosting_mw: float, hpc_mw: float) -> tuple[float, float]:
    """(hosting, HPC) shares of a site's (or all sites') capacity; the rest is mining's.

    Examples
    --------
    >>> mw_shares(100.0, 30.0, 80.0)  # HPC first (80), hosting gets the 20 left
    (0.2, 0.8)
    """
    if capacity_mw <= 0:
        return 0.0, 0.0
    hpc = min(max(hpc_mw, 0.0), capacity_mw)
    hosting = min(max(hosting_mw, 0.0), capacity_mw - hpc)
    return hosting / capacity_mw, hpc / capacity_mw


def mw_shares_of_days(capacity_mw: np.ndarray, hosting_mw: np.ndarray, hpc_mw: np.ndarray) -> np.ndarray:
    """:func:`mw_shares` of each day ``(n,)``, as ``(n, 2)`` (hosting, HPC): its floats, with its Python
    ``min``/``max`` (``max(a, b)`` is ``b if b > a else a``, NaNs and −0.0 kept where it keeps them) as
    ``np.where`` selections, and (0, 0) where ``capacity ≤ 0``.

    >>> mw_shares_of_days(np.array([100.0, 0.0]), np.array([30.0, 5.0]), np.array([80.0, 1.0])).tolist()
    [[0.2, 0.8], [0.0, 0.0]]
    """
    capacity_mw, hosting_mw, hpc_mw = (np.asarray(x, dtype=float) for x in (capacity_mw, hosting_mw, hpc_mw))
    with np.errstate(invalid="ignore"):  # inf − inf and inf / inf: NaN, as Python's floats give it, unwarned
        hpc = np.where(0.0 > hpc_mw, 0.0, hpc_mw)
        hpc = np.where(capacity_mw < hpc, capacity_mw, hpc)
        room = capacity_mw - hpc
        hosting = np.where(0.0 > hosting_mw, 0.0, hosting_mw)
        hosting = np.where(room < hosting, room, hosting)
        out = np.zeros((len(capacity_mw), 2))
        on = ~(capacity_mw <= 0)
        out[on, 0], out[on, 1] = hosting[on] / capacity_mw[on], hpc[on] / capacity_mw[on]
    return out


def revenue_shares(mining_usd, hosting_usd, hpc_usd, allocation: str):
    """(mining, hosting, HPC) fractions of a shared cost, per path; they sum to 1.

    Examples
    --------
    >>> [round(float(x[0]), 12) for x in revenue_shares(np.array([60.0]), np.array([10.0]), np.array([30.0]), "revenue_share")]
    [0.6, 0.1, 0.3]
    """
    mining = np.asarray(mining_usd, dtype=float)
    if allocation == "all_to_mining":
        return np.ones_like(mining), np.zeros_like(mining), np.zeros_like(mining)
    parts = [np.maximum(np.asarray(x, dtype=float), 0.0) for x in (mining_usd, hosting_usd, hpc_usd)]
    total = parts[0] + parts[1] + parts[2]
    hosting, hpc = np.zeros_like(total), np.zeros_like(total)
    np.divide(parts[1], total, out=hosting, where=total > 0)
    np.divide(parts[2], total, out=hpc, where=total > 0)
    return 1.0 - hosting - hpc, hosting, hpc
