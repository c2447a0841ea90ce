r"""Fit the ``endogenous`` network hashrate to the daily network hashrate (``hashfleet calibrate``).

The model is the engine's own (:mod:`simulator.network_endogenous`: machines enter while
their payback at the ASIC price index beats ``payback_target_months``; vintages leave after
``capitulation_days`` under water), run over the window on the history's hashprice
(:class:`simulator.network_endogenous.ExogenousBatch`, the same functions the engine calls).
:func:`fit_network` estimates its parameters by two-step feasible GLS with profile-likelihood
intervals; :func:`network_holdout` scores a forecast of the window's last days made without
them, beside a flat forecast's.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, signal

from simulator import network_endogenous as endogenous
from simulator import units
from simulator.config import schema
from simulator.hardware import load_library
from simulator.workflows.calibrate_results import CHI2_1_95, CHI2_2_95, Z_95, Estimate

#: Longest hashprice-to-hashrate lag searched [days] (the literature's range is 1–6 weeks).
DEFAULT_MAX_LAG_DAYS = 120
#: Network power prices searched [USD/MWh].
DEFAULT_POWER_GRID_USD_PER_MWH = (20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)
#: Capitulation delays searched [days] (a week to a quarter: miners do not unplug a fleet
#: after a day or two under water).
DEFAULT_CAPITULATION_GRID_DAYS = (7, 14, 30, 60, 90)
#: Payback targets searched [months]: below the newest machine's multiple at the ASIC price
#: index (m ≈ 288 days, 9.5 months) nothing enters; above a machine's economic life nobody
#: buys (public miners depreciate machines over 3–5 years), so the grid stops at 60 months.
DEFAULT_PAYBACK_TARGET_GRID_MONTHS = (12.0, 15.0, 18.0, 21.0, 24.0, 30.0, 36.0, 42.0, 48.0, 54.0, 60.0)
#: Elasticities searched [1/year per unit of relative payback excess]; 0 is also tried.
ELASTICITY_BOUNDS = (1e-3, 20.0)
#: Days of the fit's end over which a holdout forecast is anchored to the observed level
#: (about one retarget epoch, as a scenario's difficulty-implied start would be).
ANCHOR_DAYS = 14
#: Parameter sets simulated at once (bounds the memory of the network search).
CHUNK_COMBINATIONS = 2048


def history_hashprice_usd_per_ph_day(history: pd.DataFrame) -> pd.Series:
    r"""Daily network hashprice [USD/(PH/s·day)] from the history's columns.

    .. math:: h_d = \frac{(\text{subsidy\_btc}_d + \text{fees\_btc}_d)\, P_d}{H_d / 1000}

    (``H_d`` = ``hashrate_ths``). Coin Metrics' hashrate is the day's blocks × difficulty ×
    2^32 / 86,400 s, so this equals DESIGN.md's ``1e15 × 86400 / (D 2^32) × (subsidy + fees
    per block) × price``, block luck cancelling.
    """
    revenue_btc = history["subsidy_btc"] + history["fees_btc"]
    return revenue_btc * history["price_usd"] / (history["hashrate_ths"] / units.THS_PER_PHS)


@dataclass(frozen=True)
class NetworkInputs:
    """What the endogenous network fit needs, day-aligned.

    ``hashprice_usd_per_ph_day`` covers the ``prior_days`` before the window and its
    ``days`` (index ``prior_days + d`` is window day ``d``); ``hashrate_ehs`` the window's
    observed hashrate; the vintages are the engine's (release day relative to the window
    start, mean J/TH) and ``start_share`` their share of the starting hashrate.
    """

    start: dt.date
    hashrate_ehs: np.ndarray
    hashprice_usd_per_ph_day: np.ndarray
    prior_days: int
    vintages: endogenous.Vintages
    start_share: np.ndarray
    mix_years: float

    @property
    def days(self) -> int:
        return int(self.hashrate_ehs.size)

    @classmethod
    def build(cls, start: dt.date, hashrate_ehs: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
              prior_days: int, library=None, mix_years: float | None = None) -> "NetworkInputs":
        """Vintages from the hardware ``library`` (default: the shipped one) exactly as the
        engine's :class:`simulator.network.EndogenousHashrate` makes them from ``start``;
        ``mix_years`` defaults to the schema's."""
        if mix_years is None:
            mix_years = float(schema.Network.model_fields["mix_years"].default)
        vintages = endogenous.Vintages.from_library(load_library() if library is None else library, start)
        return cls(start, np.asarray(hashrate_ehs, dtype=float), np.asarray(hashprice_usd_per_ph_day, dtype=float),
                   int(prior_days), vintages, vintages.start_share(mix_years), float(mix_years))

    def head(self, days: int) -> "NetworkInputs":
        """The first ``days`` days of the window (the fit part when a holdout is kept)."""
        return replace(self, hashrate_ehs=self.hashrate_ehs[:days],
                       hashprice_usd_per_ph_day=self.hashprice_usd_per_ph_day[: self.prior_days + days])

    def batch(self, params: endogenous.Params) -> endogenous.ExogenousBatch:
        """The engine's recursion over the window for the parameter sets ``params``."""
        return endogenous.ExogenousBatch(self.vintages, self.start_share, self.hashprice_usd_per_ph_day,
                                         self.prior_days, self.days, params)


