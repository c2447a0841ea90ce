"""Tests of simulator.chain: Bitcoin Core's consensus rules, ported exactly.

Sources of the pinned numbers:

* Bitcoin Core ``src/test/pow_tests.cpp`` (CalculateNextWorkRequired cases) and
  ``src/test/arith_uint256_tests.cpp`` (``bignum_SetCompact``), read from the
  bitcoin/bitcoin repository.
* Total supply 2,099,999,997,690,000 sats: sum of ``GetBlockSubsidy`` over all eras
  (``src/validation.cpp``), the figure Core pins in
  ``subsidy_limit_test`` (src/test/validation_tests.cpp, formerly main_tests.cpp).
* The real chain: simulator/data/chain/difficulty_epochs_bitcoinj.csv (bitcoinj checkpoints) and
  difficulty_epoch_targets_electrum.csv (Electrum checkpoints); see NOTICE.md there.
"""
from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from simulator import chain
from simulator.chain import (
    DIFF1_TARGET,
    HALVING_INTERVAL,
    INITIAL_SUBSIDY_SATS,
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    POW_LIMIT,
    RETARGET_INTERVAL,
    TARGET_TIMESPAN_S,
    bits_from_difficulty,
    block_subsidy_sats,
    compact_to_target,
    decode_compact,
    difficulty_from_bits,
    difficulty_from_hashrate_hs,
    epoch_start_height,
    expected_blocks_per_day,
    halving_height,
    hashrate_hs_from_difficulty,
    next_bits,
    next_difficulty,
    next_halving_height,
    next_retarget_height,
    target_from_difficulty,
    target_to_compact,
)

#: The chain history shipped with the package (copied from ../shared/data, see its NOTICE.md).
DATA_DIR = Path(__file__).resolve().parents[1] / "simulator" / "data" / "chain"
BITCOINJ_CSV = DATA_DIR / "difficulty_epochs_bitcoinj.csv"
ELECTRUM_CSV = DATA_DIR / "difficulty_epoch_targets_electrum.csv"

#: Genesis block header time and nBits (Core src/kernel/chainparams.cpp; also the
#: nLastRetargetTime of pow_tests.cpp get_next_work_pow_limit).
GENESIS_TIME = 1231006505
GENESIS_BITS = 0x1D00FFFF

#: Upper bound of |difficulty_from_bits(next_bits) / next_difficulty - 1| beyond the compact
#: truncation (2**-15) and the integer-division floor: a few float roundings.
FLOAT_SLACK = 2.0**-50


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- Constants -------------------------------------------------------------------------------


def test_consensus_constants():
    # Core src/kernel/chainparams.cpp (CMainParams).
    assert HALVING_INTERVAL == 210_000
    assert RETARGET_INTERVAL == 2016
    assert TARGET_TIMESPAN_S == 14 * 24 * 60 * 60 == 1_209_600
    assert (MIN_TIMESPAN_S, MAX_TIMESPAN_S) == (302_400, 4_838_400)
    assert POW_LIMIT == int("00000000" + "f" * 56, 16)
    assert DIFF1_TARGET == compact_to_target(0x1D00FFFF) == 0xFFFF * 2**208
    assert target_to_compact(POW_LIMIT) == 0x1D00FFFF == chain.POW_LIMIT_BITS
    assert INITIAL_SUBSIDY_SATS == 5_000_000_000
    # Core's 256-bit multiply in CalculateNextWorkRequired cannot wrap on mainnet.
    assert POW_LIMIT * MAX_TIMESPAN_S < 2**256


# --- Subsidy ---------------------------------------------------------------------------------


def test_total_supply_per_era():
    # Sum of GetBlockSubsidy over all heights, one era (210,000 blocks) at a time.
    eras = np.arange(chain.MAX_HALVINGS + 1, dtype=np.int64)
    per_block = block_subsidy_sats(halving_height(eras))
    assert per_block.dtype == np.int64
    assert per_block[-1] == 0
    assert int(per_block.sum()) * HALVING_INTERVAL == 2_099_999_997_690_000


