"""Company finance against hand-built statements, loan and convertible events, distress,
hedges, valuation without look-ahead, and the books' identities on random companies."""
from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from simulator.config.loader import Document, load_with_overrides, validate_document
from simulator.engine import simulate
from simulator.finance.hedges import black_scholes_put_usd
from simulator.finance.instruments import amortisation_schedule
from simulator.hardware import get_profile

from conftest import REPO

S19XP = get_profile("antminer-s19-xp")

BASE = {
    "name": "finance", "start": "2026-01-01", "horizon_days": 181, "paths": 1, "seed": 1,
    "market": {"btc_price": {"model": "gbm", "initial_usd": 90000.0, "drift_annual": 0.0, "vol_annual": 0.0},
               "fees": {"model": "constant", "btc_per_block": 0.025}},
    "network": {"initial_difficulty": 1.5e14, "initial_height": 930000, "blocks": "expected"},
    "pool": {"payout": "fpps", "fee": 0.0},
    "sites": [{"name": "a", "capacity_mw": 100.0, "cooling_overhead": 0.04,
               "power": {"contract": "fixed", "price_usd_per_mwh": 42.0}}],
    "fleet": [{"id": "xp", "model": "antminer-s19-xp", "units": 1000, "site": "a", "deployed": "2026-01-01",
               "price_usd_per_th": 20.0}],
    "failures": {"enabled": False},
    "company": {"shares_outstanding": 1_000_000, "cash_usd": 50e6, "sga_usd_per_year": 3.65e6,
                "treasury_policy": {"sell_fraction": 1.0}},
}


def scenario(doc=None, **changes):
    """BASE with dotted-key changes (``company.debt``, ``market.btc_price.vol_annual`` …)."""
    doc = copy.deepcopy(BASE if doc is None else doc)
    for key, value in changes.items():
        node = doc
        *head, last = key.split(".")
        for part in head:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value
    return validate_document(Document(doc, {}, {}), "test.yaml")


def price_csv(tmp_path, prices, start="2026-01-01", name="price.csv") -> str:
    """A ``date,price_usd`` (or ``date,path,price_usd`` for a 2-D array (paths, days)) file."""
    prices = np.atleast_2d(prices)
    dates = pd.date_range(start, periods=prices.shape[1], freq="D").date
    rows = ["date,path,price_usd"] + [f"{d},{p},{float(v)!r}" for p in range(len(prices)) for d, v in zip(dates, prices[p])]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def month(res, line, path=0):
    m = res.monthly[res.monthly.path == path]
    return m[line].to_numpy()


def days_in_months(start="2026-01-01", n=181):
    return pd.date_range(start, periods=n, freq="D").to_period("M").value_counts(sort=False).sort_index().to_numpy()


# --------------------------------------------------------------------------- closed form
def test_term_loan_and_income_statement_to_the_cent():
    # 1,000,000 USD at 6 % amortising over its 24 month ends (Jan 2026 … Dec 2027): the hand-built
    # schedule of tests/test_finance_instruments.py (payment 44,320.61; first interest 5,000.00).
    loan = {"kind": "term_loan", "principal_usd": 1_000_000.0, "rate": 0.06, "maturity": "2027-12-31",
            "amortizing": True}
    res = simulate(scenario(**{"company.debt": [loan]}))
    rows = amortisation_schedule(1_000_000.0, 0.06, 24)[:6]
    np.testing.assert_allclose(month(res, "interest_usd"), [r.interest_usd for r in rows], atol=1e-6)
    np.testing.assert_allclose(month(res, "debt_usd"), [r.closing_usd for r in rows], atol=1e-6)
    np.testing.assert_allclose(month(res, "debt_repaid_usd"), [r.principal_usd for r in rows], atol=1e-6)

    # the income statement by hand from the operating lines (finance never recomputes them)
    days = days_in_months()
    revenue, power = month(res, "mining_revenue_usd"), month(res, "power_cost_usd")
    sga = 3.65e6 / 365 * days
    depreciation = 1000 * S19XP.hashrate_ths * 20.0 / (3 * 365) * days
    interest = np.array([r.interest_usd for r in rows])
    expected_net_income = revenue - power - sga - depreciation - interest
    assert month(res, "revenue_usd") == pytest.approx(revenue, abs=0.01)
    np.testing.assert_allclose(month(res, "ebitda_usd"), revenue - power - sga, atol=0.01)
    np.testing.assert_allclose(month(res, "depreciation_usd"), depreciation, atol=0.01)
    np.testing.assert_allclose(month(res, "net_income_usd"), expected_net_income, atol=0.01)
    # every BTC is sold at the constant close: cash = opening + revenue − power − SG&A − loan payments
    payments = np.cumsum([r.interest_usd + r.principal_usd for r in rows])
    np.testing.assert_allclose(month(res, "cash_usd"), 50e6 + np.cumsum(revenue - power - sga) - payments, atol=0.01)
    np.testing.assert_allclose(np.diff(month(res, "equity_usd")), expected_net_income[1:], atol=0.01)
    assert np.all(month(res, "treasury_btc") == 0)


