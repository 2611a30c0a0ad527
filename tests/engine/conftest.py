"""Engine test fixtures: the real temporary PostgreSQL server and a store of each backend."""

from __future__ import annotations

import pytest

from tests.engine.pg import postgres_server, postgres_url  # noqa: F401  (fixtures)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    """A fresh store URL: an SQLite file, or a new database on the temporary PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url):
    from engine.store import open_store

    opened = open_store(store_url)
    yield opened
    opened.close()
