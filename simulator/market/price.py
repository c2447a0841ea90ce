"""BTC price models [USD per BTC], vectorised over Monte Carlo paths.

Time conventions (DESIGN.md, "Conventions and defaults"): the clock is in days since the
scenario start; day ``d`` covers ``[d, d + 1)`` and its price is its close, the price at
``t = d + 1``; ``initial_usd`` is the price at ``t = 0``. A year is exactly 365 days, and
every model's ``drift_annual`` is the mean drift: ``E[S_t] = S_0 e^{μ t}`` (``t`` in years).

Every model is a frozen dataclass built from the scenario's keys and listed in
:data:`PRICE_MODELS` under its ``model:`` name. The engine drives it with

``start(streams) -> state``
    the state of the paths ``streams.path_ids`` at ``t = 0`` (draws nothing);
``block(state, day0, n_days, streams) -> (prices, state)``
    the closes of days ``day0 … day0 + n_days − 1``, shape ``(n_days, paths)``, and the
    state after them.

Each call draws a fixed number of random numbers per path and day from that path's own
generator (:class:`~simulator.rng.PathStreams`), day by day in the same order, so a path's
trajectory depends only on ``(seed, path id)``: not on how the horizon is cut into blocks,
nor on which other paths are simulated alongside it. The state is opaque to the engine.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.lazy_kernel import LazyKernel
from simulator.market.series_csv import CsvDailyModel, as_date, check_block
from simulator.market.validation import require
from simulator.rng import PathStreams

#: Days per year for every annual rate (DESIGN.md: a year is exactly 365 days).
from simulator.units import DAYS_PER_YEAR  # noqa: E402  (re-exported for the models below)

#: Default bootstrap window: the last 5 years (of 365 days) of the history.
BOOTSTRAP_DEFAULT_YEARS = 5

_DT = 1.0 / DAYS_PER_YEAR  # one day [years]


# --------------------------------------------------------------------------- pure helpers


def box_muller(u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals from two independent uniforms on [0, 1).

    ``z1 = sqrt(-2 ln(1 - u1)) cos(2π u2)``, ``z2 = sqrt(-2 ln(1 - u1)) sin(2π u2)``
    (Box & Muller, 1958); ``1 - u1`` lies in (0, 1], so the logarithm is finite.

    Examples
    --------
    >>> z1, z2 = box_muller(np.array([0.0, 1 - np.exp(-0.5)]), np.array([0.25, 0.0]))
    >>> np.round(z1, 12).tolist(), np.round(z2, 12).tolist()
    ([0.0, 1.0], [0.0, 0.0])
    """
    radius = np.sqrt(-2.0 * np.log1p(-u1))
    angle = 2.0 * np.pi * u2
    return radius * np.cos(angle), radius * np.sin(angle)


def poisson_from_uniform(u: np.ndarray, mean: float) -> np.ndarray:
    """Poisson(``mean``) counts by the inverse CDF of uniforms on [0, 1), vectorised.

    ``N = min{k : F(k) > u}`` with ``F`` the Poisson CDF, tabulated past the mean until a term is below
    1e-18 (so the table is exact to double precision).

    Examples
    --------
    >>> poisson_from_uniform(np.array([0.0, 0.5, 0.97]), 1.0).tolist()
    [0, 1, 3]
    """
    if mean <= 0.0:
        return np.zeros(np.shape(u), dtype=np.int64)
    if mean > 500.0:
        raise ValueError(f"Poisson mean {mean} per draw is too large for the inverse-CDF table")
    pmf = math.exp(-mean)
    cdf = [pmf]
    k = 0
    while k <= mean or pmf > 1e-18:
        k += 1
        pmf *= mean / k
        cdf.append(cdf[-1] + pmf)
    return np.searchsorted(np.asarray(cdf), u, side="right").astype(np.int64)


