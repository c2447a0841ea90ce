"""ASIC hardware profiles, the profile library, and per-machine behaviour models (layer 2).

A :class:`HardwareProfile` describes one ASIC model: nameplate hashrate, power and
efficiency, cooling class, release date, launch price, and the parameters of the behaviour
models below. Profiles are data: one YAML file per model under ``hardware_profiles/<vendor>/``
(shipped as the package ``simulator.hardware_profiles``), plus any user folders, read by
:func:`load_library`. Every model-specific figure carries a citation in the profile's
``source`` mapping; every figure that is a class default is named in ``class_defaults``.

Class defaults
--------------
Used where a profile has no model-specific figure (DESIGN.md, "Conventions and defaults" ->
hardware class defaults; reference notes in ``asic_notes.md``):

* failure hazard ``failure_rate_annual``: 0.05 /yr for air (the "normal ~5 %" quoted against
  the S17/T17's 20-30 %, Cointelegraph Apr 2020, ``asic_notes.md`` (b)); 0.03 /yr for hydro
  and immersion (DESIGN.md; no public per-class field data was found);
* tuning range 0.70-1.10 of nameplate hashrate; power exponent ``k_under = 1.6`` below
  nameplate (the S19j Pro 96T underclock, 96 TH / 2850 W -> 74.5 TH / 1905 W, fits
  P ∝ H^1.59; ``asic_notes.md`` (a)) and ``k_over = 2.0`` above it (the V² rule of thumb,
  d-central glossary, ``asic_notes.md`` (a));
* air: inlet limit 40 °C, -10 % hashrate above it, shutdown 7 °C above the limit (47 °C):
  the Antminer S21's firmware (490 -> 440 MHz above 40 °C ambient, shutdown above 47 °C;
  BTCWire/HackerNoon review Mar 2024, ``asic_notes.md`` (c)). When a model has its own
  inlet limit, its shutdown is that limit + 7 °C, marked as a class default;
* hydro and immersion: coolant limit 45 °C (DESIGN.md; the S21+ Hydro and S21e Hyd data
  sheets give 45 °C as the top of the coolant range, ``asic_notes.md`` §0). The shutdown of
  liquid-cooled machines is **an assumption of this project**: 5 °C above the coolant limit
  (50 °C at the class limit). No vendor shutdown figure for coolant was found; the margin is
  narrower than air's 7 °C because coolant temperature tracks chip temperature more closely.

Conventions
-----------
A year is 365 days (DESIGN.md). Releases given as ``YYYY`` or ``YYYY-Qn`` mean the first day
of that period. All functions below are pure and broadcast over numpy arrays (the last axis
being the Monte Carlo path by project convention); scalars in give numpy scalars out.
"""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import os
import re
import types
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulator.errors import InputError

__all__ = [
    "AIR_FAILURE_RATE_ANNUAL",
    "AIR_INLET_LIMIT_C",
    "AIR_SHUTDOWN_MARGIN_C",
    "EFFICIENCY_TOLERANCE_FRACTION",
    "HardwareProfile",
    "K_OVER",
    "K_UNDER",
    "LIQUID_COOLANT_LIMIT_C",
    "LIQUID_FAILURE_RATE_ANNUAL",
    "LIQUID_SHUTDOWN_MARGIN_C",
    "PROVENANCE_FIELDS",
    "ProfileError",
    "THERMAL_DERATE_FRACTION",
    "TUNING_MAX_FRACTION",
    "TUNING_MIN_FRACTION",
    "Tuning",
    "UnknownModelError",
    "breakeven_hashprice_usd_per_ph_day",
    "breakeven_power_usd_per_mwh",
    "class_default_values",
    "daily_failure_probability",
    "get_profile",
    "load_library",
    "load_profile",
    "temperature_derate_fraction",
    "tuned_power_w",
]

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

#: Fields whose value is either model-specific (cited in ``source``) or a class default
#: (named in ``class_defaults``). Tuning parameters are addressed as ``tuning.<name>``.
PROVENANCE_FIELDS = (
    "hashrate_ths",
    "power_w",
    "efficiency_jth",
    "cooling",
    "release",
    "launch_price_usd_per_th",
    "failure_rate_annual",
    "inlet_limit_c",
    "shutdown_c",
    "tuning.min_fraction",
    "tuning.max_fraction",
    "tuning.k_under",
    "tuning.k_over",
)
_DEFAULTABLE = (
    "failure_rate_annual",
    "inlet_limit_c",
    "shutdown_c",
    "tuning.min_fraction",
    "tuning.max_fraction",
    "tuning.k_under",
    "tuning.k_over",
)
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


