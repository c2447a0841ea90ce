"""``hashfleet upgrade``: replace machines and value the swap on common random numbers.

The baseline is the scenario as written; the upgrade retires ``units`` of the replaced
cohorts on ``date`` (resold at ``resale_usd_per_th`` or the ASIC price index of that day) and
delivers ``units_new`` of the new model at the same sites on ``date + downtime_days`` at
``price_usd_per_th`` (default its launch price, else the index's new-machine price). Both run with the same
seed, so every path sees the same BTC prices, fees and network (common random numbers).

Per path, the incremental project cash flow of month m is the difference between the two
runs of ``mining + hosting revenue + power and demand-response credits − power −
transmission − hosting costs − site opex − repairs − capex + resale`` (BTC valued at each
day's close: unlevered and pre-tax, financing and SG&A unchanged). With mid-month times
``t_m`` (years) and the horizon ``T``:

    NPV = Σ_m ΔCF_m / (1 + r)^{t_m} + ΔV_T / (1 + r)^T

``ΔV_T`` is the difference in fleet value at the ASIC price index on the last day and ``r``
the company's ``valuation.discount_rate`` (or ``discount_rate``). IRR solves NPV = 0 by
bisection on all paths at once; payback is the first month in which the cumulative
undiscounted ΔCF turns non-negative. The new machines' breakeven hashprice is DESIGN.md's
site breakeven at the site's power price (fixed price, or the index's long-run mean),
and their breakeven BTC price that hashprice over the path's mean hashprice per USD of BTC.
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from simulator import units
from simulator.config.checks import library_for
from simulator.config.loader import Document, load_with_overrides, validate_document
from simulator.config.schema import Scenario
from simulator.errors import InputError, InputErrors
from simulator.hardware import breakeven_hashprice_usd_per_ph_day
from simulator.metrics import summarise
from simulator.results import Results
from simulator.workflows.runs import simulate_each

#: Monthly lines entering the incremental cash flow, with their sign.
CASH_FLOW_LINES = {"mining_revenue_usd": 1, "hosting_revenue_usd": 1, "power_credit_usd": 1,
                   "demand_response_credit_usd": 1, "power_cost_usd": -1, "transmission_charge_usd": -1,
                   "hosting_power_cost_usd": -1, "hosting_cost_usd": -1, "site_opex_usd": -1, "repair_cost_usd": -1,
                   "expansion_capex_usd": -1, "purchase_capex_usd": -1, "resale_value_usd": 1}


#: An NPV within half a cent of 0 is 0 (float noise of two identical runs), not value destroyed.
HALF_A_CENT_USD = 0.005


@dataclass(frozen=True)
class UpgradeSpec:
    """What to replace with what (the CLI's options)."""

    replace: str
    with_model: str
    units: int | None = None
    units_new: int | None = None
    price_usd_per_th: float | None = None
    resale_usd_per_th: float | None = None
    date: dt.date | None = None
    downtime_days: int = 0
    financing: str = "cash"
    loan_rate: float = 0.10
    loan_years: float = 3.0


def _option_error(option: str, message: str) -> InputErrors:
    return InputErrors([InputError(option, 1, 1, message)])


def upgraded_document(doc: Document, spec: UpgradeSpec, library) -> Document:
    """The scenario document with the swap applied (new positions cite the option that made them)."""
    data = copy.deepcopy(doc.data)
    fleet = data.get("fleet") or []
    matched = [i for i, item in enumerate(fleet) if item.get("id") == spec.replace or item.get("model") == spec.replace]
    if not matched:
        names = sorted({str(item.get("id")) for item in fleet if item.get("id")} | {item["model"] for item in fleet})
        raise _option_error(f"--replace {spec.replace}", f"no fleet item has this id or model; valid: {', '.join(names)}")
    if spec.with_model not in library:
        raise _option_error(f"--with {spec.with_model}", "unknown hardware model; see `hashfleet hardware list`")
    start = dt.date.fromisoformat(str(data["start"]))
    when = spec.date or start
    available = sum(int(fleet[i]["units"]) for i in matched)
    wanted = available if spec.units is None else spec.units
    if not 0 < wanted <= available:
        raise _option_error(f"--units {spec.units}", f"must be between 1 and the {available} units of {spec.replace}")
    new_total = wanted if spec.units_new is None else spec.units_new
    purchases, left, added_new = list(data.get("purchases") or []), wanted, 0
    for k, i in enumerate(matched):
        item = fleet[i]
        take = min(int(item["units"]), left)
        if take == 0:
            break
        left -= take
        retiring = {**item, "units": take, "retired": when}
        if spec.resale_usd_per_th is not None:
            retiring["resale_usd_per_th"] = spec.resale_usd_per_th
        if take < int(item["units"]):
            fleet[i] = {**item, "units": int(item["units"]) - take}
            retiring["id"] = f"{item.get('id') or item['model']}-replaced"
            fleet.append(retiring)
        else:
            fleet[i] = retiring
        share = new_total - added_new if left == 0 else round(new_total * take / wanted)
        added_new += share
        if share > 0:
            purchase = {"id": f"upgrade-{k}", "model": spec.with_model, "units": share,
                        "delivery": when + dt.timedelta(days=spec.downtime_days)}
            purchase.update({"site": item["site"]} if item.get("site") else {"hosted_at": item["hosted_at"]})
            if spec.price_usd_per_th is not None:
                purchase["price_usd_per_th"] = spec.price_usd_per_th
            purchases.append(purchase)
    data["fleet"], data["purchases"] = fleet, purchases
    company = data.get("company")
    if company is not None and spec.financing != "cash":
        company = data["company"] = dict(company)
        if spec.financing == "atm":
            company["equity"] = {**company.get("equity", {}), "atm_enabled": True,
                                 "atm_max_usd_per_quarter": max(company.get("equity", {}).get("atm_max_usd_per_quarter", 0),
                                                                1e12)}
        elif spec.financing == "loan":
            if spec.price_usd_per_th is None:
                raise _option_error("--financing loan", "a loan needs --price-usd-per-th (its principal is the price)")
            principal = spec.price_usd_per_th * library[spec.with_model].hashrate_ths * new_total
            company["cash_usd"] = float(company.get("cash_usd", 0.0)) + principal  # drawn at the start
            company["debt"] = list(company.get("debt", [])) + [{
                "kind": "term_loan", "principal_usd": principal, "rate": spec.loan_rate, "amortizing": True,
                "maturity": when + dt.timedelta(days=round(spec.loan_years * units.DAYS_PER_YEAR))}]
    return Document(data, doc.value_pos, doc.key_pos)


def _monthly_cash_flow(res: Results) -> pd.DataFrame:
    """Per (path, month) project cash flow (paths as columns, months as rows)."""
    m = res.monthly
    cf = sum(sign * m[line] for line, sign in CASH_FLOW_LINES.items())
    return pd.DataFrame({"path": m.path, "month": m.month, "cf": cf}).pivot(index="month", columns="path", values="cf")


def _npv(cash_flows: np.ndarray, times_years: np.ndarray, terminal: np.ndarray, horizon_years: float, rate):
    """NPV over paths of monthly flows ``(months, paths)`` and a terminal value, at annual ``rate`` (paths,)."""
    discount = (1 + rate)[None, :] ** -times_years[:, None]
    return (cash_flows * discount).sum(axis=0) + terminal * (1 + rate) ** -horizon_years


def irr_annual(cash_flows: np.ndarray, times_years: np.ndarray, terminal: np.ndarray, horizon_years: float,
               lo: float = -0.99, hi: float = 100.0, iterations: int = 200) -> np.ndarray:
    """Annual rate at which the NPV is 0, by bisection on every path at once (NaN without a sign change).

    Examples
    --------
    >>> round(float(irr_annual(np.array([[-100.0]]), np.array([0.0]), np.array([110.0]), 1.0)[0]), 6)
    0.1
    """
    paths = cash_flows.shape[1]
    a, b = np.full(paths, lo), np.full(paths, hi)
    fa = _npv(cash_flows, times_years, terminal, horizon_years, a)
    fb = _npv(cash_flows, times_years, terminal, horizon_years, b)
    ok = np.sign(fa) * np.sign(fb) < 0
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        fm = _npv(cash_flows, times_years, terminal, horizon_years, mid)
        left = np.sign(fm) == np.sign(fa)
        a, fa = np.where(left, mid, a), np.where(left, fm, fa)
        b = np.where(left, b, mid)
    return np.where(ok, 0.5 * (a + b), np.nan)


def payback_months(cash_flows: np.ndarray) -> np.ndarray:
    """Months (1-based) until cumulative undiscounted cash flow is non-negative; 0 if never negative, NaN if never back."""
    cumulative = np.cumsum(cash_flows, axis=0)
    if cash_flows.shape[0] == 0:
        return np.full(cash_flows.shape[1], np.nan)
    negative = cumulative < 0
    last_negative = np.where(negative.any(axis=0), cash_flows.shape[0] - np.argmax(negative[::-1], axis=0), 0)
    return np.where(last_negative >= cash_flows.shape[0], np.nan, last_negative.astype(float))


def _site_power_usd_per_mwh(site) -> float:
    power = site.power
    if power.contract == "fixed":
        return power.price_usd_per_mwh
    if power.contract == "index":
        if power.file is not None:
            return np.nan
        if power.mean_usd_per_mwh is not None:
            return power.mean_usd_per_mwh
        from simulator.market.power_profiles import PROFILE_NAMES, load_power_profile
        return load_power_profile(power.profile).parameters["mean_usd_per_mwh"] if power.profile in PROFILE_NAMES else np.nan
    return power.price_usd_per_mwh


def evaluate(baseline: Results, upgraded: Results, base: Scenario, new: Scenario, spec: UpgradeSpec,
             discount_rate: float) -> dict[str, np.ndarray]:
    """Per-path upgrade metrics from the two runs."""
    before, after = _monthly_cash_flow(baseline), _monthly_cash_flow(upgraded)
    delta = (after - before).to_numpy()
    months = pd.to_datetime(before.index)
    mid = (months - pd.Timestamp(base.start)).days.to_numpy() + months.days_in_month.to_numpy() / 2
    times = np.maximum(mid, 0.0) / units.DAYS_PER_YEAR
    horizon = base.horizon_days / units.DAYS_PER_YEAR
    terminal = upgraded.path_metrics["end_fleet_value_usd"] - baseline.path_metrics["end_fleet_value_usd"]
    rate = np.full(delta.shape[1], discount_rate)
    npv = _npv(delta, times, terminal, horizon, rate)
    start_month = pd.Timestamp((spec.date or base.start).replace(day=1))
    from_upgrade = delta[months >= start_month]
    library = library_for(new)
    profile = library[spec.with_model]
    sites = {s.name: s for s in new.sites}
    site = next((sites[p.site] for p in new.purchases if p.model == spec.with_model and p.site), None)
    breakeven = np.nan
    if site is not None:
        breakeven = float(breakeven_hashprice_usd_per_ph_day(_site_power_usd_per_mwh(site),
                                                             profile.power_w / profile.hashrate_ths, new.pool.fee,
                                                             site.cooling_overhead))
    daily = upgraded.daily_quantiles
    usd_per_hashprice = float((daily.btc_price_usd_p50 / daily.hashprice_usd_per_ph_day_p50).mean())
    out = {
        "incremental_npv_usd": npv,
        "irr_annual": irr_annual(delta, times, terminal, horizon),
        "payback_months": payback_months(from_upgrade),
        "breakeven_hashprice_usd_per_ph_day": np.full(delta.shape[1], breakeven),
        "breakeven_btc_price_usd": np.full(delta.shape[1], breakeven * usd_per_hashprice),
        "prob_value_destroyed": (npv < -HALF_A_CENT_USD).astype(float),
    }
    for name in ("btc_per_ehs_day", "cash_cost_per_btc_usd", "direct_cost_per_btc_usd", "end_nav_per_share_usd",
                 "dilution_pct"):
        if name in baseline.path_metrics:
            out[f"{name}_before"] = baseline.path_metrics[name]
            out[f"{name}_after"] = upgraded.path_metrics[name]
    return out


#: The daily columns whose quantiles :func:`evaluate` reads (their medians: the USD per unit of hashprice).
EVALUATED_QUANTILES = ("btc_price_usd", "hashprice_usd_per_ph_day")


def _rate(base: Scenario, discount_rate: float | None) -> float:
    """The discount rate given, else the company's, else 10 %."""
    if discount_rate is not None:
        return discount_rate
    return base.company.valuation.discount_rate if base.company is not None else 0.10


def _baseline(src, overrides):
    """The scenario's document (overrides applied), the validated baseline and its hardware library."""
    doc, _ = load_with_overrides(src, overrides)
    base = validate_document(doc, str(src))
    return doc, base, library_for(base)


def per_path(src, spec: UpgradeSpec, *, overrides: Iterable[str] = (), paths: int | None = None,
             seed: int | None = None, discount_rate: float | None = None,
             workers: int | None = None, progress=False,
             max_memory_bytes: int | None = None) -> tuple[dict, Results, Results]:
    """Run the baseline and the upgrade on the same paths, side by side (:mod:`simulator.workflows.runs`):
    per-path metrics and both runs (``workers``, ``max_memory_bytes``: see :func:`simulator.engine.simulate`;
    ``progress``: a ``(done, total)`` callback over both runs)."""
    doc, base, library = _baseline(src, overrides)
    new = validate_document(upgraded_document(doc, spec, library), str(src))  # bad options fail before any run
    run = dict(paths=paths, seed=seed, keep_paths=0, workers=workers, max_memory_bytes=max_memory_bytes,
               daily_quantiles=EVALUATED_QUANTILES)
    baseline, upgraded = simulate_each([base, new], progress=progress, **run)  # side by side
    return evaluate(baseline, upgraded, base, new, spec, _rate(base, discount_rate)), baseline, upgraded


def upgrade(src, spec: UpgradeSpec, **options) -> list[dict]:
    """One row per metric (mean, p5, p50, p95) of :func:`per_path`.

    Examples
    --------
    >>> rows = upgrade("scenarios/contract_example.yaml",
    ...                UpgradeSpec(replace="xp-2023", with_model="antminer-s21-xp", price_usd_per_th=14.0), paths=2)
    >>> rows[0]["metric"]
    'incremental_npv_usd'
    """
    metrics, _, _ = per_path(src, spec, **options)
    return [{"metric": name, **{k: summarise(values)[k] for k in ("mean", "p5", "p50", "p95")}}
            for name, values in metrics.items()]


def rank(src, models: list[str] | None, *, price_usd_per_th: float | None = None, replace: str,
         overrides: Iterable[str] = (), paths: int | None = None, seed: int | None = None,
         discount_rate: float | None = None, workers: int | None = None, progress=False,
         max_memory_bytes: int | None = None, **options) -> list[dict]:
    """Evaluate replacing ``replace`` with each model (default: the whole library) and rank by mean NPV.

    The baseline runs once; models that do not fit the site (capacity) are listed with the reason.
    ``progress`` is a ``(done, total)`` callback over all the runs; without ``workers`` the runs go
    side by side (:mod:`simulator.workflows.runs`).
    """
    doc, base, library = _baseline(src, overrides)
    rate = _rate(base, discount_rate)
    rows, runs = [], []  # runs: (row index, spec, scenario) of the models that fit
    for model in list(models or sorted(library)):
        spec = UpgradeSpec(replace=replace, with_model=model, price_usd_per_th=price_usd_per_th, **options)
        try:
            runs.append((len(rows), spec, validate_document(upgraded_document(doc, spec, library), str(src))))
            rows.append({"model": model})
        except InputErrors as exc:
            rows.append({"model": model, "npv_mean_usd": None, "npv_p5_usd": None, "prob_value_destroyed": None,
                         "note": str(exc.errors[0]).split(": ", 1)[-1][:80]})
    run = dict(paths=paths, seed=seed, keep_paths=0, workers=workers, max_memory_bytes=max_memory_bytes,
               daily_quantiles=EVALUATED_QUANTILES)
    results = simulate_each([base] + [new for _, _, new in runs], progress=progress, **run)  # side by side
    baseline = next(results)
    for upgraded, (i, spec, new) in zip(results, runs):  # results first: the last next() ends the runs
        m = evaluate(baseline, upgraded, base, new, spec, rate)
        stats = summarise(m["incremental_npv_usd"])
        rows[i].update({"npv_mean_usd": stats["mean"], "npv_p5_usd": stats["p5"],
                        "prob_value_destroyed": float(m["prob_value_destroyed"].mean()), "note": ""})
    rows.sort(key=lambda r: (r["npv_mean_usd"] is None, -(r["npv_mean_usd"] or 0.0)))
    return [{"rank": i + 1, **r} for i, r in enumerate(rows)]
