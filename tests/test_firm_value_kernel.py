"""The close's compiled firm value (simulator.finance.firm_value_kernel) against its numpy forms: the same bits.

:meth:`simulator.finance.contracts.ContractValuer.value_usd` and
:meth:`simulator.finance.ledger.Ledger._firm_value` (``method: nav``) run once with their lazy
kernel held in numpy and once with the compiled module forced; every output is compared byte for
byte (``-0.0`` and ``0.0`` differ, NaNs by their bits), on drawn inputs with the edges the masks
turn on (completion days NaN, today or long past the life; all paths completed, none, some; leases
ended; power prices and amounts of 0 and −0.0; unsigned projects at book value) and on whole runs
of the contract example and the HPC presets (issue 19, brief ``firmval``).
"""
from __future__ import annotations

import datetime as dt
import types

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulator.config.schema.hpc import HpcProject
from simulator.finance import contracts, firm_value_kernel
from simulator.finance.contracts import ContractValuer
from simulator.finance.ledger import Ledger

import kernel_forms
from kernel_forms import assert_same_bits

COLOCATION = {"kind": "colocation", "lease_usd_per_kw_month": 140.0, "term_years": 2.5, "tenant_ramp_months": 5,
              "escalator_annual": 0.03, "tenant_default_probability_annual": 0.02, "tenant_pays_power": False}
GPU_CLOUD = {"kind": "gpu_cloud", "gpus_per_mw": 600.0, "capex_usd_per_gpu": 30000.0, "price_usd_per_gpu_hour": 2.1,
             "gpu_life_years": 1.5, "price_decline_annual": 0.15}
AMOUNT = st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300]), st.floats(-1e12, 1e12, allow_nan=False))
PRICE = st.one_of(st.sampled_from([0.0, -0.0, 5e-324]), st.floats(-50.0, 1e4, allow_nan=False))


def both_forms(monkeypatch, fn, spied="contract_value"):
    """``fn()`` with the firm-value kernel held in numpy, then forced, and the compiled calls of ``spied``."""
    return kernel_forms.both_forms(monkeypatch, contracts.FIRM_VALUE_KERNEL, firm_value_kernel, spied, fn)