def test_total_supply_every_height():
    # The same sum over every individual height up to the last paying era (33 eras pay).
    heights = np.arange(33 * HALVING_INTERVAL, dtype=np.int64)
    assert int(block_subsidy_sats(heights).sum()) == 2_099_999_997_690_000
    assert block_subsidy_sats(33 * HALVING_INTERVAL) == 0
    assert block_subsidy_sats(33 * HALVING_INTERVAL - 1) == 1  # 5e9 >> 32


@pytest.mark.parametrize(
    "height, sats",
    [
        (0, 5_000_000_000),
        (209_999, 5_000_000_000),
        (210_000, 2_500_000_000),
        (419_999, 2_500_000_000),
        (420_000, 1_250_000_000),
        (629_999, 1_250_000_000),
        (630_000, 625_000_000),
        (839_999, 625_000_000),
        (840_000, 312_500_000),
        (1_049_999, 312_500_000),
        (1_050_000, 156_250_000),
        (64 * 210_000 - 1, 0),
        (64 * 210_000, 0),  # halvings >= 64: Core returns 0 without shifting
        (10**30, 0),  # a Python int beyond int64 is fine
    ],
)
def test_subsidy_around_halvings(height, sats):
    out = block_subsidy_sats(height)
    assert out == sats and type(out) is int
    assert block_subsidy_sats(np.int64(min(height, 2**62))) == block_subsidy_sats(min(height, 2**62))


def test_halving_heights():
    assert [halving_height(n) for n in range(1, 6)] == [210_000, 420_000, 630_000, 840_000, 1_050_000]
    assert_array_equal(halving_height(np.arange(1, 6)), [210_000, 420_000, 630_000, 840_000, 1_050_000])
    assert next_halving_height(0) == 210_000
    assert next_halving_height(839_999) == 840_000
    assert next_halving_height(840_000) == 1_050_000
    assert_array_equal(next_halving_height([0, 209_999, 210_000]), [210_000, 210_000, 420_000])


def test_retarget_heights():
    assert next_retarget_height(0) == 2016
    assert next_retarget_height(2015) == 2016
    assert next_retarget_height(2016) == 4032
    assert next_retarget_height(930_000) == 931_392  # contract example: 930000 = 461*2016 + 624
    assert epoch_start_height(930_000) == 929_376
    assert epoch_start_height(2016) == 2016
    h = np.array([[0, 2015], [2016, 930_000]])
    assert_array_equal(next_retarget_height(h), [[2016, 2016], [4032, 931_392]])
    assert_array_equal(epoch_start_height(h), [[0, 0], [2016, 929_376]])


def test_subsidy_array_equals_scalar():
    rng = np.random.default_rng(20240420)
    heights = np.concatenate(
        [rng.integers(0, 70 * HALVING_INTERVAL, size=2000), halving_height(np.arange(70)), [0, 1]]
    ).reshape(-1, 2)
    arr = block_subsidy_sats(heights)
    assert arr.shape == heights.shape and arr.dtype == np.int64
    expected = [[block_subsidy_sats(int(h)) for h in row] for row in heights]
    assert_array_equal(arr, expected)
    assert block_subsidy_sats(np.array([], dtype=np.int64)).shape == (0,)
    assert_array_equal(block_subsidy_sats(np.array([840_000], dtype=np.uint32)), [312_500_000])


def test_subsidy_rejects_bad_heights():
    with pytest.raises(ValueError, match="height"):
        block_subsidy_sats(-1)
    with pytest.raises(ValueError, match="height"):
        block_subsidy_sats(np.array([0, -5]))
    with pytest.raises(TypeError):
        block_subsidy_sats(np.array([1.5]))
    for fn in (next_halving_height, next_retarget_height, epoch_start_height, halving_height):
        with pytest.raises(ValueError):
            fn(-1)


# --- Core pow_tests.cpp: CalculateNextWorkRequired ---------------------------------------------


