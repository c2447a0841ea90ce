"""The close's compiled share price (simulator.finance.close_value and close_value_kernel) against the numpy
steps it stands for: the same bits.

Whole runs go once with :data:`simulator.finance.close_value.CLOSE_VALUE_KERNEL` held in numpy (the ledger's
``_strike``, ``_firm_value``, ``structural.share_value``, the traded price and ``EquityReturns.track``, each in
whichever form its own lazy kernel picks) and once forced, and every output is compared byte for byte: runs
with paths stopped in distress (arrears, the traded price 0, masked flows), convertibles in the money
(if-converted shares), dilutive instruments, hedges, a long-run premium, HPC projects before signing (at
book value), waiting for completion and past a year of their tables (extended in the pass's loop), several
projects and BTC-backed loans. The facts the passes rest on are checked alone: scipy's ``ndtr`` and numpy's
``log``/``exp`` over rows of a table, the strike's rows kept by book, the contracts' packed tables.
"""
from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
from scipy.special import ndtr

from simulator import engine
from simulator.config import load_scenario
from simulator.finance import close_value, close_value_kernel, contracts
from simulator.finance.debt import ProjectDebtBook
from simulator.finance.ledger import MIN_TRADED_PRICE_USD, Ledger

import kernel_forms
from kernel_forms import assert_same_bits, assert_same_runs

TAX = "company.tax_rate=0.21"  # (the month end's tax: 0 unless a scenario sets it)
DISTRESS = ["company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false", "market.btc_price.vol_annual=0.9"]


def _run(scenario):
    r = engine.simulate(scenario, keep_paths=scenario.paths, workers=1)
    return r.path_metrics, r.monthly, r.daily


def value_pass_args(args: tuple) -> tuple:
    """``day_pass``'s arguments in ``value_pass``'s order (the shares, previous close, cash and treasury before the
    grant and the funding)."""
    return (args[14], args[19], args[17], args[18]) + args[34:58]


def _both(monkeypatch, scenario, spy):
    """The run held in numpy, then forced; ``spy(args)`` sees each compiled ``value_pass`` call's arguments (those of
    ``close_value.close_day``'s ``day_pass`` in ``value_pass``'s order)."""
    passes, days = close_value_kernel.value_pass, close_value_kernel.day_pass

    def spied(*args):
        spy(args)
        return passes(*args)

    tails = []

    def day_spied(*args):
        spy(value_pass_args(args))
        code, valued = days(*args)
        tails.extend([1] if valued and len(args[58]) else [])  # (the price's tail in the call: price_pass's work)
        return code, valued
    monkeypatch.setattr(close_value_kernel, "value_pass", spied)
    monkeypatch.setattr(close_value_kernel, "day_pass", day_spied)
    numpy_run, compiled, calls = kernel_forms.both_forms(
        monkeypatch, close_value.CLOSE_VALUE_KERNEL, close_value_kernel, "price_pass", lambda: _run(scenario))
    return numpy_run, compiled, calls + len(tails)


@pytest.mark.parametrize("path, overrides, expect", [
    ("scenarios/contract_example.yaml", ["paths=8", *DISTRESS], {"stopped", "converted"}),
    ("scenarios/contract_example.yaml",  # HPC signed on day 14, completed early: a year of tables passed
     ["paths=5", "hpc[0].start=2026-01-15", "hpc[0].build_months=1", "company.valuation.long_run_premium=1.3",
      "company.valuation.premium_half_life_days=200"], {"unsigned", "extended", "waiting", "completed"}),
    ("scenarios/companies/cipher.yaml", ["paths=5"], set()),  # dilutive instruments, hedges
    ("scenarios/companies/iren.yaml", ["paths=4"], set()),  # several projects, GPU cloud, prepaid leases
    ("scenarios/companies/mara.yaml", ["paths=4"], set()),  # several convertibles, BTC-backed loans
])
def test_runs_with_the_compiled_share_price_are_the_same(monkeypatch, path, overrides, expect):
    scenario = load_scenario(path, overrides)
    seen = set()
    extend = contracts.ContractValuer.pv_parts

    def spy(args):
        last_price, faces, conv, hpc_values, completed = args[1], args[4], args[7], args[14], args[15]
        if hpc_values.shape[0]:
            seen.add("unsigned")
        if completed.shape[0] and np.isnan(completed).any():
            seen.add("waiting")
        if completed.shape[0] and (completed <= args[25][close_value_kernel.DAY]).any():
            seen.add("completed")
        for row, strike, *_ in conv:
            if ((faces[int(row)] > 0) & (last_price > strike)).any():
                seen.add("converted")
        if (last_price == 0).any():
            seen.add("stopped")

    def extended(self, j, age):
        seen.add("extended")
        return extend(self, j, age)
    monkeypatch.setattr(contracts.ContractValuer, "pv_parts", extended)
    numpy_run, compiled, calls = _both(monkeypatch, scenario, spy)
    assert calls == scenario.horizon_days - 1  # every close but day 0's (the premium) compiled
    assert expect <= seen, expect - seen
    assert_same_runs(numpy_run, compiled)


