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
from simulator.finance.books import LineBook
from simulator.finance.debt import BtcBackedBook
from simulator.finance.ledger import _FLOW_LINES, Ledger

import kernel_forms


def both_forms(monkeypatch, fn, spied: str = "step"):
    """``fn()`` with the credit kernel held in numpy, then forced, and the compiled ``spied`` calls made."""
    return kernel_forms.both_forms(monkeypatch, credit.CREDIT_KERNEL, credit_kernel, spied, fn)


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
    numpy_form, compiled, calls = both_forms(monkeypatch, run, "loan_day")  # (a loan's whole day compiled)
    assert calls > 0
    kernel_forms.assert_same_runs(numpy_form, compiled)


class _Ledger(kernel_forms.FakeLedger):
    """The ledger's state a BTC-backed loan's day reads and books, with the ledger's own booking methods."""
    pay_interest, repay, liquidate, pay_due, flag = (Ledger.pay_interest, Ledger.repay, Ledger.liquidate,
                                                     Ledger.pay_due, Ledger.flag)
    _book, _sell_btc, _book_segments = Ledger._book, Ledger._sell_btc, Ledger._book_segments


def _loan_day(close, alive, rate, maturity_day, min_cash, direct, shares=None, earlier=None, repaid=None,
              raised=False):
    """One :meth:`BtcBackedBook.day` of the drawn close on a fresh book and ledger (its LineBook adding each
    amount as booked where ``direct``, else at the settle; ``shares`` the day's revenue shares, None: all
    mining's; ``earlier``: an amount of interest paid earlier in the day, booked on the interest lines, pending
    where not ``direct``, and in the day's interest; ``repaid``: debt repaid earlier in the day, pending on the
    line the margin call's cash is booked on; ``raised``: the flags raised earlier on every other path); their state
    after it, the lines settled."""
    day, debt, pledged, treasury, cash, price, cure, terms, release = close
    paths = len(debt)
    cfg = SimpleNamespace(rate=rate, ltv_initial=terms.ltv_initial, ltv_margin_call=terms.ltv_margin_call,
                          ltv_liquidation=terms.ltv_liquidation, cure_days=terms.cure_days,
                          liquidation_penalty=terms.liquidation_penalty, rollover=False)
    book = object.__new__(BtcBackedBook)
    book.cfg, book.balance_usd, book.pledged_btc, book.cure_end_day = cfg, debt.copy(), pledged.copy(), cure.copy()
    book.maturity_day, book.tenor_days, book.ltv_release, book._terms = maturity_day, 1, release, None
    lines = LineBook(_FLOW_LINES, paths)
    lines._direct = direct
    lines.month[:], lines.total[:] = 1.0, 2.0
    ledger = _Ledger(alive=alive, price_usd=price, treasury_btc=treasury.copy(), cash_usd=cash.copy(),
                     equity_usd=np.full(paths, 7.0), _interest_today=np.zeros(paths), _segment_shares=shares,
                     cfg=SimpleNamespace(treasury_policy=SimpleNamespace(min_cash_usd=min_cash)),
                     flags={"margin_call": np.arange(paths) % 2 == 0 if raised else np.zeros(paths, bool),
                            "liquidation": np.arange(paths) % 2 == 1 if raised else np.zeros(paths, bool)},
                     lines=lines)
    if earlier is not None:
        ledger.pay_interest(earlier)
    if repaid is not None:
        ledger.repay(repaid)
    book.day(ledger, SimpleNamespace(day=day))
    lines.settle()
    return {"balance": book.balance_usd, "pledged": book.pledged_btc, "cure": book.cure_end_day,
            "treasury": ledger.treasury_btc, "cash": ledger.cash_usd, "equity": ledger.equity_usd,
            "interest": ledger._interest_today, "month": lines.month, "total": lines.total,
            **{f"flag {k}": v for k, v in ledger.flags.items()}}


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")  # a BTC close of 0
@settings(max_examples=300, deadline=None)
@given(closes(), st.data())
def test_a_loans_compiled_day_is_the_numpy_day_bit_for_bit(close, data):
    """:meth:`BtcBackedBook.day` with the kernel held in numpy and compiled (credit_kernel.loan_day: interest,
    quiet check and step in one call, +0.0 amounts and unraised flags not booked): the loan's and the
    ledger's state and every flow line's sums the same bits, on drawn closes with stopped paths, in the
    LineBook's pending and direct modes, with the day's revenue shares or none, with interest booked earlier in
    the day (pending) or not, with debt repaid earlier in the day (pending on the line of the margin call's cash) or
    not; the margin-call and liquidation flags raised earlier or not (or-ed in place); on the maturity day both run
    the numpy day (its step compiled)."""
    paths = len(close[1])
    alive = np.array(data.draw(st.lists(st.booleans(), min_size=paths, max_size=paths)))
    rate = data.draw(st.sampled_from([0.0, 0.08, 0.123]))
    maturity = data.draw(st.sampled_from([None, close[0], close[0] + 1]))
    min_cash = data.draw(st.sampled_from([0.0, 5.0]))
    direct = data.draw(st.booleans())
    col = lambda s: np.array(data.draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    share = st.one_of(st.sampled_from([0.0, -0.0, 1.0, 5e-324]), st.floats(0.0, 1.0))
    shares = data.draw(st.one_of(st.none(), st.builds(lambda: tuple(col(share) for _ in range(3)))))
    earlier = data.draw(st.one_of(st.none(), st.builds(lambda: col(st.sampled_from([0.0, -0.0, 0.37, 12.5])))))
    repaid = data.draw(st.one_of(st.none(), st.builds(lambda: col(st.sampled_from([0.0, -0.0, 3.25, 1e-300])))))
    raised = data.draw(st.booleans())
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(
            mp, lambda: _loan_day(close, alive, rate, maturity, min_cash, direct, shares, earlier, repaid, raised),
            "loan_day")
    assert calls == (0 if maturity == close[0] else 1)
    for name in numpy_form:
        kernel_forms.assert_same_bits(numpy_form[name], compiled[name], name)


def test_the_loan_days_regimes_are_reached():
    """The fixed loans of the regimes test through a loan's day, some paths stopped: margin calls paid in
    cash, sales, residuals, releases; both forms the same bits."""
    rng = np.random.default_rng(3)
    paths = 300
    close = (5, np.where(rng.random(paths) < 0.1, 0.0, 50.0), np.ones(paths),
             np.where(rng.random(paths) < 0.5, 0.0, rng.uniform(0.0, 2.0, paths)),
             np.where(rng.random(paths) < 0.5, -5.0, rng.uniform(0.0, 30.0, paths)), rng.uniform(40.0, 260.0, paths),
             np.where(rng.random(paths) < 0.3, rng.integers(3, 7, paths).astype(float), np.nan),
             SimpleNamespace(ltv_initial=0.5, ltv_margin_call=0.75, ltv_liquidation=0.85, cure_days=2,
                             liquidation_penalty=0.05), 0.25)
    alive = rng.random(paths) < 0.9
    with pytest.MonkeyPatch.context() as mp:
        numpy_form, compiled, calls = both_forms(mp, lambda: _loan_day(close, alive, 0.1, None, 0.0, False),
                                                 "loan_day")
    assert calls == 1
    assert numpy_form["flag margin_call"].any() and numpy_form["flag liquidation"].any()
    assert (numpy_form["pledged"] < close[2]).any()  # (a release)
    assert not np.array_equal(numpy_form["cash"], close[4] - numpy_form["interest"])  # (cash paid or a residual)
    for name in numpy_form:
        kernel_forms.assert_same_bits(numpy_form[name], compiled[name], name)


def test_a_finished_runs_ledger_is_freed_without_a_collection(monkeypatch):
    """The loan's terms kept for its compiled day (``BtcBackedBook._terms``) must not hold its ledger: the ledger holds
    its books, so a strong reference is a cycle that keeps a finished run's ledger (its line tables, the last block's
    flows) until a full collection, and a process running several simulations piles them up (review 17)."""
    import gc
    import weakref

    ledgers = []
    prepare = BtcBackedBook._prepare_terms
    monkeypatch.setattr(BtcBackedBook, "_prepare_terms",
                        lambda self, ledger, kernel: ledgers.append(weakref.ref(ledger)) or prepare(self, ledger, kernel))
    monkeypatch.setattr(credit.CREDIT_KERNEL, "for_call", lambda *a, **kw: credit_kernel)
    scenario = load_scenario("scenarios/contract_example.yaml", ["market.btc_price.drift_annual=-0.6"])
    gc.disable()
    try:
        engine.simulate(scenario, paths=4, keep_paths=4, workers=1)
        assert ledgers, "the loan's compiled day ran and prepared its terms"
        assert all(ref() is None for ref in ledgers), "a finished run's ledger is held by its loan's terms"
    finally:
        gc.enable()
