"""The SimPy engine: one process per actor, all Monte Carlo paths at once.

The clock is in days. Each actor is a SimPy process that wakes at 00:00 of every day (or of
its dated changes) and calls the pure models of layers 1–4 on arrays whose last axis is the
path (DESIGN.md, "Vectorised discrete events"):

* ``fleet`` energises and retires cohorts on their dates (from 00:00 of the date);
* ``life_cycle`` fails units (binomial per cohort per day) and returns repaired ones;
* ``events`` applies dated events (taxes, outages, shocks, fee spikes) from their date;
* ``market`` draws BTC price closes and fees in blocks of a year per path (or replays history);
* ``network`` sets the day's network hashrate, mines the day's blocks, retargets and halves
  (a ``history`` network replays the day's real blocks and retargets instead);
* one process per ``site`` decides hourly curtailment, tuning, programme calls and stop /
  retire policies, and books production, the energy bill, credits and opex;
* ``hosted`` books the cohorts hosted at third parties;
* ``pool`` turns the FPPS value into PPLNS or solo payouts (luck from found blocks);
* ``fleet_trades`` prices deliveries, units leaving today and the installed fleet at the
  ASIC price index (or the prices given);
* ``company`` (with a ``company`` section) stops distressed paths, hands the day's operating
  flows to the finance ledger and books them;
* one process per debt instrument (interest, amortisation, maturities, conversions,
  covenants, margin calls and liquidations);
* ``hedges`` books hedge premiums and settlements;
* ``close`` runs the treasury policy, funding, distress and valuation, and month ends;
* ``reporting`` folds the day into the kept daily rows (with the signal columns of
  :mod:`simulator.signals`), daily quantiles, monthly flows and per-path totals.

Processes started in that order at t = 0 run in that order every day: SimPy processes
same-time events first-in first-out, and each actor re-arms its timeout in the order it ran.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd
import simpy

from simulator import __version__, metrics, network, network_models, pool, signals, site as site_model, units
from simulator.config import load_scenario
from simulator.config.checks import capacity_mw, library_for
from simulator.config.schema import Scenario
from simulator.errors import InputError
from simulator.config.schema import Valuation
from simulator.finance import segments, structural
from simulator.finance.flows import OperatingFlows
from simulator.hpc import HpcDay, HpcPortfolio
from simulator.finance.ledger import FINANCE_DAILY_COLUMNS, FINANCE_MONTHLY_LINES, Ledger, calendar
from simulator.fleet import Cohorts, FailureState, build_cohorts, fail_and_repair
from simulator.hardware import daily_failure_probability, temperature_derate_fraction
from simulator.market import registry as market_registry
from simulator.market.asic_price import asic_price_usd_per_th
from simulator.results import Results, daily_quantile_frame
from simulator.rng import PathStreams
from simulator.workers import LocalQuantiles, auto_workers, can_fork, run_in_workers

#: Days of random numbers each path draws at a time (bounded memory, chunk-independent).
BLOCK_DAYS = 365
#: Days of hourly power prices (50 draws a day) and of failure draws (2 a cohort a day) drawn at
#: a time: blocks of a few MB per 1,000 paths, drawn into the memory of the previous block
#: (fresh memory is slow to touch; the draws do not depend on the block split).
POWER_BLOCK_DAYS = 30
FAILURE_BLOCK_DAYS = 30

#: Days of daily columns buffered before their kept rows and quantiles are taken.
QUANTILE_BLOCK_DAYS = 32

#: Operating daily columns; HPC and finance columns follow when present, the signals last (DESIGN.md's order).
DAILY_COLUMNS = ("btc_price_usd", "difficulty", "network_hashrate_ehs", "height", "hashprice_usd_per_ph_day",
                 "fleet_hashrate_ehs", "fleet_power_mw", "btc_mined", "curtailed_mwh", "underclocked_mwh")
MONTHLY_LINES = ("btc_mined", "mining_revenue_usd", "power_cost_usd", "power_credit_usd",
                 "demand_response_credit_usd", "transmission_charge_usd", "hosting_revenue_usd",
                 "hosting_power_cost_usd", "hosting_cost_usd", "site_opex_usd", "site_opex_hosting_usd", "site_opex_hpc_usd",
                 "expansion_capex_usd", "purchase_capex_usd",
                 "energy_mwh",
                 "curtailed_mwh", "underclocked_mwh", "repair_cost_usd", "units_failed", "units_retired",
                 "retired_ths",
                 "resale_value_usd", "hpc_revenue_usd", "hpc_power_cost_usd", "hpc_opex_usd", "hpc_capex_usd")


def _price_model(scenario: Scenario):
    """The BTC price model, built through the registry keyed by ``market.btc_price.model``."""
    return market_registry.price_model(scenario)


def _fee_model(scenario: Scenario):
    """The fee model, built through the registry keyed by ``market.fees.model``."""
    return market_registry.fee_model(scenario)


def _power_model(scenario: Scenario, site):
    """A site's hourly market price model, through the registry keyed by ``power.contract`` (None: fixed)."""
    return market_registry.power_model(scenario, site)


def _hashrate_model(scenario: Scenario, library):
    """The network hashrate model, through the registry keyed by ``network.hashrate.model``."""
    return network_models.hashrate_model(scenario, library)


def expected_growth(scenario: Scenario) -> tuple[float, float]:
    """The scenario's expected BTC price drift and network hashrate growth [1/year], for the dcf.

    Each model's registry entry states it: a regime model's drift is the mean of its regimes'
    drifts weighted by mean duration; a model without a drift (csv, history, bootstrap without
    ``drift_annual``) and a network without a growth rate (constant, csv, history, endogenous)
    count as 0.
    """
    return (market_registry.expected_drift_annual(scenario.market.btc_price),
            network_models.expected_growth_annual(scenario.network.hashrate))


def _signal_tracker(scenario: Scenario, library, hashrate_model) -> signals.SignalTracker:
    """The daily signal columns' state; a replay supplies the network hashrate before the start."""
    net = scenario.network
    breakeven, weights = signals.network_cost_mix(library, scenario.start, scenario.horizon_days, net.mix_years,
                                                  net.network_power_usd_per_mwh)
    return signals.SignalTracker(breakeven, weights, scenario.signals.industry_sell_fraction,
                                 hashrate_model.prior_ehs if isinstance(hashrate_model, network.HistoryNetwork)
                                 else None)


