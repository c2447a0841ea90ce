"""The sections of the report built from one run directory."""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.metrics import ALL_METRICS, FINANCE_METRICS, METRICS
from simulator.report import charts, tables
from simulator.report.fmt import number
from simulator.report.html import Chart, Section, cards, digest, paragraph, table
from simulator.report.inputs import RunData

#: Fan charts: daily column, title, unit (finance columns appear when the run has them).
FANS = (
    ("btc_price_usd", "BTC price", "USD"),
    ("difficulty", "Difficulty", "difficulty"),
    ("network_hashrate_ehs", "Network hashrate", "EH/s"),
    ("hashprice_usd_per_ph_day", "Hashprice", "USD/(PH/s·day)"),
    ("fleet_hashrate_ehs", "Fleet hashrate (energised)", "EH/s"),
    ("btc_mined", "BTC mined per day", "BTC/day"),
    ("cash_usd", "Cash", "USD"),
    ("treasury_btc", "Treasury (unpledged)", "BTC"),
    ("debt_usd", "Debt at face value", "USD"),
    ("equity_value_usd", "Equity value", "USD"),
    ("share_price_usd", "Share price", "USD"),
    ("network_hashrate_30d_ehs", "Hash ribbon: 30-day mean network hashrate", "EH/s"),
    ("network_hashrate_60d_ehs", "Hash ribbon: 60-day mean network hashrate", "EH/s"),
    ("underwater_hashrate_fraction", "Network hashrate under water", "fraction"),
    ("miner_sell_pressure_usd", "Aggregate miner sell pressure", "USD/day"),
)
#: Headline cards: metric, label (shown when the run has the metric).
HEADLINES = (
    ("btc_mined", "BTC mined"),
    ("all_in_cost_per_btc_usd", "All-in cost per BTC [USD]"),
    ("direct_cost_per_btc_usd", "Direct cost per BTC [USD]"),
    ("end_nav_per_share_usd", "NAV per share at the end [USD]"),
    ("end_cash_usd", "Cash at the end [USD]"),
    ("prob_cash_shortfall", "Probability of a cash shortfall"),
)
STATS = ("mean", "p5", "p50", "p95")


def digest_section(run: RunData, label: str) -> Section:
    s, q = run.summary, run.daily_quantiles
    dates = pd.to_datetime(q["date"])
    overrides = s.get("overrides") or []
    items = [("scenario", str(s.get("scenario", "?"))), ("scenario_sha256", str(s.get("scenario_sha256") or "—")),
             ("run directory", label), ("paths", number(s.get("paths"))), ("seed", str(s.get("seed", "—"))),
             ("overrides", ", ".join(map(str, overrides)) if overrides else "none"),
             ("horizon", f"{dates.min().date()} to {dates.max().date()} ({len(q):,} days)" if len(q) else "—"),
             ("daily rows kept for", f"{run.daily['path'].nunique():,} paths"),
             ("hashfleet version", str(s.get("version", "?")))]
    metrics = s["metrics"]
    shown = [(m, lbl) for m, lbl in HEADLINES if m in metrics and metrics[m].get("p50") is not None]
    if any(m == "all_in_cost_per_btc_usd" for m, _ in shown):
        shown = [(m, lbl) for m, lbl in shown if m != "direct_cost_per_btc_usd"]
    headline = [(lbl, number(metrics[m]["p50"]) if not m.startswith("prob_") else number(metrics[m]["mean"]),
                 "mean over paths" if m.startswith("prob_")
                 else f"p50; p5–p95 {number(metrics[m]['p5'])} to {number(metrics[m]['p95'])}") for m, lbl in shown]
    return Section("digest", "Scenario", [digest(items), cards(headline)])


def metrics_section(run: RunData) -> Section:
    """Every metric of summary.json with its unit, grouped as in the registry."""
    metrics = run.summary["metrics"]
    groups = [("Operations", [m for m in METRICS if m in metrics]),
              ("Company", [m for m in FINANCE_METRICS if m in metrics]),
              ("Other", [m for m in metrics if m not in ALL_METRICS])]
    parts = [paragraph("Each metric is computed per path, then summarised across paths; paths where it is "
                       "undefined (e.g. cost per BTC with nothing mined) are left out and counted in "
                       "'defined paths'. Hover a row for its definition. 'pooled' (ratio metrics): Σ numerator "
                       "÷ Σ denominator over the defined paths, which the mean of per-path ratios is not.")]
    columns = ["metric", "unit", "mean", "p5", "p50", "p95", "defined paths", "pooled"]
    for title, names in groups:
        if not names:
            continue
        rows = [[m, ALL_METRICS.get(m, ("",))[0]] + [metrics[m].get(k) for k in STATS]
                + [metrics[m].get("defined_paths"), metrics[m].get("pooled")] for m in names]
        titles = [ALL_METRICS[m][2] if m in ALL_METRICS else "" for m in names]
        parts += [f"<h3>{title}</h3>", table(columns, rows, numeric=[False, False] + [True] * 6, titles=titles)]
    return Section("metrics", "Headline metrics", parts)


