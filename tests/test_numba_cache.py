"""numba's cache directory per source version (simulator.numba_cache): the key, the choice, pruning, races.

The key must change with the bytes or name of any file numba compiles from and only then; the kernels must
compile into ``<cache>/hashfleet/numba/<key>``, or ``<dir>/hashfleet/<key>`` under a user's ``NUMBA_CACHE_DIR``
or numba's ``config.CACHE_DIR``;
old versions' directories are pruned to the newest few, never one a process holds, with several
processes choosing and pruning at once. What imports numba runs in a subprocess, so that this process's
numba (and its cache directory) is never touched.
"""
from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simulator import numba_cache

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "simulator"


def _tree(root: Path) -> Path:
    """A package ``pkg``: a kernel module importing (at module level) ``sub.b``, which imports ``c``; ``a`` is
    imported only inside a function; ``d`` by no one."""
    package = root / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "k.py").write_text("from numba import njit\n\nfrom pkg.sub import b\n\n\n@njit\ndef f():\n    return b.Y\n")
    (package / "sub" / "b.py").write_text("from pkg import (\n    c,\n)\nY = c.X\n\n\ndef g():\n    from pkg import a\n")
    (package / "c.py").write_text("X = 1\n")
    (package / "a.py").write_text("Z = 1\n")
    (package / "d.py").write_text("W = 1\n")
    (package / "data.yaml").write_text("x: 1\n")
    return package


def test_the_key_follows_the_kernels_sources_and_nothing_else(tmp_path):
    """The key covers the modules that mention njit and the package modules they import at module level,
    transitively (``from p import (m,)`` over lines included): an edit to one of them gives a new key, an
    edit elsewhere (a module imported inside a function, one imported by no kernel, a data file) does not."""
    package = _tree(tmp_path)
    key = numba_cache.source_key(package)
    assert len(key) == numba_cache.KEY_DIGITS and numba_cache.source_key(package) == key
    assert [p.name for p in numba_cache.kernel_sources(package)] == ["c.py", "k.py", "b.py"]
    for outside in ("a.py", "d.py", "data.yaml", "__init__.py"):
        (package / outside).write_text("# edited\n")
        assert numba_cache.source_key(package) == key, outside
    (package / "c.py").write_text("X = 2\n")  # a constant two imports away
    edited = numba_cache.source_key(package)
    assert edited != key
    (package / "e.py").write_text("from numba import njit\n")  # a new kernel module
    added = numba_cache.source_key(package)
    assert added not in (key, edited)
    (package / "e.py").rename(package / "f.py")  # a rename
    assert numba_cache.source_key(package) not in (key, edited, added)
    (package / "f.py").unlink()
    assert numba_cache.source_key(package) == edited
    copy = tmp_path / "copy" / "pkg"
    shutil.copytree(package, copy)  # where the tree lives does not matter
    assert numba_cache.source_key(copy) == edited


def test_the_kernels_sources_include_what_they_import():
    """hashfleet's own: every kernel and the modules whose helpers and constants they compile."""
    names = {p.relative_to(PACKAGE).as_posix() for p in numba_cache.kernel_sources()}
    assert {"chain.py", "units.py", "philox.py", "rng.py", "kernel_math.py", "network_kernel.py", "index_kernel.py",
            "finance/operations_kernel.py", "reporting_kernel.py"} <= names
    assert not names & {"cli.py", "engine.py", "config/schema/base.py", "finance/ledger.py"}


def _run(code: str, env: dict, pythonpath: Path = REPO, args: tuple[str, ...] = ()) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (numba_cache.NUMBA_VARIABLE, numba_cache.CHOSEN)} | env
    env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=pythonpath)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


_KERNEL = """
import json, os
{before}
import numba
from simulator import index_kernel
from simulator.finance import credit_kernel
print(json.dumps({{"config": numba.config.CACHE_DIR, "env": os.environ.get("NUMBA_CACHE_DIR"),
                  "index": index_kernel.bill._cache._cache_path, "credit": credit_kernel.step._cache._cache_path}}))
"""


def test_the_kernels_cache_in_the_source_versions_directory(tmp_path):
    got = _run(_KERNEL.format(before=""), {"XDG_CACHE_HOME": str(tmp_path)})
    directory = str(tmp_path / "hashfleet" / "numba" / numba_cache.source_key())
    assert got["config"] == got["env"] == directory
    assert got["index"].startswith(directory + os.sep) and got["credit"].startswith(directory + os.sep)
    assert (Path(directory) / numba_cache.LOCK).is_file()


