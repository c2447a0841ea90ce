"""A run of a workflow simulated in chunks of its paths, each chunk a task of its own (:mod:`simulator.workflows.runs`).

A chunk is simulated as a run's worker processes simulate theirs (:func:`simulator.engine.simulate_chunk`:
path ``i`` depends only on ``(seed, i)``, so the chunks' per-path results joined in path order are the
whole run's, bit for bit), and writes its monthly and kept daily rows into the run's
:class:`~simulator.reporting.SharedTables`. Unlike a run's workers, the chunks of a workflow's run need
not run at the same time, nor in different processes, so they cannot meet at a barrier for each block
of days to take the daily quantiles across paths (:class:`simulator.workers.SharedQuantiles`). Instead
each chunk copies, a block of days at a time, its paths' daily columns whose quantiles are taken into
the run's table of every day and path in shared memory (:class:`ChunkQuantiles`); once every chunk is
in, :meth:`ChunkedRun.results` takes the percentiles of that table block by block — the same calls on
the same numbers as one process makes (:meth:`simulator.workers.LocalQuantiles.finish`), so the same
bits. The table is ``days × columns taken × paths`` floats (none for ``compare``, two columns for
``upgrade``); a run whose table would exceed :data:`MAX_QUANTILE_BYTES` is not split.

A whole run is simulated the same way, as its one chunk: its tables are then written once, into memory
the parent reads as it is, instead of being built into frames by the process, pickled, sent and
unpickled (each a pass over fresh memory, whose first touch is slow: see
:class:`~simulator.reporting.SharedTables`), and its quantiles are taken by the parent, otherwise idle.
Everything shared is allocated by the parent before it forks the processes that simulate the chunks,
and held by them until they end (:func:`shared_bytes`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.config.schema import Scenario
from simulator.engine import (QUANTILE_BLOCK_DAYS, daily_columns, join_chunks, monthly_lines, quantile_columns,
                              run_results, simulate_chunk)
from simulator.reporting import SharedTables
from simulator.results import Results, exact_percentiles
from simulator.workers import LocalQuantiles, shared_floats

#: Most bytes of one run's table of daily columns for its quantiles (a run needing more is simulated by
#: :func:`simulator.engine.simulate` in its process and comes back pickled, never split).
MAX_QUANTILE_BYTES = 256 * 2**20


def quantile_bytes(scenario: Scenario, paths: int, daily_quantiles: bool | tuple[str, ...]) -> int:
    """The bytes of a run's table of the daily columns whose quantiles are taken."""
    taken = quantile_columns(daily_columns(scenario), daily_quantiles)
    columns = len(daily_columns(scenario)) if taken is None else len(taken)
    return 8 * scenario.horizon_days * columns * paths


def shared_bytes(scenario: Scenario, paths: int, keep_paths: int, daily_quantiles: bool | tuple[str, ...]) -> int:
    """The bytes of shared memory a :class:`ChunkedRun` holds until the processes end: its monthly and kept
    daily tables and its quantiles' table (months counted generously, as
    :func:`simulator.engine.estimate_memory_bytes` does)."""
    months = scenario.horizon_days // 28 + 2
    tables = len(monthly_lines(scenario)) * paths * months + len(daily_columns(scenario)) * min(keep_paths, paths) \
        * scenario.horizon_days
    return 8 * tables + quantile_bytes(scenario, paths, daily_quantiles)


class ChunkQuantiles(LocalQuantiles):
    """A chunk's block of daily columns (``buffer`` ``(block_days, columns, its paths)``, as the reporting
    writes it); :meth:`finish` copies the block's rows of the columns taken into the run's ``table``
    ``(days, columns taken, paths)`` at the chunk's paths ``lo … hi − 1``."""

    def __init__(self, table: np.ndarray | None, columns: int, lo: int, hi: int, block_days: int):
        self.buffer = np.empty((block_days, columns, hi - lo))
        self.table, self.lo, self.hi = table, lo, hi

    def finish(self, first: int, rows: int, columns: list[int] | None = None) -> None:
        block = self.buffer[:rows] if columns is None else self.buffer[:rows, columns]
        self.table[first:first + rows, :, self.lo:self.hi] = block


class ChunkedRun:
    """A run of ``scenario`` (``paths`` paths, ``seed``; ``keep_paths`` and ``daily_quantiles`` as
    :func:`simulator.engine.simulate` takes them) simulated in chunks: made in the parent before the fork,
    :meth:`simulate` in the forked processes (any chunks, in any order), :meth:`results` in the parent once
    every chunk is in, then :meth:`close` (again: nothing)."""

    def __init__(self, scenario: Scenario, paths: int, seed: int, keep_paths: int,
                 daily_quantiles: bool | tuple[str, ...]):
        self.scenario, self.seed, self.keep_paths, self.daily_quantiles = scenario, seed, keep_paths, daily_quantiles
        self.ids = np.arange(paths)
        self.columns = daily_columns(scenario)
        self.taken = quantile_columns(self.columns, daily_quantiles)
        dates = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D")
        taken = len(self.columns) if self.taken is None else len(self.taken)
        self.table = shared_floats((scenario.horizon_days, taken, paths)) if taken else None
        self.tables = SharedTables(self.ids, keep_paths, dates, list(monthly_lines(scenario)), list(self.columns))

    def simulate(self, lo: int, hi: int, progress) -> dict:
        """Paths ``lo … hi − 1`` (in a forked process): their per-path results; their tables written to shared memory."""
        quantiles = ChunkQuantiles(self.table, len(self.columns), lo, hi, QUANTILE_BLOCK_DAYS)
        return simulate_chunk(self.scenario, self.seed, self.ids[lo:hi], lo, self.tables, quantiles, progress,
                              self.keep_paths, self.daily_quantiles)

    def results(self, parts: list[dict]) -> Results:
        """The run's results from its chunks' per-path results, in path order."""
        days = self.scenario.horizon_days
        out = np.zeros((days, len(self.columns), 3))
        if self.table is not None:
            for first in range(0, days, QUANTILE_BLOCK_DAYS):  # the blocks one process takes, one at a time
                rows = min(QUANTILE_BLOCK_DAYS, days - first)
                block = exact_percentiles(self.table[first:first + rows].copy())  # (it reorders the rows it is given)
                if self.taken is None:
                    out[first:first + rows] = block
                else:
                    out[first:first + rows, self.taken] = block
        try:
            return run_results(self.scenario, self.seed, self.ids, join_chunks(parts, self.tables), out,
                               self.daily_quantiles)
        finally:
            self.close()

    def close(self) -> None:
        """Let the shared memory go (the results' tables keep their private mapping)."""
        self.tables.close()
        self.table = None
