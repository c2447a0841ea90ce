"""A BTC-backed loan's collateral terms as lenders write them, one close at a time, over paths.

At each close, with ``LTV = debt / (pledged BTC × price)``:

1. **Margin call** (``LTV ≥ ltv_margin_call``): the company tops up that day, first from its
   free (treasury) BTC, then with cash above the treasury policy's ``min_cash_usd`` that pays
   the loan down, back to ``ltv_initial``:
   ``posted = min(debt / (P ltv_initial) − pledged, free BTC)``, then
   ``paid = min(debt − ltv_initial × pledged × P, cash)``.
2. **Cure period**: only a shortfall left uncovered opens a cure of ``cure_days`` (covered
   later, it closes). When the cure ends with ``LTV ≥ ltv_liquidation`` the lender sells
   collateral for the debt plus ``liquidation_penalty`` π:
   ``sold = min(pledged, debt (1 + π) / P)``, settling ``sold × P / (1 + π)`` of the debt
   (the penalty ``sold × P π / (1 + π)`` is a loss); the rest of the collateral is returned
   and any residual debt is due at once (the ledger pays it from cash, then BTC, else the
   path is in distress).
3. **Release** (``LTV < ltv_release``, default half of ``ltv_initial``): collateral above what
   ``ltv_initial`` needs returns to the treasury.

Terms of this kind are those of Galaxy's, Coinbase Credit's and similar institutional BTC
lending (margin call around 70–80 % LTV, liquidation 85–90 %, a cure of 24–48 hours); the
numbers are the user's. Units: USD, BTC, days.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.finance.instruments import collateral_btc, ltv_unguarded as ltv
from simulator.lazy_kernel import LazyKernel

#: Relative shortfall below which a top-up counts as complete (float noise).
COVERED_RTOL = 1e-12


@dataclass(frozen=True)
class CollateralStep:
    """One close of a BTC-backed loan, per path."""

    debt_usd: np.ndarray
    pledged_btc: np.ndarray
    treasury_btc: np.ndarray
    cash_paid_usd: np.ndarray
    """Cash that paid the loan down in the top-up [USD]."""
    cure_end_day: np.ndarray
    """Day the open cure ends (NaN: no cure open)."""
    margin_call: np.ndarray
    liquidated: np.ndarray
    sold_btc: np.ndarray
    settled_usd: np.ndarray
    """Debt settled by the sale [USD]."""
    penalty_usd: np.ndarray
    """Liquidation penalty [USD]."""
    residual_usd: np.ndarray
    """Debt left after a liquidation, due at once [USD]."""


@np.errstate(over="ignore")  # (for every LTV below: a tiny pledge's overflows to inf)
def collateral_quiet(debt_usd, pledged_btc, price_usd, cure_end_day, terms, ltv_release: float) -> bool:
    """Whether :func:`collateral_step` would change nothing at this close: no cure is open and every
    path that owes sits at an LTV in ``[ltv_release, ltv_margin_call)`` (no margin call, no
    liquidation, no release), so the step can be skipped (its flows would all be 0).

    >>> from types import SimpleNamespace as T
    >>> t = T(ltv_margin_call=0.75)
    >>> nan = np.array([np.nan, np.nan])
    >>> collateral_quiet(np.array([50.0, 0.0]), np.array([1.0, 0.0]), np.array([100.0, 100.0]), nan, t, 0.25)
    True
    >>> collateral_quiet(np.array([80.0]), np.array([1.0]), np.array([100.0]), np.array([np.nan]), t, 0.25)  # a call
    False
    """
    if not np.isnan(cure_end_day).all():
        return False
    level = ltv(debt_usd, pledged_btc, price_usd)
    return bool((((level >= ltv_release) & (level < terms.ltv_margin_call)) | (np.asarray(debt_usd) <= 0)).all())


@np.errstate(over="ignore")  # (for every LTV below: a tiny pledge's overflows to inf)
def collateral_step(day: int, debt_usd, pledged_btc, treasury_btc, cash_usd, price_usd, cure_end_day, terms,
                    ltv_release: float) -> CollateralStep:
    """Apply a close's margin call, cure, liquidation and release (module docstring).

    ``terms`` has ``ltv_initial``, ``ltv_margin_call``, ``ltv_liquidation``, ``cure_days`` and
    ``liquidation_penalty`` (the schema's ``BtcBacked``).

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> t = T(ltv_initial=0.5, ltv_margin_call=0.75, ltv_liquidation=0.85, cure_days=2, liquidation_penalty=0.05)
    >>> a = lambda x: np.array([x])
    >>> s = collateral_step(0, a(50.0), a(1.0), a(10.0), a(0.0), a(62.5), a(np.nan), t, 0.25)  # LTV 0.8
    >>> bool(s.margin_call[0]), round(float(s.pledged_btc[0]), 9), round(float(s.treasury_btc[0]), 9), bool(s.liquidated[0])
    (True, 1.6, 9.4, False)
    """
    debt = np.asarray(debt_usd, dtype=float).copy()
    pledged = np.asarray(pledged_btc, dtype=float).copy()
    treasury = np.asarray(treasury_btc, dtype=float).copy()
    price = np.asarray(price_usd, dtype=float)
    owing = debt > 0
    call = owing & (ltv(debt, pledged, price) >= terms.ltv_margin_call)
    cure = np.asarray(cure_end_day, dtype=float)
    # (each block below is skipped when no path takes it: it would add or subtract 0.0 and keep the cure)
    paid = np.zeros_like(debt)
    if call.any():
        posted = np.where(call, np.minimum(np.maximum(collateral_btc(debt, price, terms.ltv_initial) - pledged, 0.0),
                                           treasury), 0.0)
        pledged, treasury = pledged + posted, treasury - posted
        excess = np.where(call, np.maximum(debt - terms.ltv_initial * pledged * price, 0.0), 0.0)
        paid = np.minimum(excess, np.maximum(np.asarray(cash_usd, dtype=float), 0.0))
        debt = debt - paid
        uncovered = call & (excess - paid > COVERED_RTOL * np.maximum(debt, 1.0))
        cure = np.where(uncovered & np.isnan(cure), day + terms.cure_days, cure)
        cure = np.where(call & ~uncovered, np.nan, cure)  # covered: the cure closes
    ending = ~np.isnan(cure) & (cure <= day)
    liquidate = ending
    sold, settled, penalty, residual = (np.zeros_like(debt) for _ in range(4))
    if ending.any():
        liquidate = ending & owing & (ltv(debt, pledged, price) >= terms.ltv_liquidation)
        cure = np.where(ending, np.nan, cure)
        penalty_factor = 1.0 + terms.liquidation_penalty
        sold = np.where(liquidate, np.minimum(pledged, debt * penalty_factor / np.where(price > 0, price, np.inf)), 0.0)
        settled = np.where(liquidate, np.minimum(debt, sold * price / penalty_factor), 0.0)
        penalty = sold * price - settled
        residual = np.where(liquidate, debt - settled, 0.0)
        treasury = treasury + np.where(liquidate, pledged - sold, 0.0)
        pledged = np.where(liquidate, 0.0, pledged)
        debt = np.where(liquidate, 0.0, debt)
    release = ~call & (debt > 0) & (ltv(debt, pledged, price) < ltv_release)
    if release.any():
        released = np.where(release, np.maximum(pledged - collateral_btc(debt, price, terms.ltv_initial), 0.0), 0.0)
        pledged, treasury = pledged - released, treasury + released
    return CollateralStep(debt, pledged, treasury, paid, cure, call, liquidate, sold, settled, penalty, residual)


def collateral_close(day: int, debt_usd, pledged_btc, treasury_btc, cash_usd, price_usd, cure_end_day, terms,
                     ltv_release: float, kernel=False) -> CollateralStep | None:
    """:func:`collateral_step` of a close, or None where :func:`collateral_quiet` says nothing moves; run
    compiled (:mod:`simulator.finance.credit_kernel`, the same numbers) once a process's closes pay for it
    (:data:`CREDIT_KERNEL`; ``kernel``: the caller's answer for this close, the module or None)."""
    if kernel is False:
        kernel = CREDIT_KERNEL.for_call(len(debt_usd), NUMPY_CLOSE_COST)
    if kernel is None:
        if collateral_quiet(debt_usd, pledged_btc, price_usd, cure_end_day, terms, ltv_release):
            return None
        return collateral_step(day, debt_usd, pledged_btc, treasury_btc, cash_usd, price_usd, cure_end_day, terms,
                               ltv_release)
    if kernel.quiet(debt_usd, pledged_btc, price_usd, cure_end_day, float(terms.ltv_margin_call), float(ltv_release)):
        return None
    return CollateralStep(*kernel.step(day, debt_usd, pledged_btc, treasury_btc, cash_usd, price_usd, cure_end_day,
                                       *step_terms(terms, ltv_release)))


def step_terms(terms, ltv_release: float) -> tuple:
    """The compiled step's terms, in its argument order (:func:`simulator.finance.credit_kernel.step` and
    :func:`~simulator.finance.credit_kernel.loan_day` after the day's state): ``ltv_initial``, ``ltv_margin_call``,
    ``ltv_liquidation`` (floats), ``cure_days`` (an int), ``liquidation_penalty``, ``ltv_release`` and
    :data:`COVERED_RTOL` (floats). Made once per loan by its book (:class:`simulator.finance.debt.BtcBackedBook`),
    the same for both of its forms."""
    return (float(terms.ltv_initial), float(terms.ltv_margin_call), float(terms.ltv_liquidation), int(terms.cure_days),
            float(terms.liquidation_penalty), float(ltv_release), COVERED_RTOL)


#: Bits of a close's booking (:meth:`simulator.finance.debt.BtcBackedBook.day`; the status of
#: :func:`simulator.finance.credit_kernel.loan_day`): the close was quiet (nothing moves); a path had a margin call;
#: a path was liquidated; the cash paid, the sale's amounts (sold, settled, penalty), the residual are to be booked
#: (the compiled day leaves out an amount that is +0.0 on every path: it adds nothing to a book that is never
#: −0.0 and subtracts nothing from cash or equity). :data:`BOOK_ALL`: every flag and amount (the numpy form's).
QUIET, CALL, LIQUIDATED, PAID, SALE, RESIDUAL = 1, 2, 4, 8, 16, 32
BOOK_ALL = CALL | LIQUIDATED | PAID | SALE | RESIDUAL


#: The compiled collateral step (:meth:`LazyKernel.of_the_close`); :data:`NUMPY_CLOSE_COST` is the numpy
#: form's fixed cost (~50 µs a step, ~10 µs a quiet check).
CREDIT_KERNEL = LazyKernel.of_the_close("simulator.finance.credit_kernel")
NUMPY_CLOSE_COST = 512