def endogenous_paths(inputs: NetworkInputs, lag_days, elasticity, power_usd_per_mwh, capitulation_days,
                     payback_target_months) -> np.ndarray:
    r"""Network hashrate relative to its start, as the engine's ``endogenous`` model makes it.

    Parameters
    ----------
    inputs : NetworkInputs
        Hashprice history (including ``prior_days`` ≥ lag days before the window) and vintages.
    lag_days, elasticity, power_usd_per_mwh, capitulation_days, payback_target_months : array (K,) or scalar
        Parameter sets (``lag_days`` [days], ``elasticity`` [1/year],
        ``network_power_usd_per_mwh`` [USD/MWh], ``capitulation_days`` [days],
        ``payback_target_months`` [months]).

    Returns
    -------
    array (days, K)
        ``H_d / H_0`` for each window day and set.

    Notes
    -----
    :class:`simulator.network_endogenous.ExogenousBatch`: the engine's recursion
    (:mod:`simulator.network_endogenous`) with the lag window pre-filled from history,

    .. math::
        H_d = H_{d-1} - \sum_{v\ \text{off}} H_{v,d-1}
              + \text{elasticity}\cdot\max\!\Big(0, \frac{T}{P(h_{d-\text{lag}})} - 1\Big)\frac{H_{d-1}}{365}

    The model is linear in ``H_0``, so the level is fitted separately.
    """
    params = endogenous.Params.of(lag_days, 1.0, power_usd_per_mwh, capitulation_days, payback_target_months)
    e = np.broadcast_to(np.atleast_1d(np.asarray(elasticity, dtype=float)), (params.size,))
    return inputs.batch(params).run(e)


@dataclass(frozen=True)
class NoiseFilter:
    r"""ARMA(1,1) errors of log hashrate: ``(1 − ρB) u_d = (1 + θB) e_d``, ``e`` iid normal.

    :meth:`whiten` returns the innovations ``e`` of a residual series (zero pre-sample
    values, conditional least squares). ``ρ = θ = 0`` is ordinary least squares.
    """

    rho: float = 0.0
    theta: float = 0.0

    def whiten(self, x: np.ndarray) -> np.ndarray:
        """Innovations of ``x`` (days along axis 0; further axes are separate series)."""
        x = np.asarray(x, dtype=float)
        v = x.copy()
        v[1:] -= self.rho * x[:-1]
        if self.theta == 0.0:
            return v
        for t in range(1, v.shape[0]):  # e_t = v_t − θ e_{t−1}: sequential in time, vectorised over series
            v[t] -= self.theta * v[t - 1]
        return v

    @classmethod
    def fit(cls, residual: np.ndarray) -> "NoiseFilter":
        """Conditional-least-squares ARMA(1,1) with ``0 ≤ ρ < 1``, ``|θ| < 1``; white noise
        (ρ = θ = 0) unless the ARMA's likelihood-ratio statistic ``n ln(S_0/S)`` exceeds
        χ²₂(0.95) = 5.99."""
        u = np.asarray(residual, dtype=float) - np.mean(residual)

        def css(x):
            return float(np.sum(signal.lfilter([1.0, -x[0]], [1.0, x[1]], u) ** 2))

        best = None
        for x0 in ((0.0, 0.0), (0.5, -0.3), (0.95, -0.6), (0.99, -0.9)):
            res = optimize.minimize(css, np.array(x0), method="L-BFGS-B", bounds=[(0.0, 0.999), (-0.999, 0.999)])
            if best is None or res.fun < best.fun:
                best = res
        if u.size * math.log(css((0.0, 0.0)) / best.fun) <= CHI2_2_95:
            return cls()
        return cls(float(best.x[0]), float(best.x[1]))


