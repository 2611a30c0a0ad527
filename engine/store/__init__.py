"""The engine store: skills, activities, learners, classes, evidence, mastery, models,
documents, audit and API keys, in SQLite (default) or PostgreSQL.

    store = open_store("sqlite:///pathwise.db")     # or "sqlite://" (memory), "postgresql://..."
    school = store.for_tenant("district-7")           # every data method is tenant-scoped

:class:`Store` (database level): ``for_tenant``, ``migrate``, ``schema_version``,
``applied_migrations``, ``put_api_key`` / ``find_api_key`` (the one cross-tenant lookup) /
``revoke_api_key``, ``close``.
:class:`TenantStore` (one tenant): domain entities (``put_/get_/list_`` skills, graph,
activities, learners + ``get_profile``/``put_profile``, classes, teachers; ``missing_ids``,
``count``), evidence (``get_observation``, ``list_observations``, ``count_observations``,
``get_mastery``, ``get_mastery_many``, ``list_history``; ingest primitives used by
:mod:`engine.mastery`), models (``put_model``, ``get_model``, ``latest_model_version``,
``list_models``), documents (``put_document`` with optional ``expected_version``,
``get_document``, ``list_documents`` filtered on ``learner_id``/``class_id``/``status``/
``parent_id``, ``delete_document``), audit (``append_audit``, ``list_audit``), ``list_api_keys``,
privacy (``export_learner``, ``delete_learner``) and ``transaction()``.
"""

from __future__ import annotations

from engine.errors import ValidationError
from engine.store.base import DOCUMENT_INDEX_KEYS, ApiKey, AuditRecord, Document, ModelVersion
from engine.store.sqlstore import Store, TenantStore

__all__ = [
    "DOCUMENT_INDEX_KEYS",
    "ApiKey",
    "AuditRecord",
    "Document",
    "ModelVersion",
    "Store",
    "TenantStore",
    "open_store",
    "shared_url",
]


_MEMORY_PATHS = ("", "/", "/:memory:", ":memory:")
"""What follows ``sqlite://`` in a URL of a private in-memory database."""


def shared_url(url: str) -> bool:
    """Whether another process can open the store at ``url``: an SQLite file or a PostgreSQL
    server, not a private in-memory SQLite database (nor an unsupported URL)."""
    if url.startswith("sqlite://"):
        return url[len("sqlite://"):] not in _MEMORY_PATHS
    return url.startswith(("postgresql://", "postgres://"))


def open_store(url: str = "sqlite://", migrate: bool = True) -> Store:
    """Open (and by default migrate to the newest schema) the store at ``url``.

    ``sqlite:///relative/or/absolute.db`` (``sqlite:////abs/path.db`` also accepted),
    ``sqlite://`` or ``sqlite:///:memory:`` for a private in-memory database,
    ``postgresql://user:pass@host:port/db`` (or ``postgres://``) for PostgreSQL via psycopg 3.
    """
    if not isinstance(url, str):
        raise ValidationError(f"store URL must be a string, got {url!r}")
    if url.startswith("sqlite://"):
        from engine.store.sqlite import SQLiteDriver

        path = url[len("sqlite://") :]
        if path in _MEMORY_PATHS:
            driver = SQLiteDriver(None)
        else:
            driver = SQLiteDriver(path[1:] if path.startswith("/") else path)
    elif url.startswith(("postgresql://", "postgres://")):
        from engine.store.postgres import PostgresDriver

        driver = PostgresDriver(url)
    else:
        raise ValidationError(
            f"store URL {url!r} is not supported; use sqlite:///path.db, sqlite:// (memory) "
            "or postgresql://user@host:port/db"
        )
    store = Store(driver, url)
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