def test_opening_balance_sheet_defaults():
    # Machines at cost depreciated since deployed (a year of a 3-year life gone), equity balances.
    res = simulate(scenario(**{"fleet.0.deployed": "2025-01-01", "company.treasury_btc": 100.0,
                               "company.opening": {"other_liabilities_usd": 1e6}}), keep_paths=1)
    cost = 1000 * S19XP.hashrate_ths * 20.0
    age_days = (dt.date(2026, 1, 31) - dt.date(2025, 1, 1)).days + 1  # book value at the end of January
    assert month(res, "fleet_book_value_usd")[0] == pytest.approx(cost * (1 - age_days / 1095), rel=1e-12)
    equity, assets = month(res, "equity_usd"), month(res, "total_assets_usd")
    assert equity == pytest.approx(assets - month(res, "total_liabilities_usd"), rel=1e-12)
    assert month(res, "total_liabilities_usd")[0] == pytest.approx(1e6)


def test_fleet_without_a_cost_is_carried_at_the_asic_price_index():
    from simulator.market.asic_price import asic_price_usd_per_th

    s21 = get_profile("antminer-s21-pro")
    assert s21.launch_price_usd_per_th is None  # no cost basis: the index prices it
    doc = copy.deepcopy(BASE)
    doc["fleet"] = [{"model": "antminer-s21-pro", "units": 1000, "site": "a", "deployed": "2026-01-01"}]
    res = simulate(scenario(doc, horizon_days=31), keep_paths=1)
    hashprice = res.daily.hashprice_usd_per_ph_day.iloc[0]
    cost = 1000 * s21.hashrate_ths * asic_price_usd_per_th(hashprice, s21.power_w / s21.hashrate_ths)
    assert month(res, "fleet_book_value_usd")[0] == pytest.approx(cost * (1 - 31 / 1095), rel=1e-9)


def test_purchase_without_a_price_costs_the_new_machine_price_at_the_expected_hashprice():
    # Issue 21's follow-up: a purchase with neither a stated nor a launch price costs the index's
    # new-machine price (NEW_MACHINE_PREMIUM, fitted to the dated prices of simulator/data/asic_prices.csv),
    # not the second-hand one, at the hashprice a buyer expects over the year: with the 2028 halving
    # (height 1,050,000) about 100 days ahead, the halving-adjusted one.
    from simulator.market.asic_price import asic_price_usd_per_th, chain_halving_adjusted_hashprice

    s21 = get_profile("antminer-s21-pro")
    assert s21.launch_price_usd_per_th is None
    doc = copy.deepcopy(BASE)
    doc["network"]["initial_height"] = 1_050_000 - 100 * 144
    doc["purchases"] = [{"model": "antminer-s21-pro", "units": 1000, "site": "a", "delivery": "2026-01-02"}]
    res = simulate(scenario(doc, horizon_days=31), keep_paths=1)
    day1 = res.daily.iloc[1]
    expected = chain_halving_adjusted_hashprice(day1.hashprice_usd_per_ph_day, day1.height, 0.025)
    assert expected < 0.8 * day1.hashprice_usd_per_ph_day  # about 73 % of the year after the halving
    efficiency_jth = s21.power_w / s21.hashrate_ths
    new_usd_per_th = asic_price_usd_per_th(expected, efficiency_jth, new=True)
    assert new_usd_per_th < asic_price_usd_per_th(expected, efficiency_jth)  # contracts price under the index
    assert month(res, "purchase_capex_usd")[0] == pytest.approx(1000 * s21.hashrate_ths * new_usd_per_th, rel=1e-12)


# --------------------------------------------------------------------------- BTC-backed loan
def falling_price(tmp_path, days=90, fall_days=60):
    prices = np.concatenate([np.linspace(90000.0, 36000.0, fall_days + 1), np.full(days - fall_days - 1, 36000.0)])
    return prices, price_csv(tmp_path, prices)


