"""The independent simulations of a workflow (compare's companies, ``upgrade --rank``'s models), side by side.

A run of a few hundred paths spends most of its time in its fixed cost per simulated day
(SimPy, Python and numpy dispatch: the contract example takes about 0.6 ms of CPU a day at 100
paths and 0.95 at 400, measured in session 29), which each of a run's worker processes
(:mod:`simulator.workers`) pays again, so splitting one such run's paths over 2 processes saves
little. Whole runs side by side pay it once per run: with ``workers`` not given, more than one run
and processes that may be forked, the runs are shared by one forked process per usable CPU, each simulating whole runs
in one process, and the results come back in the order of the scenarios. They are the same,
bit for bit, as the runs one after another: a run's results do not depend on how many
processes simulate it (:func:`simulator.engine.simulate`). With ``workers`` given, or where
processes cannot be forked, the runs go one after another with that many workers each. Side by side,
the costliest runs start first (:func:`longest_first`).
"""
from __future__ import annotations

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

#: Fewest path-days of all the runs together worth processes side by side (starting them costs ~0.1 s).
MIN_PATH_DAYS = 2_000

#: The scenarios, function, options and progress counters of the runs in progress, read by the
#: forked processes (nothing pickled on the way in).
_PENDING: tuple = ((), simulate, {}, None)
#: A forked process's recorded networks, shared by the runs it simulates (empty in the parent, which runs none).
_RECORDS = shared_network.Records()


def _run_one(k: int):
    """Run ``k`` of :data:`_PENDING` in a forked process, its path-days done written to its counter;
    a bad-input error comes back as its parts (an :class:`InputError` does not survive pickling
    with its position)."""
    scenarios, run, options, done = _PENDING

    def progress(path_days: int, _total: int) -> None:
        done[k] = path_days
    try:
        with shared_network.sharing(_RECORDS):
            return "ok", run(scenarios[k], workers=1, progress=progress, **options)
    except InputError as exc:
        return "input", (exc.file, exc.line, exc.col, exc.message)


def simulate_each(scenarios: Sequence[Scenario], *, workers: int | None = None, progress=False, run=simulate,
                  **options) -> Iterator[Results]:
    """``run`` (:func:`simulator.engine.simulate`) of every scenario (``options``: its ``paths``, ``seed``,
    ``keep_paths``, ``max_memory_bytes``), yielded in order; see the module docstring for the
    processes used (side by side from :data:`MIN_PATH_DAYS` path-days in all). ``progress`` is a
    ``(done, total)`` callback over all the runs, in path-days. The runs simulated in one process
    share their network where it is the same (:mod:`simulator.shared_network`)."""
    global _PENDING
    scenarios = list(scenarios)
    paths = [s.paths if options.get("paths") is None else int(options["paths"]) for s in scenarios]
    sizes = [n * s.horizon_days for n, s in zip(paths, scenarios)]
    processes = min(usable_cpus(), len(scenarios)) if workers is None and can_fork() else 1
    if processes < 2 or sum(sizes) < MIN_PATH_DAYS:
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
    context = multiprocessing.get_context("fork")
    done = context.Array("q", len(scenarios), lock=False)  # path-days done per run, shared with the forks
    _PENDING = (scenarios, run, {k: v for k, v in options.items() if k != "progress"}, done)
    try:
        # (none outlives a killed run, nor one killed while it starts)
        with frozen_heap(), context.Pool(processes, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
            order = longest_first(scenarios, paths)
            results, ready, shown = pool.imap(_run_one, order), {}, 0
            for k in order:
                kind, value = _next(results, done, sum(sizes), progress)
                if kind == "input":
                    raise InputError(*value)
                done[k], ready[k] = sizes[k], value
                while shown in ready:  # in the scenarios' order
                    yield ready.pop(shown)
                    shown += 1
            if callable(progress):
                progress(sum(sizes), sum(sizes))
    finally:
        _PENDING = ((), simulate, {}, None)


def longest_first(scenarios: Sequence[Scenario], paths: Sequence[int]) -> list[int]:
    """The runs' indices, the costliest first, so that the last run to start is a short one (the
    longest-processing-time rule). A run's cost is taken as its path-days times
    ``1 + hourly / 2 + projects / 8 + debts / 32``: a site on hourly prices (index or PPA contracts,
    an hourly dispatch each) costs half of what the rest of a day does, an HPC project an eighth, a
    debt instrument a thirty-second (least squares over the warm CPU of the ten presets and
    c3b7aca's six at 500 paths × 730 days, one process, session 29: 0.26–0.82 s a run, fitted within
    ~0.1 s; the number of fixed-price sites did not matter); ties keep the scenarios' order.

    >>> from simulator.config import load_scenario
    >>> longest_first([load_scenario("scenarios/contract_example.yaml")] * 2, [10, 20])
    [1, 0]
    """
    def cost(k: int) -> float:
        s = scenarios[k]
        hourly = sum(site.power.contract != "fixed" for site in s.sites)
        debts = len(s.company.debt) if s.company is not None else 0
        return paths[k] * s.horizon_days * (1 + hourly / 2 + len(s.hpc) / 8 + debts / 32)
    return sorted(range(len(scenarios)), key=lambda k: -cost(k))


def _next(results, done, total: int, progress):
    """The next run's outcome; meanwhile ``progress`` is told the path-days done by all the runs."""
    shown = -1
    while True:
        try:
            return results.next(timeout=POLL_S)
        except multiprocessing.TimeoutError:
            now = sum(done)
            if callable(progress) and now > shown:
                progress(now, total)
                shown = now
