"""The index-priced sites' hourly arithmetic, compiled: prices, demand-response calls, dispatch and bill.

Each function here is the compiled form of a numpy reference that stays the definition (and runs
every small call, :mod:`simulator.lazy_kernel`):

* :func:`log_base` — :meth:`simulator.market.power.IndexPowerModel._simulate`'s AR(1) log base before ``exp``;
* :func:`index_hours` — :meth:`simulator.market.power.IndexPowerModel._simulate`'s hourly prices
  ``min(c, max(f, n if negative else B s + J [spike]))`` from the daily base, the shape and the
  day's uniforms;
* :func:`call_hours` — :func:`simulator.grid_programmes.demand_response_calls`: the ``Σ_h [u_h < p]`` dearest
  hours of each column (ties by the smaller draw, then the earlier hour, as ``np.lexsort``);
* :func:`dispatch` — :func:`simulator.site.dispatch_site` → :func:`simulator.site.dispatch_day`
  without margins: the running count ``k`` (cohorts with ``e ≤ e*``,
  :func:`simulator.merit_order.efficiency_threshold_jth`), the demand-response and 4CP caps
  (units of the least efficient cohorts shed first, the marginal cohort in part), running TH/s
  and facility MWh of every hour, the day's energy, curtailed energy and mean TH/s;
* :func:`bill` — :func:`simulator.site.energy_bill` of hourly prices, index or PPA.

Bit-identical to the numpy forms (tests/test_index_kernel.py checks it on random inputs and edge
cases): the same IEEE operations on the same operands in the same order. A numpy reduction over
the hours (the outer axis of a C-ordered ``(24, columns)`` array with two or more columns) adds the
rows one by one from row 0, as the loops here do; comparisons, ``np.clip``, ``np.maximum`` and
``np.minimum`` are written out with numpy's NaN rules; no ``exp``, ``log`` or ``cos`` is computed
here (numba's C-library ones differ from numpy's SIMD ones in the last bit). Compiled with
``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork), without ``fastmath`` (no
fused multiply-adds, no reassociation), with ``error_model="numpy"`` (a division by zero gives
±inf or NaN as numpy's does instead of raising, and no per-division check keeps the loops off SIMD
lanes). The loops go an hour at a time over all columns. Importing this module imports numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import numba_cache
from simulator.kernel_math import clip, maximum, minimum

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True, error_model="numpy")
def index_hours(prices, base, shape, u, spike_p, negative_q, first_spike, first_negative, spike_usd_per_mwh,
                negative_usd_per_mwh, floor_usd_per_mwh, cap_usd_per_mwh):
    """Hourly index prices into ``prices`` ``(days, 24, paths)`` [USD/MWh].

    ``base`` ``(days, paths)``; ``shape``, ``spike_p``, ``negative_q`` ``(days, 24)``; ``u``
    ``(days, draws, paths)`` the days' uniforms, hour h's spike draw in row ``first_spike + h`` and
    its negative draw in row ``first_negative + h``. Per element: ``x = B s``, ``x + J`` where
    ``u < p``, ``n`` where ``u < q``, then ``np.clip(x, f, c)``.
    """
    days, hours, paths = prices.shape
    for d in range(days):
        for h in range(hours):
            s, p, q = shape[d, h], spike_p[d, h], negative_q[d, h]
            for j in range(paths):
                x = base[d, j] * s
                if u[d, first_spike + h, j] < p:
                    x = x + spike_usd_per_mwh
                if u[d, first_negative + h, j] < q:
                    x = negative_usd_per_mwh
                prices[d, h, j] = clip(x, floor_usd_per_mwh, cap_usd_per_mwh)


@njit(cache=True, nogil=True, error_model="numpy")
def log_base(z, previous, first, sd0, phi, sigma, centre, log_base_out, last):
    """The AR(1) log deviation ``y`` and ``ln B = centre + y`` of :meth:`IndexPowerModel._simulate` [ln USD/MWh].

    ``z`` ``(days, paths)`` the days' shocks; ``y_0 = sd0 z_0`` when ``first`` (day 0 of the horizon), else
    ``y_0 = φ previous + σ z_0``, then ``y_k = φ y_{k−1} + σ z_k``; ``log_base_out[k] = centre[k] + y_k``
    ``(days, paths)`` and ``last`` ``(paths,)`` the last day's ``y``. numpy's loop over the days did the same
    multiplications and additions on the same operands (``exp`` stays in numpy).
    """
    days, paths = z.shape
    for k in range(days):
        for j in range(paths):
            if k == 0:
                y = sd0 * z[0, j] if first else phi * previous[j] + sigma * z[0, j]
            else:
                y = phi * last[j] + sigma * z[k, j]
            last[j] = y
            log_base_out[k, j] = centre[k] + y


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _before(price_a, u_a, price_b, u_b):
    """Hour a ranks strictly before hour b: dearer, or as dear with the smaller draw (ties: the earlier hour).

    ``np.lexsort((u, -price))``'s keys with numpy's sort order (NaN last, ``-0.0 == 0.0``).
    """
    ka, kb = -price_a, -price_b
    if ka < kb or (kb != kb and ka == ka):
        return True
    if kb < ka or (ka != ka and kb == kb):
        return False
    return u_a < u_b or (u_b != u_b and u_a == u_a)


@njit(cache=True, nogil=True, error_model="numpy")
def call_hours(u, limit, price, calls):
    """Demand-response call hours into ``calls`` ``(24, columns)`` (bool).

    ``u`` ``(24, columns)`` the hours' uniforms, ``limit`` ``(columns,)`` the hourly call probability
    ``min(p, 1)``, ``price`` ``(24 or 1, columns)``. A column's ``Σ_h [u_h < limit]`` first hours in
    ``np.lexsort``'s stable order (:func:`_before`, then the earlier hour) are called: picked one at a
    time, the first hour in that order among those not yet called (most days have no call or one).
    """
    hours, columns = u.shape
    one_row = price.shape[0] == 1
    n_calls = np.zeros(columns, dtype=np.int64)
    for h in range(hours):
        for c in range(columns):
            n_calls[c] += u[h, c] < limit[c]
            calls[h, c] = False
    for c in range(columns):
        for _ in range(n_calls[c]):
            best = -1
            for h in range(hours):
                if not calls[h, c] and (best < 0 or _before(price[0 if one_row else h, c], u[h, c],
                                                             price[0 if one_row else best, c], u[best, c])):
                    best = h
            calls[best, c] = True


@njit(cache=True, nogil=True, error_model="numpy")
def _prefix_sums(x):
    """``[0, x_0, x_0 + x_1, …]`` along axis 0 of ``x`` ``(cohorts, columns)``: np.cumsum's order."""
    n, columns = x.shape
    out = np.empty((n + 1, columns))
    for c in range(columns):
        out[0, c] = 0.0
    for i in range(n):
        if i == 0:
            for c in range(columns):
                out[1, c] = x[0, c]
        else:
            for c in range(columns):
                out[i + 1, c] = out[i, c] + x[i, c]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _count(efficiency_jth, value, price, r, tax_usd_per_mwh, has_tax, denominator, threshold, k):
    """``economic``'s running count ``k`` ``(columns,)`` of price row ``r``: the cohorts with ``e ≤ e*``,
    ``e* = value / ((price + tax) denominator)`` (inf where ``price + tax ≤ 0``; all when NaN).

    Four cohorts' comparisons are added per pass over the columns (the count is an exact integer
    sum, so the grouping changes nothing): a quarter of the passes over ``k`` and ``threshold``,
    each on SIMD lanes (measured: the count took a third of the kernel's time one cohort a pass).
    """
    n, columns = efficiency_jth.shape[0], k.shape[0]
    for c in range(columns):
        all_in = price[r, c] + tax_usd_per_mwh if has_tax else price[r, c]
        t = value[c] / (all_in * denominator)
        threshold[c] = t if all_in > 0 else np.inf
        k[c] = n if threshold[c] != threshold[c] else 0
    i = 0
    while i + 4 <= n:
        e0, e1, e2, e3 = efficiency_jth[i], efficiency_jth[i + 1], efficiency_jth[i + 2], efficiency_jth[i + 3]
        for c in range(columns):
            t = threshold[c]
            k[c] += (np.int64(e0 <= t) + np.int64(e1 <= t)) + (np.int64(e2 <= t) + np.int64(e3 <= t))
        i += 4
    while i < n:
        e = efficiency_jth[i]
        for c in range(columns):
            k[c] += e <= threshold[c]
        i += 1


