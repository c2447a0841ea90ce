"""The reporting actor's block, compiled: the daily quantiles' order statistics and the signals' sums.

Each function here is the compiled form of a numpy reference that stays the definition (and runs
every small call, :mod:`simulator.lazy_kernel`):

* :func:`order_statistics` — :func:`simulator.results._order_statistics` (below);
* :func:`moving_sums` and :func:`tail_weights` — :func:`signal_columns`' 30/60-day window sums and
  under-water lookup on their own, so the tests hold each to its numpy form
  (:meth:`simulator.signals.SignalTracker.block`, :meth:`simulator.signals.SignalTracker._underwater`);
* :func:`signal_columns` — all six signal columns of a block (the two above, the averages, the flag and
  the sell pressure) in one pass, read from and written into the reporting block itself;
* :func:`fold_fields` — :func:`simulator.reporting.fold_block`'s monthly and per-path folds of a run of days,
  read from the operating block's record
  (:meth:`simulator.reporting.Reporter._fold`; its numpy form copies them into the block of lines first);
* :func:`day_row` — the day's energised fleet and the company's finance columns written into the reporting block's
  day (:func:`simulator.engine.day_columns`: the energised fleet's product and the ledger's two sums, then copies).

**Order statistics.** :func:`simulator.results._order_statistics` (numpy: each row sorted whole, or
partitioned when long) is the reference. :func:`order_statistics` finds, for each row of a
``(rows, n)`` table, the ``k``-th smallest value for each ``k`` of a short list (the 2–6 indices the
5/50/95 % percentiles need) without sorting: each value's bucket among ``n/2`` equal-width buckets
between the row's min and max (a non-decreasing function of the value), a count per bucket, the
buckets holding the ``k``s found from the running counts, and only their values gathered and
ordered (an insertion sort of a few values; a bucket of more than :data:`SORT_CANDIDATES_AT_MOST` bucketed
again between its own min and max, once, then sorted or by Floyd and Rivest's SELECT, Comm. ACM 18(3), 1975,
Algorithm 489, unless it holds one value). A ``k`` in a crowded first or last bucket that falls among the
values equal to the row's min or max is that value, with nothing gathered; a row holding only its min and max
(a 0/1 column), guessed from its first values, is counted once, without buckets (:func:`_two_values`). A row with
an infinite value, or a range that overflows or is too narrow to divide, is selected on a copy
(SELECT for each ``k``, largest first, on the part the previous one left below it). Counting and
gathering run on SIMD lanes or without mispredicted branches, the row's range on integer keys
(:func:`_range`): ~2.2 ns a value on bench-10y's daily tables (~1.8–3.2 a column, an AMD Zen 4) against
numpy's sort at ~11 without AVX-512 and ~7.9 with it on that Zen 4; only on Intel AVX-512, where numpy's sort
measured ~1.9, is the sort taken instead (:func:`simulator.results._simd_sort`). An
order statistic is one value whatever finds it, so these are numpy's numbers, with two exceptions
the caller resolves:

* a row holding NaN: no selection is made (numpy's percentile of it is NaN whatever the order
  statistics are); flagged :data:`HAS_NAN`;
* a row holding both ``−0.0`` and ``+0.0`` where a needed order statistic is zero: which of the
  two zeros a sort leaves at index ``k`` depends on the sorting algorithm (numpy's ``sort``
  orders them as equal), and the interpolation can carry that sign into the result (the median
  ``b − (b − a)·0.5`` of ``a = +0.0``, ``b = −0.0`` is ``+0.0``; of ``a = b = −0.0``, ``−0.0``);
  flagged :data:`SIGNED_ZEROS`, for the caller to run numpy's own form on that row.

The rows are read, never reordered (a row that needs selecting is copied first).

**The signals' sums.** A window's sum is numpy's ``add.reduce`` of its 30 or 60 contiguous days,
written out: numpy sums a contiguous run of 8 to 128 values pairwise in eight lanes (lane ``j``
adds values ``j, j + 8, …`` up to the last whole group of 8, the lanes are combined as
``((l₀ + l₁) + (l₂ + l₃)) + ((l₄ + l₅) + (l₆ + l₇))``, the rest added one by one; fewer than 8 one
by one) and the reduction adds that to its start, +0.0 (tests/test_reporting_kernel.py checks it
against numpy byte for byte). The lookup of the under-water share is numpy's ``searchsorted``
(``side="right"``, NaN after every number) as a count of the breakevens at or below each hashprice,
and a gather: no arithmetic.

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork), without
``fastmath``, with ``error_model="numpy"``. Importing this module imports numba.
"""
from __future__ import annotations