@pytest.mark.parametrize("path, overrides, direct, expect", [
    ("scenarios/contract_example.yaml", ["paths=8", *DISTRESS, TAX], False,
     {"none below", "moved", "short", "pending", "month end"}),
    ("scenarios/contract_example.yaml", ["paths=8", *DISTRESS], True, {"moved", "short", "nothing pending"}),
    ("scenarios/contract_example.yaml", ["paths=8", *DISTRESS[1:], TAX], True, {"moved", "nothing pending", "taxed"}),
    ("scenarios/contract_example.yaml",  # a year of the contract's tables passed: extended after the call
     ["paths=5", "hpc[0].start=2026-01-15", "hpc[0].build_months=1", TAX], False,
     {"extended", "none below", "month end", "taxed"}),
    ("scenarios/companies/iren.yaml", ["paths=4", TAX], False, {"split", "pending", "month end"}),  # the grant split
    ("scenarios/contract_example.yaml", ["paths=8", DISTRESS[0], DISTRESS[2]], False,  # the ATM raising
     {"quarter start", "raised", "raised on a quarter start"}),
    ("scenarios/contract_example.yaml", ["paths=4", "company.treasury_policy.buy_btc_usd_per_quarter=1e6"], False,
     {"pending", "no quarter start"}),  # (BTC bought each quarter: those days in numpy)
])
def test_the_close_day_in_one_call_is_its_steps(monkeypatch, path, overrides, direct, expect):
    """``close_value.close_day`` (``day_pass``: the rings, the interest, the grant, the funding, the value and the
    settlement in one call) against ``close_day``'s steps, every kernel compiled in both: every output byte for
    byte; the call's outcomes seen: no path below the cash floor, the funding moving something, a path short of
    cash (distress after the call), a contract's tables extended after it, the grant split by segment, lines
    pending or (``DIRECT_PATHS``) none, a month end and its tax (the tax state compared too), a quarter start (its
    ATM caps reset, the funding raising on it; the quarter's state compared too) unless it buys BTC (then numpy's)."""
    import importlib

    from simulator.finance import books, close_steps

    scenario = load_scenario(path, overrides)
    for lazy in (close_value.CLOSE_VALUE_KERNEL, close_steps.CLOSE_KERNEL):
        monkeypatch.setattr(lazy, "for_call", lambda *a, _m=lazy.module, **k: importlib.import_module(_m))
    if direct:
        monkeypatch.setattr(books, "DIRECT_PATHS", 1)
    days, seen, one_call = close_value_kernel.day_pass, set(), close_value.close_day

    def spied(*args):
        code, valued = days(*args)
        seen.update({"month end"} if args[29] else set())
        seen.update({"taxed"} if args[29] and (args[28][-1] > 0).any() else set())  # (out's last row: the tax)
        seen.update({"none below"} if code == -1 else {"moved"} if code == 1 else {"short"} if code >= 2 else set())
        seen.update({"extended"} if code < 2 and not valued else set())
        seen.update({"split"} if args[13] else set())
        seen.add("pending" if len(args[27]) else "nothing pending")
        quarter = np.shares_memory(args[22], args[28])  # (the opening shares: the call's row of the grant's shares)
        raised = code == 1 and (args[28][6] > 0).any()  # (out[6]: the ATM's shares after the funding)
        seen.update({"quarter start"} if quarter else set())
        seen.update({"raised"} if raised else set())
        seen.update({"raised on a quarter start"} if raised and quarter else set())
        return code, valued
    monkeypatch.setattr(close_value_kernel, "day_pass", spied)
    ledgers, totals = [], Ledger.per_path_totals
    monkeypatch.setattr(Ledger, "per_path_totals", lambda self: ledgers.append(self) or totals(self))
    monkeypatch.setattr(close_value, "close_day", lambda *a: False)
    steps = _run(scenario)
    assert not seen
    monkeypatch.setattr(close_value, "close_day", one_call)
    in_one_call = _run(scenario)
    if "no quarter start" in expect:
        seen.update(set() if "quarter start" in seen else {"no quarter start"})
    assert expect <= seen, expect - seen
    assert_same_runs(steps, in_one_call)
    for ring in ("interest_ring", "ebitda_ring", "share_price_ring"):  # (the trailing rings no output reads here)
        a, b = getattr(ledgers[0], ring), getattr(ledgers[1], ring)
        assert a.count == b.count
        assert_same_bits(a.values, b.values, ring)
    for name in ("equity_usd", "shares", "cash_usd", "treasury_btc", "atm_used_usd", "atm_shares_issued",
                 "quarter_start_shares", "nav_per_share_usd", "cum_pretax_usd", "taxed_base_usd"):
        assert_same_bits(getattr(ledgers[0], name), getattr(ledgers[1], name), name)


def test_unsigned_projects_building_with_compiled_operations_are_valued_each_day(monkeypatch):
    # review 12: the compiled operations day writes the HPC pools' rows in place, so a project building before its
    # contract is signed changes its book value without its pool holding new arrays; the share price must read it
    # each day (before the fix: 1,944 of 4 paths' daily share prices differed from numpy's from day 244 on)
    from simulator.finance import operations_call, operations_kernel

    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=4", "hpc[0].signed=2027-03-01"])
    monkeypatch.setattr(operations_call.OPERATIONS_KERNEL, "for_call", lambda *a, **k: operations_kernel)
    unsigned_while_building = []

    def spy(args):
        hpc_values = args[14]
        if hpc_values.shape[0] and (hpc_values > 0).any():
            unsigned_while_building.append(True)
    numpy_run, compiled, calls = _both(monkeypatch, scenario, spy)
    assert calls == scenario.horizon_days - 1 and len(unsigned_while_building) > 30
    assert_same_runs(numpy_run, compiled)