@njit(cache=True, nogil=True, error_model="numpy")
def dispatch(efficiency_jth, ths, mw, value, price, tax_usd_per_mwh, has_tax, denominator, facility, k_given, calls,
             avoid, shed_mw, energy_hourly_mwh, running_ths, curtailed_mwh, energy_mwh):
    """A site's hours for every column, uncapped or capped (:func:`simulator.site.dispatch_day`'s numbers).

    Inputs: ``efficiency_jth`` ``(cohorts,)`` ascending; ``ths``, ``mw`` ``(cohorts, columns)`` the
    working TH/s and IT MW; ``value`` ``(columns,)`` = hashprice / 1,000 × (1 − fee) × 10⁶;
    ``price`` ``(24 or 1, columns)``; ``denominator`` = 24 (1 + overhead); ``facility`` = 1 +
    overhead; ``k_given`` ``(24 or 1, columns)`` the running counts of a policy other than
    ``economic`` (``(0, 0)``: count ``e ≤ e*`` here); ``calls`` and ``avoid`` ``(24, columns)`` bool
    (``(0, 0)``: none), ``shed_mw`` the IT MW a call sheds. A call caps IT power at
    ``max(Σ_j mw_j − shed, 0)``, an avoided hour at 0 (avoidance wins).

    Outputs: ``energy_hourly_mwh`` ``(24, columns)`` facility MWh; ``running_ths`` (mean over the
    hours), ``curtailed_mwh`` (``Σ_h (available − running) facility``, floored at 0) and
    ``energy_mwh`` ``(columns,)``. An hour at a time over all columns (the loops over columns run on
    SIMD lanes); the day's sums add the hours in order from hour 0, as numpy's reductions do.
    """
    n, columns = ths.shape
    hours = energy_hourly_mwh.shape[0]
    economic = k_given.shape[0] == 0
    with_calls, with_avoid = calls.shape[0] > 0, avoid.shape[0] > 0
    cum_ths, cum_mw = _prefix_sums(ths), _prefix_sums(mw)
    call_cap, available = np.zeros(columns), np.empty(columns)  # (no cohorts: a call caps at max(0 − shed, 0) = 0)
    for c in range(columns):
        available[c] = cum_mw[n, c] * facility
    if with_calls and n:
        for c in range(columns):
            call_cap[c] = mw[0, c]
        for i in range(1, n):
            for c in range(columns):
                call_cap[c] = call_cap[c] + mw[i, c]
        for c in range(columns):
            call_cap[c] = maximum(call_cap[c] - shed_mw, 0.0)
    k, capped = np.empty(columns, dtype=np.int64), np.empty(columns, dtype=np.int64)
    threshold, run_ths, run_mw = np.empty(columns), np.empty(columns), np.empty(columns)
    for h in range(hours):
        if economic:
            if h == 0 or price.shape[0] > 1:
                _count(efficiency_jth, value, price, 0 if price.shape[0] == 1 else h, tax_usd_per_mwh, has_tax,
                       denominator, threshold, k)
        else:
            r = 0 if k_given.shape[0] == 1 else h
            for c in range(columns):
                k[c] = k_given[r, c]
        for c in range(columns):  # k in [0, n]: an unsigned index spares numba's negative-index wraparound
            kc = np.uint64(k[c])
            run_ths[c], run_mw[c] = cum_ths[kc, c], cum_mw[kc, c]
        if with_avoid or with_calls:  # the capped columns (a call or an avoided hour), listed first
            n_capped = 0
            for c in range(columns):
                if (with_avoid and avoid[h, c]) or (with_calls and calls[h, c]):
                    capped[n_capped] = c
                    n_capped += 1
            for j in range(n_capped):  # simulator.site._capped: whole cohorts up to the cap, the next in part
                c = capped[j]
                cap = 0.0 if with_avoid and avoid[h, c] else call_cap[c]
                fits = -1
                for i in range(n + 1):
                    fits += cum_mw[i, c] <= cap
                if k[c] > fits:
                    marginal = min(fits, n - 1)
                    mw_m = mw[marginal, c]
                    part = clip((cap - cum_mw[fits, c]) / mw_m, 0.0, 1.0) if mw_m > 0 else 0.0
                    run_ths[c] = cum_ths[fits, c] + part * ths[marginal, c]
                    run_mw[c] = cum_mw[fits, c] + part * mw_m
        for c in range(columns):
            drawn = run_mw[c] * facility
            energy_hourly_mwh[h, c] = drawn
            if h == 0:
                running_ths[c], energy_mwh[c], curtailed_mwh[c] = run_ths[c], drawn, available[c] - drawn
            else:
                running_ths[c] += run_ths[c]
                energy_mwh[c] += drawn
                curtailed_mwh[c] += available[c] - drawn
    for c in range(columns):
        running_ths[c] = running_ths[c] / hours
        curtailed_mwh[c] = 0.0 if curtailed_mwh[c] < 0.0 else curtailed_mwh[c]


