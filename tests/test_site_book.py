"""A site's block booked into the day record in one compiled pass, its opex split made once for the horizon, its
one-pass table written over the previous block's (session 35, site35): the same bytes as the numpy forms."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from simulator import index_block_kernel, site_block as site_block_module
from simulator.config.checks import library_for
from simulator.day_record import DayRecord
from simulator.fleet import build_cohorts
from simulator.site_block import book, site_block
from simulator.site_day import plan_site, start_site

from kernel_forms import NAN, assert_same_bits
from test_site_block import CASES, block_starts, inputs, scenario, units_of

#: Cases the one-pass kernels compute (fixed and index prices), and cases without hosting (the horizon's opex).
ONE_PASS = [c for c in CASES if c[0] in ("fixed-economic", "fixed-none", "index-spikes-economic", "index-schedule")]
NO_HOSTING = ONE_PASS + [c for c in CASES if c[0] in ("four-cp", "stop-fixed", "demand-response", "tuned-ambient")]
#: Doubles that tell operand order and signs apart (the processor's NaN, the one a run makes: kernel_forms.NAN).
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, np.inf, -np.inf, NAN, 3.7, 1e-17, 2.0**60])


def _case(case, paths: int = 5):
    name, site, top, days, dynamic = case
    s = scenario(site, top, days, dynamic)
    cohorts = build_cohorts(s, library_for(s))
    plan = plan_site(s, 0, cohorts, pd.date_range(s.start, periods=days, freq="D"))
    return plan, inputs(days, len(cohorts), paths, 11), days, len(cohorts)


def _values(rng, shape, special: bool) -> np.ndarray:
    x = rng.uniform(-50.0, 50.0, shape)
    if special:
        x = np.where(rng.random(shape) < 0.5, rng.choice(SPECIAL, shape), x)
    return x


def _record(rng, n: int, paths: int, special: bool) -> DayRecord:
    """A block's record with every booked row, reward and close set (special doubles where asked)."""
    d = DayRecord.start(_values(rng, (n, paths), special), np.full((n, paths), 0.03), np.zeros((n, paths)), 0.0)
    for name in site_block_module._BOOKED:
        getattr(d, name)[:] = _values(rng, (n, paths), special)
    d.reward_btc_per_hs_day = _values(rng, (n, paths), special) * 1e-18
    return d


def _booked(plan, flows, record: DayRecord, compiled: bool):
    """``book`` into a copy of ``record`` and fresh price columns (numpy form: the flows without their table)."""
    n, paths = np.shape(flows.running_ths)
    d = dataclasses.replace(record, **{name: getattr(record, name).copy() for name in site_block_module._BOOKED})
    index_price, power_price = np.full((n, 2, paths), np.nan), np.zeros((n, 2, paths))
    book(plan, flows if compiled else dataclasses.replace(flows, table=None), d, index_price, power_price)
    return [getattr(d, name) for name in site_block_module._BOOKED + ("site_opex_usd", "site_opex_hpc_usd")] + [
        index_price, power_price]


def _with_table(flows, table: np.ndarray):
    """``flows`` whose seven per-path fields are the rows of ``table`` (as the one pass hands them)."""
    return dataclasses.replace(flows, table=table, **dict(zip(index_block_kernel.FIELDS, table)))


@pytest.mark.parametrize("case", ONE_PASS, ids=[c[0] for c in ONE_PASS])
@pytest.mark.parametrize("special", [False, True])
def test_the_compiled_booking_is_the_numpy_booking_bit_for_bit(case, special, monkeypatch):
    """Every booked row, the FPPS BTC and revenue, and both price columns, from the one pass's own tables and from
    tables of special doubles (signed zeros, infinities, NaN, tiny and huge): byte for byte, the compiled pass
    taken each time."""
    calls = []
    compiled = index_block_kernel.book
    monkeypatch.setattr(index_block_kernel, "book", lambda *a: calls.append(1) or compiled(*a))
    plan, x, days, cohorts = _case(case)
    rng = np.random.default_rng(5)
    state = start_site(plan, 3, np.arange(5), x["working"][0])
    for day0, m in block_starts(days, 30):
        flows = site_block(plan, state, day0, m, days, x["hashprice"][day0:day0 + m], 2.5, x["offline"][day0:day0 + m],
                           x["hpc_mw"][day0:day0 + m], x["working"][day0:day0 + m], units_of(x["working"][day0]),
                           np.zeros((cohorts, 5)))
        assert flows.table is not None, "the one pass ran"
        record = _record(rng, m, 5, special)
        if special:
            flows = _with_table(flows, _values(rng, flows.table.shape, True))
        for a, b in zip(_booked(plan, flows, record, False), _booked(plan, flows, record, True)):
            assert_same_bits(a, b, case[0])
    assert len(calls) == len(list(block_starts(days, 30)))


