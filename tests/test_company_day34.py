"""Session 34 (comp34, issue 19): the company's and the debt books' shortcuts, each against the code it
replaces (embedded here), byte for byte. The whole runs are compared file by file (docs/decisions.md)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import block, units
from simulator.block import OpsBlock
from simulator.columns import stored
from simulator.day_record import STOPPED_TRADES
from simulator.finance import debt
from simulator.finance.books import DIRECT_PATHS, LineBook
from simulator.fleet import Trades


# --------------------------------------------------------------------------- the convertible's day
def _convertible_day_before(self, ledger, cal) -> None:
    """``ConvertibleBook.day`` at c66f1b9 (the next maturity kept as the minimum of every path's)."""
    if not cal.month_end and cal.day < self._first_maturity_day:
        return
    alive, day = ledger.alive & (self.balance_usd > 0), cal.day
    if cal.month_end:
        ledger.pay_interest(np.where(alive, self.balance_usd * self.coupon / units.MONTHS_PER_YEAR, 0.0))
    due = alive & (self.maturity_day == day)
    if not due.any():
        return
    price = ledger.share_price_usd
    convert = due & self.in_the_money(price)
    ledger.convert(np.where(convert, self.balance_usd, 0.0), np.where(convert, self.conversion_shares(price), 0.0))
    self.balance_usd = np.where(convert, 0.0, self.balance_usd)
    rest = due & ~convert
    if self.cfg.refinance is not None:
        ledger.flag("refinanced", rest)
        self.coupon = np.where(rest, self.coupon + self.cfg.refinance.spread, self.coupon)
        self.maturity_day = np.where(rest, day + round(self.cfg.refinance.years * units.DAYS_PER_YEAR),
                                     self.maturity_day)
        self._one_maturity = None
        self._first_maturity_day = int(self.maturity_day.min())
    else:
        ledger.repay(np.where(rest, self.balance_usd, 0.0))
        self.balance_usd = np.where(rest, 0.0, self.balance_usd)


class _Recorder:
    """The ledger calls a convertible makes, recorded with their arrays' bytes."""

    def __init__(self, alive, prices):
        self.alive, self.prices, self.calls, self.share_price_usd = alive, prices, [], None

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name,) + tuple(np.asarray(a).tobytes() if not isinstance(a, str) else a for a in args))
        return call


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), refinance=st.booleans(), capped=st.booleans())
def test_convertible_day_skips_to_the_next_maturity(seed, refinance, capped):
    """Over two years of days (month ends, the maturity, a refinancing's second maturity, paths stopping and
    share prices either side of the conversion price), the book's calls and state are the old day's."""
    rng = np.random.default_rng(seed)
    paths, start = 6, dt.date(2025, 1, 1)
    cfg = SimpleNamespace(principal_usd=1e8, coupon=0.02, maturity=dt.date(2025, 3, 15), conversion_price_usd=10.0,
                          capped_call_price_usd=12.5 if capped else None,
                          refinance=SimpleNamespace(spread=0.03, years=0.5) if refinance else None)
    books = [debt.ConvertibleBook(cfg, start, paths) for _ in range(2)]
    ledgers = [_Recorder(None, None) for _ in range(2)]
    alive = np.ones(paths, dtype=bool)
    for day in range(730):
        date = start + dt.timedelta(days=day)
        cal = SimpleNamespace(day=day, month_end=(date + dt.timedelta(days=1)).month != date.month)
        if rng.random() < 0.01:  # a path stops
            alive = alive.copy()
            alive[rng.integers(paths)] = False
        price = rng.uniform(5.0, 15.0, paths)
        for book, ledger, form in zip(books, ledgers, (_convertible_day_before, debt.ConvertibleBook.day)):
            ledger.alive, ledger.share_price_usd = alive, price
            form(book, ledger, cal)
    assert ledgers[0].calls == ledgers[1].calls
    assert any(c[0] in ("convert", "repay", "flag") for c in ledgers[1].calls)  # a maturity was met
    for name in ("balance_usd", "coupon", "maturity_day"):
        assert getattr(books[0], name).tobytes() == getattr(books[1], name).tobytes()


def test_convertible_after_its_maturities_tests_no_path():
    """Past every maturity a day that is not a month end returns before any array is made."""
    cfg = SimpleNamespace(principal_usd=1e8, coupon=0.0, maturity=dt.date(2025, 1, 10), conversion_price_usd=10.0,
                          capped_call_price_usd=None, refinance=None)
    book = debt.ConvertibleBook(cfg, dt.date(2025, 1, 1), 3)
    ledger = _Recorder(np.ones(3, dtype=bool), None)
    ledger.share_price_usd = np.full(3, 5.0)
    book.day(ledger, SimpleNamespace(day=9, month_end=False))  # repaid in cash
    assert [c[0] for c in ledger.calls] == ["convert", "repay"]
    book.balance_usd = None  # (any later test of the paths would fail)
    book.day(ledger, SimpleNamespace(day=10, month_end=False))
    assert book._first_maturity_day > 10**9


# --------------------------------------------------------------------------- a stop's trades
def _masked_trades_before(block, t):
    """``OpsBlock._masked_trades`` at c66f1b9 (each field tested on its own)."""
    masked = {name: block._times(getattr(t, name), zeros_kept=True) for name in STOPPED_TRADES}
    if all(x is getattr(t, name) for name, x in masked.items()):
        return t
    return stored(type(t), {**vars(t), **masked})