def test_one_ndtr_call_on_two_rows_gives_each_elements_bits():
    rng = np.random.default_rng(7)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 8.3, 9.0, -38.0, -40.0, 37.5, 0.7071])
    for n in (1, 2, 7, 500, 1001):
        d = np.concatenate([rng.normal(0, 3, 2 * n - len(edges[:n])), edges[:n]]).reshape(2, n)
        table = np.empty((4, n))
        table[:2] = d
        ndtr(table[0:2], out=table[2:4])
        assert_same_bits(table[2], ndtr(d[0].copy()), f"N(d1) {n}")
        assert_same_bits(table[3], ndtr(d[1].copy()), f"N(d2) {n}")


def test_numpys_log_and_exp_into_rows_give_a_fresh_calls_bits():
    rng = np.random.default_rng(11)
    for n in (1, 3, 8, 17, 500, 1001):
        x = np.abs(rng.lognormal(0, 4, (2, n)))
        x[0, : min(n, 3)] = [1.0, 5e-324, np.inf][: min(n, 3)]
        table = np.empty((6, n))
        table[0:2] = x
        np.log(table[0], out=table[2])
        np.log(table[0:2], out=table[4:6])
        assert_same_bits(table[2], np.log(x[0].copy()), f"log {n}")
        assert_same_bits(table[4:6], np.log(x.copy()), f"log rows {n}")
        minus_rt = -0.04 * rng.uniform(0, 10, n)
        table[3] = minus_rt
        np.exp(table[3], out=table[2])
        assert_same_bits(table[2], np.exp(minus_rt.copy()), f"exp {n}")


@pytest.mark.parametrize("row, ufunc, dense", [
    (close_value_kernel.LOG, np.log, lambda rng, n: rng.lognormal(0.0, 4.0, n)),  # (the ratios' logs)
    (close_value_kernel.EXP, np.exp, lambda rng, n: rng.uniform(-750.0, 750.0, n)),  # (−rT, and overflow)
    (close_value_kernel.NDTR, ndtr, lambda rng, n: rng.normal(0.0, 5.0, n)),  # (the d's, both tails)
])
def test_the_ufuncs_loops_called_compiled_give_the_ufuncs_bits(row, ufunc, dense):
    """numpy's ``log``, ``exp`` and scipy's ``ndtr`` by their strided loops from compiled code (``_ufunc_call``, as
    ``tail_pass`` calls them): each element the ufunc's double, over the doubles' whole domain (bit patterns drawn
    uniformly: both signs, every exponent, subnormals, NaNs of any payload; ±0, ±inf, the smallest and largest
    doubles; the values the close gives them), on flat runs of any length and start; nothing written past them."""
    loops = close_value_kernel.ufunc_loops()
    assert loops.shape == (3, 3) and (loops[:, close_value_kernel.LOOP] != 0).all()
    rng = np.random.default_rng(5)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
                      1.7976931348623157e308, -1.7976931348623157e308, 1.0, -1.0, 0.5, 8.5, -38.5, 709.78, -745.13])
    x = np.concatenate([rng.integers(0, 2**64, 1_000_000, dtype=np.uint64).view(np.float64), edges,
                        dense(rng, 200_000)])
    for start, n in ((0, x.size), (0, 0), (1, 1), (3, 7), (5, 8), (0, 9), (7, 500), (2, 1001), (11, 4099)):
        out = np.full(x.size, 7.0)
        with np.errstate(all="ignore"):
            status = close_value_kernel.ufunc_into(loops, row, x[start:], out[start:], n)
            expected = ufunc(x[start:start + n])
        assert status == 0
        assert_same_bits(out[start:start + n], expected, f"{ufunc.__name__} {start} {n}")
        assert (out[:start] == 7.0).all() and (out[start + n:] == 7.0).all()


def test_the_ufuncs_loops_take_flat_float_runs_only():
    from numba.core.errors import TypingError

    loops, x = close_value_kernel.ufunc_loops(), np.ones(8)
    with pytest.raises(TypingError):
        close_value_kernel.ufunc_into(loops, close_value_kernel.LOG, x[::2], np.empty(4), 4)  # (a stride of 16 bytes)
    with pytest.raises(TypingError):
        close_value_kernel.ufunc_into(loops, close_value_kernel.LOG, x.astype(np.float32), np.empty(8), 8)


def test_without_numpys_loops_the_price_tail_runs_after_the_call(monkeypatch):
    """Where numpy gives no strided loops (another numpy's experimental API: ``ufunc_loops`` empty), ``day_pass``
    leaves the price's tail to ``close_value._price_tail``: the same bytes as the tail in the call."""
    import importlib

    from simulator.finance import close_steps

    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=8", *DISTRESS, TAX])
    for lazy in (close_value.CLOSE_VALUE_KERNEL, close_steps.CLOSE_KERNEL):
        monkeypatch.setattr(lazy, "for_call", lambda *a, _m=lazy.module, **k: importlib.import_module(_m))
    days, tails = close_value_kernel.day_pass, []

    def spied(*args):
        code, valued = days(*args)
        tails.append(bool(valued and len(args[58])))
        return code, valued
    monkeypatch.setattr(close_value_kernel, "day_pass", spied)
    in_the_call = _run(scenario)
    assert sum(tails) > 0.9 * scenario.horizon_days
    tails.clear()
    monkeypatch.setattr(close_value_kernel, "ufunc_loops", lambda: np.zeros((0, 3), dtype=np.intp))
    after_it = _run(scenario)
    assert len(tails) > 0.9 * scenario.horizon_days and not any(tails)
    assert_same_runs(in_the_call, after_it)


