r"""Statistics of hourly power prices, and the fit of the index model to an hourly price file.

Issue 17 measures an hourly price series — history or the model — by five statistics
(:func:`power_statistics`), the ones the shipped ERCOT profiles are matched to and
``hashfleet calibrate --power FILE`` prints for the data beside the fitted model:

``mean_usd_per_mwh``
    the time-weighted mean price [USD/MWh]: every hour counts once (not load-weighted);
``negative_share``
    the share of hours priced below 0 [fraction];
``hours_above_1000_per_year``
    hours priced above 1,000 USD/MWh (:data:`SPIKE_THRESHOLD_USD_PER_MWH`) per 8,760 hours;
``summer_to_annual_ratio``
    the time-weighted mean of the June–September hours ÷ the time-weighted mean of all hours;
``evening_peak_ratio``
    the time-weighted mean of the hours starting 00:00, 01:00 and 02:00 UTC (19:00–21:59 CDT,
    18:00–20:59 CST: ERCOT's evening net-load peak) ÷ the time-weighted mean of all hours.

:func:`fit_index_model` estimates the index model's parameters
(:class:`simulator.market.power.IndexPowerModel`) from hourly prices by moments; see its
Notes.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from simulator.market.power import IndexPowerModel, normalise_shape
from simulator.rng import PathStreams
from simulator.units import DAYS_PER_YEAR, HOURS_PER_DAY, MONTHS_PER_YEAR

#: The price above which an hour counts as a spike [USD/MWh] (the statistic's threshold).
SPIKE_THRESHOLD_USD_PER_MWH = 1000.0
#: Months of the "summer" of the summer-to-annual ratio (0-based: June … September).
SUMMER_MONTHS = (5, 6, 7, 8)
#: Hours UTC of the evening peak of the evening-peak ratio (19:00–21:59 CDT, 18:00–20:59 CST).
EVENING_HOURS_UTC = (0, 1, 2)
#: The statistics, in print order, with their units.
STATISTICS = {
    "mean_usd_per_mwh": "USD/MWh",
    "negative_share": "fraction",
    "hours_above_1000_per_year": "hours/yr",
    "summer_to_annual_ratio": "-",
    "evening_peak_ratio": "-",
}
_HOURS_PER_YEAR = HOURS_PER_DAY * DAYS_PER_YEAR


def power_statistics(prices_usd_per_mwh, hours_utc) -> dict[str, float]:
    """The five statistics of an hourly price series (module docstring), pooled over paths.

    Parameters
    ----------
    prices_usd_per_mwh : array_like, shape (n_hours,) or (n_hours, paths)
        Hourly prices [USD/MWh].
    hours_utc : array_like of datetime64[h], shape (n_hours,)
        The UTC hour each row starts.

    Examples
    --------
    >>> hours = np.datetime64("2026-01-01T00", "h") + np.arange(8760)
    >>> prices = np.where(hours.astype(int) % 24 == 0, 80.0, 20.0)  # 00 UTC at 80, else 20: evening (80+20+20)/3
    >>> s = power_statistics(prices, hours)
    >>> round(s["mean_usd_per_mwh"], 3), round(s["evening_peak_ratio"], 4), s["negative_share"]
    (22.5, 1.7778, 0.0)
    """
    p = np.asarray(prices_usd_per_mwh, dtype=float)
    p = p.reshape(p.shape[0], -1)
    hours = np.asarray(hours_utc, dtype="datetime64[h]")
    month = hours.astype("datetime64[M]").astype(np.int64) % MONTHS_PER_YEAR
    hour = hours.astype(np.int64) % HOURS_PER_DAY
    mean = float(p.mean())
    summer = np.isin(month, SUMMER_MONTHS)
    evening = np.isin(hour, EVENING_HOURS_UTC)
    return {
        "mean_usd_per_mwh": mean,
        "negative_share": float((p < 0).mean()),
        "hours_above_1000_per_year": float((p > SPIKE_THRESHOLD_USD_PER_MWH).mean() * _HOURS_PER_YEAR),
        "summer_to_annual_ratio": float(p[summer].mean() / mean) if summer.any() else math.nan,
        "evening_peak_ratio": float(p[evening].mean() / mean),
    }


def model_hours(start: dt.date, n_days: int) -> np.ndarray:
    """The UTC hours of days ``0 … n_days − 1`` from ``start``, in the model's (day, hour) order."""
    return np.datetime64(start, "h") + np.arange(n_days * HOURS_PER_DAY)


def simulate_statistics(model: IndexPowerModel, n_days: int = 365, paths: int = 200, seed: int = 17) -> dict[str, float]:
    """The statistics of ``paths`` simulated paths of ``n_days`` days from the model's start."""
    streams = PathStreams(seed, "power", np.arange(paths))
    prices, _ = model.block(model.start(streams), 0, n_days, streams)
    return power_statistics(prices.reshape(n_days * HOURS_PER_DAY, paths), model_hours(model.start_date, n_days))


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class IndexFit:
    """Parameters of the index model estimated from hourly prices.

    ``parameters`` are :class:`~simulator.market.power.IndexPowerModel`'s scalar keyword
    arguments; ``shape``, ``spike_profile`` and ``negative_profile`` its ``(24, 12)`` tables
    (hour UTC × month, normalised to calendar mean 1), each the outer product of an hour and a
    month factor (``*_factors``: ``(hour (24,), month (12,))``).
    """

    parameters: dict
    shape_factors: tuple
    spike_factors: tuple
    negative_factors: tuple

    @staticmethod
    def _table(factors) -> np.ndarray:
        hour, month = factors
        return normalise_shape(np.outer(hour, month))

    def model(self, start: dt.date | str) -> IndexPowerModel:
        """The fitted model, starting on ``start``."""
        return IndexPowerModel(start=start, shape=self._table(self.shape_factors),
                               spike_profile=self._table(self.spike_factors),
                               negative_profile=self._table(self.negative_factors), **self.parameters)


