"""Running sweep points on dask.distributed: the local cluster or a ``--scheduler``, retries, faults."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import uuid
from typing import Optional

from simulator.config import Scenario
from simulator.engine import simulate
from simulator.errors import InputError
from simulator.workflows.sweep.grid import printable
from simulator.workflows.sweep.interrupt import deferred_sigint
from simulator.workflows.sweep.store import dumps, point_record, write_bytes

#: Fault injection for the test suite: ``kill-once:POINT_ID:MARKER_FILE`` makes the first
#: attempt of that point end its worker process (``os._exit``) unless MARKER_FILE exists
#: (the attempt creates it); ``raise:POINT_ID[:COUNT_FILE]`` makes every attempt of that
#: point raise (appending a line to COUNT_FILE); ``wait:POINT_ID:RELEASE_FILE`` makes every
#: attempt of that point wait until RELEASE_FILE exists (at most WAIT_FAULT_TIMEOUT_S), so a
#: test can stop a sweep while known points are still running. Faults are comma-separated. The
#: client reads it and hands the fault to that point's task, so workers started earlier need
#: not see the variable.
FAULT_ENV = "HASHFLEET_SWEEP_FAULT"
#: Seconds a ``wait`` fault waits for its release file before the point fails.
WAIT_FAULT_TIMEOUT_S = 120
#: Default attempts after the first for a point that raises or whose worker dies.
DEFAULT_RETRIES = 2
#: Seconds to wait for a ``--scheduler`` to answer.
CONNECT_TIMEOUT_S = 10
#: Dask settings of the LocalCluster that :func:`run_sweep` starts itself (never of a
#: ``--scheduler`` cluster or a client passed in), held for the cluster's whole life so a
#: worker the nanny restarts gets them too. They cut what a worker does besides simulating,
#: none of which anyone sees (the local cluster has no dashboard):
#:
#: * the statistical profiler samples every thread's stack every 10 ms, taking the GIL from
#:   the simulation each time (about 3 % of a point);
#: * the event-loop health check ("tick", every 20 ms) wakes each worker's, nanny's and the
#:   scheduler's loop 50 times a second; each wake takes the GIL from the simulation (about
#:   7 % of a point) and, with all cores busy, a core from the workers. Once a second still
#:   reports a blocked loop;
#: * the system monitor (CPU, memory, network for the dashboard) samples every 2 s, not 0.5 s.
#:
#: The memory monitor that pauses or restarts a worker near its memory limit keeps dask's
#: default interval.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
#: Seconds a local worker process may take to start and report to its nanny before the start
#: is given up (dask's ``death_timeout``). A forked worker starts in ~0.1 s and a spawned one
#: in a few seconds, but a fork copies only the forking thread: a lock another thread of this
#: process held at that instant (the dask event loop's, writing a log line) stays locked in
#: the child, which then waits on it forever. :func:`open_client` then starts the cluster again
#: with spawned workers, which share nothing with this process.
WORKER_START_TIMEOUT_S = 60
#: Fork the local workers from this process only while its resident memory is below this
#: fraction of a worker's memory limit (see :func:`start_method`).
FORK_MAX_RSS_FRACTION = 0.25


def fault_for(point_id_: str) -> Optional[tuple]:
    """The test-suite fault to inject into this point's task (see FAULT_ENV), or None."""
    for spec in os.environ.get(FAULT_ENV, "").split(","):
        kind, _, rest = spec.partition(":")
        target, _, marker = rest.partition(":")
        if target == point_id_ and kind in ("kill-once", "raise", "wait"):
            return kind, marker
    return None


def inject_fault(kind: str, marker: str) -> None:
    """Apply a FAULT_ENV fault in the point's task (see FAULT_ENV)."""
    if kind == "wait":
        deadline = time.monotonic() + WAIT_FAULT_TIMEOUT_S
        while not os.path.exists(marker):
            if time.monotonic() > deadline:
                raise RuntimeError(f"fault injected by {FAULT_ENV}: {marker} never appeared")
            time.sleep(0.05)
        return
    if kind == "raise":
        if marker:
            with open(marker, "a") as fh:
                fh.write("attempt\n")
        raise RuntimeError(f"fault injected by {FAULT_ENV}")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        pass
    else:
        os._exit(70)  # the worker process dies mid-task, as on an out-of-memory kill


def run_point(scenario: Scenario, paths: Optional[int], seed: Optional[int], fault: Optional[tuple] = None) -> dict:
    """Simulate one point (in a worker): the summary statistics of every metric.

    Returns
    -------
    dict
        ``{"paths", "seed", "version", "metrics": {name: {mean, se, p5, p50, p95, defined_paths}}}``.
    """
    if fault is not None:
        inject_fault(*fault)
    summary = simulate(scenario, paths=paths, seed=seed, keep_paths=0, workers=1).summary  # parallel across points
    return {"paths": summary["paths"], "seed": summary["seed"], "version": summary["version"],
            "metrics": summary["metrics"]}



def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def start_method(workers: int, rss: Optional[int] = None) -> str:
    """How the local cluster's nannies start their worker processes: ``"fork"`` or ``"spawn"``.

    ``fork`` (Linux): a worker is a copy of this process, which has already imported
    hashfleet, numpy, pandas, scipy and dask; it is ready in about 0.1 s and, ending with
    ``os._exit``, closes in a few milliseconds. ``spawn`` (dask's default) starts a fresh
    interpreter that imports all of them again (about 1 s per worker on a 2-core machine, before
    any point can start) and finalises it at the end (about 0.25 s). A forked worker also
    shares the imported modules' memory with this process (about 30 MB less of its own).

    A forked worker's resident memory starts at this process's (the pages are shared, but
    counted), and dask spills at 60 %, pauses at 80 % and restarts at 95 % of its memory limit
    (``auto``: the machine's memory over ``workers``). So a large client process (a notebook
    holding gigabytes) gets ``spawn``: fork only while this process uses less than
    :data:`FORK_MAX_RSS_FRACTION` of a worker's limit. Other systems than Linux get ``spawn``
    (fork is unsafe on macOS; Windows has none).

    Parameters
    ----------
    workers : int
        Worker processes of the cluster (one thread each).
    rss : int, optional
        This process's resident memory in bytes; default: measured.
    """
    import multiprocessing

    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    from distributed import system

    if rss is None:
        import psutil

        rss = psutil.Process().memory_info().rss
    return "fork" if rss < FORK_MAX_RSS_FRACTION * system.MEMORY_LIMIT / max(1, workers) else "spawn"


