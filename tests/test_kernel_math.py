"""The kernels' shared helpers (simulator.kernel_math) against numpy's own ufunc loops, bit for bit.

``maximum``/``minimum`` on every pair of special values (signed zeros, NaNs of both signs, infinities,
subnormals), against numpy's scalar loop and its SIMD loops (1 to 1,000 elements, array and scalar
operands): a tie gives the second operand and NaN propagates from either side. ``clip`` against
``np.clip`` with the bounds the kernels use, ``[0, 1]`` and a price floor and cap: ``x`` kept unless
it lies outside, so NaN and ``clip(−0.0, 0.0, 1.0) = −0.0`` are kept. A hypothesis test draws any doubles.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import kernel_math

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 1e308,
           1.0000000000000002, -1e-300]
BOUNDS = [(0.0, 1.0), (-250.0, 5000.0), (-0.0, 0.0), (0.0, -0.0)]


def _bits(x) -> bytes:
    return np.ascontiguousarray(x, dtype=float).tobytes()


@pytest.mark.parametrize("n", [1, 3, 8, 17, 64, 1000])  # numpy's scalar loop and its SIMD loops
def test_maximum_and_minimum_are_numpys_on_every_special_pair(n):
    a, b = np.array(SPECIAL).repeat(len(SPECIAL)), np.tile(np.array(SPECIAL), len(SPECIAL))
    for ours, theirs in ((kernel_math.maximum, np.maximum), (kernel_math.minimum, np.minimum)):
        for i in range(len(a)):
            x, y = np.full(n, a[i]), np.full(n, b[i])
            expected = [theirs(x, y), theirs(x, float(b[i])), theirs(float(a[i]), y)]
            got = np.full(n, ours(float(a[i]), float(b[i])))
            assert all(_bits(e) == _bits(got) for e in expected), (theirs.__name__, a[i], b[i], n)


def test_a_tie_of_signed_zeros_gives_the_second_operand():
    assert np.signbit(kernel_math.maximum(0.0, -0.0)) and not np.signbit(kernel_math.maximum(-0.0, 0.0))
    assert np.signbit(kernel_math.minimum(0.0, -0.0)) and not np.signbit(kernel_math.minimum(-0.0, 0.0))
    assert not np.signbit(np.maximum(np.full(64, -0.0), 0.0)).any()  # what the helpers copy
    assert np.signbit(np.maximum(np.zeros(64), -0.0)).all()


@pytest.mark.parametrize("low, high", BOUNDS)
@pytest.mark.parametrize("n", [1, 64])
def test_clip_is_numpys_on_every_special_value(low, high, n):
    for v in SPECIAL + [-250.0, 5000.0, 5000.000000000001, 0.5]:
        expected = np.clip(np.full(n, v), low, high)
        assert _bits(expected) == _bits(np.full(n, kernel_math.clip(v, low, high))), (v, low, high, n)
    assert np.signbit(kernel_math.clip(-0.0, 0.0, 1.0))


@settings(max_examples=300, deadline=None)
@given(st.floats(width=64), st.floats(width=64), st.sampled_from(BOUNDS))
def test_helpers_on_any_doubles(a, b, bounds):
    x, y = np.array([a] * 16), np.array([b] * 16)
    assert _bits(np.maximum(x, y)[:1]) == _bits([kernel_math.maximum(a, b)])
    assert _bits(np.minimum(x, y)[:1]) == _bits([kernel_math.minimum(a, b)])
    assert _bits(np.clip(x, *bounds)[:1]) == _bits([kernel_math.clip(a, *bounds)])
