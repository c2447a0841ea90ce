"""Median equity return per company in the bottom, middle and top third of the paths by where BTC ends.

    .venv/bin/python tools/compare_thirds.py scenarios/companies/*.yaml --paths 50
    .venv/bin/python tools/compare_thirds.py out/run_riot out/run_iren     # run directories instead

What it computes (README, "Compare: ten companies"): each company is simulated like
``hashfleet compare FILE... --paths N`` simulates it (the market, network, horizon, paths and seed
of the first file, so every company sees the same BTC and network paths: common random numbers),
with the daily rows of every path kept, as ``hashfleet run FILE --paths N --keep-paths N --out DIR``
writes them to ``DIR/daily.parquet``. Per path, BTC's end price is ``btc_price_usd`` on the last
day and the equity return is ``(share_price_usd on the last day / on the first day − 1) × 100`` [%]
(the ``equity_return_pct`` metric). The paths are sorted by BTC's end price and split into three
groups of (nearly) equal size, ``numpy.array_split``: bottom, middle, top; per company and third
the table gives the number of paths, the third's BTC end range and median [USD] and the median,
min and max equity return [%]. A run directory (``--keep-paths`` at least ``--paths``) is read
from its daily.parquet instead of simulated; its paths are those the run drew.

``--csv FILE`` also writes the long table; ``--out DIR`` writes each simulated run to ``DIR/<file stem>``
(then ``tools/compare_thirds.py DIR/*`` reads them back without simulating). The third's BTC figures are the same for every company
simulated here (common paths); those of run directories are each directory's own.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
THIRDS = ("bottom", "middle", "top")
COLUMNS = ("company", "file", "third", "paths", "btc_end_min_usd", "btc_end_max_usd", "btc_end_median_usd",
           "equity_return_pct_p50", "equity_return_pct_min", "equity_return_pct_max")


def path_ends(daily: pd.DataFrame) -> pd.DataFrame:
    """Per path (index): ``btc_end_usd`` (last day's BTC price) and ``equity_return_pct`` (last day's share
    price ÷ first day's − 1, × 100) from a run's daily rows (columns ``path``, ``date``, ``btc_price_usd``,
    ``share_price_usd``)."""
    rows = daily.sort_values(["path", "date"]).groupby("path")
    first, last = rows.first(), rows.last()
    return pd.DataFrame({"btc_end_usd": last["btc_price_usd"],
                         "equity_return_pct": (last["share_price_usd"] / first["share_price_usd"] - 1.0) * 100.0})


def thirds(company: str, file: str, ends: pd.DataFrame) -> list[dict]:
    """The three rows (bottom, middle, top third by BTC end price) of one company's :func:`path_ends`."""
    order = np.argsort(ends["btc_end_usd"].to_numpy(), kind="stable")
    rows = []
    for name, ids in zip(THIRDS, np.array_split(order, 3)):
        btc, ret = ends["btc_end_usd"].to_numpy()[ids], ends["equity_return_pct"].to_numpy()[ids]
        rows.append({"company": company, "file": file, "third": name, "paths": len(ids),
                     "btc_end_min_usd": btc.min(), "btc_end_max_usd": btc.max(), "btc_end_median_usd": np.median(btc),
                     "equity_return_pct_p50": np.median(ret), "equity_return_pct_min": ret.min(),
                     "equity_return_pct_max": ret.max()})
    return rows


def simulate_files(files, paths: int | None = None, seed: int | None = None, overrides=(),
                   out_dir: str | None = None) -> list[tuple[str, str, pd.DataFrame]]:
    """``(company, file name, daily rows of every path)`` per scenario file, on the first file's market as
    ``hashfleet compare`` runs them (:data:`simulator.workflows.compare.SHARED_KEYS`); with ``out_dir``, each
    run is also written to ``out_dir/<file stem>`` as ``hashfleet run --out`` writes it."""
    from simulator.config.loader import load_with_overrides, validate_document
    from simulator.engine import simulate
    from simulator.workflows.compare import SHARED_KEYS

    source, _ = load_with_overrides(files[0], overrides)
    out = []
    for file in files:
        doc, _ = load_with_overrides(file, overrides)
        for key in SHARED_KEYS:
            if key in source.data:
                doc.data[key] = source.data[key]
        scenario = validate_document(doc, str(file))
        n = scenario.paths if paths is None else int(paths)
        res = simulate(scenario, paths=n, seed=seed, keep_paths=n, daily_quantiles=False)
        if out_dir is not None:
            res.write(str(Path(out_dir) / Path(file).stem), overwrite=True)
        out.append((res.meta["scenario"], Path(file).name, res.daily))
    return out


def read_dirs(dirs) -> list[tuple[str, str, pd.DataFrame]]:
    """``(company, directory name, daily rows)`` of ``hashfleet run`` output directories."""
    import json

    out = []
    for d in map(Path, dirs):
        meta = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
        out.append((meta.get("scenario", d.name), d.name, pd.read_parquet(d / "daily.parquet")))
    return out


def table(runs) -> pd.DataFrame:
    """The long table (:data:`COLUMNS`), one row per (company, third), companies in the order given."""
    rows = [row for company, file, daily in runs for row in thirds(company, file, path_ends(daily))]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def wide(long: pd.DataFrame) -> pd.DataFrame:
    """Median equity return [%] per company (rows) and third (columns)."""
    out = long.pivot(index="company", columns="third", values="equity_return_pct_p50")[list(THIRDS)]
    return out.loc[long["company"].drop_duplicates()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+", help="scenario files (simulated) or run directories (read)")
    ap.add_argument("--paths", type=int, default=None, help="paths per company (default: the first file's)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--csv", default=None, help="also write the long table here")
    ap.add_argument("--out", default=None, help="also write each simulated run to OUT/<file stem> (daily.parquet, ...)")
    args = ap.parse_args(argv)
    dirs = [Path(i).is_dir() for i in args.inputs]
    if any(dirs) and not all(dirs):
        ap.error("give scenario files or run directories, not both")
    runs = read_dirs(args.inputs) if all(dirs) else simulate_files(args.inputs, args.paths, args.seed, args.overrides, args.out)
    long = table(runs)
    if args.csv:
        long.to_csv(args.csv, index=False)
    pd.set_option("display.width", 250)
    btc = long.drop_duplicates("third" if not all(dirs) else ["file", "third"])
    print("BTC end price by third [USD]:")
    print(btc[["file", "third", "paths", "btc_end_min_usd", "btc_end_median_usd", "btc_end_max_usd"]]
          .to_string(index=False, float_format=lambda x: f"{x:,.0f}"))
    print("\nMedian equity return by third [%]:")
    print(wide(long).to_string(float_format=lambda x: f"{x:+.1f}"))
    print("\nMin / max equity return by third [%]:")
    print(long[["company", "third", "equity_return_pct_min", "equity_return_pct_max"]]
          .to_string(index=False, float_format=lambda x: f"{x:+.1f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
