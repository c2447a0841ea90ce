"""Typed results of a run and their atomic writers.

:class:`Results` holds per-path metrics, the daily rows of the kept paths, daily quantiles
over all paths and monthly flows of all paths, as pandas DataFrames for notebooks.
:meth:`Results.write` produces DESIGN.md's output directory: it is written into a temporary
directory beside ``DIR`` and renamed into place at the end, so ``DIR`` appears whole or not
at all (``--overwrite`` moves the old one aside and deletes it only once the new one is in).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from simulator import atomic, metrics as metric_registry
from simulator.errors import InputError
from simulator.lazy_kernel import LazyKernel


@dataclass
class Results:
    """What one run produced.

    Attributes
    ----------
    meta : dict
        ``scenario`` (name), ``scenario_sha256``, ``overrides`` (list of ``k=v``), ``paths``,
        ``seed``, ``version``.
    path_metrics : dict of name -> array (paths,)
        Every registered metric per path; NaN where undefined on a path.
    daily : DataFrame
        One row per (path, date) of the first ``keep_paths`` paths.
    daily_quantiles : DataFrame or None
        Per date, ``X_p5``, ``X_p50``, ``X_p95`` of each numeric daily column over all paths (None from
        ``simulate(daily_quantiles=False)``: not taken, and not written).
    monthly : DataFrame
        Per (path, month) flow lines of all paths; ``month`` is the month's first day.
    notes : list of str
        What the run said on the way (only a backtest says anything: the dated items after its window it left out).
    ratio_parts : dict of name -> (numerator, denominator) arrays (paths,)
        Of each ratio metric, for its ``pooled`` statistic (Σ numerator ÷ Σ denominator over the
        paths where it is defined).
    """

    meta: dict
    path_metrics: dict
    daily: pd.DataFrame
    daily_quantiles: pd.DataFrame | None
    monthly: pd.DataFrame
    notes: list = field(default_factory=list)
    ratio_parts: dict = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        """The content of summary.json."""
        stats = {name: metric_registry.summarise(values) for name, values in self.path_metrics.items()}
        for name in metric_registry.INDICATOR_METRICS & stats.keys():
            stats[name].update(p5=None, p50=None, p95=None)  # a probability: its mean says it all
        for name, (numerator, denominator) in self.ratio_parts.items():
            if name in stats:
                stats[name]["pooled"] = metric_registry.pooled(numerator, denominator)
        return {**self.meta, "metrics": stats}

    def summary_rows(self) -> list[dict]:
        """One dict per metric: metric, unit, mean, se, p5, p50, p95, defined_paths, pooled (ratio metrics);
        an undefined figure is None."""
        return [{"metric": name, "unit": metric_registry.ALL_METRICS[name][0], **stats}
                for name, stats in self.summary["metrics"].items()]

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_rows` as a frame indexed by metric (None becomes NaN)."""
        return pd.DataFrame(self.summary_rows()).set_index("metric")

    def revenue_mix(self) -> pd.DataFrame:
        """Per calendar year, the mean over paths of revenue by segment, HPC's share and segment EBITDA."""
        return revenue_mix(self.monthly)

    def write(self, out_dir: str, *, overwrite: bool = False,
              extra_writers: Sequence[Callable[[str], object]] = ()) -> None:
        """Write summary.json and the three Parquet files into ``out_dir`` atomically.

        Each of ``extra_writers`` is then called with the temporary directory holding those
        files (e.g. to add ``report.html`` built from them), so what it writes appears with
        the rest, at once, or not at all if it fails.
        """
        out_dir = os.path.abspath(out_dir)
        if os.path.exists(out_dir) and not overwrite:
            raise InputError(out_dir, 1, 1, "output directory exists; choose another --out or pass --overwrite")
        with atomic.new_directory(out_dir) as tmp:
            summary = json.dumps(self.summary, indent=2, allow_nan=False) + "\n"
            atomic.write_text(os.path.join(tmp, "summary.json"), summary, fsync=False)
            for table, frame in (("daily", self.daily), ("daily_quantiles", self.daily_quantiles),
                                 ("monthly", self.monthly)):
                if frame is None:  # (daily quantiles not taken)
                    continue
                frame.to_parquet(os.path.join(tmp, f"{table}.parquet"), index=False, engine="pyarrow")
            for writer in extra_writers:
                writer(tmp)


