"""Load a scenario file: read, merge includes, apply ``--set`` overrides, validate, check.

Every problem becomes an :class:`~simulator.errors.InputError` at the ``file:line:col`` where
the offending value was written (in the including file or a fragment), or at the ``--set``
that supplied it. :func:`load_scenario` raises :class:`~simulator.errors.InputErrors` with
all errors found, so ``hashfleet validate`` can print every one of them.
"""
from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import os
import re
import typing
from typing import Iterable

import pydantic
from pydantic import BaseModel

from simulator.config import checks
from simulator.config.deprecations import move_deprecated_keys
from simulator.config.schema import Provenance, Scenario
from simulator.yaml12 import Document, Pos, parse
from simulator.errors import InputError, InputErrors

MAX_FILE_BYTES = 5 * 1024 * 1024


# --------------------------------------------------------------------------- reading
def read_document(path: str) -> Document:
    """Read and parse one YAML file, refusing missing files, folders, binary and huge files."""
    if not os.path.exists(path):
        raise InputError(path, 1, 1, "no such file; give the path of a scenario YAML file")
    if os.path.isdir(path):
        raise InputError(path, 1, 1, "is a directory; give the path of a scenario YAML file")
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise InputError(path, 1, 1, f"file is {size / 1e6:.1f} MB; scenario files are limited to 5 MB")
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, line, 1, "not UTF-8 text; a scenario is a YAML text file") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(path, line, 1, "binary data (NUL byte); a scenario is a YAML text file")
    doc = parse(text, path)
    if doc.data is None:
        raise InputError(path, 1, 1, "empty file; a scenario needs at least name, start, horizon_days, paths, seed, "
                                     "market, network and sites")
    if not isinstance(doc.data, dict):
        raise InputError(*doc.pos(()), f"a scenario is a mapping of keys, not a {type(doc.data).__name__}")
    return doc


def _merge(base: Document, over: Document) -> Document:
    """Deep-merge ``over`` onto ``base``: mappings merge, anything else (lists too) is replaced."""
    data = copy.deepcopy(base.data)
    value_pos, key_pos = dict(base.value_pos), dict(base.key_pos)

    def drop(prefix):
        for table in (value_pos, key_pos):
            for k in [k for k in table if k[: len(prefix)] == prefix and len(k) > len(prefix)]:
                del table[k]

    def graft(prefix):
        for src, dst in ((over.value_pos, value_pos), (over.key_pos, key_pos)):
            for k, v in src.items():
                if k[: len(prefix)] == prefix:
                    dst[k] = v

    def rec(target: dict, source: dict, prefix: tuple):
        for key, value in source.items():
            path = prefix + (key,)
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                keep = _switched_keys(target[key], value, path)
                if keep is not None:  # another model: the base keys it does not have go
                    for old in [k for k in target[key] if k not in keep]:
                        del target[key][old]
                        drop(path + (old,))
                        for table in (value_pos, key_pos):
                            table.pop(path + (old,), None)
                key_pos[path] = over.key_pos.get(path, key_pos.get(path))
                rec(target[key], value, path)
            else:
                drop(path)
                target[key] = copy.deepcopy(value)
                graft(path)

    rec(data, over.data, ())
    return Document(data, value_pos, key_pos)


#: Keys that choose the member of a discriminated union (``btc_price: {model: gbm}``).
DISCRIMINATORS = ("model", "contract", "kind", "policy")


def _switched_keys(base: dict, over: dict, path: tuple) -> set | None:
    """The keys the new member accepts when ``over`` switches ``base`` to another member of
    a union (another ``model:``, ``contract:``, …), else None (a plain deep merge)."""
    for tag in DISCRIMINATORS:
        if tag in base and tag in over and base[tag] != over[tag]:
            cls = _model_at(path + (over[tag],))
            keys = _valid_keys(cls)
            return set(keys) if keys else None
    return None


def load_document(path: str, _stack: tuple = ()) -> Document:
    """Read ``path`` and merge its ``include:`` fragments over it (later sources win)."""
    doc = read_document(path)
    includes = doc.data.pop("include", None)
    if includes is None:
        return doc
    pos = doc.pos(("include",))
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise InputError(*pos, "include: expected a list of file names, e.g. include: [calibrated.yaml]")
    real = os.path.realpath(path)
    for i, name in enumerate(includes):
        target = name if os.path.isabs(name) else os.path.join(os.path.dirname(path), name)
        if os.path.realpath(target) in _stack + (real,):
            raise InputError(*doc.pos(("include", i)), f"include cycle: {name} is already being included")
        try:
            fragment = load_document(target, _stack + (real,))
        except InputError as exc:
            if exc.file == target and exc.message.startswith(("no such file", "is a directory")):
                raise InputError(*doc.pos(("include", i)), f"include: {name}: {exc.message}") from None
            raise
        doc = _merge(doc, fragment)
    return doc


