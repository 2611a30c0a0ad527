"""xAPI 1.0.3 statements → Pathwise evidence (pure rules, no I/O; the use case that stores
them, resolves identities and applies evidence is ``SchoolApp.store_statements``).

Store like an LRS, learn like an engine
---------------------------------------
Every *valid* statement is stored whole and acknowledged; whether it becomes evidence is
decided separately. A batch is refused (400) only when a statement is invalid xAPI.

Evidence (the verb table)
-------------------------
:data:`DEFAULT_VERBS` maps a verb IRI to a rule; a tenant overrides entries with its own
table (document ``xapi_config/verbs``). Verbs not in the table are stored, never evidence.

* ``attempt`` (answered, responded): ``result.score.scaled`` (negative → 0), else
  ``score.raw`` scaled by ``min``/``max``, else ``success`` (1/0), else ``completion`` (1/0).
* ``graded`` (completed, passed, failed, scored, mastered): the same without the last step —
  a bare ``completion`` is not evidence (finishing is not an outcome).
* ``ignore``: stored only. Listed explicitly for experienced, launched, initialized,
  terminated, progressed, interacted, attempted, attended, resumed, suspended, abandoned,
  waived, satisfied (cmi5), commented, shared, registered.

A statement without ``result`` (or without a usable part of it) is never evidence.

Identity
--------
:func:`identity_key` turns an Agent's one identifier (``account`` homePage+name, ``mbox``,
``mbox_sha1sum``, ``openid``) into a key; the tenant's explicit identity map turns keys into
learners (no guessing from an email's local part). Unknown identities: stored, not applied.

Other rules: object.id (an IRI) → activity id: the full IRI if the catalog knows it, else its
last path segment. statement id → observation id ``xapi:<id>``; a statement without id gets a
fresh random UUID (so two identical statements without id are two observations, as the LRS
assigns each its own id). Voiding statements (verb ``.../voided``, object a StatementRef)
retract the voided statement's evidence, also when the target arrives later.

Validity is :func:`engine.xapi.validate.statement_body` (what the spec requires rejecting);
sameness of a re-sent statement is :func:`engine.xapi.compare.digest` (the spec's comparison
rules: verb display, activity definitions, timestamp format, mbox case, contextActivities
shape and the LRS-assigned properties do not count).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.errors import ValidationError
from engine.xapi import compare, validate

ADL = "http://adlnet.gov/expapi/verbs/"
VOIDED_VERB = ADL + "voided"
XAPI_VERSION = "1.0.3"
VERB_RULES = ("attempt", "graded", "ignore")

DEFAULT_VERBS: dict[str, str] = {
    ADL + "answered": "attempt", ADL + "responded": "attempt",
    ADL + "completed": "graded", ADL + "passed": "graded", ADL + "failed": "graded",
    ADL + "scored": "graded", ADL + "mastered": "graded",
    "http://id.tincanapi.com/verb/mastered": "graded",
    "https://w3id.org/xapi/dod-isd/verbs/answered": "attempt",
    **{ADL + v: "ignore" for v in ("experienced", "launched", "initialized", "terminated",
                                   "progressed", "interacted", "attempted", "attended", "resumed",
                                   "suspended", "abandoned", "waived", "satisfied", "commented",
                                   "shared", "registered", "exited", "asked")},
    "http://id.tincanapi.com/verb/viewed": "ignore",
}


class StatementError(ValidationError):
    """Invalid xAPI; ``field`` is its JSON path (prefixed with ``statements[i].`` for arrays
    by the use case). Service answers 400."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MappedStatement:
    """One valid statement, mapped (learner and activity not resolved yet).

    statement: the statement as stored (with ``id``); digest: SHA-256 of its canonical JSON
    without id/stored/authority/version. identity: the actor's identity key (None: no single
    Agent identifier, e.g. a Group). activity_keys: candidate activity ids, best first (empty:
    the object is not an Activity). outcome in [0, 1] when the verb table and result make it
    evidence, else None with ``why_not`` saying so. timestamp: Unix seconds. voids: the
    voided statement id for voiding statements.
    """

    statement_id: str
    digest: str
    statement: dict
    verb: str = ""
    identity: str | None = None
    activity_keys: tuple[str, ...] = ()
    outcome: float | None = None
    why_not: str | None = None
    timestamp: float | None = None
    voids: str | None = None

    @property
    def observation_id(self) -> str:
        return observation_id(self.statement_id)


def observation_id(statement_id: str) -> str:
    return f"xapi:{statement_id}"


