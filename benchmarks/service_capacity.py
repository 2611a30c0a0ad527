"""Capacity of the HTTP service under an open-loop rate ramp (issue 12 item 8).

``python -m benchmarks.service_capacity [--workers 2] [--step-seconds 4] [--scenarios ...]
[--backend sqlite|postgresql] [--server-repo PATH]``

``--backend postgresql`` serves from a fresh database per scenario on a temporary local
PostgreSQL server (fsync off, as for tests; no single-writer ceiling is measured then);
``--server-repo`` runs the server from another checkout (a worktree of an older commit), so a
before/after comparison can alternate in one session.

For each scenario, starts ``pathwise serve --demo --workers N`` over a fresh SQLite file (so
one scenario's evidence neither masters the learners the next one plans for -- a learner with
nothing left to plan is a correct 409 -- nor leaves it a WAL to checkpoint), then
offers requests at a fixed rate whatever the latency (open loop), raising the rate step by
step (x1.35, with the target itself as a step where x1.35 would jump over it) until a step is
not *held*, and reports the highest rate held. A step is held
when every request succeeded, at least 95 % of the offered rate completed within the step,
and the p99 latency -- measured from the moment each request was *due*, so queueing in the
client counts (no coordinated omission) -- is under the scenario's bound.

Scenarios and targets:

=============  ==========================================  =====================  =========
name           one request                                 unit                   target
=============  ==========================================  =====================  =========
single         POST /v1/evidence, 1 observation            requests/s, p99<50ms   >= 1,000
xapi           POST /xapi/statements, 1 statement          requests/s, p99<50ms   >= 1,000
batched        POST /v1/evidence, 500 observations         events/s, p99<50ms*    >= 20,000
playlist       POST /v1/learners/{id}/playlist, while      playlists/s, p99<150ms >= 50
               single-observation ingest runs at 200/s
=============  ==========================================  =====================  =========

(*) a 500-observation batch is bounded at p99 < 250 ms: a forwarder sends a batch every
second or so, and the 50 ms bound is for one event per request.

Before the batched scenario, the single-writer ceiling is measured in this process
(:func:`writer_ceiling`: 500-observation batches through the engine, no HTTP). Each ingest holds
SQLite's one write lock for its whole transaction, so the batched scenario cannot pass it with
any number of workers; it also tells how fast the machine is (runs on different machines differ
by several times: compare their ceilings before their capacities).

The load generator is a small asyncio HTTP/1.1 keep-alive client over raw sockets (httpx
costs more CPU per request than the server it measures on a 2-core machine); it runs in this
process (on uvloop when installed), on the same machine, and takes CPU from the server: the
figures are a lower bound. The playlist scenario warms up until the server's CPU settles (each
worker's first plan starts its first background fit of the learned planner models: a start-up
cost, measured separately). Each step prints where the CPU went (``benchmarks._cpu``): the
cores the server's processes used and their CPU per request (in the playlist scenario, net of
the background ingest, measured alone for 3 s after the ramp), the client's cores and the
whole machine's busy cores: a step that fails with every core busy is CPU-bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks._cpu import CpuWindow

REPO = Path(__file__).resolve().parents[1]
ADMIN = "Bearer pw-demo-admin"
LMS = "Bearer pw-demo-lms"
GROWTH = 1.35
MAX_CONNECTIONS = 256
REQUEST_TIMEOUT_S = 10.0  # a request not answered by then counts as an error (599)


@dataclass(frozen=True)
class Scenario:
    name: str
    start: float  # first offered rate, requests/s
    events_per_request: int
    p99_bound_s: float
    target: float  # in the scenario's unit (events/s for batched, requests/s otherwise)
    unit: str


SCENARIOS = {
    "single": Scenario("single", 100, 1, 0.050, 1000, "requests/s"),
    "xapi": Scenario("xapi", 100, 1, 0.050, 1000, "requests/s"),
    "batched": Scenario("batched", 4, 500, 0.250, 20000, "events/s"),
    "playlist": Scenario("playlist", 10, 1, 0.150, 50, "playlists/s"),
}


# ----------------------------------------------------------------------------- server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_dir: str, workers: int, db_url: str | None = None,
                 repo: Path = REPO) -> tuple[subprocess.Popen, int]:
    """``pathwise serve --demo`` from checkout ``repo`` on ``db_url`` (default: a fresh SQLite
    file in ``db_dir``, which also holds the server's log)."""
    port = _free_port()
    log = open(Path(db_dir) / "server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--demo", "--db", db_url or f"sqlite:///{db_dir}/pw.db",
         "--port", str(port), "--log-level", "warning", "--workers", str(workers)],
        cwd=repo, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PATHWISE_LOG_JSON": "1", "PYTHONPATH": str(repo)})
    return proc, port


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up; see server.log")
        try:
            status, body = asyncio.run(_one(port, _request("GET", "/health", None, None)))
            if status == 200 and b'"warm"' in body:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server was not ready in {timeout:.0f} s")


# ----------------------------------------------------------------------------- raw HTTP client
def _request(method: str, path: str, auth: str | None, body, headers: dict | None = None) -> bytes:
    data = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    if auth:
        lines.append(f"Authorization: {auth}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def _roundtrip(reader, writer, payload: bytes) -> tuple[int, bytes]:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")  # status line and headers in one read
    status = int(head[9:12])
    at = head.lower().find(b"\r\ncontent-length:")
    length = int(head[at + 17:head.index(b"\r\n", at + 2)]) if at >= 0 else 0
    return status, await reader.readexactly(length) if length else b""


async def _one(port: int, payload: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await _roundtrip(reader, writer, payload)
    finally:
        writer.close()


class Pool:
    """Keep-alive connections; a request takes an idle one or opens another (up to a cap)."""

    def __init__(self, port: int) -> None:
        self.port, self.idle, self.open = port, [], 0
        self.freed = asyncio.Condition()

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        async with self.freed:
            while not self.idle and self.open >= MAX_CONNECTIONS:
                await self.freed.wait()
            conn = self.idle.pop() if self.idle else None
            if conn is not None and conn[0].at_eof():  # the server closed it while idle
                conn[1].close()
                conn = None
            else:
                self.open += conn is None
        if conn is None:
            conn = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):  # no extra task, unlike wait_for
                result = await _roundtrip(*conn, payload)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                IndexError, TimeoutError):
            async with self.freed:
                self.open -= 1
                self.freed.notify()
            conn[1].close()
            return 599, b""
        async with self.freed:
            self.idle.append(conn)
            self.freed.notify()
        return result

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