def _factors(values: np.ndarray, hit: np.ndarray, hour: np.ndarray, month: np.ndarray, prior: float = 0.0):
    """Hour and month factors of ``values`` over the rows ``hit``: mean by hour (month) ÷ the
    mean, with ``prior`` pseudo-rows at the mean (smoothing sparse counts); 1 where empty."""
    out = []
    for key, n in ((hour, HOURS_PER_DAY), (month, MONTHS_PER_YEAR)):
        total = np.bincount(key[hit], weights=values[hit], minlength=n)
        count = np.bincount(key[hit], minlength=n).astype(float)
        overall = total.sum() / max(count.sum(), 1.0)
        mean = (total + prior * overall) / np.maximum(count + prior, 1e-300)
        factor = np.where(count + prior > 0, mean / overall if overall else 1.0, 1.0)
        out.append(np.round(factor, 6))
    return tuple(out)


def fit_index_model(prices_usd_per_mwh, hours_utc, *, floor_usd_per_mwh: float = -250.0,
                    cap_usd_per_mwh: float = 5000.0) -> IndexFit:
    r"""Fit the index model to an hourly price series by moments.

    Parameters
    ----------
    prices_usd_per_mwh : array_like, shape (n_hours,)
        One series of hourly prices [USD/MWh], whole UTC days (``n_hours`` a multiple of 24),
        consecutive hours.
    hours_utc : array_like of datetime64[h], shape (n_hours,)
        The UTC hour of each price.

    Returns
    -------
    IndexFit

    Notes
    -----
    Hours are split into negative (price < 0), spike (price > 1,000 USD/MWh) and normal.

    - ``mean_usd_per_mwh`` = the all-in time-weighted mean; ``negative_probability`` = the
      share of negative hours, ``negative_usd_per_mwh`` their mean price;
      ``spike_probability`` = the share of spike hours, ``spike_usd_per_mwh`` = their mean
      price minus the normal hours' mean.
    - Profiles: hour and month factors of the negative and spike frequencies (frequency by
      hour, by month ÷ the overall, with 24 pseudo-hours at the overall frequency to smooth
      months or hours without any); the shape's factors are the normal hours' mean price by
      hour and by month ÷ their mean. Each table is the outer product, normalised.
    - Daily base: ``B_d`` = the mean over day ``d``'s normal hours of price ÷ shape; ``ln B``
      is taken as an AR(1): ``φ`` = the lag-1 autocorrelation of ``ln B`` (demeaned),
      ``reversion_daily = 1 − φ`` (in [0.001, 1]), ``vol_daily = sd(ln B) × sqrt(1 − φ²)``
      (the innovation sd that gives the observed stationary variance).

    Days whose hours are all spikes or negatives have no base and are skipped in the AR(1).
    Intraday noise beyond the shape is not modelled, so the fitted ``vol_daily`` carries
    some of it (a day's mean of price ÷ shape is noisier than the model's base).
    """
    p = np.asarray(prices_usd_per_mwh, dtype=float).reshape(-1)
    hours = np.asarray(hours_utc, dtype="datetime64[h]").reshape(-1)
    if p.size == 0 or p.size % HOURS_PER_DAY:
        raise ValueError(f"need whole UTC days of hourly prices, got {p.size} hours")
    hour = hours.astype(np.int64) % HOURS_PER_DAY
    month = hours.astype("datetime64[M]").astype(np.int64) % MONTHS_PER_YEAR
    negative = p < 0
    spike = p > SPIKE_THRESHOLD_USD_PER_MWH
    normal = ~negative & ~spike
    if not normal.any():
        raise ValueError("no hour between 0 and 1,000 USD/MWh to fit the base and shape to")
    smoothing = float(HOURS_PER_DAY)
    shape_factors = _factors(p, normal, hour, month)
    spike_factors = _factors(spike.astype(float), np.ones_like(spike), hour, month, smoothing)
    negative_factors = _factors(negative.astype(float), np.ones_like(negative), hour, month, smoothing)
    shape = normalise_shape(np.outer(*shape_factors))
    ratio = np.where(normal, p / np.maximum(shape[hour, month], 1e-12), np.nan).reshape(-1, HOURS_PER_DAY)
    counted = np.isfinite(ratio).sum(axis=1)
    base = np.where(counted > 0, np.nansum(ratio, axis=1) / np.maximum(counted, 1), np.nan)  # nan: no normal hour
    log_base = np.log(base[np.isfinite(base) & (base > 0)])
    y = log_base - log_base.mean()
    phi = float((y[:-1] * y[1:]).sum() / (y * y).sum()) if y.size > 2 and (y * y).sum() > 0 else 0.0
    phi = min(max(phi, 0.0), 0.999)
    normal_mean = float(p[normal].mean())
    parameters = dict(
        mean_usd_per_mwh=float(p.mean()),
        vol_daily=float(y.std() * math.sqrt(1.0 - phi**2)) if y.size > 1 else 0.0,
        reversion_daily=1.0 - phi,
        spike_probability=float(spike.mean()),
        spike_usd_per_mwh=float(p[spike].mean() - normal_mean) if spike.any() else 2000.0,
        negative_probability=float(negative.mean()),
        negative_usd_per_mwh=float(p[negative].mean()) if negative.any() else -20.0,
        cap_usd_per_mwh=float(cap_usd_per_mwh),
        floor_usd_per_mwh=float(floor_usd_per_mwh),
    )
    return IndexFit(parameters, shape_factors, spike_factors, negative_factors)

