"""Per-path metric formulas (DESIGN.md's metric registry) and their summary across paths.

Each metric is a function of per-path totals (arrays ``(paths,)``) returning an array with
NaN where the metric is undefined on a path (cost per BTC with no BTC mined). The summary
leaves undefined paths out and counts the rest in ``defined_paths``; when none is defined
its statistics are ``None`` (DESIGN.md, "Outputs"). NaN and inf never leave this module.

A ratio metric (a :class:`Ratio`) also has ``pooled``: Σ numerator ÷ Σ denominator over the
paths where it is defined, the figure an analyst computes from the totals (the mean of per-path
ratios is dominated by the paths with the smallest denominators).
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


class Ratio:
    """A ratio metric: ``numerator(t) / denominator(t)`` per path (NaN where the denominator is 0)."""

    def __init__(self, numerator: Callable[[Totals], np.ndarray], denominator: Callable[[Totals], np.ndarray]):
        self.numerator, self.denominator = numerator, denominator

    def __call__(self, t: Totals) -> np.ndarray:
        return _ratio(self.numerator(t), self.denominator(t))


def _site_opex_mining_usd(t: Totals) -> np.ndarray:
    """Site opex on mining's MW (idle capacity included): the whole less hosting's and HPC's MW."""
    return t["site_opex_usd"] - t["site_opex_hosting_usd"] - t["site_opex_hpc_usd"]


def _direct_cost_usd(t: Totals) -> np.ndarray:
    return (t["power_cost_usd"] - t["power_credit_usd"] - t["demand_response_credit_usd"]
            + t["transmission_charge_usd"] + t["hosting_cost_usd"] + _site_opex_mining_usd(t))


def _cash_cost_usd(t: Totals) -> np.ndarray:
    return _direct_cost_usd(t) + t["sga_mining_usd"]


def _all_in_cost_usd(t: Totals) -> np.ndarray:
    """Cash cost + mining's depreciation, SBC and share of corporate interest (HPC assets and project debt excluded)."""
    return (_cash_cost_usd(t) + t["depreciation_mining_usd"] + t["sbc_mining_usd"]
            + t["interest_corporate_mining_usd"])


def _beta(t: Totals) -> np.ndarray:
    """OLS slope of share-price log returns on BTC log returns: (nΣxy − ΣxΣy) / (nΣx² − (Σx)²)."""
    n, x, y = t["beta_n"], t["beta_x"], t["beta_y"]
    var = n * t["beta_xx"] - x * x
    return _ratio(n * t["beta_xy"] - x * y, np.where((n >= 2) & (var > 1e-12 * np.maximum(n * t["beta_xx"], 1e-300)),
                                                    var, 0.0))


