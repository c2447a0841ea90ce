"""Blocks of days: how the engine's operating actors advance, and what a block hands to finance.

Issue 19 ("operations in blocks"): the operating actors (fleet, failures, events, market,
network, sites, hosted cohorts, HPC projects, pool, fleet trades) advance a block of up to
:data:`OPS_BLOCK_DAYS` days per SimPy turn; finance and reporting stay daily and read the
block's day ``j`` (rows of the block's arrays, :meth:`OpsBlock.flows`).

Where blocks end (:func:`block_bounds`): every multiple of :data:`OPS_BLOCK_DAYS` (the hourly
power prices and the failure uniforms are drawn 30 days at a time, so a block never spans two
of their draw blocks), every multiple of 365 (the market's, network's and pool's draw
blocks), and every dated change that operations read as state rather than
as data: a cohort energised or retired (units change), an event (taxes, price and hashrate
shocks, outages and fee spikes start on their date). Within a block the per-day inputs are
data: an outage's or a fee spike's end, a site's capacity and expansion capex, the HPC
projects' milestones and reserved MW, halvings and retargets (the network steps through the
block's days). Under a ``retire`` policy a block is cut to the days in which no cohort can
reach its retirement (:class:`Blocks`): a retirement removes units the block's later failures,
dispatch and trades would otherwise count, so it happens only in a block of one day.

Feedback from finance to operations is one thing: a company in distress stops producing from
the next day. Operations do not read finance (a stopped path keeps its machines, failures and
chain state; the network hashrate is exogenous or follows the network's own hashprice), so the
company masks the operating flows of the block's days not yet booked (:meth:`OpsBlock.stop`, one
place): on the first day of a block with stopped paths and on the day after a close that stops
more, whatever the day's position in the block (docs/decisions.md, "Operations in blocks" and
"the company's day glue").

The models that are elementwise along the path axis take a block's days as extra columns
(:mod:`simulator.columns`).
"""
from __future__ import annotations

import bisect
import operator
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from simulator.columns import is_broadcast_zero, stored
from simulator.day_record import SAME_ON_PATHS, STOPPED_LINES, STOPPED_TRADES, DayRecord, energised_ehs
from simulator.finance.flows import BlockDayFlows, OperatingFlows
from simulator.finance.operations_call import OPERATIONS_KERNEL as _OPERATIONS_KERNEL
from simulator.hpc import STOPPED_HPC, HpcDay

#: Longest block of days the operating actors advance per SimPy turn [days].
OPS_BLOCK_DAYS = 30
#: The year-long draw blocks of the market, network and pool streams [days].
YEAR_DRAW_DAYS = 365


def block_bounds(days: int, cut_days=(), every_day: bool = False) -> list[tuple[int, int]]:
    """The planned operating blocks ``(first day, length)`` of a ``days``-long run, in order.

    A block starts on day 0, on every multiple of :data:`OPS_BLOCK_DAYS` and of
    :data:`YEAR_DRAW_DAYS`, and on every day of ``cut_days`` inside the horizon (dated changes);
    ``every_day`` makes every day a block.

    >>> block_bounds(70, cut_days=[45])
    [(0, 30), (30, 15), (45, 15), (60, 10)]
    """
    if every_day:
        return [(d, 1) for d in range(days)]
    starts = set(range(0, days, OPS_BLOCK_DAYS)) | set(range(0, days, YEAR_DRAW_DAYS))
    starts |= {int(d) for d in cut_days if 0 < d < days}
    starts = sorted(starts)
    return [(a, b - a) for a, b in zip(starts, starts[1:] + [days])]


class Blocks:
    """The operating blocks ``(first, n)`` of a run, in order, each decided when the first actor reaches
    it: from ``first`` to the next planned start (:func:`block_bounds`), cut to ``limit()`` days (at
    least one) where a limit is given. Every actor iterates the same blocks; a planned start is
    always a block's start, so the draw grids and dated changes keep their blocks.

    The engine's limit under a ``retire`` policy is the number of days in which no cohort can reach
    its retirement (:meth:`simulator.engine._Simulation.days_before_a_retirement`): a cohort retires on
    the day its run of losing days reaches the rule, so a block shorter than the rule less the longest
    run so far retires nothing, and only a block of one day ever does.

    >>> [b for b in Blocks(70, block_bounds(70, [45]), limit=lambda: 20)]
    [(0, 20), (20, 10), (30, 15), (45, 15), (60, 10)]
    """

    def __init__(self, days: int, planned: list[tuple[int, int]], limit: Callable[[], int] | None = None):
        self.days, self.starts, self.limit = days, [a for a, _ in planned], limit
        self.decided: dict[int, int] = {}

    def __iter__(self):
        first = 0
        while first < self.days:
            n = self.decided.get(first)
            if n is None:
                n = self.decided[first] = self._length(first)
            yield first, n
            first += n

    def _length(self, first: int) -> int:
        i = bisect.bisect_right(self.starts, first)
        n = (self.starts[i] if i < len(self.starts) else self.days) - first
        return n if self.limit is None else max(1, min(n, self.limit()))


