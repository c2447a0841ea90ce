"""numba's on-disk cache in one directory per version of hashfleet's sources.

numba's ``cache=True`` keeps a compiled function's machine code with the stamp (mtime, size) of
the one file that defines it, and reuses it while that file is unchanged: an edit to a helper or
constant the kernel imports from another module (``chain``, ``units``, ``philox``, ``rng``,
``kernel_math``, …) would leave a warm cache running the old machine code (numba's "Notes on
caching": invalidation does not see changes in symbols defined in another file). So every kernel
module calls :func:`configure` before its first ``@njit``, which points numba at

    ``$XDG_CACHE_HOME`` (or ``~/.cache``) ``/hashfleet/numba/<key>``

where ``<key>`` is :func:`source_key`, a hash of the sources numba compiles from
(:func:`kernel_sources`: the modules that mention ``njit`` and the package's modules they import at
module level, each file's path and bytes; ~10 ms, in a process that loads a kernel only, never in one
that stays in numpy). An edit to any of them gives a new, empty directory; an edit elsewhere keeps
the compiled kernels. The previous directories are pruned down to
the :data:`KEEP` most recently used, never one that a running process holds (each process holds a
shared ``flock`` on its directory's ``lock`` file; the pruner takes the lock exclusively without
waiting, moves the directory aside (:func:`simulator.atomic.move_aside`) and only then deletes it, so two runs, or a run and its
workers, never lose a directory they use). Where that place is not writable, a private
``<tmp>/hashfleet-<uid>/numba/<key>`` is used, and failing that a temporary directory for the
process's life (with a warning: every such process compiles anew).

A user's own ``NUMBA_CACHE_DIR`` (set before hashfleet loads a kernel), or a ``numba.config.CACHE_DIR``
they set after importing numba themselves, is the root instead: ``<dir>/hashfleet/<key>``, so that an
edit is never hidden from numba there either.
numba reads ``NUMBA_CACHE_DIR`` when it is imported and looks at ``numba.config.CACHE_DIR`` when a
function is decorated (``numba.core.caching``'s user-provided locator), so :func:`configure` sets
both: the attribute for a numba imported before it, the variable so that numba's ``reload_config``
(which the compiler calls, and which re-reads the ``NUMBA_*`` variables when any of them changed)
keeps the same directory, and so that worker processes, forked or spawned, share it
(:data:`CHOSEN` tells them the directory is hashfleet's: they join it if their sources give the same key).

numba refreshes its target context before it loads any cached function: the first refresh imports and
installs every typing and lowering registry of its compiler (~0.2 s of a process's ~0.55 s numba start),
which only a compilation uses. :func:`light_cache_loads` has the loads of hashfleet's kernels start numba's
runtime alone (the machine code loaded is the same; a compilation, on a cache miss, still refreshes first),
and link each kernel's library without parsing its LLVM bitcode until a compilation or a symbol lookup needs
it (:mod:`simulator.numba_link`); each kernel's cache is made when first used, not when its function is decorated.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from simulator import atomic

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so no pruning (a directory could be in use)
    fcntl = None

#: numba's own variable for its cache directory.
NUMBA_VARIABLE = "NUMBA_CACHE_DIR"
#: Set beside ``NUMBA_CACHE_DIR`` to the directory :func:`configure` chose, so that a child process
#: tells hashfleet's choice (which it joins and locks) from a user's (which it leaves alone).
CHOSEN = "HASHFLEET_NUMBA_CACHE_DIR"
#: Source versions' directories kept by :func:`prune`, the current one included, besides any in use.
KEEP = 4
#: The file each directory's users lock (shared) and whose mtime says when it was last used.
LOCK = "lock"
#: Digits of :func:`source_key` (64 bits).
KEY_DIGITS = 16

_HEX = set("0123456789abcdef")
_PACKAGE = Path(__file__).resolve().parent
_chosen: str | None = None  # this process's answer once configure() has run
_numba_load_overload = None  # numba's Cache.load_overload, once light_cache_loads() has replaced it
_numba_enable_caching = None  # numba's Dispatcher.enable_caching, once _caches_when_used() has replaced it
_OURS = _PACKAGE.name + "."  # the modules whose cached functions light_cache_loads() loads
_held: dict[str, int] = {}  # directory → the descriptor holding its shared lock (open until exit)


def kernel_sources(package: Path = _PACKAGE) -> list[Path]:
    """The modules numba compiles from: every module of ``package`` that mentions ``njit`` and, from
    them on, every module of the package imported at module level (a compiled function reaches only
    code and constants bound when its module was imported; a function-level import is not such a
    binding). An edit elsewhere (the schema, the CLI, a docstring of the engine) leaves the kernels'
    machine code valid and their directory in place."""
    return sorted(_kernel_files(package))


def _kernel_files(package: Path) -> dict[Path, bytes]:
    """:func:`kernel_sources` with their bytes (each file read once)."""
    files = {path: path.read_bytes() for path in package.rglob("*.py")}
    todo, seen = [path for path, data in files.items() if b"njit" in data], {}
    while todo:
        path = todo.pop()
        if path not in seen:
            seen[path] = files[path]
            todo.extend(_imported(files[path], package))
    return seen


#: A module-level import of a package module: unindented ``from a.b import c, d`` (parenthesised over
#: several lines or not) or ``import a.b``; indented imports are in functions (or type-checking blocks).
_IMPORT = re.compile(rb"^from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)|^import[ \t]+([\w., \t]+)", re.M)


def _imported(source: bytes, package: Path) -> list[Path]:
    """The files of ``package`` a module's source imports at module level (:data:`_IMPORT`; a line that
    only looks like one, in a docstring, adds a file to the key: harmless)."""
    out = []
    for match in _IMPORT.finditer(source):
        if match[1]:
            module = match[1].decode()
            names = match[2].decode().strip("() \t").replace("\n", ",").split(",")
            submodules = [f for name in names if name.split() for f in _files(f"{module}.{name.split()[0]}", package)]
            out.extend(submodules or _files(module, package))  # `from m import f`: m; `from p import m`: m
        else:
            out.extend(f for name in match[3].decode().split(",") if name.split() for f in _files(name.split()[0], package))
    return out


def _files(module: str, package: Path) -> list[Path]:
    """The file of ``module`` if it is one of ``package``'s, else nothing."""
    parts = module.split(".")
    if parts[0] != package.name:
        return []
    base = package.joinpath(*parts[1:])
    return [path for path in (base.with_suffix(".py"), base / "__init__.py") if path.is_file()]


