"""A site's block of days (``site_block``) against the day-by-day site of release 0.2.0 (an oracle).

``reference_site_day`` below is ``simulator/site_day.py::site_day`` as it was before blocks
(commit a1dcccd), with its two helpers: one day at a time, the same :mod:`simulator.site`
formulas on ``(24, paths)`` arrays. The block form must give the same floats, bit for bit, for
every field and for the state it leaves (prices, demand-response draws, stop counters, 4CP), for
P ≥ 2 paths; for one path the old day form summed a lone column's 24 hours in numpy's pairwise
order, so it is checked to 1e-12, and the block form is checked to give a one-path run exactly the
floats of the same path in a larger run.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from simulator import grid_programmes, site as site_model, units
from simulator.config.checks import library_for
from simulator.config.loader import Document, validate_document
from simulator.finance import segments
from simulator.fleet import FailureState, build_cohorts, retire_cohorts
from simulator import site_block as site_block_module
from simulator.site_block import POWER_BLOCK_DAYS, PROGRAMME_BLOCK_DAYS, SiteFlows, site_block
from simulator.site_day import plan_site, site_day, start_site

START = "2026-05-20"  # day 12 is 1 June (4CP and summer calls begin), day 226 is 1 January, day 365 a DR redraw
FLEET = [  # efficiencies 15 … 34.5 J/TH: at hashprices of 30–70 USD/PH/day some run and some do not
    {"id": "s21pro", "model": "antminer-s21-pro", "units": 900, "site": "test", "deployed": "2025-01-01"},
    {"id": "s21", "model": "antminer-s21", "units": 1100, "site": "test", "deployed": "2025-01-01"},
    {"id": "xp", "model": "antminer-s19-xp", "units": 1500, "site": "test", "deployed": "2024-01-01"},
    {"id": "pro", "model": "antminer-s19-pro", "units": 1200, "site": "test", "deployed": "2023-01-01"},
    {"id": "s19", "model": "antminer-s19", "units": 2000, "site": "test", "deployed": "2022-01-01"},
    {"id": "elsewhere", "model": "antminer-s21", "units": 500, "site": "other", "deployed": "2025-01-01"},
]
INDEX = {"contract": "index", "mean_usd_per_mwh": 48.0, "vol_daily": 0.3, "spike_probability": 0.02,
         "negative_probability": 0.02}
HOT = [5.0, 8.0, 14.0, 20.0, 30.0, 39.0, 43.0, 42.0, 35.0, 24.0, 14.0, 7.0]  # °C: derates in summer afternoons

#: (name, the test site's keys, top-level keys, horizon days, the cohort tuned dynamically or None)
CASES = [
    ("fixed-economic", {"power": {"contract": "fixed", "price_usd_per_mwh": 70.0},
                        "curtailment": {"policy": "economic"}}, {}, 64, None),
    ("fixed-none", {"power": {"contract": "fixed", "price_usd_per_mwh": 70.0}}, {}, 40, None),
    ("index-spikes-economic", {"power": INDEX, "curtailment": {"policy": "economic"}}, {}, 64, None),
    ("index-schedule", {"power": INDEX, "curtailment": {"policy": "schedule", "hours_off": [19, 20, 21]}}, {}, 40,
     None),
    ("index-uptime", {"power": INDEX, "curtailment": {"policy": "uptime_target", "uptime": 0.75}}, {}, 40, None),
    ("tuned-ambient", {"power": INDEX, "curtailment": {"policy": "economic"}, "ambient_c": HOT,
                       "diurnal_swing_c": 12.0}, {}, 75, 2),
    ("tuned-fixed-uptime", {"power": {"contract": "fixed", "price_usd_per_mwh": 60.0},
                            "curtailment": {"policy": "uptime_target", "uptime": 0.5}}, {}, 40, 4),
    ("hosting-expansion", {"power": {"contract": "fixed", "price_usd_per_mwh": 55.0},
                           "curtailment": {"policy": "economic"}, "opex_usd_per_mw_year": 50000.0,
                           "hosting": {"mw": 6.0, "price_usd_per_kwh": 0.07},
                           "expansions": [{"date": "2026-07-01", "mw": 20.0, "capex_usd_per_mw": 4.0e5,
                                           "build_months": 1.5}]}, {}, 64, None),
    ("hosting-index", {"power": INDEX, "curtailment": {"policy": "none"}, "opex_usd_per_mw_year": 40000.0,
                       "hosting": {"mw": 6.0, "price_usd_per_kwh": 0.07}}, {}, 40, None),
    ("ppa-expiry-hosting", {"power": {"contract": "ppa", "price_usd_per_mwh": 38.0, "block_mw": 25.0,
                                      "escalator_annual": 0.03, "min_take_fraction": 0.6, "expiry": "2026-07-15",
                                      "index": {k: v for k, v in INDEX.items() if k != "contract"}},
                            "curtailment": {"policy": "economic"}, "hosting": {"mw": 4.0, "price_usd_per_kwh": 0.06}},
     {}, 75, None),
    ("ppa-take-or-pay", {"power": {"contract": "ppa", "price_usd_per_mwh": 35.0, "block_mw": 30.0,
                                   "escalator_annual": 0.02, "index": {"mean_usd_per_mwh": 45.0, "vol_daily": 0.4}},
                         "curtailment": {"policy": "economic"}}, {}, 40, None),
    ("demand-response", {"power": INDEX, "curtailment": {"policy": "economic"},
                         "demand_response": {"committed_mw": 6.0, "availability_usd_per_mw_month": 4000.0,
                                             "call_probability": 0.03}}, {}, 400, None),
    ("four-cp", {"power": {"contract": "fixed", "price_usd_per_mwh": 50.0}, "curtailment": {"policy": "economic"},
                 "four_cp": {"transmission_usd_per_kw_year": 55.0}}, {}, 240, None),
    ("tuned-dr-4cp", {"power": INDEX, "curtailment": {"policy": "economic"}, "ambient_c": HOT,
                      "demand_response": {"committed_mw": 6.0, "availability_usd_per_mw_month": 4000.0,
                                          "call_probability": 0.05},
                      "four_cp": {"transmission_usd_per_kw_year": 55.0}}, {}, 75, 1),
    ("stop-fixed", {"power": {"contract": "fixed", "price_usd_per_mwh": 80.0}},
     {"policies": {"stop": {"negative_margin_days": 2}}}, 64, None),
    ("stop-index-uptime", {"power": INDEX, "curtailment": {"policy": "uptime_target", "uptime": 0.9}},
     {"policies": {"stop": {"negative_margin_days": 3}}}, 64, None),
    ("stop-ppa", {"power": {"contract": "ppa", "price_usd_per_mwh": 70.0, "block_mw": 25.0, "min_take_fraction": 0.5,
                            "expiry": "2026-06-25", "index": {"mean_usd_per_mwh": 60.0, "vol_daily": 0.3}}},
     {"policies": {"stop": {"negative_margin_days": 1}}}, 40, None),
]


def scenario(site: dict, top: dict, horizon: int, dynamic: int | None, fleet: list | None = None):
    fleet = [dict(c) for c in (FLEET if fleet is None else fleet)]
    if dynamic is not None:
        fleet[dynamic]["tuning"] = "dynamic"
    doc = {"name": "site block", "start": START, "horizon_days": horizon, "paths": 2, "seed": 1,
           "market": {"btc_price": {"model": "gbm", "initial_usd": 90000.0, "drift_annual": 0.0, "vol_annual": 0.5},
                      "fees": {"model": "constant", "btc_per_block": 0.025}},
           "network": {"initial_difficulty": 1.5e14, "initial_height": 930000},
           "pool": {"payout": "fpps", "fee": 0.02},
           "sites": [{"name": "test", "capacity_mw": 60.0, "cooling_overhead": 0.05, **site},
                     {"name": "other", "capacity_mw": 10.0, "power": {"contract": "fixed", "price_usd_per_mwh": 40.0}}],
           "fleet": fleet, **top}
    return validate_document(Document(doc, {}, {}), "test.yaml")


# --------------------------------------------------------------------------- the oracle (0.2.0's site_day)
def _reference_hourly_price(plan, state, day, days):
    if plan.prices is not None:
        if day % POWER_BLOCK_DAYS == 0:
            state.price_block, state.price_state = plan.prices.block(
                state.price_state, day, min(POWER_BLOCK_DAYS, days - day), state.price_streams, state.common,
                out=state.price_block if day else None)
        state.hourly_price = state.price_block[day % POWER_BLOCK_DAYS]
    return state.hourly_price


def _reference_dispatch(plan, state, units_state, retired_units, offline, args):
    working = units_state.working[plan.mine] * (not offline)
    policies = plan.policies
    if not (policies.stop or policies.retire):
        return site_model.dispatch_site(plan.spec, plan.site, working, *args)
    run = site_model.dispatch_site(plan.spec, plan.site, working, *args, margins=True)
    state.losing_days, state.stopped, retire = site_model.policy_step(run.cohort_margin_usd, working > 0,
                                                                      state.losing_days, state.stopped, policies)
    if retire.any():
        retire_cohorts(units_state, retired_units, plan.mine, retire)
        working = units_state.working[plan.mine] * (not offline)
    if state.stopped.any() or retire.any():
        run = site_model.dispatch_site(plan.spec, plan.site, working * ~state.stopped, *args)
    return run


def reference_site_day(plan, state, day, days, hashprice, tax, offline, hpc_mw, units_state, retired_units) -> dict:
    site, date = plan.site, plan.dates[day]
    dr, fcp, is_ppa = site.demand_response, site.four_cp, plan.is_ppa
    hourly_price = _reference_hourly_price(plan, state, day, days)
    calls = avoid = None
    if dr:
        if day % PROGRAMME_BLOCK_DAYS == 0:
            state.dr_draws = state.dr_streams.uniform((min(PROGRAMME_BLOCK_DAYS, days - day), units.HOURS_PER_DAY))
        calls = grid_programmes.demand_response_calls(dr, state.dr_draws[day % PROGRAMME_BLOCK_DAYS], date.month,
                                                 hourly_price)
    if fcp:
        avoid = grid_programmes.four_cp_avoidance_hours(fcp, date)[:, None]
    ppa = site_model.ppa_price_usd_per_mwh(site.power, day, plan.expiry_day) if is_ppa else None
    hosted_mw = site.hosting.mw if site.hosting is not None and not offline else 0.0
    terms = site_model.ppa_terms(site.power, ppa, hosted_mw) if is_ppa else None
    args = (hashprice, hourly_price, tax, plan.pool_fee, plan.derate_by_month[date.month], calls, avoid, terms)
    run = _reference_dispatch(plan, state, units_state, retired_units, offline, args)
    transmission = state.four_cp.day(date, day == 0, run.energy_hourly_mwh,
                                     lambda n: state.fcp_streams.uniform((n,))) if fcp else None
    bill = site_model.energy_bill(site.power, run.energy_hourly_mwh, hourly_price, tax, ppa, energy_mwh=run.energy_mwh)
    hosting_cost = hosting_revenue = None
    if hosted_mw:
        hosting_cost, hosting_revenue = site_model.hosting_day_usd(site, run.energy_hourly_mwh, hourly_price, tax,
                                                                   ppa, bill)
    capacity = plan.capacity_mw[day]
    opex = site.opex_usd_per_mw_year * capacity / units.DAYS_PER_YEAR
    hosting_share, hpc_share = segments.mw_shares(capacity, hosted_mw, hpc_mw)
    return dict(
        running_ths=run.running_ths, energy_mwh=run.energy_mwh, power_cost_usd=bill.power_cost_usd,
        power_credit_usd=bill.power_credit_usd, curtailed_mwh=run.curtailed_mwh,
        underclocked_mwh=run.underclocked_mwh, mean_price_usd_per_mwh=hourly_price.sum(axis=0) / len(hourly_price),
        tax_usd_per_mwh=tax, demand_response_credit_usd=plan.demand_response_credit_usd,
        transmission_charge_usd=None if transmission is None else transmission.copy(),
        hosting_power_cost_usd=hosting_cost, hosting_revenue_usd=hosting_revenue, site_opex_usd=opex,
        site_opex_hosting_usd=opex * hosting_share, site_opex_hpc_usd=opex * hpc_share,
        site_mw=(capacity, hosted_mw, hpc_mw), expansion_capex_usd=plan.expansion_capex_usd[day])


# --------------------------------------------------------------------------- inputs and runs
def inputs(days: int, n_cohorts: int, paths: int, seed: int) -> dict:
    """Random days: hashprices around the fleet's breakevens, working units, offline days, HPC MW."""
    rng = np.random.default_rng(seed)
    full = np.array([c["units"] for c in FLEET], dtype=float)[:n_cohorts]
    working = np.floor(full[None, :, None] * rng.uniform(0.85, 1.0, (days, n_cohorts, paths)))
    working[: days // 3, 1] = 0.0  # a cohort not yet delivered
    return dict(hashprice=50.0 * np.exp(0.3 * rng.standard_normal((days, paths))), working=working,
                offline=rng.random(days) < 0.1, hpc_mw=np.where(rng.random(days) < 0.5, rng.uniform(0, 70, days), 0.0))


def block_starts(days: int, n: int):
    """Blocks of at most ``n`` days that never cross a multiple of POWER_BLOCK_DAYS (the engine's cut)."""
    day = 0
    while day < days:
        m = min(n, POWER_BLOCK_DAYS - day % POWER_BLOCK_DAYS, days - day)
        yield day, m
        day += m


def units_of(working: np.ndarray) -> FailureState:
    return FailureState(working.copy(), working.copy(), np.zeros((2,) + working.shape))


def _as_block(day_values: list, block_value):
    """The reference days' values of a field stacked like the block's (None on an offline day: 0)."""
    if block_value is None or isinstance(block_value, float):
        return day_values[0]
    if isinstance(block_value, tuple):
        return tuple(np.array([v[i] for v in day_values], dtype=float) for i in range(len(block_value)))
    like = np.zeros(np.shape(block_value)[1:])
    return np.array([like if v is None else np.broadcast_to(v, like.shape) for v in day_values], dtype=float)


def check_same(block: SiteFlows, days: list[dict], exact: bool) -> None:
    for f in dataclasses.fields(SiteFlows):
        if f.name in ("table", "booked"):  # the one pass's memory of the first seven fields, which are checked
            continue
        got, want = getattr(block, f.name), _as_block([d[f.name] for d in days], getattr(block, f.name))
        pairs = zip(got, want) if isinstance(got, tuple) else [(got, want)]
        for g, w in pairs:
            if g is None or w is None:
                assert g is None and w is None, f.name
            elif exact:
                assert_array_equal(g, w, err_msg=f.name)
            else:
                assert_allclose(g, w, rtol=1e-12, atol=1e-9, err_msg=f.name)


def check_same_state(a, b, exact: bool) -> None:
    same = assert_array_equal if exact else lambda x, y: assert_allclose(x, y, rtol=1e-12)
    for name in ("hourly_price", "price_block", "dr_draws", "losing_days", "stopped"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if name == "price_block" and x is not None and len(x) != len(y):  # the one pass keeps the day it computed
            x, y = (x[0], b.hourly_price) if len(x) == 1 else (a.hourly_price, y[0])  # last only (index_block)
        if x is not None:
            assert_array_equal(x, y, err_msg=name)
    if a.price_state is not None:
        assert a.price_state.day == b.price_state.day
        assert_array_equal(a.price_state.log_deviation, b.price_state.log_deviation)
    if a.four_cp is not None:
        for name in ("usd_per_day", "load_sum_mw", "peaks_seen", "peak_day", "peak_hour"):
            same(np.asarray(getattr(a.four_cp, name), dtype=float), np.asarray(getattr(b.four_cp, name), dtype=float))


def run_both(case, n: int, paths: int, seed: int, tax: float = 3.0) -> None:
    """Every block of the case's horizon against the reference's days, from identical fresh states."""
    name, site, top, days, dynamic = case
    s = scenario(site, top, days, dynamic)
    cohorts = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
    x = inputs(days, len(cohorts), paths, seed)
    path_ids = np.arange(paths)
    block_state, day_state = (start_site(plan, seed, path_ids, x["working"][0]) for _ in range(2))
    retired = np.zeros((len(cohorts), paths))
    for day0, m in block_starts(days, n):
        block = site_block(plan, block_state, day0, m, days, x["hashprice"][day0:day0 + m], tax,
                           x["offline"][day0:day0 + m], x["hpc_mw"][day0:day0 + m], x["working"][day0:day0 + m],
                           units_of(x["working"][day0]), retired)
        want = [reference_site_day(plan, day_state, d, days, x["hashprice"][d], tax, bool(x["offline"][d]),
                                   float(x["hpc_mw"][d]), units_of(x["working"][d]), retired)
                for d in range(day0, day0 + m)]
        check_same(block, want, exact=paths > 1)
        check_same_state(block_state, day_state, exact=paths > 1)


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("n", [1, 7, 30])
def test_a_block_gives_the_days_floats_bit_for_bit(case, n):
    run_both(case, n, paths=3, seed=n)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("fixed-economic", "index-spikes-economic",
                                                              "tuned-ambient", "ppa-expiry-hosting")],
                         ids=lambda c: c[0])