def contract_example_shocked(**company):
    """The contract example without its HPC project, BTC −60 % on 2026-03-02 (issue 16's drawdown case)."""
    doc, _ = load_with_overrides(str(REPO / "scenarios" / "contract_example.yaml"),
                                 ["horizon_days=75", "paths=1", "market.btc_price.vol_annual=0",
                                  "market.btc_price.drift_annual=0"])
    doc.data.pop("hpc", None)
    doc.data.pop("purchases", None)  # delivered after this short horizon
    doc.data["events"] = [{"date": "2026-03-02", "kind": "price_shock", "change_pct": -60}]
    doc.data["company"].update(company)
    return validate_document(doc, "contract_example.yaml")


def test_a_60_percent_drop_is_topped_up_from_free_btc_that_day():
    res = simulate(contract_example_shocked(), keep_paths=1)
    d = res.daily
    shock = int(np.flatnonzero(d.date == dt.date(2026, 3, 2))[0])
    before, after = d.iloc[shock - 1], d.iloc[shock]
    loan = 60e6  # the daily debt_usd also holds the 300 M convertible
    assert loan / (d.pledged_btc.iloc[0] * d.btc_price_usd.iloc[0]) == pytest.approx(0.5)
    # LTV 0.5 → 1.25 in one close; the free BTC restores ltv_initial that day, the cash is not touched
    assert loan / (before.pledged_btc * after.btc_price_usd) == pytest.approx(1.25)
    assert before.treasury_btc > 2000  # the free BTC before the shock (2,736 with the preset's paths)
    assert loan / (after.pledged_btc * after.btc_price_usd) == pytest.approx(0.5)
    assert after.debt_usd == before.debt_usd == 360e6
    assert after.pledged_btc == pytest.approx(2.5 * before.pledged_btc)
    assert after.treasury_btc + after.pledged_btc == pytest.approx(before.treasury_btc + before.pledged_btc, rel=1e-3)
    m = res.summary["metrics"]
    assert m["prob_margin_call"]["mean"] == 1.0 and m["prob_liquidation"]["mean"] == 0.0
    assert m["prob_cash_shortfall"]["mean"] == 0.0
    # a probability is its mean: no percentiles of the 0/1 indicator (numpy would interpolate 0.5)
    assert all(m["prob_margin_call"][q] is None for q in ("p5", "p50", "p95"))
    assert m["end_btc_per_share"]["p50"] is not None


def test_without_free_btc_or_cash_the_collateral_is_sold_after_the_cure_with_the_penalty(tmp_path):
    prices = np.concatenate([np.full(5, 90000.0), np.full(25, 36000.0)])
    pledged = 60e6 / 45000.0
    loan = {"kind": "btc_backed", "principal_usd": 60e6, "ltv_initial": 0.5, "ltv_margin_call": 0.75,
            "ltv_liquidation": 0.85, "cure_days": 2, "liquidation_penalty": 0.05}
    res = simulate(scenario(**{"horizon_days": 30, "fleet": [], "market.btc_price": {"model": "csv",
                                                                                     "file": price_csv(tmp_path, prices)},
                               "company.cash_usd": 0.0, "company.sga_usd_per_year": 0.0,
                               "company.treasury_btc": pledged, "company.debt": [loan]}), keep_paths=1)
    d = res.daily
    assert d.treasury_btc.iloc[0] == pytest.approx(0.0, abs=1e-9)  # everything pledged
    assert np.allclose(d.pledged_btc.iloc[5:7], pledged) and d.pledged_btc.iloc[7] == 0  # sold on day 5 + 2
    proceeds = pledged * 36000.0  # 48 M settles 48 / 1.05 M of the debt; the rest is due at once: distress
    m = res.summary["metrics"]
    assert m["prob_margin_call"]["mean"] == 1.0 and m["prob_liquidation"]["mean"] == 1.0
    assert m["liquidation_penalty_usd"]["mean"] == pytest.approx(proceeds * 0.05 / 1.05)
    assert m["prob_cash_shortfall"]["mean"] == 1.0
    assert month(res, "arrears_usd")[0] == pytest.approx(60e6 - proceeds / 1.05)
    assert month(res, "debt_settled_by_collateral_usd")[0] == pytest.approx(proceeds / 1.05)
    assert (d.share_price_usd.iloc[7:] == 0).all() and (d.share_price_usd.iloc[:7] > 0).all()


