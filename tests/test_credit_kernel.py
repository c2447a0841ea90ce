"""A BTC-backed loan's compiled close (simulator.finance.credit_kernel) against its numpy form: the same bits.

:func:`simulator.finance.credit.collateral_close` runs with its lazy kernel held in numpy and with the
compiled module forced, on drawn loans in every regime (in the band, margin calls covered or not,
cures opening, open and ending, liquidations with and without a residual, releases, repaid loans,
``−0.0`` amounts that a block's ``+ 0.0`` turns into ``+0.0``) and on whole runs of presets with
BTC-backed loans; every output is compared byte for byte (issue 19).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulator import engine
from simulator.config import load_scenario
from simulator.finance import credit, credit_kernel

import kernel_forms


def both_forms(monkeypatch, fn):
    """``fn()`` with the credit kernel held in numpy, then forced, and the compiled steps taken."""
    return kernel_forms.both_forms(monkeypatch, credit.CREDIT_KERNEL, credit_kernel, "step", fn)


def same_step(a, b):
    assert (a is None) == (b is None)
    for name in () if a is None else a.__dataclass_fields__:
        kernel_forms.assert_same_bits(getattr(a, name), getattr(b, name), name)


@st.composite
def closes(draw):
    paths = draw(st.integers(1, 8))
    col = lambda s: np.array(draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    amount = st.one_of(st.sampled_from([0.0, -0.0, 50.0]), st.floats(0.0, 200.0))
    initial = draw(st.one_of(st.just(0.0), st.floats(0.3, 0.6)))  # (the schema allows an initial LTV of 0)
    call = draw(st.floats(initial + 0.05, 0.85))
    terms = SimpleNamespace(ltv_initial=initial, ltv_margin_call=call, ltv_liquidation=draw(st.floats(call, 0.95)),
                            cure_days=draw(st.integers(0, 3)), liquidation_penalty=draw(st.floats(0.0, 0.1)))
    day = draw(st.integers(0, 10))
    cure = col(st.one_of(st.just(np.nan), st.integers(0, 12).map(float)))
    return (day, col(amount), col(st.one_of(st.just(-0.0), st.floats(0.0, 3.0))), col(amount),
            col(st.one_of(st.just(-0.0), st.floats(-50.0, 50.0))),
            col(st.one_of(st.sampled_from([0.0, 5e-324]), st.floats(10.0, 300.0))), cure, terms,
            draw(st.floats(0.0, initial)))


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")  # a BTC close of 0
@settings(max_examples=400, deadline=None)
@given(closes())
def test_compiled_collateral_close_is_numpys_bit_for_bit(close):
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, _ = both_forms(mp, lambda: credit.collateral_close(*close))
    same_step(numpy_form, compiled)


def test_every_regime_is_reached_by_the_loans_of_the_books_test():
    """The fixed loans of tests/test_finance_books.py (calls, cures, liquidations, releases) through both forms."""
    rng = np.random.default_rng(3)
    paths = 300
    state = (np.where(rng.random(paths) < 0.1, 0.0, 50.0), np.ones(paths),
             np.where(rng.random(paths) < 0.5, 0.0, rng.uniform(0.0, 2.0, paths)),
             np.where(rng.random(paths) < 0.5, -5.0, rng.uniform(0.0, 30.0, paths)), rng.uniform(40.0, 260.0, paths),
             np.where(rng.random(paths) < 0.3, rng.integers(3, 7, paths).astype(float), np.nan))
    terms = SimpleNamespace(ltv_initial=0.5, ltv_margin_call=0.75, ltv_liquidation=0.85, cure_days=2,
                            liquidation_penalty=0.05)
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(mp, lambda: credit.collateral_close(5, *state, terms, 0.25))
    assert calls == 1 and numpy_form.margin_call.any() and numpy_form.liquidated.any()
    assert (numpy_form.residual_usd > 0).any() and (numpy_form.pledged_btc < state[1]).any()  # residuals, releases
    same_step(numpy_form, compiled)


@pytest.mark.parametrize("path, overrides", [("scenarios/contract_example.yaml", ["market.btc_price.drift_annual=-0.6"]),
                                             ("scenarios/companies/mara.yaml", [])])
def test_runs_with_the_compiled_collateral_close_are_the_same(monkeypatch, path, overrides):
    scenario = load_scenario(path, overrides)

    def run():
        r = engine.simulate(scenario, paths=40, keep_paths=40, workers=1)
        return r.path_metrics, r.monthly
    numpy_form, compiled, calls = both_forms(monkeypatch, run)
    assert calls > 0
    kernel_forms.assert_same_runs(numpy_form, compiled)