@pytest.fixture(scope="module")
def ledger():
    """A copy of the contract example's ledger after 60 closes (4 paths), the compiled share price never loaded."""
    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=4"])
    seen = []
    with pytest.MonkeyPatch.context() as mp:
        close = Ledger.close_day

        def closing(self, cal):
            close(self, cal)
            if cal.day == 59:
                seen.append(copy.deepcopy(self))
        mp.setattr(Ledger, "close_day", closing)
        mp.setattr(close_value.CLOSE_VALUE_KERNEL, "for_call", lambda *a, **k: None)
        engine.simulate(scenario, keep_paths=4, workers=1)
    return seen[0]


def test_the_strikes_rows_follow_each_books_balance_and_years(ledger):
    L = ledger
    s = close_value.ValueScratch(L, close_value_kernel, MIN_TRADED_PRICE_USD)
    diluted, faces, years = L._strike(59)
    s.strike(L, 59)
    assert_same_bits(s.faces, np.array([L.arrears_usd] + [b.balance_usd for b in L.debt_books]))
    for i in range(len(faces)):  # one number for every path, or the row
        got = s.years[i] if np.isnan(s.year_scalars[i]) else np.full(L.paths, s.year_scalars[i])
        assert_same_bits(got, years[i], f"years {i}")
    book, row = L.debt_books[0], s.faces[1]
    held = book.balance_usd
    book.balance_usd = held * 0.5  # (a book changes its balance by assigning a new array)
    s.strike(L, 60)
    assert_same_bits(row, held * 0.5)
    assert s.sources[1] is book.balance_usd
    s.faces[1] = -1.0  # (a row is copied again only for a new array: the same array leaves it as it is)
    s.strike(L, 61)
    assert (s.faces[1] == -1.0).all()
    book.balance_usd = held
    L.arrears_usd = L.arrears_usd + 7.0
    s.strike(L, 61)
    assert_same_bits(s.faces[1], held)
    assert_same_bits(s.faces[0], L.arrears_usd)
    assert s.year_scalars[1] == book.years_left(61)
    pledged = np.array([b.pledged_btc for b in L._btc_books])
    assert_same_bits(s.pledged, pledged)


def test_per_path_years_go_to_their_row(ledger):
    L = ledger
    s = close_value.ValueScratch(L, close_value_kernel, MIN_TRADED_PRICE_USD)
    book = L.debt_books[-1]
    per_path = np.linspace(0.5, 2.0, L.paths)
    original = book.years_left
    try:
        book.years_left = lambda day: per_path
        s.strike(L, 10)
        i = len(L.debt_books)
        assert np.isnan(s.year_scalars[i])
        assert_same_bits(s.years[i], per_path)
        book.years_left = lambda day: 0.75
        s.strike(L, 11)
        assert s.year_scalars[i] == 0.75
    finally:
        book.years_left = original


def test_an_amortising_project_loans_years_are_its_years_left_each_day(monkeypatch):
    """The strike's years, an amortising project loan's row kept while the loan returns the same years array (it
    keeps one while it holds the same ``months_left``), are each book's ``years_left`` on every close of a run
    through the loan's amortisation (per path from the first month end after completion), byte for byte."""
    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=4"])
    strike, seen = close_value.ValueScratch.strike, set()

    def checked(self, L, day):
        kept = [self.year_sources[i] is not None and self.year_sources[i] is book.years_left(day)
                for i, book in enumerate(L.debt_books, 1)]
        strike(self, L, day)
        for i, book in enumerate(L.debt_books, start=1):
            years = book.years_left(day)
            got = self.years[i] if np.isnan(self.year_scalars[i]) else np.full(L.paths, self.year_scalars[i])
            assert_same_bits(got, np.broadcast_to(years, (L.paths,)), f"book {i} day {day}")
            if isinstance(book, ProjectDebtBook) and book._amortising_any:
                seen.add("kept" if kept[i - 1] else "asked")
    monkeypatch.setattr(close_value.ValueScratch, "strike", checked)
    monkeypatch.setattr(close_value.CLOSE_VALUE_KERNEL, "for_call", lambda *a, **kw: close_value_kernel)
    _run(scenario)
    assert seen == {"kept", "asked"}


def test_the_contracts_packed_tables_are_their_tables(ledger):
    c = ledger.contracts
    assert c.projects
    table, limits = c.packed_tables()
    c.pv_parts(0, 400)  # (a path 400 days past completion: the tables grow)
    grown, limits2 = c.packed_tables()
    assert grown is not table and c.packed_tables()[0] is grown  # made again once, then kept
    c.pv_parts(0, 10)  # (ages the tables cover: nothing grows, the packed table is kept)
    assert c.packed_tables()[0] is grown
    tables, final_from = c.tables_of(0)
    assert limits2[0, 0] == final_from and limits2[0, 1] == len(tables[0]) > 400
    for i, t in enumerate(tables):
        assert_same_bits(grown[i, :len(t)], t)
    assert c.all_signed(int(c.signed_day.max())) and not c.all_signed(int(c.signed_day.max()) - 1)
    assert c.waiting == bool(np.isnan(c.completed_day).any())
    discount, build_left, gpu = c.day_terms(0, 30)
    assert 0 < discount < 1 and build_left >= 0 and gpu == float(c.gpu_capex_usd[0])