def source_key(package: Path = _PACKAGE) -> str:
    """Hash of :func:`kernel_sources`: each file's path relative to ``package`` and its bytes."""
    digest = hashlib.blake2b(digest_size=KEY_DIGITS // 2)
    files = _kernel_files(package)
    for path in sorted(files):
        name, data = path.relative_to(package).as_posix().encode(), files[path]
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
        digest.update(data)
    return digest.hexdigest()


def cache_roots(environ=os.environ) -> list[Path]:
    """Where source versions' directories may live, in order of preference."""
    xdg = environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path(os.path.expanduser("~")) / ".cache"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return [base / "hashfleet" / "numba", Path(tempfile.gettempdir()) / f"hashfleet-{uid}" / "numba"]


def _private(root: Path) -> None:
    """Make ``root``; under the shared temp directory's ``hashfleet-<uid>`` (the fallback of
    :func:`cache_roots`), refuse it unless that directory is this user's own and closed to others
    (numba's cache files are pickles, which run code when loaded). A root the user chose (their
    ``XDG_CACHE_HOME``, ``HOME`` or ``NUMBA_CACHE_DIR``) is theirs to protect, wherever it is."""
    if hasattr(os, "getuid"):
        top = Path(tempfile.gettempdir()) / f"hashfleet-{os.getuid()}"
        if root.is_relative_to(top):
            top.mkdir(exist_ok=True, mode=0o700)
            info = top.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                raise PermissionError(f"{top} is not this user's own")
    root.mkdir(parents=True, exist_ok=True, mode=0o700)


def claim(directory: Path) -> int | None:
    """Create ``directory`` if need be and hold a shared lock on its lock file for this process's life
    (inherited by forked workers); return the descriptor (None without ``fcntl``).

    A pruner may rename the directory between our ``open`` and our lock; the lock then holds the
    renamed file, which we notice (another inode at the path) and try again."""
    if str(directory) in _held:
        return _held[str(directory)]
    for _ in range(5):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = directory / LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the directory was pruned after our mkdir
            continue
        if fcntl is None:
            os.close(fd)
            return None
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.utime(lock)
            _held[str(directory)] = fd
            return fd
        os.close(fd)
    raise OSError(f"could not hold {directory}: pruned again and again")


def _last_used(directory: Path) -> float:
    for path in (directory / LOCK, directory):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def prune(root: Path, keep: int = KEEP) -> list[str]:
    """Delete all but the ``keep`` most recently used source versions' directories under ``root``,
    skipping any a process holds; return the names deleted. Safe against concurrent pruners and users."""
    if fcntl is None:
        return []
    versions = [d for d in root.iterdir() if len(d.name) == KEY_DIGITS and set(d.name) <= _HEX and d.is_dir()]
    versions.sort(key=_last_used, reverse=True)
    deleted = []
    for directory in versions[keep:]:
        try:
            fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # gone already (another pruner)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(directory / LOCK).st_ino != os.fstat(fd).st_ino:
                continue  # pruned and made anew meanwhile: not the one we locked
            aside = atomic.move_aside(str(directory))
        except OSError:  # in use (BlockingIOError), or moved by another pruner
            continue
        finally:
            os.close(fd)
        shutil.rmtree(aside, ignore_errors=True)
        deleted.append(directory.name)
    for left in root.glob(f".{'[0-9a-f]' * KEY_DIGITS}.old-*"):  # a pruner that died between move and delete
        shutil.rmtree(left, ignore_errors=True)
    return deleted


def choose(key: str, roots: list[Path]) -> Path:
    """The first writable ``root/key`` (held, and its root pruned when it was new), else a fresh temp dir."""
    for root in roots:
        directory = root / key
        try:
            _private(root)
            new = not directory.exists()
            claim(directory)
        except OSError:
            continue
        if new:
            try:
                prune(root)
            except OSError:  # an old version left in place costs only disk
                pass
        return directory
    last = atomic.temporary_dir(tempfile.gettempdir(), "hashfleet-numba-")
    atexit.register(shutil.rmtree, last, ignore_errors=True)  # (a forked worker leaves by os._exit: not its to remove)
    warnings.warn(f"no writable cache directory for hashfleet's compiled kernels under {', '.join(map(str, roots))}: "
                  f"compiling into {last} for this run only", RuntimeWarning, stacklevel=2)
    return Path(last)


def configure(environ=os.environ) -> str:
    """Point numba's cache at this source version's directory (once a process; cheap after) and return
    the directory numba will use.

    The root is hashfleet's (:func:`cache_roots`), or ``<dir>/hashfleet`` under a user's own
    ``NUMBA_CACHE_DIR`` or ``numba.config.CACHE_DIR`` (their directory, with the source version kept
    apart inside it: numba's own stamps would not see an edit to a module a kernel imports; the
    user's own functions compiled in this process cache there too). A process started by one that
    chose already (its choice in :data:`CHOSEN`) joins that directory if its own sources give the same
    key, else takes its own beside it (a long-lived parent may run older sources than its children)."""
    global _chosen
    if _chosen is not None:
        light_cache_loads()
        return _chosen
    config = sys.modules.get("numba.core.config")
    given, ours, key = environ.get(NUMBA_VARIABLE, ""), environ.get(CHOSEN, ""), source_key()
    if config is not None and config.CACHE_DIR and config.CACHE_DIR != given:
        roots = [Path(config.CACHE_DIR) / "hashfleet"]  # set in numba.config by the user after importing numba
    elif given and given != ours:
        roots = [Path(given) / "hashfleet"]  # the user's own
    elif given and Path(given).name == key:
        roots = [Path(given).parent]  # a parent process's choice, for the same sources: joined
    else:
        roots = []
    _chosen = str(choose(key, roots + cache_roots(environ)))
    environ[NUMBA_VARIABLE] = environ[CHOSEN] = _chosen
    if config is not None:
        config.CACHE_DIR = _chosen
    light_cache_loads()
    return _chosen


def light_cache_loads() -> bool:
    """Have numba load hashfleet's cached kernels without refreshing its compiler's registries first (from
    :func:`configure`, once a process has imported numba, if numba's ``Cache`` is as expected; True if in place).

    numba's ``Cache.load_overload`` calls ``target_context.refresh()`` before every load: the first call imports
    some forty modules of typing and lowering implementations (linear algebra, typed containers, jitclass, …)
    and installs them, which a compilation needs and a load does not. A load rebuilds the cached machine code,
    which calls only numba's runtime (NRT, started here as the refresh would, its library's object code cached
    beside the kernels': :func:`simulator.numba_link.start_runtime`) and the C helpers and math
    symbols numba registers when its context is made. The library loaded keeps its bitcode unparsed until
    something needs it (:func:`simulator.numba_link.load`, where :func:`simulator.numba_link.supported`; else the
    bitcode is parsed as numba's load does). A cache miss compiles, and numba's compiler refreshes
    the context itself before it types anything. A light load that fails is done again by numba's own
    ``load_overload`` (refresh first); what the lazy link does after the load relies on numba members that
    :func:`simulator.numba_link.supported` and the tests check. Other modules' cached functions (a user's own, in the same
    directory or not) load as numba loads them."""
    global _numba_load_overload
    if _numba_load_overload is not None:
        return True
    if "numba" not in sys.modules:  # (configure() is called again by each kernel module, after its numba import)
        return False
    try:
        from numba.core import caching
        from numba.core.runtime import nrt

        from simulator import numba_link
    except ImportError:
        return False
    original = getattr(caching.Cache, "load_overload", None)
    if not (callable(original) and hasattr(caching.Cache, "_load_overload") and hasattr(nrt, "rtsys")
            and hasattr(caching.Cache, "_guard_against_spurious_io_errors")):
        return False  # another numba than the one this was written for: its own loads
    lazy = numba_link.supported()  # else the eager light load: bitcode parsed at once

    def load_overload(self, sig, target_context):
        if not str(getattr(getattr(self, "_py_func", None), "__module__", "")).startswith(_OURS):
            return original(self, sig, target_context)
        try:
            if lazy and _chosen:
                numba_link.start_runtime(target_context, _chosen)  # (its library's object code cached beside ours)
            else:
                nrt.rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                return numba_link.load(self, sig, target_context) if lazy else self._load_overload(sig, target_context)
        except Exception:  # noqa: BLE001 — whatever the light load lacked, numba's own load has
            return original(self, sig, target_context)

    load_overload.__doc__ = original.__doc__
    _numba_load_overload = original
    caching.Cache.load_overload = load_overload
    _caches_when_used()
    return True


def _caches_when_used() -> None:
    """Have each of hashfleet's ``cache=True`` dispatchers make its cache (numba's ``FunctionCache``) the first time it
    uses it, not when its function is decorated.

    Making a function's cache finds its directory, creates and deletes a temporary file there to prove it writable,
    and stamps the source: ~0.1–0.25 ms, for each of the ~160 functions of the kernel modules a process imports, of
    which a run loads ~30 (the others, helpers inlined into those, are only ever compiled on a cache miss). The cache
    made later is the same object, made by numba's own ``__init__`` with the same function (:class:`_CacheWhenUsed`).
    A numba whose dispatcher lacks ``enable_caching`` or whose caching lacks ``FunctionCache`` makes them as before."""
    from numba.core import caching, dispatcher

    global _numba_enable_caching
    original = getattr(dispatcher.Dispatcher, "enable_caching", None)
    if not (callable(original) and isinstance(getattr(caching, "FunctionCache", None), type)):
        return
    lazy = type("_CacheWhenUsed", (_CacheWhenUsed, caching.FunctionCache), {"__module__": __name__})

    def enable_caching(self):
        if str(getattr(self.py_func, "__module__", "")).startswith(_OURS):
            self._cache = lazy(self.py_func)
        else:
            original(self)

    enable_caching.__doc__ = original.__doc__
    _numba_enable_caching = original
    dispatcher.Dispatcher.enable_caching = enable_caching


class _CacheWhenUsed:
    """Mixed into numba's ``FunctionCache``: the instance keeps its function and runs ``FunctionCache.__init__`` the
    first time anything reads an attribute the instance lacks (its directory, index file, state: anything a load, a
    save or ``stats`` reads)."""

    def __init__(self, py_func) -> None:
        self.__dict__["_made_from"] = py_func

    def __getattr__(self, name: str):
        py_func = self.__dict__.get("_made_from")
        if py_func is None or name.startswith("__"):
            raise AttributeError(name)
        super().__init__(py_func)
        del self.__dict__["_made_from"]
        return getattr(self, name)
