"""Every docstring example in the package runs (STYLE.md: examples that run as doctests)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import simulator

from conftest import REPO

MODULES = sorted(m.name for m in pkgutil.walk_packages(simulator.__path__, "simulator.")
                 if not m.name.startswith("simulator.hardware_profiles"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(REPO)  # examples name scenario files relative to the repository
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
