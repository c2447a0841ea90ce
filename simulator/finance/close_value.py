"""When the close's share price runs compiled (:mod:`simulator.finance.close_value_kernel`), and its calls.

:meth:`simulator.finance.ledger.Ledger.close_day` asks :func:`close_price` for the day's share price, its ring
row, the equity value and the equity's returns; False: the numpy steps run instead, which stay the reference
(day 0, whose premium needs the strike and the firm value as arrays; ``valuation.method`` other than ``nav``;
a run too small to pay for loading the kernel: :data:`CLOSE_VALUE_KERNEL`, loaded as every kernel of the
close is, :meth:`~simulator.lazy_kernel.LazyKernel.of_the_close`).

Once the share price has run compiled, ``close_day`` asks :func:`close_day` first: on a day other than a quarter
start that buys BTC or shares back, the close's passes run as one call
(:func:`~simulator.finance.close_value_kernel.day_pass`: the interest and EBITDA rings, the equity less the interest,
the stock compensation grant, on a month end the month's tax, on a quarter start the quarter's ATM caps reset and its
opening shares, the funding step, the value pass, the lines'
settlement and the price's tail, each the compiled step that ran alone before, in ``close_day``'s order; numpy's
``log`` and ``exp`` and scipy's ``ndtr`` called there by the ufuncs' own strided loops,
:func:`~simulator.finance.close_value_kernel.ufunc_loops`; where numpy gives none, the tail's numpy and compiled
steps after the call, :func:`_price_tail`); a month end's record then follows (``Ledger._close_month``: its
derived lines and identity checks compiled too, :func:`month_record`, :func:`identities_hold`). A path short
of cash after the funding leaves the call before the value (``Ledger._distress``, then :func:`close_price`); a
contract's tables to extend leave it after (extended, then ``value_pass`` again, as :func:`close_price` does).

The strike's faces are kept in a ``(1 + debt books, paths)`` table (:class:`ValueScratch`), a row copied again
only when its book holds a new balance array (the books and the ledger never write a balance in place: every
change assigns a new array, so the array a row was copied from, held here, tells whether it is current), and
the BTC-backed books' pledged BTC the same way. Each book's years to maturity are asked every day (they run
down with the day): one number for every path goes to the kernel as it is, an array into its row unless the row
already holds that array's numbers (the same array as last copied: an amortising project loan's years, which
:meth:`~simulator.finance.debt.ProjectDebtBook.years_left` keeps while its months left are the same).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from simulator import units
from simulator.finance import close_steps, dilution, structural
from simulator.finance.debt import ConvertibleBook
from simulator.lazy_kernel import LazyKernel

CLOSE_VALUE_KERNEL = LazyKernel.of_the_close("simulator.finance.close_value_kernel")
#: The numpy steps' fixed cost in paths' worth (~0.05 µs a path): the strike, the firm value, the share value,
#: the traded price and the returns, ~70 numpy calls (~150 µs a close). At most the valuation kernel's 2,048 a
#: close (``structural``), so a one-path run of the longest bundled horizon (1,461 days) stays in numpy (review 12).
NUMPY_PRICE_COST = 2048
#: The month's lines :func:`pretax` reads, in its order, then the tax's line (``day_pass``'s month-end tax).
TAX_LINES = ("ebitda_usd", "sbc_usd", "depreciation_usd", "impairment_usd", "btc_fair_value_gain_usd", "hedge_pnl_usd",
             "interest_usd", "liquidation_penalty_usd", "tax_usd")

#: The month's lines ``Ledger._close_month`` derives its lines from (:func:`~simulator.finance.close_value_kernel.
#: month_pass`'s order), then the derived lines (:data:`DERIVED_LINES`, in its order).
MONTH_LINES = TAX_LINES + ("btc_sales_usd", "cash_revenue_usd", "cost_of_revenue_usd", "sga_usd", "resale_proceeds_usd",
                           "capex_usd", "btc_purchases_usd", "atm_proceeds_usd", "buybacks_usd", "debt_drawn_usd",
                           "debt_repaid_usd", "unpaid_obligations_usd")
#: The flow lines the month end derives from the others (never booked), in the order it derives them.
DERIVED_LINES = ("pretax_income_usd", "net_income_usd", "cfo_usd", "cfi_usd", "cff_usd", "net_cash_change_usd")
#: ``Ledger._balance``'s lines in its dict's order (the rows of :func:`balance`'s table; ``ledger.BALANCE_LINES``: the
#: same lines in the results' order).
BALANCE_ROWS = ("cash_usd", "treasury_btc", "pledged_btc", "btc_value_usd", "fleet_book_value_usd",
                 "site_book_value_usd", "hpc_book_value_usd", "other_assets_usd", "debt_usd", "arrears_usd",
                 "deferred_revenue_usd", "other_liabilities_usd", "equity_usd", "shares_outstanding", "share_price_usd",
                 "total_assets_usd", "total_liabilities_usd")


class ValueInputs(NamedTuple):
    """A day's tables for :func:`~simulator.finance.close_value_kernel.value_pass`, in its order after the day's
    diluted shares, previous close, cash and treasury (and :func:`~simulator.finance.close_value_kernel.day_pass`'s
    last arguments): the strike's faces and years (:class:`ValueScratch`), the convertibles, the pledged BTC and
    deferred revenue, the NAV's operating assets, the HPC projects' values or their contracts' completions, leases'
    ends, rate factors, power prices, packed tables and terms, the BTC returns' ``M₂``, day 0's premium, the BTC
    price, the pass's scalars, work rows and status (made by :func:`_value_inputs`)."""

    faces: np.ndarray
    years: np.ndarray
    year_scalars: np.ndarray
    conv: np.ndarray
    pledged: np.ndarray
    deferred: np.ndarray
    fleet: np.ndarray
    site_book: np.ndarray
    site_progress: np.ndarray
    site_hpc_share: np.ndarray
    hpc_values: np.ndarray
    completed: np.ndarray
    ended: np.ndarray
    factor: np.ndarray
    power_price: np.ndarray
    table: np.ndarray
    limits: np.ndarray
    terms: np.ndarray
    m2: np.ndarray
    premium: np.ndarray
    price: np.ndarray
    scalars: np.ndarray
    work: np.ndarray
    status: np.ndarray


