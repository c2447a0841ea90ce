"""The scenario file as frozen, strict pydantic models, one module per section.

Field docstrings are the documentation: they become the descriptions of the JSON Schema
that ``hashfleet schema`` prints. Every model forbids unknown keys and is immutable after
load; numbers are strict (``paths: "200"`` is an error, an integer is accepted where a float
is expected); defaults live only here. Models chosen by name (``btc_price: {model: gbm}``)
are discriminated unions keyed by ``model``, ``contract``, ``kind`` or ``policy``: the
engine maps the same name through its registry to the function that implements it.

Units are in the names (DESIGN.md, "Units"); fractions are in [0, 1]; ``_pct`` is percent.

Sections: :mod:`~.base` (strict base model, field types), :mod:`~.market`, :mod:`~.network`
(also ``pool`` and ``signals``), :mod:`~.sites`, :mod:`~.fleet` (also ``purchases``,
``failures``, ``policies``), :mod:`~.hpc`, :mod:`~.company`, :mod:`~.events`, and
:mod:`~.scenario` (the whole file). Every public name is importable from here.
"""
from simulator.config.schema.base import Fraction, IsoDate, IsoDateTime, NonNegative, Positive, PositiveInt, Strict
from simulator.config.schema.company import (BtcBacked, Company, Convertible, Debt, Dilutive, Equity, ForwardHedge,
                                             Hedge, Opening, PowerSwap, PutHedge, Refinance, ShareMarket, TermLoan,
                                             TreasuryPolicy, Valuation)
from simulator.config.schema.events import Event, FeeSpike, HashrateShock, Outage, PowerTax, PriceShock
from simulator.config.schema.fleet import (Failures, FleetItem, HostedAt, Policies, Purchase, RetirePolicy,
                                           StopPolicy)
from simulator.config.schema.hpc import Colocation, GpuCloud, HpcFinancing, HpcProject, HpcRevenue
from simulator.config.schema.market import (BootstrapPrice, BtcPriceModel, ConstantFees, CsvSeries, FeeModel,
                                            GbmPrice, HistoryFees, HistoryPrice, JumpPrice, LognormalFees, Market,
                                            Regime, RegimePrice)
from simulator.config.schema.network import (ConstantHashrate, CsvHashrate, EndogenousHashrate, GrowthHashrate,
                                             HashrateModel, HistoryHashrate, Network, Pool, Signals)
from simulator.config.schema.scenario import MAX_HORIZON_DAYS, Provenance, Scenario
from simulator.config.schema.sites import (Curtailment, DemandResponse, Expansion, FixedPower, FourCP, Hosting,
                                           IndexMarket, IndexPower, PowerContract, PpaPower, Site)

__all__ = [
    # base
    "Fraction", "IsoDate", "IsoDateTime", "NonNegative", "Positive", "PositiveInt", "Strict",
    # market
    "BootstrapPrice", "BtcPriceModel", "ConstantFees", "CsvSeries", "FeeModel", "GbmPrice", "HistoryFees",
    "HistoryPrice", "JumpPrice", "LognormalFees", "Market", "Regime", "RegimePrice",
    # network, pool, signals
    "ConstantHashrate", "CsvHashrate", "EndogenousHashrate", "GrowthHashrate", "HashrateModel", "HistoryHashrate",
    "Network", "Pool", "Signals",
    # sites
    "Curtailment", "DemandResponse", "Expansion", "FixedPower", "FourCP", "Hosting", "IndexMarket", "IndexPower",
    "PowerContract", "PpaPower", "Site",
    # fleet, purchases, failures, policies
    "Failures", "FleetItem", "HostedAt", "Policies", "Purchase", "RetirePolicy", "StopPolicy",
    # hpc
    "Colocation", "GpuCloud", "HpcFinancing", "HpcProject", "HpcRevenue",
    # company
    "BtcBacked", "Company", "Convertible", "Debt", "Dilutive", "Equity", "ForwardHedge", "Hedge", "Opening",
    "PowerSwap",
    "PutHedge", "Refinance", "ShareMarket", "TermLoan", "TreasuryPolicy", "Valuation",
    # events
    "Event", "FeeSpike", "HashrateShock", "Outage", "PowerTax", "PriceShock",
    # the whole file
    "MAX_HORIZON_DAYS", "Provenance", "Scenario",
]
