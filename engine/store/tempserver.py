"""A real, throw-away PostgreSQL server for tests and benchmarks (no mocks).

:class:`TempPostgres` runs ``initdb`` + ``pg_ctl`` from Debian's ``postgresql`` package
(``/usr/lib/postgresql/<ver>/bin`` or ``PATH``) in a temporary folder, listening on
127.0.0.1 on a free port (and a private unix socket). Running as root, it runs the server as
the ``postgres`` OS user (``initdb`` refuses root) through ``runuser``. Durability is off
(fsync, synchronous_commit): it is a test server.

The pytest fixtures built on it live in ``tests/engine/pg.py``.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_pg_bin() -> Path | None:
    """Folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TempPostgres:
    """A PostgreSQL cluster in a temporary folder. ``start()``, ``create_database()``, ``stop()``."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_pg_bin()
        if self.bin_dir is None:
            raise RuntimeError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's "
                "'postgresql' package (apt-get install postgresql)"
            )
        self.root: Path | None = None
        self.port = 0
        self._as_postgres = os.geteuid() == 0
        self._counter = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = ""
            if self.root and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{log}"
            )
        return result

    @property
    def url(self) -> str:
        """URL of the ``postgres`` maintenance database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> TempPostgres:
        self.root = Path(tempfile.mkdtemp(prefix="pathwise-pg-"))
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._run(
            "initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "server.log"),
            "-w", "-t", "60", "start",
        )
        return self

    def create_database(self, prefix: str = "t") -> str:
        """Create a fresh empty database; return its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


