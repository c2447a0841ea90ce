"""YAML 1.2 core-schema reading with a position for every key and value.

PyYAML (the project's parser) resolves plain scalars with YAML 1.1 rules: ``1.5e14`` is a
string, ``yes``/``on`` are booleans. DESIGN.md fixes the YAML 1.2 core schema instead:

* booleans are only ``true`` / ``false``; ``yes``, ``no``, ``on``, ``off`` are strings;
* integers are decimal (``-12``, ``930000``); floats look like ``1.5``, ``.5``, ``1.5e14``;
* ``.nan`` and ``.inf`` are errors (no metric or input may be NaN or infinite);
* ISO dates (``2026-01-01``) become :class:`datetime.date`; an impossible date is an error;
* ``null``/``~``/empty are ``None``; every other plain scalar is a string; explicit tags
  (``!!python/object``) are refused: the loader is safe.

The document is composed into nodes and walked here (not constructed by PyYAML) so that
each value keeps its ``file:line:col`` and duplicate keys, alias bombs and excessive nesting
are reported as errors rather than silently accepted.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import yaml

from simulator.errors import InputError

#: A position: (file, 1-based line, 1-based column).
Pos = tuple[str, int, int]
#: The address of a value in the document: keys and list indices from the root.
Path = tuple

MAX_NODES = 100_000
MAX_DEPTH = 64

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NONFINITE = re.compile(r"^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$")
_BOOL = re.compile(r"^(true|false)$")
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")


class _Loader(yaml.SafeLoader):
    """SafeLoader whose implicit resolvers follow the YAML 1.2 core schema (see module doc)."""

    yaml_implicit_resolvers: dict = {}


for _tag, _regex, _first in [
    ("tag:yaml.org,2002:bool", _BOOL, list("tf")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
    ("tag:hashfleet,nonfinite", _NONFINITE, list("-+.")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:timestamp", _DATE, list("0123456789")),
]:
    _Loader.add_implicit_resolver(_tag, _regex, _first)

if getattr(yaml, "__with_libyaml__", False):
    class _CLoader(yaml.CSafeLoader):
        """libyaml's parser and composer with :class:`_Loader`'s YAML 1.2 resolvers
        (:func:`parse_packaged`)."""

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
else:  # PyYAML built without libyaml
    _CLoader = None


@dataclass
class Document:
    """A parsed YAML document: plain Python data plus positions.

    ``value_pos[path]`` is where the value at ``path`` starts, ``key_pos[path]`` where its
    key is written (for mapping entries).
    """

    data: object
    value_pos: dict
    key_pos: dict

    def pos(self, path: Path, *, key: bool = False) -> Pos:
        """The position of ``path``, or of its nearest written ancestor."""
        table = self.key_pos if key else self.value_pos
        path = tuple(path)
        while path:
            if path in table:
                return table[path]
            if path in self.value_pos:
                return self.value_pos[path]
            path = path[:-1]
        return self.value_pos.get((), ("<unknown>", 1, 1))


def _mark(file: str, node_or_mark) -> Pos:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return (file, mark.line + 1, mark.column + 1)


def _scalar(file: str, node: yaml.ScalarNode):
    tag, value = node.tag, node.value
    if tag == "tag:yaml.org,2002:str" or node.style in ("'", '"', "|", ">"):
        return value
    if tag == "tag:yaml.org,2002:bool":
        return value == "true"
    if tag == "tag:yaml.org,2002:int":
        return int(value)
    if tag == "tag:yaml.org,2002:float":
        return float(value)
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:hashfleet,nonfinite":
        raise InputError(*_mark(file, node), f"{value!r} is not allowed: numbers must be finite")
    if tag == "tag:yaml.org,2002:timestamp":
        try:
            return dt.date.fromisoformat("-".join(p.zfill(2) for p in value.split("-")))
        except ValueError as exc:
            raise InputError(*_mark(file, node), f"impossible date {value!r} ({exc}); write a real date as YYYY-MM-DD") from None
    raise InputError(*_mark(file, node), f"tag {tag!r} is not allowed; write plain YAML values")


def parse(text: str, file: str) -> Document:
    """Parse one YAML document from ``text`` (read from ``file``) into a :class:`Document`.

    Raises :class:`InputError` at the first syntax error, duplicate key, non-finite number,
    impossible date, explicit tag, alias bomb or over-deep nesting.

    Examples
    --------
    >>> doc = parse("a: 1.5e14\\nb: yes\\nc: [1, 2026-01-02]\\n", "x.yaml")
    >>> doc.data
    {'a': 150000000000000.0, 'b': 'yes', 'c': [1, datetime.date(2026, 1, 2)]}
    >>> doc.pos(("c", 1))
    ('x.yaml', 3, 8)
    """
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character PyYAML refuses to read
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise InputError(file, line, col, f"character {exc.character!r} is not allowed in YAML text") from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "'\\t'" in problem:
            problem = "a tab character; YAML indents with spaces only"
        where = f" {exc.context}" if exc.context and exc.context_mark else ""
        raise InputError(file, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                         f"malformed YAML: {problem}{where}") from None
    except yaml.YAMLError as exc:
        raise InputError(file, 1, 1, f"malformed YAML: {exc}") from None
    except RecursionError:
        raise InputError(file, 1, 1, f"nesting is too deep (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
    return _document(node, file)


def parse_packaged(text: str, file: str) -> Document:
    """:func:`parse` for the files shipped in the package (the hardware profiles), composed by
    libyaml's C parser when PyYAML has it (about 15 times faster; the same nodes, resolved by
    the same YAML 1.2 rules). Any error re-parses the text with :func:`parse`, so the message
    and its position are always the pure-Python reader's.

    Examples
    --------
    >>> text = "a: 1.5e14\\nb: yes\\nc: [1, 2026-01-02]\\n"
    >>> parse_packaged(text, "x.yaml") == parse(text, "x.yaml")
    True
    """
    if _CLoader is None:
        return parse(text, file)
    try:
        loader = _CLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        return _document(node, file)
    except Exception:  # noqa: BLE001 - the pure-Python reader reports it, with its own message
        return parse(text, file)


def _document(node, file: str) -> Document:
    """The :class:`Document` of a composed node tree: values with their positions, checked."""
    value_pos: dict = {}
    key_pos: dict = {}
    count = [0]

    def walk(n, path: tuple):
        count[0] += 1
        if count[0] > MAX_NODES:
            raise InputError(*_mark(file, n), f"document expands to more than {MAX_NODES:,} values (an alias bomb?)")
        if len(path) > MAX_DEPTH:
            raise InputError(*_mark(file, n), f"nesting is too deep (more than {MAX_DEPTH} levels)")
        value_pos[path] = _mark(file, n)
        if isinstance(n, yaml.ScalarNode):
            return _scalar(file, n)
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, path + (i,)) for i, item in enumerate(n.value)]
        if isinstance(n, yaml.MappingNode):
            out: dict = {}
            for k, v in n.value:
                if not isinstance(k, yaml.ScalarNode):
                    raise InputError(*_mark(file, k), "a mapping key must be a plain name")
                key = k.value
                if key in out:
                    first = key_pos[path + (key,)]
                    raise InputError(*_mark(file, k), f"duplicate key {key!r} (first written at line {first[1]})")
                key_pos[path + (key,)] = _mark(file, k)
                out[key] = walk(v, path + (key,))
            return out
        raise InputError(*_mark(file, n), "unsupported YAML node")

    if node is None:
        return Document(None, {(): (file, 1, 1)}, {})
    return Document(walk(node, ()), value_pos, key_pos)
