r"""ASIC price index: what a machine of efficiency ``e`` [J/TH] trades for [USD/TH].

Model (replacement cost with a salvage floor), fitted to dated market prices
(``simulator/data/asic_prices.csv``, sources in ``asic_prices_SOURCES.md``; fit and
out-of-sample errors in ``simulator/market/asic_market.py``):

.. math::

    P_{new}(h) &= \frac{h}{1000}\, A\, (1 + \pi\, \mathbb{1}_{new}) \\
    P(h, e)    &= \max\!\big(P_{new}(h) - k\,\max(e - e_f, 0),\; \tfrac{h}{1000} F\big)

* ``h`` [USD/(PH/s·day)]: the hashprice the buyer expects over the coming year — the spot
  hashprice, or :func:`halving_adjusted_hashprice` of it when a halving falls within the year.
  ``h / 1000`` is the revenue of one TH/s for a day [USD/(TH·day)].
* ``A`` = :data:`FRONTIER_MULTIPLE_DAYS` [days]: a machine at the efficiency frontier sells for
  ``A`` days of its gross revenue (fitted).
* ``e_f`` [J/TH]: the frontier — the best nameplate efficiency of an air-cooled model shipping
  for at least 180 days (from the hardware library's release dates);
  :data:`FRONTIER_JTH` is its value at the last dated price (December 2025).
* ``k`` = :data:`EFFICIENCY_PENALTY_USD_PER_TH_PER_JTH` [USD/TH per J/TH]: a buyer pays for a
  less efficient machine the frontier price less the present value of its extra power bill,
  ``k = 24 h/day × p × T / 10^6`` with ``p`` = :data:`POWER_USD_PER_MWH` and ``T`` =
  :data:`POWER_PV_DAYS` (fixed from these assumptions, not fitted). A machine better than the
  frontier earns no premium: before a new generation ships in volume its preorders trade at
  the frontier multiple (Oct 2023: S21 preorders $14/TH against $15.95/TH for the <25 J/TH
  tier the same week); its efficiency is priced once it becomes the frontier.
* ``F`` = :data:`FLOOR_MULTIPLE_DAYS` [days]: old machines never trade below ``F`` days of
  revenue — they move to buyers with cheaper power (fitted; the S9 tier held ~77 days in Dec
  2022, used S19s ~72 days in March 2024).
* ``π`` = :data:`NEW_MACHINE_PREMIUM` [fraction]: a new machine bought from the manufacturer
  (usually for later delivery, in bulk) costs this much more than the secondary index
  (fitted: negative — contracts priced about 16 % under the index).

The model is homogeneous of degree one in ``h`` only above the floor and with ``e = e_f``:
a fall in hashprice hits old generations harder (their price is the frontier price less a
fixed power penalty), which the dated prices show (used S19: 401 days of revenue in March 2022,
132 in March 2023, 42 in March 2024).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import chain, units

#: Power price a buyer uses to compare a used machine with a new one [USD/MWh]. Bitmain's
#: hosting bundles of December 2025 quote 5.5–7.0 ¢/kWh plus ~0.3 ¢ (TheMinerMag via
#: bitbuzz.org/?p=399361); Luxor's Mellerud put many US miners at 7–8 ¢/kWh in 2022.
POWER_USD_PER_MWH = 60.0
#: Present value of one day of running over a machine's remaining life [days]: a 3-year life
#: (the schema's ``asic_life_years``) discounted continuously at 30 %/yr (miners' cost of
#: capital, an assumption): 365 × (1 − e^{−0.9}) / 0.3.
POWER_PV_DAYS = float(365.0 * (1.0 - np.exp(-0.3 * 3.0)) / 0.3)
#: Price penalty per J/TH above the frontier [USD/TH per J/TH] = 24 × p × T / 10^6.
EFFICIENCY_PENALTY_USD_PER_TH_PER_JTH = units.HOURS_PER_DAY * POWER_USD_PER_MWH * POWER_PV_DAYS / 1e6
#: Frontier efficiency at the last dated price, 2025-12-23 [J/TH] (Bitdeer SealMiner A3 Pro Air,
#: released 2025-Q1 in the hardware library).
FRONTIER_JTH = 12.5
#: Fitted (all 36 dated prices, 2021-05 … 2025-12; ``python -m simulator.market.asic_market``).
FRONTIER_MULTIPLE_DAYS = 342.05
#: Fitted floor [days of revenue].
FLOOR_MULTIPLE_DAYS = 87.74
#: Fitted price of a manufacturer purchase relative to the secondary index [fraction].
NEW_MACHINE_PREMIUM = -0.1594
#: The buyer's horizon for the expected hashprice [days]: a year.
HORIZON_DAYS = 365.0


@dataclass(frozen=True)
class AsicPriceParams:
    """The fitted constants of the index (defaults: the shipped fit)."""

    frontier_multiple_days: float = FRONTIER_MULTIPLE_DAYS
    floor_multiple_days: float = FLOOR_MULTIPLE_DAYS
    new_machine_premium: float = NEW_MACHINE_PREMIUM
    penalty_usd_per_th_per_jth: float = EFFICIENCY_PENALTY_USD_PER_TH_PER_JTH


SHIPPED = AsicPriceParams()


def asic_price_usd_per_th(hashprice_usd_per_ph_day, efficiency_jth, *, frontier_jth=FRONTIER_JTH, new=False,
                          params: AsicPriceParams = SHIPPED):
    """Market price [USD/TH] of a machine of efficiency ``efficiency_jth`` [J/TH] (broadcasts).

    ``hashprice_usd_per_ph_day`` is the hashprice the buyer expects over the coming year
    (see the module docstring); ``frontier_jth`` the best efficiency shipping then; ``new``
    (bool or array) prices a purchase from the manufacturer instead of the secondary market.

    Examples
    --------
    >>> round(float(asic_price_usd_per_th(38.0, 13.5)), 2)  # S21 XP at a $38/PH/day hashprice
    11.96
    >>> round(float(asic_price_usd_per_th(38.0, 21.5)), 2)  # S19 XP: 9 J/TH of power bill less
    3.64
    >>> round(float(asic_price_usd_per_th(38.0, 29.5)), 2)  # S19j Pro: at the floor, 87.7 days
    3.33
    """
    frontier_price, penalty, floor = _price_terms(hashprice_usd_per_ph_day, efficiency_jth, frontier_jth, new, params)
    return np.maximum(frontier_price - penalty, floor)


def _price_terms(hashprice_usd_per_ph_day, efficiency_jth, frontier_jth, new, params: AsicPriceParams):
    """The index's three terms [USD/TH]: the frontier machine's price (``new``: from the manufacturer), the
    penalty of ``efficiency_jth``'s gap to the frontier, and the floor (:func:`asic_price_usd_per_th` is
    ``max(frontier − penalty, floor)``)."""
    revenue_usd_per_th_day = np.asarray(hashprice_usd_per_ph_day, float) / units.THS_PER_PHS
    frontier_price = revenue_usd_per_th_day * params.frontier_multiple_days * (
        1.0 + params.new_machine_premium * np.asarray(new, float))
    gap_jth = np.maximum(np.asarray(efficiency_jth, float) - np.asarray(frontier_jth, float), 0.0)
    return (frontier_price, params.penalty_usd_per_th_per_jth * gap_jth,
            revenue_usd_per_th_day * params.floor_multiple_days)


def index_rows(hashprice_usd_per_ph_day: np.ndarray, efficiency_jth: np.ndarray, *, frontier_jth=FRONTIER_JTH,
               params: AsicPriceParams = SHIPPED) -> "IndexRows":
    """:func:`asic_price_usd_per_th` (second-hand) of each efficiency of ``efficiency_jth`` ``(cohorts,)`` at
    ``hashprice_usd_per_ph_day``, one cohort at a time: an iterable of arrays shaped like the hashprice (the
    same array each time, overwritten by the next row), which also holds the index's terms
    (:class:`IndexRows`).

    The same floats as ``asic_price_usd_per_th(h[..., None, :], efficiency_jth[:, None])[..., c, :]`` (its
    terms, :func:`_price_terms`, the cohort's penalty subtracted and the floor taken in its order), without the
    ``(…, cohorts, paths)`` array: a caller that only sums over cohorts (:func:`simulator.fleet.installed_value`)
    keeps a row's work in the cache.
    """
    return IndexRows(*_price_terms(hashprice_usd_per_ph_day, efficiency_jth, frontier_jth, False, params))


@dataclass(frozen=True)
class IndexRows:
    """The second-hand index's terms [USD/TH] (:func:`_price_terms`): the frontier machine's price and the floor,
    shaped like the hashprice, and each cohort's penalty ``(cohorts,)``; iterating gives each cohort's index
    ``max(frontier − penalty_c, floor)`` in turn, in one array overwritten row after row (:func:`index_rows`)."""

    frontier_usd_per_th: np.ndarray
    penalty_usd_per_th: np.ndarray
    floor_usd_per_th: np.ndarray

    def __iter__(self):
        row = np.empty_like(self.frontier_usd_per_th)
        for penalty_usd_per_th in self.penalty_usd_per_th:
            np.subtract(self.frontier_usd_per_th, penalty_usd_per_th, out=row)
            yield np.maximum(row, self.floor_usd_per_th, out=row)


def chain_index_rows(hashprice_usd_per_ph_day: np.ndarray, height: np.ndarray, fees_btc_per_block: np.ndarray,
                     efficiency_jth: np.ndarray, *, frontier_jth=FRONTIER_JTH,
                     params: AsicPriceParams = SHIPPED) -> "ChainIndexRows":
    """:func:`index_rows` at the hashprice a buyer expects on a simulated chain,
    :func:`chain_halving_adjusted_hashprice` of the day's ``hashprice_usd_per_ph_day``, end-of-day ``height`` and
    ``fees_btc_per_block`` (all ``(n, paths)``): its inputs kept, the adjustment and the index's terms made where
    they are used (:class:`ChainIndexRows`)."""
    gap_jth = np.maximum(np.asarray(efficiency_jth, float) - np.asarray(frontier_jth, float), 0.0)
    return ChainIndexRows(hashprice_usd_per_ph_day, height, fees_btc_per_block, efficiency_jth,
                          params.penalty_usd_per_th_per_jth * gap_jth, frontier_jth, params)


@dataclass(frozen=True)
class ChainIndexRows:
    """The second-hand index of a block's days at the chain's halving-adjusted hashprice (:func:`chain_index_rows`):
    iterating gives :class:`IndexRows`' rows of :func:`chain_halving_adjusted_hashprice` of the inputs, each
    cohort's index in turn; :func:`simulator.trades_kernel.chain_index_terms` makes the same terms in one pass from
    the inputs, ``penalty_usd_per_th`` ``(cohorts,)`` (:func:`_price_terms`' penalty) and :meth:`constants`."""

    hashprice_usd_per_ph_day: np.ndarray
    height: np.ndarray
    fees_btc_per_block: np.ndarray
    efficiency_jth: np.ndarray
    penalty_usd_per_th: np.ndarray
    frontier_jth: float
    params: AsicPriceParams

    def __iter__(self):
        hashprice = chain_halving_adjusted_hashprice(self.hashprice_usd_per_ph_day, self.height, self.fees_btc_per_block)
        yield from index_rows(hashprice, self.efficiency_jth, frontier_jth=self.frontier_jth, params=self.params)

    def constants(self) -> tuple[float, float, float]:
        """The frontier multiple ``A`` [days], the second-hand factor ``1 + π · 0`` and the floor multiple ``F`` [days]
        of :func:`_price_terms` (``new`` False), as it computes them."""
        p = self.params
        return (p.frontier_multiple_days, float(1.0 + p.new_machine_premium * np.asarray(False, float)),
                p.floor_multiple_days)


def halving_adjusted_hashprice(hashprice_usd_per_ph_day, days_to_halving, subsidy_share, horizon_days=HORIZON_DAYS):
    r"""Mean hashprice over the next ``horizon_days`` when the subsidy halves in ``days_to_halving``.

    .. math:: h_{fwd} = h \left(1 - \tfrac12\, s\, \frac{\max(H - d, 0)}{H}\right)

    with ``s`` the subsidy's share of miner revenue [fraction], ``d`` [days] the days to the
    halving (``d <= 0`` or ``inf``: none ahead, no change) and ``H`` the horizon [days]; price,
    difficulty and fees held at today's level. Buyers priced Antminer S21s at $16–17.5/TH in
    Q1 2024 (CleanSpark, Bitfarms, Cipher) against a spot hashprice near $100/PH/day, i.e. on
    the post-halving hashprice.

    >>> round(float(halving_adjusted_hashprice(100.0, 73.0, 0.9)), 6)  # 80 % of the year after it
    64.0
    """
    d = np.asarray(days_to_halving, float)
    after = np.where(d > 0, np.clip((horizon_days - d) / horizon_days, 0.0, 1.0), 0.0)
    return np.asarray(hashprice_usd_per_ph_day, float) * (1.0 - 0.5 * np.asarray(subsidy_share, float) * after)


def chain_halving_adjusted_hashprice(hashprice_usd_per_ph_day, height, fees_btc_per_block):
    r""":func:`halving_adjusted_hashprice` on a simulated chain [USD/(PH/s·day)], per path.

    With ``h`` the tip (``height``, floored in ``expected`` mode) and ``H`` the next halving
    height: days to the halving ``d = (H − h) / 144`` (blocks at the target rate, what a buyer
    expects), subsidy share ``s = subsidy(h) / (subsidy(h) + fees)`` with ``fees`` the day's
    fees per block [BTC].

    >>> # 73 days before the 2028 halving, fees a tenth of revenue: 80 % of the year after it
    >>> round(float(chain_halving_adjusted_hashprice(100.0, 1_050_000 - 73 * 144, 3.125 / 9)), 6)
    64.0
    """
    height = np.asarray(height, float)
    subsidy_btc = _subsidy_btc_a_year_before_a_halving(height)
    if subsidy_btc is not None:  # no tip within a year of its halving: every element's `after` is +0.0
        hashprice, fees = np.asarray(hashprice_usd_per_ph_day, float), np.asarray(fees_btc_per_block, float)
        if subsidy_btc > 0 and hashprice.shape == fees.shape and fees.size and fees.min() >= 0 and fees.max() < np.inf:
            return hashprice * 1.0  # every share s in [0, 1]: the factor 1 − ½ s · 0.0 is exactly 1.0
        share = subsidy_btc / (subsidy_btc + fees)
        return hashprice * (1.0 - 0.5 * share * 0.0)
    tip = np.floor(height)
    highest = _highest_tip_of_one_era(height)  # all tips in one era: its subsidy and next halving, once
    of = tip if highest is None else highest
    subsidy_btc, next_halving = chain.subsidy_btc_of_heights(of), chain.next_halving_height_of_heights(of)
    if highest is not None:
        subsidy_btc, next_halving = subsidy_btc[0], next_halving[0]
    share = subsidy_btc / (subsidy_btc + np.asarray(fees_btc_per_block, float))
    days = (next_halving - tip) / units.TARGET_BLOCKS_PER_DAY
    return halving_adjusted_hashprice(hashprice_usd_per_ph_day, days, share)


def _highest_tip_of_one_era(tip: np.ndarray) -> np.ndarray | None:
    """The greatest of tips ``floor(tip)`` (heights, floored here or before) as a one-element array if they are all
    in one era, else None (NaN among them, or none). Every tip's subsidy and next halving height are then that
    tip's (the era's), the same floats computed once. (The floor of the least and greatest height are the least
    and greatest tip: the floor is monotone; NaN stays NaN.)"""
    if not tip.size:
        return None
    low, high = np.floor(np.array([tip.min(), tip.max()]))  # NaN in either: the comparison below fails
    eras = np.floor(np.array([low, high])) // chain.HALVING_INTERVAL
    return np.array([high]) if eras[0] == eras[1] else None


def _subsidy_btc_a_year_before_a_halving(tip: np.ndarray) -> np.float64 | None:
    """The one subsidy [BTC] of tips ``floor(tip)`` (heights, floored here or before) that are all in one era
    and all at least a year (365 days of 144 blocks) before its halving, else None.

    There :func:`halving_adjusted_hashprice`'s ``after`` is ``clip((365 − d)/365, 0, 1) = +0.0`` for every
    ``d ≥ 365`` (``d`` is monotone in the tip, least at the highest), so its factor ``1 − ½ s · 0.0`` is
    computed with the scalar 0.0: the same floats, without the per-element days and eras.
    """
    highest = _highest_tip_of_one_era(tip)
    if highest is None:
        return None
    days = (chain.next_halving_height_of_heights(highest) - highest) / units.TARGET_BLOCKS_PER_DAY
    if not days[0] >= HORIZON_DAYS:
        return None
    return chain.subsidy_btc_of_heights(highest)[0]
