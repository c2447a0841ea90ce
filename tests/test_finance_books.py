"""The ledger's cheaper day (issue 19, "finance's day"): each shortcut gives the same floats, bit for bit.

No published numbers are pinned here: every check compares a shortcut with the plain arithmetic
it replaces (element by element, ``-0.0`` and NaN included).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulator.finance import books, credit


def _bits(x) -> bytes:
    return np.ascontiguousarray(np.asarray(x, dtype=float)).tobytes()


@pytest.mark.parametrize("paths", [1, 7, books.DIRECT_PATHS])
def test_line_book_adds_in_booking_order(paths):
    """Month and running sums equal adding each amount as it comes, a line booked twice a day included
    (``(m + a₁) + a₂`` differs from ``m + (a₁ + a₂)`` in the last bit for these amounts)."""
    rng = np.random.default_rng(19)
    names = ("a", "b", "c")
    book = books.LineBook(names, paths)
    month = {k: np.zeros(paths) for k in names}
    total = {k: np.zeros(paths) for k in names}
    for day in range(40):
        for line in ("a", "b", "a", "a") if day % 3 else ("c",):
            amount = rng.normal(size=paths) * 10.0 ** rng.integers(-8, 9)
            book.book(line, amount)
            month[line] = month[line] + amount
            total[line] = total[line] + amount
        book.settle()
        if day % 10 == 9:
            assert all(_bits(book.month_lines()[k]) == _bits(month[k]) for k in names)
            book.new_month()
            month = {k: np.zeros(paths) for k in names}
    assert all(_bits(book.total_lines()[k]) == _bits(total[k]) for k in names)


def _terms():
    return SimpleNamespace(ltv_initial=0.5, ltv_margin_call=0.75, ltv_liquidation=0.85, cure_days=2,
                           liquidation_penalty=0.05)


def _loans(paths: int, seed: int):
    """Loans across every regime: in the band, margin calls (covered or not), open and ending cures
    (some past the liquidation LTV), releases, loans repaid."""
    rng = np.random.default_rng(seed)
    debt_usd = np.where(rng.random(paths) < 0.1, 0.0, 50.0)
    price = rng.uniform(40.0, 260.0, paths)
    treasury = np.where(rng.random(paths) < 0.5, 0.0, rng.uniform(0.0, 2.0, paths))
    cash = np.where(rng.random(paths) < 0.5, -5.0, rng.uniform(0.0, 30.0, paths))
    cure = np.where(rng.random(paths) < 0.3, rng.integers(3, 7, paths).astype(float), np.nan)
    return debt_usd, np.ones(paths), treasury, cash, price, cure


@pytest.mark.parametrize("seed", range(5))
def test_collateral_step_blocks_skipped_per_path_give_the_same_floats(seed):
    """The step skips its call, liquidation and release blocks when no path takes them: each path stepped
    alone (its blocks skipped unless it takes them) equals the step over all paths (every block run)."""
    day, terms = 5, _terms()
    state = _loans(200, seed)
    together = credit.collateral_step(day, *state, terms, 0.25)
    assert together.margin_call.any() and together.liquidated.any() and not together.margin_call.all()
    for i in range(200):
        alone = credit.collateral_step(day, *(x[i:i + 1] for x in state), terms, 0.25)
        for name in together.__dataclass_fields__:
            assert getattr(alone, name).tobytes() == getattr(together, name)[i:i + 1].tobytes(), (i, name)


def test_collateral_step_shortcuts_keep_inactive_paths():
    """On a path with no call, no cure ending and no release, the step returns its inputs and flows of 0."""
    terms = _terms()
    state = (np.array([50.0, 0.0]), np.ones(2), np.array([1.0, 2.0]), np.array([3.0, 4.0]),
             np.array([100.0, 100.0]), np.full(2, np.nan))
    assert credit.collateral_quiet(*state[:2], state[4], state[5], terms, 0.25)
    step = credit.collateral_step(5, *state, terms, 0.25)
    assert _bits(step.debt_usd) == _bits(state[0]) and _bits(step.treasury_btc) == _bits(state[2])
    assert _bits(step.pledged_btc) == _bits(state[1]) and np.isnan(step.cure_end_day).all()
    for flow in (step.cash_paid_usd, step.sold_btc, step.settled_usd, step.penalty_usd, step.residual_usd):
        assert _bits(flow) == _bits(np.zeros(2))


def test_cohort_depreciation_rows_equal_the_pure_function():
    """CohortBookValues zeroes the rows of cohorts not yet in service in place: the same floats as
    :func:`~simulator.finance.depreciation.depreciation_usd`'s mask, on days before, at and after each start."""
    from simulator.finance import depreciation

    rng = np.random.default_rng(6)
    cost = rng.uniform(1_000.0, 5_000.0, (6, 9))
    start = np.array([-400.0, -30.0, 0.0, 1.0, 40.0, 900.0])[:, None]
    kept = depreciation.CohortBookValues(start, 3.0)
    for day in (-401, -1, 0, 1, 39, 40, 41, 700, 1_095, 5_000):
        assert _bits(kept.depreciation_usd(cost, day)) == _bits(depreciation.depreciation_usd(cost, start, day, 3.0))


def test_cohort_book_values_equal_the_pure_function():
    """CohortBookValues reads each day's remaining fractions from a table of a year of days: the same
    floats as :func:`~simulator.finance.depreciation.book_value_usd`, across the table's edges."""
    from simulator.finance import depreciation

    rng = np.random.default_rng(7)
    start = np.array([-500.0, -3.0, 0.0, 17.0, 364.0, 800.0])[:, None]
    kept = depreciation.CohortBookValues(start, 2.5)
    for day in (0, 1, 2, 364, 365, 366, 17, 729, 730, 1_500, 3):
        cost = rng.uniform(1_000.0, 5_000.0, (6, 4))  # a new array each day: nothing is read from the cache
        assert _bits(kept.on(cost, day)) == _bits(depreciation.book_value_usd(cost, start, day, 2.5))


@pytest.mark.parametrize("start, days", [("2026-01-01", 730), ("2024-02-29", 1100), ("2025-12-31", 1), ("2026-06-30", 2),
                                         ("2026-03-15", 0)])
def test_calendar_days_are_the_dates_own(start, days):
    """Each day's month and quarter flags, month length and days left in its month, from the dates one by one;
    the horizon's first day starts a month and a quarter and its last ends one."""
    import datetime as dt

    import pandas as pd

    from simulator.finance.ledger import calendar
    dates = pd.date_range(start, periods=days, freq="D")
    got = calendar(dates)
    assert [c.day for c in got] == list(range(days))
    for i, (c, d) in enumerate(zip(got, dates)):
        month_end = i == days - 1 or (d + pd.Timedelta(days=1)).month != d.month
        month_start = i == 0 or d.day == 1
        assert (c.month_start, c.month_end) == (month_start, month_end), d
        assert c.quarter_start == (i == 0 or (d.day == 1 and d.month % 3 == 1)), d
        assert c.quarter_end == (i == days - 1 or (month_end and d.month % 3 == 0)), d
        assert c.month_days == d.days_in_month
        last = min(dates[-1].date(), dt.date(d.year, d.month, d.days_in_month))
        assert c.days_left_in_month == (last - d.date()).days, d
