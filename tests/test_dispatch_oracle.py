"""Issue 19 item 4: the threshold dispatch equals the cohort-by-cohort arithmetic it replaced.

The functions under ``# ---- oracle`` are ``simulator/site.py`` as it was before the change
(``dispatch_day`` with its ``(cohorts, hours, paths)`` cohort margins, and
``dispatch_day_tuned`` computing every cohort's setting and powers), kept here ONLY as the
reference. On random cohorts, prices (negative hours included), caps, PPA terms, taxes,
policies, thermal derates and dynamic tuning, the new functions must give the same running
hashrate, hourly energy, curtailed and underclocked energy and cohort margins: identical up to
reassociation, i.e. within 1e-12 of the day's gross magnitudes (revenue plus energy cost).
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from simulator import units
from simulator.config.schema import Curtailment, Site
from simulator.site import (Dispatch, PpaTerms, SiteCohorts, _count_at_or_below, _efficiency_threshold_jth,
                            _value_usd_per_th_hour, dispatch_day, dispatch_day_tuned, dispatch_site,
                            net_energy_cost_usd, ppa_running_count)

RTOL = 1e-12


# --------------------------------------------------------------------------- oracle (the code before the change)
def _old_cumulative(x):
    out = np.zeros((x.shape[0] + 1,) + x.shape[1:])
    for i in range(len(x)):
        out[i + 1] = out[i] + x[i]
    return out


def _old_run_fraction(n_cohorts, k, share):
    j = np.arange(n_cohorts)[:, None, None]
    run = (j < k[None]).astype(float)
    if share is not None:
        capped, whole, part = share
        run = np.where(capped[None], (j < whole[None]) + (j == whole[None]) * part[None], run)
    return run


def _old_cohort_margins(run, hp, price, tax, fee, overhead, working_ths, working_mw, cum_mw, ppa):
    facility = 1 + overhead
    hours = units.HOURS_PER_DAY if np.shape(price)[0] == 1 else 1
    start = cum_mw[:-1, None, :] * facility
    end = start + run * working_mw[:, None, :] * facility
    cost = net_energy_cost_usd(end, price[None], tax, ppa) - net_energy_cost_usd(start, price[None], tax, ppa)
    revenue = _value_usd_per_th_hour(hp, fee) * run * working_ths[:, None, :]
    return (revenue - cost).sum(axis=1) * hours


def old_dispatch_day(curtailment, hp, price, tax, fee, overhead, eff, working_ths, working_mw, cap_mw=None, *,
                     ppa=None, margins=False):
    n_cohorts, paths = working_ths.shape
    cum_ths, cum_mw = _old_cumulative(working_ths), _old_cumulative(working_mw)
    policy = curtailment.policy
    if policy == "none":
        k = np.full(price.shape, n_cohorts)
    elif policy == "schedule":
        on = ~np.isin(np.arange(24), curtailment.hours_off)
        k = np.where(on[:, None], n_cohorts, 0) * np.ones(price.shape, dtype=np.int64)
    else:
        if ppa is not None and ppa.take_mwh < ppa.block_mwh:
            k = ppa_running_count(hp, price, tax, fee, overhead, eff, cum_ths, cum_mw, ppa)
        else:
            k = _count_at_or_below(eff, _efficiency_threshold_jth(hp, price + tax if tax else price, fee, overhead))
        if policy == "uptime_target":
            must_run = int(np.ceil(curtailment.uptime * 24))
            rank = np.argsort(np.argsort(price, axis=0, kind="stable"), axis=0, kind="stable")
            k = np.where(rank < must_run, n_cohorts, k)
    k = k.astype(np.intp)
    running_ths = np.take_along_axis(cum_ths, k, axis=0)
    running_mw = np.take_along_axis(cum_mw, k, axis=0)
    share = None
    if cap_mw is not None:
        fits = (cum_mw[:, None, :] <= cap_mw[None]).sum(axis=0) - 1
        capped = k > fits
        whole = np.minimum(k, fits)
        ths_fit, mw_fit = np.take_along_axis(cum_ths, whole, axis=0), np.take_along_axis(cum_mw, whole, axis=0)
        marginal = np.minimum(whole, n_cohorts - 1)
        mw_m = np.take_along_axis(working_mw, marginal, axis=0)
        ths_m = np.take_along_axis(working_ths, marginal, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(mw_m > 0, np.clip((cap_mw - mw_fit) / mw_m, 0.0, 1.0), 0.0)
        running_ths = np.where(capped, ths_fit + part * ths_m, running_ths)
        running_mw = np.where(capped, mw_fit + part * mw_m, running_mw)
        share = (capped, whole, part)
    extra = {}
    if margins:
        extra["cohort_margin_usd"] = _old_cohort_margins(_old_run_fraction(n_cohorts, k, share), hp, price, tax, fee,
                                                         overhead, working_ths, working_mw, cum_mw, ppa)
    running_mw = running_mw * (1 + overhead)
    if running_mw.shape[0] == 1:
        running_mw = np.repeat(running_mw, 24, axis=0)
    available = cum_mw[-1] * (1 + overhead) * 24
    energy = running_mw.sum(axis=0)
    return Dispatch(running_ths=running_ths.mean(axis=0), energy_hourly_mwh=running_mw,
                    curtailed_mwh=np.maximum(available - energy, 0.0), energy_mwh=energy, **extra)


def old_dispatch_day_tuned(curtailment, hp, price, tax, fee, overhead, working_ths, working_mw, k_under, k_over,
                           min_fraction, max_fraction, dynamic, derate, cap_mw=None, *, margins=False):
    value = np.asarray(hp) / 1000 * (1 - fee) / 24
    cost = (price + tax) * (1 + overhead)
    ths = working_ths[:, None, :] * derate[:, :, None]
    mw = working_mw[:, None, :] * (derate ** k_under[:, None])[:, :, None]
    ku, ko = k_under[:, None, None], k_over[:, None, None]
    f = np.ones_like(ths)
    if dynamic.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            r = value * ths / (cost * mw)
            over = np.clip((r / ko) ** (1 / (ko - 1)), 1.0, max_fraction[:, None, None])
            under = np.clip((r / ku) ** (1 / (ku - 1)), min_fraction[:, None, None], 1.0)
        best = np.where(r > ko, over, np.where(r < ku, under, 1.0))
        best = np.where(cost > 0, np.nan_to_num(best, nan=1.0), max_fraction[:, None, None])
        f = np.where(dynamic[:, None, None], best, 1.0)
    run_ths = ths * f
    run_mw = mw * f ** np.where(f < 1, ku, ko)
    policy = curtailment.policy
    if policy == "none":
        run = np.ones(ths.shape, dtype=bool)
    elif policy == "schedule":
        on = ~np.isin(np.arange(24), curtailment.hours_off)
        run = np.broadcast_to(on[None, :, None], ths.shape)
    else:
        run = value * run_ths - cost * run_mw >= 0
        if policy == "uptime_target":
            must_run = int(np.ceil(curtailment.uptime * 24))
            rank = np.argsort(np.argsort(price, axis=0, kind="stable"), axis=0, kind="stable")
            run = run | (rank < must_run)[None]
    run = run.astype(float)
    if cap_mw is not None:
        drawn = run_mw * run
        before = np.cumsum(drawn, axis=0) - drawn
        with np.errstate(divide="ignore", invalid="ignore"):
            run = np.where(drawn > 0, run * np.clip((cap_mw[None] - before) / drawn, 0.0, 1.0), run)
    energy_hourly = (run_mw * run).sum(axis=0) * (1 + overhead)
    curtailed = ((1.0 - run) * mw).sum(axis=(0, 1)) * (1 + overhead)
    underclocked = (run * np.maximum(mw - run_mw, 0.0)).sum(axis=(0, 1)) * (1 + overhead)
    extra = {}
    if margins:
        extra["cohort_margin_usd"] = (run * (value * run_ths - cost * run_mw)).sum(axis=1)
    return Dispatch(running_ths=(run_ths * run).sum(axis=(0, 1)) / 24, energy_hourly_mwh=energy_hourly,
                    curtailed_mwh=curtailed, underclocked_mwh=underclocked, **extra)


# --------------------------------------------------------------------------- random days
def _day(seed, cohorts, paths, rows):
    """Sorted efficiencies [J/TH], working TH/s and MW (some cohorts empty), hashprice, prices with negative hours."""
    rng = np.random.default_rng(seed)
    eff = np.sort(rng.uniform(10, 40, cohorts))
    units_ = rng.integers(0, 3000, (cohorts, paths)) * (rng.random((cohorts, paths)) > 0.15)
    ths = units_ * rng.uniform(90, 250, cohorts)[:, None]
    mw = ths * eff[:, None] / 1e6
    hp = rng.uniform(15, 90, paths)
    price = rng.normal(55, 45, (rows, paths))
    price = np.where(rng.random((rows, paths)) < 0.05, 0.0, price)  # exact zeros: every cohort runs when price + tax <= 0
    cap = np.where(rng.random((24, paths)) < 0.4, rng.uniform(0, 1.2, (24, paths)) * mw.sum(0), np.inf)
    return rng, eff, ths, mw, hp, price, cap


def _scale(hp, price, tax, ths, mw):
    """The day's gross magnitude per path [USD]: revenue of every unit plus the cost of all their energy."""
    return (hp / 1000 * ths.sum(0) + (np.abs(price).max(axis=0) + abs(tax)) * mw.sum(0) * 1.1 * 24) + 1.0


