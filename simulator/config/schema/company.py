"""``company:``: the owner's balance sheet and financing: treasury policy, debt (convertible,
BTC-backed, term loan), equity issuance and buybacks, valuation, the stock's opening close,
opening balances, and hedges (forwards, puts, power swaps)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from simulator.config.schema.base import Fraction, IsoDate, NonNegative, Positive, Strict


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
    """Maturity date (default: open-ended; valued with a 1-year tenor)."""
    rollover: bool = False
    """At maturity, refinance at the day's terms (re-pledged to ltv_initial, same tenor) instead of repaying."""
    cure_days: Annotated[int, Field(ge=0)] = 2
    """Days given to cure a margin call the free BTC and cash could not cover, before liquidation."""
    liquidation_penalty: Fraction = 0.05
    """Lender's penalty on a liquidation, as a fraction of the debt it settles."""
    ltv_release: Optional[Fraction] = None
    """Below this LTV collateral above ltv_initial is released to the treasury (default: ltv_initial / 2)."""


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
    covenant_cure_tests: Annotated[int, Field(ge=0)] = 1
    """Consecutive breached tests tolerated: the loan accelerates at breach number covenant_cure_tests + 1."""


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
    atm_min_price_to_nav: NonNegative = 1.0
    """No ATM sale below this multiple of NAV per diluted share (1: never below NAV, as treasury companies
    state)."""
    atm_min_price_usd: NonNegative = 0.0
    """No ATM sale below this share price [USD/share]."""
    sbc_shares_per_year: Optional[NonNegative] = None
    """Stock-based compensation as shares granted per year (expensed at the previous close); replaces
    the company's sbc_usd_per_year [shares/year]."""
    sbc_max_shares_per_year: Optional[NonNegative] = None
    """Cap on the shares sbc_usd_per_year converts into at the trailing 30-day average price [shares/year]."""


class Valuation(Strict):
    """How the equity is valued on each path and day: Merton equity value of the firm's value V plus the
    market's premium G, per diluted share, V counting operations at max(fleet and sites, the method's EV)
    (README, "Valuation")."""

    method: Literal["nav", "dcf", "multiple"] = "nav"
    """nav: net asset value; dcf: expected free cash flow from the day's state; multiple: EV multiple."""
    market_multiple: NonNegative = 1.0
    """nav/dcf: the premium without company.market; multiple: EV / EBITDA (or USD per EH/s with basis ehs)."""
    multiple_basis: Literal["ebitda", "ehs"] = "ebitda"
    """multiple: EV on trailing-12-month EBITDA or on installed EH/s."""
    discount_rate: Fraction = 0.1
    """Annual discount rate for NPVs and the dcf."""
    dcf_years: Annotated[int, Field(ge=1, le=50)] = 5
    """dcf: years of expected free cash flow counted (and an HPC lease's horizon when it has no term)."""
    hpc_discount_rate: Optional[Fraction] = None
    """Discount rate of contracted HPC cash flows in NAV (default: discount_rate)."""
    long_run_premium: Optional[Annotated[float, Field(ge=1)]] = None
    """Long-run premium p_∞ ≥ 1 (market-implied asset value / the model's asset value V): the market's
    premium G reverts to (p_∞ − 1) V with premium_half_life_days, and a day-0 discount on the equity
    to none (default: none, G keeps its day-0 value, moving only with BTC; finance/structural.py).
    A long-run discount (p_∞ < 1) would be carried on the assets, which prices the equity of a firm
    whose assets cover its debt as a worthless call: it is refused."""
    premium_half_life_days: Positive = 365.0
    """Half-life of the premium's reversion to long_run_premium [days]."""
    min_asset_vol_annual: Positive = 0.2
    """Floor of the firm's asset volatility in the structural (Merton) equity value [1/sqrt(year)]."""
    risk_free_rate: Fraction = 0.04
    """Rate discounting the debt's face in the structural equity value, F e^{−rT} [1/year]."""


class ShareMarket(Strict):
    """Where the stock traded when the simulation starts."""

    share_price_usd: Positive
    """Closing share price on as_of: the day-0 share price [USD/share]."""
    as_of: IsoDate
    """Date of that close."""


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
    market: Optional[ShareMarket] = None
    """The stock's opening close: anchors the day-0 share price (default: no anchor, premium = market_multiple)."""
    cost_allocation: Literal["revenue_share", "all_to_mining"] = "revenue_share"
    """How SG&A and SBC are allocated to the mining, hosting and HPC segments for the per-BTC costs."""