@st.composite
def projects(draw):
    """One to three projects (colocation, tenant paying power or not, or GPU cloud), short lives so that
    drawn days pass them."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        revenue = draw(st.sampled_from([COLOCATION, {**COLOCATION, "tenant_pays_power": True,
                                                     "tenant_ramp_months": 0}, GPU_CLOUD]))
        out.append(HpcProject(site="a", it_mw=draw(st.sampled_from([5.0, 60.0])), pue=1.3,
                              start=dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 400))),
                              build_months=draw(st.sampled_from([0, 6])), capex_usd_per_mw=9e6,
                              opex_usd_per_mw_year=1e5, revenue=revenue))
    return out


@st.composite
def contract_days(draw):
    """A valuer's projects and paths and a run of closes: each day's completions (NaN: not yet),
    leases ended, rate factors and power prices."""
    chosen, paths = draw(projects()), draw(st.integers(1, 6))
    n = len(chosen)
    col = lambda s, k=paths: np.array(draw(st.lists(s, min_size=k, max_size=k)), dtype=float)  # noqa: E731
    days, day = [], 0
    for _ in range(draw(st.integers(1, 6))):
        day += draw(st.sampled_from([0, 1, 30, 200, 365, 700]))
        completed = np.array([col(st.booleans()) for _ in range(n)]).astype(bool).reshape(n, paths)
        ended = np.array([col(st.booleans()) for _ in range(n)]).astype(bool).reshape(n, paths)
        mode = draw(st.sampled_from(["drawn", "all", "none"]))
        if mode != "drawn":
            completed[:] = mode == "all"
        factor = np.array([col(st.one_of(st.just(0.0), st.floats(0.5, 2.0))) for _ in range(n)]).reshape(n, paths)
        price = np.array([col(PRICE) for _ in range(n)]).reshape(n, paths)
        days.append((day, completed, ended, factor, price))
    return chosen, paths, days


@settings(max_examples=150, deadline=None)
@given(contract_days())
def test_compiled_contract_values_are_numpys_bit_for_bit(case):
    chosen, paths, days = case

    def run():
        valuer, out = ContractValuer(chosen, dt.date(2026, 1, 1), 0.1, 3, paths), []
        for day, completed, ended, factor, price in days:
            valuer.observe(day, completed, ended)
            out.append(valuer.value_usd(day, factor, price))
        return out
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(mp, run)
    assert calls >= len(days) * len(chosen)
    for day, a, b in zip(days, numpy_form, compiled):
        assert_same_bits(a, b, f"day {day[0]}")


def _ledger(draw, paths):
    """A stand-in :class:`Ledger` with drawn balances, flows and HPC projects (signed or not), carrying
    the methods :meth:`Ledger._firm_value` calls."""
    col = lambda s=AMOUNT: np.array(draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    chosen = draw(st.one_of(st.just([]), projects()))
    n, start = len(chosen), dt.date(2026, 1, 1)
    valuer = ContractValuer(chosen, start, 0.1, 3, paths)
    day = draw(st.integers(0, 900))
    valuer.signed_day = np.array([draw(st.sampled_from([0.0, float(day), day + 1.0])) for _ in chosen])
    valuer.observe(day, np.array([col(st.booleans()) for _ in chosen]).astype(bool).reshape(n, paths),
                   np.array([col(st.booleans()) for _ in chosen]).astype(bool).reshape(n, paths))
    opening = types.SimpleNamespace(btc_receivable=draw(st.sampled_from([0.0, 12.5])),
                                    other_assets_usd=draw(st.sampled_from([0.0, -0.0, 3e7])),
                                    construction_in_progress_usd=draw(st.sampled_from([0.0, -0.0, 1e6])),
                                    other_liabilities_usd=draw(st.sampled_from([0.0, 2e7])))
    flows = types.SimpleNamespace(fleet_market_value_usd=col(), site_mw_hpc_share=col(st.sampled_from([0.0, -0.0, 0.3, 1.0])),
                                  hpc_rate_factor=np.array([col(st.floats(0.5, 2.0)) for _ in chosen]).reshape(n, paths),
                                  hpc_power_price_usd_per_mwh=np.array([col(PRICE) for _ in chosen]).reshape(n, paths))
    pool = lambda: types.SimpleNamespace(value_usd=col() + col())  # noqa: E731
    sites = types.SimpleNamespace(book_usd=col(), in_progress_usd=col())
    sites.value_usd = sites.book_usd + sites.in_progress_usd
    fake = types.SimpleNamespace(
        cfg=types.SimpleNamespace(valuation=types.SimpleNamespace(method="nav"), opening=opening), flows=flows,
        paths=paths, price_usd=col(PRICE), cash_usd=col(), treasury_btc=col(),
        _btc_books=[types.SimpleNamespace(pledged_btc=col()) for _ in range(draw(st.integers(0, 2)))],
        deferred_revenue_usd=np.array([col() for _ in chosen]).reshape(n, paths), sites=sites,
        hpc_pools=[(pool(), pool()) for _ in chosen], contracts=valuer)
    for name in ("btc_held", "pledged_btc", "_carried_assets_usd", "_hpc_value_usd", "_hpc_values_usd", "_hpc_book_usd"):
        setattr(fake, name, types.MethodType(getattr(Ledger, name), fake))
    return fake, day


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.filterwarnings("ignore:invalid value")
@settings(max_examples=200, deadline=None)
@given(st.data())
def test_compiled_nav_firm_value_is_numpys_bit_for_bit(data):
    paths = data.draw(st.integers(1, 6))
    fake, day = _ledger(data.draw, paths)
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(mp, lambda: Ledger._firm_value(fake, day), "nav_firm_value")
    assert calls == 1
    for name, a, b in zip(("assets", "btc_linked"), numpy_form, compiled):
        assert_same_bits(a, b, name)


def test_the_contract_pass_extends_the_tables_as_the_numpy_form_does(monkeypatch):
    """A path's age past the tables (a year of ages at a time) sends the pass back for more, once."""
    project = HpcProject(site="a", it_mw=10.0, start=dt.date(2026, 1, 1), revenue=COLOCATION)
    monkeypatch.setattr(contracts.FIRM_VALUE_KERNEL, "for_call", lambda *a, **k: firm_value_kernel)
    valuer = ContractValuer([project], dt.date(2026, 1, 1), 0.08, 10, paths=2)
    valuer.observe(0, np.array([[True, False]]), np.zeros((1, 2), dtype=bool))
    valuer.value_usd(0, np.ones((1, 2)), np.zeros((1, 2)))
    assert len(valuer._tables[0][0]) == 365
    valuer.value_usd(400, np.ones((1, 2)), np.zeros((1, 2)))
    assert len(valuer._tables[0][0]) == 730