_new_inputs = tuple.__new__  # (ValueInputs without its Python __new__: ~0.9 µs less a day, its fields in order)


class ValueScratch:
    """A ledger's tables for the compiled share price: the strike's faces and years, the pledged BTC, the
    passes' work rows, the run's scalars and day 0's premium as rows (:mod:`~simulator.finance.close_value_kernel`)."""

    def __init__(self, ledger, kernel, min_traded_price_usd: float):
        L, v, paths, k = ledger, ledger.cfg.valuation, ledger.paths, kernel
        rows = 1 + len(L.debt_books)
        self.faces, self.years = np.zeros((rows, paths)), np.zeros((rows, paths))
        self.year_scalars = np.full(rows, np.nan)
        self.year_scalars[0] = structural.MIN_YEARS  # (the arrears: due at once)
        self.sources: list = [None] * rows  # the arrays each faces row was copied from
        self.year_sources: list = [None] * rows  # the per-path years arrays each years row was copied from
        self.conv = np.array([(i, b.cfg.conversion_price_usd, b.cfg.capped_call_price_usd or 0.0,
                               float(b.cfg.capped_call_price_usd is not None))
                              for i, b in enumerate(L.debt_books, start=1) if isinstance(b, ConvertibleBook)],
                             dtype=float).reshape(-1, 4)
        self.pledged = np.zeros((len(L._btc_books), paths))
        self.pledged_sources: list = [None] * len(L._btc_books)
        self.work, self.ok = np.empty((k.WORK_ROWS, paths)), np.empty(paths, dtype=bool)
        w = self.work  # (the price tail's rows of it, made once: _price_tail)
        self.tail_rows = (w[k.RATIO], w[k.LOG_RATIO], w[k.MINUS_RT], w[k.DISCOUNT], w[k.PRICE_RATIO:k.SHARE_RATIO + 1],
                          w[k.X:k.Y + 1], w[k.X], w[k.Y])
        self.returns_of, self.returns_rows = None, ()  # (the ledger's EquityReturns and its running rows: _price_tail)
        self.index, self.packed = np.empty(paths, dtype=np.int64), np.empty((2, 2 * paths))  # (moneyness_pass's)
        self.loops = k.ufunc_loops()  # (the price's tail in close_day's one call: numpy's and scipy's loops)
        o = L.cfg.opening
        self.scalars = np.zeros(k.SCALARS)
        for i, x in ((k.RECEIVABLE, o.btc_receivable), (k.CARRIED, L._carried_assets_usd()),
                     (k.OTHER_LIABILITIES, o.other_liabilities_usd), (k.MIN_VOL, v.min_asset_vol_annual),
                     (k.MIN_YEARS, structural.MIN_YEARS), (k.OPEN_ENDED, structural.OPEN_ENDED_YEARS),
                     (k.RATE, v.risk_free_rate), (k.MODEL_VOL, L.btc_vol.model_vol),
                     (k.VOL_DAYS, structural.VOL_WINDOW_DAYS - 1), (k.DAYS_PER_YEAR, units.DAYS_PER_YEAR),
                     (k.MIN_TRADED, min_traded_price_usd)):
            self.scalars[i] = float(x)
        self.premium, self.premium_rows = None, None
        self._book_key, self._book_values = None, None  # (hpc_values: the pools' arrays and their values)
        projects = L.contracts.projects
        self.terms = np.array([[float(p.revenue.kind != "colocation"), 0.0, 0.0, 0.0] for p in projects]).reshape(-1, 4)
        self.terms_day = [np.nan] * len(projects)  # (the day each project's terms were last written; NaN: never)
        self.status = np.zeros(2, dtype=np.int64)
        self.no_terms, self.no_values = np.zeros((0, 4)), np.zeros((0, paths))
        self.no_days, self.no_flags = np.zeros((0, paths)), np.zeros((0, paths), dtype=bool)
        self.day_constants: tuple | bool | None = None  # (close_day's, made on its first day; False: never compiled)

    def make_day_constants(self, L, fund: tuple, min_traded_price_usd: float):
        """:func:`close_day`'s constants, once a run: the grant's and the funding's scalars (``fund``:
        :func:`simulator.finance.close_steps.fund_constants`), the sources, the grant's line rows with and without
        the segments' split, the funding's, whether the funding sells BTC and raises, the tax's rows and rate, and
        whether a quarter start only resets the ATM's caps (no BTC bought, no buyback: ``Ledger._quarter_start``'s
        resets alone, which the one call takes); False where a day's
        steps are not all compiled (a grant in shares, dilutive instruments, one path: its numpy form sums the
        ring pairwise)."""
        c, e = L.cfg, L.cfg.equity
        if e.sbc_shares_per_year is not None or c.dilutive or L.paths < 2 or c.valuation.method != "nav":
            self.day_constants = False
            return False
        scalars, sources, sells, raises = fund
        sbc = close_steps.sbc_constants(L, c.sbc_usd_per_year / units.DAYS_PER_YEAR, None
                                        if e.sbc_max_shares_per_year is None
                                        else e.sbc_max_shares_per_year / units.DAYS_PER_YEAR, min_traded_price_usd)
        rows = {split: L.lines.rows_of(close_steps.SBC_LINES[split]) for split in (False, True)}
        resets_only = not c.treasury_policy.buy_btc_usd_per_quarter and not e.buyback_usd_per_quarter
        self.day_constants = (sbc, scalars, sources, rows, L.lines.rows_of(close_steps.FUND_LINES), sells, raises,
                              L.lines.rows_of(TAX_LINES), float(c.tax_rate), resets_only)
        return self.day_constants

    def strike(self, L, day: int) -> None:
        """The faces and years as :meth:`~simulator.finance.ledger.Ledger._strike` gathers them (before the
        convertibles' if-converted test, which the kernel applies)."""
        faces, sources = self.faces, self.sources
        if L.arrears_usd is not sources[0]:
            faces[0], sources[0] = L.arrears_usd, L.arrears_usd
        for i, book in enumerate(L.debt_books, start=1):
            if book.balance_usd is not sources[i]:
                faces[i], sources[i] = book.balance_usd, book.balance_usd
            years = book.years_left(day)
            if isinstance(years, float):
                self.year_scalars[i], self.year_sources[i] = years, None
            elif years is not self.year_sources[i]:  # (per path: its row, read where the scalar is NaN)
                self.years[i], self.year_scalars[i], self.year_sources[i] = years, np.nan, years
        for i, book in enumerate(L._btc_books):
            if book.pledged_btc is not self.pledged_sources[i]:
                self.pledged[i], self.pledged_sources[i] = book.pledged_btc, book.pledged_btc

    def hpc_values(self, L, day: int) -> np.ndarray:
        """The HPC projects' values before every contract is signed (``Ledger._hpc_values_usd``): with none
        signed and every pool idle (nothing spent yet: an idle pool's arrays never change), each at its book value,
        taken again only when a pool holds new arrays; else each day (a stepping pool's arrays may be written in
        place: the compiled operations day's pool table, ``operations_call``)."""
        if np.count_nonzero(L.contracts.signed(day)) or any(not pool._idle for pools in L.hpc_pools for pool in pools):
            return L._hpc_values_usd(day)
        key = [a for pools in L.hpc_pools for pool in pools for a in (pool.book_usd, pool.in_progress_usd)]
        if self._book_key is None or any(a is not b for a, b in zip(key, self._book_key)):
            self._book_values, self._book_key = L._hpc_values_usd(day), key
        return self._book_values

    def use_premium(self, premium, kernel) -> None:
        """Day 0's premium as ``(5, paths)`` rows and its reversion's scalars (once a run)."""
        if self.premium is premium:
            return
        self.premium = premium
        paths = self.work.shape[1]
        self.premium_rows = np.array(np.broadcast_arrays(
            premium.intangible0_usd, premium.assets0_usd, premium.linked_share0, premium.btc_price0_usd,
            premium.multiple0, np.empty(paths))[:5], dtype=float)
        long_run = premium.long_run_premium is not None
        self.scalars[kernel.LONG_RUN] = float(long_run)
        self.scalars[kernel.EXCESS] = premium.long_run_premium - 1.0 if long_run else 0.0


