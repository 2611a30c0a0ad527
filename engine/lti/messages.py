"""LTI 1.3 messages: third-party login initiation, launch validation and the deep-linking
response (IMS LTI Core 1.3 §5.1 and IMS Security Framework 1.0 §5.1.1).

Login initiation stores a fresh ``state`` with its ``nonce`` (kind ``lti_state``, 10 minutes);
the launch must present that state, an ``id_token`` signed by a key the platform publishes,
addressed to the registered client id (``aud``/``azp``), from a registered deployment, carrying
that nonce, not used before (kind ``lti_nonce``: every accepted nonce is kept a day).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt

from engine.errors import ConflictError, NotFoundError
from engine.lti.errors import LaunchRefused
from engine.lti.registration import Platform

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
RESOURCE_LINK, DEEP_LINKING = "LtiResourceLinkRequest", "LtiDeepLinkingRequest"
STATE_KIND, NONCE_KIND = "lti_state", "lti_nonce"
STATE_TTL_S = 600
NONCE_TTL_S = 24 * 3600
LEEWAY_S = 60
TEACHER_ROLES = {"Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator", "Faculty", "Staff"}
STUDENT_ROLES = {"Learner", "Student"}
GUARDIAN_ROLES = {"Mentor"}


def pathwise_role(roles: Any) -> str | None:
    """``teacher``, ``student`` or ``guardian`` from LIS role URIs (teacher wins), else None."""
    names = {str(r).rsplit("#", 1)[-1].rsplit("/", 1)[-1] for r in roles or () if isinstance(r, str)}
    for role, wanted in (("teacher", TEACHER_ROLES), ("student", STUDENT_ROLES), ("guardian", GUARDIAN_ROLES)):
        if names & wanted:
            return role
    return None


@dataclass(frozen=True)
class Launch:
    """A validated launch: who (``sub``, ``role``, name, email), from where (platform,
    deployment, context = course, resource link) and what (``message_type``, ``custom``), with
    the platform's service endpoints (``ags``, ``nrps``) and deep-linking settings."""

    platform_id: str
    deployment_id: str
    message_type: str
    sub: str
    role: str
    name: str = ""
    email: str = ""
    context_id: str = ""
    context_title: str = ""
    resource_link_id: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)
    ags: Mapping[str, Any] = field(default_factory=dict)
    nrps_url: str = ""
    deep_linking: Mapping[str, Any] = field(default_factory=dict)


def start_login(store: Any, platform: Platform, *, login_hint: str, target_link_uri: str,
                redirect_uri: str, lti_message_hint: str | None = None,
                deployment_id: str | None = None, clock: Callable[[], float] = time.time) -> str:
    """The URL of the platform's authorization endpoint to send the browser to; stores the
    state and nonce it carries."""
    if not login_hint:
        raise LaunchRefused("login initiation without login_hint; the platform must send it")
    if deployment_id and deployment_id not in platform.deployment_ids:
        raise _unknown_deployment(platform, deployment_id)
    now = clock()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    _prune(store, STATE_KIND, now)
    store.put_document(STATE_KIND, state, {"nonce": nonce, "platform_id": platform.id,
                                           "expires": now + STATE_TTL_S}, expected_version=0)
    params = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
              "prompt": "none", "client_id": platform.client_id, "redirect_uri": redirect_uri,
              "login_hint": login_hint, "state": state, "nonce": nonce}
    if lti_message_hint:
        params["lti_message_hint"] = lti_message_hint
    sep = "&" if "?" in platform.auth_login_url else "?"
    return f"{platform.auth_login_url}{sep}{urlencode(params)}"


def _prune(store: Any, kind: str, now: float) -> None:
    """Delete up to 100 of the oldest expired documents of ``kind`` (keeps the tables small)."""
    for doc in store.list_documents(kind, limit=100):
        if doc.payload.get("expires", 0) < now:
            try:
                store.delete_document(kind, doc.doc_id)
            except NotFoundError:
                pass
        else:
            break


def _unknown_deployment(platform: Platform, deployment_id: str) -> LaunchRefused:
    return LaunchRefused(
        f"unknown deployment {deployment_id!r} of platform {platform.issuer!r} (registered: "
        f"{', '.join(platform.deployment_ids)}); an admin adds it with "
        f"'pathwise lti register ... --deployment {deployment_id}'")


def _claims_unverified(id_token: str) -> tuple[dict, dict]:
    try:
        return jwt.get_unverified_header(id_token), jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise LaunchRefused(f"id_token is not a JWT: {exc}") from None


def find_platform(id_token: str, platforms: list[Platform]) -> Platform:
    """The registration the token claims to come from and be addressed to (not yet verified)."""
    _, claims = _claims_unverified(id_token)
    iss = claims.get("iss")
    mine = [p for p in platforms if p.issuer == iss]
    if not mine:
        raise LaunchRefused(f"no LTI platform is registered with issuer {iss!r}; an admin registers "
                            "it with 'pathwise lti register'")
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else list(aud or [])
    for p in mine:
        if p.client_id in auds:
            return p
    raise LaunchRefused(f"wrong audience: the id_token is addressed to {auds!r}, not to Pathwise's "
                        f"client id at {iss!r} ({', '.join(p.client_id for p in mine)})")


