"""Reporting in blocks (issue 19): the block folds, the block signals and the quantiles give the
same floats as the day-by-day formulas they replace."""
from __future__ import annotations

import numpy as np
import pytest

from simulator import signals
from simulator.reporting import Reporter, fold_block
from simulator.results import SORT_MAX_VALUES, exact_percentiles


@pytest.mark.parametrize("paths", [1, 2, 37])
def test_block_fold_adds_the_days_in_order_like_a_running_sum(paths):
    rng = np.random.default_rng(paths)
    days, block, k, m = 95, 32, 5, 3
    month_of_day = np.repeat(np.arange(4), [31, 28, 31, 5])  # months straddle the blocks
    daily = rng.lognormal(0, 3, size=(days, k, paths)) * rng.choice([-1.0, 1.0], size=(days, k, paths))
    sums, monthly = np.zeros((k, paths)), np.zeros((4, m, paths))
    want_sums, want_monthly = np.zeros((k, paths)), np.zeros((4, m, paths))
    for day in range(days):  # the reference: += day by day
        want_sums += daily[day]
        want_monthly[month_of_day[day]] += daily[day, :m]
    lines = np.empty((block + 1, k, paths))
    for first in range(0, days, block):
        rows = min(block, days - first)
        lines[1:rows + 1] = daily[first:first + rows]
        fold_block(lines, rows, sums, monthly, month_of_day[first:first + rows])
    assert sums.tobytes() == want_sums.tobytes()
    assert monthly.tobytes() == want_monthly.tobytes()
    pairwise = np.ascontiguousarray(np.moveaxis(daily, 0, -1)).sum(axis=-1)  # each path's days contiguous
    assert not np.array_equal(pairwise, want_sums)  # another order gives other floats: the test can tell


def _day_by_day(tracker: signals.SignalTracker, prior, hashrate, hashprice, revenue, price):
    """The signal columns one day at a time from the module's pure functions (the reference)."""
    paths = hashrate.shape[1]
    history = np.vstack([np.repeat(prior[:1], 59 - len(prior), axis=0), prior]) if len(prior) \
        else np.repeat(hashrate[:1], 59, axis=0)
    window = np.vstack([history, hashrate])
    rows = []
    for d in range(hashrate.shape[0]):
        ma30, ma60, cap = signals.hash_ribbons(window[d:d + 60])
        btc, usd = signals.sell_pressure(revenue[d], price[d], tracker.sell_fraction)
        under = signals.underwater_fraction(hashprice[d], tracker.breakeven_usd_per_ph_day, tracker.weights[d])
        rows.append(np.stack([ma30, ma60, cap, under, btc, usd]))
    assert all(r.shape == (6, paths) for r in rows)
    return np.stack(rows)


SIGNAL_BLOCKS = ((0, 32), (32, 1), (33, 40), (73, 27))  # (first day, days): blocks of every size kind


