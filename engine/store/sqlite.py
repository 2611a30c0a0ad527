"""SQLite driver: one database file (or memory), WAL journal, ``synchronous=NORMAL``.

Writes take the database write lock at ``BEGIN IMMEDIATE`` so two processes never interleave
a read-modify-write ingest; readers are never blocked (WAL).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.errors import EngineError
from engine.store.checkpoint import WalCheckpointer
from engine.store.driver import Driver, MasteryCache


class SQLiteDriver(Driver):
    dialect = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)

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
        if path is not None:
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA cache_size=-65536")
        connection.execute("PRAGMA temp_store=MEMORY")
        if path is not None:
            # Checkpoints run in the background, never inside a request's commit
            # (see engine.store.checkpoint).
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self.checkpointer = WalCheckpointer(path)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        super().close()

    def execute(self, text, params=()):
        cursor = self.connection.execute(text, params)
        if cursor.description is None:
            return []
        return cursor.fetchall()

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
        self.connection.execute("BEGIN IMMEDIATE")
