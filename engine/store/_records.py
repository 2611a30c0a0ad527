"""Tenant store part: generic JSON documents, the append-only audit log and the tenant API keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.domain.evidence import (
    parse_timestamp,
)
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.store._sql import (
    TenantBase,
    _api_key,
    _document,
    _dumps,
    _now,
)
from engine.store.base import DOCUMENT_INDEX_KEYS, ApiKey, AuditRecord, Document


class RecordsPart(TenantBase):
    """Tenant store part: generic JSON documents, the append-only audit log and the tenant API keys."""

    def put_document(
        self,
        kind: str,
        doc_id: str,
        payload: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Document:
        """Create or replace a JSON document; returns it with its new version.

        ``expected_version``: ``None`` = write whatever is stored; ``0`` = the document must
        not exist yet; ``n`` = the stored version must be ``n`` (optimistic concurrency).
        A mismatch raises :class:`ConflictError`. Top-level keys in
        :data:`~engine.store.base.DOCUMENT_INDEX_KEYS` (string or null) are indexed.
        """
        index = _document_index(kind, doc_id, payload)
        body = _dumps(dict(payload))
        now = _now()
        with self._driver.transaction():
            rows = self._driver.execute(
                "SELECT version, created_at FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                (self.tenant_id, kind, doc_id),
            )
            current = int(rows[0][0]) if rows else 0
            if expected_version is not None and expected_version != current:
                raise ConflictError(
                    f"{kind} {doc_id!r} is at version {current}, not {expected_version}; "
                    "reload it and apply your change again"
                )
            version = current + 1
            created = rows[0][1] if rows else now
            if rows:
                self._driver.execute(
                    "UPDATE documents SET version = ?, payload = ?, learner_id = ?, class_id = ?, "
                    "status = ?, parent_id = ?, updated_at = ? "
                    "WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                    (version, body, *index, now, self.tenant_id, kind, doc_id),
                )
            else:
                self._insert_document(kind, doc_id, version, body, index, now)
        return Document(kind, doc_id, version, json.loads(body), parse_timestamp(created), parse_timestamp(now))

    def _insert_document(self, kind: str, doc_id: str, version: int, body: str,
                         index: list[str | None], now: str) -> None:
        try:
            self._driver.execute(
                "INSERT INTO documents (tenant_id, kind, doc_id, version, payload, "
                "learner_id, class_id, status, parent_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.tenant_id, kind, doc_id, version, body, *index, now, now),
            )
        except self._driver.integrity_errors:
            raise ConflictError(
                f"{kind} {doc_id!r} was created concurrently; reload it and retry"
            ) from None

    def get_document(self, kind: str, doc_id: str) -> Document:
        """The document; :class:`NotFoundError` naming it when absent."""
        rows = self._q(
            "SELECT kind, doc_id, version, payload, created_at, updated_at FROM documents "
            "WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
            (self.tenant_id, kind, doc_id),
        )
        if not rows:
            raise NotFoundError(f"{kind} {doc_id!r} is not in tenant {self.tenant_id!r}")
        return _document(rows[0])

    def list_documents(
        self,
        kind: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
        **filters: str | None,
    ) -> list[Document]:
        """Documents of ``kind``, filtered by equality on indexed keys
        (``learner_id``, ``class_id``, ``status``, ``parent_id``; ``None`` matches null),
        ordered by creation time (then id).
        """
        sql = (
            "SELECT kind, doc_id, version, payload, created_at, updated_at FROM documents "
            "WHERE tenant_id = ? AND kind = ?"
        )
        params: list[Any] = [self.tenant_id, kind]
        for key, value in filters.items():
            if key not in DOCUMENT_INDEX_KEYS:
                raise ValidationError(
                    f"cannot filter documents on {key!r}; filter on one of {list(DOCUMENT_INDEX_KEYS)}"
                )
            if value is None:
                sql += f" AND {key} IS NULL"
            else:
                sql += f" AND {key} = ?"
                params.append(value)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY created_at {order}, doc_id {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        elif offset:
            sql += " LIMIT -1 OFFSET ?" if self.dialect == "sqlite" else " OFFSET ?"
            params.append(int(offset))
        return [_document(r) for r in self._q(sql, params)]

    def delete_document(self, kind: str, doc_id: str) -> None:
        """Delete a document; :class:`NotFoundError` when absent."""
        with self._driver.transaction():
            self.get_document(kind, doc_id)
            self._driver.execute(
                "DELETE FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                (self.tenant_id, kind, doc_id),
            )

    def append_audit(
        self, actor: str, action: str, resource: str, detail: Mapping[str, Any] | None = None
    ) -> AuditRecord:
        """Append one audit row. Keep learner data out of ``detail`` (ids and counts only)."""
        for name, value in (("actor", actor), ("action", action), ("resource", resource)):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"audit {name} must be a non-empty string, got {value!r}")
        body = _dumps(dict(detail or {}))
        now = _now()
        with self._driver.transaction():
            seq = self._driver.execute(
                "INSERT INTO audit_log (tenant_id, at, actor, action, resource, detail) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (self.tenant_id, now, actor, action, resource, body),
            )[0][0]
        return AuditRecord(int(seq), self.tenant_id, parse_timestamp(now), actor, action, resource, json.loads(body))

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        resource_prefix: str | None = None,
        after_seq: int | None = None,
        limit: int | None = 1000,
    ) -> list[AuditRecord]:
        """Audit rows of this tenant, oldest first, filtered by equality (or resource prefix)."""
        sql = (
            "SELECT id, tenant_id, at, actor, action, resource, detail FROM audit_log "
            "WHERE tenant_id = ?"
        )
        params: list[Any] = [self.tenant_id]
        for column, value in (("actor", actor), ("action", action), ("resource", resource)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if resource_prefix is not None:
            sql += " AND substr(resource, 1, ?) = ?"
            params += [len(resource_prefix), resource_prefix]
        if after_seq is not None:
            sql += " AND id > ?"
            params.append(int(after_seq))
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [
            AuditRecord(int(r[0]), r[1], parse_timestamp(r[2]), r[3], r[4], r[5], json.loads(r[6]))
            for r in self._q(sql, params)
        ]

    def list_api_keys(self) -> list[ApiKey]:
        """Every key (live and revoked) of this tenant, oldest first."""
        return [
            _api_key(r)
            for r in self._q(
                "SELECT key_hash, tenant_id, role, subject, label, created_at, revoked_at "
                "FROM api_keys WHERE tenant_id = ? ORDER BY created_at, key_hash",
                (self.tenant_id,),
            )
        ]


def _document_index(kind: str, doc_id: str, payload: Any) -> list[str | None]:
    """Checked ``kind``/``doc_id``/``payload`` of a document; its indexed column values
    (:data:`~engine.store.base.DOCUMENT_INDEX_KEYS`, each a string or null)."""
    for name, value in (("kind", kind), ("doc_id", doc_id)):
        if not isinstance(value, str) or not value:
            raise ValidationError(f"document {name} must be a non-empty string, got {value!r}")
    if not isinstance(payload, Mapping):
        raise ValidationError(f"document payload must be a JSON object, got {type(payload).__name__}")
    index: list[str | None] = []
    for key in DOCUMENT_INDEX_KEYS:
        value = payload.get(key)
        if value is not None and not isinstance(value, str):
            raise ValidationError(
                f"document field {key!r} is indexed and must be a string or null, got {value!r}"
            )
        index.append(value)
    return index
