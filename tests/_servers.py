"""Real server processes for the tests: a free loopback port, a process started with its
output in a file, polled until a URL answers, and stopped by its own PID afterwards
(SIGINT, then kill after ``timeout``). The one place ``tests/service`` and ``tests/e2e``
start ``pathwise serve``, the OpenID provider, the LTI platform and Ralph LRS.

    with pathwise_server("sqlite:///…/pw.db", "--no-warm") as server:
        httpx.get(f"{server.base}/health")
    server.output()   # what the process printed (also after it stopped)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
START_SECONDS = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """``cmd`` running in ``cwd`` with ``os.environ`` updated by ``env`` (a value of None
    removes the variable); stdout and stderr go to ``log`` (else a temporary file)."""

    def __init__(self, cmd: list[str], *, env: Mapping[str, str | None] | None = None,
                 log: Path | None = None, cwd: Path = REPO, base: str = "") -> None:
        full_env = {**os.environ, **(env or {})}
        self.base = base
        self._file = open(log, "w+") if log else tempfile.TemporaryFile("w+")  # noqa: SIM115
        self._text: str | None = None
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=self._file, stderr=subprocess.STDOUT, text=True,
                env={k: v for k, v in full_env.items() if v is not None})
        except OSError:
            self._file.close()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """Everything the process has printed so far (all of it once stopped)."""
        if self._text is not None:
            return self._text
        self._file.flush()
        self._file.seek(0)
        return self._file.read()

    def wait_until_up(self, url: str, what: str, seconds: float = START_SECONDS,
                      headers: Mapping[str, str] | None = None) -> None:
        """Poll ``url`` until it answers below 500; RuntimeError (with the process's output)
        when the process exits first or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited with code {self.proc.returncode}:\n"
                                   f"{self.output()[-6000:]}")
            try:
                if httpx.get(url, timeout=1, headers=headers).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start in {seconds:.0f} s:\n"
                                   f"{self.output()[-6000:]}")
            time.sleep(0.2)

    def stop(self, timeout: float = 20) -> str:
        """SIGINT, wait up to ``timeout`` s, then kill; returns the output. Idempotent."""
        if self._text is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self._text = self.output()
            self._file.close()
        return self._text


@contextlib.contextmanager
def running(cmd: list[str], url: str, what: str, *, env: Mapping[str, str | None] | None = None,
            log: Path | None = None, cwd: Path = REPO, base: str = "",
            seconds: float = START_SECONDS, headers: Mapping[str, str] | None = None,
            stop_seconds: float = 20) -> Iterator[Process]:
    """Run ``cmd`` until the block ends (:meth:`Process.stop` with ``stop_seconds``), once
    ``url`` answers; when start-up or the block fails, the process's own output (last 6000
    characters) is printed with the failure."""
    process = Process(cmd, env=env, log=log, cwd=cwd, base=base)
    try:
        process.wait_until_up(url, what, seconds, headers)
        yield process
    except BaseException:
        print(f"--- {what} output (last 6000 characters) ---\n{process.output()[-6000:]}")
        raise
    finally:
        process.stop(stop_seconds)


def serve_command(db_url: str, port: int, *extra: str) -> list[str]:
    """``pathwise serve --demo`` on ``db_url`` and ``port``, warnings only, plus ``extra``."""
    return [sys.executable, "-m", "service.cli", "serve", "--demo", "--db", db_url,
            "--port", str(port), "--log-level", "warning", *extra]


@contextlib.contextmanager
def pathwise_server(db_url: str, *extra: str, env: Mapping[str, str | None] | None = None,
                    log: Path | None = None, seconds: float = START_SECONDS,
                    stop_seconds: float = 20) -> Iterator[Process]:
    """``pathwise serve --demo`` over ``db_url`` on a free port (``extra``: more flags);
    yields the running :class:`Process`, its URL in ``.base``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(serve_command(db_url, port, *extra), f"{base}/health", "pathwise serve",
                 env=env, log=log, base=base, seconds=seconds,
                 stop_seconds=stop_seconds) as process:
        yield process
