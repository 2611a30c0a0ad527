"""Kernels of the fit path, ahead-of-time compiled, with the Numba JIT kernels as fallback.

Loading Numba and its cached kernels costs about half a second per process (importing
``numba`` and initialising its compiler, which imports SciPy), more than reading and fitting a
300k-row log. ``python -m kt._aot_build`` (run by ``make setup``) compiles the kernels that
``pathwise fit`` calls, from the same ``_kernels.py`` sources, into one extension module in
``kt/_compiled/`` that needs only NumPy. ``kernels(name)`` returns a namespace standing in for
the kernel module ``name`` (``"kt._kernels"`` or ``"kt.bkt._kernels"``):

* a kernel in the compiled module is called there when the module is *fresh* (built from the
  current sources: a CRC-32 of each kernel file is stored beside it), except a kernel that is
  parallel in Numba (``em_fit``) when Numba is already loaded in the process or the call is
  big (an array argument of at least ``JIT_ROWS`` entries): Numba's threads then pay;
* any other name (and every name when the compiled module is missing or stale) is the Numba
  JIT kernel, imported on first use.

Both run the same code: the compiled ``em_fit`` runs every task on one thread in order, and a
task's result never depends on its thread (``kt.bkt._kernels``), so fits are bit-identical
either way (tests/kt/test_aot.py).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

KERNEL_MODULES = ("kt._kernels", "kt.bkt._kernels")
COMPILED_DIR = Path(__file__).resolve().parent / "_compiled"
MODULE_NAME = "_kt_aot"
JIT_ROWS = 1_000_000
"""A parallel kernel called with an array of at least this many entries runs in Numba (two
threads pay for loading Numba from about here on)."""

_SETS: dict[str, Kernels] = {}
_MANIFEST: Any = None  # the build's manifest dict, False when unusable


def source_digest() -> str:
    """CRC-32 and length of each kernel module's source file (what a compiled module must
    match; a staleness check, not a security one: zlib loads in no time, hashlib's OpenSSL
    takes ~10 ms of every run)."""
    import zlib

    root = Path(__file__).resolve().parent.parent
    parts = []
    for name in KERNEL_MODULES:
        data = (root / (name.replace(".", "/") + ".py")).read_bytes()
        parts.append(f"{name}:{zlib.crc32(data):08x}:{len(data)}")
    return ";".join(parts)


def manifest(directory: Path | None = None) -> dict | None:
    """The compiled module's manifest when it exists and matches the sources, else None."""
    global _MANIFEST
    if directory is None and _MANIFEST is not None:
        return _MANIFEST or None
    folder = COMPILED_DIR if directory is None else directory
    found: dict | None = None
    try:
        data = json.loads((folder / "manifest.json").read_text())
        if data.get("digest") == source_digest() and data.get("python") == list(
            sys.version_info[:2]
        ):
            found = data
    except (OSError, ValueError):
        found = None
    if directory is None:
        _MANIFEST = found if found is not None else False
    return found


def _compiled_module(folder: Path) -> Any:
    """Import the compiled extension from ``folder`` (None when it cannot be loaded)."""
    import importlib.util

    for path in folder.glob(MODULE_NAME + "*"):
        if path.suffix in (".so", ".pyd"):
            spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
            if spec is None or spec.loader is None:
                return None
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except ImportError:
                return None
            return module
    return None


def _big(args: tuple) -> bool:
    """Whether an array argument (or an array in a tuple argument) has >= JIT_ROWS entries."""
    for a in args:
        items = a if isinstance(a, tuple) else (a,)
        for x in items:
            if getattr(x, "size", 0) >= JIT_ROWS:
                return True
    return False


