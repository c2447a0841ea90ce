"""The only writer of files and directories: atomic, and with the permissions the umask allows.

Every output hashfleet writes (run directories, ``report.html`` and its PNG folder, compare
and sweep directories, calibrate's fragment) goes through this module, so all of them

* appear whole or not at all: a file is written to a hidden temporary name and renamed into
  place (``os.replace``, atomic on POSIX); a directory is built aside and renamed into place,
  and an existing one being overwritten is moved aside first and deleted only once the new
  one is in place (DESIGN.md, ``--overwrite``);
* get the usual permissions: files are created with mode ``0o666`` and directories with
  ``0o777``, both reduced by the process umask (0644 and 0755 under umask 022). The umask
  is never changed (a process-wide setting; reading it with ``os.umask`` would change it for
  other threads in between), unlike ``tempfile.mkstemp`` (0600) and ``tempfile.mkdtemp``
  (0700), whose private modes would outlive the rename into place.

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> write_text(os.path.join(folder, "a.txt"), "hello\\n")
>>> open(os.path.join(folder, "a.txt")).read()
'hello\\n'
>>> with new_directory(os.path.join(folder, "run")) as tmp:
...     write_text(os.path.join(tmp, "summary.json"), "{}")
>>> sorted(os.listdir(folder))
['a.txt', 'run']
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator

#: Mode a new file is created with, before the umask (rw for all the umask allows).
FILE_MODE = 0o666
#: Mode a new directory is created with, before the umask.
DIR_MODE = 0o777
#: Attempts at a free random temporary name before giving up.
_TRIES = 100

__all__ = ["DIR_MODE", "FILE_MODE", "clear_temporaries", "make_dirs", "move_aside", "new_directory",
           "replace_directory", "temporary_dir", "temporary_file", "write_bytes", "write_text", "write_with"]


def temporary_file(parent: str, prefix: str) -> tuple[int, str]:
    """A new, empty file ``parent/prefix<random>`` opened for writing: ``(fd, path)``, mode 0o666 & ~umask."""
    for _ in range(_TRIES):
        path = os.path.join(parent, f"{prefix}{os.urandom(4).hex()}")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name {prefix}* in {parent}")


def temporary_dir(parent: str, prefix: str) -> str:
    """A new directory ``parent/prefix<random>``, mode 0o777 & ~umask."""
    for _ in range(_TRIES):
        path = os.path.join(parent, f"{prefix}{os.urandom(4).hex()}")
        try:
            os.mkdir(path, DIR_MODE)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name {prefix}* in {parent}")


def _replace(tmp: str, target: str) -> None:
    """``os.replace``; across filesystems (a scratch folder on another mount) copy beside the target first."""
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        folder, name = os.path.split(target)
        fd, beside = temporary_file(folder, f".{name}.tmp-")
        os.close(fd)
        try:
            shutil.copyfile(tmp, beside)
            os.replace(beside, target)
        except BaseException:
            os.unlink(beside)
            raise
        os.unlink(tmp)


def write_with(path: str | os.PathLike, write: Callable[[str], object], *, scratch: tuple[str, str] | None = None,
               fsync: bool = True) -> None:
    """Create or replace the file ``path`` with ``write(tmp_path)``, atomically.

    ``write`` fills a new temporary file (e.g. ``frame.to_parquet(tmp_path)``); it is then
    flushed to disk (``fsync``) and renamed over ``path``, so ``path`` never holds a partial
    file, even after SIGKILL or a power cut. ``scratch = (folder, prefix)`` puts the temporary
    file elsewhere than beside ``path`` (sweep keeps its output folder free of partial files);
    it defaults to a hidden ``.<name>.tmp-<random>`` beside ``path``. The parent folder must exist.
    """
    target = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(target))
    folder, prefix = scratch if scratch is not None else (folder, f".{name}.tmp-")
    fd, tmp = temporary_file(folder, prefix)
    os.close(fd)
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        _replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, **options) -> None:
    """Create or replace the file ``path`` with ``data`` atomically (see :func:`write_with`)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    write_with(path, write, **options)


def write_text(path: str | os.PathLike, text: str, **options) -> None:
    """Create or replace the file ``path`` with ``text`` (UTF-8) atomically (see :func:`write_with`)."""
    write_bytes(path, text.encode("utf-8"), **options)


def move_aside(path: str) -> str:
    """Move the existing ``path`` into a new hidden folder beside it; return that folder (to delete later)."""
    parent, name = os.path.split(os.path.abspath(path))
    aside = temporary_dir(parent, f".{name}.old-")
    os.rename(path, os.path.join(aside, name))
    return aside


def replace_directory(tmp: str, out_dir: str) -> None:
    """Rename the finished directory ``tmp`` to ``out_dir``; an existing ``out_dir`` is moved aside
    first and deleted only once ``tmp`` is in place (so a crash leaves the old or the new one)."""
    aside = move_aside(out_dir) if os.path.lexists(out_dir) else None
    os.rename(tmp, out_dir)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def new_directory(out_dir: str | os.PathLike) -> Iterator[str]:
    """Build the directory ``out_dir`` aside and put it in place whole when the block ends without error.

    Yields a new empty directory beside ``out_dir`` (created with its parents, permissions
    from the umask) to fill; on success it replaces ``out_dir`` (:func:`replace_directory`),
    on an exception it is deleted and ``out_dir`` is left as it was. Whether an existing
    ``out_dir`` may be replaced is the caller's decision (``--overwrite``).
    """
    out = os.path.abspath(os.fspath(out_dir))
    parent, name = os.path.split(out)
    os.makedirs(parent, mode=DIR_MODE, exist_ok=True)
    tmp: str | None = temporary_dir(parent, f".{name}.tmp-")
    try:
        yield tmp
        replace_directory(tmp, out)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def make_dirs(path: str | os.PathLike) -> None:
    """``os.makedirs(path, exist_ok=True)`` with the umask's permissions (0755 under umask 022)."""
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)


def clear_temporaries(folder: str, prefix: str) -> None:
    """Delete the files ``folder/prefix*`` a killed writer left behind."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith(prefix) and os.path.isfile(path):
            os.unlink(path)
