"""The compiled failure day (simulator.failure_kernel) against the numpy reference: equal counts, exactly.

``binomial_inverse_cdf``'s counts are integers, so the compiled walk must give the same ones,
not close ones: same u, n, p, same count, for every draw (issue 19, the life_cycle actor).
"""
from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import stats

from simulator import failure_kernel, fleet
from simulator.hardware import daily_failure_probability
from simulator.rng import PathStreams, binomial_inverse_cdf, binomial_walk

PROBABILITY = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 1e-300, 1 - 2**-53]), st.floats(0.0, 1.0))
#: Uniforms in [0, 1 − 1e-9]: the streams never give 1, and above F's last value below 1 the reference
#: walks up to n (a million numpy steps): tests/test_failure_kernel.py takes u → 1 with fewer units.
UNIFORM = st.one_of(st.sampled_from([0.0, 2**-54]), st.floats(0.0, 1.0 - 1e-9))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(UNIFORM, st.integers(0, 10**6)), min_size=1, max_size=40), PROBABILITY,
       st.floats(0.0, 60.0), st.booleans())
def test_compiled_walk_equals_binomial_inverse_cdf(draws, p, mean, by_mean):
    """Random u, n in 0 … 1e6 and p in [0, 1] (0 and 1 included); ``by_mean`` sets p = mean / max n so
    that most arrays walk (n·p ≤ 50) rather than take the large-mean branch."""
    u, n = (np.array(x, dtype=float) for x in zip(*draws))
    if by_mean and n.max() > 0:
        p = min(mean / n.max(), 1.0)
    expected = binomial_inverse_cdf(u, n, p)
    assert np.array_equal(failure_kernel.binomial_inverse_cdf(u, n, p), expected)
    if float((n * p).max()) <= 50.0 and p < 1:  # the scalar form the kernel compiles, as it is
        with np.errstate(divide="ignore"):
            f0 = np.exp(n * np.log1p(-np.minimum(np.asarray(p), 1.0)))
        odds = float(np.asarray(p) / (1 - np.asarray(p)))
        assert [binomial_walk(*x, odds) for x in zip(u, n, f0)] == expected.tolist()


@pytest.mark.parametrize("p", [0.0, 1e-300, 1e-4, 0.3])
def test_compiled_walk_at_the_largest_uniforms(p):
    """u = 1 − 2⁻⁵³ (the streams' largest) and its neighbours: above F's last value below 1 the walk
    goes up to n, as the reference does."""
    u = np.array([1 - 2**-53, 1 - 2**-52, 1 - 1e-15, 0.999999, 0.0, 2**-54] * 3)
    n = np.repeat([3.0, 150.0, 4000.0], 6)
    assert np.array_equal(failure_kernel.binomial_inverse_cdf(u, n, p), binomial_inverse_cdf(u, n, p))


def test_compiled_walk_on_failure_sized_rows():
    """The failure model's own sizes: 1,000 paths, n ≈ 8,000 units, q ≈ 1.4e-4 and 2.9e-4 a day, and
    the uniforms closest to each CDF step (where a count is decided by the last bit)."""
    rng = np.random.default_rng(19)
    for q in daily_failure_probability(np.array([0.05, 0.10, 0.6])):
        n = rng.integers(7000, 9000, 1000).astype(float)
        u = rng.random(1000)
        cdf = stats.binom.cdf(np.arange(12), 8000, q)
        u = np.concatenate([u, cdf, np.nextafter(cdf, 0.0), np.nextafter(cdf, 1.0)])
        n = np.concatenate([n, np.full(3 * cdf.size, 8000.0)])
        assert np.array_equal(failure_kernel.binomial_inverse_cdf(u, n, q), binomial_inverse_cdf(u, n, q))


@pytest.mark.parametrize("mean", [0.5, 5.0, 17.0, 37.0, 41.0])  # n·p ≤ 50: the walk, not the large-mean branch
def test_walk_on_lanes_for_any_number_of_steps(mean):
    """A large cohort's row (tens of failures a day) walks on SIMD lanes for a run-time number of steps
    (failure_kernel.walk_lanes), then one by one: for every number of lane steps, from none to past
    every draw's end, the counts are the reference's, also at the uniforms closest to each CDF step."""
    rng = np.random.default_rng(int(mean))
    q = 1.4e-4
    n = np.rint(rng.uniform(0.8, 1.2, 400) * mean / q)
    cdf = stats.binom.cdf(np.arange(int(mean * 2) + 5), int(mean / q), q)
    u = np.concatenate([rng.random(400), cdf, np.nextafter(cdf, 0.0), np.nextafter(cdf, 1.0)])
    n = np.concatenate([n, np.full(3 * cdf.size, float(int(mean / q)))])
    expected = binomial_inverse_cdf(u, n, q)
    with np.errstate(divide="ignore"):
        f0 = np.exp(n * np.log1p(-q))
    odds = q / (1 - q)
    for steps in range(0, int(mean * 2) + 8, 3):
        out = np.full(u.shape, -1.0)
        failure_kernel.walk_lanes(out, u, n, f0.copy(), odds, np.empty(u.shape), np.empty(u.shape), steps)
        assert np.array_equal(out, expected), steps
    assert failure_kernel.lane_steps(np.full(10, 1e5), 1e-4) == 14  # ⌊10 + √10⌋ + 1
    assert failure_kernel.lane_steps(np.full(10, 1e5), 8e-5) == 0  # a mean of 8: the unrolled walk