def _same(new, old, scale, fields=("running_ths", "energy_hourly_mwh", "energy_mwh", "curtailed_mwh",
                                   "underclocked_mwh")):
    for name in fields:
        assert_allclose(getattr(new, name), getattr(old, name), rtol=RTOL, atol=RTOL * scale.max(), err_msg=name)
    if old.cohort_margin_usd is not None:
        assert_allclose(new.cohort_margin_usd, old.cohort_margin_usd, rtol=RTOL, atol=RTOL * scale.max())


POLICIES = st.sampled_from(["none", "economic", "schedule", "uptime_target"])


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cohorts=st.integers(1, 20), policy=POLICIES, rows=st.sampled_from([1, 24]),
       tax=st.sampled_from([0.0, 4.5, -3.0]), capped=st.booleans(), with_ppa=st.booleans(), margins=st.booleans())
def test_threshold_dispatch_equals_the_old_arithmetic(seed, cohorts, policy, rows, tax, capped, with_ppa, margins):
    rng, eff, ths, mw, hp, price, cap = _day(seed, cohorts, 5, rows)
    if capped or with_ppa:  # caps and PPAs come with hourly prices
        price = np.repeat(price, 24, axis=0) if rows == 1 else price
    ppa = None
    if with_ppa:
        load = mw.sum(0).max() * 1.05
        block = rng.uniform(0.1, 1.3) * load
        ppa = PpaTerms(rng.uniform(0.0, 1.0) * block, block, rng.uniform(-10, 90))
    cfg = Curtailment(policy=policy, hours_off=(0, 7, 8, 23), uptime=rng.uniform(0.3, 1.0))
    args = (cfg, hp, price, tax, 0.02, 0.06, eff, ths, mw, cap if capped else None)
    new = dispatch_day(*args, ppa=ppa, margins=margins)
    old = old_dispatch_day(*args, ppa=ppa, margins=margins)
    _same(new, old, _scale(hp, price, tax, ths, mw))


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cohorts=st.integers(1, 12), policy=POLICIES, tax=st.sampled_from([0.0, 4.5]),
       capped=st.booleans(), derated=st.booleans(), tuning=st.sampled_from(["none", "some", "all"]),
       margins=st.booleans(), threshold=st.booleans())
