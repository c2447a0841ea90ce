"""Straight-line depreciation of machine cohorts and the impairment of retired units.

Book value of a unit bought for ``cost`` on day ``t0`` with a useful life of ``L`` days:
``BV(t) = cost × max(0, 1 − (t − t0)/L)``; depreciation per day is ``cost / L`` while
``0 ≤ t − t0 < L``. DESIGN.md's default carries opening cohorts at their cost depreciated
since ``deployed``; issue 6 fixes the default ASIC life at 3 years (miners' filings use 2–5
years: Galaxy Research, "How much does it cost to mine a bitcoin", on why schedules differ).
Retiring units writes off their remaining book value against the resale proceeds.
"""
from __future__ import annotations

import numpy as np

from simulator import units

#: Default useful life of ASICs [years] (issue 6).
ASIC_LIFE_YEARS = 3.0


def book_value_usd(cost_usd, start_day, day, life_years: float = ASIC_LIFE_YEARS):
    """Book value [USD] on ``day`` of assets costing ``cost_usd`` from ``start_day`` (broadcasts).

    Before ``start_day`` an asset is not on the books (0).

    Examples
    --------
    >>> float(book_value_usd(3650.0, 0, 365))  # a third of a 3-year life gone
    2433.3333333333335
    """
    return np.asarray(cost_usd, dtype=float) * remaining_fraction(start_day, day, life_years)


def remaining_fraction(start_day, day, life_years: float = ASIC_LIFE_YEARS):
    """Share of the cost still on the books on ``day``: ``clip(1 − (day − start)/L, 0, 1)``, 0 before
    ``start_day`` (broadcasts; ``day`` may be an array of days)."""
    life_days = life_years * units.DAYS_PER_YEAR
    age = np.asarray(day, dtype=float) - np.asarray(start_day, dtype=float)
    return np.where(age < 0, 0.0, np.clip(1.0 - age / life_days, 0.0, 1.0))


def depreciation_usd(cost_usd, start_day, day, life_years: float = ASIC_LIFE_YEARS):
    """Depreciation charged on ``day`` [USD]: ``cost / L`` while the asset is in its life.

    Summed over a whole life it equals the cost (up to the final partial day).

    Examples
    --------
    >>> float(depreciation_usd(3650.0, 0, 10, life_years=1.0))
    10.0
    """
    return _charge(book_value_usd(cost_usd, start_day, day, life_years),
                   book_value_usd(cost_usd, start_day, np.asarray(day, dtype=float) + 1, life_years), start_day, day)


def _charge(value_usd, next_value_usd, start_day, day):
    """The day's charge from the book values on ``day`` and ``day + 1`` (0 before ``start_day``)."""
    in_service = np.asarray(day, dtype=float) >= np.asarray(start_day, dtype=float)
    charge = value_usd - next_value_usd
    return charge if in_service.all() and charge.shape == np.broadcast(in_service, charge).shape \
        else np.where(in_service, charge, 0.0)


class CohortBookValues:
    """:func:`book_value_usd` and :func:`depreciation_usd` of cohorts ``(cohorts, paths)`` day after day,
    each day's book values computed once.

    A day's depreciation needs the book values on ``day`` and ``day + 1``, and the next day's
    retirements those on ``day + 1`` again: the last few days' values are kept while the cost
    array is the same object (its owner replaces it when costs change; the array and the values
    are made read-only, so a write into either raises instead of leaving stale values), so every
    value is the one :func:`book_value_usd` would return.
    """

    def __init__(self, start_day, life_years: float):
        self.start_day, self.life_years = start_day, life_years
        self._kept: dict[int, tuple] = {}  # day -> (cost array, book values)
        self._fractions, self._first_day = np.empty((0,) + np.shape(start_day)), 0  # remaining_fraction by day

    def fraction(self, day: int) -> np.ndarray:
        """:func:`remaining_fraction` of every cohort on ``day`` ``(cohorts, 1)`` (the book value is cost × it)."""
        return self._fraction(day)

    def _fraction(self, day: int) -> np.ndarray:
        """:func:`remaining_fraction` on ``day``, from a table of a year of days at a time (the same
        elementwise arithmetic on an array of days; one lookup a day instead of a few small calls)."""
        i = day - self._first_day
        if not 0 <= i < len(self._fractions):
            days = np.arange(day, day + units.DAYS_PER_YEAR).reshape((-1,) + (1,) * np.ndim(self.start_day))
            self._fractions, self._first_day, i = remaining_fraction(self.start_day, days, self.life_years), day, 0
        return self._fractions[i]

    def on(self, cost_usd: np.ndarray, day: int) -> np.ndarray:
        """Book value of every unit's cost on ``day`` (at 00:00)."""
        kept = self._kept.get(day)
        if kept is not None and kept[0] is cost_usd:
            return kept[1]
        value = np.asarray(cost_usd, dtype=float) * self._fraction(day)  # book_value_usd
        cost_usd.flags.writeable = False  # the cache holds only while the array never changes: a write raises
        value.flags.writeable = False
        self._kept[day] = (cost_usd, value)
        if len(self._kept) > 3:
            del self._kept[next(iter(self._kept))]
        return value

    def depreciation_usd(self, cost_usd: np.ndarray, day: int) -> np.ndarray:
        """:func:`depreciation_usd` of ``cost_usd`` on ``day``."""
        value, next_value = self.on(cost_usd, day), self.on(cost_usd, day + 1)
        start = np.asarray(self.start_day, dtype=float)
        if start.ndim != 2 or start.shape[1] != 1 or value.shape[0] != start.shape[0]:
            return _charge(value, next_value, start, day)
        # one start day per cohort (row): _charge's mask, applied to whole rows in place
        waiting = ~(float(day) >= start[:, 0])
        charge = value - next_value
        if waiting.any():
            charge[waiting] = 0.0
        return charge


def impairment_usd(book_value_retired_usd, proceeds_usd):
    """Loss on retiring units: remaining book value − resale proceeds (a gain if negative)."""
    return np.asarray(book_value_retired_usd, dtype=float) - np.asarray(proceeds_usd, dtype=float)
