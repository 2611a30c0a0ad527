"""Real processes for the xAPI door tests: ``pathwise serve`` (uvicorn) on a free port, and
Ralph LRS (``.peer/ralph``, built by ``make ralph``) with its file-system backend. Tests that
need Ralph skip with a reason outside CI when it is absent and fail under ``CI=true``."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
RALPH = REPO / ".peer" / "ralph" / "bin" / "ralph"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(proc: subprocess.Popen, url: str, what: str, timeout: float = 90.0, headers=None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(url, timeout=1, headers=headers).status_code < 500:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} did not start in {timeout:.0f} s"
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


@contextmanager
def pathwise_server(db_url: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``pathwise serve --demo`` over ``db_url``; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PATHWISE_LOG_LEVEL": "WARNING", **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--demo", "--db", db_url, "--port", str(port),
         "--no-warm", "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(proc, f"{base}/health", "pathwise serve")
        yield base
    finally:
        _stop(proc)


def need_ralph() -> Path:
    """The Ralph executable; skip (outside CI) or fail (CI=true) when it is not built."""
    if RALPH.exists():
        return RALPH
    reason = f"Ralph LRS is not built at {RALPH.parent.parent}; run 'make ralph'"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


RALPH_USER, RALPH_PASSWORD = "district-sync", "district-sync-password-1"


@contextmanager
def ralph_server(workdir: Path, data: Path | None = None, port: int | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """Ralph LRS (fs backend) with one user; yields (xAPI endpoint, Basic auth header).

    data: the directory of its statement file (default ``workdir/lrs``), kept outside the
    directory runserver's reloader watches. Ralph 5.1's fs backend creates its statement file
    once and refuses later writes to it, so each process takes one POST (a batch); tests that
    add statements later start a new process on the same port over a new data directory."""
    ralph = need_ralph()
    run = workdir / "run"
    run.mkdir(parents=True, exist_ok=True)
    data = data or workdir / "lrs"
    data.mkdir(parents=True, exist_ok=True)
    auth_file = run / "auth.json"
    env = {**os.environ, "RALPH_AUTH_FILE": str(auth_file), "RALPH_RUNSERVER_BACKEND": "fs",
           "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data),
           "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(data)}
    env.pop("VIRTUAL_ENV", None)
    if not auth_file.exists():
        subprocess.run([str(ralph), "auth", "--username", RALPH_USER, "--password", RALPH_PASSWORD,
                        "--scope", "all", "--agent-ifi-mbox", "mailto:sync@district.example", "-w"],
                       check=True, env=env, cwd=run, capture_output=True, text=True, timeout=120)
    port = port or free_port()
    proc = subprocess.Popen([str(ralph), "runserver", "-b", "fs", "-h", "127.0.0.1", "-p", str(port)],
                            env=env, cwd=run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    token = base64.b64encode(f"{RALPH_USER}:{RALPH_PASSWORD}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(proc, f"{base}/__heartbeat__", "ralph runserver", timeout=120)
        yield f"{base}/xAPI/", auth
    finally:
        _stop(proc)
