"""Benchmark the vectorised SimPy engine against a naive per-path SimPy model.

Run from the repository root::

    .venv/bin/python benchmarks/bench_engine.py [--paths 1000] [--days 3650] [--naive-paths 3] [--json out.json]

What it does (benchmarks/README.md explains every printed figure):

1. Builds a 20-cohort, 4-site scenario in code (2 fixed-price sites, 2 ``index`` sites, all
   ``curtailment: economic``; gbm price, lognormal fees, growth hashrate with noise, Poisson
   blocks, FPPS pool at 2 %), writes it to a temporary YAML file and loads it with
   :func:`simulator.config.load_scenario` (full validation, capacity checks included).
2. Times ``simulator.engine.simulate(scenario, keep_paths=20)`` in a fresh subprocess (this
   script re-invoked with ``--only hashfleet``) so that its peak RSS is the engine's alone.
3. Runs a naive model doing the same work the way one would write it without vectorising:
   one SimPy process per path, Python floats per cohort per day, numpy scalar draws, Core's
   retarget with interpolated block timestamps, halvings, FPPS revenue, binomial machine
   failures with a repair queue, economic curtailment (per day at fixed sites, per hour on
   the hourly index prices at index sites) and power cost. Its mean BTC mined per path is
   printed next to hashfleet's so that the speed ratio compares the same work.

Nothing under ``simulator/`` is modified; the engine is only called.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np
import simpy
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scenario import (FEES, HASHRATE, INITIAL_DIFFICULTY, INITIAL_HEIGHT, POOL_FEE, PRICE, SEED,  # noqa: E402
                      START)
import figures as bench_figures  # noqa: E402  (benchmarks/figures.py: the JSON line and files)
import scenario as bench  # noqa: E402  (benchmarks/scenario.py: the scenarios of every benchmark)


# --------------------------------------------------------------------------- scenario
def scenario_dict(paths: int, days: int, failures: bool = True) -> dict:
    """The operations-only benchmark scenario (bench-10y without its HPC project and company).

    ``failures=True`` leaves the engine's default machine-failure model on (the
    ``failures:`` section omitted); ``False`` writes ``failures: {enabled: false}``.
    """
    return bench.scenario_dict(paths, days, failures=failures, hpc=False, company=False)


def build_scenario(paths: int, days: int, failures: bool = True):
    """Write the scenario to a temporary YAML file and load it with full validation."""
    return bench.load(scenario_dict(paths, days, failures))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far [MB] (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- hashfleet run
def run_hashfleet(paths: int, days: int, profile: bool, failures: bool = True) -> dict:
    """Load the scenario and time ``simulate(scenario, keep_paths=20)`` in this process."""
    from simulator.engine import simulate

    t0 = time.perf_counter()
    scenario = build_scenario(paths, days, failures)
    load_s = time.perf_counter() - t0
    rss_before = peak_rss_mb()
    if profile:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        res = prof.runcall(simulate, scenario, keep_paths=20, workers=1)
        wall = time.perf_counter() - t0
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(10)
        print(out.getvalue(), file=sys.stderr)
    else:
        t0 = time.perf_counter()
        res = simulate(scenario, keep_paths=20)
        wall = time.perf_counter() - t0
    btc = np.asarray(res.path_metrics["btc_mined"], dtype=float)
    curtailed = np.asarray(res.path_metrics["curtailed_mwh"], dtype=float)
    return {
        "paths": paths, "days": days, "cohorts": 20, "sites": 4, "failures": failures,
        "load_s": load_s, "wall_s": wall, "path_days_per_s": paths * days / wall,
        "peak_rss_mb": peak_rss_mb(), "rss_before_simulate_mb": rss_before,
        "btc_mined_mean": float(btc.mean()),
        "btc_mined_se": float(btc.std(ddof=1) / np.sqrt(len(btc))) if len(btc) > 1 else 0.0,
        "btc_mined_p5": float(np.percentile(btc, 5)),
        "btc_mined_p95": float(np.percentile(btc, 95)),
        "curtailed_mwh_mean": float(curtailed.mean()),
        "units_failed_mean": float(np.mean(res.path_metrics["units_failed"])) if "units_failed" in res.path_metrics
        else None,
        "daily_rows": int(len(res.daily)), "notes": list(res.notes), "profiled": profile,
    }


def hashfleet_in_subprocess(paths: int, days: int, profile: bool, failures: bool = True) -> dict:
    """Re-invoke this script with ``--only hashfleet`` and parse its JSON line."""
    cmd = [sys.executable, os.path.abspath(__file__), "--only", "hashfleet", "--paths", str(paths),
           "--days", str(days)] + (["--profile"] if profile else []) + ([] if failures else ["--no-failures"])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"hashfleet run failed (exit {proc.returncode}); its stderr is above")
    if profile:
        sys.stderr.write(proc.stderr)
    return bench_figures.parse(proc.stdout)


# --------------------------------------------------------------------------- naive model
SECONDS_PER_DAY = 86400.0
HASHES_PER_DIFF1 = 2.0**32
RETARGET = 2016
HALVING = 210_000
T_TARGET = 2016 * 600.0


def naive_inputs(days: int, failures: bool = True) -> dict:
    """The scenario as plain Python numbers: sites with their cohorts, the index price
    parameters (the schema's defaults where the scenario gives none), the failure model's
    parameters (the engine's defaults) and each day's month. Setup, not timed."""
    from simulator.config.schema import Failures, IndexPower
    from simulator.market.power import IndexPowerModel
    from simulator.hardware import daily_failure_probability, load_library
    from simulator.market.power import default_shape

    library = load_library()
    data = scenario_dict(1, 1, failures)
    shape = default_shape().tolist()  # [hour][month], calendar mean 1
    cohorts, sites = [], []
    for site in data["sites"]:
        power = site["power"]
        members = []
        for item in data["fleet"]:
            if item["site"] != site["name"]:
                continue
            p = library[item["model"]]
            members.append(len(cohorts))
            cohorts.append((item["units"], p.hashrate_ths, p.power_w / 1e6, p.power_w / p.hashrate_ths,
                            float(daily_failure_probability(p.failure_rate_annual))))
        entry = {"facility": 1.0 + site["cooling_overhead"], "cohorts": members, "index": power["contract"] == "index"}
        if entry["index"]:
            cfg = IndexPower(**power)
            phi = 1.0 - cfg.reversion_daily
            v = cfg.vol_daily**2 / (1.0 - phi**2) if cfg.vol_daily else 0.0
            base = IndexPowerModel(  # the base mean: the scenario's mean is all-in (issue 17)
                cfg.mean_usd_per_mwh, "2026-01-01", spike_probability=cfg.spike_probability,
                spike_usd_per_mwh=cfg.spike_usd_per_mwh, negative_probability=cfg.negative_probability,
                negative_usd_per_mwh=cfg.negative_usd_per_mwh).base_mean_usd_per_mwh
            entry.update(mean=base, phi=phi, vol=cfg.vol_daily, v=v, spike_p=cfg.spike_probability,
                         spike=cfg.spike_usd_per_mwh, negative_p=cfg.negative_probability,
                         negative=cfg.negative_usd_per_mwh, cap=cfg.cap_usd_per_mwh, floor=cfg.floor_usd_per_mwh,
                         shape=shape)
        else:
            entry["price"] = power["price_usd_per_mwh"]
        sites.append(entry)
    opex_per_day = sum(s["opex_usd_per_mw_year"] * s["capacity_mw"] / 365.0 for s in data["sites"])
    dates = [START + dt.timedelta(days=d) for d in range(days)]
    month_of_day = [(d.year - START.year) * 12 + d.month - START.month for d in dates]
    cfg = Failures(**data.get("failures", {}))
    return {"cohorts": cohorts, "sites": sites, "opex_per_day": opex_per_day, "month_of_day": month_of_day,
            "calendar_month": [d.month - 1 for d in dates], "failures": cfg.enabled, "repair_days": cfg.repair_days,
            "permanent_fraction": cfg.permanent_fraction, "repair_cost_usd_per_unit": cfg.repair_cost_usd_per_unit}


def subsidy_btc(height: int) -> float:
    halvings = height // HALVING
    return 0.0 if halvings >= 64 else (5_000_000_000 >> halvings) / 1e8


def naive_path(env: simpy.Environment, days: int, seed: int, inputs: dict, out: dict):
    """One path, one SimPy process, Python floats; the engine's rules written per path and day."""
    rng = np.random.default_rng(seed)
    cohorts, sites, opex_per_day = inputs["cohorts"], inputs["sites"], inputs["opex_per_day"]
    dt_y = 1.0 / 365.0
    mu, sigma, s0 = PRICE["drift_annual"], PRICE["vol_annual"], PRICE["initial_usd"]
    price_drift, price_step = (mu - 0.5 * sigma**2) * dt_y, sigma * math.sqrt(dt_y)
    fbar, fvol, phi = FEES["btc_per_block"], FEES["vol"], FEES["phi"]
    f_innov = math.sqrt(1.0 - phi * phi) * fvol
    g, hvol = HASHRATE["growth_annual"], HASHRATE["vol_annual"]
    h0 = INITIAL_DIFFICULTY * HASHES_PER_DIFF1 / 600.0  # H/s implied by the difficulty
    rate = math.log1p(g) / 365.0
    h_drift, h_step = -0.5 * hvol**2 * dt_y, hvol * math.sqrt(dt_y)
    keep = 1.0 - POOL_FEE

    log_s, x, log_noise = 0.0, None, 0.0
    height, diff = INITIAL_HEIGHT, INITIAL_DIFFICULTY
    epoch_start = -float(INITIAL_HEIGHT % RETARGET) * 600.0
    next_retarget = (INITIAL_HEIGHT // RETARGET + 1) * RETARGET
    index_y = [None] * len(sites)  # log deviation of each index site's daily base
    btc_total = revenue = cost = curtailed = opex = 0.0
    fails, repair_days = inputs["failures"], inputs["repair_days"]
    permanent, repair_cost_per_unit = inputs["permanent_fraction"], inputs["repair_cost_usd_per_unit"]
    working = [c[0] for c in cohorts]  # units per cohort that can run today
    installed = [c[0] for c in cohorts]  # units still owned (permanent failures leave)
    repairs = [[0] * repair_days for _ in cohorts]  # ring buffer: units back on day d + repair_days
    units_failed = repair_cost = 0.0
    rows = []
    month_of_day, calendar_month = inputs["month_of_day"], inputs["calendar_month"]
    monthly = [[0.0] * 6 for _ in range(month_of_day[-1] + 1)] if days else []
    for day in range(days):
        # market: GBM close, log-AR(1) fees
        log_s += price_drift + price_step * rng.standard_normal()
        price = s0 * math.exp(log_s)
        e = rng.standard_normal()
        x = fvol * e if x is None else phi * x + f_innov * e
        fee = fbar * math.exp(x - 0.5 * fvol * fvol)
        # network hashrate: trend's mean over the day × GBM factor at the day's end
        log_noise += h_drift + h_step * rng.standard_normal()
        hashrate = h0 * math.exp(rate * day) * math.expm1(rate) / rate * math.exp(log_noise)
        # blocks, retarget (Core: last − first block time, clamped) and halving, split pro rata
        n = int(rng.poisson(SECONDS_PER_DAY * hashrate / (diff * HASHES_PER_DIFF1)))
        h_start, h_end = height, height + n
        d_start, s_start = diff, subsidy_btc(h_start + 1)
        cuts = []  # (fraction of the day, new difficulty or None, new subsidy or None)
        if epoch_start is None and n > 0:  # first block of an epoch whose last came yesterday
            epoch_start = (day + 1.0 / n) * SECONDS_PER_DAY
        while n > 0 and h_start < next_retarget - 1 <= h_end:
            frac = (next_retarget - 1 - h_start) / n  # block next_retarget - 1 closes the epoch
            timespan = (day + frac) * SECONDS_PER_DAY - epoch_start
            timespan = min(max(timespan, T_TARGET / 4), T_TARGET * 4)
            diff = max(1.0, diff * T_TARGET / timespan)
            cuts.append((frac, diff, None))
            epoch_start = (day + (next_retarget - h_start) / n) * SECONDS_PER_DAY if next_retarget <= h_end else None
            next_retarget += RETARGET
        halving = (h_start // HALVING + 1) * HALVING
        if n > 0 and h_start < halving - 1 <= h_end:
            cuts.append(((halving - 1 - h_start) / n, None, subsidy_btc(halving)))
        cuts.sort(key=lambda c: c[0])
        d_seg, s_seg, last, reward = d_start, s_start, 0.0, 0.0
        for frac, new_diff, new_subsidy in cuts:  # time-weighted FPPS reward over the day's segments
            reward += (frac - last) * (s_seg + fee) / d_seg
            last = frac
            d_seg = new_diff if new_diff is not None else d_seg
            s_seg = new_subsidy if new_subsidy is not None else s_seg
        reward += (1.0 - last) * (s_seg + fee) / d_seg
        reward *= SECONDS_PER_DAY / HASHES_PER_DIFF1  # BTC per (H/s · day), before pool fee
        height = h_end
        hashprice = reward * 1e15 * price  # USD per PH/s per day
        value = hashprice / 1000.0 * keep * 1e6  # pool payout of 1 TH/s for a day, × 1e6 [USD·W/MW]
        # machine failures per cohort: repaired units return at 00:00, then Binomial(working, q) fail
        day_failed = 0.0
        if fails:
            slot = day % repair_days
            for c, cohort in enumerate(cohorts):
                queue = repairs[c]
                w = working[c] + queue[slot]
                failed = int(rng.binomial(w, cohort[4])) if w > 0 else 0
                lost = int(rng.binomial(failed, permanent)) if failed > 0 else 0
                queue[slot] = failed - lost  # back in repair_days days
                working[c] = w - failed
                installed[c] -= lost
                day_failed += failed
        # sites: economic curtailment per cohort (hour by hour at index sites), energy, power cost
        running_ths = day_energy = day_cost = day_curtailed = 0.0
        for k, site in enumerate(sites):
            facility = site["facility"]
            if not site["index"]:
                power_price = site["price"]
                for c in site["cohorts"]:
                    _, ths_unit, mw_unit, eff, _ = cohorts[c]
                    mwh = mw_unit * working[c] * facility * 24.0
                    if power_price <= 0 or value / (24.0 * eff * facility) >= power_price:
                        running_ths += ths_unit * working[c]
                        day_energy += mwh
                        day_cost += mwh * power_price
                    else:
                        day_curtailed += mwh
                continue
            # index site: AR(1) log base from its stationary law, × shape, + spikes, negatives, cap/floor
            z = rng.standard_normal()
            y = math.sqrt(site["v"]) * z if index_y[k] is None else site["phi"] * index_y[k] + site["vol"] * z
            index_y[k] = y
            base = site["mean"] * math.exp(y - 0.5 * site["v"])
            month, shape = calendar_month[day], site["shape"]
            spike_p, negative_p = site["spike_p"], site["negative_p"]
            for hour in range(24):
                p_h = base * shape[hour][month]
                if spike_p > 0 and rng.random() < spike_p:
                    p_h += site["spike"]
                if negative_p > 0 and rng.random() < negative_p:
                    p_h = site["negative"]
                p_h = min(site["cap"], max(site["floor"], p_h))
                for c in site["cohorts"]:
                    _, ths_unit, mw_unit, eff, _ = cohorts[c]
                    mwh = mw_unit * working[c] * facility  # one hour
                    if p_h <= 0 or value / (24.0 * eff * facility) >= p_h:
                        running_ths += ths_unit * working[c] / 24.0
                        day_energy += mwh
                        day_cost += mwh * p_h
                    else:
                        day_curtailed += mwh
        day_btc = running_ths * 1e12 * reward * keep
        day_revenue = day_btc * price
        # bookkeeping the engine also does: a daily row, monthly flows, per-path totals
        rows.append((price, diff, hashrate / 1e18, height, hashprice, day_energy / 24.0, day_btc, day_curtailed,
                     day_failed))
        m = monthly[month_of_day[day]]
        m[0] += day_btc
        m[1] += day_revenue
        m[2] += day_cost
        m[3] += opex_per_day
        m[4] += day_energy
        m[5] += day_curtailed
        btc_total += day_btc
        revenue += day_revenue
        cost += day_cost
        curtailed += day_curtailed
        opex += opex_per_day
        units_failed += day_failed
        repair_cost += day_failed * repair_cost_per_unit
        yield env.timeout(1)
    out.update(btc_mined=btc_total, mining_revenue_usd=revenue, power_cost_usd=cost, curtailed_mwh=curtailed,
               site_opex_usd=opex, units_failed=units_failed, repair_cost_usd=repair_cost, height=height,
               difficulty=diff, daily_rows=len(rows), months=len(monthly))


def run_naive(paths: int, days: int, repeats: int = 3, failures: bool = True) -> dict:
    """Run the naive model ``repeats`` times (same seeds) and keep the fastest wall time."""
    inputs = naive_inputs(days, failures)
    walls = []
    for _ in range(max(1, repeats)):
        env = simpy.Environment()
        outs = [{} for _ in range(paths)]
        for i in range(paths):
            env.process(naive_path(env, days, SEED * 1000 + i, inputs, outs[i]))
        t0 = time.perf_counter()
        env.run()  # every process ends after its last day
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    btc = [o["btc_mined"] for o in outs]
    return {"paths": paths, "days": days, "repeats": len(walls), "wall_s": wall, "wall_s_all": walls,
            "path_days_per_s": paths * days / wall, "s_per_path_day": wall / (paths * days),
            "btc_mined_mean": float(np.mean(btc)), "btc_mined_per_path": btc,
            "curtailed_mwh_mean": float(np.mean([o["curtailed_mwh"] for o in outs])),
            "units_failed_mean": float(np.mean([o["units_failed"] for o in outs])), "failures": failures}


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=1000, help="Monte Carlo paths of the hashfleet run (default 1000)")
    ap.add_argument("--days", type=int, default=3650, help="horizon in days (default 3650)")
    ap.add_argument("--naive-paths", type=int, default=3, help="paths of the naive per-path model (default 3)")
    ap.add_argument("--naive-repeats", type=int, default=3,
                    help="runs of the naive model; the fastest is reported (default 3)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure to this JSON file")
    ap.add_argument("--write-scenario", metavar="FILE",
                    help="write the benchmark scenario YAML to FILE (for `hashfleet run`) and exit")
    ap.add_argument("--profile", action="store_true",
                    help="run the hashfleet simulation under cProfile and print the top 10 functions by "
                         "cumulative time on stderr (its timings are then inflated by the profiler)")
    ap.add_argument("--no-failures", dest="failures", action="store_false",
                    help="switch the machine-failure model off in both models (failures: {enabled: false})")
    ap.add_argument("--only", choices=["hashfleet"], help=argparse.SUPPRESS)  # the subprocess mode
    args = ap.parse_args(argv)

    if args.only == "hashfleet":
        bench_figures.emit(run_hashfleet(args.paths, args.days, args.profile, args.failures))
        return 0

    if args.write_scenario:
        with open(args.write_scenario, "w", encoding="utf-8") as fh:
            yaml.safe_dump(scenario_dict(args.paths, args.days, args.failures), fh, sort_keys=False, default_flow_style=None,
                           width=200)
        print(f"scenario written: {args.write_scenario}")
        return 0

    t_start = time.perf_counter()
    hf = hashfleet_in_subprocess(args.paths, args.days, args.profile, args.failures)
    naive = run_naive(args.naive_paths, args.days, args.naive_repeats, args.failures)
    ratio = hf["path_days_per_s"] / naive["path_days_per_s"]
    btc_ratio = naive["btc_mined_mean"] / hf["btc_mined_mean"] if hf["btc_mined_mean"] else float("nan")
    total_s = time.perf_counter() - t_start

    lines = [
        f"scenario: {args.paths} paths x {args.days} days, 20 cohorts on 4 sites (2 fixed, 2 index priced hourly), "
        f"economic curtailment, gbm price, lognormal fees, growth hashrate 0.3 vol 0.2, "
        f"poisson blocks, fpps fee 0.02, machine failures "
        f"{'on (engine default: binomial per cohort per day, 14-day repairs)' if args.failures else 'off'}",
        f"hashfleet scenario load + validation: {hf['load_s']:.2f} s",
        f"hashfleet simulate wall time: {hf['wall_s']:.2f} s" + (" (under cProfile)" if hf["profiled"] else ""),
        f"hashfleet throughput: {hf['path_days_per_s']:,.0f} path-days/s",
        f"hashfleet peak RSS: {hf['peak_rss_mb']:.0f} MB (before simulate: {hf['rss_before_simulate_mb']:.0f} MB)",
        f"naive SimPy per-path model: {naive['paths']} paths x {naive['days']} days in {naive['wall_s']:.3f} s "
        f"(fastest of {naive['repeats']} runs)",
        f"naive time per path-day: {naive['s_per_path_day'] * 1e6:.1f} us",
        f"naive throughput: {naive['path_days_per_s']:,.0f} path-days/s",
        f"speed-up (hashfleet path-days/s / naive path-days/s): {ratio:.1f}x",
        f"mean BTC mined per path: hashfleet {hf['btc_mined_mean']:,.1f} ± {hf['btc_mined_se']:,.1f} s.e. (p5 {hf['btc_mined_p5']:,.1f}, "
        f"p95 {hf['btc_mined_p95']:,.1f}; {args.paths} paths), naive {naive['btc_mined_mean']:,.1f} "
        f"({naive['paths']} paths: {', '.join(f'{b:,.1f}' for b in naive['btc_mined_per_path'][:5])}"
        f"{', ...' if naive['paths'] > 5 else ''}); "
        f"naive/hashfleet {btc_ratio:.2f}",
        *([f"mean units failed per path: hashfleet {hf['units_failed_mean']:,.0f}, naive "
           f"{naive['units_failed_mean']:,.0f}"] if args.failures and hf.get("units_failed_mean") is not None else []),
        f"benchmark total wall time: {total_s:.1f} s",
    ]
    for line in lines:
        print(line)
    if args.json:
        figures = {"args": {"paths": args.paths, "days": args.days, "naive_paths": args.naive_paths,
                            "naive_repeats": args.naive_repeats, "failures": args.failures},
                   "hashfleet": hf, "naive": naive, "speedup": ratio, "naive_over_hashfleet_btc": btc_ratio,
                   "total_wall_s": total_s, "python": sys.version.split()[0], "numpy": np.__version__,
                   "simpy": simpy.__version__ if hasattr(simpy, "__version__") else None,
                   "cpu_count": os.cpu_count()}
        bench_figures.write(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