@contextlib.contextmanager
def open_client(scheduler: Optional[str], workers: Optional[int], pending: int, retries: int):
    """A dask Client on ``scheduler`` or on a new LocalCluster of processes, closed on exit.

    The LocalCluster: ``workers`` processes (default the usable cores, never more than
    ``pending``) of one thread each, each under a nanny that restarts it if it dies; no
    dashboard (nobody is told its address); the scheduler's ``allowed-failures`` set to
    ``retries``; :data:`LOCAL_CLUSTER_CONFIG` and the start method of :func:`start_method`,
    both kept in ``dask.config`` until the cluster is closed, as the nanny reads the start
    method again when it restarts a worker. A Ctrl-C while the cluster and its client start is
    held until both exist (:func:`~simulator.workflows.sweep.interrupt.deferred_sigint`), then
    raised where this closes them.
    """
    import dask
    from dask.distributed import Client

    if scheduler:
        where = f"--scheduler {printable(scheduler)}"
        try:
            from distributed.comm.addressing import parse_address, parse_host_port

            protocol, location = parse_address(scheduler)
            host, _ = parse_host_port(location)
            if protocol not in ("tcp", "tls", "ws", "wss") or not host:
                raise ValueError(f"expected tcp://HOST:PORT, got {scheduler!r}")
        except ValueError as exc:
            raise InputError(where, 1, 1, f"{exc}; give the scheduler's address, e.g. tcp://10.0.0.5:8786") from None
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(where, 1, 1,
                             f"cannot reach the dask scheduler ({type(exc).__name__}: {exc}); start one with "
                             "`dask scheduler` and `dask worker ADDRESS`, or leave --scheduler out for a local "
                             "cluster") from None
        with client:
            yield client
        return
    n = min(workers or default_workers(), max(1, pending))
    method = start_method(n)
    settings = {**LOCAL_CLUSTER_CONFIG, "distributed.scheduler.allowed-failures": retries}
    with dask.config.set(settings):
        cluster = client = None
        try:
            with deferred_sigint():  # a Ctrl-C during the start lands once the cluster can be closed
                try:
                    cluster = _local_cluster(n, method)
                except Exception as exc:  # dask raises RuntimeError, TimeoutError or an AssertionError
                    if method != "fork":
                        raise
                    print(f"hashfleet: the forked dask workers did not start ({type(exc).__name__}: {exc}; a worker "
                          f"has {WORKER_START_TIMEOUT_S} s); starting spawned workers instead", file=sys.stderr)
                    method = "spawn"
                    cluster = _local_cluster(n, method)
                client = Client(cluster, set_as_default=False)
            with dask.config.set({"distributed.worker.multiprocessing-method": method}):
                yield client  # the method stays set: a nanny reads it again to restart its worker
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _local_cluster(n: int, method: str):
    """A LocalCluster of ``n`` one-thread worker processes started by ``method`` (``fork`` or
    ``spawn``), each given :data:`WORKER_START_TIMEOUT_S` to start (dask's ``death_timeout``).
    If the start fails, the processes it started are killed (dask's nanny waits for a worker
    stuck in its start before it stops it, i.e. for ever)."""
    import dask
    from dask.distributed import LocalCluster

    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    try:
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                host="127.0.0.1", silence_logs=logging.CRITICAL, death_timeout=WORKER_START_TIMEOUT_S)
    except BaseException:  # a worker stuck in its start is not stopped by its nanny: end what this start began
        for child in psutil.Process().children(recursive=True):
            if child.pid not in before:
                with contextlib.suppress(psutil.Error):
                    child.kill()
        raise



def run_pending(client, plan, out_dir, pending, records, *, retries, done, on_point):
    """Submit the pending points in grid order; write each point's file as it completes."""
    from dask.distributed import as_completed

    token = uuid.uuid4().hex[:8]
    ran, failed = [], []
    futures = [client.submit(run_point, plan.scenarios[point.index], plan.paths, plan.seed, fault_for(point.id),
                             key=f"hashfleet-sweep-{token}-{point.id}", retries=retries, pure=False)
               for point in pending]
    point_of = {future.key: point for future, point in zip(futures, pending)}
    try:
        for future in as_completed(futures, loop=client.loop):
            point = point_of[future.key]
            if future.status == "finished":
                record = point_record(plan, point, future.result())
                write_bytes(out_dir, os.path.join("points", f"{point.id}.json"), dumps(record))
                records[point.index] = record
                ran.append(point.id)
                status = "ok"
            else:
                exc = future.exception()
                failed.append({"id": point.id, "overrides": list(point.overrides),
                               "error": f"{type(exc).__name__}: {exc}"})
                status = "failed"
            future.release()
            done += 1
            if on_point:
                on_point(done, len(plan.points), point, status)
    finally:
        client.cancel([f for f in futures if not f.done()])  # an interrupted sweep leaves no work behind
    order = {p.id: p.index for p in plan.points}
    failed.sort(key=lambda f: order[f["id"]])
    return ran, failed

