"""The engine against hand calculations, statistics, properties and determinism."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from simulator import chain
from simulator.config.loader import Document, validate_document
from simulator.engine import simulate
from simulator.hardware import get_profile

from conftest import CONTRACT

D0 = 1.5e14
S19XP = get_profile("antminer-s19-xp")


def scenario(**changes):
    """A deterministic one-cohort scenario (DESIGN.md's closed-form case), with overrides.

    ``changes`` are dotted keys (``network.initial_height``) set on the base document.
    """
    doc = {
        "name": "closed form", "start": "2026-01-01", "horizon_days": 20, "paths": 2, "seed": 1,
        "market": {"btc_price": {"model": "gbm", "initial_usd": 90000.0, "drift_annual": 0.0, "vol_annual": 0.0},
                   "fees": {"model": "constant", "btc_per_block": 0.025}},
        "network": {"initial_difficulty": D0, "initial_height": 930000, "blocks": "expected"},
        "pool": {"payout": "fpps", "fee": 0.0},
        "sites": [{"name": "a", "capacity_mw": 100.0, "cooling_overhead": 0.04,
                   "power": {"contract": "fixed", "price_usd_per_mwh": 42.0}}],
        "fleet": [{"id": "xp", "model": "antminer-s19-xp", "units": 1000, "site": "a", "deployed": "2025-01-01"}],
        "failures": {"enabled": False},
    }
    for key, value in changes.items():
        node = doc
        *head, last = key.split(".")
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return validate_document(Document(doc, {}, {}), "test.yaml")


def daily(res, path=0):
    return res.daily[res.daily.path == path].reset_index(drop=True)


def reward_btc_per_th_day(difficulty, subsidy_btc, fees_btc=0.025):
    return 1e12 * 86400 / (difficulty * 2**32) * (subsidy_btc + fees_btc)


# --------------------------------------------------------------------------- closed form
def test_closed_form_within_an_epoch():
    res = simulate(scenario())
    day = daily(res).iloc[:9]  # the epoch ends on day 9
    ths = 1000 * S19XP.hashrate_ths
    btc = ths * reward_btc_per_th_day(D0, 3.125)
    assert_allclose(day.btc_mined, btc, rtol=1e-9)
    assert_allclose(day.hashprice_usd_per_ph_day, 1e15 * 86400 / (D0 * 2**32) * 3.15 * 90000, rtol=1e-9)
    assert_allclose(day.fleet_power_mw, 1000 * S19XP.power_w / 1e6 * 1.04, rtol=1e-12)
    assert_allclose(day.fleet_hashrate_ehs, ths / 1e6, rtol=1e-12)
    assert_allclose(day.height, 930000 + 144 * (np.arange(9) + 1), rtol=1e-12)
    monthly = res.monthly[res.monthly.path == 0].iloc[0]
    power_mwh = 1000 * S19XP.power_w / 1e6 * 1.04 * 24
    assert_allclose(monthly.power_cost_usd, 20 * power_mwh * 42, rtol=1e-9)
    assert_allclose(monthly.mining_revenue_usd, monthly.btc_mined * 90000, rtol=1e-9)


def test_retarget_is_cores_off_by_one_and_splits_the_day_pro_rata():
    res = simulate(scenario())
    day = daily(res)
    # initial height 930000 is 624 blocks into its epoch; the epoch's last block 931391 is
    # mined 1391 blocks (= 9 days + 95 blocks) after the start at exactly 600 s a block.
    assert_allclose(day.difficulty.iloc[:9], D0, rtol=0)
    d1 = D0 * 2016 / 2015
    assert_allclose(day.difficulty.iloc[9:], d1, rtol=1e-12)
    bits = chain.next_bits(chain.bits_from_difficulty(D0), 0, 2015 * 600)
    assert chain.difficulty_from_bits(bits) == pytest.approx(d1, rel=2**-15)
    ths = 1000 * S19XP.hashrate_ths
    expected = ths * (95 / 144 * reward_btc_per_th_day(D0, 3.125) + 49 / 144 * reward_btc_per_th_day(d1, 3.125))
    assert_allclose(day.btc_mined.iloc[9], expected, rtol=1e-9)
    assert_allclose(day.btc_mined.iloc[10], ths * reward_btc_per_th_day(d1, 3.125), rtol=1e-9)


def test_halving_splits_the_day_subsidy_pro_rata():
    # tip 1,049,900: block 1,049,999 (after which the 1,050,000 subsidy applies) is the 99th of day 0
    res = simulate(scenario(**{"network.initial_height": 1_049_900, "horizon_days": 3}))
    day = daily(res)
    ths = 1000 * S19XP.hashrate_ths
    expected = ths * (99 / 144 * reward_btc_per_th_day(D0, 3.125) + 45 / 144 * reward_btc_per_th_day(D0, 1.5625))
    assert_allclose(day.btc_mined.iloc[0], expected, rtol=1e-9)
    assert_allclose(day.btc_mined.iloc[1], ths * reward_btc_per_th_day(D0, 1.5625), rtol=1e-9)


def test_epoch_start_time_is_used():
    # the epoch in progress began 624 blocks ago, but at twice the pace: timespan shrinks by 624 × 300 s
    res = simulate(scenario(**{"network.epoch_start_time": "2025-12-29T20:00:00Z"}))  # start − 624 × 300 s
    timespan = (624 * 300 + 1391 * 600)
    assert_allclose(daily(res).difficulty.iloc[10], D0 * chain.TARGET_TIMESPAN_S / timespan, rtol=1e-12)


# --------------------------------------------------------------------------- statistics
def test_poisson_blocks_have_mean_and_variance_144():
    res = simulate(scenario(**{"network.blocks": "poisson", "network.initial_height": 929376,
                               "horizon_days": 10, "paths": 300}), keep_paths=300)
    counts = res.daily.pivot(index="date", columns="path", values="height").diff().iloc[1:].to_numpy().ravel()
    se = np.sqrt(144 / counts.size)
    assert abs(counts.mean() - 144) < 5 * se
    assert abs(counts.var(ddof=1) / 144 - 1) < 5 * np.sqrt(2 / counts.size)


def test_retarget_follows_a_hashrate_step():
    implied_ehs = D0 * 2**32 / 600 / 1e18
    res = simulate(scenario(**{"network.initial_height": 929376, "horizon_days": 16,
                               "network.hashrate": {"model": "constant", "initial_ehs": 1.1 * implied_ehs}}))
    # blocks come every 600/1.1 s from the start (the tip is the epoch's first block)
    assert_allclose(daily(res).difficulty.iloc[-1] / D0, 1.1 * 2016 / 2015, rtol=1e-9)


# --------------------------------------------------------------------------- properties
def test_fpps_pays_the_fleet_share_of_expected_rewards():
    res = simulate(scenario(**{"network.hashrate": {"model": "growth", "growth_annual": 0.5}, "horizon_days": 8}))
    day = daily(res)
    share = day.fleet_hashrate_ehs / day.network_hashrate_ehs
    blocks = day.height.diff().fillna(day.height.iloc[0] - 930000)
    assert_allclose(day.btc_mined, share * blocks * 3.15, rtol=1e-9)


def test_more_efficient_hardware_earns_more_per_mwh():
    out = {}
    for model in ("antminer-s19-xp", "antminer-s21-xp", "antminer-s19j-pro"):
        res = simulate(scenario(**{"fleet.0.model": model, "fleet.0.units": 500}))
        m = res.monthly.groupby("path").sum(numeric_only=True).iloc[0]
        out[get_profile(model).power_w / get_profile(model).hashrate_ths] = m.btc_mined / m.energy_mwh
    per_mwh = [out[e] for e in sorted(out)]
    assert per_mwh == sorted(per_mwh, reverse=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_economic_curtailment_never_lowers_the_margin(seed):
    base = {"market.btc_price.vol_annual": 0.9, "horizon_days": 120, "paths": 40, "seed": seed,
            "sites.0.power.price_usd_per_mwh": 70.0, "network.blocks": "poisson"}
    none = simulate(scenario(**base))
    econ = simulate(scenario(**base, **{"sites.0.curtailment": {"policy": "economic"}}))
    margin = lambda r: r.path_metrics["mining_revenue_usd"] - r.path_metrics["power_cost_usd"]  # noqa: E731
    assert (econ.path_metrics["curtailed_mwh"] > 0).any()
    assert np.all(margin(econ) >= margin(none) - 1e-6)


def test_economic_curtailment_at_constant_price_never_raises_power_cost_per_btc():
    base = {"horizon_days": 200, "paths": 5, "sites.0.power.price_usd_per_mwh": 70.0,
            "network.hashrate": {"model": "growth", "growth_annual": 0.8},
            "fleet": [{"model": "antminer-s19j-pro", "units": 1000, "site": "a", "deployed": "2025-01-01"},
                      {"model": "antminer-s21-xp", "units": 1000, "site": "a", "deployed": "2025-01-01"}]}
    none = simulate(scenario(**base)).path_metrics["power_cost_per_btc_usd"]
    econ_res = simulate(scenario(**base, **{"sites.0.curtailment": {"policy": "economic"}}))
    assert (econ_res.path_metrics["curtailed_mwh"] > 0).all()
    assert np.all(econ_res.path_metrics["power_cost_per_btc_usd"] <= none + 1e-9)


def test_power_tax_from_its_date_inclusive():
    base = {"horizon_days": 10}
    plain = daily(simulate(scenario(**base)))
    taxed_res = simulate(scenario(**base, events=[{"kind": "power_tax", "date": "2026-01-05", "site": "a",
                                                    "usd_per_mwh": 5.0}]))
    energy_mwh = 1000 * S19XP.power_w / 1e6 * 1.04 * 24
    m_plain = simulate(scenario(**base)).monthly.iloc[0]
    m_taxed = taxed_res.monthly.iloc[0]
    assert_allclose(m_taxed.power_cost_usd - m_plain.power_cost_usd, 6 * energy_mwh * 5.0, rtol=1e-9)
    assert len(plain) == 10


def test_deliveries_and_retirements_apply_from_their_date():
    res = simulate(scenario(**{"fleet.0.retired": "2026-01-06",
                               "purchases": [{"model": "antminer-s21-xp", "units": 100, "site": "a",
                                              "delivery": "2026-01-03"}]}))
    day = daily(res)
    xp, s21 = 1000 * S19XP.hashrate_ths / 1e6, 100 * get_profile("antminer-s21-xp").hashrate_ths / 1e6
    assert_allclose(day.fleet_hashrate_ehs.iloc[:7], [xp, xp, xp + s21, xp + s21, xp + s21, s21, s21])
    assert res.monthly.iloc[0].units_retired == 1000 and res.monthly.iloc[0].retired_ths == 1000 * S19XP.hashrate_ths


def test_undefined_cost_per_btc_is_null():
    res = simulate(scenario(**{"fleet.0.deployed": "2026-06-01", "horizon_days": 5}))
    stats = res.summary["metrics"]["power_cost_per_btc_usd"]
    assert stats == {"mean": None, "se": None, "p5": None, "p50": None, "p95": None, "defined_paths": 0,
                     "pooled": None}  # a ratio metric's pooled value is null too (issue 16)
    assert res.summary["metrics"]["btc_mined"]["mean"] == 0.0


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_results_and_chunks_equal_whole():
    s = scenario(**{"market.btc_price.vol_annual": 0.6, "network.blocks": "poisson", "paths": 6,
                    "network.hashrate": {"model": "growth", "growth_annual": 0.3, "vol_annual": 0.2},
                    "market.fees": {"model": "lognormal", "btc_per_block": 0.03}, "horizon_days": 400})
    whole = simulate(s, keep_paths=6)
    again = simulate(s, keep_paths=6)
    assert json.dumps(whole.summary) == json.dumps(again.summary)
    parts = [simulate(s, keep_paths=6, path_ids=ids) for ids in ([0, 1, 2], [3, 4, 5])]
    for name, values in whole.path_metrics.items():
        assert np.array_equal(values, np.concatenate([p.path_metrics[name] for p in parts]), equal_nan=True), name
    pd.testing.assert_frame_equal(whole.daily, pd.concat([p.daily for p in parts], ignore_index=True))
    pd.testing.assert_frame_equal(whole.monthly, pd.concat([p.monthly for p in parts], ignore_index=True)
                                  .sort_values(["path", "month"], kind="stable").reset_index(drop=True))
    assert not np.array_equal(whole.path_metrics["btc_mined"], simulate(s, seed=99).path_metrics["btc_mined"])


def test_contract_example_defines_every_metric_on_every_path():
    from simulator.config import load_scenario

    res = simulate(load_scenario(str(CONTRACT)), paths=3)
    for name, stats in res.summary["metrics"].items():
        assert stats["defined_paths"] == 3, name


# --------------------------------------------------------------------------- endogenous network
def endogenous(price_usd, **params):
    return scenario(**{"horizon_days": 60, "market.btc_price.initial_usd": price_usd,
                       "network.hashrate": {"model": "endogenous", **params}})


def test_company_curtailment_does_not_move_the_network():
    base = endogenous(60000.0)
    econ = scenario(**{"horizon_days": 60, "market.btc_price.initial_usd": 60000.0,
                       "network.hashrate": {"model": "endogenous"}, "sites.0.curtailment": {"policy": "economic"},
                       "sites.0.power.price_usd_per_mwh": 200.0})
    a, b = daily(simulate(base)), daily(simulate(econ))
    assert b.curtailed_mwh.sum() > 0
    assert np.array_equal(a.network_hashrate_ehs, b.network_hashrate_ehs)


# --------------------------------------------------------------------------- failures
def test_failure_counts_match_the_binomial():
    from simulator.hardware import daily_failure_probability

    res = simulate(scenario(**{"failures": {"enabled": True, "repair_days": 1, "permanent_fraction": 0.0},
                               "horizon_days": 1, "paths": 4000}))
    failed = res.path_metrics["units_failed"]
    q = float(daily_failure_probability(S19XP.failure_rate_annual))
    mean, var = 1000 * q, 1000 * q * (1 - q)
    assert abs(failed.mean() - mean) < 5 * np.sqrt(var / failed.size)
    assert abs(failed.var(ddof=1) / var - 1) < 5 * np.sqrt(2 / failed.size) * 1.5  # Poisson-like kurtosis slack
    assert res.path_metrics["repair_cost_usd"] == pytest.approx(failed * 150.0)


def test_repairs_return_and_permanent_losses_leave():
    res = simulate(scenario(**{"failures": {"enabled": True, "repair_days": 5, "permanent_fraction": 0.5},
                               "horizon_days": 120, "fleet.0.units": 20000}), keep_paths=1)
    day = daily(res)
    nameplate = 20000 * S19XP.hashrate_ths / 1e6
    running = day.btc_mined / (day.fleet_hashrate_ehs * 1e6 * reward_btc_per_th_day(D0, 3.125))
    assert day.fleet_hashrate_ehs.iloc[-1] < nameplate  # permanent losses leave the installed base
    assert (np.diff(day.fleet_hashrate_ehs) <= 0).all()
    assert (running.iloc[:9] < 1).all() and (running.iloc[:9] > 0.99).all()  # failed units are energised, not running


def test_failures_are_off_when_disabled():
    res = simulate(scenario(**{"horizon_days": 30}))
    assert res.path_metrics["units_failed"].sum() == 0


# --------------------------------------------------------------------------- events
def with_events(*events, **changes):
    return daily(simulate(scenario(horizon_days=8, events=list(events), **changes)))


def test_outage_takes_the_site_offline():
    day = with_events({"kind": "outage", "date": "2026-01-03", "site": "a", "days": 3})
    assert (day.btc_mined.iloc[2:5] == 0).all() and (day.fleet_power_mw.iloc[2:5] == 0).all()
    assert (day.curtailed_mwh == 0).all() and (day.btc_mined.iloc[[0, 1, 5]] > 0).all()


def test_price_shock_moves_the_level_from_its_date():
    day = with_events({"kind": "price_shock", "date": "2026-01-04", "change_pct": -30})
    assert_allclose(day.btc_price_usd, [90000] * 3 + [63000] * 5, rtol=1e-12)


def test_hashrate_shock_cuts_network_hashrate_and_blocks():
    day = with_events({"kind": "hashrate_shock", "date": "2026-01-04", "change_pct": -50})
    h0 = D0 * 2**32 / 600 / 1e18
    assert_allclose(day.network_hashrate_ehs, [h0] * 3 + [h0 / 2] * 5, rtol=1e-12)
    assert_allclose(day.height.diff().iloc[1:], [144, 144, 72, 72, 72, 72, 72], rtol=1e-9)
    endo = with_events({"kind": "hashrate_shock", "date": "2026-01-04", "change_pct": -50},
                       **{"network.hashrate": {"model": "endogenous"}, "market.btc_price.initial_usd": 20000.0})
    assert endo.network_hashrate_ehs.iloc[3] == pytest.approx(endo.network_hashrate_ehs.iloc[2] / 2, rel=0.01)


def test_fee_spike_raises_fees_for_its_days():
    day = with_events({"kind": "fee_spike", "date": "2026-01-02", "days": 2, "btc_per_block": 1.0})
    ths = 1000 * S19XP.hashrate_ths
    assert_allclose(day.btc_mined.iloc[1:3], ths * reward_btc_per_th_day(D0, 3.125, fees_btc=1.0), rtol=1e-9)
    assert_allclose(day.btc_mined.iloc[[0, 3]], ths * reward_btc_per_th_day(D0, 3.125), rtol=1e-9)


# --------------------------------------------------------------------------- pools
def test_pplns_and_solo_equal_fpps_in_expected_mode():
    fpps = simulate(scenario()).path_metrics["btc_mined"]
    for payout in ({"payout": "pplns", "hashrate_ehs": 50.0, "fee": 0.0}, {"payout": "solo", "fee": 0.0}):
        assert_allclose(simulate(scenario(pool=payout)).path_metrics["btc_mined"], fpps, rtol=1e-12)


def test_luck_passes_through_pplns_and_solo_but_not_fpps():
    base = {"network.blocks": "poisson", "network.initial_height": 929376, "horizon_days": 10, "paths": 400,
            "fleet.0.units": 20000}
    fpps = simulate(scenario(**base)).path_metrics["btc_mined"]
    pplns = simulate(scenario(pool={"payout": "pplns", "hashrate_ehs": 100.0}, **base)).path_metrics["btc_mined"]
    solo = simulate(scenario(pool={"payout": "solo"}, **base)).path_metrics["btc_mined"]
    assert np.ptp(fpps) < 1e-9 * fpps.mean()  # within an epoch at a constant price FPPS has no luck
    for paid in (pplns, solo):
        assert abs(paid.mean() - fpps[0]) < 5 * paid.std(ddof=1) / np.sqrt(paid.size)
    assert solo.std() > pplns.std() > 0  # a smaller finder of blocks has more variance


def test_index_site_pays_hourly_prices_and_curtails_spikes():
    index = {"contract": "index", "mean_usd_per_mwh": 80.0, "vol_daily": 0.3, "spike_probability": 0.02}
    base = {"sites.0.power": index, "horizon_days": 60, "paths": 20}
    none = simulate(scenario(**base))
    econ = simulate(scenario(**base, **{"sites.0.curtailment": {"policy": "economic"}}))
    energy = none.monthly.groupby("path").energy_mwh.sum()
    avg_price = none.monthly.groupby("path").power_cost_usd.sum() / energy
    assert avg_price.mean() == pytest.approx(80.0, rel=0.15)  # all-in mean (issue 17): base 40 + spikes p × 2,000
    assert (econ.path_metrics["curtailed_mwh"] > 0).all()
    margin = lambda r: r.path_metrics["mining_revenue_usd"] - r.path_metrics["power_cost_usd"]  # noqa: E731
    assert np.all(margin(econ) > margin(none))


# --------------------------------------------------------------------------- PPA and power credits
def ppa(index_usd_per_mwh, **extra):
    return {"contract": "ppa", "price_usd_per_mwh": 30.0, "block_mw": 50.0,
            "index": {"mean_usd_per_mwh": index_usd_per_mwh, "shape": "flat"}, **extra}


def test_ppa_above_mining_value_sells_the_whole_block_back():
    # hashprice ≈ 38 USD/PH/day is worth ≈ 70 USD/MWh to an S19 XP; the index pays 200
    res = simulate(scenario(**{"sites.0.power": ppa(200.0), "sites.0.curtailment": {"policy": "economic"}}))
    m = res.monthly[res.monthly.path == 0].sum(numeric_only=True)
    assert m.energy_mwh == 0 and m.btc_mined == 0
    unused_mwh = 50.0 * 24 * 20
    assert_allclose(m.power_credit_usd, unused_mwh * 200.0, rtol=1e-9)
    assert_allclose(m.power_cost_usd, unused_mwh * 30.0, rtol=1e-9)
    assert res.summary["metrics"]["power_cost_per_btc_usd"]["defined_paths"] == 0


def test_ppa_below_mining_value_mines_and_sells_the_rest():
    res = simulate(scenario(**{"sites.0.power": ppa(40.0), "sites.0.curtailment": {"policy": "economic"}}))
    m = res.monthly[res.monthly.path == 0].sum(numeric_only=True)
    used_mw = 1000 * S19XP.power_w / 1e6 * 1.04
    assert_allclose(m.energy_mwh, used_mw * 24 * 20, rtol=1e-12)
    assert_allclose(m.power_credit_usd, (50.0 - used_mw) * 24 * 20 * 40.0, rtol=1e-9)
    assert_allclose(m.power_cost_usd, 50.0 * 24 * 20 * 30.0, rtol=1e-9)
    assert_allclose(res.path_metrics["power_cost_per_btc_usd"], (m.power_cost_usd - m.power_credit_usd) / m.btc_mined)


def test_ppa_escalates_and_expires():
    res = simulate(scenario(**{"sites.0.power": ppa(40.0, escalator_annual=0.10, expiry="2026-01-10"),
                               "horizon_days": 12}))
    day = res.daily[res.daily.path == 0]
    assert len(day) == 12
    m = res.monthly.iloc[0]
    used_mw = 1000 * S19XP.power_w / 1e6 * 1.04
    in_ppa = sum(50.0 * 24 * 30.0 * 1.1 ** (d / 365) for d in range(10))
    after = 2 * used_mw * 24 * 40.0
    assert_allclose(m.power_cost_usd, in_ppa + after, rtol=1e-9)


def test_ercot_example_books_power_credits_mostly_in_summer():
    from simulator.config import load_scenario

    from conftest import SCENARIOS

    res = simulate(load_scenario(str(SCENARIOS / "ercot_curtailment.yaml")), paths=30)
    by_month = res.monthly.groupby(pd.to_datetime(res.monthly.month).dt.month).power_credit_usd.mean()
    assert (by_month > 0).all()
    assert by_month.loc[[6, 7, 8, 9]].mean() > 1.2 * by_month.loc[[3, 4]].mean()
    assert res.summary["metrics"]["power_credit_usd"]["mean"] > 0


def test_a_company_with_no_machines_yet_runs():
    res = simulate(scenario(**{"fleet": [], "failures": {"enabled": True}, "horizon_days": 5}))
    assert res.path_metrics["btc_mined"].sum() == 0
    assert res.summary["metrics"]["btc_per_ehs_day"]["defined_paths"] == 0


# --------------------------------------------------------------------------- tuning and temperature
def test_static_underclock_follows_the_tuning_curve():
    res = simulate(scenario(**{"fleet.0.tuning": 0.8, "horizon_days": 5}))
    day = daily(res)
    assert_allclose(day.btc_mined.iloc[0], 0.8 * 1000 * S19XP.hashrate_ths * reward_btc_per_th_day(D0, 3.125),
                    rtol=1e-9)
    assert_allclose(day.fleet_power_mw.iloc[0], 1000 * S19XP.power_w * 0.8**S19XP.tuning.k_under / 1e6 * 1.04,
                    rtol=1e-12)


def test_tuning_outside_the_profile_range_is_refused():
    from simulator.errors import InputErrors

    with pytest.raises(InputErrors, match=r"fleet\[0\]\.tuning: 1.5 is outside antminer-s19-xp's tuning range"):
        scenario(**{"fleet.0.tuning": 1.5})


def test_hot_site_derates_air_machines():
    cool = daily(simulate(scenario(**{"sites.0.ambient_c": [20.0] * 12, "horizon_days": 5})))
    hot = daily(simulate(scenario(**{"sites.0.ambient_c": [S19XP.inlet_limit_c + 1] * 12, "horizon_days": 5})))
    shut = daily(simulate(scenario(**{"sites.0.ambient_c": [S19XP.shutdown_c] * 12, "horizon_days": 5})))
    assert_allclose(hot.btc_mined, 0.9 * cool.btc_mined, rtol=1e-12)
    assert (shut.btc_mined == 0).all() and (shut.fleet_power_mw == 0).all()
    assert_allclose(shut.fleet_hashrate_ehs, cool.fleet_hashrate_ehs)  # still installed


# --------------------------------------------------------------------------- demand response and 4CP
def test_demand_response_sheds_its_commitment_and_is_paid_for_availability():
    dr = {"committed_mw": 1.0, "availability_usd_per_mw_month": 6000.0, "call_probability": 1.0,
          "summer_call_multiplier": 1.0}
    res = simulate(scenario(**{"sites.0.demand_response": dr, "horizon_days": 10}))
    m = res.monthly.iloc[0]
    facility_mw = 1000 * S19XP.power_w / 1e6 * 1.04
    assert_allclose(m.energy_mwh, (facility_mw - 1.0) * 24 * 10, rtol=1e-9)
    assert_allclose(m.curtailed_mwh, 1.0 * 24 * 10, rtol=1e-9)
    assert_allclose(m.demand_response_credit_usd, 1.0 * 6000.0 * 12 / 365 * 10, rtol=1e-12)
    never = simulate(scenario(**{"sites.0.demand_response": {**dr, "call_probability": 0.0}, "horizon_days": 10}))
    assert never.monthly.iloc[0].curtailed_mwh == 0


def test_four_cp_avoidance_cuts_next_years_transmission_charge():
    base = {"start": "2026-05-25", "horizon_days": 240}
    facility_mw = 1000 * S19XP.power_w / 1e6 * 1.04
    fcp = {"transmission_usd_per_kw_year": 50.0}
    avoid = simulate(scenario(**base, **{"sites.0.four_cp": {**fcp, "avoid": True}}))
    keep = simulate(scenario(**base, **{"sites.0.four_cp": {**fcp, "avoid": False}}))
    per_day_prior = 50.0 * 1000 * facility_mw / 365
    for res in (avoid, keep):  # 2026 is charged on the load at the start
        m = res.monthly[(res.monthly.path == 0) & (res.monthly.month == dt.date(2026, 7, 1))].iloc[0]
        assert_allclose(m.transmission_charge_usd, per_day_prior * 31, rtol=1e-9)
    jan = lambda r: r.monthly[(r.monthly.path == 0) & (r.monthly.month == dt.date(2027, 1, 1))].iloc[0]  # noqa: E731
    assert jan(avoid).transmission_charge_usd == 0  # no load in any summer peak interval
    assert_allclose(jan(keep).transmission_charge_usd, per_day_prior * 19, rtol=1e-9)  # 2027-01-01 … 01-19
    assert avoid.path_metrics["curtailed_mwh"][0] > 0 == keep.path_metrics["curtailed_mwh"][0]


# --------------------------------------------------------------------------- hosting and expansions
def test_hosted_cohort_pays_the_all_in_price_and_uses_no_site():
    hosted = {"model": "antminer-s19-xp", "units": 1000, "deployed": "2025-01-01",
              "hosted_at": {"host": "Compass", "price_usd_per_kwh": 0.078}}
    own = simulate(scenario(**{"horizon_days": 5}))
    res = simulate(scenario(**{"horizon_days": 5, "fleet": [hosted]}))
    m, m_own = res.monthly.iloc[0], own.monthly.iloc[0]
    assert_allclose(m.btc_mined, m_own.btc_mined, rtol=1e-12)
    it_mwh = 1000 * S19XP.power_w / 1e6 * 24 * 5
    assert_allclose(m.hosting_cost_usd, it_mwh * 1000 * 0.078, rtol=1e-12)
    assert m.power_cost_usd == 0 and m.site_opex_usd == 0
    direct = res.summary["metrics"]["direct_cost_per_btc_usd"]["mean"]
    assert direct == pytest.approx(m.hosting_cost_usd / m.btc_mined)


def test_site_hosting_earns_its_price_and_keeps_mining_cost_apart():
    plain = simulate(scenario(**{"horizon_days": 5})).monthly.iloc[0]
    host = simulate(scenario(**{"horizon_days": 5, "sites.0.hosting": {"mw": 20.0, "price_usd_per_kwh": 0.07}}))
    m = host.monthly.iloc[0]
    assert_allclose(m.hosting_revenue_usd, 20 * 24 * 5 * 1000 * 0.07, rtol=1e-12)
    assert_allclose(m.hosting_power_cost_usd, 20 * 24 * 5 * 42.0, rtol=1e-12)
    assert_allclose(m.power_cost_usd, plain.power_cost_usd, rtol=1e-12)


def test_site_hosting_counts_against_capacity():
    from simulator.errors import InputErrors

    with pytest.raises(InputErrors, match=r"sites\[0\]\.hosting: site 'a' would draw .* hosting load"):
        scenario(**{"sites.0.hosting": {"mw": 99.0, "price_usd_per_kwh": 0.07}})


def test_expansion_adds_capacity_opex_and_capex_on_its_schedule():
    from simulator.errors import InputErrors

    big = [{"model": "antminer-s21-xp", "units": 30000, "site": "a", "delivery": "2026-01-15"}]
    with pytest.raises(InputErrors, match=r"capacity is 100 MW then"):
        scenario(**{"purchases": big, "sites.0.opex_usd_per_mw_year": 36500.0})
    expansion = {"date": "2026-01-11", "mw": 50.0, "capex_usd_per_mw": 1.0e6, "build_months": 1.0}
    res = simulate(scenario(**{"purchases": big, "sites.0.expansions": [expansion],
                               "sites.0.opex_usd_per_mw_year": 36500.0, "horizon_days": 20}))
    m = res.monthly.iloc[0]
    assert_allclose(m.site_opex_usd, 100 * 100 * 10 + 150 * 100 * 10, rtol=1e-12)  # 100 USD/MW/day
    build_days = round(365 / 12)
    assert_allclose(m.expansion_capex_usd, 50e6 * 11 / build_days, rtol=1e-12)  # days 0 … 10 of the build


# --------------------------------------------------------------------------- stop and retire policies
def losing_then_winning():
    # the S19 XP's breakeven is ≈ 70 USD/MWh at 90,000 USD; a 40 % price jump on day 10 makes it pay again
    return {"sites.0.power.price_usd_per_mwh": 80.0, "horizon_days": 20,
            "events": [{"kind": "price_shock", "date": "2026-01-11", "change_pct": 40}]}


def test_stop_policy_switches_off_after_n_losing_days_and_back_on():
    day = daily(simulate(scenario(**losing_then_winning(), policies={"stop": {"negative_margin_days": 3}})))
    assert (day.btc_mined.iloc[:2] > 0).all() and (day.btc_mined.iloc[2:10] == 0).all()
    assert (day.btc_mined.iloc[10:] > 0).all()
    assert (day.fleet_hashrate_ehs == day.fleet_hashrate_ehs.iloc[0]).all()  # stopped, still installed


def test_retire_policy_removes_the_cohort_for_good():
    res = simulate(scenario(**losing_then_winning(), policies={"retire": {"negative_margin_days": 5}}))
    day = daily(res)
    assert (day.btc_mined.iloc[:4] > 0).all() and (day.btc_mined.iloc[4:] == 0).all()
    assert (day.fleet_hashrate_ehs.iloc[4:] == 0).all()
    assert res.path_metrics["units_retired"][0] == 1000
    from simulator.market.asic_price import asic_price_usd_per_th
    retire_day = day.iloc[4]
    assert res.path_metrics["resale_value_usd"][0] == pytest.approx(
        1000 * S19XP.hashrate_ths * asic_price_usd_per_th(retire_day.hashprice_usd_per_ph_day,
                                                          S19XP.power_w / S19XP.hashrate_ths))


def test_power_correlation_links_index_sites():
    from simulator.config import load_scenario
    from simulator.market.registry import power_model as _power_model
    from simulator.rng import PathStreams

    from conftest import CONTRACT

    def log_base_shocks(rho):
        # Both sites on AR(1) bases of equal reversion: only then do the day-to-day changes of
        # the log bases correlate exactly as their innovations (rho); the contract's second site
        # would otherwise take the ercot_hub profile's faster reversion.
        index = "{contract: index, mean_usd_per_mwh: 40, vol_daily: 0.3}"
        s = load_scenario(str(CONTRACT), [f"market.power_correlation={rho}", f"sites[0].power={index}",
                                          f"sites[1].power={index}"])
        ids = np.arange(400)
        out = []
        for i, site in enumerate(s.sites):
            model = _power_model(s, site)
            detail, _ = model.draw(model.start(PathStreams(7, f"power:{i}", ids)), 0, 30,
                                   PathStreams(7, f"power:{i}", ids), PathStreams(7, "power_common", ids))
            out.append(np.diff(np.log(detail.base_usd_per_mwh), axis=0).ravel())
        return np.corrcoef(out[0], out[1])[0, 1]

    assert abs(log_base_shocks(0.0)) < 0.05
    assert log_base_shocks(0.6) == pytest.approx(0.6, abs=0.05)


def test_hourly_ambient_profile_derates_the_hot_hours():
    hot_afternoons = [[S19XP.inlet_limit_c + 2] * 12 if h in (20, 21, 22) else [25.0] * 12 for h in range(24)]
    day = daily(simulate(scenario(**{"sites.0.ambient_hourly_c": hot_afternoons, "horizon_days": 3})))
    cool = daily(simulate(scenario(**{"horizon_days": 3})))
    assert_allclose(day.btc_mined, cool.btc_mined * (21 + 3 * 0.9) / 24, rtol=1e-12)


def test_csv_network_hashrate_drives_the_blocks(tmp_path):
    # regression: a csv hashrate model has no initial_ehs, which the start-of-run digest read
    from simulator.config.digest import digest

    implied_ehs = chain.hashrate_hs_from_difficulty(D0) / 1e18
    values = [implied_ehs, 1.1 * implied_ehs, 0.9 * implied_ehs]
    csv = tmp_path / "hashrate.csv"
    csv.write_text("date,hashrate_ehs\n" + "".join(f"2026-01-0{i + 1},{v!r}\n" for i, v in enumerate(values)))
    s = scenario(**{"horizon_days": 3, "network.hashrate": {"model": "csv", "file": str(csv)}})
    assert "network" in digest(s)
    day = daily(simulate(s))
    assert_allclose(day.network_hashrate_ehs, values, rtol=1e-12)
    assert_allclose(day.height.diff().fillna(day.height.iloc[0] - 930000), [144 * v / implied_ehs for v in values],
                    rtol=1e-9)


# --------------------------------------------------------------------------- issue 17: operations like a mine
def test_power_tax_dated_on_the_start_day_applies_on_day_0():
    # issue 17 item 2: 5 USD/MWh on a fixed 40 USD/MWh site over 45 days is exactly +12.5 % (5 / 40)
    base = {"horizon_days": 45, "sites.0.power.price_usd_per_mwh": 40.0}
    plain = simulate(scenario(**base)).path_metrics["power_cost_usd"]
    tax = [{"kind": "power_tax", "date": "2026-01-01", "site": "a", "usd_per_mwh": 5.0}]
    taxed = simulate(scenario(**base, events=tax)).path_metrics["power_cost_usd"]
    assert_allclose(taxed / plain, 1.125, rtol=1e-12)


def test_two_events_on_one_later_date_both_apply_from_that_day():
    base = {"horizon_days": 10, "sites.0.power.price_usd_per_mwh": 40.0}
    taxes = [{"kind": "power_tax", "date": "2026-01-05", "site": "a", "usd_per_mwh": 2.0},
             {"kind": "power_tax", "date": "2026-01-05", "site": "a", "usd_per_mwh": 3.0}]
    plain = simulate(scenario(**base)).path_metrics["power_cost_usd"]
    taxed = simulate(scenario(**base, events=taxes)).path_metrics["power_cost_usd"]
    energy_mwh = 1000 * S19XP.power_w / 1e6 * 1.04 * 24
    assert_allclose(taxed - plain, 6 * energy_mwh * 5.0, rtol=1e-9)  # days 4 … 9, both taxes


def index_fleet(curtailment="economic", **extra):
    """Issue 17's reproduction: 12,000 S19 XP on an index site (mean 38, vol 0.35, spikes 1 %/h), flat BTC."""
    return {"horizon_days": 60, "paths": 20, "seed": 3, "network.blocks": "poisson",
            "sites.0.power": {"contract": "index", "mean_usd_per_mwh": 38.0, "vol_daily": 0.35,
                              "spike_probability": 0.01},
            "sites.0.curtailment": {"policy": curtailment},
            "fleet.0.units": 12000, **extra}


def net_power_margin(res):
    m = res.path_metrics
    return m["mining_revenue_usd"] - m["power_cost_usd"] + m["power_credit_usd"]


def test_stop_and_retire_leave_a_curtailed_index_fleet_alone():
    # issue 17 item 1: the old rule (breakeven below the day's mean index price) cut the margin by
    # 20 % with stop after 1 day and retired all 12,000 units on all 20 paths within two months
    plain = simulate(scenario(**index_fleet()))
    stop = simulate(scenario(**index_fleet(), policies={"stop": {"negative_margin_days": 1}}))
    retire = simulate(scenario(**index_fleet(), policies={"retire": {"negative_margin_days": 3}}))
    assert (plain.path_metrics["curtailed_mwh"] > 0).all()  # spikes are curtailed on every path
    assert_allclose(net_power_margin(stop), net_power_margin(plain), rtol=1e-12)
    assert (retire.path_metrics["units_retired"] == 0).all()
    assert_allclose(net_power_margin(retire), net_power_margin(plain), rtol=1e-12)


def test_stop_without_curtailment_switches_off_the_losing_days_only():
    # without curtailment a spike hour (2,000 USD/MWh) or a dear day costs more than an S19 XP
    # earns that day: stop after 1 losing day takes those days off and so raises the margin
    plain = simulate(scenario(**index_fleet("none")))
    stop = simulate(scenario(**index_fleet("none"), policies={"stop": {"negative_margin_days": 1}}))
    assert (net_power_margin(stop) >= net_power_margin(plain) - 1e-6).all()
    assert (net_power_margin(stop) > net_power_margin(plain)).any()
    assert (stop.path_metrics["btc_mined"] < plain.path_metrics["btc_mined"]).all()
    assert (stop.path_metrics["btc_mined"] > 0.3 * plain.path_metrics["btc_mined"]).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), mean=st.sampled_from([25.0, 45.0, 70.0]), days=st.integers(1, 4),
       contract=st.sampled_from(["index", "fixed"]), model=st.sampled_from(["antminer-s19j-pro", "antminer-s21"]))
