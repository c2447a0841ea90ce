"""The share price's path statistics, one close at a time: running sums for the equity's beta to BTC
and the running maximum drawdown.

On a path whose share price ``S`` and BTC price ``P`` were both above 0 yesterday and today, the
close adds ``x = ln(P_t / P_{t−1})`` and ``y = ln(S_t / S_{t−1})`` to the sums ``n, Σx, Σy, Σx², Σxy``
(the metrics registry turns them into the least-squares beta ``(nΣxy − ΣxΣy) / (nΣx² − (Σx)²)``);
the peak ``max(peak, S_t)`` and the drawdown ``(peak − S_t) / peak`` (NaN while the peak is 0)
give the maximum drawdown. Units: USD per share and per BTC; the sums are of log returns.

:meth:`EquityReturns.track` is the numpy reference; once a process's closes pay for it
(:data:`simulator.finance.structural.VALUATION_KERNEL`) the arithmetic runs in two compiled passes around numpy's ``log``
(:mod:`simulator.finance.valuation_kernel`), with the same floats (tests/test_valuation_kernel.py).
The drawdown is never ``−0.0`` (``peak − S ≥ +0``), so ``np.fmax``'s tie between ``±0``, which its
SIMD and scalar loops break differently, never arises.
"""
from __future__ import annotations

import numpy as np

from simulator.finance.structural import VALUATION_KERNEL

#: The beta's running sums, in order.
SUMS = ("n", "x", "y", "xx", "xy")


class EquityReturns:
    """The running sums and peaks of ``paths`` paths (module docstring)."""

    def __init__(self, paths: int):
        #: The sums (:data:`SUMS`), the peak and the maximum drawdown as the rows of one ``(7, paths)`` table, written
        #: in place (the compiled close takes it whole: ``close_value_kernel.tail_pass``); the names below are views
        #: of its rows, made when asked (a copied ledger's returns keep one table).
        self.table = np.zeros((len(SUMS) + 2, paths))
        self.table[-1] = np.nan
        self.first_share_price_usd = None
        self.last_share_price_usd = self.last_btc_price_usd = self._last_positive = None
        self._peaks_positive = False

    @property
    def sums(self) -> dict[str, np.ndarray]:
        """The beta's running sums by name (:data:`SUMS`), views of :attr:`table`'s rows."""
        return {k: self.table[i] for i, k in enumerate(SUMS)}

    @property
    def peak_share_price_usd(self) -> np.ndarray:
        return self.table[len(SUMS)]

    @property
    def max_drawdown(self) -> np.ndarray:
        return self.table[len(SUMS) + 1]

    def track(self, day: int, share_price_usd: np.ndarray, btc_price_usd: np.ndarray) -> None:
        """Add the close of ``day`` (its share and BTC prices ``(paths,)``)."""
        sp, price = share_price_usd, btc_price_usd
        kernel = VALUATION_KERNEL.for_call(len(sp), _NUMPY_CLOSE_COST)
        if kernel is not None and day > 0:
            price_ratio, share_ratio, ok, positive = kernel.return_ratios(sp, price, self.last_share_price_usd,
                                                                         self.last_btc_price_usd, self._last_positive)
            s = self.sums
            kernel.add_returns(np.log(price_ratio), np.log(share_ratio), ok, sp, s["n"], s["x"], s["y"], s["xx"],
                               s["xy"], self.peak_share_price_usd, self.max_drawdown)
        else:
            positive = self._numpy_track(day, sp, price)
        if day == 0:
            self.first_share_price_usd = sp.copy()
        self.last_share_price_usd, self.last_btc_price_usd, self._last_positive = sp.copy(), price.copy(), positive

    def _numpy_track(self, day: int, sp: np.ndarray, price: np.ndarray) -> np.ndarray:
        positive = (sp > 0) & (price > 0)
        if day > 0:
            ok = positive & self._last_positive  # (yesterday's share price and BTC price > 0)
            if ok.all():  # (the masks below would change nothing)
                x, y = np.log(price / self.last_btc_price_usd), np.log(sp / self.last_share_price_usd)
            else:
                x = np.log(np.where(ok, price / np.where(ok, self.last_btc_price_usd, 1.0), 1.0))
                y = np.log(np.where(ok, sp / np.where(ok, self.last_share_price_usd, 1.0), 1.0))
            s = self.sums
            s["n"] += ok
            s["x"] += x
            s["y"] += y
            s["xx"] += x * x
            s["xy"] += x * y
        peak = np.maximum(self.peak_share_price_usd, sp)
        self.peak_share_price_usd[:] = peak
        # a peak never falls (the share price is never NaN): once above 0 on every path, no mask is needed
        self._peaks_positive = self._peaks_positive or bool((peak > 0).all())
        if self._peaks_positive:
            drawdown = (peak - sp) / peak
        else:
            drawdown = np.full(len(sp), np.nan)
            np.divide(peak - sp, peak, out=drawdown, where=peak > 0)
        self.max_drawdown[:] = np.fmax(self.max_drawdown, drawdown)
        return positive


#: The numpy form's fixed cost (~20 µs a close) in :data:`simulator.finance.structural.VALUATION_KERNEL`'s
#: units (one path's share of a close, ~0.05 µs).
_NUMPY_CLOSE_COST = 400
