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
from simulator.workflows.schedule import Task, chunk_bounds, makespan, plan, tasks_of

from conftest import CONTRACT, CONTRACT_120_DAYS, SCENARIOS


# ------------------------------------------------------------------ the plan
def test_makespan_is_list_scheduling():
    assert makespan([3, 2, 2, 1], 2) == 4  # 3 | 2, then 2 on the first free (the second), 1 on the first
    assert makespan([1, 1, 1], 3) == 1 and makespan([5], 4) == 5 and makespan([], 2) == 0


@pytest.mark.parametrize("paths, chunks", [(500, 1), (500, 2), (500, 3), (7, 3), (3, 3)])
def test_chunk_bounds_cover_the_paths_once_in_order(paths, chunks):
    b = chunk_bounds(paths, chunks)
    assert b[0] == 0 and b[-1] == paths and len(b) == chunks + 1
    sizes = np.diff(b)
    assert (sizes > 0).all() and sizes.max() - sizes.min() <= 1


def test_every_path_of_every_run_is_in_exactly_one_task():
    rng = np.random.default_rng(3)
    for _ in range(40):
        n, processes = int(rng.integers(1, 9)), int(rng.integers(1, 5))
        weights, paths = rng.uniform(0.2, 3.0, n).tolist(), rng.integers(1, 900, n).tolist()
        tasks = plan(weights, paths, processes)
        for k in range(n):
            mine = sorted((t.lo, t.hi) for t in tasks if t.run == k)
            assert mine[0][0] == 0 and mine[-1][1] == paths[k]
            assert all(a[1] == b[0] for a, b in zip(mine, mine[1:]))
            assert len(mine) <= max(1, min(processes, paths[k]))


def test_the_last_run_is_split_only_where_the_predicted_end_comes_sooner():
    f = schedule.FIXED_PATHS
    # three equal runs on two processes: the third alone would leave a process idle for a whole run
    assert plan([1.0] * 3, [500] * 3, 2) == [Task(0, 0, 500), Task(1, 0, 500), Task(2, 0, 250), Task(2, 250, 500)]
    split, whole = (f + 500) + (f + 250), 2 * (f + 500)
    assert makespan(tasks_of([1.0] * 3, [500] * 3, [1, 1, 2])[1], 2) == split
    # ... unless that gain (16 %) is under the least gain asked for
    assert 0.1 < 1 - split / whole < 0.2
    assert len(plan([1.0] * 3, [500] * 3, 2, min_gain=0.2)) == 3 and len(plan([1.0] * 3, [500] * 3, 2, min_gain=0.1)) == 4
    # two equal runs on two processes: nothing to fill; every run whole on one process
    assert plan([1.0] * 2, [500] * 2, 2) == [Task(0, 0, 500), Task(1, 0, 500)]
    assert len(plan([1.0] * 3, [500] * 3, 1)) == 3
    # a run that may not be split stays whole; another is split instead
    tasks = plan([1.0] * 3, [500] * 3, 2, splittable=[True, True, False])
    assert Task(2, 0, 500) in tasks and len(tasks) == 4


def test_tasks_go_costliest_first_chunks_in_path_order_on_ties():
    tasks, costs = tasks_of([1.0, 2.0], [100, 100], [2, 1])
    assert tasks == [Task(1, 0, 100), Task(0, 0, 50), Task(0, 50, 100)]
    assert costs == sorted(costs, reverse=True)


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
    """Every run that may be split cut into one chunk per process (the plan's choices are tested above; here
    the tasks' execution), the task lists recorded."""
    seen = []

    def planned(weights, paths, processes, splittable):
        tasks = tasks_of(weights, paths, [min(processes, n) if ok else 1 for n, ok in zip(paths, splittable)])[0]
        seen.append(tasks)
        return tasks
    monkeypatch.setattr(runs, "plan", planned)
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
    another), 2 and 3 (runs split into chunks: every task list seen holds chunks), and 2 with no run in
    shared memory (every run whole and pickled back), byte for byte."""
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
    assert len(split_everything) == 3  # (--workers 1 plans nothing: the runs go one after another)
    assert [len(tasks) / len({t.run for t in tasks}) for tasks in split_everything] == [2, 3, 1]
    # (--workers 3: 3 chunks a run; with no shared memory every run is whole)
