"""The small database-driver protocol the SQL store runs on, and shared transaction logic.

A driver owns one DB-API connection in autocommit mode and issues ``BEGIN``/``COMMIT``
itself. SQL text is written once with ``?`` placeholders; a driver translates it for its
database (:meth:`Driver.sql`). Every public store call takes the driver's re-entrant lock, so
one store may be shared by threads; nested :meth:`Driver.transaction` blocks join the
outermost one, which commits on success and rolls back everything on any exception.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any


class Driver:
    """Base driver: subclasses set ``dialect`` and implement ``_connect``-time setup."""

    dialect: str = ""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.RLock()
        self._depth = 0
        self._sql_cache: dict[str, str] = {}

    # -- SQL text --------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        """Return ``text`` with ``?`` placeholders translated for this database."""
        return text

    # -- statements ------------------------------------------------------------------------
    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement and return all its rows (empty list for writes)."""
        cursor = self.connection.execute(self.sql(text), params)
        if cursor.description is None:
            return []
        return cursor.fetchall()

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
        return self._depth > 0

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
            try:
                yield
            except BaseException:
                self._depth = 0
                self._rollback()
                raise
            self._depth = 0
            self._commit()

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    def lock_for_migration(self) -> None:
        """Serialise concurrent migrators (inside the migration transaction)."""
