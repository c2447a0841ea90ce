"""The failure model's day, compiled: both binomial draws and the repair ring in one pass over (cohorts, paths).

:func:`simulator.fleet.fail_day` (numpy) is the reference: per cohort c and path,

    failed ~ Binomial(n, q_c),  n = working + repairs[slot]   (units back from repair today)
    lost   ~ Binomial(failed, permanent_fraction)
    repairs[slot] ← failed − lost,  working ← n − failed,  installed ← installed − lost

each count drawn by :func:`simulator.rng.binomial_inverse_cdf` from the day's two uniforms.
:func:`fail_day` here gives the same counts, exactly: the walk up the CDF is
:func:`simulator.rng.binomial_walk` compiled as it is (the same floating-point operations in
the same order as the vectorised walk), and the walk's start ``f(0) = exp(n ln(1 − p))`` is
looked up in tables of ``np.exp(k · np.log1p(−p))`` that numpy computed (numba's ``exp`` and
``log1p`` are the C library's, which differ from numpy's SIMD ones in the last bit for a few
per cent of arguments). Where ``binomial_inverse_cdf`` would take its large-mean branch for
the whole array (some ``n·p`` above :data:`simulator.rng.BINOMIAL_WALK_MEAN_AT_MOST`, or NaN)
this returns :data:`LARGE` and changes nothing: the caller runs the numpy reference for that
day. A count beyond a table returns :data:`SHORT`, also changing nothing. :func:`fail_days` runs a
block's days in one call and draws each cohort's two uniforms of the day just before the cohort's pass (the Philox
blocks holding them, :func:`simulator.philox_kernel.fill_block`, at the day's position of the ``failures`` stream:
:class:`simulator.fleet.FailureDraws`), rows the pass then reads from the first-level cache; the numbers are the
stream's, as a block drawn beforehand would hold them.

A cohort whose counts lie in a narrow range with a small mean (bench's rows: thousands of units a few tens apart) is
not walked draw by draw: each uniform is compared with bounds of the walk's CDF values over the range
(:func:`_cdf_bounds`, :func:`_bracket_counts`: the same integer, proved there); the ~1–13 % of draws the bounds do not
decide compare the uniform with their own count's CDF values, kept beside the bounds (a day alone walks them); the
permanent share of 0–7 units failed picks its CDF values by selects (:func:`_lost_counts`). A cohort's day is three
passes: its units and their bracketed counts (:func:`_units_today`), the undecided draws (:func:`_cohort_failures`),
the permanent share with the cohort's changes (:func:`_lost_counts`). docs/decisions.md, "Session 33, life33",
"Session 34, life34" and "Session 35, life35".

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); importing
this module imports numba (~0.2 s), which :mod:`simulator.fleet` does only for large runs.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import numba_cache, philox, philox_kernel, rng

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

OK, LARGE, SHORT = 0, 1, 2
#: Steps every draw of a row takes together, without branches (the compiler runs them on SIMD
#: lanes), before the few draws still walking finish one by one. A draw's walk branches at every
#: step on ``F ≤ u``: the walks one by one cost ~18 ns a draw in mispredicted branches, the four
#: steps on lanes ~3 ns (1,000 paths × 20 cohorts, n·q ≈ 1–3: ~3 % of draws go on).
STEPS = 4
#: The same for the permanent share (Binomial(failed, fraction): 0 or 1 of a few units mostly).
LOST_STEPS = 2
_MEAN_AT_MOST = rng.BINOMIAL_WALK_MEAN_AT_MOST
_INT_MAX = np.iinfo(np.int64).max

_walk_on = njit(cache=True, nogil=True, inline="always")(rng.binomial_walk_on)


def binomial_inverse_cdf(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """:func:`simulator.rng.binomial_inverse_cdf` for a row ``(m,)`` with one ``p``, through :func:`fail_day`'s walk.

    The same counts, exactly (tests/test_failure_kernel.py checks it): ``f(0)`` and the odds
    are numpy's, the large-mean branch, ``p ≥ 1`` and ``n`` above 2⁵³ (a ``ValueError``) are the reference's.
    """
    u, p = np.ascontiguousarray(u, dtype=float), float(p)
    n = np.rint(np.ascontiguousarray(n, dtype=float))
    if not n.size or not float((n * p).max()) <= _MEAN_AT_MOST or p >= 1 or (n > rng.BINOMIAL_N_MAX).any():
        return rng.binomial_inverse_cdf(u, n, p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pmf = np.exp(n * np.log1p(-np.minimum(np.asarray(p), 1.0)))
        odds = float(np.asarray(p) / (1 - np.asarray(p)))
    out = np.empty(n.shape)
    _walk(out, u, n, pmf, odds, np.empty(n.shape), np.empty(n.shape), p, STEPS)
    return out


def _walk_row_of(steps: int):
    """:func:`walk_row` compiled for ``steps`` steps on lanes (a constant: the loop is unrolled and the
    divisions by 1, 2 and 4 become exact multiplications)."""
    def walk_row(out, u, n, pmf, odds, cdf, walking):
        """:func:`simulator.rng.binomial_walk` of every element of a row with one ``odds``, into ``out``.

        :data:`STEPS` (:data:`LOST_STEPS` for the permanent share, mostly 0 or 1 of a few) steps of
        every draw on SIMD lanes (the walk's operations in its order; a draw that has stopped keeps
        computing, unused), then :func:`simulator.rng.binomial_walk_on` for those still walking.
        ``pmf`` (``f(0)`` in, overwritten), ``cdf`` and ``walking`` are scratch.
        """
        for i in range(out.shape[0]):
            f, nn, uu = pmf[i], n[i], u[i]
            c = f
            w = np.float64((nn > 0) & (f <= uu))
            k = w
            for step in range(steps):
                j = np.float64(step)
                f = f * (nn - j)
                f = f / (j + 1.0)
                f = f * odds
                c = c + f
                w = w * np.float64((c <= uu) & (j + 1.0 < nn))
                k += w
            out[i], pmf[i], cdf[i], walking[i] = k, f, c, w
        for i in range(out.shape[0]):
            if walking[i] != 0.0:
                out[i] = _walk_on(u[i], n[i], pmf[i], cdf[i], out[i], np.float64(steps), odds)
    return njit(cache=True, nogil=True, error_model="numpy")(walk_row)


walk_row, _walk_row_lost = _walk_row_of(STEPS), _walk_row_of(LOST_STEPS)


@njit(cache=True, nogil=True, error_model="numpy")
def walk_lanes(out, u, n, pmf, odds, cdf, walking, steps):
    """:func:`walk_row` with ``steps`` chosen at run time, for rows whose mean count is beyond the
    unrolled steps (a large cohort fails tens of units a day: one by one, each walk's dependent
    divisions cost ~6 ns a step, ~130 ns a draw at a mean of 37).

    The same operations on every element in the same order, a step at a time over the whole row
    (the inner loop runs on SIMD lanes, ~1 ns an element-step), then
    :func:`simulator.rng.binomial_walk_on` for the few draws still walking: the same counts.
    """
    m = out.shape[0]
    for i in range(m):
        cdf[i] = pmf[i]
        walking[i] = out[i] = np.float64((n[i] > 0) & (pmf[i] <= u[i]))
    for step in range(steps):
        j = np.float64(step)
        for i in range(m):
            f = pmf[i] * (n[i] - j)
            f = f / (j + 1.0)
            f = f * odds
            pmf[i] = f
            cdf[i] += f
            walking[i] *= np.float64((cdf[i] <= u[i]) & (j + 1.0 < n[i]))
            out[i] += walking[i]
    for i in range(m):
        if walking[i] != 0.0:
            out[i] = _walk_on(u[i], n[i], pmf[i], cdf[i], out[i], np.float64(steps), odds)


#: Mean count of a row above which it walks on lanes for a run-time number of steps
#: (:func:`walk_lanes`); at or below it the unrolled :data:`STEPS` are faster (measured, 1,000
#: paths: 3.0 against 3.8 ns a draw at a mean of 2, 11.2 against 12.4 at 8, 15.7 against 8.8 at 10).
LANES_FROM_MEAN = 8.0


@njit(cache=True, nogil=True)
def lane_steps(n, p):
    """Steps on lanes for a row of counts ``n`` with probability ``p``: ``⌊λ + √λ⌋ + 1`` for the row's
    mean count ``λ = mean(n)·p`` (of 16–31 of its elements, all of a shorter row) above
    :data:`LANES_FROM_MEAN`, else 0: the unrolled walk. Within 10 % of the fastest count measured for
    λ from 10 to 40 (a step on lanes costs the whole row ~1 ns an element, a draw left walking ~6 ns
    a step)."""
    m = n.shape[0]
    if m == 0:
        return 0
    stride = max(m // 16, 1)  # a sample of the row is enough to choose (the counts do not depend on it)
    sample = n[::stride]
    total = 0.0  # (a loop, not sample.sum(): numba's array sum would import numba.np.arraymath and with it
    for k in range(sample.shape[0]):  # scipy.linalg, ~0.05 s, when a process loads this kernel from its cache)
        total += sample[k]
    mean = total / sample.shape[0] * p
    return np.int64(mean + np.sqrt(mean)) + 1 if mean > LANES_FROM_MEAN else 0


@njit(cache=True, nogil=True)
def _walk(out, u, n, pmf, odds, cdf, walking, p, unrolled):
    """The walk of one row: :func:`walk_lanes` where the row's mean count is large (:func:`lane_steps`),
    else :func:`walk_row` (``unrolled`` = :data:`STEPS`) or :func:`_walk_row_lost` (:data:`LOST_STEPS`)."""
    steps = lane_steps(n, p)
    if steps:
        walk_lanes(out, u, n, pmf, odds, cdf, walking, steps)
    elif unrolled == STEPS:
        walk_row(out, u, n, pmf, odds, cdf, walking)
    else:
        _walk_row_lost(out, u, n, pmf, odds, cdf, walking)


@njit(cache=True, nogil=True)
def _status(large, short):
    """:data:`LARGE` if any count's mean is above the walk's bound (or NaN), else :data:`SHORT` if any count is
    past its table, else :data:`OK`."""
    return LARGE if large else SHORT if short else OK


@njit(cache=True, nogil=True)
def _look_up(n, table, start, pmf):
    """``pmf[i] = table[start + n[i]]`` (``f(0)``) for one row of rounded counts ``n`` (every one checked)."""
    for i in range(n.shape[0]):
        pmf[i] = table[start + max(np.int64(n[i]), 0)]


@njit(cache=True, nogil=True)
def _starts(n, p, table, start, size, pmf):
    """``pmf[i] = table[start + n[i]]`` (``f(0)``) for one row of rounded counts ``n`` with probability ``p``;
    :data:`LARGE` where ``n·p`` is above the walk's bound (or NaN), :data:`SHORT` past the table."""
    large = short = 0
    for i in range(n.shape[0]):  # counts, not branches: on SIMD lanes
        large += not n[i] * p <= _MEAN_AT_MOST
        short += n[i] >= size
    status = _status(large, short)
    if status == OK:
        _look_up(n, table, start, pmf)
    return status


