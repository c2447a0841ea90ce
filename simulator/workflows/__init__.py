"""Workflows built on the engine and the models: calibrate, backtest, upgrade, compare, sweep."""
