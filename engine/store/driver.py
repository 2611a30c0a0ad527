"""The small database-driver protocol the SQL store runs on, and shared transaction logic.

A driver owns one DB-API connection in autocommit mode and issues ``BEGIN``/``COMMIT``
itself. SQL text is written once with ``?`` placeholders; a driver translates it for its
database (:meth:`Driver.sql`). Every write and every read inside a transaction takes the
driver's re-entrant lock, so one store may be shared by threads; reads outside the calling
thread's transaction go through :meth:`Driver.reading` (the lock here; the SQLite driver's
per-thread read connections, the PostgreSQL driver's pool of read-only connections). Nested
:meth:`Driver.transaction` blocks join the outermost one, which commits on success and rolls
back everything on any exception.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

STORE_CLOSED = "the store is closed; open it again to read"


def all_rows(connection: Any, text: str, params: Sequence[Any] = ()) -> list[tuple]:
    """All rows of one statement on a DB-API ``connection`` (empty list for a statement
    without any, e.g. a write)."""
    cursor = connection.execute(text, params)
    return [] if cursor.description is None else cursor.fetchall()


@contextmanager
def read_block(reader: Any, snapshot: bool, begin: str, end: str) -> Iterator[Any]:
    """Yield ``reader`` (a read connection with ``connection`` and ``in_snapshot``); a
    ``snapshot`` block not already inside one runs between the ``begin`` and ``end``
    statements, so its reads see one committed state. Blocks nest: an inner one joins."""
    if not snapshot or reader.in_snapshot:
        yield reader
        return
    reader.connection.execute(begin)
    reader.in_snapshot = True
    try:
        yield reader
    finally:
        reader.in_snapshot = False
        reader.connection.execute(end)


class MasteryCache:
    """Write-through cache of committed current mastery: ``(tenant, learner, skill) ->
    (p_mastered, n_observations)`` or ``None`` (known to have no row).

    Used only where the database can tell us that another connection committed since we last
    looked (SQLite's ``PRAGMA data_version``): :meth:`validate` drops everything then. Values
    enter only after our own commit (:meth:`Driver.after_commit`), so a rolled-back
    transaction never leaves state behind; any other mastery write (deletes, retractions)
    (:meth:`invalidate`) bypasses it for the rest of the transaction and clears it.
    """

    def __init__(self, limit: int = 2_000_000) -> None:
        self.values: dict[tuple[str, str, str], tuple[float, int] | None] = {}
        self.limit = limit
        self.version: object = None
        self.bypass = False
        self.validated = False  # validate() ran in the current transaction

    def validate(self, version: object) -> None:
        if version != self.version:
            self.values.clear()
            self.version = version
        self.validated = True

    def invalidate(self) -> None:
        self.values.clear()
        self.bypass = True

    def end_transaction(self) -> None:
        self.validated = False
        if self.bypass:
            self.values.clear()
            self.bypass = False

    def store(self, entries: dict[tuple[str, str, str], tuple[float, int] | None]) -> None:
        if len(self.values) + len(entries) > self.limit:
            self.values.clear()
        self.values.update(entries)


class Driver:
    """Base driver: subclasses set ``dialect`` and implement ``_connect``-time setup."""

    dialect: str = ""
    #: :class:`MasteryCache` when the database can detect other writers, else ``None``.
    mastery_cache: MasteryCache | None = None
    #: Exception classes the database raises on a unique-key violation.
    integrity_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None  # thread id holding the open transaction
        self._after_commit: list[Callable[[], None]] = []
        self._sql_cache: dict[str, str] = {}

    # -- SQL text --------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        """Return ``text`` with ``?`` placeholders translated for this database."""
        return text

    # -- statements ------------------------------------------------------------------------
    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement and return all its rows (empty list for writes)."""
        return all_rows(self.connection, self.sql(text), params)

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of ``rows``."""
        rows = list(rows)
        if rows:
            self.connection.cursor().executemany(self.sql(text), rows)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Plain bulk INSERT of ``rows`` into ``table`` (no conflict handling)."""
        if rows:
            self.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                rows,
            )

    def executescript(self, text: str) -> None:
        """Run a multi-statement script (migrations) inside the current transaction."""
        raise NotImplementedError

    # -- transactions ----------------------------------------------------------------------
    def _begin(self) -> None:
        self.connection.execute("BEGIN")

    def _commit(self) -> None:
        self.connection.execute("COMMIT")

    def _rollback(self) -> None:
        self.connection.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        """True only in the thread that holds the open transaction: another thread's
        transaction is invisible here (it may commit at any moment), so callers that are
        not inside it must not join its cache or its after-commit callbacks."""
        return self._depth > 0 and self._owner == threading.get_ident()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing block; nested blocks join the outermost transaction."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._begin()
            self._depth = 1
            self._owner = threading.get_ident()
            self._after_commit = []
            try:
                yield
            except BaseException:
                self._depth, self._owner = 0, None
                self._end(committed=False)
                raise
            self._depth, self._owner = 0, None
            try:
                self._commit()
            except BaseException:
                self._end(committed=False)
                raise
            self._end(committed=True)

    def _end(self, committed: bool) -> None:
        callbacks, self._after_commit = self._after_commit, []
        if not committed:
            try:
                self._rollback()
            except Exception:  # the connection already rolled back (e.g. failed COMMIT)
                pass
        cache = self.mastery_cache
        if cache is not None:
            cache.end_transaction()
        if committed:
            for callback in callbacks:
                callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current outermost transaction has committed."""
        if not self.in_transaction:
            raise RuntimeError("after_commit needs an open transaction in this thread")
        self._after_commit.append(callback)

    @contextmanager
    def reading(self, *, snapshot: bool = False) -> Iterator[Any]:
        """Something with ``execute(text, params) -> rows`` for reads outside this thread's
        transaction: here the connection itself under the driver's lock (``snapshot``: the
        reads of the block see one state, which the lock gives within this process).
        :class:`~engine.store.sqlite.SQLiteDriver` reads a file database through the thread's
        own read connection instead, :class:`~engine.store.postgres.PostgresDriver` through a
        pooled read-only one, so that reads never wait for another thread's write."""
        with self.lock:
            yield self

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    def data_version(self) -> object:
        """Token that changes when another connection commits (only if caching is used)."""
        return None

    def try_write_turn(self) -> bool:
        """Take, without waiting and outside any transaction, the lock that orders this
        process's writes against other processes' (SQLite's ``<file>.writelock``): True when
        this process now holds it (its next transaction then starts at once), False when
        another process holds it, or another thread of this one is inside a transaction. The
        next transaction's commit or rollback, or :meth:`end_write_turn`, gives it back.
        Databases without such a lock: True."""
        return True

    def end_write_turn(self) -> None:
        """Give back a turn taken by :meth:`try_write_turn` that no transaction used; nothing
        while a transaction is open or where there is no such lock."""

    def lock_for_migration(self) -> None:
        """Serialise concurrent migrators (inside the migration transaction)."""
