"""A compiled (numba) module loaded only once a process's work makes it pay.

Importing numba and loading a cached kernel costs ~0.4 s, more than a one-path run spends on
the work the kernel speeds up. A :class:`LazyKernel` runs a process's calls in numpy (the
caller's bit-identical reference form) until one call is large or the numpy calls have spent
their budget, and then imports the compiled module for good. Which form ran never changes a
number (each caller's tests check the two forms against each other).

Each kernel module, when imported, points numba's on-disk cache at a directory of the kernels'
source version (:func:`simulator.numba_cache.configure`, which hashes the sources numba compiles
from, ~10 ms): so a process that stays in numpy never hashes anything, and no edit to a kernel or to
a module it imports can leave a cached kernel running old machine code.
"""
from __future__ import annotations

import gc
import importlib
import sys
from types import ModuleType

_frozen_imports = False  # True in a forked worker (simulator.workers): see freeze_compiled_imports()


class LazyKernel:
    """The compiled module ``module``, imported for a call of at least ``large_from`` units of work
    or once this process's numpy calls have spent ``numpy_at_most`` units (a call costs its size
    plus its ``overhead``, the fixed cost of a numpy call in the same units); ``once_numba_runs``,
    if given, is the budget once another kernel has imported numba (then only this module's cached
    machine code is left to load, ~10 ms)."""

    def __init__(self, module: str, large_from: int, numpy_at_most: int, once_numba_runs: int | None = None) -> None:
        self.module, self.large_from, self.numpy_at_most = module, large_from, numpy_at_most
        self.once_numba_runs = numpy_at_most if once_numba_runs is None else once_numba_runs
        self.spent = 0

    @classmethod
    def of_the_close(cls, module: str) -> "LazyKernel":
        """A kernel the company's close calls a few times a day, each call counting its paths plus its numpy
        form's fixed cost in paths' worth (~0.05 µs a path): loaded for a call of at least 2¹² paths, or once
        the process has spent 2²² on numpy calls (2¹⁶ once another kernel has loaded numba). A one-path
        two-year run stays in numpy."""
        return cls(module, large_from=2**12, numpy_at_most=2**22, once_numba_runs=2**16)

    def loaded(self) -> ModuleType | None:
        """The compiled module if this process has imported it, else None."""
        return sys.modules.get(self.module)

    def for_call(self, size: int, overhead: int = 0, charge: bool = True) -> ModuleType | None:
        """The compiled module for a call of ``size`` units, or None: run this call in numpy (its cost added to
        :attr:`spent` unless ``charge`` is False: a call whose numpy form is never worth compiling for)."""
        kernel = self.loaded()
        budget = self.once_numba_runs if numba_runs() else self.numpy_at_most
        if kernel is None and size < self.large_from and self.spent + size + overhead <= budget:
            if charge:
                self.spent += size + overhead
            return None
        return kernel or _import(self.module)


def freeze_compiled_imports() -> None:
    """Keep each compiled module this process imports out of the cycle collector's sight (called by a forked worker
    of :mod:`simulator.workers`, a process whose life is one chunk of one run, never by a user's process).

    The first compiled module imports numba, some 35 thousand tracked objects (functions, classes, type records) that
    live as long as the process: collected young, they cost ~100 collections of the first generations a worker, and
    every full collection after walks them again. So the collector is paused while a compiled module is imported and
    everything alive is then frozen (``gc.freeze``, as the parent froze its heap before the fork): a worker's
    collections walk its own simulation's objects only. Nothing a run computes depends on when memory is reclaimed."""
    global _frozen_imports
    _frozen_imports = True


def _import(module: str) -> ModuleType:
    """``importlib.import_module(module)``, with the collector paused and the heap frozen after it where
    :func:`freeze_compiled_imports` asked for it."""
    if not _frozen_imports:
        return importlib.import_module(module)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(module)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def numba_runs() -> bool:
    """Whether this process has imported numba (a kernel's load then costs only its cached machine code)."""
    return "numba" in sys.modules