class _AtField(ValueError):
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
            raise _AtField(("min_fraction",), f"min_fraction must be at most 1 (nameplate), got {self.min_fraction}")
        if not self.max_fraction >= 1.0:
            raise _AtField(("max_fraction",), f"max_fraction must be at least 1 (nameplate), got {self.max_fraction}")
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
        for name in _DEFAULTABLE:
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
            raise _AtField(("shutdown_c",), f"shutdown_c ({self.shutdown_c:g} °C) must be above inlet_limit_c ({self.inlet_limit_c:g} °C)")
        known = set(PROVENANCE_FIELDS)
        for key in self.source:
            if key not in known:
                raise _AtField(("source", key), f"source: {key!r} is not a field that takes a citation; use one of {', '.join(PROVENANCE_FIELDS)}")
        seen: set[str] = set()
        for i, key in enumerate(self.class_defaults):
            if key not in _DEFAULTABLE:
                raise _AtField(("class_defaults", i), f"class_defaults: {key!r} has no class default; use some of {', '.join(_DEFAULTABLE)}")
            if key in seen:
                raise _AtField(("class_defaults", i), f"class_defaults: {key!r} is listed twice")
            seen.add(key)
            if key in self.source:
                raise _AtField(("source", key), f"{key!r} is both cited in source and listed in class_defaults; it is one or the other")
        defaults = class_default_values(self.cooling, self.inlet_limit_c)
        for key in self.class_defaults:
            value = self._field_value(key)
            if not math.isclose(value, defaults[key], rel_tol=1e-9, abs_tol=1e-12):
                loc = tuple(key.split("."))
                raise _AtField(loc, f"{key} = {value:g} is listed in class_defaults but the {self.cooling} class default is {defaults[key]:g}; cite a source for it or use the default")
        for key in ("release", "launch_price_usd_per_th"):
            if key in self.source and getattr(self, key) is None:
                raise _AtField(("source", key), f"source cites {key!r} but the profile has no {key}")
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

    @property
    def model_specific_fields(self) -> tuple[str, ...]:
        """Provenance fields that are present and not class defaults."""
        present = [f for f in PROVENANCE_FIELDS if self._field_value(f) is not None]
        return tuple(f for f in present if f not in self.class_defaults)


