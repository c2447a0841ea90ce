"""DESIGN.md's import rules.

The layer contract lives in pyproject.toml and ``make test`` runs ``lint-imports`` on it.
"finance and hpc never import fleet or site" is checked here with grimp (import-linter's
graph library): import-linter's ``forbidden`` contract refuses modules that do not exist
yet, and finance/ and hpc.py arrive with later issues (docs/decisions.md).
"""
from __future__ import annotations

import importlib

import grimp
import pytest

ISOLATED = ("simulator.finance", "simulator.hpc")
FORBIDDEN = ("simulator.fleet", "simulator.site")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("simulator", cache_dir=None)


def test_finance_and_hpc_never_import_fleet_or_site(graph):
    for source in (m for m in ISOLATED if m in graph.modules):
        for target in (m for m in FORBIDDEN if m in graph.modules):
            chains = graph.find_shortest_chains(importer=source, imported=target, as_packages=True)
            assert not chains, f"{source} imports {target}: {sorted(chains)}"


def test_protocol_layer_is_pure(graph):
    """units and chain import nothing else from the package (and no SimPy or pandas)."""
    for module in ("simulator.units", "simulator.chain"):
        imported = graph.find_modules_directly_imported_by(module)
        assert imported <= {"simulator.units"}, (module, imported)
        text = open(importlib.import_module(module).__file__).read()
        assert "import simpy" not in text and "import pandas" not in text
