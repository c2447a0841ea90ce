"""Transaction fees per block [BTC per block], vectorised over Monte Carlo paths.

Same protocol as :mod:`simulator.market.price`: ``start(streams) -> state`` and
``block(state, day0, n_days, streams) -> (fees, state)`` with ``fees`` of shape
``(n_days, paths)``: the mean fees per block of days ``day0 … day0 + n_days − 1``. Every
model is listed in :data:`FEE_MODELS` under its scenario ``model:`` name.
"""
from __future__ import annotations


import math
from dataclasses import dataclass


import numpy as np

from simulator.market.price import MARKET_KERNEL
from simulator.market.validation import require
from simulator.market.series_csv import CsvDailyModel, check_block
from simulator.rng import PathStreams


@dataclass(frozen=True)
class FeeState:
    """State of a fee path: ``day`` = next day to simulate; ``log_fee`` = the last day's
    log deviation ``x`` (``None`` before day 0), shape ``(paths,)``."""

    day: int
    log_fee: np.ndarray | None = None


@dataclass(frozen=True)
class ConstantFees:
    """The same fees per block every day, on every path.

    Parameters
    ----------
    btc_per_block : float
        Fees per block [BTC], ≥ 0.

    Notes
    -----
    ``f_d = btc_per_block``; no randomness. Parameter source: mean fees per block were
    0.028 BTC over 2025-03-22 … 2026-03-22 (shipped Coin Metrics data, ``fees_btc / blocks``).

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = ConstantFees(btc_per_block=0.025)
    >>> streams = PathStreams(7, "fees", np.arange(2))
    >>> fees, state = model.block(model.start(streams), 0, 3, streams)
    >>> fees.tolist()
    [[0.025, 0.025], [0.025, 0.025], [0.025, 0.025]]
    """

    btc_per_block: float

    def __post_init__(self) -> None:
        require(self.btc_per_block >= 0, f"btc_per_block must be >= 0, got {self.btc_per_block}")

    def start(self, streams: PathStreams) -> FeeState:
        return FeeState(0)

    def block(self, state: FeeState, day0: int, n_days: int, streams: PathStreams) -> tuple[np.ndarray, FeeState]:
        check_block(state.day, day0, n_days)
        return np.full((n_days, streams.paths), float(self.btc_per_block)), FeeState(day0 + n_days)


@dataclass(frozen=True)
class LognormalFees:
    r"""Log-AR(1) fees per block with a fixed mean.

    Parameters
    ----------
    btc_per_block : float
        Mean fees per block [BTC], ≥ 0: ``E[f_d] = btc_per_block`` on every day.
    vol : float
        Stationary standard deviation ``s`` of log fees [-], ≥ 0. Default 0.5.
    phi : float
        Daily AR(1) coefficient φ of log fees, in [0, 1). Default 0.9.

    Notes
    -----
    .. math::
        x_0 \sim N(0, s^2),\qquad x_d = φ x_{d-1} + \sqrt{1 - φ^2}\, s\, ε_d,\qquad
        f_d = \bar f\, e^{x_d - s^2/2}

    ``x`` is stationary, so ``E[f_d] = \bar f`` exactly and ``corr(x_d, x_{d−1}) = φ``
    (half-life ``ln 2 / −ln φ`` days). One standard normal per path and day.

    Parameter sources: log fees per block (``fees_btc / blocks`` of the shipped Coin Metrics
    data) had a standard deviation of 0.40 and a lag-1 autocorrelation of 0.71 over
    2025-03-22 … 2026-03-22 (1.3 and 0.97 over the three years to then, which include the
    2023–2024 inscription and Runes fee spikes).

    Examples
    --------
    >>> from simulator.rng import PathStreams
    >>> model = LognormalFees(btc_per_block=0.025, vol=0.5, phi=0.9)
    >>> streams = PathStreams(7, "fees", np.arange(4))
    >>> fees, state = model.block(model.start(streams), 0, 365, streams)
    >>> fees.shape, bool((fees > 0).all())
    ((365, 4), True)
    """

    btc_per_block: float
    vol: float = 0.5
    phi: float = 0.9

    def __post_init__(self) -> None:
        require(self.btc_per_block >= 0, f"btc_per_block must be >= 0, got {self.btc_per_block}")
        require(self.vol >= 0, f"vol must be >= 0, got {self.vol}")
        require(0 <= self.phi < 1, f"phi must be in [0, 1), got {self.phi}")

    def start(self, streams: PathStreams) -> FeeState:
        return FeeState(0)

    def block(self, state: FeeState, day0: int, n_days: int, streams: PathStreams) -> tuple[np.ndarray, FeeState]:
        check_block(state.day, day0, n_days)
        eps = streams.normal((n_days,))
        s, phi = float(self.vol), float(self.phi)
        innovation = math.sqrt(1.0 - phi**2) * s
        x = np.empty_like(eps)
        previous, first = state.log_fee, 0
        if previous is None and n_days:  # the stationary start x_0 = s ε_0
            previous, first = np.multiply(s, eps[0], out=x[0]), 1
        shocks = np.multiply(innovation, eps[first:], out=eps[first:])  # √(1 − φ²) s ε_d, every day at once
        kernel = MARKET_KERNEL.for_call(shocks.size) if first < n_days else None
        if kernel is not None:  # (the recursion compiled: the same products and sums, market_kernel.ar1)
            kernel.ar1(x, previous, shocks, phi, first)
            previous = x[-1]
        for k in range(first, n_days if kernel is None else 0):  # AR(1) in time, x_d = φ x_{d−1} + shock_d
            previous = np.add(np.multiply(phi, previous, out=x[k]), shocks[k - first], out=x[k])
        previous = previous if previous is None or not n_days else previous.copy()  # (x is overwritten below)
        fees = np.exp(np.subtract(x, 0.5 * s**2, out=x), out=x)  # b̄ · exp(x − s²/2), written over x
        return np.multiply(self.btc_per_block, fees, out=fees), FeeState(day0 + n_days, previous)


class CsvFees(CsvDailyModel):
    """Fees per block read from a file: ``date,fees`` or ``date,path,fees``.

    Parameters
    ----------
    file : str or Path
        Long table (see :mod:`simulator.market.series_csv`); the value column is the day's
        mean fees per block [BTC], ≥ 0. A single series is used for every path.
    start : datetime.date or ISO str
        The scenario start; day ``d`` reads the row dated ``start + d``. Stored as
        ``start_date``.
    horizon_days : int, optional
        If given, :meth:`start` checks up front that the file covers the whole horizon.

    Notes
    -----
    ``f_d`` = the file's value on ``start + d``; no randomness. Parameter source: the user's
    file (e.g. historical ``fees_btc / blocks`` for a backtest).

    Examples
    --------
    >>> import tempfile, os
    >>> from simulator.rng import PathStreams
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("date,fees_btc\\n2026-01-01,0.02\\n2026-01-02,0.03\\n")
    >>> model = CsvFees(file=f.name, start="2026-01-01")
    >>> streams = PathStreams(7, "fees", np.arange(2))
    >>> fees, state = model.block(model.start(streams), 0, 2, streams)
    >>> fees.tolist()
    [[0.02, 0.02], [0.03, 0.03]]
    >>> os.remove(f.name)
    """

    value_name = "fees"
    minimum = 0.0


#: The ``market.fees.model`` registry.
FEE_MODELS: dict[str, type] = {
    "constant": ConstantFees,
    "lognormal": LognormalFees,
    "csv": CsvFees,
}
