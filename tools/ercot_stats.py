"""ERCOT 2023–2024 real-time statistics from the shipped hourly series, and the profiles' refit.

Not part of the package. Reads ``simulator/data/power_history/ercot_hb_*_rt_2023_2024.csv``
(ERCOT report NP6-785-ER, hourly means of the 15-minute real-time settlement point prices of
HB_HUBAVG and HB_WEST, every hour of 2023 and 2024 in CST; see SOURCES.md there) and prints,
for each profile, the five statistics of issue 17 exactly as
:func:`simulator.market.power_fit.power_statistics` defines them, per year and pooled over
the two years. The pooled figures are the published ``value`` of
``simulator/data/power_profiles/*.yaml`` (``targets``).

With ``--fit`` it also fits the index model to each series with
:func:`simulator.market.power_fit.fit_index_model` (the fit ``hashfleet calibrate --power``
runs; the CLI wants whole UTC days, these files hold ERCOT's CST days, so the fit is called
directly on all 17,544 hours), prints the fitted model's statistics (``paths`` paths × 365
days from 2026-01-01, as ``tests/test_power.py`` measures them) beside the data's, and the
``parameters`` / ``shape`` / ``spike_profile`` / ``negative_profile`` blocks of the profile.

    .venv/bin/python tools/ercot_stats.py
    .venv/bin/python tools/ercot_stats.py --fit
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulator.market.ercot_history import SERIES_FILES, SETTLEMENT_POINTS, load_ercot_history  # noqa: E402
from simulator.market.power_fit import STATISTICS, fit_index_model, power_statistics, simulate_statistics  # noqa: E402

#: The calendar years of the series (in CST, ERCOT's standard time).
YEARS = (2023, 2024)
#: Central Standard Time is UTC − 6 h: a CST calendar year starts at 06:00Z.
CST_OFFSET = np.timedelta64(6, "h")


def year_statistics(name: str) -> dict[str, dict[str, float]]:
    """Column label → statistics: each CST calendar year, then both years pooled."""
    prices, hours = load_ercot_history(name)
    year = (hours - CST_OFFSET).astype("datetime64[Y]").astype(int) + 1970
    out = {str(y): power_statistics(prices[year == y], hours[year == y]) for y in YEARS}
    out["2023-2024"] = power_statistics(prices, hours)
    return out


def print_statistics(name: str) -> None:
    """The statistics of profile ``name``'s series, one column a year and one for both."""
    columns = year_statistics(name)
    print(f"\n{name}: {SETTLEMENT_POINTS[name]} real-time, {SERIES_FILES[name]}")
    print(f"{'statistic':26s} {'unit':9s}" + "".join(f"{label:>12s}" for label in columns))
    for key, unit in STATISTICS.items():
        print(f"{key:26s} {unit:9s}" + "".join(f"{stats[key]:12.6g}" for stats in columns.values()))


def _numbers(values) -> str:
    """A profile table's factors as a flow-style YAML list, 3 significant digits (as the profiles hold them)."""
    return "[" + ", ".join(f"{float(v):.3g}" for v in values) + "]"


def print_fit(name: str, paths: int, seed: int) -> None:
    """The index model fitted to ``name``'s series: its statistics beside the data's, then the profile blocks."""
    prices, hours = load_ercot_history(name)
    fit = fit_index_model(prices, hours)
    data = power_statistics(prices, hours)
    model = simulate_statistics(fit.model(dt.date(2026, 1, 1)), 365, paths, seed)
    print(f"\n{name}: fitted index model ({paths} paths x 365 days) vs the data")
    for key in STATISTICS:
        print(f"  {key:26s} model {model[key]:10.5g}   data {data[key]:10.5g}   "
              f"ratio {model[key] / data[key]:.4f}")
    print("parameters:")
    for key, value in fit.parameters.items():
        print(f"  {key}: {float(value):.6g}")
    for table, factors in (("shape", fit.shape_factors), ("spike_profile", fit.spike_factors),
                           ("negative_profile", fit.negative_factors)):
        print(f"{table}:\n  hour_utc: {_numbers(factors[0])}\n  month: {_numbers(factors[1])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="also fit the index model and print the profile blocks")
    parser.add_argument("--paths", type=int, default=200, help="simulated paths for the fitted model's statistics")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    for name in SERIES_FILES:
        print_statistics(name)
        if args.fit:
            print_fit(name, args.paths, args.seed)


if __name__ == "__main__":
    main()
