"""FastAPI dependencies: the backend, the authenticated principal, and audit helpers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from engine.access import Principal, TeacherScope, audit_entry, authorize
from service.http_errors import ApiError
from service.logs import actor_var, request_id_var

bearer_scheme = HTTPBearer(auto_error=False, description="API key or bearer token")
key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


def get_backend(request: Request):
    return request.app.state.backend


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(key_scheme)],
) -> Principal:
    """Authenticate ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (401 otherwise)."""
    key = bearer.credentials if bearer is not None else api_key
    if not key:
        raise ApiError(401, "unauthorized", "missing credentials: send 'Authorization: Bearer <key>'",
                       headers={"WWW-Authenticate": "Bearer"})
    principal = request.app.state.backend.authenticate(key)
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key",
                       headers={"WWW-Authenticate": "Bearer"})
    holder = actor_var.get()
    if holder is not None:
        holder.update(tenant=principal.tenant, role=principal.role, actor=principal.key_id)
    return principal


class Ctx:
    """Per-request context: principal, the tenant's backend and scoped checks."""

    def __init__(self, principal: Principal, backend) -> None:
        self.principal = principal
        self.tb = backend.for_tenant(principal.tenant)
        self._scope: TeacherScope | None = None

    @property
    def scope(self) -> TeacherScope | None:
        if self.principal.role != "teacher":
            return None
        if self._scope is None:
            self._scope = self.tb.teacher_scope(self.principal.teacher_id)
        return self._scope

    def allow(self, action: str, *, learner_id: str | None = None, class_id: str | None = None) -> None:
        scope = self.scope if self.principal.role == "teacher" else None
        authorize(self.principal, action, learner_id=learner_id, class_id=class_id, scope=scope)

    def unit(self):
        """One store transaction: the change and its audit row commit together (or neither)."""
        return self.tb.ts.transaction()

    def audit(self, action: str, resource: str, *, learner_id=None, resource_id=None, detail=None) -> None:
        self.tb.audit(
            audit_entry(self.principal, action, resource, learner_id=learner_id,
                        resource_id=resource_id, request_id=request_id_var.get(), detail=detail)
        )


async def get_ctx(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Ctx:
    return Ctx(principal, request.app.state.backend)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
