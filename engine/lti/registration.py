"""LTI 1.3 platform registrations (one per issuer + client id), set by admins."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.lti.errors import PlatformConfigError
from engine.sso.config import check_url

PLATFORM_KIND = "lti_platform"


def platform_id(issuer: str, client_id: str) -> str:
    """Stable short id of a registration: ``lti-`` + 12 hex chars of SHA-256(issuer, client id)."""
    return "lti-" + hashlib.sha256(f"{issuer}\n{client_id}".encode()).hexdigest()[:12]


def _url(field: str, value: Any) -> str:
    try:
        return check_url(field, value)
    except ValueError as exc:
        raise PlatformConfigError(str(exc)) from None


@dataclass(frozen=True)
class Platform:
    """A registered LMS. issuer: the platform's ``iss``; client_id: the id the platform gave
    Pathwise (the ``aud`` of its messages); deployment_ids: the deployments Pathwise accepts;
    jwks_url: the platform's public keys; auth_login_url: its OIDC authorization endpoint (where
    login initiation sends the browser); token_url: its OAuth 2 token endpoint (services);
    name: for people; default_grade: grade of classes and learners created by roster sync."""

    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    jwks_url: str
    auth_login_url: str
    token_url: str
    name: str = ""
    default_grade: str = "unknown"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "issuer", _url("issuer", self.issuer).rstrip("/") if self.issuer.rstrip("/") else self.issuer)
        if not isinstance(self.client_id, str) or not self.client_id.strip():
            raise PlatformConfigError("client_id is empty; give the client id the platform issued for Pathwise")
        deployments = tuple(self.deployment_ids)
        if not deployments or any(not isinstance(d, str) or not d.strip() or len(d) > 255 for d in deployments):
            raise PlatformConfigError(f"deployment_ids {list(deployments)!r} must hold 1 or more non-empty "
                                      "deployment ids (as the platform shows them)")
        set_(self, "deployment_ids", tuple(dict.fromkeys(d.strip() for d in deployments)))
        for field in ("jwks_url", "auth_login_url", "token_url"):
            set_(self, field, _url(field, getattr(self, field)))
        if not isinstance(self.default_grade, str) or not self.default_grade.strip():
            raise PlatformConfigError("default_grade is empty; give the grade of synced classes (e.g. 5)")

    @property
    def id(self) -> str:
        return platform_id(self.issuer, self.client_id)

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Platform:
        known = ("issuer", "client_id", "deployment_ids", "jwks_url", "auth_login_url", "token_url",
                 "name", "default_grade")
        unknown = sorted(set(rec) - set(known) - {"id"})
        if unknown:
            raise PlatformConfigError(f"unknown platform field(s) {unknown}; known: {list(known)}")
        missing = [k for k in known[:6] if not rec.get(k)]
        if missing:
            raise PlatformConfigError(f"missing platform field(s) {missing}")
        return cls(**{k: (tuple(rec[k]) if k == "deployment_ids" else rec[k]) for k in known if k in rec})

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "issuer": self.issuer, "client_id": self.client_id,
                "deployment_ids": list(self.deployment_ids), "jwks_url": self.jwks_url,
                "auth_login_url": self.auth_login_url, "token_url": self.token_url, "name": self.name,
                "default_grade": self.default_grade}
