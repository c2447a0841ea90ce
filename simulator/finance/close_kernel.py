"""The close's small steps, compiled: the day's stock compensation grant and its bookings, the flow lines'
settlement, an ATM raise and the funding waterfall's cash need and BTC sale.

The numpy forms are the reference and stay where they were (:meth:`simulator.finance.ledger.Ledger.
_stock_compensation`'s grant, ``Ledger._fund`` and ``_atm``, and :meth:`simulator.finance.books.LineBook.settle`);
each pass here does their IEEE operations in their order per path, so every number is theirs bit for bit
(tests/test_close_kernel.py):

* :func:`sbc_book`: the trailing 30-day average share price ``Σ S / min(seen, 30)`` (the ring's rows
  added in order from ``+0.0``, as numpy's ``sum(axis=0)`` of a C-ordered ``(rows, ≥ 2 paths)`` table
  does), the expense ``k × alive × (S̄ ≥ S_min)`` (a boolean taken as 1.0 or 0.0 in each product, as
  numpy casts it), capped at ``m × S̄`` by numpy's ``minimum`` (:mod:`simulator.kernel_math`), and the
  shares ``expense / S̄`` where ``S̄ ≥ S_min`` (else ``+0.0``), booked
  (:func:`simulator.finance.book_kernel.book_segments`; the segments' parts ``expense × share``) and added
  to the shares outstanding. Units: USD a day, USD/share, shares.
* :func:`settle`: the pending rows of the day's ``(lines, paths)`` table added into the month's and the
  running sums and cleared. The numpy form adds every row; a row not booked holds ``+0.0``, and
  ``x + 0.0`` is ``x`` for every ``x`` but ``−0.0``, which a sum that starts at ``+0.0`` never is
  (round to nearest gives ``−0.0`` only for ``−0.0 + −0.0``), so skipping it changes no bit.

* :func:`fund`: the funding waterfall, a path at a time: the cash need ``max(c_min − cash, 0) × alive``
  (numpy's ``maximum``: a NaN kept, a tie giving ``+0.0``; the boolean as 1.0 or 0.0), then each source in
  the funding order: a BTC sale ``min(min(T, need / P), T)`` at the day's close ``P`` [BTC, USD/BTC], proceeds
  ``btc × P``, treasury ``T − btc`` and cash ``cash + proceeds``, or an ATM raise (:func:`atm`'s operations on
  the state as the sources before left it), and the need again from the new cash
  (:meth:`~simulator.finance.ledger.Ledger._fund`, ``_sell_btc`` and ``_atm``); nothing moves unless some path
  needs cash (numpy's ``any()``). Its bookings follow, a line a time in the waterfall's order
  (:func:`simulator.finance.book_kernel.book`: settled at once).

Compiled with ``cache=True`` and ``nogil``, ``error_model="numpy"``, never ``parallel`` (worker processes
fork); loaded by :data:`simulator.finance.close_steps.CLOSE_KERNEL` once a run's closes pay for it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator import numba_cache
from simulator.finance.book_kernel import book, book_segments
from simulator.kernel_math import maximum, minimum

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True, error_model="numpy")
def sbc_book(ring, alive, scalars, mining, hosting, hpc, split, shares, tables, rows, out):
    """The day's grant of ``usd_per_day`` at the ring's trailing average over ``days`` (≥ 1) rows (capped at
    ``max_shares_per_day × average`` if ``capped``; ``scalars`` holds ``days``, ``usd_per_day``,
    ``max_shares_per_day``, 1.0 if ``capped``, and the smallest traded price ``min_price``), booked as
    ``Ledger._stock_compensation`` books it into ``tables`` (a ``LineBook``'s month, total and day): ``rows``
    the line rows of ``sbc_usd``, ``sbc_mining_usd`` (then ``sbc_hosting_usd`` and ``sbc_hpc_usd`` if ``split``:
    the expense × each segment's share) and ``shares_issued``; ``out[0]`` the expense [USD], ``out[1]`` the
    shares outstanding plus the grant."""
    n, paths = ring.shape
    d, usd_per_day, max_shares_per_day = scalars[0], scalars[1], scalars[2]
    capped, min_price = scalars[3] != 0.0, scalars[4]
    expense, granted = out[0], out[1]
    for p in range(paths):  # (the sums row by row into out[1]: contiguous, as numpy's sum(axis=0) runs)
        granted[p] = 0.0
    for r in range(n):
        for p in range(paths):
            granted[p] = granted[p] + ring[r, p]
    for p in range(paths):
        average = granted[p] / d
        tradable = average >= min_price
        e = usd_per_day * (1.0 if alive[p] else 0.0)
        e = e * (1.0 if tradable else 0.0)
        if capped:
            e = minimum(e, max_shares_per_day * average)
        expense[p] = e
        granted[p] = e / average if tradable else 0.0
    book_segments(tables, rows, expense, mining, hosting, hpc, split)
    book(tables, rows[rows.shape[0] - 1], granted, granted, False)
    for p in range(paths):
        granted[p] = shares[p] + granted[p]


@njit(cache=True, nogil=True, error_model="numpy")
def settle(tables, pending):
    """Add the rows ``pending`` of ``today`` into ``month`` and ``total``, then set them to ``+0.0`` (``tables``: a
    ``LineBook``'s month, total and day)."""
    month, total, today = tables[0], tables[1], tables[2]
    paths = today.shape[1]
    for k in range(pending.shape[0]):
        i = pending[k]
        for p in range(paths):
            a = today[i, p]
            month[i, p] = month[i, p] + a
            total[i, p] = total[i, p] + a
            today[i, p] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def atm(net_usd, share_price, used, issued, opening_shares, nav_per_share, basic, cash, equity, scalars, out):
    """:meth:`simulator.finance.ledger.Ledger._atm` of every path, from the state: the quarter's ATM
    gross [USD] and shares issued, the quarter's opening shares, the NAV per share [USD/share], the
    shares, cash and equity [USD]; ``scalars`` :func:`_raise`'s. ``out`` rows: the net raised [USD], the
    shares issued, then the new gross, shares issued, shares, cash and equity (:func:`_raise` on a copy of
    the state)."""
    for p in range(net_usd.shape[0]):
        out[2, p], out[3, p], out[4, p], out[5, p], out[6, p] = used[p], issued[p], basic[p], cash[p], equity[p]
    _raise(net_usd, share_price, opening_shares, nav_per_share, scalars, out[2], out[3], out[4], out[5], out[6],
           out[1], out[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _need(min_cash, cash, alive, out):
    """``out ← max(min_cash − cash, 0.0) × alive`` [USD]; returns how many are nonzero or NaN (numpy's
    ``any()``)."""
    nonzero = 0
    for p in range(cash.shape[0]):
        need = maximum(min_cash - cash[p], 0.0) * (1.0 if alive[p] else 0.0)
        out[p] = need
        if need != 0.0:
            nonzero += 1
    return nonzero


@njit(cache=True, nogil=True, error_model="numpy")
def _sale(need, price, treasury, cash, sold, proceeds):
    """The waterfall's BTC sale for ``need`` [USD] at ``price`` [USD/BTC]: ``treasury`` [BTC] and ``cash`` [USD]
    updated in place, the BTC ``sold`` and its ``proceeds`` [USD] written."""
    for p in range(need.shape[0]):
        btc = minimum(minimum(treasury[p], need[p] / price[p]), treasury[p])
        sold[p], proceeds[p] = btc, btc * price[p]
        treasury[p] = treasury[p] - btc
        cash[p] = cash[p] + proceeds[p]


@njit(cache=True, nogil=True, error_model="numpy")
def _raise(need, share_price, opening_shares, nav_per_share, scalars, used, issued, shares, cash, equity, granted, net):
    """An ATM raise of ``need`` [USD] net (``Ledger._atm``'s operations in its order): ``scalars`` the quarter's
    cap [USD], the dilution cap as a fraction, the price-to-NAV floor, the price floor [USD], ``1 − fee``, the
    NAV floor's tolerance factor and the smallest traded price [USD], then 1.0 if the fee is below 1; the
    quarter's gross and shares issued, the shares, cash and equity updated in place, the shares ``granted``
    and the ``net`` raised written (neither may be another argument: they hold the room, then the gross, first).
    Each path's operations as in one loop, in short loops of a few arrays each (one loop over the eleven stayed
    scalar code: LLVM cannot rule out their overlap; ~5 → ~4 µs at 500 paths)."""
    cap, dilution, to_nav, min_price, kept, tolerance, min_traded, fee_below_one = scalars
    paths = need.shape[0]
    for p in range(paths):  # the room [USD], into granted
        granted[p] = minimum(maximum(cap - used[p], 0.0),
                             maximum(dilution * opening_shares[p] - issued[p], 0.0) * share_price[p])
    for p in range(paths):  # the gross [USD], into net
        price = share_price[p]
        floor = maximum(to_nav * nav_per_share[p], min_price)
        allowed = price >= min_traded and price >= floor * tolerance
        net[p] = minimum(need[p] / kept if fee_below_one else 0.0, granted[p]) * (1.0 if allowed else 0.0)
    for p in range(paths):  # the quarter's gross, the shares granted, the net
        gross, price = net[p], share_price[p]
        used[p] = used[p] + gross
        granted[p] = gross / price if price >= min_traded else 0.0
        net[p] = gross * kept
    for p in range(paths):
        issued[p] = issued[p] + granted[p]
    for p in range(paths):
        shares[p] = shares[p] + granted[p]
    for p in range(paths):
        cash[p] = cash[p] + net[p]
    for p in range(paths):
        equity[p] = equity[p] + net[p]


@njit(cache=True, nogil=True, error_model="numpy")
def fund(scalars, sources, alive, cash, treasury, price, share_price, used, issued, opening_shares, nav_per_share,
         shares, equity, tables, rows, out):
    """The funding waterfall (``Ledger._fund``) of every path, booked: ``scalars`` the cash floor [USD], then
    :func:`atm`'s scalars; ``sources`` the funding order (0 a BTC sale, 1 an ATM raise); the state: cash [USD],
    treasury [BTC], the day's close [USD/BTC], the share price for issuance [USD/share], the quarter's ATM gross
    [USD] and shares issued, its opening shares, the NAV per share [USD/share], the shares and equity [USD];
    ``rows`` the line rows of ``btc_sold``, ``btc_sales_usd``, ``shares_issued`` and ``atm_proceeds_usd`` in
    ``tables`` (a ``LineBook``'s). ``out`` rows: the new cash, treasury, ATM gross, ATM shares, shares and equity,
    then each source's two amounts (the BTC sold and its proceeds, or the shares issued and the net raised),
    then the need. Returns 0 if no path needs cash (only the need row written: the numpy form moves nothing),
    else 1."""
    min_cash, paths, m = scalars[0], cash.shape[0], sources.shape[0]
    need = out[6 + 2 * m]
    if _need(min_cash, cash, alive, need) == 0:
        return 0
    c, t, u, q, s, e = out[0], out[1], out[2], out[3], out[4], out[5]
    for p in range(paths):  # (the state's rows; each source a pass over every path, in its own function: vector code)
        c[p], t[p], u[p], q[p], s[p], e[p] = cash[p], treasury[p], used[p], issued[p], shares[p], equity[p]
    for k in range(m):
        if sources[k] == 0:  # (Ledger._fund's sale, then _sell_btc)
            _sale(need, price, t, c, out[6 + 2 * k], out[7 + 2 * k])
        else:  # (Ledger._atm, as atm above)
            _raise(need, share_price, opening_shares, nav_per_share, scalars[1:], u, q, s, c, e, out[6 + 2 * k],
                   out[7 + 2 * k])
        _need(min_cash, c, alive, need)
    for k in range(m):  # (the bookings in the waterfall's order, a line booked twice as book() takes its second)
        first = 0 if sources[k] == 0 else 2
        book(tables, rows[first], out[6 + 2 * k], out[6 + 2 * k], False)
        book(tables, rows[first + 1], out[7 + 2 * k], out[7 + 2 * k], False)
    return 1


@njit(cache=True, nogil=True, error_model="numpy")
def fund_day(scalars, sources, alive, cash, treasury, price, share_price, used, issued, opening_shares, nav_per_share,
             shares, equity, tables, rows, out):
    """``Ledger.close_day``'s funding step: −1 if no path's ``cash < min_cash`` (numpy's ``count_nonzero`` of the
    comparison; nothing written), else :func:`fund` (same arguments) and ``2 × short + fund's return``, ``short``
    the paths whose cash after it (``out[0]`` if it moved something, else ``cash``) is below 0."""
    min_cash, below = scalars[0], 0
    for p in range(cash.shape[0]):
        below += 1 if cash[p] < min_cash else 0
    if below == 0:
        return -1
    moved = fund(scalars, sources, alive, cash, treasury, price, share_price, used, issued, opening_shares,
                 nav_per_share, shares, equity, tables, rows, out)
    after, short = out[0] if moved else cash, 0
    for p in range(cash.shape[0]):
        short += 1 if after[p] < 0.0 else 0
    return 2 * short + moved
