"""A site's block of days in one pass: the block's days become extra columns of the path axis.

The operating actors of :mod:`simulator.engine` advance a block of ``n`` ≤ 30 days per turn;
:func:`site_block` gives a site's flows for the whole block (every :class:`SiteFlows` field with a
leading day axis) from ONE call of each :mod:`simulator.site` function instead of ``n``.

Layout ("days as columns"): a block input ``(n, …, P)`` becomes ``(…, n·P)``, day-major, day
``j`` and path ``p`` in column ``j·P + p`` (:func:`simulator.columns.as_columns`); hourly prices ``(n, 24, P)``
become ``(24, n·P)``, working units ``(n, cohorts, P)`` become ``(cohorts, n·P)``. Every formula
of :mod:`simulator.site` and :mod:`simulator.merit_order` is elementwise along the last (path)
axis and reduces only over hours or cohorts, and a reduction over the leading axis of a
C-ordered ``(rows, columns)`` array with two or more columns adds the rows in order, one by
one, whatever the number of columns. So each column gets exactly the floats the day's own call
gives it for ``P ≥ 2`` (checked bit for bit by ``tests/test_site_block.py``). A lone column (one
path in a one-day run) would be summed in numpy's pairwise order instead: it is padded with a
copy of itself, so a one-path run's site arithmetic is that of the same path in a larger run.

Whole-block calls: fixed and index prices under every curtailment policy, hosting, HPC MW,
offline days, dynamic tuning, demand-response calls (a block crossing a multiple of
:data:`PROGRAMME_BLOCK_DAYS` draws the next year's uniforms mid-block), 4CP avoidance hours and
PPAs (each column carries its day's escalated PPA price). One call per *segment* where a day's
inputs are not column data: a month whose temperature derate differs from the previous month's,
and on a PPA site a change of PPA in force (expiry) or of the site being online (hosted load fills
the contract). Day by day, over the block's computed arrays, only what is sequential: the stop
and retire counters (:func:`simulator.site.policy_step`, cheap ``(cohorts, paths)`` operations on
the block's margins, after which the segments where a cohort is stopped are dispatched again
without it) and the 4CP peak recorder (:meth:`simulator.grid_programmes.FourCpCharges.day`). A
retire policy retires cohorts in place in the fleet's units, in a block of one day (the engine
cuts a block to the days in which no cohort can retire: :class:`simulator.block.Blocks`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np

from simulator import grid_programmes, index_block, merit_order, pool, site as site_model, units
from simulator.columns import VALUES_PER_CALL, as_columns
from simulator.finance import segments as finance_segments
from simulator.fleet import FailureState, retire_cohorts
from simulator.market.power import price_block_memory
from simulator.rng import PathStreams

#: Days of hourly power prices (50 draws a day) drawn at a time: blocks of a few MB per 1,000
#: paths, drawn into the memory of the previous block (fresh memory is slow to touch; the draws
#: do not depend on the block split). A site block never crosses a multiple of it.
POWER_BLOCK_DAYS = 30
#: Days of demand-response uniforms (24 a day) drawn at a time, into the memory of the previous
#: draw (a year at a time was 35 MB of fresh memory a draw at 500 paths: ~0.1 s of page faults).
#: The numbers are a path's stream in order, whatever the block.
PROGRAMME_BLOCK_DAYS = 30


@dataclass(frozen=True)
class SitePlan:
    """What a site's days share: its configuration, cohorts in dispatch order and daily schedules
    (:func:`simulator.site_day.plan_site`).

    ``mine`` are the site's cohort indices, most efficient first; ``capacity_mw`` and
    ``expansion_capex_usd`` are per day of the horizon; ``derate_by_month`` maps a month to the
    cohorts' hashrate multiplier ``(cohorts, 24)``; ``expiry_day`` is a PPA's last day + 1 (inf
    without one); ``months`` is each day's month (1–12); ``derate_group`` ``(13,)`` maps a month
    to the first month with the same derate (a block is dispatched in one call per derate).
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
    months: np.ndarray
    derate_group: np.ndarray
    is_ppa: bool = False
    demand_response_credit_usd: float | None = None
    """The demand-response programme's availability payment per day [USD] (None without one)."""

    @functools.cached_property
    def kernel_cohorts(self) -> tuple:
        """The one-pass kernels' cohort arguments (:func:`simulator.index_block.cohort_arguments`), made once."""
        return index_block.cohort_arguments(self)

    @functools.cached_property
    def capacity_has_nan(self) -> bool:
        """Whether the capacity is NaN on some day of the horizon (found once)."""
        return bool(np.isnan(self.capacity_mw).any())

    @functools.cached_property
    def one_pass(self) -> bool:
        """Whether the one-pass kernels compute its blocks (:func:`simulator.index_block.applies`), found once."""
        return index_block.applies(self)

    @functools.cached_property
    def hour_counts(self) -> np.ndarray:
        """The one-pass kernels' running count of each hour (:func:`simulator.index_block.hour_counts`), made once."""
        return index_block.hour_counts(self.site.curtailment, len(self.mine))


