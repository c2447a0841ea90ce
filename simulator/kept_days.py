"""A function of the day kept for the days from day 0 and sliced for each block (the power model's months and AR(1)
centres, :mod:`simulator.market.power`; the HPC projects' build capex, :mod:`simulator.hpc`): the values of an
elementwise function of the day depend on their own day alone, so a slice of the kept table holds the same values as
the block's own call. No arithmetic of its own (units: the function's)."""
from __future__ import annotations

import numpy as np


#: :func:`kept_days` keeps a function's values of the days from day 0 in multiples of this many days.
KEPT_CHUNK_DAYS = 4096


def kept_days(store: dict, name: str, compute, day0: int, n_days: int, writeable: bool = True) -> np.ndarray:
    """``compute(day0, n_days)`` of an elementwise function of the day (its values of days ``day0 …``), as a slice of
    its values of days ``0 … T − 1`` kept in ``store`` under ``name`` (a frozen model's ``__dict__``, where a cached
    property writes too), made again :data:`KEPT_CHUNK_DAYS` days longer when a later day is asked for (elementwise:
    the same values as the call's own); days before 0 are computed."""
    if day0 < 0 or n_days < 0:
        return compute(day0, n_days)
    kept = store.get(name)
    if kept is None or day0 + n_days > len(kept):
        kept = compute(0, KEPT_CHUNK_DAYS * -(-(day0 + n_days) // KEPT_CHUNK_DAYS))
        kept.flags.writeable = writeable
        store[name] = kept
    return kept[day0:day0 + n_days]
