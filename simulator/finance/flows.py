"""The one table operations hand finance: per-day, per-path operating flows.

The engine fills an :class:`OperatingFlows` after the operating actors have run for the day;
the ledger books it and never recomputes operations (DESIGN.md, "Layers"; STYLE.md's PySAM
example: a financial model reads the performance model's time series, nothing else).
Arrays are ``(paths,)`` unless noted; amounts are the day's totals.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from simulator.columns import RowOnRead, stored


@dataclass
class OperatingFlows:
    """One day of operations, as finance sees it."""

    price_usd: np.ndarray
    """BTC close [USD/BTC]."""
    hashprice_usd_per_ph_day: np.ndarray
    """Network hashprice [USD/(PH/s·day)]."""
    btc_mined: np.ndarray
    """BTC paid by the pool (net of its fee) [BTC]."""
    mining_revenue_usd: np.ndarray
    """btc_mined × price [USD]."""
    hosting_revenue_usd: np.ndarray
    """Hosting third parties' machines [USD]."""
    power_cost_usd: np.ndarray
    """Energy bought incl. cooling and taxes [USD]."""
    power_credit_usd: np.ndarray
    """Energy sold back [USD]."""
    demand_response_credit_usd: np.ndarray
    """Demand-response availability payments [USD]."""
    transmission_charge_usd: np.ndarray
    """4CP transmission charge [USD]."""
    hosting_power_cost_usd: np.ndarray
    """Incremental power bill of hosted clients' load [USD]."""
    hosting_cost_usd: np.ndarray
    """Hosting fees paid for own machines at third parties [USD]."""
    site_opex_usd: np.ndarray
    """Site opex on capacity [USD]."""
    repair_cost_usd: np.ndarray
    """Repairs of failed units [USD]."""
    expansion_capex_usd: np.ndarray
    """Site expansion capex spent [USD]."""
    delivered_units: np.ndarray
    """Units energised today by purchases ``(cohorts, paths)``."""
    purchase_capex_usd: np.ndarray
    """Cost of today's deliveries ``(cohorts, paths)`` [USD]."""
    retired_units: np.ndarray
    """Units leaving today (policy or ``retired`` date) ``(cohorts, paths)``."""
    lost_units: np.ndarray
    """Units failed beyond repair today ``(cohorts, paths)``."""
    resale_value_usd: np.ndarray
    """Proceeds from reselling retired units at the ASIC price index [USD]."""
    fleet_market_value_usd: np.ndarray
    """Installed machines at the ASIC price index at the day's hashprice [USD]."""
    installed_ehs: np.ndarray
    """Installed (energised nameplate) hashrate, end of day [EH/s]."""
    index_price_usd_per_mwh: np.ndarray
    """Each site's mean market power price of the day ``(sites, paths)`` (NaN at fixed-price sites)."""
    hpc_revenue_usd: np.ndarray
    """AI/HPC revenue earned today per project ``(projects, paths)`` (leases, GPU hours) [USD]."""
    hpc_prepayment_usd: np.ndarray
    """Lease prepaid today per project ``(projects, paths)`` [USD]."""
    hpc_lease_ended: np.ndarray
    """Leases ending today ``(projects, paths)``."""
    hpc_power_cost_usd: np.ndarray
    """Facility power of HPC load paid by the company [USD]."""
    hpc_opex_usd: np.ndarray
    """Data-centre opex [USD]."""
    hpc_building_capex_usd: np.ndarray
    """Construction capex paid today per project ``(projects, paths)`` [USD]."""
    hpc_gpu_capex_usd: np.ndarray
    """GPUs bought today per project ``(projects, paths)`` [USD]."""
    hpc_completed: np.ndarray
    """Projects energised ``(projects, paths)``."""
    hpc_net_annual_usd: np.ndarray
    """Contracted net cash flow per year at full occupancy ``(projects, paths)`` [USD/year]."""
    hpc_remaining_years: np.ndarray
    """Contract (or GPU life) years left ``(projects, paths)``."""
    hpc_rate_factor: np.ndarray
    """Lease rate signed over the quoted one per project ``(projects, paths)`` (1 for GPU cloud)."""
    hpc_power_price_usd_per_mwh: np.ndarray
    """Each project's site power price of the day ``(projects, paths)`` [USD/MWh]."""
    site_opex_hosting_usd: np.ndarray
    """Part of site_opex_usd on the MW hosting clients take [USD]."""
    site_opex_hpc_usd: np.ndarray
    """Part of site_opex_usd on the MW HPC projects reserve [USD]."""
    site_mw_hosting_share: np.ndarray
    """Hosting MW / all sites' capacity MW of the day (splits the sites' depreciation)."""
    site_mw_hpc_share: np.ndarray
    """HPC-reserved MW / all sites' capacity MW of the day."""
    height: np.ndarray
    """Chain height at the end of the day."""
    fees_btc_per_block: np.ndarray
    """Fees per block [BTC]."""
    masked_with: np.ndarray | None = None
    """The alive mask these flows are already masked with (:meth:`simulator.block.OpsBlock.stop`), if any."""

    @classmethod
    def of(cls, values: dict) -> "OperatingFlows":
        """The flows of ``values`` (every field by name): what ``OperatingFlows(**values)`` gives (its generated
        ``__init__`` only stores the fields), stored straight into a new instance in field order (a day's flows:
        ~1 µs instead of ~7 µs for 47 keyword arguments)."""
        fields_in_order = dict(_TEMPLATE)
        fields_in_order.update(values)
        if len(fields_in_order) != len(_TEMPLATE) or not values.keys() >= _REQUIRED:  # (as __init__ would refuse)
            raise TypeError(f"OperatingFlows fields unknown {sorted(set(values) - set(_TEMPLATE))}, "
                            f"missing {sorted(set(_FIELDS) - set(values))}")
        return stored(cls, fields_in_order)

    def masked(self, alive: np.ndarray) -> "OperatingFlows":
        """The flows with every amount zeroed on paths where ``alive`` is False (a stopped company).

        Market facts (prices, hashprice, height, fees) and the installed fleet (still the
        company's assets) stay as they are.
        """
        if alive is self.masked_with or np.all(alive):  # x × 0 × 0 is x × 0; x × True is x: nothing to zero
            return self
        return OperatingFlows(**{name: getattr(self, name) if name in _MARKET else getattr(self, name) * alive
                                 for name in _FIELDS}, masked_with=alive)


