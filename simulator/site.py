"""Sites: power contracts, curtailment decisions, facility power and opex (pure functions).

Facility power = IT power × (1 + cooling_overhead) (DESIGN.md, "Economics"). Site opex is
charged on ``capacity_mw``. The ``economic`` curtailment policy runs a cohort on a day only
if its revenue covers its power cost, i.e. when the site breakeven power price

    breakeven = hashprice_usd_per_th_day × (1 − pool_fee) × 1e6 / (24 × e × (1 + overhead)) − tax

[USD/MWh] is at least the day's contract price (``e`` in J/TH). Hourly index prices,
PPAs, demand response and 4CP belong to the operations issue. Curtailment is decided hour
by hour (:func:`dispatch_day`); a fixed contract has the same price every hour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import units
from simulator.config.schema import Curtailment, Site
from simulator.hardware import breakeven_power_usd_per_mwh


def site_breakeven_usd_per_mwh(hashprice_usd_per_ph_day: np.ndarray, efficiency_jth: np.ndarray, pool_fee: float,
                               cooling_overhead: float, tax_usd_per_mwh: float) -> np.ndarray:
    """DESIGN.md's site breakeven power price ``(cohorts, paths)`` [USD/MWh] (see the module doc).

    Examples
    --------
    >>> site_breakeven_usd_per_mwh(np.array([50.0]), np.array([21.5]), 0.02, 0.04, 5.0).round(3).tolist()
    [[86.309]]
    """
    return breakeven_power_usd_per_mwh(np.asarray(hashprice_usd_per_ph_day)[None, :],
                                       np.asarray(efficiency_jth)[:, None], pool_fee, cooling_overhead, tax_usd_per_mwh)


@dataclass(frozen=True)
class Dispatch:
    """A site's day, per path: running TH/s averaged over the day, hourly energy, curtailment.

    ``energy_mwh`` is the day's energy, ``energy_hourly_mwh.sum(axis=0)`` (computed once).
    """

    running_ths: np.ndarray
    energy_hourly_mwh: np.ndarray
    curtailed_mwh: np.ndarray
    energy_mwh: np.ndarray = None

    def __post_init__(self) -> None:
        if self.energy_mwh is None:
            object.__setattr__(self, "energy_mwh", self.energy_hourly_mwh.sum(axis=0))


@dataclass(frozen=True)
class Bill:
    """A day's energy bill per path [USD]: cost of energy bought, credit for energy sold back."""

    power_cost_usd: np.ndarray
    power_credit_usd: np.ndarray


def ppa_price_usd_per_mwh(power, day: int, expiry_day: float) -> float | None:
    """The PPA price of day ``day``, escalated ``price (1 + escalator)^(day/365)``; None after expiry."""
    if day > expiry_day:
        return None
    return power.price_usd_per_mwh * (1 + power.escalator_annual) ** (day / units.DAYS_PER_YEAR)


def energy_bill(power, energy_hourly_mwh: np.ndarray, price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float,
                ppa_usd_per_mwh: float | None = None, energy_mwh: np.ndarray | None = None) -> Bill:
    """The day's bill; ``price_usd_per_mwh`` is each hour's contract or market price ``(24, paths)``.

    * fixed or index (or a PPA after expiry, ``ppa_usd_per_mwh=None``): cost ``Σ_h U_h (p_h + tax)``.
    * ppa with block B and minimum take T = f·B [MWh per hour]:
      cost = ``Σ_h [min(max(U_h, T), B) ppa + max(U_h − B, 0) p_h + U_h tax]``,
      credit = ``Σ_h max(T − U_h, 0) p_h`` (Riot-style power credits).

    Examples
    --------
    >>> from simulator.config.schema import PpaPower
    >>> ppa = PpaPower(contract="ppa", price_usd_per_mwh=30, block_mw=10, index={"mean_usd_per_mwh": 40})
    >>> bill = energy_bill(ppa, np.full((24, 1), 4.0), np.full((24, 1), 100.0), 0.0, 30.0)
    >>> float(bill.power_cost_usd[0]), float(bill.power_credit_usd[0])
    (7200.0, 14400.0)
    """
    used = energy_hourly_mwh
    tax = (used.sum(axis=0) if energy_mwh is None else energy_mwh) * tax_usd_per_mwh  # energy_mwh: that sum
    if ppa_usd_per_mwh is None:
        return Bill((used * price_usd_per_mwh).sum(axis=0) + tax, np.zeros(used.shape[1:]))
    block, take = power.block_mw, power.min_take_fraction * power.block_mw
    cost = (np.minimum(np.maximum(used, take), block) * ppa_usd_per_mwh
            + np.maximum(used - block, 0.0) * price_usd_per_mwh).sum(axis=0) + tax
    credit = (np.maximum(take - used, 0.0) * price_usd_per_mwh).sum(axis=0)
    return Bill(cost, credit)


