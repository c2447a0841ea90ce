"""The close's share price for ``valuation.method: nav``, compiled: the strike, the firm value, Merton's call,
the traded price and the equity's returns in four passes over the paths.

The numpy steps are the reference and stay where they are (:meth:`simulator.finance.ledger.Ledger._strike`,
``_firm_value``, :func:`simulator.finance.structural.share_value`, ``close_day``'s traded price and ring,
:meth:`simulator.finance.equity_returns.EquityReturns.track`); their compiled forms are already proved to be
the same floats (:func:`simulator.finance.firm_value_kernel.convertible_strike` and ``nav_firm_value``,
:mod:`simulator.finance.valuation_kernel`). The passes here do those forms' IEEE operations in their order
on each path, only without the arrays between them:

* :func:`value_pass`: the diluted shares with each convertible's if-converted shares (in book order, ``+ 0.0``
  on the paths out of the money when one path is in), the face ``F = Σ F_i`` (an in-the-money convertible's
  face taken as ``+0.0``, the value ``convertible_strike`` writes) and ``Σ F_i T_i`` from ``+0.0`` over the
  instruments (the arrears first), the NAV method's assets ``V`` and BTC-linked part (once every HPC contract is
  signed, each project's expected value read from its tables by the path's age as ``contract_value`` reads it,
  summed from +0.0 in project order), the trailing volatility
  ``sqrt(max(M₂, 0) / 89 × 365)`` (or the model's before 90 returns), then ``prepare``'s NAV, NAV per share,
  ``V + G``, ``F``, ``T``, ``σ_V``, ``σ_V √T``, the masked ratio ``V/F`` and ``−rT``.
* numpy's ``log`` of the ratio and ``exp(−rT)`` (numpy's SIMD loops, not the C library's), then
  :func:`moneyness_pass`: ``d₁``, ``d₂`` of the paths whose price reads them (alive, ``V > 0``, ``F > 0``) packed
  into one row, which scipy's ``ndtr`` takes in one call (an elementwise ufunc: each element the double it gets
  alone, whichever elements share the call).
* :func:`price_pass`: Merton's equity times the equity multiple per diluted share, the traded price
  (``price`` where the path is alive and ``price ≥`` the smallest traded price, else ``+0.0``), its ring row,
  the equity value ``S × shares`` and the returns' ratios ``P_t / P_{t−1}``, ``S_t / S_{t−1}`` (1.0 unless both
  prices were above 0 both days).
* numpy's ``log`` of the two ratios (one call on a ``(2, paths)`` block), then
  :func:`simulator.finance.valuation_kernel.add_returns` (the beta's sums, the peak and the drawdown).

:func:`day_pass` runs the close's steps in one call on most days (the rings, the grant, on a month end the month's
tax, the funding of :mod:`simulator.finance.close_kernel`, then :func:`value_pass`, the lines' settlement and
:func:`tail_pass`, the three steps after :func:`value_pass` above): each the function that ran alone before, called
in ``Ledger.close_day``'s order on the state the previous one left. The tail calls numpy's ``log``, ``exp`` and
scipy's ``ndtr`` by the ufuncs' own float64 strided loops (:func:`ufunc_loops`, from numpy's experimental
``ufunc._get_strided_loop``; :func:`_ufunc_call`): the machine code a ufunc call on a contiguous row runs, so
every element is the ufunc's double (numba's ``math.log`` and ``math.exp`` call the C library's, whose last bits
differ from numpy's SIMD loops'; tests/test_close_value.py checks the loops' bits over the doubles' whole
domain). :func:`month_pass`, :func:`balance_pass` and :func:`identities_hold` are ``Ledger._close_month``'s
derived lines, balance sheet and identity checks.

Compiled with ``cache=True`` and ``nogil``, ``error_model="numpy"``, never ``parallel`` (worker processes
fork); loaded by :data:`simulator.finance.close_value.CLOSE_VALUE_KERNEL` once a run's closes pay for it.
"""
from __future__ import annotations

import ctypes
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic
from scipy.special import ndtr

from simulator import numba_cache
from simulator.finance.book_kernel import book
from simulator.finance.close_kernel import fund_day, sbc_book, settle
from simulator.finance.valuation_kernel import add_returns  # (the fourth pass, as it is)
from simulator.kernel_math import clip, maximum, minimum, rows_sum_into

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

#: Rows of :func:`value_pass`'s scalars.
RECEIVABLE, CARRIED, OTHER_LIABILITIES, MIN_VOL, LONG_RUN, EXCESS, DECAY, MIN_YEARS, OPEN_ENDED, RATE, VOL_READY, \
    MODEL_VOL, VOL_DAYS, DAYS_PER_YEAR, MIN_TRADED, DAY = range(16)
SCALARS = 16
#: Rows of the work table ``(WORK_ROWS, paths)``.
NAV, NAV_PER_SHARE, VALUE, FACE, T, SIGMA, SD, RATIO, MINUS_RT, DILUTED, LOG_RATIO, DISCOUNT, D1, D2, N1, N2, \
    PRICE_RATIO, SHARE_RATIO, X, Y = range(20)
