"""Read latency while another thread ingests: does a read wait for a writer?

    python -m benchmarks.read_latency [--rounds R] [--seconds S] [--backend sqlite|postgresql]

One process, the demo school in a fresh SQLite file (``--backend postgresql``: a fresh
database on a temporary local PostgreSQL server, Debian's binaries, fsync off as for tests). A
writer thread ingests 500-observation batches (random UUID ids) through ``Engine.ingest``
without pause; the main thread reads one random learner's mastery (``Engine.mastery``) on a
fixed schedule of ``--rate`` reads per second (default 20, which the locked mode on SQLite can
still keep up with, so that both modes do the same reads and the writer's rates compare). Each
round runs ``--seconds`` with the store's read connections (``SQLiteDriver.read_connections``,
the default: a read outside the thread's own transaction uses the thread's read-only
connection; on PostgreSQL ``PostgresDriver.read_connections``, a read-only connection borrowed
from a small pool) and then without them (every read through the write connection under the
driver's lock, as before the tenth session on SQLite and the eleventh on PostgreSQL),
alternating; the report gives each mode's read latency p50 / p99 (ms) per round, the medians
over rounds and the ratio without ÷ with. A read that waits for the writer waits up to one
batch's transaction (tens of milliseconds): that is the p99 the read connections remove.
"""

from __future__ import annotations

import argparse
import functools
import random
import tempfile
import threading
import time

import numpy as np


@functools.lru_cache(maxsize=1)
def _evidence(seed: int):
    """(the demo school, 60,000 synthetic observations with UUID ids): both modes of a round
    ingest the same ones, made once."""
    from benchmarks.engine_ingest import synthesize
    from engine.demo import load_demo_school

    school = load_demo_school(None, with_evidence=False)
    return school, synthesize(school, 60_000, seed=seed, ids="uuid")


def one_round(read_connections: bool, seconds: float, seed: int, rate_per_s: float,
              url: str | None = None) -> tuple[float, float, int, float]:
    """(p50 ms, p99 ms, reads, the writer's observations/s) of one mode over ``seconds``;
    ``url``: a fresh PostgreSQL database (None: a fresh SQLite file)."""
    from engine.engine import Engine
    from engine.store import open_store
    from engine.store.postgres import PostgresDriver
    from engine.store.sqlite import SQLiteDriver

    school, observations = _evidence(seed)
    batch = 500
    learners = sorted({o.learner_id for o in observations})
    rng = random.Random(seed)
    driver = SQLiteDriver if url is None else PostgresDriver
    driver.read_connections = read_connections
    try:
        with tempfile.TemporaryDirectory(prefix="pw-reads-") as tmp, \
                open_store(url or f"sqlite:///{tmp}/reads.db") as store:
            engine = Engine(store, "reads")
            engine.load_school(school, with_evidence=False)
            engine.ingest(observations[:batch])  # warm-up
            stop = threading.Event()
            written = [0]

            def writer() -> None:
                for start in range(batch, len(observations), batch):
                    if stop.is_set():
                        return
                    engine.ingest(observations[start:start + batch])
                    written[0] += batch

            w = threading.Thread(target=writer, daemon=True)
            w.start()
            latency = []
            began = time.perf_counter()
            end = began + seconds
            due = began
            while time.perf_counter() < end and w.is_alive():
                due += 1.0 / rate_per_s
                learner = rng.choice(learners)
                t = time.perf_counter()
                engine.mastery(learner)
                latency.append(time.perf_counter() - t)
                time.sleep(max(0.0, due - time.perf_counter()))
            writer_rate = written[0] / (time.perf_counter() - began)
            stop.set()
            w.join()
    finally:
        driver.read_connections = True
    ms = np.asarray(latency) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 99)), len(ms), writer_rate


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.read_latency", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--seconds", type=float, default=6.0, help="seconds per mode and round (default 6)")
    ap.add_argument("--rate", type=float, default=20.0, help="reads per second (default 20)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                    help="store backend (default sqlite; postgresql starts a temporary local server)")
    args = ap.parse_args(argv)
    if args.backend == "postgresql":
        from engine.store.tempserver import TempPostgres, find_pg_bin

        if find_pg_bin() is None:
            raise SystemExit("--backend postgresql: no initdb/pg_ctl found; apt-get install postgresql")
        with TempPostgres() as server:
            _rounds(args, server.create_database)
    else:
        _rounds(args, lambda: None)


def _rounds(args, new_url) -> None:
    results: dict[bool, list[tuple[float, float, int, float]]] = {True: [], False: []}
    for r in range(args.rounds):
        for mode in (True, False):
            p50, p99, n, rate = one_round(mode, args.seconds, seed=11 + r, rate_per_s=args.rate,
                                          url=new_url())
            results[mode].append((p50, p99, n, rate))
            label = "read connections" if mode else "locked reads    "
            print(f"round {r + 1}  {label}  reads {n:5d}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                  f"  writer {rate:7.0f} observations/s", flush=True)
    med = {m: [float(np.median([x[i] for x in v])) for i in range(4)] for m, v in results.items()}
    print(f"\n{args.backend}, median over {args.rounds} rounds: with read connections p50 {med[True][0]:.2f} / p99 {med[True][1]:.2f} ms,"
          f" writer {med[True][3]:.0f} obs/s; locked reads p50 {med[False][0]:.2f} / p99 {med[False][1]:.2f} ms,"
          f" writer {med[False][3]:.0f} obs/s; read p99 ratio locked / read connections "
          f"{med[False][1] / med[True][1]:.1f}x, writer ratio {med[True][3] / med[False][3]:.2f}x")


if __name__ == "__main__":
    main()
