"""The close's compiled share value (simulator.finance.valuation_kernel) against its numpy form: the same bits.

:func:`simulator.finance.structural.share_value` runs once with its lazy kernel held in numpy and
once with the compiled module forced; every output is compared byte for byte (``-0.0`` and ``0.0``
differ, NaNs by their bits), on drawn inputs that reach every branch (no debt, assets at or below
0, no shares, a premium with and without reversion, a discount, BTC-linked value above the assets
or below 0) and on whole runs of a company with convertibles, a BTC-backed loan and HPC (issue 19).
"""
from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulator.finance import structural, valuation_kernel
from simulator.lazy_kernel import LazyKernel

import kernel_forms
from kernel_forms import assert_same_bits


def both_forms(monkeypatch, fn):
    """``fn()`` with the valuation kernel held in numpy, then forced, and the compiled closes made."""
    return kernel_forms.both_forms(monkeypatch, structural.VALUATION_KERNEL, valuation_kernel, "prepare", fn)


# values a path's books take, with the edges the masks and ties turn on
AMOUNT = st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300]), st.floats(-1e12, 1e12, allow_nan=False))
POSITIVE = st.floats(1e-6, 1e12, allow_nan=False)
PRICE = st.one_of(st.sampled_from([0.0, 5e-324]), POSITIVE)  # a BTC close of 0, or one that underflows


