"""An index site's block in one compiled pass (simulator.index_block) against the segment form: the same bits.

``site_block`` computes a common index site's block either segment by segment (columns, numpy or
:mod:`simulator.index_kernel`: the reference) or in one call of :mod:`simulator.index_block_kernel`.
Each test runs both (the lazy kernel patched to return None, then the module) and compares every
output byte for byte (``-0.0`` and ``0.0`` differ, NaNs compare by their bits); a spy checks the
compiled side really ran (issue 19, brief ``idxpass``).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from simulator import index_block, index_block_kernel, index_kernel, merit_order
from simulator.config.checks import library_for
from simulator.fleet import build_cohorts
from simulator import site_block as site_block_module
from simulator.site_block import SiteFlows, site_block
from simulator.site_day import plan_site, start_site

from kernel_forms import assert_same_bits
from test_site_block import CASES, FLEET, INDEX, block_starts, inputs, run_both, scenario, units_of

#: The oracle cases (tests/test_site_block.py) the one pass applies to, plus ``none`` on index prices.
ONE_PASS = ("index-spikes-economic", "index-schedule", "index-none", "index-spikes-only", "index-negatives-only",
            "index-neither", "fixed-economic", "fixed-none")
#: Spikes without negative hours, negative hours without spikes, neither (the one pass draws only the hours'
#: uniforms a probability above 0 can use: the others' prices must still be the segment form's).
EXTRA = [("index-none", {"power": INDEX, "curtailment": {"policy": "none"}}, {}, 40, None),
         ("index-spikes-only", {"power": {**INDEX, "negative_probability": 0.0}, "curtailment": {"policy": "economic"}},
          {}, 64, None),
         ("index-negatives-only", {"power": {**INDEX, "spike_probability": 0.0}, "curtailment": {"policy": "economic"}},
          {}, 64, None),
         ("index-neither", {"power": {**INDEX, "spike_probability": 0.0, "negative_probability": 0.0},
                            "curtailment": {"policy": "none"}}, {}, 40, None)]


@pytest.fixture
def spied(monkeypatch):
    """The compiled ``site_days`` calls made so far, and how many of them drew their prices (a two-item list)."""
    calls = [0, 0]
    compiled, fixed = index_block_kernel.site_days, index_block_kernel.fixed_days

    def counted(*args):
        calls[0] += 1
        calls[1] += bool(args[15])  # draw
        return compiled(*args)

    def counted_fixed(*args):
        calls[0] += 1
        return fixed(*args)
    monkeypatch.setattr(index_block_kernel, "site_days", counted)
    monkeypatch.setattr(index_block_kernel, "fixed_days", counted_fixed)
    return calls


def _force(monkeypatch, kernel):
    monkeypatch.setattr(index_block.INDEX_BLOCK_KERNEL, "for_call", lambda *a, **kw: kernel)
    monkeypatch.setattr(index_block.INDEX_BLOCK_KERNEL, "loaded", lambda: kernel)


def _plan(case, days=None):
    name, site, top, horizon, dynamic = case
    s = scenario(site, top, days or horizon, dynamic)
    cohorts = build_cohorts(s, library_for(s))
    return s, cohorts, plan_site(s, 0, cohorts, pd.date_range(s.start, periods=s.horizon_days, freq="D"))


def test_the_one_pass_applies_to_the_common_index_site_only():
    """Programmes, hosting, PPAs, tuning, stop/retire policies, ``uptime_target`` and fixed prices: the segment form."""
    for case in CASES + EXTRA:
        assert index_block.applies(_plan(case)[2]) == (case[0] in ONE_PASS), case[0]


def _blocks(case, paths: int, n: int, tax: float, seed: int):
    """Every block of the case's horizon from a fresh state: (flows of each block, the state left)."""
    s, cohorts, plan = _plan(case)
    days = s.horizon_days
    x = inputs(days, len(cohorts), paths, seed)
    state, out = start_site(plan, seed, np.arange(paths), x["working"][0]), []
    for day0, m in block_starts(days, n):
        out.append(site_block(plan, state, day0, m, days, x["hashprice"][day0:day0 + m], tax,
                              x["offline"][day0:day0 + m], x["hpc_mw"][day0:day0 + m], x["working"][day0:day0 + m],
                              units_of(x["working"][day0]), np.zeros((len(cohorts), paths))))
    return out, state