@njit(cache=True, nogil=True, error_model="numpy")
def _units_today(working, repairs_slot, c, units, n, out, u, p, size, bounds, lo, hi):
    """Cohort ``c``'s units today, back from repair included: ``units = working[c] + repairs_slot[c]`` and its rounded
    count ``n`` (the failures' trials), checked as :func:`_starts` checks them; returns the status and the least and
    greatest count (NaN counts are LARGE). In the same pass, each draw ``u[c]``'s count bracketed by ``bounds``
    ``(2, 8)`` of the counts ``lo … hi`` as :func:`_bracket_counts` compares it, into ``out[c]``: 16 more where the
    bounds do not decide it or its count is outside ``lo … hi``. Those counts are kept only where the bounds are
    (``lo ≤ hi``) and hold every count of the day (:func:`_cohort_failures`); else nothing reads them."""
    large = short = 0
    least, most = _INT_MAX, -_INT_MAX
    a0, a1, a2, a3, a4, a5, a6, a7 = bounds[0, 0], bounds[0, 1], bounds[0, 2], bounds[0, 3], bounds[0, 4], \
        bounds[0, 5], bounds[0, 6], bounds[0, 7]
    b0, b1, b2, b3, b4, b5, b6, b7 = bounds[1, 0], bounds[1, 1], bounds[1, 2], bounds[1, 3], bounds[1, 4], \
        bounds[1, 5], bounds[1, 6], bounds[1, 7]
    first, last = np.float64(lo), np.float64(hi)
    for i in range(units.shape[0]):  # counts, compares and sums, not branches: on SIMD lanes
        x = working[c, i] + repairs_slot[c, i]
        units[i] = x
        n[i] = count = np.rint(x)
        large += not count * p <= _MEAN_AT_MOST
        short += count >= size
        whole = np.int64(count)  # (integers: a float min/max keeps NaN's order, off SIMD lanes; on OK every count
        least, most = min(least, whole), max(most, whole)  # is finite, the cast exact)
        v = u[c, i]
        a = (a0 <= v) + (a1 <= v) + (a2 <= v) + (a3 <= v) + (a4 <= v) + (a5 <= v) + (a6 <= v) + (a7 <= v)
        b = (b0 <= v) + (b1 <= v) + (b2 <= v) + (b3 <= v) + (b4 <= v) + (b5 <= v) + (b6 <= v) + (b7 <= v)
        out[c, i] = a + 16 * ((a != b) | (b == BRACKET_ENTRIES) | (count < first) | (count > last))
    return _status(large, short), least, most


