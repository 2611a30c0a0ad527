"""Evidence: one observation of a learner on an activity, and the mastery change it causes.

An :class:`Observation` carries one outcome as a **score in [0, 1]**:

* correct / incorrect → ``1.0`` / ``0.0`` (:func:`score_from_correct`);
* a numeric score already in [0, 1] is used as it is (partial credit is kept, never rounded);
* a rubric level → ``(level - lowest) / (highest - lowest)`` (:func:`score_from_rubric`),
  e.g. level 3 on a 1..4 rubric is ``2/3``; named levels map by their position in an
  ordered list (:func:`score_from_rubric_label`).

Times are timezone-aware UTC :class:`datetime.datetime` values; a naive datetime is rejected
(we cannot guess its zone). Sources are one of :data:`SOURCES`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.errors import ValidationError

#: Allowed values of :attr:`Observation.source`.
SOURCES: tuple[str, ...] = ("lms", "teacher_observation", "self_report")

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def score_from_correct(correct: bool) -> float:
    """Map a correct/incorrect outcome to a score: ``True`` → 1.0, ``False`` → 0.0."""
    if not isinstance(correct, bool):
        raise ValidationError(
            f"correct must be True or False, got {correct!r}; pass a bool or use a score in [0, 1]"
        )
    return 1.0 if correct else 0.0


def score_from_rubric(level: float, lowest: float, highest: float) -> float:
    """Map a rubric ``level`` on the scale ``lowest..highest`` linearly to [0, 1].

    ``lowest`` maps to 0.0, ``highest`` to 1.0, and levels in between proportionally
    (level 3 on a 1..4 rubric → 2/3). Raises :class:`ValidationError` when the scale is
    empty or the level lies outside it.
    """
    for name, value in (("level", level), ("lowest", lowest), ("highest", highest)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError(f"rubric {name} must be a finite number, got {value!r}")
    if highest <= lowest:
        raise ValidationError(
            f"rubric scale {lowest}..{highest} is empty; highest must be greater than lowest"
        )
    if not lowest <= level <= highest:
        raise ValidationError(
            f"rubric level {level!r} is outside the scale {lowest}..{highest}; "
            "pass a level within the scale"
        )
    return float(level - lowest) / float(highest - lowest)


def score_from_rubric_label(label: str, levels: Sequence[str]) -> float:
    """Map a named rubric level to [0, 1] by its position in ``levels`` (lowest first).

    ``levels=("beginning", "developing", "proficient", "advanced")`` maps ``"proficient"`` to
    2/3. Raises :class:`ValidationError` naming the unknown label and the known ones.
    """
    levels = tuple(levels)
    if len(levels) < 2:
        raise ValidationError(f"a rubric needs at least two levels, got {levels!r}")
    try:
        position = levels.index(label)
    except ValueError:
        raise ValidationError(
            f"rubric level {label!r} is not one of {list(levels)}; use one of those labels"
        ) from None
    return position / (len(levels) - 1)


def to_utc(value: datetime | str, field: str = "observed_at") -> datetime:
    """Return ``value`` as an aware UTC datetime; accepts ISO 8601 strings (``Z`` allowed)."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{field} {value!r} is not an ISO 8601 timestamp; use e.g. 2024-09-03T14:05:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be a datetime or ISO 8601 string, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{field} {value.isoformat()} has no time zone; pass an aware datetime "
            "(e.g. with tzinfo=UTC) or an ISO string ending in Z or +00:00"
        )
    return value.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """Fixed-width, lexicographically sortable UTC text form ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:
        return value.strftime(_TS_FORMAT)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_timestamp(text: str) -> datetime:
    """Inverse of :func:`format_timestamp`."""
    return datetime.fromisoformat(text)


def _check_id(name: str, value: Any) -> str:
    if type(value) is str and value and not value.isspace():  # the common case, cheaply
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Observation:
    """One piece of evidence: learner ``learner_id`` did ``activity_id`` and scored ``score``.

    Attributes:
        observation_id: globally unique id within a tenant; re-sending the same id with the same
            payload is a no-op, with a different payload a conflict.
        learner_id: the learner observed.
        activity_id: the catalog activity the evidence comes from.
        skill_ids: the skills this evidence bears on (non-empty tuple, no duplicates).
        score: outcome in [0, 1] (1 = fully correct); partial credit allowed.
        observed_at: aware datetime, normalised to UTC.
        source: one of :data:`SOURCES`.
        item_id: optional item (question) inside the activity.
    """

    observation_id: str
    learner_id: str
    activity_id: str
    skill_ids: tuple[str, ...]
    score: float
    observed_at: datetime
    source: str = "lms"
    item_id: str | None = None

    def __post_init__(self) -> None:
        _check_id("observation_id", self.observation_id)
        _check_id("learner_id", self.learner_id)
        _check_id("activity_id", self.activity_id)
        if self.item_id is not None:
            _check_id("item_id", self.item_id)
        skills = self.skill_ids
        if isinstance(skills, str):
            skills = (skills,)
        elif not isinstance(skills, tuple):
            if not isinstance(skills, Iterable):
                raise ValidationError(
                    f"observation {self.observation_id!r}: skill_ids must be a sequence of "
                    f"skill ids, got {skills!r}"
                )
            skills = tuple(skills)
        if not skills:
            raise ValidationError(
                f"observation {self.observation_id!r} names no skill; give at least one skill id"
            )
        for skill in skills:
            _check_id("skill id", skill)
            if ";" in skill:
                raise ValidationError(
                    f"skill id {skill!r} contains ';', which separates skill ids; rename the skill"
                )
        if len(skills) > 1 and len(set(skills)) != len(skills):
            raise ValidationError(
                f"observation {self.observation_id!r} repeats a skill in {list(skills)}; "
                "list each skill once"
            )
        if skills is not self.skill_ids:
            object.__setattr__(self, "skill_ids", skills)
        score = self.score
        if type(score) is not float or not 0.0 <= score <= 1.0:  # else the common case (NaN fails)
            if isinstance(score, bool):
                score = score_from_correct(score)
            if not isinstance(score, int | float) or not math.isfinite(score) or not 0.0 <= score <= 1.0:
                raise ValidationError(
                    f"observation {self.observation_id!r}: score {score!r} is outside [0, 1]; "
                    "send correct/incorrect as 1/0, partial credit as a fraction, or map a rubric "
                    "level with engine.domain.evidence.score_from_rubric"
                )
            object.__setattr__(self, "score", float(score))
        at = to_utc(self.observed_at)
        if at is not self.observed_at:
            object.__setattr__(self, "observed_at", at)
        if self.source not in SOURCES:
            raise ValidationError(
                f"observation {self.observation_id!r}: source {self.source!r} is unknown; "
                f"use one of {list(SOURCES)}"
            )

    def payload(self) -> tuple:
        """Everything but the id, in a comparable form (used for idempotency checks)."""
        return (
            self.learner_id,
            self.activity_id,
            self.item_id,
            ";".join(self.skill_ids),
            self.score,
            format_timestamp(self.observed_at),
            self.source,
        )

    def to_record(self) -> dict[str, Any]:
        """JSON-ready dict (timestamps as ISO text, skills as a list)."""
        return {
            "observation_id": self.observation_id,
            "learner_id": self.learner_id,
            "activity_id": self.activity_id,
            "item_id": self.item_id,
            "skill_ids": list(self.skill_ids),
            "score": self.score,
            "observed_at": format_timestamp(self.observed_at),
            "source": self.source,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Observation:
        """Inverse of :meth:`to_record`; ``skill_ids`` may also be a ';'-joined string."""
        skills = record.get("skill_ids", ())
        if isinstance(skills, str):
            skills = tuple(s for s in skills.split(";") if s)
        try:
            return cls(
                observation_id=record["observation_id"],
                learner_id=record["learner_id"],
                activity_id=record["activity_id"],
                skill_ids=tuple(skills),
                score=record["score"],
                observed_at=record["observed_at"],
                source=record.get("source", "lms"),
                item_id=record.get("item_id"),
            )
        except KeyError as exc:
            raise ValidationError(
                f"observation record {record!r} lacks field {exc.args[0]!r}; add it"
            ) from None


@dataclass(frozen=True, slots=True)
class MasteryChange:
    """One row of the longitudinal mastery history.

    ``before``/``after`` are P(mastered) of ``skill_id`` just before and after applying
    observation ``observation_id``; ``p_correct_predicted`` is the model's P(correct) for that
    observation before seeing it; ``at`` is the observation's time (UTC).
    """

    learner_id: str
    skill_id: str
    observation_id: str
    before: float
    after: float
    p_correct_predicted: float
    at: datetime

    def to_record(self) -> dict[str, Any]:
        return {
            "learner_id": self.learner_id,
            "skill_id": self.skill_id,
            "observation_id": self.observation_id,
            "before": self.before,
            "after": self.after,
            "p_correct_predicted": self.p_correct_predicted,
            "at": format_timestamp(self.at),
        }


@dataclass(frozen=True, slots=True)
class SkillMastery:
    """Current mastery of one (learner, skill): the running model's mastery read-out after
    ``n_observations`` observations of the skill.

    ``p_mastered`` is ``model.mastery(state, skill)`` in [0, 1] (for BKT P(mastered); for
    models that predict P(correct) only, the calibrated read-out of :mod:`kt.online`);
    ``updated_at`` is the newest ``observed_at`` of the skill's evidence (old evidence sent
    late never sets it back); ``last_observation_id`` is the latest observation in time order.
    """

    learner_id: str
    skill_id: str
    p_mastered: float
    n_observations: int
    updated_at: datetime
    last_observation_id: str

    def to_record(self) -> dict[str, Any]:
        return {
            "learner_id": self.learner_id,
            "skill_id": self.skill_id,
            "p_mastered": self.p_mastered,
            "n_observations": self.n_observations,
            "updated_at": format_timestamp(self.updated_at),
            "last_observation_id": self.last_observation_id,
        }


# Temporary alias until service/ has moved to the new name (issue 10: kt has its own state
# class, so the engine's per-skill read-out is ``SkillMastery``). Remove at integration.
MasteryState = SkillMastery


@dataclass(frozen=True, slots=True)
class LearnerModelState:
    """One learner's stored model state: the fold of their evidence in time order.

    Attributes:
        learner_id: the learner.
        model_version: the tenant's model version the state belongs to (0 = default BKT).
        model_key: identity of the runtime model that made it (version and how it was built);
            a state whose key differs from the running model's is recomputed from evidence.
        state: the runtime model's state document (JSON-ready; ``RuntimeModel.state_to_dict``:
            the model's own ``state_to_dict``, packed for a plain BKT).
        n_observations: observations folded in.
        last_observed_at: newest ``observed_at`` among them (UTC).
        last_seq: highest arrival sequence number among them (ties in time keep this order).
    """

    learner_id: str
    model_version: int
    model_key: str
    state: dict[str, Any]
    n_observations: int
    last_observed_at: datetime
    last_seq: int
