"""A BTC-backed loan's close, compiled: :func:`simulator.finance.credit.collateral_close` in passes over the paths.

:func:`simulator.finance.credit.collateral_quiet` and :func:`simulator.finance.credit.collateral_step`
(numpy) are the reference. Each of the step's blocks (margin call, cure ending, release) runs for
every path once any path takes it, where a path that does not take it gets the block's ``+ 0.0``
and ``− 0.0`` (which turn a ``−0.0`` into ``+0.0``); the passes here do the same, one pass a block,
with the same floating-point operations in the same order and numpy's ``maximum``/``minimum``
(NaN-propagating, the second operand on a tie), so every number is the reference's, bit for bit
(tests/test_credit_kernel.py); ``error_model="numpy"`` makes a division by 0 give inf or NaN as numpy's
does, instead of raising. There is nothing transcendental in the step.

:func:`loan_day` is a loan's whole day but its maturity (:meth:`simulator.finance.debt.BtcBackedBook.day`,
whose numpy lines are the reference): the interest ``(balance × rate) / 365`` where the path owes, paid as
:meth:`simulator.finance.ledger.Ledger.pay_interest` pays it (its lines booked and settled at once, as the
close's compiled steps book theirs: :func:`simulator.finance.book_kernel.book_segments`; the cash less it and the
day's interest plus it as rows), the cash after it less the policy's minimum, then :func:`quiet` and :func:`step`
in the same call, with bits telling the caller which of the step's amounts are +0.0 on every path (those it does
not book).

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); loaded by
:data:`simulator.finance.credit.CREDIT_KERNEL` once a run's closes pay for it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator import numba_cache
from simulator.finance.book_kernel import book, book_segments
from simulator.finance.credit import CALL, LIQUIDATED, PAID, QUIET, RESIDUAL, SALE  # noqa: F401 (loan_day's status bits)
from simulator.kernel_math import maximum, minimum

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ltv(debt, pledged, price):
    """:func:`simulator.finance.instruments.ltv_unguarded` of one path (inf with nothing pledged, 0 without debt)."""
    value = pledged * price
    out = debt / value if value > 0 else np.inf
    return 0.0 if debt <= 0 else out


@njit(cache=True, nogil=True, error_model="numpy")
def quiet(debt, pledged, price, cure, ltv_margin_call, ltv_release):
    """:func:`simulator.finance.credit.collateral_quiet`: no cure open and every owing path's LTV in
    ``[ltv_release, ltv_margin_call)``."""
    for p in range(debt.shape[0]):
        if cure[p] == cure[p]:
            return False
    for p in range(debt.shape[0]):
        level = _ltv(debt[p], pledged[p], price[p])
        if not ((level >= ltv_release and level < ltv_margin_call) or debt[p] <= 0):
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def step(day, debt_in, pledged_in, treasury_in, cash, price, cure_in, ltv_initial, ltv_margin_call, ltv_liquidation,
         cure_days, liquidation_penalty, ltv_release, covered_rtol):
    """:func:`simulator.finance.credit.collateral_step`'s arrays, in its field order."""
    n = debt_in.shape[0]
    debt, pledged, treasury, cure = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    paid, sold, settled, penalty, residual = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    call, liquidate = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
    _step_into(day, debt_in, pledged_in, treasury_in, cash, price, cure_in, ltv_initial, ltv_margin_call,
               ltv_liquidation, cure_days, liquidation_penalty, ltv_release, covered_rtol,
               debt, pledged, treasury, paid, cure, call, liquidate, sold, settled, penalty, residual)
    return debt, pledged, treasury, paid, cure, call, liquidate, sold, settled, penalty, residual