@pytest.mark.parametrize(
    "name, first_time, last_time, prev_bits, expected",
    [
        # Bitcoin Core src/test/pow_tests.cpp, BOOST_AUTO_TEST_CASE(get_next_work):
        # nLastRetargetTime = 1261130161 (block #30240), pindexLast #32255 at 1262152739.
        ("get_next_work", 1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A),
        # get_next_work_pow_limit: genesis time 1231006505, block #2015 at 1233061996.
        ("get_next_work_pow_limit", 1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF),
        # get_next_work_lower_limit_actual: #66528 at 1279008237, #68543 at 1279297671.
        ("get_next_work_lower_limit_actual", 1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD),
        # get_next_work_upper_limit_actual: 1263163443 ("not an actual block time"),
        # #46367 at 1269211443.
        ("get_next_work_upper_limit_actual", 1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD),
    ],
)
def test_core_pow_tests(name, first_time, last_time, prev_bits, expected):
    assert next_bits(prev_bits, first_time, last_time) == expected, name


def test_next_bits_clamps():
    bits = 0x1C05A3F4
    # Anything shorter than T/4 (even negative timespans) is T/4; anything longer than 4T is 4T.
    assert next_bits(bits, 0, -10**9) == next_bits(bits, 0, 0) == next_bits(bits, 0, MIN_TIMESPAN_S)
    assert next_bits(bits, 0, 10**12) == next_bits(bits, 0, MAX_TIMESPAN_S)
    assert next_bits(bits, 0, TARGET_TIMESPAN_S) == bits  # exactly on schedule: unchanged
    # Accepts numpy integers (times read from arrays).
    assert next_bits(np.uint32(bits), np.int64(0), np.int64(TARGET_TIMESPAN_S)) == bits


def test_next_bits_rejects_invalid_prev_bits():
    with pytest.raises(ValueError, match="negative"):
        next_bits(0x04923456, 0, TARGET_TIMESPAN_S)
    with pytest.raises(ValueError, match="overflow"):
        next_bits(0xFF123456, 0, TARGET_TIMESPAN_S)


# --- Core arith_uint256_tests.cpp: bignum_SetCompact -------------------------------------------

# (nCompact, GetHex() of the value, GetCompact(fNegative) after SetCompact, fNegative, fOverflow)
# exactly as in Bitcoin Core src/test/arith_uint256_tests.cpp BOOST_AUTO_TEST_CASE(bignum_SetCompact).
SET_COMPACT_CASES = [
    (0x00000000, 0x0, 0x00000000, False, False),
    (0x00123456, 0x0, 0x00000000, False, False),
    (0x01003456, 0x0, 0x00000000, False, False),
    (0x02000056, 0x0, 0x00000000, False, False),
    (0x03000000, 0x0, 0x00000000, False, False),
    (0x04000000, 0x0, 0x00000000, False, False),
    (0x00923456, 0x0, 0x00000000, False, False),
    (0x01803456, 0x0, 0x00000000, False, False),
    (0x02800056, 0x0, 0x00000000, False, False),
    (0x03800000, 0x0, 0x00000000, False, False),
    (0x04800000, 0x0, 0x00000000, False, False),
    (0x01123456, 0x12, 0x01120000, False, False),
    (0x01FEDCBA, 0x7E, 0x01FE0000, True, False),  # Core: GetCompact(true)
    (0x02123456, 0x1234, 0x02123400, False, False),
    (0x03123456, 0x123456, 0x03123456, False, False),
    (0x04123456, 0x12345600, 0x04123456, False, False),
    (0x04923456, 0x12345600, 0x04923456, True, False),  # Core: GetCompact(true)
    (0x05009234, 0x92340000, 0x05009234, False, False),
    (0x20123456, 0x1234560000000000000000000000000000000000000000000000000000000000, 0x20123456, False, False),
]


