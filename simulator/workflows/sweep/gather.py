"""Gathering a sweep: the per-point records into sweep.parquet and summary.json (or failed.json)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from simulator.metrics import RATIO_METRICS, table_value
from simulator.workflows.sweep.grid import SweepPlan
from simulator.workflows.sweep.store import dumps, write_bytes, write_with

#: Summary statistics kept per metric and point (those of ``summary.json`` of a run).
STATS = ("mean", "se", "p5", "p50", "p95", "defined_paths")
#: Statistics of each metric in ``sweep.parquet``: the mean under the metric's own name.
TABLE_STATS = (("mean", ""), ("p5", "_p5"), ("p50", "_p50"), ("p95", "_p95"))
#: The headline columns of the printed table: of each group, the first metric the sweep has.
HEADLINE_METRICS = (("end_nav_per_share_usd",), ("prob_cash_shortfall",), ("all_in_cost_per_btc_usd",),
                    ("cash_cost_per_btc_usd", "direct_cost_per_btc_usd"), ("btc_per_ehs_day",))


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out_dir : str
    plan : SweepPlan
    records : list of dict or None
        Each point's record (the content of its file) in grid order; None for a failed point.
    ran : list of str
        Ids of the points simulated by this call.
    resumed : list of str
        Ids of the points found finished in ``out_dir`` and not run again.
    failed : list of dict
        ``{"id", "overrides", "error"}`` of the points that failed after their retries.
    table : DataFrame or None
        The content of sweep.parquet (None when some point failed).
    """

    out_dir: str
    plan: SweepPlan
    records: list
    ran: list
    resumed: list
    failed: list
    table: Optional[pd.DataFrame]

    @property
    def headline_metrics(self) -> list[str]:
        """The metrics of the printed table (of each HEADLINE_METRICS group, the first present)."""
        present = set()
        for record in self.records:
            if record:
                present.update(record["metrics"])
        return [next(m for m in group if m in present) for group in HEADLINE_METRICS
                if any(m in present for m in group)]

    def rows(self) -> list[dict]:
        """One row per point in grid order: the swept values and the headline metrics' means."""
        metrics = self.headline_metrics
        rows = []
        for point, record in zip(self.plan.points, self.records):
            row = dict(zip(self.plan.keys, point.values))
            for m in metrics:  # a ratio metric's pooled value (Σ numerator ÷ Σ denominator), named so
                stats = record["metrics"].get(m, {}) if record else {}
                row[f"{m} (pooled)" if m in RATIO_METRICS else m] = table_value(m, stats)
            if self.failed:
                row["status"] = "ok" if record else "failed"
            rows.append(row)
        return rows



def sweep_table(plan: SweepPlan, records: Sequence[dict]) -> pd.DataFrame:
    """One row per point in grid order: the swept keys, then ``{metric}``, ``{metric}_p5/_p50/_p95``."""
    data = {}
    for j, axis in enumerate(plan.axes):
        data[axis.key] = _value_column([p.values[j] for p in plan.points], [p.overrides[j] for p in plan.points],
                                       len(axis.key) + 1)
    metrics: dict = {}
    for record in records:
        metrics.update(dict.fromkeys(record["metrics"]))
    for name in metrics:
        stats = [r["metrics"].get(name) or {} for r in records]
        for stat, suffix in TABLE_STATS + ((("pooled", "_pooled"),) if name in RATIO_METRICS else ()):
            data[f"{name}{suffix}"] = np.array([np.nan if s.get(stat) is None else s[stat] for s in stats],
                                               dtype=float)
    return pd.DataFrame(data)


def _value_column(values: list, overrides: list, cut: int) -> np.ndarray:
    """Numbers stay numbers (int64 when all are integers), anything else the value as typed."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numbers:
        return np.array(values, dtype=np.int64 if all(isinstance(v, int) for v in values) else float)
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    return np.array([o[cut:] for o in overrides], dtype=object)


def gather(plan: SweepPlan, out_dir: str, records: list, failed: list) -> Optional[pd.DataFrame]:
    """Write sweep.parquet and summary.json for a complete sweep, failed.json otherwise."""
    parquet, summary_path, failed_path = (os.path.join(out_dir, n) for n in ("sweep.parquet", "summary.json",
                                                                             "failed.json"))
    if failed:
        write_bytes(out_dir, "failed.json", dumps({"failed": failed}))
        for stale in (parquet, summary_path):
            if os.path.exists(stale):
                os.unlink(stale)
        return None
    table = sweep_table(plan, records)
    write_with(out_dir, "sweep.parquet", lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow"))
    manifest = plan.manifest()
    summary = {k: manifest[k] for k in ("scenario", "scenario_file", "scenario_sha256", "overrides", "grid", "paths",
                                        "seed", "version")}
    summary["points"] = [{k: r[k] for k in ("id", "overrides", "values", "metrics")} for r in records]
    write_bytes(out_dir, "summary.json", dumps(summary))
    if os.path.exists(failed_path):
        os.unlink(failed_path)
    return table