def test_a_block_without_tax_and_over_many_paths_is_bit_identical(case):
    run_both(case, 30, paths=17, seed=5, tax=0.0)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("fixed-economic", "index-spikes-economic",
                                                              "tuned-dr-4cp", "ppa-expiry-hosting",
                                                              "stop-index-uptime")],
                         ids=lambda c: c[0])
@pytest.mark.parametrize("values", [100, 1000])
def test_a_block_cut_into_cache_sized_calls_is_bit_identical(case, values, monkeypatch):
    """Many paths: a block is dispatched a few days at a time (VALUES_PER_CALL), here forced down to one
    day (100 values at 3 paths) and a few days a call; the pieces' floats are the days' own."""
    monkeypatch.setattr(site_block_module, "VALUES_PER_CALL", values)
    run_both(case, 30, paths=3, seed=7)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("fixed-economic", "tuned-ambient", "four-cp",
                                                              "hosting-index", "stop-fixed")], ids=lambda c: c[0])
def test_one_path_agrees_with_the_old_day_form_to_1e_12(case):
    """The old day form summed a lone column's 24 hours pairwise: the last bits may differ, no more."""
    run_both(case, 30, paths=1, seed=2)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("fixed-economic", "tuned-ambient",
                                                              "ppa-expiry-hosting", "demand-response")],
                         ids=lambda c: c[0])
