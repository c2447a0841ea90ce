"""The ASIC price index against Luxor's published June 2023 RFQ prices."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.market.asic_price import asic_price_usd_per_th


@pytest.mark.parametrize("efficiency_jth, published_usd_per_th", [
    # Hashrate Index, "Luxor RFQ June 2023 update" (asic_notes.md (e)); hashprice ≈ 70 USD/PH/day
    (21.5, 24.00),   # Antminer S19 XP 141T
    (27.5, 15.00),   # Antminer S19j Pro+ 120T
    (29.5, 13.25),   # Antminer S19 Pro 104T
])
def test_pinned_to_luxor_rfq_june_2023(efficiency_jth, published_usd_per_th):
    assert asic_price_usd_per_th(70.0, efficiency_jth) == pytest.approx(published_usd_per_th, rel=0.06)


def test_moves_with_hashprice_and_rewards_efficiency():
    assert asic_price_usd_per_th(35.0, 20.0) == pytest.approx(asic_price_usd_per_th(70.0, 20.0) / 2)
    prices = asic_price_usd_per_th(50.0, np.array([12.0, 18.0, 25.0, 35.0]))
    assert np.all(np.diff(prices) < 0)
