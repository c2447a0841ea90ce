"""The network's day split by path: one segment where no height is reached, the full split elsewhere.

:func:`simulator.network.advance_day` computes every path's day in one segment and redoes only
the paths that reach a retarget or halving height (or whose epoch's first block is still to
come) with the full split, :func:`simulator.network._split_day`. These tests check that the
result is bit for bit the full split applied to every path, on chains built to straddle
retarget and halving heights, in poisson, expected and replay modes; and that the in-place
growth block is the formula of :class:`simulator.network.GrowthHashrate`.
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from simulator import chain, network, units
from simulator.rng import PathStreams, poisson_inverse_cdf

PATHS = 3000


def mixed_chain(rng, centre: int, paths: int = PATHS) -> network.ChainState:
    """Tips within ±400 blocks of ``centre``; a tenth of the paths just closed an epoch (first block to come)."""
    height = (centre + rng.integers(-400, 400, paths)).astype(float)
    closed = rng.random(paths) < 0.1
    height[closed] = (height[closed] // chain.RETARGET_INTERVAL + 1) * chain.RETARGET_INTERVAL - 1
    next_retarget = (height // chain.RETARGET_INTERVAL + 1) * chain.RETARGET_INTERVAL
    next_retarget[closed] += chain.RETARGET_INTERVAL  # the retarget at height + 1 was applied yesterday
    in_epoch = height - (next_retarget - chain.RETARGET_INTERVAL)
    epoch_start = np.where(closed, np.nan, -in_epoch * units.TARGET_BLOCK_INTERVAL_S * (0.8 + 0.4 * rng.random(paths)))
    return network.ChainState(height, 1.5e14 * (0.9 + 0.2 * rng.random(paths)), epoch_start, next_retarget)


def full_split(state, day, n, fees, difficulty_at=None):
    """The reference: the full split on every path."""
    return network._split_day(state, day, n, fees, difficulty_at, None)


def assert_same_day(state, day, hashrate_hs, fees, u=None, **replay):
    new, blocks = network.advance_day(state, day, hashrate_hs, fees, u, **replay)
    ref_state, ref_reward, ref_revenue = full_split(state, day, blocks.blocks, fees, replay.get("difficulty_at"))
    for got, want in ((new.height, ref_state.height), (new.difficulty, ref_state.difficulty),
                      (new.epoch_start_s, ref_state.epoch_start_s), (new.next_retarget, ref_state.next_retarget),
                      (blocks.reward_btc_per_hs_day, ref_reward), (blocks.miner_revenue_btc, ref_revenue)):
        assert_array_equal(got, want, strict=True)  # bit for bit (NaN where NaN)
    return new, blocks


@pytest.mark.parametrize("centre", [930_000 + 1392, 1_050_000, 1_049_300, 931_000])
@pytest.mark.parametrize("mode", ["poisson", "expected"])
def test_day_is_the_full_split_on_every_path(centre, mode):
    rng = np.random.default_rng(centre)
    state = mixed_chain(rng, centre)
    fees = 0.025 * rng.random(PATHS)
    start = state
    for day in range(4):  # the chain moves on: paths reach their heights on different days
        hashrate_hs = 1e21 * (0.8 + 0.4 * rng.random(PATHS))
        u = rng.random(PATHS) if mode == "poisson" else None
        state, blocks = assert_same_day(state, day, hashrate_hs, fees, u)
        if mode == "expected":
            assert_array_equal(blocks.blocks, blocks.expected_blocks)
    crossed_retarget = state.next_retarget != start.next_retarget
    crossed_halving = state.height >= chain.next_halving_height_of_heights(start.height)
    crossed = crossed_retarget | crossed_halving
    assert crossed.any() and (~crossed).any()  # both branches ran
    assert crossed_halving.any() == (centre > 1_049_000)


def test_scalar_fees_and_a_day_without_any_crossing():
    rng = np.random.default_rng(3)
    height = np.full(PATHS, 930_000.0)  # 1,392 blocks before the retarget, far from the halving
    state = network.ChainState(height, np.full(PATHS, 1.5e14), np.full(PATHS, -1e5), np.full(PATHS, 931_392.0))
    new, blocks = assert_same_day(state, 0, np.full(PATHS, 1e21), 0.03, rng.random(PATHS))
    assert new.difficulty is state.difficulty  # nothing to split: the day's state carries over
    np.testing.assert_allclose(blocks.miner_revenue_btc, blocks.blocks * (3.125 + 0.03), rtol=1e-15)


def test_replay_with_the_epoch_table():
    rng = np.random.default_rng(4)
    state = mixed_chain(rng, 930_000 + 2016 * 3)
    table = 1e14 * (1 + np.arange(1000) / 100)

    def difficulty_at(heights):
        return table[(np.asarray(heights) // chain.RETARGET_INTERVAL).astype(np.int64) - 460]

    blocks = rng.integers(100, 200, PATHS).astype(float)
    assert_same_day(state, 0, np.full(PATHS, 1e21), 0.02 * rng.random(PATHS), blocks=blocks,
                    difficulty_at=difficulty_at)


def test_subsidy_of_one_height_is_the_table_entry():
    """The quiet day's scalar subsidy (Core's rule in sats / 1e8) is the daily arrays' table entry, bit for bit."""
    heights = [0, 209_999, 210_000, 839_999, 840_000, 1_049_999, 1_050_000, 64 * 210_000, 10**9]
    assert [chain.block_subsidy_sats(h) / units.SATS_PER_BTC for h in heights] == \
        chain.subsidy_btc_of_heights(np.array(heights, dtype=float)).tolist()


