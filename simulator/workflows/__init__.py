"""Workflows built on the engine (DESIGN.md layer 7): upgrade, compare, sweep, backtest, calibrate."""
