"""Use cases of evidence: observation batches and xAPI statements (statement-id idempotency,
voiding) — a part of ``SchoolApp``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.access import Caller
from engine.app.xapi import MappedStatement, StatementError, map_statement
from engine.domain.evidence import Observation, score_from_rubric
from engine.errors import ConflictError, NotFoundError, ValidationError

STATEMENT_KIND = "xapi_statement"


class EvidenceUseCases:
    # ---------------------------------------------------------------- observation batches
    def ingest_evidence(self, by: Caller, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Ingest API rows (``id, learner_id, activity_id``, one of ``score`` / ``correct`` /
        ``rubric_level`` + ``rubric_min`` + ``rubric_max``, ``observed_at``, optional
        ``skill_ids`` (default: the activity's), ``item_id``, ``source``). All-or-nothing;
        returns ``accepted``, ``duplicates`` and ``mastery_updates``."""
        self.allow(by, "evidence:write")
        learners = sorted({r["learner_id"] for r in rows})
        if by.principal.role == "teacher":
            for lid in learners:
                self.allow(by, "evidence:write", learner_id=lid)
        observations = [self._observation(i, r) for i, r in enumerate(rows)]
        with self.store.transaction():
            result = self.engine.ingest(observations)
            self._audit(by, "write", "evidence", detail={"n": len(observations), "accepted": result.accepted,
                                                          "learners": learners[:50]})
        return {"accepted": result.accepted, "duplicates": result.duplicates,
                "mastery_updates": len(result.changes)}

    def _observation(self, i: int, r: Mapping[str, Any]) -> Observation:
        where = f"observations[{i}]"
        if r["learner_id"] not in self.view.learners:
            raise NotFoundError(f"{where}.learner_id: learner {r['learner_id']!r} is unknown; register the learner first")
        act = self._activity(r["activity_id"])
        given = [r.get(k) is not None for k in ("score", "correct", "rubric_level")]
        if sum(given) != 1:
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
            return Observation(observation_id=r["id"], learner_id=r["learner_id"], activity_id=act.id,
                               skill_ids=skills, score=score, observed_at=r["observed_at"],
                               source=r.get("source", "lms"), item_id=r.get("item_id"))
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None

    # ---------------------------------------------------------------- xAPI statements
    def store_statements(self, by: Caller, statements: Sequence[Any], *, array: bool = True,
                         now: float | None = None) -> list[str]:
        """Store xAPI 1.0.3 statements (see :mod:`engine.app.xapi` for the mapping); returns
        their ids in order. Same id + same content counts once, same id + different content
        is a ConflictError; a voiding statement retracts the voided statement's evidence.
        Nothing is written when any statement is bad. ``array``: the statements came as a
        JSON array (error fields are then ``statements[i].<field>``)."""
        self.allow(by, "evidence:write")
        mapped = self._map_statements(statements, array, time.time() if now is None else now)
        fresh, seen = self._fresh_statements(mapped)
        for m in fresh:
            if by.principal.role == "teacher" and m.learner_id is not None:
                self.allow(by, "evidence:write", learner_id=m.learner_id)
            if m.voids is not None:
                target = self._statement(m.voids)
                if target is None and m.voids not in seen:
                    raise NotFoundError(f"voided statement {m.voids} is unknown; nothing to void")
                if target is not None and target.get("voids"):
                    raise StatementError("object.id", f"statement {m.voids} is itself a voiding statement; "
                                         "it cannot be voided")
        learners = sorted({m.learner_id for m in fresh if m.learner_id})
        with self.store.transaction():  # evidence, voids, statement records, audit: all or nothing
            self._write_statements(fresh)
            self._audit(by, "write", "xapi", detail={"n": len(fresh), "learners": learners[:50],
                                                      "voided": [m.voids for m in fresh if m.voids]})
        return [m.statement_id for m in mapped]

    def _map_statements(self, statements: Sequence[Any], array: bool, now: float) -> list[MappedStatement]:
        learners, acts = self.view.learners, self.view.activities

        def first_of(known):
            return lambda keys: next((k for k in keys if k in known), None)

        mapped = []
        for i, st in enumerate(statements):
            try:
                mapped.append(map_statement(st, resolve_learner=first_of(learners),
                                            resolve_activity=first_of(acts), now=now))
            except StatementError as exc:
                if not array:
                    raise
                raise StatementError(f"statements[{i}].{exc.field}", exc.message) from None
        return mapped

    def _fresh_statements(self, mapped: list[MappedStatement]) -> tuple[list[MappedStatement], dict]:
        """Statements not stored yet (idempotency within the batch and against the store)."""
        seen: dict[str, str] = {}
        fresh = []
        for m in mapped:
            if m.statement_id in seen:
                if seen[m.statement_id] != m.digest:
                    raise ConflictError(f"statement id {m.statement_id} appears twice with different content")
                continue
            seen[m.statement_id] = m.digest
            stored = self._statement(m.statement_id)
            if stored is not None:
                if stored["digest"] != m.digest:
                    raise ConflictError(
                        f"statement {m.statement_id} was already stored with different content; "
                        "statements are immutable, send a new id (or void the old one)")
                continue
            fresh.append(m)
        return fresh, seen

    def _statement(self, statement_id: str) -> dict | None:
        try:
            return self.store.get_document(STATEMENT_KIND, statement_id).payload
        except NotFoundError:
            return None

    def _write_statements(self, mapped: list[MappedStatement]) -> None:
        """Ingest evidence statements, retract voided ones, record every statement."""
        observations = []
        for m in mapped:
            if m.voids is None:
                act = self._activity(m.activity_id)
                observations.append(Observation(
                    observation_id=m.observation_id, learner_id=m.learner_id, activity_id=act.id,
                    skill_ids=act.skill_ids, score=m.outcome,
                    observed_at=datetime.fromtimestamp(m.timestamp, UTC), source="lms"))
        if observations:
            self.engine.ingest(observations)
        for m in mapped:
            if m.voids is not None:
                target = self._statement(m.voids) or {}
                if target.get("observation_id") and not target.get("voided"):
                    self.engine.retract([target["observation_id"]])
                    self.store.put_document(STATEMENT_KIND, m.voids,
                                            {**target, "voided": True, "voided_by": m.statement_id})
            payload = {"digest": m.digest, "verb": m.verb, "learner_id": m.learner_id,
                       "activity_id": m.activity_id, "voids": m.voids,
                       "observation_id": m.observation_id if m.voids is None else None,
                       "voided": False}
            self.store.put_document(STATEMENT_KIND, m.statement_id, payload)
