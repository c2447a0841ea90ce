"""The company's day around the ledger (brief `finglue`): a stopped company's flows masked once a block,
the per-day amounts filled over paths once a block, the day's record through ``columns.Rows``, and the
trailing volatility's compiled update — each the same bits as the route it replaces.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import block, engine, fleet
from simulator.columns import Rows
from simulator.config import load_scenario
from simulator.day_record import MONTHLY_LINES, SAME_ON_PATHS
from simulator.finance import segments, structural
from simulator.finance.flows import BlockDayFlows, OperatingFlows
from simulator.finance.ledger import Ledger
from simulator.hpc import HpcDay
from tests.block_day import block_day
from tests.kernel_forms import (assert_same_bits, assert_same_runs, day_hpc, day_same_on_paths, operating_flows,
                                reporting_day_by_day)

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
        d, b, alive = block_day(self.ops, day), self.ops, ledger.alive
        self.day = d  # (the reference reporting reads the day masked: kernel_forms.reporting_day_by_day)
        if not alive.all():
            for line in MONTHLY_LINES + ("running_ths", "energised_ehs"):
                setattr(d, line, getattr(d, line) * alive)
        j = day - b.first
        same = {name: _per_path(getattr(d, name), self.paths) for name in SAME_ON_PATHS}
        shares = segments.mw_shares(*d.site_mw)
        same["site_mw_hosting_share"], same["site_mw_hpc_share"] = (_per_path(s, self.paths) for s in shares)
        flows = operating_flows(d, b.lost_units[j], b.index_price_usd_per_mwh[j], day_hpc(b, day, no_hpc),
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


@pytest.mark.parametrize("path, overrides", [
    ("scenarios/contract_example.yaml", ["paths=8", "company.sga_usd_per_year=1.5e8",
                                         "company.equity.atm_enabled=false", "fleet[0].retired=2027-03-01",
                                         "market.btc_price.vol_annual=0.9"]),
    ("scenarios/companies/mara.yaml", ["paths=5", "horizon_days=200"])])
def test_the_blocks_flows_are_the_days_operating_flows(monkeypatch, path, overrides):
    """``OpsBlock.flows`` (rows of the block's flows) gives every day what ``kernel_forms.operating_flows`` of the
    day's record gives: the same objects or the same bits in every field, in field order (with and without
    HPC projects, paths stopping)."""
    scenario = load_scenario(path, overrides)
    flows_of, checked, lazy_days = block.OpsBlock.flows, [], []

    def spied(self, day, no_hpc):
        f = flows_of(self, day, no_hpc)
        paths, j = self.height.shape[-1], day - self.first
        want = operating_flows(
            block_day(self, day), self.lost_units_on(day), self.index_price_usd_per_mwh[j],
            day_hpc(self, day, HpcDay.zeros(len(scenario.hpc), paths)), self.height[j],
            day_same_on_paths(self, day, paths), self.stopped)
        whole, at = vars(f)["block_day"]  # (not a field: the block's flows and the day's index in them)
        lazy = "lost_units_unmasked" in vars(f)  # (the units lost masked when first read: a stopped block's day)
        assert type(f) is BlockDayFlows and at == j and whole is self._rows["whole"]
        if lazy:
            lost, mask = vars(f)["lost_units_unmasked"]
            assert "lost_units" not in vars(f) and mask is self._alive_usd and np.shares_memory(lost, self.lost_units)
            assert_same_bits(lost, self.lost_units[j], "lost_units_unmasked")
        lazy_days.append(lazy)
        for name in vars(want):
            a, b = getattr(f, name), getattr(want, name)  # (a field of the block's flows read when first asked for)
            if a is not b:
                assert_same_bits(a, b, name)
            assert getattr(f, name) is a  # (then kept)
            rows_of = getattr(whole, name)
            if isinstance(rows_of, np.ndarray):  # the block's field is the one the day's row is taken from
                assert_same_bits(rows_of[j], a, name)
        checked.append(self.stopped is not None and not self.stopped.all())
        return f
    monkeypatch.setattr(block.OpsBlock, "flows", spied)
    engine.simulate(scenario, keep_paths=0, workers=1)
    assert len(checked) == scenario.horizon_days + 1  # (day 0's for the opening balance sheet, then every day's)
    assert any(checked) == bool(scenario.hpc)  # (the distressed contract example stops paths)
    assert any(lazy_days) == bool(scenario.hpc)  # (a stopped day's units lost masked when read)


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


@dataclass(frozen=True)
class _Frozen:
    a: np.ndarray
    b: float = 1.0


@dataclass
class _Checked:
    a: np.ndarray
    seen: list = None

    def __post_init__(self):
        self.seen = ["init"]


def test_rows_makes_the_record_its_init_would():
    """A day made without ``__init__`` has the fields ``__init__`` would store, in field order (a frozen class
    too), ``extra`` replacing a row's fields; a class with a ``__post_init__`` is made through ``__init__``."""
    record = _Record(np.arange(12.0).reshape(3, 4), 2.5, (np.arange(3.0), 7.0), None)
    x = Rows(record)(1, {"d": np.ones(4)})
    made = _Record(record.a[1], 2.5, (record.c[0][1], 7.0), np.ones(4))
    assert list(vars(x)) == list(vars(made)) == ["a", "b", "c", "d"]
    assert_same_bits(x.a, made.a)
    assert x.b == made.b and x.c[1] == 7.0 and x.c[0] == made.c[0] and (x.d == 1.0).all()
    frozen = Rows(_Frozen(np.arange(6.0).reshape(3, 2)))(2)
    assert type(frozen) is _Frozen and list(frozen.a) == [4.0, 5.0] and frozen.b == 1.0
    assert frozen == _Frozen(frozen.a, 1.0)
    checked = Rows(_Checked(np.arange(4.0).reshape(2, 2)))(0)
    assert checked.seen == ["init"]  # (through __init__: its __post_init__ ran)