#: The market's recursions compiled (:mod:`simulator.market.market_kernel`: :func:`cumulate`'s, and the lognormal
#: fees' AR(1)): a call of 2¹⁶ path-days loads it (a year of ~180 paths); else 2²⁰ in numpy first (a one-path run
#: never loads it).
MARKET_KERNEL = LazyKernel("simulator.market.market_kernel", large_from=2**16, numpy_at_most=2**20)


def cumulate(carry: np.ndarray, increments: np.ndarray) -> np.ndarray:
    """Running sums ``carry + inc[0], carry + inc[0] + inc[1], …`` along axis 0, written over ``increments``
    (a float array the caller made for them) and returned.

    Summed in the same order whatever the block size, so splitting a horizon into blocks
    gives bit-identical results: each day's row is the previous day's plus the day's increments,
    ``np.cumsum`` of ``[carry, inc[0], inc[1], …]`` along axis 0 (an accumulation adds row after row),
    one row at a time in place (~6× faster on a year of 500 paths: no concatenated copy, and
    numpy's accumulation along the first axis runs element by element).
    """
    kernel = MARKET_KERNEL.for_call(increments.size) if increments.ndim == 2 and increments.dtype == np.float64 \
        and increments.flags.c_contiguous and np.shape(carry) == increments.shape[1:] else None
    if kernel is not None:  # (compiled: the same additions in the same order, market_kernel.cumulate)
        kernel.cumulate(np.asarray(carry, dtype=np.float64), increments)
        return increments
    if len(increments):
        np.add(carry, increments[0], out=increments[0])
    for d in range(1, len(increments)):
        np.add(increments[d - 1], increments[d], out=increments[d])
    return increments


def _days(day0: int, n_days: int) -> np.ndarray:
    """Times [days] of the closes of days ``day0 … day0 + n_days − 1``, as a column."""
    return (day0 + 1 + np.arange(n_days, dtype=float))[:, None]


# --------------------------------------------------------------------------- states


@dataclass(frozen=True)
class LogReturnState:
    """State of a price path: ``day`` = next day to simulate, ``log_return`` = cumulative
    stochastic log return up to ``t = day`` (for gbm and jump the deterministic drift is
    added as ``a·t`` instead), plus model-specific arrays, all of shape ``(paths,)``."""

    day: int
    log_return: np.ndarray
    regime: np.ndarray | None = None
    block_start: np.ndarray | None = None


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class GBMPrice:
    r"""Geometric Brownian motion: ``dS/S = μ dt + σ dW``.

    Parameters
    ----------
    initial_usd : float
        Price at ``t = 0`` [USD per BTC], > 0.
    drift_annual : float
        Mean drift μ [1/year]; ``E[S_t] = S_0 e^{μ t}``. May be 0 or negative.
    vol_annual : float
        Volatility σ [1/sqrt(year)], ≥ 0.

    Notes
    -----
    Exact discretisation with one standard normal ``z_d`` per path and day:

    .. math:: \ln S_{d+1} = \ln S_d + (μ - σ^2/2)\,Δ + σ \sqrt{Δ}\, z_d,\quad Δ = 1/365

    so ``ln(S_t/S_0) ~ N((μ − σ²/2) t, σ² t)``. With σ = 0 the price is exactly
    ``S_0 e^{μ t}``.

    Parameter sources: BTC's realised volatility of daily log returns was 0.56/sqrt(year)
    over 2021-03-22 … 2026-03-22 and 0.46 over the last three of those years (shipped Coin
    Metrics data, :func:`simulator.market.history.load_history`); drift is a view, not an
    estimate. Reference: Hull, *Options, Futures and Other Derivatives*, ch. 15.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = GBMPrice(initial_usd=90_000, drift_annual=0.15, vol_annual=0.0)
    >>> streams = PathStreams(7, "btc_price", np.arange(3))
    >>> prices, state = model.block(model.start(streams), 0, 365, streams)
    >>> prices.shape
    (365, 3)
    >>> np.round(prices[-1], 2).tolist()  # 90,000 e^0.15 after one year
    [104565.08, 104565.08, 104565.08]
    """

    initial_usd: float
    drift_annual: float
    vol_annual: float

    def __post_init__(self) -> None:
        require(self.initial_usd > 0, f"initial_usd must be > 0, got {self.initial_usd}")
        require(self.vol_annual >= 0, f"vol_annual must be >= 0, got {self.vol_annual}")

    def _drift_per_day(self) -> float:
        return (self.drift_annual - 0.5 * self.vol_annual**2) * _DT

    def start(self, streams: PathStreams) -> LogReturnState:
        return LogReturnState(0, np.zeros(streams.paths))

    def block(
        self, state: LogReturnState, day0: int, n_days: int, streams: PathStreams
    ) -> tuple[np.ndarray, LogReturnState]:
        check_block(state.day, day0, n_days)
        z = streams.normal((n_days,))
        noise = cumulate(state.log_return, np.multiply(self.vol_annual * math.sqrt(_DT), z, out=z))
        last = noise[-1].copy() if n_days else state.log_return
        # S_0 · exp(a·t + noise), each step written over the last (fresh memory is slow to touch on this VM)
        prices = np.add(self._drift_per_day() * _days(day0, n_days), noise, out=noise)
        return np.multiply(self.initial_usd, np.exp(prices, out=prices), out=prices), LogReturnState(day0 + n_days, last)


