"""The sweep directory: its manifest, one file per finished point, resuming, atomic writes.

Every file is written through :mod:`simulator.atomic` to a hidden temporary file beside the
sweep directory and renamed into place, so the directory never holds a partial file.
"""
from __future__ import annotations

import json
import os
from typing import Callable, Optional

from simulator import atomic
from simulator.errors import InputError
from simulator.workflows.sweep.grid import IDENTITY_FIELDS, MANIFEST_FORMAT, SweepPlan, SweepPoint


def point_record(plan: SweepPlan, point: SweepPoint, out: dict) -> dict:
    """The content of ``points/<id>.json``: nothing in it depends on when or where it ran."""
    return {"id": point.id, "overrides": list(point.overrides),
            "values": dict(zip(plan.keys, point.values)), "scenario": plan.scenario_name,
            "scenario_sha256": plan.scenario_sha256, "base_overrides": list(plan.overrides), **out}


def dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def scratch(out_dir: str) -> tuple[str, str]:
    """Folder and name prefix of the temporary files of ``out_dir``: hidden, beside it, so that
    ``out_dir`` never holds a partial file, even after SIGKILL."""
    parent, name = os.path.split(out_dir)
    return parent, f".{name}.tmp-"


def write_with(out_dir: str, relpath: str, write: Callable[[str], None]) -> None:
    """Write ``out_dir/relpath`` with ``write(tmp_path)`` through :func:`simulator.atomic.write_with`."""
    atomic.write_with(os.path.join(out_dir, relpath), write, scratch=scratch(out_dir))


def write_bytes(out_dir: str, relpath: str, data: bytes) -> None:
    atomic.write_bytes(os.path.join(out_dir, relpath), data, scratch=scratch(out_dir))


def clear_temporaries(out_dir: str) -> None:
    """Remove the temporary files a killed sweep of ``out_dir`` left beside it."""
    atomic.clear_temporaries(*scratch(out_dir))


def read_json(path: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def check_dir(plan: SweepPlan, out_dir: str, overwrite: bool) -> bool:
    """Whether ``out_dir`` holds this sweep (to resume); refuse anything else unless ``overwrite``."""
    manifest_path = os.path.join(out_dir, "manifest.json")
    if not os.path.exists(out_dir):
        return False
    if not os.path.isdir(out_dir):
        raise InputError(out_dir, 1, 1, "exists and is not a directory; choose another --out")
    if overwrite:
        return False
    if os.path.exists(manifest_path):
        old = read_json(manifest_path)
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


def prepare_dir(plan: SweepPlan, out_dir: str, overwrite: bool) -> Optional[str]:
    """Create ``out_dir`` (an --overwrite first moves the old one aside: returned) and write the manifest."""
    aside = None
    if overwrite and os.path.exists(out_dir):
        aside = atomic.move_aside(out_dir)
    atomic.make_dirs(os.path.join(out_dir, "points"))
    clear_temporaries(out_dir)
    write_bytes(out_dir, "manifest.json", dumps(plan.manifest()))
    return aside


def finished_record(plan: SweepPlan, out_dir: str, point: SweepPoint) -> Optional[dict]:
    """The point's record if its file exists and belongs to this sweep."""
    record = read_json(os.path.join(out_dir, "points", f"{point.id}.json"))
    if (isinstance(record, dict) and record.get("id") == point.id and record.get("overrides") == list(point.overrides)
            and record.get("scenario_sha256") == plan.scenario_sha256
            and record.get("base_overrides") == list(plan.overrides) and isinstance(record.get("metrics"), dict)):
        return record
    return None