def _canonical(value):
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def document_sha256(doc: Document) -> str:
    """SHA-256 of the merged document (canonical JSON, sorted keys), before overrides."""
    blob = json.dumps(_canonical(doc.data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- overrides
def _printable(text: str) -> str:
    """``text`` with control characters escaped, so an error about it stays on one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_override(text: str) -> tuple[tuple, object, int]:
    """Split ``dotted.key[0].x=value`` into (path, parsed value, 1-based column of the value).

    The value is read as a YAML 1.2 scalar or flow collection (``5000``, ``1.5e14``,
    ``economic``, ``{model: gbm, initial_usd: 1}``).

    Examples
    --------
    >>> parse_override("fleet[0].units=5000")
    (('fleet', 0, 'units'), 5000, 16)
    """
    where = f"--set {_printable(text)}"
    if "=" not in text:
        raise InputError(where, 1, 1, "expected KEY=VALUE, e.g. --set fleet[0].units=5000")
    key, value_text = text.split("=", 1)
    path: list = []
    col = 1
    for part in key.split("."):
        m = _SEGMENT.fullmatch(part)
        if not m:
            raise InputError(where, 1, col, f"bad key {part!r}: use dotted names and [index], e.g. sites[1].capacity_mw")
        path.append(m.group(1))
        path.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
        col += len(part) + 1
    value_col = len(key) + 2
    try:
        value = parse(value_text, where).data
    except InputError as exc:
        raise InputError(where, 1, value_col + exc.col - 1, exc.message) from None
    return tuple(path), value, value_col


def apply_overrides(doc: Document, overrides: Iterable[str]) -> Document:
    """Apply ``--set`` overrides; keys may be new, list items must exist (no append)."""
    doc = Document(copy.deepcopy(doc.data), dict(doc.value_pos), dict(doc.key_pos))
    for text in overrides:
        path, value, value_col = parse_override(text)
        where = f"--set {_printable(text)}"
        node = doc.data
        for i, step in enumerate(path[:-1]):
            nxt = path[i + 1]
            if isinstance(step, int):
                if not isinstance(node, list) or step >= len(node):
                    size = len(node) if isinstance(node, list) else 0
                    raise InputError(where, 1, 1, f"{_dotted(path[:i + 1])}: no item {step} (the list has {size})")
                if not isinstance(node[step], (dict, list)):
                    node[step] = {}
                node = node[step]
            else:
                if not isinstance(node, dict):
                    raise InputError(where, 1, 1, f"{_dotted(path[:i])} is not a mapping")
                if not isinstance(node.get(step), (dict, list)):
                    if isinstance(nxt, int):
                        raise InputError(where, 1, 1, f"{_dotted(path[:i + 1])}: no list to index")
                    node[step] = {}
                node = node[step]
        last = path[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise InputError(where, 1, 1, f"{_dotted(path)}: no such list item; --set does not append")
            node[last] = value
        else:
            if not isinstance(node, dict):
                raise InputError(where, 1, 1, f"{_dotted(path[:-1])} is not a mapping")
            node[last] = value
        for table in (doc.value_pos, doc.key_pos):
            for k in [k for k in table if k[: len(path)] == path]:
                del table[k]
        doc.value_pos[path] = (where, 1, value_col)
        doc.key_pos[path] = (where, 1, 1)
    return doc


# --------------------------------------------------------------------------- validation
def _dotted(loc: Iterable) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _tuplify(value):
    if isinstance(value, dict):
        return {k: _tuplify(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def _strip_tags(data, loc: tuple) -> tuple:
    """Pydantic error locations include union tags (``'gbm'``); drop what is not in the data."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and part == loc[-1]:
            out.append(part)  # a missing or unknown key
    return tuple(out)


def _model_at(loc: tuple):
    """The pydantic model class that validates the mapping at ``loc`` (tags included)."""
    cls = Scenario
    for part in loc:
        if isinstance(part, int) or cls is None:
            continue
        field = cls.model_fields.get(part) if isinstance(cls, type) and issubclass(cls, BaseModel) else None
        if field is None:
            field = next((f for f in cls.model_fields.values() if f.alias == part), None) if cls else None
        if field is None:  # a union tag: _unwrap already chose the member it names
            continue
        cls = _unwrap(field.annotation, loc, part)
    return cls


def _unwrap(tp, loc, part):
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], loc, part)
    if origin in (tuple, list):
        return _unwrap(typing.get_args(tp)[0], loc, part)
    if origin is typing.Union:
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        members = [_unwrap(m, loc, part) for m in members]
        idx = loc.index(part)
        tag = loc[idx + 1] if idx + 1 < len(loc) else None
        for m in members:
            if isinstance(m, type) and issubclass(m, BaseModel):
                for f in m.model_fields.values():
                    if typing.get_origin(f.annotation) is typing.Literal and tag in typing.get_args(f.annotation):
                        return m
        return members[0] if len(members) == 1 else None
    return tp


