"""The engine facade: one tenant's school data, evidence ingest and mastery, over a store.

    engine = Engine.open("sqlite:///pathwise.db", tenant="demo")
    engine.load_school(load_demo_school())
    result = engine.ingest([Observation(...), ...])   # IngestResult(accepted, duplicates, changes)
    engine.mastery("L001")                              # {skill_id: SkillMastery}
    engine.history("L001", "3.OA.A.1")                  # [MasteryChange, ...]
    engine.set_model(fitted)                            # any fitted kt model -> ModelVersion
    engine.fit_model("elo")                             # fit on the stored evidence, activate

The engine runs the tenant's *active* model version through the :mod:`kt.online` contract
(:class:`engine.runtime.RuntimeModel`: the active model + default BKT for uncovered skills).
See :mod:`engine.mastery` for the update model, time order and the ingest guarantees.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from engine.domain.evidence import MasteryChange, Observation, SkillMastery
from engine.errors import ValidationError
from engine.mastery import (
    DEFAULT_PARAMS,
    IngestResult,
    ModelParams,
    PreparedBatch,
    ingest,
    prepare_batch,
    recompute,
    retract,
)
from engine.runtime import RuntimeModel, bkt_from_params, calibration, model_skills
from engine.store import ModelVersion, Store, TenantStore, open_store
from kt.bkt.params import SkillParams

_LOAD_BATCH = 20_000


class Engine:
    """One tenant's engine over a :class:`~engine.store.Store`.

    Thread-safe: calls go through the store's lock; the runtime-model cache has its own.
    Keep one Engine per tenant: it caches the runtime model (rebuilt when the active version
    changes or an observation names a skill the cached one does not cover).
    """

    def __init__(self, store: Store, tenant: str, *, owns_store: bool = False) -> None:
        self.db = store
        self.store: TenantStore = store.for_tenant(tenant)
        self.tenant = tenant
        self._owns_store = owns_store
        self._runtime: RuntimeModel | None = None
        self._runtime_lock = threading.Lock()

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
    @staticmethod
    def prepare(observations: Iterable[Observation | Mapping[str, Any]]) -> PreparedBatch:
        """The part of :meth:`ingest` that needs no store and no write lock
        (:func:`engine.mastery.prepare_batch`): do it first where the caller's transaction
        may already hold the lock (a group of requests, ``service.writes``)."""
        return prepare_batch(observations)

    def ingest(
        self,
        observations: PreparedBatch | Iterable[Observation | Mapping[str, Any]],
        *,
        then: Callable[[IngestResult], None] | None = None,
    ) -> IngestResult:
        """Validate a batch (or take one :meth:`prepare` made) and fold it into each learner's
        state in one transaction (see :mod:`engine.mastery`: time order, idempotency,
        all-or-nothing); ``then(result)`` runs inside that transaction (a caller's audit entry).

        Raises ``ValidationError`` (bad field), ``NotFoundError`` (unknown learner, skill or
        activity) or ``ConflictError`` (reused id, different payload); then nothing is written.
        """
        return ingest(self.store, observations, self.runtime_model, then=then)

    def ingest_one(self, observation: Observation | Mapping[str, Any]) -> IngestResult:
        """Ingest a single observation (same rules as :meth:`ingest`)."""
        return ingest(self.store, (observation,), self.runtime_model)

    def retract(self, observation_ids: Iterable[str]) -> int:
        """Remove observations (e.g. voided xAPI statements) and refold their learners."""
        return retract(self.store, observation_ids, self.runtime_model)

    def recompute_mastery(
        self, *, only_stale: bool = False, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Refold every learner with evidence (or with ``only_stale`` those whose state belongs
        to another model) with the active model; ``progress(done, total)`` in learners.
        Without it, such learners are refolded on their next ingest. Returns the count."""
        return recompute(self.store, self.runtime_model, only_stale=only_stale, progress=progress)

    # -- mastery ---------------------------------------------------------------------------------
    def mastery(self, learner_id: str) -> dict[str, SkillMastery]:
        """Current mastery of every skill the learner has evidence on, by skill id."""
        return self.store.get_mastery(learner_id)

    def mastery_probabilities(
        self, learner_id: str, skill_ids: Sequence[str] | None = None
    ) -> dict[str, float]:
        """Mastery per skill in [0, 1]: the stored value, or the runtime model's mastery of a
        learner with no evidence (BKT: ``p_init``) for skills without evidence.
        ``skill_ids`` defaults to every skill of the tenant."""
        if skill_ids is None:
            skill_ids = self.store.skill_ids()
        stored = self.store.get_mastery(learner_id)
        model = self.runtime_model(())
        return {s: stored[s].p_mastered if s in stored else model.prior(s) for s in skill_ids}

    def history(self, learner_id: str, skill_id: str | None = None) -> list[MasteryChange]:
        """Every mastery change of the learner (optionally one skill), in time order."""
        return self.store.list_history(learner_id, skill_id)

    # -- models ----------------------------------------------------------------------------------
    def set_model(
        self,
        model: Any,
        meta: Mapping[str, Any] | None = None,
        activate: bool = True,
    ) -> ModelVersion:
        """Store a fitted model as a new version and (by default) make it the active one.

        ``model``: any fitted kt model (``kt.bkt.BKT`` or a ``kt.models`` model), its
        ``to_dict()`` document, or a mapping skill id -> :class:`SkillParams` (or dict of the
        five ``p_*``), which stores a plain BKT. Learners whose state belongs to another
        version are refolded on their next ingest (or by :meth:`recompute_mastery`).
        """
        fitted = _fitted_model(model)
        if activate:
            from engine.fitting import check_activatable  # wrong answers must not raise mastery

            check_activatable(fitted)
        params = {s: p for s in model_skills(fitted) if (p := calibration(fitted, s)) is not None}
        version = self.store.put_model(
            params, meta, model=str(getattr(fitted, "name", "bkt")), document=fitted.to_dict(),
            activate=activate,
        )
        self._forget_runtime()
        return version

    def activate_model(self, version: int) -> None:
        """Make stored ``version`` the active model (0: none, default BKT)."""
        if version:
            from engine.fitting import check_activatable  # wrong answers must not raise mastery

            check_activatable(_stored_model(self.store.get_model(version)))
        self.store.activate_model(version)
        self._forget_runtime()

    def list_models(self) -> list[ModelVersion]:
        """Every stored model version, oldest first (documents included)."""
        return [self.store.get_model(v) for v, _, _ in self.store.list_models()]

    def active_model(self) -> ModelVersion | None:
        """The active model version, ``None`` when the default BKT runs."""
        return self.store.get_model()

    def fit_model(
        self,
        model: str = "bkt",
        *,
        progress: Callable[[float, str], None] | None = None,
        activate: bool = True,
        meta: Mapping[str, Any] | None = None,
        **hyperparameters: Any,
    ) -> ModelVersion:
        """Fit ``model`` (``"bkt"`` = ``kt.bkt.BKT``; any ``kt.models`` name) on the tenant's
        stored evidence and store it as a new version (see :mod:`engine.fitting`)."""
        from engine.fitting import fit_from_store

        fitted, info = fit_from_store(self.store, model, progress=progress, **hyperparameters)
        return self.set_model(fitted, {**info, **dict(meta or {})}, activate=activate)

    def runtime_model(self, skill_ids: Iterable[str] = ()) -> RuntimeModel:
        """The model ingest runs (active version + default BKT for uncovered skills), built
        once per active version; rebuilt when ``skill_ids`` names a skill it does not cover."""
        version = self.store.active_model_version()
        needed = set(skill_ids)
        with self._runtime_lock:
            runtime = self._runtime
            if runtime is None or runtime.version != version or not needed <= runtime.skills:
                mv = self.store.get_model(version) if version else None
                runtime = RuntimeModel(version, _stored_model(mv), self.store.skill_ids())
                self._runtime = runtime
            return runtime

    def _forget_runtime(self) -> None:
        with self._runtime_lock:
            self._runtime = None

    def skill_params(self) -> dict[str, SkillParams]:
        """Per-skill BKT parameters of the running model for every skill it covers: a BKT's
        own, for other models their calibration (or :data:`DEFAULT_PARAMS`). The planner
        reads ``p_learn`` from these."""
        return self.runtime_model(()).skill_params()

    def model_params(self) -> ModelParams:
        """:meth:`skill_params` as a :class:`ModelParams` (``DEFAULT_PARAMS`` for others)."""
        runtime = self.runtime_model(())
        return ModelParams(runtime.skill_params(), DEFAULT_PARAMS, runtime.version)


def _fitted_model(model: Any) -> Any:
    """A fitted kt model from a model, its document or a skill -> BKT parameters mapping."""
    from kt.online import model_from_dict

    if isinstance(model, Mapping):
        if "format" in model:
            return model_from_dict(dict(model))
        return bkt_from_params({str(s): _skill_params(s, v) for s, v in model.items()})
    if not hasattr(model, "to_dict") or not hasattr(model, "update_one"):
        raise ValidationError(
            f"cannot store a {type(model).__name__} as a model; pass a fitted kt model, its "
            "to_dict() document, or a mapping skill id -> SkillParams"
        )
    return model


def _skill_params(skill: Any, value: Any) -> SkillParams:
    from kt.errors import ParameterError

    try:
        return value if isinstance(value, SkillParams) else SkillParams(**dict(value))
    except (TypeError, ParameterError) as exc:
        raise ValidationError(
            f"model parameters of skill {skill!r} are invalid ({exc}); give the five "
            "probabilities p_init, p_learn, p_forget, p_guess, p_slip in [0, 1]"
        ) from None


def _stored_model(version: ModelVersion | None) -> Any | None:
    """The fitted kt model of a stored version (``None``: no model)."""
    if version is None:
        return None
    if version.document is not None:
        from kt.online import model_from_dict

        return model_from_dict(version.document)
    return bkt_from_params({s: SkillParams(**p) for s, p in version.params.items()})


def _values(items: Any) -> list[Any]:
    if isinstance(items, Mapping):
        return list(items.values())
    return list(items)


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
