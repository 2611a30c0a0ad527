"""What xAPI 1.0.3 requires an LRS to reject (Data 2.2 "Formatting Requirements" and the
property tables of 2.4), as one recursive check. Raises
:class:`engine.app.xapi.StatementError` naming the JSON path of the first bad value.

Rejected: unknown properties (outside ``extensions``), null anywhere outside ``extensions``,
an Agent/Group with zero or two identifiers (an identified Group: exactly one), non-IRI ids,
verbs, activity types, extension keys, malformed UUIDs, language maps that are not
``{tag: string}``, non-ISO 8601 durations, a SubStatement inside a SubStatement or carrying
``id``/``stored``/``version``/``authority``, ``context.revision``/``platform`` when the
object is not an Activity, a ``version`` other than 1.0.x or 2.0.x. A statement of version
2.0.x may also carry 2.0's ``contextAgents``/``contextGroups`` (where 1.0.3 and 2.0.0 agree
the rules are the same; 2.0-only properties are not accepted in a 1.0 statement).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                      r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
VERSION = re.compile(r"^(1\.0(\.\d+)?|2\.0\.\d+)$")

STATEMENT_KEYS = frozenset({"id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
                            "authority", "version", "attachments"})
SUB_KEYS = frozenset({"objectType", "actor", "verb", "object", "result", "context", "timestamp",
                      "attachments"})
AGENT_KEYS = frozenset({"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})
IFI = ("mbox", "mbox_sha1sum", "openid", "account")
DEFINITION_KEYS = frozenset({"name", "description", "type", "moreInfo", "extensions", "interactionType",
                             "correctResponsesPattern", "choices", "scale", "source", "target", "steps"})
CONTEXT_KEYS = frozenset({"registration", "instructor", "team", "contextActivities", "revision", "platform",
                          "language", "statement", "extensions"})
CONTEXT_KEYS_2 = frozenset({"contextAgents", "contextGroups"})  # xAPI 2.0.0 only
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
ATTACHMENT_KEYS = frozenset({"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"})
INTERACTIONS = frozenset({"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                          "sequencing", "likert", "numeric", "other"})


def _error(path: str, message: str):
    from engine.app.xapi import StatementError  # the one xAPI error class

    return StatementError(path, message)


def _obj(value, path: str, allowed: frozenset[str]) -> Mapping:
    if not isinstance(value, Mapping):
        raise _error(path or "statement", "must be a JSON object")
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in allowed:
            raise _error(where, f"{key!r} is not an xAPI property here; remove it (allowed: {sorted(allowed)})")
        if item is None:
            raise _error(where, "null is not allowed; leave the property out")
    return value


def iri(value, path: str) -> str:
    if not isinstance(value, str) or not IRI.match(value):
        raise _error(path, f"{value!r} is not an IRI (e.g. 'https://example.org/x')")
    return value


def uuid_text(value, path: str) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(uuid.UUID(value))
    except ValueError:
        raise _error(path, f"{value!r} is not a UUID") from None


def _string(value, path: str) -> None:
    if not isinstance(value, str):
        raise _error(path, f"{value!r} must be a string")


def _language_map(value, path: str) -> None:
    if not isinstance(value, Mapping):
        raise _error(path, "must be a language map {\"en-US\": \"text\"}")
    for tag, text in value.items():
        if not LANG.match(tag):
            raise _error(f"{path}.{tag}", f"{tag!r} is not a language tag (RFC 5646, e.g. 'en-US')")
        _string(text, f"{path}.{tag}")


def _extensions(value, path: str) -> None:
    if not isinstance(value, Mapping):
        raise _error(path, "must be an object {IRI: value}")
    for key in value:
        iri(key, f"{path}[{key!r}]")


def agent(value, path: str, *, group_ok: bool = True) -> None:
    """An Agent or Group (identified: exactly one identifier; anonymous Group: members)."""
    if not isinstance(value, Mapping):
        raise _error(path, "must be an Agent or Group object")
    kind = value.get("objectType", "Agent")
    is_group = kind == "Group"
    if kind not in ("Agent", "Group") or (is_group and not group_ok):
        raise _error(f"{path}.objectType", f"{kind!r} is not allowed here; use 'Agent'" + (" or 'Group'" if group_ok else ""))
    _obj(value, path, AGENT_KEYS | ({"member"} if is_group else frozenset()))
    given = [k for k in IFI if k in value]
    if len(given) > 1 or (not given and not (is_group and "member" in value)):
        raise _error(path, "identify the agent with exactly one of account {homePage, name}, mbox, "
                           f"mbox_sha1sum, openid (got {given or 'none'})")
    if "name" in value:
        _string(value["name"], f"{path}.name")
    if "mbox" in value and not (isinstance(value["mbox"], str) and value["mbox"].startswith("mailto:")
                                and "@" in value["mbox"]):
        raise _error(f"{path}.mbox", f"{value['mbox']!r} must look like 'mailto:name@example.org'")
    if "mbox_sha1sum" in value and not (isinstance(value["mbox_sha1sum"], str)
                                        and re.fullmatch(r"[0-9a-fA-F]{40}", value["mbox_sha1sum"])):
        raise _error(f"{path}.mbox_sha1sum", f"{value['mbox_sha1sum']!r} must be 40 hex digits")
    if "account" in value:
        acc = _obj(value["account"], f"{path}.account", frozenset({"homePage", "name"}))
        if "homePage" not in acc or "name" not in acc:
            raise _error(f"{path}.account", "an account needs homePage and name")
        iri(acc["homePage"], f"{path}.account.homePage")
        _string(acc["name"], f"{path}.account.name")
    if "openid" in value:
        iri(value["openid"], f"{path}.openid")
    if is_group and "member" in value:
        if not isinstance(value["member"], list):
            raise _error(f"{path}.member", "must be an array of Agents")
        for i, m in enumerate(value["member"]):
            agent(m, f"{path}.member[{i}]", group_ok=False)


def activity(value, path: str) -> None:
    _obj(value, path, frozenset({"objectType", "id", "definition"}))
    iri(value.get("id"), f"{path}.id")
    if "definition" not in value:
        return
    d = _obj(value["definition"], f"{path}.definition", DEFINITION_KEYS)
    for name in ("name", "description"):
        if name in d:
            _language_map(d[name], f"{path}.definition.{name}")
    for name in ("type", "moreInfo"):
        if name in d:
            iri(d[name], f"{path}.definition.{name}")
    if "extensions" in d:
        _extensions(d["extensions"], f"{path}.definition.extensions")
    if "interactionType" in d and d["interactionType"] not in INTERACTIONS:
        raise _error(f"{path}.definition.interactionType", f"{d['interactionType']!r} is not one of {sorted(INTERACTIONS)}")
    if "correctResponsesPattern" in d and not (isinstance(d["correctResponsesPattern"], list)
                                               and all(isinstance(x, str) for x in d["correctResponsesPattern"])):
        raise _error(f"{path}.definition.correctResponsesPattern", "must be an array of strings")
    for name in ("choices", "scale", "source", "target", "steps"):
        if name in d:
            comps = d[name]
            if not isinstance(comps, list):
                raise _error(f"{path}.definition.{name}", "must be an array of interaction components")
            for i, c in enumerate(comps):
                c = _obj(c, f"{path}.definition.{name}[{i}]", frozenset({"id", "description"}))
                _string(c.get("id"), f"{path}.definition.{name}[{i}].id")
                if "description" in c:
                    _language_map(c["description"], f"{path}.definition.{name}[{i}].description")


def statement_object(value, path: str, *, sub: bool, version: str | None = None) -> str:
    """The object; returns its objectType."""
    if not isinstance(value, Mapping):
        raise _error(path, "must be an object")
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        activity(value, path)
    elif kind in ("Agent", "Group"):
        agent(value, path)
    elif kind == "StatementRef":
        _obj(value, path, frozenset({"objectType", "id"}))
        uuid_text(value.get("id"), f"{path}.id")
    elif kind == "SubStatement" and not sub:
        statement_body(value, path, sub=True, version=version)
    else:
        allowed = "Activity, Agent, Group, StatementRef" + ("" if sub else ", SubStatement")
        raise _error(f"{path}.objectType", f"{kind!r} is not allowed here; use one of {allowed}")
    return kind


def _context_agents(c, path: str) -> None:
    """xAPI 2.0's contextAgents / contextGroups (only in a statement of version 2.0.x)."""
    for name, kind, member in (("contextAgents", "contextAgent", "agent"), ("contextGroups", "contextGroup", "group")):
        if name not in c:
            continue
        if not isinstance(c[name], list):
            raise _error(f"{path}.{name}", f"must be an array of {kind} objects")
        for i, entry in enumerate(c[name]):
            where = f"{path}.{name}[{i}]"
            _obj(entry, where, frozenset({"objectType", member, "relevantTypes"}))
            if entry.get("objectType") != kind:
                raise _error(f"{where}.objectType", f"must be {kind!r}")
            if member not in entry:
                raise _error(where, f"a {kind} needs {member}")
            agent(entry[member], f"{where}.{member}", group_ok=member == "group")
            types = entry.get("relevantTypes", [])
            if not isinstance(types, list) or (member == "agent" and "relevantTypes" in entry and not types):
                raise _error(f"{where}.relevantTypes", "must be a non-empty array of IRIs")
            for j, t in enumerate(types):
                iri(t, f"{where}.relevantTypes[{j}]")


