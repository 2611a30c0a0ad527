"""The SQL store shared by the SQLite and PostgreSQL drivers.

:class:`Store` is a database; :class:`TenantStore` is one tenant's view of it and the only
place data methods live. Every statement a :class:`TenantStore` runs carries
``WHERE tenant_id = ?`` (or inserts its own tenant id), so no call can read or change another
tenant's rows.

Domain objects (skills, activities, learners with their profiles, classes, the competency
graph) are stored as JSON made by ``engine.domain.serialize.to_record`` next to indexed id
columns, and rebuilt with ``from_record``. Timestamps are stored as fixed-width UTC text
(``YYYY-MM-DDTHH:MM:SS.ffffffZ``), which sorts in time order on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.domain.evidence import (
    parse_timestamp,
)
from engine.errors import ConflictError, EngineError, NotFoundError, ValidationError
from engine.store._entities import EntitiesPart
from engine.store._evidence import EvidencePart
from engine.store._privacy import PrivacyPart
from engine.store._records import RecordsPart
from engine.store._sql import _TENANT_RE, _api_key, _now
from engine.store._xapi import XapiPart
from engine.store.base import ApiKey
from engine.store.driver import Driver
from engine.store.migrate import discover


class Store:
    """One database holding any number of tenants. Open it with :func:`engine.store.open_store`.

    Thread-safe (one connection behind a re-entrant lock). Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, driver: Driver, url: str = "") -> None:
        self._driver = driver
        self.url = url

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._driver.dialect

    @property
    def one_writer(self) -> bool:
        """True when the whole database has one write lock (SQLite): writes of different
        requests never run at once, so running several in one transaction (group commit,
        :mod:`engine.app._together`) costs no concurrency. False on PostgreSQL, whose row
        locks let writers of different learners run at once (and whose lock order a group
        could turn into deadlocks)."""
        return self._driver.dialect == "sqlite"

    @property
    def file_path(self) -> str | None:
        """The SQLite database file's path; ``None`` in memory or on PostgreSQL."""
        return self._driver.path if self._driver.dialect == "sqlite" else None

    def try_write_turn(self) -> bool:
        """:meth:`Driver.try_write_turn`: False when another process is writing now; True when
        this process's next transaction will start without waiting for one."""
        return self._driver.try_write_turn()

    def end_write_turn(self) -> None:
        """:meth:`Driver.end_write_turn`: give back a turn no transaction used."""
        self._driver.end_write_turn()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One all-or-nothing block over every tenant; the tenants' own transactions inside
        it join it (:meth:`Driver.transaction`)."""
        with self._driver.transaction():
            yield self

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self, package: str = "engine.store.migrations") -> int:
        """Apply every pending migration of ``package`` (each in its own transaction, with its
        ``schema_version`` row); return the schema version. A failing migration raises
        :class:`EngineError` naming it and leaves the schema at the previous version."""
        driver = self._driver
        with driver.transaction():
            driver.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        for migration in discover(driver.dialect, package):
            with driver.transaction():
                driver.lock_for_migration()
                done = driver.execute(
                    "SELECT 1 FROM schema_version WHERE version = ?", (migration.version,)
                )
                if done:
                    continue
                try:
                    driver.executescript(migration.sql)
                except Exception as exc:
                    raise EngineError(
                        f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                    ) from exc
                driver.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, _now()),
                )
        return self.schema_version()

    def schema_version(self) -> int:
        """Highest applied migration version (0 for an empty database)."""
        with self._driver.lock:
            rows = self._driver.execute("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def applied_migrations(self) -> list[tuple[int, str]]:
        """``(version, name)`` of every applied migration, oldest first."""
        with self._driver.lock:
            rows = self._driver.execute("SELECT version, name FROM schema_version ORDER BY version")
        return [(int(v), n) for v, n in rows]

    # -- tenants -----------------------------------------------------------------------------
    def for_tenant(self, tenant_id: str) -> TenantStore:
        """The data of one tenant (district/school). ``tenant_id``: 1-128 chars ``[A-Za-z0-9_.:-]``."""
        if not isinstance(tenant_id, str) or not _TENANT_RE.match(tenant_id):
            raise ValidationError(
                f"tenant id {tenant_id!r} is invalid; use 1-128 letters, digits, '_', '.', ':' "
                "or '-', starting with a letter or digit"
            )
        return TenantStore(self._driver, tenant_id, self.url)

    # -- API keys (the one cross-tenant lookup) ----------------------------------------------
    def put_api_key(
        self,
        key_hash: str,
        tenant_id: str,
        role: str,
        subject: str | None = None,
        label: str | None = None,
    ) -> ApiKey:
        """Store a new API key by its hash. ``subject`` is e.g. the teacher id of a teacher key.

        Raises :class:`ConflictError` when the hash is already stored.
        """
        for name, value in (("key_hash", key_hash), ("role", role)):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"{name} must be a non-empty string, got {value!r}")
        self.for_tenant(tenant_id)  # validates the tenant id
        driver = self._driver
        with driver.transaction():
            if driver.execute("SELECT 1 FROM api_keys WHERE key_hash = ?", (key_hash,)):
                raise ConflictError(
                    "an API key with this hash is already stored; generate a new key"
                )
            created = _now()
            try:
                driver.execute(
                    "INSERT INTO api_keys (key_hash, tenant_id, role, subject, label, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (key_hash, tenant_id, role, subject, label, created),
                )
            except driver.integrity_errors:
                raise ConflictError(
                    "an API key with this hash is already stored; generate a new key"
                ) from None
        return ApiKey(key_hash, tenant_id, role, subject, label, parse_timestamp(created), None)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The live (not revoked) key with this hash, or ``None``. Crosses tenants by design.
        Read through ``Driver.reading``: the service authenticates on its event loop, which must
        never wait for another thread's write transaction."""
        with self._driver.reading() as reader:
            rows = reader.execute(
                "SELECT key_hash, tenant_id, role, subject, label, created_at, revoked_at "
                "FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                (key_hash,),
            )
        return _api_key(rows[0]) if rows else None

    def delete_api_keys_of(self, tenant_id: str, role: str, subject: str) -> int:
        """Delete every key (live or revoked) of ``role`` naming ``subject`` in the tenant (a
        learner's erasure: the row would keep their id); returns how many."""
        with self._driver.transaction():
            n = int(self._driver.execute(
                "SELECT COUNT(*) FROM api_keys WHERE tenant_id = ? AND role = ? AND subject = ?",
                (tenant_id, role, subject))[0][0])
            if n:
                self._driver.execute(
                    "DELETE FROM api_keys WHERE tenant_id = ? AND role = ? AND subject = ?",
                    (tenant_id, role, subject))
        return n

    def revoke_api_key(self, key_hash: str) -> None:
        """Mark a key revoked; :meth:`find_api_key` no longer returns it."""
        with self._driver.transaction():
            rows = self._driver.execute(
                "SELECT 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
            )
            if not rows:
                raise NotFoundError("no live API key has this hash; nothing to revoke")
            self._driver.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ?", (_now(), key_hash)
            )


class TenantStore(XapiPart, EntitiesPart, EvidencePart, RecordsPart, PrivacyPart):
    """Every data method of the store, scoped to one tenant.

    Single calls are atomic. Wrap several calls in ``with tenant_store.transaction():`` to
    make them one all-or-nothing unit.
    Implemented in parts: :class:`~engine.store._entities.EntitiesPart` (skills, graph,
    activities, learners, classes, teachers), :class:`~engine.store._evidence.EvidencePart`
    (observations, mastery, history, models), :class:`~engine.store._xapi.XapiPart` (the xAPI
    statement index and LRS-sync cursors), :class:`~engine.store._records.RecordsPart`
    (documents, audit, API keys) and :class:`~engine.store._privacy.PrivacyPart`
    (export, delete).
    """

