"""Ctrl-C while the sweep's local dask cluster starts: held until the cluster is whole, then delivered.

A SIGINT that lands inside ``LocalCluster(...)`` raises KeyboardInterrupt half-way through
its start: the caller never gets the cluster object, so it cannot close it, and dask's exit
hook then fails to close the half-started cluster and prints a traceback (``AssertionError:
Status.init``) under the sweep's "interrupted" message. :func:`deferred_sigint` holds the
signal for the second or so the start takes and delivers it once the block has ended, when
the caller holds the cluster and its ``finally`` closes it properly.

Examples
--------
>>> import os, signal
>>> try:
...     with deferred_sigint():
...         os.kill(os.getpid(), signal.SIGINT)  # noted, not raised here
...         started = True
... except KeyboardInterrupt:
...     print("interrupted after the block, started =", started)
interrupted after the block, started = True
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold SIGINT during the block; on leaving it (normally or not), restore the previous
    handler and re-deliver a held signal to it (``signal.raise_signal``), so the usual
    KeyboardInterrupt, a notebook's handler or an inherited SIG_IGN applies as it would have.

    Outside the main thread (where Python cannot install handlers) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield  # None: a handler installed outside Python, which could not be put back
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)
