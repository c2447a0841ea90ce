"""Threshold (merit-order) dispatch: which cohorts run in an hour, counted instead of tested one by one.

Under ``economic`` curtailment a cohort of efficiency ``e`` [J/TH] runs in an hour when its
margin ``v T − c M`` is not negative (``v`` the pool's payout per TH/s-hour, ``c`` the cost of
an MWh of IT energy, ``T`` [TH/s] and ``M = T e / 10⁶`` [MW]), that is when
``e ≤ e* = 10⁶ v / c`` (every cohort when ``c ≤ 0``): :func:`efficiency_threshold_jth`. With the
cohorts sorted by efficiency the running set is the ``k`` most efficient, ``k`` the count of
efficiencies at or below ``e*`` (:func:`count_at_or_below`), and cumulative sums give the
running TH/s and MW (:func:`take_rows`): O(hours × paths × cohorts) comparisons of small
integers instead of the margins of every cohort in every hour. :func:`policy_count` applies
the curtailment policies to that count; :func:`derated_stock_dispatch` extends it to cohorts
whose efficiency a thermal derate changes hour by hour (:mod:`simulator.site` uses these).
"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from simulator import units
from simulator.config.schema import Curtailment
from simulator.lazy_kernel import LazyKernel

#: Up to this many cohorts a site counts them by comparisons, beyond it by binary search.
COMPARE_UP_TO = 16
#: The compiled index-site kernels (:mod:`simulator.index_kernel`): loaded for a call of at least 2¹⁶
#: units (hour-columns, times the cohorts + 1 in a dispatch) or once a process has spent 2²¹ on numpy
#: calls, each counting its size plus a fixed cost (:data:`_NUMPY_CALL_COST`): ~0.05 s of numpy, so
#: a short run (one path, a few years) never loads numba for them.
INDEX_KERNEL = LazyKernel("simulator.index_kernel", large_from=2**16, numpy_at_most=2**21)
#: A numpy dispatch's fixed cost (~25 numpy calls) in the units above.
_NUMPY_CALL_COST = 2048
_NO_COUNT = np.zeros((0, 0), dtype=np.int64)
_NO_HOURS = np.zeros((0, 0), dtype=bool)


def value_usd_per_th_hour(hashprice_usd_per_ph_day: np.ndarray, pool_fee: float) -> np.ndarray:
    """What the pool pays for 1 TH/s running one hour [USD]: hashprice / 1,000 × (1 − fee) / 24."""
    return np.asarray(hashprice_usd_per_ph_day) / units.THS_PER_PHS * (1 - pool_fee) / units.HOURS_PER_DAY


def efficiency_threshold_jth(hashprice_usd_per_ph_day: np.ndarray, all_in_usd_per_mwh: np.ndarray,
                             pool_fee: float, cooling_overhead: float) -> np.ndarray:
    """Least efficient machine that pays at an all-in price [J/TH] (inf when the price is ≤ 0).

    ``e* = hashprice (1 − fee) 10⁶ / (1,000 × 24 (1 + overhead) all_in)``, the site breakeven
    of DESIGN.md ("Economics") solved for the efficiency.

    Examples
    --------
    >>> efficiency_threshold_jth(np.array([50.0]), np.array([[40.0], [0.0]]), 0.02, 0.05).round(3).tolist()
    [[48.611], [inf]]
    """
    value = threshold_value(hashprice_usd_per_ph_day, pool_fee)
    denominator = np.multiply(all_in_usd_per_mwh, units.HOURS_PER_DAY * (1 + cooling_overhead))
    paying = np.greater(all_in_usd_per_mwh, 0)
    if paying.all():  # the usual day: no masked division (the same quotients)
        with np.errstate(over="ignore"):
            return np.divide(value, denominator)
    threshold = np.full(np.shape(all_in_usd_per_mwh), np.inf)  # every cohort runs when price + tax <= 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.divide(value, denominator, out=threshold, where=paying)
    return threshold


def threshold_value(hashprice_usd_per_ph_day: np.ndarray, pool_fee: float) -> np.ndarray:
    """The numerator of :func:`efficiency_threshold_jth`: ``hashprice / 1,000 × (1 − fee) × 10⁶``."""
    value = np.asarray(hashprice_usd_per_ph_day) / units.THS_PER_PHS
    value *= 1 - pool_fee  # in place: the same operations in the same order, one array
    value *= units.W_PER_MW
    return value


def economic_count(hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float,
                   pool_fee: float, cooling_overhead: float, efficiency_jth: np.ndarray) -> np.ndarray:
    """``economic``'s running count of each hour ``(hours, paths)``: the cohorts with ``e ≤ e*`` at the
    all-in price ``price + tax`` (:func:`efficiency_threshold_jth`, :func:`count_at_or_below`)."""
    all_in = price_usd_per_mwh + tax_usd_per_mwh if tax_usd_per_mwh else price_usd_per_mwh
    return count_at_or_below(efficiency_jth, efficiency_threshold_jth(hashprice_usd_per_ph_day, all_in, pool_fee,
                                                                      cooling_overhead))


def compiled_dispatch(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                      tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, efficiency_jth: np.ndarray,
                      working_ths: np.ndarray, working_mw: np.ndarray, calls: np.ndarray | None = None,
                      avoid: np.ndarray | None = None, shed_mw: float = 0.0):
    """:func:`simulator.site.dispatch_day` without margins or a PPA's kinks, compiled
    (:func:`simulator.index_kernel.dispatch`): ``(running_ths, energy_hourly_mwh, curtailed_mwh,
    energy_mwh)``, or None when this call runs in numpy (:data:`INDEX_KERNEL`; one price row for the
    whole day without a cap: a fixed contract's day, already a few row operations; one column, whose
    hours numpy adds pairwise where the kernel adds them in order).

    ``calls`` and ``avoid`` ``(24, paths)`` bool (None: none) are the hours capped at the IT load less
    ``shed_mw`` and at 0 (:func:`simulator.site.dispatch_site`); the same numbers as the numpy form,
    bit for bit.
    """
    if np.shape(price_usd_per_mwh)[0] == 1 and calls is None and avoid is None:
        return None
    n, columns = working_ths.shape
    hours = units.HOURS_PER_DAY
    if columns < 2:  # numpy sums one column's hours pairwise, the kernel in order: one column stays in numpy
        return None
    kernel = INDEX_KERNEL.for_call(hours * columns * (n + 1), _NUMPY_CALL_COST)
    if kernel is None:
        return None
    price = kernel_array(price_usd_per_mwh, np.shape(price_usd_per_mwh))
    k_given = _NO_COUNT
    if curtailment.policy != "economic":
        k = policy_count(curtailment, price, n, lambda: economic_count(
            hashprice_usd_per_ph_day, price, tax_usd_per_mwh, pool_fee, cooling_overhead, efficiency_jth))
        k_given = kernel_array(k, k.shape, np.int64)  # (24 or 1, paths): "schedule" has 24 rows on one price row
    energy_hourly, running, curtailed, energy = np.empty((hours, columns)), *np.empty((3, columns))
    kernel.dispatch(kernel_array(efficiency_jth, (n,)), kernel_array(working_ths, (n, columns)),
                    kernel_array(working_mw, (n, columns)),
                    kernel_array(threshold_value(hashprice_usd_per_ph_day, pool_fee), (columns,)), price,
                    float(tax_usd_per_mwh), bool(tax_usd_per_mwh), hours * (1 + cooling_overhead), 1 + cooling_overhead,
                    k_given, *(_NO_HOURS if x is None else kernel_array(x, (hours, columns), bool)
                               for x in (calls, avoid)), float(shed_mw), energy_hourly, running, curtailed, energy)
    return running, energy_hourly, curtailed, energy


def kernel_array(x, shape: tuple, dtype=float) -> np.ndarray:
    """``x`` broadcast to ``shape`` as a C-ordered, writeable array of ``dtype`` (no copy when it is one already):
    what the compiled kernels take, one compiled signature whatever the caller's views (numba compiles a
    read-only or strided array apart)."""
    x = np.asarray(x, dtype=dtype)
    if x.shape != tuple(shape):
        x = np.broadcast_to(x, shape)
    return x if x.flags.c_contiguous and x.flags.writeable else np.array(x, dtype=dtype, order="C")


def count_at_or_below(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(sorted_values, x, side="right")``: how many values are ``<= x``.

    A site's few cohorts are counted with one comparison each over the hours × paths (a
    binary search per element costs more until there are dozens); NaN counts as above all,
    as in ``searchsorted``.
    """
    n = len(sorted_values)
    if n > COMPARE_UP_TO or np.isnan(x.min()):  # min is NaN when any element is
        return np.searchsorted(sorted_values, x, side="right")
    k = np.zeros(x.shape, dtype=np.int8)
    for value in sorted_values:
        np.add(k, x >= value, out=k, casting="unsafe")
    return k


