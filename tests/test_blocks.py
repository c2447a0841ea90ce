"""Operations in blocks (issue 19 item 1): where blocks end, days as columns, and results that do not
depend on the block split."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from simulator import engine, fleet
from simulator.block import OPS_BLOCK_DAYS, YEAR_DRAW_DAYS, Blocks, block_bounds
from simulator.columns import as_columns, from_columns
from simulator.config.loader import Document, load_with_overrides, validate_document
from simulator.rng import PathStreams

REPO = Path(__file__).resolve().parents[1]


@given(days=st.integers(1, 1200), cuts=st.lists(st.integers(-5, 1300), max_size=8))
def test_blocks_tile_the_horizon_and_end_at_every_grid_and_cut(days, cuts):
    bounds = block_bounds(days, cuts)
    firsts = [a for a, _ in bounds]
    assert firsts[0] == 0 and all(n >= 1 for _, n in bounds)
    assert all(a + n == b for (a, n), (b, _) in zip(bounds, bounds[1:])) and sum(n for _, n in bounds) == days
    assert all(n <= OPS_BLOCK_DAYS for _, n in bounds)
    must = {d for d in range(days) if d % OPS_BLOCK_DAYS == 0 or d % YEAR_DRAW_DAYS == 0} | \
        {d for d in cuts if 0 < d < days}
    assert set(firsts) == must  # a block starts exactly there: on the grids and the dated changes
    assert block_bounds(days, cuts, every_day=True) == [(d, 1) for d in range(days)]


def test_columns_round_trip_day_major():
    x = np.arange(3 * 4 * 5, dtype=float).reshape(3, 4, 5)  # (days, cohorts, paths)
    cols = as_columns(x)
    assert cols.shape == (4, 15)
    assert np.array_equal(cols[:, 5 * 2 + 1], x[2, :, 1])  # column j·paths + p is day j, path p
    assert np.array_equal(from_columns(cols, 3), x)


def _feature_rich(days: int, paths: int, policies=None, site0=None, **extra):
    """The contract example with most operating features on: outages, a fee spike, price and hashrate
    shocks, a dated retirement, demand response, 4CP, hosting, a hosted cohort, dynamic tuning with an
    ambient derate, a GPU-cloud project and a stop policy (PPLNS luck on a Poisson network)."""
    loaded, _ = load_with_overrides(str(REPO / "scenarios" / "contract_example.yaml"), ())
    doc = copy.deepcopy(loaded.data)
    doc.update(paths=paths, horizon_days=days, **extra)
    doc["purchases"][0]["delivery"] = "2026-02-15"
    doc["hpc"][0].update(start="2026-02-01", build_months=2)
    doc["events"][0]["date"] = "2026-04-01"
    doc["events"] += [{"date": "2026-01-20", "kind": "outage", "site": "ercot-hub", "days": 10},
                      {"date": "2026-02-20", "kind": "fee_spike", "btc_per_block": 1.0, "days": 5},
                      {"date": "2026-03-03", "kind": "price_shock", "change_pct": -40},
                      {"date": "2026-03-17", "kind": "hashrate_shock", "change_pct": 20}]
    doc["fleet"][0]["retired"] = "2026-04-07"
    doc["fleet"][1]["tuning"] = "dynamic"
    doc["fleet"].append({"model": "antminer-s19-xp", "units": 1000, "deployed": "2025-01-01",
                         "hosted_at": {"host": "Compass", "price_usd_per_kwh": 0.078}})
    doc["sites"][1].update(demand_response={"committed_mw": 5.0, "availability_usd_per_mw_month": 6000.0,
                                            "call_probability": 0.2},
                           four_cp={"transmission_usd_per_kw_year": 50.0, "avoid": True},
                           hosting={"mw": 5.0, "price_usd_per_kwh": 0.07})
    doc["sites"][0]["ambient_c"] = [5, 8, 12, 18, 24, 30, 34, 33, 28, 20, 12, 6]
    doc["sites"][0].update(site0 or {})
    doc["hpc"].append({"site": "texas-1", "it_mw": 5, "pue": 1.3, "start": "2026-01-15", "build_months": 1,
                       "capex_usd_per_mw": 8.0e6,
                       "revenue": {"kind": "gpu_cloud", "gpus_per_mw": 700, "capex_usd_per_gpu": 30000,
                                   "price_usd_per_gpu_hour": 2.0, "utilization_vol": 0.2}})
    doc["policies"] = policies or {"stop": {"negative_margin_days": 2}}
    doc["pool"] = {"payout": "pplns", "hashrate_ehs": 50.0, "fee": 0.02}
    return validate_document(Document(doc, {}, {}), "feature-rich.yaml")


def _frames(res):
    return res.path_metrics, res.daily, res.monthly, res.daily_quantiles


def _assert_same(x, y):
    """Every per-path metric, kept daily row, monthly line and daily quantile of two runs, bit for bit."""
    for a, b in zip(_frames(x), _frames(y)):
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("days,paths", [(150, 3), (400, 30)], ids=["150x3", "400x30"])
def test_results_do_not_depend_on_how_the_days_are_blocked(monkeypatch, days, paths):
    """Each operating actor's block of up to 30 days gives the floats of the same days one at a time:
    every per-path metric, kept daily row, monthly line and daily quantile, bit for bit (400 days:
    across the year's draw grid, a summer of 4CP and its January reset; 30 paths: a block as long
    as the path axis)."""
    scenario = _feature_rich(days, paths)
    blocked = engine.simulate(scenario, workers=1, keep_paths=3)
    monkeypatch.setattr(engine, "block_bounds", lambda days, cuts, every_day=False: block_bounds(days, (), True))
    daily = engine.simulate(scenario, workers=1, keep_paths=3)
    _assert_same(blocked, daily)
    m = blocked.monthly.sum(numeric_only=True)
    # the features ran: otherwise the comparison would prove little
    assert m.demand_response_credit_usd > 0 and m.transmission_charge_usd > 0 and m.hosting_revenue_usd > 0
    assert m.hosting_cost_usd > 0 and m.hpc_revenue_usd > 0 and m.units_retired > 0 and m.underclocked_mwh > 0


def test_a_retire_policy_cuts_blocks_only_where_a_cohort_may_retire(monkeypatch):
    """Under a ``retire`` policy a block is cut to the days in which no cohort can reach its retirement
    (simulator.block.Blocks, engine.days_before_a_retirement): the run takes blocks of several days, and
    retirements on many days and paths, and gives every number that one-day blocks give, bit for bit."""
    scenario = _feature_rich(150, 30, policies={"retire": {"negative_margin_days": 5}, "stop": {"negative_margin_days": 2}},
                             site0={"power": {"contract": "fixed", "price_usd_per_mwh": 60.0},
                                    "curtailment": {"policy": "none"}})
    made = []
    monkeypatch.setattr(engine, "Blocks", lambda *a, **k: made.append(Blocks(*a, **k)) or made[-1])
    blocked = engine.simulate(scenario, workers=1, keep_paths=3)
    two = engine.simulate(scenario, workers=2, keep_paths=3)  # each worker cuts its own blocks by its own paths
    assert len(made[0].decided) < 100 and max(made[0].decided.values()) > 1  # blocks of several days
    by_month = blocked.monthly.groupby("month").units_retired.sum().to_numpy()
    assert by_month[0] > 0 and by_month[1] > 0  # retired by the policy (the dated retirement is in April)
    assert (blocked.monthly.groupby("path").units_retired.sum() > 12000).sum() >= 10  # more than the dated cohort
    monkeypatch.setattr(engine, "block_bounds", lambda days, cuts, every_day=False: block_bounds(days, (), True))
    daily = engine.simulate(scenario, workers=1, keep_paths=3)
    assert len(made[-1].decided) == 150
    _assert_same(two, daily)
    _assert_same(blocked, daily)


def test_blocks_are_cut_to_the_limit_and_keep_every_planned_start():
    planned = block_bounds(100, [45])
    limits = iter([7, 100, 1, 3] + [30] * 20)
    blocks = list(Blocks(100, planned, limit=lambda: next(limits)))
    assert blocks[:5] == [(0, 7), (7, 23), (30, 1), (31, 3), (34, 11)]
    assert {a for a, _ in planned} <= {a for a, _ in blocks} and sum(n for _, n in blocks) == 100
    assert list(Blocks(100, planned, limit=lambda: 0)) == [(d, 1) for d in range(100)]  # at least a day
    again = Blocks(100, planned, limit=lambda: next(limits))
    assert list(again) == list(again)  # every actor iterates the same blocks, decided once


def test_a_one_day_failure_block_is_the_failure_state_itself():
    """A retire policy runs one-day blocks in which the site retires units from the failure state in
    place: the block's working and installed units must be views of that state, not copies."""
    c = np.ones((2, 3))
    state = fleet.FailureState(c.copy(), c.copy(), np.zeros((4, 2, 3)))
    model = fleet.FailureModel(np.array([0.01, 0.02]), 0.1)
    draws = fleet.FailureDraws(PathStreams(1, "failures", np.arange(3)), 30, 2)
    state, working, installed, _, _ = fleet.fail_block(model, state, draws, 4, 1)
    assert np.shares_memory(working, state.working) and np.shares_memory(installed, state.installed)
    _, working, installed, _, _ = fleet.fail_block(None, state, None, 0, 1)
    assert np.shares_memory(working, state.working) and np.shares_memory(installed, state.installed)


