"""Session 37 (comp37): the company's compiled day reads the projects' rows from the block, skips
``ContractValuer.observe`` on a block's quiet days, and writes the cohorts' units in place.

The whole-run comparisons of tests/test_operations_kernel.py (the ledger's numpy day against the compiled one, byte
for byte, the kernel forced from day 0: HPC projects completing, prepaid, in distress) cover the arithmetic; these
tests check the quiet days against ``observe`` itself and that the new routes ran.
"""
from __future__ import annotations

import importlib

import numpy as np
from hypothesis import given, settings, strategies as st

from simulator import engine
from simulator.config import load_scenario
from simulator.finance import operations_call
from simulator.finance.contracts import ContractValuer
from tests import kernel_forms

kernel = importlib.import_module("simulator.finance.operations_kernel")


def _valuer(completed_day: np.ndarray) -> ContractValuer:
    """A ContractValuer's state ``observe`` reads and writes (projects, the completion days, the count of NaN days,
    the lease-ended flags)."""
    c = object.__new__(ContractValuer)
    c.projects = [None] * completed_day.shape[0]
    c.completed_day = completed_day.copy()
    c._waiting = int(np.isnan(completed_day).sum())
    c.ended = np.zeros(completed_day.shape, dtype=bool)
    return c


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 8), st.integers(1, 2), st.integers(1, 4), st.data())
def test_a_blocks_quiet_days_are_the_days_observe_changes_nothing(n, projects, paths, data):
    """Drawn blocks of completion flags (not only raised for good: any pattern) and lease ends, a state with some
    projects completed already (or none waiting), the block's days observed in order from a drawn day ``j0`` after
    ``quiet_days`` is taken there: a day is quiet exactly when ``observe`` sets no completion day and no lease ends."""
    flags = st.lists(st.booleans(), min_size=n * projects * paths, max_size=n * projects * paths)
    completed = np.array(data.draw(flags)).reshape(n, projects, paths)
    ended = np.array(data.draw(flags)).reshape(n, projects, paths) & data.draw(st.booleans())
    before = np.array(data.draw(st.lists(st.sampled_from([np.nan, 3.0]), min_size=projects * paths,
                                         max_size=projects * paths))).reshape(projects, paths)
    j0 = data.draw(st.integers(0, n - 1))
    c = _valuer(before)
    for j in range(j0):
        c.observe(j, completed[j], ended[j])
    quiet = c.quiet_days(completed, ended)
    assert quiet.shape == (n,) and quiet.dtype == bool
    for j in range(j0, n):
        days = c.completed_day.copy()
        c.observe(j, completed[j], ended[j])
        changed = not np.array_equal(days, c.completed_day, equal_nan=True) or bool(ended[j].any())
        assert quiet[j] == (not changed), j


def test_the_quiet_days_skip_what_a_flag_raised_for_good_repeats():
    """A completion flag raised on day 1 and kept: day 1 is not quiet, days 2 on are (observe sets nothing more);
    a lease ending on day 3 is not."""
    completed = np.zeros((5, 1, 2), dtype=bool)
    completed[1:, 0, 0] = True
    ended = np.zeros((5, 1, 2), dtype=bool)
    ended[3, 0, 1] = True
    assert _valuer(np.full((1, 2), np.nan)).quiet_days(completed, ended).tolist() == [True, False, True, False, True]


def test_the_compiled_day_reads_the_projects_from_the_block_and_writes_units_in_place(monkeypatch):
    """A compiled run of a company with an HPC project (contract example, its project completing during the run):
    every day's rows read from its block, projects included; ``observe`` called on some days, skipped on the others;
    the ledger's units the same table from the kernel's first day on, written in place; the same outputs as the day
    route (the flows of each day's HPC fields concatenated, observed every day)."""
    monkeypatch.setattr(operations_call.OPERATIONS_KERNEL, "for_call", lambda *a, **kw: kernel)
    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=4"])
    observed, seen, units = [], [], set()
    observe, book_day = ContractValuer.observe, kernel.book_day

    def spied_book_day(*a):
        seen.append((a[2], len(a[1]), a[16].shape[1]))
        units.add(id(a[9]))
        assert a[11] is a[9]  # (units_out: the units themselves)
        return book_day(*a)
    monkeypatch.setattr(kernel, "book_day", spied_book_day)
    monkeypatch.setattr(ContractValuer, "observe", lambda self, day, *a: observed.append(day) or observe(self, day, *a))
    by_block = engine.simulate(scenario, keep_paths=4, workers=1)
    assert all(j >= 0 and size == len(kernel.BLOCK_ROWS) + 4 and projects == 1 for j, size, projects in seen)
    assert 0 < len(observed) < len(seen) and len(units) == 1

    monkeypatch.setattr(operations_call, "_block_rows", lambda L, fixed, block_day, paths: (fixed.no_block, -1))
    observed.clear()
    by_day = engine.simulate(scenario, keep_paths=4, workers=1)
    assert len(observed) == scenario.horizon_days
    kernel_forms.assert_same_runs((by_block.path_metrics, by_block.monthly, by_block.daily),
                                  (by_day.path_metrics, by_day.monthly, by_day.daily))


def test_units_not_the_ledgers_own_are_not_written():
    """A units table that is a view or read-only (not the ledger's own) gets a new table, as before (the ledger's units
    are compared after every close by tests/test_operations_kernel.py's whole runs)."""
    assert operations_call._own(np.zeros((3, 4)))
    assert not operations_call._own(np.zeros((3, 8))[:, ::2])
    assert not operations_call._own(np.zeros((6, 4))[:3])
    read_only = np.zeros((3, 4))
    read_only.flags.writeable = False
    assert not operations_call._own(read_only)