@pytest.mark.parametrize("n", [1, 30])
def test_a_one_path_run_is_the_same_path_of_a_larger_run(case, n):
    """A lone column is padded with its copy, so a one-path run sums its hours as every larger run does."""
    name, site, top, days, dynamic = case
    days = min(days, 90)
    s = scenario(site, top, days, dynamic)
    cohorts = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
    x = inputs(days, len(cohorts), 3, 9)
    one, three = start_site(plan, 4, np.arange(1), x["working"][0][:, :1]), start_site(plan, 4, np.arange(3),
                                                                                         x["working"][0])
    for day0, m in block_starts(days, n):
        args = (x["offline"][day0:day0 + m], x["hpc_mw"][day0:day0 + m])
        a = site_block(plan, one, day0, m, days, x["hashprice"][day0:day0 + m, :1], 3.0, *args,
                       x["working"][day0:day0 + m, :, :1], units_of(x["working"][day0][:, :1]), np.zeros((6, 1)))
        b = site_block(plan, three, day0, m, days, x["hashprice"][day0:day0 + m], 3.0, *args,
                       x["working"][day0:day0 + m], units_of(x["working"][day0]), np.zeros((6, 3)))
        for f in dataclasses.fields(SiteFlows):
            got, want = getattr(a, f.name), getattr(b, f.name)
            if isinstance(got, np.ndarray) and got.ndim == 2:
                assert_array_equal(got, want[:, :1], err_msg=f.name)


