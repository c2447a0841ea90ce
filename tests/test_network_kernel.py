"""The compiled network day (simulator.network_kernel, simulator.poisson_kernel) against the numpy reference.

Block counts are integers decided by the last bit of scipy's Poisson CDF, so the compiled inverse
CDF must give the reference's counts exactly (:func:`simulator.rng.poisson_inverse_cdf`), and the
compiled one-segment day the reference's floats (:func:`simulator.network.advance_day`), bit for bit
(issue 19, the network actor).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from numpy.testing import assert_array_equal
from scipy import special

from simulator import chain, network, network_kernel, poisson_kernel, units
from simulator.rng import PathStreams, poisson_inverse_cdf

from test_network_day import mixed_chain as network_day_chain

#: The streams' uniforms are in (0, 1); 0 and the largest doubles below 1 are the edges.
EDGE_U = np.array([0.0, 2**-54, 1e-300, 1e-12, 0.5, 1 - 1e-12, 1 - 2**-52, 1 - 2**-53])
#: λ = 0, tiny, ordinary, and around the estimates' bound 1e7.
EDGE_LAMBDA = np.array([0.0, 1e-300, 1e-9, 0.3, 1.0, 144.0, 9_999_999.0, 1e7, 1.5e7])
#: Far beyond it (the reference steps from the guess one vectorised call a count: its u stay where
#: the guess is near; u → 0 at λ = 1e7 already takes it ~10⁵ steps).
HUGE_LAMBDA, HUGE_U = np.array([4e9, 1e12]), np.array([1e-12, 1e-6, 0.5, 0.9])
#: The Poisson counts' CDF table (simulator.poisson_kernel's module notes), as the network passes it.
TABLE = poisson_kernel.CDF_TABLE


def assert_counts_equal(u, lam):
    with np.errstate(invalid="ignore"):  # NaN counts cast to int64 (the reference's own warning)
        want = poisson_inverse_cdf(u, lam)
        got = poisson_kernel.poisson_inverse_cdf(u, lam)
    assert got.dtype == want.dtype == np.int64
    assert_array_equal(got, want)


def test_compiled_scipy_functions_are_scipys():
    """pdtr and gammaln called by symbol are scipy's ufuncs' values, bit for bit (k ≥ 0, at and off integers,
    λ from 0 to 1e12, NaN)."""
    rng = np.random.default_rng(5)
    lam = np.concatenate([rng.random(2000) * 300, 10 ** rng.uniform(-6, 12, 2000), EDGE_LAMBDA, [np.nan, 1.0]])
    k = np.concatenate([np.floor(lam[:-2] * rng.uniform(0.5, 1.5, lam.size - 2)), [3.0, np.nan]])
    k[::7] += 0.5
    assert_array_equal([poisson_kernel.pdtr(a, b) for a, b in zip(k, lam)], special.pdtr(k, lam))
    x = np.concatenate([lam, k + 1, [0.5, 1.0, 2.0, 1e-300, np.inf]])
    assert_array_equal([poisson_kernel.gammaln(v) for v in x], special.gammaln(x))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0, 150.0, 1e4, 1e6, 2e7, 1e12])
def test_counts_equal_the_reference_on_random_draws(scale):
    rng = np.random.default_rng(int(scale) % 1000 + 17)
    lam = rng.random(40_000) * scale
    u = rng.random(lam.size)
    if scale <= 1e4:
        u[:EDGE_U.size] = EDGE_U
    assert_counts_equal(u, lam)


def test_counts_equal_the_reference_on_every_edge():
    """Every pair of edge uniforms and edge means, in 2-D (the reference's shape kept), but u → 0 at
    λ ≥ 1e6 (a million reference steps); huge means with uniforms where their guess is near."""
    u, lam = np.meshgrid(EDGE_U, EDGE_LAMBDA)
    keep = ~((lam >= 1e6) & ((u == 0) | (u == 1e-300)))
    u[~keep] = 0.25
    assert_counts_equal(u, lam)
    u, lam = np.meshgrid(HUGE_U, HUGE_LAMBDA)
    assert_counts_equal(u, lam)


@pytest.mark.parametrize("lam", [0.5, 3.0, 144.0, 1e4, 5e6, 2e7])
def test_counts_equal_the_reference_at_the_cdf_steps(lam):
    """u exactly at F(k; λ) and one double either side: where a count is decided by the last bit (the
    estimates are too close to call and the exact CDF steps)."""
    sd = np.sqrt(lam)
    k = np.unique(np.floor(np.linspace(max(lam - 6 * sd, 0), lam + 6 * sd, 400)))
    cdf = special.pdtr(k, lam)
    u = np.concatenate([cdf, np.nextafter(cdf, 0.0), np.nextafter(cdf, 1.0)])
    u = u[u < 1.0]
    assert_counts_equal(u, np.full(u.size, lam))


def test_values_outside_the_domain_are_the_reference_s():
    """NaN, infinite or beyond-2⁵² λ, negative λ, u outside [0, 1) or NaN: the kernel declines (OTHER,
    nothing written) and the reference's counts come back, or its ValueError (λ above 2⁵², u ≥ 1)."""
    u = np.array([0.3, np.nan, -0.1, 0.7, 0.7, 0.2, 1.5, 0.7, 0.7, 1.0])
    lam = np.array([5.0, 5.0, 5.0, np.nan, -3.0, 0.0, 5.0, np.inf, 1e17, 5.0])
    out = np.full(u.size, -7.0)
    with np.errstate(invalid="ignore"):
        z = np.clip(special.ndtri(u), -8.0, 8.0)
    for i in range(6, 10):
        keep = np.r_[0:6, i]
        assert poisson_kernel.counts(u[keep], z[keep], lam[keep], out[keep], TABLE) == poisson_kernel.OTHER
        for form in (poisson_inverse_cdf, poisson_kernel.poisson_inverse_cdf):
            with pytest.raises(ValueError, match="element 6"):
                form(u[keep], lam[keep])
    assert poisson_kernel.counts(u[:6], z[:6], lam[:6], out[:6], TABLE) == poisson_kernel.OTHER
    assert (out == -7.0).all()
    assert_counts_equal(u[:6], lam[:6])
    u, lam, z = u[:6], lam[:6], z[:6]
    inside = np.array([0, 4, 5])  # λ ≤ 0 gives 0 whatever u is; the others in the domain
    assert poisson_kernel.counts(u[inside], z[inside], lam[inside], out[:3], TABLE) == poisson_kernel.OK
    assert out[:3].tolist() == [float(poisson_inverse_cdf(u[:1], lam[:1])[0]), 0.0, 0.0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.sampled_from(EDGE_U[3:].tolist()), st.floats(2**-53, 1.0, exclude_max=True)),
                          st.one_of(st.sampled_from(EDGE_LAMBDA.tolist()), st.floats(0.0, 2e7))),
                min_size=1, max_size=30))
