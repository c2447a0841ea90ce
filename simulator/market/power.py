r"""Hourly real-time power prices [USD/MWh] for ``index`` contracts, vectorised over paths.

DESIGN.md, "Models and their parameters" → Index power: an hourly price is a mean-reverting
daily log base times a diurnal × seasonal shape, plus spikes, with negative hours, capped at
ERCOT's high system-wide offer cap and floored at its offer floor; a ``csv`` of hourly UTC
prices may replace the model.

Every model follows the block API of :mod:`simulator.market.price`:

``start(streams) -> state``
    the state of the paths ``streams.path_ids`` before day 0 (draws nothing);
``block(state, day0, n_days, streams) -> (prices, state)``
    the hourly prices of days ``day0 … day0 + n_days − 1``, shape ``(n_days, 24, paths)``:
    ``prices[k, h, j]`` is the price of hour ``h`` (``h:00 … h:59`` UTC) of day ``day0 + k``
    on path ``j`` [USD/MWh]; and the state after them.

Day ``d`` is ``[start + d, start + d + 1)`` UTC (DESIGN.md, "Conventions and defaults"), so
hour ``h`` of day ``d`` is the UTC hour starting at ``start + d + h/24``. Each day draws a
fixed number of random numbers from each path's own generator, in a fixed order, so a
path's prices depend only on ``(seed, path id)``, not on the block split nor on the other
paths simulated alongside it. The registry :data:`POWER_MODELS` maps ``index`` and ``csv``
to the models.

Sign convention: prices are what a buyer pays per MWh; a negative price pays the buyer.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.config.schema import IndexPower
from simulator.lazy_kernel import LazyKernel
from simulator.market.validation import require
from simulator.kept_days import kept_days
from simulator.market.series_csv import HourlyTable, as_date, check_block, load_hourly_csv
from simulator.rng import PathStreams
from simulator.units import DAYS_PER_YEAR, HOURS_PER_DAY, MONTHS_PER_YEAR

# --------------------------------------------------------------------------- the default shape

#: Days of each month in a year of exactly 365 days (DESIGN.md: a year is 365 days); the
#: weights of the months when the shape is normalised.
MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
MONTH_DAYS.setflags(write=False)

# Rows: hour UTC 0 … 23; columns: month Jan … Dec. Stylised (see ``default_shape``). In
# Central time an hour UTC is 6 h earlier in CST (Nov–Feb here) and 5 h earlier in CDT
# (Mar–Oct here): e.g. 00 UTC is 18:00 CST / 19:00 CDT; 16 UTC is 10:00 CST / 11:00 CDT.
_ERCOT_SHAPE_ROWS = (
    #  Jan   Feb   Mar   Apr   May   Jun   Jul   Aug   Sep   Oct   Nov   Dec
    (1.25, 1.23, 1.26, 1.28, 1.36, 1.61, 1.79, 1.82, 1.64, 1.39, 1.19, 1.23),  # 00 UTC
    (1.35, 1.33, 1.26, 1.28, 1.36, 1.61, 1.79, 1.82, 1.64, 1.39, 1.29, 1.33),  # 01 UTC
    (1.35, 1.33, 1.18, 1.20, 1.27, 1.49, 1.65, 1.68, 1.52, 1.29, 1.29, 1.33),  # 02 UTC
    (1.28, 1.25, 1.03, 1.04, 1.09, 1.26, 1.37, 1.40, 1.28, 1.10, 1.21, 1.25),  # 03 UTC
    (1.12, 1.10, 0.91, 0.91, 0.95, 1.08, 1.16, 1.18, 1.10, 0.96, 1.05, 1.10),  # 04 UTC
    (1.01, 0.99, 0.83, 0.83, 0.86, 0.96, 1.03, 1.04, 0.98, 0.86, 0.93, 0.99),  # 05 UTC
    (0.93, 0.92, 0.79, 0.79, 0.82, 0.90, 0.96, 0.97, 0.92, 0.81, 0.85, 0.92),  # 06 UTC
    (0.90, 0.88, 0.77, 0.76, 0.79, 0.87, 0.91, 0.93, 0.88, 0.78, 0.81, 0.88),  # 07 UTC
    (0.87, 0.86, 0.76, 0.75, 0.77, 0.84, 0.89, 0.90, 0.86, 0.76, 0.79, 0.86),  # 08 UTC
    (0.86, 0.84, 0.77, 0.76, 0.79, 0.87, 0.91, 0.93, 0.88, 0.78, 0.77, 0.84),  # 09 UTC
    (0.87, 0.86, 0.82, 0.81, 0.85, 0.94, 1.00, 1.01, 0.96, 0.84, 0.79, 0.86),  # 10 UTC
    (0.92, 0.90, 0.93, 0.90, 0.94, 1.06, 1.14, 1.16, 1.08, 0.94, 0.84, 0.90),  # 11 UTC
    (1.07, 1.05, 0.99, 0.93, 0.97, 1.10, 1.19, 1.21, 1.12, 0.97, 0.95, 1.05),  # 12 UTC
    (1.16, 1.14, 0.88, 0.85, 0.88, 0.99, 1.05, 1.07, 1.00, 0.88, 1.01, 1.14),  # 13 UTC
    (1.01, 0.99, 0.76, 0.75, 0.77, 0.84, 0.89, 0.90, 0.86, 0.76, 0.90, 0.99),  # 14 UTC
    (0.86, 0.84, 0.69, 0.68, 0.70, 0.75, 0.77, 0.79, 0.76, 0.69, 0.77, 0.84),  # 15 UTC
    (0.80, 0.78, 0.70, 0.69, 0.71, 0.76, 0.79, 0.80, 0.77, 0.70, 0.71, 0.78),  # 16 UTC
    (0.80, 0.79, 0.72, 0.71, 0.73, 0.78, 0.82, 0.83, 0.80, 0.72, 0.72, 0.79),  # 17 UTC
    (0.82, 0.80, 0.74, 0.73, 0.75, 0.82, 0.86, 0.87, 0.83, 0.75, 0.73, 0.80),  # 18 UTC
    (0.84, 0.83, 0.79, 0.78, 0.81, 0.89, 0.94, 0.96, 0.91, 0.80, 0.76, 0.83),  # 19 UTC
    (0.89, 0.87, 0.85, 0.85, 0.88, 1.03, 1.10, 1.12, 1.05, 0.88, 0.80, 0.87),  # 20 UTC
    (0.95, 0.93, 0.93, 0.93, 0.97, 1.19, 1.28, 1.30, 1.21, 0.97, 0.87, 0.93),  # 21 UTC
    (1.03, 1.00, 1.03, 1.04, 1.09, 1.36, 1.49, 1.51, 1.39, 1.10, 0.95, 1.00),  # 22 UTC
    (1.12, 1.10, 1.16, 1.18, 1.24, 1.52, 1.68, 1.71, 1.55, 1.26, 1.05, 1.10),  # 23 UTC
)

#: Random numbers drawn per path and day by :class:`IndexPowerModel`, in this order:
#: 2 uniforms → 1 standard normal (Box–Muller; the second normal is discarded), 24 uniforms
#: for the spike hours 0 … 23 UTC, 24 uniforms for the negative hours 0 … 23 UTC.
DRAWS_PER_DAY = 2 + 2 * HOURS_PER_DAY
_SPIKES = slice(2, 2 + HOURS_PER_DAY)
_NEGATIVES = slice(2 + HOURS_PER_DAY, 2 + 2 * HOURS_PER_DAY)


def normalise_shape(shape) -> np.ndarray:
    """A diurnal × seasonal shape scaled to a calendar mean of 1, shape ``(24, 12)``.

    Parameters
    ----------
    shape : array_like
        ``(24, 12)`` (hour UTC × month Jan … Dec) or ``(24,)`` (the same every month);
        finite, ≥ 0, not all 0. Only relative values matter.

    Returns
    -------
    ndarray, shape (24, 12), read-only
        ``s / m`` with ``m = Σ_m days_m Σ_h s[h, m] / (24 × 365)``: the mean over the hours of
        a 365-day year (months weighted by their days, :data:`MONTH_DAYS`) is exactly 1.

    Examples
    --------
    >>> s = normalise_shape(np.r_[np.ones(12), 3 * np.ones(12)])
    >>> s.shape, float(s[0, 0]), float(s[23, 11])
    ((24, 12), 0.5, 1.5)
    """
    s = np.array(shape, dtype=float)
    if s.shape == (HOURS_PER_DAY,):
        s = np.repeat(s[:, None], MONTHS_PER_YEAR, axis=1)
    require(s.shape == (HOURS_PER_DAY, MONTHS_PER_YEAR),
             f"shape must be (24,) or (24, 12) (hour UTC × month), got {s.shape}")
    require(bool(np.isfinite(s).all() and (s >= 0).all()), "shape values must be finite and >= 0")
    weighted = float((s * MONTH_DAYS).sum() / (HOURS_PER_DAY * DAYS_PER_YEAR))
    require(weighted > 0, "shape must not be all 0")
    s = s / weighted
    s.setflags(write=False)
    return s


def default_shape() -> np.ndarray:
    """The default ERCOT-like diurnal × seasonal shape, ``(24, 12)`` (hour UTC × month).

    Returns
    -------
    ndarray, shape (24, 12), read-only
        Normalised by :func:`normalise_shape` (calendar mean 1); values 0.68 … 1.82.

    Notes
    -----
    A **stylised** shape, not a fit to a price history. Its features are the ones ERCOT's
    published real-time market data and the Independent Market Monitor's annual *State of the
    Market* reports for ERCOT (Potomac Economics) describe for Hub/West real-time prices:

    - an evening net-load peak at 19:00–21:00 Central (00:00–03:00 UTC), when solar output
      falls while load is still high;
    - a midday trough around 10:00–11:00 Central (15:00–16:00 UTC), deepened by solar;
    - in winter (Nov–Feb) a smaller morning peak at 07:00 Central (13:00 UTC);
    - summer (Jun–Sep) levels and evening peaks higher, with the late afternoon
      (15:00–18:00 Central) raised: the hours where ERCOT's 4CP monthly system peaks fall in
      June–September (GLOSSARY.md, "4CP").

    Central time is UTC−6 (CST) from November to February and UTC−5 (CDT) from March to
    October in this table (the DST switches fall early in March and November).

    Examples
    --------
    >>> s = default_shape()
    >>> round(float((s * MONTH_DAYS).sum() / (24 * 365)), 12)
    1.0
    >>> hourly = (s * MONTH_DAYS).sum(axis=1) / 365  # calendar mean of each hour UTC
    >>> int(hourly.argmax()), int(hourly.argmin())  # 01 UTC = 19:00-20:00 Central; 16 UTC
    (1, 16)
    >>> bool(s[:, 5:9].max() > s[:, [0, 1, 2, 3, 4, 9, 10, 11]].max())  # summer peaks higher
    True
    """
    return normalise_shape(_ERCOT_SHAPE_ROWS)


# --------------------------------------------------------------------------- pure formulas


def stationary_log_variance(vol_daily: float, reversion_daily: float) -> float:
    r"""Stationary variance of the daily AR(1) log base: ``σ² / (1 − (1 − κ)²)`` [-].

    Parameters
    ----------
    vol_daily : float
        σ, the daily volatility of the log base [1/sqrt(day)], ≥ 0.
    reversion_daily : float
        κ, the daily mean-reversion speed, in (0, 1] (``φ = 1 − κ``). With κ = 0 the process
        is a random walk and has no stationary variance (``inf`` unless σ = 0).

    Examples
    --------
    >>> round(stationary_log_variance(0.35, 0.1), 6)  # 0.1225 / 0.19
    0.644737
    >>> round(stationary_log_variance(0.35, 1.0), 12)  # κ = 1: independent days, v = σ²
    0.1225
    """
    if vol_daily == 0:
        return 0.0
    phi = 1.0 - reversion_daily
    if phi >= 1.0:
        return math.inf
    return vol_daily**2 / (1.0 - phi**2)


def index_prices(
    base_usd_per_mwh: np.ndarray,
    shape_of_days: np.ndarray,
    spike: np.ndarray,
    negative: np.ndarray,
    *,
    spike_usd_per_mwh: float,
    negative_usd_per_mwh: float,
    floor_usd_per_mwh: float,
    cap_usd_per_mwh: float,
) -> np.ndarray:
    r"""Hourly prices from the daily base, the shape, and the spike and negative hours.

    .. math::

        p_{d,h} = \min\Big(c,\ \max\big(f,\ \begin{cases} n & \text{negative hour} \\
                  B_d\, s(h, m_d) + J\, \mathbb 1[\text{spike hour}] & \text{otherwise}
                  \end{cases}\big)\Big)

    Parameters
    ----------
    base_usd_per_mwh : ndarray, shape (n_days, paths)
        Daily base ``B_d`` [USD/MWh].
    shape_of_days : ndarray, shape (n_days, 24)
        Shape ``s(h, m_d)`` of each day's hours [-].
    spike, negative : ndarray of bool, shape (n_days, 24, paths)
        Spike hours and negative hours (a negative hour replaces the formula, spike or not).
    spike_usd_per_mwh, negative_usd_per_mwh : float
        ``J``, added in a spike hour, and ``n``, the price of a negative hour [USD/MWh].
    floor_usd_per_mwh, cap_usd_per_mwh : float
        ``f`` and ``c`` [USD/MWh], applied last.

    Returns
    -------
    ndarray, shape (n_days, 24, paths)
        Prices [USD/MWh].

    Examples
    --------
    >>> p = index_prices(np.array([[40.0]]), np.ones((1, 24)),
    ...                  np.arange(24)[None, :, None] == 1, np.arange(24)[None, :, None] == 2,
    ...                  spike_usd_per_mwh=6000.0, negative_usd_per_mwh=-20.0,
    ...                  floor_usd_per_mwh=-250.0, cap_usd_per_mwh=5000.0)
    >>> p[0, :4, 0].tolist()
    [40.0, 5000.0, -20.0, 40.0]
    """
    formula = base_usd_per_mwh[:, None, :] * shape_of_days[:, :, None] + np.where(spike, spike_usd_per_mwh, 0.0)
    price = np.where(negative, negative_usd_per_mwh, formula)
    return np.clip(price, floor_usd_per_mwh, cap_usd_per_mwh)


# --------------------------------------------------------------------------- the index model

_D = {name: f.default for name, f in IndexPower.model_fields.items()}  # defaults live in the schema
#: The compiled hourly prices (:func:`simulator.index_kernel.index_hours`): loaded for a block of at least
#: 2¹⁶ prices (days × 24 × paths) or once a process has spent 2²¹ on numpy blocks (~0.05 s), each
#: counting its prices plus :data:`_NUMPY_BLOCK_COST` (a short run never loads numba for them).
PRICE_KERNEL = LazyKernel("simulator.index_kernel", large_from=2**16, numpy_at_most=2**21)
_NUMPY_BLOCK_COST = 4096


def _box_muller_cosine(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """:func:`simulator.market.price.box_muller`'s cosine normal ``sqrt(-2 ln(1 - u1)) cos(2π u2)`` (the sine
    one is not drawn on), its operations in its order on two arrays written in place instead of seven fresh
    ones: the same floats (each of numpy's loops gives an element the same result wherever it writes it)."""
    radius = np.negative(u1)
    np.log1p(radius, out=radius)
    np.multiply(-2.0, radius, out=radius)
    np.sqrt(radius, out=radius)
    cosine = np.multiply(2.0 * np.pi, u2)
    np.cos(cosine, out=cosine)
    return np.multiply(radius, cosine, out=radius)


def price_block_memory(out: np.ndarray | None, full: tuple) -> np.ndarray:
    """``out`` (the previous block's prices) if it can hold a block of shape ``full`` (float, C-ordered), else
    fresh memory: a block of a year is tens of MB, and fresh memory is slow to touch the first time."""
    if out is not None and out.shape == full and out.dtype == float and out.flags.c_contiguous:
        return out
    return np.empty(full)


def _as_tuple(values) -> tuple:
    """A (nested) tuple of floats: a hashable, comparable copy of an array-like."""
    a = np.asarray(values, dtype=float)
    return tuple(map(tuple, a.tolist())) if a.ndim == 2 else tuple(a.tolist())


@dataclass(frozen=True)
class IndexPowerState:
    """State of the index paths: ``day`` = next day to simulate; ``log_deviation`` = the last
    simulated day's ``y`` (log base minus its centre), shape ``(paths,)``, ``None`` before
    day 0."""

    day: int
    log_deviation: np.ndarray | None = None


@dataclass(frozen=True)
class IndexPowerBlock:
    """Everything :meth:`IndexPowerModel.draw` simulated for a block of days.

    Attributes
    ----------
    prices_usd_per_mwh : ndarray, shape (n_days, 24, paths)
        Hourly prices [USD/MWh] (what :meth:`IndexPowerModel.block` returns).
    base_usd_per_mwh : ndarray, shape (n_days, paths)
        The daily base ``B_d`` [USD/MWh].
    shape : ndarray, shape (n_days, 24)
        The normalised shape of each day's hours [-].
    spike, negative : ndarray of bool, shape (n_days, 24, paths)
        The spike hours and the negative hours.
    """

    prices_usd_per_mwh: np.ndarray
    base_usd_per_mwh: np.ndarray
    shape: np.ndarray
    spike: np.ndarray
    negative: np.ndarray


@dataclass(frozen=True, init=False)
class IndexPowerModel:
    r"""Hourly real-time index price: mean-reverting daily log base × shape, spikes, negatives.

    Parameters
    ----------
    mean_usd_per_mwh : float
        ``M``, the all-in long-run time-weighted mean price [USD/MWh], > 0: spikes and
        negative hours included (what a constant load pays on average, before cap and floor).
    start : datetime.date or ISO str
        The scenario start (day 0), for the month of each day. Stored as ``start_date``.
    vol_daily : float
        σ, daily volatility of the log base [1/sqrt(day)], ≥ 0.
    reversion_daily : float
        κ, daily mean-reversion speed of the log base, in [0, 1] (0: a random walk; 1:
        independent days).
    spike_probability : float
        ``p``, calendar-mean probability that an hour carries a spike, in [0, 1].
    spike_usd_per_mwh : float
        ``J``, price added in a spike hour [USD/MWh].
    negative_probability : float
        ``q``, calendar-mean probability that an hour prices at ``negative_usd_per_mwh``, in [0, 1].
    negative_usd_per_mwh : float
        ``n``, the price of a negative hour [USD/MWh].
    cap_usd_per_mwh, floor_usd_per_mwh : float
        ``c`` and ``f`` [USD/MWh], ``f < c``: the price's range, applied last.
    shape : array_like, optional
        ``(24, 12)`` hour UTC × month (or ``(24,)``) shape; normalised by
        :func:`normalise_shape`. Default :func:`default_shape` (stylised ERCOT).
    spike_profile, negative_profile : array_like, optional
        ``(24, 12)`` (or ``(24,)``) relative likelihood of a spike / a negative hour by hour UTC
        and month, normalised to calendar mean 1 (:func:`normalise_shape`); default flat.
        The hour's probability is ``min(1, p × spike_profile[h, m])`` (likewise for ``q``).

    Defaults are the scenario schema's (:class:`simulator.config.schema.IndexPower`).

    Notes
    -----
    Day ``d`` (month ``m_d``), hour ``h`` UTC:

    .. math::

        y_0 = \sqrt{v}\, z_0, \qquad y_d = (1 - κ)\, y_{d-1} + σ z_d \quad (d ≥ 1), \qquad
        z_d \sim N(0, 1)\ \text{i.i.d.}

        v = \frac{σ^2}{1 - (1 - κ)^2}, \qquad
        \ln B_d = \ln M_b - \tfrac12 v + y_d

        p_{d,h} = \min\big(c, \max(f,\ n \text{ if negative else }
                  B_d\, s(h, m_d) + J\,\mathbb 1[\text{spike}])\big)

        M = \sum_{h,m} w_m \big[(1 - q_{hm})(M_b s_{hm} + p_{hm} J) + q_{hm} n\big], \qquad
        p_{hm} = \min(1, p\,π^s_{hm}),\ q_{hm} = \min(1, q\,π^n_{hm})

    with ``w_m = days_m / (24 × 365)`` the calendar weight of an hour of month ``m`` and
    ``π^s, π^n`` the spike and negative profiles. ``M`` is the all-in mean (issue 17: it
    supersedes DESIGN.md's "mean of base × shape"); the base mean ``M_b``
    (:attr:`base_mean_usd_per_mwh`) is solved from it, so a constant load over a calendar year
    pays ``M`` per MWh on average (cap and floor aside: ``J`` is counted up to the cap, ``n``
    after the floor; a base so high that ``B s + J`` passes the cap is rare).

    ``y`` is the exact discretisation at daily steps of an Ornstein–Uhlenbeck log price (an
    AR(1) with coefficient ``φ = 1 − κ``), started at its stationary law ``N(0, v)``, so
    ``ln B_d ~ N(ln M − v/2, v)`` on **every** day and ``E[B_d] = M`` (the lognormal mean
    ``e^{μ + v/2}``) with ``M_b`` in place of ``M``. The shape has calendar mean 1
    (:func:`normalise_shape`), so the long-run mean of ``B_d s(h, m_d)`` is ``M_b`` (= ``M``
    without spikes and negative hours); with ``vol_daily = 0`` and no spikes or negative hours
    a 365-day year averages to ``M`` exactly. With κ = 0 (no reversion) ``y`` is a random walk from
    ``y_0 = σ z_0``, ``v`` is replaced by the day's variance ``(d + 1) σ²`` and ``E[B_d] = M``
    still holds on every day. Lag-1 autocorrelation of ``ln B`` is ``1 − κ``.

    Each hour is independently a spike hour with probability ``p_{hm}`` and a negative hour
    with probability ``q_{hm}``; a negative hour prices at ``n`` whatever else happens. With
    flat profiles the mean price before the cap and floor is ``(1 − q)(M_b + pJ) + qn = M``.

    Random numbers: per path and day, :data:`DRAWS_PER_DAY` = 50 uniforms from the path's
    generator, in this order: ``u_0, u_1`` → ``z_d`` by Box–Muller (:func:`box_muller`,
    cosine branch); ``u_{2+h}`` < ``p`` marks hour ``h`` a spike; ``u_{26+h}`` < ``q`` marks it
    negative (``p``, ``q`` of that hour and month). The numbers are drawn as one ``(n_days, 50)`` block per path, so any block
    split and any path chunking give identical prices.

    Parameter sources: the cap (5,000 USD/MWh, ERCOT's high system-wide offer cap since
    2022, $9,000 before) and floor (−250 USD/MWh, ERCOT's energy offer floor) are ERCOT's
    (GLOSSARY.md, "ERCOT price range"); the spike size default (2,000 USD/MWh) and the
    others are the schema's assumptions (docs/decisions.md); the shape is stylised
    (:func:`default_shape`). Reference for the discretised OU: Glasserman, *Monte Carlo
    Methods in Financial Engineering* (2003), §3.3.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> streams = PathStreams(7, "power", np.arange(3))
    >>> flat = IndexPowerModel(mean_usd_per_mwh=38.0, start=dt.date(2026, 1, 1))
    >>> prices, state = flat.block(flat.start(streams), 0, 365, streams)
    >>> prices.shape
    (365, 24, 3)
    >>> round(float(prices.mean()), 9)  # vol 0: a 365-day year averages to the mean exactly
    38.0
    >>> model = IndexPowerModel(mean_usd_per_mwh=38.0, start="2026-01-01", vol_daily=0.35,
    ...                         spike_probability=0.01)
    >>> prices, state = model.block(model.start(streams), 0, 30, streams)
    >>> state.day, bool(prices.max() <= 5000.0), bool(prices.min() >= -250.0)
    (30, True, True)
    """

    mean_usd_per_mwh: float
    start_date: dt.date
    vol_daily: float
    reversion_daily: float
    spike_probability: float
    spike_usd_per_mwh: float
    negative_probability: float
    negative_usd_per_mwh: float
    cap_usd_per_mwh: float
    floor_usd_per_mwh: float
    shape: tuple | None = None
    common_loading: float = 0.0
    spike_profile: tuple | None = None
    negative_profile: tuple | None = None
    _shape_table: np.ndarray = field(default=None, compare=False, repr=False)
    _spike_table: np.ndarray = field(default=None, compare=False, repr=False)
    _negative_table: np.ndarray = field(default=None, compare=False, repr=False)

    def __init__(
        self,
        mean_usd_per_mwh: float,
        start: dt.date | str,
        vol_daily: float = _D["vol_daily"],
        reversion_daily: float = _D["reversion_daily"],
        spike_probability: float = _D["spike_probability"],
        spike_usd_per_mwh: float = _D["spike_usd_per_mwh"],
        negative_probability: float = _D["negative_probability"],
        negative_usd_per_mwh: float = _D["negative_usd_per_mwh"],
        cap_usd_per_mwh: float = _D["cap_usd_per_mwh"],
        floor_usd_per_mwh: float = _D["floor_usd_per_mwh"],
        shape=None,
        common_loading: float = 0.0,
        spike_profile=None,
        negative_profile=None,
    ) -> None:
        numbers = dict(
            mean_usd_per_mwh=mean_usd_per_mwh, vol_daily=vol_daily, reversion_daily=reversion_daily,
            spike_probability=spike_probability, spike_usd_per_mwh=spike_usd_per_mwh,
            negative_probability=negative_probability, negative_usd_per_mwh=negative_usd_per_mwh,
            cap_usd_per_mwh=cap_usd_per_mwh, floor_usd_per_mwh=floor_usd_per_mwh,
        )
        for name, value in numbers.items():
            require(isinstance(value, (int, float, np.number)) and math.isfinite(value),
                     f"{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "start_date", as_date(start))
        require(0.0 <= common_loading <= 1.0, f"common_loading must be in [0, 1], got {common_loading}")
        object.__setattr__(self, "common_loading", float(common_loading))
        require(self.mean_usd_per_mwh > 0, f"mean_usd_per_mwh must be > 0, got {mean_usd_per_mwh}")
        require(self.vol_daily >= 0, f"vol_daily must be >= 0, got {vol_daily}")
        for name in ("reversion_daily", "spike_probability", "negative_probability"):
            value = numbers[name]
            require(0 <= value <= 1, f"{name} must be in [0, 1], got {value}")
        require(self.floor_usd_per_mwh < self.cap_usd_per_mwh,
                 f"floor_usd_per_mwh ({floor_usd_per_mwh}) must be below cap_usd_per_mwh ({cap_usd_per_mwh})")
        table = default_shape() if shape is None else normalise_shape(shape)
        object.__setattr__(self, "shape", None if shape is None else _as_tuple(shape))
        object.__setattr__(self, "_shape_table", table)
        for name, profile in (("spike", spike_profile), ("negative", negative_profile)):
            rates = normalise_shape(np.ones(HOURS_PER_DAY) if profile is None else profile)
            object.__setattr__(self, f"{name}_profile", None if profile is None else _as_tuple(profile))
            object.__setattr__(self, f"_{name}_table", rates)
        base = self.base_mean_usd_per_mwh
        require(base > 0, f"mean_usd_per_mwh ({self.mean_usd_per_mwh:g}) must exceed what the spikes and "
                           f"negative hours alone contribute ({self.mean_usd_per_mwh - base * self._base_weight:g} USD/MWh)")

    # ---------------------------------------------------------------- derived quantities

    @property
    def shape_table(self) -> np.ndarray:
        """The normalised shape, ``(24, 12)`` hour UTC × month (read-only)."""
        return self._shape_table

    @property
    def log_variance(self) -> float:
        """``v``, the stationary variance of ``ln B`` (``inf`` for a random walk, κ = 0)."""
        return stationary_log_variance(self.vol_daily, self.reversion_daily)

    @property
    def spike_table(self) -> np.ndarray:
        """``p_{hm}``, the spike probability of each hour UTC × month, ``(24, 12)``."""
        return np.minimum(1.0, self.spike_probability * self._spike_table)

    @property
    def negative_table(self) -> np.ndarray:
        """``q_{hm}``, the negative-hour probability of each hour UTC × month, ``(24, 12)``."""
        return np.minimum(1.0, self.negative_probability * self._negative_table)

    @property
    def _base_weight(self) -> float:
        """``Σ w (1 − q) s``: what ``M_b`` is multiplied by in the all-in mean."""
        w = MONTH_DAYS / (HOURS_PER_DAY * DAYS_PER_YEAR)
        return float(((1.0 - self.negative_table) * self._shape_table * w).sum())

    @property
    def base_mean_usd_per_mwh(self) -> float:
        """``M_b``, the mean of the daily base ``B_d`` that makes the all-in mean ``M`` [USD/MWh].

        Examples
        --------
        >>> m = IndexPowerModel(40.0, "2026-01-01", spike_probability=0.001, spike_usd_per_mwh=3000.0)
        >>> round(m.base_mean_usd_per_mwh, 6)  # (40 − 0.001 × 3000) / 1
        37.0
        """
        return self._base_mean_usd_per_mwh

    @functools.cached_property
    def _base_mean_usd_per_mwh(self) -> float:
        """:attr:`base_mean_usd_per_mwh`, computed once (the model is frozen; every block's centre reads it)."""
        w = MONTH_DAYS / (HOURS_PER_DAY * DAYS_PER_YEAR)
        q = self.negative_table
        spike = min(self.spike_usd_per_mwh, self.cap_usd_per_mwh)
        negative = min(max(self.negative_usd_per_mwh, self.floor_usd_per_mwh), self.cap_usd_per_mwh)
        extra = float(((1.0 - q) * self.spike_table * spike * w).sum() + (q * negative * w).sum())
        return (self.mean_usd_per_mwh - extra) / self._base_weight

    def log_base_centre(self, day: int | np.ndarray) -> np.ndarray:
        """``E[ln B_d] = ln M_b − Var(ln B_d)/2`` of day(s) ``day`` (``Var = v``, or
        ``(d + 1)σ²`` when κ = 0)."""
        day = np.asarray(day, dtype=float)
        v = self.log_variance
        var = np.full(day.shape, v) if math.isfinite(v) else (day + 1.0) * self.vol_daily**2
        return math.log(self.base_mean_usd_per_mwh) - 0.5 * var

    def months(self, day0: int, n_days: int) -> np.ndarray:
        """Month index (0 = January) of days ``day0 … day0 + n_days − 1`` (read-only: a slice of the days' months kept
        from day 0, :func:`~simulator.kept_days.kept_days`; the same ints as :meth:`_months_from`)."""
        return kept_days(self.__dict__, "_kept_months", self._months_from, day0, n_days, writeable=False)

    def _centre_of_days(self, day0: int, n_days: int) -> np.ndarray:
        """:meth:`log_base_centre` of days ``day0 … day0 + n_days − 1``, kept from day 0 (the same doubles)."""
        centre = lambda a, n: self.log_base_centre(a + np.arange(n))  # noqa: E731
        return kept_days(self.__dict__, "_kept_centre", centre, day0, n_days)

    def _months_from(self, day0: int, n_days: int) -> np.ndarray:
        """Month index (0 = January) of days ``day0 … day0 + n_days − 1``, computed (datetime64, ~35 µs a call)."""
        days = np.datetime64(self.start_date, "D") + np.arange(day0, day0 + n_days)
        return days.astype("datetime64[M]").astype(np.int64) % MONTHS_PER_YEAR

    @functools.cached_property
    def _day_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The shape, spike and negative tables month-major, ``(12, 24)`` C-ordered each (made once: the model is
        frozen): row ``m`` is month ``m``'s hours, so ``table[months]`` is the days' ``(n_days, 24)`` rows,
        C-ordered (:meth:`shape_of_days`, :meth:`probabilities_of_days`, :meth:`hour_terms`)."""
        return tuple(np.ascontiguousarray(t.T) for t in (self._shape_table, self.spike_table, self.negative_table))

    def shape_of_days(self, day0: int, n_days: int) -> np.ndarray:
        """The shape of each hour of days ``day0 … day0 + n_days − 1``, ``(n_days, 24)``."""
        return self._day_tables[0][self.months(day0, n_days)]

    def probabilities_of_days(self, day0: int, n_days: int) -> tuple[np.ndarray, np.ndarray]:
        """Spike and negative probabilities of each hour of days ``day0 …``, two ``(n_days, 24)``."""
        months = self.months(day0, n_days)
        return self._day_tables[1][months], self._day_tables[2][months]

    # ---------------------------------------------------------------- block API

    def start(self, streams: PathStreams) -> IndexPowerState:
        return IndexPowerState(0)

    def draw(
        self, state: IndexPowerState, day0: int, n_days: int, streams: PathStreams,
        common: PathStreams | None = None,
    ) -> tuple[IndexPowerBlock, IndexPowerState]:
        """Simulate days ``day0 … day0 + n_days − 1``, keeping base, spikes and negatives.

        Same draws and prices as :meth:`block` (which returns only the prices). With
        ``common`` (a stream every correlated site reads identically) the daily shock is
        ``z = a z_common + sqrt(1 − a²) z_site`` with ``a = common_loading``, so two sites'
        log base prices have shock correlation ``a_1 a_2``.
        """
        prices, base, shape, u, after = self._simulate(state, day0, n_days, streams, common)
        p, q = self.probabilities_of_days(day0, n_days)
        spike = u[:, _SPIKES] < p[:, :, None]
        negative = u[:, _NEGATIVES] < q[:, :, None]
        return IndexPowerBlock(prices, base, shape, spike, negative), after

    def _daily(self, state: IndexPowerState, day0: int, n_days: int, streams: PathStreams,
               common: PathStreams | None, kernel, all_draws: bool = True):
        """The block's uniforms ``(n_days, 50, paths)``, daily base ``B`` ``(n_days, paths)`` [USD/MWh], the
        state after and the stream position of the block's first draw: the draws, Box–Muller, the AR(1) (compiled
        when ``kernel`` is :mod:`simulator.index_kernel`: :func:`simulator.index_kernel.log_base`, the same floats)
        and ``exp``. Without ``all_draws`` only each day's two Box–Muller uniforms are drawn ``(n_days, 2, paths)``
        (:meth:`simulator.rng.PathStreams.uniform_rows`: the same numbers; the stream moves on by 50 a day)."""
        check_block(state.day, day0, n_days)
        if all_draws:
            start = streams._position
            u = streams.uniform((n_days, DRAWS_PER_DAY), reuse=True)  # consumed before the next block is drawn
        else:
            u, start = streams.uniform_rows((n_days, DRAWS_PER_DAY), _SPIKES.start)
        z = _box_muller_cosine(u[:, 0], u[:, 1])  # (n_days, paths)
        if common is not None and self.common_loading > 0:
            a = self.common_loading
            z = a * common.normal((n_days,)) + math.sqrt(1.0 - a * a) * z
        phi = 1.0 - self.reversion_daily
        sigma = self.vol_daily
        v = self.log_variance
        sd0 = math.sqrt(v) if math.isfinite(v) else sigma  # y_0 ~ N(0, v), or N(0, σ²) if κ = 0
        previous = state.log_deviation
        centre = self._centre_of_days(day0, n_days)
        if kernel is not None and n_days:
            base, previous = np.empty(z.shape), np.empty(z.shape[1])
            kernel.log_base(np.ascontiguousarray(z), np.zeros(0) if day0 == 0 else state.log_deviation, day0 == 0,
                            sd0, phi, sigma, centre, base, previous)
            base = np.exp(base, out=base)
        else:
            y = np.empty_like(z)
            for k in range(n_days):  # the AR(1) is sequential in time; vectorised over paths
                previous = sd0 * z[k] if day0 + k == 0 else phi * previous + sigma * z[k]
                y[k] = previous
            base = np.exp(centre[:, None] + y)
        return u, base, IndexPowerState(day0 + n_days, previous if n_days else state.log_deviation), start

    def _hour_args(self, base: np.ndarray, shape: np.ndarray, u: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple:
        """:func:`simulator.index_kernel.index_hours`' arguments after ``prices``."""
        return (base, *(np.ascontiguousarray(x, dtype=float) for x in (shape, u, p, q)), _SPIKES.start,
                _NEGATIVES.start, self.spike_usd_per_mwh, self.negative_usd_per_mwh, self.floor_usd_per_mwh,
                self.cap_usd_per_mwh)

    def hour_terms(self, state: IndexPowerState, day0: int, n_days: int, streams: PathStreams,
                   common: PathStreams | None = None) -> tuple[tuple, IndexPowerState]:
        """What :func:`simulator.index_block_kernel.site_days` turns into the hourly prices of :meth:`block` (its
        arguments from ``base`` on: base, shape, spike and negative probabilities, the stream's Philox key and the
        position of the block's first draw, the draws a day and the rows of the hours' spike and negative draws,
        the constants) and the state after: the same draws, for a compiled caller that computes the prices where
        it reads them. Only each day's two Box–Muller uniforms are drawn here (the base needs them); the caller
        draws the hours' own from the position, where a probability above 0 can use them."""
        kernel = PRICE_KERNEL.for_call(n_days * HOURS_PER_DAY * streams.paths, _NUMPY_BLOCK_COST)
        _, base, after, start = self._daily(state, day0, n_days, streams, common, kernel, all_draws=False)
        months = self.months(day0, n_days)  # shape_of_days' and probabilities_of_days' rows, the months found once
        return (base, *(table[months] for table in self._day_tables), *streams.philox_key, start, DRAWS_PER_DAY,
                _SPIKES.start, _NEGATIVES.start, self.spike_usd_per_mwh, self.negative_usd_per_mwh,
                self.floor_usd_per_mwh, self.cap_usd_per_mwh), after

    @staticmethod
    def hour_terms_of_days(terms: tuple, i: int, n: int) -> tuple:
        """Days ``i … i + n − 1`` of a block's :meth:`hour_terms`: the rows of its per-day arrays (base, shape,
        spike and negative probabilities) and the position of day ``i``'s first draw (``i`` days of
        :data:`DRAWS_PER_DAY` on); the caller computes those days' prices as the block's own, from the same
        terms (a block of days cut in two by the engine draws its prices once, as a whole block does)."""
        base, shape, p, q, path_words, key0, key1, seed_high, start, per_day, *constants = terms
        return (base[i:i + n], shape[i:i + n], p[i:i + n], q[i:i + n], path_words, key0, key1, seed_high,
                start + i * per_day, per_day, *constants)

    def _simulate(self, state: IndexPowerState, day0: int, n_days: int, streams: PathStreams,
                  common: PathStreams | None, out: np.ndarray | None = None):
        """Prices ``(n_days, 24, paths)`` (C-contiguous), base, shape, the uniforms and the state after.

        :func:`index_prices`' formula, computed in place: the rare spike and negative hours
        are found in the path-major uniforms and applied where they fall (``x + 0`` is ``x``
        in the hours without a spike, so this is the same arithmetic).
        """
        full = (n_days, HOURS_PER_DAY, streams.paths)
        kernel = PRICE_KERNEL.for_call(int(np.prod(full)), _NUMPY_BLOCK_COST)
        u, base, after, _ = self._daily(state, day0, n_days, streams, common, kernel)
        shape = self.shape_of_days(day0, n_days)
        prices = price_block_memory(out, full)
        p, q = self.probabilities_of_days(day0, n_days)
        if kernel is not None:  # the same prices in one compiled pass (simulator.index_kernel.index_hours)
            kernel.index_hours(prices, *self._hour_args(base, shape, u, p, q))
            return prices, base, shape, u, after
        np.multiply(base[:, None, :], shape[:, :, None], out=prices)  # C order
        by_path = np.moveaxis(u, -1, 0)  # (paths, n_days, 50)
        hours_in_block = n_days * HOURS_PER_DAY
        touched = False  # a spike or negative hour was set (the range check below covers base × shape only)
        for hours, hit, value, add in ((_SPIKES, p, self.spike_usd_per_mwh, True),
                                       (_NEGATIVES, q, self.negative_usd_per_mwh, False)):
            if not (hit > 0).any():  # u < 0 never holds
                continue
            if hit.min() == hit.max():  # one probability for the whole block: a scalar comparison is faster
                hit = hit.flat[0]
            # the flat positions of the rare hits in (paths, n_days, 24) (3-d np.nonzero is many times slower)
            path, day_hour = np.divmod(np.flatnonzero(by_path[:, :, hours] < hit), hours_in_block)
            touched = True
            at = day_hour * prices.shape[-1] + path
            if add:
                prices.reshape(-1)[at] += value
            else:
                prices.reshape(-1)[at] = value
        if touched or not base.size or not (self.floor_usd_per_mwh <= base.min() * shape.min()
                                            and base.max() * shape.max() <= self.cap_usd_per_mwh):
            np.clip(prices, self.floor_usd_per_mwh, self.cap_usd_per_mwh, out=prices)  # else every price is in range
        return prices, base, shape, u, after

    def block(
        self, state: IndexPowerState, day0: int, n_days: int, streams: PathStreams,
        common: PathStreams | None = None, out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, IndexPowerState]:
        """Hourly prices of days ``day0 … day0 + n_days − 1`` [USD/MWh], ``(n_days, 24, paths)``.

        ``out``: the previous block, to be overwritten with this one if its shape fits (a block
        of a year is tens of MB, and fresh memory is slow to touch the first time).
        """
        prices, _, _, _, after = self._simulate(state, day0, n_days, streams, common, out)
        return prices, after


# --------------------------------------------------------------------------- hourly CSV prices

@dataclass(frozen=True)
class HourlyCsvState:
    """State of the CSV model: the next day and the parsed file."""

    day: int
    table: HourlyTable


@dataclass(frozen=True, init=False)
class CsvPowerModel:
    """Hourly UTC prices read from a file: ``datetime,price_usd_per_mwh`` or with ``path``.

    Parameters
    ----------
    file : str or Path
        Long table (see :func:`load_hourly_csv`) of hourly prices [USD/MWh]. Without a ``path``
        column one series is used for every path; with one, every simulated path needs rows.
    start : datetime.date or ISO str
        The scenario start; hour ``h`` of day ``d`` reads the row of UTC hour
        ``start + d + h/24``. Stored as ``start_date``.
    horizon_days : int, optional
        If given, :meth:`start` checks up front that the file gives every hour of the horizon.

    Notes
    -----
    ``p_{d,h}`` = the file's value for that UTC hour; no randomness, no cap or floor (the
    file's prices are used as they are). Parameter source: the user's file (e.g. ERCOT
    settlement-point prices averaged to the hour, or a forward curve shaped by hour).

    Examples
    --------
    >>> import tempfile, os
    >>> from simulator.rng import PathStreams
    >>> rows = "".join(f"2026-01-01T{h:02d}:00Z,{20 + h}\\n" for h in range(24))
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("datetime,price_usd_per_mwh\\n" + rows)
    >>> model = CsvPowerModel(f.name, start=dt.date(2026, 1, 1), horizon_days=1)
    >>> streams = PathStreams(7, "power", np.arange(2))
    >>> prices, state = model.block(model.start(streams), 0, 1, streams)
    >>> prices.shape, prices[0, :3].tolist()
    ((1, 24, 2), [[20.0, 20.0], [21.0, 21.0], [22.0, 22.0]])
    >>> os.remove(f.name)
    """

    file: str
    start_date: dt.date
    horizon_days: int | None = None

    value_name = "power_price"

    def __init__(self, file: str | Path, start: dt.date | str, horizon_days: int | None = None) -> None:
        object.__setattr__(self, "file", str(file))
        object.__setattr__(self, "start_date", as_date(start))
        object.__setattr__(self, "horizon_days", None if horizon_days is None else int(horizon_days))

    def start(self, streams: PathStreams) -> HourlyCsvState:
        table = load_hourly_csv(self.file, self.value_name)
        if self.horizon_days is not None:
            table.window(self.start_date, self.horizon_days, streams.path_ids)
        return HourlyCsvState(0, table)

    def block(
        self, state: HourlyCsvState, day0: int, n_days: int, streams: PathStreams, common: PathStreams | None = None,
        out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, HourlyCsvState]:
        """Hourly prices of days ``day0 … day0 + n_days − 1`` [USD/MWh], ``(n_days, 24, paths)`` (``out`` unused)."""
        check_block(state.day, day0, n_days)
        values = state.table.window(self.start_date + dt.timedelta(days=day0), n_days, streams.path_ids)
        return values, HourlyCsvState(day0 + n_days, state.table)


#: The power models of ``index`` sites: the model itself, or a ``file`` of hourly prices.
POWER_MODELS: dict[str, type] = {
    "index": IndexPowerModel,
    "csv": CsvPowerModel,
}
