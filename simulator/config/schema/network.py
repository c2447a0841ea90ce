"""``network:``, ``pool:`` and ``signals:``: the Bitcoin network at the start and its hashrate
model (constant, growth, endogenous, csv, history), the pool payout, and the parameters of
the daily signal columns (the rest of the network's miners)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from simulator.config.schema.base import Fraction, IsoDateTime, NonNegative, Positive, Strict
from simulator.config.schema.market import CsvSeries


class _HashrateBase(Strict):
    initial_ehs: Optional[Positive] = None
    """Network hashrate at the start [EH/s]; default: implied by initial_difficulty."""


class ConstantHashrate(_HashrateBase):
    """Network hashrate stays at its initial value."""

    model: Literal["constant"] = "constant"


class GrowthHashrate(_HashrateBase):
    """H_t = H0 (1 + growth_annual)^(t / 365), optionally with GBM noise around the trend."""

    model: Literal["growth"]
    growth_annual: Annotated[float, Field(gt=-1)]
    """Annual growth of the trend (0.30 = +30 % a year)."""
    vol_annual: NonNegative = 0.0
    """Volatility around the trend [1/sqrt(year)]; the mean follows the trend."""


class EndogenousHashrate(_HashrateBase):
    """The rest of the world buys machines while they pay back fast enough and unplugs
    vintages under water (:mod:`simulator.network_endogenous`). Defaults: ``hashfleet
    calibrate`` on 2022-03-01 … 2026-03-22 (README, "Calibrate"; docs/decisions.md, issue 17)."""

    model: Literal["endogenous"]
    lag_days: Annotated[int, Field(ge=1)] = 14
    """Days from a hashprice to the purchases it causes (day d uses day d − lag_days's)."""
    elasticity: NonNegative = 1.6
    """Annual growth per unit of relative payback excess (target ÷ payback − 1) [1/year]."""
    payback_target_months: Positive = 15.0
    """Payback a buyer accepts for the newest machine at the ASIC price index [months]."""
    capitulation_days: Annotated[int, Field(ge=1)] = 90
    """Days a vintage's breakeven must exceed hashprice before it switches off."""


class CsvHashrate(CsvSeries):
    """Network hashrate from a CSV of ``date[,path],hashrate_ehs``."""


class HistoryHashrate(Strict):
    """Replay the chain: network hashrate, block counts and difficulty of a history file.

    Blocks and retargets come from history (its daily block counts and the shipped epoch
    tables), not from the simulation, and the chain starts from history's state at ``start``:
    ``initial_height``, ``initial_difficulty`` and ``epoch_start_time`` are replaced by it.
    """

    model: Literal["history"]
    history_csv: Optional[str] = None
    """Your own daily history, relative to the scenario; default the shipped file."""


HashrateModel = Annotated[Union[ConstantHashrate, GrowthHashrate, EndogenousHashrate, CsvHashrate, HistoryHashrate],
                          Field(discriminator="model")]


class Network(Strict):
    """Bitcoin network state at the start and its hashrate model."""

    initial_difficulty: Positive
    """Difficulty at the start instant (used as given)."""
    initial_height: Annotated[int, Field(ge=0)]
    """Height of the tip at the start; simulated blocks are initial_height + 1, + 2, ..."""
    epoch_start_time: Optional[IsoDateTime] = None
    """Time of the first block of the epoch in progress (default: start − (height mod 2016) × 600 s)."""
    blocks: Literal["poisson", "expected"] = "poisson"
    """Block counts per day: Poisson draws, or exactly their mean."""
    hashrate: HashrateModel = ConstantHashrate()
    """Network hashrate model (constant | growth | endogenous | csv | history)."""
    network_power_usd_per_mwh: NonNegative = 30.0
    """Power price the rest of the network pays [USD/MWh]: its machines' breakeven, for the
    endogenous hashrate model and the signal columns (formerly under network.hashrate and signals).
    Default: ``hashfleet calibrate``'s endogenous fit on 2022-03-01 … 2026-03-22 (issue 17)."""
    mix_years: Positive = 4.0
    """Years of library releases (equal EH/s per release quarter) in the rest of the network's
    fleet, for the endogenous model's starting mix and the signal columns."""


class Pool(Strict):
    """Mining pool payout."""

    payout: Literal["fpps", "pplns", "solo"] = "fpps"
    """fpps pays expected value per share; pplns the pool's found blocks; solo the fleet's own."""
    fee: Fraction = 0.0
    """Pool fee as a fraction of the payout."""
    hashrate_ehs: Optional[Positive] = None
    """Pool size for pplns [EH/s]."""


class Signals(Strict):
    """Parameters of the daily signal columns (hash ribbons, hashrate under water, sell pressure)."""

    industry_sell_fraction: Fraction = 0.8
    """Share of the network's mined BTC that miners sell (sell pressure); default: mean of
    TheMinerMag's liquidation-to-production ratio of the largest public miners, July–October
    2023 (64, 77, 77 and 105 %)."""
