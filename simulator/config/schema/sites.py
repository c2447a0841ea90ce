"""``sites:``: a mining site's capacity, power contract (fixed, index, ppa) and its real-time
market, curtailment policy, demand response, 4CP charges, hosting, expansions and ambient
temperature."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, model_validator

from simulator.config.schema.base import Fraction, IsoDate, NonNegative, Positive, Strict


class FixedPower(Strict):
    """A flat price for every MWh drawn; nothing is sold back."""

    contract: Literal["fixed"]
    price_usd_per_mwh: float
    """Energy price [USD/MWh]."""


class IndexMarket(Strict):
    """Hourly real-time price: mean-reverting log base × diurnal/seasonal shape + spikes, or a CSV."""

    mean_usd_per_mwh: Optional[float] = None
    """All-in long-run time-weighted mean price, spikes and negative hours included [USD/MWh]
    (required unless a ``profile`` gives it)."""
    profile: Optional[str] = None
    """A documented profile (``ercot_hub``, ``ercot_west``) or a profile file written by
    ``hashfleet calibrate --power``: supplies every key not written here, with its hour × month
    shape and spike and negative-hour profiles."""
    vol_daily: NonNegative = 0.0
    """Daily volatility of the log base price."""
    reversion_daily: Fraction = 0.1
    """Daily mean-reversion speed of the log base price."""
    spike_probability: Fraction = 0.0
    """Probability that an hour carries a price spike."""
    spike_usd_per_mwh: float = 2000.0
    """Price added in a spike hour [USD/MWh]."""
    negative_probability: Fraction = 0.0
    """Probability that an hour prices at negative_usd_per_mwh."""
    negative_usd_per_mwh: float = -20.0
    """Price of a negative hour [USD/MWh]."""
    cap_usd_per_mwh: float = 5000.0
    """Price cap (ERCOT's high system-wide offer cap) [USD/MWh]."""
    floor_usd_per_mwh: float = -250.0
    """Price floor (ERCOT's offer floor) [USD/MWh]."""
    shape: Literal["ercot", "flat"] = "ercot"
    """Diurnal × seasonal shape: stylised ERCOT Hub/West, or flat (every hour alike); with a
    ``profile`` and ``shape`` not written, the profile's."""
    file: Optional[str] = None
    """Hourly UTC prices ``datetime[,path],price_usd_per_mwh`` replacing the model."""

    @model_validator(mode="after")
    def _mean_or_profile(self):
        if self.profile is not None and self.profile not in ("ercot_hub", "ercot_west") \
                and not self.profile.endswith((".yaml", ".yml")):
            raise ValueError(f"profile: {self.profile!r} is neither ercot_hub, ercot_west nor a .yaml profile file")
        if self.mean_usd_per_mwh is None and self.profile is None:
            raise ValueError("mean_usd_per_mwh is required unless a profile (ercot_hub, ercot_west) gives it")
        return self


class IndexPower(IndexMarket):
    """Energy bought hour by hour at the real-time index price."""

    contract: Literal["index"]


class PpaPower(Strict):
    """A PPA: the contracted block is paid at a fixed price; unused energy is sold back at the index.

    Per hour with used energy U, block B and take-or-pay minimum T = min_take_fraction × B
    [MWh]: PPA energy = min(max(U, T), B) at the PPA price, energy above the block at the
    index price, and max(T − U, 0) sold at the index price (the power credit).
    """

    contract: Literal["ppa"]
    price_usd_per_mwh: float
    """PPA energy price at the start [USD/MWh]."""
    block_mw: Positive
    """Contracted facility power [MW]."""
    escalator_annual: float = 0.0
    """Annual escalation of the PPA price (0.02 = +2 %/yr)."""
    min_take_fraction: Fraction = 1.0
    """Share of the block paid for whether used or not (1 = full take-or-pay with sell-back)."""
    expiry: Optional[IsoDate] = None
    """Last day of the PPA; afterwards the site buys at the index (default: beyond the horizon)."""
    index: IndexMarket
    """The real-time market unused energy is sold into (and energy above the block bought from)."""


PowerContract = Annotated[Union[FixedPower, IndexPower, PpaPower], Field(discriminator="contract")]


class Curtailment(Strict):
    """When machines are switched off (decided hour by hour, cohort by cohort)."""

    policy: Literal["none", "economic", "schedule", "uptime_target"] = "none"
    """none: always run; economic: a cohort runs only while its revenue per MWh covers the
    hour's price; schedule: everything off in ``hours_off``; uptime_target: economic, but the
    cheapest ``uptime`` share of each day's hours always run."""
    hours_off: tuple[Annotated[int, Field(ge=0, le=23)], ...] = ()
    """UTC hours (0–23) with everything off, for ``schedule``."""
    uptime: Fraction = 0.9
    """Share of each day's hours that always run, for ``uptime_target``."""


class DemandResponse(Strict):
    """Paid availability to curtail on call (ERCOT ERS/ancillary-style programmes)."""

    committed_mw: Positive
    """Facility load the site must shed during a call [MW]."""
    availability_usd_per_mw_month: NonNegative
    """Availability payment per committed MW per month [USD/(MW·month)]."""
    call_probability: Fraction = 0.002
    """Expected share of a day's hours that are call hours (assumption); a day's count is binomial(24, p)
    and its calls fall on the day's highest-priced hours."""
    summer_call_multiplier: NonNegative = 3.0
    """Call probability multiplier in June–September, when grid stress peaks (assumption)."""


class FourCP(Strict):
    """ERCOT 4CP transmission charges and their avoidance."""

    transmission_usd_per_kw_year: NonNegative
    """Transmission charge per kW of 4CP load per year [USD/(kW·year)]."""
    peak_hours_utc: tuple[Annotated[int, Field(ge=0, le=23)], ...] = (20, 21, 22, 23)
    """UTC hours in which a summer month's system peak may fall (15:00–18:00 Central)."""
    avoid: bool = True
    """Curtail all load in ``peak_hours_utc`` on June–September weekdays."""
    prior_4cp_mw: Optional[NonNegative] = None
    """4CP load of the summer before the start [MW] (default: the site's load at the start)."""


class Hosting(Strict):
    """Third-party machines hosted at the site (the hosting business model)."""

    mw: Positive
    """Facility load of the hosted machines [MW]; it counts against the site's capacity."""
    price_usd_per_kwh: NonNegative
    """All-in price clients pay per kWh their machines draw [USD/kWh]."""


class Expansion(Strict):
    """New capacity energised at a site."""

    date: IsoDate
    """Date the new MW are energised."""
    mw: Positive
    """Capacity added [MW]."""
    capex_usd_per_mw: NonNegative = 0.0
    """Construction capex per MW [USD/MW], spread evenly over the build months before ``date``."""
    build_months: Annotated[float, Field(ge=0)] = 0.0
    """Construction duration [months] ending on ``date``."""


class Site(Strict):
    """A mining site: capacity, overhead, power contract, curtailment, opex."""

    name: str = Field(min_length=1)
    """Unique site name."""
    capacity_mw: Positive
    """Grid capacity available for facility power [MW]."""
    cooling_overhead: Fraction = 0.0
    """Cooling and other overhead power as a fraction of IT power."""
    power: PowerContract
    """Power contract (fixed | index | ppa)."""
    curtailment: Curtailment = Curtailment()
    """Curtailment policy."""
    opex_usd_per_mw_year: NonNegative = 0.0
    """Site operating cost per MW of capacity per year [USD/(MW·year)]."""
    hosting: Optional[Hosting] = None
    """Third-party machines hosted here."""
    expansions: tuple[Expansion, ...] = ()
    """Capacity added during the horizon."""
    demand_response: Optional[DemandResponse] = None
    """Demand-response programme, if enrolled."""
    four_cp: Optional[FourCP] = None
    """4CP transmission charges (ERCOT), if the site pays them."""
    ambient_c: Optional[tuple[float, ...]] = Field(None, min_length=12, max_length=12)
    """Monthly mean ambient (air) or coolant (hydro, immersion) inlet temperature, Jan … Dec [°C]."""
    diurnal_swing_c: NonNegative = 0.0
    """Peak-to-trough daily temperature swing around the monthly mean, peaking at 21:00 UTC [°C]."""
    ambient_hourly_c: Optional[tuple[tuple[float, ...], ...]] = Field(None, min_length=24, max_length=24)
    """Hourly profile instead: 24 rows (hour UTC 0–23) of 12 monthly values [°C]."""