# --------------------------------------------------------------------------------------
# YAML reading with positions (YAML 1.2 core-schema scalars)
# --------------------------------------------------------------------------------------
class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema implicit resolvers.

    Booleans are only ``true``/``false``; ``1.5e14`` is a float; ``.nan``/``.inf`` and
    ``yes``/``no`` are plain strings (and so fail numeric fields); unquoted ISO dates are
    dates.
    """

    yaml_implicit_resolvers: dict = {}


for _tag, _regex, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|false)$", list("tf")),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", list("-+.0123456789")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:timestamp", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", list("0123456789")),
]:
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_regex), _first)


def _pos(node_or_mark: Any) -> tuple[int, int]:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return mark.line + 1, mark.column + 1


def _parse_yaml(text: str, path: str) -> tuple[Any, dict, dict]:
    """Parse ``text``; return (data, key positions, value positions) keyed by key paths."""
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        raise ProfileError(path, line, col, f"malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(path, 1, 1, f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()
    key_pos: dict = {}
    value_pos: dict = {}
    constructor = yaml.SafeLoader("")  # only used to construct scalars with the safe rules

    def walk(n: yaml.Node, loc: tuple) -> Any:
        value_pos[loc] = _pos(n)
        if isinstance(n, yaml.ScalarNode):
            if n.tag.startswith("tag:yaml.org,2002:") and n.tag.rsplit(":", 1)[1] in ("str", "bool", "int", "float", "null", "timestamp"):
                return constructor.construct_object(n, deep=True)
            raise ProfileError(path, *_pos(n), f"tag {n.tag!r} is not allowed; write plain YAML values")
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, loc + (i,)) for i, item in enumerate(n.value)]
        if isinstance(n, yaml.MappingNode):
            out: dict = {}
            for k, v in n.value:
                if not isinstance(k, yaml.ScalarNode):
                    raise ProfileError(path, *_pos(k), "a mapping key must be a plain name")
                if k.value in out:
                    first = key_pos[loc + (k.value,)][0]
                    raise ProfileError(path, *_pos(k), f"duplicate key {k.value!r} (first written at line {first})")
                key_pos[loc + (k.value,)] = _pos(k)
                out[k.value] = walk(v, loc + (k.value,))
            return out
        raise ProfileError(path, *_pos(n), "unsupported YAML node")

    try:
        data = walk(node, ()) if node is not None else None
    finally:
        constructor.dispose()
    return data, key_pos, value_pos


def _locate(loc: tuple, key_pos: dict, value_pos: dict) -> tuple[int, int]:
    """Line and column of the key at ``loc``, else of its nearest written ancestor."""
    loc = tuple(loc)
    while loc:
        if loc in key_pos:
            return key_pos[loc]
        if loc in value_pos:
            return value_pos[loc]
        loc = loc[:-1]
    return value_pos.get((), (1, 1))


def _profile_from_text(text: str, path: str, stem: str | None = None) -> HardwareProfile:
    data, key_pos, value_pos = _parse_yaml(text, path)
    if not isinstance(data, dict):
        raise ProfileError(path, 1, 1, "a hardware profile must be a YAML mapping of field names to values")
    try:
        profile = HardwareProfile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _AtField):
            loc = loc + cause.loc
            message = str(cause)
        elif err["type"] == "extra_forbidden":
            parent = HardwareProfile if len(loc) == 1 else Tuning
            allowed = ", ".join(parent.model_fields)
            message = f"unknown key {loc[-1]!r}; expected one of: {allowed}"
        elif err["type"] == "missing":
            message = f"missing required key {'.'.join(map(str, loc))!r}"
            loc = loc[:-1]
        else:
            detail = err["msg"].removeprefix("Value error, ")
            message = f"{'.'.join(map(str, loc))}: {detail} (got {err['input']!r})"
        if len(exc.errors()) > 1:
            message += f" (and {len(exc.errors()) - 1} more error(s))"
        raise ProfileError(path, *_locate(loc, key_pos, value_pos), message) from None
    if stem is not None and profile.id != stem:
        raise ProfileError(path, *_locate(("id",), key_pos, value_pos),
                           f"id {profile.id!r} must equal the file name {stem!r} (rename the file to {profile.id}.yaml)")
    return profile


def load_profile(path: str | os.PathLike) -> HardwareProfile:
    """Read one profile file; its ``id`` must equal the file's stem.

    Raises
    ------
    ProfileError
        On unreadable or malformed YAML, an unknown key, a wrong type or value, or an
        efficiency that disagrees with power / hashrate by more than 6 %.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(path, 1, 1, f"cannot read hardware profile: {exc}") from None
    return _profile_from_text(text, str(path), path.stem)


# --------------------------------------------------------------------------------------
# The library
# --------------------------------------------------------------------------------------
_YAML_SUFFIXES = (".yaml", ".yml")


def _walk_traversable(root: Any) -> list[Any]:
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if not entry.name.startswith((".", "__")):
                found.extend(_walk_traversable(entry))
        elif entry.name.endswith(_YAML_SUFFIXES):
            found.append(entry)
    return found


def _read_source(files: Iterable[Any], label: str) -> dict[str, tuple[HardwareProfile, str]]:
    """Profiles of one source (the packaged set or one user folder), duplicates refused."""
    out: dict[str, tuple[HardwareProfile, str]] = {}
    for entry in files:
        path = str(entry)
        try:
            text = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(path, 1, 1, f"cannot read hardware profile: {exc}") from None
        name = entry.name
        stem = name[: name.rfind(".")]
        profile = _profile_from_text(text, path, stem)
        if profile.id in out:
            _, key_pos, value_pos = _parse_yaml(text, path)
            raise ProfileError(path, *_locate(("id",), key_pos, value_pos),
                               f"duplicate id {profile.id!r} in {label}: also defined in {out[profile.id][1]}")
        out[profile.id] = (profile, path)
    return out


@functools.lru_cache(maxsize=None)
def _packaged_profiles() -> tuple[HardwareProfile, ...]:
    found = _read_source(_walk_traversable(resources.files("simulator.hardware_profiles")), "the packaged hardware profiles")
    return tuple(p for p, _ in found.values())