#: CDF entries ``F(0) … F(7)`` the bracketed counts compare each uniform with (:func:`_bracket_counts`).
BRACKET_ENTRIES = 8
#: Greatest mean count ``n·p`` of a cohort's row counted by the bracket (beyond it, :func:`_walk`): at 3 a count
#: reaches the 8 entries (and walks alone) for ~0.4 % of draws.
BRACKET_MEAN_AT_MOST = 3.0
#: Greatest spread of a row's mean counts ``(most − least)·p`` bracketed: the bounds' gaps grow with it (~1 % of draws
#: at 0.02, ~6 % at 0.045, ~13 % at 0.1). Where each count's CDF row is kept (:func:`fail_days`), a draw in a gap
#: looks its row up (~3.7 ns a draw at 0.1, against ~6 for the walk); a day alone walks it (up to 0.05).
BRACKET_SPREAD_AT_MOST, BRACKET_SPREAD_ALONE_AT_MOST = 0.1, 0.05


@njit(cache=True, nogil=True, error_model="numpy")
def _cdf_bounds(least, most, table, start, odds, f, cdf, e, upper, lower, values):
    """``upper[k]``, ``lower[k]``: bounds of ``E_n(k)`` over the counts ``n = least … most``, for ``k <``
    :data:`BRACKET_ENTRIES`, where ``E_n(k)`` is the walk's ``F(k)`` from ``f(0) = table[start + n]`` (its operations
    in its order) where ``k < n``, else +inf (the walk stops there: ``j < n``): ``E_least(k)`` and ``E_most(k)``, once
    every ``E_{n+1}(k) ≤ E_n(k)`` is checked (a CDF falls as the trials grow; no NaN). False where a check fails
    (the bounds then say nothing). ``f``, ``cdf`` and ``e`` are scratch of at least ``most − least + 1``. Where
    ``values`` ``(m, 8)`` has a row for each count (``m ≥ most − least + 1``), ``values[r, k] = E_{least + r}(k)``: the
    draws the bounds leave undecided count them (:func:`_bracket_counts`)."""
    rows = most - least + 1
    keep = values.shape[0] >= rows
    bad = 0
    for r in range(rows):  # the rows side by side, on SIMD lanes
        f[r] = cdf[r] = table[start + least + r]
    for k in range(BRACKET_ENTRIES):
        j = np.float64(k - 1)
        for r in range(rows):
            x = np.float64(least + r)
            if k > 0:
                g = f[r] * (x - j)
                g = g / (j + 1.0)
                g = g * odds
                f[r] = g
                cdf[r] = cdf[r] + g
            e[r] = cdf[r] if np.float64(k) < x else np.inf
        for r in range(rows if keep else 0):
            values[r, k] = e[r]
        bad += e[0] != e[0]
        for r in range(rows - 1):
            bad += not e[r + 1] <= e[r]
        upper[k], lower[k] = e[0], e[rows - 1]
    return bad == 0


