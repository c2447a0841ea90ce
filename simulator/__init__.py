"""hashfleet: a fleet-level Bitcoin mining operations simulator.

The import package is ``simulator``; the distribution and console script are ``hashfleet``.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("hashfleet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