def close_price(ledger, day: int, min_traded_price_usd: float) -> bool:
    """The day's share price (:meth:`~simulator.finance.ledger.Ledger._share_price`), the traded price, its ring
    row, the equity value and the equity's returns, compiled, the ledger's state assigned as the numpy steps
    assign it; False: run the numpy steps."""
    L = ledger
    if day == 0 or L.premium is None or L.cfg.valuation.method != "nav":
        return False
    kernel = CLOSE_VALUE_KERNEL.for_call(L.paths, NUMPY_PRICE_COST)
    if kernel is None:
        return False
    s = L._value_scratch
    if s is None:
        s = L._value_scratch = ValueScratch(L, kernel, min_traded_price_usd)
    inputs = _value_inputs(L, s, kernel, day)
    _push_hedge_return(L)
    diluted = dilution.diluted_shares(L.shares, L.cfg.dilutive, L.share_price_usd) if L.cfg.dilutive else L.shares
    _value(L, s, kernel, diluted, inputs)
    _price_tail(L, s, kernel)
    return True


def close_day(ledger, cal, min_traded_price_usd: float) -> bool:
    """``Ledger.close_day`` but ``month_days`` and the month's record, compiled, its passes in one call
    (:func:`~simulator.finance.close_value_kernel.day_pass`: the rings, the interest, the grant, on a month end the
    month's tax, the funding, the value, the settlement, the price's tail; on a quarter start the funding takes the
    quarter's ATM caps reset to +0.0 and its opening shares, the shares after the grant, as ``Ledger._quarter_start``
    sets them) on a day other than a quarter start that buys BTC or shares back, once the close's kernels are loaded
    and the share price has run compiled (its tables made); the ledger's state assigned as ``close_day``'s steps
    assign it. False: run ``close_day``'s steps (a first close, a grant in shares, dilutive instruments, a method
    other than ``nav``, a quarter start's purchases or buybacks, or a state the kernels do not take)."""
    L, day, s = ledger, cal.day, ledger._value_scratch
    if s is None or s.day_constants is False:
        return False
    k = CLOSE_VALUE_KERNEL.loaded()
    fixed = s.day_constants or s.make_day_constants(
        L, close_steps.fund_constants(L, min_traded_price_usd), min_traded_price_usd)
    if not fixed or k is None or not L.share_price_ring.count:
        return False
    interest, ebitda, paths = L._interest_today, L._ebitda_today, L.paths
    if not (L.shares.shape == L.cash_usd.shape == L.price_usd.shape == L.share_price_usd.shape == interest.shape
            == ebitda.shape == (paths,)):
        return False
    sbc_scalars, fund_scalars, sources, sbc_rows, fund_rows, sells, raises, tax_rows, tax_rate, resets_only = fixed
    month_end, quarter = cal.month_end, cal.quarter_start
    if (quarter and not resets_only) or (month_end and not L.cum_pretax_usd.shape == L.taxed_base_usd.shape
                                         == (paths,)):
        return False
    split = L._segment_shares is not None
    mining, hosting, hpc = L._segment_shares if split else (L.shares, L.shares, L.shares)  # (unread unless split)
    sbc_scalars[0] = min(L.share_price_ring.count, close_steps.SBC_WINDOW_DAYS)
    inputs = _value_inputs(L, s, k, day)
    rings, book, r, price_ring = (L.interest_ring, L.ebitda_ring), L.lines, L.returns, L.share_price_ring
    out = np.empty((10 + 2 * len(sources) + (4 if month_end else 0), paths))  # (a month end: the tax's four rows)
    state, positive = np.empty((6, paths)), np.empty(paths, dtype=bool)  # (the price's tail: _assign_price)
    used, issued, opening = ((np.zeros(paths), np.zeros(paths), out[2]) if quarter  # (out[2]: the shares after the
                             else (L.atm_used_usd, L.atm_shares_issued, L.quarter_start_shares))  # grant, in the call)
    code, valued = k.day_pass(
        rings[0].values, rings[0].count % rings[0].n, interest, rings[1].values, rings[1].count % rings[1].n, ebitda,
        L.equity_usd, L.alive, price_ring.values, sbc_scalars, mining, hosting, hpc, split, L.shares,
        fund_scalars, sources, L.cash_usd, L.treasury_btc, L.share_price_usd, used, issued, opening,
        L.nav_per_share_usd, book.tables, sbc_rows[split], fund_rows, book.pending_rows(), out,
        month_end, tax_rate, tax_rows, L.cum_pretax_usd, L.taxed_base_usd, *inputs, s.loops,
        price_ring.count % price_ring.n, r.last_share_price_usd, r.last_btc_price_usd, r._last_positive, state,
        positive, s.ok, s.index, s.packed, r.table)
    rings[0].count, rings[1].count = rings[0].count + 1, rings[1].count + 1
    _assign_state(L, out, code, sells, raises, month_end, (used, issued) if quarter else None)
    if code >= 2:  # some path short of cash: distress, then the share price of its state
        L._distress(L.alive)
        L._close_price(day)
    else:
        _push_hedge_return(L)
        if valued:
            book.settled()
        else:  # (a contract's tables to extend: value_pass again, as close_price does)
            _value(L, s, k, L.shares, inputs)
        if valued and s.loops.shape[0]:  # (the price's tail ran in the call)
            price_ring.count += 1  # (its row written: Ring.slot's count)
            _assign_price(L, r, state, positive)
        else:
            _price_tail(L, s, k)
    if not valued:
        book.settle()
    return True


