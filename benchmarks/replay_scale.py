"""Replay at scale: events/s and peak memory, single process vs Dask local.

    python -m benchmarks.replay_scale [--answers 50000000] [--models elo,bkt] [--workers 2]

1. Generates a synthetic skill-builder-like log (``--answers`` rows, 200 answers per learner,
   100 skills, 5,000 items) chunk by chunk into a Parquet file in a temporary directory;
   every row group holds whole learners, so learners never straddle a chunk.
2. For each mode, in a fresh subprocess (so peak RSS is the mode's own):
   * ``single``: fits every model on the first ~2 M answers, then streams the file in record
     batches of 1 M rows (``kt.replay.streaming.stream_replay``: whole-learner chunks,
     ``update_many`` per learner);
   * ``dask``: a ``LocalCluster`` of ``--workers`` processes; fitting via
     ``kt.replay.distributed.DaskRunner`` (BKT partitioned by skill), replay as one task per
     streamed chunk (at most 2 x workers in flight).
3. Prints a table: answers, fit seconds, replay seconds, answers/s, peak RSS (MiB; for Dask
   the sum of the client and worker peaks) and a checksum (sum of predictions) that must
   agree between the modes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PER_LEARNER = 200
N_SKILLS = 100
N_ITEMS = 5000
ROWS_PER_GROUP = 2_000_000
FIT_ROWS = 2_000_000  # models are fitted on the first ~2 M answers (whole learners)
BATCH_ROWS = 1_000_000  # Parquet record batch streamed per replay chunk


def generate(path: Path, answers: int, seed: int = 0) -> int:
    """Write the synthetic log to ``path`` (Parquet); returns the number of row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, N_ITEMS)
    rows_per_group = max(PER_LEARNER, ROWS_PER_GROUP // PER_LEARNER * PER_LEARNER)
    writer = None
    done = 0
    groups = 0
    while done < answers:
        n = min(rows_per_group, answers - done)
        n_l = -(-n // PER_LEARNER)
        first_learner = done // PER_LEARNER
        learner = first_learner + np.arange(n) // PER_LEARNER
        pos = np.arange(n) % PER_LEARNER
        run = pos // 10  # runs of 10 answers on one skill
        skill_of_run = rng.integers(0, N_SKILLS, size=(n_l, PER_LEARNER // 10))
        skill = skill_of_run[learner - first_learner, run].astype(np.int32)
        item = (skill * (N_ITEMS // N_SKILLS) + rng.integers(0, N_ITEMS // N_SKILLS, n)).astype(np.int32)
        ability = rng.normal(0, 1, n_l)[learner - first_learner]
        z = ability - difficulty[item] + 0.15 * (pos % 10)
        correct = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int8)
        table = pa.table({
            "order_id": np.arange(done, done + n, dtype=np.int64),
            "user_id": learner.astype(np.int64),
            "problem_id": item,
            "skill_id": skill,
            "correct": correct,
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=n)
        done += n
        groups += 1
    writer.close()
    return groups


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_mode(mode: str, path: str, groups: int, models: list[str], workers: int) -> dict:
    from kt.models import make_model
    from kt.replay.streaming import iter_learner_chunks, stream_replay

    out: dict = {"mode": mode, "models": {}}
    fit_log = next(iter_learner_chunks(path, n_skills=N_SKILLS, n_items=N_ITEMS,
                                       batch_rows=FIT_ROWS))
    client = None
    if mode == "dask":
        from dask.distributed import Client, LocalCluster

        from kt.replay.distributed import DaskRunner

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        runner = DaskRunner(client)
    for name in models:
        t0 = time.perf_counter()
        model = make_model(name)
        model = runner.fit(model, fit_log) if client else model.fit(fit_log)
        fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        res = stream_replay(model, path, client=client, batch_rows=BATCH_ROWS,
                            max_pending=2 * workers)
        rep_s = time.perf_counter() - t1
        n = res["answers"]
        out["models"][name] = {"answers": n, "fit_s": fit_s, "replay_s": rep_s,
                               "answers_per_s": n / rep_s, "checksum": res["sum_p"],
                               "rmse": res["rmse"]}
    peak = _peak_mib()
    if client:
        peaks = client.run(_peak_mib)
        peak += sum(peaks.values())
        client.close()
    out["peak_rss_mib"] = peak
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=50_000_000)
    ap.add_argument("--models", default="elo,bkt")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--_mode", help=argparse.SUPPRESS)
    ap.add_argument("--_path", help=argparse.SUPPRESS)
    ap.add_argument("--_groups", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args._mode:
        print(json.dumps(run_mode(args._mode, args._path, args._groups, models, args.workers)))
        return 0
    with tempfile.TemporaryDirectory(prefix="pathwise-replay-scale-") as tmp:
        path = Path(tmp) / "log.parquet"
        t0 = time.perf_counter()
        groups = generate(path, args.answers)
        gen_s = time.perf_counter() - t0
        size = path.stat().st_size / 2**20
        print(f"synthetic log: {args.answers:,} answers, {groups} row groups, {size:.0f} MiB "
              f"Parquet, generated in {gen_s:.1f} s")
        results = []
        for mode in ("single", "dask"):
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.replay_scale", "--_mode", mode, "--_path",
                 str(path), "--_groups", str(groups), "--models", args.models,
                 "--workers", str(args.workers)],
                capture_output=True, text=True,
            )
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"\n{'mode':<8} {'model':<8} {'answers':>12} {'fit s':>7} {'replay s':>9} "
          f"{'answers/s':>12} {'peak RSS MiB':>13} {'checksum':>16}")
    for r in results:
        for name, m in r["models"].items():
            print(f"{r['mode']:<8} {name:<8} {m['answers']:>12,} {m['fit_s']:>7.1f} "
                  f"{m['replay_s']:>9.1f} {m['answers_per_s']:>12,.0f} {r['peak_rss_mib']:>13.0f} "
                  f"{m['checksum']:>16.4f}")
    for name in models:
        a, b = (r["models"][name]["checksum"] for r in results)
        ratio = results[1]["models"][name]["answers_per_s"] / results[0]["models"][name]["answers_per_s"]
        print(f"{name}: dask/single throughput x{ratio:.2f}; checksums "
              f"{'match' if abs(a - b) <= 1e-6 * max(1.0, abs(a)) else 'DIFFER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
