"""The company's machines as cohorts: arrays over cohorts, built once from the scenario.

A cohort is a fleet item or a purchase: ``units`` identical machines of one hardware
profile at one site, energised from ``deployed``/``delivery`` (00:00 of that date) until
``retired``. Per-unit hashrate and power are the profile's nameplate figures (spec sheets,
see ``hardware_profiles/``) at the item's static tuning setting f: ``hashrate × f`` and
``power × f^k`` (:func:`simulator.hardware.tuned_power_w`); a ``dynamic`` cohort starts
from nameplate and the site re-tunes it every hour. Purchases carry their capex (``units × hashrate_ths ×
price_usd_per_th``, else the launch price; NaN where neither is known: the engine then prices
the machines at the ASIC price index).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

from simulator import units as u
from simulator.columns import VALUES_PER_CALL, Rows, as_columns, fields_from_columns, stored
from simulator.config.checks import cohorts as scenario_cohorts
from simulator.config.schema import Scenario
from simulator.hardware import tuned_power_w
from simulator.lazy_kernel import LazyKernel
from simulator.market.asic_price import ChainIndexRows
from simulator.rng import BINOMIAL_WALK_MEAN_AT_MOST, PathStreams, binomial_inverse_cdf


@dataclass(frozen=True)
class Cohorts:
    """Arrays of shape ``(cohorts,)``; days are counted from the scenario start.

    ``site_index`` is −1 for a cohort hosted at a third party (``hosting_usd_per_kwh`` is its
    all-in price; NaN for cohorts at the company's own sites).
    """

    ids: tuple[str, ...]
    models: tuple[str, ...]
    site_index: np.ndarray
    units: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_jth: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    capex_usd: np.ndarray
    purchase: np.ndarray
    resale_usd_per_th: np.ndarray
    hosting_usd_per_kwh: np.ndarray
    k_under: np.ndarray
    k_over: np.ndarray
    min_fraction: np.ndarray
    max_fraction: np.ndarray
    dynamic: np.ndarray
    inlet_limit_c: np.ndarray
    shutdown_c: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def energised(self, day: float) -> np.ndarray:
        """Cohorts installed and connected during day ``day`` (bool, ``(cohorts,)``)."""
        return (self.start_day <= day) & (day < self.end_day)

    def change_days(self) -> list[int]:
        """Days inside the horizon on which a cohort is energised or retired, ascending."""
        days = np.concatenate([self.start_day, self.end_day[np.isfinite(self.end_day)]])
        return sorted({int(d) for d in days if d > 0})


@dataclass
class FailureState:
    """Units per cohort and path ``(cohorts, paths)``: working, installed, and in repair.

    ``repairs`` is a ring of ``R`` days: ``repairs[(head + j) % R]`` holds the units that come
    back ``j + 1`` days from now (so ``repairs[head]`` come back at the next day's start).
    """

    working: np.ndarray
    installed: np.ndarray
    repairs: np.ndarray
    head: int = 0


def initial_units(cohorts: Cohorts, paths: int, repair_days: int) -> FailureState:
    """Day 0's units: every cohort energised at the start, all working, none in repair."""
    live = cohorts.energised(0)[:, None] * cohorts.units[:, None] * np.ones(paths)
    return FailureState(live.copy(), live.copy(), np.zeros((repair_days,) + live.shape))


def retired_at_start(cohorts: Cohorts, paths: int) -> np.ndarray:
    """Units leaving on day 0 ``(cohorts, paths)``: cohorts installed before the start and retired on it."""
    return ((cohorts.end_day == 0) & (cohorts.start_day < 0))[:, None] * cohorts.units[:, None] * np.ones(paths)


def energise(state: FailureState, retired_units: np.ndarray, cohorts: Cohorts, day: int) -> None:
    """Day ``day``'s dated changes, in place: arriving cohorts start with all units working and none
    in repair; leaving cohorts' installed units are added to ``retired_units`` and leave."""
    arrive = (cohorts.energised(day) & ~cohorts.energised(day - 1))[:, None]
    leave = (~cohorts.energised(day) & cohorts.energised(day - 1))[:, None]
    full = cohorts.units[:, None]
    retired_units += state.installed * leave
    state.working = np.where(arrive, full, np.where(leave, 0.0, state.working))
    state.installed = np.where(arrive, full, np.where(leave, 0.0, state.installed))
    state.repairs = np.where(leave[None], 0.0, state.repairs)


def retire_cohorts(state: FailureState, retired_units: np.ndarray, rows: np.ndarray, now: np.ndarray) -> None:
    """Retire cohorts ``rows`` on the paths where ``now`` ``(len(rows), paths)`` holds, in place: all
    their installed units leave (added to ``retired_units``), those in repair too."""
    leaving = np.where(now, state.installed[rows], 0.0)
    retired_units[rows] += leaving
    state.installed[rows] -= leaving
    state.working[rows] = np.where(now, 0.0, state.working[rows])
    state.repairs[:, rows] = np.where(now[None], 0.0, state.repairs[:, rows])


def hosted_day(cohorts: Cohorts, rows: np.ndarray, working: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A day of cohorts ``rows`` hosted at third parties, ``working`` units ``(len(rows), paths)`` running
    every hour: (running TH/s, energy [MWh] = Σ power_w / 10⁶ × units × 24, hosting fees [USD] =
    Σ energy × hosting_usd_per_kwh × 1,000)."""
    ths_per_unit, mw_per_unit = cohorts.hashrate_ths[rows][:, None], cohorts.power_w[rows][:, None] / u.W_PER_MW
    usd_per_mwh = cohorts.hosting_usd_per_kwh[rows][:, None] * u.KW_PER_MW
    energy_mwh = mw_per_unit * working * u.HOURS_PER_DAY
    return (ths_per_unit * working).sum(axis=0), energy_mwh.sum(axis=0), (energy_mwh * usd_per_mwh).sum(axis=0)


def fail_and_repair(state: FailureState, u_fail: np.ndarray, u_permanent: np.ndarray,
                    daily_probability: np.ndarray, permanent_fraction: float) -> tuple[FailureState, np.ndarray]:
    """One day of the failure model; returns the new state and the units that failed.

    ``failed ~ Binomial(working, q)`` with ``q = 1 − (1 − r)^(1/365)`` from the profile's
    annual rate r; ``lost ~ Binomial(failed, permanent_fraction)`` leave the fleet for good;
    the rest return after the repair delay (the queue ``repairs``, a ring updated in place:
    today's slot, emptied by the units coming back, takes the units that come back in
    ``R`` days).
    """
    slot = state.head
    working = state.working + state.repairs[slot]
    failed = binomial_inverse_cdf(u_fail, working, daily_probability[:, None])
    lost = binomial_inverse_cdf(u_permanent, failed, permanent_fraction)
    np.subtract(failed, lost, out=state.repairs[slot])
    working -= failed
    head = (slot + 1) % state.repairs.shape[0]
    return FailureState(working, state.installed - lost, state.repairs, head), failed


def fail_day(state: FailureState, draws: np.ndarray, daily_probability: np.ndarray,
             permanent_fraction: float) -> tuple[FailureState, np.ndarray, np.ndarray]:
    """:func:`fail_and_repair` on the day's uniforms ``draws`` ``(2, cohorts, paths)``: the new state, the
    units failed per path and the units lost for good ``(cohorts, paths)``."""
    u_fail, u_permanent = np.ascontiguousarray(draws[0]), np.ascontiguousarray(draws[1])  # path-last
    new, failed = fail_and_repair(state, u_fail, u_permanent, daily_probability, permanent_fraction)
    return new, failed.sum(axis=0), state.installed - new.installed


class FailureDraws:
    """A draw block's failure uniforms: ``days`` days of ``(2, cohorts)`` uniforms of every path of ``streams`` (the
    units failing, then the share of them lost for good), reserved on the stream (:meth:`PathStreams.reserve`) and
    drawn where they are used: the compiled block draws each day's itself (:meth:`position`), a day run in numpy takes
    them from the whole block's (:meth:`day`), drawn once when a day first needs them. Either way the numbers of
    ``streams.uniform((days, 2, cohorts))`` at the reserved position."""

    def __init__(self, streams: PathStreams, days: int, cohorts: int) -> None:
        self.streams, self.days, self.cohorts = streams, days, cohorts
        self.start = streams.reserve((days, 2, cohorts))
        self._uniforms: np.ndarray | None = None

    def position(self, day: int) -> int:
        """The stream position of day ``day``'s first uniform (each day has ``2 × cohorts``)."""
        return self.start + 2 * self.cohorts * day

    def day(self, day: int) -> np.ndarray:
        """Day ``day``'s uniforms ``(2, cohorts, paths)``."""
        if self._uniforms is None:  # into the memory of the previous block's (a few MB per 1,000 paths)
            self._uniforms = self.streams.uniform_at(self.start, (self.days, 2, self.cohorts), reuse=True)
        return self._uniforms[day]


class FailureModel:
    """A run's failure model, day by day: :func:`fail_day`'s counts, compiled for large runs.

    ``daily_probability`` ``(cohorts,)`` is q per cohort, ``permanent_fraction`` the share of
    failed units lost for good. :meth:`day` gives exactly :func:`fail_day`'s state and counts
    (integers: equal, not close); on a large day or once the process has spent its numpy budget
    (:data:`FAILURE_KERNEL`) it runs
    :func:`simulator.failure_kernel.fail_day`: both draws and the repair ring in one pass, the
    walk's start ``exp(k ln(1 − p))`` read from tables numpy computes once per run (and
    extends when a cohort arrives). A short run never loads numba; a large-mean day (the
    whole array's ``n·p`` above 50) runs the numpy reference.
    """

    def __init__(self, daily_probability: np.ndarray, permanent_fraction: float) -> None:
        self.daily_probability = np.asarray(daily_probability, dtype=float)
        self.permanent_fraction = float(permanent_fraction)
        # binomial_inverse_cdf's expressions on the same shapes: the same numbers
        q, lost = self.daily_probability[:, None], np.asarray(self.permanent_fraction)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self._fail_log, self._fail_odds = np.log1p(-np.minimum(q, 1.0))[:, 0], (q / (1 - q))[:, 0]
            self._lost_log, self._lost_odds = np.log1p(-np.minimum(lost, 1.0)), lost / (1 - lost)
        self._fail_size = np.zeros(len(q), dtype=np.int64)
        self._lost_size = 0
        self._tables: tuple = ()
        self._buffers: np.ndarray | None = None
        self._failed: np.ndarray | None = None
        self._uniforms: np.ndarray | None = None
        self._bracket: tuple | None = None

    def day(self, state: FailureState, draws: np.ndarray,
            out: tuple[np.ndarray, ...] | None = None) -> tuple[FailureState, np.ndarray, np.ndarray]:
        """:func:`fail_day` of this model on the day's uniforms ``draws`` ``(2, cohorts, paths)``.

        ``out``: arrays the compiled day writes its new working and installed units, units lost
        ``(cohorts, paths)`` and units failed per path ``(paths,)`` into (none of them the state's own);
        the numpy day returns fresh ones, so a caller compares what it gets with what it gave.
        """
        kernel = FAILURE_KERNEL.for_call(state.working.size, _NUMPY_DAY_COST)
        for _ in range(3) if kernel is not None else ():
            shape = state.working.shape
            working, installed, lost, per_path = out if out is not None else (
                np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape[1]))
            if self._failed is None or self._failed.shape != shape:
                self._failed = np.empty(shape)  # the kernel's units failed per cohort: scratch, read by no one
            status = kernel.fail_day(state.working, state.repairs[state.head], state.installed, draws[0], draws[1],
                                     *self._tables, working, installed, self._failed, lost, per_path) \
                if self._tables else kernel.SHORT
            if status == kernel.OK:
                head = (state.head + 1) % state.repairs.shape[0]
                return FailureState(working, installed, state.repairs, head), per_path, lost
            if status == kernel.LARGE or not self._grow(state):
                break
        return fail_day(state, draws, self.daily_probability, self.permanent_fraction)

    def days(self, state: FailureState, draws: FailureDraws, first: int,
             out: tuple[np.ndarray, ...]) -> FailureState:
        """:meth:`day` on days ``first … first + n − 1`` of ``draws``, day ``j`` of the block written into row ``j`` of
        ``out``: the working and installed units and units lost ``(n, cohorts, paths)`` and units failed per path
        ``(n, paths)``; returns the state after the block (its arrays the last rows).

        Once the compiled day runs, the block's days are one call (:func:`simulator.failure_kernel.fail_days`:
        :func:`~simulator.failure_kernel.fail_day`'s arithmetic day after day, its cohorts' CDF bounds kept from day to
        day, each day's uniforms drawn as it starts); a day it
        leaves is run alone (:meth:`_one_day`) and the call goes on from the next day. Before, the days run in
        numpy (:meth:`day` day after day until the tables are made, then :func:`fail_day` while the numpy budget
        lasts)."""
        j, n = 0, len(out[3])
        while j < n:
            kernel = FAILURE_KERNEL.for_call((n - j) * state.working.size, (n - j) * _NUMPY_DAY_COST) \
                if self._tables else None
            if kernel is None and self._tables:  # the numpy budget not spent yet: the rest of the block in numpy
                for day in range(j, n):
                    state = self._one_day(state, draws, first, day, out, reference=True)
                return state
            status = None
            if kernel is not None:
                done, status = self._compiled_days(kernel, state, draws, first + j, tuple(x[j:] for x in out))
                if done:
                    j += done
                    state = FailureState(out[0][j - 1], out[1][j - 1], state.repairs,
                                         (state.head + done) % state.repairs.shape[0])
                if j == n:
                    break
            # the compiled call stopped at day j (LARGE: the reference's large-mean branch; SHORT: a count past the
            # tables, which :meth:`day` extends), or no tables yet (:meth:`day` makes them once the kernel pays)
            state = self._one_day(state, draws, first, j, out, reference=kernel is not None and status == kernel.LARGE)
            j += 1
        return state

    def _compiled_days(self, kernel, state: FailureState, draws: FailureDraws, first: int,
                       out: tuple[np.ndarray, ...]) -> tuple[int, int]:
        """:func:`simulator.failure_kernel.fail_days` from day ``first`` of ``draws`` into ``out``'s rows: (days done,
        status)."""
        if self._failed is None or self._failed.shape != state.working.shape:
            self._failed = np.empty(state.working.shape)  # the kernel's scratch: units failed, then into repair
        if self._uniforms is None or self._uniforms.shape[1:] != state.working.shape:
            self._uniforms = np.empty((2,) + state.working.shape)  # and a day's uniforms
        if self._bracket is None or self._bracket[2].shape[:2] != state.working.shape:
            self._bracket = kernel.no_bounds(*state.working.shape)  # the cohorts' CDF bounds, kept while the tables are
        return kernel.fail_days(state.working, state.installed, state.repairs, state.head, draws.position(first),
                                *draws.streams.philox_key, self._uniforms, *self._tables, out[0], out[1], self._failed,
                                out[2], out[3], *self._bracket)

    def _one_day(self, state: FailureState, draws: FailureDraws, first: int, j: int, out: tuple[np.ndarray, ...],
                 reference: bool) -> FailureState:
        """Day ``j`` of a block from day ``first`` of ``draws`` alone, written into row ``j`` of ``out``: the numpy
        reference (:func:`fail_day`; ``reference``), else :meth:`day` (which makes or extends the tables, and runs
        the compiled day once it pays). Returns the state on those rows."""
        mine = tuple(x[j] for x in out)
        if reference:
            state, failed, lost = fail_day(state, draws.day(first + j), self.daily_probability,
                                           self.permanent_fraction)
        else:
            state, failed, lost = self.day(state, draws.day(first + j), mine)
        for row, got in zip(mine, (state.working, state.installed, lost, failed)):
            if got is not row:
                row[...] = got
        return FailureState(mine[0], mine[1], state.repairs, state.head)

    def block_buffers(self, shape: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Three arrays of ``shape`` ``(n, cohorts, paths)`` for a block's working and installed units and
        units lost, the same memory block after block (a block's arrays are read only until the next block
        starts; fresh memory is slow to touch on this VM: benchmarks/README.md, "Reading the timings")."""
        if self._buffers is None or self._buffers.shape[1] < shape[0] or self._buffers.shape[2:] != shape[1:]:
            self._buffers = np.empty((3,) + shape)
        return self._buffers[0, :shape[0]], self._buffers[1, :shape[0]], self._buffers[2, :shape[0]]

    def _grow(self, state: FailureState) -> bool:
        """Extend the tables to every count today's units can reach; False if too large (numpy then)."""
        units = np.rint(state.working + state.repairs[state.head])
        fail_size = np.maximum(self._fail_size, np.nan_to_num(units.max(axis=1, initial=0.0)).astype(np.int64) + 1)
        reach = float(fail_size.max()) if self.permanent_fraction <= 0 else \
            min(float(fail_size.max()), BINOMIAL_WALK_MEAN_AT_MOST / self.permanent_fraction + 1)
        lost_size = max(self._lost_size, int(reach) + 1)
        if fail_size.sum() + lost_size > TABLE_ENTRIES_AT_MOST:
            return False
        with np.errstate(invalid="ignore", over="ignore"):
            fail_table = np.concatenate([np.exp(np.arange(m, dtype=float) * log)
                                         for m, log in zip(fail_size, self._fail_log)])
            lost_table = np.exp(np.arange(lost_size, dtype=float) * self._lost_log)
        start = np.concatenate([[0], np.cumsum(fail_size)[:-1]]).astype(np.int64)
        self._fail_size, self._lost_size, self._bracket = fail_size, lost_size, None  # (the bracket: of the old tables)
        self._tables = (fail_table, start, fail_size, self._fail_odds, self.daily_probability, lost_table,
                        float(self._lost_odds), self.permanent_fraction)
        return True


#: The compiled failure day: loaded for a day of at least 2¹² units' draws (cohorts × paths) or once
#: a process has spent 2²² (~0.15 s) on numpy days, each counting its cohorts × paths plus
#: :data:`_NUMPY_DAY_COST` (a day's fixed cost, ~60 µs, in units of ~30 ns).
FAILURE_KERNEL = LazyKernel("simulator.failure_kernel", large_from=2**12, numpy_at_most=2**22)
_NUMPY_DAY_COST = 2048
#: Table entries (both tables, 8 bytes each) beyond which a day runs in numpy instead.
TABLE_ENTRIES_AT_MOST = 2**24


#: The compiled installed fleet's value (:func:`installed_value`): loaded for a block of at least 2¹⁶ unit counts
#: (days × cohorts × paths) or once a process has spent 2²¹ on numpy blocks (2¹⁵ once numba runs); a one-path run
#: stays in numpy.
TRADES_KERNEL = LazyKernel("simulator.trades_kernel", large_from=2**16, numpy_at_most=2**21, once_numba_runs=2**15)


def opening_cohorts(cohorts: Cohorts) -> np.ndarray:
    """Cohorts on the opening balance sheet ``(cohorts, 1)``: installed by the start (those leaving on
    day 0 included), not purchases delivered on day 0."""
    c = cohorts
    return ((c.start_day <= 0) & (c.end_day >= 0) & ~((c.start_day == 0) & c.purchase))[:, None]


def build_cohorts(scenario: Scenario, library: Mapping) -> Cohorts:
    """Cohorts of ``scenario.fleet`` then ``scenario.purchases``, in file order."""
    site_names = [s.name for s in scenario.sites]
    rows = []
    for loc, item, energised in scenario_cohorts(scenario):
        profile = library[item.model]
        setting = 1.0 if item.tuning == "dynamic" else item.tuning
        price = item.price_usd_per_th
        if price is None:  # NaN: no price known, finance prices the machines at the ASIC price index
            price = profile.launch_price_usd_per_th if profile.launch_price_usd_per_th is not None else np.nan
        rows.append(dict(
            id=item.id or f"{loc[0]}[{loc[1]}]",
            model=item.model,
            site=site_names.index(item.site) if item.site is not None else -1,
            hosting=item.hosted_at.price_usd_per_kwh if item.hosted_at is not None else np.nan,
            units=float(item.units),
            hashrate_ths=profile.hashrate_ths * setting,
            power_w=float(tuned_power_w(profile, setting)),
            efficiency_jth=float(tuned_power_w(profile, setting)) / (profile.hashrate_ths * setting),
            start=float((energised - scenario.start).days),
            end=float((item.retired - scenario.start).days) if item.retired else np.inf,
            capex=price * item.units * profile.hashrate_ths, purchase=loc[0] == "purchases",
            resale=np.nan if item.resale_usd_per_th is None else item.resale_usd_per_th,
            k_under=profile.tuning.k_under, k_over=profile.tuning.k_over,
            min_fraction=profile.tuning.min_fraction, max_fraction=profile.tuning.max_fraction,
            dynamic=item.tuning == "dynamic", inlet_limit_c=profile.inlet_limit_c, shutdown_c=profile.shutdown_c,
        ))
    col = lambda key, dtype=float: np.array([r[key] for r in rows], dtype=dtype)  # noqa: E731
    return Cohorts(
        ids=tuple(r["id"] for r in rows), models=tuple(r["model"] for r in rows),
        site_index=col("site", np.int64), units=col("units"), hashrate_ths=col("hashrate_ths"),
        power_w=col("power_w"), efficiency_jth=col("efficiency_jth"), start_day=col("start"),
        end_day=col("end"), capex_usd=col("capex"), purchase=col("purchase", bool), resale_usd_per_th=col("resale"),
        hosting_usd_per_kwh=col("hosting"), k_under=col("k_under"), k_over=col("k_over"),
        min_fraction=col("min_fraction"), max_fraction=col("max_fraction"), dynamic=col("dynamic", bool),
        inlet_limit_c=col("inlet_limit_c"), shutdown_c=col("shutdown_c"),
    )


@dataclass(frozen=True)
class Trades:
    """The day's machine trades and the installed fleet, priced ``(cohorts, paths)`` or ``(paths,)``.

    ``cost_usd_by_cohort`` [USD] is what every cohort's units cost (its stated capex, else the
    index), given on day 0 (the opening balance sheet) and on delivery days, else None.
    """

    delivered_units: np.ndarray
    cost_usd_by_cohort: np.ndarray | None
    purchase_capex_by_cohort: np.ndarray
    purchase_capex_usd: np.ndarray
    retired_units_by_cohort: np.ndarray
    units_retired: np.ndarray
    retired_ths: np.ndarray
    resale_value_usd: np.ndarray
    fleet_market_value_usd: np.ndarray
    installed_ehs: np.ndarray


def price_trades(cohorts: Cohorts, day: int, index_usd_per_th: np.ndarray,
                 new_usd_per_th: np.ndarray | Callable[[], np.ndarray],
                 retired_units: np.ndarray, installed_units: np.ndarray) -> Trades:
    """Day ``day``'s deliveries, units leaving and installed fleet at the ASIC price index.

    ``index_usd_per_th`` ``(cohorts, paths)`` [USD/TH] is the second-hand index, ``new_usd_per_th``
    the new-machine price (or a function returning it, called only on day 0 and delivery days). A
    cohort costs its ``units × hashrate_ths × price_usd_per_th`` (or launch price), else
    ``units × hashrate_ths ×`` the new-machine price (a purchase) or the index (a fleet item, on the
    opening balance sheet); units leaving (``retired_units``) are resold at ``resale_usd_per_th`` or
    the index; the installed fleet is worth ``Σ installed × hashrate_ths × index`` [USD]; installed EH/s is
    ``Σ installed × hashrate_ths / 10⁶``.
    """
    c, paths = cohorts, installed_units.shape[-1]
    ths = c.hashrate_ths[:, None]
    arriving = ((c.start_day == day) & ((day > 0) | c.purchase))[:, None]
    cost = None
    delivered = purchase_capex = np.broadcast_to(0.0, installed_units.shape)  # nothing arriving (read only)
    if day == 0 or arriving.any():  # the opening balance sheet and deliveries need the cost
        full = c.units[:, None] * np.ones(paths)
        delivered = full * arriving
        new_usd_per_th = new_usd_per_th() if callable(new_usd_per_th) else new_usd_per_th
        unpriced_usd_per_th = np.where(c.purchase[:, None], new_usd_per_th, index_usd_per_th)
        cost = np.where(np.isnan(c.capex_usd)[:, None], full * ths * unpriced_usd_per_th, c.capex_usd[:, None])
        purchase_capex = cost * arriving
    units_retired, retired_ths, resale_value = np.zeros(paths), np.zeros(paths), np.zeros(paths)
    if retired_units.any():
        retired_ths_by_cohort = retired_units * ths
        resale = np.where(np.isnan(c.resale_usd_per_th)[:, None], index_usd_per_th, c.resale_usd_per_th[:, None])
        units_retired, retired_ths = retired_units.sum(axis=0), retired_ths_by_cohort.sum(axis=0)
        resale_value = (retired_ths_by_cohort * resale).sum(axis=0)
    installed_ths = installed_units * ths
    return Trades(delivered_units=delivered, cost_usd_by_cohort=cost, purchase_capex_by_cohort=purchase_capex,
                  purchase_capex_usd=purchase_capex.sum(axis=0), retired_units_by_cohort=retired_units,
                  units_retired=units_retired, retired_ths=retired_ths, resale_value_usd=resale_value,
                  fleet_market_value_usd=(installed_ths * index_usd_per_th).sum(axis=0),
                  installed_ehs=installed_ths.sum(axis=0) / u.THS_PER_EHS)


def fail_block(model: FailureModel | None, state: FailureState, draws: FailureDraws | None, first: int,
               n: int) -> tuple[FailureState, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` days of failures and repairs on days ``first … first + n − 1`` of ``draws`` (:meth:`FailureModel.days`;
    ``model`` None: no failures, no draws): the state after the block and, for each day, the working and installed
    units ``(n, cohorts, paths)``, the units failed ``(n, paths)`` and the units lost for good ``(n, cohorts, paths)``.

    A block of :data:`FAILURE_KERNEL`'s ``large_from`` unit-days or more loads the compiled day (the
    model's days of a block are one call's worth of work). A one-day block's working and installed
    units are views of the new state's own arrays, so that
    a retirement the site applies to the state in place (:func:`retire_cohorts`) shows in them
    (a ``retire`` policy retires only in blocks of one day: :class:`simulator.block.Blocks`).
    """
    shape = (n,) + state.working.shape
    if model is None:
        working, installed = np.broadcast_to(state.working, shape), np.broadcast_to(state.installed, shape)
        return state, working, installed, np.zeros((n, shape[-1])), np.zeros(shape)
    failed = np.empty((n, shape[-1]))
    if n * state.working.size >= FAILURE_KERNEL.large_from:  # a large block: the compiled day from now on
        FAILURE_KERNEL.for_call(n * state.working.size)
    if n == 1:
        state, failed[0], lost = model.day(state, draws.day(first))
        return state, state.working[None], state.installed[None], failed, lost[None]
    working, installed, lost = model.block_buffers(shape)
    return model.days(state, draws, first, (working, installed, lost, failed)), working, installed, failed, lost


def price_trades_block(cohorts: Cohorts, first: int, index_usd_per_th: Callable[[int, int], np.ndarray],
                       new_usd_per_th: Callable[[int], np.ndarray],
                       index_rows: Callable[[int, int], Iterable[np.ndarray]] | None, retired_units: np.ndarray,
                       installed_units: np.ndarray) -> list[Trades]:
    """:func:`price_trades` of each day of a block from day ``first``: ``index_usd_per_th(a, b)`` the index of
    days ``a … b − 1`` and ``installed_units`` ``(n, cohorts, paths)``, ``new_usd_per_th(j)`` the new-machine
    price of day ``j``, ``index_rows(a, b)`` (or None) the same index one cohort at a time (``(b − a, paths)``
    each, in cohort order: :class:`simulator.market.asic_price.ChainIndexRows`), ``retired_units`` the units leaving
    on the first day.

    A block starts on every delivery and retirement date (:func:`simulator.block.block_bounds`),
    so its later days have no delivery and no unit leaving: only the installed fleet's value and
    hashrate change, which :func:`installed_value` sums cohort by cohort over all of them at once
    (given ``index_rows`` and more than one path: numpy's order of the sum over cohorts, which a lone
    column would add pairwise), its first day too when nothing is bought, delivered or leaving on it
    (:func:`_trades_on`: :func:`price_trades` would give the same floats), else :func:`price_trades` prices
    them a few days a call (:data:`~simulator.columns.VALUES_PER_CALL`), their days as columns
    (:mod:`simulator.columns`).
    """
    n, paths = installed_units.shape[0], installed_units.shape[-1]
    by_cohort = index_rows is not None and paths > 1 and len(cohorts)
    a = 1 if not by_cohort or _trades_on(cohorts, first, retired_units) else 0  # days priced by price_trades
    days = [price_trades(cohorts, first, index_usd_per_th(0, 1)[0], lambda: new_usd_per_th(0), retired_units,
                         installed_units[0])] if a else []
    if by_cohort:
        return days + _unchanged_days(cohorts, index_rows(a, n), installed_units[a:]) if n > a else days
    step = max(1, VALUES_PER_CALL // max(installed_units[0].size, 1))  # days a call (cache-sized arrays)
    for a in range(1, n, step):
        k = min(step, n - a)
        rest = price_trades(cohorts, first + 1, as_columns(index_usd_per_th(a, a + k)), lambda: None,
                            np.broadcast_to(0.0, installed_units.shape[1:-1] + (k * paths,)),
                            as_columns(installed_units[a:a + k]))
        rows = Rows(fields_from_columns(rest, k))
        days += [rows(j) for j in range(k)]
    return days


def _trades_on(cohorts: Cohorts, day: int, retired_units: np.ndarray) -> bool:
    """Whether day ``day`` has trades (:func:`price_trades`): the opening balance sheet (day 0), a cohort arriving
    (its cost and capex), or units leaving (``retired_units``, resold)."""
    return day == 0 or bool((cohorts.start_day == day).any()) or bool(retired_units.any())


def installed_value(hashrate_ths: np.ndarray, index_rows: Iterable[np.ndarray],
                    installed_units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The installed fleet at the ASIC price index ``Σ_c installed × hashrate_ths × index`` [USD] and its
    hashrate ``Σ_c installed × hashrate_ths / 10⁶`` [EH/s], ``(n, paths)`` each, of ``installed_units``
    ``(n, cohorts, paths)``, ``hashrate_ths`` ``(cohorts,)`` and each cohort's index row ``(n, paths)``
    [USD/TH].

    :func:`price_trades`' floats (its products, and its sums over cohorts added row after row to +0.0,
    as numpy reduces the leading axis of a ``(cohorts, ≥ 2 columns)`` array, the hashrate's sum then divided by
    :data:`simulator.units.THS_PER_EHS`), without its
    ``(cohorts, n·paths)`` arrays: each cohort's rows are used while in the cache. Given the index's terms
    (:class:`~simulator.market.asic_price.ChainIndexRows`, whose terms :func:`simulator.trades_kernel.chain_index_terms`
    makes in one pass) and a large block
    (:data:`TRADES_KERNEL`), the compiled form (:func:`simulator.trades_kernel.installed_value`: one pass, the same
    bits).
    """
    by_terms = isinstance(index_rows, ChainIndexRows) and installed_units.shape[1]
    kernel = TRADES_KERNEL.for_call(installed_units.size) if by_terms else None
    if kernel is not None:
        r, shape = index_rows, index_rows.hashprice_usd_per_ph_day.shape
        frontier_usd_per_th, floor_usd_per_th = np.empty(shape), np.empty(shape)
        kernel.chain_index_terms(r.hashprice_usd_per_ph_day, r.height, r.fees_btc_per_block, *r.constants(),
                                 frontier_usd_per_th, floor_usd_per_th)
        value_usd, ehs = np.empty(frontier_usd_per_th.shape), np.empty(frontier_usd_per_th.shape)
        kernel.installed_value(hashrate_ths, frontier_usd_per_th, index_rows.penalty_usd_per_th, floor_usd_per_th,
                               installed_units, value_usd, ehs)
        return value_usd, ehs
    value_usd = ths = None
    for c, index_usd_per_th in enumerate(index_rows):
        ths_c = np.multiply(installed_units[:, c], hashrate_ths[c])
        if value_usd is None:  # numpy's sum starts from +0.0: (+0.0) + x is x, but +0.0 for −0.0
            value_usd, ths = ths_c * index_usd_per_th, ths_c
            value_usd += 0.0
            ths += 0.0
            continue
        np.multiply(ths_c, index_usd_per_th, out=index_usd_per_th)
        value_usd += index_usd_per_th
        ths += ths_c
    return value_usd, ths / u.THS_PER_EHS


def _unchanged_days(cohorts: Cohorts, index_rows: Iterable[np.ndarray], installed_units: np.ndarray) -> list[Trades]:
    """:func:`price_trades` of days without a delivery or a unit leaving, ``installed_units``
    ``(k, cohorts, paths)``: the same fields (nothing delivered, bought, leaving or resold; read-only
    zeros where :func:`price_trades` gives broadcast ones, and one read-only row of +0.0 a field for all ``k`` days
    where it gives fresh ``np.zeros``), the installed fleet by :func:`installed_value`."""
    value_usd, ehs = installed_value(cohorts.hashrate_ths, index_rows, installed_units)
    nothing = np.broadcast_to(0.0, installed_units.shape[1:])
    zeros = np.zeros((4,) + value_usd.shape[1:])  # one row a field (none shares memory, as price_trades' own),
    zeros.flags.writeable = False  # the same row every day: read only (the days' rows are read, never added to)
    fields = dict(delivered_units=nothing, cost_usd_by_cohort=None, purchase_capex_by_cohort=nothing,
                  purchase_capex_usd=zeros[0], retired_units_by_cohort=nothing, units_retired=zeros[1],
                  retired_ths=zeros[2], resale_value_usd=zeros[3], fleet_market_value_usd=None, installed_ehs=None)
    return [stored(Trades, {**fields, "fleet_market_value_usd": value, "installed_ehs": ehs})  # (field order kept)
            for value, ehs in zip(list(value_usd), list(ehs))]