@pytest.mark.parametrize("path, paths", [("scenarios/contract_example.yaml", 30),
                                         ("scenarios/companies/core_scientific.yaml", 12),
                                         ("scenarios/companies/terawulf.yaml", 12),
                                         ("scenarios/companies/iren.yaml", 12)])
def test_runs_with_the_compiled_firm_value_are_the_same(monkeypatch, path, paths):
    from simulator.finance import close_value  # (its compiled share price stands for these steps: held in numpy)
    monkeypatch.setattr(close_value.CLOSE_VALUE_KERNEL, "for_call", lambda *a, **k: None)
    scenario, numpy_form, compiled, calls = kernel_forms.run_forms(
        lambda fn: both_forms(monkeypatch, fn, "nav_firm_value"), path, paths)
    assert calls >= scenario.horizon_days  # every close ran compiled
    kernel_forms.assert_same_runs(numpy_form, compiled)


@pytest.mark.filterwarnings("ignore:invalid value")
@settings(max_examples=200, deadline=None)
@given(st.data())
def test_compiled_convertible_strike_is_numpys_bit_for_bit(data):
    """:meth:`Ledger._strike` with convertibles (capped or not) in and out of the money, balances of 0,
    share prices of 0, −0.0, NaN or at the conversion price, and shares of −0.0."""
    from simulator.finance.debt import BtcBackedBook, ConvertibleBook

    paths, draw = data.draw(st.integers(1, 6)), data.draw
    col = lambda s: np.array(draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    start, books = dt.date(2026, 1, 1), []
    for _ in range(draw(st.integers(1, 3))):
        conversion = draw(st.sampled_from([14.0, 20.0]))
        cfg = types.SimpleNamespace(principal_usd=3e8, coupon=0.02, maturity=dt.date(2030, 3, 1),
                                    conversion_price_usd=conversion,
                                    capped_call_price_usd=draw(st.sampled_from([None, 1.5 * conversion])))
        book = ConvertibleBook(cfg, start, paths)
        book.balance_usd = col(st.sampled_from([0.0, 3e8, 1e8]))
        books.append(book)
    loan = types.SimpleNamespace(principal_usd=6e7, maturity=None, ltv_initial=0.5, ltv_release=None)
    books.insert(draw(st.integers(0, len(books))), BtcBackedBook(loan, start, paths))
    price = st.one_of(st.sampled_from([0.0, -0.0, np.nan, 14.0, 20.0, 21.0, 30.0, 1e6]), st.floats(0.0, 100.0))
    fake = types.SimpleNamespace(cfg=types.SimpleNamespace(dilutive=[]), paths=paths, debt_books=books,
                                 shares=col(st.sampled_from([-0.0, 0.0, 1.5e8])), share_price_usd=col(price),
                                 arrears_usd=col(AMOUNT))
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(mp, lambda: Ledger._strike(fake, 100), "convertible_strike")
    assert calls == len(books) - 1
    for name, a, b in zip(("diluted", "faces", "years"), numpy_form, compiled):
        assert_same_bits(a, b, name)


def test_a_one_path_two_year_run_keeps_the_firm_value_in_numpy(monkeypatch):
    """Three projects, a firm value and two convertibles a close at one path: 730 closes stay in numpy
    while numba is not loaded (the start-up target of a one-path two-year run)."""
    from simulator import lazy_kernel
    from simulator.finance.contracts import _NUMPY_CONTRACT_COST, NUMPY_CONVERTIBLE_COST, NUMPY_FIRM_VALUE_COST
    lazy = contracts.FIRM_VALUE_KERNEL
    monkeypatch.setattr(lazy, "spent", 0)
    monkeypatch.setattr(lazy, "loaded", lambda: None)
    monkeypatch.setattr(lazy_kernel, "numba_runs", lambda: False)
    closes = [(3, 3 * _NUMPY_CONTRACT_COST), (1, NUMPY_FIRM_VALUE_COST)] + [(1, NUMPY_CONVERTIBLE_COST)] * 2
    assert all(lazy.for_call(*c) is None for _ in range(730) for c in closes)