# ----------------------------------------------------------------------------- request makers
def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def make_requests(name: str, school: dict):
    learners, activities = school["learners"], school["activities"]

    def observation() -> dict:
        return {"id": uuid.uuid4().hex, "learner_id": random.choice(learners),
                "activity_id": random.choice(activities), "score": round(random.random(), 3),
                "observed_at": _now()}

    def statement() -> dict:
        return {"id": str(uuid.uuid4()),
                "actor": {"objectType": "Agent",
                          "account": {"homePage": "https://lms.example", "name": random.choice(learners)}},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                "object": {"objectType": "Activity",
                           "id": f"https://pathwise.example/activities/{random.choice(activities)}"},
                "result": {"success": random.random() < 0.6}, "timestamp": _now()}

    if name == "single":
        return lambda: _request("POST", "/v1/evidence", LMS, {"observations": [observation()]})
    if name == "batched":
        return lambda: _request("POST", "/v1/evidence", LMS,
                                {"observations": [observation() for _ in range(500)]})
    if name == "xapi":
        return lambda: _request("POST", "/xapi/statements", LMS, [statement()],
                                {"X-Experience-API-Version": "1.0.3"})
    if name == "playlist":
        return lambda: _request("POST", f"/v1/learners/{random.choice(learners)}/playlist", ADMIN, None)
    raise ValueError(f"unknown scenario {name!r}; use one of {', '.join(SCENARIOS)}")


# ----------------------------------------------------------------------------- open loop
async def offer(pool: Pool, make, rate: float, seconds: float, server_pid: int | None = None) -> dict:
    """Offer ``rate`` requests/s for ``seconds``; latency from each request's due time; "cpu":
    the cores the server (``server_pid``'s tree), this client and the machine used meanwhile."""
    latencies, statuses, tasks = [], [], []

    n = max(1, int(rate * seconds))
    payloads = [make() for _ in range(n)]  # encoded before the step: no client CPU in it

    async def fire(due: float, payload: bytes) -> None:
        status, _ = await pool.send(payload)
        latencies.append(time.perf_counter() - due)
        statuses.append(status)

    start = time.perf_counter()
    window = CpuWindow(server_pid).start()
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(due, payloads[i])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    cpu = window.stop()
    lat = np.asarray(latencies)
    ok = sum(1 for s in statuses if 200 <= s < 300)
    return {"rate": rate, "n": n, "ok": ok, "errors": n - ok, "completed_rate": ok / elapsed,
            "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
            "statuses": sorted(set(statuses)), "cpu": cpu}


def _cpu_text(step: dict, shared: bool) -> str:
    """Cores busy in the step: the server (all its processes; with its CPU ms per request
    unless a background load ``shared`` it), this client, and the whole machine."""
    c = step["cpu"]
    per = " (with the ingest)" if shared else f" ({c['server'] / step['rate'] * 1e3:.1f} ms/req)"
    return (f"cores: server {c['server']:.2f}{per}, client {c['client']:.2f}, "
            f"machine {c['machine']:.2f} of {c['cores']:.0f}")


