"""Workflows built on the engine (layer 7): upgrade, compare, sweep, backtest, calibrate."""
