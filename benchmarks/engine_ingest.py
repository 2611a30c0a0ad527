"""Evidence ingest throughput and latency through :class:`engine.engine.Engine`.

    python -m benchmarks.engine_ingest [--n 100000] [--batch 1000] [--single-n N] [--postgres]

Loads the bundled demo school (graph, catalog, learners, classes — not its evidence) into a
fresh store, synthesizes ``--n`` observations over the demo learners and activities (each
observation bears on its activity's skills; scores are 0/1 for 70 % and partial credit for
30 %), then ingests them

* **batched**: ``engine.ingest`` with ``--batch`` observations per call (one transaction each);
* **single**: ``engine.ingest_one`` per observation (one transaction each) into a second
  tenant, timing every call for p50/p99.

Backends: SQLite (a temporary file: WAL, synchronous=NORMAL), and with ``--postgres`` a
temporary local PostgreSQL cluster (Debian's server binaries; fsync off, as for tests).
Observation objects are built before the clock starts, and the engine is warmed up first as
the service does at startup (a few observations into a separate tenant: Numba kernels loaded,
statements prepared); validation, idempotency checks, reference checks, the BKT updates and
the writes are all timed.
Targets (issue 3): >= 20,000 observations/s batched; single-observation p50 < 1 ms (SQLite).
The table also shows observations per CPU-second of the benchmark process (``process_time``;
for PostgreSQL the server's CPU is not included): on a shared, loaded machine wall-clock
throughput falls below it while this figure stays put.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET_BATCHED = 20_000.0
TARGET_P50_MS = 1.0


def synthesize(school, n: int, seed: int = 7, prefix: str = "B", ids: str = "sequential") -> list:
    """``n`` observations over the school's learners and activities, in time order; ``ids``
    ``"sequential"`` (``B0000000``, ``B0000001`` ...) or ``"uuid"`` (random UUID texts from the
    seed, as LMSs and xAPI send: new rows land all over the id index, not at its end)."""
    from engine.domain.evidence import Observation

    rng = random.Random(seed)
    learners = [lr.id for lr in school.learners]
    activities = [(a.id, a.skill_ids) for a in school.catalog.activities if a.skill_ids]
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        activity, skills = activities[rng.randrange(len(activities))]
        score = float(rng.random() < 0.6) if rng.random() < 0.7 else round(rng.random(), 2)
        oid = f"{prefix}{i:07d}" if ids == "sequential" else str(uuid.UUID(int=rng.getrandbits(128),
                                                                           version=4))
        out.append(
            Observation(
                oid, learners[rng.randrange(len(learners))], activity, skills,
                score, start + timedelta(seconds=i), "lms",
            )
        )
    return out


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_backend(name: str, url: str, school, observations: list, batch: int, single_n: int,
                progress: bool) -> list[dict]:
    from tqdm import tqdm

    from engine.engine import Engine
    from engine.store import open_store

    rows = []
    with open_store(url) as store:
        warm = Engine(store, "bench-warm-up")
        warm.load_school(school, with_evidence=False)
        warm_up = synthesize(school, 40, seed=3, prefix="W")
        warm.ingest(warm_up[:20])
        for obs in warm_up[20:]:
            warm.ingest_one(obs)
        engine = Engine(store, "bench-batched")
        engine.load_school(school, with_evidence=False)
        chunks = range(0, len(observations), batch)
        accepted = 0
        cpu_started = time.process_time()
        started = time.perf_counter()
        for start in tqdm(chunks, desc=f"{name} batched", unit="batch", disable=not progress,
                          file=sys.stderr):
            accepted += engine.ingest(observations[start : start + batch]).accepted
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if accepted != len(observations):
            raise SystemExit(f"{name}: accepted {accepted} of {len(observations)} observations")
        rows.append({"backend": name, "mode": f"batched ({batch}/call)", "n": accepted,
                     "seconds": elapsed, "per_s": accepted / elapsed, "cpu_per_s": accepted / cpu,
                     "p50": None, "p99": None})

        single = Engine(store, "bench-single")
        single.load_school(school, with_evidence=False)
        latencies = []
        clock = time.perf_counter
        cpu_started = time.process_time()
        started = clock()
        for obs in tqdm(observations[:single_n], desc=f"{name} single", unit="obs",
                        disable=not progress, file=sys.stderr, mininterval=0.5):
            t0 = clock()
            single.ingest_one(obs)
            latencies.append(clock() - t0)
        elapsed = clock() - started
        cpu = time.process_time() - cpu_started
        latencies.sort()
        rows.append({"backend": name, "mode": "single (1/call)", "n": len(latencies),
                     "seconds": elapsed, "per_s": len(latencies) / elapsed,
                     "cpu_per_s": len(latencies) / cpu, "p50": _percentile(latencies, 0.50) * 1e3,
                     "p99": _percentile(latencies, 0.99) * 1e3})
        # Re-sending a batch is idempotent: everything comes back as duplicates.
        resend = observations[:batch]
        t0 = clock()
        result = engine.ingest(resend)
        dup_elapsed = clock() - t0
        assert result.accepted == 0 and result.duplicates == len(resend)
        rows.append({"backend": name, "mode": f"re-send ({batch} duplicates)", "n": len(resend),
                     "seconds": dup_elapsed, "per_s": len(resend) / dup_elapsed,
                     "cpu_per_s": None, "p50": None, "p99": None})
    return rows


def format_table(rows: list[dict]) -> str:
    header = ("| backend | mode | observations | seconds | observations/s | "
              "obs/s per CPU-second of this process | p50 ms | p99 ms |")
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        p50 = "" if r["p50"] is None else f"{r['p50']:.3f}"
        p99 = "" if r["p99"] is None else f"{r['p99']:.3f}"
        cpu = "" if r["cpu_per_s"] is None else f"{r['cpu_per_s']:,.0f}"
        lines.append(f"| {r['backend']} | {r['mode']} | {r['n']:,} | {r['seconds']:.2f} | "
                     f"{r['per_s']:,.0f} | {cpu} | {p50} | {p99} |")
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        if r["backend"] != "sqlite":
            continue
        if r["mode"].startswith("batched"):
            ok = r["per_s"] >= TARGET_BATCHED
            out.append(f"SQLite batched: {r['per_s']:,.0f} obs/s vs target {TARGET_BATCHED:,.0f} "
                       f"-> {'MET' if ok else 'MISSED'} ({r['per_s'] / TARGET_BATCHED:.2f}x)")
        elif r["mode"].startswith("single"):
            ok = r["p50"] < TARGET_P50_MS
            out.append(f"SQLite single p50: {r['p50']:.3f} ms vs target < {TARGET_P50_MS} ms "
                       f"-> {'MET' if ok else 'MISSED'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engine_ingest",
        description="Evidence ingest throughput (batched) and latency (one at a time) through "
        "the engine into SQLite and, with --postgres, a temporary local PostgreSQL.",
    )
    parser.add_argument("--n", type=int, default=100_000, help="observations (default 100000)")
    parser.add_argument("--batch", type=int, default=1_000,
                        help="observations per batched ingest call (default 1000)")
    parser.add_argument("--single-n", type=int, default=None,
                        help="observations ingested one at a time (default: --n)")
    parser.add_argument("--postgres", action="store_true",
                        help="also run on a temporary PostgreSQL cluster (needs initdb/pg_ctl)")
    parser.add_argument("--demo", default=None,
                        help="demo school folder (default: the bundled data/demo_school)")
    parser.add_argument("--ids", choices=("uuid", "sequential"), default="uuid",
                        help="observation ids: random UUIDs as an LMS sends them (default), or "
                        "sequential ones (every new id at the end of the index: fewer pages "
                        "written per batch, a flattering case)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    if args.n < 1 or args.batch < 1:
        parser.error("--n and --batch must be positive")
    single_n = args.n if args.single_n is None else min(args.single_n, args.n)

    from engine.demo import load_demo_school

    school = load_demo_school(args.demo, with_evidence=False)
    observations = synthesize(school, args.n, ids=args.ids)
    print(f"demo school: {len(school.graph.skills)} skills, {len(school.catalog.activities)} "
          f"activities, {len(school.learners)} learners; {len(observations):,} synthesized "
          f"observations ({sum(len(o.skill_ids) for o in observations) / len(observations):.2f} "
          f"skills each, {args.ids} ids)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="pathwise-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ingest.db'}"
        rows += run_backend("sqlite", url, school, observations, args.batch, single_n,
                            not args.no_progress)
    if args.postgres:
        from engine.store.tempserver import TempPostgres, find_pg_bin

        if find_pg_bin() is None:
            print("PostgreSQL: skipped (no initdb/pg_ctl found; apt-get install postgresql)")
        else:
            with TempPostgres() as server:
                rows += run_backend("postgresql", server.create_database("bench"), school,
                                    observations, args.batch, single_n, not args.no_progress)
    print(format_table(rows))
    for line in verdicts(rows):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
