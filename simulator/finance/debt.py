"""Debt instruments as day-stepped books over paths, driven by their own engine processes.

Each book holds its balance per path and, once a day, applies its dated events to the
ledger: interest, amortisation, maturities, conversions, refinancing, covenant tests, margin
calls and liquidations. The arithmetic is :mod:`simulator.finance.instruments`'.

Day counts (each instrument states its own, DESIGN.md "Conventions"):

* ``term_loan``: paid at each month end and at maturity; interest ``round(balance × r/12, 2)``
  (30/360 months, a lender's schedule to the cent); ``amortizing`` loans pay the level payment
  of :func:`~simulator.finance.instruments.amortisation_schedule` over the payment dates from
  the start to maturity, bullet loans repay at maturity. Covenants are tested at quarter
  ends on trailing-12-month figures; after ``covenant_cure_tests`` consecutive breaches
  (default 1) the next one accelerates the loan: all due that day, paid from cash, then BTC,
  else distress.
* ``convertible``: coupon ``principal × coupon / 12`` at each month end (30/360). At maturity
  it converts if the previous close's share price is above the conversion price (shares
  ``principal / K``, less a capped call's offset), else it is refinanced (``refinance``) or
  repaid in cash.
* ``btc_backed``: interest ``balance × rate / 365`` paid daily; the collateral terms of
  :func:`~simulator.finance.credit.collateral_step` (top-up, cure, liquidation with a
  penalty, release) are applied at every close; at maturity the balance is repaid and the
  collateral released, or with ``rollover`` the loan is renewed for the same tenor at the
  day's terms (re-pledged to ``ltv_initial``). A day other than the maturity runs as one compiled call
  once the process's closes pay for it (:func:`simulator.finance.credit_kernel.loan_day`, the same floats).

Each book states its years to maturity for the structural equity value (an open-ended loan
counts as 1 year).

A shortfall of cash for any payment is met by the ledger's funding waterfall at the close,
or becomes distress (never a silently negative cash balance).
"""
from __future__ import annotations

import datetime as dt
import weakref

import numpy as np
import pandas as pd

from simulator import units
from simulator.finance import credit, instruments
from simulator.finance.contracts import FIRM_VALUE_KERNEL, NUMPY_CONVERTIBLE_COST
from simulator.finance.structural import MIN_YEARS, OPEN_ENDED_YEARS
from simulator.finance.valuation import capped_call_offset_fraction


def _day_of(date: dt.date, start: dt.date) -> int:
    return (date - start).days


def _years_until(maturity_day, day: int):
    """Years from ``day`` to ``maturity_day`` (at least a day)."""
    if isinstance(maturity_day, int):  # one date for every path: the same double arithmetic, without arrays
        return max((float(maturity_day) - day) / units.DAYS_PER_YEAR, MIN_YEARS)
    return np.maximum((np.asarray(maturity_day, dtype=float) - day) / units.DAYS_PER_YEAR, MIN_YEARS)


class TermLoanBook:
    """A term loan outstanding at the start."""

    def __init__(self, cfg, start: dt.date, paths: int):
        self.cfg = cfg
        self.balance_usd = np.full(paths, float(cfg.principal_usd))
        month_ends = pd.date_range(start, cfg.maturity, freq="ME").date
        dates = [d for d in month_ends if d < cfg.maturity] + [cfg.maturity]
        self.payment_days = {_day_of(d, start): i for i, d in enumerate(dates) if d >= start}
        n = len(dates)
        if cfg.amortizing:
            rows = instruments.amortisation_schedule(cfg.principal_usd, cfg.rate, n)
            self.schedule = [(r.interest_usd, r.principal_usd) for r in rows]
        else:
            interest = round(cfg.principal_usd * cfg.rate / units.MONTHS_PER_YEAR, 2)
            self.schedule = [(interest, 0.0)] * (n - 1) + [(interest, round(cfg.principal_usd, 2))]
        self.breaches = np.zeros(paths, dtype=np.int64)  # consecutive breached tests
        self.maturity_day = _day_of(cfg.maturity, start)

    def years_left(self, day: int):
        return _years_until(self.maturity_day, day)

    def day(self, ledger, cal) -> None:
        alive, day = ledger.alive & (self.balance_usd > 0), cal.day
        if day in self.payment_days:
            interest, principal = self.schedule[self.payment_days[day]]
            ledger.pay_interest(np.where(alive, interest, 0.0))
            paid = np.where(alive, np.minimum(principal, self.balance_usd), 0.0)
            ledger.repay(paid)
            self.balance_usd = self.balance_usd - paid
        if cal.quarter_end and (self.cfg.min_interest_coverage is not None or self.cfg.max_leverage is not None):
            ebitda, interest = ledger.ttm_ebitda_usd(), ledger.ttm_interest_usd()
            breach = np.zeros_like(alive)
            if self.cfg.min_interest_coverage is not None:
                breach |= (interest > 0) & (ebitda < self.cfg.min_interest_coverage * interest)
            if self.cfg.max_leverage is not None:
                net_debt = ledger.debt_usd() - ledger.cash_usd
                breach |= (net_debt > 0) & ((ebitda <= 0) | (net_debt > self.cfg.max_leverage * ebitda))
            breach &= alive
            self.breaches = np.where(breach, self.breaches + 1, 0)
            ledger.flag("covenant_breach", breach)
            accelerate = breach & (self.breaches > self.cfg.covenant_cure_tests)
            accelerated = np.where(accelerate, self.balance_usd, 0.0)  # all due today
            ledger.pay_due(accelerated)
            self.balance_usd = self.balance_usd - accelerated


