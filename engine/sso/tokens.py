"""Provider discovery and ID-token validation (OpenID Connect Core 1.0 §3.1.3.7).

The provider's metadata and keys are fetched with ``httpx`` on each sign-in (sign-ins are
rare; a rotated provider key is picked up at once); the ID token is checked with PyJWT:
signature against the provider's JWKS, ``iss`` equal to the configured issuer, ``aud``
containing our client id (``azp`` when there are several audiences), ``exp``/``iat``, and the
``nonce`` we sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from engine.sso.config import IdentityProvider, check_url
from engine.sso.errors import SignInRefused

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
LEEWAY_S = 60
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a discovery document Pathwise uses (all absolute URLs)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _get_json(url: str, what: str, client: httpx.Client | None) -> Mapping[str, Any]:
    try:
        if client is None:
            with httpx.Client(timeout=TIMEOUT_S) as c:
                resp = c.get(url)
        else:
            resp = client.get(url)
        resp.raise_for_status()
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInRefused(f"could not read the identity provider's {what} at {url}: {exc}; "
                            "check the provider's address (issuer / discovery_url)") from None
    if not isinstance(body, Mapping):
        raise SignInRefused(f"the identity provider's {what} at {url} is not a JSON object")
    return body


def discover(provider: IdentityProvider, client: httpx.Client | None = None) -> ProviderMetadata:
    """Read the discovery document; its ``issuer`` must equal the configured one exactly
    (OpenID Connect Discovery §4.3), else the sign-in is refused."""
    meta = _get_json(provider.discovery_url, "discovery document", client)
    issuer = str(meta.get("issuer", "")).rstrip("/")
    if issuer != provider.issuer:
        raise SignInRefused(
            f"wrong issuer: the identity provider at {provider.discovery_url} says its issuer is "
            f"{issuer!r}, but this school is configured for {provider.issuer!r}; an admin must fix "
            "the issuer (pathwise sso set --issuer) if the provider really moved")
    try:
        return ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=check_url("authorization_endpoint", meta.get("authorization_endpoint", "")),
            token_endpoint=check_url("token_endpoint", meta.get("token_endpoint", "")),
            jwks_uri=check_url("jwks_uri", meta.get("jwks_uri", "")))
    except ValueError as exc:
        raise SignInRefused(f"the identity provider's discovery document is incomplete: {exc}") from None


def verify_id_token(id_token: str, *, provider: IdentityProvider, metadata: ProviderMetadata,
                    nonce: str, client: httpx.Client | None = None) -> dict[str, Any]:
    """The verified claims of ``id_token``; :class:`SignInRefused` naming the failed check."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        raise SignInRefused("the identity provider returned no ID token (is the 'openid' scope allowed?)")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise SignInRefused(f"the ID token is malformed: {exc}") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise SignInRefused(f"the ID token is signed with {alg!r}; Pathwise accepts {', '.join(ALGORITHMS)}")
    key = _signing_key(header, _get_json(metadata.jwks_uri, "key set (JWKS)", client))
    try:
        claims = jwt.decode(id_token, key=key, algorithms=[alg], audience=provider.client_id,
                            issuer=provider.issuer, leeway=LEEWAY_S,
                            options={"require": ["iss", "aud", "exp", "iat", "sub"]})
    except jwt.InvalidIssuerError:
        iss = jwt.decode(id_token, options={"verify_signature": False}).get("iss")
        raise SignInRefused(f"wrong issuer: the ID token was issued by {iss!r}, not by the "
                            f"configured provider {provider.issuer!r}") from None
    except jwt.InvalidAudienceError:
        raise SignInRefused(f"the ID token is not addressed to Pathwise's client id "
                            f"{provider.client_id!r}") from None
    except jwt.InvalidSignatureError:
        raise SignInRefused("the ID token's signature does not match the identity provider's "
                            "published keys") from None
    except jwt.PyJWTError as exc:
        raise SignInRefused(f"the ID token is not valid: {exc}") from None
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != provider.client_id:
        raise SignInRefused("the ID token has several audiences and its azp is not Pathwise's client id")
    if claims.get("nonce") != nonce:
        raise SignInRefused("the ID token's nonce does not match this sign-in (a replayed or "
                            "foreign token); start the sign-in again")
    return claims


def _signing_key(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> Any:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise SignInRefused("the identity provider publishes no signing keys (empty JWKS)")
    kid = header.get("kid")
    candidates = [k for k in keys if isinstance(k, Mapping) and (kid is None or k.get("kid") == kid)]
    if not candidates:
        raise SignInRefused(f"the ID token is signed with key {kid!r}, which the identity provider "
                            "does not publish")
    try:
        return jwt.PyJWK(dict(candidates[0])).key
    except jwt.PyJWTError as exc:
        raise SignInRefused(f"the identity provider's key {kid!r} is unusable: {exc}") from None