def test_btc_backed_loan_the_treasury_cannot_cover_is_called_on_day_0():
    loan = {"kind": "btc_backed", "principal_usd": 60e6, "ltv_initial": 0.5, "ltv_margin_call": 0.75,
            "ltv_liquidation": 0.85}
    # 800 BTC at 90,000: LTV 0.83 at the first close (above the call level, below liquidation); the cash
    # pays the loan down to LTV 0.5 (36 M of debt on 72 M of BTC)
    res = simulate(scenario(**{"horizon_days": 10, "company.treasury_btc": 800.0, "company.debt": [loan]}),
                   keep_paths=1)
    assert res.daily.pledged_btc.iloc[0] == pytest.approx(800.0)
    assert res.daily.debt_usd.iloc[0] == pytest.approx(800 * 90000.0 * 0.5)
    assert res.summary["metrics"]["prob_margin_call"]["mean"] == 1.0
    assert res.summary["metrics"]["prob_liquidation"]["mean"] == 0.0
    # 600 BTC and only 5 M of cash above the floor: uncovered, liquidated when the 2-day cure ends
    res = simulate(scenario(**{"horizon_days": 10, "company.treasury_btc": 600.0, "company.cash_usd": 5e6,
                               "company.sga_usd_per_year": 0.0, "company.debt": [loan]}), keep_paths=1)
    assert res.summary["metrics"]["prob_liquidation"]["mean"] == 1.0
    assert res.daily.pledged_btc.iloc[1] == pytest.approx(600.0) and res.daily.pledged_btc.iloc[2] == 0.0


# --------------------------------------------------------------------------- convertibles
def convertible_company(cash_usd, **note):
    base = {"kind": "convertible", "principal_usd": 100e6, "coupon": 0.0, "maturity": "2026-01-31",
            "conversion_price_usd": 10.0, **note}
    return scenario(**{"fleet": [], "horizon_days": 60, "company.shares_outstanding": 10e6, "company.cash_usd": cash_usd,
                       "company.sga_usd_per_year": 0.0, "company.debt": [base]})


def test_convertible_converts_in_the_money():
    # NAV 300 M; if converted 20 M shares → 15 USD > 10: the note becomes 10 M shares and leaves debt
    res = simulate(convertible_company(300e6), keep_paths=1)
    m = res.summary["metrics"]
    assert m["end_shares_outstanding"]["mean"] == pytest.approx(20e6)
    assert m["end_debt_usd"]["mean"] == 0 and m["end_cash_usd"]["mean"] == pytest.approx(300e6)
    assert res.daily.share_price_usd.iloc[-1] == pytest.approx(15.0)
    assert month(res, "converted_debt_usd")[0] == pytest.approx(100e6)


def test_convertible_out_of_the_money_is_repaid_in_cash():
    res = simulate(convertible_company(150e6), keep_paths=1)  # NAV per share 5 < 10
    m = res.summary["metrics"]
    assert m["end_shares_outstanding"]["mean"] == pytest.approx(10e6)
    assert m["end_cash_usd"]["mean"] == pytest.approx(50e6) and m["end_debt_usd"]["mean"] == 0


def test_convertible_refinanced_at_a_spread():
    res = simulate(convertible_company(150e6, refinance={"spread": 0.03, "years": 5}), keep_paths=1)
    m = res.summary["metrics"]
    assert m["end_debt_usd"]["mean"] == pytest.approx(100e6) and m["end_cash_usd"]["mean"] < 150e6
    # the new coupon 0 + 3 % is paid from February on: 100e6 × 0.03 / 12 a month
    assert month(res, "interest_usd")[1] == pytest.approx(100e6 * 0.03 / 12)


def test_capped_call_offsets_dilution_up_to_its_cap():
    res = simulate(convertible_company(300e6, capped_call_price_usd=12.5), keep_paths=1)
    before = res.daily.share_price_usd.iloc[29]  # previous close of the maturity day
    offset = (min(before, 12.5) - 10.0) / before
    assert res.summary["metrics"]["end_shares_outstanding"]["mean"] == pytest.approx(10e6 + 10e6 * (1 - offset))


# --------------------------------------------------------------------------- treasury, equity, distress
def test_cash_shortfall_is_distress_and_stops_the_company():
    res = simulate(scenario(**{"company.cash_usd": 1e6, "company.sga_usd_per_year": 3.65e9}), keep_paths=1)
    d = res.daily
    assert (d.cash_usd >= 0).all()
    first = int(np.argmax(d.share_price_usd.to_numpy() == 0))
    assert res.summary["metrics"]["prob_cash_shortfall"]["mean"] == 1.0
    assert (d.btc_mined.iloc[first + 1:] == 0).all() and (d.fleet_power_mw.iloc[first + 1:] == 0).all()
    assert month(res, "arrears_usd")[-1] > 0
    # a stopped company's fleet is not energised (docs/decisions.md, "Stopped paths' fleet"): the daily column is 0
    # from the day after the stopping close, and btc_per_ehs_day divides by the EH/s-days it operated only
    assert first < len(d) - 30 and (d.fleet_hashrate_ehs.iloc[:first + 1] > 0).all() and (d.fleet_hashrate_ehs.iloc[first + 1:] == 0).all()
    per_ehs_day = res.summary["metrics"]["btc_per_ehs_day"]["mean"]
    assert per_ehs_day == pytest.approx(d.btc_mined.sum() / d.fleet_hashrate_ehs.iloc[:first + 1].sum(), rel=1e-9)