async def _settle(pool: Pool, make, rate: float, server_pid: int, most_s: float = 30.0) -> None:
    """Keep warming up at ``rate`` until the server's cores settle: each worker's first plan
    starts its first fit of the learned planner models (seconds of CPU, in its fit process),
    a start-up cost measured on its own (``benchmarks.fit_stall``; docs/performance.md,
    "Fourteenth session"), not the steady capacity this ramp is for. Settled: two 2-s
    windows within 0.15 cores of each other, the server below 3/4 of the machine's cores (two
    fits at once fill them), at most ``most_s`` seconds (printed)."""
    started, last = time.perf_counter(), None
    while time.perf_counter() - started < most_s:
        step = await offer(pool, make, rate, 2.0, server_pid)
        cores = step["cpu"]["server"]
        if last is not None and abs(cores - last) < 0.15 and cores < 0.75 * step["cpu"]["cores"]:
            break
        last = cores
    print(f"  warm-up until the server's cores settled: {time.perf_counter() - started:.0f} s "
          f"(server {cores:.2f} cores at {rate:.0f} playlists/s with the ingest)", flush=True)


async def _background_share(steps: list[dict], server_pid: int | None) -> None:
    """After a playlist ramp, with the background ingest still running: its cores alone (3 s),
    and from them each step's server CPU per playlist (printed)."""
    await asyncio.sleep(1.0)
    window = CpuWindow(server_pid).start()
    await asyncio.sleep(3.0)
    base = window.stop()["server"]
    own = ", ".join(f"{s['rate']:.0f}/s: {(s['cpu']['server'] - base) / s['rate'] * 1e3:.1f} ms" for s in steps)
    print(f"  the 200/s ingest alone (after the ramp): server {base:.2f} cores; the playlists' own "
          f"server CPU per request by step: {own}", flush=True)


def next_rate(rate: float, scenario: Scenario) -> float:
    """The rate (requests/s) of the step after one at ``rate``: ``rate * GROWTH``, or the
    target's rate when that would jump over it, so the verdict at the target is a step measured
    there and not read off the steps around it."""
    target = scenario.target / scenario.events_per_request
    grown = rate * GROWTH
    return target if rate < target < grown else grown


def held(step: dict, scenario: Scenario) -> bool:
    return (step["errors"] == 0 and step["completed_rate"] >= 0.95 * step["rate"]
            and step["p99"] < scenario.p99_bound_s)


async def ramp(port: int, scenario: Scenario, school: dict, step_seconds: float,
               max_steps: int, server_pid: int | None = None) -> list[dict]:
    pool = Pool(port)
    background = None
    if scenario.name == "playlist":  # playlists while single-observation ingest runs at 200/s
        background = asyncio.create_task(
            offer(Pool(port), make_requests("single", school), 200, step_seconds * max_steps + 45))  # + warm-ups, share
    steps, rate = [], scenario.start
    make = make_requests(scenario.name, school)
    try:
        # warm-up, not counted: every worker loads the school and opens its connections
        await offer(pool, make, scenario.start, min(2.0, step_seconds))
        if background is not None and server_pid is not None:
            await _settle(pool, make, scenario.start, server_pid)
        for _ in range(max_steps):
            step = await offer(pool, make, rate, step_seconds, server_pid)
            step["held"] = held(step, scenario)
            steps.append(step)
            print(f"  {scenario.name:<9} offered {rate * scenario.events_per_request:9.0f} "
                  f"{scenario.unit:<11} p50 {step['p50'] * 1e3:7.1f} ms  p99 {step['p99'] * 1e3:7.1f} ms  "
                  f"{_cpu_text(step, background is not None)}  errors {step['errors']} {[x for x in step['statuses'] if not 200 <= x < 300]}  {'held' if step['held'] else 'NOT held'}", flush=True)
            if not step["held"]:
                break
            rate = next_rate(rate, scenario)
        if background is not None and server_pid is not None:
            await _background_share(steps, server_pid)
    finally:
        pool.close()
        if background is not None:
            background.cancel()
    return steps


def school_ids(port: int) -> dict:
    async def get(path: str):
        status, body = await _one(port, _request("GET", path, ADMIN, None))
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return json.loads(body)

    classes = asyncio.run(get("/v1/classes"))
    learners = [m["id"] for c in classes for m in asyncio.run(get(f"/v1/classes/{c['id']}"))["roster"]]
    activities = [a["id"] for a in asyncio.run(get("/v1/catalog/activities?limit=5000"))
                  if a.get("modality") != "teacher_led"][:300]
    return {"learners": learners, "activities": activities}


