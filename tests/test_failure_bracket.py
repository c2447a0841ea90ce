"""The failure kernel's bracketed counts (simulator.failure_kernel, session 33) against the walk: equal counts, exactly.

A cohort's row of counts ``n`` lies in a narrow range (the paths' units differ by a few tens in thousands), so each
uniform is compared with bounds of the CDF over that range (:func:`failure_kernel._cdf_bounds`) and walks alone only
where the bounds do not decide (:func:`failure_kernel._bracket_counts`); the permanent share's few units failed pick
their CDF entries by selects (:func:`failure_kernel._lost_counts`). Every uniform that decides a count by its last bit
(each CDF value of each count in the range, and its neighbours) gives :func:`simulator.rng.binomial_inverse_cdf`'s count.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from simulator import failure_kernel, fleet
from simulator.hardware import daily_failure_probability
from simulator.rng import PathStreams, binomial_inverse_cdf

K = failure_kernel.BRACKET_ENTRIES


def _walk_cdf(n: float, f0: float, odds: float, entries: int) -> list[float]:
    """The walk's ``F(0) … F(entries − 1)`` of count ``n`` (simulator.rng.binomial_walk_on's operations, in its order)."""
    f = c = f0
    out = [c]
    for j in range(entries - 1):
        f *= n - j
        f /= j + 1
        f *= odds
        c += f
        out.append(c)
    return out[:max(int(n), 0)]


def _table(p: float, size: int) -> np.ndarray:
    """``f(0)`` of counts 0 … size − 1, as :meth:`fleet.FailureModel._grow` makes it (numpy's ``exp``)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.exp(np.arange(size, dtype=float) * np.log1p(-np.minimum(p, 1.0)))


def _deciding_uniforms(counts, table, odds, entries, rng) -> np.ndarray:
    """Every count's CDF values, their neighbours either side, 0, the streams' largest and a few random uniforms."""
    values = np.array([v for n in counts for v in _walk_cdf(float(n), table[n], odds, entries)])
    values = values[values < 1.0]
    return np.concatenate([values, np.nextafter(values, 0.0), np.nextafter(values, 1.0), [0.0, 1 - 2**-53],
                           rng.random(200)])


@pytest.mark.parametrize("p, least, most", [(1.4052e-4, 9000, 9060), (2.8862e-4, 7900, 7990), (1e-3, 2950, 3000),
                                            (0.0, 100, 130), (1e-300, 50, 52), (0.2, 0, 9), (0.05, 3, 40)])
def test_bracketed_counts_equal_the_walk_at_every_cdf_step(p, least, most):
    """Each count of the range with each uniform deciding some count of it: the bracket's count is the walk's (those
    in a bound's gap walk alone: without that, the uniforms at a middle count's CDF values would be counted wrong)."""
    rng = np.random.default_rng(least)
    table, odds = _table(p, most + 1), p / (1 - p)
    u0 = _deciding_uniforms(range(least, most + 1), table, odds, K + 2, rng)
    u = np.tile(u0, most - least + 1)
    n = np.repeat(np.arange(least, most + 1, dtype=float), u0.size)
    scratch = [np.empty(n.size) for _ in range(3)]
    upper, lower = np.empty(K), np.empty(K)
    values = np.full((most - least + 1, K), np.nan)
    assert failure_kernel._cdf_bounds(least, most, table, 0, odds, *scratch, upper, lower, values)
    for r, count in enumerate(range(least, most + 1)):  # each count's own CDF values, +inf from the count on
        walk = _walk_cdf(float(count), table[count], odds, K)
        assert np.array_equal(values[r], walk + [np.inf] * (K - len(walk)))
    expected = binomial_inverse_cdf(u, n, p)
    for rows in (values.shape[0], 0):  # the undecided draws counted by their own row, or walked alone
        out = np.full(n.size, -1.0)
        failure_kernel._bracket_counts(out, u, n, upper, lower, table, 0, odds, values, least, rows,
                                       np.empty(n.size))
        assert np.array_equal(out, expected)
    gap = (lower <= u[:, None]) & (u[:, None] < upper)
    assert gap.any() or p < 1e-100  # some uniforms were decided by their own row (p ≈ 0: every F is 1.0)


def test_bounds_that_do_not_hold_are_refused_and_the_row_walks():
    """A table whose CDF rises with the count (not a binomial's: the order the bounds rest on fails) or holds a NaN:
    :func:`failure_kernel._cdf_bounds` says so, and :func:`failure_kernel._failures` walks the row instead, giving the
    walk's counts of that table."""
    n, odds = np.arange(100, 140, dtype=float), 1e-4 / (1 - 1e-4)
    u = np.random.default_rng(3).random(n.size)
    rising, holed = np.linspace(0.1, 0.9, 150), _table(1e-4, 150)
    holed[120] = np.nan
    for table in (rising, holed):
        scratch = [np.empty(n.size) for _ in range(3)]
        assert not failure_kernel._cdf_bounds(100, 139, table, 0, odds, *scratch, np.empty(K), np.empty(K),
                                              np.empty((40, K)))
        counts, out = np.array([1, 0]), np.full(n.size, -1.0)
        bracketed = failure_kernel._failures(out, u, n, 100, 139, table, 0, 150, odds, 1e-4, *scratch,
                                             np.empty((2, K)), counts, np.empty((40, K)))
        assert not bracketed and counts[0] > counts[1]
        expected = [failure_kernel._walk_one(u[i], n[i], table[int(n[i])], odds) for i in range(n.size)]
        assert np.array_equal(out, expected, equal_nan=True)


def test_bounds_are_kept_while_the_counts_stay_inside_them():
    """:func:`failure_kernel._failures` makes a cohort's bounds over its counts and a few more, keeps them while the
    day's counts stay inside (the same counts as fresh bounds would give), and makes them again when they leave."""
    p = 1.4e-4
    table, odds = _table(p, 20000), p / (1 - p)
    rng = np.random.default_rng(8)
    bounds, counts, values = np.empty((2, K)), np.array([1, 0]), np.empty((500, K))  # (kept together)
    scratch = [np.empty(500) for _ in range(3)]
    for day, centre in enumerate((9000, 9003, 8998, 9200)):
        n = np.rint(centre + rng.uniform(-20, 20, 500))
        u = rng.random(500)
        before = counts.copy()
        out = np.empty(500)
        assert failure_kernel._failures(out, u, n, int(n.min()), int(n.max()), table, 0, 20000, odds, p, *scratch,
                                        bounds, counts, values)
        assert np.array_equal(out, binomial_inverse_cdf(u, n, p))
        assert counts[0] <= n.min() and n.max() <= counts[1]
        assert (counts == before).all() == (day in (1, 2))  # kept on days 1 and 2, made again on day 3


def test_wider_rows_are_bracketed_where_each_count_s_row_is_kept():
    """A row whose mean counts spread 0.08 (past a day alone's 0.05, within the block's 0.1): bracketed where each
    count's CDF row is kept (its undecided draws, ~10 %, counted from their rows), walked where none is; the walk's
    counts either way."""
    p, paths = 2.8e-4, 500
    rng = np.random.default_rng(34)
    n = np.rint(9000 + rng.uniform(-143, 143, paths))
    assert 0.05 < (n.max() - n.min()) * p <= failure_kernel.BRACKET_SPREAD_AT_MOST
    u = rng.random(paths)
    for rows, bracketed in ((paths, True), (0, False)):
        args = _row_args(p, paths)[:-1] + (np.empty((rows, K)),)
        out = np.full(paths, -1.0)
        assert failure_kernel._failures(out, u, n, int(n.min()), int(n.max()), *args) == bracketed
        assert np.array_equal(out, binomial_inverse_cdf(u, n, p))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.0, 1e-300, 0.9])
