"""The company's day and close, per-path cost (issue 19, brief `fincomp`): each shortcut against the
code it replaces, byte for byte (the whole runs with every kernel forced are in test_operations_kernel.py
and tests/test_finance_glue.py; the bundled scenarios are compared file by file, docs/decisions.md).
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.columns import is_broadcast_zero
from simulator.config import load_scenario
from simulator.finance import close_kernel, close_steps, close_value, operations_call
from simulator.finance.books import LineBook
from simulator.finance.contracts import ContractValuer
from simulator.finance.ledger import MIN_TRADED_PRICE_USD, Ledger
from tests import kernel_forms
from tests.kernel_forms import assert_same_bits


# --------------------------------------------------------------------------- a day's cohort tables
def _cohort_table_before(a, zeros):
    """``operations_call._cohort_table`` at the base commit."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    if a.shape == zeros.shape and is_broadcast_zero(a):
        return zeros
    return np.array(a, dtype=float)


def _tables():
    zeros = np.zeros((3, 4))
    base = np.arange(12.0).reshape(3, 4)
    read_only = base.copy()
    read_only.flags.writeable = False
    one = np.zeros((1, 1))[:, :1]
    yield zeros, zeros
    for value in (0.0, -0.0, np.nan, 1.0, 5e-324, -5e-324, np.inf):
        yield np.broadcast_to(value, (3, 4)), zeros
        yield np.broadcast_to(np.full((3, 1), value), (3, 4)), zeros  # broadcast over paths only
        yield np.broadcast_to(value, (2, 4)), zeros  # another shape
    yield np.broadcast_to(0.0, (0, 4)), np.zeros((0, 4))  # no cohorts
    yield base, zeros
    yield read_only, zeros
    yield base.T.copy().T, zeros  # F-ordered
    yield base[:, ::2], np.zeros((3, 2))  # strided
    yield np.broadcast_to(np.int64(0), (3, 4)), zeros
    yield one, np.zeros((1, 1))


@pytest.mark.parametrize("k", range(len(list(_tables()))))
def test_cohort_table_is_the_table_before(k):
    a, zeros = list(_tables())[k]
    fixed = SimpleNamespace(no_units=zeros, zero_seen=None)
    for _ in range(2):  # the second time, a broadcast +0.0 is known by its identity
        got, want = operations_call._cohort_table(a, fixed), _cohort_table_before(a, zeros)
        assert (got is a) == (want is a) and (got is zeros) == (want is zeros)
        assert_same_bits(got, want)


def test_cohort_table_knows_only_the_zero_it_saw():
    """After a broadcast +0.0 is seen, any other table (another broadcast, −0.0, a table of +0.0 of its own) is
    tested as before; the one seen gives the ledger's zeros without its test (is_broadcast_zero not called)."""
    zeros = np.zeros((3, 4))
    fixed = SimpleNamespace(no_units=zeros, zero_seen=None)
    seen = np.broadcast_to(0.0, (3, 4))
    assert operations_call._cohort_table(seen, fixed) is zeros and fixed.zero_seen is seen
    for a, _ in _tables():
        got, want = operations_call._cohort_table(a, fixed), _cohort_table_before(a, zeros)
        assert (got is zeros) == (want is zeros)
        assert_same_bits(got, want)
    fixed.zero_seen = seen
    with pytest.MonkeyPatch.context() as m:
        m.setattr(operations_call, "is_broadcast_zero", lambda a: pytest.fail("tested again"))
        assert operations_call._cohort_table(seen, fixed) is zeros


def test_read_only_cost_is_one_view_per_table():
    """The unit costs as the kernel takes them: a read-only view of a writable table (the table itself stays
    writable), made once while the ledger holds the same table; a read-only table as it is; a new table, anew."""
    fixed = operations_call._Fixed.__new__(operations_call._Fixed)
    fixed.cost_of = fixed.cost_read_only = None
    cost = np.arange(6.0).reshape(2, 3).copy()
    view = fixed.read_only_cost(cost)
    assert view is not cost and view.base is cost and not view.flags.writeable and cost.flags.writeable
    assert fixed.read_only_cost(cost) is view
    frozen = cost.copy()
    frozen.flags.writeable = False
    assert fixed.read_only_cost(frozen) is frozen
    other = cost.copy()
    assert fixed.read_only_cost(other).base is other