def test_a_record_whose_rows_are_not_c_ordered_is_booked_in_numpy(monkeypatch):
    """The compiled pass writes the record's rows in place: a row that is a strided view takes the numpy form."""
    monkeypatch.setattr(index_block_kernel, "book", lambda *a: pytest.fail("compiled booking of a strided row"))
    plan, x, days, cohorts = _case(ONE_PASS[0])
    state = start_site(plan, 3, np.arange(5), x["working"][0])
    flows = site_block(plan, state, 0, 7, days, x["hashprice"][:7], 2.5, x["offline"][:7], x["hpc_mw"][:7],
                       x["working"][:7], units_of(x["working"][0]), np.zeros((cohorts, 5)))
    record = _record(np.random.default_rng(1), 7, 5, False)
    record.energy_mwh = np.zeros((5, 7)).T  # F-ordered
    book(plan, flows, record, np.full((7, 2, 5), np.nan), np.zeros((7, 2, 5)))
    assert_same_bits(record.energy_mwh, flows.energy_mwh + 0.0)


def _capacity_variants(plan):
    """The plan, and the plan with capacities of 0, −0.0, +inf and a NaN on some days."""
    capacity = plan.capacity_mw.copy()
    capacity[1:len(capacity):5], capacity[2:len(capacity):7], capacity[3] = 0.0, -0.0, np.inf
    odd = capacity.copy()
    odd[4] = np.nan
    return [plan, dataclasses.replace(plan, capacity_mw=capacity), dataclasses.replace(plan, capacity_mw=odd)]


@pytest.mark.parametrize("case", NO_HOSTING, ids=[c[0] for c in NO_HOSTING])
def test_the_horizons_opex_split_is_each_blocks(case):
    """A site without hosting whose state has the horizon's opex split gives every block's flows byte for byte as
    the block form (HPC MW of +0.0, −0.0 and positive; capacities of 0, −0.0, inf and NaN)."""
    plan, x, days, cohorts = _case(case, paths=3)
    hpc_mw = x["hpc_mw"].copy()
    hpc_mw[5:days:9] = -0.0
    for p in _capacity_variants(plan):
        a, b = start_site(p, 3, np.arange(3), x["working"][0], hpc_mw), start_site(p, 3, np.arange(3), x["working"][0])
        assert a.horizon_costs is not None and b.horizon_costs is None
        for day0, m in block_starts(days, 7 if days < 100 else 30):
            args = (day0, m, days, x["hashprice"][day0:day0 + m], 2.5, x["offline"][day0:day0 + m],
                    hpc_mw[day0:day0 + m], x["working"][day0:day0 + m])
            fa, fb = (site_block(p, s, *args, units_of(x["working"][day0]), np.zeros((cohorts, 3))) for s in (a, b))
            for f in dataclasses.fields(fa):
                va, vb = getattr(fa, f.name), getattr(fb, f.name)
                for ya, yb in zip(va if isinstance(va, tuple) else (va,), vb if isinstance(vb, tuple) else (vb,)):
                    if ya is None or yb is None:
                        assert ya is yb, f.name
                    else:
                        assert_same_bits(ya, yb, f"{case[0]} {f.name} day {day0}")


def test_a_hosting_site_keeps_its_block_opex_split():
    """Hosting's MW depends on the offline days: no horizon split for such a site."""
    case = next(c for c in CASES if c[0] == "hosting-expansion")
    plan, x, days, _ = _case(case, paths=3)
    assert start_site(plan, 3, np.arange(3), x["working"][0], x["hpc_mw"]).horizon_costs is None