#: name -> (unit, formula over per-path totals, one-line definition). The operations metrics.
METRICS: dict[str, tuple[str, Callable[[Totals], np.ndarray], str]] = {
    "btc_mined": ("BTC", lambda t: t["btc_mined"], "BTC paid by the pool (net of its fee) over the horizon"),
    "btc_per_ehs_day": ("BTC/(EH/s·day)", Ratio(lambda t: t["btc_mined"], lambda t: t["fleet_ehs_days"]),
                        "btc_mined / Σ daily energised fleet EH/s"),
    "hashprice_usd_per_ph_day": ("USD/(PH/s·day)", lambda t: t["hashprice_usd_per_ph_day_sum"] / t["days"],
                                 "time average of the daily network hashprice (before pool fee)"),
    "mining_revenue_usd": ("USD", lambda t: t["mining_revenue_usd"], "Σ daily BTC paid × that day's close"),
    "power_cost_usd": ("USD", lambda t: t["power_cost_usd"], "energy bought incl. cooling and taxes"),
    "power_credit_usd": ("USD", lambda t: t["power_credit_usd"], "energy sold back at the index price"),
    "demand_response_credit_usd": ("USD", lambda t: t["demand_response_credit_usd"],
                                   "demand-response availability payments"),
    "transmission_charge_usd": ("USD", lambda t: t["transmission_charge_usd"], "4CP transmission charges"),
    "hosting_revenue_usd": ("USD", lambda t: t["hosting_revenue_usd"], "fees from hosting third-party machines"),
    "hosting_power_cost_usd": ("USD", lambda t: t["hosting_power_cost_usd"],
                               "incremental power bill of hosted clients' load"),
    "hosting_cost_usd": ("USD", lambda t: t["hosting_cost_usd"], "hosting fees paid for own machines at third parties"),
    "expansion_capex_usd": ("USD", lambda t: t["expansion_capex_usd"], "site expansion capex spent"),
    "site_opex_usd": ("USD", lambda t: t["site_opex_usd"], "opex_usd_per_mw_year × capacity_mw × years"),
    "site_opex_mining_usd": ("USD", _site_opex_mining_usd,
                             "site opex on the MW mining takes (idle capacity included): site_opex − hosting's and "
                             "HPC's MW shares"),
    "power_cost_per_btc_usd": ("USD/BTC", Ratio(lambda t: t["power_cost_usd"] - t["power_credit_usd"],
                                                lambda t: t["btc_mined"]),
                               "(power_cost − power_credit) / btc_mined"),
    "direct_cost_per_btc_usd": ("USD/BTC", Ratio(_direct_cost_usd, lambda t: t["btc_mined"]),
                                "(power − power credit − demand-response credit + transmission + hosting fees paid "
                                "+ site_opex_mining) / btc_mined"),
    "curtailed_mwh": ("MWh", lambda t: t["curtailed_mwh"], "facility energy not drawn because of curtailment"),
    "underclocked_mwh": ("MWh", lambda t: t["underclocked_mwh"],
                         "facility energy running machines did not draw because dynamic tuning set them below stock"),
    "repair_cost_usd": ("USD", lambda t: t["repair_cost_usd"], "failed units × repair cost per unit"),
    "units_failed": ("units", lambda t: t["units_failed"], "machine failures over the horizon"),
    "units_retired": ("units", lambda t: t["units_retired"], "units retired by policy or date"),
    "resale_value_usd": ("USD", lambda t: t["resale_value_usd"], "retired units resold at the ASIC price index"),
    "purchase_capex_usd": ("USD", lambda t: t["purchase_capex_usd"],
                           "machines delivered, at their price (or the ASIC price index)"),
    "end_fleet_value_usd": ("USD", lambda t: t["end_fleet_value_usd"],
                            "installed machines at the ASIC price index on the last day"),
}