def test_retire_retires_only_in_blocks_of_one_day_and_as_the_day_form_did():
    """A retirement removes units in place, so it may happen only in a block of one day (the engine cuts
    blocks so: simulator.block.Blocks); a block of several days in which one would happen is a bug."""
    top = {"policies": {"retire": {"negative_margin_days": 3}, "stop": {"negative_margin_days": 1}}}
    s = scenario({"power": {"contract": "fixed", "price_usd_per_mwh": 80.0}}, top, 40, None)
    cohorts = build_cohorts(s, library_for(s))
    days, paths = 40, 4
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
    x = inputs(days, len(cohorts), paths, 3)
    x["hashprice"][10:] *= 0.6  # a long loss-making run: cohorts retire
    units = [units_of(x["working"][0]) for _ in range(2)]
    retired = [np.zeros((len(cohorts), paths)) for _ in range(2)]
    states = [start_site(plan, 1, np.arange(paths), x["working"][0]) for _ in range(2)]
    with pytest.raises(RuntimeError, match="a retirement inside a block of several days"):
        site_block(plan, copy.deepcopy(states[0]), 10, 6, days, x["hashprice"][10:16], 3.0, x["offline"][10:16],
                   x["hpc_mw"][10:16], x["working"][10:16], copy.deepcopy(units[0]), retired[0].copy())
    for day in range(days):
        block = site_block(plan, states[0], day, 1, days, x["hashprice"][day:day + 1], 3.0, x["offline"][day:day + 1],
                           x["hpc_mw"][day:day + 1], units[0].working[None], units[0], retired[0])
        want = reference_site_day(plan, states[1], day, days, x["hashprice"][day], 3.0, bool(x["offline"][day]),
                                  float(x["hpc_mw"][day]), units[1], retired[1])
        check_same(block, [want], exact=True)
        assert_array_equal(units[0].working, units[1].working)
        assert_array_equal(retired[0], retired[1])
    assert retired[0].sum() > 0  # the rule fired