@pytest.mark.parametrize("bits, value, compact, negative, overflow", SET_COMPACT_CASES)
def test_core_set_compact(bits, value, compact, negative, overflow):
    decoded = decode_compact(bits)
    assert decoded == (value, negative, overflow)
    assert target_to_compact(decoded.target, negative=negative) == compact
    if negative:
        with pytest.raises(ValueError, match="negative"):
            compact_to_target(bits)
    else:
        assert compact_to_target(bits) == value
        assert target_to_compact(value) == compact


def test_core_set_compact_overflow():
    # Core: num.SetCompact(0xff123456, ...) -> fNegative false, fOverflow true.
    decoded = decode_compact(0xFF123456)
    assert (decoded.negative, decoded.overflow) == (False, True)
    with pytest.raises(ValueError, match="overflow"):
        compact_to_target(0xFF123456)


def test_core_get_compact_never_sets_sign_bit():
    # Core: "Make sure that we don't generate compacts with the 0x00800000 bit set":
    # num = 0x80; num.GetCompact() == 0x02008000.
    assert target_to_compact(0x80) == 0x02008000


def test_compact_argument_checks():
    with pytest.raises(ValueError, match=">= 0"):
        target_to_compact(-1)
    with pytest.raises(ValueError, match="256 bits"):
        target_to_compact(2**256)
    with pytest.raises(ValueError, match="32-bit"):
        compact_to_target(2**32)
    with pytest.raises(ValueError, match="32-bit"):
        compact_to_target(-1)
    assert target_to_compact(2**256 - 1) == 0x2100FFFF
    with pytest.raises(ValueError, match="zero target"):
        difficulty_from_bits(0x03000000)


# --- Compact encoding properties (hypothesis) --------------------------------------------------

targets = st.integers(min_value=1, max_value=POW_LIMIT)


@st.composite
def normalised_compacts(draw):
    """Compact values GetCompact can produce (mantissa >= 0x8000, or an exact small value)."""
    kind = draw(st.sampled_from(["large", "top", "small"]))
    if kind == "small":  # targets below 2**23 encode exactly
        return target_to_compact(draw(st.integers(min_value=0, max_value=2**23 - 1)))
    if kind == "top":  # size 33: a mantissa above 0xffff would overflow 256 bits
        return (33 << 24) | draw(st.integers(min_value=0x8000, max_value=0xFFFF))
    size = draw(st.integers(min_value=3, max_value=32))
    return (size << 24) | draw(st.integers(min_value=0x8000, max_value=0x7FFFFF))


@settings(max_examples=500, deadline=None)
@given(targets)
def test_compact_roundtrip_of_target_truncates_within_precision(t):
    # GetCompact truncates: t_enc <= t, exact below 2**23, and (t - t_enc) / t_enc < 1/m <= 2**-15
    # for a kept mantissa m >= 0x8000.
    bits = target_to_compact(t)
    t_enc = compact_to_target(bits)
    assert t_enc <= t
    if t < 2**23:
        assert t_enc == t
    else:
        mantissa = bits & 0x7FFFFF
        assert mantissa >= 0x8000
        assert (t - t_enc) * mantissa < t_enc
        assert Fraction(t - t_enc, t_enc) < chain.COMPACT_MANTISSA_REL_PRECISION


@settings(max_examples=500, deadline=None)
@given(normalised_compacts())
def test_normalised_compact_roundtrip(c):
    assert target_to_compact(compact_to_target(c)) == c


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_any_valid_compact_target_is_representable(c):
    # Every target SetCompact can produce re-encodes to a compact with the same target.
    decoded = decode_compact(c)
    if decoded.negative or decoded.overflow:
        with pytest.raises(ValueError):
            compact_to_target(c)
        return
    assert compact_to_target(target_to_compact(decoded.target)) == decoded.target


@settings(max_examples=500, deadline=None)
@given(normalised_compacts())
def test_bits_from_difficulty_inverts_difficulty_from_bits(c):
    assume(compact_to_target(c) >= 2**23)  # the float round trip is documented for targets >= 2**23 only
    assert bits_from_difficulty(difficulty_from_bits(c)) == c