def test_min_cash_sells_treasury_btc_then_uses_the_atm():
    res = simulate(scenario(**{"company.cash_usd": 0.0, "company.treasury_btc": 10.0,
                               "company.treasury_policy": {"sell_fraction": 0.0, "min_cash_usd": 5e6},
                               "company.equity": {"atm_enabled": True, "atm_max_usd_per_quarter": 20e6,
                                                  "atm_max_dilution_pct_per_quarter": 1000.0},
                               "horizon_days": 90}), keep_paths=1)
    d = res.daily
    assert d.treasury_btc.iloc[0] == pytest.approx(0.0, abs=1e-9)  # the 10 BTC went first (900 k USD)
    assert d.cash_usd.iloc[0] == pytest.approx(5e6)  # the ATM raised the rest
    assert res.summary["metrics"]["dilution_pct"]["mean"] > 0
    assert res.summary["metrics"]["prob_cash_shortfall"]["mean"] == 0.0


def test_the_atm_sells_no_more_shares_a_quarter_than_the_market_absorbs():
    # a company needing far more cash than its shares can raise: at most 10 % more shares a quarter
    res = simulate(scenario(**{"company.cash_usd": 0.0, "company.sga_usd_per_year": 0.0,
                               "company.treasury_policy": {"sell_fraction": 1.0, "min_cash_usd": 1e9},
                               "company.equity": {"atm_enabled": True, "atm_max_usd_per_quarter": 1e12}}),
                   keep_paths=1)
    shares = month(res, "shares_outstanding")
    assert shares[2] == pytest.approx(1.1e6) and shares[5] == pytest.approx(1.1e6 * 1.1)  # Q1, then Q2
    assert res.summary["metrics"]["prob_cash_shortfall"]["mean"] == 0.0  # a cash target, not an obligation


def test_treasury_company_buys_btc_with_atm_capital():
    res = simulate(scenario(**{"company.treasury_policy": {"sell_fraction": 0.0, "buy_btc_usd_per_quarter": 9e6},
                               "company.equity": {"atm_enabled": True, "atm_max_usd_per_quarter": 10e6,
                                                  "atm_max_dilution_pct_per_quarter": 100.0}}),
                   keep_paths=1)
    # two quarter starts in the horizon (Jan 1 and Apr 1): 100 BTC bought at 90,000 each time
    assert res.monthly.btc_bought.sum() == pytest.approx(200.0)
    assert res.monthly.atm_proceeds_usd.sum() == pytest.approx(18e6)


def test_covenant_breach_accelerates_the_term_loan():
    loan = {"kind": "term_loan", "principal_usd": 10e6, "rate": 0.1, "maturity": "2030-01-01",
            "min_interest_coverage": 1000.0}
    res = simulate(scenario(**{"company.debt": [loan]}), keep_paths=1)
    assert res.summary["metrics"]["prob_covenant_breach"]["mean"] == 1.0
    debt = month(res, "debt_usd")
    # breached at the end of March (one cure test), accelerated at the second breach at the end of June
    assert debt[2] == pytest.approx(10e6) and debt[4] == pytest.approx(10e6) and debt[5] == 0.0
    loan["covenant_cure_tests"] = 0  # no cure: accelerated at the first breach
    assert month(simulate(scenario(**{"company.debt": [loan]}), keep_paths=1), "debt_usd")[2] == 0.0


def test_taxes_on_cumulative_positive_income():
    profitable = {"company.sga_usd_per_year": 0.0, "fleet.0.price_usd_per_th": 1.0}
    taxed = simulate(scenario(**{"company.tax_rate": 0.21, **profitable}))
    free = simulate(scenario(**profitable))
    pretax = month(free, "pretax_income_usd")
    assert (pretax > 0).all()
    np.testing.assert_allclose(month(taxed, "tax_usd"), 0.21 * pretax, rtol=1e-9)