def test_a_retirement_leaves_the_installed_fleet_on_its_day():
    """A retire policy (one-day blocks) sells a cohort on the day its losing run reaches the rule: that
    day's installed hashrate (and the fleet value finance books) already excludes it."""
    loaded, _ = load_with_overrides(str(REPO / "scenarios" / "contract_example.yaml"), ())
    doc = copy.deepcopy(loaded.data)
    doc.update(paths=2, horizon_days=6, policies={"retire": {"negative_margin_days": 2}})
    doc["sites"][0].update(power={"contract": "fixed", "price_usd_per_mwh": 900.0}, curtailment={"policy": "none"})
    for key in ("purchases", "hpc", "events"):
        doc.pop(key, None)
    res = engine.simulate(validate_document(Document(doc, {}, {}), "retire.yaml"), workers=1, keep_paths=2)
    installed = res.daily[res.daily.path == 0].fleet_hashrate_ehs.to_numpy()
    xp_ehs = 12000 * 140 / 1e6  # the texas-1 cohort: 12,000 S19 XP at 140 TH/s, losing every day at $900/MWh
    np.testing.assert_allclose(res.monthly.units_retired, 12000, rtol=1e-3)  # installed then (a few units lost to failures)
    # day 1, the second losing day (units lost to failures move the fleet by a few TH/s at most)
    np.testing.assert_allclose(installed[0] - installed[1], xp_ehs, rtol=1e-3)
    np.testing.assert_allclose(installed[1:], installed[1], rtol=1e-3)
