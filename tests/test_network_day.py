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


# --------------------------------------------------------------------------- several epoch ends in one day
#: A retarget height (463 × 2,016) and Bitcoin Core's target timespan [s].
R = 463 * chain.RETARGET_INTERVAL
T = chain.TARGET_TIMESPAN_S


def one_path(height: float, epoch_start_s: float, next_retarget: float = R, difficulty: float = 1.5e14):
    return network.ChainState(*(np.array([float(x)]) for x in (height, difficulty, epoch_start_s, next_retarget)))


def by_hand(state, day: int, n: float, fees: float):
    """The day written out: block h is mined at ``day + (h − h0)/n`` days; every epoch end (2,016 blocks,
    whatever the day) retargets by Core's rule (:func:`simulator.chain.next_difficulty`, the epoch's
    2,015 intervals from its first block's time); the reward is ``86400/2³² ∫ (s + fees)/D(t) dt`` over
    the day's pieces. Returns the end-of-day difficulty, epoch start [s], next retarget and reward."""
    h0, d, r = float(state.height[0]), float(state.difficulty[0]), float(state.next_retarget[0])
    s = chain.block_subsidy_sats(int(h0) + 1) / units.SATS_PER_BTC

    def t(h):
        return (day + (h - h0) / n) * units.SECONDS_PER_DAY

    start = float(state.epoch_start_s[0])
    if np.isnan(start) and r - chain.RETARGET_INTERVAL <= h0 + n:
        start = t(r - chain.RETARGET_INTERVAL)  # the epoch's first block is today's
    pieces, f0 = [], 0.0
    while r - 1 <= h0 + n:  # block r − 1, the epoch's last, is mined today
        f = (r - 1 - h0) / n
        pieces.append((f - f0, d))
        d, f0 = chain.next_difficulty(d, t(r - 1) - start), f
        start = t(r) if r <= h0 + n else np.nan
        r += chain.RETARGET_INTERVAL
    pieces.append((1 - f0, d))
    reward = units.SECONDS_PER_DAY / units.HASHES_PER_DIFFICULTY_1 * sum(x * (s + fees) / y for x, y in pieces)
    return d, start, r, reward


def split(state, n, fees=0.02, day=3):
    """The numpy day with ``n`` blocks given (the retarget rule applies: no epoch table)."""
    new, blocks = network.advance_day(state, day, np.zeros(1), np.array([fees]), None, blocks=n)
    return new, blocks


@pytest.mark.parametrize("n", [2016.0, 2500.0, 3000.0])
def test_an_epoch_whose_first_block_is_to_come_retargets_within_the_day(n):
    """The tip closed an epoch yesterday (its first block is still to come) and today brings ≥ 2,016 blocks
    (~14× the difficulty's hashrate): the epoch starts and ends today. The difficulty was NaN; it is Core's:
    the 2,015 intervals take 2,015/n of a day, under T/4, so the difficulty rises by the clamp's 4×, and the
    integer rule (Core's src/pow.cpp CalculateNextWorkRequired, :func:`simulator.chain.next_bits` on whole
    seconds) agrees within its compact rounding."""
    state = one_path(R - chain.RETARGET_INTERVAL - 1, np.nan)
    new, blocks = split(state, n)
    d, start, r, reward = by_hand(state, 3, n, 0.02)
    assert np.isfinite(new.difficulty).all()
    np.testing.assert_allclose(new.difficulty, d, rtol=1e-15)
    np.testing.assert_allclose(new.difficulty, 4 * 1.5e14, rtol=1e-15)
    assert_array_equal(new.next_retarget, [r])
    np.testing.assert_allclose(new.epoch_start_s, start, rtol=1e-15)  # NaN (tomorrow) when n = 2,016
    assert np.isnan(new.epoch_start_s[0]) == (n == 2016.0)
    np.testing.assert_allclose(blocks.reward_btc_per_hs_day, reward, rtol=1e-14)
    first = int((3 + 1 / n) * units.SECONDS_PER_DAY)
    last = int((3 + 2016 / n) * units.SECONDS_PER_DAY)
    core = chain.difficulty_from_bits(chain.next_bits(chain.bits_from_difficulty(1.5e14), first, last))
    assert abs(core / new.difficulty[0] - 1) < 2**-15


@pytest.mark.parametrize("h0, epoch_start_s, n", [(R - 100, -1916 * 600.0, 10_000.0),
                                                   (R - chain.RETARGET_INTERVAL - 1, np.nan, 9_000.0),
                                                   (R - 2, -2014 * 700.0, 4033.0)])
def test_several_epoch_ends_in_one_day_each_retarget_and_the_reward_is_time_weighted(h0, epoch_start_s, n):
    """3 to 5 epochs ending in one day (the last at the day's last block: its successor starts tomorrow):
    every retarget by Core's rule in turn, the epoch start of the last, and the reward weighted by the
    time each difficulty held (it took the last one's after the first retarget before)."""
    state = one_path(h0, epoch_start_s)
    new, blocks = split(state, n)
    d, start, r, reward = by_hand(state, 3, n, 0.02)
    assert (new.next_retarget - state.next_retarget)[0] >= 2 * chain.RETARGET_INTERVAL
    np.testing.assert_allclose(new.difficulty, d, rtol=1e-13)
    assert_array_equal(new.next_retarget, [r])
    np.testing.assert_allclose(new.epoch_start_s, start, rtol=1e-15)
    np.testing.assert_allclose(blocks.reward_btc_per_hs_day, reward, rtol=1e-13)


