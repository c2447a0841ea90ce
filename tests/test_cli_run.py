"""`hashfleet run` end to end: the four output files, atomicity, bad input, every example."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.finance.ledger import FINANCE_DAILY_COLUMNS
from simulator.metrics import ALL_METRICS, METRICS

from conftest import CONTRACT, SCENARIOS

DAILY = ["path", "date", "btc_price_usd", "difficulty", "network_hashrate_ehs", "height",
         "hashprice_usd_per_ph_day", "fleet_hashrate_ehs", "fleet_power_mw", "btc_mined", "curtailed_mwh",
         "underclocked_mwh"]
SIGNALS = ["network_hashrate_30d_ehs", "network_hashrate_60d_ehs", "hash_ribbon_capitulation",
           "underwater_hashrate_fraction", "miner_sell_pressure_btc", "miner_sell_pressure_usd"]


def test_run_writes_the_four_files(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(CONTRACT), "--out", str(out), "--paths", "5", "--keep-paths", "2",
                                  "--set", "seed=3"])
    assert result.exit_code == 0, result.stderr
    assert sorted(os.listdir(out)) == ["daily.parquet", "daily_quantiles.parquet", "monthly.parquet", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "Contract example" and summary["paths"] == 5 and summary["seed"] == 3
    assert summary["overrides"] == ["seed=3"] and len(summary["scenario_sha256"]) == 64
    assert set(summary["metrics"]) == set(ALL_METRICS)
    assert set(summary["metrics"]["btc_mined"]) == {"mean", "se", "p5", "p50", "p95", "defined_paths"}
    daily = pd.read_parquet(out / "daily.parquet")
    assert list(daily.columns) == DAILY + ["hpc_power_mw"] + list(FINANCE_DAILY_COLUMNS) + SIGNALS and sorted(daily.path.unique()) == [0, 1] and len(daily) == 2 * 730
    quantiles = pd.read_parquet(out / "daily_quantiles.parquet")
    assert len(quantiles) == 730 and "btc_price_usd_p95" in quantiles and "curtailed_mwh_p5" in quantiles
    monthly = pd.read_parquet(out / "monthly.parquet")
    assert len(monthly) == 5 * 24 and str(monthly.month.iloc[0]) == "2026-01-01"
    assert monthly.btc_mined.sum() == pytest.approx(summary["metrics"]["btc_mined"]["mean"] * 5, rel=1e-9)
    assert "btc_mined" in result.stdout and "not modelled yet" not in result.stderr


def test_json_table(runner):
    result = runner.invoke(main, ["run", str(SCENARIOS / "halving_crossing.yaml"), "--paths", "2",
                                  "--format", "json"])
    rows = json.loads(result.stdout)
    assert set(rows[0]) == {"metric", "unit", "mean", "p5", "p50", "p95", "pooled"}
    assert {r["metric"] for r in rows} == set(METRICS)
    by_name = {r["metric"]: r for r in rows}  # a ratio metric's pooled value (issue 16); None for the others
    assert by_name["power_cost_per_btc_usd"]["pooled"] > 0 and by_name["btc_mined"]["pooled"] is None


def test_existing_out_is_refused_unless_overwrite(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["run", str(SCENARIOS / "halving_crossing.yaml"), "--paths", "2", "--out", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert os.listdir(out) == ["keep.txt"]
    result = runner.invoke(main, args + ["--overwrite"])
    assert result.exit_code == 0
    assert "keep.txt" not in os.listdir(out) and "summary.json" in os.listdir(out)
    assert sorted(os.listdir(tmp_path)) == ["out"]  # the old one moved aside and deleted


def test_bad_input_creates_nothing(runner, tmp_path, contract_text):
    bad = tmp_path / "bad.yaml"
    bad.write_text(contract_text.replace("paths: 200", "paths: zero"))
    result = runner.invoke(main, ["run", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.stderr.startswith(f"{bad}:4:8: paths: expected an integer")
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]


def test_failure_while_writing_leaves_no_directory(runner, tmp_path, monkeypatch):
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    original = pd.DataFrame.to_parquet
    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    result = runner.invoke(main, ["run", str(SCENARIOS / "halving_crossing.yaml"), "--paths", "2",
                                  "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_run_leaves_no_partial_directory(tmp_path, sig):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "simulator.cli", "run", str(CONTRACT), "--paths", "400", "--out", str(out)]
    for delay in np.random.default_rng(sig).uniform(0.3, 3.0, 2):  # random moments, reproducibly
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait()
        if out.exists():  # finished before the signal: then it is whole
            assert sorted(os.listdir(out)) == ["daily.parquet", "daily_quantiles.parquet", "monthly.parquet",
                                               "summary.json"]
        visible = [p for p in os.listdir(tmp_path) if not p.startswith(".")]
        assert visible in ([], ["out"])
        if sig == signal.SIGINT:  # an interrupted writer also removes its temporary directory
            assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_runs(runner, path, tmp_path):
    result = runner.invoke(main, ["run", str(path), "--paths", "3", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["metrics"]["btc_mined"]["mean"] > 0


def test_same_seed_gives_byte_identical_outputs(runner, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = runner.invoke(main, ["run", str(SCENARIOS / "ercot_curtailment.yaml"), "--paths", "4",
                                      "--out", str(out)])
        assert result.exit_code == 0, result.stderr
        outs.append(out)
    for name in ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


@pytest.mark.parametrize("args", [
    ["run", str(CONTRACT), "--paths", "1"],
    ["backtest", str(SCENARIOS / "halving_crossing.yaml"), "--from", "2024-04-01", "--to", "2024-04-30"],
    ["compare", str(CONTRACT), str(SCENARIOS / "hpc_conversion.yaml"), "--paths", "1"],
    ["upgrade", str(CONTRACT), "--replace", "xp-2023", "--with", "antminer-s21-xp", "--paths", "1"],
], ids=lambda args: args[0])
def test_a_command_simulates_with_the_imported_heap_frozen_and_unfreezes_after(runner, monkeypatch, args):
    """The cycle collector skips the imports' objects while each simulating command's runs simulate
    (cli._imported_heap_frozen) and is left as it was after the command: on, nothing frozen (a library caller's
    collector back as it was)."""
    import gc

    import simulator.engine

    seen = []
    check_input_models = simulator.engine.check_input_models

    def probe(*positional, **keywords):  # simulate's first step on its scenario's paths
        seen.append((gc.isenabled(), gc.get_freeze_count() > 10_000))
        return check_input_models(*positional, **keywords)

    monkeypatch.setattr(simulator.engine, "check_input_models", probe)
    assert gc.get_freeze_count() == 0
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert seen and set(seen) == {(True, True)}
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_heap_is_frozen_again_at_exit():
    """After a command that froze its imports, the interpreter's exit does not walk the heap (atexit freeze):
    a garbage cycle left at exit is not collected (its finaliser never runs); a process that ran no such
    command collects it at exit as Python always does."""
    script = """
import sys, click
from click.testing import CliRunner
from simulator import cli

@click.command()
def probe():
    with cli._imported_heap_frozen():
        import json
if sys.argv[1] == "command":
    assert CliRunner().invoke(probe).exit_code == 0

class Cycle:
    def __del__(self):
        sys.stdout.write("collected at exit")
        sys.stdout.flush()

cycle = Cycle()
cycle.me = cycle
del cycle
"""
    outs = [subprocess.run([sys.executable, "-c", script, arg], capture_output=True, text=True, check=True).stdout
            for arg in ("command", "none")]
    assert outs == ["", "collected at exit"]
