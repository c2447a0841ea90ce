"""The report's numbers: cost per BTC by component, revenue mix, hedge P&L and fan data.

Pure pandas over a run directory's tables; nothing here draws. Cost per BTC is rebuilt per
path from the monthly lines, then averaged over the paths that mined BTC, so the running
subtotals equal the registry's per-path metrics averaged the same way (summary.json's
``power_cost_per_btc_usd``, ``direct_cost_per_btc_usd``, ``cash_cost_per_btc_usd`` and
``all_in_cost_per_btc_usd`` means).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.results import revenue_mix

#: Waterfall components: label, monthly lines added, monthly lines subtracted.
COST_COMPONENTS = (
    ("Power (net of energy sold back)", ("power_cost_usd",), ("power_credit_usd",)),
    ("Site opex", ("site_opex_usd",), ("site_opex_hosting_usd", "site_opex_hpc_usd")),  # mining's MW (issue 16)
    ("Transmission, hosting fees, DR credits", ("transmission_charge_usd", "hosting_cost_usd"),
     ("demand_response_credit_usd",)),
    ("SG&A", ("sga_mining_usd",), ()),  # mining's share by revenue (company.cost_allocation)
    ("SBC", ("sbc_mining_usd",), ()),
    ("Depreciation (mining)", ("depreciation_mining_usd",), ()),
    ("Interest (mining)", ("interest_corporate_mining_usd",), ()),  # mining's share by revenue, as SG&A
)
#: After which component each registered cost-per-BTC metric is reached.
COST_SUBTOTALS = {
    "Power (net of energy sold back)": ("Power cost", "power_cost_per_btc_usd"),
    "Transmission, hosting fees, DR credits": ("Direct cost", "direct_cost_per_btc_usd"),
    "SG&A": ("Cash cost", "cash_cost_per_btc_usd"),
    "Interest (mining)": ("All-in cost", "all_in_cost_per_btc_usd"),
}
#: Components that are always shown (the issue's list), even when zero.
ALWAYS_SHOWN = ("Power (net of energy sold back)", "Site opex", "SG&A", "SBC", "Depreciation (mining)",
                "Interest (mining)")


@dataclass(frozen=True)
class CostStep:
    """One bar of the waterfall [USD/BTC]: a component (from ``start`` to ``end``) or a subtotal."""

    label: str
    kind: str  # "component" | "subtotal"
    usd_per_btc: float
    start: float
    end: float
    metric: str | None = None


def cost_per_btc_steps(monthly: pd.DataFrame) -> tuple[list[CostStep], int]:
    """Waterfall of the mean cost per BTC mined, and how many paths mined BTC.

    Components whose lines are not in ``monthly`` (no ``company`` section: no SG&A, SBC,
    depreciation or interest) are left out, and so are the subtotals they would complete; the
    transmission/hosting/demand-response component only appears when it is not zero.
    """
    needed = {c for _, plus, minus in COST_COMPONENTS for c in plus + minus} | {"btc_mined"}
    totals = monthly.groupby("path")[[c for c in sorted(needed) if c in monthly]].sum()
    mined = totals["btc_mined"].to_numpy()
    defined = mined > 0
    steps, level = [], 0.0
    for label, plus, minus in COST_COMPONENTS:
        if plus[0] not in totals:
            break
        usd = sum(totals[c].to_numpy() for c in plus if c in totals) \
            - sum(totals[c].to_numpy() for c in minus if c in totals)
        per_btc = float(np.mean(usd[defined] / mined[defined])) if defined.any() else float("nan")
        if label in ALWAYS_SHOWN or per_btc != 0:
            steps.append(CostStep(label, "component", per_btc, level, level + per_btc))
        level += per_btc
        if label in COST_SUBTOTALS:
            name, metric = COST_SUBTOTALS[label]
            steps.append(CostStep(name, "subtotal", level, 0.0, level, metric))
    return steps, int(defined.sum())


def yearly_revenue_mix(monthly: pd.DataFrame) -> pd.DataFrame:
    """Per calendar year: mean revenue by segment over paths, HPC's share, segment EBITDA, months covered."""
    mix = revenue_mix(monthly)
    months = pd.to_datetime(monthly.month).dt.year.groupby(monthly.path).value_counts()
    mix.insert(0, "months", months.groupby(level=1).max().reindex(mix.index).astype(int))
    return mix


def monthly_quantiles(monthly: pd.DataFrame, line: str) -> pd.DataFrame:
    """Per month: mean, p5, p50, p95 of a monthly line over all paths (numpy's linear percentiles)."""
    grouped = monthly.groupby("month")[line]
    out = pd.DataFrame({"mean": grouped.mean()})
    for q in (5, 50, 95):
        out[f"p{q}"] = grouped.quantile(q / 100, interpolation="linear")
    out.index = pd.to_datetime(out.index)
    return out


def fan_columns(daily_quantiles: pd.DataFrame, columns) -> list[str]:
    """Those of ``columns`` whose p5, p50 and p95 are all in the daily quantiles."""
    return [c for c in columns if all(f"{c}_{t}" in daily_quantiles for t in ("p5", "p50", "p95"))]