def test_permanent_share_counts_equal_the_walk(p):
    """Units failed 0 … 12 with the uniforms deciding each count (8 and more units, and counts reaching 2, decided by
    the count's own CDF row or walked alone): the walk's counts, and the cohort's changes made in the same pass
    (working = units − failed, installed − lost, failed added per path); a count past the table is SHORT, as
    :func:`failure_kernel._starts` says."""
    table, odds = _table(p, 40), p / (1 - p)
    rows = np.empty((2, 8))
    assert failure_kernel._lost_rows(table, odds, rows)
    u0 = _deciding_uniforms(range(13), table, odds, K + 2, np.random.default_rng(1))
    u, n = np.tile(u0, 13), np.repeat(np.arange(13, dtype=float), u0.size)
    values, value_rows = failure_kernel._lost_values(table, odds)
    assert value_rows == failure_kernel.LOST_VALUE_ROWS
    for count in range(value_rows):  # each count's row: the walk's F(0) … F(7), +inf from the count on
        walk = _walk_cdf(float(count), table[count], odds, K)
        assert np.array_equal(values[count], walk + [np.inf] * (K - len(walk)))
    expected = binomial_inverse_cdf(u, n, p)
    rng = np.random.default_rng(2)
    units, installed = n + rng.integers(0, 50, n.size), n + rng.integers(0, 9, n.size) + 0.5
    per_path = rng.random(n.size)
    for kept in (value_rows, 0):  # a count reaching 2 or 8 units failed counted from its row, or walked alone
        out, working, left, added = *(np.full((1, n.size), -1.0) for _ in range(3)), per_path.copy()
        assert failure_kernel._lost_counts(0, n[None], u[None], units, installed[None], rows, table, odds, p, values,
                                           kept, working, left, out, added, np.empty(n.size)) == failure_kernel.OK
        assert np.array_equal(out[0], expected)
        assert np.array_equal(working[0], units - n) and np.array_equal(left[0], installed - expected)
        assert np.array_equal(added, per_path + n)
    n[5] = 40.0
    assert failure_kernel._lost_counts(0, n[None], u[None], units, installed[None], rows, table, odds, p, values,
                                       value_rows, working, left, out, added, np.empty(n.size)) == failure_kernel.SHORT


