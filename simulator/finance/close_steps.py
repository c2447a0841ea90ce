"""When the close's small steps run compiled (:mod:`simulator.finance.close_kernel`), and their calls.

:data:`CLOSE_KERNEL` is loaded as every kernel of the close is
(:meth:`~simulator.lazy_kernel.LazyKernel.of_the_close`), each call counting its paths plus its numpy
form's fixed cost in paths' worth: :data:`NUMPY_SBC_COST` for the stock compensation grant (~25 µs of
numpy calls at 500 paths against ~3 µs compiled) and
:data:`NUMPY_SETTLE_COST` for a :class:`~simulator.finance.books.LineBook`'s settlement (three passes
over every line, ~12 µs at 47 lines × 500 paths, against one pass over the lines booked), and
:data:`NUMPY_ATM_COST` for an ATM raise (~25 numpy calls), :data:`NUMPY_FUND_COST` for the funding
waterfall's need and BTC sale.
"""
from __future__ import annotations

import weakref

import numpy as np

from simulator.lazy_kernel import LazyKernel

CLOSE_KERNEL = LazyKernel.of_the_close("simulator.finance.close_kernel")
NUMPY_SBC_COST = 512
NUMPY_SETTLE_COST = 256
NUMPY_ATM_COST = 512
#: The funding waterfall's numpy cost around its sources in paths' worth (~10 numpy calls a source).
NUMPY_FUND_COST = 256
#: The stock compensation's trailing window of share prices [days] (``Ledger.share_price_ring``).
SBC_WINDOW_DAYS = 30


#: The lines the day's grant books (``Ledger._stock_compensation``), with and without the segments' split.
SBC_LINES = {True: ("sbc_usd", "sbc_mining_usd", "sbc_hosting_usd", "sbc_hpc_usd", "shares_issued"),
             False: ("sbc_usd", "sbc_mining_usd", "shares_issued")}


_sbc_scalars: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def sbc_book(ledger, usd_per_day: float, max_shares_per_day: float | None, min_price_usd: float) -> bool:
    """The day's grant of ``usd_per_day`` at the trailing average of the ledger's share prices, booked into its
    lines and its shares issued, in one compiled pass (``close_kernel.sbc_book``), as
    ``Ledger._stock_compensation`` does; False: run the numpy form (one path, whose ring numpy sums pairwise,
    not row by row; no price seen yet; or the kernel not loaded)."""
    L, ring = ledger, ledger.share_price_ring
    paths = ring.values.shape[1]
    if paths < 2 or not ring.count or L.shares.shape != (paths,):
        return False
    kernel = CLOSE_KERNEL.for_call(paths, NUMPY_SBC_COST)
    if kernel is None:
        return False
    split = L._segment_shares is not None
    mining, hosting, hpc = L._segment_shares if split else (L.shares, L.shares, L.shares)  # (unread unless split)
    book = L.lines
    rows = book.rows_of(SBC_LINES[split])
    scalars = sbc_constants(L, usd_per_day, max_shares_per_day, min_price_usd)
    scalars[0] = min(ring.count, SBC_WINDOW_DAYS)
    out = np.empty((2, paths))
    kernel.sbc_book(ring.values, L.alive, scalars, mining, hosting, hpc, split, L.shares, book.tables, rows, out)
    L.shares = out[1]
    return True


def sbc_constants(ledger, usd_per_day: float, max_shares_per_day: float | None, min_price_usd: float) -> np.ndarray:
    """``close_kernel.sbc_book``'s scalars, made once a ledger (the days seen, first, are the caller's to write)."""
    scalars = _sbc_scalars.get(ledger)
    if scalars is None:  # (the run's constants, once a ledger; the days seen go in first)
        scalars = _sbc_scalars[ledger] = np.array([0.0, usd_per_day, max_shares_per_day or 0.0,
                                                   float(max_shares_per_day is not None), min_price_usd], dtype=float)
    return scalars


_atm_scalars: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _atm_constants(equity, min_traded_price_usd: float) -> list[float]:
    """``close_kernel._raise``'s scalars from the equity section: the quarter's cap [USD], the dilution cap as a
    fraction, the price-to-NAV floor, the price floor [USD], ``1 − fee``, the NAV floor's tolerance factor, the
    smallest traded price [USD], and 1.0 if the fee is below 1."""
    e = equity
    return [e.atm_max_usd_per_quarter, e.atm_max_dilution_pct_per_quarter / 100, e.atm_min_price_to_nav,
            e.atm_min_price_usd, 1 - e.atm_fee, 1 - 1e-12, min_traded_price_usd, float(e.atm_fee < 1)]


