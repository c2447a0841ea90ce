"""A line's booking in the compiled finance steps, settled at once (the close's steps,
:mod:`simulator.finance.close_kernel`, and a BTC-backed loan's day, :mod:`simulator.finance.credit_kernel`).

* :func:`book`: ``LineBook.book`` of an amount ``a`` (× a share if ``split``) on a line, settled at once: the
  line's month and running sums ``m`` become ``(m + t) + a`` and its day's row ``t`` (an amount booked earlier
  today, pending, else ``+0.0``) is cleared; ``LineBook.book`` adds ``t`` when ``a`` is booked and ``a`` when the
  day settles or the line's next amount comes, so each sum sees the same additions in the same order; where
  nothing is pending ``t`` is ``+0.0``, and ``m + 0.0`` is ``m`` (a sum that starts at ``+0.0`` is never ``−0.0``:
  round to nearest gives ``−0.0`` only for ``−0.0 + −0.0``).
* :func:`book_segments`: a corporate cost booked as :class:`simulator.finance.ledger.Ledger` books it: the
  amount on its line, then × the mining, hosting and HPC shares on their lines (the mining line alone, the
  whole amount, without the segments' split).

Pure additions in numpy's order: the numpy bookings (``LineBook``) are the reference, bit for bit
(tests/test_close_kernel.py, tests/test_credit_kernel.py). Units: those of the amount (USD, shares).
"""
from __future__ import annotations

from numba import njit

from simulator import numba_cache

numba_cache.configure()


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def book(tables, i, amount, share, split):
    """``LineBook.book`` of ``amount`` (``LineBook.book_product`` of ``amount × share`` if ``split``) on line row
    ``i`` of ``tables`` (a ``LineBook``'s month, total and day), settled at once: the day's pending amount added
    first, then this one, and the day's row cleared (a row at a time: a path at a time over several rows runs
    ~40× slower)."""
    month, total, today = tables[0], tables[1], tables[2]
    for p in range(amount.shape[0]):
        a = amount[p] * share[p] if split else amount[p]
        month[i, p] = (month[i, p] + today[i, p]) + a
        total[i, p] = (total[i, p] + today[i, p]) + a
        today[i, p] = 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def book_segments(tables, rows, amount, mining, hosting, hpc, split):
    """:func:`book` of ``amount`` on line row ``rows[0]``, then on its segments' rows: × the ``mining``, ``hosting``
    and ``hpc`` shares on ``rows[1]``, ``rows[2]``, ``rows[3]`` if ``split``, else the whole amount on ``rows[1]``."""
    book(tables, rows[0], amount, amount, False)
    if split:
        book(tables, rows[1], amount, mining, True)
        book(tables, rows[2], amount, hosting, True)
        book(tables, rows[3], amount, hpc, True)
    else:
        book(tables, rows[1], amount, amount, False)