def test_a_one_path_run_of_the_longest_horizon_keeps_the_share_price_in_numpy(monkeypatch):
    kernel_forms.assert_one_path_closes_stay_in_numpy(monkeypatch, close_value.CLOSE_VALUE_KERNEL,
                                                      close_value.NUMPY_PRICE_COST)


def test_a_contracts_day_terms_are_the_numpy_forms_doubles(ledger):
    """``day_terms`` (Python floats) against the value's numpy form (``ContractValuer.value_usd``'s ``numpy.float64``
    terms: the wait, ``(1 + ρ)^{−τ}``, the building capex left) on every day of the horizon and around the build."""
    c = ledger.contracts
    for j in range(len(c.projects)):
        for day in range(0, 1200):
            wait_days = max(c.start_day[j] + c.build_days[j] - day, 0.0) + c.delay_days[j]
            discount = (1 + c.rate) ** (-wait_days / 365)
            s, b = c.start_day[j], c.build_days[j]  # (the numpy form's terms before they were folded into day_terms)
            fraction = float(day < s) if b <= 0 else min(max((s + b - max(day + 1, s)) / b, 0.0), 1.0)
            build_left = c.building_capex_usd[j] * fraction
            got = c.day_terms(j, day)
            assert_same_bits(np.array(got), np.array([discount, build_left, c.gpu_capex_usd[j]], dtype=float), day)


@pytest.mark.parametrize("start, build", [(10.0, 30.4), (10.5, 30.25), (10.0, 0.0), (10.0, -3.0), (-40.0, 30.0),
                                          (10.0, np.nan), (np.nan, 30.0)])
def test_a_contracts_day_terms_stay_the_same_from_terms_fixed_from(ledger, start, build):
    """From ``terms_fixed_from`` on, ``day_terms`` gives the same doubles every day (``close_price`` writes them
    once then), the day before others (it is the first such day); NaN, no such day, for a NaN start or build."""
    c = copy.copy(ledger.contracts)
    c._terms = [(start, build, 17.0, 3e8, 2e8)] + c._terms[1:]
    fixed = c.terms_fixed_from(0)
    days = [day for day in range(-60, 200) if day >= fixed]
    if start != start or build != build:
        assert fixed != fixed and not days
        return
    first = np.array(c.day_terms(0, days[0]))
    assert days[0] - 1 < fixed and np.array(c.day_terms(0, days[0] - 1)).tobytes() != first.tobytes()
    for day in days:
        assert_same_bits(np.array(c.day_terms(0, day)), first, day)


def test_unsigned_projects_book_values_are_taken_again_only_for_new_pool_arrays(ledger):
    L = ledger
    s = close_value.ValueScratch(L, close_value_kernel, MIN_TRADED_PRICE_USD)
    day = 59
    assert not L.contracts.signed(day).any()
    first = s.hpc_values(L, day)
    assert_same_bits(first, L._hpc_values_usd(day))
    assert s.hpc_values(L, day + 1) is first  # (the pools hold the same arrays)
    building = L.hpc_pools[0][0]
    building.book_usd = building.book_usd + 5.0
    again = s.hpc_values(L, day + 1)
    assert again is not first
    assert_same_bits(again, L._hpc_values_usd(day + 1))
    signed_day = int(L.contracts.signed_day.max())
    assert_same_bits(s.hpc_values(L, signed_day), L._hpc_values_usd(signed_day))


