"""bench-10y: time ``simulator.engine.simulate`` on issue 10's reference scenario.

Run from the repository root::

    .venv/bin/python benchmarks/bench_10y.py [--paths 1000] [--days 3650] [--cohorts 20] [--workers N] [--profile]

The scenario (benchmarks/scenario.py): 1,000 paths × 3,650 days, 20 cohorts on 4 sites (2
fixed-price, 2 on hourly index power, economic curtailment everywhere), machine failures, 1 HPC
project and the contract example's company section. The script loads it, then times
``simulate(scenario, keep_paths=20)`` alone (the figure), as ``hashfleet run`` does it: with
one worker process per CPU (:mod:`simulator.workers`; ``--workers 1`` keeps it in this
process). It prints one JSON line: wall time, path-days per second, the worker count, peak
RSS (``ru_maxrss`` of this process, and the largest of its workers'), the peak before
``simulate`` (interpreter, libraries, scenario), and a few results to check the work was
done. ``--profile`` runs ``simulate`` in this process under cProfile instead and prints the
top functions on stderr (slower: use it to find hot spots, not to time).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import figures  # noqa: E402
import scenario as bench  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far [MB] (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(paths: int, days: int, cohorts: int, *, hpc: bool = True, company: bool = True,
        profile: bool = False, workers: int | None = None) -> dict:
    from simulator.engine import simulate
    from simulator.workers import auto_workers

    workers = 1 if profile else auto_workers(paths) if workers is None else workers

    t0 = time.perf_counter()
    scenario = bench.bench_10y(paths=paths, days=days, cohorts=cohorts, hpc=hpc, company=company)
    load_s = time.perf_counter() - t0
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    if profile:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        res = prof.runcall(simulate, scenario, keep_paths=20, workers=1)
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    else:
        res = simulate(scenario, keep_paths=20, workers=workers)
    wall = time.perf_counter() - t0
    m = res.path_metrics
    return {
        "paths": paths, "days": days, "cohorts": cohorts, "hpc": hpc, "company": company, "profiled": profile,
        "load_s": load_s, "wall_s": wall, "path_days_per_s": paths * days / wall, "workers": workers,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
        "rss_before_simulate_mb": rss_before,
        "btc_mined_mean": float(np.mean(m["btc_mined"])),
        "units_failed_mean": float(np.mean(m["units_failed"])),
        "end_equity_value_usd_mean": float(np.nanmean(m["end_equity_value_usd"])) if company else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=bench.PATHS)
    ap.add_argument("--days", type=int, default=bench.DAYS)
    ap.add_argument("--cohorts", type=int, default=bench.COHORTS)
    ap.add_argument("--operations-only", action="store_true", help="without the HPC project and the company")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    ap.add_argument("--profile", action="store_true", help="run under cProfile (top functions on stderr)")
    args = ap.parse_args(argv)
    out = run(args.paths, args.days, args.cohorts, hpc=not args.operations_only,
              company=not args.operations_only, profile=args.profile, workers=args.workers)
    figures.emit(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
