"""Issue 16: the structural (Merton) share price anchored to the market, contracts valued from
signing without look-ahead, segment costs and pooled ratios, the ATM floor and SBC."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.config import load_scenario
from simulator.engine import simulate
from simulator.finance import structural
from simulator.finance.hedges import black_scholes_put_usd
from simulator.hpc import HpcPortfolio
from simulator.metrics import ALL_METRICS, Ratio

from conftest import SCENARIOS
from test_finance import month, scenario


# --------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("v, f, t, sigma, r", [(100.0, 80.0, 1.0, 0.3, 0.04), (100.0, 150.0, 2.0, 0.5, 0.0),
                                              (5e9, 3.6e9, 4.3, 0.2, 0.04), (100.0, 250.0, 1.0, 0.5, 0.04)])
def test_merton_equity_is_assets_less_discounted_debt_plus_the_put(v, f, t, sigma, r):
    # put-call parity against the independent Black-Scholes put of the hedges: C = V − F e^{−rT} + P
    put = float(black_scholes_put_usd(v, f, t, sigma, r))
    equity = float(structural.merton_equity_usd(v, f, t, sigma, r))
    assert equity == pytest.approx(v - f * np.exp(-r * t) + put, rel=1e-9, abs=1e-9 * v)
    assert 0 < equity < v  # a solvent firm's equity is worth something, never more than its assets


def test_merton_limits():
    assert structural.merton_equity_usd(100.0, 0.0, 1.0, 0.2, 0.04) == 100.0  # no debt: E = V
    assert structural.merton_equity_usd(0.0, 10.0, 1.0, 0.2, 0.04) == 0.0
    deep = structural.merton_equity_usd(1000.0, 100.0, 1.0, 0.2, 0.04)
    assert deep == pytest.approx(1000.0 - 100.0 * np.exp(-0.04), rel=1e-12)  # deep in the money: V − F e^{−rT}
    low, high = (structural.merton_equity_usd(100.0, 100.0, 1.0, s, 0.04) for s in (0.2, 0.6))
    assert high > low  # equity is long volatility


def test_asset_vol_and_maturity_weights():
    assert structural.asset_vol_annual(50.0, 100.0, 0.6, 0.2) == pytest.approx(0.3)  # w = 0.5
    assert structural.asset_vol_annual(10.0, 100.0, 0.6, 0.2) == pytest.approx(0.2)  # floored at σ_min
    assert structural.face_weighted_years([[100.0], [300.0]], [[1.0], [3.0]]) == pytest.approx(2.5)
    assert structural.face_weighted_years([[0.0]], [[7.0]]) == structural.OPEN_ENDED_YEARS


def test_the_market_intangible_moves_with_btc_as_the_assets_did_and_reverts_with_its_half_life():
    g = structural.market_intangible_usd
    assert g(0, 100.0, 500.0, 400.0, 0.0, 1.0, 1.0, 100.0) == pytest.approx(100.0)
    assert g(100, 100.0, 500.0, 400.0, 0.0, 1.0, 1.0, 100.0) == pytest.approx(50.0)  # half-way to no premium
    assert g(200, 100.0, 500.0, 400.0, 0.0, 1.0, 1.5, 100.0) == pytest.approx(250.0 + (100.0 - 200.0) / 4)  # to 0.5 V_t
    assert g(10_000, 100.0, 500.0, 400.0, 0.0, 1.0, None, 100.0) == pytest.approx(100.0)  # default: no drift
    assert g(10, 100.0, 500.0, 400.0, 0.8, 0.5, None, 100.0) == pytest.approx(100.0 * (0.8 * 0.5 + 0.2))  # BTC halved


def test_a_discount_is_a_share_of_the_equity_and_a_premium_an_asset():
    g0, m0 = structural.split_discount(np.array([100.0, -100.0, -100.0]), np.array([300.0, 300.0, 0.0]),
                                       np.array([390.0, 120.0, 0.0]))
    assert g0.tolist() == [100.0, 0.0, 0.0] and m0.tolist() == [1.0, 0.4, 1.0]
    m = structural.equity_multiple
    assert m(500, 0.4, None, 100.0) == pytest.approx(0.4)  # default: the discount stays
    assert m(100, 0.4, 1.0, 100.0) == pytest.approx(0.7)  # half-way back to no discount


def test_a_discounted_firm_whose_btc_covers_its_notes_is_never_priced_at_zero():
    """Found by hypothesis (tests/test_finance.py): a close of $0.50 against a model equity near $2,
    3,308 BTC, no cash, $200M of notes due in two months, BTC at 100 % volatility. With the discount
    carried on the assets (V* = V₀ − |G₀|) the call on V* expired worthless on a path where BTC fell: the
    price read 0 for three days before maturity, then the notes were paid from the BTC and the price
    came back at the NAV. As a share of the equity the price follows the model's equity, above 0."""
    from test_finance import random_company

    from simulator.engine import simulate

    p = {"cash_usd": 0.0, "treasury_btc": 3308.0, "sga": 0.0, "sbc": 0.0, "sell": 1.0, "min_cash": 0.0,
         "atm": False, "tax": 0.0, "vol": 1.0, "debt": ["conv"], "hedge": None, "method": "nav", "buy": 0.0,
         "buyback": 0.0, "retire": False, "market": 0.5, "allocation": "revenue_share", "cure_days": 0}
    res = simulate(random_company(p))
    d = res.daily
    solvent = res.path_metrics["prob_cash_shortfall"] == 0
    assert solvent.all()
    assert (d.share_price_usd > 0).all()
    np.testing.assert_allclose(d[d.date == d.date.min()].share_price_usd, 0.5, rtol=1e-9)


