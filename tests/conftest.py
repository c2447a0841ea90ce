"""Shared fixtures: the repository paths, the contract example, and a CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
CONTRACT = SCENARIOS / "contract_example.yaml"


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
