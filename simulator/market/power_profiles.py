"""Documented hourly power-price profiles (``profile: ercot_hub`` / ``ercot_west``) and their loader.

A profile is a YAML file (the shipped ones live in the package's ``data/power_profiles/``
folder, read with :mod:`importlib.resources`; ``hashfleet calibrate --power`` writes one
fitted to a user's prices) holding:

``parameters``
    scalar keyword arguments of :class:`~simulator.market.power.IndexPowerModel`
    (``mean_usd_per_mwh``, ``vol_daily``, ``reversion_daily``, ``spike_probability``,
    ``spike_usd_per_mwh``, ``negative_probability``, ``negative_usd_per_mwh``, optionally
    ``cap_usd_per_mwh``, ``floor_usd_per_mwh``);
``shape``, ``spike_profile``, ``negative_profile``
    each ``{hour_utc: [24 numbers], month: [12 numbers]}``: the ``(24, 12)`` table (hour UTC ×
    month) is their outer product, normalised to calendar mean 1;
``targets``
    the statistics the profile was matched to (:mod:`simulator.market.power_fit`), each
    ``{value, source, basis}``: what was measured and where it was published. The shipped
    profiles add ``published`` (``value`` is a published figure; ``null`` where none was found,
    then ``estimate`` is the profile's own, unpublished, figure), ``verified`` (read in the cited
    source), ``weighting`` (time- or load-weighted) and ``bounds`` (``{min, max}`` implied by
    published facts); ``calibrate --power`` writes the data's own statistics as ``value``.

In a scenario, ``profile`` supplies every index key the site does not write itself; a key
written beside it wins (``{contract: index, profile: ercot_west, mean_usd_per_mwh: 35}`` keeps
the West profile's shape, spikes and negative hours around a $35 all-in mean).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from simulator.yaml12 import parse, parse_packaged
from simulator.errors import InputError
from simulator.units import HOURS_PER_DAY, MONTHS_PER_YEAR

#: The profiles shipped with the package (``simulator/data/power_profiles/NAME.yaml``).
PROFILE_NAMES = ("ercot_hub", "ercot_west")
#: Scalar parameters a profile may set (the index keys of the scenario schema).
PROFILE_PARAMETERS = ("mean_usd_per_mwh", "vol_daily", "reversion_daily", "spike_probability", "spike_usd_per_mwh",
                      "negative_probability", "negative_usd_per_mwh", "cap_usd_per_mwh", "floor_usd_per_mwh")
TABLES = ("shape", "spike_profile", "negative_profile")


@dataclass(frozen=True)
class PowerProfile:
    """A loaded profile: ``parameters`` (dict), ``tables`` (name → ``(24, 12)`` array),
    ``targets`` (statistic → ``{value, source, basis}``), ``description``."""

    name: str
    description: str
    parameters: dict
    tables: dict
    targets: dict


def _numbers(doc, path: tuple, n: int, file: str) -> np.ndarray:
    value = doc.data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    ok = isinstance(value, list) and len(value) == n and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value)
    if not ok:
        raise InputError(*doc.pos(path), f"{'.'.join(path)} must be a list of {n} numbers >= 0")
    return np.asarray(value, dtype=float)


def parse_profile(text: str, file: str, name: str, packaged: bool = False) -> PowerProfile:
    """Parse and check a profile's YAML text; errors are ``file:line:col``. A ``packaged`` (shipped) profile
    is composed by libyaml's C parser (:func:`~simulator.yaml12.parse_packaged`: the same document, ~10 times
    faster); a user's file by the pure-Python reader, whose error positions are the user's."""
    doc = (parse_packaged if packaged else parse)(text, file)
    data = doc.data
    if not isinstance(data, dict):
        raise InputError(file, 1, 1, "a power profile is a mapping with parameters, shape, spike_profile, "
                                     "negative_profile and targets")
    params = data.get("parameters")
    if not isinstance(params, dict):
        raise InputError(*doc.pos(("parameters",)), "parameters: expected a mapping of index keys")
    for key, value in params.items():
        if key not in PROFILE_PARAMETERS:
            raise InputError(*doc.pos(("parameters", key), key=True), f"parameters.{key}: not an index key "
                                                                       f"(one of {', '.join(PROFILE_PARAMETERS)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(*doc.pos(("parameters", key)), f"parameters.{key}: expected a number")
    if "mean_usd_per_mwh" not in params:
        raise InputError(*doc.pos(("parameters",)), "parameters: mean_usd_per_mwh is required")
    tables = {t: np.outer(_numbers(doc, (t, "hour_utc"), HOURS_PER_DAY, file),
                          _numbers(doc, (t, "month"), MONTHS_PER_YEAR, file)) for t in TABLES}
    targets = data.get("targets") or {}
    if not isinstance(targets, dict):
        raise InputError(*doc.pos(("targets",)), "targets: expected a mapping of statistics")
    return PowerProfile(name, str(data.get("description", "")), {k: float(v) for k, v in params.items()},
                        tables, targets)


@functools.lru_cache(maxsize=16)
def _load(name_or_path: str) -> PowerProfile:
    if name_or_path in PROFILE_NAMES:
        resource = files("simulator") / "data" / "power_profiles" / f"{name_or_path}.yaml"
        return parse_profile(resource.read_text(encoding="utf-8"), f"power_profiles/{name_or_path}.yaml", name_or_path,
                             packaged=True)
    if not os.path.isfile(name_or_path):
        raise InputError(name_or_path, 1, 1, f"power profile: no such file (or a shipped name: {', '.join(PROFILE_NAMES)})")
    with open(name_or_path, encoding="utf-8") as handle:
        return parse_profile(handle.read(), name_or_path, os.path.splitext(os.path.basename(name_or_path))[0])


def load_power_profile(name_or_path: str) -> PowerProfile:
    """A shipped profile by name (:data:`PROFILE_NAMES`) or a profile file.

    Examples
    --------
    >>> hub = load_power_profile("ercot_hub")
    >>> hub.tables["shape"].shape, sorted(hub.targets)[:2]
    ((24, 12), ['evening_peak_ratio', 'hours_above_1000_per_year'])
    """
    return _load(str(name_or_path))


def index_model_kwargs(market, resolve=lambda path: path) -> dict:
    """Keyword arguments of :class:`~simulator.market.power.IndexPowerModel` (all but ``start``
    and ``common_loading``) for an index market section of the scenario.

    The section's written keys win; with ``profile`` the keys it does not write come from the
    profile (its tables included, unless ``shape`` is written); without, from the schema.
    ``resolve`` turns a profile file written in the scenario into a path.
    """
    kwargs = {k: getattr(market, k) for k in PROFILE_PARAMETERS}
    written = market.model_fields_set
    tables = {"shape": np.ones(HOURS_PER_DAY) if market.shape == "flat" else None,
              "spike_profile": None, "negative_profile": None}
    if market.profile is not None:
        profile = load_power_profile(market.profile if market.profile in PROFILE_NAMES else resolve(market.profile))
        kwargs.update({k: v for k, v in profile.parameters.items() if k not in written})
        tables.update({t: v for t, v in profile.tables.items() if t not in written})
    return kwargs | tables
