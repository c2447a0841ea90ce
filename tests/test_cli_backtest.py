"""`hashfleet backtest` end to end: the four output files, one path, --history, bad input."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from simulator.cli import main
from simulator.market.history import load_history
from simulator.metrics import ALL_METRICS, METRICS

from conftest import CONTRACT, SCENARIOS
from test_cli_run import DAILY, SIGNALS

HALVING = str(SCENARIOS / "halving_crossing.yaml")


def test_backtest_writes_runs_four_files_for_one_path(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["backtest", HALVING, "--from", "2024-04-01", "--to", "2024-05-31",
                                  "--out", str(out), "--set", "pool.fee=0.01"])
    assert result.exit_code == 0, result.stderr
    assert sorted(os.listdir(out)) == ["daily.parquet", "daily_quantiles.parquet", "monthly.parquet", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["paths"] == 1 and summary["overrides"] == ["pool.fee=0.01"]
    assert summary["backtest"] == {"from": "2024-04-01", "to": "2024-05-31",
                                   "history": "simulator/data/coinmetrics/btc_daily.csv"}
    assert set(summary["metrics"]) == set(METRICS)
    daily = pd.read_parquet(out / "daily.parquet")
    assert list(daily.columns) == DAILY + SIGNALS and len(daily) == 61 and daily.path.unique().tolist() == [0]
    assert str(daily.date.iloc[0]) == "2024-04-01" and str(daily.date.iloc[-1]) == "2024-05-31"
    history = load_history().loc["2024-04-01":"2024-05-31"]
    assert daily.btc_price_usd.tolist() == history.price_usd.tolist()
    assert len(pd.read_parquet(out / "daily_quantiles.parquet")) == 61
    monthly = pd.read_parquet(out / "monthly.parquet")
    assert [str(m) for m in monthly.month] == ["2024-04-01", "2024-05-01"]
    assert "btc_mined" in result.stdout and f"wrote {out}/" in result.stdout


def test_backtest_notes_items_after_the_window_and_prints_json(runner):
    result = runner.invoke(main, ["backtest", str(CONTRACT), "--from", "2025-01-01", "--to", "2025-03-31",
                                  "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["metric"] for r in rows} == set(ALL_METRICS)  # the contract example has a company
    assert all(r["p5"] == r["p95"] for r in rows)  # one path
    assert "NaN" not in result.stdout  # an undefined figure is JSON's null, not the non-standard NaN
    assert all(r["p50"] is None for r in rows if r["metric"].startswith("prob_"))  # a probability is its mean
    assert "purchases[0] (delivery 2026-06-01) is after --to 2025-03-31; left out" in result.stderr


def test_own_history_file_gives_the_same_backtest(runner, tmp_path):
    # a user's file with the shipped columns (here: the shipped rows from 2023 on) replays the same
    own = tmp_path / "my_history.csv"
    load_history().loc["2023-01-01":].reset_index().assign(date=lambda f: f.date.dt.strftime("%Y-%m-%d")) \
        .to_csv(own, index=False)
    outs = []
    for extra in ([], ["--history", str(own)]):
        result = runner.invoke(main, ["backtest", HALVING, "--from", "2024-04-10", "--to", "2024-04-30",
                                      "--format", "csv"] + extra)
        assert result.exit_code == 0, result.stderr
        outs.append(result.stdout)
    assert outs[0] == outs[1]


@pytest.mark.parametrize("args, message", [
    (["--from", "2005-01-01", "--to", "2024-01-01"],
     "--from 2005-01-01:1:1: outside the history simulator/data/coinmetrics/btc_daily.csv (2010-07-18 … 2026-03-22)"),
    (["--from", "2024-01-01", "--to", "2031-01-01"], "--to 2031-01-01:1:1: outside the history"),
    (["--from", "2024-02-01", "--to", "2024-01-01"], "--from 2024-02-01:1:1: is after --to 2024-01-01"),
    (["--from", "2024-02-30", "--to", "2024-03-01"], "--from 2024-02-30:1:1: expected an ISO date YYYY-MM-DD"),
    (["--from", "2024-01-01", "--to", "2024-02-01", "--history", "no_such.csv"], "no_such.csv:1:1: file not found"),
    (["--from", "2024-01-01", "--to", "2024-02-01", "--set", "pool.fee=2"], "--set pool.fee=2:1:10: pool.fee: must be <= 1"),
], ids=["from-before-history", "to-after-history", "from-after-to", "bad-date", "unknown-history", "bad-set"])
def test_bad_input_exits_2_with_one_line_and_no_output(runner, tmp_path, args, message):
    out = tmp_path / "out"
    result = runner.invoke(main, ["backtest", HALVING, "--out", str(out)] + args)
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not out.exists() and os.listdir(tmp_path) == []


def test_history_with_an_empty_cell_in_the_window_points_at_its_line(runner, tmp_path):
    own = tmp_path / "holed.csv"
    frame = load_history().loc["2024-01-01":"2024-03-31"].reset_index()
    frame["date"] = frame.date.dt.strftime("%Y-%m-%d")
    frame.loc[frame.date == "2024-02-10", "price_usd"] = None
    frame.to_csv(own, index=False)
    line = int(frame.index[frame.date == "2024-02-10"][0]) + 2
    result = runner.invoke(main, ["backtest", HALVING, "--from", "2024-02-01", "--to", "2024-02-20",
                                  "--history", str(own), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{own}:{line}:1: history: price_usd is empty on 2024-02-10")
    assert not (tmp_path / "out").exists()


def test_scenario_that_does_not_fit_the_window_cites_its_line(runner, tmp_path, contract_text):
    # a delivery before --from is not silently moved: the error points at the scenario's line
    scenario = tmp_path / "s.yaml"
    scenario.write_text(contract_text.replace("delivery: 2026-06-01", "delivery: 2024-06-01"))
    result = runner.invoke(main, ["backtest", str(scenario), "--from", "2025-01-01", "--to", "2025-02-01"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{scenario}:37:") and "inside the horizon 2025-01-01 … 2025-02-01" in result.stderr


def test_paths_and_seed_vary_only_what_is_still_random(runner, tmp_path):
    # an index-power site with failures on: extra paths draw their own power prices and
    # failures, but every path replays the same price, difficulty and network
    out = tmp_path / "out"
    result = runner.invoke(main, ["backtest", str(SCENARIOS / "ercot_curtailment.yaml"), "--from", "2024-07-01",
                                  "--to", "2024-07-31", "--paths", "3", "--seed", "11", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["paths"] == 3 and summary["seed"] == 11
    daily = pd.read_parquet(out / "daily.parquet")
    per_day = daily.groupby("date")
    assert (per_day.btc_price_usd.nunique() == 1).all() and (per_day.difficulty.nunique() == 1).all()
    assert daily.groupby("path").fleet_power_mw.sum().nunique() == 3
