"""``hashfleet backtest``: a scenario's fleet, sites and company on real history.

:func:`backtest` loads a scenario, moves it to ``[date_from, date_to]`` and swaps its market
and network for a replay of history: the real BTC closes and fees per block
(:class:`simulator.market.replay.HistoryPrice`, :class:`~simulator.market.replay.HistoryFees`)
and the real network hashrate, block counts and difficulty
(:class:`simulator.network.HistoryNetwork`: blocks and retargets come from history, not from
the simulation, and the chain starts from history's height, difficulty and epoch start,
replacing the scenario's). Everything the company controls — fleet, sites, curtailment,
pool, events — is the scenario's; purchases, HPC projects and events dated after
``date_to`` are left out (with a note), since they cannot touch the window. One path is
simulated by default: the market is no longer random (index power prices, failures and pool
luck still draw from the seed). The outputs are ``run``'s.

History is the shipped Coin Metrics file (CC BY-NC 4.0: non-commercial use) unless
``history`` names another file with the same columns.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Iterable

from simulator.chain import RETARGET_INTERVAL
from simulator.config.loader import load_with_overrides, validate_document
from simulator.config.schema import Provenance
from simulator.engine import simulate
from simulator.errors import InputError
from simulator.market.history import load_history
from simulator.market.replay import epoch_times
from simulator.network import HistoryNetwork
from simulator.results import Results


def _date(option: str, value) -> dt.date:
    """An option's ISO date, or InputError at ``--from VALUE:1:1``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{option} {value}", 1, 1, "expected an ISO date YYYY-MM-DD") from None


def _set(doc, path: tuple, value, where: str) -> None:
    """Set ``path`` of the scenario document to ``value``, its position the option that caused it."""
    node = doc.data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    for table in (doc.value_pos, doc.key_pos):
        for k in [k for k in table if k[:len(path)] == path]:
            del table[k]
        table[path] = (where, 1, 1)


#: Dated list items of a scenario and the key holding their date.
_DATED = (("purchases", "delivery"), ("hpc", "start"), ("events", "date"))


def _drop_after(doc, end: dt.date) -> list[str]:
    """Remove purchases, HPC projects and events dated after ``end`` (they cannot touch the window).

    Positions of the items that stay are renumbered, so errors still cite their own lines.
    Returns one note per item removed.
    """
    notes = []
    for section, key in _DATED:
        items = doc.data.get(section)
        if not isinstance(items, list):
            continue
        keep = []
        for i, item in enumerate(items):
            when = item.get(key) if isinstance(item, dict) else None
            try:
                late = when is not None and dt.date.fromisoformat(str(when)) > end
            except ValueError:
                late = False  # a bad date: validation reports it
            if late:
                notes.append(f"backtest: {section}[{i}] ({key} {when}) is after --to {end}; left out")
            else:
                keep.append(i)
        if len(keep) == len(items):
            continue
        doc.data[section] = [items[i] for i in keep]
        new_index = {old: new for new, old in enumerate(keep)}
        for table in (doc.value_pos, doc.key_pos):
            moved = {}
            for k in [k for k in table if len(k) > 1 and k[0] == section]:
                pos = table.pop(k)
                if k[1] in new_index:
                    moved[(section, new_index[k[1]]) + k[2:]] = pos
            table.update(moved)
    return notes


def replay_window(history, date_from, date_to) -> tuple[dt.date, dt.date]:
    """Check that ``date_from … date_to`` is a window of ``history``; return the two dates.

    Raises
    ------
    InputError
        A bad date, ``date_from`` after ``date_to``, or a day outside the history, at the
        option that gave it (``--from 2005-01-01:1:1: ...``).
    """
    start, end = _date("--from", date_from), _date("--to", date_to)
    if start > end:
        raise InputError(f"--from {start}", 1, 1, f"is after --to {end}; the backtest runs from --from to --to "
                                                 f"inclusive")
    first, last = history.index[0].date(), history.index[-1].date()
    shown = history.attrs.get("file", "history")
    for option, day in (("--from", start), ("--to", end)):
        if not first <= day <= last:
            raise InputError(f"{option} {day}", 1, 1, f"outside the history {shown} ({first} … {last}); choose a "
                                                      f"date inside it or pass --history FILE")
    return start, end