def _assign_state(L, out, code: int, sells: bool, raises: bool, month_end: bool, quarter: tuple | None) -> None:
    """The ledger's state from :func:`~simulator.finance.close_value_kernel.day_pass`'s rows ``out`` and its ``code``,
    assigned as ``close_day``'s steps assign it: the equity and shares after the grant; on a quarter start
    (``quarter``: the caps passed to the call) ``Ledger._quarter_start``'s resets, the opening shares a copy of the
    shares after the grant; on a month end the tax's state; where the funding moved something (``code``'s first bit:
    ``close_steps._fund_call``'s assignments) its cash, its treasury if it ``sells``, its ATM state if it ``raises``."""
    L.equity_usd, L.shares = out[0], out[2]
    if quarter is not None:  # (before the funding's assignments, as _quarter_start runs before the funding)
        (L.atm_used_usd, L.atm_shares_issued), L.quarter_start_shares = quarter, out[2].copy()
    if month_end:
        L.cum_pretax_usd, L.taxed_base_usd, L.cash_usd = out[-4], out[-3], out[-2]
    if code > 0 and code & 1:
        L.cash_usd = out[3]
        if sells:
            L.treasury_btc = out[4]
        if raises:
            L.atm_used_usd, L.atm_shares_issued, L.shares, L.equity_usd = out[5], out[6], out[7], out[8]


