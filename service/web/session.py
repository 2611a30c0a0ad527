"""Signed cookie sessions for the teacher page.

The cookie holds ``{tenant, key_hash, exp}`` signed with HMAC-SHA256; the principal is looked
up from the key hash on every request, so revoking the key ends the session. Forms carry a
CSRF token derived from the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

COOKIE = "pathwise_session"
MAX_AGE = 8 * 3600


class SessionSigner:
    def __init__(self, secret: str | None) -> None:
        self._secret = (secret or secrets.token_hex(32)).encode()

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._secret, data, hashlib.sha256).hexdigest()

    def dumps(self, tenant: str, key_hash: str) -> str:
        body = json.dumps({"t": tenant, "k": key_hash, "e": int(time.time()) + MAX_AGE},
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
        if body.get("e", 0) < time.time():
            return None
        return body

    def csrf(self, cookie: str) -> str:
        return self._mac(b"csrf:" + cookie.encode())[:32]
