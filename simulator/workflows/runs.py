"""The independent simulations of a workflow (compare's companies, ``upgrade --rank``'s models), side by side.

A run of a few hundred paths spends most of its time in its fixed cost per simulated day
(SimPy, Python and numpy dispatch: about 2 ms a day for the contract example whatever the
path count), which each of a run's worker processes (:mod:`simulator.workers`) pays again,
so splitting one such run's paths over 2 processes saves little. Whole runs side by side pay
it once per run: with ``workers`` not given, more than one run and processes that may be
forked, the runs are shared by one forked process per usable CPU, each simulating whole runs
in one process, and the results come back in the order of the scenarios. They are the same,
bit for bit, as the runs one after another: a run's results do not depend on how many
processes simulate it (:func:`simulator.engine.simulate`). With ``workers`` given, or where
processes cannot be forked, the runs go one after another with that many workers each.
"""
from __future__ import annotations

import multiprocessing
from typing import Iterator, Sequence

from simulator.config.schema import Scenario
from simulator.engine import check_memory, check_power_models, simulate
from simulator.errors import InputError
from simulator.progress import stages
from simulator.results import Results
from simulator.workers import can_fork, usable_cpus

#: The scenarios and options of the runs in progress, read by the forked processes (no pickling).
_PENDING: tuple = ((), simulate, {})


def _run_one(k: int):
    """Run ``k`` of :data:`_PENDING` in a forked process; a bad-input error comes back as its parts
    (an :class:`InputError` does not survive pickling with its position)."""
    scenarios, run, options = _PENDING
    try:
        return "ok", run(scenarios[k], workers=1, **options)
    except InputError as exc:
        return "input", (exc.file, exc.line, exc.col, exc.message)


def simulate_each(scenarios: Sequence[Scenario], *, workers: int | None = None, progress=False, run=simulate,
                  **options) -> Iterator[Results]:
    """``run`` (:func:`simulator.engine.simulate`) of every scenario (``options``: its ``paths``, ``seed``,
    ``keep_paths``, ``max_memory_bytes``), yielded in order; see the module docstring for the
    processes used. ``progress`` is a ``(done, total)`` callback over all the runs (side by side it
    advances one run at a time, as each run's results arrive in order)."""
    global _PENDING
    scenarios = list(scenarios)
    stage = stages(progress, len(scenarios))
    processes = min(usable_cpus(), len(scenarios)) if workers is None and can_fork() else 1
    if processes < 2:
        for k, scenario in enumerate(scenarios):
            yield run(scenario, workers=workers, progress=stage(k), **options)
        return
    paths = options.get("paths")
    for scenario in scenarios:  # bad input fails here, before any process starts
        check_memory(scenario, scenario.paths if paths is None else int(paths), options.get("keep_paths", 20),
                     options.get("max_memory_bytes"))
        check_power_models(scenario)
    _PENDING = (scenarios, run, options)
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for k, (kind, value) in enumerate(pool.imap(_run_one, range(len(scenarios)))):
                if kind == "input":
                    raise InputError(*value)
                if callable(progress):
                    path_days = value.meta["paths"] * scenarios[k].horizon_days
                    stage(k)(path_days, path_days)
                yield value
    finally:
        _PENDING = ((), simulate, {})