def _push_hedge_return(L) -> None:
    if L.cfg.hedges:  # the trailing volatility of the hedges' premiums (Ledger._track_equity_returns)
        L.log_returns.push(np.log(L.price_usd / L.returns.last_btc_price_usd))


def _value_inputs(L, s: ValueScratch, k, day: int) -> ValueInputs:
    """The day's :class:`ValueInputs` (the strike's rows, the day's scalars and the contracts' terms written first)."""
    f = L.flows
    s.strike(L, day)
    s.use_premium(L.premium, k)
    s.scalars[k.DECAY] = L.premium.decay(day)
    s.scalars[k.VOL_READY] = float(L.btc_vol.count >= structural.VOL_WINDOW_DAYS)
    s.scalars[k.DAY] = float(day)
    c = L.contracts
    if c.all_signed(day):  # each contract's value in the pass, from its tables (contracts.py)
        hpc, terms = s.no_values, s.terms
        for j in range(len(c.projects) if c.waiting else 0):  # (every path completed: the terms are not read)
            if not s.terms_day[j] >= c.terms_fixed_from(j):  # (else written on a day from which they stay the same)
                terms[j, k.CONTRACT_DISCOUNT:], s.terms_day[j] = c.day_terms(j, day), day
        completed, ended, factor, power_price = c.completed_day, c.ended, f.hpc_rate_factor, f.hpc_power_price_usd_per_mwh
    else:  # (an unsigned project at book value: the ledger's values)
        hpc, terms = s.hpc_values(L, day), s.no_terms
        completed, ended, factor, power_price = s.no_days, s.no_flags, s.no_days, s.no_days
    table, limits = c.packed_tables()
    return _new_inputs(ValueInputs, (
        s.faces, s.years, s.year_scalars, s.conv, s.pledged, L.deferred_revenue_usd, f.fleet_market_value_usd,
        L.sites.book_usd, L.sites.in_progress_usd, f.site_mw_hpc_share, hpc, completed, ended, factor, power_price,
        table, limits, terms, L.btc_vol.m2, s.premium_rows, L.price_usd, s.scalars, s.work, s.status))