def test_implied_asset_value_reproduces_the_market_equity():
    f, t, sigma, r = np.array([150.0, 0.0, 80.0, 5e9]), 2.0, 0.3, 0.04
    target = np.array([60.0, 130.0, 1.0, 2e9])
    v = structural.implied_asset_value_usd(target, f, t, sigma, r)
    np.testing.assert_allclose(structural.merton_equity_usd(v, f, t, sigma, r), target, rtol=1e-12)
    assert v[1] == pytest.approx(130.0)  # no debt: E = V
    assert (v >= target).all() and (v <= target + f).all()


def test_the_market_premium_neither_multiplies_gains_nor_mints_equity_from_debt():
    """Debt twice the model's assets and the market valuing the equity at 50 (p₀ V₀ − F ≈ 50): a 20 %
    rise in V moves the price by about ΔV / E, and a purchase of 50 paid with new debt moves it only by the
    call's convexity (nothing at low volatility and no discounting). A premium multiplying the equity turned the same rise into a
    multiple of the price; one multiplying V minted (p − 1) × 50 of equity from the purchase."""
    v, f, t, sigma, r = 100.0, 200.0, 2.0, 0.3, 0.04
    g = structural.implied_asset_value_usd(50.0, f, t, sigma, r)[0] - v
    p = 1 + g / v

    def price(assets, face):
        return structural.merton_equity_usd(assets + g, face, t, sigma, r)

    assert price(v, f) == pytest.approx(50.0, rel=1e-12)
    rise = price(1.2 * v, f) / 50.0 - 1
    assert 0.2 < rise < 0.5  # ≈ ΔV / E = 20 / 50
    assert structural.merton_equity_usd(1.2 * v, f, t, sigma, r) / structural.merton_equity_usd(v, f, t, sigma, r) - 1 > 1.0
    # the debt-financed purchase: what Merton's convexity gives (risk shifting), the premium adds nothing
    assert price(v + 50.0, f + 50.0) - 50.0 < structural.merton_equity_usd(p * (v + 50.0), f + 50.0, t, sigma, r) \
        - 50.0 - 0.5 * (p - 1) * 50.0
    calm = structural.implied_asset_value_usd(50.0, f, t, 0.02, 0.0)[0]
    assert structural.merton_equity_usd(calm + 50.0, f + 50.0, t, 0.02, 0.0) == pytest.approx(50.0, rel=1e-3)


