"""Finance building blocks: amortisation to the cent, convertibles, BTC-backed LTV rules,
depreciation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from simulator.finance.depreciation import book_value_usd, depreciation_usd, impairment_usd
from simulator.finance.instruments import (amortisation_schedule, check_collateral, collateral_btc,
                                           conversion_shares, converts, level_payment_usd, ltv)


def test_amortisation_schedule_to_the_cent():
    # Hand-built: 1,000,000 USD at 6 %/yr over 24 months. r = 0.005; the annuity payment is
    # 1,000,000 × 0.005 / (1 − 1.005^−24) = 44,320.61 (standard annuity tables give 44,320.61).
    rows = amortisation_schedule(1_000_000.0, 0.06, 24)
    assert level_payment_usd(1_000_000.0, 0.06, 24) == pytest.approx(44_320.61, abs=0.005)
    assert (rows[0].interest_usd, rows[0].principal_usd, rows[0].closing_usd) == (5000.00, 39320.61, 960679.39)
    assert (rows[1].interest_usd, rows[1].principal_usd) == (4803.40, 39517.21)
    assert rows[-1].closing_usd == 0.0
    assert round(sum(r.principal_usd for r in rows), 2) == 1_000_000.00
    assert sum(r.interest_usd for r in rows) == pytest.approx(24 * 44_320.61 - 1_000_000, abs=0.05)  # 63,694.64


def test_zero_rate_loan_repays_evenly():
    rows = amortisation_schedule(1200.0, 0.0, 12)
    assert all(r.interest_usd == 0 and r.principal_usd == 100.0 for r in rows)


def test_convertible_in_and_out_of_the_money():
    # The contract example's note: 300 M USD convertible at 14 USD a share.
    assert converts(np.array([20.0, 14.0, 9.0]), 14.0).tolist() == [True, False, False]
    assert conversion_shares(300e6, 14.0) == pytest.approx(21_428_571.43, abs=0.01)


def test_btc_backed_loan_through_a_60_percent_fall():
    # 60 M USD at LTV 0.5 with BTC at 90,000: 1,333.3 BTC pledged, 4,000 in the treasury.
    price0 = 90_000.0
    pledged = collateral_btc(60e6, price0, 0.5)
    treasury = 4000.0 - pledged
    prices = price0 * np.linspace(1.0, 0.4, 61)  # a 60 % fall over 60 days
    debt, calls, liquidated_on = 60e6, [], None
    for day, price in enumerate(prices):
        step = check_collateral(np.array([debt]), np.array([pledged]), np.array([treasury]), np.array([price]),
                                0.5, 0.75, 0.85)
        pledged, treasury, debt = float(step.pledged_btc[0]), float(step.treasury_btc[0]), float(step.debt_usd[0])
        if step.margin_call[0]:
            calls.append((day, ltv(debt, pledged, price)))
        if step.liquidated[0]:
            liquidated_on = day
            break
        assert ltv(debt, pledged, price) < 0.85  # never silently above liquidation
    # first call when 60e6 / (1333.3 × p) ≥ 0.75, i.e. p ≤ 60,000 (a third down)
    first = int(np.argmax(prices <= 60_000.0))
    assert calls[0][0] == first
    assert all(after == pytest.approx(0.5) for _, after in calls)  # each top-up restores ltv_initial
    assert liquidated_on is None  # 4,000 BTC can keep topping up through a 60 % fall
    small = check_collateral(np.array([60e6]), np.array([1333.33]), np.array([10.0]), np.array([50_000.0]),
                             0.5, 0.75, 0.85)
    assert small.liquidated[0] and small.pledged_btc[0] == 0 and small.treasury_btc[0] > 10.0  # top-up ran out


@settings(max_examples=200, deadline=None)
@given(debt=st.floats(0, 1e9), pledged=st.floats(0, 1e5), treasury=st.floats(0, 1e5), price=st.floats(1, 1e6))
def test_collateral_rules_conserve_btc_and_cap_ltv(debt, pledged, treasury, price):
    step = check_collateral(np.array([debt]), np.array([pledged]), np.array([treasury]), np.array([price]),
                            0.5, 0.75, 0.85)
    btc_after = step.pledged_btc[0] + step.treasury_btc[0] + step.sold_btc[0]
    assert btc_after == pytest.approx(pledged + treasury, rel=1e-12, abs=1e-9)
    assert step.debt_usd[0] == pytest.approx(debt - step.sold_btc[0] * price, rel=1e-9, abs=1e-3)
    if step.pledged_btc[0] > 0:
        assert ltv(step.debt_usd[0], step.pledged_btc[0], price) < 0.85


def test_depreciation_sums_to_cost_and_impairs_on_retirement():
    cost, start = 3650.0, -100
    days = np.arange(-200, 2000)
    assert_allclose(depreciation_usd(cost, start, days).sum(), cost)
    assert book_value_usd(cost, start, -150) == 0 and book_value_usd(cost, start, start) == cost
    assert impairment_usd(book_value_usd(cost, start, 265), 1000.0) == pytest.approx(cost * 2 / 3 - 1000.0)
