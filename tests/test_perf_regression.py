"""The performance work (issue 10) is result-neutral: pinned outputs of a small bench-10y.

``tests/data/perf_regression.yaml`` is bench-10y (benchmarks/scenario.py) cut to 6 paths ×
1,000 days (seed 11), plus the contract example's power-tax event: 20 cohorts on 4 sites (2 on
hourly index power, economic curtailment), machine failures, Poisson blocks across a halving
and ~50 retargets, the HPC project and the contract example's company (convertible,
BTC-backed loan with margin calls, ATM, NAV valuation).

The numbers below were computed by the engine at commit 4d8d46a, BEFORE the optimisation;
they must hold to 1e-12 relative. Failure counts are integers and must match exactly.
Issue 16 re-pinned the company figures (structural share price anchored as before by
``market_multiple``, BTC-loan top-up with cash, cure period and release, ATM floor at NAV),
and issue 21's refitted ASIC price index (the fleet's value in NAV, resale and impairment)
moved them again: the operations figures are unchanged by both. The ASIC price index is then
read at the hashprice a buyer expects over the year (halving-adjusted: the 2028 halving falls in
this horizon), and a purchase without a stated price costs the new-machine price: the fleet's
value in NAV, hence the share price, ATM dilution, equity beta and drawdown moved; operations,
cash, BTC and net income did not. Issue 16's close-out (the premium is value in USD beside the
assets, not a multiple of the equity; a price below $0.0001 is 0) moved the share price and, through the ATM, dilution,
cash and the figures that depend on them; the operations figures did not. Issue 19's keyed Philox
streams (0.2.0: every draw a Philox4x64-10 word keyed by seed, component, path and position, in
place of 0.1.x's per-path PCG64 generators) moved every random figure: prices, fees, blocks,
failures, index power, hence every line below but the deterministic HPC revenue. ``tools/repin_regression.py``
prints this block from a fresh run when a change is meant to move it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator

SCENARIO = Path(__file__).parent / "data" / "perf_regression.yaml"
RTOL = 1e-12

PINNED = {
    'btc_mined': [6765.967641794346, 4730.89551776033, 4711.33908731766, 7143.668252273608, 8128.861974119903, 5597.967078006047],
    'mining_revenue_usd': [516431210.55779713, 338150457.2607039, 390414214.9544315, 874261077.498522, 1397449396.3757908, 476431837.113028],
    'power_cost_usd': [294402705.7561504, 190378882.64889264, 225715112.92434227, 440902352.01222515, 486024185.3988871, 254533910.1744019],
    'curtailed_mwh': [5836834.594236537, 8779918.24963395, 7488143.503428052, 3356860.3929074104, 2252427.2493087295, 6946508.159207767],
    'units_failed': [24199.0, 24494.0, 24197.0, 24152.0, 24033.0, 24504.0],
    'hpc_revenue_usd': [83056438.35616389, 83056438.35616389, 83056438.35616389, 83056438.35616389, 83056438.35616389, 83056438.35616389],
    'net_income_usd': [-203523231.02397293, -616009719.6692171, -511330663.3965842, 380967721.2670872, 406870402.3895601, -343134407.9746115],
    'end_cash_usd': [50000000.0, 50000000.0, 50000000.0, 50000000.0, 58878123.94366628, 50000000.0],
    'end_treasury_btc': [3795.6935689435863, 0.0, 2893.164118984456, 6002.063099822019, 8064.430987059948, 3874.879900642909],
    'end_equity_value_usd': [740233109.3573201, 72094684.78808218, 200398514.4160936, 1508912345.8662944, 1363945528.78788, 392339093.9517259],
    'dilution_pct': [10.13174614689516, 93.1709751991791, 12.187746091485586, 5.177371735520997, 3.2663707088786076, 9.325154542363023],
    'max_drawdown_equity_pct': [72.96827331002412, 96.91928766621679, 84.31711880745797, 49.265533904228626, 64.72590755076395, 74.27997270258977],
    'equity_beta_to_btc': [1.248262626861437, 1.0514347557546468, 1.1908671945112592, 1.154631470649331, 1.0610203053202352, 1.2145875718536447],
    'prob_margin_call': [1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
    'prob_liquidation': [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
}
END_HEIGHTS = [1074503.0, 1074419.0, 1074811.0, 1074800.0, 1075178.0, 1075149.0]
LAST_DAY_QUANTILES = {'btc_price_usd_p50': 90002.97037325618, 'difficulty_p95': 289448796496598.56, 'fleet_power_mw_p5': 0.0, 'curtailed_mwh_p50': 11684.42579799, 'cash_usd_p50': 50000000.0, 'share_price_usd_p95': 9.374518224911501}
#: monthly line: (value of row 20 — path 0, its 21st month —, sum over all rows)
MONTHLY = {'power_cost_usd': (9182221.636981094, 1891957148.9148989), 'units_failed': (750.0, 145579.0), 'cfo_usd': (3088887.814235448, -34513647.1314892), 'share_price_usd': (3.4990869743449773, 1134.9192677168196)}


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
    """Two uneven chunks (2 and 4 paths) give the whole run's per-path metrics and monthly lines,
    bit for bit (DESIGN.md, Determinism). This scenario holds the contract example's company, so it
    also covers what test_reliability's contract-example chunking test checked (merged here)."""
    scenario = simulator.config.load_scenario(str(SCENARIO))
    from simulator.engine import simulate

    parts = [simulate(scenario, keep_paths=0, path_ids=ids) for ids in (np.arange(0, 2), np.arange(2, 6))]
    assert set(parts[0].path_metrics) == set(result.path_metrics)
    for metric, values in result.path_metrics.items():
        joined = np.concatenate([p.path_metrics[metric] for p in parts])
        np.testing.assert_array_equal(joined, values, err_msg=metric)
    pd.testing.assert_frame_equal(result.monthly, pd.concat([p.monthly for p in parts], ignore_index=True)
                                  .sort_values(["path", "month"], kind="stable").reset_index(drop=True))
