"""The store interface: :class:`Store` (a database) and :class:`TenantStore` (one tenant's data).

Every data method lives on :class:`TenantStore`, obtained by ``store.for_tenant(tenant_id)``;
each query it runs is filtered by that tenant id, so one tenant can never read or change
another's rows. The only cross-tenant lookup is :meth:`Store.find_api_key`, which maps a key
hash to its tenant and role.

Two implementations share this interface and one test suite: SQLite
(:mod:`engine.store.sqlite`, the default) and PostgreSQL (:mod:`engine.store.postgres`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Top-level payload keys of a document that are copied to indexed columns and may be used as
#: equality filters in :meth:`TenantStore.list_documents`.
DOCUMENT_INDEX_KEYS: tuple[str, ...] = ("learner_id", "class_id", "status", "parent_id")


@dataclass(frozen=True, slots=True)
class Document:
    """A JSON document of some ``kind`` (e.g. ``"playlist"``), versioned from 1 upward."""

    kind: str
    doc_id: str
    version: int
    payload: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One append-only audit row; ``seq`` grows with time within a store."""

    seq: int
    tenant_id: str
    at: datetime
    actor: str
    action: str
    resource: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: only its hash is kept, never the key itself."""

    key_hash: str
    tenant_id: str
    role: str
    subject: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A fitted knowledge-tracing model of a tenant, versioned 1, 2, ... per tenant.

    ``model`` is the kt registry name (``"bkt"``, ``"elo"``, ... see ``kt.models.MODEL_NAMES``);
    ``document`` the fitted model's versioned JSON document (``model.to_dict()``, rebuilt with
    ``kt.online.model_from_dict``), ``None`` for versions stored before documents were kept
    (their ``params`` define a plain BKT). ``params`` maps skill id ->
    ``{"p_init", "p_learn", "p_forget", "p_guess", "p_slip"}`` (probabilities in [0, 1]): the
    model's own BKT parameters, or for models that are not BKT the per-skill calibration the
    planner reads ``p_learn`` from. ``meta`` holds free JSON (fit method, data span, metrics...).
    Which version runs is the tenant's *active* version (``TenantStore.active_model_version``).
    """

    version: int
    created_at: datetime
    params: dict[str, dict[str, float]]
    meta: dict[str, Any]
    model: str = "bkt"
    document: dict[str, Any] | None = None
