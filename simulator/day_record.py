"""The record of the simulated days that the engine's operating actors fill, and its hand-over to finance.

The market actor opens a :class:`DayRecord` for each block of days (arrays ``(n, paths)``, the
day first); the network, sites, hosted cohorts, HPC projects and pool add their flows to it in
that order (sums across sites are taken in site order). No actor takes a day's record out of the
block (the tests' references do: ``tests/block_day.py``); the company actor stops distressed paths
(:meth:`simulator.block.OpsBlock.stop`, the one place operations are masked: :data:`STOPPED_LINES`,
:data:`STOPPED_TRADES`) and hands finance
the day's :class:`simulator.finance.flows.OperatingFlows`, row ``j`` of the block's table of them
(:meth:`simulator.block.OpsBlock.flows`, :meth:`DayRecord.block_flows`); the reporting actor takes the block's columns and monthly lines a run of days
at a time (:meth:`simulator.reporting.Reporter.day`). Amounts are the day's totals. Every
array is the record's own (none is shared between fields), so adding to one field never
changes another.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, fields

import numpy as np

from simulator.finance import segments
from simulator.finance.flows import OperatingFlows
from simulator.fleet import Trades
from simulator.hpc import HpcDay
from simulator.network import DayBlocks, hashprice_usd_per_ph_day
from simulator.site_day import SiteFlows

#: The operating lines of the monthly table (and of the per-path totals), in column order.
MONTHLY_LINES = ("btc_mined", "mining_revenue_usd", "power_cost_usd", "power_credit_usd",
                 "demand_response_credit_usd", "transmission_charge_usd", "hosting_revenue_usd",
                 "hosting_power_cost_usd", "hosting_cost_usd", "site_opex_usd", "site_opex_hosting_usd", "site_opex_hpc_usd",
                 "expansion_capex_usd", "purchase_capex_usd",
                 "energy_mwh",
                 "curtailed_mwh", "underclocked_mwh", "repair_cost_usd", "units_failed", "units_retired",
                 "retired_ths",
                 "resale_value_usd", "hpc_revenue_usd", "hpc_power_cost_usd", "hpc_opex_usd", "hpc_capex_usd")


@dataclass
class DayRecord:
    """One day of operations on every path (see the module docstring)."""

    price_usd: np.ndarray
    """BTC close [USD/BTC] (events' price shocks included)."""
    fees_btc_per_block: np.ndarray
    """Fees per block [BTC]."""
    repair_cost_usd: np.ndarray
    """Repairs of the units that failed [USD]."""
    units_failed: np.ndarray
    """Units that failed [units]."""
    network_hashrate_ehs: np.ndarray = None
    """Network hashrate, the day's mean [EH/s]."""
    reward_btc_per_hs_day: np.ndarray = None
    """Expected network reward per H/s over the day [BTC/(H/s·day)]."""
    hashprice_usd_per_ph_day: np.ndarray = None
    """Network hashprice [USD/(PH/s·day)]."""
    network_blocks: np.ndarray = None
    """Blocks the network mined [blocks]."""
    expected_blocks: np.ndarray = None
    """Blocks expected from the day's hashrate and difficulty [blocks]."""
    network_revenue_btc: np.ndarray = None
    """Subsidy and fees the network earned [BTC]."""
    btc_mined: np.ndarray = None
    """BTC paid by the pool (net of its fee) [BTC]."""
    running_ths: np.ndarray = None
    """Hashrate running after curtailment, the day's mean [TH/s]."""
    mining_revenue_usd: np.ndarray = None
    """Σ BTC paid × the day's close [USD]."""
    power_cost_usd: np.ndarray = None
    """Energy bought incl. cooling and taxes [USD]."""
    power_credit_usd: np.ndarray = None
    """Energy sold back [USD]."""
    demand_response_credit_usd: np.ndarray = None
    """Demand-response availability payments [USD]."""
    transmission_charge_usd: np.ndarray = None
    """4CP transmission charges [USD]."""
    hosting_revenue_usd: np.ndarray = None
    """Hosting clients' fees [USD]."""
    hosting_power_cost_usd: np.ndarray = None
    """Incremental power bill of hosted clients' load [USD]."""
    hosting_cost_usd: np.ndarray = None
    """Hosting fees paid for own machines at third parties [USD]."""
    energy_mwh: np.ndarray = None
    """Facility energy drawn [MWh]."""
    curtailed_mwh: np.ndarray = None
    """Facility energy not drawn because of curtailment [MWh]."""
    underclocked_mwh: np.ndarray = None
    """Facility energy saved by tuning below nameplate [MWh]."""
    site_opex_usd: float = 0.0
    """Site opex on capacity [USD]."""
    site_opex_hosting_usd: float = 0.0
    """Part of site opex on the MW hosting clients take [USD]."""
    site_opex_hpc_usd: float = 0.0
    """Part of site opex on the MW HPC projects reserve [USD]."""
    site_mw: tuple = (0.0, 0.0, 0.0)
    """All sites' (capacity, hosting, HPC) MW."""
    expansion_capex_usd: float = 0.0
    """Site expansion capex spent [USD]."""
    hpc_revenue_usd: np.ndarray | float = 0.0
    """AI/HPC revenue [USD]."""
    hpc_power_cost_usd: np.ndarray | float = 0.0
    """Facility power of HPC load [USD]."""
    hpc_opex_usd: np.ndarray | float = 0.0
    """Data-centre opex [USD]."""
    hpc_capex_usd: np.ndarray | float = 0.0
    """HPC construction and GPU capex [USD]."""
    delivered_units: np.ndarray = None
    """Units energised today by purchases ``(cohorts, paths)`` (this field to ``installed_ehs``:
    :class:`simulator.fleet.Trades`)."""
    cost_usd_by_cohort: np.ndarray | None = None
    """Every cohort's cost ``(cohorts, paths)`` [USD], on day 0 and delivery days."""
    purchase_capex_by_cohort: np.ndarray = None
    """Cost of today's deliveries ``(cohorts, paths)`` [USD]."""
    purchase_capex_usd: np.ndarray = None
    """Cost of today's deliveries [USD]."""
    retired_units_by_cohort: np.ndarray = None
    """Units leaving today ``(cohorts, paths)``."""
    units_retired: np.ndarray = None
    """Units leaving today [units]."""
    retired_ths: np.ndarray = None
    """Hashrate leaving today [TH/s]."""
    resale_value_usd: np.ndarray = None
    """Resale proceeds of the units leaving [USD]."""
    fleet_market_value_usd: np.ndarray = None
    """Installed machines at the ASIC price index [USD]."""
    installed_ehs: np.ndarray = None
    """Energised nameplate hashrate at the end of the day [EH/s]."""

    @classmethod
    def start(cls, price_usd, fees_btc_per_block, units_failed, repair_cost_usd_per_unit: float) -> "DayRecord":
        """A new day: market values and failures known (repairs cost ``units_failed × repair_cost_usd_per_unit``),
        the flows still to be added."""
        zero = iter(np.zeros((len(_ADDED_FIELDS),) + np.shape(price_usd)))  # one allocation, a row per field
        return cls(price_usd=price_usd, fees_btc_per_block=fees_btc_per_block,
                   repair_cost_usd=units_failed * repair_cost_usd_per_unit, units_failed=units_failed,
                   **{name: next(zero) for name in _ADDED_FIELDS})

    def set_blocks(self, blocks: DayBlocks) -> None:
        """The network's day (:func:`simulator.network.advance_day`) and the hashprice at the day's close."""
        self.reward_btc_per_hs_day = blocks.reward_btc_per_hs_day
        self.network_revenue_btc = blocks.miner_revenue_btc
        self.network_blocks, self.expected_blocks = blocks.blocks, blocks.expected_blocks
        self.hashprice_usd_per_ph_day = hashprice_usd_per_ph_day(blocks.reward_btc_per_hs_day, self.price_usd)

    def add_mining(self, btc: np.ndarray, running_ths: np.ndarray) -> None:
        """Add BTC paid [BTC] for ``running_ths`` [TH/s], and its value at the day's close."""
        self.btc_mined += btc
        self.running_ths += running_ths
        self.mining_revenue_usd += btc * self.price_usd

    def add_site(self, f: SiteFlows, paths_booked: bool = False) -> None:
        """Add a site's energy, bill, programmes, hosting, opex and capex (its BTC through :meth:`add_mining`);
        with ``paths_booked``, its energy, power cost and credit, curtailed and underclocked MWh are already added
        (:func:`simulator.site_block.book`'s compiled pass)."""
        if f.demand_response_credit_usd is not None:
            self.demand_response_credit_usd += f.demand_response_credit_usd
        if f.transmission_charge_usd is not None:
            self.transmission_charge_usd += f.transmission_charge_usd
        if f.hosting_revenue_usd is not None:
            self.hosting_power_cost_usd += f.hosting_power_cost_usd
            self.hosting_revenue_usd += f.hosting_revenue_usd[:, None]  # one a day (n,), the same on every path
        if not paths_booked:
            self.energy_mwh += f.energy_mwh
            self.power_cost_usd += f.power_cost_usd
            self.power_credit_usd += f.power_credit_usd
            self.curtailed_mwh += f.curtailed_mwh
            self.underclocked_mwh += f.underclocked_mwh
        self.site_opex_usd += f.site_opex_usd
        self.site_opex_hosting_usd += f.site_opex_hosting_usd
        self.site_opex_hpc_usd += f.site_opex_hpc_usd
        self.site_mw = tuple(a + b for a, b in zip(self.site_mw, f.site_mw))
        self.expansion_capex_usd += f.expansion_capex_usd

    def add_hosted(self, energy_mwh: np.ndarray, hosting_cost_usd: np.ndarray) -> None:
        """Add the energy [MWh] of cohorts hosted at third parties and the fees paid for it [USD]."""
        self.energy_mwh += energy_mwh
        self.hosting_cost_usd += hosting_cost_usd

    def set_hpc(self, h: HpcDay) -> None:
        """The HPC projects' day (or block: arrays ``(n, projects, paths)``), summed over projects."""
        self.hpc_revenue_usd, self.hpc_power_cost_usd = h.revenue_usd.sum(axis=-2), h.power_cost_usd.sum(axis=-2)
        self.hpc_opex_usd = h.opex_usd.sum(axis=-2)
        self.hpc_capex_usd = (h.building_capex_usd + h.gpu_capex_usd).sum(axis=-2)

    def apply_luck(self, luck: np.ndarray) -> None:
        """Scale the FPPS value to what PPLNS or solo pays (:func:`simulator.pool.luck_factor`)."""
        self.btc_mined *= luck
        self.mining_revenue_usd *= luck

    def same_on_paths(self, n: int, paths: int, before: dict | None = None,
                      unchanged: frozenset = frozenset()) -> dict[str, np.ndarray]:
        """Of a block's record (``n`` days): each :data:`SAME_ON_PATHS` amount and the sites' hosting and HPC
        shares of their MW (:func:`days_mw_shares`) as ``(n, paths)``,
        each day's row the day's value on every path (a field already ``(n, paths)``, as it is); the shares
        of the table ``before`` where given (the same MW: a table made again after a stop), and so are the
        amounts named in ``unchanged`` (fields that are still the objects ``before`` was made of)."""
        def filled(x):
            out = np.empty((n, paths))
            out[:] = np.asarray(x)[:, None] if np.ndim(x) == 1 else x
            return out
        table = {name: before[name] if name in unchanged else x if np.ndim(x) == 2 else filled(x)
                 for name, x in ((name, getattr(self, name)) for name in SAME_ON_PATHS)}
        if before is not None:
            table["site_mw_hosting_share"], table["site_mw_hpc_share"] = (before["site_mw_hosting_share"],
                                                                          before["site_mw_hpc_share"])
            return table
        shares = days_mw_shares(self.site_mw, n)
        table["site_mw_hosting_share"], table["site_mw_hpc_share"] = filled(shares[:, 0]), filled(shares[:, 1])
        return table

    def block_flows(self, index_price_usd_per_mwh: np.ndarray, height: np.ndarray, hpc: HpcDay | None,
                    same_on_paths: dict) -> OperatingFlows:
        """Of a block's record: :class:`~simulator.finance.flows.OperatingFlows`' fields that are the block's arrays, day first (the record's,
        the sites' index prices and the height ``(n, …)``, the HPC projects' block when there are projects, the
        table of :meth:`same_on_paths`), the others None: a day's flows are row ``j`` of each
        (:class:`simulator.columns.Rows`) with :meth:`day_flows`' fields (:meth:`simulator.block.OpsBlock.flows`)."""
        values = {name: getattr(self, name) for name in _FLOW_RECORD}
        values.update(same_on_paths, index_price_usd_per_mwh=index_price_usd_per_mwh, height=height)
        values.update({name: None if hpc is None else getattr(hpc, field) for name, field in _FLOW_HPC.items()})
        values.update(dict.fromkeys(_FLOW_TRADES, None), lost_units=None)
        return OperatingFlows.of(values)

    @staticmethod
    def day_flows(t: Trades, lost_units: np.ndarray, masked_with: np.ndarray | None, no_hpc: dict | None) -> dict:
        """A day's :class:`~simulator.finance.flows.OperatingFlows` fields that :meth:`block_flows` leaves None: the day's trades', the units
        lost, the mask, and the HPC fields of no project (``no_hpc``, :func:`hpc_fields`) without projects."""
        out = dict(zip(_FLOW_TRADES, _flow_trade_values(t)), lost_units=lost_units, masked_with=masked_with)
        if no_hpc is not None:
            out.update(no_hpc)
        return out


def days_mw_shares(site_mw: tuple, n: int) -> np.ndarray:
    """:func:`simulator.finance.segments.mw_shares_of_days` of the sites' capacity, hosting and HPC MW ``site_mw`` (each
    a float or a day's ``(n,)``) on each of ``n`` days: the hosting and HPC shares ``(n, 2)``, read-only. The table last
    made is given again where the days' MW are the same float64s, bit for bit (its floats depend on nothing else): most
    blocks' MW are the last block's (bench-10y: 105 of 134 blocks), and made for a block, it costs ~80 µs in a run."""
    days = [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in site_mw]
    key = b"".join(x.tobytes() for x in days)  # (n float64s each: the length gives n)
    if key != _last_mw_shares[0]:
        shares = segments.mw_shares_of_days(*days)
        shares.flags.writeable = False
        _last_mw_shares[:] = key, shares
    return _last_mw_shares[1]


#: :func:`days_mw_shares`' last table and the bytes of the MW it was made of.
_last_mw_shares: list = [None, None]


def energised_ehs(trades: Trades, alive_usd: np.ndarray | None) -> np.ndarray:
    """The energised fleet at the end of a day of ``trades`` ``(paths,)`` [EH/s]: the installed nameplate where the
    company operates, 0 where it has stopped (distress: nothing runs or is paid for, so nothing is powered;
    docs/decisions.md, "Stopped paths' fleet") — its installed fleet where no path has stopped (``alive_usd`` None: the
    same array), else × ``alive_usd`` (the alive mask as 1.0 and 0.0). The daily ``fleet_hashrate_ehs`` and
    ``btc_per_ehs_day``'s denominator; the ledger keeps the installed fleet (a stopped company still owns its
    machines: EV/EH)."""
    return trades.installed_ehs if alive_usd is None else trades.installed_ehs * alive_usd


def hpc_fields(h: HpcDay) -> dict:
    """The HPC projects' day ``h`` as :class:`OperatingFlows`' ``hpc_*`` fields."""
    return {name: getattr(h, field) for name, field in _FLOW_HPC.items()}


_TRADE_FIELDS = tuple(f.name for f in fields(Trades))
#: :class:`~simulator.finance.flows.OperatingFlows`' fields taken from the record as they are, from the day's trades (flows' name:
#: the trades'), and from the HPC projects' day (flows' name: the day's).
_FLOW_RECORD = ("price_usd", "hashprice_usd_per_ph_day", "btc_mined", "mining_revenue_usd", "hosting_revenue_usd",
                "power_cost_usd", "power_credit_usd", "demand_response_credit_usd", "transmission_charge_usd",
                "hosting_power_cost_usd", "hosting_cost_usd", "repair_cost_usd", "fees_btc_per_block")
_FLOW_TRADES = {"delivered_units": "delivered_units", "purchase_capex_usd": "purchase_capex_by_cohort",
                "retired_units": "retired_units_by_cohort", "resale_value_usd": "resale_value_usd",
                "fleet_market_value_usd": "fleet_market_value_usd", "installed_ehs": "installed_ehs"}
_flow_trade_values = operator.attrgetter(*_FLOW_TRADES.values())
_FLOW_HPC = {"hpc_revenue_usd": "revenue_usd", "hpc_prepayment_usd": "prepayment_usd",
             "hpc_lease_ended": "lease_ended", "hpc_building_capex_usd": "building_capex_usd",
             "hpc_gpu_capex_usd": "gpu_capex_usd", "hpc_completed": "completed", "hpc_net_annual_usd": "net_annual_usd",
             "hpc_remaining_years": "remaining_years", "hpc_rate_factor": "rate_factor",
             "hpc_power_price_usd_per_mwh": "power_price_usd_per_mwh"}
#: The record's amounts that are one a day, the same on every path (until a stop masks them): finance takes
#: them as ``(paths,)`` arrays (:meth:`simulator.block.OpsBlock.same_on_paths`).
SAME_ON_PATHS = ("site_opex_usd", "expansion_capex_usd", "hpc_power_cost_usd", "hpc_opex_usd", "site_opex_hosting_usd",
                 "site_opex_hpc_usd")
#: What a stopped path zeroes (:meth:`simulator.block.OpsBlock.stop`): the monthly lines and the running hashrate
#: of the block's record, and the trades' units and amounts (the installed fleet and its value stay).
STOPPED_LINES = tuple(line for line in MONTHLY_LINES if line not in _TRADE_FIELDS) + ("running_ths",)
STOPPED_TRADES = ("delivered_units", "purchase_capex_by_cohort", "purchase_capex_usd", "retired_units_by_cohort",
                  "units_retired", "retired_ths", "resale_value_usd")
#: The fields the operating actors add to, zero when the day opens (each its own row: none shares memory).
_ADDED_FIELDS = ("btc_mined", "running_ths", "mining_revenue_usd", "power_cost_usd", "power_credit_usd",
                 "demand_response_credit_usd", "transmission_charge_usd", "hosting_revenue_usd",
                 "hosting_power_cost_usd", "hosting_cost_usd", "energy_mwh", "curtailed_mwh", "underclocked_mwh")
