r"""The fee fit of ``hashfleet calibrate``: the ``lognormal`` (log-AR(1)) model of
:mod:`simulator.market.fees` by exact maximum likelihood on the daily fees per block."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from simulator.workflows.calibrate.likelihood import LOG_2PI, Reported, as_series, estimates_at, minimise
from simulator.workflows.calibrate.results import ModelFit


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
    f = as_series(fees_btc_per_block, "fees per block")
    if (f <= 0).any():
        raise ValueError("fees per block: every value must be > 0 for a lognormal fit")
    y = np.log(f)

    def negloglik(th):
        c, s, phi = th[0], math.exp(th[1]), math.tanh(th[2])
        v1, v = s * s, s * s * (1.0 - phi * phi)
        first = -0.5 * (LOG_2PI + math.log(v1) + (y[0] - c) ** 2 / v1)
        rest = -0.5 * (LOG_2PI + math.log(v) + (y[1:] - c - phi * (y[:-1] - c)) ** 2 / v)
        return -float(first.sum() + rest.sum())

    yc = y - y.mean()
    rho = float(np.sum(yc[1:] * yc[:-1]) / np.sum(yc * yc)) if np.any(yc) else 0.0
    sd = max(float(y.std()), 1e-6)
    starts = [np.array([y.mean(), math.log(sd), math.atanh(min(max(rho, -0.95), 0.95))]),
              np.array([y.mean(), math.log(sd), math.atanh(0.5)])]
    opt = minimise(negloglik, starts, [(-50.0, 50.0), (math.log(1e-6), math.log(50.0)), (-5.0, 5.0)])
    specs = [
        Reported("btc_per_block", "BTC", lambda th: math.exp(th[0] + 0.5 * math.exp(th[1]) ** 2), "log"),
        Reported("vol", "-", lambda th: math.exp(th[1]), 1),
        Reported("phi", "-", lambda th: math.tanh(th[2]), 2),
    ]
    estimates = estimates_at("fees", opt, specs, "MLE (exact AR(1), observed information)")
    params = {e.parameter: e.value for e in estimates}
    notes = []
    clipped = min(max(params["phi"], 0.0), 0.999)
    if clipped != params["phi"]:
        notes.append(f"phi {params['phi']:.4f} clipped to {clipped} (the schema needs 0 <= phi < 1)")
        params["phi"] = clipped
    return ModelFit("fees", params, estimates, opt.loglik, y.size, 3, tuple(notes))
