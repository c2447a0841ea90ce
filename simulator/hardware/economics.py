"""Machine economics: breakeven power price and breakeven hashprice (DESIGN.md, "Economics").

The efficiency of a profile is ``power_w / hashrate_ths`` here, as in the engine (a cohort's
J/TH is its power over its hashrate), not the rounded data-sheet ``efficiency_jth``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simulator.hardware.profile import HOURS_PER_DAY, TH_PER_PH, WH_PER_MWH, HardwareProfile


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


def profile_efficiency_jth(profile: HardwareProfile) -> float:
    """A profile's efficiency as the engine uses it: nameplate ``power_w / hashrate_ths`` [J/TH].

    The data sheet's ``efficiency_jth`` is rounded (and may differ by up to 6 %, the loader's
    tolerance); power and hashrate are what a cohort draws and produces.

    Examples
    --------
    >>> from simulator.hardware.library import get_profile
    >>> p = get_profile("antminer-s19-xp")
    >>> p.efficiency_jth, round(profile_efficiency_jth(p), 4)  # 3010 W / 140 TH/s
    (21.5, 21.5)
    """
    return profile.power_w / profile.hashrate_ths


def profile_breakeven_power_usd_per_mwh(profile: HardwareProfile, hashprice_usd_per_ph_day: Any, pool_fee: Any = 0.0,
                                        cooling_overhead: Any = 0.0, tax_usd_per_mwh: Any = 0.0) -> Any:
    """Breakeven power price of one hardware model [USD/MWh], on the engine's efficiency basis.

    :func:`breakeven_power_usd_per_mwh` at ``e = power_w / hashrate_ths``
    (:func:`profile_efficiency_jth`), so ``hashfleet hardware show`` and the engine's
    curtailment and retirement agree for the same hashprice.

    Examples
    --------
    >>> from simulator.hardware.library import get_profile
    >>> p = get_profile("antminer-s21-xp")  # 3645 W / 270 TH/s = 13.5 J/TH
    >>> round(float(profile_breakeven_power_usd_per_mwh(p, 45.0)), 2)
    138.89
    """
    return breakeven_power_usd_per_mwh(hashprice_usd_per_ph_day, profile_efficiency_jth(profile), pool_fee,
                                       cooling_overhead, tax_usd_per_mwh)
