"""``hashfleet calibrate --power FILE``: fit the hourly index model to a user's hourly prices.

Reads an hourly price file (:func:`simulator.market.series_csv.load_hourly_csv`: a single
series, ``datetime,price_usd_per_mwh``), fits the index model by moments
(:func:`simulator.market.power_fit.fit_index_model`), simulates the fitted model over the
file's own calendar days (``paths`` paths) and sets the five statistics of
:mod:`simulator.market.power_fit` for the data beside the model's. The fitted model is
written as a power profile (the format of the shipped ``ercot_hub`` / ``ercot_west``,
:mod:`simulator.market.power_profiles`) that a scenario loads with ``profile: FILE.yaml``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator import atomic
from simulator.errors import InputError
from simulator.market.power_fit import STATISTICS, IndexFit, fit_index_model, power_statistics, simulate_statistics
from simulator.market.series_csv import load_hourly_csv
from simulator.units import HOURS_PER_DAY

#: Columns of :meth:`PowerCalibration.rows`.
ROW_COLUMNS = ("statistic", "unit", "data", "model")


@dataclass(frozen=True)
class PowerCalibration:
    """The fit of one hourly price file: ``fit``, the statistics of the data and of the fitted
    model (``paths`` simulated paths over the same days), the file and its first day."""

    file: str
    start: np.datetime64
    n_days: int
    fit: IndexFit
    data: dict
    model: dict
    paths: int

    def rows(self) -> list[dict]:
        """One row per statistic, then one per fitted scalar parameter (``data`` empty)."""
        rows = [{"statistic": k, "unit": unit, "data": self.data[k], "model": self.model[k]}
                for k, unit in STATISTICS.items()]
        rows += [{"statistic": f"fitted {k}", "unit": "", "data": "", "model": v}
                 for k, v in self.fit.parameters.items()]
        return rows

    def profile_text(self) -> str:
        """The fitted model as a power-profile YAML document."""
        def numbers(values) -> str:
            return "[" + ", ".join(f"{float(v):.6g}" for v in values) + "]"

        lines = [f"# Fitted by `hashfleet calibrate --power {self.file}` to {self.n_days} days of hourly prices",
                 f"# from {self.start.astype('datetime64[D]')} (UTC). Load it with `profile: <this file>`.",
                 "description: fitted to an hourly price file", "parameters:"]
        lines += [f"  {k}: {float(v):.6g}" for k, v in self.fit.parameters.items()]
        for table, factors in (("shape", self.fit.shape_factors), ("spike_profile", self.fit.spike_factors),
                               ("negative_profile", self.fit.negative_factors)):
            lines += [f"{table}:", f"  hour_utc: {numbers(factors[0])}", f"  month: {numbers(factors[1])}"]
        lines.append("targets:")
        for k in STATISTICS:
            lines += [f"  {k}:", f"    value: {self.data[k]:.6g}", f"    basis: the statistic of {self.file}",
                      f"    source: {self.file}"]
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike) -> None:
        """Write :meth:`profile_text` atomically (:mod:`simulator.atomic`: a temporary file beside
        ``path``, renamed; permissions from the umask)."""
        atomic.write_text(path, self.profile_text())


def calibrate_power(file: str | os.PathLike, *, paths: int = 200, seed: int = 17) -> PowerCalibration:
    """Fit the index model to the hourly prices of ``file`` and compare their statistics.

    Raises
    ------
    InputError
        The file is unreadable, has a ``path`` column, does not cover whole consecutive UTC
        days, or has no ordinary hour to fit the base to.
    """
    table = load_hourly_csv(file)
    if table.paths is not None:
        raise InputError(str(file), int(table.lines[0]), 1, "power_price: give one series (no path column) to fit")
    first = table.hours[0].astype("datetime64[D]")
    n_days = int((table.hours[-1].astype("datetime64[D]") - first).astype(int)) + 1
    prices = table.window(first.astype(object), n_days, [0]).reshape(-1)  # every hour, or the missing one's line
    hours = np.datetime64(first, "h") + np.arange(n_days * HOURS_PER_DAY)
    try:
        fit = fit_index_model(prices, hours)
        model = fit.model(first.astype(object))
    except ValueError as exc:
        raise InputError(str(file), 1, 1, f"power_price: cannot fit the index model: {exc}") from None
    return PowerCalibration(str(file), first, n_days, fit, power_statistics(prices, hours),
                            simulate_statistics(model, n_days, paths, seed), paths)