# --------------------------------------------------------------------------- hedges
def test_forward_sale_earns_the_carry_at_a_constant_price():
    res = simulate(scenario(**{"company.hedges": [{"kind": "forward", "fraction": 0.5, "rate": 0.05}],
                               "horizon_days": 59}), keep_paths=1)
    btc = res.daily.btc_mined.to_numpy()
    jan = 0.5 * btc[0] * 31 * 90000.0 * (math.exp(0.05 * 30 / 365) - 1)
    feb = 0.5 * btc[:31].sum() * 28 / 31 * 90000.0 * (math.exp(0.05 * 27 / 365) - 1)
    np.testing.assert_allclose(month(res, "hedge_pnl_usd"), [jan, feb], rtol=1e-9)


def test_put_costs_its_premium_when_it_expires_worthless():
    res = simulate(scenario(**{"company.hedges": [{"kind": "put", "fraction": 1.0, "strike_fraction": 0.8,
                                                   "implied_vol_annual": 0.6, "rate": 0.0}],
                               "horizon_days": 31}), keep_paths=1)
    notional = res.daily.btc_mined.iloc[0] * 31
    premium = notional * black_scholes_put_usd(90000.0, 72000.0, 30 / 365, 0.6, 0.0)
    assert month(res, "hedge_pnl_usd")[0] == pytest.approx(-premium, rel=1e-9)


def test_put_pays_in_a_crash(tmp_path):
    prices, file = falling_price(tmp_path)
    res = simulate(scenario(**{"horizon_days": 90, "market.btc_price": {"model": "csv", "file": file},
                               "company.hedges": [{"kind": "put", "fraction": 1.0, "implied_vol_annual": 0.6}]}),
                   keep_paths=1)
    assert month(res, "hedge_pnl_usd")[1] > 0  # February: bought at 63 k, struck at 50.4 k, expired at 37.8 k


def test_power_swap_pays_index_minus_fixed():
    site = {"name": "a", "capacity_mw": 100.0, "power": {"contract": "index", "mean_usd_per_mwh": 40.0,
                                                           "vol_daily": 0.0, "spike_probability": 0.0, "shape": "flat"}}
    res = simulate(scenario(**{"sites": [site], "horizon_days": 31,
                               "company.hedges": [{"kind": "power_swap", "site": "a", "mw": 10.0,
                                                   "fixed_usd_per_mwh": 35.0}]}), keep_paths=1)
    assert month(res, "hedge_pnl_usd")[0] == pytest.approx(10.0 * 24 * 31 * (40.0 - 35.0), rel=1e-9)


# --------------------------------------------------------------------------- valuation and metrics
@pytest.mark.parametrize("method", ["nav", "dcf", "multiple"])
def test_share_price_uses_no_future_information(tmp_path, method):
    # two paths identical for 100 days, then one doubles: the share prices agree until day 100
    rng = np.random.default_rng(3)
    common = 90000.0 * np.exp(np.cumsum(rng.normal(0, 0.03, 100)))
    later = common[-1] * np.exp(np.cumsum(rng.normal(0, 0.03, 81)))
    prices = np.stack([np.concatenate([common, later]), np.concatenate([common, 2 * later])])
    file = price_csv(tmp_path, prices)
    res = simulate(scenario(**{"paths": 2, "market.btc_price": {"model": "csv", "file": file},
                               "company.valuation": {"method": method, "market_multiple": 1.2}}), keep_paths=2)
    a, b = (res.daily[res.daily.path == p].share_price_usd.to_numpy() for p in (0, 1))
    np.testing.assert_array_equal(a[:100], b[:100])
    assert not np.allclose(a[100:], b[100:])


def test_nav_share_price_is_nav_per_share_plus_the_multiple_s_premium():
    """Without debt E = V: day 0 is 1.5 × NAV per share, and the premium 0.5 V₀ then stays in USD, so the
    last close is NAV per share + 0.5 V₀ / shares = NAV per share + price₀ / 3 (structural.py)."""
    res = simulate(scenario(**{"company.valuation": {"method": "nav", "market_multiple": 1.5}}), keep_paths=1)
    m = res.summary["metrics"]
    first, price = res.daily.share_price_usd.iloc[0], res.daily.share_price_usd.iloc[-1]
    assert res.path_metrics["end_shares_outstanding"][0] == res.daily.equity_value_usd.iloc[0] / first
    assert price == pytest.approx(m["end_nav_per_share_usd"]["mean"] + first / 3, rel=1e-12)
    assert m["end_equity_value_usd"]["mean"] == pytest.approx(price * m["end_shares_outstanding"]["mean"])


def test_undefined_metrics_follow_the_null_rule():
    res = simulate(scenario(paths=2))  # no debt: interest coverage undefined; constant price: no beta
    m = res.summary["metrics"]
    assert m["interest_coverage"]["defined_paths"] == 0 and m["interest_coverage"]["mean"] is None
    assert m["equity_beta_to_btc"]["defined_paths"] == 0
    assert all(v["mean"] is None or math.isfinite(v["mean"]) for v in m.values())


