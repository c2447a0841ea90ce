"""``hpc:``: conversion of site capacity to an AI/HPC data centre: construction, project debt
and revenue (colocation lease or GPU cloud)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from simulator.config.schema.base import Fraction, IsoDate, NonNegative, Positive, Strict


class HpcFinancing(Strict):
    """Amortising project debt drawn with the capex."""

    debt_fraction: Fraction = 0.0
    """Share of capex funded by project debt."""
    rate: Fraction = 0.0
    """Annual interest rate."""
    term_years: Positive = 1.0
    """Amortisation term [years]."""


class Colocation(Strict):
    """Lease of critical IT capacity to a tenant."""

    kind: Literal["colocation"]
    lease_usd_per_kw_month: NonNegative
    """Lease rate per kW of critical IT load per month [USD/(kW·month)]."""
    tenant_ramp_months: Annotated[float, Field(ge=0)] = 0.0
    """Months from completion to full occupancy (linear ramp)."""
    escalator_annual: Fraction = 0.0
    """Annual lease escalator."""
    term_years: Optional[Positive] = None
    """Lease term from completion [years]; default: beyond the horizon."""
    tenant_pays_power: bool = True
    """True if the tenant pays or passes through the facility power."""
    lease_rate_vol: NonNegative = 0.0
    """Uncertainty of the rate signed: lease × exp(σz − σ²/2) per path (mean kept)."""
    tenant_default_probability_annual: Fraction = 0.0
    """Probability per year that the tenant defaults (revenue stops; exponential time from completion)."""
    prepayment_months: NonNegative = 0.0
    """Months of full-occupancy lease the tenant prepays at completion (deferred revenue, used up first)."""


class GpuCloud(Strict):
    """GPUs owned and rented by the hour."""

    kind: Literal["gpu_cloud"]
    gpus_per_mw: Positive
    """GPUs per MW of critical IT load."""
    capex_usd_per_gpu: NonNegative
    """Price of one GPU installed [USD]."""
    price_usd_per_gpu_hour: NonNegative
    """Rental price [USD/GPU-hour]."""
    utilization: Fraction = 0.8
    """Fraction of GPU-hours sold."""
    gpu_life_years: Positive = 5.0
    """Depreciation life of the GPUs [years]."""
    price_decline_annual: Fraction = 0.0
    """Annual decline of the GPU-hour price."""
    price_decline_vol: NonNegative = 0.0
    """Standard deviation of the decline across paths (drawn once per path, clipped to [0, 0.99])."""
    utilization_vol: NonNegative = 0.0
    """Uncertainty of utilisation: utilization × exp(σz − σ²/2) per path, capped at 1."""


HpcRevenue = Annotated[Union[Colocation, GpuCloud], Field(discriminator="kind")]


class HpcProject(Strict):
    """Conversion of (part of) a site to an AI/HPC data centre."""

    site: str
    """Site whose capacity the project uses."""
    it_mw: Positive
    """Critical IT load [MW]."""
    pue: Annotated[float, Field(ge=1)] = 1.0
    """Power usage effectiveness: facility power = it_mw × pue."""
    start: IsoDate
    """Construction start; the facility MW are reserved from this date."""
    build_months: Annotated[float, Field(ge=0)] = 0.0
    """Construction duration [months]."""
    capex_usd_per_mw: NonNegative = 0.0
    """Construction capex per MW of critical IT load [USD/MW]."""
    financing: HpcFinancing = HpcFinancing()
    """Project debt."""
    tenant_funded_fraction: Fraction = 0.0
    """Share of the capex (building and GPUs) paid by the tenant."""
    delay_mean_months: NonNegative = 0.0
    """Mean of an exponential delay to completion, drawn per path [months]."""
    opex_usd_per_mw_year: NonNegative = 0.0
    """Data-centre opex per MW of critical IT load from completion [USD/(MW·year)]."""
    revenue: HpcRevenue
    """Revenue model (colocation | gpu_cloud)."""
    signed: Optional[IsoDate] = None
    """Date the contract was signed: from it the valuation counts the contract's expected present
    value (default: ``start``)."""
