"""The ledger's compiled operating day (simulator.finance.operations_kernel) against its numpy form: the same bits.

Whole runs are simulated twice, the lazy kernel held in numpy and then forced to the compiled module;
after every close the ledger's state (cash, BTC, equity, units, unit costs, deferred revenue, asset
pools, the LineBook's month and running sums, rings, segment shares) and at the end every monthly,
daily and per-path array are compared byte for byte (``-0.0`` and ``0.0`` differ, NaNs compare by
their bits). A spy checks that the compiled side ran. ``sum(axis=0)``'s order is checked against numpy on tables and
with hypothesis (numpy's ``maximum``/``minimum``, shared by every kernel, in tests/test_kernel_math.py).
"""
from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import engine
from simulator.config import load_scenario
from simulator.finance import books, operations_call
from simulator.finance.ledger import Ledger

kernel = importlib.import_module("simulator.finance.operations_kernel")

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 1e308]


def _bits(x) -> bytes:
    return np.ascontiguousarray(x).tobytes()


def _layouts(x):
    """``x`` as a C array, a row-strided view of a wider array and a broadcast of its first row."""
    wide = np.zeros((x.shape[0], x.shape[1] + 3))
    wide[:, 1:x.shape[1] + 1] = x
    return [x, wide[:, 1:x.shape[1] + 1], np.broadcast_to(x[0], x.shape)]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # (inf − inf in numpy's sum)
@pytest.mark.parametrize("rows", [0, 1, 2, 7, 8, 9, 33])
@pytest.mark.parametrize("paths", [2, 3, 16, 513])
def test_rows_sum_is_numpys_sum_over_the_first_axis(rows, paths):
    rng = np.random.default_rng(rows * 1000 + paths)
    x = rng.choice(np.array(SPECIAL + [0.1, 1e16, -1e16, 3.0, 1e-3]), size=(rows, paths))
    x[:, 0] = -0.0  # a column of −0.0: numpy's sum starts at +0.0
    for a in _layouts(x) if rows else [x]:
        assert _bits(kernel.rows_sum(a)) == _bits(a.sum(axis=0))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=2, max_size=2),
                min_size=1, max_size=40))
def test_rows_sum_hypothesis(rows):
    x = np.array(rows)
    assert _bits(kernel.rows_sum(x)) == _bits(x.sum(axis=0))


def test_rows_that_numpy_would_sum_pairwise_stay_in_numpy():
    """One path (a ``(rows, 1)`` array is summed pairwise) or a column-major table: the day runs in numpy."""
    assert operations_call._by_rows(np.zeros((9, 4)))
    assert operations_call._by_rows(np.broadcast_to(0.0, (9, 4)))
    assert not operations_call._by_rows(np.asfortranarray(np.ones((9, 4))))

    class Ledgerish:
        paths = 1
    assert operations_call.kernel_for(Ledgerish(), None) is None