def test_site_day_is_a_block_of_one_day():
    case = next(c for c in CASES if c[0] == "stop-index-uptime")
    s = scenario(*case[1:])
    cohorts = build_cohorts(s, library_for(s))
    days, paths = case[3], 3
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
    x = inputs(days, len(cohorts), paths, 4)
    a, b = (start_site(plan, 2, np.arange(paths), x["working"][0]) for _ in range(2))
    retired = np.zeros((len(cohorts), paths))
    for day in range(days):
        got = site_day(plan, a, day, days, x["hashprice"][day], 3.0, bool(x["offline"][day]), float(x["hpc_mw"][day]),
                       units_of(x["working"][day]), retired)
        want = reference_site_day(plan, b, day, days, x["hashprice"][day], 3.0, bool(x["offline"][day]),
                                  float(x["hpc_mw"][day]), units_of(x["working"][day]), retired)
        for f in dataclasses.fields(SiteFlows):
            g, w = getattr(got, f.name), want.get(f.name)  # (the one pass's table: None in a day's flows)
            if f.name == "booked":  # (a day's flows are never booked in the pass)
                assert g is False
                continue
            if isinstance(g, tuple):
                assert [float(v) for v in g] == [float(v) for v in w]
            elif g is not None:
                assert_array_equal(g, w, err_msg=f.name)


