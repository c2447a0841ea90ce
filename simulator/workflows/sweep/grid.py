"""Sweep grids: ``--grid KEY=V1,V2,...`` axes, their points, and the validated plan."""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from simulator import __version__
from simulator.config import load_scenario
from simulator.config.loader import parse_override
from simulator.errors import InputError, InputErrors

#: Format tag of manifest.json (bumped if its meaning changes).
MANIFEST_FORMAT = "hashfleet-sweep/1"


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
        return f"--grid {printable(self.source)}"


def printable(text: str) -> str:
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
    where = f"--grid {printable(text)}"
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
        if any(canonical(value) == canonical(v) and type(value) is type(v) for v in values):
            raise InputError(where, 1, col, f"{piece!r} is listed twice; each value of an axis gives one point")
        texts.append(piece)
        values.append(value)
        cols.append(col)
    return GridAxis(key=key, path=path, texts=tuple(texts), values=tuple(values), cols=tuple(cols), source=text)


def canonical(value):
    """A JSON-ready copy of a parsed YAML value (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
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
    blob = json.dumps([[k, canonical(v)] for k, v in zip(keys, values)], sort_keys=True,
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
                                 values=tuple(canonical(v) for v in values)))
    return points


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
            "grid": [{"key": a.key, "values": [canonical(v) for v in a.values]} for a in self.axes],
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
                                                       f"{printable(seen[axis.path].source)}); give one --grid per key"))
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
        if err.file == f"--set {printable(override)}":
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

