"""Bitcoin protocol facts as pure functions (DESIGN.md, layer 1, "Bitcoin mechanics").

Two kinds of function live here:

* **Exact consensus rules**, ported line by line from Bitcoin Core and checked against
  Core's own unit tests and the real chain: the block subsidy (``src/validation.cpp``
  ``GetBlockSubsidy``), the compact ``nBits`` encoding (``src/arith_uint256.cpp``
  ``SetCompact`` / ``GetCompact``) and the difficulty retarget (``src/pow.cpp``
  ``CalculateNextWorkRequired``). They work on Python integers, as Core works on
  ``int64_t`` / ``uint32_t`` / ``arith_uint256``.
* **Float, numpy-vectorised forms** used by the engine over Monte Carlo paths: the retarget
  on a float difficulty, and difficulty <-> hashrate <-> expected blocks. Their agreement
  with the exact rules is documented on each function and tested.

Units: heights are block counts (int), times are Unix seconds, hashrates are H/s
(``_hs``), difficulty is dimensionless (target(0x1d00ffff) / target), amounts are integer
satoshis (``_sats``). Scale factors come from :mod:`simulator.units`.

Only the standard library and numpy are used (no SimPy, no pandas).
"""
from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from simulator.units import (
    HASHES_PER_DIFFICULTY_1,
    SATS_PER_BTC,
    SECONDS_PER_DAY,
    TARGET_BLOCK_INTERVAL_S,
)

__all__ = [
    "HALVING_INTERVAL",
    "RETARGET_INTERVAL",
    "TARGET_TIMESPAN_S",
    "MIN_TIMESPAN_S",
    "MAX_TIMESPAN_S",
    "POW_LIMIT",
    "POW_LIMIT_BITS",
    "DIFF1_TARGET",
    "DIFF1_BITS",
    "INITIAL_SUBSIDY_SATS",
    "MAX_HALVINGS",
    "COMPACT_MANTISSA_REL_PRECISION",
    "CompactDecoded",
    "block_subsidy_sats",
    "subsidy_btc_of_heights",
    "next_halving_height_of_heights",
    "halving_height",
    "next_halving_height",
    "next_retarget_height",
    "epoch_start_height",
    "decode_compact",
    "compact_to_target",
    "target_to_compact",
    "difficulty_from_bits",
    "target_from_difficulty",
    "bits_from_difficulty",
    "next_bits",
    "next_difficulty",
    "hashrate_hs_from_difficulty",
    "difficulty_from_hashrate_hs",
    "expected_blocks_per_day",
]

# --- Consensus parameters (Bitcoin Core src/kernel/chainparams.cpp, CMainParams) ---------

#: Blocks between subsidy halvings (``consensus.nSubsidyHalvingInterval``).
HALVING_INTERVAL: int = 210_000
#: Blocks per difficulty epoch (``DifficultyAdjustmentInterval()`` =
#: nPowTargetTimespan / nPowTargetSpacing).
RETARGET_INTERVAL: int = 2016
#: Target timespan of one epoch [s] (``consensus.nPowTargetTimespan`` = 14 days).
TARGET_TIMESPAN_S: int = RETARGET_INTERVAL * TARGET_BLOCK_INTERVAL_S
assert TARGET_TIMESPAN_S == 1_209_600
#: Lower clamp of the measured timespan [s] (``nPowTargetTimespan / 4``).
MIN_TIMESPAN_S: int = TARGET_TIMESPAN_S // 4
#: Upper clamp of the measured timespan [s] (``nPowTargetTimespan * 4``).
MAX_TIMESPAN_S: int = TARGET_TIMESPAN_S * 4
#: Mainnet proof-of-work limit, the largest (easiest) target (``consensus.powLimit`` =
#: 0x00000000ffff...ff = 2**224 - 1).
POW_LIMIT: int = (1 << 224) - 1
#: Target of difficulty 1, ``SetCompact(0x1d00ffff)`` = 0xffff * 2**208 (the genesis nBits;
#: also ``GetCompact(POW_LIMIT)``).
DIFF1_TARGET: int = 0xFFFF << 208
#: Compact encoding of difficulty 1 (genesis block nBits).
DIFF1_BITS: int = 0x1D00FFFF
#: ``GetCompact(POW_LIMIT)``: the easiest nBits a mainnet retarget can return (= DIFF1_BITS).
POW_LIMIT_BITS: int = DIFF1_BITS
#: Subsidy of the genesis era [sats] (``50 * COIN``).
INITIAL_SUBSIDY_SATS: int = 50 * SATS_PER_BTC
#: Halvings after which GetBlockSubsidy returns 0 outright (a right shift by >= 64 is
#: undefined in C++). The subsidy is already 0 from halving 33 (5e9 >> 33 == 0).
MAX_HALVINGS: int = 64
#: Worst-case relative rounding of the compact encoding for targets >= 2**23: GetCompact
#: truncates to a mantissa m >= 0x8000, so 0 <= (t - t_enc) / t_enc < 1 / m <= 2**-15.
COMPACT_MANTISSA_REL_PRECISION: float = 2.0**-15