@dataclass(frozen=True)
class JumpPrice:
    r"""Merton jump diffusion, compensated so that ``E[S_t] = S_0 e^{μ t}``.

    Parameters
    ----------
    initial_usd : float
        Price at ``t = 0`` [USD per BTC], > 0.
    drift_annual : float
        Mean drift μ [1/year], jumps included.
    vol_annual : float
        Diffusion volatility σ [1/sqrt(year)], ≥ 0.
    jump_intensity_annual : float
        Jump rate λ [jumps per year], ≥ 0.
    jump_mean : float
        Mean m of the log jump size ``ln J`` [-] (e.g. −0.1 for ≈ −10 % jumps).
    jump_vol : float
        Standard deviation v of the log jump size [-], ≥ 0.

    Notes
    -----
    .. math::
        \ln S_{d+1} = \ln S_d + (μ - σ^2/2 - λκ)\,Δ + σ\sqrt{Δ}\, z_d + N_d m + \sqrt{N_d}\, v\, ε_d,
        \qquad κ = e^{m + v^2/2} - 1,\ N_d \sim \mathrm{Poisson}(λΔ),\ Δ = 1/365

    (the sum of ``N_d`` normal log jumps is ``N(N_d m, N_d v²)``). Each path and day draws
    three uniforms: two become ``z_d, ε_d`` (Box–Muller), one ``N_d`` (inverse CDF).

    Parameter sources: Merton (1976), "Option pricing when underlying stock returns are
    discontinuous", J. Financial Economics 3, 125–144. For BTC, a handful of jumps a year
    with ``jump_mean`` around −0.05 … −0.15 and ``jump_vol`` 0.1 … 0.2 are common
    calibrations; ``hashfleet calibrate`` fits them to the history.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = JumpPrice(initial_usd=90_000, drift_annual=0.15, vol_annual=0.5,
    ...                   jump_intensity_annual=4, jump_mean=-0.1, jump_vol=0.15)
    >>> streams = PathStreams(7, "btc_price", np.arange(5))
    >>> prices, state = model.block(model.start(streams), 0, 30, streams)
    >>> prices.shape, bool((prices > 0).all())
    ((30, 5), True)
    """

    initial_usd: float
    drift_annual: float
    vol_annual: float
    jump_intensity_annual: float
    jump_mean: float
    jump_vol: float

    def __post_init__(self) -> None:
        require(self.initial_usd > 0, f"initial_usd must be > 0, got {self.initial_usd}")
        require(self.vol_annual >= 0, f"vol_annual must be >= 0, got {self.vol_annual}")
        require(self.jump_intensity_annual >= 0, "jump_intensity_annual must be >= 0")
        require(self.jump_vol >= 0, f"jump_vol must be >= 0, got {self.jump_vol}")

    @property
    def kappa(self) -> float:
        """Mean relative jump size ``κ = E[J] − 1 = e^{m + v²/2} − 1``."""
        return math.expm1(self.jump_mean + 0.5 * self.jump_vol**2)

    def _drift_per_day(self) -> float:
        mu, sigma, lam = self.drift_annual, self.vol_annual, self.jump_intensity_annual
        return (mu - 0.5 * sigma**2 - lam * self.kappa) * _DT

    def start(self, streams: PathStreams) -> LogReturnState:
        return LogReturnState(0, np.zeros(streams.paths))

    def block(
        self, state: LogReturnState, day0: int, n_days: int, streams: PathStreams
    ) -> tuple[np.ndarray, LogReturnState]:
        check_block(state.day, day0, n_days)
        u = streams.uniform((n_days, 3))
        z, eps = box_muller(u[:, 0], u[:, 1])
        jumps = poisson_from_uniform(u[:, 2], self.jump_intensity_annual * _DT)
        shocks = (
            self.vol_annual * math.sqrt(_DT) * z
            + jumps * self.jump_mean
            + np.sqrt(jumps) * self.jump_vol * eps
        )
        noise = cumulate(state.log_return, shocks)
        prices = self.initial_usd * np.exp(self._drift_per_day() * _days(day0, n_days) + noise)
        last = noise[-1] if n_days else state.log_return
        return prices, LogReturnState(day0 + n_days, last)