#: A day after any run's last (a convertible with no maturity left).
_NO_MATURITY_DAY = 2**62


class ConvertibleBook:
    """A convertible note outstanding at the start."""

    def __init__(self, cfg, start: dt.date, paths: int):
        self.cfg = cfg
        self.start = start
        self.balance_usd = np.full(paths, float(cfg.principal_usd))
        self.coupon = np.full(paths, float(cfg.coupon))
        self.maturity_day = np.full(paths, _day_of(cfg.maturity, start))
        self._first_maturity_day = int(self.maturity_day.min())  # no path's maturity falls before it
        self._one_maturity: int | None = _day_of(cfg.maturity, start)  # every path's, until a refinancing

    def years_left(self, day: int):
        # (one maturity on every path: the same double arithmetic as the array's, once)
        return _years_until(self.maturity_day if self._one_maturity is None else self._one_maturity, day)

    def in_the_money(self, share_price_usd) -> np.ndarray:
        """Paths on which the note counts as shares (if-converted)."""
        return (self.balance_usd > 0) & instruments.converts(share_price_usd, self.cfg.conversion_price_usd)

    def if_converted(self, diluted_shares, face_usd, share_price_usd) -> np.ndarray:
        """The diluted shares with this note's if-converted shares added where it is in the money, whose
        face (``face_usd``, this note's row of the strike) is then set to 0 in place; without a path in
        the money, ``diluted_shares`` itself. One compiled pass once a process's closes pay for it
        (:func:`simulator.finance.firm_value_kernel.convertible_strike`, the same numbers)."""
        kernel = FIRM_VALUE_KERNEL.for_call(len(face_usd), NUMPY_CONVERTIBLE_COST)
        if kernel is not None:
            cap = self.cfg.capped_call_price_usd
            return kernel.convertible_strike(diluted_shares, face_usd, self.balance_usd, share_price_usd,
                                             float(self.cfg.conversion_price_usd), float(cap or 0.0), cap is not None)[1]
        itm = self.in_the_money(share_price_usd)
        if not itm.any():  # (it adds no shares and keeps its face)
            return diluted_shares
        face_usd[itm] = 0.0
        return diluted_shares + np.where(itm, self.conversion_shares(share_price_usd), 0.0)

    def conversion_shares(self, share_price_usd) -> np.ndarray:
        """Shares the outstanding note would deliver at ``share_price_usd``, net of the capped call."""
        gross = self.balance_usd / self.cfg.conversion_price_usd
        return gross * (1 - capped_call_offset_fraction(share_price_usd, self.cfg.conversion_price_usd,
                                                        self.cfg.capped_call_price_usd))

    def day(self, ledger, cal) -> None:
        if not cal.month_end and cal.day < self._first_maturity_day:
            return  # no coupon and no path at maturity today
        alive, day = ledger.alive & (self.balance_usd > 0), cal.day
        if cal.month_end:
            ledger.pay_interest(np.where(alive, self.balance_usd * self.coupon / units.MONTHS_PER_YEAR, 0.0))
        if day < self._first_maturity_day:
            return  # (a month end before every maturity: no path is due)
        due = alive & (self.maturity_day == day)
        if not due.any():
            self._first_maturity_day = self._next_maturity_day(day)
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
        else:
            ledger.repay(np.where(rest, self.balance_usd, 0.0))
            self.balance_usd = np.where(rest, 0.0, self.balance_usd)
        self._first_maturity_day = self._next_maturity_day(day)

    def _next_maturity_day(self, day: int) -> int:
        """The first maturity after ``day`` on any path (past the last day of any run if none): no path is due
        before it (a maturity day of today or earlier never comes again; a refinancing sets one after today).
        Session 32's ``maturity_day.min()`` stayed at a matured path's day, so that every day after the first
        maturity tested every path."""
        later = self.maturity_day[self.maturity_day > day]
        return int(later.min()) if later.size else _NO_MATURITY_DAY


