r"""The BTC price fits of ``hashfleet calibrate``: maximum likelihood on daily log returns.

Each model of :mod:`simulator.market.price` is fitted to the returns
``r_d = ln(P_d / P_{d−1})`` of the window with the likelihood of the engine's own daily
discretisation (one step = one day = 1/365 year; ``drift_annual`` is the mean drift,
``E[S_t] = S_0 e^{μt}``): ``gbm`` in closed form (:func:`fit_gbm`), ``jump`` (Merton's
Poisson mixture, :func:`fit_jump`) and ``regime`` (a two-state Gaussian hidden Markov model,
:func:`fit_regime`), the last two numerically (:mod:`simulator.workflows.calibrate.likelihood`).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from simulator import units
from simulator.workflows.calibrate.likelihood import LOG_2PI, Optimum, Reported, as_series, estimates_at, minimise
from simulator.workflows.calibrate.results import Z_95, Estimate, ModelFit

#: One day [years] (DESIGN.md: a year is exactly 365 days).
DAY_YEARS = 1.0 / units.DAYS_PER_YEAR
#: Price models fitted, in the order they are reported.
PRICE_MODEL_NAMES = ("gbm", "jump", "regime")


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
    r = as_series(log_returns, "log returns").ravel()
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
    loglik = -0.5 * n * (LOG_2PI + math.log(s2) + 1.0)
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
    log_terms = k * math.log(lam) - lam - special.gammaln(k + 1.0) - 0.5 * (LOG_2PI + np.log(var) + dev**2 / var)
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
    r = as_series(log_returns, "log returns").ravel()
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

    opt = minimise(lambda th: -_jump_loglik(th, r, scale), starts, bounds, with_gradient=negative)

    def sigma_annual(th):
        return math.exp(th[1]) * scale / math.sqrt(DAY_YEARS)

    def lam_annual(th):
        return math.exp(th[2]) / DAY_YEARS

    def drift(th):
        a, sd, lam = th[0] * scale, math.exp(th[1]) * scale, math.exp(th[2])
        jm, jv = th[3] * scale, math.exp(th[4]) * scale
        return (a + 0.5 * sd**2 + lam * math.expm1(jm + 0.5 * jv**2)) / DAY_YEARS

    specs = [
        Reported("drift_annual", "1/year", drift),
        Reported("vol_annual", "1/sqrt(year)", sigma_annual, 1),
        Reported("jump_intensity_annual", "jumps/year", lam_annual, 2),
        Reported("jump_mean", "-", lambda th: th[3] * scale, 3),
        Reported("jump_vol", "-", lambda th: math.exp(th[4]) * scale, 4),
    ]
    notes = []
    if 2 in opt.at_bound and opt.theta[2] > bounds[2][0]:
        notes.append(f"jump_intensity_annual is at its search bound ({MAX_JUMP_PROBABILITY_PER_DAY:g} a day): "
                     "the jumps model fat-tailed days, not rare crashes; the other intervals hold it fixed")
    estimates = estimates_at("jump", opt, specs, "MLE (Poisson mixture, observed information)")
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
    log_scale = shift.sum(axis=0) - 0.5 * LOG_2PI * r.shape[0]
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


def _regime_starts(r: np.ndarray, scale: float) -> list[np.ndarray]:
    """Three starting θ for :func:`fit_regime` on returns ``r`` (days, series) of standard
    deviation ``scale``: the days split by their centred 30-day mean absolute return, by their
    centred 90-day mean return (each half's mean and volatility, daily switch probabilities
    1/200 and 1/300), and a symmetric guess."""

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
    return [split_start(vol30 <= np.median(vol30), 1.0 / 200.0),
            split_start(trend90 >= np.median(trend90), 1.0 / 300.0),
            np.array([0.0, math.log(0.7), 0.0, math.log(1.4), special.logit(0.01), special.logit(0.01)])]


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
    r = as_series(log_returns, "log returns")
    T, S = r.shape
    scale = float(np.std(r))
    if scale <= 0:
        raise ValueError("log returns: all equal, the volatility cannot be estimated")

    starts = _regime_starts(r, scale)
    p_max = 0.5 if min_duration_days is None else min(0.5, -math.expm1(-1.0 / float(min_duration_days)))
    p_min = min(1e-5, 0.5 * p_max)
    bounds = [(-5.0, 5.0), (math.log(0.02), math.log(10.0))] * 2 + [(special.logit(p_min), special.logit(p_max))] * 2
    for x0 in starts:
        x0[4:] = np.clip(x0[4:], special.logit(p_min) + 1e-6, special.logit(p_max) - 1e-6)
    opt = minimise(lambda th: -_regime_forward(th, r, scale)[0], starts, bounds)
    if opt.theta[1] > opt.theta[3]:  # regime 0 is the calmer one
        order = [2, 3, 0, 1, 5, 4]
        opt = Optimum(opt.theta[order], opt.cov[np.ix_(order, order)], opt.loglik,
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

        specs += [Reported(f"regimes[{k}].drift_annual", "1/year", drift),
                  Reported(f"regimes[{k}].vol_annual", "1/sqrt(year)", vol, isd),
                  Reported(f"regimes[{k}].mean_duration_days", "days", duration, ip)]
    estimates = estimates_at("regime", opt, specs, "MLE (hidden Markov, observed information)")
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

