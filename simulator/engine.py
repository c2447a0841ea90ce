"""The SimPy engine: one process per actor, all Monte Carlo paths at once.

The clock is in days. Each actor is a SimPy process that calls the pure models of layers 1–4
on arrays whose last axis is the path (DESIGN.md, "Vectorised discrete events"). The operating
actors wake at the start of each block of up to 30 days (:mod:`simulator.block`: blocks end
at the random draws' grids, cohort changes and event dates) and advance the whole block; the
finance and reporting actors wake at 00:00 of every day and read that day of the block:

* ``fleet`` energises and retires cohorts on their dates (from 00:00 of the date);
* ``life_cycle`` opens the block and fails units (binomial per cohort per day) and returns
  repaired ones, day by day within it;
* ``events`` applies dated events (taxes, outages, shocks, fee spikes) from their date;
* ``market`` draws BTC price closes and fees in blocks of a year per path (or replays history);
* ``network`` sets each day's network hashrate, mines its blocks, retargets and halves
  (a ``history`` network replays the day's real blocks and retargets instead);
* one process per ``site`` decides hourly curtailment, tuning, programme calls and stop /
  retire policies, and books production, the energy bill, credits and opex;
* ``hosted`` books the cohorts hosted at third parties;
* ``pool`` turns the FPPS value into PPLNS or solo payouts (luck from found blocks);
* ``fleet_trades`` prices deliveries, units leaving and the installed fleet at the ASIC price
  index (or the prices given);
* ``company`` (with a ``company`` section) stops distressed paths, hands the day's operating
  flows to the finance ledger and books them;
* one process per debt instrument (interest, amortisation, maturities, conversions,
  covenants, margin calls and liquidations);
* ``hedges`` books hedge premiums and settlements;
* ``close`` runs the treasury policy, funding, distress and valuation, and month ends;
* ``reporting`` takes the operating block's days, a run at a time, and each day's trades (read from the
  block's: no day record is made) and finance columns into a block of days that :mod:`simulator.reporting`
  turns, a block at a time, into the kept daily rows (with the signal columns of :mod:`simulator.signals`),
  daily quantiles, monthly flows and per-path totals.

The market actor opens the block's :class:`simulator.day_record.DayRecord` (arrays with the
day first); the operating actors add to it, the company hands each day of it to finance and
reporting folds it in (:mod:`simulator.site_day` sequences a site's days, :mod:`simulator.events`
holds the events applied so far). Processes started in that order at t = 0 run in that order:
SimPy processes same-time events first-in first-out, and each actor re-arms its timeout in the
order it ran — an operating actor's timeout for the next block is armed at the block's start,
before the daily actors' timeout for that day, so the block is advanced before its first day is
booked. The daily actors share one SimPy process (``daily``): each day it gives each of them one
turn, in the order above, and waits a day (one event a day, not one an actor).
"""
from __future__ import annotations

import functools
import os
import sys
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
import simpy

from simulator import __version__, fleet, metrics, network, network_models, pool, shared_network, signals, site_day, units
from simulator.config import load_scenario
from simulator.config.checks import library_for, network_scale_problem
from simulator.block import OPS_BLOCK_DAYS, YEAR_DRAW_DAYS, Blocks, OpsBlock, block_bounds
from simulator.columns import as_columns, from_columns
from simulator.config.schema import Scenario
from simulator.errors import InputError
from simulator.events import EventState
from simulator.config.schema import Valuation
from simulator.day_record import MONTHLY_LINES, DayRecord, hpc_fields
from simulator.finance import structural
from simulator.hpc import HpcDay, HpcPortfolio
from simulator.lazy_kernel import LazyKernel
from simulator.finance.ledger import FINANCE_DAILY_COLUMNS, FINANCE_MONTHLY_LINES, Ledger, calendar
from simulator.fleet import Cohorts, build_cohorts
from simulator.hardware import daily_failure_probability
from simulator.market import registry as market_registry
from simulator.market.asic_price import asic_price_usd_per_th, chain_halving_adjusted_hashprice, chain_index_rows
from simulator.reporting import Reporter, SharedTables, block_frame, by_path_then_time, path_major_frame
from simulator.results import Results, daily_quantile_frame
from simulator.rng import PathStreams
from simulator.site_day import POWER_BLOCK_DAYS
from simulator.workers import LocalQuantiles, auto_workers, can_fork, chunk_workers, run_in_workers

#: Days of failure draws (2 a cohort a day) reserved at a time (:class:`simulator.fleet.FailureDraws`: the compiled
#: days draw their own, a numpy day the block's; the draws do not depend on the block split).
FAILURE_BLOCK_DAYS = OPS_BLOCK_DAYS  # a block never straddles a draw

#: Days of daily columns buffered before their kept rows and quantiles are taken.
QUANTILE_BLOCK_DAYS = 32

