"""The scenario file as frozen, strict pydantic models.

Field docstrings are the documentation: they become the descriptions of the JSON Schema
that ``hashfleet schema`` prints. Every model forbids unknown keys and is immutable after
load; numbers are strict (``paths: "200"`` is an error, an integer is accepted where a float
is expected); defaults live only here. Models chosen by name (``btc_price: {model: gbm}``)
are discriminated unions keyed by ``model``, ``contract``, ``kind`` or ``policy``: the
engine maps the same name through its registry to the function that implements it.

Units are in the names (DESIGN.md, "Units"); fractions are in [0, 1]; ``_pct`` is percent.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator


def _iso_date(value):
    """Accept a date (unquoted YAML) or an ISO ``YYYY-MM-DD`` string (quoted YAML)."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}") from None
    return value


def _iso_datetime(value):
    """Accept an ISO date-time string such as ``2025-12-20T04:10:00Z`` (UTC if no offset)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"expected an ISO date-time YYYY-MM-DDTHH:MM:SSZ, got {value!r}") from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
Fraction = Annotated[float, Field(ge=0, le=1)]
#: Longest horizon accepted: 100 years of 365 days (the subsidy is all but gone by then).
MAX_HORIZON_DAYS = 36_500
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Strict(BaseModel):
    """Base of every scenario section: strict types, no unknown keys, frozen."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", use_attribute_docstrings=True,
                              populate_by_name=True)


# --------------------------------------------------------------------------- market
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


# --------------------------------------------------------------------------- network
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
    """The rest of the world adds machines when hashprice beats new hardware's breakeven."""

    model: Literal["endogenous"]
    lag_days: Annotated[int, Field(ge=0)] = 21
    """Days between a hashprice signal and the hashrate response."""
    network_power_usd_per_mwh: NonNegative = 50.0
    """Power price the rest of the network pays [USD/MWh]."""
    elasticity: NonNegative = 1.0
    """Annual growth per unit of hashprice above breakeven."""
    capitulation_days: Annotated[int, Field(ge=1)] = 14
    """Days a vintage's breakeven must exceed hashprice before it switches off."""
    mix_years: Positive = 4.0
    """Years of library releases in the starting fleet mix."""


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


class Pool(Strict):
    """Mining pool payout."""

    payout: Literal["fpps", "pplns", "solo"] = "fpps"
    """fpps pays expected value per share; pplns the pool's found blocks; solo the fleet's own."""
    fee: Fraction = 0.0
    """Pool fee as a fraction of the payout."""
    hashrate_ehs: Optional[Positive] = None
    """Pool size for pplns [EH/s]."""


# --------------------------------------------------------------------------- sites
class FixedPower(Strict):
    """A flat price for every MWh drawn; nothing is sold back."""

    contract: Literal["fixed"]
    price_usd_per_mwh: float
    """Energy price [USD/MWh]."""


class IndexMarket(Strict):
    """Hourly real-time price: mean-reverting log base × diurnal/seasonal shape + spikes, or a CSV."""

    mean_usd_per_mwh: float
    """Long-run arithmetic mean of base × shape [USD/MWh]."""
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
    """Diurnal × seasonal shape: stylised ERCOT Hub/West, or flat (every hour alike)."""
    file: Optional[str] = None
    """Hourly UTC prices ``datetime[,path],price_usd_per_mwh`` replacing the model."""


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
    """Probability that an hour is a call hour (independent hours; assumption)."""
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


# --------------------------------------------------------------------------- fleet
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


# --------------------------------------------------------------------------- hpc
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


# --------------------------------------------------------------------------- company
class TreasuryPolicy(Strict):
    """What is done with mined BTC, and how cash needs are met."""

    sell_fraction: Fraction = 0.0
    """Fraction of each day's mined BTC sold at the day's close."""
    min_cash_usd: NonNegative = 0.0
    """Cash floor: below it treasury BTC is sold and/or the ATM used (``funding_order``)."""
    funding_order: tuple[Literal["sell_btc", "atm"], ...] = ("sell_btc", "atm")
    """Sources used, in order, to bring cash back to ``min_cash_usd``."""
    buy_btc_usd_per_quarter: NonNegative = 0.0
    """BTC bought on the first day of each quarter with capital raised on the ATM (the
    "treasury company" model); without an ATM, with cash above ``min_cash_usd`` [USD/quarter]."""


class Refinance(Strict):
    """Refinance an out-of-the-money convertible at maturity instead of repaying it."""

    spread: NonNegative = 0.0
    """Added to the coupon of the new note [fraction/year]."""
    years: Positive = 5.0
    """Term of the new note [years]."""


class Convertible(Strict):
    """Convertible senior note: coupon paid monthly (coupon/12, 30/360), converts or is repaid at maturity."""

    kind: Literal["convertible"]
    principal_usd: NonNegative
    """Face value [USD]."""
    coupon: Fraction = 0.0
    """Annual cash coupon."""
    maturity: IsoDate
    """Maturity date (may fall after the horizon)."""
    conversion_price_usd: Positive
    """Share price at which the note converts [USD/share]."""
    capped_call_price_usd: Optional[Positive] = None
    """Cap of a capped call bought with the note: it offsets the dilution of conversion for share
    prices between the conversion price and the cap [USD/share]."""
    refinance: Optional[Refinance] = None
    """Refinance instead of repaying in cash when out of the money at maturity."""


