"""Daily Bitcoin history: price, network hashrate, fees, subsidy and block counts.

The package ships Coin Metrics Community Data (CC BY-NC 4.0, attribution "Coin Metrics";
see ``simulator/data/coinmetrics/NOTICE.md``) as ``simulator/data/coinmetrics/btc_daily.csv``.
Because of the licence's non-commercial term, commercial users supply their own file with
the same columns (``--history FILE`` / ``history_csv:``). ``backtest``, ``calibrate`` and the
``bootstrap`` price model read the history; nothing else does.

Columns (all float, NaN where the source has no value):

=================  ===========================================================================
``price_usd``      USD per BTC at the day's close (00:00 UTC of the next day)
``hashrate_ths``   mean network hashrate over the day [TH/s]
``fees_btc``       total fees paid to miners that day, all blocks [BTC]
``subsidy_btc``    new BTC issued that day (block subsidies) [BTC]
``blocks``         blocks mined that day
=================  ===========================================================================
"""
from __future__ import annotations

import functools
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.market.series_csv import file_lines, nonblank_rows, read_raw, parse_dates, parse_numbers

#: Value columns of a history file, in order (the file also has ``date``).
HISTORY_COLUMNS: tuple[str, ...] = ("price_usd", "hashrate_ths", "fees_btc", "subsidy_btc", "blocks")

#: Name of the shipped file, as shown in error messages and ``DataFrame.attrs["file"]``.
SHIPPED_HISTORY = "simulator/data/coinmetrics/btc_daily.csv"


def _parse(file: str | Path, shown: str) -> pd.DataFrame:
    raw = read_raw(file)
    need = ("date",) + HISTORY_COLUMNS
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputError(
            shown, 1, 1,
            f"history: missing column(s) {', '.join(missing)}; expected a header "
            f"'{','.join(need)}' (empty cells allowed)",
        )
    raw = nonblank_rows(raw[list(need)])
    lines = file_lines(raw)
    if raw.empty:
        raise InputError(shown, 1, 1, "history: the file has no data rows")
    dates = parse_dates(raw["date"], lines, shown)
    data = {
        c: parse_numbers(raw[c], lines, shown, c, allow_empty=True, minimum=0.0) for c in HISTORY_COLUMNS
    }
    order = np.argsort(dates, kind="stable")
    dup = np.flatnonzero(dates[order][1:] == dates[order][:-1])
    if dup.size:
        i = dup[0]
        a, b = sorted((int(lines[order][i]), int(lines[order][i + 1])))
        raise InputError(shown, b, 1, f"history: {dates[order][i]} is given twice (also on line {a})")
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="date").astype("datetime64[ns]"))
    frame = frame.iloc[order]
    frame.attrs["file"] = shown
    frame.attrs["lines"] = tuple(int(n) for n in lines[order])  # file line of each row (errors cite it)
    return frame


@functools.lru_cache(maxsize=1)
def _shipped() -> pd.DataFrame:
    resource = files("simulator") / "data" / "coinmetrics" / "btc_daily.csv"
    with as_file(resource) as path:
        return _parse(path, SHIPPED_HISTORY)


def load_history(path: str | Path | None = None) -> pd.DataFrame:
    """The daily history as a DataFrame indexed by ``date`` (a ``DatetimeIndex``, UTC days).

    Parameters
    ----------
    path : str or Path, optional
        A user file with columns ``date,price_usd,hashrate_ths,fees_btc,subsidy_btc,blocks``
        (extra columns are ignored, empty cells become NaN). ``None`` reads the shipped Coin
        Metrics data (CC BY-NC 4.0: non-commercial use only).

    Returns
    -------
    pandas.DataFrame
        Float columns :data:`HISTORY_COLUMNS`, sorted by date; ``attrs["file"]`` names the
        source for error messages. Each call returns a fresh copy.

    Raises
    ------
    InputError
        Missing columns (naming the expected header), a bad date or number (at its line),
        a negative value, or a date given twice.

    Examples
    --------
    >>> h = load_history()
    >>> list(h.columns)
    ['price_usd', 'hashrate_ths', 'fees_btc', 'subsidy_btc', 'blocks']
    >>> round(float(h.loc["2024-04-20", "fees_btc"]), 2)  # halving day, Runes launch
    1206.47
    """
    if path is None:
        frame = _shipped().copy()
        frame.attrs["file"] = SHIPPED_HISTORY
        return frame
    return _parse(path, str(path))