def test_a_block_never_crosses_a_price_block():
    case = CASES[0]
    s = scenario(*case[1:])
    cohorts = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=64, freq="D"))
    x = inputs(64, len(cohorts), 2, 1)
    state = start_site(plan, 1, np.arange(2), x["working"][0])
    with pytest.raises(AssertionError):
        site_block(plan, state, 25, 10, 64, x["hashprice"][25:35], 3.0, x["offline"][25:35], x["hpc_mw"][25:35],
                   x["working"][25:35], units_of(x["working"][25]), np.zeros((6, 2)))


def test_the_oracle_cases_exercise_what_they_are_named_for():
    """The cases are not vacuous: curtailment, offline days, stops, calls, 4CP avoidance and PPA expiry happen."""
    def totals(case, paths=3):
        name, site, top, days, dynamic = case
        s = scenario(site, top, days, dynamic)
        cohorts = build_cohorts(s, library_for(s))
        plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
        x = inputs(days, len(cohorts), paths, 30)
        state = start_site(plan, 30, np.arange(paths), x["working"][0])
        blocks = [site_block(plan, state, d, m, days, x["hashprice"][d:d + m], 3.0, x["offline"][d:d + m],
                             x["hpc_mw"][d:d + m], x["working"][d:d + m], units_of(x["working"][d]),
                             np.zeros((6, paths))) for d, m in block_starts(days, 30)]
        return {f.name: np.concatenate([getattr(b, f.name) for b in blocks])
                for f in dataclasses.fields(SiteFlows)
                if isinstance(getattr(blocks[0], f.name), np.ndarray) and f.name != "table"}, state

    by_name = {c[0]: c for c in CASES}
    flows, _ = totals(by_name["index-spikes-economic"])
    assert (flows["curtailed_mwh"] > 0).mean() > 0.2 and (flows["energy_mwh"] == 0).any()  # offline days
    flows, _ = totals(by_name["tuned-ambient"])
    assert (flows["underclocked_mwh"] > 0).any()
    flows, state = totals(by_name["stop-fixed"])
    assert state.losing_days.max() > 0
    flows, _ = totals(by_name["ppa-expiry-hosting"])
    assert (flows["power_credit_usd"][:50] > 0).any() and (flows["power_credit_usd"][60:] == 0).all()
    flows, _ = totals(by_name["four-cp"])
    assert len(np.unique(flows["transmission_charge_usd"])) > 1  # the January reset from last summer's peaks
    flows, _ = totals(by_name["hosting-expansion"])
    assert flows["expansion_capex_usd"].sum() > 0 and (flows["hosting_revenue_usd"] == 0).any()