def test_cost_per_btc_metrics_add_up():
    loan = {"kind": "term_loan", "principal_usd": 10e6, "rate": 0.1, "maturity": "2030-01-01"}
    res = simulate(scenario(**{"company.debt": [loan], "company.sbc_usd_per_year": 1e6}))
    m = {k: v["mean"] for k, v in res.summary["metrics"].items()}
    assert m["cash_cost_per_btc_usd"] == pytest.approx(m["direct_cost_per_btc_usd"] + m["sga_usd"] / m["btc_mined"])
    assert m["all_in_cost_per_btc_usd"] == pytest.approx(
        m["cash_cost_per_btc_usd"] + (m["depreciation_usd"] + m["sbc_usd"] + m["interest_usd"]) / m["btc_mined"])


def test_equity_beta_of_a_pure_btc_holder_is_one():
    # a company holding only BTC, valued at NAV, has a share price proportional to BTC: beta 1
    res = simulate(scenario(**{"fleet": [], "paths": 3, "market.btc_price.vol_annual": 0.6,
                               "company.cash_usd": 0.0, "company.treasury_btc": 1000.0,
                               "company.sga_usd_per_year": 0.0}))
    assert res.summary["metrics"]["equity_beta_to_btc"]["mean"] == pytest.approx(1.0, abs=1e-9)


# --------------------------------------------------------------------------- identities on random companies
company_strategy = st.fixed_dictionaries({
    "cash_usd": st.floats(0, 3e8), "treasury_btc": st.floats(0, 5000), "sga": st.floats(0, 5e7),
    "sbc": st.floats(0, 3e7), "sell": st.floats(0, 1), "min_cash": st.floats(0, 1e8), "atm": st.booleans(),
    "tax": st.floats(0, 0.4), "vol": st.floats(0, 1.2), "debt": st.lists(st.sampled_from(["term", "conv", "btc"]),
                                                                         max_size=3),
    "hedge": st.sampled_from([None, "forward", "put"]), "method": st.sampled_from(["nav", "dcf", "multiple"]),
    "buy": st.floats(0, 2e7), "buyback": st.floats(0, 1e7), "retire": st.booleans(),
    "market": st.sampled_from([None, 0.5, 3.0, 40.0]), "allocation": st.sampled_from(["revenue_share", "all_to_mining"]),
    "cure_days": st.integers(0, 3),
})


def random_company(p):
    debt = {"term": {"kind": "term_loan", "principal_usd": 5e7, "rate": 0.1, "maturity": "2026-05-31",
                     "amortizing": True, "max_leverage": 3.0},
            "conv": {"kind": "convertible", "principal_usd": 2e8, "coupon": 0.02, "maturity": "2026-03-01",
                     "conversion_price_usd": 8.0},
            "btc": {"kind": "btc_backed", "principal_usd": 6e7, "rate": 0.08, "ltv_initial": 0.5,
                    "ltv_margin_call": 0.7, "ltv_liquidation": 0.8, "cure_days": p["cure_days"]}}
    company = {"shares_outstanding": 1e8, "cash_usd": p["cash_usd"], "treasury_btc": p["treasury_btc"],
               "sga_usd_per_year": p["sga"], "sbc_usd_per_year": p["sbc"], "tax_rate": p["tax"],
               "treasury_policy": {"sell_fraction": p["sell"], "min_cash_usd": p["min_cash"],
                                   "buy_btc_usd_per_quarter": p["buy"]},
               "equity": {"atm_enabled": p["atm"], "atm_max_usd_per_quarter": 5e7, "atm_fee": 0.02,
                          "buyback_usd_per_quarter": p["buyback"], "buyback_above_cash_usd": 1e8},
               "debt": [debt[k] for k in p["debt"]], "valuation": {"method": p["method"], "market_multiple": 1.3},
               "hedges": [{"kind": p["hedge"], "fraction": 0.3}] if p["hedge"] else [],
               "cost_allocation": p["allocation"],
               **({"market": {"share_price_usd": p["market"], "as_of": "2025-12-31"}} if p["market"] else {})}
    fleet = [{"id": "xp", "model": "antminer-s19-xp", "units": 5000, "site": "a", "deployed": "2024-06-01",
              **({"retired": "2026-03-15"} if p["retire"] else {})},
             {"id": "new", "model": "antminer-s21-pro", "units": 3000, "site": "a", "deployed": "2025-06-01"}]
    return scenario(**{"horizon_days": 120, "paths": 3, "market.btc_price.vol_annual": p["vol"],
                       "network.blocks": "poisson", "failures": {"enabled": True}, "fleet": fleet,
                       "purchases": [{"model": "antminer-s21-xp", "units": 1000, "site": "a",
                                      "delivery": "2026-02-10"}],
                       "company": company})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(company_strategy)
