"""Network hashrate models chosen by name: the registry keyed by ``network.hashrate.model``.

STYLE.md, "Models chosen by name": each entry builds the model of :mod:`simulator.network`
from its validated section and states the annual growth the valuation's dcf expects of it
(``growth_annual`` for ``growth``; 0 for ``constant``, ``csv``, ``history`` and
``endogenous``, whose path is not a rate given in advance). tests/test_registry.py checks
the keys against the schema's ``Literal`` values.

Examples
--------
>>> from simulator.config import load_scenario
>>> s = load_scenario("scenarios/halving_crossing.yaml")
>>> type(hashrate_model(s, library={})).__name__, expected_growth_annual(s.network.hashrate)
('GrowthHashrate', 0.2)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from simulator import network
from simulator.config.digest import start_network_ehs
from simulator.config.schema import Scenario
from simulator.market.registry import section_history

__all__ = ["HASHRATE_MODELS", "HashrateEntry", "expected_growth_annual", "hashrate_model"]


def _history(cfg, scenario: Scenario, library: Mapping):
    """A replay of history's hashrate, blocks and retargets (``network.advance_day``'s replay arguments)."""
    return network.HistoryNetwork.from_history(section_history(scenario, cfg), scenario.start, scenario.horizon_days)


def _endogenous(cfg, scenario: Scenario, library: Mapping):
    params = cfg.model_dump(exclude={"model", "initial_ehs"})
    params.update(network_power_usd_per_mwh=scenario.network.network_power_usd_per_mwh,
                  mix_years=scenario.network.mix_years)  # the network's, shared with the signal columns
    return network.EndogenousHashrate.from_library(library, scenario.start, start_network_ehs(scenario), **params)


@dataclass(frozen=True)
class HashrateEntry:
    """A network hashrate model: its builder ``(section, scenario, library) -> model`` and the
    annual growth [1/year] the valuation expects of it."""

    build: Callable[[Any, Scenario, Mapping], Any]
    growth_annual: Callable[[Any], float] = lambda cfg: 0.0


#: ``network.hashrate.model`` -> its entry.
HASHRATE_MODELS: dict[str, HashrateEntry] = {
    "constant": HashrateEntry(lambda cfg, s, lib: network.ConstantHashrate(start_network_ehs(s))),
    "growth": HashrateEntry(lambda cfg, s, lib: network.GrowthHashrate(start_network_ehs(s), cfg.growth_annual,
                                                                       cfg.vol_annual),
                            lambda cfg: float(cfg.growth_annual)),
    "endogenous": HashrateEntry(_endogenous),
    "csv": HashrateEntry(lambda cfg, s, lib: network.CsvHashrate(s.resolve(cfg.file), s.start, s.horizon_days)),
    "history": HashrateEntry(_history),
}


def hashrate_model(scenario: Scenario, library: Mapping):
    """The network hashrate model of ``scenario.network.hashrate`` (``library``: the hardware
    library, which the endogenous model's vintages come from)."""
    cfg = scenario.network.hashrate
    return HASHRATE_MODELS[cfg.model].build(cfg, scenario, library)


def expected_growth_annual(cfg) -> float:
    """The annual network growth [1/year] a ``network.hashrate`` section expects (0 without a rate)."""
    return HASHRATE_MODELS[cfg.model].growth_annual(cfg)
