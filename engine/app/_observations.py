"""API observation rows made observations, before the write lock (``SchoolApp.prepare_evidence``).

Checking rows against the school (learners, activities, skills, one outcome each) and making
them :class:`~engine.domain.evidence.Observation` objects needs the school's in-memory view,
not the store's write lock. Done inside a group of writes (``service.writes``) it held the
lock of every server process for 11-13 % of a 500-observation batch's use case
(docs/performance.md, sixteenth session); the service now does it first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.access import Caller
from engine.domain.evidence import Observation, score_from_rubric
from engine.errors import NotFoundError, ValidationError
from engine.mastery import PreparedBatch


@dataclass(frozen=True, slots=True)
class PreparedEvidence:
    """An evidence batch ready to write: who sent it, its learners (sorted; found before the
    lock for the permission check, kept for the audit row) and the engine's prepared batch."""

    by: Caller
    learners: tuple[str, ...]
    batch: PreparedBatch

    @property
    def n(self) -> int:
        """Rows in the batch: the kept observations and the repeats dropped from it."""
        return len(self.batch.unique) + len(self.batch.duplicate_ids)


def observations_from_rows(rows: Sequence[Mapping[str, Any]], view) -> list[Observation]:
    """``rows`` (API observation rows) as observations, checked against ``view`` (a
    :class:`~engine.app._view.SchoolView`: one snapshot for the batch). Errors name the row
    (``observations[i].field``)."""
    skills_of: dict[str, tuple[str, ...]] = {}  # activity -> its skills, checked once per batch
    return [_observation(i, r, view, skills_of) for i, r in enumerate(rows)]


def _observation(i: int, r: Mapping[str, Any], view, skills_of: dict[str, tuple[str, ...]]) -> Observation:
    """Row ``i`` of an API batch as an :class:`Observation`; ``skills_of`` caches each
    activity's (checked) skills across the batch."""
    lid, aid = r["learner_id"], r["activity_id"]
    if lid not in view.learners:
        raise NotFoundError(f"observations[{i}].learner_id: learner {lid!r} is unknown; register the learner first")
    given = r.get("skill_ids")
    skills = skills_of.get(aid) if not given else None
    if skills is None:
        act = view.activities.get(aid)
        if act is None:
            raise NotFoundError(f"observations[{i}].activity_id: activity {aid!r} is not in the catalog; add it first")
        skills = tuple(given or act.skill_ids)
        unknown = [s for s in skills if s not in view.skills]
        if unknown:
            raise NotFoundError(f"observations[{i}].skill_ids: unknown skill(s) {unknown}")
        if not given:
            skills_of[aid] = skills
    score, correct, level = r.get("score"), r.get("correct"), r.get("rubric_level")
    if (score is not None) + (correct is not None) + (level is not None) != 1:
        raise ValidationError(f"observations[{i}]: give exactly one of score, correct, rubric_level")
    if score is not None:
        score = float(score)
    elif correct is not None:
        score = 1.0 if correct else 0.0
    else:
        if r.get("rubric_min") is None or r.get("rubric_max") is None:
            raise ValidationError(f"observations[{i}]: rubric_level needs rubric_min and rubric_max")
        score = score_from_rubric(level, r["rubric_min"], r["rubric_max"])
    try:
        return Observation(observation_id=r["id"], learner_id=lid, activity_id=aid,
                           skill_ids=skills, score=score, observed_at=r["observed_at"],
                           source=r.get("source", "lms"), item_id=r.get("item_id"))
    except ValidationError as exc:
        raise ValidationError(f"observations[{i}]: {exc}") from None
