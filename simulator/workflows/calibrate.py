r"""Calibrate the stochastic models to a window of daily history (``hashfleet calibrate``).

On a window ``from … to`` of the daily history (:func:`simulator.market.history.load_history`:
the shipped Coin Metrics data, CC BY-NC 4.0, or the user's own file with the same columns)
this module fits, by maximum likelihood:

* the BTC price models of :mod:`simulator.market.price` to the daily log returns
  ``r_d = ln(P_d / P_{d−1})`` (days ``from + 1 … to``): ``gbm`` (:func:`fit_gbm`), ``jump``
  (Merton, :func:`fit_jump`) and ``regime`` (two-regime hidden Markov, :func:`fit_regime`);
* the ``lognormal`` fee model of :mod:`simulator.market.fees` (log-AR(1)) to the daily fees
  per block ``fees_btc / blocks`` (:func:`fit_fees`);
* the ``endogenous`` network hashrate of :mod:`simulator.network` to the daily network
  hashrate, driven by the history's own hashprice (:func:`fit_network`), with profile
  likelihood confidence intervals and a holdout forecast error;

and writes the fitted parameters as a scenario fragment (:meth:`Calibration.write`) that a
scenario pulls in with ``include: [fragment.yaml]``. Every parameter means what the engine
makes of it: the likelihoods are those of the engine's own discretisations (one step = one
day = 1/365 year; ``drift_annual`` is the mean drift, ``E[S_t] = S_0 e^{μt}``), and the
network fit runs the engine's recursion (:func:`endogenous_paths`, checked against
:class:`simulator.network.EndogenousHashrate` in the tests) with the breakeven hashprice of
:func:`simulator.hardware.breakeven_hashprice_usd_per_ph_day`.

Standard errors come from the observed information (a numerical Hessian of the
log-likelihood at the optimum, parameters mapped by the delta method); 95 % intervals are
Wald intervals on the scale where the parameter is unbounded (log for volatilities and
intensities, logit of the daily switch probability for durations, Fisher-z for φ), mapped
back. The network's discrete and
grid-searched parameters get profile-likelihood intervals.
"""
from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, signal, special

from simulator import __version__, atomic, units
from simulator.config import schema
from simulator.errors import InputError
from simulator.hardware import breakeven_hashprice_usd_per_ph_day, load_library
from simulator.market.history import load_history
from simulator.network import EndogenousHashrate

#: One day [years] (DESIGN.md: a year is exactly 365 days).
DAY_YEARS = 1.0 / units.DAYS_PER_YEAR
#: 97.5 % quantile of the standard normal: half-width of a 95 % Wald interval [sd].
Z_95 = 1.959963984540054
#: 95 % quantile of chi-square with one degree of freedom (profile-likelihood intervals).
CHI2_1_95 = 3.841458820694124
#: 95 % quantile of chi-square with two degrees of freedom (the ARMA(1,1) error test).
CHI2_2_95 = 5.991464547107979

#: Default window: the last 4 × 365 days of the history (one halving cycle; starts after the
#: 2021 mining ban in China, whose hashrate exodus was not a response to hashprice).
DEFAULT_WINDOW_YEARS = 4
#: Days at the end of the window held out of the network fit to measure its forecast error.
DEFAULT_HOLDOUT_DAYS = 180
#: Longest hashprice-to-hashrate lag searched [days] (the literature's range is 1–6 weeks).
DEFAULT_MAX_LAG_DAYS = 120
#: Network power prices searched [USD/MWh].
DEFAULT_POWER_GRID_USD_PER_MWH = (20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)
#: Capitulation delays searched [days] (a week to a quarter: miners do not unplug a fleet
#: after a day or two under water).
DEFAULT_CAPITULATION_GRID_DAYS = (7, 14, 30, 60, 90)
#: Elasticities searched [1/year per unit of relative hashprice excess]; 0 is also tried.
ELASTICITY_BOUNDS = (1e-3, 20.0)
#: Fewest days the network fit (window minus holdout) may have, beyond the longest lag.
MIN_FIT_DAYS = 180
#: Days of the fit's end over which a holdout forecast is anchored to the observed level
#: (about one retarget epoch, as a scenario's difficulty-implied start would be).
ANCHOR_DAYS = 14
#: Price models fitted, in the order they are reported.
PRICE_MODEL_NAMES = ("gbm", "jump", "regime")

_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Estimate:
    """One fitted quantity: its value [``unit``], standard error and 95 % interval.

    ``se``, ``ci_low`` and ``ci_high`` are ``None`` where they do not apply (a fit statistic)
    or cannot be computed (a parameter the data do not identify). ``written`` says whether
    the value goes into the fragment.
    """

    model: str
    parameter: str
    value: float
    unit: str
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    method: str = ""
    written: bool = False

    def row(self) -> dict:
        return {"model": self.model, "parameter": self.parameter, "value": self.value, "se": self.se,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "unit": self.unit,
                "written": self.written, "method": self.method}


#: Columns of :meth:`Calibration.rows`.
ROW_COLUMNS = ("model", "parameter", "value", "se", "ci_low", "ci_high", "unit", "written", "method")


@dataclass(frozen=True)
class _Optimum:
    theta: np.ndarray  # unconstrained optimum
    cov: np.ndarray  # inverse observed information (NaN if not positive definite)
    loglik: float
    at_bound: tuple[int, ...] = ()  # coordinates on a search bound (held fixed for the information)


@dataclass(frozen=True)
class ModelFit:
    """A fitted price or fee model.

    ``params`` are the fragment's keys (without ``model``); ``estimates`` the reported
    parameters with uncertainty; ``loglik`` the maximised log-likelihood of ``n_obs``
    observations with ``n_params`` free parameters.
    """

    model: str
    params: dict
    estimates: tuple[Estimate, ...]
    loglik: float
    n_obs: int
    n_params: int
    notes: tuple[str, ...] = ()

    @property
    def aic(self) -> float:
        """Akaike information criterion ``2k − 2 ln L``."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``k ln n − 2 ln L``."""
        return self.n_params * math.log(self.n_obs) - 2.0 * self.loglik


