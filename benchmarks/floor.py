"""The floor: bench-10y's operations arithmetic in plain numpy, the obvious way.

Run from the repository root::

    .venv/bin/python benchmarks/floor.py [--paths 1000] [--days 3650] [--cohorts 20] [--json FILE]

Issue 10 measures hashfleet against what a competent numpy programmer writes first for the
same operations, without SimPy, finance or outputs and without algorithmic shortcuts: one
loop over days, every quantity an array over paths (one ``numpy.random.Generator`` for all
of them), and the hourly curtailment decision as a test of every cohort against every
hourly price of its site — a ``(cohorts, 24, paths)`` boolean a day.

Each day, on every path:

1. **Market.** A GBM step of the BTC price (drift 0.1, vol 0.5), a log-AR(1) step of fees per
   block (mean 0.025 BTC, vol 0.5, phi 0.9) and the network hashrate: the +30 %/yr trend's mean
   over the day × a GBM factor (vol 0.2).
2. **Blocks.** A Poisson block count with mean ``86400 H / (D 2^32)``; Bitcoin Core's retarget
   when the heights cross an epoch's end (timespan from the epoch's first to its last block,
   block times interpolated within the day, clamped to [T/4, 4T]); the halving; the FPPS
   reward of 1 H/s over the day, time-weighted over the segments the retarget and the halving
   cut; the hashprice.
3. **Hourly prices.** At each index site the daily log base (AR(1), the schema's defaults),
   × the diurnal and seasonal shape, + spikes, capped and floored: ``(24, paths)``. A fixed
   site's price is the same in its 24 hours.
4. **Curtailment and FPPS per cohort.** Each cohort's site breakeven from the hashprice
   (pool fee, cooling overhead) against each hourly price of its site: the hours it runs,
   its BTC (FPPS), energy, power cost and curtailed energy, summed per path.

Machine failures, HPC and the company are not in the floor (hashfleet does them too), so the
ratio hashfleet / floor is conservative. The floor's numbers are in the same ballpark as
hashfleet's (printed for a sanity check), not equal: its random streams differ.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import figures  # noqa: E402
import scenario as bench  # noqa: E402  (benchmarks/scenario.py)


def inputs(cohorts: int) -> dict:
    """bench-10y's sites and cohorts as arrays (setup, not timed)."""
    from simulator.config.schema import IndexPower
    from simulator.market.power import IndexPowerModel
    from simulator.hardware import load_library
    from simulator.market.power import default_shape

    library = load_library()
    data = bench.scenario_dict(1, 1, cohorts, hpc=False, company=False)
    names = [s["name"] for s in data["sites"]]
    fleet = data["fleet"]
    sites = []
    for s in data["sites"]:
        entry = {"overhead": s["cooling_overhead"], "index": s["power"]["contract"] == "index"}
        if entry["index"]:
            cfg = IndexPower(**s["power"])
            phi = 1.0 - cfg.reversion_daily
            base = IndexPowerModel(  # the base mean: the scenario's mean is all-in (issue 17)
                cfg.mean_usd_per_mwh, "2026-01-01", spike_probability=cfg.spike_probability,
                spike_usd_per_mwh=cfg.spike_usd_per_mwh, negative_probability=cfg.negative_probability,
                negative_usd_per_mwh=cfg.negative_usd_per_mwh).base_mean_usd_per_mwh
            entry.update(mean=base, phi=phi, vol=cfg.vol_daily,
                         v=cfg.vol_daily ** 2 / (1.0 - phi ** 2), spike_p=cfg.spike_probability,
                         spike=cfg.spike_usd_per_mwh, cap=cfg.cap_usd_per_mwh, floor=cfg.floor_usd_per_mwh)
        else:
            entry["price"] = s["power"]["price_usd_per_mwh"]
        sites.append(entry)
    return {
        "sites": sites,
        "site_of": np.array([names.index(item["site"]) for item in fleet]),
        "units": np.array([float(item["units"]) for item in fleet]),
        "ths": np.array([library[item["model"]].hashrate_ths for item in fleet]),
        "mw": np.array([library[item["model"]].power_w / 1e6 for item in fleet]),
        "shape": default_shape(),  # (24, 12)
    }


