"""One real server: ``pathwise serve`` (uvicorn) on 127.0.0.1, a free port, bounded time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import copy_db

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_uvicorn_process(template_db, tmp_path):
    port = free_port()
    url = copy_db(template_db, tmp_path)
    env = {**os.environ, "PATHWISE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--demo", "--db", url, "--port", str(port),
         "--no-warm", "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start in 90 s"
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as h:
            assert h.get("/v1/classes").status_code == 401
            admin = {"Authorization": "Bearer pw-demo-admin"}
            classes = h.get("/v1/classes", headers=admin).json()
            assert len(classes) == 7
            learner = h.get("/v1/classes/c-3-station", headers=admin).json()["roster"][0]["id"]
            r = h.post("/v1/evidence", headers={"Authorization": "Bearer pw-demo-lms"}, json={"observations": [
                {"id": "uv-1", "learner_id": learner, "activity_id": "A0001", "score": 1,
                 "observed_at": "2026-10-04T10:00:00Z"}]})
            assert r.status_code == 200 and r.json()["accepted"] == 1
            r = h.post(f"/v1/learners/{learner}/playlist", headers=admin)
            assert r.status_code == 200 and r.json()["items"]
            assert h.get("/").status_code in (200, 303, 307)
            assert "Pathwise API" in h.get("/openapi.json").text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Teacher page : http://127.0.0.1:" in out
    assert "API docs     :" in out