@njit(cache=True, nogil=True, error_model="numpy")
def _step_into(day, debt_in, pledged_in, treasury_in, cash, price, cure_in, ltv_initial, ltv_margin_call,
               ltv_liquidation, cure_days, liquidation_penalty, ltv_release, covered_rtol,
               debt, pledged, treasury, paid, cure, call, liquidate, sold, settled, penalty, residual):
    """:func:`step` into the caller's arrays (each written in full; none the same as an input): the state the
    step starts from (copies of the inputs, the amounts +0.0), then its blocks."""
    n = debt_in.shape[0]
    owing, ending, release = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
    any_call = False
    for p in range(n):
        debt[p], pledged[p], treasury[p], cure[p] = debt_in[p], pledged_in[p], treasury_in[p], cure_in[p]
        paid[p], sold[p], settled[p], penalty[p], residual[p] = 0.0, 0.0, 0.0, 0.0, 0.0
        owing[p] = debt[p] > 0
        call[p] = owing[p] and _ltv(debt[p], pledged[p], price[p]) >= ltv_margin_call
        any_call = any_call or call[p]
    if any_call:  # the margin call's top-up, then its cure
        for p in range(n):
            c = call[p]
            posted = minimum(maximum(debt[p] / (price[p] * ltv_initial) - pledged[p], 0.0), treasury[p]) if c else 0.0
            pledged[p] = pledged[p] + posted
            treasury[p] = treasury[p] - posted
            excess = maximum(debt[p] - ltv_initial * pledged[p] * price[p], 0.0) if c else 0.0
            paid[p] = minimum(excess, maximum(cash[p], 0.0))
            debt[p] = debt[p] - paid[p]
            uncovered = c and excess - paid[p] > covered_rtol * maximum(debt[p], 1.0)
            if uncovered and cure[p] != cure[p]:
                cure[p] = day + cure_days
            if c and not uncovered:
                cure[p] = np.nan
    any_ending = False
    for p in range(n):
        ending[p] = cure[p] == cure[p] and cure[p] <= day
        liquidate[p] = ending[p]
        any_ending = any_ending or ending[p]
    if any_ending:  # a cure ends: liquidation where the LTV is still at or above ltv_liquidation
        factor = 1.0 + liquidation_penalty
        for p in range(n):
            liquidate[p] = ending[p] and owing[p] and _ltv(debt[p], pledged[p], price[p]) >= ltv_liquidation
            if ending[p]:
                cure[p] = np.nan
            if liquidate[p]:
                sold[p] = minimum(pledged[p], debt[p] * factor / (price[p] if price[p] > 0 else np.inf))
                settled[p] = minimum(debt[p], sold[p] * price[p] / factor)
            penalty[p] = sold[p] * price[p] - settled[p]
            if liquidate[p]:
                residual[p] = debt[p] - settled[p]
            treasury[p] = treasury[p] + (pledged[p] - sold[p] if liquidate[p] else 0.0)
            if liquidate[p]:
                pledged[p] = 0.0
                debt[p] = 0.0
    any_release = False
    for p in range(n):
        release[p] = not call[p] and debt[p] > 0 and _ltv(debt[p], pledged[p], price[p]) < ltv_release
        any_release = any_release or release[p]
    if any_release:  # collateral above what ltv_initial needs goes back to the treasury
        for p in range(n):
            released = maximum(pledged[p] - debt[p] / (price[p] * ltv_initial), 0.0) if release[p] else 0.0
            pledged[p] = pledged[p] - released
            treasury[p] = treasury[p] + released


# Bits of :func:`loan_day`'s status (:data:`simulator.finance.credit.QUIET` …): the close was quiet (no step: its
# rows are not written); a path had a margin call; a path was liquidated; the cash paid, the sale's amounts (sold,
# settled, penalty), the residual hold something other than +0.0 (the caller books only those).
#: Rows of :func:`loan_day`'s float table.
(INTEREST, DEBT, PLEDGED, TREASURY, CASH_PAID, CURE, SOLD, SETTLED, PENALTY, RESIDUAL_ROW, BALANCE, CASH,
 INTEREST_TODAY) = range(13)
LOAN_ROWS = 13
#: The lines :func:`loan_day` books, in its order (``lines``): those :meth:`simulator.finance.ledger.Ledger.pay_interest`
#: books corporate interest into (the interest, then its mining, hosting and HPC parts: the mining line alone, the
#: whole amount, without the segments' split), then the one :meth:`~simulator.finance.ledger.Ledger.repay` books the
#: margin call's cash into (:data:`REPAID`).
LOAN_LINES = ("interest_usd", "interest_corporate_mining_usd", "interest_corporate_hosting_usd",
              "interest_corporate_hpc_usd", "debt_repaid_usd")
