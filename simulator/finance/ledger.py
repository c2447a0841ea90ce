"""The company's books on every path: operations in, statements and equity metrics out.

One :class:`Ledger` per run, arrays over paths. The engine calls it once a day in this order
(DESIGN.md's actors): :meth:`Ledger.book_operations` with the day's
:class:`~simulator.finance.flows.OperatingFlows`; each debt book's ``day`` (its own
process); :meth:`Ledger.book_hedges`; :meth:`Ledger.close_day`.

Accounting (US GAAP in outline):

* Revenue: mining revenue (BTC received × the day's close, in kind) + hosting revenue.
  Cost of revenue: power − power credits − demand-response credits + transmission charges +
  hosted clients' power + hosting fees paid + site opex + repairs. EBITDA = revenue − cost
  of revenue − SG&A (cash SG&A; stock-based compensation is below it, like miners'
  adjusted EBITDA).
* Treasury BTC at fair value (ASU 2023-08): the holdings at the previous close gain
  ``BTC × (P_t − P_{t−1})`` in income; BTC mined, bought and sold move at the day's close.
* Machines: straight line per cohort over ``asic_life_years`` from ``deployed``/delivery;
  units retired or lost to failures leave at book value, the impairment being book value −
  resale proceeds. Sites (opening book value and expansion capex, placed in service the month
  after it is spent) straight line over ``site_life_years``.
* SBC is expensed and credited to equity: ``equity.sbc_shares_per_year`` at the previous close,
  or ``sbc_usd_per_year`` in shares at the trailing 30-day average price (capped by
  ``equity.sbc_max_shares_per_year``). SG&A, SBC and the sites' depreciation are split into
  mining, hosting and HPC parts (:mod:`~simulator.finance.segments`).
* Taxes at each month end: ``rate × (max(0, cumulative pre-tax income) − max(0, its value a
  month earlier))`` (losses carried forward, and back within the horizon).
* Treasury policy at the close: sell ``sell_fraction`` of the day's BTC; top cash up to
  ``min_cash_usd`` in ``funding_order`` (sell treasury BTC, ATM at the previous close's share
  price within the quarterly cap, never below ``atm_min_price_to_nav`` × NAV per share nor
  ``atm_min_price_usd``); on the first day of a quarter, buy BTC with ATM capital
  and buy back shares. If cash is still negative the path is in distress: the shortfall is
  carried as ``arrears_usd`` (unpaid obligations, a liability), cash is set to 0 and from the
  next day the company stops: no production, costs, interest or capex; its assets are still
  marked, its share price is 0 (the only case: a solvent firm's equity, a call on its
  assets, is worth more than 0; :mod:`~simulator.finance.structural`).

The opening balance sheet is struck at the first close (day 0's price and hashprice): cash,
all treasury BTC (BTC-backed loans then pledge their collateral out of it), machines at cost
depreciated since deployed, opening site book value and other items, debt at face; equity
balances. Every month end checks assets = liabilities + equity and BTC conservation on every
path and raises if either fails.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator import units
from simulator.finance import close_steps, close_value, dilution, operations_call, segments, structural, valuation
from simulator.finance.books import AssetPool, LineBook, Ring
from simulator.finance.contracts import FIRM_VALUE_KERNEL, NUMPY_FIRM_VALUE_COST, ContractValuer
from simulator.finance.debt import BtcBackedBook, ConvertibleBook, ProjectDebtBook, TermLoanBook
from simulator.finance.depreciation import CohortBookValues
from simulator.finance.equity_returns import EquityReturns
from simulator.finance.hedges import DEFAULT_IMPLIED_VOL_ANNUAL, HedgeBook

#: Income statement lines (monthly sums).
INCOME_LINES = ("revenue_usd", "hpc_revenue_recognised_usd", "cost_of_revenue_usd", "sga_usd", "ebitda_usd",
                "ebitda_mining_usd", "ebitda_hpc_usd", "sbc_usd", "depreciation_usd", "hpc_depreciation_usd",
                "impairment_usd", "btc_fair_value_gain_usd", "hedge_pnl_usd", "interest_usd", "hpc_interest_usd",
                "liquidation_penalty_usd", "pretax_income_usd", "tax_usd", "net_income_usd")
#: Segment parts of the shared costs (monthly sums; each set sums to its company line: segments.py).
SEGMENT_LINES = ("sga_mining_usd", "sga_hosting_usd", "sga_hpc_usd", "sbc_mining_usd", "sbc_hosting_usd",
                 "sbc_hpc_usd", "depreciation_mining_usd", "depreciation_hosting_usd", "interest_corporate_mining_usd",
                 "interest_corporate_hosting_usd", "interest_corporate_hpc_usd")
#: Cash-flow statement lines (monthly sums; cfo + cfi + cff = net change in cash).
CASH_FLOW_LINES = ("btc_sales_usd", "cash_revenue_usd", "cfo_usd", "capex_usd", "resale_proceeds_usd",
                   "btc_purchases_usd", "cfi_usd", "atm_proceeds_usd", "buybacks_usd", "debt_drawn_usd", "debt_repaid_usd",
                   "unpaid_obligations_usd", "cff_usd", "net_cash_change_usd")
#: Non-cash movements and quantities (monthly sums).
OTHER_LINES = ("btc_sold", "btc_bought", "btc_liquidated", "debt_settled_by_collateral_usd", "converted_debt_usd",
               "shares_issued")
#: Balance sheet lines (month end).
BALANCE_LINES = ("cash_usd", "treasury_btc", "pledged_btc", "btc_value_usd", "fleet_book_value_usd",
                 "site_book_value_usd", "hpc_book_value_usd", "other_assets_usd", "total_assets_usd", "debt_usd",
                 "arrears_usd", "deferred_revenue_usd", "other_liabilities_usd", "total_liabilities_usd", "equity_usd",
                 "shares_outstanding",
                 "share_price_usd")
FINANCE_MONTHLY_LINES = INCOME_LINES + SEGMENT_LINES + CASH_FLOW_LINES + OTHER_LINES + BALANCE_LINES
#: Daily state columns (end of day) for daily.parquet.
FINANCE_DAILY_COLUMNS = ("cash_usd", "treasury_btc", "pledged_btc", "debt_usd", "equity_value_usd",
                         "share_price_usd")
#: Events flagged per path (1 if it ever happened).
FLAGS = ("margin_call", "liquidation", "cash_shortfall", "covenant_breach", "refinanced")

_FLOW_LINES = INCOME_LINES + SEGMENT_LINES + CASH_FLOW_LINES + OTHER_LINES
#: Relative tolerance of the monthly identity checks.
IDENTITY_RTOL = 1e-9


@dataclass(frozen=True)
class CalendarDay:
    """Where a simulated day falls in the calendar (months and quarters of the horizon)."""

    day: int
    month_start: bool
    month_end: bool
    quarter_start: bool
    quarter_end: bool
    month_days: int
    days_left_in_month: int


def calendar(dates: pd.DatetimeIndex) -> list[CalendarDay]:
    """One :class:`CalendarDay` per day; the horizon's first day starts a month and a quarter, its last ends one."""
    n = len(dates)
    month = np.asarray(dates.year * 12 + dates.month)
    first = np.r_[True, month[1:] != month[:-1]] if n else np.zeros(0, dtype=bool)
    last = np.r_[month[:-1] != month[1:], True] if n else np.zeros(0, dtype=bool)
    ends = np.flatnonzero(last)
    left = ends[np.searchsorted(ends, np.arange(n))] - np.arange(n)
    quarter_start = first & (np.asarray(dates.month) % 3 == 1)
    quarter_end = last & (np.asarray(dates.month) % 3 == 0)
    if n:
        quarter_start[0] = quarter_end[-1] = True
    return [CalendarDay(*row) for row in zip(range(n), first.tolist(), last.tolist(), quarter_start.tolist(),
                                             quarter_end.tolist(), np.asarray(dates.days_in_month).tolist(),
                                             left.tolist())]


