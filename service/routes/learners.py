"""Learners: mastery now and over time, profile (who set what), readiness and gaps,
per-learner export and deletion."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query

from service.deps import CtxDep
from service.schemas import (
    DeleteResult,
    ErrorResponse,
    Gaps,
    LearnerExport,
    LearnerMastery,
    MasteryHistory,
    ProfileOut,
    ProfileUpdate,
    ReadyToLearn,
)

router = APIRouter(prefix="/v1/learners", tags=["learners"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
          404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
Threshold = Query(0.95, gt=0.0, le=1.0, description="P(mastered) at or above which a skill counts as mastered")


@router.get("/{learner_id}/mastery", response_model=LearnerMastery, responses=ERRORS,
            summary="A learner's mastery of every skill with evidence")
def get_mastery(ctx: CtxDep, learner_id: str, threshold: float = Threshold):
    ctx.allow("learner:read", learner_id=learner_id)
    skills = ctx.tb.mastery(learner_id)
    ctx.audit("read", "learner.mastery", learner_id=learner_id)
    return LearnerMastery(learner_id=learner_id, threshold=threshold, skills=skills)


@router.get("/{learner_id}/mastery/history", response_model=MasteryHistory, responses=ERRORS,
            summary="Every mastery change of a learner (optionally one skill), oldest first")
def get_history(ctx: CtxDep, learner_id: str, skill_id: str | None = None, limit: int = Query(1000, ge=1, le=10000)):
    ctx.allow("learner:read", learner_id=learner_id)
    points = ctx.tb.history(learner_id, skill_id, limit)
    ctx.audit("read", "learner.history", learner_id=learner_id, detail={"skill_id": skill_id})
    return MasteryHistory(learner_id=learner_id, skill_id=skill_id, points=points)


@router.get("/{learner_id}/profile", response_model=ProfileOut, responses=ERRORS,
            summary="A learner's profile; every field says who set it and when")
def get_profile(ctx: CtxDep, learner_id: str):
    ctx.allow("learner:read", learner_id=learner_id)
    out = ctx.tb.profile(learner_id)
    ctx.audit("read", "learner.profile", learner_id=learner_id)
    return out


@router.patch("/{learner_id}/profile", response_model=ProfileOut, responses=ERRORS,
              summary="Set profile fields, recording who set them (student, teacher, parent)")
def patch_profile(ctx: CtxDep, learner_id: str, update: ProfileUpdate):
    ctx.allow("learner:write", learner_id=learner_id)
    out = ctx.tb.update_profile(learner_id, update.fields, update.set_by)
    ctx.audit("write", "learner.profile", learner_id=learner_id,
              detail={"fields": sorted(update.fields), "set_by": update.set_by})
    return out


@router.get("/{learner_id}/ready-to-learn", response_model=ReadyToLearn, responses=ERRORS,
            summary="Skills not mastered whose prerequisites are all mastered")
def ready_to_learn(ctx: CtxDep, learner_id: str, threshold: float = Threshold):
    ctx.allow("learner:read", learner_id=learner_id)
    skills = ctx.tb.ready_to_learn(learner_id, threshold)
    ctx.audit("read", "learner.ready", learner_id=learner_id)
    return ReadyToLearn(learner_id=learner_id, threshold=threshold, skills=skills)


@router.get("/{learner_id}/gaps/{skill_id}", response_model=Gaps, responses=ERRORS,
            summary="Unmastered prerequisite ancestors of a skill, nearest and weakest first")
def gaps(ctx: CtxDep, learner_id: str, skill_id: str, threshold: float = Threshold):
    ctx.allow("learner:read", learner_id=learner_id)
    items = ctx.tb.gaps(learner_id, skill_id, threshold)
    ctx.audit("read", "learner.gaps", learner_id=learner_id, detail={"skill_id": skill_id})
    return Gaps(learner_id=learner_id, skill_id=skill_id, gaps=items)


@router.get("/{learner_id}/export", response_model=LearnerExport, responses=ERRORS,
            summary="All data held about one learner, as JSON (admin)")
def export_learner(ctx: CtxDep, learner_id: str):
    ctx.allow("learner:export", learner_id=learner_id)
    data = ctx.tb.export_learner(learner_id)
    ctx.audit("export", "learner", learner_id=learner_id)
    return LearnerExport(learner_id=learner_id, exported_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         data=data)


@router.delete("/{learner_id}", response_model=DeleteResult, responses=ERRORS,
               summary="Erase a learner: evidence, mastery, profile, plans (audit keeps the fact)")
def delete_learner(ctx: CtxDep, learner_id: str):
    ctx.allow("learner:delete", learner_id=learner_id)
    counts = ctx.tb.delete_learner(learner_id)
    # The audit keeps only that a deletion happened: no learner id in the row.
    ctx.audit("delete", "learner", detail={"erased": True})
    return DeleteResult(learner_id=learner_id, deleted=counts)
