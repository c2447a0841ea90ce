"""AI/HPC conversion: lease and GPU-cloud closed forms, project debt, capacity, and the
conversion's effect on equity beta."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from simulator.config.loader import Document, validate_document
from simulator.yaml12 import parse
from simulator.engine import simulate
from simulator.errors import InputErrors

from conftest import SCENARIOS
from test_finance import BASE, month, scenario


def project(**changes):
    p = {"site": "a", "it_mw": 10.0, "pue": 1.2, "start": "2026-01-01", "build_months": 0,
         "revenue": {"kind": "colocation", "lease_usd_per_kw_month": 100.0}}
    for key, value in changes.items():
        if key in ("lease_usd_per_kw_month", "tenant_ramp_months", "escalator_annual", "term_years",
                   "tenant_pays_power"):
            p["revenue"][key] = value
        else:
            p[key] = value
    return p


def run(*projects, **changes):
    return simulate(scenario(**{"hpc": list(projects), "horizon_days": 365, **changes}), keep_paths=1)


def test_colocation_full_occupancy_earns_mw_times_lease_times_months():
    res = run(project())
    assert res.monthly.hpc_revenue_usd.sum() == pytest.approx(10 * 1000 * 100.0 * 12, rel=1e-12)
    january = 10 * 1000 * 100.0 * 12 * 31 / 365
    assert month(res, "hpc_revenue_usd")[0] == pytest.approx(january, rel=1e-12)
    assert res.summary["metrics"]["ebitda_hpc_usd"]["mean"] == pytest.approx(10 * 1000 * 100.0 * 12, rel=1e-12)


def test_tenant_ramp_is_linear_from_completion():
    # 6-month ramp (182.5 days): the first 182.5 days earn half, so a year earns 365 − 91.25 days' worth
    res = run(project(tenant_ramp_months=6))
    per_day = 10 * 1000 * 100.0 * 12 / 365
    assert res.monthly.hpc_revenue_usd.sum() == pytest.approx(per_day * (365 - 182.5 / 2), rel=1e-12)
    # a 3-month build: energised at 00:00 of day ceil(3 × 365/12) = 92
    res = run(project(build_months=3))
    assert res.monthly.hpc_revenue_usd.sum() == pytest.approx(per_day * (365 - 92), rel=1e-12)
    assert month(res, "hpc_revenue_usd")[2] == 0.0
    assert month(res, "hpc_revenue_usd")[3] == pytest.approx(per_day * 28, rel=1e-12)  # from April 3 (day 92)


def test_escalator_term_and_power_paid_by_the_company():
    res = simulate(scenario(**{"hpc": [project(escalator_annual=0.05, term_years=1.5, tenant_pays_power=False)],
                               "horizon_days": 731}), keep_paths=1)
    per_day = 10 * 1000 * 100.0 * 12 / 365
    # year 1 at the signed rate, then 182.5 days (a term of 1.5 years ends mid-day 547.5 → 182 whole days) at +5 %
    assert res.monthly.hpc_revenue_usd.sum() == pytest.approx(per_day * (365 + 1.05 * 183), rel=1e-12)
    power = 10 * 1.2 * 24 * 42.0 * 548  # facility MWh at the fixed price while the lease runs
    assert res.monthly.hpc_power_cost_usd.sum() == pytest.approx(power, rel=1e-12)


def test_gpu_cloud_revenue_decline_power_and_capex():
    gpu = {"site": "a", "it_mw": 2.0, "pue": 1.3, "start": "2026-01-01",
           "revenue": {"kind": "gpu_cloud", "gpus_per_mw": 500, "capex_usd_per_gpu": 30000.0,
                       "price_usd_per_gpu_hour": 2.0, "utilization": 0.8, "price_decline_annual": 0.1}}
    res = run(gpu)
    d = np.arange(365)
    revenue = (1000 * 24 * 2.0 * 0.8 * 0.9 ** (d / 365)).sum()
    assert res.monthly.hpc_revenue_usd.sum() == pytest.approx(revenue, rel=1e-12)
    assert res.monthly.hpc_power_cost_usd.sum() == pytest.approx(2.0 * 1.3 * 24 * 42.0 * 365, rel=1e-12)
    assert month(res, "hpc_capex_usd")[0] == pytest.approx(1000 * 30000.0)
    # GPUs depreciate over 5 years from the month after purchase
    assert res.monthly.hpc_depreciation_usd.sum() == pytest.approx(30e6 / (5 * 365) * (365 - 31), rel=1e-9)


def test_project_debt_is_drawn_with_capex_and_amortised_after_completion():
    p = project(build_months=2, capex_usd_per_mw=1e6,
                financing={"debt_fraction": 0.5, "rate": 0.06, "term_years": 0.5})
    res = run(p, **{"company.cash_usd": 50e6})
    debt = month(res, "debt_usd")
    assert debt[0] == pytest.approx(5e6 * 31 / (2 * 365 / 12))  # drawn day by day with the build
    assert debt[1] == pytest.approx(5e6 * 59 / (2 * 365 / 12))  # the build ends on March 2
    assert debt[2] < 5e6 and debt[6] > 0 and debt[7] == pytest.approx(0.0, abs=1e-6)  # 6 payments, March … August
    assert month(res, "debt_drawn_usd").sum() == pytest.approx(5e6)
    assert res.monthly.hpc_interest_usd.sum() > 0


def test_mining_cost_per_btc_leaves_hpc_out():
    # HPC assets, project debt and HPC opex stay out of mining's cost; with SG&A charged all to mining
    # (revenue_share would move part of it to HPC: test_valuation) the per-BTC costs are unchanged
    whole = {"company.cost_allocation": "all_to_mining", "sites.0.capacity_mw": 200.0}
    without = run(**whole)
    with_hpc = run(project(capex_usd_per_mw=1e6, financing={"debt_fraction": 0.5, "rate": 0.1, "term_years": 5}),
                   **whole)
    for name in ("cash_cost_per_btc_usd", "all_in_cost_per_btc_usd"):
        assert with_hpc.summary["metrics"][name]["pooled"] == pytest.approx(without.summary["metrics"][name]["pooled"])


@settings(max_examples=20, deadline=None)
@given(capacity=st.floats(20, 120), units=st.integers(1000, 12000), it_mw=st.floats(1, 60), pue=st.floats(1, 1.6),
       start=st.integers(0, 80), retire=st.one_of(st.none(), st.integers(0, 80)))
def test_mining_and_hpc_megawatts_never_exceed_the_site(capacity, units, it_mw, pue, start, retire):
    doc = copy.deepcopy(BASE)
    doc.update(horizon_days=90, paths=2, seed=5)
    doc["market"]["btc_price"]["vol_annual"] = 0.8
    doc["sites"][0]["capacity_mw"] = capacity
    doc["fleet"][0]["units"] = units
    if retire is not None:
        doc["fleet"][0]["retired"] = str(np.datetime64("2026-01-01") + retire + 1)
    doc["hpc"] = [project(it_mw=it_mw, pue=pue, start=str(np.datetime64("2026-01-01") + start))]
    try:
        s = validate_document(Document(doc, {}, {}), "cap.yaml")
    except InputErrors:
        assume(False)
    res = simulate(s)
    total = res.daily.fleet_power_mw + res.daily.hpc_power_mw
    assert (total <= capacity + 1e-9).all()


def converted_and_not(paths: int):
    doc = parse((SCENARIOS / "hpc_conversion.yaml").read_text(), "hpc_conversion.yaml").data
    doc["paths"], doc["horizon_days"] = paths, 1096
    for p in doc["hpc"]:
        p["financing"] = {"debt_fraction": 0.0}
    doc["company"]["equity"] = {"atm_enabled": False}
    doc["company"]["cash_usd"] = 1.0e9  # the conversion is paid from cash
    plain = copy.deepcopy(doc)
    del plain["hpc"]
    for item in plain["fleet"]:
        item.pop("retired", None)
    load = lambda d: validate_document(Document(d, {}, {}), "hpc_conversion.yaml")  # noqa: E731
    return simulate(load(doc), keep_paths=0), simulate(load(plain), keep_paths=0)


def test_conversion_lowers_equity_beta_on_the_same_paths():
    # Statistical claim over paired paths (same seed, so the same BTC prices and network):
    # contracted HPC cash flows do not move with BTC, so the unlevered converter's equity moves less.
    converted, plain = converted_and_not(paths=120)
    assert converted.path_metrics["prob_cash_shortfall"].sum() == 0 and plain.path_metrics["prob_cash_shortfall"].sum() == 0
    diff = converted.path_metrics["equity_beta_to_btc"] - plain.path_metrics["equity_beta_to_btc"]
    diff = diff[np.isfinite(diff)]
    assert len(diff) >= 100
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)))
    assert diff.mean() < 0 and t < -3, (diff.mean(), t)  # one-sided p < 0.002


def test_run_prints_the_revenue_mix(runner):
    from simulator.cli import main

    result = runner.invoke(main, ["run", str(SCENARIOS / "hpc_conversion.yaml"), "--paths", "3",
                                  "--set", "horizon_days=800"])
    assert result.exit_code == 0, result.stderr
    mix = result.stdout.split("Revenue mix by year")[1].splitlines()
    assert mix[1].split()[:4] == ["year", "mining_revenue_usd", "hosting_revenue_usd", "hpc_revenue_usd"]
    assert [line.split()[0] for line in mix[2:]] == ["2026", "2027", "2028"]
    assert mix[2].split()[3] == "0" and float(mix[3].split()[3].replace(",", "")) > 0


def test_prepaid_lease_is_deferred_revenue_used_before_cash():
    prepaid = run(project(capex_usd_per_mw=0.0, **{"revenue": {"kind": "colocation", "lease_usd_per_kw_month": 100.0,
                                                               "prepayment_months": 3}}))
    plain = run(project())
    per_month = 10 * 1000 * 100.0  # 1 M USD a month of 365/12 days
    assert month(prepaid, "deferred_revenue_usd")[0] == pytest.approx(3 * per_month - per_month * 31 * 12 / 365)
    assert month(prepaid, "deferred_revenue_usd")[3] == 0.0
    np.testing.assert_allclose(month(prepaid, "revenue_usd"), month(plain, "revenue_usd"), rtol=1e-12)
    # the cash arrives up front: January's cash revenue is the prepayment, February's none of the lease
    assert month(prepaid, "cash_revenue_usd")[0] == pytest.approx(3 * per_month)
    assert month(prepaid, "cash_revenue_usd")[1] == pytest.approx(0.0, abs=1e-6)


def test_unused_prepayment_is_kept_when_the_tenant_defaults():
    lease = {"kind": "colocation", "lease_usd_per_kw_month": 100.0, "prepayment_months": 12,
             "tenant_default_probability_annual": 0.99}
    res = simulate(scenario(**{"hpc": [project(revenue=lease)], "horizon_days": 365, "paths": 20}))
    per_day = 10 * 1000 * 100.0 * 12 / 365
    m = res.monthly
    # every path recognises the whole prepayment: what was earned before the default plus what is kept
    recognised = m.groupby("path").hpc_revenue_recognised_usd.sum()
    assert recognised.to_numpy() == pytest.approx(np.full(20, 365 * per_day), rel=1e-12)
    assert (m.groupby("path").deferred_revenue_usd.last() == 0).all()
    assert (m.groupby("path").hpc_revenue_usd.sum() < recognised).any()  # some tenants defaulted early
