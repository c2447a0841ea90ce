"""Session 36 (comp36): a project debt's day skips its capex test on a block whose capex rows of the project are ±0.0.

:meth:`simulator.finance.debt.ProjectDebtBook.day` on a block's days (:class:`simulator.finance.flows.BlockDayFlows`)
against the same days as plain flows (each day tested, as before): the same draws, bit for bit, and on a quiet block
the day's capex rows are never read.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulator.finance.debt import ProjectDebtBook
from simulator.finance.flows import BlockDayFlows

from kernel_forms import assert_same_bits


class _Ledger(SimpleNamespace):
    def draw(self, usd):
        self.drawn.append(np.array(usd))


def _block(rng, n, paths, busy: set):
    """A block's flows of two projects: capex on some days of the projects in ``busy`` (NaN, ±0.0 and amounts),
    ±0.0 on every day of the others."""
    capex = [rng.choice(np.array([0.0, -0.0]), size=(n, 2, paths)) for _ in range(2)]
    for k in busy:
        for x in capex:
            days = rng.integers(0, n, 2)
            x[days, k] = rng.choice(np.array([0.0, -0.0, 3.5, 1e6, np.nan]), size=(2, paths))
    return SimpleNamespace(hpc_building_capex_usd=capex[0], hpc_gpu_capex_usd=capex[1],
                           hpc_completed=np.zeros((n, 2, paths), bool))


def _days(book, blocks, alive, route: str):
    ledger = _Ledger(alive=alive, drawn=[])
    read = []
    for whole in blocks:
        for j in range(whole.hpc_building_capex_usd.shape[0]):
            if route == "block":
                f = BlockDayFlows.of_block_day({"block_day": (whole, j)})
            else:
                f = SimpleNamespace(**{k: getattr(whole, k)[j] for k in vars(whole)})
            ledger.flows = f
            book.day(ledger, SimpleNamespace(month_end=False))
            read.append("hpc_building_capex_usd" in vars(f))
        ledger.drawn.append(book.balance_usd.copy())
    return ledger.drawn, read


def test_a_project_debts_day_skips_a_quiet_blocks_capex():
    rng = np.random.default_rng(36)
    paths = 5
    alive = np.array([True, False, True, True, False])
    blocks = [_block(rng, 7, paths, set()), _block(rng, 6, paths, {1}), _block(rng, 5, paths, {0, 1}),
              _block(rng, 4, paths, {0})]
    for j in (0, 1):
        financing = SimpleNamespace(debt_fraction=0.6, rate=0.08, term_years=5)
        by_block, read = _days(ProjectDebtBook(financing, j, paths), blocks, alive, "block")
        by_day, _ = _days(ProjectDebtBook(financing, j, paths), blocks, alive, "day")
        assert len(by_block) == len(by_day) > len(blocks)  # (some draws)
        for a, b in zip(by_block, by_day):
            assert_same_bits(a, b)
        quiet = [k for k, whole in enumerate(blocks) if not (np.count_nonzero(whole.hpc_building_capex_usd[:, j])
                                                              or np.count_nonzero(whole.hpc_gpu_capex_usd[:, j]))]
        bounds = np.cumsum([0] + [w.hpc_building_capex_usd.shape[0] for w in blocks])
        assert quiet and len(quiet) < len(blocks)
        for k in range(len(blocks)):  # a quiet block's days never read their capex rows; the others' do
            assert all(read[bounds[k]:bounds[k + 1]]) == (k not in quiet)
            assert any(read[bounds[k]:bounds[k + 1]]) == (k not in quiet)