WORK_ROWS = 20
#: Columns of the contracts' terms ``(projects, 4)``: the lease rate factor is 1 (GPU cloud), the discount
#: ``(1 + ρ)^{−τ}``, the building capex left and the GPU capex (:meth:`~simulator.finance.contracts.ContractValuer.day_terms`).
UNIT_FACTOR, CONTRACT_DISCOUNT, BUILD_LEFT, GPU_CAPEX = range(4)
#: Rows of the premium's table ``(5, paths)``: day 0's ``G₀``, ``V₀``, ``w₀``, ``P₀``, ``m₀``.
INTANGIBLE0, ASSETS0, LINKED0, PRICE0, MULTIPLE0 = range(5)
#: Rows of :func:`ufunc_loops`' table: numpy's ``log`` and ``exp``, scipy's ``ndtr``; its columns: the strided
#: loop's address, its context's and its auxiliary data's.
LOG, EXP, NDTR = range(3)
LOOP, CONTEXT, AUXDATA = range(3)


class _CallInfo(ctypes.Structure):
    """numpy's ``numpy_1.24_ufunc_call_info`` capsule (``numpy.ufunc._get_strided_loop``'s notes)."""

    _fields_ = [("strided_loop", ctypes.c_void_p), ("context", ctypes.c_void_p), ("auxdata", ctypes.c_void_p),
                ("requires_pyapi", ctypes.c_ubyte), ("no_floatingpoint_errors", ctypes.c_ubyte)]


_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))
_loops: list = []  # (this process's table and the capsules that own its loops' context and data: ufunc_loops)


def ufunc_loops() -> np.ndarray:
    """This process's ``(3, 3)`` table of the float64 → float64 strided loops of numpy's ``log``, ``exp`` and scipy's
    ``ndtr`` (rows :data:`LOG`, :data:`EXP`, :data:`NDTR`; each its loop's, context's and auxiliary data's
    addresses), for :func:`_ufunc_call` in compiled code: the machine code the ufunc call runs on contiguous rows,
    so each element gets the ufunc's double. numpy gives them through its experimental
    ``ufunc._resolve_dtypes_and_context`` and ``_get_strided_loop`` (the capsules kept here for the process's life:
    they own the loops' data); a ``(0, 3)`` table where it does not, or a loop needs the GIL (the callers then call
    the ufuncs from Python). Made once a process (a forked worker inherits it: the same addresses)."""
    if not _loops:
        table, capsules, f8 = np.zeros((3, 3), dtype=np.intp), [], np.dtype(np.float64)
        try:
            for row, ufunc in ((LOG, np.log), (EXP, np.exp), (NDTR, ndtr)):
                _, capsule = ufunc._resolve_dtypes_and_context((f8, f8))
                ufunc._get_strided_loop(capsule, fixed_strides=(8, 8))
                info = _CallInfo.from_address(_capsule_pointer(capsule, b"numpy_1.24_ufunc_call_info"))
                if info.requires_pyapi or not info.strided_loop:
                    raise ValueError(f"no strided loop of {ufunc.__name__} without the GIL")
                table[row] = info.strided_loop, info.context or 0, info.auxdata or 0
                capsules.append(capsule)
        except (AttributeError, TypeError, ValueError):  # (another numpy's experimental API)
            table, capsules = np.zeros((0, 3), dtype=np.intp), []
        _loops.extend((table, capsules))
    return _loops[0]


@intrinsic
def _ufunc_call(typingctx, loops, row, x, out, n):
    """``out[:n] = ufunc(x[:n])`` by the strided loop in row ``row`` of :func:`ufunc_loops`' table ``loops``
    (``x``, ``out`` C-contiguous float64 arrays of at least ``n`` elements, flat; strides 8 bytes): the call
    ``int loop(context, char *const data[2], const npy_intp *n, const npy_intp strides[2], auxdata)`` of numpy's
    ``PyArrayMethod_StridedLoop``, its pointer arrays on the stack. Returns the loop's status (0: done). numpy's
    check of the floating-point flags after a ufunc call is not made (warnings only; no value changes)."""
    for a in (x, out):
        if not (isinstance(a, types.Array) and a.dtype == types.float64 and a.layout == "C"):
            raise TypingError(f"_ufunc_call takes C-contiguous float64 arrays, not {a}")

    def codegen(context, builder, signature, args):
        table_value, row_value, x_value, out_value, count = args
        table_type, _, x_type, out_type, _ = signature.args
        intp, byte = context.get_value_type(types.intp), ir.IntType(8).as_pointer()
        table = context.make_array(table_type)(context, builder, table_value)
        addresses = [builder.load(cgutils.get_item_pointer(context, builder, table_type, table,
                                                           [row_value, context.get_constant(types.intp, column)]))
                     for column in (LOOP, CONTEXT, AUXDATA)]
        data = cgutils.alloca_once(builder, byte, size=2)
        for i, (a_type, a_value) in enumerate(((x_type, x_value), (out_type, out_value))):
            pointer = context.make_array(a_type)(context, builder, a_value).data
            builder.store(builder.bitcast(pointer, byte), builder.gep(data, [ir.Constant(intp, i)]))
        dimensions = cgutils.alloca_once_value(builder, count)  # (an intp: the signature's, cast by numba)
        strides = cgutils.alloca_once(builder, intp, size=2)
        for i in range(2):
            builder.store(ir.Constant(intp, 8), builder.gep(strides, [ir.Constant(intp, i)]))
        fnty = ir.FunctionType(ir.IntType(32), [byte, byte.as_pointer(), intp.as_pointer(), intp.as_pointer(), byte])
        loop = builder.inttoptr(addresses[LOOP], fnty.as_pointer())
        return builder.call(loop, [builder.inttoptr(addresses[CONTEXT], byte), data, dimensions, strides,
                                   builder.inttoptr(addresses[AUXDATA], byte)])
    return types.int32(loops, types.intp, x, out, types.intp), codegen


