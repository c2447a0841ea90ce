"""An hourly-price site's block in one compiled pass, when nothing in it needs the segment-by-segment form.

:func:`simulator.site_block.site_block` turns a block's inputs into columns and calls the
:mod:`simulator.site` functions once per segment (numpy, or :mod:`simulator.index_kernel` when large).
For the common index site — hourly prices, ``economic``, ``none`` or ``schedule`` curtailment, no
demand-response programme, 4CP, hosting, PPA, dynamic tuning or ambient derate, no stop or retire
policy — :func:`site_days` gives the same flows, bit for bit, from one call of
:func:`simulator.index_block_kernel.site_days` on the block's day-major arrays (no columns, no hourly
energy, the bill and mean price in the dispatch's loop). Anything else, and every small call until
:data:`INDEX_BLOCK_KERNEL` is loaded, returns None: the segment form runs (the reference, which the
tests compare this with byte for byte).
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
#: The curtailment policies whose hourly running count :func:`_hour_counts` gives (``uptime_target`` ranks
#: each day's hours: the segment form).
_POLICIES = ("none", "schedule", "economic")


def applies(plan) -> bool:
    """Whether ``plan``'s site is one :func:`site_days` computes: hourly prices without what the segment form
    alone handles (programmes, hosting, a PPA, tuning or an ambient derate, stop or retire policies, an
    ``uptime_target`` curtailment)."""
    site = plan.site
    return (plan.prices is not None and not plan.is_ppa and not plan.spec.tuned
            and site.curtailment.policy in _POLICIES
            and not (site.demand_response or site.four_cp or site.hosting is not None)
            and not (plan.policies.stop or plan.policies.retire))


def _hour_counts(curtailment, n_cohorts: int) -> np.ndarray:
    """Each hour's running count ``(24,)``: every cohort (``none``), every cohort or none (``schedule``'s hours),
    or −1 to count ``e ≤ e*`` (``economic``) — :func:`simulator.merit_order.policy_count`."""
    if curtailment.policy == "none":
        return np.full(units.HOURS_PER_DAY, n_cohorts, dtype=np.int64)
    if curtailment.policy == "schedule":
        return np.where(merit_order.scheduled_hours(curtailment), n_cohorts, 0).astype(np.int64)
    return np.full(units.HOURS_PER_DAY, -1, dtype=np.int64)


def site_days(plan, prices: np.ndarray, hashprice_usd_per_ph_day: np.ndarray, working: np.ndarray,
              offline: np.ndarray, tax_usd_per_mwh: float) -> dict[str, np.ndarray] | None:
    """The block's flows ``{field: (n, P)}`` (running TH/s, energy, power cost and credit, curtailed and
    underclocked MWh, mean price) of a site :func:`applies` to, or None: run the segment form.

    ``prices`` ``(n, 24, P)`` [USD/MWh]; ``hashprice_usd_per_ph_day`` ``(n, P)``; ``working`` ``(n, all cohorts,
    P)`` units; ``offline`` ``(n,)`` bool.
    """
    n, hours, paths = np.shape(prices)
    spec, site = plan.spec, plan.site
    if hours != units.HOURS_PER_DAY or not applies(plan):
        return None
    kernel = INDEX_BLOCK_KERNEL.for_call(n * hours * paths * (len(plan.mine) + 1), _NUMPY_BLOCK_COST)
    if kernel is None:
        return None
    as_kernel = merit_order.kernel_array
    out = np.empty((len(kernel.FIELDS), n, paths))
    overhead = site.cooling_overhead
    kernel.site_days(as_kernel(spec.efficiency_jth, (len(plan.mine),)),
                     *(as_kernel(x[:, 0], (len(plan.mine),)) for x in (spec.ths_per_unit, spec.mw_per_unit)),
                     as_kernel(plan.mine, (len(plan.mine),), np.int64), as_kernel(working, np.shape(working)),
                     as_kernel(~np.asarray(offline, dtype=bool), (n,)),
                     as_kernel(merit_order.threshold_value(hashprice_usd_per_ph_day, plan.pool_fee), (n, paths)),
                     as_kernel(prices, (n, hours, paths)), _hour_counts(site.curtailment, len(plan.mine)),
                     float(tax_usd_per_mwh), bool(tax_usd_per_mwh), hours * (1 + overhead), 1 + overhead, out)
    return dict(zip(kernel.FIELDS, out))
