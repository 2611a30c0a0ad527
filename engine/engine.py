"""The engine facade: one tenant's school data, evidence ingest and mastery, over a store.

    engine = Engine.open("sqlite:///pathwise.db", tenant="demo")
    engine.load_school(load_demo_school())
    result = engine.ingest([Observation(...), ...])   # IngestResult(accepted, duplicates, changes)
    engine.mastery("L001")                              # {skill_id: MasteryState}
    engine.history("L001", "3.OA.A.1")                  # [MasteryChange, ...]

See :mod:`engine.mastery` for the update model and the ingest guarantees.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from engine.domain.evidence import MasteryChange, MasteryState, Observation
from engine.errors import ValidationError
from engine.mastery import DEFAULT_PARAMS, IngestResult, ModelParams, ingest, retract
from engine.store import ModelVersion, Store, TenantStore, open_store
from kt.bkt.params import SkillParams

_LOAD_BATCH = 20_000


class Engine:
    """One tenant's engine over a :class:`~engine.store.Store`.

    Thread-safe: calls go through the store's lock; the model-parameter cache has its own.
    """

    def __init__(self, store: Store, tenant: str, *, owns_store: bool = False) -> None:
        self.db = store
        self.store: TenantStore = store.for_tenant(tenant)
        self.tenant = tenant
        self._owns_store = owns_store
        self._params = ModelParams()
        self._params_lock = threading.Lock()

    @classmethod
    def open(cls, url: str = "sqlite://", tenant: str = "default") -> Engine:
        """Open (and migrate) the store at ``url`` and scope it to ``tenant``."""
        return cls(open_store(url), tenant, owns_store=True)

    def close(self) -> None:
        """Close the store if this engine opened it."""
        if self._owns_store:
            self.db.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- school data ---------------------------------------------------------------------------
    def load_school(
        self, school: Any, *, with_evidence: bool = True, with_model: bool = True
    ) -> dict[str, int]:
        """Store a school (e.g. :func:`engine.demo.load_demo_school`): graph, skills,
        activities, learners, classes, teachers — and, when ``with_evidence``, ingest its
        evidence.

        ``school`` needs ``graph``, ``catalog`` (an ActivityCatalog or a sequence of
        activities), ``learners`` and ``classes``; optional ``teachers``; ``evidence`` may be
        observations, dict rows (``evidence.csv`` columns) or a CSV path. When ``with_model``
        and the school carries ``bkt_params`` (skill → five ``p_*``) and the tenant has no
        model yet, those become model version 1 before the evidence is ingested.
        Returns counts per kind.
        """
        catalog = school.catalog
        activities = getattr(catalog, "activities", catalog)
        learners = _values(school.learners)
        classes = _values(school.classes)
        with self.store.transaction():
            self.store.put_graph(school.graph)
            self.store.put_activities(_values(activities))
            self.store.put_learners(learners)
            self.store.put_classes(classes)
            self.store.put_teachers(_values(getattr(school, "teachers", None) or ()))
            params = getattr(school, "bkt_params", None)
            if with_model and params and self.store.latest_model_version() == 0:
                self.set_model(params, {"source": "school bkt_params", "name": getattr(school, "name", "")})
        counts = {
            "skills": len(school.graph.skills),
            "activities": len(_values(activities)),
            "learners": len(learners),
            "classes": len(classes),
            "teachers": len(_values(getattr(school, "teachers", None) or ())),
            "observations": 0,
            "duplicates": 0,
        }
        evidence = getattr(school, "evidence", None)
        if with_evidence and evidence is not None:
            observations = read_evidence(evidence)
            for start in range(0, len(observations), _LOAD_BATCH):
                result = self.ingest(observations[start : start + _LOAD_BATCH])
                counts["observations"] += result.accepted
                counts["duplicates"] += result.duplicates
        return counts

    # -- evidence --------------------------------------------------------------------------------
    def ingest(self, observations: Iterable[Observation | Mapping[str, Any]]) -> IngestResult:
        """Validate and apply a batch in one transaction (see :func:`engine.mastery.ingest`).

        Raises ``ValidationError`` (bad field), ``NotFoundError`` (unknown learner, skill or
        activity) or ``ConflictError`` (reused id, different payload); then nothing is written.
        """
        return ingest(self.store, observations, self.model_params())

    def ingest_one(self, observation: Observation | Mapping[str, Any]) -> IngestResult:
        """Ingest a single observation (same rules as :meth:`ingest`)."""
        return ingest(self.store, (observation,), self.model_params())

    def retract(self, observation_ids: Iterable[str]) -> int:
        """Remove observations (e.g. voided xAPI statements) and recompute affected mastery."""
        return retract(self.store, observation_ids, self.model_params())

    # -- mastery ---------------------------------------------------------------------------------
    def mastery(self, learner_id: str) -> dict[str, MasteryState]:
        """Current mastery of every skill the learner has evidence on, by skill id."""
        return self.store.get_mastery(learner_id)

    def mastery_probabilities(
        self, learner_id: str, skill_ids: Sequence[str] | None = None
    ) -> dict[str, float]:
        """P(mastered) per skill: the stored value, or the skill's ``p_init`` when the learner
        has no evidence on it. ``skill_ids`` defaults to every skill of the tenant."""
        if skill_ids is None:
            skill_ids = [s.id for s in self.store.list_skills()]
        stored = self.store.get_mastery(learner_id)
        params = self.model_params()
        return {
            s: stored[s].p_mastered if s in stored else params[s].p_init for s in skill_ids
        }

    def history(self, learner_id: str, skill_id: str | None = None) -> list[MasteryChange]:
        """Every mastery change of the learner (optionally one skill), in the order applied."""
        return self.store.list_history(learner_id, skill_id)

    # -- model parameters ------------------------------------------------------------------------
    def set_model(
        self, params: Mapping[str, SkillParams | Mapping[str, float]] | Any,
        meta: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Store a new fitted-model version; later ingests use it.

        ``params``: skill id → :class:`~kt.bkt.params.SkillParams` (or dict of the five
        ``p_*``), or a fitted ``kt.bkt.BKT`` (its ``skill_params(skill)`` for every skill).
        """
        if not isinstance(params, Mapping) and hasattr(params, "skill_params"):
            params = _params_of_fitted(params)
        return self.store.put_model(params, meta)

    def model_params(self) -> ModelParams:
        """Per-skill parameters of the newest stored model (defaults when none); cached."""
        latest = self.store.latest_model_version()
        with self._params_lock:
            if latest != self._params.version:
                model = self.store.get_model(latest) if latest else None
                self._params = ModelParams(
                    model.params if model else None, DEFAULT_PARAMS, latest
                )
            return self._params