@njit(cache=True, nogil=True, error_model="numpy")
def bill(used, price, energy_mwh, tax_usd_per_mwh, ppa_usd_per_mwh, take_mwh, block_mwh, cost_usd, credit_usd):
    """A day's bill per column into ``cost_usd`` and ``credit_usd`` (:func:`simulator.site.energy_bill`).

    ``used`` and ``price`` ``(24, columns)``, ``energy_mwh`` ``(columns,)`` (``Σ_h used``);
    ``ppa_usd_per_mwh`` ``(columns,)`` each column's PPA price (``(0,)``: no PPA in force), with its
    minimum take and block [MWh an hour]. Without a PPA cost = ``Σ_h used p + energy tax``, credit 0;
    with one cost = ``Σ_h [min(max(used, T), B) ppa + max(used − B, 0) p] + energy tax`` and credit =
    ``Σ_h max(T − used, 0) p``; the hours added in order from hour 0.
    """
    hours, columns = used.shape
    with_ppa = ppa_usd_per_mwh.shape[0] > 0
    if not with_ppa and hours:  # an index day: Σ_h used p from hour 0, the credit 0, in one tight loop an hour
        for c in range(columns):
            cost_usd[c], credit_usd[c] = used[0, c] * price[0, c], 0.0
        for h in range(1, hours):
            for c in range(columns):
                cost_usd[c] += used[h, c] * price[h, c]
        for c in range(columns):
            cost_usd[c] = cost_usd[c] + energy_mwh[c] * tax_usd_per_mwh
        return
    for h in range(hours):
        for c in range(columns):
            u, p = used[h, c], price[h, c]
            if with_ppa:
                term = (minimum(maximum(u, take_mwh), block_mwh) * ppa_usd_per_mwh[c]
                        + maximum(u - block_mwh, 0.0) * p)
                back = maximum(take_mwh - u, 0.0) * p
            else:
                term, back = u * p, 0.0
            if h == 0:
                cost_usd[c], credit_usd[c] = term, back
            else:
                cost_usd[c] += term
                credit_usd[c] += back
    for c in range(columns):
        cost_usd[c] = cost_usd[c] + energy_mwh[c] * tax_usd_per_mwh
