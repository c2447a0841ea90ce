"""Models chosen by name (issue 20): every ``model:``/``contract:`` the schema accepts has exactly
one registry entry, and the engine builds and values models only through them."""
from __future__ import annotations

import typing

import pytest

from simulator import engine, network, network_models
from simulator.config import schema
from simulator.config.loader import validate_document
from simulator.market import fees, power, price, registry, replay
from simulator.yaml12 import Document


def scenario(**sections):
    """A small valid scenario inside the shipped history (2024), with ``sections`` replaced."""
    doc = {
        "name": "registry", "start": "2024-01-01", "horizon_days": 30, "paths": 2, "seed": 1,
        "market": {"btc_price": {"model": "gbm", "initial_usd": 40000.0},
                   "fees": {"model": "constant", "btc_per_block": 0.1}},
        "network": {"initial_difficulty": 7e13, "initial_height": 823000, "hashrate": {"model": "constant"}},
        "sites": [{"name": "fixed", "capacity_mw": 10.0, "power": {"contract": "fixed", "price_usd_per_mwh": 42.0}},
                  {"name": "index", "capacity_mw": 10.0, "power": {"contract": "index", "mean_usd_per_mwh": 40.0}},
                  {"name": "ppa", "capacity_mw": 10.0,
                   "power": {"contract": "ppa", "price_usd_per_mwh": 40.0, "block_mw": 5.0,
                             "index": {"mean_usd_per_mwh": 40.0}}}],
    }
    for key, value in sections.items():
        node = doc
        *head, last = key.split(".")
        for part in head:
            node = node[part]
        node[last] = value
    return validate_document(Document(doc, {}, {}), "registry.yaml")


def literals(union, field: str) -> set[str]:
    """The values of the discriminator ``field`` over the classes of a discriminated union."""
    classes = typing.get_args(typing.get_args(union)[0])
    return {value for cls in classes for value in typing.get_args(cls.model_fields[field].annotation)}


@pytest.mark.parametrize("union, field, keys", [
    (schema.BtcPriceModel, "model", registry.PRICE_MODELS),
    (schema.FeeModel, "model", registry.FEE_MODELS),
    (schema.PowerContract, "contract", registry.POWER_CONTRACTS),
    (schema.HashrateModel, "model", network_models.HASHRATE_MODELS),
])
def test_registry_keys_are_the_schemas_names(union, field, keys):
    assert literals(union, field) == set(keys)


@pytest.mark.parametrize("section, cls", [
    ({"model": "gbm", "initial_usd": 1.0}, price.GBMPrice),
    ({"model": "jump", "initial_usd": 1.0}, price.JumpPrice),
    ({"model": "regime", "initial_usd": 1.0, "regimes": [{"mean_duration_days": 9.0}]}, price.RegimePrice),
    ({"model": "bootstrap", "initial_usd": 1.0}, price.BootstrapPrice),
    ({"model": "history"}, replay.HistoryPrice),
])
def test_price_models_are_built_by_name(section, cls):
    assert type(registry.price_model(scenario(**{"market.btc_price": section}))) is cls


@pytest.mark.parametrize("section, cls", [
    ({"model": "constant", "btc_per_block": 0.1}, fees.ConstantFees),
    ({"model": "lognormal", "btc_per_block": 0.1}, fees.LognormalFees),
    ({"model": "history"}, replay.HistoryFees),
])
def test_fee_models_are_built_by_name(section, cls):
    assert type(registry.fee_model(scenario(**{"market.fees": section}))) is cls


@pytest.mark.parametrize("section, cls", [
    ({"model": "constant"}, network.ConstantHashrate),
    ({"model": "growth", "growth_annual": 0.2}, network.GrowthHashrate),
    ({"model": "endogenous"}, network.EndogenousHashrate),
    ({"model": "history"}, network.HistoryNetwork),
])
def test_hashrate_models_are_built_by_name(section, cls):
    from simulator.hardware import load_library

    assert type(network_models.hashrate_model(scenario(**{"network.hashrate": section}), load_library())) is cls


def test_power_contracts_are_built_by_name():
    s = scenario()
    models = {site.power.contract: registry.power_model(s, site) for site in s.sites}
    assert models["fixed"] is None
    assert type(models["index"]) is type(models["ppa"]) is power.IndexPowerModel
    assert models["ppa"].mean_usd_per_mwh == 40.0  # the PPA's index market, not the contract


@pytest.mark.parametrize("price_section, hashrate_section, drift, growth", [
    ({"model": "gbm", "initial_usd": 1.0, "drift_annual": -0.1}, {"model": "growth", "growth_annual": 0.25},
     -0.1, 0.25),
    # regimes weighted by mean duration: (0.5 × 300 − 0.4 × 100) / 400
    ({"model": "regime", "initial_usd": 1.0, "regimes": [{"drift_annual": 0.5, "mean_duration_days": 300.0},
                                                        {"drift_annual": -0.4, "mean_duration_days": 100.0}]},
     {"model": "endogenous"}, 0.275, 0.0),
    ({"model": "bootstrap", "initial_usd": 1.0}, {"model": "constant"}, 0.0, 0.0),
    ({"model": "bootstrap", "initial_usd": 1.0, "drift_annual": 0.3}, {"model": "growth", "growth_annual": 0.0},
     0.3, 0.0),
    ({"model": "history"}, {"model": "history"}, 0.0, 0.0),
])
def test_expected_growth_comes_from_the_entries(price_section, hashrate_section, drift, growth):
    s = scenario(**{"market.btc_price": price_section, "network.hashrate": hashrate_section})
    assert engine.expected_growth(s) == pytest.approx((drift, growth), abs=1e-15)


def test_price_models_state_their_volatility_by_name():
    """The structural share price's BTC volatility before 90 days comes from the model's entry,
    not from guessing at attributes: gbm its σ, jump σ with the jumps' variance, regime the
    duration-weighted σ, the rest none (the valuation's default)."""
    from types import SimpleNamespace as T

    from simulator.market.registry import PRICE_MODELS, model_vol_annual

    assert model_vol_annual(T(model="gbm", vol_annual=0.5)) == 0.5
    jump = T(model="jump", vol_annual=0.3, jump_intensity_annual=4.0, jump_mean=-0.1, jump_vol=0.2)
    assert model_vol_annual(jump) == pytest.approx((0.09 + 4.0 * (0.01 + 0.04)) ** 0.5)
    regimes = T(model="regime", regimes=[T(mean_duration_days=300, vol_annual=0.4),
                                         T(mean_duration_days=100, vol_annual=0.8)])
    assert model_vol_annual(regimes) == pytest.approx(0.5)
    every = dict(vol_annual=0.5, jump_intensity_annual=0.0, jump_mean=0.0, jump_vol=0.0,
                 regimes=[T(mean_duration_days=1, vol_annual=0.5)])
    assert {m for m in PRICE_MODELS if model_vol_annual(T(model=m, **every)) is None} == {"bootstrap", "csv", "history"}
