"""The report's charts, drawn with matplotlib's object API (no pyplot, no global figure state).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`svg` and :func:`png` render
it. SVG output is deterministic (no date, fixed id salt, text kept as text) so a report is
byte-identical for the same run directory.
"""
from __future__ import annotations

import io
import textwrap

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simulator.report.fmt import si

BAND = "#9ecae1"
LINE = "#08519c"
MEAN = "#e6550d"
UP, DOWN, TOTAL = "#de2d26", "#31a354", "#636363"
SEGMENTS = {"mining_revenue_usd": ("Mining", "#f7931a"), "hosting_revenue_usd": ("Hosting", "#6baed6"),
            "hpc_revenue_usd": ("AI/HPC", "#756bb1")}
_RC = {"svg.hashsalt": "hashfleet", "svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10,
       "axes.spines.top": False, "axes.spines.right": False}
PNG_DPI = 150

_si_axis = FuncFormatter(lambda v, _pos: si(v))


def _figure(width_in: float = 6.4, height_in: float = 3.2) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width_in, height_in), layout="constrained")


def _date_axis(ax) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def fan(dates, p5, p50, p95, title: str, unit: str) -> Figure:
    """p5–p95 band and p50 line of a daily quantity over time."""
    fig = _figure()
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        x = pd.to_datetime(pd.Series(dates)).to_numpy()
        ax.fill_between(x, p5, p95, color=BAND, alpha=0.8, linewidth=0, label="p5–p95")
        ax.plot(x, p50, color=LINE, linewidth=1.4, label="p50")
        _dated_axes(ax, title, unit)
    return fig


def _dated_axes(ax, title: str, unit: str) -> None:
    """Title, unit, SI ticks, a date axis, a light grid and the legend of a time chart."""
    ax.set_title(title, loc="left")
    ax.set_ylabel(unit)
    ax.yaxis.set_major_formatter(_si_axis)
    _date_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False, fontsize=8)


def monthly_band(months, mean, p5, p50, p95, title: str, unit: str) -> Figure:
    """Per-month p5–p95 band, p50 and mean of a monthly line (hedge P&L)."""
    fig = _figure()
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        x = pd.to_datetime(pd.Series(months)).to_numpy()
        ax.fill_between(x, p5, p95, step="mid", color=BAND, alpha=0.8, linewidth=0, label="p5–p95")
        ax.step(x, p50, where="mid", color=LINE, linewidth=1.4, label="p50")
        ax.step(x, mean, where="mid", color=MEAN, linewidth=1.0, linestyle="--", label="mean")
        ax.axhline(0, color="black", linewidth=0.6)
        _dated_axes(ax, title, unit)
    return fig


def waterfall(steps) -> Figure:
    """Cost per BTC: floating bars per component, full bars for the subtotals."""
    fig = _figure(7.2, 3.6)
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        x = np.arange(len(steps))
        for i, s in enumerate(steps):
            if s.kind == "subtotal":
                color, bottom, height = TOTAL, 0.0, s.usd_per_btc
            else:
                color = UP if s.usd_per_btc >= 0 else DOWN
                bottom, height = min(s.start, s.end), abs(s.usd_per_btc)
            ax.bar(i, height, bottom=bottom, color=color, width=0.7)
            ax.annotate(si(s.usd_per_btc), (i, max(s.start, s.end)), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [textwrap.fill(s.label, 13) for s in steps], fontsize=7)
        ax.set_ylabel("USD per BTC mined")
        ax.yaxis.set_major_formatter(_si_axis)
        ax.set_title("Cost per BTC (mean over paths that mined)", loc="left")
        ax.grid(axis="y", alpha=0.3)
    return fig


def revenue_mix(mix: pd.DataFrame) -> Figure:
    """Stacked bars of mean revenue per year by segment."""
    fig = _figure(6.4, 3.2)
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        years = [str(y) for y in mix.index]
        bottom = np.zeros(len(mix))
        for column, (label, color) in SEGMENTS.items():
            values = mix[column].to_numpy(dtype=float)
            ax.bar(years, values, bottom=bottom, label=label, color=color, width=0.6)
            bottom += values
        ax.set_ylabel("USD per year (mean over paths)")
        ax.yaxis.set_major_formatter(_si_axis)
        ax.set_title("Revenue mix by year", loc="left")
        ax.legend(frameon=False, fontsize=8, ncols=3, loc="upper left")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.15)
    return fig


def heatmap(grid: pd.DataFrame, title: str, unit: str, *, higher_is_better: bool) -> Figure:
    """A metric over two swept keys: ``grid`` rows are the second key's values, columns the first's."""
    fig = _figure(5.6, 3.6)
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        values = grid.to_numpy(dtype=float)
        cmap = matplotlib.colormaps["RdYlGn" if higher_is_better else "RdYlGn_r"].with_extremes(bad="#dddddd")
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto", origin="lower")
        ax.set_xticks(range(grid.shape[1]), [_tick(v) for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [_tick(v) for v in grid.index])
        ax.set_xlabel(str(grid.columns.name))
        ax.set_ylabel(str(grid.index.name))
        finite = values[np.isfinite(values)]
        middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        for (r, c), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(c, r, si(v), ha="center", va="center", fontsize=7,
                        color="black" if abs(v - middle) < 0.35 * (np.ptp(finite) or 1) else "white")
        fig.colorbar(image, ax=ax, label=unit, format=_si_axis)
        ax.set_title(title, loc="left")
        ax.spines[["top", "right"]].set_visible(True)
    return fig


def sweep_line(x, mean, p5, p95, key: str, title: str, unit: str) -> Figure:
    """A metric over one swept key: mean, with the p5–p95 band when the table has it."""
    fig = _figure()
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        if p5 is not None and p95 is not None:
            ax.fill_between(x, p5, p95, color=BAND, alpha=0.8, linewidth=0, label="p5–p95")
        ax.plot(x, mean, color=LINE, marker="o", linewidth=1.4, label="mean")
        ax.set_xlabel(key)
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter(_si_axis)
        ax.set_title(title, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    return fig


def company_bars(table: pd.DataFrame, metrics: list[tuple[str, str, str]]) -> Figure:
    """One horizontal bar panel per (column, title, unit), a bar per company."""
    fig = _figure(7.2, 0.6 + 0.35 * len(table) * ((len(metrics) + 1) // 2) + 0.6 * ((len(metrics) + 1) // 2))
    with matplotlib.rc_context(_RC):
        axes = fig.subplots((len(metrics) + 1) // 2, 2, squeeze=False).ravel()
        companies = table["company"].astype(str).to_list()
        for ax, (column, title, unit) in zip(axes, metrics):
            values = table[column].to_numpy(dtype=float)
            defined = np.isfinite(values)
            ax.barh(companies, np.where(defined, values, 0.0), color=LINE)
            for i in np.flatnonzero(~defined):  # an undefined metric is marked, not drawn as 0
                ax.annotate("undefined", (0, i), xytext=(3, 0), textcoords="offset points", va="center",
                            fontsize=7, color="#5b636d")
            ax.invert_yaxis()
            ax.set_title(title, loc="left")
            ax.set_xlabel(unit)
            ax.xaxis.set_major_formatter(_si_axis)
            ax.grid(axis="x", alpha=0.3)
        for ax in axes[len(metrics):]:
            ax.set_visible(False)
    return fig


def _tick(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value)


def svg(fig: Figure) -> bytes:
    """The figure as deterministic SVG."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def png(fig: Figure) -> bytes:
    """The figure as PNG at :data:`PNG_DPI`."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buf.getvalue()