def dispatch_day(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                 tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, efficiency_jth: np.ndarray,
                 working_ths: np.ndarray, working_mw: np.ndarray, cap_mw: np.ndarray | None = None) -> Dispatch:
    """Hour-by-hour curtailment of a site's cohorts and the day's energy bill.

    Parameters
    ----------
    hashprice_usd_per_ph_day : (paths,)
    price_usd_per_mwh : (24, paths) or (1, paths)
        Hourly energy price; one row means every hour alike (a fixed contract under ``none``
        or ``economic``), computed once.
    efficiency_jth : (cohorts,)
        Sorted ascending (most efficient first).
    working_ths, working_mw : (cohorts, paths)
        Hashrate [TH/s] and IT power [MW] of the working units, in the same order.
    cap_mw : (24, paths), optional
        Most IT power [MW] allowed in each hour (demand-response calls, 4CP avoidance); units
        of the least efficient cohorts are shed first (the marginal cohort runs in part).

    Notes
    -----
    Under ``economic`` a cohort of efficiency ``e`` runs in an hour when its site breakeven
    covers the price, ``e ≤ e* = hashprice_th (1 − fee) 1e6 / (24 (1 + overhead) (price + tax))``
    (every cohort runs when ``price + tax ≤ 0``). Because the running set is always the
    ``k`` most efficient cohorts, ``k = searchsorted(e_sorted, e*)`` and cumulative sums give
    the running TH/s and MW in O(hours × paths × log cohorts) instead of comparing every
    cohort in every hour. ``uptime_target`` also runs everything in the cheapest
    ``ceil(uptime × 24)`` hours of the day; ``schedule`` runs everything except in
    ``hours_off``. Energy = Σ_h MW_h × (1 + overhead); cost = Σ_h energy_h × (price_h + tax).
    """
    n_cohorts, paths = working_ths.shape
    cum_ths, cum_mw = _cumulative(working_ths), _cumulative(working_mw)
    policy = curtailment.policy
    if policy == "none":
        k = np.full(price_usd_per_mwh.shape, n_cohorts)
    elif policy == "schedule":
        on = ~np.isin(np.arange(units.HOURS_PER_DAY), curtailment.hours_off)
        k = np.where(on[:, None], n_cohorts, 0) * np.ones(price_usd_per_mwh.shape, dtype=np.int64)
    else:
        all_in = price_usd_per_mwh + tax_usd_per_mwh if tax_usd_per_mwh else price_usd_per_mwh
        value = np.asarray(hashprice_usd_per_ph_day) / units.THS_PER_PHS * (1 - pool_fee) * units.W_PER_MW
        threshold = np.full(all_in.shape, np.inf)  # every cohort runs when price + tax <= 0
        denominator = np.multiply(all_in, units.HOURS_PER_DAY * (1 + cooling_overhead))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            np.divide(value, denominator, out=threshold, where=all_in > 0)
        k = _count_at_or_below(efficiency_jth, threshold)
        if policy == "uptime_target":
            must_run = int(np.ceil(curtailment.uptime * units.HOURS_PER_DAY))
            rank = np.argsort(np.argsort(price_usd_per_mwh, axis=0, kind="stable"), axis=0, kind="stable")
            k = np.where(rank < must_run, n_cohorts, k)
    if cap_mw is None:
        running_ths, running_mw = _take_rows((cum_ths, cum_mw), k)
    else:  # demand-response calls, 4CP avoidance: shed units, least efficient first
        k = k.astype(np.intp)
        running_ths = np.take_along_axis(cum_ths, k, axis=0)
        running_mw = np.take_along_axis(cum_mw, k, axis=0)
        fits = (cum_mw[:, None, :] <= cap_mw[None]).sum(axis=0) - 1  # whole cohorts within the cap
        capped = k > fits
        whole = np.minimum(k, fits)
        ths_fit, mw_fit = np.take_along_axis(cum_ths, whole, axis=0), np.take_along_axis(cum_mw, whole, axis=0)
        marginal = np.minimum(whole, n_cohorts - 1)  # the cohort partly running at the cap
        mw_m = np.take_along_axis(working_mw, marginal, axis=0)
        ths_m = np.take_along_axis(working_ths, marginal, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(mw_m > 0, np.clip((cap_mw - mw_fit) / mw_m, 0.0, 1.0), 0.0)
        running_ths = np.where(capped, ths_fit + part * ths_m, running_ths)
        running_mw = np.where(capped, mw_fit + part * mw_m, running_mw)
    running_mw *= 1 + cooling_overhead
    if running_mw.shape[0] == 1:  # one price row stands for every hour alike (a fixed contract)
        running_mw = np.repeat(running_mw, units.HOURS_PER_DAY, axis=0)
    available_mwh = cum_mw[-1] * (1 + cooling_overhead) * units.HOURS_PER_DAY
    energy_mwh = running_mw.sum(axis=0)
    return Dispatch(running_ths=running_ths.mean(axis=0), energy_hourly_mwh=running_mw,  # MW for an hour = MWh
                    curtailed_mwh=np.maximum(available_mwh - energy_mwh, 0.0), energy_mwh=energy_mwh)


def _cumulative(x: np.ndarray) -> np.ndarray:
    """``[0, x_0, x_0 + x_1, …]`` along axis 0: ``(cohorts + 1, paths)``."""
    out = np.empty((x.shape[0] + 1,) + x.shape[1:])
    out[0] = 0.0
    if len(x):
        out[1] = x[0]
    for i in range(1, len(x)):  # np.cumsum's order (row by row), without its slow axis-0 loop
        np.add(out[i], x[i], out=out[i + 1])
    return out


#: Up to this many cohorts a site counts them by comparisons, beyond it by binary search.
_COMPARE_UP_TO = 16


def _count_at_or_below(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(sorted_values, x, side="right")``: how many values are ``<= x``.

    A site's few cohorts are counted with one comparison each over the hours × paths (a
    binary search per element costs more until there are dozens); NaN counts as above all,
    as in ``searchsorted``.
    """
    n = len(sorted_values)
    if n > _COMPARE_UP_TO or np.isnan(x).any():
        return np.searchsorted(sorted_values, x, side="right")
    k = np.zeros(x.shape, dtype=np.int8)
    for value in sorted_values:
        np.add(k, x >= value, out=k, casting="unsafe")
    return k


def _take_rows(cum: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``take_along_axis(cum[j], k, axis=0)`` for ``cum = (cum_ths, cum_mw)``, through one flat index."""
    paths = cum[0].shape[1]
    flat = k.astype(np.intp)
    flat *= paths
    flat += np.arange(paths)
    return cum[0].reshape(-1).take(flat), cum[1].reshape(-1).take(flat)


def ambient_c(site: Site, month: int) -> np.ndarray | None:
    """Inlet temperature of each UTC hour of a day in ``month`` (1–12) [°C], or None.

    ``T(h) = mean_month + swing / 2 × cos(2π (h − 21) / 24)``: the monthly mean from
    ``ambient_c`` and a daily swing peaking at 21:00 UTC (mid-afternoon in the US Central
    time zone), an assumption standing in for a site's measured profile; or the site's own
    ``ambient_hourly_c`` table (hour UTC × month).
    """
    if site.ambient_hourly_c is not None:
        return np.array([row[month - 1] for row in site.ambient_hourly_c], dtype=float)
    if site.ambient_c is None:
        return None
    hours = np.arange(units.HOURS_PER_DAY)
    return site.ambient_c[month - 1] + site.diurnal_swing_c / 2 * np.cos(2 * np.pi * (hours - 21) / 24)


def dispatch_day_tuned(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                       tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, working_ths: np.ndarray,
                       working_mw: np.ndarray, k_under: np.ndarray, k_over: np.ndarray, min_fraction: np.ndarray,
                       max_fraction: np.ndarray, dynamic: np.ndarray, derate: np.ndarray,
                       cap_mw: np.ndarray | None = None) -> Dispatch:
    """Hourly dispatch cohort by cohort, with thermal derating and dynamic firmware tuning.

    Used where :func:`dispatch_day`'s sorted-efficiency shortcut does not hold (efficiency
    changes with the hour). Arrays: ``working_ths``, ``working_mw`` ``(cohorts, paths)`` at the
    cohort's static setting; ``k_*``, ``*_fraction``, ``dynamic`` ``(cohorts,)``; ``derate``
    ``(cohorts, 24)`` hashrate multiplier from :func:`simulator.hardware.temperature_derate_fraction`
    (a firmware throttle: power follows the tuning curve, ``d^k_under``); ``cap_mw`` as in
    :func:`dispatch_day` (cohorts are in static efficiency order).

    Notes
    -----
    With ``v`` the pool payout of 1 TH/s for an hour [USD] and ``c = (price + tax)(1 + overhead)``
    the cost of 1 MWh of IT energy, a cohort at setting ``f`` earns ``m(f) = v T f − c M f^k``
    (T [TH/s], M [MW], k = k_under below nameplate, k_over above). ``m`` is concave on each
    side of 1, so the hourly optimum of a ``dynamic`` cohort is, with ``r = v T / (c M)``:
    ``f = (r / k_over)^(1/(k_over−1))`` clipped to [1, max] when r > k_over,
    ``(r / k_under)^(1/(k_under−1))`` clipped to [min, 1] when r < k_under, else 1
    (max when c ≤ 0). ``economic`` runs a cohort when ``m(f) ≥ 0``; ``uptime_target`` also runs
    everything in the cheapest hours; ``schedule`` runs nothing in ``hours_off``. Curtailed
    energy is what stock settings would have drawn and was not.
    """
    value = np.asarray(hashprice_usd_per_ph_day) / units.THS_PER_PHS * (1 - pool_fee) / units.HOURS_PER_DAY
    cost = (price_usd_per_mwh + tax_usd_per_mwh) * (1 + cooling_overhead)  # (24, paths)
    ths = working_ths[:, None, :] * derate[:, :, None]  # (cohorts, 24, paths)
    mw = working_mw[:, None, :] * (derate ** k_under[:, None])[:, :, None]
    ku, ko = k_under[:, None, None], k_over[:, None, None]
    f = np.ones_like(ths)
    if dynamic.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            r = value * ths / (cost * mw)
            over = np.clip((r / ko) ** (1 / (ko - 1)), 1.0, max_fraction[:, None, None])
            under = np.clip((r / ku) ** (1 / (ku - 1)), min_fraction[:, None, None], 1.0)
        best = np.where(r > ko, over, np.where(r < ku, under, 1.0))
        best = np.where(cost > 0, np.nan_to_num(best, nan=1.0), max_fraction[:, None, None])
        f = np.where(dynamic[:, None, None], best, 1.0)
    run_ths = ths * f
    run_mw = mw * f ** np.where(f < 1, ku, ko)
    policy = curtailment.policy
    if policy == "none":
        run = np.ones(ths.shape, dtype=bool)
    elif policy == "schedule":
        on = ~np.isin(np.arange(units.HOURS_PER_DAY), curtailment.hours_off)
        run = np.broadcast_to(on[None, :, None], ths.shape)
    else:
        run = value * run_ths - cost * run_mw >= 0
        if policy == "uptime_target":
            must_run = int(np.ceil(curtailment.uptime * units.HOURS_PER_DAY))
            rank = np.argsort(np.argsort(price_usd_per_mwh, axis=0, kind="stable"), axis=0, kind="stable")
            run = run | (rank < must_run)[None]
    run = run.astype(float)
    if cap_mw is not None:  # cohorts come most efficient first: shed units from the end
        drawn = run_mw * run
        before = np.cumsum(drawn, axis=0) - drawn
        with np.errstate(divide="ignore", invalid="ignore"):
            run = np.where(drawn > 0, run * np.clip((cap_mw[None] - before) / drawn, 0.0, 1.0), run)
    energy_hourly = (run_mw * run).sum(axis=0) * (1 + cooling_overhead)
    curtailed = np.maximum(mw - run_mw * run, 0.0).sum(axis=(0, 1)) * (1 + cooling_overhead)
    return Dispatch(running_ths=(run_ths * run).sum(axis=(0, 1)) / units.HOURS_PER_DAY,
                    energy_hourly_mwh=energy_hourly, curtailed_mwh=curtailed)


def is_summer(month: int) -> bool:
    """June–September: ERCOT's 4CP months and the season of most grid-stress calls."""
    return 6 <= month <= 9


def demand_response_calls(programme, u_hours: np.ndarray, month: int) -> np.ndarray:
    """Call hours ``(24, paths)``: each hour independently with the programme's probability."""
    p = programme.call_probability * (programme.summer_call_multiplier if is_summer(month) else 1.0)
    return u_hours < min(p, 1.0)


def demand_response_credit_usd_per_day(programme) -> float:
    """Availability payment per day = committed MW × USD/(MW·month) × 12 / 365."""
    return (programme.committed_mw * programme.availability_usd_per_mw_month * units.MONTHS_PER_YEAR
            / units.DAYS_PER_YEAR)


def four_cp_avoidance_hours(programme, date) -> np.ndarray:
    """Hours (24,) bool in which load is cut to dodge a likely 4CP interval on ``date``."""
    hours = np.zeros(units.HOURS_PER_DAY, dtype=bool)
    if programme.avoid and is_summer(date.month) and date.weekday() < 5:
        hours[list(programme.peak_hours_utc)] = True
    return hours


def four_cp_peak(programme, date, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """This summer month's 4CP interval per path: (day of month, UTC hour), from uniforms ``(2, paths)``.

    The peak falls on a uniformly chosen weekday of the month, in one of ``peak_hours_utc``
    (an assumption: ERCOT's monthly peaks come on hot weekday afternoons).
    """
    import calendar

    first_weekday, n_days = calendar.monthrange(date.year, date.month)
    weekdays = np.array([d for d in range(1, n_days + 1) if (first_weekday + d - 1) % 7 < 5])
    hours = np.asarray(programme.peak_hours_utc)
    return (weekdays[np.minimum((u[0] * len(weekdays)).astype(int), len(weekdays) - 1)],
            hours[np.minimum((u[1] * len(hours)).astype(int), len(hours) - 1)])


def transmission_usd_per_day(programme, four_cp_mw: np.ndarray) -> np.ndarray:
    """Transmission charge per day from the mean 4CP load [MW] of the last summer.

    ``charge = transmission_usd_per_kw_year × 1000 × mean(4CP MW) / 365`` (ERCOT allocates
    transmission cost by a customer's load in the four monthly June–September system peak
    intervals of the previous year: GLOSSARY.md, "4CP").
    """
    return programme.transmission_usd_per_kw_year * units.KW_PER_MW * four_cp_mw / units.DAYS_PER_YEAR


def expansion_capex_usd_per_day(expansions, start, days: int) -> np.ndarray:
    """Construction capex of a site's expansions per simulated day ``(days,)`` [USD].

    Each expansion's ``mw × capex_usd_per_mw`` is spread evenly over the ``build_months``
    (of 365/12 days) that end on its date; all of it falls on the date when the build takes
    no time. Spending before the start is left out (it is in the opening balance sheet).
    """
    out = np.zeros(days)
    for e in expansions:
        total = e.mw * e.capex_usd_per_mw
        end = (e.date - start).days
        build_days = max(int(round(e.build_months * units.DAYS_PER_YEAR / units.MONTHS_PER_YEAR)), 1)
        lo, hi = max(end - build_days + 1, 0), min(end, days - 1)
        if lo <= hi:
            out[lo:hi + 1] += total / build_days
    return out