def backtest(src: str | Path, *, date_from, date_to, history: str | Path | None = None,
             overrides: Iterable[str] = (), paths: int = 1, seed: int | None = None, keep_paths: int = 20,
             progress: bool = False, workers: int | None = None, max_memory_bytes: int | None = None) -> Results:
    """Run a scenario file on history from ``date_from`` to ``date_to`` (both inclusive).

    Parameters
    ----------
    src : str or Path
        Scenario file (its ``start``, ``horizon_days``, ``paths``, ``market.btc_price``,
        ``market.fees`` and ``network.hashrate`` are replaced).
    date_from, date_to : datetime.date or ISO str
        First and last replayed day.
    history : str or Path, optional
        Daily history CSV (columns of :func:`simulator.market.history.load_history`);
        default the shipped Coin Metrics data.
    overrides : iterable of str
        ``--set`` overrides, applied before the replay's replacements.
    paths : int
        Paths (default 1: the market is history; more paths only vary index power prices,
        failures and pool luck, which still draw from the seed).
    seed : int, optional
        Seed (default the scenario's).
    keep_paths : int
        Paths whose daily rows are kept.
    progress : bool
        Print progress on stderr.
    workers : int, optional
        Processes sharing the paths (:func:`simulator.engine.simulate`).
    max_memory_bytes : int, optional
        Memory limit of the run's estimate (:func:`simulator.engine.check_memory`).

    Returns
    -------
    Results
        As :func:`simulator.engine.simulate`; ``meta["backtest"]`` records ``from``, ``to``
        and the history file.

    Raises
    ------
    InputError, InputErrors
        Bad dates, dates outside the history, an unreadable history or scenario, or a
        scenario that does not fit the window (a delivery before ``date_from``).

    Examples
    --------
    >>> res = backtest("scenarios/halving_crossing.yaml", date_from="2024-04-15", date_to="2024-04-24")
    >>> res.daily.loc[res.daily.date == dt.date(2024, 4, 20), "height"].item()  # Coin Metrics' day
    840133.0
    """
    frame = load_history(history)
    start, end = replay_window(frame, date_from, date_to)
    overrides = tuple(overrides)
    doc, sha = load_with_overrides(src, overrides)
    days = (end - start).days + 1
    # history's network start values, as DESIGN.md defines them: the tip, and the difficulty and
    # first-block time of the epoch holding it (the engine's replay starts from history anyway)
    tip = int(HistoryNetwork.from_history(frame, start, days).initial_height)
    epoch = epoch_times(frame).iloc[tip // RETARGET_INTERVAL]
    epoch_start = dt.datetime.fromtimestamp(round(float(epoch.time_unix)), dt.timezone.utc)
    replay = {"model": "history"}
    if history is not None:
        replay["history_csv"] = os.path.abspath(str(history))
    where = f"--from {start}"
    for path, value in {("start",): start, ("horizon_days",): days, ("paths",): int(paths),
                        ("market", "btc_price"): dict(replay), ("market", "fees"): dict(replay),
                        ("network", "hashrate"): dict(replay), ("network", "initial_height"): tip,
                        ("network", "initial_difficulty"): float(epoch.difficulty),
                        ("network", "epoch_start_time"): epoch_start.isoformat()}.items():
        _set(doc, path, value, where)
    notes = _drop_after(doc, end)
    scenario = validate_document(doc, str(src))
    scenario._provenance = Provenance(file=str(src), sha256=sha, overrides=overrides,
                                      base_dir=os.path.dirname(os.path.abspath(str(src))))
    results = simulate(scenario, seed=seed, keep_paths=keep_paths, progress=progress, workers=workers,
                       max_memory_bytes=max_memory_bytes)
    results.meta["backtest"] = {"from": start.isoformat(), "to": end.isoformat(),
                                "history": frame.attrs.get("file", str(history))}
    results.notes = notes + results.notes
    return results