def test_a_numba_imported_first_is_pointed_there_too(tmp_path):
    got = _run(_KERNEL.format(before="import numba"), {"XDG_CACHE_HOME": str(tmp_path)})
    directory = str(tmp_path / "hashfleet" / "numba" / numba_cache.source_key())
    assert got["config"] == directory and got["index"].startswith(directory + os.sep)


def test_the_users_numba_cache_dir_is_the_root(tmp_path):
    """A user's NUMBA_CACHE_DIR (or numba.config.CACHE_DIR set after importing numba) is where the source
    version's directory goes: ``<dir>/hashfleet/<key>``, never the user's directory itself, whose
    numba stamps would not see an edit to a module a kernel imports."""
    mine, key = tmp_path / "mine", numba_cache.source_key()
    got = _run(_KERNEL.format(before=""), {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "NUMBA_CACHE_DIR": str(mine)})
    directory = str(mine / "hashfleet" / key)
    assert got["config"] == got["env"] == directory and got["index"].startswith(directory + os.sep)
    assert not (tmp_path / "xdg").exists()
    before = f"import numba; numba.config.CACHE_DIR = {str(mine)!r}"  # set after importing numba
    got = _run(_KERNEL.format(before=before), {"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert got["config"] == directory and got["index"].startswith(directory + os.sep)


_CONFIGURE = "import json, os; from simulator import numba_cache; print(json.dumps([numba_cache.configure(), os.environ.get('NUMBA_CACHE_DIR')]))"


def test_an_edit_to_a_kernels_source_gives_a_new_directory_and_a_child_joins_its_parents(tmp_path):
    """A copy of the package, edited in a module no kernel defines a function in but one imports
    (``chain``): numba's own stamp would not see it; the directory changes. An edit outside the kernels'
    sources (the CLI) keeps it. A process started with its parent's choice in its environment joins it
    if its own sources give the same key, else takes its own beside it (a long-lived parent may have
    loaded older sources). No numba is imported for any of this."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "simulator", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first, _ = _run(_CONFIGURE, env, tmp_path / "src")
    assert Path(first).name == numba_cache.source_key()
    assert _run(_CONFIGURE, env, tmp_path / "src")[0] == first
    with open(tmp_path / "src" / "simulator" / "cli.py", "a") as f:
        f.write("\n# an edit outside the kernels' sources\n")
    assert _run(_CONFIGURE, env, tmp_path / "src")[0] == first
    parent = env | {"NUMBA_CACHE_DIR": first, numba_cache.CHOSEN: first}
    assert _run(_CONFIGURE, parent, tmp_path / "src") == [first, first]  # the parent's, same sources
    with open(tmp_path / "src" / "simulator" / "chain.py", "a") as f:
        f.write("\n# an edit\n")
    second, _ = _run(_CONFIGURE, env, tmp_path / "src")
    assert second != first and Path(second).parent == Path(first).parent and Path(first).is_dir()
    assert _run(_CONFIGURE, parent, tmp_path / "src") == [second, second]  # not the parent's older one
    user = _run(_CONFIGURE, env | {"NUMBA_CACHE_DIR": str(tmp_path / "u")}, tmp_path / "src")
    assert user == [str(tmp_path / "u" / "hashfleet" / Path(second).name)] * 2


def _versions(root: Path, n: int) -> list[Path]:
    """``n`` source versions' directories under ``root``, the first the most recently used."""
    out = []
    for i in range(n):
        d = root / f"{i:016x}"
        d.mkdir(parents=True)
        (d / "kernel.nbi").write_text("x")
        (d / numba_cache.LOCK).touch()
        os.utime(d / numba_cache.LOCK, (1e9 - i * 100, 1e9 - i * 100))
        out.append(d)
    return out


def test_pruning_keeps_the_newest_and_any_in_use(tmp_path):
    root = tmp_path / "numba"
    dirs = _versions(root, 7)
    (root / "not-a-version").mkdir()
    (root / ".0123456789abcdef.old-dead" / "0123456789abcdef").mkdir(parents=True)  # a pruner that died
    held = os.open(dirs[5] / numba_cache.LOCK, os.O_RDWR)  # another process's run of an old version
    fcntl.flock(held, fcntl.LOCK_SH)
    try:
        deleted = numba_cache.prune(root, keep=3)
    finally:
        os.close(held)
    assert sorted(deleted) == sorted(d.name for d in (dirs[3], dirs[4], dirs[6]))
    assert sorted(p.name for p in root.iterdir()) == sorted([d.name for d in dirs[:3]] + [dirs[5].name, "not-a-version"])
    assert numba_cache.prune(root, keep=3) == [dirs[5].name]  # released: old now


def test_an_unwritable_place_falls_back(tmp_path):
    (tmp_path / "file").write_text("")
    chosen = numba_cache.choose("0" * 16, [tmp_path / "file" / "numba", tmp_path / "ok"])
    assert chosen == tmp_path / "ok" / ("0" * 16) and chosen.is_dir()
    with pytest.warns(RuntimeWarning, match="for this run only"):
        last = numba_cache.choose("1" * 16, [tmp_path / "file" / "numba"])
    try:
        assert last.is_dir() and os.access(last, os.W_OK) and last.name.startswith("hashfleet-numba-")
    finally:
        shutil.rmtree(last)


def test_the_shared_temp_fallback_someone_else_can_write_is_refused(tmp_path, monkeypatch):
    """``<tmp>/hashfleet-<uid>`` must be this user's own and closed to others (numba's cache files are
    pickles); a root the user chose under the temp directory (an ``XDG_CACHE_HOME`` there) is theirs."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    top = tmp_path / f"hashfleet-{os.getuid()}"
    top.mkdir(mode=0o777)
    top.chmod(0o777)
    with pytest.raises(PermissionError):
        numba_cache._private(top / "numba")
    top.chmod(0o700)
    numba_cache._private(top / "numba")
    assert (top / "numba").is_dir()
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o755)
    numba_cache._private(xdg / "hashfleet" / "numba")
    assert (xdg / "hashfleet" / "numba").is_dir()


def _racer(root: str, key: str, out) -> None:
    """A run: choose its version's directory (pruning the others to KEEP), work in it a while, check it is still its own."""
    directory = numba_cache.choose(key, [Path(root)])
    ok = directory.parent == Path(root)
    for _ in range(20):
        (directory / f"f{os.getpid()}").write_text("x")  # as numba saves an overload
        time.sleep(0.01)
        ok = ok and (directory / numba_cache.LOCK).stat().st_ino == os.fstat(numba_cache._held[str(directory)]).st_ino
    out.put((key, ok))


def test_concurrent_runs_never_lose_their_directory(tmp_path):
    """Twelve processes (pairs on the same version) choose and prune under one root at once: each keeps
    its directory while it runs; once all have exited, the next prune leaves the newest KEEP."""
    root = tmp_path / "numba"
    _versions(root, 5)  # old versions to prune
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    keys = [f"{0xf0 + i // 2:016x}" for i in range(12)]
    runs = [context.Process(target=_racer, args=(str(root), key, out)) for key in keys]
    for p in runs:
        p.start()
    results = [out.get(timeout=60) for _ in runs]
    for p in runs:
        p.join(60)
    assert all(ok for _, ok in results) and all(p.exitcode == 0 for p in runs), results
    assert not list(root.glob(".*"))
    numba_cache.prune(root)
    assert len([d for d in root.iterdir()]) == numba_cache.KEEP


def test_every_kernel_module_configures_the_cache_before_its_first_njit():
    """numba picks a function's cache directory when it decorates it, so the call must come first."""
    modules = [p for p in PACKAGE.rglob("*.py") if "from numba import" in p.read_text()]
    assert len(modules) >= 10, modules  # nine kernels and kernel_math today
    for path in modules:
        tree = ast.parse(path.read_text())
        first_njit = min(n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "njit"
                         and not isinstance(getattr(n, "ctx", None), ast.Store) and n.lineno > 1
                         and not _in_import(tree, n.lineno))
        calls = [n.lineno for n in tree.body if isinstance(n, ast.Expr) and ast.unparse(n) == "numba_cache.configure()"]
        assert calls and calls[0] < first_njit, path


def _in_import(tree: ast.Module, line: int) -> bool:
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) and n.lineno <= line <= n.end_lineno for n in tree.body)


