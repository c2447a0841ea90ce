"""The orchestrator of ``hashfleet calibrate``: :func:`calibrate` fits every model on one window
and returns the :class:`Calibration`, which writes the scenario fragment (validated against
the schema, headed by the fit statistics) and the table of estimates."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from simulator import __version__, atomic, units
from simulator.config import schema
from simulator.errors import InputError
from simulator.hardware import load_library
from simulator.market.history import load_history
from simulator.workflows.calibrate.fees import fit_fees
from simulator.workflows.calibrate.fragment import check_output, yaml_lines
from simulator.workflows.calibrate.network import (
    ANCHOR_DAYS, DEFAULT_CAPITULATION_GRID_DAYS, DEFAULT_MAX_LAG_DAYS, DEFAULT_PAYBACK_TARGET_GRID_MONTHS,
    DEFAULT_POWER_GRID_USD_PER_MWH, NetworkFit, NetworkInputs, fit_network, history_hashprice_usd_per_ph_day,
    network_holdout)
from simulator.workflows.calibrate.price import PRICE_MODEL_NAMES, fit_gbm, fit_jump, fit_regime
from simulator.workflows.calibrate.results import Estimate, ModelFit
from simulator.workflows.calibrate.window import DEFAULT_HOLDOUT_DAYS, select_window


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
        out += yaml_lines(fragment, 0)
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
