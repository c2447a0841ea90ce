"""hashfleet compare: same company twice, ranking, the shared market, start dates, output files."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from simulator.workflows.compare import compare

from conftest import CONTRACT, SCENARIOS

#: No machine failures, and 450 days instead of the contract example's 730 (its purchase, HPC start
#: and power-tax event still fall inside, and hpc_conversion.yaml's second project starting on day
#: 424): these tests check how compare lines companies up, which the horizon does not change.
QUICK = ["failures.enabled=false", "horizon_days=450"]


def test_the_same_company_twice_gives_identical_rows():
    rows, pairs = compare([CONTRACT, CONTRACT], paths=6, overrides=QUICK)
    a, b = ({k: v for k, v in r.items() if k != "rank"} for r in rows)
    assert a == b
    assert all(p["long_short_return_pct_p5"] == 0 == p["long_short_return_pct_p95"] for p in pairs)


@pytest.fixture(scope="module")
def simulate_once():
    """compare's simulations, each run once for the module: the ranking tests differ only in how
    the same runs are ranked (a scenario and options seen before get the same Results back)."""
    import simulator.workflows.compare as workflow

    real, seen = workflow.simulate, {}

    def simulate(scenario, **options):
        key = (scenario.model_dump_json(), repr(sorted((k, v) for k, v in options.items() if k != "progress")))
        if key not in seen:
            seen[key] = real(scenario, **options)
        return seen[key]

    patch = pytest.MonkeyPatch()
    patch.setattr(workflow, "simulate", simulate)
    yield
    patch.undo()


@pytest.mark.parametrize("metric, ascending", [("end_nav_per_share_usd", False), ("all_in_cost_per_btc_usd", True),
                                               ("btc_per_ehs_day", False)])
def test_rows_are_ranked_by_the_chosen_metric(metric, ascending, simulate_once):
    files = [CONTRACT, SCENARIOS / "hpc_conversion.yaml"]
    rows, _ = compare(files, paths=6, overrides=QUICK, rank_by=metric, ascending=ascending)
    values = [r[metric] for r in rows]
    assert values == sorted(values, reverse=not ascending) and [r["rank"] for r in rows] == [1, 2]


def test_every_company_runs_on_the_first_files_market(tmp_path, write):
    other = write(CONTRACT.read_text().replace("drift_annual: 0.15, vol_annual: 0.50", "drift_annual: -0.5, vol_annual: 1.5")
                  .replace("Contract example", "Other market"), "other.yaml")
    rows, _ = compare([CONTRACT, other], paths=6, overrides=QUICK)
    by = {r["company"]: r for r in rows}
    assert by["Other market"]["btc_per_ehs_day"] == by["Contract example"]["btc_per_ehs_day"]
    rows, _ = compare([CONTRACT, other], paths=6, overrides=QUICK, market_from=other)
    assert {r["company"]: r for r in rows}["Contract example"]["btc_per_ehs_day"] != by["Contract example"]["btc_per_ehs_day"]


def test_cli_compare_json_out_and_bad_start(runner, tmp_path, write):
    from simulator.cli import main

    out = tmp_path / "cmp"
    result = runner.invoke(main, ["compare", str(CONTRACT), str(SCENARIOS / "hpc_conversion.yaml"), "--paths", "3",
                                  "--set", QUICK[1], "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [set(r) >= {"company", "btc_per_ehs_day", "end_nav_per_share_usd", "ev_per_ehs_usd"} for r in rows] == [True] * 2
    table = pd.read_parquet(out / "compare.parquet")
    assert list(table.company) == [r["company"] for r in rows]
    assert len(pd.read_parquet(out / "pairs.parquet")) == 2
    late = write(CONTRACT.read_text().replace("start: 2026-01-01", "start: 2026-02-01"), "late.yaml")
    result = runner.invoke(main, ["compare", str(CONTRACT), late, "--paths", "2"])
    assert result.exit_code == 2 and f"{late}:2:8: start 2026-02-01 differs from the market's" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_pair_view_is_the_long_short_spread(simulate_once):
    """Long A / short B earns R_A − R_B: reversing the pair flips the sign exactly (the price ratio
    (1 + R_A)/(1 + R_B) − 1 it replaced is not antisymmetric and explodes when B nears 0)."""
    _, pairs = compare([CONTRACT, SCENARIOS / "hpc_conversion.yaml"], paths=6, overrides=QUICK)
    ab, ba = pairs
    assert ab["long_short_return_pct_mean"] == pytest.approx(-ba["long_short_return_pct_mean"], abs=1e-9)
    assert ab["long_short_return_pct_p5"] == pytest.approx(-ba["long_short_return_pct_p95"], abs=1e-9)
    assert ab["long_short_return_pct_mean"] != 0


def test_the_costliest_runs_start_first():
    """Side by side, Riot (three sites on hourly prices) starts first, then TeraWulf (four HPC projects), MARA
    (six debt books), then HIVE, as their measured CPU ranks them (0.82, 0.55, 0.41, 0.33 s at 500 paths);
    equal costs keep the files' order. A run's fixed cost per day counts: Riot
    at 10 paths (2.5625 × (1000 + 10)) goes before TeraWulf at 100 (1.5625 × (1000 + 100)) and HIVE at 1000
    (1 × (1000 + 1000))."""
    from simulator.config import load_scenario
    from simulator.workflows.runs import run_weight
    from simulator.workflows.schedule import longest_first

    files = ["hive.yaml", "mara.yaml", "riot.yaml", "hive.yaml", "terawulf.yaml"]
    weights = [run_weight(load_scenario(f"scenarios/companies/{f}")) for f in files]
    assert longest_first(weights, [100] * 5) == [2, 4, 1, 0, 3]
    assert longest_first(weights, [100, 100, 10, 1000, 100]) == [2, 3, 4, 1, 0]