def test_a_day_of_a_quadrillion_blocks_ends_quickly_at_an_infinite_difficulty():
    """2⁵⁰ blocks in a day (an absurd hashrate): once the difficulty overflows to +inf (every retarget
    within such a day takes the clamp's 4×) the remaining 5·10¹¹ retargets cannot change it and are
    skipped to the last: the day ends in well under a second (it looped for ever, an epoch at a time)."""
    from test_rng import run_with_timeout

    code = ("import sys, time; sys.path.insert(0, 'tests'); import numpy as np\n"
            "from test_network_day import one_path, split, R\n"
            "t = time.perf_counter(); new, b = split(one_path(R - 100, -1916 * 600.0), 2.0**50)\n"
            "print(time.perf_counter() - t, new.difficulty[0], new.next_retarget[0], new.epoch_start_s[0], "
            "b.reward_btc_per_hs_day[0])")
    seconds, difficulty, next_retarget, epoch_start, reward = map(float, run_with_timeout(code)[0].split())
    assert seconds < 1.0
    h_end = R - 100 + 2.0**50
    last_first = R + np.floor((h_end - R) / chain.RETARGET_INTERVAL) * chain.RETARGET_INTERVAL
    assert difficulty == np.inf and next_retarget == last_first + chain.RETARGET_INTERVAL
    assert epoch_start == (3 + (last_first - (R - 100)) / 2.0**50) * units.SECONDS_PER_DAY
    assert 0 < reward < 1e-20  # the blocks before the first retarget, at 1.5e14 (99/2⁵⁰ of the day)


@pytest.mark.parametrize("h0, n", [(1_049_000.0, 500_000.0), (1_049_000.0, 210_999.5), (13_000_000.0, 900_000.0),
                                   (1_049_000.0, 1_000.0)])
def test_a_day_across_several_halvings_pays_each_era_s_subsidy(h0, n):
    """The miners' revenue of a day of ≥ 210,000 blocks is every height's own subsidy (Core's
    GetBlockSubsidy, src/validation.cpp: :func:`simulator.chain.block_subsidy_sats`, summed in sats) plus
    the fees; it paid the second era's past the second halving before. ``expected`` mode's fractional
    count pays its last fraction of a block at the last era's subsidy; past era 64 (height 13,440,000)
    nothing; a day with one halving keeps its closed form."""
    state = one_path(h0, -1916 * 600.0, chain.next_retarget_height(int(h0) + 1))
    _, blocks = split(state, n, fees=0.02)
    heights = np.arange(int(h0) + 1, int(h0 + n) + 1)
    sats = int(chain.block_subsidy_sats(heights).sum())
    tail = (n - heights.size) * chain.block_subsidy_sats(int(h0 + n) + 1)  # expected mode's part of a block
    np.testing.assert_allclose(blocks.miner_revenue_btc, (sats + tail) / units.SATS_PER_BTC + n * 0.02, rtol=1e-13)


def test_a_day_whose_blocks_cannot_be_counted_raises_naming_the_hashrate():
    """An infinite or absurd network hashrate (λ above 2⁵² blocks a day, where heights stop being exact):
    a ValueError naming the day, the hashrate and the difficulty, in both block modes, instead of an
    endless day (``expected`` mode stepped through its infinitely many retargets for ever) or a Poisson
    count of −2⁶³. NaN keeps its NaN day."""
    from test_rng import run_with_timeout

    code = ("import sys; sys.path.insert(0, 'tests'); import numpy as np\n"
            "from simulator import network\n"
            "from test_network_day import R\n"
            "state = network.ChainState(np.full(2, R - 100.0), np.full(2, 1.5e14), np.full(2, -1e6), np.full(2, R))\n"
            "for u in (None, np.full(2, 0.5)):\n"
            "    for hashrate_hs in (np.inf, 1e40):\n"
            "        try:\n"
            "            network.advance_day(state, 3, np.array([1e21, hashrate_hs]), np.full(2, 0.02), u)\n"
            "        except ValueError as exc:\n"
            "            print('ValueError', exc)\n"
            "new, _ = network.advance_day(state, 3, np.array([1e21, np.nan]), np.full(2, 0.02), None)\n"
            "print(new.height[1])\n")
    lines = run_with_timeout(code)
    assert len(lines) == 5 and lines[-1] == "nan", lines
    assert all(line.startswith("ValueError day 3:") and "above 2**52" in line and "at difficulty 1.5e+14" in line
               for line in lines[:4]), lines
    assert "hashrate of inf EH/s" in lines[0] and "hashrate of 1e+22 EH/s" in lines[1]
