"""The compiled route of :meth:`simulator.finance.ledger.Ledger.book_operations`: the day's inputs gathered,
one call of :func:`simulator.finance.operations_kernel.book_day` for all paths, the ledger's state
reassigned as the numpy form reassigns it (new arrays where it makes new ones, the same objects where
it keeps them).

What stays in Python around the call: the log return of the BTC price (``np.log``, numpy's AVX-512 one)
pushed into the trailing volatility, ``ContractValuer.observe``, the pledged BTC summed over the
BTC-backed loans, the asset pools' dated changes (a dict) and idle flags, the cohorts' remaining
fractions (a table), and the dcf's ring slots. The kernel adds its amounts straight into the
:class:`~simulator.finance.books.LineBook`'s month and running sums after settling any amount still
pending: a line booked again later in the day (e.g. ``btc_sold`` by the close's funding) then adds after
it, ``((m + a₁) + a₂)``, as the numpy form's bookings do.

When it runs (:data:`OPERATIONS_KERNEL`): never for one path (numpy sums a ``(rows, 1)`` array
pairwise, not row by row); otherwise a day of ≥ :data:`LARGE_PATHS` paths loads the module, and smaller
runs stay in numpy until their days have cost the budget below (in path-days, a day counting its paths
plus :data:`DAY_OVERHEAD_PATHS`).
"""
from __future__ import annotations

import numpy as np

from simulator import units
from simulator.lazy_kernel import LazyKernel

#: A numpy day costs about the same as this many paths' elementwise work (~600 calls of ~1 µs;
#: measured: see docs/decisions.md, "the ledger's operating day compiled").
DAY_OVERHEAD_PATHS = 200
#: Paths from which the first day loads the compiled module (numba is then loaded by the Philox
#: kernel anyway: its lazy kernel loads for 2¹⁶ draws, a day's prices at ~140 paths).
LARGE_PATHS = 128
OPERATIONS_KERNEL = LazyKernel("simulator.finance.operations_kernel", large_from=LARGE_PATHS,
                               numpy_at_most=1_500_000, numpy_at_most_with_numba=60_000)

_lines_at: dict[tuple, np.ndarray] = {}


def kernel_for(ledger, f):
    """The compiled module for this day of ``ledger`` with the masked flows ``f``, or None (numpy)."""
    paths = ledger.paths
    if paths < 2 or not all(_by_rows(a) for a in (f.purchase_capex_usd, f.hpc_building_capex_usd,
                                                  f.hpc_gpu_capex_usd)):
        return None
    return OPERATIONS_KERNEL.for_call(paths, DAY_OVERHEAD_PATHS)


def _by_rows(a) -> bool:
    """numpy's ``a.sum(axis=0)`` adds ``a``'s rows one by one: its last axis is the inner one."""
    return a.ndim == 2 and (a.shape[0] < 2 or abs(a.strides[0]) >= abs(a.strides[1]))