@njit(cache=True, nogil=True, inline="always")
def _walk_one(u, n, f0, odds):
    """:func:`simulator.rng.binomial_walk` (a draw alone, from ``k = 0``)."""
    if not (n > 0 and f0 <= u):
        return 0.0
    return _walk_on(u, n, f0, f0, 1.0, 0.0, odds)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _at_most(values, r, u):
    """``#{k < 8 : e[k] ≤ u}`` of a count's CDF values ``e = values[r]`` (:func:`_cdf_bounds`' ``values``): where below
    :data:`BRACKET_ENTRIES`, the walk's count of the draw ``u`` (:func:`_bracket_counts` says why)."""
    return (values[r, 0] <= u) + (values[r, 1] <= u) + (values[r, 2] <= u) + (values[r, 3] <= u) + \
        (values[r, 4] <= u) + (values[r, 5] <= u) + (values[r, 6] <= u) + (values[r, 7] <= u)


@njit(cache=True, nogil=True, error_model="numpy")
def _bracket_counts(out, u, n, upper, lower, table, start, odds, values, first, rows, at):
    """The walk's counts of a row whose counts ``n`` lie in a range with CDF bounds ``upper``, ``lower``
    (:func:`_cdf_bounds`): ``a = #{k : upper[k] ≤ u}`` where ``#{k : lower[k] ≤ u}`` is ``a`` too and below
    :data:`BRACKET_ENTRIES`, else (~1–2 % of bench's draws) ``#{k : E_n(k) ≤ u}`` from the count's own CDF values
    ``values[n − first]`` (:func:`_cdf_bounds`; ``rows`` of them, 0: none) where below :data:`BRACKET_ENTRIES`, else
    the walk alone (:func:`_walk_one`, ``f(0) = table[start + n]``).

    Exact: ``lower[k] ≤ E_n(k) ≤ upper[k]``, so ``[upper[k] ≤ u] ≤ [E_n(k) ≤ u] ≤ [lower[k] ≤ u]`` for every ``k``,
    and equal sums make every ``[E_n(k) ≤ u]`` known; ``E_n`` does not decrease in ``k`` (``F`` adds ``f ≥ 0``:
    ``f(0) ≥ 0``, ``odds ≥ 0``, ``n − j > 0`` below ``n``; +inf from ``n`` on), so the ``k`` with ``E_n(k) ≤ u`` are
    the first ``a``, the steps the walk takes: its count is ``a``. The same holds of ``#{k : E_n(k) ≤ u}`` itself
    (the values the bounds are made of, each count's row exactly), so a count's own row decides it the same way
    (~5 ns a draw, against ~25 for the walk's dependent divisions)."""
    a0, a1, a2, a3, a4, a5, a6, a7 = upper[0], upper[1], upper[2], upper[3], upper[4], upper[5], upper[6], upper[7]
    b0, b1, b2, b3, b4, b5, b6, b7 = lower[0], lower[1], lower[2], lower[3], lower[4], lower[5], lower[6], lower[7]
    for i in range(out.shape[0]):  # compares and sums: on SIMD lanes
        v = u[i]
        a = (a0 <= v) + (a1 <= v) + (a2 <= v) + (a3 <= v) + (a4 <= v) + (a5 <= v) + (a6 <= v) + (a7 <= v)
        b = (b0 <= v) + (b1 <= v) + (b2 <= v) + (b3 <= v) + (b4 <= v) + (b5 <= v) + (b6 <= v) + (b7 <= v)
        out[i] = a + 16 * ((a != b) | (b == BRACKET_ENTRIES))  # 16 and more: not decided (a ≤ 8)
    _undecided(out, u, n, table, start, odds, values, first, rows, at)


@njit(cache=True, nogil=True, inline="always")
def _any_of_8(x, i, at_least):
    """Whether one of ``x[i] … x[i + 7]`` is at least ``at_least`` (compares on SIMD lanes, one branch)."""
    return (x[i] >= at_least) | (x[i + 1] >= at_least) | (x[i + 2] >= at_least) | (x[i + 3] >= at_least) | \
        (x[i + 4] >= at_least) | (x[i + 5] >= at_least) | (x[i + 6] >= at_least) | (x[i + 7] >= at_least)


