r"""Dated ASIC market prices, the index fit and its out-of-sample error table.

``simulator/data/asic_prices.csv`` holds 36 dated prices [USD/TH] of machines or
Hashrate Index efficiency tiers, 2021-05 … 2025-12 (sources per row and in
``asic_prices_SOURCES.md``). For each date this module derives, from shipped data only:

* ``hashprice_usd_per_ph_day``: the 30-day trailing mean of the daily network hashprice
  ``(subsidy + fees) × price / (hashrate / 1000)`` from the shipped Coin Metrics history
  (the same formula as ``workflows.calibrate.history_hashprice_usd_per_ph_day``); the CSV
  carries the same number for reading, and a test checks they agree;
* ``expected_hashprice_usd_per_ph_day``: that hashprice adjusted for a halving within a
  year (:func:`simulator.market.asic_price.halving_adjusted_hashprice`, subsidy share =
  30-day mean of ``subsidy / (subsidy + fees)``);
* ``frontier_jth``: the best air-cooled efficiency in the hardware library released at least
  :data:`FRONTIER_LAG_DAYS` before the date.

:func:`fit` estimates the index's three free constants by robust least squares on log prices
(Cauchy loss, scale 0.2 ≈ the 20–25 % spread between sources quoting the same class);
:func:`error_table` fits on the points up to 2023 and predicts 2024–2025, and the reverse.
Run ``python -m simulator.market.asic_market`` to print it.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib.resources import as_file, files

import numpy as np
import pandas as pd

from simulator import units
from simulator.market.asic_price import (
    FRONTIER_JTH,
    AsicPriceParams,
    asic_price_usd_per_th,
    halving_adjusted_hashprice,
)
from simulator.market.history import load_history

#: Dates of the block-subsidy halvings (blocks 420,000; 630,000; 840,000). The next (block
#: 1,050,000, expected 2028) is more than a year after every dated price, so it never applies.
HALVING_DATES = (dt.date(2016, 7, 9), dt.date(2020, 5, 11), dt.date(2024, 4, 20))
#: Window of the trailing hashprice mean [days].
HASHPRICE_WINDOW_DAYS = 30
#: A model sets the frontier once it has shipped this long [days].
FRONTIER_LAG_DAYS = 180
#: Hashrate Index's efficiency tiers since 2024 (upper bounds, J/TH).
TIER_BOUNDS_JTH = (19.0, 25.0, 38.0, 68.0)
#: Last date of the fitting sample in the forward split.
SPLIT_DATE = dt.date(2023, 12, 31)
#: Robust loss and its scale in log price.
LOSS, LOSS_SCALE = "cauchy", 0.2


def tier_of(efficiency_jth: float) -> str:
    """Hashrate Index tier label of an efficiency [J/TH]: '<19', '19-25', '25-38', '38-68', '>68'."""
    edges = TIER_BOUNDS_JTH
    for i, upper in enumerate(edges):
        if efficiency_jth < upper:
            return f"<{upper:g}" if i == 0 else f"{edges[i - 1]:g}-{upper:g}"
    return f">{edges[-1]:g}"


def daily_hashprice(history: pd.DataFrame) -> pd.DataFrame:
    """Daily hashprice [USD/(PH/s·day)] and subsidy share, and their trailing means."""
    revenue_btc = history["subsidy_btc"] + history["fees_btc"]
    hashprice = revenue_btc * history["price_usd"] / (history["hashrate_ths"] / units.THS_PER_PHS)
    window = HASHPRICE_WINDOW_DAYS
    return pd.DataFrame({"hashprice_usd_per_ph_day": hashprice.rolling(window).mean(),
                         "subsidy_share": (history["subsidy_btc"] / revenue_btc).rolling(window).mean()})


def days_to_next_halving(date: dt.date) -> float:
    """Days from ``date`` to the next listed halving [days] (inf if none is listed)."""
    ahead = [(h - date).days for h in HALVING_DATES if h > date]
    return float(ahead[0]) if ahead else float("inf")


def frontier_jth(date: dt.date, library=None) -> float:
    """Best efficiency [J/TH] of an air-cooled profile released ``FRONTIER_LAG_DAYS`` before ``date``."""
    if library is None:
        from simulator.hardware import load_library
        library = load_library()
    cutoff = date - dt.timedelta(days=FRONTIER_LAG_DAYS)
    shipped = [p.efficiency_jth for p in library.values()
               if p.cooling == "air" and p.release_date is not None and p.release_date <= cutoff]
    return float(min(shipped))


@functools.lru_cache(maxsize=1)
def _raw_points() -> pd.DataFrame:
    with as_file(files("simulator") / "data" / "asic_prices.csv") as path:
        return pd.read_csv(path, dtype={"date": str})


def load_points() -> pd.DataFrame:
    """The dated prices with the derived hashprice, expected hashprice and frontier columns."""
    from simulator.hardware import load_library

    raw = _raw_points().copy()
    dates = [dt.date.fromisoformat(s) for s in raw["date"]]
    daily = daily_hashprice(load_history()).reindex(pd.DatetimeIndex(dates))
    library = load_library()
    raw["date"] = dates
    raw["derived_hashprice_usd_per_ph_day"] = daily["hashprice_usd_per_ph_day"].to_numpy()
    raw["subsidy_share"] = daily["subsidy_share"].to_numpy()
    raw["days_to_halving"] = [days_to_next_halving(d) for d in dates]
    raw["expected_hashprice_usd_per_ph_day"] = halving_adjusted_hashprice(
        raw["derived_hashprice_usd_per_ph_day"], raw["days_to_halving"], raw["subsidy_share"])
    raw["frontier_jth"] = [frontier_jth(d, library) for d in dates]
    raw["tier"] = [tier_of(e) for e in raw["efficiency_jth"]]
    return raw


def predict(points: pd.DataFrame, params: AsicPriceParams) -> np.ndarray:
    """Index price [USD/TH] of every point under ``params``."""
    return asic_price_usd_per_th(points["expected_hashprice_usd_per_ph_day"].to_numpy(),
                                 points["efficiency_jth"].to_numpy(), frontier_jth=points["frontier_jth"].to_numpy(),
                                 new=(points["condition"] == "new").to_numpy(), params=params)


def fit(points: pd.DataFrame) -> AsicPriceParams:
    """Fit the frontier multiple, the floor and the new-machine premium to ``points``.

    Minimises the robust loss of ``log(predicted) − log(observed)``; the power penalty ``k``
    stays at its economic value (see ``asic_price``).
    """
    from scipy.optimize import least_squares

    observed = np.log(points["price_usd_per_th"].to_numpy())

    def params_of(theta):
        return AsicPriceParams(frontier_multiple_days=float(np.exp(theta[0])),
                               floor_multiple_days=float(np.exp(theta[1])), new_machine_premium=float(theta[2]))

    result = least_squares(lambda th: np.log(predict(points, params_of(th))) - observed,
                           x0=[np.log(300.0), np.log(80.0), 0.0], loss=LOSS, f_scale=LOSS_SCALE)
    return params_of(result.x)


@dataclass(frozen=True)
class SplitResult:
    """One fit-and-predict split: the fitted constants and the per-point errors."""

    name: str
    params: AsicPriceParams
    fitted: np.ndarray
    predicted_usd_per_th: np.ndarray
    error: np.ndarray

    def held_out_errors(self) -> np.ndarray:
        """Relative errors (predicted / observed − 1) of the points not fitted."""
        return self.error[~self.fitted]


def run_split(points: pd.DataFrame, fitted: np.ndarray, name: str) -> SplitResult:
    """Fit on the ``fitted`` rows and predict every row."""
    params = fit(points[fitted])
    predicted = predict(points, params)
    return SplitResult(name, params, fitted, predicted, predicted / points["price_usd_per_th"].to_numpy() - 1.0)


def forward_and_reverse(points: pd.DataFrame) -> tuple[SplitResult, SplitResult]:
    """Fit ≤ 2023 → predict 2024–2025, and fit 2024–2025 → predict ≤ 2023."""
    early = np.array([d <= SPLIT_DATE for d in points["date"]])
    return run_split(points, early, "fit 2021-2023, predict 2024-2025"), \
        run_split(points, ~early, "fit 2024-2025, predict 2021-2023")


def error_table(points: pd.DataFrame | None = None) -> str:
    """The per-point table and the held-out summaries, as plain text."""
    points = load_points() if points is None else points
    forward, reverse = forward_and_reverse(points)
    lines = [f"{'date':10}  {'machine or tier':44} {'J/TH':>5} {'e_f':>5} {'cond':5} {'h_fwd':>6} "
             f"{'USD/TH':>7} {'fwd':>7} {'err':>6} {'rev':>7} {'err':>6}"]
    for i, row in points.reset_index(drop=True).iterrows():
        marks = ["*" if s.fitted[i] else " " for s in (forward, reverse)]
        lines.append(f"{row['date']!s:10}  {row['machine'][:44]:44} {row['efficiency_jth']:5.1f} "
                     f"{row['frontier_jth']:5.1f} {row['condition'][:5]:5} "
                     f"{row['expected_hashprice_usd_per_ph_day']:6.1f} {row['price_usd_per_th']:7.2f} "
                     f"{forward.predicted_usd_per_th[i]:7.2f} {forward.error[i]:+5.0%}{marks[0]} "
                     f"{reverse.predicted_usd_per_th[i]:7.2f} {reverse.error[i]:+5.0%}{marks[1]}")
    lines.append("(* = fitted in that split; err = predicted / observed - 1; h_fwd = expected hashprice "
                 "USD/PH/day; e_f = frontier J/TH)")
    for s in (forward, reverse):
        held = np.abs(s.held_out_errors())
        p = s.params
        lines.append(f"{s.name}: A = {p.frontier_multiple_days:.1f} d, F = {p.floor_multiple_days:.1f} d, "
                     f"premium = {p.new_machine_premium:+.3f}; held-out n = {held.size}, median |err| = "
                     f"{np.median(held):.1%}, max |err| = {held.max():.1%}, within 20 %: "
                     f"{np.mean(held <= 0.2):.0%}")
    return "\n".join(line.rstrip() for line in lines)


def latest_tier_point(efficiency_jth: float, points: pd.DataFrame | None = None) -> pd.Series | None:
    """The most recent dated price in the tier of ``efficiency_jth`` (None if the tier has none)."""
    points = load_points() if points is None else points
    same = points[points["tier"] == tier_of(efficiency_jth)]
    return None if same.empty else same.sort_values("date", kind="stable").iloc[-1]


def latest_hashprice(history: pd.DataFrame | None = None) -> tuple[dt.date, float, float]:
    """Last date of the history with its trailing-mean and halving-adjusted hashprice [USD/(PH/s·day)]."""
    daily = daily_hashprice(load_history() if history is None else history).dropna()
    date = daily.index[-1].date()
    h = float(daily["hashprice_usd_per_ph_day"].iloc[-1])
    share = float(daily["subsidy_share"].iloc[-1])
    return date, h, float(halving_adjusted_hashprice(h, days_to_next_halving(date), share))


if __name__ == "__main__":  # pragma: no cover
    print(error_table())


def price_rows(efficiency_jth: float, hashprice_usd_per_ph_day: float | None = None) -> list[dict]:
    """Rows for ``hardware show``: the index now (used and new) and the tier's latest dated price.

    "Now" is the last day of the shipped history (its 30-day mean hashprice, adjusted for a
    halving within a year) unless ``hashprice_usd_per_ph_day`` is given. The last row prices
    this model on the tier point's date, for comparison with that market price.
    """
    date, _, expected = latest_hashprice()
    h = expected if hashprice_usd_per_ph_day is None else float(hashprice_usd_per_ph_day)
    rows = [{"basis": f"index, {kind}", "date": str(date) if hashprice_usd_per_ph_day is None else "—",
             "hashprice_usd_per_ph_day": h,
             "price_usd_per_th": float(asic_price_usd_per_th(h, efficiency_jth, new=kind == "new")),
             "note": f"frontier {FRONTIER_JTH:g} J/TH" if kind == "used" else "manufacturer purchase"}
            for kind in ("used", "new")]
    point = latest_tier_point(efficiency_jth)
    if point is None:
        return rows
    then = float(asic_price_usd_per_th(point["expected_hashprice_usd_per_ph_day"], efficiency_jth,
                                       frontier_jth=point["frontier_jth"], new=point["condition"] == "new"))
    rows += [{"basis": f"market, tier {point['tier']} J/TH", "date": str(point["date"]),
              "hashprice_usd_per_ph_day": float(point["expected_hashprice_usd_per_ph_day"]),
              "price_usd_per_th": float(point["price_usd_per_th"]),
              "note": f"{point['machine']} ({point['condition']})"},
             {"basis": "index, that day", "date": str(point["date"]),
              "hashprice_usd_per_ph_day": float(point["expected_hashprice_usd_per_ph_day"]),
              "price_usd_per_th": then, "note": f"this model, frontier {point['frontier_jth']:g} J/TH"}]
    return rows
