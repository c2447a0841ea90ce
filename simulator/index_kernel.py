"""The index-priced sites' hourly arithmetic, compiled: prices, demand-response calls, dispatch and bill.

Each function here is the compiled form of a numpy reference that stays the definition (and runs
every small call, :mod:`simulator.lazy_kernel`):

* :func:`index_hours` — :meth:`simulator.market.power.IndexPowerModel._simulate`'s hourly prices
  ``min(c, max(f, n if negative else B s + J [spike]))`` from the daily base, the shape and the
  day's uniforms;
* :func:`call_hours` — :func:`simulator.site.demand_response_calls`: the ``Σ_h [u_h < p]`` dearest
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
fused multiply-adds, no reassociation). Importing this module imports numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _clip(x, low, high):
    """``np.clip(x, low, high)`` of one float: ``min(max(x, low), high)``, NaN kept (numpy's clip loop)."""
    if not (x != x or x > low):
        x = low
    if not (x != x or x < high):
        x = high
    return x


@njit(cache=True, nogil=True, inline="always")
def _maximum(a, b):
    """``np.maximum(a, b)`` of two floats (NaN propagates)."""
    if a != a or a >= b:
        return a
    return b


@njit(cache=True, nogil=True, inline="always")
def _minimum(a, b):
    """``np.minimum(a, b)`` of two floats (NaN propagates)."""
    if a != a or a <= b:
        return a
    return b


@njit(cache=True, nogil=True)
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
                prices[d, h, j] = _clip(x, floor_usd_per_mwh, cap_usd_per_mwh)


@njit(cache=True, nogil=True, inline="always")
def _before(price_a, u_a, price_b, u_b):
    """Hour a ranks before hour b (same hour order otherwise): dearer, or as dear with the smaller draw.

    ``np.lexsort((u, -price))``'s keys with numpy's sort order (NaN last, ``-0.0 == 0.0``).
    """
    ka, kb = -price_a, -price_b
    if ka < kb or (kb != kb and ka == ka):
        return True
    if kb < ka or (ka != ka and kb == kb):
        return False
    return u_a < u_b or (u_b != u_b and u_a == u_a)


@njit(cache=True, nogil=True)
def call_hours(u, limit, price, calls):
    """Demand-response call hours into ``calls`` ``(24, columns)`` (bool).

    ``u`` ``(24, columns)`` the hours' uniforms, ``limit`` ``(columns,)`` the hourly call probability
    ``min(p, 1)``, ``price`` ``(24 or 1, columns)``. A column's ``Σ_h [u_h < limit]`` hours of lowest
    rank are called, the rank being the number of hours before it (:func:`_before`, then the earlier
    hour): ``np.lexsort``'s stable order.
    """
    hours, columns = u.shape
    one_row = price.shape[0] == 1
    for c in range(columns):
        n_calls = 0
        for h in range(hours):
            n_calls += u[h, c] < limit[c]
            calls[h, c] = False
        if n_calls == 0:
            continue
        for h in range(hours):
            ph = price[0 if one_row else h, c]
            rank = 0
            for g in range(hours):
                pg = price[0 if one_row else g, c]
                if g < h:
                    rank += not _before(ph, u[h, c], pg, u[g, c])
                elif g > h:
                    rank += _before(pg, u[g, c], ph, u[h, c])
            calls[h, c] = rank < n_calls


@njit(cache=True, nogil=True)
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
    ``energy_mwh`` ``(columns,)``.
    """
    n, columns = ths.shape
    hours = energy_hourly_mwh.shape[0]
    one_row = price.shape[0] == 1
    economic, k_one_row = k_given.shape[0] == 0, k_given.shape[0] == 1
    with_calls, with_avoid = calls.shape[0] > 0, avoid.shape[0] > 0
    cum_ths, cum_mw = np.empty(n + 1), np.empty(n + 1)
    for c in range(columns):
        cum_ths[0], cum_mw[0] = 0.0, 0.0  # np.cumsum's order: x_0, then the running sum plus the next
        for i in range(n):
            cum_ths[i + 1] = ths[i, c] if i == 0 else cum_ths[i] + ths[i, c]
            cum_mw[i + 1] = mw[i, c] if i == 0 else cum_mw[i] + mw[i, c]
        call_cap = 0.0
        if with_calls and n:
            total = mw[0, c]
            for i in range(1, n):
                total = total + mw[i, c]
            call_cap = _maximum(total - shed_mw, 0.0)
        available = cum_mw[n] * facility
        sum_ths = sum_energy = sum_curtailed = 0.0
        for h in range(hours):
            r = 0 if one_row else h
            if economic:
                all_in = price[r, c] + tax_usd_per_mwh if has_tax else price[r, c]
                threshold = value[c] / (all_in * denominator) if all_in > 0 else np.inf
                if threshold != threshold:
                    k = n
                else:
                    k = 0
                    for i in range(n):
                        k += efficiency_jth[i] <= threshold
            else:
                k = k_given[0 if k_one_row else h, c]
            run_ths, run_mw = cum_ths[k], cum_mw[k]
            cap = np.inf
            if with_avoid and avoid[h, c]:
                cap = 0.0
            elif with_calls and calls[h, c]:
                cap = call_cap
            if cap < np.inf:
                fits = -1
                for i in range(n + 1):
                    fits += cum_mw[i] <= cap
                if k > fits:  # the cap binds: whole cohorts up to fits, the next one in part
                    marginal = min(fits, n - 1)
                    mw_m, ths_m = mw[marginal, c], ths[marginal, c]
                    part = _clip((cap - cum_mw[fits]) / mw_m, 0.0, 1.0) if mw_m > 0 else 0.0
                    run_ths = cum_ths[fits] + part * ths_m
                    run_mw = cum_mw[fits] + part * mw_m
            drawn = run_mw * facility
            energy_hourly_mwh[h, c] = drawn
            if h == 0:
                sum_ths, sum_energy, sum_curtailed = run_ths, drawn, available - drawn
            else:
                sum_ths += run_ths
                sum_energy += drawn
                sum_curtailed += available - drawn
        running_ths[c] = sum_ths / hours
        energy_mwh[c] = sum_energy
        curtailed_mwh[c] = 0.0 if sum_curtailed < 0.0 else sum_curtailed


@njit(cache=True, nogil=True)
def bill(used, price, energy_mwh, tax_usd_per_mwh, ppa_usd_per_mwh, take_mwh, block_mwh, cost_usd, credit_usd):
    """A day's bill per column into ``cost_usd`` and ``credit_usd`` (:func:`simulator.site.energy_bill`).

    ``used`` and ``price`` ``(24, columns)``, ``energy_mwh`` ``(columns,)`` (``Σ_h used``);
    ``ppa_usd_per_mwh`` ``(columns,)`` each column's PPA price (``(0,)``: no PPA in force), with its
    minimum take and block [MWh an hour]. Without a PPA cost = ``Σ_h used p + energy tax``, credit 0;
    with one cost = ``Σ_h [min(max(used, T), B) ppa + max(used − B, 0) p] + energy tax`` and credit =
    ``Σ_h max(T − used, 0) p``.
    """
    hours, columns = used.shape
    with_ppa = ppa_usd_per_mwh.shape[0] > 0
    for c in range(columns):
        tax = energy_mwh[c] * tax_usd_per_mwh
        cost = credit = 0.0
        for h in range(hours):
            u, p = used[h, c], price[h, c]
            if with_ppa:
                term = (_minimum(_maximum(u, take_mwh), block_mwh) * ppa_usd_per_mwh[c]
                        + _maximum(u - block_mwh, 0.0) * p)
                back = _maximum(take_mwh - u, 0.0) * p
                if h == 0:
                    cost, credit = term, back
                else:
                    cost += term
                    credit += back
            elif h == 0:
                cost = u * p
            else:
                cost += u * p
        cost_usd[c] = cost + tax
        credit_usd[c] = credit if with_ppa else 0.0