@njit(cache=True, nogil=True, error_model="numpy")
def _undecided(out, u, n, table, start, odds, values, first, rows, at):
    """:func:`_bracket_counts`' draws its bounds leave undecided (``out[i] ≥ 16``): counted from the count's own CDF
    values ``values[n − first]`` (``rows`` of them, 0: none) where below :data:`BRACKET_ENTRIES`, else by the walk
    alone (:func:`_walk_one`, ``f(0) = table[start + n]``). The draws are found eight at a time (:func:`_any_of_8`: a
    draw-by-draw test of ~1–2 % costs ~1 ns a draw in branches, eight at once ~0.2) and listed in ``at`` (scratch of
    the row's length), then counted: their rows' reads, often from memory, do not wait on each other's branches."""
    m, k = out.shape[0], 0
    for i0 in range(0, m, 8):
        if i0 + 8 > m or _any_of_8(out, i0, 16.0):
            for i in range(i0, min(i0 + 8, m)):
                at[k] = i
                k += out[i] >= 16.0
    for q in range(k):
        i = np.int64(at[q])
        v, r = u[i], np.int64(n[i]) - first
        a = _at_most(values, r, v) if 0 <= r < rows else BRACKET_ENTRIES
        out[i] = a if a < BRACKET_ENTRIES else _walk_one(v, n[i], table[start + np.int64(n[i])], odds)


@njit(cache=True, nogil=True, error_model="numpy")
def _lost_rows(table, odds, rows):
    """``rows[0, n]`` = ``E_n(0)``, ``rows[1, n]`` = ``E_n(1)`` (:func:`_cdf_bounds`) for ``n < 8`` of the permanent
    share (``f(0) = table[n]``); False if one is NaN."""
    nan = 0
    for nn in range(8):
        x = np.float64(nn)
        f0 = table[nn]
        g = f0 * (x - 0.0)
        g = g / 1.0
        g = g * odds
        rows[0, nn] = f0 if 0.0 < x else np.inf
        rows[1, nn] = f0 + g if 1.0 < x else np.inf
        nan += (rows[0, nn] != rows[0, nn]) + (rows[1, nn] != rows[1, nn])
    return nan == 0


@njit(cache=True, nogil=True, error_model="numpy")
def _lost_counts(c, failed, u, units, installed, rows, table, odds, p, values, value_rows, new_working, new_installed,
                 lost, failed_per_path, flag):
    """The permanent share's counts ``lost[c]`` of cohort ``c``'s units failed ``failed[c]`` (mostly 0 to 3) from
    ``rows`` (:func:`_lost_rows`): ``a = [E_n(0) ≤ u] + [E_n(1) ≤ u]`` where ``n < 8`` and ``a < 2`` (the walk's
    count, as in :func:`_bracket_counts`: ``E_n`` does not decrease), else (~1–3 % of bench's draws)
    ``#{k : E_n(k) ≤ u}`` from ``n``'s row of ``values`` (``E_n(0) … E_n(7)`` of the counts ``n < value_rows``:
    :func:`_lost_values`) where below 8, else the walk alone. ``E_n(k)`` is picked by comparing ``n`` with 1 … 7
    (selects on SIMD lanes, not a gather). The cohort's changes in the same pass (:func:`_changes`; where a count is
    decided later, its installed units again). Returns :func:`_starts`' status (the rows half written where not OK)."""
    e01, e02, e03, e04, e05, e06, e07 = rows[0, 1], rows[0, 2], rows[0, 3], rows[0, 4], rows[0, 5], rows[0, 6], rows[0, 7]
    e12, e13, e14, e15, e16, e17 = rows[1, 2], rows[1, 3], rows[1, 4], rows[1, 5], rows[1, 6], rows[1, 7]
    large = short = alone = 0
    size = table.shape[0]
    for i in range(flag.shape[0]):  # compares and selects: on SIMD lanes
        m, v = failed[c, i], u[c, i]
        e0 = e01 if m == 1.0 else e02 if m == 2.0 else e03 if m == 3.0 else e04 if m == 4.0 else \
            e05 if m == 5.0 else e06 if m == 6.0 else e07 if m == 7.0 else np.inf
        e1 = e12 if m == 2.0 else e13 if m == 3.0 else e14 if m == 4.0 else e15 if m == 5.0 else \
            e16 if m == 6.0 else e17 if m == 7.0 else np.inf
        a = np.float64(e0 <= v) + np.float64(e1 <= v)
        flag[i] = g = np.float64((a == 2.0) | (m >= 8.0))
        alone += np.int64(g)
        large += not m * p <= _MEAN_AT_MOST
        short += m >= size
        lost[c, i] = a
        new_working[c, i] = units[i] - m
        new_installed[c, i] = installed[c, i] - a
        failed_per_path[i] += m
    status = _status(large, short)
    paths = flag.shape[0]
    for i0 in range(0, paths if alone and status == OK else 0, 8):  # eight at a time, as in :func:`_undecided`
        if i0 + 8 > paths or _any_of_8(flag, i0, 1.0):
            for i in range(i0, min(i0 + 8, paths)):
                if flag[i] != 0.0:
                    m, v = failed[c, i], u[c, i]
                    a = _at_most(values, np.int64(m), v) if m < value_rows else BRACKET_ENTRIES
                    lost[c, i] = a = a if a < BRACKET_ENTRIES else _walk_one(v, m, table[np.int64(m)], odds)
                    new_installed[c, i] = installed[c, i] - a
    return status