def signal_inputs(seed: int, prior_days: int, days: int = 100, paths: int = 9, vintages: int = 6) -> dict:
    """Random inputs of :meth:`signals.SignalTracker.block` over ``days`` (its tracker's arguments too)."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(vintages), size=days)
    breakeven = rng.uniform(20, 80, vintages)
    hashrate = 600 * np.exp(np.cumsum(rng.normal(0, 0.03, size=(days, paths)), axis=0))
    hashprice = rng.uniform(10, 100, size=(days, paths))
    revenue, price = rng.uniform(400, 500, size=(days, paths)), rng.uniform(5e4, 1e5, size=(days, paths))
    prior = rng.uniform(500, 700, size=prior_days)
    return dict(weights=weights, breakeven=breakeven, hashrate=hashrate, hashprice=hashprice, revenue=revenue,
                price=price, prior=prior)


def signals_by_block(x: dict) -> np.ndarray:
    """The signal columns of :data:`SIGNAL_BLOCKS` from a fresh tracker, ``(days, 6, paths)``."""
    tracker = signals.SignalTracker(x["breakeven"], x["weights"], 0.8, x["prior"] if len(x["prior"]) else None)
    got = []
    for first, size in SIGNAL_BLOCKS:
        block = tracker.block(first, *(x[k][first:first + size] for k in ("hashrate", "hashprice", "revenue", "price")))
        got.append(np.stack([block[c] for c in signals.SIGNAL_COLUMNS], axis=1))
    return np.concatenate(got)


def signals_day_by_day(x: dict) -> np.ndarray:
    """:func:`_day_by_day` of the same inputs."""
    tracker = signals.SignalTracker(x["breakeven"], x["weights"], 0.8, x["prior"] if len(x["prior"]) else None)
    paths = x["hashrate"].shape[1]
    return _day_by_day(tracker, np.repeat(x["prior"][:, None], paths, 1), x["hashrate"], x["hashprice"], x["revenue"],
                       x["price"])


@pytest.mark.parametrize("prior_days", [0, 20])
def test_block_signals_equal_the_day_by_day_formulas(prior_days):
    x = signal_inputs(7, prior_days)
    want = signals_day_by_day(x)
    assert signals_by_block(x).tobytes() == want.tobytes()
    assert want[:, 2].any() and not want[:, 2].all()  # capitulation both on and off
    assert 0 < want[:, 3].mean() < 1


@pytest.mark.parametrize("n", [1, 6, 1000, SORT_MAX_VALUES + 1])
def test_quantiles_equal_numpy_with_sorting_and_with_selection(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(3, 4, n))
    x[0, 1] = np.round(x[0, 1])  # ties
    x[1, 2, 0] = np.nan
    want = np.moveaxis(np.percentile(x, [5, 50, 95], axis=-1), 0, -1)
    got = exact_percentiles(x.copy())
    assert np.array_equal(got, want, equal_nan=True)
    assert np.isnan(got[1, 2]).all()


@pytest.mark.parametrize("ids", [[0, 1, 2, 5], [7], [3, 1, 2], []])
def test_path_major_frame_is_the_time_major_table_sorted_by_path_then_time(ids):
    import pandas as pd
    from pandas.testing import assert_frame_equal

    from simulator.reporting import path_major_frame

    ids = np.asarray(ids, dtype=np.int64)
    times = pd.date_range("2026-01-01", periods=5, freq="MS").date
    rng = np.random.default_rng(3)
    columns = {"a": rng.normal(size=(5, len(ids))), "b": rng.normal(size=(5, len(ids)))}
    want = pd.DataFrame({"path": np.tile(ids, 5), "month": np.repeat(times, len(ids)),
                         **{c: v.reshape(-1) for c, v in columns.items()}}
                        ).sort_values(["path", "month"], kind="stable").reset_index(drop=True)
    got = path_major_frame(ids, "month", times, columns)
    assert_frame_equal(got, want, check_exact=True)
    assert list(got["path"]) == sorted(got["path"])


@pytest.mark.parametrize("keep_paths", [0, 2])
def test_a_run_without_daily_quantiles_gives_the_same_other_outputs(monkeypatch, keep_paths):
    """``simulate(daily_quantiles=False)`` (what ``compare`` asks for): no quantiles are taken, and without
    kept paths no signal is computed; every per-path metric, monthly line and kept daily row is the same."""
    from simulator import engine, workers
    from simulator.config import load_scenario

    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=6"])
    full = engine.simulate(scenario, workers=1, keep_paths=keep_paths)
    calls = {"quantiles": 0, "signals": 0}
    finish, block = workers.LocalQuantiles.finish, signals.SignalTracker.into

    def counted_finish(self, *a):
        calls["quantiles"] += 1
        return finish(self, *a)

    def counted_block(self, *a):
        calls["signals"] += 1
        return block(self, *a)
    monkeypatch.setattr(workers.LocalQuantiles, "finish", counted_finish)
    monkeypatch.setattr(signals.SignalTracker, "into", counted_block)
    lean = engine.simulate(scenario, workers=1, keep_paths=keep_paths, daily_quantiles=False)
    assert lean.daily_quantiles is None and calls["quantiles"] == 0
    assert (calls["signals"] > 0) == (keep_paths > 0)  # the kept rows still carry the signal columns
    for k in full.path_metrics:
        np.testing.assert_array_equal(full.path_metrics[k], lean.path_metrics[k], err_msg=k)
    import pandas as pd
    pd.testing.assert_frame_equal(full.monthly, lean.monthly, check_exact=True)
    pd.testing.assert_frame_equal(full.daily, lean.daily, check_exact=True)


def test_results_without_daily_quantiles_write_the_other_files(tmp_path):
    from simulator import engine
    from simulator.config import load_scenario

    res = engine.simulate(load_scenario("scenarios/contract_example.yaml", ["paths=2"]), workers=1,
                          daily_quantiles=False)
    res.write(str(tmp_path / "out"))
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "daily_quantiles.parquet" not in written and {"summary.json", "monthly.parquet", "daily.parquet"} <= set(written)


def test_quantiles_of_some_columns_are_those_of_all(monkeypatch):
    """``simulate(daily_quantiles=(...))`` (what ``upgrade`` asks for) takes those columns' quantiles only —
    the same numbers as a full run's — and computes no signal column when none is asked for."""
    from simulator import engine
    from simulator.config import load_scenario

    scenario = load_scenario("scenarios/contract_example.yaml", ["paths=6"])
    full = engine.simulate(scenario, workers=1, keep_paths=0)
    block = signals.SignalTracker.into
    calls = []
    monkeypatch.setattr(signals.SignalTracker, "into", lambda self, *a: calls.append(1) or block(self, *a))
    some = engine.simulate(scenario, workers=1, keep_paths=0,
                           daily_quantiles=("hashprice_usd_per_ph_day", "btc_price_usd"))
    assert not calls
    wanted = ["date"] + [f"{c}_{q}" for c in ("btc_price_usd", "hashprice_usd_per_ph_day") for q in ("p5", "p50", "p95")]
    assert list(some.daily_quantiles.columns) == wanted
    import pandas as pd
    pd.testing.assert_frame_equal(some.daily_quantiles, full.daily_quantiles[wanted], check_exact=True)
    with_signal = engine.simulate(scenario, workers=1, keep_paths=0, daily_quantiles=("hash_ribbon_capitulation",))
    assert calls and with_signal.daily_quantiles["hash_ribbon_capitulation_p50"].equals(
        full.daily_quantiles["hash_ribbon_capitulation_p50"])
    with pytest.raises(ValueError, match="not daily columns"):
        engine.simulate(scenario, workers=1, daily_quantiles=("btc_price",))


