"""Which of a workflow's side-by-side runs to split into chunks of paths, and the order of the tasks.

A workflow's runs (:mod:`simulator.workflows.runs`) are handed as tasks to a few forked processes,
each taking the next task of a list as soon as it is free (list scheduling). Whole runs in a list
sorted costliest first leave little idle time except at the end: the last run to start may still
run on one process long after the others have nothing left to do. Splitting that run's paths into
chunks, one task each, fills the idle processes; but every task pays its run's fixed cost per
simulated day again (SimPy, Python and numpy dispatch, about as much as :data:`FIXED_PATHS` paths
cost), so a run is split only where the predicted end of the whole workflow comes sooner.

Model: a task of ``q`` paths of a run of weight ``w`` takes ``w × (FIXED_PATHS + q)`` (``w``: the
run's days × its relative cost per path-day, :func:`simulator.workflows.runs.run_weight`). The
plan starts from whole runs and, while the predicted end (:func:`makespan`) improves by at least
:data:`MIN_GAIN`, takes the best single change of one run's number of chunks (2 … ``processes``
equal chunks); the tasks then go costliest first (the longest-processing-time rule), ties in the
runs' order and path order. Only the ``2 × processes`` runs that start last are considered for a split
(the plan then takes well under a second even for a hundred runs on 16 processes).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Sequence

#: A task's fixed cost per simulated day, in the paths whose per-path cost equals it. Measured on c3b7aca's
#: HIVE preset (one process, 730 days, the network replayed as in a workflow, session 30): a chunk of 250
#: paths took 0.26–0.28 s of CPU against 0.33–0.40 s for the whole run of 500, i.e. ``(F + 250) / (F + 500)``
#: ≈ 0.76 with F ≈ 500 (the contract example's 0.6 and 0.95 ms a day at 100 and 400 paths, session 29,
#: give F ≈ 410).
FIXED_PATHS = 500.0

#: The least relative shortening of the predicted end worth one more split (the cost model is good to
#: about a tenth of a run: a smaller predicted gain is within its error).
MIN_GAIN = 0.02


@dataclass(frozen=True)
class Task:
    """Paths ``lo … hi − 1`` (positions in the run's path ids) of run ``run``; whole when they are all of them."""

    run: int
    lo: int
    hi: int


def chunk_bounds(paths: int, chunks: int) -> list[int]:
    """The edges of ``chunks`` contiguous chunks of ``paths`` paths, as equal as whole paths allow.

    >>> chunk_bounds(500, 3)
    [0, 167, 333, 500]
    """
    return [round(i * paths / chunks) for i in range(chunks + 1)]


def tasks_of(weights: Sequence[float], paths: Sequence[int], chunks: Sequence[int],
             fixed_paths: float = FIXED_PATHS) -> tuple[list[Task], list[float]]:
    """Run ``k`` in ``chunks[k]`` equal chunks: the tasks costliest first (ties: run, then path order) and
    their predicted costs."""
    tasks = [Task(k, lo, hi) for k in range(len(weights))
             for lo, hi in zip(chunk_bounds(paths[k], chunks[k]), chunk_bounds(paths[k], chunks[k])[1:])]
    costs = [weights[t.run] * (fixed_paths + t.hi - t.lo) for t in tasks]
    order = sorted(range(len(tasks)), key=lambda i: -costs[i])  # (stable: ties keep run and path order)
    return [tasks[i] for i in order], [costs[i] for i in order]


def makespan(costs: Sequence[float], processes: int) -> float:
    """When the last of the tasks ends, taken in order by ``processes`` processes each taking the next task
    as soon as it is free.

    >>> makespan([3, 2, 2, 1], 2)
    4
    """
    free = [0] * processes
    for cost in costs:
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)


def plan(weights: Sequence[float], paths: Sequence[int], processes: int, splittable: Sequence[bool] | None = None,
         fixed_paths: float = FIXED_PATHS, min_gain: float = MIN_GAIN) -> list[Task]:
    """The tasks of runs of these ``weights`` and ``paths`` for ``processes`` processes, in the order to hand
    them out (see the module docstring); a run not ``splittable`` (default: all are) stays whole.

    >>> [(t.run, t.lo, t.hi) for t in plan([1.0, 1.0, 1.0], [500, 500, 500], 2)]
    [(0, 0, 500), (1, 0, 500), (2, 0, 250), (2, 250, 500)]
    >>> [(t.run, t.lo, t.hi) for t in plan([1.0, 1.0], [500, 500], 2)]
    [(0, 0, 500), (1, 0, 500)]
    """
    chunks = [1] * len(weights)
    splittable = [True] * len(weights) if splittable is None else splittable
    whole, costs = tasks_of(weights, paths, chunks, fixed_paths)
    best = makespan(costs, processes)
    last = sorted(t.run for t in whole[-2 * processes:])  # splitting a run that starts early only reorders the tasks
    while True:
        change = None  # (predicted end, chunks, −run): of equal ends the fewest chunks, then the run that starts last
        for k in last:
            for c in range(chunks[k] + 1, (min(processes, paths[k]) if splittable[k] else 1) + 1):
                trial = chunks[:k] + [c] + chunks[k + 1:]
                key = (makespan(tasks_of(weights, paths, trial, fixed_paths)[1], processes), c, -k)
                if change is None or key < change[0]:
                    change = (key, trial)
        if change is None or change[0][0] > best * (1 - min_gain):
            return tasks_of(weights, paths, chunks, fixed_paths)[0]
        best, chunks = change[0][0], change[1]
