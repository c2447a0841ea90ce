"""Session 38 (comp38): the company's day without Python work its block already answers.

The whole-run comparisons of tests/test_operations_kernel.py (the ledger's numpy day against the compiled one, byte
for byte, the kernel forced from day 0) cover the arithmetic; these tests check each skip against the work it skips.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings, strategies as st

from simulator.finance import operations_call
from simulator.finance.books import AssetPool
from tests.kernel_forms import assert_same_bits

_SPEND = st.sampled_from([0.0, 0.0, 0.0, -0.0, 1.5, np.nan])


def _fixed(pools, block, projects, paths):
    """What ``operations_call._pools`` reads of a ledger's ``_Fixed``: its pools, their table and state, the block's
    rows (:func:`operations_call._block_rows`' tuple) and the projects' count (``hpc_table``)."""
    table = np.full((4, len(pools), paths), np.nan)
    return SimpleNamespace(pools=pools, pool_table=table, pool_state=[tuple(table[:3, k]) for k in range(len(pools))],
                           pool_flags=np.zeros(2 * len(pools), dtype=bool), block=block,
                           hpc_table=np.empty((4, projects, paths)), first_spending=[None] * len(pools))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2), st.integers(1, 3), st.data())
def test_an_idle_pools_quiet_days_of_a_block_are_skipped_exactly(n, projects, paths, data):
    """A block of drawn spending (±0.0 on most days, amounts, NaN) for the sites and each project's building and GPUs,
    its days stepped from a drawn day ``j0`` with new months and a pool placed in service already: the block route
    (``j`` given, idle pools' days before their first spending skipped) gives the day route's flags and rows every day,
    ``_first_spending`` is each pool's first day of nonzero or NaN spending on some path (the block's length where none),
    and ``open_step`` is not asked on the skipped days."""
    pools_n = 1 + 2 * projects
    spend = np.array(data.draw(st.lists(_SPEND, min_size=n * pools_n * paths, max_size=n * pools_n * paths)),
                     dtype=float).reshape(n, pools_n, paths)
    expansion = spend[:, 0].copy()
    building = spend[:, 1::2].copy()  # (n, projects, paths)
    gpus = spend[:, 2::2].copy()
    fields = len(operations_call.BLOCK_FIELDS)
    block = [np.zeros((n, paths)) for _ in range(fields)] + [np.zeros((n * projects, paths)) for _ in range(4)]
    block[operations_call.BLOCK_FIELDS.index("expansion_capex_usd")] = expansion
    block[fields + 2], block[fields + 3] = building.reshape(n * projects, paths), gpus.reshape(n * projects, paths)
    active = data.draw(st.integers(0, pools_n))  # (a pool placed in service before the block: not idle)

    def pools():
        out = [AssetPool(0.01, paths) for _ in range(pools_n)]
        if active < pools_n:
            out[active].place_in_service(np.ones(paths), 0)
        return out
    by_block, by_day = pools(), pools()
    asked = []
    for pool in by_block:  # (open_step's calls counted on the block route)
        pool.open_step = (lambda step: lambda *a: asked.append(1) or step(*a))(pool.open_step)
    fixed_block, fixed_day = _fixed(by_block, tuple(block), projects, paths), _fixed(by_day, None, projects, paths)
    j0 = data.draw(st.integers(0, n - 1))
    for k in range(pools_n):
        nonzero = [d for d in range(n) if np.count_nonzero(spend[d, k])]
        assert operations_call._first_spending(fixed_block, k) == (nonzero[0] if nonzero else n)
    for j in range(j0, n):
        day, new_month = 10 + j, j % 2 == 1
        f = SimpleNamespace(expansion_capex_usd=expansion[j], hpc_building_capex_usd=building[j],
                            hpc_gpu_capex_usd=gpus[j])
        skipped = sum(p.idle and j < operations_call._first_spending(fixed_block, k) for k, p in enumerate(by_block))
        del asked[:]
        table, flags = operations_call._pools(fixed_block, f, day, new_month, paths, j)
        assert len(asked) == pools_n - skipped  # (open_step not asked on a skipped day)
        want, want_flags = operations_call._pools(fixed_day, f, day, new_month, paths)
        assert_same_bits(flags, want_flags)
        for k in range(pools_n):
            if flags[k]:
                assert_same_bits(table[:3, k], want[:3, k])
            if flags[pools_n + k]:
                assert_same_bits(table[3, k], want[3, k])
            assert by_block[k].idle == by_day[k].idle
        for pools_of, fx in ((by_block, fixed_block), (by_day, fixed_day)):  # the kernel's step: the state in place
            for k, pool in enumerate(pools_of):
                if fx.pool_flags[k]:
                    book, base, in_progress = fx.pool_state[k]
                    np.add(book, 1.0, out=book)
                    pool.book_usd, pool.base_usd, pool.in_progress_usd = book, base, in_progress
