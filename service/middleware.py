"""ASGI middleware: request ids, access logs, and request-size limits.

Plain ASGI (not ``BaseHTTPMiddleware``) to keep per-request overhead in the
tens of microseconds the ingest endpoint's latency budget needs.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid

from service.logs import actor_var, get_logger, request_id_var

_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
NO_STORE = (b"cache-control", b"no-store")
CSP = (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
log = get_logger("access")


def _too_large(limit: int, rid: str) -> bytes:
    return json.dumps({"error": {"type": "too_large", "status": 413, "request_id": rid,
                                 "message": f"request body exceeds {limit} bytes; send smaller batches",
                                 "fields": []}}).encode()


def parse_networks(values) -> tuple:
    """IP networks of ``PATHWISE_TRUSTED_PROXIES`` entries (addresses or CIDRs)."""
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"PATHWISE_TRUSTED_PROXIES: {value!r} is not an IP address or network; "
                             "use e.g. 10.0.0.5,10.1.0.0/16") from None
    return tuple(nets)


def _trusted(host: str | None, nets: tuple) -> bool:
    try:
        addr = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(addr in net for net in nets)


def apply_forwarded(scope, nets: tuple) -> None:
    """When the peer is a trusted proxy, take the scheme from ``X-Forwarded-Proto`` and the
    client address from ``X-Forwarded-For`` (the rightmost address that is not a trusted proxy).
    Headers from any other peer are ignored (they could be forged)."""
    client = scope.get("client")
    if not nets or not client or not _trusted(client[0], nets):
        return
    proto = forwarded = None
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            proto = value.decode("latin-1").split(",")[0].strip().lower()
        elif name == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
    if proto in ("http", "https"):
        scope["scheme"] = proto
    if forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not _trusted(hop, nets):
                scope["client"] = (hop, 0)
                break


class RequestContextMiddleware:
    """Give each request an id (``X-Request-ID`` in and out), log it, cap body size, and
    honour forwarding headers from ``trusted_proxies`` (addresses or CIDRs)."""

    def __init__(self, app, max_body_bytes: int, trusted_proxies: tuple = ()):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.trusted = parse_networks(trusted_proxies)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        apply_forwarded(scope, self.trusted)
        rid, length = _request_id_and_length(scope)
        token = request_id_var.set(rid)
        actor: dict = {}
        actor_token = actor_var.set(actor)
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status_holder = {"status": 0}
        send_wrapper = _header_sender(send, rid, scope.get("path", ""), status_holder)
        try:
            await self._limited(scope, receive, send, send_wrapper, rid, length, status_holder)
        finally:
            elapsed = (time.perf_counter() - start) * 1000.0
            if log.isEnabledFor(20):
                log.info(
                    "request",
                    extra={"method": scope.get("method"), "path": scope.get("path"),
                           "status": status_holder["status"], "ms": round(elapsed, 3), **actor},
                )
            request_id_var.reset(token)
            actor_var.reset(actor_token)

    async def _limited(self, scope, receive, send, send_wrapper, rid: str, length: int | None,
                       status_holder: dict) -> None:
        """Run the app with the body limit: 413 up front from Content-Length, or as soon as
        the received body passes the limit (unless the response has started)."""
        limit = self.max_body_bytes

        async def reject():
            body = _too_large(limit, rid)
            await send_wrapper({"type": "http.response.start", "status": 413,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        if length is not None and length > limit:
            await reject()
            return
        received = 0

        async def receive_wrapper():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BodyTooLarge:
            if status_holder["status"] == 0:
                await reject()


def _request_id_and_length(scope) -> tuple[str, int | None]:
    """The request's own X-Request-ID when well-formed (else a new one) and its
    Content-Length (``None`` when absent or not a number)."""
    rid = ""
    length = None
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _ID_OK.match(candidate):
                rid = candidate
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
    return rid or uuid.uuid4().hex[:16], length


def _header_sender(send, rid: str, path: str, status_holder: dict):
    """``send`` adding X-Request-ID, the security headers, no-store (pages and API answers
    carry student data; static assets may be cached) and the CSP (not on /docs: Swagger UI
    starts with an inline script) to the response start; notes the status."""
    no_store = not path.startswith("/static/")
    csp = not path.startswith("/docs")

    async def send_wrapper(message):
        if message["type"] == "http.response.start":
            status_holder["status"] = message["status"]
            headers = list(message.get("headers", ()))
            headers.append((b"x-request-id", rid.encode()))
            headers.extend(SECURITY_HEADERS)
            if no_store and not any(k == b"cache-control" for k, _ in headers):
                headers.append(NO_STORE)
            if csp:
                headers.append(CSP)
            message = {**message, "headers": headers}
        await send(message)

    return send_wrapper


class BodyTooLarge(Exception):
    pass
