"""SQLite driver: one database file (or memory), WAL journal, ``synchronous=NORMAL``.

Writes take the database write lock at ``BEGIN IMMEDIATE`` so two processes never interleave
a read-modify-write ingest; readers are never blocked (WAL).

Reads go through a memory map of the file (:data:`MMAP_BYTES`): cheap re-reads after another
worker's commit has emptied this connection's page cache.

Reads outside a thread's own transaction go through that thread's read-only connection
(:meth:`SQLiteDriver.reading`): a teacher's page or a playlist never waits for another
thread's ingest, which holds the write connection for its whole transaction (and, with
several workers, while it waits for the other process's commit).

Processes sharing a database file (``pathwise serve --workers N``) first take an exclusive
``flock`` on ``<file>.writelock``: a writer waiting there wakes the moment the other one
commits, where SQLite's own busy handler sleeps and retries (1, 2, 5 ... 100 ms), which made
two workers hold fewer requests per second than one (a p99 of 100-160 ms from those sleeps).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl  # POSIX: the cross-process write lock (module docstring)
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone
    fcntl = None

from engine.errors import EngineError
from engine.store.checkpoint import WalCheckpointer
from engine.store.driver import STORE_CLOSED, Driver, MasteryCache, all_rows, read_block

#: Bytes of the database file each connection reads through a memory map instead of read()
#: calls. Workers sharing a file lose their page cache whenever another one commits, and then
#: re-read every page a transaction needs: through the map that costs no system call.
#: Measured (``service_capacity --workers 2``, 500-observation batches, 4 alternating runs):
#: 4,921-8,968 events/s held without (median 5,782), 6,643-12,107 with (median 8,968).
MMAP_BYTES = 1 << 30

#: Page cache of each thread's read connection, KiB (the write connection keeps 64 MiB): the
#: memory map above serves most reads.
READER_CACHE_KIB = 8192


class _Reader:
    """One thread's read-only connection to the database file; ``in_snapshot`` while a
    snapshot block's read transaction is open."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                          timeout=30.0)
        for pragma in ("query_only=ON", "busy_timeout=30000", f"cache_size=-{READER_CACHE_KIB}",
                       f"mmap_size={MMAP_BYTES}", "temp_store=MEMORY"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.in_snapshot = False
        # held while the connection is in use: close() from another thread waits for it
        # (closing a sqlite3 connection during another thread's statement crashes the process)
        self.lock = threading.RLock()
        self.closed = False

    def sql(self, text: str) -> str:
        return text

    def execute(self, text, params=()):
        return all_rows(self.connection, text, params)


class SQLiteDriver(Driver):
    dialect = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)
    #: Reads outside a thread's own transaction use the thread's read connection
    #: (:meth:`reading`); False reads through the write connection under the lock, as before
    #: (``benchmarks.read_latency`` compares the two).
    read_connections = True

    def __init__(self, path: str | None) -> None:
        """``path`` is a file path, or ``None`` for a private in-memory database."""
        if path is not None:
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise EngineError(
                    f"cannot open SQLite database {path!r}: folder {str(parent)!r} does not "
                    "exist; create it first"
                )
        try:
            connection = sqlite3.connect(
                ":memory:" if path is None else path,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0,
            )
        except sqlite3.Error as exc:
            raise EngineError(f"cannot open SQLite database {path!r}: {exc}") from exc
        super().__init__(connection)
        self.path = path
        self.mastery_cache = MasteryCache()
        self.checkpointer: WalCheckpointer | None = None
        self._write_lock: int | None = None  # fd of <file>.writelock (see the module docstring)
        self._local = threading.local()  # .reader: this thread's _Reader
        # weak: a thread's reader (and its connection) goes when the thread ends (pool threads
        # come and go), close() closes the ones still alive
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._closed = False
        if path is not None:
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA cache_size=-65536")
        connection.execute("PRAGMA temp_store=MEMORY")
        if path is not None:
            connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        if path is not None:
            # Checkpoints run in the background, never inside a request's commit
            # (see engine.store.checkpoint).
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self.checkpointer = WalCheckpointer(path)
            if fcntl is not None:
                self._write_lock = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def reading(self, *, snapshot: bool = False) -> Iterator[object]:
        """This thread's read connection (a file database, outside this thread's own
        transaction), else the write connection under the lock (``Driver.reading``). A
        ``snapshot`` block is one read transaction: its reads see one committed state, also
        across processes; blocks nest."""
        if self.path is None or not self.read_connections or self.in_transaction:
            with self.lock:
                yield self
            return
        reader = getattr(self._local, "reader", None)
        if reader is None:
            with self._readers_lock:
                if self._closed:
                    raise EngineError(STORE_CLOSED)
                reader = self._local.reader = _Reader(self.path)
                self._readers.add(reader)
        with reader.lock:
            if reader.closed:
                raise EngineError(STORE_CLOSED)
            with read_block(reader, snapshot, "BEGIN", "COMMIT"):
                yield reader

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        with self._readers_lock:
            self._closed = True
            readers = list(self._readers)
            self._readers.clear()
        for reader in readers:
            with reader.lock:  # waits for a statement another thread is running on it
                reader.closed = True
                reader.connection.close()
        super().close()
        if self._write_lock is not None:
            os.close(self._write_lock)
            self._write_lock = None

    def executemany(self, text, rows):
        self.connection.executemany(text, rows)

    def executescript(self, text: str) -> None:
        # sqlite3's executescript would COMMIT first; run statement by statement instead.
        buffer = ""
        for line in text.splitlines(keepends=True):
            buffer += line
            if sqlite3.complete_statement(buffer):
                statement = buffer.strip()
                buffer = ""
                if statement:
                    self.connection.execute(statement)
        if buffer.strip() and not buffer.strip().startswith("--"):
            raise EngineError(f"incomplete SQL statement at the end of a migration: {buffer!r}")

    def data_version(self) -> object:
        return self.connection.execute("PRAGMA data_version").fetchone()[0]

    def _begin(self) -> None:
        self._lock_writers()
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock_writers()
            raise

    def _commit(self) -> None:
        self.connection.execute("COMMIT")  # on failure the driver rolls back, which unlocks
        self._unlock_writers()

    def _rollback(self) -> None:
        try:
            self.connection.execute("ROLLBACK")
        finally:
            self._unlock_writers()

    def _lock_writers(self, *, wait: bool = True) -> bool:
        """Take the cross-process write lock; ``wait=False``: False when another process
        holds it. True without a lock file (an in-memory database)."""
        fd = self._write_lock
        if fd is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def try_write_turn(self) -> bool:
        # another thread of this process (a pool thread's transaction, which may itself be
        # waiting for another process) holds the driver's lock: not this turn, and never
        # wait for it here (the caller is the event loop)
        if not self.lock.acquire(blocking=False):
            return False
        try:
            return self._lock_writers(wait=False)
        except OSError:  # closed meanwhile: the transaction that follows names the error
            return True
        finally:
            self.lock.release()

    def end_write_turn(self) -> None:
        with self.lock:  # a transaction holds the driver's lock from BEGIN to COMMIT
            if self._depth == 0:
                self._unlock_writers()

    def _unlock_writers(self) -> None:
        if self._write_lock is not None:
            fcntl.flock(self._write_lock, fcntl.LOCK_UN)
