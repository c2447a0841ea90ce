"""hashfleet: a fleet-level Bitcoin mining operations simulator.

The import package is ``simulator``; the distribution and console script are ``hashfleet``.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("hashfleet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"


def run(src, *, paths=None, seed=None, keep_paths=20, overrides=()):
    """Load and simulate a scenario file (or a loaded Scenario); see :func:`simulator.engine.run`."""
    from simulator.engine import run as _run

    return _run(src, paths=paths, seed=seed, keep_paths=keep_paths, overrides=overrides)
