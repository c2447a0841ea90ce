"""Pool payouts: FPPS, PPLNS and solo, as a correction to the FPPS expected value.

FPPS pays every share its expected value at the current difficulty (DESIGN.md, "Pool
payouts"): ``btc = hashrate × 86400 / (D 2^32) × (subsidy + fees) × (1 − fee)``; the engine
books that per cohort. PPLNS and solo pay out of blocks actually found, so their luck passes
through. With ``λ`` the day's expected network blocks, ``N`` the blocks actually mined and
``s`` the share of network hashrate that finds the blocks that pay (the pool's for PPLNS, the
fleet's own running hashrate for solo):

    found ~ Binomial(N, s),   paid = FPPS × found / (λ s)

because FPPS = (h / H) λ R and the luck-bearing payout is (h / H_pool) × found × R (PPLNS)
or found × R (solo), with R the day's reward per block. In ``expected`` block mode
``found = λ s`` and both equal FPPS exactly. The pool fee applies to all three (set
``pool.fee: 0`` for solo mining). A pool smaller than the fleet's running hashrate is taken
to be the fleet's size.
"""
from __future__ import annotations

import numpy as np

from simulator import units
from simulator.rng import binomial_inverse_cdf


def fpps_btc(running_ths: np.ndarray, reward_btc_per_hs_day: np.ndarray, pool_fee: float) -> np.ndarray:
    """FPPS payout of the day [BTC]: ``running_ths × 10¹² × reward_btc_per_hs_day × (1 − fee)``.

    ``reward_btc_per_hs_day`` is the network's expected reward per hash per second over the day,
    ``86400 / (D 2³²) × (subsidy + fees)`` time-weighted across retargets and halvings
    (:func:`simulator.network.advance_day`); ``pool_fee`` a fraction.

    >>> fpps_btc(np.array([1e6]), np.array([5e-19]), 0.02).round(6).tolist()  # 1 EH/s at $50/PH/day, $100k
    [0.49]
    """
    return running_ths * units.HS_PER_THS * reward_btc_per_hs_day * (1 - pool_fee)


def paying_share(payout: str, pool_hashrate_ehs: float, running_ths: np.ndarray,
                 network_hashrate_ehs: np.ndarray) -> np.ndarray:
    """Share of the network hashrate whose blocks pay [fraction]: the pool's (``pplns``; at least the
    fleet's running hashrate) or the fleet's own (``solo``)."""
    network_ths = network_hashrate_ehs * units.THS_PER_EHS
    if payout == "pplns":
        return np.maximum(pool_hashrate_ehs * units.THS_PER_EHS, running_ths) / network_ths
    return running_ths / network_ths


def luck_factor(u: np.ndarray | None, network_blocks: np.ndarray, expected_blocks: np.ndarray,
                share: np.ndarray) -> np.ndarray:
    """``found / (λ s)`` per path, with ``found ~ Binomial(N, s)`` drawn from uniforms ``u``.

    ``u = None`` is ``expected`` mode (factor 1). Paths with nothing expected get 0.

    Examples
    --------
    >>> luck_factor(None, np.array([144.0]), np.array([144.0]), np.array([0.3])).tolist()
    [1.0]
    >>> luck_factor(np.array([0.5]), np.array([100.0]), np.array([144.0]), np.array([0.5])).tolist()
    [0.6944444444444444]
    """
    share = np.clip(share, 0.0, 1.0)
    expected_found = expected_blocks * share
    if u is None:
        return np.where(expected_found > 0, 1.0, 0.0)
    found = binomial_inverse_cdf(u, network_blocks, share)
    out = np.zeros_like(expected_found)
    np.divide(found, expected_found, out=out, where=expected_found > 0)
    return out
