"""The daily actors driven by one SimPy process (``engine._Simulation.daily``): the same turns in the same order,
and the same numbers, as one SimPy process an actor with a timeout of a day each (the engine before session 37)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from simulator import engine
from test_blocks import _assert_same, _feature_rich

#: Every actor method of the engine: operating (a block of days a turn) and daily.
ACTORS = ("fleet", "life_cycle", "events", "market", "network", "site", "hosted", "hpc_projects", "pool",
          "fleet_trades", "company", "debt", "hedges", "close", "reporting")


def _logged(monkeypatch, log: list) -> None:
    """Each actor's turns logged as ``(actor, its argument's kind, the day)`` when they start."""
    def wrap(name, method):
        def actor(self, *args):
            turns = method(self, *args)
            if turns is None:
                return
            key = (name, type(args[0]).__name__ if args else None, args[0] if args and isinstance(args[0], int) else None)
            while True:
                log.append((*key, self.env.now))
                try:
                    event = next(turns)
                except StopIteration:
                    return
                yield event
        return actor
    for name in ACTORS:
        monkeypatch.setattr(engine._Simulation, name, wrap(name, getattr(engine._Simulation, name)))


def _one_process_an_actor(monkeypatch) -> None:
    """The reference: each daily actor a SimPy process of its own, started after the operating actors in
    :meth:`daily_actors`' order, waiting a day after each turn (``daily`` a process that does nothing)."""
    actors = engine._Simulation.actors

    def as_process(self, turns):
        for _ in turns:
            yield self.env.timeout(1)

    def nothing(self):
        return
        yield

    monkeypatch.setattr(engine._Simulation, "daily", nothing)
    monkeypatch.setattr(engine._Simulation, "actors", lambda self: itertools.chain(
        actors(self), (as_process(self, turns) for turns in self._daily)))


@pytest.mark.parametrize("policies", [None, {"retire": {"negative_margin_days": 5}, "stop": {"negative_margin_days": 2}}],
                         ids=["stop", "retire"])
def test_the_daily_actors_take_their_turns_in_the_order_of_one_process_each(monkeypatch, policies):
    """Operating blocks of 1–30 days (a retire policy cuts them to one day where a cohort may retire), dated
    events, cohort changes and paths stopping: every actor's turn on the same day and in the same place among
    the others', and every per-path metric, kept daily row, monthly line and daily quantile, bit for bit."""
    scenario = _feature_rich(120, 6, policies=policies)
    driven, reference, timeouts = [], [], {"driven": [], "reference": []}
    timeout = engine.simpy.Environment.timeout
    for log, kind in ((driven, "driven"), (reference, "reference")):
        with monkeypatch.context() as m:
            _logged(m, log)
            m.setattr(engine.simpy.Environment, "timeout", lambda env, delay=0, value=None, kind=kind:
                      timeouts[kind].append(delay) or timeout(env, delay, value))
            if kind == "reference":
                _one_process_an_actor(m)
            results = engine.simulate(scenario, workers=1, keep_paths=3)
            if kind == "driven":
                ours = results
    _assert_same(ours, results)
    assert driven == reference
    daily = {k[:3] for k in driven if k[0] in ("company", "debt", "hedges", "close", "reporting")}
    assert len(daily) >= 5 and all(sum(1 for k in driven if k[:3] == a) == 120 for a in daily)  # a turn each a day
    assert len({k[-1] for k in driven if k[0] == "site"}) < 120  # (sites advance blocks of several days)
    # one SimPy timeout a day for all the daily actors, instead of one each
    assert len(timeouts["reference"]) - len(timeouts["driven"]) == (len(daily) - 1) * 120
    assert np.isfinite(ours.path_metrics["btc_mined"]).all()