def test_a_one_path_run_never_loads_the_compiled_day():
    code = ("import sys; from simulator import engine; from simulator.config import load_scenario\n"
            "engine.simulate(load_scenario('scenarios/contract_example.yaml', ['paths=1']), keep_paths=1, workers=1)\n"
            "print('simulator.finance.operations_kernel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


# --------------------------------------------------------------------------- whole runs
def _state(ledger) -> list[bytes]:
    arrays = [ledger.cash_usd, ledger.treasury_btc, ledger.equity_usd, ledger.month_btc, ledger.units,
              ledger.unit_cost_usd, ledger.deferred_revenue_usd, ledger.shares, ledger.arrears_usd, ledger.lines.month,
              ledger.lines.total, ledger._ebitda_today, ledger.price_usd, ledger.share_price_usd,
              ledger.btc_vol.mean, ledger.btc_vol.m2, ledger.alive, *(ledger._segment_shares or ())]
    for pool in [ledger.sites] + [p for pair in ledger.hpc_pools for p in pair]:
        arrays += [pool.book_usd, pool.base_usd, pool.in_progress_usd]
    arrays += [ring.values for ring in ledger.run_rate.values()] + [ledger.ebitda_ring.values]
    return [_bits(a) for a in arrays] + [repr(sorted(ledger.sites.changes))]


def _run(monkeypatch, path, overrides, compiled: bool):
    monkeypatch.setattr(operations_call.OPERATIONS_KERNEL, "for_call",
                        lambda *a, **kw: kernel if compiled else None)
    days, calls, close, book_day = [], [], Ledger.close_day, kernel.book_day

    def spied_close(self, cal):
        close(self, cal)
        days.append(_state(self))
    monkeypatch.setattr(Ledger, "close_day", spied_close)
    monkeypatch.setattr(kernel, "book_day", lambda *a: calls.append(1) or book_day(*a))
    res = engine.simulate(load_scenario(path, overrides), keep_paths=3, workers=1)
    return res, days, len(calls)


def _assert_same_run(monkeypatch, path, overrides):
    a, days_a, calls_a = _run(monkeypatch, path, overrides, compiled=False)
    b, days_b, calls_b = _run(monkeypatch, path, overrides, compiled=True)
    assert calls_a == 0 and calls_b == len(days_b) > 0  # the compiled day ran every day
    for day, (x, y) in enumerate(zip(days_a, days_b)):
        diff = [i for i, (u, v) in enumerate(zip(x, y)) if u != v]
        assert not diff, f"day {day}: ledger state items {diff} differ"
    assert a.path_metrics.keys() == b.path_metrics.keys()
    for k in a.path_metrics:
        assert _bits(a.path_metrics[k]) == _bits(b.path_metrics[k]), k
    for name in ("monthly", "daily", "daily_quantiles"):
        x, y = getattr(a, name), getattr(b, name)
        assert list(x.columns) == list(y.columns), name
        for col in x.columns:
            u, v = x[col].to_numpy(), y[col].to_numpy()
            assert (_bits(u) == _bits(v)) if u.dtype.kind in "fiub" else x[col].equals(y[col]), (name, col)
    return a


def test_contract_example_is_the_same_bits(monkeypatch):
    """Purchases, failures, an HPC colocation project with project debt, a convertible and a BTC-backed loan."""
    _assert_same_run(monkeypatch, "scenarios/contract_example.yaml", ["paths=5"])


def test_an_hpc_preset_with_prepayment_is_the_same_bits(monkeypatch):
    """IREN: colocation leases prepaid at completion (deferred revenue), GPU cloud, hosting-free MW shares."""
    res = _assert_same_run(monkeypatch, "scenarios/companies/iren.yaml", ["paths=3"])
    assert res.monthly["deferred_revenue_usd"].max() > 0  # the prepayment was booked


def test_distress_retirements_dcf_and_direct_bookings_are_the_same_bits(monkeypatch):
    """Some paths in distress (masked flows), a cohort retired, revenue-share segments with hosting-free HPC,
    the dcf's run rates, and the LineBook adding each amount as it comes (its large-run mode)."""
    monkeypatch.setattr(books, "DIRECT_PATHS", 4)
    res = _assert_same_run(monkeypatch, "scenarios/contract_example.yaml", [
        "paths=6", "company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false", "fleet[0].retired=2026-10-01",
        "company.valuation.method=dcf", "market.btc_price.vol_annual=0.9"])
    assert 0 < res.path_metrics["prob_cash_shortfall"].sum() < 6  # some paths in distress, not all
    assert res.monthly["impairment_usd"].abs().max() > 0  # the retirement wrote units off
    assert res.monthly["sga_hpc_usd"].max() > 0  # SG&A split by revenue shares


def test_hosting_and_hpc_preset_is_the_same_bits(monkeypatch):
    """Core Scientific: hosting clients and HPC colocation (three revenue segments: a regrouped
    ``(mining + hosting) + HPC`` fails here), deliveries and failures."""
    res = _assert_same_run(monkeypatch, "scenarios/companies/core_scientific.yaml", ["paths=3"])
    assert res.monthly["sga_hosting_usd"].max() > 0 and res.monthly["sga_hpc_usd"].max() > 0
