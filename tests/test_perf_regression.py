"""The performance work (issue 10) is result-neutral: pinned outputs of a small bench-10y.

``tests/data/perf_regression.yaml`` is bench-10y (benchmarks/scenario.py) cut to 6 paths ×
1,000 days (seed 11), plus the contract example's power-tax event: 20 cohorts on 4 sites (2 on
hourly index power, economic curtailment), machine failures, Poisson blocks across a halving
and ~50 retargets, the HPC project and the contract example's company (convertible,
BTC-backed loan with margin calls and a liquidation, ATM, NAV valuation).

The numbers below were computed by the engine at commit 4d8d46a, BEFORE the optimisation;
they must hold to 1e-12 relative. Failure counts are integers and must match exactly.
Re-pinned for issue 21 (the ASIC price index refitted to dated prices, which values the fleet
in NAV, resale and impairment): block heights and every path's operations are unchanged except
path 3, whose distressed company stops earlier under the lower fleet value; the finance lines
(net income, equity, dilution, beta, share price) move on every path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator

SCENARIO = Path(__file__).parent / "data" / "perf_regression.yaml"
RTOL = 1e-12

PINNED = {
    "btc_mined": [6075.755286984917, 7785.737004844531, 5352.231749311876, 3825.214840915483, 8716.503116500817,
        4515.417977186698],
    "mining_revenue_usd": [970078849.1594718, 752887383.668664, 777242605.4795929, 318192475.6204312,
        1092712590.6718855, 296310922.14238256],
    "power_cost_usd": [427263513.3784219, 396004856.76611626, 367740783.7833644, 172525617.69642028,
        440663277.86144376, 172397151.72313708],
    "curtailed_mwh": [3277021.3533073217, 4226657.569963801, 4964335.774582687, 5834842.250258188,
        2845951.809108273, 8679435.206489122],
    "units_failed": [24160.0, 24467.0, 23898.0, 19376.0, 24298.0, 24094.0],
    "hpc_revenue_usd": [83056438.35616389, 83056438.35616389, 83056438.35616389, 25062106.961906537,
        83056438.35616389, 83056438.35616389],
    "net_income_usd": [549722390.8595824, 101379312.80409308, -186140120.40370834, -436232613.56005514,
        600863531.1324476, -610917067.3239784],
    "end_cash_usd": [50000000.0, 50000000.0, 50000000.0, 0.0, 50000000.0, 0.0],
    "end_treasury_btc": [6197.934180695793, 5554.492413514587, 5146.645398735051, 3177.6626310577094,
        7606.6327281782715, 0.0],
    "end_equity_value_usd": [1394855659.44363, 681808760.2285061, 218676103.36955032, 0.0, 1442440291.0274029, 0.0],
    "dilution_pct": [4.225112993978586, 9.335971550347711, 11.658465272348106, 29.35193939192995, 5.537053674079373,
        16.53774492979876],
    "max_drawdown_equity_pct": [63.31808166981722, 78.49523946722444, 97.92359399215145, 100.0, 77.85194669976565,
        100.0],
    "equity_beta_to_btc": [1.3823151163471827, 1.8829551099845836, 2.019704379001146, 3.899313710621186,
        1.475984088483571, 2.8786812904248955],
    "prob_margin_call": [0.0, 0.0, 0.0, 1.0, 0.0, 1.0],
    "prob_liquidation": [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
}
END_HEIGHTS = [1075187.0, 1074823.0, 1075977.0, 1074814.0, 1075273.0, 1074901.0]
LAST_DAY_QUANTILES = {"btc_price_usd_p50": 109476.74466821157, "difficulty_p95": 422262057875089.9,
    "fleet_power_mw_p5": 0.0, "curtailed_mwh_p50": 7268.6734473900015, "cash_usd_p50": 50000000.0,
    "share_price_usd_p95": 9.064327287499447}
#: monthly line: (value of row 20 — path 0, its 21st month —, sum over all rows)
MONTHLY = {"power_cost_usd": (12425266.494963821, 1976595201.2089043), "units_failed": (735.0, 140293.0), "cfo_usd":
    (3088887.8142353976, -126638152.54416728), "share_price_usd": (7.9219715211227815, 1009.8614105451727)}


@pytest.fixture(scope="module")
def result():
    return simulator.run(SCENARIO, keep_paths=6)


@pytest.mark.parametrize("metric", sorted(PINNED))
def test_per_path_metrics_are_pinned(result, metric):
    np.testing.assert_allclose(result.path_metrics[metric], PINNED[metric], rtol=RTOL, atol=0)


def test_failures_are_exact_counts(result):
    assert result.path_metrics["units_failed"].tolist() == PINNED["units_failed"]


def test_heights_quantiles_and_monthly_are_pinned(result):
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
