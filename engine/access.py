"""Tenants, roles, hashed credentials, permission checks and audit entries.

Pure domain logic: nothing here touches HTTP. The service authenticates a
request into a :class:`Principal`, then calls :func:`authorize` with the action
and (for the scoped roles: teacher, student, guardian) the :class:`Scope` of what
the principal may see.

Roles
-----
``lms``        writes evidence and reads recommendations in its tenant.
``teacher``    reads and reviews only the learners of the classes they teach.
``student``    reads their own plan and progress, makes choices, rates activities and
               writes the profile fields a student owns (``learner_id``: themselves).
``guardian``   reads their linked children's plan and progress and adds notes to their
               profiles (``guardian_id``; the children come from the roster's links).
``researcher`` fits models and reads pseudonymized exports only.
``admin``      everything inside its tenant (imports, catalog, keys, export/delete).

Credentials are random 256-bit tokens; only their SHA-256 hash is stored (a
high-entropy token needs no slow hash). Teacher logins (username/password)
use scrypt with a per-login salt (legacy PBKDF2 hashes still verify and are upgraded at the
next good login), a 12-character minimum and :class:`LoginThrottle`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.errors import AccessDenied, ValidationError

ROLES = ("lms", "teacher", "student", "guardian", "researcher", "admin")
# Roles whose every learner- or class-specific action is checked against a Scope.
SCOPED_ROLES = frozenset({"teacher", "student", "guardian"})

# action -> roles allowed (before any per-learner/class scope check)
PERMISSIONS: dict[str, frozenset[str]] = {
    "evidence:write": frozenset({"lms", "teacher", "admin"}),
    "learner:read": frozenset({"teacher", "student", "guardian", "admin"}),
    "learner:write": frozenset({"teacher", "admin"}),
    "learner:export": frozenset({"admin"}),
    "learner:delete": frozenset({"admin"}),
    "recommendation:read": frozenset({"lms", "teacher", "student", "guardian", "admin"}),
    "plan:review": frozenset({"teacher", "admin"}),
    "class:read": frozenset({"teacher", "admin"}),
    "graph:read": frozenset({"lms", "teacher", "student", "guardian", "researcher", "admin"}),
    "graph:write": frozenset({"admin"}),
    "catalog:read": frozenset({"lms", "teacher", "student", "guardian", "researcher", "admin"}),
    "catalog:write": frozenset({"admin"}),
    "model:fit": frozenset({"researcher", "admin"}),
    "model:read": frozenset({"researcher", "admin"}),
    "research:export": frozenset({"researcher", "admin"}),
    "audit:read": frozenset({"admin"}),
    "keys:admin": frozenset({"admin"}),
    "policy:read": frozenset({"teacher", "admin"}),
    "policy:write": frozenset({"admin"}),
    # the learner's own voice: picks on a choice board, "how did it go?" ratings, goals and
    # the profile fields each role owns (which fields: the profile's ownership rule)
    "plan:choose": frozenset({"student", "teacher", "admin"}),
    "evidence:self-report": frozenset({"student"}),
    "profile:write": frozenset({"student", "guardian", "teacher", "admin"}),
    "roster:write": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: tenant (district/school), role, and the credential's id.

    ``teacher_id`` is set for teachers (the id their classes list), ``learner_id`` for
    students (themselves), ``guardian_id`` for guardians (their children come from the
    roster's guardian links, see :class:`Scope`); ``name`` is for display and audit only.
    """

    tenant: str
    role: str
    key_id: str
    name: str = ""
    teacher_id: str | None = None
    learner_id: str | None = None
    guardian_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")
        needs = {"teacher": ("teacher_id", self.teacher_id, "the id used in class rosters"),
                 "student": ("learner_id", self.learner_id, "the learner the student is"),
                 "guardian": ("guardian_id", self.guardian_id, "the guardian's roster id")}
        if self.role in needs and not needs[self.role][1]:
            name, _, what = needs[self.role]
            raise ValidationError(f"a {self.role} principal needs {name} ({what})")

    @property
    def subject(self) -> str | None:
        """The person the credential belongs to: teacher, learner or guardian id (else None)."""
        return self.teacher_id or self.learner_id or self.guardian_id


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
class Scope:
    """What a scoped principal may see: class ids and learner ids.

    teacher: the classes they teach and the learners on those rosters; student: their own
    classes and themselves; guardian: no class, their linked children."""

    class_ids: frozenset[str] = frozenset()
    learner_ids: frozenset[str] = frozenset()

    @classmethod
    def from_rosters(cls, rosters: Mapping[str, Iterable[str]]) -> Scope:
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
    scope: Scope | None = None,
) -> None:
    """Raise :class:`AccessDenied` unless ``principal`` may do ``action``.

    tenant: the tenant that owns the resource (must equal the principal's).
    learner_id / class_id: the resource, checked against ``scope`` for the scoped roles
    (teacher, student, guardian).
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
    if principal.role not in SCOPED_ROLES:
        return
    if learner_id is None and class_id is None:
        return
    if scope is None:
        raise AccessDenied(f"{principal.role} scope unknown; cannot check class membership")
    if class_id is not None and class_id not in scope.class_ids:
        raise AccessDenied(f"class {class_id!r} is not one of {principal.role} "
                           f"{principal.subject!r}'s classes")
    if learner_id is not None and learner_id not in scope.learner_ids:
        whose = {"teacher": f"in a class taught by {principal.teacher_id!r}",
                 "student": f"the student {principal.learner_id!r}",
                 "guardian": f"a child linked to guardian {principal.guardian_id!r}"}[principal.role]
        raise AccessDenied(f"learner {learner_id!r} is not {whose}")


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


# Password hashing: scrypt (RFC 7914) with n=2**15, r=8, p=1 -- 32 MiB and about 50-100 ms per
# hash on one core, the cost RFC 7914 and the Python docs suggest for interactive logins (OWASP's
# n=2**17 needs 128 MiB per concurrent login). Tests pass a lower ``n``; stored hashes carry their
# own parameters, so raising the cost later upgrades each login at its next success.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 12
_SCRYPT_MAXMEM = 2**26  # 64 MiB: room for n=2**15, r=8 (32 MiB) plus overhead


def check_new_password(password: str, *, min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """Raise :class:`ValidationError` unless ``password`` may be set by a user (>= 12 characters).

    Seeded demo logins (password ``demo``) are not user-set and skip this check."""
    if len(password) < min_length:
        raise ValidationError(
            f"password too short ({len(password)} characters): use at least {min_length} characters"
        )


def hash_password(password: str, *, salt: bytes | None = None, n: int = SCRYPT_N,
                  min_length: int = MIN_PASSWORD_LENGTH) -> str:
    """``scrypt$n$r$p$salt_hex$hash_hex`` for a login password (>= ``min_length`` characters;
    ``min_length=1`` only for seeded demo logins)."""
    check_new_password(password, min_length=max(1, min_length))
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=_SCRYPT_MAXMEM, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def _digest(password: bytes, encoded: str) -> tuple[bytes, str] | None:
    parts = encoded.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            return hashlib.scrypt(password, salt=bytes.fromhex(parts[4]), n=n, r=r, p=p,
                                  maxmem=_SCRYPT_MAXMEM, dklen=len(parts[5]) // 2), parts[5]
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:  # legacy (before scrypt)
            return hashlib.pbkdf2_hmac("sha256", password, bytes.fromhex(parts[2]),
                                       int(parts[1])), parts[3]
    except (ValueError, OverflowError, MemoryError):
        return None
    return None


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded`` (scrypt, or a legacy PBKDF2 hash;
    constant-time compare)."""
    found = _digest(password.encode("utf-8"), encoded)
    return found is not None and hmac.compare_digest(found[0].hex(), found[1])


