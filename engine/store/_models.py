"""Tenant store part: fitted model versions, the active version, and each learner's model state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.domain.evidence import LearnerModelState, format_timestamp, parse_timestamp
from engine.errors import NotFoundError, ValidationError
from engine.store._sql import PARAM_NAMES, TenantBase, _chunks, _dumps, _marks, _now
from engine.store.base import ModelVersion

#: The last flat state document encoded, its JSON text and a copy (to notice a mutation). An
#: immutable tuple rebound as a whole, so a thread reads one consistent triple (request threads
#: share it; a list mutated in place could pair one state with another's text).
_LAST_TEXT: tuple[Any, str, Any] = (None, "", None)

_STATE_COLUMNS = (
    "tenant_id", "learner_id", "model_version", "model_key", "state", "n_observations",
    "last_observed_at", "last_seq",
)


def _clean_params(params: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    clean: dict[str, dict[str, float]] = {}
    for skill, value in params.items():
        as_dict = value.as_dict() if hasattr(value, "as_dict") else dict(value)
        missing = [n for n in PARAM_NAMES if n not in as_dict]
        if missing:
            raise ValidationError(
                f"model parameters of skill {skill!r} lack {missing}; give all of "
                f"{list(PARAM_NAMES)}"
            )
        row = {}
        for name in PARAM_NAMES:
            number = as_dict[name]
            if isinstance(number, bool) or not isinstance(number, int | float) or not 0.0 <= number <= 1.0:
                raise ValidationError(
                    f"model parameter {name}={number!r} of skill {skill!r} is not a "
                    "probability in [0, 1]"
                )
            row[name] = float(number)
        clean[str(skill)] = row
    return clean


class ModelsPart(TenantBase):
    """Model versions (kt documents + per-skill BKT parameters), the tenant's active version,
    and per-learner model states (``learner_states``)."""

    # -- model versions ------------------------------------------------------------------------
    def put_model(
        self,
        params: Mapping[str, Any],
        meta: Mapping[str, Any] | None = None,
        *,
        model: str = "bkt",
        document: Mapping[str, Any] | None = None,
        activate: bool = True,
    ) -> ModelVersion:
        """Store a new model version (version = last + 1) and, when ``activate``, make it the
        tenant's active version.

        ``params`` maps skill id -> SkillParams or a dict of the five ``p_*`` probabilities
        (the model's BKT parameters or calibration, see :class:`ModelVersion`); ``document``
        is the fitted kt model's JSON document (``None``: ``params`` define a plain BKT).
        """
        clean = _clean_params(params)
        if not isinstance(model, str) or not model:
            raise ValidationError(f"model name must be a non-empty string, got {model!r}")
        meta_json = _dumps(dict(meta or {}))
        doc_json = None if document is None else _dumps(dict(document))
        with self._driver.transaction():
            version = self.latest_model_version() + 1
            created = _now()
            self._driver.execute(
                "INSERT INTO models (tenant_id, version, created_at, params, meta, model_name, "
                "document) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.tenant_id, version, created, _dumps(clean), meta_json, model, doc_json),
            )
            if activate:
                self.activate_model(version)
        return ModelVersion(
            version, parse_timestamp(created), clean, json.loads(meta_json), model,
            None if doc_json is None else json.loads(doc_json),
        )

    def activate_model(self, version: int) -> None:
        """Make stored ``version`` the tenant's active model (0: no model, default BKT)."""
        version = int(version)
        with self._driver.transaction():
            if version != 0 and not self._q(
                "SELECT 1 FROM models WHERE tenant_id = ? AND version = ?", (self.tenant_id, version)
            ):
                raise NotFoundError(
                    f"model version {version} is not stored for tenant {self.tenant_id!r}; "
                    "pick one of list_models()"
                )
            self._driver.execute(
                "INSERT INTO active_models (tenant_id, version, activated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version, "
                "activated_at = excluded.activated_at",
                (self.tenant_id, version, _now()),
            )
            cache = self._driver.mastery_cache
            if cache is not None and not cache.bypass:
                written = {(self.tenant_id, None, None): version}
                self._driver.after_commit(lambda: cache.store(written))

    def active_model_version(self) -> int:
        """The tenant's active model version, 0 when none (the default BKT runs). Inside a
        SQLite transaction it comes from the write-through cache (one query less per ingest)."""
        found = self._read_through(("active",), ((self.tenant_id, None, None),),
                                   self._active_from_db)
        return found.get("active", 0)

    def _active_from_db(self, keys: Sequence[str]) -> dict[str, int]:
        if not keys:
            return {}
        rows = self._q("SELECT version FROM active_models WHERE tenant_id = ?", (self.tenant_id,))
        return {"active": int(rows[0][0])} if rows else {}

    def latest_model_version(self) -> int:
        """Version of the newest stored model, 0 when none."""
        return int(
            self._q("SELECT MAX(version) FROM models WHERE tenant_id = ?", (self.tenant_id,))[0][0] or 0
        )

    def get_model(self, version: int | None = None) -> ModelVersion | None:
        """A model version (the *active* one when ``version`` is None); ``None`` when there is
        none. Raises :class:`NotFoundError` for an unknown version."""
        if version is None:
            version = self.active_model_version()
            if version == 0:
                return None
        rows = self._q(
            "SELECT version, created_at, params, meta, model_name, document FROM models "
            "WHERE tenant_id = ? AND version = ?",
            (self.tenant_id, int(version)),
        )
        if not rows:
            raise NotFoundError(f"model version {version} is not stored for tenant {self.tenant_id!r}")
        v, created, params, meta, name, doc = rows[0]
        return ModelVersion(
            int(v), parse_timestamp(created), json.loads(params), json.loads(meta), name,
            None if doc is None else json.loads(doc),
        )

    def list_models(self) -> list[tuple[int, datetime, dict[str, Any]]]:
        """``(version, created_at, meta)`` of every model, oldest first."""
        return [
            (int(v), parse_timestamp(c), json.loads(m))
            for v, c, m in self._q(
                "SELECT version, created_at, meta FROM models WHERE tenant_id = ? ORDER BY version",
                (self.tenant_id,),
            )
        ]

    def skill_ids(self) -> list[str]:
        """Ids of the tenant's skills, sorted."""
        return [
            r[0]
            for r in self._q(
                "SELECT skill_id FROM skills WHERE tenant_id = ? ORDER BY skill_id", (self.tenant_id,)
            )
        ]

    # -- learner model states --------------------------------------------------------------------
    def learner_states(self, learner_ids: Iterable[str]) -> dict[str, LearnerModelState]:
        """Stored model state of each learner that has one.

        On SQLite, inside a transaction, rows come from the driver's write-through cache
        (:class:`engine.store.driver.MasteryCache`, keyed ``(tenant, learner)`` for states)
        when no other connection has committed since.
        """
        tenant = self.tenant_id
        wanted = list(dict.fromkeys(learner_ids))
        return self._read_through(wanted, [(tenant, lid) for lid in wanted], self._states_from_db)

    def _states_from_db(self, ids: Sequence[str]) -> dict[str, LearnerModelState]:
        out: dict[str, LearnerModelState] = {}
        with self._read() as driver:
            for chunk in _chunks(ids):
                for lid, version, key, state, n, at, seq in driver.execute(
                    "SELECT learner_id, model_version, model_key, state, n_observations, "
                    "last_observed_at, last_seq FROM learner_states WHERE tenant_id = ? AND "
                    f"learner_id IN ({_marks(len(chunk))})",
                    (self.tenant_id, *chunk),
                ):
                    out[lid] = LearnerModelState(
                        lid, int(version), key, json.loads(state), int(n), parse_timestamp(at),
                        int(seq),
                    )
        return out

    def put_learner_states(self, states: Sequence[LearnerModelState]) -> None:
        """Insert or replace learners' model states (inside the caller's transaction)."""
        if not states:
            return
        with self._driver.transaction():
            self._write_learner_states(states)

    def _write_learner_states(self, states: Sequence[LearnerModelState]) -> None:
        """:meth:`put_learner_states` inside an open transaction (also called by
        ``write_evidence``, which writes an ingest's states with its evidence)."""
        tenant = self.tenant_id
        global _LAST_TEXT
        rows = []
        for s in states:
            last_state, last_text, last_copy = _LAST_TEXT
            if s.state is last_state and s.state == last_copy:  # a shared document (e.g.
                text = last_text  # engine.fold_rows.ROW_STATE) is encoded once
            else:
                text = _dumps(s.state)
                if all(isinstance(v, str | int | float) for v in s.state.values()):  # flat
                    _LAST_TEXT = (s.state, text, dict(s.state))
            rows.append((tenant, s.learner_id, s.model_version, s.model_key, text,
                         s.n_observations, format_timestamp(s.last_observed_at), s.last_seq))
        driver = self._driver
        cache = driver.mastery_cache
        if cache is not None and not cache.bypass:
            written = {(tenant, s.learner_id): s for s in states}
            driver.after_commit(lambda: cache.store(written))
        driver.executemany(
            f"INSERT INTO learner_states ({', '.join(_STATE_COLUMNS)}) VALUES "
            f"({_marks(len(_STATE_COLUMNS))}) ON CONFLICT (tenant_id, learner_id) DO UPDATE "
            "SET model_version = excluded.model_version, model_key = excluded.model_key, "
            "state = excluded.state, n_observations = excluded.n_observations, "
            "last_observed_at = excluded.last_observed_at, last_seq = excluded.last_seq",
            rows,
        )

    def delete_learner_states(self, learner_ids: Iterable[str]) -> None:
        """Forget learners' model states (the next ingest refolds their evidence)."""
        ids = list(dict.fromkeys(learner_ids))
        driver = self._driver
        with driver.transaction():
            if driver.mastery_cache is not None:
                driver.mastery_cache.invalidate()
            for chunk in _chunks(ids):
                driver.execute(
                    f"DELETE FROM learner_states WHERE tenant_id = ? AND learner_id IN "
                    f"({_marks(len(chunk))})",
                    (self.tenant_id, *chunk),
                )

    def stale_learners(self, model_key: str) -> list[str]:
        """Learners with evidence whose stored state is missing or belongs to another model."""
        return [
            r[0]
            for r in self._q(
                "SELECT DISTINCT o.learner_id FROM observations o LEFT JOIN learner_states s ON "
                "s.tenant_id = o.tenant_id AND s.learner_id = o.learner_id WHERE o.tenant_id = ? "
                "AND (s.model_key IS NULL OR s.model_key <> ?) ORDER BY o.learner_id",
                (self.tenant_id, model_key),
            )
        ]
