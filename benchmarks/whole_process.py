"""Whole-process fits: ``pathwise fit FILE`` vs pyBKT 1.4.2 as a user runs them (issue 11 item 5).

Each side is one fresh process that reads the file, fits and writes the model: ours
``python -m service.cli fit FILE --out M.json`` (the ``pathwise`` dispatcher, with its
progress bar and summary on stderr, as a user runs it); pyBKT
``Model(num_fits=1, parallel=False).fit(data_path=FILE)`` + ``save`` in its own venv
(``benchmarks/_pybkt_driver.py`` mode "fit"; ``parallel=False`` was pyBKT's faster setting on
both shared files here). Same settings: one restart, at most 100 EM iterations, stop when the
log-likelihood gains less than 1e-3 (pyBKT's rule; ours also gets ``--rtol 0 --bounds none``
when its CLI has those flags). Runs alternate (ours, pyBKT, pyBKT, ours, ...); wall seconds
and peak memory (max RSS of the child, ``os.wait4`` in a small launcher process) are medians. Before timing: one untimed
run of each, our sources byte-compiled (as an installed package is) and the compiled fit
kernels checked fresh (``kt._aot``; rebuilt when stale, as an install builds them; if that
fails the JIT kernels are used and this is printed).

Scale: a synthetic 10-million-answer log (``kt.synthetic.large_columns``) written as CSV and
fitted by one ``pathwise fit`` process; targets < 30 s and < 2 GB peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "benchmarks" / "_pybkt_driver.py"
PEER_SETTINGS = "num_fits=1, max 100 EM iterations, tol 1e-3 on the log-likelihood"


# Run by a small launcher process: a child's peak RSS (ru_maxrss) includes its parent's RSS
# at fork/exec time, so children of this (big) benchmark process would all report its size.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "wb"))
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([time.perf_counter() - started, os.waitstatus_to_exitcode(status),
                  usage.ru_maxrss]))
"""


