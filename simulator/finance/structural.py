"""Equity as a call on the firm's assets (Merton 1974), and the market premium over it.

The fundamental equity value on a path and day is the value of a European call on the
firm's assets ``V`` struck at the face of its debt ``F`` with the debt's face-weighted time
to maturity ``T``:

.. math::

    E = V N(d_1) − F e^{−rT} N(d_2),\\quad
    d_1 = \\frac{\\ln(V/F) + (r + σ_V^2/2) T}{σ_V \\sqrt{T}},\\quad d_2 = d_1 − σ_V \\sqrt{T}

(Merton, R. C., "On the Pricing of Corporate Debt: The Risk Structure of Interest Rates",
*Journal of Finance* 29(2), 1974, 449–470). ``N`` is the standard normal CDF
(``scipy.special.ndtr``). ``E → max(V − F e^{−rT}, 0)`` as ``σ_V → 0``, ``E = V`` without debt,
and ``E > 0`` whenever ``V > 0`` and ``σ_V > 0``: a solvent firm's equity is never worth 0.

The asset volatility is ``σ_V = max(σ_min, w σ_BTC)`` with ``w`` the BTC-linked share of ``V``
(BTC held and the mining operations, whose value moves with the hashprice) and ``σ_BTC`` the
path's trailing 90-day realised BTC volatility (the price model's ``vol_annual`` before 90
returns exist).

The market's premium is value the model does not see (pipeline, growth options, a treasury
company's mNAV premium), carried as an asset ``G`` beside the model's ``V``: the share price is
``E(V + G) / diluted shares``, the call on the market-implied asset value (the implied-asset-value
reading of Merton's model used in credit analysis, e.g. Crosbie & Bohn, "Modeling Default Risk",
Moody's KMV, 2003). On day 0 the market close implies the asset value ``V*``,
``E(V*, F₀, T₀, σ₀) = S_market × diluted₀`` (``E`` rises with ``V``; solved by bisection), and
``G₀ = V* − V₀``; without a close ``G₀ = (p₀ − 1) max(V₀, 0)`` with ``p₀`` = ``market_multiple``.
``G`` is priced like the firm's assets on day 0, not like its later balance sheet: its
BTC-linked share ``w₀`` moves with the BTC price, ``G_t = G₀ s_t`` with ``s_t = w₀ P_t / P₀ + 1 − w₀``
(``P`` the BTC price), so a miner's premium keeps its BTC beta, while a
purchase paid at its value with debt or cash moves ``V`` and ``F`` (or cash) alike and the price not
at all, as it must (a premium multiplying ``V`` would mint ``(p − 1)`` of equity from every
debt-financed dollar). A discount (the close below the model's ``E(V₀)``) is instead a share of the
equity: ``G₀ = 0`` and the price is ``m_t E(V_t) / diluted`` with ``m₀ = S_market diluted₀ / E(V₀) < 1``
(:func:`equity_multiple`), so the price is 0 only where the model's own equity is. (A discount
carried on the assets, ``G₀ = V* − V₀ < 0``, priced the equity as a call on assets the market had
marked below their value: two days before a convertible's maturity, a firm whose BTC alone covered
the notes showed a price of 0, then its NAV once the notes were paid.) With ``long_run_premium`` ``p_∞``
the premium reverts to ``(p_∞ − 1) V_t``, the day-0 gap from it (moving with ``s_t``) halving every
``h`` days (``premium_half_life_days``): ``G_t = (p_∞ − 1) V_t + (G₀ − (p_∞ − 1) V₀) s_t 2^{−t/h}``, and a
discount halves with it, ``m_t = 1 + (m₀ − 1) 2^{−t/h}``.
``σ_V`` is computed on the model's ``V``. A premium on the equity instead would multiply a deeply
out-of-the-money call (a firm whose debt exceeds its model assets) by hundreds, and every later
gain of the call with it.

Units: USD for values, years for ``T``, days for ``t`` and ``h``, annual fractions for rates and volatilities.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from simulator import units
from simulator.lazy_kernel import LazyKernel

#: Tenor of an open-ended loan in the structural value [years].
OPEN_ENDED_YEARS = 1.0
#: Shortest time to maturity used (one day) [years].
MIN_YEARS = 1.0 / units.DAYS_PER_YEAR
#: Trailing window of the realised BTC volatility [daily returns].
VOL_WINDOW_DAYS = 90
#: Volatility assumed for price models without a ``vol_annual`` (csv, bootstrap) before 90 returns.
DEFAULT_BTC_VOL_ANNUAL = 0.5


def merton_equity_usd(asset_value_usd, debt_face_usd, years, asset_vol_annual, rate_annual: float):
    """Equity value as a call on the assets [USD], vectorised over paths.

    Parameters
    ----------
    asset_value_usd : array
        Firm asset value V [USD] (0 or below: equity 0).
    debt_face_usd : array
        Face of all debt F [USD] (0: equity = V).
    years : array
        Face-weighted time to maturity T [years].
    asset_vol_annual : array
        Asset volatility σ_V [1/sqrt(year)], > 0.
    rate_annual : float
        Risk-free rate r [1/year].

    Examples
    --------
    >>> round(float(merton_equity_usd(100.0, 0.0, 1.0, 0.2, 0.04)), 9)
    100.0
    >>> round(float(merton_equity_usd(100.0, 100.0, 1.0, 0.2, 0.0)), 4)  # at the money: V σ √T / √(2π) ≈ 7.97
    7.9656
    """
    v = np.asarray(asset_value_usd, dtype=float)
    f = np.maximum(np.asarray(debt_face_usd, dtype=float), 0.0)
    t = np.maximum(np.asarray(years, dtype=float), MIN_YEARS)
    sigma = np.asarray(asset_vol_annual, dtype=float)
    solvent, owes = v > 0, f > 0
    everywhere = solvent.all() and owes.all()  # (then the masks below select v and f themselves)
    sd = sigma * np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = v / f if everywhere else np.where(solvent & owes, v, 1.0) / np.where(owes, f, 1.0)
        d1 = (np.log(ratio) + (rate_annual + 0.5 * sigma ** 2) * t) / sd
    call = v * ndtr(d1) - f * np.exp(-rate_annual * t) * ndtr(d1 - sd)
    if everywhere:
        return np.maximum(call, 0.0)
    equity = np.where(owes, np.maximum(call, 0.0), v)
    return np.where(solvent, equity, 0.0)


def asset_vol_annual(btc_linked_usd, asset_value_usd, btc_vol_annual, min_vol_annual: float):
    """``σ_V = max(σ_min, w σ_BTC)``, ``w = BTC-linked value / V`` clipped to [0, 1]."""
    v = np.asarray(asset_value_usd, dtype=float)
    w = np.zeros_like(v)
    np.divide(btc_linked_usd, v, out=w, where=v > 0)
    return np.maximum(min_vol_annual, np.clip(w, 0.0, 1.0) * btc_vol_annual)


def face_weighted_years(faces_usd, years) -> np.ndarray:
    """``Σ F_i T_i / Σ F_i`` over instruments (``(instruments, paths)``); 1 year without debt."""
    faces, t = np.asarray(faces_usd, dtype=float), np.asarray(years, dtype=float)
    total = faces.sum(axis=0)
    out = np.full(total.shape, OPEN_ENDED_YEARS)
    np.divide((faces * t).sum(axis=0), total, out=out, where=total > 0)
    return out


def implied_asset_value_usd(equity_usd, debt_face_usd, years, asset_vol_annual, rate_annual: float,
                            iterations: int = 80) -> np.ndarray:
    """The asset value ``V*`` with ``merton_equity_usd(V*, F, T, σ_V, r) = equity_usd`` [USD], vectorised over paths.

    ``E`` rises with ``V`` and ``V − F ≤ E ≤ V``, so ``V*`` lies in [E, E + F]: bisection on that bracket
    (80 halvings leave it within 1e-24 of its width). ``V*`` does not depend on the model's own ``V``,
    so a market close anchors a firm whose model assets are at or below 0.

    Examples
    --------
    >>> float(implied_asset_value_usd(150.0, 0.0, 1.0, 0.2, 0.04)[0])  # no debt: E = V
    150.0
    """
    target = np.atleast_1d(np.maximum(np.asarray(equity_usd, dtype=float), 0.0))
    face = np.maximum(np.asarray(debt_face_usd, dtype=float), 0.0)
    lo, hi = target.copy(), target + face
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = merton_equity_usd(mid, face, years, asset_vol_annual, rate_annual) > target
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def market_intangible_usd(day: int, intangible0_usd, asset_value_usd, asset_value0_usd, linked_share0,
                          btc_price_ratio, long_run_premium: float | None, half_life_days: float):
    """``G_t`` [USD] (module docstring) from a premium ``G₀ ≥ 0``: ``G₀ s_t`` without a long-run premium,
    else ``(p_∞ − 1) V_t + (G₀ − (p_∞ − 1) V₀) s_t 2^{−t/h}``.

    ``s_t`` prices the premium like the firm's assets on day 0: ``s_t = w₀ P_t / P₀ + 1 − w₀`` with
    ``w₀`` the BTC-linked share of ``V₀`` (``linked_share0``) and ``P_t / P₀`` the BTC price since day 0
    (``btc_price_ratio``). A discount is not an intangible but a multiple of the equity (:func:`equity_multiple`).

    Examples
    --------
    >>> float(market_intangible_usd(365, 50.0, 120.0, 100.0, 0.0, 2.0, None, 365.0))  # nothing BTC-linked
    50.0
    >>> float(market_intangible_usd(365, 50.0, 120.0, 100.0, 0.5, 2.0, None, 365.0))  # half linked, BTC doubled
    75.0
    >>> float(market_intangible_usd(365, 50.0, 120.0, 100.0, 0.0, 1.0, 1.0, 365.0))  # half-way back to no premium
    25.0
    """
    g0, v, v0 = (np.asarray(x, dtype=float) for x in (intangible0_usd, asset_value_usd, asset_value0_usd))
    w = np.clip(np.asarray(linked_share0, dtype=float), 0.0, 1.0)
    scale = w * np.asarray(btc_price_ratio, dtype=float) + 1.0 - w
    if long_run_premium is None:
        return g0 * scale
    excess = long_run_premium - 1.0
    return excess * v + (g0 - excess * v0) * scale * 0.5 ** (day / half_life_days)


def split_discount(intangible0_usd, equity0_usd, market_equity0_usd):
    """Day 0's market valuation as ``(G₀, m₀)``: a premium (``G₀ ≥ 0``) stays an intangible beside the
    assets with ``m₀ = 1``; a discount becomes ``G₀ = 0`` and ``m₀ = E(V₀ + G₀) / E(V₀) ≤ 1`` [USD / USD],
    the market equity ``market_equity0_usd`` over the model's ``equity0_usd`` (1 where the model's is 0).

    Examples
    --------
    >>> [x.tolist() for x in split_discount(np.array([30.0, -50.0]), np.array([80.0, 80.0]), np.array([95.0, 20.0]))]
    [[30.0, 0.0], [1.0, 0.25]]
    """
    g0 = np.asarray(intangible0_usd, dtype=float)
    e0, market = np.asarray(equity0_usd, dtype=float), np.asarray(market_equity0_usd, dtype=float)
    multiple = np.ones(np.broadcast(g0, e0, market).shape)
    np.divide(market, e0, out=multiple, where=(g0 < 0) & (e0 > 0))
    return np.maximum(g0, 0.0), np.minimum(multiple, 1.0)


def equity_multiple(day: int, multiple0, long_run_premium: float | None, half_life_days: float):
    """``m_t`` [USD / USD]: the day-0 discount ``m₀`` on the equity, kept, or halving every ``h`` days
    towards 1 with a long-run premium, ``m_t = 1 + (m₀ − 1) 2^{−t/h}``.

    Examples
    --------
    >>> float(equity_multiple(365, 0.5, None, 365.0)), float(equity_multiple(365, 0.5, 1.2, 365.0))
    (0.5, 0.75)
    """
    m0 = np.asarray(multiple0, dtype=float)
    return m0 if long_run_premium is None else 1.0 + (m0 - 1.0) * 0.5 ** (day / half_life_days)


@dataclass(frozen=True)
class MarketPremium:
    """Day 0's market valuation, carried through the horizon (module docstring): ``G₀`` and ``m₀``
    (:func:`split_discount`), the model's ``V₀``, its BTC-linked share ``w₀`` and the BTC price ``P₀``
    [USD, USD/USD, USD/BTC], and the reversion (``p_∞``, ``h``) from the scenario's valuation."""

    intangible0_usd: np.ndarray
    multiple0: np.ndarray
    assets0_usd: np.ndarray
    linked_share0: np.ndarray
    btc_price0_usd: np.ndarray
    long_run_premium: float | None
    half_life_days: float

    def decay(self, day: int) -> float:
        """``2^{−t/h}``, the share of day 0's gap from the long-run premium left on ``day``."""
        return 0.5 ** (day / self.half_life_days)


