"""Per-tenant OpenID Connect provider settings, set by an admin (CLI or API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.sso.errors import ProviderConfigError

MATCH_CLAIMS = ("email", "sub")
DISCOVERY_PATH = "/.well-known/openid-configuration"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_url(field: str, value: str) -> str:
    """``value`` as an absolute http(s) URL; plain http only on loopback (tests, local IdPs)."""
    if not isinstance(value, str) or not value.strip():
        raise ProviderConfigError(f"{field} is empty; give the full https:// URL")
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderConfigError(f"{field} {value!r} is not an absolute http(s) URL; "
                                  "give the full https:// URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ProviderConfigError(f"{field} {value!r} uses plain http; use https:// "
                                  "(plain http is accepted on loopback addresses only)")
    return value


@dataclass(frozen=True)
class IdentityProvider:
    """One tenant's OpenID Connect provider.

    issuer: the provider's issuer identifier (must equal ``issuer`` in its discovery document
    and ``iss`` in every ID token); discovery_url: where its metadata lives (default
    ``issuer + /.well-known/openid-configuration``); client_id / client_secret: Pathwise's
    registration at the provider; match_claim: ``email`` or ``sub``, the verified claim that
    names a rostered person; label: the button text ("Sign in with <label>").
    """

    issuer: str
    client_id: str
    client_secret: str = ""
    match_claim: str = "email"
    discovery_url: str = ""
    label: str = "your school account"

    def __post_init__(self) -> None:
        issuer = check_url("issuer", self.issuer).rstrip("/")
        object.__setattr__(self, "issuer", issuer)
        discovery = self.discovery_url or issuer + DISCOVERY_PATH
        object.__setattr__(self, "discovery_url", check_url("discovery_url", discovery))
        if not isinstance(self.client_id, str) or not self.client_id.strip():
            raise ProviderConfigError("client_id is empty; give the client id the identity "
                                      "provider issued for Pathwise")
        if not isinstance(self.client_secret, str):
            raise ProviderConfigError("client_secret must be a string")
        if self.match_claim not in MATCH_CLAIMS:
            raise ProviderConfigError(f"match_claim {self.match_claim!r} is not supported; "
                                      f"use one of {', '.join(MATCH_CLAIMS)}")
        if not isinstance(self.label, str) or not self.label.strip() or len(self.label) > 80:
            raise ProviderConfigError("label must be 1-80 characters (the sign-in button text)")

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> IdentityProvider:
        known = {"issuer", "client_id", "client_secret", "match_claim", "discovery_url", "label"}
        unknown = sorted(set(rec) - known)
        if unknown:
            raise ProviderConfigError(f"unknown identity-provider field(s) {unknown}; "
                                      f"known: {sorted(known)}")
        if "issuer" not in rec or "client_id" not in rec:
            raise ProviderConfigError("issuer and client_id are required")
        return cls(**{k: rec[k] for k in known if rec.get(k) is not None})

    def to_record(self) -> dict[str, str]:
        """Everything, secret included (for the store only)."""
        return {"issuer": self.issuer, "client_id": self.client_id, "client_secret": self.client_secret,
                "match_claim": self.match_claim, "discovery_url": self.discovery_url, "label": self.label}

    def public(self) -> dict[str, Any]:
        """What an admin may read back: the secret is never returned, only whether one is set."""
        rec: dict[str, Any] = self.to_record()
        rec["has_client_secret"] = bool(rec.pop("client_secret"))
        return rec
