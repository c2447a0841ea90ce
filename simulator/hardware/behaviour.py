"""Per-machine behaviour models: tuning curve, temperature derating, failures (pure, vectorised).

Functions broadcast over numpy arrays (the last axis being the Monte Carlo path by project
convention); scalars in give numpy scalars out.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulator.hardware.profile import (DAYS_PER_YEAR, K_OVER, K_UNDER, THERMAL_DERATE_FRACTION, TUNING_MAX_FRACTION,
                                        TUNING_MIN_FRACTION, HardwareProfile)


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