def run_floor(paths: int, days: int, cohorts: int = bench.COHORTS, seed: int = bench.SEED) -> dict:
    """Simulate ``paths`` × ``days``; returns per-path totals and the wall time of the loop."""
    import datetime as dt

    x = inputs(cohorts)
    sites, site_of = x["sites"], x["site_of"]
    ths = (x["ths"] * x["units"])[:, None]  # (cohorts, 1) TH/s
    mw = (x["mw"] * x["units"])[:, None]  # (cohorts, 1) IT MW
    eff = (x["mw"] * 1e6 / x["ths"])[:, None]  # J/TH
    overhead = np.array([s["overhead"] for s in sites])[site_of][:, None]
    months = np.array([(bench.START + dt.timedelta(days=d)).month - 1 for d in range(days)])
    rng = np.random.default_rng(seed)

    t0 = time.perf_counter()
    dt_y = 1.0 / 365.0
    p = bench.PRICE
    price = np.full(paths, p["initial_usd"])
    price_drift, price_vol = (p["drift_annual"] - 0.5 * p["vol_annual"] ** 2) * dt_y, p["vol_annual"] * math.sqrt(dt_y)
    f = bench.FEES
    fee_x = f["vol"] * rng.standard_normal(paths)
    fee_innovation = math.sqrt(1 - f["phi"] ** 2) * f["vol"]
    h = bench.HASHRATE
    h0 = bench.INITIAL_DIFFICULTY * 2.0 ** 32 / 600.0  # H/s implied by the difficulty
    rate = math.log1p(h["growth_annual"]) / 365.0
    h_noise = np.zeros(paths)
    height = np.full(paths, float(bench.INITIAL_HEIGHT))
    difficulty = np.full(paths, bench.INITIAL_DIFFICULTY)
    epoch_start = np.full(paths, -float(bench.INITIAL_HEIGHT % 2016) * 600.0)
    next_retarget = np.full(paths, float((bench.INITIAL_HEIGHT // 2016 + 1) * 2016))
    base_y = [None] * len(sites)
    totals = {k: np.zeros(paths) for k in ("btc", "revenue_usd", "power_cost_usd", "energy_mwh", "curtailed_mwh")}
    T = 2016 * 600.0

    for day in range(days):
        # 1. market
        price = price * np.exp(price_drift + price_vol * rng.standard_normal(paths))
        fee_x = f["phi"] * fee_x + fee_innovation * rng.standard_normal(paths)
        fees = f["btc_per_block"] * np.exp(fee_x - 0.5 * f["vol"] ** 2)
        h_noise = h_noise - 0.5 * h["vol_annual"] ** 2 * dt_y + h["vol_annual"] * math.sqrt(dt_y) * rng.standard_normal(paths)
        hashrate = h0 * math.exp(rate * day) * math.expm1(rate) / rate * np.exp(h_noise)
        # 2. blocks, retarget, halving, FPPS reward
        n = rng.poisson(86400.0 * hashrate / (difficulty * 2.0 ** 32)).astype(float)
        h_start, h_end = height, height + n
        safe_n = np.where(n > 0, n, 1.0)
        crossing = (n > 0) & (h_start < next_retarget - 1) & (next_retarget - 1 <= h_end)
        f_retarget = np.where(crossing, (next_retarget - 1 - h_start) / safe_n, 1.0)
        last_block_s = (day + f_retarget) * 86400.0
        timespan = np.clip(last_block_s - epoch_start, T / 4, 4 * T)
        new_difficulty = np.where(crossing, np.maximum(1.0, difficulty * T / timespan), difficulty)
        epoch_start = np.where(crossing, (day + (next_retarget - h_start) / safe_n) * 86400.0, epoch_start)
        next_retarget = np.where(crossing, next_retarget + 2016, next_retarget)
        halving = (np.floor(h_start / 210_000) + 1) * 210_000
        s_old = 50.0 / 2.0 ** np.floor((h_start + 1) / 210_000)
        s_new = 50.0 / 2.0 ** np.floor(np.maximum(halving, h_start + 1) / 210_000)
        halves = (n > 0) & (h_start < halving - 1) & (halving - 1 <= h_end)
        f_halving = np.where(halves, (halving - 1 - h_start) / safe_n, 1.0)
        a, b = np.minimum(f_retarget, f_halving), np.maximum(f_retarget, f_halving)
        mid_d = np.where(f_retarget < f_halving, new_difficulty, difficulty)
        mid_s = np.where(f_retarget < f_halving, s_old, s_new)
        reward = 86400.0 / 2.0 ** 32 * (a * (s_old + fees) / difficulty + (b - a) * (mid_s + fees) / mid_d
                                        + (1 - b) * (s_new + fees) / new_difficulty)
        difficulty, height = new_difficulty, h_end
        hashprice = reward * 1e15 * price  # USD per PH/s per day
        # 3. hourly prices at every site (24, paths)
        hourly = np.empty((len(sites), 24, paths))
        for k, s in enumerate(sites):
            if not s["index"]:
                hourly[k] = s["price"]
                continue
            z = rng.standard_normal(paths)
            base_y[k] = math.sqrt(s["v"]) * z if base_y[k] is None else s["phi"] * base_y[k] + s["vol"] * z
            base = s["mean"] * np.exp(base_y[k] - 0.5 * s["v"])
            spikes = rng.random((24, paths)) < s["spike_p"]
            hourly[k] = np.clip(base[None, :] * x["shape"][:, months[day], None] + spikes * s["spike"],
                                s["floor"], s["cap"])
        # 4. curtailment per cohort and hour, FPPS per cohort
        cohort_price = hourly[site_of]  # (cohorts, 24, paths)
        breakeven = hashprice[None, :] / 1000.0 * (1 - bench.POOL_FEE) * 1e6 / (24.0 * eff * (1 + overhead))
        on = (cohort_price <= 0) | (breakeven[:, None, :] >= cohort_price)  # (cohorts, 24, paths)
        hours_on = on.sum(axis=1)  # (cohorts, paths)
        facility_mw = mw * (1 + overhead)
        btc = (ths * hours_on / 24.0 * 1e12 * reward * (1 - bench.POOL_FEE)).sum(axis=0)
        totals["btc"] += btc
        totals["revenue_usd"] += btc * price
        totals["power_cost_usd"] += (facility_mw * (on * cohort_price).sum(axis=1)).sum(axis=0)
        totals["energy_mwh"] += (facility_mw * hours_on).sum(axis=0)
        totals["curtailed_mwh"] += (facility_mw * (24 - hours_on)).sum(axis=0)
    wall = time.perf_counter() - t0
    return {"paths": paths, "days": days, "cohorts": cohorts, "wall_s": wall,
            "path_days_per_s": paths * days / wall,
            "btc_mined_mean": float(totals["btc"].mean()),
            "curtailed_mwh_mean": float(totals["curtailed_mwh"].mean())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=bench.PATHS)
    ap.add_argument("--days", type=int, default=bench.DAYS)
    ap.add_argument("--cohorts", type=int, default=bench.COHORTS)
    ap.add_argument("--json", metavar="FILE", help="write the figures to FILE")
    args = ap.parse_args(argv)
    out = run_floor(args.paths, args.days, args.cohorts)
    print(f"hashfleet/floor: plain numpy floor, {out['paths']} paths x {out['days']} days x {out['cohorts']} cohorts: "
          f"{out['wall_s']:.2f} s ({out['path_days_per_s']:,.0f} path-days/s; mean BTC mined per path "
          f"{out['btc_mined_mean']:,.1f})")
    figures.emit(out)
    if args.json:
        figures.write(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
