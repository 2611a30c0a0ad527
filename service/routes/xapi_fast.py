"""The LMS's hottest request, ``POST /xapi/statements``, on its ordinary path without FastAPI's
per-request machinery (issue 12 item 8).

A profile of one statement per request (docs/performance.md) put a quarter of a worker's CPU
in Starlette's exception and exit-stack layers, route matching, dependency solving (three
security schemes, the context, the version header), body parsing and response-model encoding
— about 240 µs of ~960 µs. This ASGI middleware sits inside the request middleware (request
id, body limit, security and no-store headers, the xAPI version header all still apply) and
answers the request itself only when everything is ordinary:

* credentials: ``Authorization: Bearer <key>``, ``X-API-Key`` or HTTP Basic, and the key is known;
* ``X-Experience-API-Version`` is one the route accepts, ``Content-Type`` is JSON, no query string;
* the body is a JSON statement or a non-empty array of at most ``max_batch`` statements;
* the use case (``SchoolApp.store_statements``) returns without raising.

Anything else — a missing or unknown key, a bad header, malformed JSON, an invalid or
conflicting statement, a denied write — goes to the declared FastAPI route
(:mod:`service.routes.xapi`) with the body replayed, which answers it as before: every error
keeps its one definition, and the OpenAPI document is the route's. A use case that raised
wrote nothing (it is all-or-nothing), so running it again there is safe. The fast answer is
what the route returns: 200, the statement ids as compact JSON, and the not-applied headers.
``app.state.xapi_fast_path = False`` switches it off (the tests compare both paths).
"""

from __future__ import annotations

import base64
import binascii
import json

from service.deps import choose_key, note_actor
from service.logs import request_id_var
from service.routes.xapi import ACCEPTED, write_statements

PATH = "/xapi/statements"


class XapiFastPath:
    """ASGI middleware answering ordinary ``POST /xapi/statements`` requests (module doc)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH
                or scope.get("query_string") or not getattr(scope["app"].state, "xapi_fast_path", True)):
            await self.app(scope, receive, send)
            return
        messages, chunks = [], []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        answer = await self._answer(scope, messages, b"".join(chunks))
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope, messages: list, body: bytes):
        """``(status, headers, body)`` for an ordinary request, else None (the route answers)."""
        if messages[-1]["type"] != "http.request":
            return None
        headers = _headers(scope)
        if not ACCEPTED.match(headers.get(b"x-experience-api-version", b"").decode("latin-1").strip()):
            return None
        if headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
            return None
        key = _key(headers)
        app = scope["app"]
        principal = app.state.pathwise.authenticate(key) if key else None
        if principal is None:
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        statements = parsed if isinstance(parsed, list) else [parsed]
        if not statements or len(statements) > app.state.settings.max_batch:
            return None
        from engine.access import Caller

        note_actor(principal)
        by = Caller(principal, request_id=request_id_var.get(), via="api")
        try:
            stored = await write_statements(app, app.state.pathwise.school(principal.tenant), by, statements,
                                            array=isinstance(parsed, list))
        except Exception:  # noqa: BLE001 - the route answers every error (module doc)
            return None
        out = json.dumps(stored["ids"], ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        response_headers = [(b"content-length", str(len(out)).encode()), (b"content-type", b"application/json")]
        notes = stored["not_applied"]
        if notes:
            response_headers += [(b"x-pathwise-not-applied-count", str(len(notes)).encode()),
                                 (b"x-pathwise-not-applied", json.dumps(notes[:20], ensure_ascii=True).encode())]
        return 200, response_headers, out


def _headers(scope) -> dict[bytes, bytes]:
    """Request headers by lower-case name (ASGI servers give lower-case names); a repeated
    header keeps its first value."""
    out: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        out.setdefault(name, value)
    return out


def _key(headers: dict[bytes, bytes]) -> str | None:
    """The API key as :func:`service.deps.current_principal` reads it (:func:`choose_key`);
    the headers are parsed as FastAPI's ``HTTPBearer`` / ``APIKeyHeader`` / ``HTTPBasic`` do.
    An unparseable Basic header gives None (the route then answers)."""
    scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    bearer = credentials if scheme.lower() == "bearer" and credentials else None
    basic = None
    if scheme.lower() == "basic" and credentials:
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode("ascii").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        basic = (user, password)
    return choose_key(bearer, headers.get(b"x-api-key", b"").decode("latin-1") or None, basic)


def _replay(messages: list, receive):
    """A ``receive`` that gives the buffered messages again, then reads on."""
    pending = list(messages)

    async def again():
        if pending:
            return pending.pop(0)
        return await receive()

    return again