def _same_flows(a: SiteFlows, b: SiteFlows, what: str) -> None:
    for f in dataclasses.fields(SiteFlows):
        if f.name in ("table", "booked"):  # the one pass's memory of the first seven fields (None in the segment form)
            continue
        pair = (getattr(a, f.name), getattr(b, f.name))
        for u, v in zip(*(z if isinstance(z, tuple) else (z,) for z in pair)):
            assert (u is None) == (v is None), (what, f.name)
            if isinstance(u, np.ndarray):
                assert_same_bits(u, v, f"{what}: {f.name}")
            else:
                assert u == v, (what, f.name)


@pytest.mark.parametrize("case", [c for c in CASES + EXTRA if c[0] in ONE_PASS], ids=lambda c: c[0])
@pytest.mark.parametrize("paths, n, tax", [(1, 30, 3.0), (3, 7, 3.0), (3, 30, 0.0), (40, 30, 3.0), (2, 1, -2.5)])
def test_a_block_in_one_pass_is_the_segment_forms_bits(case, paths, n, tax, spied, monkeypatch):
    """The oracle cases block by block (offline days, a cohort not yet delivered, spikes and negative hours):
    every flow and the state left, the segment form against the one pass."""
    forms = []
    for kernel in (None, index_block_kernel):
        _force(monkeypatch, kernel)
        forms.append(_blocks(case, paths, n, tax, seed=paths + n))
    (a, state_a), (b, state_b) = forms
    assert spied[0] == len(b)
    # every block of an index site computes its prices in the pass, a price block cut in blocks too (from the
    # terms drawn on its first day); a fixed price's one row: nothing drawn
    drawn = 0 if case[0].startswith("fixed") else len(b)
    assert spied[1] == drawn and (drawn > 0 or case[0].startswith("fixed"))
    if not case[0].startswith("fixed"):
        assert any(day0 % 30 and m < 30 for day0, m in block_starts(case[3], n)) == (n < 30)  # cut price blocks run
    for j, (x, y) in enumerate(zip(a, b)):
        _same_flows(x, y, f"{case[0]} block {j}")
    assert_same_bits(state_a.hourly_price, state_b.hourly_price, "hourly price left")
    if state_a.price_state is None:  # a fixed price
        assert state_b.price_state is None and state_a.price_block is None and state_b.price_block is None
        return
    if len(state_a.price_block) == len(state_b.price_block):
        assert_same_bits(state_a.price_block, state_b.price_block, "price block left")
    else:  # the one pass keeps a drawn block's last day only
        assert spied[1] and len(state_b.price_block) == 1
        assert_same_bits(state_a.price_block[-1], state_b.price_block[0], "price block's last day left")
    assert_same_bits(state_a.price_state.log_deviation, state_b.price_state.log_deviation, "log deviation left")
    assert state_a.price_state.day == state_b.price_state.day


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ONE_PASS], ids=lambda c: c[0])
@pytest.mark.parametrize("n", [1, 30])
def test_a_block_in_one_pass_gives_the_old_day_forms_floats(case, n, spied, monkeypatch):
    """tests/test_site_block.py's oracle (0.2.0's day by day site) with the one pass forced."""
    _force(monkeypatch, index_block_kernel)
    run_both(case, n, paths=3, seed=n + 11)
    assert spied[0] > 0


# --------------------------------------------------------------------------- random inputs and edges
#: Special hashprices; prices are finite (the index model clips to its floor and cap, an hourly CSV file's
#: values must be finite), so theirs are the finite ones: an infinite price times an hour without load is a
#: NaN whose sign bit the compiler may take from either operand of a later sum.
SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, -1e-300, 1e300]
FINITE = [x for x in SPECIAL if np.isfinite(x)]