def fans_section(run: RunData) -> Section:
    q = run.daily_quantiles
    paths = run.summary.get("paths")
    spec = {c: (t, u) for c, t, u in FANS}
    parts = [paragraph(f"Shaded: the 5th to 95th percentile across all {number(paths)} paths on each day; line: the "
                       "median. Percentiles are taken day by day, so the line is not one path.")]
    for column in tables.fan_columns(q, [c for c, _, _ in FANS]):
        title, unit = spec[column]
        fig = charts.fan(q["date"], q[f"{column}_p5"], q[f"{column}_p50"], q[f"{column}_p95"], title, unit)
        parts.append(Chart(f"fan_{column}", title, f"{column}: p5–p95 and p50 per day [{unit}]", fig))
    return Section("fans", "Paths over time", parts)


def costs_section(run: RunData) -> Section:
    steps, mined_paths = tables.cost_per_btc_steps(run.monthly)
    metrics = run.summary["metrics"]
    parts = [paragraph(f"Per path, each component's total over the horizon divided by the BTC the path mined, then "
                       f"averaged over the {mined_paths:,} paths that mined BTC; grey bars are the running totals, "
                       "which equal the registry's cost-per-BTC metrics. Mining only: HPC depreciation and "
                       "project-debt interest are left out, as in all_in_cost_per_btc_usd.")]
    if not steps or mined_paths == 0:
        return Section("costs", "Cost per BTC", parts + [paragraph("No path mined BTC: cost per BTC is undefined.")])
    # a subtotal right after the first component repeats its bar: the chart leaves it out
    bars = [s for i, s in enumerate(steps) if not (s.kind == "subtotal" and i == 1)]
    parts.append(Chart("cost_per_btc_waterfall", "Cost per BTC waterfall",
                       "Components and subtotals of the mean cost per BTC mined [USD/BTC]", charts.waterfall(bars)))
    rows = [[s.label, s.usd_per_btc, s.metric or "",
             metrics.get(s.metric, {}).get("mean") if s.metric else None] for s in steps]
    parts.append(table(["step", "USD per BTC", "registry metric", "summary.json mean"], rows,
                       numeric=[False, True, False, True],
                       row_classes=["subtotal" if s.kind == "subtotal" else "" for s in steps]))
    return Section("costs", "Cost per BTC", parts)


def revenue_section(run: RunData) -> Section:
    mix = tables.yearly_revenue_mix(run.monthly)
    labels = {"months": "months", "mining_revenue_usd": "mining revenue [USD]",
              "hosting_revenue_usd": "hosting revenue [USD]", "hpc_revenue_usd": "HPC revenue [USD]",
              "hpc_share_of_revenue": "HPC share [fraction]", "ebitda_mining_usd": "mining EBITDA [USD]",
              "ebitda_hpc_usd": "HPC EBITDA [USD]"}
    rows = [[str(year)] + [mix.at[year, c] for c in mix.columns] for year in mix.index]
    parts = [paragraph("Mean over paths of each calendar year's revenue by segment (a year the horizon covers "
                       "only in part shows fewer months)."),
             Chart("revenue_mix", "Revenue mix by year", "Mining, hosting and AI/HPC revenue per year [USD]",
                   charts.revenue_mix(mix)),
             table(["year"] + [labels.get(c, c) for c in mix.columns], rows, numeric=[False] + [True] * len(mix.columns))]
    return Section("revenue", "Revenue mix", parts)


def hedges_section(run: RunData) -> Section | None:
    """Monthly hedge P&L quantiles (runs with a company section only)."""
    if "hedge_pnl_usd" not in run.monthly:
        return None
    pnl = run.monthly["hedge_pnl_usd"].to_numpy(dtype=float)
    if not np.any(pnl):
        return Section("hedges", "Hedge P&L", [paragraph("No hedge settled or cost a premium on any path "
                                                         "(the scenario has no hedges, or none was active).")])
    q = tables.monthly_quantiles(run.monthly, "hedge_pnl_usd")
    totals = run.monthly.groupby("path")["hedge_pnl_usd"].sum().to_numpy()
    p5, p50, p95 = np.percentile(totals, [5, 50, 95])
    fig = charts.monthly_band(q.index, q["mean"], q["p5"], q["p50"], q["p95"], "Hedge P&L per month", "USD/month")
    return Section("hedges", "Hedge P&L", [
        paragraph("Forward, put and power-swap settlements minus premiums, per month across paths."),
        Chart("hedge_pnl", "Hedge P&L per month", "hedge_pnl_usd per month: p5–p95, p50 and mean [USD]", fig),
        table(["over the horizon", "mean", "p5", "p50", "p95"],
              [["hedge_pnl_usd [USD]", float(totals.mean()), p5, p50, p95]], numeric=[False] + [True] * 4)])