# --------------------------------------------------------------------------- contracts observed
def _observe_before(v, day, completed, lease_ended):
    """``ContractValuer.observe`` at the base commit, on ``v``'s arrays."""
    first = np.asarray(completed, dtype=bool) & np.isnan(v.completed_day)
    if np.count_nonzero(first):
        v.completed_day = np.where(first, float(day), v.completed_day)
    lease_ended = np.asarray(lease_ended, dtype=bool)
    if np.count_nonzero(lease_ended):
        v.ended |= lease_ended


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 40), st.data())
def test_observe_skips_only_what_changes_nothing(paths, days, data):
    """Completion flags drawn day by day (0, 1, NaN, a path completing again, every path done early): the
    completion days and ended leases equal the base commit's after every day."""
    projects = load_scenario("scenarios/contract_example.yaml").hpc
    n = len(projects)
    fast = ContractValuer(projects, dt.date(2025, 1, 1), 0.1, 10, paths)
    slow = ContractValuer(projects, dt.date(2025, 1, 1), 0.1, 10, paths)
    flag = st.sampled_from([0.0, 0.0, 0.0, 1.0, np.nan])
    for day in range(days):
        completed = np.array(data.draw(st.lists(flag, min_size=n * paths, max_size=n * paths))).reshape(n, paths)
        ended = np.array(data.draw(st.lists(flag, min_size=n * paths, max_size=n * paths))).reshape(n, paths)
        fast.observe(day, completed, ended)
        _observe_before(slow, day, completed, ended)
        assert_same_bits(fast.completed_day, slow.completed_day, f"day {day}")
        assert_same_bits(fast.ended, slow.ended, f"day {day}")
        assert fast._waiting == np.count_nonzero(np.isnan(slow.completed_day))


# --------------------------------------------------------------------------- the funding waterfall
NAN = kernel_forms.NAN  # the processor's NaN, the only one a run makes


@st.composite
def waterfalls(draw):
    paths = draw(st.integers(1, 9))
    col = lambda s: np.array(draw(st.lists(s, min_size=paths, max_size=paths)), dtype=float)  # noqa: E731
    amount = st.one_of(st.sampled_from([0.0, -0.0, NAN, np.inf, -np.inf, 5e-324, 1e7, -1e7]),
                       st.floats(-1e9, 1e9))
    price = st.one_of(st.sampled_from([0.0, -0.0, NAN, np.inf, 5e-324, 1e-4, 2.0, 9e4]), st.floats(0.0, 2e5))
    policy = SimpleNamespace(min_cash_usd=draw(st.sampled_from([0.0, 5e6, 1e300])),
                             funding_order=draw(st.sampled_from([("sell_btc", "atm"), ("atm", "sell_btc"),
                                                                 ("sell_btc",), ("atm",), (), ("sell_btc", "sell_btc"),
                                                                 ("atm", "sell_btc", "atm")])))
    equity = SimpleNamespace(atm_enabled=draw(st.booleans()), atm_max_usd_per_quarter=draw(st.sampled_from([0.0, 5e7])),
                             atm_max_dilution_pct_per_quarter=draw(st.sampled_from([0.0, 10.0])),
                             atm_min_price_to_nav=draw(st.sampled_from([0.0, 1.0])),
                             atm_min_price_usd=draw(st.sampled_from([0.0, 1e-4])),
                             atm_fee=draw(st.sampled_from([0.0, 0.02, 1.0])))
    state = {k: col(amount) for k in ("cash_usd", "treasury_btc", "atm_used_usd", "atm_shares_issued",
                                      "quarter_start_shares", "shares", "equity_usd")}
    state["price_usd"], state["nav_per_share_usd"] = col(price), col(price)
    alive = np.array(draw(st.lists(st.booleans(), min_size=paths, max_size=paths)))
    return policy, equity, state, alive, col(price), draw(st.booleans())


