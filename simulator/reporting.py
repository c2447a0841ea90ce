"""The reporting actor's work: each finished day into the kept daily rows, the daily quantiles, the
monthly lines and the per-path totals, a block of days at a time (issue 19, "operations in blocks").

The reporting actor takes the operating block's daily columns and monthly lines a run of days at a
time, on the operating block's last day and on the reporting block's (:meth:`Reporter.day`): the
columns into rows ``day mod block`` of the quantile block ``(block_days, columns, paths)``
(:class:`simulator.workers.LocalQuantiles`), one copy a field, and the
:data:`~simulator.day_record.MONTHLY_LINES` (with the two per-path sums that have no monthly line)
folded into their months and the per-path totals where they are (:meth:`Reporter._fold`), the days'
trades' lines with them. Per day it writes only what depends on the day's turn: the energised fleet
(the day's alive mask) and the company's finance columns. When
the reporting block is full (or the horizon ends) :class:`Reporter` computes the signal columns of
all its days (:meth:`simulator.signals.SignalTracker.into`, written into the block) and takes the
kept rows and the quantiles.

The folds add the days in order, exactly as a running ``+=`` day by day would: the totals
are ``np.add.reduce`` over ``[totals, day 0, day 1, …]`` along the first axis, and each month's
part of the block is reduced after its first day has the month's sum so far added to it (a
reduction along the outermost axis adds whole rows one after another; it sums pairwise only
along the contiguous innermost axis, which these folds never reduce). The results are the
same floats as the day-by-day fold (``tests/test_reporting.py`` checks it), but for a zero's sign:
numpy's reduction starts from +0.0, so a sum that is −0.0 at a block's start becomes +0.0. Large
blocks fold compiled (:data:`FOLD_KERNEL`), with the same operations and operands, that +0.0 included.
"""
from __future__ import annotations

import mmap
import operator
import os
import tempfile
from dataclasses import fields
from typing import Callable

import numpy as np
import pandas as pd

from simulator.day_record import MONTHLY_LINES
from simulator.fleet import Trades
from simulator.lazy_kernel import LazyKernel
from simulator.signals import SIGNAL_COLUMNS, SignalTracker
from simulator.workers import LocalQuantiles

#: Per-path sums without a monthly line: the fleet's EH/s-days and the sum of daily hashprices.
SUM_ONLY = ("fleet_ehs_days", "hashprice_usd_per_ph_day_sum")


#: The folds compiled (:func:`simulator.reporting_kernel.fold_fields`): one pass over the block's lines instead of a
#: reduction and a month loop (~0.45 → ~0.15 ms a 500-path block, measured). A block of 2²⁰ line-path-days loads it;
#: else 2²² in numpy first, 2¹⁷ once numba runs.
FOLD_KERNEL = LazyKernel("simulator.reporting_kernel", large_from=2**20, numpy_at_most=2**22, once_numba_runs=2**17)


def fold_block(lines: np.ndarray, rows: int, sums: np.ndarray, monthly: np.ndarray, month_of_row: np.ndarray) -> None:
    """Add a block's daily lines to the per-path ``sums`` and to their months, day by day in order (the
    numpy form of :meth:`Reporter._fold`; compiled, ``reporting_kernel.fold_fields``).

    Parameters
    ----------
    lines : array (rows + 1, k, paths)
        Row 0 is scratch (it receives ``sums``); rows ``1 … rows`` are the block's days. The
        day rows may be modified (each month's first day receives the month's sum so far).
    sums : array (k, paths)
        Running per-path sums of all ``k`` lines, updated in place.
    monthly : array (months, m, paths)
        Monthly sums of the first ``m`` lines, updated in place.
    month_of_row : array (rows,) of int
        Month index of each day of the block (non-decreasing).
    """
    lines[0] = sums
    np.add.reduce(lines[:rows + 1], axis=0, out=sums)  # ((sums + day 0) + day 1) + …
    m = monthly.shape[1]
    starts = np.flatnonzero(np.r_[True, month_of_row[1:rows] != month_of_row[:rows - 1]])
    for a, b in zip(starts, np.r_[starts[1:], rows]):
        month = monthly[month_of_row[a]]
        days = lines[a + 1:b + 1, :m]
        days[0] += month  # the month so far + its first day of the block, then the rest in order
        np.add.reduce(days, axis=0, out=month)


