"""Scaling of ``simulate`` with paths, years and cohorts, with the fitted exponent of each.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scaling.py [--quick]

Three series of bench-10y variants (benchmarks/scenario.py: HPC project and company
included), each run once in this process after a small warm-up run (imports, caches), timing
``simulate`` alone:

* paths 250 / 500 / 1,000 / 2,000 at 730 days (2 years; 10 years at 2,000 paths would take
  minutes and scale the same way);
* years 1 / 2 / 5 / 10 at 250 paths;
* cohorts 5 / 10 / 20 / 40 at 250 paths × 730 days (the 4 sites share their 140 MW of mining
  among their cohorts, so the fleet's size stays the same).

The exponent is the least-squares slope of log(wall time) against log(size): 1 is linear; below
1 the fixed cost per simulated day (SimPy, Python, small arrays) is still a large share. Prints
one JSON line (``BENCH_JSON {...}``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import figures  # noqa: E402
import scenario as bench  # noqa: E402
SERIES = {
    "paths": {"values": [250, 500, 1000, 2000], "fixed": {"days": 730}},
    "years": {"values": [1, 2, 5, 10], "fixed": {"paths": 250}},
    "cohorts": {"values": [5, 10, 20, 40], "fixed": {"paths": 250, "days": 730}},
}
QUICK = {"paths": [100, 200, 400], "years": [1, 2, 4], "cohorts": [5, 10, 20]}


def exponent(sizes, walls) -> float:
    """Least-squares slope of log(wall) on log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(walls), 1)[0])


def timed(paths: int, days: int, cohorts: int) -> float:
    from simulator.engine import simulate

    scenario = bench.bench_10y(paths=paths, days=days, cohorts=cohorts)
    t0 = time.perf_counter()
    simulate(scenario, keep_paths=20)
    return time.perf_counter() - t0


def run(quick: bool = False) -> dict:
    timed(10, 30, bench.COHORTS)  # warm-up: imports, the hardware library, first-touch memory
    out = {}
    for name, spec in SERIES.items():
        values = QUICK[name] if quick else spec["values"]
        walls = []
        for v in values:
            kw = {"paths": 250 if quick else 1000, "days": 365 if quick else 730, "cohorts": bench.COHORTS}
            kw.update(spec["fixed"] if not quick else {k: (100 if k == "paths" else 365) for k in spec["fixed"]})
            if name == "paths":
                kw["paths"] = v
            elif name == "years":
                kw["days"] = 365 * v
            else:
                kw["cohorts"] = v
            walls.append(timed(kw["paths"], kw["days"], kw["cohorts"]))
            print(f"  scaling {name}={v}: {walls[-1]:.2f} s ({kw})", file=sys.stderr, flush=True)
        fixed = {k: w for k, w in kw.items() if k != {"paths": "paths", "years": "days", "cohorts": "cohorts"}[name]}
        out[name] = {"values": values, "wall_s": walls, "exponent": exponent(values, walls), "fixed": fixed}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test of the script)")
    args = ap.parse_args(argv)
    figures.emit(run(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
