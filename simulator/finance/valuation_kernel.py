"""The close's share value, compiled: :func:`simulator.finance.structural.share_value` in three passes over the paths.

:func:`simulator.finance.structural.share_value` (numpy) is the reference: the face of the debt and its
face-weighted years, the asset volatility, the NAV per share, the market's intangible and the
equity multiple, Merton's call and the price per diluted share, about fifty numpy calls a day on
``(paths,)`` arrays. The passes here do the same floating-point operations in the same order on
each path, with numpy's semantics for the comparisons (``maximum``/``minimum``/``clip`` return the
second operand on a tie and propagate NaN; a sum over instruments starts from +0.0), so
every number is the reference's, bit for bit (tests/test_valuation_kernel.py). What numba computes
differently is left to numpy between the passes: ``log`` of the asset-to-face ratio, ``exp(−rT)``
and scipy's ``ndtr`` (numba's ``log``/``exp`` are the C library's, which differ from numpy's SIMD
ones in the last bit for some arguments).

Compiled with ``cache=True`` and ``nogil``, never ``parallel`` (worker processes fork); importing
this module imports numba, which :mod:`simulator.finance.structural` does only once a run's days
pay for it (:data:`simulator.finance.structural.VALUATION_KERNEL`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator import numba_cache
from simulator.kernel_math import clip, maximum

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it


@njit(cache=True, nogil=True, error_model="numpy")
def prepare(faces, years, diluted, assets, linked, btc_vol, min_vol, intangible0, assets0, linked_share0,
            price, price0, long_run, excess, decay, min_years, open_ended_years):
    """First pass: NAV and NAV per share, and Merton's inputs ``(V + G, F, T, σ√T, V/F)`` (the ratio
    masked as the reference masks it). ``long_run`` says whether ``excess`` (``p_∞ − 1``) applies;
    ``min_years`` and ``open_ended_years`` are :mod:`~simulator.finance.structural`'s (arguments, not
    globals: numba would fix a global into its cached machine code)."""
    m, paths = faces.shape
    nav, nav_ps, value, face_out = np.empty(paths), np.empty(paths), np.empty(paths), np.empty(paths)
    t_out, sigma_out, sd_out, ratio = np.empty(paths), np.empty(paths), np.empty(paths), np.empty(paths)
    for p in range(paths):
        face, weighted = 0.0, 0.0  # (numpy's sum over rows starts from +0.0)
        for i in range(m):
            face += faces[i, p]
            weighted += faces[i, p] * years[i, p]
        t_w = weighted / face if face > 0 else open_ended_years
        v = assets[p]
        w = linked[p] / v if v > 0 else 0.0
        sigma = maximum(min_vol, clip(w, 0.0, 1.0) * btc_vol[p])
        nav[p] = v - face
        nav_ps[p] = nav[p] / diluted[p] if diluted[p] > 0 else 0.0
        w0 = clip(linked_share0[p], 0.0, 1.0)
        scale = w0 * (price[p] / price0[p]) + 1.0 - w0
        g = excess * v + (intangible0[p] - excess * assets0[p]) * scale * decay if long_run else intangible0[p] * scale
        vm = v + g
        f = maximum(face, 0.0)
        t = maximum(t_w, min_years)
        value[p], face_out[p], t_out[p], sigma_out[p] = vm, f, t, sigma
        sd_out[p] = sigma * math.sqrt(t)
        if vm > 0 and f > 0:
            ratio[p] = vm / f
        else:
            ratio[p] = 1.0 / (f if f > 0 else 1.0)
    return nav, nav_ps, value, face_out, t_out, sigma_out, sd_out, ratio


@njit(cache=True, nogil=True, error_model="numpy")
def moneyness(log_ratio, sigma, t, sd, rate):
    """Second pass: ``d₁``, ``d₂ = d₁ − σ√T`` and ``−rT`` from numpy's ``log(V/F)``."""
    paths = log_ratio.shape[0]
    d1, d2, minus_rt = np.empty(paths), np.empty(paths), np.empty(paths)
    for p in range(paths):
        s = sigma[p]
        d = (log_ratio[p] + (rate + 0.5 * (s * s)) * t[p]) / sd[p]
        d1[p], d2[p], minus_rt[p] = d, d - sd[p], -rate * t[p]
    return d1, d2, minus_rt


@njit(cache=True, nogil=True, error_model="numpy")
def price_per_share(value, face, n1, n2, discount, multiple0, long_run, decay, diluted):
    """Third pass: Merton's equity from scipy's ``N(d₁)``, ``N(d₂)`` and numpy's ``exp(−rT)``, times the
    equity multiple, per diluted share."""
    paths = value.shape[0]
    out = np.empty(paths)
    for p in range(paths):
        v, f = value[p], face[p]
        if v > 0:
            equity = maximum(v * n1[p] - f * discount[p] * n2[p], 0.0) if f > 0 else v
        else:
            equity = 0.0
        m = 1.0 + (multiple0[p] - 1.0) * decay if long_run else multiple0[p]
        out[p] = equity * m / diluted[p] if diluted[p] > 0 else 0.0
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def return_ratios(share_price, btc_price, last_share_price, last_btc_price, last_positive):
    """:class:`simulator.finance.equity_returns.EquityReturns`' first pass: ``P_t / P_{t−1}`` and
    ``S_t / S_{t−1}`` where both prices were above 0 both days (else 1.0), that mask, and today's."""
    paths = share_price.shape[0]
    price_ratio, share_ratio = np.empty(paths), np.empty(paths)
    ok, positive = np.empty(paths, dtype=np.bool_), np.empty(paths, dtype=np.bool_)
    for p in range(paths):
        positive[p] = share_price[p] > 0 and btc_price[p] > 0
        ok[p] = positive[p] and last_positive[p]
        price_ratio[p] = btc_price[p] / last_btc_price[p] if ok[p] else 1.0
        share_ratio[p] = share_price[p] / last_share_price[p] if ok[p] else 1.0
    return price_ratio, share_ratio, ok, positive


@njit(cache=True, nogil=True, error_model="numpy")
def add_returns(x, y, ok, share_price, n, sum_x, sum_y, sum_xx, sum_xy, peak, max_drawdown):
    """The second pass, in place: the beta's sums from numpy's log returns ``x`` (BTC) and ``y`` (share),
    the peak and the maximum drawdown (``np.fmax``: NaN only where both are; the drawdown is never −0.0).
    A loop per output, as numpy's steps go (each path's operations as before; with the eleven arrays in one
    loop LLVM kept it scalar, as it cannot rule out their overlap: ~2.0 → ~0.5 µs at 500 paths)."""
    paths = share_price.shape[0]
    for p in range(paths):
        n[p] += 1.0 if ok[p] else 0.0
    for p in range(paths):
        sum_x[p] += x[p]
    for p in range(paths):
        sum_y[p] += y[p]
    for p in range(paths):
        sum_xx[p] += x[p] * x[p]
    for p in range(paths):
        sum_xy[p] += x[p] * y[p]
    for p in range(paths):
        peak[p] = maximum(peak[p], share_price[p])
    for p in range(paths):
        top = peak[p]
        drawdown = (top - share_price[p]) / top if top > 0 else np.nan
        m = max_drawdown[p]
        if m != m or drawdown > m:
            max_drawdown[p] = drawdown
