"""Build the ahead-of-time compiled fit kernels (``kt._aot``): ``python -m kt._aot_build``.

Run by ``make setup`` (a failure leaves the Numba JIT kernels in use and says why). Steps:

1. run a small ``read_log`` + ``BKT.fit`` workload (both column layouts, standard / forgets /
   multigs fits) with every Numba kernel of ``kt._aot.KERNEL_MODULES`` wrapped, recording the
   signature each kernel is called with (this also warms the Numba cache);
2. export each kernel seen with exactly one signature through ``numba.pycc`` (a kernel that
   is parallel in Numba is exported as a one-thread copy compiled with its own options: a
   ``prange`` runs as a ``range``); the exported symbol is a trampoline calling the kernel, so
   each kernel keeps its own compile options (``error_model``);
3. write the extension and ``manifest.json`` (source digest, exported kernels, the named-tuple
   argument types' fields) into ``kt/_compiled/``, replacing a previous build only when the
   new one is complete.

Compiling takes about 10-30 s; the workload's Numba compile (cold cache) longer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kt import _aot

_ASSIST = "order_id,user_id,skill_name,problem_id,correct,template_id,original\n"
_KDD = "Row\tAnon Student Id\tProblem Name\tKC(Default)\tCorrect First Attempt\n"


def _write_workload(folder: Path) -> list[Path]:
    """Two small logs in the shared-data layouts (ASSISTments CSV with integer ids and
    skill copies; Cognitive Tutor TSV with text ids and ``~~`` skills, rows out of order)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a_rows, k_rows = [_ASSIST], [_KDD]
    order = 0
    for u in range(40):
        for k in range(30):
            order += 1 + int(rng.integers(0, 3))
            skill = f"skill {k % 4}"
            ok = int(rng.random() < 0.6 + 0.01 * k)
            a_rows.append(f"{order},{1000 + u},{skill},{k % 7},{ok},{k % 3},1\n")
            if k % 9 == 0:  # a copy of the answer for a second skill, next order key
                order += 1
                a_rows.append(f"{order},{1000 + u},skill 9,{k % 7},{ok},{k % 3},1\n")
            kc = "KC-a~~KC-b" if k % 5 == 0 else f"KC-{k % 3}"
            k_rows.append(f"{(u * 37 + k * 11) % 1200 + 1}\tS{u:03d}\tP{k % 6}\t{kc}\t{ok}\n")
    paths = [folder / "assist.csv", folder / "kdd.tsv"]
    paths[0].write_text("".join(a_rows))
    paths[1].write_text("".join(k_rows))
    return paths


def _dispatchers(module) -> dict:
    from numba.core.registry import CPUDispatcher

    return {n: v for n, v in vars(module).items() if isinstance(v, CPUDispatcher)}


def _named_tuples(module) -> dict[str, list[str]]:
    return {
        n: list(v._fields) for n, v in vars(module).items()
        if isinstance(v, type) and issubclass(v, tuple) and hasattr(v, "_fields")
        and v.__module__ == module.__name__
    }


def _use_jit() -> None:
    """Kernel namespaces callers may hold (kt.bkt.online) resolve names to Numba anew."""
    for existing in _aot._SETS.values():
        existing.use_jit()


def record_signatures(folder: Path) -> dict[str, dict[str, set]]:
    """{module: {kernel: {Signature, ...}}} of the kernels the workload calls."""
    from numba import typeof

    seen: dict[str, dict[str, set]] = {}
    patched = []
    _aot._MANIFEST = False  # the workload must call the Numba kernels, not a previous build
    # Compile every kernel first, unwrapped: a kernel calling another kernel resolves that
    # global when it compiles, and with a cold Numba cache it would otherwise find the spy (a
    # Python function) and fail to type. The recording run below then compiles nothing.
    _use_jit()
    _workload(folder)
    _use_jit()  # drop the dispatchers the compile run resolved
    for name in _aot.KERNEL_MODULES:
        module = importlib.import_module(name)
        seen[name] = {}
        for attr, disp in _dispatchers(module).items():

            def spy(*args, _d=disp, _a=attr, _s=seen[name]):
                out = _d(*args)
                key = tuple(typeof(a) for a in args)
                sig = _d.overloads[key].signature if key in _d.overloads else None
                if sig is None and len(_d.overloads) == 1:
                    sig = next(iter(_d.overloads.values())).signature
                _s.setdefault(_a, set()).add(sig)
                return out

            setattr(module, attr, spy)
            patched.append((module, attr, disp))
    try:
        _workload(folder)
    finally:
        for module, attr, disp in patched:
            setattr(module, attr, disp)
    return seen


