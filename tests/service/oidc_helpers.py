"""Processes for the single sign-on tests: a real OpenID provider (``oidc-provider-mock``) and a
real ``pathwise serve --demo``, each on a free loopback port, stopped by PID afterwards
(started by ``tests._servers``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from tests import _servers
from tests._servers import REPO, free_port, running

__all__ = ["ADMIN", "REPO", "free_port", "pathwise_server", "provider_process", "running",
           "server_log"]
ADMIN = "pw-demo-admin"


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
    """Base URL of ``pathwise serve --demo`` on a fresh SQLite file (log in ``tmp``)."""
    with _servers.pathwise_server(f"sqlite:///{tmp / 'pw.db'}", "--tenant", tenant,
                                  env={"PATHWISE_WARM_KERNELS": "0"},
                                  log=tmp / "server.log") as server:
        yield server.base


def server_log(db_url: str) -> str:
    """The tail of the log of the server :func:`pathwise_server` ran on ``db_url``'s folder."""
    path = Path(db_url.removeprefix("sqlite:///")).parent / "server.log"
    return path.read_text()[-4000:] if path.exists() else ""
