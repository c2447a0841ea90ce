"""The compiled route of :meth:`simulator.finance.ledger.Ledger.book_operations`: the day's inputs gathered,
one call of :func:`simulator.finance.operations_kernel.book_day` for all paths, the ledger's state
reassigned as the numpy form reassigns it (new arrays where it makes new ones, the same objects where
it keeps them), but for the units of the cohorts, written in place in the ledger's own table (:func:`_own`: the
same floats, without a second ``(cohorts, paths)`` table touched every day).

What stays in Python around the call: the log return of the BTC price (``np.log``, numpy's AVX-512 one)
for the trailing volatility (whose running update is compiled, in the same call:
:func:`~simulator.finance.operations_kernel.trailing_vol_update`; the window's fill and recomputation stay in
numpy, ``TrailingVol.push``), ``ContractValuer.observe`` on the days it would change something
(``ContractValuer.quiet_days``), the pledged BTC summed over the BTC-backed loans where there are two or more (one
loan's is read by the kernel, as ``+ 0.0``), the asset pools' dated changes (a dict) and idle flags,
the cohorts' remaining fractions (a table), and the dcf's ring slots. The kernel adds its amounts straight into the
:class:`~simulator.finance.books.LineBook`'s month and running sums after settling any amount still
pending: a line booked again later in the day (e.g. ``btc_sold`` by the close's funding) then adds after
it, ``((m + a₁) + a₂)``, as the numpy form's bookings do.

When it runs (:data:`OPERATIONS_KERNEL`): never for one path (numpy sums a ``(rows, 1)`` array
pairwise, not row by row, so the kernel's sums would differ) nor for a table numpy would sum column by
column; otherwise after the process's numpy days have cost about what loading the kernel costs.
Measured (contract example, one process): a numpy day costs ~100 µs + 0.1 µs a path (~0.1 µs a unit:
a day is ``paths +`` :data:`DAY_OVERHEAD_PATHS` units), the compiled day ~55 µs + 0.1 µs a path
(the Python around the call, then ~7 µs of kernel at 2 paths, ~25 µs at 500); loading the kernel costs
~15 ms once another kernel has started numba, ~0.55 s if this one would start it (import and first
call). So a run switches after ~15 ms of numpy days when numba is up (a 500-path run after ~100 days,
a 20-path run after ~150) and after ~0.55 s otherwise (a small run never).
"""
from __future__ import annotations

import weakref

import numpy as np

from simulator import units
from simulator.columns import is_broadcast_zero
from simulator.finance import structural
from simulator.lazy_kernel import LazyKernel

_FLOAT, _BOOL = np.dtype(float), np.dtype(bool)
#: A numpy day's fixed cost in paths' worth of its per-path cost (~100 µs against ~0.1 µs a path).
DAY_OVERHEAD_PATHS = 1000
OPERATIONS_KERNEL = LazyKernel("simulator.finance.operations_kernel", large_from=2**20, numpy_at_most=5_500_000,
                               once_numba_runs=150_000)

def kernel_for(ledger, f):
    """The compiled module for this day of ``ledger`` with the masked flows ``f``, or None (numpy). The projects'
    capex of a day of the block whose rows the compiled day reads (:func:`_block_rows`: C-ordered ``(n, projects,
    paths)`` fields) are rows of such fields, so summed row by row: not tested again."""
    paths = ledger.paths
    if paths < 2 or not _by_rows(f.purchase_capex_usd):
        return None
    fixed, block_day = _fixed.get(ledger), vars(f).get("block_day")
    if not (fixed is not None and block_day is not None and block_day[0] is fixed.block_of and fixed.block is not None
            ) and not (_by_rows(f.hpc_building_capex_usd) and _by_rows(f.hpc_gpu_capex_usd)):
        return None
    return OPERATIONS_KERNEL.for_call(paths, DAY_OVERHEAD_PATHS)


def _by_rows(a) -> bool:
    """numpy's ``a.sum(axis=0)`` adds ``a``'s rows one by one: its last axis is the inner one."""
    return a.ndim == 2 and (a.shape[0] < 2 or abs(a.strides[0]) >= abs(a.strides[1]))



