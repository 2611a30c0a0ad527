"""Statement queries of the xAPI statement resource (1.0.3 Communication 2.1.3): the GET
parameters, the ``more`` cursor, the agents and activities a statement names (for the
``agent``/``activity`` filters and ``related_*``), and the ``ids`` format.

Times are kept as fixed-width UTC strings ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (the ``stored``
stamp), so they compare as text. Raises :class:`engine.app.xapi.StatementError` (400)
naming the bad parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from engine.xapi import compare, validate

PARAMS = ("statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
          "related_activities", "related_agents", "since", "until", "limit", "format", "attachments",
          "ascending")
FORMATS = ("exact", "ids", "canonical")


def _error(param: str, message: str):
    from engine.app.xapi import StatementError

    return StatementError(param, message)


@dataclass(frozen=True)
class StatementQuery:
    """One GET /xapi/statements. agent: an identity key (:func:`engine.app.xapi.identity_key`);
    since/until: fixed-width UTC strings; limit: 1..max; after: the last ``seq`` already
    returned (paging), None at the start."""

    statement_id: str | None = None
    voided_statement_id: str | None = None
    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: str | None = None
    until: str | None = None
    limit: int = 100
    ascending: bool = False
    format: str = "exact"
    after: int | None = None

    @property
    def single(self) -> bool:
        return self.statement_id is not None or self.voided_statement_id is not None


def utc_text(value, param: str) -> str:
    """An ISO 8601 timestamp as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    moment = compare.instant(value)
    if moment is None:
        raise _error(param, f"{value!r} is not an ISO 8601 timestamp (e.g. '2026-09-01T00:00:00Z')")
    return moment.replace("+00:00", "Z")


def _bool(value: str, param: str) -> bool:
    """'true'/'false' (any case: client libraries send Python's 'True')."""
    if value.lower() not in ("true", "false"):
        raise _error(param, f"{value!r}: use true or false")
    return value.lower() == "true"


def parse_query(params: Mapping[str, str], *, max_limit: int = 500) -> StatementQuery:
    """The query from GET parameters (strings). Unknown parameters, statementId or
    voidedStatementId combined with filters, and malformed values are errors."""
    from engine.app.xapi import identity_key

    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise _error(unknown[0], f"{unknown[0]!r} is not a statement query parameter; use {list(PARAMS)}")
    q: dict = {}
    for name, key in (("statementId", "statement_id"), ("voidedStatementId", "voided_statement_id"),
                      ("registration", "registration")):
        if name in params:
            q[key] = validate.uuid_text(params[name], name)
    if "statement_id" in q and "voided_statement_id" in q:
        raise _error("statementId", "send statementId or voidedStatementId, not both")
    if ("statement_id" in q or "voided_statement_id" in q) and set(params) - {
            "statementId", "voidedStatementId", "format", "attachments"}:
        raise _error("statementId", "with statementId or voidedStatementId, only format and attachments are allowed")
    if "agent" in params:
        try:
            agent = json.loads(params["agent"])
        except ValueError:
            raise _error("agent", "must be an Agent as JSON, e.g. {\"mbox\": \"mailto:a@example.org\"}") from None
        validate.agent(agent, "agent")
        q["agent"] = identity_key(agent, "agent") if any(k in agent for k in validate.IFI) else None
        if q["agent"] is None:
            raise _error("agent", "an anonymous Group cannot be used as a filter; give an identifier")
    for name in ("verb", "activity"):
        if name in params:
            q[name] = validate.iri(params[name], name)
    for name in ("since", "until"):
        if name in params:
            q[name] = utc_text(params[name], name)
    for name in ("related_activities", "related_agents", "ascending", "attachments"):
        if name in params:
            value = _bool(params[name], name)
            if name != "attachments":
                q[name] = value
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise _error("limit", f"{params['limit']!r} is not a whole number") from None
        if limit < 0:
            raise _error("limit", "must be 0 (the server's maximum) or more")
        q["limit"] = min(limit or max_limit, max_limit)
    else:
        q["limit"] = min(100, max_limit)
    if "format" in params:
        if params["format"] not in FORMATS:
            raise _error("format", f"{params['format']!r}: use one of {list(FORMATS)}")
        q["format"] = params["format"]
    return StatementQuery(**q)