def _values(items: Any) -> list[Any]:
    if isinstance(items, Mapping):
        return list(items.values())
    return list(items)


def _params_of_fitted(model: Any) -> dict[str, SkillParams]:
    names = None
    for attr in ("skill_names_", "skills_", "skill_names"):
        names = getattr(model, attr, None)
        if names is not None:
            break
    if names is None:
        raise TypeError(
            "cannot list the skills of this fitted model; pass a mapping skill id -> SkillParams"
        )
    return {str(s): model.skill_params(s) for s in names}


def read_evidence(evidence: Any) -> list[Observation]:
    """Observations from a sequence of Observation/dict rows, or an ``evidence.csv`` path
    (columns observation_id, learner_id, activity_id, skill_ids ';'-joined, score,
    observed_at ISO UTC, source; optional item_id)."""
    if isinstance(evidence, str | PathLike):
        with Path(evidence).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [_row_observation(r) for r in rows]
    out = []
    for item in evidence:
        out.append(item if isinstance(item, Observation) else _row_observation(item))
    return out


def _row_observation(row: Mapping[str, Any]) -> Observation:
    record = dict(row)
    if isinstance(record.get("score"), str):
        try:
            record["score"] = float(record["score"])
        except ValueError:
            raise ValidationError(
                f"observation {record.get('observation_id')!r}: score {record['score']!r} is not "
                "a number; use a score in [0, 1]"
            ) from None
    if record.get("item_id") == "":
        record["item_id"] = None
    return Observation.from_record(record)
