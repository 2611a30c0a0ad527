"""xAPI 1.0.3 statements → Pathwise evidence (pure mapping rules, no I/O; the use case that
stores them, with statement-id idempotency and voiding, is ``SchoolApp.store_statements``).

Mapping
-------
* actor: ``account.name`` (preferred), else the ``mbox`` address (``mailto:`` stripped),
  resolved to a learner id by the caller's ``resolve_learner`` (exact id, then the
  address, then its local part).
* object.id (an IRI) → activity id: the full IRI if the catalog knows it, else its last
  path segment (``https://lms.example/activities/act-12`` → ``act-12``).
* outcome: ``result.score.scaled`` (negative scores count as 0), else ``score.raw`` scaled
  by ``min``/``max``, else ``success`` (1/0), else ``completion`` (1/0). A statement with
  none of them carries no evidence and is rejected with 422.
* statement id → observation id ``xapi:<id>``; a statement without id gets a
  deterministic UUID5 of its canonical JSON, so a retried id-less statement counts once.
* voiding statements (verb ``http://adlnet.gov/expapi/verbs/voided``, object a
  ``StatementRef``) retract the voided statement's evidence.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from engine.errors import ValidationError

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
XAPI_VERSION = "1.0.3"
_NS = uuid.UUID("6f1c1f7e-2b1a-4d3e-9a55-0d6a7c2b9e10")


class StatementError(ValidationError):
    """A statement that cannot become evidence; ``field`` is its JSON path (prefixed with
    ``statements[i].`` for arrays by the use case)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MappedStatement:
    """One statement, mapped.

    statement_id: the statement's id; digest: SHA-256 of its canonical JSON (the
    id-independent content used for the 'same id, different statement' check).
    For evidence statements: learner_id, activity_id, outcome in [0, 1],
    timestamp (Unix seconds). For voiding statements: voids = the voided id.
    """

    statement_id: str
    digest: str
    learner_id: str | None = None
    activity_id: str | None = None
    outcome: float | None = None
    timestamp: float | None = None
    verb: str = ""
    voids: str | None = None

    @property
    def observation_id(self) -> str:
        return observation_id(self.statement_id)


def observation_id(statement_id: str) -> str:
    return f"xapi:{statement_id}"


def canonical_digest(statement: Mapping) -> str:
    """SHA-256 of the statement without LRS-assigned fields (``stored``, ``authority``)."""
    body = {k: v for k, v in statement.items() if k not in ("stored", "authority", "version")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


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


def actor_keys(actor) -> list[str]:
    """Candidate learner ids for an xAPI Agent, best first."""
    if not isinstance(actor, Mapping):
        raise StatementError("actor", "must be an Agent object")
    keys: list[str] = []
    account = actor.get("account")
    if account is not None:
        if not isinstance(account, Mapping) or not isinstance(account.get("name"), str) or not account["name"]:
            raise StatementError("actor.account.name", "an account needs a non-empty name")
        keys.append(account["name"])
    mbox = actor.get("mbox")
    if mbox is not None:
        if not isinstance(mbox, str) or not mbox.startswith("mailto:") or "@" not in mbox:
            raise StatementError("actor.mbox", f"{mbox!r} must look like 'mailto:name@example.org'")
        address = mbox[len("mailto:") :]
        keys.extend([address, address.split("@", 1)[0]])
    if not keys:
        raise StatementError("actor", "identify the learner with 'account' {homePage, name} or 'mbox'")
    return keys


def activity_keys(obj) -> list[str]:
    """Candidate activity ids for an xAPI Activity object, best first."""
    if not isinstance(obj, Mapping):
        raise StatementError("object", "must be an object")
    kind = obj.get("objectType", "Activity")
    if kind != "Activity":
        raise StatementError("object.objectType", f"{kind!r} carries no evidence; send an Activity")
    oid = obj.get("id")
    if not isinstance(oid, str) or not oid:
        raise StatementError("object.id", "an Activity needs an id (IRI)")
    keys = [oid]
    tail = oid.rstrip("/").rsplit("/", 1)[-1]
    if tail and tail != oid:
        keys.append(tail)
    return keys


def outcome_of(result) -> float:
    """Outcome in [0, 1] from an xAPI result (see module doc for precedence)."""
    if not isinstance(result, Mapping):
        raise StatementError("result", "needs score.scaled, success or completion to be evidence")
    score = result.get("score")
    if score is not None:
        if not isinstance(score, Mapping):
            raise StatementError("result.score", "must be an object")
        if "scaled" in score:
            scaled = score["scaled"]
            if isinstance(scaled, bool) or not isinstance(scaled, int | float) or not -1 <= scaled <= 1:
                raise StatementError("result.score.scaled", f"{scaled!r} must be a number in [-1, 1]")
            return max(0.0, float(scaled))
        if "raw" in score and "min" in score and "max" in score:
            raw, lo, hi = score["raw"], score["min"], score["max"]
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (raw, lo, hi)) or not lo < hi or not lo <= raw <= hi:
                raise StatementError("result.score", "needs min < max and min <= raw <= max")
            return (float(raw) - lo) / (hi - lo)
    for name in ("success", "completion"):
        if name in result:
            value = result[name]
            if not isinstance(value, bool):
                raise StatementError(f"result.{name}", f"{value!r} must be true or false")
            return 1.0 if value else 0.0
    raise StatementError("result", "needs score.scaled, score.raw+min+max, success or completion")


def map_statement(
    statement,
    *,
    resolve_learner: Callable[[list[str]], str | None],
    resolve_activity: Callable[[list[str]], str | None],
    now: float,
) -> MappedStatement:
    """Map one statement; raises :class:`StatementError` naming the bad field.

    resolve_learner / resolve_activity: take candidate ids, return the known id or None.
    now: Unix seconds used when the statement has no timestamp.
    """
    if not isinstance(statement, Mapping):
        raise StatementError("statement", "must be a JSON object")
    digest = canonical_digest({k: v for k, v in statement.items() if k != "id"})
    sid = statement.get("id")
    if sid is None:
        sid = str(uuid.uuid5(_NS, digest))
    else:
        try:
            sid = str(uuid.UUID(str(sid)))
        except ValueError:
            raise StatementError("id", f"{sid!r} is not a UUID") from None
    verb = statement.get("verb")
    if not isinstance(verb, Mapping) or not isinstance(verb.get("id"), str) or not verb["id"]:
        raise StatementError("verb.id", "every statement needs a verb with an id (IRI)")
    actor = actor_keys(statement.get("actor"))
    if verb["id"] == VOIDED_VERB:
        obj = statement.get("object")
        if not isinstance(obj, Mapping) or obj.get("objectType") != "StatementRef":
            raise StatementError("object", "a voiding statement's object must be a StatementRef")
        try:
            target = str(uuid.UUID(str(obj.get("id"))))
        except ValueError:
            raise StatementError("object.id", f"{obj.get('id')!r} is not a statement UUID") from None
        return MappedStatement(sid, digest, verb=verb["id"], voids=target)
    learner = resolve_learner(actor)
    if learner is None:
        raise StatementError("actor", f"no learner matches {actor[0]!r}; register the learner first")
    keys = activity_keys(statement.get("object"))
    activity = resolve_activity(keys)
    if activity is None:
        raise StatementError("object.id", f"no activity matches {keys[0]!r}; add it to the catalog")
    outcome = outcome_of(statement.get("result"))
    ts = statement.get("timestamp")
    when = _parse_time(ts, "timestamp") if ts is not None else now
    return MappedStatement(sid, digest, learner, activity, outcome, when, verb["id"])
