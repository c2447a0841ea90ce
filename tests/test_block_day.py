"""A day of the operating block as one record (the tests' reference, ``tests/block_day.py``): every field what the day's record made
through ``columns.Rows`` (the form before session 32's ``rep32``) holds, read when asked for (issue 19).
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from simulator import block, engine
from simulator.columns import Rows
from simulator.config import load_scenario
from simulator.day_record import DayRecord
from simulator.fleet import Trades
from tests.block_day import BlockDay, block_day
from tests.kernel_forms import assert_same_bits


def _rows_day(b: block.OpsBlock, day: int) -> DayRecord:
    """The reference: the record's every row through ``Rows``, the day's trades set."""
    j, t = day - b.first, b.trades[day - b.first]
    return Rows(b.record)(j, {f.name: getattr(t, f.name) for f in fields(t)})


def _same(a, b, name):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), name
        for x, y in zip(a, b):
            _same(x, y, name)
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert_same_bits(a, b, name)
    else:
        assert type(a) is type(b) and (a == b or a is b), (name, a, b)


def test_each_day_holds_the_rows_of_its_record(monkeypatch):
    """Every day of a run whose paths stop (a block masked mid-way), every field, as the daily actors' turns find
    the block (taken at the reporting's turn, after the company's stop): the value ``Rows`` gives; the trades are the
    day's own objects; the energised fleet the reporting reads without the day (``OpsBlock.energised_ehs``) is the
    day's, bit for bit (the installed fleet itself where no path has stopped)."""
    from simulator.reporting import Reporter

    scenario = load_scenario("scenarios/contract_example.yaml", [
        "paths=8", "horizon_days=400", "company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false",
        "fleet[0].retired=2026-09-01", "market.btc_price.vol_annual=0.9"])
    report_day, checked = Reporter.day, []

    def spied(self, day, b):
        got = block_day(b, day)
        assert type(got) is BlockDay
        want = _rows_day(b, day)
        t = b.trades[day - b.first]
        assert got.delivered_units is t.delivered_units and got.installed_ehs is t.installed_ehs
        for f in fields(DayRecord):
            _same(getattr(got, f.name), getattr(want, f.name), f.name)
        stopped = b.stopped is not None and not b.stopped.all()
        energised = b.energised_ehs(day)
        assert_same_bits(energised, got.energised_ehs, "energised_ehs")
        assert (energised is t.installed_ehs) != stopped
        if stopped:
            assert_same_bits(energised, t.installed_ehs * b.stopped, "energised_ehs")
        checked.append(stopped)
        return report_day(self, day, b)
    monkeypatch.setattr(Reporter, "day", spied)
    engine.simulate(scenario, keep_paths=0, workers=1)
    assert len(checked) == scenario.horizon_days and any(checked) and not all(checked)


def test_a_days_field_is_read_once_and_may_be_set():
    record = DayRecord.start(np.arange(6.0).reshape(3, 2), np.ones((3, 2)), np.zeros((3, 2)), 10.0)
    record.site_mw = (np.arange(3.0), 2.0, 0.0)
    trades = Trades(**{f.name: np.full(2, float(i)) for i, f in enumerate(fields(Trades))})
    day = BlockDay.of(record, 2, trades)
    assert_same_bits(day.price_usd, record.price_usd[2])
    assert day.price_usd is day.price_usd  # kept
    assert day.site_mw[0] == 2.0 and day.site_mw[1:] == (2.0, 0.0) and day.site_opex_usd == 0.0
    assert day.network_blocks is None and day.installed_ehs is trades.installed_ehs
    day.btc_mined = "set"
    assert day.btc_mined == "set"
    with pytest.raises(AttributeError):
        day.not_a_field
    assert not hasattr(day, "not_a_field")