def _funding_ledger(policy, equity, state, alive, direct):
    """A ledger holding the waterfall's state and lines (booked pending, or ``direct``), the day's SBC shares
    already booked, with ``Ledger``'s own booking, issuing, BTC-sale and ATM steps."""
    paths = len(alive)
    lines = ("btc_sold", "btc_sales_usd", "shares_issued", "atm_proceeds_usd")
    fake = kernel_forms.FakeLedger(cfg=SimpleNamespace(treasury_policy=policy, equity=equity), paths=paths,
                                   lines=LineBook(lines, paths), **{k: v.copy() for k, v in state.items()})
    for name in ("_book", "_issue", "_sell_btc", "_atm"):
        setattr(fake, name, getattr(Ledger, name).__get__(fake))
    fake.lines._direct = direct
    fake.lines.book("shares_issued", np.full(paths, 3.0))  # (the day's SBC shares, booked before)
    return fake


@settings(max_examples=400, deadline=None)
@given(waterfalls())
def test_fund_same_bits(drawn):
    """The compiled waterfall (need, BTC sale, the need again, the ATM between) books and leaves the numpy
    form's numbers: every funding order, the ATM on or off, prices of 0, NaN and inf, negative treasuries,
    dead paths, the lines booked pending or directly."""
    policy, equity, state, alive, share_price, direct = drawn

    def run():
        fake = _funding_ledger(policy, equity, state, alive, direct)
        with np.errstate(all="ignore"):
            Ledger._fund(fake, alive, share_price)
        fake.lines.settle()
        return [fake.lines.month, fake.lines.total] + [getattr(fake, k) for k in state]

    with pytest.MonkeyPatch.context() as patch:
        numpy_form, compiled, calls = kernel_forms.both_forms(patch, close_steps.CLOSE_KERNEL, close_kernel,
                                                              "fund", run)
    assert calls >= 1 or not len(alive)
    for a, b, what in zip(numpy_form, compiled, ["month", "total"] + list(state)):
        assert_same_bits(a, b, what)


@settings(max_examples=400, deadline=None)
@given(waterfalls())
def test_the_funding_step_in_one_call_same_bits(drawn):
    """``close_day``'s funding step in one compiled call (``close_steps.fund_short``: whether some path is below
    the floor, the waterfall, how many paths are short of cash after it) against its numpy steps: the same
    state, bookings and count (NaN cash below no floor, yet needing cash; the floor 0 with no path short)."""
    policy, equity, state, alive, share_price, direct = drawn

    def run(compiled: bool):
        fake = _funding_ledger(policy, equity, state, alive, direct)
        with np.errstate(all="ignore"):
            if compiled:
                short = close_steps.fund_short(fake, alive, share_price, MIN_TRADED_PRICE_USD)
            else:  # (Ledger.close_day's steps)
                short = None
                if np.count_nonzero(fake.cash_usd < policy.min_cash_usd):
                    Ledger._fund(fake, alive, share_price)
                    short = np.count_nonzero(fake.cash_usd < 0)
        fake.lines.settle()
        return short, [fake.lines.month, fake.lines.total] + [getattr(fake, k) for k in state]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(close_steps.CLOSE_KERNEL, "for_call", lambda *a, **kw: None)
        patch.setattr(close_steps.CLOSE_KERNEL, "loaded", lambda: None)
        assert close_steps.fund_short(None, alive, share_price, MIN_TRADED_PRICE_USD) is None  # (not loaded)
        short, numpy_form = run(False)
        patch.setattr(close_steps.CLOSE_KERNEL, "loaded", lambda: close_kernel)
        got, compiled = run(True)
    assert got is not None and got == (short or 0)
    for a, b, what in zip(numpy_form, compiled, ["month", "total"] + list(state)):
        assert_same_bits(a, b, what)


