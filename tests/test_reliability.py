"""Reliability: extreme markets finish with documented behaviour and no NaN or inf anywhere;
byte-identical outputs for a seed; memory and calendar limits refused before anything runs."""
from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from simulator.config.loader import Document, validate_document
from simulator.engine import simulate

from test_finance import BASE

COMPANY = {"shares_outstanding": 1e8, "cash_usd": 5e7, "treasury_btc": 100.0, "sga_usd_per_year": 5e6,
           "sbc_usd_per_year": 1e6, "treasury_policy": {"sell_fraction": 0.5, "min_cash_usd": 1e7},
           "equity": {"atm_enabled": True, "atm_max_usd_per_quarter": 2e7},
           "debt": [{"kind": "convertible", "principal_usd": 5e7, "coupon": 0.02, "maturity": "2026-05-01",
                     "conversion_price_usd": 3.0},
                    {"kind": "btc_backed", "principal_usd": 2e6, "rate": 0.08, "ltv_initial": 0.5,
                     "ltv_margin_call": 0.7, "ltv_liquidation": 0.8}],
           "hedges": [{"kind": "put", "fraction": 0.3}]}


def hourly_csv(tmp_path, usd_per_mwh: float, days: int = 150) -> str:
    hours = pd.date_range("2026-01-01", periods=days * 24, freq="h")
    path = tmp_path / f"power_{usd_per_mwh}.csv"
    path.write_text("datetime,price_usd_per_mwh\n" + "".join(f"{h:%Y-%m-%dT%H:%M}Z,{usd_per_mwh}\n" for h in hours))
    return str(path)


def extreme(tmp_path, **changes):
    doc = copy.deepcopy(BASE)
    doc.update(horizon_days=150, paths=4, seed=9, company=copy.deepcopy(COMPANY))
    doc["sites"][0]["curtailment"] = {"policy": "economic"}
    doc["market"]["btc_price"]["vol_annual"] = 0.6
    doc["network"]["blocks"] = "poisson"
    for key, value in changes.items():
        node = doc
        *head, last = key.split(".")
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value(tmp_path) if callable(value) else value
    return simulate(validate_document(Document(doc, {}, {}), "extreme.yaml"), keep_paths=4)


def assert_all_finite(res):
    for name, frame in (("daily", res.daily), ("daily_quantiles", res.daily_quantiles), ("monthly", res.monthly)):
        numeric = frame.select_dtypes("number")
        assert np.isfinite(numeric.to_numpy()).all(), (name, numeric.columns[~np.isfinite(numeric).all()].tolist())
    text = json.dumps(res.summary)
    assert "NaN" not in text and "Infinity" not in text


CASES = {
    "btc at 1 usd": ({"market.btc_price.initial_usd": 1.0}, "everything curtailed, nothing mined"),
    "btc at 10m usd": ({"market.btc_price.initial_usd": 1e7}, "every machine runs"),
    "difficulty x1000": ({"network.initial_difficulty": 1.5e17}, "everything curtailed, nothing mined"),
    "fees 0": ({"market.fees.btc_per_block": 0.0}, "subsidy only"),
    "fees 10 btc": ({"market.fees.btc_per_block": 10.0}, "every machine runs"),
    "power at the ercot floor": ({"sites.0.power": lambda p: {"contract": "index", "mean_usd_per_mwh": 40.0, "file": hourly_csv(p, -250.0)}},
                                 "every machine runs and is paid to"),
    "power at the ercot cap": ({"sites.0.power": lambda p: {"contract": "index", "mean_usd_per_mwh": 40.0, "file": hourly_csv(p, 5000.0)}},
                               "everything curtailed, nothing mined"),
    "free fixed power": ({"sites.0.power.price_usd_per_mwh": 0.0}, "every machine runs"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_extreme_markets_finish_with_documented_behaviour(tmp_path, case):
    changes, behaviour = CASES[case]
    res = extreme(tmp_path, **changes)
    assert_all_finite(res)
    m = {k: v for k, v in res.summary["metrics"].items()}
    if behaviour.startswith("everything curtailed"):
        assert m["btc_mined"]["p95"] == pytest.approx(0.0, abs=1e-6)
        assert m["cash_cost_per_btc_usd"]["defined_paths"] == 0 and m["cash_cost_per_btc_usd"]["mean"] is None
        assert res.daily.fleet_power_mw.max() == 0.0
    elif behaviour.startswith("every machine runs"):
        assert m["curtailed_mwh"]["p95"] == 0.0 and m["btc_mined"]["p5"] > 0
        if "paid" in behaviour:
            assert m["power_cost_usd"]["p95"] < 0  # negative prices pay the consumer
    else:
        assert m["btc_mined"]["p5"] > 0
    # distress is a recorded outcome, never a negative cash balance
    assert (res.monthly.cash_usd >= -1e-6).all()


def test_same_seed_gives_byte_identical_outputs(tmp_path):
    from simulator.config import load_scenario

    from conftest import CONTRACT, CONTRACT_120_DAYS

    outs = []
    for name in ("a", "b"):  # every dated change and the company's books inside 120 days
        res = simulate(load_scenario(str(CONTRACT), CONTRACT_120_DAYS), paths=6, keep_paths=3)
        res.write(str(tmp_path / name))
        outs.append(tmp_path / name)
    for file in ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet"):
        assert (outs[0] / file).read_bytes() == (outs[1] / file).read_bytes(), file


def test_a_run_too_big_for_memory_is_refused_before_it_starts(runner, tmp_path):
    from simulator.cli import main

    from conftest import CONTRACT

    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(CONTRACT), "--paths", "100000000", "--out", str(out)])
    assert result.exit_code == 2
    assert f"{CONTRACT}:1:1: this run needs about" in result.stderr and "--paths (about" in result.stderr
    assert not out.exists() and "Traceback" not in result.stderr


def test_horizons_past_the_calendar_are_refused(runner):
    from simulator.cli import main

    from conftest import CONTRACT

    result = runner.invoke(main, ["validate", str(CONTRACT), "--set", "horizon_days=3000000"])
    assert result.exit_code == 2 and "horizon_days: must be <= 36500" in result.stderr
    result = runner.invoke(main, ["validate", str(CONTRACT), "--set", "start=9999-06-01"])
    assert result.exit_code == 2 and "is past 9999-12-31; at most 213 days fit" in result.stderr