def test_demand_response_calls_take_each_columns_month():
    """A column's summer multiplier is its own day's (the block's days as columns)."""
    from simulator.config.schema import Site

    dr = Site(name="x", capacity_mw=1.0, power={"contract": "fixed", "price_usd_per_mwh": 1.0},
              demand_response={"committed_mw": 1.0, "availability_usd_per_mw_month": 1.0,
                               "call_probability": 0.2, "summer_call_multiplier": 3.0}).demand_response
    u = np.random.default_rng(0).random((24, 4))
    price = np.random.default_rng(1).random((24, 4))
    months = np.array([5, 5, 6, 6])
    both = grid_programmes.demand_response_calls(dr, u, months, price)
    assert_array_equal(both[:, :2], grid_programmes.demand_response_calls(dr, u[:, :2], 5, price[:, :2]))
    assert_array_equal(both[:, 2:], grid_programmes.demand_response_calls(dr, u[:, 2:], 6, price[:, 2:]))


def test_a_site_without_cohorts_runs_its_programmes_through_summer():
    """An HPC-only site with 4CP and demand response: nothing to shed, nothing drawn, its charges all the same
    (the day form failed on the first avoided hour, shedding from an empty merit order)."""
    site = {"power": INDEX, "curtailment": {"policy": "economic"}, "opex_usd_per_mw_year": 40000.0,
            "four_cp": {"transmission_usd_per_kw_year": 55.0, "prior_4cp_mw": 20.0},
            "demand_response": {"committed_mw": 5.0, "availability_usd_per_mw_month": 4000.0, "call_probability": 0.3}}
    s = scenario(site, {"policies": {"stop": {"negative_margin_days": 1}}}, 60, None, fleet=FLEET[-1:])
    cohorts = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=60, freq="D"))
    assert len(plan.mine) == 0
    x = inputs(60, 2, 3, 6)
    working = x["working"][:, :1]
    state = start_site(plan, 1, np.arange(3), working[0])
    for day0, m in block_starts(60, 30):
        flows = site_block(plan, state, day0, m, 60, x["hashprice"][day0:day0 + m], 3.0, x["offline"][day0:day0 + m],
                           x["hpc_mw"][day0:day0 + m], working[day0:day0 + m], units_of(working[day0]),
                           np.zeros((1, 3)))
        assert (flows.energy_mwh == 0).all() and (flows.power_cost_usd == 0).all()
        assert_allclose(flows.transmission_charge_usd, 55.0 * 1000 * 20.0 / 365)  # the prior 4CP load's charge
        assert_allclose(flows.site_opex_usd, 40000.0 * 60.0 / 365)


