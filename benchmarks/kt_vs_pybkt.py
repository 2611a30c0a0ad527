"""Pathwise BKT vs pyBKT 1.4.2 (C++ backend, ``parallel=False``) on ASSISTments 2009.

Run: ``python -m benchmarks.kt_vs_pybkt [--quick | --full] [--data CSV] [--repeat N]
[--parts memory,whole,scale] [--rounds N]`` (default: about 10 min on an idle 2-core machine).

Parts (default all three): ``memory`` the in-memory table below; ``whole`` whole-process
``pathwise fit FILE`` vs pyBKT on ASSISTments 2009 and the 17k-row Cognitive Tutor file
(``benchmarks/whole_process.py``: alternating runs, medians, peak RSS; targets >= 10x and
>= 5x with memory <= pyBKT's); ``scale`` a synthetic 10 M-answer log fitted whole-process
(targets < 30 s, < 2 GB).

Both libraries fit the shared ``skill_builder_2009.csv`` in the same run, for standard BKT,
forgets and multigs (``problem_id`` classes), with ``num_fits`` 1 (and 5 with ``--full``).
pyBKT runs in its own venv (``.peer/pybkt``, ``make peer``) through
``benchmarks/_pybkt_driver.py``.

Rows per configuration:
``default``  each library with its own stopping rule (pyBKT: integer log-likelihood change
             < 1e-3, so it stops early; Pathwise: float change < its ``tol``).
``equal k``  both run exactly k EM iterations per restart, k = pyBKT's mean iteration count in
             the ``default`` row, and Pathwise starts restart 0 of every skill from pyBKT's own
             random initial values (so with ``num_fits`` 1 the fitted models must coincide).
Columns: wall seconds for in-memory data -> fitted model (pyBKT: DataFrame; Pathwise: pyarrow
Table -> ``read_log`` -> ``BKT.fit``; Numba cache warm) and file -> model, the pyBKT/Pathwise
ratio, summed log-likelihood of both fitted models (computed exactly by Pathwise's forward pass
for both parameter sets, so pyBKT's integer truncation and wrong class E-step do not hide
anything), EM iterations (M-steps per restart, summed over skills), ns per answer per EM
iteration (fit seconds / (answers x restarts x iterations); Pathwise also on one thread, for
the whole ``BKT.fit`` call and for its EM kernels alone, from ``fit_seconds_``), and
training AUC (each library's own predictions).

The online section replays the log through ``BKT.update_many`` (one call per learner, and one
call for the whole stream) and times ``update_one``.

Targets (issue 2): >= 30x pyBKT in-memory at equal iterations with equal log-likelihood;
<= 10 ns/answer/iteration on one core; >= 20 M events/s online replay.
"""

from __future__ import annotations

