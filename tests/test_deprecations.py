"""Moved keys (issue 20): ``network_power_usd_per_mwh`` and ``mix_years`` live once, under
``network``; the old places (``signals``, an endogenous ``network.hashrate``) still load, with a
warning on stderr naming the file:line and the new key."""
from __future__ import annotations

import warnings

import pytest

from simulator.config import load_scenario
from simulator.config.deprecations import ScenarioDeprecationWarning
from simulator.errors import InputErrors



BASE = """\
name: moved keys
start: 2026-01-01
horizon_days: 10
paths: 2
seed: 1
market:
  btc_price: {model: gbm, initial_usd: 90000}
sites:
  - {name: a, capacity_mw: 10, power: {contract: fixed, price_usd_per_mwh: 40}}
network:
  initial_difficulty: 1.5e14
  initial_height: 930000
"""  # 12 lines; the test's own lines follow from line 13


def with_lines(text: str, tmp_path, name="old.yaml") -> str:
    """A scenario file: :data:`BASE` then ``text`` (its ``network`` keys indented under BASE's)."""
    path = tmp_path / name
    path.write_text(BASE + text)
    return str(path)


def load_warning(path: str, overrides=()):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario = load_scenario(path, overrides)
    return scenario, [w for w in caught if issubclass(w.category, ScenarioDeprecationWarning)]


def test_signals_keys_move_to_network_with_a_warning_at_their_line(tmp_path):
    path = with_lines("signals:\n  industry_sell_fraction: 0.7\n  mix_years: 3\n  network_power_usd_per_mwh: 61\n",
                      tmp_path)  # lines 13-16
    s, caught = load_warning(path)
    assert (s.network.mix_years, s.network.network_power_usd_per_mwh, s.signals.industry_sell_fraction) == (3, 61, 0.7)
    assert sorted((w.filename, w.lineno) for w in caught) == [(path, 15), (path, 16)]
    assert str(caught[0].message) == (f"{path}:15:3: signals.mix_years is deprecated; write network.mix_years "
                                      "(the same setting, in one place)")


def test_endogenous_keys_move_to_network(tmp_path):
    path = with_lines("  hashrate: {model: endogenous, mix_years: 2, network_power_usd_per_mwh: 45}\n", tmp_path)
    s, caught = load_warning(path)
    assert (s.network.mix_years, s.network.network_power_usd_per_mwh) == (2, 45)
    assert {str(w.message).split(" is deprecated")[0] for w in caught} == {
        f"{path}:13:33: network.hashrate.mix_years", f"{path}:13:47: network.hashrate.network_power_usd_per_mwh"}


def test_the_new_place_loads_without_a_warning_and_both_feed_the_same_models(tmp_path):
    from simulator import network_models
    from simulator.hardware import load_library

    new = with_lines("  hashrate: {model: endogenous}\n  network_power_usd_per_mwh: 45\n", tmp_path, "new.yaml")
    s, caught = load_warning(new)
    assert caught == []
    model = network_models.hashrate_model(s, load_library())
    assert model.params.network_power_usd_per_mwh.tolist() == [45.0] and model.mix_years == s.network.mix_years == 4.0


def test_old_and_new_or_disagreeing_old_places_are_errors(tmp_path):
    both = with_lines("  network_power_usd_per_mwh: 45\nsignals: {network_power_usd_per_mwh: 45}\n",
                      tmp_path, "both.yaml")
    with pytest.raises(InputErrors, match=r"both.yaml:14:11: signals.network_power_usd_per_mwh and "
                                          r"network.network_power_usd_per_mwh are the same setting"):
        load_warning(both)
    differ = with_lines("  hashrate: {model: endogenous, mix_years: 2}\nsignals: {mix_years: 3}\n",
                        tmp_path, "differ.yaml")
    with pytest.raises(InputErrors, match=r"differ.yaml:14:11: signals.mix_years = 3 disagrees with "
                                          r"network.hashrate.mix_years \(line 13\)"):
        load_warning(differ)


def test_an_override_at_the_old_place_warns_at_the_set(tmp_path):
    s, caught = load_warning(with_lines("", tmp_path), ["signals.mix_years=5"])
    assert s.network.mix_years == 5
    assert str(caught[0].message).startswith("--set signals.mix_years=5:1:1: signals.mix_years is deprecated")


def test_the_cli_prints_the_warning_on_stderr(tmp_path, runner):
    from simulator.cli import main

    path = with_lines("signals: {mix_years: 3}\n", tmp_path)
    result = runner.invoke(main, ["validate", path])
    assert result.exit_code == 0, result.output
    assert f"{path}:13:11: signals.mix_years is deprecated; write network.mix_years" in result.stderr
