"""How the benchmark scripts hand their figures on: one tagged JSON line on stdout, and JSON files.

A script run as a subprocess prints its figures as one line ``BENCH_JSON {...}``
(:func:`emit`); the caller finds it in the captured stdout (:func:`parse`). ``--json FILE``
options write the figures with :func:`write`.
"""
from __future__ import annotations

import json
import os

TAG = "BENCH_JSON "


def emit(figures: dict) -> None:
    """Print ``figures`` as the tagged JSON line."""
    print(TAG + json.dumps(figures), flush=True)


def parse(stdout: str) -> dict:
    """The figures of the tagged JSON line in a script's stdout."""
    line = next(out for out in stdout.splitlines() if out.startswith(TAG))
    return json.loads(line[len(TAG):])


def write(path: str, figures: dict) -> None:
    """Write ``figures`` to the JSON file ``path`` (its folder made if needed) and say so."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(figures, fh, indent=2)
    print(f"json written: {path}")
