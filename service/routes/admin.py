"""Health, API keys, audit log, pseudonymized research export, the planning policy, and model
fitting jobs."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import (
    AuditOut,
    ErrorResponse,
    FitRequest,
    ForgettingTestOut,
    Health,
    JobOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    ModelVersionOut,
    PlanningPolicyOut,
    PlanningPolicyUpdate,
    ResearchExport,
)
from service.schemas_roster import TenantExport

router = APIRouter(tags=["admin"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
          404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


@router.get("/health", response_model=Health, tags=["health"], summary="Liveness (no credentials needed)")
def health(request: Request):
    pw = request.app.state.pathwise
    return Health(status="ok", version=request.app.version, store=pw.kind,
                  kernels="warm" if pw.jobs.warm.is_set() else "warming")


@router.post("/v1/admin/keys", response_model=KeyCreated, status_code=201, responses=ERRORS,
             summary="Create an API key in the caller's tenant (the key is shown once)")
def create_key(ctx: CtxDep, body: KeyCreate):
    if body.role == "teacher" and not body.teacher_id:
        raise ApiError(422, "invalid", "a teacher key needs teacher_id",
                       [{"loc": ["body", "teacher_id"], "field": "body.teacher_id", "msg": "required for role teacher", "type": "missing"}])
    if body.role in ("student", "guardian") and not body.subject:
        raise ApiError(422, "invalid", f"a {body.role} key needs subject (the learner or guardian id)",
                       [{"loc": ["body", "subject"], "field": "body.subject", "msg": f"required for role {body.role}", "type": "missing"}])
    key_id, key = ctx.school.create_key(ctx.by, body.role, name=body.name, teacher_id=body.teacher_id,
                                        subject=body.subject)
    return KeyCreated(key_id=key_id, key=key, role=body.role, tenant=ctx.principal.tenant)


@router.get("/v1/admin/keys", response_model=list[KeyOut], responses=ERRORS,
            summary="The tenant's API keys (ids, roles, labels; never the keys or their hashes)")
def list_keys(ctx: CtxDep):
    return ctx.school.list_keys(ctx.by)


@router.delete("/v1/admin/keys/{key_id}", status_code=204, responses=ERRORS, summary="Revoke an API key")
def revoke_key(ctx: CtxDep, key_id: str):
    ctx.school.revoke_key(ctx.by, key_id)
    return Response(status_code=204)


@router.get("/v1/admin/tenant-export", response_model=TenantExport, responses=ERRORS,
            summary="Everything the tenant holds, every table (admin; no secrets: key ids, no password hashes)")
def tenant_export(ctx: CtxDep):
    return ctx.school.export_tenant(ctx.by)


@router.get("/v1/audit", response_model=list[AuditOut], responses=ERRORS, summary="The tenant's audit log (admin)")
def audit_log(ctx: CtxDep, limit: int = Query(200, ge=1, le=5000), after: int = Query(0, ge=0)):
    return ctx.school.audit_log(ctx.by, limit=limit, after=after)


@router.get("/v1/research/export", response_model=ResearchExport, responses=ERRORS,
            summary="All evidence with learner ids replaced by per-tenant pseudonyms")
def research_export(ctx: CtxDep, limit: int = Query(100_000, ge=1, le=1_000_000)):
    return ResearchExport(observations=ctx.school.research_export(ctx.by, limit=limit))


@router.get("/v1/planning-policy", response_model=PlanningPolicyOut, responses=ERRORS,
            summary="The tenant's planning policy: mastery threshold, goal weights, struggling rule")
def get_planning_policy(ctx: CtxDep):
    return ctx.school.planning_policy(ctx.by).to_record()


@router.get("/v1/planning-policy/forgetting", response_model=ForgettingTestOut, responses=ERRORS,
            summary="Does this school forget? The test of its retention checks that decides forgetting protection")
def get_forgetting_test(ctx: CtxDep):
    return ctx.school.forgetting_test(ctx.by)


@router.patch("/v1/planning-policy", response_model=PlanningPolicyOut, responses=ERRORS,
              summary="Change fields of the tenant's planning policy (admin)")
def patch_planning_policy(ctx: CtxDep, body: PlanningPolicyUpdate):
    changes = body.model_dump(exclude_none=True)
    return ctx.school.set_planning_policy(ctx.by, changes).to_record()


@router.post("/v1/models/fit", response_model=JobOut, status_code=202, responses=ERRORS,
             summary="Fit BKT parameters from stored evidence in the background")
def fit_model(ctx: CtxDep, body: FitRequest | None = None):
    body = body or FitRequest()
    return ctx.school.start_fit(ctx.by, skills=body.skills, max_iter=body.max_iter)


@router.get("/v1/models/jobs/{job_id}", response_model=JobOut, responses=ERRORS, summary="Progress of a fit job")
def get_job(ctx: CtxDep, job_id: str):
    return ctx.school.job(ctx.by, job_id)


@router.get("/v1/models", response_model=list[ModelVersionOut], responses=ERRORS,
            summary="Every stored model version (params per skill)")
def list_models(ctx: CtxDep):
    return ctx.school.model_versions(ctx.by)


@router.get("/v1/models/{version}", response_model=ModelVersionOut, responses=ERRORS)
def get_model(ctx: CtxDep, version: int):
    return ctx.school.model_version(ctx.by, version)
