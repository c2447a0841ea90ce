"""The compiled index-site kernels (simulator.index_kernel) against their numpy forms: the same bits.

Each test runs the library function twice, once with the lazy kernels held in numpy and once with the
compiled module forced (both :class:`simulator.lazy_kernel.LazyKernel` instances patched), and
compares every output byte for byte (``-0.0`` and ``0.0`` differ, NaNs compare by their bits). A spy
on the compiled function checks that the compiled side really ran it (issue 19, the index sites).
"""
from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from simulator import index_kernel, merit_order
from simulator.config.schema import DemandResponse, Site
from simulator.market import power
from simulator.grid_programmes import demand_response_calls, is_summer
from simulator.site import PpaTerms, SiteCohorts, dispatch_site, energy_bill

from kernel_forms import assert_same_bits


@pytest.fixture
def forms(monkeypatch):
    """``forms(fn)``: ``(fn() in numpy, fn() compiled, {kernel function: calls made})``."""
    calls: dict[str, int] = {}

    def spy(name):
        compiled = getattr(index_kernel, name)

        def counted(*args):
            calls[name] = calls.get(name, 0) + 1
            return compiled(*args)
        return counted

    def run(fn):
        out = []
        for kernel in (None, index_kernel):
            for lazy in (merit_order.INDEX_KERNEL, power.PRICE_KERNEL):
                monkeypatch.setattr(lazy, "for_call", lambda *a, _k=kernel, **kw: _k)
            out.append(fn())
        return out[0], out[1], dict(calls)

    for name in ("index_hours", "call_hours", "dispatch", "bill"):
        monkeypatch.setattr(index_kernel, name, spy(name))
    return run


# --------------------------------------------------------------------------- dispatch
POLICIES = ["economic", "economic", "economic", "none", "schedule", "uptime_target"]