def test_tuned_dispatch_equals_the_old_arithmetic(seed, cohorts, policy, tax, capped, derated, tuning, margins,
                                                  threshold):
    # threshold: the stock efficiencies are given, so stock cohorts are counted by derated merit order
    from simulator.hardware import temperature_derate_fraction

    rng, eff, ths, mw, hp, price, cap = _day(seed, cohorts, 4, 24)
    dynamic = {"none": np.zeros(cohorts, bool), "all": np.ones(cohorts, bool),
               "some": rng.random(cohorts) < 0.5}[tuning]
    k_under, k_over = rng.uniform(1.3, 2.0, cohorts), rng.uniform(1.8, 3.0, cohorts)
    min_fraction, max_fraction = rng.uniform(0.5, 0.9, cohorts), rng.uniform(1.0, 1.3, cohorts)
    derate = np.ones((cohorts, 24))
    if derated:
        ambient = rng.uniform(20, 50, 24)
        inlet = rng.uniform(30, 42, cohorts)
        derate = temperature_derate_fraction(ambient[None, :], inlet[:, None], inlet[:, None] + rng.uniform(3, 10, cohorts)[:, None])
    cfg = Curtailment(policy=policy, hours_off=(2, 3), uptime=rng.uniform(0.3, 1.0))
    args = (cfg, hp, price, tax, 0.02, 0.05, ths, mw, k_under, k_over, min_fraction, max_fraction, dynamic, derate,
            cap if capped else None)
    new = dispatch_day_tuned(*args, margins=margins, efficiency_jth=eff if threshold else None)
    old = old_dispatch_day_tuned(*args, margins=margins)
    _same(new, old, _scale(hp, price, tax, ths, mw), fields=("running_ths", "energy_hourly_mwh", "curtailed_mwh",
                                                            "underclocked_mwh"))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cohorts=st.integers(1, 10), policy=POLICIES, margins=st.booleans())