def test_contracts_completed_on_one_day_sum_as_the_per_path_loop(monkeypatch):
    """``_contract_sums`` reads a project's table entries once where every completed path completed on the same day
    (the others at age 0: not yet, or never, NaN): the per-path loop's numbers (run as Python floats with the
    one-day test off: the same IEEE operations), done or not, past the tables' end, the lease ended on some paths,
    a GPU-cloud factor of 1 or per path, ±0.0, NaN and infinite prices; paths completed on two days go the per-path
    way."""
    k, rng = close_value_kernel, np.random.default_rng(35)
    paths, longest = 37, 9
    seen = set()
    for trial in range(400):
        projects = int(rng.integers(1, 4))
        day = float(rng.integers(0, 30))
        completed = np.empty((projects, paths))
        for j in range(projects):
            # one day done; one day to come; NaN everywhere; one day done, others NaN or to come; two days done
            kind = int(rng.integers(0, 5))
            completed[j] = {0: day - rng.integers(0, 20), 1: day + rng.integers(1, 9), 2: np.nan, 3: day - 3,
                            4: day - 3}[kind]
            if kind == 3:
                completed[j, rng.integers(0, paths, 5)] = np.nan
                completed[j, rng.integers(0, paths, 3)] = day + 2
            if kind == 4:
                completed[j, rng.integers(1, paths)] = day - 1 - rng.integers(0, 2) * 3  # (day − 1 or day − 4)
            assert np.isnan(k._one_completion(completed[j], day)) == (kind == 4)
            seen.add(kind)
        ended = rng.random((projects, paths)) < 0.2
        factor = rng.normal(1.0, 0.2, (projects, paths))
        power = rng.normal(50.0, 20.0, (projects, paths))
        power.flat[rng.integers(0, power.size, 4)] = [np.nan, np.inf, -0.0, 0.0]
        table = rng.normal(0.0, 1e6, (3 * projects, longest))
        table.flat[rng.integers(0, table.size, 3)] = [-0.0, np.nan, 0.0]
        limits = np.array([[longest + 1, int(rng.integers(1, longest + 1))] for _ in range(projects)], dtype=np.int64)
        terms = np.column_stack([rng.random(projects) < 0.5, rng.uniform(0.5, 1.0, projects),
                                 rng.uniform(0.0, 1e7, projects), rng.uniform(0.0, 1e7, projects)]).astype(float)
        start = rng.normal(0.0, 1e6, paths)
        start[:2] = [-0.0, 0.0]
        fast = start.copy()
        k._contract_sums(completed, ended, factor, power, table, limits, terms, day, fast)
        with monkeypatch.context() as mp, np.errstate(all="ignore"):  # (numpy's scalars warn of inf × 0)
            mp.setattr(k, "_one_completion", lambda row, day: np.nan)
            loop = start.copy()
            k._contract_sums.py_func(completed, ended, factor, power, table, limits, terms, day, loop)
        assert_same_bits(fast, loop, f"trial {trial}")
    assert seen == {0, 1, 2, 3, 4}, seen


def test_n_of_the_packed_paths_is_each_paths_own(monkeypatch):
    """``moneyness_pass`` packs ``d₁``, ``d₂`` of the paths whose price reads them (alive, V > 0, F > 0; NaN fails
    each test) and ``price_pass`` puts ``ndtr`` of them back on their paths: each such path's price is the one
    from ``N`` of every path's ``d`` (the unpacked form: ``price_pass`` of a full ``ndtr``)."""
    k, rng = close_value_kernel, np.random.default_rng(19)
    for paths in (1, 2, 9, 500):
        for trial in range(20):
            w = np.abs(rng.normal(1.0, 0.5, (k.WORK_ROWS, paths)))
            w[k.LOG_RATIO] = rng.normal(0.0, 1.0, paths)
            w[k.VALUE] = rng.normal(1.0, 1.0, paths)
            w[k.FACE] = rng.normal(1.0, 1.0, paths)
            for row in (k.VALUE, k.FACE):
                w[row, rng.integers(0, paths, 2)] = [np.nan, 0.0][: min(paths, 2)]
            alive = rng.random(paths) < 0.6
            index, packed = np.empty(paths, dtype=np.int64), np.full((2, 2 * paths), np.nan)
            n = k.moneyness_pass(w, 0.04, alive, index, packed)
            used = alive & (w[k.VALUE] > 0) & (w[k.FACE] > 0)
            assert n == used.sum() and (index[:n] == np.flatnonzero(used)).all()
            s, sd = w[k.SIGMA], w[k.SD]
            d1 = (w[k.LOG_RATIO] + (0.04 + 0.5 * (s * s)) * w[k.T]) / sd
            assert_same_bits(packed[0, :2 * n], np.concatenate([d1[used], (d1 - sd)[used]]), f"d {paths}")
            ndtr(packed[0, :2 * n], out=packed[1, :2 * n])
            full = w.copy()
            full[k.N1], full[k.N2] = ndtr(d1), ndtr(d1 - sd)
            outs = []
            for table, count in ((w, n), (full, 0)):
                state, positive, ok = np.empty((6, paths)), np.empty(paths, dtype=bool), np.empty(paths, dtype=bool)
                scalars = np.zeros(k.SCALARS)
                scalars[k.MIN_TRADED] = 0.01
                k.price_pass(table, np.ones((5, paths)), scalars, alive, np.full(paths, 3.0), np.full(paths, 2.0),
                             np.ones(paths), np.ones(paths), alive.copy(), np.empty(paths), state, positive, ok,
                             index, packed, count)
                outs.append(state)
            assert_same_bits(outs[0], outs[1], f"state {paths} {trial}")


#: The drawn lines' edge values: ±0.0, NaN, huge and subnormal.
_EDGES = np.array([0.0, -0.0, np.nan, 1e300, -1e300, 5e-324, -5e-324])


def _drawn_values(rng, paths: int, scale: float = 1e7) -> np.ndarray:
    """``paths`` drawn line values: normal of ``scale``, each times 1, 1e−6 or 1e6, one in ten an edge value."""
    x = rng.normal(0, scale, paths) * rng.choice([1.0, 1e-6, 1e6], paths)
    edge = rng.random(paths) < 0.1
    x[edge] = rng.choice(_EDGES, int(edge.sum()))
    return x