@dataclass
class SiteState:
    """A site's state carried from block to block (the random streams and the policies' counters;
    :func:`simulator.site_day.start_site`)."""

    hourly_price: np.ndarray | None
    price_state: object = None
    price_block: np.ndarray | None = None
    hour_terms: tuple | None = None
    """The index model's price block as :meth:`simulator.market.power.IndexPowerModel.hour_terms` (None: drawn as
    ``price_block``, or a fixed price)."""
    price_streams: PathStreams | None = None
    common: PathStreams | None = None
    dr_streams: PathStreams | None = None
    dr_draws: np.ndarray | None = None
    four_cp: grid_programmes.FourCpCharges | None = None
    fcp_streams: PathStreams | None = None
    losing_days: np.ndarray | None = None
    stopped: np.ndarray | None = None
    table_memory: np.ndarray | None = None
    """Memory the one pass writes each block's table into (:attr:`SiteFlows.table`, over the previous block's), for a
    caller that books each block before the next (the engine: :func:`simulator.site_day.start_site`'s
    ``reuse_table``); None: fresh memory each block."""
    horizon_costs: dict | None = None
    """A site without hosting: :func:`horizon_costs` of the HPC MW of every day that each block is then given
    (:func:`simulator.site_day.start_site`), sliced block by block (None: computed a block at a time)."""


@dataclass(frozen=True)
class SiteFlows:
    """A site's block of ``n`` days: ``(n, paths)`` arrays [USD, MWh, TH/s] unless noted; None: the site has none.

    The day's scalars are ``(n,)`` arrays: ``site_opex_usd``, ``site_opex_hosting_usd``,
    ``site_opex_hpc_usd``, ``expansion_capex_usd``, ``hosting_revenue_usd`` and each entry of
    ``site_mw``. ``tax_usd_per_mwh`` (constant over a block) and ``demand_response_credit_usd``
    (the same every day) are floats. On an offline day a hosting site's hosting cost and revenue
    are 0. :func:`first_day` gives one day's flows (``(paths,)`` arrays and floats).
    """

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
    hosting_revenue_usd: np.ndarray | None
    site_opex_usd: np.ndarray
    site_opex_hosting_usd: np.ndarray
    site_opex_hpc_usd: np.ndarray
    site_mw: tuple
    """(capacity, hosting, HPC) MW of each day."""
    expansion_capex_usd: np.ndarray
    table: np.ndarray | None = None
    """The one-pass kernels' output ``(7, n, P)`` whose rows are the first seven fields
    (:data:`simulator.index_block_kernel.FIELDS`; None: the segment form ran, or the pass booked them), for
    :func:`book`."""
    booked: bool = False
    """Whether the one pass added the seven per-path fields to the day record itself, each day as it made it
    (:func:`site_block`'s ``book_into``): those fields are then None, and :func:`book` adds the rest."""


#: The fields with a day axis (the others are floats, None, the tuple ``site_mw`` or the one pass's table).
_DAY_FIELDS = tuple(f.name for f in fields(SiteFlows)
                    if f.name not in ("tax_usd_per_mwh", "demand_response_credit_usd", "site_mw", "table", "booked"))


