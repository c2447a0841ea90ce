"""The independent simulations of a workflow (compare's companies, ``upgrade --rank``'s models), side by side.

A run of a few hundred paths spends most of its time in its fixed cost per simulated day
(SimPy, Python and numpy dispatch: the contract example takes about 0.6 ms of CPU a day at 100
paths and 0.95 at 400, measured in session 29), which each of a run's worker processes
(:mod:`simulator.workers`) pays again, so splitting one such run's paths over 2 processes saves
little. Whole runs side by side pay it once per run: with more than one run and processes that may
be forked, the runs are tasks shared by ``workers`` forked processes (default: one per usable CPU,
from :data:`MIN_PATH_DAYS` path-days in all), each process taking the next as soon as it is free,
the costliest first; so that no process idles at the end while another finishes a whole run, the
last run is split into chunks of its paths when a process is left with nothing to take, sized from
the other processes' progress so that they end together (:mod:`simulator.workflows.schedule`;
:mod:`simulator.workflows.chunks` simulates a run in chunks). The results come back in the order of
the scenarios, the same bit for bit as the runs one after another in one process: a run's results do
not depend on how its paths are split nor on how many processes simulate it. With ``workers=1``, a
lone run, or where processes cannot be forked, the runs go one after another (a lone run with
``workers`` processes of its own).
"""
from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import queue
import time
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
from simulator.workflows.schedule import FIXED_PATHS, Task, longest_first, split_sizes

#: Fewest path-days of all the runs together worth processes side by side (starting them costs ~0.1 s).
MIN_PATH_DAYS = 2_000
#: Most bytes of the runs' tables in shared memory, held until the processes end (the runs past it are
#: simulated whole and sent back pickled).
MAX_SHARED_BYTES = 1 << 30

#: The scenarios, function, options, the tasks' counters (start times, path-days done) and the runs simulated
#: in chunks of the runs in progress, read by the forked processes (nothing pickled on the way in but a task).
_PENDING: tuple = ((), simulate, {}, ((), ()), {})
#: A forked process's recorded networks, shared by the runs it simulates (empty in the parent, which runs none).
_RECORDS = shared_network.Records()