def _state(rng, cohorts, paths, units, repair_days=5):
    installed = np.rint(rng.random((cohorts, paths)) * units[:, None])
    repairs = np.floor(rng.random((repair_days, cohorts, paths)) * 3) * (installed > 10)
    working = installed - repairs.sum(axis=0)
    return fleet.FailureState(working, installed, repairs, int(rng.integers(repair_days)))


def _run(day, state, draws):
    out = []
    for d in draws:
        state, failed, lost = day(state, d)
        out.append((state.working.copy(), state.installed.copy(), state.repairs.copy(), state.head, failed, lost))
    return out


def _assert_same_days(q, permanent_fraction, state, draws):
    new = _run(fleet.FailureModel(q, permanent_fraction).day, copy.deepcopy(state), draws)
    old = _run(lambda s, d: fleet.fail_day(s, d, q, permanent_fraction), copy.deepcopy(state), draws)
    for a, b in zip(new, old):
        for x, y in zip(a, b):
            assert np.array_equal(x, y)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(PROBABILITY, min_size=1, max_size=4), PROBABILITY,
       st.sampled_from([10, 3000, 10**6]))
def test_failure_model_days_equal_fail_day(seed, rates, permanent_fraction, units):
    """Several days of :class:`fleet.FailureModel` (compiled) and :func:`fleet.fail_day` (numpy): the same
    state and counts, exactly, with q and the permanent fraction in [0, 1] (0 and 1 included), counts
    from 10 to 1e6 units (the large-mean branch on some days) and uniforms at 0 and 1 − 2⁻⁵³."""
    rng = np.random.default_rng(seed)
    q = np.array(rates)
    state = _state(rng, len(q), 7, np.full(len(q), float(units)))
    draws = rng.random((4, 2, len(q), 7))
    if units < 10**6:  # the largest uniforms walk up to n
        draws[0, :, 0, :2] = [[0.0, 1 - 2**-53], [1 - 2**-53, 0.0]]
    _assert_same_days(q, permanent_fraction, state, draws)


def test_failure_model_on_a_fleet_day_and_arriving_cohorts():
    """The bench's shapes (20 cohorts × 1,000 paths, ~8,000 units, q of 5 % and 10 % a year, 10 %
    permanent), over 40 days with cohorts arriving (the tables grow) and units back from repair."""
    rng = np.random.default_rng(5)
    q = daily_failure_probability(np.where(np.arange(20) == 1, 0.10, 0.05))
    units = rng.integers(7000, 10000, 20).astype(float)
    state = _state(rng, 20, 1000, units, repair_days=14)
    state.working[15:] = state.installed[15:] = state.repairs[:, 15:] = 0.0  # arrive later
    model = fleet.FailureModel(q, 0.1)
    new, old = copy.deepcopy(state), copy.deepcopy(state)
    for day in range(40):
        if day in (10, 25):
            for s in (new, old):
                rows = slice(15, 18) if day == 10 else slice(18, 20)
                s.working[rows] = s.installed[rows] = units[rows, None]
        draws = rng.random((2, 20, 1000))
        new, failed_new, lost_new = model.day(new, draws)
        old, failed_old, lost_old = fleet.fail_day(old, draws, q, 0.1)
        for x, y in ((new.working, old.working), (new.installed, old.installed), (new.repairs, old.repairs),
                     (failed_new, failed_old), (lost_new, lost_old)):
            assert np.array_equal(x, y)
        assert new.head == old.head
    assert model._fail_size[15:].min() > units[15:].min()  # grown when the cohorts arrived


@pytest.mark.parametrize("q, permanent_fraction", [(0.02, 0.1), (1e-4, 1.0), (1e-4, 0.0), (1.0, 0.5)])
def test_failure_model_large_means_and_edges_fall_back_to_numpy(q, permanent_fraction):
    """n·q above 50 (q = 2 % of 8,000 units: the large-mean branch), p = 1 and p = 0: the reference's counts."""
    rng = np.random.default_rng(7)
    state = _state(rng, 3, 50, np.full(3, 8000.0))
    _assert_same_days(np.full(3, q), permanent_fraction, state, rng.random((3, 2, 3, 50)))


