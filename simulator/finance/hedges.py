"""Production hedges (forward sales, puts) and fixed-for-floating power swaps.

Each month a hedge covers ``fraction`` of the month's production. The notional is set on the
month's first day from what the company knows then: last month's BTC mined scaled to the
days covered (on the first month, the first day's production × the days covered).

* Forward: sold at ``F = S₀ e^{rT}`` (cost of carry at the risk-free rate ``r``, ``T`` the
  days to the month's end / 365); settles at the month's last close ``S_T``:
  ``pnl = N (F − S_T)``.
* Put: bought at the first close at strike ``K = strike_fraction × S₀`` for the Black-Scholes
  premium (Black & Scholes 1973) ``K e^{−rT} Φ(−d₂) − S₀ Φ(−d₁)``,
  ``d₁ = (ln(S₀/K) + (r + σ²/2) T) / (σ √T)``, ``d₂ = d₁ − σ √T``, with σ the path's
  realised 30-day volatility (or ``implied_vol_annual``); pays ``N max(K − S_T, 0)`` at the
  month's end. The premium is paid and expensed on the first day.
* Power swap: each day ``pnl = mw × 24 × (index − fixed)`` with ``index`` the site's mean
  market price of the day (the company receives floating and pays fixed: it gains when power
  is dear, offsetting its bill).

All are cash-settled; their P&L is the ``hedge_pnl_usd`` line.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from simulator import units

#: Volatility used before a path has 30 closes, and by default for puts (BTC's long-run
#: implied volatility: Deribit's DVOL index averaged roughly 50–60 % over 2023–2025).
DEFAULT_IMPLIED_VOL_ANNUAL = 0.5


def forward_price_usd(spot_usd, rate_annual: float, years: float):
    """``F = S e^{rT}`` [USD/BTC]."""
    return np.asarray(spot_usd, dtype=float) * np.exp(rate_annual * years)


def black_scholes_put_usd(spot_usd, strike_usd, years: float, vol_annual, rate_annual: float):
    """Black-Scholes price of a European put per BTC [USD]; intrinsic value when ``σ√T = 0``.

    Examples
    --------
    >>> round(float(black_scholes_put_usd(100.0, 100.0, 1.0, 0.2, 0.05)), 4)  # textbook value 5.5735
    5.5735
    """
    s, k = np.asarray(spot_usd, dtype=float), np.asarray(strike_usd, dtype=float)
    sd = np.asarray(vol_annual, dtype=float) * np.sqrt(years)
    discounted_k = k * np.exp(-rate_annual * years)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(s / k) + (rate_annual + 0.5 * np.square(vol_annual)) * years) / sd
        price = discounted_k * ndtr(-(d1 - sd)) - s * ndtr(-d1)
    return np.where(sd > 0, price, np.maximum(discounted_k - s, 0.0))


class HedgeBook:
    """The company's hedges, stepped once a day after operations are booked."""

    def __init__(self, hedges, start, horizon_days: int, site_names: list[str], paths: int):
        self.hedges = hedges
        self.paths = paths
        self.site_index = {i: site_names.index(h.site) for i, h in enumerate(hedges) if h.kind == "power_swap"}
        self.window = [((h.start - start).days if h.start else 0, (h.end - start).days if h.end else horizon_days - 1)
                       for h in hedges]
        self.notional_btc = np.zeros((len(hedges), paths))
        self.strike_usd = np.zeros((len(hedges), paths))

    def day(self, cal, flows, previous_month_btc, previous_month_days: int, realised_vol_annual) -> np.ndarray:
        """Cash P&L of the hedges on ``cal.day`` [USD] (premiums paid, settlements received)."""
        pnl = np.zeros(self.paths)
        price, day = flows.price_usd, cal.day
        for j, h in enumerate(self.hedges):
            first, last = self.window[j]
            if not first <= day <= last:
                continue
            if h.kind == "power_swap":
                pnl += h.mw * units.HOURS_PER_DAY * np.nan_to_num(
                    flows.index_price_usd_per_mwh[self.site_index[j]] - h.fixed_usd_per_mwh)
                continue
            if cal.month_start or day == first:
                days_left = min(cal.days_left_in_month, last - day)
                years_left = days_left / units.DAYS_PER_YEAR
                expected_btc = (previous_month_btc * (days_left + 1) / previous_month_days if previous_month_days
                                else flows.btc_mined * (days_left + 1))
                self.notional_btc[j] = h.fraction * expected_btc
                if h.kind == "forward":
                    self.strike_usd[j] = forward_price_usd(price, h.rate, years_left)
                else:
                    self.strike_usd[j] = h.strike_fraction * price
                    vol = realised_vol_annual if h.implied_vol_annual is None else h.implied_vol_annual
                    pnl -= self.notional_btc[j] * black_scholes_put_usd(price, self.strike_usd[j], years_left, vol,
                                                                        h.rate)
            if cal.month_end or day == last:
                if h.kind == "forward":
                    pnl += self.notional_btc[j] * (self.strike_usd[j] - price)
                else:
                    pnl += self.notional_btc[j] * np.maximum(self.strike_usd[j] - price, 0.0)
                self.notional_btc[j] = 0.0
        return pnl
