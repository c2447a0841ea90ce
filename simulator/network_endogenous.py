r"""The ``endogenous`` network hashrate: machines enter on payback, vintages leave under water.

This module is the model's one implementation. The engine (:class:`simulator.network.EndogenousHashrate`,
hashprice made by the simulation day by day) and ``hashfleet calibrate``
(:class:`ExogenousBatch`, hashprice read from history, many parameter sets at once) both
call :func:`days_under_water`, :func:`entry_rate_per_day` and :func:`advance`.

Entry (the payback rule). With ``h`` the hashprice ``lag_days`` days ago [USD/(PH/s·day)],
``e`` the efficiency of the newest vintage released by then [J/TH], ``b = p · 24 e / 1000``
its power-only breakeven hashprice at the network's power price ``p`` [USD/MWh]
(:func:`simulator.hardware.breakeven_hashprice_usd_per_ph_day`) and ``c(h, e)`` its price at
the ASIC price index [USD/TH] (:func:`simulator.market.asic_price.asic_price_usd_per_th`: a
new machine bought from the manufacturer, ``new=True``, the newest machine being the
efficiency frontier, so ``c = h/1000 · m`` with ``m = A (1 + π)`` days, the index's fitted
frontier multiple and new-machine discount), a new machine pays for itself in

.. math:: P(h) = \frac{1000\, c(h, e)}{h - b} = m\,\frac{h}{h - b}\ \text{days}\quad (h > b;\ \infty\ \text{otherwise})

and the network adds, each day, to the newest vintage

.. math:: \Delta H_d = \text{elasticity} \cdot \max\!\Big(0, \frac{T}{P(h_{d-\text{lag}})} - 1\Big) \cdot \frac{H_{d-1}}{365}

with ``T`` = ``payback_target_months`` × 365/12 days. Buyers want their money back within
``T``; the further inside it, the faster they buy. ``P ≥ m``, so no hashprice makes the
network grow when ``T < m``: with the index of issue 21, m = 342.05 × (1 − 0.1594) ≈ 288
days, ``T`` must exceed about 9.5 months.

Exit (capitulation). Vintage ``v`` (breakeven ``b_v``) is switched off for good on the day
its breakeven has exceeded the hashprice on each of the ``capitulation_days`` days before.

Lag. Day ``d``'s hashrate uses hashprices up to day ``d − 1`` (nothing the company does on
day ``d`` moves it): a hashprice first seen on day ``t`` moves the entry on day
``t + lag_days`` exactly (``lag_days ≥ 1``).

Parameter sources: the payback rule and its target are issue 17's (superseding DESIGN.md's
first-version breakeven rule; docs/decisions.md); the response lag of 1–6 weeks is the
published range (Fantazzini & Kolodin 2020); the defaults are ``hashfleet calibrate``'s fit
(the schema, :class:`simulator.config.schema.EndogenousHashrate`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from simulator import units
from simulator.hardware import breakeven_hashprice_usd_per_ph_day
from simulator.market.asic_price import asic_price_usd_per_th

#: Days in a month of the payback target [days/month] (a year is exactly 365 days).
DAYS_PER_MONTH = units.DAYS_PER_YEAR / units.MONTHS_PER_YEAR


# --------------------------------------------------------------------------- the rule
def payback_days(hashprice_usd_per_ph_day, efficiency_jth, power_usd_per_mwh):
    """Days a new machine takes to earn its price at the ASIC index: ``m h / (h − b)``.

    The price is the index's for a machine bought new (``new=True``) at the efficiency
    frontier (``frontier_jth`` = its own efficiency: the newest machine is the best shipping).
    Infinite where the hashprice does not beat the power cost (``h ≤ b``). Broadcasts.

    Examples
    --------
    >>> m = float(asic_price_usd_per_th(1000.0, 10.4, frontier_jth=10.4, new=True))  # the multiple [days]
    >>> round(m, 1)
    287.5
    >>> round(float(payback_days(38.0, 10.4, 50.0)) / m, 4)  # h / (h − b), b = 12.48
    1.489
    >>> float(payback_days(10.0, 10.4, 50.0))
    inf
    """
    h = np.asarray(hashprice_usd_per_ph_day, dtype=float)
    margin_usd_per_ph_day = h - breakeven_hashprice_usd_per_ph_day(power_usd_per_mwh, efficiency_jth)
    price_usd_per_ph = asic_price_usd_per_th(h, efficiency_jth, frontier_jth=efficiency_jth, new=True) \
        * units.THS_PER_PHS
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(margin_usd_per_ph_day > 0, price_usd_per_ph / margin_usd_per_ph_day, np.inf)


def entry_rate_per_day(hashprice_usd_per_ph_day, efficiency_jth, power_usd_per_mwh, payback_target_months,
                       elasticity):
    """Growth of network hashrate per day [1/day]: ``elasticity · max(0, T / P(h) − 1) / 365``.

    Examples
    --------
    >>> float(entry_rate_per_day(38.0, 10.4, 50.0, 9.0, 1.0))  # target below m (9.5 months): no entry
    0.0
    >>> p = float(payback_days(57.0, 10.4, 50.0))
    >>> round(float(entry_rate_per_day(57.0, 10.4, 50.0, 40.0, 2.0)) * 365, 6) == round(2 * (40 * 365 / 12 / p - 1), 6)
    True
    """
    target_days = np.asarray(payback_target_months, dtype=float) * DAYS_PER_MONTH
    excess = np.maximum(0.0, target_days / payback_days(hashprice_usd_per_ph_day, efficiency_jth, power_usd_per_mwh)
                        - 1.0)
    return np.asarray(elasticity, dtype=float) * excess / units.DAYS_PER_YEAR


def days_under_water(days_under, breakeven_usd_per_ph_day, hashprice_usd_per_ph_day):
    """Consecutive days each vintage's breakeven has exceeded the hashprice, one day on."""
    return np.where(breakeven_usd_per_ph_day > hashprice_usd_per_ph_day, days_under + 1, 0)


