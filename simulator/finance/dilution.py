"""Diluted share count of options, RSUs and warrants by the treasury-stock method.

An instrument delivering ``n`` shares at exercise price ``K`` is exercised when the share
price ``P`` is above ``K``; the company is assumed to buy back shares at ``P`` with the
exercise proceeds ``n·K``, so the net shares added are

    ΔN = n · max(0, 1 − K / P)            (P > 0; ΔN = 0 when P ≤ 0)

and the diluted count is ``N_diluted = N_basic + Σ_i ΔN_i``. RSUs and PSUs have ``K = 0``
and add their whole count. Units: shares, USD per share. Source of the method: ASC 260-10-45-23
(treasury-stock method for options and warrants in diluted EPS), the method the filings'
EPS notes use. Convertible notes are not here: the ledger counts them if-converted.
"""
from __future__ import annotations

import numpy as np


def treasury_stock_shares(instruments, share_price_usd) -> np.ndarray:
    """Net shares added by ``instruments`` (items with ``count`` and ``strike_usd``) at ``share_price_usd``.

    ``share_price_usd`` may be a scalar or an array over paths; the result has its shape.

    Examples
    --------
    >>> from types import SimpleNamespace as I
    >>> float(treasury_stock_shares([I(count=100.0, strike_usd=5.0), I(count=10.0, strike_usd=0.0)], 20.0))
    85.0
    >>> float(treasury_stock_shares([I(count=100.0, strike_usd=25.0)], 20.0))  # out of the money
    0.0
    """
    price = np.asarray(share_price_usd, dtype=float)
    added = np.zeros_like(price)
    positive = price > 0
    safe = np.where(positive, price, 1.0)
    for item in instruments:
        added = added + np.where(positive, item.count * np.maximum(0.0, 1.0 - item.strike_usd / safe), 0.0)
    return added


def diluted_shares(basic_shares, instruments, share_price_usd) -> np.ndarray:
    """``basic_shares`` + :func:`treasury_stock_shares` (convertibles excluded)."""
    return np.asarray(basic_shares, dtype=float) + treasury_stock_shares(instruments, share_price_usd)
