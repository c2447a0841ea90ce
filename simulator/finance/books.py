"""The ledger's running accounts over paths: flow lines booked a day at a time, trailing windows
and long-lived asset pools.

* :class:`LineBook` keeps the month's sum, the horizon's running total and the day's row of every
  flow line as one ``(3, lines, paths)`` table (:attr:`LineBook.tables`; ``month``, ``total`` and the
  day's rows are its views). An amount booked during a day is written into the day's row of its
  line; :meth:`LineBook.settle` adds the day's rows to both sums with one array addition each
  (instead of two small additions per booking); the close's compiled steps
  (``book_kernel.book``) add an amount straight into both sums, the amount pending in the day's
  row first, and clear the row: the same additions in the same order. A line booked twice in a
  day adds its first amount before taking the second, so every element of every sum is the same sequence of
  IEEE additions as adding each amount as it comes: ``((m + a₁) + a₂)``, never ``m + (a₁ + a₂)``
  (from :data:`DIRECT_PATHS` paths, each amount is simply added as it comes).
  A line not booked in a day adds ``+0.0``, which leaves every sum unchanged (``x + 0.0 = x``
  for every ``x`` except ``−0.0``, and a sum that starts at ``+0.0`` is never ``−0.0`` in
  round-to-nearest: ``a + b`` is ``−0.0`` only when both are).
* :class:`Ring`: the last ``n`` daily values per path and their sum (the trailing 12-month
  EBITDA and interest, the dcf's 30-day run rates, the share price's 30-day average).
* :class:`AssetPool`: sites and HPC buildings and GPUs, construction in progress until the month
  after spending, then straight line over the life (depreciation per day ``base / life_days``,
  at most the book value).

Units: USD (or the line's own unit, e.g. BTC, shares), days.
"""
from __future__ import annotations

import numpy as np

from simulator import units
from simulator.finance.close_steps import CLOSE_KERNEL, NUMPY_SETTLE_COST


#: Paths from which :class:`LineBook` adds each amount as it is booked: two additions of a row are then
#: cheaper than the day's share of adding and clearing the whole ``(lines, paths)`` arrays (measured
#: break-even near 1,000 paths; below it the per-call cost of small additions dominates).
DIRECT_PATHS = 512


class LineBook:
    """Month and running totals of the flow lines ``names``, each ``(paths,)``."""

    def __init__(self, names: tuple[str, ...], paths: int):
        self.names, self.index = names, {k: i for i, k in enumerate(names)}
        self._direct = paths >= DIRECT_PATHS
        # the month's sums, the running totals and the day's pending amounts: one table, a compiled step's one argument
        self.tables = np.zeros((3, len(names), paths))
        self.month, self.total, self._today = self.tables
        self._pending: set[int] = set()
        self._rows = list(zip(self.month, self.total))  # each line's row views (the tables are filled in place)
        self._row_sets: dict[tuple[str, ...], np.ndarray] = {}

    def book(self, line: str, amount) -> None:
        """Add ``amount`` to ``line``'s month and total (as of the next :meth:`settle`)."""
        i = self.index[line]
        if self._direct:  # (the same additions, at once)
            month, total = self._rows[i]
            np.add(month, amount, out=month)
            np.add(total, amount, out=total)
            return
        if i in self._pending:  # a second amount today: the first goes in first
            month, total = self._rows[i]
            np.add(month, self._today[i], out=month)
            np.add(total, self._today[i], out=total)
        self._today[i] = amount
        self._pending.add(i)

    def book_product(self, line: str, amount, factor) -> None:
        """:meth:`book` of ``amount × factor``, the product written straight into the day's row of ``line`` where
        the amount is pending (the same floats as the product made and then copied there)."""
        i = self.index[line]
        if self._direct:
            self.book(line, amount * factor)
            return
        if i in self._pending:  # a second amount today: the first goes in first
            month, total = self._rows[i]
            np.add(month, self._today[i], out=month)
            np.add(total, self._today[i], out=total)
        np.multiply(amount, factor, out=self._today[i])
        self._pending.add(i)

    def rows_of(self, names: tuple[str, ...]) -> np.ndarray:
        """The rows of the lines ``names`` as an ``int64`` array (made once per tuple of names), for a compiled step
        that books them itself into :attr:`tables` as :meth:`book` and :meth:`settle` would (``book_kernel.book``)."""
        rows = self._row_sets.get(names)
        if rows is None:
            rows = self._row_sets[names] = np.array([self.index[k] for k in names], dtype=np.int64)
        return rows

    def settle(self) -> None:
        """Add the amounts booked since the last call to the month and the total."""
        if not self._pending:
            return
        kernel = CLOSE_KERNEL.for_call(self.month.shape[1], NUMPY_SETTLE_COST)
        if kernel is not None:  # the rows booked only (the others would add +0.0: close_kernel.py)
            kernel.settle(self.tables, self.pending_rows())
        else:
            np.add(self.month, self._today, out=self.month)
            np.add(self.total, self._today, out=self.total)
            self._today.fill(0.0)
        self._pending.clear()

    def pending_rows(self) -> np.ndarray:
        """The rows booked since the last settlement, as an ``int64`` array, for a compiled step that settles them
        itself as :meth:`settle` does (``close_kernel.settle``); :meth:`settled` then forgets them."""
        return np.fromiter(self._pending, np.int64, len(self._pending))

    def settled(self) -> None:
        """The rows of :meth:`pending_rows` were settled (by a compiled step)."""
        self._pending.clear()

    def month_lines(self) -> dict[str, np.ndarray]:
        """The month's sums so far, one row view per line (settled first)."""
        self.settle()
        return dict(zip(self.names, self.month))

    def total_lines(self) -> dict[str, np.ndarray]:
        """The running totals, one row view per line (settled first)."""
        self.settle()
        return dict(zip(self.names, self.total))

    def new_month(self) -> None:
        """The month's sums start again at 0 (after :meth:`month_lines` was read)."""
        self.settle()
        self.month.fill(0.0)


