"""Number formatting for the report's tables and chart axes.

Examples
--------
>>> number(1234567.8), number(0.123456), number(None), number(-0.0)
('1,234,568', '0.1235', '—', '0')
>>> si(1.5e14), si(-2.5e6), si(950.0), si(0.25)
('150T', '−2.5M', '950', '0.25')
"""
from __future__ import annotations

import math

_SI = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
MINUS = "\u2212"


def number(value, digits: int = 4) -> str:
    """A table cell: thousands separators from 10,000 up, ``digits`` significant digits below; — if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    value = float(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


def si(value: float, digits: int = 3) -> str:
    """A compact axis label: 150T, 2.5M, 12k (B for 1e9, as in finance), a true minus sign."""
    if not math.isfinite(value):
        return ""
    sign, value = (MINUS if value < 0 else ""), abs(value)
    for scale, suffix in _SI:
        if value >= scale:
            return f"{sign}{value / scale:.{digits}g}{suffix}"
    return f"{sign}{value:.{digits}g}"