# found by hypothesis: no cash, no BTC, a convertible: the share price collapses towards 0 and SBC in
# USD at that price issued ~1e308 shares (now: no trade, grant or sale below one $0.0001 quote increment)
@example({"cash_usd": 0.0, "treasury_btc": 0.0, "sga": 0.0, "sbc": 3126.0, "sell": 0.0, "min_cash": 0.0,
          "atm": True, "tax": 0.0, "vol": 0.0, "debt": ["conv"], "hedge": None, "method": "nav", "buy": 0.0,
          "buyback": 0.0, "retire": False, "market": None, "allocation": "revenue_share", "cure_days": 0})
# found by hypothesis: a close far below the model's equity, notes due in two months: a discount carried on
# the assets priced the equity at 0 before maturity although the BTC paid the notes (now a share of the equity)
@example({"cash_usd": 0.0, "treasury_btc": 3308.0, "sga": 0.0, "sbc": 0.0, "sell": 1.0, "min_cash": 0.0,
          "atm": False, "tax": 0.0, "vol": 1.0, "debt": ["conv"], "hedge": None, "method": "nav", "buy": 0.0,
          "buyback": 0.0, "retire": False, "market": 0.5, "allocation": "revenue_share", "cure_days": 0})
def test_books_balance_and_btc_is_conserved_on_random_companies(p):
    # the ledger raises IdentityError on any path whose books fail; here they are re-derived from the outputs
    res = simulate(random_company(p))
    m = res.monthly
    scale = np.maximum(m.total_assets_usd.abs(), 1.0)
    assert (np.abs(m.total_assets_usd - m.total_liabilities_usd - m.equity_usd) <= 1e-9 * scale).all()
    for total, parts in (("sga_usd", ("sga_mining_usd", "sga_hosting_usd", "sga_hpc_usd")),
                         ("sbc_usd", ("sbc_mining_usd", "sbc_hosting_usd", "sbc_hpc_usd")),
                         ("interest_usd", ("interest_corporate_mining_usd", "interest_corporate_hosting_usd",
                                          "interest_corporate_hpc_usd", "hpc_interest_usd")),
                         ("depreciation_usd", ("depreciation_mining_usd", "depreciation_hosting_usd",
                                               "hpc_depreciation_usd"))):  # segment parts sum to the whole
        np.testing.assert_allclose(sum(m[k] for k in parts), m[total], rtol=1e-9, atol=1e-6)
    d = res.daily  # the share price is 0 only in distress, and day 0 opens at the market close
    assert not ((d.share_price_usd <= 0) & (d.cash_usd > 0) & (d.path.map(
        dict(enumerate(res.path_metrics["prob_cash_shortfall"]))) == 0)).any()
    solvent = np.flatnonzero(res.path_metrics["prob_cash_shortfall"] == 0)
    if p["market"] and len(solvent):
        first = d[(d.date == d.date.min()) & d.path.isin(solvent)]
        np.testing.assert_allclose(first.share_price_usd, p["market"], rtol=1e-9)
    for _, g in m.groupby("path"):
        held = (g.treasury_btc + g.pledged_btc).to_numpy()
        opening = held[0] - (g.btc_mined + g.btc_bought - g.btc_sold - g.btc_liquidated).iloc[0]
        flow = np.cumsum((g.btc_mined + g.btc_bought - g.btc_sold - g.btc_liquidated).to_numpy())
        np.testing.assert_allclose(held, opening + flow, rtol=1e-9, atol=1e-9)
        assert opening == pytest.approx(p["treasury_btc"], abs=1e-6)
        assert (g.cash_usd >= -1e-6).all()
    for values in res.path_metrics.values():
        assert not np.isinf(values).any()
    for frame in (res.daily, res.daily_quantiles, res.monthly):  # no NaN or inf anywhere in the outputs
        assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()
    assert (res.daily[["fleet_hashrate_ehs", "fleet_power_mw", "btc_mined", "pledged_btc", "treasury_btc"]] >= 0).all().all()
    assert (res.daily.fleet_power_mw <= 100.0 + 1e-9).all()  # the site's capacity


def test_readme_explains_every_metric_with_its_formula():
    from simulator.metrics import ALL_METRICS

    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    for name, (unit, _, definition) in ALL_METRICS.items():
        assert f"| `{name}` | {unit} | {definition} |" in readme, name
