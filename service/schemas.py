"""Pydantic request/response models of the HTTP API (the only pydantic in Pathwise).

Domain validation (enums, ranges) happens in the engine's frozen dataclasses; these
models give the OpenAPI schema its shape and catch type errors field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- health / errors


class ErrorField(BaseModel):
    loc: list[str]
    field: str
    msg: str
    type: str


class ErrorDetail(BaseModel):
    type: str
    status: int
    message: str
    request_id: str
    fields: list[ErrorField] = []


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    store: str
    kernels: Literal["warm", "warming"] = Field(description="Numba fitting kernels loaded yet?")


# ----------------------------------------------------------------------------- evidence


class ObservationIn(Strict):
    """One observation. Give exactly one outcome: ``score`` in [0, 1], ``correct``,
    or ``rubric_level`` with ``rubric_min``/``rubric_max``."""

    id: str = Field(min_length=1, max_length=200, description="Idempotency key within the tenant")
    learner_id: str = Id
    activity_id: str = Id
    skill_ids: list[str] | None = Field(
        default=None, description="Skills the evidence bears on; default: the activity's skills"
    )
    item_id: str | None = None
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    correct: bool | None = None
    rubric_level: float | None = None
    rubric_min: float | None = None
    rubric_max: float | None = None
    observed_at: datetime = Field(description="ISO 8601 with time zone")
    source: Literal["lms", "teacher_observation", "self_report"] = "lms"


class EvidenceBatch(Strict):
    observations: list[ObservationIn] = Field(min_length=1)


class IngestResponse(BaseModel):
    accepted: int = Field(description="Observations newly stored")
    duplicates: int = Field(description="Observations already stored with the same payload")
    mastery_updates: int = 0


# ----------------------------------------------------------------------------- learners


class MasteryOut(BaseModel):
    skill_id: str
    title: str = ""
    p_mastered: float
    n_observations: int
    updated_at: str | None = None


class LearnerMastery(BaseModel):
    learner_id: str
    threshold: float
    skills: list[MasteryOut]


class MasteryPoint(BaseModel):
    skill_id: str
    observation_id: str
    before: float
    after: float
    at: str


class MasteryHistory(BaseModel):
    learner_id: str
    skill_id: str | None
    points: list[MasteryPoint]


class ProvenancedField(BaseModel):
    value: Any
    set_by: str
    set_at: str


class ProfileOut(BaseModel):
    learner_id: str
    name: str
    grade: str
    fields: dict[str, ProvenancedField]
    history: list[dict[str, Any]]


class ProfileUpdate(Strict):
    """Set one or more profile fields; ``set_by`` records who set them."""

    set_by: Literal["student", "teacher", "parent"]
    fields: dict[str, Any] = Field(min_length=1)


class LearnerSummary(BaseModel):
    id: str
    name: str
    grade: str


class SkillRef(BaseModel):
    skill_id: str
    title: str = ""
    p_mastered: float | None = None
    distance: int | None = None


class ReadyToLearn(BaseModel):
    learner_id: str
    threshold: float
    skills: list[SkillRef]


class Gaps(BaseModel):
    learner_id: str
    skill_id: str
    gaps: list[SkillRef]


# ----------------------------------------------------------------------------- graph / catalog


class SkillOut(BaseModel):
    id: str
    code: str
    title: str
    grade: str = ""
    domain: str = ""
    case_id: str | None = None
    prerequisites: list[str] = []


class GraphImportResult(BaseModel):
    skills: int
    prerequisites: int
    document: str = ""


class ActivityIn(Strict):
    id: str = Id
    title: str = Field(min_length=1, max_length=300)
    skills: list[tuple[str, float]] = Field(min_length=1, description="(skill_id, weight in (0, 1])")
    kind: Literal["lesson", "practice", "project", "small_group", "online_module", "assessment"]
    modality: Literal["online", "teacher_led", "collaborative", "independent_offline"]
    place: Literal["school", "home", "community"] = "school"
    duration_min: int = Field(ge=1, le=600)
    difficulty: float = Field(default=0.5, ge=0.0, le=1.0)
    group_min: int = Field(default=1, ge=1, le=40)
    group_max: int = Field(default=1, ge=1, le=40)
    device: str | None = None
    formats: list[str] = []
    interests: list[str] = []
    language: str = "en"
    accommodations: list[str] = []


class ActivityOut(ActivityIn):
    model_config = ConfigDict(extra="allow")


class CatalogImport(Strict):
    activities: list[ActivityIn] = Field(min_length=1)
    replace: bool = Field(default=False, description="Drop activities not in this import")


class CatalogImportResult(BaseModel):
    created: int
    updated: int
    removed: int = 0


# ----------------------------------------------------------------------------- plans / review


class PlanItemOut(BaseModel):
    activity_id: str
    title: str
    minutes: float
    skills: list[str]
    reason: str
    details: dict[str, Any] = {}
    pinned: bool = False
    added_by: str = "planner"


class ConflictOut(BaseModel):
    constraint: str
    amount: float = 0.0
    blocked_by: list[str] = []
    message: str


class PlanOut(BaseModel):
    plan_id: str
    kind: Literal["playlist", "class"]
    subject: str
    status: Literal["proposed", "approved", "edited", "rejected", "active", "done"]
    version: int
    items: list[PlanItemOut]
    body: dict[str, Any] = {}
    conflicts: list[ConflictOut] = []
    pins: list[str] = []
    removes: list[str] = []
    reject_reason: str = ""
    total_minutes: float = 0.0
    history: list[dict[str, Any]] = []


class CurrentPlaylistOut(PlanOut):
    """The playlist the learner follows now, and a proposal waiting beside it."""

    pending: PlanOut | None = Field(
        default=None,
        description="A newer proposal (e.g. generated by the LMS or a class-plan refresh) waiting for "
                    "the teacher beside the plan they decided on; it never replaces that plan by itself")


class PlaylistRequestIn(Strict):
    budget_min: float | None = Field(default=None, gt=0, le=600, description="Minutes; default from the class model")
    pins: list[str] = []
    removes: list[str] = []
    class_id: str | None = Field(default=None, description="Class whose model shapes the playlist")


class ClassPlanRequestIn(Strict):
    session: str | None = Field(default=None, description="Session label, e.g. 'mon 09:00'")
    keep_apart: list[tuple[str, str]] = []
    keep_together: list[tuple[str, str]] = []


class WhyNotOut(BaseModel):
    activity_id: str
    in_plan: bool
    excluded_by: list[str]
    objective_cost: float | None = Field(description="Objective lost by forcing it in; null = a hard rule forbids it")
    dropped: list[str] = []
    added: list[str] = []
    sentence: str
    experiment_arm: str | None = Field(default=None, description="The running experiment arm the learner is in "
                                       "(its weights and learned-model switches shape this answer)")
    note: str | None = Field(default=None, description="Set when the learner's playlists do not come from the "
                             "Pathwise planner (a baseline or teacher arm): the answer is still the planner's")


class EditIn(Strict):
    op: Literal["pin", "unpin", "remove", "add", "reorder"]
    activity_id: str | None = None
    order: list[str] | None = None
    position: int | None = Field(default=None, ge=0)


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


# ----------------------------------------------------------------------------- classes


class ClassSummary(BaseModel):
    id: str
    name: str
    grade: str
    model: str
    teachers: list[str]
    size: int


class ClassOut(ClassSummary):
    roster: list[LearnerSummary]
    settings: dict[str, Any]


# ----------------------------------------------------------------------------- models / jobs


class FitRequest(Strict):
    skills: list[str] | None = Field(default=None, description="Fit only these skills (default all)")
    max_iter: int | None = Field(default=None, ge=1, le=5000,
                                 description="EM iteration cap (default: the estimator's, 5000, "
                                             "with a relative log-likelihood stopping rule)")


class JobOut(BaseModel):
    job_id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0.0, le=1.0)
    message: str = ""
    result: dict[str, Any] = {}


class ModelVersionOut(BaseModel):
    version: int
    created_at: str
    params: dict[str, dict[str, float]]
    meta: dict[str, Any] = {}


# ----------------------------------------------------------------------------- planning policy

#: A policy switch that can wait for a school test (engine.domain.policy.SWITCH_MODES).
SwitchMode = Literal["off", "when_shown", "on"]


class PlanningPolicyOut(BaseModel):
    mastered_threshold: float = Field(description="Mastery in (0, 1] at or above which a skill counts as mastered")
    goal_weight: float = Field(description="Planner weight of a profile goal skill (>= 1)")
    growth_weight: float = Field(description="Planner weight of a profile growth area (>= 1)")
    struggling_mastery: float = Field(description="Below this mastery (with enough evidence) a learner struggles")
    struggling_min_observations: int = Field(description="Observations needed before the struggling rule applies")
    learn_effectiveness: SwitchMode = Field(
        "when_shown", description="Plan with activity effectiveness learned from exit tickets: off, on, or "
        "when_shown (only while the school's own tickets show that activities teaching the same skill differ)")
    fitted_forgetting: bool = Field(False, description="Schedule review from half-lives fitted on retention checks")
    protect_from_forgetting: SwitchMode = Field(
        "when_shown", description="Value what a review protects from forgetting over the next week (playlists and "
        "why-not): off, on, or when_shown (only while the school's own retention checks show forgetting)")


class ForgettingTestOut(BaseModel):
    mode: SwitchMode = Field(description="The policy's protect_from_forgetting")
    forgets: bool = Field(description="Whether the school's retention checks show forgetting (5 % level)")
    evidence: float = Field(description="Likelihood-ratio statistic against 'nothing fades' (>= 2.71: forgets)")
    half_life_days: float | None = Field(description="The school's half-life in days; null when nothing fading "
                                         "fits best")
    retention_checks: int = Field(description="Answers on a skill believed mastered, a day or more after its "
                                  "previous practice")
    protecting: bool = Field(description="Whether playlists value what a review protects from forgetting now")


class PlanningPolicyUpdate(Strict):
    mastered_threshold: float | None = Field(default=None, gt=0.0, le=1.0)
    goal_weight: float | None = Field(default=None, ge=1.0, le=10.0)
    growth_weight: float | None = Field(default=None, ge=1.0, le=10.0)
    struggling_mastery: float | None = Field(default=None, ge=0.0, lt=1.0)
    struggling_min_observations: int | None = Field(default=None, ge=1, le=1000)
    learn_effectiveness: SwitchMode | bool | None = Field(
        default=None, description="off, when_shown or on (true/false mean on/off)")
    fitted_forgetting: bool | None = None
    protect_from_forgetting: SwitchMode | bool | None = Field(
        default=None, description="off, when_shown or on (true/false mean on/off)")


# ----------------------------------------------------------------------------- admin / privacy


class KeyCreate(Strict):
    role: Literal["lms", "teacher", "student", "guardian", "researcher", "admin"]
    name: str = Field(default="", max_length=200)
    teacher_id: str | None = Field(None, min_length=1, max_length=200)
    subject: str | None = Field(None, min_length=1, max_length=200,
                                description="learner id (student key) or guardian id (guardian key)")


class KeyCreated(BaseModel):
    key_id: str
    key: str = Field(description="Shown once; only its hash is stored")
    role: str
    tenant: str


class KeyOut(BaseModel):
    key_id: str
    role: str
    label: str | None = None
    teacher_id: str | None = None
    created_at: str
    revoked: bool


class AuditOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    resource: str
    detail: dict[str, Any] = {}


class LearnerExport(BaseModel):
    learner_id: str
    exported_at: str
    data: dict[str, Any]


class DeleteResult(BaseModel):
    learner_id: str
    deleted: dict[str, int]


class ResearchExport(BaseModel):
    pseudonymized: Literal[True] = True
    observations: list[dict[str, Any]]