@functools.cache
def _random_plan(cohorts: int, policy: str, overhead: float):
    """A site of ``cohorts`` cohorts (models repeated: ties in efficiency) under ``policy``, on index prices."""
    models = [c["model"] for c in FLEET[:5]]
    fleet = [{"id": f"c{i}", "model": models[(3 * i) % 5], "units": 500 + 100 * i, "site": "test",
              "deployed": "2025-01-01"} for i in range(cohorts)] + FLEET[-1:]
    curtailment = {"policy": policy} if policy != "schedule" else {"policy": policy, "hours_off": [0, 13, 23]}
    s = scenario({"power": INDEX, "curtailment": curtailment, "cooling_overhead": overhead}, {}, 30, None, fleet=fleet)
    cohorts_ = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts_, pd.date_range(s.start, periods=30, freq="D"))
    assert index_block.applies(plan) and len(plan.mine) == cohorts
    return plan, len(cohorts_)


def _segment_form(plan, prices, hashprice, working, offline, tax):
    """site_block's segment branch on the given inputs: ``{field: (n, P)}``."""
    n, _, paths = prices.shape
    x = site_block_module._Days(hashprice, prices, offline, working, None, None)
    segments = site_block_module._segments(plan, 0, n, x)
    runs = site_block_module._dispatch(plan, None, segments, tax, None, None)
    bills, _ = site_block_module._bills(plan, segments, runs, tax)
    return {k: v.reshape(n, paths) for k, v in bills.items()}


def _with_specials(rng, x: np.ndarray, share: float, values) -> np.ndarray:
    hit = rng.random(x.shape) < share
    x[hit] = rng.choice(np.asarray(values, dtype=float), hit.sum())
    return x


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cohorts=st.sampled_from([0, 1, 2, 3, 4, 5, 8, 9]),
       policy=st.sampled_from(["economic", "economic", "none", "schedule"]), n=st.integers(1, 30),
       paths=st.sampled_from([1, 2, 3, 17]), tax=st.sampled_from([0.0, -0.0, 3.0, -40.0]),
       overhead=st.sampled_from([0.0, 0.05, 0.3]), compiled_reference=st.booleans())
def test_random_blocks_in_one_pass_are_the_segment_forms_bits(seed, cohorts, policy, n, paths, tax, overhead,
                                                             compiled_reference):
    """Random blocks with special values: NaN, ±inf, ±0 and tiny hashprices, ±0, tiny and huge prices, prices at exactly
    −tax (an all-in price of 0), negative prices, nothing working, offline days; the reference's dispatch in
    numpy or in :mod:`simulator.index_kernel`."""
    plan, all_cohorts = _random_plan(cohorts, policy, overhead)
    rng = np.random.default_rng(seed)
    prices = _with_specials(rng, rng.normal(45.0, 60.0, (n, 24, paths)), 0.05, FINITE + [-tax, -250.0, 5000.0])
    hashprice = _with_specials(rng, 50.0 * np.exp(0.5 * rng.standard_normal((n, paths))), 0.1, SPECIAL)
    working = np.floor(rng.uniform(0.0, 1.2, (n, all_cohorts, paths)) * 600.0)
    working[rng.random(working.shape) < 0.2] = 0.0
    offline = rng.random(n) < 0.2
    kernel = index_kernel if compiled_reference else None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(merit_order.INDEX_KERNEL, "for_call", lambda *a, **kw: kernel)
        want = _segment_form(plan, prices, hashprice, working, offline, tax)
        _force(mp, index_block_kernel)
        got = index_block.site_days(index_block_kernel, plan, prices, hashprice, working, offline, tax)
    assert list(got) == list(want)
    for name in want:
        assert_same_bits(want[name], got[name], name)