class _Fixed:
    """What a ledger's compiled days share: its asset pools in the kernel's order (sites, then each
    project's building and GPUs), their lives, the LineBook rows booked and the constant scalars."""

    def __init__(self, L, kernel):
        c = L.cfg
        self.pools = [L.sites] + [pool for pair in L.hpc_pools for pool in pair]
        self.life_days = np.array([float(p.life_days) for p in self.pools])
        self.lines_at = np.array([L.lines.index[k] for k in kernel.BOOKED_LINES], dtype=np.int64)
        self.dcf = c.valuation.method == "dcf"
        self.scalars = np.array([c.sga_usd_per_year / units.DAYS_PER_YEAR, float(c.opening.btc_receivable),
                                 float(c.treasury_policy.sell_fraction), float(structural.VOL_WINDOW_DAYS)])
        self.by_revenue = c.cost_allocation != "all_to_mining"
        self.no_units = np.zeros(L.units.shape)  # (read only by the kernel) a day's "nothing arrives or leaves"
        # scratch tables, filled afresh every day (new arrays each day would cost their first touch)
        paths, projects = L.paths, len(L.hpc_pools)
        self.rows, self.amounts = np.empty(kernel.ROWS * paths), np.empty((len(kernel.BOOKED_LINES), paths))
        # the block's flow and HPC rows the kernel reads by day index (operations_call._block_rows), its lease-ended
        # flags and its days on which no project completes or ends a lease, of the block's flows last seen (kept
        # alive: its identity stands for the test), and the rows' stand-in for a day without them
        self.block_of, self.block, self.ended, self.quiet_days = None, None, None, None
        # each pool's first day of the block (from 0) with spending on some path, found when an idle pool first asks
        # (None: not yet; the block's length where none): an idle pool's days before it are skipped (_pools)
        self.first_spending: list = [None] * len(self.pools)
        no_block = np.zeros((1, paths))
        no_block.flags.writeable = False
        self.no_block = (no_block,) * (len(kernel.BLOCK_ROWS) + 4)
        self.no_mask = np.zeros(paths)  # (not read: the units lost's mask on a day they hold none, writable as a mask)
        self.hpc = np.empty((4 * projects, paths))
        self.hpc_table = self.hpc.reshape((4, projects, paths))
        self.no_pledged = np.zeros(paths)  # (a ledger without BTC-backed loans pledges +0.0)
        # the pools' table (book, base, in progress, change) and each pool's first three rows: its state,
        # which the kernel writes in place and the pool then holds (views), so that a day copies it in only if the
        # pool holds other arrays (the numpy form's, before the kernel or on a numpy day)
        self.pool_table = np.empty((4, len(self.pools), paths))
        self.pool_state = [tuple(self.pool_table[:3, k]) for k in range(len(self.pools))]
        self.pool_flags = np.zeros(2 * len(self.pools), dtype=bool)
        self._scratch: dict[str, np.ndarray] = {}  # the kernel's (cohorts, paths) outputs until the ledger keeps one
        # the last broadcast +0.0 cohort table seen (a block's days share one: simulator.fleet._unchanged_days), kept
        # alive here so that its identity stands for the test; the unit costs last passed and their read-only form
        self.zero_seen: np.ndarray | None = None
        self.cost_of: np.ndarray | None = None
        self.cost_read_only: np.ndarray | None = None

    def read_only_cost(self, cost: np.ndarray) -> np.ndarray:
        """``cost`` as the kernel takes it, read-only (one argument type either way; read-only once
        CohortBookValues has priced it): a read-only view of a writable table, made once per table."""
        if cost is not self.cost_of:
            self.cost_of = cost
            if cost.flags.writeable:
                cost = cost.view()
                cost.flags.writeable = False
            self.cost_read_only = cost
        return self.cost_read_only

    def scratch(self, name: str, like: np.ndarray) -> np.ndarray:
        """A table to write the day's new ``like`` into (every element the kernel reads is written first):
        the same one day after day while the ledger keeps its own (a fresh 80 kB table a day costs its
        allocation and first touch), a new one once :meth:`adopt` handed it over."""
        table = self._scratch.get(name)
        if table is None or table.shape != like.shape or table is like:
            table = self._scratch[name] = np.empty_like(like)
        return table

    def adopt(self, name: str) -> np.ndarray:
        """The table :meth:`scratch` gave, now the ledger's: the next day writes into a new one."""
        return self._scratch.pop(name)


