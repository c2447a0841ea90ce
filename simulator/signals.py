"""Daily signals analysts watch, vectorised over Monte Carlo paths (issue 9, "Signals").

Three families, each a daily column of ``run`` and ``backtest`` outputs (and their
``daily_quantiles``):

* **Hash ribbons** (:func:`hash_ribbons`): the 30- and 60-day simple moving averages of
  network hashrate, and a capitulation flag while the 30-day one is below the 60-day one
  (recovery is the day the flag drops back to 0). Source: C. Edwards (Capriole
  Investments), "Hash Ribbons" (2019); GLOSSARY.md, "Hash ribbons".
* **Hashrate under water** (:func:`underwater_fraction`, :func:`network_cost_mix`): the share
  of network hashrate whose power cost exceeds the day's hashprice, from a model of the
  network's efficiency mix (the hardware library's release quarters) at one network power
  price.
* **Miner sell pressure** (:func:`sell_pressure`): the whole network's miner revenue in BTC
  times an industry sell fraction, in BTC and USD per day.

:class:`SignalTracker` keeps the moving-average window between days; everything else is a
pure function of arrays whose last axis is the path.

Warm-up rule (before 60 days of simulated history exist): the days before the start are the
history's network hashrate when the network replays history (``model: history``: up to 59
real days), and otherwise — or where the history has no such day — copies of the earliest
value known (the start day's network hashrate for a simulated network: the network is taken
to have been flat before the start). The averages therefore always span 30 and 60 days.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from simulator import units
from simulator.hardware import breakeven_hashprice_usd_per_ph_day
from simulator.lazy_kernel import LazyKernel
from simulator.network_endogenous import Vintages

#: The daily signal columns, in output order.
SIGNAL_COLUMNS: tuple[str, ...] = (
    "network_hashrate_30d_ehs", "network_hashrate_60d_ehs", "hash_ribbon_capitulation",
    "underwater_hashrate_fraction", "miner_sell_pressure_btc", "miner_sell_pressure_usd",
)
#: Window of the short and the long hash ribbon [days] (Edwards 2019).
RIBBON_SHORT_DAYS = 30
RIBBON_LONG_DAYS = 60
#: Relative margin by which the 30-day average must be below the 60-day one to count: equal
#: averages of a flat network differ by rounding only (≈ 1e-16), never by this much.
_ROUNDING = 1e-9
#: The block's window sums and under-water lookup compiled (:mod:`simulator.reporting_kernel`), per
#: path-day of a block: ~80 ns in numpy, ~10 compiled (1,000 paths, measured). A block of 2²⁰ path-days
#: loads it; else 2²² in numpy first (~0.3 s, about numba's import), 2¹⁷ (~10 ms) once numba runs.
SIGNALS_KERNEL = LazyKernel("simulator.reporting_kernel", large_from=2**20, numpy_at_most=2**22, once_numba_runs=2**17)


def hash_ribbons(window_ehs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30- and 60-day moving averages of network hashrate and the capitulation flag.

    Parameters
    ----------
    window_ehs : array (60, paths)
        Daily network hashrate [EH/s] of the last 60 days, oldest first (today last).

    Returns
    -------
    ma30_ehs, ma60_ehs : arrays (paths,)
        ``MA_n(d) = (1/n) Σ_{i=d−n+1}^{d} H_i`` [EH/s].
    capitulation : array (paths,)
        1.0 while ``MA_30 < MA_60`` (miners capitulating; by more than a 1e-9 relative
        rounding margin), else 0.0.

    Examples
    --------
    >>> w = np.r_[np.full(30, 100.0), np.full(30, 90.0)][:, None]  # hashrate fell 10 % a month ago
    >>> [float(x[0]) for x in hash_ribbons(w)]
    [90.0, 95.0, 1.0]
    """
    return _ribbons(np.ascontiguousarray(window_ehs.T))  # each path's days contiguous: one summation order


