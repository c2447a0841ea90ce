"""Sites: power contracts, curtailment decisions, facility power and opex (pure functions).

Facility power = IT power × (1 + cooling_overhead) (DESIGN.md, "Economics"). Site opex is
charged on ``capacity_mw``. The ``economic`` curtailment policy runs a cohort on a day only
if its revenue covers its power cost, i.e. when the site breakeven power price

    breakeven = hashprice_usd_per_th_day × (1 − pool_fee) × 1e6 / (24 × e × (1 + overhead)) − tax

[USD/MWh] is at least the day's contract price (``e`` in J/TH). Hourly index prices,
PPAs, demand response and 4CP belong to the operations issue; until then an ``index`` site
is priced flat at its ``mean_usd_per_mwh``.
"""
from __future__ import annotations

import numpy as np

from simulator import units
from simulator.config.schema import Site


def site_breakeven_usd_per_mwh(hashprice_usd_per_ph_day: np.ndarray, efficiency_jth: np.ndarray,
                               pool_fee: float, cooling_overhead: float, tax_usd_per_mwh: float = 0.0) -> np.ndarray:
    """Power price [USD/MWh] at which a machine's pool payout equals its power bill at a site.

    Broadcasts ``hashprice (paths,)`` against ``efficiency (cohorts, 1)`` to ``(cohorts, paths)``.

    Examples
    --------
    >>> round(float(site_breakeven_usd_per_mwh(50.0, 21.5, 0.0, 0.0)), 3)
    96.899
    >>> round(float(site_breakeven_usd_per_mwh(50.0, 21.5, 0.02, 0.04, 5.0)), 3)
    86.305
    """
    hashprice_usd_per_th_day = np.asarray(hashprice_usd_per_ph_day) / units.THS_PER_PHS
    return (hashprice_usd_per_th_day * (1 - pool_fee) * units.W_PER_MW
            / (units.HOURS_PER_DAY * np.asarray(efficiency_jth) * (1 + cooling_overhead)) - tax_usd_per_mwh)


def flat_price_usd_per_mwh(site: Site) -> float:
    """The day's energy price of a site priced flat (fixed contract; index at its mean)."""
    power = site.power
    return power.price_usd_per_mwh if power.contract == "fixed" else power.mean_usd_per_mwh


def running_fraction(policy: str, breakeven_usd_per_mwh: np.ndarray, price_usd_per_mwh) -> np.ndarray:
    """Fraction of the day each energised cohort runs, ``(cohorts, paths)``.

    ``none``: always 1. ``economic``: 1 when the site breakeven covers the price, else 0
    (revenue ≥ power cost, so curtailing never lowers the day's margin).
    """
    if policy == "none":
        return np.ones_like(breakeven_usd_per_mwh)
    return (breakeven_usd_per_mwh >= price_usd_per_mwh).astype(float)


def opex_usd_per_day(site: Site) -> float:
    """Site opex per day [USD/day] = opex_usd_per_mw_year × capacity_mw / 365."""
    return site.opex_usd_per_mw_year * site.capacity_mw / units.DAYS_PER_YEAR
