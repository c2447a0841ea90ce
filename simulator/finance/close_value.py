"""When the close's share price runs compiled (:mod:`simulator.finance.close_value_kernel`), and its calls.

:meth:`simulator.finance.ledger.Ledger.close_day` asks :func:`close_price` for the day's share price, its ring
row, the equity value and the equity's returns; False: the numpy steps run instead, which stay the reference
(day 0, whose premium needs the strike and the firm value as arrays; ``valuation.method`` other than ``nav``;
a run too small to pay for loading the kernel: :data:`CLOSE_VALUE_KERNEL`, loaded as every kernel of the
close is, :meth:`~simulator.lazy_kernel.LazyKernel.of_the_close`).

The strike's faces are kept in a ``(1 + debt books, paths)`` table (:class:`ValueScratch`), a row copied again
only when its book holds a new balance array (the books and the ledger never write a balance in place: every
change assigns a new array, so the array a row was copied from, held here, tells whether it is current), and
the BTC-backed books' pledged BTC the same way. Each book's years to maturity are asked every day (they run
down with the day): one number for every path goes to the kernel as it is, an array into its row unless the row
already holds that array's numbers (the same array as last copied: an amortising project loan's years, which
:meth:`~simulator.finance.debt.ProjectDebtBook.years_left` keeps while its months left are the same).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from simulator import units
from simulator.finance import dilution, structural
from simulator.finance.debt import ConvertibleBook
from simulator.lazy_kernel import LazyKernel

CLOSE_VALUE_KERNEL = LazyKernel.of_the_close("simulator.finance.close_value_kernel")
#: The numpy steps' fixed cost in paths' worth (~0.05 µs a path): the strike, the firm value, the share value,
#: the traded price and the returns, ~70 numpy calls (~150 µs a close). At most the valuation kernel's 2,048 a
#: close (``structural``), so a one-path run of the longest bundled horizon (1,461 days) stays in numpy (review 12).
NUMPY_PRICE_COST = 2048


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
        self.index, self.packed = np.empty(paths, dtype=np.int64), np.empty((2, 2 * paths))  # (moneyness_pass's)
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
    cfg, f, r, w, k = L.cfg, L.flows, L.returns, s.work, kernel
    if cfg.hedges:  # the trailing volatility of the hedges' premiums (Ledger._track_equity_returns)
        L.log_returns.push(np.log(L.price_usd / r.last_btc_price_usd))
    s.strike(L, day)
    s.use_premium(L.premium, k)
    s.scalars[k.DECAY] = L.premium.decay(day)
    s.scalars[k.VOL_READY] = float(L.btc_vol.count >= structural.VOL_WINDOW_DAYS)
    diluted = dilution.diluted_shares(L.shares, cfg.dilutive, L.share_price_usd) if cfg.dilutive else L.shares
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
    while True:
        table, limits = c.packed_tables()
        if k.value_pass(s.faces, s.years, s.year_scalars, s.conv, diluted, L.share_price_usd, L.cash_usd,
                        L.treasury_btc, s.pledged, L.deferred_revenue_usd, f.fleet_market_value_usd, L.sites.book_usd,
                        L.sites.in_progress_usd, f.site_mw_hpc_share, hpc, completed, ended, factor, power_price, table,
                        limits, terms, L.btc_vol.m2, s.premium_rows, L.price_usd, s.scalars, w, s.status):
            break
        c.pv_parts(int(s.status[0]), int(s.status[1]))  # (a path's age past the tables: extended, as value_usd does)
    np.log(w[k.RATIO], out=w[k.LOG_RATIO])  # (numpy's log and exp, scipy's ndtr: close_value_kernel.py)
    np.exp(w[k.MINUS_RT], out=w[k.DISCOUNT])
    read = k.moneyness_pass(w, s.scalars[k.RATE], L.alive, s.index, s.packed)  # the paths whose price reads N(d)
    ndtr(s.packed[0, :2 * read], out=s.packed[1, :2 * read])  # (their d1 and d2)
    state, positive = np.empty((6, L.paths)), np.empty(L.paths, dtype=bool)
    k.price_pass(w, s.premium_rows, s.scalars, L.alive, L.shares, L.price_usd, r.last_share_price_usd,
                 r.last_btc_price_usd, r._last_positive, L.share_price_ring.slot(), state, positive, s.ok, s.index,
                 s.packed, read)
    np.log(w[k.PRICE_RATIO:k.SHARE_RATIO + 1], out=w[k.X:k.Y + 1])
    sums = r.sums
    k.add_returns(w[k.X], w[k.Y], s.ok, state[2], sums["n"], sums["x"], sums["y"], sums["xx"], sums["xy"],
                  r.peak_share_price_usd, r.max_drawdown)
    L.nav_usd, L.nav_per_share_usd, L.share_price_usd, L.equity_value_usd = state[0], state[1], state[2], state[3]
    r.last_share_price_usd, r.last_btc_price_usd, r._last_positive = state[4], state[5], positive
    return True
