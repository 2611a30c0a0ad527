"""Request and response bodies of the experiment API (``/v1/experiments``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.experiment.design import WEIGHT_NAMES

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
WeightName = Literal[WEIGHT_NAMES]  # the engine's list: one definition of what an arm may set


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_ID, description="short arm id, e.g. A")
    planner: Literal["pathwise", "greedy", "lowest_mastery", "teacher"] = Field(
        "pathwise", description="pathwise: the default planner; greedy: the planner's greedy gain-per-minute "
                                "rule; lowest_mastery: the ready skill with the lowest mastery first; "
                                "teacher: the engine does not generate, the teacher's own sequence")
    weights: dict[WeightName, float] = Field(default_factory=dict, description="PlanWeights overrides, each in "
                                             "[0, 100] (chain_residual in [0, 1]); e.g. {\"unlock\": 0}")
    label: str = Field("", max_length=200)


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="two-sided significance level")
    power: float = Field(0.8, ge=0.5, lt=1)
    mde: float | None = Field(None, ge=0.01, le=5, description="minimum detectable effect, Cohen's d: the "
                              "planned sample is computed from it (omit to give n_per_arm / clusters_per_arm)")
    icc: float = Field(0.1, ge=0, lt=1, description="assumed intra-class correlation (class randomisation)")
    class_size: float = Field(20, ge=1, le=1000, description="assumed learners per class (class randomisation)")
    n_per_arm: int | None = Field(None, ge=2, le=1_000_000, description="learners per arm, when given")
    clusters_per_arm: int | None = Field(None, ge=2, le=100_000, description="classes per arm, when given")


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    title: str = Field("", max_length=200)
    question: str = Field("", max_length=1000, description="the question the school asks")
    arms: list[ArmIn] = Field(min_length=2, max_length=2, description="comparison arm first")
    unit: Literal["learner", "class"] = "learner"
    stratify_by: Literal["none", "class", "grade"] | None = Field(
        None, description="default: class (learner randomisation), grade (class randomisation)")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    class_ids: list[str] = Field(default_factory=list, max_length=1000,
                                 description="classes whose learners take part (empty: every class)")
    target_skills: list[str] = Field(min_length=1, max_length=500)
    start: dt.date
    end: dt.date
    primary_metric: Literal["mastery_gain"] = "mastery_gain"
    secondary_metrics: list[Literal["time_on_task_min", "observations", "end_mastery"]] = Field(
        default_factory=lambda: ["time_on_task_min", "observations"])
    sample: SampleIn

    def to_design(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True)
        body["sample"] = self.sample.model_dump(exclude_none=True)
        return body


class ExperimentOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    status: Literal["registered", "running", "stopped"]
    unit: str
    arms: list[dict[str, Any]]
    sample: dict[str, Any]
    start: str
    end: str


class AssignmentOut(BaseModel):
    learner_id: str
    class_id: str
    arm: str
    how: Literal["start", "late"]


class ReportOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    experiment: dict[str, Any]
    status: str
    summary: str
    primary: dict[str, Any]
    secondary: list[dict[str, Any]]
    missing_outcomes: dict[str, int]
    markdown: str
