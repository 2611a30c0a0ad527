"""Competency graph (CASE import, skills) and the activity catalog (import and CRUD)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from service.deps import CtxDep
from service.http_errors import ApiError
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
    return ctx.school.import_case(ctx.by, package)


@router.get("/graph/skills", response_model=list[SkillOut], responses=ERRORS,
            summary="Every skill with its direct prerequisites")
def list_skills(ctx: CtxDep, grade: str | None = None):
    return ctx.school.skills(ctx.by, grade=grade)


@router.get("/graph/skills/{skill_id}", response_model=SkillOut, responses=ERRORS)
def get_skill(ctx: CtxDep, skill_id: str):
    return ctx.school.skill(ctx.by, skill_id)


@router.get("/catalog/activities", response_model=list[ActivityOut], responses=ERRORS,
            summary="Catalog activities (optionally for one skill)")
def list_activities(ctx: CtxDep, skill_id: str | None = None, limit: int = Query(500, ge=1, le=5000)):
    return ctx.school.activities(ctx.by, skill_id=skill_id, limit=limit)


@router.get("/catalog/activities/{activity_id}", response_model=ActivityOut, responses=ERRORS)
def get_activity(ctx: CtxDep, activity_id: str):
    return ctx.school.activity(ctx.by, activity_id)


@router.post("/catalog/activities", response_model=ActivityOut, status_code=201, responses=ERRORS,
             summary="Create one activity (409 if the id exists)")
def create_activity(ctx: CtxDep, activity: ActivityIn):
    return ctx.school.put_activity(ctx.by, activity.model_dump(), create=True)


@router.put("/catalog/activities/{activity_id}", response_model=ActivityOut, responses=ERRORS,
            summary="Create or replace one activity")
def put_activity(ctx: CtxDep, activity_id: str, activity: ActivityIn):
    if activity.id != activity_id:
        raise ApiError(422, "invalid", f"body id {activity.id!r} differs from path id {activity_id!r}",
                       [{"loc": ["body", "id"], "field": "body.id", "msg": "must equal the path id", "type": "value_error"}])
    return ctx.school.put_activity(ctx.by, activity.model_dump(), create=False)


@router.delete("/catalog/activities/{activity_id}", status_code=204, responses=ERRORS)
def delete_activity(ctx: CtxDep, activity_id: str):
    ctx.school.delete_activity(ctx.by, activity_id)
    return Response(status_code=204)


@router.post("/catalog/import", response_model=CatalogImportResult, responses=ERRORS,
             summary="Import many activities at once (all-or-nothing)")
def import_catalog(ctx: CtxDep, body: CatalogImport):
    return ctx.school.import_activities(ctx.by, [a.model_dump() for a in body.activities], replace=body.replace)