#: The company metrics (scenarios with a ``company`` section).
FINANCE_METRICS: dict[str, tuple[str, Callable[[Totals], np.ndarray], str]] = {
    "revenue_usd": ("USD", lambda t: t["revenue_usd"], "mining revenue + hosting revenue + HPC revenue"),
    "hpc_revenue_usd": ("USD", lambda t: t["hpc_revenue_recognised_usd"],
                        "AI/HPC lease and GPU-hour revenue (unused prepayments kept when a lease ends included)"),
    "hpc_share_of_revenue": ("fraction", Ratio(lambda t: t["hpc_revenue_recognised_usd"], lambda t: t["revenue_usd"]),
                             "hpc_revenue / revenue"),
    "ebitda_mining_usd": ("USD", lambda t: t["ebitda_mining_usd"],
                          "mining and hosting revenue − their cost of revenue (before corporate SG&A)"),
    "ebitda_hpc_usd": ("USD", lambda t: t["ebitda_hpc_usd"], "HPC revenue − HPC power and opex (before corporate SG&A)"),
    "sga_usd": ("USD", lambda t: t["sga_usd"], "SG&A without stock-based compensation"),
    "sga_mining_usd": ("USD", lambda t: t["sga_mining_usd"],
                       "SG&A × mining revenue / revenue, day by day (all of it with cost_allocation all_to_mining)"),
    "sbc_mining_usd": ("USD", lambda t: t["sbc_mining_usd"], "SBC × mining revenue / revenue, day by day"),
    "depreciation_mining_usd": ("USD", lambda t: t["depreciation_mining_usd"],
                                "machines + sites × mining's MW share (HPC's and hosting's MW and HPC assets left out)"),
    "unallocated_sga_usd": ("USD", lambda t: t["sga_usd"] + t["sbc_usd"] - t["sga_mining_usd"] - t["sbc_mining_usd"],
                            "SG&A and SBC allocated to hosting and HPC: left out of the per-BTC costs"),
    "ebitda_usd": ("USD", lambda t: t["ebitda_usd"],
                   "revenue − cost of revenue − SG&A (SBC excluded) = mining + HPC segment EBITDA − SG&A"),
    "net_income_usd": ("USD", lambda t: t["net_income_usd"],
                       "EBITDA − SBC − depreciation − impairment + BTC fair-value gain + hedge P&L − interest − tax"),
    "cash_cost_per_btc_usd": ("USD/BTC", Ratio(_cash_cost_usd, lambda t: t["btc_mined"]),
                              "(mining's direct costs + sga_mining) / btc_mined"),
    "all_in_cost_per_btc_usd": ("USD/BTC", Ratio(_all_in_cost_usd, lambda t: t["btc_mined"]),
                                "(cash cost + depreciation_mining + sbc_mining + mining's revenue share of interest not on HPC "
                                "project debt) "
                                "/ btc_mined"),
    "depreciation_usd": ("USD", lambda t: t["depreciation_usd"], "straight-line depreciation of machines and sites"),
    "impairment_usd": ("USD", lambda t: t["impairment_usd"],
                       "loss on units retired or lost: book value − resale proceeds (a gain on disposal if negative)"),
    "sbc_usd": ("USD", lambda t: t["sbc_usd"], "stock-based compensation"),
    "interest_usd": ("USD", lambda t: t["interest_usd"], "interest and coupons on all debt"),
    "hedge_pnl_usd": ("USD", lambda t: t["hedge_pnl_usd"], "forward, put and power-swap settlements − premiums"),
    "tax_usd": ("USD", lambda t: t["tax_usd"], "income tax at tax_rate on cumulative positive pre-tax income"),
    "end_treasury_btc": ("BTC", lambda t: t["end_treasury_btc"], "BTC held on the last day, pledged included"),
    "end_cash_usd": ("USD", lambda t: t["end_cash_usd"], "cash on the last day"),
    "end_debt_usd": ("USD", lambda t: t["end_debt_usd"], "debt at face value (and unpaid obligations) on the last day"),
    "end_net_debt_usd": ("USD", lambda t: t["end_debt_usd"] - t["end_cash_usd"], "end_debt − end_cash"),
    "end_shares_outstanding": ("shares", lambda t: t["end_shares"], "basic shares on the last day"),
    "dilution_pct": ("%", lambda t: (t["end_shares"] / t["start_shares"] - 1) * 100,
                     "(end basic shares / start basic shares − 1) × 100"),
    "end_equity_value_usd": ("USD", lambda t: t["end_equity_value_usd"], "share price × basic shares, last day"),
    "end_nav_per_share_usd": ("USD", Ratio(lambda t: t["end_nav_usd"], lambda t: t["end_diluted_shares"]),
                              "(firm value V − debt face) / diluted shares, if-converted; V = cash + BTC + HPC "
                              "contracts + max(fleet and sites, dcf/multiple EV)"),
    "end_btc_per_share": ("BTC", Ratio(lambda t: t["end_treasury_btc"], lambda t: t["end_diluted_shares"]),
                          "(treasury + pledged BTC) / diluted shares"),
    "ev_per_ehs_usd": ("USD per EH/s", Ratio(lambda t: t["end_equity_value_usd"] + t["end_debt_usd"] - t["end_cash_usd"],
                                               lambda t: t["end_installed_ehs"]),
                       "(equity value + debt − cash) / installed EH/s, last day"),
    "interest_coverage": ("×", Ratio(lambda t: t["ebitda_usd"], lambda t: t["interest_usd"]),
                          "EBITDA / interest expense (undefined without interest)"),
    "prob_margin_call": ("fraction", lambda t: t["flag_margin_call"],
                         "1 if a close reached a BTC-backed loan's margin-call LTV on the path (topped up or not)"),
    "prob_liquidation": ("fraction", lambda t: t["flag_liquidation"],
                         "1 if collateral was liquidated on the path (after the cure period)"),
    "liquidation_penalty_usd": ("USD", lambda t: t["liquidation_penalty_usd"], "lenders' penalties on liquidations"),
    "prob_cash_shortfall": ("fraction", lambda t: t["flag_cash_shortfall"],
                            "1 if cash, BTC, ATM and credit could not cover obligations (distress)"),
    "prob_covenant_breach": ("fraction", lambda t: t["flag_covenant_breach"], "1 if a term-loan covenant was breached"),
    "equity_beta_to_btc": ("—", _beta, "OLS slope of daily share-price log returns on BTC log returns"),
    "equity_return_pct": ("%", lambda t: (_ratio(t["end_share_price_usd"], t["first_share_price_usd"]) - 1) * 100,
                          "(last share price / first close's share price − 1) × 100 (dividends: none)"),
    "max_drawdown_equity_pct": ("%", lambda t: t["max_drawdown"] * 100, "largest peak-to-trough fall of the share price"),
}

