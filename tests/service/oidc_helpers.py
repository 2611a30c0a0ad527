"""Processes for the single sign-on tests: a real OpenID provider (``oidc-provider-mock``) and a
real ``pathwise serve --demo``, each on a free loopback port, stopped by PID afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ADMIN = "pw-demo-admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc: subprocess.Popen, url: str, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {seconds:.0f} s")
        time.sleep(0.2)


@contextlib.contextmanager
def running(cmd: list[str], url: str, what: str, env: dict | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` until the block ends (SIGINT, then kill); its output goes to ``log`` (else a
    temporary file), printed when the block fails, so a failure shows the process's own log."""
    with (open(log, "w+") if log else tempfile.TemporaryFile("w+")) as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, **(env or {})})
        try:
            wait_until_up(proc, url, what)
            yield proc
        except BaseException:
            out.seek(0)
            print(f"--- {what} output (last 6000 characters) ---\n{out.read()[-6000:]}")
            raise
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def provider_process(exe: str, users: list[dict]) -> Iterator[str]:
    """Base URL (its issuer) of an ``oidc-provider-mock`` with ``users`` as predefined users."""
    port = free_port()
    cmd = [exe, "--port", str(port), "--host", "127.0.0.1"]
    for user in users:
        cmd += ["--user-claims", json.dumps(user)]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, f"{base}/.well-known/openid-configuration", "oidc-provider-mock"):
        yield base


@contextlib.contextmanager
def pathwise_server(tmp: Path, tenant: str = "demo") -> Iterator[str]:
    """Base URL of ``pathwise serve --demo`` on a fresh SQLite file."""
    port = free_port()
    cmd = [sys.executable, "-m", "service.cli", "serve", "--demo", "--db", f"sqlite:///{tmp / 'pw.db'}",
           "--port", str(port), "--log-level", "warning", "--tenant", tenant]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, f"{base}/health", "pathwise serve", env={"PATHWISE_WARM_KERNELS": "0"},
                 log=tmp / "server.log"):
        yield base


def server_log(db_url: str) -> str:
    """The tail of the log of the server :func:`pathwise_server` ran on ``db_url``'s folder."""
    path = Path(db_url.removeprefix("sqlite:///")).parent / "server.log"
    return path.read_text()[-4000:] if path.exists() else ""
