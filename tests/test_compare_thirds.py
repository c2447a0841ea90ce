"""tools/compare_thirds.py: equity return by third of the paths sorted by BTC's end price (README's compare
section)."""
from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from conftest import REPO as ROOT

spec = importlib.util.spec_from_file_location("compare_thirds", ROOT / "tools" / "compare_thirds.py")
ct = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ct)

PRESETS = [str(ROOT / "scenarios" / "companies" / f) for f in ("riot.yaml", "iren.yaml")]
PATHS = 7
#: Two months instead of two years: the tool's arithmetic does not depend on the horizon.
SHORT = ["horizon_days=60"]


def test_path_ends_reads_the_last_btc_price_and_the_return_from_first_to_last_share_price():
    daily = pd.DataFrame({"path": [1, 1, 1, 0, 0, 0], "date": pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02"] * 2),
                          "btc_price_usd": [30.0, 10.0, 20.0, 300.0, 100.0, 200.0],
                          "share_price_usd": [3.0, 2.0, 9.0, 1.0, 4.0, 9.0]})
    ends = ct.path_ends(daily)
    assert ends["btc_end_usd"].to_dict() == {0: 300.0, 1: 30.0}
    assert ends["equity_return_pct"].to_dict() == pytest.approx({0: -75.0, 1: 50.0})


def test_thirds_split_by_btc_end_not_by_path_id():
    btc = np.array([5.0, 1.0, 7.0, 3.0, 2.0, 6.0, 4.0])
    ends = pd.DataFrame({"btc_end_usd": btc, "equity_return_pct": btc * 10})
    rows = ct.thirds("A", "a.yaml", ends)
    assert [r["third"] for r in rows] == ["bottom", "middle", "top"]
    assert [r["paths"] for r in rows] == [3, 2, 2]  # numpy.array_split: the first groups take the remainder
    assert [(r["btc_end_min_usd"], r["btc_end_max_usd"]) for r in rows] == [(1, 3), (4, 5), (6, 7)]
    assert [r["equity_return_pct_p50"] for r in rows] == [20.0, 45.0, 65.0]


@pytest.fixture(scope="module")
def runs():
    """Riot and IREN at a few paths, and the engine's own per-path equity return of each."""
    import simulator.engine as engine

    real, seen = engine.simulate, []

    def simulate(scenario, **options):
        seen.append(res := real(scenario, **options))
        return res

    patch = pytest.MonkeyPatch()
    patch.setattr(engine, "simulate", simulate)
    try:
        yield ct.simulate_files(PRESETS, paths=PATHS, overrides=SHORT), seen
    finally:
        patch.undo()


def test_two_presets_give_three_ordered_thirds_each_on_common_paths(runs):
    out, results = runs
    long = ct.table(out)
    assert list(long.columns) == list(ct.COLUMNS) and len(long) == 6
    assert list(long["file"]) == ["riot.yaml"] * 3 + ["iren.yaml"] * 3
    for _, rows in long.groupby("file", sort=False):
        assert list(rows["third"]) == ["bottom", "middle", "top"]
        assert rows["paths"].sum() == PATHS
        assert (rows["btc_end_max_usd"].to_numpy()[:-1] <= rows["btc_end_min_usd"].to_numpy()[1:]).all()
        assert (rows["btc_end_median_usd"].diff().dropna() > 0).all()
        assert (rows["equity_return_pct_min"] <= rows["equity_return_pct_p50"]).all()
        assert (rows["equity_return_pct_p50"] <= rows["equity_return_pct_max"]).all()
    riot, iren = (long[long["file"] == f].reset_index(drop=True) for f in ("riot.yaml", "iren.yaml"))
    pd.testing.assert_frame_equal(riot.filter(like="btc_"), iren.filter(like="btc_"))  # the same BTC paths
    assert wide_shape(long) == (2, 3)
    # the per-path returns are the engine's equity_return_pct metric
    for (_, _, daily), res in zip(out, results):
        ends = ct.path_ends(daily)
        assert len(ends) == PATHS
        np.testing.assert_allclose(ends["equity_return_pct"].to_numpy(), res.path_metrics["equity_return_pct"], rtol=1e-12)


def wide_shape(long):
    return ct.wide(long).shape


def test_run_directories_give_the_same_table(runs, tmp_path, capsys):
    out, results = runs
    dirs = []
    for res, name in zip(results, ("riot", "iren")):
        res.write(str(tmp_path / name))
        dirs.append(str(tmp_path / name))
    from_dirs = ct.table(ct.read_dirs(dirs))
    pd.testing.assert_frame_equal(from_dirs.drop(columns="file"), ct.table(out).drop(columns="file"))
    assert ct.main(dirs) == 0
    printed = capsys.readouterr().out
    assert "Median equity return by third" in printed and "Riot" in printed