def revenue_mix(monthly: pd.DataFrame) -> pd.DataFrame:
    """Per calendar year of a monthly table, the mean over paths of revenue by segment, HPC's share and
    segment EBITDA (the latter only when the table has them)."""
    m = monthly.assign(year=pd.to_datetime(monthly.month).dt.year)
    lines = [c for c in ("mining_revenue_usd", "hosting_revenue_usd", "hpc_revenue_usd", "ebitda_mining_usd",
                         "ebitda_hpc_usd") if c in m]
    yearly = m.groupby(["year", "path"])[lines].sum().groupby("year").mean()
    total = yearly[["mining_revenue_usd", "hosting_revenue_usd", "hpc_revenue_usd"]].sum(axis=1)
    yearly.insert(3, "hpc_share_of_revenue", (yearly.hpc_revenue_usd / total.where(total != 0)).fillna(0.0))
    return yearly


#: The percentiles of daily_quantiles.parquet.
DAILY_PERCENTILES = (5, 50, 95)


def exact_percentiles(rows: np.ndarray, q=DAILY_PERCENTILES) -> np.ndarray:
    """``np.percentile(rows, q, axis=-1)`` (linear method), moved to the last axis: ``(..., len(q))``.

    The same numbers as numpy's (the same order statistics, interpolated by numpy's own
    formula; where a row holds both zeros, the sign of a zero result may differ, since any of
    the equal zeros is an order statistic), found faster: one selection per order statistic
    needed, from the largest down, each on the part of the row the previous one left below it (numpy partitions each row
    for all of them at once through a view with the row strided, several times slower on
    the daily (columns × paths) tables); rows of up to :data:`SORT_MAX_VALUES` values are sorted
    whole instead, faster still; large calls select each row's order statistics compiled
    (:data:`QUANTILE_KERNEL`, :func:`_compiled_percentiles`), but where numpy sorts on SIMD lanes
    (:data:`SIMD_SORT`) float rows of up to :data:`SORT_MAX_VALUES` values are sorted whatever the call's
    size (:func:`_sorted_percentiles`: twice the kernel's speed there). ``rows`` may be reordered in place
    (pass a copy to keep it); a row holding NaN gives NaN, as numpy does.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(4, 101))
    >>> bool(np.array_equal(exact_percentiles(x.copy()), np.percentile(x, [5, 50, 95], axis=-1).T))
    True
    """
    n = rows.shape[-1]
    quantiles = np.true_divide(np.asanyarray(q), 100)
    virtual = (n - 1) * quantiles  # numpy's 'linear' method and its index and weight rules
    previous = np.floor(virtual)
    following = previous + 1
    previous[virtual >= n - 1] = following[virtual >= n - 1] = -1
    previous[virtual < 0] = following[virtual < 0] = 0
    gamma = virtual - previous
    previous_i, following_i = previous.astype(np.intp) % n, following.astype(np.intp) % n
    flat = rows.reshape(-1, n)
    ks = sorted(set(previous_i.tolist()) | set(following_i.tolist()), reverse=True)
    compiled = flat.dtype == np.float64 and flat.flags.c_contiguous and flat.size
    if compiled and SIMD_SORT and n <= SORT_MAX_VALUES:
        return _sorted_percentiles(flat, previous_i, following_i, gamma).reshape(rows.shape[:-1] + (len(quantiles),))
    kernel = QUANTILE_KERNEL.for_call(flat.size) if compiled else None
    if kernel is not None:
        out = _compiled_percentiles(kernel, flat, ks, previous_i, following_i, gamma)
    else:
        out = _lerp_statistics(_order_statistics(flat, ks), previous_i, following_i, gamma)
        out[np.isnan(flat).any(axis=-1)] = np.nan
    return out.reshape(rows.shape[:-1] + (len(quantiles),))