import argparse
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
SHARED = Path(os.environ.get("PATHWISE_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATA = SHARED / "assistments-2009" / "skill_builder_2009.csv"
CT_DATA = SHARED / "cognitive-tutor" / "ct.csv"
WHOLE_TARGETS = {"skill_builder_2009.csv": 10.0, "ct.csv": 5.0}
PEER = Path(os.environ.get("PATHWISE_PYBKT_PYTHON", REPO / ".peer" / "pybkt" / "bin" / "python"))

VARIANTS = {
    "standard": {},
    "forgets": {"forgets": True},
    "multigs": {"multigs": "problem_id"},
}


def run_peer(spec: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.run(
            [str(PEER), str(DRIVER), str(spec_path), str(out_path)],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        if proc.returncode != 0:
            sys.exit(f"pyBKT driver failed:\n{proc.stderr[-3000:]}")
        return json.loads(out_path.read_text())


def _pw_params(p: dict) -> dict:
    """pyBKT's named parameters -> Pathwise ``fixed``/``init`` form (labels; '*' = single)."""

    def one(values: dict):
        if list(values) == ["default"]:
            return float(values["default"])
        return {str(k): float(v) for k, v in values.items()}

    return {
        "p_init": float(p["prior"]),
        "p_learn": one(p["learns"]),
        "p_forget": one(p["forgets"]),
        "p_guess": one(p["guesses"]),
        "p_slip": one(p["slips"]),
    }


def exact_loglike(log, variant: dict, params: dict[str, dict]) -> float:
    """Summed log-likelihood of the given per-skill parameters (all fixed; one pass)."""
    from kt.bkt import BKT

    model = BKT(**variant, max_iter=1, tol=0.0, fixed=params).fit(log)
    return float(sum(model.log_likelihood_.values()))


def best_of(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_config(name, variant, num_fits, data, table, repeat, with_file, rows_out):
    from kt.bkt import BKT
    from kt.io import read_log

    classes = [v for k, v in variant.items() if k == "multigs"]
    spec = {
        "mode": "bench",
        "csv": str(data),
        "variant": variant,
        "num_fits": num_fits,
        "seed": 42,
        "repeat": repeat,
        "file": with_file,
    }
    peer = run_peer(spec)
    log = read_log(table, classes=classes)
    n = len(log)
    n_skills = log.n_skills

    # -- default stopping rules
    def fit_memory():
        lg = read_log(table, classes=classes)
        return BKT(**variant, num_fits=num_fits, seed=42).fit(lg)

    def fit_file():
        lg = read_log(data, classes=classes)
        return BKT(**variant, num_fits=num_fits, seed=42).fit(lg)

    t_mem, model = best_of(fit_memory, repeat)
    t_file = best_of(fit_file, repeat)[0] if with_file else float("nan")
    peer_runs = peer["memory"]["runs"]
    # M-steps per run: pyBKT stops before the M-step of its last pass unless it hit maxiter
    peer_iters = [r["n_estep"] - 1 if r["n_estep"] < 100 else 100 for r in peer_runs]
    best_iter: dict[str, tuple[float, int]] = {}
    for r, it in zip(peer_runs, peer_iters, strict=True):
        if r["skill"] not in best_iter or r["ll_last"] > best_iter[r["skill"]][0]:
            best_iter[r["skill"]] = (r["ll_last"], it)
    peer_work = sum(r["n_answers"] * r["n_estep"] for r in peer_runs)
    pw_iters = sum(model.n_iter_.values())
    ll_pw = float(sum(model.log_likelihood_.values()))
    ll_peer = exact_loglike(log, variant, {s: _pw_params(p) for s, p in peer["params"].items()})
    auc_pw = model.evaluate(log, metrics=["auc"])["auc"]
    rows_out.append(
        {
            "config": f"{name}, num_fits={num_fits}, default",
            "peer_mem": peer["memory"]["seconds"],
            "pw_mem": t_mem,
            "peer_file": peer.get("file", {}).get("seconds", float("nan")),
            "pw_file": t_file,
            "ll_peer": ll_peer,
            "ll_pw": ll_pw,
            "it_peer": f"{sum(v[1] for v in best_iter.values())} (best restart)",
            "it_pw": f"{pw_iters} (best restart)",
            "ns_peer": peer["memory"]["seconds"] / peer_work * 1e9,
            "ns_pw": float("nan"),
            "ns_pw1": float("nan"),
            "ns_em1": float("nan"),
            "auc_peer": peer["auc"],
            "auc_pw": auc_pw,
        }
    )

    # -- equal iterations: k = pyBKT's mean, from pyBKT's own initial values
    k = max(2, int(round(float(np.mean(peer_iters)))))
    peer_k = run_peer({**spec, "fixed_iters": k, "file": False})
    inits = {}
    for r in peer_k["memory"]["runs"]:
        inits.setdefault(r["skill"], _pw_params(r["init"]))  # restart 0 of each skill
    kw = dict(variant, num_fits=num_fits, seed=42, max_iter=k, tol=0.0, init=inits)

    def fit_k(threads=None):
        lg = read_log(table, classes=classes)
        return BKT(**kw, n_threads=threads).fit(lg)

    t_k, model_k = best_of(fit_k, repeat)
    one = [BKT(**kw, n_threads=1).fit(log).fit_seconds_ for _ in range(repeat)]
    t_k1 = min(s["total"] for s in one)
    t_em1 = min(s["em"] for s in one)
    work = n * num_fits * k
    ll_peer_k = exact_loglike(log, variant, {s: _pw_params(p) for s, p in peer_k["params"].items()})
    rows_out.append(
        {
            "config": f"{name}, num_fits={num_fits}, equal k={k}",
            "peer_mem": peer_k["memory"]["seconds"],
            "pw_mem": t_k,
            "peer_file": float("nan"),
            "pw_file": float("nan"),
            "ll_peer": ll_peer_k,
            "ll_pw": float(sum(model_k.log_likelihood_.values())),
            "it_peer": f"{k} x {n_skills} x {num_fits}",
            "it_pw": f"{k} x {n_skills} x {num_fits}",
            "ns_peer": peer_k["memory"]["seconds"] / work * 1e9,
            "ns_pw": t_k / work * 1e9,
            "ns_pw1": t_k1 / work * 1e9,
            "ns_em1": t_em1 / work * 1e9,
            "auc_peer": peer_k["auc"],
            "auc_pw": model_k.evaluate(log, metrics=["auc"])["auc"],
        }
    )
    return model


def bench_online(model, log, repeat):
    """Replay throughput of update_many and update_one latency (standard model)."""
    skill_pos = np.array(
        [model.skill_names_.index(str(s)) for s in log.skill_names], dtype=np.int64
    )[log.skill]
    score = log.outcome.astype(np.float64)
    bounds = np.flatnonzero(np.diff(log.learner)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(log)]])
    state0 = model.init_state()

    def per_learner():
        for a, b in zip(starts, ends, strict=True):
            model.update_many(state0, skill_pos[a:b], score[a:b])

    def one_stream():
        model.update_many(state0, skill_pos, score)

    one_stream()
    t_learner, _ = best_of(per_learner, repeat)
    t_stream, _ = best_of(one_stream, max(repeat, 3))
    names = [str(log.skill_names[s]) for s in log.skill[:2000]]
    outcomes = score[:2000]
    state = state0
    lat = []
    for s, y in zip(names, outcomes, strict=True):
        t0 = time.perf_counter()
        state, _ = model.update_one(state, s, float(y))
        lat.append(time.perf_counter() - t0)
    lat = np.array(lat) * 1e6
    return {
        "events": len(log),
        "learners": len(starts),
        "per_learner_eps": len(log) / t_learner,
        "stream_eps": len(log) / t_stream,
        "update_one_us_median": float(np.median(lat)),
        "update_one_us_p99": float(np.percentile(lat, 99)),
    }


def fmt(x, spec):
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def print_table(rows):
    head = (
        "| config | pyBKT mem s | Pathwise mem s | ratio mem | pyBKT file s | Pathwise file s | "
        "ratio file | LL pyBKT | LL Pathwise | EM iters pyBKT | EM iters Pathwise | "
        "ns/ans/iter pyBKT | ns/ans/iter Pathwise | ns/ans/iter Pathwise 1 thread | "
        "ns/ans/iter Pathwise EM alone, 1 thread | AUC pyBKT | AUC Pathwise |"
    )
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    for r in rows:
        print(
            f"| {r['config']} | {fmt(r['peer_mem'], '.3f')} | {fmt(r['pw_mem'], '.4f')} | "
            f"{fmt(r['peer_mem'] / r['pw_mem'], '.1f')}x | {fmt(r['peer_file'], '.3f')} | "
            f"{fmt(r['pw_file'], '.4f')} | "
            f"{fmt(r['peer_file'] / r['pw_file'], '.1f') + 'x' if not np.isnan(r['pw_file']) else '—'}"
            f" | {r['ll_peer']:.1f} | {r['ll_pw']:.1f} | {r['it_peer']} | {r['it_pw']} | "
            f"{fmt(r['ns_peer'], '.0f')} | {fmt(r['ns_pw'], '.1f')} | {fmt(r['ns_pw1'], '.1f')} | "
            f"{fmt(r['ns_em1'], '.1f')} | "
            f"{r['auc_peer']:.4f} | {r['auc_pw']:.4f} |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.kt_vs_pybkt", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="ASSISTments 2009 CSV")
    parser.add_argument("--repeat", type=int, default=None,
                        help="in-memory timing repeats, best kept (default 1; --full 3)")
    parser.add_argument("--full", action="store_true",
                        help="in-memory part: every variant with num_fits 1 and 5, 3 repeats "
                        "(about 30 min on a busy 2-core machine; default: num_fits 1 only)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: standard and forgets, num_fits 1, one repeat, no file timing; "
        "3 whole-process rounds; a 1 M-answer scale log",
    )
    parser.add_argument("--parts", default="memory,whole,scale",
                        help="comma-separated parts to run: memory, whole, scale (default all)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating whole-process runs per side (default 7; --quick 3)")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts <= {"memory", "whole", "scale"}:
        parser.error(f"--parts {args.parts!r}: choose from memory, whole, scale")
    data = Path(args.data)
    if not data.exists():
        sys.exit(f"{data} not found; set PATHWISE_SHARED_DATA or pass --data")
    if not PEER.exists():
        sys.exit(f"pyBKT peer {PEER} not found; run `make peer`")
    import numba

    print(f"data: {data}; cores: {os.cpu_count()}, numba threads: {numba.get_num_threads()}")
    if "memory" in parts:
        memory_part(args, data)
    if "whole" in parts or "scale" in parts:
        from benchmarks import whole_process as wp

        print()
        print(wp.prepare())
    if "whole" in parts:
        rounds = args.rounds or (3 if args.quick else 7)
        files = [f for f in (data, CT_DATA) if f.exists()]
        rows = [wp.compare(PEER, f, rounds) for f in files]
        print()
        wp.print_compare(rows, WHOLE_TARGETS)
    if "scale" in parts:
        print()
        wp.print_scale(wp.scale(n_learners=2_000 if args.quick else 20_000))
    return 0


def memory_part(args, data: Path) -> None:
    """The in-memory table (both libraries fit a DataFrame / Table) and the online replay."""
    import pyarrow.csv as pacsv

    from kt.bkt import BKT
    from kt.io import read_log

    repeat = 1 if args.quick else (args.repeat or (3 if args.full else 1))
    if args.quick:
        configs = [("standard", 1), ("forgets", 1)]
    else:
        configs = [(v, nf) for v in VARIANTS for nf in ((1, 5) if args.full else (1,))]
    table = pacsv.read_csv(data)
    # warm the Numba cache (compile or load) before timing anything
    warm = read_log(table.slice(0, 5000), classes=["problem_id"])
    for variant in VARIANTS.values():
        BKT(**variant, max_iter=2).fit(warm)
    print(f"in memory: {table.num_rows:,} rows, repeat: {repeat}")
    rows: list[dict] = []
    std_model = None
    for name, nf in configs:
        print(f"... {name}, num_fits={nf}", file=sys.stderr, flush=True)
        model = bench_config(name, VARIANTS[name], nf, data, table, repeat, not args.quick, rows)
        if name == "standard" and nf == 1:
            std_model = model
    print()
    print_table(rows)
    log = read_log(table)
    online = bench_online(std_model, log, repeat)
    print()
    print(
        f"online (standard BKT, {online['events']:,} events, {online['learners']:,} learners): "
        f"update_many per learner {online['per_learner_eps'] / 1e6:.2f} M events/s; "
        f"update_many one stream {online['stream_eps'] / 1e6:.2f} M events/s; "
        f"update_one median {online['update_one_us_median']:.1f} us "
        f"(p99 {online['update_one_us_p99']:.1f} us)"
    )


if __name__ == "__main__":
    sys.exit(main())