def test_growth_block_is_the_trend_times_the_gbm_factor():
    """The block's in-place arithmetic gives the written formula: trend × exp(log factor)."""
    model = network.GrowthHashrate(800.0, 0.3, 0.2)
    streams, again = (PathStreams(9, "network_hashrate", np.arange(50)) for _ in range(2))
    state = model.start(streams)
    values, state = model.block(state, 0, 40, streams)
    values2, state2 = model.block(state, 40, 40, streams)
    dt_years = 1.0 / units.DAYS_PER_YEAR
    z = again.normal((80,))
    log_noise = np.cumsum(-0.5 * 0.2**2 * dt_years + 0.2 * np.sqrt(dt_years) * z, axis=0)
    trend = network.growth_day_mean(800.0, 0.3, 0, 80)[:, None]
    assert_array_equal(values, trend[:40] * np.exp(log_noise[:40]))  # the first block from log factor 0: exact
    assert_array_equal(state.log_noise, log_noise[39])
    # the next block sums on from the carried log factor (another order of the same sum)
    np.testing.assert_allclose(values2, trend[40:] * np.exp(log_noise[40:]), rtol=1e-12)
    np.testing.assert_allclose(state2.log_noise, log_noise[-1], rtol=1e-12)


def test_poisson_blocks_keep_the_inverse_cdf():
    """The draws of :func:`poisson_inverse_cdf` are min{k : F(k; λ) > u}, checked with scipy's CDF."""
    from scipy import special
    rng = np.random.default_rng(8)
    lam = np.concatenate([rng.random(4000) * 300, [0.0, 1e-300, 5e6]])
    u = rng.random(lam.size)
    k = poisson_inverse_cdf(u, lam)
    assert (special.pdtr(k, lam) > u).all()
    above_zero = k > 0
    assert (special.pdtr(k[above_zero] - 1, lam[above_zero]) <= u[above_zero]).all()
    assert (k[lam == 0] == 0).all()


@pytest.mark.parametrize("mode", ["poisson", "expected"])
def test_two_retargets_in_a_day(mode):
    """More than 2,016 blocks in a day (a hashrate 25× the difficulty's): some paths retarget twice."""
    rng = np.random.default_rng(11)
    state = mixed_chain(rng, 931_000)
    hashrate_hs = 2.5e22 * (0.8 + 0.4 * rng.random(PATHS))
    new, _ = assert_same_day(state, 0, hashrate_hs, 0.02 * rng.random(PATHS),
                             rng.random(PATHS) if mode == "poisson" else None)
    assert (new.next_retarget - state.next_retarget == 2 * chain.RETARGET_INTERVAL).any()
