"""``market:``: the exogenous BTC price model (gbm, jump, regime, bootstrap, csv, history),
the transaction-fee model (constant, lognormal, csv, history) and the correlation of index
power prices."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from simulator.config.schema.base import Fraction, IsoDate, NonNegative, Positive, PositiveInt, Strict


class GbmPrice(Strict):
    """Geometric Brownian motion: dS/S = mu dt + sigma dW, so E[S_t] = S0 exp(mu t)."""

    model: Literal["gbm"]
    initial_usd: Positive
    """BTC price at the start instant [USD/BTC]."""
    drift_annual: float = 0.0
    """Mean drift mu [1/year]; may be negative."""
    vol_annual: NonNegative = 0.0
    """Volatility sigma [1/sqrt(year)]."""


class JumpPrice(GbmPrice):
    """GBM plus compensated Merton jumps (the mean drift still holds)."""

    model: Literal["jump"]
    jump_intensity_annual: NonNegative = 0.0
    """Expected number of jumps per year."""
    jump_mean: float = 0.0
    """Mean of the log jump size."""
    jump_vol: NonNegative = 0.0
    """Standard deviation of the log jump size."""


class Regime(Strict):
    """One regime of a Markov-switching price model."""

    drift_annual: float = 0.0
    """Mean drift in this regime [1/year]."""
    vol_annual: NonNegative = 0.0
    """Volatility in this regime [1/sqrt(year)]."""
    mean_duration_days: Positive
    """Mean of the exponential duration of a stay in this regime [days]."""


class RegimePrice(Strict):
    """Markov-switching GBM (e.g. bull and bear) with exponential regime durations."""

    model: Literal["regime"]
    initial_usd: Positive
    """BTC price at the start instant [USD/BTC]."""
    regimes: tuple[Regime, ...] = Field(min_length=1)
    """The regimes; a switch goes to one of the others with equal probability."""
    initial: Annotated[int, Field(ge=0)] = 0
    """Index of the regime at the start."""


class BootstrapPrice(Strict):
    """Block bootstrap of historical daily log returns (shipped Coin Metrics data by default)."""

    model: Literal["bootstrap"]
    initial_usd: Positive
    """BTC price at the start instant [USD/BTC]."""
    block_days: PositiveInt = 30
    """Length of each resampled block of consecutive daily returns [days]."""
    from_date: Optional[IsoDate] = Field(None, alias="from")
    """First day of the history window (default: five years before its end)."""
    to_date: Optional[IsoDate] = Field(None, alias="to")
    """Last day of the history window (default: the last day of the history)."""
    drift_annual: Optional[float] = None
    """If given, returns are re-centred so that E[S_t] = S0 exp(drift_annual t)."""
    history_csv: Optional[str] = None
    """Your own daily history (same columns as the shipped file), relative to the scenario."""


class CsvSeries(Strict):
    """A long CSV table ``date[,path],value``; one series is broadcast to all paths."""

    model: Literal["csv"]
    file: str
    """Path of the CSV file, relative to the scenario file."""


class HistoryPrice(Strict):
    """The real daily closes of a history file (what ``hashfleet backtest`` replays)."""

    model: Literal["history"]
    history_csv: Optional[str] = None
    """Your own daily history (same columns as the shipped Coin Metrics file), relative to the
    scenario; default the shipped file."""


BtcPriceModel = Annotated[Union[GbmPrice, JumpPrice, RegimePrice, BootstrapPrice, CsvSeries, HistoryPrice],
                          Field(discriminator="model")]


class ConstantFees(Strict):
    """The same fees in every block."""

    model: Literal["constant"] = "constant"
    btc_per_block: NonNegative = 0.0
    """Transaction fees per block [BTC]."""


class LognormalFees(Strict):
    """Log-AR(1) fees with a stationary lognormal law of mean ``btc_per_block``."""

    model: Literal["lognormal"]
    btc_per_block: NonNegative
    """Mean fees per block [BTC]."""
    vol: NonNegative = 0.5
    """Stationary standard deviation of log fees."""
    phi: Annotated[float, Field(ge=0, lt=1)] = 0.9
    """Daily autocorrelation of log fees."""


class HistoryFees(Strict):
    """The real fees per block of a history file: the day's fees / the day's blocks."""

    model: Literal["history"]
    history_csv: Optional[str] = None
    """Your own daily history, relative to the scenario; default the shipped file."""


FeeModel = Annotated[Union[ConstantFees, LognormalFees, CsvSeries, HistoryFees], Field(discriminator="model")]


class Market(Strict):
    """Exogenous market paths."""

    btc_price: BtcPriceModel
    """BTC price model (gbm | jump | regime | bootstrap | csv | history)."""
    fees: FeeModel = ConstantFees()
    """Fee model (constant | lognormal | csv | history)."""
    power_correlation: Fraction = 0.0
    """Correlation of the daily log-price shocks of any two index sites (one common factor)."""