@st.composite
def closes(draw):
    paths, books = draw(st.integers(1, 6)), draw(st.integers(0, 3))
    col = lambda s: np.array(draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    faces = np.array([col(st.one_of(st.just(0.0), POSITIVE)) for _ in range(books + 1)]).reshape(books + 1, paths)
    years = np.array([col(st.floats(1 / 365, 12.0)) for _ in range(books + 1)]).reshape(books + 1, paths)
    long_run = draw(st.one_of(st.none(), st.floats(0.5, 3.0)))
    premium = structural.MarketPremium(col(st.one_of(st.just(0.0), POSITIVE)), col(st.floats(0.05, 1.0)),
                                       col(AMOUNT), col(st.floats(-0.5, 1.5)), col(PRICE), long_run,
                                       draw(st.floats(30.0, 2000.0)))
    return dict(faces_usd=faces, years=years, diluted=col(st.one_of(st.just(0.0), POSITIVE)), assets_usd=col(AMOUNT),
                btc_linked_usd=col(AMOUNT), btc_vol_annual=col(st.floats(0.0, 2.0)),
                min_vol_annual=draw(st.floats(0.01, 0.5)), premium=premium, btc_price_usd=col(PRICE),
                day=draw(st.integers(1, 5000)), rate_annual=draw(st.floats(0.0, 0.1)))


@pytest.mark.filterwarnings("ignore:overflow encountered")  # BTC-linked 1e12 over assets 1e-300, as it may
@pytest.mark.filterwarnings("ignore:divide by zero")  # a day-0 BTC close of 0
@pytest.mark.filterwarnings("ignore:invalid value")
@settings(max_examples=300, deadline=None)
@given(closes())
def test_compiled_share_value_is_numpys_bit_for_bit(close):
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(mp, lambda: structural.share_value(**close))
    assert calls == 1
    for name, a, b in zip(("nav", "nav_per_share", "price"), numpy_form, compiled):
        assert_same_bits(a, b, name)


@pytest.mark.parametrize("path, paths", [("scenarios/contract_example.yaml", 30),
                                         ("scenarios/companies/iren.yaml", 12),
                                         ("scenarios/companies/mara.yaml", 12)])
def test_runs_with_the_compiled_share_value_are_the_same(monkeypatch, path, paths):
    from simulator.finance import close_value  # (its compiled share price stands for these steps: held in numpy)
    monkeypatch.setattr(close_value.CLOSE_VALUE_KERNEL, "for_call", lambda *a, **k: None)
    scenario, numpy_form, compiled, calls = kernel_forms.run_forms(lambda fn: both_forms(monkeypatch, fn), path, paths)
    assert calls >= scenario.horizon_days  # every close ran compiled (day 0 twice without a market close)
    kernel_forms.assert_same_runs(numpy_form, compiled)


def test_a_kernel_loads_sooner_once_numba_runs(monkeypatch):
    from simulator import lazy_kernel
    lazy = LazyKernel("json", large_from=100, numpy_at_most=50, once_numba_runs=10)  # (a module any process has)
    monkeypatch.delitem(sys.modules, "json", raising=False)
    monkeypatch.setattr(lazy_kernel, "numba_runs", lambda: False)
    assert lazy.for_call(5, 3) is None and lazy.spent == 8  # numba not imported: the larger budget
    monkeypatch.setattr(lazy_kernel, "numba_runs", lambda: True)
    assert lazy.for_call(1, 0) is None and lazy.spent == 9
    assert lazy.for_call(1, 1) is not None  # 9 + 2 > 10: once numba runs, the smaller budget
    assert lazy.for_call(1000) is lazy.loaded()


def test_a_one_path_run_of_the_longest_horizon_keeps_the_close_in_numpy(monkeypatch):
    import kernel_forms
    kernel_forms.assert_one_path_closes_stay_in_numpy(monkeypatch, structural.VALUATION_KERNEL,
                                                      structural._NUMPY_VALUE_COST)


@pytest.mark.parametrize("face", [231.0, 755.0, 1510.0])
def test_face_weighted_years_below_one_day_are_floored_alike(monkeypatch, face):
    """Every instrument at its last day: (F·m)/F falls one ulp below m = MIN_YEARS for these faces, both
    forms floor it to m, and the floor changes the price on these paths (so a kernel without it fails)."""
    from scipy.special import ndtr
    m, paths = structural.MIN_YEARS, 4000
    faces, years = np.full((2, paths), face / 2), np.full((2, paths), m)
    t = structural.face_weighted_years(faces, years)
    assert (t < m).all()
    assets = np.random.default_rng(int(face)).uniform(0.9 * face, 1.1 * face, paths)
    close = dict(faces_usd=faces, years=years, diluted=np.full(paths, 10.0), assets_usd=assets,
                 btc_linked_usd=0.4 * assets, btc_vol_annual=np.full(paths, 0.6), min_vol_annual=0.2,
                 premium=structural.MarketPremium(np.zeros(paths), np.ones(paths), assets, np.full(paths, 0.4),
                                                  np.ones(paths), None, 365.0),
                 btc_price_usd=np.ones(paths), day=10, rate_annual=0.04)
    numpy_form, compiled, _ = both_forms(monkeypatch, lambda: structural.share_value(**close))
    for a, b in zip(numpy_form, compiled):
        assert_same_bits(a, b)

    def call(years):  # Merton's call without the floor
        sd = 0.24 * np.sqrt(years)
        d1 = (np.log(assets / face) + (0.04 + 0.5 * 0.24 ** 2) * years) / sd
        return assets * ndtr(d1) - face * np.exp(-0.04 * years) * ndtr(d1 - sd)
    assert (call(t) != call(np.full(paths, m))).any()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5).flatmap(lambda paths: st.lists(
    st.tuples(st.lists(st.one_of(st.just(0.0), st.floats(1e-4, 1e4)), min_size=paths, max_size=paths),
              st.lists(st.one_of(st.just(0.0), st.floats(1.0, 1e6)), min_size=paths, max_size=paths)),
    min_size=1, max_size=12)))
def test_compiled_equity_returns_are_numpys_bit_for_bit(closes):
    """Share and BTC prices (0 on some days: no return that day or the next) through both forms."""
    from simulator.finance.equity_returns import EquityReturns

    def run():
        r = EquityReturns(len(closes[0][0]))
        for day, (share, btc) in enumerate(closes):
            r.track(day, np.array(share), np.array(btc))
        return [r.sums[k] for k in r.sums] + [r.peak_share_price_usd, r.max_drawdown, r.first_share_price_usd]
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, _ = both_forms(mp, run)
    for a, b in zip(numpy_form, compiled):
        assert_same_bits(a, b)