@njit(cache=True, nogil=True)
def _changes(c, failed, units, installed, lost, new_working, new_installed, failed_per_path):
    """Cohort ``c``'s changes: ``new_working = units − failed``, ``new_installed = installed − lost`` and the units failed
    added to ``failed_per_path`` (cohorts in their order, from 0.0)."""
    for i in range(failed_per_path.shape[0]):
        new_working[c, i] = units[i] - failed[c, i]
        new_installed[c, i] = installed[c, i] - lost[c, i]
        failed_per_path[i] += failed[c, i]


#: Units failed whose permanent share's CDF row :func:`_lost_values` keeps (beyond: the walk alone).
LOST_VALUE_ROWS = 16


@njit(cache=True, nogil=True, error_model="numpy")
def _lost_values(table, odds):
    """``values[n, k] = E_n(k)`` (:func:`_cdf_bounds`: the walk's ``F(k)`` from ``f(0) = table[n]``, +inf from ``n``
    on) for the counts ``n <`` :data:`LOST_VALUE_ROWS` (and the table's size) and ``k < 8``, and how many rows hold
    (0 where :func:`_cdf_bounds`' checks fail: a NaN)."""
    rows = min(LOST_VALUE_ROWS, table.shape[0])
    values, scratch = np.empty((LOST_VALUE_ROWS, BRACKET_ENTRIES)), np.empty((5, LOST_VALUE_ROWS))
    if rows == 0 or not _cdf_bounds(0, rows - 1, table, 0, odds, scratch[0], scratch[1], scratch[2], scratch[3, :8],
                                    scratch[4, :8], values):
        return values, 0
    return values, rows


@njit(cache=True, nogil=True)
def no_bounds(cohorts, rows):
    """What :func:`_fail_day` keeps of each cohort's bracket, none made yet: the CDF bounds ``(cohorts, 2, 8)``, their
    counts' range ``(cohorts, 2)`` (``ranges[c, 0] > ranges[c, 1]``: none) and each count's CDF values
    ``(cohorts, rows, 8)`` (rows: at most the paths, a range's greatest; 0: none kept). Valid for the tables they were
    made from: a caller keeping them from call to call makes them again when the tables change."""
    bounds, ranges = np.empty((cohorts, 2, BRACKET_ENTRIES)), np.empty((cohorts, 2), dtype=np.int64)
    ranges[:, 0], ranges[:, 1] = 1, 0
    return bounds, ranges, np.empty((cohorts, rows, BRACKET_ENTRIES))


@njit(cache=True, nogil=True)
def _kept(bracket, paths, lost_table, lost_odds, lost_p):
    """What :func:`_fail_day` keeps from day to day: each cohort's bracket (:func:`no_bounds`: bounds, their range,
    each count's CDF values), the permanent share's CDF values (:func:`_lost_values`) and first two entries
    (:func:`_lost_rows`; False where its selects do not apply: ``p ≥ 1``, ``odds < 0``, a table of fewer than 8
    counts, a NaN), and five rows of scratch ``(5, paths)``."""
    bounds, ranges, values = bracket
    lost_values, lost_value_rows = _lost_values(lost_table, lost_odds)
    rows = np.empty((2, 8))
    lost_rows = lost_p < 1 and lost_odds >= 0 and lost_table.shape[0] >= 8 and _lost_rows(lost_table, lost_odds, rows)
    return bounds, ranges, values, lost_values, lost_value_rows, rows, lost_rows, np.empty((5, paths))


@njit(cache=True, nogil=True)
def fail_day(working, repairs_slot, installed, u_fail, u_permanent, fail_table, fail_start, fail_size, fail_odds,
             fail_p, lost_table, lost_odds, lost_p, new_working, new_installed, failed, lost, failed_per_path):
    """One day of the failure model for every cohort and path (module notes); returns :data:`OK`,
    :data:`LARGE` or :data:`SHORT`, and changes ``repairs_slot`` (in place) only on OK.

    ``fail_table[fail_start[c] + k]`` = numpy's ``exp(k · log1p(−q_c))`` for k < ``fail_size[c]``,
    ``lost_table[k]`` the same for the permanent fraction; ``*_odds`` = ``p / (1 − p)``. Outputs:
    ``new_working`` (``n − failed``), ``new_installed``, ``lost`` (cohorts, paths) and ``failed_per_path``
    (Σ over cohorts, in their order); ``failed`` is scratch (on OK the units failed by cohort). A cohort at a time:
    its rows stay in the first-level cache, the outputs written as they are made (a LARGE or SHORT day leaves them
    half written, and the state as it was).
    """
    cohorts, paths = working.shape
    kept = _kept(no_bounds(cohorts, 0), paths, lost_table, lost_odds, lost_p)  # (a day alone: its bracket's
    tables = (fail_table, fail_start, fail_size, fail_odds, fail_p, lost_table, lost_odds, lost_p)  # undecided walk)
    nothing = (np.empty((0, paths)), 0, np.zeros(0, dtype=np.bool_), np.empty((4, paths), dtype=np.uint64),
               np.empty(0, dtype=np.uint64), np.uint64(0), np.uint64(0), np.uint64(0))  # no draws to make
    return _fail_day(working, repairs_slot, installed, u_fail, u_permanent, tables, new_working, new_installed,
                     failed, lost, failed_per_path, kept, nothing)


