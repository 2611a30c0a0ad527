"""Tenant store part: observations, current mastery, mastery history and fitted model versions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.domain.evidence import (
    MasteryChange,
    MasteryState,
    Observation,
    format_timestamp,
    parse_timestamp,
)
from engine.errors import NotFoundError, ValidationError
from engine.store._sql import (
    _CHUNK,
    _ENTITIES,
    _HISTORY_COLUMNS,
    _OBS_COLUMNS,
    PARAM_NAMES,
    TenantBase,
    _chunks,
    _dumps,
    _learner_lock_key,
    _marks,
    _now,
    _observation,
)
from engine.store.base import ModelVersion


class EvidencePart(TenantBase):
    """Tenant store part: observations, current mastery, mastery history and fitted model versions."""

    def observation_payloads(self, observation_ids: Iterable[str]) -> dict[str, tuple]:
        """Stored payload (:meth:`Observation.payload` form) of each id that exists."""
        ids = list(dict.fromkeys(observation_ids))
        out: dict[str, tuple] = {}
        with self._read() as driver:
            for chunk in _chunks(ids):
                for row in driver.execute(
                    "SELECT observation_id, learner_id, activity_id, item_id, skill_ids, score, "
                    "observed_at, source FROM observations WHERE tenant_id = ? AND "
                    f"observation_id IN ({_marks(len(chunk))})",
                    (self.tenant_id, *chunk),
                ):
                    out[row[0]] = (row[1], row[2], row[3], row[4], float(row[5]), row[6], row[7])
        return out

    def lock_learners(self, learner_ids: Iterable[str]) -> None:
        """Serialise concurrent ingests of these learners (inside a transaction).

        SQLite already holds the database write lock (``BEGIN IMMEDIATE``); PostgreSQL takes a
        transaction-scoped advisory lock per learner, in a fixed order to avoid deadlocks.
        """
        if self._driver.dialect != "postgresql":
            return
        keys = sorted({_learner_lock_key(self.tenant_id, lid) for lid in learner_ids})
        if keys:
            self._driver.execute(
                "SELECT COUNT(pg_advisory_xact_lock(k)) FROM unnest(?::bigint[]) AS k", (keys,)
            )

    def mastery_values(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[float, int]]:
        """``(learner, skill) -> (p_mastered, n_observations)`` for the stored pairs among
        ``pairs`` (absent pairs have no evidence yet)."""
        wanted = list(dict.fromkeys(pairs))
        out: dict[tuple[str, str], tuple[float, int]] = {}
        driver = self._driver
        cache = driver.mastery_cache
        if cache is not None and driver.in_transaction and not cache.bypass:
            # Write-through cache (SQLite): committed values, dropped when another
            # connection has committed since (data_version).
            cache.validate(driver.data_version())
            tenant = self.tenant_id
            values = cache.values
            misses = []
            for pair in wanted:
                key = (tenant, pair[0], pair[1])
                if key in values:
                    hit = values[key]
                    if hit is not None:
                        out[pair] = hit
                else:
                    misses.append(pair)
            found = self._mastery_from_db(misses)
            out.update(found)
            staged = {(tenant, lid, sid): found.get((lid, sid)) for lid, sid in misses}
            if staged:
                driver.after_commit(lambda: cache.store(staged))
            return out
        return self._mastery_from_db(wanted)

    def _mastery_from_db(
        self, wanted: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[float, int]]:
        out: dict[tuple[str, str], tuple[float, int]] = {}
        with self._read() as driver:
            for chunk in _chunks(wanted, 400):
                params: list[Any] = []
                for lid, sid in chunk:
                    params += (lid, sid)
                params.append(self.tenant_id)
                # A CTE join so both databases probe the primary key once per pair.
                for lid, sid, p, n in driver.execute(
                    "WITH want (l, s) AS (VALUES "
                    + ",".join(["(?, ?)"] * len(chunk))
                    + ") SELECT m.learner_id, m.skill_id, m.p_mastered, m.n_observations "
                    "FROM want JOIN mastery m ON m.tenant_id = ? AND m.learner_id = want.l "
                    "AND m.skill_id = want.s",
                    params,
                ):
                    out[(lid, sid)] = (float(p), int(n))
        return out

    def missing_references(
        self, learner_ids: Iterable[str], activity_ids: Iterable[str], skill_ids: Iterable[str]
    ) -> dict[str, list[str]]:
        """Unknown ids per kind (``learner``, ``activity``, ``skill``); empty lists when all
        exist. One round trip for small sets (the single-observation path)."""
        groups = {
            "learner": list(dict.fromkeys(learner_ids)),
            "activity": list(dict.fromkeys(activity_ids)),
            "skill": list(dict.fromkeys(skill_ids)),
        }
        if sum(len(v) for v in groups.values()) > _CHUNK:
            return {kind: self.missing_ids(kind, ids) for kind, ids in groups.items()}
        parts = []
        params: list[Any] = []
        for kind, ids in groups.items():
            if not ids:
                continue
            table, id_col, _ = _ENTITIES[kind]
            parts.append(
                f"SELECT '{kind}', {id_col} FROM {table} WHERE tenant_id = ? AND {id_col} IN "
                f"({_marks(len(ids))})"
            )
            params += [self.tenant_id, *ids]
        found: set[tuple[str, str]] = set()
        if parts:
            found = {(k, i) for k, i in self._q(" UNION ALL ".join(parts), params)}
        return {kind: [i for i in ids if (kind, i) not in found] for kind, ids in groups.items()}

    def write_evidence(
        self,
        observations: Sequence[Observation],
        mastery: Sequence[tuple[str, str, float, int, str, str]],
        changes: Sequence[MasteryChange],
        times: Mapping[str, str] | None = None,
    ) -> None:
        """Write accepted observations, new mastery rows and their history in one transaction.

        ``mastery`` rows are ``(learner_id, skill_id, p_mastered, n_observations, updated_at
        text, last_observation_id)``; ``times`` optionally maps observation id → formatted
        ``observed_at``. Callers (:mod:`engine.mastery`) have already checked ids, duplicates
        and conflicts.
        """
        tenant = self.tenant_id
        now = _now()
        times = dict(times) if times is not None else {}
        for o in observations:
            if o.observation_id not in times:
                times[o.observation_id] = format_timestamp(o.observed_at)
        obs_rows = [
            (
                tenant,
                o.observation_id,
                o.learner_id,
                o.activity_id,
                o.item_id,
                ";".join(o.skill_ids),
                o.score,
                times[o.observation_id],
                o.source,
                now,
            )
            for o in observations
        ]
        history_rows = [
            (
                tenant,
                c.learner_id,
                c.skill_id,
                c.observation_id,
                c.before,
                c.after,
                c.p_correct_predicted,
                times.get(c.observation_id) or format_timestamp(c.at),
            )
            for c in changes
        ]
        driver = self._driver
        mastery_rows = [(tenant, *row) for row in mastery]
        with driver.transaction():
            cache = driver.mastery_cache
            if cache is not None and not cache.bypass:
                written = {(r[0], r[1], r[2]): (r[3], r[4]) for r in mastery_rows}
                driver.after_commit(lambda: cache.store(written))
            driver.insert_many("observations", _OBS_COLUMNS, obs_rows)
            driver.executemany(
                "INSERT INTO mastery (tenant_id, learner_id, skill_id, p_mastered, "
                "n_observations, updated_at, last_observation_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, learner_id, skill_id) DO UPDATE SET "
                "p_mastered = excluded.p_mastered, n_observations = excluded.n_observations, "
                "updated_at = excluded.updated_at, "
                "last_observation_id = excluded.last_observation_id",
                mastery_rows,
            )
            driver.insert_many("mastery_history", _HISTORY_COLUMNS, history_rows)

    def _invalidate_mastery_cache(self) -> None:
        if self._driver.mastery_cache is not None:
            self._driver.mastery_cache.invalidate()

    def get_observation(self, observation_id: str) -> Observation:
        rows = self._q(
            "SELECT observation_id, learner_id, activity_id, item_id, skill_ids, score, "
            "observed_at, source FROM observations WHERE tenant_id = ? AND observation_id = ?",
            (self.tenant_id, observation_id),
        )
        if not rows:
            raise NotFoundError(
                f"observation {observation_id!r} is not in tenant {self.tenant_id!r}"
            )
        return _observation(rows[0])

    def list_observations(
        self, learner_id: str | None = None, limit: int | None = None
    ) -> list[Observation]:
        """Observations ordered by time (then id); all of the tenant or one learner's."""
        sql = (
            "SELECT observation_id, learner_id, activity_id, item_id, skill_ids, score, "
            "observed_at, source FROM observations WHERE tenant_id = ?"
        )
        params: list[Any] = [self.tenant_id]
        if learner_id is not None:
            sql += " AND learner_id = ?"
            params.append(learner_id)
        sql += " ORDER BY observed_at, observation_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_observation(r) for r in self._q(sql, params)]

    def count_observations(self, learner_id: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM observations WHERE tenant_id = ?"
        params: list[Any] = [self.tenant_id]
        if learner_id is not None:
            sql += " AND learner_id = ?"
            params.append(learner_id)
        return int(self._q(sql, params)[0][0])

    def get_mastery(self, learner_id: str) -> dict[str, MasteryState]:
        """Current mastery of every skill the learner has evidence on, by skill id."""
        return self.get_mastery_many([learner_id]).get(learner_id, {})

    def get_mastery_many(self, learner_ids: Iterable[str]) -> dict[str, dict[str, MasteryState]]:
        """``learner -> skill -> MasteryState`` for several learners (e.g. a class)."""
        ids = list(dict.fromkeys(learner_ids))
        out: dict[str, dict[str, MasteryState]] = {}
        with self._read() as driver:
            for chunk in _chunks(ids):
                for lid, sid, p, n, at, last in driver.execute(
                    "SELECT learner_id, skill_id, p_mastered, n_observations, updated_at, "
                    "last_observation_id FROM mastery WHERE tenant_id = ? AND learner_id IN "
                    f"({_marks(len(chunk))}) ORDER BY learner_id, skill_id",
                    (self.tenant_id, *chunk),
                ):
                    out.setdefault(lid, {})[sid] = MasteryState(
                        lid, sid, float(p), int(n), parse_timestamp(at), last
                    )
        return out

    def list_history(self, learner_id: str, skill_id: str | None = None) -> list[MasteryChange]:
        """Every mastery change of the learner (optionally one skill) in the order applied."""
        sql = (
            "SELECT learner_id, skill_id, observation_id, p_before, p_after, p_correct, at "
            "FROM mastery_history WHERE tenant_id = ? AND learner_id = ?"
        )
        params: list[Any] = [self.tenant_id, learner_id]
        if skill_id is not None:
            sql += " AND skill_id = ?"
            params.append(skill_id)
        sql += " ORDER BY id"
        return [
            MasteryChange(r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5]), parse_timestamp(r[6]))
            for r in self._q(sql, params)
        ]

    def history_observation_ids(self, learner_id: str, skill_id: str) -> list[str]:
        """Observation ids that changed this (learner, skill), in the order applied."""
        return [
            r[0]
            for r in self._q(
                "SELECT observation_id FROM mastery_history WHERE tenant_id = ? AND "
                "learner_id = ? AND skill_id = ? ORDER BY id",
                (self.tenant_id, learner_id, skill_id),
            )
        ]

    def delete_evidence(self, observation_ids: Sequence[str], pairs: Iterable[tuple[str, str]]) -> None:
        """Delete observations and the mastery + history of the given (learner, skill) pairs.

        Used by :func:`engine.mastery.retract`, which then replays the remaining evidence.
        """
        driver = self._driver
        with driver.transaction():
            self._invalidate_mastery_cache()
            for chunk in _chunks(list(observation_ids)):
                driver.execute(
                    "DELETE FROM observations WHERE tenant_id = ? AND observation_id IN "
                    f"({_marks(len(chunk))})",
                    (self.tenant_id, *chunk),
                )
            for lid, sid in pairs:
                for table in ("mastery", "mastery_history"):
                    driver.execute(
                        f"DELETE FROM {table} WHERE tenant_id = ? AND learner_id = ? AND skill_id = ?",
                        (self.tenant_id, lid, sid),
                    )

    def put_model(self, params: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> ModelVersion:
        """Store a new model version: ``params`` maps skill id → SkillParams or a dict of the
        five ``p_*`` probabilities. Returns the stored :class:`ModelVersion` (version = last+1).
        """
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
        meta_json = _dumps(dict(meta or {}))
        with self._driver.transaction():
            version = self.latest_model_version() + 1
            created = _now()
            self._driver.execute(
                "INSERT INTO models (tenant_id, version, created_at, params, meta) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.tenant_id, version, created, _dumps(clean), meta_json),
            )
        return ModelVersion(version, parse_timestamp(created), clean, json.loads(meta_json))

    def latest_model_version(self) -> int:
        """Version of the newest stored model, 0 when none."""
        return int(
            self._q("SELECT MAX(version) FROM models WHERE tenant_id = ?", (self.tenant_id,))[0][0] or 0
        )

    def get_model(self, version: int | None = None) -> ModelVersion | None:
        """A model version (the latest when ``version`` is None); ``None`` when there is none."""
        if version is None:
            version = self.latest_model_version()
            if version == 0:
                return None
        rows = self._q(
            "SELECT version, created_at, params, meta FROM models WHERE tenant_id = ? AND version = ?",
            (self.tenant_id, int(version)),
        )
        if not rows:
            raise NotFoundError(f"model version {version} is not stored for tenant {self.tenant_id!r}")
        v, created, params, meta = rows[0]
        return ModelVersion(int(v), parse_timestamp(created), json.loads(params), json.loads(meta))

    def list_models(self) -> list[tuple[int, datetime, dict[str, Any]]]:
        """``(version, created_at, meta)`` of every model, oldest first."""
        return [
            (int(v), parse_timestamp(c), json.loads(m))
            for v, c, m in self._q(
                "SELECT version, created_at, meta FROM models WHERE tenant_id = ? ORDER BY version",
                (self.tenant_id,),
            )
        ]