def _dispatch_case(seed: int):
    """A random site day as columns: cohorts 0–20 (ties in efficiency, cohorts and columns with nothing
    working), hourly or one-row prices (negative, zero, every cohort curtailed), calls and avoided hours."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([0, 1, 2, 3, 5, 17, 20]))
    cols = int(rng.choice([2, 3, 48, 301]))
    rows = int(rng.choice([1, 24, 24]))
    eff = np.sort(np.round(rng.uniform(12, 35, n), int(rng.choice([0, 3]))))  # rounded: equal efficiencies
    ths_per_unit = rng.uniform(90, 250, n)[:, None]
    working = rng.integers(0, 4000, (n, cols)).astype(float)
    if n:
        working[rng.random(n) < 0.3] = 0.0  # cohorts with nothing working
    working[:, rng.random(cols) < 0.2] = 0.0  # columns with nothing working
    price = rng.normal(45, 60, (rows, cols))
    price[rng.random((rows, cols)) < 0.05] = 0.0
    if seed % 7 == 0:
        price = np.abs(price) * 100 + 500  # every cohort curtailed
    if seed % 5 == 0:
        price = np.round(price)  # ties
    calls = avoid = None
    if rng.random() < 0.6:
        calls = rng.random((24, cols)) < float(rng.choice([0.02, 0.3, 1.0]))
    if rng.random() < 0.5:
        avoid = np.zeros((24, 1), dtype=bool)
        avoid[[20, 21, 22, 23][: int(rng.integers(0, 5))]] = True
        if rng.random() < 0.5:
            avoid = np.broadcast_to(avoid, (24, cols)) & (rng.random(cols) < 0.5)
    site = Site(name="s", capacity_mw=1e6, power={"contract": "fixed", "price_usd_per_mwh": 40.0},
                cooling_overhead=float(rng.choice([0.0, 0.05])),
                curtailment={"policy": str(rng.choice(POLICIES)), "hours_off": (3, 17), "uptime": 0.6},
                demand_response={"committed_mw": float(rng.choice([5.0, 1e5])),  # 1e5: the call sheds everything
                                 "availability_usd_per_mw_month": 5000.0})
    spec = SiteCohorts(eff, ths_per_unit, ths_per_unit * eff[:, None] / 1e6, np.full(n, 1.6), np.full(n, 2.0),
                       np.full(n, 0.7), np.full(n, 1.1), np.zeros(n, dtype=bool), tuned=False)
    hashprice = 50 * np.exp(0.5 * rng.standard_normal(cols))
    ppa = PpaTerms(60.0, 60.0, 30.0) if rng.random() < 0.2 else None  # take = block: the plain threshold
    args = (spec, site, working, hashprice, price, float(rng.choice([0.0, 3.5])), 0.02, np.ones((n, 24)), calls,
            avoid, ppa)
    capped = n > 0 and any(x is not None and x.any() for x in (calls, avoid))
    return args, rows == 24 or capped


@pytest.mark.parametrize("seed", range(60))
def test_compiled_dispatch_is_the_numpy_dispatch_bit_for_bit(seed, forms):
    args, compiled = _dispatch_case(seed)
    a, b, ran = forms(lambda: dispatch_site(*args))
    assert ran.get("dispatch", 0) == compiled  # a one-row day without a cap stays in numpy
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x is None:
            assert y is None
        else:
            assert_same_bits(x, y, f.name)


@pytest.mark.parametrize("n", range(10))
def test_compiled_count_groups_cohorts_by_four_bit_for_bit(n, forms):
    """The economic count adds four cohorts' comparisons a pass (index_kernel._count) and the rest one by
    one: every number of cohorts 0–9 (no group, groups with remainders 0–3), thresholds exactly at a
    cohort's efficiency (ties with every comparison), NaN hashprices (all run), zero and negative prices."""
    rng = np.random.default_rng(100 + n)
    cols = 64
    eff = np.sort(rng.choice([16.0, 20.0, 25.0], n))  # repeated efficiencies
    ths_per_unit = np.full((n, 1), 200.0)
    working = rng.integers(0, 50, (n, cols)).astype(float)
    price = np.full((24, cols), 50.0)
    price[:, :4] = [[0.0, -20.0, np.nan, 75.0]]
    value = eff[rng.integers(0, n, cols)] if n else np.full(cols, 20.0)  # e* = value / (50 × 24): a cohort's e
    hashprice = value * 50.0 * 24 / (1e6 / 1000)
    hashprice[4] = np.nan
    site = Site(name="s", capacity_mw=1e6, power={"contract": "fixed", "price_usd_per_mwh": 40.0},
                curtailment={"policy": "economic"})
    spec = SiteCohorts(eff, ths_per_unit, ths_per_unit * eff[:, None] / 1e6, np.full(n, 1.6), np.full(n, 2.0),
                       np.full(n, 0.7), np.full(n, 1.1), np.zeros(n, dtype=bool), tuned=False)
    a, b, ran = forms(lambda: dispatch_site(spec, site, working, hashprice, price, 0.0, 0.0, np.ones((n, 24))))
    assert ran.get("dispatch") == 1
    if n:  # the exact ties are there: a column whose threshold is a cohort's efficiency runs that cohort
        threshold = merit_order.efficiency_threshold_jth(hashprice, price[0], 0.0, 0.0)
        assert (np.isin(threshold, eff)).sum() > cols // 2
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert (x is None) == (y is None)
        if x is not None:
            assert_same_bits(x, y, f.name)


def test_dispatch_cases_cover_the_edges():
    """The random cases above include what they are meant to: calls, 4CP hours, caps that shed all,
    no cohorts, every cohort curtailed, negative prices, each policy, compiled and numpy days."""
    seen = set()
    for seed in range(60):
        (spec, site, working, hp, price, tax, *_, calls, avoid, ppa), compiled = _dispatch_case(seed)
        seen |= {("calls", calls is not None and calls.any()), ("avoid", avoid is not None and avoid.any()),
                 ("no cohorts", len(working) == 0), ("curtailed", price.min() > 400), ("negative", price.min() < 0),
                 ("policy", site.curtailment.policy), ("compiled", compiled), ("ppa", ppa is not None),
                 ("shed all", site.demand_response.committed_mw > 1e4), ("tax", tax > 0)}
    for case in [("calls", True), ("avoid", True), ("no cohorts", True), ("curtailed", True), ("negative", True),
                 ("compiled", False), ("compiled", True), ("ppa", True), ("shed all", True), ("tax", True)] + [
                     ("policy", p) for p in set(POLICIES)]:
        assert case in seen, case