# --------------------------------------------------------------------------- MLE helpers
def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` (coordinates of order one)."""
    n = x.size
    h = step * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    out = np.empty((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        out[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            out[i, j] = out[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4.0 * h[i] * h[j])
    return out


def _minimise(negloglik: Callable[[np.ndarray], float], starts: Sequence[np.ndarray],
              bounds: Sequence[tuple[float, float]] | None = None,
              with_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None) -> _Optimum:
    """Minimise ``negloglik`` from several starts and invert the numerical Hessian at the
    best optimum: L-BFGS-B from every start to a loose tolerance, then from the best one to
    a tight one (with the analytic gradient of ``with_gradient(θ) -> (value, gradient)`` if
    given, else finite differences)."""
    fun, jac = (with_gradient, True) if with_gradient is not None else (negloglik, None)
    best = None
    for x0 in starts:
        res = optimize.minimize(fun, np.asarray(x0, dtype=float), method="L-BFGS-B", bounds=bounds,
                                jac=jac if jac else "2-point", options={"ftol": 1e-10, "maxiter": 100})
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ValueError("the likelihood is not finite at any starting point")
    res = optimize.minimize(fun, best.x, method="L-BFGS-B", bounds=bounds, jac=jac if jac else "3-point",
                            options={"ftol": 1e-15, "gtol": 1e-8, "maxiter": 500})
    if res.fun <= best.fun:
        best = res
    x = np.asarray(best.x, dtype=float)
    if bounds:
        lo, hi = np.array([b[0] for b in bounds], dtype=float), np.array([b[1] for b in bounds], dtype=float)
    else:
        lo, hi = np.full(x.size, -np.inf), np.full(x.size, np.inf)
    at_bound = tuple(int(i) for i in np.flatnonzero((x - lo < 1e-4) | (hi - x < 1e-4)))
    free = np.setdiff1d(np.arange(x.size), at_bound)
    cov = np.full((x.size, x.size), np.nan)
    if free.size:  # the information of the free coordinates, those on a bound held fixed

        def restricted(z):
            full = x.copy()
            full[free] = z
            return negloglik(full)

        hess = _hessian(restricted, x[free])
        try:
            np.linalg.cholesky(hess)
            cov[np.ix_(free, free)] = np.linalg.inv(hess)
        except np.linalg.LinAlgError:  # not identified: no standard errors
            pass
    return _Optimum(x, cov, -float(best.fun), at_bound)


@dataclass(frozen=True)
class _Reported:
    """How a reported parameter follows from the unconstrained vector θ.

    ``ci`` chooses the interval: ``"wald"`` (value ± 1.96 se), ``"log"`` (Wald on
    ln value, for positive quantities) or an index ``j`` when the value is a monotone
    function of θ_j alone (the interval of θ_j mapped through it)."""

    name: str
    unit: str
    fn: Callable[[np.ndarray], float]
    ci: str | int = "wald"


def _report(model: str, opt: _Optimum, specs: Sequence[_Reported], method: str) -> tuple[Estimate, ...]:
    """Values, delta-method standard errors and 95 % intervals of ``specs`` at ``opt``."""
    out = []
    theta, cov = opt.theta, opt.cov
    for spec in specs:
        value = float(spec.fn(theta))
        grad = np.empty(theta.size)
        for j in range(theta.size):
            h = 1e-6 * max(1.0, abs(theta[j]))
            up, down = theta.copy(), theta.copy()
            up[j] += h
            down[j] -= h
            grad[j] = (spec.fn(up) - spec.fn(down)) / (2.0 * h)
        used = np.flatnonzero(grad != 0.0)
        free = np.setdiff1d(used, opt.at_bound)
        if used.size and not free.size:
            out.append(Estimate(model, spec.name, value, spec.unit, None, None, None,
                                method + "; at the search bound (no interval)"))
            continue
        note = "; given the parameters at a search bound" if free.size < used.size else ""
        var = float(grad[free] @ cov[np.ix_(free, free)] @ grad[free])
        if not np.isfinite(var) or var < 0:
            out.append(Estimate(model, spec.name, value, spec.unit, None, None, None,
                                method + "; not identified (singular information)"))
            continue
        se = math.sqrt(var)
        if isinstance(spec.ci, int):
            j, sd = spec.ci, math.sqrt(cov[spec.ci, spec.ci])
            a, b = theta.copy(), theta.copy()
            a[j] -= Z_95 * sd
            b[j] += Z_95 * sd
            lo, hi = sorted((float(spec.fn(a)), float(spec.fn(b))))
        elif spec.ci == "log" and value > 0:
            lo, hi = value * math.exp(-Z_95 * se / value), value * math.exp(Z_95 * se / value)
        else:
            lo, hi = value - Z_95 * se, value + Z_95 * se
        out.append(Estimate(model, spec.name, value, spec.unit, se, lo, hi, method + note))
    return tuple(out)


def _as_series(values: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    """``values`` as a float array of shape ``(days, series)`` (one column for a 1-D input)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 3:
        raise ValueError(f"{what}: need at least 3 days of data, got shape {np.shape(values)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: values must be finite")
    return arr


# --------------------------------------------------------------------------- price: GBM
def fit_gbm(log_returns: np.ndarray | Sequence[float]) -> ModelFit:
    r"""Maximum-likelihood GBM fit to daily log returns.

    Parameters
    ----------
    log_returns : array, shape (days,) or (days, series)
        Daily log returns ``r_d = ln(P_d / P_{d−1})`` [-]; columns are independent series.

    Returns
    -------
    ModelFit
        ``params`` = ``{drift_annual, vol_annual}`` as :class:`simulator.market.price.GBMPrice`
        reads them: μ [1/year] is the mean drift, σ [1/sqrt(year)].

    Notes
    -----
    The engine's exact discretisation is ``r_d ~ N((μ − σ²/2)Δ, σ²Δ)`` with ``Δ = 1/365``.
    With ``m`` and ``s²`` the sample mean and (MLE, divide-by-n) variance of the ``n``
    returns:

    .. math:: \hat σ = s/\sqrt{Δ},\qquad \hat μ = m/Δ + \hat σ^2/2

    and, ``m`` and ``s²`` being independent with variances ``s²/n`` and ``2s⁴/n``,
    ``se(μ̂) = sqrt(σ²/(nΔ) + σ⁴/(2n))``, ``se(σ̂) = σ/sqrt(2n)`` (the σ interval is Wald on
    ln σ). Parameter source: the history window given (reference: Campbell, Lo & MacKinlay,
    *The Econometrics of Financial Markets*, 1997, ch. 9).

    Examples
    --------
    >>> fit = fit_gbm(np.array([0.01, -0.02, 0.015, 0.0, -0.005]))
    >>> round(fit.params["vol_annual"], 4), fit.n_obs
    (0.234, 5)
    """
    r = _as_series(log_returns, "log returns").ravel()
    n = r.size
    m = float(r.mean())
    s2 = float(np.mean((r - m) ** 2))
    if s2 <= 0:
        raise ValueError("log returns: all equal, the volatility cannot be estimated")
    sigma = math.sqrt(s2 / DAY_YEARS)
    mu = m / DAY_YEARS + 0.5 * sigma**2
    se_mu = math.sqrt(sigma**2 / (n * DAY_YEARS) + sigma**4 / (2.0 * n))
    se_sigma = sigma / math.sqrt(2.0 * n)
    method = "MLE (closed form)"
    estimates = (
        Estimate("gbm", "drift_annual", mu, "1/year", se_mu, mu - Z_95 * se_mu, mu + Z_95 * se_mu, method),
        Estimate("gbm", "vol_annual", sigma, "1/sqrt(year)", se_sigma,
                 sigma * math.exp(-Z_95 / math.sqrt(2.0 * n)), sigma * math.exp(Z_95 / math.sqrt(2.0 * n)),
                 method),
    )
    loglik = -0.5 * n * (_LOG_2PI + math.log(s2) + 1.0)
    return ModelFit("gbm", {"drift_annual": mu, "vol_annual": sigma}, estimates, loglik, n, 2)


# --------------------------------------------------------------------------- price: jump
_MAX_JUMPS_PER_DAY = 12  # Poisson terms kept; P(N > 12) < 1e-12 for λΔ ≤ 0.5
#: Largest jump rate searched [jumps per day]: beyond one every other day the "jumps" are
#: just the fat tails of ordinary days.
MAX_JUMP_PROBABILITY_PER_DAY = 0.5


def _jump_loglik(theta: np.ndarray, r: np.ndarray, scale: float, gradient: bool = False):
    """Log-likelihood of the Merton mixture (and its gradient in θ);
    θ = (a/c, ln(σ_d/c), ln λ_d, m/c, ln(v/c)) with ``c`` = ``scale``."""
    a, sd, lam, jm, jv = theta[0] * scale, math.exp(theta[1]) * scale, math.exp(theta[2]), \
        theta[3] * scale, math.exp(theta[4]) * scale
    k = np.arange(_MAX_JUMPS_PER_DAY + 1, dtype=float)[:, None]
    var = sd**2 + k * jv**2
    dev = r[None, :] - a - k * jm
    log_terms = k * math.log(lam) - lam - special.gammaln(k + 1.0) - 0.5 * (_LOG_2PI + np.log(var) + dev**2 / var)
    per_day = special.logsumexp(log_terms, axis=0)
    if not gradient:
        return float(per_day.sum())
    w = np.exp(log_terms - per_day[None, :])  # posterior probability of k jumps on each day
    d_mean = w * dev / var  # ∂/∂(component mean)
    d_var = 0.5 * w * (dev**2 / var**2 - 1.0 / var)  # ∂/∂(component variance)
    grad = np.array([
        d_mean.sum() * scale,
        d_var.sum() * 2.0 * sd**2,
        float(np.sum(w * (k - lam))),
        float(np.sum(k * d_mean)) * scale,
        float(np.sum(k * d_var)) * 2.0 * jv**2,
    ])
    return float(per_day.sum()), grad


def fit_jump(log_returns: np.ndarray | Sequence[float]) -> ModelFit:
    r"""Maximum-likelihood Merton jump-diffusion fit to daily log returns.

    Parameters
    ----------
    log_returns : array, shape (days,) or (days, series)
        Daily log returns [-]; columns are independent series.

    Returns
    -------
    ModelFit
        ``params`` = ``{drift_annual, vol_annual, jump_intensity_annual, jump_mean,
        jump_vol}`` as :class:`simulator.market.price.JumpPrice` reads them (mean drift μ
        [1/year] with the jumps compensated, σ [1/sqrt(year)], λ [jumps/year], m and v of
        the log jump size [-]).

    Notes
    -----
    The engine's daily step is ``r_d = a + σ√Δ z + N m + √N v ε`` with
    ``N ~ Poisson(λΔ)`` and ``a = (μ − σ²/2 − λκ)Δ``, ``κ = e^{m + v²/2} − 1``, so

    .. math:: f(r) = \sum_{k=0}^{12} e^{-λΔ}\frac{(λΔ)^k}{k!}\,
              φ\big(r;\ a + k m,\ σ^2Δ + k v^2\big)

    (terms beyond 12 jumps a day are below 1e-12 for ``λΔ ≤ 0.5``, the bound searched).
    ``ln L = Σ ln f(r_d)`` is maximised over ``(a, ln σ, ln λ, m, ln v)`` from three starts
    (the robust-outlier guess, rare large jumps, frequent small ones); then
    ``μ = a/Δ + σ²/2 + λκ``. Standard errors from the observed information (delta method).
    Parameter source: the history window given; model: Merton (1976), J. Financial
    Economics 3, 125–144; on why the intensity must be bounded (the likelihood of a mixture
    of normals is unbounded otherwise): Honoré (1998), "Pitfalls in estimating
    jump-diffusion models".
    """
    r = _as_series(log_returns, "log returns").ravel()
    n = r.size
    scale = float(np.std(r))
    if scale <= 0:
        raise ValueError("log returns: all equal, the volatility cannot be estimated")
    med = float(np.median(r))
    mad = 1.4826 * float(np.median(np.abs(r - med))) or scale
    outliers = r[np.abs(r - med) > 4.0 * mad]
    lam0 = min(max(outliers.size / n, 2.0 / n), 0.2)
    jm0 = float(outliers.mean() - med) if outliers.size >= 2 else 0.0
    jv0 = max(float(outliers.std()) if outliers.size >= 2 else 3.0 * mad, mad)

    def start(a, sd, lam, jm, jv):
        return np.array([a / scale, math.log(sd / scale), math.log(lam), jm / scale, math.log(jv / scale)])

    starts = [start(med, mad, lam0, jm0, jv0), start(med, 0.9 * scale, 0.01, 0.0, 3.0 * scale),
              start(med, 0.6 * scale, 0.15, 0.0, 1.5 * scale)]
    bounds = [(-5.0, 5.0), (math.log(0.02), math.log(5.0)),
              (math.log(0.01 * DAY_YEARS), math.log(MAX_JUMP_PROBABILITY_PER_DAY)),
              (-50.0, 50.0), (math.log(0.05), math.log(50.0))]

    def negative(th):
        value, grad = _jump_loglik(th, r, scale, gradient=True)
        return -value, -grad

    opt = _minimise(lambda th: -_jump_loglik(th, r, scale), starts, bounds, with_gradient=negative)

    def sigma_annual(th):
        return math.exp(th[1]) * scale / math.sqrt(DAY_YEARS)

    def lam_annual(th):
        return math.exp(th[2]) / DAY_YEARS

    def drift(th):
        a, sd, lam = th[0] * scale, math.exp(th[1]) * scale, math.exp(th[2])
        jm, jv = th[3] * scale, math.exp(th[4]) * scale
        return (a + 0.5 * sd**2 + lam * math.expm1(jm + 0.5 * jv**2)) / DAY_YEARS

    specs = [
        _Reported("drift_annual", "1/year", drift),
        _Reported("vol_annual", "1/sqrt(year)", sigma_annual, 1),
        _Reported("jump_intensity_annual", "jumps/year", lam_annual, 2),
        _Reported("jump_mean", "-", lambda th: th[3] * scale, 3),
        _Reported("jump_vol", "-", lambda th: math.exp(th[4]) * scale, 4),
    ]
    notes = []
    if 2 in opt.at_bound and opt.theta[2] > bounds[2][0]:
        notes.append(f"jump_intensity_annual is at its search bound ({MAX_JUMP_PROBABILITY_PER_DAY:g} a day): "
                     "the jumps model fat-tailed days, not rare crashes; the other intervals hold it fixed")
    estimates = _report("jump", opt, specs, "MLE (Poisson mixture, observed information)")
    params = {e.parameter: e.value for e in estimates}
    return ModelFit("jump", params, estimates, opt.loglik, n, 5, tuple(notes))


# --------------------------------------------------------------------------- price: regime
def _regime_unpack(theta: np.ndarray, scale: float):
    m = np.array([theta[0], theta[2]]) * scale
    s = np.exp([theta[1], theta[3]]) * scale
    p = special.expit([theta[4], theta[5]])
    return m, s, p


def _regime_forward(theta: np.ndarray, r: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """Log-likelihood of a 2-state Gaussian HMM and the filtered state probabilities on the
    last day of each series (``r`` is ``(days, series)``).

    The forward recursion ``α_t = α_{t−1} A diag(b_t)`` is the ordered product of 2 × 2
    matrices ``diag(b_1) A diag(b_2) … A diag(b_T)``, reduced pairwise in ``log2 T``
    vectorised steps (the four entries held as separate arrays); each product is rescaled by
    its largest entry and the scales summed in logs (positive matrices: no cancellation)."""
    m, s, p = _regime_unpack(theta, scale)
    z0, z1 = (r - m[0]) / s[0], (r - m[1]) / s[1]
    l0, l1 = -0.5 * z0 * z0 - math.log(s[0]), -0.5 * z1 * z1 - math.log(s[1])
    shift = np.maximum(l0, l1)
    b0, b1 = np.exp(l0 - shift), np.exp(l1 - shift)  # emission densities, rescaled per day
    log_scale = shift.sum(axis=0) - 0.5 * _LOG_2PI * r.shape[0]
    # M_t = A diag(b_t) = [[(1 − p0) b0, p0 b1], [p1 b0, (1 − p1) b1]]; M_1 = diag(b0, b1)
    x00, x01, x10, x11 = (1.0 - p[0]) * b0, p[0] * b1, p[1] * b0, (1.0 - p[1]) * b1
    x00[0], x01[0], x10[0], x11[0] = b0[0], 0.0, 0.0, b1[0]
    while x00.shape[0] > 1:
        if x00.shape[0] % 2:  # pad with the identity
            one, zero = np.ones((1,) + x00.shape[1:]), np.zeros((1,) + x00.shape[1:])
            x00, x01, x10, x11 = (np.concatenate([x, e]) for x, e in ((x00, one), (x01, zero), (x10, zero),
                                                                      (x11, one)))
        a00, a01, a10, a11 = x00[0::2], x01[0::2], x10[0::2], x11[0::2]
        b00, b01, b10, b11 = x00[1::2], x01[1::2], x10[1::2], x11[1::2]
        y00, y01 = a00 * b00 + a01 * b10, a00 * b01 + a01 * b11
        y10, y11 = a10 * b00 + a11 * b10, a10 * b01 + a11 * b11
        c = np.maximum(np.maximum(y00, y01), np.maximum(y10, y11))
        x00, x01, x10, x11 = y00 / c, y01 / c, y10 / c, y11 / c
        log_scale = log_scale + np.log(c).sum(axis=0)
    pi0, pi1 = p[1] / (p[0] + p[1]), p[0] / (p[0] + p[1])  # the stationary distribution
    alpha0, alpha1 = pi0 * x00[0] + pi1 * x10[0], pi0 * x01[0] + pi1 * x11[0]
    total = alpha0 + alpha1
    return float(np.sum(log_scale + np.log(total))), np.stack([alpha0 / total, alpha1 / total], axis=-1)


def fit_regime(log_returns: np.ndarray | Sequence[float], min_duration_days: float | None = None) -> ModelFit:
    r"""Maximum-likelihood two-regime Markov-switching GBM (a Gaussian hidden Markov model).

    Parameters
    ----------
    log_returns : array, shape (days,) or (days, series)
        Daily log returns [-]; columns are independent series (each starts in the chain's
        stationary distribution).
    min_duration_days : float, optional
        Smallest ``mean_duration_days`` allowed [days] (e.g. 90 to look for bull and bear
        phases rather than the days-long volatility states daily BTC returns favour);
        default: unconstrained (down to 1/ln 2 ≈ 1.44 days, a switch probability of 0.5).

    Returns
    -------
    ModelFit
        ``params`` = ``{regimes: [{drift_annual, vol_annual, mean_duration_days}] × 2,
        initial}`` as :class:`simulator.market.price.RegimePrice` reads them, regime 0 the
        calmer one (lower ``vol_annual``); ``initial`` is the regime more likely on the last
        day of the (last) series, given the returns up to it.

    Notes
    -----
    As the engine simulates it: in regime ``k`` a day's return is
    ``N((μ_k − σ_k²/2)Δ, σ_k²Δ)``; at the end of a day the chain leaves ``k`` with
    probability ``p_k = 1 − e^{−1/D_k}`` (``D_k`` = ``mean_duration_days``), so

    .. math:: A = \begin{pmatrix} 1-p_0 & p_0 \\ p_1 & 1-p_1 \end{pmatrix},\qquad
              L = π^\top \operatorname{diag}(b_1) \prod_{t=2}^{T} A \operatorname{diag}(b_t)\,\mathbf 1

    with ``π`` the stationary law. ``ln L`` is maximised over the daily means, log daily
    volatilities and logit switch probabilities from three starts (split by 30-day
    volatility, by 90-day trend, and a symmetric guess); ``D_k = −1/ln(1 − p_k)``,
    ``μ_k = (m_k + s_k²/2)/Δ``, ``σ_k = s_k/√Δ``. Standard errors from the observed
    information. Parameter source: the history window given; model: Hamilton (1989),
    Econometrica 57, 357–384.
    """
    r = _as_series(log_returns, "log returns")
    T, S = r.shape
    scale = float(np.std(r))
    if scale <= 0:
        raise ValueError("log returns: all equal, the volatility cannot be estimated")

    def rolling(x, w, fn):
        frame = pd.DataFrame(x)
        return getattr(frame.rolling(w, min_periods=1, center=True), fn)().to_numpy()

    def split_start(mask, p):
        a, b = r[mask], r[~mask]
        if a.size < 10 or b.size < 10:
            a, b = r.ravel(), r.ravel()
        return np.array([a.mean() / scale, math.log(max(a.std(), 1e-3 * scale) / scale),
                         b.mean() / scale, math.log(max(b.std(), 1e-3 * scale) / scale),
                         special.logit(p), special.logit(p)])

    vol30 = rolling(np.abs(r), 30, "mean")
    trend90 = rolling(r, 90, "mean")
    starts = [split_start(vol30 <= np.median(vol30), 1.0 / 200.0),
              split_start(trend90 >= np.median(trend90), 1.0 / 300.0),
              np.array([0.0, math.log(0.7), 0.0, math.log(1.4), special.logit(0.01), special.logit(0.01)])]
    p_max = 0.5 if min_duration_days is None else min(0.5, -math.expm1(-1.0 / float(min_duration_days)))
    p_min = min(1e-5, 0.5 * p_max)
    bounds = [(-5.0, 5.0), (math.log(0.02), math.log(10.0))] * 2 + [(special.logit(p_min), special.logit(p_max))] * 2
    for x0 in starts:
        x0[4:] = np.clip(x0[4:], special.logit(p_min) + 1e-6, special.logit(p_max) - 1e-6)
    opt = _minimise(lambda th: -_regime_forward(th, r, scale)[0], starts, bounds)
    if opt.theta[1] > opt.theta[3]:  # regime 0 is the calmer one
        order = [2, 3, 0, 1, 5, 4]
        opt = _Optimum(opt.theta[order], opt.cov[np.ix_(order, order)], opt.loglik,
                       tuple(sorted(order.index(i) for i in opt.at_bound)))
    _, filtered = _regime_forward(opt.theta, r, scale)
    initial = int(np.argmax(filtered[-1]))

    specs = []
    for k in range(2):
        im, isd, ip = 2 * k, 2 * k + 1, 4 + k

        def drift(th, im=im, isd=isd):
            return (th[im] * scale + 0.5 * (math.exp(th[isd]) * scale) ** 2) / DAY_YEARS

        def vol(th, isd=isd):
            return math.exp(th[isd]) * scale / math.sqrt(DAY_YEARS)

        def duration(th, ip=ip):
            return -1.0 / math.log1p(-special.expit(th[ip]))

        specs += [_Reported(f"regimes[{k}].drift_annual", "1/year", drift),
                  _Reported(f"regimes[{k}].vol_annual", "1/sqrt(year)", vol, isd),
                  _Reported(f"regimes[{k}].mean_duration_days", "days", duration, ip)]
    estimates = _report("regime", opt, specs, "MLE (hidden Markov, observed information)")
    values = {e.parameter: e.value for e in estimates}
    regimes = [{key: values[f"regimes[{k}].{key}"] for key in ("drift_annual", "vol_annual", "mean_duration_days")}
               for k in range(2)]
    notes = [f"initial regime {initial}: filtered probability {filtered[-1, initial]:.3f} on the last day"]
    at_bound = [k for k in range(2) if 4 + k in opt.at_bound and opt.theta[4 + k] > special.logit(p_min) + 1.0]
    if at_bound:
        floor = -1.0 / math.log1p(-p_max)
        notes.append(f"mean_duration_days of regime(s) {', '.join(map(str, at_bound))} at the shortest allowed "
                     f"({floor:.3g} days); the other intervals hold it fixed")
    return ModelFit("regime", {"regimes": regimes, "initial": initial}, estimates, opt.loglik, T * S, 6,
                    tuple(notes))


# --------------------------------------------------------------------------- fees
def fit_fees(fees_btc_per_block: np.ndarray | Sequence[float]) -> ModelFit:
    r"""Maximum-likelihood fit of the ``lognormal`` (log-AR(1)) fee model.

    Parameters
    ----------
    fees_btc_per_block : array, shape (days,) or (days, series)
        Daily mean fees per block [BTC] (history: ``fees_btc / blocks``), > 0; columns are
        independent series.

    Returns
    -------
    ModelFit
        ``params`` = ``{btc_per_block, vol, phi}`` as
        :class:`simulator.market.fees.LognormalFees` reads them: the mean fees per block
        [BTC], the stationary standard deviation of log fees [-] and the daily AR(1)
        coefficient φ [-], clipped into the schema's [0, 0.999] (a note says so).

    Notes
    -----
    The engine's model is ``f_d = f̄ e^{x_d − s²/2}`` with ``x`` a stationary AR(1) of
    variance ``s²``, so ``y_d = ln f_d`` is a Gaussian AR(1) with mean ``c = ln f̄ − s²/2``:

    .. math:: y_1 \sim N(c, s^2),\qquad y_d \mid y_{d-1} \sim N\big(c + φ(y_{d-1} - c),\ s^2(1 - φ^2)\big)

    The exact likelihood is maximised over ``(c, ln s, atanh φ)``; ``f̄ = e^{c + s²/2}``
    (its interval is Wald on ``ln f̄``). Parameter source: the history window given;
    reference: Hamilton, *Time Series Analysis* (1994), §5.2.

    Examples
    --------
    >>> fit = fit_fees(np.exp(np.sin(np.arange(400) / 9.0)) * 0.02)
    >>> fit.params["phi"] > 0.9
    True
    """
    f = _as_series(fees_btc_per_block, "fees per block")
    if (f <= 0).any():
        raise ValueError("fees per block: every value must be > 0 for a lognormal fit")
    y = np.log(f)

    def negloglik(th):
        c, s, phi = th[0], math.exp(th[1]), math.tanh(th[2])
        v1, v = s * s, s * s * (1.0 - phi * phi)
        first = -0.5 * (_LOG_2PI + math.log(v1) + (y[0] - c) ** 2 / v1)
        rest = -0.5 * (_LOG_2PI + math.log(v) + (y[1:] - c - phi * (y[:-1] - c)) ** 2 / v)
        return -float(first.sum() + rest.sum())

    yc = y - y.mean()
    rho = float(np.sum(yc[1:] * yc[:-1]) / np.sum(yc * yc)) if np.any(yc) else 0.0
    sd = max(float(y.std()), 1e-6)
    starts = [np.array([y.mean(), math.log(sd), math.atanh(min(max(rho, -0.95), 0.95))]),
              np.array([y.mean(), math.log(sd), math.atanh(0.5)])]
    opt = _minimise(negloglik, starts, [(-50.0, 50.0), (math.log(1e-6), math.log(50.0)), (-5.0, 5.0)])
    specs = [
        _Reported("btc_per_block", "BTC", lambda th: math.exp(th[0] + 0.5 * math.exp(th[1]) ** 2), "log"),
        _Reported("vol", "-", lambda th: math.exp(th[1]), 1),
        _Reported("phi", "-", lambda th: math.tanh(th[2]), 2),
    ]
    estimates = _report("fees", opt, specs, "MLE (exact AR(1), observed information)")
    params = {e.parameter: e.value for e in estimates}
    notes = []
    clipped = min(max(params["phi"], 0.0), 0.999)
    if clipped != params["phi"]:
        notes.append(f"phi {params['phi']:.4f} clipped to {clipped} (the schema needs 0 <= phi < 1)")
        params["phi"] = clipped
    return ModelFit("fees", params, estimates, opt.loglik, y.size, 3, tuple(notes))


# --------------------------------------------------------------------------- network
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
    start, mean J/TH, starting share of hashrate).
    """

    start: dt.date
    hashrate_ehs: np.ndarray
    hashprice_usd_per_ph_day: np.ndarray
    prior_days: int
    release_day: np.ndarray
    efficiency_jth: np.ndarray
    start_share: np.ndarray
    mix_years: float

    @property
    def days(self) -> int:
        return int(self.hashrate_ehs.size)

    @classmethod
    def build(cls, start: dt.date, hashrate_ehs: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
              prior_days: int, library=None, mix_years: float | None = None) -> "NetworkInputs":
        """Vintages from the hardware ``library`` (default: the shipped one) exactly as
        :meth:`simulator.network.EndogenousHashrate.from_library` and ``start`` make them."""
        if mix_years is None:
            mix_years = float(schema.Network.model_fields["mix_years"].default)
        library = load_library() if library is None else library
        model = EndogenousHashrate.from_library(library, start, 1.0, mix_years=mix_years)
        share = model.start(1).ehs[:, 0]
        return cls(start, np.asarray(hashrate_ehs, dtype=float), np.asarray(hashprice_usd_per_ph_day, dtype=float),
                   int(prior_days), model.release_day, model.efficiency_jth, share, float(mix_years))

    def head(self, days: int) -> "NetworkInputs":
        """The first ``days`` days of the window (the fit part when a holdout is kept)."""
        return NetworkInputs(self.start, self.hashrate_ehs[:days],
                             self.hashprice_usd_per_ph_day[: self.prior_days + days], self.prior_days,
                             self.release_day, self.efficiency_jth, self.start_share, self.mix_years)


class _EndogenousBatch:
    """The engine's endogenous recursion for K parameter combinations at once (see
    :func:`endogenous_paths`).

    Everything that does not depend on the elasticity is prepared once: the lagged
    hashprice excess over the newest vintage's breakeven, and for each (power price,
    capitulation days) pair the days on which vintages switch off (the same for every lag
    and elasticity). :meth:`run` then walks each pair's combinations from one such day (or
    release of a new vintage) to the next, compounding the growth in between with a
    vectorised cumulative product.
    """

    def __init__(self, inputs: NetworkInputs, lag_days, power_usd_per_mwh, capitulation_days):
        lag, power, cap = np.broadcast_arrays(np.asarray(lag_days, dtype=np.int64),
                                              np.asarray(power_usd_per_mwh, dtype=float),
                                              np.asarray(capitulation_days, dtype=np.int64))
        lag, power, cap = lag.ravel(), power.ravel(), cap.ravel()
        if lag.max(initial=0) + 1 > inputs.prior_days:
            raise ValueError(f"lag {lag.max()} days needs {lag.max() + 1} days of hashprice before the window")
        n, prior = inputs.days, inputs.prior_days
        hp = inputs.hashprice_usd_per_ph_day
        powers, p_idx = np.unique(power, return_inverse=True)
        p_idx = p_idx.ravel()
        b = breakeven_hashprice_usd_per_ph_day(powers[None, :], inputs.efficiency_jth[:, None])  # (V, P)
        day = np.arange(n)
        newest = np.searchsorted(inputs.release_day, day, side="right") - 1  # released by the day
        if (newest < 0).any():
            raise ValueError("no hardware released by the window start")
        # the combinations, grouped by (power, capitulation) pair
        pairs, pc_idx = np.unique(np.stack([p_idx, cap]), axis=1, return_inverse=True)
        pc_idx = pc_idx.ravel()
        self.order = np.argsort(pc_idx, kind="stable")
        self.inverse = np.argsort(self.order, kind="stable")
        bounds = np.searchsorted(pc_idx[self.order], np.arange(pairs.shape[1] + 1))
        # lagged hashprice over the newest vintage's breakeven, less one, per year: (n, K) sorted
        lag_s, p_s = lag[self.order], p_idx[self.order]
        lagged = hp[prior + day[:, None] - 1 - lag_s[None, :]]
        excess = np.maximum(0.0, lagged / b[newest][:, p_s] - 1.0) / units.DAYS_PER_YEAR
        # days under water: yesterday's hashprice below a vintage's breakeven, run lengths (n, V, P)
        above = b[None, :, :] > hp[prior - 1: prior + n - 1, None, None]
        count = np.cumsum(above, axis=0)
        under = count - np.maximum.accumulate(np.where(above, 0, count), axis=0)
        zero = under[:, :, pairs[0]] >= pairs[1][None, None, :]  # (n, V, pairs): switched off
        previous = np.concatenate([np.zeros_like(zero[:1]), zero[:-1]], axis=0)
        newest_before = np.concatenate([newest[:1], newest[:-1]])
        was_newest = np.arange(b.shape[0])[None, :, None] == newest_before[:, None, None]
        events = zero & (~previous | was_newest)  # switch-offs that can remove hashrate
        releases = np.flatnonzero(np.diff(newest)) + 1
        self.groups = []
        for q in range(pairs.shape[1]):
            off_days, off_vintages = np.nonzero(events[:, :, q])
            stops = np.unique(np.concatenate([[0], releases, off_days, [n]])).astype(int)
            plan = [(int(d), int(end), off_vintages[off_days == d] if d in off_days else None, int(newest[d]))
                    for d, end in zip(stops[:-1], stops[1:])]
            cols = slice(int(bounds[q]), int(bounds[q + 1]))
            self.groups.append((cols, np.ascontiguousarray(excess[:, cols].T), plan))
        self.newest = newest
        self.start_share = inputs.start_share
        self.shape = (n, lag.size)

    def run(self, elasticity) -> np.ndarray:
        """``H_d / H_0`` for each day and combination, given per-combination elasticities:
        an array ``(days, K)``."""
        n, k = self.shape
        e = np.broadcast_to(np.asarray(elasticity, dtype=float), (k,))[self.order]
        parts = []
        for cols, excess, plan in self.groups:  # one (power, capitulation) pair each
            r = e[cols, None] * excess  # (combinations, days)
            o = r + 1.0  # growth factors, overwritten by the output day by day
            ehs = np.repeat(self.start_share[:, None], r.shape[0], axis=1)
            total = ehs.sum(axis=0)
            for d, end, off, v in plan:
                growth = r[:, d] * total  # from yesterday's total, before today's switch-offs
                if off is not None:
                    total = total - ehs[off].sum(axis=0)
                    ehs[off] = 0.0
                ehs[v] += growth
                total = total + growth
                o[:, d] = total
                if end > d + 1:  # no switch-off or release until `end`: compound the growth
                    run = o[:, d + 1: end]
                    np.cumprod(run, axis=1, out=run)
                    run *= total[:, None]
                    ehs[v] += run[:, -1] - total
                    total = run[:, -1].copy()
            parts.append(o)
        return np.ascontiguousarray(np.concatenate(parts, axis=0)[self.inverse].T)


def endogenous_paths(inputs: NetworkInputs, lag_days, elasticity, power_usd_per_mwh,
                     capitulation_days) -> np.ndarray:
    r"""Network hashrate relative to its start, as the engine's ``endogenous`` model makes it.

    Parameters
    ----------
    inputs : NetworkInputs
        Hashprice history (including ``prior_days`` ≥ lag + 1 days before the window) and
        vintages.
    lag_days, elasticity, power_usd_per_mwh, capitulation_days : array (K,) or scalar
        Parameter combinations (``lag_days`` [days], ``elasticity`` [1/year],
        ``network_power_usd_per_mwh`` [USD/MWh], ``capitulation_days`` [days]).

    Returns
    -------
    array (days, K)
        ``H_d / H_0`` for each window day and combination.

    Notes
    -----
    :meth:`simulator.network.EndogenousHashrate.day` with the lag window pre-filled from the
    history: on day ``d`` (hashprice ``h``, ``b`` = :func:`breakeven_hashprice_usd_per_ph_day`
    at the network power price, ``v*`` the newest vintage released by ``d``)

    .. math::
        g_d = \text{elasticity}\cdot\max\!\Big(0, \frac{h_{d-1-\text{lag}}}{b_{v^*}} - 1\Big)\frac{H_{d-1}}{365},
        \qquad H_d = H_{d-1} - \sum_{v\ \text{off}} H_{v,d-1} + g_d

    a vintage is off while ``b_v > h_{d'−1}`` has held for ``capitulation_days``
    consecutive days ``d'`` up to ``d``; growth goes to ``v*``. The model is linear in
    ``H_0``, so the level is fitted separately. Parameter source: the engine's model.
    """
    lag, e, power, cap = np.broadcast_arrays(np.atleast_1d(lag_days), np.atleast_1d(elasticity),
                                             np.atleast_1d(power_usd_per_mwh), np.atleast_1d(capitulation_days))
    return _EndogenousBatch(inputs, lag, power, cap).run(e)


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
    lag: np.ndarray
    power: np.ndarray
    cap: np.ndarray
    elasticity: np.ndarray  # best per combination
    sse: np.ndarray
    level: np.ndarray


#: Parameter combinations simulated at once (bounds the memory of the network search).
CHUNK_COMBINATIONS = 2048


def _combinations(lags, powers, caps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (lag, power, capitulation) combination as flat arrays, in (power, capitulation,
    lag) order (lag fastest), so that a chunk holds whole (power, capitulation) pairs."""
    P, C, L = np.meshgrid(np.asarray(powers, dtype=float), np.asarray(caps, dtype=np.int64),
                          np.asarray(lags, dtype=np.int64), indexing="ij")
    return L.ravel(), P.ravel(), C.ravel()


def _search(inputs: NetworkInputs, noise: NoiseFilter, lag: np.ndarray, power: np.ndarray, cap: np.ndarray,
            golden_steps: int = 10, parabola_steps: int = 3) -> _GridFit:
    """For every (lag, power, capitulation) combination, the elasticity minimising the GLS
    objective: a 7-point grid in ln(elasticity) (and elasticity 0), golden-section search on
    the best grid point's bracket (10 steps leave ±3 %), then successive parabolic
    interpolation (3 steps, to well under 0.1 %). Combinations are simulated in chunks of
    whole (power, capitulation) pairs."""
    parts = []
    for s in range(0, lag.size, CHUNK_COMBINATIONS):
        part = slice(s, s + CHUNK_COMBINATIONS)
        parts.append(_search_chunk(inputs, noise, lag[part], power[part], cap[part], golden_steps, parabola_steps))
    e, sse, level = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return _GridFit(lag, power, cap, e, sse, level)


def _search_chunk(inputs, noise, lag, power, cap, golden_steps, parabola_steps):
    batch = _EndogenousBatch(inputs, lag, power, cap)
    y = np.log(inputs.hashrate_ehs)
    k = lag.size
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


def _profile(values: np.ndarray, sse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` and the smallest ``sse`` at each (a profile over the rest)."""
    grid, idx = np.unique(values, return_inverse=True)
    out = np.full(grid.size, np.inf)
    np.minimum.at(out, idx.ravel(), sse)
    return grid, out


def _elasticity_edges(inputs: NetworkInputs, noise: NoiseFilter, lag, power, cap, e_hat,
                      threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per combination, the elasticities where the GLS objective crosses ``threshold`` below
    and above its optimum ``e_hat`` (16 bisections each side: 0 … ê linearly, ê … upper
    bound in logs); also whether the upper edge is beyond the search bound."""
    y = np.log(inputs.hashrate_ehs)
    m = lag.size
    batch = _EndogenousBatch(inputs, np.tile(lag, 2), np.tile(power, 2), np.tile(cap, 2))
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