@dataclass
class _Day:
    """The flows of the day being simulated, filled by the actors, arrays ``(paths,)``."""

    price_usd: np.ndarray
    fees_btc_per_block: np.ndarray
    network_hashrate_ehs: np.ndarray
    reward_btc_per_hs_day: np.ndarray
    hashprice_usd_per_ph_day: np.ndarray
    btc_mined: np.ndarray
    mining_revenue_usd: np.ndarray
    power_cost_usd: np.ndarray
    power_credit_usd: np.ndarray
    demand_response_credit_usd: np.ndarray
    transmission_charge_usd: np.ndarray
    hosting_revenue_usd: np.ndarray
    hosting_power_cost_usd: np.ndarray
    hosting_cost_usd: np.ndarray
    energy_mwh: np.ndarray
    curtailed_mwh: np.ndarray
    underclocked_mwh: np.ndarray
    repair_cost_usd: np.ndarray
    units_failed: np.ndarray
    units_retired: np.ndarray = None
    retired_ths: np.ndarray = None
    resale_value_usd: np.ndarray = None
    network_blocks: np.ndarray = None
    expected_blocks: np.ndarray = None
    network_revenue_btc: np.ndarray = None
    running_ths: np.ndarray = None
    site_opex_usd: float = 0.0
    site_opex_hosting_usd: float = 0.0
    site_opex_hpc_usd: float = 0.0
    site_mw: tuple = (0.0, 0.0, 0.0)  # all sites' (capacity, hosting, HPC) MW
    expansion_capex_usd: float = 0.0
    retired_units_by_cohort: np.ndarray = None
    delivered_units: np.ndarray = None
    cost_usd_by_cohort: np.ndarray = None
    purchase_capex_by_cohort: np.ndarray = None
    purchase_capex_usd: np.ndarray = 0.0
    fleet_market_value_usd: np.ndarray = None
    installed_ehs: np.ndarray = None
    hpc_revenue_usd: np.ndarray = 0.0
    hpc_power_cost_usd: np.ndarray = 0.0
    hpc_opex_usd: np.ndarray = 0.0
    hpc_capex_usd: np.ndarray = 0.0

    @classmethod
    def start(cls, price_usd, fees_btc_per_block, units_failed, repair_cost_usd) -> "_Day":
        """A new day: market values known, everything else still to be filled."""
        zero = np.zeros_like(price_usd)
        return cls(price_usd=price_usd, fees_btc_per_block=fees_btc_per_block, network_hashrate_ehs=zero,
                   reward_btc_per_hs_day=zero, hashprice_usd_per_ph_day=zero, btc_mined=zero.copy(),
                   mining_revenue_usd=zero.copy(), power_cost_usd=zero.copy(), power_credit_usd=zero.copy(),
                   demand_response_credit_usd=zero.copy(), transmission_charge_usd=zero.copy(),
                   hosting_revenue_usd=zero.copy(), hosting_power_cost_usd=zero.copy(),
                   hosting_cost_usd=zero.copy(),
                   energy_mwh=zero.copy(), curtailed_mwh=zero.copy(), underclocked_mwh=zero.copy(),
                   repair_cost_usd=repair_cost_usd,
                   units_failed=units_failed, running_ths=zero.copy(), units_retired=zero.copy(),
                   retired_ths=zero.copy(), resale_value_usd=zero.copy())


