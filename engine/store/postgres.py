"""PostgreSQL driver (psycopg 3): one write connection in autocommit mode, explicit
transactions, and a small pool of read-only connections.

Statements are written with ``?`` placeholders and translated to psycopg's ``%s``; psycopg
prepares a statement on the server after a few executions, and ``executemany`` pipelines.
Read-modify-write ingest locks the affected mastery rows (``SELECT ... FOR UPDATE``) so
concurrent writers of one learner serialise.

Reads outside the calling thread's own transaction borrow a connection from a pool
(``psycopg_pool``, at most :data:`READ_POOL_SIZE` per store, opened on the first such read):
a teacher's page or a playlist never waits for another thread's ingest, which holds the write
connection for its whole transaction. A snapshot block (:meth:`PostgresDriver.reading` with
``snapshot=True``) is one ``REPEATABLE READ READ ONLY`` transaction: its reads see one
committed state. The pool's connections refuse writes (``default_transaction_read_only``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine.errors import EngineError
from engine.store.driver import STORE_CLOSED, Driver, all_rows, read_block

#: Read connections per store (per server process): reads beyond this many at once wait for
#: one to come back (at most :data:`READ_WAIT_S`), the write connection is extra.
READ_POOL_SIZE = 4
READ_WAIT_S = 30.0
#: A snapshot block's transaction (it only reads, so it ends with ROLLBACK).
_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class _Reader:
    """A borrowed pool connection: ``execute(text, params) -> rows`` with ``?`` placeholders;
    ``in_snapshot`` while a snapshot block's transaction is open on it."""

    dialect = "postgresql"

    def __init__(self, connection: Any, driver: PostgresDriver) -> None:
        self.connection = connection
        self.sql = driver.sql
        self.in_snapshot = False

    def execute(self, text: str, params=()) -> list[tuple]:
        return all_rows(self.connection, self.sql(text), params)


class PostgresDriver(Driver):
    dialect = "postgresql"
    #: Reads outside a thread's own transaction use the read pool (:meth:`reading`); False
    #: reads through the write connection under the lock, as before the eleventh session
    #: (``benchmarks.read_latency --backend postgresql`` compares the two).
    read_connections = True

    def __init__(self, url: str) -> None:
        import psycopg

        try:
            connection = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise EngineError(
                f"cannot connect to PostgreSQL at {_redact(url)}: {exc}; check the URL, that "
                "the server runs and that the database exists"
            ) from exc
        super().__init__(connection)
        self.url = url
        self.integrity_errors = (psycopg.errors.UniqueViolation,)
        # Tables grow from empty within one session; a cached generic plan chosen while they
        # were tiny would keep sequential scans. Plan each execution with its parameters.
        connection.execute("SET plan_cache_mode = force_custom_plan")
        self._pool: Any = None  # psycopg_pool.ConnectionPool, opened by the first pooled read
        self._pool_lock = threading.Lock()
        self._local = threading.local()  # .reader: this thread's borrowed _Reader, in a block
        self._closed = False

    def _read_pool(self) -> Any:
        with self._pool_lock:
            if self._closed:
                raise EngineError(STORE_CLOSED)
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                def configure(connection) -> None:
                    connection.execute("SET default_transaction_read_only = on")
                    connection.execute("SET plan_cache_mode = force_custom_plan")

                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=READ_POOL_SIZE, timeout=READ_WAIT_S,
                    kwargs={"autocommit": True}, configure=configure, name="pathwise-reads",
                    open=True)
            return self._pool

    @contextmanager
    def reading(self, *, snapshot: bool = False) -> Iterator[object]:
        """A pooled read-only connection for reads outside this thread's own transaction
        (else the write connection under the lock, ``Driver.reading``). A ``snapshot`` block
        is one ``REPEATABLE READ READ ONLY`` transaction; blocks nest on one connection."""
        if not self.read_connections or self.in_transaction:
            with self.lock:
                yield self
            return
        current: _Reader | None = getattr(self._local, "reader", None)
        if current is not None:  # an outer block of this thread lent it
            with read_block(current, snapshot, _SNAPSHOT, "ROLLBACK"):
                yield current
            return
        from psycopg_pool import PoolClosed, PoolTimeout

        try:
            with self._read_pool().connection() as connection:
                reader = self._local.reader = _Reader(connection, self)
                try:
                    with read_block(reader, snapshot, _SNAPSHOT, "ROLLBACK"):
                        yield reader
                finally:
                    self._local.reader = None
        except PoolClosed:
            raise EngineError(STORE_CLOSED) from None
        except PoolTimeout:
            raise EngineError(
                f"no PostgreSQL read connection came free within {READ_WAIT_S:g} s (at most "
                f"{READ_POOL_SIZE} per server process); check that the server runs and that its "
                "max_connections leaves room for every worker's connections") from None

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()  # connections still lent out are closed when they come back
        super().close()

    def sql(self, text: str) -> str:
        cached = self._sql_cache.get(text)
        if cached is None:
            cached = self._sql_cache[text] = text.replace("?", "%s")
        return cached

    def insert_many(self, table, columns, rows) -> None:
        """Bulk insert; large batches go through ``COPY ... FROM STDIN`` (binary-safe rows)."""
        if len(rows) < 64:
            super().insert_many(table, columns, rows)
            return
        with self.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def executescript(self, text: str) -> None:
        self.connection.execute(text.encode("utf-8"))

    def lock_for_migration(self) -> None:
        self.connection.execute("SELECT pg_advisory_xact_lock(7245001)")


def _redact(url: str) -> str:
    """Hide a password in a connection URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
