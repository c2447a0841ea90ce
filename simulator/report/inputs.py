"""Read and check the directories a report is built from.

A run directory is what ``hashfleet run --out DIR`` writes (DESIGN.md, "Outputs"):
``summary.json``, ``daily.parquet``, ``daily_quantiles.parquet`` and ``monthly.parquet``.
A sweep directory holds ``sweep.parquet`` (one row per grid point: a column per swept dotted
key, and per metric its mean ``{metric}`` and ``{metric}_p5``, ``_p50``, ``_p95``); a compare
directory holds ``compare.parquet`` (one row per company: ``company`` and numeric metric
columns). Anything else is bad input, reported as ``path:line:col: message``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pandas as pd

from simulator.errors import InputError
from simulator.metrics import ALL_METRICS

RUN_FILES = ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet")
#: Statistic suffixes of a metric's columns in a sweep table.
STAT_SUFFIXES = ("_p5", "_p50", "_p95", "_se", "_defined_paths")
#: Bookkeeping columns a sweep table may carry that are neither swept keys nor metrics.
SWEEP_BOOKKEEPING = frozenset({"point", "point_id", "index", "status", "error", "attempts", "elapsed_s",
                               "scenario", "scenario_sha256", "version", "paths", "seed", "file"})


@dataclass(frozen=True)
class RunData:
    """One run directory's contents."""

    run_dir: str
    summary: dict
    daily: pd.DataFrame
    daily_quantiles: pd.DataFrame
    monthly: pd.DataFrame


@dataclass(frozen=True)
class SweepData:
    """A sweep's gathered table and which of its columns are swept keys."""

    sweep_dir: str
    table: pd.DataFrame
    keys: tuple[str, ...]


@dataclass(frozen=True)
class CompareData:
    """A compare's table: one row per company."""

    compare_dir: str
    table: pd.DataFrame


def _directory(path: str, what: str, hint: str) -> str:
    if not os.path.exists(path):
        raise InputError(path, 1, 1, f"no such {what} directory; {hint}")
    if not os.path.isdir(path):
        raise InputError(path, 1, 1, f"not a directory; {hint}")
    return path


def _parquet(path: str, required: tuple[str, ...] = ()) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(path, 1, 1, f"cannot read this Parquet file ({type(exc).__name__}: {exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(path, 1, 1, f"missing column(s) {', '.join(missing)}")
    return frame


def _summary(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            summary = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, 1, 1, f"cannot read: {exc}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("metrics"), dict):
        raise InputError(path, 1, 1, "not a hashfleet summary: expected an object with a \"metrics\" object")
    for name, stats in summary["metrics"].items():
        if not isinstance(stats, dict) or not {"mean", "p5", "p50", "p95"} <= set(stats):
            raise InputError(path, 1, 1, f"metric {name!r}: expected mean, p5, p50 and p95")
    return summary


def load_run(run_dir: str) -> RunData:
    """Read a run directory, or raise :class:`InputError` saying what is missing."""
    hint = "give the --out directory of `hashfleet run`"
    _directory(run_dir, "run", hint)
    missing = [f for f in RUN_FILES if not os.path.isfile(os.path.join(run_dir, f))]
    if missing:
        raise InputError(run_dir, 1, 1, f"not a run directory: {', '.join(missing)} missing ({hint})")
    join = lambda name: os.path.join(run_dir, name)  # noqa: E731
    return RunData(run_dir=run_dir, summary=_summary(join("summary.json")),
                   daily=_parquet(join("daily.parquet"), ("path", "date")),
                   daily_quantiles=_parquet(join("daily_quantiles.parquet"), ("date",)),
                   monthly=_parquet(join("monthly.parquet"), ("path", "month", "btc_mined")))


def metric_base(column: str, columns=()) -> str:
    """The metric a column belongs to: ``x_p95`` -> ``x`` when ``x`` is a registered metric or among
    ``columns``; otherwise the column itself."""
    for suffix in STAT_SUFFIXES:
        base = column[: -len(suffix)]
        if column.endswith(suffix) and (base in ALL_METRICS or base in columns):
            return base
    return column


def sweep_keys(table: pd.DataFrame) -> tuple[str, ...]:
    """The swept keys of a sweep table, in column order.

    Columns named like a scenario key (dotted or indexed: ``market.btc_price.drift_annual``,
    ``fleet[0].units``) are swept keys; so is any other column that is neither a metric (a
    registered one, or one that comes with its own ``_p5``/``_p50``/``_p95`` columns), a
    statistic of one, nor bookkeeping.
    """
    columns = set(table.columns)
    metrics = set(ALL_METRICS) | {c for c in columns if f"{c}_p50" in columns or f"{c}_p5" in columns}
    keys = []
    for column in table.columns:
        if "." in column or "[" in column:
            keys.append(column)
        elif metric_base(column, metrics) not in metrics and column not in SWEEP_BOOKKEEPING:
            keys.append(column)
    return tuple(keys)


def load_sweep(sweep_dir: str) -> SweepData:
    """Read ``SWEEP_DIR/sweep.parquet``, or raise :class:`InputError`."""
    _directory(sweep_dir, "sweep", "give the --out directory of `hashfleet sweep`")
    path = os.path.join(sweep_dir, "sweep.parquet")
    if not os.path.isfile(path):
        raise InputError(sweep_dir, 1, 1, "not a sweep directory: sweep.parquet missing")
    table = _parquet(path)
    keys = sweep_keys(table)
    if not keys:
        raise InputError(path, 1, 1, "no swept-key column (expected one column per swept dotted key)")
    if len(table) == 0:
        raise InputError(path, 1, 1, "no grid points")
    return SweepData(sweep_dir=sweep_dir, table=table, keys=keys)


def load_compare(compare_dir: str) -> CompareData:
    """Read ``COMPARE_DIR/compare.parquet``, or raise :class:`InputError`."""
    _directory(compare_dir, "compare", "give the --out directory of `hashfleet compare`")
    path = os.path.join(compare_dir, "compare.parquet")
    if not os.path.isfile(path):
        raise InputError(compare_dir, 1, 1, "not a compare directory: compare.parquet missing")
    table = _parquet(path, ("company",))
    if len(table) == 0:
        raise InputError(path, 1, 1, "no companies")
    return CompareData(compare_dir=compare_dir, table=table)
