"""An hourly-price site's block of days in one compiled pass: dispatch, bill and mean price, day-major.

The compiled form of what :func:`simulator.site_block.site_block` computes, segment by segment in
numpy and :mod:`simulator.index_kernel`, for a site on hourly prices without programmes, PPA,
hosting, tuning or stop/retire policies (:func:`simulator.index_block.site_days` decides): for each
day ``d`` of the block and path ``p``

* working units ``w_i = W[d, mine_i, p] × online_d`` (``online_d`` 1.0, or 0.0 on an offline day),
  ``T_i = t_i w_i`` [TH/s] and ``M_i = m_i w_i`` [IT MW] (per-unit hashrate and power);
* the prefix sums over the cohorts (most efficient first) and, each hour ``h``, the running count
  ``k`` (``economic``: the cohorts with ``e ≤ e* = value / ((p + tax) · 24 (1 + overhead))``,
  all when ``p + tax ≤ 0`` or ``e*`` is NaN; ``none``/``schedule``: the hour's fixed count);
* the hour's facility energy ``E_h = M_{≤k} (1 + overhead)`` [MWh], the day's energy ``Σ_h E_h``,
  curtailed energy ``max(Σ_h (available − E_h), 0)``, mean running TH/s ``Σ_h T_{≤k} / 24``;
* the bill ``Σ_h E_h p_h + energy × tax`` [USD] (credit 0) and the mean price ``Σ_h p_h / 24`` [USD/MWh].

The numbers are :mod:`simulator.site`'s (via :func:`simulator.index_kernel.dispatch` and
:func:`simulator.index_kernel.bill`) bit for bit: the same IEEE operations on the same operands in
the same order; sums over the hours and cohorts add from the first one by one, as numpy's
reductions over the outer axis of a C-ordered array of two or more columns do (a one-path block in
numpy is padded to two columns for that reason). What it saves is memory traffic, not arithmetic:
the prices are read where the price model wrote them ``(days, 24, paths)`` instead of copied into
``(24, days·paths)`` columns, the hourly energy is never stored, and the bill and the mean price are
added in the dispatch's own loop. Compiled like :mod:`simulator.index_kernel` (``cache``, ``nogil``,
no ``fastmath``, ``error_model="numpy"``). Importing this module imports numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import numba_cache, units
from simulator.index_kernel import _count
from simulator.kernel_math import clip
from simulator.philox import UNIFORM, _U64
from simulator.philox_kernel import fill

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

_THS_PER_PHS, _W_PER_MW, _HS_PER_THS = float(units.THS_PER_PHS), float(units.W_PER_MW), float(units.HS_PER_THS)
#: The rows of :func:`site_days`' output, in :func:`simulator.site_block._bills`' order.
FIELDS = ("running_ths", "energy_mwh", "power_cost_usd", "power_credit_usd", "curtailed_mwh", "underclocked_mwh",
          "mean_price_usd_per_mwh")


@njit(cache=True, nogil=True, error_model="numpy")
def _draw_if_needed(u, probability, first, path_ids, key0, key1, seed_high):
    """A day's hour uniforms ``(24, paths)`` into ``u`` (draws ``first …`` of the stream,
    :func:`simulator.philox_kernel.fill`) if one of the hours' ``probability`` ``(24,)`` is above 0 (else ``u < p``
    never holds: nothing drawn); returns whether they were drawn."""
    needed = False
    for h in range(probability.shape[0]):
        needed |= probability[h] > 0.0
    if needed:
        fill(u, first, path_ids, key0, key1, seed_high, UNIFORM, _U64(0))
    return needed


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _value_day(value, hashprice, keep):
    """A day's threshold numerators ``(paths,)``: :func:`simulator.merit_order.threshold_value` of its hashprices,
    ``h / 1,000``, then ``× (1 − fee)`` (``keep``), then ``× 10⁶``: its operations in its order."""
    for p in range(value.shape[0]):
        value[p] = hashprice[p] / _THS_PER_PHS * keep * _W_PER_MW


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _prefix_day(cum_ths, cum_mw, working, on, mine, ths_per_unit, mw_per_unit):
    """A day's prefix sums ``(cohorts + 1, paths)`` of ``T_i = t_i w_i`` and ``M_i = m_i w_i`` with
    ``w_i = working[mine_i] × on`` (:func:`simulator.index_kernel._prefix_sums`' order: from 0, cohort by cohort)."""
    paths = cum_ths.shape[1]
    for p in range(paths):
        cum_ths[0, p], cum_mw[0, p] = 0.0, 0.0
    for i in range(mine.shape[0]):
        row, t, m = mine[i], ths_per_unit[i], mw_per_unit[i]
        if i == 0:
            for p in range(paths):
                w = working[row, p] * on
                cum_ths[1, p], cum_mw[1, p] = t * w, m * w
        else:
            for p in range(paths):
                w = working[row, p] * on
                cum_ths[i + 1, p], cum_mw[i + 1, p] = cum_ths[i, p] + t * w, cum_mw[i, p] + m * w


@njit(cache=True, nogil=True, error_model="numpy")
def site_days(efficiency_jth, ths_per_unit, mw_per_unit, mine, working, online, hashprice, keep, prices, k_fixed,
              tax_usd_per_mwh, has_tax, denominator, facility, out, draw, base, shape, spike_p, negative_q, path_ids,
              key0, key1, seed_high, start, draws_per_day, first_spike, first_negative, spike_usd_per_mwh,
              negative_usd_per_mwh, floor_usd_per_mwh, cap_usd_per_mwh, booked, record_rows, price_columns, site,
              index_priced):
    """A block's flows into ``out`` ``(7, days, paths)`` (rows :data:`FIELDS`), or with ``booked`` each day's flows
    into ``out`` ``(7, 1, paths)`` and added to the day record there (:func:`_book_day`, :func:`book`'s operations:
    ``record_rows``, ``price_columns``, ``site`` and ``index_priced`` are :func:`book`'s arguments after ``keep``,
    the reward and close first; unused without ``booked``).

    ``efficiency_jth``, ``ths_per_unit``, ``mw_per_unit`` ``(cohorts,)`` in dispatch order (ascending
    efficiency), ``mine`` ``(cohorts,)`` their rows of ``working`` ``(days, all cohorts, paths)``;
    ``online`` ``(days,)`` 1.0 or 0.0; ``hashprice`` ``(days, paths)`` [USD/PH/s/day] and ``keep`` = 1 − pool fee,
    each day's threshold numerator ``value`` = hashprice / 1,000 × (1 − fee) × 10⁶ (:func:`_value_day`);
    ``prices`` ``(days, 24, paths)`` [USD/MWh]; ``k_fixed`` ``(24,)`` each hour's running count, or −1 to
    count ``e ≤ e*``; ``denominator`` = 24 (1 + overhead), ``facility`` = 1 + overhead.

    With ``draw`` the hourly prices are computed here, each hour's row just before it is dispatched, and
    written into ``prices`` ``(1, 24, paths)``, each day over the previous one's (what is left is the last
    day's: the block's prices are never stored, they are used where they are made): the arguments from
    ``base`` on are
    :meth:`simulator.market.power.IndexPowerModel.hour_terms`' (base ``(days, paths)``; shape, spike and
    negative probabilities ``(days, 24)``; the stream's Philox key, :attr:`simulator.rng.PathStreams.philox_key`;
    the position ``start`` of the block's first draw, ``draws_per_day`` draws a day, hour h's spike draw at
    ``first_spike + h`` and its negative draw at ``first_negative + h`` of its day; the constants), and
    :func:`simulator.index_kernel.index_hours`' arithmetic is repeated here (a jitted helper taking arrays costs
    ~30 ns a call), so the prices are its own bits. The hours' uniforms are drawn here, a day at a time
    (:func:`simulator.philox_kernel.fill`: the stream's own numbers), and only where they can matter: a day
    whose spike (negative) probabilities are all ≤ 0 or NaN has no spike (negative) hour, since ``u < p`` never
    holds for a uniform ``u > 0``, and its 24 draws are not computed. Without ``draw``, ``prices`` are read and
    those arguments are unused.
    """
    days, (_, hours, paths) = hashprice.shape[0], prices.shape
    n = efficiency_jth.shape[0]
    cum_ths, cum_mw = np.empty((n + 1, paths)), np.empty((n + 1, paths))
    threshold, k, available, value = np.empty(paths), np.empty(paths, dtype=np.int64), np.empty(paths), np.empty(paths)
    run_ths, run_mw = np.empty(paths), np.empty(paths)
    running, energy, cost, curtailed, price_sum = out[0], out[1], out[2], out[4], out[6]
    spike_u, negative_u = np.empty((hours, paths)), np.empty((hours, paths))
    for d in range(days):
        t = 0 if booked else d  # the day's row of out
        spikes = negatives = False
        if draw:  # the day's spike and negative uniforms, where a probability is > 0 (see above)
            day_start = start + d * draws_per_day
            spikes = _draw_if_needed(spike_u, spike_p[d], day_start + first_spike, path_ids, key0, key1, seed_high)
            negatives = _draw_if_needed(negative_u, negative_q[d], day_start + first_negative, path_ids, key0, key1,
                                        seed_high)
        _prefix_day(cum_ths, cum_mw, working[d], online[d], mine, ths_per_unit, mw_per_unit)
        _value_day(value, hashprice[d], keep)
        for p in range(paths):
            available[p] = cum_mw[n, p] * facility
        price = prices[0] if draw else prices[d]  # drawn: one day's row after another in the same memory
        run, use, bill, cut, ps = running[t], energy[t], cost[t], curtailed[t], price_sum[t]
        for h in range(hours):
            if draw:  # index_hours' day d, hour h: min(c, max(f, n if negative else B s + J [spike]))
                s, sp, nq, b = shape[d, h], spike_p[d, h], negative_q[d, h], base[d]
                for p in range(paths):
                    x = b[p] * s
                    if spikes and spike_u[h, p] < sp:
                        x = x + spike_usd_per_mwh
                    if negatives and negative_u[h, p] < nq:
                        x = negative_usd_per_mwh
                    price[h, p] = clip(x, floor_usd_per_mwh, cap_usd_per_mwh)
            if k_fixed[h] < 0:
                _count(efficiency_jth, value, price, h, tax_usd_per_mwh, has_tax, denominator, threshold, k)
            else:
                for p in range(paths):
                    k[p] = k_fixed[h]
            for p in range(paths):  # k in [0, n]: an unsigned index spares numba's negative-index wraparound
                kc = np.uint64(k[p])
                run_ths[p], run_mw[p] = cum_ths[kc, p], cum_mw[kc, p]
            if h == 0:  # the gathers apart and the first hour peeled: the sums' loops run on SIMD lanes
                for p in range(paths):
                    drawn, x = run_mw[p] * facility, price[0, p]
                    run[p], use[p], cut[p], bill[p], ps[p] = run_ths[p], drawn, available[p] - drawn, drawn * x, x
            else:
                for p in range(paths):
                    drawn, x = run_mw[p] * facility, price[h, p]
                    run[p] += run_ths[p]
                    use[p] += drawn
                    cut[p] += available[p] - drawn
                    bill[p] += drawn * x
                    ps[p] += x
        for p in range(paths):
            run[p] = run[p] / hours
            cut[p] = 0.0 if cut[p] < 0.0 else cut[p]
            bill[p] = bill[p] + use[p] * tax_usd_per_mwh
            ps[p] = ps[p] / hours
            out[3, t, p], out[5, t, p] = 0.0, 0.0
        if booked:
            _book_day(out, t, d, tax_usd_per_mwh, keep, site, index_priced, record_rows, price_columns)


@njit(cache=True, nogil=True, error_model="numpy")
def fixed_days(efficiency_jth, ths_per_unit, mw_per_unit, mine, working, online, hashprice, keep, price, k_fixed,
               tax_usd_per_mwh, has_tax, denominator, facility, hours, out, booked, record_rows, price_columns, site,
               index_priced):
    """A fixed-price site's block into ``out`` ``(7, days, paths)`` (rows :data:`FIELDS`; with ``booked``, each day
    into ``out`` ``(7, 1, paths)`` and booked, as :func:`site_days`): one price a path for every hour, ``price``
    ``(1, paths)`` [USD/MWh] (:func:`simulator.site.dispatch_day`'s one price row).

    The arguments are :func:`site_days`' (``k_fixed`` one count for the day, or −1 to count ``e ≤ e*``;
    ``hours`` = 24). The day's running count ``k`` holds every hour, so the numbers are the one-row forms of
    :func:`simulator.site.dispatch_day` and :func:`simulator.site.energy_bill`: running TH/s ``T_{≤k}`` (no
    mean over alike hours), drawn MW ``D = M_{≤k} (1 + overhead)``, energy ``D + D + … + D`` (24 terms added one
    by one after numpy's +0.0, as numpy adds the 24 rows of the broadcast hour), curtailed
    ``max((available − D) · 24, 0)``, bill ``energy · p + energy · tax`` (credit 0), mean price ``0 + p`` (numpy's
    sum of the one row: −0.0 becomes +0.0).
    """
    days, n_all, paths = working.shape
    n = efficiency_jth.shape[0]
    cum_ths, cum_mw = np.empty((n + 1, paths)), np.empty((n + 1, paths))
    threshold, k, drawn, value = np.empty(paths), np.empty(paths, dtype=np.int64), np.empty(paths), np.empty(paths)
    for d in range(days):
        _prefix_day(cum_ths, cum_mw, working[d], online[d], mine, ths_per_unit, mw_per_unit)
        if k_fixed < 0:
            _value_day(value, hashprice[d], keep)
            _count(efficiency_jth, value, price, 0, tax_usd_per_mwh, has_tax, denominator, threshold, k)
        else:
            for p in range(paths):
                k[p] = k_fixed
        t = 0 if booked else d  # the day's row of out
        running, energy = out[0, t], out[1, t]
        for p in range(paths):  # the gathers apart: the energy's loops below run on SIMD lanes
            kc = np.uint64(k[p])
            drawn[p], running[p] = cum_mw[kc, p] * facility, cum_ths[kc, p]
        for p in range(paths):
            energy[p] = drawn[p] + 0.0  # numpy's sum starts from +0.0 (a sum of −0.0s is +0.0)
        for _ in range(1, hours):  # the hours' additions one by one, all paths at a time (the same order per path)
            for p in range(paths):
                energy[p] += drawn[p]
        for p in range(paths):
            x, e = price[0, p], energy[p]
            cut = (cum_mw[n, p] * facility - drawn[p]) * hours
            out[2, t, p], out[3, t, p] = e * x + e * tax_usd_per_mwh, 0.0
            out[4, t, p], out[5, t, p], out[6, t, p] = 0.0 if cut < 0.0 else cut, 0.0, x + 0.0
        if booked:
            _book_day(out, t, d, tax_usd_per_mwh, keep, site, index_priced, record_rows, price_columns)


@njit(cache=True, nogil=True, error_model="numpy")
def _book_day(table, t, d, tax_usd_per_mwh, keep, site, index_priced, record_rows, price_columns):
    """Row ``t`` of a one-pass table ``(7, ·, paths)`` (rows :data:`FIELDS`) added to day ``d`` of the record's rows
    (:func:`book`'s arguments: ``record_rows`` the reward, the close and the eight booked rows, ``price_columns`` the
    index and power prices ``(days, sites, paths)``), :func:`book`'s operations on one day."""
    reward, price_usd, btc_mined, running_ths, mining_revenue_usd, energy_mwh, power_cost_usd, power_credit_usd, \
        curtailed_mwh, underclocked_mwh = record_rows
    index_price, power_price = price_columns
    for p in range(table.shape[2]):
        running = table[0, t, p]
        btc = running * _HS_PER_THS * reward[d, p] * keep
        btc_mined[d, p] = btc_mined[d, p] + btc
        running_ths[d, p] = running_ths[d, p] + running
        mining_revenue_usd[d, p] = mining_revenue_usd[d, p] + btc * price_usd[d, p]
        energy_mwh[d, p] = energy_mwh[d, p] + table[1, t, p]
        power_cost_usd[d, p] = power_cost_usd[d, p] + table[2, t, p]
        power_credit_usd[d, p] = power_credit_usd[d, p] + table[3, t, p]
        curtailed_mwh[d, p] = curtailed_mwh[d, p] + table[4, t, p]
        underclocked_mwh[d, p] = underclocked_mwh[d, p] + table[5, t, p]
    mean, index_row, power_row = table[6, t], index_price[d, site], power_price[d, site]
    if index_priced:
        for p in range(mean.shape[0]):
            index_row[p] = mean[p]
    for p in range(mean.shape[0]):
        power_row[p] = mean[p] + tax_usd_per_mwh


@njit(cache=True, nogil=True, error_model="numpy")
def book(table, tax_usd_per_mwh, keep, site, index_priced, record_rows, price_columns):
    """A one-pass block's flows ``table`` ``(7, days, paths)`` (rows :data:`FIELDS`) added to the day record's rows
    ``(days, paths)`` in one pass: what :func:`simulator.site_block.book`'s numpy form does field by field.

    ``record_rows``: the reward [BTC/(H/s·day)] and close [USD] of each day, then the rows ``btc_mined``,
    ``running_ths``, ``mining_revenue_usd``, ``energy_mwh``, ``power_cost_usd``, ``power_credit_usd``,
    ``curtailed_mwh`` and ``underclocked_mwh`` (:data:`simulator.site_block._BOOKED`); ``price_columns``: the index
    and power prices ``(days, sites, paths)``. FPPS BTC ``running × 10¹² × reward × keep`` (``keep`` = 1 − pool
    fee, :func:`simulator.pool.fpps_btc`'s operations left to right) onto ``btc_mined``, the running TH/s onto
    ``running_ths``, ``BTC × price_usd`` onto ``mining_revenue_usd``
    (:meth:`simulator.day_record.DayRecord.add_mining`); energy, power cost and credit, curtailed and underclocked
    MWh onto theirs (:meth:`~simulator.day_record.DayRecord.add_site`); the mean price into the index prices'
    column ``site`` (``index_priced``: an index site) and mean + tax into the power prices'. Each element gets
    numpy's operation on the same operands in the same order (``a += b`` is ``a + b``), so the same doubles
    (:func:`_book_day`, a day at a time; :func:`site_days` and :func:`fixed_days` book each day as they make it)."""
    for d in range(table.shape[1]):
        _book_day(table, d, d, tax_usd_per_mwh, keep, site, index_priced, record_rows, price_columns)