def _ribbons(by_path: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`hash_ribbons` of ``by_path`` ``(paths, 60)`` (rows contiguous, oldest day first)."""
    ma30 = by_path[:, -RIBBON_SHORT_DAYS:].sum(axis=1) / RIBBON_SHORT_DAYS
    ma60 = by_path[:, -RIBBON_LONG_DAYS:].sum(axis=1) / RIBBON_LONG_DAYS
    return ma30, ma60, (ma30 < ma60 * (1 - _ROUNDING)).astype(float)


def network_cost_mix(library: Mapping, start: dt.date, days: int, mix_years: float,
                     power_usd_per_mwh: float) -> tuple[np.ndarray, np.ndarray]:
    """The network's breakeven hashprices and each day's hashrate weights.

    Parameters
    ----------
    library : mapping of id -> HardwareProfile
        The hardware library (models with a release date count).
    start : datetime.date
        Day 0.
    days : int
        Days simulated.
    mix_years : float
        Years of releases in the network's fleet on any day.
    power_usd_per_mwh : float
        Power price the network pays [USD/MWh].

    Returns
    -------
    breakeven_usd_per_ph_day : array (vintages,)
        ``b_v = p · 24 · e_v / 1000`` [USD/(PH/s·day)]: the hashprice at which vintage v's
        energy costs what it earns (:func:`simulator.hardware.breakeven_hashprice_usd_per_ph_day`,
        no pool fee, no overhead), with ``e_v`` its mean J/TH.
    weights : array (days, vintages)
        Share of network hashrate of each vintage on each day: equal EH/s per release quarter
        released in ``(d − mix_years, d]``; if none, the newest released by then; before the
        first release, the first vintage.

    Notes
    -----
    Vintages are the release quarters of the library's models, exactly as the ``endogenous``
    network model builds them (:meth:`simulator.network_endogenous.Vintages.from_library`),
    and so is the mix: DESIGN.md's starting mix of that model (equal EH/s per quarter over
    the last ``mix_years``), rolled forward day by day. Defaults (``network.mix_years`` and
    ``network.network_power_usd_per_mwh``, the same two settings the endogenous model reads):
    4 years and 50 USD/MWh (DESIGN.md); 5 US cents
    per kWh is the average grid price miners see (Luxor's J. Mellerud, quoted by
    extracrypto.net, "Bitcoin mining difficulty drops the most since July 2021").
    """
    vintages = Vintages.from_library(library, start)
    release = vintages.release_day
    day = np.arange(days, dtype=float)[:, None]
    window = mix_years * units.DAYS_PER_YEAR
    released = release[None, :] <= day
    inside = released & (release[None, :] > day - window)
    n_released = released.sum(axis=1, keepdims=True)  # vintages come sorted by release
    index = np.arange(release.size)[None, :]
    fallback = index == np.maximum(n_released - 1, 0)  # the newest released, else the first
    chosen = np.where(inside.any(axis=1, keepdims=True), inside, fallback)
    weights = chosen / chosen.sum(axis=1, keepdims=True)
    breakeven = breakeven_hashprice_usd_per_ph_day(power_usd_per_mwh, vintages.efficiency_jth)
    return np.asarray(breakeven, dtype=float), weights


def underwater_fraction(hashprice_usd_per_ph_day: np.ndarray, breakeven_usd_per_ph_day: np.ndarray,
                        weights: np.ndarray) -> np.ndarray:
    """Share of network hashrate whose power costs more than it earns.

    ``U = Σ_v w_v · 1[b_v > hashprice]`` [fraction], with ``b_v`` and ``w_v`` from
    :func:`network_cost_mix`; hashprice before pool fee, as the index publishes it.

    Examples
    --------
    >>> float(underwater_fraction(np.array([30.0]), np.array([20.0, 40.0]), np.array([0.5, 0.5]))[0])
    0.5
    """
    order = np.argsort(breakeven_usd_per_ph_day, kind="stable")
    above = np.r_[np.cumsum(weights[order][::-1])[::-1], 0.0]  # above[k] = Σ_{j ≥ k} w of the sorted b
    first_above = np.searchsorted(breakeven_usd_per_ph_day[order], hashprice_usd_per_ph_day, side="right")
    return above[first_above]  # no sum over paths: the same value whatever the chunk


def sell_pressure(miner_revenue_btc: np.ndarray, price_usd: np.ndarray,
                  sell_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate miner sell pressure per day [BTC, USD].

    ``S_btc = f · R_btc`` and ``S_usd = S_btc · P`` with ``R_btc`` the whole network's miner
    revenue that day (subsidy + fees of the day's blocks), ``P`` the day's close and ``f`` the
    industry sell fraction (``signals.industry_sell_fraction``; default 0.8: the mean of
    TheMinerMag's liquidation-to-production ratio of the 13 largest public miners in July–October
    2023, 64 %, 77 %, 77 % and 105 %, reported by Bloomberg in November 2023, "Bitcoin miners sold
    more tokens than they minted during October's crypto rally", cryptoius.com repost; the ratio
    swung from 20–40 % in early 2022 to about 390 % in June 2022, so treat it as a scenario
    assumption).

    Examples
    --------
    >>> [float(x[0]) for x in sell_pressure(np.array([450.0]), np.array([60000.0]), 0.8)]
    [360.0, 21600000.0]
    """
    btc = sell_fraction * miner_revenue_btc
    return btc, btc * price_usd