def test_operating_flows_of_stores_what_init_stores():
    """``OperatingFlows.of`` gives ``OperatingFlows(**values)``'s fields, in field order, and refuses names
    ``__init__`` would refuse or miss."""
    names = [f.name for f in fields(OperatingFlows)]
    values = {name: np.full(2, float(i)) for i, name in enumerate(reversed(names)) if name != "masked_with"}
    a, b = OperatingFlows.of(values), OperatingFlows(**values)
    assert list(vars(a)) == list(vars(b)) == names
    assert all(getattr(a, n) is getattr(b, n) for n in names)
    assert a.masked_with is None
    with np.testing.assert_raises(TypeError):
        OperatingFlows.of({**values, "not_a_field": 1.0})
    with np.testing.assert_raises(TypeError):
        OperatingFlows.of({k: v for k, v in values.items() if k != "btc_mined"})
    with np.testing.assert_raises(TypeError):  # the optional field does not stand in for a missing one
        OperatingFlows.of({**{k: v for k, v in values.items() if k != "height"}, "masked_with": None})


def test_a_stop_masks_what_masking_every_field_gives(monkeypatch):
    """At every stop of a run driven into distress: each stopped line and the HPC fields are ``x × alive``
    from the stop's day on (the earlier days as they were; a field of ±0.0 kept as it is, the same bits),
    the units lost as each day is taken, each day's trades ``x × alive`` field by field, and the per-day
    amounts' table (made again with the sites' MW shares kept) the table a fresh block would make."""
    scenario = load_scenario("scenarios/contract_example.yaml", [
        "paths=8", "company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false",
        "fleet[0].retired=2027-03-01", "market.btc_price.vol_annual=0.9"])
    stop, checked, kept = block.OpsBlock.stop, [], set()

    def spied(self, day, alive):
        r, j, n = self.record, day - self.first, self.n
        before = ({name: getattr(r, name) for name in block.STOPPED_LINES}, self.lost_units, list(self.trades),
                  self.hpc)
        had_table = self._same_on_paths is not None
        masked = stop(self, day, alive)
        if not masked:
            return masked
        lines, lost, trades, hpc = before
        paths = alive.shape[0]
        for name, x in [*lines.items()] + (
                [(f"hpc.{k}", getattr(hpc, k)) for k in block.STOPPED_HPC] if hpc is not None else []):
            now = getattr(r, name) if name in lines else getattr(self.hpc, name[4:])
            x = np.asarray(x)
            full = np.broadcast_to(x[:, None] if x.ndim == 1 else x, (n, paths)) if name in lines else x
            want = np.concatenate([full[:j], full[j:] * (alive if full.dtype != float else alive.astype(float))])
            now = np.asarray(now)
            assert_same_bits(np.broadcast_to(now[:, None] if now.ndim == 1 and name in lines else now, want.shape),
                             want, name)
        for d in range(day, self.first + n):  # (the units lost: as each day is taken)
            lost_d = lost[d - self.first]
            assert_same_bits(self.lost_units_on(d), lost_d * alive.astype(float), "lost_units")
        for t0, t1 in zip(trades[j:], self.trades[j:]):
            for name in block.STOPPED_TRADES:
                x = getattr(t0, name)
                assert_same_bits(getattr(t1, name), x * (alive.astype(float) if x.dtype == float else alive), name)
            # a day with nothing traded (every masked field floats ±0.0) is kept as it is; any other copied
            nothing = all(getattr(t0, k).dtype == float and not np.count_nonzero(getattr(t0, k))
                          for k in block.STOPPED_TRADES)
            assert (t1 is t0) == nothing
            kept.add(nothing)
        if had_table:
            fresh = r.same_on_paths(n, paths)
            for name, x in fresh.items():
                assert_same_bits(self._same_on_paths[name], x, name)
        checked.append(had_table)
        return masked
    monkeypatch.setattr(block.OpsBlock, "stop", spied)
    _run(scenario)
    assert len(checked) > 3 and any(checked)
    assert kept == {True, False}  # (days of nothing traded kept, days with trades masked)


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
    numpy_form = structural.TrailingVol(3, 0.6)
    by_row = structural.TrailingVol(3, 0.6)  # (the compiled day's route: update_row, the update in book_day)
    rows = 0
    with np.errstate(invalid="ignore", over="ignore"):
        for x in returns:
            numpy_form.push(x.copy())
            row = by_row.update_row()
            if row is None:
                by_row.push(x.copy())
            else:
                rows += 1
                kernel.trailing_vol_update(x.copy(), row, by_row.mean, by_row.m2, float(structural.VOL_WINDOW_DAYS))
            assert by_row.count == numpy_form.count
            for u, v in ((numpy_form.mean, by_row.mean), (numpy_form.m2, by_row.m2),
                         (numpy_form.returns, by_row.returns), (numpy_form.value(), by_row.value())):
                assert_same_bits(u, v)
    assert rows == structural.VOL_WINDOW_DAYS - 1 + len(tail)  # (the pushes 91-179 and 181 on: by row)