#: Rows up to this many values are sorted whole (numpy's vectorised sort beats three selections up
#: to a few thousand values: 8.3 ms against 13.6 ms for the 32 × 22 rows of 1,000 paths, measured);
#: longer rows are partitioned.
SORT_MAX_VALUES = 4096


def _simd_sort(cpu_features: dict | None = None, vendor: str | None = None) -> bool:
    """Whether numpy's sort of float64 is the faster way to the daily percentiles on this processor: x86-simd-sort's
    AVX-512 form (numpy's dispatch target ``AVX512_SKX``) on an Intel processor (``vendor``: /proc/cpuinfo's
    ``vendor_id``, :func:`_cpu_vendor`). Measured on the 2-core benchmark machines (numpy 2.4), the daily columns of a
    500-path, 3,650-day bench run: on an Intel AVX-512 machine ~1.9 ns a value sorted against ~3.6 selected by
    :data:`QUANTILE_KERNEL`; on an AMD EPYC (Zen 4, AVX-512) ~7.9 ns sorted against ~3.3 selected (2.9 against
    1.2 ms a 32-day block; Zen 4 runs the sort's compressing stores in microcode). Not taken on other processors
    (not measured there)."""
    if cpu_features is None:
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as cpu_features
        except ImportError:  # (numpy's private module moved: the compiled selection, as before)
            return False
    vendor = _cpu_vendor() if vendor is None else vendor
    return vendor == "GenuineIntel" and bool(cpu_features.get("AVX512_SKX"))