@njit(cache=True, nogil=True)
def _bracketed(least, most, p, odds, kept_rows):
    """Whether a row of counts ``least … most`` with probability ``p`` is bracketed (:func:`_failures`): a small mean
    and a narrow spread (wider where each count's CDF values are kept, ``kept_rows > 0``), ``odds ≥ 0``."""
    spread = BRACKET_SPREAD_AT_MOST if kept_rows else BRACKET_SPREAD_ALONE_AT_MOST
    return 0 <= least <= most and most * p <= BRACKET_MEAN_AT_MOST and (most - least) * p <= spread and odds >= 0


@njit(cache=True, nogil=True)
def _failures(out, u, n, least, most, table, start, size, odds, p, pmf, cdf, scratch, bounds, counts, values):
    """A cohort's units failed ``out`` of its counts ``n`` (``least … most``) and uniforms ``u``: bracketed
    (:func:`_bracket_counts`) where the mean is small and the counts' range narrow (:func:`_bracketed`), with the CDF
    bounds of the counts ``counts[0] … counts[1]`` in ``bounds`` (``(2, 8)``), made again (:func:`_cdf_bounds`, a few
    more counts either side, below the table's ``size``) where today's counts leave them, each count's own CDF values
    in ``values`` where it has a row for each (the draws the bounds leave undecided count them); else the walk
    (:func:`_walk`). Returns True where bracketed."""
    small = _bracketed(least, most, p, odds, values.shape[0])
    if small and not counts[0] <= least <= most <= counts[1]:
        pad = 4 + (most - least) // 8
        counts[0] = max(least - pad, 0)
        counts[1] = min(most + pad, size - 1, counts[0] + n.shape[0] - 1)  # (in the table; rows ≤ the scratch's)
        if not _cdf_bounds(counts[0], counts[1], table, start, odds, pmf, cdf, scratch, bounds[0], bounds[1], values):
            counts[0], counts[1] = 1, 0
    if small and counts[0] <= least <= most <= counts[1]:
        rows = counts[1] - counts[0] + 1
        _bracket_counts(out, u, n, bounds[0], bounds[1], table, start, odds, values, counts[0],
                        rows if values.shape[0] >= rows else 0, scratch)
        return True
    _look_up(n, table, start, pmf)
    _walk(out, u, n, pmf, odds, cdf, scratch, p, STEPS)
    return False


@njit(cache=True, nogil=True)
def _cohort_failures(c, failed, u, n, least, most, tables, pmf, cdf, walking, bounds, ranges, values):
    """Cohort ``c``'s units failed ``failed[c]`` of its counts ``n`` (``least … most``): ``n`` where its ``p ≥ 1``;
    where its kept bounds hold every count of the day and the row is still bracketed, the counts
    :func:`_units_today` compared (:func:`_failures`' own bracket with those bounds: the same compares), their
    undecided draws decided (:func:`_undecided`); else :func:`_failures`. Returns True where bracketed."""
    table, start, size, odds, p = tables[0], tables[1][c], tables[2][c], tables[3][c], tables[4][c]
    if p >= 1:
        failed[c] = n
        return False
    lo, hi = ranges[c, 0], ranges[c, 1]
    if lo <= least and most <= hi and _bracketed(least, most, p, odds, values.shape[1]):
        rows = hi - lo + 1
        _undecided(failed[c], u[c], n, table, start, odds, values[c], lo, rows if values.shape[1] >= rows else 0,
                   walking)
        return True
    return _failures(failed[c], u[c], n, least, most, table, start, size, odds, p, pmf, cdf, walking, bounds[c],
                     ranges[c], values[c])


@njit(cache=True, nogil=True)
def _lost_walked(c, failed, u, lost, table, odds, p, pmf, cdf, walking):
    """Cohort ``c``'s permanent share ``lost[c]`` of ``failed[c]`` by the walk (all of them where ``p ≥ 1``): the status
    of :func:`_starts` (nothing written where not OK)."""
    status = _starts(failed[c], p, table, 0, table.shape[0], pmf)
    if status == OK and p >= 1:
        lost[c] = failed[c]
    elif status == OK:
        _walk(lost[c], u[c], failed[c], pmf, odds, cdf, walking, p, LOST_STEPS)
    return status


@njit(cache=True, nogil=True)
def _draw_for(c, cohorts, draws):
    """Cohort ``c``'s two uniforms of the day (rows ``c`` and ``cohorts + c`` of ``draws``' rows, draws ``start …`` of
    the stream), drawn where not yet: the Philox block holding each (:func:`simulator.philox_kernel.fill_block`, its
    four rows at once), marked in ``drawn`` (none to draw where ``drawn`` is empty: the rows are given)."""
    u, start, drawn, words, counter_paths, key0, key1, seed_high = draws
    first = start // 4
    for row in (c, cohorts + c):
        b = (start + row) // 4
        if drawn.shape[0] and not drawn[b - first]:
            philox_kernel.fill_block(u, start, b, words, counter_paths, key0, key1, seed_high, philox.UNIFORM,
                                     np.uint64(0))
            drawn[b - first] = True


