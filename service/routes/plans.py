"""Recommendations (a learner's playlist, a class's session plan) and their teacher review."""

from __future__ import annotations

from fastapi import APIRouter, Query

from engine import review as rv
from service.deps import Ctx, CtxDep
from service.schemas import (
    ClassOut,
    ClassPlanRequestIn,
    ClassSummary,
    EditIn,
    ErrorResponse,
    PlanOut,
    PlaylistRequestIn,
    RejectIn,
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


def _allow_plan(ctx: Ctx, plan: rv.ReviewedPlan, action: str) -> None:
    if plan.kind == "playlist":
        ctx.allow(action, learner_id=plan.subject)
    else:
        ctx.allow(action, class_id=plan.subject)


@router.get("/classes", response_model=list[ClassSummary], responses=ERRORS,
            summary="Classes visible to the caller (a teacher sees only their own)")
def list_classes(ctx: CtxDep):
    ctx.allow("class:read")
    classes = ctx.tb.classes()
    if ctx.principal.role == "teacher":
        classes = [c for c in classes if c["id"] in ctx.scope.class_ids]
    return classes


@router.get("/classes/{class_id}", response_model=ClassOut, responses=ERRORS)
def get_class(ctx: CtxDep, class_id: str):
    ctx.allow("class:read", class_id=class_id)
    out = ctx.tb.class_detail(class_id)
    ctx.audit("read", "class", resource_id=class_id)
    return out


@router.post("/learners/{learner_id}/playlist", response_model=PlanOut, responses=ERRORS,
             summary="Generate a learner's next playlist (status 'proposed')")
def generate_playlist(ctx: CtxDep, learner_id: str, body: PlaylistRequestIn | None = None):
    """An over-constrained request still answers 200 with the best plan and its ``conflicts``;
    409 only when nothing at all can be planned."""
    ctx.allow("recommendation:read", learner_id=learner_id)
    body = body or PlaylistRequestIn()
    plan = ctx.tb.generate_playlist(
        learner_id, budget_min=body.budget_min, pins=body.pins, removes=body.removes, class_id=body.class_id,
        audit=lambda p: ctx.audit("write", "plan", learner_id=learner_id, resource_id=p.plan_id,
                                  detail={"op": "generate"}))
    return plan_out(plan)


@router.get("/learners/{learner_id}/playlist", response_model=PlanOut, responses=ERRORS,
            summary="The learner's current playlist: the newest not rejected or done (404 if none)")
def current_playlist(ctx: CtxDep, learner_id: str):
    ctx.allow("recommendation:read", learner_id=learner_id)
    ctx.tb._learner(learner_id)
    plan = ctx.tb.latest_plan(learner_id=learner_id, kind="playlist", open_only=True)
    if plan is None:
        from engine.errors import NotFoundError

        raise NotFoundError(f"learner {learner_id!r} has no open playlist; POST to generate one")
    ctx.audit("read", "plan", learner_id=learner_id, resource_id=plan.plan_id)
    return plan_out(plan)


@router.get("/learners/{learner_id}/why-not/{activity_id}", response_model=WhyNotOut, responses=ERRORS,
            summary="Why is this activity not in the learner's playlist? (one extra solve)")
def why_not(ctx: CtxDep, learner_id: str, activity_id: str, budget_min: float | None = BudgetQuery):
    ctx.allow("recommendation:read", learner_id=learner_id)
    out = ctx.tb.why_not(learner_id, activity_id, budget_min=budget_min)
    ctx.audit("read", "plan.why_not", learner_id=learner_id, detail={"activity_id": activity_id})
    return out


@router.post("/classes/{class_id}/plan", response_model=PlanOut, responses=ERRORS,
             summary="Generate a class's session plan for its blended model (status 'proposed')")
def generate_class_plan(ctx: CtxDep, class_id: str, body: ClassPlanRequestIn | None = None):
    ctx.allow("recommendation:read", class_id=class_id)
    body = body or ClassPlanRequestIn()
    plan = ctx.tb.generate_class_plan(
        class_id, keep_apart=body.keep_apart, keep_together=body.keep_together, session=body.session,
        audit=lambda p: ctx.audit("write", "plan", learner_id=p.subject if p.kind == "playlist" else None,
                                  resource_id=p.plan_id, detail={"op": "generate", "class_id": class_id}))
    return plan_out(plan)


@router.get("/plans", response_model=list[PlanOut], responses=ERRORS, summary="Plans of a learner or class")
def list_plans(ctx: CtxDep, learner_id: str | None = None, class_id: str | None = None,
               status: str | None = StatusQuery):
    if learner_id is None and class_id is None:
        from service.http_errors import ApiError
        raise ApiError(422, "invalid", "give learner_id or class_id",
                       [{"loc": ["query", "learner_id"], "field": "query.learner_id", "msg": "learner_id or class_id required", "type": "missing"}])
    if learner_id is not None:
        ctx.allow("recommendation:read", learner_id=learner_id)
    if class_id is not None:
        ctx.allow("recommendation:read", class_id=class_id)
    plans = ctx.tb.list_plans(learner_id=learner_id, class_id=class_id, status=status)
    ctx.audit("read", "plan.list", learner_id=learner_id, detail={"class_id": class_id, "n": len(plans)})
    return [plan_out(p) for p in plans]


@router.get("/plans/{plan_id}", response_model=PlanOut, responses=ERRORS)
def get_plan(ctx: CtxDep, plan_id: str):
    plan = ctx.tb.get_plan(plan_id)
    _allow_plan(ctx, plan, "recommendation:read")
    ctx.audit("read", "plan", learner_id=plan.subject if plan.kind == "playlist" else None,
              resource_id=plan_id)
    return plan_out(plan)


def _review(ctx: Ctx, plan_id: str, fn, **kw) -> PlanOut:
    """Apply one review step; a concurrent change to the same plan makes this a 409."""
    plan, doc_version = ctx.tb.get_plan_versioned(plan_id)
    _allow_plan(ctx, plan, "plan:review")
    updated, event = fn(plan, ctx.principal.key_id, **kw)
    with ctx.unit():
        ctx.tb.save_plan(updated, expected_version=doc_version)
        ctx.audit("review", "plan", learner_id=plan.subject if plan.kind == "playlist" else None,
                  resource_id=plan_id, detail=event.to_record())
    return plan_out(updated)


@router.post("/plans/{plan_id}/approve", response_model=PlanOut, responses=ERRORS)
def approve(ctx: CtxDep, plan_id: str):
    return _review(ctx, plan_id, rv.approve)


@router.post("/plans/{plan_id}/reject", response_model=PlanOut, responses=ERRORS)
def reject(ctx: CtxDep, plan_id: str, body: RejectIn):
    return _review(ctx, plan_id, rv.reject, reason=body.reason)


@router.post("/plans/{plan_id}/activate", response_model=PlanOut, responses=ERRORS)
def activate(ctx: CtxDep, plan_id: str):
    return _review(ctx, plan_id, rv.activate)


@router.post("/plans/{plan_id}/complete", response_model=PlanOut, responses=ERRORS)
def complete(ctx: CtxDep, plan_id: str):
    return _review(ctx, plan_id, rv.complete)


@router.post("/plans/{plan_id}/edit", response_model=PlanOut, responses=ERRORS,
             summary="Pin, unpin, remove, add or reorder items (status becomes 'edited')")
def edit(ctx: CtxDep, plan_id: str, body: EditIn):
    new_item = None
    if body.op == "add":
        if not body.activity_id:
            from service.http_errors import ApiError
            raise ApiError(422, "invalid", "op 'add' needs activity_id",
                           [{"loc": ["body", "activity_id"], "field": "body.activity_id", "msg": "required for add", "type": "missing"}])
        new_item = ctx.tb.plan_item_for(body.activity_id)
    return _review(ctx, plan_id, rv.edit, op=body.op, activity_id=body.activity_id,
                   order=body.order, new_item=new_item, position=body.position)


@router.post("/plans/{plan_id}/regenerate", response_model=PlanOut, responses=ERRORS,
             summary="Re-plan with the teacher's pins and removals kept as constraints")
def regenerate(ctx: CtxDep, plan_id: str):
    plan, doc_version = ctx.tb.get_plan_versioned(plan_id)
    _allow_plan(ctx, plan, "plan:review")
    updated, _event = ctx.tb.regenerate_plan(
        plan, ctx.principal.key_id, expected_version=doc_version,
        audit=lambda ev: ctx.audit("review", "plan", learner_id=plan.subject if plan.kind == "playlist" else None,
                                   resource_id=plan_id, detail=ev.to_record()))
    return plan_out(updated)