@njit(cache=True, nogil=True, error_model="numpy")
def ufunc_into(loops, row, x, out, n):
    """:func:`_ufunc_call` (its tests' entry: ``out[:n] = ufunc(x[:n])``, the loop's status returned)."""
    return _ufunc_call(loops, row, x, out, n)


@njit(cache=True, nogil=True, error_model="numpy")
def value_pass(diluted_in, last_share_price, cash, treasury, faces, years, year_scalars, conv, pledged, deferred,
               fleet, site_book, site_progress, site_hpc_share, hpc_values, completed, ended, factor, power_price,
               table, limits, terms, m2, premium, price, scalars, work, status):
    """The first pass (module docstring) into ``work``'s rows ``NAV`` … ``DILUTED``: the day's diluted shares, the
    previous close, the cash and the treasury first, then the day's tables (``close_value.ValueInputs``, in
    :func:`day_pass` after the state the grant and the funding leave). ``faces`` ``(1 + books,
    paths)``: the arrears, then each book's balance; ``years`` its rows read where ``year_scalars[i]`` is NaN,
    else that one number for every path; ``conv`` ``(convertibles, 4)``: the book's row, its conversion price
    ``K``, cap price and whether it has a cap; ``pledged`` ``(BTC-backed books, paths)``, ``deferred``
    ``(projects, paths)``; ``premium`` ``(5, paths)``. The HPC projects' values are ``hpc_values``' rows
    ``(projects, paths)`` or, with ``hpc_values`` empty, each signed contract's expected value
    (:func:`_contract_sums`). Returns False, with ``status`` the project and the largest age, when a
    project's tables do not reach a path's age (nothing written: the caller extends them and calls again)."""
    day = scalars[DAY]
    for j in range(completed.shape[0]):  # (firm_value_kernel.contract_value's test of its tables)
        max_age = 0
        for p in range(completed.shape[1]):
            if completed[j, p] <= day:
                age = np.intp(day - completed[j, p])
                if age > max_age:
                    max_age = age
        if not max_age < limits[j, 0]:
            status[0], status[1] = j, max_age
            return False
    # each path's sums over instruments, books and projects, a row at a time, into rows of ``work`` the later
    # passes write over and the last loop reads only (D1 … SHARE_RATIO are free in this pass)
    _strike_sums(faces, years, year_scalars, conv, diluted_in, last_share_price, work)
    rows_sum_into(pledged, work[D1])
    rows_sum_into(deferred, work[D2])
    rows_sum_into(hpc_values, work[N1])
    _contract_sums(completed, ended, factor, power_price, table, limits, terms, day, work[N1])
    _values(cash, treasury, fleet, site_book, site_progress, site_hpc_share, m2, premium, price, scalars, work)
    return True


_value_pass = value_pass  # (day_pass's own name for it: a test's spy on value_pass never reaches compiled code)


@njit(cache=True, nogil=True, error_model="numpy")
def day_pass(interest_ring, interest_slot, interest, ebitda_ring, ebitda_slot, ebitda, equity, alive, price_ring,
             sbc_scalars, mining, hosting, hpc, split, shares, fund_scalars, sources, cash, treasury, share_price, used,
             issued, opening_shares, nav_per_share, tables, sbc_rows, fund_rows, pending, out, month_end, tax_rate,
             tax_rows, cum_pretax, taxed_base, faces, years, year_scalars, conv, pledged, deferred, fleet, site_book,
             site_progress, site_hpc_share, hpc_values, completed, ended, factor, power_price, table, limits, terms, m2,
             premium, price, scalars, work, status, loops, ring_slot, last_share_price, last_btc_price, last_positive,
             state, positive, ok, index, packed, returns):
    """``Ledger.close_day`` in one call (on a quarter start, ``used`` and ``issued`` the quarter's caps reset and
    ``opening_shares`` may be ``out[2]``, read by the funding after the grant writes it):
    the day's interest and EBITDA into their rings' rows ``interest_slot``, ``ebitda_slot``, the equity less the
    interest (``out[0]``), the stock compensation grant (:func:`simulator.finance.close_kernel.sbc_book`, its
    expense and shares into ``out[1]``, ``out[2]``), on a ``month_end`` the month's tax (:func:`_month_tax`: the
    state into ``out``'s last four rows, the equity less the tax in ``out[0]``), the funding step
    (``close_kernel.fund_day`` on that state, its rows from ``out[3]``), then, unless a path is short of cash
    after it (``Ledger._distress`` comes first), :func:`value_pass` on the state the funding left (its cash,
    treasury and shares; the diluted shares are the shares: no dilutive instruments) and, if it valued every path,
    the pending lines' settlement
    (:func:`simulator.finance.close_kernel.settle` of rows ``pending``: nothing is booked after it that day),
    then, with ``loops`` (:func:`ufunc_loops`; an empty table: left to the caller), the price's tail
    (:func:`tail_pass`: the share price ring's row ``ring_slot``, the returns' state and table ``returns``).
    The same operations on the same doubles in ``close_day``'s order. Returns ``fund_day``'s code and whether
    the value pass ran to its end (False: short of cash, or a contract table to extend; not settled)."""
    paths = cash.shape[0]
    for p in range(paths):
        interest_ring[interest_slot, p] = interest[p]
    for p in range(paths):
        ebitda_ring[ebitda_slot, p] = ebitda[p]
    less_interest = out[0]
    for p in range(paths):
        less_interest[p] = equity[p] - interest[p]
    sbc_book(price_ring, alive, sbc_scalars, mining, hosting, hpc, split, shares, tables, sbc_rows, out[1:3])
    taxed_cash = out[out.shape[0] - 2]  # (written only on a month end)
    if month_end:
        _month_tax(tables, pending, tax_rows, tax_rate, alive, cum_pretax, taxed_base, cash, less_interest,
                   out[out.shape[0] - 4:])
    cash_in = taxed_cash if month_end else cash
    funded = out[3:]
    code = fund_day(fund_scalars, sources, alive, cash_in, treasury, price, share_price, used, issued, opening_shares,
                    nav_per_share, out[2], less_interest, tables, fund_rows, funded)
    if code >= 2:  # (a path short of cash: distress first)
        return code, False
    moved = code == 1
    cash_now, treasury_now, shares_now = (funded[0], funded[1], funded[4]) if moved else (cash_in, treasury, out[2])
    if not _value_pass(shares_now, share_price, cash_now, treasury_now, faces, years, year_scalars, conv, pledged,
                       deferred, fleet, site_book, site_progress, site_hpc_share, hpc_values, completed, ended, factor,
                       power_price, table, limits, terms, m2, premium, price, scalars, work, status):
        return code, False
    settle(tables, pending)
    if loops.shape[0]:
        tail_pass(loops, work, premium, scalars, alive, shares_now, price, last_share_price, last_btc_price,
                  last_positive, price_ring[ring_slot], state, positive, ok, index, packed, returns)
    return code, True