def load_library(extra_dirs: Iterable[str | os.PathLike] | str | os.PathLike = ()) -> Mapping[str, HardwareProfile]:
    """The hardware library: packaged profiles plus user folders, as a read-only mapping.

    Parameters
    ----------
    extra_dirs : path or iterable of paths
        User folders (searched recursively for ``*.yaml``/``*.yml``) or single profile
        files. A user profile whose id exists already replaces it; later folders win.

    Returns
    -------
    Mapping[str, HardwareProfile]
        Read-only, ordered by id. The packaged part is parsed once per process.

    Raises
    ------
    ProfileError
        With ``path:line:col`` on any bad file, or a duplicate id within one source
        (the packaged set, or one user folder).

    Examples
    --------
    >>> lib = load_library()
    >>> lib["antminer-s21-xp"].efficiency_jth
    13.5
    >>> list(lib) == sorted(lib)
    True
    """
    if isinstance(extra_dirs, (str, os.PathLike)):
        extra_dirs = (extra_dirs,)
    merged: dict[str, HardwareProfile] = {p.id: p for p in _packaged_profiles()}
    for folder in extra_dirs:
        folder = Path(folder)
        if folder.is_file():
            files = [folder]
        elif folder.is_dir():
            files = sorted((p for p in folder.rglob("*") if p.suffix in _YAML_SUFFIXES and p.is_file()), key=str)
        else:
            raise ProfileError(folder, 1, 1, "hardware profile folder not found")
        for model_id, (profile, _) in _read_source(files, f"folder {folder}").items():
            merged[model_id] = profile
    return types.MappingProxyType(dict(sorted(merged.items())))


def get_profile(model_id: str, extra_dirs: Iterable[str | os.PathLike] | str | os.PathLike = ()) -> HardwareProfile:
    """The profile with id ``model_id``.

    Raises
    ------
    UnknownModelError
        A :class:`KeyError` whose message lists the closest ids.

    Examples
    --------
    >>> get_profile("antminer-s19-xp").power_w
    3010.0
    >>> get_profile("antminer-s21xp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simulator.hardware.UnknownModelError: unknown hardware model 'antminer-s21xp'; did you mean antminer-s21-xp, ...
    """
    library = load_library(extra_dirs)
    try:
        return library[model_id]
    except KeyError:
        close = difflib.get_close_matches(str(model_id).lower(), list(library), n=3, cutoff=0.6)
        raise UnknownModelError(model_id, close) from None


# --------------------------------------------------------------------------------------
# Behaviour models (pure, vectorised)
# --------------------------------------------------------------------------------------
def _tuning_params(profile_or_params: Any) -> tuple[Any, Any, Any, Any, Any]:
    if isinstance(profile_or_params, HardwareProfile):
        t = profile_or_params.tuning
        return profile_or_params.power_w, t.min_fraction, t.max_fraction, t.k_under, t.k_over
    if isinstance(profile_or_params, Mapping):
        p = profile_or_params
        tuning = p.get("tuning", p)
        get = tuning.get if isinstance(tuning, Mapping) else (lambda k, d: getattr(tuning, k))
        return (p["power_w"], get("min_fraction", TUNING_MIN_FRACTION), get("max_fraction", TUNING_MAX_FRACTION),
                get("k_under", K_UNDER), get("k_over", K_OVER))
    raise TypeError("tuned_power_w expects a HardwareProfile or a mapping with 'power_w' (and optional tuning keys)")


