"""A block's machine trades (:func:`simulator.fleet.price_trades_block`): the later days' installed fleet summed
cohort by cohort (:func:`simulator.fleet.installed_value` on :func:`simulator.market.asic_price.index_rows`) gives
the bits of :func:`simulator.fleet.price_trades` on the days as columns (issue 19, brief ``opsper``)."""
from __future__ import annotations

import numpy as np
import pytest

from simulator import chain, fleet, trades_kernel
from simulator.columns import as_columns, from_columns
from simulator.market import asic_price
from simulator.market.asic_price import (
    asic_price_usd_per_th,
    chain_halving_adjusted_hashprice,
    halving_adjusted_hashprice,
    index_rows,
)
from tests.kernel_forms import assert_same_bits


def _cohorts(rng, c: int) -> fleet.Cohorts:
    """``c`` cohorts at efficiencies either side of the frontier (12.5 J/TH), some priced, some delivered later."""
    f = lambda *a: rng.uniform(*a, c)  # noqa: E731
    start = np.where(np.arange(c) % 3 == 2, 5.0, 0.0)
    return fleet.Cohorts(
        ids=tuple(map(str, range(c))), models=("m",) * c, site_index=np.zeros(c, np.int64),
        units=np.floor(f(1, 5000)), hashrate_ths=f(90, 300), power_w=f(3000, 6000), efficiency_jth=f(9.0, 38.0),
        start_day=start, end_day=np.full(c, np.inf), capex_usd=np.where(np.arange(c) % 2, f(1e5, 1e6), np.nan),
        purchase=start > 0, resale_usd_per_th=np.where(np.arange(c) % 4 == 1, 3.0, np.nan),
        hosting_usd_per_kwh=np.full(c, np.nan), k_under=f(1, 2), k_over=f(1, 2), min_fraction=f(0.5, 0.7),
        max_fraction=f(1.0, 1.2), dynamic=np.zeros(c, bool), inlet_limit_c=f(30, 40), shutdown_c=f(40, 50))


def _prices(hashprice: np.ndarray, efficiency_jth: np.ndarray):
    """The engine's three functions of a block's days (simulator.engine._Simulation._asic_usd_per_th)."""
    return (lambda a, b: asic_price_usd_per_th(hashprice[a:b, None, :], efficiency_jth[:, None]),
            lambda j: asic_price_usd_per_th(hashprice[j, None, :], efficiency_jth[:, None], new=True),
            lambda a, b: index_rows(hashprice[a:b], efficiency_jth))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf × 0 units, as price_trades
@pytest.mark.parametrize("cohorts, paths", [(1, 2), (9, 3), (20, 1000), (20, 1), (3, 7)])
@pytest.mark.parametrize("n", [1, 2, 30])
@pytest.mark.parametrize("compiled", [False, True])
def test_block_trades_summed_by_cohort_equal_the_days_as_columns(monkeypatch, cohorts, paths, n, compiled):
    """Both forms of :func:`fleet.installed_value` (numpy, and :mod:`simulator.trades_kernel` forced) against the
    days as columns, with NaN, ±0, infinite, tiny, huge and negative hashprices among the days; a block's first day
    among the summed ones when nothing is bought, delivered or leaving on it."""
    monkeypatch.setattr(fleet.TRADES_KERNEL, "for_call", lambda *a, **k: trades_kernel if compiled else None)
    rng = np.random.default_rng(cohorts * 1000 + paths + n)
    c = _cohorts(rng, cohorts)
    hashprice = rng.lognormal(3.7, 0.8, (n, paths))
    at = np.arange(0, hashprice.size, 11)
    hashprice.reshape(-1)[at] = np.resize([np.nan, 0.0, np.inf, 1e-300, 5e5, -0.0, -3.0], at.size)  # edges among the days
    installed = np.floor(rng.uniform(0, 5000, (n, cohorts, paths))) * (rng.random((n, cohorts, paths)) > 0.1)
    installed[:, :, ::2] *= np.resize([1.0, 0.0, -0.0], installed[:, :, ::2].shape)  # whole paths at ±0 units
    index, new, rows = _prices(hashprice, c.efficiency_jth)
    for first, retired in ((0, np.zeros((cohorts, paths))), (5, np.zeros((cohorts, paths))),  # the opening, a delivery
                           (9, np.zeros((cohorts, paths))),  # a plain day: summed by cohort with the later days
                           (0, None), (5, None), (9, None)):  # and with units leaving
        retired = np.floor(rng.uniform(0, 30, (cohorts, paths))) if retired is None else retired
        by_cohort = fleet.price_trades_block(c, first, index, new, rows, retired, installed)
        as_columns = fleet.price_trades_block(c, first, index, new, None, retired, installed)
        assert len(by_cohort) == len(as_columns) == n
        _assert_same_trades(by_cohort, as_columns)


