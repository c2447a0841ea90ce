"""The YAML 1.2 writer of ``hashfleet calibrate``'s scenario fragment: plain block mappings of
scalars (ints as ints, floats always with a '.' or an exponent) and flow mappings for list
items, and the check of the ``--out`` file before anything is fitted."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from simulator.errors import InputError


def _yaml_scalar(value) -> str:
    """A YAML 1.2 scalar: ints as ints, floats always with a '.' or an exponent."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"cannot write a non-finite number {v} to the fragment")
        text = f"{v:.8g}"
        return text if any(c in text for c in ".en") else text + ".0"
    return str(value)


def yaml_lines(data: dict, indent: int) -> list[str]:
    """``data`` (nested dicts; lists of flat dicts) as YAML 1.2 block lines indented by ``indent``."""
    pad = " " * indent
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{pad}{key}:")
            out += yaml_lines(value, indent + 2)
        elif isinstance(value, (list, tuple)):
            out.append(f"{pad}{key}:")
            for item in value:
                inner = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in item.items())
                out.append(f"{pad}  - {{{inner}}}")
        else:
            out.append(f"{pad}{key}: {_yaml_scalar(value)}")
    return out


def check_output(path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Refuse an existing output file (without ``overwrite``) or a missing folder."""
    target = Path(path)
    if target.is_dir():
        raise InputError(str(path), 1, 1, "is a directory; --out names the fragment file to write")
    if target.exists() and not overwrite:
        raise InputError(str(path), 1, 1, "output file exists; choose another --out or pass --overwrite")
    if not target.parent.is_dir():
        raise InputError(str(path), 1, 1, f"no such folder {target.parent}; create it or choose another --out")
