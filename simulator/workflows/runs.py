"""The independent simulations of a workflow (compare's companies, ``upgrade --rank``'s models), side by side.

A run of a few hundred paths spends most of its time in its fixed cost per simulated day
(SimPy, Python and numpy dispatch: the contract example takes about 0.6 ms of CPU a day at 100
paths and 0.95 at 400, measured in session 29), which each of a run's worker processes
(:mod:`simulator.workers`) pays again, so splitting one such run's paths over 2 processes saves
little. Whole runs side by side pay it once per run: with more than one run and processes that may
be forked, the runs are tasks shared by ``workers`` forked processes (default: one per usable CPU,
from :data:`MIN_PATH_DAYS` path-days in all), each process taking the next task as soon as it is
free, the costliest first; so that no process idles at the end while another finishes a whole run,
the runs that start last may be split into chunks of their paths, a task each
(:mod:`simulator.workflows.schedule` decides, :mod:`simulator.workflows.chunks` simulates them).
The results come back in the order of the scenarios, the same bit for bit as the runs one after
another in one process: a run's results do not depend on how its paths are split nor on how many
processes simulate it. With ``workers=1``, a lone run, or where processes cannot be forked, the
runs go one after another (a lone run with ``workers`` processes of its own).
"""
from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
from typing import Iterator, Sequence

import numpy as np

from simulator import shared_network
from simulator.config.schema import Scenario
from simulator.engine import DEFAULT_KEEP_PATHS, check_input_models, check_memory, simulate
from simulator.errors import InputError
from simulator.progress import stages
from simulator.results import Results
from simulator.workers import POLL_S, _die_with_parent, can_fork, frozen_heap, usable_cpus
from simulator.workflows.chunks import MAX_QUANTILE_BYTES, ChunkedRun, quantile_bytes, shared_bytes
from simulator.workflows.schedule import plan

#: Fewest path-days of all the runs together worth processes side by side (starting them costs ~0.1 s).
MIN_PATH_DAYS = 2_000
#: Most bytes of the runs' tables in shared memory, held until the processes end (the runs past it are
#: simulated whole and sent back pickled).
MAX_SHARED_BYTES = 1 << 30

#: The scenarios, function, options, progress counters (one a task), tasks and runs simulated in chunks of the
#: runs in progress, read by the forked processes (nothing pickled on the way in).
_PENDING: tuple = ((), simulate, {}, None, (), {})
#: A forked process's recorded networks, shared by the runs it simulates (empty in the parent, which runs none).
_RECORDS = shared_network.Records()


def _run_task(i: int):
    """Task ``i`` of :data:`_PENDING` in a forked process (a whole run, or a chunk of a split one), its
    path-days done written to its counter; a bad-input error comes back as its parts (an
    :class:`InputError` does not survive pickling with its position)."""
    scenarios, run, options, done, tasks, in_chunks = _PENDING
    task = tasks[i]

    def progress(path_days: int, _total: int) -> None:
        done[i] = path_days
    try:
        with shared_network.sharing(_RECORDS):
            if task.run in in_chunks:
                return "ok", in_chunks[task.run].simulate(task.lo, task.hi, progress)
            return "ok", run(scenarios[task.run], workers=1, progress=progress, **options)
    except InputError as exc:
        return "input", (exc.file, exc.line, exc.col, exc.message)


def simulate_each(scenarios: Sequence[Scenario], *, workers: int | None = None, progress=False, run=simulate,
                  **options) -> Iterator[Results]:
    """``run`` (:func:`simulator.engine.simulate`) of every scenario (``options``: its ``paths``, ``seed``,
    ``keep_paths``, ``max_memory_bytes``, ``daily_quantiles``), yielded in order; see the module docstring
    for the processes used. ``progress`` is a ``(done, total)`` callback over all the runs, in path-days.
    The runs simulated in one process share their network where it is the same
    (:mod:`simulator.shared_network`). A ``run`` other than the engine's is called for whole runs only."""
    scenarios = list(scenarios)
    paths = [s.paths if options.get("paths") is None else int(options["paths"]) for s in scenarios]
    sizes = [n * s.horizon_days for n, s in zip(paths, scenarios)]
    processes = _processes(workers, len(scenarios), sum(sizes))
    if processes < 2:
        stage, records = stages(progress, len(scenarios)), shared_network.Records()
        for k, scenario in enumerate(scenarios):
            # (around the run only, never while the caller holds the results; a lone run has no one to share with)
            with shared_network.sharing(records) if len(scenarios) > 1 else contextlib.nullcontext():
                result = run(scenario, workers=workers, progress=stage(k), **options)
            yield result
        return
    for scenario, n in zip(scenarios, paths):  # bad input fails here, before any process starts
        check_memory(scenario, n, options.get("keep_paths", DEFAULT_KEEP_PATHS), options.get("max_memory_bytes"))
        check_input_models(scenario, np.arange(n))
    yield from _side_by_side(scenarios, paths, processes, run, {k: v for k, v in options.items() if k != "progress"},
                             progress)


