"""``hashfleet compare``: several companies on the same market and network paths.

The market, network, start, horizon, paths and seed come from the first file (or
``market_from``); each company keeps its own fleet, sites, pool, company section and events.
Companies whose ``start`` differs from the market's are refused (their dated items would
mean something else). With the same seed every company sees the same BTC prices, fees and
network hashrate on every path (common random numbers), so the table compares business
models, not luck.

The pair view: for companies A and B on each path, the return of the dollar-neutral long-A /
short-B trade held over the horizon, ``R_A − R_B`` [% of one leg's notional] (``R`` =
``equity_return_pct``, financing and borrow costs left out); its mean, p5, p50 and p95 over paths.
The short leg earns at most 100 % (B worthless) and the long leg loses at most 100 %, so unlike
the price ratio ``(1 + R_A) / (1 + R_B) − 1`` the mean stays finite when a company's equity goes to
(nearly) nothing.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterable

import pandas as pd

from simulator import atomic
from simulator.config.loader import load_with_overrides, validate_document
from simulator.engine import simulate
from simulator.errors import InputError, InputErrors
from simulator.metrics import RATIO_METRICS, summarise, table_value
from simulator.workflows.runs import simulate_each

#: The table's metric columns (each the mean over paths, a ratio metric's pooled value; None where no path
#: defines it).
COLUMNS = ("btc_per_ehs_day", "cash_cost_per_btc_usd", "all_in_cost_per_btc_usd", "end_net_debt_usd", "dilution_pct",
           "end_nav_per_share_usd", "ev_per_ehs_usd", "prob_cash_shortfall", "prob_margin_call", "prob_liquidation",
           "hpc_share_of_revenue", "equity_beta_to_btc", "equity_return_pct")
#: The columns that are ratio metrics: pooled, Σ numerator ÷ Σ denominator over the paths defining them.
RATIO_COLUMNS = frozenset(COLUMNS) & RATIO_METRICS
#: Copied from the market source into every company.
SHARED_KEYS = ("market", "network", "horizon_days", "paths", "seed")


def compare(files: Iterable[str], *, paths: int | None = None, seed: int | None = None, market_from: str | None = None,
            rank_by: str = "end_nav_per_share_usd", ascending: bool = False, overrides: Iterable[str] = (),
            workers: int | None = None, progress=False, max_memory_bytes: int | None = None):
    """Simulate every company on the market source's paths (``workers``, ``max_memory_bytes``: see
    :func:`simulator.engine.simulate`; ``progress``: a ``(done, total)`` callback over all the runs;
    without ``workers`` the companies run side by side: :mod:`simulator.workflows.runs`).

    Returns ``(rows, pairs)``: one row per company (``rank``, ``company``, ``file`` and the
    :data:`COLUMNS`) ranked by ``rank_by``, and one row per ordered pair of the pair view.

    Examples
    --------
    >>> rows, pairs = compare(["scenarios/contract_example.yaml", "scenarios/hpc_conversion.yaml"], paths=2)
    >>> [r["rank"] for r in rows], sorted(r["company"] for r in rows)
    ([1, 2], ['Contract example', 'HPC conversion'])
    """
    files = [str(f) for f in files]
    if not files:
        raise InputErrors([InputError("compare", 1, 1, "give at least one scenario file")])
    if rank_by not in COLUMNS:
        raise InputErrors([InputError(f"--rank-by {rank_by}", 1, 1, f"not a column; valid: {', '.join(COLUMNS)}")])
    source, _ = load_with_overrides(market_from or files[0], overrides)
    start = str(source.data.get("start"))
    scenarios = []
    for file in files:
        doc, _ = load_with_overrides(file, overrides)
        if str(doc.data.get("start")) != start:
            line, col = doc.pos(("start",))[1:]
            raise InputErrors([InputError(file, line, col, f"start {doc.data.get('start')} differs from the market's "
                                                           f"{start} ({market_from or files[0]}); compare needs one start")])
        for key in SHARED_KEYS:
            if key in source.data:
                doc.data[key] = source.data[key]
        scenarios.append(validate_document(doc, file))
    # side by side; run= names this module's simulate, so tests can patch compare.simulate
    results = simulate_each(scenarios, paths=paths, seed=seed, keep_paths=0, workers=workers, progress=progress,
                            max_memory_bytes=max_memory_bytes, run=simulate, daily_quantiles=False)  # per-path metrics only
    runs = [(file, res) for res, file in zip(results, files)]
    rows = []
    for file, res in runs:
        row = {"company": res.meta["scenario"], "file": os.path.basename(file)}
        stats = res.summary["metrics"]
        for name in COLUMNS:
            row[name] = table_value(name, stats[name]) if name in stats else None
        rows.append(row)
    order = sorted(range(len(rows)), key=lambda i: (rows[i][rank_by] is None,
                                                     (1 if ascending else -1) * (rows[i][rank_by] or 0.0)))
    rows = [{"rank": k + 1, **rows[i]} for k, i in enumerate(order)]
    pairs = []
    for (fa, a), (fb, b) in itertools.permutations(runs, 2):
        if "equity_return_pct" not in a.path_metrics or "equity_return_pct" not in b.path_metrics:
            continue
        stats = summarise(a.path_metrics["equity_return_pct"] - b.path_metrics["equity_return_pct"])
        pairs.append({"long": a.meta["scenario"], "short": b.meta["scenario"],
                      **{f"long_short_return_pct_{k}": stats[k] for k in ("mean", "p5", "p50", "p95")}})
    return rows, pairs


def write(rows: list[dict], pairs: list[dict], out_dir: str, *, overwrite: bool = False) -> None:
    """``out_dir/compare.parquet`` and ``pairs.parquet``, appearing whole or not at all."""
    out = Path(out_dir).resolve()
    if out.exists() and not overwrite:
        raise InputError(str(out_dir), 1, 1, "output directory exists; choose another --out or pass --overwrite")
    with atomic.new_directory(out) as tmp:
        pd.DataFrame(rows).to_parquet(os.path.join(tmp, "compare.parquet"), index=False)
        pd.DataFrame(pairs, columns=["long", "short", "long_short_return_pct_mean", "long_short_return_pct_p5",
                                     "long_short_return_pct_p50", "long_short_return_pct_p95"]) \
            .to_parquet(os.path.join(tmp, "pairs.parquet"), index=False)
