"""Run, sweep and compare directories for the report tests (small, made once per module)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from click.testing import CliRunner

from simulator.cli import main

from conftest import CONTRACT, SCENARIOS

#: Hedges added to the contract example so the hedge section has something to show.
HEDGES = """  hedges:
    - {kind: put, fraction: 0.5, strike_fraction: 0.9}
    - {kind: power_swap, site: ercot-hub, mw: 20, fixed_usd_per_mwh: 40}
"""
DRIFTS = (-0.2, 0.0, 0.2, 0.4)
GROWTHS = (0.1, 0.3, 0.5)


def cli(args: list[str]):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stderr apart by default
        runner = CliRunner()
    return runner.invoke(main, args)


def hedged_run(folder) -> str:
    """The contract example with a put and a power swap, 8 paths, written with ``hashfleet run``."""
    scenario = folder / "hedged.yaml"
    text = CONTRACT.read_text()
    anchor = "  valuation: {method: nav, market_multiple: 1.5, discount_rate: 0.12}\n"
    assert anchor in text
    scenario.write_text(text.replace(anchor, anchor + HEDGES))
    out = folder / "run"
    result = cli(["run", str(scenario), "--out", str(out), "--paths", "8", "--keep-paths", "3"])
    assert result.exit_code == 0, result.stderr
    return str(out)


def operations_run(folder) -> str:
    """A scenario without a company section (no finance columns or lines)."""
    out = folder / "ops"
    result = cli(["run", str(SCENARIOS / "halving_crossing.yaml"), "--out", str(out), "--paths", "4"])
    assert result.exit_code == 0, result.stderr
    return str(out)


def sweep_dir(folder, keys: int = 2) -> str:
    """A sweep directory as `hashfleet sweep` writes it: a row per grid point, a column per key."""
    rows = []
    third = (1, 2) if keys > 2 else (None,)
    for d in DRIFTS:
        for g in (GROWTHS if keys > 1 else (None,)):
            for u in third:
                row = {"market.btc_price.drift_annual": d}
                if g is not None:
                    row["network.hashrate.growth_annual"] = g
                if u is not None:
                    row["fleet[0].units"] = u * 6000
                nav = 2.0 + 10 * d - 4 * (g or 0)
                for metric, mean in (("end_nav_per_share_usd", nav), ("prob_cash_shortfall", max(0.0, 0.3 - d)),
                                     ("all_in_cost_per_btc_usd", 60000 * (1 + (g or 0))), ("btc_mined", 1500.0)):
                    row[metric] = mean
                    row[f"{metric}_p5"], row[f"{metric}_p50"], row[f"{metric}_p95"] = mean - 1, mean, mean + 1
                rows.append(row)
    path = folder / f"sweep{keys}"
    path.mkdir()
    pd.DataFrame(rows).to_parquet(path / "sweep.parquet", index=False)
    return str(path)


def compare_dir(folder) -> str:
    """A compare directory: one row per company."""
    path = folder / "compare"
    path.mkdir()
    pd.DataFrame({"company": ["Efficient Co", "Levered Co", "HPC Co"],
                  "end_nav_per_share_usd": [4.2, -0.5, 3.1], "all_in_cost_per_btc_usd": [52000.0, 88000.0, np.nan],
                  "btc_per_ehs_day": [0.27, 0.25, 0.26], "prob_cash_shortfall": [0.0, 0.35, 0.05],
                  "end_net_debt_usd": [1.0e8, 7.5e8, 3.0e8]}).to_parquet(path / "compare.parquet", index=False)
    return str(path)