def tuned_power_w(profile_or_params: HardwareProfile | Mapping[str, Any], hashrate_fraction: Any) -> Any:
    """Wall power of a machine tuned to a fraction of its nameplate hashrate.

    Parameters
    ----------
    profile_or_params : HardwareProfile or mapping
        A profile, or a mapping with ``power_w`` [W] and optionally ``min_fraction``,
        ``max_fraction``, ``k_under``, ``k_over`` (flat or under ``tuning``; missing ones
        take the class defaults). Mapping values may be arrays (e.g. one per cohort) and
        broadcast against ``hashrate_fraction``.
    hashrate_fraction : array_like
        Requested hashrate as a fraction f of nameplate [-]. Values outside
        [min_fraction, max_fraction] are **clipped** to the range (a machine cannot be tuned
        beyond it), so the power returned is that of the clipped fraction.

    Returns
    -------
    numpy.ndarray or numpy.float64
        Power at the wall [W], broadcast shape of the inputs.

    Notes
    -----
    .. math:: P = P_0 \\, f^{k}, \\quad k = k_{under} \\text{ if } f < 1, \\; k_{over} \\text{ if } f > 1

    with f clipped to [min_fraction, max_fraction]. Continuous at f = 1 (P = P0),
    increasing in f. Efficiency scales as f^(k-1). The class defaults k_under = 1.6 and
    k_over = 2.0 come from ``asic_notes.md`` (a): the S19j Pro 96T underclock
    (96 TH / 2850 W -> 74.5 TH / 1905 W, k ≈ 1.59; jrjr.meme "hashprophet") and the
    P ∝ V² rule for overclocking (d-central glossary).

    Examples
    --------
    >>> s19jpro_96t = {"power_w": 2850.0}  # factory point of the hashprophet table
    >>> round(float(tuned_power_w(s19jpro_96t, 74.5 / 96)))  # measured: 1905 W
    1900
    >>> tuned_power_w({"power_w": 3000.0}, [0.5, 1.0, 1.1, 1.3])  # 0.5 and 1.3 are clipped
    array([1695.42318844, 3000.        , 3630.        , 3630.        ])
    """
    power_w, lo, hi, k_under, k_over = _tuning_params(profile_or_params)
    f = np.clip(np.asarray(hashrate_fraction, dtype=float), lo, hi)
    k = np.where(f < 1.0, k_under, k_over)
    out = np.asarray(power_w, dtype=float) * f ** k
    return out[()] if out.ndim == 0 else out


def temperature_derate_fraction(inlet_c: Any, inlet_limit_c: Any, shutdown_c: Any, derate: float = THERMAL_DERATE_FRACTION) -> Any:
    """Hashrate multiplier for an inlet (air) or coolant (liquid) temperature.

    Parameters
    ----------
    inlet_c : array_like
        Inlet air or coolant temperature [°C].
    inlet_limit_c, shutdown_c : array_like
        The profile's limit and shutdown temperatures [°C] (broadcast, e.g. per cohort).
    derate : float
        Fractional hashrate cut between the limit and shutdown [-], default 0.10.

    Returns
    -------
    numpy.ndarray or numpy.float64
        1 for ``inlet_c <= inlet_limit_c``; ``1 - derate`` for
        ``inlet_limit_c < inlet_c < shutdown_c``; 0 for ``inlet_c >= shutdown_c``.

    Notes
    -----
    A step model of the Antminer S21's stock firmware: above 40 °C ambient the chip
    frequency drops 490 -> 440 MHz (≈ -10 % hashrate with hashrate ∝ frequency), and the
    machine shuts down above 47 °C (BTCWire/HackerNoon review, Mar 2024; ``asic_notes.md``
    (c)). The shutdown threshold is taken as inclusive. The ±10 % power drift with ambient
    inside the range (MicroBT manual; T21 7.3 % daily swing) is not modelled here.

    Examples
    --------
    >>> temperature_derate_fraction([25.0, 40.0, 41.0, 46.9, 47.0, 55.0], 40.0, 47.0)
    array([1. , 1. , 0.9, 0.9, 0. , 0. ])
    """
    t = np.asarray(inlet_c, dtype=float)
    out = np.where(t >= shutdown_c, 0.0, np.where(t > inlet_limit_c, 1.0 - derate, 1.0))
    return out[()] if out.ndim == 0 else out


def daily_failure_probability(failure_rate_annual: Any) -> Any:
    """Probability that a working unit fails on a given day.

    Parameters
    ----------
    failure_rate_annual : array_like
        Probability that a unit fails within one 365-day year [fraction in [0, 1]].

    Returns
    -------
    numpy.ndarray or numpy.float64
        Daily failure probability p [fraction], with constant daily hazard.

    Notes
    -----
    .. math:: p = 1 - (1 - r)^{1/365}

    so that surviving 365 independent days has probability 1 - r. The annual "rate" is
    read as that probability, as host reports quote it (S19 XP "typically around 10 %
    failure rates", Compass Mining Q&A Apr 2023; "normal ~5 %", Cointelegraph Apr 2020;
    ``asic_notes.md`` (b)). A year is 365 days (DESIGN.md).

    Examples
    --------
    >>> p = daily_failure_probability(0.10)
    >>> round(float(p), 8)
    0.00028862
    >>> round(float(1 - (1 - p) ** 365), 12)
    0.1
    """
    r = np.asarray(failure_rate_annual, dtype=float)
    if np.any((r < 0) | (r > 1)) or np.any(np.isnan(r)):
        raise ValueError("failure_rate_annual must be a probability in [0, 1]")
    with np.errstate(divide="ignore"):
        out = -np.expm1(np.log1p(-r) / DAYS_PER_YEAR)
    return out[()] if out.ndim == 0 else out


