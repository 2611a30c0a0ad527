"""What a 500-observation batch costs inside SQLite's write lock, on a grown store.

    python -m benchmarks.write_lock [--n 150000] [--batches 40] [--batch 500]

The batched capacity target (issue 12: >= 20,000 events/s through HTTP, two server processes
sharing one SQLite file) is bound by the time each batch holds the store's one write lock
(``service_capacity`` prints the single-writer ceiling). This benchmark says where that time
goes, in this process, on the demo school:

1. fills a fresh store with ``--n`` observations (random UUID ids, as LMSs send) in
   ``--batch`` batches, with a TRUNCATE checkpoint every 20 batches as the server's
   checkpointer does (a progress bar);
2. then, alternating batch by batch, times ``SchoolApp.prepare_evidence`` (no lock: checks and
   making observations) and ``write_evidence`` (the lock) in two cases: **warm** (this
   connection wrote last) and **cold** (another connection committed a one-row write just
   before, as the other server process does: SQLite empties this connection's page cache);
3. counts the WAL pages one more batch writes, by B-tree (``dbstat``).

Prints medians in ms per batch, the share of the use case done before the lock, the cold
start's cost, and the pages. The peer here is the same engine in the other case (warm against
cold, prepare against write) in the same run: there is no outside engine doing this work.
"""

from __future__ import annotations

import argparse
import collections
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path


def _rows(school, n: int) -> list[dict]:
    from benchmarks.engine_ingest import synthesize

    return [{"id": o.observation_id, "learner_id": o.learner_id, "activity_id": o.activity_id,
             "score": o.score, "observed_at": o.observed_at.isoformat()}
            for o in synthesize(school, n, seed=11, ids="uuid")]


def _wal_pages(path: Path) -> list[int]:
    """Page numbers of the frames in ``path``'s WAL (one per frame, in order)."""
    wal = (path.parent / (path.name + "-wal")).read_bytes()
    if len(wal) < 32:
        return []
    size = struct.unpack(">I", wal[8:12])[0]
    pages, offset = [], 32
    while offset + 24 + size <= len(wal):
        pages.append(struct.unpack(">I", wal[offset:offset + 4])[0])
        offset += 24 + size
    return pages


def run(n: int, batches: int, batch: int, progress: bool = True) -> dict:
    """The measurements above; returns medians (seconds), shares and page counts."""
    from tqdm import tqdm

    from engine.access import Caller, Principal
    from engine.app import Pathwise
    from engine.demo import load_demo_school

    school = load_demo_school(None, with_evidence=False)
    rows = _rows(school, n + batch * (2 * batches + 1))
    lms = Caller(Principal(tenant="t", role="lms", key_id="bench"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lock.db"
        app = Pathwise.open(f"sqlite:///{path}")
        other = sqlite3.connect(path, isolation_level=None)
        try:
            app.school("t").engine.load_school(school, with_evidence=False)
            app.invalidate("t")
            school_app = app.school("t")
            other.execute("PRAGMA busy_timeout=30000")
            other.execute("CREATE TABLE IF NOT EXISTS bench_other_writer (x INTEGER)")

            def checkpoint() -> None:
                other.execute("PRAGMA wal_checkpoint(TRUNCATE)")

            for k, start in enumerate(tqdm(range(0, n, batch), desc="filling the store", unit="batch",
                                           disable=not progress)):
                school_app.ingest_evidence(lms, rows[start:start + batch])
                if k % 20 == 19:
                    checkpoint()
            checkpoint()
            times: dict[str, list[float]] = collections.defaultdict(list)
            at = n
            for k in range(batches):
                for case in ("warm", "cold"):
                    if case == "cold":
                        other.execute("INSERT INTO bench_other_writer VALUES (1)")
                    t0 = time.perf_counter()
                    prepared = school_app.prepare_evidence(lms, rows[at:at + batch])
                    t1 = time.perf_counter()
                    school_app.write_evidence(prepared)
                    t2 = time.perf_counter()
                    times[f"prepare_{case}"].append(t1 - t0)
                    times[f"write_{case}"].append(t2 - t1)
                    at += batch
                if k % 10 == 9:
                    checkpoint()
            checkpoint()
            school_app.ingest_evidence(lms, rows[at:at + batch])
            frames = _wal_pages(path)
            names = dict(other.execute("SELECT pageno, name FROM dbstat"))
        finally:
            other.close()
            app.close()
    by_tree = collections.Counter(names.get(p, "(new page)") for p in set(frames))
    out = {k: statistics.median(v) for k, v in times.items()}
    out["pages"] = len(set(frames))
    out["pages_by_tree"] = dict(by_tree.most_common())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150_000, help="observations stored first (default 150,000)")
    parser.add_argument("--batches", type=int, default=40, help="timed batches per case (default 40)")
    parser.add_argument("--batch", type=int, default=500, help="observations per batch (default 500)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    for name in ("n", "batches", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    r = run(args.n, args.batches, args.batch, progress=not args.no_progress)
    ms = {k: 1e3 * v for k, v in r.items() if isinstance(v, float)}
    print(f"\n{args.batch}-observation batches after {args.n:,} stored observations "
          f"(medians of {args.batches} per case, ms per batch)")
    print(f"{'case':6} {'prepare (no lock)':>18} {'write (in the lock)':>20} {'share before the lock':>22}")
    for case in ("warm", "cold"):
        p, w = ms[f"prepare_{case}"], ms[f"write_{case}"]
        print(f"{case:6} {p:18.1f} {w:20.1f} {p / (p + w):22.1%}")
    print(f"cold / warm write: {ms['write_cold'] / ms['write_warm']:.2f}x "
          "(another process's commit empties this connection's page cache)")
    ceiling = 2 * args.batch / (ms["write_warm"] + ms["write_cold"]) * 1e3
    print(f"single-writer bound at the mean of the two: {ceiling:,.0f} events/s (target 20,000)")
    print(f"WAL pages of one more batch: {r['pages']:,}  " +
          ", ".join(f"{k} {v}" for k, v in r["pages_by_tree"].items() if v >= 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
