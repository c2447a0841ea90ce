"""Start-up: the whole ``hashfleet run`` process on a one-path, two-year scenario.

Run from the repository root::

    .venv/bin/python benchmarks/bench_startup.py [--repeats 3]

Times ``hashfleet run scenarios/contract_example.yaml --paths 1 --out DIR`` (730 days, the
contract example's sites, purchase, HPC project and company; outputs written) as a
subprocess, from launch to exit, and ``python -c "import simulator.cli"`` alone (the
imports' share). Reports the fastest and the median of ``--repeats`` runs in one JSON line.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import figures

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode})")
    return wall


def run(repeats: int = 3) -> dict:
    exe = os.path.join(os.path.dirname(sys.executable), "hashfleet")
    scenario = os.path.join(REPO, "scenarios", "contract_example.yaml")
    tmp = tempfile.mkdtemp(prefix="hashfleet-startup-")
    try:
        runs = [_time([exe, "run", scenario, "--paths", "1", "--out", os.path.join(tmp, f"out{i}")])
                for i in range(repeats)]
        imports = [_time([sys.executable, "-c", "import simulator.cli"]) for _ in range(repeats)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"command": "hashfleet run scenarios/contract_example.yaml --paths 1 --out DIR", "days": 730,
            "paths": 1, "wall_s_min": min(runs), "wall_s_median": statistics.median(runs), "wall_s_all": runs,
            "import_s_min": min(imports)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    figures.emit(run(args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