_fixed: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def book(ledger, f, day: int, kernel) -> None:
    """``ledger.book_operations(flows, day)`` after its masking, compiled (module docstring)."""
    L, paths = ledger, ledger.paths
    fixed = _fixed.get(L)
    if fixed is None:
        fixed = _fixed[L] = _Fixed(L, kernel)
    price = np.asarray(f.price_usd, dtype=float)
    vol = L.btc_vol  # (the day's log return pushed; its running update in book_day where it is one: update_row)
    log_return, vol_row = (np.log(price / L.price_usd), vol.update_row()) if day > 0 else (None, None)
    if log_return is not None and vol_row is None:
        vol.push(log_return)
    rows, block, j, ended, ended_at = _kernel_rows(L, f, day, fixed, kernel)
    price_before, L.price_usd = L.price_usd, price
    L.lines.settle()  # (nothing is pending when the day opens; if something were, it goes in first)
    new_month = L.month_days == 0 and day > 0
    pool_table, pool_flags = _pools(fixed, f, day, new_month, paths, j)
    out = np.empty((kernel.OUT_ROWS, paths))  # the new state
    units = L.units  # (written in place where the ledger's own table: _own)
    units_out = units if _own(units) else fixed.scratch("units", units)
    cost_out = fixed.scratch("cost", L.unit_cost_usd)
    deferred_out = np.empty_like(L.deferred_revenue_usd)
    if fixed.dcf:  # the run rates feed the dcf only
        L.run_rate["mining"].push(f.btc_mined)
        rings = (L.run_rate["variable"].slot(), L.run_rate["other"].slot(), L.run_rate["fixed"].slot())
    else:
        rings = (out[0], out[0], out[0])  # (not written)
    cost = fixed.read_only_cost(L.unit_cost_usd)
    values = vars(f)  # (the units lost not masked yet, and the mask: flows.BlockDayFlows; else the units lost)
    lost, lost_mask = values["lost_units_unmasked"] if "lost_units" not in values else (f.lost_units, None)
    tables = (_cohort_table(f.retired_units, fixed), _cohort_table(lost, fixed),
              _cohort_table(f.delivered_units, fixed), _cohort_table(f.purchase_capex_usd, fixed))
    books = L._btc_books  # (the BTC pledged: Ledger.pledged_btc, its one loan's + 0.0 in the kernel)
    status = kernel.book_day(
        rows, block, j, L.alive, out, *tables, units, cost, units_out, cost_out,
        L.book_values.fraction(day), L.book_values.fraction(day + 1), L.cohort_start_day, fixed.hpc_table,
        ended, ended_at, L.deferred_revenue_usd, deferred_out, pool_table, pool_flags,
        fixed.life_days, L.lines.month, L.lines.total, fixed.lines_at, fixed.amounts, rings, fixed.scalars,
        price_before, books[0].pledged_btc if len(books) == 1 else fixed.no_pledged if not books else L.pledged_btc(),
        L.cash_usd, L.treasury_btc, L.equity_usd, L.month_btc,
        *((fixed.no_mask,) * 4 if vol_row is None else (log_return, vol_row, vol.mean, vol.m2)), vol_row is not None,
        float(day), fixed.by_revenue, fixed.dcf, new_month, fixed.no_mask if lost_mask is None else lost_mask,
        lost_mask is not None, (kernel.NO_RETIRED if tables[0] is fixed.no_units else 0)
        | (kernel.NO_DELIVERIES if tables[2] is fixed.no_units else 0)
        | (kernel.NO_PURCHASES if tables[3] is fixed.no_units else 0))
    L.cash_usd, L.treasury_btc, L.equity_usd, L.month_btc, L._ebitda_today = out[:kernel.EBITDA + 1]
    L._segment_shares = (tuple(out[kernel.SHARE_MINING:kernel.SHARE_HPC + 1]) if status & kernel.SEGMENT_SHARES
                         else None)
    if status & kernel.UNITS_CHANGED and units_out is not units:
        L.units = fixed.adopt("units")
    if status & kernel.COST_CHANGED:
        L.unit_cost_usd = fixed.adopt("cost")
    if L.hpc_pools:
        L.deferred_revenue_usd = deferred_out
    for k, pool in enumerate(fixed.pools):
        if pool_flags[k]:
            pool.book_usd, pool.base_usd, pool.in_progress_usd = fixed.pool_state[k]