def test_compiled_dispatch_against_a_hand_count():
    """Two cohorts (100 and 150 MW), hand-counted hours, so that a kernel broken the same way as numpy would
    still fail. e* = 48 / 1,000 × 10⁶ / (24 × price): hour 0 cheap (both run); hour 1 a call capping at
    250 − 100 MW (the second cohort runs 50 of its 150 MW); hour 2 avoided (nothing); hour 3 dear (none,
    or the first); hour 4 at e* = 20 J/TH exactly on the first column (the 20 J/TH cohort runs: e ≤ e*)."""
    eff = np.array([20.0, 30.0])
    ths = np.full((2, 2), 5e6)  # TH/s; MW = TH/s × J/TH / 10⁶
    mw = ths * eff[:, None] / 1e6
    price = np.full((24, 2), 10.0)
    price[3] = 150.0, 80.0  # e* 13.3 and 25
    price[4, 0] = 100.0  # e* = 48,000 / 2,400 = 20.0
    calls, avoid = np.zeros((24, 2), bool), np.zeros((24, 2), bool)
    calls[1], avoid[2] = True, True
    hours, running, curtailed, energy = np.empty((24, 2)), *np.empty((3, 2))
    index_kernel.dispatch(eff, ths, mw, merit_order.threshold_value(np.full(2, 48.0), 0.0), price, 0.0, False,
                          24.0, 1.0, merit_order._NO_COUNT, calls, avoid, 100.0, hours, running, curtailed, energy)
    assert hours[:5].tolist() == [[250.0, 250.0], [150.0, 150.0], [0.0, 0.0], [0.0, 100.0], [100.0, 250.0]]
    assert energy.tolist() == [250.0 * 20 + 150.0 + 100.0, 250.0 * 21 + 150.0 + 100.0]
    assert curtailed.tolist() == [100.0 + 250.0 + 250.0 + 150.0, 100.0 + 250.0 + 150.0]
    np.testing.assert_allclose(running, [(1e7 * 20 + 5e6 + 5e6 / 3 + 5e6) / 24, (1e7 * 21 + 5e6 + 5e6 / 3 + 5e6) / 24],
                               rtol=1e-15)


# --------------------------------------------------------------------------- demand-response calls
@pytest.mark.parametrize("seed", range(30))
def test_compiled_call_hours_are_numpys(seed, forms):
    rng = np.random.default_rng(seed)
    cols, rows = int(rng.choice([2, 40, 500])), int(rng.choice([1, 24]))
    probability = float(rng.choice([0.0, 0.002, 0.05, 0.5, 1.0]))
    programme = DemandResponse(committed_mw=1.0, availability_usd_per_mw_month=5000.0, call_probability=probability,
                               summer_call_multiplier=float(rng.choice([1.0, 3.0])))
    month = int(rng.integers(1, 13)) if seed % 2 else rng.integers(1, 13, cols)
    limit = np.minimum(probability * np.where(is_summer(np.asarray(month)), programme.summer_call_multiplier, 1.0), 1.0)
    u = rng.random((24, cols))
    u[7] = limit  # a draw equal to the probability is no call
    price = np.round(rng.lognormal(4, 0.5, (rows, cols)), 0)  # rounded: ties in price, broken by the draws
    price[:, 1] = 0.0
    if rows == 24:
        price[::2, 1] = -0.0  # ranks as 0.0 (numpy's sort order)
        price[5, -1] = np.nan  # the cheapest of all
        # one call (hour 10's draw), two dearest hours with equal draws: the earlier one, hour 3, is called
        price[:, 0], u[:, 0] = 50.0, 0.9
        price[[3, 8], 0], u[[3, 8], 0], u[10, 0] = 90.0, 0.5, 1e-4
    a, b, ran = forms(lambda: demand_response_calls(programme, u, month, price))
    assert ran.get("call_hours") == 1
    assert_same_bits(a, b, "calls")
    if probability == 1.0:  # every hour's draw but hour 7's is a call: the 23 dearest hours are called
        assert (a.sum(axis=0)[1:] == 23).all()
    if rows == 24 and 0 < np.broadcast_to(limit, (cols,))[0] < 0.5:
        assert np.flatnonzero(a[:, 0]).tolist() == [3]


# --------------------------------------------------------------------------- the bill
@pytest.mark.parametrize("seed", range(30))
def test_compiled_bill_is_numpys(seed, forms):
    from simulator.config.schema import PpaPower

    rng = np.random.default_rng(seed)
    cols = int(rng.choice([2, 7, 300]))
    fraction = float(rng.choice([1.0, 0.6, 0.0]))
    contract = PpaPower(contract="ppa", price_usd_per_mwh=30, block_mw=100, min_take_fraction=fraction,
                        index={"mean_usd_per_mwh": 40})
    used = rng.uniform(0, 200, (24, cols))
    used[rng.random((24, cols)) < 0.1] = 100.0  # at the block
    used[rng.random((24, cols)) < 0.1] = 100.0 * fraction  # at the minimum take
    used[rng.random((24, cols)) < 0.1] = 0.0
    price = rng.normal(45, 80, (24, cols))
    ppa = [None, 31.5, 30 * (1 + rng.random(cols) * 0.1)][seed % 3]  # expired, one price, each column's
    tax = float(rng.choice([0.0, 3.5]))
    energy = used.sum(axis=0) if seed % 2 else None
    a, b, ran = forms(lambda: energy_bill(contract, used, price, tax, ppa, energy_mwh=energy))
    assert ran.get("bill") == 1
    assert_same_bits(a.power_cost_usd, b.power_cost_usd, "cost")
    assert_same_bits(a.power_credit_usd, b.power_credit_usd, "credit")


