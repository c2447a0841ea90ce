"""The daily quantiles' compiled order statistics (simulator.reporting_kernel) against numpy: the same bits.

:func:`simulator.results.exact_percentiles` runs with its lazy kernel held in numpy (the reference:
each row sorted whole, or partitioned when long) and with the compiled selection forced, on drawn
and tabled rows with NaN, ±inf, ±0.0, ties, one value, few values and heavy tails at n = 1, 2, 3,
… 1,000, 1,001 and past :data:`simulator.results.SORT_MAX_VALUES`; the two give the same bytes and
the same numbers as ``np.percentile``. The signals' window sums and under-water lookup: against
numpy's ``add.reduce`` of each window and ``searchsorted``, and the whole signal block forced against
the numpy block and the day-by-day formulas; whole runs with every reporting kernel forced (issue 19,
brief ``quantsel``).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from numpy.lib.stride_tricks import sliding_window_view

from simulator import engine, reporting_kernel, results, signals
from simulator.config import load_scenario

import kernel_forms


def both(monkeypatch, rows):
    """``exact_percentiles(rows)`` in numpy and compiled, and the compiled calls made (numpy's sort on SIMD lanes not
    taken: :data:`simulator.results.SIMD_SORT` off)."""
    monkeypatch.setattr(results, "SIMD_SORT", False)
    return kernel_forms.both_forms(monkeypatch, results.QUANTILE_KERNEL, reporting_kernel, "percentiles",
                                   lambda: results.exact_percentiles(rows.copy()))


def sorted_form(monkeypatch, rows):
    """``exact_percentiles(rows)`` where numpy's sort is taken for float rows (:data:`simulator.results.SIMD_SORT`),
    whatever this processor: the kernel never called."""
    monkeypatch.setattr(results, "SIMD_SORT", True)
    monkeypatch.setattr(results.QUANTILE_KERNEL, "for_call", lambda *a, **k: pytest.fail("the kernel was asked"))
    return results.exact_percentiles(rows.copy())


def check(monkeypatch, rows, compiled_calls=1):
    numpy_form, compiled, calls = both(monkeypatch, rows)
    kernel_forms.assert_same_bits(numpy_form, compiled, "percentiles")
    assert calls == compiled_calls
    if rows.shape[-1] <= results.SORT_MAX_VALUES:
        with monkeypatch.context() as m:
            kernel_forms.assert_same_bits(sorted_form(m, rows), numpy_form, "percentiles sorted")
    with np.errstate(invalid="ignore"):  # inf − inf in the interpolation, numpy's and ours
        want = np.moveaxis(np.percentile(rows, results.DAILY_PERCENTILES, axis=-1), 0, -1)
    assert np.array_equal(compiled, want, equal_nan=True)  # (the value; a zero's sign is the sort's choice)
    return compiled


def tabled_rows(n: int, seed: int = 0) -> np.ndarray:
    """Rows of every kind the daily columns produce, and the edge values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, n)) * 1e3
    x[1] = np.round(x[1] / 300)  # ties
    x[2] = 5.0  # one value
    x[3, 0] = np.nan
    x[4, -1], x[5, 0] = np.inf, -np.inf
    x[6, rng.random(n) < 0.3] = 0.0
    x[7] = np.where(rng.random(n) < 0.5, 0.0, -0.0)  # zeros of both signs only
    x[8] = np.where(rng.random(n) < 0.4, -0.0, rng.normal(size=n))  # −0.0 and +0.0 ranked among others
    x[8, rng.random(n) < 0.3] = 0.0
    x[9] = rng.lognormal(0.0, 3.0, size=n)  # a heavy tail: most values in the lowest bucket
    x[10] = np.where(rng.random(n) < 0.66, 0.0, 1.0)  # two values
    x[11] = np.arange(n, dtype=float)[::-1]  # ordered
    x[12] = np.where(rng.random(n) < 0.5, np.inf, -np.inf)
    x[13] = rng.normal(size=n) * 1e-320  # subnormal: a range too narrow to divide into buckets
    x[14] = np.where(rng.random(n) < 0.05, 1e300, rng.normal(size=n))  # a range past float's
    x[14, 0] = -1e308
    x[15] = rng.normal(size=n)
    x[15, ::7] = -0.0
    return x


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 20, 21, 100, 601, 999, 1000, 1001, results.SORT_MAX_VALUES + 3])
def test_tabled_rows_compiled_equal_numpy(monkeypatch, n):
    got = check(monkeypatch, tabled_rows(n, seed=n))
    assert np.isnan(got[3]).all() and not np.isnan(got[[0, 1, 2, 6, 7, 8, 9, 10, 11, 13, 15]]).any()


