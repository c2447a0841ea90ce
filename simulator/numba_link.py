"""A cached kernel's machine code loaded without parsing its IR until something needs it (issue 19).

numba caches a CPU function as the object code of its library together with the library's LLVM bitcode
(its "shared module"), and every load parses that bitcode (``CPUCodeLibrary._unserialize``) and walks its
functions and globals into the JIT engine's set of defined names (``JitEngine._defined_symbols``). The
parsed module serves a later *compilation* only: one that calls the loaded function links its IR in
(``_get_module_for_linking``); the set of names is what ``get_pointer_to_function`` checks before it asks
the engine for an address. A run that loads its kernels from the cache compiles nothing, yet the parse and
the walk were a third of a bench-10y worker's kernel loads (~0.14 s of CPU of ~0.4 s, 27 libraries).

:func:`load` does numba's ``Cache._load_overload`` with the library made by :func:`unserialize`, which does
what numba's ``_unserialize`` does for object code (the same bytes added to the same engine, linked and
relocated alike, the object cache hook handing them over) but keeps the bitcode unparsed. The function's
entry point, the CPython wrapper its cached descriptor names, is the one name the load itself looks up:
the library defines it (numba's own check would find it in the parsed module), so its address is asked of
the engine directly. The bitcode is parsed, and its names added to the engine's set, the first time anyone
reads the library's ``_shared_module`` (a compilation linking it) or asks the engine about a name its set
lacks while some library is still unparsed; from then on the library and the engine are what numba's load
would have left. Only the loads of hashfleet's own kernels go this way (:mod:`simulator.numba_cache`).

The same loads rebuild the environments their pickles name with :func:`rebuild_env`, numba's own but for a numba
module not yet imported (``numba.np.arrayobj``, ``numba.cpython.unicode``: the modules of the ``np.empty`` and
string implementations a kernel reached), which is entered lazily (:func:`lazy_module`) instead of being run: the
environment's globals are its dictionary all the same, and nopython code never reads them. And the first load
starts numba's runtime with its library's object code cached as a kernel's is (:func:`start_runtime`).
"""
from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys
import threading
import types

from llvmlite import binding as ll

_lock = threading.RLock()  # one parse per library, whichever thread asks first


def _new_lock() -> None:
    global _lock
    _lock = threading.RLock()  # a child forked while another thread held the lock must not wait for it


os.register_at_fork(after_in_child=_new_lock)
_classes: dict[type, type] = {}  # numba's library class → its lazily linked subclass
_PENDING = "_hashfleet_pending"  # on the engine: libraries whose bitcode is not parsed yet
_BITCODE, _ENTRY = "_hashfleet_bitcode", "_hashfleet_entry"  # on a library: its bitcode, its entry point


class _LinkedLazily:
    """Mixed into numba's JIT library class for a cached library whose bitcode is parsed on first use."""

    @property
    def _shared_module(self):
        link(self)
        return self.__dict__["_shared_module"]

    @_shared_module.setter
    def _shared_module(self, module):
        self.__dict__["_shared_module"] = module

    def get_pointer_to_function(self, name):
        if name == self.__dict__.get(_ENTRY) and _BITCODE in self.__dict__:  # defined here: numba's check would pass
            self._ensure_finalized()
            return self._codegen._engine.get_function_address(name)
        return super().get_pointer_to_function(name)


def _lazy_class(cls: type) -> type:
    if cls not in _classes:
        _classes[cls] = type(cls.__name__, (_LinkedLazily, cls), {"__module__": __name__})
    return _classes[cls]


def link(library) -> None:
    """Parse ``library``'s bitcode into its ``_shared_module`` and add the names it defines to the engine's set
    (as numba's load does at once); nothing if that is done already."""
    with _lock:
        bitcode = library.__dict__.get(_BITCODE)
        if bitcode is None:
            return
        module = ll.parse_bitcode(bitcode)
        engine = library._codegen._engine
        library.__dict__["_shared_module"] = module
        engine._load_defined_symbols(module)
        del library.__dict__[_BITCODE]
        getattr(engine, _PENDING).remove(library)


def _is_symbol_defined(engine, numba_is_symbol_defined, name: str) -> bool:
    """The engine's ``is_symbol_defined``: a name its set lacks is looked for again once every library is parsed."""
    if numba_is_symbol_defined(name):
        return True
    pending = getattr(engine, _PENDING)
    if not pending:
        return False
    for library in list(pending):
        link(library)
    return numba_is_symbol_defined(name)


def _watch(engine) -> None:
    """Give ``engine`` its list of unparsed libraries and the ``is_symbol_defined`` that parses them on a miss."""
    if _PENDING not in engine.__dict__:
        setattr(engine, _PENDING, [])
        engine.is_symbol_defined = functools.partial(_is_symbol_defined, engine, engine.is_symbol_defined)


