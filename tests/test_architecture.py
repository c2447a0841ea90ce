"""DESIGN.md's import rules.

The layer contract and "finance and hpc never import fleet or site" live in pyproject.toml
and ``make test`` runs ``lint-imports`` on them; what import-linter cannot express is
checked here with grimp (its graph library).
"""
from __future__ import annotations

import importlib

import grimp
import pytest


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("simulator", cache_dir=None)


def test_protocol_layer_is_pure(graph):
    """units and chain import nothing else from the package (and no SimPy or pandas)."""
    for module in ("simulator.units", "simulator.chain"):
        imported = graph.find_modules_directly_imported_by(module)
        assert imported <= {"simulator.units"}, (module, imported)
        text = open(importlib.import_module(module).__file__).read()
        assert "import simpy" not in text and "import pandas" not in text
