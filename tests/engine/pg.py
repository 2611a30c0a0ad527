"""Pytest fixtures for a real, throw-away PostgreSQL server (no mocks).

Import them into a conftest to reuse, as ``tests/engine/conftest.py`` does::

    from tests.engine.pg import postgres_server, postgres_url  # noqa: F401

* ``postgres_server`` (session): a running :class:`engine.store.tempserver.TempPostgres`
  (initdb + pg_ctl in a temp folder, 127.0.0.1 on a free port, as the ``postgres`` OS user
  when run as root), stopped at the end of the session;
* ``postgres_url`` (function): URL of a fresh, empty database on it.

Without server binaries the fixtures skip with the reason; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os

import pytest

from engine.store.tempserver import TempPostgres, find_pg_bin

__all__ = ["TempPostgres", "find_pg_bin", "postgres_server", "postgres_url"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """A running temporary PostgreSQL server for the whole test session."""
    if find_pg_bin() is None:
        _unavailable(
            "PostgreSQL server binaries (initdb/pg_ctl) not found in /usr/lib/postgresql/*/bin "
            "or PATH; apt-get install postgresql"
        )
    server = TempPostgres()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        _unavailable(f"could not start a temporary PostgreSQL server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """URL of a fresh, empty database on the session's temporary server."""
    return postgres_server.create_database()