REPAID = 4


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _not_plus_zero(x):
    """Whether ``x`` holds anything but +0.0 (−0.0 and NaN count)."""
    for v in x:
        if v != 0.0 or math.copysign(1.0, v) < 0.0:
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def loan_day(day, ledger_alive, balance, pledged, treasury, cash, min_cash, price, cure, rate, days_per_year,
             ltv_initial, ltv_margin_call, ltv_liquidation, cure_days, liquidation_penalty, ltv_release, covered_rtol,
             interest_today, tables, lines, split, mining, hosting, hpc, flag_call, flag_liquidated):
    """:meth:`simulator.finance.debt.BtcBackedBook.day` of a day that is not the loan's maturity, in one call:
    the day's interest ``balance × rate / days_per_year`` on the paths that owe (else +0.0), paid as
    ``Ledger.pay_interest`` pays corporate interest: booked into ``tables`` (the ledger's ``LineBook``'s month,
    total and day) on the rows ``lines[:4]`` of :data:`LOAN_LINES` (with ``split``, its parts × the day's
    revenue shares ``mining``, ``hosting``, ``hpc``; else the whole on the mining line), the cash ``cash −
    interest`` and the day's interest ``interest_today + interest``; the cash left after it less ``min_cash``,
    then :func:`quiet` and :func:`step` on the debt owed, and the step's first bookings as
    ``BtcBackedBook._book_step`` makes them: the margin calls and liquidations or-ed into the ledger's flags
    ``flag_call`` and ``flag_liquidated`` (in place, as ``Ledger.flag``'s ``|=``), the cash paid booked on
    ``lines[REPAID]`` and taken from the cash (``Ledger.repay``), each only where the status has its bit (a flag
    never raised leaves ``f | False`` = ``f``; an amount +0.0 on every path adds nothing). Returns ``(status, rows,
    flags)`` with ``rows`` ``(LOAN_ROWS, paths)`` (the interest, the step's floats in its field order, the new
    balance: the step's debt where the path owes, else the balance; the cash after the interest and the cash paid,
    and the day's interest after the interest) and ``flags`` ``(2, paths)`` (margin call, liquidated); the step's
    rows only where the status is not :data:`QUIET`; the caller books the sale and the residual."""
    n = balance.shape[0]
    rows = np.empty((LOAN_ROWS, n))
    flags = np.zeros((2, n), dtype=np.bool_)
    owing = np.empty(n, dtype=np.bool_)
    debt, free = np.empty(n), np.empty(n)
    interest = rows[INTEREST]
    for p in range(n):
        owing[p] = ledger_alive[p] and balance[p] > 0
        interest[p] = balance[p] * rate / days_per_year if owing[p] else 0.0
        debt[p] = balance[p] if owing[p] else 0.0
        rows[CASH, p] = cash[p] - interest[p]
        rows[INTEREST_TODAY, p] = interest_today[p] + interest[p]
        free[p] = rows[CASH, p] - min_cash
    book_segments(tables, lines, interest, mining, hosting, hpc, split)
    if quiet(debt, pledged, price, cure, ltv_margin_call, ltv_release):
        return QUIET, rows, flags
    debt_out, paid, sold, settled, penalty, residual = (rows[DEBT], rows[CASH_PAID], rows[SOLD], rows[SETTLED],
                                                        rows[PENALTY], rows[RESIDUAL_ROW])
    call, liquidate = flags[0], flags[1]
    _step_into(day, debt, pledged, treasury, free, price, cure, ltv_initial, ltv_margin_call, ltv_liquidation,
               cure_days, liquidation_penalty, ltv_release, covered_rtol, debt_out, rows[PLEDGED], rows[TREASURY],
               paid, rows[CURE], call, liquidate, sold, settled, penalty, residual)
    status = 0
    for p in range(n):
        rows[BALANCE, p] = debt_out[p] if owing[p] else balance[p]
        if call[p]:
            status |= CALL
        if liquidate[p]:
            status |= LIQUIDATED
    if _not_plus_zero(paid):
        status |= PAID
    if _not_plus_zero(sold) or _not_plus_zero(settled) or _not_plus_zero(penalty):
        status |= SALE
    if _not_plus_zero(residual):
        status |= RESIDUAL
    if status & CALL:  # Ledger.flag: f |= call
        for p in range(n):
            flag_call[p] = flag_call[p] | call[p]
    if status & LIQUIDATED:
        for p in range(n):
            flag_liquidated[p] = flag_liquidated[p] | liquidate[p]
    if status & PAID:  # Ledger.repay: the line, then the cash less it
        book(tables, lines[REPAID], paid, paid, False)
        for p in range(n):
            rows[CASH, p] = rows[CASH, p] - paid[p]
    return status, rows, flags