def _objective(batch_out: np.ndarray, log_obs: np.ndarray, noise: NoiseFilter) -> tuple[np.ndarray, np.ndarray]:
    """Sum of squared whitened residuals of ``ln H_obs − a − ln h`` and the level ``a``
    (generalised least squares under :class:`NoiseFilter`), per combination."""
    with np.errstate(divide="ignore"):
        z = log_obs[:, None] - np.log(np.maximum(batch_out, 1e-300))
    w = noise.whiten(z)
    g = noise.whiten(np.ones(log_obs.size))
    gw = g @ w
    level = gw / (g @ g)
    sse = np.einsum("ij,ij->j", w, w) - gw * level
    return sse, level



@dataclass(frozen=True)
class _GridFit:
    sets: endogenous.Params  # the parameter sets searched (their elasticity unused)
    elasticity: np.ndarray  # best per set
    sse: np.ndarray
    level: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.elasticity if name == "elasticity" else getattr(self.sets, name)

    def join(self, other: "_GridFit") -> "_GridFit":
        sets = endogenous.Params(*(np.concatenate([getattr(self.sets, f), getattr(other.sets, f)])
                                   for f in endogenous.FIELDS))
        return _GridFit(sets, *(np.concatenate([getattr(self, f), getattr(other, f)])
                                for f in ("elasticity", "sse", "level")))


def _combinations(lags, powers, caps, targets) -> endogenous.Params:
    """Every (lag, power, capitulation, target) combination, lag fastest (elasticity 1: unused)."""
    T, P, C, L = np.meshgrid(np.asarray(targets, dtype=float), np.asarray(powers, dtype=float),
                             np.asarray(caps, dtype=np.int64), np.asarray(lags, dtype=np.int64), indexing="ij")
    return endogenous.Params.of(L.ravel(), 1.0, P.ravel(), C.ravel(), T.ravel())


def _search(inputs: NetworkInputs, noise: NoiseFilter, sets: endogenous.Params, golden_steps: int = 10,
            parabola_steps: int = 3) -> _GridFit:
    """For every parameter set, the elasticity minimising the GLS objective: a 7-point grid
    in ln(elasticity) (and elasticity 0), golden-section search on the best grid point's
    bracket (10 steps leave ±3 %), then successive parabolic interpolation (3 steps, to well
    under 0.1 %). Sets are simulated in chunks of :data:`CHUNK_COMBINATIONS`."""
    parts = []
    for s in range(0, sets.size, CHUNK_COMBINATIONS):
        chunk = sets.take(slice(s, s + CHUNK_COMBINATIONS))
        parts.append(_search_chunk(inputs, noise, chunk, golden_steps, parabola_steps))
    e, sse, level = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return _GridFit(sets, e, sse, level)


