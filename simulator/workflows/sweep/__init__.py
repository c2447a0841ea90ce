"""Parameter sweeps on dask.distributed: a grid of overrides, every point on the same paths.

A package by concern: :mod:`~simulator.workflows.sweep.grid` (axes, points, the plan),
:mod:`~simulator.workflows.sweep.store` (the directory and its files),
:mod:`~simulator.workflows.sweep.cluster` (running points on dask) and
:mod:`~simulator.workflows.sweep.gather` (the table and summary).

``hashfleet sweep SCENARIO --grid key=v1,v2 [--grid ...] --out DIR`` runs the Cartesian
product of the ``--grid`` axes. Each point is the scenario loaded with the sweep's ``--set``
overrides followed by the point's grid values as further overrides (so any dotted key the
schema allows can be swept, list items included: ``fleet[0].units=4000,8000``), simulated
with the same seed and path count as every other point: common random numbers, so the
difference between two points is the effect of the swept values, not of the draws.

Layout of ``DIR``::

    manifest.json      what the sweep is: scenario file and sha256, --set overrides, grid,
                       paths, seed, version, and the points (id and overrides) in grid order
    points/<id>.json   one finished point: its overrides, swept values and summary metrics
    failed.json        points that still failed after their retries (only when some did)
    sweep.parquet      one row per point in grid order: a column per swept key (its dotted
                       key), then per metric ``{metric}`` (the mean), ``{metric}_p5``,
                       ``{metric}_p50``, ``{metric}_p95``
    summary.json       the manifest's provenance plus every point's full statistics

Every file is written (by :mod:`simulator.atomic`) to a hidden temporary file beside ``DIR``
and renamed into place, so a sweep killed at any moment leaves only whole files in ``DIR``;
re-running the same command resumes,
running only the points without a file. ``sweep.parquet`` and ``summary.json`` exist only
for a complete sweep. A point id is a hash of the point's grid overrides, so a point's file
does not depend on where it sits in the grid, and the gathered outputs are sorted by grid
order, not completion order: the same seed gives byte-identical files whatever the number of
workers.

Examples
--------
A plan (validation only; :func:`run_sweep` runs it):

>>> plan = prepare("scenarios/halving_crossing.yaml", ["market.btc_price.drift_annual=0,0.2"],
...                overrides=["horizon_days=30"], paths=2)
>>> [p.overrides for p in plan.points]
[('market.btc_price.drift_annual=0',), ('market.btc_price.drift_annual=0.2',)]
"""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import Callable, Iterable, Optional

from simulator.errors import InputError
from simulator.workflows.sweep.cluster import (CONNECT_TIMEOUT_S, DEFAULT_RETRIES, FAULT_ENV, FORK_MAX_RSS_FRACTION,
                                               LOCAL_CLUSTER_CONFIG, open_client, run_pending, run_point,
                                               start_method)
from simulator.workflows.sweep.gather import HEADLINE_METRICS, STATS, TABLE_STATS, SweepResult, gather, sweep_table
from simulator.workflows.sweep.grid import (IDENTITY_FIELDS, MANIFEST_FORMAT, GridAxis, SweepPlan, SweepPoint,
                                            grid_points, parse_grid, point_id, prepare)
from simulator.workflows.sweep.store import check_dir, finished_record, prepare_dir

__all__ = ["CONNECT_TIMEOUT_S", "DEFAULT_RETRIES", "FAULT_ENV", "FORK_MAX_RSS_FRACTION", "HEADLINE_METRICS",
           "IDENTITY_FIELDS", "LOCAL_CLUSTER_CONFIG", "MANIFEST_FORMAT", "STATS", "TABLE_STATS", "GridAxis",
           "SweepPlan", "SweepPoint", "SweepResult", "grid_points", "open_client", "parse_grid", "point_id",
           "prepare", "run_point", "run_sweep", "start_method", "sweep", "sweep_table"]


def run_sweep(plan: SweepPlan, out_dir: str, *, workers: Optional[int] = None, scheduler: Optional[str] = None,
              client=None, overwrite: bool = False, retries: int = DEFAULT_RETRIES,
              on_point: Optional[Callable[[int, int, SweepPoint, str], None]] = None) -> SweepResult:
    """Run the points of ``plan`` not yet finished in ``out_dir`` on dask, then gather them.

    Parameters
    ----------
    plan : SweepPlan
        From :func:`prepare`.
    out_dir : str
        The sweep directory (created; resumed when it holds the same sweep).
    workers : int, optional
        Worker processes of the LocalCluster (one thread each); default: the usable cores,
        never more than the points to run.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:port``) instead of a LocalCluster.
        Its workers need hashfleet installed and the scenario's data files (CSV inputs,
        ``hardware_dirs``) at the same paths.
    client : dask.distributed.Client, optional
        Use this client (a notebook's, or the tests' shared cluster).
    overwrite : bool
        Replace an existing ``out_dir`` (moved aside, deleted once this sweep has run).
    retries : int
        Further attempts of a point that raises or whose worker dies.
    on_point : callable, optional
        ``on_point(done, total, point, status)`` after each point (status ``"ok"``,
        ``"resumed"`` or ``"failed"``).

    Raises
    ------
    InputError
        ``out_dir`` holds another sweep or something else (without ``overwrite``),
        ``--scheduler`` cannot be reached, ``workers`` given with a scheduler.
    """
    if scheduler and workers:
        raise InputError("--workers", 1, 1, "--workers sizes the local cluster; a --scheduler cluster has its own "
                                            "workers (give one of the two)")
    out_dir = os.path.abspath(out_dir)
    resuming = check_dir(plan, out_dir, overwrite)
    total = len(plan.points)
    records: list = [None] * total
    for point in plan.points:
        records[point.index] = finished_record(plan, out_dir, point) if resuming else None
    pending = [p for p in plan.points if records[p.index] is None]
    with contextlib.ExitStack() as own:
        if pending and client is None:
            client = own.enter_context(open_client(scheduler, workers, len(pending), retries))
        aside = prepare_dir(plan, out_dir, overwrite)
        resumed = [p.id for p in plan.points if records[p.index] is not None]
        if on_point:
            for done, point in enumerate(p for p in plan.points if records[p.index] is not None):
                on_point(done + 1, total, point, "resumed")
        ran, failed = [], []
        if pending:
            ran, failed = run_pending(client, plan, out_dir, pending, records, retries=retries, done=len(resumed),
                                       on_point=on_point)
    table = gather(plan, out_dir, records, failed)
    if aside:
        shutil.rmtree(aside, ignore_errors=True)
    return SweepResult(out_dir=out_dir, plan=plan, records=records, ran=ran, resumed=resumed, failed=failed,
                       table=table)



def sweep(scenario_file: str, grid: Iterable[str], out_dir: str, *, overrides: Iterable[str] = (),
          paths: Optional[int] = None, seed: Optional[int] = None, **kwargs) -> SweepResult:
    """:func:`prepare` then :func:`run_sweep`: the notebook entry point.

    Examples
    --------
    >>> res = sweep("scenarios/contract_example.yaml",  # doctest: +SKIP
    ...             ["market.btc_price.drift_annual=-0.2,0,0.2,0.4", "network.hashrate.growth_annual=0,0.2,0.4,0.6"],
    ...             "out/regime_sweep", paths=50)
    >>> res.table.pivot(index="market.btc_price.drift_annual", columns="network.hashrate.growth_annual",
    ...                 values="end_nav_per_share_usd")  # doctest: +SKIP
    """
    plan = prepare(scenario_file, grid, overrides=overrides, paths=paths, seed=seed)
    return run_sweep(plan, out_dir, **kwargs)