def test_unchanged_days_zero_amounts_are_one_read_only_row_a_field():
    """A block's days summed by cohort (:func:`fleet._unchanged_days`) hold their four per-path amounts of nothing
    (capex, units retired, TH/s retired, resale) as one row of +0.0 a field for every day: read only (a day's row
    shared with the block's other days must never be added to), none sharing memory with another field or with the
    days' installed fleet; their bits are price_trades' (the test above)."""
    rng = np.random.default_rng(12)
    c, n, paths = _cohorts(rng, 4), 6, 5
    hashprice = rng.lognormal(3.7, 0.8, (n, paths))
    installed = np.floor(rng.uniform(0, 5000, (n, 4, paths)))
    days = fleet.price_trades_block(c, 9, *_prices(hashprice, c.efficiency_jth), np.zeros((4, paths)), installed)
    names = ("purchase_capex_usd", "units_retired", "retired_ths", "resale_value_usd")
    for name in names:
        rows = [getattr(t, name) for t in days]
        assert all(r is rows[0] for r in rows), name
        assert not rows[0].flags.writeable and rows[0].shape == (paths,), name
        assert_same_bits(rows[0], np.zeros(paths), name)
        with pytest.raises(ValueError):
            rows[0] += 1.0
    fields = [getattr(days[0], name) for name in names] + [days[0].fleet_market_value_usd, days[0].installed_ehs]
    assert not any(np.shares_memory(a, b) for i, a in enumerate(fields) for b in fields[i + 1:])


def test_index_rows_are_the_index_of_each_cohort():
    """:func:`index_rows` gives :func:`asic_price_usd_per_th`'s bits, cohort by cohort (the floor, the
    frontier, machines better than the frontier, NaN and infinite hashprices)."""
    rng = np.random.default_rng(3)
    hashprice = np.concatenate([rng.lognormal(3.7, 1.0, (4, 500)), np.full((1, 500), np.nan), np.zeros((1, 500)),
                                np.full((1, 500), np.inf)])
    efficiency = np.array([9.0, 12.5, 13.5, 21.5, 29.5, 38.0])
    whole = asic_price_usd_per_th(hashprice[:, None, :], efficiency[:, None])
    for c, row in enumerate(index_rows(hashprice, efficiency)):
        assert_same_bits(row, whole[:, c], f"cohort {c}")
    assert whole[:4, 0].max() > 0 and (whole[:4, 4] == hashprice[:4] / 1e3 * 87.74).mean() > 0.5  # the floor binds


def test_installed_value_sums_in_numpys_order():
    """Sums over 20 cohorts of values 12 decades apart, where the order of the additions shows: numpy's
    ``sum(axis=0)`` of ``(cohorts, columns)``, bit for bit."""
    rng = np.random.default_rng(4)
    installed = rng.uniform(0, 1, (3, 20, 50)) * 10.0 ** rng.integers(-6, 6, (3, 20, 50))
    ths, index = rng.uniform(1, 2, 20), rng.uniform(0.5, 1.5, (3, 20, 50))
    value, total = fleet.installed_value(ths, (index[:, c].copy() for c in range(20)), installed)
    installed_ths = as_columns(installed) * ths[:, None]  # price_trades' arrays: (cohorts, days × paths)
    assert_same_bits(value, from_columns((installed_ths * as_columns(index)).sum(axis=0), 3))
    assert_same_bits(total, from_columns(installed_ths.sum(axis=0) / 1e6, 3))  # [EH/s]
    assert not np.array_equal(total, from_columns(np.sort(installed_ths, axis=0).sum(axis=0) / 1e6, 3))  # order