import numpy as np
from numba import literal_unroll, njit

from simulator import numba_cache

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

OK, HAS_NAN, SIGNED_ZEROS = 0, 1, 2
#: ``−0.0``'s bits as a signed 64-bit integer (sign bit only).
NEGATIVE_ZERO_BITS = np.int64(-2**63)
#: Ranges longer than this are first narrowed on a sample (Floyd and Rivest's cut-off).
SAMPLE_ABOVE = 600
#: A bucket's values are sorted when there are at most this many, else selected.
SORT_CANDIDATES_AT_MOST = 16


@njit(cache=True, nogil=True, error_model="numpy")
def _partition(a, left, right, k):
    """Hoare's partition of ``a[left:right + 1]`` around ``t = a[k]``: returns ``j`` with ``a[j] = t``, the
    values before it ≤ ``t`` and those after it ≥ ``t`` (Floyd and Rivest's form of the loop)."""
    t = a[k]
    i, j = left, right
    a[left], a[k] = a[k], a[left]
    if a[right] > t:
        a[right], a[left] = a[left], a[right]
    while i < j:
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
        while a[i] < t:
            i += 1
        while a[j] > t:
            j -= 1
    if a[left] == t:
        a[left], a[j] = a[j], a[left]
    else:
        j += 1
        a[j], a[right] = a[right], a[j]
    return j


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _narrow(a, left, right, k):
    """The range left to search for ``a[k]``'s value after partitioning ``a[left:right + 1]`` around it."""
    j = _partition(a, left, right, k)
    return (j + 1 if j <= k else left), (j - 1 if k <= j else right)


@njit(cache=True, nogil=True, error_model="numpy")
def _select_small(a, left, right, k):
    """Reorder ``a[left:right + 1]`` so that ``a[k]`` holds its ``(k − left)``-th smallest value, the values
    before it ≤ it and those after ≥ it: partitions around the median of three."""
    while right > left:
        mid = (left + right) // 2
        x, y, z = a[left], a[mid], a[right]
        m = mid if (x <= y) == (y <= z) else (left if (y <= x) == (x <= z) else right)
        a[m], a[k] = a[k], a[m]
        left, right = _narrow(a, left, right, k)


@njit(cache=True, nogil=True, error_model="numpy")
def _select(a, left, right, k):
    """:func:`_select_small`'s result, a long range first narrowed on a sample: its values ranked around
    ``k`` are selected into place (:func:`_select_small` on the sample's bracket), so ``a[k]`` is a
    near-exact pivot (Floyd–Rivest SELECT, one level of sampling instead of its recursion: the recursive
    form crashed the process when loaded from numba's cache, seen here)."""
    while right > left:
        if right - left > SAMPLE_ABOVE:
            n = right - left + 1
            i = k - left + 1
            z = np.log(n)
            s = 0.5 * np.exp(2.0 * z / 3.0)
            sd = 0.5 * np.sqrt(z * s * (n - s) / n) * (1.0 if 2 * i >= n else -1.0)
            _select_small(a, max(left, int(k - i * s / n + sd)), min(right, int(k + (n - i) * s / n + sd)), k)
        left, right = _narrow(a, left, right, k)


@njit(cache=True, nogil=True, error_model="numpy")
def _by_selection(row, ks, out, r, buf):
    """``out[i, r]`` ← the ``ks[i]``-th smallest value of ``row`` (no NaN; ``ks`` decreasing): each by
    :func:`_select` on a copy, from the largest down on the part the previous one left below it."""
    n = len(row)
    buf[:n] = row
    top = n  # buf[:top] holds the `top` smallest values of the row
    for i in range(len(ks)):
        k = ks[i]
        if k == top - 1:  # the largest left: move it to the end
            at = 0
            for m in range(1, top):
                if buf[m] > buf[at]:
                    at = m
            buf[at], buf[k] = buf[k], buf[at]
        else:
            _select(buf, 0, top - 1, k)
        out[i, r] = buf[k]
        top = k


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _insertion_sort(a, n):
    """Sort ``a[:n]`` (no NaN) in place by insertion: a bucket's few values, without the allocation numba's
    ``ndarray.sort`` makes on every call (its quicksort's stack is a list: ~0.4 of 1.4 ms a 500-path block)."""
    for i in range(1, n):
        x = a[i]
        j = i - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _one_value(c):
    """Whether the values of ``c`` (no NaN) all compare equal (its min equals its max): one pass without a
    branch (numba's ``min`` and ``max`` branch on NaN at every value)."""
    same = True
    for i in range(len(c)):
        same &= c[i] == c[0]
    return same


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _count_ends(row, low, high):
    """How many values of ``row`` compare equal to ``low`` and how many to ``high`` (one pass on SIMD lanes)."""
    lows, highs = 0, 0
    for i in range(len(row)):
        lows += row[i] == low
        highs += row[i] == high
    return lows, highs


