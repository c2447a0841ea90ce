"""One run on several worker processes (simulator/workers.py): the same results bit for bit,
progress from every worker, errors and dead workers reported, no worker left behind."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from simulator import workers
from simulator.config import load_scenario
from simulator.engine import simulate

from conftest import CONTRACT, CONTRACT_120_DAYS, SCENARIOS


@pytest.fixture(scope="module")
def contract():
    return load_scenario(str(CONTRACT), ["horizon_days=400"])  # 12 quantile blocks and a part block


@pytest.fixture(scope="module")
def one_process(contract):
    """The single-process run both worker counts are held to (simulated once)."""
    return simulate(contract, paths=12, keep_paths=5, workers=1)


@pytest.mark.parametrize("n", [2, 3])
def test_workers_give_the_single_process_results_bit_for_bit(contract, one_process, tmp_path, n):
    one = one_process
    many = simulate(contract, paths=12, keep_paths=5, workers=n)  # kept paths span two chunks
    assert set(many.path_metrics) == set(one.path_metrics)
    for name, values in one.path_metrics.items():
        np.testing.assert_array_equal(many.path_metrics[name], values, err_msg=name)
    for table in ("daily", "monthly", "daily_quantiles"):
        pd.testing.assert_frame_equal(getattr(many, table), getattr(one, table), check_exact=True, obj=table)
    one.write(str(tmp_path / "one"))
    many.write(str(tmp_path / "many"))
    for file in ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet"):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "many" / file).read_bytes(), file


@pytest.mark.parametrize("name", ["hpc_conversion.yaml", "ercot_curtailment.yaml"])
def test_hpc_and_power_programmes_on_workers_match_one_process(name):
    s = load_scenario(str(SCENARIOS / name), ["horizon_days=450"])
    one, two = simulate(s, paths=6, keep_paths=2, workers=1), simulate(s, paths=6, keep_paths=2, workers=2)
    for name, values in one.path_metrics.items():
        np.testing.assert_array_equal(two.path_metrics[name], values, err_msg=name)
    pd.testing.assert_frame_equal(two.daily_quantiles, one.daily_quantiles, check_exact=True)


@pytest.fixture(scope="module")
def progress_run(contract):
    """One run on 2 workers with a progress callback: what it reported, and the threads alive
    before and after it (shared by the progress and the no-thread-left checks)."""
    seen, threads = [], threading.active_count()
    simulate(contract, paths=8, keep_paths=0, workers=2, progress=lambda done, total: seen.append((done, total)))
    return seen, threads, threading.active_count()


def test_progress_counts_every_workers_path_days(progress_run):
    seen, _, _ = progress_run
    assert seen, "no progress reported"
    assert all(total == 8 * 400 for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][0] == 8 * 400


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid``, read from each of its threads' ``children`` file (a thread that ends
    between the listing and the read has no children left to report)."""
    out = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out |= {int(c) for c in fh.read().split()}
        except FileNotFoundError:
            continue
    return out


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return any(line.startswith("State:") and "Z" in line for line in fh)  # a zombie has stopped
    except FileNotFoundError:
        return True


def _fail_in_rank_1(chunk, lo, quantiles, progress):
    if quantiles.rank == 1:
        raise ValueError("rank 1 broke")
    for day in range(workers.RING_BLOCKS):  # rank 0 writes a whole ring of blocks ahead of rank 1: it waits
        quantiles.finish(day, 1)
    return "ok"


def test_a_workers_error_is_raised_not_the_wait_it_broke():
    before = _children(os.getpid())
    with pytest.raises(ValueError, match="rank 1 broke"):
        workers.run_in_workers(_fail_in_rank_1, np.arange(4), 2, days=workers.RING_BLOCKS + 1, columns=1,
                               block_days=1)
    assert _children(os.getpid()) == before