def test_path_major_frame_of_mixed_columns_and_the_block_frame_without_a_copy():
    """A column that is not float64 takes the column-by-column table (the same rows); float columns go
    through one block that the frame uses as it is (block_frame: the workers' shared tables are read so)."""
    import pandas as pd

    from simulator.reporting import block_frame, fill_path_major, path_major_frame

    ids, times = np.array([2, 4, 9]), pd.date_range("2026-01-01", periods=4, freq="MS").date
    a, b = np.arange(12.0).reshape(4, 3), np.arange(12).reshape(4, 3)
    mixed = path_major_frame(ids, "month", times, {"a": a, "b": b})
    assert mixed["b"].dtype == np.int64 and mixed["b"].tolist() == b.T.reshape(-1).tolist()
    assert mixed["a"].tolist() == a.T.reshape(-1).tolist() and mixed["path"].tolist() == [2] * 4 + [4] * 4 + [9] * 4
    block = np.empty((2, 3, 4))
    fill_path_major(block, [a, 2 * a])
    frame = block_frame(ids, "month", times, ["a", "twice"], block)
    pd.testing.assert_frame_equal(frame, path_major_frame(ids, "month", times, {"a": a, "twice": 2 * a}), check_exact=True)
    assert np.shares_memory(frame["twice"].to_numpy(), block)


