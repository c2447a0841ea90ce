"""One site's day of operations: hourly prices, programmes, dispatch, stop/retire rules, the bill.

The site actor of :mod:`simulator.engine` builds a :class:`SitePlan` once (the site's
cohorts in dispatch order, its hourly price model, temperature derates, capacity, expansion
capex) and calls :func:`site_day` each day, which returns the day's :class:`SiteFlows`. The
formulas are those of :mod:`simulator.site` (dispatch, energy bill, demand response, 4CP,
hosting); this module only sequences them:

1. the day's hourly prices ``(24, paths)`` [USD/MWh] (a fixed price, or the index model's
   next day, drawn :data:`POWER_BLOCK_DAYS` at a time);
2. demand-response calls and 4CP avoidance hours;
3. the dispatch of the working units (none while the site is offline); with stop or retire
   policies, each cohort's own margin decides (:func:`simulator.site.policy_step`) and the
   day is dispatched again without the stopped and retired cohorts;
4. the 4CP charge, the energy bill, hosted clients' bill and revenue;
5. site opex on the day's capacity ``opex_usd_per_mw_year × capacity_mw / 365`` [USD], split
   by the MW hosting and HPC take (:func:`simulator.finance.segments.mw_shares`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import site as site_model, units
from simulator.config.checks import capacity_mw
from simulator.finance import segments
from simulator.fleet import Cohorts, FailureState, retire_cohorts
from simulator.hardware import temperature_derate_fraction
from simulator.market import registry as market_registry
from simulator.rng import PathStreams

#: Days of hourly power prices (50 draws a day) drawn at a time: blocks of a few MB per 1,000
#: paths, drawn into the memory of the previous block (fresh memory is slow to touch; the draws
#: do not depend on the block split).
POWER_BLOCK_DAYS = 30
#: Days of demand-response uniforms (24 a day) drawn at a time.
PROGRAMME_BLOCK_DAYS = 365


@dataclass(frozen=True)
class SitePlan:
    """What a site's days share: its configuration, cohorts in dispatch order and daily schedules.

    ``mine`` are the site's cohort indices, most efficient first; ``capacity_mw`` and
    ``expansion_capex_usd`` are per day of the horizon; ``derate_by_month`` maps a month to the
    cohorts' hashrate multiplier ``(cohorts, 24)``; ``expiry_day`` is a PPA's last day + 1 (inf
    without one).
    """

    index: int
    site: object
    mine: np.ndarray
    spec: site_model.SiteCohorts
    mw_per_unit: np.ndarray
    prices: object
    derate_by_month: dict
    expiry_day: float
    capacity_mw: np.ndarray
    expansion_capex_usd: np.ndarray
    pool_fee: float
    policies: object
    dates: list
    is_ppa: bool = False
    demand_response_credit_usd: float | None = None
    """The demand-response programme's availability payment per day [USD] (None without one)."""


@dataclass
class SiteState:
    """A site's state carried from day to day (the random streams and the policies' counters)."""

    hourly_price: np.ndarray | None
    price_state: object = None
    price_block: np.ndarray | None = None
    price_streams: PathStreams | None = None
    common: PathStreams | None = None
    dr_streams: PathStreams | None = None
    dr_draws: np.ndarray | None = None
    four_cp: site_model.FourCpCharges | None = None
    fcp_streams: PathStreams | None = None
    losing_days: np.ndarray | None = None
    stopped: np.ndarray | None = None


@dataclass(frozen=True)
class SiteFlows:
    """One site's day, ``(paths,)`` arrays [USD, MWh, TH/s] unless noted; None: the site has none."""

    running_ths: np.ndarray
    energy_mwh: np.ndarray
    power_cost_usd: np.ndarray
    power_credit_usd: np.ndarray
    curtailed_mwh: np.ndarray
    underclocked_mwh: np.ndarray
    mean_price_usd_per_mwh: np.ndarray
    """The day's mean hourly market (or fixed) price, before taxes."""
    tax_usd_per_mwh: float
    demand_response_credit_usd: float | None
    transmission_charge_usd: np.ndarray | None
    hosting_power_cost_usd: np.ndarray | None
    hosting_revenue_usd: float | None
    site_opex_usd: float
    site_opex_hosting_usd: float
    site_opex_hpc_usd: float
    site_mw: tuple
    """(capacity, hosting, HPC) MW of the day."""
    expansion_capex_usd: float


def _derate(site, cohorts: Cohorts, mine: np.ndarray, month: int) -> np.ndarray:
    """Hashrate multiplier ``(cohorts, 24)`` of a site's cohorts in ``month`` from its ambient profile."""
    ambient = site_model.ambient_c(site, month)
    if ambient is None:
        return np.ones((len(mine), units.HOURS_PER_DAY))
    return temperature_derate_fraction(ambient[None, :], cohorts.inlet_limit_c[mine][:, None],
                                       cohorts.shutdown_c[mine][:, None])


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
    return SitePlan(index=index, site=site, mine=mine, spec=spec, mw_per_unit=mw_per_unit,
                    prices=market_registry.power_model(scenario, site),
                    derate_by_month={m: _derate(site, c, mine, m) for m in range(1, 13)}, expiry_day=expiry_day,
                    capacity_mw=np.array([capacity_mw(site, date) for date in days]),
                    expansion_capex_usd=site_model.expansion_capex_usd_per_day(site.expansions, scenario.start,
                                                                               len(dates)),
                    pool_fee=scenario.pool.fee, policies=scenario.policies, dates=days, is_ppa=is_ppa,
                    demand_response_credit_usd=site_model.demand_response_credit_usd_per_day(site.demand_response)
                    if site.demand_response else None)