@njit(cache=True, nogil=True, error_model="numpy")
def tail_pass(loops, work, premium, scalars, alive, shares, btc_price, last_share_price, last_btc_price, last_positive,
              ring_row, state, positive, ok, index, packed, returns):
    """The price's tail after :func:`value_pass` (the module docstring's steps, ``close_value._price_tail``'s
    calls in its order): numpy's ``log`` of the ratio and ``exp(−rT)`` (their strided loops, :func:`ufunc_loops`'
    table ``loops``), :func:`moneyness_pass`, scipy's ``ndtr`` of the packed ``d``'s, :func:`price_pass` (its
    arguments), numpy's ``log`` of the two ratio rows, then ``add_returns`` on the rows of ``returns``
    (``EquityReturns.table``: ``n``, ``Σx``, ``Σy``, ``Σx²``, ``Σxy``, the peak and the maximum drawdown)."""
    paths = work.shape[1]
    _ufunc_call(loops, LOG, work[RATIO], work[LOG_RATIO], paths)
    _ufunc_call(loops, EXP, work[MINUS_RT], work[DISCOUNT], paths)
    k = _moneyness_pass(work, scalars[RATE], alive, index, packed)
    if k:
        _ufunc_call(loops, NDTR, packed[0], packed[1], 2 * k)
    _price_pass(work, premium, scalars, alive, shares, btc_price, last_share_price, last_btc_price, last_positive,
               ring_row, state, positive, ok, index, packed, k)
    _ufunc_call(loops, LOG, work[PRICE_RATIO:SHARE_RATIO + 1], work[X:Y + 1], 2 * paths)
    add_returns(work[X], work[Y], ok, state[2], returns[0], returns[1], returns[2], returns[3], returns[4], returns[5],
                returns[6])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pretax(sums, rows, p):
    """Path ``p``'s pre-tax income from the month's sums ``sums`` (``close_value.pretax``, left to right):
    ``ebitda − sbc − depreciation − impairment + BTC fair value gain + hedge P&L − interest − liquidation penalty``,
    those lines at rows ``rows[:8]`` (``close_value.TAX_LINES``' order); :func:`_month_tax`'s and
    :func:`month_pass`' one copy (inlined: the same doubles, in the same order)."""
    return (sums[rows[0], p] - sums[rows[1], p] - sums[rows[2], p] - sums[rows[3], p] + sums[rows[4], p]
            + sums[rows[5], p] - sums[rows[6], p] - sums[rows[7], p])


@njit(cache=True, nogil=True, error_model="numpy")
def _month_tax(tables, pending, rows, rate, alive, cum_pretax, taxed_base, cash, equity, out):
    """``Ledger.close_day``'s month-end tax: the lines pending today settled (``LineBook.month_lines``), the month's
    pre-tax income (:func:`_pretax`, ``close_value.pretax``'s; ``rows[:8]`` its lines' rows), the cumulative
    pre-tax income ``C + pretax`` (``out[0]``), the taxed base ``max(C, 0)`` (``out[1]``, ``np.maximum``), the tax
    ``rate × (taxed − base) × alive`` (``out[3]``) booked on line ``rows[8]`` (``Ledger._book``), the cash less the
    tax (``out[2]``) and ``equity`` less the tax in place (a new array in ``close_day``, here ``day_pass``'s row)."""
    settle(tables, pending)
    month = tables[0]
    cum, taxed, cash_after, tax = out[0], out[1], out[2], out[3]
    for p in range(cash.shape[0]):
        pretax = _pretax(month, rows, p)
        c = cum_pretax[p] + pretax
        cum[p] = c
        t = maximum(c, 0.0)
        taxed[p] = t
        tax[p] = rate * (t - taxed_base[p]) * (1.0 if alive[p] else 0.0)
    book(tables, rows[8], tax, tax, False)
    for p in range(cash.shape[0]):
        cash_after[p] = cash[p] - tax[p]
    for p in range(cash.shape[0]):
        equity[p] = equity[p] - tax[p]


