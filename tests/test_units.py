"""Tests of simulator.units: the named scale factors and their conversions."""
from __future__ import annotations

import numpy as np
from numpy.testing import assert_array_equal

from simulator import units as u


def test_scale_factors_are_consistent():
    assert u.SATS_PER_BTC == 100_000_000 and isinstance(u.SATS_PER_BTC, int)
    assert u.SECONDS_PER_DAY == u.HOURS_PER_DAY * u.SECONDS_PER_HOUR == 86_400
    assert u.DAYS_PER_YEAR == 365  # DESIGN.md: a year is exactly 365 days
    assert u.HOURS_PER_YEAR == 8_760
    assert u.HS_PER_THS * u.THS_PER_PHS == u.HS_PER_PHS
    assert u.HS_PER_THS * u.THS_PER_EHS == u.HS_PER_EHS
    assert u.HS_PER_PHS * u.PHS_PER_EHS == u.HS_PER_EHS
    assert u.W_PER_KW * u.KW_PER_MW == u.W_PER_MW
    assert u.KWH_PER_MWH == 1e3 and u.WH_PER_MWH == 1e6
    assert u.HASHES_PER_DIFFICULTY_1 == 2**32
    assert u.TARGET_BLOCK_INTERVAL_S == 600
    assert u.TARGET_BLOCKS_PER_DAY == 144


def test_btc_sats_conversions():
    assert u.btc_from_sats(312_500_000) == 3.125
    assert u.sats_from_btc(3.125) == 312_500_000 and isinstance(u.sats_from_btc(3.125), int)
    sats = np.array([0, 1, 625_000_000, 2_099_999_997_690_000], dtype=np.int64)
    assert_array_equal(u.sats_from_btc(u.btc_from_sats(sats)), sats)


def test_hashrate_conversions():
    assert u.ehs_from_hs(u.hs_from_ehs(648.0)) == 648.0
    assert u.ths_from_hs(u.hs_from_ths(200.0)) == 200.0
    assert_array_equal(u.ehs_from_hs(np.array([1e18, 2e18])), [1.0, 2.0])
    # 6.48e8 TH/s = 648 EH/s (Coin Metrics HashRate is in TH/s; SOURCES.md).
    assert u.ehs_from_hs(u.hs_from_ths(6.48e8)) == 648.0