def test_counts_equal_the_reference_property(draws):
    """Any u the streams can give, any λ up to 2e7, mixed in one array."""
    u, lam = (np.array(x, dtype=float) for x in zip(*draws))
    assert_counts_equal(u, lam)


# --------------------------------------------------------------------------- the day
PATHS = 2000


def mixed_chain(rng, centre: int) -> network.ChainState:
    """:func:`test_network_day.mixed_chain` on :data:`PATHS` paths."""
    return network_day_chain(rng, centre, PATHS)


class Forced:
    """A stand-in for :data:`simulator.network.NETWORK_KERNEL` that always gives ``module`` (None: numpy)."""

    def __init__(self, module):
        self.module, self.calls = module, 0

    def for_call(self, size, overhead=0):
        self.calls += 1
        return self.module


def run_block(monkeypatch, module, state, mode, ehs, days=30, seed=0):
    """``days`` days of :func:`simulator.network.advance_block` on a growth hashrate with volatility."""
    forced = Forced(module)
    monkeypatch.setattr(network, "NETWORK_KERNEL", forced)
    rng = np.random.default_rng(seed)
    hashrate = network.HashrateDays(network.GrowthHashrate(ehs, 0.4, 0.6), PATHS,
                                    PathStreams(3, "network_hashrate", np.arange(PATHS)), 365)
    fees = 0.03 * rng.random((days, PATHS))
    u = rng.random((days, PATHS)) if mode == "poisson" else None
    price = 9e4 * (0.5 + rng.random((days, PATHS)))
    end, block = network.advance_block(state, hashrate, 0, days, 365, price, fees, u, 1.25)  # a shock on day 0
    assert forced.calls == 1
    return end, block


@pytest.mark.parametrize("centre, ehs, days", [(930_000 + 1392, 1000.0, 30), (1_049_000, 1000.0, 30),
                                               (931_000, 25_000.0, 30), (1_050_200, 1000.0, 30)])
