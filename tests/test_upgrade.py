"""hashfleet upgrade: zero NPV for a like-for-like swap, positive for a free better machine,
negative at an absurd price; ranking; bad options."""
from __future__ import annotations

import json

import numpy as np
import pytest

from simulator.workflows.upgrade import UpgradeSpec, irr_annual, payback_months, per_path

QUICK = ["failures.enabled=false"]

SCENARIO = """
name: upgrade test
start: 2026-01-01
horizon_days: 240
paths: 10
seed: 4
market:
  btc_price: {model: gbm, initial_usd: 90000, drift_annual: 0.1, vol_annual: 0.5}
  fees: {model: constant, btc_per_block: 0.025}
network: {initial_difficulty: 1.5e14, initial_height: 930000, blocks: poisson, hashrate: {model: growth, growth_annual: 0.3}}
pool: {payout: fpps, fee: 0.02}
sites:
  - {name: texas-1, capacity_mw: 100, cooling_overhead: 0.04, power: {contract: fixed, price_usd_per_mwh: 42},
     curtailment: {policy: economic}, opex_usd_per_mw_year: 60000}
fleet:
  - {id: xp-2023, model: antminer-s19-xp, units: 12000, site: texas-1, deployed: 2023-03-01}
company: {shares_outstanding: 1.0e8, cash_usd: 2.0e8, sga_usd_per_year: 1.0e7, valuation: {discount_rate: 0.12}}
"""


@pytest.fixture(scope="module")
def SCENARIO_FILE(tmp_path_factory):
    path = tmp_path_factory.mktemp("upgrade") / "upgrade.yaml"
    path.write_text(SCENARIO)
    return str(path)


def test_like_for_like_swap_at_the_resale_price_is_worth_nothing(SCENARIO_FILE):
    spec = UpgradeSpec(replace="xp-2023", with_model="antminer-s19-xp", price_usd_per_th=10.0, resale_usd_per_th=10.0)
    metrics, base, new = per_path(str(SCENARIO_FILE), spec, overrides=QUICK, paths=12)
    np.testing.assert_allclose(metrics["incremental_npv_usd"], 0.0, atol=1e-6)
    np.testing.assert_allclose(new.path_metrics["btc_mined"], base.path_metrics["btc_mined"], rtol=1e-12)
    assert (metrics["prob_value_destroyed"] == 0).all()


def test_a_free_better_machine_pays_on_every_path(SCENARIO_FILE):
    # A stronger claim than "wherever BTC stays above the old machines' breakeven": with
    # economic curtailment neither fleet runs at a loss, the new one earns more per MWh, the old
    # one is resold and the new one is worth more at the end, so even paths whose BTC price
    # falls below the S19 XP's breakeven (vol 0.9) gain.
    spec = UpgradeSpec(replace="xp-2023", with_model="antminer-s21-xp", price_usd_per_th=0.0)
    metrics, base, new = per_path(SCENARIO_FILE, spec, overrides=QUICK + ["market.btc_price.vol_annual=0.9"],
                                  paths=40)
    assert (metrics["incremental_npv_usd"] > 0).all()
    assert new.path_metrics["purchase_capex_usd"].max() == 0.0  # free means free, not "priced at the index"
    assert (metrics["payback_months"] == 0).all()  # never under water
    assert np.isnan(metrics["irr_annual"]).all()  # no outlay: no rate sets the NPV to 0
    assert (metrics["btc_per_ehs_day_after"] > 0).all()


def test_an_absurd_price_destroys_value_on_every_path(SCENARIO_FILE):
    spec = UpgradeSpec(replace="xp-2023", with_model="antminer-s21-xp", price_usd_per_th=5000.0)
    metrics, _, _ = per_path(str(SCENARIO_FILE), spec, overrides=QUICK, paths=12)
    assert (metrics["incremental_npv_usd"] < 0).all() and (metrics["prob_value_destroyed"] == 1).all()


def test_irr_and_payback_closed_forms():
    flows = np.array([[-100.0, -100.0], [60.0, 0.0], [60.0, 0.0]])
    assert payback_months(flows).tolist()[0] == 2 and np.isnan(payback_months(flows)[1])
    rate = irr_annual(np.array([[-100.0]]), np.array([0.0]), np.array([121.0]), 2.0)
    assert rate[0] == pytest.approx(0.1, abs=1e-9)


def test_cli_upgrade_json_and_rank(runner, SCENARIO_FILE):
    from simulator.cli import main

    result = runner.invoke(main, ["upgrade", str(SCENARIO_FILE), "--replace", "antminer-s19-xp", "--with", "antminer-s21-xp",
                                  "--price-usd-per-th", "14", "--paths", "3",
                                  "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["metric"] == "incremental_npv_usd" and set(rows[0]) == {"metric", "mean", "p5", "p50", "p95"}
    assert {"irr_annual", "payback_months", "breakeven_hashprice_usd_per_ph_day", "breakeven_btc_price_usd",
            "prob_value_destroyed", "btc_per_ehs_day_after", "cash_cost_per_btc_usd_before"} <= {r["metric"] for r in rows}
    result = runner.invoke(main, ["upgrade", str(SCENARIO_FILE), "--replace", "xp-2023", "--rank", "--models",
                                  "antminer-s21-xp,antminer-s19j-pro,antminer-s21-pro", "--price-usd-per-th", "12",
                                  "--paths", "3", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    ranked = json.loads(result.stdout)
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    npvs = [r["npv_mean_usd"] for r in ranked]
    assert npvs == sorted(npvs, reverse=True)
    assert ranked[-1]["model"] == "antminer-s19j-pro"  # the least efficient at the same price per TH


@pytest.mark.parametrize("args, message", [
    (["--replace", "nope", "--with", "antminer-s21-xp"], "--replace nope:1:1: no fleet item has this id or model"),
    (["--replace", "xp-2023", "--with", "antminer-s99"], "--with antminer-s99:1:1: unknown hardware model"),
    (["--replace", "xp-2023", "--with", "antminer-s21-xp", "--units", "99999"], "--units 99999:1:1: must be between"),
])
def test_bad_options_exit_2(runner, args, message, SCENARIO_FILE):
    from simulator.cli import main

    result = runner.invoke(main, ["upgrade", str(SCENARIO_FILE), *args])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
