"""A workflow's runs side by side (simulator/workflows/runs.py): the plan of (run, chunk) tasks
(schedule.py), a run simulated in chunks (chunks.py), and the same bytes whatever the processes."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from simulator.config import load_scenario
from simulator.engine import simulate
from simulator.workflows import runs, schedule
from simulator.workflows.chunks import ChunkedRun
from simulator.workflows.schedule import longest_first, split_sizes

from conftest import CONTRACT, CONTRACT_120_DAYS, SCENARIOS


# ------------------------------------------------------------------ the order and the last run's chunks
def test_the_costliest_run_goes_first_counting_each_tasks_fixed_cost():
    f = schedule.FIXED_PATHS
    assert longest_first([1.0, 1.0, 1.0], [100, 300, 200]) == [1, 2, 0]
    assert longest_first([2.0, 1.0], [10, 2 * f]) == [1, 0] and longest_first([2.0, 1.0], [f / 2 + 1, 2 * f]) == [0, 1]
    assert longest_first([1.0, 1.0], [5, 5]) == [0, 1]  # ties keep the runs' order


@pytest.mark.parametrize("free, paths", [([0.0, 0.0], 500), ([0.0, 37.5, 200.0], 501), ([0.0, 0.0, 0.0, 90.0], 7),
                                         ([0.0, 499.0], 500), ([3.0], 40)])
def test_the_chunks_hold_every_path_once_and_end_together(free, paths):
    per_path = 1.0
    sizes = split_sizes(free, per_path, paths)
    assert sum(sizes) == paths and min(sizes) >= 1 and len(sizes) <= len(free)
    ends = [t + per_path * (schedule.FIXED_PATHS + q) for t, q in zip(sorted(free), sizes)]
    if len(sizes) > 1:
        assert max(ends) - min(ends) <= 2 * per_path  # (to a path each side, from rounding)
        assert max(ends) < sorted(free)[0] + per_path * (schedule.FIXED_PATHS + paths)  # sooner than whole


def test_a_split_pays_only_where_another_process_is_free_soon_enough():
    """Split in two, a run of p paths ends at (Δ + 2F + p)/2 against F + p whole on the free process: sooner
    while the other process frees within Δ < p (one unit a path here)."""
    f = schedule.FIXED_PATHS
    assert split_sizes([0.0, 0.0], 1.0, 500) == [250, 250]
    assert split_sizes([0.0, 100.0], 1.0, 500) == [300, 200]
    assert split_sizes([0.0, 499.0], 1.0, 500) == [500]  # (the other's chunk would hold half a path)
    assert split_sizes([0.0, 600.0], 1.0, 500) == [500]
    assert split_sizes([0.0, 0.0, 2 * f], 1.0, 500) == [250, 250]  # the third frees too late to help
    assert split_sizes([0.0], 1.0, 500) == [500]


# ------------------------------------------------------------------ a run in chunks
@pytest.fixture(scope="module")
def contract_120_days():
    return load_scenario(str(CONTRACT), CONTRACT_120_DAYS)  # 3 quantile blocks of 32 days and a part block


@pytest.mark.parametrize("daily_quantiles", [True, ("btc_price_usd", "hashprice_usd_per_ph_day"), False])
def test_chunks_in_any_order_give_the_one_process_run_bit_for_bit(contract_120_days, daily_quantiles, tmp_path):
    """Chunks simulated out of order (here in this process: the chunks of a workflow's run need not run
    at the same time) join into the single process's results: metrics, tables, quantiles, files."""
    one = simulate(contract_120_days, paths=12, keep_paths=5, workers=1, daily_quantiles=daily_quantiles)
    run = ChunkedRun(contract_120_days, 12, contract_120_days.seed, 5, daily_quantiles)
    parts = {lo: run.simulate(lo, hi, None) for lo, hi in [(7, 12), (0, 3), (3, 7)]}  # kept paths 0–4 span two
    many = run.results([parts[lo] for lo in sorted(parts)])
    assert many.meta == one.meta
    for name, values in one.path_metrics.items():
        np.testing.assert_array_equal(many.path_metrics[name], values, err_msg=name)
    for table in ("daily", "monthly"):
        pd.testing.assert_frame_equal(getattr(many, table), getattr(one, table), check_exact=True, obj=table)
    if daily_quantiles is False:
        assert many.daily_quantiles is None and one.daily_quantiles is None
    else:
        pd.testing.assert_frame_equal(many.daily_quantiles, one.daily_quantiles, check_exact=True)
    one.write(str(tmp_path / "one"))
    many.write(str(tmp_path / "many"))
    for file in sorted(p.name for p in (tmp_path / "one").iterdir()):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "many" / file).read_bytes(), file
    run.close()  # (again: nothing)


