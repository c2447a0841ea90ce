"""Running a library call with a lazy kernel held in numpy and then forced, for the kernel tests."""
from __future__ import annotations

import numpy as np


def both_forms(monkeypatch, lazy, module, spied: str, fn):
    """``(fn() in numpy, fn() compiled, calls of module.spied made by the compiled side)``: ``lazy``
    (a :class:`simulator.lazy_kernel.LazyKernel`) patched to return None, then ``module``."""
    calls = []
    compiled = getattr(module, spied)
    monkeypatch.setattr(module, spied, lambda *a: calls.append(1) or compiled(*a))
    out = []
    for kernel in (None, module):
        monkeypatch.setattr(lazy, "for_call", lambda *a, _k=kernel, **kw: _k)
        out.append(fn())
    return out[0], out[1], len(calls)


def assert_same_bits(a, b, what=""):
    """Equal arrays byte for byte (``-0.0`` and ``0.0`` differ, NaNs compare by their bits); object
    arrays (dates, names) by value."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype == object:
        assert a.tolist() == b.tolist(), what
    else:
        assert a.tobytes() == b.tobytes(), f"{what}: {a.reshape(-1)[:4]} vs {b.reshape(-1)[:4]}"
