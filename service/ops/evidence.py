"""Evidence: API rows and xAPI statements to observations, ingest, voiding — a mixin of ``TenantBackend``."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.errors import NotFoundError, ValidationError
from service.ops._common import (
    STATEMENT_KIND,
)


class EvidenceOps:
    # ---------------------------------------------------------------- evidence
    def _activity(self, activity_id: str):
        act = self.view.activities.get(activity_id)
        if act is None:
            raise NotFoundError(f"activity {activity_id!r} is not in the catalog; add it first")
        return act

    def build_observations(self, rows: list[dict]) -> list:
        """Validated Observation objects from API rows (skills default to the activity's)."""
        from engine.domain.evidence import Observation, score_from_rubric

        learners = self.view.learners
        out = []
        for i, r in enumerate(rows):
            where = f"observations[{i}]"
            if r["learner_id"] not in learners:
                raise NotFoundError(f"{where}.learner_id: learner {r['learner_id']!r} is unknown; register the learner first")
            act = self._activity(r["activity_id"])
            outcomes = [r.get("score") is not None, r.get("correct") is not None, r.get("rubric_level") is not None]
            if sum(outcomes) != 1:
                raise ValidationError(f"{where}: give exactly one of score, correct, rubric_level")
            if r.get("score") is not None:
                score = float(r["score"])
            elif r.get("correct") is not None:
                score = 1.0 if r["correct"] else 0.0
            else:
                if r.get("rubric_min") is None or r.get("rubric_max") is None:
                    raise ValidationError(f"{where}: rubric_level needs rubric_min and rubric_max")
                score = score_from_rubric(r["rubric_level"], r["rubric_min"], r["rubric_max"])
            skills = tuple(r.get("skill_ids") or act.skill_ids)
            unknown = [s for s in skills if s not in self.view.skills]
            if unknown:
                raise NotFoundError(f"{where}.skill_ids: unknown skill(s) {unknown}")
            try:
                out.append(Observation(
                    observation_id=r["id"], learner_id=r["learner_id"], activity_id=act.id,
                    skill_ids=skills, score=score, observed_at=r["observed_at"],
                    source=r.get("source", "lms"), item_id=r.get("item_id"),
                ))
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc}") from None
        return out

    def ingest(self, observations: list) -> tuple[int, int, int]:
        """(accepted, duplicates, mastery updates); all-or-nothing."""
        return _engine_ingest(self, observations)

    def resolve_learner(self, keys: list[str]) -> str | None:
        learners = self.view.learners
        for k in keys:
            if k in learners:
                return k
        return None

    def resolve_activity(self, keys: list[str]) -> str | None:
        acts = self.view.activities
        for k in keys:
            if k in acts:
                return k
        return None

    def get_statement(self, statement_id: str) -> dict | None:
        try:
            return self.ts.get_document(STATEMENT_KIND, statement_id).payload
        except NotFoundError:
            return None

    def store_statements(self, mapped: list) -> None:
        """Ingest evidence statements, retract voided ones, record every statement."""
        from engine.domain.evidence import Observation

        evidence = [m for m in mapped if m.voids is None]
        observations = []
        for m in evidence:
            act = self._activity(m.activity_id)
            observations.append(Observation(
                observation_id=m.observation_id, learner_id=m.learner_id, activity_id=act.id,
                skill_ids=act.skill_ids, score=m.outcome,
                observed_at=datetime.fromtimestamp(m.timestamp, UTC), source="lms"))
        if observations:
            self.ingest(observations)
        for m in mapped:
            if m.voids is not None:
                target = self.get_statement(m.voids) or {}
                if target.get("observation_id") and not target.get("voided"):
                    _engine_retract(self, [target["observation_id"]])
                    self.ts.put_document(STATEMENT_KIND, m.voids, {**target, "voided": True, "voided_by": m.statement_id})
            payload = {"digest": m.digest, "verb": m.verb, "learner_id": m.learner_id,
                       "activity_id": m.activity_id, "voids": m.voids,
                       "observation_id": m.observation_id if m.voids is None else None,
                       "voided": False}
            self.ts.put_document(STATEMENT_KIND, m.statement_id, payload)


def _engine_ingest(tb, observations: list) -> tuple[int, int, int]:
    result = tb.engine.ingest(observations)
    return result.accepted, result.duplicates, len(result.changes)


def _engine_retract(tb, observation_ids: list[str]) -> None:
    tb.engine.retract(observation_ids)