@dataclass(frozen=True)
class Regime:
    """One regime of :class:`RegimePrice`: GBM drift [1/year], volatility [1/sqrt(year)]
    and mean duration [days]."""

    drift_annual: float
    vol_annual: float
    mean_duration_days: float

    @classmethod
    def coerce(cls, item: Any) -> "Regime":
        """A :class:`Regime` from a mapping or any object with the three attributes."""
        if isinstance(item, Regime):
            return item
        keys = ("drift_annual", "vol_annual", "mean_duration_days")
        get = item.__getitem__ if isinstance(item, Mapping) else lambda k: getattr(item, k)
        try:
            return cls(*(float(get(k)) for k in keys))
        except (KeyError, AttributeError) as exc:
            raise ValueError(f"a regime needs {', '.join(keys)}; missing {exc}") from None

    @property
    def leave_probability(self) -> float:
        """Probability of leaving the regime at the end of a day, ``1 − e^{−1/D}``."""
        return -math.expm1(-1.0 / self.mean_duration_days)


@dataclass(frozen=True)
class RegimePrice:
    r"""Regime-switching GBM: each regime has its own drift and volatility.

    Parameters
    ----------
    initial_usd : float
        Price at ``t = 0`` [USD per BTC], > 0.
    regimes : sequence of mappings or objects
        Each with ``drift_annual`` [1/year], ``vol_annual`` [1/sqrt(year)] (≥ 0) and
        ``mean_duration_days`` [days] (> 0; ``inf`` never leaves).
    initial : int
        Index of the regime in force at ``t = 0`` (day 0 runs in it). Default 0.

    Notes
    -----
    Within regime ``r`` a day's log return is GBM's, ``(μ_r − σ_r²/2)Δ + σ_r√Δ z``,
    ``Δ = 1/365``. Durations are exponential with mean ``D_r`` days, observed daily: at the
    end of each day the path leaves ``r`` with probability ``p_r = 1 − e^{−1/D_r}`` and moves
    to one of the other regimes with equal probability. (A day is spent in whole, so the mean
    number of days per visit is ``1/p_r ≈ D_r + 1/2``.) Per path and day three uniforms are
    drawn: one for the switch and its destination, two for the normal (Box–Muller).

    ``E[S_t] = S_0 e^{μ t}`` holds within each regime; over a horizon the mean drift is the
    time-weighted mix of the regimes' drifts. Parameter sources: Hamilton (1989),
    Econometrica 57, 357–384; BTC bull and bear phases of 1–2 years with volatilities of
    0.4–0.9 are typical readings of the shipped history.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = RegimePrice(initial_usd=90_000, regimes=[
    ...     {"drift_annual": 0.6, "vol_annual": 0.5, "mean_duration_days": 500},
    ...     {"drift_annual": -0.5, "vol_annual": 0.8, "mean_duration_days": 250}])
    >>> streams = PathStreams(7, "btc_price", np.arange(4))
    >>> prices, state = model.block(model.start(streams), 0, 365, streams)
    >>> prices.shape, state.regime.shape
    ((365, 4), (4,))
    """

    initial_usd: float
    regimes: Sequence[Any]
    initial: int = 0

    def __post_init__(self) -> None:
        require(self.initial_usd > 0, f"initial_usd must be > 0, got {self.initial_usd}")
        regimes = tuple(Regime.coerce(r) for r in self.regimes)
        require(len(regimes) > 0, "regimes: give at least one regime")
        for i, r in enumerate(regimes):
            require(r.vol_annual >= 0, f"regimes[{i}].vol_annual must be >= 0")
            require(r.mean_duration_days > 0, f"regimes[{i}].mean_duration_days must be > 0")
        require(0 <= self.initial < len(regimes), f"initial must be in 0 … {len(regimes) - 1}")
        object.__setattr__(self, "regimes", regimes)

    def start(self, streams: PathStreams) -> LogReturnState:
        regime = np.full(streams.paths, int(self.initial), dtype=np.int64)
        return LogReturnState(0, np.zeros(streams.paths), regime=regime)

    def block(
        self, state: LogReturnState, day0: int, n_days: int, streams: PathStreams
    ) -> tuple[np.ndarray, LogReturnState]:
        check_block(state.day, day0, n_days)
        u = streams.uniform((n_days, 3))
        mu = np.array([r.drift_annual for r in self.regimes])
        sigma = np.array([r.vol_annual for r in self.regimes])
        leave = np.array([r.leave_probability for r in self.regimes])
        n_regimes = len(self.regimes)

        regime = np.empty((n_days, streams.paths), dtype=np.int64)
        current = state.regime.copy()
        for k in range(n_days):  # the chain is sequential in time; vectorised over paths
            regime[k] = current
            if n_regimes > 1:
                p = leave[current]
                switch = u[k, 0] < p
                scaled = np.divide(u[k, 0], p, out=np.zeros_like(p), where=switch)
                other = np.minimum((scaled * (n_regimes - 1)).astype(np.int64), n_regimes - 2)
                current = np.where(switch, other + (other >= current), current)

        z, _ = box_muller(u[:, 1], u[:, 2])
        mu_d, sigma_d = mu[regime], sigma[regime]
        increments = (mu_d - 0.5 * sigma_d**2) * _DT + sigma_d * math.sqrt(_DT) * z
        log_return = cumulate(state.log_return, increments)
        prices = self.initial_usd * np.exp(log_return)
        last = log_return[-1] if n_days else state.log_return
        return prices, LogReturnState(day0 + n_days, last, regime=current)


