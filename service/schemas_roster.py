"""Pydantic models of the rostering API: OneRoster import reports, class defaults,
retention, roster CRUD (learners, teachers, guardians, classes) and the tenant export."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from service.schemas import Strict

Name = Field(min_length=1, max_length=200)
Ids = Field(default_factory=list, max_length=1000)


class Counts(BaseModel):
    created: int
    updated: int
    deactivated: int
    unchanged: int


class RecordCounts(BaseModel):
    changed: int = Field(description="OneRoster rows new or different from the stored ones")
    removed: int = Field(description="rows deleted: status tobedeleted, or missing from a bulk file")
    stale: int = Field(description="delta rows older (dateLastModified) than the stored row: ignored")


class RosterImportReport(BaseModel):
    learners: Counts
    teachers: Counts
    guardians: Counts
    classes: Counts
    administrators: int = Field(description="users with an administrator role (linkable with add-user)")
    records: RecordCounts
    ignored: dict[str, int] = Field(description="reason -> records Pathwise does not use")
    ignored_files: list[str]
    changes: int = Field(description="writes made; 0 when the same set is imported again")


class ClassSettings(Strict):
    model: dict[str, Any] = Field(description='blended model, e.g. {"type": "flex", "pullout_slots": 2, '
                                              '"pullout_minutes": 15, "pullout_max_group": 6}')
    size_cap: int = Field(40, ge=1, le=40)
    small_group_cap: int = Field(6, ge=1, le=40)


class ClassDefaultUpdate(Strict):
    course: str | None = Field(None, min_length=1, max_length=200, description="course sourcedId")
    grade: str | None = Field(None, min_length=1, max_length=20, description="grade label, e.g. '3'")
    settings: ClassSettings


class RosterSettings(BaseModel):
    class_defaults: dict[str, Any]
    retention_days: int | None


class RetentionUpdate(Strict):
    days: int | None = Field(..., ge=0, le=3650, description="erase a learner's data this many days "
                                                             "after they leave the roster; null: keep")


class RetentionRun(BaseModel):
    retention_days: int | None
    erased: list[str]
    kept: int


class Departure(BaseModel):
    learner_id: str
    left_at: str


class LearnerPut(Strict):
    name: str = Name
    grade: str = Field(min_length=1, max_length=20)
    language: str | None = Field(None, min_length=2, max_length=35)


class LearnerOut(BaseModel):
    id: str
    name: str
    grade: str
    language: str
    created: bool


class LeftRoster(BaseModel):
    learner_id: str
    classes_left: list[str]


class TeacherPut(Strict):
    name: str = Name


class TeacherOut(BaseModel):
    id: str
    name: str
    created: bool


class GuardianPut(Strict):
    name: str = Name
    learner_ids: list[str] = Ids


class GuardianOut(BaseModel):
    id: str
    name: str
    learner_ids: list[str]
    created: bool | None = None


class ClassPut(Strict):
    name: str = Name
    grade: str = Field(min_length=1, max_length=20)
    teachers: list[str] = Field(min_length=1, max_length=20)
    roster: list[str] = Field(default_factory=list, max_length=40)
    course: str | None = Field(None, max_length=200, description="course sourcedId whose default a new class takes")
    model: dict[str, Any] | None = None
    size_cap: int | None = Field(None, ge=1, le=40)
    small_group_cap: int | None = Field(None, ge=1, le=40)


class TenantExport(BaseModel):
    tenant_id: str
    exported_at: str
    tables: dict[str, list[dict[str, Any]]]
