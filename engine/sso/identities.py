"""Identity links: a verified claim value (an email address or a provider ``sub``) names one
rostered person (teacher, student or guardian). Links are made by admins, by roster imports and
by LTI roster sync; a sign-in only ever *finds* a link, it never creates a person or a link."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ValidationError

IDENTITY_KIND = "sso_identity"
PERSON_ROLES = ("teacher", "student", "guardian")


def normalize(claim: str, value: str) -> str:
    """The lookup form of a claim value: emails are trimmed and lower-cased, ``sub`` trimmed."""
    if claim not in ("email", "sub"):
        raise ValidationError(f"claim {claim!r} is not supported; use email or sub")
    if not isinstance(value, str) or not value.strip() or len(value) > 320:
        raise ValidationError(f"{claim} must be 1-320 characters, got {value!r}")
    value = value.strip()
    if claim == "email":
        if "@" not in value[1:-1]:
            raise ValidationError(f"email {value!r} is not an email address")
        return value.lower()
    return value


def doc_id(claim: str, value: str) -> str:
    return f"{claim}:{normalize(claim, value)}"


@dataclass(frozen=True)
class IdentityLink:
    """``claim`` (email/sub) ``value`` -> the person: ``role`` and ``person_id`` (teacher id,
    learner id or guardian id). ``source``: who made the link (admin, roster, lti)."""

    claim: str
    value: str
    role: str
    person_id: str
    source: str = "admin"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", normalize(self.claim, self.value))
        if self.role not in PERSON_ROLES:
            raise ValidationError(f"role {self.role!r} cannot sign in by SSO; use one of "
                                  f"{', '.join(PERSON_ROLES)}")
        if not isinstance(self.person_id, str) or not self.person_id.strip():
            raise ValidationError("person_id is empty; give the teacher, learner or guardian id")

    def to_record(self) -> dict[str, str | None]:
        return {"claim": self.claim, "value": self.value, "role": self.role,
                "person_id": self.person_id, "source": self.source,
                # indexed: erasing a learner finds their links
                "learner_id": self.person_id if self.role == "student" else None}