def test_a_column_given_as_its_times_rows_is_the_same_table():
    """A column given as a list of its times' rows ``(paths,)`` (the ledger's monthly lines,
    ``Ledger.monthly_rows``) is stacked straight into the block: the bytes of its ``(times, paths)`` array, in
    ``path_major_frame`` (float64 and mixed tables), ``fill_path_major`` and the workers' ``SharedTables``."""
    import pandas as pd

    from simulator.reporting import SharedTables, fill_path_major, path_major_frame

    ids, times = np.array([2, 4, 9]), pd.date_range("2026-01-01", periods=4, freq="MS")
    rng = np.random.default_rng(5)
    a, c = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    c[0, 1], c[2, 2], c[3, 0] = -0.0, np.nan, -np.inf
    rows = list(c)
    assert all(r.base is c for r in rows)  # (views: the stack reads the rows where they are)
    want = path_major_frame(ids, "month", times.date, {"a": a, "c": c})
    got = path_major_frame(ids, "month", times.date, {"a": a, "c": rows})
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert np.array_equal(got["c"].to_numpy().view(np.int64), want["c"].to_numpy().view(np.int64))
    b = np.arange(12).reshape(4, 3)  # a column that is not float64: the column-by-column table, rows stacked
    pd.testing.assert_frame_equal(path_major_frame(ids, "month", times.date, {"c": rows, "b": b}),
                                  path_major_frame(ids, "month", times.date, {"c": c, "b": b}), check_exact=True)
    block, ref = np.empty((2, 3, 4)), np.empty((2, 3, 4))
    fill_path_major(block, [a, rows])
    fill_path_major(ref, [a, c])
    assert np.array_equal(block.view(np.int64), ref.view(np.int64))
    dates = pd.date_range("2026-01-01", periods=100, freq="D")
    tables = SharedTables(ids, 10, dates, ["a", "c"], ["x"])  # (every path kept)
    try:
        with pytest.raises(TypeError, match="float64"):
            tables.write(0, {"a": a[:, :2], "c": [r[:2].astype(np.float32) for r in rows]}, {"x": np.zeros((100, 2))})
        tables.write(0, {"a": a[:, :2], "c": [r[:2] for r in rows]}, {"x": np.zeros((100, 2))})
        tables.write(2, {"a": a[:, 2:], "c": c[:, 2:]}, {"x": np.ones((100, 1))})
        daily, monthly = tables.frames()
    finally:
        tables.close()
    pd.testing.assert_frame_equal(monthly, path_major_frame(ids, "month", times.date, {"a": a, "c": c}), check_exact=True)
    assert daily["x"].tolist() == [0.0] * 200 + [1.0] * 100


def test_a_chunks_kept_rows_are_its_view_of_the_shared_daily_table():
    """``SharedTables.kept_rows``: each chunk's kept paths' rows of the daily table ``(columns, its kept paths, days)``,
    a view of the shared memory (what its ``Reporter`` writes lands in the frame the parent reads, in path order, with
    nothing written after the run); ``Reporter`` refuses a table of another shape."""
    import pandas as pd

    from simulator.reporting import Reporter, SharedTables
    from simulator.workers import LocalQuantiles

    ids, dates = np.array([0, 3, 1, 7, 2]), pd.date_range("2026-01-01", periods=6, freq="D")
    tables = SharedTables(ids, 3, dates, ["a"], ["x", "y"])  # kept: ids 0, 1 and 2 (positions 0, 2 and 4)
    try:
        first, second = tables.kept_rows(0, 3), tables.kept_rows(3, 2)  # chunks ids[0:3] and ids[3:5]
        assert first.shape == (2, 2, 6) and second.shape == (2, 1, 6)
        assert np.shares_memory(first, tables.daily) and np.shares_memory(second, tables.daily)
        first[:] = np.arange(24.0).reshape(2, 2, 6)
        second[:] = 100.0 + np.arange(12.0).reshape(2, 1, 6)
        tables.write(0, {"a": np.zeros((1, 3))})  # (the kept rows already in place: no daily given)
        tables.write(3, {"a": np.zeros((1, 2))})
        daily, _ = tables.frames()
    finally:
        tables.close()
    assert daily["path"].tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert daily["x"].tolist() == list(range(6)) + list(range(6, 12)) + list(range(100, 106))
    assert daily["y"].tolist() == list(range(12, 18)) + list(range(18, 24)) + list(range(106, 112))
    columns = ("btc_price_usd",) + signals.SIGNAL_COLUMNS
    with pytest.raises(ValueError, match="kept rows' table"):
        Reporter(dates, np.arange(3), 2, columns, LocalQuantiles(6, len(columns), 3, 4), None, None,
                 (columns[:1], None), kept_table=np.zeros((len(columns), 3, 6)))