_LOAD = """
import json, sys
import numpy as np
import numba.core.base
refreshes = []
refresh = numba.core.base.BaseContext.refresh
numba.core.base.BaseContext.refresh = lambda self: (refreshes.append(1), refresh(self))[1]
sys.path.insert(0, {user_dir!r})
from numba.core.caching import FunctionCache
from simulator import kernel_math, numba_cache
import userfn
unmade = [f for f in ("maximum", "clip", "rows_sum_into") if "_made_from" in vars(getattr(kernel_math, f)._cache)]
x, out = np.arange(12.0).reshape(3, 4) ** 1.5, np.empty(4)
kernel_math.rows_sum_into(x, out)
ours = len(refreshes)
print(json.dumps({{"out": out.tolist(), "ours": ours, "hits": sum(kernel_math.rows_sum_into.stats.cache_hits.values()),
                   "user": userfn.plus_one(1.5), "user_refreshes": len(refreshes) - ours,
                   "user_hits": sum(userfn.plus_one.stats.cache_hits.values()), "light": numba_cache.light_cache_loads(),
                   "unmade": unmade, "unmade_after": [f for f in unmade if "_made_from" in vars(getattr(kernel_math, f)._cache)],
                   "caches": [isinstance(getattr(kernel_math, f)._cache, FunctionCache) for f in unmade],
                   "user_cache": type(userfn.plus_one._cache) is FunctionCache}}))
"""


