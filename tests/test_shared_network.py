"""A workflow's runs share their network (simulator/shared_network.py): a replayed network gives every
output bit for bit, a run whose inputs part from the record computes the rest itself, and nothing is
shared outside a workflow or for the endogenous hashrate."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from simulator import engine, shared_network
from simulator.config import load_scenario
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


def test_a_chunk_replays_its_paths_of_a_whole_runs_record(replayed):
    """Paths 2–4 of a run after a run of paths 0–5 on the same network (a chunk of a workflow's run,
    simulator/workflows/chunks.py) replay those columns of the record from day 0, with the numbers of the
    chunk alone; paths the record does not hold are computed."""
    first, second = _scenario("a.yaml"), _scenario("b.yaml", units_factor=0.5)
    records = shared_network.Records()
    with shared_network.sharing(records):
        engine.simulate(first, workers=1, keep_paths=2)
        replayed.clear()
        chunk = engine.simulate(second, workers=1, keep_paths=3, path_ids=np.arange(2, 5))
        assert replayed and min(replayed) == 0
        replayed.clear()
        engine.simulate(second, workers=1, keep_paths=3, path_ids=np.arange(4, 8))
        assert not replayed
    _assert_same(chunk, engine.simulate(second, workers=1, keep_paths=3, path_ids=np.arange(2, 5)))


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


def _key(scenario, seed=1, paths=np.arange(3)):
    sim = engine._Simulation(scenario, seed, paths, 0, False)
    return shared_network.key(seed, paths, sim.days, scenario.network.blocks, sim.hashrate_model, sim.chain)


def test_the_key_is_what_the_network_reads():
    """Nothing is shared outside a workflow, nor for the endogenous hashrate (it reads the BTC price); the
    key changes with the seed, the paths, the horizon, the network section, the start where the chain
    is dated on the calendar, and a replayed file's data (not its name: next test) — not with the fleet."""
    s = _scenario("a.yaml")
    assert _key(s) is None
    with shared_network.sharing(shared_network.Records()):
        k = _key(s)
        assert k is not None and _key(_scenario("b.yaml", units_factor=0.5)) == k
        assert _key(s, seed=2) != k and _key(s, paths=np.arange(1, 4)) != k
        assert _key(_scenario("b.yaml", days=401)) != k
        # a growth model and a chain given by height and difficulty do not read the calendar: another start
        # shares; an epoch dated on the calendar does not
        assert _key(_scenario("b.yaml", start="2026-01-02")) == k
        network = s.model_dump(mode="json")["network"]
        dated = {**network, "epoch_start_time": "2025-12-25T00:00:00Z"}
        assert _key(_scenario("b.yaml", network=dated)) != _key(_scenario("b.yaml", start="2026-01-02", network=dated))
        assert _key(_scenario("b.yaml", network={**network, "initial_difficulty": 1.6e14})) != k
        assert _key(_scenario("c.yaml", network={**network, "hashrate": {"model": "endogenous"}})) is None


def test_two_folders_with_a_file_of_one_name_do_not_share(tmp_path):
    """A csv hashrate is resolved against each scenario's own folder: two files named alike are two networks."""
    keys = []
    network = _scenario("a.yaml").model_dump(mode="json")["network"]
    with shared_network.sharing(shared_network.Records()):
        for folder, ehs in (("a", 800.0), ("b", 18000.0)):
            (tmp_path / folder).mkdir()
            pd.DataFrame({"date": pd.date_range("2025-12-01", periods=500).date, "hashrate_ehs": ehs}).to_csv(
                tmp_path / folder / "net.csv", index=False)
            doc = _scenario("s.yaml", network={**network, "hashrate": {"model": "csv", "file": "net.csv"}})
            (tmp_path / folder / "s.yaml").write_text(yaml.safe_dump(doc.model_dump(mode="json", exclude_none=True)))
            keys.append(_key(load_scenario(str(tmp_path / folder / "s.yaml"))))
    assert None not in keys and keys[0] != keys[1]


def test_only_the_process_that_shares_records():
    """A run's chunk workers, forked inside a workflow's run, neither record nor replay."""
    with shared_network.sharing(shared_network.Records()):
        assert shared_network._records() is not None
        shared_network._SHARED = (shared_network._SHARED[0], -1)  # as seen from another process
        assert shared_network._records() is None and _key(_scenario("a.yaml")) is None


def test_the_records_kept_stay_under_the_byte_limit(monkeypatch):
    monkeypatch.setattr(shared_network, "MAX_BYTES", 3 * shared_network.NetworkDays.bytes_for(10, 4))
    with shared_network.sharing(shared_network.Records()):
        for k in "abcd":
            shared_network.keep(k, shared_network.NetworkDays.empty(10, 4))
        assert shared_network.recorded("a") is None and shared_network.recorded("d") is not None
        assert shared_network.recorded("b") is not None  # (read: now the most recent)
        shared_network.keep("e", shared_network.NetworkDays.empty(10, 4))
        assert shared_network.recorded("c") is None and shared_network.recorded("b") is not None
        assert shared_network.NetworkDays.empty(10, 4).nbytes == shared_network.NetworkDays.bytes_for(10, 4)


def test_the_workflow_shares_only_around_its_runs():
    """Between the runs (the caller holding a result) and after them, nothing is shared."""
    runs = simulate_each([_scenario("a.yaml", paths=2), _scenario("b.yaml", paths=2)], workers=1)
    next(runs)
    assert shared_network._SHARED is None
    list(runs)
    assert shared_network._SHARED is None


def test_a_replayed_block_is_the_runs_own_copy():
    days = shared_network.NetworkDays.empty(5, 2)
    block = days.block(1, 3)
    assert isinstance(block, NetworkBlock) and block.height.shape == (3, 2)
    assert not np.shares_memory(block.height, days.height)
