"""The learner's voice in the API: today with its choice boards, picks, "how did it go?"
self-ratings, the profile fields each role owns, progress map and growth, the guardian's
weekly summary and notes, the teacher's choice switch, and the Personalized Learning Plan
(JSON and PDF) with its acknowledgements."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.deps import CtxDep
from service.http_errors import ApiError
from service.schemas import ErrorResponse

router = APIRouter(prefix="/v1", tags=["students & families"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
          409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
Id = Field(..., min_length=1, max_length=200)


class ChoiceIn(BaseModel):
    """A pick on the choice board: the plan, the slot (0-based) and the chosen option."""

    model_config = ConfigDict(extra="forbid")
    plan_id: str = Id
    position: int = Field(..., ge=0, le=100)
    activity_id: str = Id


class SelfReportIn(BaseModel):
    """"How did it go?": 1 not yet, 2 a little, 3 mostly, 4 I've got it; an optional sentence."""

    model_config = ConfigDict(extra="forbid")
    activity_id: str = Id
    rating: int = Field(..., ge=1, le=4)
    sentence: str = Field("", max_length=280)


class OwnFieldsIn(BaseModel):
    """Profile fields the caller owns (student: interests, aspirations, how_i_learn, goals,
    preferred_formats, preferred_groupings; guardian: family_notes, home_availability,
    availability; teacher: strengths, growth_areas, accommodations, pace, goal_skills);
    ``on_behalf`` (admins only): student, parent or teacher."""

    model_config = ConfigDict(extra="forbid")
    fields: dict[str, Any] = Field(..., min_length=1, max_length=20)
    on_behalf: Literal["student", "parent", "teacher"] | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=1, max_length=500)


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=280)


class ChoiceSettingIn(BaseModel):
    """Switch choice boards on or off for one class or one learner (exactly one of them);
    ``enabled: null`` with a ``learner_id`` makes that learner follow the class's setting again."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None
    class_id: str | None = Field(None, min_length=1, max_length=200)
    learner_id: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one(self):
        if (self.class_id is None) == (self.learner_id is None):
            raise ValueError("give exactly one of class_id or learner_id")
        return self


@router.get("/learners/{learner_id}/today", responses=ERRORS,
            summary="Today's playlist as the student sees it: minutes, where, with whom, choices, ratings")
def today(ctx: CtxDep, learner_id: str) -> dict:
    return ctx.school.today(ctx.by, learner_id)


@router.post("/learners/{learner_id}/choices", responses=ERRORS,
             summary="The student picks an option of a slot's choice board (recorded in the plan's body.choices)")
def choose(ctx: CtxDep, learner_id: str, body: ChoiceIn) -> dict:
    return ctx.school.choose(ctx.by, learner_id, body.plan_id, body.position, body.activity_id)


@router.post("/learners/{learner_id}/self-reports", status_code=201, responses=ERRORS,
             summary="\"How did it go?\": a 1-4 self-rating stored as soft self-report evidence (weight 0.2)")
def rate(ctx: CtxDep, learner_id: str, body: SelfReportIn) -> dict:
    return ctx.school.rate_activity(ctx.by, learner_id, body.activity_id, body.rating, body.sentence)


@router.get("/learners/{learner_id}/self-reports", responses=ERRORS, summary="The learner's self-ratings, newest first")
def self_reports(ctx: CtxDep, learner_id: str, limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    return ctx.school.self_reports(ctx.by, learner_id, limit=limit)


@router.get("/learners/{learner_id}/progress-map", responses=ERRORS,
            summary="The skills of the learner's grade: mastered / ready / next, and what each unlocks")
def progress_map(ctx: CtxDep, learner_id: str) -> dict:
    return ctx.school.progress_map(ctx.by, learner_id)


@router.get("/learners/{learner_id}/growth", responses=ERRORS,
            summary="Mastery over time of the skills most recently worked on")
def growth(ctx: CtxDep, learner_id: str) -> dict:
    return ctx.school.growth(ctx.by, learner_id)


@router.get("/learners/{learner_id}/profile/story", responses=ERRORS,
            summary="The profile as the student sees it: each field with its owner, who wrote it and when")
def profile_story(ctx: CtxDep, learner_id: str) -> dict:
    return ctx.school.profile_story(ctx.by, learner_id)


@router.post("/learners/{learner_id}/profile/own", responses=ERRORS,
             summary="Set profile fields the caller owns (per-field ownership; who and when are recorded)")
def write_own(ctx: CtxDep, learner_id: str, body: OwnFieldsIn) -> dict:
    return ctx.school.write_profile(ctx.by, learner_id, body.fields, on_behalf=body.on_behalf)


@router.post("/learners/{learner_id}/family-notes", status_code=201, responses=ERRORS,
             summary="A guardian adds a note to the child's profile")
def family_note(ctx: CtxDep, learner_id: str, body: NoteIn) -> dict:
    return ctx.school.add_family_note(ctx.by, learner_id, body.text)


@router.get("/learners/{learner_id}/weekly-summary", responses=ERRORS,
            summary="The guardian's week: skills worked on, growth, what is next, teacher's notes, goals")
def weekly_summary(ctx: CtxDep, learner_id: str) -> dict:
    return ctx.school.weekly_summary(ctx.by, learner_id)


@router.get("/me/children", responses=ERRORS, summary="The learners a guardian is linked to (a student: themselves)")
def my_children(ctx: CtxDep) -> list[dict]:
    return ctx.school.my_children(ctx.by)


@router.put("/choice-settings", responses=ERRORS,
            summary="Teachers switch choice boards on or off for a class or one learner")
def choice_setting(ctx: CtxDep, body: ChoiceSettingIn) -> dict:
    return ctx.school.set_choice(ctx.by, enabled=body.enabled, class_id=body.class_id, learner_id=body.learner_id)


@router.get("/learners/{learner_id}/plp", responses=ERRORS,
            summary="The learner's living Personalized Learning Plan (profile with who wrote what, goals, "
                    "path, progress, accommodations, acknowledgements)")
def plp(ctx: CtxDep, learner_id: str) -> dict:
    return ctx.school.plp(ctx.by, learner_id)


@router.get("/learners/{learner_id}/plp.pdf", responses={**ERRORS, 503: {"model": ErrorResponse}},
            summary="The PLP printed to PDF by headless Chromium (application/pdf)")
def plp_pdf(ctx: CtxDep, request: Request, learner_id: str,
            lang: str | None = Query(None, pattern="^[a-z]{2}$")):
    from service.web import i18n
    from service.web.plp import pdf_response

    data = ctx.school.plp(ctx.by, learner_id)
    language = i18n.pick_language(lang, None, data["language"], request.headers.get("accept-language"))
    return pdf_response(data, language)


@router.post("/learners/{learner_id}/plp/acknowledgements", status_code=201, responses=ERRORS,
             summary="The student, a guardian or a teacher acknowledges the PLP (kept with the date)")
def acknowledge(ctx: CtxDep, learner_id: str, body: AckIn | None = None) -> dict:
    if ctx.principal.role not in ("student", "guardian", "teacher"):
        raise ApiError(403, "forbidden", f"role {ctx.principal.role!r} does not acknowledge a PLP; "
                       "the student, a guardian or a teacher does")
    return ctx.school.acknowledge_plp(ctx.by, learner_id, (body.note if body else ""))
