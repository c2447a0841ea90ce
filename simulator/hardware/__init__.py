"""ASIC hardware profiles, the profile library, and per-machine behaviour models (layer 2).

A package by concern: :mod:`~simulator.hardware.profile` (the schema, class defaults and
errors), :mod:`~simulator.hardware.library` (the loader), :mod:`~simulator.hardware.behaviour`
(tuning, derating, failures) and :mod:`~simulator.hardware.economics` (breakeven prices). Every
public name is importable from ``simulator.hardware``.

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

from simulator.hardware.behaviour import daily_failure_probability, temperature_derate_fraction, tuned_power_w
from simulator.hardware.economics import (breakeven_hashprice_usd_per_ph_day, breakeven_power_usd_per_mwh,
                                          profile_breakeven_power_usd_per_mwh, profile_efficiency_jth)
from simulator.hardware.library import get_profile, load_library, load_profile
from simulator.hardware.profile import (AIR_FAILURE_RATE_ANNUAL, AIR_INLET_LIMIT_C, AIR_SHUTDOWN_MARGIN_C,
                                        EFFICIENCY_TOLERANCE_FRACTION, K_OVER, K_UNDER, LIQUID_COOLANT_LIMIT_C,
                                        LIQUID_FAILURE_RATE_ANNUAL, LIQUID_SHUTDOWN_MARGIN_C, PROVENANCE_FIELDS,
                                        THERMAL_DERATE_FRACTION, TUNING_MAX_FRACTION, TUNING_MIN_FRACTION,
                                        DEFAULTABLE_FIELDS, HardwareProfile, ProfileError, Tuning,
                                        UnknownModelError, class_default_values)

__all__ = [
    "AIR_FAILURE_RATE_ANNUAL",
    "AIR_INLET_LIMIT_C",
    "AIR_SHUTDOWN_MARGIN_C",
    "DEFAULTABLE_FIELDS",
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
    "profile_breakeven_power_usd_per_mwh",
    "profile_efficiency_jth",
    "temperature_derate_fraction",
    "tuned_power_w",
]
