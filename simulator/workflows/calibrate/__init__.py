r"""Calibrate the stochastic models to a window of daily history (``hashfleet calibrate``).

On a window ``from … to`` of the daily history (:func:`simulator.market.history.load_history`:
the shipped Coin Metrics data, CC BY-NC 4.0, or the user's own file with the same columns)
this package fits, by maximum likelihood:

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
network fit runs the engine's own recursion, :mod:`simulator.network_endogenous`.

Standard errors come from the observed information (a numerical Hessian of the
log-likelihood at the optimum, parameters mapped by the delta method); 95 % intervals are
Wald intervals on the scale where the parameter is unbounded (log for volatilities and
intensities, logit of the daily switch probability for durations, Fisher-z for φ), mapped
back. The network's discrete and grid-searched parameters get profile-likelihood intervals.

A package by concern: :mod:`~simulator.workflows.calibrate.likelihood` (the optimiser, the
observed information and the delta method), :mod:`~simulator.workflows.calibrate.price`
(gbm, jump, regime), :mod:`~simulator.workflows.calibrate.fees`,
:mod:`~simulator.workflows.calibrate.network` (the endogenous network, profile likelihood,
holdout), :mod:`~simulator.workflows.calibrate.results` (estimates and model fits),
:mod:`~simulator.workflows.calibrate.window`, :mod:`~simulator.workflows.calibrate.fragment`
(the YAML writer) and :mod:`~simulator.workflows.calibrate.calibration` (the
:class:`Calibration` and :func:`calibrate`, which run them all).
:mod:`~simulator.workflows.calibrate.power` fits the hourly power model instead
(``hashfleet calibrate --power FILE``); it is imported on its own, not from here.
"""
from __future__ import annotations

from simulator.workflows.calibrate.calibration import Calibration, calibrate
from simulator.workflows.calibrate.fees import fit_fees
from simulator.workflows.calibrate.fragment import check_output
from simulator.workflows.calibrate.network import (
    ANCHOR_DAYS, DEFAULT_CAPITULATION_GRID_DAYS, DEFAULT_MAX_LAG_DAYS, DEFAULT_PAYBACK_TARGET_GRID_MONTHS,
    DEFAULT_POWER_GRID_USD_PER_MWH, Holdout, NetworkFit, NetworkInputs, NoiseFilter, endogenous_paths, fit_network,
    history_hashprice_usd_per_ph_day, network_holdout)
from simulator.workflows.calibrate.price import (DAY_YEARS, MAX_JUMP_PROBABILITY_PER_DAY, PRICE_MODEL_NAMES, fit_gbm,
                                                fit_jump, fit_regime)
from simulator.workflows.calibrate.results import ROW_COLUMNS, Z_95, Estimate, ModelFit
from simulator.workflows.calibrate.window import (DEFAULT_HOLDOUT_DAYS, DEFAULT_WINDOW_YEARS, MIN_FIT_DAYS, Window,
                                                 select_window)

__all__ = ["ANCHOR_DAYS", "DAY_YEARS", "DEFAULT_CAPITULATION_GRID_DAYS", "DEFAULT_HOLDOUT_DAYS", "DEFAULT_MAX_LAG_DAYS",
           "DEFAULT_PAYBACK_TARGET_GRID_MONTHS", "DEFAULT_POWER_GRID_USD_PER_MWH", "DEFAULT_WINDOW_YEARS",
           "MAX_JUMP_PROBABILITY_PER_DAY", "MIN_FIT_DAYS", "PRICE_MODEL_NAMES", "ROW_COLUMNS", "Z_95", "Calibration",
           "Estimate", "Holdout", "ModelFit", "NetworkFit", "NetworkInputs", "NoiseFilter", "Window",
           "calibrate", "check_output", "endogenous_paths", "fit_fees", "fit_gbm", "fit_jump", "fit_network",
           "fit_regime", "history_hashprice_usd_per_ph_day", "network_holdout", "select_window"]