def test_adding_stop_never_lowers_the_economic_margin(seed, mean, days, contract, model):
    # issue 17's property: economic curtailment, no avoidable fixed costs, flat BTC
    power = ({"contract": "index", "mean_usd_per_mwh": mean, "vol_daily": 0.35, "spike_probability": 0.01}
             if contract == "index" else {"contract": "fixed", "price_usd_per_mwh": mean})
    base = {"horizon_days": 20, "paths": 3, "seed": seed, "sites.0.power": power,
            "sites.0.curtailment": {"policy": "economic"},
            "fleet": [{"model": "antminer-s19-xp", "units": 1000, "site": "a", "deployed": "2025-01-01"},
                      {"model": model, "units": 1000, "site": "a", "deployed": "2025-01-01"}]}
    plain = simulate(scenario(**base))
    stop = simulate(scenario(**base, policies={"stop": {"negative_margin_days": days}}))
    assert (net_power_margin(stop) >= net_power_margin(plain) - 1e-6 * np.abs(net_power_margin(plain))).all()


def test_dynamic_underclocking_is_not_curtailment():
    # issue 17 item 3: 10,000 S21 on dynamic tuning at a fixed 60 USD/MWh run every hour
    s21 = get_profile("antminer-s21")
    res = simulate(scenario(**{"horizon_days": 3, "sites.0.power.price_usd_per_mwh": 60.0,
                               "fleet": [{"model": "antminer-s21", "units": 10000, "site": "a",
                                          "deployed": "2025-01-01", "tuning": "dynamic"}]}))
    day = daily(res)
    assert (day.curtailed_mwh == 0).all()
    # the closed-form setting (site.dispatch_day_tuned): f = (r / k_under)^(1 / (k_under − 1)), r = v T / (c M)
    v = day.hashprice_usd_per_ph_day.iloc[0] / 1000 / 24
    r = v * s21.hashrate_ths / (60.0 * 1.04 * s21.power_w / 1e6)
    f = (r / s21.tuning.k_under) ** (1 / (s21.tuning.k_under - 1))
    assert s21.tuning.min_fraction < f < 1
    stock_mwh = 10000 * s21.power_w / 1e6 * 1.04 * 24
    assert_allclose(day.underclocked_mwh.iloc[0], stock_mwh * (1 - f ** s21.tuning.k_under), rtol=1e-9)
    assert_allclose(day.fleet_power_mw.iloc[0] * 24 + day.underclocked_mwh.iloc[0], stock_mwh, rtol=1e-12)
    assert res.summary["metrics"]["underclocked_mwh"]["mean"] == pytest.approx(day.underclocked_mwh.sum())
    assert res.monthly.iloc[0].underclocked_mwh == pytest.approx(day.underclocked_mwh.sum())