def test_equity_below_one_quote_increment_is_worthless():
    from simulator.finance.ledger import MIN_TRADED_PRICE_USD
    loan = {"kind": "term_loan", "principal_usd": 5e11, "rate": 0.0, "maturity": "2027-12-31"}  # debt dwarfs every asset
    d = simulate(scenario(**{"company.debt": [loan]}), keep_paths=1).daily
    assert (d.share_price_usd == 0).all() and (d.equity_value_usd == 0).all()
    assert MIN_TRADED_PRICE_USD == 1e-4


# --------------------------------------------------------------------------- anchored to the market
def test_day_0_price_is_the_market_close_and_a_levered_solvent_company_is_never_worth_0():
    # debt (400 M) far above NAV: the old NAV price was floored at 0; equity as a call keeps a value
    loan = {"kind": "term_loan", "principal_usd": 400e6, "rate": 0.0, "maturity": "2028-01-01"}
    res = simulate(scenario(**{"company.debt": [loan], "company.market": {"share_price_usd": 3.21,
                                                                          "as_of": "2025-12-31"}}), keep_paths=1)
    d = res.daily
    assert d.share_price_usd.iloc[0] == pytest.approx(3.21, rel=1e-12)
    assert (d.share_price_usd > 0).all() and (d.cash_usd > 0).all()
    assert res.summary["metrics"]["end_nav_per_share_usd"]["mean"] < 0


def test_a_close_anchors_a_company_whose_model_assets_are_below_zero():
    """The model's V below 0 on day 0 (liabilities beyond every asset it sees, e.g. a build not yet
    financed), the market pricing the stock at 4: day 0 opens at the close and the price stays above 0
    while the company pays its way (the README's IREN sweep at $49M/MW priced it 0 from day 1)."""
    res = simulate(scenario(**{"company.opening": {"other_liabilities_usd": 2e9},
                               "company.market": {"share_price_usd": 4.0, "as_of": "2025-12-31"}}), keep_paths=1)
    d = res.daily
    assert d.share_price_usd.iloc[0] == pytest.approx(4.0, rel=1e-9)
    assert res.summary["metrics"]["end_nav_per_share_usd"]["mean"] < 0
    assert ((d.share_price_usd > 0) | (d.cash_usd <= 0)).all()


def test_premium_converges_to_the_long_run_premium():
    """A company without debt: price × diluted shares = V + G, so the two runs (same fundamentals)
    differ by exactly the intangible's path, G_t − G₀ = (p_∞ − 1) V_t − (p_∞ − 1) V₀ 2^(−t/h) − G₀ (1 − 2^(−t/h))."""
    market = {"share_price_usd": 500.0, "as_of": "2025-12-31"}  # far above the fundamental value
    base = simulate(scenario(**{"company.market": market}), keep_paths=1).daily
    half = simulate(scenario(**{"company.market": market, "company.valuation": {
        "long_run_premium": 1.0, "premium_half_life_days": 30}}), keep_paths=1).daily
    assert base.share_price_usd.iloc[0] == pytest.approx(500.0) and half.share_price_usd.iloc[0] == pytest.approx(500.0)
    assert (base.share_price_usd.diff().abs().iloc[1:40] < 0.5).all()  # no drift without a long-run premium
    drop = (base.share_price_usd - half.share_price_usd).to_numpy()  # = (G₀ − G_t) / shares with p_∞ = 1
    days = np.arange(len(drop))
    g0 = drop[150] / (1 - 0.5 ** (150 / 30.0))  # G₀ / shares from a late day
    np.testing.assert_allclose(drop, g0 * (1 - 0.5 ** (days / 30.0)), rtol=1e-6, atol=1e-9)
    assert g0 > 400  # most of the 500 close is the market's premium