@pytest.mark.parametrize("paths", [1, 3, 64, 500])
def test_the_month_ends_tax_in_the_one_call_is_close_days(paths):
    """``close_value_kernel._month_tax`` (compiled) against ``Ledger.close_day``'s numpy tax on the same books:
    ``LineBook.month_lines`` (the pending rows settled), ``close_value.pretax`` of every one of its lines,
    ``np.maximum``, the tax × ``alive`` booked by ``LineBook.book``, the cash and the equity less it; every line
    drawn (each of ``pretax``'s eight weighs in), with ±0.0, NaN, huge and tiny values, lines pending or not,
    the tax line already booked today, tax rates 0, 0.21 and 1. No infinities: ``inf − inf`` makes x86's NaN
    with the sign bit set, and where it meets numpy's ``nan`` in an addition the result is the first operand's NaN,
    an order LLVM may swap (every compiled booking's additions share this; the books' lines are finite)."""
    from simulator.finance import ledger as ledger_module
    from simulator.finance.books import LineBook

    names = ledger_module._FLOW_LINES
    rng = np.random.default_rng(paths)
    values = functools.partial(_drawn_values, rng, paths)
    for draw in range(40):
        reference = LineBook(names, paths)
        reference._direct = False
        for i in range(len(names)):  # (a sum is never −0.0: it starts at +0.0, books.py)
            reference.month[i], reference.total[i] = values() + 0.0, values() + 0.0
        for i in rng.choice(len(names), 12, replace=False):  # today's pending amounts (the tax's line among them)
            reference.book(names[i], values(1e5))
        if draw % 3 == 0:
            reference.book("tax_usd", values(1e5))
        tables, pending = reference.tables.copy(), reference.pending_rows()
        rate = [0.0, 0.21, 1.0][draw % 3]
        alive = rng.random(paths) < 0.8
        cum0, base0, cash0, equity0 = values(1e8), np.maximum(values(1e8), 0.0), values(), values()
        # the numpy reference: close_day's month-end lines
        cum = cum0 + close_value.pretax(reference.month_lines())
        taxed = np.maximum(cum, 0.0)
        tax = rate * (taxed - base0) * alive
        reference.book("tax_usd", tax)
        reference.settle()
        cash, equity = cash0 - tax, equity0 - tax
        # the compiled step on a copy of the same tables
        out, equity_in = np.empty((4, paths)), equity0.copy()
        rows = np.array([names.index(k) for k in close_value.TAX_LINES], dtype=np.int64)
        close_value_kernel._month_tax(tables, pending, rows, rate, alive, cum0, base0, cash0, equity_in, out)
        close_value_kernel.settle(tables, pending)  # (day_pass's last settlement: +0.0 on the rows the tax settled)
        for name, got, want in (("cum", out[0], cum), ("taxed", out[1], taxed), ("cash", out[2], cash),
                                ("tax", out[3], tax), ("equity", equity_in, equity), ("tables", tables,
                                                                                       reference.tables)):
            assert_same_bits(got, want, f"{name} draw {draw}")


@pytest.mark.parametrize("paths", [1, 5, 500])
def test_the_month_ends_derived_lines_compiled_are_the_numpy_forms(paths, monkeypatch):
    """``close_value.month_record`` compiled (``month_pass``) against its numpy form on the same books:
    the month's copy (every line as booked, the six derived lines by their formulas, left to right) and the running
    totals (each derived line added); every line drawn, with ±0.0, NaN, huge and tiny values; lines pending."""
    from types import SimpleNamespace

    from simulator.finance import ledger as ledger_module
    from simulator.finance.books import LineBook

    names, rng = ledger_module._FLOW_LINES, np.random.default_rng(paths)
    for draw in range(30):
        def values(scale=1e7):
            return _drawn_values(rng, paths, scale) + 0.0  # (a sum is never −0.0)
        books = [LineBook(names, paths) for _ in range(2)]
        for i in range(len(names)):
            month, total = values(), values()
            for b in books:
                b._direct = False
                b.month[i], b.total[i] = month, total
        for i in rng.choice(len(names), 10, replace=False):
            amount = values(1e5)
            for b in books:
                b.book(names[i], amount)
        with monkeypatch.context() as numpy_form:
            numpy_form.setattr(close_value.CLOSE_VALUE_KERNEL, "loaded", lambda: None)
            want = close_value.month_record(SimpleNamespace(lines=books[0]))
        ledger = SimpleNamespace(lines=books[1])
        assert close_value.CLOSE_VALUE_KERNEL.loaded() is not None  # (so the call below is the compiled form)
        got = close_value.month_record(ledger)
        assert got is not None and not np.shares_memory(got, books[1].tables)
        assert_same_bits(got, want, f"month {draw}")
        assert_same_bits(books[1].tables, books[0].tables, f"tables {draw}")


