"""Daily signal columns: hash ribbons, hashrate under water, miner sell pressure (run and backtest)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from simulator import signals
from simulator.config.loader import Document, validate_document
from simulator.engine import simulate
from simulator.hardware import load_library
from simulator.market.history import load_history
from simulator.workflows.backtest import backtest

from conftest import SCENARIOS

D0 = 1.5e14
H0_EHS = D0 * 2**32 / 600 / 1e18  # the hashrate the difficulty implies [EH/s]


def scenario(**changes):
    """A deterministic one-cohort scenario (expected blocks, constant network), with dotted overrides."""
    doc = {
        "name": "signals", "start": "2026-01-01", "horizon_days": 100, "paths": 3, "seed": 1,
        "market": {"btc_price": {"model": "gbm", "initial_usd": 90000.0},
                   "fees": {"model": "constant", "btc_per_block": 0.025}},
        "network": {"initial_difficulty": D0, "initial_height": 930000, "blocks": "expected"},
        "sites": [{"name": "a", "capacity_mw": 100.0, "power": {"contract": "fixed", "price_usd_per_mwh": 42.0}}],
        "fleet": [{"id": "xp", "model": "antminer-s19-xp", "units": 1000, "site": "a", "deployed": "2025-01-01"}],
        "failures": {"enabled": False},
    }
    for key, value in changes.items():
        node = doc
        *head, last = key.split(".")
        for part in head:
            node = node[part]
        node[last] = value
    return validate_document(Document(doc, {}, {}), "test.yaml")


def path0(res):
    return res.daily[res.daily.path == 0].reset_index(drop=True)


# --------------------------------------------------------------------------- hash ribbons
def test_warm_up_is_flat_before_the_start_and_a_step_down_capitulates_for_59_days():
    # Warm-up rule: a simulated network is taken to have been flat at day 0's hashrate before
    # the start, so the ribbons start equal. A −20 % step on day 10 puts the 30-day average
    # below the 60-day one from that day until both have forgotten the old level (day 69):
    # MA30(d) = H (0.8 + 0.2 max(0, 19 − (d − 10) + 1)/30 …), closed forms below.
    res = simulate(scenario(events=[{"kind": "hashrate_shock", "date": "2026-01-11", "change_pct": -20}]))
    day = path0(res)
    h = np.where(np.arange(100) < 10, H0_EHS, 0.8 * H0_EHS)
    padded = np.r_[np.full(59, H0_EHS), h]
    ma30 = np.array([padded[d + 59 - 29:d + 60].mean() for d in range(100)])
    ma60 = np.array([padded[d:d + 60].mean() for d in range(100)])
    assert_allclose(day.network_hashrate_30d_ehs, ma30, rtol=1e-12)
    assert_allclose(day.network_hashrate_60d_ehs, ma60, rtol=1e-12)
    flag = day.hash_ribbon_capitulation.to_numpy()
    assert (flag[:10] == 0).all() and (flag[10:69] == 1).all() and (flag[69:] == 0).all()


def test_growing_network_never_capitulates_and_quantiles_cover_the_signals():
    res = simulate(scenario(**{"network.hashrate": {"model": "growth", "growth_annual": 0.5, "vol_annual": 0.0}}))
    assert (res.daily.hash_ribbon_capitulation == 0).all()
    assert (res.daily.network_hashrate_30d_ehs >= res.daily.network_hashrate_60d_ehs * (1 - 1e-12)).all()
    for column in signals.SIGNAL_COLUMNS:
        assert {f"{column}_p5", f"{column}_p50", f"{column}_p95"} <= set(res.daily_quantiles.columns)


def test_ribbons_vectorised_over_paths_equal_each_path_alone():
    noisy = {"network.hashrate": {"model": "growth", "growth_annual": 0.3, "vol_annual": 0.6},
             "network.blocks": "poisson"}
    together = simulate(scenario(**noisy, paths=4), keep_paths=4).daily
    alone = simulate(scenario(**noisy, paths=4), path_ids=[2], keep_paths=4).daily
    columns = list(signals.SIGNAL_COLUMNS)
    assert_allclose(together[together.path == 2][columns].to_numpy(), alone[columns].to_numpy(), rtol=0)
    assert together.groupby("path").hash_ribbon_capitulation.sum().nunique() > 1  # paths really differ


def test_backtest_ribbons_use_history_before_the_start_and_show_known_capitulations():
    # Cross-check against pandas' rolling means of Coin Metrics' hashrate, history before the
    # start included (the warm-up rule for a replay), and the capitulations analysts name:
    # summer 2022 (miners' margin squeeze) and after the April 2024 halving.
    res = backtest(SCENARIOS / "halving_crossing.yaml", date_from="2022-01-01", date_to="2024-12-31")
    daily = res.daily.set_index(pd.to_datetime(res.daily.date))
    hashrate = load_history()["hashrate_ths"] / 1e6
    assert_allclose(daily.network_hashrate_30d_ehs, hashrate.rolling(30).mean().loc["2022-01-01":"2024-12-31"],
                    rtol=1e-9)
    assert_allclose(daily.network_hashrate_60d_ehs, hashrate.rolling(60).mean().loc["2022-01-01":"2024-12-31"],
                    rtol=1e-9)
    flag = daily.hash_ribbon_capitulation
    assert flag["2022-07-01":"2022-08-15"].mean() > 0.9
    assert flag["2024-05-20":"2024-07-20"].mean() > 0.9
    assert flag["2021-12-01":"2022-04-30"].sum() == 0 and flag["2024-11-01":"2024-12-31"].sum() == 0


# --------------------------------------------------------------------------- under water
def test_underwater_fraction_against_a_loop_over_vintages():
    library = load_library()
    start, days = dt.date(2022, 6, 1), 400
    breakeven, weights = signals.network_cost_mix(library, start, days, 4.0, 50.0)
    # the same mix, built one day and one model at a time
    quarters: dict = {}
    for p in library.values():
        if p.release_date is not None:
            q = dt.date(p.release_date.year, 3 * ((p.release_date.month - 1) // 3) + 1, 1)
            quarters.setdefault(q, []).append(p.power_w / p.hashrate_ths)
    keys = sorted(quarters)
    hashprice = np.array([30.0, 45.0, 60.0, 90.0])
    for d in (0, 150, 399):
        today = start + dt.timedelta(days=d)
        inside = [k for k in keys if today - dt.timedelta(days=4 * 365) < k <= today]
        share_under = [sum(1 for k in inside if 50 * 24 * np.mean(quarters[k]) / 1000 > h) / len(inside)
                       for h in hashprice]
        assert_allclose(signals.underwater_fraction(hashprice, breakeven, weights[d]), share_under, rtol=1e-12)
    assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)


def test_underwater_fraction_rises_as_hashprice_falls_and_follows_the_power_price():
    cheap = simulate(scenario(**{"market.btc_price.initial_usd": 30000.0}))
    dear = simulate(scenario(**{"market.btc_price.initial_usd": 30000.0, "network.network_power_usd_per_mwh": 80.0}))
    rich = simulate(scenario(**{"market.btc_price.initial_usd": 200000.0}))
    u = {name: res.daily.underwater_hashrate_fraction.mean() for name, res in
         (("cheap", cheap), ("dear", dear), ("rich", rich))}
    assert u["rich"] == 0 < u["cheap"] < u["dear"] <= 1


def test_mix_before_the_librarys_first_release_uses_the_first_vintage():
    library = load_library()
    breakeven, weights = signals.network_cost_mix(library, dt.date(2012, 1, 1), 3, 4.0, 50.0)
    assert (weights[:, 0] == 1).all()


# --------------------------------------------------------------------------- sell pressure
def test_sell_pressure_is_the_networks_revenue_times_the_sell_fraction():
    # expected mode: 144 blocks a day, each paying the 3.125 BTC subsidy and 0.025 BTC of fees
    res = simulate(scenario(signals={"industry_sell_fraction": 0.5}, horizon_days=5))
    day = path0(res)
    assert_allclose(day.miner_sell_pressure_btc, 0.5 * 144 * (3.125 + 0.025), rtol=1e-12)
    assert_allclose(day.miner_sell_pressure_usd, day.miner_sell_pressure_btc * day.btc_price_usd, rtol=1e-12)


def test_sell_pressure_splits_a_halving_day():
    # tip 1,049,900: the 99 blocks up to 1,049,999 pay 3.125 BTC, the other 45 of the day 1.5625
    res = simulate(scenario(**{"network.initial_height": 1_049_900}, horizon_days=2))
    day = path0(res)
    assert day.miner_sell_pressure_btc.iloc[0] == pytest.approx(0.8 * (99 * 3.125 + 45 * 1.5625 + 144 * 0.025),
                                                                 rel=1e-12)


def test_signals_section_defaults_and_bounds():
    s = scenario()
    assert (s.signals.industry_sell_fraction, s.network.network_power_usd_per_mwh, s.network.mix_years) == \
        (0.8, 30.0, 4.0)
    with pytest.raises(Exception, match="industry_sell_fraction"):
        scenario(signals={"industry_sell_fraction": 1.5})
