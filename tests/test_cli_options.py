"""One set of options for every verb (issue 20): ``--progress``/``--quiet`` on every verb that shows
progress, ``--workers``/``--max-memory`` on every verb that runs the engine; and the memory check
compares the estimate with the machine's total memory (or ``--max-memory``), so the same run gets
the same answer however busy the machine is."""
from __future__ import annotations

import os
import re

import pytest

from simulator import engine
from simulator.cli import main
from simulator.config import load_scenario

from conftest import SCENARIOS

HALVING = str(SCENARIOS / "halving_crossing.yaml")
#: Each verb, and the path-days of all its runs together (paths × days × runs).
VERBS = {
    "run": ["run", HALVING, "--paths", "2", "--set", "horizon_days=10"],
    "backtest": ["backtest", str(SCENARIOS / "single_site_operator.yaml"), "--from", "2024-01-01", "--to",
                 "2024-01-10", "--paths", "2"],
    "compare": ["compare", HALVING, HALVING, "--paths", "2", "--set", "horizon_days=10"],
    "upgrade": ["upgrade", HALVING, "--replace", "s19jpro", "--with", "antminer-s21-xp", "--price-usd-per-th", "14",
                "--paths", "2", "--set", "horizon_days=10"],
}
PATH_DAYS = {"run": 20, "backtest": 20, "compare": 2 * 20, "upgrade": 2 * 20}  # upgrade: baseline and upgraded


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_simulating_verb_has_progress_quiet_and_max_memory(runner, verb):
    forced = runner.invoke(main, VERBS[verb] + ["--progress", "--format", "csv"])
    assert forced.exit_code == 0, forced.stderr
    reported = [tuple(map(int, m)) for m in re.findall(r"\((\d+) of (\d+) path-days\)", forced.stderr)]
    done = [d for d, _ in reported]
    # one bar over all the verb's runs: counting up to their total path-days once, never back to 0
    assert {t for _, t in reported} == {PATH_DAYS[verb]} and done == sorted(done) and done[-1] == PATH_DAYS[verb]
    assert 10 <= len(reported) <= 11  # a line per tenth of the work
    quiet = runner.invoke(main, VERBS[verb] + ["--progress", "--quiet", "--format", "csv"])
    assert quiet.exit_code == 0 and "path-days" not in quiet.stderr
    assert quiet.stdout == forced.stdout
    small = runner.invoke(main, VERBS[verb] + ["--max-memory", "100M", "--quiet"])
    assert small.exit_code == 2 and "but --max-memory allows 0.1 GB; use fewer --paths" in small.stderr


def test_max_memory_sizes(runner):
    from simulator.cli import MemorySize

    size = MemorySize()
    assert [size.convert(v, None, None) for v in ("8G", "8GiB", "512m", "1.5K", "4096")] == \
        [8 * 2**30, 8 * 2**30, 512 * 2**20, 1536, 4096]
    bad = runner.invoke(main, VERBS["run"] + ["--max-memory", "12X"])
    assert bad.exit_code == 2 and "'12X' is not a size" in bad.stderr


def test_memory_check_uses_total_memory_not_what_is_free_now(monkeypatch):
    """The limit is MemTotal (the same as the physical pages sysconf reports), read the same way
    whatever else runs; an estimate above it, or above --max-memory, is refused."""
    total = engine.total_memory_bytes()
    assert total == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    s = load_scenario(HALVING)
    need = engine.estimate_memory_bytes(s, 100, 20)
    engine.check_memory(s, 100, 20)  # a hundred paths fit any machine
    engine.check_memory(s, 100, 20, max_memory_bytes=need)
    with pytest.raises(ValueError, match="--max-memory allows"):
        engine.check_memory(s, 100, 20, max_memory_bytes=need - 1)
    monkeypatch.setattr(engine, "total_memory_bytes", lambda: need - 1)  # a smaller machine
    with pytest.raises(ValueError, match="the machine has"):
        engine.check_memory(s, 100, 20)


def test_table_shows_small_numbers_in_fixed_point(capsys):
    """A table cell never shows scientific notation to an analyst: BTC per share is
    0.0000217049 (six significant digits), not 2.17049e-05; other magnitudes keep their format."""
    from simulator.cli import emit

    emit([{"m": "end_btc_per_share", "v": 2.170494e-05}, {"m": "x", "v": -0.000123456789},
          {"m": "y", "v": 0.5}, {"m": "z", "v": 12345.6}, {"m": "w", "v": 0.0}], "table")
    out = capsys.readouterr().out
    assert "0.0000217049" in out and "-0.000123457" in out and "0.5" in out and "12,346" in out
    assert "e-0" not in out
