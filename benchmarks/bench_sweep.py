"""Wall time of a 16-point ``hashfleet sweep`` with 1 and 2 local workers, and the speed-up.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sweep.py [--paths 50] [--days 730] [--workers 1,2] [--json out.json]

The sweep is the README's regime view on the contract example: BTC drift
(-0.2, 0, 0.2, 0.4) × network hashrate growth (0, 0.2, 0.4, 0.6), every point on the same
paths. Each worker count runs the sweep into a fresh temporary directory through
:func:`simulator.workflows.sweep.run_sweep`, timing everything a user waits for: the
LocalCluster's start-up (worker processes importing the package), the 16 simulations, the
point files and the gathered Parquet table. The outputs of all worker counts are checked
to be byte-identical. Validation of the 16 points (:func:`prepare`) is timed apart.

Not part of the test command.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import figures
from simulator.workflows.sweep import prepare, run_sweep

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(REPO, "scenarios", "contract_example.yaml")
GRID = ("market.btc_price.drift_annual=-0.2,0,0.2,0.4", "network.hashrate.growth_annual=0,0.2,0.4,0.6")


def _files(folder: str) -> dict:
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
            for d, _, names in os.walk(folder) for f in names}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=50, help="Monte Carlo paths per point (default 50)")
    parser.add_argument("--days", type=int, default=730, help="horizon in days, at least 366 (default 730)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--json", dest="json_out", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]

    t0 = time.perf_counter()
    plan = prepare(SCENARIO, GRID, overrides=[f"horizon_days={args.days}"], paths=args.paths)
    prepare_s = time.perf_counter() - t0
    print(f"{len(plan.points)} points × {args.paths} paths × {args.days} days; validating them took {prepare_s:.2f} s")

    wall_s, outputs = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            out = os.path.join(tmp, f"workers-{n}")
            t0 = time.perf_counter()
            res = run_sweep(plan, out, workers=n)
            wall_s[n] = time.perf_counter() - t0
            if res.failed:
                print(f"{n} worker(s): {len(res.failed)} points failed: {res.failed}", file=sys.stderr)
                return 1
            outputs.append(_files(out))
            print(f"{n} worker(s): {wall_s[n]:6.1f} s wall ({wall_s[n] / len(plan.points):.2f} s per point)")
    identical = all(o == outputs[0] for o in outputs[1:])
    base = counts[0]
    for n in counts[1:]:
        print(f"speed-up {base} → {n} workers: {wall_s[base] / wall_s[n]:.2f}×")
    print(f"outputs byte-identical across worker counts: {identical}")
    if args.json_out:
        figures.write(args.json_out, {"points": len(plan.points), "paths": args.paths, "days": args.days,
                                      "prepare_s": prepare_s, "wall_s": {str(k): v for k, v in wall_s.items()},
                                      "identical": identical, "cpu_count": os.cpu_count()})
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