def _valid_keys(cls) -> list[str]:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return [f.alias or name for name, f in cls.model_fields.items()]
    return []


def _describe(value) -> str:
    kind = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list",
            tuple: "a list", dict: "a mapping", type(None): "empty"}.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list, tuple)):
        return kind
    return f"{value!r} ({kind})" if value is not None else "nothing"


_TYPE_WORDS = {"int_type": "an integer", "float_type": "a number", "string_type": "a string",
               "bool_type": "true or false", "date_type": "a date YYYY-MM-DD", "tuple_type": "a list",
               "model_type": "a mapping", "dict_type": "a mapping", "int_from_float": "an integer",
               "model_attributes_type": "a mapping", "datetime_type": "a date-time"}


def _message(err: dict, loc: tuple) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    name = loc[-1] if loc else "scenario"
    if kind == "extra_forbidden":
        valid = _valid_keys(_model_at(err["loc"][:-1]))
        close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {name!r}{hint or ';'} valid keys here: {', '.join(valid)}"
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "union_tag_invalid":
        return f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}; valid: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"missing key {ctx.get('discriminator', '').strip(chr(39))!r} that chooses the model"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {_describe(value)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": "> ", "greater_than_equal": ">= ", "less_than": "< ", "less_than_equal": "<= "}[kind]
        bound = next(iter(ctx.values()))
        bound = f"{bound:g}" if isinstance(bound, float) else str(bound)  # an int bound exactly (e.g. the seed's 2**128)
        extra = " (a fraction in [0, 1])" if kind == "less_than_equal" and bound == "1" else ""
        return f"must be {op}{bound}{extra}, got {value!r}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {_describe(value)}"
    if kind in ("too_short", "too_long"):
        return err["msg"].replace("Value should", "must").replace("Tuple should", "must")
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


def load_with_overrides(path, overrides: Iterable[str] = ()) -> tuple[Document, str]:
    """The merged document of ``path`` with ``--set`` overrides applied, and the SHA-256 of the
    merged document before them (``scenario_sha256``); a read or override problem is InputErrors."""
    try:
        doc = load_document(str(path))
        return apply_overrides(doc, tuple(overrides)), document_sha256(doc)
    except InputError as exc:
        raise InputErrors([exc]) from None


def validate_document(doc: Document, file: str) -> Scenario:
    """Validate the merged document with the pydantic schema and the cross-field checks.

    Keys written at an old place are moved to their new one first, with a warning
    (:mod:`simulator.config.deprecations`)."""
    try:
        doc = move_deprecated_keys(doc)
    except InputError as exc:
        raise InputErrors([exc]) from None
    try:
        scenario = Scenario.model_validate(_tuplify(doc.data))
    except pydantic.ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = _strip_tags(doc.data, tuple(err["loc"]))
            is_key = err["type"] in ("extra_forbidden",)
            pos: Pos = doc.pos(loc, key=True) if is_key else doc.pos(loc if err["type"] != "missing" else loc[:-1])
            errors.append(InputError(*pos, f"{_dotted(loc) or 'scenario'}: {_message(err, loc)}"))
        raise InputErrors(_dedupe(errors)) from None
    base_dir = os.path.dirname(os.path.abspath(file))
    problems = checks.run_all(scenario, base_dir)
    if problems:
        raise InputErrors([InputError(*doc.pos(loc), f"{_dotted(loc)}: {msg}") for loc, msg in problems])
    return scenario


def _dedupe(errors: list[InputError]) -> list[InputError]:
    seen, out = set(), []
    for e in errors:
        if str(e) not in seen:
            seen.add(str(e))
            out.append(e)
    return out


def load_scenario(path: str, overrides: Iterable[str] = ()) -> Scenario:
    """Load, merge, override, validate and check a scenario file.

    Raises
    ------
    InputErrors
        Every problem found, each ``file:line:col: message``.
    """
    overrides = tuple(overrides)
    doc, sha = load_with_overrides(path, overrides)
    scenario = validate_document(doc, str(path))
    scenario._provenance = Provenance(file=str(path), sha256=sha, overrides=overrides,
                                      base_dir=os.path.dirname(os.path.abspath(str(path))))
    return scenario
