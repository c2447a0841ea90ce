"""The network's days shared by the runs of a workflow (``compare``'s companies, ``upgrade --rank``'s models).

A workflow's runs stand side by side on common random numbers: every company of ``compare`` and
every model of ``upgrade --rank`` sees the same BTC price, fees and network on path ``i``. The
network of a run (its hashrate, blocks, retargets, halvings and the reward per H/s, the
:class:`~simulator.network.NetworkBlock` of each block of days) is a function of its inputs only:

* the hashrate model as built (its parameters, and a csv or history replay's data: never the
  path written in the file, which each scenario resolves against its own folder), the chain at
  the start, the horizon, the seed and the path ids (the ``network_hashrate`` and ``blocks``
  streams, keyed by seed, component and path), which make the :func:`key`;
* day by day, the fees per block the market hands it and the hashrate shocks of the events
  (and the BTC price, which only the endogenous model reads: it is never shared).

A workflow (:func:`simulator.workflows.runs.simulate_each`) runs each of its runs inside
:func:`sharing` with one :class:`Records` per process: the first run of a key records its network
day by day (:class:`NetworkDays`); a later run with the same key replays the recorded days for as
long as its fees and shocks equal the recorded ones bit for bit — and from the first day they do
not, it rebuilds its chain from the recorded inputs up to that day and computes the rest itself.
Either way each day's numbers are those :func:`simulator.network.advance_block` gives, bit for bit
(``tests/test_shared_network.py``). A run whose paths are a contiguous part of a recorded run's (a
chunk of a workflow's run) replays those columns of the record (:class:`RunKey`). Only the process that entered :func:`sharing` records (a run's
chunk workers, forked inside, do not), and never a record over :data:`MAX_BYTES`. Memory: 8
floats a path-day per recorded key, at most :data:`MAX_BYTES` kept (oldest first out).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from simulator.network import ChainState, DayBlocks, EndogenousHashrate, HashrateDays, NetworkBlock, advance_block

#: Most bytes of recorded network days kept in a process (a 500-path two-year run records 23 MB).
MAX_BYTES = 256 * 2**20


class Records(OrderedDict):
    """A process's recorded networks, by key (oldest first)."""


_SHARED: tuple[Records, int] | None = None  # inside `sharing()`: the records and the process that may use them


@contextlib.contextmanager
def sharing(records: Records):
    """The runs inside, in this process, share their networks through ``records``."""
    global _SHARED
    outer, _SHARED = _SHARED, (records, os.getpid())
    try:
        yield
    finally:
        _SHARED = outer


def _records() -> Records | None:
    """The records of :func:`sharing` if this process entered it (a forked chunk worker did not)."""
    return _SHARED[0] if _SHARED is not None and _SHARED[1] == os.getpid() else None


class RunKey(str):
    """A run's key: the digest of everything its network reads, its path ids and start chain included.
    It also carries the digest of all but those (``base``), the path ids and the chain's arrays, so that a
    run whose paths are a contiguous part of a recorded run's, with the same start chain on them (a chunk
    of a workflow's run, :mod:`simulator.workflows.chunks`), replays that part of the record: path ``i``'s
    network depends only on the key's other inputs and ``i``."""

    base: str
    path_ids: np.ndarray
    chain: tuple


def key(seed: int, path_ids: np.ndarray, horizon_days: int, blocks: str, hashrate_model,
        chain: ChainState) -> RunKey | None:
    """The digest of what a run's network depends on besides its daily inputs (None: not shared —
    outside :func:`sharing`, or an endogenous hashrate, which reads the BTC price). The model is
    hashed as built (its pickle: parameters, a history replay's data, a csv model's resolved path)
    and a csv model's file with it."""
    if _records() is None or isinstance(hashrate_model, EndogenousHashrate):
        return None
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{int(seed)}\0{int(horizon_days)}\0{blocks}\0".encode())
    h.update(pickle.dumps(hashrate_model, protocol=5))
    if isinstance(getattr(hashrate_model, "file", None), str):  # a csv model holds its (resolved) path: its data too
        with open(hashrate_model.file, "rb") as fh:
            h.update(fh.read())
    base = h.hexdigest()
    arrays = (chain.height, chain.difficulty, chain.epoch_start_s, chain.next_retarget)
    for a in (path_ids, *arrays):
        h.update(np.ascontiguousarray(a).tobytes())
    out = RunKey(h.hexdigest())
    out.base, out.path_ids, out.chain = base, np.asarray(path_ids), tuple(np.asarray(a) for a in arrays)
    return out