def _own(units: np.ndarray) -> bool:
    """Whether the ledger's units table may be written in place by the kernel: a writable C-ordered float array that
    is no view (the ledger's own: made by its numpy day or its opening, or a scratch table it adopted; no one else
    holds it, :class:`~simulator.finance.ledger.Ledger` reads it only within a call). The kernel reads each element
    before writing it (``operations_kernel._machines``), so in place gives the floats of a new table."""
    return units.base is None and units.dtype is _FLOAT and units.flags.writeable and units.flags.c_contiguous


def _kernel_rows(L, f, day: int, fixed: _Fixed, kernel) -> tuple[np.ndarray, tuple, int, np.ndarray, int]:
    """The kernel's ``rows``, ``block``, ``j``, ``ended`` and ``ended_at``, the day's projects observed
    (``ContractValuer.observe``). The flow and HPC rows are read by the kernel from the block's flows by day index
    where the flows are a block's day (:meth:`simulator.block.OpsBlock.flows`: :func:`_block_rows`), and the
    observation is skipped on a day of the block on which no project completes for the first time and no lease
    ends (it would change nothing: ``ContractValuer.quiet_days``); else the day's flow rows and HPC rows are copied
    here (the same floats; the kernel's argument types are the same every day). The ledger's rows (the previous close's price, pledged BTC, cash, treasury, equity,
    the month's BTC) are the kernel's arguments, copied by it."""
    paths = L.paths
    block, j = _block_rows(L, fixed, vars(f).get("block_day"), paths)
    rows = fixed.rows.reshape(kernel.ROWS, paths)
    if j >= 0:
        rows[kernel.RESALE] = f.resale_value_usd
        if not fixed.quiet_days[j]:
            L.contracts.observe(day, f.hpc_completed, f.hpc_lease_ended)
        return rows, block, j, fixed.ended, j * fixed.hpc_table.shape[1]
    ended = _read_only(np.asarray(f.hpc_lease_ended, dtype=bool))  # (as the block's: one argument type)
    L.contracts.observe(day, f.hpc_completed, ended)
    np.concatenate((np.asarray(f.price_usd, dtype=float), *(getattr(f, name) for name in FLOW_ROW_FIELDS[1:])),
                   out=fixed.rows[:kernel.PRICE_BEFORE * paths])
    np.concatenate((f.hpc_revenue_usd, f.hpc_prepayment_usd, f.hpc_building_capex_usd, f.hpc_gpu_capex_usd),
                   out=fixed.hpc)
    return rows, block, j, ended, 0


def _block_rows(L, fixed: _Fixed, block_day, paths: int) -> tuple[tuple, int]:
    """The kernel's ``block`` and ``j``: the block's flow rows (:data:`~simulator.finance.operations_kernel.BLOCK_ROWS`'
    fields of the block's flows, then its four HPC fields as ``(n·projects, paths)`` rows, read-only views: one argument
    type) and the day's index, made once a block's flows (known by their identity, kept alive in ``fixed``) with the
    block's lease-ended flags as rows (``fixed.ended``) and its quiet days from ``j`` on (``fixed.quiet_days``:
    ``ContractValuer.quiet_days``, no first completion, no lease ended); ``(fixed.no_block, -1)`` (the caller copies
    the day's rows) for flows that are no block's day (``block_day`` None) or a block whose fields are not all C-ordered float ``(n, paths)`` arrays (``(n, projects,
    paths)`` for the HPC's)."""
    if block_day is None:
        return fixed.no_block, -1
    whole, j = block_day
    if whole is not fixed.block_of:
        projects = fixed.hpc_table.shape[1]
        fixed.block_of, fixed.block = whole, _read_only_rows(whole, paths, projects)
        fixed.first_spending = [None] * len(fixed.pools)
        if fixed.block is not None:
            fixed.ended, fixed.quiet_days = _projects_days(L.contracts, whole, fixed.block[0].shape[0], projects,
                                                           paths)
            if fixed.ended is None:
                fixed.block = None
    return (fixed.no_block, -1) if fixed.block is None else (fixed.block, j)