class _Simulation:
    """One SimPy environment simulating ``path_ids`` of a scenario."""

    def __init__(self, scenario: Scenario, seed: int, path_ids: np.ndarray, keep_paths: int, progress,
                 quantiles: LocalQuantiles | None = None):
        self.scenario, self.seed, self.path_ids = scenario, seed, np.asarray(path_ids, dtype=np.int64)
        self.paths = len(self.path_ids)
        self.days = scenario.horizon_days
        self.progress = progress
        self.library = library_for(scenario)
        self.cohorts: Cohorts = build_cohorts(scenario, self.library)
        live = self.cohorts.energised(0)[:, None] * self.cohorts.units[:, None] * np.ones(len(path_ids))
        self.units = FailureState(live.copy(), live.copy(),
                                  np.zeros((scenario.failures.repair_days,) + live.shape))
        self.failed_today = np.zeros(len(path_ids))
        # units leaving today, per cohort and path (cohorts installed before the start and retired on it leave on day 0)
        self.retired_units = ((self.cohorts.end_day == 0) & (self.cohorts.start_day < 0))[:, None] \
            * self.cohorts.units[:, None] * np.ones(len(path_ids))
        self.tax_usd_per_mwh = np.zeros(len(scenario.sites))
        self.offline_until = np.zeros(len(scenario.sites))
        self.price_factor, self.hashrate_shock, self.fee_spike = 1.0, 1.0, (0.0, -1)
        self.keep = self.path_ids < keep_paths
        self.env = simpy.Environment()
        self.streams = {name: PathStreams(seed, name, self.path_ids)
                        for name in ("btc_price", "fees", "network_hashrate", "blocks", "failures", "pool")}
        n = self.paths
        self.dates = pd.date_range(scenario.start, periods=self.days, freq="D")
        months = self.dates.to_period("M")
        self.month_starts = months.unique().to_timestamp()
        self.month_of_day = pd.factorize(months)[0]
        self.monthly = np.zeros((len(self.month_starts), len(MONTHLY_LINES), n))
        self.line_totals = np.zeros((len(MONTHLY_LINES), n))  # per-path totals of the monthly lines
        self.totals = {k: self.line_totals[j] for j, k in enumerate(MONTHLY_LINES)}
        self.totals.update({k: np.zeros(n) for k in ("fleet_ehs_days", "hashprice_usd_per_ph_day_sum")})
        self.totals["days"] = np.full(n, float(self.days))
        net = scenario.network
        epoch_start_s = ((net.epoch_start_time - dt.datetime.combine(scenario.start, dt.time(), dt.timezone.utc))
                         .total_seconds() if net.epoch_start_time else network.default_epoch_start_s(net.initial_height))
        self.chain = network.initial_chain(net.initial_height, net.initial_difficulty, epoch_start_s, n)
        self.hashrate_model = _hashrate_model(scenario, self.library)
        if isinstance(self.hashrate_model, network.HistoryNetwork):  # a replay starts from history's chain
            self.chain = self.hashrate_model.initial_chain(n)
        self.day: _Day | None = None
        self.lost_units = np.zeros(live.shape)  # units failed beyond repair today, per cohort and path
        self.index_price_usd_per_mwh = np.full((len(scenario.sites), n), np.nan)
        self.power_price_usd_per_mwh = np.zeros((len(scenario.sites), n))
        self.hpc = None
        if scenario.hpc:
            dcf_years = scenario.company.valuation.dcf_years if scenario.company else Valuation().dcf_years
            self.hpc = HpcPortfolio(scenario.hpc, scenario.start, [s.name for s in scenario.sites],
                                    [PathStreams(seed, f"hpc:{j}", self.path_ids) for j in range(len(scenario.hpc))],
                                    dcf_years)
        self.hpc_day = HpcDay.zeros(len(scenario.hpc), n)
        self.ledger = None
        if scenario.company is not None:
            drift, growth = expected_growth(scenario)
            self.ledger = Ledger(scenario.company, start=scenario.start, horizon_days=self.days, paths=n,
                                 site_names=[s.name for s in scenario.sites], cohort_start_day=self.cohorts.start_day,
                                 price_drift_annual=drift, network_growth_annual=growth, hpc_projects=scenario.hpc,
                                 price_vol_annual=structural.model_vol_annual(scenario.market.btc_price))
            self.calendar = calendar(self.dates)
        self.daily_columns = daily_columns(scenario)
        self.kept = {c: np.zeros((self.days, int(self.keep.sum()))) for c in self.daily_columns}
        self.quantiles = quantiles if quantiles is not None else \
            LocalQuantiles(self.days, len(self.daily_columns), n, QUANTILE_BLOCK_DAYS)

        for process in (self.fleet, self.life_cycle, self.events, self.market, self.network):
            self.env.process(process())
        for index in range(len(scenario.sites)):
            self.env.process(self.site(index))
        self.env.process(self.hosted())
        if self.hpc is not None:
            self.env.process(self.hpc_projects())
        self.env.process(self.pool())
        self.env.process(self.fleet_trades())
        if self.ledger is not None:
            self.env.process(self.company())
            for book in self.ledger.debt_books:
                self.env.process(self.debt(book))
            self.env.process(self.hedges())
            self.env.process(self.close())
        self.env.process(self.reporting())

    # ------------------------------------------------------------------ actors
    def fleet(self):
        """Energise and retire cohorts from 00:00 of their dates."""
        for day in self.cohorts.change_days():
            if day >= self.days:
                break
            yield self.env.timeout(day - self.env.now)
            arrive = (self.cohorts.energised(day) & ~self.cohorts.energised(day - 1))[:, None]
            leave = (~self.cohorts.energised(day) & self.cohorts.energised(day - 1))[:, None]
            u = self.units
            full = self.cohorts.units[:, None]
            self.retired_units += u.installed * leave  # priced and booked by the reporting actor
            u.working = np.where(arrive, full, np.where(leave, 0.0, u.working))
            u.installed = np.where(arrive, full, np.where(leave, 0.0, u.installed))
            u.repairs = np.where(leave[None], 0.0, u.repairs)

    def life_cycle(self):
        """Failures and repairs of every cohort on every path, daily."""
        cfg = self.scenario.failures
        if not cfg.enabled or len(self.cohorts) == 0:
            return
        q = daily_failure_probability(np.array([self.library[m].failure_rate_annual for m in self.cohorts.models]))
        for day in range(self.days):
            i = day % FAILURE_BLOCK_DAYS
            if i == 0:
                draws = self.streams["failures"].uniform((min(FAILURE_BLOCK_DAYS, self.days - day), 2,
                                                          len(self.cohorts)), reuse=True)
            installed = self.units.installed
            u_fail, u_permanent = np.ascontiguousarray(draws[i, 0]), np.ascontiguousarray(draws[i, 1])  # path-last
            self.units, failed = fail_and_repair(self.units, u_fail, u_permanent, q, cfg.permanent_fraction)
            self.lost_units = installed - self.units.installed
            self.failed_today = failed.sum(axis=0)
            yield self.env.timeout(1)

    def events(self):
        """Dated events, applied from 00:00 of their date (inclusive).

        ``power_tax`` adds USD/MWh to a site's energy price; ``outage`` takes a site offline
        for ``days`` days (no production, no energy drawn, not curtailment); ``price_shock``
        multiplies the BTC price from that day's close on by ``1 + change_pct/100`` (the
        price model continues from the shocked level); ``hashrate_shock`` does the same to
        the network hashrate; ``fee_spike`` sets fees per block for ``days`` days. Every
        event of a date, the start's included, applies before that day's market and sites:
        the actor waits only for a later date (a timeout of 0 would queue it behind them).
        """
        names = [s.name for s in self.scenario.sites]
        dated = sorted(((e.date - self.scenario.start).days, i, e) for i, e in enumerate(self.scenario.events))
        for day, _, event in dated:
            if day > self.env.now:
                yield self.env.timeout(day - self.env.now)
            if event.kind == "power_tax":
                self.tax_usd_per_mwh[names.index(event.site)] += event.usd_per_mwh
            elif event.kind == "outage":
                site = names.index(event.site)
                self.offline_until[site] = max(self.offline_until[site], day + event.days)
            elif event.kind == "price_shock":
                self.price_factor *= 1 + event.change_pct / 100
            elif event.kind == "hashrate_shock":
                self.hashrate_shock *= 1 + event.change_pct / 100
            elif event.kind == "fee_spike":
                self.fee_spike = (event.btc_per_block, day + event.days)

    def market(self):
        """BTC price closes and fees per block, drawn a block of days at a time."""
        price_model, fee_model = _price_model(self.scenario), _fee_model(self.scenario)
        price_state = price_model.start(self.streams["btc_price"])
        fee_state = fee_model.start(self.streams["fees"])
        for day in range(self.days):
            if day % BLOCK_DAYS == 0:
                n = min(BLOCK_DAYS, self.days - day)
                prices, price_state = price_model.block(price_state, day, n, self.streams["btc_price"])
                fees, fee_state = fee_model.block(fee_state, day, n, self.streams["fees"])
                if self.progress is True:
                    print(f"hashfleet: simulating day {day:,} of {self.days:,}", file=sys.stderr)
            i = day % BLOCK_DAYS
            spike_btc, spike_end = self.fee_spike
            fee = np.full(self.paths, spike_btc) if day < spike_end else fees[i]
            self.day = _Day.start(prices[i] * self.price_factor, fee, self.failed_today,
                                  self.failed_today * self.scenario.failures.repair_cost_usd_per_unit)
            yield self.env.timeout(1)

    def network(self):
        """Network hashrate, the day's blocks, retargets and halvings, and hashprice."""
        model = self.hashrate_model
        endogenous = isinstance(model, network.EndogenousHashrate)
        replay = model.replay if isinstance(model, network.HistoryNetwork) else lambda day: {}
        state = model.start(self.paths) if endogenous else model.start(self.streams["network_hashrate"])
        poisson = self.scenario.network.blocks == "poisson"
        shocked = 1.0
        for day in range(self.days):
            i = day % BLOCK_DAYS
            if i == 0:
                n = min(BLOCK_DAYS, self.days - day)
                if not endogenous:
                    hashrate_block, state = model.block(state, day, n, self.streams["network_hashrate"])
                u_blocks = self.streams["blocks"].uniform((n,)) if poisson else None
            if endogenous:  # a shock moves the vintages themselves
                state = replace(state, ehs=state.ehs * self.hashrate_shock)
                self.hashrate_shock, shocked = 1.0, 1.0
                hashrate_ehs, state = model.day(state, day)
            else:
                shocked *= self.hashrate_shock
                self.hashrate_shock = 1.0
                hashrate_ehs = hashrate_block[i] * shocked
            d = self.day
            d.network_hashrate_ehs = hashrate_ehs
            self.chain, blocks = network.advance_day(self.chain, day, hashrate_ehs * units.HS_PER_EHS,
                                                     d.fees_btc_per_block, None if u_blocks is None else u_blocks[i],
                                                     **replay(day))
            d.reward_btc_per_hs_day = blocks.reward_btc_per_hs_day
            d.network_revenue_btc = blocks.miner_revenue_btc
            d.network_blocks, d.expected_blocks = blocks.blocks, blocks.expected_blocks
            d.hashprice_usd_per_ph_day = network.hashprice_usd_per_ph_day(blocks.reward_btc_per_hs_day, d.price_usd)
            if endogenous:
                state = model.record(state, d.hashprice_usd_per_ph_day)
            yield self.env.timeout(1)

    def site(self, index: int):
        """One site: hourly curtailment, production, energy bill, programmes and opex."""
        site, c = self.scenario.sites[index], self.cohorts
        fee, facility = self.scenario.pool.fee, 1 + site.cooling_overhead
        mine = np.flatnonzero(c.site_index == index)
        mine = mine[np.argsort(c.efficiency_jth[mine], kind="stable")]  # most efficient first
        mw_per_unit = c.power_w[mine][:, None] / units.W_PER_MW
        prices = _power_model(self.scenario, site)
        dr, fcp = site.demand_response, site.four_cp
        tuned = bool(c.dynamic[mine].any()) or site.ambient_c is not None or site.ambient_hourly_c is not None
        spec = site_model.SiteCohorts(c.efficiency_jth[mine], c.hashrate_ths[mine][:, None], mw_per_unit,
                                      c.k_under[mine], c.k_over[mine], c.min_fraction[mine], c.max_fraction[mine],
                                      c.dynamic[mine], tuned)
        if prices is None:  # every hour alike: one row will do unless hours are treated differently
            same_hours = site.curtailment.policy in ("none", "economic") and not (dr or fcp or tuned)
            hourly_price = np.full((1 if same_hours else units.HOURS_PER_DAY, self.paths),
                                   site.power.price_usd_per_mwh)
        else:
            price_streams = PathStreams(self.seed, f"power:{index}", self.path_ids)
            common = PathStreams(self.seed, "power_common", self.path_ids)  # identical at every site
            price_state = prices.start(price_streams)
        derate_by_month = {m: self._derate(site, mine, m) for m in range(1, 13)}
        is_ppa = site.power.contract == "ppa"
        expiry_day = (site.power.expiry - self.scenario.start).days if is_ppa and site.power.expiry else np.inf
        dr_streams = PathStreams(self.seed, f"demand_response:{index}", self.path_ids) if dr else None
        if fcp:
            fcp_streams = PathStreams(self.seed, f"four_cp:{index}", self.path_ids)
            prior_mw = fcp.prior_4cp_mw if fcp.prior_4cp_mw is not None else \
                (mw_per_unit * self.units.working[mine]).sum(axis=0) * facility
            four_cp = site_model.FourCpCharges(fcp, prior_mw, self.paths)
        capacity = np.array([capacity_mw(site, date.date()) for date in self.dates])
        policies = self.scenario.policies
        losing_days = np.zeros((len(mine), self.paths))
        stopped = np.zeros((len(mine), self.paths), dtype=bool)
        capex = site_model.expansion_capex_usd_per_day(site.expansions, self.scenario.start, self.days)
        dates = list(self.dates)  # Timestamps, once (indexing the DatetimeIndex daily is slow)
        for day in range(self.days):
            date, d, tax = dates[day], self.day, self.tax_usd_per_mwh[index]
            if prices is not None:
                if day % POWER_BLOCK_DAYS == 0:
                    block, price_state = prices.block(price_state, day, min(POWER_BLOCK_DAYS, self.days - day),
                                                      price_streams, common, out=block if day else None)
                hourly_price = block[day % POWER_BLOCK_DAYS]
            mean_price = hourly_price.mean(axis=0)
            if prices is not None:
                self.index_price_usd_per_mwh[index] = mean_price
            calls = avoid = None
            if dr:
                if day % BLOCK_DAYS == 0:
                    dr_draws = dr_streams.uniform((min(BLOCK_DAYS, self.days - day), units.HOURS_PER_DAY))
                calls = site_model.demand_response_calls(dr, dr_draws[day % BLOCK_DAYS], date.month, hourly_price)
                d.demand_response_credit_usd += site_model.demand_response_credit_usd_per_day(dr)
            if fcp:
                avoid = site_model.four_cp_avoidance_hours(fcp, date)[:, None]
            ppa = site_model.ppa_price_usd_per_mwh(site.power, day, expiry_day) if is_ppa else None
            offline = day < self.offline_until[index]
            hosted_mw = site.hosting.mw if site.hosting is not None and not offline else 0.0
            terms = site_model.ppa_terms(site.power, ppa, hosted_mw) if is_ppa else None
            working = self.units.working[mine] * (not offline)
            args = (d.hashprice_usd_per_ph_day, hourly_price, tax, fee, derate_by_month[date.month], calls, avoid,
                    terms)
            if policies.stop or policies.retire:  # on each cohort's own margin after the hourly dispatch
                run = site_model.dispatch_site(spec, site, working, *args, margins=True)
                losing_days, stopped, retire = site_model.policy_step(run, working > 0, losing_days, stopped, policies)
                if retire.any():
                    self._retire(mine, retire)
                    working = self.units.working[mine] * (not offline)
                if stopped.any() or retire.any():
                    run = site_model.dispatch_site(spec, site, working * ~stopped, *args)
            else:
                run = site_model.dispatch_site(spec, site, working, *args)
            if fcp:
                d.transmission_charge_usd += four_cp.day(date, day == 0, run.energy_hourly_mwh,
                                                         lambda n: fcp_streams.uniform((n,)))
            self.power_price_usd_per_mwh[index] = mean_price + tax
            bill = site_model.energy_bill(site.power, run.energy_hourly_mwh, hourly_price, tax, ppa,
                                          energy_mwh=run.energy_mwh)
            if hosted_mw:
                cost, revenue = site_model.hosting_day_usd(site, run.energy_hourly_mwh, hourly_price, tax, ppa, bill)
                d.hosting_power_cost_usd += cost
                d.hosting_revenue_usd += revenue
            btc = run.running_ths * units.HS_PER_THS * d.reward_btc_per_hs_day * (1 - fee)
            d.btc_mined += btc
            d.running_ths += run.running_ths
            d.mining_revenue_usd += btc * d.price_usd
            d.energy_mwh += run.energy_mwh
            d.power_cost_usd += bill.power_cost_usd
            d.power_credit_usd += bill.power_credit_usd
            d.curtailed_mwh += run.curtailed_mwh
            d.underclocked_mwh += run.underclocked_mwh
            opex = site.opex_usd_per_mw_year * capacity[day] / units.DAYS_PER_YEAR
            hosting_mw = site.hosting.mw if site.hosting is not None and day >= self.offline_until[index] else 0.0
            hpc_mw = self.hpc.reserved_mw_at(index, day) if self.hpc is not None else 0.0
            hosting_share, hpc_share = segments.mw_shares(capacity[day], hosting_mw, hpc_mw)
            d.site_opex_usd += opex
            d.site_opex_hosting_usd += opex * hosting_share
            d.site_opex_hpc_usd += opex * hpc_share
            d.site_mw = tuple(a + b for a, b in zip(d.site_mw, (capacity[day], hosting_mw, hpc_mw)))
            d.expansion_capex_usd += capex[day]
            yield self.env.timeout(1)

    def hosted(self):
        """Cohorts hosted at third parties: they run every hour and pay the all-in price per kWh."""
        c = self.cohorts
        mine = np.flatnonzero(c.site_index < 0)
        if not len(mine):
            return
        ths_per_unit, mw_per_unit = c.hashrate_ths[mine][:, None], c.power_w[mine][:, None] / units.W_PER_MW
        usd_per_mwh = c.hosting_usd_per_kwh[mine][:, None] * units.KW_PER_MW
        fee = self.scenario.pool.fee
        for _ in range(self.days):
            d, working = self.day, self.units.working[mine]
            energy_mwh = mw_per_unit * working * units.HOURS_PER_DAY
            btc = (ths_per_unit * working).sum(axis=0) * units.HS_PER_THS * d.reward_btc_per_hs_day * (1 - fee)
            d.btc_mined += btc
            d.running_ths += (ths_per_unit * working).sum(axis=0)
            d.mining_revenue_usd += btc * d.price_usd
            d.energy_mwh += energy_mwh.sum(axis=0)
            d.hosting_cost_usd += (energy_mwh * usd_per_mwh).sum(axis=0)
            yield self.env.timeout(1)

    def hpc_projects(self):
        """AI/HPC projects: construction capex, completion, lease or GPU revenue, their power and opex."""
        for day in range(self.days):
            d = self.day
            self.hpc_day = h = self.hpc.day(day, self.power_price_usd_per_mwh)
            d.hpc_revenue_usd, d.hpc_power_cost_usd = h.revenue_usd.sum(axis=0), h.power_cost_usd.sum(axis=0)
            d.hpc_opex_usd = h.opex_usd.sum(axis=0)
            d.hpc_capex_usd = (h.building_capex_usd + h.gpu_capex_usd).sum(axis=0)
            yield self.env.timeout(1)

    def _retire(self, mine: np.ndarray, now: np.ndarray) -> None:
        """Retire cohorts ``mine[now]`` on the paths where ``now`` holds: all their units leave."""
        u = self.units
        leaving = np.where(now, u.installed[mine], 0.0)
        self.retired_units[mine] += leaving
        u.installed[mine] -= leaving
        u.working[mine] = np.where(now, 0.0, u.working[mine])
        u.repairs[:, mine] = np.where(now[None], 0.0, u.repairs[:, mine])

    def _derate(self, site, mine: np.ndarray, month: int) -> np.ndarray:
        """Hashrate multiplier ``(cohorts, 24)`` of a site's cohorts in ``month`` from its ambient profile."""
        ambient = site_model.ambient_c(site, month)
        if ambient is None:
            return np.ones((len(mine), units.HOURS_PER_DAY))
        c = self.cohorts
        return temperature_derate_fraction(ambient[None, :], c.inlet_limit_c[mine][:, None], c.shutdown_c[mine][:, None])

    def pool(self):
        """PPLNS and solo: scale the day's FPPS value by the luck of the blocks that pay."""
        cfg = self.scenario.pool
        if cfg.payout == "fpps":
            return
        poisson = self.scenario.network.blocks == "poisson"
        for day in range(self.days):
            i = day % BLOCK_DAYS
            if i == 0 and poisson:
                draws = self.streams["pool"].uniform((min(BLOCK_DAYS, self.days - day),))
            d = self.day
            network_ths = d.network_hashrate_ehs * units.THS_PER_EHS
            if cfg.payout == "pplns":
                share = np.maximum(cfg.hashrate_ehs * units.THS_PER_EHS, d.running_ths) / network_ths
            else:
                share = d.running_ths / network_ths
            luck = pool.luck_factor(draws[i] if poisson else None, d.network_blocks, d.expected_blocks, share)
            d.btc_mined *= luck
            d.mining_revenue_usd *= luck
            yield self.env.timeout(1)

    def fleet_trades(self):
        """Price the day's machine trades and the installed fleet at the ASIC price index of the day.

        Deliveries cost their ``price_usd_per_th`` (or launch price), else the index; units
        leaving (policies, ``retired`` dates) are resold at their ``resale_usd_per_th`` or the index.
        """
        c = self.cohorts
        full = c.units[:, None] * np.ones(self.paths)
        none = np.zeros(full.shape)  # nothing arriving (read only)
        none.setflags(write=False)
        for day in range(self.days):
            d = self.day
            index_usd_per_th = self._asic_usd_per_th(d)
            arriving = ((c.start_day == day) & ((day > 0) | c.purchase))[:, None]
            if day == 0 or arriving.any():  # the opening balance sheet and deliveries need the cost
                d.delivered_units = full * arriving
                d.cost_usd_by_cohort = np.where(np.isnan(c.capex_usd)[:, None],
                                                full * c.hashrate_ths[:, None] * index_usd_per_th, c.capex_usd[:, None])
                d.purchase_capex_by_cohort = d.cost_usd_by_cohort * arriving
            else:
                d.delivered_units = d.purchase_capex_by_cohort = none
            d.purchase_capex_usd = d.purchase_capex_by_cohort.sum(axis=0)
            d.retired_units_by_cohort = self.retired_units
            if self.retired_units.any():
                retired_ths = self.retired_units * c.hashrate_ths[:, None]
                resale = np.where(np.isnan(c.resale_usd_per_th)[:, None], index_usd_per_th,
                                  c.resale_usd_per_th[:, None])
                d.units_retired = self.retired_units.sum(axis=0)
                d.retired_ths = retired_ths.sum(axis=0)
                d.resale_value_usd = (retired_ths * resale).sum(axis=0)
                self.retired_units = np.zeros_like(self.retired_units)
            installed_ths = self.units.installed * c.hashrate_ths[:, None]
            d.fleet_market_value_usd = (installed_ths * index_usd_per_th).sum(axis=0)
            d.installed_ehs = installed_ths.sum(axis=0) / units.THS_PER_EHS
            yield self.env.timeout(1)

    def _asic_usd_per_th(self, d: _Day) -> np.ndarray:
        """ASIC price index of every cohort on every path at the day's hashprice ``(cohorts, paths)``."""
        return asic_price_usd_per_th(d.hashprice_usd_per_ph_day[None, :], self.cohorts.efficiency_jth[:, None])

    def company(self):
        """Stop distressed paths, hand the day's operating flows to the ledger and book them."""
        c, ledger = self.cohorts, self.ledger
        full = c.units[:, None] * np.ones(self.paths)
        for day in range(self.days):
            d = self.day
            if not ledger.alive.all():  # a company in distress has stopped: nothing runs or is spent
                for line in MONTHLY_LINES:
                    setattr(d, line, getattr(d, line) * ledger.alive)
                d.running_ths = d.running_ths * ledger.alive
            flows = OperatingFlows(
                price_usd=d.price_usd, hashprice_usd_per_ph_day=d.hashprice_usd_per_ph_day, btc_mined=d.btc_mined,
                mining_revenue_usd=d.mining_revenue_usd, hosting_revenue_usd=d.hosting_revenue_usd,
                power_cost_usd=d.power_cost_usd, power_credit_usd=d.power_credit_usd,
                demand_response_credit_usd=d.demand_response_credit_usd,
                transmission_charge_usd=d.transmission_charge_usd, hosting_power_cost_usd=d.hosting_power_cost_usd,
                hosting_cost_usd=d.hosting_cost_usd, site_opex_usd=np.broadcast_to(d.site_opex_usd, (self.paths,)),
                repair_cost_usd=d.repair_cost_usd,
                expansion_capex_usd=np.broadcast_to(d.expansion_capex_usd, (self.paths,)),
                delivered_units=d.delivered_units, purchase_capex_usd=d.purchase_capex_by_cohort,
                retired_units=d.retired_units_by_cohort, lost_units=self.lost_units,
                resale_value_usd=d.resale_value_usd, fleet_market_value_usd=d.fleet_market_value_usd,
                installed_ehs=d.installed_ehs,
                index_price_usd_per_mwh=self.index_price_usd_per_mwh,
                hpc_revenue_usd=self.hpc_day.revenue_usd, hpc_prepayment_usd=self.hpc_day.prepayment_usd,
                hpc_lease_ended=self.hpc_day.lease_ended,
                hpc_power_cost_usd=np.broadcast_to(d.hpc_power_cost_usd, (self.paths,)),
                hpc_opex_usd=np.broadcast_to(d.hpc_opex_usd, (self.paths,)),
                hpc_building_capex_usd=self.hpc_day.building_capex_usd, hpc_gpu_capex_usd=self.hpc_day.gpu_capex_usd,
                hpc_completed=self.hpc_day.completed, hpc_net_annual_usd=self.hpc_day.net_annual_usd,
                hpc_remaining_years=self.hpc_day.remaining_years, hpc_rate_factor=self.hpc_day.rate_factor,
                hpc_power_price_usd_per_mwh=self.hpc_day.power_price_usd_per_mwh,
                site_opex_hosting_usd=np.broadcast_to(d.site_opex_hosting_usd, (self.paths,)),
                site_opex_hpc_usd=np.broadcast_to(d.site_opex_hpc_usd, (self.paths,)),
                site_mw_hosting_share=np.broadcast_to(segments.mw_shares(*d.site_mw)[0], (self.paths,)),
                site_mw_hpc_share=np.broadcast_to(segments.mw_shares(*d.site_mw)[1], (self.paths,)),
                height=self.chain.height,
                fees_btc_per_block=d.fees_btc_per_block)
            if day == 0:  # cohorts installed before the start, those leaving on day 0 included
                opening = ((c.start_day <= 0) & (c.end_day >= 0) & ~((c.start_day == 0) & c.purchase))[:, None]
                ledger.open(flows, full * opening, d.cost_usd_by_cohort * opening)
            ledger.book_operations(flows, day)
            yield self.env.timeout(1)

    def debt(self, book):
        """One debt instrument: its interest, payments, maturity and collateral events, daily."""
        for day in range(self.days):
            book.day(self.ledger, self.calendar[day])
            yield self.env.timeout(1)

    def hedges(self):
        """Hedge premiums and settlements."""
        for day in range(self.days):
            self.ledger.book_hedges(self.calendar[day])
            yield self.env.timeout(1)

    def close(self):
        """The company's close: treasury policy, funding, distress, valuation and month ends."""
        for day in range(self.days):
            self.ledger.close_day(self.calendar[day])
            yield self.env.timeout(1)

    def reporting(self):
        """Fold each finished day into kept rows, quantiles, monthly flows and totals.

        The day's columns go into a buffer of :data:`QUANTILE_BLOCK_DAYS` days; the kept rows
        and the daily quantiles (:func:`simulator.results.exact_percentiles`, numpy's
        percentiles; across the worker processes of a run, :mod:`simulator.workers`) are taken
        from it a block at a time.
        """
        tracker = _signal_tracker(self.scenario, self.library, self.hashrate_model)
        columns_of_day = self.quantiles.buffer
        kept = np.flatnonzero(self.keep)
        lines = np.empty((len(MONTHLY_LINES), self.paths))
        t = self.totals
        for day in range(self.days):
            d = self.day
            fleet_ehs = d.installed_ehs  # energised nameplate EH/s at the end of the day (fleet_trades)
            columns = {
                "btc_price_usd": d.price_usd, "difficulty": self.chain.difficulty,
                "network_hashrate_ehs": d.network_hashrate_ehs, "height": self.chain.height,
                "hashprice_usd_per_ph_day": d.hashprice_usd_per_ph_day,
                "fleet_hashrate_ehs": fleet_ehs,
                "fleet_power_mw": d.energy_mwh / units.HOURS_PER_DAY, "btc_mined": d.btc_mined,
                "curtailed_mwh": d.curtailed_mwh, "underclocked_mwh": d.underclocked_mwh,
                **tracker.day(day, d.network_hashrate_ehs, d.hashprice_usd_per_ph_day, d.network_revenue_btc,
                              d.price_usd),
            }
            if self.hpc is not None:
                columns["hpc_power_mw"] = self.hpc.reserved_mw_on(day)
            if self.ledger is not None:
                columns.update(self.ledger.daily_columns())
            row = day % QUANTILE_BLOCK_DAYS
            for j, c in enumerate(self.daily_columns):
                columns_of_day[row, j] = columns[c]
            if row == QUANTILE_BLOCK_DAYS - 1 or day == self.days - 1:
                first, block = day - row, columns_of_day[:row + 1]
                for j, c in enumerate(self.daily_columns):
                    self.kept[c][first:day + 1] = block[:, j, kept]
                self.quantiles.finish(first, row + 1)
            for j, k in enumerate(MONTHLY_LINES):
                lines[j] = getattr(d, k)
            self.monthly[self.month_of_day[day]] += lines
            self.line_totals += lines
            t["fleet_ehs_days"] += fleet_ehs
            t["end_fleet_value_usd"] = d.fleet_market_value_usd
            t["hashprice_usd_per_ph_day_sum"] += d.hashprice_usd_per_ph_day
            if callable(self.progress):
                self.progress((day + 1) * self.paths, self.days * self.paths)
            yield self.env.timeout(1)

    # ------------------------------------------------------------------ results
    def run(self) -> dict:
        """Simulate; the per-path results (``metrics``, kept ``daily`` rows, ``monthly``)."""
        self.env.run(until=self.days)
        kept_ids = self.path_ids[self.keep]
        daily = pd.DataFrame({
            "path": np.tile(kept_ids, self.days),
            "date": np.repeat(self.dates.date, len(kept_ids)),
            **{c: self.kept[c].reshape(-1) for c in self.daily_columns},
        }).sort_values(["path", "date"], kind="stable").reset_index(drop=True)
        lines = {line: self.monthly[:, j, :] for j, line in enumerate(MONTHLY_LINES)}
        totals = dict(self.totals)
        if self.ledger is not None:
            finance = self.ledger.monthly_arrays()
            lines.update({line: finance[line] for line in FINANCE_MONTHLY_LINES})
            totals.update(self.ledger.per_path_totals())
        monthly = pd.DataFrame({
            "path": np.tile(self.path_ids, len(self.month_starts)),
            "month": np.repeat(self.month_starts.date, self.paths),
            **{line: values.reshape(-1) for line, values in lines.items()},
        }).sort_values(["path", "month"], kind="stable").reset_index(drop=True)
        return {"metrics": metrics.per_path(totals), "ratio_parts": metrics.ratio_parts(totals), "daily": daily,
                "monthly": monthly}


