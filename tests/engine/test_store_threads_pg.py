"""PostgreSQL's pool of read-only connections: its size and what happens when it runs out.
Real PostgreSQL (``tests/engine/pg.py``). That reads neither wait for another thread's write
nor see it uncommitted, and that a snapshot block sees one state and refuses writes, is tested
on both backends in ``tests/engine/test_store_threads.py``."""

from __future__ import annotations

import threading

import pytest

from engine.domain.classes import Teacher
from engine.errors import EngineError
from engine.store import open_store
from engine.store.postgres import READ_POOL_SIZE


def test_more_readers_than_pool_connections_all_get_answers(postgres_url):
    """Readers beyond the pool's size wait for a connection to come back, none fails."""
    store = open_store(postgres_url)
    tenant = store.for_tenant("north")
    tenant.put_teachers([Teacher("T1", "Ms One")])
    n = 3 * READ_POOL_SIZE
    barrier = threading.Barrier(n)
    results: list[object] = []

    def read() -> None:
        barrier.wait(5)
        try:
            with tenant._read():
                results.append([t.id for t in tenant.list_teachers()])
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            results.append(exc)

    threads = [threading.Thread(target=read) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [["T1"]] * n
    assert tenant._driver._pool.get_stats()["pool_size"] <= READ_POOL_SIZE
    store.close()


def test_a_read_that_gets_no_connection_in_time_is_a_clear_error(postgres_url, monkeypatch):
    import engine.store.postgres as pg

    monkeypatch.setattr(pg, "READ_WAIT_S", 0.5)
    store = open_store(postgres_url)
    tenant = store.for_tenant("north")
    held, release = threading.Barrier(READ_POOL_SIZE + 1), threading.Event()

    def hold() -> None:
        with tenant._read():
            tenant.list_teachers()
            held.wait(10)
            release.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(READ_POOL_SIZE)]
    for t in threads:
        t.start()
    held.wait(10)  # every pool connection is lent out
    try:
        with pytest.raises(EngineError, match="no PostgreSQL read connection came free within 0.5 s"):
            tenant.list_teachers()
    finally:
        release.set()
        for t in threads:
            t.join(10)
    assert tenant.list_teachers() == []  # connections back: reads work again
    store.close()