_UINT32_MAX = 0xFFFF_FFFF
_UINT256_MASK = (1 << 256) - 1
_SIGN_BIT = 0x0080_0000
_MANTISSA_MASK = 0x007F_FFFF


# --- Helpers ---------------------------------------------------------------------------------


def _is_int_scalar(x) -> bool:
    """True for a Python int or numpy integer scalar (bool excluded)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _int_array(x, name: str) -> np.ndarray:
    """``x`` as an int64 array; integers only, never negative."""
    arr = np.asarray(x)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer (got dtype {arr.dtype}); cast heights to int first")
    if arr.size and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (got min {arr.min()})")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} exceeds int64")
    return arr.astype(np.int64, copy=False)


def _heights(height):
    """``height`` checked: a Python int >= 0 for a scalar, an int64 array (all >= 0) otherwise."""
    return _nonneg_int(height, "height") if _is_int_scalar(height) else _int_array(height, "height")


def _nonneg_int(x, name: str) -> int:
    """``x`` as a Python int >= 0."""
    value = operator.index(x)
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (got {value})")
    return value


def _float_out(arr: np.ndarray):
    """A Python float for a 0-d result, else the array."""
    return float(arr) if arr.ndim == 0 else arr


# --- Subsidy and heights ---------------------------------------------------------------------


def block_subsidy_sats(height):
    """Block subsidy (new coins) of the block at ``height``.

    Parameters
    ----------
    height : int or array_like of int
        Block height (genesis = 0), >= 0.

    Returns
    -------
    int or numpy.ndarray of int64
        Subsidy [sats]; a Python int for a scalar, an int64 array (same shape) otherwise.

    Raises
    ------
    ValueError
        If a height is negative.
    TypeError
        If ``height`` is not integer (floats are refused: heights are exact).

    Notes
    -----
    Bitcoin Core ``src/validation.cpp`` ``GetBlockSubsidy``::

        halvings = height / 210000                      (integer division)
        subsidy  = 0                       if halvings >= 64
                   (50 * COIN) >> halvings otherwise

    The shift truncates, so eras end 50, 25, 12.5, ..., and the subsidy is 0 from halving
    33 on. The sum over all heights is 2,099,999,997,690,000 sats (not 21e6 BTC). The array
    form is vectorised (no Python loop).

    Examples
    --------
    >>> block_subsidy_sats(0)
    5000000000
    >>> block_subsidy_sats(840_000)
    312500000
    >>> block_subsidy_sats([839_999, 840_000, 64 * 210_000]).tolist()
    [625000000, 312500000, 0]
    """
    if _is_int_scalar(height):
        halvings = _nonneg_int(height, "height") // HALVING_INTERVAL
        return 0 if halvings >= MAX_HALVINGS else INITIAL_SUBSIDY_SATS >> halvings
    h = _int_array(height, "height")
    halvings = h // HALVING_INTERVAL
    shifted = np.right_shift(np.int64(INITIAL_SUBSIDY_SATS), np.minimum(halvings, MAX_HALVINGS - 1))
    return np.where(halvings >= MAX_HALVINGS, np.int64(0), shifted).astype(np.int64)


#: Subsidy of every era 0 … MAX_HALVINGS [BTC] (era = height // 210,000), from :func:`block_subsidy_sats`.
_ERA_SUBSIDY_BTC = np.array([block_subsidy_sats(era * HALVING_INTERVAL) for era in range(MAX_HALVINGS + 1)]) / SATS_PER_BTC


def subsidy_btc_of_heights(heights: np.ndarray) -> np.ndarray:
    """:func:`block_subsidy_sats` in BTC of float heights (floored; >= 0, unchecked), for the
    simulation's daily arrays: the era's entry of a table of Core's rule (the same numbers as
    ``block_subsidy_sats(floor(h)) / 1e8``, without the per-call validation of integer input).

    Examples
    --------
    >>> subsidy_btc_of_heights(np.array([0.0, 839_999.5, 840_000.0, 64 * 210_000.0])).tolist()
    [50.0, 6.25, 3.125, 0.0]
    """
    era = np.minimum(np.floor(heights) // HALVING_INTERVAL, MAX_HALVINGS)
    return _ERA_SUBSIDY_BTC[era.astype(np.intp)]


def next_halving_height_of_heights(heights: np.ndarray) -> np.ndarray:
    """:func:`next_halving_height` of float heights (floored; >= 0, unchecked), exact below 2^53.

    >>> next_halving_height_of_heights(np.array([839_999.5, 840_000.0])).tolist()
    [840000.0, 1050000.0]
    """
    return (np.floor(heights) // HALVING_INTERVAL + 1) * HALVING_INTERVAL


def halving_height(n):
    """Height of the ``n``-th halving (first block paying the halved subsidy).

    Parameters
    ----------
    n : int or array_like of int
        Halving number, >= 0 (0 gives the genesis height 0).

    Returns
    -------
    int or numpy.ndarray of int64
        Height = n * 210,000.

    Examples
    --------
    >>> halving_height(4)
    840000
    >>> halving_height([1, 5]).tolist()
    [210000, 1050000]
    """
    if _is_int_scalar(n):
        return _nonneg_int(n, "n") * HALVING_INTERVAL
    return _int_array(n, "n") * HALVING_INTERVAL


def next_halving_height(height):
    """First halving height strictly after ``height``.

    Parameters
    ----------
    height : int or array_like of int
        Block height, >= 0.

    Returns
    -------
    int or numpy.ndarray of int64
        (height // 210,000 + 1) * 210,000: the height whose subsidy is first halved
        relative to ``height``'s.

    Examples
    --------
    >>> next_halving_height(839_999), next_halving_height(840_000)
    (840000, 1050000)
    """
    return (_heights(height) // HALVING_INTERVAL + 1) * HALVING_INTERVAL


def next_retarget_height(height):
    """First retarget height (multiple of 2016) strictly after ``height``.

    Parameters
    ----------
    height : int or array_like of int
        Block height, >= 0.

    Returns
    -------
    int or numpy.ndarray of int64
        (height // 2016 + 1) * 2016: the first height mined at a new difficulty.

    Notes
    -----
    Core ``src/pow.cpp`` ``GetNextWorkRequired`` retargets when
    ``(pindexLast->nHeight + 1) % DifficultyAdjustmentInterval() == 0``.

    Examples
    --------
    >>> next_retarget_height(2015), next_retarget_height(2016)
    (2016, 4032)
    >>> next_retarget_height([0, 930_000]).tolist()
    [2016, 931392]
    """
    return (_heights(height) // RETARGET_INTERVAL + 1) * RETARGET_INTERVAL


def epoch_start_height(height):
    """Height of the first block of the difficulty epoch containing ``height``.

    Parameters
    ----------
    height : int or array_like of int
        Block height, >= 0.

    Returns
    -------
    int or numpy.ndarray of int64
        height - height mod 2016 (DESIGN.md: the epoch in progress at the start begins at
        ``initial_height - initial_height mod 2016``).

    Examples
    --------
    >>> epoch_start_height(930_000)
    929376
    """
    h = _heights(height)
    return h - h % RETARGET_INTERVAL


# --- Compact nBits <-> target ----------------------------------------------------------------


class CompactDecoded(NamedTuple):
    """Result of Core's ``SetCompact`` with both flags (see :func:`decode_compact`)."""

    target: int
    """The arith_uint256 value (bits beyond 256 dropped, as Core's ``<<=`` does)."""
    negative: bool
    """Core's ``*pfNegative``: sign bit 0x00800000 set on a non-zero mantissa."""
    overflow: bool
    """Core's ``*pfOverflow``: the value does not fit 256 bits."""


def decode_compact(bits: int) -> CompactDecoded:
    """Decode a compact ``nBits`` exactly as Core's ``SetCompact``, returning the flags.

    Parameters
    ----------
    bits : int
        Compact encoding, 0 <= bits < 2**32.

    Returns
    -------
    CompactDecoded
        ``(target, negative, overflow)``.

    Notes
    -----
    Bitcoin Core ``src/arith_uint256.cpp`` ``arith_uint256::SetCompact``: with
    size = bits >> 24 and word = bits & 0x007fffff,

        target = word >> 8 (3 - size)      if size <= 3
                 word << 8 (size - 3)      otherwise (mod 2**256)
        negative = word != 0 and bits & 0x00800000
        overflow = word != 0 and (size > 34 or (word > 0xff and size > 33)
                                   or (word > 0xffff and size > 32))

    where ``word`` in the flags is the value after the right shift.

    Examples
    --------
    >>> decode_compact(0x01FEDCBA)
    CompactDecoded(target=126, negative=True, overflow=False)
    """
    bits = operator.index(bits)
    if not 0 <= bits <= _UINT32_MAX:
        raise ValueError(f"compact bits must be a 32-bit unsigned integer (got {bits:#x})")
    size = bits >> 24
    word = bits & _MANTISSA_MASK
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = (word << (8 * (size - 3))) & _UINT256_MASK
    negative = word != 0 and (bits & _SIGN_BIT) != 0
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    return CompactDecoded(target, negative, overflow)


def compact_to_target(bits: int) -> int:
    """Target encoded by a compact ``nBits`` (Core's ``SetCompact``), refusing bad encodings.

    Parameters
    ----------
    bits : int
        Compact encoding, 0 <= bits < 2**32.

    Returns
    -------
    int
        The 256-bit target (a block hash must be <= it).

    Raises
    ------
    ValueError
        If Core's ``SetCompact`` would set the negative flag ("negative") or the overflow
        flag ("overflow"): such nBits are invalid in a block header (``DeriveTarget`` /
        ``CheckProofOfWork`` in ``src/pow.cpp`` reject them).

    Notes
    -----
    target = mantissa * 256**(exponent - 3), mantissa = bits & 0x007fffff, exponent =
    bits >> 24 (see :func:`decode_compact` for the exact shifts). Source: Bitcoin Core
    ``src/arith_uint256.cpp`` ``arith_uint256::SetCompact``.

    Examples
    --------
    >>> hex(compact_to_target(0x1D00FFFF))
    '0xffff0000000000000000000000000000000000000000000000000000'
    >>> hex(compact_to_target(0x05009234))
    '0x92340000'
    """
    target, negative, overflow = decode_compact(bits)
    if negative:
        raise ValueError(f"compact bits {bits:#010x} set the negative flag (sign bit 0x00800000)")
    if overflow:
        raise ValueError(f"compact bits {bits:#010x} set the overflow flag (target exceeds 256 bits)")
    return target


def target_to_compact(target: int, negative: bool = False) -> int:
    """Compact ``nBits`` of a target (Core's ``GetCompact``): truncates to a 23-bit mantissa.

    Parameters
    ----------
    target : int
        Target, 0 <= target < 2**256.
    negative : bool, optional
        Core's ``fNegative`` argument: set the sign bit on a non-zero mantissa (only for
        reproducing Core's tests; block targets are never negative).

    Returns
    -------
    int
        Compact encoding (32-bit).

    Raises
    ------
    ValueError
        If ``target`` is negative or does not fit in 256 bits (an arith_uint256).

    Notes
    -----
    Bitcoin Core ``src/arith_uint256.cpp`` ``arith_uint256::GetCompact``: size =
    ceil(bits(target) / 8); mantissa = the top 3 bytes (target >> 8 (size - 3), or
    target << 8 (3 - size) when size <= 3); if the mantissa has bit 0x00800000 set it is
    shifted right one byte and size incremented (so it never reads as negative). The
    encoded target is therefore <= the target; for target >= 2**23 the kept mantissa m is
    >= 0x8000 and the relative loss is < 1/m <= 2**-15; smaller targets encode exactly.

    Examples
    --------
    >>> hex(target_to_compact(0x80))
    '0x2008000'
    >>> hex(target_to_compact((1 << 224) - 1))
    '0x1d00ffff'
    """
    target = operator.index(target)
    if target < 0:
        raise ValueError(f"target must be >= 0 (got {target}); compact targets are unsigned")
    if target > _UINT256_MASK:
        raise ValueError("target does not fit in 256 bits (arith_uint256)")
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = (target << (8 * (3 - size))) & _UINT32_MAX
    else:
        compact = target >> (8 * (size - 3))
    if compact & _SIGN_BIT:
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and compact & _MANTISSA_MASK:
        compact |= _SIGN_BIT
    return compact


# --- Difficulty <-> target -------------------------------------------------------------------


def _checked_difficulty(difficulty) -> Fraction:
    d = float(difficulty)
    if not math.isfinite(d) or d <= 0.0:
        raise ValueError(f"difficulty must be finite and > 0 (got {difficulty!r})")
    return Fraction(d)


def difficulty_from_bits(bits: int) -> float:
    """Difficulty of a compact ``nBits``: target(0x1d00ffff) / target(bits).

    Parameters
    ----------
    bits : int
        Compact encoding of a non-zero target.

    Returns
    -------
    float
        Difficulty [-], the exact ratio rounded once to the nearest double.

    Raises
    ------
    ValueError
        For a negative, overflowing or zero target.

    Notes
    -----
    D = DIFF1_TARGET / SetCompact(bits), computed as an exact fraction and then converted
    to float (correctly rounded). Bitcoin Core's ``GetDifficulty`` (``src/rpc/blockchain.cpp``)
    computes the same ratio in doubles (0xffff / mantissa, then exact * or / 256): the same
    double; the ``difficulty`` columns of the shipped chain tables are made this way.

    Examples
    --------
    >>> difficulty_from_bits(0x1D00FFFF)
    1.0
    >>> difficulty_from_bits(0x1D00D86A)  # height 32256, the first retarget above 1
    1.1828995343128408
    >>> difficulty_from_bits(0x170331DB)  # height 840672 (bitcoinj checkpoints)
    88104191118793.16
    """
    target = compact_to_target(bits)
    if target == 0:
        raise ValueError(f"compact bits {bits:#010x} encode a zero target (no difficulty)")
    return float(Fraction(DIFF1_TARGET, target))


def target_from_difficulty(difficulty: float) -> int:
    """Integer target of a float difficulty: floor(target(0x1d00ffff) / D).

    Parameters
    ----------
    difficulty : float
        Difficulty [-], finite and > 0.

    Returns
    -------
    int
        Target, computed exactly from the float's binary value (no cap at ``POW_LIMIT``:
        a difficulty below 1 gives a target above ``DIFF1_TARGET``).

    Examples
    --------
    >>> target_from_difficulty(1.0) == DIFF1_TARGET
    True
    >>> target_from_difficulty(2.0) == DIFF1_TARGET // 2
    True
    """
    d = _checked_difficulty(difficulty)
    return (DIFF1_TARGET * d.denominator) // d.numerator


def bits_from_difficulty(difficulty: float) -> int:
    """Compact ``nBits`` whose difficulty is nearest to a float difficulty.

    Parameters
    ----------
    difficulty : float
        Difficulty [-], finite and > 0.

    Returns
    -------
    int
        Normalised compact encoding (the form GetCompact produces) of the target nearest
        to DIFF1_TARGET / D (mantissa rounded half-to-even, not truncated).

    Notes
    -----
    Rounding to the nearest mantissa, unlike ``GetCompact``'s truncation, makes the float
    round trip exact: ``bits_from_difficulty(difficulty_from_bits(b)) == b`` for every
    normalised ``b`` with a target >= 2**23 (the float carries 53 bits, the mantissa at most
    23, so the nearest mantissa is ``b``'s own). Use it to hand a float difficulty to
    :func:`next_bits`. ``target_to_compact(target_from_difficulty(D))`` may instead give
    one mantissa unit less, because the floor of a rounded float can fall just below the
    encoded target.

    Examples
    --------
    >>> hex(bits_from_difficulty(1.0))
    '0x1d00ffff'
    >>> hex(bits_from_difficulty(difficulty_from_bits(0x170331DB)))
    '0x170331db'
    """
    exact_target = DIFF1_TARGET / _checked_difficulty(difficulty)  # a Fraction
    if exact_target < _SIGN_BIT:  # below 2**23 every integer encodes exactly
        nearest = round(exact_target)
        if nearest == 0:
            raise ValueError(f"difficulty {difficulty!r} is too large: its target rounds to 0")
        return target_to_compact(nearest)
    # Smallest size with mantissa = target / 256**(size-3) < 0x800000 (then >= 0x8000).
    size = 3
    while exact_target >= _SIGN_BIT * Fraction(256) ** (size - 3):
        size += 1
    mantissa = round(exact_target / Fraction(256) ** (size - 3))
    if mantissa == _SIGN_BIT:  # rounded up into the sign bit: renormalise
        mantissa >>= 8
        size += 1
    compact = (size << 24) | mantissa
    if compact > _UINT32_MAX or decode_compact(compact).overflow:
        raise ValueError(f"difficulty {difficulty!r} is too small: its target exceeds 256 bits")
    return compact


# --- Retarget ----------------------------------------------------------------------------------


def next_bits(prev_bits: int, first_block_time: int, last_block_time: int) -> int:
    """nBits of the next epoch: Bitcoin Core's ``CalculateNextWorkRequired`` (mainnet).

    Parameters
    ----------
    prev_bits : int
        nBits of the epoch that just ended (``pindexLast->nBits``).
    first_block_time : int
        Header time of the epoch's first block [Unix s] (``nFirstBlockTime``: height
        h - 2015 for a retarget at h + 1).
    last_block_time : int
        Header time of the epoch's last block [Unix s] (``pindexLast->GetBlockTime()``).

    Returns
    -------
    int
        Compact nBits of the next epoch.

    Raises
    ------
    ValueError
        If ``prev_bits`` sets Core's negative or overflow flag (never on a valid chain).

    Notes
    -----
    Bitcoin Core ``src/pow.cpp`` ``CalculateNextWorkRequired``, integer arithmetic::

        timespan = clamp(last - first, T / 4, 4 T)            T = 1,209,600 s
        new      = SetCompact(prev_bits) * timespan            (arith_uint256, mod 2**256)
        new      = new / T                                     (floor)
        new      = min(new, powLimit)
        return GetCompact(new)

    The timespan covers 2,015 block intervals, not 2,016 (Core's off-by-one): at exactly
    600 s a block the difficulty rises by 2016/2015. Core's 256-bit multiply wraps modulo
    2**256; this port reproduces the wrap, which cannot happen on mainnet (target <=
    powLimit < 2**224 and timespan <= 4 T < 2**23, so the product is < 2**247).

    Examples
    --------
    >>> hex(next_bits(0x1D00FFFF, 1261130161, 1262152739))  # Core pow_tests get_next_work
    '0x1d00d86a'
    """
    timespan = operator.index(last_block_time) - operator.index(first_block_time)
    timespan = min(max(timespan, MIN_TIMESPAN_S), MAX_TIMESPAN_S)
    new_target = (compact_to_target(prev_bits) * timespan) & _UINT256_MASK
    new_target //= TARGET_TIMESPAN_S
    new_target = min(new_target, POW_LIMIT)
    return target_to_compact(new_target)


def next_difficulty(difficulty, actual_timespan_s):
    """Float retarget used by the engine: D' = max(1, D T / clamp(timespan, T/4, 4T)).

    Parameters
    ----------
    difficulty : float or array_like
        Difficulty of the epoch that just ended [-].
    actual_timespan_s : float or array_like
        Last-block time minus first-block time of that epoch [s] (2,015 intervals).
        Broadcast against ``difficulty``.

    Returns
    -------
    float or numpy.ndarray
        Next epoch's difficulty [-] (a Python float for scalar inputs).

    Notes
    -----
    D' = D * T / clamp(timespan, T/4, 4T) with T = 1,209,600 s, floored at 1: the exact cap
    is powLimit, whose compact form 0x1d00ffff has difficulty exactly 1.0
    (``difficulty_from_bits(0x1d00ffff) == 1.0``); every target in (DIFF1_TARGET,
    powLimit] also encodes to 0x1d00ffff, so flooring the float at 1.0 reproduces the cap
    exactly.

    Agreement with the exact rule (Core ``src/pow.cpp`` ``CalculateNextWorkRequired``):
    for prev_bits with target t >= 2**23 and D = difficulty_from_bits(prev_bits),

        r = difficulty_from_bits(next_bits(prev_bits, 0, s)) / next_difficulty(D, s) - 1

    satisfies -2**-50 < r < 2**-15 + 1/t_new + 2**-50: next_bits truncates the new target
    to a mantissa m >= 0x8000 (relative < 1/m <= 2**-15, always raising the difficulty) and
    floors the integer division (relative < 1/t_new, < 2**-150 on mainnet), and the float
    path rounds a few times (each <= 2**-53). Compounded over many retargets the float and
    exact difficulties drift apart by at most ~2**-15 per epoch.

    Examples
    --------
    >>> next_difficulty(1e14, 1_209_600 / 2)
    200000000000000.0
    >>> next_difficulty([1e14, 1e14, 1.0], [10.0, 1e9, 2e6]).tolist()
    [400000000000000.0, 25000000000000.0, 1.0]
    """
    d = np.asarray(difficulty, dtype=np.float64)
    clamped = np.clip(np.asarray(actual_timespan_s, dtype=np.float64), MIN_TIMESPAN_S, MAX_TIMESPAN_S)
    return _float_out(np.maximum(d * TARGET_TIMESPAN_S / clamped, 1.0))


# --- Difficulty <-> hashrate <-> blocks --------------------------------------------------------


def hashrate_hs_from_difficulty(difficulty, block_interval_s=float(TARGET_BLOCK_INTERVAL_S)):
    """Network hashrate implied by a difficulty and a mean block interval.

    Parameters
    ----------
    difficulty : float or array_like
        Difficulty [-].
    block_interval_s : float or array_like, optional
        Mean block interval [s]; default 600 (the target spacing).

    Returns
    -------
    float or numpy.ndarray
        Hashrate [H/s] = D * 2**32 / interval.

    Notes
    -----
    A block at difficulty D takes D * 2**32 hashes on average (DESIGN.md, "Bitcoin
    mechanics"; the exact figure 2**256 / (target + 1) is 2**32 * 65536/65535 * D, 1.5e-5
    more, a convention difference every explorer ignores).

    Examples
    --------
    >>> round(hashrate_hs_from_difficulty(1.5e14) / 1e18, 1)  # EH/s
    1073.7
    """
    d = np.asarray(difficulty, dtype=np.float64)
    return _float_out(d * HASHES_PER_DIFFICULTY_1 / np.asarray(block_interval_s, dtype=np.float64))


def difficulty_from_hashrate_hs(hashrate_hs, block_interval_s=float(TARGET_BLOCK_INTERVAL_S)):
    """Difficulty at which a hashrate finds blocks every ``block_interval_s`` on average.

    Parameters
    ----------
    hashrate_hs : float or array_like
        Network hashrate [H/s].
    block_interval_s : float or array_like, optional
        Mean block interval [s]; default 600.

    Returns
    -------
    float or numpy.ndarray
        Difficulty [-] = H * interval / 2**32 (inverse of
        :func:`hashrate_hs_from_difficulty`).

    Examples
    --------
    >>> difficulty_from_hashrate_hs(2**32 / 600)
    1.0
    """
    h = np.asarray(hashrate_hs, dtype=np.float64)
    return _float_out(h * np.asarray(block_interval_s, dtype=np.float64) / HASHES_PER_DIFFICULTY_1)


def expected_blocks_per_day(hashrate_hs, difficulty):
    """Expected blocks found per day by a hashrate at a difficulty.

    Parameters
    ----------
    hashrate_hs : float or array_like
        Hashrate [H/s] (a fleet's, a pool's or the network's).
    difficulty : float or array_like
        Difficulty [-]. Broadcast against ``hashrate_hs``.

    Returns
    -------
    float or numpy.ndarray
        Blocks per day = 86,400 * H / (D * 2**32) (the Poisson mean of DESIGN.md,
        "Bitcoin mechanics").

    Examples
    --------
    >>> expected_blocks_per_day(hashrate_hs_from_difficulty(1.5e14), 1.5e14)
    144.0
    """
    h = np.asarray(hashrate_hs, dtype=np.float64)
    d = np.asarray(difficulty, dtype=np.float64)
    return _float_out(SECONDS_PER_DAY * h / (d * HASHES_PER_DIFFICULTY_1))
