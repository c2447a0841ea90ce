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


def test_one_yaml_reader_and_one_writer():
    """Issue 20: simulator/yaml12.py is the only module that reads YAML (the scenario loader and the
    hardware library share its rules), and simulator/atomic.py the only one that renames files
    into place or makes temporary files."""
    import re
    from pathlib import Path

    root = Path(importlib.import_module("simulator").__file__).parent
    readers, writers = set(), set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        if re.search(r"yaml\.(compose|safe_load|load)\(|SafeLoader|yaml\.Loader", text):
            readers.add(rel)
        if re.search(r"os\.replace\(|os\.rename\(|tempfile\.mk[sd]temp\(|os\.umask\(", text):
            writers.add(rel)
    assert readers == {"yaml12.py"}
    assert writers == {"atomic.py"}


def test_no_tracked_file_names_an_absolute_path_outside_the_repository():
    """Issue 20: references to the shared notes are relative (``../shared/reference/``), so the
    repository works wherever it is checked out."""
    import re
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    listed = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    pattern = re.compile(r"(?<![\w.~])/(work|home|Users|root|tmp|mnt|srv|opt)/\w")
    found = []
    for name in listed.stdout.splitlines():
        path = repo / name
        if path.suffix in (".csv", ".parquet") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in pattern.finditer(text)]
    assert found == []