def book(ledger, f, day: int, kernel) -> None:
    """``ledger.book_operations(flows, day)`` after its masking, compiled (module docstring)."""
    L, c, paths = ledger, ledger.cfg, ledger.paths
    price = np.asarray(f.price_usd, dtype=float)
    if day > 0:
        L.btc_vol.push(np.log(price / L.price_usd))
    L.contracts.observe(day, f.hpc_completed, f.hpc_lease_ended)
    flows = (price, f.btc_mined, f.mining_revenue_usd, f.hosting_revenue_usd, f.power_cost_usd, f.power_credit_usd,
             f.demand_response_credit_usd, f.transmission_charge_usd, f.hosting_power_cost_usd, f.hosting_cost_usd,
             f.site_opex_usd, f.repair_cost_usd, f.resale_value_usd, f.hpc_power_cost_usd, f.hpc_opex_usd,
             f.site_opex_hpc_usd, f.site_mw_hosting_share, f.site_mw_hpc_share, f.expansion_capex_usd, L.price_usd,
             L.pledged_btc())
    L.price_usd = price
    L.lines.settle()  # (nothing is pending when the day opens; if something were, it goes in first)
    new_month = L.month_days == 0 and day > 0
    pools, pool_inputs = _pools(L, f, day, new_month)
    out = np.empty((kernel.OUT_ROWS, paths))
    units_out, cost_out = np.empty_like(L.units), np.empty_like(L.unit_cost_usd)
    deferred_out = np.empty_like(L.deferred_revenue_usd)
    pools_out = np.empty((3 * len(pools), paths))
    dcf = c.valuation.method == "dcf"
    if dcf:  # the run rates feed the dcf only
        L.run_rate["mining"].push(f.btc_mined)
        rings = tuple(L.run_rate[k].slot() for k in ("variable", "other", "fixed"))
    else:
        rings = (out[0], out[0], out[0])  # (not written)
    ended = f.hpc_lease_ended if f.hpc_lease_ended.dtype == bool else f.hpc_lease_ended.astype(bool)
    hpc = (f.hpc_revenue_usd, f.hpc_prepayment_usd, ended, f.hpc_building_capex_usd, f.hpc_gpu_capex_usd,
           L.deferred_revenue_usd)
    book_values = L.book_values
    status = kernel.book_day(
        flows, L.alive, (L.cash_usd, L.treasury_btc, L.equity_usd, L.month_btc), out,
        (f.retired_units, f.lost_units, f.delivered_units, f.purchase_capex_usd, L.units, L.unit_cost_usd),
        units_out, cost_out, (book_values.fraction(day), book_values.fraction(day + 1), L.cohort_start_day),
        hpc, deferred_out, pool_inputs, pools_out, L.lines.month, L.lines.total, _booked_lines(L.lines, kernel),
        rings, np.array([c.sga_usd_per_year / units.DAYS_PER_YEAR, float(c.opening.btc_receivable),
                         float(c.treasury_policy.sell_fraction), float(day)]),
        np.array([c.cost_allocation != "all_to_mining", dcf, new_month]))
    L.cash_usd, L.treasury_btc, L.equity_usd = out[kernel.CASH], out[kernel.TREASURY], out[kernel.EQUITY]
    L.month_btc, L._ebitda_today = out[kernel.MONTH_BTC], out[kernel.EBITDA]
    L._segment_shares = (tuple(out[kernel.SHARE_MINING:kernel.SHARE_HPC + 1]) if status & kernel.SEGMENT_SHARES
                         else None)
    if status & kernel.UNITS_CHANGED:
        L.units = units_out
    if status & kernel.COST_CHANGED:
        L.unit_cost_usd = cost_out
    if L.hpc_pools:
        L.deferred_revenue_usd = deferred_out
    for k, (pool, active) in enumerate(zip(pools, pool_inputs[5])):
        if active:
            pool.book_usd, pool.base_usd, pool.in_progress_usd = pools_out[3 * k], pools_out[3 * k + 1], \
                pools_out[3 * k + 2]


def _pools(L, f, day: int, new_month: bool):
    """The ledger's asset pools (sites, then each project's building and GPUs) and the kernel's pool inputs."""
    pools, spent = [L.sites], [f.expansion_capex_usd]
    for j, (building, gpus) in enumerate(L.hpc_pools):
        pools += [building, gpus]
        spent += [f.hpc_building_capex_usd[j], f.hpc_gpu_capex_usd[j]]
    spent = tuple(np.ascontiguousarray(s, dtype=float) for s in spent)
    opened = [pool.open_step(day, new_month, s) for pool, s in zip(pools, spent)]
    changes = tuple(pool.base_usd if change is None else np.ascontiguousarray(np.broadcast_to(change, (L.paths,)),
                                                                              dtype=float)
                    for pool, (_, change) in zip(pools, opened))
    return pools, (tuple(p.book_usd for p in pools), tuple(p.base_usd for p in pools),
                   tuple(p.in_progress_usd for p in pools), spent, changes,
                   np.array([a for a, _ in opened]), np.array([ch is not None for _, ch in opened]),
                   np.array([float(p.life_days) for p in pools]))


def _booked_lines(lines, kernel) -> np.ndarray:
    """The LineBook's rows of :data:`~simulator.finance.operations_kernel.BOOKED_LINES`."""
    at = _lines_at.get(lines.names)
    if at is None:
        at = _lines_at[lines.names] = np.array([lines.index[k] for k in kernel.BOOKED_LINES], dtype=np.int64)
    return at
