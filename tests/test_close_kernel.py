"""The close's compiled small steps (simulator.finance.close_kernel) against their numpy forms: the same bits.

The stock compensation grant and its bookings (``Ledger._stock_compensation`` with ``sbc_usd_per_year``, capped
or not, split into segments or not) and
``LineBook.settle`` run with :data:`simulator.finance.close_steps.CLOSE_KERNEL` held in numpy and forced,
on drawn share prices and amounts with the edge values (±0, NaN, ±inf, the smallest subnormal, prices at
the smallest traded price), then on whole runs of presets that grant SBC; every output is compared byte
for byte, ``−0.0`` against ``+0.0`` included (issue 19).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulator.finance import close_kernel, close_steps
from simulator.finance.books import LineBook, Ring
from simulator.finance.ledger import MIN_TRADED_PRICE_USD, Ledger

import kernel_forms

#: Edge values overflow and make NaN in both forms, as they should: the forms' bits are compared, not warned about.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

NAN = kernel_forms.NAN
EDGES = [0.0, -0.0, NAN, np.inf, -np.inf, 5e-324, MIN_TRADED_PRICE_USD, np.nextafter(MIN_TRADED_PRICE_USD, 0.0),
         1e308, -1.0, 30.0]
value = st.one_of(st.sampled_from(EDGES), st.floats(allow_nan=False, allow_infinity=False), st.floats(0.0, 100.0))


def both(monkeypatch, spied, fn):
    if monkeypatch is None:  # (a hypothesis example: a patch of its own, undone after it)
        with pytest.MonkeyPatch.context() as patch:
            return both(patch, spied, fn)
    return kernel_forms.both_forms(monkeypatch, close_steps.CLOSE_KERNEL, close_kernel, spied, fn)


@st.composite
def grants(draw):
    paths = draw(st.integers(2, 9))
    count = draw(st.integers(1, 75))
    ring = Ring(close_steps.SBC_WINDOW_DAYS, paths)
    for _ in range(count):
        ring.push(np.array(draw(st.lists(value, min_size=paths, max_size=paths))))
    alive = np.array(draw(st.lists(st.booleans(), min_size=paths, max_size=paths)))
    usd = draw(st.sampled_from([0.0, 2e7, 1e300]))
    cap = draw(st.one_of(st.none(), st.sampled_from([0.0, 1e4, 5e6])))
    return ring, alive, usd, cap


def grant_ledger(ring, alive, usd_per_year, cap, shares, segment_shares, direct):
    """A ledger's attributes that ``Ledger._stock_compensation`` reads, its bookings through a real
    :class:`LineBook` (of the ledger's flow lines; ``direct``: each amount added at once)."""
    from simulator.finance import ledger
    equity = SimpleNamespace(sbc_shares_per_year=None, sbc_max_shares_per_year=cap)
    book = LineBook(ledger._FLOW_LINES, len(alive))
    book._direct = direct
    fake = kernel_forms.FakeLedger(cfg=SimpleNamespace(equity=equity, sbc_usd_per_year=usd_per_year),
                                   share_price_ring=ring, alive=alive, paths=len(alive), lines=book,
                                   shares=shares.copy(), _segment_shares=segment_shares)
    fake._book = lambda line, a: Ledger._book(fake, line, a)
    fake._book_segments = lambda prefix, a: Ledger._book_segments(fake, prefix, a)
    fake._issue = lambda s: Ledger._issue(fake, s)
    return fake


@settings(max_examples=300, deadline=None)
@given(grants(), st.booleans(), st.booleans(), st.data())
def test_sbc_book_same_bits(grant, split, direct, data):
    """The compiled grant books the numpy form's expense, segment parts and shares into the same sums (a
    month's sums before; the day's amounts booked on some of its lines before and after it, pending or,
    ``direct``, added at once) and issues the same shares (it runs once a price has been seen)."""
    ring, alive, usd_per_year, cap = grant
    paths = len(alive)
    column = lambda: np.array(data.draw(st.lists(value, min_size=paths, max_size=paths)))  # noqa: E731
    shares, segment_shares = column(), (column(), column(), column()) if split else None
    lines = ["sbc_usd", "sbc_mining_usd", "sbc_hosting_usd", "sbc_hpc_usd", "shares_issued", "capex_usd"]
    before = [(data.draw(st.sampled_from(lines)), column()) for _ in range(data.draw(st.integers(0, 3)))]
    today = [(data.draw(st.sampled_from(lines)), column()) for _ in range(data.draw(st.integers(0, 3)))]
    later = [(data.draw(st.sampled_from(lines)), column()) for _ in range(data.draw(st.integers(0, 2)))]

    def run():
        fake = grant_ledger(ring, alive, usd_per_year, cap, shares, segment_shares, direct)
        for line, amount in before:
            fake.lines.book(line, amount)
        fake.lines.settle()
        for line, amount in today:
            fake.lines.book(line, amount)
        Ledger._stock_compensation(fake, np.full(paths, 7.0))
        for line, amount in later:  # (a line booked again the same day: after the grant's amount)
            fake.lines.book(line, amount)
        fake.lines.settle()
        return fake.shares, fake.lines.month.copy(), fake.lines.total.copy(), fake.lines._today.copy()
    numpy_form, compiled, calls = both(None, "sbc_book", run)
    assert calls == 1
    for a, b, what in zip(numpy_form, compiled, ("shares", "month", "total", "today")):
        kernel_forms.assert_same_bits(a, b, what)


@pytest.mark.parametrize("direct", [False, True])
def test_sbc_book_adds_a_pending_amount_before_its_own(monkeypatch, direct):
    """A month's sum of 1e16, an amount of 1.0 pending, the grant's 1.0: ``(1e16 + 1) + 1`` is 1e16 (each half-ulp
    addition rounds to even), ``1e16 + (1 + 1)`` is not; both forms give the numpy form's order."""
    ring = Ring(close_steps.SBC_WINDOW_DAYS, 2)
    ring.push(np.full(2, 5.0))

    def run():
        fake = grant_ledger(ring, np.ones(2, bool), 365.0, None, np.zeros(2), None, direct)
        fake.lines.book("sbc_usd", np.full(2, 1e16))
        fake.lines.settle()
        fake.lines.book("sbc_usd", np.ones(2))
        Ledger._stock_compensation(fake, np.full(2, 7.0))
        fake.lines.settle()
        return fake.lines.month[fake.lines.index["sbc_usd"]].copy()
    numpy_form, compiled, calls = both(monkeypatch, "sbc_book", run)
    assert calls == 1 and numpy_form.tolist() == [1e16, 1e16]
    kernel_forms.assert_same_bits(numpy_form, compiled)


def test_sbc_book_numpy_for_one_path_or_no_price():
    """One path (numpy sums a (rows, 1) table pairwise) and a ring without a price stay in numpy."""
    ring = Ring(close_steps.SBC_WINDOW_DAYS, 1)
    ring.push(np.array([3.0]))
    one = grant_ledger(ring, np.ones(1, bool), 365.0, None, np.ones(1), None, False)
    assert not close_steps.sbc_book(one, 1.0, None, MIN_TRADED_PRICE_USD)
    unseen = grant_ledger(Ring(30, 4), np.ones(4, bool), 365.0, None, np.ones(4), None, False)
    assert not close_steps.sbc_book(unseen, 1.0, None, MIN_TRADED_PRICE_USD)


def test_ring_sum_starts_from_plus_zero():
    """The fact the compiled grant relies on: numpy's ``sum(axis=0)`` of a C-ordered ``(rows, ≥ 2)`` table
    adds the rows in order from +0.0 (a column of −0.0 sums to +0.0; reordering changes the floats)."""
    assert not np.signbit(np.full((30, 2), -0.0).sum(axis=0)).any()
    rows = np.array([[1e16, 1e16], [1.0, 1.0], [-1e16, -1e16]] + [[0.0, 0.0]] * 27)
    assert rows.sum(axis=0).tolist() == [((0.0 + 1e16) + 1.0) - 1e16] * 2 != [1.0, 1.0]


@st.composite
def days_of_bookings(draw):
    lines, paths = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    days = []
    for _ in range(draw(st.integers(1, 5))):
        bookings = draw(st.lists(st.tuples(st.integers(0, lines - 1),
                                           st.lists(value, min_size=paths, max_size=paths)), max_size=8))
        days.append(bookings)
    return lines, paths, days


@settings(max_examples=300, deadline=None)
@given(days_of_bookings())
def test_settle_same_bits(drawn):
    """The compiled settlement adds the rows booked only and leaves the numpy form's sums and a cleared day."""
    lines, paths, days = drawn

    def run():
        book = LineBook(tuple(f"l{i}" for i in range(lines)), paths)
        book._direct = False  # (the settled mode; from DIRECT_PATHS paths nothing is pending)
        for bookings in days:
            for i, amount in bookings:
                book.book(f"l{i}", np.array(amount))
            book.settle()
            assert not book._pending
        return book.month.copy(), book.total.copy(), book._today.copy()
    numpy_form, compiled, calls = both(None, "settle", run)
    assert calls == sum(1 for bookings in days if bookings)
    for a, b, what in zip(numpy_form, compiled, ("month", "total", "today")):
        kernel_forms.assert_same_bits(a, b, what)


@pytest.mark.parametrize("preset", ["scenarios/contract_example.yaml", "scenarios/companies/mara.yaml"])
def test_runs_same_bits(monkeypatch, preset):
    """Whole runs that grant SBC (the contract example caps it by shares) with the close's steps in numpy
    and compiled: every output byte for byte."""
    _, numpy_run, compiled_run, calls = kernel_forms.run_forms(
        lambda fn: both(monkeypatch, "sbc_book", fn), preset, 6)
    assert calls > 0
    kernel_forms.assert_same_runs(numpy_run, compiled_run)


@st.composite
def raises(draw):
    paths = draw(st.integers(1, 9))
    col = lambda s: np.array(draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    amount = st.one_of(st.sampled_from([0.0, -0.0, NAN, np.inf, 5e-324, 1e7]), st.floats(0.0, 1e9))
    price = st.one_of(st.sampled_from(EDGES), st.floats(0.0, 100.0))
    equity = SimpleNamespace(atm_max_usd_per_quarter=draw(st.sampled_from([0.0, 5e7, 1e300])),
                             atm_max_dilution_pct_per_quarter=draw(st.sampled_from([0.0, 10.0, 150.0])),
                             atm_min_price_to_nav=draw(st.sampled_from([0.0, 1.0, 1.3])),
                             atm_min_price_usd=draw(st.sampled_from([0.0, MIN_TRADED_PRICE_USD, 2.0])),
                             atm_fee=draw(st.sampled_from([0.0, 0.02, 1.0])))
    state = {k: col(amount) for k in ("atm_used_usd", "atm_shares_issued", "quarter_start_shares", "shares",
                                      "cash_usd", "equity_usd")}
    state["nav_per_share_usd"] = col(price)
    return equity, state, col(amount), col(price)


@settings(max_examples=400, deadline=None)
@given(raises())
def test_atm_same_bits(drawn):
    """The compiled ATM raise returns, books and leaves the numpy form's numbers (caps by USD and by
    shares, the NAV floor and the price floor, fees of 0 and 1, prices at and below one quote increment)."""
    equity, state, net_usd, price = drawn

    def run():
        fake = kernel_forms.FakeLedger(cfg=SimpleNamespace(equity=equity), paths=len(net_usd), lines=LineBook(
            ("shares_issued", "atm_proceeds_usd"), len(net_usd)), **{k: v.copy() for k, v in state.items()})
        fake._book = lambda line, a: Ledger._book(fake, line, a)
        fake._issue = lambda s: Ledger._issue(fake, s)
        fake.lines._direct = True
        net = Ledger._atm(fake, net_usd, price)
        return [net, fake.lines.month] + [getattr(fake, k) for k in state]
    numpy_form, compiled, calls = both(None, "atm", run)
    assert calls == 1
    for a, b, what in zip(numpy_form, compiled, ["net", "lines"] + list(state)):
        kernel_forms.assert_same_bits(a, b, what)