#: Operating daily columns; HPC and finance columns follow when present, the signals last (DESIGN.md's order).
DAILY_COLUMNS = ("btc_price_usd", "difficulty", "network_hashrate_ehs", "height", "hashprice_usd_per_ph_day",
                 "fleet_hashrate_ehs", "fleet_power_mw", "btc_mined", "curtailed_mwh", "underclocked_mwh")
#: The operating columns the reporting takes from the operating block a run of days at a time
#: (:func:`block_columns`); the energised fleet comes with each day (:meth:`simulator.block.OpsBlock.energised_ehs`).
BLOCK_COLUMNS = tuple(c for c in DAILY_COLUMNS if c != "fleet_hashrate_ehs")
#: The operating column that exists day by day (:func:`day_columns`).
DAY_COLUMNS = ("fleet_hashrate_ehs",)


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


def _hpc_portfolio(scenario: Scenario, seed: int, path_ids: np.ndarray) -> HpcPortfolio | None:
    """The scenario's AI/HPC projects, each with its own random streams (None without projects)."""
    if not scenario.hpc:
        return None
    dcf_years = scenario.company.valuation.dcf_years if scenario.company else Valuation().dcf_years
    return HpcPortfolio(scenario.hpc, scenario.start, [s.name for s in scenario.sites],
                        [PathStreams(seed, f"hpc:{j}", path_ids) for j in range(len(scenario.hpc))], dcf_years)


def _ledger(scenario: Scenario, cohorts: Cohorts, paths: int) -> Ledger | None:
    """The company's finance ledger (None without a ``company`` section)."""
    if scenario.company is None:
        return None
    drift, growth = expected_growth(scenario)
    vol = market_registry.model_vol_annual(scenario.market.btc_price)  # None: the model states none
    return Ledger(scenario.company, start=scenario.start, horizon_days=scenario.horizon_days, paths=paths,
                  site_names=[s.name for s in scenario.sites], cohort_start_day=cohorts.start_day,
                  price_drift_annual=drift, network_growth_annual=growth, hpc_projects=scenario.hpc,
                  price_vol_annual=structural.DEFAULT_BTC_VOL_ANNUAL if vol is None else vol)


