"""The ``endogenous`` network (simulator/network_endogenous.py) in the engine: the payback entry
rule against its hand formula, the lag and the capitulation delay to the day, and the
default parameters' year-one growth at flat BTC prices against the network's recorded growth.

The engine-and-calibrate identity (one recursion for both) is
``tests/test_calibrate.py::test_endogenous_paths_equal_the_engine_model``.
"""
from __future__ import annotations

import numpy as np
import pytest

from simulator import network_endogenous as endogenous
from simulator.config.schema import EndogenousHashrate
from simulator.engine import simulate
from simulator.errors import InputErrors
from simulator.hardware import load_library
from simulator.network import EndogenousHashrate as EngineModel
from simulator.market.asic_price import asic_price_usd_per_th

from test_engine import D0, daily, scenario

H0_EHS = D0 * 2**32 / 600 / 1e18  # the difficulty-implied start [EH/s]
NEWEST_JTH = 10.37485802  # the library's 2026-Q1 vintage: mean J/TH of its six models


def endogenous_run(price_usd, days=60, events=(), network_power_usd_per_mwh=None, **params):
    """The test scenario on an endogenous network (``network_power_usd_per_mwh`` at its place under ``network``)."""
    power = {} if network_power_usd_per_mwh is None else {"network.network_power_usd_per_mwh": network_power_usd_per_mwh}
    return daily(simulate(scenario(**{"horizon_days": days, "market.btc_price.initial_usd": price_usd,
                                      "network.hashrate": {"model": "endogenous", **params},
                                      "events": list(events), **power})))


def multiple_days(efficiency_jth):
    """m: the index price of 1 TH/s bought new at the frontier, in days of its revenue (the
    price at a revenue of 1 USD/TH/day)."""
    return float(asic_price_usd_per_th(1000.0, efficiency_jth, frontier_jth=efficiency_jth, new=True))


def test_payback_is_the_index_multiple_times_hashprice_over_margin():
    b = 50.0 * 24 * NEWEST_JTH / 1000  # power-only breakeven at 50 USD/MWh [USD/(PH/s·day)]
    for h in (13.0, 38.0, 57.0, 200.0):
        expected = multiple_days(NEWEST_JTH) * h / (h - b)
        assert float(endogenous.payback_days(h, NEWEST_JTH, 50.0)) == pytest.approx(expected, rel=1e-12)
    assert np.isinf(endogenous.payback_days([b, b - 1.0], NEWEST_JTH, 50.0)).all()  # no margin: never pays back
    # the refitted index (issue 21, simulator/market/asic_price.py): a new machine at the
    # frontier costs A (1 + π) = 342.05 × (1 − 0.1594) ≈ 288 days of its revenue (9.5 months)
    assert multiple_days(NEWEST_JTH) == pytest.approx(287.5, rel=1e-3)


def test_no_entry_when_the_target_is_shorter_than_the_machine_multiple():
    target_months = 0.99 * multiple_days(NEWEST_JTH) / endogenous.DAYS_PER_MONTH  # P ≥ m(e) > target
    day = endogenous_run(1e7, days=20, payback_target_months=target_months)
    assert (day.network_hashrate_ehs == H0_EHS).all()


def test_first_entry_follows_the_rule():
    params = {"lag_days": 1, "elasticity": 0.8, "payback_target_months": 48.0, "network_power_usd_per_mwh": 45.0}
    day = endogenous_run(90_000.0, days=3, **params)
    h = day.hashprice_usd_per_ph_day.iloc[0]
    payback = multiple_days(NEWEST_JTH) * h / (h - 45.0 * 24 * NEWEST_JTH / 1000)
    growth_per_day = 0.8 * (48.0 * 365 / 12 / payback - 1) / 365
    assert day.network_hashrate_ehs.iloc[0] == pytest.approx(H0_EHS, rel=1e-12)  # no hashprice seen on day 0
    assert day.network_hashrate_ehs.iloc[1] == pytest.approx(H0_EHS * (1 + growth_per_day), rel=1e-9)


@pytest.mark.parametrize("lag_days", [1, 7, 21])
def test_entry_lag_is_exactly_lag_days(lag_days):
    """BTC jumps +50 % on day 5 (2026-01-06): payback falls from 14.1 to 12.1 months, under the
    13-month target; the first day with new machines is day 5 + lag_days, not a day later."""
    shock = {"kind": "price_shock", "date": "2026-01-06", "change_pct": 50}
    day = endogenous_run(90_000.0, days=40, events=[shock], lag_days=lag_days, payback_target_months=13.0,
                         elasticity=1.0, network_power_usd_per_mwh=50.0)
    h = day.network_hashrate_ehs.to_numpy()
    assert day.hashprice_usd_per_ph_day.iloc[4] < day.hashprice_usd_per_ph_day.iloc[5]  # the signal's day
    first = int(np.flatnonzero(h > H0_EHS)[0])
    assert first == 5 + lag_days
    assert (h[:first] == H0_EHS).all()


def test_capitulation_after_exactly_capitulation_days():
    """At 9,000 USD/BTC every vintage is under water from day 0; nothing leaves before it has
    been so for 10 days, then the whole network switches off."""
    h = endogenous_run(9_000.0, days=20, capitulation_days=10).network_hashrate_ehs.to_numpy()
    assert (h[:10] == H0_EHS).all()
    assert (h[10:] == 0).all()


def test_lag_of_zero_is_refused():
    with pytest.raises(InputErrors, match="lag_days: must be >= 1"):
        scenario(**{"network.hashrate": {"model": "endogenous", "lag_days": 0}})
    with pytest.raises(ValueError, match="at least 1"):
        endogenous.Params.of(0, 1.0, 50.0, 14, 36.0)


def year_one_growth(price_usd):
    """Network hashrate on day 365 over day 0 − 1, default parameters, flat BTC price."""
    h = endogenous_run(price_usd, days=366).network_hashrate_ehs
    return h.iloc[365] / h.iloc[0] - 1


def test_default_year_one_growth_at_flat_90k_is_in_the_recorded_range():
    """From a 38 USD/PH/day hashprice at a flat 90,000 USD: between −10 % and +44 % (issue 17;
    the network grew 35–104 % a year in 2022–2025, the strong years with BTC up 1.5–2.5×, and
    35 % in 2025 with BTC roughly flat: Coin Metrics' daily hashrate, the shipped history)."""
    day0 = endogenous_run(90_000.0, days=1)
    assert day0.hashprice_usd_per_ph_day.iloc[0] == pytest.approx(38.0, abs=0.1)
    assert -0.10 <= year_one_growth(90_000.0) <= 0.44


def test_default_year_one_growth_at_flat_135k_exceeds_15_percent():
    assert year_one_growth(135_000.0) > 0.15


def test_defaults_live_in_the_schema_only():
    """issue 20: the model takes every parameter from the validated scenario."""
    from simulator.config.schema import Network

    for name in endogenous.FIELDS:  # the network-wide two live under `network` (shared with the signals)
        fields = Network.model_fields if name == "network_power_usd_per_mwh" else EndogenousHashrate.model_fields
        assert fields[name].default is not None, name
    assert Network.model_fields["mix_years"].default is not None
    with pytest.raises(TypeError):
        EngineModel.from_library(load_library(), scenario().start, 1.0)  # no defaults of its own
