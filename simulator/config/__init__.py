"""Scenario files: pydantic schema, YAML 1.2 loader with positions, overrides, cross-field checks."""
from simulator.config.loader import load_scenario
from simulator.config.schema import Scenario

__all__ = ["Scenario", "load_scenario"]