def verify_launch(store: Any, platform: Platform, id_token: str, state: str, jwks: Mapping[str, Any],
                  *, clock: Callable[[], float] = time.time) -> Launch:
    """Check the launch's signature, claims, deployment, nonce (never seen) and state (ours,
    unexpired, for this nonce); consume both. :class:`LaunchRefused` names the failed check."""
    header, _ = _claims_unverified(id_token)
    key = _platform_key(header, jwks, platform)
    try:
        claims = jwt.decode(id_token, key=key, algorithms=["RS256", "RS384", "RS512", "ES256"],
                            audience=platform.client_id, issuer=platform.issuer, leeway=LEEWAY_S,
                            options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]})
    except jwt.InvalidSignatureError:
        raise LaunchRefused(f"bad signature: the id_token does not verify against the keys platform "
                            f"{platform.issuer!r} publishes at {platform.jwks_url} (forged, or signed "
                            "with another key)") from None
    except jwt.ExpiredSignatureError:
        raise LaunchRefused("the id_token has expired; launch again from the course") from None
    except jwt.PyJWTError as exc:
        raise LaunchRefused(f"the id_token is not valid: {exc}") from None
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != platform.client_id:
        raise LaunchRefused("wrong audience: several audiences and azp is not Pathwise's client id")
    deployment = claims.get(LTI + "deployment_id")
    if deployment not in platform.deployment_ids:
        raise _unknown_deployment(platform, str(deployment))
    launch = _launch(platform, claims)
    _use_nonce(store, platform, claims["nonce"], clock())
    _use_state(store, platform, state, claims["nonce"], clock())
    return launch


def _platform_key(header: Mapping[str, Any], jwks: Mapping[str, Any], platform: Platform) -> Any:
    kid = header.get("kid")
    keys = [k for k in jwks.get("keys", []) if isinstance(k, Mapping) and (kid is None or k.get("kid") == kid)]
    if not keys:
        raise LaunchRefused(f"bad signature: the id_token names key {kid!r}, which platform "
                            f"{platform.issuer!r} does not publish at {platform.jwks_url}")
    try:
        return jwt.PyJWK(dict(keys[0])).key
    except jwt.PyJWTError as exc:
        raise LaunchRefused(f"the platform's key {kid!r} is unusable: {exc}") from None


def _launch(platform: Platform, claims: Mapping[str, Any]) -> Launch:
    message_type = claims.get(LTI + "message_type")
    if message_type not in (RESOURCE_LINK, DEEP_LINKING):
        raise LaunchRefused(f"message type {message_type!r} is not supported; Pathwise accepts "
                            f"{RESOURCE_LINK} and {DEEP_LINKING}")
    if claims.get(LTI + "version") != "1.3.0":
        raise LaunchRefused(f"LTI version {claims.get(LTI + 'version')!r} is not supported; use 1.3.0")
    role = pathwise_role(claims.get(LTI + "roles"))
    if role is None:
        raise LaunchRefused(f"none of the roles {claims.get(LTI + 'roles')!r} can use Pathwise "
                            "(instructors, learners and mentors can)")
    link = claims.get(LTI + "resource_link") or {}
    if message_type == RESOURCE_LINK and not link.get("id"):
        raise LaunchRefused("a resource-link launch without resource_link.id")
    context = claims.get(LTI + "context") or {}
    nrps = claims.get(NRPS) or {}
    return Launch(platform_id=platform.id, deployment_id=claims[LTI + "deployment_id"],
                  message_type=message_type, sub=str(claims["sub"]), role=role,
                  name=str(claims.get("name") or ""), email=str(claims.get("email") or ""),
                  context_id=str(context.get("id") or ""), context_title=str(context.get("title") or ""),
                  resource_link_id=str(link.get("id") or ""), custom=dict(claims.get(LTI + "custom") or {}),
                  ags=dict(claims.get(AGS) or {}), nrps_url=str(nrps.get("context_memberships_url") or ""),
                  deep_linking=dict(claims.get(DL_SETTINGS) or {}))


def _use_nonce(store: Any, platform: Platform, nonce: str, now: float) -> None:
    ref = hashlib.sha256(f"{platform.id}\n{nonce}".encode()).hexdigest()
    _prune(store, NONCE_KIND, now)
    try:
        store.put_document(NONCE_KIND, ref, {"expires": now + NONCE_TTL_S}, expected_version=0)
    except ConflictError:
        raise LaunchRefused("replayed launch: this nonce was already used; launch again from the "
                            "course") from None


def _use_state(store: Any, platform: Platform, state: str, nonce: str, now: float) -> None:
    try:
        rec = store.get_document(STATE_KIND, state or "-").payload
    except NotFoundError:
        raise LaunchRefused("unknown state: this launch did not start with a login initiation by "
                            "Pathwise (or it was used already); launch again from the course") from None
    store.delete_document(STATE_KIND, state)
    if rec["platform_id"] != platform.id or rec["expires"] < now:
        raise LaunchRefused("the launch state expired or belongs to another platform; launch again")
    if not secrets.compare_digest(rec["nonce"], nonce):
        raise LaunchRefused("the id_token's nonce is not the one sent with this state; launch again")


def deep_linking_response(platform: Platform, launch: Launch, items: list[dict], sign: Callable) -> str:
    """The signed ``LtiDeepLinkingResponse`` JWT returning ``items`` (content items) to the
    platform; ``sign``: the tool key set's signer."""
    now = int(time.time())
    claims = {"iss": platform.client_id, "aud": platform.issuer, "iat": now, "exp": now + 300,
              "nonce": secrets.token_urlsafe(16), "azp": platform.client_id,
              LTI + "deployment_id": launch.deployment_id, LTI + "message_type": "LtiDeepLinkingResponse",
              LTI + "version": "1.3.0", DL_ITEMS: items}
    if launch.deep_linking.get("data") is not None:
        claims[DL_DATA] = launch.deep_linking["data"]
    return sign(claims)