@njit(cache=True, nogil=True)
def _fail_day(working, repairs_slot, installed, u_fail, u_permanent, tables, new_working, new_installed, failed, lost,
              failed_per_path, kept, draws):
    """:func:`fail_day` with ``tables`` (its eight table arguments), what is kept from day to day (:func:`_kept`: each
    cohort's CDF bounds and values, made as needed by :func:`_failures`) and the day's draws (:func:`_draw_for`: each
    cohort's two rows drawn just before its pass, or given). A cohort in three passes: its units today and their
    failures compared with its kept bounds (:func:`_units_today`), the failures decided (:func:`_cohort_failures`),
    then the permanent share and the cohort's changes (:func:`_lost_counts`, or :func:`_lost_walked` and
    :func:`_changes`); the repairs queue changes once every cohort is OK."""
    fail_p, fail_size, lost_table, lost_odds, lost_p = tables[4], tables[2], tables[5], tables[6], tables[7]
    bounds, ranges, values, lost_values, lost_value_rows, rows, lost_rows, scratch = kept
    units, n, pmf, cdf, walking = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    cohorts, paths = working.shape
    failed_per_path[:] = 0.0
    for c in range(cohorts):
        _draw_for(c, cohorts, draws)
        status, least, most = _units_today(working, repairs_slot, c, units, n, failed, u_fail, fail_p[c], fail_size[c],
                                           bounds[c], ranges[c, 0], ranges[c, 1])
        if status != OK:
            return status
        small = _cohort_failures(c, failed, u_fail, n, least, most, tables, pmf, cdf, walking, bounds, ranges, values)
        if lost_p < 1 and small and lost_rows:
            status = _lost_counts(c, failed, u_permanent, units, installed, rows, lost_table, lost_odds, lost_p,
                                  lost_values, lost_value_rows, new_working, new_installed, lost, failed_per_path,
                                  walking)
        else:
            status = _lost_walked(c, failed, u_permanent, lost, lost_table, lost_odds, lost_p, pmf, cdf, walking)
            if status == OK:
                _changes(c, failed, units, installed, lost, new_working, new_installed, failed_per_path)
        if status != OK:
            return status
    for c in range(cohorts):  # every draw made: the repairs queue changes
        for i in range(paths):
            repairs_slot[c, i] = failed[c, i] - lost[c, i]
    return OK


@njit(cache=True, nogil=True)
def fail_days(working, installed, repairs, head, start, counter_paths, key0, key1, seed_high, u, fail_table,
              fail_start, fail_size, fail_odds, fail_p, lost_table, lost_odds, lost_p, new_working, new_installed,
              failed, lost, failed_per_path, bounds, ranges, values):
    """:func:`fail_day`'s arithmetic for each day ``j`` of a block, in one call (:func:`_fail_day`, whose cohorts'
    CDF bounds are kept from day to day while the counts stay inside them: the same integers, docs/decisions.md
    "Session 33, life33"; ``bounds`` ``(cohorts, 2, 8)``, ``ranges`` ``(cohorts, 2)`` and ``values``
    ``(cohorts, paths, 8)``: :func:`no_bounds`, kept from call to call by the caller while the tables stay the same),
    each cohort's uniforms drawn just before its pass: day ``j``'s draws are ``u`` ``(2, cohorts, paths)``, filled
    with draws ``start + 2·cohorts·j …`` of every path of the stream (:func:`simulator.philox_kernel.fill`'s
    ``counter_paths``, ``key0``, ``key1``, ``seed_high``: what :meth:`simulator.rng.PathStreams.uniform_at` gives
    there, in the cache when the cohort reads them). Day ``j`` starts from day ``j − 1``'s ``new_working[j − 1]`` and
    ``new_installed[j − 1]`` (day 0 from ``working`` and ``installed``), takes its units back from repair from ring
    slot ``(head + j) mod R`` of ``repairs`` ``(R, cohorts, paths)`` and writes rows ``j`` of ``new_working``,
    ``new_installed``, ``lost`` ``(n, cohorts, paths)`` and ``failed_per_path`` ``(n, paths)`` (``failed``
    ``(cohorts, paths)`` is scratch).

    Returns ``(days done, status)``: every day done and :data:`OK`, or the first day ``j`` not done and its
    :data:`LARGE` or :data:`SHORT` status (that day changes nothing; days before it are done, their repair
    slots updated): the caller runs day ``j`` another way and calls again from day ``j + 1``.
    """
    days, ring, cohorts, paths = failed_per_path.shape[0], repairs.shape[0], working.shape[0], working.shape[1]
    draws = u.reshape((2 * cohorts, paths))
    kept = _kept((bounds, ranges, values), paths, lost_table, lost_odds, lost_p)
    tables = (fail_table, fail_start, fail_size, fail_odds, fail_p, lost_table, lost_odds, lost_p)
    drawn, words = np.zeros((2 * cohorts + 3) // 4 + 1, dtype=np.bool_), np.empty((4, paths), dtype=np.uint64)
    for j in range(days):
        drawn[:] = False
        day = (draws, start + 2 * cohorts * j, drawn, words, counter_paths, key0, key1, seed_high)
        units, units_installed = (working, installed) if j == 0 else (new_working[j - 1], new_installed[j - 1])
        status = _fail_day(units, repairs[(head + j) % ring], units_installed, u[0], u[1], tables, new_working[j],
                           new_installed[j], failed, lost[j], failed_per_path[j], kept, day)
        if status != OK:
            return j, status
    return days, OK