class BtcBackedBook:
    """A loan against pledged BTC, opened at the first close from the treasury."""

    def __init__(self, cfg, start: dt.date, paths: int):
        self.cfg = cfg
        self.balance_usd = np.full(paths, float(cfg.principal_usd))
        self.pledged_btc = np.zeros(paths)
        self.maturity_day = _day_of(cfg.maturity, start) if cfg.maturity else None
        self.tenor_days = max(self.maturity_day or 0, 1)
        self.cure_end_day = np.full(paths, np.nan)
        self.ltv_release = cfg.ltv_initial / 2 if cfg.ltv_release is None else cfg.ltv_release
        self._terms: tuple | None = None  # (made on the first day: _prepare_terms)

    def _prepare_terms(self, ledger, kernel) -> tuple:
        """The loan's terms as its compiled day takes them, made once per ledger (the book's, kept with them as a weak
        reference: the ledger holds its books, and a strong one would keep a finished run's ledger until a full
        collection): the
        rate and the days of a year, :func:`simulator.finance.credit.step_terms` (of ``cfg`` and ``ltv_release``, as
        the numpy day's compiled step takes them too), the treasury policy's minimum cash (:meth:`_min_cash_usd`)
        and the rows of the lines it books (:data:`simulator.finance.credit_kernel.LOAN_LINES`)."""
        self._terms = (weakref.ref(ledger), (float(self.cfg.rate), float(units.DAYS_PER_YEAR)),
                       credit.step_terms(self.cfg, self.ltv_release), self._min_cash_usd(ledger),
                       ledger.lines.rows_of(kernel.LOAN_LINES))
        return self._terms

    def years_left(self, day: int):
        return OPEN_ENDED_YEARS if self.maturity_day is None else _years_until(self.maturity_day, day)

    def open(self, ledger, price_usd) -> None:
        """Pledge ``principal / (price × ltv_initial)`` from the treasury (all it has if short)."""
        wanted = instruments.collateral_btc(self.cfg.principal_usd, price_usd, self.cfg.ltv_initial)
        self.pledged_btc = np.minimum(wanted, ledger.treasury_btc)
        ledger.treasury_btc = ledger.treasury_btc - self.pledged_btc

    def day(self, ledger, cal) -> None:
        """Interest, maturity, then the close's collateral terms (:func:`~simulator.finance.credit.collateral_close`);
        a day other than the maturity in one compiled call once the process's closes pay for it
        (:func:`simulator.finance.credit_kernel.loan_day`: the same floats; its interest paid and booked in that
        call as :meth:`~simulator.finance.ledger.Ledger.pay_interest` pays it, and the step's flags and cash paid
        as :meth:`_book_step` books them). Both forms take the loan's terms prepared once
        (:func:`~simulator.finance.credit.step_terms`) and book the rest of the close's step the same way
        (:meth:`_book_step`)."""
        day = cal.day
        maturing = self.maturity_day is not None and day == self.maturity_day
        kernel = credit.CREDIT_KERNEL.for_call(len(self.balance_usd), credit.NUMPY_CLOSE_COST)
        if kernel is not None and not maturing:
            terms = self._terms
            if terms is None or terms[0]() is not ledger:
                terms = self._prepare_terms(ledger, kernel)
            _, rate, step, min_cash, lines = terms
            shares = ledger._segment_shares  # (the day's revenue shares, None: all mining's; Ledger._book_segments)
            flags = ledger.flags
            status, rows, _ = kernel.loan_day(
                day, ledger.alive, self.balance_usd, self.pledged_btc, ledger.treasury_btc, ledger.cash_usd,
                min_cash, ledger.price_usd, self.cure_end_day, *rate, *step, ledger._interest_today,
                ledger.lines.tables, lines, shares is not None, *(shares or (ledger.cash_usd,) * 3),
                flags["margin_call"], flags["liquidation"])  # (the interest paid: Ledger.pay_interest; flags, repay)
            ledger.cash_usd, ledger._interest_today = rows[kernel.CASH], rows[kernel.INTEREST_TODAY]
            if not status & credit.QUIET:  # (else nothing moves today: the step's flows would all be 0)
                k = kernel
                self._book_step(ledger, status & (credit.SALE | credit.RESIDUAL), None, None, None, rows[k.CURE], rows[k.SOLD], rows[k.SETTLED], rows[k.PENALTY],
                                rows[k.RESIDUAL_ROW], rows[k.BALANCE], rows[k.PLEDGED], rows[k.TREASURY])
            return
        alive, price_usd = ledger.alive & (self.balance_usd > 0), ledger.price_usd
        ledger.pay_interest(np.where(alive, self.balance_usd * self.cfg.rate / units.DAYS_PER_YEAR, 0.0))
        if maturing:
            self._mature(ledger, alive, day)
        alive = alive & (self.balance_usd > 0)
        debt = np.where(alive, self.balance_usd, 0.0)
        step = credit.collateral_close(day, debt, self.pledged_btc, ledger.treasury_btc,
                                       ledger.cash_usd - self._min_cash_usd(ledger), price_usd,
                                       self.cure_end_day, self.cfg, self.ltv_release, kernel)
        if step is None:
            return  # nothing moves today (the step's flows would all be 0)
        self._book_step(ledger, credit.BOOK_ALL, step.margin_call, step.liquidated, step.cash_paid_usd,
                        step.cure_end_day, step.sold_btc, step.settled_usd, step.penalty_usd, step.residual_usd,
                        np.where(alive, step.debt_usd, self.balance_usd), step.pledged_btc, step.treasury_btc)

    @staticmethod
    def _min_cash_usd(ledger) -> float:
        """The treasury policy's minimum cash, which the step's top-up leaves [USD]."""
        return float(ledger.cfg.treasury_policy.min_cash_usd)

    def _book_step(self, ledger, booked: int, margin_call, liquidated, cash_paid_usd, cure_end_day, sold_btc,
                   settled_usd, penalty_usd, residual_usd, balance_usd, pledged_btc, treasury_btc) -> None:
        """The ledger's bookings of a close's step and the loan's new state, in this order: the flags, the cash
        that paid the loan down, the lender's sale (which repays it directly), the balance, pledged and treasury
        BTC and the cure, the residual after a liquidation (due at once). ``booked``: the bits
        (:data:`simulator.finance.credit.CALL` …) of the flags and amounts to book, :data:`~simulator.finance.credit.BOOK_ALL`
        for every one; the compiled day (:func:`~simulator.finance.credit_kernel.loan_day`) books the flags and the
        cash paid itself and asks here for the sale and the residual only, each where it is not +0.0 on every path
        (a flow line's sums are never −0.0, so adding +0.0 changes none; ``x − (+0.0)`` is ``x``)."""
        if booked & credit.CALL:
            ledger.flag("margin_call", margin_call)
        if booked & credit.LIQUIDATED:
            ledger.flag("liquidation", liquidated)
        if booked & credit.PAID:
            ledger.repay(cash_paid_usd)
        if booked & credit.SALE:
            ledger.liquidate(sold_btc, settled_usd, penalty_usd)
        self.balance_usd, self.pledged_btc, ledger.treasury_btc, self.cure_end_day = (balance_usd, pledged_btc,
                                                                                      treasury_btc, cure_end_day)
        if booked & credit.RESIDUAL:
            ledger.pay_due(residual_usd)

    def _mature(self, ledger, alive, day: int) -> None:
        """Repay and release the collateral, or with ``rollover`` renew for the same tenor (re-pledged to
        ``ltv_initial`` at the day's price; collateral the treasury cannot supply is left to the margin rules)."""
        if self.cfg.rollover:
            wanted = instruments.collateral_btc(self.balance_usd, ledger.price_usd, self.cfg.ltv_initial)
            target = np.where(alive, np.minimum(wanted, self.pledged_btc + ledger.treasury_btc), self.pledged_btc)
            ledger.treasury_btc = ledger.treasury_btc - (target - self.pledged_btc)
            self.pledged_btc = target
            ledger.flag("refinanced", alive)
            self.maturity_day = day + self.tenor_days
            return
        ledger.treasury_btc = ledger.treasury_btc + np.where(alive, self.pledged_btc, 0.0)
        self.pledged_btc = np.where(alive, 0.0, self.pledged_btc)
        ledger.pay_due(np.where(alive, self.balance_usd, 0.0))
        self.balance_usd = np.where(alive, 0.0, self.balance_usd)


