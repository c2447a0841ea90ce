"""Keys that moved: read at their old place with a warning naming ``file:line`` and the new key.

Issue 20: ``network_power_usd_per_mwh`` and ``mix_years`` were written twice, under an
``endogenous`` ``network.hashrate`` and under ``signals``, for one fact about the world (the
power price the rest of the network pays, and the release years its fleet spans). They now
live once, under ``network`` (docs/decisions.md, "Issue 20"), where the endogenous hashrate
model and the signal columns both read them. A document using an old place still loads:
each old key is moved to the new one before validation, and a
:class:`ScenarioDeprecationWarning` is issued at the scenario file and line where the old key
was written (so Python's warning line reads ``scenario.yaml:12: ScenarioDeprecationWarning:
…``, and the message names the column and the new key). Two places giving different values,
or an old and the new place both given, are an error.
"""
from __future__ import annotations

import warnings

from simulator.errors import InputError
from simulator.yaml12 import Document

__all__ = ["MOVED_KEYS", "ScenarioDeprecationWarning", "move_deprecated_keys"]

#: Old key path -> new key path.
MOVED_KEYS: dict[tuple, tuple] = {
    ("signals", "network_power_usd_per_mwh"): ("network", "network_power_usd_per_mwh"),
    ("signals", "mix_years"): ("network", "mix_years"),
    ("network", "hashrate", "network_power_usd_per_mwh"): ("network", "network_power_usd_per_mwh"),
    ("network", "hashrate", "mix_years"): ("network", "mix_years"),
}


class ScenarioDeprecationWarning(UserWarning):
    """A scenario key written at an old place; the message says where it now belongs."""


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


def _get(data, path: tuple):
    """The mapping holding ``path[-1]`` if every step exists and holds it, else None."""
    node = data
    for step in path[:-1]:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node if isinstance(node, dict) and path[-1] in node else None


def move_deprecated_keys(doc: Document) -> Document:
    """``doc`` with every key of :data:`MOVED_KEYS` moved to its new place, each with a warning.

    Positions move along, so an error in a moved value still cites where it was written.

    Raises
    ------
    InputError
        The new key and an old one are both written, or two old places give different values.

    Examples
    --------
    >>> import warnings
    >>> from simulator.yaml12 import parse
    >>> doc = parse("network: {initial_height: 1}\\nsignals: {mix_years: 3}\\n", "s.yaml")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     moved = move_deprecated_keys(doc)
    >>> moved.data, moved.pos(("network", "mix_years"))
    ({'network': {'initial_height': 1, 'mix_years': 3}, 'signals': {}}, ('s.yaml', 2, 22))
    >>> print(caught[0].filename, caught[0].lineno, caught[0].message)
    s.yaml 2 s.yaml:2:11: signals.mix_years is deprecated; write network.mix_years (the same setting, in one place)
    """
    found = [(old, new) for old, new in MOVED_KEYS.items() if _get(doc.data, old) is not None]
    if not found:
        return doc
    found.sort(key=lambda pair: doc.pos(pair[0], key=True))  # in the order they were written
    data = _copy(doc.data)
    value_pos, key_pos = dict(doc.value_pos), dict(doc.key_pos)
    written: dict[tuple, tuple] = {}  # new path -> the old path that supplies it
    for old, new in found:
        key_at = doc.pos(old, key=True)
        value = _get(data, old)[old[-1]]
        if _get(doc.data, new) is not None:
            raise InputError(*key_at, f"{_dotted(old)} and {_dotted(new)} are the same setting; write it once, as "
                                      f"{_dotted(new)}")
        if new in written:
            first = written[new]
            if _get(data, new)[new[-1]] != value:
                raise InputError(*key_at, f"{_dotted(old)} = {value!r} disagrees with {_dotted(first)} "
                                          f"(line {doc.pos(first, key=True)[1]}); they are one setting now, "
                                          f"{_dotted(new)}: write it once")
        else:
            parent = data
            for step in new[:-1]:
                parent = parent.setdefault(step, {})
            parent[new[-1]] = value
            written[new] = old
            for table in (value_pos, key_pos):
                if old in table:
                    table[new] = table[old]
        del _get(data, old)[old[-1]]
        file, line, col = key_at
        warnings.warn_explicit(f"{file}:{line}:{col}: {_dotted(old)} is deprecated; write {_dotted(new)} "
                               "(the same setting, in one place)", ScenarioDeprecationWarning, file, line,
                               registry={})
    return Document(data, value_pos, key_pos)


def _copy(value):
    """A copy of the document's mappings and lists (the scalars are immutable)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
