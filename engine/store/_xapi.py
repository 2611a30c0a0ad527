"""Tenant store part: the xAPI statements (migrations 0020, 0021, 0060) and LRS-sync cursors.

A statement is one row of ``xapi_statements``: arrival ``seq``, ``stored``, verb,
registration, voided, the statement it targets, the learner it was applied to, its status
and ``payload``, the record :mod:`engine.app._evidence` keeps (the stored statement under
``"statement"`` and how it was applied). The agents and activities it names
(:func:`engine.xapi.query.statement_refs`) go to ``xapi_statement_refs`` in the same
transaction. Until migration 0060 the record was a document of kind ``xapi_statement``; such
documents left from before migration 0020 are moved into the table on the first read.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import Any

from engine.store._sql import TenantBase, _dumps, _now

STATEMENT_KIND = "xapi_statement"  # the document kind statements were kept as before 0060
_BACKFILLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # driver -> tenants checked
VOIDED_KIND = "xapi_voided"  # a voided statement id that had not arrived yet (engine.app._evidence)


class XapiPart(TenantBase):
    """Tenant store part: statements, statement queries and sync cursors."""

    def get_statement(self, statement_id: str) -> dict | None:
        """The stored record of one statement (None when it has not arrived)."""
        self._backfill_xapi_index()  # a statement still kept as a document is found too
        rows = self._q("SELECT payload FROM xapi_statements WHERE tenant_id = ? AND statement_id = ?",
                       (self.tenant_id, statement_id))
        return json.loads(rows[0][0]) if rows else None

    def put_statement(self, statement_id: str, record: Mapping[str, Any]) -> None:
        """Store a statement's record (new) or its changed application (voided, applied
        later). ``record``: ``statement`` (the stored statement), ``learner_id``, ``status``
        (``applied`` / ``pending`` / ``voided`` / ``stored``), ``voided`` (bool), and what else
        the use case keeps; the statement itself never changes."""
        with self._driver.transaction():
            self._put_statement(statement_id, record)

    def _put_statement(self, statement_id: str, record: Mapping[str, Any]) -> None:
        from engine.xapi.query import statement_refs

        body = _dumps(dict(record))
        voided = 1 if record.get("voided") else 0
        learner, status = record.get("learner_id"), record.get("status")
        rows = self._driver.execute(
            "SELECT seq FROM xapi_statements WHERE tenant_id = ? AND statement_id = ?",
            (self.tenant_id, statement_id))
        if rows:
            self._driver.execute(
                "UPDATE xapi_statements SET voided = ?, learner_id = ?, status = ?, payload = ? WHERE seq = ?",
                (voided, learner, status, body, rows[0][0]))
            return
        if not voided and self._driver.execute(  # voided before it arrived (a voiding statement came first)
                "SELECT 1 FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                (self.tenant_id, VOIDED_KIND, statement_id)):
            voided = 1
        statement = record.get("statement") or {}
        registration = (statement.get("context") or {}).get("registration")
        obj = statement.get("object") or {}
        target = str(obj.get("id", "")).lower() if obj.get("objectType") == "StatementRef" else None
        seq = self._driver.execute(
            "INSERT INTO xapi_statements (tenant_id, statement_id, stored, verb, registration, voided, target, "
            "learner_id, status, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            (self.tenant_id, statement_id, statement.get("stored") or _now(),
             (statement.get("verb") or {}).get("id", ""), registration.lower() if registration else None, voided,
             target or None, learner, status, body))[0][0]
        best: dict[tuple[str, str], int] = {}
        for kind, value, related in sorted(statement_refs(statement)):
            best[(kind, value)] = min(related, best.get((kind, value), 1))
        if best:
            self._driver.executemany(
                "INSERT INTO xapi_statement_refs (tenant_id, seq, kind, value, related) VALUES (?, ?, ?, ?, ?)",
                [(self.tenant_id, seq, kind, value, related) for (kind, value), related in best.items()])

    def list_statements(self, *, status: str, limit: int | None = None, offset: int = 0) -> list[tuple[str, dict]]:
        """``[(statement id, record)]`` with this status, in arrival order (oldest first)."""
        self._backfill_xapi_index()
        sql = "SELECT statement_id, payload FROM xapi_statements WHERE tenant_id = ? AND status = ? ORDER BY seq"
        params: list[Any] = [self.tenant_id, status]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        elif offset and self.dialect == "sqlite":
            sql += " LIMIT -1"  # SQLite takes OFFSET only after a LIMIT
        if offset:
            sql += " OFFSET ?"
            params.append(int(offset))
        return [(sid, json.loads(body)) for sid, body in self._q(sql, params)]

    def _backfill_xapi_index(self) -> None:
        """Move statements kept as documents (stored before migration 0020, never indexed)
        into ``xapi_statements`` (checked once per connection and tenant)."""
        done = _BACKFILLED.setdefault(self._driver, set())
        if self.tenant_id in done:
            return
        missing = self._q(
            "SELECT doc_id, payload FROM documents WHERE tenant_id = ? AND kind = ? ORDER BY created_at, doc_id",
            (self.tenant_id, STATEMENT_KIND))
        if missing:
            with self._driver.transaction():
                for doc_id, body in missing:
                    self._put_statement(doc_id, json.loads(body))
                    self._driver.execute("DELETE FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                                         (self.tenant_id, STATEMENT_KIND, doc_id))
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
        sql += "SELECT x.seq, x.payload FROM xapi_statements x WHERE x.tenant_id = ?"
        params.append(self.tenant_id)
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

    def export_learner(self, learner_id: str) -> dict[str, Any]:
        """:meth:`PrivacyPart.export_learner`, with the learner's statements among its
        ``documents`` (kind ``xapi_statement``, doc id the statement id, as before 0060)."""
        out = super().export_learner(learner_id)  # type: ignore[misc]
        rows = self._q("SELECT statement_id, payload FROM xapi_statements WHERE tenant_id = ? AND learner_id = ? "
                       "ORDER BY seq", (self.tenant_id, learner_id))
        out["documents"] += [{"kind": STATEMENT_KIND, "doc_id": sid, "version": 1, "payload": json.loads(body)}
                             for sid, body in rows]
        return out

    def delete_learner(self, learner_id: str, *args: Any, **kwargs: Any) -> Any:
        """Erase a learner (:meth:`PrivacyPart.delete_learner`) and the statements applied to
        them with their index rows (the identity keys in them); the counts gain
        ``xapi_statements`` when there were any. (No index on the learner: erasure reads the tenant's statements.)"""
        with self._driver.transaction():
            seqs = [r[0] for r in self._driver.execute(
                "SELECT seq FROM xapi_statements WHERE tenant_id = ? AND learner_id = ?",
                (self.tenant_id, learner_id))]
            out = super().delete_learner(learner_id, *args, **kwargs)  # type: ignore[misc]
            for seq in seqs:
                self._driver.execute("DELETE FROM xapi_statement_refs WHERE tenant_id = ? AND seq = ?",
                                     (self.tenant_id, seq))
                self._driver.execute("DELETE FROM xapi_statements WHERE tenant_id = ? AND seq = ?",
                                     (self.tenant_id, seq))
        if seqs and isinstance(out, dict):
            out["xapi_statements"] = len(seqs)
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