# --------------------------------------------------------------------------- hourly index prices
PRICE_CASES = [
    {},
    {"spike_probability": 0.3, "negative_probability": 0.2, "spike_usd_per_mwh": 6000.0,  # spikes above the cap
     "mean_usd_per_mwh": 3000.0},
    {"negative_probability": 0.1, "negative_usd_per_mwh": -400.0, "vol_daily": 1.5},  # below the floor; base off range
    {"spike_probability": 0.0, "negative_probability": 0.0},
    {"spike_probability": 0.05, "spike_profile": [0.0] * 20 + [30.0] * 4, "cap_usd_per_mwh": 300.0,
     "floor_usd_per_mwh": 20.0, "reversion_daily": 0.0},  # hours with probability 1, a tight range, a random walk
]


@pytest.mark.parametrize("case", range(len(PRICE_CASES)))
@pytest.mark.parametrize("paths", [1, 3, 257])
def test_compiled_index_prices_are_numpys(case, paths, forms):
    from simulator.rng import PathStreams

    model = power.IndexPowerModel(start="2026-05-01", **{"mean_usd_per_mwh": 40.0, **PRICE_CASES[case]})

    def blocks():
        streams, common = PathStreams(11, "power:0", np.arange(paths)), PathStreams(11, "power", np.arange(paths))
        state, out, prices = model.start(streams), None, []
        for day0, n in ((0, 30), (30, 30), (60, 7)):
            out, state = model.block(state, day0, n, streams, common, out=out)
            prices.append(out.copy())
        return prices, state.log_deviation

    (a, ya), (b, yb), ran = forms(blocks)
    assert ran.get("index_hours") == 3
    assert_same_bits(ya, yb, "log deviation")
    for x, y in zip(a, b):
        assert_same_bits(x, y, "prices")


# --------------------------------------------------------------------------- a site's blocks
@pytest.mark.parametrize("paths", [1, 3, 40])
def test_every_oracle_site_case_is_the_same_bits_with_the_compiled_kernels(paths, forms):
    """tests/test_site_block.py's cases (index, PPA expiry with hosting, take-or-pay, schedule, uptime, calls,
    4CP, tuning, stop policies) block by block, numpy against compiled: every flow and the state left."""
    import pandas as pd
    from test_site_block import CASES, block_starts, inputs, scenario, units_of

    from simulator.config.checks import library_for
    from simulator.fleet import build_cohorts
    from simulator.site_block import SiteFlows, site_block
    from simulator.site_day import plan_site, start_site

    def blocks(case):
        name, site, top, days, dynamic = case
        s = scenario(site, top, min(days, 250), dynamic)
        days = s.horizon_days
        cohorts = build_cohorts(s, library_for(s))
        plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
        x = inputs(days, len(cohorts), paths, 3)
        state, out = start_site(plan, 3, np.arange(paths), x["working"][0]), []
        for day0, m in block_starts(days, 30):
            out.append(site_block(plan, state, day0, m, days, x["hashprice"][day0:day0 + m], 3.0,
                                  x["offline"][day0:day0 + m], x["hpc_mw"][day0:day0 + m],
                                  x["working"][day0:day0 + m], units_of(x["working"][day0]),
                                  np.zeros((len(cohorts), paths))))
        return out, state

    ran_any = {}
    for case in CASES:
        (a, state_a), (b, state_b), ran = forms(lambda: blocks(case))
        ran_any.update(ran)
        for x, y in zip(a, b):
            for f in dataclasses.fields(SiteFlows):
                pair = (getattr(x, f.name), getattr(y, f.name))
                for u, v in zip(*(z if isinstance(z, tuple) else (z,) for z in pair)):
                    assert (u is None) == (v is None), (case[0], f.name)
                    if u is not None:
                        assert_same_bits(u, v, f"{case[0]}: {f.name}")
        for name in ("hourly_price", "losing_days", "stopped"):
            if getattr(state_a, name) is not None:
                assert_same_bits(getattr(state_a, name), getattr(state_b, name), f"{case[0]}: state {name}")
    assert set(ran_any) == {"index_hours", "call_hours", "dispatch", "bill"}


