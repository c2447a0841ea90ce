"""A site's days one call at a time (``site_day``) against blocks of 30 (``site_block``): ms per simulated day.

Run from the repository root::

    .venv/bin/python benchmarks/bench_site_block.py [--days 360] [--repeat 3]

bench-10y's sites ``fixed-tx`` (fixed price) and ``index-ercot`` (hourly index power), 5 cohorts
each, ``economic`` curtailment, at 10 and 1,000 paths. Hashprices are lognormal around
50 USD/PH/day (σ 0.3 across path-days, so curtailment bites on the older cohorts), every unit
working. Each form runs the same days from a fresh state; the fastest of ``--repeat`` runs
(alternated) is printed, with the time a site spends per simulated day [ms] and the ratio.
The two forms give the same floats (``tests/test_site_block.py``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenario as bench  # noqa: E402

from simulator.config.checks import library_for  # noqa: E402
from simulator.fleet import build_cohorts, initial_units  # noqa: E402
from simulator.site_block import POWER_BLOCK_DAYS, site_block  # noqa: E402
from simulator.site_day import plan_site, site_day, start_site  # noqa: E402


def run(form: str, plan, days: int, hashprice: np.ndarray, units, paths: int) -> float:
    """Seconds for ``days`` days of ``plan``'s site in ``form`` (``day`` or ``block``)."""
    state = start_site(plan, bench.SEED, np.arange(paths), units.working)
    retired = np.zeros(units.working.shape)
    offline, hpc_mw = np.zeros(POWER_BLOCK_DAYS, dtype=bool), np.zeros(POWER_BLOCK_DAYS)
    working = np.broadcast_to(units.working, (POWER_BLOCK_DAYS,) + units.working.shape)
    t0 = time.perf_counter()
    if form == "day":
        for day in range(days):
            site_day(plan, state, day, days, hashprice[day], 0.0, False, 0.0, units, retired)
    else:
        for day0 in range(0, days, POWER_BLOCK_DAYS):
            n = min(POWER_BLOCK_DAYS, days - day0)
            site_block(plan, state, day0, n, days, hashprice[day0:day0 + n], 0.0, offline[:n], hpc_mw[:n],
                       working[:n], units, retired)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paths", type=int, nargs="+", default=[10, 1000])
    args = parser.parse_args()
    for paths in args.paths:
        scenario = bench.bench_10y(paths=paths, days=args.days, hpc=False, company=False)
        cohorts = build_cohorts(scenario, library_for(scenario))
        units = initial_units(cohorts, paths, 1)
        dates = pd.date_range(scenario.start, periods=args.days, freq="D")
        hashprice = 50.0 * np.exp(0.3 * np.random.default_rng(1).standard_normal((args.days, paths)))
        for index, name in ((0, "fixed-tx"), (2, "index-ercot")):
            plan = plan_site(scenario, index, cohorts, dates)
            best = {"day": np.inf, "block": np.inf}
            for _ in range(args.repeat):
                for form in best:
                    best[form] = min(best[form], run(form, plan, args.days, hashprice, units, paths))
            day_ms, block_ms = (best[f] / args.days * 1e3 for f in ("day", "block"))
            print(f"{name:>12} P={paths:>5}: site_day {day_ms:.3f} ms/day, site_block (n=30) {block_ms:.3f} ms/day, "
                  f"{day_ms / block_ms:.1f}x")


if __name__ == "__main__":
    main()