def bootstrap_returns(
    history: pd.DataFrame,
    from_date: dt.date | str | None = None,
    to_date: dt.date | str | None = None,
) -> tuple[np.ndarray, dt.date, dt.date]:
    """Daily log returns ``ln(P_d / P_{d−1})`` of ``price_usd`` for days ``from + 1 … to``.

    Defaults: ``to`` = the last day with a price, ``from`` = ``to`` − 5 × 365 days. Every day
    of the window needs a positive price.

    Returns
    -------
    (returns, from_date, to_date)
        ``returns`` has ``(to − from).days`` entries, oldest first.
    """
    source = history.attrs.get("file", "history")
    prices = history["price_usd"].astype(float)
    prices = prices[prices.notna()]
    if prices.empty:
        raise InputError(source, 1, 1, "history: no price_usd values to bootstrap from")
    first, last = prices.index.min().date(), prices.index.max().date()
    end = as_date(to_date) if to_date is not None else last
    begin = (
        as_date(from_date)
        if from_date is not None
        else end - dt.timedelta(days=BOOTSTRAP_DEFAULT_YEARS * DAYS_PER_YEAR)
    )
    if from_date is None:
        begin = max(begin, first)
    if begin >= end:
        raise ValueError(f"bootstrap: from ({begin}) must be before to ({end})")
    if begin < first or end > last:
        raise InputError(
            source, 1, 1,
            f"history: the bootstrap window {begin} … {end} is outside the prices it has "
            f"({first} … {last}); choose from/to inside that range",
        )
    days = pd.date_range(begin, end, freq="D")
    window = prices.reindex(days)
    bad = window.isna() | (window <= 0)
    if bad.any():
        missing = window.index[bad.to_numpy()][0].date()
        raise InputError(
            source, 1, 1,
            f"history: no positive price_usd for {missing}, inside the bootstrap window "
            f"{begin} … {end}; fill the gap or choose another from/to",
        )
    values = window.to_numpy(dtype=float)
    return np.diff(np.log(values)), begin, end


