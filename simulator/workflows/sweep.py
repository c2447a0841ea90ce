"""Parameter sweeps on dask.distributed: a grid of overrides, every point on the same paths.

``hashfleet sweep SCENARIO --grid key=v1,v2 [--grid ...] --out DIR`` runs the Cartesian
product of the ``--grid`` axes. Each point is the scenario loaded with the sweep's ``--set``
overrides followed by the point's grid values as further overrides (so any dotted key the
schema allows can be swept, list items included: ``fleet[0].units=4000,8000``), simulated
with the same seed and path count as every other point: common random numbers, so the
difference between two points is the effect of the swept values, not of the draws.

Layout of ``DIR``::

    manifest.json      what the sweep is: scenario file and sha256, --set overrides, grid,
                       paths, seed, version, and the points (id and overrides) in grid order
    points/<id>.json   one finished point: its overrides, swept values and summary metrics
    failed.json        points that still failed after their retries (only when some did)
    sweep.parquet      one row per point in grid order: a column per swept key (its dotted
                       key), then per metric ``{metric}`` (the mean), ``{metric}_p5``,
                       ``{metric}_p50``, ``{metric}_p95``
    summary.json       the manifest's provenance plus every point's full statistics

Every file is written to a hidden temporary file beside ``DIR`` and renamed into place, so a
sweep killed at any moment leaves only whole files in ``DIR``; re-running the same command resumes,
running only the points without a file. ``sweep.parquet`` and ``summary.json`` exist only
for a complete sweep. A point id is a hash of the point's grid overrides, so a point's file
does not depend on where it sits in the grid, and the gathered outputs are sorted by grid
order, not completion order: the same seed gives byte-identical files whatever the number of
workers.

Examples
--------
A plan (validation only; :func:`run_sweep` runs it):

>>> plan = prepare("scenarios/halving_crossing.yaml", ["market.btc_price.drift_annual=0,0.2"],
...                overrides=["horizon_days=30"], paths=2)
>>> [p.overrides for p in plan.points]
[('market.btc_price.drift_annual=0',), ('market.btc_price.drift_annual=0.2',)]
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import itertools
import json
import logging
import os
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from simulator import __version__
from simulator.config import Scenario, load_scenario
from simulator.config.loader import parse_override
from simulator.engine import simulate
from simulator.errors import InputError, InputErrors
from simulator.metrics import ALL_METRICS, Ratio

#: Format tag of manifest.json (bumped if its meaning changes).
MANIFEST_FORMAT = "hashfleet-sweep/1"
#: Summary statistics kept per metric and point (those of ``summary.json`` of a run).
STATS = ("mean", "se", "p5", "p50", "p95", "defined_paths")
#: Statistics of each metric in ``sweep.parquet``: the mean under the metric's own name.
TABLE_STATS = (("mean", ""), ("p5", "_p5"), ("p50", "_p50"), ("p95", "_p95"))
#: The headline columns of the printed table: of each group, the first metric the sweep has.
#: Ratio metrics: the table shows their pooled value (Σ numerator ÷ Σ denominator over the paths).
RATIO_METRICS = frozenset(name for name, (_, fn, _) in ALL_METRICS.items() if isinstance(fn, Ratio))
HEADLINE_METRICS = (("end_nav_per_share_usd",), ("prob_cash_shortfall",), ("all_in_cost_per_btc_usd",),
                    ("cash_cost_per_btc_usd", "direct_cost_per_btc_usd"), ("btc_per_ehs_day",))
#: Fault injection for the test suite: ``kill-once:POINT_ID:MARKER_FILE`` makes the first
#: attempt of that point end its worker process (``os._exit``) unless MARKER_FILE exists
#: (the attempt creates it); ``raise:POINT_ID[:COUNT_FILE]`` makes every attempt of that
#: point raise (appending a line to COUNT_FILE). The client reads it and hands the fault to
#: that point's task, so workers started earlier need not see the variable.
FAULT_ENV = "HASHFLEET_SWEEP_FAULT"
#: Default attempts after the first for a point that raises or whose worker dies.
DEFAULT_RETRIES = 2
#: Seconds to wait for a ``--scheduler`` to answer.
CONNECT_TIMEOUT_S = 10
#: Dask settings of the LocalCluster that :func:`run_sweep` starts itself (never of a
#: ``--scheduler`` cluster or a client passed in), held for the cluster's whole life so a
#: worker the nanny restarts gets them too. They cut what a worker does besides simulating,
#: none of which anyone sees (the local cluster has no dashboard):
#:
#: * the statistical profiler samples every thread's stack every 10 ms, taking the GIL from
#:   the simulation each time (about 3 % of a point);
#: * the event-loop health check ("tick", every 20 ms) wakes each worker's, nanny's and the
#:   scheduler's loop 50 times a second; each wake takes the GIL from the simulation (about
#:   7 % of a point) and, with all cores busy, a core from the workers. Once a second still
#:   reports a blocked loop;
#: * the system monitor (CPU, memory, network for the dashboard) samples every 2 s, not 0.5 s.
#:
#: The memory monitor that pauses or restarts a worker near its memory limit keeps dask's
#: default interval.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
#: Fork the local workers from this process only while its resident memory is below this
#: fraction of a worker's memory limit (see :func:`_start_method`).
FORK_MAX_RSS_FRACTION = 0.25


# --------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class GridAxis:
    """One ``--grid KEY=V1,V2,...`` argument.

    Attributes
    ----------
    key : str
        The dotted key as typed (``fleet[0].units``); also the column name of the outputs.
    path : tuple
        The key split into names and list indexes (``('fleet', 0, 'units')``).
    texts : tuple of str
        Each value as typed; a point's override is ``f"{key}={text}"``.
    values : tuple
        Each value parsed like a ``--set`` value (YAML 1.2 scalar or flow collection).
    cols : tuple of int
        1-based column of each value in ``source``.
    source : str
        The argument as typed, for error positions.
    """

    key: str
    path: tuple
    texts: tuple
    values: tuple
    cols: tuple
    source: str

    @property
    def where(self) -> str:
        """The file part of an error about this argument."""
        return f"--grid {_printable(self.source)}"


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so an error about it stays on one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _split_values(text: str) -> list[tuple[int, str]]:
    """Split ``v1,v2,...`` at commas outside brackets, braces and quotes: (offset, text) pairs.

    Examples
    --------
    >>> _split_values("0, {model: gbm, initial_usd: 1},'a,b'")
    [(0, '0'), (3, '{model: gbm, initial_usd: 1}'), (32, "'a,b'")]
    """
    pieces, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
    pieces.append((start, text[start:]))
    out = []
    for offset, piece in pieces:
        stripped = piece.strip()
        out.append((offset + len(piece) - len(piece.lstrip()), stripped))
    return out


def parse_grid(text: str) -> GridAxis:
    """Parse ``KEY=V1,V2,...`` into a :class:`GridAxis`; errors cite ``--grid TEXT:1:COL``.

    Examples
    --------
    >>> axis = parse_grid("network.hashrate.growth_annual=0,0.2,0.4")
    >>> axis.values, axis.cols
    ((0, 0.2, 0.4), (32, 34, 38))
    """
    where = f"--grid {_printable(text)}"
    if "=" not in text:
        raise InputError(where, 1, 1, "expected KEY=V1,V2,..., e.g. --grid market.btc_price.drift_annual=0,0.2,0.4")
    key, values_text = text.split("=", 1)
    value_col = len(key) + 2
    texts, values, cols = [], [], []
    for offset, piece in _split_values(values_text):
        col = value_col + offset
        if not piece:
            raise InputError(where, 1, col, "empty value; separate values with single commas, e.g. 0,0.2,0.4")
        try:
            path, value, _ = parse_override(f"{key}={piece}")
        except InputError as exc:
            # parse_override counts columns in "KEY=PIECE": map them back into the --grid text
            raise InputError(where, 1, exc.col if exc.col < value_col else col + exc.col - value_col,
                             exc.message.replace("--set", "--grid")) from None
        if any(_canonical(value) == _canonical(v) and type(value) is type(v) for v in values):
            raise InputError(where, 1, col, f"{piece!r} is listed twice; each value of an axis gives one point")
        texts.append(piece)
        values.append(value)
        cols.append(col)
    return GridAxis(key=key, path=path, texts=tuple(texts), values=tuple(values), cols=tuple(cols), source=text)


def _canonical(value):
    """A JSON-ready copy of a parsed YAML value (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid.

    Attributes
    ----------
    index : int
        0-based position in grid order (the first axis varies slowest).
    id : str
        16 hex digits of the SHA-256 of the point's (key, value) pairs: the name of its file.
    overrides : tuple of str
        The point's grid overrides, ``key=value`` as typed, one per axis.
    values : tuple
        The swept values (JSON-ready), one per axis.
    """

    index: int
    id: str
    overrides: tuple
    values: tuple

    def label(self) -> str:
        """``key=value, key=value`` for messages."""
        return ", ".join(self.overrides)


def point_id(keys: Sequence[str], values: Sequence) -> str:
    """Stable id of a point: it depends on its keys and values only, not on its position.

    Examples
    --------
    >>> point_id(["market.btc_price.drift_annual"], [0.2])
    '1b84a31bef3e5954'
    """
    blob = json.dumps([[k, _canonical(v)] for k, v in zip(keys, values)], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def grid_points(axes: Sequence[GridAxis]) -> list[SweepPoint]:
    """The Cartesian product of the axes in grid order (the first axis varies slowest)."""
    keys = [a.key for a in axes]
    points = []
    for index, combo in enumerate(itertools.product(*[range(len(a.values)) for a in axes])):
        values = [axes[j].values[i] for j, i in enumerate(combo)]
        overrides = tuple(f"{axes[j].key}={axes[j].texts[i]}" for j, i in enumerate(combo))
        points.append(SweepPoint(index=index, id=point_id(keys, values), overrides=overrides,
                                 values=tuple(_canonical(v) for v in values)))
    return points


# --------------------------------------------------------------------------- the plan
@dataclass
class SweepPlan:
    """A validated sweep: every point's scenario loaded before anything runs.

    Attributes
    ----------
    scenario_file : str
        The scenario path as given.
    scenario_name, scenario_sha256 : str
        From the scenario (the hash is of the merged document before overrides).
    overrides : tuple of str
        The sweep's ``--set`` overrides, applied to every point before its grid values.
    axes : list of GridAxis
    paths, seed : int or None
        ``--paths`` / ``--seed`` as given (None: each point's scenario value).
    points : list of SweepPoint
        In grid order.
    scenarios : list of Scenario
        The loaded scenario of each point, in the same order.
    """

    scenario_file: str
    scenario_name: str
    scenario_sha256: str
    overrides: tuple
    axes: list
    paths: Optional[int]
    seed: Optional[int]
    points: list
    scenarios: list = field(repr=False)

    @property
    def keys(self) -> list[str]:
        """The swept dotted keys, in grid order."""
        return [a.key for a in self.axes]

    def _common(self, name: str):
        given = getattr(self, name)
        if given is not None:
            return int(given)
        found = {getattr(s, name) for s in self.scenarios}
        return found.pop() if len(found) == 1 else None

    def manifest(self) -> dict:
        """The content of manifest.json (``paths``/``seed`` are null when the grid sweeps them)."""
        return {
            "format": MANIFEST_FORMAT,
            "scenario": self.scenario_name,
            "scenario_file": self.scenario_file,
            "scenario_sha256": self.scenario_sha256,
            "overrides": list(self.overrides),
            "grid": [{"key": a.key, "values": [_canonical(v) for v in a.values]} for a in self.axes],
            "paths": self._common("paths"),
            "seed": self._common("seed"),
            "version": __version__,
            "points": [{"id": p.id, "overrides": list(p.overrides)} for p in self.points],
        }


#: Manifest fields that must match for a re-run to resume an existing sweep directory.
IDENTITY_FIELDS = ("format", "scenario_sha256", "overrides", "grid", "paths", "seed", "version")


def prepare(scenario_file: str, grid: Iterable[str], *, overrides: Iterable[str] = (),
            paths: Optional[int] = None, seed: Optional[int] = None) -> SweepPlan:
    """Parse the grid and load every point's scenario; raise all problems before anything runs.

    Parameters
    ----------
    scenario_file : str
        Path of the scenario YAML file.
    grid : iterable of str
        ``KEY=V1,V2,...`` arguments; at least one.
    overrides : iterable of str
        ``--set`` overrides applied to every point (before its grid values).
    paths, seed : int, optional
        Override the scenario's path count and seed for every point.

    Raises
    ------
    InputErrors
        Each problem as ``file:line:col: message``; a problem of some points names them
        (``[point 3 of 16: key=value, ...]``), a problem of all says ``[all N points]``.
    """
    overrides = tuple(overrides)
    grid = list(grid)
    if not grid:
        raise InputErrors([InputError("--grid", 1, 1, "give at least one --grid KEY=V1,V2,...")])
    axes, errors = [], []
    for text in grid:
        try:
            axes.append(parse_grid(text))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    set_paths = {}
    for text in overrides:
        try:
            set_paths[parse_override(text)[0]] = text
        except InputError:
            pass  # load_scenario reports it with its position
    seen: dict = {}
    for axis in axes:
        if axis.path in seen:
            errors.append(InputError(axis.where, 1, 1, f"{axis.key} is swept twice (also by --grid "
                                                       f"{_printable(seen[axis.path].source)}); give one --grid per key"))
        elif axis.path in set_paths:
            errors.append(InputError(axis.where, 1, 1, f"{axis.key} is also set by --set {set_paths[axis.path]}; "
                                                       "sweep it or set it, not both"))
        elif axis.path == ("paths",) and paths is not None or axis.path == ("seed",) and seed is not None:
            errors.append(InputError(axis.where, 1, 1, f"{axis.key} is also given by --{axis.key}; "
                                                       "sweep it or set it, not both"))
        seen[axis.path] = axis
    if errors:
        raise InputErrors(errors)

    points = grid_points(axes)
    scenarios, failures = [], {}
    for point in points:
        try:
            scenarios.append(load_scenario(scenario_file, overrides + point.overrides))
        except InputErrors as exc:
            for err in exc.errors:
                err = _at_grid(err, point, axes)
                failures.setdefault((err.file, err.line, err.col, err.message), []).append(point)
    if failures:
        raise InputErrors([_name_points(where, hit, len(points)) for where, hit in failures.items()])
    first = scenarios[0]
    return SweepPlan(scenario_file=str(scenario_file), scenario_name=first.name,
                     scenario_sha256=first.provenance.sha256, overrides=overrides, axes=axes,
                     paths=None if paths is None else int(paths), seed=None if seed is None else int(seed),
                     points=points, scenarios=scenarios)


def _at_grid(err: InputError, point: SweepPoint, axes: Sequence[GridAxis]) -> InputError:
    """An error the loader put at ``--set KEY=VALUE`` of a grid value, moved to its --grid argument."""
    for axis, override in zip(axes, point.overrides):
        if err.file == f"--set {_printable(override)}":
            value_col = len(axis.key) + 2
            text = override[value_col - 1:]
            col = err.col if err.col < value_col else axis.cols[axis.texts.index(text)] + err.col - value_col
            return InputError(axis.where, err.line, col, err.message)
    return err


def _name_points(where: tuple, hit: list[SweepPoint], total: int) -> InputError:
    """The error at ``where`` (file, line, col, message) with the points it concerns appended."""
    file, line, col, message = where
    if len(hit) == total and total > 1:
        which = f"all {total} points"
    elif len(hit) == 1:
        which = f"point {hit[0].index + 1} of {total}: {hit[0].label()}"
    else:
        which = (f"points {', '.join(str(p.index + 1) for p in hit[:8])}{', …' if len(hit) > 8 else ''} of {total}; "
                 f"first: {hit[0].label()}")
    return InputError(file, line, col, f"{message} [{which}]")


# --------------------------------------------------------------------------- running
@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out_dir : str
    plan : SweepPlan
    records : list of dict or None
        Each point's record (the content of its file) in grid order; None for a failed point.
    ran : list of str
        Ids of the points simulated by this call.
    resumed : list of str
        Ids of the points found finished in ``out_dir`` and not run again.
    failed : list of dict
        ``{"id", "overrides", "error"}`` of the points that failed after their retries.
    table : DataFrame or None
        The content of sweep.parquet (None when some point failed).
    """

    out_dir: str
    plan: SweepPlan
    records: list
    ran: list
    resumed: list
    failed: list
    table: Optional[pd.DataFrame]

    @property
    def headline_metrics(self) -> list[str]:
        """The metrics of the printed table (of each HEADLINE_METRICS group, the first present)."""
        present = set()
        for record in self.records:
            if record:
                present.update(record["metrics"])
        return [next(m for m in group if m in present) for group in HEADLINE_METRICS
                if any(m in present for m in group)]

    def rows(self) -> list[dict]:
        """One row per point in grid order: the swept values and the headline metrics' means."""
        metrics = self.headline_metrics
        rows = []
        for point, record in zip(self.plan.points, self.records):
            row = dict(zip(self.plan.keys, point.values))
            for m in metrics:  # a ratio metric's pooled value (Σ numerator ÷ Σ denominator), named so
                stats = record["metrics"].get(m, {}) if record else {}
                row[f"{m} (pooled)" if m in RATIO_METRICS else m] = stats.get("pooled" if m in RATIO_METRICS else "mean")
            if self.failed:
                row["status"] = "ok" if record else "failed"
            rows.append(row)
        return rows


def _fault_for(point_id_: str) -> Optional[tuple]:
    """The test-suite fault to inject into this point's task (see FAULT_ENV), or None."""
    spec = os.environ.get(FAULT_ENV, "")
    kind, _, rest = spec.partition(":")
    target, _, marker = rest.partition(":")
    if target != point_id_ or kind not in ("kill-once", "raise"):
        return None
    return kind, marker


def run_point(scenario: Scenario, paths: Optional[int], seed: Optional[int], fault: Optional[tuple] = None) -> dict:
    """Simulate one point (in a worker): the summary statistics of every metric.

    Returns
    -------
    dict
        ``{"paths", "seed", "version", "metrics": {name: {mean, se, p5, p50, p95, defined_paths}}}``.
    """
    if fault is not None:
        kind, marker = fault
        if kind == "raise":
            if marker:
                with open(marker, "a") as fh:
                    fh.write("attempt\n")
            raise RuntimeError(f"fault injected by {FAULT_ENV}")
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(70)  # the worker process dies mid-task, as on an out-of-memory kill
    summary = simulate(scenario, paths=paths, seed=seed, keep_paths=0, workers=1).summary  # parallel across points
    return {"paths": summary["paths"], "seed": summary["seed"], "version": summary["version"],
            "metrics": summary["metrics"]}


def _record(plan: SweepPlan, point: SweepPoint, out: dict) -> dict:
    """The content of ``points/<id>.json``: nothing in it depends on when or where it ran."""
    return {"id": point.id, "overrides": list(point.overrides),
            "values": dict(zip(plan.keys, point.values)), "scenario": plan.scenario_name,
            "scenario_sha256": plan.scenario_sha256, "base_overrides": list(plan.overrides), **out}


def _dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _file_mode() -> int:
    """rw for whom the umask allows (mkstemp's files are private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def _scratch_prefix(out_dir: str) -> tuple[str, str]:
    """Folder and name prefix of the temporary files of ``out_dir``: hidden, beside it."""
    parent, name = os.path.split(out_dir)
    return parent, f".{name}.tmp-"


def _write_atomic(out_dir: str, relpath: str, write: Callable[[str], None]) -> None:
    """Write ``out_dir/relpath`` with ``write(tmp_path)`` to a hidden file beside ``out_dir``, then
    rename it into place: ``out_dir`` never holds a partial file, even after SIGKILL."""
    folder, prefix = _scratch_prefix(out_dir)
    target = os.path.join(out_dir, relpath)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        os.fchmod(fd, _FILE_MODE)
        os.close(fd)
        write(tmp)
        try:
            os.replace(tmp, target)
        except OSError as exc:  # out_dir on another filesystem than its parent (a mount point)
            if exc.errno != errno.EXDEV:
                raise
            fallback = os.path.join(os.path.dirname(target), f".{os.path.basename(tmp)}")
            shutil.copyfile(tmp, fallback)
            os.replace(fallback, target)
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_bytes(out_dir: str, relpath: str, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    _write_atomic(out_dir, relpath, write)


def _clear_temporaries(out_dir: str) -> None:
    """Remove the temporary files a killed sweep of ``out_dir`` left beside it."""
    folder, prefix = _scratch_prefix(out_dir)
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith(prefix) and os.path.isfile(path):
            os.unlink(path)


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _check_dir(plan: SweepPlan, out_dir: str, overwrite: bool) -> bool:
    """Whether ``out_dir`` holds this sweep (to resume); refuse anything else unless ``overwrite``."""
    manifest_path = os.path.join(out_dir, "manifest.json")
    if not os.path.exists(out_dir):
        return False
    if not os.path.isdir(out_dir):
        raise InputError(out_dir, 1, 1, "exists and is not a directory; choose another --out")
    if overwrite:
        return False
    if os.path.exists(manifest_path):
        old = _read_json(manifest_path)
        if not isinstance(old, dict) or old.get("format") != MANIFEST_FORMAT:
            raise InputError(manifest_path, 1, 1, "not a hashfleet sweep manifest; choose another --out or "
                                                  "pass --overwrite")
        new = plan.manifest()
        differ = [f for f in IDENTITY_FIELDS if old.get(f) != new[f]]
        if differ:
            raise InputError(manifest_path, 1, 1,
                             f"{out_dir} holds a different sweep ({', '.join(differ)} differ); re-run the same "
                             "command to resume it, choose another --out, or pass --overwrite to replace it")
        return True
    if os.listdir(out_dir):
        raise InputError(out_dir, 1, 1, "exists and is not a sweep directory (no manifest.json); choose another "
                                        "--out or pass --overwrite")
    return False


def _prepare_dir(plan: SweepPlan, out_dir: str, overwrite: bool) -> Optional[str]:
    """Create ``out_dir`` (an --overwrite first moves the old one aside: returned) and write the manifest."""
    aside = None
    if overwrite and os.path.exists(out_dir):
        parent, name = os.path.split(out_dir)
        aside = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
        os.rename(out_dir, os.path.join(aside, name))
    os.makedirs(os.path.join(out_dir, "points"), exist_ok=True)
    _clear_temporaries(out_dir)
    _write_bytes(out_dir, "manifest.json", _dumps(plan.manifest()))
    return aside


def _finished(plan: SweepPlan, out_dir: str, point: SweepPoint) -> Optional[dict]:
    """The point's record if its file exists and belongs to this sweep."""
    record = _read_json(os.path.join(out_dir, "points", f"{point.id}.json"))
    if (isinstance(record, dict) and record.get("id") == point.id and record.get("overrides") == list(point.overrides)
            and record.get("scenario_sha256") == plan.scenario_sha256
            and record.get("base_overrides") == list(plan.overrides) and isinstance(record.get("metrics"), dict)):
        return record
    return None


def _default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _start_method(workers: int, rss: Optional[int] = None) -> str:
    """How the local cluster's nannies start their worker processes: ``"fork"`` or ``"spawn"``.

    ``fork`` (Linux): a worker is a copy of this process, which has already imported
    hashfleet, numpy, pandas, scipy and dask; it is ready in about 0.1 s and, ending with
    ``os._exit``, closes in a few milliseconds. ``spawn`` (dask's default) starts a fresh
    interpreter that imports all of them again (about 1 s per worker on a 2-core machine, before
    any point can start) and finalises it at the end (about 0.25 s). A forked worker also
    shares the imported modules' memory with this process (about 30 MB less of its own).

    A forked worker's resident memory starts at this process's (the pages are shared, but
    counted), and dask spills at 60 %, pauses at 80 % and restarts at 95 % of its memory limit
    (``auto``: the machine's memory over ``workers``). So a large client process (a notebook
    holding gigabytes) gets ``spawn``: fork only while this process uses less than
    :data:`FORK_MAX_RSS_FRACTION` of a worker's limit. Other systems than Linux get ``spawn``
    (fork is unsafe on macOS; Windows has none).

    Parameters
    ----------
    workers : int
        Worker processes of the cluster (one thread each).
    rss : int, optional
        This process's resident memory in bytes; default: measured.
    """
    import multiprocessing

    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    from distributed import system

    if rss is None:
        import psutil

        rss = psutil.Process().memory_info().rss
    return "fork" if rss < FORK_MAX_RSS_FRACTION * system.MEMORY_LIMIT / max(1, workers) else "spawn"


@contextlib.contextmanager
def _open_client(scheduler: Optional[str], workers: Optional[int], pending: int, retries: int):
    """A dask Client on ``scheduler`` or on a new LocalCluster of processes, closed on exit.

    The LocalCluster: ``workers`` processes (default the usable cores, never more than
    ``pending``) of one thread each, each under a nanny that restarts it if it dies; no
    dashboard (nobody is told its address); the scheduler's ``allowed-failures`` set to
    ``retries``; :data:`LOCAL_CLUSTER_CONFIG` and the start method of :func:`_start_method`,
    both kept in ``dask.config`` until the cluster is closed, as the nanny reads the start
    method again when it restarts a worker.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        where = f"--scheduler {_printable(scheduler)}"
        try:
            from distributed.comm.addressing import parse_address, parse_host_port

            protocol, location = parse_address(scheduler)
            host, _ = parse_host_port(location)
            if protocol not in ("tcp", "tls", "ws", "wss") or not host:
                raise ValueError(f"expected tcp://HOST:PORT, got {scheduler!r}")
        except ValueError as exc:
            raise InputError(where, 1, 1, f"{exc}; give the scheduler's address, e.g. tcp://10.0.0.5:8786") from None
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(where, 1, 1,
                             f"cannot reach the dask scheduler ({type(exc).__name__}: {exc}); start one with "
                             "`dask scheduler` and `dask worker ADDRESS`, or leave --scheduler out for a local "
                             "cluster") from None
        with client:
            yield client
        return
    n = min(workers or _default_workers(), max(1, pending))
    settings = {**LOCAL_CLUSTER_CONFIG, "distributed.scheduler.allowed-failures": retries,
                "distributed.worker.multiprocessing-method": _start_method(n)}
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1", silence_logs=logging.CRITICAL)
        try:
            with Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()


def run_sweep(plan: SweepPlan, out_dir: str, *, workers: Optional[int] = None, scheduler: Optional[str] = None,
              client=None, overwrite: bool = False, retries: int = DEFAULT_RETRIES,
              on_point: Optional[Callable[[int, int, SweepPoint, str], None]] = None) -> SweepResult:
    """Run the points of ``plan`` not yet finished in ``out_dir`` on dask, then gather them.

    Parameters
    ----------
    plan : SweepPlan
        From :func:`prepare`.
    out_dir : str
        The sweep directory (created; resumed when it holds the same sweep).
    workers : int, optional
        Worker processes of the LocalCluster (one thread each); default: the usable cores,
        never more than the points to run.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:port``) instead of a LocalCluster.
        Its workers need hashfleet installed and the scenario's data files (CSV inputs,
        ``hardware_dirs``) at the same paths.
    client : dask.distributed.Client, optional
        Use this client (a notebook's, or the tests' shared cluster).
    overwrite : bool
        Replace an existing ``out_dir`` (moved aside, deleted once this sweep has run).
    retries : int
        Further attempts of a point that raises or whose worker dies.
    on_point : callable, optional
        ``on_point(done, total, point, status)`` after each point (status ``"ok"``,
        ``"resumed"`` or ``"failed"``).

    Raises
    ------
    InputError
        ``out_dir`` holds another sweep or something else (without ``overwrite``),
        ``--scheduler`` cannot be reached, ``workers`` given with a scheduler.
    """
    if scheduler and workers:
        raise InputError("--workers", 1, 1, "--workers sizes the local cluster; a --scheduler cluster has its own "
                                            "workers (give one of the two)")
    out_dir = os.path.abspath(out_dir)
    resuming = _check_dir(plan, out_dir, overwrite)
    total = len(plan.points)
    records: list = [None] * total
    for point in plan.points:
        records[point.index] = _finished(plan, out_dir, point) if resuming else None
    pending = [p for p in plan.points if records[p.index] is None]
    with contextlib.ExitStack() as own:
        if pending and client is None:
            client = own.enter_context(_open_client(scheduler, workers, len(pending), retries))
        aside = _prepare_dir(plan, out_dir, overwrite)
        resumed = [p.id for p in plan.points if records[p.index] is not None]
        if on_point:
            for done, point in enumerate(p for p in plan.points if records[p.index] is not None):
                on_point(done + 1, total, point, "resumed")
        ran, failed = [], []
        if pending:
            ran, failed = _run_pending(client, plan, out_dir, pending, records, retries=retries, done=len(resumed),
                                       on_point=on_point)
    table = _gather(plan, out_dir, records, failed)
    if aside:
        shutil.rmtree(aside, ignore_errors=True)
    return SweepResult(out_dir=out_dir, plan=plan, records=records, ran=ran, resumed=resumed, failed=failed,
                       table=table)


def _run_pending(client, plan, out_dir, pending, records, *, retries, done, on_point):
    """Submit the pending points in grid order; write each point's file as it completes."""
    from dask.distributed import as_completed

    token = uuid.uuid4().hex[:8]
    ran, failed = [], []
    futures = [client.submit(run_point, plan.scenarios[point.index], plan.paths, plan.seed, _fault_for(point.id),
                             key=f"hashfleet-sweep-{token}-{point.id}", retries=retries, pure=False)
               for point in pending]
    point_of = {future.key: point for future, point in zip(futures, pending)}
    try:
        for future in as_completed(futures, loop=client.loop):
            point = point_of[future.key]
            if future.status == "finished":
                record = _record(plan, point, future.result())
                _write_bytes(out_dir, os.path.join("points", f"{point.id}.json"), _dumps(record))
                records[point.index] = record
                ran.append(point.id)
                status = "ok"
            else:
                exc = future.exception()
                failed.append({"id": point.id, "overrides": list(point.overrides),
                               "error": f"{type(exc).__name__}: {exc}"})
                status = "failed"
            future.release()
            done += 1
            if on_point:
                on_point(done, len(plan.points), point, status)
    finally:
        client.cancel([f for f in futures if not f.done()])  # an interrupted sweep leaves no work behind
    order = {p.id: p.index for p in plan.points}
    failed.sort(key=lambda f: order[f["id"]])
    return ran, failed