@pytest.mark.parametrize("mode", ["poisson", "expected"])
def test_compiled_block_is_numpy_s_bit_for_bit(monkeypatch, centre, ehs, days, mode):
    """A block of 30 days through the compiled day equals numpy's: every output and the chain, bit for
    bit; the chains straddle retargets, the 2028 halving (the halving's own numpy branch), epochs whose
    first block is to come, and 25× the difficulty's hashrate (two retargets a day, epochs that start and end
    within one day: the reference's difficulty was NaN there)."""
    start = mixed_chain(np.random.default_rng(centre), centre)
    numpy_days, advance_day = [], network.advance_day  # the days the compiled block leaves to numpy's whole day
    monkeypatch.setattr(network, "advance_day", lambda *a, **k: numpy_days.append(a[1]) or advance_day(*a, **k))
    got = run_block(monkeypatch, network_kernel, start, mode, ehs, days)
    assert not numpy_days  # near the halving too: the kernel's counts, the split in numpy (_near_halving_day)
    monkeypatch.setattr(network, "advance_day", advance_day)
    want = run_block(monkeypatch, None, start, mode, ehs, days)
    (s1, b1), (s2, b2) = got, want
    for x, y in ((s1.height, s2.height), (s1.difficulty, s2.difficulty), (s1.epoch_start_s, s2.epoch_start_s),
                 (s1.next_retarget, s2.next_retarget), (b1.hashrate_ehs, b2.hashrate_ehs),
                 (b1.difficulty, b2.difficulty), (b1.height, b2.height), (b1.blocks.blocks, b2.blocks.blocks),
                 (b1.blocks.expected_blocks, b2.blocks.expected_blocks),
                 (b1.blocks.reward_btc_per_hs_day, b2.blocks.reward_btc_per_hs_day),
                 (b1.blocks.miner_revenue_btc, b2.blocks.miner_revenue_btc)):
        assert_array_equal(x, y, strict=True)
    assert (s1.next_retarget != start.next_retarget).any()  # retargets happened on the way
    if centre > 1_049_000:
        assert (s1.height >= 1_050_000).any()


def test_one_segment_day_statuses():
    """The kernel's own answers: the number of busy paths (split in the kernel: the day equals numpy's),
    NEAR_HALVING where a tip may reach the halving, OTHER for an infinite hashrate (nothing usable:
    the caller runs numpy's day)."""
    rng = np.random.default_rng(2)
    state = mixed_chain(rng, 930_000 + 1392)
    ehs, fees = np.full(PATHS, 1000.0), np.full(PATHS, 0.02)

    def day(state, ehs):
        u = rng.random(PATHS)
        outs = [np.empty(PATHS) for _ in range(8)]
        m = network_kernel.one_segment_day(7, state.height, state.difficulty, state.epoch_start_s,
                                           state.next_retarget, ehs, fees, u, np.clip(special.ndtri(u), -8, 8), True,
                                           network.ERA_SUBSIDY_BTC, *outs, TABLE)
        return m, u, outs

    m, u, (blocks, expected, reward, revenue, *end) = day(state, ehs)
    want_state, want = network.advance_day(state, 7, ehs * units.HS_PER_EHS, fees, u)
    busy = (end[0] >= state.next_retarget - 1) | np.isnan(state.epoch_start_s)
    assert 0 < m == busy.sum() < PATHS
    for x, y in ((end[0], want_state.height), (end[1], want_state.difficulty), (end[2], want_state.epoch_start_s),
                 (end[3], want_state.next_retarget), (blocks, want.blocks), (expected, want.expected_blocks),
                 (reward, want.reward_btc_per_hs_day), (revenue, want.miner_revenue_btc)):
        assert_array_equal(x, y, strict=True)
    assert (end[1][busy] != state.difficulty[busy]).any()  # retargets happened in the kernel
    near = network.ChainState(state.height + (1_050_000 - 930_000 - 1392 - 500), *(
        getattr(state, f) for f in ("difficulty", "epoch_start_s", "next_retarget")))
    assert day(near, ehs)[0] == network_kernel.NEAR_HALVING
    ehs[5] = np.inf
    assert day(state, ehs)[0] == network_kernel.OTHER


@pytest.mark.parametrize("case, mode", [("retargets", "poisson"), ("retargets", "expected"),
                                        ("near the halving", "poisson"), ("near the halving", "expected"),
                                        ("a NaN uniform", "poisson")])
def test_compiled_day_is_advance_day(case, mode):
    """The day-by-day form (the endogenous hashrate's) through each of the kernel's answers equals
    :func:`simulator.network.advance_day` bit for bit (a NaN uniform: the reference's own garbage;
    an infinite λ would make the reference step forever)."""
    rng = np.random.default_rng(9)
    state = mixed_chain(rng, 1_049_500 if case == "near the halving" else 930_000 + 1392)
    ehs, fees = 1000.0 * (0.8 + 0.4 * rng.random(PATHS)), 0.03 * rng.random(PATHS)
    u = rng.random(PATHS) if mode == "poisson" else None
    if case == "a NaN uniform":
        u[7] = np.nan
    rows = tuple(np.empty(PATHS) for _ in range(4))
    with np.errstate(invalid="ignore"):
        got = network._compiled_day(network_kernel, state, 3, ehs, fees, np.empty(0) if u is None else u,
                                    np.empty(0) if u is None else np.clip(special.ndtri(u), -8, 8), rows)
        want, b = network.advance_day(state, 3, ehs * units.HS_PER_EHS, fees, u)
    for x, y in ((got.height, want.height), (got.difficulty, want.difficulty), (got.epoch_start_s, want.epoch_start_s),
                 (got.next_retarget, want.next_retarget), (rows[0], b.blocks), (rows[1], b.expected_blocks),
                 (rows[2], b.reward_btc_per_hs_day), (rows[3], b.miner_revenue_btc)):
        assert_array_equal(x, y, strict=True)


