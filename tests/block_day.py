"""A day of an operating block as one record: the tests' reference of a day whole (moved here from
``simulator.day_record`` and ``simulator.block.OpsBlock.day`` in session 37: the engine's daily actors read the
block's rows and the day's trades instead, so only the tests' references make one)."""
from __future__ import annotations

import operator
from dataclasses import fields

import numpy as np

from simulator.columns import RowOnRead
from simulator.day_record import DayRecord, energised_ehs
from simulator.fleet import Trades


class BlockDay(DayRecord):
    """Day ``j`` of a block's :class:`DayRecord` (:func:`block_day`): the day's trades set, every other field read from
    the block's record the first time it is asked for, then kept (:class:`simulator.columns.RowOnRead`): the value
    :class:`simulator.columns.Rows` would give (an array field's row ``j``, a tuple's rows, a float or None as it is) of
    the record's field as it is then. The record's fields are final once the company has booked the day; a stop
    replaces them with masked arrays, so a day taken before it is to be taken again
    (:meth:`simulator.block.OpsBlock.stop`)."""

    @classmethod
    def of(cls, record: DayRecord, j: int, trades: Trades, alive_usd: np.ndarray | None = None) -> "BlockDay":
        """Day ``j`` of ``record`` with the day's ``trades`` (:func:`simulator.fleet.price_trades`), without ``__init__``,
        and :attr:`energised_ehs`: the installed fleet × ``alive_usd`` (the company's alive mask as 1.0 and 0.0, None
        where no path has stopped; :func:`simulator.day_record.energised_ehs`)."""
        day = object.__new__(cls)
        values = vars(day)
        values.update(zip(_TRADE_FIELDS, _trade_values(trades)))
        values["energised_ehs"] = energised_ehs(trades, alive_usd)
        values["_block_record"] = (record, j)
        return day

    energised_ehs: np.ndarray
    """The energised fleet at the end of the day ``(paths,)`` [EH/s]: the installed nameplate where the company operates,
    0 where it has stopped (:meth:`simulator.block.OpsBlock.energised_ehs`)."""


def block_day(b, day: int) -> BlockDay:
    """Day ``day`` of operating block ``b`` (:class:`simulator.block.OpsBlock`) as its record, its trades set, masked as
    the block is (:class:`BlockDay`)."""
    j = day - b.first
    return BlockDay.of(b.record, j, b.trades[j], b._alive_usd)


_TRADE_FIELDS = tuple(f.name for f in fields(Trades))
_trade_values = operator.attrgetter(*_TRADE_FIELDS)
for _name in (f.name for f in fields(DayRecord) if f.name not in _TRADE_FIELDS):  # (BlockDay's fields read when asked)
    setattr(BlockDay, _name, RowOnRead(_name, "_block_record"))
del _name
