"""One run on several cores: chunks of paths simulated by forked worker processes.

Path ``i`` depends only on ``(seed, i)`` (DESIGN.md, "Randomness"), so the paths of a run can
be split into contiguous chunks, each simulated by its own process, and the per-path
results joined in path order are those of a single process, bit for bit. The one result
that needs every path at once is the daily quantiles (exact percentiles across paths, per
day and column); for it the workers fill blocks of days of every column for their own
paths into a ring of blocks in shared memory, and the days of a block every worker has
written are taken by whichever worker comes by first, a share at a time, into a shared
table: the same numbers one process would compute from the same block (:class:`SharedQuantiles`).

Workers are started by ``fork`` (Linux), which needs no pickling of the scenario and no
re-import; elsewhere, in daemonic processes (a Dask worker, which may not have children),
outside the main thread and for small runs a run stays in one process (:func:`auto_workers`). A worker dies with
its parent (``PR_SET_PDEATHSIG``), so a killed run leaves no process behind.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import mmap
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import wait
from typing import Callable

import numpy as np

from simulator import lazy_kernel
from simulator.results import exact_percentiles

#: Fewest paths worth a worker process of their own (a fork and a hand-over per block of days
#: cost a few ms; below this the single process is as fast).
MIN_PATHS_PER_WORKER = 100

#: Seconds between two looks at the workers' progress while waiting for them.
POLL_S = 0.2


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether workers may be forked from here: Linux, not a daemonic process, the main thread.

    A daemonic process (a Dask worker) may not have children; a run called from another
    thread (a threaded Dask worker, a GUI) is left in its thread, since a fork copies only
    the calling thread and whatever locks the others held.
    """
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
            and threading.current_thread() is threading.main_thread())


#: The fewest paths a worker is given (a run of fewer has them all in one process). numpy adds an
#: ``(rows, 1)`` table's rows pairwise (it is one contiguous run) but a ``(rows, ≥ 2)`` table's one by one,
#: so a one-path chunk's sums over cohorts, hours or debts could differ in the last bit from the same
#: path's in a larger chunk (review 10); with chunks of two or more, every worker count gives the same bytes.
MIN_CHUNK_PATHS = 2