class Ring:
    """The last ``n`` daily values per path, and their sum."""

    def __init__(self, n: int, paths: int):
        self.values, self.n, self.count = np.zeros((n, paths)), n, 0

    def push(self, x) -> None:
        self.values[self.count % self.n] = x
        self.count += 1

    def slot(self) -> np.ndarray:
        """The row the next :meth:`push` would write, taken now (the caller fills it: the compiled day)."""
        row = self.values[self.count % self.n]
        self.count += 1
        return row

    def total(self) -> np.ndarray:
        return self.values.sum(axis=0)

    def annualised(self) -> np.ndarray:
        """Sum scaled to a 365-day year from the days seen (up to ``n``)."""
        return self.total() * units.DAYS_PER_YEAR / max(1, min(self.count, self.n))


class AssetPool:
    """Long-lived assets: construction in progress, then straight line from the month after spending."""

    def __init__(self, life_years: float, paths: int):
        self.life_days = max(1, round(life_years * units.DAYS_PER_YEAR))
        self.book_usd = np.zeros(paths)
        self.in_progress_usd = np.zeros(paths)
        self.base_usd = np.zeros(paths)
        self.changes: dict[int, np.ndarray] = {}
        self._idle = True  # nothing spent or placed in service yet: every amount is 0

    def place_in_service(self, cost_usd, day: int) -> None:
        self._idle = False
        self.book_usd = self.book_usd + cost_usd
        self.base_usd = self.base_usd + cost_usd
        self.changes[day + self.life_days] = self.changes.get(day + self.life_days, 0.0) - cost_usd

    def step(self, day: int, new_month: bool, spent_usd, alive) -> np.ndarray:
        """Book today's spending; on a new month put last month's in service; return today's depreciation."""
        if self._idle:  # (an idle pool adds 0.0 everywhere and charges 0.0 until its first spending)
            if not np.any(spent_usd):
                return np.zeros(len(self.book_usd))
            self._idle = False
        if new_month:
            self.place_in_service(self.in_progress_usd, day)
            self.in_progress_usd = np.zeros_like(self.in_progress_usd)
        self.in_progress_usd = self.in_progress_usd + spent_usd
        self.base_usd = self.base_usd + self.changes.pop(day, 0.0)
        charge = np.minimum(self.base_usd / self.life_days, self.book_usd) * alive
        self.book_usd = self.book_usd - charge
        return charge

    def open_step(self, day: int, new_month: bool, spent_usd) -> tuple[bool, np.ndarray | None]:
        """:meth:`step`'s flag and dated-change bookkeeping, for its arithmetic done elsewhere (the compiled
        day, which adds the same amounts): whether the pool steps today (else it charges 0.0 and keeps its
        state) and the base change falling due today (None: none, :meth:`step` adds 0.0). ``spent_usd``, the
        day's spending, is read only while the pool is :attr:`idle` (the caller may pass None otherwise)."""
        if self._idle:
            if not np.count_nonzero(spent_usd):  # (numpy's any(): nonzero or NaN, at a third of its cost)
                return False, None
            self._idle = False
        if new_month:  # (place_in_service's dated change; its book and base additions are the caller's)
            self.changes[day + self.life_days] = self.changes.get(day + self.life_days, 0.0) - self.in_progress_usd
        return True, self.changes.pop(day, None)

    @property
    def idle(self) -> bool:
        """Nothing spent or placed in service yet (:meth:`open_step` reads the day's spending only then)."""
        return self._idle

    @property
    def value_usd(self) -> np.ndarray:
        return self.book_usd + self.in_progress_usd
