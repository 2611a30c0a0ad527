"""Signed cookie sessions for the teacher page.

The cookie holds ``{tenant, key_hash, session id, exp}`` signed with HMAC-SHA256; the principal
is looked up from the key hash on every request, so revoking the key ends the session, and
logout records the session id in the store (``Pathwise.end_page_session``), so a logged-out
cookie stops working in every process. Forms carry a CSRF token derived from the cookie; the
login form's token is derived from a separate random ``pathwise_login`` cookie.

A single sign-on in progress keeps its ``state``, ``nonce``, PKCE ``code_verifier`` and the
page to return to in a short-lived signed ``pathwise_oidc`` cookie (:meth:`SessionSigner.seal`),
so the callback only accepts the answer to a sign-in started in this same browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

COOKIE = "pathwise_session"
LOGIN_COOKIE = "pathwise_login"
MAX_AGE = 8 * 3600
OIDC_COOKIE = "pathwise_oidc"
OIDC_MAX_AGE = 10 * 60  # seconds a started single sign-on may take


class SessionSigner:
    def __init__(self, secret: str | None) -> None:
        self._secret = (secret or secrets.token_hex(32)).encode()

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._secret, data, hashlib.sha256).hexdigest()

    def dumps(self, tenant: str, key_hash: str) -> str:
        body = json.dumps({"t": tenant, "k": key_hash, "s": secrets.token_hex(16),
                           "e": int(time.time()) + MAX_AGE},
                          separators=(",", ":")).encode()
        data = base64.urlsafe_b64encode(body)
        return f"{data.decode()}.{self._mac(data)}"

    def loads(self, value: str | None) -> dict | None:
        if not value or "." not in value:
            return None
        data, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(data.encode()), mac):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(data.encode()))
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("e", 0) < time.time() or not body.get("s"):
            return None
        return body

    def seal(self, payload: dict, max_age: int) -> str:
        """A signed, expiring cookie value carrying ``payload`` (a small JSON object)."""
        body = json.dumps({"p": payload, "e": int(time.time()) + max_age}, separators=(",", ":")).encode()
        data = base64.urlsafe_b64encode(body)
        return f"{data.decode()}.{self._mac(b'seal:' + data)}"

    def unseal(self, value: str | None) -> dict | None:
        """The payload of a :meth:`seal` value, or None when absent, forged or expired."""
        if not value or "." not in value:
            return None
        data, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(b"seal:" + data.encode()), mac):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(data.encode()))
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("e", 0) < time.time() or not isinstance(body.get("p"), dict):
            return None
        return body["p"]

    def csrf(self, cookie: str) -> str:
        return self._mac(b"csrf:" + cookie.encode())[:32]