#: The running counts skip this many buckets a step while the next ``k`` lies beyond them.
SCAN_STRIDE = 8


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _bucket_of(counts, buckets, k, b, below):
    """``(bucket, values before it)``: the bucket holding rank ``k`` (``k`` < the sum of ``counts[:buckets]``), scanning
    from bucket ``b`` with ``below`` values before it (``below`` ≤ ``k``): :data:`SCAN_STRIDE` buckets' counts summed a
    step (on SIMD lanes) while the rank lies past them, then bucket by bucket (~250 dependent steps a 500-value row
    were ~0.3 of ~2.4 ns a value)."""
    while b + SCAN_STRIDE <= buckets:
        step = 0
        for j in range(SCAN_STRIDE):
            step += counts[b + j]
        if below + step > k:
            break
        below += step
        b += SCAN_STRIDE
    while below + counts[b] <= k:
        below += counts[b]
        b += 1
    return b, below


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gather(row, ks, out, r, low, high, scale, buckets, work):
    """The buckets of ``row``'s values (no NaN; ``low`` and ``high`` its min and max, ``scale`` finite): each
    value's bucket ``⌊(x − low)·scale⌋`` (at most the last, ``buckets − 1``; non-decreasing in ``x``, each step
    rounding monotonically, so a bucket's values rank after those of every lower bucket), a count of the values
    in each bucket, and the values of the buckets holding the ``ks`` gathered into ``work``'s slots: ``ks[i]``'s
    is ``slot[i]``, the rank of its first value ``first_rank[i]``; returns how many slots there are. Each bucket's
    positions are chained as the values are counted (``head``, then ``bucket[i]`` the next), so the gather reads only
    the few values of the slots' buckets instead of the row again (~7 % of the kernel on bench-10y's rows); a
    slot's values come in another order than the row's, which no order statistic depends on (a value, whatever
    finds it; of two values that compare equal but differ, ``−0.0`` and ``+0.0``, :func:`order_statistics` flags
    the row wherever one is needed).

    Where a ``k`` falls in the first or the last bucket and that holds more than :data:`SORT_CANDIDATES_AT_MOST`
    values, the values equal to ``low`` and to ``high`` are counted (once): a ``k`` below the first count is
    ``low``, one at or above ``n`` − the second ``high``, written to ``out[i, r]`` at once (``slot[i]`` −1). Both
    are values of the row, and numbers that compare equal are one float but for a zero's sign (which
    :func:`order_statistics` checks wherever an order statistic is a zero): a 0/1 or few-valued column gathers
    nothing at its ends."""
    bucket, counts, slot_of, candidates, first_rank, slot, filled = work[:7]
    head, slot_bucket = work[10], work[11]
    n, last = len(row), buckets - 1
    for i in range(n):  # (a loop the compiler runs on SIMD lanes)
        bucket[i] = min(int((row[i] - low) * scale), last)
    counts[:buckets] = 0
    head[:buckets] = -1
    for i in range(n):  # each bucket's count, and its values' positions chained: head[b], then bucket[i] the next
        b = bucket[i]
        counts[b] += 1
        bucket[i] = head[b]
        head[b] = i
    m = len(ks)
    slots, below, b, lows, highs = 0, 0, 0, -1, -1
    for i in range(m - 1, -1, -1):  # ks increasing
        k = ks[i]
        b, below = _bucket_of(counts, buckets, k, b, below)
        slot[i] = -1
        if (b == 0 or b == last) and counts[b] > SORT_CANDIDATES_AT_MOST:
            if lows < 0:
                lows, highs = _count_ends(row, low, high)
            if k < lows or k >= n - highs:
                out[i, r] = low if k < lows else high
                continue
        if slot_of[b] < 0:
            slot_of[b] = slots
            slot_bucket[slots] = b
            slots += 1
        slot[i], first_rank[i] = slot_of[b], below
    for s in range(slots):  # (the chain of a slot's bucket: its values, last first; only their values are read)
        slot_of[slot_bucket[s]] = -1  # (every entry −1 again for the next row: 2–6 stores, not one a bucket)
        at, f = head[slot_bucket[s]], 0
        while at >= 0:
            candidates[s, f] = row[at]
            f += 1
            at = bucket[at]
        filled[s] = f
    return slots


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pick(ks, out, r, work):
    """``out[i, r]`` ← each ``ks[i]`` not yet done (``slot[i] ≥ 0``) from its slot's candidates: the sorted or
    one-valued slot's entry, else the entry :func:`_select` puts at its rank."""
    candidates, first_rank, slot, filled, one_value = work[3], work[4], work[5], work[6], work[7]
    for i in range(len(ks)):
        if slot[i] < 0:
            continue
        c = candidates[slot[i], :filled[slot[i]]]
        k = ks[i] - first_rank[i]
        if len(c) > SORT_CANDIDATES_AT_MOST and not one_value[slot[i]]:
            _select(c, 0, len(c) - 1, k)
        out[i, r] = c[k]