def canonical_digest(statement: Mapping) -> str:
    """SHA-256 of the statement's comparison form (:func:`engine.xapi.compare.digest`)."""
    return compare.digest(statement)


def _parse_time(value, field: str) -> float:
    if not isinstance(value, str):
        raise StatementError(field, "timestamp must be an ISO 8601 string")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise StatementError(field, f"{value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise StatementError(field, f"{value!r} has no time zone; add 'Z' or an offset")
    return moment.timestamp()


def identity_key(agent, field: str = "actor") -> str:
    """The key of an Agent's one identifier: ``account:<homePage>|<name>``,
    ``mbox:mailto:<address, lower case>``, ``mbox_sha1sum:<hex, lower case>`` or
    ``openid:<uri>``. Raises :class:`StatementError` unless exactly one is given."""
    if not isinstance(agent, Mapping):
        raise StatementError(field, "must be an Agent object")
    given = [k for k in ("account", "mbox", "mbox_sha1sum", "openid") if agent.get(k) is not None]
    if len(given) != 1:
        raise StatementError(field, "identify the agent with exactly one of account {homePage, name}, "
                                    f"mbox, mbox_sha1sum, openid (got {given or 'none'})")
    kind, value = given[0], agent[given[0]]
    if kind == "account":
        ok = isinstance(value, Mapping) and all(isinstance(value.get(k), str) and value[k]
                                                for k in ("homePage", "name"))
        if not ok:
            raise StatementError(f"{field}.account", "an account needs a non-empty homePage and name")
        return f"account:{value['homePage']}|{value['name']}"
    if kind == "mbox":
        if not isinstance(value, str) or not value.startswith("mailto:") or "@" not in value:
            raise StatementError(f"{field}.mbox", f"{value!r} must look like 'mailto:name@example.org'")
        return f"mbox:{value.lower()}"
    if kind == "mbox_sha1sum":
        if not isinstance(value, str) or len(value) != 40 or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise StatementError(f"{field}.mbox_sha1sum", f"{value!r} must be 40 hex digits")
        return f"mbox_sha1sum:{value.lower()}"
    if not isinstance(value, str) or ":" not in value:
        raise StatementError(f"{field}.openid", f"{value!r} must be a URI")
    return f"openid:{value}"


def _actor_identity(actor) -> str | None:
    if isinstance(actor, Mapping) and actor.get("objectType") == "Group":
        return None  # a group is stored; evidence is per learner
    return identity_key(actor)


def activity_keys(obj) -> tuple[str, ...]:
    """Candidate activity ids for an xAPI Activity object, best first; () for other objects."""
    if not isinstance(obj, Mapping):
        raise StatementError("object", "must be an object")
    kind = obj.get("objectType", "Activity")
    if kind != "Activity":
        if kind not in ("Agent", "Group", "StatementRef", "SubStatement"):
            raise StatementError("object.objectType", f"{kind!r} is not an xAPI object type")
        return ()
    oid = obj.get("id")
    if not isinstance(oid, str) or ":" not in oid:
        raise StatementError("object.id", f"{oid!r}: an Activity needs an IRI id")
    tail = oid.rstrip("/").rsplit("/", 1)[-1]
    return (oid, tail) if tail and tail != oid else (oid,)


def _check_result(result) -> None:
    """Reject results that are invalid xAPI (raises :class:`StatementError`)."""
    if not isinstance(result, Mapping):
        raise StatementError("result", "must be an object")
    score = result.get("score")
    if score is not None:
        if not isinstance(score, Mapping):
            raise StatementError("result.score", "must be an object")
        for name in ("scaled", "raw", "min", "max"):
            v = score.get(name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise StatementError(f"result.score.{name}", f"{v!r} must be a number")
        if score.get("scaled") is not None and not -1 <= score["scaled"] <= 1:
            raise StatementError("result.score.scaled", f"{score['scaled']!r} must be a number in [-1, 1]")
        lo, hi, raw = score.get("min"), score.get("max"), score.get("raw")
        if lo is not None and hi is not None and not lo < hi:
            raise StatementError("result.score", "needs min < max")
        if raw is not None and ((lo is not None and raw < lo) or (hi is not None and raw > hi)):
            raise StatementError("result.score.raw", f"{raw!r} must lie between min and max")
    for name in ("success", "completion"):
        if result.get(name) is not None and not isinstance(result[name], bool):
            raise StatementError(f"result.{name}", f"{result[name]!r} must be true or false")


def outcome_of(result, rule: str = "attempt") -> float | None:
    """Outcome in [0, 1] from a valid xAPI result under a verb rule (module doc), None when
    the result carries none. Raises :class:`StatementError` for an invalid result."""
    _check_result(result)
    score = result.get("score") or {}
    if score.get("scaled") is not None:
        return max(0.0, float(score["scaled"]))
    if all(score.get(k) is not None for k in ("raw", "min", "max")):
        return (float(score["raw"]) - score["min"]) / (score["max"] - score["min"])
    names = ("success", "completion") if rule == "attempt" else ("success",)
    for name in names:
        if result.get(name) is not None:
            return 1.0 if result[name] else 0.0
    return None


def check_verb_table(table) -> dict[str, str]:
    """A tenant's verb table ``{verb IRI: rule}``; raises ValidationError naming bad entries."""
    if not isinstance(table, Mapping):
        raise ValidationError("verbs: send an object {verb IRI: rule}")
    for verb, rule in table.items():
        if not isinstance(verb, str) or ":" not in verb:
            raise ValidationError(f"verbs: {verb!r} is not a verb IRI")
        if rule not in VERB_RULES:
            raise ValidationError(f"verbs[{verb!r}]: {rule!r} is not a rule; use one of {list(VERB_RULES)}")
    return dict(table)


def _statement_id(statement: Mapping) -> str:
    sid = statement.get("id")
    if sid is None:
        return str(uuid.uuid4())
    return validate.uuid_text(sid, "id")


def _as_stored(statement: Mapping, sid: str, now: float) -> dict:
    """The statement as the LRS keeps it: with its id, a timestamp (the stored time when it
    had none) and every contextActivities value as an array."""
    out = {**statement, "id": sid}
    if "timestamp" not in out:
        out["timestamp"] = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ctx = out.get("context")
    if isinstance(ctx, Mapping) and "contextActivities" in ctx:
        out["context"] = {**ctx, "contextActivities": compare.context_activities(ctx["contextActivities"])}
    return out


def _evidence(statement: Mapping, verb: str, verbs: Mapping[str, str]) -> tuple[float | None, str | None]:
    rule = verbs.get(verb, "ignore")
    result = statement.get("result")
    if result is not None:
        _check_result(result)
    if rule == "ignore":
        return None, f"verb {verb} carries no evidence"
    if result is None:
        return None, "no result; a result is required for evidence"
    outcome = outcome_of(result, rule)
    if outcome is None:
        what = "score or success" if rule == "graded" else "score, success or completion"
        return None, f"result has no {what}"
    return outcome, None


def map_statement(statement, *, now: float, verbs: Mapping[str, str] = DEFAULT_VERBS) -> MappedStatement:
    """Validate and map one statement; raises :class:`StatementError` naming the bad field
    when it is invalid xAPI. now: Unix seconds used when it has no timestamp. verbs: the
    tenant's verb table."""
    if not isinstance(statement, Mapping):
        raise StatementError("statement", "must be a JSON object")
    verb = statement.get("verb")
    if not isinstance(verb, Mapping) or not isinstance(verb.get("id"), str) or ":" not in verb["id"]:
        raise StatementError("verb.id", "every statement needs a verb with an IRI id")
    identity = _actor_identity(statement.get("actor"))
    validate.statement_body(statement)
    digest = canonical_digest(statement)
    sid = _statement_id(statement)
    ts = statement.get("timestamp")
    when = _parse_time(ts, "timestamp") if ts is not None else now
    stored = _as_stored(statement, sid, now)
    if verb["id"] == VOIDED_VERB:
        obj = statement.get("object")
        if not isinstance(obj, Mapping) or obj.get("objectType") != "StatementRef":
            raise StatementError("object", "a voiding statement's object must be a StatementRef")
        try:
            target = str(uuid.UUID(str(obj.get("id"))))
        except ValueError:
            raise StatementError("object.id", f"{obj.get('id')!r} is not a statement UUID") from None
        return MappedStatement(sid, digest, stored, verb["id"], identity, timestamp=when, voids=target,
                               why_not="voiding statement")
    keys = activity_keys(statement.get("object"))
    outcome, why_not = _evidence(statement, verb["id"], verbs)
    if not keys and why_not is None:
        outcome, why_not = None, "object is not an Activity"
    if identity is None and why_not is None:
        outcome, why_not = None, "actor is a Group, not one learner"
    return MappedStatement(sid, digest, stored, verb["id"], identity, keys, outcome, why_not, when)
