"""ERCOT's hourly real-time prices for 2023–2024, shipped in ``simulator/data/power_history/``.

The two series the shipped power profiles are matched to (issue 17): the hub average
``HB_HUBAVG`` (``profile: ercot_hub``) and the West hub ``HB_WEST`` (``profile: ercot_west``),
each the time-weighted hourly mean of ERCOT's four 15-minute real-time settlement point
prices of the hour [USD/MWh] (ERCOT report NP6-785-ER, "Historical RTM Load Zone and Hub
Prices"), every hour of 2023 and 2024 in Central Standard Time: 17,544 hours from
2023-01-01T06:00Z (00:00 CST) to 2025-01-01T05:00Z. Where the copy was read, and how it was
checked, is in ``simulator/data/power_history/SOURCES.md``.

:func:`ercot_statistics` measures a series by :func:`simulator.market.power_fit.power_statistics`
(the five statistics of issue 17, time-weighted, hours UTC): these are the published figures
``simulator/data/power_profiles/*.yaml`` record as ``value`` and ``tests/test_power.py`` checks
the profiles against. ``tools/ercot_stats.py`` prints them and refits the profiles.
"""
from __future__ import annotations

from importlib.resources import as_file, files

import numpy as np

from simulator.market.power_fit import power_statistics
from simulator.market.series_csv import load_hourly_csv

#: Profile name → the shipped file of the series it is matched to.
SERIES_FILES = {"ercot_hub": "ercot_hb_hubavg_rt_2023_2024.csv", "ercot_west": "ercot_hb_west_rt_2023_2024.csv"}
#: Settlement point of each series (ERCOT's names).
SETTLEMENT_POINTS = {"ercot_hub": "HB_HUBAVG", "ercot_west": "HB_WEST"}
#: The first hour (UTC) and the number of hours of every series: 2023-2024 in CST.
FIRST_HOUR_UTC = np.datetime64("2023-01-01T06", "h")
N_HOURS = 17_544


def load_ercot_history(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(prices_usd_per_mwh, hours_utc)`` of the series of profile ``name``, checked complete.

    Examples
    --------
    >>> prices, hours = load_ercot_history("ercot_hub")
    >>> prices.shape, str(hours[0]), str(hours[-1])
    ((17544,), '2023-01-01T06', '2025-01-01T05')
    """
    with as_file(files("simulator") / "data" / "power_history" / SERIES_FILES[name]) as path:
        table = load_hourly_csv(path)
    expected = FIRST_HOUR_UTC + np.arange(N_HOURS)
    if table.paths is not None or not np.array_equal(table.hours, expected):
        raise ValueError(f"{SERIES_FILES[name]}: expected the {N_HOURS} consecutive hours from {FIRST_HOUR_UTC}Z")
    return table.values.astype(float), table.hours


def ercot_statistics(name: str) -> dict[str, float]:
    """The five statistics of issue 17 (:func:`~simulator.market.power_fit.power_statistics`)
    of the 2023–2024 series of profile ``name``, pooled over both years."""
    return power_statistics(*load_ercot_history(name))