#: Every metric, for units and documentation.
ALL_METRICS = {**METRICS, **FINANCE_METRICS}
#: The per-path indicators (1 if it happened on the path, else 0): their mean is the
#: probability; their percentiles say nothing more (and numpy interpolates 0.5 between a 0 and
#: a 1), so the summary leaves them out.
INDICATOR_METRICS = frozenset(name for name in ALL_METRICS if name.startswith("prob_"))
#: The ratio metrics (a :class:`Ratio`): the compare and sweep tables show their pooled value.
RATIO_METRICS = frozenset(name for name, (_, fn, _) in ALL_METRICS.items() if isinstance(fn, Ratio))


def table_value(name: str, stats: dict) -> float | None:
    """A metric's figure in the compare and sweep tables from its summary statistics ``stats``:
    the pooled value of a ratio metric, else the mean over paths."""
    return stats.get("pooled" if name in RATIO_METRICS else "mean")


def per_path(totals: Totals) -> dict[str, np.ndarray]:
    """Every applicable registered metric on every path (NaN = undefined on that path).

    The company metrics are computed when the totals hold the ledger's figures.
    """
    registry = ALL_METRICS if "revenue_usd" in totals else METRICS
    return {name: np.asarray(fn(totals), dtype=float) for name, (_, fn, _) in registry.items()}


def ratio_parts(totals: Totals) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (numerator, denominator)}`` per path of every applicable ratio metric (for ``pooled``)."""
    registry = ALL_METRICS if "revenue_usd" in totals else METRICS
    return {name: (np.asarray(fn.numerator(totals), dtype=float), np.asarray(fn.denominator(totals), dtype=float))
            for name, (_, fn, _) in registry.items() if isinstance(fn, Ratio)}


def pooled(numerator: np.ndarray, denominator: np.ndarray) -> float | None:
    """Σ numerator ÷ Σ denominator over the paths where the ratio is defined (denominator ≠ 0); None if none
    is or the pooled denominator is 0.

    Examples
    --------
    >>> pooled(np.array([1.0, 9.0, 5.0]), np.array([1.0, 3.0, 0.0]))  # (1 + 9) / (1 + 3)
    2.5
    """
    defined = np.asarray(denominator) != 0
    den = float(np.asarray(denominator)[defined].sum())
    if not defined.any() or den == 0:
        return None
    value = float(np.asarray(numerator)[defined].sum()) / den
    return value if np.isfinite(value) else None


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
