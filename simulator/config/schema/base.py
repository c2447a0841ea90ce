"""Building blocks of every scenario section: the strict frozen base model and the shared
field types (ISO dates, fractions in [0, 1], positive and non-negative numbers)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _iso_date(value):
    """Accept a date (unquoted YAML) or an ISO ``YYYY-MM-DD`` string (quoted YAML)."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}") from None
    return value


def _iso_datetime(value):
    """Accept an ISO date-time string such as ``2025-12-20T04:10:00Z`` (UTC if no offset)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"expected an ISO date-time YYYY-MM-DDTHH:MM:SSZ, got {value!r}") from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Strict(BaseModel):
    """Base of every scenario section: strict types, no unknown keys, frozen."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", use_attribute_docstrings=True,
                              populate_by_name=True)