def test_rows_with_both_zeros_at_a_needed_index_take_numpys_form(monkeypatch):
    """A row whose median is a zero and that holds both −0.0 and +0.0 is flagged for numpy's own form;
    a row with one sign of zero, or a zero nowhere needed, is not."""
    n = 1000
    x = tabled_rows(n)
    flat = np.ascontiguousarray(x)
    out = np.empty((2, len(flat)))
    flags = reporting_kernel.order_statistics(flat, np.array([500, 499]), out)
    assert flags[3] == reporting_kernel.HAS_NAN and flags[7] == reporting_kernel.SIGNED_ZEROS
    assert flags[6] == flags[0] == flags[10] == reporting_kernel.OK
    check(monkeypatch, x)


@st.composite
def tables(draw):
    n = draw(st.sampled_from([1, 2, 3, 4, 7, 50, 101, 600, 601, 1000, 1001]))
    rows = draw(st.integers(1, 4))
    special = st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, 1e308])
    kind = draw(st.sampled_from(["normal", "few", "special"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "normal":
        x = rng.normal(size=(rows, n)) * draw(st.sampled_from([1.0, 1e-310, 1e300]))
    else:
        values = np.array(draw(st.lists(special if kind == "special" else st.floats(-3, 3), min_size=1, max_size=4)))
        x = values[rng.integers(0, len(values), size=(rows, n))]
    return x


@settings(max_examples=120, deadline=None)
@given(tables())
def test_drawn_tables_compiled_equal_numpy(x):
    with pytest.MonkeyPatch.context() as monkeypatch:
        check(monkeypatch, x)


def test_a_block_of_daily_columns_compiled_equal_numpy(monkeypatch):
    """The shape the reporting actor hands over: (days, columns, paths), a block of 32 days."""
    rng = np.random.default_rng(19)
    block = rng.lognormal(0.0, 1.0, size=(32, 6, 500))
    block[:, 1] = 0.0  # an idle column
    block[:, 2, rng.random(500) < 0.2] = 0.0  # curtailment on some paths
    block[:, 3] = np.round(block[:, 3])
    block[5:9, 4] = 7.5
    check(monkeypatch, block)


def ends_and_clusters(n: int, seed: int = 0) -> np.ndarray:
    """Rows whose needed order statistics sit among ties at the row's min or max (answered without gathering) or in
    one crowded bucket (bucketed again, or selected where the crowd's range is too narrow to divide)."""
    rng = np.random.default_rng(seed)
    x = np.empty((10, n))
    x[0] = np.where(rng.random(n) < 0.5, 0.0, 1.0)  # a 0/1 column: every k at an end
    x[1] = rng.choice([-2.0, 0.5, 3.0], size=n, p=[0.3, 0.4, 0.3])  # ends and a crowded middle of one value
    x[2] = 30.0 + rng.normal(size=n) * 1e-6  # a crowd and an outlier: its bucket bucketed again
    x[2, :3] = 0.0
    x[3] = 30.0 + rng.integers(0, 3, size=n) * 1e-6  # the same with ties at the crowd's own ends
    x[3, 0] = -1e3
    x[4] = rng.integers(0, 5, size=n) * 1e-320  # a crowd too narrow to divide again: selected
    x[4, 0] = 1.0
    x[5] = np.where(rng.random(n) < 0.5, np.where(rng.random(n) < 0.5, 0.0, -0.0), 1.0)  # both zeros at the min
    x[6] = np.where(rng.random(n) < 0.5, -0.0, 1.0)  # −0.0 alone at the min: the row's own zero
    x[7] = np.where(rng.random(n) < 0.8, 5.0, rng.normal(size=n))  # ties at the max, a few below
    x[8] = np.where(rng.random(n) < 0.9, -7.0, rng.normal(size=n))  # ties at the min
    x[8, 0] = np.inf  # (a range that does not divide: selected)
    x[9] = np.where(rng.random(n) < 0.97, 2.0, 1e9)  # ties at the min, a few far above
    return x


@pytest.mark.parametrize("n", [17, 40, 101, 500, 1000, 1001])
def test_ties_at_the_ends_and_crowded_buckets_compiled_equal_numpy(monkeypatch, n):
    """The bucket kernel's two short cuts (a k among ties at the row's min or max, a crowded bucket bucketed again)
    give numpy's numbers; a 0/1 row of 100 values or more gathers no value at all."""
    x = ends_and_clusters(n, seed=n)
    check(monkeypatch, x)
    if n < 100:  # (an end bucket of at most SORT_CANDIDATES_AT_MOST values is gathered and sorted)
        return
    ks = np.array([int(0.95 * (n - 1)) + 1, int(0.95 * (n - 1)), int(0.05 * (n - 1)) + 1, int(0.05 * (n - 1))])
    work = reporting_kernel._work(n, max(n // 2, 16), len(ks))
    out = np.full((len(ks), 1), np.nan)
    row = np.ascontiguousarray(x[0])
    scale = len(work[1]) / 1.0
    assert reporting_kernel._gather(row, ks, out, 0, 0.0, 1.0, scale, len(work[1]), work) == 0
    assert np.array_equal(out[:, 0], np.sort(row)[ks])


@pytest.mark.parametrize("n", [9, 100, 500, 1001])
def test_two_valued_rows_are_counted_and_others_guessed_so_are_bucketed(monkeypatch, n):
    """Rows whose first ``ENDS_FIRST`` values are their min or max: those holding nothing else are counted without
    buckets (``_two_values``: the lows below, the highs above, signed zeros among them flagged), those holding other
    values further on (a third value, a NaN, an infinity, the middle of a 0/1/2 row) still get the buckets' or
    numpy's numbers; after them a spread row finds the bucket table as it was (each row leaves it all −1)."""
    rng = np.random.default_rng(n)
    first = reporting_kernel.ENDS_FIRST
    rows = np.where(rng.random((10, n)) < 0.7, 0.0, 1.0)
    rows[:, :first] = np.tile([0.0, 1.0], first)[:first]
    rows[1, rng.random(n) < 0.5] = -0.0  # both zeros: numpy's form
    rows[2, first:] = 1.0  # all but a few the max
    rows[3, -1] = 0.5  # a third value past the first ones
    rows[4, -1] = np.nan
    rows[5, -1] = np.inf
    rows[6] = np.where(rng.random(n) < 0.5, -3.0, 7.5)
    rows[6, :first] = -3.0
    rows[7, first + 1:n - 1] = 2.0  # the middle a third value: k inside it
    rows[8] = rng.normal(size=n)  # spread
    rows[9] = rows[6]
    rows[9, :first] = 7.5
    check(monkeypatch, rows)
    ks = np.array([int(0.95 * (n - 1)) + 1, int(0.95 * (n - 1)), int(0.5 * (n - 1)), int(0.05 * (n - 1))])
    for row, two in ((rows[0], True), (rows[6], True), (rows[3], False), (rows[8], False)):
        out = np.full((len(ks), 1), np.nan)
        low, high = float(row.min()), float(row.max())
        assert reporting_kernel._two_values(np.ascontiguousarray(row), ks, out, 0, low, high) == two
        assert np.array_equal(out[:, 0], np.sort(row)[ks]) if two else np.isnan(out).all()
    work = reporting_kernel._work(n, max(n // 2, 16), len(ks))
    assert (work[2] == -1).all()
    out = np.empty((len(ks), 3))
    for r, row in enumerate((rows[8], rows[6] * 1e3 + rng.normal(size=n), rows[8][::-1].copy())):
        row = np.ascontiguousarray(row)
        low, high = float(row.min()), float(row.max())
        reporting_kernel._by_buckets(row, ks, out, r, low, high, max(n // 2, 16) / (high - low), work,
                                     reporting_kernel._work(n, max(n // 2, 16), len(ks)))
        assert np.array_equal(out[:, r], np.sort(row)[ks]) and (work[2] == -1).all()


def test_a_rows_range_is_numpys_min_and_max():
    """The kernel's own min and max of a row (one pass, beside its buckets): numpy's, NaN flagged wherever it is
    (first, last, alone, everywhere), infinities kept, a zero's sign either (both compare equal)."""
    rows = [tabled_rows(n, seed=n) for n in (1, 2, 5, 500)]
    special = [np.array([np.nan, 1.0, 2.0]), np.array([1.0, 2.0, np.nan]), np.array([np.nan]), np.full(7, np.nan),
               np.array([np.inf, -np.inf]), np.array([np.inf]), np.array([-np.inf, 0.0]), np.array([0.0, -0.0, 0.0])]
    negative_nan = np.array([1.0, -np.nan, 2.0])  # (a NaN's sign bit set: its order key below −inf's)
    assert np.signbit(negative_nan[1])
    for row in [r for table in rows for r in table] + special + [negative_nan]:
        low, high, nan = reporting_kernel._range(np.ascontiguousarray(row))
        assert nan == bool(np.isnan(row).any())
        if not nan:
            assert low == row.min() and high == row.max()
    low, high, _ = reporting_kernel._range(np.array([0.0, -0.0, 0.0]))
    assert np.signbit(low) and not np.signbit(high)  # (of both zeros, −0.0 the min and +0.0 the max)


def test_order_keys_are_in_the_doubles_order_and_turn_back():
    """A double's order key: integers in the doubles' order (−0.0 just below +0.0), the map its own inverse."""
    x = np.array([-np.inf, -1e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1e-300, 1.0, 2.0, 1e308, np.inf])
    keys = [reporting_kernel._order_key(b) for b in x.view(np.int64)]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert keys[0] == reporting_kernel.NEGATIVE_INF_KEY and keys[-1] == reporting_kernel.INF_KEY
    assert [reporting_kernel._order_key(k) for k in keys] == list(x.view(np.int64))


@pytest.mark.parametrize("seed", range(4))
def test_the_bucket_of_a_rank_is_the_running_counts_one(seed):
    """The bucket holding each rank, and the values before it, found a stride of buckets at a time: those of the
    running counts bucket by bucket, wherever the scan starts (empty buckets, a crowd, ranks at either end)."""
    rng = np.random.default_rng(seed)
    buckets = int(rng.integers(1, 40))
    counts = rng.integers(0, 4, size=buckets) * (rng.random(buckets) < 0.6)
    counts[rng.integers(0, buckets)] += int(rng.integers(1, 30))
    ends = np.cumsum(counts)  # ends[b]: the values in buckets up to b
    b, below = 0, 0
    for k in range(int(ends[-1])):
        want = int(np.searchsorted(ends, k, side="right"))
        b, below = reporting_kernel._bucket_of(counts, buckets, k, b, below)
        assert (b, below) == (want, int(ends[want] - counts[want]))
        assert reporting_kernel._bucket_of(counts, buckets, k, 0, 0) == (b, below)


def test_numpys_sort_is_taken_on_intel_avx512_only(tmp_path):
    """The daily percentiles sort on SIMD lanes on Intel AVX-512 processors only: on an AMD Zen 4 the same sort was
    measured 2.4x slower than the compiled selection (``results._simd_sort``'s docstring)."""
    avx512, plain = {"AVX512_SKX": True}, {"AVX512_SKX": False}
    assert results._simd_sort(avx512, "GenuineIntel")
    assert not results._simd_sort(avx512, "AuthenticAMD")
    assert not results._simd_sort(plain, "GenuineIntel")
    assert not results._simd_sort(avx512, "")  # no vendor known (not Linux): not measured, not taken
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
    assert results._cpu_vendor(str(cpuinfo)) == "AuthenticAMD"
    cpuinfo.write_text("processor\t: 0\n")
    assert results._cpu_vendor(str(cpuinfo)) == ""
    assert results._cpu_vendor(str(tmp_path / "missing")) == ""


def test_the_numpy_form_runs_small_calls_and_the_kernel_large_ones():
    lazy = results.QUANTILE_KERNEL
    assert lazy.module == "simulator.reporting_kernel" and lazy.large_from <= 32 * 40 * 1000
    assert lazy.numpy_at_most >= 23 * 730 * 4  # a one-path two-year run never loads it


@pytest.mark.parametrize("short,long", [(1, 2), (3, 7), (7, 8), (8, 9), (9, 16), (17, 31), (30, 60), (64, 128)])
def test_moving_sums_are_numpys_window_sums(short, long):
    rng = np.random.default_rng(long)
    days = rng.lognormal(0.0, 2.0, size=(7, long - 1 + 40)) * rng.choice([1.0, -1.0], size=(7, long - 1 + 40))
    days[1] = -0.0  # a window of −0.0 sums to +0.0 (the reduction starts from +0.0)
    days[2, ::3] = -0.0
    days[3, 5] = np.nan
    days[4, 7], days[4, 20] = np.inf, -np.inf
    days[5] = np.round(days[5]) * 1e300
    days[6] = rng.normal(size=days.shape[1]) * 1e-310
    window = sliding_window_view(days, long, axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        want_short, want_long = window[:, :, -short:].sum(axis=-1).T, window.sum(axis=-1).T
        got_short, got_long = np.empty((40, 7)), np.empty((40, 7))
        reporting_kernel.moving_sums(np.ascontiguousarray(days.T), short, long, got_short, got_long)
    kernel_forms.assert_same_bits(got_short, np.ascontiguousarray(want_short), "short")
    kernel_forms.assert_same_bits(got_long, np.ascontiguousarray(want_long), "long")
    if long >= 16:  # a sum in order gives other floats: the test can tell
        assert any(np.cumsum(days[0, d:d + long])[-1] != want_long[d, 0] for d in range(40))


@pytest.mark.parametrize("breakevens", [0, 1, 12, reporting_kernel.COUNT_BREAKEVENS_AT_MOST + 5])
@pytest.mark.parametrize("nan", [False, True])
def test_tail_weights_are_searchsorteds_lookup(breakevens, nan):
    rng = np.random.default_rng(breakevens)
    b = np.sort(np.r_[rng.uniform(10, 90, breakevens), 30.0, 30.0, 0.0, -0.0, [np.nan] * nan])
    above = rng.uniform(size=(6, b.size + 1))
    hashprice = rng.uniform(0, 100, size=(6, 120))
    hashprice[0, :6] = [np.nan, np.inf, -np.inf, 30.0, 0.0, -0.0]
    hashprice[1, :len(b)] = b  # every tie
    for view in (hashprice, np.ascontiguousarray(hashprice.T).T):
        got = np.empty(view.shape)
        reporting_kernel.tail_weights(b, above, view, got)
        want = np.take_along_axis(above, np.searchsorted(b, view, side="right"), axis=1)
        kernel_forms.assert_same_bits(got, want)


@pytest.mark.parametrize("prior_days", [0, 20])
def test_signal_block_compiled_equals_numpy_and_the_day_by_day_formulas(monkeypatch, prior_days):
    from test_reporting import signal_inputs, signals_by_block, signals_day_by_day

    x = signal_inputs(11, prior_days)
    x["hashprice"][3, 2], x["hashprice"][4] = np.nan, x["breakeven"][2]
    numpy_form, compiled, calls = kernel_forms.both_forms(monkeypatch, signals.SIGNALS_KERNEL, reporting_kernel,
                                                          "signal_columns", lambda: signals_by_block(x))
    assert calls == 4
    kernel_forms.assert_same_bits(compiled, numpy_form)
    kernel_forms.assert_same_bits(compiled, signals_day_by_day(x))


def _signals_into_blocks(monkeypatch, x, forms, sliced):
    """The signal columns of :data:`test_reporting.SIGNAL_BLOCKS` written by :meth:`SignalTracker.into` into
    reporting blocks (inputs in columns 4, 1, 6 of 13; the signals from column 7), block ``i`` in form
    ``forms[i]`` (None: numpy); ``sliced``: the block a path slice of a wider one, as a worker's view is."""
    from test_reporting import SIGNAL_BLOCKS

    tracker = signals.SignalTracker(x["breakeven"], x["weights"], 0.8, x["prior"] if len(x["prior"]) else None)
    paths, got = x["hashrate"].shape[1], []
    for (first, size), form in zip(SIGNAL_BLOCKS, forms):
        monkeypatch.setattr(signals.SIGNALS_KERNEL, "for_call", lambda *a, _k=form, **kw: _k)
        whole = np.full((size, 13, paths + 5 * sliced), 7.25)
        block = whole[:, :, 2:2 + paths] if sliced else whole
        for j, k in zip((4, 1, 6), ("hashrate", "hashprice", "price")):
            block[:, j] = x[k][first:first + size]
        tracker.into(first, block, (4, 1, 6), np.ascontiguousarray(x["revenue"][first:first + size]), 7)
        untouched = np.delete(np.arange(13), [4, 1, 6, 7, 8, 9, 10, 11, 12])
        assert (whole[:, untouched] == 7.25).all() and (not sliced or (whole[:, :, :2] == 7.25).all())
        got.append(block[:, 7:].copy())
    return np.concatenate(got)


@pytest.mark.parametrize("paths", [0, 1, 9])
@pytest.mark.parametrize("sliced", [False, True])
def test_signal_columns_written_into_the_block_compiled_equal_numpy(monkeypatch, paths, sliced):
    """``SignalTracker.into``: the compiled pass over the reporting block (``signal_columns``) against the
    numpy form and the day-by-day formulas, with NaN and ±0.0 inputs, one path and none, a worker's path
    slice, and the forms switching between blocks (the tracker's history carried across)."""
    from test_reporting import signal_inputs, signals_day_by_day

    x = signal_inputs(23, 20, paths=paths) if paths else signal_inputs(23, 20, paths=1)
    if paths:
        x["hashprice"][3, 0], x["hashprice"][4] = np.nan, x["breakeven"][2]
        x["hashprice"][5, -1], x["revenue"][6, 0], x["revenue"][7, -1] = -0.0, -0.0, np.nan
        x["price"][8, 0], x["hashrate"][9, -1] = -0.0, np.nan
    else:
        x = {k: v[:, :0] if k in ("hashrate", "hashprice", "revenue", "price") else v for k, v in x.items()}
    numpy_form = _signals_into_blocks(monkeypatch, x, [None] * 4, sliced)
    want = signals_day_by_day(x) if paths else np.empty((100, 6, 0))
    kernel_forms.assert_same_bits(numpy_form, want)
    for forms in ([reporting_kernel] * 4, [None, reporting_kernel, None, reporting_kernel]):
        kernel_forms.assert_same_bits(_signals_into_blocks(monkeypatch, x, forms, sliced), numpy_form)


@pytest.mark.parametrize("paths", [0, 1, 37])
def test_block_folds_add_day_by_day_in_order(paths):
    """``reporting.fold_block`` (the numpy fold, ``fold_fields``' reference) over blocks of 32, 1, 31 and 20 days
    whose months straddle them equals adding each day in order from +0.0, with NaN, ±inf, ±0.0 and heavy tails."""
    from simulator import reporting

    rng = np.random.default_rng(paths + 5)
    days, k, m = 84, 6, 4
    month_of_day = np.repeat(np.arange(4), [31, 28, 20, 5])
    daily = rng.lognormal(0, 3, size=(days, k, paths)) * rng.choice([-1.0, 1.0], size=(days, k, paths))
    if paths:
        daily[3, 0, 0], daily[40, 2, -1], daily[41, 2, -1] = np.nan, np.inf, -np.inf
        daily[:, 3, 0], daily[::2, 4, -1] = -0.0, 0.0
        daily[1::2, 4, -1] = -0.0
    sums, monthly = np.zeros((k, paths)), np.zeros((4, m, paths))
    sums[3] = -0.0  # a −0.0 start (−0.0 + −0.0 is −0.0, but not numpy's sum of them)
    lines, first = np.empty((33, k, paths)), 0
    for rows in (32, 1, 31, 20):
        lines[1:rows + 1] = daily[first:first + rows]
        with np.errstate(invalid="ignore"):
            reporting.fold_block(lines, rows, sums, monthly, month_of_day[first:first + rows])
        first += rows
    want_sums, want_monthly = np.zeros((k, paths)), np.zeros((4, m, paths))
    with np.errstate(invalid="ignore"):
        for d in range(days):  # the block's reduction: (0.0 + sums) + day 0 + …, one float at a time
            want_sums = want_sums + daily[d]
            want_monthly[month_of_day[d]] = want_monthly[month_of_day[d]] + daily[d, :m]
    kernel_forms.assert_same_bits(sums, 0.0 + want_sums)
    kernel_forms.assert_same_bits(monthly, 0.0 + want_monthly)
    if paths:  # numpy's reductions start from +0.0: −0.0 throughout sums to +0.0 (the kernel must know it)
        assert not np.signbit(sums[3, 0]) and np.isnan(sums[0, 0])


@pytest.mark.parametrize("name", ["contract_example", "companies/iren"])
def test_whole_runs_with_the_reporting_kernels_forced(monkeypatch, name):
    """Every output of a run (daily quantiles included) with both reporting kernels forced, byte for byte."""
    import pathlib
    scenario = load_scenario(str(pathlib.Path(__file__).parents[1] / "scenarios" / f"{name}.yaml"))

    def run(kernel, simd_sort=False):
        for lazy in (results.QUANTILE_KERNEL, signals.SIGNALS_KERNEL):
            monkeypatch.setattr(lazy, "for_call", lambda *a, _k=kernel, **kw: _k)
        monkeypatch.setattr(results, "SIMD_SORT", simd_sort)
        r = engine.simulate(scenario, paths=40, keep_paths=3, workers=1)
        return r.path_metrics, r.monthly, r.daily, r.daily_quantiles
    numpy_form, compiled, sorted_ = run(None), run(reporting_kernel), run(reporting_kernel, simd_sort=True)
    for other in (compiled, sorted_):
        kernel_forms.assert_same_runs(numpy_form[:3], other[:3])
        assert list(numpy_form[3].columns) == list(other[3].columns)
        for column in numpy_form[3].columns:
            kernel_forms.assert_same_bits(numpy_form[3][column].to_numpy(), other[3][column].to_numpy(), column)


def test_rows_not_float64_stay_in_numpy(monkeypatch):
    """Integer rows interpolate in numpy's integer-then-float arithmetic: only float64 rows are selected compiled."""
    rows = np.random.default_rng(2).integers(-2**62, 2**62, size=(3, 101))
    numpy_form, compiled, calls = both(monkeypatch, rows)
    assert calls == 0
    kernel_forms.assert_same_bits(numpy_form, compiled)
    assert np.array_equal(compiled, np.moveaxis(np.percentile(rows, results.DAILY_PERCENTILES, axis=-1), 0, -1))


def _fake_record(rng, n: int, paths: int) -> "object":
    """A block record's lines of every kind the fold reads: per-path rows, per-day ``(n,)`` amounts, floats,
    an integer field, and NaN, ±inf and ±0.0 among heavy tails."""
    from types import SimpleNamespace

    from simulator import reporting

    record = SimpleNamespace()
    for q, (_, name) in enumerate(reporting._BLOCK_LINES):
        kind = q % 4
        if kind == 0 or not paths:
            x = rng.lognormal(0, 3, size=(n, paths)) * rng.choice([-1.0, 1.0], size=(n, paths))
        elif kind == 1:
            x = rng.normal(size=n)
        elif kind == 2:
            x = float(rng.normal())
        else:
            x = rng.integers(-5, 5, size=(n, paths))
        setattr(record, name, x)
    if paths and n > 4:
        record.btc_mined[2, 0], record.btc_mined[3, -1], record.btc_mined[4, -1] = np.nan, np.inf, -np.inf
        signed = getattr(record, reporting._BLOCK_LINES[4][1])  # (a per-path field: kind 0)
        signed[::2, 0], signed[1::2, -1] = -0.0, 0.0
    return record


@pytest.mark.parametrize("paths", [0, 1, 37])
def test_the_fold_of_the_fields_where_they_are_equals_numpys_and_the_running_sums(monkeypatch, paths):
    """``Reporter._fold`` compiled (``reporting_kernel.fold_fields``, the lines read from the record) against its
    numpy form (copied into the block of lines, ``reporting.fold_block``) and against each day's ``+=``, byte for
    byte: runs of days of operating blocks (30, 1, 29) cut by the reporting blocks (32), months straddling
    both, every kind of field, NaN, ±inf and ±0.0."""
    import pandas as pd

    from simulator import reporting
    from simulator.workers import LocalQuantiles

    rng = np.random.default_rng(paths + 11)
    dates = pd.date_range("2026-01-15", periods=90, freq="D")
    columns = ("btc_price_usd", "network_hashrate_ehs", "hashprice_usd_per_ph_day") + signals.SIGNAL_COLUMNS
    blocks = [(first, _fake_record(rng, n, paths)) for first, n in ((0, 30), (30, 1), (31, 29), (60, 30))]
    day_lines = rng.lognormal(0, 2, size=(90, len(reporting._DAY_LINES), paths))

    def fold(kernel):
        monkeypatch.setattr(reporting.FOLD_KERNEL, "for_call", lambda *a, **kw: kernel)
        r = reporting.Reporter(dates, np.arange(paths), 0, columns, LocalQuantiles(90, len(columns), paths, 32),
                               None, [], ((), None))  # no column wanted: nothing is taken from a block
        for first, record in blocks:
            n = len(record.btc_mined)
            cuts = sorted({first, first + n} | {d for d in range(first + 1, first + n) if d % 32 == 0})
            for a, z in zip(cuts, cuts[1:]):  # (a reporting block's end cuts a block's run)
                r.day_lines[:, a % 32:a % 32 + z - a] = np.moveaxis(day_lines[a:z], 0, 1)
                with np.errstate(invalid="ignore"):
                    r._fold(record, a % 32, a - first, z - first, r.month_of_day[a:z])
        return r.sums, r.monthly, r.month_of_day

    numpy_form, compiled = fold(None), fold(reporting_kernel)
    for want, got in zip(numpy_form[:2], compiled[:2]):
        kernel_forms.assert_same_bits(got, want)
    sums, monthly = np.zeros_like(numpy_form[0]), np.zeros_like(numpy_form[1])
    with np.errstate(invalid="ignore"):
        for first, record in blocks:  # the reference: each day's lines added in order
            for j in range(len(record.btc_mined)):
                day = np.empty_like(sums)
                for k, name in reporting._BLOCK_LINES:
                    x = getattr(record, name)
                    day[k] = x[j] if isinstance(x, np.ndarray) else x
                for t, (k, _) in enumerate(reporting._DAY_LINES):
                    day[k] = day_lines[first + j, t]
                sums += day
                monthly[numpy_form[2][first + j]] += day[:monthly.shape[1]]
    kernel_forms.assert_same_bits(compiled[0], sums)
    kernel_forms.assert_same_bits(compiled[1], monthly)


@pytest.mark.parametrize("pledging, debts, masked", [(0, 0, False), (1, 3, False), (1, 3, True), (2, 1, True)])
def test_the_days_columns_compiled_are_the_ledgers_and_the_energised_fleet(monkeypatch, pledging, debts, masked):
    """``engine.day_columns`` compiled (``reporting_kernel.day_row``) against its numpy form (the block's
    ``energised_ehs`` and the ledger's ``daily_columns``, copied into the row), byte for byte: the energised fleet
    masked or not, no, one and several BTC-backed loans and debts (the sums from +0.0 in the ledger's order: terms
    of 1e16 and 1 apart, so another order gives other floats), NaN, ±inf and ±0.0; the other rows left as they were."""
    from types import SimpleNamespace

    from simulator import block
    from simulator.finance.ledger import Ledger

    paths, rng = 41, np.random.default_rng(pledging * 10 + debts + masked)

    def values():
        x = rng.normal(size=paths) * 10.0 ** rng.integers(-3, 17, size=paths)
        x[:6] = [-0.0, 0.0, np.inf, -np.inf, kernel_forms.NAN, 1.0]
        return x[rng.permutation(paths)]
    ledger = kernel_forms.FakeLedger(paths=paths, cash_usd=values(), treasury_btc=values(), arrears_usd=values(),
                                     equity_value_usd=values(), share_price_usd=values(),
                                     debt_books=[SimpleNamespace(balance_usd=values(), pledged_btc=values())
                                                 for _ in range(max(debts, pledging))])
    ledger._btc_books = ledger.debt_books[:pledging]
    ledger.debt_books = ledger.debt_books[:debts]
    for name in ("pledged_btc", "debt_usd", "daily_columns", "daily_column_terms"):
        setattr(ledger, name, getattr(Ledger, name).__get__(ledger))
    b = block.OpsBlock(5, 3, trades=[SimpleNamespace(installed_ehs=values()) for _ in range(3)])
    if masked:
        b.stopped, b._alive_usd = np.ones(paths, dtype=bool), (rng.uniform(size=paths) < 0.7).astype(float)

    def day(kernel):
        monkeypatch.setattr(engine.DAY_KERNEL, "for_call", lambda *a, **kw: kernel)
        row, line = np.full((12, paths), 7.0), np.full(paths, 7.0)
        with np.errstate(invalid="ignore"):
            engine.day_columns(3, ledger, 5, np.zeros(paths), b, 6, row, line)
        return row, line
    (row, line), (compiled_row, compiled_line) = day(None), day(reporting_kernel)
    kernel_forms.assert_same_bits(compiled_row, row, "row")
    kernel_forms.assert_same_bits(compiled_line, line, "line")
    with np.errstate(invalid="ignore"):
        kernel_forms.assert_same_bits(line, b.energised_ehs(6), "the energised fleet")
    assert (row[[0, 1, 2, 4, 11]] == 7.0).all()
    columns = ledger.daily_columns()
    for j, name in enumerate(("cash_usd", "treasury_btc", "pledged_btc", "debt_usd", "equity_value_usd",
                              "share_price_usd"), 5):
        kernel_forms.assert_same_bits(row[j], columns[name], name)