@pytest.mark.parametrize("cohorts, projects", [(0, 0), (1, 1), (5, 3)])
def test_the_balance_sheet_compiled_is_the_numpy_forms(ledger, cohorts, projects, monkeypatch):
    """``close_value.balance`` (compiled, ``balance_pass``) against ``Ledger._balance``'s numpy form on the same
    state: every line in its order, bit for bit (the state's arrays, the units and their cost, the deferred
    revenue drawn with ±0.0, NaN, huge and tiny values; cohorts started before, in and past their life, or NaN; no
    cohort, one, several; no project, one, several), each
    line a new array sharing no memory with the state; None (the numpy form) for one path or a state of other
    shapes."""
    from simulator.finance import ledger as ledger_module
    from simulator.finance.depreciation import CohortBookValues

    rng = np.random.default_rng(cohorts + 10 * projects)
    for draw in range(20):
        L = copy.deepcopy(ledger)
        paths = L.paths

        def values(scale=1e7):
            return _drawn_values(rng, paths, scale)
        for name in ("cash_usd", "treasury_btc", "arrears_usd", "equity_usd", "shares", "share_price_usd", "price_usd"):
            setattr(L, name, values())
        for book in L.debt_books:
            book.balance_usd = values()
        for book in L._btc_books:
            book.pledged_btc = values(1e3)
        L.sites.book_usd, L.sites.in_progress_usd = values(), values()
        L.units = np.array([values(1e3) for _ in range(cohorts)]).reshape(cohorts, paths)
        L.unit_cost_usd = np.array([values(1e3) for _ in range(cohorts)]).reshape(cohorts, paths)
        start = rng.choice([-50.0, 0.0, 37.0, 99.0, 101.0, 400.0, np.nan], cohorts)[:, None]  # (before, in, past life)
        L.book_values = CohortBookValues(start, 0.5)
        L.deferred_revenue_usd = np.array([values() for _ in range(projects)]).reshape(projects, paths)
        with monkeypatch.context() as numpy_form, np.errstate(over="ignore", invalid="ignore"):
            numpy_form.setattr(close_value.CLOSE_VALUE_KERNEL, "loaded", lambda: None)
            want = L._balance(100)
        assert close_value.CLOSE_VALUE_KERNEL.loaded() is not None  # (so the call below is the compiled form)
        got = close_value.balance(L, 100)
        assert got is not None and list(got) == list(want) == list(close_value.BALANCE_ROWS)
        assert set(got) == set(ledger_module.BALANCE_LINES)
        for name in want:
            assert_same_bits(got[name], want[name], f"{name} draw {draw}")
            assert not any(np.shares_memory(got[name], a) for a in (L.cash_usd, L.treasury_btc, L.arrears_usd,
                                                                     L.equity_usd, L.shares, L.share_price_usd))
    L.units = L.units[:, :1]  # (a state of other shapes: numpy's)
    assert close_value.balance(L, 100) is None
    one = copy.deepcopy(ledger)
    one.paths = 1
    assert close_value.balance(one, 100) is None


@pytest.mark.parametrize("paths", [1, 7, 500])
def test_the_month_ends_identities_compiled_fail_where_check_raises(paths):
    """``close_value.identities_hold`` (compiled) is False exactly where ``Ledger._check`` raises: balances that
    hold, each of the three identities broken on one path by more and by less than its tolerance, either way, by
    ±inf, by NaN and with a NaN scale (``|r| > tol`` is False on NaN, in both forms); a state of other shapes (False:
    ``_check`` decides)."""
    from types import SimpleNamespace

    from simulator.finance.ledger import IDENTITY_RTOL, IdentityError, Ledger

    rng = np.random.default_rng(paths)
    keys = ("total_assets_usd", "total_liabilities_usd", "equity_usd", "cash_usd", "treasury_btc", "pledged_btc")
    outcomes = set()
    for draw in range(120):
        assets, liabilities = rng.lognormal(18, 3, paths), rng.lognormal(17, 3, paths)
        opening = {k: rng.lognormal(10, 3, paths) for k in keys}
        closing = {k: rng.lognormal(10, 3, paths) for k in keys}
        closing.update(total_assets_usd=assets, total_liabilities_usd=liabilities, equity_usd=assets - liabilities)
        net_cash = closing["cash_usd"] - opening["cash_usd"]
        month_btc = rng.lognormal(0, 1, paths)
        lines = {"net_cash_change_usd": net_cash, "btc_bought": rng.lognormal(0, 1, paths),
                 "btc_sold": rng.lognormal(0, 1, paths), "btc_liquidated": np.zeros(paths)}
        # BTC conserved: treasury + pledged − opening = month's BTC + bought − sold
        closing["treasury_btc"] = (opening["treasury_btc"] + opening["pledged_btc"] - closing["pledged_btc"]
                                   + month_btc + lines["btc_bought"] - lines["btc_sold"])
        p, by = rng.integers(paths), [0.0, 0.5, 2.0, 1e3, np.nan, np.inf][draw % 6]
        target = [closing["equity_usd"], lines["net_cash_change_usd"], lines["btc_sold"]][draw // 6 % 3]
        scale = max(abs(assets[p]), abs(liabilities[p]), 1.0) if draw // 6 % 3 < 2 else max(
            abs(closing["treasury_btc"][p]) + abs(month_btc[p] + lines["btc_bought"][p]), 1.0)
        sign = 1.0 if draw // 18 % 2 else -1.0  # (a residual's either side)
        target[p] += sign * (by * IDENTITY_RTOL * scale if by == by and by != np.inf else by)
        if draw % 17 == 5:
            closing["total_assets_usd"][p] = np.nan
        ledger = SimpleNamespace(paths=paths, month_btc=month_btc)
        try:
            Ledger._check(ledger, opening, closing, lines)
            raised = False
        except IdentityError:
            raised = True
        held = close_value.identities_hold(ledger, opening, closing, lines, IDENTITY_RTOL)
        assert held == (not raised), (draw, by)
        outcomes.add((held, by))
    assert {True, False} <= {h for h, _ in outcomes}
    ledger = SimpleNamespace(paths=paths + 1, month_btc=month_btc)  # (other shapes: _check decides)
    assert close_value.identities_hold(ledger, opening, closing, lines, IDENTITY_RTOL) is False