_FIELDS = tuple(f.name for f in fields(OperatingFlows) if f.name != "masked_with")
#: Every field (``masked_with`` None) in field order: :meth:`OperatingFlows.of`'s start.
_TEMPLATE = dict.fromkeys(_FIELDS + ("masked_with",))
_REQUIRED = frozenset(_FIELDS)
#: Market facts and the installed fleet: never zeroed on a stopped path.
_MARKET = frozenset({"price_usd", "hashprice_usd_per_ph_day", "index_price_usd_per_mwh", "height",
                     "fees_btc_per_block", "fleet_market_value_usd", "installed_ehs",
                     "hpc_rate_factor", "hpc_power_price_usd_per_mwh", "site_mw_hosting_share", "site_mw_hpc_share"})


class BlockDayFlows(OperatingFlows):
    """A block's day of :class:`OperatingFlows` (:meth:`simulator.block.OpsBlock.flows`): the day's own fields (trades,
    units lost, mask, HPC fields without projects) stored, every other field read the first time it is asked for and
    then kept: row ``j`` of the block's flows' field (``block_day``: the block's flows and ``j``; an array's row, a
    tuple's rows, anything else as it is: :func:`simulator.columns.row`, what :class:`simulator.columns.Rows` gives).
    Where the day holds ``lost_units_unmasked`` (the day's units lost and the alive mask as 1.0 and 0.0) instead of
    :attr:`lost_units`, those are ``lost × alive`` on the first read (what :meth:`simulator.block.OpsBlock.lost_units_on`
    gives). The ledger's compiled day reads the block's rows by index and the units lost with their mask
    (:mod:`simulator.finance.operations_call`), so that a day costs only the fields someone reads."""

    @classmethod
    def of_block_day(cls, values: dict) -> "BlockDayFlows":
        """The day of ``values`` (``block_day`` and the day's own fields), without ``__init__``."""
        f = object.__new__(cls)
        vars(f).update(values)
        return f


class _MaskedOnRead:
    """:class:`BlockDayFlows`' ``lost_units`` when not stored: ``lost × alive`` on the first read, then kept."""

    def __get__(self, f, owner=None):
        if f is None:
            return self
        lost, alive_usd = vars(f)["lost_units_unmasked"]
        value = vars(f)["lost_units"] = lost * alive_usd
        return value


for _name in _FIELDS:
    setattr(BlockDayFlows, _name, RowOnRead(_name, "block_day"))
BlockDayFlows.lost_units = _MaskedOnRead()
del _name