@pytest.mark.parametrize("paths", [1, 2, 50])
def test_compiled_installed_value_sums_in_numpys_order(paths):
    """The compiled form (:func:`simulator.trades_kernel.installed_value`) on the index's terms: the numpy form's
    bits, with values 12 decades apart (the order of the additions shows; a fused multiply-add would too)."""
    rng = np.random.default_rng(paths)
    installed = rng.uniform(0, 1, (3, 20, paths)) * 10.0 ** rng.integers(-6, 6, (3, 20, paths))
    installed[0, :, 0] = -0.0
    hashprice = rng.lognormal(3.7, 1.0, (3, paths))
    ths, efficiency = rng.uniform(1, 2, 20), rng.uniform(9.0, 38.0, 20)
    rows = index_rows(hashprice, efficiency)
    value, total = np.empty((3, paths)), np.empty((3, paths))
    trades_kernel.installed_value(ths, rows.frontier_usd_per_th, rows.penalty_usd_per_th, rows.floor_usd_per_th,
                                  installed, value, total)
    reference = fleet.installed_value(ths, iter(rows), installed)
    assert_same_bits(value, reference[0])
    assert_same_bits(total, reference[1])


#: Heights from ``low`` to ``high`` and whether the reference takes its no-halving-within-a-year shortcut.
HEIGHTS = [(930_000, 960_000, True), (996_000, 997_440, True), (996_000, 997_441, False), (996_000, 1_049_999, False),
           (1_040_000, 1_060_000, False), (1_050_000, 1_051_000, True), (0, 10, True), (13_440_000, 13_500_000, True),
           (13_440_000, 14e6, False)]
#: Fees of a block's last day: 0, NaN, negative, huge, subnormal, infinite.
LAST_FEES = [[0.0, np.nan, -3.125, 1e300], [0.0, 1e300, 2**-1074], [0.0, np.inf]]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("low, high, shortcut", HEIGHTS)
@pytest.mark.parametrize("last_fees", LAST_FEES)
def test_compiled_chain_index_terms_are_the_adjusted_hashprice_s_terms(low, high, shortcut, last_fees):
    """:func:`trades_kernel.chain_index_terms` (the index's frontier and floor at the halving-adjusted hashprice,
    element by element) against :func:`asic_price._price_terms` of :func:`chain_halving_adjusted_hashprice` (its
    shortcuts taken or not, one era or two, eras past the 64th), with NaN, ±0, infinite, negative and huge
    hashprices and fees: the same bits; and :class:`asic_price.ChainIndexRows` iterates :func:`index_rows` of the
    adjusted hashprice."""
    rng = np.random.default_rng(int(low) % 991)
    height = rng.uniform(low, high, (30, 40))
    height[0, :2] = low, high
    fees = np.concatenate([rng.uniform(0, 0.5, (29, 40)), [np.resize(last_fees, 40)]])
    hashprice = rng.lognormal(3.7, 0.5, (30, 40))
    hashprice[5] = np.resize([np.nan, 0.0, -0.0, np.inf, -np.inf, -3.0, 1e-300, 1e308], 40)
    efficiency = np.array([9.0, 12.5, 21.5, 38.0])
    frontier, penalty, floor = asic_price._price_terms(chain_halving_adjusted_hashprice(hashprice, height, fees),
                                                       efficiency, asic_price.FRONTIER_JTH, False, asic_price.SHIPPED)
    rows = asic_price.chain_index_rows(hashprice, height, fees, efficiency)
    got_frontier, got_floor = np.full(hashprice.shape, -1.0), np.full(hashprice.shape, -1.0)
    trades_kernel.chain_index_terms(hashprice, height, fees, *rows.constants(), got_frontier, got_floor)
    assert_same_bits(got_frontier, frontier)
    assert_same_bits(got_floor, floor)
    assert_same_bits(rows.penalty_usd_per_th, penalty)
    expected = index_rows(chain_halving_adjusted_hashprice(hashprice, height, fees), efficiency)
    for c, (row, expected_row) in enumerate(zip(rows, expected)):
        assert_same_bits(row, expected_row.copy(), f"cohort {c}")


