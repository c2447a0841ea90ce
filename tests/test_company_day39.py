"""Session 39 (comp39): a block's MW shares taken again where the sites' MW are the last block's; a stop's per-day
amounts masked in one compiled pass.

``day_record.days_mw_shares`` gives ``segments.mw_shares_of_days`` of the days' MW; where the MW are the same float64s
as the last call's, bit for bit, it gives the table it made then (read-only). These tests draw sequences of calls with
repeats and changes in one input at a time (a sign of zero, a NaN, a day's value, the block's length) and check every
answer against the function made afresh, byte for byte. ``OpsBlock._masked_from`` of a per-day ``(n,)`` amount
compiled (``operations_kernel.masked_days_from``) gives numpy's floats, or the amount itself where numpy keeps it.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulator import block, day_record
from simulator.day_record import DayRecord, days_mw_shares
from simulator.finance import operations_kernel as kernel, segments
from tests.kernel_forms import assert_same_bits

_MW = st.sampled_from([0.0, -0.0, 5.0, 30.0, 100.0, -2.0, np.nan, np.inf])


def _fresh(site_mw, n):
    """``segments.mw_shares_of_days`` of ``site_mw`` made afresh (what ``same_on_paths`` called before)."""
    return segments.mw_shares_of_days(*(np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in site_mw))


@st.composite
def _site_mw(draw, n):
    """The sites' (capacity, hosting, HPC) MW: each a float or a day's ``(n,)`` array."""
    return tuple(draw(_MW) if draw(st.booleans()) else np.array(draw(st.lists(_MW, min_size=n, max_size=n)))
                 for _ in range(3))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_days_mw_shares_are_the_function_made_afresh(data):
    day_record._last_mw_shares[:] = None, None
    calls = []
    for _ in range(data.draw(st.integers(1, 6))):
        if calls and data.draw(st.booleans()):  # the last block's MW again, or one input changed
            site_mw, n = calls[-1]
            if data.draw(st.booleans()):
                k = data.draw(st.integers(0, 2))
                site_mw = site_mw[:k] + (data.draw(_site_mw(n))[k],) + site_mw[k + 1:]
        else:
            n = data.draw(st.integers(1, 4))
            site_mw = data.draw(_site_mw(n))
        calls.append((site_mw, n))
        before = day_record._last_mw_shares[1]
        got = days_mw_shares(site_mw, n)
        assert_same_bits(got, _fresh(site_mw, n), "the shares")
        assert not got.flags.writeable
        if len(calls) > 1 and _key(calls[-2]) == _key(calls[-1]):
            assert got is before  # (the same MW: the table made for the last block)


def _key(call):
    site_mw, n = call
    return b"".join(np.broadcast_to(np.asarray(v, dtype=float), (n,)).tobytes() for v in site_mw)


def test_a_change_in_one_days_mw_is_a_new_table():
    day_record._last_mw_shares[:] = None, None
    a = days_mw_shares((100.0, np.array([10.0, 20.0]), 30.0), 2)
    b = days_mw_shares((100.0, np.array([10.0, 25.0]), 30.0), 2)
    assert b is not a
    assert_same_bits(b, _fresh((100.0, np.array([10.0, 25.0]), 30.0), 2))
    c = days_mw_shares((100.0, np.array([10.0, 25.0]), -0.0), 2)  # (−0.0 against +0.0: other bits, made again)
    assert c is not b


def test_same_on_paths_fills_the_shares_on_every_path():
    day_record._last_mw_shares[:] = None, None
    record = DayRecord.__new__(DayRecord)
    for name in day_record.SAME_ON_PATHS:
        setattr(record, name, 0.0)
    record.site_mw = (100.0, np.array([10.0, 40.0, 0.0]), 20.0)
    for _ in range(2):  # (the second block: the last block's shares)
        table = record.same_on_paths(3, 4)
        shares = _fresh(record.site_mw, 3)
        assert_same_bits(table["site_mw_hosting_share"], np.repeat(shares[:, :1], 4, axis=1))
        assert_same_bits(table["site_mw_hpc_share"], np.repeat(shares[:, 1:], 4, axis=1))
        assert table["site_mw_hosting_share"].flags.writeable  # (the block's own table, filled)
    with pytest.raises(ValueError):
        days_mw_shares(record.site_mw, 3)[0, 0] = 1.0


_SPECIAL = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 5e-324, 1e308]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.data())
def test_a_per_day_amount_masked_compiled_is_numpys(n, paths, data):
    """A per-day amount ``(n,)`` (nonzero, NaN, ±0.0, subnormal; ±0.0 from some day on or not) masked from every day of
    the block, with a drawn alive mask: the compiled pass gives numpy's table byte for byte, or ``x`` itself where numpy
    keeps it; a float, a read-only or a strided amount goes through numpy either way."""
    x = np.array(data.draw(st.lists(st.sampled_from(_SPECIAL), min_size=n, max_size=n)))
    x[data.draw(st.integers(0, n)):] = data.draw(st.sampled_from([0.0, -0.0]))  # (±0.0 from some day on)
    alive = np.array(data.draw(st.lists(st.booleans(), min_size=paths, max_size=paths)))
    passes, masked_days_from = [], kernel.masked_days_from
    got = {}
    for compiled in (False, True):
        b = block.OpsBlock(first=10, n=n)
        b.stopped, b._alive_usd = alive, alive.astype(float)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(block._OPERATIONS_KERNEL, "loaded", lambda: kernel if compiled else None)
            mp.setattr(kernel, "masked_days_from", lambda x, j, m: passes.append(j) or masked_days_from(x, j, m))
            got[compiled] = [b._masked_from(x, j, (n, paths)) for j in range(n)]
    assert passes == list(range(n))  # (every day's mask compiled, none on numpy's route)
    for g, w in zip(got[True], got[False]):
        assert (g is x) == (w is x)
        assert_same_bits(g, w, "the masked amount")
