"""Statement sameness by xAPI 1.0.3's comparison rules (Data 2.3.1 "Statement Immutability"
and "Statement Comparison Requirements"), as a canonical form and its digest.

Ignored, because the LRS may assign, change or not preserve them: ``id``, ``stored``,
``authority``, ``version``, ``attachments``; a verb's ``display``; every Activity
``definition`` (object, context activities, sub-statements); the order of a Group's members;
the case of UUIDs, of ``mbox`` and ``mbox_sha1sum``; the serialisation of ``timestamp``
(compared as an instant at millisecond precision); a single context activity versus an array of one; the order
of properties. Everything else — actor, verb id, object, result, context values — must match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

IGNORED = ("id", "stored", "authority", "version", "attachments", "timestamp")  # timestamp: as an instant


def _agent(a):
    if not isinstance(a, Mapping):
        return a
    out = dict(a)
    out.setdefault("objectType", "Agent")
    for key in ("mbox", "mbox_sha1sum"):
        if isinstance(out.get(key), str):
            out[key] = out[key].lower()
    if isinstance(out.get("member"), list):
        out["member"] = sorted((_agent(m) for m in out["member"]), key=_dump)
    return out


def _activity(a):
    if not isinstance(a, Mapping):
        return a
    return {"objectType": "Activity", "id": a.get("id")}


def _object(o):
    if not isinstance(o, Mapping):
        return o
    kind = o.get("objectType", "Activity")
    if kind == "Activity":
        return _activity(o)
    if kind in ("Agent", "Group"):
        return _agent(o)
    if kind == "StatementRef":
        return {"objectType": kind, "id": str(o.get("id", "")).lower()}
    return {"objectType": kind, **_body(o)}


def context_activities(ca) -> dict:
    """Every value of ``contextActivities`` as an array (the LRS returns arrays)."""
    if not isinstance(ca, Mapping):
        return ca
    return {k: (v if isinstance(v, list) else [v]) for k, v in ca.items()}


def _context(c):
    if not isinstance(c, Mapping):
        return c
    out = dict(c)
    if "registration" in out and isinstance(out["registration"], str):
        out["registration"] = out["registration"].lower()
    for name in ("instructor", "team"):
        if name in out:
            out[name] = _agent(out[name])
    if isinstance(out.get("statement"), Mapping):
        out["statement"] = _object(out["statement"])
    if "contextActivities" in out:
        out["contextActivities"] = {k: [_activity(a) for a in v]
                                    for k, v in context_activities(out["contextActivities"]).items()}
    return out


def _body(s: Mapping) -> dict:
    out = {k: v for k, v in s.items() if k not in IGNORED and k != "objectType"}
    if "timestamp" in s:
        out["timestamp"] = instant(s["timestamp"]) or s["timestamp"]
    if "actor" in out:
        out["actor"] = _agent(out["actor"])
    if isinstance(out.get("verb"), Mapping):
        out["verb"] = {"id": out["verb"].get("id")}
    if "object" in out:
        out["object"] = _object(out["object"])
    if "context" in out:
        out["context"] = _context(out["context"])
    return out


def instant(timestamp) -> str | None:
    """An ISO 8601 timestamp as a UTC instant at millisecond precision (None if unparsable)."""
    if not isinstance(timestamp, str):
        return None
    text = timestamp.strip().replace("z", "Z").replace("t", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _dump(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def comparison_form(statement: Mapping) -> dict:
    """The parts of a statement that decide sameness (module doc), normalised."""
    return _body(statement)


def digest(statement: Mapping) -> str:
    """SHA-256 (hex) of :func:`comparison_form`: equal digests, same statement."""
    return hashlib.sha256(_dump(comparison_form(statement)).encode()).hexdigest()


def same_statement(a: Mapping, b: Mapping) -> bool:
    """Whether two statements are the same by the comparison rules."""
    return digest(a) == digest(b)