# --------------------------------------------------------------------------- contracts: from signing, no look-ahead
def hpc_company(**project):
    p = {"site": "a", "it_mw": 10.0, "pue": 1.2, "start": "2026-02-01", "build_months": 3, "delay_mean_months": 2,
         "capex_usd_per_mw": 1e6, "opex_usd_per_mw_year": 50000.0,
         "revenue": {"kind": "colocation", "lease_usd_per_kw_month": 120.0, "term_years": 10,
                     "tenant_ramp_months": 3, "tenant_default_probability_annual": 0.5}, **project}
    return scenario(**{"hpc": [p], "horizon_days": 365})


def with_draws(monkeypatch, completion_day, end_day):
    """Replace the project's pre-drawn completion and tenant-default days (a redrawn future)."""
    original = HpcPortfolio.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.completion_day = np.full_like(self.completion_day, float(completion_day))
        self.end_day = np.full_like(self.end_day, float(end_day))
    monkeypatch.setattr(HpcPortfolio, "__init__", init)


VALUATION_COLUMNS = ("share_price_usd", "equity_value_usd", "cash_usd", "debt_usd")


@pytest.mark.parametrize("redrawn, first_difference", [((150, 250), 100),  # completion later, default earlier
                                                       ((100, 330), 300)])  # same completion, default later
def test_a_redrawn_future_leaves_every_earlier_valuation_unchanged(monkeypatch, redrawn, first_difference):
    with monkeypatch.context() as m:
        with_draws(m, 100, 300)
        a = simulate(hpc_company(), keep_paths=1).daily
    with monkeypatch.context() as m:
        with_draws(m, *redrawn)
        b = simulate(hpc_company(), keep_paths=1).daily
    for column in VALUATION_COLUMNS:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        np.testing.assert_array_equal(x[:first_difference], y[:first_difference], err_msg=column)
    assert not np.array_equal(a.share_price_usd.to_numpy(), b.share_price_usd.to_numpy())  # the future did differ


def test_later_prices_leave_earlier_valuations_unchanged(tmp_path):
    from test_finance import price_csv

    flat = np.full(365, 90000.0)
    crash = flat.copy()
    crash[200:] = 30000.0
    hpc = hpc_company().model_dump(mode="json")["hpc"]
    runs = [simulate(scenario(**{"hpc": hpc, "horizon_days": 365, "market.btc_price": {
        "model": "csv", "file": price_csv(tmp_path, prices, name=f"p{k}.csv")}}), keep_paths=1).daily
        for k, prices in enumerate((flat, crash))]
    for column in VALUATION_COLUMNS:
        np.testing.assert_array_equal(runs[0][column].to_numpy()[:200], runs[1][column].to_numpy()[:200])


def test_contract_counts_from_signing_and_completion_moves_nothing(monkeypatch):
    with monkeypatch.context() as m:
        with_draws(m, 150, np.inf)
        d = simulate(hpc_company(signed="2026-03-02"), keep_paths=1).daily  # day 60
    moves = np.abs(np.diff(np.log(d.share_price_usd.to_numpy())))
    assert moves[59] > 0.05  # the market prices the contract when it is signed
    assert moves[149] < 0.005 and np.delete(moves, 59).max() < 0.01  # not when the project completes


# --------------------------------------------------------------------------- the presets (acceptance)
@pytest.fixture(scope="module")
def presets():
    return {name: simulate(load_scenario(str(SCENARIOS / "companies" / f"{name}.yaml"), []), paths=20, keep_paths=20,
                           workers=1) for name in ("mara", "core_scientific")}


@pytest.mark.parametrize("name", ["mara", "core_scientific"])
def test_presets_open_at_the_market_close_and_price_0_only_in_distress(presets, name):
    res = presets[name]
    d = res.daily
    market = load_scenario(str(SCENARIOS / "companies" / f"{name}.yaml"), []).company.market.share_price_usd
    first = d[d.date == d.date.min()]
    np.testing.assert_allclose(first.share_price_usd, market, rtol=1e-9)
    assert not ((d.share_price_usd <= 0) & (d.cash_usd > 0)).any()
    zero = d[d.share_price_usd <= 0].path.unique()
    assert set(zero) <= set(np.flatnonzero(res.path_metrics["prob_cash_shortfall"] == 1))