# --------------------------------------------------------------------------- whole runs and start-up
@pytest.mark.parametrize("scenario, overrides", [
    ("scenarios/companies/riot.yaml", ["horizon_days=250"]),  # PPA and index sites, calls and 4CP in summer
    ("scenarios/ercot_curtailment.yaml", ["horizon_days=200"]),
])
def test_a_run_is_the_same_bits_with_the_compiled_kernels(scenario, overrides, forms):
    from pathlib import Path

    from simulator.config import load_scenario
    from simulator.engine import simulate

    loaded = load_scenario(Path(__file__).resolve().parents[1] / scenario, ["paths=5"] + overrides)
    a, b, ran = forms(lambda: simulate(loaded, keep_paths=5, workers=1))
    assert ran.get("dispatch") and ran.get("index_hours") and ran.get("bill")
    for name in ("daily", "daily_quantiles", "monthly", "path_metrics"):
        x, y = getattr(a, name), getattr(b, name)
        assert list(x) == list(y) and len(x) > 5
        for column in x:
            assert_same_bits(np.asarray(x[column]), np.asarray(y[column]), f"{name}.{column}")


def test_a_short_run_never_loads_the_compiled_index_kernels():
    """A one-path two-year run on index power stays in numpy, the one-pass block kernel included (start-up,
    benchmarks/bench_startup.py)."""
    import subprocess

    code = ("import sys; from simulator.config import load_scenario; from simulator.engine import simulate\n"
            "simulate(load_scenario('scenarios/ercot_curtailment.yaml', ['paths=1', 'horizon_days=730']), "
            "keep_paths=1, workers=1)\n"
            "print('simulator.index_kernel' in sys.modules, 'simulator.index_block_kernel' in sys.modules)")
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.split() == ["False", "False"]


# --------------------------------------------------------------------------- review findings (session 26)
@pytest.mark.parametrize("seed", range(6))
def test_one_column_stays_in_numpy_with_numpys_bits(seed, forms):
    """numpy adds one column's hours pairwise and the kernels in order: a one-column bill or dispatch must
    not be compiled (which form ran would change the last bits)."""
    from simulator.config.schema import PpaPower

    rng = np.random.default_rng(seed)
    used, price = rng.uniform(0, 200, (24, 1)), rng.normal(45, 80, (24, 1))
    contract = PpaPower(contract="ppa", price_usd_per_mwh=30, block_mw=100, index={"mean_usd_per_mwh": 40})
    a, b, ran = forms(lambda: energy_bill(contract, used, price, 3.5, [None, 31.5][seed % 2]))
    assert "bill" not in ran
    assert_same_bits(a.power_cost_usd, b.power_cost_usd, "cost")
    args, _ = _dispatch_case(seed)
    spec, site, working, hashprice, price, *rest = args
    one = (spec, site, working[:, :1], hashprice[:1], price[:, :1], *rest[:3],
           *(None if x is None else x[:, :1] for x in rest[3:5]), rest[5])
    a, b, ran = forms(lambda: dispatch_site(*one))
    assert "dispatch" not in ran
    assert_same_bits(a.running_ths, b.running_ths, "running")


def test_a_call_at_a_site_without_cohorts_draws_nothing():
    """No cohorts and a demand-response call: the cap is max(0 − shed, 0) = 0 (it was read uninitialised)."""
    columns = 3
    outputs = np.full((24, columns), np.nan), *np.full((3, columns), np.nan)
    for _ in range(3):  # (fresh memory holds whatever was freed before: run more than once)
        index_kernel.dispatch(np.zeros(0), np.zeros((0, columns)), np.zeros((0, columns)), np.ones(columns),
                              np.full((24, columns), 40.0), 0.0, False, 24.0, 1.0, np.zeros((0, 0), dtype=np.int64),
                              np.ones((24, columns), dtype=bool), np.zeros((0, 0), dtype=bool), 5.0, *outputs)
        energy_hourly, running, curtailed, energy = outputs
        for x in outputs:
            assert not np.isnan(x).any()
        assert not energy_hourly.any() and not running.any() and not energy.any() and not curtailed.any()
