"""A transaction open in one thread is invisible to every other thread.

Found by schemathesis in CI: a read in one request thread saw another thread's open
transaction (``in_transaction`` was a shared counter), joined its write-through cache, and
raised "after_commit needs an open transaction" once the other thread had committed.
"""

from __future__ import annotations

import threading

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
            seen["version"] = tenant.active_model_version()  # blocks until the writer commits
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