def call_terms(faces_usd, years, assets_usd, btc_linked_usd, btc_vol_annual, min_vol_annual: float):
    """The call's strike terms ``(F, T, σ_V)``: the face of all debt, its face-weighted years
    (:func:`face_weighted_years`) and the asset volatility (:func:`asset_vol_annual`) [USD, years, 1/√year]."""
    return (np.asarray(faces_usd).sum(axis=0), face_weighted_years(faces_usd, years),
            asset_vol_annual(btc_linked_usd, assets_usd, btc_vol_annual, min_vol_annual))


def share_value(faces_usd, years, diluted, assets_usd, btc_linked_usd, btc_vol_annual, min_vol_annual: float,
                premium: MarketPremium, btc_price_usd, day: int, rate_annual: float):
    """The close's ``(NAV, NAV per diluted share, share price)`` [USD, USD/share, USD/share] from the
    debt's faces and years by instrument ``(instruments, paths)``, the diluted shares and the model's
    assets ``V`` and their BTC-linked part: ``F = Σ F_i``, ``T`` face-weighted, ``σ_V``
    (:func:`asset_vol_annual`), NAV ``V − F``, the premium ``G_t`` (:func:`market_intangible_usd`) and
    the price ``E(V + G, F, T, σ_V) m_t / diluted`` (0 without shares).

    Run as three compiled passes over the paths (:mod:`simulator.finance.valuation_kernel`, the same
    numbers) once a process's valuations pay for loading them (:data:`VALUATION_KERNEL`).
    """
    kernel = VALUATION_KERNEL.for_call(len(diluted), _NUMPY_VALUE_COST)
    long_run = premium.long_run_premium is not None
    excess, decay = (premium.long_run_premium - 1.0 if long_run else 0.0), premium.decay(day)
    if kernel is not None:
        nav, nav_per_share, value, face, t, sigma, sd, ratio = kernel.prepare(
            faces_usd, years, diluted, assets_usd, btc_linked_usd, btc_vol_annual, float(min_vol_annual),
            premium.intangible0_usd, premium.assets0_usd, premium.linked_share0, btc_price_usd,
            premium.btc_price0_usd, long_run, excess, decay, MIN_YEARS, OPEN_ENDED_YEARS)
        d1, d2, minus_rt = kernel.moneyness(np.log(ratio), sigma, t, sd, float(rate_annual))
        price = kernel.price_per_share(value, face, ndtr(d1), ndtr(d2), np.exp(minus_rt), premium.multiple0,
                                       long_run, decay, diluted)
        return nav, nav_per_share, price
    face, t, sigma = call_terms(faces_usd, years, assets_usd, btc_linked_usd, btc_vol_annual, min_vol_annual)
    nav, has_shares = assets_usd - face, diluted > 0
    nav_per_share, price = np.zeros(len(diluted)), np.zeros(len(diluted))
    np.divide(nav, diluted, out=nav_per_share, where=has_shares)
    intangible = market_intangible_usd(day, premium.intangible0_usd, assets_usd, premium.assets0_usd,
                                       premium.linked_share0, btc_price_usd / premium.btc_price0_usd,
                                       premium.long_run_premium, premium.half_life_days)
    equity = merton_equity_usd(assets_usd + intangible, face, t, sigma, rate_annual) \
        * equity_multiple(day, premium.multiple0, premium.long_run_premium, premium.half_life_days)
    np.divide(equity, diluted, out=price, where=has_shares)
    return nav, nav_per_share, price