class _Simulation:
    """One SimPy environment simulating ``path_ids`` of a scenario: its state, then its actors in order."""

    def __init__(self, scenario: Scenario, seed: int, path_ids: np.ndarray, keep_paths: int, progress,
                 quantiles: LocalQuantiles | None = None, daily_quantiles: bool | tuple[str, ...] = True,
                 tables: SharedTables | None = None, lo: int = 0):
        self.scenario, self.seed, self.path_ids = scenario, seed, np.asarray(path_ids, dtype=np.int64)
        self.paths = n = len(self.path_ids)
        self.days = scenario.horizon_days
        self.progress = progress
        self.library = library_for(scenario)
        self.cohorts: Cohorts = build_cohorts(scenario, self.library)
        self.units = fleet.initial_units(self.cohorts, n, scenario.failures.repair_days)
        self.retired_units = fleet.retired_at_start(self.cohorts, n)  # units leaving today, priced by fleet_trades
        self.event_state = EventState([s.name for s in scenario.sites])
        self.streams = {name: PathStreams(seed, name, self.path_ids)
                        for name in ("btc_price", "fees", "network_hashrate", "blocks", "failures", "pool")}
        self.dates = pd.date_range(scenario.start, periods=self.days, freq="D")
        self.hashrate_model = network_models.hashrate_model(scenario, self.library)
        self.chain = network.scenario_chain(scenario.network, scenario.start, self.hashrate_model, n)
        self.bounds = Blocks(self.days, block_bounds(self.days, self.cohorts.change_days() + [
            (e.date - scenario.start).days for e in scenario.events]),
            limit=self.days_before_a_retirement if scenario.policies.retire is not None else None)
        self.site_states: list[site_day.SiteState] = []  # each site's, for the retire policy's block limit
        self.ops: OpsBlock | None = None  # the operating actors' block of days
        self.hpc = _hpc_portfolio(scenario, seed, self.path_ids)
        self._reserved_mw = self.hpc.reserved_mw_by_day(self.days) if self.hpc is not None else None
        self.ledger = _ledger(scenario, self.cohorts, n)
        self.calendar = calendar(self.dates) if self.ledger is not None else None
        self.tables, self.lo = tables, lo  # (a chunk of a run: its tables are written there, :meth:`run`)
        self._init_outputs(keep_paths, quantiles, daily_quantiles)
        self.env = simpy.Environment()
        self._daily = list(self.daily_actors())  # (driven by one SimPy process, :meth:`daily`)
        self._actors = list(self.actors())
        for actor in self._actors:
            self.env.process(actor)

    def _init_outputs(self, keep_paths: int, quantiles: LocalQuantiles | None,
                      daily_quantiles: bool | tuple[str, ...]) -> None:
        """The reporting's kept daily rows, daily quantiles (if wanted), monthly lines and per-path totals."""
        self.daily_columns = daily_columns(self.scenario)
        quantiles = quantiles if quantiles is not None else \
            LocalQuantiles(self.days, len(self.daily_columns), self.paths, QUANTILE_BLOCK_DAYS)
        self.report = Reporter(self.dates, self.path_ids, keep_paths, self.daily_columns, quantiles,
                               _signal_tracker(self.scenario, self.library, self.hashrate_model),
                               quantile_columns(self.daily_columns, daily_quantiles),
                               (self.block_column_names(), functools.partial(block_columns, self._reserved_mw)),
                               (DAY_COLUMNS + (FINANCE_DAILY_COLUMNS if self.ledger is not None else ()),
                                functools.partial(day_columns, self.daily_columns.index(DAY_COLUMNS[0]), self.ledger,
                                                  self.daily_columns.index(FINANCE_DAILY_COLUMNS[0])
                                                  if self.ledger is not None else None, np.zeros(self.paths))),
                               self.tables.kept_rows(self.lo, self.paths) if self.tables is not None else None)

    def days_before_a_retirement(self) -> int:
        """Days in which no cohort can retire under the ``retire`` policy (:class:`simulator.block.Blocks`'
        limit): the rule's run of losing days less one, less the longest run so far at any site."""
        longest = max((float(s.losing_days.max()) for s in self.site_states if s.losing_days.size), default=0.0)
        return self.scenario.policies.retire.negative_margin_days - 1 - int(longest)

    def actors(self):
        """The SimPy processes, in the order they run (SimPy runs same-time events first in, first out): the
        operating actors a block of days per turn (:mod:`simulator.block`), then the daily ones' driver (:meth:`daily`)."""
        yield from (self.fleet(), self.life_cycle(), self.events(), self.market(), self.network())
        yield from (self.site(index) for index in range(len(self.scenario.sites)))
        yield self.hosted()
        if self.hpc is not None:
            yield self.hpc_projects()
        yield from (self.pool(), self.fleet_trades())
        yield self.daily()

    def daily_actors(self):
        """The daily actors, in the order they run each day (:meth:`daily`)."""
        if self.ledger is not None:
            yield self.company()
            yield from (self.debt(book) for book in self.ledger.debt_books)
            yield from (self.hedges(), self.close())
        yield self.reporting()

    def daily(self):
        """The daily actors' turns: each day, one turn of each in order (:meth:`daily_actors`; each yields once a
        day), then one timeout to the next day — one SimPy event a day instead of one an actor.

        The same turns in the same order as one SimPy process an actor with a timeout of a day each: those
        processes, started in this order after the operating actors, ran in this order on day 0, and each day's
        timeouts, armed in the order they ran, fired in that order the next day (SimPy runs same-time events
        first in, first out), always after the operating actors' turns of that day (whose timeouts were armed
        on an earlier day, or earlier the same day: a block's start, or a dated change, precedes the daily turns
        of the day it was armed on). Here the day's operating turns come first for the same reason (this
        process's one timeout is armed where the daily actors' were), then the daily actors' turns in order.
        For runs that complete: an actor that raises ends the run at once here, where before the daily actors
        queued after it still took that day's turn (the reporting and its progress callback too)."""
        turns = self._daily
        for _ in range(self.days):
            for turn in turns:
                next(turn, None)  # (a daily actor's turn: it yields once a day, nothing to wait for)
            yield self.env.timeout(1)

    # ------------------------------------------------------------------ operating actors (blocks)
    def fleet(self):
        """Energise and retire cohorts from 00:00 of their dates (each date starts a block)."""
        for day in self.cohorts.change_days():
            if day >= self.days:
                break
            yield self.env.timeout(day - self.env.now)
            fleet.energise(self.units, self.retired_units, self.cohorts, day)  # leaving units priced by fleet_trades

    def life_cycle(self):
        """Open each block; failures and repairs of every cohort on every path, day by day within it."""
        cfg = self.scenario.failures
        model = fleet.FailureModel(daily_failure_probability(np.array(
            [self.library[m].failure_rate_annual for m in self.cohorts.models])), cfg.permanent_fraction) \
            if cfg.enabled and len(self.cohorts) else None
        for first, n in self.bounds:
            self.ops = b = OpsBlock.open(first, n, len(self.scenario.sites), self.paths)
            if model is not None and first % FAILURE_BLOCK_DAYS == 0:
                draws = fleet.FailureDraws(self.streams["failures"], min(FAILURE_BLOCK_DAYS, self.days - first),
                                           len(self.cohorts))
            self.units, b.working, b.installed, b.units_failed, b.lost_units = fleet.fail_block(
                model, self.units, draws if model is not None else None, first % FAILURE_BLOCK_DAYS, n)
            yield self.env.timeout(n)

    def events(self):
        """Dated events (:mod:`simulator.events`), applied from 00:00 of their date (inclusive).

        Every event of a date, the start's included, applies before that day's market and sites:
        the actor waits only for a later date (a timeout of 0 would queue it behind them).
        """
        dated = sorted(((e.date - self.scenario.start).days, i, e) for i, e in enumerate(self.scenario.events))
        for day, _, event in dated:
            if day > self.env.now:
                yield self.env.timeout(day - self.env.now)
            self.event_state.apply(event, day)

    def market(self):
        """BTC price closes and fees per block, drawn a year of days at a time; the block's record opens."""
        price_model, fee_model = market_registry.price_model(self.scenario), market_registry.fee_model(self.scenario)
        price_state = price_model.start(self.streams["btc_price"])
        fee_state = fee_model.start(self.streams["fees"])
        for first, n in self.bounds:
            if first % YEAR_DRAW_DAYS == 0:
                year = min(YEAR_DRAW_DAYS, self.days - first)
                prices, price_state = price_model.block(price_state, first, year, self.streams["btc_price"])
                fees, fee_state = fee_model.block(fee_state, first, year, self.streams["fees"])
                if self.progress is True:
                    print(f"hashfleet: simulating day {first:,} of {self.days:,}", file=sys.stderr)
            i, events, b = first % YEAR_DRAW_DAYS, self.event_state, self.ops
            b.record = DayRecord.start(events.price_usd(prices[i:i + n]),
                                       events.fees_btc_per_block(np.arange(first, first + n), fees[i:i + n]),
                                       b.units_failed, self.scenario.failures.repair_cost_usd_per_unit)
            yield self.env.timeout(n)

    def network(self):
        """Network hashrate, the block's blocks, retargets and halvings, and hashprice (shared by a
        workflow's runs with the same network: :mod:`simulator.shared_network`)."""
        blocks = self.scenario.network.blocks
        run = shared_network.NetworkRun(self.hashrate_model, self.chain, self.streams, self.days, blocks == "poisson",
                                        YEAR_DRAW_DAYS, shared_network.key(self.seed, self.path_ids, self.days, blocks,
                                                                           self.hashrate_model, self.chain))
        for first, n in self.bounds:
            b, d = self.ops, self.ops.record
            net = run.block(first, n, d.price_usd, d.fees_btc_per_block, self.event_state.take_hashrate_shock())
            d.network_hashrate_ehs, b.difficulty, b.height = net.hashrate_ehs, net.difficulty, net.height
            d.set_blocks(net.blocks)
            yield self.env.timeout(n)

    def site(self, index: int):
        """One site: hourly curtailment, production, energy bill, programmes and opex (:mod:`simulator.site_day`)."""
        plan = site_day.plan_site(self.scenario, index, self.cohorts, self.dates)
        every_day = np.arange(self.days)
        hpc_mw = self.hpc.reserved_mw_at(index, every_day) if self.hpc is not None else np.zeros(self.days)
        state = site_day.start_site(plan, self.seed, self.path_ids, self.ops.working[0], hpc_mw, reuse_table=True)
        self.site_states.append(state)
        for first, n in self.bounds:
            b, d, days = self.ops, self.ops.record, every_day[first:first + n]
            prices = (b.index_price_usd_per_mwh, b.power_price_usd_per_mwh)  # (the one pass books into d as it goes)
            flows = site_day.site_block(plan, state, first, n, self.days, d.hashprice_usd_per_ph_day,
                                self.event_state.tax_usd_per_mwh[index], self.event_state.offline(index, days),
                                hpc_mw[first:first + n], b.working, self.units, self.retired_units, (d, *prices))
            site_day.book(plan, flows, d, *prices)
            yield self.env.timeout(n)

    def hosted(self):
        """Cohorts hosted at third parties: they run every hour and pay the all-in price per kWh."""
        mine = np.flatnonzero(self.cohorts.site_index < 0)
        if not len(mine):
            return
        for first, n in self.bounds:
            d = self.ops.record
            running_ths, energy_mwh, cost_usd = (from_columns(x, n) for x in fleet.hosted_day(
                self.cohorts, mine, as_columns(self.ops.working[:, mine])))
            d.add_mining(pool.fpps_btc(running_ths, d.reward_btc_per_hs_day, self.scenario.pool.fee), running_ths)
            d.add_hosted(energy_mwh, cost_usd)
            yield self.env.timeout(n)

    def hpc_projects(self):
        """AI/HPC projects: construction capex, completion, lease or GPU revenue, their power and opex."""
        for first, n in self.bounds:
            b = self.ops
            b.hpc = self.hpc.block(first, n, b.power_price_usd_per_mwh)
            b.record.set_hpc(b.hpc)
            yield self.env.timeout(n)

    def pool(self):
        """PPLNS and solo: scale the block's FPPS value by the luck of the blocks that pay."""
        cfg = self.scenario.pool
        if cfg.payout == "fpps":
            return
        poisson = self.scenario.network.blocks == "poisson"
        for first, n in self.bounds:
            i = first % YEAR_DRAW_DAYS
            if i == 0 and poisson:
                draws = self.streams["pool"].uniform((min(YEAR_DRAW_DAYS, self.days - first),))
            d = self.ops.record
            share = pool.paying_share(cfg.payout, cfg.hashrate_ehs, d.running_ths, d.network_hashrate_ehs)
            d.apply_luck(pool.luck_factor(draws[i:i + n] if poisson else None, d.network_blocks, d.expected_blocks,
                                          share))
            yield self.env.timeout(n)

    def fleet_trades(self):
        """Price each day's deliveries, units leaving and installed fleet at the ASIC price index
        (:func:`simulator.fleet.price_trades`); the units leaving (on a block's first day) are then booked."""
        for first, n in self.bounds:
            b, d = self.ops, self.ops.record
            prices = self._asic_usd_per_th(d.hashprice_usd_per_ph_day, b.height, d.fees_btc_per_block)
            b.trades = fleet.price_trades_block(self.cohorts, first, *prices, self.retired_units, b.installed)
            if self.retired_units.any():
                self.retired_units = np.zeros_like(self.retired_units)
            yield self.env.timeout(n)

    def _asic_usd_per_th(self, hashprice_usd_per_ph_day: np.ndarray, height: np.ndarray,
                         fees_btc_per_block: np.ndarray) -> tuple[Callable, Callable, Callable]:
        """Functions of the block's days: the ASIC price index (second-hand) of days ``a … b − 1``, every
        cohort on every path ``(b − a, cohorts, paths)`` [USD/TH], the new-machine price of day ``j``
        (needed on delivery days only), and the index of days ``a … b − 1`` one cohort at a time
        (:func:`simulator.market.asic_price.chain_index_rows`), at the hashprice a buyer expects over the coming
        year: the day's, adjusted for a halving within the year at the end-of-day ``height`` ``(n, paths)``
        (:func:`~simulator.market.asic_price.chain_halving_adjusted_hashprice` of the days asked for: element by
        element, so the same floats whatever days are taken together)."""
        efficiency_jth = self.cohorts.efficiency_jth
        days = lambda a, b: (hashprice_usd_per_ph_day[a:b], height[a:b], fees_btc_per_block[a:b])  # noqa: E731
        return (lambda a, b: asic_price_usd_per_th(chain_halving_adjusted_hashprice(*days(a, b))[:, None, :],
                                                   efficiency_jth[:, None]),
                lambda j: asic_price_usd_per_th(chain_halving_adjusted_hashprice(*days(j, j + 1))[0, None, :],
                                                efficiency_jth[:, None], new=True),
                lambda a, b: chain_index_rows(*days(a, b), efficiency_jth))

    # ------------------------------------------------------------------ daily actors
    def company(self):
        """Stop distressed paths, hand the day's operating flows to the ledger and book them."""
        ledger = self.ledger
        no_hpc = hpc_fields(HpcDay.zeros(len(self.scenario.hpc), self.paths))  # the day of a company without projects
        self._open_books(no_hpc)
        for day in range(self.days):
            b = self.ops
            b.stop(day, ledger.alive)  # a company in distress has stopped: nothing runs or is spent
            ledger.book_operations(b.flows(day, no_hpc), day)  # (the day's OperatingFlows, a row of the block's)
            yield  # (one turn a day: _Simulation.daily)

    def _open_books(self, no_hpc: dict) -> None:
        """The ledger's opening balance sheet (:meth:`simulator.finance.ledger.Ledger.open`) at day 0's flows,
        with the cohorts installed by the start (:func:`simulator.fleet.opening_cohorts`) at their cost. Run as
        the company actor starts: day 0's operating block and record are made (the operating actors run first)
        and no path has stopped, so day 0's flows are the ones it books (:meth:`OpsBlock.stop` of day 0 masks
        nothing)."""
        c, opening = self.cohorts, fleet.opening_cohorts(self.cohorts)
        self.ledger.open(self.ops.flows(0, no_hpc), c.units[:, None] * np.ones(self.paths) * opening,
                         self.ops.trades[0].cost_usd_by_cohort * opening)

    def debt(self, book):
        """One debt instrument: its interest, payments, maturity and collateral events, daily."""
        for day in range(self.days):
            book.day(self.ledger, self.calendar[day])
            yield  # (one turn a day: _Simulation.daily)

    def hedges(self):
        """Hedge premiums and settlements."""
        for day in range(self.days):
            self.ledger.book_hedges(self.calendar[day])
            yield  # (one turn a day: _Simulation.daily)

    def close(self):
        """The company's close: treasury policy, funding, distress, valuation and month ends."""
        for day in range(self.days):
            self.ledger.close_day(self.calendar[day])
            yield  # (one turn a day: _Simulation.daily)

    def reporting(self):
        """Hand each finished day to :class:`simulator.reporting.Reporter`: the operating block's columns and
        monthly lines are taken a run of days at a time, the day's trades' lines, energised fleet and finance columns
        day by day (:func:`day_columns`); the signal columns, kept rows, daily quantiles
        (:func:`simulator.results.exact_percentiles`; across the worker processes of a run,
        :mod:`simulator.workers`) and the monthly and per-path folds are taken a block at a time."""
        progress = self.progress if callable(self.progress) else None
        for day in range(self.days):
            self.report.day(day, self.ops)
            if progress is not None:
                progress((day + 1) * self.paths, self.days * self.paths)
            yield  # (one turn a day: _Simulation.daily)

    def block_column_names(self) -> tuple[str, ...]:
        """The daily columns the reporting takes from the operating block (:func:`block_columns`)."""
        return BLOCK_COLUMNS + (("hpc_power_mw",) if self.hpc is not None else ())

    # ------------------------------------------------------------------ results
    def run(self) -> dict:
        """Simulate; the per-path results (``metrics``, kept ``daily`` rows, ``monthly``), the two tables
        written into the simulation's ``tables`` at position ``lo`` instead where given (a chunk of a run in workers:
        its kept rows written there as the days are reported, :meth:`simulator.reporting.SharedTables.kept_rows`)."""
        self.env.run(until=self.days)
        for actor in self._actors + self._daily:  # (an actor waiting past the horizon holds this simulation in a
            actor.close()  # cycle: closed, its arrays are freed when the run's results are, not at a later GC)
        r = self.report
        lines = {line: r.monthly[:, j, :] for j, line in enumerate(MONTHLY_LINES)}
        totals = dict(r.totals)
        if self.ledger is not None:
            finance = self.ledger.monthly_rows()  # (lists of rows: written path by path without a stack first)
            lines.update({line: finance[line] for line in FINANCE_MONTHLY_LINES})
            totals.update(self.ledger.per_path_totals())
        out = {"metrics": metrics.per_path(totals), "ratio_parts": metrics.ratio_parts(totals)}
        if self.tables is not None:
            self.tables.write(self.lo, lines)  # (the kept rows are in the table: the reporter wrote them there)
            return out
        kept_ids = self.path_ids[r.keep]  # (the kept rows are the daily table's block: a frame over it, no copy)
        return {**out, "daily": by_path_then_time(block_frame(kept_ids, "date", self.dates.date, list(self.daily_columns),
                                                              r.kept), kept_ids, "date"),
                "monthly": path_major_frame(self.path_ids, "month", r.month_starts.date, lines)}