@njit(cache=True, nogil=True, error_model="numpy")
def month_pass(tables, month, rows):
    """``Ledger._close_month``'s derived lines from the month's sums ``tables[0]`` (a ``LineBook``'s, settled):
    the pre-tax income (:func:`_pretax`), the net income, the cash flows from operations, investing and
    financing and their sum, each per path in the numpy form's order (left to right) from the lines at rows
    ``rows[:21]`` (``close_value.MONTH_LINES``), written into the month's copy ``month`` at rows ``rows[21:]``
    and added to the running totals ``tables[1]`` there (the derived rows are never booked)."""
    sums, total = tables[0], tables[1]
    hedge, interest = rows[5], rows[6]  # (rows[:8]: the pre-tax income's lines, :func:`_pretax`)
    tax, btc_sales, cash_revenue, cost, sga, resale, capex, purchases, atm, buybacks, drawn, repaid, unpaid = rows[8:21]
    pretax_row, net_row, cfo_row, cfi_row, cff_row, cash_row = rows[21:27]
    for p in range(month.shape[1]):
        pretax = _pretax(sums, rows, p)
        cfo = (sums[btc_sales, p] + sums[cash_revenue, p] - sums[cost, p] - sums[sga, p] - sums[interest, p]
               - sums[tax, p] + sums[hedge, p])
        cfi = sums[resale, p] - sums[capex, p] - sums[purchases, p]
        cff = sums[atm, p] - sums[buybacks, p] + sums[drawn, p] - sums[repaid, p] + sums[unpaid, p]
        net = pretax - sums[tax, p]
        cash = cfo + cfi + cff
        month[pretax_row, p], month[net_row, p], month[cfo_row, p] = pretax, net, cfo
        month[cfi_row, p], month[cff_row, p], month[cash_row, p] = cfi, cff, cash
        total[pretax_row, p] = total[pretax_row, p] + pretax
        total[net_row, p] = total[net_row, p] + net
        total[cfo_row, p] = total[cfo_row, p] + cfo
        total[cfi_row, p] = total[cfi_row, p] + cfi
        total[cff_row, p] = total[cff_row, p] + cff
        total[cash_row, p] = total[cash_row, p] + cash


@njit(cache=True, nogil=True, error_model="numpy")
def identities_hold(assets, liabilities, equity, cash, opening_cash, net_cash, month_btc, bought, sold, liquidated,
                    treasury, opening_treasury, pledged, opening_pledged, rtol):
    """Whether ``Ledger._check``'s three identities hold on every path, its operations per path: assets −
    liabilities − equity and cash − opening cash − net cash flow within
    ``rtol × max(|assets|, |liabilities|, 1)``,
    BTC in − BTC out within ``rtol × max(|treasury| + |BTC in|, 1)`` (``np.maximum``'s NaN: a NaN residual or
    scale fails no test, as ``|r| > tol`` in numpy). False: ``_check`` runs and raises on the first that fails."""
    for p in range(cash.shape[0]):
        scale = maximum(maximum(abs(assets[p]), abs(liabilities[p])), 1.0)
        gap = assets[p] - liabilities[p] - equity[p]
        cash_gap = cash[p] - opening_cash[p] - net_cash[p]
        btc_in = month_btc[p] + bought[p]
        btc_out = sold[p] + liquidated[p] + treasury[p] + pledged[p] - opening_treasury[p] - opening_pledged[p]
        btc_scale = maximum(abs(treasury[p]) + abs(btc_in), 1.0)
        if abs(gap) > rtol * scale or abs(cash_gap) > rtol * scale or abs(btc_in - btc_out) > rtol * btc_scale:
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def balance_pass(out, cash, treasury, pledged, receivable, price, units, unit_cost, fraction, site, hpc, carried, debt,
                 arrears, deferred, other_liabilities, equity, shares, share_price):
    """``Ledger._balance``'s sheet [USD, BTC, shares, USD/share] into ``out``'s rows (``close_value.BALANCE_ROWS``'
    order), per path in its numpy form's operations: the cash, treasury and pledged BTC, the BTC's value
    ``(treasury + pledged + receivable) × price``, the fleet's book value over the cohorts ``i``, each unit's value
    its cost times the cohort's remaining fraction ``fraction[i, 0]`` (``CohortBookValues.on``), summed as
    ``(units × value).sum(axis=0)``: ``((0.0 + u₀v₀) + u₁v₁) + …``, the sites' and HPC's book values, the carried
    assets, the debt, the arrears, the deferred revenue summed over the projects as numpy does (``rows_sum_into``),
    the other liabilities, the equity, the shares and the share price, then the total assets (cash + BTC + fleet +
    sites + HPC + carried, left to right) and the total liabilities (debt + arrears + deferred + other)."""
    cash_row, treasury_row, pledged_row, btc_row, fleet_row, site_row = out[0], out[1], out[2], out[3], out[4], out[5]
    hpc_row, other_assets_row, debt_row, arrears_row, deferred_row = out[6], out[7], out[8], out[9], out[10]
    other_row, equity_row, shares_row, price_row, assets_row, liabilities_row = (out[11], out[12], out[13], out[14],
                                                                                 out[15], out[16])
    fleet_row[:] = 0.0
    for i in range(units.shape[0]):
        for p in range(units.shape[1]):
            fleet_row[p] = fleet_row[p] + units[i, p] * (unit_cost[i, p] * fraction[i, 0])
    rows_sum_into(deferred, deferred_row)
    for p in range(cash.shape[0]):
        btc = (treasury[p] + pledged[p] + receivable) * price[p]
        cash_row[p], treasury_row[p], pledged_row[p], btc_row[p] = cash[p], treasury[p], pledged[p], btc
        site_row[p], hpc_row[p], other_assets_row[p], debt_row[p] = site[p], hpc[p], carried, debt[p]
        arrears_row[p], other_row[p], equity_row[p], shares_row[p] = arrears[p], other_liabilities, equity[p], shares[p]
        price_row[p] = share_price[p]
        assets_row[p] = cash[p] + btc + fleet_row[p] + site[p] + hpc[p] + carried
        liabilities_row[p] = debt[p] + arrears[p] + deferred_row[p] + other_liabilities