#: The smallest price at which a share trades [USD]: SEC Regulation NMS Rule 612 lets a stock
#: under $1.00 be quoted in increments of $0.0001, so no trade is priced below one increment.
MIN_TRADED_PRICE_USD = 1e-4


def _shares_for(usd, share_price_usd) -> np.ndarray:
    """Shares that ``usd`` buys at ``share_price_usd`` (0 where the price is below
    :data:`MIN_TRADED_PRICE_USD`: nothing trades, so no shares are sold or granted for USD)."""
    shares = np.zeros(np.shape(usd))
    np.divide(usd, share_price_usd, out=shares, where=np.asarray(share_price_usd) >= MIN_TRADED_PRICE_USD)
    return shares


class IdentityError(AssertionError):
    """The books do not balance (a bug, never bad input)."""


class Ledger:
    """Books, statements, treasury, equity and valuation of one company on every path."""

    def __init__(self, company, *, start: dt.date, horizon_days: int, paths: int, site_names: list[str],
                 cohort_start_day: np.ndarray, price_drift_annual: float, network_growth_annual: float,
                 hpc_projects=(), price_vol_annual: float = structural.DEFAULT_BTC_VOL_ANNUAL):
        self.cfg, self.start, self.days, self.paths = company, start, horizon_days, paths
        self.price_drift_annual, self.network_growth_annual = price_drift_annual, network_growth_annual
        self.cohort_start_day = np.asarray(cohort_start_day, dtype=float)[:, None]
        self.book_values = CohortBookValues(self.cohort_start_day, company.asic_life_years)
        self.debt_books = [{"term_loan": TermLoanBook, "convertible": ConvertibleBook,
                            "btc_backed": BtcBackedBook}[d.kind](d, start, paths) for d in company.debt]
        self.debt_books += [ProjectDebtBook(p.financing, j, paths) for j, p in enumerate(hpc_projects)
                            if p.financing.debt_fraction > 0]
        self._btc_books = [b for b in self.debt_books if isinstance(b, BtcBackedBook)]
        self.hedges = HedgeBook(company.hedges, start, horizon_days, site_names, paths)
        zeros = lambda: np.zeros(paths)  # noqa: E731
        self.cash_usd, self.treasury_btc = zeros(), zeros()
        self.shares = np.full(paths, float(company.shares_outstanding))
        self.arrears_usd, self.equity_usd = zeros(), zeros()
        self.deferred_revenue_usd = np.zeros((len(hpc_projects), paths))
        self.alive = np.ones(paths, dtype=bool)
        self.share_price_usd = zeros()
        self.equity_value_usd = zeros()
        self.flags = {f: np.zeros(paths, dtype=bool) for f in FLAGS}
        self.lines = LineBook(_FLOW_LINES, paths)  # the month's and the horizon's sums of every flow line
        self.records: list[np.ndarray] = []
        self.sites = AssetPool(company.site_life_years, paths)
        self.hpc_pools = [(AssetPool(company.site_life_years, paths),
                           AssetPool(p.revenue.gpu_life_years if p.revenue.kind == "gpu_cloud" else company.site_life_years,
                                      paths))
                          for p in hpc_projects]
        self.ebitda_ring, self.interest_ring = Ring(units.DAYS_PER_YEAR, paths), Ring(units.DAYS_PER_YEAR, paths)
        # trailing 30-day run rates of the dcf: BTC mined (priced at the day's close), costs, other revenue
        self.run_rate = {k: Ring(30, paths) for k in ("mining", "variable", "other", "fixed")}
        self.log_returns = Ring(30, paths)
        self.cum_pretax_usd, self.taxed_base_usd = zeros(), zeros()
        self.atm_used_usd, self.atm_shares_issued = zeros(), zeros()
        self.quarter_start_shares = self.shares.copy()
        self.returns = EquityReturns(paths)
        self.start_shares = float(company.shares_outstanding)
        self.previous_month_btc, self.previous_month_days, self.month_btc, self.month_days = zeros(), 0, zeros(), 0
        self.flows = None
        self.price_usd = None
        v = company.valuation
        self.contracts = ContractValuer(hpc_projects, start, v.discount_rate if v.hpc_discount_rate is None
                                        else v.hpc_discount_rate, v.dcf_years, paths)
        self.btc_vol = structural.TrailingVol(paths, price_vol_annual)
        self.share_price_ring = Ring(30, paths)
        self.premium: structural.MarketPremium | None = None  # the market's premium or discount on day 0
        self.nav_per_share_usd = zeros()
        self._sbc_shares_today = zeros()
        self._value_scratch: close_value.ValueScratch | None = None  # (the compiled share price's tables)

    # ------------------------------------------------------------------ opening
    def open(self, flows, opening_units: np.ndarray, opening_cost_usd: np.ndarray) -> None:
        """The opening balance sheet at the first close; ``opening_*`` are ``(cohorts, paths)``."""
        c = self.cfg
        self.price_usd = np.asarray(flows.price_usd, dtype=float)
        self.cash_usd = np.full(self.paths, float(c.cash_usd))
        self.treasury_btc = np.full(self.paths, float(c.treasury_btc))
        self.units = np.asarray(opening_units, dtype=float).copy()
        self.unit_cost_usd = np.zeros_like(self.units)
        np.divide(opening_cost_usd, self.units, out=self.unit_cost_usd, where=self.units > 0)
        if c.opening.fleet_book_value_usd is not None:
            computed = self.fleet_book_value_usd(0)
            scale = np.zeros(self.paths)
            np.divide(c.opening.fleet_book_value_usd, computed, out=scale, where=computed > 0)
            self.unit_cost_usd = self.unit_cost_usd * scale
        if c.opening.site_book_value_usd:
            self.sites.place_in_service(np.full(self.paths, c.opening.site_book_value_usd), 0)
        for book in self.debt_books:
            if isinstance(book, BtcBackedBook):
                book.open(self, self.price_usd)
        if c.market is not None:  # the previous close of day 0 (if-converted, issuance): the market's
            self.share_price_usd = np.full(self.paths, float(c.market.share_price_usd))
        opening = self._balance(-1)  # at 00:00 of day 0
        self.equity_usd = opening["total_assets_usd"] - opening["total_liabilities_usd"]
        opening["equity_usd"] = self.equity_usd.copy()
        self.opening_balance = opening

    # ------------------------------------------------------------------ used by the debt books
    def pay_interest(self, usd, hpc: bool = False) -> None:
        """Interest paid in cash today: on HPC project debt (``hpc``), HPC's alone; on corporate debt, shared by the
        segments as SG&A is, by the day's revenue shares (``interest_corporate_{mining,hosting,hpc}_usd``): a
        company's convertibles fund its data centres as much as its fleet, and mining's all-in cost takes only its
        share (GLOSSARY.md, "Cash cost per BTC": no other segment's cost is loaded onto mined BTC)."""
        self._book("interest_usd", usd)
        if hpc:
            self._book("hpc_interest_usd", usd)
        else:
            self._book_segments("interest_corporate", usd)
        self.cash_usd = self.cash_usd - usd
        self._interest_today = self._interest_today + usd

    def draw(self, usd) -> None:
        self._book("debt_drawn_usd", usd)
        self.cash_usd = self.cash_usd + usd

    def repay(self, usd) -> None:
        self._book("debt_repaid_usd", usd)
        self.cash_usd = self.cash_usd - usd

    def convert(self, principal_usd, shares) -> None:
        self._book("converted_debt_usd", principal_usd)
        self._book("shares_issued", shares)
        self.shares = self.shares + shares
        self.equity_usd = self.equity_usd + principal_usd

    def liquidate(self, sold_btc, settled_usd, penalty_usd) -> None:
        """The lender sold ``sold_btc`` of collateral: ``settled_usd`` of debt repaid, ``penalty_usd`` lost."""
        self._book("btc_liquidated", sold_btc)
        self._book("debt_settled_by_collateral_usd", settled_usd)
        self._book("liquidation_penalty_usd", penalty_usd)
        self.equity_usd = self.equity_usd - penalty_usd

    def pay_due(self, usd) -> None:
        """Debt due at once: paid from cash, then by selling treasury BTC; what is left leaves cash
        negative for the close's funding waterfall, or distress."""
        usd = np.asarray(usd, dtype=float)
        if not usd.any():
            return
        self.repay(usd)
        self._sell_btc(np.maximum(-self.cash_usd, 0.0) / self.price_usd)

    def flag(self, name: str, mask) -> None:
        self.flags[name] |= np.asarray(mask, dtype=bool)

    def debt_usd(self) -> np.ndarray:
        """Debt at face value (all instruments)."""
        return sum((b.balance_usd for b in self.debt_books), np.zeros(self.paths))

    def pledged_btc(self) -> np.ndarray:
        """BTC pledged to the BTC-backed loans, summed from +0.0 (one loan's: ``0.0 + x``, a new array, the
        floats of the sum)."""
        books = self._btc_books
        if len(books) == 1:
            return np.add(0.0, books[0].pledged_btc)
        return sum((b.pledged_btc for b in books), np.zeros(self.paths))

    def btc_held(self) -> np.ndarray:
        """All BTC the company owns, marked at fair value: free, pledged and receivable [BTC]."""
        return self.treasury_btc + self.pledged_btc() + self.cfg.opening.btc_receivable

    def _carried_assets_usd(self) -> float:
        """Assets carried unchanged at cost: other assets and construction in progress [USD]."""
        o = self.cfg.opening
        return o.other_assets_usd + o.construction_in_progress_usd

    def ttm_ebitda_usd(self) -> np.ndarray:
        """Trailing-12-month EBITDA (annualised before a year has passed)."""
        return self.ebitda_ring.annualised()

    def ttm_interest_usd(self) -> np.ndarray:
        return self.interest_ring.annualised()

    # ------------------------------------------------------------------ daily
    def book_operations(self, flows, day: int) -> None:
        """Book the day's operating flows (revenue, costs, machines, sites, BTC mined)."""
        c, alive = self.cfg, self.alive
        f = flows.masked(alive)
        self.flows = f
        self._interest_today = np.zeros(self.paths)
        kernel = operations_call.kernel_for(self, f)
        if kernel is not None:  # the same arithmetic compiled, one call for all paths (operations_kernel.py)
            return operations_call.book(self, f, day, kernel)
        gain = self.btc_held() * (f.price_usd - self.price_usd)
        if day > 0:
            self.btc_vol.push(np.log(np.asarray(f.price_usd, dtype=float) / self.price_usd))
        self.contracts.observe(day, f.hpc_completed, f.hpc_lease_ended)
        self.price_usd = np.asarray(f.price_usd, dtype=float)
        self._book("btc_fair_value_gain_usd", gain)
        self.equity_usd = self.equity_usd + gain

        mining_cost = (f.power_cost_usd - f.power_credit_usd - f.demand_response_credit_usd
                       + f.transmission_charge_usd + f.hosting_power_cost_usd + f.hosting_cost_usd
                       + f.site_opex_usd + f.repair_cost_usd)
        hpc_cost = f.hpc_power_cost_usd + f.hpc_opex_usd + f.site_opex_hpc_usd  # HPC's MW of the site opex
        mining_cost = mining_cost - f.site_opex_hpc_usd
        cost_of_revenue = mining_cost + hpc_cost
        sga = c.sga_usd_per_year / units.DAYS_PER_YEAR * alive
        hpc_revenue, hpc_cash = self._hpc_revenue(f)
        revenue = f.mining_revenue_usd + f.hosting_revenue_usd + hpc_revenue
        ebitda = revenue - cost_of_revenue - sga
        self._ebitda_today = ebitda
        # (without hosting or HPC revenue today the shares are exactly 1, 0, 0: None books all to mining)
        self._segment_shares = (segments.revenue_shares(f.mining_revenue_usd, f.hosting_revenue_usd, hpc_revenue,
                                                        c.cost_allocation)
                                if c.cost_allocation != "all_to_mining"
                                and (f.hosting_revenue_usd.any() or hpc_revenue.any()) else None)
        self._book_segments("sga", sga)
        cash_revenue = f.hosting_revenue_usd + hpc_cash
        for k, v in (("revenue_usd", revenue), ("cost_of_revenue_usd", cost_of_revenue), ("sga_usd", sga),
                     ("ebitda_usd", ebitda), ("cash_revenue_usd", cash_revenue),
                     ("ebitda_mining_usd", f.mining_revenue_usd + f.hosting_revenue_usd - mining_cost),
                     ("ebitda_hpc_usd", hpc_revenue - hpc_cost), ("hpc_revenue_recognised_usd", hpc_revenue)):
            self._book(k, v)
        self.cash_usd = self.cash_usd + cash_revenue - cost_of_revenue - sga
        self.treasury_btc = self.treasury_btc + f.btc_mined
        self.equity_usd = self.equity_usd + ebitda
        self.month_btc = self.month_btc + f.btc_mined

        self._book_assets(f, day)

        # treasury policy: sell a share of today's production
        self._sell_btc(c.treasury_policy.sell_fraction * f.btc_mined)

        if c.valuation.method != "dcf":  # the run rates feed the dcf only
            return
        for k, v in (("mining", f.btc_mined),
                     ("variable", f.power_cost_usd - f.power_credit_usd + f.hosting_power_cost_usd + f.hosting_cost_usd
                      + f.repair_cost_usd),
                     ("other", f.hosting_revenue_usd + f.demand_response_credit_usd - f.transmission_charge_usd),
                     ("fixed", f.site_opex_usd + sga)):
            self.run_rate[k].push(v)

    def _hpc_revenue(self, f) -> tuple[np.ndarray, np.ndarray]:
        """HPC revenue recognised today and the cash it brought, summed over projects: prepaid leases are
        deferred revenue, used before the lease pays cash and kept when the lease ends."""
        if not self.hpc_pools:  # no projects: the sums over none are 0
            return np.zeros(self.paths), np.zeros(self.paths)
        self.deferred_revenue_usd = self.deferred_revenue_usd + f.hpc_prepayment_usd
        used = np.minimum(self.deferred_revenue_usd, f.hpc_revenue_usd)
        kept = np.where(f.hpc_lease_ended.astype(bool), self.deferred_revenue_usd - used, 0.0)
        self.deferred_revenue_usd = self.deferred_revenue_usd - used - kept
        return (f.hpc_revenue_usd + kept).sum(axis=0), (f.hpc_revenue_usd - used + f.hpc_prepayment_usd).sum(axis=0)

    def _book_assets(self, f, day: int) -> None:
        """Machines (leavers at book value, then deliveries), sites and HPC assets: capex, impairment and
        the day's depreciation, split into mining's, hosting's (the sites' MW shares) and HPC's."""
        c, alive = self.cfg, self.alive
        leaving = f.retired_units + f.lost_units
        if leaving.any():
            removed = (np.minimum(leaving, self.units) * self.book_values.on(self.unit_cost_usd, day)).sum(axis=0)
            self.units = np.maximum(self.units - leaving, 0.0)
        else:  # no unit leaves: nothing to write off (a sum of 0.0 × book value) and the units stay
            removed = np.zeros(self.paths)
        impairment = removed - f.resale_value_usd
        delivered = f.delivered_units > 0
        if delivered.any():  # (otherwise unit costs stay and no units are added)
            self.unit_cost_usd = np.where(delivered, f.purchase_capex_usd / np.where(delivered, f.delivered_units, 1.0),
                                          self.unit_cost_usd)
            self.units = self.units + f.delivered_units
        machine_dep = (self.units * self.book_values.depreciation_usd(self.unit_cost_usd, day)).sum(axis=0)
        purchase_capex = f.purchase_capex_usd.sum(axis=0)
        new_month = self.month_days == 0 and day > 0  # last month's construction goes into service
        site_dep = self.sites.step(day, new_month, f.expansion_capex_usd, alive)
        depreciation = machine_dep + site_dep
        hosting_dep = site_dep * f.site_mw_hosting_share
        hpc_assets_dep = np.zeros(self.paths)
        for j, (building, gpus) in enumerate(self.hpc_pools):
            hpc_assets_dep = hpc_assets_dep + building.step(day, new_month, f.hpc_building_capex_usd[j], alive) \
                + gpus.step(day, new_month, f.hpc_gpu_capex_usd[j], alive)
        depreciation = depreciation + hpc_assets_dep
        hpc_depreciation = hpc_assets_dep + site_dep * f.site_mw_hpc_share  # its assets and its MW of the sites
        self._book("hpc_depreciation_usd", hpc_depreciation)
        self._book("depreciation_hosting_usd", hosting_dep)
        self._book("depreciation_mining_usd", depreciation - hpc_depreciation - hosting_dep)
        capex = purchase_capex + f.expansion_capex_usd + f.hpc_building_capex_usd.sum(axis=0) \
            + f.hpc_gpu_capex_usd.sum(axis=0)
        self.cash_usd = self.cash_usd - capex + f.resale_value_usd
        self.equity_usd = self.equity_usd - impairment - depreciation
        for k, v in (("impairment_usd", impairment), ("depreciation_usd", depreciation),
                     ("capex_usd", capex), ("resale_proceeds_usd", f.resale_value_usd)):
            self._book(k, v)

    def book_hedges(self, cal: CalendarDay) -> None:
        """Hedge premiums and settlements of the day, in cash and through income."""
        if not self.cfg.hedges:
            return
        returns = self.log_returns
        vol = (np.sqrt(returns.values.var(axis=0, ddof=1) * units.DAYS_PER_YEAR) if returns.count >= returns.n
               else np.full(self.paths, DEFAULT_IMPLIED_VOL_ANNUAL))
        pnl = self.hedges.day(cal, self.flows, self.previous_month_btc, self.previous_month_days, vol) * self.alive
        self._book("hedge_pnl_usd", pnl)
        self.cash_usd = self.cash_usd + pnl
        self.equity_usd = self.equity_usd + pnl

    def close_day(self, cal: CalendarDay) -> None:
        """Taxes, quarter-start actions, funding, distress, valuation; month-end statements."""
        if close_value.close_day(self, cal, MIN_TRADED_PRICE_USD):  # (its passes in one compiled call, the same
            self.month_days += 1                                      # numbers, on most days once loaded)
            if cal.month_end:  # (the month's tax in that call)
                self._close_month(cal.day)
            return
        c, alive, day = self.cfg, self.alive, cal.day
        policy = c.treasury_policy
        self.interest_ring.push(self._interest_today)
        self.ebitda_ring.push(self._ebitda_today)
        self.equity_usd = self.equity_usd - self._interest_today
        if day == 0:  # the opening NAV per share (the ATM's floor) and, without a market close, the price
            opening_price = self._share_price(day)
            if c.market is None:
                self.share_price_usd = opening_price
        price_for_issuance = self.share_price_usd
        self._stock_compensation(price_for_issuance)
        if cal.month_end:
            pretax_month = close_value.pretax(self.lines.month_lines())
            self.cum_pretax_usd = self.cum_pretax_usd + pretax_month
            taxed = np.maximum(self.cum_pretax_usd, 0.0)
            tax = c.tax_rate * (taxed - self.taxed_base_usd) * alive
            self.taxed_base_usd = taxed
            self._book("tax_usd", tax)
            self.cash_usd = self.cash_usd - tax
            self.equity_usd = self.equity_usd - tax
        if cal.quarter_start:
            self._quarter_start(price_for_issuance)
        short = close_steps.fund_short(self, alive, price_for_issuance, MIN_TRADED_PRICE_USD)  # (compiled: the same)
        # (count_nonzero: numpy's any() of a (paths,) array at a third of its cost)
        if short is None and np.count_nonzero(self.cash_usd < policy.min_cash_usd):  # (else no path needs cash,
            self._fund(alive, price_for_issuance)                                    # nor is short: min_cash_usd ≥ 0)
            short = np.count_nonzero(self.cash_usd < 0)  # (else no path is short)
        if short:
            self._distress(alive)

        self._close_price(day)
        self.month_days += 1
        if cal.month_end:
            self._close_month(day)
        self.lines.settle()  # the day's lines into the month's and the running sums, all at once

    def _close_price(self, day: int) -> None:
        """The day's share price, the traded price, its ring row, the equity value and the equity's returns."""
        if not close_value.close_price(self, day, MIN_TRADED_PRICE_USD):  # (else compiled, the same numbers)
            price = self._share_price(day)  # below one quote increment the equity is worthless: nothing trades
            self.share_price_usd = np.where(self.alive & (price >= MIN_TRADED_PRICE_USD), price, 0.0)
            self.share_price_ring.push(self.share_price_usd)
            self.equity_value_usd = self.share_price_usd * self.shares
            self._track_equity_returns(day)

    def _fund(self, alive, price_for_issuance) -> None:
        """Top cash up to ``min_cash_usd`` from the sources in ``funding_order``."""
        if close_steps.fund(self, alive, price_for_issuance, MIN_TRADED_PRICE_USD):
            return  # (the waterfall and its bookings compiled, the same numbers: close_kernel.py)
        policy = self.cfg.treasury_policy
        need = np.maximum(policy.min_cash_usd - self.cash_usd, 0.0) * alive
        for source in policy.funding_order if need.any() else ():  # (nothing needed: each source would move 0)
            if source == "sell_btc":
                sold = np.minimum(self.treasury_btc, need / self.price_usd)
                self._sell_btc(sold)
            elif self.cfg.equity.atm_enabled:
                self._atm(need, price_for_issuance)
            need = np.maximum(policy.min_cash_usd - self.cash_usd, 0.0) * alive

    def _distress(self, alive) -> None:
        """Paths still short of cash after funding: the shortfall becomes arrears and the company stops."""
        shortfall = np.maximum(-self.cash_usd, 0.0) * alive
        distressed = shortfall > 0
        if distressed.any():
            self.flag("cash_shortfall", distressed)
            self._book("unpaid_obligations_usd", shortfall)
            self.arrears_usd = self.arrears_usd + shortfall
            self.cash_usd = self.cash_usd + shortfall
            self.alive = alive & ~distressed

    def _quarter_start(self, price_for_issuance) -> None:
        """A new quarter: the ATM's caps reset; BTC bought with ATM capital (or spare cash); buybacks."""
        c, alive, policy = self.cfg, self.alive, self.cfg.treasury_policy
        self.atm_used_usd, self.atm_shares_issued = np.zeros(self.paths), np.zeros(self.paths)
        self.quarter_start_shares = self.shares.copy()
        if policy.buy_btc_usd_per_quarter:
            budget = policy.buy_btc_usd_per_quarter * alive
            if c.equity.atm_enabled:
                raised = self._atm(budget, price_for_issuance)
            else:
                raised = np.clip(self.cash_usd - policy.min_cash_usd, 0.0, budget)
            self._buy_btc(raised / self.price_usd)
        if c.equity.buyback_usd_per_quarter:
            spend = np.clip(self.cash_usd - c.equity.buyback_above_cash_usd, 0.0,
                            c.equity.buyback_usd_per_quarter) * alive * (price_for_issuance >= MIN_TRADED_PRICE_USD)
            bought = _shares_for(spend, price_for_issuance)
            self._book("buybacks_usd", spend)
            self._book("shares_issued", -bought)
            self.shares = self.shares - bought
            self.cash_usd = self.cash_usd - spend
            self.equity_usd = self.equity_usd - spend

    # ------------------------------------------------------------------ helpers
    def _book(self, line: str, amount) -> None:
        self.lines.book(line, amount)

    def _book_segments(self, prefix: str, amount) -> None:
        """``amount`` into its mining, hosting and HPC lines by the day's revenue shares (segments.py)."""
        if self._segment_shares is None:  # all mining's: x × 1.0 is x, and the parts × 0.0 would add 0.0
            self._book(f"{prefix}_mining_usd", amount)
            return
        for name, share in zip(("mining", "hosting", "hpc"), self._segment_shares):
            self.lines.book_product(f"{prefix}_{name}_usd", amount, share)  # (amount × share, booked)

    def _issue(self, shares) -> None:
        self._book("shares_issued", shares)
        self.shares = self.shares + shares

    def _sell_btc(self, btc) -> None:
        btc = np.minimum(btc, self.treasury_btc)
        proceeds = btc * self.price_usd
        self.treasury_btc = self.treasury_btc - btc
        self.cash_usd = self.cash_usd + proceeds
        self._book("btc_sold", btc)
        self._book("btc_sales_usd", proceeds)

    def _buy_btc(self, btc) -> None:
        cost = btc * self.price_usd
        self.treasury_btc = self.treasury_btc + btc
        self.cash_usd = self.cash_usd - cost
        self._book("btc_bought", btc)
        self._book("btc_purchases_usd", cost)

    def _atm(self, net_usd, share_price_usd) -> np.ndarray:
        """Raise up to ``net_usd`` (after the agent's fee) within the quarter's cap; returns what came in."""
        if (raised := close_steps.atm(self, net_usd, share_price_usd, MIN_TRADED_PRICE_USD)) is not None:
            return raised  # (one compiled pass, the same numbers: close_kernel.py)
        e = self.cfg.equity
        room = np.maximum(e.atm_max_usd_per_quarter - self.atm_used_usd, 0.0)
        share_room = np.maximum(e.atm_max_dilution_pct_per_quarter / 100 * self.quarter_start_shares
                                - self.atm_shares_issued, 0.0)  # the market absorbs only so many shares
        room = np.minimum(room, share_room * share_price_usd)
        floor = np.maximum(e.atm_min_price_to_nav * self.nav_per_share_usd, e.atm_min_price_usd)
        allowed = (share_price_usd >= MIN_TRADED_PRICE_USD) & (share_price_usd >= floor * (1 - 1e-12))  # never below NAV
        gross = np.minimum(net_usd / (1 - e.atm_fee) if e.atm_fee < 1 else 0.0, room) * allowed
        shares = _shares_for(gross, share_price_usd)
        net = gross * (1 - e.atm_fee)
        self.atm_used_usd = self.atm_used_usd + gross
        self.atm_shares_issued = self.atm_shares_issued + shares
        self._issue(shares)
        self._book("atm_proceeds_usd", net)
        self.cash_usd = self.cash_usd + net
        self.equity_usd = self.equity_usd + net
        return net

    def fleet_book_value_usd(self, day: int) -> np.ndarray:
        """Machines' book value at 00:00 of ``day`` (end of ``day − 1``)."""
        return (self.units * self.book_values.on(self.unit_cost_usd, day)).sum(axis=0)

    def _hpc_book_usd(self, project: int | None = None) -> np.ndarray:
        """Book value of HPC buildings and GPUs (one project, or all)."""
        pools = self.hpc_pools if project is None else self.hpc_pools[project:project + 1]
        return sum((b.value_usd + g.value_usd for b, g in pools), np.zeros(self.paths))

    def _hpc_value_usd(self, day: int) -> np.ndarray:
        """HPC projects in the firm's value: a signed contract at its expected present value net of the
        capex still to pay (:mod:`~simulator.finance.contracts`), an unsigned project at book value."""
        total = np.zeros(self.paths)
        for value in self._hpc_values_usd(day) if len(self.hpc_pools) else ():
            total = total + value
        return total

    def _hpc_values_usd(self, day: int) -> np.ndarray:
        """Each HPC project's value in the firm's (:meth:`_hpc_value_usd`) ``(projects, paths)`` [USD]."""
        f, signed_by = self.flows, self.contracts.signed(day)  # (none signed yet: no contract to value)
        signed = np.count_nonzero(signed_by)  # (numpy's any() and all() of a few projects, at a third of their cost)
        value = (self.contracts.value_usd(day, f.hpc_rate_factor, f.hpc_power_price_usd_per_mwh) if signed
                 else np.empty((len(signed_by), self.paths)))
        for j in () if signed == len(signed_by) else np.flatnonzero(~signed_by):
            value[j] = self._hpc_book_usd(j)
        return value

    def _strike(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Diluted shares and each instrument's face and years to maturity ``(1 + debt books, paths)``, the
        arrears first; in-the-money convertibles (at the previous close) count as shares and leave the
        debt (if-converted)."""
        # options, RSUs and warrants by the treasury-stock method at the previous close (issue 18)
        diluted = (dilution.diluted_shares(self.shares, self.cfg.dilutive, self.share_price_usd) if self.cfg.dilutive
                   else self.shares)  # (none: it would add 0.0 to each count)
        faces, years = np.empty((len(self.debt_books) + 1, self.paths)), np.empty((len(self.debt_books) + 1, self.paths))
        faces[0], years[0] = self.arrears_usd, structural.MIN_YEARS
        for i, book in enumerate(self.debt_books, start=1):
            faces[i], years[i] = book.balance_usd, book.years_left(day)
            if isinstance(book, ConvertibleBook):
                diluted = book.if_converted(diluted, faces[i], self.share_price_usd)
        return diluted, faces, years

    def _firm_value(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Asset value V and its BTC-linked part at the close (structural.py, DESIGN.md "Economics"):
        cash + BTC (free and pledged) + other assets − other liabilities − deferred revenue + HPC
        projects + max(fleet at the ASIC price index + sites' non-HPC book value, the dcf/multiple EV)."""
        v, f, o = self.cfg.valuation, self.flows, self.cfg.opening
        kernel = FIRM_VALUE_KERNEL.for_call(self.paths, NUMPY_FIRM_VALUE_COST) if v.method == "nav" else None
        if kernel is not None:  # one compiled pass, the same numbers (simulator.finance.firm_value_kernel)
            pledged = np.array([b.pledged_btc for b in self._btc_books]).reshape(len(self._btc_books), self.paths)
            return kernel.nav_firm_value(
                self.cash_usd, self.treasury_btc, pledged, float(o.btc_receivable), self.price_usd,
                float(self._carried_assets_usd()), float(o.other_liabilities_usd), self.deferred_revenue_usd,
                f.fleet_market_value_usd, self.sites.book_usd, self.sites.in_progress_usd, f.site_mw_hpc_share,
                self._hpc_values_usd(day))
        btc = self.btc_held() * self.price_usd
        liquid = (self.cash_usd + btc + self._carried_assets_usd() - o.other_liabilities_usd
                  - self.deferred_revenue_usd.sum(axis=0))
        operations = f.fleet_market_value_usd + self.sites.value_usd * (1 - f.site_mw_hpc_share)
        if v.method == "dcf":
            rr = {k: ring.annualised() for k, ring in self.run_rate.items()}
            operations = np.maximum(operations, valuation.dcf_enterprise_value_usd(
                rr["mining"] * self.price_usd, rr["variable"], rr["other"], rr["fixed"], f.height, f.fees_btc_per_block,
                price_drift_annual=self.price_drift_annual, network_growth_annual=self.network_growth_annual,
                discount_rate=v.discount_rate, years=v.dcf_years))
        elif v.method == "multiple":
            basis = np.maximum(self.ttm_ebitda_usd(), 0.0) if v.multiple_basis == "ebitda" else f.installed_ehs
            operations = np.maximum(operations, v.market_multiple * basis)
        return liquid + operations + self._hpc_value_usd(day), btc + operations

    def _share_price(self, day: int) -> np.ndarray:
        """Merton equity value of the assets and the market's premium, per diluted share, at today's
        close (:func:`structural.share_value`); sets the NAV per share (V − F) / diluted and, on day 0,
        the premium the market close implies (else ``market_multiple``; 1 for ``method: multiple``)."""
        v = self.cfg.valuation
        diluted, faces, years = self._strike(day)
        assets, linked = self._firm_value(day)
        if day == 0:
            self.premium = self._premium(diluted, faces, years, assets, linked)
        self.nav_usd, self.nav_per_share_usd, price = structural.share_value(
            faces, years, diluted, assets, linked, self.btc_vol.value(), v.min_asset_vol_annual, self.premium,
            self.price_usd, day, v.risk_free_rate)
        return price

    def _premium(self, diluted, faces, years, assets, linked) -> structural.MarketPremium:
        """Day 0's premium or discount over the model's equity (structural.py): implied by the market
        close if there is one, else ``market_multiple`` (1 for ``method: multiple``)."""
        v, market = self.cfg.valuation, self.cfg.market
        face, t, sigma = structural.call_terms(faces, years, assets, linked, self.btc_vol.value(), v.min_asset_vol_annual)
        if market is not None:
            intangible0 = structural.implied_asset_value_usd(market.share_price_usd * diluted, face, t, sigma,
                                                             v.risk_free_rate) - assets
        else:
            intangible0 = ((1.0 if v.method == "multiple" else v.market_multiple) - 1.0) * np.maximum(assets, 0.0)
        intangible0, multiple0 = structural.split_discount(
            intangible0, structural.merton_equity_usd(assets, face, t, sigma, v.risk_free_rate),
            structural.merton_equity_usd(assets + intangible0, face, t, sigma, v.risk_free_rate))
        linked_share0 = np.zeros(self.paths)
        np.divide(linked, assets, out=linked_share0, where=assets > 0)
        return structural.MarketPremium(intangible0, multiple0, assets, linked_share0, self.price_usd,
                                        v.long_run_premium, v.premium_half_life_days)

    def _stock_compensation(self, share_price_usd) -> None:
        """SBC of the day: ``sbc_shares_per_year / 365`` shares expensed at the previous close, or
        ``sbc_usd_per_year / 365`` granted at the trailing 30-day average price (at most
        ``sbc_max_shares_per_year / 365`` shares); allocated to segments like SG&A."""
        c, e = self.cfg, self.cfg.equity
        if e.sbc_shares_per_year is not None:
            shares = np.full(self.paths, e.sbc_shares_per_year / units.DAYS_PER_YEAR) * self.alive
            expense = shares * share_price_usd
        elif close_steps.sbc_book(  # (granted and booked in one compiled pass, the same numbers: close_kernel.py)
                self, c.sbc_usd_per_year / units.DAYS_PER_YEAR, None if e.sbc_max_shares_per_year is None
                else e.sbc_max_shares_per_year / units.DAYS_PER_YEAR, MIN_TRADED_PRICE_USD):
            return
        else:
            seen = self.share_price_ring.count
            average = self.share_price_ring.total() / min(seen, 30) if seen else share_price_usd
            # no grant below the smallest traded price (its share count would be unbounded)
            expense = c.sbc_usd_per_year / units.DAYS_PER_YEAR * self.alive * (average >= MIN_TRADED_PRICE_USD)
            if e.sbc_max_shares_per_year is not None:
                expense = np.minimum(expense, e.sbc_max_shares_per_year / units.DAYS_PER_YEAR * average)
            shares = _shares_for(expense, average)
        self._book("sbc_usd", expense)
        self._book_segments("sbc", expense)
        self._issue(shares)

    def _track_equity_returns(self, day: int) -> None:
        """The equity's returns and drawdown (equity_returns.py); with hedges, BTC's log returns for their premiums."""
        if day > 0 and self.cfg.hedges:  # the trailing volatility of the hedges' premiums
            self.log_returns.push(np.log(self.price_usd / self.returns.last_btc_price_usd))
        self.returns.track(day, self.share_price_usd, self.price_usd)

    def _balance(self, day: int) -> dict:
        """The balance sheet at 00:00 of ``day + 1`` by line, each a new array (compiled once the close's kernels
        are loaded: :func:`~simulator.finance.close_value.balance`, the same floats)."""
        compiled = close_value.balance(self, day)
        if compiled is not None:
            return compiled
        pledged = self.pledged_btc()
        b = {"cash_usd": self.cash_usd, "treasury_btc": self.treasury_btc, "pledged_btc": pledged,
             "btc_value_usd": self.btc_held() * self.price_usd,
             "fleet_book_value_usd": self.fleet_book_value_usd(day + 1), "site_book_value_usd": self.sites.value_usd,
             "hpc_book_value_usd": self._hpc_book_usd(),
             "other_assets_usd": np.full(self.paths, self._carried_assets_usd()),
             "debt_usd": self.debt_usd(), "arrears_usd": self.arrears_usd,
             "deferred_revenue_usd": self.deferred_revenue_usd.sum(axis=0),
             "other_liabilities_usd": np.full(self.paths, self.cfg.opening.other_liabilities_usd),
             "equity_usd": self.equity_usd, "shares_outstanding": self.shares, "share_price_usd": self.share_price_usd}
        b["total_assets_usd"] = (b["cash_usd"] + b["btc_value_usd"] + b["fleet_book_value_usd"]
                                 + b["site_book_value_usd"] + b["hpc_book_value_usd"] + b["other_assets_usd"])
        b["total_liabilities_usd"] = (b["debt_usd"] + b["arrears_usd"] + b["deferred_revenue_usd"]
                                      + b["other_liabilities_usd"])
        return {k: np.array(v, dtype=float, copy=True) for k, v in b.items()}

    def _close_month(self, day: int) -> None:
        book = self.lines
        month = close_value.month_record(self)  # (compiled once the close's kernels are loaded: the same numbers)
        lines = dict(zip(book.names, month))  # (the record's; the month's lines as _check reads them)
        opening = self.records[-1]["balance"] if self.records else self.opening_balance
        balance = self._balance(day)
        if not close_value.identities_hold(self, opening, balance, lines, IDENTITY_RTOL):
            self._check(opening, balance, lines)
        self.records.append({"lines": lines, "balance": balance})
        self.lines.new_month()
        self.previous_month_btc, self.previous_month_days = self.month_btc, self.month_days
        self.month_btc, self.month_days = np.zeros(self.paths), 0

    def _check(self, opening: dict, closing: dict, m: dict) -> None:
        """Assets = liabilities + equity; cash and BTC conserved; raise on any path that fails."""
        scale = np.maximum.reduce([np.abs(closing["total_assets_usd"]), np.abs(closing["total_liabilities_usd"]),
                                   np.full(self.paths, 1.0)])
        gap = closing["total_assets_usd"] - closing["total_liabilities_usd"] - closing["equity_usd"]
        cash_gap = closing["cash_usd"] - opening["cash_usd"] - m["net_cash_change_usd"]
        btc_in = self.month_btc + m["btc_bought"]
        btc_out = (m["btc_sold"] + m["btc_liquidated"] + closing["treasury_btc"] + closing["pledged_btc"]
                   - opening["treasury_btc"] - opening["pledged_btc"])
        btc_scale = np.maximum(np.abs(closing["treasury_btc"]) + np.abs(btc_in), 1.0)
        for name, residual, tol in (("assets − liabilities − equity [USD]", gap, scale),
                                    ("cash − opening cash − net cash flow [USD]", cash_gap, scale),
                                    ("BTC in − BTC out [BTC]", btc_in - btc_out, btc_scale)):
            bad = np.abs(residual) > IDENTITY_RTOL * tol
            if bad.any():
                worst = int(np.argmax(np.abs(residual)))
                raise IdentityError(f"books do not balance: {name} = {residual[worst]:.6g} on path index {worst}")

    # ------------------------------------------------------------------ results
    def per_path_totals(self) -> dict[str, np.ndarray]:
        """Per-path figures the finance metrics are computed from."""
        last = self._balance(self.days - 1)
        diluted = self._strike(self.days - 1)[0]
        b, r = self.returns.sums, self.returns
        return {**self.lines.total_lines(), **{f"flag_{k}": v.astype(float) for k, v in self.flags.items()},
                "end_treasury_btc": last["treasury_btc"] + last["pledged_btc"], "end_cash_usd": last["cash_usd"],
                "end_debt_usd": last["debt_usd"] + last["arrears_usd"], "end_shares": last["shares_outstanding"],
                "start_shares": np.full(self.paths, self.start_shares), "end_equity_value_usd": self.equity_value_usd,
                "first_share_price_usd": r.first_share_price_usd, "end_share_price_usd": self.share_price_usd,
                "end_nav_usd": self.nav_usd, "end_diluted_shares": diluted,
                "end_installed_ehs": self.flows.installed_ehs, "beta_n": b["n"], "beta_x": b["x"], "beta_y": b["y"],
                "beta_xx": b["xx"], "beta_xy": b["xy"], "max_drawdown": r.max_drawdown}

    def monthly_rows(self) -> dict[str, list[np.ndarray]]:
        """Each finance line as the list of its months' rows ``(paths,)``, in order (flows summed, balance lines at
        month end; the results' tables write them path by path without stacking them month-major first:
        :func:`simulator.reporting.fill_path_major`)."""
        return {k: [r["balance" if k in BALANCE_LINES else "lines"][k] for r in self.records]
                for k in FINANCE_MONTHLY_LINES}

    def daily_columns(self) -> dict[str, np.ndarray]:
        return {"cash_usd": self.cash_usd, "treasury_btc": self.treasury_btc, "pledged_btc": self.pledged_btc(),
                "debt_usd": self.debt_usd() + self.arrears_usd, "equity_value_usd": self.equity_value_usd,
                "share_price_usd": self.share_price_usd}

    def daily_column_terms(self) -> tuple:
        """:meth:`daily_columns`' operands in order, the sums' terms as tuples (``reporting_kernel.day_row``)."""
        return (self.cash_usd, self.treasury_btc, tuple([b.pledged_btc for b in self._btc_books]),
                tuple([b.balance_usd for b in self.debt_books]), self.arrears_usd, self.equity_value_usd,
                self.share_price_usd)