def fit_network(inputs: NetworkInputs, *, lags: Sequence[int] | None = None,
                powers_usd_per_mwh: Sequence[float] = DEFAULT_POWER_GRID_USD_PER_MWH,
                capitulation_grid_days: Sequence[int] = DEFAULT_CAPITULATION_GRID_DAYS) -> NetworkFit:
    r"""Fit the ``endogenous`` network hashrate model to the observed daily hashrate.

    Parameters
    ----------
    inputs : NetworkInputs
        Window hashrate [EH/s], hashprice [USD/(PH/s·day)] with ``prior_days`` before it,
        the engine's vintages.
    lags : sequence of int, optional
        Lags searched [days]; default ``0 … prior_days − 1``.
    powers_usd_per_mwh, capitulation_grid_days : sequences
        Network power prices [USD/MWh] and capitulation delays [days] searched.

    Returns
    -------
    NetworkFit
        ``params`` = ``{lag_days, elasticity, network_power_usd_per_mwh, capitulation_days,
        mix_years}`` as :class:`simulator.network.EndogenousHashrate` reads them.

    Notes
    -----
    Observation model: ``ln H^obs_d = a + ln h_d(θ) + u_d`` with ``h`` from
    :func:`endogenous_paths` (θ = lag, elasticity, power price, capitulation days), ``a`` the
    log starting level and ``u`` ARMA(1,1) errors ``(1 − ρB)u_d = (1 + θ_1 B)e_d`` — daily
    block luck (white) plus the model's persistent misfit. Two-step feasible GLS:

    1. ordinary least squares over a coarse lag grid gives residuals to which the ARMA(1,1)
       is fitted (conditional least squares);
    2. with that filter fixed, ``S(θ) = Σ e_d²`` (``a`` concentrated out) is minimised over
       every lag × power × capitulation combination, the elasticity by golden-section search
       in its logarithm.

    Gaussian innovations make ``n ln(S(θ)/S_min)`` a likelihood-ratio statistic, so each
    95 % interval is the set of values whose profile ``S`` (minimised over the other
    parameters) satisfies ``n ln(S/S_min) ≤ χ²₁(0.95) = 3.84``: the lag, power and
    capitulation intervals are hulls of grid points, the elasticity's edges are found by
    bisection for every combination inside the joint region (its standard error is the
    interval's half-width / 1.96). Parameter source:
    the history window given; the lag literature: Fantazzini & Kolodin (2020).
    """
    n = inputs.days
    y = np.log(inputs.hashrate_ehs)
    lags = np.arange(inputs.prior_days) if lags is None else np.asarray(lags, dtype=np.int64)
    powers = np.asarray(powers_usd_per_mwh, dtype=float)
    caps = np.asarray(capitulation_grid_days, dtype=np.int64)

    # 1. OLS on a coarse grid -> residuals -> ARMA(1,1) error model
    step = max(1, int(math.ceil(lags.size / 12)))
    first = _search(inputs, NoiseFilter(), *_combinations(lags[::step], powers, caps), golden_steps=6,
                    parabola_steps=2)
    i = int(np.argmin(first.sse))
    path = endogenous_paths(inputs, first.lag[i], first.elasticity[i], first.power[i], first.cap[i])[:, 0]
    noise = NoiseFilter.fit(y - first.level[i] - np.log(path))

    # 2. GLS: every power and capitulation pair on every `step`-th lag, then every lag near
    #    the best lag and near the edges of its interval, for the pairs that come close
    step = max(1, int(math.ceil(lags.size / 30)))
    grid = _search(inputs, noise, *_combinations(lags[::step], powers, caps))
    sse_min = float(grid.sse.min())
    threshold = sse_min * math.exp(CHI2_1_95 / n)
    if step > 1:
        lag_values, lag_sse = _profile(grid.lag, grid.sse)
        inside = lag_values[lag_sse <= threshold]
        anchors = np.array([grid.lag[np.argmin(grid.sse)], inside.min(), inside.max()])
        near = np.abs(lags[:, None] - anchors[None, :]).min(axis=1) < step
        extra = np.setdiff1d(lags[near], grid.lag)
        close = grid.sse <= sse_min * math.exp((CHI2_1_95 + 20.0) / n)
        pairs = np.unique(np.stack([grid.power[close], grid.cap[close]]), axis=1)
        if extra.size:
            more = _search(inputs, noise, np.tile(extra, pairs.shape[1]), np.repeat(pairs[0], extra.size),
                           np.repeat(pairs[1], extra.size).astype(np.int64))
            grid = _GridFit(*(np.concatenate([getattr(grid, f), getattr(more, f)])
                              for f in ("lag", "power", "cap", "elasticity", "sse", "level")))
    best = int(np.argmin(grid.sse))
    sse_min = float(grid.sse[best])
    threshold = sse_min * math.exp(CHI2_1_95 / n)
    lag_lo, lag_hi, lag_note = _grid_interval(*_profile(grid.lag, grid.sse), threshold, lags, floor=0)
    pw_lo, pw_hi, pw_note = _grid_interval(*_profile(grid.power, grid.sse), threshold, powers, floor=0.0)
    cp_lo, cp_hi, cp_note = _grid_interval(*_profile(grid.cap, grid.sse), threshold, caps, floor=1)

    # elasticity: profile interval from the edges of every combination in the joint region
    region = np.flatnonzero(grid.sse <= threshold)
    lows, highs, opens = [], [], []
    for s in range(0, region.size, CHUNK_COMBINATIONS // 2):
        part = region[s: s + CHUNK_COMBINATIONS // 2]
        low, high, open_ = _elasticity_edges(inputs, noise, grid.lag[part], grid.power[part], grid.cap[part],
                                             grid.elasticity[part], threshold)
        lows.append(low)
        highs.append(high)
        opens.append(open_)
    e_lo, e_hi = float(np.min(np.concatenate(lows))), float(np.max(np.concatenate(highs)))
    e_note = "; interval reaches the search bound" if np.concatenate(opens).any() else ""

    lag_b, pw_b, cp_b, e_b = int(grid.lag[best]), float(grid.power[best]), int(grid.cap[best]), \
        float(grid.elasticity[best])
    if e_b > 0:  # polish the best combination's elasticity to full precision
        single = _EndogenousBatch(inputs, [lag_b], [pw_b], [cp_b])
        res = optimize.minimize_scalar(lambda x: float(_objective(single.run([math.exp(x)]), y, noise)[0][0]),
                                       bounds=(math.log(e_b) - 0.03, math.log(e_b) + 0.03), method="bounded",
                                       options={"xatol": 1e-7})
        if res.fun < sse_min:
            e_b, sse_min = float(math.exp(res.x)), float(res.fun)
    # a standard error read off the profile interval (half its width / 1.96)
    se_e = None if e_note else (e_hi - e_lo) / (2.0 * Z_95)
    fitted = endogenous_paths(inputs, lag_b, e_b, pw_b, cp_b)[:, 0]
    level = float(_objective(fitted[:, None], y, noise)[1][0])
    resid = y - level - np.log(fitted)
    white = noise.rho == 0.0 and noise.theta == 0.0
    method = "profile likelihood (" + ("least squares, white errors" if white else "GLS, ARMA(1,1) errors") + ")"
    estimates = (
        Estimate("network", "lag_days", lag_b, "days", None, lag_lo, lag_hi, method + lag_note),
        Estimate("network", "elasticity", e_b, "1/year", se_e, e_lo, e_hi, method + e_note),
        Estimate("network", "network_power_usd_per_mwh", pw_b, "USD/MWh", None, pw_lo, pw_hi, method + pw_note),
        Estimate("network", "capitulation_days", cp_b, "days", None, cp_lo, cp_hi, method + cp_note),
    )
    params = {"lag_days": lag_b, "elasticity": e_b, "network_power_usd_per_mwh": pw_b,
              "capitulation_days": cp_b, "mix_years": inputs.mix_years}
    return NetworkFit(params, estimates, noise, n, float(np.sqrt(np.mean(resid**2))))


def network_holdout(inputs: NetworkInputs, holdout_days: int, **grids) -> Holdout:
    """Fit on the window minus its last ``holdout_days`` days and score the forecast of
    those days (see :class:`Holdout`)."""
    n_fit = inputs.days - holdout_days
    fit = fit_network(inputs.head(n_fit), **grids)
    p = fit.params
    path = endogenous_paths(inputs, p["lag_days"], p["elasticity"], p["network_power_usd_per_mwh"],
                            p["capitulation_days"])[:, 0]
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
                   end_pct(forecast), float(np.sqrt(np.mean((actual - naive) ** 2))), end_pct(naive), dict(p))


# --------------------------------------------------------------------------- windows
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


# --------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class Calibration:
    """Everything ``hashfleet calibrate`` fitted on one window, and the fragment it writes."""

    source: str
    from_date: dt.date
    to_date: dt.date
    price_fits: Mapping[str, ModelFit]
    price_model: str
    fees: ModelFit
    network: NetworkFit
    last_price_usd: float = float("nan")
    selection: str = ""
    version: str = __version__

    # ------------------------------------------------------------------ fragment
    def fragment(self) -> dict:
        """The scenario keys written: ``market.btc_price`` (the chosen model, without
        ``initial_usd``, which stays the scenario's), ``market.fees`` and
        ``network.hashrate``, with the network-wide ``network.network_power_usd_per_mwh`` and
        ``network.mix_years`` beside it (shared with the signal columns)."""
        price = {"model": self.price_model, **self.price_fits[self.price_model].params}
        fees = {"model": "lognormal", **self.fees.params}
        hashrate = {"model": "endogenous", **self.network.params}
        shared = {k: hashrate.pop(k) for k in ("network_power_usd_per_mwh", "mix_years")}
        return {"market": {"btc_price": price, "fees": fees}, "network": {**shared, "hashrate": hashrate}}

    def _check(self, fragment: dict) -> None:
        """The written sections validate against the scenario schema."""
        price = dict(fragment["market"]["btc_price"], initial_usd=1.0)
        if "regimes" in price:
            price["regimes"] = tuple(price["regimes"])
        {"gbm": schema.GbmPrice, "jump": schema.JumpPrice, "regime": schema.RegimePrice}[price["model"]] \
            .model_validate(price)
        schema.LognormalFees.model_validate(fragment["market"]["fees"])
        schema.EndogenousHashrate.model_validate(fragment["network"]["hashrate"])
        schema.Network.model_validate({**fragment["network"], "initial_difficulty": 1.0, "initial_height": 0})

    def header(self) -> list[str]:
        """The comment lines heading the fragment: window, source, fit statistics."""
        n = self.network
        lines = [
            "hashfleet calibrate: fitted model parameters. Pull them into a scenario with",
            "  include: [this-file.yaml]",
            "(a fragment that switches a model keeps the scenario's keys the new model also has,",
            "such as initial_usd and initial_ehs, and drops the rest).",
            f"window: {self.from_date} … {self.to_date} ({(self.to_date - self.from_date).days + 1} days)",
            f"history: {self.source}",
            f"hashfleet {self.version}",
            "",
            f"btc_price: daily log returns, n = {self.price_fits[self.price_model].n_obs}; "
            f"last close in the window {self.last_price_usd:,.2f} USD",
        ]
        for name, fit in self.price_fits.items():
            mark = "  <- written" if name == self.price_model else ""
            lines.append(f"  {name:<6} log L = {fit.loglik:,.1f}  AIC = {fit.aic:,.1f}  BIC = {fit.bic:,.1f}{mark}")
        if self.selection:
            lines.append(f"  ({self.selection})")
        lines += [f"  {_describe(e)}" for e in self.price_fits[self.price_model].estimates]
        lines += [f"  note ({name}): {t}" for name, fit in self.price_fits.items() for t in fit.notes]
        lines += ["", f"fees: lognormal (log-AR(1)) by exact MLE on daily fees per block, n = {self.fees.n_obs}"]
        lines += [f"  {_describe(e)}" for e in self.fees.estimates]
        lines += [f"  note: {t}" for t in self.fees.notes]
        if n.noise.rho == 0.0 and n.noise.theta == 0.0:
            errors = "least squares (white errors: an ARMA(1,1) was not significant)"
        else:
            errors = f"GLS with ARMA(1,1) errors (rho = {n.noise.rho:.3f}, theta = {n.noise.theta:.3f})"
        lines += ["", f"network: endogenous hashrate fitted to daily ln hashrate, n = {n.days} days, by",
                  f"  {errors}; rms residual of ln hashrate {n.rmse_log:.4f}"]
        lines += [f"  {_describe(e)}" for e in n.estimates]
        lines.append(f"  mix_years = {n.params['mix_years']:g} (not fitted: the schema's default)")
        if n.holdout is not None:
            h = n.holdout
            lines += [f"  holdout: fitted without the last {h.days} days (lag_days {h.params['lag_days']}, "
                      f"elasticity {h.params['elasticity']:.4g}), then forecast them:",
                      f"    rmse of ln hashrate {h.rmse_log:.4f} (naive flat forecast {h.naive_rmse_log:.4f}), "
                      f"bias {h.bias_log:+.4f}",
                      f"    error of the last {min(ANCHOR_DAYS, h.days)} days' mean {h.end_error_pct:+.1f} % "
                      f"(naive {h.naive_end_error_pct:+.1f} %)"]
        return lines

    def fragment_text(self) -> str:
        """The fragment as YAML 1.2 text with its comment header."""
        fragment = self.fragment()
        self._check(fragment)
        out = [f"# {line}".rstrip() for line in self.header()] + [""]
        out += _yaml_lines(fragment, 0)
        return "\n".join(out) + "\n"

    def write(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the fragment atomically (a temporary file beside ``path``, renamed into place).

        Raises
        ------
        InputError
            ``path`` exists (without ``overwrite``) or its folder does not.
        """
        check_output(path, overwrite=overwrite)
        atomic.write_text(path, self.fragment_text())

    # ------------------------------------------------------------------ table
    def rows(self) -> list[dict]:
        """One row per estimate and fit statistic (columns :data:`ROW_COLUMNS`)."""
        rows = []
        for name, fit in self.price_fits.items():
            written = name == self.price_model
            rows += [_written(e, written).row() for e in fit.estimates]
            rows += [Estimate(name, stat, value, "-", method="fit statistic").row()
                     for stat, value in (("log_likelihood", fit.loglik), ("aic", fit.aic), ("bic", fit.bic))]
            if name == "regime":
                rows.append(_written(Estimate("regime", "initial", fit.params["initial"], "-",
                                              method=fit.notes[0] if fit.notes else ""), written).row())
        rows += [_written(e, True).row() for e in self.fees.estimates]
        rows += [_written(e, True).row() for e in self.network.estimates]
        rows.append(Estimate("network", "mix_years", self.network.params["mix_years"], "years",
                             method="schema default (not fitted)", written=True).row())
        n = self.network
        stats = [("noise_rho", n.noise.rho, "-"), ("noise_theta", n.noise.theta, "-"),
                 ("rmse_log", n.rmse_log, "-")]
        if n.holdout is not None:
            h = n.holdout
            stats += [("holdout_days", h.days, "days"), ("holdout_rmse_log", h.rmse_log, "-"),
                      ("holdout_bias_log", h.bias_log, "-"), ("holdout_end_error_pct", h.end_error_pct, "%"),
                      ("holdout_naive_rmse_log", h.naive_rmse_log, "-"),
                      ("holdout_naive_end_error_pct", h.naive_end_error_pct, "%")]
        rows += [Estimate("network", s, float(v), u, method="fit statistic").row() for s, v, u in stats]
        return rows


def _written(e: Estimate, written: bool) -> Estimate:
    return Estimate(e.model, e.parameter, e.value, e.unit, e.se, e.ci_low, e.ci_high, e.method, written)


def _describe(e: Estimate) -> str:
    """``name = value (95 % CI lo … hi, se s)`` and any caveat from the method."""
    text = f"{e.parameter} = {_num(e.value)}"
    if e.ci_low is not None:
        text += f" (95 % CI {_num(e.ci_low)} … {_num(e.ci_high)}"
        text += f", se {_num(e.se)})" if e.se is not None else ")"
    caveats = e.method.split("; ")[1:]
    return text + "".join(f" [{c}]" for c in caveats)


def _num(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _yaml_scalar(value) -> str:
    """A YAML 1.2 scalar: ints as ints, floats always with a '.' or an exponent."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"cannot write a non-finite number {v} to the fragment")
        text = f"{v:.8g}"
        return text if any(c in text for c in ".en") else text + ".0"
    return str(value)


def _yaml_lines(data: dict, indent: int) -> list[str]:
    pad = " " * indent
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{pad}{key}:")
            out += _yaml_lines(value, indent + 2)
        elif isinstance(value, (list, tuple)):
            out.append(f"{pad}{key}:")
            for item in value:
                inner = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in item.items())
                out.append(f"{pad}  - {{{inner}}}")
        else:
            out.append(f"{pad}{key}: {_yaml_scalar(value)}")
    return out


def check_output(path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Refuse an existing output file (without ``overwrite``) or a missing folder."""
    target = Path(path)
    if target.is_dir():
        raise InputError(str(path), 1, 1, "is a directory; --out names the fragment file to write")
    if target.exists() and not overwrite:
        raise InputError(str(path), 1, 1, "output file exists; choose another --out or pass --overwrite")
    if not target.parent.is_dir():
        raise InputError(str(path), 1, 1, f"no such folder {target.parent}; create it or choose another --out")


def calibrate(history: pd.DataFrame | str | os.PathLike | None = None, from_date=None, to_date=None, *,
              holdout_days: int = DEFAULT_HOLDOUT_DAYS, price_model: str = "best",
              max_lag_days: int = DEFAULT_MAX_LAG_DAYS,
              powers_usd_per_mwh: Sequence[float] = DEFAULT_POWER_GRID_USD_PER_MWH,
              capitulation_grid_days: Sequence[int] = DEFAULT_CAPITULATION_GRID_DAYS,
              regime_min_duration_days: float | None = None, library=None) -> Calibration:
    """Fit every model on the window and return the :class:`Calibration`.

    Parameters
    ----------
    history : DataFrame, path or None
        A frame as :func:`~simulator.market.history.load_history` returns, a history CSV, or
        ``None`` for the shipped Coin Metrics data.
    from_date, to_date : date or ISO str, optional
        The window (inclusive); see :func:`select_window` for the defaults.
    holdout_days : int
        Days at the window's end held out of a first network fit to score its forecast
        (0: none). The fragment's network parameters are fitted on the whole window.
    price_model : {"best", "gbm", "jump", "regime"}
        The price model written; ``best`` takes the lowest BIC. All three are fitted.
    max_lag_days : int
        The network lag search covers 0 … ``max_lag_days``.
    powers_usd_per_mwh, capitulation_grid_days : sequences
        The network fit's power price and capitulation grids.
    regime_min_duration_days : float, optional
        Passed to :func:`fit_regime` (``min_duration_days``).
    library : dict, optional
        Hardware library for the network's vintages (default: the shipped profiles).
    """
    if price_model not in ("best",) + PRICE_MODEL_NAMES:
        raise ValueError(f"price_model must be best, gbm, jump or regime, got {price_model!r}")
    if not isinstance(history, pd.DataFrame):
        history = load_history(history)
    window = select_window(history, from_date, to_date, holdout_days=holdout_days, max_lag_days=max_lag_days)
    library = load_library() if library is None else library
    releases = [p.release_date for p in library.values() if p.release_date is not None]
    if not releases or min(releases) > window.from_date:
        first = f"the first is {min(releases)}" if releases else "none has a release date"
        raise InputError(f"--from {window.from_date}", 1, 1,
                         f"no hardware profile was released by the window's start ({first}); the endogenous "
                         f"network model starts from the models released before it: choose a later --from")

    prices = window.column("price_usd").to_numpy()
    returns = np.diff(np.log(prices))
    price_fits = {"gbm": fit_gbm(returns), "jump": fit_jump(returns),
                  "regime": fit_regime(returns, min_duration_days=regime_min_duration_days)}
    if price_model == "best":
        chosen = min(price_fits, key=lambda k: price_fits[k].bic)
        selection = f"{chosen} has the lowest BIC"
    else:
        chosen, selection = price_model, f"{price_model} chosen with --price-model"

    fees = window.column("fees_btc").to_numpy() / window.column("blocks").to_numpy()
    fee_fit = fit_fees(fees)

    prior = max_lag_days + 1
    hashprice = history_hashprice_usd_per_ph_day(history)
    for name in ("price_usd", "subsidy_btc", "hashrate_ths"):
        window.column(name, prior_days=prior)
    window.column("fees_btc", prior_days=prior, positive=False)
    hp = hashprice.reindex(pd.date_range(window.from_date - dt.timedelta(days=prior), window.to_date, freq="D"))
    inputs = NetworkInputs.build(window.from_date, window.column("hashrate_ths").to_numpy() / units.THS_PER_EHS,
                                 hp.to_numpy(dtype=float), prior, library=library)
    grids = {"lags": np.arange(max_lag_days + 1), "powers_usd_per_mwh": powers_usd_per_mwh,
             "capitulation_grid_days": capitulation_grid_days}
    holdout = network_holdout(inputs, holdout_days, **grids) if holdout_days > 0 else None
    net = fit_network(inputs, **grids)
    net = NetworkFit(net.params, net.estimates, net.noise, net.days, net.rmse_log, holdout, net.notes)
    return Calibration(window.source, window.from_date, window.to_date, price_fits, chosen, fee_fit, net,
                       last_price_usd=float(prices[-1]), selection=selection)