def test_core_scientific_mining_cost_is_mining_s_and_within_2x_of_mara(presets):
    core, mara = (presets[n].summary["metrics"]["all_in_cost_per_btc_usd"]["pooled"] for n in ("core_scientific", "mara"))
    assert core < 2 * mara and mara < 2 * core, (core, mara)
    m = presets["core_scientific"].monthly  # segment parts sum to the company totals
    for total, parts in (("sga_usd", ("sga_mining_usd", "sga_hosting_usd", "sga_hpc_usd")),
                         ("sbc_usd", ("sbc_mining_usd", "sbc_hosting_usd", "sbc_hpc_usd")),
                         ("interest_usd", ("interest_corporate_mining_usd", "interest_corporate_hosting_usd",
                                          "interest_corporate_hpc_usd", "hpc_interest_usd")),
                         ("depreciation_usd", ("depreciation_mining_usd", "depreciation_hosting_usd",
                                               "hpc_depreciation_usd"))):
        np.testing.assert_allclose(sum(m[p] for p in parts), m[total], rtol=1e-9, atol=1e-6)
        # hosting and HPC do take a share; hosting's depreciation needs a site book value, which the
        # preset no longer carries (issue 18: its $1.5B was a plug, not a filing figure)
        assert ((m[parts[1]] > 0).any() or total == "depreciation_usd") and (m[parts[2]] > 0).any()
    assert (m.site_opex_hosting_usd + m.site_opex_hpc_usd <= m.site_opex_usd * (1 + 1e-12)).all()
    assert (m.site_opex_hpc_usd > 0).all()


def test_core_scientific_moves_at_most_5_percent_a_day_without_btc_volatility():
    res = simulate(load_scenario(str(SCENARIOS / "companies" / "core_scientific.yaml"),
                                 ["market.btc_price.vol_annual=0"]), paths=5, keep_paths=5, workers=1)
    moves = res.daily.sort_values(["path", "date"]).groupby("path").share_price_usd.pct_change().abs()
    assert moves.max() <= 0.05, moves.max()  # project completions included


@pytest.mark.parametrize("name", ["mara", "core_scientific"])
def test_pooled_is_the_sum_of_numerators_over_the_sum_of_denominators(presets, name):
    res = presets[name]
    m = res.summary["metrics"]
    btc = res.path_metrics["btc_mined"]
    for metric in ("all_in_cost_per_btc_usd", "cash_cost_per_btc_usd", "direct_cost_per_btc_usd"):
        per_path = res.path_metrics[metric]
        assert m[metric]["pooled"] == pytest.approx((per_path * btc).sum() / btc.sum(), rel=1e-12)
    assert all(("pooled" in m[k]) == isinstance(fn, Ratio) for k, (_, fn, _) in ALL_METRICS.items() if k in m)


