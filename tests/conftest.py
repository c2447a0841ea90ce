"""Shared fixtures: the repository paths, the contract example, and a CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
CONTRACT = SCENARIOS / "contract_example.yaml"
#: Overrides that run the contract example over 120 days with its purchase, HPC project (built in
#: a month, so its lease earns too) and power-tax event moved inside: every kind of dated change
#: and the company's books, for tests whose checks do not depend on the 730-day horizon.
CONTRACT_120_DAYS = ["horizon_days=120", "purchases[0].delivery=2026-02-01", "hpc[0].start=2026-02-15",
                     "hpc[0].build_months=1", "events[0].date=2026-03-01"]


@pytest.fixture
def contract_text() -> str:
    """The DESIGN.md contract example, exactly as shipped."""
    return CONTRACT.read_text()


@pytest.fixture
def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stderr apart by default
        return CliRunner()


@pytest.fixture
def write(tmp_path):
    """Write text to a scenario file in tmp_path and return its path as a string."""

    def _write(text: str, name: str = "s.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return _write