# --------------------------------------------------------------------------- the compiled day's tables of +0.0
def test_tables_of_zero_skipped_give_the_tables_read(monkeypatch):
    """The compiled day told which cohort tables are the ledger's +0.0 (not read) books what it books when
    told none is (every table read), state by state and output by output; both kinds of day occur."""
    from simulator import engine
    from simulator.finance import operations_kernel
    from tests.test_operations_kernel import _state
    monkeypatch.setattr(operations_call.OPERATIONS_KERNEL, "for_call", lambda *a, **kw: operations_kernel)
    book_day, close = operations_kernel.book_day, Ledger.close_day
    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=4", "fleet[0].retired=2026-10-01"])

    def run(read_all: bool):
        bits, days = [], []
        monkeypatch.setattr(operations_kernel, "book_day", lambda *a: bits.append(a[-1]) or book_day(
            *a[:-1], 0 if read_all else a[-1]))
        monkeypatch.setattr(Ledger, "close_day", lambda self, cal: close(self, cal) or days.append(_state(self)))
        res = engine.simulate(scenario, keep_paths=4, workers=1)
        return res, days, bits
    (a, days_a, bits), (b, days_b, _) = run(False), run(True)
    # days with every table read, with the retired units' alone, with none
    assert {0, 6, 7} <= set(bits), set(bits)
    assert days_a == days_b
    kernel_forms.assert_same_runs((a.path_metrics, a.monthly, a.daily), (b.path_metrics, b.monthly, b.daily))


# --------------------------------------------------------------------------- the asset pools' table
def _pools_before(fixed, f, day, new_month, paths):
    """``operations_call._pools`` at the base commit: every pool's rows, every day."""
    pools, spent = fixed.pools, [f.expansion_capex_usd]
    for j in range(len(f.hpc_building_capex_usd)):
        spent += (f.hpc_building_capex_usd[j], f.hpc_gpu_capex_usd[j])
    active, changes = [], []
    for pool, s in zip(pools, spent):
        on, change = pool.open_step(day, new_month, s)
        active.append(on)
        changes.append(change)
    bases = [p.base_usd for p in pools]
    has_change = [change is not None for change in changes]
    if any(has_change):
        changes = [b if change is None else np.broadcast_to(change, (paths,)) for b, change in zip(bases, changes)]
    else:
        changes = bases
    table = np.concatenate([p.book_usd for p in pools] + bases + [p.in_progress_usd for p in pools] + spent + changes,
                           out=np.empty(5 * len(pools) * paths))
    return table.reshape(5, len(pools), paths), np.array(active + has_change)


def test_pools_table_holds_what_the_kernel_reads():
    """Idle pools, pools spending, placing in service on a new month and a dated change falling due: the rows
    the kernel reads (a stepping pool's, a change where flagged) and the flags are the base commit's."""
    from simulator.finance.books import AssetPool
    paths, rng = 3, np.random.default_rng(7)

    def ledger_pools():
        pools = [AssetPool(0.01, paths) for _ in range(5)]  # (a life of 4 days: changes fall due within the test)
        pools[1].place_in_service(np.array([5.0, -0.0, 2.0]), 0)
        return pools
    new, old = ledger_pools(), ledger_pools()
    table = np.full((4, 5, paths), np.nan)
    fixed_new = SimpleNamespace(pools=new, pool_table=table, pool_state=[tuple(table[:3, k]) for k in range(5)],
                                pool_flags=np.zeros(10, dtype=bool))
    fixed_old = SimpleNamespace(pools=old)
    seen, held = set(), set()
    for day in range(1, 14):
        spend = [rng.choice([0.0, 0.0, 1.5, -0.0, np.nan], paths) for _ in range(5)]
        spend[0] = np.zeros(paths)  # (one pool idle throughout)
        f = SimpleNamespace(expansion_capex_usd=spend[0], hpc_building_capex_usd=np.array(spend[1::2]),
                            hpc_gpu_capex_usd=np.array(spend[2::2]))
        new_month = day % 5 == 0
        held |= {all(a is b for a, b in zip((p.book_usd, p.base_usd, p.in_progress_usd), fixed_new.pool_state[k]))
                 for k, p in enumerate(new) if not p._idle}  # (a pool holding its rows: nothing copied in)
        table, flags = operations_call._pools(fixed_new, f, day, new_month, paths)
        want, want_flags = _pools_before(fixed_old, f, day, new_month, paths)
        assert_same_bits(flags, want_flags)
        for k in range(5):  # (the day's spending, the base commit's row 3, is read by the kernel from the day's rows)
            if flags[k]:
                assert_same_bits(table[:3, k], want[:3, k], f"day {day} pool {k}")
            if flags[5 + k]:
                assert_same_bits(table[3, k], want[4, k], f"day {day} pool {k} change")
        seen |= {("on", bool(x)) for x in flags[:5]} | {("change", bool(x)) for x in flags[5:]}
        for k, pool in enumerate(old):  # the kernel's new state, the same on both sides: new arrays here
            if flags[k]:
                pool.book_usd = pool.book_usd + spend[k] * 0.5
                pool.in_progress_usd = pool.in_progress_usd + spend[k]
        for k, pool in enumerate(new):  # and here, on odd days, written in place over the pool's rows (book())
            if flags[k] and day % 2:
                book, base, in_progress = fixed_new.pool_state[k]
                np.add(book, spend[k] * 0.5, out=book)
                np.add(in_progress, spend[k], out=in_progress)
                pool.book_usd, pool.base_usd, pool.in_progress_usd = book, base, in_progress
            elif flags[k]:
                pool.book_usd = pool.book_usd + spend[k] * 0.5
                pool.in_progress_usd = pool.in_progress_usd + spend[k]
    assert seen == {("on", True), ("on", False), ("change", True), ("change", False)}
    assert held == {True, False}


