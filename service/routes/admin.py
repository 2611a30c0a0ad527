"""Health, API keys, audit log, pseudonymized research export, and model fitting jobs."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import (
    AuditOut,
    ErrorResponse,
    FitRequest,
    Health,
    JobOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    ModelVersionOut,
    ResearchExport,
)

router = APIRouter(tags=["admin"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
          404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


@router.get("/health", response_model=Health, tags=["health"], summary="Liveness (no credentials needed)")
def health(request: Request):
    backend = request.app.state.backend
    warm = request.app.state.jobs.warm.is_set()
    return Health(status="ok", version=request.app.version, store=backend.kind,
                  kernels="warm" if warm else "warming")


@router.post("/v1/admin/keys", response_model=KeyCreated, status_code=201, responses=ERRORS,
             summary="Create an API key in the caller's tenant (the key is shown once)")
def create_key(ctx: CtxDep, body: KeyCreate):
    ctx.allow("keys:admin")
    if body.role == "teacher" and not body.teacher_id:
        raise ApiError(422, "invalid", "a teacher key needs teacher_id",
                       [{"loc": ["body", "teacher_id"], "field": "body.teacher_id", "msg": "required for role teacher", "type": "missing"}])
    key_id, key = ctx.tb.create_key(body.role, name=body.name, teacher_id=body.teacher_id,
                                    created_by=ctx.principal.key_id)
    ctx.audit("write", "api_key", resource_id=key_id, detail={"role": body.role})
    return KeyCreated(key_id=key_id, key=key, role=body.role, tenant=ctx.principal.tenant)


@router.get("/v1/admin/keys", response_model=list[KeyOut], responses=ERRORS,
            summary="The tenant's API keys (ids, roles, labels; never the keys or their hashes)")
def list_keys(ctx: CtxDep):
    ctx.allow("keys:admin")
    return ctx.tb.list_keys()


@router.delete("/v1/admin/keys/{key_id}", status_code=204, responses=ERRORS, summary="Revoke an API key")
def revoke_key(ctx: CtxDep, key_id: str, request: Request):
    ctx.allow("keys:admin")
    ctx.tb.revoke_key(key_id)
    request.app.state.backend.forget_cached_keys()
    ctx.audit("delete", "api_key", resource_id=key_id)
    return Response(status_code=204)


@router.get("/v1/audit", response_model=list[AuditOut], responses=ERRORS, summary="The tenant's audit log (admin)")
def audit_log(ctx: CtxDep, limit: int = Query(200, ge=1, le=5000), after: int = Query(0, ge=0)):
    ctx.allow("audit:read")
    return ctx.tb.list_audit(limit=limit, after=after)


@router.get("/v1/research/export", response_model=ResearchExport, responses=ERRORS,
            summary="All evidence with learner ids replaced by per-tenant pseudonyms")
def research_export(ctx: CtxDep, limit: int = Query(100_000, ge=1, le=1_000_000)):
    ctx.allow("research:export")
    rows = ctx.tb.pseudonymized_observations(limit)
    ctx.audit("export", "research", detail={"rows": len(rows)})
    return ResearchExport(observations=rows)


@router.post("/v1/models/fit", response_model=JobOut, status_code=202, responses=ERRORS,
             summary="Fit BKT parameters from stored evidence in the background")
def fit_model(ctx: CtxDep, request: Request, body: FitRequest | None = None):
    ctx.allow("model:fit")
    body = body or FitRequest()
    job = request.app.state.jobs.submit_fit(ctx.tb, skills=body.skills, max_iter=body.max_iter,
                                            actor=ctx.principal.key_id)
    ctx.audit("write", "model.fit", resource_id=job["job_id"])
    return job


@router.get("/v1/models/jobs/{job_id}", response_model=JobOut, responses=ERRORS, summary="Progress of a fit job")
def get_job(ctx: CtxDep, job_id: str, request: Request):
    ctx.allow("model:read")
    return request.app.state.jobs.get(ctx.principal.tenant, job_id, ctx.tb)


@router.get("/v1/models", response_model=list[ModelVersionOut], responses=ERRORS,
            summary="Every stored model version (params per skill)")
def list_models(ctx: CtxDep):
    ctx.allow("model:read")
    return ctx.tb.model_versions()


@router.get("/v1/models/{version}", response_model=ModelVersionOut, responses=ERRORS)
def get_model(ctx: CtxDep, version: int):
    ctx.allow("model:read")
    return ctx.tb.model_version(version)
