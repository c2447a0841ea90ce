"""Hardware profiles: the schema of one ASIC model, its class defaults and its errors.

See :mod:`simulator.hardware` for the class defaults and their sources.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.errors import InputError

# --------------------------------------------------------------------------------------
# Constants (units in names). Scale factors are local: this layer may not depend on
# simulator.units, which is written in parallel.
# --------------------------------------------------------------------------------------
DAYS_PER_YEAR = 365
"""Days in the year of every annual rate (DESIGN.md, "Conventions and defaults")."""
HOURS_PER_DAY = 24
TH_PER_PH = 1_000
WH_PER_MWH = 1_000_000

AIR_FAILURE_RATE_ANNUAL = 0.05
LIQUID_FAILURE_RATE_ANNUAL = 0.03
TUNING_MIN_FRACTION = 0.70
TUNING_MAX_FRACTION = 1.10
K_UNDER = 1.6
K_OVER = 2.0
AIR_INLET_LIMIT_C = 40.0
AIR_SHUTDOWN_MARGIN_C = 7.0
LIQUID_COOLANT_LIMIT_C = 45.0
LIQUID_SHUTDOWN_MARGIN_C = 5.0
THERMAL_DERATE_FRACTION = 0.10
EFFICIENCY_TOLERANCE_FRACTION = 0.06
"""Allowed relative gap between ``efficiency_jth`` and ``power_w / hashrate_ths``."""

Cooling = Literal["air", "hydro", "immersion"]
LIQUID_COOLING = ("hydro", "immersion")

#: Fields that take a class default when a profile does not give them (tuning fields dotted).
DEFAULTABLE_FIELDS = (
    "failure_rate_annual",
    "inlet_limit_c",
    "shutdown_c",
    "tuning.min_fraction",
    "tuning.max_fraction",
    "tuning.k_under",
    "tuning.k_over",
)
#: Fields whose value is either model-specific (cited in ``source``) or a class default
#: (named in ``class_defaults``). Tuning parameters are addressed as ``tuning.<name>``.
PROVENANCE_FIELDS = ("hashrate_ths", "power_w", "efficiency_jth", "cooling", "release",
                     "launch_price_usd_per_th") + DEFAULTABLE_FIELDS
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_RELEASE_RE = re.compile(r"^(\d{4})(?:-Q([1-4])|-(\d{2})-(\d{2}))?$")

_Number = Annotated[float, Field(strict=True)]
_PositiveNumber = Annotated[float, Field(strict=True, gt=0)]
_Text = Annotated[str, Field(strict=True, min_length=1)]


def class_default_values(cooling: str, inlet_limit_c: float | None = None) -> dict[str, float]:
    """Class-default values of the defaultable fields for a cooling class.

    Parameters
    ----------
    cooling : {"air", "hydro", "immersion"}
        Cooling class.
    inlet_limit_c : float, optional
        The model's own inlet (air) or coolant (liquid) limit [°C]; the default shutdown is
        this limit plus the class margin. Default: the class limit.

    Returns
    -------
    dict
        ``{field name: value}`` for every name in the defaultable set, tuning fields dotted.

    Examples
    --------
    >>> class_default_values("air")["shutdown_c"]
    47.0
    >>> d = class_default_values("immersion")
    >>> d["failure_rate_annual"], d["inlet_limit_c"], d["shutdown_c"]
    (0.03, 45.0, 50.0)
    """
    if cooling not in ("air",) + LIQUID_COOLING:
        raise ValueError(f"cooling must be one of air, hydro, immersion; got {cooling!r}")
    liquid = cooling in LIQUID_COOLING
    limit = (LIQUID_COOLANT_LIMIT_C if liquid else AIR_INLET_LIMIT_C) if inlet_limit_c is None else float(inlet_limit_c)
    return {
        "failure_rate_annual": LIQUID_FAILURE_RATE_ANNUAL if liquid else AIR_FAILURE_RATE_ANNUAL,
        "inlet_limit_c": LIQUID_COOLANT_LIMIT_C if liquid else AIR_INLET_LIMIT_C,
        "shutdown_c": limit + (LIQUID_SHUTDOWN_MARGIN_C if liquid else AIR_SHUTDOWN_MARGIN_C),
        "tuning.min_fraction": TUNING_MIN_FRACTION,
        "tuning.max_fraction": TUNING_MAX_FRACTION,
        "tuning.k_under": K_UNDER,
        "tuning.k_over": K_OVER,
    }


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------
class ProfileError(InputError):
    """A bad hardware profile file, at ``path:line:col`` (1-based).

    A :class:`simulator.errors.InputError`, hence a :class:`ValueError`.

    Examples
    --------
    >>> str(ProfileError("bitmain/x.yaml", 4, 1, "unknown key 'hashrate'"))
    "bitmain/x.yaml:4:1: unknown key 'hashrate'"
    """

    def __init__(self, path: str | os.PathLike, line: int = 1, col: int = 1, message: str = "") -> None:
        super().__init__(str(path), line, col, message)
        self.path = self.file


class UnknownModelError(KeyError):
    """No profile with the requested id; the message suggests the closest ids."""

    def __init__(self, model_id: str, suggestions: Iterable[str] = ()) -> None:
        self.model_id = model_id
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        self.message = f"unknown hardware model {model_id!r}{hint} (`hashfleet hardware list` shows all ids)"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class FieldError(ValueError):
    """A validation failure to be reported at ``loc`` (a tuple of keys) in the file."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------
