"""The order of a workflow's side-by-side runs, and the chunks the last one is split into.

A workflow's runs (:mod:`simulator.workflows.runs`) are handed as tasks to a few forked processes,
each taking the next task as soon as it is free, the costliest first (:func:`longest_first`). That
leaves little idle time except at the end: the last run to start may still run on one process long
after the others have nothing left to do. So the last run is not handed out whole: when a process
is left with nothing to take, the run is split into chunks of its paths (:func:`split_sizes`), one
for each process that, free now or soon, makes the run end sooner, sized so that they all end
together. The sizes are decided then, from the other processes' progress, not in advance: the cost
model below is good to about a tenth of a run, less than the gain at stake.

Model: a task of ``q`` paths of a run of weight ``w`` takes ``w × (FIXED_PATHS + q)`` (``w``: the
run's days × its relative cost per path-day, :func:`simulator.workflows.runs.run_weight`, times the
seconds a unit took in the tasks already done). Every task pays its run's fixed cost per simulated
day again (SimPy, Python and numpy dispatch), about as much as :data:`FIXED_PATHS` paths cost, so at
500 paths a chunk of half the paths takes about five sixths of the whole run: a split pays only where
another process is free or nearly so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from simulator.workers import MIN_CHUNK_PATHS

#: A task's fixed cost per simulated day, in the paths whose per-path cost equals it. Measured on c3b7aca's
#: HIVE preset (730 days, its network replayed as in a workflow, session 30, a loaded machine): alone in
#: one process, a chunk of 250 paths took 0.26–0.28 s of CPU against 0.33–0.40 s for the whole run of 500
#: (``(F + 250) / (F + 500)`` ≈ 0.76: F ≈ 500); inside `compare`'s processes, chunks of 283 and 217 paths
#: took 0.27 and 0.26 s against 0.31–0.33 s for 500 (F ≈ 800–1,500). Taken in between: a split then pays
#: only where another process frees within a third of the last run's time (``split_sizes``).
FIXED_PATHS = 1000.0


@dataclass(frozen=True)
class Task:
    """Paths ``lo … hi − 1`` (positions in the run's path ids) of run ``run``; whole when they are all of them."""

    run: int
    lo: int
    hi: int


def longest_first(weights: Sequence[float], paths: Sequence[int], fixed_paths: float = FIXED_PATHS) -> list[int]:
    """The runs' indices, the costliest first (``weight × (fixed_paths + paths)``), so that the last run to
    start is a short one (the longest-processing-time rule); ties keep the runs' order.

    >>> longest_first([1.0, 2.0, 1.0], [100, 100, 300])
    [1, 2, 0]
    """
    return sorted(range(len(weights)), key=lambda k: -weights[k] * (fixed_paths + paths[k]))


def split_sizes(free_s: Sequence[float], seconds_per_path: float, paths: int,
                fixed_paths: float = FIXED_PATHS) -> list[int]:
    """The chunk sizes of a run of ``paths`` paths for processes free ``free_s`` seconds from now (0: free
    now), a chunk of ``q`` paths taking ``seconds_per_path × (fixed_paths + q)``: over the ``s`` processes
    free soonest, the sizes ending together soonest, the first for the process free first; ``[paths]``
    when one process alone ends soonest.

    With ``s`` processes at ``t_1 … t_s`` the chunks end together at
    ``E = (Σ t_j + seconds_per_path × (s × fixed_paths + paths)) / s``, chunk ``j`` holding
    ``(E − t_j) / seconds_per_path − fixed_paths`` paths (at least :data:`simulator.workers.MIN_CHUNK_PATHS` + 1
    each before rounding, so no chunk holds one path: numpy sums a one-path table in another order).

    >>> split_sizes([0.0, 0.0], 1.0, 500)
    [250, 250]
    >>> split_sizes([0.0, 100.0], 1.0, 500)
    [300, 200]
    >>> split_sizes([0.0, 600.0], 1.0, 500)
    [500]
    """
    free = sorted(free_s)
    best_end, best = free[0] + seconds_per_path * (fixed_paths + paths), [float(paths)]
    for s in range(2, len(free) + 1):
        end = (sum(free[:s]) + seconds_per_path * (s * fixed_paths + paths)) / s
        sizes = [(end - t) / seconds_per_path - fixed_paths for t in free[:s]]
        if min(sizes) >= MIN_CHUNK_PATHS + 1 and end < best_end:  # rounded below, each keeps MIN_CHUNK_PATHS
            best_end, best = end, sizes
    edges = [0] + [round(sum(best[:i + 1])) for i in range(len(best) - 1)] + [paths]
    return [b - a for a, b in zip(edges, edges[1:]) if b > a]