def chunk_workers(workers: int, paths: int) -> int:
    """The processes a run of ``paths`` takes when ``workers`` are asked for: at most one per
    :data:`MIN_CHUNK_PATHS` paths, at least 1.

    Examples
    --------
    >>> chunk_workers(2, 3), chunk_workers(3, 5), chunk_workers(3, 6), chunk_workers(4, 1)
    (1, 2, 3, 1)
    """
    return max(1, min(int(workers), paths // MIN_CHUNK_PATHS))


def auto_workers(paths: int) -> int:
    """Worker processes for a run of ``paths``: one per usable CPU, at least
    :data:`MIN_PATHS_PER_WORKER` paths each, and 1 where workers cannot be forked."""
    if not can_fork():
        return 1
    return max(1, min(usable_cpus(), paths // MIN_PATHS_PER_WORKER))


class LocalQuantiles:
    """Daily quantiles of a run in one process: a block of days buffered, then percentiles.

    ``buffer`` is ``(block_days, columns, paths)``; the reporting actor writes day ``row`` of
    the block into ``buffer[row]`` and calls :meth:`finish` when the block is full (or the
    run ends); ``out`` ``(days, columns, 3)`` receives the percentiles.
    """

    def __init__(self, days: int, columns: int, paths: int, block_days: int):
        self.buffer = np.empty((block_days, columns, paths))
        self.out = np.zeros((days, columns, 3))

    def finish(self, first: int, rows: int, columns: list[int] | None = None) -> None:
        """Percentiles of days ``first … first + rows − 1`` (buffer rows ``0 … rows − 1``), of every column
        or of ``columns`` only (the others' stay 0)."""
        _percentiles_into(self.out[first:first + rows], self.buffer[:rows], columns)


def _percentiles_into(out: np.ndarray, block: np.ndarray, columns: list[int] | None) -> None:
    """``out`` ``(days, columns, 3)`` ← the percentiles of ``block`` ``(days, columns, paths)``, every column
    (the block partitioned in place) or ``columns`` only (a copy of theirs)."""
    if columns is None:
        out[:] = exact_percentiles(block)
    else:
        out[:, columns] = exact_percentiles(block[:, columns])


def shared_floats(shape: tuple) -> np.ndarray:
    """A float64 array in anonymous shared memory (inherited by forked children)."""
    size = int(np.prod(shape)) * 8
    return np.frombuffer(mmap.mmap(-1, max(size, 1)), dtype=float, count=int(np.prod(shape))).reshape(shape)


#: Blocks of days the workers' shared quantile ring holds (:class:`SharedQuantiles`): a worker may write up to
#: ``RING_BLOCKS − 1`` blocks ahead of the slowest before it waits (the ring is ``RING_BLOCKS`` × a block's
#: ``(days, columns, paths)``: 18 MB for bench-10y's 1,000 paths) — 2 where a block is over
#: :data:`RING_BLOCK_BYTES` (a run of ~100,000 paths: the ring's memory stays twice the one process's block).
RING_BLOCKS = 3
RING_BLOCK_BYTES = 64 * 2**20


def ring_blocks(block_days: int, columns: int, paths: int) -> int:
    """The blocks of the workers' quantile ring for blocks of ``(block_days, columns, paths)``.

    >>> ring_blocks(32, 23, 1000), ring_blocks(32, 30, 100_000)
    (3, 2)
    """
    return RING_BLOCKS if 8 * block_days * columns * paths <= RING_BLOCK_BYTES else 2


def shared_ints(size: int) -> np.ndarray:
    """An int64 array of zeros in anonymous shared memory (inherited by forked children)."""
    return np.frombuffer(mmap.mmap(-1, max(8 * size, 1)), dtype=np.int64, count=size)


class SharedQuantiles(LocalQuantiles):
    """The quantile blocks shared by ``workers`` processes (made before they fork): a ring of
    ``ring`` blocks of days (:func:`ring_blocks`, at least 2), each ``(block_days, columns, paths)``.

    Worker ``rank`` simulates the paths ``lo:hi`` of the run; :meth:`for_worker` gives it its
    view. Block ``b`` of days (days ``b · block_days …``) goes into ring slot ``b mod ring``.
    At the end of a block (:meth:`finish`) a worker says it has written it and takes the
    percentiles of the rows (days) of earlier blocks that every worker has written and no worker
    has taken yet, a share of a block's rows at a time (claimed under a lock); before it writes
    the next block into a slot, the rows of the block the slot held must all be done (it takes
    those left, or waits for a slower worker's rows). No barrier: a worker waits only when it is
    a whole ring ahead of another, and the worker ahead takes the rows the one behind has not
    reached, so the percentiles' work goes to whichever worker has time for it. After its last
    block a worker takes rows, as the slower workers write them, until every row of the run is taken
    (the run's last blocks are shared too, not left to the slowest worker). The percentiles of a day
    depend only on that day's row, so whichever worker takes a day gives the single process's
    numbers; each row is taken by exactly one worker (which may reorder it in place: sorted, or its order
    statistics selected, :func:`simulator.results.exact_percentiles`).
    """

    def __init__(self, days: int, columns: int, paths: int, block_days: int, workers: int, context,
                 ring: int | None = None):
        ring = ring_blocks(block_days, columns, paths) if ring is None else ring
        self.ring = shared_floats((ring, block_days, columns, paths))
        self.out = shared_floats((days, columns, 3))
        self.days, self.block_days, self.workers, self.rank = days, block_days, workers, 0
        self.blocks = -(-days // block_days)
        # written[w]: blocks worker w has written; claimed[b], done[b]: rows of block b taken, finished; aborted
        counters = shared_ints(workers + 2 * self.blocks + 1)
        self.written, self.claimed = counters[:workers], counters[workers:workers + self.blocks]
        self.done, self._aborted = counters[workers + self.blocks:-1], counters[-1:]
        self.lock = context.Condition()
        self.share = -(-block_days // workers)  # rows a claim takes
        self._next = 0  # this worker's oldest block that may have rows not claimed
        self.buffer = self.ring[0]

    def for_worker(self, rank: int, lo: int, hi: int) -> "SharedQuantiles":
        self.rank, self.lo, self.hi = rank, lo, hi
        self.buffer = self.ring[0][:, :, lo:hi]
        return self

    def _rows(self, b: int) -> int:
        return min(self.block_days, self.days - b * self.block_days)

    def finish(self, first: int, rows: int, columns: list[int] | None = None) -> None:
        b = first // self.block_days
        with self.lock:
            self.written[self.rank] = b + 1
            last = int(self.written.min()) == self.blocks  # the last worker to write the last block
            self.lock.notify_all()
        if last or first + rows >= self.days:  # its last block: take rows with the others until every row is taken
            self._take(self.blocks, columns, wait=True)
            return
        self._take(b, columns, wait=False)  # earlier blocks' rows every worker has written
        free = b + 1 - len(self.ring)  # the block whose slot the next one overwrites: all its rows done
        if first + rows < self.days and free >= 0:
            self._take(free + 1, columns, wait=True)
            with self.lock:
                self._wait(lambda: self.done[free] == self._rows(free))
        self.buffer = self.ring[(b + 1) % len(self.ring)][:, :, self.lo:self.hi]

    def _take(self, upto: int, columns: list[int] | None, wait: bool) -> None:
        """Claim and compute the rows not claimed yet of blocks ``self._next … upto − 1``, in order: each block once
        every worker has written it (waiting for that if ``wait``, else stopping at the first block not written)."""
        while self._next < upto:
            j = self._next
            with self.lock:
                if wait:
                    self._wait(lambda: int(self.written.min()) > j)
                elif int(self.written.min()) <= j:
                    return
                a = int(self.claimed[j])
                rows = self._rows(j)
                if a == rows:
                    self._next += 1
                    continue
                z = min(a + self.share, rows)
                self.claimed[j] = z
            self._compute(j, a, z, columns)
            with self.lock:
                self.done[j] += z - a
                self.lock.notify_all()

    def _compute(self, j: int, a: int, z: int, columns: list[int] | None) -> None:
        """The percentiles of rows ``a … z − 1`` of block ``j``."""
        first = j * self.block_days
        _percentiles_into(self.out[first + a:first + z], self.ring[j % len(self.ring), a:z], columns)

    def _wait(self, ready: Callable[[], bool]) -> None:
        """Wait (holding :attr:`lock`) until ``ready()``; a worker's failure (:meth:`abort`) raises
        ``BrokenBarrierError`` instead."""
        self.lock.wait_for(lambda: ready() or self._aborted[0])
        if self._aborted[0]:
            raise threading.BrokenBarrierError

    def abort(self) -> None:
        """A worker failed: release the others' waits (they raise ``BrokenBarrierError``)."""
        with self.lock:
            self._aborted[0] = 1
            self.lock.notify_all()


def _die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG); with the
    ``parent``'s pid as the fork saw it, exit at once if it died before the request was made (the
    signal is tied to the parent at the time of the call: a child orphaned between its fork and
    this call would otherwise simulate on with no one to read its result)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _worker(run_chunk, ids, rank, lo, hi, quantiles, done, conn, parent) -> None:
    """A forked worker of process ``parent``: simulate paths ``ids[lo:hi]``, send the result (or the error) home."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops its workers
    lazy_kernel.freeze_compiled_imports()  # numba's objects out of this process's collections

    def progress(path_days: int, _total: int) -> None:
        done[rank] = path_days

    try:
        result = run_chunk(ids[lo:hi], lo, quantiles.for_worker(rank, lo, hi), progress)
        conn.send(("ok", result))
    except BaseException as exc:  # noqa: BLE001 — every failure goes home, the others are released
        quantiles.abort()
        try:
            conn.send(("error", exc))
        except Exception:  # an exception that does not pickle
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


@contextlib.contextmanager
def frozen_heap():
    """The parent's objects kept out of the cycle collector while forked children run (``gc.freeze``,
    as Python's documentation advises before a fork): a child's full collections then traverse only
    its own objects, not the interpreter's inherited heap of modules, and do not write to (copy) the
    pages it shares with the parent. The parent's objects are collectable again afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_in_workers(run_chunk: Callable, ids: np.ndarray, workers: int, days: int, columns: int, block_days: int,
                   progress: Callable[[int, int], None] | None = None) -> tuple[list, np.ndarray]:
    """Simulate ``ids`` in ``workers`` forked processes, contiguous chunks in path order.

    ``run_chunk(chunk_ids, lo, quantiles, progress)`` simulates one chunk (``ids[lo:…]``, in the worker) and
    returns a picklable result; this returns the chunks' results in path order and the
    daily quantiles ``(days, columns, 3)``. ``progress(done, total)`` in path-days is called
    a few times a second while the workers run. A worker's error is raised here after the
    others are stopped; so is Ctrl-C.
    """
    context = multiprocessing.get_context("fork")
    bounds = np.linspace(0, len(ids), workers + 1).round().astype(int)
    quantiles = SharedQuantiles(days, columns, len(ids), block_days, workers, context)
    done = context.RawArray(ctypes.c_longlong, workers)
    procs, conns = [], []
    with frozen_heap():  # (the workers fork below)
        try:
            for rank in range(workers):
                receive, send = context.Pipe(duplex=False)
                proc = context.Process(target=_worker, daemon=True, args=(
                    run_chunk, ids, rank, bounds[rank], bounds[rank + 1], quantiles, done, send, os.getpid()))
                proc.start()
                send.close()
                procs.append(proc)
                conns.append(receive)
            results: dict[int, object] = {}
            released = None  # a wait broken because another worker failed (SharedQuantiles.abort): raise its error
            pending = {conn: rank for rank, conn in enumerate(conns)}
            while pending:
                for conn in wait(list(pending), timeout=POLL_S):
                    rank = pending.pop(conn)
                    try:
                        status, value = conn.recv()
                    except EOFError:  # killed without a word (the OOM killer, a signal)
                        procs[rank].join()
                        status, value = "error", RuntimeError(f"worker {rank} died (exit code {procs[rank].exitcode})")
                    if status == "ok":
                        results[rank] = value
                    elif isinstance(value, threading.BrokenBarrierError):
                        released = value
                    else:
                        raise value
                if progress is not None:
                    progress(int(sum(done)), len(ids) * days)
            if released is not None:
                raise released
            return [results[r] for r in range(workers)], np.array(quantiles.out)
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.kill()
                proc.join()
            for conn in conns:
                conn.close()
