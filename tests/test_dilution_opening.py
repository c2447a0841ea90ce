"""Options, RSUs and warrants by the treasury-stock method; the opening balance sheet's CIP and
BTC receivable (issue 18's company keys)."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import simulate
from simulator.finance.dilution import diluted_shares, treasury_stock_shares
from simulator.finance.opening import total_assets_usd

from test_finance import month, scenario


class _I:
    def __init__(self, count, strike_usd=0.0):
        self.count, self.strike_usd = count, strike_usd


def test_treasury_stock_method_by_hand():
    # 1,000 options at 10 with the stock at 25: proceeds 10,000 buy back 400 shares → 600 added;
    # 500 RSUs add 500; 2,000 warrants at 30 are out of the money (at 40: 750 + 500 + 500); a zero price adds nothing.
    items = [_I(1000, 10.0), _I(500), _I(2000, 30.0)]
    assert treasury_stock_shares(items, np.array([25.0, 0.0, 40.0])) == pytest.approx([1100.0, 0.0, 1750.0])
    assert diluted_shares(1e6, items, 25.0) == pytest.approx(1e6 + 1100.0)
    assert treasury_stock_shares([], 25.0) == 0.0


def test_rsus_dilute_the_share_price_in_the_engine():
    base = simulate(scenario(), keep_paths=1)
    rsu = simulate(scenario(**{"company.dilutive": [{"kind": "rsus", "count": 250_000.0}]}), keep_paths=1)
    # same NAV, 1.25 M diluted shares instead of 1 M once a close exists (day 1 on)
    p0, p1 = base.daily.share_price_usd.to_numpy(), rsu.daily.share_price_usd.to_numpy()
    assert p1[-1] == pytest.approx(p0[-1] / 1.25, rel=1e-12)
    assert rsu.summary["metrics"]["end_nav_per_share_usd"]["mean"] == pytest.approx(
        base.summary["metrics"]["end_nav_per_share_usd"]["mean"] / 1.25, rel=1e-12)


def test_options_out_of_the_money_do_not_dilute():
    base = simulate(scenario(), keep_paths=1)
    far = simulate(scenario(**{"company.dilutive": [{"kind": "options", "count": 1e6, "strike_usd": 1e6}]}),
                   keep_paths=1)
    assert far.daily.share_price_usd.iloc[-1] == pytest.approx(base.daily.share_price_usd.iloc[-1], rel=1e-12)


def test_cip_and_btc_receivable_are_assets_and_the_receivable_is_revalued():
    opening = {"construction_in_progress_usd": 7e6, "btc_receivable": 100.0}
    res = simulate(scenario(**{"company.opening": opening, "market.btc_price.vol_annual": 0.5}), keep_paths=1)
    ref = simulate(scenario(**{"market.btc_price.vol_annual": 0.5}), keep_paths=1)
    price_end_jan = res.daily.btc_price_usd.to_numpy()[30]
    extra = month(res, "total_assets_usd")[0] - month(ref, "total_assets_usd")[0]
    assert extra == pytest.approx(7e6 + 100.0 * price_end_jan, rel=1e-9)
    assert month(res, "equity_usd")[0] == pytest.approx(
        month(res, "total_assets_usd")[0] - month(res, "total_liabilities_usd")[0], rel=1e-12)
    # the receivable is not the treasury's to sell
    assert month(res, "treasury_btc")[-1] == pytest.approx(month(ref, "treasury_btc")[-1])
    assert res.summary["metrics"]["end_nav_per_share_usd"]["mean"] > ref.summary["metrics"]["end_nav_per_share_usd"]["mean"]


def test_opening_total_assets_lines():
    s = scenario(**{"company.treasury_btc": 10.0, "company.opening": {
        "fleet_book_value_usd": 1e6, "site_book_value_usd": 2e6, "construction_in_progress_usd": 3e6,
        "btc_receivable": 5.0, "other_assets_usd": 4e6}})
    lines = total_assets_usd(s.company, 100_000.0)
    assert lines["btc_usd"] == pytest.approx(1.5e6)
    assert lines["total_assets_usd"] == pytest.approx(50e6 + 1.5e6 + 1e6 + 2e6 + 3e6 + 4e6)