@functools.cache
def _random_fixed_plan(cohorts: int, policy: str, overhead: float):
    """:func:`_random_plan`'s site on a fixed price."""
    models = [c["model"] for c in FLEET[:5]]
    fleet = [{"id": f"c{i}", "model": models[(3 * i) % 5], "units": 50 + 10 * i, "site": "test",
              "deployed": "2025-01-01"} for i in range(cohorts)] + FLEET[-1:]
    s = scenario({"power": {"contract": "fixed", "price_usd_per_mwh": 55.0}, "curtailment": {"policy": policy},
                  "cooling_overhead": overhead}, {}, 30, None, fleet=fleet)
    cohorts_ = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts_, pd.date_range(s.start, periods=30, freq="D"))
    assert index_block.applies(plan) and plan.prices is None and len(plan.mine) == cohorts
    return plan, len(cohorts_)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cohorts=st.sampled_from([0, 1, 2, 3, 5, 9, 17]),
       policy=st.sampled_from(["economic", "economic", "none"]), n=st.integers(1, 30),
       paths=st.sampled_from([1, 2, 3, 17]), tax=st.sampled_from([0.0, -0.0, 3.0, -40.0]),
       overhead=st.sampled_from([0.0, 0.05, 0.3]))
def test_random_fixed_price_blocks_in_one_pass_are_the_segment_forms_bits(seed, cohorts, policy, n, paths, tax,
                                                                         overhead):
    """A fixed price's one row (:func:`simulator.index_block.fixed_days`) against the segment form's one-row
    dispatch and bill: special hashprices (NaN, ±inf, ±0, tiny), prices of ±0, −tax, negative and huge, nothing
    working, offline days, more cohorts than the comparisons count (a binary search)."""
    plan, all_cohorts = _random_fixed_plan(cohorts, policy, overhead)
    rng = np.random.default_rng(seed)
    price = _with_specials(rng, rng.normal(45.0, 60.0, (1, paths)), 0.3, FINITE + [-tax, -250.0, 5000.0])
    hashprice = _with_specials(rng, 50.0 * np.exp(0.5 * rng.standard_normal((n, paths))), 0.1, SPECIAL)
    working = np.floor(rng.uniform(0.0, 1.2, (n, all_cohorts, paths)) * 600.0)
    working[rng.random(working.shape) < 0.2] = 0.0
    offline = rng.random(n) < 0.2
    want = _segment_form(plan, np.broadcast_to(price, (n, 1, paths)), hashprice, working, offline, tax)
    got = index_block.fixed_days(index_block_kernel, plan, price, hashprice, working, offline, tax)
    assert list(got) == list(want)
    for name in want:
        assert_same_bits(want[name], got[name], name)


def test_an_empty_site_and_an_offline_block_draw_nothing(monkeypatch):
    """No cohorts, or every day offline: nothing runs, nothing is billed, the mean price is still the day's."""
    _force(monkeypatch, index_block_kernel)
    rng = np.random.default_rng(3)
    for cohorts, offline in ((0, False), (4, True)):
        plan, all_cohorts = _random_plan(cohorts, "economic", 0.05)
        prices = rng.normal(45.0, 20.0, (5, 24, 3))
        got = index_block.site_days(index_block_kernel, plan, prices, np.full((5, 3), 50.0),
                                    np.full((5, all_cohorts, 3), 100.0), np.full(5, offline), 2.0)
        for name in ("running_ths", "energy_mwh", "power_cost_usd", "power_credit_usd", "curtailed_mwh"):
            assert not got[name].any(), name
        assert_same_bits(got["mean_price_usd_per_mwh"], prices.sum(axis=1) / 24, "mean price")


