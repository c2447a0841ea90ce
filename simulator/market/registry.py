"""Market models chosen by name: the registries keyed by a scenario's ``model:`` and ``contract:``.

STYLE.md, "Models chosen by name": ``btc_price: {model: gbm, ...}`` maps through a registry
to the function that builds the model from its validated section, never by guessing from
which keys are present (pvlib issues #621, #994). Each entry also says what the model
expects of the future where the valuation needs it (the price's mean drift).
tests/test_registry.py checks that the keys are exactly the schema's ``Literal`` values, so a
model the schema accepts cannot be missing here.

Examples
--------
>>> from simulator.config import load_scenario
>>> s = load_scenario("scenarios/halving_crossing.yaml")
>>> type(price_model(s)).__name__, expected_drift_annual(s.market.btc_price)
('JumpPrice', 0.1)
>>> sorted(PRICE_MODELS)
['bootstrap', 'csv', 'gbm', 'history', 'jump', 'regime']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from simulator.config.schema import Scenario
from simulator.market.fees import FEE_MODELS as FEE_CLASSES
from simulator.market.history import load_history
from simulator.market.power import POWER_MODELS as POWER_CLASSES
from simulator.market.power_profiles import index_model_kwargs
from simulator.market.price import PRICE_MODELS as PRICE_CLASSES
from simulator.market.replay import HistoryFees, HistoryPrice

__all__ = ["FEE_MODELS", "POWER_CONTRACTS", "PRICE_MODELS", "PriceEntry", "expected_drift_annual", "fee_model", "model_vol_annual",
           "power_model", "price_model", "section_history"]


def section_history(scenario: Scenario, cfg):
    """The daily history a ``model: history`` section replays (its ``history_csv`` or the shipped one);
    the network's replay (:mod:`simulator.network_models`) reads it here too."""
    return load_history(scenario.resolve(cfg.history_csv) if cfg.history_csv else None)


def _csv(classes: dict) -> Callable:
    """Builder of a ``model: csv`` section: the class's reader of ``date[,path],value`` over the horizon."""
    def build(cfg, scenario: Scenario):
        return classes["csv"](file=scenario.resolve(cfg.file), start=scenario.start, horizon_days=scenario.horizon_days)
    return build


def _parametric(classes: dict, model: str) -> Callable:
    """Builder of a parametric section: the class of ``model`` called with the section's parameters."""
    def build(cfg, scenario: Scenario):
        return classes[model](**cfg.model_dump(exclude={"model", "history_csv"}))
    return build


def _bootstrap(cfg, scenario: Scenario):
    kwargs = cfg.model_dump(exclude={"model", "history_csv"})
    if cfg.history_csv:
        kwargs["history"] = load_history(scenario.resolve(cfg.history_csv))
    return PRICE_CLASSES["bootstrap"](**kwargs)


def _duration_weighted(cfg, values) -> float:
    """Mean of one value per regime, weighted by the regimes' mean durations."""
    weights = np.array([r.mean_duration_days for r in cfg.regimes])
    return float(np.dot(weights, values) / weights.sum())


def _regime_drift(cfg) -> float:
    """The regimes' mean drift [1/year], duration-weighted."""
    return _duration_weighted(cfg, [r.drift_annual for r in cfg.regimes])


def _regime_vol(cfg) -> float:
    """The regimes' mean volatility [1/year^½], duration-weighted."""
    return _duration_weighted(cfg, [r.vol_annual for r in cfg.regimes])


def _jump_vol(cfg) -> float:
    """Total volatility of a Merton jump diffusion: ``√(σ² + λ (μ_J² + σ_J²))`` [1/year^½]."""
    return float(np.sqrt(cfg.vol_annual ** 2 + cfg.jump_intensity_annual * (cfg.jump_mean ** 2 + cfg.jump_vol ** 2)))