@pytest.mark.parametrize("bad_height", [np.nan, -1.0])
def test_compiled_chain_index_terms_refuse_a_height_without_an_era(bad_height):
    # review 12: a NaN height indexed the subsidy table at INT64_MIN unchecked (a plausible number came out); the
    # numpy reference raises on it, and so does the kernel now
    hashprice, fees, height = np.full((2, 3), 40.0), np.full((2, 3), 0.02), np.full((2, 3), 930_000.0)
    height[1, 2] = bad_height
    rows = asic_price.chain_index_rows(hashprice, np.full((2, 3), 930_000.0), fees, np.array([15.0]))
    with pytest.raises(ValueError, match="NaN or negative"):
        trades_kernel.chain_index_terms(hashprice, height, fees, *rows.constants(), np.empty((2, 3)), np.empty((2, 3)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf × 0 units, as price_trades
@pytest.mark.parametrize("compiled", [False, True])
def test_block_trades_at_the_chain_s_hashprice_equal_the_days_as_columns(monkeypatch, compiled):
    """The engine's functions of a block (:meth:`simulator.engine._Simulation._asic_usd_per_th`: the index at the
    halving-adjusted hashprice of the days asked for, and :func:`asic_price.chain_index_rows`) over blocks crossing
    the year before a halving and the halving itself: the unchanged days summed by cohort, in both forms, give the
    bits of the days as columns."""
    from simulator.engine import _Simulation

    monkeypatch.setattr(fleet.TRADES_KERNEL, "for_call", lambda *a, **k: trades_kernel if compiled else None)
    rng = np.random.default_rng(31)
    c, n, paths = _cohorts(rng, 7), 30, 25
    sim = type("Sim", (), {"cohorts": c})()
    for low in (990_000, 996_500, 1_049_000):
        height = low + np.cumsum(rng.poisson(150, (n, paths)), axis=0).astype(float)
        hashprice, fees = rng.lognormal(3.7, 0.8, (n, paths)), rng.uniform(0, 0.3, (n, paths))
        installed = np.floor(rng.uniform(0, 5000, (n, 7, paths)))
        index, new, rows = _Simulation._asic_usd_per_th(sim, hashprice, height, fees)
        assert isinstance(rows(1, n), asic_price.ChainIndexRows)
        for first, retired in ((9, np.zeros((7, paths))), (5, np.floor(rng.uniform(0, 30, (7, paths))))):
            by_cohort = fleet.price_trades_block(c, first, index, new, rows, retired, installed)
            as_columns = fleet.price_trades_block(c, first, index, new, None, retired, installed)
            _assert_same_trades(by_cohort, as_columns)
        whole = chain_halving_adjusted_hashprice(hashprice, height, fees)  # the days asked for: the block's floats
        assert_same_bits(index(3, 9), asic_price_usd_per_th(whole[3:9, None, :], c.efficiency_jth[:, None]))
        assert_same_bits(new(4), asic_price_usd_per_th(whole[4, None, :], c.efficiency_jth[:, None], new=True))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("low, high, shortcut", HEIGHTS)
@pytest.mark.parametrize("last_fees", LAST_FEES)
def test_halving_adjusted_hashprice_far_from_a_halving_is_the_general_formula(low, high, shortcut, last_fees):
    """Tips all in one era and a year or more before its halving (365 days of 144 blocks: 997,440 is exactly
    a year before 2028's) take the scalar shortcut; the bits are the general formula's (days to the halving,
    the subsidy per era), whatever the fees (0, NaN, negative, huge, infinite; all finite and ≥ 0: the factor
    is 1.0 without computing the shares). A NaN tip takes the general formula."""
    rng = np.random.default_rng(int(low) % 997)
    height = rng.uniform(low, high, (30, 40))
    height[0, :2] = low, high
    fees = np.concatenate([rng.uniform(0, 0.5, (29, 40)), [np.resize(last_fees, 40)]])
    hashprice = rng.lognormal(3.7, 0.5, (30, 40))
    tip = np.floor(height)
    subsidy = chain.subsidy_btc_of_heights(tip)
    general = halving_adjusted_hashprice(hashprice, (chain.next_halving_height_of_heights(tip) - tip) / 144.0,
                                         subsidy / (subsidy + fees))
    assert_same_bits(chain_halving_adjusted_hashprice(hashprice, height, fees), general)
    assert (asic_price._subsidy_btc_a_year_before_a_halving(tip) is not None) == shortcut
    one_era = low // 210_000 == high // 210_000  # then the subsidy and next halving are computed once
    assert (asic_price._highest_tip_of_one_era(tip) is not None) == one_era
    tip[3, 3] = np.nan
    assert asic_price._subsidy_btc_a_year_before_a_halving(tip) is None
    assert asic_price._highest_tip_of_one_era(tip) is None


def _assert_same_trades(got: list, want: list) -> None:
    """Each day's :class:`simulator.fleet.Trades` in ``got`` has ``want``'s fields: None where it is, else the same bits."""
    for day, (a, b) in enumerate(zip(got, want, strict=True)):
        for name in fleet.Trades.__dataclass_fields__:
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None), name
            if x is not None:
                assert_same_bits(x, y, f"day {day} {name}")