class Tuning(BaseModel):
    """Power-vs-hashrate tuning curve of a machine (see :func:`tuned_power_w`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    min_fraction: _PositiveNumber = TUNING_MIN_FRACTION
    """Lowest reachable hashrate as a fraction of nameplate (≤ 1)."""
    max_fraction: _PositiveNumber = TUNING_MAX_FRACTION
    """Highest reachable hashrate as a fraction of nameplate (≥ 1)."""
    k_under: _PositiveNumber = K_UNDER
    """Exponent k of P = P0 · f^k for f < 1 (underclock)."""
    k_over: _PositiveNumber = K_OVER
    """Exponent k of P = P0 · f^k for f > 1 (overclock)."""

    @model_validator(mode="after")
    def _range_brackets_nameplate(self) -> Tuning:
        if not self.min_fraction <= 1.0:
            raise FieldError(("min_fraction",), f"min_fraction must be at most 1 (nameplate), got {self.min_fraction}")
        if not self.max_fraction >= 1.0:
            raise FieldError(("max_fraction",), f"max_fraction must be at least 1 (nameplate), got {self.max_fraction}")
        return self


class HardwareProfile(BaseModel):
    """One ASIC model: nameplate figures, provenance and behaviour parameters.

    Fields omitted from the input that have a class default (failure rate, inlet limit,
    shutdown, tuning) are filled from :func:`class_default_values` and added to
    ``class_defaults``. A field named in ``class_defaults`` must hold its class-default value.

    Examples
    --------
    >>> p = HardwareProfile(id="demo-x", vendor="Demo", name="Demo X", hashrate_ths=200,
    ...                     power_w=3500, efficiency_jth=17.5, cooling="air", release="2023-Q3")
    >>> p.release_date, p.shutdown_c, p.class_defaults[:2]
    (datetime.date(2023, 7, 1), 47.0, ('failure_rate_annual', 'inlet_limit_c'))
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    id: _Text
    """Unique kebab-case id, e.g. ``antminer-s21-xp``; equals the file's stem."""
    vendor: _Text
    """Manufacturer, e.g. ``Bitmain``."""
    name: _Text
    """Display name; ``id`` is its kebab-case form."""
    hashrate_ths: _PositiveNumber
    """Nameplate hashrate [TH/s]."""
    power_w: _PositiveNumber
    """Nameplate power at the wall [W]."""
    efficiency_jth: _PositiveNumber
    """Nameplate efficiency [J/TH]; within 6 % of power_w / hashrate_ths."""
    cooling: Cooling
    """Cooling class: ``air``, ``hydro`` or ``immersion``."""
    release: Union[_Text, None] = None
    """Release (announcement or first shipment): ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM-DD``."""
    launch_price_usd_per_th: Union[_PositiveNumber, None] = None
    """Primary-market price at launch [USD per TH/s], where a source gives one."""
    failure_rate_annual: Annotated[float, Field(strict=True, ge=0, lt=1)]
    """Probability that a unit fails within a 365-day year [fraction]."""
    inlet_limit_c: _Number
    """Air inlet (air) or coolant (hydro, immersion) temperature above which hashrate is derated [°C]."""
    shutdown_c: _Number
    """Inlet or coolant temperature at and above which the machine stops [°C]."""
    tuning: Tuning
    """Tuning range and power exponents (see :func:`tuned_power_w`)."""
    source: dict[str, _Text] = Field(default_factory=dict)
    """Citation for each model-specific field (keys from ``PROVENANCE_FIELDS``)."""
    class_defaults: tuple[str, ...] = ()
    """Fields whose values are class defaults rather than model-specific."""

    # -- input normalisation --------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _fill_class_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        cooling = data.get("cooling")
        if cooling not in ("air",) + LIQUID_COOLING:
            return data  # the field validator reports the bad cooling class
        limit = data.get("inlet_limit_c")
        defaults = class_default_values(cooling, limit if isinstance(limit, (int, float)) and not isinstance(limit, bool) else None)
        listed = data.get("class_defaults", ())
        listed = list(listed) if isinstance(listed, (list, tuple)) else listed
        tuning = data.get("tuning", {})
        tuning = dict(tuning) if isinstance(tuning, Mapping) else tuning
        for name in DEFAULTABLE_FIELDS:
            if name.startswith("tuning."):
                if not isinstance(tuning, dict):
                    continue
                key = name.split(".", 1)[1]
                if key not in tuning:
                    tuning[key] = defaults[name]
                    if isinstance(listed, list) and name not in listed:
                        listed.append(name)
            elif name not in data:
                data[name] = defaults[name]
                if isinstance(listed, list) and name not in listed:
                    listed.append(name)
        data["tuning"] = tuning
        data["class_defaults"] = listed
        return data

    @field_validator("release", mode="before")
    @classmethod
    def _release_to_text(cls, value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, int) and not isinstance(value, bool) and 1970 <= value <= 2200:
            return str(value)
        return value

    @field_validator("release")
    @classmethod
    def _release_format(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = _RELEASE_RE.match(value)
        if not match:
            raise ValueError(f"release must be 'YYYY', 'YYYY-Qn' or 'YYYY-MM-DD', got {value!r}")
        if match.group(3):
            try:
                dt.date.fromisoformat(value)
            except ValueError as exc:
                raise ValueError(f"release {value!r} is not a real date ({exc})") from None
        return value

    @field_validator("id")
    @classmethod
    def _id_is_kebab(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(f"id must be kebab-case (lower-case letters, digits and single hyphens), got {value!r}")
        return value

    @field_validator("efficiency_jth")
    @classmethod
    def _efficiency_matches_nameplate(cls, value: float, info) -> float:
        hashrate, power = info.data.get("hashrate_ths"), info.data.get("power_w")
        if hashrate and power:
            implied = power / hashrate
            if abs(value - implied) > EFFICIENCY_TOLERANCE_FRACTION * implied:
                raise ValueError(
                    f"{value:g} J/TH disagrees with power_w / hashrate_ths = "
                    f"{power:g} / {hashrate:g} = {implied:.2f} J/TH by more than "
                    f"{EFFICIENCY_TOLERANCE_FRACTION:.0%}; correct one of the three figures"
                )
        return value

    @model_validator(mode="after")
    def _provenance_and_ranges(self) -> HardwareProfile:
        if not self.shutdown_c > self.inlet_limit_c:
            raise FieldError(("shutdown_c",), f"shutdown_c ({self.shutdown_c:g} °C) must be above inlet_limit_c ({self.inlet_limit_c:g} °C)")
        known = set(PROVENANCE_FIELDS)
        for key in self.source:
            if key not in known:
                raise FieldError(("source", key), f"source: {key!r} is not a field that takes a citation; use one of {', '.join(PROVENANCE_FIELDS)}")
        seen: set[str] = set()
        for i, key in enumerate(self.class_defaults):
            if key not in DEFAULTABLE_FIELDS:
                raise FieldError(("class_defaults", i), f"class_defaults: {key!r} has no class default; use some of {', '.join(DEFAULTABLE_FIELDS)}")
            if key in seen:
                raise FieldError(("class_defaults", i), f"class_defaults: {key!r} is listed twice")
            seen.add(key)
            if key in self.source:
                raise FieldError(("source", key), f"{key!r} is both cited in source and listed in class_defaults; it is one or the other")
        defaults = class_default_values(self.cooling, self.inlet_limit_c)
        for key in self.class_defaults:
            value = self._field_value(key)
            if not math.isclose(value, defaults[key], rel_tol=1e-9, abs_tol=1e-12):
                loc = tuple(key.split("."))
                raise FieldError(loc, f"{key} = {value:g} is listed in class_defaults but the {self.cooling} class default is {defaults[key]:g}; cite a source for it or use the default")
        for key in ("release", "launch_price_usd_per_th"):
            if key in self.source and getattr(self, key) is None:
                raise FieldError(("source", key), f"source cites {key!r} but the profile has no {key}")
        return self

    def _field_value(self, dotted: str) -> Any:
        obj: Any = self
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj

    def __hash__(self) -> int:  # source is a dict; hash the frozen content instead
        return hash(self.model_dump_json())

    @property
    def release_date(self) -> dt.date | None:
        """Release as a date: ``YYYY`` -> 1 January, ``YYYY-Qn`` -> first day of the quarter.

        Examples
        --------
        >>> HardwareProfile(id="a", vendor="V", name="A", hashrate_ths=100, power_w=2000,
        ...                 efficiency_jth=20, cooling="hydro", release="2025-Q4").release_date
        datetime.date(2025, 10, 1)
        """
        if self.release is None:
            return None
        match = _RELEASE_RE.match(self.release)
        assert match is not None  # validated
        year = int(match.group(1))
        if match.group(2):
            return dt.date(year, 3 * (int(match.group(2)) - 1) + 1, 1)
        if match.group(3):
            return dt.date.fromisoformat(self.release)
        return dt.date(year, 1, 1)