def daily_columns(scenario: Scenario) -> tuple[str, ...]:
    """The daily columns of a run: operations, then HPC and finance where present, the signals last."""
    return DAILY_COLUMNS + (("hpc_power_mw",) if scenario.hpc else ()) \
        + (FINANCE_DAILY_COLUMNS if scenario.company is not None else ()) + signals.SIGNAL_COLUMNS


def _join_chunks(parts: list[dict]) -> dict:
    """The per-path results of contiguous chunks (in path order) as one run's: metrics and tables concatenated."""
    def table(name):
        return pd.concat([p[name] for p in parts if len(p[name])] or [parts[0][name]], ignore_index=True)

    return {"metrics": {k: np.concatenate([p["metrics"][k] for p in parts]) for k in parts[0]["metrics"]},
            "ratio_parts": {k: tuple(np.concatenate([p["ratio_parts"][k][i] for p in parts]) for i in (0, 1))
                            for k in parts[0]["ratio_parts"]},
            "daily": table("daily"), "monthly": table("monthly")}


#: Resident memory of the interpreter, libraries and a small run [bytes] (measured: ~140 MB).
BASE_MEMORY_BYTES = 200 * 2**20


def estimate_memory_bytes(scenario: Scenario, paths: int, keep_paths: int) -> int:
    """A conservative estimate of a run's peak memory [bytes] (about 1.5× the measured peak).

    Per path: the monthly lines (three copies while the tables are built), each cohort's
    block of failure draws and repair queue, each site's block of hourly prices (with
    temporaries) and the ledger's trailing windows; plus the kept daily rows and the daily
    quantiles (peak RSS measured 171 / 263 / 490 MB at 200 / 1,000 / 3,000 paths of the
    contract example).
    """
    months = scenario.horizon_days // 28 + 2
    cohorts = len(scenario.fleet) + len(scenario.purchases)
    lines = len(MONTHLY_LINES) + (len(FINANCE_MONTHLY_LINES) if scenario.company is not None else 0)
    per_path = (months * lines * 3 + cohorts * (2 * BLOCK_DAYS + scenario.failures.repair_days + 20)
                + len(scenario.sites) * POWER_BLOCK_DAYS * units.HOURS_PER_DAY * 4 + 8 * units.DAYS_PER_YEAR + 4000)
    columns = len(DAILY_COLUMNS) + 20
    daily = scenario.horizon_days * columns * (3 * min(keep_paths, paths) + 3)
    return BASE_MEMORY_BYTES + 8 * (paths * per_path + daily)


