"""Series from CSV files: daily long tables ``date[,path],value`` and hourly ``datetime[,path],value``.

DESIGN.md, "Conventions and defaults": CSV inputs are long tables ``date[,path],value``; a
single series is broadcast to all paths; a series that does not cover the horizon is an
error. The reader is shared by every model with a ``csv`` variant (BTC price, fees, network
hashrate, power).

File format
-----------
- A header row is required. One column is named ``date`` (ISO ``YYYY-MM-DD``, a UTC day),
  an optional column ``path`` holds 0-based Monte Carlo path ids, and exactly one other
  column holds the values (its name is free: ``price_usd``, ``value``, ...).
- Without a ``path`` column the series applies to every path; with one, every simulated path
  id must have its own rows.
- Rows may come in any order; a (date, path) pair may appear once. Blank lines are ignored.
- Rows outside the simulated window are allowed (and ignored).

Hourly files (power prices, :func:`load_hourly_csv`) follow the same rules with a ``datetime``
column of UTC hours instead of ``date``.

Every problem raises :class:`~simulator.errors.InputError` at ``file:line:1`` where ``line``
is the 1-based line of the offending row (the header is line 1).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.units import HOURS_PER_DAY

_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    """A :class:`datetime.date` from a date, a datetime (its date) or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def read_raw(file: str | Path) -> pd.DataFrame:
    """All cells as stripped strings; row i of the frame is line i + 2 of the file."""
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except FileNotFoundError:
        raise InputError(file, 1, 1, "file not found") from None
    except IsADirectoryError:
        raise InputError(file, 1, 1, "is a directory; give the path of a CSV file") from None
    except PermissionError:
        raise InputError(file, 1, 1, "permission denied; give a CSV file you can read") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(file, 1, 1, f"not a readable CSV file ({exc})".replace("\n", " ")) from None
    raw = raw.apply(lambda c: c.fillna("").str.strip())
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def file_lines(frame: pd.DataFrame) -> np.ndarray:
    """1-based file lines of the frame's rows (header = line 1, no quoted newlines)."""
    return frame.index.to_numpy(dtype=np.int64) + 2


