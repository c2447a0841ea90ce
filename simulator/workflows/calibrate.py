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
network fit (:mod:`simulator.workflows.calibrate_network`) runs the engine's own recursion,
:mod:`simulator.network_endogenous`.

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
from scipy import optimize, special

from simulator import __version__, atomic, units
from simulator.config import schema
from simulator.errors import InputError
from simulator.hardware import load_library
from simulator.market.history import load_history
from simulator.workflows.calibrate_network import (  # noqa: F401  (re-exported: the network fit's API)
    ANCHOR_DAYS, DEFAULT_CAPITULATION_GRID_DAYS, DEFAULT_MAX_LAG_DAYS, DEFAULT_PAYBACK_TARGET_GRID_MONTHS,
    DEFAULT_POWER_GRID_USD_PER_MWH, Holdout, NetworkFit, NetworkInputs, NoiseFilter, endogenous_paths, fit_network,
    history_hashprice_usd_per_ph_day, network_holdout)
from simulator.workflows.calibrate_results import ROW_COLUMNS, Z_95, Estimate  # noqa: F401  (re-exported)

#: One day [years] (DESIGN.md: a year is exactly 365 days).
DAY_YEARS = 1.0 / units.DAYS_PER_YEAR
#: Default window: the last 4 × 365 days of the history (one halving cycle; starts after the
#: 2021 mining ban in China, whose hashrate exodus was not a response to hashprice).
DEFAULT_WINDOW_YEARS = 4
#: Days at the end of the window held out of the network fit to measure its forecast error.
DEFAULT_HOLDOUT_DAYS = 180
#: Fewest days the network fit (window minus holdout) may have, beyond the longest lag.
MIN_FIT_DAYS = 180
#: Price models fitted, in the order they are reported.
PRICE_MODEL_NAMES = ("gbm", "jump", "regime")

_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- results
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
            split = self.to_date - dt.timedelta(days=h.days)
            lines += [f"  holdout: fitted on {self.from_date} … {split}, forecast {split + dt.timedelta(days=1)} … "
                      f"{self.to_date}",
                      f"    (the last {h.days} days; fitted lag_days {h.params['lag_days']}, "
                      f"elasticity {h.params['elasticity']:.4g}, payback target {h.params['payback_target_months']:g} "
                      f"months)",
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
              payback_target_grid_months: Sequence[float] = DEFAULT_PAYBACK_TARGET_GRID_MONTHS,
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
        The network lag search covers 1 … ``max_lag_days``.
    powers_usd_per_mwh, capitulation_grid_days, payback_target_grid_months : sequences
        The network fit's power price, capitulation and payback target grids.
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
    grids = {"lags": np.arange(1, max_lag_days + 1), "powers_usd_per_mwh": powers_usd_per_mwh,
             "capitulation_grid_days": capitulation_grid_days, "payback_target_grid_months": payback_target_grid_months}
    holdout = network_holdout(inputs, holdout_days, **grids) if holdout_days > 0 else None
    net = fit_network(inputs, **grids)
    net = NetworkFit(net.params, net.estimates, net.noise, net.days, net.rmse_log, holdout, net.notes)
    return Calibration(window.source, window.from_date, window.to_date, price_fits, chosen, fee_fit, net,
                       last_price_usd=float(prices[-1]), selection=selection)
