r"""Maximum-likelihood machinery shared by the price and fee fits of ``hashfleet calibrate``.

:func:`minimise` maximises a log-likelihood ``ln L(θ)`` over an unconstrained (or boxed)
vector θ by L-BFGS-B from several starts and returns the :class:`Optimum` with the inverse
observed information ``I(θ̂)^{-1}`` (a central-difference Hessian of ``−ln L``), the
coordinates on a search bound held fixed. :func:`estimates_at` maps θ̂ to the reported
parameters (:class:`Reported`): delta-method standard errors ``se = sqrt(∇g' I^{-1} ∇g)``
and 95 % intervals, Wald on the scale where the parameter is unbounded. Reference: Casella
& Berger, *Statistical Inference* (2002), §10.1 (asymptotic efficiency of the MLE and the
delta method).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import optimize

from simulator.workflows.calibrate.results import Z_95, Estimate

#: ln(2π), the Gaussian log-density's constant.
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Optimum:
    """A maximum of the log-likelihood, as :func:`minimise` returns it."""

    theta: np.ndarray  # unconstrained optimum
    cov: np.ndarray  # inverse observed information (NaN if not positive definite)
    loglik: float
    at_bound: tuple[int, ...] = ()  # coordinates on a search bound (held fixed for the information)


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


def minimise(negloglik: Callable[[np.ndarray], float], starts: Sequence[np.ndarray],
              bounds: Sequence[tuple[float, float]] | None = None,
              with_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None) -> Optimum:
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
    return Optimum(x, cov, -float(best.fun), at_bound)


@dataclass(frozen=True)
class Reported:
    """How a reported parameter follows from the unconstrained vector θ.

    ``ci`` chooses the interval: ``"wald"`` (value ± 1.96 se), ``"log"`` (Wald on
    ln value, for positive quantities) or an index ``j`` when the value is a monotone
    function of θ_j alone (the interval of θ_j mapped through it)."""

    name: str
    unit: str
    fn: Callable[[np.ndarray], float]
    ci: str | int = "wald"


def estimates_at(model: str, opt: Optimum, specs: Sequence[Reported], method: str) -> tuple[Estimate, ...]:
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


def as_series(values: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    """``values`` as a float array of shape ``(days, series)`` (one column for a 1-D input)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 3:
        raise ValueError(f"{what}: need at least 3 days of data, got shape {np.shape(values)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: values must be finite")
    return arr