class ProjectDebtBook:
    """Project debt of an HPC conversion: ``debt_fraction`` of the company's capex drawn as it is paid,
    interest ``balance × rate / 12`` at month ends, and level monthly payments over ``term_years``
    from the first month end after completion (:func:`~simulator.finance.instruments.level_payment_usd`'s formula)."""

    def __init__(self, financing, project_index: int, paths: int):
        self.cfg, self.j = financing, project_index
        self.balance_usd = np.zeros(paths)
        self.payment_usd = np.zeros(paths)
        self.months_left = np.zeros(paths, dtype=np.int64)
        self.amortising = np.zeros(paths, dtype=bool)
        self._amortising_any = False
        self._years: tuple | None = None  # (the months_left array the years were made from, the years)
        # the block's flows last seen (kept alive: its identity stands for the test) and whether the project's capex
        # rows of that block are ±0.0 on every day (_capex_today)
        self._block_of, self._quiet_block = None, False

    def years_left(self, day: int):
        """Months left once amortising, the full term before: one number while no path amortises, else an array,
        the same array (not to be written) while the book holds the same ``months_left`` (it assigns a new one
        at each month end it pays and whenever amortising starts)."""
        if not self._amortising_any:  # (the full term on every path)
            return float(self.cfg.term_years)
        if self._years is None or self._years[0] is not self.months_left:
            self._years = (self.months_left, np.where(self.amortising, np.maximum(self.months_left, 1)
                                                      / units.MONTHS_PER_YEAR, self.cfg.term_years))
        return self._years[1]

    def _capex_today(self, f) -> bool:
        """Whether the project's building or GPU capex of the day's flows ``f`` is nonzero (or NaN) on some path
        (``count_nonzero``: numpy's ``any()`` at a third of its cost). A block's day (``block_day``: the block's flows
        and the day's index, :class:`simulator.finance.flows.BlockDayFlows`, whose rows are the block's) is False
        without a test when the block's rows of the project are ±0.0 on every day, tested once a block's flows
        (by their identity; a stop makes new ones)."""
        block_day = vars(f).get("block_day")
        if block_day is not None:
            whole = block_day[0]
            if whole is not self._block_of:
                self._block_of, self._quiet_block = whole, self._quiet(whole)
            if self._quiet_block:
                return False
        return bool(np.count_nonzero(f.hpc_building_capex_usd[self.j]) or np.count_nonzero(f.hpc_gpu_capex_usd[self.j]))

    def _quiet(self, whole) -> bool:
        """Whether the block's flows ``whole`` hold the project's capex as ``(n, projects, paths)`` arrays ±0.0 on
        every day (else the days are tested one by one)."""
        capex = (whole.hpc_building_capex_usd, whole.hpc_gpu_capex_usd)
        return (all(isinstance(x, np.ndarray) and x.ndim == 3 for x in capex)
                and not any(np.count_nonzero(x[:, self.j]) for x in capex))

    def day(self, ledger, cal) -> None:
        f, alive = ledger.flows, ledger.alive
        # (capex ±0.0 on every path draws ±0.0 × fraction × alive, nothing: a draw only on a day of some capex)
        if self._capex_today(f):
            building, gpus = f.hpc_building_capex_usd[self.j], f.hpc_gpu_capex_usd[self.j]
            draw = self.cfg.debt_fraction * (building + gpus) * alive
            if np.count_nonzero(draw):
                ledger.draw(draw)
                self.balance_usd = self.balance_usd + draw
        if not cal.month_end:
            return
        owing = alive & (self.balance_usd > 0)
        r = self.cfg.rate / units.MONTHS_PER_YEAR
        start = owing & ~self.amortising & f.hpc_completed[self.j].astype(bool)
        if start.any():
            n = max(1, round(self.cfg.term_years * units.MONTHS_PER_YEAR))
            level = self.balance_usd * r / (1 - (1 + r) ** -n) if r > 0 else self.balance_usd / n
            self.payment_usd = np.where(start, level, self.payment_usd)
            self.months_left = np.where(start, n, self.months_left)
            self.amortising |= start
            self._amortising_any = True
        interest = np.where(owing, self.balance_usd * r, 0.0)
        ledger.pay_interest(interest, hpc=True)
        paying = owing & self.amortising
        last = paying & (self.months_left <= 1)
        principal = np.where(last, self.balance_usd,
                             np.where(paying, np.clip(self.payment_usd - interest, 0.0, self.balance_usd), 0.0))
        ledger.repay(principal)
        self.balance_usd = self.balance_usd - principal
        self.months_left = np.where(paying, self.months_left - 1, self.months_left)
