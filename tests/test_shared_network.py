"""A workflow's runs share their network (simulator/shared_network.py): a replayed network gives every
output bit for bit, a run whose inputs part from the record computes the rest itself, and nothing is
shared outside a workflow or for the endogenous hashrate."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import engine, shared_network
from simulator.config.loader import Document, load_with_overrides, validate_document
from simulator.network import NetworkBlock
from simulator.workflows.runs import simulate_each

REPO = Path(__file__).resolve().parents[1]


def _scenario(name: str, days: int = 400, paths: int = 6, events=(), units_factor: float = 1.0, **changes):
    """The contract example over ``days`` (across a year's draw and several retargets), ``events`` added,
    the first cohort's units times ``units_factor``."""
    loaded, _ = load_with_overrides(str(REPO / "scenarios" / "contract_example.yaml"), ())
    doc = copy.deepcopy(loaded.data)
    doc.update(paths=paths, horizon_days=days, **changes)
    doc["events"] = doc.get("events", []) + list(events)
    doc["fleet"][0]["units"] = int(doc["fleet"][0]["units"] * units_factor)
    return validate_document(Document(doc, {}, {}), name)


def _assert_same(a, b) -> None:
    assert a.path_metrics.keys() == b.path_metrics.keys()
    for k in a.path_metrics:
        np.testing.assert_array_equal(a.path_metrics[k], b.path_metrics[k], err_msg=k)
    for x, y in ((a.daily, b.daily), (a.monthly, b.monthly), (a.daily_quantiles, b.daily_quantiles)):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


@pytest.fixture
def replayed(monkeypatch):
    """The first day of every block replayed from a record."""
    days = []
    block = shared_network.NetworkDays.block

    def counted(self, first, n):
        days.append(first)
        return block(self, first, n)
    monkeypatch.setattr(shared_network.NetworkDays, "block", counted)
    return days


def test_a_replayed_network_gives_every_output_bit_for_bit(replayed):
    """Two fleets on one network: the second run replays the first's network and its results are those
    of the same run alone (every metric, kept row, month and quantile)."""
    first = _scenario("a.yaml")
    second = _scenario("b.yaml", units_factor=0.5)
    runs = list(simulate_each([first, second], workers=1, keep_paths=2))
    assert replayed and min(replayed) == 0  # the second run replayed from day 0
    for shared, scenario in zip(runs, (first, second)):
        _assert_same(shared, engine.simulate(scenario, workers=1, keep_paths=2))


@pytest.mark.parametrize("event", [
    {"date": "2026-08-10", "kind": "fee_spike", "btc_per_block": 2.0, "days": 3},
    {"date": "2027-01-20", "kind": "hashrate_shock", "change_pct": -25},
], ids=["fee-spike", "hashrate-shock"])
def test_a_run_whose_inputs_part_from_the_record_computes_the_rest(replayed, event):
    """Same key, other inputs from a day on (a fee spike, a hashrate shock after the year's draw): the
    run replays up to that day, rebuilds its chain from the record's inputs and computes the rest —
    the numbers of the run alone."""
    first, second = _scenario("a.yaml"), _scenario("b.yaml", events=[event])
    runs = list(simulate_each([first, second], workers=1, keep_paths=2))
    part = (pd.Timestamp(event["date"]) - pd.Timestamp("2026-01-01")).days
    assert replayed and max(replayed) < part
    _assert_same(runs[1], engine.simulate(second, workers=1, keep_paths=2))
    assert not runs[1].monthly.equals(runs[0].monthly)  # the event did change the run


def test_nothing_is_shared_outside_a_workflow_nor_for_the_endogenous_hashrate():
    s = _scenario("a.yaml")
    assert shared_network.key(s, 1, np.arange(3), None) is None
    with shared_network.sharing():
        k = shared_network.key(s, 1, np.arange(3), None)
        assert k is not None
        assert shared_network.key(s, 2, np.arange(3), None) != k  # another seed
        assert shared_network.key(s, 1, np.arange(1, 4), None) != k  # other paths
        other = _scenario("b.yaml", days=401)
        assert shared_network.key(other, 1, np.arange(3), None) != k  # another horizon
        endogenous = engine._Simulation(_scenario("c.yaml", network={
            **s.model_dump(mode="json")["network"], "hashrate": {"model": "endogenous"}}), 1, np.arange(3), 0, False)
        assert shared_network.key(endogenous.scenario, 1, np.arange(3), endogenous.hashrate_model) is None


def test_the_records_kept_stay_under_the_byte_limit(monkeypatch):
    monkeypatch.setattr(shared_network, "MAX_BYTES", 3 * 9 * 10 * 4 * 8)  # three records of 10 days x 4 paths
    with shared_network.sharing():
        for k in "abcd":
            shared_network.keep(k, shared_network.NetworkDays.empty(10, 4))
        assert shared_network.recorded("a") is None and shared_network.recorded("d") is not None
        assert shared_network.recorded("b") is not None  # (read: now the most recent)
        shared_network.keep("e", shared_network.NetworkDays.empty(10, 4))
        assert shared_network.recorded("c") is None and shared_network.recorded("b") is not None


def test_a_replayed_block_is_the_runs_own_copy():
    days = shared_network.NetworkDays.empty(5, 2)
    block = days.block(1, 3)
    assert isinstance(block, NetworkBlock) and block.height.shape == (3, 2)
    assert not np.shares_memory(block.height, days.height)
