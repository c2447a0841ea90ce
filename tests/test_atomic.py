"""simulator.atomic, the only writer of files and directories: permissions from the umask, atomicity.

Every writer of the package (run directories, report, compare, sweep, calibrate's fragment)
goes through it; the tests below check each one's files and directories get 0644 / 0755
under umask 022 (and follow another umask), and that a failure leaves nothing partial.
"""
from __future__ import annotations

import errno
import os
import stat
import types

import pandas as pd
import pytest

from simulator import atomic


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    """Run the test under this umask, restoring the previous one after."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_and_directories_follow_the_umask(tmp_path, umask):
    atomic.write_text(tmp_path / "a.txt", "x")
    with atomic.new_directory(tmp_path / "run") as tmp:
        atomic.write_bytes(os.path.join(tmp, "b.bin"), b"y", fsync=False)
    atomic.make_dirs(tmp_path / "deep" / "er")
    assert mode(tmp_path / "a.txt") == 0o666 & ~umask
    assert mode(tmp_path / "run") == 0o777 & ~umask
    assert mode(tmp_path / "run" / "b.bin") == 0o666 & ~umask
    assert mode(tmp_path / "deep") == mode(tmp_path / "deep" / "er") == 0o777 & ~umask
    if umask == 0o022:
        assert (mode(tmp_path / "a.txt"), mode(tmp_path / "run")) == (0o644, 0o755)


def test_every_writer_of_the_package_uses_it(tmp_path, umask):
    """compare --out, calibrate --out, sweep's files and the report's PNG folder: 0644 / 0755 under umask 022."""
    from simulator.report import _write_file, _write_folder
    from simulator.workflows import calibrate, compare
    from simulator.workflows.sweep import store as sweep_store

    compare.write([{"scenario": "a", "mean": 1.0}], [], str(tmp_path / "cmp"))
    fake = types.SimpleNamespace(fragment_text=lambda: "market: {}\n")
    calibrate.Calibration.write(fake, tmp_path / "fit.yaml")
    (tmp_path / "sw").mkdir()
    sweep_store.write_bytes(str(tmp_path / "sw"), "manifest.json", b"{}\n")
    _write_folder(str(tmp_path / "png"), {"a.png": b"\x89PNG"})
    _write_file(str(tmp_path / "rep" / "report.html"), b"<html>")
    for d in ("cmp", "png", "rep"):
        assert mode(tmp_path / d) == 0o777 & ~umask, d
    for f in ("cmp/compare.parquet", "cmp/pairs.parquet", "fit.yaml", "sw/manifest.json", "png/a.png",
              "rep/report.html"):
        assert mode(tmp_path / f) == 0o666 & ~umask, f
    assert sorted(os.listdir(tmp_path)) == ["cmp", "fit.yaml", "png", "rep", "sw"]  # no temporaries left


def test_no_module_touches_the_umask():
    """sweep used to set the process umask (to read it) at import time; no module calls os.umask now."""
    import re
    from pathlib import Path

    import simulator

    root = Path(simulator.__file__).parent
    assert [p.name for p in root.rglob("*.py") if re.search(r"\bumask\(", p.read_text(encoding="utf-8"))] == []


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "t.txt"
    atomic.write_text(target, "old")

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["t.txt"]


def test_a_failed_directory_leaves_the_old_one(tmp_path):
    out = tmp_path / "run"
    with atomic.new_directory(out) as tmp:
        atomic.write_text(os.path.join(tmp, "a"), "1")
    with pytest.raises(RuntimeError):
        with atomic.new_directory(out) as tmp:
            atomic.write_text(os.path.join(tmp, "b"), "2")
            raise RuntimeError("renderer broke")
    assert os.listdir(out) == ["a"] and os.listdir(tmp_path) == ["run"]
    with atomic.new_directory(out) as tmp:  # a replacement: the old one goes, nothing is left aside
        atomic.write_text(os.path.join(tmp, "c"), "3")
    assert os.listdir(out) == ["c"] and os.listdir(tmp_path) == ["run"]


def test_scratch_folder_and_cross_device_rename(tmp_path, monkeypatch):
    """A scratch file outside the target's folder; a rename across filesystems copies beside the target."""
    (tmp_path / "out").mkdir()
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 1:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic.write_bytes(tmp_path / "out" / "x.json", b"{}", scratch=(str(tmp_path), ".out.tmp-"))
    assert (tmp_path / "out" / "x.json").read_bytes() == b"{}"
    assert os.path.dirname(calls[0][0]) == str(tmp_path) and os.path.dirname(calls[1][0]) == str(tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(tmp_path / "out") == ["x.json"]


def test_clear_temporaries(tmp_path):
    for name in (".run.tmp-1", ".run.tmp-2", "keep", ".other.tmp-1"):
        (tmp_path / name).write_text("")
    atomic.clear_temporaries(str(tmp_path), ".run.tmp-")
    assert sorted(os.listdir(tmp_path)) == [".other.tmp-1", "keep"]


def test_parquet_through_write_with(tmp_path):
    frame = pd.DataFrame({"a": [1, 2]})
    atomic.write_with(tmp_path / "f.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    assert pd.read_parquet(tmp_path / "f.parquet").equals(frame)