def _value(L, s: ValueScratch, k, diluted, inputs: ValueInputs) -> None:
    """:func:`~simulator.finance.close_value_kernel.value_pass` until it values every path (a contract's tables
    extended between calls, as ``value_usd`` extends them, and packed again)."""
    c = L.contracts
    while not k.value_pass(diluted, L.share_price_usd, L.cash_usd, L.treasury_btc, *inputs):
        c.pv_parts(int(s.status[0]), int(s.status[1]))  # (a path's age past the tables: extended, as value_usd does)
        table, limits = c.packed_tables()
        inputs = inputs._replace(table=table, limits=limits)


def _price_tail(L, s: ValueScratch, k) -> None:
    """numpy's ``log`` and ``exp``, the N(d) of the paths whose price reads them, the price pass and the returns
    (the module docstring's steps after :func:`~simulator.finance.close_value_kernel.value_pass`), called from
    Python: :func:`close_price`'s days, and :func:`close_day`'s after its call when that call did not run them
    (``tail_pass``: the same calls in the same order)."""
    r, w = L.returns, s.work
    ratio, log_ratio, minus_rt, discount, ratios, logs, x, y = s.tail_rows
    if r is not s.returns_of:  # (its running sums, peak and drawdown: arrays written in place, EquityReturns)
        sums = r.sums
        s.returns_of, s.returns_rows = r, (sums["n"], sums["x"], sums["y"], sums["xx"], sums["xy"],
                                           r.peak_share_price_usd, r.max_drawdown)
    np.log(ratio, out=log_ratio)  # (numpy's log and exp, scipy's ndtr: close_value_kernel.py)
    np.exp(minus_rt, out=discount)
    read = k.moneyness_pass(w, s.scalars[k.RATE], L.alive, s.index, s.packed)  # the paths whose price reads N(d)
    ndtr(s.packed[0, :2 * read], out=s.packed[1, :2 * read])  # (their d1 and d2)
    state, positive = np.empty((6, L.paths)), np.empty(L.paths, dtype=bool)
    k.price_pass(w, s.premium_rows, s.scalars, L.alive, L.shares, L.price_usd, r.last_share_price_usd,
                 r.last_btc_price_usd, r._last_positive, L.share_price_ring.slot(), state, positive, s.ok, s.index,
                 s.packed, read)
    np.log(ratios, out=logs)
    k.add_returns(x, y, s.ok, state[2], *s.returns_rows)
    _assign_price(L, r, state, positive)


