"""The benchmark scenarios, built in code (shared by every script in ``benchmarks/``).

``bench-10y`` (:func:`bench_10y`) is issue 10's reference run: 1,000 paths × 3,650 days from
2026-01-01, 20 cohorts on 4 sites (2 fixed-price, 2 on hourly ``index`` power, all with
``economic`` curtailment), the engine's default machine-failure model, 1 HPC project (the
contract example's colocation conversion) and the contract example's whole ``company``
section (convertible, BTC-backed loan, ATM, NAV valuation, treasury policy).

:func:`scenario_dict` builds the same scenario with fewer paths, days or cohorts (the scaling
runs) or without the HPC project and the company (the operations-only scenario that the
naive model of ``bench_engine.py`` reproduces). Every scenario is written to a temporary
YAML file and loaded with :func:`simulator.config.load_scenario`, so it is fully validated
(capacity checks included).
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile

import yaml

START = dt.date(2026, 1, 1)
INITIAL_DIFFICULTY = 1.5e14
INITIAL_HEIGHT = 930_000
POOL_FEE = 0.02
PRICE = {"model": "gbm", "initial_usd": 90000.0, "drift_annual": 0.1, "vol_annual": 0.5}
FEES = {"model": "lognormal", "btc_per_block": 0.025, "vol": 0.5, "phi": 0.9}
HASHRATE = {"model": "growth", "growth_annual": 0.3, "vol_annual": 0.2}
SEED = 2026
PATHS = 1000
DAYS = 3650
COHORTS = 20

#: name, capacity [MW], cooling overhead, power contract, opex [USD/(MW·year)]. fixed-tx has
#: room for the HPC project's 75 facility MW next to its ~146 MW of mining.
SITES = [
    ("fixed-tx", 240.0, 0.04, {"contract": "fixed", "price_usd_per_mwh": 42.0}, 60000.0),
    ("fixed-nd", 170.0, 0.06, {"contract": "fixed", "price_usd_per_mwh": 55.0}, 50000.0),
    ("index-ercot", 170.0, 0.05, {"contract": "index", "mean_usd_per_mwh": 58.0, "vol_daily": 0.35,  # all-in: base 38
                                  "spike_probability": 0.01}, 55000.0),
    ("index-pjm", 160.0, 0.08, {"contract": "index", "mean_usd_per_mwh": 48.0, "vol_daily": 0.30}, 45000.0),
]
#: Five models per site (hardware id from `hashfleet hardware list`, deployed date): a spread
#: of efficiencies (12.8 … 31 J/TH) so that economic curtailment bites on old machines.
MODELS = {
    "fixed-tx": [("antminer-s19j-pro", "2021-06-01"), ("antminer-s19-xp", "2022-09-01"),
                 ("antminer-s21", "2023-09-01"), ("antminer-s21-pro", "2024-03-01"),
                 ("antminer-s21-xp", "2024-06-01")],
    "fixed-nd": [("antminer-s19-pro", "2020-09-01"), ("whatsminer-m50s", "2022-03-01"),
                 ("whatsminer-m60s", "2024-01-01"), ("antminer-s21-plus", "2024-09-01"),
                 ("sealminer-a3-air", "2025-03-01")],
    "index-ercot": [("whatsminer-m30s-plus-plus", "2020-06-01"), ("avalon-a1466", "2023-03-01"),
                    ("antminer-t21", "2023-12-01"), ("avalon-a15", "2024-12-01"),
                    ("whatsminer-m70s", "2025-10-15")],
    "index-pjm": [("antminer-s19k-pro", "2023-02-01"), ("whatsminer-m50s-plus-plus", "2023-06-01"),
                  ("whatsminer-m60s-plus", "2024-02-01"), ("sealminer-a2", "2024-11-01"),
                  ("avalon-a16xp", "2025-10-15")],
}
#: IT megawatts of mining per site (5 cohorts of 28 MW at 20 cohorts), whatever the cohort count.
SITE_IT_MW = 140.0

#: The contract example's HPC project (scenarios/contract_example.yaml), at fixed-tx.
HPC = {"site": "fixed-tx", "it_mw": 60, "pue": 1.25, "start": dt.date(2026, 9, 1), "build_months": 12,
       "capex_usd_per_mw": 9.0e6, "financing": {"debt_fraction": 0.8, "rate": 0.09, "term_years": 8},
       "revenue": {"kind": "colocation", "lease_usd_per_kw_month": 140, "tenant_ramp_months": 6}}
#: The contract example's company section, verbatim.
COMPANY = {
    "shares_outstanding": 150000000, "cash_usd": 200000000, "treasury_btc": 4000,
    "sga_usd_per_year": 30000000, "sbc_usd_per_year": 20000000,
    "treasury_policy": {"sell_fraction": 0.5, "min_cash_usd": 50000000},
    "debt": [{"kind": "convertible", "principal_usd": 300000000, "coupon": 0.0225,
              "maturity": dt.date(2030, 3, 1), "conversion_price_usd": 14},
             {"kind": "btc_backed", "principal_usd": 60000000, "rate": 0.08, "ltv_initial": 0.5,
              "ltv_margin_call": 0.75, "ltv_liquidation": 0.85}],
    "equity": {"atm_enabled": True, "atm_max_usd_per_quarter": 75000000},
    "valuation": {"method": "nav", "market_multiple": 1.5, "discount_rate": 0.12},
}


def fleet(cohorts: int = COHORTS) -> list[dict]:
    """``cohorts`` fleet items dealt round the 4 sites (cohort i at site i mod 4).

    A site's cohorts share its :data:`SITE_IT_MW`; the 5 models of a site repeat (deployed a
    month later each round) beyond 5 cohorts per site.
    """
    from simulator.hardware import load_library

    library = load_library()
    names = [s[0] for s in SITES]
    per_site = {n: [i for i in range(cohorts) if i % len(names) == k] for k, n in enumerate(names)}
    items = []
    for i in range(cohorts):
        site = names[i % len(names)]
        j = i // len(names)
        model, deployed = MODELS[site][j % len(MODELS[site])]
        date = dt.date.fromisoformat(deployed) + dt.timedelta(days=30 * (j // len(MODELS[site])))
        mw = SITE_IT_MW / len(per_site[site])
        units = max(100, int(round(mw * 1e6 / library[model].power_w, -2)))
        items.append({"id": f"{site}-{model}-{j}", "model": model, "units": units, "site": site, "deployed": date})
    # file order: site by site (the engine sorts each site's cohorts by efficiency anyway)
    return sorted(items, key=lambda item: names.index(item["site"]))


def scenario_dict(paths: int = PATHS, days: int = DAYS, cohorts: int = COHORTS, *, failures: bool = True,
                  hpc: bool = True, company: bool = True, seed: int = SEED) -> dict:
    """The benchmark scenario as plain data (what the temporary YAML file holds).

    ``failures=True`` leaves the engine's default machine-failure model on (no ``failures:``
    section); ``hpc`` and ``company`` add the contract example's HPC project and company.
    """
    data = {
        "name": f"bench {paths} paths x {days} days x {cohorts} cohorts",
        "start": START, "horizon_days": days, "paths": paths, "seed": seed,
        "market": {"btc_price": dict(PRICE), "fees": dict(FEES)},
        "network": {"initial_difficulty": INITIAL_DIFFICULTY, "initial_height": INITIAL_HEIGHT,
                    "blocks": "poisson", "hashrate": dict(HASHRATE)},
        "pool": {"payout": "fpps", "fee": POOL_FEE},
        "sites": [{"name": n, "capacity_mw": cap, "cooling_overhead": oh, "power": dict(power),
                   "curtailment": {"policy": "economic"}, "opex_usd_per_mw_year": opex}
                  for n, cap, oh, power, opex in SITES],
        "fleet": fleet(cohorts),
    }
    if hpc and days > (HPC["start"] - START).days:
        data["hpc"] = [dict(HPC)]
    if company:
        data["company"] = dict(COMPANY)
    if not failures:
        data["failures"] = {"enabled": False}
    return data


def dump(data: dict, path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False, default_flow_style=None, width=200)


def load(data: dict):
    """Write ``data`` to a temporary YAML file and load it with full validation."""
    from simulator.config import load_scenario

    with tempfile.TemporaryDirectory(prefix="hashfleet-bench-") as tmp:
        path = os.path.join(tmp, "bench.yaml")
        dump(data, path)
        return load_scenario(path)


def bench_10y(**overrides):
    """bench-10y, loaded (``overrides``: keyword arguments of :func:`scenario_dict`)."""
    return load(scenario_dict(**overrides))
