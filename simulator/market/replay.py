"""Replaying history: the per-epoch chain tables, block heights per day, and history-driven models.

``hashfleet backtest`` (and any scenario that names ``model: history``) replays the real BTC
price, fees, network hashrate, block counts and difficulty instead of simulating them. This
module turns the two shipped data sets into what the engine needs:

* the **epoch tables** (``simulator/data/chain``): nBits and difficulty of every 2,016-block
  epoch from Electrum's checkpoints (heights 0 … 953,568), with the header time of the
  epoch's first block from bitcoinj's checkpoints where it has one (heights ≤ 878,976,
  2025-01-12) — :func:`load_epochs`;
* **heights per day** from the daily block counts of the history (Coin Metrics ``BlkCnt``):
  ``height_end(d) = offset + Σ_{i ≤ d} blocks_i`` — :func:`end_of_day_heights`; the offset is
  fixed exactly by a halving day (whose subsidy splits into old- and new-era blocks) or, in a
  history without one, by the bitcoinj epoch times;
* **epoch dates** after bitcoinj's last timestamp from those heights: block ``h`` mined on
  day ``d`` (``h_start(d) < h ≤ h_end(d)``) is dated ``d + (h − h_start(d)) / N_d`` days,
  the engine's own convention (DESIGN.md: block k of N in day d is mined at d + k/N) —
  :func:`epoch_times`;
* :class:`HistoryPrice` and :class:`HistoryFees`, the market models of a replay
  (``market.btc_price: {model: history}``, ``market.fees: {model: history}``).

The network side of a replay (hashrate, blocks and retargets from history) is
:class:`simulator.network.HistoryNetwork`, built on the functions here.

Every bad input is an :class:`~simulator.errors.InputError` at the history file's line of the
offending row (``FILE:1:1`` when the problem is the window itself).
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from importlib.resources import as_file, files

import numpy as np
import pandas as pd

from simulator import chain, units
from simulator.errors import InputError
from simulator.market.history import load_history
from simulator.market.series_csv import as_date, check_block

#: Unix time of the genesis block (height 0), the first epoch's start.
GENESIS_TIME_UNIX = 1_231_006_505

#: Relative tolerance when matching a day's subsidy per block to an era's subsidy.
_ERA_RTOL = 1e-9


# --------------------------------------------------------------------------- epoch tables
@functools.lru_cache(maxsize=1)
def _epochs() -> pd.DataFrame:
    root = files("simulator") / "data" / "chain"
    with as_file(root / "difficulty_epoch_targets_electrum.csv") as path:
        electrum = pd.read_csv(path, dtype={"nbits_hex": str})
    with as_file(root / "difficulty_epochs_bitcoinj.csv") as path:
        bitcoinj = pd.read_csv(path, dtype={"nbits_hex": str})
    genesis = pd.DataFrame({"height": [0], "nbits_hex": [f"0x{chain.DIFF1_BITS:08x}"], "difficulty": [1.0]})
    table = pd.concat([genesis, electrum[["height", "nbits_hex", "difficulty"]]], ignore_index=True)
    times = dict(zip(bitcoinj["height"], bitcoinj["timestamp_unix"].astype(float)))
    times[0] = float(GENESIS_TIME_UNIX)
    table["time_unix"] = table["height"].map(times).astype(float)
    if not np.array_equal(table["height"].to_numpy(), np.arange(len(table)) * chain.RETARGET_INTERVAL):
        raise RuntimeError("the shipped epoch tables have a gap")  # pragma: no cover (shipped data)
    return table


def load_epochs() -> pd.DataFrame:
    """The epoch tables: one row per 2,016-block epoch, genesis first.

    Returns
    -------
    pandas.DataFrame
        ``height`` (first block of the epoch, a multiple of 2,016), ``nbits_hex``,
        ``difficulty`` (target(0x1d00ffff) / target(nBits), exact to the float), and
        ``time_unix``: the header time of the epoch's first block from bitcoinj's
        checkpoints [s since 1970], NaN after height 878,976 (see :func:`epoch_times`).
        Sources: Electrum (MIT) and bitcoinj (Apache-2.0), ``simulator/data/chain/NOTICE.md``.

    Examples
    --------
    >>> e = load_epochs()
    >>> int(e.height.iloc[-1]), e.loc[e.height == 840672, "difficulty"].item()
    (953568, 88104191118793.16)
    """
    return _epochs().copy()


# --------------------------------------------------------------------------- heights per day
def _shown(history: pd.DataFrame) -> str:
    return history.attrs.get("file", "history")


def _line(history: pd.DataFrame, position: int) -> int:
    lines = history.attrs.get("lines")
    return int(lines[position]) if lines is not None and 0 <= position < len(lines) else 1


def _segments(history: pd.DataFrame) -> np.ndarray:
    """Id of the run of consecutive days with a block count each row belongs to (−1: none)."""
    blocks = history["blocks"].to_numpy(dtype=float)
    days = history.index.to_numpy().astype("datetime64[D]").astype(np.int64)
    known = np.isfinite(blocks)
    starts = np.ones(len(blocks), dtype=bool)
    starts[1:] = (np.diff(days) != 1) | ~known[:-1]
    seg = np.cumsum(starts) - 1
    return np.where(known, seg, -1)


def _halving_offsets(history: pd.DataFrame, cum_before: np.ndarray, seg: np.ndarray) -> dict[int, float]:
    """Exact height offsets from days where the subsidy per block falls to the next era.

    On such a day ``N`` blocks pay ``n_old`` × s_k + (N − n_old) × s_{k+1} = subsidy, so the
    day's first block is ``H_{k+1} − n_old`` and the tip before it ``H_{k+1} − 1 − n_old``.
    """
    blocks = history["blocks"].to_numpy(dtype=float)
    subsidy = history["subsidy_btc"].to_numpy(dtype=float)
    initial_btc = chain.INITIAL_SUBSIDY_SATS / units.SATS_PER_BTC
    with np.errstate(invalid="ignore", divide="ignore"):
        per_block = subsidy / blocks
        era = np.round(np.log2(initial_btc / per_block[:-1]))  # the previous day's era k
        s_old = initial_btc / 2.0**era
        n_old = (subsidy[1:] - blocks[1:] * s_old / 2) / (s_old / 2)  # today's blocks of era k
        found = ((seg[1:] >= 0) & (seg[1:] == seg[:-1]) & (era >= 0)
                 & np.isclose(per_block[:-1], s_old, rtol=_ERA_RTOL, atol=0.0)
                 & (per_block[1:] < s_old * (1 - _ERA_RTOL))
                 & (n_old > -1e-6) & (n_old < blocks[1:] + 1e-6) & (np.abs(n_old - np.round(n_old)) < 1e-6))
    day = np.flatnonzero(found) + 1
    tips = (era[day - 1] + 1) * chain.HALVING_INTERVAL - 1 - np.round(n_old[day - 1])
    offsets = tips - cum_before[day]
    return {int(s): float(np.median(offsets[seg[day] == s])) for s in np.unique(seg[day])}


def _bitcoinj_offsets(history: pd.DataFrame, cum_before: np.ndarray, seg: np.ndarray) -> dict[int, float]:
    """Height offsets from bitcoinj's epoch times: median of ``height − (cum + fraction × N)``."""
    epochs = _epochs().dropna(subset=["time_unix"])
    day_of = (epochs["time_unix"].to_numpy() // units.SECONDS_PER_DAY).astype(np.int64)
    fraction = (epochs["time_unix"].to_numpy() % units.SECONDS_PER_DAY) / units.SECONDS_PER_DAY
    days = history.index.to_numpy().astype("datetime64[D]").astype(np.int64)
    pos = np.searchsorted(days, day_of)
    inside = (pos < len(days)) & (days[np.minimum(pos, len(days) - 1)] == day_of)
    pos, fraction, heights = pos[inside], fraction[inside], epochs["height"].to_numpy()[inside]
    blocks = history["blocks"].to_numpy(dtype=float)[pos]
    ok = seg[pos] >= 0
    estimate = heights[ok] - (cum_before[pos][ok] + fraction[ok] * blocks[ok])
    out: dict[int, float] = {}
    for s in np.unique(seg[pos][ok]):
        out[int(s)] = float(np.round(np.median(estimate[seg[pos][ok] == s])))
    return out


def end_of_day_heights(history: pd.DataFrame) -> pd.Series:
    """The chain's tip at the end of each day of the history [height], NaN where unknown.

    Notes
    -----
    ``h_end(d) = offset + Σ_{i ≤ d} N_i`` over each run of consecutive days with a block
    count ``N``. The offset is exact where the run holds a halving day: Coin Metrics'
    subsidy that day is ``n_old s_k + (N − n_old) s_{k+1}``, so the tip before the day is
    ``H_{k+1} − 1 − n_old`` (every halving since 2012 gives the same offset, 68,784, for the
    shipped file). Otherwise it is the median over bitcoinj's epoch times inside the run of
    ``height − (Σ_{i<d} N_i + f N_d)`` (block times interpolated through the day, fraction
    ``f``), rounded — within a few blocks of the exact value. A run with neither has no
    heights (NaN).

    Examples
    --------
    >>> h = end_of_day_heights(load_history())
    >>> int(h.loc["2024-04-19"]), int(h.loc["2024-04-20"])  # Coin Metrics dates 840,000-840,003 (00:09 UTC on) 04-19
    (840003, 840133)
    """
    seg = _segments(history)
    blocks = np.where(seg >= 0, history["blocks"].to_numpy(dtype=float), 0.0)
    cum = pd.Series(blocks).groupby(seg).cumsum().to_numpy()  # within each run
    cum_before = cum - blocks
    offsets = _bitcoinj_offsets(history, cum_before, seg)
    offsets.update(_halving_offsets(history, cum_before, seg))  # exact ones win
    by_run = np.full(seg.max() + 2, np.nan)  # index −1 (no run) stays NaN
    by_run[list(offsets)] = list(offsets.values())
    return pd.Series(cum + by_run[seg], index=history.index, name="height")


def epoch_times(history: pd.DataFrame | None = None) -> pd.DataFrame:
    """The epoch tables with every epoch dated: bitcoinj's time, else from the daily block counts.

    Parameters
    ----------
    history : pandas.DataFrame, optional
        A daily history (:func:`simulator.market.history.load_history`); default the shipped one.

    Returns
    -------
    pandas.DataFrame
        :func:`load_epochs` with ``time_unix`` filled where the history's heights reach the
        epoch, and ``dated_from``: ``"bitcoinj"`` or ``"daily_counts"`` (NaN / ``None`` beyond
        the history).

    Notes
    -----
    Block ``h`` mined on day ``d`` (``h_start(d) < h ≤ h_end(d)``, :func:`end_of_day_heights`)
    is dated ``t = d + (h − h_start(d)) / N_d`` [days]: block k of N at d + k/N, as the engine
    interpolates block times. On the bitcoinj overlap (2010-07-18 … 2025-01-12) these dates
    agree with the real header times within a few hours (``tests/test_backtest.py``).

    Examples
    --------
    >>> e = epoch_times()
    >>> row = e[e.height == 880992].iloc[0]  # the first epoch after bitcoinj's last
    >>> row.dated_from, str(pd.Timestamp(row.time_unix, unit="s").date())
    ('daily_counts', '2025-01-27')
    """
    history = load_history() if history is None else history
    table = load_epochs()
    heights = end_of_day_heights(history).to_numpy()
    blocks = history["blocks"].to_numpy(dtype=float)
    days = history.index.to_numpy().astype("datetime64[D]").astype(np.int64)
    known = np.isfinite(heights)
    dated_from = np.where(table["time_unix"].notna(), "bitcoinj", None).astype(object)
    missing = table["time_unix"].isna().to_numpy()
    if known.any():
        h_end, h_start, day, n = heights[known], heights[known] - blocks[known], days[known], blocks[known]
        target = table["height"].to_numpy(dtype=float)
        pos = np.searchsorted(h_end, target, side="left")  # first day whose tip reaches the height
        found = (pos < len(h_end)) & missing
        pos = np.minimum(pos, len(h_end) - 1)
        found &= (h_start[pos] < target) & (target <= h_end[pos])
        t = (day[pos] + (target - h_start[pos]) / np.where(n[pos] > 0, n[pos], 1.0)) * units.SECONDS_PER_DAY
        table.loc[found, "time_unix"] = t[found]
        dated_from[found] = "daily_counts"
    table["dated_from"] = dated_from
    return table


# --------------------------------------------------------------------------- the replay window
def history_window(history: pd.DataFrame, start: dt.date | str, n_days: int, columns) -> pd.DataFrame:
    """Rows ``start … start + n_days − 1`` of the history with every one of ``columns`` known.

    Raises
    ------
    InputError
        The window is not inside the history (``FILE:1:1``), or a day in it has no row or an
        empty cell (at that row's line, or the line of the row after a missing day).

    Examples
    --------
    >>> list(history_window(load_history(), "2024-04-19", 2, ["blocks"]).blocks)
    [151.0, 130.0]
    """
    start = as_date(start)
    end = start + dt.timedelta(days=int(n_days) - 1)
    shown = _shown(history)
    first, last = history.index[0].date(), history.index[-1].date()
    if start < first or end > last:
        raise InputError(shown, 1, 1, f"history covers {first} … {last}; the replayed days {start} … {end} "
                                      f"must lie inside it (pass another history file, or choose dates in it)")
    wanted = pd.date_range(start, end, freq="D")
    pos = history.index.get_indexer(wanted)
    if (pos < 0).any():
        day = wanted[np.flatnonzero(pos < 0)[0]]
        after = int(history.index.searchsorted(day))
        raise InputError(shown, _line(history, after), 1, f"history: no row for {day.date()}; every replayed day "
                                                          f"({start} … {end}) needs one")
    rows = history.iloc[pos]
    for column in columns:
        empty = np.flatnonzero(rows[column].isna().to_numpy())
        if empty.size:
            i = int(pos[empty[0]])
            raise InputError(shown, _line(history, i), 1, f"history: {column} is empty on {history.index[i].date()}, "
                                                          f"a replayed day")
    return rows


@dataclass(frozen=True)
class _ReplayState:
    day: int


@dataclass(frozen=True, eq=False)
class _DailyReplay:
    """A daily series of the history cut to the simulated days, under the market block API."""

    values: np.ndarray = field(repr=False)

    def start(self, streams) -> _ReplayState:
        return _ReplayState(0)

    def block(self, state: _ReplayState, day0: int, n_days: int, streams) -> tuple[np.ndarray, _ReplayState]:
        check_block(state.day, day0, n_days)
        if day0 + n_days > self.values.size:
            raise ValueError(f"the replay covers {self.values.size} days; day {day0 + n_days - 1} asked")
        out = np.repeat(self.values[day0:day0 + n_days, None], streams.paths, axis=1)
        return out, _ReplayState(day0 + n_days)


class HistoryPrice(_DailyReplay):
    """BTC price replayed from the daily history [USD per BTC]: ``S_d = price_usd(start + d)``.

    Parameters
    ----------
    history : pandas.DataFrame
        :func:`simulator.market.history.load_history` (``price_usd`` is Coin Metrics' close,
        00:00 UTC of the next day, DESIGN.md's daily close).
    start : datetime.date or ISO str
        Day 0.
    horizon_days : int
        Days replayed; every one must have a price (else InputError at its line).

    Notes
    -----
    No randomness: every path gets the same history. Parameter source: the history file.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = HistoryPrice(load_history(), "2024-04-20", 2)
    >>> streams = PathStreams(1, "btc_price", np.arange(2))
    >>> prices, _ = model.block(model.start(streams), 0, 2, streams)
    >>> np.round(prices[:, 0], 2).tolist()
    [64907.99, 64968.19]
    """

    def __init__(self, history: pd.DataFrame, start, horizon_days: int) -> None:
        rows = history_window(history, start, horizon_days, ["price_usd"])
        super().__init__(rows["price_usd"].to_numpy(dtype=float))


class HistoryFees(_DailyReplay):
    """Fees per block replayed from the daily history [BTC]: ``f_d = fees_btc_d / blocks_d``.

    Parameters
    ----------
    history : pandas.DataFrame
        :func:`simulator.market.history.load_history` (``fees_btc``: all fees paid that day,
        ``blocks``: blocks mined that day).
    start : datetime.date or ISO str
        Day 0.
    horizon_days : int
        Days replayed.

    Notes
    -----
    A day without blocks has fees 0. With the replayed block counts, ``f_d N_d`` is exactly
    the day's fees. No randomness. Parameter source: the history file.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = HistoryFees(load_history(), "2024-04-20", 1)  # the Runes launch
    >>> streams = PathStreams(1, "fees", np.arange(1))
    >>> round(float(model.block(model.start(streams), 0, 1, streams)[0][0, 0]), 3)
    9.281
    """

    def __init__(self, history: pd.DataFrame, start, horizon_days: int) -> None:
        rows = history_window(history, start, horizon_days, ["fees_btc", "blocks"])
        blocks = rows["blocks"].to_numpy(dtype=float)
        fees = np.divide(rows["fees_btc"].to_numpy(dtype=float), blocks, out=np.zeros_like(blocks),
                         where=blocks > 0)
        super().__init__(fees)