def _cpu_vendor(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The processor's ``vendor_id`` (``GenuineIntel``, ``AuthenticAMD``, …) from Linux's ``cpuinfo``; ``""`` where
    there is none (another system, or no such line)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


#: Sort the daily columns' float rows (:func:`_sorted_percentiles`) rather than select their order statistics compiled
#: (:data:`QUANTILE_KERNEL`): where numpy's sort runs on SIMD lanes (:func:`_simd_sort`). The same numbers either way.
SIMD_SORT = _simd_sort()


def _sorted_percentiles(flat: np.ndarray, previous_i: np.ndarray, following_i: np.ndarray,
                        gamma: np.ndarray) -> np.ndarray:
    """The percentiles of each float64 row of ``flat`` ``(rows, len(gamma))``, the rows sorted in place: numpy's form
    (:func:`_order_statistics` sorts rows of up to :data:`SORT_MAX_VALUES` values whole, :func:`_lerp` interpolates)
    with the order statistics read as two gathers of the sorted table's columns and each row's NaN as its last value
    (numpy's sort puts NaN last), instead of a copy a statistic, stacks and a pass over the row. The same operations on
    the same doubles: ``a + (b − a)·γ``, or ``b − (b − a)·(1 − γ)`` where ``γ ≥ 0.5``, NaN where the row holds NaN."""
    flat.sort(axis=-1)
    out = _lerp(flat[:, previous_i], flat[:, following_i], gamma)
    out[np.isnan(flat[:, -1])] = np.nan
    return out


def _order_statistics(flat: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
    """The ``k``-th smallest value of each row of ``flat`` for each ``k`` of ``ks`` (largest first),
    reordering the rows in place. An order statistic is one value whatever finds it: a whole sort
    and the selections give the same numbers."""
    if flat.shape[-1] <= SORT_MAX_VALUES:
        flat.sort(axis=-1)
        return {k: flat[:, k].copy() for k in ks}
    stat = {}
    top = flat.shape[-1]  # flat[:, :top] holds the `top` smallest values of each row
    for k in ks:
        part = flat[:, :top]
        if k < top - 1:
            part.partition(k, axis=-1)
        else:  # the largest left: move it to the end instead of selecting
            r, at = np.arange(len(part)), part.argmax(axis=-1)
            part[r, at], part[:, k] = part[:, k], part[r, at]
        stat[k] = part[:, k].copy()
        top = k
    return stat


#: The compiled selection of the daily quantiles' order statistics (:mod:`simulator.reporting_kernel`): a
#: 1,000-path block (32 days × ~23 columns) costs ~2.4–3 ns a value selected against ~11 sorted (measured on
#: the 2-core benchmark machine). A call of 2²⁰ values loads it; else 2²⁴ values in numpy first (~0.2 s,
#: about numba's import), 2¹⁹ (~6 ms) once another kernel has imported numba.
QUANTILE_KERNEL = LazyKernel("simulator.reporting_kernel", large_from=2**20, numpy_at_most=2**24, once_numba_runs=2**19)


def _lerp(a: np.ndarray, b: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """numpy's linear interpolation (``numpy.lib._function_base_impl._lerp``) between each row's order statistics
    ``a`` and ``b`` ``(rows, len(gamma))`` (gathered at the previous and following indices): ``a + (b − a)·γ``, or
    ``b − (b − a)·(1 − γ)`` where ``γ ≥ 0.5`` (NaN from ``inf − inf``, as numpy's)."""
    high = gamma >= 0.5
    with np.errstate(invalid="ignore"):  # inf − inf: NaN, as numpy's
        diff_b_a = b - a
        out = np.add(a, diff_b_a * gamma)
        out[:, high] = b[:, high] - diff_b_a[:, high] * (1 - gamma)[high]
    return out


def _lerp_statistics(stat: dict[int, np.ndarray], previous_i: np.ndarray, following_i: np.ndarray,
                     gamma: np.ndarray) -> np.ndarray:
    """:func:`_lerp` between the order statistics ``stat[previous_i]`` and ``stat[following_i]`` of each row
    (:func:`_order_statistics`' columns stacked): ``(rows, len(gamma))``."""
    return _lerp(np.stack([stat[k] for k in previous_i], axis=-1), np.stack([stat[k] for k in following_i], axis=-1),
                 gamma)


def _compiled_percentiles(kernel, flat: np.ndarray, ks: list[int], previous_i: np.ndarray, following_i: np.ndarray,
                          gamma: np.ndarray) -> np.ndarray:
    """The percentiles of each row of ``flat`` (C-ordered, not reordered), ``(rows, len(gamma))``, by
    ``kernel.percentiles``: :func:`_order_statistics` selected (each row's min and max taken in its pass) and
    interpolated as :func:`_lerp` does, the same operations on the same doubles; NaN where a row holds NaN. A row
    holding both signed zeros with a zero at a needed index gets numpy's own form instead (which zero a sort leaves
    there is the sort's choice): the row sorted (or partitioned) in place, in its own memory, as the whole table's
    sort would have, and interpolated by :func:`_lerp`."""
    at = {k: i for i, k in enumerate(ks)}
    out = np.empty((len(flat), len(gamma)))
    flags = kernel.percentiles(flat, np.array(ks, dtype=np.int64), np.array([at[k] for k in previous_i], dtype=np.int64),
                               np.array([at[k] for k in following_i], dtype=np.int64), np.asarray(gamma, dtype=float), out)
    for r in np.flatnonzero(flags == kernel.SIGNED_ZEROS):
        out[r] = _lerp_statistics(_order_statistics(flat[r:r + 1], ks), previous_i, following_i, gamma)[0]
    return out


def daily_quantile_frame(dates: pd.DatetimeIndex, quantiles: dict[str, np.ndarray]) -> pd.DataFrame:
    """Frame with ``date`` and ``X_p5``, ``X_p50``, ``X_p95`` from arrays ``(days, 3)`` per column."""
    data = {"date": dates}
    for column, q in quantiles.items():
        for i, tag in enumerate(("p5", "p50", "p95")):
            data[f"{column}_{tag}"] = q[:, i]
    return pd.DataFrame(data)


def to_json_safe(value):
    """Replace NaN/inf with None in nested dicts/lists (summary.json never holds them)."""
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