def test_the_reporters_day_columns_are_the_columns_between_the_blocks_and_the_signals():
    """``Reporter``'s ``day_columns`` must name the daily columns neither taken from the block nor signals, in order."""
    import pandas as pd

    from simulator.reporting import Reporter
    from simulator.workers import LocalQuantiles

    dates = pd.date_range("2026-01-01", periods=40, freq="D")
    block = ("btc_price_usd", "network_hashrate_ehs", "hashprice_usd_per_ph_day")
    columns = block[:1] + ("fleet_hashrate_ehs",) + block[1:] + ("cash_usd",) + signals.SIGNAL_COLUMNS
    quantiles = LocalQuantiles(40, len(columns), 2, 32)

    def reporter(day_names, write=lambda b, day, row, line: None):
        return Reporter(dates, np.arange(2), 0, columns, quantiles, None, None, (block, None), (day_names, write))
    reporter(("fleet_hashrate_ehs", "cash_usd"))
    for wrong in (("cash_usd", "fleet_hashrate_ehs"), ("fleet_hashrate_ehs",), ()):
        with pytest.raises(ValueError, match="between the block's and the signals"):
            reporter(wrong)
    with pytest.raises(ValueError, match="without the function writing them"):
        reporter(("fleet_hashrate_ehs", "cash_usd"), None)
    no_day_columns = block + signals.SIGNAL_COLUMNS  # none to write: no function needed, none called (review 15)
    r = Reporter(dates, np.arange(2), 0, no_day_columns, LocalQuantiles(40, len(no_day_columns), 2, 32), None, None,
                 (block, None))
    assert r.columns_wanted and r._day_columns is None


def test_the_block_taken_a_run_of_days_at_a_time_gives_the_day_by_day_reporting(monkeypatch):
    """The operating columns and monthly lines taken from the operating block on its last day and the
    reporting block's (``Reporter._take``) are the bytes of every day's record copied day by day: with an HPC
    project (its MW), purchases, a retirement, and paths stopping on a block's first day and in its middle
    (the stop masks the block's days from its own on: the days reported before it stay as they were)."""
    from simulator import block, engine
    from simulator.config import load_scenario
    from tests.kernel_forms import assert_same_bits, assert_same_runs, reporting_day_by_day

    scenario = load_scenario("scenarios/contract_example.yaml", [
        "paths=8", "company.sga_usd_per_year=1.5e8", "company.equity.atm_enabled=false",
        "fleet[0].retired=2027-03-01", "market.btc_price.vol_annual=0.9"])
    stops, stop, taken, take = [], block.OpsBlock.stop, [], Reporter._take

    def spied(self, day, alive):
        masked = stop(self, day, alive)
        if masked:
            stops.append(day - self.first)
        return masked

    def take_spied(self, b, a, z):
        taken.append(z - a)
        return take(self, b, a, z)
    monkeypatch.setattr(block.OpsBlock, "stop", spied)
    monkeypatch.setattr(Reporter, "_take", take_spied)

    def run():
        res = engine.simulate(scenario, keep_paths=scenario.paths, workers=1)
        return (res.path_metrics, res.monthly, res.daily), res.daily_quantiles
    new, new_quantiles = run()
    assert 0 in stops and any(j > 0 for j in stops)  # a block opened with stopped paths, and a mid-block stop
    assert max(taken) > 1 and sum(taken) == scenario.horizon_days  # runs of days, each day once
    assert 0 < new[0]["prob_cash_shortfall"].sum() < scenario.paths
    monkeypatch.setattr(engine._Simulation, "reporting", reporting_day_by_day)
    old, old_quantiles = run()
    assert_same_runs(old, new)
    for column in old_quantiles.columns:
        assert_same_bits(old_quantiles[column].to_numpy(), new_quantiles[column].to_numpy(), column)


def test_the_hpc_mw_table_is_each_days_reserved_mw():
    """``HpcPortfolio.reserved_mw_by_day`` (the reporting's ``hpc_power_mw``): the MW of every day as
    ``HpcPortfolio.reserved_mw_on`` gives it, for projects started before the run, on its first day, two on one day,
    one on the last day and one after it; and for enough projects that numpy's sum over them is pairwise."""
    from types import SimpleNamespace

    from simulator.hpc import HpcPortfolio
    from tests.kernel_forms import assert_same_bits

    few = SimpleNamespace(start_day=np.array([-40.0, 0.0, 17.0, 17.0, 3.0, 99.0, 250.0]),
                          reserved_mw=np.array([0.1, 75.0, 0.3, 12.5, 1e-3, 7.0, 5.0]))
    rng = np.random.default_rng(3)
    many = SimpleNamespace(start_day=rng.integers(-5, 120, 40).astype(float), reserved_mw=rng.lognormal(2, 2, 40))
    for portfolio, values in ((few, 4), (many, None)):
        got = HpcPortfolio.reserved_mw_by_day(portfolio, 100)
        assert_same_bits(got, np.array([HpcPortfolio.reserved_mw_on(portfolio, d) for d in range(100)]))
        assert values is None or len(set(got.tolist())) == values