def path_major_frame(path_ids: np.ndarray, time_name: str, times, columns: dict) -> pd.DataFrame:
    """The table of ``columns`` (arrays ``(times, paths)``, or lists of their times' rows ``(paths,)``), one row per
    path and time, sorted by path then time (``path``, ``time_name``, then the columns in order).

    Written path by path (float columns through one block: :func:`fill_path_major`,
    :func:`block_frame`), then sorted where the ids do not increase (:func:`by_path_then_time`).
    """
    path_ids = np.asarray(path_ids)
    values = [v if isinstance(v, list) else np.asarray(v) for v in columns.values()]
    if values and all(_float64(v) for v in values):
        block = np.empty((len(values), len(path_ids), len(times)))
        fill_path_major(block, values)
        frame = block_frame(path_ids, time_name, times, list(columns), block)
    else:
        frame = pd.DataFrame({"path": np.repeat(path_ids, len(times)), time_name: np.tile(times, len(path_ids)),
                              **{c: _time_major(v).T.reshape(-1) for c, v in zip(columns, values)}})
    return by_path_then_time(frame, path_ids, time_name)


def by_path_then_time(frame: pd.DataFrame, path_ids: np.ndarray, time_name: str) -> pd.DataFrame:
    """A table written path by path in the order of ``path_ids``, sorted by path then time (a stable sort,
    needed only where the ids do not increase)."""
    if np.all(path_ids[1:] > path_ids[:-1]):
        return frame
    return frame.sort_values(["path", time_name], kind="stable").reset_index(drop=True)


def fill_path_major(block: np.ndarray, values) -> None:
    """``block[j]`` ``(paths, times)`` ← ``values[j]`` ``(times, paths)`` transposed, for each column ``j``; a list of
    the times' rows ``(paths,)`` is stacked straight into ``block[j]`` as its columns (the same copies, without the
    ``(times, paths)`` array first: the ledger's monthly lines, :meth:`simulator.finance.ledger.Ledger.monthly_rows`)."""
    for j, v in enumerate(values):
        if isinstance(v, list):
            np.stack(v, axis=1, out=block[j])
        else:
            block[j] = np.asarray(v).T


def _float64(v) -> bool:
    """Whether a table's column (an array, or a list of its times' rows) holds float64."""
    if isinstance(v, list):
        return all(isinstance(x, np.ndarray) and x.dtype == np.float64 for x in v)
    return np.asarray(v).dtype == np.float64


def _time_major(v) -> np.ndarray:
    """A table's column ``(times, paths)`` (a list of its times' rows stacked)."""
    return np.stack(v) if isinstance(v, list) else v


def block_frame(path_ids: np.ndarray, time_name: str, times, names: list[str], block: np.ndarray) -> pd.DataFrame:
    """:func:`path_major_frame`'s table over ``block`` ``(columns, paths, times)`` without copying it (its rows
    path by path, each path's times in order): the frame's float columns are the block's memory (a
    buffer written by several worker processes, :func:`simulator.engine.simulate`, included).

    First touches of fresh memory are slow (0.5 ms a MB in small pages, 4–6 where numpy asks for huge
    pages, measured on the 2-core benchmark machine): one block, not a copy per column and another to
    consolidate them, keeps a 10-year run's monthly table (1,000 paths, ~90 lines: 90 MB) to one.
    """
    frame = pd.DataFrame(block.reshape(len(names), -1).T, columns=names, copy=False)
    frame.insert(0, time_name, np.tile(times, len(path_ids)))
    frame.insert(0, "path", np.repeat(path_ids, len(times)))
    return frame


