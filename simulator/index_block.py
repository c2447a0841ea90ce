"""An hourly-price site's block in one compiled pass, when nothing in it needs the segment-by-segment form.

:func:`simulator.site_block.site_block` turns a block's inputs into columns and calls the
:mod:`simulator.site` functions once per segment (numpy, or :mod:`simulator.index_kernel` when large).
For the common index site — hourly prices, ``economic``, ``none`` or ``schedule`` curtailment, no
demand-response programme, 4CP, hosting, PPA, dynamic tuning or ambient derate, no stop or retire
policy — :func:`site_days` gives the same flows, bit for bit, from one call of
:func:`simulator.index_block_kernel.site_days` on the block's day-major arrays (no columns, no hourly
energy, the bill and mean price in the dispatch's loop; on the index model, the block's hourly prices
computed in that loop too, from the terms its price block drew on its first day, whether the engine runs
that price block whole or cut in blocks). For anything else, and for every small call
until :data:`INDEX_BLOCK_KERNEL` is loaded, :func:`kernel_for` returns None: the segment form runs (the
reference, which tests/test_index_block.py compares this with byte for byte).
"""
from __future__ import annotations

import numpy as np

from simulator import merit_order, units
from simulator.lazy_kernel import LazyKernel

#: :mod:`simulator.index_block_kernel`, loaded for a block of at least 2¹⁶ units (day-hours × paths ×
#: (cohorts + 1), as :data:`simulator.merit_order.INDEX_KERNEL` counts a dispatch) or once the segment form
#: has run 2²¹ of them in this process: a one-path run of a few years never loads it.
INDEX_BLOCK_KERNEL = LazyKernel("simulator.index_block_kernel", large_from=2**16, numpy_at_most=2**21)
#: The segment form's fixed cost of a block (a few dozen numpy calls) in the units above.
_NUMPY_BLOCK_COST = 8192
#: The curtailment policies whose hourly running count :func:`hour_counts` gives (``uptime_target`` ranks
#: each day's hours: the segment form).
_POLICIES = ("none", "schedule", "economic")
#: The policies under which a fixed-price site's day is one price row (:func:`simulator.site_day.start_site`).
_FIXED_POLICIES = ("none", "economic")


def applies(plan) -> bool:
    """Whether ``plan``'s site is one :func:`site_days` computes: hourly prices, or a fixed price under ``none`` or
    ``economic`` curtailment (one price row for every hour: :func:`fixed_days`), without what the segment form
    alone handles (programmes, hosting, a PPA, tuning or an ambient derate, stop or retire policies, an
    ``uptime_target`` curtailment)."""
    site = plan.site
    return (not plan.is_ppa and not plan.spec.tuned
            and site.curtailment.policy in (_POLICIES if plan.prices is not None else _FIXED_POLICIES)
            and not (site.demand_response or site.four_cp or site.hosting is not None)
            and not (plan.policies.stop or plan.policies.retire))


def hour_counts(curtailment, n_cohorts: int) -> np.ndarray:
    """Each hour's running count ``(24,)``: every cohort (``none``), every cohort or none (``schedule``'s hours),
    or −1 to count ``e ≤ e*`` (``economic``) — :func:`simulator.merit_order.policy_count`."""
    if curtailment.policy == "none":
        return np.full(units.HOURS_PER_DAY, n_cohorts, dtype=np.int64)
    if curtailment.policy == "schedule":
        return np.where(merit_order.scheduled_hours(curtailment), n_cohorts, 0).astype(np.int64)
    return np.full(units.HOURS_PER_DAY, -1, dtype=np.int64)


def kernel_for(plan, n: int, paths: int):
    """:mod:`simulator.index_block_kernel` for a block of ``n`` days of ``paths`` paths of a site :func:`applies` to,
    or None: run the segment form (another site, or a small call while :data:`INDEX_BLOCK_KERNEL` is unloaded; a
    fixed-price site's small calls are never counted against its numpy budget, so a small run's fixed sites never
    make it load numba)."""
    if not plan.one_pass:  # applies(plan), kept on the plan
        return None
    if plan.prices is None:  # a fixed price (one row a day): its numpy calls spend nothing of the budget
        return INDEX_BLOCK_KERNEL.for_call(n * paths * (len(plan.mine) + 1), charge=False)
    return INDEX_BLOCK_KERNEL.for_call(n * units.HOURS_PER_DAY * paths * (len(plan.mine) + 1), _NUMPY_BLOCK_COST)


#: ``site_days``' price arguments when the prices are read, not drawn (one compiled signature).
_NO_DRAW = (np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0, dtype=np.uint64),
            np.uint64(0), np.uint64(0), np.uint64(0), 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0)


def cohort_arguments(plan) -> tuple:
    """The kernels' first arguments that depend on the site alone: its cohorts' efficiency, TH/s and IT MW a unit
    ``(cohorts,)`` in dispatch order and their rows of ``working`` (:attr:`simulator.site_block.SitePlan.mine`),
    as :func:`simulator.merit_order.kernel_array` gives them (what
    :attr:`simulator.site_block.SitePlan.kernel_cohorts` keeps, once a plan)."""
    spec, cohorts, as_kernel = plan.spec, len(plan.mine), merit_order.kernel_array
    return (as_kernel(spec.efficiency_jth, (cohorts,)),
            *(as_kernel(x[:, 0], (cohorts,)) for x in (spec.ths_per_unit, spec.mw_per_unit)),
            as_kernel(plan.mine, (cohorts,), np.int64))


#: The kernels' booking arguments of a block not booked in the pass (:func:`booking`): one compiled signature.
_NOT_BOOKED = (False, (np.zeros((0, 0)),) * 10, (np.zeros((0, 0, 0)),) * 2, 0, False)


