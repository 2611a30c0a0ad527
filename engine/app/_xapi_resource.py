"""Use cases of the xAPI statement resource — reading statements back like an LRS
(``GET /xapi/statements``) and pulling them from another LRS (``pathwise lrs-sync``) — a
part of ``SchoolApp``. Query rules: :mod:`engine.xapi.query`; storing: ``store_statements``
(:mod:`engine.app._evidence`), the one path every statement takes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from engine.access import Caller
from engine.app.xapi import StatementError
from engine.errors import AccessDenied, ConflictError, NotFoundError
from engine.xapi import query as xq

READ_ROLES = ("lms", "admin")
SUPPORTED_VERSIONS = ("1.0.3", "1.0.2", "1.0.1", "1.0.0", "2.0.0")

# fetch(since, more) -> (statements, more): one page from a remote LRS, oldest first
# (since: a ``stored`` time or None for everything; more: the remote's ``more`` link or None)
Fetch = Callable[[str | None, str | None], tuple[Sequence[Any], str | None]]


class XapiResourceUseCases:
    def read_statements(self, by: Caller, params: Mapping[str, str] | None = None, *,
                        more: str | None = None, max_limit: int = 500) -> dict[str, Any]:
        """One GET of the statement resource (LMS and admin keys). ``params``: the GET
        parameters (strings), or ``more``: a token from an earlier page. Returns
        ``{"statement": {...}}`` for statementId/voidedStatementId (NotFoundError when absent,
        voided for statementId, or not voided for voidedStatementId), else
        ``{"statements": [...], "more": token or ""}``. Voided statements never match filters;
        the voiding statements do."""
        self.allow(by, "evidence:write")
        if by.principal.role not in READ_ROLES:
            raise AccessDenied(f"reading statements needs an {' or '.join(READ_ROLES)} key, "
                               f"not {by.principal.role}")
        if more is not None:
            q = xq.decode_more(more)
            q = replace(q, limit=max(1, min(q.limit, max_limit)))
        else:
            q = xq.parse_query(params or {}, max_limit=max_limit)
        if q.single:
            voided = q.voided_statement_id is not None
            sid = q.voided_statement_id or q.statement_id
            rows = self.store.query_statements(statement_id=sid, voided=voided, limit=1)
            if not rows:
                what = "voided statement" if voided else "statement"
                hint = "" if voided else " (a voided statement is read with voidedStatementId)"
                raise NotFoundError(f"no {what} {sid} in this tenant{hint}")
            self._read(by, "xapi.statement", resource_id=sid)
            return {"statement": xq.formatted(rows[0][1], q.format)}
        rows = self.store.query_statements(
            agent=q.agent, related_agents=q.related_agents, verb=q.verb, activity=q.activity,
            related_activities=q.related_activities, registration=q.registration, since=q.since,
            until=q.until, ascending=q.ascending, after=q.after, limit=q.limit + 1)
        page = rows[: q.limit]
        token = xq.encode_more(q, page[-1][0]) if len(rows) > q.limit else ""
        self._read(by, "xapi.statements", detail={"n": len(page)})
        return {"statements": [xq.formatted(s, q.format) for _, s in page], "more": token}

    def sync_statements(self, by: Caller, source: str, fetch: Fetch, *, max_pages: int | None = None,
                        on_page: Callable[[dict], None] | None = None) -> dict[str, Any]:
        """Pull statements from another LRS through ``fetch`` and store them through
        :meth:`store_statements` (the same path as POSTed statements). A pass asks for
        everything stored after the cursor (``since``) and follows ``more`` to the end; the
        tenant's cursor for ``source`` keeps the pass's next ``more`` link after every page
        (an interrupted pass resumes there) and, when a pass ends, the latest remote
        ``stored`` seen (the next pass's ``since``) — so the result does not depend on the
        order the remote LRS pages in. Idempotent: statements already stored count as
        ``duplicates``. A statement this LRS must refuse (invalid xAPI, or an id stored with
        other content) is counted in ``rejected`` (first reasons in ``errors``); the rest of
        its page is kept. ``max_pages``: stop after this many pages (resumable). Returns
        counts: pages, received, stored, duplicates, rejected, not_applied, complete, cursor."""
        self.allow(by, "evidence:write")
        state = _cursor_state(self.store.get_sync_cursor(source))
        counts: dict[str, Any] = {"pages": 0, "received": 0, "stored": 0, "duplicates": 0, "rejected": 0,
                                  "not_applied": 0, "errors": [], "complete": False}
        while max_pages is None or counts["pages"] < max_pages:
            statements, more = fetch(None if state["more"] else state["since"], state["more"])
            counts["pages"] += 1
            counts["received"] += len(statements)
            state["latest"] = self._import_page(by, statements, state["latest"], counts)
            if more and statements:
                state["more"] = more
            else:
                state = {"since": state["latest"] or state["since"], "more": None, "latest": None}
                counts["complete"] = True
            self.store.put_sync_cursor(source, json.dumps(state))
            if on_page is not None:
                on_page(dict(counts))
            if counts["complete"]:
                break
        counts["cursor"] = state
        return counts

    def _import_page(self, by: Caller, statements: Sequence[Any], latest: str | None, counts: dict) -> str | None:
        """Store one page; returns the latest remote ``stored`` seen (as sent by the remote)."""
        fresh = []
        for s in statements:
            latest = _later(latest, s.get("stored") if isinstance(s, Mapping) else None)
            if isinstance(s, Mapping) and isinstance(s.get("id"), str) and self._statement_known(s["id"]):
                counts["duplicates"] += 1
            else:
                fresh.append({k: v for k, v in s.items() if k not in ("stored", "authority")}
                             if isinstance(s, Mapping) else s)
        if not fresh:
            return latest
        try:
            result = self.store_statements(by, fresh)
            counts["stored"] += len(fresh)
            counts["not_applied"] += len(result["not_applied"])
        except (StatementError, ConflictError):
            for s in fresh:  # one bad statement must not lose the rest of the page
                try:
                    result = self.store_statements(by, [s], array=False)
                    counts["stored"] += 1
                    counts["not_applied"] += len(result["not_applied"])
                except (StatementError, ConflictError) as exc:
                    counts["rejected"] += 1
                    if len(counts["errors"]) < 20:
                        sid = s.get("id") if isinstance(s, Mapping) else None
                        counts["errors"].append(f"{sid}: {exc}")
        return latest

    def _statement_known(self, statement_id: str) -> bool:
        try:
            sid = xq.validate.uuid_text(statement_id, "id")
        except StatementError:
            return False
        return bool(self.store.query_statements(statement_id=sid, voided=None, limit=1))

    def sync_cursor(self, by: Caller, source: str) -> dict[str, Any]:
        """The stored cursor of ``source``: ``since`` (the latest remote ``stored`` of the last
        complete pass), ``more`` (where an interrupted pass resumes), ``latest``."""
        self.allow(by, "evidence:write")
        return _cursor_state(self.store.get_sync_cursor(source))

    @staticmethod
    def consistent_through() -> str:
        """The ``X-Experience-API-Consistent-Through`` value: statements stored up to now are
        visible to queries (writes are synchronous)."""
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cursor_state(text: str | None) -> dict[str, Any]:
    state = {"since": None, "more": None, "latest": None}
    if text:
        state.update({k: v for k, v in json.loads(text).items() if k in state})
    return state


def _later(a: str | None, b) -> str | None:
    """The later of two ``stored`` strings (compared as instants; unparsable b is ignored)."""
    if not isinstance(b, str) or xq.compare.instant(b) is None:
        return a
    if a is None or xq.compare.instant(b) > xq.compare.instant(a):
        return b
    return a