class BtcBacked(Strict):
    """Loan collateralised by pledged BTC; interest accrues and is paid daily (rate/365)."""

    kind: Literal["btc_backed"]
    principal_usd: NonNegative
    """Loan amount [USD]."""
    rate: Fraction = 0.0
    """Annual interest rate."""
    ltv_initial: Fraction
    """Loan-to-value at origination (sets the pledged BTC)."""
    ltv_margin_call: Fraction
    """LTV at which the lender calls for more collateral."""
    ltv_liquidation: Fraction
    """LTV at which the lender liquidates the collateral."""
    maturity: Optional[IsoDate] = None
    """Maturity date (default: beyond the horizon)."""


class TermLoan(Strict):
    """Senior term loan, paid at each month end (rate/12 on the balance, rounded to the cent)."""

    kind: Literal["term_loan"]
    principal_usd: NonNegative
    """Loan amount outstanding at the start [USD]."""
    rate: Fraction = 0.0
    """Annual interest rate."""
    maturity: IsoDate
    """Maturity date."""
    amortizing: bool = False
    """True: equal monthly payments to maturity; false: bullet."""
    min_interest_coverage: Optional[NonNegative] = None
    """Covenant: trailing-12-month EBITDA / interest at each quarter end at least this."""
    max_leverage: Optional[NonNegative] = None
    """Covenant: (debt − cash) / trailing-12-month EBITDA at each quarter end at most this."""


Debt = Annotated[Union[Convertible, BtcBacked, TermLoan], Field(discriminator="kind")]


class Equity(Strict):
    """Equity issuance and buybacks."""

    atm_enabled: bool = False
    """Sell shares at the market (at the previous close's share price) when cash runs short."""
    atm_max_usd_per_quarter: NonNegative = 0.0
    """Cap on at-the-market sales per calendar quarter [USD]."""
    atm_fee: Fraction = 0.0
    """Sales agent's commission on ATM proceeds (typically 0.02–0.03)."""
    atm_max_dilution_pct_per_quarter: NonNegative = 10.0
    """Cap on ATM shares per quarter, % of the basic shares at the quarter's start: what the market
    absorbs (assumption: roughly 10–20 % of daily volume sold over a quarter's trading days)."""
    buyback_usd_per_quarter: NonNegative = 0.0
    """Shares bought back on the first day of each quarter [USD/quarter] ..."""
    buyback_above_cash_usd: NonNegative = 0.0
    """... only with cash above this level [USD]."""


class Valuation(Strict):
    """How the equity is valued on each path and day (the share price is market_multiple × value per share)."""

    method: Literal["nav", "dcf", "multiple"] = "nav"
    """nav: net asset value; dcf: expected free cash flow from the day's state; multiple: EV multiple."""
    market_multiple: NonNegative = 1.0
    """nav/dcf: price to value per share; multiple: EV / EBITDA (or USD per EH/s with basis ehs)."""
    multiple_basis: Literal["ebitda", "ehs"] = "ebitda"
    """multiple: EV on trailing-12-month EBITDA or on installed EH/s."""
    discount_rate: Fraction = 0.1
    """Annual discount rate for NPVs and the dcf."""
    dcf_years: Annotated[int, Field(ge=1, le=50)] = 5
    """dcf: years of expected free cash flow counted (and an HPC lease's horizon when it has no term)."""
    hpc_discount_rate: Optional[Fraction] = None
    """Discount rate of contracted HPC cash flows in NAV (default: discount_rate)."""


class Opening(Strict):
    """Opening balance sheet items beyond cash, BTC, fleet and debt (equity balances)."""

    fleet_book_value_usd: Optional[NonNegative] = None
    """Book value of the machines at the start [USD]; default: cohorts at cost depreciated since deployed."""
    site_book_value_usd: NonNegative = 0.0
    """Book value of sites and infrastructure at the start, depreciated over site_life_years [USD]."""
    construction_in_progress_usd: NonNegative = 0.0
    """Construction in progress (and equipment deposits booked there) at cost, carried unchanged [USD]."""
    btc_receivable: NonNegative = 0.0
    """BTC lent out, receivable or held by a counterparty, at the day's close; not sold by the treasury [BTC]."""
    other_assets_usd: NonNegative = 0.0
    """Other assets carried unchanged [USD]."""
    other_liabilities_usd: NonNegative = 0.0
    """Other liabilities carried unchanged [USD]."""


class ForwardHedge(Strict):
    """Forward sale of a share of each month's production at the month's forward price."""

    kind: Literal["forward"]
    fraction: Fraction
    """Share of the month's production sold forward."""
    rate: Fraction = 0.04
    """Risk-free rate of the forward price F = S e^{rT}."""
    start: Optional[IsoDate] = None
    """First month hedged (default: the start)."""
    end: Optional[IsoDate] = None
    """Last day hedged (default: the horizon)."""


