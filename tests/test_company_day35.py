"""The company's day prepared a block at a time (session 35, comp35): the compiled day reads the block's flow rows
by day index, a day's flows read the block's rows when asked for, and a stopped day's units lost are masked as the
compiled day reads them.

The whole-run comparisons of tests/test_operations_kernel.py (the ledger's numpy day against the compiled one, byte
for byte) cover the arithmetic; these tests check that the new routes ran where they matter (a run whose stopped
paths lose units, flows of a block read by index) and give the same bits as the routes they replace.
"""
from __future__ import annotations

import dataclasses
import importlib

import numpy as np

from simulator import engine
from simulator.config import load_scenario
from simulator.finance import operations_call
from simulator.finance.flows import BlockDayFlows
from simulator.finance.ledger import Ledger
from tests import kernel_forms
from tests.test_operations_kernel import _assert_same_run, _state

kernel = importlib.import_module("simulator.finance.operations_kernel")

DISTRESSED = ("scenarios/contract_example.yaml", [
    "paths=6", "company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false",
    "market.btc_price.vol_annual=0.9"])


def _spy_book_day(monkeypatch, seen):
    book_day = kernel.book_day

    def spied(*a):
        lost, j, mask, mask_lost = a[6], a[2], a[-3], a[-2]  # (a[5:9]: the retired, lost, delivered units, capex)
        seen.append((j, mask_lost, bool(mask_lost and (lost * (1.0 - mask)).any())))
        return book_day(*a)
    monkeypatch.setattr(kernel, "book_day", spied)


def test_a_stopped_days_units_lost_are_masked_as_read(monkeypatch):
    """The distressed run, numpy day against compiled day, byte for byte; the compiled day took units lost unmasked
    on stopped days, some of them nonzero on a stopped path (so a missing mask would change the books)."""
    seen = []
    _spy_book_day(monkeypatch, seen)
    _assert_same_run(monkeypatch, *DISTRESSED)
    assert any(s[2] for s in seen) and not all(s[1] for s in seen)
    assert all(s[0] >= 0 for s in seen)  # every day's flow rows read from its block by index


def _run(monkeypatch, scenario, eager: bool):
    """A compiled run; ``eager``: every day's flows as before this change (units lost masked when the day is taken,
    the 25 rows copied from the day's flows)."""
    monkeypatch.setattr(operations_call.OPERATIONS_KERNEL, "for_call", lambda *a, **kw: kernel)
    if eager:
        flows = __import__("simulator.block", fromlist=["OpsBlock"]).OpsBlock.flows

        def eager_flows(self, day, no_hpc):
            f = flows(self, day, no_hpc)
            for name in (x.name for x in dataclasses.fields(f)):  # (every row taken, the units lost masked, now)
                getattr(f, name)
            del vars(f)["block_day"]
            return f
        monkeypatch.setattr(__import__("simulator.block", fromlist=["OpsBlock"]).OpsBlock, "flows", eager_flows)
    days, close = [], Ledger.close_day
    monkeypatch.setattr(Ledger, "close_day", lambda self, cal: close(self, cal) or days.append(_state(self)))
    res = engine.simulate(scenario, keep_paths=4, workers=1)
    monkeypatch.undo()
    return res, days


def test_the_block_route_gives_the_days_route(monkeypatch):
    """The compiled day on a block's rows by index and lazily masked units lost, against the compiled day on each
    day's rows and masked units lost: the same state after every close and the same outputs."""
    scenario = load_scenario(*DISTRESSED)
    (a, days_a), (b, days_b) = _run(monkeypatch, scenario, False), _run(monkeypatch, scenario, True)
    assert days_a == days_b
    kernel_forms.assert_same_runs((a.path_metrics, a.monthly, a.daily), (b.path_metrics, b.monthly, b.daily))


def test_block_day_flows_mask_the_units_lost_when_read():
    lost = np.array([[1.0, -0.0, np.nan], [2.5, 3.0, 5e-324]])
    alive_usd = np.array([1.0, 0.0, 0.0])
    f = object.__new__(BlockDayFlows)
    vars(f)["lost_units_unmasked"] = (lost, alive_usd)
    got = f.lost_units
    assert got is f.lost_units and vars(f)["lost_units"] is got  # (computed once, then the field)
    assert got.tobytes() == (lost * alive_usd).tobytes()