def cumulative_pair(ths: np.ndarray, mw: np.ndarray) -> np.ndarray:
    """``[0, x_0, x_0 + x_1, …]`` along axis 0 for ``x = (ths, mw)`` at once: ``(cohorts + 1, 2, paths)``."""
    n = ths.shape[0]
    out = np.empty((n + 1, 2) + ths.shape[1:])
    out[0] = 0.0
    if n:
        np.stack((ths, mw), axis=1, out=out[1:])
    return accumulate_rows(out)


def accumulate_rows(out: np.ndarray) -> np.ndarray:
    """``out[i] += out[i − 1]`` for i = 2, 3, … in place (row 0 the zero row): the prefix sums in
    np.cumsum's order (row by row), without its slow axis-0 loop; returns ``out``."""
    for i in range(1, len(out) - 1):
        np.add(out[i], out[i + 1], out=out[i + 1])
    return out


def sum_above(at: np.ndarray, weights: np.ndarray | None, shape: tuple) -> np.ndarray:
    """For every position ``j`` of the merit order, the sum of ``weights`` over the hours whose running
    count is above ``j`` (their number without weights): ``shape[1:]`` per ``j < shape[0] − 1``.

    ``at`` is each hour's flat index into ``shape`` (its count as the first coordinate): a histogram
    of the counts (``np.bincount``) summed from the top down.
    """
    histogram = np.bincount(at, weights, minlength=int(np.prod(shape))).reshape(shape)
    return np.cumsum(histogram[::-1], axis=0)[::-1][1:]


