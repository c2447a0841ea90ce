"""Regression pins (not validation): the engine's own outputs of a small bench-10y, frozen.

These numbers are what the engine computed, not figures from the world or a closed form: they
catch an unintended change of results (the performance work of issue 10 had to be
result-neutral), and say nothing about whether the results are right (the validations are
tests/test_published_anchor.py, tests/test_backtest.py and the hand calculations of
tests/test_engine.py). A deliberate change of the model updates them, with the reason in the
commit message.

``tests/data/perf_regression.yaml`` is bench-10y (benchmarks/scenario.py) cut to 6 paths ×
1,000 days (seed 11), plus the contract example's power-tax event: 20 cohorts on 4 sites (2 on
hourly index power, economic curtailment), machine failures, Poisson blocks across a halving
and ~50 retargets, the HPC project and the contract example's company (convertible,
BTC-backed loan with margin calls and a liquidation, ATM, NAV valuation).

The numbers below were computed by the engine at commit 4d8d46a, BEFORE the optimisation;
they must hold to 1e-12 relative. Failure counts are integers and must match exactly.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator

SCENARIO = Path(__file__).parent / "data" / "perf_regression.yaml"
RTOL = 1e-12

PINNED = {
    "btc_mined": [6075.755286984917, 7785.737004844531, 5352.231749311876, 3932.5434627554237, 8716.503116500817,
                  4515.417977186698],
    "mining_revenue_usd": [970078849.1594718, 752887383.668664, 777242605.4795929, 326439511.4784695,
                           1092712590.6718855, 296310922.14238256],
    "power_cost_usd": [427263513.3784219, 396004856.76611626, 367740783.7833644, 178319176.2830433,
                       440663277.86144376, 172397151.72313708],
    "curtailed_mwh": [3277021.3533073217, 4226657.569963801, 4964335.774582687, 8502902.444664175,
                      2845951.809108273, 8679435.206489122],
    "units_failed": [24160.0, 24467.0, 23898.0, 24246.0, 24298.0, 24094.0],
    "hpc_revenue_usd": [83056438.35616389] * 6,
    "net_income_usd": [421192286.3634194, -26293236.349466242, -319155277.7533088, -613587887.8591822,
                       470668689.85021275, -739106701.056989],
    "end_cash_usd": [50000000.0, 50000000.0, 50000000.0, 44578924.43554285, 50000000.0, 1282952.0472542448],
    "end_treasury_btc": [6197.934180695793, 5554.492413514587, 5146.645398735051, 3177.6626310577094,
                         7606.6327281782715, 0.0],
    "end_equity_value_usd": [1663403061.9851084, 908986973.699721, 315501905.59902096, 0.0, 1659938219.7236488,
                             0.0],
    "dilution_pct": [3.178057366756182, 5.777095134699195, 7.21827160676356, 5964.7228248490965,
                     3.7913339522718026, 500.0439035255255],
    "max_drawdown_equity_pct": [64.77030470362618, 74.21592880726416, 95.00337770188723, 100.0,
                                77.69402261494359, 100.0],
    "equity_beta_to_btc": [1.1609974391852074, 1.454430141837488, 1.5440457231358213, 3.6663192807255984,
                           1.2492268705842495, 2.4028832033488343],
    "prob_margin_call": [0.0, 0.0, 0.0, 1.0, 0.0, 1.0],
    "prob_liquidation": [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
}
END_HEIGHTS = [1075187.0, 1074823.0, 1075977.0, 1074814.0, 1075273.0, 1074901.0]
LAST_DAY_QUANTILES = {"btc_price_usd_p50": 109476.74466821157, "difficulty_p95": 422262057875089.9,
                      "fleet_power_mw_p5": 0.0, "curtailed_mwh_p50": 10713.37430127, "cash_usd_p50": 50000000.0,
                      "share_price_usd_p95": 10.726342762104716}
#: monthly line: (value of row 20 — path 0, its 21st month —, sum over all rows)
MONTHLY = {"power_cost_usd": (12425266.494963821, 1982388759.7955272), "units_failed": (735.0, 145163.0),
           "cfo_usd": (3088887.8142353976, -134929462.7650318), "share_price_usd": (10.370919905281598,
                                                                                     1449.0638001714651)}


@pytest.fixture(scope="module")
def result():
    return simulator.run(SCENARIO, keep_paths=6)


@pytest.mark.parametrize("metric", sorted(PINNED))
def test_per_path_metrics_match_the_regression_pins(result, metric):
    np.testing.assert_allclose(result.path_metrics[metric], PINNED[metric], rtol=RTOL, atol=0)


def test_failures_are_exact_counts(result):
    assert result.path_metrics["units_failed"].tolist() == PINNED["units_failed"]


def test_heights_quantiles_and_monthly_match_the_regression_pins(result):
    assert result.daily.groupby("path").height.last().tolist() == END_HEIGHTS
    last = result.daily_quantiles.iloc[-1]
    for column, value in LAST_DAY_QUANTILES.items():
        assert float(last[column]) == pytest.approx(value, rel=RTOL, abs=0)
    for line, (row20, total) in MONTHLY.items():
        assert float(result.monthly[line].iloc[20]) == pytest.approx(row20, rel=RTOL, abs=0)
        assert float(result.monthly[line].sum()) == pytest.approx(total, rel=RTOL, abs=0)


def test_chunks_reproduce_the_whole_run(result):
    """Two chunks of 3 paths give the whole run's per-path numbers, bit for bit (DESIGN.md, Determinism)."""
    scenario = simulator.config.load_scenario(str(SCENARIO))
    from simulator.engine import simulate

    parts = [simulate(scenario, keep_paths=0, path_ids=ids) for ids in ([0, 1, 2], [3, 4, 5])]
    for metric in ("btc_mined", "end_cash_usd", "units_failed", "net_income_usd"):
        joined = np.concatenate([p.path_metrics[metric] for p in parts])
        np.testing.assert_array_equal(joined, result.path_metrics[metric])
