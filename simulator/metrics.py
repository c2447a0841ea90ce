"""Per-path metric formulas (DESIGN.md's metric registry) and their summary across paths.

Each metric is a function of per-path totals (arrays ``(paths,)``) returning an array with
NaN where the metric is undefined on a path (cost per BTC with no BTC mined). The summary
leaves undefined paths out and counts the rest in ``defined_paths``; when none is defined
its statistics are ``None`` (DESIGN.md, "Outputs"). NaN and inf never leave this module.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

Totals = Mapping[str, np.ndarray]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _direct_cost_usd(t: Totals) -> np.ndarray:
    return (t["power_cost_usd"] - t["power_credit_usd"] - t["demand_response_credit_usd"]
            + t["transmission_charge_usd"] + t["hosting_cost_usd"] + t["site_opex_usd"])


#: name -> (unit, formula over per-path totals). The operations metrics of the engine issue.
METRICS: dict[str, tuple[str, Callable[[Totals], np.ndarray]]] = {
    "btc_mined": ("BTC", lambda t: t["btc_mined"]),
    "btc_per_ehs_day": ("BTC/(EH/s·day)", lambda t: _ratio(t["btc_mined"], t["fleet_ehs_days"])),
    "hashprice_usd_per_ph_day": ("USD/(PH/s·day)", lambda t: t["hashprice_usd_per_ph_day_sum"] / t["days"]),
    "mining_revenue_usd": ("USD", lambda t: t["mining_revenue_usd"]),
    "power_cost_usd": ("USD", lambda t: t["power_cost_usd"]),
    "power_credit_usd": ("USD", lambda t: t["power_credit_usd"]),
    "demand_response_credit_usd": ("USD", lambda t: t["demand_response_credit_usd"]),
    "transmission_charge_usd": ("USD", lambda t: t["transmission_charge_usd"]),
    "hosting_revenue_usd": ("USD", lambda t: t["hosting_revenue_usd"]),
    "hosting_power_cost_usd": ("USD", lambda t: t["hosting_power_cost_usd"]),
    "hosting_cost_usd": ("USD", lambda t: t["hosting_cost_usd"]),
    "expansion_capex_usd": ("USD", lambda t: t["expansion_capex_usd"]),
    "site_opex_usd": ("USD", lambda t: t["site_opex_usd"]),
    "power_cost_per_btc_usd": ("USD/BTC", lambda t: _ratio(t["power_cost_usd"] - t["power_credit_usd"], t["btc_mined"])),
    "direct_cost_per_btc_usd": ("USD/BTC", lambda t: _ratio(_direct_cost_usd(t), t["btc_mined"])),
    "curtailed_mwh": ("MWh", lambda t: t["curtailed_mwh"]),
    "repair_cost_usd": ("USD", lambda t: t["repair_cost_usd"]),
    "units_failed": ("units", lambda t: t["units_failed"]),
    "units_retired": ("units", lambda t: t["units_retired"]),
    "resale_value_usd": ("USD", lambda t: t["resale_value_usd"]),
}


def per_path(totals: Totals) -> dict[str, np.ndarray]:
    """Every registered metric on every path (NaN = undefined on that path)."""
    return {name: np.asarray(fn(totals), dtype=float) for name, (_, fn) in METRICS.items()}


def summarise(values: np.ndarray) -> dict:
    """``{"mean", "se", "p5", "p50", "p95", "defined_paths"}`` over the defined paths.

    ``se`` is the standard error of the mean (sample standard deviation / sqrt(n), 0 when
    one path is defined); percentiles are numpy's linear ones, exact over all paths.

    Examples
    --------
    >>> summarise(np.array([1.0, np.nan, 3.0]))["mean"], summarise(np.array([np.nan]))["p50"]
    (2.0, None)
    """
    defined = values[np.isfinite(values)]
    n = int(defined.size)
    if n == 0:
        return {"mean": None, "se": None, "p5": None, "p50": None, "p95": None, "defined_paths": 0}
    p5, p50, p95 = np.percentile(defined, [5, 50, 95])
    se = float(defined.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return {"mean": float(defined.mean()), "se": se, "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "defined_paths": n}