def _run_task(slot: int, task: Task):
    """``task`` in a forked process (a whole run, or a chunk of one simulated in chunks), its start time and
    path-days done written to its ``slot``'s counters; a bad-input error comes back as its parts (an
    :class:`InputError` does not survive pickling with its position)."""
    scenarios, run, options, (began, done), in_chunks = _PENDING
    began[slot] = time.monotonic()  # (one clock for every process)

    def progress(path_days: int, _total: int) -> None:
        done[slot] = path_days
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
    """The runs on ``processes`` forked processes, the costliest first, the last split when a process is
    left with nothing to take (:class:`_Dispatch`); their results yielded in the scenarios' order."""
    global _PENDING
    quantiles, keep_paths = options.get("daily_quantiles", True), options.get("keep_paths", DEFAULT_KEEP_PATHS)
    as_chunks = _chunked_runs(scenarios, paths, run, keep_paths, quantiles)
    context = multiprocessing.get_context("fork")
    counters = (context.Array("d", len(scenarios) + processes, lock=False),  # a task's start [monotonic s]
                context.Array("q", len(scenarios) + processes, lock=False))  # and path-days done, by slot
    in_chunks, parts, ready, shown = {}, collections.defaultdict(dict), {}, 0
    try:
        for k in (k for k, yes in enumerate(as_chunks) if yes):  # their shared memory, before the fork
            seed = scenarios[k].seed if options.get("seed") is None else int(options["seed"])
            in_chunks[k] = ChunkedRun(scenarios[k], paths[k], seed, keep_paths, quantiles)
        _PENDING = (scenarios, run, options, counters, in_chunks)
        # (none outlives a killed run, nor one killed while it starts)
        with frozen_heap(), context.Pool(processes, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
            dispatch = _Dispatch(pool, scenarios, paths, processes, counters, splittable=as_chunks)
            while not dispatch.finished():
                task, value = dispatch.next_result(progress)
                k = task.run
                parts[k][task.lo] = value
                if dispatch.all_in(k, parts[k]):
                    got = parts.pop(k)
                    ready[k] = in_chunks.pop(k).results([got[lo] for lo in sorted(got)]) if k in in_chunks else got[0]
                while shown in ready:  # in the scenarios' order
                    yield ready.pop(shown)
                    shown += 1
            if callable(progress):
                progress(dispatch.total, dispatch.total)
    finally:
        _PENDING = ((), simulate, {}, ((), ()), {})
        for left in in_chunks.values():
            left.close()


class _Dispatch:
    """Hands the runs' tasks to the pool's processes: every run but the last, costliest first, at once
    (each process takes the next as soon as it is free); the last when a process is left with nothing to
    take, split by :func:`~simulator.workflows.schedule.split_sizes` over the processes free now or soon
    (from the tasks' start times and path-days done), or whole where it may not be split."""

    def __init__(self, pool, scenarios: list[Scenario], paths: list[int], processes: int, counters,
                 splittable: list[bool]):
        self.pool, self.paths, self.processes = pool, paths, processes
        self.began, self.done = counters
        self.days = [s.horizon_days for s in scenarios]
        self.weights = [run_weight(s) for s in scenarios]
        self.total = sum(n * d for n, d in zip(paths, self.days))
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.tasks: list[Task] = []
        self.ended: dict[int, float] = {}  # slot → when its result came [monotonic s]
        self.chunks: dict[int, int] = {}  # run → its number of tasks, once handed out
        order = longest_first(self.weights, paths)
        self.last = order[-1] if splittable[order[-1]] and processes > 1 else None
        for k in order:
            if k != self.last:
                self._submit(Task(k, 0, paths[k]))
        self._maybe_split()

    def _submit(self, task: Task) -> None:
        slot = len(self.tasks)
        self.tasks.append(task)
        self.chunks[task.run] = self.chunks.get(task.run, 0) + 1
        self.pool.apply_async(_run_task, (slot, task), callback=lambda value: self.results.put((slot, value)),
                              error_callback=lambda exc: self.results.put((slot, ("error", exc))))

    def _cost(self, task: Task) -> float:
        return self.weights[task.run] * (FIXED_PATHS + task.hi - task.lo)

    def _maybe_split(self) -> None:
        """Hand out the last run once a process has nothing left to take."""
        running = [slot for slot in range(len(self.tasks)) if slot not in self.ended]
        if self.last is None or len(running) >= self.processes:
            return
        timed = [s for s in self.ended if self.began[s] > 0]
        seconds = sum(self.ended[s] - self.began[s] for s in timed) / sum(self._cost(self.tasks[s]) for s in timed) \
            if timed else 1.0  # per unit of cost (before any task ends, free times are in units too)
        now = time.monotonic()
        free = [0.0] * (self.processes - len(running)) + [self._left(slot, now, seconds if timed else None)
                                                          for slot in running]
        k, self.last = self.last, None
        lo = 0
        for size in split_sizes(sorted(free)[:self.processes], seconds * self.weights[k], self.paths[k]):
            self._submit(Task(k, lo, lo + size))
            lo += size

    def _left(self, slot: int, now: float, seconds: float | None) -> float:
        """A running task's time left: from its rate so far where it has one (and the seconds per unit of cost
        are known), else from the model."""
        task = self.tasks[slot]
        size = (task.hi - task.lo) * self.days[task.run]
        fraction = self.done[slot] / size
        if seconds is None:
            return self._cost(task) * (1 - fraction)
        elapsed = now - self.began[slot] if self.began[slot] > 0 else 0.0
        if fraction > 0:
            return elapsed * (1 - fraction) / fraction
        return max(seconds * self._cost(task) - elapsed, 0.0)

    def finished(self) -> bool:
        return self.last is None and len(self.ended) == len(self.tasks)

    def all_in(self, k: int, parts: dict) -> bool:
        """Whether every task of run ``k`` has come back (``parts``: its results so far)."""
        return self.last != k and len(parts) == self.chunks[k]

    def next_result(self, progress) -> tuple[Task, object]:
        """The next task to end and its result; meanwhile ``progress`` is told the path-days done by all."""
        shown = -1
        while True:
            try:
                slot, (kind, value) = self.results.get(timeout=POLL_S)
                break
            except queue.Empty:
                now = int(sum(self.done))
                if callable(progress) and now > shown:
                    progress(now, self.total)
                    shown = now
        if kind == "input":
            raise InputError(*value)
        if kind == "error":
            raise value
        self.ended[slot] = time.monotonic()
        task = self.tasks[slot]
        self.done[slot] = (task.hi - task.lo) * self.days[task.run]
        self._maybe_split()
        return task, value


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
