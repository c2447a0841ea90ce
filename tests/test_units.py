"""Tests of simulator.units: the named scale factors."""
from __future__ import annotations

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
