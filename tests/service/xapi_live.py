"""Real processes for the xAPI door tests: ``pathwise serve`` (uvicorn) on a free port, and
Ralph LRS (``.peer/ralph``, built by ``make ralph``) with its file-system backend, both
started by ``tests._servers``. Tests that need Ralph skip with a reason outside CI when it is absent and fail under ``CI=true``."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import _servers
from tests._servers import REPO, free_port, running

__all__ = ["RALPH_PASSWORD", "RALPH_USER", "REPO", "free_port", "need_ralph", "pathwise_server",
           "ralph_server"]
RALPH = REPO / ".peer" / "ralph" / "bin" / "ralph"


@contextmanager
def pathwise_server(db_url: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``pathwise serve --demo`` over ``db_url``; yields its base URL."""
    env = {"PATHWISE_LOG_LEVEL": "WARNING", **(extra_env or {})}
    with _servers.pathwise_server(db_url, "--no-warm", env=env) as server:
        yield server.base


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
    ralph_env = {"RALPH_AUTH_FILE": str(auth_file), "RALPH_RUNSERVER_BACKEND": "fs",
                 "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data),
                 "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(data)}
    env = {**os.environ, **ralph_env}
    env.pop("VIRTUAL_ENV", None)
    if not auth_file.exists():
        subprocess.run([str(ralph), "auth", "--username", RALPH_USER, "--password", RALPH_PASSWORD,
                        "--scope", "all", "--agent-ifi-mbox", "mailto:sync@district.example", "-w"],
                       check=True, env=env, cwd=run, capture_output=True, text=True, timeout=120)
    port = port or free_port()
    token = base64.b64encode(f"{RALPH_USER}:{RALPH_PASSWORD}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    base = f"http://127.0.0.1:{port}"
    with running([str(ralph), "runserver", "-b", "fs", "-h", "127.0.0.1", "-p", str(port)],
                 f"{base}/__heartbeat__", "ralph runserver", env={**ralph_env, "VIRTUAL_ENV": None},
                 cwd=run):
        yield f"{base}/xAPI/", auth