def block_columns(reserved_mw: np.ndarray | None, b: OpsBlock, a: int, z: int) -> list:
    """Days ``a … z − 1`` of block ``b``'s :meth:`_Simulation.block_column_names` columns ``(z − a, paths)``, in
    order (the HPC projects' MW, ``reserved_mw`` ``(days,)`` where there are projects, the same on every path).
    A function of its arguments, not of the simulation: the reporting holds it, and a simulation must be
    freed without the cycle collector."""
    d, i, j = b.record, a - b.first, z - b.first
    columns = [d.price_usd[i:j], b.difficulty[i:j], d.network_hashrate_ehs[i:j], b.height[i:j],
               d.hashprice_usd_per_ph_day[i:j], d.energy_mwh[i:j] / units.HOURS_PER_DAY, d.btc_mined[i:j],
               d.curtailed_mwh[i:j], d.underclocked_mwh[i:j]]
    if reserved_mw is not None:
        columns.append(reserved_mw[a:z, None])
    return columns


#: The day's columns compiled (:func:`simulator.reporting_kernel.day_row`, :func:`day_columns`): a call counts its
#: paths plus the numpy form's fixed cost (~5 µs, in paths' worth at ~0.05 µs a path); loaded for 2¹² paths, or once
#: the numpy calls have spent 2²² (2¹⁶ once numba runs: ~650 days of a one-path run, ~100 of 500 paths).
DAY_KERNEL = LazyKernel("simulator.reporting_kernel", large_from=2**12, numpy_at_most=2**22, once_numba_runs=2**16)
DAY_NUMPY_OVERHEAD = 100