def test_a_short_run_never_loads_the_compiled_kernel():
    """A one-path day runs in numpy: start-up does not import numba for the failure model."""
    code = ("import sys, numpy as np; from simulator import fleet\n"
            "s = fleet.FailureState(np.full((3, 1), 50.0), np.full((3, 1), 50.0), np.zeros((4, 3, 1)))\n"
            "m = fleet.FailureModel(np.full(3, 1e-3), 0.1)\n"
            "for _ in range(730): s, f, l = m.day(s, np.random.default_rng(1).random((2, 3, 1)))\n"
            "print('simulator.failure_kernel' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("compiled", [False, True])
def test_failure_blocks_written_into_the_models_buffers_equal_fail_day(monkeypatch, compiled):
    """:func:`fleet.fail_block` over blocks of 1–30 days, from the start of a draw block and from days inside it (the
    engine's blocks cut at dated changes), the compiled days drawing each day's uniforms themselves and writing straight
    into the model's block buffers (the state then a view of the last block's row, read by the next block's first day)
    or the numpy day copied there: every day's working, installed, lost and failed units equal :func:`fleet.fail_day`'s
    on the stream's uniforms, exactly, and a block's arrays are those buffers, reused by the next multi-day block."""
    monkeypatch.setattr(fleet.FAILURE_KERNEL, "for_call",
                        lambda *a, **k: failure_kernel if compiled else None)
    rng = np.random.default_rng(11)
    q = daily_failure_probability(np.where(np.arange(6) % 2, 0.10, 0.05))
    state = _state(rng, 6, 40, rng.integers(50, 3000, 6).astype(float), repair_days=9)
    reference, model = copy.deepcopy(state), fleet.FailureModel(q, 0.1)
    streams, buffers = PathStreams(3, "failures", np.arange(7, 47)), []
    for days, blocks in ((30, [30]), (30, [3, 1, 2, 1, 17, 6]), (30, [30])):
        draws, first = fleet.FailureDraws(streams, days, 6), 0
        for n in blocks:
            state, reference, working = _block_against_days(model, state, reference, draws, first, n, q)
            first += n
            if n > 1:
                buffers.append(working.base)
    assert all(b is buffers[0] for b in buffers)  # the same memory block after block


def _block_against_days(model, state, reference, draws, first, n, q):
    """:func:`fleet.fail_block` of days ``first … first + n − 1`` of ``draws`` (:class:`fleet.FailureDraws`) from
    ``state``, checked day by day against :func:`fleet.fail_day` from ``reference`` (permanent fraction 0.1) on the
    stream's uniforms (:meth:`simulator.rng.PathStreams.uniform_at`): the block's state, the reference's after the
    same days, and the block's working units."""
    state, working, installed, failed, lost = fleet.fail_block(model, state, draws, first, n)
    uniforms = draws.streams.uniform_at(draws.start, (draws.days, 2, draws.cohorts))
    for j in range(n):
        reference, failed_j, lost_j = fleet.fail_day(reference, uniforms[first + j], q, 0.1)
        for x, y in ((working[j], reference.working), (installed[j], reference.installed),
                     (failed[j], failed_j), (lost[j], lost_j)):
            assert np.array_equal(x, y)
    assert np.array_equal(state.repairs, reference.repairs) and state.head == reference.head
    return state, reference, working


@pytest.mark.parametrize("case", ["short", "large"])
def test_a_blocks_compiled_days_hand_a_day_they_cannot_draw_to_the_other_forms(monkeypatch, case):
    """A block's compiled call (:func:`failure_kernel.fail_days`) stops at a day it cannot draw: units back from
    repair past the tables (SHORT, day 3: :meth:`fleet.FailureModel.day` extends them and the call goes on), or a
    mean above the walk's (LARGE, every day: the numpy reference). Every day's counts are :func:`fleet.fail_day`'s."""
    monkeypatch.setattr(fleet.FAILURE_KERNEL, "for_call", lambda *a, **k: failure_kernel)
    q = np.array([1e-4, 3e-4]) if case == "short" else np.array([1e-4, 0.02])
    working = np.full((2, 30), 100.0) if case == "short" else np.full((2, 30), 8000.0)
    repairs = np.zeros((6, 2, 30))
    if case == "short":
        repairs[3] = 5000.0  # back on day 3: counts past the tables made on day 0
    state = fleet.FailureState(working, working + repairs.sum(axis=0), repairs, 0)
    reference, model = copy.deepcopy(state), fleet.FailureModel(q, 0.1)
    streams = PathStreams(23, "failures", np.arange(30))
    for n in (8, 8):
        draws = fleet.FailureDraws(streams, n, 2)
        state, reference, _ = _block_against_days(model, state, reference, draws, 0, n, q)
    if case == "short":
        assert model._fail_size.min() > 5000  # extended mid-block
    else:
        tables = model._tables
        assert failure_kernel.fail_days(state.working, state.installed, state.repairs.copy(), state.head,
                                        draws.position(0), *streams.philox_key, np.empty((2, 2, 30)), *tables,
                                        *(np.empty((n, 2, 30)) for _ in range(2)), np.empty((2, 30)),
                                        np.empty((n, 2, 30)), np.empty((n, 30)),
                                        *failure_kernel.no_bounds(2, 30))[1] == failure_kernel.LARGE