def report(results: dict[str, list[dict]], workers: int, backend: str = "SQLite") -> str:
    lines = [f"Capacity, open-loop ramp, {workers} worker process(es), {backend}, one 2-core machine "
             "(client on the same machine)", "",
             f"{'scenario':<10} {'highest rate held':>20} {'p99 there':>10} {'target':>10}  met"]
    for name, steps in results.items():
        sc = SCENARIOS[name]
        ok = [s for s in steps if s["held"]]
        best = ok[-1] if ok else None
        rate = best["rate"] * sc.events_per_request if best else 0.0
        p99 = f"{best['p99'] * 1e3:.1f} ms" if best else "-"
        lines.append(f"{name:<10} {rate:>12,.0f} {sc.unit:<7} {p99:>10} {sc.target:>10,.0f}  "
                     f"{'yes' if rate >= sc.target else 'no'}")
    return "\n".join(lines)


def _run(coroutine):
    """Run the client on uvloop when installed (less client CPU taken from the server)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.service_capacity",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    ap.add_argument("--step-seconds", type=float, default=4.0, help="seconds per rate step (default 4)")
    ap.add_argument("--max-steps", type=int, default=14, help="most rate steps per scenario (default 14)")
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS),
                    help="which scenarios to run (default all)")
    ap.add_argument("--no-ceiling", action="store_true",
                    help="skip the in-process single-writer ceiling measured before the batched scenario")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                    help="the server's store (default sqlite; postgresql: a temporary local server, "
                         "Debian's binaries, fsync off as for tests, a fresh database per scenario)")
    ap.add_argument("--server-repo", default=str(REPO),
                    help="run the server from this checkout (e.g. a worktree of an older commit, "
                         "for an alternating before/after comparison; default this one)")
    args = ap.parse_args(argv)
    if args.backend == "postgresql":
        from engine.store.tempserver import TempPostgres, find_pg_bin

        if find_pg_bin() is None:
            raise SystemExit("--backend postgresql: no initdb/pg_ctl found; apt-get install postgresql")
        with TempPostgres() as server:
            args.postgres, args.no_ceiling = server, True
            return _main(args)
    args.postgres = None
    return _main(args)


def _main(args) -> int:
    ceiling = None
    if "batched" in args.scenarios and not args.no_ceiling:
        ceiling = writer_ceiling()
        print(f"single-writer ceiling on this machine: {ceiling:,.0f} events/s (500-observation batches "
              "through the engine in this process, no HTTP)", flush=True)
    results = {}
    for name in args.scenarios:  # each on a fresh server and database (see the module doc)
        results[name] = run_scenario(name, args)
    print()
    print(report(results, args.workers, "PostgreSQL" if args.postgres is not None else "SQLite"))
    if ceiling is not None:
        print(f"\nbatched: every ingest holds SQLite's one write lock for its whole transaction, so no "
              f"number of workers passes the single-writer ceiling measured above ({ceiling:,.0f} events/s "
              f"on this machine; target {SCENARIOS['batched'].target:,.0f})")
    return 0


def writer_ceiling(n: int = 20_000, batch: int = 500) -> float:
    """Observations/s of ``Engine.ingest`` in ``batch``-observation calls (random UUID ids, the
    demo school, a fresh SQLite file, after a warm-up batch): the time one batch holds the write
    lock, without HTTP, JSON or a second process. It bounds the batched scenario from above and
    shows how fast this machine is (a figure to compare runs on different machines by)."""
    from benchmarks.engine_ingest import synthesize
    from engine.demo import load_demo_school
    from engine.engine import Engine
    from engine.store import open_store

    school = load_demo_school(None, with_evidence=False)
    observations = synthesize(school, n + batch, seed=11, ids="uuid")
    with tempfile.TemporaryDirectory(prefix="pw-ceiling-") as tmp, \
            open_store(f"sqlite:///{tmp}/ceiling.db") as store:
        engine = Engine(store, "ceiling")
        engine.load_school(school, with_evidence=False)
        engine.ingest(observations[:batch])  # warm-up: kernels loaded, statements prepared
        started = time.perf_counter()
        for start in range(batch, n + batch, batch):
            engine.ingest(observations[start:start + batch])
        return n / (time.perf_counter() - started)


def run_scenario(name: str, args) -> list[dict]:
    """One scenario's ramp against its own ``pathwise serve --demo`` over a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="pw-capacity-") as tmp:
        url = args.postgres.create_database("capacity") if args.postgres is not None else None
        proc, port = start_server(tmp, args.workers, url, Path(args.server_repo).resolve())
        try:
            wait_ready(port, proc)
            return _run(ramp(port, SCENARIOS[name], school_ids(port), args.step_seconds, args.max_steps,
                             proc.pid))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

if __name__ == "__main__":
    sys.exit(main())
