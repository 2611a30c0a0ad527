"""Experiments (``/v1/experiments``): register a comparison (admin), start and stop it, read the
arms and the report (admin; teachers for their classes). Rules live in
``engine.app._experiments``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from service.deps import CtxDep
from service.routes.plans import plan_out
from service.schemas import ErrorResponse, PlanOut
from service.schemas_experiments import AssignmentOut, ExperimentIn, ExperimentOut, ReportOut

router = APIRouter(tags=["experiments"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
          409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
ExpId = Path(max_length=64, description="the experiment id")


@router.post("/v1/experiments", response_model=ExperimentOut, status_code=201, responses=ERRORS,
             summary="Register an experiment (admin): immutable once registered")
def create(ctx: CtxDep, body: ExperimentIn):
    return ctx.school.create_experiment(ctx.by, body.to_design())


@router.get("/v1/experiments", response_model=list[ExperimentOut], responses=ERRORS,
            summary="Experiments (admin: all; teacher: those touching their classes)")
def list_all(ctx: CtxDep):
    return ctx.school.list_experiments(ctx.by)


@router.get("/v1/experiments/{experiment_id}", response_model=ExperimentOut, responses=ERRORS,
            summary="One experiment with its learners per arm")
def get_one(ctx: CtxDep, experiment_id: str = ExpId):
    return ctx.school.get_experiment(ctx.by, experiment_id)


@router.post("/v1/experiments/{experiment_id}/start", response_model=ExperimentOut, responses=ERRORS,
             summary="Start: assign every learner of its classes to an arm (stored, stratified, seeded)")
def start(ctx: CtxDep, experiment_id: str = ExpId):
    return ctx.school.start_experiment(ctx.by, experiment_id)


@router.post("/v1/experiments/{experiment_id}/stop", response_model=ExperimentOut, responses=ERRORS,
             summary="Stop: the engine plans every learner as usual again")
def stop(ctx: CtxDep, experiment_id: str = ExpId):
    return ctx.school.stop_experiment(ctx.by, experiment_id)


@router.get("/v1/experiments/{experiment_id}/assignment", response_model=list[AssignmentOut], responses=ERRORS,
            summary="Each learner's arm (teachers: their classes)")
def assignment(ctx: CtxDep, experiment_id: str = ExpId):
    return ctx.school.experiment_assignment(ctx.by, experiment_id)


@router.get("/v1/experiments/{experiment_id}/report", response_model=ReportOut, responses={
    **ERRORS, 200: {"content": {"application/json": {}, "text/markdown": {}}}},
    summary="The report: effect size, confidence interval, p-value, summary (409 before the planned sample)")
def get_report(ctx: CtxDep, experiment_id: str = ExpId,
               format: Literal["json", "markdown"] = Query("json", description="markdown: the report file"),
               interim: bool = Query(False, description="admin: take a flagged interim look (recorded; "
                                                        "O'Brien-Fleming alpha spending) while it runs")):
    out = ctx.school.experiment_report(ctx.by, experiment_id, interim=interim)
    if format == "markdown":
        return Response(out["markdown"], media_type="text/markdown; charset=utf-8")
    return out


class TeacherPlaylistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    activity_ids: list[str] = Field(min_length=1, max_length=30, description="catalog activities, in order")


@router.post("/v1/learners/{learner_id}/teacher-playlist", response_model=PlanOut, status_code=201,
             responses=ERRORS, summary="The teacher's own sequence for a learner (approved at once; "
                                       "e.g. the teacher arm of an experiment)")
def teacher_playlist(ctx: CtxDep, body: TeacherPlaylistIn, learner_id: str = Path(max_length=128)):
    return plan_out(ctx.school.teacher_playlist(ctx.by, learner_id, body.activity_ids))