def first_day(flows: SiteFlows) -> SiteFlows:
    """The first day of a block's flows: each field without its day axis (floats stay floats)."""
    values = {name: getattr(flows, name) for name in _DAY_FIELDS}
    return SiteFlows(**{name: None if v is None else v[0] for name, v in values.items()},
                     tax_usd_per_mwh=flows.tax_usd_per_mwh, demand_response_credit_usd=flows.demand_response_credit_usd,
                     site_mw=tuple(v[0] for v in flows.site_mw))


def _pad(y: np.ndarray) -> np.ndarray:
    """Columns ``y`` with a lone column doubled (see the module docstring)."""
    return np.concatenate((y, y), axis=-1) if y.shape[-1] == 1 else y


def _columns(x: np.ndarray | None) -> np.ndarray | None:
    """:func:`simulator.columns.as_columns` of days ``(m, …, P)``, padded (:func:`_pad`)."""
    return None if x is None else _pad(as_columns(np.asarray(x)))


def _spread(values: np.ndarray, paths: int) -> np.ndarray:
    """Each day's values ``(m,)`` or ``(m, 24)`` on all its paths' columns ``(m·P,)`` or ``(24, m·P)``, padded."""
    return _pad(np.repeat(np.asarray(values).T, paths, axis=-1))


@dataclass(frozen=True)
class _Segment:
    """Days ``lo … hi − 1`` of a block that one dispatch call serves, with their inputs as columns
    (:func:`_columns`, padded to two columns when the segment has one): hashprice, hourly prices,
    online flags, call and avoidance hours, each column's PPA price, working units (0 offline)."""

    lo: int
    hi: int
    paths: int
    derate: np.ndarray
    hashprice: np.ndarray
    price: np.ndarray
    online: np.ndarray
    calls: np.ndarray | None
    avoid: np.ndarray | None
    ppa: np.ndarray | None
    terms: site_model.PpaTerms | None
    working: np.ndarray

    def cols(self, x: np.ndarray) -> np.ndarray:
        """This segment's (padded) columns of block columns ``x`` ``(…, n·P)``."""
        return _pad(x[..., self.lo * self.paths:self.hi * self.paths])

    def trim(self, x: np.ndarray) -> np.ndarray:
        """The true columns of a segment's result (the padding copy dropped)."""
        return x[..., :(self.hi - self.lo) * self.paths]


