"""FastAPI dependencies: the authenticated principal and the per-request context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from engine.access import Caller, Principal
from service.http_errors import ApiError
from service.logs import actor_var, request_id_var

bearer_scheme = HTTPBearer(auto_error=False, description="API key or bearer token")
key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
basic_scheme = HTTPBasic(auto_error=False, realm="pathwise",
                         description="HTTP Basic, as LRS clients send it: the API key as the password "
                                     "(the username is free, e.g. the key's id)")
CHALLENGE = 'Bearer, Basic realm="pathwise"'


def note_actor(principal: Principal) -> None:
    """Name the principal in this request's access log line."""
    holder = actor_var.get()
    if holder is not None:
        holder.update(tenant=principal.tenant, role=principal.role, actor=principal.key_id)


def choose_key(bearer: str | None, api_key: str | None, basic: tuple[str, str] | None) -> str | None:
    """The API key of a request: the Bearer credentials, else ``X-API-Key``, else HTTP Basic's
    password (or its username with an empty password). One rule for the routes
    (:func:`current_principal`) and the xAPI fast path."""
    key = bearer or api_key
    if not key and basic is not None:
        key = basic[1] or basic[0]
    return key or None


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(key_scheme)],
    basic: Annotated[HTTPBasicCredentials | None, Depends(basic_scheme)],
) -> Principal:
    """Authenticate ``Authorization: Bearer <key>``, ``X-API-Key: <key>`` or HTTP Basic with
    the key as the password (username free; a key sent as the username with an empty
    password also works) — 401 otherwise."""
    key = choose_key(bearer.credentials if bearer is not None else None, api_key,
                     (basic.username, basic.password) if basic is not None else None)
    if not key:
        raise ApiError(401, "unauthorized", "missing credentials: send 'Authorization: Bearer <key>' "
                       "or HTTP Basic with the key as the password", headers={"WWW-Authenticate": CHALLENGE})
    principal = request.app.state.pathwise.authenticate(key)
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key",
                       headers={"WWW-Authenticate": CHALLENGE})
    note_actor(principal)
    return principal


class Ctx:
    """Per-request context: the caller (principal + request id) and the tenant's application
    (``engine.app.SchoolApp``), whose use cases check access and write the audit."""

    def __init__(self, principal: Principal, pathwise, via: str = "api") -> None:
        self.principal = principal
        self.by = Caller(principal, request_id=request_id_var.get(), via=via)
        self.school = pathwise.school(principal.tenant)


async def get_ctx(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Ctx:
    return Ctx(principal, request.app.state.pathwise)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