def start_site(plan: SitePlan, seed: int, path_ids: np.ndarray, working: np.ndarray) -> SiteState:
    """The site's day-0 state: its random streams, the 4CP charge from ``working`` units ``(cohorts, paths)``."""
    site, paths = plan.site, len(path_ids)
    state = SiteState(hourly_price=None, losing_days=np.zeros((len(plan.mine), paths)),
                      stopped=np.zeros((len(plan.mine), paths), dtype=bool))
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
        state.four_cp = site_model.FourCpCharges(fcp, prior_mw, paths)
    return state


def _hourly_price(plan: SitePlan, state: SiteState, day: int, days: int) -> np.ndarray:
    """The day's hourly prices ``(24 or 1, paths)`` [USD/MWh]; the index model draws a block at a time."""
    if plan.prices is not None:
        if day % POWER_BLOCK_DAYS == 0:
            state.price_block, state.price_state = plan.prices.block(
                state.price_state, day, min(POWER_BLOCK_DAYS, days - day), state.price_streams, state.common,
                out=state.price_block if day else None)
        state.hourly_price = state.price_block[day % POWER_BLOCK_DAYS]
    return state.hourly_price


def _dispatch(plan: SitePlan, state: SiteState, units_state: FailureState, retired_units: np.ndarray,
              offline: bool, args: tuple) -> site_model.Dispatch:
    """The day's dispatch of the working units, after the stop and retire rules (which retire in place)."""
    working = units_state.working[plan.mine] * (not offline)
    policies = plan.policies
    if not (policies.stop or policies.retire):
        return site_model.dispatch_site(plan.spec, plan.site, working, *args)
    run = site_model.dispatch_site(plan.spec, plan.site, working, *args, margins=True)  # each cohort's own margin
    state.losing_days, state.stopped, retire = site_model.policy_step(run, working > 0, state.losing_days,
                                                                      state.stopped, policies)
    if retire.any():
        retire_cohorts(units_state, retired_units, plan.mine, retire)
        working = units_state.working[plan.mine] * (not offline)
    if state.stopped.any() or retire.any():
        run = site_model.dispatch_site(plan.spec, plan.site, working * ~state.stopped, *args)
    return run


def site_day(plan: SitePlan, state: SiteState, day: int, days: int, hashprice_usd_per_ph_day: np.ndarray,
             tax_usd_per_mwh: float, offline: bool, hpc_mw: float, units_state: FailureState,
             retired_units: np.ndarray) -> SiteFlows:
    """One day of the site: see the module docstring. Retired cohorts leave ``units_state`` in place
    and their units are added to ``retired_units`` ``(cohorts, paths)``."""
    site, date, tax = plan.site, plan.dates[day], tax_usd_per_mwh
    dr, fcp, is_ppa = site.demand_response, site.four_cp, plan.is_ppa
    hourly_price = _hourly_price(plan, state, day, days)
    calls = avoid = None
    if dr:
        if day % PROGRAMME_BLOCK_DAYS == 0:
            state.dr_draws = state.dr_streams.uniform((min(PROGRAMME_BLOCK_DAYS, days - day), units.HOURS_PER_DAY))
        calls = site_model.demand_response_calls(dr, state.dr_draws[day % PROGRAMME_BLOCK_DAYS], date.month,
                                                 hourly_price)
    if fcp:
        avoid = site_model.four_cp_avoidance_hours(fcp, date)[:, None]
    ppa = site_model.ppa_price_usd_per_mwh(site.power, day, plan.expiry_day) if is_ppa else None
    hosted_mw = site.hosting.mw if site.hosting is not None and not offline else 0.0
    terms = site_model.ppa_terms(site.power, ppa, hosted_mw) if is_ppa else None
    args = (hashprice_usd_per_ph_day, hourly_price, tax, plan.pool_fee, plan.derate_by_month[date.month], calls,
            avoid, terms)
    run = _dispatch(plan, state, units_state, retired_units, offline, args)
    transmission = state.four_cp.day(date, day == 0, run.energy_hourly_mwh,
                                     lambda n: state.fcp_streams.uniform((n,))) if fcp else None
    bill = site_model.energy_bill(site.power, run.energy_hourly_mwh, hourly_price, tax, ppa, energy_mwh=run.energy_mwh)
    hosting_cost = hosting_revenue = None
    if hosted_mw:
        hosting_cost, hosting_revenue = site_model.hosting_day_usd(site, run.energy_hourly_mwh, hourly_price, tax,
                                                                   ppa, bill)
    capacity = plan.capacity_mw[day]
    opex = site.opex_usd_per_mw_year * capacity / units.DAYS_PER_YEAR
    hosting_share, hpc_share = segments.mw_shares(capacity, hosted_mw, hpc_mw)
    return SiteFlows(
        running_ths=run.running_ths, energy_mwh=run.energy_mwh, power_cost_usd=bill.power_cost_usd,
        power_credit_usd=bill.power_credit_usd, curtailed_mwh=run.curtailed_mwh,
        underclocked_mwh=run.underclocked_mwh, mean_price_usd_per_mwh=hourly_price.sum(axis=0) / len(hourly_price),
        tax_usd_per_mwh=tax,
        demand_response_credit_usd=plan.demand_response_credit_usd,
        transmission_charge_usd=transmission, hosting_power_cost_usd=hosting_cost,
        hosting_revenue_usd=hosting_revenue, site_opex_usd=opex, site_opex_hosting_usd=opex * hosting_share,
        site_opex_hpc_usd=opex * hpc_share, site_mw=(capacity, hosted_mw, hpc_mw),
        expansion_capex_usd=plan.expansion_capex_usd[day])
