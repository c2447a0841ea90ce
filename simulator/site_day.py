"""A site's plan and state, and its day: hourly prices, programmes, dispatch, stop/retire rules, the bill.

The site actor of :mod:`simulator.engine` builds a :class:`SitePlan` once (the site's
cohorts in dispatch order, its hourly price model, temperature derates, capacity, expansion
capex) and a :class:`SiteState` (:func:`start_site`), then calls
:func:`simulator.site_block.site_block` for each block of days (or :func:`site_day` for one
day, the same computation), which returns the :class:`SiteFlows`. The formulas are those of
:mod:`simulator.site` (dispatch, energy bill, demand response, 4CP, hosting); a block only
sequences them:

1. the hourly prices ``(24, paths)`` [USD/MWh] (a fixed price, or the index model's days,
   drawn :data:`POWER_BLOCK_DAYS` at a time);
2. demand-response calls and 4CP avoidance hours;
3. the dispatch of the working units (none while the site is offline); with stop or retire
   policies, each cohort's own margin decides (:func:`simulator.site.policy_step`) and the
   day is dispatched again without the stopped and retired cohorts;
4. the 4CP charge, the energy bill, hosted clients' bill and revenue;
5. site opex on the day's capacity ``opex_usd_per_mw_year × capacity_mw / 365`` [USD], split
   by the MW hosting and HPC take (:func:`simulator.finance.segments.mw_shares`).
"""
from __future__ import annotations

import bisect

import numpy as np

from simulator import grid_programmes, site as site_model, units
from simulator.config.checks import capacity_mw
from simulator.fleet import Cohorts, FailureState
from simulator.hardware import temperature_derate_fraction
from simulator.market import registry as market_registry
from simulator.rng import PathStreams
from simulator.site_block import (POWER_BLOCK_DAYS, PROGRAMME_BLOCK_DAYS, SiteFlows, SitePlan, SiteState, book,
                                  first_day, horizon_costs, site_block)

__all__ = ["POWER_BLOCK_DAYS", "PROGRAMME_BLOCK_DAYS", "SiteFlows", "SitePlan", "SiteState", "book", "plan_site",
           "site_block", "site_day", "start_site"]


def _derate(site, cohorts: Cohorts, mine: np.ndarray, month: int) -> np.ndarray:
    """Hashrate multiplier ``(cohorts, 24)`` of a site's cohorts in ``month`` from its ambient profile."""
    ambient = site_model.ambient_c(site, month)
    if ambient is None:
        return np.ones((len(mine), units.HOURS_PER_DAY))
    return temperature_derate_fraction(ambient[None, :], cohorts.inlet_limit_c[mine][:, None],
                                       cohorts.shutdown_c[mine][:, None])


def _derate_groups(derate_by_month: dict) -> np.ndarray:
    """Each month's group ``(13,)`` (index 0 unused): the first month whose derate is the same array."""
    group = np.zeros(13, dtype=np.int64)
    for m in range(1, 13):
        group[m] = next(k for k in range(1, m + 1) if np.array_equal(derate_by_month[k], derate_by_month[m]))
    return group


def _capacity_of_days(site, days: list) -> np.ndarray:
    """:func:`simulator.config.checks.capacity_mw` of each of ``days`` (ascending dates) [MW]: the function itself
    on the first day of each run of days with the same expansions energised, its value copied over the run (an
    expansion's ``date ≤ day`` turns true at the first day on or after its date and stays true: at most one run
    per expansion and one call each instead of one a day)."""
    starts = sorted({0, *(bisect.bisect_left(days, e.date) for e in site.expansions)} - {len(days)})
    out = np.empty(len(days))
    for lo, hi in zip(starts, starts[1:] + [len(days)]):
        out[lo:hi] = capacity_mw(site, days[lo])
    return out


