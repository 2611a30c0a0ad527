"""Load benchmark of the HTTP service: ``python -m benchmarks.service_load [--seconds 20]``.

Starts ``pathwise serve --demo`` on 127.0.0.1 (free port) over a fresh SQLite file in a temp
dir, then drives it from concurrent loopback clients (httpx, asyncio) for a bounded time:

1. sustained ingest (open loop): batches of ``--batch`` observations sent at a fixed offered
   rate (``--rate`` events/s, default 1,000) whatever the latency; reports the achieved
   events/s and per-request p50/p99;
2. saturation ingest (closed loop): ``--ingest-clients`` clients back to back, for the
   maximum events/s the server sustains (latency here is mostly queueing);
3. playlists: clients ask for random learners' next playlist; reports p50/p99.

Targets (issue 5): >= 1,000 events/s with ingest p99 < 20 ms; playlist p99 < 150 ms.
Everything runs on loopback; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ADMIN = {"Authorization": "Bearer pw-demo-admin"}
LMS = {"Authorization": "Bearer pw-demo-lms"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_dir: str, log_level: str) -> tuple[subprocess.Popen, str, Path]:
    port = _free_port()
    log_path = Path(db_dir) / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--demo", "--db", f"sqlite:///{db_dir}/pathwise.db",
         "--port", str(port), "--log-level", log_level],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PATHWISE_LOG_JSON": "1"},
    )
    return proc, f"http://127.0.0.1:{port}", log_path


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during startup")
        try:
            r = httpx.get(f"{base}/health", timeout=1)
            if r.status_code == 200 and r.json().get("kernels", "warm") == "warm":
                return  # measured only once the startup warm-up is done
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {timeout:.0f} s")


async def _post_batch(client, learners, activities, batch, now, lat, counts):
    """POST one batch of ``batch`` random observations; record its latency and outcome.

    ``now``: the observations' ``observed_at``; None = the time of sending (live traffic, each
    batch newer than the last). A fixed value per client makes concurrent clients send evidence
    older than what another client already delivered (late evidence: the engine refolds those
    learners), which is what ``--fixed-time`` measures."""
    if now is None:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    obs = [{"id": uuid.uuid4().hex, "learner_id": random.choice(learners),
            "activity_id": random.choice(activities), "score": round(random.random(), 3),
            "observed_at": now} for _ in range(batch)]
    t0 = time.perf_counter()
    r = await client.post("/v1/evidence", json={"observations": obs}, headers=LMS)
    lat.append(time.perf_counter() - t0)
    counts["requests"] += 1
    if r.status_code == 200:
        counts["events"] += r.json()["accepted"]
    else:
        counts["errors"] += 1


#: True (``--fixed-time``): each ingest client stamps all its observations with the time it
#: started; False: each batch carries the time it is sent (see ``_post_batch``).
FIXED_TIME = False


def _client_time() -> str | None:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z") if FIXED_TIME else None


async def _ingest_client(client, learners, activities, batch, stop_at, lat, counts, max_requests):
    now = _client_time()
    while time.perf_counter() < stop_at and counts["requests"] < max_requests:
        await _post_batch(client, learners, activities, batch, now, lat, counts)


async def _paced_ingest(client, learners, activities, batch, rate, stop_at, lat, counts):
    """Open loop: send one batch every ``batch / rate`` seconds whatever the latency."""
    interval = batch / rate
    now = _client_time()
    pending = set()

    next_at = time.perf_counter()
    while next_at < stop_at:
        task = asyncio.create_task(
            _post_batch(client, learners, activities, batch, now, lat, counts))
        pending.add(task)
        task.add_done_callback(pending.discard)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    if pending:
        await asyncio.gather(*pending)


async def _playlist_client(client, learners, stop_at, lat, counts, max_requests):
    while time.perf_counter() < stop_at and counts["requests"] < max_requests:
        learner = random.choice(learners)
        t0 = time.perf_counter()
        r = await client.post(f"/v1/learners/{learner}/playlist", headers=LMS)
        lat.append(time.perf_counter() - t0)
        counts["requests"] += 1
        if r.status_code == 409:  # a correct answer: nothing fits this learner (see the body)
            counts["nothing"] += 1
        elif r.status_code != 200:
            counts["errors"] += 1


async def drive(base: str, seconds: float, batch: int, ingest_clients: int, playlist_clients: int,
                rate: float) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=ingest_clients + playlist_clients + 2)
    # TCP_NODELAY: without it the client's separate header/body writes meet the server's
    # delayed ACK (Nagle) and every request over ~1 KB waits tens of milliseconds.
    transport = httpx.AsyncHTTPTransport(limits=limits,
                                         socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(base_url=base, timeout=30, transport=transport) as client:
        classes = (await client.get("/v1/classes", headers=ADMIN)).json()
        learners = []
        for c in classes:
            learners += [m["id"] for m in (await client.get(f"/v1/classes/{c['id']}", headers=ADMIN)).json()["roster"]]
        activities = [a["id"] for a in (await client.get("/v1/catalog/activities", params={"limit": 5000},
                                                         headers=ADMIN)).json()]
        # warm-up: a few requests of each kind (not measured)
        for _ in range(3):
            await client.post(f"/v1/learners/{learners[0]}/playlist", headers=LMS)
        third = seconds / 3
        # phase 1: sustained offered load (open loop) at the target rate
        paced_lat: list[float] = []
        paced_counts = {"requests": 0, "events": 0, "errors": 0}
        t0 = time.perf_counter()
        await _paced_ingest(client, learners, activities, batch, rate, t0 + third, paced_lat, paced_counts)
        paced_elapsed = time.perf_counter() - t0
        # phase 2: saturation (closed loop, clients back to back) for the maximum rate
        ingest_lat: list[float] = []
        ingest_counts = {"requests": 0, "events": 0, "errors": 0}
        t0 = time.perf_counter()
        stop = t0 + third
        await asyncio.gather(*[_ingest_client(client, learners, activities, batch, stop, ingest_lat,
                                              ingest_counts, 200_000) for _ in range(ingest_clients)])
        ingest_elapsed = time.perf_counter() - t0
        half = third
        play_lat: list[float] = []
        play_counts = {"requests": 0, "errors": 0, "nothing": 0}
        t1 = time.perf_counter()
        stop = t1 + half
        await asyncio.gather(*[_playlist_client(client, learners, stop, play_lat, play_counts, 20_000)
                               for _ in range(playlist_clients)])
        play_elapsed = time.perf_counter() - t1
    return {"paced_lat": np.array(paced_lat) * 1e3, "paced": paced_counts, "paced_s": paced_elapsed,
            "ingest_lat": np.array(ingest_lat) * 1e3, "ingest": ingest_counts, "ingest_s": ingest_elapsed,
            "play_lat": np.array(play_lat) * 1e3, "play": play_counts, "play_s": play_elapsed}


def server_side_ms(log_path: Path, n_sustained: int) -> tuple[np.ndarray, np.ndarray]:
    """Server-measured time (ms, access log) of the sustained and the saturation ingest requests."""
    import json

    ms = []
    for line in log_path.read_text(errors="replace").splitlines():
        if '"/v1/evidence"' not in line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("path") == "/v1/evidence":
            ms.append(float(row["ms"]))
    arr = np.array(ms)
    return arr[:n_sustained], arr[n_sustained:]


def table(res: dict, batch: int, ingest_clients: int, playlist_clients: int, rate: float) -> str:
    il, pl, ql = res["ingest_lat"], res["play_lat"], res["paced_lat"]
    eps = res["ingest"]["events"] / res["ingest_s"]
    qeps = res["paced"]["events"] / res["paced_s"]
    q50, q99 = np.percentile(ql, [50, 99]) if len(ql) else (float("nan"),) * 2
    i50, i99 = np.percentile(il, [50, 99]) if len(il) else (float("nan"),) * 2
    p50, p99 = np.percentile(pl, [50, 99]) if len(pl) else (float("nan"),) * 2
    ok = lambda c: "met" if c else "MISSED"  # noqa: E731
    lines = [
        "| measure | value | target | |",
        "|---|---:|---:|---|",
        f"| sustained ingest at {rate:,.0f} events/s offered ({batch}-event batches): achieved events/s | {qeps:,.0f} | >= 1,000 | {ok(qeps >= 0.98 * 1000 and rate >= 1000)} |",
        f"| sustained ingest request p50 (ms) | {q50:.1f} | | |",
        f"| sustained ingest request p99 (ms) | {q99:.1f} | < 20 | {ok(q99 < 20)} |",
        f"| sustained requests / errors | {res['paced']['requests']:,} / {res['paced']['errors']} | 0 errors | {ok(res['paced']['errors'] == 0)} |",
        *([f"| sustained ingest, server-side p50 / p99 (ms, access log) | {np.percentile(res['server_paced'], 50):.1f} / {np.percentile(res['server_paced'], 99):.1f} | | |"]
          if len(res.get("server_paced", ())) else []),
        f"| saturation ingest, events/s ({ingest_clients} clients back to back) | {eps:,.0f} | (max) | |",
        f"| saturation request p50 / p99 (ms) | {i50:.1f} / {i99:.1f} | | |",
        f"| ingest requests / errors | {res['ingest']['requests']:,} / {res['ingest']['errors']} | 0 errors | {ok(res['ingest']['errors'] == 0)} |",
        f"| playlist p50 (ms, {playlist_clients} clients) | {p50:.1f} | | |",
        f"| playlist p99 (ms) | {p99:.1f} | < 150 | {ok(p99 < 150)} |",
        f"| playlist requests / 409 nothing to plan / errors | {res['play']['requests']:,} / {res['play']['nothing']} / {res['play']['errors']} | 0 errors | {ok(res['play']['errors'] == 0)} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.service_load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="total measured time, split evenly between the three phases")
    ap.add_argument("--batch", type=int, default=20, help="observations per ingest request")
    ap.add_argument("--rate", type=float, default=1000.0, help="offered events/s in the sustained phase")
    ap.add_argument("--ingest-clients", type=int, default=4, help="concurrent ingest clients")
    ap.add_argument("--playlist-clients", type=int, default=2, help="concurrent playlist clients")
    ap.add_argument("--log-level", default="info", choices=["info", "warning"],
                    help="server log level (info writes one JSON access line per request)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fixed-time", action="store_true",
                    help="stamp each client's observations with the client's start time (the "
                         "pre-2026-12 behaviour): concurrent clients then deliver late evidence "
                         "and the engine refolds those learners")
    args = ap.parse_args(argv)
    random.seed(args.seed)
    global FIXED_TIME
    FIXED_TIME = args.fixed_time
    with tempfile.TemporaryDirectory(prefix="pathwise-load-") as tmp:
        proc, base, log_path = start_server(tmp, args.log_level)
        try:
            t0 = time.perf_counter()
            wait_ready(base, proc)
            print(f"server ready in {time.perf_counter() - t0:.1f} s at {base} (SQLite, demo school)", flush=True)
            res = asyncio.run(drive(base, args.seconds, args.batch, args.ingest_clients, args.playlist_clients,
                                    args.rate))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.log_level == "info":
            res["server_paced"], res["server_sat"] = server_side_ms(log_path, res["paced"]["requests"])
    print()
    stamps = "each client's start time (late evidence)" if args.fixed_time else "time of sending"
    print(f"service load: {args.seconds:g} s, loopback, uvicorn 1 worker, SQLite, log level "
          f"{args.log_level}, observed_at = {stamps}")
    print(table(res, args.batch, args.ingest_clients, args.playlist_clients, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