@pytest.mark.parametrize("case", ONE_PASS[::2], ids=[c[0] for c in ONE_PASS[::2]])
def test_a_reused_table_gives_each_blocks_flows(case):
    """With ``reuse_table`` each block's table is the state's memory, over the last block's, and its flows are those
    of fresh memory (blocks of 30, 7 and 1 days)."""
    plan, x, days, cohorts = _case(case)
    for n in (30, 7, 1):
        kept, fresh = (start_site(plan, 3, np.arange(5), x["working"][0], reuse_table=r) for r in (True, False))
        for day0, m in block_starts(days, n):
            args = (day0, m, days, x["hashprice"][day0:day0 + m], 2.5, x["offline"][day0:day0 + m],
                    x["hpc_mw"][day0:day0 + m], x["working"][day0:day0 + m])
            fa, fb = (site_block(plan, s, *args, units_of(x["working"][day0]), np.zeros((cohorts, 5)))
                      for s in (kept, fresh))
            assert np.shares_memory(fa.table, kept.table_memory) and not np.shares_memory(fb.table, kept.table_memory)
            for name in index_block_kernel.FIELDS:
                assert_same_bits(getattr(fa, name), getattr(fb, name), name)


def _booked_in_pass(plan, state, args, record: DayRecord, cohorts: int, paths: int):
    """``site_block`` booking into a copy of ``record`` and fresh price columns as it goes (``book_into``), then
    ``book``: the record's booked rows, opex and both price columns, and the flows."""
    n = args[1]
    d = dataclasses.replace(record, **{name: getattr(record, name).copy() for name in site_block_module._BOOKED})
    index_price, power_price = np.full((n, 2, paths), np.nan), np.zeros((n, 2, paths))
    flows = site_block(plan, state, *args, units_of(args[-1][0]), np.zeros((cohorts, paths)),
                       (d, index_price, power_price))
    book(plan, flows, d, index_price, power_price)
    return [getattr(d, name) for name in site_block_module._BOOKED + ("site_opex_usd", "site_opex_hpc_usd")] + [
        index_price, power_price], flows


@pytest.mark.parametrize("case", ONE_PASS, ids=[c[0] for c in ONE_PASS])
@pytest.mark.parametrize("special", [False, True])
def test_the_pass_booking_as_it_goes_is_the_table_booked_after(case, special, monkeypatch):
    """``site_block`` with ``book_into`` adds each day to the record as the one pass makes it (no table, no second
    pass): the record's rows and both price columns byte for byte as the block's table booked by ``book`` (compiled),
    on records of ordinary and special doubles (signed zeros, infinities, NaN, tiny and huge), in blocks of 30, 7 and
    1 days; the compiled booking is not called, and the flows say they were booked."""
    plan, x, days, cohorts = _case(case)
    rng = np.random.default_rng(7)
    compiled = index_block_kernel.book
    for n in (30, 7, 1):
        a, b = (start_site(plan, 3, np.arange(5), x["working"][0], reuse_table=True) for _ in range(2))
        for day0, m in block_starts(days, n):
            args = (day0, m, days, x["hashprice"][day0:day0 + m], 2.5, x["offline"][day0:day0 + m],
                    x["hpc_mw"][day0:day0 + m], x["working"][day0:day0 + m])
            record = _record(rng, m, 5, special)
            monkeypatch.setattr(index_block_kernel, "book", lambda *z: pytest.fail("booked after the pass"))
            got, flows = _booked_in_pass(plan, a, args, record, cohorts, 5)
            monkeypatch.setattr(index_block_kernel, "book", compiled)
            assert flows.booked and flows.table is None and flows.running_ths is None
            table = site_block(plan, b, *args, units_of(x["working"][day0]), np.zeros((cohorts, 5)))
            assert not table.booked and table.table is not None
            for u, v in zip(got, _booked(plan, table, record, True)):
                assert_same_bits(u, v, f"{case[0]} day {day0} of {n}")


def test_a_record_whose_rows_are_not_c_ordered_is_not_booked_in_the_pass():
    """The pass writes the record's rows in place: a strided row leaves the block's table to ``book`` (numpy)."""
    plan, x, days, cohorts = _case(ONE_PASS[0])
    state = start_site(plan, 3, np.arange(5), x["working"][0])
    record = _record(np.random.default_rng(1), 7, 5, False)
    record.energy_mwh = np.zeros((5, 7)).T  # F-ordered
    flows = site_block(plan, state, 0, 7, days, x["hashprice"][:7], 2.5, x["offline"][:7], x["hpc_mw"][:7],
                       x["working"][:7], units_of(x["working"][0]), np.zeros((cohorts, 5)),
                       (record, np.full((7, 2, 5), np.nan), np.zeros((7, 2, 5))))
    assert not flows.booked and flows.table is not None
    assert_same_bits(record.energy_mwh, np.zeros((7, 5)))  # nothing added yet