def _read_only_rows(whole, paths: int, projects: int) -> tuple | None:
    """:func:`_block_rows`' tuple of the block's flow and HPC rows, or None."""
    out = []
    for name in BLOCK_FIELDS + BLOCK_HPC_FIELDS:
        x = getattr(whole, name)
        if name in BLOCK_HPC_FIELDS:
            x = _project_rows(x, out[0].shape[0], projects, paths, _FLOAT)
        if not (isinstance(x, np.ndarray) and x.dtype == _FLOAT and x.ndim == 2 and x.shape[1] == paths
                and x.flags.c_contiguous):
            return None
        out.append(_read_only(x))
    return tuple(out)


def _project_rows(x, n: int, projects: int, paths: int, dtype: np.dtype) -> np.ndarray | None:
    """A block's C-ordered ``(n, projects, paths)`` field of ``dtype`` as ``(n·projects, paths)`` rows (a view), an
    empty ``(0, paths)`` table for None where there is no project, else None."""
    if x is None:
        return np.zeros((0, paths), dtype=dtype) if not projects else None
    if not (isinstance(x, np.ndarray) and x.dtype == dtype and x.shape == (n, projects, paths)
            and x.flags.c_contiguous):
        return None
    return x.reshape(n * projects, paths)


def _projects_days(contracts, whole, n: int, projects: int, paths: int) -> tuple:
    """The block's lease-ended flags as read-only ``(n·projects, paths)`` rows and its quiet days ``(n,)``
    (:meth:`~simulator.finance.contracts.ContractValuer.quiet_days`: ``observe`` would change nothing), or
    ``(None, None)`` where the flags are not C-ordered ``(n, projects, paths)`` booleans."""
    ended, completed = _project_rows(whole.hpc_lease_ended, n, projects, paths, _BOOL), whole.hpc_completed
    if ended is None or not (completed is None if not projects else isinstance(completed, np.ndarray)
                             and completed.shape == (n, projects, paths)):
        return None, None
    if not projects:
        return _read_only(ended), np.ones(n, dtype=bool)
    return _read_only(ended), contracts.quiet_days(completed, whole.hpc_lease_ended)


def _read_only(x: np.ndarray) -> np.ndarray:
    """A read-only view of ``x`` (the kernel's argument type, whatever ``x``'s flag)."""
    x = x.view()
    x.flags.writeable = False
    return x


#: The flows' fields of the kernel's flow rows (:mod:`simulator.finance.operations_kernel`'s ``PRICE`` …
#: ``EXPANSION``), in order (the first, the price, taken as floats: :func:`book`).
FLOW_ROW_FIELDS = ("price_usd", "btc_mined", "mining_revenue_usd", "hosting_revenue_usd", "power_cost_usd",
                   "power_credit_usd", "demand_response_credit_usd", "transmission_charge_usd",
                   "hosting_power_cost_usd", "hosting_cost_usd", "site_opex_usd", "repair_cost_usd", "resale_value_usd",
                   "hpc_power_cost_usd", "hpc_opex_usd", "site_opex_hpc_usd", "site_mw_hosting_share",
                   "site_mw_hpc_share", "expansion_capex_usd")
#: The flows' fields of :data:`simulator.finance.operations_kernel.BLOCK_ROWS`, in order: all but the resale value (the
#: day's trades').
BLOCK_FIELDS = tuple(name for name in FLOW_ROW_FIELDS if name != "resale_value_usd")
#: The flows' HPC fields the kernel's ``hpc`` table holds, in order (after :data:`BLOCK_FIELDS` in its ``block``).
BLOCK_HPC_FIELDS = ("hpc_revenue_usd", "hpc_prepayment_usd", "hpc_building_capex_usd", "hpc_gpu_capex_usd")