def ppa_take(index_usd_per_mwh, take, policy="economic"):
    return {"sites.0.power": ppa(index_usd_per_mwh, min_take_fraction=take, block_mw=50.0),
            "sites.0.curtailment": {"policy": policy, "hours_off": list(range(24))}, "fleet.0.units": 12000}


def test_ppa_between_minimum_take_and_block_dispatches_on_the_ppa_price():
    # issue 17 item 4: 12,000 S19 XP draw 37.6 MW, between T = 25 MW and B = 50 MW. The index (80)
    # is above their breakeven (≈ 70) but below T the energy is worth the index and above it
    # costs the PPA's 30: running everything nets more than switching off
    facility_mw = 12000 * S19XP.power_w / 1e6 * 1.04
    runs = simulate(scenario(**ppa_take(80.0, 0.5)))
    off = simulate(scenario(**ppa_take(80.0, 0.5, "schedule")))
    on = simulate(scenario(**ppa_take(80.0, 0.5, "none")))
    assert_allclose(runs.monthly.iloc[0].energy_mwh, facility_mw * 24 * 20, rtol=1e-12)
    assert_allclose(net_power_margin(runs), net_power_margin(on), rtol=1e-12)
    assert (net_power_margin(runs) > net_power_margin(off)).all()
    # with the whole block take-or-pay the marginal cost is the index everywhere: switch off
    full = simulate(scenario(**ppa_take(80.0, 1.0)))
    assert full.monthly.iloc[0].energy_mwh == 0