def encode_more(query: StatementQuery, after: int) -> str:
    """An opaque token for the next page (the query and the last seq returned)."""
    doc = {k: v for k, v in asdict(replace(query, after=after)).items() if v not in (None, False)}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_more(token: str) -> StatementQuery:
    """The query a ``more`` token stands for; StatementError('more') when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
        query = StatementQuery(**doc)
        if not isinstance(query.after, int) or not isinstance(query.limit, int):
            raise TypeError
        return query
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise _error("more", "not a 'more' token from this server; start again without it") from None


def _agent_keys(agent) -> list[str]:
    from engine.app.xapi import identity_key

    if not isinstance(agent, Mapping):
        return []
    keys = []
    if any(k in agent for k in validate.IFI):
        keys.append(identity_key(agent, "agent"))
    return keys


def _members(agent) -> list[str]:
    if not isinstance(agent, Mapping):
        return []
    return [k for m in agent.get("member") or () for k in _agent_keys(m)]


def statement_refs(statement: Mapping, related_only: bool = False) -> set[tuple[str, str, int]]:
    """``(kind, value, related)`` for the agents (identity keys) and activities (ids) a
    statement names: related 0 = actor/object (the direct filters), 1 = anywhere else
    (authority, instructor, team, group members, context activities, a SubStatement)."""
    direct = 1 if related_only else 0
    refs: set[tuple[str, str, int]] = set()
    actor, obj = statement.get("actor"), statement.get("object") or {}
    refs.update(("agent", k, direct) for k in _agent_keys(actor))
    refs.update(("agent", k, 1) for k in _members(actor))
    kind = obj.get("objectType", "Activity") if isinstance(obj, Mapping) else None
    if kind == "Activity" and isinstance(obj.get("id"), str):
        refs.add(("activity", obj["id"], direct))
    elif kind in ("Agent", "Group"):
        refs.update(("agent", k, direct) for k in _agent_keys(obj))
        refs.update(("agent", k, 1) for k in _members(obj))
    elif kind == "SubStatement":
        refs.update(statement_refs(obj, related_only=True))
    ctx = statement.get("context") or {}
    for name in ("instructor", "team"):
        refs.update(("agent", k, 1) for k in _agent_keys(ctx.get(name)) + _members(ctx.get(name)))
    for acts in compare.context_activities(ctx.get("contextActivities") or {}).values():
        refs.update(("activity", a["id"], 1) for a in acts if isinstance(a, Mapping) and isinstance(a.get("id"), str))
    refs.update(("agent", k, 1) for k in _agent_keys(statement.get("authority")))
    return refs


def _ids_agent(agent):
    if not isinstance(agent, Mapping):
        return agent
    out = {k: agent[k] for k in ("objectType", *validate.IFI) if k in agent}
    if "member" in agent and not any(k in agent for k in validate.IFI):
        out["member"] = [_ids_agent(m) for m in agent["member"]]
    return out


def formatted(statement: Mapping, fmt: str) -> dict:
    """``exact``/``canonical``: as stored; ``ids``: agents, activities and verbs reduced to
    their identifiers."""
    if fmt != "ids":
        return dict(statement)
    out = dict(statement)
    out["actor"] = _ids_agent(out.get("actor"))
    if isinstance(out.get("verb"), Mapping):
        out["verb"] = {"id": out["verb"].get("id")}
    obj = out.get("object")
    if isinstance(obj, Mapping):
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = {"objectType": "Activity", "id": obj.get("id")}
        elif kind in ("Agent", "Group"):
            out["object"] = _ids_agent(obj)
    if "authority" in out:
        out["authority"] = _ids_agent(out["authority"])
    return out