@njit(cache=True, nogil=True, error_model="numpy")
def _strike_sums(faces, years, year_scalars, conv, diluted_in, last_share_price, work):
    """The diluted shares (row ``DILUTED``), ``F = Σ F_i`` (row ``N2``) and ``Σ F_i T_i`` (row ``PRICE_RATIO``) from
    +0.0 over the instruments in order, each convertible in the money on some path tested on every path
    (:func:`simulator.finance.firm_value_kernel.convertible_strike`: its shares added, its face +0.0)."""
    rows, paths = faces.shape
    dil, face_sum, weighted_sum = work[DILUTED], work[N2], work[PRICE_RATIO]
    dil[:] = diluted_in
    face_sum[:] = 0.0
    weighted_sum[:] = 0.0
    for i in range(rows):
        y, c = year_scalars[i], -1
        for cc in range(conv.shape[0]):  # (a few convertibles at most)
            if int(conv[cc, 0]) == i:
                for p in range(paths):  # (in the money on some path: the others add + 0.0)
                    if faces[i, p] > 0 and last_share_price[p] > conv[cc, 1]:
                        c = cc
                        break
        if c >= 0:
            strike, cap, has_cap = conv[c, 1], conv[c, 2], conv[c, 3] != 0.0
            for p in range(paths):
                f_i, s_prev = faces[i, p], last_share_price[p]
                if f_i > 0 and s_prev > strike:
                    offset = 0.0
                    if has_cap:
                        gain = minimum(s_prev, cap) - strike
                        offset = clip(gain / s_prev if s_prev > strike and s_prev > 0 else 0.0, 0.0, 1.0)
                    dil[p] = dil[p] + f_i / strike * (1 - offset)
                    f_i = 0.0
                else:
                    dil[p] = dil[p] + 0.0
                face_sum[p] += f_i
                weighted_sum[p] += f_i * (y if y == y else years[i, p])
        elif y == y:
            for p in range(paths):
                face_sum[p] += faces[i, p]
                weighted_sum[p] += faces[i, p] * y
        else:
            for p in range(paths):
                face_sum[p] += faces[i, p]
                weighted_sum[p] += faces[i, p] * years[i, p]


@njit(cache=True, nogil=True, error_model="numpy")
def _contract_sums(completed, ended, factor, power_price, table, limits, terms, day, out):
    """Each signed contract's expected value added to ``out`` in project order
    (:func:`simulator.finance.firm_value_kernel.contract_value`'s operations): ``PV(a)`` from project ``j``'s rows
    ``3j … 3j + 2`` of ``table`` at the path's age (at most the tables' last entry, 0 once past the life) once
    completed (0 once the lease ended), else ``PV(0)`` discounted less the capex left (``terms``' columns).
    Where every completed path completed on the same day (bench: 490 paths on day 608, the 10 stopped before it
    never), the paths have two ages, that day's and 0: their table entries are read once (:func:`_one_age_sums`,
    vector code; the per-path loop gathers them)."""
    for j in range(completed.shape[0]):
        last, unit_factor = limits[j, 1] - 1, terms[j, UNIT_FACTOR] != 0.0
        discount, build_left, gpu_capex = terms[j, CONTRACT_DISCOUNT], terms[j, BUILD_LEFT], terms[j, GPU_CAPEX]
        revenue, power, fixed = table[3 * j], table[3 * j + 1], table[3 * j + 2]
        first = _one_completion(completed[j], day)
        if first == first:  # (NaN: completed on two days or more)
            age = min(np.intp(day - first), last) if first <= day else 0
            _one_age_sums(completed[j], day, unit_factor, revenue[age], power[age], fixed[age], revenue[0], power[0],
                          fixed[0], discount, build_left, gpu_capex, factor[j], power_price[j], ended[j], out)
            continue
        for p in range(completed.shape[1]):
            done = completed[j, p] <= day
            age = min(np.intp(day - completed[j, p]), last) if done else 0
            f_j = 1.0 if unit_factor else factor[j, p]
            pv = f_j * revenue[age] - power_price[j, p] * power[age] - fixed[age]
            if done:
                out[p] += 0.0 if ended[j, p] else pv
            else:
                out[p] += pv * discount - build_left - gpu_capex


@njit(cache=True, nogil=True, error_model="numpy")
def _one_completion(completed, day):
    """The one completion day of the paths completed by ``day`` (``completed ≤ day``), ``+inf`` if none is; NaN if
    they completed on different days."""
    first = np.inf
    for p in range(completed.shape[0]):
        c = completed[p]
        if c <= day:
            if first == np.inf:
                first = c
            elif c != first:
                return np.nan
    return first


