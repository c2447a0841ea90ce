"""Parameter checks shared by the market models (price, fees, power).

A model built from code (a notebook) rather than a validated scenario checks its own
parameters; a failed check is a :class:`ValueError` naming the parameter and its value.
"""
from __future__ import annotations

__all__ = ["require"]


def require(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``.

    Examples
    --------
    >>> require(0.2 >= 0, "vol_annual must be >= 0")
    >>> require(-0.2 >= 0, "vol_annual must be >= 0, got -0.2")
    Traceback (most recent call last):
    ...
    ValueError: vol_annual must be >= 0, got -0.2
    """
    if not ok:
        raise ValueError(message)