# ------------------------------------------------------------------ the verbs, 1, 2 and 3 processes
@pytest.fixture
def split_everything(monkeypatch):
    """The last run cut into one chunk per process whatever the processes' progress (when to split is tested
    above; here the chunks' execution), the sizes recorded."""
    seen = []

    def sizes(free, _seconds_per_path, paths):
        out = [len(b) for b in np.array_split(np.arange(paths), min(len(free), paths))]
        seen.append(out)
        return out
    monkeypatch.setattr(runs, "split_sizes", sizes)
    return seen


#: Three companies (hourly sites, HPC projects, debt books) over 100 days; the contract example's upgrades over 120.
COMPARE = ["compare", *(str(SCENARIOS / "companies" / f) for f in ("hive.yaml", "core_scientific.yaml", "riot.yaml")),
           "--paths", "7", "--set", "horizon_days=100"]
RANK = ["upgrade", str(CONTRACT), "--replace", "xp-2023", "--rank", "--models",
        "antminer-s21-xp,antminer-s19j-pro,whatsminer-m60s", "--price-usd-per-th", "14", "--paths", "7",
        *itertools.chain.from_iterable(("--set", o) for o in CONTRACT_120_DAYS)]


@pytest.mark.parametrize("verb", [COMPARE, RANK], ids=["compare", "upgrade-rank"])
def test_outputs_are_the_same_bytes_on_1_2_and_3_processes(runner, tmp_path, verb, split_everything, monkeypatch):
    """compare's files and ``upgrade --rank``'s table with ``--workers`` 1 (one process, runs one after
    another), 2 and 3 (the last run split into a chunk a process), and 2 with no run in shared memory
    (every run whole and pickled back), byte for byte."""
    from simulator.cli import main

    outputs = {}
    for n in ("1", "2", "3", "2-pickled"):
        if n == "2-pickled":
            monkeypatch.setattr(runs, "MAX_SHARED_BYTES", 0)
        out = tmp_path / n
        args = [*verb, "--workers", n[0], "--format", "json"] + (["--out", str(out)] if verb[0] == "compare" else [])
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.stderr
        outputs[n] = [result.stdout] + ([(out / f).read_bytes() for f in ("compare.parquet", "pairs.parquet")]
                                        if verb[0] == "compare" else [])
        assert json.loads(result.stdout)
    assert outputs["2"] == outputs["1"] and outputs["3"] == outputs["1"] and outputs["2-pickled"] == outputs["1"]
    # (--workers 1: the runs one after another; with no shared memory the last run goes whole)
    assert split_everything == [[4, 3], [3, 2, 2]]


def test_no_chunk_of_a_split_run_holds_one_path():
    # a one-path chunk adds its tables' rows in numpy's other order (workers.MIN_CHUNK_PATHS, review 10)
    from simulator.workflows.schedule import split_sizes
    for paths in range(1, 40):
        for free in ([0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.3], [0.0, 0.0, 0.0, 0.0]):
            sizes = split_sizes(free, 0.01, paths, fixed_paths=0.0)
            assert sum(sizes) == paths and (len(sizes) == 1 or min(sizes) >= 2), (paths, free, sizes)
