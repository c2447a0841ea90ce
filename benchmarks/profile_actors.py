"""Where bench-10y's time goes, actor by actor (the engine's SimPy processes).

Run from the repository root::

    .venv/bin/python benchmarks/profile_actors.py [--paths 1000] [--days 1460]

Wraps each actor of :class:`simulator.engine._Simulation` so that the time spent between
its ``yield``s is added to its account, runs ``simulate`` on bench-10y and prints, per actor,
the total and the mean per simulated day, largest first (sites by index: 0 and 1 fixed-price,
2 and 3 on hourly index power; debt books by kind). What is left between the actors' turns is
SimPy's scheduling and the results assembled at the end. The wrapper's own cost is a few
microseconds per actor-day. For the functions inside an actor, use ``py-spy`` or
``bench_10y.py --profile`` (cProfile).
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenario as bench  # noqa: E402

ACTORS = ("fleet", "life_cycle", "events", "market", "network", "site", "hosted", "hpc_projects", "pool",
          "fleet_trades", "company", "debt", "hedges", "close", "reporting")


#: The clock of the actors' accounts: wall time, or the process's CPU time with ``--cpu`` (steadier on a shared machine).
CLOCK = {"clock": time.perf_counter}


def instrument(cls, spent: collections.Counter) -> None:
    """Replace each actor method of ``cls`` by a generator that times its turns into ``spent``."""
    def wrap(name, method):
        def actor(self, *args):
            turns = method(self, *args)
            if turns is None:
                return
            key = name if not args else f"{name}[{args[0] if isinstance(args[0], int) else type(args[0]).__name__}]"
            clock = CLOCK["clock"]
            while True:
                t0 = clock()
                try:
                    event = next(turns)
                except StopIteration:
                    spent[key] += clock() - t0
                    return
                spent[key] += clock() - t0
                yield event
        return actor

    for name in ACTORS:
        setattr(cls, name, wrap(name, getattr(cls, name)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=bench.PATHS)
    ap.add_argument("--days", type=int, default=None,
                    help="days (default 1460 for bench-10y, four years, a 40 %% run; a --scenario's horizon)")
    ap.add_argument("--cpu", action="store_true", help="CPU time of this process instead of wall time")
    ap.add_argument("--scenario", default=None, help="a scenario file instead of bench-10y (--days: its horizon unless given)")
    ap.add_argument("--warm", action="store_true",
                    help="simulate once unprofiled first (kernels loaded, caches filled); the network is still computed, "
                         "not replayed as in a workflow's later runs (simulator/shared_network.py)")
    args = ap.parse_args(argv)
    import simulator.engine as engine

    if args.cpu:
        CLOCK["clock"] = time.process_time

    spent: collections.Counter = collections.Counter()
    instrument(engine._Simulation, spent)
    if args.scenario:
        from simulator.config import load_scenario
        scenario = load_scenario(args.scenario, [f"paths={args.paths}"] + (
            [f"horizon_days={args.days}"] if args.days is not None else []))
        args.days = scenario.horizon_days
    else:
        args.days = args.days or 1460
        scenario = bench.bench_10y(paths=args.paths, days=args.days)
    if args.warm:
        engine.simulate(scenario, keep_paths=20, workers=1)
        spent.clear()
    t0 = CLOCK["clock"]()
    engine.simulate(scenario, keep_paths=20, workers=1)  # the actors' clocks are in this process
    wall = CLOCK["clock"]() - t0
    print(f"simulate: {wall:.2f} s for {args.paths} paths x {args.days} days ({wall / args.days * 1e3:.2f} ms a day)")
    for key, seconds in spent.most_common():
        if seconds >= 0.0005 * wall:
            print(f"  {key:24s} {seconds:7.2f} s  {seconds / args.days * 1e3:6.3f} ms/day  {seconds / wall:6.1%}")
    rest = wall - sum(spent.values())
    print(f"  {'(SimPy, set-up, results)':24s} {rest:7.2f} s  {rest / args.days * 1e3:6.3f} ms/day  {rest / wall:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
