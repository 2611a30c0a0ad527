"""PostgreSQL driver (psycopg 3): one connection in autocommit mode, explicit transactions.

Statements are written with ``?`` placeholders and translated to psycopg's ``%s``; psycopg
prepares a statement on the server after a few executions, and ``executemany`` pipelines.
Read-modify-write ingest locks the affected mastery rows (``SELECT ... FOR UPDATE``) so
concurrent writers of one learner serialise.
"""

from __future__ import annotations

from engine.errors import EngineError
from engine.store.driver import Driver


class PostgresDriver(Driver):
    dialect = "postgresql"

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