def recentre(returns: np.ndarray, drift_annual: float) -> np.ndarray:
    """Shift daily log returns so that ``mean(exp(r')) = e^{μ/365}``:
    ``r' = r − ln(mean(e^r)) + μ/365``."""
    return returns - np.log(np.mean(np.exp(returns))) + drift_annual * _DT


@dataclass(frozen=True)
class BootstrapPrice:
    r"""Block bootstrap of historical daily log returns.

    Parameters
    ----------
    initial_usd : float
        Price at ``t = 0`` [USD per BTC], > 0.
    block_days : int
        Length of each resampled block [days], ≥ 1. Default 30.
    from_date, to_date : datetime.date or ISO str, optional
        The window of history whose returns are resampled (the scenario's ``from``/``to``).
        Default: the last 5 years (5 × 365 days) up to the history's last price.
    drift_annual : float, optional
        Mean drift μ [1/year] to re-centre the returns to; ``None`` keeps the history's.
    history : pandas.DataFrame, optional
        As returned by :func:`simulator.market.history.load_history` (needs ``price_usd``);
        default the shipped Coin Metrics data (CC BY-NC 4.0, non-commercial use only).

    Notes
    -----
    With ``r_1 … r_L`` the window's daily log returns (``r_i = ln(P_i / P_{i−1})``), days
    ``bB … bB + B − 1`` of the horizon (``B = block_days``, blocks aligned to day 0) take
    ``r_{s_b}, r_{s_b + 1}, …`` where the start ``s_b`` is uniform on the window's L
    positions and indices wrap around the window's end (the circular block bootstrap of
    Politis & Romano, 1992, so that every historical day is equally likely and the
    re-centred mean holds exactly). With a drift,

    .. math:: r_i' = r_i - \ln\Big(\frac{1}{L}\sum_j e^{r_j}\Big) + μ/365

    so each day's expected gross return is ``e^{μ/365}``. ``S_{d+1} = S_d e^{r'}``. One
    uniform is drawn per path and day (used on the first day of each block).

    Parameter sources: Künsch (1989), Annals of Statistics 17, 1217–1241; 30-day blocks keep
    BTC's volatility clustering within a month.

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = BootstrapPrice(initial_usd=90_000, drift_annual=0.10)
    >>> model.window, model.returns.size
    ((datetime.date(2021, 3, 23), datetime.date(2026, 3, 22)), 1825)
    >>> streams = PathStreams(7, "btc_price", np.arange(3))
    >>> prices, state = model.block(model.start(streams), 0, 60, streams)
    >>> prices.shape
    (60, 3)
    """

    initial_usd: float
    block_days: int = 30
    from_date: dt.date | str | None = None
    to_date: dt.date | str | None = None
    drift_annual: float | None = None
    history: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    _returns: np.ndarray = field(init=False, compare=False, repr=False)
    _window: tuple = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        require(self.initial_usd > 0, f"initial_usd must be > 0, got {self.initial_usd}")
        require(int(self.block_days) == self.block_days and self.block_days >= 1,
                 f"block_days must be an integer >= 1, got {self.block_days}")
        history = self.history
        if history is None:
            from simulator.market.history import load_history

            history = load_history()
        returns, begin, end = bootstrap_returns(history, self.from_date, self.to_date)
        if returns.size < self.block_days:
            raise ValueError(
                f"bootstrap: the window {begin} … {end} has {returns.size} daily returns, "
                f"fewer than block_days = {self.block_days}"
            )
        if self.drift_annual is not None:
            returns = recentre(returns, self.drift_annual)
        returns.setflags(write=False)
        object.__setattr__(self, "_returns", returns)
        object.__setattr__(self, "_window", (begin, end))

    @property
    def returns(self) -> np.ndarray:
        """The (re-centred) daily log returns resampled, oldest first (read-only)."""
        return self._returns

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """The history window ``(from, to)`` actually used."""
        return self._window

    def start(self, streams: PathStreams) -> LogReturnState:
        zeros = np.zeros(streams.paths, dtype=np.int64)
        return LogReturnState(0, np.zeros(streams.paths), block_start=zeros)

    def block(
        self, state: LogReturnState, day0: int, n_days: int, streams: PathStreams
    ) -> tuple[np.ndarray, LogReturnState]:
        check_block(state.day, day0, n_days)
        u = streams.uniform((n_days,))
        size, length = self._returns.size, int(self.block_days)
        offset = (day0 + np.arange(n_days)) % length  # day's place in its block
        opened = np.arange(n_days) - offset  # row where the day's block opened (< 0: earlier)
        drawn = np.minimum((u * size).astype(np.int64), size - 1)
        begins = np.where(
            (opened >= 0)[:, None], drawn[np.maximum(opened, 0)], state.block_start[None, :]
        )
        returns = self._returns[(begins + offset[:, None]) % size]
        log_return = cumulate(state.log_return, returns)
        prices = self.initial_usd * np.exp(log_return)
        if n_days:
            after = LogReturnState(day0 + n_days, log_return[-1], block_start=begins[-1])
        else:
            after = state
        return prices, after