def month_starts(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The first day of each calendar month the ``dates`` touch, in order (the monthly table's months)."""
    return dates.to_period("M").unique().to_timestamp()


def _memory_file() -> int:
    """A file descriptor of an unnamed file in memory: ``memfd_create`` where the system and Python have it,
    else an unlinked file in ``/dev/shm`` (memory too) or the temporary directory (Pythons built against an
    older C library lack ``os.memfd_create``; a sandbox may forbid the call)."""
    try:
        return os.memfd_create("hashfleet-tables")
    except (AttributeError, OSError):
        directory = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        with tempfile.TemporaryFile(dir=directory) as file:
            return os.dup(file.fileno())


class SharedTables:
    """The monthly and kept daily tables of one run simulated by several worker processes, written by
    the workers into shared memory in the tables' own layout (:func:`block_frame`) and read by the
    parent without a copy: no worker builds a frame, pickles it and sends it home, and the parent
    neither unpickles nor concatenates them (each a pass over fresh memory: 1.5 of bench-10y's 9.5 s).

    ``monthly`` is ``(lines, paths, months)``, ``daily`` ``(columns, kept paths, days)``; the paths of a
    chunk start at its position ``lo`` in the run's ids (its kept paths after those of the chunks before).
    The memory is a memory file (:func:`_memory_file`) the workers map shared; the frames map it
    privately (copy on write), so results behave as a single process's do: a later write or fork
    changes no one else's copy. Each live result holds the file open (one descriptor: Python's
    ``mmap`` keeps its own), until the result is dropped.
    """

    def __init__(self, path_ids: np.ndarray, keep_paths: int, dates: pd.DatetimeIndex, monthly_names: list[str],
                 daily_names: list[str]):
        self.path_ids, self.dates, self.months = np.asarray(path_ids), dates, month_starts(dates)
        self.keep = self.path_ids < keep_paths
        self.kept_before = np.cumsum(self.keep) - self.keep  # kept paths before each position
        self.monthly_names, self.daily_names = monthly_names, daily_names
        self._shapes = ((len(monthly_names), len(self.path_ids), len(self.months)),
                        (len(daily_names), int(self.keep.sum()), len(dates)))
        self._bytes = max(8 * sum(int(np.prod(shape)) for shape in self._shapes), 8)
        self._fd = _memory_file()
        try:
            os.ftruncate(self._fd, self._bytes)
            self.monthly, self.daily = self._views(mmap.mmap(self._fd, self._bytes))  # shared with the forked workers
        except BaseException:
            self.close()
            raise

    def _views(self, buffer) -> list[np.ndarray]:
        monthly, daily = self._shapes
        return [np.frombuffer(buffer, dtype=float, count=int(np.prod(shape)), offset=offset).reshape(shape)
                for shape, offset in ((monthly, 0), (daily, 8 * int(np.prod(monthly))))]

    def write(self, lo: int, monthly: dict, daily: dict | None = None) -> None:
        """A chunk's monthly lines and kept daily columns (``(times, its paths)`` each, or a list of the times' rows
        ``(its paths,)``, named as the tables; float64, as :func:`path_major_frame` takes them into one block).
        ``daily`` None: the chunk's kept rows are already in the table (written by its :class:`Reporter` into
        :meth:`kept_rows`)."""
        if not all(_float64(v) for values in (monthly, daily or {}) for v in values.values()):
            raise TypeError("a table's lines are float64 (path_major_frame would keep another dtype)")
        first = next(iter(monthly.values()))
        paths = len(first[0]) if isinstance(first, list) else first.shape[-1]
        fill_path_major(self.monthly[:, lo:lo + paths], [monthly[c] for c in self.monthly_names])
        if daily is not None:
            kept = next(iter(daily.values())).shape[-1]
            k0 = int(self.kept_before[lo])
            fill_path_major(self.daily[:, k0:k0 + kept], [daily[c] for c in self.daily_names])

    def kept_rows(self, lo: int, paths: int) -> np.ndarray:
        """The daily table's rows of the kept paths of the chunk of ``paths`` paths at position ``lo``: a view
        ``(columns, its kept paths, days)`` of the shared memory, in the layout :class:`Reporter` keeps them in
        (its ``kept_table``), so that a worker writes its kept rows once, where the parent reads them."""
        k0 = int(self.kept_before[lo])
        return self.daily[:, k0:k0 + int(self.keep[lo:lo + paths].sum())]

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The daily (kept paths) and monthly tables, once the workers have written them: over a private
        mapping of the memory, sorted by path then time as :func:`path_major_frame` sorts them."""
        monthly, daily = self._views(mmap.mmap(self._fd, self._bytes, flags=mmap.MAP_PRIVATE))
        self.close()
        kept = self.path_ids[self.keep]
        return (by_path_then_time(block_frame(kept, "date", self.dates.date, self.daily_names, daily), kept, "date"),
                by_path_then_time(block_frame(self.path_ids, "month", self.months.date, self.monthly_names, monthly),
                                  self.path_ids, "month"))

    def close(self) -> None:
        """Let the memory file go (a private mapping of it stays valid); again: nothing."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self.monthly = self.daily = None  # the shared mapping goes with its last view


class Reporter:
    """Kept daily rows, daily quantiles, monthly lines and per-path totals of one simulation.

    Parameters
    ----------
    dates : DatetimeIndex
        The simulated days.
    path_ids : array of int
        The absolute ids of the simulated paths; ids below ``keep_paths`` keep their daily rows.
    columns : tuple of str
        The daily columns in output order, the signal columns last.
    quantiles : LocalQuantiles
        The quantile block (its first axis is the block of days).
    tracker : SignalTracker
        The signal columns' state.
    quantile_columns : list of int, optional
        The columns whose daily quantiles are taken (None: all; empty: none). Without kept paths,
        the signals are computed only if one of them is wanted, and without quantiles either the
        daily columns are not written at all (:attr:`columns_wanted`).
    block_columns : (tuple of str, callable)
        The daily columns taken from the operating block a run of days at a time (:meth:`day`), and
        the function giving them: ``(block, a, z)`` → their days ``a … z − 1`` in that order, each
        ``(z − a, paths)`` (or broadcasting to it).
    day_columns : (tuple of str, callable or None)
        The other daily columns before the signals, which exist day by day, and the function writing them:
        ``(operating block, day, row, line)`` writes the day's values into ``row`` ``(columns, paths)``, the reporting
        block's day (its rows of those columns; the others it must leave as they are), and the day's energised fleet
        (:meth:`simulator.block.OpsBlock.energised_ehs`, one of them) into ``line`` ``(paths,)``, the reporting's line of
        it. None (the default, with no columns) where there are none.
    kept_table : array (columns, kept paths, days), optional
        Where the kept paths' daily rows are written (:attr:`kept`; default: a new array of zeros): the
        daily table's own layout (:func:`block_frame`), e.g. a worker's rows of the shared table
        (:meth:`SharedTables.kept_rows`), so that no table is filled from them after the run.
    """

    def __init__(self, dates: pd.DatetimeIndex, path_ids: np.ndarray, keep_paths: int, columns: tuple[str, ...],
                 quantiles: LocalQuantiles, tracker: SignalTracker, quantile_columns: list[int] | None,
                 block_columns: tuple[tuple[str, ...], Callable],
                 day_columns: tuple[tuple[str, ...], Callable | None] = ((), None),
                 kept_table: np.ndarray | None = None):
        n, self.days = len(path_ids), len(dates)
        self.keep = path_ids < keep_paths
        self.quantile_columns = quantile_columns
        wanted = range(len(columns)) if quantile_columns is None else quantile_columns
        self._take_quantiles = len(wanted) > 0
        self.columns_wanted = bool(self.keep.any() or self._take_quantiles)  # someone reads the daily columns
        self._signals_from = columns.index(SIGNAL_COLUMNS[0])
        self.signals_wanted = bool(self.keep.any() or any(j >= self._signals_from for j in wanted))
        self.month_starts = month_starts(dates)
        self.month_of_day = pd.factorize(dates.to_period("M"))[0]
        self.monthly = np.zeros((len(self.month_starts), len(MONTHLY_LINES), n))
        self.sums = np.zeros((len(MONTHLY_LINES) + len(SUM_ONLY), n))
        self.totals = {k: self.sums[j] for j, k in enumerate(MONTHLY_LINES + SUM_ONLY)}
        self.totals["days"] = np.full(n, float(self.days))
        self.columns, self.quantiles, self.tracker = columns, quantiles, tracker
        shape = (len(columns), int(self.keep.sum()), self.days)
        if kept_table is not None and kept_table.shape != shape:
            raise ValueError(f"the kept rows' table is {kept_table.shape}, not (columns, kept paths, days) {shape}")
        #: The kept paths' daily rows ``(columns, kept paths, days)``, the daily table's layout (:func:`block_frame`).
        self.kept = np.zeros(shape) if kept_table is None else kept_table
        self._kept_paths = np.flatnonzero(self.keep)
        self.block_days = quantiles.buffer.shape[0]
        self.lines = np.empty((self.block_days + 1, len(self.sums), n))  # row 0: scratch for the totals
        self.day_lines = np.empty((len(_DAY_LINES), self.block_days, n))  # the lines of each day's trades
        self.network_revenue_btc = np.empty((self.block_days, n))
        self._inputs = tuple(columns.index(c) for c in ("network_hashrate_ehs", "hashprice_usd_per_ph_day", "btc_price_usd"))
        names, self._block_columns = block_columns
        self._from_block = [columns.index(c) for c in names]
        by_day = [columns[j] for j in range(self._signals_from) if j not in self._from_block]
        if self.columns_wanted and list(day_columns[0]) != by_day:
            raise ValueError(f"the day's columns {day_columns[0]} are not the columns {tuple(by_day)} "
                             "between the block's and the signals")
        if day_columns[0] and not callable(day_columns[1]):
            raise ValueError(f"the day's columns {day_columns[0]} are given without the function writing them")
        self._day_columns = day_columns[1] if self.columns_wanted and day_columns[0] else None
        self._taken = 0  # the first day whose block columns and lines are not taken yet

    def day(self, day: int, b) -> None:
        """Record day ``day`` of operating block ``b`` (:class:`simulator.block.OpsBlock`) once the company has booked it:
        the daily columns that exist day by day written into the day's row (``day_columns``' function; not where no one
        reads the columns: :attr:`columns_wanted`) and the line of the day's energised fleet, read from the block's
        trades with the day's alive mask (:meth:`simulator.block.OpsBlock.energised_ehs`; written by that function where
        it runs; no day record is made). The block's columns and the lines of the days not taken yet (the trades' too) are taken
        on the block's last day and on the reporting block's (:meth:`_take`), before either can change: its past days
        are final (a stop masks the days from its own on, :meth:`simulator.block.OpsBlock.stop`)."""
        row = day % self.block_days
        if self._day_columns is not None:  # (the energised fleet's line too; the trades' are taken with the block's)
            self._day_columns(b, day, self.quantiles.buffer[row], self.day_lines[-1, row])
        else:
            self.day_lines[-1, row] = b.energised_ehs(day)
        end = row == self.block_days - 1 or day == self.days - 1
        if end or day == b.first + b.n - 1:
            self._take(b, self._taken, day + 1)
            self._taken = day + 1
        if end:
            self._finish_block(day - row, row + 1)

    def _take(self, b, a: int, z: int) -> None:
        """Days ``a … z − 1`` of block ``b`` (one reporting block's): their block columns and network revenue
        into the reporting block (a copy a field), their trades' lines into the block of day lines
        (:meth:`_take_trades`), and their lines folded into the months and the per-path sums (:meth:`_fold`)."""
        r0, i, j, r = a % self.block_days, a - b.first, z - b.first, b.record
        self._take_trades(b.trades[i:j], r0)
        if self.columns_wanted:
            out = self.quantiles.buffer[r0:r0 + z - a]
            for k, x in zip(self._from_block, self._block_columns(b, a, z)):
                out[:, k] = x
            self.network_revenue_btc[r0:r0 + z - a] = r.network_revenue_btc[i:j]
        self._fold(r, r0, i, j, self.month_of_day[a:z])

    def _take_trades(self, trades: list, r0: int) -> None:
        """The lines of a run of days' ``trades`` (:class:`simulator.fleet.Trades`, days ``r0 …`` of the reporting
        block) into the block of day lines, and the last day's fleet value as the end-of-run one. A line whose days
        are all one array (a block's days without trades share one row of zeros,
        :func:`simulator.fleet._unchanged_days`) is copied into the run's rows at once, else day by day: the same
        values. The days' trades are final by then: a stop masks only the days from its own on (the day's trades
        read here are the ones its turn saw)."""
        lines, rows = self.day_lines, len(trades)
        for k, days in enumerate(zip(*map(_day_trade_lines, trades))):  # (_DAY_LINES' order, the energised fleet last)
            first = days[0]
            if all(x is first for x in days):
                lines[k, r0:r0 + rows] = first
            else:
                for d, x in enumerate(days, r0):
                    lines[k, d] = x
        self.totals["end_fleet_value_usd"] = trades[-1].fleet_market_value_usd

    def _fold(self, r, r0: int, i: int, j: int, month_of_row: np.ndarray) -> None:
        """Fold the lines of days ``i … j − 1`` of block record ``r`` (reporting rows ``r0 …``) into the months
        and the per-path sums: compiled, read where they are (``reporting_kernel.fold_fields``); in numpy,
        copied into the block of lines and folded (:func:`fold_block`, the reference). The same floats
        as one fold of the reporting block: its sums and months are never −0.0 (they start at +0.0, and
        a sum is −0.0 only of two −0.0), so a fold's start from +0.0 changes nothing, and the sum of two
        numbers is one float whichever comes first (``reporting_kernel.fold_fields``' docstring; docs/decisions.md)."""
        rows = j - i
        kernel = FOLD_KERNEL.for_call(rows * self.sums.size)
        days = self.day_lines[:, r0:r0 + rows]
        if kernel is not None:
            fields = [None] * len(self.sums)
            for t, (k, _) in enumerate(_DAY_LINES):
                fields[k] = _read_only(days[t])
            for k, line in _BLOCK_LINES:
                fields[k] = _field_rows(getattr(r, line), i, j)
            kernel.fold_fields(tuple(fields), rows, self.sums, self.monthly, month_of_row)
            return
        lines = self.lines[r0:r0 + rows + 1]  # row r0: scratch (a day already folded, or the block's scratch)
        for t, (k, _) in enumerate(_DAY_LINES):
            lines[1:, k] = days[t]
        for k, line in _BLOCK_LINES:
            lines[1:, k] = _days(getattr(r, line), i, j)
        fold_block(lines, rows, self.sums, self.monthly, month_of_row)

    def _finish_block(self, first: int, rows: int) -> None:
        """The block's signals, kept rows and quantiles (which reorder the block); its lines are folded as
        they are taken (:meth:`_take`)."""
        if self.columns_wanted:
            self._finish_columns(first, rows)

    def _finish_columns(self, first: int, rows: int) -> None:
        """The block's signal columns, kept rows and (if wanted) quantiles."""
        block = self.quantiles.buffer[:rows]
        if self.signals_wanted:
            self.tracker.into(first, block, self._inputs, self.network_revenue_btc[:rows], self._signals_from)
        if self._kept_paths.size:  # (one gather of the kept paths, then one copy into the table's layout)
            self.kept[:, :, first:first + rows] = block[:, :, self._kept_paths].transpose(1, 2, 0)
        if self._take_quantiles:
            self.quantiles.finish(first, rows, self.quantile_columns)


def _read_only(x: np.ndarray) -> np.ndarray:
    """A read-only view of ``x`` (the compiled fold takes its lines as one type: read-only C-ordered float64)."""
    x = x.view()
    x.flags.writeable = False
    return x


def _field_rows(x, i: int, j: int) -> np.ndarray:
    """Days ``i … j − 1`` of a block record's field as a read-only C-ordered float64 ``(j − i, paths)`` or, for a
    field the same on every path (a per-day ``(n,)`` array, a float), ``(j − i, 1)``: the compiled fold's lines."""
    if isinstance(x, np.ndarray):
        x = x[i:j] if x.ndim > 1 else x[i:j, None]
        if x.dtype != np.float64 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float64)
    else:
        x = np.full((j - i, 1), x, dtype=np.float64)
    return _read_only(x)


def _days(x, i: int, j: int):
    """Days ``i … j − 1`` of a block record's field: rows of a per-path field ``(n, paths)``, a per-day field's
    ``(n,)`` values as a column (each day's value on every path), a float as it is."""
    if isinstance(x, np.ndarray):
        return x[i:j] if x.ndim > 1 else x[i:j, None]
    return x


_TRADES = {f.name for f in fields(Trades)}
#: The day-record field of each line of the per-path sums (:data:`MONTHLY_LINES`, then :data:`SUM_ONLY`'s).
_LINE_FIELDS = MONTHLY_LINES + ("energised_ehs", "hashprice_usd_per_ph_day")
#: The lines (index, field) taken from each day's trades (:class:`simulator.fleet.Trades`, set day by day) and
#: those taken from the block's record a run of days at a time.
_DAY_FIELDS = _TRADES | {"energised_ehs"}  # (a day's trades and energised fleet, read day by day)
_DAY_LINES = tuple((j, name) for j, name in enumerate(_LINE_FIELDS) if name in _DAY_FIELDS)
#: The day's trades' lines of :data:`_DAY_LINES`, in order (its last, the energised fleet, is not a trade).
_day_trade_lines = operator.attrgetter(*(name for _, name in _DAY_LINES[:-1]))
assert _DAY_LINES[-1][1] == "energised_ehs" and len(_DAY_LINES) > 2  # (attrgetter of one name gives no tuple)
_BLOCK_LINES = tuple((j, name) for j, name in enumerate(_LINE_FIELDS) if name not in _DAY_FIELDS)
