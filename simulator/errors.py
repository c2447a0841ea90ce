"""Errors that point at their source: ``file:line:col: message``.

Every bad-input error hashfleet raises (scenario files, overrides, CSV inputs, hardware
profiles) is an :class:`InputError`; the CLI prints ``str(error)`` on one line and exits
with code 2. Positions are 1-based (DESIGN.md, "Conventions and defaults"); an error
without a position is reported at ``FILE:1:1``.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad input at a known place.

    Examples
    --------
    >>> str(InputError("a.yaml", 3, 5, "paths: expected an integer, got '200'"))
    "a.yaml:3:5: paths: expected an integer, got '200'"
    """

    def __init__(self, file: str, line: int = 1, col: int = 1, message: str = "") -> None:
        self.file, self.line, self.col, self.message = str(file), int(line), int(col), message
        super().__init__(f"{self.file}:{self.line}:{self.col}: {message}")


class InputErrors(ValueError):
    """Several :class:`InputError` found in one pass (``validate`` prints them all)."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