def _assign_price(L, r, state, positive) -> None:
    """The ledger's and its returns' state from ``price_pass``'s rows ``state`` and mask ``positive``."""
    L.nav_usd, L.nav_per_share_usd, L.share_price_usd, L.equity_value_usd = state[0], state[1], state[2], state[3]
    r.last_share_price_usd, r.last_btc_price_usd, r._last_positive = state[4], state[5], positive


def pretax(lines: dict[str, np.ndarray]) -> np.ndarray:
    """The month's pre-tax income [USD] from its lines ``lines`` (``LineBook.month_lines``), numpy, left to right:
    ``ebitda − sbc − depreciation − impairment + BTC fair value gain + hedge P&L − interest − liquidation penalty``
    (:data:`TAX_LINES`' first eight; ``Ledger.close_day``'s tax; compiled: ``close_value_kernel._pretax``)."""
    return (lines["ebitda_usd"] - lines["sbc_usd"] - lines["depreciation_usd"] - lines["impairment_usd"]
            + lines["btc_fair_value_gain_usd"] + lines["hedge_pnl_usd"] - lines["interest_usd"]
            - lines["liquidation_penalty_usd"])


def derived_lines(m: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The month's derived lines (:data:`DERIVED_LINES`) added to its lines ``m`` (``LineBook.month_lines``) and ``m``
    returned [USD], numpy, left to right: pre-tax income (:func:`pretax`), net income = pre-tax − tax, cash flow
    from operations = BTC sales + cash revenue − cost of revenue − SG&A − interest − tax + hedge P&L, from investing
    = resale − capex − BTC purchases, from financing = ATM − buybacks + debt drawn − debt repaid + unpaid
    obligations, and the net cash change = their sum. ``Ledger._close_month``'s numpy form (compiled:
    :func:`month_record`)."""
    m["pretax_income_usd"] = pretax(m)
    m["net_income_usd"] = m["pretax_income_usd"] - m["tax_usd"]
    m["cfo_usd"] = (m["btc_sales_usd"] + m["cash_revenue_usd"] - m["cost_of_revenue_usd"] - m["sga_usd"]
                    - m["interest_usd"] - m["tax_usd"] + m["hedge_pnl_usd"])
    m["cfi_usd"] = m["resale_proceeds_usd"] - m["capex_usd"] - m["btc_purchases_usd"]
    m["cff_usd"] = (m["atm_proceeds_usd"] - m["buybacks_usd"] + m["debt_drawn_usd"] - m["debt_repaid_usd"]
                    + m["unpaid_obligations_usd"])
    m["net_cash_change_usd"] = m["cfo_usd"] + m["cfi_usd"] + m["cff_usd"]
    return m


def month_record(L) -> np.ndarray:
    """``Ledger._close_month``'s month of lines as its record's ``(lines, paths)`` array (not a dict by name, as
    ``LineBook.month_lines``): the lines settled (``LineBook.month_lines``), the month's sums copied and the derived
    lines written into the copy and added to the running totals; compiled once the close's kernels are loaded
    (:func:`~simulator.finance.close_value_kernel.month_pass`, :func:`derived_lines`' operations), else numpy
    (:func:`derived_lines`)."""
    book = L.lines
    k = CLOSE_VALUE_KERNEL.loaded()
    if k is None:
        m = derived_lines(book.month_lines())
        month = book.month.copy()  # (the month's sums in one copy: the lines the month end derives over their rows)
        for name in DERIVED_LINES:
            book.total[book.index[name]] += m[name]  # (a line the month end derives, never booked)
            month[book.index[name]] = m[name]
        return month
    book.settle()
    month = book.month.copy()
    k.month_pass(book.tables, month, book.rows_of(MONTH_LINES + DERIVED_LINES))
    return month


def balance(L, day: int) -> dict[str, np.ndarray] | None:
    """``Ledger._balance(day)``, the balance sheet at 00:00 of ``day + 1`` by line (:data:`BALANCE_ROWS`) [USD, BTC,
    shares, USD/share]: the rows of one new ``(lines, paths)`` table, the same floats as its numpy form's copies, in
    one compiled pass once the close's kernels are loaded (:func:`~simulator.finance.close_value_kernel.
    balance_pass`; the sums over books and pools, ``Ledger.pledged_btc``, ``debt_usd`` and ``_hpc_book_usd``,
    made as before; the units' book values from their cost and remaining fraction in the pass, as
    ``CohortBookValues.on`` makes them, without its table). None: run the numpy form (not loaded, one path, or a
    state of other shapes)."""
    k = CLOSE_VALUE_KERNEL.loaded()
    if k is None or L.paths < 2:
        return None
    o, paths = L.cfg.opening, L.paths
    rows = (L.cash_usd, L.treasury_btc, L.pledged_btc(), L.price_usd, L.sites.value_usd, L._hpc_book_usd(),
            L.debt_usd(), L.arrears_usd, L.equity_usd, L.shares, L.share_price_usd)
    units, cost, deferred = L.units, L.unit_cost_usd, L.deferred_revenue_usd
    fraction = L.book_values.fraction(day + 1)  # (the units' book value is their cost × it: CohortBookValues.on)
    if any(type(a) is not np.ndarray or a.shape != (paths,) or a.dtype != np.float64 for a in rows) or not (
            units.ndim == deferred.ndim == 2 and units.shape == cost.shape and fraction.shape == (len(units), 1)
            and units.shape[1] == deferred.shape[1] == paths
            and units.dtype == cost.dtype == fraction.dtype == deferred.dtype == np.float64):
        return None
    cash, treasury, pledged, price, site, hpc, debt, arrears, equity, shares, share_price = rows
    out = np.empty((len(BALANCE_ROWS), paths))
    k.balance_pass(out, cash, treasury, pledged, float(o.btc_receivable), price, units, cost, fraction, site, hpc,
                   float(L._carried_assets_usd()), debt, arrears, deferred, float(o.other_liabilities_usd), equity,
                   shares, share_price)
    return dict(zip(BALANCE_ROWS, out))


def identities_hold(L, opening: dict, closing: dict, lines: dict, rtol: float) -> bool:
    """Whether ``Ledger._check``'s identities hold on every path, in one compiled pass once the close's kernels are
    loaded (:func:`~simulator.finance.close_value_kernel.identities_hold`); False: run ``_check`` (it raises on a
    path that fails, else it passes: not loaded, or a state of other shapes)."""
    k = CLOSE_VALUE_KERNEL.loaded()
    if k is None:
        return False
    o, c = opening, closing
    arrays = (c["total_assets_usd"], c["total_liabilities_usd"], c["equity_usd"], c["cash_usd"], o["cash_usd"],
              lines["net_cash_change_usd"], L.month_btc, lines["btc_bought"], lines["btc_sold"],
              lines["btc_liquidated"], c["treasury_btc"], o["treasury_btc"], c["pledged_btc"], o["pledged_btc"])
    if any(a.shape != (L.paths,) or a.dtype != np.float64 for a in arrays):
        return False
    return k.identities_hold(*arrays, rtol)