#: The compiled share value (:meth:`LazyKernel.of_the_close`); :data:`_NUMPY_VALUE_COST` is the numpy
#: form's fixed cost (~100 µs a close at 500 paths against ~15 µs compiled, measured on the bench machine).
VALUATION_KERNEL = LazyKernel.of_the_close("simulator.finance.valuation_kernel")
_NUMPY_VALUE_COST = 2048


class TrailingVol:
    """Realised annual volatility of the last 90 daily log returns per path (the model's before 90).

    The window's mean and sum of squared deviations ``M₂`` are kept as running values: each day
    the new return ``x`` replaces the oldest ``y`` (Welford's update, *Technometrics* 4(3), 1962,
    419–420, applied to a removal and an addition; Chan, Golub and LeVeque, *The American
    Statistician* 37(3), 1983, 242–247, on the accuracy of such updates)

    .. math::

        \\bar x' = \\bar x + (x − y)/n,\\qquad M_2' = M_2 + (x − y)(x − \\bar x' + y − \\bar x),

    and recomputed directly from the window every ``n`` days (:data:`VOL_WINDOW_DAYS`), so the
    rounding of the updates never accumulates over more than one window. The value equals
    ``sqrt(365 × var(window, ddof=1))`` to rounding (tests/test_speed.py).
    """

    def __init__(self, paths: int, model_vol_annual_: float):
        self.returns = np.zeros((VOL_WINDOW_DAYS, paths))
        self.count, self.model_vol = 0, model_vol_annual_
        self.mean, self.m2 = np.zeros(paths), np.zeros(paths)

    def push(self, log_return) -> None:
        """Add the day's log return ``(paths,)``. The compiled day does the running update itself
        (:meth:`update_row`, then :func:`simulator.finance.operations_kernel.trailing_vol_update`: the same floats,
        the mean and ``M₂`` written in place; they are this window's own arrays, made by the numpy lines; the
        compiled close reads ``m2`` the same day, before the next push, ``simulator.finance.close_value``)."""
        n, slot = VOL_WINDOW_DAYS, self.count % VOL_WINDOW_DAYS
        if self.count < n or slot == n - 1:  # filling, or the last update of a window: from the window itself
            self.returns[slot] = log_return
            if self.count >= n - 1:
                self.mean = self.returns.mean(axis=0)
                deviation = self.returns - self.mean
                self.m2 = np.einsum("ij,ij->j", deviation, deviation)
        else:
            x = np.asarray(log_return, dtype=float)
            change = x - self.returns[slot]
            mean = self.mean + change / n
            self.m2 = self.m2 + change * (x - mean + self.returns[slot] - self.mean)
            self.mean = mean
            self.returns[slot] = x
        self.count += 1

    def update_row(self) -> np.ndarray | None:
        """The window's row the day's log return replaces, where :meth:`push` would do its running update (the
        day then counted, the update left to the caller: ``operations_kernel.book_day`` runs
        ``trailing_vol_update`` on this row, :attr:`mean` and :attr:`m2`, the same floats); None on a day that
        fills the window or recomputes it (nothing counted: :meth:`push` it)."""
        n, slot = VOL_WINDOW_DAYS, self.count % VOL_WINDOW_DAYS
        if self.count < n or slot == n - 1:
            return None
        self.count += 1
        return self.returns[slot]

    def value(self) -> np.ndarray:
        """sqrt(365 × sample variance) of the window, once it is full."""
        if self.count < VOL_WINDOW_DAYS:
            return np.full(self.returns.shape[1], self.model_vol)
        return np.sqrt(np.maximum(self.m2, 0.0) / (VOL_WINDOW_DAYS - 1) * units.DAYS_PER_YEAR)
