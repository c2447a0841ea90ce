"""Public-miner presets (scenarios/companies/): they validate, cite a source or an assumption for
every number of their company and fleet, share one market, and run side by side in ``compare``."""
from __future__ import annotations

import re

import pytest
import yaml

from simulator.config import load_scenario
from simulator.workflows.compare import compare

from conftest import SCENARIOS

COMPANIES = SCENARIOS / "companies"
PRESETS = sorted(COMPANIES.glob("*.yaml"))
#: Sections whose every numeric line must carry its source (a URL) or say it is an assumption.
SOURCED_SECTIONS = ("company", "fleet")
#: The business models issue 9 asks for, each matched by a word of some preset's header.
MODELS = ("HODL", "power-credit", "hosting-heavy", "AI/HPC", "low-cost international", "treasury-company")


def _split_comment(line: str) -> tuple[str, str]:
    """(value part, comment) of a YAML line; a ``#`` inside quotes does not start a comment."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i + 1:]
    return line, ""


def _section_lines(text: str, section: str):
    """(line number, line) of the lines inside a top-level ``section:`` block."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^[A-Za-z_]", line):  # a top-level key opens or closes a block
            inside = line.startswith(f"{section}:")
            continue
        if inside:
            yield number, line


def test_there_are_at_least_six_presets_covering_the_business_models():
    assert len(PRESETS) >= 6, PRESETS
    headers = " ".join(p.read_text().split("\nname:")[0] for p in PRESETS)
    missing = [m for m in MODELS if m.lower() not in headers.lower()]
    assert not missing, f"no preset header names the business model(s) {missing}"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_preset_validates_and_has_a_company(path):
    scenario = load_scenario(str(path))
    assert scenario.company is not None, f"{path.name} has no company section"
    assert scenario.fleet, f"{path.name} has no fleet"
    assert re.search(r"^# Data as of \d{4}-\d{2}-\d{2}", path.read_text(), re.M), \
        f"{path.name}: the header must state the date of its data ('# Data as of YYYY-MM-DD')"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_every_number_of_company_and_fleet_has_a_source_or_an_assumption(path):
    text = path.read_text()
    unsourced = []
    for section in SOURCED_SECTIONS:
        for number, line in _section_lines(text, section):
            value, comment = _split_comment(line)
            if not re.search(r"\d", value):
                continue
            if "http" not in comment and "assumption" not in comment.lower():
                unsourced.append(f"{path.name}:{number}: {line.strip()}")
    assert not unsourced, "numbers without a source URL or an 'assumption' comment:\n" + "\n".join(unsourced)


def test_presets_share_one_start_market_and_network():
    docs = {p.name: yaml.safe_load(p.read_text()) for p in PRESETS}
    first = next(iter(docs.values()))
    for name, doc in docs.items():
        for key in ("start", "horizon_days", "market", "network"):
            assert doc[key] == first[key], f"{name}: {key} differs from {PRESETS[0].name}"
    names = [doc["name"] for doc in docs.values()]
    assert len(set(names)) == len(names), "compare's rows are keyed by name: names must differ"


def test_compare_runs_every_preset():
    rows, pairs = compare([str(p) for p in PRESETS], paths=2, overrides=["failures.enabled=false"])
    assert len(rows) == len(PRESETS)
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in PRESETS)
    for row in rows:
        assert row["btc_per_ehs_day"] is not None and row["btc_per_ehs_day"] > 0, row
    assert len(pairs) == len(PRESETS) * (len(PRESETS) - 1)
    by_file = {r["file"]: r for r in rows}
    assert by_file["core_scientific.yaml"]["hpc_share_of_revenue"] > 0.2  # the AI/HPC converter earns from leases