def test_block_day_flows_read_the_blocks_rows_when_asked_for():
    """A field not read is not taken (not in the day's attributes); once read it is row ``j`` of the block's field (an
    array's row, a float as it is) and kept; the day's own fields come first."""
    from simulator.finance.flows import OperatingFlows
    names = [x.name for x in dataclasses.fields(OperatingFlows)]
    whole = OperatingFlows.of({name: np.arange(6.0).reshape(3, 2) + k for k, name in enumerate(names)
                               if name != "masked_with"} | {"site_opex_usd": 2.5})
    own = np.array([7.0, -0.0])
    f = BlockDayFlows.of_block_day({"block_day": (whole, 2), "btc_mined": own})
    assert "price_usd" not in vars(f) and f.btc_mined is own and f.site_opex_usd == 2.5
    price = f.price_usd
    assert vars(f)["price_usd"] is price and f.price_usd is price and np.shares_memory(price, whole.price_usd)
    assert price.tobytes() == whole.price_usd[2].tobytes()
    assert f.masked_with is None


SPECIAL = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e308]


def _masking(monkeypatch, compiled: bool):
    from simulator import block
    monkeypatch.setattr(block._OPERATIONS_KERNEL, "loaded", lambda: kernel if compiled else None)
    b = block.OpsBlock(first=10, n=5)
    return b


def test_a_stops_masking_compiled_is_numpys(monkeypatch):
    """``OpsBlock._masked_from`` of C-ordered float fields in one compiled pass gives numpy's floats (or ``x`` itself
    where numpy keeps it): nonzero, NaN, ±0.0 and subnormals, from every day of the block, fields ±0.0 from ``j`` on
    (kept) and not, ``(n, k, paths)`` fields as ``(n·k, paths)`` rows (the HPC projects'; none, one, three projects);
    other fields (per-day amounts filled, int, strided) go through numpy either way."""
    rng = np.random.default_rng(35)
    alive = np.array([True, False, True, False, True, True, False])
    cases = []
    for _ in range(40):
        x = rng.choice(np.array(SPECIAL), size=(5, 7))
        x[rng.integers(0, 5):] = rng.choice(np.array([0.0, -0.0]), size=7)  # ±0.0 from some day on
        cases.append((x, (5, 7)))
    cases += [(np.zeros((5, 7)), None), (np.full((5, 7), np.nan), (5, 7)), (np.arange(5.0), (5, 7)), (2.5, (5, 7)),
              (np.ones((5, 2, 7)), None), (np.arange(35).reshape(5, 7), (5, 7)), (np.ones((5, 14))[:, ::2], (5, 7)),
              (np.ones((5, 0, 7)), None)]
    for k in (1, 3) * 6:  # (the HPC projects' fields)
        x = rng.choice(np.array(SPECIAL), size=(5, k, 7))
        x[rng.integers(0, 5):] = rng.choice(np.array([0.0, -0.0]), size=(k, 7))  # ±0.0 from some day on
        x[rng.integers(0, 5):, rng.integers(0, k)] = 1.5  # (one project's rows nonzero from some day on)
        cases.append((x, None))
    passes, masked_from = [], kernel.masked_from
    monkeypatch.setattr(kernel, "masked_from", lambda x, j, m: passes.append(x.shape) or masked_from(x, j, m))
    for compiled in (False, True):
        b = _masking(monkeypatch, compiled)
        b.stopped, b._alive_usd = alive, alive.astype(float)
        got = [[b._masked_from(x, j, shape) for j in range(5)] for x, shape in cases]
        if not compiled:
            want = got
    assert {(5, 7), (10, 7), (15, 7), (0, 7)} <= set(passes)  # (the 3-D fields' passes, as rows)
    for (x, _), g_row, w_row in zip(cases, got, want):
        for g, w in zip(g_row, w_row):
            assert (g is x) == (w is x)
            assert np.asarray(g).dtype == np.asarray(w).dtype and np.asarray(g).tobytes() == np.asarray(w).tobytes()
    assert any(g is x for (x, _), row in zip(cases, got) for g in row)  # (kept)
    assert any(g is not x for (x, _), row in zip(cases, got) for g in row)  # (masked)


def test_the_flow_row_fields_are_the_kernels_rows_in_order():
    """``operations_call.FLOW_ROW_FIELDS`` names the kernel's flow rows ``PRICE`` … ``EXPANSION`` in order, and
    ``BLOCK_FIELDS`` its ``BLOCK_ROWS`` (every one but the resale value): the day's copy and the block's read agree."""
    kernel = importlib.import_module("simulator.finance.operations_kernel")
    fields = operations_call.FLOW_ROW_FIELDS
    assert len(fields) == kernel.PRICE_BEFORE and fields[kernel.RESALE] == "resale_value_usd"
    assert fields[kernel.PRICE] == "price_usd" and fields[kernel.EXPANSION] == "expansion_capex_usd"
    assert tuple(fields.index(name) for name in operations_call.BLOCK_FIELDS) == kernel.BLOCK_ROWS