def test_a_tuned_site_without_tuning_or_derating_that_day_gets_the_threshold_count(seed, cohorts, policy, margins):
    # dispatch_site sends a stock, underated day to dispatch_day: the same day as the cohort-by-cohort dispatch
    rng, eff, _, _, hp, price, _ = _day(seed, cohorts, 4, 24)
    ths_per_unit = rng.uniform(90, 250, cohorts)[:, None]
    working = rng.integers(0, 3000, (cohorts, 4)).astype(float)
    mw_per_unit = ths_per_unit * eff[:, None] / 1e6
    n = cohorts
    spec = SiteCohorts(eff, ths_per_unit, mw_per_unit, np.full(n, 1.6), np.full(n, 2.0), np.full(n, 0.7),
                       np.full(n, 1.1), np.zeros(n, bool), tuned=True)
    site = Site(name="s", capacity_mw=1e6, power={"contract": "fixed", "price_usd_per_mwh": 40.0},
                curtailment={"policy": policy, "hours_off": (5,), "uptime": 0.6}, cooling_overhead=0.05,
                ambient_c=(10.0,) * 12)
    got = dispatch_site(spec, site, working, hp, price, 0.0, 0.02, np.ones((n, 24)), margins=margins)
    ths, mw = ths_per_unit * working, mw_per_unit * working
    old = old_dispatch_day_tuned(site.curtailment, hp, price, 0.0, 0.02, 0.05, ths, mw, spec.k_under, spec.k_over,
                                 spec.min_fraction, spec.max_fraction, spec.dynamic, np.ones((n, 24)), margins=margins)
    _same(got, old, _scale(hp, price, 0.0, ths, mw), fields=("running_ths", "energy_hourly_mwh", "curtailed_mwh",
                                                            "underclocked_mwh"))


def old_demand_response_calls(programme, u_hours, month, price):
    p = programme.call_probability * (programme.summer_call_multiplier if 6 <= month <= 9 else 1.0)
    n_calls = (u_hours < min(p, 1.0)).sum(axis=0)
    price = np.broadcast_to(price, u_hours.shape)
    order = np.lexsort((u_hours, -price), axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(u_hours.shape[0])[:, None], axis=0)
    return rank < n_calls


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), probability=st.sampled_from([0.0, 0.002, 0.05, 0.5, 1.0]),
       month=st.integers(1, 12), rows=st.sampled_from([1, 24]))