def test_a_kernel_loads_from_the_cache_without_the_compilers_refresh(tmp_path):
    """A process that finds a kernel compiled loads it without numba's refresh of its registries (~0.2 s of a
    worker's start) and gets the same numbers; the first process compiled it (numba refreshed then, as its
    compiler must); a user's own cached function still loads as numba loads it (refreshed first)."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "userfn.py").write_text("from numba import njit\n\n\n@njit(cache=True)\ndef plus_one(x):\n    return x + 1.0\n")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    cold = _run(_LOAD.format(user_dir=str(user)), env)
    warm = _run(_LOAD.format(user_dir=str(user)), env)
    want = (np.arange(12.0).reshape(3, 4) ** 1.5).sum(axis=0).tolist()
    assert cold["hits"] == 0 and cold["ours"] > 0 and cold["out"] == want  # compiled: refreshed by the compiler
    assert warm["hits"] == 1 and warm["ours"] == 0 and warm["out"] == want and warm["light"]  # loaded, no refresh
    assert warm["user_hits"] == 1 and warm["user_refreshes"] > 0 and warm["user"] == 2.5  # numba's own load
    for run in (cold, warm):  # each function's cache made when first used (rows_sum_into's), not when decorated
        assert run["unmade"] == ["maximum", "clip", "rows_sum_into"] and run["unmade_after"] == ["maximum", "clip"]
        assert run["caches"] == [True] * 3 and run["user_cache"]  # numba's own cache (made at once for the user's)


def test_a_light_load_that_fails_is_done_again_by_numbas_own_load():
    """Whatever a light load lacks (a numba whose loads need the refresh after all), numba's own
    ``load_overload`` loads the kernel: refreshed first, then loaded, its result returned."""
    import numba  # noqa: F401 — light_cache_loads() acts once numba is imported
    from numba.core import caching

    assert numba_cache.light_cache_loads()

    class Context:
        refreshed = 0

        def refresh(self):
            self.refreshed += 1

    class Cache:
        _py_func = type("F", (), {"__module__": "simulator.some_kernel"})()
        calls = 0

        def _guard_against_spurious_io_errors(self):
            return contextlib.nullcontext()

        def _load_overload(self, sig, target_context):
            self.calls += 1
            if not target_context.refreshed:
                raise RuntimeError("symbol not found")  # a load that needs the refresh after all
            return "loaded"

    cache, context = Cache(), Context()
    assert caching.Cache.load_overload(cache, ("sig",), context) == "loaded"
    assert context.refreshed == 1 and cache.calls in (1, 2)  # (1: the runtime's start already failed on this fake)


_LINK = """
import json, sys
import numpy as np
from numba import njit
from numba.core import caching
from simulator import kernel_math, numba_cache, numba_link
if sys.argv[1] == "numba":
    caching.Cache.load_overload = numba_cache._numba_load_overload  # numba's own load, eager
x, out = np.arange(12.0).reshape(3, 4) ** 1.5, np.empty(4)
kernel_math.rows_sum_into(x, out)
(cres,) = kernel_math.rows_sum_into.overloads.values()
library, hits = cres.library, sum(kernel_math.rows_sum_into.stats.cache_hits.values())
engine = library._codegen._engine
unparsed = numba_link._BITCODE in library.__dict__
names = sorted(engine._defined_symbols)
asked = engine.is_symbol_defined(cres.fndesc.llvm_cfunc_wrapper_name)  # a name of the library's besides its entry
parsed = numba_link._BITCODE not in library.__dict__
names_after = sorted(engine._defined_symbols)


@njit
def total(x, out):  # a compilation that calls (links) the loaded kernel
    kernel_math.rows_sum_into(x, out)
    return out.sum()


print(json.dumps({"out": out.tolist(), "hits": hits, "unparsed": unparsed, "names": names, "asked": asked,
                  "parsed": parsed, "names_after": names_after, "total": total(x, np.empty(4)),
                  "linked": str(library._get_module_for_linking()).count("define")}))