def _part_of_a_record(records: Records, run_key: RunKey) -> "NetworkDays | None":
    """The columns of a recorded run for ``run_key``'s paths, where they are a contiguous part of its with the
    same start chain (None: no such record)."""
    ids = run_key.path_ids
    for recorded_key, days in reversed(records.items()):
        if getattr(recorded_key, "base", None) != run_key.base or not len(ids):
            continue
        a = int(np.searchsorted(recorded_key.path_ids, ids[0]))
        b = a + len(ids)
        if b <= len(recorded_key.path_ids) and np.array_equal(recorded_key.path_ids[a:b], ids) \
                and all(np.array_equal(x[a:b], y) for x, y in zip(recorded_key.chain, run_key.chain)):
            return days.paths(a, b)
    return None


#: The :class:`NetworkDays` fields with a column per path.
_PER_PATH = ("hashrate_ehs", "blocks", "expected_blocks", "reward_btc_per_hs_day", "miner_revenue_btc", "difficulty",
             "height", "fees_btc_per_block")


@dataclass
class NetworkDays:
    """A run's network and its daily inputs, day by day: each output ``(days, paths)``, ``fees`` the
    fees per block [BTC] ``(days, paths)``, ``shock`` the hashrate shock taken each day ``(days,)``."""

    hashrate_ehs: np.ndarray
    blocks: np.ndarray
    expected_blocks: np.ndarray
    reward_btc_per_hs_day: np.ndarray
    miner_revenue_btc: np.ndarray
    difficulty: np.ndarray
    height: np.ndarray
    fees_btc_per_block: np.ndarray
    shock: np.ndarray

    @classmethod
    def empty(cls, days: int, paths: int) -> "NetworkDays":
        return cls(*np.empty((8, days, paths)), np.ones(days))

    def same_inputs(self, first: int, n: int, fees_btc_per_block: np.ndarray, shock: float) -> bool:
        """Whether days ``first … first + n − 1`` had these fees and this shock on their first day (none after)."""
        return (self.shock[first] == shock and not (self.shock[first + 1:first + n] != 1.0).any()
                and np.array_equal(self.fees_btc_per_block[first:first + n], fees_btc_per_block, equal_nan=True))

    def write(self, first: int, net: NetworkBlock, fees_btc_per_block: np.ndarray, shock: float) -> None:
        """Record the block of days from ``first``."""
        n = len(net.height)
        b = net.blocks
        for name, value in (("hashrate_ehs", net.hashrate_ehs), ("blocks", b.blocks),
                            ("expected_blocks", b.expected_blocks), ("reward_btc_per_hs_day", b.reward_btc_per_hs_day),
                            ("miner_revenue_btc", b.miner_revenue_btc), ("difficulty", net.difficulty),
                            ("height", net.height), ("fees_btc_per_block", fees_btc_per_block)):
            getattr(self, name)[first:first + n] = value
        self.shock[first], self.shock[first + 1:first + n] = shock, 1.0

    def block(self, first: int, n: int) -> NetworkBlock:
        """Days ``first … first + n − 1`` as the network's block (copies: the run's own arrays)."""
        def rows(x):
            return x[first:first + n].copy()
        return NetworkBlock(rows(self.hashrate_ehs),
                            DayBlocks(rows(self.blocks), rows(self.expected_blocks), rows(self.reward_btc_per_hs_day),
                                      rows(self.miner_revenue_btc)),
                            rows(self.difficulty), rows(self.height))

    def paths(self, a: int, b: int) -> "NetworkDays":
        """The record of the paths at positions ``a … b − 1`` (views)."""
        return NetworkDays(*(getattr(self, name)[:, a:b] for name in _PER_PATH), self.shock)

    @property
    def nbytes(self) -> int:
        return self.bytes_for(*self.height.shape)

    @staticmethod
    def bytes_for(days: int, paths: int) -> int:
        """The bytes of a record of ``days`` × ``paths``: 8 floats a path-day (and a day's shock)."""
        return 8 * days * (8 * paths + 1)


