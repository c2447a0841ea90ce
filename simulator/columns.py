"""Days as columns: a block of days handed to a model written for one day.

A block's per-path arrays ``(n, …, paths)`` become ``(…, n·paths)`` columns, day-major (column
``j·paths + p`` is path ``p`` on the block's day ``j``). A model that is elementwise along the
path axis and reduces only over other axes (hours, cohorts) then gives each column exactly the
floats it gives that day alone: a reduction over an outer axis adds whole rows in order,
whatever the number of columns — except a one-path day, whose ``(k, 1)`` rows numpy sums
pairwise along the contiguous axis; with a block's columns they are added in order, as every
run of more than one path adds them.
"""
from __future__ import annotations

import numpy as np


def as_columns(x: np.ndarray) -> np.ndarray:
    """A block's ``(n, …, paths)`` array as ``(…, n·paths)`` columns, day-major (column ``j·paths + p``)."""
    n, paths = x.shape[0], x.shape[-1]
    return np.moveaxis(x, 0, -2).reshape(x.shape[1:-1] + (n * paths,))


def from_columns(y: np.ndarray, n: int) -> np.ndarray:
    """:func:`as_columns` undone: ``(…, n·paths)`` columns as ``(n, …, paths)``."""
    return np.moveaxis(y.reshape(y.shape[:-1] + (n, y.shape[-1] // n)), -2, 0)