@dataclass
class SignalTracker:
    """The signal columns a block of days at a time (the last 59 days of hashrate are its only state).

    Parameters
    ----------
    breakeven_usd_per_ph_day, weights : arrays
        From :func:`network_cost_mix`.
    sell_fraction : float
        Industry sell fraction.
    prior_ehs : array (k,), optional
        Network hashrate of the k ≤ 59 days before the start, oldest first (a replay's
        history); missing older days repeat the earliest known value (the module's warm-up
        rule).

    Every column is computed for all the block's days at once and equals, bit for bit, the
    day-by-day formulas: each moving average is a sum over one path's contiguous days (a
    sliding window over ``(paths, 59 + days)``), as :func:`hash_ribbons` sums; compiled, numpy's
    pairwise sum of each window written out (:mod:`simulator.reporting_kernel`).
    """

    breakeven_usd_per_ph_day: np.ndarray
    weights: np.ndarray
    sell_fraction: float
    prior_ehs: np.ndarray | None = None
    _history: np.ndarray | None = None  # (59, paths): each path's last 59 days, oldest first

    def _warm_up(self, first_ehs: np.ndarray) -> np.ndarray:
        """The 59 days before day 0 ``(59, paths)`` by the warm-up rule (``first_ehs``: day 0's hashrate)."""
        paths = first_ehs.shape[0]
        prior = np.zeros((0, paths)) if self.prior_ehs is None or not len(self.prior_ehs) else \
            np.repeat(np.asarray(self.prior_ehs, dtype=float)[-(RIBBON_LONG_DAYS - 1):, None], paths, 1)
        earliest = prior[:1] if len(prior) else first_ehs[None, :]
        pad = np.repeat(earliest, RIBBON_LONG_DAYS - 1 - len(prior), axis=0)
        return np.vstack([pad, prior])

    def block(self, first_day: int, hashrate_ehs: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
              miner_revenue_btc: np.ndarray, price_usd: np.ndarray) -> dict[str, np.ndarray]:
        """The signal columns of days ``first_day …`` (call for consecutive blocks, in order): arguments
        and results are ``(days, paths)``."""
        today = np.asarray(hashrate_ehs, dtype=float)
        kernel = SIGNALS_KERNEL.for_call(today.size)
        if kernel is None:
            return self._numpy_block(first_day, today, hashprice_usd_per_ph_day, miner_revenue_btc, price_usd)
        block = np.empty((today.shape[0], 3 + len(SIGNAL_COLUMNS), today.shape[1]))
        for j, x in enumerate((today, hashprice_usd_per_ph_day, price_usd)):
            block[:, j] = x
        self._compiled_block(kernel, first_day, block, (0, 1, 2), np.ascontiguousarray(miner_revenue_btc, dtype=float), 3)
        return {c: block[:, 3 + j] for j, c in enumerate(SIGNAL_COLUMNS)}

    def into(self, first_day: int, block: np.ndarray, inputs: tuple[int, int, int], miner_revenue_btc: np.ndarray,
             out_from: int) -> None:
        """:meth:`block`'s columns of the reporting block ``block`` ``(days, columns, paths)`` written into its
        columns ``out_from …`` (in :data:`SIGNAL_COLUMNS`' order), from its columns ``inputs`` (network hashrate,
        hashprice, BTC price) and ``miner_revenue_btc`` ``(days, paths)``: compiled in one pass
        (``reporting_kernel.signal_columns``) once the kernel is loaded, without a column copied out or back."""
        kernel = SIGNALS_KERNEL.for_call(block.shape[0] * block.shape[2])
        if kernel is not None:
            self._compiled_block(kernel, first_day, block, inputs, miner_revenue_btc, out_from)
            return
        hashrate, hashprice, price = (block[:, j] for j in inputs)
        columns = self._numpy_block(first_day, np.asarray(hashrate, dtype=float), hashprice, miner_revenue_btc, price)
        for j, c in enumerate(SIGNAL_COLUMNS, start=out_from):
            block[:, j] = columns[c]

    def _compiled_block(self, kernel, first_day: int, block: np.ndarray, inputs, revenue: np.ndarray,
                        out_from: int) -> None:
        """``reporting_kernel.signal_columns`` of ``block`` (the arguments of :meth:`into`)."""
        days = block.shape[0]
        if self._history is None:
            self._history = self._warm_up(np.asarray(block[0, inputs[0]], dtype=float))
        sorted_breakeven, above = self._tail_table(self.weights[first_day:first_day + days])
        kernel.signal_columns(block, days, np.array(inputs, dtype=np.int64), self._history, revenue,
                              float(self.sell_fraction), 1 - _ROUNDING, sorted_breakeven, above,
                              RIBBON_SHORT_DAYS, RIBBON_LONG_DAYS, out_from)

    def _numpy_block(self, first_day: int, today: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
                     miner_revenue_btc: np.ndarray, price_usd: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`block` in numpy (the reference form; ``today`` the hashrate ``(days, paths)``, float)."""
        if self._history is None:
            self._history = self._warm_up(today[0])
        days = np.empty((today.shape[1], RIBBON_LONG_DAYS - 1 + today.shape[0]))  # (paths, 59 + days)
        days[:, :RIBBON_LONG_DAYS - 1] = self._history.T
        days[:, RIBBON_LONG_DAYS - 1:] = today.T
        self._history = np.ascontiguousarray(days[:, -(RIBBON_LONG_DAYS - 1):].T)
        window = sliding_window_view(days, RIBBON_LONG_DAYS, axis=1)  # (paths, days, 60), each window contiguous
        sum30, sum60 = window[:, :, -RIBBON_SHORT_DAYS:].sum(axis=-1).T, window.sum(axis=-1).T
        ma30, ma60 = sum30 / RIBBON_SHORT_DAYS, sum60 / RIBBON_LONG_DAYS
        sold_btc, sold_usd = sell_pressure(miner_revenue_btc, price_usd, self.sell_fraction)
        return {
            "network_hashrate_30d_ehs": ma30, "network_hashrate_60d_ehs": ma60,
            "hash_ribbon_capitulation": (ma30 < ma60 * (1 - _ROUNDING)).astype(float),
            "underwater_hashrate_fraction": self._underwater(
                hashprice_usd_per_ph_day, self.weights[first_day:first_day + today.shape[0]]),
            "miner_sell_pressure_btc": sold_btc, "miner_sell_pressure_usd": sold_usd,
        }

    def _tail_table(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The breakevens in order and, for each day's ``weights`` row, ``above[d, k]``: the weight of the
        sorted breakevens from the ``k``-th on (running sums along the row, as the 1-D formula's)."""
        b = self.breakeven_usd_per_ph_day
        order = np.argsort(b, kind="stable")
        above = np.zeros((weights.shape[0], b.size + 1))
        above[:, :-1] = np.cumsum(weights[:, order][:, ::-1], axis=1)[:, ::-1]
        return b[order], above

    def _underwater(self, hashprice_usd_per_ph_day: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """:func:`underwater_fraction` of each day ``(days, paths)`` with that day's ``weights`` row
        (:meth:`_tail_table`: the same floats as the 1-D formula)."""
        sorted_breakeven, above = self._tail_table(weights)
        first_above = np.searchsorted(sorted_breakeven, hashprice_usd_per_ph_day, side="right")
        return np.take_along_axis(above, first_above, axis=1)