def test_a_hand_counted_day():
    """One path-day by hand: three cohorts, a threshold between the second and third, one hour dearer."""
    eff = np.array([15.0, 20.0, 30.0])
    ths, mw = np.array([100.0, 100.0, 100.0]), np.array([0.0015, 0.002, 0.003])  # IT MW a unit
    working = np.array([[[10.0, 10.0], [20.0, 20.0], [30.0, 30.0]]])  # (1 day, 3 cohorts, 2 paths)
    prices = np.full((1, 24, 2), 40.0)
    prices[0, 5] = 400.0  # an hour in which only the first cohort pays
    hashprice = np.full((1, 2), 50.0)  # USD/PH/day, fee 2 %: the threshold's numerator 50 / 1000 × 0.98 × 10⁶
    out = np.full((7, 1, 2), np.nan)
    index_block_kernel.site_days(eff, ths, mw, np.arange(3), working, np.ones(1), hashprice, 1 - 0.02, prices,
                                 np.full(24, -1, dtype=np.int64), 0.0, False, 24.0, 1.0, out, False,
                                 *index_block._NO_DRAW, *index_block._NOT_BOOKED)
    # e* = 49,000 / (40 × 24) = 51.0 J/TH (all run) in 23 hours, 49,000 / (400 × 24) = 5.1 (none) in hour 5
    all_mw = 10 * 0.0015 + 20 * 0.002 + 30 * 0.003
    assert out[1, 0, 0] == pytest.approx(23 * all_mw)  # energy [MWh]
    assert out[4, 0, 0] == pytest.approx(all_mw)  # curtailed [MWh]
    assert out[0, 0, 0] == pytest.approx(23 * 6000.0 / 24)  # mean running TH/s
    assert out[2, 0, 0] == pytest.approx(23 * all_mw * 40.0)  # cost [USD]
    assert out[6, 0, 0] == pytest.approx((23 * 40.0 + 400.0) / 24)  # mean price
    assert out[3, 0, 0] == 0.0 and out[5, 0, 0] == 0.0


# --------------------------------------------------------------------------- the price model's AR(1)
@pytest.mark.parametrize("params", [
    {"vol_daily": 0.35, "common_loading": 0.6},  # the common shock mixed in before the AR(1)
    {"vol_daily": 0.3, "reversion_daily": 0.0},  # a random walk: y_0 = σ z_0
    {"vol_daily": 0.0},  # no volatility: y = 0 on every day
    {"vol_daily": 1.5, "reversion_daily": 1.0, "spike_probability": 0.005},  # independent days
])
@pytest.mark.parametrize("paths", [1, 3, 257])
def test_the_compiled_log_base_is_numpys_loop(params, paths, monkeypatch):
    """:func:`simulator.index_kernel.log_base` against the numpy loop over the days: base, prices and the log
    deviation left, bit for bit, over blocks starting at day 0 and later (IndexPowerModel.draw)."""
    from simulator.market import power
    from simulator.rng import PathStreams

    model = power.IndexPowerModel(start="2026-05-01", mean_usd_per_mwh=40.0, **params)
    calls, compiled = [0], index_kernel.log_base
    monkeypatch.setattr(index_kernel, "log_base", lambda *a: calls.__setitem__(0, calls[0] + 1) or compiled(*a))
    forms = []
    for kernel in (None, index_kernel):
        monkeypatch.setattr(power.PRICE_KERNEL, "for_call", lambda *a, _k=kernel, **kw: _k)
        streams, common = PathStreams(5, "power:1", np.arange(paths)), PathStreams(5, "power_common", np.arange(paths))
        state, out = model.start(streams), []
        for day0, n in ((0, 30), (30, 30), (60, 1), (61, 29)):
            block, state = model.draw(state, day0, n, streams, common)
            out.append((block.base_usd_per_mwh.copy(), block.prices_usd_per_mwh.copy(), state.log_deviation.copy()))
        forms.append(out)
    assert calls[0] == 4
    for (base_a, prices_a, y_a), (base_b, prices_b, y_b) in zip(*forms):
        assert_same_bits(base_a, base_b, "base")
        assert_same_bits(prices_a, prices_b, "prices")
        assert_same_bits(y_a, y_b, "log deviation")


# --------------------------------------------------------------------------- a block's opex split
@pytest.mark.parametrize("capacity", [[60.0] * 4, [0.0, -0.0, 60.0, np.inf], [1e-300, 60.0, 5.0, 0.0],
                                      [60.0, np.nan, 60.0, 60.0]])
