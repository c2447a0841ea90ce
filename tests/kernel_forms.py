"""Running a library call with a lazy kernel held in numpy and then forced, for the kernel tests."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

#: The processor's NaN (what ``inf − inf`` or ``0 × inf`` gives on x86: sign bit set), the only NaN a run makes.
#: Not matched and not needed: numpy's sum of two NaNs of different bits returns either one's,
#: depending on the array's length (its SIMD and scalar loops), while a compiled pass returns the first.
with np.errstate(invalid="ignore"):
    NAN = float((np.array([np.inf]) - np.inf)[0])


class FakeLedger(SimpleNamespace):
    """A ledger's attributes, hashable by identity as a ``Ledger`` is (close_steps keeps its constants by ledger)."""
    __hash__ = object.__hash__


def both_forms(monkeypatch, lazy, module, spied: str, fn):
    """``(fn() in numpy, fn() compiled, calls of module.spied made by the compiled side)``: ``lazy``
    (a :class:`simulator.lazy_kernel.LazyKernel`) patched to return None, then ``module``."""
    calls = []
    compiled = getattr(module, spied)
    monkeypatch.setattr(module, spied, lambda *a: calls.append(1) or compiled(*a))
    out = []
    for kernel in (None, module):
        monkeypatch.setattr(lazy, "for_call", lambda *a, _k=kernel, **kw: _k)
        out.append(fn())
    return out[0], out[1], len(calls)


def assert_same_bits(a, b, what=""):
    """Equal arrays byte for byte (``-0.0`` and ``0.0`` differ, NaNs compare by their bits); object
    arrays (dates, names) by value."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype == object:
        assert a.tolist() == b.tolist(), what
    elif a.tobytes() != b.tobytes():
        diff = np.flatnonzero(np.ascontiguousarray(a).view(np.uint8) != np.ascontiguousarray(b).view(np.uint8))
        raise AssertionError(f"{what}: bytes differ from byte {diff[0]} ({a.reshape(-1)[:4]} vs {b.reshape(-1)[:4]})")


def assert_same_runs(a, b):
    """Two runs' ``(path_metrics, monthly, daily)`` equal byte for byte, column by column."""
    assert a[0].keys() == b[0].keys()
    for name in a[0]:
        assert_same_bits(a[0][name], b[0][name], f"path_metrics.{name}")
    for x, y, what in zip(a[1:], b[1:], ("monthly", "daily")):
        assert list(x.columns) == list(y.columns)
        for column in x.columns:
            assert_same_bits(x[column].to_numpy(), y[column].to_numpy(), f"{what}.{column}")


def run_forms(both, path: str, paths: int):
    """``(scenario, run in numpy, run compiled, compiled calls)`` of the scenario at ``path``; ``both(fn)``
    runs ``fn`` in both forms (:func:`both_forms` with its kernel bound)."""
    from simulator import engine
    from simulator.config import load_scenario
    scenario = load_scenario(path)

    def run():
        r = engine.simulate(scenario, paths=paths, keep_paths=paths, workers=1)
        return r.path_metrics, r.monthly, r.daily
    return (scenario, *both(run))


def reporting_day_by_day(self):
    """The reporting actor as it was before session 31's ``rep31`` (the reference): every daily column and
    monthly line copied from the day's record (masked where stopped) into the reporting block day by day: an
    ``engine._Simulation.reporting`` for the tests whose reference runs change the day's record itself. The day's
    record is the one a reference company actor took and masked in place (``self.day``, as the engine's ``open_day``
    took it before session 36), else the block's day as it is at the reporting's turn (``tests/block_day.py``)."""
    from simulator import units
    from simulator.day_record import MONTHLY_LINES
    from simulator.finance.ledger import FINANCE_DAILY_COLUMNS
    from simulator.reporting import fold_block
    from tests.block_day import block_day

    r = self.report
    for day in range(self.days):
        d, b, row = vars(self).pop("day", None) or block_day(self.ops, day), self.ops, day % r.block_days
        j = day - b.first
        if r.columns_wanted:
            values = [d.price_usd, b.difficulty[j], d.network_hashrate_ehs, b.height[j], d.hashprice_usd_per_ph_day,
                      d.energised_ehs, d.energy_mwh / units.HOURS_PER_DAY, d.btc_mined, d.curtailed_mwh,
                      d.underclocked_mwh]
            if self.hpc is not None:
                values.append(self.hpc.reserved_mw_on(day))
            if self.ledger is not None:
                values.extend(self.ledger.daily_columns()[c] for c in FINANCE_DAILY_COLUMNS)
            for k, v in enumerate(values):
                r.quantiles.buffer[row, k] = v
            r.network_revenue_btc[row] = d.network_revenue_btc
        lines = r.lines[row + 1]
        monthly_lines(d, lines)
        lines[len(MONTHLY_LINES)] = d.energised_ehs
        lines[len(MONTHLY_LINES) + 1] = d.hashprice_usd_per_ph_day
        r.totals["end_fleet_value_usd"] = d.fleet_market_value_usd
        if row == r.block_days - 1 or day == self.days - 1:
            r._finish_block(day - row, row + 1)  # (the signals, kept rows and quantiles)
            fold_block(r.lines, row + 1, r.sums, r.monthly, r.month_of_day[day - row:day + 1])
        yield self.env.timeout(1)