"""


def test_a_loaded_kernel_s_ir_is_parsed_only_when_something_needs_it(tmp_path):
    """A warm load adds the kernel's machine code without parsing its bitcode (its entry point is the one name the
    load looks up) and computes the same numbers; the engine's names and the library's module are numba's own
    the moment anything asks: a name the engine's set lacks, or a compilation that calls (links) the kernel."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    cold = _run(_LINK, env, args=("numba",))  # compiles and caches
    eager, lazy = _run(_LINK, env, args=("numba",)), _run(_LINK, env, args=("lazy",))
    want = (np.arange(12.0).reshape(3, 4) ** 1.5).sum(axis=0).tolist()
    assert cold["hits"] == 0 and eager["hits"] == lazy["hits"] == 1
    assert lazy["out"] == eager["out"] == want and lazy["total"] == eager["total"] == sum(want)
    assert not eager["unparsed"] and lazy["unparsed"]  # numba parsed the bitcode at the load; the light load did not
    assert set(lazy["names"]) < set(eager["names"])  # … nor walked its names into the engine's set
    assert lazy["asked"] and eager["asked"] and lazy["parsed"]  # a name the set lacked: parsed, then found
    assert lazy["names_after"] == eager["names_after"] == eager["names"]  # numba's set, name for name
    assert lazy["linked"] == eager["linked"] > 0  # the same module linked into the compilation



_PARTIAL = """
import json
import numpy as np
from numba.core import cpu
from simulator import kernel_math, numba_link
get_executable, failed = cpu.CPUContext.get_executable, []


def fail_once(self, *args, **kwargs):  # the light load's rebuild fails after its library reached the engine
    if not failed:
        failed.append(1)
        raise RuntimeError("a rebuild that fails")
    return get_executable(self, *args, **kwargs)


cpu.CPUContext.get_executable = fail_once
x, out = np.arange(12.0).reshape(3, 4) ** 1.5, np.empty(4)
kernel_math.rows_sum_into(x, out)
(cres,) = kernel_math.rows_sum_into.overloads.values()
engine = cres.library._codegen._engine
print(json.dumps({"out": out.tolist(), "failed": len(failed), "hits": sum(kernel_math.rows_sum_into.stats.cache_hits.values()),
                  "pending": len(getattr(engine, numba_link._PENDING, []))}))
"""


def test_a_light_load_that_fails_midway_leaves_no_library_waiting(tmp_path):
    """A light load whose rebuild fails after its library was added is redone by numba's own load, and the first
    library is not left in the list of libraries whose bitcode a later miss would parse (review 15)."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    _run(_LINK, env, args=("numba",))  # compiles and caches
    run = _run(_PARTIAL, env)
    assert run["failed"] == 1 and run["hits"] == 1 and run["pending"] == 0
    assert run["out"] == (np.arange(12.0).reshape(3, 4) ** 1.5).sum(axis=0).tolist()


def test_the_lazy_link_needs_what_this_numba_has(monkeypatch):
    """:func:`numba_link.supported` holds on the pinned numba and fails without one member it reads; what numba
    does with those members, which the lazy link relies on, is read from numba's source: linking a library reads
    its ``_shared_module``, and an address asked by name is first checked with the engine's ``is_symbol_defined``
    (a numba that changes either fails here, not silently in a run)."""
    import inspect

    from numba.core import codegen, dispatcher, environment
    from numba.core.runtime import nrt, nrtdynmod

    from simulator import numba_link

    assert numba_link.supported()
    assert "_shared_module" in inspect.getsource(codegen.CPUCodeLibrary._get_module_for_linking)
    assert "is_symbol_defined" in inspect.getsource(codegen.JITCodeLibrary.get_pointer_to_function)
    assert inspect.getsource(environment._rebuild_env).split() == _NUMBA_REBUILD_ENV.split()  # what rebuild_env does
    assert inspect.getsource(type(nrt.rtsys).initialize).split() == _NUMBA_RUNTIME.split()  # … and start_runtime
    assert inspect.getsource(nrtdynmod.compile_nrt_functions).split() == _NUMBA_NRT_FUNCTIONS.split()
    enable = numba_cache._numba_enable_caching or dispatcher.Dispatcher.enable_caching  # (what a lazy cache defers)
    assert inspect.getsource(enable).split() == "def enable_caching(self): self._cache = FunctionCache(self.py_func)".split()
    monkeypatch.delattr(environment.Environment, "_memo")
    assert not numba_link.supported()
    monkeypatch.undo()
    monkeypatch.delattr(codegen.JitEngine, "_load_defined_symbols")
    assert not numba_link.supported()


#: numba's runtime's start, as :func:`simulator.numba_link.start_runtime` repeats it (but with the library's object
#: code cached), and the compilation of the runtime's library it replaces.
_NUMBA_RUNTIME = """
    @global_compiler_lock
    def initialize(self, ctx):
        \"\"\"Initializes the NRT

        Must be called before any actual call to the NRT API.
        Safe to be called multiple times.
        \"\"\"
        if self._init:
            # Already initialized
            return

        # Switch stats on if the config requests them.
        if config.NRT_STATS:
            _nrt.memsys_enable_stats()

        # Register globals into the system
        for py_name in _nrt.c_helpers:
            if py_name.startswith("_"):
                # internal API
                c_name = py_name
            else:
                c_name = "NRT_" + py_name
            c_address = _nrt.c_helpers[py_name]
            ll.add_symbol(c_name, c_address)

        # Compile atomic operations
        self._library = nrtdynmod.compile_nrt_functions(ctx)
        self._init = True