def _context(value, path: str, object_kind: str, v2: bool = False) -> None:
    c = _obj(value, path, CONTEXT_KEYS | (CONTEXT_KEYS_2 if v2 else frozenset()))
    _context_agents(c, path)
    if "registration" in c:
        uuid_text(c["registration"], f"{path}.registration")
    if "instructor" in c:
        agent(c["instructor"], f"{path}.instructor")
    if "team" in c:
        if not isinstance(c["team"], Mapping) or c["team"].get("objectType") != "Group":
            raise _error(f"{path}.team", "must be a Group (objectType 'Group')")
        agent(c["team"], f"{path}.team")
    for name in ("revision", "platform", "language"):
        if name in c:
            _string(c[name], f"{path}.{name}")
            if name != "language" and object_kind != "Activity":
                raise _error(f"{path}.{name}", f"only allowed when the object is an Activity (it is a {object_kind})")
    if "statement" in c:
        ref = _obj(c["statement"], f"{path}.statement", frozenset({"objectType", "id"}))
        if ref.get("objectType") != "StatementRef":
            raise _error(f"{path}.statement.objectType", "must be 'StatementRef'")
        uuid_text(ref.get("id"), f"{path}.statement.id")
    if "extensions" in c:
        _extensions(c["extensions"], f"{path}.extensions")
    if "contextActivities" in c:
        ca = _obj(c["contextActivities"], f"{path}.contextActivities",
                  frozenset({"parent", "grouping", "category", "other"}))
        for name, acts in ca.items():
            for i, a in enumerate(acts if isinstance(acts, list) else [acts]):
                where = f"{path}.contextActivities.{name}" + (f"[{i}]" if isinstance(acts, list) else "")
                if isinstance(a, Mapping) and a.get("objectType", "Activity") != "Activity":
                    raise _error(f"{where}.objectType", "context activities must be Activities")
                activity(a, where)


