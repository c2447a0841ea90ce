"""A compiled (numba) module loaded only once a process's work makes it pay.

Importing numba and loading a cached kernel costs ~0.4 s, more than a one-path run spends on
the work the kernel speeds up. A :class:`LazyKernel` runs a process's calls in numpy (the
caller's bit-identical reference form) until one call is large or the numpy calls have spent
their budget, and then imports the compiled module for good. Which form ran never changes a
number (each caller's tests check the two forms against each other).
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType


class LazyKernel:
    """The compiled module ``module``, imported for a call of at least ``large_from`` units of work
    or once this process's numpy calls have spent ``numpy_at_most`` units (a call costs its size
    plus its ``overhead``, the fixed cost of a numpy call in the same units). Once another kernel has
    imported numba, loading this one costs far less, and ``numpy_at_most_with_numba`` (if given) is the
    budget instead."""

    def __init__(self, module: str, large_from: int, numpy_at_most: int,
                 numpy_at_most_with_numba: int | None = None) -> None:
        self.module, self.large_from, self.numpy_at_most = module, large_from, numpy_at_most
        self.numpy_at_most_with_numba = numpy_at_most if numpy_at_most_with_numba is None else numpy_at_most_with_numba
        self.spent = 0

    def loaded(self) -> ModuleType | None:
        """The compiled module if this process has imported it, else None."""
        return sys.modules.get(self.module)

    def for_call(self, size: int, overhead: int = 0) -> ModuleType | None:
        """The compiled module for a call of ``size`` units, or None: run this call in numpy."""
        kernel = self.loaded()
        budget = self.numpy_at_most_with_numba if "numba" in sys.modules else self.numpy_at_most
        if kernel is None and size < self.large_from and self.spent + size + overhead <= budget:
            self.spent += size + overhead
            return None
        return kernel or importlib.import_module(self.module)