def operating_flows(d, lost_units: np.ndarray, index_price_usd_per_mwh: np.ndarray, hpc, height: np.ndarray,
                    same_on_paths: dict, masked_with: np.ndarray | None = None):
    """The day of record ``d`` as finance sees it, written out field by field: the reference of
    ``OpsBlock.flows`` (rows of ``DayRecord.block_flows``). ``lost_units`` ``(cohorts, paths)``: failed beyond
    repair; ``hpc`` the day's HPC projects (``HpcDay``); ``same_on_paths`` the ``SAME_ON_PATHS`` amounts and the
    sites' MW shares as ``(paths,)`` arrays (:func:`day_same_on_paths`); ``masked_with`` the alive mask the day is
    already masked with (``OpsBlock.stop``)."""
    from simulator.finance.flows import OperatingFlows

    return OperatingFlows.of(dict(
        price_usd=d.price_usd, hashprice_usd_per_ph_day=d.hashprice_usd_per_ph_day, btc_mined=d.btc_mined,
        mining_revenue_usd=d.mining_revenue_usd, hosting_revenue_usd=d.hosting_revenue_usd,
        power_cost_usd=d.power_cost_usd, power_credit_usd=d.power_credit_usd,
        demand_response_credit_usd=d.demand_response_credit_usd,
        transmission_charge_usd=d.transmission_charge_usd, hosting_power_cost_usd=d.hosting_power_cost_usd,
        hosting_cost_usd=d.hosting_cost_usd, repair_cost_usd=d.repair_cost_usd,
        delivered_units=d.delivered_units, purchase_capex_usd=d.purchase_capex_by_cohort,
        retired_units=d.retired_units_by_cohort, lost_units=lost_units,
        resale_value_usd=d.resale_value_usd,
        fleet_market_value_usd=d.fleet_market_value_usd, installed_ehs=d.installed_ehs,
        index_price_usd_per_mwh=index_price_usd_per_mwh,
        hpc_revenue_usd=hpc.revenue_usd, hpc_prepayment_usd=hpc.prepayment_usd, hpc_lease_ended=hpc.lease_ended,
        hpc_building_capex_usd=hpc.building_capex_usd, hpc_gpu_capex_usd=hpc.gpu_capex_usd,
        hpc_completed=hpc.completed, hpc_net_annual_usd=hpc.net_annual_usd,
        hpc_remaining_years=hpc.remaining_years, hpc_rate_factor=hpc.rate_factor,
        hpc_power_price_usd_per_mwh=hpc.power_price_usd_per_mwh,
        height=height, fees_btc_per_block=d.fees_btc_per_block, masked_with=masked_with, **same_on_paths))


def day_same_on_paths(b, day: int, paths: int) -> dict:
    """Day ``day``'s amounts that are the same on every path and the sites' MW shares, as ``(paths,)`` rows of
    block ``b``'s table (``DayRecord.same_on_paths``, made once a block as ``OpsBlock.flows`` makes it)."""
    if b._same_on_paths is None:
        b._same_on_paths = b.record.same_on_paths(b.n, paths)
    return {name: rows[day - b.first] for name, rows in b._same_on_paths.items()}


def day_hpc(b, day: int, none):
    """Day ``day``'s HPC projects of block ``b`` (``none``, the day of no project, without projects): row ``j`` of
    their :class:`~simulator.columns.Rows`, kept in the block's ``_rows`` until a stop."""
    from simulator.columns import Rows

    if b.hpc is None:
        return none
    rows = b._rows.get("hpc")
    if rows is None:
        rows = b._rows["hpc"] = Rows(b.hpc)
    return rows(day - b.first)


def monthly_lines(d, out: np.ndarray) -> np.ndarray:
    """The ``MONTHLY_LINES`` of day record ``d``, written into ``out`` ``(lines, paths)``."""
    from simulator.day_record import MONTHLY_LINES

    for j, line in enumerate(MONTHLY_LINES):
        out[j] = getattr(d, line)
    return out


def assert_one_path_closes_stay_in_numpy(monkeypatch, lazy, cost: int) -> None:
    """A one-path run's closes, each charging ``lazy`` its numpy form's ``cost``, never load the compiled form (nor
    numba) over the longest bundled horizon (``hpc_conversion.yaml``'s 1,461 days; review 12)."""
    from simulator import lazy_kernel
    from simulator.config import load_scenario

    from conftest import REPO

    days = max(load_scenario(str(p)).horizon_days for p in (REPO / "scenarios").glob("*.yaml"))
    assert days >= 1461
    monkeypatch.setattr(lazy, "spent", 0)
    monkeypatch.setattr(lazy, "loaded", lambda: None)
    monkeypatch.setattr(lazy_kernel, "numba_runs", lambda: False)
    assert all(lazy.for_call(1, cost) is None for _ in range(days))