def test_ppa_load_below_the_minimum_take_dispatches_on_the_index():
    # T = 45 MW > 37.6 MW: every MWh used is a MWh not sold at the index (80 > breakeven): off
    res = simulate(scenario(**ppa_take(80.0, 0.9)))
    assert res.monthly.iloc[0].energy_mwh == 0


def test_demand_response_calls_shed_load_in_the_dearest_hours():
    # issue 17 item 5: at an index site with 1 %/h spikes the day's call hours land on its spikes,
    # so each MWh shed saves far more than the average MWh costs (random hours would save the average)
    base = index_fleet("none", **{"horizon_days": 30, "paths": 10, "fleet.0.units": 1000})
    dr = {"committed_mw": 1.0, "availability_usd_per_mw_month": 0.0, "call_probability": 0.02,
          "summer_call_multiplier": 1.0}
    plain = simulate(scenario(**base)).path_metrics
    called = simulate(scenario(**base, **{"sites.0.demand_response": dr})).path_metrics
    saved_usd_per_mwh = (plain["power_cost_usd"] - called["power_cost_usd"]).sum() / called["curtailed_mwh"].sum()
    mean_usd_per_mwh = plain["power_cost_usd"].sum() / (1000 * S19XP.power_w / 1e6 * 1.04 * 24 * 30 * 10)
    assert saved_usd_per_mwh > 3 * mean_usd_per_mwh  # measured: 324 against 60 (random hours: 42)