def supported() -> bool:
    """Whether this numba has every private member the lazy link reads or replaces (numba's own classes, by name);
    if not, :mod:`simulator.numba_cache` keeps the eager light load. That numba reads a library's ``_shared_module``
    when it links it and asks the engine's ``is_symbol_defined`` before an address is what the lazy link relies on
    besides, and :func:`rebuild_env` repeats numba's ``_rebuild_env``: ``tests/test_numba_cache.py`` checks all three
    in numba's source, so a numba that changes them fails there."""
    from numba.core import caching, codegen, environment
    from numba.core.runtime import _nrt_python, nrt, nrtdynmod

    needed = {codegen.JitEngine: ("_load_defined_symbols", "is_symbol_defined", "get_function_address"),
              codegen.CPUCodeLibrary: ("_set_compiled_object", "enable_object_caching", "_finalize_final_module",
                                       "_ensure_finalized", "_get_module_for_linking", "_unserialize",
                                       "serialize_using_object_code", "add_ir_module", "finalize"),
              codegen.JITCodeLibrary: ("get_pointer_to_function",),
              codegen.CPUCodegen: ("unserialize_library", "create_library", "magic_tuple"),
              caching.Cache: ("_index_key",),
              environment: ("_rebuild_env", "lookup_environment", "Environment"),
              environment.Environment: ("_memo",),
              nrt.rtsys: ("_init", "initialize"),
              nrtdynmod: ("create_nrt_module",),
              _nrt_python: ("c_helpers", "memsys_enable_stats")}
    return all(hasattr(cls, name) for cls, names in needed.items() for name in names)


_NAMESPACE = types.ModuleType.__dict__["__dict__"].__get__  # a module's dictionary, read without loading a lazy one


def rebuild_env(modname, consts, env_name, environment=None):
    """numba's ``numba.core.environment._rebuild_env``, which a cached kernel's pickle calls for each environment
    its library references (one per function compiled into it, a kernel's own and the numba implementations it
    reached: ``np.empty`` from ``numba.np.arrayobj``, …), except that a numba module not imported yet is made a lazily
    loaded module (:func:`lazy_module`) instead of being imported: the environment's globals are that module's
    dictionary either way, the one its code runs in once anything reads an attribute of it. The machine code of a
    nopython function never reads its environment's globals (only object-mode code does); so a worker whose loads
    reach ``numba.np.arrayobj`` or ``numba.cpython.unicode`` (and their imports, ~0.02 s) does not run them.
    (``environment``: the module ``numba.core.environment``, if the caller has it at hand.)"""
    if environment is None:
        from numba.core import environment

    env = environment.lookup_environment(env_name)
    if env is not None:
        return env
    module = sys.modules.get(modname)
    if module is None:
        module = lazy_module(modname) if modname.startswith("numba.") else importlib.import_module(modname)
    env = environment.Environment(_NAMESPACE(module))
    env.consts[:] = consts
    env.env_name = env_name
    environment.Environment._memo[env_name] = env
    return env


def lazy_module(name: str) -> types.ModuleType:
    """The module ``name``, entered in ``sys.modules`` with its code run the first time anything reads one of its
    attributes or imports it (``importlib.util.LazyLoader``, the standard library's lazy import); only then is it set
    on its parent package, so that ``from package import name`` imports it too. A module that cannot be found is
    imported, which raises as numba's import would; so is every module while another thread runs."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module") or threading.active_count() > 1:
        return importlib.import_module(name)  # (3.11's LazyLoader has no lock: a thread could read it half run)
    spec.loader = importlib.util.LazyLoader(_OnParent(spec.loader))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _OnParent(importlib.abc.Loader):
    """``loader``, which once it has run a lazy module's code puts itself back as the module's loader and sets the
    module on its parent package, as an import does."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = module.__loader__ = self.loader
        self.loader.exec_module(module)
        parent, _, child = module.__spec__.name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)


#: The runtime's object code beside the kernels': ``nrt-<key>.o`` (:func:`start_runtime`).
RUNTIME_FILE = "nrt-{key}.o"


