"""Issue 19: the faster forms of the daily computations give what the direct computations give
(to floating-point reassociation: 1e-12 relative)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from simulator.config.schema.hpc import HpcProject
from simulator.finance.contracts import ContractValuer

COLOCATION = {"kind": "colocation", "lease_usd_per_kw_month": 140.0, "term_years": 7.5, "tenant_ramp_months": 5,
              "escalator_annual": 0.03, "tenant_default_probability_annual": 0.02, "tenant_pays_power": False}
GPU_CLOUD = {"kind": "gpu_cloud", "gpus_per_mw": 600.0, "capex_usd_per_gpu": 30000.0, "price_usd_per_gpu_hour": 2.1,
             "gpu_life_years": 4.2, "price_decline_annual": 0.15}


def direct_pv_usd(valuer: ContractValuer, j: int, age_years, rate_factor, power_price_usd_per_mwh) -> np.ndarray:
    """``PV(a)`` of project ``j`` at ages ``a`` [years] per path, summed step by step as
    simulator/finance/contracts.py's module docstring writes it [USD]: the tables' reference."""
    p, r = valuer.projects[j], valuer.projects[j].revenue
    length, t, x, occ = valuer._grid(j, age_years)
    power_usd = p.it_mw * p.pue * 24 * 365 * power_price_usd_per_mwh
    opex_usd = p.opex_usd_per_mw_year * p.it_mw
    if r.kind == "colocation":
        revenue = p.it_mw * 1000 * r.lease_usd_per_kw_month * 12 * rate_factor * (1 + r.escalator_annual) ** np.floor(x)
        power_usd = 0.0 if r.tenant_pays_power else power_usd
        survival = (1 - r.tenant_default_probability_annual) ** t
    else:
        revenue = (r.gpus_per_mw * p.it_mw * 24 * 365 * r.price_usd_per_gpu_hour * r.utilization
                   * (1 - r.price_decline_annual) ** x)
        survival = 1.0
    cash_flow = (revenue - power_usd) * occ - opex_usd
    return (length * cash_flow * survival * (1 + valuer.rate) ** -t).sum(axis=0)


@pytest.mark.parametrize("revenue", [COLOCATION, {**COLOCATION, "tenant_pays_power": True}, GPU_CLOUD])
def test_contract_tables_equal_the_direct_sum(revenue):
    project = HpcProject(site="a", it_mw=60.0, pue=1.3, start=dt.date(2026, 3, 1), build_months=6,
                         capex_usd_per_mw=9e6, opex_usd_per_mw_year=1e5, revenue=revenue)
    valuer = ContractValuer([project], dt.date(2026, 1, 1), 0.1, 10, paths=7)
    rng = np.random.default_rng(5)
    life_days = int(np.ceil(valuer.life_years[0] * 365))
    ages = np.concatenate([[0, 1, 2, 364, 365, 366, life_days - 1, life_days, life_days + 40],
                           rng.integers(0, life_days, 40)])
    factor, price = rng.lognormal(0, 0.2, len(ages)), rng.uniform(-20, 300, len(ages))
    parts = valuer.pv_parts(0, int(ages.max()))
    assert len(parts[0]) == life_days + 1  # every age of the life, then 0 for all later ones
    at = np.minimum(ages, len(parts[0]) - 1)
    f = factor if revenue["kind"] == "colocation" else 1.0
    tabled = f * parts[0][at] - price * parts[1][at] - parts[2][at]
    direct = direct_pv_usd(valuer, 0, ages / 365.0, factor, price)
    scale = np.abs(direct).max()
    np.testing.assert_allclose(tabled, direct, rtol=1e-12, atol=1e-13 * scale)
    assert tabled[ages >= life_days].tolist() == [0.0] * int((ages >= life_days).sum())


def test_contract_tables_grow_as_the_run_needs_them():
    project = HpcProject(site="a", it_mw=10.0, start=dt.date(2026, 1, 1), revenue=COLOCATION)
    valuer = ContractValuer([project], dt.date(2026, 1, 1), 0.08, 10, paths=3)
    assert len(valuer.pv_parts(0, 0)[0]) == 365  # a year of ages at a time
    assert len(valuer.pv_parts(0, 400)[0]) == 730  # then a year more
    whole = ContractValuer([project], dt.date(2026, 1, 1), 0.08, 10, paths=3).pv_parts(0, 5000)
    for grown, once in zip(valuer.pv_parts(0, 5000), whole):
        np.testing.assert_array_equal(grown, once)


@pytest.mark.parametrize("vol_daily, drift_daily", [(0.03, 3e-4), (0.5, 0.0), (1e-4, 0.05), (0.0, 1e-3)])
def test_trailing_vol_running_sums_equal_the_window_variance(vol_daily, drift_daily):
    from simulator.finance.structural import VOL_WINDOW_DAYS, TrailingVol

    rng = np.random.default_rng(19)
    vol, seen = TrailingVol(50, 0.7), []
    for day in range(3 * VOL_WINDOW_DAYS + 17):
        x = drift_daily + vol_daily * rng.standard_normal(50)
        vol.push(x)
        seen.append(x)
        if day < VOL_WINDOW_DAYS - 1:
            assert vol.value().tolist() == [0.7] * 50  # the model's volatility until 90 returns exist
            continue
        direct = np.sqrt(np.var(seen[-VOL_WINDOW_DAYS:], axis=0, ddof=1) * 365)
        np.testing.assert_allclose(vol.value(), direct, rtol=1e-12, atol=1e-15)  # constant returns: 0, no NaN


def test_packaged_profiles_read_by_libyaml_equal_the_pure_python_reader():
    from importlib import resources

    from simulator import yaml12
    from simulator.hardware.library import _walk_traversable

    files = _walk_traversable(resources.files("simulator.hardware_profiles"))
    assert len(files) > 50
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert yaml12.parse_packaged(text, str(f)) == yaml12.parse(text, str(f)), f  # values and positions


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "a: [1, 2\n", "a: .nan\n", "a: 2026-02-30\n", "a: !!python/none x\n"])
def test_packaged_reader_reports_errors_as_the_pure_python_reader(text):
    from simulator import yaml12
    from simulator.errors import InputError

    with pytest.raises(InputError) as fast:
        yaml12.parse_packaged(text, "p.yaml")
    with pytest.raises(InputError) as slow:
        yaml12.parse(text, "p.yaml")
    assert str(fast.value) == str(slow.value)


def test_runs_side_by_side_equal_the_runs_one_after_another():
    from simulator.config import load_scenario
    from simulator.engine import simulate
    from simulator.errors import InputError
    from simulator.workflows.runs import simulate_each

    scenarios = [load_scenario(f, ["failures.enabled=false", "horizon_days=500"]) for f in ("scenarios/contract_example.yaml",
                                                                  "scenarios/hpc_conversion.yaml",
                                                                  "scenarios/single_site_operator.yaml")]
    seen = []
    side = list(simulate_each(scenarios, paths=3, keep_paths=2, progress=lambda d, t: seen.append((d, t))))
    for scenario, res in zip(scenarios, side):
        alone = simulate(scenario, paths=3, keep_paths=2, workers=1)
        assert res.meta == alone.meta
        for k, v in alone.path_metrics.items():
            np.testing.assert_array_equal(res.path_metrics[k], v, err_msg=k)
        assert res.monthly.equals(alone.monthly) and res.daily.equals(alone.daily)
        assert res.daily_quantiles.equals(alone.daily_quantiles)
    total = 3 * sum(s.horizon_days for s in scenarios)
    done = [d for d, t in seen if t == total]
    assert len(done) == len(seen) and done == sorted(done) and done[-1] == total  # one bar over all the runs
    with pytest.raises(InputError, match="this run needs about"):  # bad input fails before any process starts
        next(simulate_each(scenarios, paths=3, max_memory_bytes=1))


def test_kept_cohort_book_values_equal_the_direct_formulas_when_costs_change():
    from simulator.finance.depreciation import CohortBookValues, book_value_usd, depreciation_usd

    rng = np.random.default_rng(5)
    start = np.array([-400.0, 0.0, 90.0, 700.0])[:, None]  # in service, from day 0, later, after the life
    values = CohortBookValues(start, 2.0)
    cost = rng.uniform(1e3, 5e3, size=(4, 6))
    for day in range(0, 800, 7):
        if day in (91, 301):  # a delivery: the owner replaces the cost array
            cost = np.where(rng.random((4, 6)) < 0.5, rng.uniform(1e3, 5e3, size=(4, 6)), cost)
        for d in (day, day + 1):
            assert values.on(cost, d).tobytes() == book_value_usd(cost, start, d, 2.0).tobytes()
        assert values.depreciation_usd(cost, day).tobytes() == depreciation_usd(cost, start, day, 2.0).tobytes()
    assert values.on(cost, 90) is values.on(cost, 90)  # kept, not recomputed
    assert values.on(cost * 1.0, 90) is not values.on(cost, 90)  # another cost array: computed again