def booking(plan, record_rows: tuple, index_price: np.ndarray, power_price: np.ndarray) -> tuple:
    """The kernels' trailing arguments that book each day into the day record as the pass makes it
    (:func:`simulator.index_block_kernel.book`'s: the record's reward, close and booked rows ``(n, P)``, C-ordered,
    :func:`simulator.site_block.kernel_rows`; the index and power prices ``(n, sites, P)``; the site's column, and
    whether it is index-priced)."""
    return True, tuple(record_rows), (index_price, power_price), plan.index, plan.prices is not None


def _arguments(kernel, plan, hashprice_usd_per_ph_day: np.ndarray, working: np.ndarray, offline: np.ndarray,
               tax_usd_per_mwh: float, out: np.ndarray | None = None,
               booked: bool = False) -> tuple[tuple, tuple, np.ndarray]:
    """What :func:`site_days` and :func:`fixed_days` pass alike: the arguments before the prices (the cohorts,
    working units ``(n, all cohorts, P)``, each day's online flag ``(n,)``, the hashprices ``(n, P)`` and
    ``1 − fee``, of which the kernel makes :func:`simulator.merit_order.threshold_value`'s numerator, its
    operations in its order), those after the running counts (tax, whether there is one, the threshold's
    denominator ``24 (1 + overhead)``, ``1 + overhead``) and the output ``(fields, n, P)`` (``out`` if given: C-ordered
    memory of that shape; ``booked``: a day's ``(fields, 1, P)``, the day booked before the next is made)."""
    n, paths = np.shape(hashprice_usd_per_ph_day)
    as_kernel, overhead = merit_order.kernel_array, plan.site.cooling_overhead
    head = (*plan.kernel_cohorts, as_kernel(working, np.shape(working)),
            as_kernel(~np.asarray(offline, dtype=bool), (n,)), as_kernel(hashprice_usd_per_ph_day, (n, paths)),
            1 - plan.pool_fee)
    tail = (float(tax_usd_per_mwh), bool(tax_usd_per_mwh), units.HOURS_PER_DAY * (1 + overhead), 1 + overhead)
    rows = 1 if booked else n
    if out is None:
        out = np.empty((len(kernel.FIELDS), rows, paths))
    assert out.shape == (len(kernel.FIELDS), rows, paths) and out.flags.c_contiguous and out.flags.writeable
    return head, tail, out


def site_days(kernel, plan, prices: np.ndarray, hashprice_usd_per_ph_day: np.ndarray, working: np.ndarray,
              offline: np.ndarray, tax_usd_per_mwh: float, hour_terms: tuple | None = None,
              out: np.ndarray | None = None, book: tuple | None = None) -> dict[str, np.ndarray] | None:
    """The block's flows ``{field: (n, P)}`` (running TH/s, energy, power cost and credit, curtailed and
    underclocked MWh, mean price) of a site :func:`applies` to, from ``kernel`` (:func:`kernel_for`).

    ``prices`` ``(n, 24, P)`` [USD/MWh], C-ordered: read, or with ``hour_terms``
    (:meth:`simulator.market.power.IndexPowerModel.hour_terms` of the block's days) ``(1, 24, P)``, computed hour
    by hour and written there, each day over the previous one's (the last day's left);
    ``hashprice_usd_per_ph_day`` ``(n, P)``; ``working`` ``(n, all cohorts, P)`` units; ``offline`` ``(n,)`` bool;
    ``out``: the memory of the flows ``(7, n, P)`` (the fields are its rows), else fresh. With ``book``
    (:func:`booking`), each day's flows are added to the day record as the pass makes them (the compiled
    :func:`simulator.site_block.book`'s operations) and None is returned: the block's flows are not kept.
    """
    (n, paths), hours = np.shape(hashprice_usd_per_ph_day), np.shape(prices)[1]
    assert hours == units.HOURS_PER_DAY, "an hourly price model's day has 24 hours"
    head, tail, out = _arguments(kernel, plan, hashprice_usd_per_ph_day, working, offline, tax_usd_per_mwh, out,
                                 book is not None)
    if hour_terms is None:
        prices = merit_order.kernel_array(prices, (n, hours, paths))
    assert hour_terms is None or (prices.shape == (1, hours, paths) and prices.flags.c_contiguous
                                  and prices.flags.writeable), "a day's prices are written in place"
    kernel.site_days(*head, prices, plan.hour_counts, *tail, out,
                     hour_terms is not None, *(hour_terms or _NO_DRAW), *(book or _NOT_BOOKED))
    return None if book else dict(zip(kernel.FIELDS, out))


def fixed_days(kernel, plan, price_usd_per_mwh: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
               working: np.ndarray, offline: np.ndarray, tax_usd_per_mwh: float,
               out: np.ndarray | None = None, book: tuple | None = None) -> dict[str, np.ndarray] | None:
    """:func:`site_days` of a fixed-price site :func:`applies` to: ``price_usd_per_mwh`` ``(1, P)`` the one price
    row of every hour (:attr:`simulator.site_block.SiteState.hourly_price`), through
    :func:`simulator.index_block_kernel.fixed_days` (the segment form's one-row dispatch and bill, bit for bit);
    ``out`` and ``book`` as :func:`site_days`'."""
    head, tail, out = _arguments(kernel, plan, hashprice_usd_per_ph_day, working, offline, tax_usd_per_mwh, out,
                                 book is not None)
    k = -1 if plan.site.curtailment.policy == "economic" else len(plan.mine)
    kernel.fixed_days(*head, merit_order.kernel_array(price_usd_per_mwh, (1, np.shape(hashprice_usd_per_ph_day)[1])),
                      k, *tail, units.HOURS_PER_DAY, out, *(book or _NOT_BOOKED))
    return None if book else dict(zip(kernel.FIELDS, out))
