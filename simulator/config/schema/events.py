"""``events:``: dated shocks: a power tax, a site outage, a BTC price or network hashrate
jump, a fee spike."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from simulator.config.schema.base import IsoDate, NonNegative, PositiveInt, Strict


class PowerTax(Strict):
    """A tax per MWh drawn at a site from ``date`` (e.g. New York's energy-tax proposal)."""

    kind: Literal["power_tax"]
    date: IsoDate
    """First day the tax applies."""
    site: str
    """Site taxed."""
    usd_per_mwh: float
    """Tax [USD/MWh]."""


class Outage(Strict):
    """A site offline for ``days`` days."""

    kind: Literal["outage"]
    date: IsoDate
    """First day offline."""
    site: str
    """Site offline."""
    days: PositiveInt
    """Duration [days]."""


class PriceShock(Strict):
    """BTC price moves by ``change_pct`` percent on ``date``."""

    kind: Literal["price_shock"]
    date: IsoDate
    """Day of the shock."""
    change_pct: Annotated[float, Field(gt=-100)]
    """Change of the BTC price [%] (−30 = a 30 % fall)."""


class HashrateShock(Strict):
    """Network hashrate moves by ``change_pct`` percent on ``date`` (e.g. the 2021 China ban)."""

    kind: Literal["hashrate_shock"]
    date: IsoDate
    """Day of the shock."""
    change_pct: Annotated[float, Field(gt=-100, le=1000)]
    """Change of network hashrate [%], at most +1,000 % (11 times the hashrate: the largest real moves,
    the 2021 China ban among them, were within ±60 %)."""


class FeeSpike(Strict):
    """Fees per block set to ``btc_per_block`` for ``days`` days."""

    kind: Literal["fee_spike"]
    date: IsoDate
    """First day of the spike."""
    days: PositiveInt = 1
    """Duration [days]."""
    btc_per_block: NonNegative
    """Fees per block during the spike [BTC]."""


Event = Annotated[Union[PowerTax, Outage, PriceShock, HashrateShock, FeeSpike], Field(discriminator="kind")]