@dataclass(frozen=True)
class PriceEntry:
    """A BTC price model: how to build it, and what the valuation expects of it.

    ``drift_annual(cfg)`` [1/year] is the model's mean drift (E[S_t] = S0·e^{μt}); a model
    without one (csv, history, bootstrap without ``drift_annual``) expects 0.
    ``vol_annual(cfg)`` [1/year^½] is its volatility of log returns, the structural share price's
    BTC volatility before 90 days of the path's own returns exist; a model without a parameter
    for it (bootstrap, csv, history) gives None and the valuation's default applies.
    """

    build: Callable[[Any, Scenario], Any]
    drift_annual: Callable[[Any], float] = lambda cfg: 0.0
    vol_annual: Callable[[Any], Optional[float]] = lambda cfg: None


#: ``market.btc_price.model`` -> its entry.
PRICE_MODELS: dict[str, PriceEntry] = {
    "gbm": PriceEntry(_parametric(PRICE_CLASSES, "gbm"), lambda cfg: float(cfg.drift_annual),
                      lambda cfg: float(cfg.vol_annual)),
    "jump": PriceEntry(_parametric(PRICE_CLASSES, "jump"), lambda cfg: float(cfg.drift_annual), _jump_vol),
    "regime": PriceEntry(_parametric(PRICE_CLASSES, "regime"), _regime_drift, _regime_vol),
    "bootstrap": PriceEntry(_bootstrap, lambda cfg: float(cfg.drift_annual or 0.0)),
    "csv": PriceEntry(_csv(PRICE_CLASSES)),
    "history": PriceEntry(lambda cfg, s: HistoryPrice(section_history(s, cfg), s.start, s.horizon_days)),
}

#: ``market.fees.model`` -> the builder of the fee model.
FEE_MODELS: dict[str, Callable[[Any, Scenario], Any]] = {
    "constant": _parametric(FEE_CLASSES, "constant"),
    "lognormal": _parametric(FEE_CLASSES, "lognormal"),
    "csv": _csv(FEE_CLASSES),
    "history": lambda cfg, s: HistoryFees(section_history(s, cfg), s.start, s.horizon_days),
}


def _index_market(market, scenario: Scenario):
    """The hourly price model of an index market section: its CSV, or the mean-reverting model."""
    if market.file:
        return POWER_CLASSES["csv"](file=scenario.resolve(market.file), start=scenario.start,
                                    horizon_days=scenario.horizon_days)
    loading = float(np.sqrt(scenario.market.power_correlation))  # pairwise correlation a² = ρ
    return POWER_CLASSES["index"](start=scenario.start, common_loading=loading,
                                  **index_model_kwargs(market, scenario.resolve))


#: ``sites[i].power.contract`` -> the builder of the site's hourly market price model (None:
#: the contract never meets the market).
POWER_CONTRACTS: dict[str, Callable[[Any, Scenario], Optional[Any]]] = {
    "fixed": lambda power, s: None,
    "index": _index_market,
    "ppa": lambda power, s: _index_market(power.index, s),  # unused energy is sold into its index
}


def price_model(scenario: Scenario):
    """The BTC price model of ``scenario.market.btc_price``."""
    cfg = scenario.market.btc_price
    return PRICE_MODELS[cfg.model].build(cfg, scenario)


def expected_drift_annual(cfg) -> float:
    """The mean drift [1/year] a ``market.btc_price`` section expects (0 without one)."""
    return PRICE_MODELS[cfg.model].drift_annual(cfg)


def model_vol_annual(cfg) -> Optional[float]:
    """The volatility [1/year^½] a ``market.btc_price`` section states (None without one)."""
    return PRICE_MODELS[cfg.model].vol_annual(cfg)


def fee_model(scenario: Scenario):
    """The fee model of ``scenario.market.fees``."""
    cfg = scenario.market.fees
    return FEE_MODELS[cfg.model](cfg, scenario)


def power_model(scenario: Scenario, site):
    """The hourly market price model of a site's power contract (None for a ``fixed`` contract)."""
    return POWER_CONTRACTS[site.power.contract](site.power, scenario)
