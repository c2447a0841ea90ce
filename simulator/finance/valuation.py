"""The enterprise value of operations: NAV's fleet and sites, the dcf and the multiple.

The firm's value V and the share price are composed in the ledger and
:mod:`simulator.finance.structural` (equity as a call on V, times a premium anchored to the
market); this module gives the operations' part, counted once as
``max(fleet at the ASIC price index + sites' book value, the dcf or multiple EV)``.
Diluted shares are if-converted (GLOSSARY, "NAV per share"): a convertible whose conversion
price is below the previous close's share price counts as its shares (net of a capped call's
offset) and leaves debt. Using the previous close keeps the test free of circularity.

* ``nav``: fleet at the ASIC price index + the sites' book value outside HPC's MW.
* ``dcf``: the present value of expected free cash flow from the day's state under the scenario's parameters (never the
  path's own future): for years k = 1 … N (mid-year), mining revenue grows with the price
  drift μ, shrinks with network growth g and with the subsidy at the expected height,
  ``R_k = R_0 e^{μ(k−½)} (1+g)^{−(k−½)} × (subsidy(h + 52,560(k−½)) + fees) / (subsidy(h) + fees)``,
  miners switch off rather than lose on power (``max(R_k − C_var, 0)``), fixed costs (site
  opex, SG&A) and other revenue stay at their run rate, discounted at ``discount_rate``.
  ``R_0`` is the trailing 30-day BTC production at the day's close, ``C_var`` the trailing
  30-day power and hosting costs, both annualised. HPC projects are valued apart
  (:mod:`simulator.finance.contracts`), not as a run rate.
* ``multiple``: EV = multiple × trailing-12-month EBITDA (annualised before a year has
  passed, floored at 0) or × installed EH/s.
"""
from __future__ import annotations

import numpy as np

from simulator import chain, units

#: Blocks per year at the target interval (52,560).
BLOCKS_PER_YEAR = units.TARGET_BLOCKS_PER_DAY * units.DAYS_PER_YEAR


def capped_call_offset_fraction(share_price_usd, conversion_price_usd: float, cap_price_usd: float | None):
    """Share of the conversion shares a capped call hands back: ``(min(S, cap) − K) / S`` for S > K."""
    s = np.asarray(share_price_usd, dtype=float)
    if cap_price_usd is None:
        return np.zeros_like(s)
    gain = np.minimum(s, cap_price_usd) - conversion_price_usd
    out = np.zeros_like(s)
    np.divide(gain, s, out=out, where=(s > conversion_price_usd) & (s > 0))
    return np.clip(out, 0.0, 1.0)


def reward_growth(height, fees_btc_per_block, years: float):
    """Block reward at ``height + 52,560 × years`` over the reward at ``height`` (subsidy + fees)."""
    h = np.asarray(height, dtype=float)
    now = chain.block_subsidy_sats(np.floor(h).astype(np.int64)) / units.SATS_PER_BTC + fees_btc_per_block
    later = chain.block_subsidy_sats(np.floor(h + BLOCKS_PER_YEAR * years).astype(np.int64)) / units.SATS_PER_BTC \
        + fees_btc_per_block
    out = np.ones_like(now, dtype=float)
    np.divide(later, now, out=out, where=now > 0)
    return out


def dcf_enterprise_value_usd(mining_revenue_usd_per_year, variable_cost_usd_per_year, other_revenue_usd_per_year,
                             fixed_cost_usd_per_year, height, fees_btc_per_block, *, price_drift_annual: float,
                             network_growth_annual: float, discount_rate: float, years: int):
    """Present value of expected free cash flow over ``years`` (mid-year discounting) [USD]."""
    ev = np.zeros_like(np.asarray(mining_revenue_usd_per_year, dtype=float))
    for k in range(1, years + 1):  # a handful of years, not paths
        t = k - 0.5
        growth = np.exp(price_drift_annual * t) / (1 + network_growth_annual) ** t
        revenue = mining_revenue_usd_per_year * growth * reward_growth(height, fees_btc_per_block, t)
        fcf = np.maximum(revenue - variable_cost_usd_per_year, 0.0) + other_revenue_usd_per_year \
            - fixed_cost_usd_per_year
        ev = ev + fcf / (1 + discount_rate) ** t
    return ev