def _result(value, path: str) -> None:
    r = _obj(value, path, RESULT_KEYS)
    if "score" in r:
        _obj(r["score"], f"{path}.score", frozenset({"scaled", "raw", "min", "max"}))
    if "response" in r:
        _string(r["response"], f"{path}.response")
    if "duration" in r and not (isinstance(r["duration"], str) and DURATION.match(r["duration"])):
        raise _error(f"{path}.duration", f"{r['duration']!r} is not an ISO 8601 duration (e.g. 'PT1M30S')")
    if "extensions" in r:
        _extensions(r["extensions"], f"{path}.extensions")


def _attachments(value, path: str) -> None:
    if not isinstance(value, list):
        raise _error(path, "must be an array of attachments")
    for i, a in enumerate(value):
        where = f"{path}[{i}]"
        _obj(a, where, ATTACHMENT_KEYS)
        for need in ("usageType", "display", "contentType", "length", "sha2"):
            if need not in a:
                raise _error(where, f"an attachment needs {need}")
        iri(a["usageType"], f"{where}.usageType")
        _language_map(a["display"], f"{where}.display")
        if not isinstance(a["length"], int) or isinstance(a["length"], bool) or a["length"] < 0:
            raise _error(f"{where}.length", "must be a non-negative integer")


def statement_body(value, path: str = "", *, sub: bool = False, version: str | None = None) -> None:
    """Check a Statement (or, with ``sub``, a SubStatement) against the rules in the module
    doc. ``path``: the JSON path prefix for error fields ('' for a top-level statement).
    version: the statement's xAPI version (default: its ``version`` property); 2.0.x also
    allows ``context.contextAgents`` and ``context.contextGroups``."""
    if version is None and isinstance(value, Mapping):
        version = value.get("version")
    pre = f"{path}." if path else ""
    _obj(value, path, SUB_KEYS if sub else STATEMENT_KEYS)
    for need in ("actor", "verb", "object"):
        if need not in value:
            raise _error(f"{pre}{need}", f"every statement needs {need}")
    agent(value["actor"], f"{pre}actor")
    verb = _obj(value["verb"], f"{pre}verb", frozenset({"id", "display"}))
    iri(verb.get("id"), f"{pre}verb.id")
    if "display" in verb:
        _language_map(verb["display"], f"{pre}verb.display")
    kind = statement_object(value["object"], f"{pre}object", sub=sub, version=version)
    if "result" in value:
        _result(value["result"], f"{pre}result")
    if "context" in value:
        v2 = isinstance(version, str) and version.startswith("2.0")
        _context(value["context"], f"{pre}context", kind, v2)
    if "attachments" in value:
        _attachments(value["attachments"], f"{pre}attachments")
    if sub:
        return
    if "id" in value:
        uuid_text(value["id"], "id")
    if "authority" in value:
        agent(value["authority"], "authority")
    if "version" in value and not (isinstance(value["version"], str) and VERSION.match(value["version"])):
        raise _error("version", f"{value['version']!r} is not an xAPI version; use '1.0.3' (or leave it out)")
    for name in ("timestamp", "stored"):
        if name in value:
            _string(value[name], name)