def _segment_bounds(plan: SitePlan, day0: int, n: int, paths: int, rows: int,
                    offline: np.ndarray) -> list[tuple[int, int]]:
    """The block's runs of days ``(lo, hi)`` with one month's derate and, on a PPA site, one PPA regime
    (in force or expired) and one online state (hosted load fills the contract first), cut to whole
    days of at most :data:`VALUES_PER_CALL` values per array."""
    if n == 1:
        return [(0, 1)]
    day = np.arange(day0, day0 + n)
    keys = [plan.derate_group[plan.months[day]]]
    if plan.is_ppa:
        keys += [day > plan.expiry_day, offline]
    change = np.zeros(n, dtype=bool)
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    step = max(1, VALUES_PER_CALL // (max(rows, 2 * (len(plan.mine) + 1)) * paths))
    change[::step] = True
    cuts = [*np.flatnonzero(change).tolist(), n]
    return list(zip(cuts[:-1], cuts[1:]))


@dataclass(frozen=True)
class _Days:
    """A block's inputs by day: ``(n, …, P)`` arrays (``working`` of every cohort), ``offline`` ``(n,)`` and
    4CP ``avoid`` ``(n, 24)``."""

    hashprice: np.ndarray
    price: np.ndarray
    offline: np.ndarray
    working: np.ndarray
    dr_uniforms: np.ndarray | None
    avoid: np.ndarray | None


def _segments(plan: SitePlan, day0: int, n: int, x: _Days) -> list[_Segment]:
    """The block's segments (:func:`_segment_bounds`) with their column inputs; on a PPA in force each
    column carries its day's escalated price (:func:`simulator.site.ppa_price_usd_per_mwh`)."""
    site, paths, out = plan.site, x.hashprice.shape[-1], []
    for lo, hi in _segment_bounds(plan, day0, n, paths, x.price.shape[1], x.offline):
        ppa = terms = calls = None
        price = _columns(x.price[lo:hi])
        if plan.is_ppa:
            prices = [site_model.ppa_price_usd_per_mwh(site.power, day0 + j, plan.expiry_day) for j in range(lo, hi)]
            if prices[0] is not None:  # in force on every day of the segment
                ppa = _spread(prices, paths)
                hosted_mw = site.hosting.mw if site.hosting is not None and not x.offline[lo] else 0.0
                terms = site_model.ppa_terms(site.power, ppa, hosted_mw)
        if x.dr_uniforms is not None:
            calls = grid_programmes.demand_response_calls(site.demand_response, _columns(x.dr_uniforms[lo:hi]),
                                                          _spread(plan.months[day0 + lo:day0 + hi], paths), price)
        online = _spread(~x.offline[lo:hi], paths)
        out.append(_Segment(lo, hi, paths, plan.derate_by_month[int(plan.months[day0 + lo])],
                            _columns(x.hashprice[lo:hi]), price, online, calls,
                            None if x.avoid is None else _spread(x.avoid[lo:hi], paths), ppa, terms,
                            _columns(x.working[lo:hi, plan.mine]) * online))
    return out


def _block_prices(plan: SitePlan, state: SiteState, day0: int, n: int, days: int,
                  terms: bool = False) -> tuple[np.ndarray, tuple | None]:
    """The block's hourly prices ``(n, 24 or 1, P)`` [USD/MWh] and None; the index model draws
    :data:`POWER_BLOCK_DAYS` at a time, at day ``30k``. ``state.hourly_price`` is left at the last day's (a fixed
    price's one row, which the one pass reads itself: with ``terms``, None instead of the block's rows).
    With ``terms``, the index model's price block (from its first day) is drawn as
    :meth:`simulator.market.power.IndexPowerModel.hour_terms`, kept in ``state.hour_terms``, and each block of it
    returns the memory of a day's prices ``(1, 24, P)`` and its days of the terms
    (:meth:`~simulator.market.power.IndexPowerModel.hour_terms_of_days`) instead: the one-pass kernel writes each
    day's prices there in turn, the last day's left (:mod:`simulator.index_block`; the prices are not kept)."""
    if plan.prices is None:
        return None if terms else np.broadcast_to(state.hourly_price, (n,) + state.hourly_price.shape), None
    i = day0 % POWER_BLOCK_DAYS
    if i == 0:
        state.hour_terms = None
        if terms and hasattr(plan.prices, "hour_terms"):
            state.hour_terms, state.price_state = plan.prices.hour_terms(
                state.price_state, day0, min(POWER_BLOCK_DAYS, days - day0), state.price_streams, state.common)
            day = (1, units.HOURS_PER_DAY, len(state.price_streams.path_ids))
            state.price_block = price_block_memory(state.price_block if day0 else None, day)
            state.hourly_price = state.price_block[0]
        else:
            state.price_block, state.price_state = plan.prices.block(
                state.price_state, day0, min(POWER_BLOCK_DAYS, days - day0), state.price_streams, state.common,
                out=state.price_block if day0 else None)
    if state.hour_terms is not None:  # the price block's days computed where the one pass reads them
        assert terms, "a price block drawn as terms is computed by the one pass alone"
        return state.price_block, plan.prices.hour_terms_of_days(state.hour_terms, i, n)
    state.hourly_price = state.price_block[i + n - 1]
    return state.price_block[i:i + n], None


def _demand_response_uniforms(state: SiteState, day0: int, n: int, days: int) -> np.ndarray:
    """The block's demand-response uniforms ``(n, 24, P)``, drawn :data:`PROGRAMME_BLOCK_DAYS` at a time,
    mid-block when the block crosses a multiple of it."""
    pieces, day = [], day0
    while day < day0 + n:
        i = day % PROGRAMME_BLOCK_DAYS
        if i == 0:
            state.dr_draws = state.dr_streams.uniform((min(PROGRAMME_BLOCK_DAYS, days - day), units.HOURS_PER_DAY),
                                                      reuse=True)
        m = min(day0 + n - day, PROGRAMME_BLOCK_DAYS - i)
        pieces.append(state.dr_draws[i:i + m])
        day += m
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _avoidance_hours(plan: SitePlan, day0: int, n: int) -> np.ndarray:
    """The block's 4CP avoidance hours ``(n, 24)``."""
    return np.stack([grid_programmes.four_cp_avoidance_hours(plan.site.four_cp, plan.dates[day])
                     for day in range(day0, day0 + n)])


def _policy_days(state: SiteState, margin_usd: np.ndarray, present: np.ndarray, paths: int,
                 policies) -> tuple[np.ndarray, np.ndarray]:
    """The stop and retire counters day by day over the block's cohort margins ``(cohorts, n·P)``:
    (each day's stopped cohorts as columns, the last day's retirements ``(cohorts, P)``)."""
    stopped = np.empty(margin_usd.shape, dtype=bool)
    retire = None
    for lo in range(0, margin_usd.shape[1], paths):
        day = slice(lo, lo + paths)
        state.losing_days, state.stopped, retire = site_model.policy_step(margin_usd[:, day], present[:, day],
                                                                          state.losing_days, state.stopped, policies)
        stopped[:, day] = state.stopped
        # a retirement removes units in place: only in a block of one day (simulator.block.Blocks cuts them so)
        if margin_usd.shape[1] != paths and retire.any():
            raise RuntimeError("a retirement inside a block of several days (simulator.block.Blocks' limit)")
    return stopped, retire


def _dispatch(plan: SitePlan, state: SiteState, segments: list[_Segment], tax_usd_per_mwh: float,
              units_state: FailureState, retired_units: np.ndarray) -> list[site_model.Dispatch]:
    """Each segment's dispatch of its working units, after the stop and retire rules (a retirement
    leaves ``units_state`` in place)."""
    def run(seg: _Segment, working: np.ndarray, margins: bool = False) -> site_model.Dispatch:
        return site_model.dispatch_site(plan.spec, plan.site, working, seg.hashprice, seg.price, tax_usd_per_mwh,
                                        plan.pool_fee, seg.derate, seg.calls, seg.avoid, seg.terms, margins=margins)

    policies = plan.policies
    if not (policies.stop or policies.retire):
        return [run(seg, seg.working) for seg in segments]
    runs = [run(seg, seg.working, True) for seg in segments]  # each cohort's own margin, every working unit running
    margin, present = (np.concatenate([seg.trim(x) for seg, x in zip(segments, xs)], axis=1)
                       for xs in ([r.cohort_margin_usd for r in runs], [seg.working > 0 for seg in segments]))
    stopped, retire = _policy_days(state, margin, present, segments[0].paths, policies)
    working = [seg.working for seg in segments]
    if retire.any():  # a block of one day, so one segment (_policy_days raises otherwise)
        retire_cohorts(units_state, retired_units, plan.mine, retire)
        working = [segments[0].cols(units_state.working[plan.mine] * segments[0].trim(segments[0].online))]
    if not (stopped.any() or retire.any()):
        return runs
    return [run(seg, w * ~seg.cols(stopped)) if retire.any() or seg.cols(stopped).any() else r
            for seg, w, r in zip(segments, working, runs)]


def _bills(plan: SitePlan, segments: list[_Segment], runs: list[site_model.Dispatch],
           tax_usd_per_mwh: float) -> tuple[dict[str, np.ndarray], float | None]:
    """The block's per-path flows ``(n·P,)`` from each segment's dispatch (energy, bill, hosted clients'
    power cost, 0 on offline days) and the hosting revenue of an online day [USD] (None without hosting)."""
    site, parts, revenue = plan.site, [], None
    for seg, r in zip(segments, runs):
        bill = site_model.energy_bill(site.power, r.energy_hourly_mwh, seg.price, tax_usd_per_mwh, seg.ppa,
                                      energy_mwh=r.energy_mwh)
        part = dict(running_ths=r.running_ths, energy_mwh=r.energy_mwh, power_cost_usd=bill.power_cost_usd,
                    power_credit_usd=bill.power_credit_usd, curtailed_mwh=r.curtailed_mwh,
                    underclocked_mwh=r.underclocked_mwh,
                    mean_price_usd_per_mwh=seg.price.sum(axis=0) / len(seg.price))
        if site.hosting is not None:
            cost, revenue = site_model.hosting_day_usd(site, r.energy_hourly_mwh, seg.price, tax_usd_per_mwh, seg.ppa,
                                                       bill)
            part["hosting_power_cost_usd"] = np.where(seg.online, cost, 0.0)
        parts.append({k: seg.trim(v) for k, v in part.items()})
    if len(parts) == 1:
        return parts[0], revenue
    out = np.empty((len(parts[0]), segments[-1].hi * segments[0].paths))  # one buffer: far cheaper than concatenates
    for seg, part in zip(segments, parts):
        out[:, seg.lo * seg.paths:seg.hi * seg.paths] = list(part.values())
    return dict(zip(parts[0], out)), revenue


def _transmission(plan: SitePlan, state: SiteState, day0: int, segments: list[_Segment],
                  runs: list[site_model.Dispatch]) -> np.ndarray:
    """The block's 4CP charges ``(n, P)`` [USD], recording each day's load at its month's peak in turn."""
    paths = segments[0].paths
    out = np.empty((segments[-1].hi, paths))
    for seg, r in zip(segments, runs):
        for j in range(seg.lo, seg.hi):
            k = (j - seg.lo) * paths
            out[j] = state.four_cp.day(plan.dates[day0 + j], day0 + j == 0, r.energy_hourly_mwh[:, k:k + paths],
                                       lambda m: state.fcp_streams.uniform((m,)))
    return out


def _all_plus_zero(x: np.ndarray) -> bool:
    """Whether every element of ``x`` is +0.0 (not −0.0, not NaN)."""
    return not (x.any() or np.signbit(x).any())


def horizon_costs(plan: SitePlan, hpc_mw: np.ndarray) -> dict:
    """:func:`_site_costs`' opex and its hosting and HPC parts ``(days,)`` [USD] of every day of the horizon of a site
    without hosting, whose HPC projects reserve ``hpc_mw`` ``(days,)`` [MW]: the same numbers, day by day, as a
    block's (each day's are its own: ``mw_shares_of_days`` is elementwise, and its shares of a day without HPC MW
    (+0.0) are the block form's zeros, (+0.0, +0.0), for every capacity but NaN, where the block form takes it too)."""
    assert plan.site.hosting is None, "a hosting site's opex split depends on its offline days"
    capacity, hpc_mw = plan.capacity_mw, np.asarray(hpc_mw, dtype=float)
    opex = plan.site.opex_usd_per_mw_year * capacity / units.DAYS_PER_YEAR
    hosting_share, hpc_share = finance_segments.mw_shares_of_days(capacity, np.zeros(len(capacity)), hpc_mw).T
    return dict(site_opex_usd=opex, site_opex_hosting_usd=opex * hosting_share, site_opex_hpc_usd=opex * hpc_share)


def _site_costs(plan: SitePlan, day0: int, n: int, offline: np.ndarray, hpc_mw: np.ndarray,
                hosting_revenue_usd: float | None, horizon: dict | None = None) -> dict:
    """The block's capacity, opex split by use (:func:`simulator.finance.segments.mw_shares`), hosting
    revenue (0 on offline days) and expansion capex, each ``(n,)``; the opex and its split copied from
    ``horizon`` (:func:`horizon_costs` of a site without hosting) where given."""
    site = plan.site
    if horizon is not None:
        days = slice(day0, day0 + n)
        return dict(**{name: x[days].copy() for name, x in horizon.items()},
                    site_mw=(plan.capacity_mw[days].copy(), np.zeros(n), hpc_mw), hosting_revenue_usd=None,
                    expansion_capex_usd=plan.expansion_capex_usd[days].copy())
    capacity = plan.capacity_mw[day0:day0 + n].copy()  # the flows share no array with the plan
    hosted_mw = np.where(offline, 0.0, site.hosting.mw) if site.hosting is not None else np.zeros(n)
    opex = site.opex_usd_per_mw_year * capacity / units.DAYS_PER_YEAR
    if ((site.hosting is None or _all_plus_zero(hosted_mw)) and _all_plus_zero(hpc_mw)
            and not plan.capacity_has_nan):  # a NaN on any day of the horizon: mw_shares_of_days (the same numbers)
        hosting_share = hpc_share = np.zeros(n)  # mw_shares(C, +0.0, +0.0) is (+0.0, +0.0) for every C but NaN
    else:
        hosting_share, hpc_share = finance_segments.mw_shares_of_days(capacity, hosted_mw, hpc_mw).T
    revenue = None if hosting_revenue_usd is None else np.where(offline, 0.0, hosting_revenue_usd)
    return dict(site_opex_usd=opex, site_opex_hosting_usd=opex * hosting_share, site_opex_hpc_usd=opex * hpc_share,
                site_mw=(capacity, hosted_mw, hpc_mw), hosting_revenue_usd=revenue,
                expansion_capex_usd=plan.expansion_capex_usd[day0:day0 + n].copy())


def _table_memory(state: SiteState, rows: int, n: int, paths: int) -> np.ndarray:
    """C-ordered memory ``(rows, n, P)`` for a block's one-pass table: the front of :attr:`SiteState.table_memory`
    (made for blocks of up to :data:`POWER_BLOCK_DAYS` days) where it is kept, else fresh."""
    if state.table_memory is None:
        return np.empty((rows, n, paths))
    size = rows * n * paths
    if state.table_memory.size < size:
        state.table_memory = np.empty(rows * max(n, POWER_BLOCK_DAYS) * paths)
    return state.table_memory[:size].reshape(rows, n, paths)


def site_block(plan: SitePlan, state: SiteState, day0: int, n: int, days: int, hashprice_usd_per_ph_day: np.ndarray,
               tax_usd_per_mwh: float, offline: np.ndarray, hpc_mw: np.ndarray, working: np.ndarray,
               units_state: FailureState, retired_units: np.ndarray, book_into: tuple | None = None) -> SiteFlows:
    """Days ``day0 … day0 + n − 1`` of a site in one pass (see the module docstring).

    Parameters
    ----------
    hashprice_usd_per_ph_day : (n, P)
        Each day's hashprice [USD/PH/s/day].
    tax_usd_per_mwh : float
        Power tax, constant over the block [USD/MWh] (blocks are cut at event dates).
    offline : (n,) bool
        Site offline that day (nothing runs, hosted clients neither).
    hpc_mw : (n,)
        MW that HPC projects reserve at this site each day.
    working : (n, all cohorts, P)
        Every cohort's working units each day (after that day's failures).
    units_state, retired_units
        Used only by a ``retire`` policy, whose retirements happen in blocks of one day: retired cohorts
        leave ``units_state`` in place and their units are added to ``retired_units`` ``(cohorts, P)``.
    book_into
        ``(record, index_price, power_price)``, :func:`book`'s: where the one pass runs and the record's rows are
        C-ordered ``(n, P)`` (:func:`kernel_rows`), it adds each day's per-path fields to them as it makes them (the
        compiled :func:`book`'s operations, so the same doubles) instead of writing the block's table: the flows are
        then :attr:`SiteFlows.booked`, and :func:`book` adds the rest. The caller books them before anything else
        touches the record, as it would right after this call.

    The block never crosses a multiple of :data:`POWER_BLOCK_DAYS` (the engine cuts blocks there).
    """
    assert (day0 % POWER_BLOCK_DAYS) + n <= POWER_BLOCK_DAYS and day0 + n <= days, (day0, n)
    site, paths = plan.site, np.shape(hashprice_usd_per_ph_day)[-1]
    offline, hpc_mw = np.asarray(offline, dtype=bool), np.array(hpc_mw, dtype=float)  # hpc_mw: a copy, returned
    one_pass = index_block.kernel_for(plan, n, paths)  # a common index site's block in one compiled pass, or None
    prices, hour_terms = _block_prices(plan, state, day0, n, days, one_pass is not None)
    x = _Days(np.asarray(hashprice_usd_per_ph_day), prices, offline,
              working, _demand_response_uniforms(state, day0, n, days) if site.demand_response else None,
              _avoidance_hours(plan, day0, n) if site.four_cp else None)
    hosting_revenue_usd = table = into = None
    if one_pass is not None and book_into is not None:
        rows = kernel_rows(book_into[0], (n, paths))
        into = None if rows is None else index_block.booking(plan, rows, *book_into[1:])
    if one_pass is not None and into is None:
        table = _table_memory(state, len(one_pass.FIELDS), n, paths)
    if one_pass is not None and plan.prices is None:  # a fixed price: one row for every hour
        bills = index_block.fixed_days(one_pass, plan, state.hourly_price, x.hashprice, working, offline,
                                       tax_usd_per_mwh, table, into)
    elif one_pass is not None:
        bills = index_block.site_days(one_pass, plan, x.price, x.hashprice, working, offline, tax_usd_per_mwh,
                                      hour_terms, table, into)
    else:  # the segment form
        segments = _segments(plan, day0, n, x)
        runs = _dispatch(plan, state, segments, tax_usd_per_mwh, units_state, retired_units)
        bills, hosting_revenue_usd = _bills(plan, segments, runs, tax_usd_per_mwh)
    flows = dict.fromkeys(one_pass.FIELDS) if into else {k: v.reshape(n, paths) for k, v in bills.items()}
    flows.setdefault("hosting_power_cost_usd", None)
    return SiteFlows(**flows, **_site_costs(plan, day0, n, offline, hpc_mw, hosting_revenue_usd, state.horizon_costs),
                     tax_usd_per_mwh=tax_usd_per_mwh,
                     demand_response_credit_usd=plan.demand_response_credit_usd,
                     transmission_charge_usd=_transmission(plan, state, day0, segments, runs) if site.four_cp else None,
                     table=table, booked=into is not None)


#: The day record's rows the one pass's table adds to (:func:`book`), in :func:`simulator.index_block_kernel.book`'s
#: order.
_BOOKED = ("btc_mined", "running_ths", "mining_revenue_usd", "energy_mwh", "power_cost_usd", "power_credit_usd",
           "curtailed_mwh", "underclocked_mwh")


def kernel_rows(record, shape: tuple) -> tuple | None:
    """The day ``record``'s reward and close (as :func:`simulator.merit_order.kernel_array` gives them) and its
    :data:`_BOOKED` rows, the compiled booking's ``record_rows`` (:func:`simulator.index_block_kernel.book`), or None
    where a booked row is not a writeable C-ordered array of ``shape`` ``(n, P)`` (the kernel writes them in place)."""
    rows = tuple(getattr(record, name) for name in _BOOKED)
    if not all(isinstance(r, np.ndarray) and r.shape == shape and r.flags.c_contiguous and r.flags.writeable
               for r in rows):
        return None
    as_kernel = merit_order.kernel_array
    return (as_kernel(record.reward_btc_per_hs_day, shape), as_kernel(record.price_usd, shape)) + rows


def book(plan: SitePlan, flows: SiteFlows, record, index_price: np.ndarray, power_price: np.ndarray) -> None:
    """Add a site's block ``flows`` to the block's day ``record`` (:class:`simulator.day_record.DayRecord`, rows
    ``(n, P)``) and its price columns ``(n, sites, P)``: the mean price into ``index_price[:, site]`` (an index
    site), mean + tax into ``power_price[:, site]``, the FPPS BTC of the running TH/s
    (:func:`simulator.pool.fpps_btc` at the record's reward, :meth:`~simulator.day_record.DayRecord.add_mining`),
    then :meth:`~simulator.day_record.DayRecord.add_site`. A one-pass block's per-path fields are added in one
    compiled pass over its table (:func:`simulator.index_block_kernel.book`: the same operations on the same
    operands, element by element) where the record's rows are C-ordered ``(n, P)``; else field by field here."""
    if flows.booked:  # the one pass booked the per-path fields (site_block's book_into)
        record.add_site(flows, paths_booked=True)
        return
    index, shape = plan.index, np.shape(flows.running_ths)
    kernel = index_block.INDEX_BLOCK_KERNEL.loaded() if flows.table is not None else None
    rows = kernel_rows(record, shape) if kernel is not None else None
    if rows is not None:
        kernel.book(flows.table, float(flows.tax_usd_per_mwh), 1 - plan.pool_fee, index, plan.prices is not None,
                    rows, (index_price, power_price))
        record.add_site(flows, paths_booked=True)
        return
    if plan.prices is not None:
        index_price[:, index] = flows.mean_price_usd_per_mwh
    np.add(flows.mean_price_usd_per_mwh, flows.tax_usd_per_mwh, out=power_price[:, index])
    record.add_mining(pool.fpps_btc(flows.running_ths, record.reward_btc_per_hs_day, plan.pool_fee), flows.running_ths)
    record.add_site(flows)
