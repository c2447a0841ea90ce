"""Debt instruments as pure functions: schedules, accruals and the BTC-backed loan's LTV rules.

These are the building blocks the finance ledger (issue 6) drives day by day; every function
is vectorised over paths where the state differs by path (collateral, BTC price).

Conventions: a year is 365 days (DESIGN.md) unless an instrument states its own day count;
rates are annual fractions; amounts are USD; BTC amounts are floats of BTC.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import units


# --------------------------------------------------------------------------- amortising loans
def level_payment_usd(principal_usd: float, rate_annual: float, n_months: int) -> float:
    """Monthly payment of a fully amortising loan: ``P r / (1 − (1 + r)^−n)`` with ``r = rate/12``.

    The standard annuity formula (e.g. any mortgage text); ``P / n`` when the rate is 0.

    Examples
    --------
    >>> round(level_payment_usd(100_000.0, 0.09, 12), 2)
    8745.15
    """
    if n_months <= 0:
        raise ValueError(f"n_months must be > 0, got {n_months}")
    r = rate_annual / units.MONTHS_PER_YEAR
    if r == 0:
        return principal_usd / n_months
    return principal_usd * r / (1.0 - (1.0 + r) ** -n_months)


@dataclass(frozen=True)
class ScheduleRow:
    """One month of an amortisation schedule [USD]."""

    month: int
    opening_usd: float
    interest_usd: float
    principal_usd: float
    closing_usd: float


def amortisation_schedule(principal_usd: float, rate_annual: float, n_months: int) -> list[ScheduleRow]:
    """Month-by-month schedule of a level-payment loan, rounded to the cent like a lender's.

    Each month: interest = round(opening × r, 2); principal = payment − interest (the last
    month repays whatever is left, so the loan closes at exactly 0).

    Examples
    --------
    >>> rows = amortisation_schedule(100_000.0, 0.09, 12)
    >>> rows[0].interest_usd, rows[0].principal_usd, rows[-1].closing_usd
    (750.0, 7995.15, 0.0)
    """
    payment = round(level_payment_usd(principal_usd, rate_annual, n_months), 2)
    r = rate_annual / units.MONTHS_PER_YEAR
    rows, balance = [], round(principal_usd, 2)
    for month in range(1, n_months + 1):
        interest = round(balance * r, 2)
        principal = round(balance if month == n_months else payment - interest, 2)
        closing = round(balance - principal, 2)
        rows.append(ScheduleRow(month, balance, interest, principal, closing))
        balance = closing
    return rows


# --------------------------------------------------------------------------- convertibles
def converts(share_price_usd, conversion_price_usd: float):
    """True where the holder converts at maturity: the shares are worth more than par.

    A holder converts when ``share_price > conversion_price`` (the note's conversion value
    ``principal / conversion_price × share_price`` exceeds its principal); otherwise the note
    is repaid in cash (or refinanced).
    """
    return np.asarray(share_price_usd, dtype=float) > conversion_price_usd


def conversion_shares(principal_usd: float, conversion_price_usd: float) -> float:
    """Shares issued on conversion: ``principal / conversion_price``."""
    return principal_usd / conversion_price_usd


# --------------------------------------------------------------------------- BTC-backed loans
def collateral_btc(principal_usd: float, price_usd, ltv: float):
    """BTC pledged so that the loan sits at ``ltv``: ``principal / (price × ltv)``."""
    return principal_usd / (np.asarray(price_usd, dtype=float) * ltv)


def ltv(debt_usd, pledged_btc, price_usd):
    """Loan-to-value ``debt / (pledged × price)``; infinite when nothing is pledged."""
    with np.errstate(over="ignore"):  # a tiny pledge's LTV overflows to inf
        return ltv_unguarded(debt_usd, pledged_btc, price_usd)


def ltv_unguarded(debt_usd, pledged_btc, price_usd):
    """:func:`ltv` for a caller that has set ``np.errstate(over="ignore")`` itself (entering it costs
    more than the arithmetic on a few paths)."""
    value = np.asarray(pledged_btc, dtype=float) * np.asarray(price_usd, dtype=float)
    debt = np.asarray(debt_usd, dtype=float)
    out = np.full(np.broadcast(debt, value).shape, np.inf)
    np.divide(debt, value, out=out, where=value > 0)
    return np.where(debt <= 0, 0.0, out)
