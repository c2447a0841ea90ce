"""The whole scenario file (:class:`Scenario`, its top-level keys) and where a loaded one came
from (:class:`Provenance`)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from simulator.config.schema.base import IsoDate, PositiveInt, Strict
from simulator.config.schema.company import Company
from simulator.config.schema.events import Event
from simulator.config.schema.fleet import Failures, FleetItem, Policies, Purchase
from simulator.config.schema.hpc import HpcProject
from simulator.config.schema.market import Market
from simulator.config.schema.network import Network, Pool, Signals
from simulator.config.schema.sites import Site

#: Longest horizon accepted: 100 years of 365 days (the subsidy is all but gone by then).
MAX_HORIZON_DAYS = 36_500


class Provenance(BaseModel):
    """Where a loaded scenario came from (not part of the file)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    file: str
    """Path of the scenario file as given."""
    sha256: str
    """SHA-256 of the merged document before overrides."""
    overrides: tuple[str, ...] = ()
    """``--set`` overrides applied, as ``k=v`` strings."""
    base_dir: str = "."
    """Directory that relative paths in the scenario resolve against."""


class Scenario(Strict):
    """A hashfleet scenario file."""

    name: str = Field(min_length=1)
    """Scenario name (recorded in outputs)."""
    start: IsoDate
    """First simulated day (00:00 UTC)."""
    horizon_days: Annotated[int, Field(gt=0, le=MAX_HORIZON_DAYS)]
    """Number of simulated days (at most 100 years)."""
    paths: PositiveInt
    """Monte Carlo paths."""
    seed: Annotated[int, Field(ge=0, lt=2**128)]
    """Seed of all random streams (below 2¹²⁸: the Philox key and counter hold 128 bits of it)."""
    hardware_dirs: tuple[str, ...] = ()
    """Extra hardware profile folders, relative to the scenario file."""
    market: Market
    """BTC price and fees."""
    network: Network
    """Difficulty, height and network hashrate."""
    pool: Pool = Pool()
    """Pool payout."""
    sites: tuple[Site, ...] = Field(min_length=1)
    """Mining sites."""
    fleet: tuple[FleetItem, ...] = ()
    """Installed cohorts."""
    purchases: tuple[Purchase, ...] = ()
    """Machines delivered during the horizon."""
    hpc: tuple[HpcProject, ...] = ()
    """AI/HPC conversion projects."""
    company: Optional[Company] = None
    """Company balance sheet and financing."""
    events: tuple[Event, ...] = ()
    """Dated events."""
    failures: Failures = Failures()
    """Machine failures and repairs."""
    policies: Policies = Policies()
    """Stop and retire rules."""
    signals: Signals = Signals()
    """Parameters of the daily signal columns."""

    _provenance: Optional[Provenance] = PrivateAttr(default=None)

    @property
    def provenance(self) -> Optional[Provenance]:
        """Where this scenario was loaded from (None if built in code)."""
        return self._provenance

    @property
    def end(self) -> dt.date:
        """The day after the last simulated day."""
        return self.start + dt.timedelta(days=self.horizon_days)

    def resolve(self, relative: str) -> str:
        """Resolve a path written in the scenario against the scenario's folder."""
        import os

        base = self._provenance.base_dir if self._provenance else "."
        return relative if os.path.isabs(relative) else os.path.normpath(os.path.join(base, relative))