@pytest.mark.parametrize("index_usd_per_mwh", [70.0, 80.0, 86.0, 88.0, 95.0])
def test_ppa_dispatch_counts_the_hosted_load_that_fills_the_contract_first(index_usd_per_mwh):
    # 40 MW of hosted clients run every hour and take the first 40 MW of the block (T = 25, B = 50):
    # mining meets the PPA price only on 10 MW and the index on the rest. Economic dispatch must
    # do at least as well for the company as running everything or nothing
    def company_margin(policy):
        res = simulate(scenario(**ppa_take(index_usd_per_mwh, 0.5, policy),
                                **{"sites.0.hosting": {"mw": 40.0, "price_usd_per_kwh": 0.07}}))
        return net_power_margin(res) - res.path_metrics["hosting_power_cost_usd"]

    best = company_margin("economic")
    assert (best >= np.maximum(company_margin("none"), company_margin("schedule")) - 1e-6).all()


def test_a_finished_simulation_is_freed_without_the_cycle_collector(monkeypatch):
    """Actors waiting past the horizon are closed at the end of the run, so nothing but the caller's
    results keeps the simulation's arrays: they are freed as simulate returns, not at a later GC pass
    (back-to-back runs in one process, as compare's workers make, reuse that memory)."""
    import gc
    import weakref

    from simulator import engine
    from simulator.config import load_scenario
    seen = []
    run = engine._Simulation.run
    monkeypatch.setattr(engine._Simulation, "run", lambda self, *a, **k: seen.append(weakref.ref(self)) or run(self, *a, **k))
    scenario = load_scenario("scenarios/contract_example.yaml")
    gc.disable()
    try:
        result = simulate(scenario, paths=4, keep_paths=1, workers=1)
        assert seen and seen[0]() is None
    finally:
        gc.enable()
    assert len(result.monthly) > 0