"""
_NUMBA_NRT_FUNCTIONS = """
def compile_nrt_functions(ctx):
    \"\"\"
    Compile all LLVM NRT functions and return a library containing them.
    The library is created using the given target context.
    \"\"\"
    ir_mod, library = create_nrt_module(ctx)

    library.add_ir_module(ir_mod)
    library.finalize()

    return library
"""

#: numba's ``_rebuild_env`` as :func:`simulator.numba_link.rebuild_env` repeats it (but for a numba module not
#: imported yet, made lazily loaded, whose dictionary is read without loading it).
_NUMBA_REBUILD_ENV = """
def _rebuild_env(modname, consts, env_name):
    env = lookup_environment(env_name)
    if env is not None:
        return env

    mod = importlib.import_module(modname)
    env = Environment(mod.__dict__)
    env.consts[:] = consts
    env.env_name = env_name
    # Cache loaded object
    Environment._memo[env_name] = env
    return env
"""


#: Compiled functions of many kinds, cached, that load as hashfleet's own (``simulator.*`` modules).
_KINDS = """import numpy as np
import sys
from numba import njit, typed, types

sys.modules["simulator.probe_kinds"] = sys.modules[__name__]


def _ours(f):
    f.__module__ = "simulator.probe_kinds"
    return njit(cache=True)(f)


@_ours
def static_raise(x):
    if x < 0:
        raise ValueError("negative")
    return x + 1.0


@_ours
def dynamic_raise(x):
    if x < 0:
        raise ValueError("negative", x)
    return x


@_ours
def int_div(a, b):
    return a // b


@_ours
def empty_of(n):
    return np.empty(n).size


@_ours
def dict_sum(n):
    d = typed.Dict.empty(types.int64, types.float64)
    for i in range(n):
        d[i] = i * 0.5
    s = 0.0
    for k in d:
        s += d[k]
    return s


@_ours
def set_len(a):
    return len(set(a))


@_ours
def strings(n):
    s = "ab" * n
    return len(s.upper() + str(n))


@_ours
def record_sum(r):
    return r["a"].sum() + r["b"].sum()


@_ours
def sorted_copy(a):
    return np.sort(a)


@_ours
def inverse(m):
    return np.linalg.inv(m)


@_ours
def callee(x):
    return x * 2.0


@_ours
def caller(a):
    out = np.empty_like(a)
    for i in range(a.size):
        out[i] = callee(a[i])
    return out
"""

_KIND_CALLS = """
import json, sys
sys.path.insert(0, sys.argv[2])
import numpy as np
from numba.core import caching
from simulator import numba_cache, numba_link
numba_cache.configure()
import kinds
if sys.argv[1] == "numba":
    caching.Cache.load_overload = numba_cache._numba_load_overload  # numba's own load, eager
rec = np.zeros(3, dtype=[("a", "f8"), ("b", "i8")])
rec["a"], rec["b"] = [1.5, 2.5, 3.5], [1, 2, 3]
calls = [("static_raise", (2.0,)), ("static_raise", (-1.0,)), ("dynamic_raise", (-2.0,)), ("int_div", (7, 0)),
         ("int_div", (7, 2)), ("empty_of", (-1,)), ("empty_of", (4,)), ("dict_sum", (10,)),
         ("set_len", (np.array([1, 2, 2, 3]),)), ("strings", (3,)), ("record_sum", (rec,)),
         ("sorted_copy", (np.array([3.0, 1.0, 2.0]),)), ("inverse", (np.array([[2.0, 0.0], [0.0, 4.0]]),)),
         ("caller", (np.arange(3.0),))]
out = []
for name, args in calls:
    try:
        r = getattr(kinds, name)(*args)
        out.append(repr(r.tolist() if hasattr(r, "tolist") else r))
    except Exception as exc:
        out.append(f"{type(exc).__name__}: {exc}")