def plan_site(scenario, index: int, cohorts: Cohorts, dates) -> SitePlan:
    """The :class:`SitePlan` of ``scenario.sites[index]`` over the horizon's ``dates``."""
    site, c = scenario.sites[index], cohorts
    mine = np.flatnonzero(c.site_index == index)
    mine = mine[np.argsort(c.efficiency_jth[mine], kind="stable")]  # most efficient first
    mw_per_unit = c.power_w[mine][:, None] / units.W_PER_MW
    tuned = bool(c.dynamic[mine].any()) or site.ambient_c is not None or site.ambient_hourly_c is not None
    spec = site_model.SiteCohorts(c.efficiency_jth[mine], c.hashrate_ths[mine][:, None], mw_per_unit,
                                  c.k_under[mine], c.k_over[mine], c.min_fraction[mine], c.max_fraction[mine],
                                  c.dynamic[mine], tuned)
    is_ppa = site.power.contract == "ppa"
    days = list(dates.date)  # datetime.date objects (month, day, weekday()), built at C speed
    expiry_day = (site.power.expiry - scenario.start).days if is_ppa and site.power.expiry else np.inf
    derate = {m: _derate(site, c, mine, m) for m in range(1, 13)}
    return SitePlan(index=index, site=site, mine=mine, spec=spec, mw_per_unit=mw_per_unit,
                    prices=market_registry.power_model(scenario, site),
                    derate_by_month=derate, expiry_day=expiry_day,
                    months=np.asarray(dates.month, dtype=np.int64), derate_group=_derate_groups(derate),
                    capacity_mw=_capacity_of_days(site, days),
                    expansion_capex_usd=site_model.expansion_capex_usd_per_day(site.expansions, scenario.start,
                                                                               len(dates)),
                    pool_fee=scenario.pool.fee, policies=scenario.policies, dates=days, is_ppa=is_ppa,
                    demand_response_credit_usd=grid_programmes.demand_response_credit_usd_per_day(site.demand_response)
                    if site.demand_response else None)


def start_site(plan: SitePlan, seed: int, path_ids: np.ndarray, working: np.ndarray,
               hpc_mw: np.ndarray | None = None, reuse_table: bool = False) -> SiteState:
    """The site's day-0 state: its random streams, the 4CP charge from ``working`` units ``(cohorts, paths)``;
    with ``hpc_mw``, the MW its HPC projects reserve each day of the horizon ``(days,)`` (the caller's, given again
    block by block), a site without hosting has its opex split made once (:func:`simulator.site_block.horizon_costs`);
    with ``reuse_table`` each block's one-pass table is written over the previous one's
    (:attr:`simulator.site_block.SiteState.table_memory`: for a caller that books a block before the next)."""
    site, paths = plan.site, len(path_ids)
    state = SiteState(hourly_price=None, losing_days=np.zeros((len(plan.mine), paths)),
                      stopped=np.zeros((len(plan.mine), paths), dtype=bool),
                      horizon_costs=horizon_costs(plan, hpc_mw) if hpc_mw is not None and site.hosting is None
                      else None, table_memory=np.empty(0) if reuse_table else None)
    if plan.prices is None:  # every hour alike: one row will do unless hours are treated differently
        same_hours = site.curtailment.policy in ("none", "economic") and not (
            site.demand_response or site.four_cp or plan.spec.tuned)
        state.hourly_price = np.full((1 if same_hours else units.HOURS_PER_DAY, paths), site.power.price_usd_per_mwh)
    else:
        state.price_streams = PathStreams(seed, f"power:{plan.index}", path_ids)
        state.common = PathStreams(seed, "power_common", path_ids)  # identical at every site
        state.price_state = plan.prices.start(state.price_streams)
    if site.demand_response:
        state.dr_streams = PathStreams(seed, f"demand_response:{plan.index}", path_ids)
    fcp = site.four_cp
    if fcp:
        state.fcp_streams = PathStreams(seed, f"four_cp:{plan.index}", path_ids)
        prior_mw = fcp.prior_4cp_mw if fcp.prior_4cp_mw is not None else \
            (plan.mw_per_unit * working[plan.mine]).sum(axis=0) * (1 + site.cooling_overhead)
        state.four_cp = grid_programmes.FourCpCharges(fcp, prior_mw, paths)
    return state


def site_day(plan: SitePlan, state: SiteState, day: int, days: int, hashprice_usd_per_ph_day: np.ndarray,
             tax_usd_per_mwh: float, offline: bool, hpc_mw: float, units_state: FailureState,
             retired_units: np.ndarray) -> SiteFlows:
    """One day of the site: :func:`simulator.site_block.site_block` for a block of one day, the fields
    without their day axis. Retired cohorts leave ``units_state`` in place and their units are added
    to ``retired_units`` ``(cohorts, paths)``."""
    return first_day(site_block(plan, state, day, 1, days, np.asarray(hashprice_usd_per_ph_day)[None],
                                tax_usd_per_mwh, np.array([offline]), np.array([hpc_mw], dtype=float),
                                units_state.working[None], units_state, retired_units))
