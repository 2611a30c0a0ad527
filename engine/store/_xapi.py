"""Tenant store part: the xAPI statement resource's index and LRS-sync cursors
(migrations 0020, 0021).

Statements themselves are documents of kind ``xapi_statement`` (written by
``engine.app._evidence``); every write of one also writes its index row (arrival ``seq``,
``stored``, verb, registration, voided) and the agents/activities it names
(:func:`engine.xapi.query.statement_refs`), in the same transaction. Queries join the index
with the documents, so an erased learner's statements disappear with their documents.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import Any

from engine.store._sql import TenantBase, _now
from engine.store.base import Document

STATEMENT_KIND = "xapi_statement"
_BACKFILLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # driver -> tenants indexed
VOIDED_KIND = "xapi_voided"  # a voided statement id that had not arrived yet (engine.app._evidence)


class XapiPart(TenantBase):
    """Tenant store part: the statement index, statement queries and sync cursors."""

    def put_document(self, kind: str, doc_id: str, payload: Mapping[str, Any],
                     expected_version: int | None = None) -> Document:
        with self._driver.transaction():
            doc = super().put_document(kind, doc_id, payload, expected_version)  # type: ignore[misc]
            if kind == STATEMENT_KIND:
                self._index_statement(doc_id, payload)
        return doc

    def _index_statement(self, statement_id: str, payload: Mapping[str, Any]) -> None:
        from engine.xapi.query import statement_refs

        statement = payload.get("statement") or {}
        voided = 1 if payload.get("voided") else 0
        rows = self._driver.execute(
            "SELECT seq FROM xapi_statements WHERE tenant_id = ? AND statement_id = ?",
            (self.tenant_id, statement_id))
        if rows:  # a statement never changes; only its voided flag does
            self._driver.execute("UPDATE xapi_statements SET voided = ? WHERE seq = ?", (voided, rows[0][0]))
            return
        if not voided and self._driver.execute(  # voided before it arrived (a voiding statement came first)
                "SELECT 1 FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                (self.tenant_id, VOIDED_KIND, statement_id)):
            voided = 1
        registration = (statement.get("context") or {}).get("registration")
        obj = statement.get("object") or {}
        target = str(obj.get("id", "")).lower() if obj.get("objectType") == "StatementRef" else None
        self._driver.execute(
            "INSERT INTO xapi_statements (tenant_id, statement_id, stored, verb, registration, voided, target) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.tenant_id, statement_id, statement.get("stored") or _now(),
             (statement.get("verb") or {}).get("id", ""), registration.lower() if registration else None, voided,
             target or None))
        seq = self._driver.execute(
            "SELECT seq FROM xapi_statements WHERE tenant_id = ? AND statement_id = ?",
            (self.tenant_id, statement_id))[0][0]
        refs = sorted(statement_refs(statement))
        best: dict[tuple[str, str], int] = {}
        for kind, value, related in refs:
            best[(kind, value)] = min(related, best.get((kind, value), 1))
        for (kind, value), related in best.items():
            self._driver.execute(
                "INSERT INTO xapi_statement_refs (tenant_id, seq, kind, value, related) VALUES (?, ?, ?, ?, ?)",
                (self.tenant_id, seq, kind, value, related))

    def _backfill_xapi_index(self) -> None:
        """Index statements stored before migration 0020 (once per connection and tenant)."""
        done = _BACKFILLED.setdefault(self._driver, set())
        if self.tenant_id in done:
            return
        missing = self._q(
            "SELECT d.doc_id FROM documents d LEFT JOIN xapi_statements x "
            "ON x.tenant_id = d.tenant_id AND x.statement_id = d.doc_id "
            "WHERE d.tenant_id = ? AND d.kind = ? AND x.seq IS NULL ORDER BY d.created_at, d.doc_id",
            (self.tenant_id, STATEMENT_KIND))
        if missing:
            with self._driver.transaction():
                for (doc_id,) in missing:
                    self._index_statement(doc_id, self.get_document(STATEMENT_KIND, doc_id).payload)  # type: ignore[attr-defined]
        done.add(self.tenant_id)

    def query_statements(self, *, statement_id: str | None = None, voided: bool | None = False,
                         agent: str | None = None, related_agents: bool = False, verb: str | None = None,
                         activity: str | None = None, related_activities: bool = False,
                         registration: str | None = None, since: str | None = None, until: str | None = None,
                         ascending: bool = False, after: int | None = None,
                         limit: int = 100) -> list[tuple[int, dict]]:
        """``[(seq, stored statement)]`` in arrival order (newest first unless ``ascending``),
        at most ``limit``. The agent/verb/activity/registration filters match a statement
        itself or, through StatementRef targets (recursively), a statement it targets — voided
        ones included, so a voiding statement matches what its target matched. since: stored >
        since; until: stored <= until (fixed-width UTC text); after: continue past this seq;
        voided: False hides voided statements, True returns only voided ones, None both."""
        self._backfill_xapi_index()
        params: list[Any] = []
        filters = self._match_sql(agent, related_agents, verb, activity, related_activities, registration, params)
        sql = ""
        if filters:
            sql = ("WITH RECURSIVE m(sid) AS (SELECT x.statement_id FROM xapi_statements x WHERE x.tenant_id = ?"
                   f"{filters} UNION SELECT y.statement_id FROM xapi_statements y JOIN m ON y.target = m.sid "
                   "WHERE y.tenant_id = ?) ")
            params = [self.tenant_id, *params, self.tenant_id]
        sql += ("SELECT x.seq, d.payload FROM xapi_statements x JOIN documents d ON d.tenant_id = x.tenant_id "
                "AND d.kind = ? AND d.doc_id = x.statement_id WHERE x.tenant_id = ?")
        params += [STATEMENT_KIND, self.tenant_id]
        if filters:
            sql += " AND x.statement_id IN (SELECT sid FROM m)"
        for clause, value in (("x.statement_id = ?", statement_id), ("x.voided = ?", None if voided is None else int(voided)),
                              ("x.stored > ?", since), ("x.stored <= ?", until),
                              ("x.seq > ?" if ascending else "x.seq < ?", after)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        sql += f" ORDER BY x.seq {'ASC' if ascending else 'DESC'} LIMIT ?"
        params.append(int(limit))
        return [(int(seq), json.loads(body)["statement"]) for seq, body in self._q(sql, params)]

    @staticmethod
    def _match_sql(agent, related_agents, verb, activity, related_activities, registration, params: list) -> str:
        """SQL conditions on ``x`` for the statement filters (appends their parameters)."""
        sql = ""
        for column, value in (("x.verb", verb), ("x.registration", registration)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        for kind, value, related in (("agent", agent, related_agents), ("activity", activity, related_activities)):
            if value is not None:
                sql += (" AND EXISTS (SELECT 1 FROM xapi_statement_refs r WHERE r.tenant_id = x.tenant_id "
                        "AND r.kind = ? AND r.value = ? AND r.seq = x.seq" + ("" if related else " AND r.related = 0") + ")")
                params += [kind, value]
        return sql

    def delete_learner(self, learner_id: str, *args: Any, **kwargs: Any) -> Any:
        """Erase a learner (:meth:`PrivacyPart.delete_learner`) and the index rows of their
        statements (the identity keys in them)."""
        with self._driver.transaction():
            seqs = [r[0] for r in self._driver.execute(
                "SELECT x.seq FROM xapi_statements x JOIN documents d ON d.tenant_id = x.tenant_id "
                "AND d.kind = ? AND d.doc_id = x.statement_id WHERE x.tenant_id = ? AND d.learner_id = ?",
                (STATEMENT_KIND, self.tenant_id, learner_id))]
            out = super().delete_learner(learner_id, *args, **kwargs)  # type: ignore[misc]
            for seq in seqs:
                self._driver.execute("DELETE FROM xapi_statement_refs WHERE tenant_id = ? AND seq = ?",
                                     (self.tenant_id, seq))
                self._driver.execute("DELETE FROM xapi_statements WHERE tenant_id = ? AND seq = ?",
                                     (self.tenant_id, seq))
        return out

    # ---------------------------------------------------------------- LRS sync cursors
    def get_sync_cursor(self, source: str) -> str | None:
        """The stored cursor of an LRS this tenant pulls from (None before the first sync)."""
        rows = self._q("SELECT cursor FROM xapi_sync_cursors WHERE tenant_id = ? AND source = ?",
                       (self.tenant_id, source))
        return rows[0][0] if rows else None

    def put_sync_cursor(self, source: str, cursor: str) -> None:
        with self._driver.transaction():
            rows = self._driver.execute("SELECT 1 FROM xapi_sync_cursors WHERE tenant_id = ? AND source = ?",
                                        (self.tenant_id, source))
            if rows:
                self._driver.execute("UPDATE xapi_sync_cursors SET cursor = ?, updated_at = ? "
                                     "WHERE tenant_id = ? AND source = ?", (cursor, _now(), self.tenant_id, source))
            else:
                self._driver.execute("INSERT INTO xapi_sync_cursors (tenant_id, source, cursor, updated_at) "
                                     "VALUES (?, ?, ?, ?)", (self.tenant_id, source, cursor, _now()))