@njit(cache=True, nogil=True, error_model="numpy")
def _one_age_sums(completed, day, unit_factor, revenue, power, fixed, revenue0, power0, fixed0, discount, build_left,
                  gpu_capex, factor, power_price, ended, out):
    """:func:`_contract_sums`' per-path operations for one project whose completed paths share one age: its table
    entries ``revenue``, ``power``, ``fixed``, and age 0's for the others (a loop for each factor's case, so that
    each runs as vector code)."""
    paths = out.shape[0]
    if unit_factor:
        for p in range(paths):
            if completed[p] <= day:
                pv = 1.0 * revenue - power_price[p] * power - fixed
                out[p] += 0.0 if ended[p] else pv
            else:
                pv = 1.0 * revenue0 - power_price[p] * power0 - fixed0
                out[p] += pv * discount - build_left - gpu_capex
    else:
        for p in range(paths):
            if completed[p] <= day:
                pv = factor[p] * revenue - power_price[p] * power - fixed
                out[p] += 0.0 if ended[p] else pv
            else:
                pv = factor[p] * revenue0 - power_price[p] * power0 - fixed0
                out[p] += pv * discount - build_left - gpu_capex


@njit(cache=True, nogil=True, error_model="numpy")
def _values(cash, treasury, fleet, site_book, site_progress, site_hpc_share, m2, premium, price, scalars, work):
    """The NAV method's assets ``V`` and BTC-linked part (``nav_firm_value``), the trailing volatility and
    ``prepare``'s outputs with ``−rT``, per path, from the sums in ``work``'s rows ``DILUTED``, ``N2`` (``F``),
    ``PRICE_RATIO`` (``Σ F_i T_i``), ``D1`` (pledged BTC), ``D2`` (deferred revenue), ``N1`` (HPC projects). Short
    loops over rows of one table, each the reference's operations on its values (so that they run as vector
    code): ``V`` and the linked part first (rows ``VALUE``, ``SIGMA``), then ``σ_V``, the NAV, ``V + G`` over ``V``
    and ``F``, ``T``, ``σ_V √T``, the ratio and ``−rT``."""
    receivable, carried, other = scalars[RECEIVABLE], scalars[CARRIED], scalars[OTHER_LIABILITIES]
    v_row, linked_row = work[VALUE], work[SIGMA]
    pledged_sum, deferred_sum, hpc_sum = work[D1], work[D2], work[N1]
    for p in range(work.shape[1]):
        btc_usd = (treasury[p] + pledged_sum[p] + receivable) * price[p]
        liquid = cash[p] + btc_usd + carried - other - deferred_sum[p]
        operations = fleet[p] + (site_book[p] + site_progress[p]) * (1 - site_hpc_share[p])
        v_row[p] = liquid + operations + hpc_sum[p]
        linked_row[p] = btc_usd + operations
    _volatility(m2, scalars, work)
    face_sum, dil, nav_row, nav_share_row = work[N2], work[DILUTED], work[NAV], work[NAV_PER_SHARE]
    for p in range(work.shape[1]):
        nav = v_row[p] - face_sum[p]
        nav_row[p] = nav
        nav_share_row[p] = nav / dil[p] if dil[p] > 0 else 0.0
    long_run, excess, decay = scalars[LONG_RUN] != 0.0, scalars[EXCESS], scalars[DECAY]
    intangible0, assets0, linked0, price0 = premium[INTANGIBLE0], premium[ASSETS0], premium[LINKED0], premium[PRICE0]
    for p in range(work.shape[1]):
        v = v_row[p]
        w0 = clip(linked0[p], 0.0, 1.0)
        scale = w0 * (price[p] / price0[p]) + 1.0 - w0
        g0 = intangible0[p]
        g = excess * v + (g0 - excess * assets0[p]) * scale * decay if long_run else g0 * scale
        v_row[p] = v + g
    _call_terms(scalars, work)


@njit(cache=True, nogil=True, error_model="numpy")
def _volatility(m2, scalars, work):
    """``σ_V = max(σ_min, clip(linked / V, 0, 1) σ_BTC)`` into row ``SIGMA`` (over the linked part it holds), with
    ``σ_BTC = sqrt(max(M₂, 0) / 89 × 365)`` once the window is full, else the model's. ``σ_BTC`` goes first into
    row ``X`` (free until the returns' ``log``), in a loop of its own: with the choice inside, neither loop ran
    as vector code (~4 µs against ~1 at 500 paths; the same correctly rounded divisions and square roots)."""
    min_vol, vol_ready, model_vol = scalars[MIN_VOL], scalars[VOL_READY] != 0.0, scalars[MODEL_VOL]
    vol_days, days_per_year = scalars[VOL_DAYS], scalars[DAYS_PER_YEAR]
    v_row, sigma_row, btc_vol = work[VALUE], work[SIGMA], work[X]
    if vol_ready:
        for p in range(work.shape[1]):
            btc_vol[p] = math.sqrt(maximum(m2[p], 0.0) / vol_days * days_per_year)
    else:
        btc_vol[:] = model_vol
    for p in range(work.shape[1]):
        v = v_row[p]
        w = sigma_row[p] / v if v > 0 else 0.0
        sigma_row[p] = maximum(min_vol, clip(w, 0.0, 1.0) * btc_vol[p])


