"""The hardware profile library: one validating loader for the packaged profiles and user folders.

Profiles are read with :func:`simulator.yaml12.parse`, the project's only YAML reader (the
scenario loader's YAML 1.2 core schema, its date and ``.nan``/``.inf`` rules, its alias-bomb
and depth limits), so a profile and a scenario accept the same text.
"""
from __future__ import annotations

import difflib
import functools
import os
import types
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.errors import InputError
from simulator.hardware.profile import HardwareProfile, ProfileError, Tuning, UnknownModelError, FieldError
from simulator.yaml12 import Document, parse, parse_packaged


def _parse_profile(text: str, path: str, packaged: bool = False) -> Document:
    """Parse a profile's text with the project's YAML 1.2 reader (libyaml's composer for the packaged
    profiles: :func:`simulator.yaml12.parse_packaged`); its errors become :class:`ProfileError`."""
    try:
        return parse_packaged(text, path) if packaged else parse(text, path)
    except ProfileError:
        raise
    except InputError as exc:
        raise ProfileError(exc.file, exc.line, exc.col, exc.message) from None


def _at(doc: Document, loc: tuple) -> tuple[int, int]:
    """Line and column of the key at ``loc``, else of its nearest written ancestor."""
    _, line, col = doc.pos(loc, key=True)
    return line, col


def _profile_from_text(text: str, path: str, stem: str | None = None, packaged: bool = False) -> HardwareProfile:
    doc = _parse_profile(text, path, packaged)
    data = doc.data
    if not isinstance(data, dict):
        raise ProfileError(path, 1, 1, "a hardware profile must be a YAML mapping of field names to values")
    try:
        profile = HardwareProfile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc = loc + cause.loc
            message = str(cause)
        elif err["type"] == "extra_forbidden":
            parent = HardwareProfile if len(loc) == 1 else Tuning
            allowed = ", ".join(parent.model_fields)
            message = f"unknown key {loc[-1]!r}; expected one of: {allowed}"
        elif err["type"] == "missing":
            message = f"missing required key {'.'.join(map(str, loc))!r}"
            loc = loc[:-1]
        else:
            detail = err["msg"].removeprefix("Value error, ")
            message = f"{'.'.join(map(str, loc))}: {detail} (got {err['input']!r})"
        if len(exc.errors()) > 1:
            message += f" (and {len(exc.errors()) - 1} more error(s))"
        raise ProfileError(path, *_at(doc, loc), message) from None
    if stem is not None and profile.id != stem:
        raise ProfileError(path, *_at(doc, ("id",)),
                           f"id {profile.id!r} must equal the file name {stem!r} (rename the file to {profile.id}.yaml)")
    return profile


def load_profile(path: str | os.PathLike) -> HardwareProfile:
    """Read one profile file; its ``id`` must equal the file's stem.

    Raises
    ------
    ProfileError
        On unreadable or malformed YAML, an unknown key, a wrong type or value, or an
        efficiency that disagrees with power / hashrate by more than 6 %.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(path, 1, 1, f"cannot read hardware profile: {exc}") from None
    return _profile_from_text(text, str(path), path.stem)


_YAML_SUFFIXES = (".yaml", ".yml")


def _walk_traversable(root: Any) -> list[Any]:
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if not entry.name.startswith((".", "__")):
                found.extend(_walk_traversable(entry))
        elif entry.name.endswith(_YAML_SUFFIXES):
            found.append(entry)
    return found


def _read_source(files: Iterable[Any], label: str,
                 packaged: bool = False) -> dict[str, tuple[HardwareProfile, str]]:
    """Profiles of one source (the packaged set or one user folder), duplicates refused."""
    out: dict[str, tuple[HardwareProfile, str]] = {}
    for entry in files:
        path = str(entry)
        try:
            text = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(path, 1, 1, f"cannot read hardware profile: {exc}") from None
        name = entry.name
        stem = name[: name.rfind(".")]
        profile = _profile_from_text(text, path, stem, packaged)
        if profile.id in out:
            raise ProfileError(path, *_at(_parse_profile(text, path), ("id",)),
                               f"duplicate id {profile.id!r} in {label}: also defined in {out[profile.id][1]}")
        out[profile.id] = (profile, path)
    return out


@functools.lru_cache(maxsize=None)
def _packaged_profiles() -> tuple[HardwareProfile, ...]:
    found = _read_source(_walk_traversable(resources.files("simulator.hardware_profiles")),
                         "the packaged hardware profiles", packaged=True)
    return tuple(p for p, _ in found.values())


def load_library(extra_dirs: Iterable[str | os.PathLike] | str | os.PathLike = ()) -> Mapping[str, HardwareProfile]:
    """The hardware library: packaged profiles plus user folders, as a read-only mapping.

    Parameters
    ----------
    extra_dirs : path or iterable of paths
        User folders (searched recursively for ``*.yaml``/``*.yml``) or single profile
        files. A user profile whose id exists already replaces it; later folders win.

    Returns
    -------
    Mapping[str, HardwareProfile]
        Read-only, ordered by id. The packaged part is parsed once per process.

    Raises
    ------
    ProfileError
        With ``path:line:col`` on any bad file, or a duplicate id within one source
        (the packaged set, or one user folder).

    Examples
    --------
    >>> lib = load_library()
    >>> lib["antminer-s21-xp"].efficiency_jth
    13.5
    >>> list(lib) == sorted(lib)
    True
    """
    if isinstance(extra_dirs, (str, os.PathLike)):
        extra_dirs = (extra_dirs,)
    merged: dict[str, HardwareProfile] = {p.id: p for p in _packaged_profiles()}
    for folder in extra_dirs:
        folder = Path(folder)
        if folder.is_file():
            files = [folder]
        elif folder.is_dir():
            files = sorted((p for p in folder.rglob("*") if p.suffix in _YAML_SUFFIXES and p.is_file()), key=str)
        else:
            raise ProfileError(folder, 1, 1, "hardware profile folder not found")
        for model_id, (profile, _) in _read_source(files, f"folder {folder}").items():
            merged[model_id] = profile
    return types.MappingProxyType(dict(sorted(merged.items())))


def get_profile(model_id: str, extra_dirs: Iterable[str | os.PathLike] | str | os.PathLike = ()) -> HardwareProfile:
    """The profile with id ``model_id``.

    Raises
    ------
    UnknownModelError
        A :class:`KeyError` whose message lists the closest ids.

    Examples
    --------
    >>> get_profile("antminer-s19-xp").power_w
    3010.0
    >>> get_profile("antminer-s21xp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simulator.hardware.profile.UnknownModelError: unknown hardware model 'antminer-s21xp'; did you mean antminer-s21-xp, ...
    """
    library = load_library(extra_dirs)
    try:
        return library[model_id]
    except KeyError:
        close = difflib.get_close_matches(str(model_id).lower(), list(library), n=3, cutoff=0.6)
        raise UnknownModelError(model_id, close) from None