def _as_jit_tuple(jit: Any, value: Any) -> Any:
    """A named tuple of this module's stand-in classes as the kernel module's own class (so
    Numba sees the type its cache was compiled for); anything else unchanged."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        cls = getattr(jit, type(value).__name__, None)
        if cls is not None and not isinstance(value, cls):
            return cls(*value)
    return value


def _run_worker_lists(fast: Any, args: tuple) -> Any:
    """Run a compiled kernel whose task argument (a named tuple with ``order`` and
    ``worker_start``: ``em_fit``'s ``EMTasks``) splits the work into worker lists: one thread
    per list, each calling ``fast`` on its list alone (the compiled wrapper releases the GIL;
    tasks write only their own slices, so the result equals one sequential call). Any other
    kernel, or a single list, runs in this thread."""
    pos = next((i for i, a in enumerate(args)
                if {"order", "worker_start"} <= set(getattr(a, "_fields", ()))), None)
    if pos is None:
        return fast(*args)
    tasks = args[pos]
    starts = tasks.worker_start
    lists = [(int(starts[w]), int(starts[w + 1])) for w in range(len(starts) - 1)
             if starts[w + 1] > starts[w]]
    if len(lists) < 2:
        return fast(*args)
    import numpy as np

    def run(bounds: tuple[int, int]) -> None:
        a, b = bounds
        one = tasks._replace(order=tasks.order[a:b],
                             worker_start=np.array([0, b - a], dtype=starts.dtype))
        fast(*args[:pos], one, *args[pos + 1:])

    from kt._threads import Call

    others = [Call(run, bounds, name="kt-aot") for bounds in lists[1:]]
    run(lists[0])
    for call in others:
        call.result()  # re-raises a worker's error
    return None


class Kernels:
    """Stands in for one kernel module (see the module docstring); attributes are resolved
    once and cached on the instance."""

    def __init__(self, module: str, entry: dict | None, compiled: Any) -> None:
        self._module = module
        self._entry = entry or {"kernels": {}, "tuples": {}}
        self._compiled = compiled

    def use_jit(self) -> None:
        """From now on resolve every name to the Numba kernel (drops resolved attributes;
        ``kt._aot_build`` records signatures through the JIT kernels)."""
        for name in [n for n in vars(self) if not n.startswith("_")]:
            delattr(self, name)
        self._entry = {"kernels": {}, "tuples": {}}
        self._compiled = None

    def jit(self) -> Any:
        """The Numba kernel module itself (imports Numba)."""
        return importlib.import_module(self._module)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        value = self._resolve(attr)
        setattr(self, attr, value)
        return value

    def _resolve(self, attr: str) -> Any:
        fields = self._entry["tuples"].get(attr)
        if fields is not None and self._module not in sys.modules:
            from collections import namedtuple

            return namedtuple(attr, fields)
        spec = self._entry["kernels"].get(attr)
        if spec is None or self._compiled is None:
            return getattr(self.jit(), attr)
        fast = getattr(self._compiled, spec["export"])
        if not spec["parallel"]:
            return fast
        module = self._module

        threaded = bool(self._entry.get("nogil"))

        def call(*args):
            if "numba" in sys.modules or _big(args):
                jit = importlib.import_module(module)
                return getattr(jit, attr)(*(_as_jit_tuple(jit, a) for a in args))
            return _run_worker_lists(fast, args) if threaded else fast(*args)

        call.__name__ = attr
        call.__doc__ = f"{module}.{attr}: compiled (one thread) or Numba (threads)."
        return call

    def get_num_threads(self) -> int:
        """Numba's thread count when Numba is loaded, else the CPU count (what it would be)."""
        if "numba" in sys.modules:
            import numba

            return int(numba.get_num_threads())
        import os

        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)


def kernels(module: str) -> Kernels:
    """The kernels of ``module`` (one of ``KERNEL_MODULES``), compiled where fresh."""
    found = _SETS.get(module)
    if found is None:
        entry = None
        compiled = None
        info = manifest()
        if info is not None and module in info["modules"]:
            compiled = _compiled_module(COMPILED_DIR)
            if compiled is not None:
                entry = dict(info["modules"][module], nogil=bool(info.get("nogil")))
        found = _SETS[module] = Kernels(module, entry, compiled)
    return found
