"""Tenants, roles, hashed credentials, permission checks and audit entries.

Pure domain logic: nothing here touches HTTP. The service authenticates a
request into a :class:`Principal`, then calls :func:`authorize` with the action
and (for teachers) the :class:`TeacherScope` of the classes they teach.

Roles
-----
``lms``        writes evidence and reads recommendations in its tenant.
``teacher``    reads and reviews only the learners of the classes they teach.
``researcher`` fits models and reads pseudonymized exports only.
``admin``      everything inside its tenant (imports, catalog, keys, export/delete).

Credentials are random 256-bit tokens; only their SHA-256 hash is stored (a
high-entropy token needs no slow hash). Teacher logins (username/password)
use PBKDF2-HMAC-SHA256 with a per-login salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.errors import AccessDenied, ValidationError

ROLES = ("lms", "teacher", "researcher", "admin")

# action -> roles allowed (before any per-learner/class scope check)
PERMISSIONS: dict[str, frozenset[str]] = {
    "evidence:write": frozenset({"lms", "teacher", "admin"}),
    "learner:read": frozenset({"teacher", "admin"}),
    "learner:write": frozenset({"teacher", "admin"}),
    "learner:export": frozenset({"admin"}),
    "learner:delete": frozenset({"admin"}),
    "recommendation:read": frozenset({"lms", "teacher", "admin"}),
    "plan:review": frozenset({"teacher", "admin"}),
    "class:read": frozenset({"teacher", "admin"}),
    "graph:read": frozenset({"lms", "teacher", "researcher", "admin"}),
    "graph:write": frozenset({"admin"}),
    "catalog:read": frozenset({"lms", "teacher", "researcher", "admin"}),
    "catalog:write": frozenset({"admin"}),
    "model:fit": frozenset({"researcher", "admin"}),
    "model:read": frozenset({"researcher", "admin"}),
    "research:export": frozenset({"researcher", "admin"}),
    "audit:read": frozenset({"admin"}),
    "keys:admin": frozenset({"admin"}),
    "policy:read": frozenset({"teacher", "admin"}),
    "policy:write": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: tenant (district/school), role, and the credential's id.

    ``teacher_id`` is set for teachers (the id their classes list); ``name`` is
    for display and audit only.
    """

    tenant: str
    role: str
    key_id: str
    name: str = ""
    teacher_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")
        if self.role == "teacher" and not self.teacher_id:
            raise ValidationError("a teacher principal needs teacher_id (the id used in class rosters)")


@dataclass(frozen=True)
class Caller:
    """Who makes one request: the authenticated principal, the request id (for the audit)
    and the channel (``"api"`` or ``"page"``, the teacher page). Every use case of
    :class:`engine.app.SchoolApp` takes one, checks it with :func:`authorize` and writes its
    audit entry."""

    principal: Principal
    request_id: str | None = None
    via: str = "api"


@dataclass(frozen=True)
class TeacherScope:
    """The classes a teacher teaches and the learners on those rosters."""

    class_ids: frozenset[str] = frozenset()
    learner_ids: frozenset[str] = frozenset()

    @classmethod
    def from_rosters(cls, rosters: Mapping[str, Iterable[str]]) -> TeacherScope:
        """``rosters``: class id -> learner ids, for the teacher's classes only."""
        learners: set[str] = set()
        for members in rosters.values():
            learners.update(members)
        return cls(frozenset(rosters), frozenset(learners))