@dataclass
class OpsBlock:
    """The operating actors' block of ``n`` days from ``first``; arrays have the day first.

    ``record`` is the block's :class:`DayRecord`: per-path fields ``(n, paths)``; the sites' per-day
    amounts (opex, expansion capex, MW) ``(n,)`` once a site has added them (0.0 before), the HPC
    lines 0.0 without projects; the days' trades are :attr:`trades`, not its fields. The rest are
    the per-day inputs finance and reporting read beside it.
    """

    first: int
    n: int
    record: DayRecord = None
    working: np.ndarray = None
    """Working units after the day's failures ``(n, cohorts, paths)``."""
    installed: np.ndarray = None
    """Installed units after the day's failures ``(n, cohorts, paths)``."""
    lost_units: np.ndarray = None
    """Units failed beyond repair ``(n, cohorts, paths)``."""
    units_failed: np.ndarray = None
    """Units failed ``(n, paths)``."""
    difficulty: np.ndarray = None
    """Difficulty at the day's end ``(n, paths)``."""
    height: np.ndarray = None
    """Height at the day's end ``(n, paths)``."""
    index_price_usd_per_mwh: np.ndarray = None
    """Each site's mean hourly index price (NaN at other sites) ``(n, sites, paths)`` [USD/MWh]."""
    power_price_usd_per_mwh: np.ndarray = None
    """Each site's mean price incl. taxes ``(n, sites, paths)`` [USD/MWh]."""
    hpc: HpcDay | None = None
    """The HPC projects' days (arrays ``(n, projects, paths)``; None without projects)."""
    trades: list = field(default_factory=list)
    """Each day's :class:`simulator.fleet.Trades`."""
    stopped: np.ndarray | None = None
    """The company's alive mask (``(paths,)``, bool) the block's days from :meth:`stop`'s day on are masked
    with, None before the first :meth:`stop`."""
    _alive_usd: np.ndarray | None = None
    """``stopped`` as 1.0 and 0.0 where some path is stopped, else None."""
    _same_on_paths: dict | None = None
    """:meth:`simulator.day_record.DayRecord.same_on_paths`' table of the block, once made (again after a stop)."""
    _rows: dict = field(default_factory=dict)
    """The block's flows (``"whole"``: :meth:`simulator.day_record.DayRecord.block_flows`), once made (until a
    :meth:`stop`)."""

    @classmethod
    def open(cls, first: int, n: int, sites: int, paths: int) -> "OpsBlock":
        """A new block: the sites' prices not set yet (index prices NaN where a site has none)."""
        return cls(first, n, index_price_usd_per_mwh=np.full((n, sites, paths), np.nan),
                   power_price_usd_per_mwh=np.zeros((n, sites, paths)))

    def energised_ehs(self, day: int) -> np.ndarray:
        """Day ``day``'s energised fleet ``(paths,)`` [EH/s] (:func:`simulator.day_record.energised_ehs`: the installed
        fleet's array itself, or its product with the alive mask) from its trades: the reporting's day (the day's trades are
        final once the company has booked it; a stop on a later day masks only the days from its own)."""
        return energised_ehs(self.trades[day - self.first], self._alive_usd)

    def energised_terms(self, day: int) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`energised_ehs`' operands: the day's installed fleet ``(paths,)`` [EH/s] and the alive mask as 1.0 and
        0.0 (None where no path has stopped), for its compiled form (:func:`simulator.reporting_kernel.day_row`)."""
        return self.trades[day - self.first].installed_ehs, self._alive_usd

    def stop(self, day: int, alive: np.ndarray) -> bool:
        """Zero, on the paths where ``alive`` is False (a company in distress has stopped: nothing runs or is
        spent), every operating amount of the block's days from ``day`` on: the record's monthly lines and
        running hashrate, the trades' units and amounts, the HPC projects' flows and contract terms (market facts
        and the installed fleet stay; the units lost are masked as each day is taken, :meth:`lost_units_on`).
        Each masked field is a new array (``x × alive`` on those days, the earlier days as they were), or the
        field itself where it is ±0.0 on those days (the product would be the same bits); each day's trades a
        copy with its fields masked. True if anything was masked (what tests count as a stop; no actor keeps a
        day's record across a stop: one taken before would have to be taken again).

        ``alive`` only changes at a close and only loses paths, and masking twice gives the floats of
        masking once (``x × 0 × 0`` is ``x × 0``, NaN stays NaN): so the block is masked once per block and
        again only on a day after a close that stopped more paths (``alive`` a new array), instead of every
        field every day. A float is multiplied by ``alive`` as 1.0 or 0.0 (what numpy's ``x × alive`` casts it
        to; the cast done once, not in every product)."""
        if alive is self.stopped:
            return False
        self.stopped, self._alive_usd = alive, None
        if alive.all():  # x × True is x: nothing to zero
            return False
        self._alive_usd = alive.astype(float)
        self._rows.clear()  # (the masked fields are new arrays)
        j, r, paths = day - self.first, self.record, alive.shape[0]
        same = {name: getattr(r, name) for name in SAME_ON_PATHS}
        for name in STOPPED_LINES:
            setattr(r, name, self._masked_from(getattr(r, name), j, (self.n, paths)))
        zero_tables: dict = {}  # (the trades' zero tables, known for this stop: _masked_trades)
        self.trades[j:] = [self._masked_trades(t, zero_tables) for t in self.trades[j:]]
        if self._same_on_paths is not None:  # (the sites' MW shares stay: no MW is masked; nor a field kept)
            self._same_on_paths = self.record.same_on_paths(
                self.n, paths, self._same_on_paths, frozenset(k for k, x in same.items() if getattr(r, k) is x))
        if self.hpc is not None:
            self.hpc = replace(self.hpc, **{name: self._masked_from(getattr(self.hpc, name), j, None)
                                            for name in STOPPED_HPC})
        return True

    def flows(self, day: int, no_hpc: dict | None) -> OperatingFlows:
        """Day ``day``'s operating flows (:class:`simulator.finance.flows.BlockDayFlows`) of the day's record,
        units lost, index prices, HPC projects (``no_hpc``: :func:`simulator.day_record.hpc_fields` of the day of no
        project, used without projects), height and per-day amounts, already masked with :attr:`stopped` — the
        same objects: each field the block's flows (:meth:`~simulator.day_record.DayRecord.block_flows`, made once a
        block and again after a :meth:`stop`) hold as an array is its row ``j``, read when first asked for; the
        day's trades, units lost and mask (:meth:`~simulator.day_record.DayRecord.day_flows`) as they are. The day's
        flows also hold ``block_day``, not a field: the block's flows and ``j``, from which the ledger's compiled day
        reads the day's rows by index (:mod:`simulator.finance.operations_call`). Once some path has stopped, the
        day's units lost (floats, not one broadcast +0.0) are masked when first read too (the same product as
        :meth:`lost_units_on`): the compiled day takes the mask as it reads each element instead."""
        whole = self._rows.get("whole")
        if whole is None:
            if self._same_on_paths is None:
                self._same_on_paths = self.record.same_on_paths(self.n, self.height.shape[-1])
            whole = self._rows["whole"] = self.record.block_flows(self.index_price_usd_per_mwh, self.height, self.hpc,
                                                                  self._same_on_paths)
        j = day - self.first
        lost, alive_usd = self.lost_units[j], self._alive_usd
        lazy = alive_usd is not None and lost.dtype is _FLOAT and not is_broadcast_zero(lost)
        extra = DayRecord.day_flows(self.trades[j], None if lazy else self.lost_units_on(day), self.stopped,
                                    no_hpc if self.hpc is None else None)
        extra["block_day"] = (whole, j)
        if lazy:
            del extra["lost_units"]
            extra["lost_units_unmasked"] = (lost, alive_usd)
        return BlockDayFlows.of_block_day(extra)

    def lost_units_on(self, day: int) -> np.ndarray:
        """Day ``day``'s units failed beyond repair ``(cohorts, paths)``, zero on stopped paths (:meth:`stop`).
        Masked as each day is taken, not with the block at a stop: a ``(cohorts, paths)`` row a stopped day costs
        less than the block's remaining rows at every stop (a block is masked again at each close that stops more
        paths)."""
        lost = self.lost_units[day - self.first]
        return lost if self._alive_usd is None else self._times(lost)

    def _masked_from(self, x, j: int, shape: tuple | None) -> np.ndarray:
        """Block field ``x`` (``(n, …, paths)``; a per-day ``(n,)`` array or a float, the same on every path,
        filled to ``shape``) with rows ``j …`` multiplied by the alive mask: a new array, the earlier rows
        copied; ``x`` itself where it is ±0.0 on every day from ``j`` (``±0.0 × 1.0`` and ``±0.0 × 0.0`` keep it,
        sign and all). A C-ordered float ``(n, paths)`` field, or ``(n, k, paths)`` (the HPC projects' fields, taken as
        ``(n·k, paths)`` rows from row ``j·k``: the same elements and products), in one compiled pass once the company's
        compiled day is loaded (:func:`simulator.finance.operations_kernel.masked_from`, the same floats); a per-day
        ``(n,)`` float field filled to ``shape`` too (:func:`~simulator.finance.operations_kernel.masked_days_from`)."""
        kernel = _OPERATIONS_KERNEL.loaded()  # (in one compiled pass once the company's compiled day runs)
        if (kernel is not None and type(x) is np.ndarray and x.dtype is _FLOAT and x.flags.c_contiguous
                and x.flags.writeable):
            if x.ndim in (2, 3) and (shape is None or x.shape == shape):
                k = x.shape[1] if x.ndim == 3 else 1
                nonzero, out = kernel.masked_from(x.reshape(x.shape[0] * k, x.shape[-1]), j * k, self._alive_usd)
                return out.reshape(x.shape) if nonzero else x
            if x.ndim == 1 and shape is not None and shape == (x.shape[0], self._alive_usd.shape[0]):
                nonzero, out = kernel.masked_days_from(x, j, self._alive_usd)
                return out if nonzero else x
        given, x = x, np.asarray(x)
        if not _nonzero(x[j:] if x.ndim else x):  # (±0.0 on every day masked: x × alive would be x)
            return given
        if shape is not None and x.shape != shape:  # a day's amount on every path: (n,) → (n, paths), or a float
            x = np.broadcast_to(x[:, None] if x.ndim == 1 else x, shape)
        mask = self._mask(x)
        if j == 0:
            return x * mask
        out = np.empty(x.shape, dtype=np.result_type(x, mask))
        out[:j] = x[:j]
        np.multiply(x[j:], mask, out=out[j:])
        return out

    def _masked_trades(self, t, zero_tables: dict):
        """A day's trades with :data:`STOPPED_TRADES` multiplied by the alive mask (:meth:`_times`): a copy
        made as :class:`simulator.columns.Rows` makes a record (:func:`simulator.columns.stored`; what
        ``dataclasses.replace`` gives, at a third of its cost); ``t`` itself where every product would be its
        field (the same floats: a day with nothing traded).

        ``zero_tables`` (one stop's, given by :meth:`stop`): whether each float table a field is a view of (its
        ``base``) holds nothing but ±0.0, tested once by the table's identity (the tables are held by the trades,
        unchanged during the stop). A view of such a table is ±0.0 everywhere, which :meth:`_times` would keep:
        a block's days without trades are rows of one table of zeros (:func:`simulator.fleet._unchanged_days`) or
        one broadcast +0.0, so their fields are known without a test each."""
        values = _stopped_trade_values(t)
        masked = [x if _zero_view(x, zero_tables) else self._times(x, zeros_kept=True)
                  for x in values]
        if all(m is x for m, x in zip(masked, values)):
            return t
        return stored(type(t), {**vars(t), **dict(zip(STOPPED_TRADES, masked))})

    def _times(self, x: np.ndarray, zeros_kept: bool = False) -> np.ndarray:
        """``x × alive``; ``x`` itself where it is one +0.0 broadcast (a day's "nothing arrives or leaves",
        :func:`simulator.fleet.price_trades`), which the product would only copy, and with ``zeros_kept`` where
        it is floats ±0.0 everywhere (``±0.0 × 1.0`` and ``±0.0 × 0.0`` keep it, sign and all, as in
        :meth:`_masked_from`; a trade's amounts, most days nothing)."""
        if is_broadcast_zero(x) or (zeros_kept and x.dtype == float and not _nonzero(x)):
            return x
        return x * self._mask(x)

    def _mask(self, x: np.ndarray) -> np.ndarray:
        """The alive mask to multiply ``x`` by: as 1.0 and 0.0 for floats (the cast done once), else as booleans."""
        return self._alive_usd if x.dtype == float else self.stopped


_stopped_trade_values = operator.attrgetter(*STOPPED_TRADES)


def _zero_view(x: np.ndarray, zero_tables: dict) -> bool:
    """Whether float array ``x`` is a view of a float table of nothing but ±0.0 (``zero_tables``: each table's
    answer by its identity, :meth:`OpsBlock._masked_trades`; every element of ``x`` is one of its table's)."""
    table = x.base
    zero = zero_tables.get(id(table))
    if zero is None:
        zero = zero_tables[id(table)] = (type(table) is np.ndarray and table.dtype is _FLOAT
                                         and not _nonzero(table))
    return zero and x.dtype is _FLOAT


_FLOAT = np.dtype(float)


def _nonzero(x: np.ndarray) -> bool:
    """numpy's ``x.any()`` (nonzero or NaN): ``count_nonzero`` for a small array (a third of ``any()``'s cost at
    ~500 elements), ``any()`` from :data:`_ANY_FROM` elements (``count_nonzero`` of floats is not vectorised: ~12 µs
    against ~3 for a block's ``(30, 500)`` field)."""
    return bool(x.any()) if x.size >= _ANY_FROM else bool(np.count_nonzero(x))


_ANY_FROM = 4096