@st.composite
def mainnet_bits(draw):
    """Normalised nBits with 2**23 <= target <= powLimit (difficulty >= 1)."""
    size = draw(st.integers(min_value=4, max_value=0x1D))
    top = 0xFFFF if size == 0x1D else 0x7FFFFF
    return (size << 24) | draw(st.integers(min_value=0x8000, max_value=top))


@settings(max_examples=1000, deadline=None)
@given(mainnet_bits(), st.integers(min_value=-10**6, max_value=6 * TARGET_TIMESPAN_S))
def test_next_difficulty_agrees_with_next_bits(prev_bits, timespan):
    d_prev = difficulty_from_bits(prev_bits)
    exact = difficulty_from_bits(next_bits(prev_bits, 0, timespan))
    approx = next_difficulty(d_prev, timespan)
    clamped = min(max(timespan, MIN_TIMESPAN_S), MAX_TIMESPAN_S)
    t_new = min(compact_to_target(prev_bits) * clamped // TARGET_TIMESPAN_S, POW_LIMIT)
    rel = exact / approx - 1.0
    # next_bits only ever raises the difficulty (truncated target), by < 2**-15 + 1/t_new.
    assert -FLOAT_SLACK < rel < chain.COMPACT_MANTISSA_REL_PRECISION + 1.0 / t_new + FLOAT_SLACK
    if exact == 1.0:
        assert approx == 1.0  # the powLimit cap and the float floor coincide exactly


# --- next_difficulty, vectorised ---------------------------------------------------------------


def test_next_difficulty_rule_and_broadcasting():
    t = TARGET_TIMESPAN_S
    assert next_difficulty(1e14, t) == 1e14
    assert next_difficulty(1e14, t / 2) == 2e14
    assert next_difficulty(1e14, 0.0) == 4e14  # clamped at T/4
    assert next_difficulty(1e14, 100 * t) == 2.5e13  # clamped at 4T
    assert next_difficulty(2.0, 4 * t) == 1.0  # floored at difficulty 1 (powLimit)
    assert next_difficulty(1.0, 2015 * 600) == pytest.approx(2016 / 2015)  # Core's off-by-one
    # (cohorts, paths) difficulty against (paths,) timespans.
    d = np.array([[1e14, 2e14, 3e14], [4e14, 5e14, 6e14]])
    ts = np.array([t, t / 2, 2 * t])
    out = next_difficulty(d, ts)
    assert out.shape == (2, 3)
    assert_allclose(out, d * np.array([1.0, 2.0, 0.5]), rtol=1e-15)
    assert isinstance(next_difficulty(1e14, t), float)


# --- Difficulty, target, hashrate --------------------------------------------------------------


def test_target_from_difficulty():
    assert target_from_difficulty(1.0) == DIFF1_TARGET
    assert target_from_difficulty(4.0) == DIFF1_TARGET // 4
    assert target_to_compact(target_from_difficulty(1.0)) == 0x1D00FFFF
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            target_from_difficulty(bad)
        with pytest.raises(ValueError):
            bits_from_difficulty(bad)


def test_hashrate_pinned_value():
    # 1.5e14 * 2**32 / 600 H/s: the contract example's initial difficulty, ~1073.7 EH/s.
    h = hashrate_hs_from_difficulty(1.5e14)
    assert h == 1.5e14 * 2**32 / 600
    assert_allclose(h / 1e18, 1073.741824, rtol=1e-12)
    assert expected_blocks_per_day(h, 1.5e14) == pytest.approx(144.0, rel=1e-15)
    assert_allclose(hashrate_hs_from_difficulty(1.5e14, block_interval_s=300.0), 2 * h, rtol=1e-15)


def test_hashrate_difficulty_roundtrip_vectorised():
    rng = np.random.default_rng(1)
    d = 10.0 ** rng.uniform(0, 15, size=(4, 50))
    interval = rng.uniform(300, 900, size=50)
    h = hashrate_hs_from_difficulty(d, interval)
    assert h.shape == (4, 50)
    assert_allclose(difficulty_from_hashrate_hs(h, interval), d, rtol=1e-15)
    # Blocks per day at a given hashrate is 86400 / interval.
    assert_allclose(expected_blocks_per_day(h, d), np.broadcast_to(86_400 / interval, d.shape), rtol=1e-15)
    assert_allclose(expected_blocks_per_day(hashrate_hs_from_difficulty(d), d), 144.0, rtol=1e-15)


# --- The real chain ----------------------------------------------------------------------------


def _bitcoinj_epochs() -> list[tuple[int, int, int, float]]:
    """(height, first-block time, nBits, difficulty) per epoch, genesis prepended."""
    rows = _read_csv(BITCOINJ_CSV)
    epochs = [(0, GENESIS_TIME, GENESIS_BITS, 1.0)]
    epochs += [
        (int(r["height"]), int(r["timestamp_unix"]), int(r["nbits_hex"], 16), float(r["difficulty"]))
        for r in rows
    ]
    return epochs


@pytest.mark.parametrize("path", [BITCOINJ_CSV, ELECTRUM_CSV], ids=["bitcoinj", "electrum"])
def test_difficulty_column_matches_exactly(path):
    rows = _read_csv(path)
    assert len(rows) > 400
    for r in rows:
        bits = int(r["nbits_hex"], 16)
        assert difficulty_from_bits(bits) == float(r["difficulty"]), r["height"]
        # The float difficulty carries enough bits to recover nBits exactly.
        assert bits_from_difficulty(float(r["difficulty"])) == bits, r["height"]
        # Every real nBits is in GetCompact's normal form.
        assert target_to_compact(compact_to_target(bits)) == bits, r["height"]


def test_bitcoinj_and_electrum_agree():
    bitcoinj = {int(r["height"]): r["nbits_hex"] for r in _read_csv(BITCOINJ_CSV)}
    electrum = {int(r["height"]): r["nbits_hex"] for r in _read_csv(ELECTRUM_CSV)}
    common = bitcoinj.keys() & electrum.keys()
    assert len(common) == len(bitcoinj)
    assert all(bitcoinj[h] == electrum[h] for h in common)
    assert sorted(bitcoinj) == list(range(2016, max(bitcoinj) + 1, 2016))


def test_real_retargets_reproduced_within_tolerance():
    # Core needs the previous epoch's LAST block time; the table has only FIRST block times,
    # so the next epoch's first block stands in for it (one extra block interval, plus clock
    # noise). SOURCES.md: within 0.43 % worst case. Both the exact rule and the float rule
    # must stay within 0.5 % on every one of the 436 retargets, genesis onwards.
    epochs = _bitcoinj_epochs()
    worst_exact = worst_float = 0.0
    for (h0, t0, b0, d0), (h1, t1, b1, d1) in zip(epochs, epochs[1:]):
        assert h1 - h0 == RETARGET_INTERVAL
        predicted = difficulty_from_bits(next_bits(b0, t0, t1))
        worst_exact = max(worst_exact, abs(predicted / d1 - 1.0))
        worst_float = max(worst_float, abs(next_difficulty(d0, t1 - t0) / d1 - 1.0))
    assert worst_exact <= 0.005
    assert worst_float <= 0.005
    assert worst_exact > 0.004  # the 0.43 % outlier (retarget at 713664) is really there


@pytest.mark.parametrize(
    "first_height, last_time",
    [(30240, 1262152739), (66528, 1279297671)],  # Core pow_tests.cpp: times of #32255, #68543
)
def test_real_retargets_exact_with_core_last_block_times(first_height, last_time):
    # With Core's true last-block time the table's next nBits is reproduced exactly.
    epochs = {h: (t, b) for h, t, b, _ in _bitcoinj_epochs()}
    first_time, bits = epochs[first_height]
    _, next_epoch_bits = epochs[first_height + RETARGET_INTERVAL]
    assert next_bits(bits, first_time, last_time) == next_epoch_bits
