"""The company's day around the ledger (brief `finglue`): a stopped company's flows masked once a block,
the per-day amounts filled over paths once a block, the day's record through ``columns.Rows``, and the
trailing volatility's compiled update — each the same bits as the route it replaces.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, fields

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import block, engine, fleet
from simulator.columns import Rows
from simulator.config import load_scenario
from simulator.day_record import MONTHLY_LINES, SAME_ON_PATHS
from simulator.finance import segments, structural
from simulator.finance.flows import OperatingFlows
from simulator.finance.ledger import Ledger
from simulator.hpc import HpcDay
from tests.kernel_forms import assert_same_bits, assert_same_runs, reporting_day_by_day

kernel = importlib.import_module("simulator.finance.operations_kernel")

#: Returns drawn beside normal ones. No NaN return: numpy itself gives either operand's NaN from a sum or a
#: product of two NaNs of different signs, depending on the array's length (measured: numpy 2.4, AVX-512),
#: so no order is defined to match; a price path never gives one (a zero or infinite price gives ±inf,
#: whose NaNs are all the processor's one default NaN, the same bits whichever operand is returned).
SPECIAL = [0.0, -0.0, 1e-3, -2e-2, 0.5, np.inf, -np.inf, 5e-324, 1e308, -1e308]


# --------------------------------------------------------------------------- masking once a block
def _per_path(x, paths: int) -> np.ndarray:
    return np.full(paths, x) if isinstance(x, float) else np.broadcast_to(x, (paths,))


def _company_masked_daily(self):
    """The company actor as it was before (base of brief `finglue`): each day's record masked field by field
    when booked, the amounts that are one a day filled over paths every day, and the ledger masking the
    flows again (``OperatingFlows.masked``)."""
    c, ledger = self.cohorts, self.ledger
    no_hpc = HpcDay.zeros(len(self.scenario.hpc), self.paths)
    for day in range(self.days):
        d, b, alive = self.day, self.ops, ledger.alive
        if not alive.all():
            for line in MONTHLY_LINES + ("running_ths",):
                setattr(d, line, getattr(d, line) * alive)
        j = day - b.first
        same = {name: _per_path(getattr(d, name), self.paths) for name in SAME_ON_PATHS}
        shares = segments.mw_shares(*d.site_mw)
        same["site_mw_hosting_share"], same["site_mw_hpc_share"] = (_per_path(s, self.paths) for s in shares)
        flows = d.operating_flows(b.lost_units[j], b.index_price_usd_per_mwh[j], b.hpc_day(day, no_hpc),
                                  b.height[j], same)
        if day == 0:
            opening = fleet.opening_cohorts(c)
            ledger.open(flows, c.units[:, None] * np.ones(self.paths) * opening, d.cost_usd_by_cohort * opening)
        ledger.book_operations(flows, day)
        yield self.env.timeout(1)


def _run(scenario):
    r = engine.simulate(scenario, keep_paths=scenario.paths, workers=1)
    return r.path_metrics, r.monthly, r.daily


def test_a_block_masked_once_gives_the_floats_of_every_day_masked(monkeypatch):
    """Paths stopping on a block's first day and in its middle (the contract example: an HPC project with
    project debt, purchases, failures, a convertible and a BTC-backed loan, driven into distress)."""
    scenario = load_scenario("scenarios/contract_example.yaml", [
        "paths=8", "company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false",
        "fleet[0].retired=2027-03-01", "market.btc_price.vol_annual=0.9"])  # (retired with paths stopped)
    stops, stop, book, checked = [], block.OpsBlock.stop, Ledger.book_operations, []

    def spied(self, day, alive):
        masked = stop(self, day, alive)
        if masked:
            stops.append((self.first, day - self.first))
        return masked

    def book_spied(self, flows, day):  # every field OperatingFlows.masked zeroes is zero already
        if not self.alive.all():
            again = flows.masked(self.alive.copy())  # (not the same mask object: masked again)
            for f in fields(OperatingFlows):
                if f.name != "masked_with":
                    assert_same_bits(getattr(flows, f.name), getattr(again, f.name), f.name)
            checked.append(day)
        book(self, flows, day)
    monkeypatch.setattr(block.OpsBlock, "stop", spied)
    monkeypatch.setattr(Ledger, "book_operations", book_spied)
    new = _run(scenario)
    offsets = [j for _, j in stops]
    assert 0 in offsets and any(j > 0 for j in offsets)  # a block opened with stopped paths, and a mid-block stop
    firsts = [first for first, _ in stops]
    assert any(firsts.count(first) > 1 for first in firsts)  # a block masked again after a later close
    assert len(checked) > 100
    assert 0 < new[0]["prob_cash_shortfall"].sum() < scenario.paths
    monkeypatch.setattr(Ledger, "book_operations", book)
    monkeypatch.setattr(engine._Simulation, "company", _company_masked_daily)
    monkeypatch.setattr(engine._Simulation, "reporting", reporting_day_by_day)  # (it reads the day's record masked)
    assert_same_runs(_run(scenario), new)


# --------------------------------------------------------------------------- a record's rows
@dataclass
class _Record:
    a: np.ndarray
    b: float
    c: tuple
    d: np.ndarray | None = None


def test_rows_gives_each_days_record():
    """An array field's row, a tuple field's rows, floats and None as they are."""
    record = _Record(np.arange(12.0).reshape(3, 4), 2.5, (np.arange(3.0), 7.0), None)
    rows = Rows(record)
    for j in range(3):
        x = rows(j)
        assert type(x) is _Record
        assert_same_bits(x.a, record.a[j])
        assert x.b == 2.5 and x.d is None and x.c[1] == 7.0
        assert_same_bits(np.asarray(x.c[0]), np.asarray(record.c[0][j]))


# --------------------------------------------------------------------------- the trailing volatility
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.sampled_from(SPECIAL), st.floats(-0.3, 0.3)), min_size=3, max_size=3),
                min_size=1, max_size=12))
def test_the_compiled_running_update_is_numpys(tail):
    """Two windows and a bit of returns (the running update from day 91 on, the window's own sums every 90th
    day), the last days drawn with signed zeros, infinities and NaNs: mean, M₂, window and value the same bits."""
    rng = np.random.default_rng(len(tail))
    returns = [rng.normal(0.0, 0.03, 3) for _ in range(2 * structural.VOL_WINDOW_DAYS)]
    returns += [np.array(x, dtype=float) for x in tail]
    numpy_form, compiled = structural.TrailingVol(3, 0.6), structural.TrailingVol(3, 0.6)
    with np.errstate(invalid="ignore", over="ignore"):
        for x in returns:
            numpy_form.push(x.copy())
            compiled.push(x.copy(), kernel.trailing_vol_update)
            for u, v in ((numpy_form.mean, compiled.mean), (numpy_form.m2, compiled.m2),
                         (numpy_form.returns, compiled.returns), (numpy_form.value(), compiled.value())):
                assert_same_bits(u, v)
