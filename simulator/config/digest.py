"""One-line digest of a valid scenario (what ``hashfleet validate`` prints after OK)."""
from __future__ import annotations

from typing import Mapping

from simulator import chain, units
from simulator.config.checks import cohorts, committed_mw, library_for, peak_mw
from simulator.config.schema import Scenario


#: ``network.hashrate.model`` names whose section has an ``initial_ehs``. A ``csv`` model or a
#: history replay has none: its data gives every day's hashrate.
INITIAL_EHS_MODELS = frozenset({"constant", "growth", "endogenous"})


def start_network_ehs(scenario: Scenario) -> float:
    """Network hashrate at the start [EH/s]: ``initial_ehs`` where the model has one and it is
    given, else the one implied by the difficulty (what the digest shows for csv and history)."""
    hashrate = scenario.network.hashrate
    if hashrate.model in INITIAL_EHS_MODELS and hashrate.initial_ehs is not None:
        return hashrate.initial_ehs
    return chain.hashrate_hs_from_difficulty(scenario.network.initial_difficulty) / units.HS_PER_EHS


def start_fleet_ehs(scenario: Scenario, library: Mapping) -> float:
    """Nameplate hashrate energised at the start instant [EH/s]."""
    ths = sum(item.units * library[item.model].hashrate_ths
              for _, item, energised in cohorts(scenario)
              if energised <= scenario.start and (item.retired is None or item.retired > scenario.start))
    return ths / units.THS_PER_EHS


def digest(scenario: Scenario) -> str:
    """``200 paths × 730 days from 2026-01-01; network 1073.7 EH/s, fleet 5.9 EH/s; 2 sites: ...``"""
    library = library_for(scenario)
    steps = committed_mw(scenario, library)
    sites = ", ".join(f"{s.name} peak {peak_mw(steps[s.name]):.1f}/{s.capacity_mw:g} MW" for s in scenario.sites)
    return (f"{scenario.paths} paths × {scenario.horizon_days} days from {scenario.start}; "
            f"network {start_network_ehs(scenario):.1f} EH/s, fleet {start_fleet_ehs(scenario, library):.2f} EH/s "
            f"at start; {len(scenario.sites)} site{'s' if len(scenario.sites) != 1 else ''}: {sites}")