# --------------------------------------------------------------------------- gathering
def sweep_table(plan: SweepPlan, records: Sequence[dict]) -> pd.DataFrame:
    """One row per point in grid order: the swept keys, then ``{metric}``, ``{metric}_p5/_p50/_p95``."""
    data = {}
    for j, axis in enumerate(plan.axes):
        data[axis.key] = _value_column([p.values[j] for p in plan.points], [p.overrides[j] for p in plan.points],
                                       len(axis.key) + 1)
    metrics: dict = {}
    for record in records:
        metrics.update(dict.fromkeys(record["metrics"]))
    for name in metrics:
        stats = [r["metrics"].get(name) or {} for r in records]
        for stat, suffix in TABLE_STATS + ((("pooled", "_pooled"),) if name in RATIO_METRICS else ()):
            data[f"{name}{suffix}"] = np.array([np.nan if s.get(stat) is None else s[stat] for s in stats],
                                               dtype=float)
    return pd.DataFrame(data)


def _value_column(values: list, overrides: list, cut: int) -> np.ndarray:
    """Numbers stay numbers (int64 when all are integers), anything else the value as typed."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numbers:
        return np.array(values, dtype=np.int64 if all(isinstance(v, int) for v in values) else float)
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    return np.array([o[cut:] for o in overrides], dtype=object)


def _gather(plan: SweepPlan, out_dir: str, records: list, failed: list) -> Optional[pd.DataFrame]:
    """Write sweep.parquet and summary.json for a complete sweep, failed.json otherwise."""
    parquet, summary_path, failed_path = (os.path.join(out_dir, n) for n in ("sweep.parquet", "summary.json",
                                                                             "failed.json"))
    if failed:
        _write_bytes(out_dir, "failed.json", _dumps({"failed": failed}))
        for stale in (parquet, summary_path):
            if os.path.exists(stale):
                os.unlink(stale)
        return None
    table = sweep_table(plan, records)
    _write_atomic(out_dir, "sweep.parquet", lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow"))
    manifest = plan.manifest()
    summary = {k: manifest[k] for k in ("scenario", "scenario_file", "scenario_sha256", "overrides", "grid", "paths",
                                        "seed", "version")}
    summary["points"] = [{k: r[k] for k in ("id", "overrides", "values", "metrics")} for r in records]
    _write_bytes(out_dir, "summary.json", _dumps(summary))
    if os.path.exists(failed_path):
        os.unlink(failed_path)
    return table


def sweep(scenario_file: str, grid: Iterable[str], out_dir: str, *, overrides: Iterable[str] = (),
          paths: Optional[int] = None, seed: Optional[int] = None, **kwargs) -> SweepResult:
    """:func:`prepare` then :func:`run_sweep`: the notebook entry point.

    Examples
    --------
    >>> res = sweep("scenarios/contract_example.yaml",  # doctest: +SKIP
    ...             ["market.btc_price.drift_annual=-0.2,0,0.2,0.4", "network.hashrate.growth_annual=0,0.2,0.4,0.6"],
    ...             "out/regime_sweep", paths=50)
    >>> res.table.pivot(index="market.btc_price.drift_annual", columns="network.hashrate.growth_annual",
    ...                 values="end_nav_per_share_usd")  # doctest: +SKIP
    """
    plan = prepare(scenario_file, grid, overrides=overrides, paths=paths, seed=seed)
    return run_sweep(plan, out_dir, **kwargs)