def test_cost_allocation_all_to_mining_charges_mining_everything():
    from test_hpc import project

    doc = {"hpc": [project()], "horizon_days": 120}
    shared = simulate(scenario(**doc), keep_paths=0).summary["metrics"]
    whole = simulate(scenario(**doc, **{"company.cost_allocation": "all_to_mining"}), keep_paths=0).summary["metrics"]
    assert whole["sga_mining_usd"]["mean"] == pytest.approx(whole["sga_usd"]["mean"])
    assert whole["unallocated_sga_usd"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert shared["sga_mining_usd"]["mean"] < whole["sga_mining_usd"]["mean"]
    assert shared["cash_cost_per_btc_usd"]["pooled"] < whole["cash_cost_per_btc_usd"]["pooled"]


def test_corporate_interest_reaches_mining_s_all_in_cost_by_its_revenue_share():
    # a convertible funds the company, fleet and data centres alike: mining's all-in cost takes its revenue share of
    # the coupon, as of SG&A (GLOSSARY.md), all of it under all_to_mining (docs/decisions.md, "Session 32 (coordinator)")
    from test_hpc import project

    doc = {"hpc": [project()], "horizon_days": 365,
           "company.debt": [{"kind": "convertible", "principal_usd": 200e6, "coupon": 0.06, "maturity": "2030-01-01",
                             "conversion_price_usd": 1e6}]}
    runs = {a: simulate(scenario(**doc, **{"company.cost_allocation": a}), keep_paths=0)
            for a in ("revenue_share", "all_to_mining")}
    shared, whole = (runs[a].summary["metrics"] for a in ("revenue_share", "all_to_mining"))
    m = runs["revenue_share"].monthly
    assert m.interest_corporate_hpc_usd.sum() > 0 and m.interest_corporate_mining_usd.sum() > 0
    assert m.interest_corporate_mining_usd.sum() < m.interest_usd.sum() - m.hpc_interest_usd.sum()
    w = runs["all_to_mining"].monthly
    np.testing.assert_allclose(w.interest_corporate_mining_usd, w.interest_usd - w.hpc_interest_usd, rtol=1e-12)
    assert w.interest_corporate_hpc_usd.sum() == 0 and m.interest_usd.sum() == pytest.approx(w.interest_usd.sum())
    for name, r in (("shared", shared), ("whole", whole)):
        assert r["all_in_cost_per_btc_usd"]["pooled"] > r["cash_cost_per_btc_usd"]["pooled"], name
    assert shared["all_in_cost_per_btc_usd"]["pooled"] < whole["all_in_cost_per_btc_usd"]["pooled"]


# --------------------------------------------------------------------------- ATM and SBC
def atm_company(market_usd, **equity):
    return scenario(**{"company.cash_usd": 0.0, "company.treasury_btc": 0.0, "horizon_days": 60,
                       "company.market": {"share_price_usd": market_usd, "as_of": "2025-12-31"},
                       "company.treasury_policy": {"sell_fraction": 1.0, "min_cash_usd": 5e6},
                       "company.equity": {"atm_enabled": True, "atm_max_usd_per_quarter": 20e6,
                                          "atm_max_dilution_pct_per_quarter": 1000.0, **equity}})


def test_the_atm_never_sells_below_nav_per_share_by_default():
    # NAV per share of this company is about $0.9 (fleet at the ASIC price index): a $0.2 close is far below it
    below = simulate(atm_company(0.2), keep_paths=1)
    assert below.monthly.atm_proceeds_usd.sum() == 0 and below.summary["metrics"]["dilution_pct"]["mean"] == 0
    allowed = simulate(atm_company(0.2, atm_min_price_to_nav=0.0), keep_paths=1)
    assert allowed.monthly.atm_proceeds_usd.sum() > 0
    floor = simulate(atm_company(1.0, atm_min_price_to_nav=0.0, atm_min_price_usd=2.0), keep_paths=1)
    assert floor.monthly.atm_proceeds_usd.sum() == 0


def test_sbc_in_shares_and_usd_capped_in_shares():
    shares = simulate(scenario(**{"company.equity": {"sbc_shares_per_year": 36500.0}}), keep_paths=1)
    assert month(shares, "shares_outstanding")[-1] == pytest.approx(1e6 + 100.0 * 181)
    d = shares.daily.share_price_usd.to_numpy()
    # expensed at the previous close (day 0: the opening valuation, before the day's funding)
    assert shares.monthly.sbc_usd.sum() == pytest.approx(100.0 * (d[0] + d[:-1].sum()), rel=1e-5)
    capped = simulate(scenario(**{"company.sbc_usd_per_year": 1e12, "company.equity": {
        "sbc_max_shares_per_year": 3650.0}}), keep_paths=1)
    assert month(capped, "shares_outstanding")[-1] == pytest.approx(1e6 + 10.0 * 181)


def test_a_long_run_discount_is_refused():
    """p_∞ < 1 would carry a discount on the assets in the long run (a solvent firm's call priced
    worthless); with a day-0 discount on the equity it also overshot while both reverted."""
    from simulator.errors import InputError

    with pytest.raises((InputError, ValueError), match="long_run_premium"):
        scenario(company={"shares_outstanding": 1e8, "valuation": {"method": "nav", "long_run_premium": 0.6}})
