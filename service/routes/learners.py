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
Threshold = Query(None, gt=0.0, le=1.0, description="Mastery at or above which a skill counts as mastered; default: the tenant's planning policy (GET /v1/planning-policy)")


@router.get("/{learner_id}/mastery", response_model=LearnerMastery, responses=ERRORS,
            summary="A learner's mastery of every skill with evidence")
def get_mastery(ctx: CtxDep, learner_id: str, threshold: float | None = Threshold):
    return ctx.school.mastery(ctx.by, learner_id, threshold=threshold)


@router.get("/{learner_id}/mastery/history", response_model=MasteryHistory, responses=ERRORS,
            summary="Every mastery change of a learner (optionally one skill), oldest first")
def get_history(ctx: CtxDep, learner_id: str, skill_id: str | None = None, limit: int = Query(1000, ge=1, le=10000)):
    return ctx.school.history(ctx.by, learner_id, skill_id=skill_id, limit=limit)


@router.get("/{learner_id}/profile", response_model=ProfileOut, responses=ERRORS,
            summary="A learner's profile; every field says who set it and when")
def get_profile(ctx: CtxDep, learner_id: str):
    return ctx.school.profile(ctx.by, learner_id)


@router.patch("/{learner_id}/profile", response_model=ProfileOut, responses=ERRORS,
              summary="Set profile fields, recording who set them (student, teacher, parent)")
def patch_profile(ctx: CtxDep, learner_id: str, update: ProfileUpdate):
    return ctx.school.update_profile(ctx.by, learner_id, update.fields, update.set_by)


@router.get("/{learner_id}/ready-to-learn", response_model=ReadyToLearn, responses=ERRORS,
            summary="Skills not mastered whose prerequisites are all mastered")
def ready_to_learn(ctx: CtxDep, learner_id: str, threshold: float | None = Threshold):
    return ctx.school.ready_to_learn(ctx.by, learner_id, threshold=threshold)


@router.get("/{learner_id}/gaps/{skill_id}", response_model=Gaps, responses=ERRORS,
            summary="Unmastered prerequisite ancestors of a skill, nearest and weakest first")
def gaps(ctx: CtxDep, learner_id: str, skill_id: str, threshold: float | None = Threshold):
    return ctx.school.gaps(ctx.by, learner_id, skill_id, threshold=threshold)


@router.get("/{learner_id}/export", response_model=LearnerExport, responses=ERRORS,
            summary="All data held about one learner, as JSON (admin)")
def export_learner(ctx: CtxDep, learner_id: str):
    data = ctx.school.export_learner(ctx.by, learner_id)
    return LearnerExport(learner_id=learner_id, exported_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         data=data)


@router.delete("/{learner_id}", response_model=DeleteResult, responses=ERRORS,
               summary="Erase a learner: evidence, mastery, model state, profile, plans, statements "
                       "(the audit keeps only the fact)")
def delete_learner(ctx: CtxDep, learner_id: str):
    return DeleteResult(learner_id=learner_id, deleted=ctx.school.erase_learner(ctx.by, learner_id))
