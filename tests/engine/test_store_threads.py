"""A transaction open in one thread is invisible to every other thread.

Found by schemathesis in CI: a read in one request thread saw another thread's open
transaction (``in_transaction`` was a shared counter), joined its write-through cache, and
raised "after_commit needs an open transaction" once the other thread had committed.
"""

from __future__ import annotations

import threading

import pytest

from engine.store import open_store


def test_a_read_during_another_threads_transaction_neither_joins_nor_fails(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'pw.db'}")
    tenant = store.for_tenant("north")
    driver = tenant._driver
    opened, release = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def writer() -> None:
        with tenant.transaction():
            seen["writer_in_transaction"] = driver.in_transaction
            opened.set()
            release.wait(5)

    def reader() -> None:
        seen["reader_in_transaction"] = driver.in_transaction
        try:
            seen["version"] = tenant.active_model_version()  # committed state: the open transaction is invisible
        except Exception as exc:  # the bug: RuntimeError from after_commit
            seen["error"] = exc

    w = threading.Thread(target=writer)
    w.start()
    assert opened.wait(5)
    r = threading.Thread(target=reader)
    r.start()
    r.join(0.3)  # the reader is now past its in_transaction check, waiting on the lock
    release.set()
    w.join(5)
    r.join(5)
    assert seen["writer_in_transaction"] is True
    assert seen["reader_in_transaction"] is False
    assert "error" not in seen, seen.get("error")
    assert seen["version"] == 0
    store.close()


def _writer_holding(tenant, teacher_id: str):
    """A thread that writes teacher ``teacher_id`` in a transaction and holds it open until
    released: (thread, opened event, release event)."""
    from engine.domain.classes import Teacher

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


def _read_beside_a_write(tenant, teacher_id: str, read) -> tuple[dict, bool]:
    """Run ``read() -> dict`` in a thread while another thread holds a write transaction
    (:func:`_writer_holding`); ``(what it returned, whether it was still waiting after 3 s)``.
    The writer is released and both threads joined before returning."""
    w, release = _writer_holding(tenant, teacher_id)
    got: dict = {}
    r = threading.Thread(target=lambda: got.update(read()))
    r.start()
    r.join(3)
    waited = r.is_alive()
    release.set()
    w.join(5)
    r.join(5)
    return got, waited


def test_a_read_does_not_wait_for_another_threads_write_and_sees_only_committed_rows(store_url):
    """Each thread reads through its own read connection (SQLite file) or a pooled read-only
    one (PostgreSQL): a teacher's page or a playlist does not wait for an ingest holding the
    write connection (before: every read took the driver's lock and waited for the writer's
    commit)."""
    from engine.domain.classes import Teacher

    store = open_store(store_url)
    tenant = store.for_tenant("north")
    tenant.put_teachers([Teacher("T1", "Ms One")])
    got, waited = _read_beside_a_write(tenant, "T2", lambda: {
        "ids": [t.id for t in tenant.list_teachers()], "one": tenant.list_teachers(["T1", "T2"])})
    assert not waited, "the read waited for another thread's open write transaction"
    assert got["ids"] == ["T1"] and [t.id for t in got["one"]] == ["T1"]  # nothing uncommitted
    assert [t.id for t in tenant.list_teachers()] == ["T1", "T2"]  # committed: seen at once
    with tenant.transaction():  # inside its own transaction a thread reads its own writes
        tenant.put_teachers([Teacher("T3", "Mr Three")])
        assert [t.id for t in tenant.list_teachers(["T3"])] == ["T3"]
    store.close()


def test_an_api_key_lookup_does_not_wait_for_another_threads_write(store_url):
    """The service authenticates on its event loop (``Store.find_api_key``, once a second per
    key and worker): it must not wait for an ingest holding the write connection, or every
    request of that worker waits with it (before: the lookup took the driver's lock)."""
    store = open_store(store_url)
    store.put_api_key("h-lms", "north", "lms")
    tenant = store.for_tenant("north")
    got, waited = _read_beside_a_write(tenant, "T9", lambda: {"key": store.find_api_key("h-lms")})
    assert not waited, "the key lookup waited for another thread's open write transaction"
    assert got["key"].tenant_id == "north" and got["key"].role == "lms"
    store.close()


def _closed_connection_error(store_url: str) -> type[BaseException]:
    """What a read connection raises once its store has closed it."""
    if store_url.startswith("sqlite"):
        import sqlite3

        return sqlite3.ProgrammingError
    import psycopg

    return psycopg.OperationalError


def test_a_snapshot_block_reads_one_state_while_another_thread_commits(store_url):
    from engine.domain.classes import Teacher
    from engine.errors import EngineError

    store = open_store(store_url)
    tenant = store.for_tenant("north")
    tenant.put_teachers([Teacher("T1", "Ms One")])
    with tenant._read() as reader:
        before = [t.id for t in tenant.list_teachers()]
        t = threading.Thread(target=lambda: tenant.put_teachers([Teacher("T2", "Mr Two")]))
        t.start()
        t.join(5)
        assert not t.is_alive(), "a snapshot block must not hold writers up"
        assert [t.id for t in tenant.list_teachers()] == before == ["T1"]  # one state
        with pytest.raises(Exception, match="(?i)read-?only"):
            reader.execute("DELETE FROM teachers")  # a read connection never writes
    assert [t.id for t in tenant.list_teachers()] == ["T1", "T2"]  # the connection survived
    store.close()
    with pytest.raises(_closed_connection_error(store_url)):
        reader.execute("SELECT 1")  # closed with the store
    with pytest.raises(EngineError, match="store is closed"):
        tenant.list_teachers()


def test_closing_the_store_waits_for_a_read_in_another_thread(tmp_path):
    """Closing a sqlite3 connection while another thread runs a statement on it crashes the
    process (the full suite hit it: a background fit reading while its test closed the
    store); close() waits for the statement instead."""
    store = open_store(f"sqlite:///{tmp_path / 'pw.db'}")
    tenant = store.for_tenant("north")
    driver = tenant._driver
    inside, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_read() -> None:
        with tenant._read():
            tenant.list_teachers()
            inside.set()
            release.wait(5)
            tenant.list_teachers()
        done.set()

    t = threading.Thread(target=slow_read)
    t.start()
    assert inside.wait(5)
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive(), "close() did not wait for the read in progress"
    release.set()
    t.join(5)
    closer.join(5)
    assert done.is_set() and not closer.is_alive()
    assert len(driver._readers) == 0


def test_a_threads_read_connection_goes_with_the_thread(tmp_path):
    """Pool threads come and go (anyio retires idle ones): a thread's read connection must not
    outlive it, or a long-running server would gather open connections."""
    import gc

    store = open_store(f"sqlite:///{tmp_path / 'pw.db'}")
    tenant = store.for_tenant("north")
    driver = tenant._driver
    for _ in range(5):
        t = threading.Thread(target=tenant.list_teachers)
        t.start()
        t.join(5)
    gc.collect()
    assert len(driver._readers) == 0
    tenant.list_teachers()  # this thread's reader stays while the thread runs
    assert len(driver._readers) == 1
    store.close()
    assert len(driver._readers) == 0