def _workload(folder: Path) -> None:
    from kt.bkt import BKT
    from kt.io import read_log

    assist, kdd = _write_workload(folder)
    logs = [read_log(assist, classes=["template_id"]), read_log(kdd), read_log(assist)]
    for log in logs:
        for kw in ({}, {"forgets": True}, {"num_fits": 2}):
            BKT(max_iter=5, **kw).fit(log)
    BKT(max_iter=5, multigs="template_id").fit(logs[0])


def _trampoline(name: str, target, n_args: int):
    """``def name(a0, ..., aN): return target(a0, ..., aN)`` (a plain function for pycc)."""
    args = ", ".join(f"a{i}" for i in range(n_args))
    scope = {"target": target}
    exec(f"def {name}({args}):\n    return target({args})\n", scope)  # noqa: S102
    return scope[name]


def _nogil_flags():
    """numba.pycc compiles with fresh ``Flags()``; this subclass sets ``release_gil`` so every
    exported wrapper releases the GIL while the kernel runs (``kt._aot`` then runs ``em_fit``'s
    worker lists in threads). Used only while ``cc.compile()`` runs."""
    from numba.core.compiler import Flags

    class NoGilFlags(Flags):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True

    return NoGilFlags


def _export(cc, index: int, name: str, kernels: dict, skipped: dict) -> dict:
    """Add module ``name``'s kernels seen with one signature to ``cc``; returns the module's
    manifest entry (exported kernels, named-tuple fields); others are noted in ``skipped``."""
    from numba import njit

    module = importlib.import_module(name)
    entry: dict = {"kernels": {}, "tuples": _named_tuples(module)}
    for attr, sigs in sorted(kernels.items()):
        if len(sigs) != 1 or None in sigs:
            skipped[f"{name}.{attr}"] = f"{len(sigs)} signatures"
            continue
        sig = next(iter(sigs))
        disp = getattr(module, attr)
        parallel = bool(disp.targetoptions.get("parallel"))
        target = disp
        if parallel:  # a one-thread copy with the kernel's other options (prange -> range)
            opts = {k: v for k, v in disp.targetoptions.items()
                    if k not in ("parallel", "cache", "nopython", "boundscheck")}
            target = njit(**opts)(disp.py_func)
        export = f"m{index}_{attr}"
        cc.export(export, sig)(_trampoline(export, target, len(sig.args)))
        entry["kernels"][attr] = {"export": export, "parallel": parallel, "signature": str(sig)}
    return entry


def build(out_dir: Path = _aot.COMPILED_DIR, verbose: bool = True) -> dict:
    """Record, compile and install; returns the manifest written."""
    import warnings

    with warnings.catch_warnings():  # pycc is "pending deprecation" (no replacement yet)
        warnings.simplefilter("ignore")
        from numba.pycc import CC
        from numba.pycc import compiler as pycc_compiler

    digest = _aot.source_digest()
    with tempfile.TemporaryDirectory(prefix="kt-aot-") as tmp:
        folder = Path(tmp)
        seen = record_signatures(folder)
        cc = CC(_aot.MODULE_NAME)
        cc.output_dir = str(folder / "out")
        cc.target_cpu = "host"
        cc.verbose = False
        info = {"digest": digest, "python": list(sys.version_info[:2]), "modules": {},
                "skipped": {}}
        for i, (name, kernels) in enumerate(sorted(seen.items())):
            info["modules"][name] = _export(cc, i, name, kernels, info["skipped"])
        started = time.perf_counter()
        plain_flags = pycc_compiler.Flags
        pycc_compiler.Flags = _nogil_flags()
        try:
            cc.compile()
        finally:
            pycc_compiler.Flags = plain_flags
        info["nogil"] = True
        info["compile_seconds"] = round(time.perf_counter() - started, 1)
        built = list((folder / "out").glob(_aot.MODULE_NAME + "*"))
        if len(built) != 1:
            raise RuntimeError(f"numba.pycc wrote {built}, expected one extension module")
        staging = out_dir.with_name(out_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy2(built[0], staging / built[0].name)
        (staging / "manifest.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        (staging / ".gitignore").write_text("*\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.rename(out_dir)
    if verbose:
        n = sum(len(m["kernels"]) for m in info["modules"].values())
        print(f"kt._aot_build: compiled {n} kernels into {out_dir} in "
              f"{info['compile_seconds']} s; skipped: {info['skipped'] or 'none'}")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kt._aot_build", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--out", type=Path, default=_aot.COMPILED_DIR,
                        help="folder for the extension and manifest (default: kt/_compiled)")
    args = parser.parse_args(argv)
    build(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