def authorize(
    principal: Principal,
    action: str,
    *,
    tenant: str | None = None,
    learner_id: str | None = None,
    class_id: str | None = None,
    scope: TeacherScope | None = None,
) -> None:
    """Raise :class:`AccessDenied` unless ``principal`` may do ``action``.

    tenant: the tenant that owns the resource (must equal the principal's).
    learner_id / class_id: the resource, checked against ``scope`` for teachers.
    """
    allowed = PERMISSIONS.get(action)
    if allowed is None:
        raise ValidationError(f"unknown action {action!r}; known: {', '.join(sorted(PERMISSIONS))}")
    if tenant is not None and tenant != principal.tenant:
        raise AccessDenied(f"credential of tenant {principal.tenant!r} may not access tenant {tenant!r}")
    if principal.role not in allowed:
        raise AccessDenied(
            f"role {principal.role!r} may not {action}; roles allowed: {', '.join(sorted(allowed))}"
        )
    if principal.role != "teacher":
        return
    if learner_id is None and class_id is None:
        return
    if scope is None:
        raise AccessDenied("teacher scope unknown; cannot check class membership")
    if class_id is not None and class_id not in scope.class_ids:
        raise AccessDenied(f"class {class_id!r} is not one of teacher {principal.teacher_id!r}'s classes")
    if learner_id is not None and learner_id not in scope.learner_ids:
        raise AccessDenied(
            f"learner {learner_id!r} is not in a class taught by {principal.teacher_id!r}"
        )


# --------------------------------------------------------------------------- credentials


def new_api_key(role: str) -> str:
    """A fresh random key, prefixed by its role for readability (``pw_lms_...``)."""
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return f"pw_{role}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    """SHA-256 hex digest of an API key or bearer token (what the store keeps)."""
    if not key:
        raise ValidationError("empty API key")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


PBKDF2_ROUNDS = 120_000


def hash_password(password: str, *, salt: bytes | None = None, rounds: int = PBKDF2_ROUNDS) -> str:
    """``pbkdf2_sha256$rounds$salt_hex$hash_hex`` for a login password."""
    if len(password) < 4:
        raise ValidationError("password too short: use at least 4 characters")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds)
    return f"pbkdf2_sha256${rounds}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded`` (constant-time compare)."""
    try:
        scheme, rounds, salt_hex, hash_hex = encoded.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(rounds)
    )
    return hmac.compare_digest(digest.hex(), hash_hex)


# --------------------------------------------------------------------------- privacy


def pseudonymize(learner_id: str, tenant_secret: str) -> str:
    """Stable per-tenant pseudonym of a learner id (HMAC-SHA256, 16 hex chars).

    Without the tenant secret the pseudonym cannot be linked back to the id.
    """
    mac = hmac.new(tenant_secret.encode("utf-8"), learner_id.encode("utf-8"), hashlib.sha256)
    return "p_" + mac.hexdigest()[:16]


@dataclass(frozen=True)
class AuditEntry:
    """One append-only audit row: who did what to which learner/resource, when.

    action: ``read`` / ``write`` / ``delete`` / ``export`` / ``review`` / ...;
    resource: e.g. ``learner.mastery``, ``plan``; detail: small JSON-able dict.
    The store keeps it as an ``engine.store.AuditRecord`` (with its sequence number).
    """

    tenant: str
    actor: str
    role: str
    action: str
    resource: str
    learner_id: str | None = None
    resource_id: str | None = None
    request_id: str | None = None
    at: float = field(default_factory=time.time)
    detail: Mapping = field(default_factory=dict)

    def to_record(self) -> dict:
        return {
            "tenant": self.tenant,
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "resource": self.resource,
            "learner_id": self.learner_id,
            "resource_id": self.resource_id,
            "request_id": self.request_id,
            "at": self.at,
            "detail": dict(self.detail),
        }


def audit_entry(
    principal: Principal,
    action: str,
    resource: str,
    *,
    learner_id: str | None = None,
    resource_id: str | None = None,
    request_id: str | None = None,
    detail: Mapping | None = None,
) -> AuditEntry:
    return AuditEntry(
        tenant=principal.tenant,
        actor=principal.key_id,
        role=principal.role,
        action=action,
        resource=resource,
        learner_id=learner_id,
        resource_id=resource_id,
        request_id=request_id,
        detail=dict(detail or {}),
    )
