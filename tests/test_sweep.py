"""`hashfleet sweep`: grid parsing, determinism across worker counts and point order, resume,
retries of failed points and killed workers, interruption, bad input.

One LocalCluster of two worker processes is shared by the module (a start-up costs seconds);
``--workers 1`` starts the only other one. Points use the contract example over 120 days with its
purchase, HPC project and power-tax event moved inside (conftest.CONTRACT_120_DAYS) and 4 paths:
every kind of dated change and the company's books travel with each point, at a third of the 370
days the dates as shipped would need.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.config import load_scenario
from simulator.engine import simulate
from simulator.errors import InputError, InputErrors
from simulator.workflows.sweep import (FAULT_ENV, FORK_MAX_RSS_FRACTION, LOCAL_CLUSTER_CONFIG, open_client,
                                       start_method, grid_points, parse_grid, point_id, prepare, run_sweep,
                                       sweep_table)

from conftest import CONTRACT, CONTRACT_120_DAYS

BASE = CONTRACT_120_DAYS
SETS = [arg for override in BASE for arg in ("--set", override)]
PATHS = 4
DRIFT = "market.btc_price.drift_annual"
GROWTH = "network.hashrate.growth_annual"
GRID = [f"{DRIFT}=-0.2,0.2", f"{GROWTH}=0,0.4"]
CLI_BASE = ["sweep", str(CONTRACT), "--grid", GRID[0], "--grid", GRID[1], *SETS, "--paths", str(PATHS)]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes started as run_sweep's own cluster starts them (forked on Linux, given
    WORKER_START_TIMEOUT_S, spawned if a fork hangs), shared by the module: a spawned worker
    imports the package again, about a second of CPU each start."""
    pytest.importorskip("dask")
    with open_client(None, 2, 2, retries=2) as client:
        yield client


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory):
    """The 2 × 2 sweep run through the CLI on the shared 2-worker cluster (--scheduler)."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("sweep") / "ref"
    runner = CliRunner()
    result = runner.invoke(main, CLI_BASE + ["--out", str(out), "--scheduler", cluster.scheduler.address,
                                             "--format", "csv"])
    assert result.exit_code == 0, (result.output, result.exception)
    return out, result.stdout


def _files(folder) -> dict:
    """Relative path -> bytes of every file under folder."""
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
            for d, _, names in os.walk(folder) for f in names}


# --------------------------------------------------------------------------- the grid (no cluster)
def test_grid_parsing_and_point_ids():
    axis = parse_grid("market.btc_price={model: gbm, initial_usd: 1, drift_annual: 0, vol_annual: 0},x,'a,b'")
    assert axis.texts == ("{model: gbm, initial_usd: 1, drift_annual: 0, vol_annual: 0}", "x", "'a,b'")
    assert axis.values[0] == {"model": "gbm", "initial_usd": 1, "drift_annual": 0, "vol_annual": 0}
    assert axis.values[2] == "a,b" and axis.cols[1] == len("market.btc_price={model: gbm, initial_usd: 1, "
                                                           "drift_annual: 0, vol_annual: 0},") + 1
    a, b = parse_grid(GRID[0]), parse_grid(GRID[1])
    points = grid_points([a, b])
    assert [p.overrides for p in points] == [(f"{DRIFT}=-0.2", f"{GROWTH}=0"), (f"{DRIFT}=-0.2", f"{GROWTH}=0.4"),
                                             (f"{DRIFT}=0.2", f"{GROWTH}=0"), (f"{DRIFT}=0.2", f"{GROWTH}=0.4")]
    # an id names the values, not the position: reversing an axis keeps every point's id
    reversed_ids = {p.overrides: p.id for p in grid_points([parse_grid(f"{DRIFT}=0.2,-0.2"), b])}
    assert all(reversed_ids[p.overrides] == p.id for p in points)
    assert len({p.id for p in points}) == 4
    assert point_id([DRIFT], [0.2]) != point_id([DRIFT], [0.25]) != point_id([GROWTH], [0.25])


@pytest.mark.parametrize("grid, position, words", [
    ("market.btc_price.drift_annual", "--grid market.btc_price.drift_annual:1:1:", "expected KEY=V1,V2"),
    ("horizon_days=400,,500", "--grid horizon_days=400,,500:1:18:", "empty value"),
    ("horizon_days=400,400", "--grid horizon_days=400,400:1:18:", "listed twice"),
    ("horizon_days=400,[", "--grid horizon_days=400,[:1:19:", "malformed YAML"),  # at the end, like --set
])
def test_malformed_grid_arguments(grid, position, words):
    with pytest.raises(InputErrors) as info:
        prepare(str(CONTRACT), [grid], overrides=BASE)
    assert str(info.value).startswith(position) and words in str(info.value)


def test_bad_grid_key_exits_2_before_anything_runs(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["sweep", str(CONTRACT), "--grid", "market.btc_price.drift=-0.2,0.2",
                                  "--grid", f"{GROWTH}=0,0.4", "--out", str(out)])
    assert result.exit_code == 2 and result.stdout == ""
    line, = result.stderr.strip().splitlines()
    assert line.startswith("--grid market.btc_price.drift=-0.2,0.2:1:1: market.btc_price.drift: unknown key 'drift'")
    assert "drift_annual" in line and line.endswith("[all 4 points]") and "Traceback" not in result.stderr
    assert not out.exists()


def test_invalid_point_is_named_with_its_override(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["sweep", str(CONTRACT), "--grid", "market.btc_price.vol_annual=0.5,-1",
                                  "--grid", "horizon_days=370,60", "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    lines = result.stderr.strip().splitlines()
    # the bad value: at its column in the --grid argument, naming the two points that have it
    assert ("--grid market.btc_price.vol_annual=0.5,-1:1:33: market.btc_price.vol_annual: must be >= 0, "
            "got -1 [points 3, 4 of 4; first: market.btc_price.vol_annual=-1, horizon_days=370]") in lines
    # a cross-field error a grid value causes: at the scenario line, naming the point (point 4 has a
    # schema error already, so its cross-field checks do not run)
    assert any(ln.startswith(f"{CONTRACT}:58:12: events[0].date: 2027-01-01 is outside the horizon")
               and ln.endswith("[point 2 of 4: market.btc_price.vol_annual=0.5, horizon_days=60]")
               for ln in lines), lines
    assert len(lines) == 4  # three horizon errors of point 2, one value error


def test_conflicting_keys_are_refused():
    with pytest.raises(InputErrors, match=r"seed is also given by --seed"):
        prepare(str(CONTRACT), ["seed=1,2"], overrides=BASE, seed=3)
    with pytest.raises(InputErrors, match=rf"also set by --set {re.escape(BASE[0])}"):
        prepare(str(CONTRACT), ["horizon_days=400,500"], overrides=BASE)
    with pytest.raises(InputErrors, match=r"swept twice"):
        prepare(str(CONTRACT), [f"{DRIFT}=0,0.1", f"{DRIFT}=0.2"], overrides=BASE)


def test_bad_scheduler_address_exits_2(runner, tmp_path):
    result = runner.invoke(main, CLI_BASE + ["--out", str(tmp_path / "o"), "--scheduler", "no-port-here"])
    assert result.exit_code == 2 and result.stderr.startswith("--scheduler no-port-here:1:1: missing port number")
    result = runner.invoke(main, CLI_BASE + ["--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:8786",
                                             "--workers", "2"])
    assert result.exit_code == 2 and "--workers sizes the local cluster" in result.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- running
def test_table_layout_and_common_random_numbers(reference):
    out, stdout = reference
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(table.columns[:2]) == [DRIFT, GROWTH]
    assert table[DRIFT].tolist() == [-0.2, -0.2, 0.2, 0.2] and table[GROWTH].tolist() == [0, 0.4, 0, 0.4]
    for metric in ("end_nav_per_share_usd", "prob_cash_shortfall", "all_in_cost_per_btc_usd", "btc_per_ehs_day"):
        assert {metric, f"{metric}_p5", f"{metric}_p50", f"{metric}_p95"} <= set(table.columns)
    # each point equals a plain run of the scenario with the grid values as --set overrides
    direct = simulate(load_scenario(str(CONTRACT), BASE + [f"{DRIFT}=0.2", f"{GROWTH}=0.4"]), paths=PATHS).summary
    for metric in ("end_nav_per_share_usd", "btc_mined", "all_in_cost_per_btc_usd"):
        stats = direct["metrics"][metric]
        assert table[metric].iloc[3] == stats["mean"] and table[f"{metric}_p95"].iloc[3] == stats["p95"]
    # common random numbers: every point ran the same paths of the same seed
    for name in os.listdir(out / "points"):
        record = json.loads((out / "points" / name).read_text())
        assert (record["seed"], record["paths"]) == (7, PATHS)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["paths"] == PATHS and manifest["seed"] == 7 and manifest["overrides"] == BASE
    assert [p["overrides"] for p in manifest["points"]] == [list(p.overrides) for p in
                                                            grid_points([parse_grid(g) for g in GRID])]
    assert len(manifest["scenario_sha256"]) == 64
    summary = json.loads((out / "summary.json").read_text())
    assert [p["id"] for p in summary["points"]] == [p["id"] for p in manifest["points"]]
    assert set(summary["points"][0]["metrics"]["btc_mined"]) == {"mean", "se", "p5", "p50", "p95", "defined_paths"}
    rows = stdout.strip().splitlines()
    # ratio metrics show their pooled value (Σ numerator ÷ Σ denominator over paths), and say so (issue 16)
    assert rows[0] == (f"{DRIFT},{GROWTH},end_nav_per_share_usd (pooled),prob_cash_shortfall,"
                       "all_in_cost_per_btc_usd (pooled),cash_cost_per_btc_usd (pooled),btc_per_ehs_day (pooled)") \
        and len(rows) == 5
    assert table["all_in_cost_per_btc_usd_pooled"].iloc[3] == direct["metrics"]["all_in_cost_per_btc_usd"]["pooled"]
    assert sorted(os.listdir(out)) == ["manifest.json", "points", "summary.json", "sweep.parquet"]


def test_one_worker_and_two_workers_give_identical_outputs(reference, runner, tmp_path):
    out, stdout = reference
    one = tmp_path / "one"
    result = runner.invoke(main, CLI_BASE + ["--out", str(one), "--workers", "1", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == stdout
    assert _files(one) == _files(out)


def test_order_of_points_does_not_change_results(reference, cluster, tmp_path):
    out, _ = reference
    plan = prepare(str(CONTRACT), [f"{DRIFT}=0.2,-0.2", f"{GROWTH}=0.4,0"], overrides=BASE, paths=PATHS)
    res = run_sweep(plan, tmp_path / "rev", client=cluster)
    assert _files(tmp_path / "rev" / "points") == _files(out / "points")
    ref = pd.read_parquet(out / "sweep.parquet")
    assert res.table.iloc[::-1].reset_index(drop=True).equals(ref)


def test_resume_runs_only_the_missing_point(reference, cluster, tmp_path):
    out, _ = reference
    work = tmp_path / "work"
    shutil.copytree(out, work)
    plan = prepare(str(CONTRACT), GRID, overrides=BASE, paths=PATHS)
    victim = plan.points[2]
    os.unlink(work / "points" / f"{victim.id}.json")
    os.unlink(work / "sweep.parquet")
    (tmp_path / ".work.tmp-abc").write_text('{"half": ')  # what a write killed mid-way leaves beside DIR
    res = run_sweep(plan, work, client=cluster)
    assert res.ran == [victim.id] and len(res.resumed) == 3 and res.failed == []
    assert _files(work) == _files(out) and sorted(os.listdir(tmp_path)) == ["work"]
    # nothing left to run: no cluster is needed, the gathered files are rewritten identically
    res = run_sweep(plan, work, scheduler="tcp://127.0.0.1:1")
    assert res.ran == [] and len(res.resumed) == 4 and _files(work) == _files(out)


def test_another_sweep_in_the_same_directory_is_refused_unless_overwrite(reference, cluster, runner, tmp_path):
    out, _ = reference
    work = tmp_path / "work"
    shutil.copytree(out, work)
    result = runner.invoke(main, CLI_BASE + ["--out", str(work), "--seed", "8"])
    assert result.exit_code == 2 and "holds a different sweep (seed differ)" in result.stderr
    plan = prepare(str(CONTRACT), [GRID[0]], overrides=BASE, paths=PATHS)
    with pytest.raises(InputError, match=r"\(grid differ\)"):
        run_sweep(plan, work, client=cluster)
    res = run_sweep(plan, work, client=cluster, overwrite=True)
    assert len(res.ran) == 2 and sorted(os.listdir(work / "points")) == sorted(f"{p.id}.json" for p in plan.points)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".work.old-")]  # the old sweep is gone
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sweep directory"):
        run_sweep(plan, tmp_path / "other", client=cluster)


def test_killed_worker_point_is_retried(reference, cluster, tmp_path, monkeypatch):
    out, _ = reference
    plan = prepare(str(CONTRACT), GRID, overrides=BASE, paths=PATHS)
    victim = plan.points[1]
    marker = tmp_path / "killed"
    monkeypatch.setenv(FAULT_ENV, f"kill-once:{victim.id}:{marker}")
    pids = set(cluster.run(os.getpid).values())
    res = run_sweep(plan, tmp_path / "k", client=cluster)
    assert marker.exists()  # the first attempt did end its worker process
    assert res.failed == [] and sorted(res.ran) == sorted(p.id for p in plan.points)
    assert _files(tmp_path / "k") == _files(out)  # the retried point's result is the same
    deadline = time.monotonic() + 30
    while len(cluster.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # the nanny restarts the worker: leave the cluster as we found it
    assert set(cluster.run(os.getpid).values()) != pids


def test_own_cluster_workers_start_with_the_package_imported():
    """run_sweep's own LocalCluster forks its workers from this process, so they start with
    hashfleet already imported (no second import on the critical path), and with the settings
    of LOCAL_CLUSTER_CONFIG; a worker the nanny restarts is started the same way."""
    import psutil
    from distributed import system

    rss = psutil.Process().memory_info().rss
    if not sys.platform.startswith("linux") or rss >= FORK_MAX_RSS_FRACTION * system.MEMORY_LIMIT:
        pytest.skip("workers are forked only on Linux, from a process small beside the memory limit")

    def state():  # defined here, so it is shipped by value: a spawned worker could not import it
        import sys

        import dask
        return "simulator.engine" in sys.modules, {key: dask.config.get(key) for key in LOCAL_CLUSTER_CONFIG}

    with open_client(None, 1, 1, retries=2) as client:
        assert list(client.run(state).values()) == [(True, LOCAL_CLUSTER_CONFIG)]
        (pid,) = client.run(os.getpid).values()
        os.kill(pid, signal.SIGKILL)
        deadline, states = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            try:
                if set(client.run(os.getpid).values()) - {pid}:
                    states = client.run(state)
                    break
            except Exception:  # the dead worker is still listed, or the new one not yet
                pass
            time.sleep(0.2)
        assert list(states.values()) == [(True, LOCAL_CLUSTER_CONFIG)]


_HANG_FORKED_CHILDREN = []  # non-empty: a process forked from this one sleeps (see the test below)


def _hang_if_asked():
    if _HANG_FORKED_CHILDREN:
        time.sleep(_HANG_FORKED_CHILDREN[0])


os.register_at_fork(after_in_child=_hang_if_asked)


def test_hung_forked_worker_gives_way_to_spawned_ones(monkeypatch, capfd):
    """A forked worker that never starts (a lock held by another thread at the fork stays held
    in the child) is given up after WORKER_START_TIMEOUT_S, and the cluster starts again with
    spawned workers (a spawn runs no fork handler of this process), which run points."""
    import simulator.workflows.sweep.cluster as cluster_module

    monkeypatch.setattr(cluster_module, "start_method", lambda workers: "fork")
    monkeypatch.setattr(cluster_module, "WORKER_START_TIMEOUT_S", 3)
    _HANG_FORKED_CHILDREN.append(30)
    try:
        with open_client(None, 1, 1, retries=0) as client:
            _HANG_FORKED_CHILDREN.clear()
            assert client.submit(sum, [1, 2]).result(timeout=60) == 3
            import dask
            assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
    finally:
        _HANG_FORKED_CHILDREN.clear()
    assert "starting spawned workers instead" in capfd.readouterr().err


def test_large_client_process_spawns_its_workers():
    """A forked worker's resident memory starts at the client's: a client using a good part of
    a worker's memory limit (a notebook holding data) gets spawned workers instead."""
    from distributed import system

    assert start_method(2, rss=system.MEMORY_LIMIT // 2) == "spawn"
    assert start_method(2, rss=64 * 2**20) == ("fork" if sys.platform.startswith("linux") else "spawn")


def test_killed_worker_of_the_own_cluster_is_retried(reference, tmp_path, monkeypatch):
    out, _ = reference
    plan = prepare(str(CONTRACT), GRID, overrides=BASE, paths=PATHS)
    victim = plan.points[1]
    marker = tmp_path / "killed"
    monkeypatch.setenv(FAULT_ENV, f"kill-once:{victim.id}:{marker}")
    res = run_sweep(plan, tmp_path / "k", workers=1)
    assert marker.exists()  # the only worker died; its nanny started another, which ran the point again
    assert res.failed == [] and sorted(res.ran) == sorted(p.id for p in plan.points)
    assert _files(tmp_path / "k") == _files(out)


def test_failing_point_is_retried_reported_and_resumed(reference, cluster, runner, tmp_path, monkeypatch):
    out, _ = reference
    plan = prepare(str(CONTRACT), GRID, overrides=BASE, paths=PATHS)
    victim = plan.points[3]
    attempts = tmp_path / "attempts"
    monkeypatch.setenv(FAULT_ENV, f"raise:{victim.id}:{attempts}")
    work = tmp_path / "f"
    args = CLI_BASE + ["--out", str(work), "--scheduler", cluster.scheduler.address, "--format", "json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert attempts.read_text().count("attempt") == 3  # the first try and --retries 2
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "failed"] and rows[3]["end_nav_per_share_usd (pooled)"] is None
    assert f"{DRIFT}=0.2, {GROWTH}=0.4: RuntimeError: fault injected" in result.stderr
    failed = json.loads((work / "failed.json").read_text())["failed"]
    assert [f["id"] for f in failed] == [victim.id] and "RuntimeError" in failed[0]["error"]
    assert not (work / "sweep.parquet").exists() and not (work / "summary.json").exists()
    monkeypatch.delenv(FAULT_ENV)
    result = runner.invoke(main, args)
    assert result.exit_code == 0 and "1 run, 3 resumed, 0 failed" in result.stderr
    assert _files(work) == _files(out)


#: The interrupted sweep: the reference grid times three volatilities (0.5 is the scenario's own).
INTERRUPTED_GRID = [f"{DRIFT}=-0.2,0.2", f"{GROWTH}=0,0.4", "market.btc_price.vol_annual=0.4,0.5,0.6"]


def _interrupt(work, cluster, sig, held, release, *, sigint_ignored=False) -> dict:
    """Run ``hashfleet sweep`` of INTERRUPTED_GRID into ``work`` as a process whose points
    ``held`` wait for the file ``release`` (a FAULT_ENV hook): once two more points than it
    started with are written, both workers hold a point, and nothing else can finish; send
    ``sig`` then, record what it left, and release the held points (their results are dropped).
    ``sigint_ignored`` starts it with SIGINT ignored, as a script's background job (``cmd &``)
    is started by a non-interactive shell; otherwise it gets this process's disposition."""
    cmd = [sys.executable, "-m", "simulator.cli", "sweep", str(CONTRACT), *SETS, "--paths", str(PATHS),
           "--out", str(work), "--scheduler", cluster.scheduler.address]
    if sigint_ignored:  # sh's `trap "" INT` sets SIG_IGN, which exec keeps
        cmd = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *cmd]
    for g in INTERRUPTED_GRID:
        cmd += ["--grid", g]

    def finished() -> list:
        folder = work / "points"
        return [n for n in os.listdir(folder) if n.endswith(".json")] if folder.is_dir() else []

    before = len(finished())
    env = {**os.environ, FAULT_ENV: ",".join(f"wait:{p.id}:{release}" for p in held)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and len(finished()) < before + 2:
            time.sleep(0.05)
        proc.send_signal(sig)
        try:
            _, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # the signal did not stop it (a SIGINT ignored): leave no sweep behind
            proc.kill()
            proc.communicate()
            pytest.fail(f"hashfleet sweep was still running 60 s after {signal.Signals(sig).name}")
    finally:
        release.write_text("")
    names = os.listdir(work / "points")
    return {"before": before, "returncode": proc.returncode, "stderr": stderr, "listing": sorted(os.listdir(work)),
            "finished": names, "metrics": {n: json.loads((work / "points" / n).read_text()).get("metrics")
                                           for n in names if n.endswith(".json")}}


@pytest.fixture(scope="module")
def interrupted(cluster, tmp_path_factory):
    """One sweep interrupted twice, then resumed in-process: a fresh run stopped with SIGINT
    (Ctrl-C) while its 3rd and 4th points run, its re-run killed with SIGKILL (no handler runs)
    while its 7th and 8th do, the rest finished by run_sweep. One chain instead of two sweeps of
    12 points; the held points make the moment of each signal certain (no race with a fast sweep).
    The SIGINT run starts with SIGINT ignored (a script's background job): it must still stop,
    and the check no longer depends on how the test process itself was started."""
    folder = tmp_path_factory.mktemp("interrupted")
    work, gates = folder / "w", tmp_path_factory.mktemp("gates")
    plan = prepare(str(CONTRACT), INTERRUPTED_GRID, overrides=BASE, paths=PATHS)
    stages = {"SIGINT": _interrupt(work, cluster, signal.SIGINT, plan.points[2:4], gates / "first",
                                   sigint_ignored=True)}
    stages["SIGKILL"] = _interrupt(work, cluster, signal.SIGKILL, plan.points[6:8], gates / "second")
    res = run_sweep(plan, work, client=cluster)
    return stages, plan, res, work, sorted(os.listdir(folder))


def test_faults_are_comma_separated_and_a_wait_is_released_by_its_file(monkeypatch, tmp_path):
    from simulator.workflows.sweep.cluster import fault_for, inject_fault

    release = tmp_path / "go"
    monkeypatch.setenv(FAULT_ENV, f"wait:aa:{release},raise:bb:{tmp_path / 'n'}")
    assert fault_for("aa") == ("wait", str(release)) and fault_for("bb") == ("raise", str(tmp_path / "n"))
    assert fault_for("cc") is None
    timer = threading.Timer(0.3, release.write_text, args=("",))
    started = time.monotonic()
    timer.start()
    inject_fault("wait", str(release))  # returns once the file appears
    assert time.monotonic() - started >= 0.25


def test_ctrl_c_is_taken_even_when_started_ignored(runner):
    """A command started with SIGINT ignored (a script's `hashfleet sweep ... &`) takes it back;
    a handler someone installed (a notebook's) is left alone."""
    def own(signum, frame):
        return None

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert runner.invoke(main, ["schema"]).exit_code == 0
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, own)
        assert runner.invoke(main, ["schema"]).exit_code == 0
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_while_the_local_cluster_starts_closes_it(monkeypatch):
    """SIGINT inside LocalCluster(...) is held until the cluster and its client exist, then raised
    where open_client closes both (before, the half-started cluster was never closed and dask's
    exit hook printed an AssertionError traceback under the "interrupted" line)."""
    import dask.distributed

    closed = []

    class Cluster:
        def __init__(self, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C half-way through the start
            time.sleep(0.05)
            self.started = True

        def close(self):
            closed.append("cluster")

    class Client:
        def __init__(self, cluster, **kwargs):
            assert cluster.started

        def close(self):
            closed.append("client")

    monkeypatch.setattr(dask.distributed, "LocalCluster", Cluster)
    monkeypatch.setattr(dask.distributed, "Client", Client)
    with pytest.raises(KeyboardInterrupt):
        with open_client(None, 1, 1, 0):
            pytest.fail("the held Ctrl-C is raised before the sweep submits anything")
    assert closed == ["client", "cluster"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_the_points_load_exits_130(runner, monkeypatch, tmp_path):
    import simulator.workflows.sweep as sweep_pkg

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_pkg, "prepare", interrupted)
    result = runner.invoke(main, CLI_BASE + ["--out", str(tmp_path / "s")])
    assert result.exit_code == 130 and "hashfleet: interrupted; no point had finished" in result.stderr


def _assert_whole_files(stage: dict, points: int) -> None:
    """Only whole files in DIR: the manifest and finished points, nothing hidden or partial."""
    assert stage["listing"] == ["manifest.json", "points"]
    finished = stage["finished"]
    assert stage["before"] + 2 <= len(finished) < points, (stage["before"], finished)
    assert all(n.endswith(".json") and not n.startswith(".") for n in finished)
    assert all(stage["metrics"][n] for n in finished)


def test_interrupted_sweep_leaves_whole_files_sigint(interrupted):
    stages, plan, _, _, _ = interrupted
    stage = stages["SIGINT"]
    assert stage["before"] == 0 and stage["returncode"] == 130
    assert "re-run the same command to resume" in stage["stderr"]
    _assert_whole_files(stage, len(plan.points))


def test_killed_sweep_leaves_whole_files_and_resumes(interrupted, reference):
    out, _ = reference
    stages, plan, res, work, beside = interrupted
    stage = stages["SIGKILL"]
    assert stage["returncode"] == -signal.SIGKILL and stage["before"] == len(stages["SIGINT"]["finished"])
    _assert_whole_files(stage, len(plan.points))
    finished = stage["finished"]
    assert len(res.resumed) == len(finished) and len(res.ran) == 12 - len(finished) and not res.failed
    assert beside == ["w"]  # temporaries the SIGKILL left beside DIR are gone
    table = pd.read_parquet(work / "sweep.parquet")
    assert len(table) == 12 and table["market.btc_price.vol_annual"].tolist() == [0.4, 0.5, 0.6] * 4
    assert sweep_table(plan, res.records).equals(table)
    # volatility 0.5 is the scenario's own: those points are the reference sweep's
    ref = pd.read_parquet(out / "sweep.parquet")
    mid = table[table["market.btc_price.vol_annual"] == 0.5].reset_index(drop=True)
    assert np.array_equal(mid["end_nav_per_share_usd"].to_numpy(), ref["end_nav_per_share_usd"].to_numpy())
