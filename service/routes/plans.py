"""Recommendations (a learner's playlist, a class's session plan) and their teacher review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from engine import review as rv
from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import (
    ClassOut,
    ClassPlanRequestIn,
    ClassSummary,
    CurrentPlaylistOut,
    EditIn,
    ErrorResponse,
    PlanOut,
    PlaylistRequestIn,
    RejectIn,
    Strict,
    WhyNotOut,
)

BudgetQuery = Query(None, gt=0, le=600, description="Minutes; default from the class model")
StatusQuery = Query(None, pattern="^(proposed|approved|edited|rejected|active|done)$")
router = APIRouter(prefix="/v1", tags=["recommendations & review"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
          409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


def plan_out(plan: rv.ReviewedPlan) -> PlanOut:
    rec = plan.to_record()
    rec["total_minutes"] = plan.total_minutes
    return PlanOut(**{k: v for k, v in rec.items() if k in PlanOut.model_fields})


@router.get("/classes", response_model=list[ClassSummary], responses=ERRORS,
            summary="Classes visible to the caller (a teacher sees only their own)")
def list_classes(ctx: CtxDep):
    return ctx.school.classes(ctx.by)


@router.get("/classes/{class_id}", response_model=ClassOut, responses=ERRORS)
def get_class(ctx: CtxDep, class_id: str):
    return ctx.school.class_detail(ctx.by, class_id)


@router.post("/learners/{learner_id}/playlist", response_model=PlanOut, responses=ERRORS,
             summary="Generate a learner's next playlist (status 'proposed'; it waits beside a plan the "
                     "teacher approved, never replacing it)")
def generate_playlist(ctx: CtxDep, learner_id: str, body: PlaylistRequestIn | None = None):
    """An over-constrained request still answers 200 with the best plan and its ``conflicts``;
    409 only when nothing at all can be planned."""
    body = body or PlaylistRequestIn()
    return plan_out(ctx.school.generate_playlist(ctx.by, learner_id, budget_min=body.budget_min, pins=body.pins,
                                                 removes=body.removes, class_id=body.class_id))


@router.get("/learners/{learner_id}/playlist", response_model=CurrentPlaylistOut, responses=ERRORS,
            summary="The learner's current playlist (the one the teacher approved, edited or started, "
                    "else the newest proposal) and any proposal waiting beside it (404 if none)")
def current_playlist(ctx: CtxDep, learner_id: str):
    current, pending = ctx.school.current_playlist(ctx.by, learner_id)
    return CurrentPlaylistOut(**plan_out(current).model_dump(),
                              pending=plan_out(pending) if pending is not None else None)


@router.get("/learners/{learner_id}/why-not/{activity_id}", response_model=WhyNotOut, responses=ERRORS,
            summary="Why is this activity not in the learner's playlist? (one extra solve)")
def why_not(ctx: CtxDep, learner_id: str, activity_id: str, budget_min: float | None = BudgetQuery):
    return ctx.school.why_not(ctx.by, learner_id, activity_id, budget_min=budget_min)


@router.post("/classes/{class_id}/plan", response_model=PlanOut, responses=ERRORS,
             summary="Generate a class's session plan for its blended model (status 'proposed')")
def generate_class_plan(ctx: CtxDep, class_id: str, body: ClassPlanRequestIn | None = None):
    body = body or ClassPlanRequestIn()
    return plan_out(ctx.school.generate_class_plan(ctx.by, class_id, keep_apart=body.keep_apart,
                                                   keep_together=body.keep_together, session=body.session))


@router.get("/plans", response_model=list[PlanOut], responses=ERRORS, summary="Plans of a learner or class")
def list_plans(ctx: CtxDep, learner_id: str | None = None, class_id: str | None = None,
               status: str | None = StatusQuery):
    if learner_id is None and class_id is None:
        raise ApiError(422, "invalid", "give learner_id or class_id",
                       [{"loc": ["query", "learner_id"], "field": "query.learner_id", "msg": "learner_id or class_id required", "type": "missing"}])
    plans = ctx.school.list_plans(ctx.by, learner_id=learner_id, class_id=class_id, status=status)
    return [plan_out(p) for p in plans]


@router.get("/plans/{plan_id}", response_model=PlanOut, responses=ERRORS)
def get_plan(ctx: CtxDep, plan_id: str):
    return plan_out(ctx.school.get_plan(ctx.by, plan_id))


@router.post("/plans/{plan_id}/approve", response_model=PlanOut, responses=ERRORS)
def approve(ctx: CtxDep, plan_id: str):
    return plan_out(ctx.school.review(ctx.by, plan_id, "approve"))


@router.post("/plans/{plan_id}/reject", response_model=PlanOut, responses=ERRORS)
def reject(ctx: CtxDep, plan_id: str, body: RejectIn):
    return plan_out(ctx.school.review(ctx.by, plan_id, "reject", reason=body.reason))


@router.post("/plans/{plan_id}/activate", response_model=PlanOut, responses=ERRORS)
def activate(ctx: CtxDep, plan_id: str):
    return plan_out(ctx.school.review(ctx.by, plan_id, "activate"))


@router.post("/plans/{plan_id}/complete", response_model=PlanOut, responses=ERRORS)
def complete(ctx: CtxDep, plan_id: str):
    return plan_out(ctx.school.review(ctx.by, plan_id, "complete"))


@router.post("/plans/{plan_id}/edit", response_model=PlanOut, responses=ERRORS,
             summary="Pin, unpin, remove, add or reorder items (status becomes 'edited')")
def edit(ctx: CtxDep, plan_id: str, body: EditIn):
    return plan_out(ctx.school.review(ctx.by, plan_id, "edit", op=body.op, activity_id=body.activity_id,
                                      order=body.order, position=body.position))


@router.post("/plans/{plan_id}/regenerate", response_model=PlanOut, responses=ERRORS,
             summary="Re-plan with the teacher's pins and removals kept as constraints")
def regenerate(ctx: CtxDep, plan_id: str):
    return plan_out(ctx.school.review(ctx.by, plan_id, "regenerate"))


# ------------------------------------------------------------------ the teacher's class overview


class GroupIn(Strict):
    skill_id: str = Field(min_length=1, max_length=200, description="the skill the group works on")
    learner_ids: list[str] = Field(min_length=1, max_length=40, description="learners of the class")
    reason: str = Field("", max_length=200, description="why (e.g. the 'who needs me' category)")


SearchQuery = Query("", max_length=100, description="words of the title, id or skill code")


@router.get("/classes/{class_id}/heatmap", responses=ERRORS,
            summary="Learners x the skills of the class's grade: mastery per cell (null: no answers) "
                    "and each learner's growth line")
def class_heatmap(ctx: CtxDep, class_id: str) -> dict[str, Any]:
    return ctx.school.class_heatmap(ctx.by, class_id)


@router.get("/classes/{class_id}/needs", responses=ERRORS,
            summary="Who needs the teacher today: struggling, stalled, ready to move on, not started, "
                    "each with the facts of its reason")
def who_needs_me(ctx: CtxDep, class_id: str) -> dict[str, Any]:
    return ctx.school.who_needs_me(ctx.by, class_id)


@router.get("/classes/{class_id}/groups", responses=ERRORS, summary="The class's open small groups")
def class_groups(ctx: CtxDep, class_id: str) -> list[dict[str, Any]]:
    return ctx.school.class_groups(ctx.by, class_id)


@router.post("/classes/{class_id}/groups", status_code=201, responses=ERRORS,
             summary="Form a small group of the class's learners for a skill (recorded and audited)")
def form_group(ctx: CtxDep, class_id: str, body: GroupIn) -> dict[str, Any]:
    return ctx.school.form_group(ctx.by, class_id, body.skill_id, body.learner_ids, body.reason)


@router.post("/classes/{class_id}/groups/{group_id}/done", responses=ERRORS, summary="Close a small group")
def close_group(ctx: CtxDep, class_id: str, group_id: str) -> dict[str, Any]:
    return ctx.school.close_group(ctx.by, class_id, group_id)


@router.post("/classes/{class_id}/approve-all", responses=ERRORS,
             summary="Approve the class's session plan and every playlist waiting for review (proposed "
                     "or edited) in one step")
def approve_all(ctx: CtxDep, class_id: str) -> dict[str, Any]:
    return ctx.school.approve_all(ctx.by, class_id)


@router.get("/activities/search", responses=ERRORS,
            summary="Activities matching every word of q (title, id, skill code), the learner's language "
                    "and grade first; at most 20")
def search_activities(ctx: CtxDep, q: str = SearchQuery, learner_id: str | None = None) -> list[dict[str, Any]]:
    return ctx.school.search_activities(ctx.by, q, learner_id=learner_id)
