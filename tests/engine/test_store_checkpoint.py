"""The SQLite store checkpoints its WAL in the background, never inside a writer's commit."""

from __future__ import annotations

import sqlite3
import time

import pytest

from engine.store import open_store
from engine.store.checkpoint import WalCheckpointer


def _wal_writer(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    return conn


def _write(conn, rows, start=0):
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO t VALUES (?, ?)", [(start + i, b"x" * 2000) for i in range(rows)]
    )
    conn.execute("COMMIT")


def test_background_thread_copies_committed_frames(tmp_path):
    path = str(tmp_path / "w.db")
    conn = _wal_writer(path)
    _write(conn, 500)
    ckpt = WalCheckpointer(path, interval_s=0.05)
    try:
        deadline = time.monotonic() + 10
        while ckpt.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ckpt.checkpoints >= 1, "the background thread never checkpointed"
        busy, frames, copied = ckpt.checkpoint()
        assert busy == 0 and frames > 0 and copied == frames
    finally:
        ckpt.close()
    assert not ckpt.running
    conn.close()


def test_restarts_the_wal_when_it_passes_its_bound(tmp_path):
    path = str(tmp_path / "w.db")
    conn = _wal_writer(path)
    ckpt = WalCheckpointer(path, interval_s=3600, restart_frames=50)  # manual ticks only
    wal = tmp_path / "w.db-wal"
    try:
        _write(conn, 500)
        busy, frames, copied = ckpt.checkpoint()
        assert ckpt.restarts == 1 and busy == 0 and frames > 50 and copied == frames
        size = wal.stat().st_size
        _write(conn, 10, start=1000)  # small, and written from the WAL's beginning again
        assert wal.stat().st_size == size
        busy, frames, _ = ckpt.checkpoint()
        assert ckpt.restarts == 1 and frames < 50  # the log holds the new write only
    finally:
        ckpt.close()
        conn.close()


def test_file_store_turns_automatic_checkpoints_off_and_stops_cleanly(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    driver = store._driver
    assert driver.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert driver.checkpointer is not None and driver.checkpointer.running
    store.close()
    assert not driver.checkpointer.running


def test_memory_store_has_no_checkpointer():
    store = open_store("sqlite://")
    assert store._driver.checkpointer is None
    store.close()


@pytest.mark.parametrize("kwargs", [{"interval_s": 0}, {"restart_frames": 0}])
def test_bad_settings_name_the_value(tmp_path, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        WalCheckpointer(str(tmp_path / "x.db"), **kwargs)


def test_bad_mode_is_refused(tmp_path):
    ckpt = WalCheckpointer(str(tmp_path / "x.db"), interval_s=3600)
    try:
        with pytest.raises(ValueError, match="FULL"):
            ckpt.checkpoint("FULL")
    finally:
        ckpt.close()


def test_file_store_writers_hold_the_cross_process_write_lock(tmp_path):
    """A write transaction holds ``<file>.writelock`` (flock) from BEGIN to COMMIT or ROLLBACK:
    another process's writer waits there and wakes at the commit, instead of SQLite's
    sleeping busy handler."""
    import fcntl
    import os

    path = tmp_path / "s.db"
    store = open_store(f"sqlite:///{path}")
    other = os.open(f"{path}.writelock", os.O_RDWR)

    def held() -> bool:
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(other, fcntl.LOCK_UN)
        return False

    try:
        assert not held()
        with store._driver.transaction():
            assert held()
        assert not held()
        with pytest.raises(RuntimeError), store._driver.transaction():
            assert held()
            raise RuntimeError("roll back")
        assert not held()
    finally:
        os.close(other)
        store.close()


def test_file_store_reads_through_a_memory_map(tmp_path):
    """Workers sharing a file re-read pages after each other's commits: through the map
    (engine.store.sqlite.MMAP_BYTES), not read() calls."""
    from engine.store.sqlite import MMAP_BYTES

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        assert store._driver.connection.execute("PRAGMA mmap_size").fetchone()[0] == MMAP_BYTES
    finally:
        store.close()