def _search_chunk(inputs: NetworkInputs, noise: NoiseFilter, sets: endogenous.Params, golden_steps: int,
                  parabola_steps: int):
    batch = inputs.batch(sets)
    y = np.log(inputs.hashrate_ehs)
    k = sets.size
    best_e, best_sse, best_level = np.zeros(k), np.full(k, np.inf), np.zeros(k)

    def f(x):  # objective at elasticity e^x, keeping the best point seen
        nonlocal best_e, best_sse, best_level
        e = np.exp(x)
        sse, level = _objective(batch.run(e), y, noise)
        better = sse < best_sse
        best_e, best_sse, best_level = np.where(better, e, best_e), np.where(better, sse, best_sse), \
            np.where(better, level, best_level)
        return sse

    f(np.full(k, -np.inf))  # elasticity 0
    grid = np.log(np.geomspace(*ELASTICITY_BOUNDS, 7))
    values = np.array([f(np.full(k, x)) for x in grid])
    j = np.clip(np.argmin(values, axis=0), 1, grid.size - 2)
    # golden-section search in ln(elasticity) on the best grid point's bracket ...
    lo, hi = grid[j - 1], grid[j + 1]
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fc, fd = f(c), f(d)
    for _ in range(golden_steps):
        left = fc < fd  # the minimum lies in [lo, d]: drop (d, hi]; else drop [lo, c)
        hi, lo = np.where(left, d, hi), np.where(left, lo, c)
        x = np.where(left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        fx = f(x)
        c, fc, d, fd = np.where(left, x, d), np.where(left, fx, fd), np.where(left, c, x), np.where(left, fc, fx)
    # ... then successive parabolic interpolation on the bracket a < m < b (f(m) smallest)
    left = fc < fd
    a, m, b = np.where(left, lo, c), np.where(left, c, d), np.where(left, d, hi)
    fm = np.minimum(fc, fd)
    fa = np.where(left, np.nan, fc)
    fb = np.where(left, fd, np.nan)
    need_a, need_b = np.isnan(fa), np.isnan(fb)
    edge = f(np.where(need_a, a, b))  # the bracket's missing end value
    fa, fb = np.where(need_a, edge, fa), np.where(need_b, edge, fb)
    for _ in range(parabola_steps):
        num = (m - a) ** 2 * (fm - fb) - (m - b) ** 2 * (fm - fa)
        den = (m - a) * (fm - fb) - (m - b) * (fm - fa)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = m - 0.5 * num / den
        ok = np.isfinite(u) & (den > 0) & (u > a) & (u < b)
        u = np.where(ok, u, np.where((b - m) > (m - a), m + 0.382 * (b - m), m - 0.382 * (m - a)))
        u = np.where(np.abs(u - m) < 1e-6, m + 1e-6, u)
        fu = f(u)
        left, better = u < m, fu < fm
        a, fa = np.where(better & ~left, m, np.where(~better & left, u, a)), \
            np.where(better & ~left, fm, np.where(~better & left, fu, fa))
        b, fb = np.where(better & left, m, np.where(~better & ~left, u, b)), \
            np.where(better & left, fm, np.where(~better & ~left, fu, fb))
        m, fm = np.where(better, u, m), np.where(better, fu, fm)
    return best_e, best_sse, best_level


def _elasticity_edges(inputs: NetworkInputs, noise: NoiseFilter, sets: endogenous.Params, e_hat: np.ndarray,
                      threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per set, the elasticities where the GLS objective crosses ``threshold`` below and above
    its optimum ``e_hat`` (16 bisections each side: 0 … ê linearly, ê … upper bound in logs);
    also whether the upper edge is beyond the search bound."""
    y = np.log(inputs.hashrate_ehs)
    m = sets.size
    batch = inputs.batch(sets.take(np.tile(np.arange(m), 2)))
    lo_a, lo_b = np.zeros(m), e_hat.copy()
    hi_a, hi_b = np.log(np.maximum(e_hat, ELASTICITY_BOUNDS[0])), np.full(m, math.log(ELASTICITY_BOUNDS[1]))
    ends = _objective(batch.run(np.concatenate([np.zeros(m), np.exp(hi_b)])), y, noise)[0]
    lower_open, upper_open = ends[:m] <= threshold, ends[m:] <= threshold
    for _ in range(16):
        lo_mid, hi_mid = 0.5 * (lo_a + lo_b), 0.5 * (hi_a + hi_b)
        sse = _objective(batch.run(np.concatenate([lo_mid, np.exp(hi_mid)])), y, noise)[0]
        inside_lo, inside_hi = sse[:m] <= threshold, sse[m:] <= threshold
        lo_b, lo_a = np.where(inside_lo, lo_mid, lo_b), np.where(inside_lo, lo_a, lo_mid)
        hi_a, hi_b = np.where(inside_hi, hi_mid, hi_a), np.where(inside_hi, hi_b, hi_mid)
    low = np.where(lower_open, 0.0, lo_b)
    high = np.where(upper_open, ELASTICITY_BOUNDS[1], np.exp(hi_a))
    return low, high, upper_open


@dataclass(frozen=True)
class Holdout:
    """Forecast error of the network fit on the last ``days`` days of the window.

    The model fitted without them runs on through the holdout with the history's hashprice,
    anchored to the observed level of the last :data:`ANCHOR_DAYS` fitted days (as a
    scenario starts from its difficulty-implied hashrate); the naive forecast holds that
    level flat. Errors are of ln hashrate (≈ relative errors): ``rmse_log`` over the days,
    ``bias_log`` their mean (observed − forecast), ``end_error_pct`` the error of the mean
    of the last :data:`ANCHOR_DAYS` holdout days [%].
    """

    days: int
    rmse_log: float
    bias_log: float
    end_error_pct: float
    naive_rmse_log: float
    naive_end_error_pct: float
    params: dict


@dataclass(frozen=True)
class NetworkFit:
    """The fitted ``endogenous`` network: fragment ``params``, the estimates with their
    intervals, the error model and fit statistics, and the holdout (if any)."""

    params: dict
    estimates: tuple[Estimate, ...]
    noise: NoiseFilter
    days: int
    rmse_log: float
    holdout: Holdout | None = None
    notes: tuple[str, ...] = ()


def _grid_interval(values: np.ndarray, sse: np.ndarray, threshold: float, grid: np.ndarray,
                   floor: float | None = None) -> tuple[float, float, str]:
    """Hull of the grid ``values`` whose profile ``sse`` is within ``threshold``, and a note
    if it reaches an edge of the ``grid`` other than the parameter's natural ``floor``."""
    inside = np.unique(values[sse <= threshold])
    lo, hi = float(inside.min()), float(inside.max())
    grid = np.unique(grid)
    note = ""
    if grid.size > 1 and ((lo == grid.min() and lo != floor) or hi == grid.max()):
        note = "; interval reaches the grid's edge"
    return lo, hi, note


def _profile(values: np.ndarray, sse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` and the smallest ``sse`` at each (a profile over the rest)."""
    grid, idx = np.unique(values, return_inverse=True)
    out = np.full(grid.size, np.inf)
    np.minimum.at(out, idx.ravel(), sse)
    return grid, out


#: The grid-searched parameters: name, unit, natural floor (an interval at it is no grid edge).
GRID_PARAMETERS = (("lag_days", "days", 1), ("network_power_usd_per_mwh", "USD/MWh", 0.0),
                   ("capitulation_days", "days", 1), ("payback_target_months", "months", None))


def _grid_search(inputs: NetworkInputs, noise: NoiseFilter, lags: np.ndarray, others: tuple) -> _GridFit:
    """GLS search over every power × capitulation × target on every ``step``-th lag, then every
    lag near the best lag and near the edges of its interval, for the sets that come close."""
    n = inputs.days
    step = max(1, int(math.ceil(lags.size / 30)))
    grid = _search(inputs, noise, _combinations(lags[::step], *others))
    if step == 1:
        return grid
    sse_min = float(grid.sse.min())
    lag_values, lag_sse = _profile(grid.sets.lag_days, grid.sse)
    inside = lag_values[lag_sse <= sse_min * math.exp(CHI2_1_95 / n)]
    anchors = np.array([grid.sets.lag_days[np.argmin(grid.sse)], inside.min(), inside.max()])
    near = np.abs(lags[:, None] - anchors[None, :]).min(axis=1) < step
    extra = np.setdiff1d(lags[near], grid.sets.lag_days)
    close = grid.sse <= sse_min * math.exp((CHI2_1_95 + 20.0) / n)
    rest = np.unique(np.stack([grid.sets.network_power_usd_per_mwh[close], grid.sets.capitulation_days[close],
                               grid.sets.payback_target_months[close]]), axis=1)
    if not extra.size:
        return grid
    sets = endogenous.Params.of(np.tile(extra, rest.shape[1]), 1.0, np.repeat(rest[0], extra.size),
                                np.repeat(rest[1], extra.size), np.repeat(rest[2], extra.size))
    return grid.join(_search(inputs, noise, sets))


def _elasticity_interval(inputs: NetworkInputs, noise: NoiseFilter, grid: _GridFit,
                         threshold: float) -> tuple[float, float, str]:
    """Profile interval of the elasticity: the edges of every set in the joint region."""
    region = np.flatnonzero(grid.sse <= threshold)
    lows, highs, opens = [], [], []
    for s in range(0, region.size, CHUNK_COMBINATIONS // 2):
        part = region[s: s + CHUNK_COMBINATIONS // 2]
        low, high, open_ = _elasticity_edges(inputs, noise, grid.sets.take(part), grid.elasticity[part], threshold)
        lows.append(low)
        highs.append(high)
        opens.append(open_)
    note = "; interval reaches the search bound" if np.concatenate(opens).any() else ""
    return float(np.min(np.concatenate(lows))), float(np.max(np.concatenate(highs))), note


def _polish(inputs: NetworkInputs, noise: NoiseFilter, best: dict, sse_min: float) -> tuple[float, float]:
    """The best set's elasticity to full precision (a bounded search within ±3 % of it)."""
    e_b = best["elasticity"]
    if e_b <= 0:
        return e_b, sse_min
    y = np.log(inputs.hashrate_ehs)
    single = inputs.batch(endogenous.Params.of(**dict(best, elasticity=1.0)))
    res = optimize.minimize_scalar(lambda x: float(_objective(single.run([math.exp(x)]), y, noise)[0][0]),
                                   bounds=(math.log(e_b) - 0.03, math.log(e_b) + 0.03), method="bounded",
                                   options={"xatol": 1e-7})
    return (float(math.exp(res.x)), float(res.fun)) if res.fun < sse_min else (e_b, sse_min)


def fit_network(inputs: NetworkInputs, *, lags: Sequence[int] | None = None,
                powers_usd_per_mwh: Sequence[float] = DEFAULT_POWER_GRID_USD_PER_MWH,
                capitulation_grid_days: Sequence[int] = DEFAULT_CAPITULATION_GRID_DAYS,
                payback_target_grid_months: Sequence[float] = DEFAULT_PAYBACK_TARGET_GRID_MONTHS) -> NetworkFit:
    r"""Fit the ``endogenous`` network hashrate model to the observed daily hashrate.

    Parameters
    ----------
    inputs : NetworkInputs
        Window hashrate [EH/s], hashprice [USD/(PH/s·day)] with ``prior_days`` before it,
        the engine's vintages.
    lags : sequence of int, optional
        Lags searched [days]; default ``1 … prior_days``.
    powers_usd_per_mwh, capitulation_grid_days, payback_target_grid_months : sequences
        Network power prices [USD/MWh], capitulation delays [days] and payback targets
        [months] searched.

    Returns
    -------
    NetworkFit
        ``params`` = ``{lag_days, elasticity, network_power_usd_per_mwh, capitulation_days,
        payback_target_months, mix_years}`` as :class:`simulator.network.EndogenousHashrate`
        reads them.

    Notes
    -----
    Observation model: ``ln H^obs_d = a + ln h_d(θ) + u_d`` with ``h`` from
    :func:`endogenous_paths` (θ = lag, elasticity, power price, capitulation days, payback
    target), ``a`` the log starting level and ``u`` ARMA(1,1) errors ``(1 − ρB)u_d = (1 + θ_1 B)e_d``
    — daily block luck (white) plus the model's persistent misfit. Two-step feasible GLS:

    1. ordinary least squares over a coarse lag grid gives residuals to which the ARMA(1,1)
       is fitted (conditional least squares);
    2. with that filter fixed, ``S(θ) = Σ e_d²`` (``a`` concentrated out) is minimised over
       every lag × power × capitulation × target combination, the elasticity by
       golden-section search in its logarithm.

    Gaussian innovations make ``n ln(S(θ)/S_min)`` a likelihood-ratio statistic, so each
    95 % interval is the set of values whose profile ``S`` (minimised over the other
    parameters) satisfies ``n ln(S/S_min) ≤ χ²₁(0.95) = 3.84``: the grid parameters'
    intervals are hulls of grid points, the elasticity's edges are found by bisection for
    every combination inside the joint region (its standard error is the interval's
    half-width / 1.96). Parameter source: the history window given; the lag literature:
    Fantazzini & Kolodin (2020).
    """
    n = inputs.days
    y = np.log(inputs.hashrate_ehs)
    lags = np.arange(1, inputs.prior_days + 1) if lags is None else np.asarray(lags, dtype=np.int64)
    others = (np.asarray(powers_usd_per_mwh, dtype=float), np.asarray(capitulation_grid_days, dtype=np.int64),
              np.asarray(payback_target_grid_months, dtype=float))

    # 1. OLS on a coarse grid -> residuals -> ARMA(1,1) error model
    step = max(1, int(math.ceil(lags.size / 12)))
    first = _search(inputs, NoiseFilter(), _combinations(lags[::step], *others), golden_steps=6, parabola_steps=2)
    i = int(np.argmin(first.sse))
    path = inputs.batch(first.sets.take([i])).run(first.elasticity[i: i + 1])[:, 0]
    noise = NoiseFilter.fit(y - first.level[i] - np.log(path))

    # 2. GLS over the grids, profile intervals
    grid = _grid_search(inputs, noise, lags, others)
    best = int(np.argmin(grid.sse))
    sse_min = float(grid.sse[best])
    threshold = sse_min * math.exp(CHI2_1_95 / n)
    white = noise.rho == 0.0 and noise.theta == 0.0
    method = "profile likelihood (" + ("least squares, white errors" if white else "GLS, ARMA(1,1) errors") + ")"
    values = {name: grid.column(name)[best].item() for name in endogenous.FIELDS}
    e_lo, e_hi, e_note = _elasticity_interval(inputs, noise, grid, threshold)
    values["elasticity"], sse_min = _polish(inputs, noise, values, sse_min)
    estimates = [Estimate("network", "elasticity", values["elasticity"], "1/year",
                          None if e_note else (e_hi - e_lo) / (2.0 * Z_95), e_lo, e_hi, method + e_note)]
    searched = dict(zip((g[0] for g in GRID_PARAMETERS), (lags,) + others))
    for name, unit, floor in GRID_PARAMETERS:
        lo, hi, note = _grid_interval(*_profile(grid.column(name), grid.sse), threshold, searched[name], floor=floor)
        estimates.append(Estimate("network", name, values[name], unit, None, lo, hi, method + note))
    fitted = endogenous_paths(inputs, *(values[f] for f in endogenous.FIELDS))[:, 0]
    level = float(_objective(fitted[:, None], y, noise)[1][0])
    resid = y - level - np.log(fitted)
    params = dict(values, mix_years=inputs.mix_years)
    order = {name: k for k, name in enumerate(("lag_days",) + endogenous.FIELDS[1:])}
    estimates.sort(key=lambda e: order[e.parameter])
    return NetworkFit(params, tuple(estimates), noise, n, float(np.sqrt(np.mean(resid**2))))


def network_holdout(inputs: NetworkInputs, holdout_days: int, **grids) -> Holdout:
    """Fit on the window minus its last ``holdout_days`` days and score the forecast of
    those days (see :class:`Holdout`)."""
    n_fit = inputs.days - holdout_days
    fit = fit_network(inputs.head(n_fit), **grids)
    path = endogenous_paths(inputs, *(fit.params[f] for f in endogenous.FIELDS))[:, 0]
    y = np.log(inputs.hashrate_ehs)
    anchor = slice(n_fit - ANCHOR_DAYS, n_fit)
    level = float(np.mean(y[anchor] - np.log(path[anchor])))
    forecast = level + np.log(path[n_fit:])
    naive = np.full(holdout_days, float(np.mean(y[anchor])))
    actual = y[n_fit:]
    tail = slice(-min(ANCHOR_DAYS, holdout_days), None)

    def end_pct(f):
        return 100.0 * (math.exp(float(np.mean(actual[tail] - f[tail]))) - 1.0)

    return Holdout(holdout_days, float(np.sqrt(np.mean((actual - forecast) ** 2))), float(np.mean(actual - forecast)),
                   end_pct(forecast), float(np.sqrt(np.mean((actual - naive) ** 2))), end_pct(naive),
                   dict(fit.params))
