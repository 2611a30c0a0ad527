"""PostgreSQL: reads outside a thread's own transaction borrow a read-only pool connection, so
they never wait for another thread's write (before: every read took the driver's lock, and an
ingest holds it for its whole transaction). Real PostgreSQL (``tests/engine/pg.py``)."""

from __future__ import annotations

import threading

import pytest

from engine.domain.classes import Teacher
from engine.errors import EngineError
from engine.store import open_store
from engine.store.postgres import READ_POOL_SIZE


def _writer_holding(tenant, teacher_id: str):
    """A thread that writes teacher ``teacher_id`` in a transaction and holds it open until
    released: (thread, release event)."""
    opened, release = threading.Event(), threading.Event()

    def writer() -> None:
        with tenant.transaction():
            tenant.put_teachers([Teacher(teacher_id, "Ms Pending")])
            opened.set()
            release.wait(10)

    w = threading.Thread(target=writer)
    w.start()
    assert opened.wait(5)
    return w, release


def test_a_read_does_not_wait_for_another_threads_write_and_sees_only_committed_rows(postgres_url):
    store = open_store(postgres_url)
    tenant = store.for_tenant("north")
    tenant.put_teachers([Teacher("T1", "Ms One")])
    w, release = _writer_holding(tenant, "T2")
    got: dict[str, object] = {}
    r = threading.Thread(target=lambda: got.update(ids=[t.id for t in tenant.list_teachers()]))
    r.start()
    r.join(3)
    waited = r.is_alive()
    release.set()
    w.join(5)
    r.join(5)
    assert not waited, "the read waited for another thread's open write transaction"
    assert got["ids"] == ["T1"]  # nothing uncommitted
    assert [t.id for t in tenant.list_teachers()] == ["T1", "T2"]  # committed: seen at once
    with tenant.transaction():  # inside its own transaction a thread reads its own writes
        tenant.put_teachers([Teacher("T3", "Mr Three")])
        assert [t.id for t in tenant.list_teachers(["T3"])] == ["T3"]
    store.close()


def test_a_snapshot_block_reads_one_state_and_refuses_writes(postgres_url):
    import psycopg

    store = open_store(postgres_url)
    tenant = store.for_tenant("north")
    tenant.put_teachers([Teacher("T1", "Ms One")])
    with tenant._read() as reader:
        before = [t.id for t in tenant.list_teachers()]
        t = threading.Thread(target=lambda: tenant.put_teachers([Teacher("T2", "Mr Two")]))
        t.start()
        t.join(5)
        assert not t.is_alive(), "a snapshot block must not hold writers up"
        assert [t.id for t in tenant.list_teachers()] == before == ["T1"]  # one state
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.execute("DELETE FROM teachers")  # a read connection never writes
    assert [t.id for t in tenant.list_teachers()] == ["T1", "T2"]
    with tenant._driver.reading() as plain:  # outside a snapshot too
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            plain.execute("DELETE FROM teachers")
    assert [t.id for t in tenant.list_teachers()] == ["T1", "T2"]  # the pool survived the error
    store.close()
    with pytest.raises(EngineError, match="store is closed"):
        tenant.list_teachers()


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