@pytest.mark.parametrize("hpc", [[0.0] * 4, [-0.0, 0.0, 0.0, 0.0], [0.0, 70.0, 0.0, 0.0], [0.0, 0.0, np.nan, 0.0]])
def test_the_opex_split_without_hosting_or_hpc_is_mw_shares(capacity, hpc):
    """site_block's shortcut (no hosted and no HPC MW, every one +0.0: zero shares) gives mw_shares' floats; −0.0
    HPC MW, NaN and capacities of 0, −0, tiny and inf included."""
    from simulator.finance.segments import mw_shares

    plan = _random_plan(2, "economic", 0.05)[0]
    plan = dataclasses.replace(plan, capacity_mw=np.array(capacity),
                               site=plan.site.model_copy(update={"opex_usd_per_mw_year": 40000.0}))
    capacity, hpc_mw = np.array(capacity), np.array(hpc)
    with np.errstate(all="ignore"):
        got = site_block_module._site_costs(plan, 0, 4, np.zeros(4, dtype=bool), hpc_mw, None)
        shares = np.array([mw_shares(c, h, x) for c, h, x in zip(capacity, np.zeros(4), hpc_mw)])
        opex = plan.site.opex_usd_per_mw_year * capacity / 365
        assert_same_bits(got["site_opex_hosting_usd"], opex * shares[:, 0], "hosting opex")
        assert_same_bits(got["site_opex_hpc_usd"], opex * shares[:, 1], "hpc opex")
    assert site_block_module._all_plus_zero(hpc_mw) == (hpc == [0.0] * 4 and not np.signbit(hpc_mw).any())


def test_the_days_mw_shares_are_mw_shares_floats():
    """The opex split's MW shares of a block's days in one numpy pass are :func:`mw_shares`' Python floats, bit for
    bit, over every combination of special capacities, hosted and HPC MW (−0.0, NaN, ±inf, negative, tiny, above
    the capacity), and through :func:`_site_costs` with HPC and hosted MW."""
    from simulator.finance.segments import mw_shares, mw_shares_of_days

    special = [0.0, -0.0, 1e-300, 5.0, 60.0, 70.0, -3.0, np.inf, -np.inf, np.nan]
    c, h, x = (a.ravel() for a in np.meshgrid(special, special, special, indexing="ij"))
    got = mw_shares_of_days(c, h, x)
    want = np.array([mw_shares(*v) for v in zip(c.tolist(), h.tolist(), x.tolist())])
    assert_same_bits(got, want, "mw shares")
    plan = _random_plan(2, "economic", 0.05)[0]
    plan = dataclasses.replace(plan, capacity_mw=np.array([60.0, 60.0, 0.0, 60.0]),
                               site=plan.site.model_copy(update={"opex_usd_per_mw_year": 40000.0}))
    hpc_mw = np.array([0.0, 70.0, 5.0, 25.0])
    got = site_block_module._site_costs(plan, 0, 4, np.zeros(4, dtype=bool), hpc_mw, None)
    opex = 40000.0 * plan.capacity_mw / 365
    shares = np.array([mw_shares(a, 0.0, b) for a, b in zip(plan.capacity_mw.tolist(), hpc_mw.tolist())])
    assert_same_bits(got["site_opex_hpc_usd"], opex * shares[:, 1], "hpc opex")
    assert got["site_opex_hpc_usd"][1] == opex[1] and 0 < got["site_opex_hpc_usd"][3] < opex[3]


def test_a_fixed_site_never_spends_the_numpy_budget(monkeypatch):
    """A fixed-price site's small blocks run the segment form while the kernel is unloaded and spend nothing of
    its numpy budget (a small run's fixed sites never make it load numba); a large block or a loaded kernel: the
    one pass."""
    plan = _random_fixed_plan(3, "economic", 0.05)[0]
    lazy = index_block.INDEX_BLOCK_KERNEL
    monkeypatch.setattr(lazy, "loaded", lambda: None)
    monkeypatch.setattr(lazy, "spent", 0)
    for _ in range(1000):
        assert index_block.kernel_for(plan, 30, 1) is None
    assert lazy.spent == 0
    assert index_block.kernel_for(plan, 30, 1000) is index_block_kernel  # 30 × 1,000 × 4 ≥ 2¹⁶
    monkeypatch.setattr(lazy, "loaded", lambda: index_block_kernel)
    assert index_block.kernel_for(plan, 1, 1) is index_block_kernel