def atm(ledger, net_usd, share_price_usd, min_traded_price_usd: float):
    """:meth:`~simulator.finance.ledger.Ledger._atm` compiled, its state reassigned and its lines booked as
    the numpy form does; returns the net raised [USD], or None: run the numpy form."""
    L, e = ledger, ledger.cfg.equity
    net_usd, share_price_usd = np.asarray(net_usd, dtype=float), np.asarray(share_price_usd, dtype=float)
    if net_usd.shape != (L.paths,) or share_price_usd.shape != (L.paths,):
        return None
    kernel = CLOSE_KERNEL.for_call(L.paths, NUMPY_ATM_COST)
    if kernel is None:
        return None
    scalars = _atm_scalars.get(L)
    if scalars is None:  # (the run's constants, once a ledger)
        scalars = _atm_scalars[L] = np.array(_atm_constants(e, min_traded_price_usd), dtype=float)
    out = np.empty((7, L.paths))
    kernel.atm(net_usd, share_price_usd, L.atm_used_usd, L.atm_shares_issued, L.quarter_start_shares,
               L.nav_per_share_usd, L.shares, L.cash_usd, L.equity_usd, scalars, out)
    net, shares = out[0], out[1]
    L.atm_used_usd, L.atm_shares_issued = out[2], out[3]
    L._book("shares_issued", shares)  # (Ledger._issue's booking; its shares are out[4])
    L.shares = out[4]
    L._book("atm_proceeds_usd", net)
    L.cash_usd, L.equity_usd = out[5], out[6]
    return net


_fund_scalars: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: The lines the waterfall books (``close_kernel.fund``'s rows).
FUND_LINES = ("btc_sold", "btc_sales_usd", "shares_issued", "atm_proceeds_usd")


def fund(ledger, alive, price_for_issuance, min_traded_price_usd: float) -> bool:
    """:meth:`~simulator.finance.ledger.Ledger._fund` in one compiled pass (``close_kernel.fund``: the need, each
    source in the funding order, the bookings), the ledger's state reassigned as the numpy form's sources
    reassign it (``min_traded_price_usd``: the ledger's, constant for a run); False: run the numpy form."""
    kernel = CLOSE_KERNEL.for_call(ledger.paths, NUMPY_FUND_COST)
    return kernel is not None and _fund_call(ledger, kernel, kernel.fund, alive, price_for_issuance,
                                             min_traded_price_usd) is not None


def fund_short(ledger, alive, price_for_issuance, min_traded_price_usd: float) -> int | None:
    """``Ledger.close_day``'s funding step once the kernel is loaded, in one compiled call
    (``close_kernel.fund_day``): whether some path's cash is below ``min_cash_usd`` (else nothing happens:
    returns 0), then :func:`fund`'s waterfall and how many paths' cash is below 0 after it (the paths
    ``Ledger._distress`` takes: it runs if this is not 0). None: not loaded (its calls not yet worth it) or
    a state the kernel does not take; run ``close_day``'s numpy steps (their :func:`fund` still decides)."""
    kernel = CLOSE_KERNEL.loaded()
    return None if kernel is None else _fund_call(ledger, kernel, kernel.fund_day, alive, price_for_issuance,
                                                  min_traded_price_usd)


def fund_constants(L, min_traded_price_usd: float) -> tuple:
    """The funding step's constants, once a ledger: ``close_kernel.fund``'s scalars (the floor, then :func:`atm`'s)
    and sources (those that move: an ATM turned off moves nothing), and whether it sells BTC and raises."""
    fixed = _fund_scalars.get(L)
    if fixed is None:
        policy, e = L.cfg.treasury_policy, L.cfg.equity
        scalars = np.array([policy.min_cash_usd, *_atm_constants(e, min_traded_price_usd)], dtype=float)
        sources = np.array([0 if s == "sell_btc" else 1 for s in policy.funding_order
                            if s == "sell_btc" or e.atm_enabled], dtype=np.int64)
        fixed = _fund_scalars[L] = (scalars, sources, "sell_btc" in policy.funding_order,
                                    e.atm_enabled and "atm" in policy.funding_order)
    return fixed


def _fund_call(L, kernel, step, alive, price_for_issuance, min_traded_price_usd: float) -> int | None:
    """``step`` (``close_kernel.fund`` or ``fund_day``) on the ledger's state, which it reassigns where the waterfall
    moved something (the step's lowest bit); returns the rest of the step's code (``fund_day``'s paths short), 0
    if the step returned below 0 (nothing done), None if the state's shapes are not the kernel's."""
    share_price = np.asarray(price_for_issuance, dtype=float)
    if L.cash_usd.shape != (L.paths,) or np.shape(L.price_usd) != (L.paths,) or share_price.shape != (L.paths,):
        return None
    scalars, sources, sells, raises = fund_constants(L, min_traded_price_usd)
    book = L.lines
    out = np.empty((7 + 2 * len(sources), L.paths))
    code = step(scalars, sources, alive, L.cash_usd, L.treasury_btc, L.price_usd, share_price, L.atm_used_usd,
                L.atm_shares_issued, L.quarter_start_shares, L.nav_per_share_usd, L.shares, L.equity_usd,
                book.tables, book.rows_of(FUND_LINES), out)
    if code <= 0 or not code & 1:
        return 0 if code <= 0 else code >> 1  # (nothing moved: each source would move 0)
    L.cash_usd = out[0]
    if sells:
        L.treasury_btc = out[1]
    if raises:
        L.atm_used_usd, L.atm_shares_issued, L.shares, L.equity_usd = out[2], out[3], out[4], out[5]
    return code >> 1
