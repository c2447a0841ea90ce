"""Hourly dispatch of a site's cohorts against a brute-force reference and policy rules."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from simulator.config.schema import Curtailment
from simulator.hardware import breakeven_power_usd_per_mwh
from simulator.site import dispatch_day, dispatch_day_tuned, energy_bill


def brute_force(policy, hashprice, price, tax, fee, overhead, eff, ths, mw, uptime=0.9, hours_off=()):
    """Cohort by cohort, hour by hour, path by path: the obvious loops."""
    c_n, p_n = ths.shape
    running_ths, energy, cost = np.zeros(p_n), np.zeros(p_n), np.zeros(p_n)
    for p in range(p_n):
        cheapest = set(np.argsort(price[:, p], kind="stable")[: int(np.ceil(uptime * 24))])
        for h in range(24):
            for c in range(c_n):
                be = breakeven_power_usd_per_mwh(hashprice[p], eff[c], fee, overhead, tax)
                run = {"none": True, "economic": be >= price[h, p] or price[h, p] + tax <= 0,
                       "schedule": h not in hours_off,
                       "uptime_target": h in cheapest or be >= price[h, p] or price[h, p] + tax <= 0}[policy]
                if run:
                    running_ths[p] += ths[c, p] / 24
                    energy[p] += mw[c, p] * (1 + overhead)
                    cost[p] += mw[c, p] * (1 + overhead) * (price[h, p] + tax)
    return running_ths, energy, cost


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["none", "economic", "schedule", "uptime_target"]),
       tax=st.sampled_from([0.0, 5.0]), fee=st.sampled_from([0.0, 0.02]))
def test_dispatch_matches_brute_force(seed, policy, tax, fee):
    rng = np.random.default_rng(seed)
    cohorts, paths = 4, 3
    eff = np.sort(rng.uniform(12, 35, cohorts))
    units_ = rng.integers(0, 1000, (cohorts, paths)).astype(float)
    ths, mw = units_ * 200, units_ * 200 * eff[:, None] / 1e6
    hashprice = rng.uniform(20, 70, paths)
    price = rng.normal(60, 40, (24, paths))
    cfg = Curtailment(policy=policy, hours_off=(0, 5, 23), uptime=0.75)
    got = dispatch_day(cfg, hashprice, price, tax, fee, 0.05, eff, ths, mw)
    want = brute_force(policy, hashprice, price, tax, fee, 0.05, eff, ths, mw, uptime=0.75, hours_off=(0, 5, 23))
    assert_allclose(got.running_ths, want[0], rtol=1e-12, atol=1e-9)
    assert_allclose(got.energy_mwh, want[1], rtol=1e-12, atol=1e-9)
    cost = energy_bill(None, got.energy_hourly_mwh, price, tax).power_cost_usd
    assert_allclose(cost, want[2], rtol=1e-12, atol=1e-6)
    assert_allclose(got.curtailed_mwh, mw.sum(0) * 1.05 * 24 - want[1], rtol=1e-9, atol=1e-9)


def test_economic_at_a_price_below_every_breakeven_curtails_nothing():
    eff = np.array([15.0, 25.0])
    ths = np.array([[1000.0], [1000.0]])
    mw = ths * eff[:, None] / 1e6
    be = breakeven_power_usd_per_mwh(50.0, 25.0, 0.02, 0.05)
    price = np.full((24, 1), be - 0.01)
    run = dispatch_day(Curtailment(policy="economic"), np.array([50.0]), price, 0.0, 0.02, 0.05, eff, ths, mw)
    assert run.curtailed_mwh[0] == pytest.approx(0.0, abs=1e-12)
    run = dispatch_day(Curtailment(policy="economic"), np.array([50.0]), price + 0.02, 0.0, 0.02, 0.05, eff, ths, mw)
    assert run.curtailed_mwh[0] == pytest.approx(mw[1, 0] * 1.05 * 24)


def test_uptime_target_runs_the_cheapest_hours_even_at_a_loss():
    eff, ths = np.array([30.0]), np.array([[100.0]])
    price = np.arange(24, dtype=float)[:, None] * 10 + 1000  # far above breakeven
    run = dispatch_day(Curtailment(policy="uptime_target", uptime=0.9), np.array([40.0]), price, 0.0, 0.0, 0.0,
                       eff, ths, ths * 30 / 1e6)
    assert run.running_ths[0] == pytest.approx(100.0 * 22 / 24)
    cost = energy_bill(None, run.energy_hourly_mwh, price, 0.0).power_cost_usd
    assert cost[0] == pytest.approx(100 * 30 / 1e6 * sum(1000 + 10 * h for h in range(22)))


def _random_site(seed, cohorts=4, paths=3):
    rng = np.random.default_rng(seed)
    eff = np.sort(rng.uniform(12, 35, cohorts))
    units_ = rng.integers(0, 1000, (cohorts, paths)).astype(float)
    ths = units_ * 200
    return (eff, ths, ths * eff[:, None] / 1e6, rng.uniform(20, 70, paths), rng.normal(60, 40, (24, paths)))


def _tuned(cfg, hp, price, tax, fee, ths, mw, dynamic, derate=None, cap_mw=None):
    n = ths.shape[0]
    return dispatch_day_tuned(cfg, hp, price, tax, fee, 0.05, ths, mw, np.full(n, 1.6), np.full(n, 2.0),
                              np.full(n, 0.7), np.full(n, 1.1), dynamic,
                              np.ones((n, 24)) if derate is None else derate, cap_mw)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["none", "economic", "schedule", "uptime_target"]))
def test_cohort_by_cohort_dispatch_equals_the_sorted_shortcut(seed, policy):
    eff, ths, mw, hp, price = _random_site(seed)
    cfg = Curtailment(policy=policy, hours_off=(1, 2), uptime=0.8)
    fast = dispatch_day(cfg, hp, price, 3.0, 0.02, 0.05, eff, ths, mw)
    slow = _tuned(cfg, hp, price, 3.0, 0.02, ths, mw, np.zeros(len(eff), bool))
    for field in ("running_ths", "energy_hourly_mwh", "curtailed_mwh"):
        assert_allclose(getattr(slow, field), getattr(fast, field), rtol=1e-12, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_dynamic_tuning_never_earns_less_margin_than_stock(seed):
    eff, ths, mw, hp, price = _random_site(seed)
    cfg = Curtailment(policy="economic")
    value = hp / 1000 * 0.98  # USD per TH-day after fee

    def margin(run):
        cost = energy_bill(None, run.energy_hourly_mwh, price, 0.0).power_cost_usd
        return value * run.running_ths - cost

    stock = _tuned(cfg, hp, price, 0.0, 0.02, ths, mw, np.zeros(len(eff), bool))
    dynamic = _tuned(cfg, hp, price, 0.0, 0.02, ths, mw, np.ones(len(eff), bool))
    assert np.all(margin(dynamic) >= margin(stock) - 1e-9)


def test_thermal_derating_throttles_and_shuts_down():
    from simulator.hardware import temperature_derate_fraction

    ths, mw = np.array([[100.0]]), np.array([[0.002]])
    derate = temperature_derate_fraction(np.r_[np.full(8, 30.0), np.full(8, 42.0), np.full(8, 50.0)][None, :],
                                         np.array([[40.0]]), np.array([[47.0]]))
    run = _tuned(Curtailment(policy="none"), np.array([50.0]), np.full((24, 1), 30.0), 0.0, 0.0, ths, mw,
                 np.zeros(1, bool), derate)
    assert run.running_ths[0] == pytest.approx(100 * (8 + 8 * 0.9) / 24)
    assert_allclose(run.energy_hourly_mwh[:, 0], 0.002 * 1.05 * np.r_[np.ones(8), np.full(8, 0.9**1.6), np.zeros(8)])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["none", "economic", "uptime_target"]))
def test_capped_hours_shed_units_least_efficient_first_in_both_dispatchers(seed, policy):
    eff, ths, mw, hp, price = _random_site(seed)
    cap = np.where(np.random.default_rng(seed).random((24, ths.shape[1])) < 0.5,
                   np.random.default_rng(seed + 1).uniform(0, 1.2, (24, ths.shape[1])) * mw.sum(0), np.inf)
    cfg = Curtailment(policy=policy, uptime=0.8)
    fast = dispatch_day(cfg, hp, price, 0.0, 0.02, 0.05, eff, ths, mw, cap)
    slow = _tuned(cfg, hp, price, 0.0, 0.02, ths, mw, np.zeros(len(eff), bool), cap_mw=cap)
    for field in ("running_ths", "energy_hourly_mwh", "curtailed_mwh"):
        assert_allclose(getattr(slow, field), getattr(fast, field), rtol=1e-9, atol=1e-9)
    assert np.all(fast.energy_hourly_mwh <= np.minimum(cap, mw.sum(0)) * 1.05 + 1e-9)
    uncapped = dispatch_day(cfg, hp, price, 0.0, 0.02, 0.05, eff, ths, mw)
    binding = cap < uncapped.energy_hourly_mwh / 1.05
    assert_allclose(fast.energy_hourly_mwh[binding], cap[binding] * 1.05, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["none", "economic"]))
def test_one_price_row_equals_24_identical_hours(seed, policy):
    eff, ths, mw, hp, _ = _random_site(seed)
    flat = np.random.default_rng(seed).uniform(20, 90, (1, ths.shape[1]))
    cfg = Curtailment(policy=policy)
    one = dispatch_day(cfg, hp, flat, 2.0, 0.02, 0.05, eff, ths, mw)
    full = dispatch_day(cfg, hp, np.repeat(flat, 24, axis=0), 2.0, 0.02, 0.05, eff, ths, mw)
    for field in ("running_ths", "energy_hourly_mwh", "curtailed_mwh"):
        assert_allclose(getattr(one, field), getattr(full, field), rtol=1e-12)


# --------------------------------------------------------------------------- issue 17
def _ppa_site(seed, cohorts=5, paths=4):
    from simulator.config.schema import PpaPower
    from simulator.site import PpaTerms

    eff, ths, mw, hp, price = _random_site(seed, cohorts, paths)
    rng = np.random.default_rng(seed + 7)
    price = np.where(rng.random((24, paths)) < 0.1, rng.uniform(-30, 0, (24, paths)), np.abs(price))
    load = mw.sum(0).max() * 1.05
    block = rng.uniform(0.2, 1.3) * load
    take = rng.uniform(0.0, 0.95) * block
    power = PpaPower(contract="ppa", price_usd_per_mwh=30, block_mw=block, min_take_fraction=take / block,
                     index={"mean_usd_per_mwh": 40})
    return eff, ths, mw, hp, price, power, PpaTerms(take, block, rng.uniform(0, 80))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), tax=st.sampled_from([0.0, 4.0]))
def test_ppa_dispatch_maximises_each_hours_margin_over_every_running_count(seed, tax):
    # brute force: energy_bill's own cost − credit for every k = 0 … n most efficient cohorts, hour by hour
    eff, ths, mw, hp, price, power, terms = _ppa_site(seed)
    got = dispatch_day(Curtailment(policy="economic"), hp, price, tax, 0.02, 0.05, eff, ths, mw, ppa=terms)
    value = hp / 1000 * 0.98 / 24  # USD per TH/s-hour

    def hour_margins(run_mwh, run_ths):  # (24, paths) facility MWh and TH/s running in each hour
        out = np.empty(run_mwh.shape)
        for h in range(24):
            bill = energy_bill(power, run_mwh[h:h + 1], price[h:h + 1], tax, terms.price_usd_per_mwh)
            out[h] = value * run_ths[h] - (bill.power_cost_usd - bill.power_credit_usd)
        return out

    paths = ths.shape[1]
    cum_ths = np.vstack([np.zeros(paths), np.cumsum(ths, 0)])
    cum_mwh = np.vstack([np.zeros(paths), np.cumsum(mw, 0)]) * 1.05
    best = np.max([hour_margins(np.broadcast_to(cum_mwh[k], (24, paths)), np.broadcast_to(cum_ths[k], (24, paths)))
                   for k in range(len(eff) + 1)], axis=0)
    # each hour's running TH/s from its running MWh (the running set is a prefix of the cohorts)
    k = np.array([[np.flatnonzero(np.isclose(cum_mwh[:, p], got.energy_hourly_mwh[h, p], rtol=1e-12, atol=1e-12))[-1]
                   for p in range(paths)] for h in range(24)])
    assert_allclose(hour_margins(got.energy_hourly_mwh, np.take_along_axis(cum_ths, k, axis=0)), best,
                    rtol=1e-9, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["none", "economic", "uptime_target"]),
       capped=st.booleans(), with_ppa=st.booleans())
def test_cohort_margins_add_up_to_the_sites_margin(seed, policy, capped, with_ppa):
    # Σ_j margin_j = revenue − (bill − bill of no load): each cohort is charged its slice of the merit order
    eff, ths, mw, hp, price, power, terms = _ppa_site(seed)
    cap = np.where(np.random.default_rng(seed).random((24, ths.shape[1])) < 0.5,
                   np.random.default_rng(seed + 1).uniform(0, 1.2, (24, ths.shape[1])) * mw.sum(0), np.inf)
    terms, ppa_price = (terms, terms.price_usd_per_mwh) if with_ppa else (None, None)
    run = dispatch_day(Curtailment(policy=policy, uptime=0.8), hp, price, 2.0, 0.02, 0.05, eff, ths, mw,
                       cap if capped else None, ppa=terms, margins=True)
    bill = energy_bill(power, run.energy_hourly_mwh, price, 2.0, ppa_price)
    idle = energy_bill(power, np.zeros_like(run.energy_hourly_mwh), price, 2.0, ppa_price)
    revenue = hp / 1000 * 0.98 * run.running_ths
    site_margin = (revenue - (bill.power_cost_usd - bill.power_credit_usd)
                   + (idle.power_cost_usd - idle.power_credit_usd))
    assert_allclose(run.cohort_margin_usd.sum(0), site_margin, rtol=1e-9, atol=1e-6)
    if policy == "economic" and not with_ppa:
        assert np.all(run.cohort_margin_usd >= -1e-9)  # economic never runs an hour at a loss


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["none", "economic"]))
def test_both_dispatchers_give_the_same_cohort_margins(seed, policy):
    eff, ths, mw, hp, price = _random_site(seed)
    cfg = Curtailment(policy=policy)
    fast = dispatch_day(cfg, hp, price, 3.0, 0.02, 0.05, eff, ths, mw, margins=True)
    n = len(eff)
    slow = dispatch_day_tuned(cfg, hp, price, 3.0, 0.02, 0.05, ths, mw, np.full(n, 1.6), np.full(n, 2.0),
                              np.full(n, 0.7), np.full(n, 1.1), np.zeros(n, bool), np.ones((n, 24)), margins=True)
    assert_allclose(slow.cohort_margin_usd, fast.cohort_margin_usd, rtol=1e-9, atol=1e-6)
    assert_allclose(slow.underclocked_mwh, 0.0)


def test_demand_response_calls_fall_on_the_days_dearest_hours():
    from simulator.config.schema import DemandResponse
    from simulator.grid_programmes import demand_response_calls

    rng = np.random.default_rng(5)
    programme = DemandResponse(committed_mw=1.0, availability_usd_per_mw_month=5000.0, call_probability=0.1,
                               summer_call_multiplier=1.0)
    u, price = rng.random((24, 500)), rng.lognormal(4, 0.5, (24, 500))
    calls = demand_response_calls(programme, u, 3, price)
    assert_allclose(calls.sum(0), (u < 0.1).sum(0))  # as many call hours as the independent draws give
    called_min = np.where(calls, price, np.inf).min(0)
    free_max = np.where(calls, -np.inf, price).max(0)
    assert np.all(called_min[calls.any(0)] > free_max[calls.any(0)])  # every call hour dearer than every other
    assert calls.sum() == pytest.approx(0.1 * 24 * 500, rel=0.1)
    flat = demand_response_calls(programme, u, 3, np.full((24, 500), 42.0))
    assert (flat == (u < 0.1)).all()  # at a fixed price: the hours whose draws fall below p
