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
cash and the figures that depend on them; the operations figures did not. ``tools/repin_regression.py``
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
    'btc_mined': [6075.755286984917, 7785.737004844531, 5352.231749311876, 3932.5434627554237, 8716.503116500817, 4515.417977186698],
    'mining_revenue_usd': [970078849.1594718, 752887383.668664, 777242605.4795929, 326439511.4784695, 1092712590.6718855, 296310922.14238256],
    'power_cost_usd': [427263513.3784219, 396004856.76611626, 367740783.7833644, 178319176.2830433, 440663277.86144376, 172397151.72313708],
    'curtailed_mwh': [3277021.3533073217, 4226657.569963801, 4964335.774582687, 8502902.444664175, 2845951.809108273, 8679435.206489122],
    'units_failed': [24160.0, 24467.0, 23898.0, 24246.0, 24298.0, 24094.0],
    'hpc_revenue_usd': [83056438.35616389, 83056438.35616389, 83056438.35616389, 83056438.35616389, 83056438.35616389, 83056438.35616389],
    'net_income_usd': [549722390.8595818, 101379312.80409308, -186140120.40370864, -482276867.3324298, 600863531.1324478, -575047032.8059213],
    'end_cash_usd': [50000000.0, 50000000.0, 50000000.0, 50000000.0, 50000000.0, 50000000.0],
    'end_treasury_btc': [6197.934180695784, 5554.492413514587, 5146.645398735048, 2575.8003132837707, 7606.63272817827, 3197.752470171998],
    'end_equity_value_usd': [1759287639.1605806, 1087860953.3326201, 643683184.0425327, 284332018.1003785, 1696530152.8923433, 147972958.3510461],
    'dilution_pct': [3.6614102261503634, 6.382042552607614, 5.1434300486504325, 33.92027593418412, 4.678870190649875, 82.38835792469195],
    'max_drawdown_equity_pct': [55.06573469459211, 49.49613866073824, 77.37806220390463, 83.47252735748188, 64.04566945236681, 93.24273486928756],
    'equity_beta_to_btc': [1.1063077163093316, 1.1754570334458756, 1.1346551711423467, 1.2488641202057735, 1.1547039036163265, 1.1599375208771547],
    'prob_margin_call': [1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
    'prob_liquidation': [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
}
END_HEIGHTS = [1075187.0, 1074823.0, 1075977.0, 1074814.0, 1075273.0, 1074901.0]
LAST_DAY_QUANTILES = {'btc_price_usd_p50': 109476.74466821157, 'difficulty_p95': 422262057875089.9, 'fleet_power_mw_p5': 0.0, 'curtailed_mwh_p50': 10713.37430127, 'cash_usd_p50': 50000000.0, 'share_price_usd_p95': 11.186906622933524}
#: monthly line: (value of row 20 — path 0, its 21st month —, sum over all rows)
MONTHLY = {'power_cost_usd': (12425266.494963821, 1982388759.7955272), 'units_failed': (735.0, 145163.0), 'cfo_usd': (3088887.8142353976, -102010165.68452561), 'share_price_usd': (10.306171696278067, 1274.6989716499477)}


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
