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

import math
import operator

from dataclasses import fields

import numpy as np

#: Most values of one of a dispatch call's arrays (rows × columns; rows the price's hours, or twice the
#: cohorts + 1 of the cumulative sums if more; 512 kB of floats): a block of many paths goes through a
#: model a few days at a time (a site's dispatch: two days at 1,000 paths on hourly prices, five on a
#: fixed price), so that its arrays stay in the processor's cache (measured: benchmarks/bench_site_block.py)
VALUES_PER_CALL = 65536


def as_columns(x: np.ndarray) -> np.ndarray:
    """A block's ``(n, …, paths)`` array as ``(…, n·paths)`` columns, day-major (column ``j·paths + p``),
    C-ordered (a copy unless ``n`` is 1).

    >>> as_columns(np.arange(12).reshape(2, 3, 2)).tolist()  # 2 days, 3 hours, 2 paths
    [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]
    """
    n, paths = x.shape[0], x.shape[-1]
    # C order: one path's columns as a strided view would have numpy sum their rows pairwise; the day axis
    # moved next to the paths by a plain transpose (np.moveaxis's checks cost more than a small copy)
    axes = (*range(1, x.ndim - 1), 0, x.ndim - 1)
    return np.ascontiguousarray(x.transpose(axes)).reshape(x.shape[1:-1] + (n * paths,))


def is_broadcast_zero(x: np.ndarray) -> bool:
    """Whether ``x`` is one +0.0 broadcast over all its axes (every stride 0, not empty, not a scalar): what
    :func:`simulator.fleet.price_trades` gives for a day's "nothing arrives or leaves", which a product or a
    copy would only repeat.

    >>> is_broadcast_zero(np.broadcast_to(0.0, (3, 4))), is_broadcast_zero(np.broadcast_to(-0.0, (3, 4)))
    (True, False)
    >>> is_broadcast_zero(np.zeros((3, 4))), is_broadcast_zero(np.broadcast_to(1.0, (2,)))
    (False, False)
    """
    if not x.ndim or not x.size or any(x.strides):
        return False
    v = x.item(0)  # a Python float: np.signbit of a numpy scalar costs ~1 µs, and this runs a few times a day
    return v == 0.0 and math.copysign(1.0, v) > 0.0


def from_columns(y: np.ndarray, n: int) -> np.ndarray:
    """:func:`as_columns` undone: ``(…, n·paths)`` columns as ``(n, …, paths)``."""
    return np.moveaxis(y.reshape(y.shape[:-1] + (n, y.shape[-1] // n)), -2, 0)


def fields_from_columns(record, n: int):
    """A dataclass ``record`` whose array fields are columns ``(…, n·paths)``, as the same kind of record
    with those fields ``(n, …, paths)`` (:func:`from_columns`; None fields kept)."""
    values = (getattr(record, name) for name in _names(type(record)))
    return type(record)(*[None if v is None else from_columns(v, n) for v in values])


class Rows:
    """Day after day of a dataclass ``record`` of a block: ``Rows(record)(j)`` is the same kind of record with
    each array field's row ``j`` (a view), each tuple field's rows, floats and None as they are. Which
    fields are arrays, tuples or neither is looked up once (the record's fields are not to be reassigned
    while it is in use).

    A day's record is made without the class's ``__init__`` (its fields written straight into a new
    instance's ``__dict__``, in field order: what the generated ``__init__`` would write, at a fraction of
    the cost of ~50 keyword arguments a day); a class with a ``__post_init__`` or ``__slots__`` goes through
    ``__init__``.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class R:
    ...     x: np.ndarray
    ...     y: float
    >>> Rows(R(np.arange(6).reshape(3, 2), 1.5))(2)
    R(x=array([4, 5]), y=1.5)
    """

    def __init__(self, record):
        self.kind, self.arrays, self.tuples = type(record), [], []
        for name in _names(self.kind):
            value = getattr(record, name)
            if isinstance(value, np.ndarray):
                self.arrays.append((name, value))
            elif isinstance(value, tuple):
                self.tuples.append((name, value))
        # every field in field order (the arrays' and tuples' values replaced each day: an update of a key
        # already there keeps its place)
        self._template = {name: getattr(record, name) for name in _names(self.kind)}
        self._array_names = tuple(name for name, _ in self.arrays)
        self._array_values = tuple(value for _, value in self.arrays)

    def __call__(self, j: int, extra: dict | None = None):
        """Day ``j`` of the record (``extra``: field values that replace the row's, e.g. the day's trades)."""
        values = dict(self._template)
        values.update(zip(self._array_names, map(operator.itemgetter(j), self._array_values)))
        if self.tuples:
            values.update({name: row(value, j) for name, value in self.tuples})
        if extra:
            values.update(extra)
        return stored(self.kind, values)


def stored(kind, values: dict):
    """An instance of dataclass ``kind`` holding ``values`` (every field by name, in field order): what
    ``kind(**values)`` gives, its fields written straight into a new instance when its generated ``__init__``
    only stores them (about a sixth of the cost for a record of dozens of fields); through ``__init__`` for a
    class with a ``__post_init__`` or ``__slots__``. The caller checks the names."""
    direct = _DIRECT.get(kind)
    if direct is None:
        direct = _DIRECT[kind] = not hasattr(kind, "__post_init__") and not hasattr(kind, "__slots__")
    if not direct:
        return kind(**values)
    out = object.__new__(kind)
    vars(out).update(values)
    return out


#: Whether :func:`stored` may write a dataclass's fields straight into an instance, by class.
_DIRECT: dict[type, bool] = {}


def _names(kind) -> tuple[str, ...]:
    """The field names of dataclass ``kind``, in order (looked up once per class: one record per day)."""
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


_NAMES: dict[type, tuple[str, ...]] = {}


def row(value, j: int):
    """Row ``j`` of a block field: an array's row, a tuple's rows, a float or None as it is."""
    if isinstance(value, np.ndarray):
        return value[j]
    if isinstance(value, tuple):
        return tuple(row(v, j) for v in value)
    return value


class RowOnRead:
    """A block day's field (a descriptor with ``__get__`` only, so the day's own attributes come first): on the first
    read, row ``j`` of the field of the same name of the block object ``whole``, where ``(whole, j)`` is the day's
    attribute ``key``; then kept in the day's own attributes (which also hide a class-level default)."""

    def __init__(self, name: str, key: str):
        self.name, self.key = name, key

    def __get__(self, day, owner=None):
        if day is None:
            return self
        whole, j = vars(day)[self.key]
        value = vars(day)[self.name] = row(getattr(whole, self.name), j)
        return value