class CsvPrice(CsvDailyModel):
    """BTC closes read from a file: ``date,price_usd`` or ``date,path,price_usd``.

    Parameters
    ----------
    file : str or Path
        Long table (see :mod:`simulator.market.series_csv`); the value column is the day's
        close [USD per BTC], > 0. A single series is used for every path.
    start : datetime.date or ISO str
        The scenario start; day ``d`` reads the row dated ``start + d``. Stored as
        ``start_date``.
    horizon_days : int, optional
        If given, :meth:`start` checks up front that the file covers the whole horizon.

    Notes
    -----
    ``S_d`` = the file's value on ``start + d``; no randomness. Parameter source: the user's
    file (e.g. a forward curve or a historical replay).

    Examples
    --------
    >>> import tempfile, os
    >>> from simulator.rng import PathStreams
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("date,price_usd\\n2026-01-01,90000\\n2026-01-02,91000\\n")
    >>> model = CsvPrice(file=f.name, start=dt.date(2026, 1, 1))
    >>> streams = PathStreams(7, "btc_price", np.arange(2))
    >>> prices, state = model.block(model.start(streams), 0, 2, streams)
    >>> prices.tolist()
    [[90000.0, 90000.0], [91000.0, 91000.0]]
    >>> os.remove(f.name)
    """

    value_name = "btc_price"
    minimum = 0.0
    strict = True


#: The ``market.btc_price.model`` registry.
PRICE_MODELS: dict[str, type] = {
    "gbm": GBMPrice,
    "jump": JumpPrice,
    "regime": RegimePrice,
    "bootstrap": BootstrapPrice,
    "csv": CsvPrice,
}