def advance(ehs: np.ndarray, off: np.ndarray, newest: int, rate_per_day: np.ndarray) -> np.ndarray:
    """One day of the recursion on vintages ``ehs`` ``(vintages, K)``: the vintages ``off``
    leave, the newest gains ``rate_per_day × Σ_v ehs`` (yesterday's total). Returns a new array."""
    growth = rate_per_day * ehs.sum(axis=0)
    out = np.where(off, 0.0, ehs)
    out[newest] += growth
    return out


# --------------------------------------------------------------------------- vintages
@dataclass(frozen=True)
class Vintages:
    """The network's vintages: release quarters of the hardware library's models.

    ``release_day`` [days since the start] is the first day of the quarter (``YYYY-Qn``), sorted;
    ``efficiency_jth`` the mean J/TH (``power_w / hashrate_ths``) of the models released in it.
    """

    release_day: np.ndarray
    efficiency_jth: np.ndarray

    @classmethod
    def from_library(cls, library, start: dt.date) -> "Vintages":
        quarters: dict = {}
        for profile in library.values():
            when = profile.release_date
            if when is None:
                continue
            first = dt.date(when.year, 3 * ((when.month - 1) // 3) + 1, 1)
            quarters.setdefault(first, []).append(profile.power_w / profile.hashrate_ths)
        keys = sorted(quarters)
        return cls(np.array([(k - start).days for k in keys], dtype=float),
                   np.array([np.mean(quarters[k]) for k in keys]))

    def start_share(self, mix_years: float) -> np.ndarray:
        """Share of the starting hashrate per vintage: equal EH/s per quarter released in the
        last ``mix_years`` (``(−mix_years, 0]``), else the newest released by the start."""
        window_days = mix_years * units.DAYS_PER_YEAR
        mix = (self.release_day <= 0) & (self.release_day > -window_days)
        if not mix.any():
            mix = self.release_day == self.release_day[self.release_day <= 0].max()
        return mix / mix.sum()

    def newest(self, day) -> np.ndarray:
        """Index of the newest vintage released by ``day`` (broadcasts over days)."""
        return np.searchsorted(self.release_day, day, side="right") - 1


@dataclass(frozen=True)
class Params:
    """The model's parameters, arrays ``(K,)`` (one per parameter set) or scalars.

    ``lag_days`` [days, ≥ 1], ``elasticity`` [1/year], ``network_power_usd_per_mwh``
    [USD/MWh], ``capitulation_days`` [days], ``payback_target_months`` [months]; the
    defaults are the schema's (:class:`simulator.config.schema.EndogenousHashrate`).
    """

    lag_days: np.ndarray
    elasticity: np.ndarray
    network_power_usd_per_mwh: np.ndarray
    capitulation_days: np.ndarray
    payback_target_months: np.ndarray

    @classmethod
    def of(cls, lag_days, elasticity, network_power_usd_per_mwh, capitulation_days,
           payback_target_months) -> "Params":
        arrays = np.broadcast_arrays(np.atleast_1d(np.asarray(lag_days, dtype=np.int64)),
                                     np.atleast_1d(np.asarray(elasticity, dtype=float)),
                                     np.atleast_1d(np.asarray(network_power_usd_per_mwh, dtype=float)),
                                     np.atleast_1d(np.asarray(capitulation_days, dtype=np.int64)),
                                     np.atleast_1d(np.asarray(payback_target_months, dtype=float)))
        if (arrays[0] < 1).any():
            raise ValueError("lag_days must be at least 1 (day d uses hashprices up to day d − 1)")
        return cls(*(a.copy() for a in arrays))

    @property
    def size(self) -> int:
        return int(self.lag_days.size)

    def take(self, index) -> "Params":
        return Params(*(getattr(self, f)[index] for f in FIELDS))


#: The parameter names, in :class:`Params`' order.
FIELDS = ("lag_days", "elasticity", "network_power_usd_per_mwh", "capitulation_days", "payback_target_months")


# --------------------------------------------------------------------------- history-driven
class ExogenousBatch:
    """The recursion on a given hashprice history for K parameter sets at once.

    ``hashprice_usd_per_ph_day`` holds ``prior_days`` days before day 0 and then ``days``
    days (index ``prior_days + d`` is day ``d``): the engine's model with its lag window
    pre-filled from that history. Everything but the elasticity is prepared once — the
    payback excess ``max(0, T/P − 1)`` of each day and set, and the capitulation days — so
    :meth:`run` for many elasticities (the calibration's search) only walks :func:`advance`.
    """

    def __init__(self, vintages: Vintages, start_share: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
                 prior_days: int, days: int, params: Params):
        if params.lag_days.max(initial=1) > prior_days:
            raise ValueError(f"lag {params.lag_days.max()} days needs {params.lag_days.max()} days of hashprice "
                             f"before day 0")
        hp = np.asarray(hashprice_usd_per_ph_day, dtype=float)
        d = np.arange(days)
        self.newest = vintages.newest(d)
        if (self.newest < 0).any():
            raise ValueError("no hardware released by day 0")
        lagged = hp[prior_days + d[:, None] - params.lag_days[None, :]]  # (days, K)
        e_new = vintages.efficiency_jth[self.newest][:, None]
        self.rate_per_unit_elasticity = entry_rate_per_day(lagged, e_new, params.network_power_usd_per_mwh,
                                                           params.payback_target_months, 1.0)
        breakeven = breakeven_hashprice_usd_per_ph_day(params.network_power_usd_per_mwh[None, :],
                                                       vintages.efficiency_jth[:, None])  # (V, K)
        under = np.zeros(breakeven.shape, dtype=np.int64)
        self.off_days = []  # per day: the (vintage, set) pairs off, None when there is none
        for day in range(days):
            under = days_under_water(under, breakeven, hp[prior_days + day - 1])
            off = under >= params.capitulation_days[None, :]
            self.off_days.append(off if off.any() else None)
        self.start_share = np.asarray(start_share, dtype=float)
        self.shape = (days, params.size)

    def run(self, elasticity) -> np.ndarray:
        """``H_d / H_0`` ``(days, K)`` for per-set elasticities [1/year]."""
        days, k = self.shape
        e = np.broadcast_to(np.asarray(elasticity, dtype=float), (k,))
        ehs = np.repeat(self.start_share[:, None], k, axis=1)
        out = np.empty((days, k))
        no_exit = np.zeros(ehs.shape, dtype=bool)
        for day in range(days):
            leaving = self.off_days[day]
            ehs = advance(ehs, no_exit if leaving is None else leaving, int(self.newest[day]),
                          e * self.rate_per_unit_elasticity[day])
            out[day] = ehs.sum(axis=0)
        return out