# --------------------------------------------------------------------------- pledged BTC
@pytest.mark.parametrize("books", [0, 1, 2])
def test_pledged_btc_is_the_sum_from_plus_zero(books):
    """``Ledger.pledged_btc`` equals ``sum(pledged, np.zeros(paths))`` bit for bit (−0.0 becomes +0.0, NaN and
    ±inf kept) and is a new array (never the book's own)."""
    values = np.array([-0.0, 0.0, 1.5, -2.0, np.nan, np.inf, -np.inf, 5e-324])
    L = SimpleNamespace(paths=len(values), _btc_books=[SimpleNamespace(pledged_btc=np.roll(values, k) * (k + 1))
                                                       for k in range(books)])
    got = Ledger.pledged_btc(L)
    assert_same_bits(got, sum((b.pledged_btc for b in L._btc_books), np.zeros(L.paths)))
    assert all(got is not b.pledged_btc for b in L._btc_books)
    if books == 1:
        assert not np.signbit(got[0])


def test_a_month_ends_record_is_its_lines_copied_once():
    """The month end's record of the flow lines is one copy of the month's sums with the lines it derives
    (pre-tax and net income, the three cash-flow totals and their sum) written over their rows: every booked line
    as the month left it (not zeroed by the next month: no row shares the ledger's tables), each derived line its
    formula's floats."""
    from simulator import engine

    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=4"])
    kept = []
    close = Ledger._close_month

    def closing(self, day):
        month = {k: v.copy() for k, v in self.lines.month_lines().items()}
        close(self, day)
        kept.append((self, month))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Ledger, "_close_month", closing)
        engine.simulate(scenario, keep_paths=4, workers=1)
    assert len(kept) == 24
    L = kept[0][0]
    for record, (_, month) in zip(L.records, kept):
        lines = record["lines"]
        assert list(lines) == list(L.lines.names)
        assert not any(np.shares_memory(v, L.lines.tables) for v in lines.values())
        pretax = close_value.pretax(month)
        derived = {"pretax_income_usd": pretax, "net_income_usd": pretax - month["tax_usd"]}
        derived["cfo_usd"] = (month["btc_sales_usd"] + month["cash_revenue_usd"] - month["cost_of_revenue_usd"]
                              - month["sga_usd"] - month["interest_usd"] - month["tax_usd"] + month["hedge_pnl_usd"])
        derived["cfi_usd"] = month["resale_proceeds_usd"] - month["capex_usd"] - month["btc_purchases_usd"]
        derived["cff_usd"] = (month["atm_proceeds_usd"] - month["buybacks_usd"] + month["debt_drawn_usd"]
                              - month["debt_repaid_usd"] + month["unpaid_obligations_usd"])
        derived["net_cash_change_usd"] = derived["cfo_usd"] + derived["cfi_usd"] + derived["cff_usd"]
        for k, v in month.items():
            assert_same_bits(lines[k], derived.get(k, v), k)
        assert np.count_nonzero(lines["revenue_usd"]) and np.count_nonzero(lines["pretax_income_usd"])