def start_runtime(target_context, directory: str) -> None:
    """numba's ``rtsys.initialize(target_context)`` (its runtime, NRT, started once a process), with the runtime's
    library loaded from the object code cached in ``directory`` instead of compiled (~0.015 s of every worker's
    first load): the C helpers' symbols registered, then the library of the runtime's LLVM functions (atomic
    increment and decrement, compare-and-swap, the meminfo's data, ``NRT_incref``/``NRT_decref``, the unresolved
    symbol's abort) made as numba makes it (``nrtdynmod.create_nrt_module``), its IR text hashed with the machine,
    numba and LLVM into the file's name. The file found is that IR compiled for that machine by that LLVM, its
    library unserialized as numba unserializes a cached kernel's; no file: the library is compiled as numba
    compiles it (with its object code kept), and the file written. A runtime started already is left alone."""
    import hashlib

    import llvmlite
    import numba
    from numba.core import config
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.runtime import _nrt_python as _nrt
    from numba.core.runtime import nrt, nrtdynmod

    from simulator import atomic

    rtsys = nrt.rtsys
    if rtsys._init:
        return
    with global_compiler_lock:
        if rtsys._init:
            return
        if config.NRT_STATS:
            _nrt.memsys_enable_stats()
        for py_name, c_address in _nrt.c_helpers.items():
            ll.add_symbol(py_name if py_name.startswith("_") else "NRT_" + py_name, c_address)
        ir_module, library = nrtdynmod.create_nrt_module(target_context)
        codegen = target_context.codegen()
        digest = hashlib.blake2b(str(ir_module).encode(), digest_size=8)
        digest.update(repr((codegen.magic_tuple(), numba.__version__, llvmlite.__version__, ll.llvm_version_info,
                            config.OPT)).encode())
        path = os.path.join(directory, RUNTIME_FILE.format(key=digest.hexdigest()))
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        kept = _runtime_code(data)
        if kept is not None:
            library = codegen.unserialize_library((library.name, "object", kept))
        else:
            library.enable_object_caching()
            library.add_ir_module(ir_module)
            library.finalize()
            _, _, (object_code, bitcode) = library.serialize_using_object_code()
            payload = len(object_code).to_bytes(8, "little") + object_code + bitcode
            try:
                atomic.write_bytes(path, hashlib.blake2b(payload, digest_size=16).digest() + payload)
            except OSError:  # not writable: the next process compiles it too
                pass
        rtsys._library = library
        rtsys._init = True


def _runtime_code(data: bytes) -> tuple[bytes, bytes] | None:
    """The object code and bitcode kept in a runtime file's ``data`` (a 16-byte blake2b digest of the rest, the
    object code's length in 8 bytes, the object code, the bitcode), or None if the digest does not match (a file
    cut short or damaged, or none: the runtime is compiled and the file written again)."""
    import hashlib

    digest, payload = data[:16], data[16:]
    size = int.from_bytes(payload[:8], "little")
    if len(data) < 24 or hashlib.blake2b(payload, digest_size=16).digest() != digest or not 8 < 8 + size < len(payload):
        return None
    return payload[8:8 + size], payload[8 + size:]


def unserialize(codegen, serialized, entry: str, made: list):
    """numba's ``CPUCodeLibrary._unserialize`` of ``serialized`` with the bitcode kept for :func:`link`; ``entry``
    is the name of the function the load will look up (its descriptor's CPython wrapper); the library is appended
    to ``made``."""
    name, kind, data = serialized
    if kind != "object":
        return codegen._library_class._unserialize(codegen, serialized)
    object_code, bitcode = data
    library = codegen.create_library(name)
    library.__class__ = _lazy_class(type(library))
    library.__dict__.update({_BITCODE: bitcode, _ENTRY: entry})
    library.enable_object_caching()
    library._set_compiled_object(object_code)
    _watch(codegen._engine)
    with _lock:
        getattr(codegen._engine, _PENDING).append(library)
    made.append(library)
    library._finalize_final_module()
    return library


def load(cache, sig, target_context):
    """numba's ``Cache._load_overload(sig, target_context)`` (the compile result cached for ``sig``, or None),
    its library from :func:`unserialize`. Called under numba's compiler lock, as numba's own load is."""
    if not cache._enabled:
        return None
    from numba.core import environment

    codegen = target_context.codegen()
    numba_rebuild_env = environment._rebuild_env
    environment._rebuild_env = functools.partial(rebuild_env, environment=environment)  # (the pickle's environments')
    try:
        data = cache._cache_file.load(cache._index_key(sig, codegen))
    finally:
        environment._rebuild_env = numba_rebuild_env
    if data is None:
        return None
    made: list = []
    previous = codegen.__dict__.get("unserialize_library")  # a load nested in this one's rebuild restores it
    codegen.unserialize_library = functools.partial(unserialize, codegen, entry=data[1].llvm_cpython_wrapper_name,
                                                    made=made)
    try:
        return cache._impl.rebuild(target_context, data)
    except BaseException:  # numba's own load redoes it: no half-loaded library left waiting to be parsed
        if made:
            with _lock:
                pending = getattr(codegen._engine, _PENDING)
                pending[:] = [library for library in pending if all(library is not m for m in made)]
        raise
    finally:
        if previous is None:
            del codegen.unserialize_library
        else:
            codegen.unserialize_library = previous