class PutHedge(Strict):
    """Puts on a share of each month's production, bought at the month's first close."""

    kind: Literal["put"]
    fraction: Fraction
    """Share of the month's production covered."""
    strike_fraction: Positive = 0.8
    """Strike as a fraction of the price at purchase."""
    rate: Fraction = 0.04
    """Risk-free rate of the Black-Scholes premium."""
    implied_vol_annual: Optional[NonNegative] = None
    """Implied volatility; default: the path's realised 30-day volatility (0.5 before 30 closes exist)."""
    start: Optional[IsoDate] = None
    """First month hedged (default: the start)."""
    end: Optional[IsoDate] = None
    """Last day hedged (default: the horizon)."""


class PowerSwap(Strict):
    """Fixed-for-floating power swap on an index site: receive the index, pay the fixed price."""

    kind: Literal["power_swap"]
    site: str
    """Index (or ppa) site whose daily mean market price floats."""
    mw: NonNegative
    """Notional load, every hour [MW]."""
    fixed_usd_per_mwh: float
    """Fixed price paid [USD/MWh]."""
    start: Optional[IsoDate] = None
    """First day (default: the start)."""
    end: Optional[IsoDate] = None
    """Last day (default: the horizon)."""


Hedge = Annotated[Union[ForwardHedge, PutHedge, PowerSwap], Field(discriminator="kind")]


class Dilutive(Strict):
    """Options, RSUs/PSUs or warrants on the common stock, counted by the treasury-stock method."""

    kind: Literal["options", "rsus", "warrants"]
    count: Positive
    """Shares the instruments deliver when exercised or vested."""
    strike_usd: NonNegative = 0.0
    """(Weighted-average) exercise price [USD/share]; 0 for RSUs and PSUs."""


class Company(Strict):
    """The company that owns the fleet."""

    shares_outstanding: Positive
    """Basic shares at the start."""
    cash_usd: NonNegative = 0.0
    """Cash at the start [USD]."""
    treasury_btc: NonNegative = 0.0
    """All BTC held at the start, including what BTC-backed loans will pledge [BTC]."""
    sga_usd_per_year: NonNegative = 0.0
    """Selling, general and administrative cost without stock-based compensation [USD/year]."""
    sbc_usd_per_year: NonNegative = 0.0
    """Stock-based compensation [USD/year], paid in shares at the share price."""
    tax_rate: Fraction = 0.0
    """Income tax on cumulative positive pre-tax income (losses carried forward and back)."""
    asic_life_years: Positive = 3.0
    """Straight-line depreciation life of machines [years]."""
    site_life_years: Positive = 10.0
    """Straight-line depreciation life of sites, expansions and builds [years]."""
    opening: Opening = Opening()
    """Opening balance sheet items."""
    treasury_policy: TreasuryPolicy = TreasuryPolicy()
    """Treasury policy."""
    debt: tuple[Debt, ...] = ()
    """Debt instruments."""
    dilutive: tuple[Dilutive, ...] = ()
    """Options, RSUs and warrants outstanding at the start (treasury-stock method, simulator.finance.dilution)."""
    equity: Equity = Equity()
    """Equity issuance."""
    valuation: Valuation = Valuation()
    """Valuation method."""
    hedges: tuple[Hedge, ...] = ()
    """Production hedges and power swaps."""


# --------------------------------------------------------------------------- events
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
    change_pct: Annotated[float, Field(gt=-100)]
    """Change of network hashrate [%]."""


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


# --------------------------------------------------------------------------- machine life cycle
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
    """Consecutive days its site breakeven must be below the day's mean power price."""


class RetirePolicy(Strict):
    """Retire a cohort for good (resold at the ASIC price index) after a long run of losses."""

    negative_margin_days: Annotated[int, Field(ge=1)]
    """Consecutive days its site breakeven must be below the day's mean power price."""


class Policies(Strict):
    """Fleet management rules applied to every cohort at the company's sites (off unless given)."""

    stop: Optional[StopPolicy] = None
    """Stop/restart rule."""
    retire: Optional[RetirePolicy] = None
    """Retirement rule."""


# --------------------------------------------------------------------------- signals
class Signals(Strict):
    """Parameters of the daily signal columns (hash ribbons, hashrate under water, sell pressure)."""

    industry_sell_fraction: Fraction = 0.8
    """Share of the network's mined BTC that miners sell (sell pressure); default: mean of
    TheMinerMag's liquidation-to-production ratio of the largest public miners, July–October
    2023 (64, 77, 77 and 105 %)."""
    network_power_usd_per_mwh: NonNegative = 50.0
    """Power price the rest of the network pays, for its breakeven hashprices [USD/MWh]."""
    mix_years: Positive = 4.0
    """Years of hardware releases (equal EH/s per release quarter) in the network's fleet."""


# --------------------------------------------------------------------------- scenario
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
    seed: Annotated[int, Field(ge=0)]
    """Seed of all random streams."""
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
