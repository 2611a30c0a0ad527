"""Tenant store part: per-learner export and deletion, and the whole tenant's."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterable
from typing import Any

from engine.errors import NotFoundError, ValidationError
from engine.store._sql import (
    TenantBase,
    _document,
    _now,
)


class PrivacyPart(TenantBase):
    """Tenant store part: per-learner export and deletion."""

    def export_learner(self, learner_id: str) -> dict[str, Any]:
        """Everything stored about one learner, as JSON-ready dicts.

        Keys: ``tenant_id``, ``learner_id``, ``exported_at``, ``learner`` (record with profile),
        ``classes`` (ids), ``observations``, ``mastery``, ``history``, ``documents``
        (``kind``, ``doc_id``, ``version``, ``payload``). :class:`NotFoundError` when the tenant
        holds nothing about this learner.
        """
        from engine.domain.serialize import to_record

        with self._read():
            try:
                learner = to_record(self.get_learner(learner_id))
            except NotFoundError:
                learner = None
            observations = [o.to_record() for o in self.list_observations(learner_id)]
            mastery = [m.to_record() for m in self.get_mastery(learner_id).values()]
            history = [c.to_record() for c in self.list_history(learner_id)]
            docs = [
                _document(r)
                for r in self._q(
                    "SELECT kind, doc_id, version, payload, created_at, updated_at FROM documents "
                    "WHERE tenant_id = ? AND learner_id = ? ORDER BY kind, doc_id",
                    (self.tenant_id, learner_id),
                )
            ]
            classes = [
                r[0]
                for r in self._q(
                    "SELECT class_id FROM class_members WHERE tenant_id = ? AND member_role = "
                    "'learner' AND member_id = ? ORDER BY class_id",
                    (self.tenant_id, learner_id),
                )
            ]
        if learner is None and not (observations or mastery or history or docs or classes):
            raise NotFoundError(
                f"learner {learner_id!r} is not in tenant {self.tenant_id!r}; nothing to export"
            )
        return {
            "tenant_id": self.tenant_id,
            "learner_id": learner_id,
            "exported_at": _now(),
            "learner": learner,
            "classes": classes,
            "observations": observations,
            "mastery": mastery,
            "history": history,
            "documents": [
                {"kind": d.kind, "doc_id": d.doc_id, "version": d.version, "payload": d.payload}
                for d in docs
            ],
        }

    def delete_learner(self, learner_id: str, actor: str = "system", *,
                       alias: str | None = None) -> dict[str, int]:
        """Erase one learner: record and profile, observations, mastery, history, documents with
        that ``learner_id``, their place on class rosters and their guardians' links. One
        transaction.

        ``alias``: what replaces the learner id in the audit log (the caller's keyed hash of the
        id, ``p_<hex>``; a random ``p_<hex>`` when not given): earlier rows about the learner (resource ``<name>:<id>``) are rewritten to
        ``<name>:<alias>``, and one row (``action="learner.delete"``, resource
        ``learner:<alias>``) holding only the counts erased is appended. Returns those counts.
        :class:`NotFoundError` when nothing is stored about the learner.
        """
        driver = self._driver
        tenant = self.tenant_id
        alias = alias or "p_" + secrets.token_hex(8)
        if not alias.startswith("p_"):
            raise ValidationError(f"audit alias must look like 'p_<hex>', got {alias!r}")
        counts: dict[str, int] = {}
        with driver.transaction():
            for table in ("observations", "mastery", "mastery_history", "documents", "learners"):
                counts[table] = int(
                    driver.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE tenant_id = ? AND learner_id = ?",
                        (tenant, learner_id),
                    )[0][0]
                )
            class_ids = [
                r[0]
                for r in driver.execute(
                    "SELECT class_id FROM class_members WHERE tenant_id = ? AND member_role = "
                    "'learner' AND member_id = ?",
                    (tenant, learner_id),
                )
            ]
            counts["class_memberships"] = len(class_ids)
            if not any(counts.values()):
                raise NotFoundError(
                    f"learner {learner_id!r} is not in tenant {tenant!r}; nothing to delete"
                )
            self._invalidate_mastery_cache()
            for table in ("observations", "mastery", "mastery_history", "documents", "learners"):
                driver.execute(
                    f"DELETE FROM {table} WHERE tenant_id = ? AND learner_id = ?", (tenant, learner_id)
                )
            self.delete_learner_states([learner_id])  # the model state folded from that evidence
            if class_ids:
                classes = self._list_entities("class", class_ids)
                updated = [
                    dataclasses.replace(k, roster=tuple(m for m in k.roster if m != learner_id))
                    for k in classes
                ]
                self._put_entities("class", updated)
            linked = self._unlink_guardians(learner_id)
            if linked:
                counts["guardian_links"] = linked
            counts["audit_rows_pseudonymized"] = self._pseudonymize_audit(learner_id, alias)
            self.append_audit(actor, "learner.delete", f"learner:{alias}", counts)
        return counts

    def _unlink_guardians(self, learner_id: str) -> int:
        """Drop ``learner_id`` from every guardian's links; returns how many guardians changed."""
        linked = [g for g in self._list_entities("guardian") if learner_id in g.learner_ids]
        self._put_entities("guardian", [
            dataclasses.replace(g, learner_ids=tuple(i for i in g.learner_ids if i != learner_id))
            for g in linked])
        return len(linked)

    def _pseudonymize_audit(self, learner_id: str, alias: str) -> int:
        """Rewrite audit resources ``<name>:<learner_id>`` to ``<name>:<alias>``; returns rows."""
        pattern = "%:" + learner_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._driver.execute(
            "SELECT id, resource FROM audit_log WHERE tenant_id = ? AND resource LIKE ? ESCAPE '\\'",
            (self.tenant_id, pattern),
        )
        suffix = ":" + learner_id
        hits = [(int(r[0]), r[1]) for r in rows if r[1].endswith(suffix)]
        for seq, resource in hits:
            self._driver.execute("UPDATE audit_log SET resource = ? WHERE id = ?",
                                 (resource[: -len(suffix)] + ":" + alias, seq))
        return len(hits)

    # -- the whole tenant ------------------------------------------------------------------------
    def tenant_tables(self) -> list[str]:
        """Every table with a ``tenant_id`` column (found in the schema, so tables added by
        later migrations are included), sorted."""
        if self.dialect == "sqlite":
            names = [r[0] for r in self._q("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return sorted(n for n in names
                          if any(c[1] == "tenant_id" for c in self._q(f'PRAGMA table_info("{n}")')))
        return sorted({r[0] for r in self._q(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' "
            "AND table_schema = current_schema()")} - {"tenant_deletions"})

    def export_tenant(self, *, secret_kinds: Iterable[str] = ()) -> dict[str, Any]:
        """Every row of this tenant in every table: ``{tenant_id, exported_at, tables: {name:
        [row dicts]}}``. JSON text columns are parsed; ``api_keys.key_hash`` is cut to the
        key id; documents of ``secret_kinds`` are left out and ``password`` fields inside
        documents are dropped (secrets never leave the store)."""
        out: dict[str, Any] = {"tenant_id": self.tenant_id, "exported_at": _now(), "tables": {}}
        secret = set(secret_kinds)
        with self._read() as driver:
            for table in self.tenant_tables():
                if table == "tenant_deletions":
                    continue
                cur = driver.execute(f"SELECT * FROM {table} WHERE tenant_id = ?", (self.tenant_id,))
                cols = self._columns(table)
                rows = [dict(zip(cols, r, strict=False)) for r in cur]
                out["tables"][table] = [_exportable(table, r) for r in rows
                                        if not (table == "documents" and r.get("kind") in secret)]
        return out

    def _columns(self, table: str) -> list[str]:
        if self.dialect == "sqlite":
            return [c[1] for c in self._q(f'PRAGMA table_info("{table}")')]
        return [r[0] for r in self._q(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position", (table,))]

    def delete_tenant(self) -> dict[str, int]:
        """Delete every row of this tenant in every table, audit log included (through the
        ``tenant_deletions`` marker of migration 0041, removed again before commit). One
        transaction; returns rows deleted per table."""
        counts: dict[str, int] = {}
        driver = self._driver
        with driver.transaction():
            self._invalidate_mastery_cache()
            driver.execute("INSERT INTO tenant_deletions (tenant_id, at) VALUES (?, ?)",
                           (self.tenant_id, _now()))
            for table in self.tenant_tables():
                if table == "tenant_deletions":
                    continue
                n = int(driver.execute(f"SELECT COUNT(*) FROM {table} WHERE tenant_id = ?",
                                       (self.tenant_id,))[0][0])
                if n:
                    driver.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (self.tenant_id,))
                    counts[table] = n
            driver.execute("DELETE FROM tenant_deletions WHERE tenant_id = ?", (self.tenant_id,))
        return counts


_JSON_COLUMNS = ("record", "payload", "params", "meta", "detail", "skill_ids", "document", "statement")


def _exportable(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k in _JSON_COLUMNS and isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                pass
        out[k] = v
    if table == "api_keys":
        out["key_id"] = "key_" + str(out.pop("key_hash", ""))[:12]
    if table == "documents" and isinstance(out.get("payload"), dict):
        out["payload"] = {k: v for k, v in out["payload"].items() if k not in ("password", "key_hash")}
    return out