def take_rows(cum: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cum[k, 0], cum[k, 1])`` along axis 0 of ``cum`` ``(cohorts + 1, 2, paths)``, through one flat index."""
    paths = cum.shape[-1]
    flat = np.multiply(k, 2 * paths, dtype=np.intp)
    flat += np.arange(paths)
    flat_cum = cum.reshape(-1)
    ths = flat_cum.take(flat)
    flat += paths
    return ths, flat_cum.take(flat)


def policy_count(curtailment: Curtailment, price_usd_per_mwh: np.ndarray, n_cohorts: int,
                 economic: Callable[[], np.ndarray]) -> np.ndarray:
    """Cohorts running in each hour under the curtailment policy ``(hours, paths)``.

    ``none`` runs all ``n_cohorts``; ``schedule`` all but in ``hours_off``; ``economic`` the
    count ``economic()`` gives; ``uptime_target`` that count, and all in the cheapest
    ``ceil(uptime × 24)`` hours of the day (ties in the hours' order).
    """
    policy = curtailment.policy
    if policy == "none":
        return np.full(price_usd_per_mwh.shape, n_cohorts, dtype=np.int16)
    if policy == "schedule":
        return np.where(scheduled_hours(curtailment)[:, None], n_cohorts, 0) \
            * np.ones(price_usd_per_mwh.shape, dtype=np.int64)
    k = economic()
    if policy == "uptime_target":
        k = np.where(cheapest_hours(curtailment, price_usd_per_mwh), n_cohorts, k)
    return k


def scheduled_hours(curtailment: Curtailment) -> np.ndarray:
    """``schedule``: the hours of the day machines may run ``(24,)``, all but ``hours_off``."""
    return ~np.isin(np.arange(units.HOURS_PER_DAY), curtailment.hours_off)


def cheapest_hours(curtailment: Curtailment, price_usd_per_mwh: np.ndarray) -> np.ndarray:
    """``uptime_target``: the ``ceil(uptime × 24)`` cheapest hours of each path's day ``(hours, paths)``
    (ties in the hours' order), when everything runs whatever its margin."""
    must_run = int(np.ceil(curtailment.uptime * units.HOURS_PER_DAY))
    return np.argsort(np.argsort(price_usd_per_mwh, axis=0, kind="stable"), axis=0, kind="stable") < must_run


@functools.lru_cache(maxsize=64)
def _derate_groups(derate_bytes: bytes, n_cohorts: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct hourly derate columns ``(G, cohorts)`` and each hour's group ``(24,)`` (a month's derate recurs daily)."""
    derate = np.frombuffer(derate_bytes).reshape(n_cohorts, units.HOURS_PER_DAY)
    columns, group = np.unique(derate.T, axis=0, return_inverse=True)
    columns.setflags(write=False)
    group = group.reshape(-1)
    group.setflags(write=False)
    return columns, group


def derated_stock_dispatch(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray,
                           price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float, pool_fee: float,
                           cooling_overhead: float, efficiency_jth: np.ndarray, working_ths: np.ndarray,
                           working_mw: np.ndarray, k_under: np.ndarray, derate: np.ndarray, margins: bool = False):
    """Threshold dispatch of cohorts at their stock setting under a thermal derate ``d`` ``(cohorts, 24)``.

    Returns ``(running_ths, energy_hourly_mwh, curtailed_mwh, cohort_margin_usd or None)`` as
    :class:`simulator.site.Dispatch` has them: mean running TH/s ``(paths,)``, facility MWh
    ``(24, paths)``, facility MWh not drawn ``(paths,)``, each cohort's margin ``(cohorts, paths)``.

    Notes
    -----
    A derated cohort runs at hashrate ``T d`` and power ``M d^k_under`` (a firmware throttle),
    so its efficiency in hour ``h`` is ``e_h = e d_h^(k_under − 1)``, the same on every path:
    the hour's running set is again the cohorts with ``e_h ≤ e*`` (:func:`efficiency_threshold_jth`),
    a prefix of the cohorts sorted by ``e_h``. Hours share a merit order when they share the
    derate column ``d_·h``; each of those ``G`` groups (one in a cool month, ≤ 24) gets its
    sort and cumulative sums ``(G, cohorts + 1, 2, paths)``, and each hour reads its running
    TH/s and MW at its count, as :func:`take_rows` does. A cohort's margin
    ``Σ_h run (v T d − c M d^k)`` is ``v T d N − M d^k Σ c`` within a group (``N`` its running
    hours there, ``Σ c`` their costs per MWh): a histogram of the counts per group and path,
    summed from the top down. Curtailed energy is what the day's derated load would have drawn
    less what ran.
    """
    n, paths = working_ths.shape
    hours = units.HOURS_PER_DAY
    price = np.broadcast_to(price_usd_per_mwh, (hours, paths))
    columns, group = _derate_groups(np.ascontiguousarray(derate, dtype=float).tobytes(), n)  # (G, cohorts), (24,)
    n_groups = len(columns)
    hourly_eff = efficiency_jth * columns ** (k_under - 1)
    order = np.argsort(hourly_eff, axis=1, kind="stable").T  # (cohorts, G): each group's merit order
    d = np.take_along_axis(columns.T, order, axis=0)
    x = np.empty((n, n_groups, 2, paths))  # (cohorts in merit order, G, TH/s and MW, paths)
    np.multiply(working_ths[order], d[:, :, None], out=x[:, :, 0])
    np.multiply(working_mw[order], (d ** k_under[order])[:, :, None], out=x[:, :, 1])
    cum = np.empty((n + 1, n_groups, 2, paths))
    cum[0], cum[1:] = 0.0, x
    accumulate_rows(cum)
    sorted_eff = np.take_along_axis(hourly_eff.T, order, axis=0)[:, group]  # (cohorts, 24)

    def economic() -> np.ndarray:
        threshold = efficiency_threshold_jth(hashprice_usd_per_ph_day, price + tax_usd_per_mwh, pool_fee,
                                             cooling_overhead)
        k = np.zeros(threshold.shape, dtype=np.int8 if n < 127 else np.intp)
        for i in range(n):
            np.add(k, threshold >= sorted_eff[i][:, None], out=k, casting="unsafe")
        return k

    k = policy_count(curtailment, price, n, economic)
    row = k.astype(np.intp) * n_groups + group[:, None]  # (24, paths): the row of cum each hour reads
    running_ths, running_mw = take_rows(cum.reshape(-1, 2, paths), row)
    available_mw = cum[n, group, 1]  # (24, paths)
    facility = 1 + cooling_overhead
    margin = None
    if margins:
        cost = (price + tax_usd_per_mwh) * facility
        at = (row * paths + np.arange(paths)).reshape(-1)
        shape = (n + 1, n_groups, paths)  # per position, group and path
        value = value_usd_per_th_hour(hashprice_usd_per_ph_day, pool_fee)
        term = value * x[:, :, 0] * sum_above(at, None, shape) - x[:, :, 1] * sum_above(at, cost.reshape(-1), shape)
        rank = np.argsort(order, axis=0)  # each cohort's position in its group's merit order
        margin = np.take_along_axis(term, rank[:, :, None], axis=0).sum(axis=1)
    return (running_ths.sum(axis=0) / hours, running_mw * facility,
            (available_mw - running_mw).sum(axis=0) * facility, margin)