def test_fresh_process_loads_the_cached_kernel_and_a_short_run_stays_in_numpy():
    """In a new process the compiled code finds scipy's functions by their symbols (the counts are the
    reference's), and a one-path two-year network never imports the kernel or numba."""
    code = ("import sys, numpy as np\n"
            "from simulator import network, rng\n"
            "from simulator.rng import PathStreams\n"
            "h = network.HashrateDays(network.ConstantHashrate(800.0), 1, PathStreams(1, 'network_hashrate', [0]), 365)\n"
            "s = network.initial_chain(930_000, 1.4e14, -1e5, 1)\n"
            "u = PathStreams(1, 'blocks', [0]).uniform((730,))\n"
            "for first in range(0, 730, 30):\n"
            "    n = min(30, 730 - first)\n"
            "    s, b = network.advance_block(s, h, first, n, 730, np.full((n, 1), 9e4), np.full((n, 1), 0.02),\n"
            "                                 u[first:first + n], 1.0)\n"
            "print('simulator.network_kernel' in sys.modules, 'numba' in sys.modules)\n"
            "from simulator import poisson_kernel\n"
            "g = np.random.default_rng(1); u, lam = g.random(5000), g.random(5000) * 400\n"
            "print(np.array_equal(poisson_kernel.poisson_inverse_cdf(u, lam), rng.poisson_inverse_cdf(u, lam)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True"]


@pytest.mark.parametrize("h0, epoch_start_s, n", [
    (931_391.0, np.nan, 2016.0), (931_391.0, np.nan, 3000.0), (931_391.0, np.nan, 9000.0),
    (933_308.0, -1916 * 600.0, 10_000.0), (933_406.0, -2014 * 700.0, 4033.0), (933_308.0, -1916 * 600.0, 2.0**50),
    (931_391.0, np.nan, 2.0**40 + 0.5), (933_308.0, -1916 * 600.0, 150.0)])
def test_split_path_is_numpy_s_on_days_of_several_epoch_ends(h0, epoch_start_s, n):
    """One path's split day with ≥ 2,016 blocks (an epoch that starts and ends today, several epoch ends,
    2⁵⁰ blocks: an infinite difficulty and the skipped retargets; expected mode's fractional count) and an
    ordinary retarget day: the compiled split is numpy's, bit for bit, and finite until the overflow."""
    state = network.ChainState(*(np.array([x]) for x in (h0, 1.5e14, epoch_start_s, 933_408.0)))
    s = chain.block_subsidy_sats(int(h0) + 1) / units.SATS_PER_BTC
    want, reward, _ = network._split_day(state, 5, np.array([n]), np.array([0.02]), None, s)
    got = network_kernel.split_path(5, h0, n, 1.5e14, epoch_start_s, 933_408.0, 0.02, s)
    assert_array_equal(np.array(got), np.array([want.difficulty[0], want.epoch_start_s[0], want.next_retarget[0],
                                                reward[0]]), strict=True)
    assert np.isfinite(got[0]) == (n < 2.0**40)


@pytest.mark.parametrize("poisson", [True, False])
def test_a_day_beyond_exact_heights_is_left_to_numpy_which_raises(poisson):
    """λ above 2⁵² (+inf): the compiled day declines (OTHER, the chain unchanged) in both block modes and
    numpy's day raises its ValueError (tests/test_network_day.py)."""
    state = network.ChainState(np.full(3, 933_308.0), np.full(3, 1.5e14), np.full(3, -1e6), np.full(3, 933_408.0))
    for ehs in (np.inf, 1e14 * 1073.0):  # λ = inf, 1.4e16
        u = np.full(3, 0.5)
        outs = [np.empty(3) for _ in range(8)]
        m = network_kernel.one_segment_day(3, state.height, state.difficulty, state.epoch_start_s, state.next_retarget,
                                           np.array([1000.0, ehs, 1000.0]), np.full(3, 0.02), u,
                                           np.clip(special.ndtri(u), -8, 8), poisson, network.ERA_SUBSIDY_BTC, *outs,
                                           TABLE)
        assert m == network_kernel.OTHER
        with pytest.raises(ValueError, match="above 2\\*\\*52"):
            network.advance_day(state, 3, np.array([1000.0, ehs, 1000.0]) * units.HS_PER_EHS, np.full(3, 0.02),
                                u if poisson else None)