def run_child(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process; exits on failure."""
    with tempfile.NamedTemporaryFile(suffix=".err") as err:
        out = subprocess.run([sys.executable, "-c", _LAUNCHER, err.name, *cmd],
                             capture_output=True, text=True, env=env or os.environ.copy())
        if out.returncode != 0:
            sys.exit(f"launcher failed: {out.stderr[-2000:]}")
        seconds, code, maxrss_kb = json.loads(out.stdout)
        if code != 0:
            text = Path(err.name).read_text(errors="replace")
            sys.exit(f"{' '.join(cmd)} failed:\n{text[-3000:]}")
    return seconds, maxrss_kb / 1024.0  # Linux: KB


def _fit_flags() -> list[str]:
    """Our CLI flags for pyBKT's settings (``--rtol`` / ``--bounds`` only when they exist)."""
    flags = ["--num-fits", "1", "--max-iter", "100", "--tol", "0.001"]
    help_text = subprocess.run([sys.executable, "-m", "service.cli", "fit", "--help"],
                               capture_output=True, text=True, cwd=REPO).stdout
    if "--rtol" in help_text:
        flags += ["--rtol", "0"]
    if "--bounds" in help_text:
        flags += ["--bounds", "none"]
    return flags


def ours_cmd(data: Path, out: Path, flags: list[str]) -> list[str]:
    return [sys.executable, "-m", "service.cli", "fit", str(data), "--out", str(out), *flags]


def peer_cmd(peer: Path, data: Path, tmp: Path) -> list[str]:
    spec = {"mode": "fit", "csv": str(data), "num_fits": 1, "seed": 42, "parallel": False,
            "model_out": str(tmp / "pybkt.pkl")}
    spec_path = tmp / f"fit-{data.stem}.json"
    spec_path.write_text(json.dumps(spec))
    return [str(peer), str(DRIVER), str(spec_path), str(tmp / "pybkt-out.json")]


def prepare() -> str:
    """Byte-compile our sources (an installed package has .pyc files; this session may run
    with PYTHONDONTWRITEBYTECODE); rebuild the compiled fit kernels when missing or stale (as
    ``make setup`` does on install) and say which."""
    import compileall

    for folder in ("kt", "service", "engine", "planner"):
        if (REPO / folder).is_dir():
            compileall.compile_dir(str(REPO / folder), quiet=1)
    from kt import _aot

    if _aot.manifest() is not None:
        return "compiled fit kernels fresh (kt._aot)"
    # A kernel file changed since the last build (an install builds them: make setup).
    built = subprocess.run([sys.executable, "-m", "kt._aot_build"], cwd=REPO,
                           capture_output=True, text=True)
    if built.returncode == 0 and _aot.manifest(_aot.COMPILED_DIR) is not None:
        return ("compiled fit kernels were missing or stale (a kernel source changed since "
                "the last build): rebuilt with `python -m kt._aot_build`, as make setup does")
    return ("compiled fit kernels MISSING or STALE and the rebuild failed: the Numba JIT "
            "kernels run (start-up ~0.5 s more); "
            + (built.stderr.strip().splitlines() or ["no message"])[-1])


def compare(peer: Path, data: Path, rounds: int) -> dict:
    """Alternating whole-process runs of both sides on ``data``; medians."""
    flags = _fit_flags()
    with tempfile.TemporaryDirectory(prefix="kt-whole-") as tmp_name:
        tmp = Path(tmp_name)
        ours = ours_cmd(data, tmp / "model.json", flags)
        peer_env = {**os.environ, "OMP_NUM_THREADS": "1"}
        theirs = peer_cmd(peer, data, tmp)
        run_child(ours)  # untimed: page cache, first-run effects
        run_child(theirs, peer_env)
        ours_runs, peer_runs = [], []
        for r in range(rounds):
            pair = [(ours_runs, ours, None), (peer_runs, theirs, peer_env)]
            for runs, cmd, env in pair if r % 2 == 0 else pair[::-1]:
                runs.append(run_child(cmd, env))
    o, p = np.array(ours_runs), np.array(peer_runs)
    return {
        "file": data.name, "rounds": rounds, "flags": " ".join(flags),
        "ours_s": float(np.median(o[:, 0])), "peer_s": float(np.median(p[:, 0])),
        "ours_mb": float(np.median(o[:, 1])), "peer_mb": float(np.median(p[:, 1])),
    }


def scale(n_learners: int = 20_000, repeat: int = 1) -> dict:
    """Write the synthetic ~10 M-answer log and fit it whole-process (``repeat`` runs, median)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from kt.synthetic import large_columns

    flags = _fit_flags()
    with tempfile.TemporaryDirectory(prefix="kt-scale-") as tmp_name:
        tmp = Path(tmp_name)
        started = time.perf_counter()
        columns = large_columns(n_learners=n_learners)
        n = len(columns["correct"])
        path = tmp / "synthetic.csv"
        pacsv.write_csv(pa.table(columns), path)
        del columns
        t_write = time.perf_counter() - started
        runs = [run_child(ours_cmd(path, tmp / "model.json", flags)) for _ in range(repeat)]
        size_mb = path.stat().st_size / 1e6
    arr = np.array(runs)
    return {"rows": n, "csv_mb": size_mb, "write_s": t_write,
            "seconds": float(np.median(arr[:, 0])), "peak_mb": float(np.median(arr[:, 1])),
            "cores": len(os.sched_getaffinity(0)), "flags": " ".join(flags)}


def load() -> str:
    """The 1/5/15-minute load averages (the machine may be shared: absolute times are noisy)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f}/{five:.1f}/{fifteen:.1f} on {os.cpu_count()} cores"


def print_compare(rows: list[dict], targets: dict[str, float]) -> None:
    print(f"({load()})")
    print(f"whole process, file -> fitted model file ({PEER_SETTINGS}; ours: {rows[0]['flags']}"
          f"; medians of {rows[0]['rounds']} alternating runs each):")
    print("| file | pyBKT s | Pathwise s | ratio | target | pyBKT peak MB | Pathwise peak MB | "
          "memory |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["peer_s"] / r["ours_s"]
        target = targets.get(r["file"])
        met = "—" if target is None else (f">= {target:g}x " + ("met" if ratio >= target
                                                               else "MISSED"))
        mem = "met" if r["ours_mb"] <= r["peer_mb"] else "MISSED"
        print(f"| {r['file']} | {r['peer_s']:.2f} | {r['ours_s']:.2f} | {ratio:.1f}x | {met} | "
              f"{r['peer_mb']:.0f} | {r['ours_mb']:.0f} | <= pyBKT: {mem} |")


def print_scale(s: dict) -> None:
    ok_t = "met" if s["seconds"] < 30 else "MISSED"
    ok_m = "met" if s["peak_mb"] < 2048 else "MISSED"
    print(f"scale: synthetic {s['rows']:,} answers ({s['csv_mb']:.0f} MB CSV, written in "
          f"{s['write_s']:.1f} s), pathwise fit whole process {s['seconds']:.1f} s "
          f"(target < 30 s: {ok_t}), peak {s['peak_mb']:.0f} MB (target < 2048 MB: {ok_m}) "
          f"on {s['cores']} cores; flags: {s['flags']} ({load()})")