def day_columns(at: int, ledger: Ledger | None, finance_at: int | None, zeros: np.ndarray, b: OpsBlock, day: int,
                row: np.ndarray, line: np.ndarray) -> None:
    """The daily columns that exist day by day (:data:`DAY_COLUMNS`, then the ledger's
    :data:`~simulator.finance.ledger.FINANCE_DAILY_COLUMNS` where there is a company), written into ``row``
    ``(columns, paths)``: day ``day``'s energised fleet (its installed fleet, 0 on stopped paths:
    :meth:`simulator.block.OpsBlock.energised_ehs`) at column ``at`` and into ``line`` (the reporting's line of it), the
    ledger's columns at the day's end from column ``finance_at`` on (:meth:`~simulator.finance.ledger.Ledger.daily_columns`).
    Where there is a company and the call is worth it (:data:`DAY_KERNEL`), in one compiled pass
    (:func:`simulator.reporting_kernel.day_row`, the same floats; ``zeros`` ``(paths,)`` stands for a sum without terms).
    A function of its arguments, not of the simulation (:func:`block_columns`)."""
    kernel = DAY_KERNEL.for_call(len(line), DAY_NUMPY_OVERHEAD) if ledger is not None else None
    if kernel is not None:
        installed, alive_usd = b.energised_terms(day)
        cash, treasury, pledged, balances, arrears, equity_value, share_price = ledger.daily_column_terms()
        kernel.day_row(row, at, line, installed, installed if alive_usd is None else alive_usd, alive_usd is not None,
                       finance_at, cash, treasury, pledged or (zeros,), balances or (zeros,), arrears, equity_value,
                       share_price)
        return
    row[at] = line[...] = b.energised_ehs(day)  # energised nameplate EH/s at the end of the day (0 where stopped)
    if ledger is not None:
        finance = ledger.daily_columns()
        for j, c in enumerate(FINANCE_DAILY_COLUMNS, finance_at):
            row[j] = finance[c]


