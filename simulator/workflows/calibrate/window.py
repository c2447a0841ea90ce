"""The calibration window of ``hashfleet calibrate``: the days ``from … to`` checked against the
history (:func:`select_window`), with the prior days the network fit's lags need and the days
its holdout keeps back."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from simulator import units
from simulator.errors import InputError
from simulator.workflows.calibrate.network import DEFAULT_MAX_LAG_DAYS

#: Default window: the last 4 × 365 days of the history (one halving cycle; starts after the
#: 2021 mining ban in China, whose hashrate exodus was not a response to hashprice).
DEFAULT_WINDOW_YEARS = 4
#: Days at the end of the window held out of the network fit to measure its forecast error.
DEFAULT_HOLDOUT_DAYS = 180
#: Fewest days the network fit (window minus holdout) may have, beyond the longest lag.
MIN_FIT_DAYS = 180


@dataclass(frozen=True)
class Window:
    """The calibration window ``from … to`` (inclusive) and the history it reads."""

    history: pd.DataFrame
    from_date: dt.date
    to_date: dt.date
    holdout_days: int
    max_lag_days: int

    @property
    def source(self) -> str:
        return str(self.history.attrs.get("file", "history"))

    @property
    def days(self) -> int:
        return (self.to_date - self.from_date).days + 1

    def column(self, name: str, *, prior_days: int = 0, positive: bool = True) -> pd.Series:
        """The window's values of ``name`` (and ``prior_days`` before it); an
        :class:`InputError` names the first day missing or not > 0."""
        begin = self.from_date - dt.timedelta(days=prior_days)
        days = pd.date_range(begin, self.to_date, freq="D")
        values = self.history[name].reindex(days)
        bad = values.isna() | ((values <= 0) if positive else (values < 0))
        if bad.any():
            day = values.index[bad.to_numpy()][0].date()
            need = "a positive" if positive else "a"
            raise InputError(self.source, 1, 1,
                             f"history: no {need} {name} value for {day}, which the window {self.from_date} … "
                             f"{self.to_date} needs; fill the gap or choose another --from/--to")
        return values


def _option_date(option: str, value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{option} {value}", 1, 1, "expected an ISO date YYYY-MM-DD, e.g. 2022-01-01") from None


def select_window(history: pd.DataFrame, from_date=None, to_date=None, *, holdout_days: int = DEFAULT_HOLDOUT_DAYS,
                  max_lag_days: int = DEFAULT_MAX_LAG_DAYS) -> Window:
    """Check the window against the history and return it.

    Defaults: ``to`` = the last day with every column, ``from`` = ``to`` − 4 × 365 days
    (:data:`DEFAULT_WINDOW_YEARS`). The history must also cover ``max_lag_days + 1`` days of
    hashprice before ``from``, and the window minus the holdout must keep at least
    ``max_lag_days + MIN_FIT_DAYS`` days.

    Raises
    ------
    InputError
        A bad date (at ``--from DATE:1:1``), ``from`` not before ``to``, a holdout that leaves
        too little, or a window outside the history (at ``HISTORY:1:1``).
    """
    source = str(history.attrs.get("file", "history"))
    start, end = _option_date("--from", from_date), _option_date("--to", to_date)
    complete = history.dropna()
    if complete.empty:
        raise InputError(source, 1, 1, "history: no day has every column (price_usd, hashrate_ths, fees_btc, "
                                       "subsidy_btc, blocks)")
    first, last = complete.index.min().date(), complete.index.max().date()
    if end is None:
        end = last
    if start is None:
        start = max(end - dt.timedelta(days=DEFAULT_WINDOW_YEARS * units.DAYS_PER_YEAR),
                    first + dt.timedelta(days=max_lag_days + 1))
    earliest = first + dt.timedelta(days=max_lag_days + 1)
    given = [d for d in (from_date and start, to_date and end) if d]
    if start >= end and len(given) == 2 and earliest <= min(given) and max(given) <= last:
        raise InputError(f"--from {start}", 1, 1, f"must be before --to ({end})")
    if start < earliest or end > last or start >= end:
        raise InputError(source, 1, 1,
                         f"history: the window {start} … {end} is outside the history, which covers {first} … {last} "
                         f"({max_lag_days + 1} days before --from are needed for lags up to {max_lag_days} days); "
                         f"choose --from on or after {earliest} and --to on or before {last}")
    window = Window(history, start, end, int(holdout_days), int(max_lag_days))
    need = max_lag_days + MIN_FIT_DAYS
    if window.days - holdout_days < need:
        where = f"--holdout-days {holdout_days}" if holdout_days and window.days >= need else f"--from {start}"
        raise InputError(where, 1, 1,
                         f"the window {start} … {end} has {window.days} days; the network fit needs at least {need} "
                         f"days after the holdout ({holdout_days}): widen --from/--to or shorten --holdout-days")
    return window