def test_units_today_compares_with_the_kept_bounds_and_flags_counts_outside_them():
    """:func:`failure_kernel._units_today`: units back from repair added, their rounded counts, the least and greatest,
    and each draw's count compared with the kept bounds in the same pass: where the bounds decide a draw of a count
    inside their range, the walk's count; where they do not, or the count is outside the range, 16 and more (decided
    later). A count past the table is SHORT; a mean above the walk's bound LARGE."""
    p = 2.8e-4
    table, odds = _table(p, 20000), p / (1 - p)
    rng = np.random.default_rng(35)
    working = np.rint(9000 + rng.uniform(-40, 40, (2, 400)))
    slot = np.floor(rng.random((2, 400)) * 3)
    u = rng.random((2, 400))
    bounds, values = np.empty((2, K)), np.empty((80, K))
    assert failure_kernel._cdf_bounds(8980, 9030, table, 0, odds, *(np.empty(400) for _ in range(3)), bounds[0],
                                      bounds[1], values)
    units, n, out = np.empty(400), np.empty(400), np.full((2, 400), -1.0)
    status, least, most = failure_kernel._units_today(working, slot, 1, units, n, out, u, p, 20000, bounds, 8980, 9030)
    assert status == failure_kernel.OK and np.array_equal(units, working[1] + slot[1])
    assert np.array_equal(n, np.rint(units)) and (least, most) == (n.min(), n.max())
    inside = (8980 <= n) & (n <= 9030)
    assert inside.any() and not inside.all() and (out[0] == -1.0).all()
    expected = binomial_inverse_cdf(u[1], n, p)
    decided = out[1] < 16
    assert decided.any() and not decided[~inside].any() and (out[1] - 16 <= 8).all()
    assert np.array_equal(out[1][decided], expected[decided])
    assert failure_kernel._units_today(working, slot, 1, units, n, out, u, p, 9000, bounds, 8980, 9030)[0] == \
        failure_kernel.SHORT
    assert failure_kernel._units_today(working, slot, 1, units, n, out, u, 0.1, 20000, bounds, 8980, 9030)[0] == \
        failure_kernel.LARGE