def quantile_columns(columns: tuple[str, ...], daily_quantiles: bool | tuple[str, ...]) -> list[int] | None:
    """The indices of the daily ``columns`` whose quantiles :func:`simulate` takes (None: all).

    >>> quantile_columns(("a", "b", "c"), True), quantile_columns(("a", "b", "c"), ("c", "a")), quantile_columns(("a",), False)
    (None, [0, 2], [])
    """
    if daily_quantiles is True:
        return None
    if daily_quantiles is False:
        return []
    unknown = set(daily_quantiles) - set(columns)
    if unknown:
        raise ValueError(f"daily_quantiles: {', '.join(sorted(unknown))} not daily columns; valid: {', '.join(columns)}")
    return sorted(columns.index(c) for c in set(daily_quantiles))


def daily_columns(scenario: Scenario) -> tuple[str, ...]:
    """The daily columns of a run: operations, then HPC and finance where present, the signals last."""
    return DAILY_COLUMNS + (("hpc_power_mw",) if scenario.hpc else ()) \
        + (FINANCE_DAILY_COLUMNS if scenario.company is not None else ()) + signals.SIGNAL_COLUMNS


def monthly_lines(scenario: Scenario) -> tuple[str, ...]:
    """The monthly table's lines of a run: operations', then finance's where there is a company."""
    return MONTHLY_LINES + (FINANCE_MONTHLY_LINES if scenario.company is not None else ())