def total_memory_bytes() -> int | None:
    """The machine's physical memory [bytes] (Linux ``MemTotal``), or None if unknown.

    Total, not available, memory: what other processes hold at the moment changes from one
    second to the next, and the same run must get the same answer on a busy machine.
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_power_models(scenario: Scenario) -> None:
    """Build every site's hourly price model before the run, so that an unreadable power profile
    or index parameters the all-in mean cannot hold are bad input (InputError: exit 2)."""
    source = scenario.provenance.file if scenario.provenance else scenario.name
    for i, site in enumerate(scenario.sites):
        try:
            _power_model(scenario, site)
        except InputError:
            raise
        except ValueError as exc:
            raise InputError(source, 1, 1, f"sites[{i}].power: {exc}") from None


def check_memory(scenario: Scenario, paths: int, keep_paths: int, max_memory_bytes: int | None = None) -> None:
    """Refuse, before anything runs, a run whose estimate exceeds ``max_memory_bytes`` (``--max-memory``)
    or, without it, the machine's total memory (InputError: exit 2). The answer depends only on
    the run and the machine (or the limit given), not on how busy the machine is."""
    need = estimate_memory_bytes(scenario, paths, keep_paths)
    limit = max_memory_bytes if max_memory_bytes is not None else total_memory_bytes()
    what = "--max-memory allows" if max_memory_bytes is not None else "the machine has"
    if limit is not None and need > limit:
        per_path = (need - BASE_MEMORY_BYTES) / max(paths, 1)
        fit = max(int((limit - BASE_MEMORY_BYTES) / per_path), 0)
        source = scenario.provenance.file if scenario.provenance else scenario.name
        raise InputError(source, 1, 1, f"this run needs about {need / 2**30:,.1f} GB but {what} "
                                       f"{limit / 2**30:,.1f} GB; use fewer --paths (about {fit:,} fit), a shorter "
                                       f"horizon_days or fewer --keep-paths, or split the paths over several runs")


def simulate(scenario: Scenario, *, paths: int | None = None, seed: int | None = None, keep_paths: int = 20,
             progress: bool | Callable[[int, int], None] = False, path_ids=None, workers: int | None = None,
             max_memory_bytes: int | None = None) -> Results:
    """Simulate a validated scenario on all its Monte Carlo paths at once.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario (:func:`simulator.config.load_scenario`).
    paths, seed : int, optional
        Override the scenario's path count and seed.
    keep_paths : int
        Daily rows are kept for paths ``0 … keep_paths − 1``.
    progress : bool or callable
        A callable is called with ``(done, total)`` in path-days (paths × days;
        :class:`simulator.progress.ProgressBar` draws them) after every simulated day, or a
        few times a second when several workers run; ``True`` prints a line per simulated
        year on stderr.
    path_ids : array of int, optional
        Simulate only these absolute path ids (a chunk); path ``i`` depends only on
        ``(seed, i)``, so chunks reproduce the same per-path results.
    workers : int, optional
        Processes sharing the paths (:mod:`simulator.workers`); ``None`` picks one per CPU
        for runs of a few hundred paths or more (:func:`simulator.workers.auto_workers`).
        Where workers cannot be forked (:func:`simulator.workers.can_fork`) the run stays in
        one process. The results are the same, bit for bit, whatever the number.
    max_memory_bytes : int, optional
        Refuse the run if its memory estimate exceeds this [bytes] (default: the machine's
        total memory; :func:`check_memory`).
    """
    seed = scenario.seed if seed is None else int(seed)
    paths = scenario.paths if paths is None else int(paths)
    ids = np.arange(paths) if path_ids is None else np.asarray(path_ids, dtype=np.int64)
    check_memory(scenario, len(ids), keep_paths, max_memory_bytes)
    check_power_models(scenario)
    if workers is None:
        workers = auto_workers(len(ids))
    workers = max(1, min(int(workers), len(ids))) if can_fork() else 1
    columns = daily_columns(scenario)
    if workers == 1:
        sim = _Simulation(scenario, seed, ids, keep_paths, progress)
        out, quantiles = sim.run(), sim.quantiles.out
    else:
        def run_chunk(chunk, chunk_quantiles, chunk_progress):
            yearly_lines = progress is True and chunk[0] == ids[0]  # printed by the first worker alone
            return _Simulation(scenario, seed, chunk, keep_paths, True if yearly_lines else chunk_progress,
                               chunk_quantiles).run()
        parts, quantiles = run_in_workers(run_chunk, ids, workers, scenario.horizon_days, len(columns),
                                          QUANTILE_BLOCK_DAYS, progress if callable(progress) else None)
        out = _join_chunks(parts)
    dates = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D")
    daily_quantiles = daily_quantile_frame(dates.date, {c: quantiles[:, j, :] for j, c in enumerate(columns)})
    prov = scenario.provenance
    meta = {"scenario": scenario.name, "scenario_sha256": prov.sha256 if prov else None,
            "overrides": list(prov.overrides) if prov else [], "paths": int(len(ids)), "seed": seed,
            "version": __version__}
    return Results(meta=meta, path_metrics=out["metrics"], ratio_parts=out["ratio_parts"], daily=out["daily"],
                   daily_quantiles=daily_quantiles, monthly=out["monthly"])


def run(src, *, paths: int | None = None, seed: int | None = None, keep_paths: int = 20,
        overrides=()) -> Results:
    """Load (if given a path) and simulate a scenario: the notebook entry point.

    Examples
    --------
    >>> import simulator
    >>> res = simulator.run("scenarios/halving_crossing.yaml", paths=2, overrides=["horizon_days=3"])
    >>> sorted(res.summary["metrics"])[:3]
    ['btc_mined', 'btc_per_ehs_day', 'curtailed_mwh']
    """
    scenario = src if isinstance(src, Scenario) else load_scenario(str(src), overrides)
    return simulate(scenario, paths=paths, seed=seed, keep_paths=keep_paths)
