"""Online BKT replay throughput: ``BKT.update_many`` once per learner, as a service replays each
learner's answers.

    python -m benchmarks.online_update [--data PATH] [--repeat 7] [--rows N]
    python -m benchmarks.online_update --ab OLD_TREE [--rounds 5]   # alternate two code trees

Reads the ASSISTments 2009 skill-builder log (``$PATHWISE_SHARED_DATA`` or ``../shared/data``),
fits a standard BKT briefly (10 EM iterations: the parameters do not change the online cost),
then times ``update_many(init_state, skill positions, scores)`` for every learner in turn
(best of ``--repeat``) and one ``update_many`` over the whole log as one stream. Target
(issue 4): >= 20 M events/s per learner. ``--ab OLD_TREE`` runs this script in subprocesses
with ``PYTHONPATH`` set to ``OLD_TREE`` and to this tree, alternating, and prints the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PATHWISE_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATA = SHARED / "assistments-2009" / "skill_builder_2009.csv"
TARGET_EPS = 20e6


def measure(data: str, repeat: int, rows: int | None) -> dict:
    """Events/s of per-learner ``update_many`` and of one stream (best of ``repeat``)."""
    import numpy as np
    import pyarrow.csv as pacsv

    from kt.bkt import BKT
    from kt.io import read_log

    table = pacsv.read_csv(data)
    if rows is not None:
        table = table.slice(0, rows)
    log = read_log(table)
    model = BKT(max_iter=10, num_fits=1, seed=0).fit(log)
    skill_pos = np.array([list(model.skill_names_).index(str(s)) for s in log.skill_names],
                         dtype=np.int64)[log.skill]
    score = log.outcome.astype(np.float64)
    bounds = np.flatnonzero(np.diff(log.learner)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    ends = np.concatenate([bounds, [len(log)]]).tolist()
    pieces = [(skill_pos[a:b], score[a:b]) for a, b in zip(starts, ends, strict=True)]
    state0 = model.init_state()
    update_many = model.update_many

    def per_learner() -> None:
        for pos, sc in pieces:
            update_many(state0, pos, sc)

    def best(fn, n: int) -> float:
        fn()  # warm (Numba cache load)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_learner = best(per_learner, repeat)
    t_stream = best(lambda: update_many(state0, skill_pos, score), repeat)
    return {"events": len(log), "learners": len(pieces), "per_learner_eps": len(log) / t_learner,
            "stream_eps": len(log) / t_stream}


def alternate(old_tree: str, rounds: int, args: list[str]) -> int:
    """Run this script under ``old_tree`` and this tree alternately; print medians and ratio."""
    results: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(rounds):
        for label, tree in (("old", old_tree), ("new", str(REPO))):
            env = {**os.environ, "PYTHONPATH": tree}
            out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json", *args],
                                 env=env, cwd="/", capture_output=True, text=True, check=True)
            eps = json.loads(out.stdout.strip().splitlines()[-1])["per_learner_eps"]
            results[label].append(eps)
            print(f"round {r + 1} {label}: {eps / 1e6:.2f} M events/s per learner", flush=True)
    old, new = statistics.median(results["old"]), statistics.median(results["new"])
    print(f"median per learner: old {old / 1e6:.2f} M, new {new / 1e6:.2f} M events/s "
          f"({new / old:.2f}x); target >= {TARGET_EPS / 1e6:.0f} M -> "
          f"{'MET' if new >= TARGET_EPS else 'MISSED'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.online_update",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="ASSISTments 2009 CSV")
    parser.add_argument("--repeat", type=int, default=7, help="timing repeats (best kept)")
    parser.add_argument("--rows", type=int, default=None, help="use only the first N rows")
    parser.add_argument("--ab", default=None, metavar="OLD_TREE",
                        help="alternate runs under PYTHONPATH=OLD_TREE and this tree")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --ab (default 5)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not Path(args.data).is_file():
        print(f"data file {args.data} not found; pass --data or set PATHWISE_SHARED_DATA")
        return 2
    if args.repeat < 1 or args.rounds < 1:
        parser.error("--repeat and --rounds must be >= 1")
    passed = ["--data", args.data, "--repeat", str(args.repeat)]
    if args.rows is not None:
        passed += ["--rows", str(args.rows)]
    if args.ab:
        return alternate(args.ab, args.rounds, passed)
    result = measure(args.data, args.repeat, args.rows)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['events']:,} events, {result['learners']:,} learners: update_many per learner "
          f"{result['per_learner_eps'] / 1e6:.2f} M events/s (target >= "
          f"{TARGET_EPS / 1e6:.0f} M); one stream {result['stream_eps'] / 1e6:.2f} M events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