@pytest.mark.parametrize("values", [100, 65536])
def test_a_blocks_flows_share_no_array(values, monkeypatch):
    """Each field is its own memory (a day record adds to them in place), none the plan's schedules."""
    monkeypatch.setattr(site_block_module, "VALUES_PER_CALL", values)  # one call, or a call a day
    case = next(c for c in CASES if c[0] == "hosting-expansion")
    s = scenario(*case[1:])
    cohorts = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=64, freq="D"))
    x = inputs(64, len(cohorts), 3, 8)
    state = start_site(plan, 1, np.arange(3), x["working"][0])
    flows = site_block(plan, state, 0, 30, 64, x["hashprice"][:30], 3.0, x["offline"][:30], x["hpc_mw"][:30],
                       x["working"][:30], units_of(x["working"][0]), np.zeros((6, 3)))
    arrays = [getattr(flows, f.name) for f in dataclasses.fields(SiteFlows)]
    arrays = [a for v in arrays for a in (v if isinstance(v, tuple) else (v,)) if isinstance(a, np.ndarray)]
    arrays += [plan.capacity_mw, plan.expansion_capex_usd]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


def test_capacity_of_days_is_capacity_mw_day_by_day():
    """``site_day._capacity_of_days`` (one ``capacity_mw`` call per run of days with the same expansions energised)
    against ``capacity_mw`` called on every day: expansions unsorted, before the start, on the first day, on the
    same date twice, inside and after the horizon, none; the capacity's own sign (−0.0 + 0 is +0.0) kept."""
    import datetime
    from types import SimpleNamespace

    from simulator.config.checks import capacity_mw
    from simulator.site_day import _capacity_of_days

    days = list(pd.date_range("2026-03-01", periods=400, freq="D").date)
    on = [datetime.date(2026, 7, 4), datetime.date(2025, 1, 1), datetime.date(2026, 3, 1), datetime.date(2026, 7, 4),
          datetime.date(2026, 3, 2), datetime.date(2027, 4, 4), datetime.date(2030, 1, 1)]
    mws = [0.1, 20.0, 1e-17, 0.2, 3.3, 7.0, 5.0]
    for capacity in (100.0, -0.0, 0.3):
        for k in range(len(on) + 1):
            site = SimpleNamespace(capacity_mw=capacity,
                                   expansions=[SimpleNamespace(date=d, mw=m) for d, m in zip(on[:k], mws[:k])])
            want = np.array([capacity_mw(site, d) for d in days])
            got = _capacity_of_days(site, days)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert_array_equal(got.view(np.int64), want.view(np.int64))
    assert _capacity_of_days(SimpleNamespace(capacity_mw=1.0, expansions=[]), []).shape == (0,)


def test_a_plans_months_are_its_days_months():
    """``SitePlan.months`` (the dates' months as one array) are each day's ``date.month``, as int64."""
    s = scenario({"power": {"contract": "fixed", "price_usd_per_mwh": 70.0}}, {}, 400, None)
    cohorts = build_cohorts(s, library_for(s))
    dates = pd.date_range(s.start, periods=400, freq="D")
    months = plan_site(s, 0, cohorts, dates).months
    assert months.dtype == np.int64
    assert_array_equal(months, np.array([d.month for d in dates.date]))