@pytest.mark.parametrize("permanent_fraction", [0.1, 0.0, 1.0, 0.6])
def test_bench_shaped_blocks_equal_fail_day(monkeypatch, permanent_fraction):
    """The bench's rows (thousands of units a cohort, a few tens apart from path to path; 5 %, 10 % and 30 % a year:
    means of ~1, ~2.5 and ~9, the last walked), 30-day compiled blocks (the bounds kept from day to day) and single
    days: every day's units equal :func:`fleet.fail_day`'s on the stream's uniforms, and the rows are bracketed."""
    monkeypatch.setattr(fleet.FAILURE_KERNEL, "for_call", lambda *a, **k: failure_kernel)
    rng = np.random.default_rng(33)
    cohorts, paths = 6, 300
    q = daily_failure_probability(np.array([0.05, 0.10, 0.30, 0.05, 0.05, 0.10]))
    installed = np.rint(rng.integers(7000, 10000, cohorts)[:, None] + rng.uniform(-15, 15, (cohorts, paths)))
    repairs = np.floor(rng.random((14, cohorts, paths)) * 1.3)
    state = fleet.FailureState(installed - repairs.sum(axis=0), installed, repairs, 3)
    n = np.rint(state.working[0] + repairs[3, 0])
    assert failure_kernel._failures(np.empty(paths), rng.random(paths), n, int(n.min()), int(n.max()),
                                    *_row_args(q[0], paths))  # the first cohort's row is bracketed
    reference, model = copy.deepcopy(state), fleet.FailureModel(q, permanent_fraction)
    streams = PathStreams(19, "failures", np.arange(paths))
    for n_days in (30, 30, 1):
        draws = fleet.FailureDraws(streams, n_days, cohorts)
        state, working, installed_units, failed, lost = fleet.fail_block(model, state, draws, 0, n_days)
        uniforms = streams.uniform_at(draws.start, (n_days, 2, cohorts))
        for j in range(n_days):
            reference, failed_j, lost_j = fleet.fail_day(reference, uniforms[j], q, permanent_fraction)
            for x, y in ((working[j], reference.working), (installed_units[j], reference.installed),
                         (failed[j], failed_j), (lost[j], lost_j)):
                assert np.array_equal(x, y)
        assert np.array_equal(state.repairs, reference.repairs) and state.head == reference.head


def _row_args(p: float, paths: int) -> tuple:
    """:func:`failure_kernel._failures`' arguments after the counts' range, for a table of 20,000 counts."""
    return (_table(p, 20000), 0, 20000, p / (1 - p), p, *(np.empty(paths) for _ in range(3)), np.empty((2, K)),
            np.array([1, 0]), np.empty((paths, K)))


def test_the_cohorts_bracket_is_kept_from_block_to_block_until_the_tables_change(monkeypatch):
    """The model keeps its cohorts' CDF bounds, their ranges and each count's CDF values between a run's blocks (the
    compiled calls): the next block reads them (the same counts as :func:`fleet.fail_day`'s; bounds spoilt between the
    blocks would change them), and a table made again (a count past the tables) drops them."""
    monkeypatch.setattr(fleet.FAILURE_KERNEL, "for_call", lambda *a, **k: failure_kernel)
    rng = np.random.default_rng(35)
    cohorts, paths = 3, 200
    q = daily_failure_probability(np.array([0.05, 0.10, 0.05]))
    installed = np.rint(rng.integers(7000, 10000, cohorts)[:, None] + rng.uniform(-15, 15, (cohorts, paths)))
    state = fleet.FailureState(installed.copy(), installed, np.zeros((5, cohorts, paths)), 0)
    reference, model = copy.deepcopy(state), fleet.FailureModel(q, 0.1)
    streams = PathStreams(35, "failures", np.arange(paths))
    kept = None
    for block in range(3):
        draws = fleet.FailureDraws(streams, 10, cohorts)
        state, working, installed_units, failed, lost = fleet.fail_block(model, state, draws, 0, 10)
        uniforms = streams.uniform_at(draws.start, (10, 2, cohorts))
        for j in range(10):
            reference, failed_j, lost_j = fleet.fail_day(reference, uniforms[j], q, 0.1)
            assert np.array_equal(working[j], reference.working) and np.array_equal(lost[j], lost_j)
        bounds, ranges, values = model._bracket
        assert (ranges[:, 0] <= ranges[:, 1]).all() and (kept is None or model._bracket is kept)
        kept = model._bracket
    spoilt = copy.deepcopy(model)
    spoilt._bracket[0][:] = 0.5  # bounds that decide every draw as count 0 or 8
    draws = fleet.FailureDraws(streams, 10, cohorts)
    _, _, _, failed_spoilt, _ = fleet.fail_block(spoilt, copy.deepcopy(state), draws, 0, 10)
    _, _, _, failed_kept, _ = fleet.fail_block(model, copy.deepcopy(state), draws, 0, 10)
    assert not np.array_equal(failed_spoilt, failed_kept)  # the kept bounds are read
    state.working[0] += 2.0 * model._fail_size[0]  # a count past the tables: made again, the bracket dropped
    assert model._grow(state) and model._bracket is None