def needs_rehash(encoded: str, *, n: int = SCRYPT_N) -> bool:
    """True when ``encoded`` is not scrypt at the current cost (upgrade it after a good login)."""
    parts = encoded.split("$")
    return not (parts[0] == "scrypt" and len(parts) == 6 and parts[1:4] == [str(n), str(SCRYPT_R), str(SCRYPT_P)])


@functools.cache
def dummy_password_hash(n: int = SCRYPT_N) -> str:
    """A hash of a random password, verified against on the unknown-user path so that a
    login for a user who does not exist costs the same time as a wrong password."""
    return hash_password(secrets.token_urlsafe(16), n=n)


# Login throttling: a username (per tenant) is locked after 5 failures within 15 minutes, a
# client address after 20; a lock lasts 15 minutes from the last failure and even the right
# password is refused meanwhile. A success clears the username's count. The counts live in a
# FailureLog: in memory for one process, or in the store (engine.app._throttle) so that every
# server process of an installation shares them (``pathwise serve --workers N``).
LOGIN_WINDOW_S = 15 * 60
LOGIN_MAX_FAILURES_USER = 5
LOGIN_MAX_FAILURES_ADDRESS = 20


class MemoryFailureLog:
    """Failure times (seconds) per throttle key, in this process only. Thread-safe."""

    def __init__(self) -> None:
        self._failures: dict[tuple, list[float]] = {}
        self._lock = threading.Lock()

    def times(self, key: tuple) -> list[float]:
        with self._lock:
            return list(self._failures.get(key, ()))

    def add(self, key: tuple, at: float, window_s: float) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bound memory under a spray of addresses
                self._failures = {k: v for k, v in self._failures.items() if v and at - v[-1] < window_s}
            kept = [t for t in self._failures.get(key, ()) if at - t < window_s]
            self._failures[key] = [*kept, at]

    def clear(self, key: tuple) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginThrottle:
    """Failure counts per ``("user", tenant, username)`` and ``("addr", address)``.

    ``clock``: seconds (wall clock, comparable across processes); injectable for tests.
    ``log``: where the failures are kept (:class:`MemoryFailureLog` by default)."""

    def __init__(self, *, window_s: float = LOGIN_WINDOW_S, max_user: int = LOGIN_MAX_FAILURES_USER,
                 max_address: int = LOGIN_MAX_FAILURES_ADDRESS, clock=time.time, log=None) -> None:
        self.window_s, self.max_user, self.max_address, self._clock = window_s, max_user, max_address, clock
        self.log = log if log is not None else MemoryFailureLog()

    def _keys(self, tenant: str, username: str, address: str | None) -> list[tuple[tuple, int]]:
        keys = [(("user", tenant, username.strip().lower()), self.max_user)] if username.strip() else []
        if address:
            keys.append((("addr", address), self.max_address))
        return keys

    def retry_after(self, tenant: str, username: str, address: str | None) -> float:
        """Seconds until a login for ``username`` from ``address`` is allowed again (0: now)."""
        now, wait = self._clock(), 0.0
        for key, limit in self._keys(tenant, username, address):
            times = [t for t in self.log.times(key) if now - t < self.window_s]
            if len(times) >= limit:
                wait = max(wait, max(times) + self.window_s - now)
        return wait

    def failed(self, tenant: str, username: str, address: str | None) -> None:
        now = self._clock()
        for key, _ in self._keys(tenant, username, address):
            self.log.add(key, now, self.window_s)

    def succeeded(self, tenant: str, username: str) -> None:
        self.log.clear(("user", tenant, username.strip().lower()))


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
