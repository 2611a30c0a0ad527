"""Rostering: OneRoster 1.2 CSV import (a zip in the request body), the class defaults new
classes get, retention of departed learners, and roster CRUD (learners, teachers, guardians,
classes). Admins only."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from engine.roster.errors import RosterFormatError
from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import ErrorResponse
from service.schemas_roster import (
    ClassDefaultUpdate,
    ClassPut,
    Departure,
    GuardianOut,
    GuardianPut,
    LearnerOut,
    LearnerPut,
    LeftRoster,
    RetentionRun,
    RetentionUpdate,
    RosterImportReport,
    RosterSettings,
    TeacherOut,
    TeacherPut,
)

router = APIRouter(prefix="/v1/roster", tags=["roster"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
          404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
ZIP_BODY = {"requestBody": {"required": True, "description": "a zip of the OneRoster 1.2 CSV files "
                            "(manifest.csv at the top); any Content-Type (application/zip, "
                            "application/octet-stream)",
                            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/oneroster", response_model=RosterImportReport, responses=ERRORS, openapi_extra=ZIP_BODY,
             summary="Import a OneRoster 1.2 CSV set (zip body); all or nothing; re-import changes nothing")
async def import_oneroster(ctx: CtxDep, request: Request,
                           dry_run: bool = Query(False, description="validate and report, write nothing")):
    body = await request.body()
    if not body:
        raise ApiError(422, "invalid", "the body is empty; send the zip of the OneRoster CSV files "
                                       "(Content-Type: application/zip)")
    try:
        return await run_in_threadpool(ctx.school.import_oneroster, ctx.by, body, dry_run=dry_run)
    except RosterFormatError as exc:
        fields = [{"loc": [i.file, str(i.row), i.column], "field": f"{i.file}:{i.row}:{i.column}",
                   "msg": i.message, "type": "oneroster"} for i in exc.issues[:500]]
        raise ApiError(422, "invalid", str(exc), fields) from None


@router.get("/settings", response_model=RosterSettings, responses=ERRORS,
            summary="Class defaults (per course, per grade, tenant) and retention days")
def get_settings(ctx: CtxDep):
    return ctx.school.roster_settings(ctx.by)


@router.put("/defaults", response_model=RosterSettings, responses=ERRORS,
            summary="Set the blended model and caps new classes of a course / grade / the tenant get")
def put_default(ctx: CtxDep, body: ClassDefaultUpdate):
    return ctx.school.set_class_default(ctx.by, body.settings.model_dump(), course=body.course, grade=body.grade)


@router.put("/retention", response_model=RosterSettings, responses=ERRORS,
            summary="Erase a learner's data N days after they leave the roster (null: keep)")
def put_retention(ctx: CtxDep, body: RetentionUpdate):
    return ctx.school.set_retention(ctx.by, body.days)


@router.get("/departures", response_model=list[Departure], responses=ERRORS,
            summary="Learners who left the roster and are not erased yet")
def departures(ctx: CtxDep):
    return ctx.school.departures(ctx.by)


@router.post("/retention/apply", response_model=RetentionRun, responses=ERRORS,
             summary="Erase now every learner past the retention days")
def apply_retention(ctx: CtxDep):
    return ctx.school.apply_retention(ctx.by)


@router.put("/learners/{learner_id}", response_model=LearnerOut, responses=ERRORS,
            summary="Create or update a learner (profile and evidence kept)")
def put_learner(ctx: CtxDep, learner_id: str, body: LearnerPut):
    return ctx.school.put_learner(ctx.by, learner_id, name=body.name, grade=body.grade, language=body.language)


@router.delete("/learners/{learner_id}", response_model=LeftRoster, responses=ERRORS,
               summary="Take a learner off the roster (data kept until retention or erasure)")
def remove_learner(ctx: CtxDep, learner_id: str):
    return ctx.school.remove_learner_from_roster(ctx.by, learner_id)


@router.put("/teachers/{teacher_id}", response_model=TeacherOut, responses=ERRORS,
            summary="Create or update a teacher")
def put_teacher(ctx: CtxDep, teacher_id: str, body: TeacherPut):
    return ctx.school.put_teacher(ctx.by, teacher_id, name=body.name)


@router.delete("/teachers/{teacher_id}", status_code=204, responses={**ERRORS, 409: {"model": ErrorResponse}},
               summary="Delete a teacher who teaches no class (their keys are revoked)")
def delete_teacher(ctx: CtxDep, teacher_id: str):
    ctx.school.delete_teacher(ctx.by, teacher_id)
    return Response(status_code=204)


@router.get("/guardians", response_model=list[GuardianOut], responses=ERRORS,
            summary="Guardians and the learners linked to them")
def list_guardians(ctx: CtxDep):
    return ctx.school.guardians(ctx.by)


@router.put("/guardians/{guardian_id}", response_model=GuardianOut, responses=ERRORS,
            summary="Create or update a guardian and their links to learners")
def put_guardian(ctx: CtxDep, guardian_id: str, body: GuardianPut):
    return ctx.school.put_guardian(ctx.by, guardian_id, name=body.name, learner_ids=body.learner_ids)


@router.delete("/guardians/{guardian_id}", status_code=204, responses=ERRORS, summary="Delete a guardian")
def delete_guardian(ctx: CtxDep, guardian_id: str):
    ctx.school.delete_guardian(ctx.by, guardian_id)
    return Response(status_code=204)


@router.put("/classes/{class_id}", responses=ERRORS,
            summary="Create or update a class: members, and its blended model and caps (else the defaults)")
def put_class(ctx: CtxDep, class_id: str, body: ClassPut):
    return ctx.school.put_class(ctx.by, class_id, body.model_dump())


@router.delete("/classes/{class_id}", status_code=204, responses=ERRORS, summary="Delete a class")
def delete_class(ctx: CtxDep, class_id: str):
    ctx.school.delete_class(ctx.by, class_id)
    return Response(status_code=204)