def _ranks(days: int, paths: int, block_days: int, n: int, ring: int | None = None):
    """A :class:`workers.SharedQuantiles` and each rank's view of it (threads standing in for the forked workers)."""
    import copy

    shared = workers.SharedQuantiles(days, 3, paths, block_days, n, multiprocessing.get_context("fork"), ring)
    bounds = np.linspace(0, paths, n + 1).round().astype(int)
    return shared, [copy.copy(shared).for_worker(r, bounds[r], bounds[r + 1]) for r in range(n)]


def test_a_worker_waiting_a_ring_ahead_is_released_by_an_abort():
    shared, (ahead, _) = _ranks(workers.RING_BLOCKS + 1, 4, 1, 2)
    seen = []

    def run():
        try:
            for day in range(workers.RING_BLOCKS):
                ahead.finish(day, 1)
        except threading.BrokenBarrierError as exc:
            seen.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and not seen  # waiting for rank 1's first block
    shared.abort()
    thread.join(10)
    assert not thread.is_alive() and len(seen) == 1


def test_a_worker_done_early_shares_the_run_s_last_blocks():
    """A worker that has written its last block waits for the slower one's last blocks and takes some of their
    rows (review 14: it used to return at once and leave the ring's last blocks to the slowest worker alone).

    The slow rank writes its blocks 4 and 5 only once the fast rank has taken a row of the block before (or after
    10 s, when an implementation that leaves them to the slow rank fails the assertion): no race on the threads'
    wake-ups, which made the earlier, sleep-timed version of this test fail on a loaded machine."""
    days, block_days, paths = 12, 2, 4
    shared, ranks = _ranks(days, paths, block_days, 2, ring=3)
    taken = {0: set(), 1: set()}
    took = {j: threading.Event() for j in range(days // block_days)}

    def record(rank, compute):
        def wrapped(j, a, z, columns):
            taken[rank].add(j)
            if rank == 0:
                took[j].set()
            return compute(j, a, z, columns)
        return wrapped
    for q in ranks:
        q._compute = record(q.rank, q._compute)

    def run(q, slow):
        for first in range(0, days, block_days):
            b = first // block_days
            if slow and b >= 4:  # the fast rank has written its last block and waits for these
                took[b - 1].wait(10)
            for row in range(block_days):
                q.buffer[row] = 1.0 + first + row
            q.finish(first, block_days)
    threads = [threading.Thread(target=run, args=(q, slow)) for q, slow in zip(ranks, (False, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert {3, 4} <= taken[0]  # written by the slow rank after the fast one had written its last block
    assert list(shared.done) == [block_days] * (days // block_days)
    assert np.array_equal(shared.out[:, 0, 1], 1.0 + np.arange(days))  # every row's median is its value


@pytest.mark.parametrize("n, block_days, days, columns, ring", [(2, 4, 37, None, 3), (3, 5, 31, [0, 2], 3),
                                                               (2, 1, 9, None, 3), (3, 4, 29, None, 2)])
def test_shared_quantiles_taken_by_any_worker_are_one_process_numbers(n, block_days, days, columns, ring):
    """Workers running at different speeds (random sleeps) each write their paths' rows of every block; whoever
    takes a row, the percentiles are one process's, every row is taken once, and no worker runs a ring ahead."""
    import time

    paths = 7 * n
    values = np.random.default_rng(n).normal(size=(days, 3, paths))
    values[values < -1] = 0.0  # ties
    local = workers.LocalQuantiles(days, 3, paths, block_days)
    shared, ranks = _ranks(days, paths, block_days, n, ring)
    assert len(shared.ring) == ring
    for first in range(0, days, block_days):
        rows = min(block_days, days - first)
        local.buffer[:rows] = values[first:first + rows]
        local.finish(first, rows, columns)
    errors = []

    def run(q, seed):
        delay = np.random.default_rng(seed)
        try:
            for first in range(0, days, block_days):
                rows = min(block_days, days - first)
                for row in range(rows):
                    time.sleep(delay.uniform(0, 0.002) * (1 + 4 * seed))  # the first rank the fastest
                    q.buffer[row] = values[first + row, :, q.lo:q.hi]
                q.finish(first, rows, columns)
                assert max(shared.written) - min(shared.written) <= ring
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(q, seed)) for seed, q in enumerate(ranks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert list(shared.claimed) == list(shared.done) == [min(block_days, days - f) for f in range(0, days, block_days)]
    assert shared.out.tobytes() == local.out.tobytes()
def _die_in_rank_1(chunk, lo, quantiles, progress):
    if quantiles.rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    quantiles.finish(0, 1)
    return "ok"


def test_a_killed_worker_fails_the_run_and_the_others_are_stopped():
    before = _children(os.getpid())
    with pytest.raises(RuntimeError, match="worker 1 died"):
        workers.run_in_workers(_die_in_rank_1, np.arange(4), 2, days=1, columns=1, block_days=1)
    assert _children(os.getpid()) == before


def test_workers_die_with_their_parent(tmp_path):
    """A run killed with SIGKILL takes its workers with it (PR_SET_PDEATHSIG)."""
    import subprocess
    import sys
    import time

    code = ("import sys; sys.path.insert(0, %r)\n"
            "from simulator.config import load_scenario\nfrom simulator.engine import simulate\n"
            "simulate(load_scenario(%r), paths=400, workers=2)\n") % (str(SCENARIOS.parent), str(CONTRACT))
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline, kids = time.monotonic() + 60, set()
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        kids = _children(proc.pid)
    assert kids, "the run never started its workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while not all(_gone(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(k) for k in kids)


def test_auto_workers_one_per_cpu_with_enough_paths_each(monkeypatch):
    monkeypatch.setattr(workers, "usable_cpus", lambda: 8)
    assert workers.auto_workers(50) == 1
    assert workers.auto_workers(2 * workers.MIN_PATHS_PER_WORKER) == 2
    assert workers.auto_workers(100_000) == 8
    monkeypatch.setattr(workers, "can_fork", lambda: False)
    assert workers.auto_workers(100_000) == 1


def _report_can_fork(queue):
    queue.put(workers.can_fork())


def test_a_daemonic_process_never_forks_workers():
    """A Dask worker is daemonic and may not have children: its runs stay in one process."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    proc = context.Process(target=_report_can_fork, args=(queue,), daemon=True)
    proc.start()
    assert queue.get(timeout=30) is False
    proc.join()
    assert workers.can_fork() is True  # and this test process may


def test_a_run_outside_the_main_thread_stays_in_its_thread():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(workers.can_fork()))
    thread.start()
    thread.join()
    assert seen == [False]


def test_no_thread_left_waiting_after_a_run(progress_run):
    _, before, after = progress_run
    assert after == before


def test_cli_workers_option_writes_the_same_files(runner, tmp_path):
    from simulator.cli import main

    for n in ("1", "2"):
        result = runner.invoke(main, ["run", str(SCENARIOS / "halving_crossing.yaml"), "--paths", "4", "--keep-paths",
                                      "3", "--workers", n, "--out", str(tmp_path / n), "--quiet"])
        assert result.exit_code == 0, result.stderr
    for file in ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet"):
        assert (tmp_path / "1" / file).read_bytes() == (tmp_path / "2" / file).read_bytes(), file
    bad = runner.invoke(main, ["run", str(SCENARIOS / "halving_crossing.yaml"), "--workers", "0"])
    assert bad.exit_code == 2


def test_yearly_progress_lines_are_printed_once_not_per_worker(contract, capfd):
    simulate(contract, paths=4, keep_paths=0, workers=2, progress=True)
    lines = [line for line in capfd.readouterr().err.splitlines() if "simulating day" in line]
    assert lines == ["hashfleet: simulating day 0 of 400", "hashfleet: simulating day 365 of 400"]


#: Shorter runs than the files' 730 and 1,461 days: the verbs' --workers plumbing is what is checked
#: here (the programmes' long horizons on workers are test_hpc_and_power_programmes_on_workers_match_
#: one_process's). compare: 450 days (14 quantile blocks and a part block; hpc_conversion.yaml's second
#: project starts on day 424); upgrade: the contract example's 120 days with its dated changes inside.
COMPARE_HORIZON = ["--set", "horizon_days=450"]
UPGRADE_HORIZON = [arg for override in CONTRACT_120_DAYS for arg in ("--set", override)]


@pytest.mark.parametrize("verb", [
    ["compare", str(SCENARIOS / "contract_example.yaml"), str(SCENARIOS / "hpc_conversion.yaml"), "--paths", "4",
     *COMPARE_HORIZON],
    ["upgrade", str(CONTRACT), "--replace", "xp-2023", "--with", "antminer-s21-xp", "--price-usd-per-th", "14",
     "--paths", "4", *UPGRADE_HORIZON],
    ["backtest", str(SCENARIOS / "single_site_operator.yaml"), "--from", "2024-01-01", "--to", "2024-06-30",
     "--paths", "4", "--quiet"],
], ids=lambda v: v[0])
def test_every_simulating_verb_takes_workers_and_prints_the_same(runner, verb):
    from simulator.cli import main

    outputs = []
    for n in ("1", "2"):
        result = runner.invoke(main, [*verb, "--workers", n, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0]), outputs[0]  # rows were printed


def test_the_heap_is_frozen_while_children_run_and_thawed_after():
    """``frozen_heap`` (gc.freeze before a fork): the parent's objects are out of the collector's sight
    inside — the forked children's full collections skip them — and collectable again after, error or not."""
    import gc

    from simulator.workers import frozen_heap

    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("a worker failed")
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("daily_quantiles", [("btc_price_usd", "hashprice_usd_per_ph_day"), False])
def test_some_or_no_quantiles_across_workers_are_the_one_process_numbers(daily_quantiles):
    """The workers' shared quantile block takes the same columns' quantiles (or none) as one process."""
    from simulator import engine
    from simulator.config import load_scenario

    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=40"])
    one = engine.simulate(scenario, workers=1, keep_paths=0, daily_quantiles=daily_quantiles)
    two = engine.simulate(scenario, workers=2, keep_paths=0, daily_quantiles=daily_quantiles)
    if daily_quantiles is False:
        assert one.daily_quantiles is None and two.daily_quantiles is None
    else:
        pd.testing.assert_frame_equal(one.daily_quantiles, two.daily_quantiles, check_exact=True)
    pd.testing.assert_frame_equal(one.monthly, two.monthly, check_exact=True)


def test_unordered_path_ids_give_the_single_process_tables_on_workers(contract):
    """Path ids that do not increase: the workers' shared tables are sorted by path then time, as one
    process sorts them (kept paths spread over both chunks)."""
    s = contract
    ids = [7, 1, 5, 2]
    one = simulate(s, path_ids=ids, keep_paths=6, workers=1)
    two = simulate(s, path_ids=ids, keep_paths=6, workers=2)
    assert sorted(set(one.daily.path)) == [1, 2, 5] and list(one.monthly.path.unique()) == [1, 2, 5, 7]
    for table in ("daily", "monthly"):
        pd.testing.assert_frame_equal(getattr(two, table), getattr(one, table), check_exact=True, obj=table)


def test_results_from_workers_are_not_shared_with_a_later_fork(contract):
    """The workers' tables are mapped privately (copy on write): a child forked after the run that writes
    into the results changes its own copy only, as with a single process's results."""
    s = contract
    res = simulate(s, paths=4, keep_paths=2, workers=2)
    before_monthly, before_daily = res.monthly.copy(), res.daily.copy()
    pid = os.fork()
    if pid == 0:  # the child writes and leaves at once
        try:
            res.monthly.iloc[0, 3] = -12345.0
            res.daily.iloc[0, 3] = -1.0
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    pd.testing.assert_frame_equal(res.monthly, before_monthly, check_exact=True)
    pd.testing.assert_frame_equal(res.daily, before_daily, check_exact=True)


def test_workers_without_memfd_use_a_file_in_memory(contract, monkeypatch):
    """A Python without ``os.memfd_create`` (built against an older C library) or a sandbox that forbids
    it: the workers' tables go through an unlinked file, with the same results."""
    one = simulate(contract, paths=4, keep_paths=2, workers=1)
    monkeypatch.delattr(os, "memfd_create", raising=False)
    two = simulate(contract, paths=4, keep_paths=2, workers=2)
    for table in ("daily", "monthly"):
        pd.testing.assert_frame_equal(getattr(two, table), getattr(one, table), check_exact=True, obj=table)


def test_a_worker_orphaned_before_asking_to_die_with_its_parent_exits():
    """The death signal is tied to the parent at the time of the request: a worker whose parent died
    between the fork and the request (it sees another parent) exits at once instead of running on."""
    pid = os.fork()
    if pid == 0:  # the child: its parent is this test's process, not pid 1
        try:
            workers._die_with_parent(parent=1 if os.getppid() != 1 else 2)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    pid = os.fork()
    if pid == 0:
        try:
            workers._die_with_parent(parent=os.getppid())
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("paths, n", [(3, 2), (5, 3), (5, 2)])
def test_no_worker_is_given_one_path(paths, n):
    """Review 10: a one-path chunk added its cohorts', hours' and debts' rows pairwise (numpy sums an
    ``(rows, 1)`` table as one contiguous run), so MARA's share price on 3 paths × 2 workers differed
    in the last bit from one process's. Chunks now hold two paths or more (workers.MIN_CHUNK_PATHS)."""
    s = load_scenario(str(SCENARIOS / "companies" / "mara.yaml"), ["horizon_days=120"])
    one, many = simulate(s, paths=paths, keep_paths=paths, workers=1), simulate(s, paths=paths, keep_paths=paths, workers=n)
    for name, values in one.path_metrics.items():
        assert np.asarray(many.path_metrics[name]).tobytes() == np.asarray(values).tobytes(), name
    pd.testing.assert_frame_equal(many.daily, one.daily, check_exact=True)
    assert workers.chunk_workers(n, paths) == min(n, paths // workers.MIN_CHUNK_PATHS)


def _freezes(chunk, lo, quantiles, progress):
    from simulator import lazy_kernel

    return lazy_kernel._frozen_imports


def test_a_worker_keeps_its_compiled_imports_out_of_its_collections(tmp_path, monkeypatch):
    """A forked worker asks :mod:`simulator.lazy_kernel` to freeze its compiled imports (the parent does not): a
    compiled module is then imported with the cycle collector paused and the heap frozen after it, the collector
    running again as before; elsewhere it is a plain import."""
    import gc

    from simulator import lazy_kernel

    assert workers.run_in_workers(_freezes, np.arange(4), 2, days=1, columns=1, block_days=1)[0] == [True, True]
    assert not lazy_kernel._frozen_imports
    (tmp_path / "probe_plain.py").write_text("import gc\nCOLLECTING = gc.isenabled()\n")
    (tmp_path / "probe_frozen.py").write_text("import gc\nCOLLECTING = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    plain = lazy_kernel.LazyKernel("probe_plain", large_from=1, numpy_at_most=0).for_call(1)
    assert plain.COLLECTING and gc.get_freeze_count() == 0
    monkeypatch.setattr(lazy_kernel, "_frozen_imports", True)
    try:
        frozen = lazy_kernel.LazyKernel("probe_frozen", large_from=1, numpy_at_most=0).for_call(1)
        assert not frozen.COLLECTING and gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        for name in ("probe_plain", "probe_frozen"):
            sys.modules.pop(name, None)