def _trades_days(rng, paths, cohorts, k):
    """Days of trades as the fleet makes them: a block's unchanged days (rows of one table of zeros, broadcast
    +0.0 tables), days with amounts, a table of zeros but for one element, −0.0, NaN and a non-float view."""
    nothing = np.broadcast_to(0.0, (cohorts, paths))
    zeros, spoiled, signed = np.zeros((4, k, paths)), np.zeros((4, k, paths)), np.zeros((4, k, paths))
    spoiled[2, rng.integers(k), rng.integers(paths)] = rng.choice([1.0, np.nan, 5e-324])
    signed[1] = -0.0
    ints = np.zeros((k, paths), dtype=np.int64)
    days = []
    for d in range(k):
        for table in (zeros, spoiled, signed):
            days.append(stored(Trades, dict(
                delivered_units=nothing, cost_usd_by_cohort=None, purchase_capex_by_cohort=nothing,
                purchase_capex_usd=table[0, d], retired_units_by_cohort=nothing, units_retired=table[1, d],
                retired_ths=table[2, d], resale_value_usd=table[3, d], fleet_market_value_usd=rng.random(paths),
                installed_ehs=rng.random(paths))))
        busy = rng.random((cohorts, paths)) * (rng.random((cohorts, paths)) < 0.3)
        days.append(stored(Trades, dict(
            delivered_units=busy, cost_usd_by_cohort=busy, purchase_capex_by_cohort=busy * 3.0,
            purchase_capex_usd=busy.sum(axis=0), retired_units_by_cohort=np.broadcast_to(-0.0, (cohorts, paths)),
            units_retired=signed[1, d].view(np.int64) if d % 2 else ints[d], retired_ths=np.zeros(paths),
            resale_value_usd=-busy[0],
            fleet_market_value_usd=rng.random(paths), installed_ehs=rng.random(paths))))
    return days


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_stop_masks_trades_as_field_by_field(seed):
    """A stop's trades with the zero tables known (one dict for the stop) are the field-by-field masking's:
    the same object where it kept the day, each field the same object where it kept the field, else the same
    bytes."""
    rng = np.random.default_rng(seed)
    paths, cohorts, k = 7, 3, 5
    block = OpsBlock.open(0, k, 1, paths)
    block.stopped = rng.random(paths) < 0.6
    block._alive_usd = block.stopped.astype(float)
    days, zero_tables = _trades_days(rng, paths, cohorts, k), {}
    for t in days:
        before, after = _masked_trades_before(block, t), block._masked_trades(t, zero_tables)
        assert (after is t) == (before is t)
        for name in STOPPED_TRADES:
            x, a, b = getattr(t, name), getattr(after, name), getattr(before, name)
            assert (a is x) == (b is x) and a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
        assert vars(after).keys() == vars(before).keys()
    assert any(zero_tables.values()) and not all(zero_tables.values())


# --------------------------------------------------------------------------- a segment's booking
@pytest.mark.parametrize("paths", [5, DIRECT_PATHS])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_book_product_is_book_of_the_product(paths):
    """``LineBook.book_product(line, a, f)`` leaves every table as ``book(line, a × f)`` does, over days with a line
    booked once, twice (the first amount then goes in first) or not at all, mixed with :meth:`book`, in both modes."""
    rng = np.random.default_rng(paths)
    special = np.array([0.0, -0.0, np.nan, np.inf, 5e-324, -1.5])
    names = ("a", "b", "c")
    books = [LineBook(names, paths) for _ in range(2)]
    for day in range(12):
        for _ in range(4):
            line = names[rng.integers(3)]
            amount = np.where(rng.random(paths) < 0.3, rng.choice(special, paths), rng.normal(size=paths))
            factor = rng.random(paths) if rng.random() < 0.8 else rng.choice(special, paths)
            if rng.random() < 0.3:
                for book in books:
                    book.book(line, amount)
            else:
                books[0].book(line, amount * factor)
                books[1].book_product(line, amount, factor)
        assert books[0]._pending == books[1]._pending
        assert books[0].tables.tobytes() == books[1].tables.tobytes()
        for book in books:
            book.settle()
        assert books[0].tables.tobytes() == books[1].tables.tobytes()


# --------------------------------------------------------------------------- the stop's zero tests
@pytest.mark.parametrize("size", [1, 500, block._ANY_FROM - 1, block._ANY_FROM, 15_000])
@pytest.mark.parametrize("dtype", [float, bool, np.int64])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonzero_is_count_nonzero(size, dtype):
    """``block._nonzero`` answers as ``count_nonzero`` (numpy's ``any()``) on either side of its size threshold:
    ±0.0 everywhere, one NaN, subnormal, −0.0 or 1 anywhere, 2-d tables and broadcast ones."""
    rng = np.random.default_rng(size)
    for value in (np.nan, 5e-324, -0.0, 1.0, np.inf):
        x = np.zeros(size, dtype=float)
        x[rng.integers(size)] = value
        x = x.astype(dtype) if dtype is not float else x
        for a in (x, np.zeros(size, dtype=dtype), -np.zeros(size) if dtype is float else x, x.reshape(1, -1),
                  np.broadcast_to(x[:1], (3, size))):
            assert block._nonzero(a) == bool(np.count_nonzero(a))