def recorded(run_key: str | None) -> NetworkDays | None:
    """The recorded days of an earlier run with this key, or of a run whose paths hold this one's (None: none,
    or not shared)."""
    records = _records()
    if run_key is None or records is None:
        return None
    if run_key not in records:
        return _part_of_a_record(records, run_key) if isinstance(run_key, RunKey) else None
    records.move_to_end(run_key)
    return records[run_key]


def keep(run_key: str | None, days: NetworkDays) -> None:
    """Keep a finished run's days for the later runs with its key (the oldest dropped past :data:`MAX_BYTES`)."""
    records = _records()
    if run_key is None or records is None:
        return
    records[run_key] = days
    records.move_to_end(run_key)
    while sum(d.nbytes for d in records.values()) > MAX_BYTES:
        records.popitem(last=False)


class NetworkRun:
    """A run's network, a block of days at a time: computed (:func:`simulator.network.advance_block`,
    the Poisson uniforms drawn a year of ``year_days`` at a time), or replayed from an earlier run's
    record while the inputs are the same; recorded for the later runs when the run is shared.

    ``streams`` are the run's :class:`~simulator.rng.PathStreams` by component; blocks must not
    cross a multiple of ``year_days`` (:func:`simulator.block.block_bounds`).
    """

    def __init__(self, hashrate_model, chain: ChainState, streams: dict, days: int, poisson: bool,
                 year_days: int, run_key: str | None):
        paths = len(chain.height)
        self.hashrate = HashrateDays(hashrate_model, paths, streams["network_hashrate"], year_days)
        self.chain, self.blocks_stream, self.days, self.poisson, self.year_days = \
            chain, streams["blocks"], days, poisson, year_days
        self.key, self.replaying = run_key, recorded(run_key)
        # the first run of a key records (a replayed run's record exists; one that parts from it is its own)
        records = run_key is not None and self.replaying is None and NetworkDays.bytes_for(days, paths) <= MAX_BYTES
        self.own = NetworkDays.empty(days, paths) if records else None
        self.u_blocks = None

    def block(self, first: int, n: int, price_usd: np.ndarray, fees_btc_per_block: np.ndarray,
              shock: float) -> NetworkBlock:
        """Days ``first … first + n − 1`` (``price_usd``, ``fees_btc_per_block`` ``(n, paths)``; ``shock``
        the hashrate shock taken on the first day); the run is kept for later runs after its last block."""
        r = self.replaying
        if r is not None and r.same_inputs(first, n, fees_btc_per_block, shock):
            net = r.block(first, n)
        else:
            if r is not None:  # the inputs part from the record's today: its chain, from its inputs up to today
                self.replaying = None
                self._rebuild(r, first)
            net = self._advance(first, n, price_usd, fees_btc_per_block, shock)
        if self.own is not None:
            self.own.write(first, net, fees_btc_per_block, shock)
            if first + n == self.days:  # the run's last block: kept for the later runs with its key
                keep(self.key, self.own)
        return net

    def _advance(self, first: int, n: int, price_usd, fees_btc_per_block, shock: float) -> NetworkBlock:
        i = first % self.year_days
        if i == 0 and self.poisson:
            self.u_blocks = self.blocks_stream.uniform((min(self.year_days, self.days - first),))
        self.chain, net = advance_block(self.chain, self.hashrate, first, n, self.days, price_usd, fees_btc_per_block,
                                        self.u_blocks[i:i + n] if self.poisson else None, shock)
        return net

    def _rebuild(self, r: NetworkDays, until: int) -> None:
        """Compute days ``0 … until − 1`` from the record's inputs (the same as this run's), in blocks cut at
        the years and at the shocks (a replayed run is never endogenous: the price is not read)."""
        cuts = sorted({0, until, *range(0, until, self.year_days), *np.flatnonzero(r.shock[:until] != 1.0).tolist()})
        for a, b in zip(cuts, cuts[1:]):
            self._advance(a, b - a, None, r.fees_btc_per_block[a:b], float(r.shock[a]))
