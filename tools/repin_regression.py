"""Print tests/test_perf_regression.py's pinned block from a fresh run (for a deliberate re-pin).

    .venv/bin/python tools/repin_regression.py > pins.txt

The output replaces the block from ``PINNED = {`` to the end of ``MONTHLY``; the test's
docstring must then say which change moved which numbers and why.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_perf_regression as pins  # noqa: E402

import simulator  # noqa: E402


def main() -> None:
    res = simulator.run(pins.SCENARIO, keep_paths=6)
    print("PINNED = {")
    for name in pins.PINNED:
        print(f"    {name!r}: {[float(x) for x in res.path_metrics[name]]!r},")
    print("}")
    heights = res.daily.groupby("path")["height"].last()
    print(f"END_HEIGHTS = {[float(x) for x in heights]!r}")
    last = res.daily_quantiles.iloc[-1]
    print("LAST_DAY_QUANTILES = {" + ", ".join(f"{k!r}: {float(last[k])!r}" for k in pins.LAST_DAY_QUANTILES) + "}")
    print("#: monthly line: (value of row 20 — path 0, its 21st month —, sum over all rows)")
    print("MONTHLY = {" + ", ".join(f"{k!r}: ({float(res.monthly[k].iloc[20])!r}, {float(res.monthly[k].sum())!r})"
                                    for k in pins.MONTHLY) + "}")


if __name__ == "__main__":
    main()