def _processes(workers: int | None, runs: int, path_days: int) -> int:
    """The processes to fork for the runs: ``workers`` if given, else one per usable CPU (none below
    :data:`MIN_PATH_DAYS` path-days in all); 1 (none forked) for a lone run or where none may be forked."""
    if runs < 2 or not can_fork():
        return 1
    if workers is not None:
        return int(workers)
    return usable_cpus() if path_days >= MIN_PATH_DAYS else 1


def _side_by_side(scenarios: list[Scenario], paths: list[int], processes: int, run, options: dict,
                  progress) -> Iterator[Results]:
    """The runs as the tasks of :func:`~simulator.workflows.schedule.plan` on ``processes`` forked processes,
    their results yielded in the scenarios' order (a split run's once its last chunk is in)."""
    global _PENDING
    quantiles, keep_paths = options.get("daily_quantiles", True), options.get("keep_paths", DEFAULT_KEEP_PATHS)
    as_chunks = _chunked_runs(scenarios, paths, run, keep_paths, quantiles)
    tasks = plan([run_weight(s) for s in scenarios], paths, processes, as_chunks)
    chunks = collections.Counter(t.run for t in tasks)
    in_chunks, parts, ready, shown = {}, collections.defaultdict(dict), {}, 0
    context = multiprocessing.get_context("fork")
    done = context.Array("q", len(tasks), lock=False)  # path-days done per task, shared with the forks
    total = sum(n * s.horizon_days for n, s in zip(paths, scenarios))
    try:
        for k in (k for k, yes in enumerate(as_chunks) if yes):  # their shared memory, before the fork
            seed = scenarios[k].seed if options.get("seed") is None else int(options["seed"])
            in_chunks[k] = ChunkedRun(scenarios[k], paths[k], seed, keep_paths, quantiles)
        _PENDING = (scenarios, run, options, done, tasks, in_chunks)
        # (none outlives a killed run, nor one killed while it starts)
        with frozen_heap(), context.Pool(min(processes, len(tasks)), initializer=_die_with_parent,
                                         initargs=(os.getpid(),)) as pool:
            results = pool.imap(_run_task, range(len(tasks)))
            for i, task in enumerate(tasks):
                kind, value = _next(results, done, total, progress)
                if kind == "input":
                    raise InputError(*value)
                done[i] = (task.hi - task.lo) * scenarios[task.run].horizon_days
                k = task.run
                parts[k][task.lo] = value
                if len(parts[k]) == chunks[k]:
                    got = parts.pop(k)
                    ready[k] = in_chunks.pop(k).results([got[lo] for lo in sorted(got)]) if k in in_chunks else got[0]
                while shown in ready:  # in the scenarios' order
                    yield ready.pop(shown)
                    shown += 1
            if callable(progress):
                progress(total, total)
    finally:
        _PENDING = ((), simulate, {}, None, (), {})
        for left in in_chunks.values():
            left.close()


def _chunked_runs(scenarios: list[Scenario], paths: list[int], run, keep_paths: int,
                  daily_quantiles: bool | tuple[str, ...]) -> list[bool]:
    """Which runs are simulated as chunks (:class:`~simulator.workflows.chunks.ChunkedRun`, whole or split):
    all, when ``run`` is the engine's, in the scenarios' order while their shared memory stays within
    :data:`MAX_SHARED_BYTES`; a run whose quantiles' table is over
    :data:`~simulator.workflows.chunks.MAX_QUANTILE_BYTES` is simulated whole by ``run`` and sent back."""
    out, held = [], 0
    for scenario, n in zip(scenarios, paths):
        size = shared_bytes(scenario, n, keep_paths, daily_quantiles)
        ok = run is simulate and quantile_bytes(scenario, n, daily_quantiles) <= MAX_QUANTILE_BYTES \
            and held + size <= MAX_SHARED_BYTES
        out.append(ok)
        held += size if ok else 0
    return out


def run_weight(scenario: Scenario) -> float:
    """A run's relative cost per path: its days times ``1 + hourly / 2 + projects / 8 + debts / 32``. A site
    on hourly prices (index or PPA contracts, an hourly dispatch each) costs half of what the rest of a day
    does, an HPC project an eighth, a debt instrument a thirty-second (least squares over the warm CPU of
    the ten presets and c3b7aca's six at 500 paths × 730 days, one process, session 29: 0.26–0.82 s a run,
    fitted within ~0.1 s; the number of fixed-price sites did not matter)."""
    hourly = sum(site.power.contract != "fixed" for site in scenario.sites)
    debts = len(scenario.company.debt) if scenario.company is not None else 0
    return scenario.horizon_days * (1 + hourly / 2 + len(scenario.hpc) / 8 + debts / 32)


def _next(results, done, total: int, progress):
    """The next task's outcome; meanwhile ``progress`` is told the path-days done by all the tasks."""
    shown = -1
    while True:
        try:
            return results.next(timeout=POLL_S)
        except multiprocessing.TimeoutError:
            now = sum(done)
            if callable(progress) and now > shown:
                progress(now, total)
                shown = now
