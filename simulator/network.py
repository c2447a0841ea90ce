"""The Bitcoin network per Monte Carlo path: hashrate, blocks, heights, difficulty, subsidy.

All state is numpy arrays over paths (last axis). One call of :func:`advance_day` mines a
day's blocks on every path, splits the day pro rata at retarget and halving heights, and
applies Bitcoin Core's retarget rule where an epoch ends (DESIGN.md, "Bitcoin mechanics"):

* A day's block count is drawn once from the start-of-day difficulty ``D`` and the day's
  mean network hashrate ``H`` [H/s]: ``N ~ Poisson(86400 H / (D 2^32))``, or exactly that
  mean in ``expected`` mode (fractional counts allowed).
* Block ``k`` of the day's ``N`` is mined at ``d + k/N``. Height ``h``'s subsidy and
  difficulty apply from the moment block ``h − 1`` is mined, so the day splits at the
  fraction ``f = (h − 1 − h_start) / N``.
* Retarget every 2,016 blocks: actual timespan = time(last block of the epoch) − time(first
  block), clamped to [T/4, 4T] (Core's 2,015-interval off-by-one), via
  :func:`simulator.chain.next_difficulty`. Difficulty is a float; it agrees with
  :func:`simulator.chain.next_bits` up to compact-encoding rounding.

Hashrate models share the market models' block API (``start`` / ``block``) and return
each day's mean network hashrate [EH/s].
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from simulator import chain, units
from simulator import network_endogenous as endogenous
from simulator.errors import InputError
from simulator.hardware import breakeven_hashprice_usd_per_ph_day
from simulator.market.replay import end_of_day_heights, epoch_times, history_window
from simulator.market.series_csv import CsvDailyModel
from simulator.lazy_kernel import LazyKernel
from simulator.rng import POISSON_MEAN_MAX, PathStreams, poisson_inverse_cdf


# --------------------------------------------------------------------------- hashrate models
def growth_day_mean(h0: float, growth_annual: float, day0: int, n_days: int) -> np.ndarray:
    """Mean of the trend ``H0 (1 + g)^(t/365)`` over each day [d, d+1), for d = day0 … day0+n−1.

    ``mean_d = H0 ((1+g)^((d+1)/365) − (1+g)^(d/365)) / (ln(1+g)/365)``, and ``H0`` when g = 0.

    Examples
    --------
    >>> float(growth_day_mean(100.0, 0.0, 0, 1)[0])
    100.0
    >>> round(float(growth_day_mean(100.0, 0.3, 0, 365).mean()), 6), round(float(30 / np.log(1.3)), 6)
    (114.344841, 114.344841)
    """
    d = np.arange(day0, day0 + n_days, dtype=float)
    if growth_annual == 0:
        return np.full(n_days, float(h0))
    rate = np.log1p(growth_annual) / units.DAYS_PER_YEAR  # continuous growth per day
    return h0 * np.exp(rate * d) * np.expm1(rate) / rate


@dataclass(frozen=True)
class TrendState:
    day: int
    log_noise: np.ndarray  # log of the GBM factor around the trend at the start of the day


@dataclass(frozen=True)
class ConstantHashrate:
    """Network hashrate fixed at ``initial_ehs`` [EH/s]."""

    initial_ehs: float

    def start(self, streams: PathStreams) -> TrendState:
        return TrendState(0, np.zeros(streams.paths))

    def block(self, state: TrendState, day0: int, n_days: int, streams: PathStreams):
        return np.full((n_days, streams.paths), self.initial_ehs), replace(state, day=day0 + n_days)


@dataclass(frozen=True)
class GrowthHashrate:
    """Trend ``H_t = H0 (1 + growth_annual)^(t/365)`` times a mean-one GBM factor.

    The factor is ``exp(σ W_t − σ² t / 2)`` with ``σ = vol_annual`` (t in years), so
    ``E[H_t]`` follows the trend (DESIGN.md, "Conventions"); a day's value is the trend's
    exact mean over the day times the factor at the day's end. Parameters are scenario
    assumptions (e.g. +30 %/yr, roughly 2023–2025's pace from the Coin Metrics history).
    """

    initial_ehs: float
    growth_annual: float
    vol_annual: float = 0.0

    def start(self, streams: PathStreams) -> TrendState:
        return TrendState(0, np.zeros(streams.paths))

    def block(self, state: TrendState, day0: int, n_days: int, streams: PathStreams):
        trend = growth_day_mean(self.initial_ehs, self.growth_annual, day0, n_days)[:, None]
        if self.vol_annual == 0:
            return np.broadcast_to(trend, (n_days, streams.paths)).copy(), replace(state, day=day0 + n_days)
        dt_years = 1.0 / units.DAYS_PER_YEAR
        # in place on the block's fresh draws (no other array of the block's size is made):
        # steps −σ²dt/2 + σ√dt Z, their running sum from the last log factor, exp, times the trend
        log_noise = streams.normal((n_days,))
        log_noise *= self.vol_annual * np.sqrt(dt_years)
        log_noise += -0.5 * self.vol_annual**2 * dt_years
        np.cumsum(log_noise, axis=0, out=log_noise)
        log_noise += state.log_noise
        end = TrendState(day0 + n_days, log_noise[-1].copy())
        np.exp(log_noise, out=log_noise)
        log_noise *= trend
        return log_noise, end


class CsvHashrate(CsvDailyModel):
    """Daily network hashrate [EH/s] from a long CSV ``date[,path],hashrate_ehs``."""

    value_name = "hashrate_ehs"
    minimum = 0.0


@dataclass(frozen=True)
class VintageState:
    """Endogenous network: EH/s per release-quarter vintage ``(vintages, paths)`` and counters."""

    ehs: np.ndarray
    days_under: np.ndarray
    hashprice_history: np.ndarray  # (lag_days, paths): days d − lag … d − 1, the last is yesterday


@dataclass(frozen=True)
class EndogenousHashrate:
    """The rest of the world buys machines on payback and unplugs vintages under water.

    The model (the payback entry rule, capitulation, the lag) is
    :mod:`simulator.network_endogenous`'s, shared with ``hashfleet calibrate``; this class
    keeps its state over the engine's paths. The starting mix is equal EH/s per release
    quarter of the hardware library's models over the last ``mix_years``
    (:meth:`~simulator.network_endogenous.Vintages.start_share`), scaled to the initial
    hashrate. Parameters come from the scenario (defaults only in the schema,
    :class:`simulator.config.schema.EndogenousHashrate`). Before the lag window has filled,
    the earliest hashprice seen stands in for the days before the start.
    """

    initial_ehs: float
    vintages: endogenous.Vintages
    params: endogenous.Params  # one parameter set (arrays of size 1), broadcast over paths
    mix_years: float

    @classmethod
    def from_library(cls, library, start: dt.date, initial_ehs: float, *, lag_days: int, elasticity: float,
                     network_power_usd_per_mwh: float, capitulation_days: int, payback_target_months: float,
                     mix_years: float) -> "EndogenousHashrate":
        """Vintages = release quarters of the library's models (``YYYY-Qn``), mean J/TH each."""
        params = endogenous.Params.of(lag_days, elasticity, network_power_usd_per_mwh, capitulation_days,
                                      payback_target_months)
        return cls(initial_ehs, endogenous.Vintages.from_library(library, start), params, float(mix_years))

    @property
    def breakeven_usd_per_ph_day(self) -> np.ndarray:
        """Each vintage's power-only breakeven hashprice ``(vintages, 1)`` [USD/(PH/s·day)]."""
        return breakeven_hashprice_usd_per_ph_day(self.params.network_power_usd_per_mwh[None, :],
                                                  self.vintages.efficiency_jth[:, None])

    def start(self, paths: int) -> VintageState:
        share = self.vintages.start_share(self.mix_years)
        ehs = np.outer(share * self.initial_ehs, np.ones(paths))
        lag = int(self.params.lag_days[0])
        return VintageState(ehs, np.zeros(ehs.shape, dtype=np.int64), np.full((lag, paths), np.nan))

    def day(self, state: VintageState, day: int) -> tuple[np.ndarray, VintageState]:
        """The day's network hashrate [EH/s] from hashprices up to yesterday."""
        history = state.hashprice_history
        if np.isnan(history[-1]).all():  # day 0: no hashprice seen yet
            return state.ehs.sum(axis=0), state
        seen = ~np.isnan(history[:, 0])
        lagged = history[0] if seen[0] else history[seen][0]
        p = self.params
        newest = int(self.vintages.newest(day))
        under = endogenous.days_under_water(state.days_under, self.breakeven_usd_per_ph_day, history[-1])
        rate = endogenous.entry_rate_per_day(lagged, self.vintages.efficiency_jth[newest], p.network_power_usd_per_mwh,
                                             p.payback_target_months, p.elasticity)
        ehs = endogenous.advance(state.ehs, under >= p.capitulation_days, newest, rate)
        return ehs.sum(axis=0), VintageState(ehs, under, history)

    def record(self, state: VintageState, hashprice_usd_per_ph_day: np.ndarray) -> VintageState:
        """Append the day's hashprice to the lag window."""
        history = np.vstack([state.hashprice_history[1:], hashprice_usd_per_ph_day[None, :]])
        return replace(state, hashprice_history=history)


@dataclass(frozen=True, eq=False)
class HistoryNetwork:
    """The network replayed from history: hashrate, block counts and difficulty (``model: history``).

    Day ``d`` of the replay takes the history's mean network hashrate ``H_d`` [EH/s] (Coin
    Metrics' estimate), its block count ``N_d`` (the day's blocks are not drawn) and, where a
    day's heights cross a retarget height ``h``, the real difficulty of the epoch starting at
    ``h`` from the epoch tables (nBits per 2,016 blocks; the retarget rule is not applied).
    The chain starts from history's state, which replaces the scenario's network start values:
    the tip ``h_0 = h_end(start − 1)`` (:func:`simulator.market.replay.end_of_day_heights`),
    the difficulty of the epoch holding block ``h_0 + 1``, and the time of the first block of
    the epoch in progress (bitcoinj's header time, or dated from the daily block counts:
    :func:`simulator.market.replay.epoch_times`). Everything else — FPPS reward split pro rata
    at retarget and halving heights, block k of N at d + k/N — is the engine's own
    (:func:`advance_day`). A ``hashrate_shock`` event scales the replayed hashrate only (blocks
    and difficulty stay history's). Parameter source: the history file and the shipped epoch
    tables.
    """

    hashrate_ehs: np.ndarray  # (days,) the replayed days
    blocks: np.ndarray  # (days,)
    epoch_difficulty: np.ndarray  # (epochs,) difficulty of the epoch starting at 2016 i
    initial_height: float
    initial_difficulty: float
    epoch_start_s: float  # time of the first block of the epoch in progress [s since the start]; NaN: to come
    prior_ehs: np.ndarray  # network hashrate of up to PRIOR_DAYS days before the start, oldest first

    #: Days of history before the start kept for moving averages (the 60-day hash ribbon's 59).
    PRIOR_DAYS = 59

    @classmethod
    def from_history(cls, history, start: dt.date, horizon_days: int) -> "HistoryNetwork":
        """Cut the replay of days ``start … start + horizon_days − 1`` out of a daily history.

        Raises
        ------
        InputError
            A replayed day without hashrate or block count, heights that cannot be placed (no
            halving and no bitcoinj epoch time in the history), or heights past the end of
            the epoch tables.
        """
        rows = history_window(history, start, horizon_days, ["hashrate_ths", "blocks"])
        heights = end_of_day_heights(history).reindex(rows.index).to_numpy()
        shown = history.attrs.get("file", "history")
        if np.isnan(heights).any():
            raise InputError(shown, 1, 1, "history: cannot number the blocks of the replayed days; the run of "
                                          "days holding them needs a halving day (2012-11-28, 2016-07-09, "
                                          "2020-05-11, 2024-04-19/20) or a day before 2025-01-13 (bitcoinj's "
                                          "epoch times) with its block count")
        epochs = epoch_times(history)
        blocks = rows["blocks"].to_numpy(dtype=float)
        tip = float(heights[0] - blocks[0])
        last_needed = int(heights[-1] + 1) // chain.RETARGET_INTERVAL
        if last_needed >= len(epochs):
            covered = int(epochs["height"].iloc[-1]) + chain.RETARGET_INTERVAL - 1
            raise InputError(shown, 1, 1, f"history: the replayed days reach height {int(heights[-1]):,}; the epoch "
                                          f"tables (simulator/data/chain) end at height {covered:,}")
        after_tip = int(tip) + 1  # the epoch in progress is block h_0 + 1's; its first block may be to come
        first = after_tip - after_tip % chain.RETARGET_INTERVAL
        start_unix = dt.datetime.combine(start, dt.time(), dt.timezone.utc).timestamp()
        epoch_start = np.nan if first == after_tip else \
            float(epochs["time_unix"].iloc[first // chain.RETARGET_INTERVAL]) - start_unix
        day0 = pd.Timestamp(start)
        before = history["hashrate_ths"].loc[day0 - pd.Timedelta(days=cls.PRIOR_DAYS):day0 - pd.Timedelta(days=1)]
        before = before.dropna()
        return cls(hashrate_ehs=rows["hashrate_ths"].to_numpy(dtype=float) / units.THS_PER_EHS, blocks=blocks,
                   epoch_difficulty=epochs["difficulty"].to_numpy(dtype=float), initial_height=tip,
                   initial_difficulty=float(epochs["difficulty"].iloc[(int(tip) + 1) // chain.RETARGET_INTERVAL]),
                   epoch_start_s=epoch_start, prior_ehs=before.to_numpy(dtype=float) / units.THS_PER_EHS)

    def initial_chain(self, paths: int) -> "ChainState":
        """History's chain at the start instant, on every path (``initial_difficulty`` is block
        ``h_0 + 1``'s already: no retarget at the start, even when the tip closes its epoch)."""
        return ChainState(height=np.full(paths, self.initial_height),
                          difficulty=np.full(paths, self.initial_difficulty),
                          epoch_start_s=np.full(paths, self.epoch_start_s),
                          next_retarget=np.full(paths, float(chain.next_retarget_height(int(self.initial_height) + 1))))

    def start(self, streams: PathStreams) -> TrendState:
        return TrendState(0, np.zeros(streams.paths))

    def block(self, state: TrendState, day0: int, n_days: int, streams: PathStreams):
        values = self.hashrate_ehs[day0:day0 + n_days, None]
        return np.repeat(values, streams.paths, axis=1), replace(state, day=day0 + n_days)

    def difficulty_at(self, heights: np.ndarray) -> np.ndarray:
        """Difficulty of the epochs starting at ``heights`` (multiples of 2,016) from the tables."""
        return self.epoch_difficulty[(np.asarray(heights) // chain.RETARGET_INTERVAL).astype(np.int64)]

    def replay(self, day: int) -> dict:
        """Keyword arguments of :func:`advance_day` that replay day ``day``'s blocks and retargets."""
        return {"blocks": self.blocks[day], "difficulty_at": self.difficulty_at}


class HashrateDays:
    """A hashrate model run day by day: exogenous models draw a block of days at a time and carry the
    product of the hashrate shocks; the endogenous model applies a shock to its vintages themselves and
    records each day's hashprice (its payback signal); a history replay also gives the day's blocks."""

    def __init__(self, model, paths: int, streams: PathStreams, block_days: int):
        self.model, self.streams, self.block_days = model, streams, block_days
        self.endogenous = isinstance(model, EndogenousHashrate)
        self.state = model.start(paths) if self.endogenous else model.start(streams)
        self.shocked, self.block = 1.0, None

    def day(self, day: int, days: int, shock: float) -> np.ndarray:
        """Day ``day``'s mean network hashrate [EH/s] after the ``shock`` factor taken today."""
        if self.endogenous:  # a shock moves the vintages themselves
            self.state = replace(self.state, ehs=self.state.ehs * shock)
            hashrate_ehs, self.state = self.model.day(self.state, day)
            return hashrate_ehs
        return self.days(day, 1, days, shock)[0]

    def days(self, first: int, n: int, days: int, shock: float) -> np.ndarray:
        """Days ``first … first + n − 1`` at once ``(n, paths)`` [EH/s], ``shock`` taken on the first: the
        values :meth:`day` gives day by day (an exogenous model's block times the product of the shocks)."""
        i = first % self.block_days
        if self.endogenous or i + n > self.block_days:
            return np.array([self.day(first + j, days, shock if j == 0 else 1.0) for j in range(n)])
        if i == 0:
            self.block, self.state = self.model.block(self.state, first, min(self.block_days, days - first), self.streams)
        self.shocked *= shock
        return self.block[i:i + n] * self.shocked

    def replay(self, day: int) -> dict:
        """Keyword arguments of :func:`advance_day` for day ``day`` (a history replay's real blocks)."""
        return self.model.replay(day) if isinstance(self.model, HistoryNetwork) else {}

    def record(self, hashprice_usd_per_ph_day: np.ndarray) -> None:
        """The day's hashprice [USD/(PH/s·day)], for the endogenous model's lagged payback."""
        if self.endogenous:
            self.state = self.model.record(self.state, hashprice_usd_per_ph_day)


# --------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class ChainState:
    """Per-path chain state at a day boundary (all arrays shape ``(paths,)``).

    ``height`` is the tip (float in ``expected`` mode); ``difficulty`` applies to the next
    block; ``epoch_start_s`` is the time [s since scenario start] of the first block of the
    epoch in progress; ``next_retarget`` is the first height of the next epoch.
    """

    height: np.ndarray
    difficulty: np.ndarray
    epoch_start_s: np.ndarray
    next_retarget: np.ndarray


def initial_chain(initial_height: int, initial_difficulty: float, epoch_start_s: float, paths: int) -> ChainState:
    """The chain at the start instant, the same on every path.

    The tip ``initial_height`` is mined at the start instant. If it is the last block of its
    epoch (``initial_height mod 2016 = 2015``), the retarget happens then: block
    ``initial_height + 1`` gets ``chain.next_difficulty(initial_difficulty, 0 − epoch_start_s)``
    and the new epoch's first block comes on day 0 (its time is set when it is mined).
    """
    difficulty, first_block_s = float(initial_difficulty), float(epoch_start_s)
    if (initial_height + 1) % chain.RETARGET_INTERVAL == 0:
        difficulty = float(chain.next_difficulty(difficulty, -first_block_s))
        first_block_s = np.nan
    return ChainState(
        height=np.full(paths, float(initial_height)),
        difficulty=np.full(paths, difficulty),
        epoch_start_s=np.full(paths, first_block_s),
        next_retarget=np.full(paths, float(chain.next_retarget_height(initial_height + 1))),
    )


def default_epoch_start_s(initial_height: int) -> float:
    """Time of the epoch's first block when not given: ``−(height mod 2016) × 600`` s."""
    return -float(initial_height % chain.RETARGET_INTERVAL) * units.TARGET_BLOCK_INTERVAL_S


def scenario_chain(net, start: dt.date, hashrate_model, paths: int) -> ChainState:
    """A scenario's chain at the start: a :class:`HistoryNetwork` replay starts from history's chain,
    else :func:`initial_chain` at the ``network`` section's tip, with ``epoch_start_time`` [s since
    the start's 00:00 UTC] or :func:`default_epoch_start_s`."""
    if isinstance(hashrate_model, HistoryNetwork):
        return hashrate_model.initial_chain(paths)
    epoch_start_s = ((net.epoch_start_time - dt.datetime.combine(start, dt.time(), dt.timezone.utc)).total_seconds()
                     if net.epoch_start_time else default_epoch_start_s(net.initial_height))
    return initial_chain(net.initial_height, net.initial_difficulty, epoch_start_s, paths)


@dataclass(frozen=True)
class DayBlocks:
    """What a day's blocks did, per path.

    ``reward_btc_per_hs_day`` is the FPPS expected reward of 1 H/s over the day, before pool
    fee: ``∫ 86400 (subsidy(t) + fees) / (D(t) 2^32) dt`` over the day's fraction, i.e. the
    time-weighted sum over the day's segments split at retarget and halving heights.
    ``miner_revenue_btc`` is what the whole network's miners earned from the day's ``N``
    blocks: ``Σ subsidy(h) + N × fees`` over the heights mined (split at a halving).
    """

    blocks: np.ndarray
    expected_blocks: np.ndarray
    reward_btc_per_hs_day: np.ndarray
    miner_revenue_btc: np.ndarray


def advance_day(state: ChainState, day: int, hashrate_hs: np.ndarray, fees_btc_per_block: np.ndarray,
                u_blocks: np.ndarray | None, blocks: np.ndarray | None = None,
                difficulty_at=None) -> tuple[ChainState, DayBlocks]:
    """Mine day ``day``'s blocks on every path; retarget and halve where heights cross.

    Parameters
    ----------
    state : ChainState
        Start-of-day chain.
    hashrate_hs : array (paths,)
        The day's mean network hashrate [H/s].
    fees_btc_per_block : array (paths,)
        The day's fees per block [BTC].
    u_blocks : array (paths,) or None
        Uniforms for the Poisson count; ``None`` selects ``expected`` mode.
    blocks : array (paths,) or float, optional
        The day's block count, given (a replay of history); replaces the draw.
    difficulty_at : callable, optional
        ``difficulty_at(heights) -> difficulties`` of the epochs starting at ``heights`` (a
        replay's epoch table); replaces the retarget rule.

    Notes
    -----
    Every path's day is first computed in one segment; the paths that reach a retarget or
    halving height (:func:`_busy_paths`) are redone by the full split (:func:`_split_day`),
    whose numbers the one segment equals bit for bit elsewhere (docs/decisions.md, issue 19 `net`).
    """
    d0 = state.difficulty
    mean_blocks = units.SECONDS_PER_DAY * hashrate_hs / (d0 * units.HASHES_PER_DIFFICULTY_1)
    if blocks is not None:
        n = np.broadcast_to(np.asarray(blocks, dtype=float), d0.shape).copy()
    else:
        _check_blocks_countable(day, mean_blocks, hashrate_hs, d0)
        n = mean_blocks if u_blocks is None else poisson_inverse_cdf(u_blocks, mean_blocks).astype(float)
    h_end = state.height + n
    busy, subsidy_btc = _busy_paths(state, h_end)
    # the whole day in one segment on every path; the paths that may cross a height are redone below
    reward = _REWARD_K * ((subsidy_btc + fees_btc_per_block) / d0)
    revenue = subsidy_btc * n + n * fees_btc_per_block
    new_state = _split_busy(state, day, n, h_end, busy, subsidy_btc, fees_btc_per_block, difficulty_at, reward,
                            revenue)
    return new_state, DayBlocks(n, mean_blocks, reward, revenue)


def _check_blocks_countable(day: int, mean_blocks: np.ndarray, hashrate_hs: np.ndarray, difficulty: np.ndarray):
    """Raise ``ValueError`` where a day's expected blocks exceed :data:`simulator.rng.POISSON_MEAN_MAX` (2⁵²,
    +inf included), in either block mode: heights past 2⁵³ are not exact (no retarget height could be
    met) and no Poisson count can be drawn; only an overflowed or absurd hashrate gets there. NaN passes."""
    big = mean_blocks > POISSON_MEAN_MAX
    if big.any():
        i = int(np.flatnonzero(big)[0])
        hashrate_ehs = float(np.broadcast_to(hashrate_hs, big.shape)[i]) / units.HS_PER_EHS
        raise ValueError(f"day {day}: {float(mean_blocks[i]):.4g} blocks expected (a network hashrate of "
                         f"{hashrate_ehs:.4g} EH/s at difficulty {float(difficulty[i]):.4g}) is above 2**52, beyond "
                         "the heights doubles count exactly: the hashrate overflowed or is absurd")


def _split_busy(state: ChainState, day: int, n: np.ndarray, h_end: np.ndarray, busy, subsidy_btc,
                fees_btc_per_block, difficulty_at, reward: np.ndarray, revenue: np.ndarray) -> ChainState:
    """The end-of-day chain from the one-segment day (``h_end``; ``reward`` and ``revenue``, which the
    busy paths' split (:func:`_split_day`) overwrites in place), given :func:`_busy_paths`' answer."""
    d0 = state.difficulty
    if busy is None:
        return ChainState(h_end, d0, state.epoch_start_s, state.next_retarget)
    sub = ChainState(*(x[busy] for x in (state.height, d0, state.epoch_start_s, state.next_retarget)))
    sub_state, sub_reward, sub_revenue = _split_day(
        sub, day, n[busy], fees_btc_per_block[busy] if np.ndim(fees_btc_per_block) else fees_btc_per_block,
        difficulty_at, subsidy_btc if np.ndim(subsidy_btc) == 0 else None)
    new_state = ChainState(h_end, d0.copy(), state.epoch_start_s.copy(), state.next_retarget.copy())
    for whole, part in ((new_state.difficulty, sub_state.difficulty), (new_state.epoch_start_s, sub_state.epoch_start_s),
                        (new_state.next_retarget, sub_state.next_retarget), (reward, sub_reward), (revenue, sub_revenue)):
        if part is not None:
            whole[busy] = part
    return new_state


@dataclass(frozen=True)
class NetworkBlock:
    """A block of days of the network, arrays ``(n, paths)``: the day's mean hashrate [EH/s], its
    :class:`DayBlocks`, and the difficulty and height at each day's end."""

    hashrate_ehs: np.ndarray
    blocks: DayBlocks
    difficulty: np.ndarray
    height: np.ndarray


def advance_block(state: ChainState, hashrate: HashrateDays, first: int, n: int, days: int,
                  price_usd: np.ndarray, fees_btc_per_block: np.ndarray, u_blocks: np.ndarray | None,
                  shock: float) -> tuple[ChainState, NetworkBlock]:
    """Days ``first … first + n − 1`` of the network (:func:`advance_day` day after day: each day's
    blocks set the next day's difficulty, and the endogenous hashrate records each day's hashprice
    at the close ``price_usd`` ``(n, paths)``); ``shock`` is the hashrate shock taken on the first day.
    ``u_blocks`` ``(n, paths)`` are the Poisson uniforms (None: ``expected`` mode).

    A large run goes through the compiled network day (:mod:`simulator.network_kernel`, the same
    numbers): the whole block in one call (:func:`_compiled_block`), or day by day for the
    endogenous hashrate (:func:`_compiled_day`); a history replay and a small run through
    :func:`advance_day`.
    """
    out = np.empty((7, n) + state.height.shape)
    hashrate_ehs, blocks, expected, reward, revenue, difficulty, height = out
    paths = state.height.size
    kernel = None if isinstance(hashrate.model, HistoryNetwork) or not paths else \
        NETWORK_KERNEL.for_call(n * paths, n * _NUMPY_DAY_COST)
    if kernel is not None:
        fees = np.ascontiguousarray(np.broadcast_to(fees_btc_per_block, out.shape[1:]), dtype=float)
        u = np.empty((n, 0)) if u_blocks is None else np.ascontiguousarray(u_blocks, dtype=float)
        z = np.empty((n, 0)) if u_blocks is None else kernel.poisson_normal_guess(u)  # (rng's, compiled)
        if not hashrate.endogenous:
            state = _compiled_block(kernel, state, hashrate, first, days, shock, (fees, u, z), out)
            return state, NetworkBlock(hashrate_ehs, DayBlocks(blocks, expected, reward, revenue), difficulty, height)
    for j in range(n):
        day = first + j
        hashrate_ehs[j] = hashrate.day(day, days, shock if j == 0 else 1.0)
        if kernel is None:
            state, b = advance_day(state, day, hashrate_ehs[j] * units.HS_PER_EHS, fees_btc_per_block[j],
                                   None if u_blocks is None else u_blocks[j], **hashrate.replay(day))
            blocks[j], expected[j], reward[j], revenue[j] = b.blocks, b.expected_blocks, b.reward_btc_per_hs_day, \
                b.miner_revenue_btc
        else:
            state = _compiled_day(kernel, state, day, hashrate_ehs[j], fees[j], u[j], z[j],
                                  (blocks[j], expected[j], reward[j], revenue[j]))
        difficulty[j], height[j] = state.difficulty, state.height
        if hashrate.endogenous:
            hashrate.record(hashprice_usd_per_ph_day(reward[j], price_usd[j]))
    return state, NetworkBlock(hashrate_ehs, DayBlocks(blocks, expected, reward, revenue), difficulty, height)


def _compiled_day(kernel, state: ChainState, day: int, hashrate_ehs: np.ndarray, fees_btc_per_block: np.ndarray,
                  u: np.ndarray, z: np.ndarray, rows: tuple) -> ChainState:
    """:func:`advance_day` of a day through :func:`simulator.network_kernel.one_segment_day`, into
    ``rows`` (the day's blocks, expected blocks, reward and revenue): the whole day compiled, the
    busy paths' split too; near a halving the split is numpy's, outside the kernel's domain the whole day."""
    blocks, expected, reward, revenue = rows
    chain_end = np.empty((4,) + blocks.shape)
    m = kernel.one_segment_day(day, state.height, state.difficulty, state.epoch_start_s, state.next_retarget,
                               hashrate_ehs, fees_btc_per_block, u, z, u.size > 0, ERA_SUBSIDY_BTC, blocks, expected,
                               reward, revenue, *chain_end, kernel.CDF_TABLE)
    if m >= 0:
        return ChainState(*chain_end)
    if m == kernel.OTHER:
        return _numpy_day(state, day, hashrate_ehs, fees_btc_per_block, u if u.size else None, rows)
    return _near_halving_day(state, day, fees_btc_per_block, rows)


def _numpy_day(state: ChainState, day: int, hashrate_ehs: np.ndarray, fees_btc_per_block: np.ndarray,
               u: np.ndarray | None, rows: tuple) -> ChainState:
    """:func:`advance_day` of a day outside the kernels' domain, its blocks, expected blocks, reward and revenue
    written into ``rows``."""
    state, b = advance_day(state, day, hashrate_ehs * units.HS_PER_EHS, fees_btc_per_block, u)
    for row, values in zip(rows, (b.blocks, b.expected_blocks, b.reward_btc_per_hs_day, b.miner_revenue_btc)):
        row[:] = values
    return state


def _near_halving_day(state: ChainState, day: int, fees_btc_per_block: np.ndarray, rows: tuple) -> ChainState:
    """The rest of :func:`advance_day` for a day the kernel left at :data:`simulator.network_kernel.NEAR_HALVING`
    with its counts drawn (``rows``' blocks and expected blocks, the kernel's: numpy's bit for bit): the busy
    paths' split (the halving's arithmetic) in numpy, the reward and revenue written into ``rows``."""
    blocks, _, reward, revenue = rows
    h_end = state.height + blocks
    busy, subsidy_btc = _busy_paths(state, h_end)
    reward[:] = _REWARD_K * ((subsidy_btc + fees_btc_per_block) / state.difficulty)
    revenue[:] = subsidy_btc * blocks + blocks * fees_btc_per_block
    return _split_busy(state, day, blocks, h_end, busy, subsidy_btc, fees_btc_per_block, None, reward, revenue)


def _compiled_block(kernel, state: ChainState, hashrate: HashrateDays, first: int, days: int, shock: float,
                    inputs: tuple, out: np.ndarray) -> ChainState:
    """:func:`advance_block` of an exogenous hashrate through :func:`simulator.network_kernel.block_days`:
    the block's days in one call, the chain advanced in place; a day the kernel leaves is finished in numpy
    (near a halving, from the kernel's counts: :func:`_near_halving_day`; outside its domain, :func:`advance_day`'s
    whole day), and the kernel goes on from the next."""
    hashrate_ehs, blocks, expected, reward, revenue, difficulty, height = out
    fees, u, z = inputs
    n = out.shape[1]
    hashrate_ehs[:] = hashrate.days(first, n, days, shock)
    chain_now = np.array([state.height, state.difficulty, state.epoch_start_s, state.next_retarget])
    poisson, j = u.shape[1] > 0, 0
    while True:
        j, status = kernel.block_days(first, j, *chain_now, hashrate_ehs, fees, u, z, poisson, ERA_SUBSIDY_BTC,
                                      blocks, expected, reward, revenue, difficulty, height, kernel.CDF_TABLE)
        if j == n:
            return ChainState(*chain_now)
        day_state, rows = ChainState(*chain_now.copy()), (blocks[j], expected[j], reward[j], revenue[j])
        if status == kernel.NEAR_HALVING:  # the counts are the kernel's (no Poisson in numpy)
            day_end = _near_halving_day(day_state, first + j, fees[j], rows)
        else:
            day_end = _numpy_day(day_state, first + j, hashrate_ehs[j], fees[j], u[j] if poisson else None, rows)
        chain_now[:] = day_end.height, day_end.difficulty, day_end.epoch_start_s, day_end.next_retarget
        difficulty[j], height[j] = day_end.difficulty, day_end.height
        j += 1


#: The compiled network day (:mod:`simulator.network_kernel`): loaded for a block of at least 2¹² path-days
#: or once a process has spent 2¹⁹ units (~0.13 s) on numpy days, each counting its paths plus
#: :data:`_NUMPY_DAY_COST` (a numpy day's fixed cost, ~60 µs, in units of one path's ~0.25 µs).
NETWORK_KERNEL = LazyKernel("simulator.network_kernel", large_from=2**12, numpy_at_most=2**19)
_NUMPY_DAY_COST = 256
#: Subsidy [BTC] of each halving era 0 … 64 (Core's rule, :func:`simulator.chain.subsidy_btc_of_heights`).
ERA_SUBSIDY_BTC = chain.subsidy_btc_of_heights(np.arange(chain.MAX_HALVINGS + 1) * float(chain.HALVING_INTERVAL))


def _busy_paths(state: ChainState, h_end: np.ndarray):
    """The paths whose day :func:`_split_day` must split (indices, or ``None``: none), and the
    subsidy [BTC] of the day's blocks on the others (a scalar unless a halving is near).

    A path is busy when its tip reaches the block before its next retarget or halving height
    (``h_end >= h − 1``), or its epoch's first block is still to come (``epoch_start_s`` NaN).
    Every other path mines its whole day in one segment — ``reward = k (s + fees) / D``,
    revenue ``s N + N fees``, difficulty, epoch start and next retarget carried over — which
    are :func:`_split_day`'s numbers bit for bit: its other segments have length exactly 0
    (fractions ``a = b = 1``), ``1 × x = x`` and ``x + 0 = x``.
    """
    busy = (h_end >= state.next_retarget - 1) | np.isnan(state.epoch_start_s)
    low = int(state.height.min())  # heights >= 0: int() floors
    if h_end.max() < (low // chain.HALVING_INTERVAL + 1) * chain.HALVING_INTERVAL - 1:
        # no path reaches the lowest tip's next halving: every block is in that tip's era
        subsidy_btc = chain.block_subsidy_sats(low + 1) / units.SATS_PER_BTC  # = subsidy_btc_of_heights' entry
    else:
        busy |= h_end >= chain.next_halving_height_of_heights(state.height) - 1
        subsidy_btc = chain.subsidy_btc_of_heights(state.height + 1)
    at = np.flatnonzero(busy)
    return (at if at.size else None), subsidy_btc


def _split_day(state: ChainState, day: int, n: np.ndarray, fees_btc_per_block: np.ndarray, difficulty_at,
               era_subsidy_btc):
    """:func:`advance_day` on paths whose day may cross retarget or halving heights: the new
    state, the reward of 1 H/s [BTC/(H/s·day)] and the miners' revenue [BTC].

    ``era_subsidy_btc`` [BTC], when given, is every block's subsidy (no path reaches a halving
    today): the halving's fraction is then 1 and both subsidies the era's — the numbers the
    halving arithmetic would give — and the revenue is left to :func:`advance_day` (``None``).
    Every epoch that ends today retargets (Core: every 2,016 blocks, whatever the day), each from
    its own first block's time (:func:`_retargets`). The reward weights each difficulty by the
    time it holds: with one retarget by the closed form below (pieces split at the retarget and
    halving fractions ``a ≤ b``), with several piece by piece.
    """
    d0, h_start = state.difficulty, state.height
    h_end = h_start + n
    safe_n = np.where(n > 0, n, 1.0)

    def time_s(height):  # time [s since start] block `height` is mined, within this day
        return (day + (height - h_start) / safe_n) * units.SECONDS_PER_DAY

    def fraction(height):  # day fraction before the params of `height` apply (block height-1 mined)
        crossing = (h_start < height - 1) & (height - 1 <= h_end) & (n > 0)
        return np.where(crossing, (height - 1 - h_start) / safe_n, 1.0), crossing

    if era_subsidy_btc is None:
        halving = chain.next_halving_height_of_heights(h_start)
        f_halving, halving_today = fraction(halving)
        s_old = chain.subsidy_btc_of_heights(h_start + 1)
        # without a halving today the new era's subsidy only ever multiplies an exact 0 below
        s_new = chain.subsidy_btc_of_heights(np.maximum(halving, h_start + 1)) if halving_today.any() else s_old
    else:  # no path reaches a halving: one era's subsidy all day (the fraction before it is 1)
        f_halving, s_old = 1.0, era_subsidy_btc
        s_new = s_old

    def piece(f_from, f_to):  # ∫ (subsidy + fees) dt over the day's fractions [f_from, f_to] [BTC·day]
        return _piece(f_from, f_to, f_halving, s_old, s_new, fees_btc_per_block)

    f_retarget, crossed = fraction(state.next_retarget)
    difficulty, epoch_start, retarget, several = _retargets(state, n, safe_n, crossed, time_s, piece, difficulty_at)
    d_new = difficulty
    a, b = np.minimum(f_retarget, f_halving), np.maximum(f_retarget, f_halving)
    mid_d = np.where(f_retarget < f_halving, d_new, d0)
    mid_s = np.where(f_retarget < f_halving, s_old, s_new)
    reward = _REWARD_K * (a * (s_old + fees_btc_per_block) / d0
                          + (b - a) * (mid_s + fees_btc_per_block) / mid_d
                          + (1 - b) * (s_new + fees_btc_per_block) / d_new)
    if several is not None:  # more than one retarget today: Σ over the pieces (k ∫ (s + fees)/D dt)
        reward = np.where(several[0], _REWARD_K * several[1], reward)
    if era_subsidy_btc is not None:
        return ChainState(h_end, difficulty, epoch_start, retarget), reward, None  # revenue: advance_day's
    old_blocks = np.clip(halving - 1 - h_start, 0.0, n)  # heights below the halving pay s_old
    revenue = s_old * old_blocks + s_new * (n - old_blocks) + n * fees_btc_per_block
    eras = h_end > halving + chain.HALVING_INTERVAL - 1  # a block (or part) of a third era today
    if eras.any():
        revenue = np.where(eras, _revenue_of_eras(h_start, n, fees_btc_per_block), revenue)
    return ChainState(h_end, difficulty, epoch_start, retarget), reward, revenue


def _revenue_of_eras(h_start: np.ndarray, n: np.ndarray, fees_btc_per_block) -> np.ndarray:
    """The miners' revenue [BTC] of heights ``h_start + 1 … h_start + n`` era by era, for a day that
    crosses several halvings: ``Σ_e s_e (c(b_{e+1}) − c(b_e)) + n fees`` with ``b_e = 210,000 e``, ``s_e``
    Core's subsidy of era ``e`` and ``c(b) = clip(b − 1 − h_start, 0, n)`` the blocks below height ``b``
    (:func:`_split_day`'s own count, so fractional in ``expected`` mode). At most 65 rounds: from era
    64 on the subsidy is 0.

    The reward keeps the second era's subsidy past a second halving in the day: its weight there is
    below 4⁻¹⁰⁰ of the day's (the 104 retargets between two halvings each take the clamp's 4×).
    """
    first_era = np.floor(h_start + 1) // chain.HALVING_INTERVAL
    last_era = np.minimum(np.ceil(h_start + n) // chain.HALVING_INTERVAL, chain.MAX_HALVINGS)  # a part block: the next
    revenue = n * fees_btc_per_block
    for k in range(int(np.max(last_era - first_era, initial=0)) + 1):
        era = np.minimum(first_era + k, chain.MAX_HALVINGS)
        below_next = np.clip((era + 1) * chain.HALVING_INTERVAL - 1 - h_start, 0.0, n)
        below = np.clip(era * chain.HALVING_INTERVAL - 1 - h_start, 0.0, n)
        revenue = revenue + np.where(first_era + k <= last_era,
                                     ERA_SUBSIDY_BTC[era.astype(np.intp)] * (below_next - below),
                                     0.0)
    return revenue


def _piece(f_from, f_to, f_halving, s_old, s_new, fees_btc_per_block):
    """``∫ (s(t) + fees) dt`` over the day fractions ``[f_from, f_to]`` [BTC·day], the subsidy ``s_old``
    before the fraction ``f_halving`` and ``s_new`` after (:mod:`simulator.network_kernel` writes the same)."""
    return ((np.minimum(f_to, f_halving) - np.minimum(f_from, f_halving)) * (s_old + fees_btc_per_block)
            + (np.maximum(f_to, f_halving) - np.maximum(f_from, f_halving)) * (s_new + fees_btc_per_block))


def _retargets(state: ChainState, n, safe_n, crossed, time_s, piece, difficulty_at):
    """The retargets of :func:`_split_day`'s day: the end-of-day difficulty, epoch start [s] and next
    retarget height, and where a path retargets more than once ``(mask, Σ piece / D)`` over the day's
    pieces between retargets (else ``None``).

    ``crossed`` (changed in place) marks the paths that mine the last block of their epoch today. An
    epoch whose first block comes today starts then, before its own end is reached (with ≥ 2,016 blocks
    today: its timespan was NaN). Each epoch ending today retargets from its first block's time
    (:func:`simulator.chain.next_difficulty`) or takes ``difficulty_at`` (a replay); the next epoch's
    first block is today's or tomorrow's (NaN). Once a difficulty is not finite (every retarget inside
    a day of ≥ 2,016 blocks takes the clamp's 4×: +inf after ~520), the rest of the day's retargets
    cannot change it and are skipped to the last, so a day of any count ends in at most ~520 rounds.
    """
    h_start, h_end = state.height, state.height + n
    difficulty, epoch_start, retarget = state.difficulty.copy(), state.epoch_start_s.copy(), state.next_retarget.copy()
    # first block of an epoch whose last block was mined yesterday: mined today
    first_today = np.isnan(epoch_start) & (retarget - chain.RETARGET_INTERVAL <= h_end) & (n > 0)
    epoch_start = np.where(first_today, time_s(retarget - chain.RETARGET_INTERVAL), epoch_start)
    count, f_from, per_difficulty = np.zeros(h_start.shape), np.zeros(h_start.shape), np.zeros(h_start.shape)
    while crossed.any():
        last_s = time_s(retarget - 1)
        d_next = chain.next_difficulty(difficulty, last_s - epoch_start) if difficulty_at is None \
            else difficulty_at(retarget)
        f_here = (retarget - 1 - h_start) / safe_n
        per_difficulty = np.where(crossed, per_difficulty + piece(f_from, f_here) / difficulty, per_difficulty)
        f_from = np.where(crossed, f_here, f_from)
        count += crossed
        difficulty = np.where(crossed, d_next, difficulty)
        first_in_day = crossed & (retarget <= h_end)
        epoch_start = np.where(first_in_day, time_s(retarget), epoch_start)
        pending = crossed & ~first_in_day
        epoch_start = np.where(pending, np.nan, epoch_start)  # first block comes tomorrow
        retarget = np.where(crossed, retarget + chain.RETARGET_INTERVAL, retarget)
        crossed &= retarget - 1 <= h_end  # another epoch ends today
        stuck = crossed & ~np.isfinite(difficulty)
        if stuck.any():  # skip to the day's last epoch end: the difficulty stays what it is
            more = np.floor((h_end - (retarget - 1)) / chain.RETARGET_INTERVAL) + 1
            retarget = np.where(stuck, retarget + more * chain.RETARGET_INTERVAL, retarget)
            count += np.where(stuck, more, 0.0)
            first = retarget - chain.RETARGET_INTERVAL
            epoch_start = np.where(stuck, np.where(first <= h_end, time_s(first), np.nan), epoch_start)
            crossed &= ~stuck
    several = count >= 2
    if not several.any():
        return difficulty, epoch_start, retarget, None
    return difficulty, epoch_start, retarget, (several, per_difficulty + piece(f_from, 1.0) / difficulty)


#: ``86400 / 2^32``: seconds a day over hashes per unit of difficulty [s/H].
_REWARD_K = units.SECONDS_PER_DAY / units.HASHES_PER_DIFFICULTY_1


def hashprice_usd_per_ph_day(reward_btc_per_hs_day: np.ndarray, price_usd: np.ndarray) -> np.ndarray:
    """Hashprice [USD/(PH/s·day)] before pool fee: reward of 1 PH/s for a day × BTC price.

    ``1e15 × 86400 / (D 2^32) × (subsidy + fees) × price`` (DESIGN.md, "Economics"), with the
    day's time-weighted difficulty and subsidy.
    """
    return reward_btc_per_hs_day * units.HS_PER_PHS * price_usd

