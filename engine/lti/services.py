"""Calls to the platform's LTI Advantage services with httpx: the OAuth 2 client-credentials
token (a JWT assertion signed by the tool's key, IMS Security Framework §4.1), Assignment and
Grade Services (line items, scores) and Names and Role Provisioning Services (memberships)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from engine.lti.errors import LmsServiceError
from engine.lti.registration import Platform

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
TIMEOUT_S = 15.0
MAX_PAGES = 100


class LmsClient:
    """One platform's services, authenticated with one access token for ``scopes``."""

    def __init__(self, platform: Platform, sign: Callable[[Mapping[str, Any]], str], scopes: list[str],
                 http: httpx.Client | None = None) -> None:
        self.platform, self.http = platform, http or httpx.Client(timeout=TIMEOUT_S)
        self._own = http is None
        self.token = self._token(sign, scopes)

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> LmsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _token(self, sign: Callable[[Mapping[str, Any]], str], scopes: list[str]) -> str:
        p, now = self.platform, int(time.time())
        assertion = sign({"iss": p.client_id, "sub": p.client_id, "aud": p.token_url, "iat": now,
                          "exp": now + 300, "jti": secrets.token_urlsafe(16)})
        body = self._call("POST", p.token_url, "access token", data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, "scope": " ".join(scopes)})
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not token:
            raise LmsServiceError(f"the platform's token endpoint {p.token_url} returned no access_token")
        return token

    def _call(self, method: str, url: str, what: str, *, accept: str = "application/json",
              headers: Mapping[str, str] | None = None, **kw: Any) -> Any:
        hdrs = {"Accept": accept, **(headers or {})}
        if getattr(self, "token", None):
            hdrs["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.http.request(method, url, headers=hdrs, **kw)
        except httpx.HTTPError as exc:
            raise LmsServiceError(f"{what}: could not reach {url}: {exc}") from None
        if resp.status_code >= 400:
            raise LmsServiceError(f"{what}: the platform answered {resp.status_code} at {url}: "
                                  f"{resp.text[:300]}")
        self.last = resp
        return resp.json() if resp.content else None

    # ---------------------------------------------------------------- AGS
    def line_items(self, lineitems_url: str) -> list[dict]:
        body = self._call("GET", lineitems_url, "line items", accept=LINEITEMS_TYPE)
        if isinstance(body, Mapping):  # some platforms wrap the list
            body = body.get("content") or body.get("lineItems") or []
        return [dict(x) for x in body or [] if isinstance(x, Mapping)]

    def create_line_item(self, lineitems_url: str, item: Mapping[str, Any]) -> dict:
        return dict(self._call("POST", lineitems_url, "create line item", accept=LINEITEM_TYPE,
                               headers={"Content-Type": LINEITEM_TYPE}, json=dict(item)))

    def post_score(self, lineitem_id: str, score: Mapping[str, Any]) -> None:
        base, _, query = lineitem_id.partition("?")
        url = base.rstrip("/") + "/scores" + (f"?{query}" if query else "")
        self._call("POST", url, "post score", headers={"Content-Type": SCORE_TYPE}, json=dict(score))

    # ---------------------------------------------------------------- NRPS
    def members(self, memberships_url: str) -> tuple[dict, list[dict]]:
        """``(context, members)`` of the course, following ``next`` links."""
        url, members, context = memberships_url, [], {}
        for _ in range(MAX_PAGES):
            body = self._call("GET", url, "course memberships", accept=MEMBERS_TYPE)
            if not isinstance(body, Mapping):
                raise LmsServiceError(f"course memberships at {url}: not a membership container")
            context = body.get("context") or context
            members += [dict(m) for m in body.get("members") or [] if isinstance(m, Mapping)]
            nxt = self.last.links.get("next", {}).get("url") or body.get("next")
            if not nxt:
                return dict(context), members
            url = nxt
        raise LmsServiceError(f"course memberships at {memberships_url}: more than {MAX_PAGES} pages")