@njit(cache=True, nogil=True, error_model="numpy")
def _call_terms(scalars, work):
    """``F = max(Σ F_i, 0)``, ``T = max(Σ F_i T_i / Σ F_i, T_min)`` (the open-ended tenor without a face),
    ``σ_V √T``, the ratio ``(V + G)/F`` masked as ``prepare`` masks it, and ``−rT``."""
    min_years, open_ended, rate = scalars[MIN_YEARS], scalars[OPEN_ENDED], scalars[RATE]
    face_sum, weighted_sum, vm_row, sigma_row = work[N2], work[PRICE_RATIO], work[VALUE], work[SIGMA]
    face_row, t_row, sd_row, ratio_row, minus_rt_row = work[FACE], work[T], work[SD], work[RATIO], work[MINUS_RT]
    for p in range(work.shape[1]):
        face = face_sum[p]
        t_w = weighted_sum[p] / face if face > 0 else open_ended
        f = maximum(face, 0.0)
        t = maximum(t_w, min_years)
        face_row[p], t_row[p] = f, t
        sd_row[p] = sigma_row[p] * math.sqrt(t)
        vm = vm_row[p]
        ratio_row[p] = vm / f if vm > 0 and f > 0 else 1.0 / (f if f > 0 else 1.0)
        minus_rt_row[p] = -rate * t


@njit(cache=True, nogil=True, error_model="numpy")
def moneyness_pass(work, rate, alive, index, packed):
    """``d₁`` and ``d₂ = d₁ − σ√T`` from numpy's ``log(V/F)`` (row ``LOG_RATIO``) of the paths whose price reads
    ``N(d₁)`` and ``N(d₂)`` (alive, ``V > 0`` and ``F > 0``: :func:`price_pass`'s test), packed into ``packed[0]``:
    the ``k`` paths' ``d₁`` at ``0 … k − 1``, their ``d₂`` at ``k … 2k − 1``, their path numbers in ``index[:k]``
    (in path order); returns ``k``. scipy's ``ndtr`` then takes ``packed[0, :2k]`` into ``packed[1, :2k]``, each
    element the double it gets alone: a stopped path's ``N(d)``, which no output reads, is not computed (bench's
    later years: ~300 of 500 paths stopped, ~10 µs of ``ndtr`` a close)."""
    value, face, k = work[VALUE], work[FACE], 0
    for p in range(work.shape[1]):
        if alive[p] and value[p] > 0 and face[p] > 0:
            index[k] = p
            k += 1
    for j in range(k):
        p = index[j]
        s, sd = work[SIGMA, p], work[SD, p]
        d = (work[LOG_RATIO, p] + (rate + 0.5 * (s * s)) * work[T, p]) / sd
        packed[0, j], packed[0, k + j] = d, d - sd
    return k


@njit(cache=True, nogil=True, error_model="numpy")
def price_pass(work, premium, scalars, alive, shares, btc_price, last_share_price, last_btc_price, last_positive,
               ring_row, state, positive, ok, index, packed, k):
    """The price per diluted share from scipy's ``N(d₁)``, ``N(d₂)`` (``packed[1]``'s ``2k`` values of the paths
    ``index[:k]``, :func:`moneyness_pass`; first put into ``work``'s rows ``N1``, ``N2``: a path not among them
    reads what those rows hold, and its price is 0 or not read) and numpy's ``exp(−rT)``; into ``state``'s
    rows: the NAV and NAV per share (copied), the traded price, the equity value, the traded price again and
    the BTC price (the returns' next "yesterday"); the traded price into ``ring_row``; the returns' ratios into
    ``work``'s rows ``PRICE_RATIO``, ``SHARE_RATIO``, today's mask of prices above 0 into ``positive`` and the
    returns' mask into ``ok``."""
    long_run, decay, min_traded = scalars[LONG_RUN] != 0.0, scalars[DECAY], scalars[MIN_TRADED]
    value, face, n1, n2, discount, dil = work[VALUE], work[FACE], work[N1], work[N2], work[DISCOUNT], work[DILUTED]
    multiple0, traded_row = premium[MULTIPLE0], state[2]
    for j in range(k):
        p = index[j]
        n1[p], n2[p] = packed[1, j], packed[1, k + j]
    for p in range(work.shape[1]):  # (three loops over rows, not one over every row: ~1.5× faster, vector code)
        v, f = value[p], face[p]
        if v > 0:
            equity = maximum(v * n1[p] - f * discount[p] * n2[p], 0.0) if f > 0 else v
        else:
            equity = 0.0
        m0 = multiple0[p]
        m = 1.0 + (m0 - 1.0) * decay if long_run else m0
        diluted = dil[p]
        price = equity * m / diluted if diluted > 0 else 0.0
        traded_row[p] = price if alive[p] and price >= min_traded else 0.0
    nav, nav_per_share, equity_row, last_row, btc_row = work[NAV], work[NAV_PER_SHARE], state[3], state[4], state[5]
    for p in range(work.shape[1]):
        traded = traded_row[p]
        state[0, p], state[1, p] = nav[p], nav_per_share[p]
        equity_row[p], last_row[p], btc_row[p], ring_row[p] = traded * shares[p], traded, btc_price[p], traded
    price_ratio, share_ratio = work[PRICE_RATIO], work[SHARE_RATIO]
    for p in range(work.shape[1]):
        traded = traded_row[p]
        up = traded > 0 and btc_price[p] > 0
        both = up and last_positive[p]
        positive[p], ok[p] = up, both
        price_ratio[p] = btc_price[p] / last_btc_price[p] if both else 1.0
        share_ratio[p] = traded / last_share_price[p] if both else 1.0


_moneyness_pass, _price_pass = moneyness_pass, price_pass  # (tail_pass's own names: a test's spy never reaches them)
