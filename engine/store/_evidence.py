"""Tenant store part: observations, current mastery and mastery history (model versions and
learner states: :mod:`engine.store._models`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.domain.evidence import (
    LearnerModelState,
    MasteryChange,
    Observation,
    SkillMastery,
    format_timestamp,
    parse_timestamp,
)
from engine.errors import NotFoundError
from engine.store._history import HistoryPart, HistoryRow, history_rows
from engine.store._models import ModelsPart
from engine.store._sql import (
    _CHUNK,
    _ENTITIES,
    _HISTORY_COLUMNS,
    _OBS_COLUMNS,
    _chunks,
    _learner_lock_key,
    _marks,
    _now,
    _observation,
)

#: Observation columns as stored: ``seq`` is the learner's arrival sequence number.
_OBS_SEQ_COLUMNS = (*_OBS_COLUMNS, "seq")
_OBS_SELECT = (
    "SELECT observation_id, learner_id, activity_id, item_id, skill_ids, score, observed_at, "
    "source"
)


class EvidencePart(HistoryPart, ModelsPart):
    """Tenant store part: observations, current mastery, mastery history; model versions and
    learner model states come from :class:`~engine.store._models.ModelsPart`."""

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
        tenant = self.tenant_id
        wanted = list(dict.fromkeys(pairs))
        return self._read_through(wanted, [(tenant, lid, sid) for lid, sid in wanted],
                                  self._mastery_from_db)

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
        seqs: Mapping[str, int] | None = None,
        history: Sequence[HistoryRow] = (),
        states: Sequence[LearnerModelState] = (),
    ) -> None:
        """Write accepted observations, new mastery rows, their history and the learners' new
        model ``states`` (as :meth:`put_learner_states`) in one transaction.

        ``mastery`` rows are ``(learner_id, skill_id, p_mastered, n_observations, updated_at
        text, last_observation_id)``; ``times`` optionally maps observation id → formatted
        ``observed_at``; ``seqs`` maps observation id → the learner's arrival sequence number
        (0 when absent); ``history`` more history rows as tuples (appended after ``changes``).
        History rows are appended in the order given (a learner's history,
        read by id, is in the order of their fold). Callers (:mod:`engine.mastery`) have
        already checked ids, duplicates and conflicts.
        """
        tenant = self.tenant_id
        now = _now()
        times = dict(times) if times is not None else {}
        for o in observations:
            if o.observation_id not in times:
                times[o.observation_id] = format_timestamp(o.observed_at)
        obs_rows = _observation_rows(tenant, observations, times, seqs or {}, now)
        hist_rows = history_rows(tenant, changes, history, times)
        driver = self._driver
        mastery_rows = [(tenant, *row) for row in mastery]
        with driver.transaction():
            cache = driver.mastery_cache
            if cache is not None and not cache.bypass:
                written = {(r[0], r[1], r[2]): (r[3], r[4]) for r in mastery_rows}
                driver.after_commit(lambda: cache.store(written))
            driver.insert_many("observations", _OBS_SEQ_COLUMNS, obs_rows)
            driver.executemany(
                "INSERT INTO mastery (tenant_id, learner_id, skill_id, p_mastered, "
                "n_observations, updated_at, last_observation_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, learner_id, skill_id) DO UPDATE SET "
                "p_mastered = excluded.p_mastered, n_observations = excluded.n_observations, "
                "updated_at = excluded.updated_at, "
                "last_observation_id = excluded.last_observation_id",
                mastery_rows,
            )
            driver.insert_many("mastery_history", _HISTORY_COLUMNS, hist_rows)
            if states:
                self._write_learner_states(states)

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
        """Observations in time order (ties: arrival order, then id); all of the tenant or one
        learner's."""
        sql = (
            "SELECT observation_id, learner_id, activity_id, item_id, skill_ids, score, "
            "observed_at, source FROM observations WHERE tenant_id = ?"
        )
        params: list[Any] = [self.tenant_id]
        if learner_id is not None:
            sql += " AND learner_id = ?"
            params.append(learner_id)
        sql += " ORDER BY observed_at, seq, observation_id"
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

    def get_mastery(self, learner_id: str) -> dict[str, SkillMastery]:
        """Current mastery of every skill the learner has evidence on, by skill id."""
        return self.get_mastery_many([learner_id]).get(learner_id, {})

    def get_mastery_many(self, learner_ids: Iterable[str]) -> dict[str, dict[str, SkillMastery]]:
        """``learner -> skill -> SkillMastery`` for several learners (e.g. a class)."""
        ids = list(dict.fromkeys(learner_ids))
        out: dict[str, dict[str, SkillMastery]] = {}
        with self._read() as driver:
            for chunk in _chunks(ids):
                for lid, sid, p, n, at, last in driver.execute(
                    "SELECT learner_id, skill_id, p_mastered, n_observations, updated_at, "
                    "last_observation_id FROM mastery WHERE tenant_id = ? AND learner_id IN "
                    f"({_marks(len(chunk))}) ORDER BY learner_id, skill_id",
                    (self.tenant_id, *chunk),
                ):
                    out.setdefault(lid, {})[sid] = SkillMastery(
                        lid, sid, float(p), int(n), parse_timestamp(at), last
                    )
        return out

    def learner_observations(
        self, learner_ids: Iterable[str]
    ) -> dict[str, list[tuple[Observation, int]]]:
        """Each learner's stored observations with their arrival sequence numbers, in fold
        order: by ``observed_at``, ties by arrival (``seq``). Learners without evidence are
        absent."""
        ids = list(dict.fromkeys(learner_ids))
        out: dict[str, list[tuple[Observation, int]]] = {}
        with self._read() as driver:
            for chunk in _chunks(ids):
                for row in driver.execute(
                    f"{_OBS_SELECT}, seq FROM observations WHERE tenant_id = ? AND learner_id IN "
                    f"({_marks(len(chunk))}) ORDER BY learner_id, observed_at, seq",
                    (self.tenant_id, *chunk),
                ):
                    out.setdefault(row[1], []).append((_observation(row), int(row[8])))
        return out

    def observations_with_seq(self, observation_ids: Iterable[str]) -> dict[str, tuple[Observation, int]]:
        """``id -> (observation, arrival seq)`` of the stored ones among ``observation_ids``."""
        ids = list(dict.fromkeys(observation_ids))
        out: dict[str, tuple[Observation, int]] = {}
        with self._read() as driver:
            for chunk in _chunks(ids):
                for row in driver.execute(
                    f"{_OBS_SELECT}, seq FROM observations WHERE tenant_id = ? AND "
                    f"observation_id IN ({_marks(len(chunk))})",
                    (self.tenant_id, *chunk),
                ):
                    out[row[0]] = (_observation(row), int(row[8]))
        return out

    def evidence_learners(self) -> list[str]:
        """Ids of the learners with stored evidence, sorted."""
        return [
            r[0]
            for r in self._q(
                "SELECT DISTINCT learner_id FROM observations WHERE tenant_id = ? ORDER BY learner_id",
                (self.tenant_id,),
            )
        ]

    def delete_mastery(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Delete the current-mastery rows of ``(learner, skill)`` pairs (no evidence left)."""
        driver = self._driver
        with driver.transaction():
            self._invalidate_mastery_cache()
            for lid, sid in pairs:
                driver.execute(
                    "DELETE FROM mastery WHERE tenant_id = ? AND learner_id = ? AND skill_id = ?",
                    (self.tenant_id, lid, sid),
                )

    def delete_observations(self, observation_ids: Sequence[str]) -> None:
        """Delete stored observations (their history and mastery: see :meth:`delete_history`)."""
        driver = self._driver
        with driver.transaction():
            for chunk in _chunks(list(observation_ids)):
                driver.execute(
                    "DELETE FROM observations WHERE tenant_id = ? AND observation_id IN "
                    f"({_marks(len(chunk))})",
                    (self.tenant_id, *chunk),
                )


def _observation_rows(tenant: str, observations: Sequence[Observation], times: Mapping[str, str],
                      seqs: Mapping[str, int], now: str) -> list[tuple]:
    """``observations`` table rows (columns ``_OBS_SEQ_COLUMNS``); ``times`` covers every id."""
    return [
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
            seqs.get(o.observation_id, 0),
        )
        for o in observations
    ]