def join_chunks(parts: list[dict], tables: SharedTables) -> dict:
    """The per-path results of contiguous chunks (in path order) as one run's: metrics concatenated, the
    tables the chunks wrote."""
    daily, monthly = tables.frames()
    return {"metrics": {k: np.concatenate([p["metrics"][k] for p in parts]) for k in parts[0]["metrics"]},
            "ratio_parts": {k: tuple(np.concatenate([p["ratio_parts"][k][i] for p in parts]) for i in (0, 1))
                            for k in parts[0]["ratio_parts"]},
            "daily": daily, "monthly": monthly}


#: Resident memory of the interpreter, libraries and a small run [bytes] (measured: ~140 MB).
BASE_MEMORY_BYTES = 200 * 2**20


def estimate_memory_bytes(scenario: Scenario, paths: int, keep_paths: int) -> int:
    """A conservative estimate of a run's peak memory [bytes] (about 1.5× the measured peak).

    Per path: the monthly lines (three copies while the tables are built), each cohort's
    block of failure draws and repair queue and its working, installed and lost units over an
    operating block (:data:`simulator.block.OPS_BLOCK_DAYS`), the block's record (about 40
    lines a day), each site's block of hourly prices (with temporaries) and the ledger's
    trailing windows; plus the kept daily rows and the daily quantiles (peak RSS measured
    171 / 263 / 490 MB at 200 / 1,000 / 3,000 paths of the contract example).
    """
    months = scenario.horizon_days // 28 + 2
    cohorts = len(scenario.fleet) + len(scenario.purchases)
    per_path = (months * len(monthly_lines(scenario)) * 3
                + cohorts * (2 * YEAR_DRAW_DAYS + 3 * OPS_BLOCK_DAYS + scenario.failures.repair_days + 20)
                + 40 * OPS_BLOCK_DAYS
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


def check_input_models(scenario: Scenario, path_ids: np.ndarray | None = None) -> None:
    """Build every site's hourly price model before the run, so that an unreadable power profile
    or index parameters the all-in mean cannot hold are bad input (InputError: exit 2); and read a
    csv network hashrate's first day on the run's ``path_ids`` (default: the scenario's paths), which
    must mine at most :data:`simulator.config.checks.MAX_START_BLOCKS_PER_DAY` blocks a day at the
    start's difficulty, as ``validate`` holds a hashrate in the scenario (a file in TH/s, not EH/s)."""
    source = scenario.provenance.file if scenario.provenance else scenario.name
    for i, site in enumerate(scenario.sites):
        try:
            market_registry.power_model(scenario, site)
        except InputError:
            raise
        except ValueError as exc:
            raise InputError(source, 1, 1, f"sites[{i}].power: {exc}") from None
    if scenario.network.hashrate.model == "csv":
        model = network_models.hashrate_model(scenario, library_for(scenario))
        streams = SimpleNamespace(path_ids=np.arange(scenario.paths) if path_ids is None else path_ids)
        first, _ = model.block(model.start(streams), 0, 1, streams)
        problem = network_scale_problem(float(np.max(first)), scenario.network.initial_difficulty)
        if problem is not None:
            raise InputError(model.file, 1, 1, f"hashrate_ehs on {scenario.start}: {problem}")


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


#: Paths whose daily rows a run keeps unless told otherwise.
DEFAULT_KEEP_PATHS = 20


def simulate(scenario: Scenario, *, paths: int | None = None, seed: int | None = None,
             keep_paths: int = DEFAULT_KEEP_PATHS, progress: bool | Callable[[int, int], None] = False,
             path_ids=None, workers: int | None = None, max_memory_bytes: int | None = None,
             daily_quantiles: bool | tuple[str, ...] = True) -> Results:
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
    daily_quantiles : bool or tuple of str
        The daily columns whose quantiles are taken: all (True), these only (``upgrade`` reads two
        medians), or none (False: ``Results.daily_quantiles`` is None and, with ``keep_paths=0``, no
        daily columns or signals are computed at all — ``compare`` reads only per-path metrics).
        Every other output is the same.
    max_memory_bytes : int, optional
        Refuse the run if its memory estimate exceeds this [bytes] (default: the machine's
        total memory; :func:`check_memory`).
    """
    seed = scenario.seed if seed is None else int(seed)
    paths = scenario.paths if paths is None else int(paths)
    check_memory(scenario, paths if path_ids is None else len(path_ids), keep_paths, max_memory_bytes)
    ids = np.arange(paths) if path_ids is None else np.asarray(path_ids, dtype=np.int64)
    check_input_models(scenario, ids)
    if workers is None:
        workers = auto_workers(len(ids))
    workers = chunk_workers(workers, len(ids)) if can_fork() else 1
    if workers == 1:
        sim = _Simulation(scenario, seed, ids, keep_paths, progress, daily_quantiles=daily_quantiles)
        return run_results(scenario, seed, ids, sim.run(), sim.report.quantiles.out, daily_quantiles)
    columns = daily_columns(scenario)
    dates = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D")
    tables = SharedTables(ids, keep_paths, dates, list(monthly_lines(scenario)), list(columns))

    def run_chunk(chunk, lo, chunk_quantiles, chunk_progress):
        yearly_lines = progress is True and lo == 0  # printed by the first worker alone
        return simulate_chunk(scenario, seed, chunk, lo, tables, chunk_quantiles,
                              True if yearly_lines else chunk_progress, keep_paths, daily_quantiles)
    try:
        parts, quantiles = run_in_workers(run_chunk, ids, workers, scenario.horizon_days, len(columns),
                                          QUANTILE_BLOCK_DAYS, progress if callable(progress) else None)
        out = join_chunks(parts, tables)
    finally:
        tables.close()
    return run_results(scenario, seed, ids, out, quantiles, daily_quantiles)


def simulate_chunk(scenario: Scenario, seed: int, chunk_ids: np.ndarray, lo: int, tables: SharedTables,
                   quantiles: LocalQuantiles, progress, keep_paths: int,
                   daily_quantiles: bool | tuple[str, ...]) -> dict:
    """Paths ``chunk_ids`` of a run, at position ``lo`` of its path ids: their per-path ``metrics`` and
    ``ratio_parts``, their monthly and kept daily rows written into ``tables``, their daily columns handed
    to ``quantiles`` (:func:`simulate`'s worker processes; a workflow's runs split into chunks,
    :mod:`simulator.workflows.chunks`). Joined in path order by :func:`run_results`, the chunks give the
    whole run's results bit for bit."""
    return _Simulation(scenario, seed, chunk_ids, keep_paths, progress, quantiles, daily_quantiles, tables, lo).run()


def run_results(scenario: Scenario, seed: int, ids: np.ndarray, out: dict, quantiles: np.ndarray,
                daily_quantiles: bool | tuple[str, ...]) -> Results:
    """A run's :class:`Results` from its per-path results ``out`` (one process's, or :func:`join_chunks`') and
    its daily quantiles ``(days, columns, 3)`` (the columns not taken are not read)."""
    columns = daily_columns(scenario)
    dates = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D")
    taken = quantile_columns(columns, daily_quantiles)
    daily_quantiles = None if taken == [] else daily_quantile_frame(
        dates.date, {c: quantiles[:, j, :] for j, c in enumerate(columns) if taken is None or j in taken})
    prov = scenario.provenance
    meta = {"scenario": scenario.name, "scenario_sha256": prov.sha256 if prov else None,
            "overrides": list(prov.overrides) if prov else [], "paths": int(len(ids)), "seed": seed,
            "version": __version__}
    return Results(meta=meta, path_metrics=out["metrics"], ratio_parts=out["ratio_parts"], daily=out["daily"],
                   daily_quantiles=daily_quantiles, monthly=out["monthly"])


def run(src, *, paths: int | None = None, seed: int | None = None, keep_paths: int = DEFAULT_KEEP_PATHS,
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