@njit(cache=True, nogil=True, error_model="numpy")
def _by_buckets_once(row, ks, out, r, low, high, scale, buckets, work):
    """``out[i, r]`` ← the ``ks[i]``-th smallest value of ``row`` (no NaN; ``low`` and ``high`` its min and max,
    ``scale`` finite): :func:`_gather`, then each slot's values sorted when few, else the first where they all
    compare equal, else selected (:func:`_select`) for each of its ``k``."""
    candidates, filled, one_value = work[3], work[6], work[7]
    slots = _gather(row, ks, out, r, low, high, scale, buckets, work)
    for s in range(slots):
        one_value[s] = False
        if filled[s] <= SORT_CANDIDATES_AT_MOST:
            _insertion_sort(candidates[s], filled[s])
        else:
            one_value[s] = _one_value(candidates[s, :filled[s]])
    _pick(ks, out, r, work)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _by_buckets(row, ks, out, r, low, high, scale, work, inner):
    """``out[i, r]`` ← the ``ks[i]``-th smallest value of ``row`` (no NaN; ``low`` and ``high`` its min and max,
    ``scale`` finite), by buckets (:func:`_gather`): each slot's values sorted when few; a larger slot whose values
    are not all equal bucketed again between its own min and max (:func:`_by_buckets_once` on them with
    ``inner``'s scratch: one level more, no further) where that range divides, else selected."""
    candidates, first_rank, slot, filled, one_value = work[3], work[4], work[5], work[6], work[7]
    slots = _gather(row, ks, out, r, low, high, scale, len(work[1]), work)
    for s in range(slots):
        c = candidates[s, :filled[s]]
        one_value[s] = False
        if len(c) <= SORT_CANDIDATES_AT_MOST:
            _insertion_sort(candidates[s], filled[s])
            continue
        low2, high2, _ = _range(c)
        buckets2 = min(max(len(c) // 2, 16), len(inner[1]))
        scale2 = buckets2 / (high2 - low2)
        one_value[s] = low2 == high2
        if one_value[s] or not (np.isfinite(scale2) and scale2 > 0.0):
            continue
        local_ks, local_out, at = inner[8], inner[9], 0
        for i in range(len(ks)):
            if slot[i] == s:
                local_ks[at] = ks[i] - first_rank[i]
                at += 1
        _by_buckets_once(c, local_ks[:at], local_out, 0, low2, high2, scale2, buckets2, inner)
        at = 0
        for i in range(len(ks)):
            if slot[i] == s:
                out[i, r] = local_out[at, 0]
                slot[i] = -1  # (done)
                at += 1
    _pick(ks, out, r, work)


@njit(cache=True, nogil=True, error_model="numpy")
def _work(n, buckets, m):
    """The scratch arrays of :func:`_by_buckets` for rows of ``n`` values, ``buckets`` buckets and ``m`` ks (the
    bucket-to-slot table ``work[2]`` all −1: :func:`_gather` leaves it so after each row)."""
    return (np.empty(n, np.int64), np.empty(buckets, np.int64), np.full(buckets, -1, np.int64), np.empty((m, n)),
            np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.bool_),
            np.empty(m, np.int64), np.empty((m, 1)), np.empty(buckets, np.int64), np.empty(m, np.int64))


@njit(cache=True, nogil=True, error_model="numpy")
def _signed_zeros(row):
    """Whether ``row`` (contiguous) holds both ``−0.0`` and ``+0.0``: compared as bit patterns, without a branch
    (a 0/1 column's zeros would mispredict one half the time, ~1 µs a 500-value row)."""
    bits = row.view(np.int64)
    negative_zero, positive_zero = False, False
    for i in range(len(bits)):
        negative_zero |= bits[i] == NEGATIVE_ZERO_BITS
        positive_zero |= bits[i] == 0
    return negative_zero and positive_zero


#: All bits but the sign of a 64-bit integer: a double's bits ``b`` become its :func:`_order_key` ``b ^ ((b >> 63) & …)``.
MAGNITUDE_BITS = np.int64(2**63 - 1)
#: The order keys of +inf and −inf: a NaN's key lies above the first or below the second (by its sign bit).
INF_KEY, NEGATIVE_INF_KEY = np.int64(0x7FF0000000000000), np.int64(-0x7FF0000000000001)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _order_key(bits):
    """A double's bits (as a signed 64-bit integer) mapped to an integer in the double's order, and back (the map is
    its own inverse): a positive double's bits are already in its order; a negative one's magnitude bits are flipped,
    so a larger magnitude is a smaller key (−0.0 is −1, +0.0 is 0; a NaN lies past ±inf's keys by its sign bit)."""
    return bits ^ ((bits >> 63) & MAGNITUDE_BITS)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _range(row):
    """``(min, max, holds NaN)`` of ``row`` (contiguous): the least and greatest :func:`_order_key` of its values, an
    integer min and max the compiler runs on SIMD lanes (~0.12 ns a value against ~0.52 for a chain of float selects,
    which it cannot reorder without ``fastmath``), turned back into doubles; holds NaN where a key lies past ±inf's.
    Without NaN these are numpy's min and max but for a zero's sign (of ``−0.0`` and ``+0.0``, ``−0.0`` is the min and
    ``+0.0`` the max): :func:`order_statistics` reads them only where a zero's sign changes nothing; with NaN only the
    flag is read."""
    bits = row.view(np.int64)
    low, high = MAGNITUDE_BITS, -MAGNITUDE_BITS - 1
    for i in range(len(bits)):
        key = _order_key(bits[i])
        low, high = min(low, key), max(high, key)
    nan = high > INF_KEY or low < NEGATIVE_INF_KEY
    return np.int64(_order_key(low)).view(np.float64), np.int64(_order_key(high)).view(np.float64), nan


#: A row whose first this many values are all its min or its max is first counted as a two-valued row.
ENDS_FIRST = 8


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ends_first(row, low, high):
    """Whether the first :data:`ENDS_FIRST` values of ``row`` all compare equal to ``low`` or ``high`` (a guess that
    the row may hold only those two: a flag column; a spread row fails it at once, at the cost of a few compares)."""
    ends = True
    for i in range(min(len(row), ENDS_FIRST)):
        ends &= (row[i] == low) | (row[i] == high)
    return ends


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _two_values(row, ks, out, r, low, high):
    """If every value of ``row`` (no NaN; ``low`` < ``high`` its min and max) compares equal to ``low`` or ``high``:
    ``out[i, r]`` ← ``low`` where ``ks[i]`` is below the count of the lows, else ``high``, and True (one counting pass
    instead of the buckets: the 0/1 capitulation flag, ~3 → ~0.6 µs a 500-value row). Else False, nothing
    written. The same values as :func:`_gather`'s tied ends: numbers that compare equal are one float but for a
    zero's sign, which :func:`order_statistics` checks wherever an order statistic is a zero."""
    lows, highs = _count_ends(row, low, high)
    if lows + highs != len(row):
        return False
    for i in range(len(ks)):
        out[i, r] = low if ks[i] < lows else high
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def order_statistics(flat, ks, out):
    """``out[i, r]`` ← the ``ks[i]``-th smallest value of row ``r`` of ``flat`` ``(rows, n)`` (``n`` ≥ 1), ``ks``
    distinct and decreasing; returns a flag per row (:data:`OK`, :data:`HAS_NAN`, :data:`SIGNED_ZEROS`: the
    module's docstring). ``flat`` is not modified.

    Each row's min and max are taken in the same pass over the row as its buckets (:func:`_range`, while the
    row is in the cache; numpy's ``min`` and ``max`` over the whole table were two more passes over memory).
    Where they are ``±0.0`` their sign changes nothing: a bucket ``⌊(x − low)·scale⌋`` of ``x − (±0.0)`` is
    that of ``x`` (``±0.0`` for ``x = ±0.0``, whose bucket is 0 either way), ``high − low`` is the same float
    with either zero, and where ``low == high`` the output is the row's first value, not either bound."""
    rows, n = flat.shape
    m = len(ks)
    flags = np.zeros(rows, np.uint8)
    buf = np.empty(n)
    buckets = min(max(n // 2, 16), 1 << 16)
    work, inner = _work(n, buckets, m), _work(n, buckets, m)
    for r in range(rows):
        row = flat[r]
        low, high, nan = _range(row)
        if nan:
            flags[r] = HAS_NAN
            out[:, r] = np.nan
            continue
        scale = buckets / (high - low)
        if low == high:  # one value (or zeros only: the signs are checked below)
            out[:, r] = row[0]
        elif np.isfinite(scale) and scale > 0.0:
            if not (_ends_first(row, low, high) and _two_values(row, ks, out, r, low, high)):
                _by_buckets(row, ks, out, r, low, high, scale, work, inner)
        else:  # an infinite value or range, or a range too narrow to divide
            _by_selection(row, ks, out, r, buf)
        for i in range(m):
            if out[i, r] == 0.0:
                if _signed_zeros(row):
                    flags[r] = SIGNED_ZEROS
                break
    return flags


@njit(cache=True, nogil=True, error_model="numpy")
def percentiles(flat, ks, previous_at, following_at, gamma, out):
    """``out[r, j]`` ← numpy's linear interpolation (``numpy.lib._function_base_impl._lerp``) between order statistics
    ``a = ks[previous_at[j]]`` and ``b = ks[following_at[j]]`` of row ``r`` of ``flat`` (:func:`order_statistics`) at
    ``gamma[j]``: ``a + (b − a)·γ``, or ``b − (b − a)·(1 − γ)`` where ``γ ≥ 0.5``, the same operations on the same
    doubles as numpy's (no fused multiply-add: not ``fastmath``); NaN where the row holds NaN. Returns
    :func:`order_statistics`' flags (a :data:`SIGNED_ZEROS` row is the caller's to redo)."""
    stat = np.empty((len(ks), len(flat)))
    flags = order_statistics(flat, ks, stat)
    for r in range(len(flat)):
        for j in range(len(gamma)):
            if flags[r] == HAS_NAN:
                out[r, j] = np.nan
                continue
            a, b, g = stat[previous_at[j], r], stat[following_at[j], r], gamma[j]
            diff_b_a = b - a
            out[r, j] = b - diff_b_a * (1 - g) if g >= 0.5 else a + diff_b_a * g
    return flags


@njit(cache=True, nogil=True, error_model="numpy")
def _window_sums(days, start, count, n, out):
    """``out[d, p]`` ← numpy's ``add.reduce`` of the ``n`` (≤ 128) days ``days[start + d:start + d + n, p]``, for
    each window ``d < count`` and path ``p``: +0.0 plus their pairwise sum (the module's docstring). Each step runs
    over all the paths at once (loops the compiler puts on SIMD lanes), the same operations in the same order for
    each path.

    Lane ``j`` of window ``d`` is ``days[s] + days[s + 8] + …`` (``n // 8`` days, added left to right) from
    ``s = start + d + j``: a function of ``s`` alone, the same float as lane ``j − 1`` of window ``d + 1``. Each such
    lane is added once, into ``lanes[s − start]``, and the windows combine their eight: the operations of
    each window's own pairwise sum, on the same operands in the same order (~20 additions a 60-day window
    instead of ~70)."""
    paths = days.shape[1]
    if n < 8:
        for d in range(count):
            o = out[d]
            o[:] = 0.0
            for i in range(n):
                for p in range(paths):
                    o[p] += days[start + d + i, p]
            for p in range(paths):
                o[p] = 0.0 + o[p]
        return
    groups = n // 8
    lanes = np.empty((count + 7, paths))
    for t in range(count + 7):
        lane = lanes[t]
        for p in range(paths):
            lane[p] = days[start + t, p]
        for g in range(1, groups):
            for p in range(paths):
                lane[p] += days[start + t + 8 * g, p]
    for d in range(count):
        o = out[d]
        for p in range(paths):
            o[p] = ((lanes[d, p] + lanes[d + 1, p]) + (lanes[d + 2, p] + lanes[d + 3, p])) + \
                ((lanes[d + 4, p] + lanes[d + 5, p]) + (lanes[d + 6, p] + lanes[d + 7, p]))
        for i in range(8 * groups, n):
            for p in range(paths):
                o[p] += days[start + d + i, p]
        for p in range(paths):
            o[p] = 0.0 + o[p]


@njit(cache=True, nogil=True, error_model="numpy")
def moving_sums(days, short, long, short_out, long_out):
    """``short_out[d]`` and ``long_out[d]`` ← each path's sum of the last ``short`` and ``long`` (≤ 128) of the
    ``long`` days ending on block day ``d``: ``days`` ``(long − 1 + block days, paths)``, C-ordered, oldest
    first; each sum as numpy's ``add.reduce`` of that path's window (the module's docstring)."""
    count = days.shape[0] - long + 1
    _window_sums(days, 0, count, long, long_out)
    _window_sums(days, long - short, count, short, short_out)


#: Up to this many breakevens the lookup counts them for all paths at once (SIMD lanes, no branch),
#: beyond it it bisects path by path.
COUNT_BREAKEVENS_AT_MOST = 64


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _tail_weights_row(sorted_breakeven, above, x, out, count):
    """``out[p]`` ← ``above[i]`` with ``i`` numpy's ``searchsorted(sorted_breakeven, x[p], side="right")`` (one
    day: :func:`tail_weights`); ``count`` ``(paths,)`` is scratch."""
    paths, v = len(x), len(sorted_breakeven)
    if v <= COUNT_BREAKEVENS_AT_MOST:
        count[:] = 0
        for i in range(v):
            b = sorted_breakeven[i]
            if b == b:
                for p in range(paths):
                    count[p] += not x[p] < b
            else:
                for p in range(paths):
                    count[p] += x[p] != x[p]
    else:
        for p in range(paths):
            low, high = 0, v
            while low < high:
                mid = (low + high) >> 1
                b = sorted_breakeven[mid]
                if x[p] < b or (b != b and x[p] == x[p]):
                    high = mid
                else:
                    low = mid + 1
            count[p] = low
    for p in range(paths):
        out[p] = above[count[p]]


@njit(cache=True, nogil=True, error_model="numpy")
def tail_weights(sorted_breakeven, above, hashprice, out):
    """``out[d, p]`` ← ``above[d, i]`` with ``i`` numpy's ``searchsorted(sorted_breakeven, hashprice[d, p],
    side="right")``: the number of breakevens ``b`` that do not come after the hashprice ``x`` in numpy's
    order (``x < b``, or ``b`` NaN and ``x`` not)."""
    days, paths = hashprice.shape
    count = np.empty(paths, np.int64)
    for d in range(days):
        _tail_weights_row(sorted_breakeven, above[d], hashprice[d], out[d], count)


@njit(cache=True, nogil=True, error_model="numpy")
def signal_columns(block, rows, inputs, history, revenue, sell_fraction, below_factor, sorted_breakeven, above,
                   short, long, out_from):
    """The six signal columns of a block's days in one pass, written into the block itself:
    :meth:`simulator.signals.SignalTracker.block`'s numpy form, the same operations in the same order.

    ``block`` ``(≥ rows, columns, paths)`` holds each day's network hashrate, hashprice and BTC price in
    its columns ``inputs`` (three indices); columns ``out_from … out_from + 5`` receive the short and long
    averages (:func:`moving_sums`' sums ÷ ``short`` and ``long`` days), the capitulation flag (1.0 where
    the short average < the long one × ``below_factor``), the under-water share (:func:`tail_weights` with
    ``above`` ``(rows, vintages + 1)``), and the sell pressure in BTC (``sell_fraction × revenue``) and in
    USD (that × the price). ``history`` ``(long − 1, paths)``: the hashrate of the days before the block,
    oldest first; replaced by the block's last ``long − 1`` days."""
    paths, keep = block.shape[2], long - 1
    days = np.empty((keep + rows, paths))
    days[:keep] = history
    for d in range(rows):
        days[keep + d] = block[d, inputs[0]]
    short_sums, long_sums = np.empty((rows, paths)), np.empty((rows, paths))
    moving_sums(days, short, long, short_sums, long_sums)
    count = np.empty(paths, np.int64)
    short_days, long_days = float(short), float(long)
    for d in range(rows):
        short_sum, long_sum = short_sums[d], long_sums[d]
        short_ma, long_ma, flag = block[d, out_from], block[d, out_from + 1], block[d, out_from + 2]
        for p in range(paths):
            a, b = short_sum[p] / short_days, long_sum[p] / long_days
            short_ma[p], long_ma[p] = a, b
            flag[p] = 1.0 if a < b * below_factor else 0.0
        _tail_weights_row(sorted_breakeven, above[d], block[d, inputs[1]], block[d, out_from + 3], count)
        price, sold_btc, sold_usd = block[d, inputs[2]], block[d, out_from + 4], block[d, out_from + 5]
        for p in range(paths):
            btc = sell_fraction * revenue[d, p]
            sold_btc[p], sold_usd[p] = btc, btc * price[p]
    history[:] = days[rows:]


@njit(cache=True, nogil=True, error_model="numpy")
def fold_fields(fields, rows, sums, monthly, month_of_row):
    """:func:`simulator.reporting.fold_block` (the numpy reference) in one pass, with numpy's operations and operands
    (its reductions start from their identity, +0.0: the per-path sums become ``((0.0 + sums) + day 0) + day 1 …``
    and a month's row ``((0.0 + (first day + month so far)) + next day) …``), of the days' lines read where they
    are, without the block of lines: ``fields`` holds
    each line's days, in the order of ``sums``' lines (line ``j`` of day ``d`` on path ``p`` is
    ``fields[j][d, p]``, or ``fields[j][d, 0]`` for a line ``(rows, 1)``, the same on every path). The same
    operations with the same operands in the same order, line by line instead of day by day (each
    element's additions are its own): ``((0.0 + sums) + day 0) + day 1 …`` and, per month,
    ``((0.0 + (first day + month so far)) + next day) …``. ``fields`` is only read."""
    k, paths = sums.shape
    m = monthly.shape[1]
    for j in range(k):
        x = fields[j]
        step = 1 if x.shape[1] == paths else 0
        s = sums[j]
        for p in range(paths):
            s[p] = 0.0 + s[p]
        for d in range(rows):
            for p in range(paths):
                s[p] = s[p] + x[d, p * step]
            if j < m:
                month = monthly[month_of_row[d], j]
                if d == 0 or month_of_row[d] != month_of_row[d - 1]:
                    for p in range(paths):
                        month[p] = 0.0 + (x[d, p * step] + month[p])
                else:
                    for p in range(paths):
                        month[p] = month[p] + x[d, p * step]


@njit(cache=True, nogil=True, error_model="numpy")
def day_row(row, at, line, installed_ehs, alive_usd, masked, finance_at, cash_usd, treasury_btc, pledged_btc,
            balances_usd, arrears_usd, equity_value_usd, share_price_usd):
    """The reporting's columns of one day that exist day by day, in one pass (the numpy reference:
    :func:`simulator.engine.day_columns` with :meth:`simulator.finance.ledger.Ledger.daily_columns`): the energised
    fleet ``installed_ehs × alive_usd`` (``installed_ehs`` itself unless ``masked``:
    :func:`simulator.day_record.energised_ehs`) into ``row[at]`` and ``line``; from ``row[finance_at]`` on, the cash,
    the treasury, the BTC pledged ``(0.0 + pledged₀) + pledged₁ …`` (:meth:`~simulator.finance.ledger.Ledger.pledged_btc`:
    numpy's ``0.0 + x``, or ``sum`` from an array of zeros), the debt ``(((0.0 + balance₀) + balance₁) …) + arrears``
    (:meth:`~simulator.finance.ledger.Ledger.debt_usd` plus the arrears), the equity value and the share price. The same
    operations on the same operands in the same order, element by element (no fused multiply-add without
    ``fastmath``); ``pledged_btc`` and ``balances_usd`` are tuples of ``(paths,)`` arrays, never empty (the caller
    gives a row of zeros for none: ``0.0 + 0.0`` is the +0.0 an empty sum starts from)."""
    for p in range(row.shape[1]):
        e = installed_ehs[p] * alive_usd[p] if masked else installed_ehs[p]
        row[at, p] = e
        line[p] = e
        row[finance_at, p] = cash_usd[p]
        row[finance_at + 1, p] = treasury_btc[p]
        s = 0.0
        for x in literal_unroll(pledged_btc):
            s = s + x[p]
        row[finance_at + 2, p] = s
        d = 0.0
        for y in literal_unroll(balances_usd):
            d = d + y[p]
        row[finance_at + 3, p] = d + arrears_usd[p]
        row[finance_at + 4, p] = equity_value_usd[p]
        row[finance_at + 5, p] = share_price_usd[p]