def breakeven_power_usd_per_mwh(
    hashprice_usd_per_ph_day: Any,
    efficiency_jth: Any,
    pool_fee: Any = 0.0,
    cooling_overhead: Any = 0.0,
    tax_usd_per_mwh: Any = 0.0,
) -> Any:
    """Power price at which a machine's revenue just pays for its energy.

    Parameters
    ----------
    hashprice_usd_per_ph_day : array_like
        Hashprice before pool fee [USD per PH/s per day].
    efficiency_jth : array_like
        Machine efficiency [J/TH].
    pool_fee : array_like
        Pool fee [fraction].
    cooling_overhead : array_like
        Facility power above IT power [fraction of IT power].
    tax_usd_per_mwh : array_like
        Power taxes per MWh of facility energy [USD/MWh].

    Returns
    -------
    numpy.ndarray or numpy.float64
        Breakeven price of facility energy [USD/MWh]; may be negative.

    Notes
    -----
    DESIGN.md "Economics": with h = hashprice_usd_per_ph_day / 1000 [USD per TH/s per day],
    one TH/s uses 24·e Wh a day, so

    .. math:: p^* = \\frac{h (1 - fee) \\cdot 10^6}{24 \\, e \\, (1 + overhead)} - tax

    With fee, overhead and tax at 0 this is the gross breakeven.

    Examples
    --------
    >>> round(float(breakeven_power_usd_per_mwh(50.0, 21.5)), 3)  # S19 XP at 50 USD/PH/day
    96.899
    >>> breakeven_power_usd_per_mwh([30.0, 45.0, 60.0], 13.5).round(2)
    array([ 92.59, 138.89, 185.19])
    """
    h_usd_per_th_day = np.asarray(hashprice_usd_per_ph_day, dtype=float) / TH_PER_PH
    e = np.asarray(efficiency_jth, dtype=float)
    out = (h_usd_per_th_day * (1.0 - np.asarray(pool_fee, dtype=float)) * WH_PER_MWH
           / (HOURS_PER_DAY * e * (1.0 + np.asarray(cooling_overhead, dtype=float)))
           - np.asarray(tax_usd_per_mwh, dtype=float))
    return out[()] if out.ndim == 0 else out


def breakeven_hashprice_usd_per_ph_day(
    power_usd_per_mwh: Any,
    efficiency_jth: Any,
    pool_fee: Any = 0.0,
    cooling_overhead: Any = 0.0,
    tax_usd_per_mwh: Any = 0.0,
) -> Any:
    """Hashprice at which a machine breaks even at a given power price.

    The inverse of :func:`breakeven_power_usd_per_mwh` in the hashprice (DESIGN.md
    "Economics"; used by the ``endogenous`` network model).

    Notes
    -----
    .. math:: H^* = 1000 \\cdot \\frac{(p + tax) \\cdot 24 \\, e \\, (1 + overhead)}{10^6 (1 - fee)}

    Examples
    --------
    >>> round(float(breakeven_hashprice_usd_per_ph_day(50.0, 13.5)), 4)
    16.2
    >>> h = breakeven_hashprice_usd_per_ph_day(42.0, 21.5, 0.02, 0.05, 3.0)
    >>> round(float(breakeven_power_usd_per_mwh(h, 21.5, 0.02, 0.05, 3.0)), 9)
    42.0
    """
    p = np.asarray(power_usd_per_mwh, dtype=float) + np.asarray(tax_usd_per_mwh, dtype=float)
    e = np.asarray(efficiency_jth, dtype=float)
    out = (TH_PER_PH * p * HOURS_PER_DAY * e * (1.0 + np.asarray(cooling_overhead, dtype=float))
           / (WH_PER_MWH * (1.0 - np.asarray(pool_fee, dtype=float))))
    return out[()] if out.ndim == 0 else out
