"""Competency graph (CASE import, skills) and the activity catalog (import and CRUD)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from service.deps import CtxDep
from service.schemas import (
    ActivityIn,
    ActivityOut,
    CatalogImport,
    CatalogImportResult,
    ErrorResponse,
    GraphImportResult,
    SkillOut,
)

router = APIRouter(prefix="/v1", tags=["graph & catalog"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
          404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


@router.post("/graph/case", response_model=GraphImportResult, responses=ERRORS,
             summary="Import a 1EdTech CASE 1.0 package (CFDocument, CFItems, CFAssociations)")
def import_case(ctx: CtxDep, package: Annotated[dict[str, Any], Body(description="A CASE 1.0 package as JSON")]):
    ctx.allow("graph:write")
    result = ctx.tb.import_case(package)
    ctx.audit("write", "graph", detail=result)
    return result


@router.get("/graph/skills", response_model=list[SkillOut], responses=ERRORS,
            summary="Every skill with its direct prerequisites")
def list_skills(ctx: CtxDep, grade: str | None = None):
    ctx.allow("graph:read")
    return ctx.tb.skills(grade=grade)


@router.get("/graph/skills/{skill_id}", response_model=SkillOut, responses=ERRORS)
def get_skill(ctx: CtxDep, skill_id: str):
    ctx.allow("graph:read")
    return ctx.tb.skill(skill_id)


@router.get("/catalog/activities", response_model=list[ActivityOut], responses=ERRORS,
            summary="Catalog activities (optionally for one skill)")
def list_activities(ctx: CtxDep, skill_id: str | None = None, limit: int = Query(500, ge=1, le=5000)):
    ctx.allow("catalog:read")
    return ctx.tb.activities(skill_id=skill_id)[:limit]


@router.get("/catalog/activities/{activity_id}", response_model=ActivityOut, responses=ERRORS)
def get_activity(ctx: CtxDep, activity_id: str):
    ctx.allow("catalog:read")
    return ctx.tb.activity(activity_id)


@router.post("/catalog/activities", response_model=ActivityOut, status_code=201, responses=ERRORS,
             summary="Create one activity (409 if the id exists)")
def create_activity(ctx: CtxDep, activity: ActivityIn):
    ctx.allow("catalog:write")
    out = ctx.tb.put_activity(activity.model_dump(), create=True)
    ctx.audit("write", "catalog", resource_id=activity.id, detail={"op": "create"})
    return out


@router.put("/catalog/activities/{activity_id}", response_model=ActivityOut, responses=ERRORS,
            summary="Create or replace one activity")
def put_activity(ctx: CtxDep, activity_id: str, activity: ActivityIn):
    ctx.allow("catalog:write")
    if activity.id != activity_id:
        from service.http_errors import ApiError
        raise ApiError(422, "invalid", f"body id {activity.id!r} differs from path id {activity_id!r}",
                       [{"loc": ["body", "id"], "field": "body.id", "msg": "must equal the path id", "type": "value_error"}])
    out = ctx.tb.put_activity(activity.model_dump(), create=False)
    ctx.audit("write", "catalog", resource_id=activity_id, detail={"op": "put"})
    return out


@router.delete("/catalog/activities/{activity_id}", status_code=204, responses=ERRORS)
def delete_activity(ctx: CtxDep, activity_id: str):
    ctx.allow("catalog:write")
    ctx.tb.delete_activity(activity_id)
    ctx.audit("delete", "catalog", resource_id=activity_id)
    return Response(status_code=204)


@router.post("/catalog/import", response_model=CatalogImportResult, responses=ERRORS,
             summary="Import many activities at once (all-or-nothing)")
def import_catalog(ctx: CtxDep, body: CatalogImport):
    ctx.allow("catalog:write")
    result = ctx.tb.import_activities([a.model_dump() for a in body.activities], replace=body.replace)
    ctx.audit("write", "catalog", detail={"op": "import", **result})
    return result