hits = sum(sum(getattr(kinds, n).stats.cache_hits.values()) for n, _ in calls)
lazy = sum(numba_link._BITCODE in c.library.__dict__ for n, _ in calls for c in getattr(kinds, n).overloads.values())
print(json.dumps({"out": out, "hits": hits, "lazy": lazy}))
"""


@pytest.mark.slow
def test_every_kind_of_kernel_loads_lazily_with_numba_s_results(tmp_path):
    """Raises with and without runtime values, integer division by zero, ``np.empty(-1)``, typed dicts, sets,
    strings, records, ``np.sort``, ``np.linalg.inv``, a kernel calling another: each loads from a warm cache with
    its bitcode unparsed and returns (or raises) what numba's own eager load gives."""
    (tmp_path / "kinds.py").write_text(_KINDS)
    env, args = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}, str(tmp_path)
    cold = _run(_KIND_CALLS, env, args=("numba", args))  # compiles and caches
    eager, lazy = _run(_KIND_CALLS, env, args=("numba", args)), _run(_KIND_CALLS, env, args=("lazy", args))
    assert cold["hits"] == 0 and eager["hits"] == lazy["hits"] == len(cold["out"]) == 14
    assert lazy["out"] == eager["out"] == cold["out"]
    assert eager["lazy"] == 0 and lazy["lazy"] == 14
    assert "ValueError: ('negative', -2.0)" in lazy["out"] and "[[0.5, -0.0], [0.0, 0.25]]" in lazy["out"]


_ENV = """
import json, sys, types
sys.path.insert(0, sys.argv[2])
from numba import njit
from numba.core import caching, environment
from simulator import numba_cache
numba_cache.configure()
import kinds
if sys.argv[1] == "numba":
    caching.Cache.load_overload = numba_cache._numba_load_overload  # numba's own load, eager
out = [kinds.empty_of(4), kinds.strings(3)]
hits = sum(sum(getattr(kinds, n).stats.cache_hits.values()) for n in ("empty_of", "strings"))
lazy = sorted(n for n in ("numba.np.arrayobj", "numba.cpython.unicode") if type(sys.modules[n]) is not types.ModuleType)
envs = [e for e in list(environment.Environment._memo.values()) if e.env_name.startswith("_ZN08NumbaEnv5numba2np8arrayobj")]
import numba.np.arrayobj as arrayobj  # (an import runs a lazy module)
same = bool(envs) and all(e.globals is arrayobj.__dict__ for e in envs) and "make_array" in envs[0].globals


@njit
def up(s):  # a compilation after the loads: its typing needs numba.cpython.unicode's overloads
    return s.upper() + str(len(s))


print(json.dumps({"out": out, "hits": hits, "lazy": lazy, "same": same, "up": up("ab"),
                  "on_parent": sys.modules["numba.np"].arrayobj is arrayobj}))
"""


def test_a_load_leaves_numbas_implementation_modules_lazy_until_read(tmp_path):
    """A kernel whose library reached ``np.empty`` and strings (functions of ``numba.np.arrayobj`` and
    ``numba.cpython.unicode``, each with an environment whose globals are its module's dictionary) loads without
    running those modules (numba's load imports them, ~0.02 s a worker); the environments' globals are the very
    dictionary the module runs in once imported; a compilation after the loads (which needs their overloads) works."""
    (tmp_path / "kinds.py").write_text(_KINDS)
    env, args = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}, str(tmp_path)
    cold = _run(_ENV, env, args=("numba", args))  # compiles and caches
    eager, lazy = _run(_ENV, env, args=("numba", args)), _run(_ENV, env, args=("lazy", args))
    assert cold["hits"] == 0 and eager["hits"] == lazy["hits"] == 2
    assert lazy["out"] == eager["out"] == cold["out"] == [4, 7]
    assert eager["lazy"] == [] and lazy["lazy"] == ["numba.cpython.unicode", "numba.np.arrayobj"]
    assert eager["same"] and lazy["same"] and lazy["on_parent"] and eager["on_parent"]
    assert lazy["up"] == eager["up"] == "AB2"


_RUNTIME = """
import gc, json, sys
sys.path.insert(0, sys.argv[2])
from numba.core import codegen
from numba.core.runtime import nrt
from simulator import numba_cache
compiled = []
finalize = codegen.CPUCodeLibrary.finalize


def counted(self):  # the runtime's library compiled here, or not
    compiled.append(self.name)
    return finalize(self)


codegen.CPUCodeLibrary.finalize = counted
numba_cache.configure()
import numpy as np
import kinds
if sys.argv[1] == "numba":
    from numba.core import caching
    caching.Cache.load_overload = numba_cache._numba_load_overload  # numba's own load and runtime
out = [kinds.dict_sum(10), kinds.set_len(np.array([1, 2, 2, 3])), kinds.empty_of(4), kinds.caller(np.arange(3.0)).tolist()]
gc.collect()
stats = nrt.rtsys.get_allocation_stats()
print(json.dumps({"out": out, "nrt_compiled": compiled.count("nrt"), "balanced": stats.alloc == stats.free > 0
                  and stats.mi_alloc == stats.mi_free > 0, "kernels_compiled": len(compiled) - compiled.count("nrt")}))
"""