def nonblank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with at least one non-empty cell (blank lines dropped, their line numbers kept)."""
    return frame[(frame != "").any(axis=1)]


def parse_dates(cells: pd.Series, lines: np.ndarray, file: str | Path, what: str = "date") -> np.ndarray:
    """ISO dates as ``datetime64[D]``; the first bad cell raises at its line."""
    good = cells.str.fullmatch(_ISO_DATE)
    parsed = pd.to_datetime(cells.where(good), format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = bad[0]
        raise InputError(file, lines[i], 1, f"{what}: expected an ISO date YYYY-MM-DD, got {cells.iloc[i]!r}")
    return parsed.to_numpy().astype("datetime64[D]")


def parse_numbers(
    cells: pd.Series,
    lines: np.ndarray,
    file: str | Path,
    what: str,
    *,
    allow_empty: bool = False,
    minimum: float | None = None,
    strict: bool = False,
) -> np.ndarray:
    """Finite floats (empty cells NaN if ``allow_empty``); the first bad cell raises at its line.

    ``minimum`` bounds the values below (``> minimum`` if ``strict`` else ``>= minimum``).
    """
    values = pd.to_numeric(cells.where(cells != ""), errors="coerce").to_numpy(dtype=float)
    empty = (cells == "").to_numpy()
    bad = ~np.isfinite(values) & ~(empty & allow_empty)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        got = "an empty cell" if empty[i] else repr(cells.iloc[i])
        raise InputError(file, lines[i], 1, f"{what}: expected a finite number, got {got}")
    if minimum is not None:
        with np.errstate(invalid="ignore"):
            low = values <= minimum if strict else values < minimum
        if low.any():
            i = np.flatnonzero(low)[0]
            op = ">" if strict else ">="
            raise InputError(file, lines[i], 1, f"{what}: must be {op} {minimum:g}, got {cells.iloc[i]}")
    return values


@dataclass(frozen=True, eq=False)
class SeriesTable:
    """A parsed, validated series file; :meth:`window` cuts the simulated days out of it.

    Attributes
    ----------
    file : str
        The file, as given (used in error messages).
    value_name : str
        What the values are (``"btc_price"``, ``"fees"``), used in error messages.
    dates : ndarray of datetime64[D]
        One per row, sorted by (path, date).
    paths : ndarray of int64 or None
        Path id of each row; ``None`` for a single series broadcast to all paths.
    values : ndarray of float
        The values, in the unit the caller expects.
    lines : ndarray of int64
        1-based file line of each row.
    """

    file: str
    value_name: str
    dates: np.ndarray
    paths: np.ndarray | None
    values: np.ndarray
    lines: np.ndarray

    def window(self, start: dt.date, n_days: int, path_ids) -> np.ndarray:
        """Values of days ``start … start + n_days − 1`` for ``path_ids``, shape ``(n_days, paths)``.

        Raises
        ------
        InputError
            A requested path has no rows, or a day of the window has no value.
        """
        start = as_date(start)
        n_days = int(n_days)
        ids = np.asarray(path_ids, dtype=np.int64).reshape(-1)
        first = np.datetime64(start, "D")
        k = (self.dates - first).astype(np.int64)
        return gather_window(k, self.values, self.paths, n_days, ids, self.file, self.value_name,
                             lambda index, path: self._missing_day(start, n_days, index, path))

    def _missing_day(self, start: dt.date, n_days: int, day: int, path: int | None) -> None:
        date = np.datetime64(start, "D") + day
        end = start + dt.timedelta(days=n_days - 1)
        line = line_before(self.dates, self.lines, self.paths, path, date)
        on_path = "" if path is None else f" on path {path}"
        raise InputError(
            self.file, line, 1,
            f"{self.value_name}: no value for {date}{on_path}; the series must cover the horizon "
            f"{start.isoformat()} … {end.isoformat()}",
        )


def read_long_table(file, key: str, value_name: str, expected: str) -> tuple:
    """Read a long CSV with a ``key`` column (``date`` or ``datetime``), an optional ``path``
    column and exactly one value column; refuse anything else with ``expected`` in the message.

    Returns ``(rows, names, lowered names, value column name, 1-based file lines of the rows)``.
    """
    raw = read_raw(file)
    names = list(raw.columns)
    lowered = [n.lower() for n in names]
    if key not in lowered:
        raise InputError(file, 1, 1, f"{value_name}: no '{key}' column; expected {expected}")
    value_cols = [n for n, low in zip(names, lowered) if low not in (key, "path")]
    if len(value_cols) != 1 or len(names) != len(set(lowered)):
        raise InputError(
            file, 1, 1,
            f"{value_name}: expected exactly one value column besides {key} and path, "
            f"got columns {','.join(names)}; expected {expected}",
        )
    raw = nonblank_rows(raw)
    lines = file_lines(raw)
    if raw.empty:
        raise InputError(file, 1, 1, f"{value_name}: the file has no data rows")
    return raw, names, lowered, value_cols[0], lines


def load_series_csv(
    file: str | Path,
    value_name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
) -> SeriesTable:
    """Read and validate a ``date[,path],value`` file (see the module docstring).

    Parameters
    ----------
    file : str or Path
        The CSV file.
    value_name : str
        What the values are, for error messages.
    minimum, strict : float or None, bool
        Optional lower bound of the values (``> minimum`` if ``strict``, else ``>=``).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("date,path,fees_btc\\n2026-01-02,1,0.03\\n2026-01-01,0,0.02\\n"
    ...                 "2026-01-01,1,0.01\\n2026-01-02,0,0.04\\n")
    >>> table = load_series_csv(f.name, "fees")
    >>> table.window("2026-01-01", 2, [0, 1]).tolist()
    [[0.02, 0.01], [0.04, 0.03]]
    >>> os.remove(f.name)
    """
    raw, names, lowered, value_col, lines = read_long_table(
        file, "date", value_name, "a header row 'date,value' or 'date,path,value' (the value column may have any name)")
    dates = parse_dates(raw[names[lowered.index("date")]], lines, file)
    values = parse_numbers(raw[value_col], lines, file, value_name, minimum=minimum, strict=strict)
    dates, paths, values, lines = sort_rows(raw, names, lowered, lines, dates, values, file, value_name, str)
    return SeriesTable(str(file), value_name, dates, paths, values, lines)


def sort_rows(raw: pd.DataFrame, names: list, lowered: list, lines: np.ndarray, keys: np.ndarray, values: np.ndarray,
              file, value_name: str, show_key) -> tuple:
    """Read the optional ``path`` column, sort rows by (path, key) and refuse duplicates.

    Returns ``(keys, paths or None, values, lines)`` sorted; a duplicate (path, key) is an
    InputError at the later line, naming the earlier one (``show_key`` formats the key).
    """
    paths = None
    if "path" in lowered:
        cells = raw[names[lowered.index("path")]]
        ok = cells.str.fullmatch(r"\d+").to_numpy()
        if not ok.all():
            i = np.flatnonzero(~ok)[0]
            raise InputError(file, lines[i], 1, f"path: expected a 0-based integer path id, got {cells.iloc[i]!r}")
        paths = cells.astype(np.int64).to_numpy()
    order = np.lexsort((keys, paths)) if paths is not None else np.argsort(keys, kind="stable")
    keys, values, lines = keys[order], values[order], lines[order]
    if paths is not None:
        paths = paths[order]
    same = keys[1:] == keys[:-1]
    if paths is not None:
        same &= paths[1:] == paths[:-1]
    if same.any():
        i = int(np.flatnonzero(same)[0])
        a, b = sorted((int(lines[i]), int(lines[i + 1])))
        on_path = "" if paths is None else f" on path {paths[i]}"
        raise InputError(file, b, 1, f"{value_name}: {show_key(keys[i])}{on_path} is given twice (also on line {a})")
    return keys, paths, values, lines


def read_series_csv(
    file: str | Path,
    start: dt.date | str,
    n_days: int,
    path_ids,
    value_name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
) -> np.ndarray:
    """Days ``start … start + n_days − 1`` of a series file, shape ``(n_days, paths)``.

    Parameters
    ----------
    file : str or Path
        A long table ``date,value`` or ``date,path,value`` (header required).
    start : datetime.date or ISO str
        First day (day 0 of the simulation for a full-horizon read).
    n_days : int
        Number of days.
    path_ids : array of int
        Absolute path ids of the columns of the result.
    value_name : str
        What the values are, for error messages.
    minimum, strict : float or None, bool
        Optional lower bound on every value in the file.

    Returns
    -------
    ndarray of float, shape (n_days, len(path_ids))
        A single series is broadcast to all paths.

    Raises
    ------
    InputError
        Bad header, dates or numbers (at their line), duplicate rows, a missing path id, or a
        day of the window without a value ("the series must cover the horizon START … END").

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("date,price_usd\\n2026-01-01,90000\\n2026-01-02,91000\\n")
    >>> read_series_csv(f.name, "2026-01-01", 2, [0, 1, 2], "btc_price").tolist()
    [[90000.0, 90000.0, 90000.0], [91000.0, 91000.0, 91000.0]]
    >>> os.remove(f.name)
    """
    table = load_series_csv(file, value_name, minimum=minimum, strict=strict)
    return table.window(as_date(start), n_days, path_ids)


def line_before(stamps: np.ndarray, lines: np.ndarray, paths: np.ndarray | None, path: int | None, missing) -> int:
    """File line of the row a ``missing`` date or hour should go before, in the series of ``path``
    (or the series' last row; line 1 for an empty series): where an error about it points."""
    rows = np.ones(stamps.size, bool) if path is None else paths == path
    stamps, lines = stamps[rows], lines[rows]
    order = np.argsort(stamps, kind="stable")
    after = np.searchsorted(stamps[order], missing)
    return int(lines[order][min(after, stamps.size - 1)]) if stamps.size else 1


def gather_window(k: np.ndarray, values: np.ndarray, paths: np.ndarray | None, n_steps: int, ids: np.ndarray,
                  file: str, value_name: str, on_missing) -> np.ndarray:
    """Place rows at steps ``k`` (days or hours from the window start) into ``(n_steps, paths)``.

    A table without a path column is broadcast to every id; with one, every requested id
    needs rows. ``on_missing(step, path_or_None)`` raises for the first empty step (earliest
    step, then lowest path id).
    """
    inside = (k >= 0) & (k < n_steps)
    if paths is None:
        out = np.full(n_steps, np.nan)
        out[k[inside]] = values[inside]
        missing = np.flatnonzero(np.isnan(out))
        if missing.size:
            on_missing(int(missing[0]), None)
        return np.repeat(out[:, None], ids.size, axis=1)
    uniq, inverse = np.unique(ids, return_inverse=True)
    present = np.isin(uniq, paths)
    if not present.all():
        absent = uniq[~present]
        shown = ", ".join(str(p) for p in absent[:5]) + (" …" if absent.size > 5 else "")
        raise InputError(file, 1, 1, f"{value_name}: no rows for path {shown}; a per-path series needs rows for "
                                     f"every simulated path ({uniq.min()} … {uniq.max()}), or drop the path "
                                     f"column to use one series for all paths")
    pos = np.minimum(np.searchsorted(uniq, paths), uniq.size - 1)
    hit = inside & (uniq[pos] == paths)
    out = np.full((n_steps, uniq.size), np.nan)
    out[k[hit], pos[hit]] = values[hit]
    missing = np.argwhere(np.isnan(out))
    if missing.size:
        step, col = missing[0]
        on_missing(int(step), int(uniq[col]))
    return out[:, inverse]


# --------------------------------------------------------------------------- the block API over a CSV
def check_block(state_day: int, day0: int, n_days: int) -> None:
    """Guard of every market model's ``block``: blocks must follow each other."""
    if day0 != state_day:
        raise ValueError(f"block starts at day {day0} but the state is at day {state_day}")
    if n_days < 0:
        raise ValueError(f"n_days must be >= 0, got {n_days}")


@dataclass(frozen=True)
class CsvState:
    """State of a CSV-driven model: the next day and the parsed file."""

    day: int
    table: SeriesTable


class CsvDailyModel:
    """A daily series from a long CSV under the market models' block API.

    Subclasses set ``value_name`` (for messages), ``minimum`` and ``strict`` (values must
    exceed rather than reach ``minimum``). The file is parsed once, at ``start``; with
    ``horizon_days`` the whole horizon is checked there, so a gap is reported before the run.
    """

    value_name = "value"
    minimum: float | None = None
    strict = False

    def __init__(self, file: str | Path, start: dt.date | str, horizon_days: int | None = None) -> None:
        self.file, self.start_date, self.horizon_days = str(file), as_date(start), horizon_days

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(file={self.file!r}, start={self.start_date}, horizon_days={self.horizon_days})"

    def start(self, streams) -> CsvState:
        table = load_series_csv(self.file, self.value_name, minimum=self.minimum, strict=self.strict)
        if self.horizon_days is not None:
            table.window(self.start_date, self.horizon_days, streams.path_ids)
        return CsvState(0, table)

    def block(self, state: CsvState, day0: int, n_days: int, streams) -> tuple[np.ndarray, CsvState]:
        check_block(state.day, day0, n_days)
        values = state.table.window(self.start_date + dt.timedelta(days=day0), n_days, streams.path_ids)
        return values, CsvState(day0 + n_days, state.table)


# --------------------------------------------------------------------------- hourly files (power prices)


_ISO_HOUR = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<zone>Z|UTC|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
def _format_hour(hour: np.datetime64) -> str:
    return f"{str(np.datetime64(hour, 'm'))}Z"


def parse_utc_hours(cells: pd.Series, lines: np.ndarray, file: str | Path, what: str = "datetime") -> np.ndarray:
    """ISO datetimes on the hour, as UTC ``datetime64[h]``; the first bad cell raises at its line.

    Accepted: ``2026-01-01T00:00Z``, ``2026-01-01 00:00``, ``2026-01-01T00:00:00`` (no zone:
    UTC), and offsets ``+hh:mm``, ``+hhmm``, ``+hh`` (converted to UTC: ``2026-01-01T00:00-06:00``
    is ``2026-01-01T06:00Z``). The UTC time must be on the hour.

    Examples
    --------
    >>> cells = pd.Series(["2026-01-01T00:00Z", "2026-01-01 01:00", "2026-01-01T00:00-06:00"])
    >>> [str(h) for h in parse_utc_hours(cells, np.array([2, 3, 4]), "p.csv")]
    ['2026-01-01T00', '2026-01-01T01', '2026-01-01T06']
    """
    parts = cells.str.extract(f"^{_ISO_HOUR.pattern}$", flags=re.IGNORECASE)
    days = pd.to_datetime(parts["date"], format="%Y-%m-%d", errors="coerce")
    ints = {k: pd.to_numeric(parts[k], errors="coerce").fillna(0).to_numpy(np.int64) for k in ("hour", "minute", "second")}
    zone = parts["zone"].fillna("").str.upper()
    offset_min = np.zeros(len(cells), dtype=np.int64)
    numeric = zone.str.match(r"^[+-]").to_numpy()
    if numeric.any():
        digits = zone[numeric].str.replace(":", "", regex=False)
        sign = np.where(digits.str[0] == "-", -1, 1)
        hh = digits.str[1:3].astype(np.int64).to_numpy()
        mm = pd.to_numeric(digits.str[3:5].replace("", "0")).to_numpy(np.int64)
        offset_min[numeric] = sign * (hh * 60 + mm)
    bad = (
        parts["date"].isna().to_numpy() | days.isna().to_numpy()
        | (ints["hour"] > 23) | (ints["minute"] > 59) | (ints["second"] > 59)
    )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            file, lines[i], 1,
            f"{what}: expected an ISO date and hour such as 2026-01-01T00:00Z or 2026-01-01 00:00 "
            f"(UTC unless an offset such as -06:00 is given), got {cells.iloc[i]!r}",
        )
    minutes = (
        days.to_numpy().astype("datetime64[m]").astype(np.int64)
        + ints["hour"] * 60 + ints["minute"] - offset_min
    )
    off = (minutes % 60 != 0) | (ints["second"] != 0)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(file, lines[i], 1,
                         f"{what}: {cells.iloc[i]!r} is not on the hour in UTC; give one price per whole UTC hour")
    return (minutes // 60).astype("datetime64[h]")


@dataclass(frozen=True, eq=False)
class HourlyTable:
    """A parsed, validated hourly file; :meth:`window` cuts the simulated hours out of it.

    Attributes
    ----------
    file : str
        The file, as given (used in error messages).
    value_name : str
        What the values are, for error messages.
    hours : ndarray of datetime64[h]
        UTC hour of each row, sorted by (path, hour).
    paths : ndarray of int64 or None
        Path id of each row; ``None`` for a single series broadcast to all paths.
    values : ndarray of float
        The prices [USD/MWh].
    lines : ndarray of int64
        1-based file line of each row.
    """

    file: str
    value_name: str
    hours: np.ndarray
    paths: np.ndarray | None
    values: np.ndarray
    lines: np.ndarray

    def window(self, start: dt.date | str, n_days: int, path_ids) -> np.ndarray:
        """Prices of the hours of days ``start … start + n_days − 1``, ``(n_days, 24, paths)``.

        Raises
        ------
        InputError
            A requested path has no rows, or an hour of the window has no price (the error
            names the first missing hour and the line it should come before).
        """
        start = as_date(start)
        n_days = int(n_days)
        n_hours = n_days * HOURS_PER_DAY
        ids = np.asarray(path_ids, dtype=np.int64).reshape(-1)
        first = np.datetime64(start, "h")
        k = (self.hours - first).astype(np.int64)
        out = gather_window(k, self.values, self.paths, n_hours, ids, self.file, self.value_name,
                            lambda index, path: self._missing_hour(start, n_days, index, path))
        return out.reshape(n_days, HOURS_PER_DAY, ids.size)

    def _missing_hour(self, start: dt.date, n_days: int, index: int, path: int | None) -> None:
        hour = np.datetime64(start, "h") + index
        last = np.datetime64(start, "h") + (n_days * HOURS_PER_DAY - 1)
        line = line_before(self.hours, self.lines, self.paths, path, hour)
        on_path = "" if path is None else f" on path {path}"
        raise InputError(
            self.file, line, 1,
            f"{self.value_name}: no price for the hour {_format_hour(hour)}{on_path}; the file must give "
            f"every UTC hour of the horizon {_format_hour(np.datetime64(start, 'h'))} … {_format_hour(last)}",
        )


def load_hourly_csv(file: str | Path, value_name: str = "power_price") -> HourlyTable:
    """Read and validate an hourly ``datetime[,path],price_usd_per_mwh`` file.

    Format: a header row with a ``datetime`` column (see :func:`parse_utc_hours`), an optional
    ``path`` column (0-based path ids) and exactly one value column (any name, e.g.
    ``price_usd_per_mwh``) [USD/MWh, any finite number, negative allowed]. Rows in any
    order; blank lines ignored; rows outside the simulated window ignored; an hour (after
    conversion to UTC) may appear once per path. Errors are
    :class:`~simulator.errors.InputError` at the offending row's line (header = line 1).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("datetime,price_usd_per_mwh\\n2026-01-01T01:00Z,30\\n2026-01-01T00:00Z,25.5\\n")
    >>> table = load_hourly_csv(f.name)
    >>> [str(h) for h in table.hours], table.values.tolist(), table.lines.tolist()
    (['2026-01-01T00', '2026-01-01T01'], [25.5, 30.0], [3, 2])
    >>> os.remove(f.name)
    """
    raw, names, lowered, value_col, lines = read_long_table(
        file, "datetime", value_name, "a header row 'datetime,price_usd_per_mwh' or "
        "'datetime,path,price_usd_per_mwh' (the value column may have any name)")
    hours = parse_utc_hours(raw[names[lowered.index("datetime")]], lines, file)
    values = parse_numbers(raw[value_col], lines, file, value_name)
    hours, paths, values, lines = sort_rows(raw, names, lowered, lines, hours, values, file, value_name,
                                            lambda hour: f"the hour {_format_hour(hour)}")
    return HourlyTable(str(file), value_name, hours, paths, values, lines)