def test_demand_response_calls_rank_only_the_called_paths_and_equal_the_old_ranking(seed, probability, month, rows):
    from simulator.config.schema import DemandResponse
    from simulator.grid_programmes import demand_response_calls

    rng = np.random.default_rng(seed)
    programme = DemandResponse(committed_mw=1.0, availability_usd_per_mw_month=5000.0, call_probability=probability,
                               summer_call_multiplier=2.0)
    u = rng.random((24, 40))
    price = np.round(rng.lognormal(4, 0.5, (rows, 40)), 0)  # rounded: ties in price, broken by the draws
    assert np.array_equal(demand_response_calls(programme, u, month, price),
                          old_demand_response_calls(programme, u, month, price))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.sampled_from([1, 24]), tax=st.sampled_from([0.0, 3.5]))
def test_hosted_clients_bill_without_a_ppa_equals_the_bill_difference(seed, rows, tax):
    # H Σ_h (p_h + tax) is energy_bill(U + H) − energy_bill(U) when the bill is linear
    from simulator.site import energy_bill, hosting_day_usd

    rng = np.random.default_rng(seed)
    site = Site(name="s", capacity_mw=500.0, power={"contract": "fixed", "price_usd_per_mwh": 40.0},
                hosting={"mw": float(rng.uniform(1, 50)), "price_usd_per_kwh": 0.07})
    used = rng.uniform(0, 200, (24, 6))
    price = rng.normal(50, 60, (rows, 6))
    mining = energy_bill(site.power, used, price, tax)
    cost, revenue = hosting_day_usd(site, used, price, tax, None, mining)
    with_hosted = energy_bill(site.power, used + site.hosting.mw, price, tax)
    scale = (np.abs(price).max(0) + tax) * (used.sum(0) + 24 * site.hosting.mw)
    assert_allclose(cost, with_hosted.power_cost_usd - mining.power_cost_usd, rtol=RTOL, atol=RTOL * scale.max())
    assert revenue == site.hosting.mw * 24 * 1000 * 0.07


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cohorts=st.integers(1, 8), policy=POLICIES, margins=st.booleans(),
       tuning=st.sampled_from(["none", "some"]))
def test_a_path_of_a_tuned_site_does_not_depend_on_another_paths_call(seed, cohorts, policy, margins, tuning):
    """A demand-response call caps some paths of a day: the other paths' figures are the same bits as in
    a chunk where nobody was called (found in review: the whole chunk switched to the cohort-by-cohort
    arithmetic, whose rounding differs from the derated merit order's)."""
    from simulator.hardware import temperature_derate_fraction

    rng, eff, ths, mw, hp, price, _ = _day(seed, cohorts, 6, 24)
    dynamic = np.zeros(cohorts, bool) if tuning == "none" else rng.random(cohorts) < 0.5
    k_under, k_over = rng.uniform(1.3, 2.0, cohorts), rng.uniform(1.8, 3.0, cohorts)
    inlet = rng.uniform(30, 42, cohorts)
    derate = temperature_derate_fraction(rng.uniform(20, 50, 24)[None, :], inlet[:, None], inlet[:, None] + 6.0)
    cap = np.full((24, 6), np.inf)
    cap[10:14, :2] = 0.5 * mw.sum(0)[:2]  # paths 0 and 1 called for four hours
    cfg = Curtailment(policy=policy, hours_off=(2, 3), uptime=0.6)
    args = (cfg, hp, price, 3.0, 0.02, 0.05, ths, mw, k_under, k_over, np.full(cohorts, 0.6), np.full(cohorts, 1.2),
            dynamic, derate)
    called = dispatch_day_tuned(*args, cap, margins=margins, efficiency_jth=eff)
    nobody = dispatch_day_tuned(*args, None, margins=margins, efficiency_jth=eff)
    for name in ("running_ths", "energy_hourly_mwh", "energy_mwh", "curtailed_mwh", "underclocked_mwh") + \
            (("cohort_margin_usd",) if margins else ()):
        np.testing.assert_array_equal(getattr(called, name)[..., 2:], getattr(nobody, name)[..., 2:], err_msg=name)
