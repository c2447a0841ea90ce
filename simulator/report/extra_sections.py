"""Sections from a sweep directory (heatmaps) and a compare directory (tables)."""
from __future__ import annotations

import pandas as pd

from simulator.metrics import ALL_METRICS
from simulator.report import charts
from simulator.report.html import Chart, Section, paragraph, table
from simulator.report.inputs import CompareData, SweepData, metric_base

#: Sweep heatmaps: candidate metrics (the first present and defined is used), title, higher is better.
SWEEP_METRICS = (
    (("end_nav_per_share_usd",), "NAV per share at the end", True),
    (("prob_cash_shortfall",), "Probability of a cash shortfall", False),
    (("all_in_cost_per_btc_usd", "cash_cost_per_btc_usd", "direct_cost_per_btc_usd"), "Cost per BTC", False),
)
#: Compare bar panels, when the table has them.
COMPARE_BARS = ("end_nav_per_share_usd", "all_in_cost_per_btc_usd", "btc_per_ehs_day", "prob_cash_shortfall")


def _unit(metric: str) -> str:
    return ALL_METRICS.get(metric_base(metric), ("",))[0]


def _order(values: pd.Series) -> list:
    unique = pd.unique(values)
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _defined(table: pd.DataFrame, column: str) -> bool:
    return column in table and pd.to_numeric(table[column], errors="coerce").notna().any()


def sweep_section(sweep: SweepData) -> Section:
    t, keys = sweep.table, sweep.keys
    parts = [paragraph(f"{len(t):,} grid points over {', '.join(keys)}; every point ran on the same random "
                       "numbers (common random numbers), so differences come from the swept values alone. "
                       "Cells show the mean over paths.")]
    x_key = keys[0]
    y_key = keys[1] if len(keys) > 1 else None
    sliced = t
    if len(keys) > 2:
        fixed = {k: _order(t[k])[0] for k in keys[2:]}
        for k, v in fixed.items():
            sliced = sliced[sliced[k] == v]
        parts.append(paragraph("Heatmaps show the first two swept keys at "
                               + ", ".join(f"{k} = {v}" for k, v in fixed.items())
                               + "; the table below lists every point."))
    shown = []
    for candidates, title, higher_is_better in SWEEP_METRICS:
        metric = next((m for m in candidates if _defined(t, m)), None)
        if metric is None:
            continue
        shown.append(metric)
        unit = _unit(metric)
        slug = f"sweep_{metric}"
        if y_key is None:
            s = sliced.sort_values(x_key)
            band = all(f"{metric}_{q}" in s for q in ("p5", "p95"))
            fig = charts.sweep_line(s[x_key].to_numpy(), s[metric].to_numpy(dtype=float),
                                    s[f"{metric}_p5"].to_numpy(dtype=float) if band else None,
                                    s[f"{metric}_p95"].to_numpy(dtype=float) if band else None, x_key,
                                    f"{title} ({metric})", unit)
        else:
            grid = (sliced.pivot_table(index=y_key, columns=x_key, values=metric, aggfunc="mean", dropna=False)
                    .reindex(index=_order(sliced[y_key]), columns=_order(sliced[x_key])))
            fig = charts.heatmap(grid, f"{title} ({metric})", unit, higher_is_better=higher_is_better)
        parts.append(Chart(slug, title, f"{metric} (mean over paths) [{unit}]", fig))
    if not shown:
        parts.append(paragraph("The sweep table has none of end_nav_per_share_usd, prob_cash_shortfall or a "
                               "cost-per-BTC metric: no heatmap."))
    columns = list(keys) + [c for m in shown for c in (m, f"{m}_p5", f"{m}_p95") if c in t]
    rows = t.sort_values(list(keys)).reindex(columns=columns).to_numpy().tolist()
    numeric = [pd.api.types.is_numeric_dtype(t[c]) for c in columns]
    parts.append(table(columns, rows, numeric=numeric))
    return Section("sweep", "Sweep", parts)


def compare_section(compare: CompareData) -> Section:
    t = compare.table
    numeric_columns = [c for c in t.columns if c not in ("company", "rank") and pd.api.types.is_numeric_dtype(t[c])]
    companies = t["company"].astype(str).to_list()
    parts = [paragraph(f"{len(t):,} companies on the same market and network paths; one column per company, "
                       "metrics as summarised across paths.")]
    panels = [(m, m, _unit(m)) for m in COMPARE_BARS if _defined(t, m)]
    if panels:
        parts.append(Chart("compare_bars", "Companies side by side", "Selected metrics per company",
                           charts.company_bars(t, panels)))
    rows = [[c, _unit(c)] + [None if pd.isna(v) else float(v) for v in t[c].to_numpy()] for c in numeric_columns]
    parts.append(table(["metric", "unit"] + companies, rows, numeric=[False, False] + [True] * len(companies),
                       titles=[ALL_METRICS.get(metric_base(c), ("", None, ""))[2] for c in numeric_columns]))
    other = [c for c in t.columns if c not in ("company", "rank") and c not in numeric_columns]
    if other:
        parts.append(table(["company"] + other, t[["company"] + other].astype(str).to_numpy().tolist()))
    return Section("compare", "Compare", parts)

