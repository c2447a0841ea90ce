"""Grid programmes of a site: demand-response calls and availability credits, and ERCOT's 4CP
transmission charge (pure functions and the charge's yearly state).

Demand response: call hours as many as independent hourly draws give, on the day's dearest hours
(:func:`demand_response_calls`), paid an availability credit per committed MW
(:func:`demand_response_credit_usd_per_day`). 4CP: transmission allocated by the load in the four
monthly June–September system peaks of the previous year (GLOSSARY.md, "4CP"): the peaks drawn
(:func:`four_cp_peak`), avoided in likely hours (:func:`four_cp_avoidance_hours`), charged per day
(:func:`transmission_usd_per_day`, :class:`FourCpCharges`).
"""
from __future__ import annotations

import numpy as np

from simulator import merit_order, units


def is_summer(month):
    """June–September: ERCOT's 4CP months and the season of most grid-stress calls (``month`` an int or
    an array of months, elementwise)."""
    return (6 <= month) & (month <= 9)


def demand_response_calls(programme, u_hours: np.ndarray, month: int, price_usd_per_mwh: np.ndarray) -> np.ndarray:
    """Call hours ``(24, paths)``: as many as independent hourly draws give, on the day's dearest hours.

    The number of call hours of a day is ``Σ_h [u_h < p]`` (binomial(24, p), p the
    programme's hourly probability, times ``summer_call_multiplier`` in June–September);
    the calls fall on that many highest-priced hours of the day (grid operators call
    demand response when the system is short, which is when real-time prices are highest).
    Hours of equal price are taken in the order of their draws, so at a fixed price the call
    hours are exactly the hours with ``u_h < p``. ``month`` is an int or each column's month
    ``(paths,)`` (a block of days as columns, :mod:`simulator.site_block`).
    """
    p = programme.call_probability * np.where(is_summer(np.asarray(month)), programme.summer_call_multiplier, 1.0)
    kernel = merit_order.INDEX_KERNEL.for_call(u_hours.size) if np.ndim(u_hours) == 2 else None
    if kernel is not None:  # the same hours, compiled (simulator.index_kernel.call_hours)
        calls, rows = np.empty(u_hours.shape, dtype=bool), np.shape(price_usd_per_mwh)
        price = merit_order.kernel_array(price_usd_per_mwh, rows if rows in ((1, calls.shape[1]), calls.shape)
                                         else calls.shape)  # one row stands for every hour
        kernel.call_hours(merit_order.kernel_array(u_hours, calls.shape),
                          merit_order.kernel_array(np.minimum(p, 1.0), calls.shape[1:]), price, calls)
        return calls
    n_calls = (u_hours < np.minimum(p, 1.0)).sum(axis=0)
    calls = np.zeros(u_hours.shape, dtype=bool)
    called = np.flatnonzero(n_calls)  # most days most paths have no call: rank only the others
    if not len(called):
        return calls
    u = u_hours[:, called]
    price = np.broadcast_to(price_usd_per_mwh, u_hours.shape)[:, called]
    order = np.lexsort((u, -price), axis=0)  # dearest first, then the smallest draw
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(u_hours.shape[0])[:, None], axis=0)
    calls[:, called] = rank < n_calls[called]
    return calls


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


class FourCpCharges:
    """A site's 4CP transmission charge through the years: last summer's peak-interval load sets next year's.

    ``prior_mw`` [MW] is the load charged until the first January after a summer in the
    horizon. Each June–September month the system peak falls on one weekday and hour
    (:func:`four_cp_peak`, drawn on the month's first simulated day); the site's load in that
    hour is recorded, and on 1 January the mean over the peaks seen becomes the new charge
    (:func:`transmission_usd_per_day`).
    """

    def __init__(self, programme, prior_mw: np.ndarray, paths: int):
        self.programme = programme
        self.usd_per_day = transmission_usd_per_day(programme, prior_mw)
        self.load_sum_mw, self.peaks_seen = np.zeros(paths), np.zeros(paths)
        self.peak_day = self.peak_hour = None

    def day(self, date, first_day: bool, energy_hourly_mwh: np.ndarray, draw_uniforms) -> np.ndarray:
        """Record the day's load at this month's peak and return the day's charge ``(paths,)`` [USD].

        ``draw_uniforms(n)`` gives the next ``(n, paths)`` uniforms of the site's 4CP stream.
        """
        if is_summer(date.month):
            if date.day == 1 or first_day:  # this month's system peak: a weekday and a likely hour
                self.peak_day, self.peak_hour = four_cp_peak(self.programme, date, draw_uniforms(2))
            at_peak = self.peak_day == date.day
            paths = np.arange(energy_hourly_mwh.shape[1])
            self.load_sum_mw += np.where(at_peak, energy_hourly_mwh[self.peak_hour, paths], 0.0)
            self.peaks_seen += at_peak
        if date.month == 1 and date.day == 1:  # next year's charge from last summer's peaks
            measured = transmission_usd_per_day(self.programme, self.load_sum_mw / np.maximum(self.peaks_seen, 1))
            self.usd_per_day = np.where(self.peaks_seen > 0, measured, self.usd_per_day)
            self.load_sum_mw, self.peaks_seen = np.zeros_like(self.load_sum_mw), np.zeros_like(self.peaks_seen)
        return self.usd_per_day