def _cohort_table(a: np.ndarray, fixed: _Fixed) -> np.ndarray:
    """A ``(cohorts, paths)`` flow table as the kernel takes it (C-ordered and writable, one argument type
    every day): the ledger's table of +0.0 for a broadcast +0.0 (the same floats; the last one seen is known
    by its identity), itself, else a copy."""
    zeros = fixed.no_units
    if a is fixed.zero_seen:
        return zeros
    if a.shape == zeros.shape and is_broadcast_zero(a):
        fixed.zero_seen = a
        return zeros
    return a if a.flags.c_contiguous and a.flags.writeable else np.array(a, dtype=float)


def _pools(fixed, f, day: int, new_month: bool, paths: int, j: int = -1):
    """The kernel's pool inputs: ``(4, pools, paths)`` book, base, in progress and base change due today;
    ``(2 pools,)`` flags (steps today, then has a change). Only a pool that steps today has its rows written
    (the kernel reads no other: an idle pool charges +0.0 and keeps its state), its state only where the pool
    does not hold the table's rows already, and its change row only if it has one. The day's spending is read
    by the kernel from the day's rows (``operations_kernel._pools``); here only an idle pool's, which
    ``open_step`` tests (:func:`_spent`), and on day ``j ≥ 0`` of the block whose rows the kernel reads
    (:func:`_block_rows`) not before the block's first day of spending (:func:`_first_spending`: ``open_step``
    would find ±0.0 on every path, and return ``(False, None)`` without a change)."""
    pools = fixed.pools
    table, flags = fixed.pool_table, fixed.pool_flags
    flags[:] = False
    for k, pool in enumerate(pools):
        if pool.idle and 0 <= j < _first_spending(fixed, k):
            continue
        on, change = pool.open_step(day, new_month, _spent(f, k) if pool.idle else None)
        if on:
            book, base, in_progress = fixed.pool_state[k]
            if pool.book_usd is not book or pool.base_usd is not base or pool.in_progress_usd is not in_progress:
                book[:], base[:], in_progress[:] = pool.book_usd, pool.base_usd, pool.in_progress_usd
            flags[k] = True
        if change is not None:
            table[3, k] = change
            flags[len(pools) + k] = True
    return table, flags


def _first_spending(fixed, k: int) -> int:
    """Pool ``k``'s first day of the block (``fixed.block``'s rows, from 0) on which its spending is nonzero or NaN on
    some path (numpy's ``count_nonzero``, as ``open_step``'s test), the block's length where none: found once a block's
    rows (:func:`_block_rows` resets ``fixed.first_spending``)."""
    first = fixed.first_spending[k]
    if first is None:
        name, project = _spending_field(k)
        if project is None:
            rows = fixed.block[BLOCK_FIELDS.index(name)]
        else:  # (the project's rows of the block's (n·projects, paths) building or GPU capex)
            rows = fixed.block[len(BLOCK_FIELDS) + BLOCK_HPC_FIELDS.index(name)][project::fixed.hpc_table.shape[1]]
        days = np.flatnonzero(np.count_nonzero(rows, axis=1))
        first = fixed.first_spending[k] = int(days[0]) if days.size else rows.shape[0]
    return first


def _spending_field(k: int) -> tuple[str, int | None]:
    """Pool ``k``'s spending: the flows' field and its project (None: the sites' field as it is). The pools are the
    sites, then each project's building and GPUs (``_Fixed.pools``)."""
    if k == 0:
        return "expansion_capex_usd", None
    return ("hpc_building_capex_usd" if k % 2 else "hpc_gpu_capex_usd"), (k - 1) // 2


def _spent(f, k: int) -> np.ndarray:
    """Pool ``k``'s spending in the day's flows ``f`` (:func:`_spending_field`)."""
    name, project = _spending_field(k)
    return getattr(f, name) if project is None else getattr(f, name)[project]
