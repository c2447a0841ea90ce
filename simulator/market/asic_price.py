"""Second-hand ASIC prices in USD per TH by efficiency, moving with hashprice.

Model: a machine trades at a number of days of its gross revenue, the multiple falling with
its efficiency ``e`` [J/TH] (a less efficient machine has a shorter economic life):

    price_usd_per_th = hashprice_usd_per_th_day × m(e),   m(e) = A exp(−B e)  [days]

``A = 1,701`` days and ``B = 0.0745`` per J/TH are fitted to Luxor's June 2023 RFQ prices
(Hashrate Index, "Luxor RFQ June 2023 update": S19 XP 141T $24.00/TH, S19j Pro+ 120T
$15.00/TH, S19 Pro 104T $13.25/TH) at that month's hashprice of about 70 USD/PH/day
(Hashrate Index; ``asic_notes.md`` (e)). Luxor's index moves with hashprice in the same way
(its 2021 peak to 2022 low fell 82–87 % in every tier while hashprice fell ~80 %).
"""
from __future__ import annotations

import numpy as np

from simulator import units

#: Fitted revenue multiple at 0 J/TH [days] (see the module docstring).
MULTIPLE_AT_ZERO_DAYS = 1701.0
#: Decay of the multiple per J/TH [1/(J/TH)].
MULTIPLE_DECAY_PER_JTH = 0.0745


def asic_price_usd_per_th(hashprice_usd_per_ph_day, efficiency_jth):
    """Second-hand price [USD/TH] of a machine of efficiency ``efficiency_jth`` (broadcasts).

    Examples
    --------
    >>> round(float(asic_price_usd_per_th(70.0, 21.5)), 2)  # Luxor RFQ June 2023: S19 XP $24.00/TH
    24.0
    """
    multiple_days = MULTIPLE_AT_ZERO_DAYS * np.exp(-MULTIPLE_DECAY_PER_JTH * np.asarray(efficiency_jth, float))
    return np.asarray(hashprice_usd_per_ph_day, float) / units.THS_PER_PHS * multiple_days
