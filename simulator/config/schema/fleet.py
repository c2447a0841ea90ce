"""``fleet:``, ``purchases:``, ``failures:`` and ``policies:``: cohorts of machines (installed or
delivered, at a site or hosted), their failures and repairs, and the stop and retire rules."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, model_validator

from simulator.config.schema.base import Fraction, IsoDate, NonNegative, PositiveInt, Strict


class HostedAt(Strict):
    """Machines hosted at a third party's site for an all-in price per kWh."""

    host: str = "third-party host"
    """Name of the hosting provider (for reports)."""
    price_usd_per_kwh: NonNegative
    """All-in hosting price per kWh the machines draw [USD/kWh] (power, cooling, service)."""


class _Placed(Strict):
    """A cohort is either at one of the company's sites or hosted elsewhere."""

    site: Optional[str] = None
    """Site name (or give ``hosted_at``)."""
    hosted_at: Optional[HostedAt] = None
    """Hosting contract, for machines at a third party's site (instead of ``site``)."""

    @model_validator(mode="after")
    def _one_place(self):
        if (self.site is None) == (self.hosted_at is None):
            raise ValueError("give either site (one of the company's sites) or hosted_at (a hosting contract)")
        return self


class _Cohort(_Placed):
    """What every cohort has: identity, hardware, size, firmware setting, retirement."""

    id: Optional[str] = None
    """Unique cohort id across fleet and purchases (for upgrade and reports)."""
    model: str
    """Hardware profile id (see ``hashfleet hardware list``)."""
    units: PositiveInt
    """Number of machines."""
    tuning: Union[Annotated[float, Field(gt=0)], Literal["dynamic"]] = 1.0
    """Firmware setting: a hashrate fraction of nameplate (0.9 = underclocked 10 %, power from
    the tuning curve P ∝ f^k), or ``dynamic`` to choose the margin-maximising setting each hour."""
    retired: Optional[IsoDate] = None
    """Date the cohort leaves its site (resold at the ASIC price index)."""
    resale_usd_per_th: Optional[NonNegative] = None
    """Resale price when it retires [USD/TH]; default: the ASIC price index of that day."""


class FleetItem(_Cohort):
    """A cohort of identical machines already installed."""

    deployed: IsoDate
    """Date the cohort was energised (may precede start)."""
    price_usd_per_th: Optional[NonNegative] = None
    """Cost paid [USD/TH] (opening book value); default: the launch price, else the ASIC price index at the start."""


class Purchase(_Cohort):
    """Machines bought and delivered inside the horizon."""

    delivery: IsoDate
    """Date the machines are energised."""
    price_usd_per_th: Optional[NonNegative] = None
    """Purchase price [USD/TH]; default: the hardware's launch price where known."""


class Failures(Strict):
    """Machine failures: binomial per cohort per day from each profile's annual rate."""

    enabled: bool = True
    """Simulate failures (on by default; the closed-form checks turn them off)."""
    repair_days: Annotated[int, Field(ge=1)] = 14
    """Days a failed unit is out before it returns to service (assumption; no public source)."""
    permanent_fraction: Fraction = 0.1
    """Share of failures that are never repaired (assumption; no public source)."""
    repair_cost_usd_per_unit: NonNegative = 150.0
    """Cost of one repair [USD] (assumption: parts plus a technician's share of a day)."""


class StopPolicy(Strict):
    """Switch a cohort off after a run of loss-making days; back on when it pays again."""

    negative_margin_days: Annotated[int, Field(ge=1)]
    """Consecutive days the cohort's own margin after the hourly dispatch (revenue − energy cost over the
    hours it would run) must be negative."""


class RetirePolicy(Strict):
    """Retire a cohort for good (resold at the ASIC price index) after a long run of losses."""

    negative_margin_days: Annotated[int, Field(ge=1)]
    """Consecutive days the cohort's own margin after the hourly dispatch (revenue − energy cost over the
    hours it would run) must be negative."""


class Policies(Strict):
    """Fleet management rules applied to every cohort at the company's sites (off unless given)."""

    stop: Optional[StopPolicy] = None
    """Stop/restart rule."""
    retire: Optional[RetirePolicy] = None
    """Retirement rule."""