def test_the_runtime_s_library_is_compiled_once_then_loaded_from_its_object_code(tmp_path):
    """numba's runtime (NRT), started by a light load: the first process compiles its library (as numba does) and
    keeps its object code beside the kernels'; the next loads it instead (~0.015 s a worker), and the kernels that
    allocate, count references and free through it (typed dicts, sets, arrays) give numba's results with every
    allocation freed (numba's allocation statistics)."""
    (tmp_path / "kinds.py").write_text(_KINDS)
    env, args = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "NUMBA_NRT_STATS": "1"}, str(tmp_path)
    cold = _run(_RUNTIME, env, args=("numba", args))  # compiles the kernels (numba's own runtime)
    assert cold["nrt_compiled"] == 1 and cold["kernels_compiled"] > 0 and not list(tmp_path.glob("xdg/**/nrt-*.o"))
    first, second = _run(_RUNTIME, env, args=("lazy", args)), _run(_RUNTIME, env, args=("lazy", args))
    eager = _run(_RUNTIME, env, args=("numba", args))
    assert [r["kernels_compiled"] for r in (first, second, eager)] == [0, 0, 0]
    assert first["nrt_compiled"] == 1 and second["nrt_compiled"] == 0 and eager["nrt_compiled"] == 1
    assert len(list(tmp_path.glob("xdg/**/nrt-*.o"))) == 1
    assert first["out"] == second["out"] == eager["out"] == cold["out"] == [22.5, 3, 4, [0.0, 2.0, 4.0]]
    assert first["balanced"] and second["balanced"] and eager["balanced"] and cold["balanced"]
    (kept,) = tmp_path.glob("xdg/**/nrt-*.o")
    kept.write_bytes(kept.read_bytes()[:5])  # a file cut short (a full disk): compiled again and written whole
    again, last = _run(_RUNTIME, env, args=("lazy", args)), _run(_RUNTIME, env, args=("lazy", args))
    assert again["nrt_compiled"] == 1 and last["nrt_compiled"] == 0 and again["out"] == last["out"] == cold["out"]
    whole = kept.read_bytes()
    kept.write_bytes(whole[:-100])  # cut inside the bitcode (review 16: its length header alone passed it)
    again, last = _run(_RUNTIME, env, args=("lazy", args)), _run(_RUNTIME, env, args=("lazy", args))
    assert again["nrt_compiled"] == 1 and last["nrt_compiled"] == 0 and again["out"] == last["out"] == cold["out"]
    assert kept.read_bytes() == whole


def test_a_runtime_file_is_read_only_whole_and_unchanged():
    """:func:`simulator.numba_link._runtime_code` gives the kept object code and bitcode only when the file's digest
    matches: a byte changed anywhere, a file cut anywhere, or none, and the runtime is compiled again."""
    import hashlib

    from simulator.numba_link import _runtime_code

    object_code, bitcode = b"\x7fELF" + bytes(range(60)), b"BC" + bytes(40)
    payload = len(object_code).to_bytes(8, "little") + object_code + bitcode
    data = hashlib.blake2b(payload, digest_size=16).digest() + payload
    assert _runtime_code(data) == (object_code, bitcode)
    for i in (0, 17, 24 + 3, len(data) - 1):
        damaged = bytearray(data)
        damaged[i] ^= 1
        assert _runtime_code(bytes(damaged)) is None, i
    assert all(_runtime_code(data[:n]) is None for n in (0, 5, 16, 24, 30, len(data) - 1))


def test_a_module_is_entered_lazily_only_while_one_thread_runs(tmp_path, monkeypatch):
    """:func:`simulator.numba_link.lazy_module` defers a module's code only in a process with one thread (a forked
    worker): Python 3.11's ``LazyLoader`` has no lock, so with another thread running the module is imported."""
    import threading
    import types

    from simulator import numba_link

    for name in ("one", "two"):
        (tmp_path / f"lazymod_{name}.py").write_text("ran = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lazy = numba_link.lazy_module("lazymod_one")
    assert type(lazy) is not types.ModuleType  # entered, not run (any attribute read would run it)
    assert lazy.ran and type(lazy) is types.ModuleType  # run on first read
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        eager = numba_link.lazy_module("lazymod_two")
        assert type(eager) is types.ModuleType and eager.__dict__["ran"]
    finally:
        stop.set()
        other.join()
    for name in ("lazymod_one", "lazymod_two"):
        sys.modules.pop(name, None)
