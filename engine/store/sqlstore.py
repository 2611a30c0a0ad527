"""The SQL store shared by the SQLite and PostgreSQL drivers.

:class:`Store` is a database; :class:`TenantStore` is one tenant's view of it and the only
place data methods live. Every statement a :class:`TenantStore` runs carries
``WHERE tenant_id = ?`` (or inserts its own tenant id), so no call can read or change another
tenant's rows.

Domain objects (skills, activities, learners with their profiles, classes, the competency
graph) are stored as JSON made by ``engine.domain.serialize.to_record`` next to indexed id
columns, and rebuilt with ``from_record``. Timestamps are stored as fixed-width UTC text
(``YYYY-MM-DDTHH:MM:SS.ffffffZ``), which sorts in time order on both databases.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from engine.domain.evidence import (
    MasteryChange,
    MasteryState,
    Observation,
    format_timestamp,
    parse_timestamp,
)
from engine.errors import ConflictError, EngineError, NotFoundError, ValidationError
from engine.store.base import DOCUMENT_INDEX_KEYS, ApiKey, AuditEntry, Document, ModelVersion
from engine.store.driver import Driver
from engine.store.migrate import discover

_CHUNK = 500
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_OBS_COLUMNS = (
    "tenant_id", "observation_id", "learner_id", "activity_id", "item_id", "skill_ids", "score",
    "observed_at", "source", "ingested_at",
)
_HISTORY_COLUMNS = (
    "tenant_id", "learner_id", "skill_id", "observation_id", "p_before", "p_after", "p_correct",
    "at",
)
PARAM_NAMES = ("p_init", "p_learn", "p_forget", "p_guess", "p_slip")

# kind -> (table, id column, domain class path)
_ENTITIES: dict[str, tuple[str, str, str]] = {
    "skill": ("skills", "skill_id", "engine.domain.skills:Skill"),
    "activity": ("activities", "activity_id", "engine.domain.catalog:Activity"),
    "learner": ("learners", "learner_id", "engine.domain.learners:Learner"),
    "class": ("classes", "class_id", "engine.domain.classes:Class"),
    "teacher": ("teachers", "teacher_id", "engine.domain.classes:Teacher"),
}


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value is not JSON-serialisable ({exc}); send plain JSON") from None


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _domain_class(path: str) -> type:
    module_name, _, name = path.partition(":")
    module = __import__(module_name, fromlist=[name])
    return getattr(module, name)


def _learner_lock_key(tenant_id: str, learner_id: str) -> int:
    digest = hashlib.blake2b(f"{tenant_id}\x1f{learner_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Store:
    """One database holding any number of tenants. Open it with :func:`engine.store.open_store`.

    Thread-safe (one connection behind a re-entrant lock). Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, driver: Driver, url: str = "") -> None:
        self._driver = driver
        self.url = url

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._driver.dialect

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self, package: str = "engine.store.migrations") -> int:
        """Apply every pending migration of ``package`` (each in its own transaction, with its
        ``schema_version`` row); return the schema version. A failing migration raises
        :class:`EngineError` naming it and leaves the schema at the previous version."""
        driver = self._driver
        with driver.transaction():
            driver.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        for migration in discover(driver.dialect, package):
            with driver.transaction():
                driver.lock_for_migration()
                done = driver.execute(
                    "SELECT 1 FROM schema_version WHERE version = ?", (migration.version,)
                )
                if done:
                    continue
                try:
                    driver.executescript(migration.sql)
                except Exception as exc:
                    raise EngineError(
                        f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                    ) from exc
                driver.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, _now()),
                )
        return self.schema_version()

    def schema_version(self) -> int:
        """Highest applied migration version (0 for an empty database)."""
        with self._driver.lock:
            rows = self._driver.execute("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def applied_migrations(self) -> list[tuple[int, str]]:
        """``(version, name)`` of every applied migration, oldest first."""
        with self._driver.lock:
            rows = self._driver.execute("SELECT version, name FROM schema_version ORDER BY version")
        return [(int(v), n) for v, n in rows]

    # -- tenants -----------------------------------------------------------------------------
    def for_tenant(self, tenant_id: str) -> TenantStore:
        """The data of one tenant (district/school). ``tenant_id``: 1-128 chars ``[A-Za-z0-9_.:-]``."""
        if not isinstance(tenant_id, str) or not _TENANT_RE.match(tenant_id):
            raise ValidationError(
                f"tenant id {tenant_id!r} is invalid; use 1-128 letters, digits, '_', '.', ':' "
                "or '-', starting with a letter or digit"
            )
        return TenantStore(self._driver, tenant_id)

    # -- API keys (the one cross-tenant lookup) ----------------------------------------------
    def put_api_key(
        self,
        key_hash: str,
        tenant_id: str,
        role: str,
        subject: str | None = None,
        label: str | None = None,
    ) -> ApiKey:
        """Store a new API key by its hash. ``subject`` is e.g. the teacher id of a teacher key.

        Raises :class:`ConflictError` when the hash is already stored.
        """
        for name, value in (("key_hash", key_hash), ("role", role)):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"{name} must be a non-empty string, got {value!r}")
        self.for_tenant(tenant_id)  # validates the tenant id
        driver = self._driver
        with driver.transaction():
            if driver.execute("SELECT 1 FROM api_keys WHERE key_hash = ?", (key_hash,)):
                raise ConflictError(
                    "an API key with this hash is already stored; generate a new key"
                )
            created = _now()
            try:
                driver.execute(
                    "INSERT INTO api_keys (key_hash, tenant_id, role, subject, label, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (key_hash, tenant_id, role, subject, label, created),
                )
            except driver.integrity_errors:
                raise ConflictError(
                    "an API key with this hash is already stored; generate a new key"
                ) from None
        return ApiKey(key_hash, tenant_id, role, subject, label, parse_timestamp(created), None)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The live (not revoked) key with this hash, or ``None``. Crosses tenants by design."""
        with self._driver.lock:
            rows = self._driver.execute(
                "SELECT key_hash, tenant_id, role, subject, label, created_at, revoked_at "
                "FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                (key_hash,),
            )
        return _api_key(rows[0]) if rows else None

    def revoke_api_key(self, key_hash: str) -> None:
        """Mark a key revoked; :meth:`find_api_key` no longer returns it."""
        with self._driver.transaction():
            rows = self._driver.execute(
                "SELECT 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
            )
            if not rows:
                raise NotFoundError("no live API key has this hash; nothing to revoke")
            self._driver.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ?", (_now(), key_hash)
            )


def _api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        key_hash=row[0],
        tenant_id=row[1],
        role=row[2],
        subject=row[3],
        label=row[4],
        created_at=parse_timestamp(row[5]),
        revoked_at=parse_timestamp(row[6]) if row[6] else None,
    )


class TenantStore:
    """Every data method of the store, scoped to one tenant.

    Single calls are atomic. Wrap several calls in ``with tenant_store.transaction():`` to
    make them one all-or-nothing unit.
    """

    def __init__(self, driver: Driver, tenant_id: str) -> None:
        self._driver = driver
        self.tenant_id = tenant_id

    @property
    def dialect(self) -> str:
        return self._driver.dialect

    @contextmanager
    def transaction(self) -> Iterator[TenantStore]:
        """All-or-nothing block: commits at the end, rolls back on any exception."""
        with self._driver.transaction():
            yield self

    @contextmanager
    def _read(self) -> Iterator[Driver]:
        with self._driver.lock:
            yield self._driver

    def _q(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._driver.lock:
            return self._driver.execute(text, params)

    # =========================================================================================
    # Domain entities: skills, activities, learners (with profiles), classes
    # =========================================================================================
    def _put_entities(self, kind: str, items: Iterable[Any]) -> int:
        from engine.domain.serialize import to_record

        table, id_col, class_path = _ENTITIES[kind]
        cls = _domain_class(class_path)
        rows = []
        objects = []
        for item in items:
            if not isinstance(item, cls):
                raise ValidationError(
                    f"expected a {cls.__name__} to store as {kind}, got {type(item).__name__}"
                )
            rows.append((self.tenant_id, item.id, _dumps(to_record(item))))
            objects.append(item)
        with self._driver.transaction():
            self._driver.executemany(
                f"INSERT INTO {table} (tenant_id, {id_col}, record) VALUES (?, ?, ?) "
                f"ON CONFLICT (tenant_id, {id_col}) DO UPDATE SET record = excluded.record",
                rows,
            )
            if kind == "class":
                self._index_class_members(objects)
        return len(rows)

    def _index_class_members(self, classes: Sequence[Any]) -> None:
        driver = self._driver
        for klass in classes:
            driver.execute(
                "DELETE FROM class_members WHERE tenant_id = ? AND class_id = ?",
                (self.tenant_id, klass.id),
            )
            rows = [(self.tenant_id, klass.id, m, "learner") for m in klass.roster]
            rows += [(self.tenant_id, klass.id, t, "teacher") for t in klass.teachers]
            driver.executemany(
                "INSERT INTO class_members (tenant_id, class_id, member_id, member_role) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def _get_entity(self, kind: str, entity_id: str) -> Any:
        from engine.domain.serialize import from_record

        table, id_col, class_path = _ENTITIES[kind]
        rows = self._q(
            f"SELECT record FROM {table} WHERE tenant_id = ? AND {id_col} = ?",
            (self.tenant_id, entity_id),
        )
        if not rows:
            raise NotFoundError(
                f"{kind} {entity_id!r} is not in tenant {self.tenant_id!r}; check the id or "
                f"load the {kind} first"
            )
        return from_record(_domain_class(class_path), json.loads(rows[0][0]))

    def _list_entities(self, kind: str, ids: Sequence[str] | None = None) -> list[Any]:
        from engine.domain.serialize import from_record

        table, id_col, class_path = _ENTITIES[kind]
        cls = _domain_class(class_path)
        if ids is None:
            rows = self._q(
                f"SELECT record FROM {table} WHERE tenant_id = ? ORDER BY {id_col}",
                (self.tenant_id,),
            )
        else:
            rows = []
            ids = list(dict.fromkeys(ids))
            with self._read() as driver:
                for chunk in _chunks(ids):
                    rows += driver.execute(
                        f"SELECT record FROM {table} WHERE tenant_id = ? AND {id_col} IN "
                        f"({_marks(len(chunk))}) ORDER BY {id_col}",
                        (self.tenant_id, *chunk),
                    )
        return [from_record(cls, json.loads(r[0])) for r in rows]

    def _delete_entity(self, kind: str, entity_id: str) -> None:
        table, id_col, _ = _ENTITIES[kind]
        with self._driver.transaction():
            self._get_entity(kind, entity_id)
            self._driver.execute(
                f"DELETE FROM {table} WHERE tenant_id = ? AND {id_col} = ?",
                (self.tenant_id, entity_id),
            )
            if kind == "class":
                self._driver.execute(
                    "DELETE FROM class_members WHERE tenant_id = ? AND class_id = ?",
                    (self.tenant_id, entity_id),
                )

    def missing_ids(self, kind: str, ids: Iterable[str]) -> list[str]:
        """The ids among ``ids`` that this tenant does not hold, in first-seen order.

        ``kind``: ``"skill"``, ``"activity"``, ``"learner"``, ``"class"`` or ``"teacher"``.
        """
        table, id_col, _ = _ENTITIES[kind]
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        with self._read() as driver:
            for chunk in _chunks(wanted):
                found.update(
                    r[0]
                    for r in driver.execute(
                        f"SELECT {id_col} FROM {table} WHERE tenant_id = ? AND {id_col} IN "
                        f"({_marks(len(chunk))})",
                        (self.tenant_id, *chunk),
                    )
                )
        return [i for i in wanted if i not in found]

    def count(self, kind: str) -> int:
        """How many skills/activities/learners/classes/teachers this tenant holds."""
        table, _, _ = _ENTITIES[kind]
        return int(self._q(f"SELECT COUNT(*) FROM {table} WHERE tenant_id = ?", (self.tenant_id,))[0][0])

    # skills ------------------------------------------------------------------------------------
    def put_skills(self, skills: Iterable[Any]) -> int:
        """Insert or replace :class:`~engine.domain.skills.Skill` objects; returns the count."""
        return self._put_entities("skill", skills)

    def get_skill(self, skill_id: str) -> Any:
        """The skill; :class:`NotFoundError` naming it when absent."""
        return self._get_entity("skill", skill_id)

    def list_skills(self, ids: Sequence[str] | None = None) -> list[Any]:
        """All skills (or those of ``ids`` that exist), ordered by id."""
        return self._list_entities("skill", ids)

    def put_graph(self, graph: Any, graph_id: str = "default") -> None:
        """Store a :class:`engine.graph.CompetencyGraph` (skills + edges + name) and its skills."""
        from engine.domain.serialize import to_record

        record = {
            "name": graph.name,
            "skills": [to_record(s) for s in graph.skills],
            "edges": [
                {"source": e.source, "target": e.target, "kind": str(e.kind)} for e in graph.edges
            ],
        }
        with self._driver.transaction():
            self._driver.execute(
                "INSERT INTO graphs (tenant_id, graph_id, record, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, graph_id) DO UPDATE SET record = excluded.record, "
                "updated_at = excluded.updated_at",
                (self.tenant_id, graph_id, _dumps(record), _now()),
            )
            self.put_skills(graph.skills)

    def get_graph_record(self, graph_id: str = "default") -> dict[str, Any]:
        """The stored graph JSON ``{name, skills, edges}``; :class:`NotFoundError` when absent."""
        rows = self._q(
            "SELECT record FROM graphs WHERE tenant_id = ? AND graph_id = ?",
            (self.tenant_id, graph_id),
        )
        if not rows:
            raise NotFoundError(
                f"tenant {self.tenant_id!r} has no competency graph {graph_id!r}; import one first"
            )
        return json.loads(rows[0][0])

    def get_graph(self, graph_id: str = "default") -> Any:
        """The stored :class:`engine.graph.CompetencyGraph`, rebuilt and re-validated."""
        from engine.domain.serialize import from_record
        from engine.domain.skills import Skill
        from engine.graph import CompetencyGraph, Edge

        record = self.get_graph_record(graph_id)
        return CompetencyGraph(
            skills=tuple(from_record(Skill, r) for r in record["skills"]),
            edges=tuple(Edge(e["source"], e["target"], e["kind"]) for e in record["edges"]),
            name=record.get("name", ""),
        )

    # activities --------------------------------------------------------------------------------
    def put_activities(self, activities: Iterable[Any]) -> int:
        """Insert or replace :class:`~engine.domain.catalog.Activity` objects."""
        return self._put_entities("activity", activities)

    def get_activity(self, activity_id: str) -> Any:
        return self._get_entity("activity", activity_id)

    def list_activities(self, ids: Sequence[str] | None = None) -> list[Any]:
        return self._list_entities("activity", ids)

    def delete_activity(self, activity_id: str) -> None:
        self._delete_entity("activity", activity_id)

    # learners ----------------------------------------------------------------------------------
    def put_learners(self, learners: Iterable[Any]) -> int:
        """Insert or replace :class:`~engine.domain.learners.Learner` objects (profile inside)."""
        return self._put_entities("learner", learners)

    def get_learner(self, learner_id: str) -> Any:
        return self._get_entity("learner", learner_id)

    def list_learners(
        self, ids: Sequence[str] | None = None, class_id: str | None = None
    ) -> list[Any]:
        """All learners, those of ``ids``, or the roster of ``class_id``; ordered by id."""
        if class_id is not None:
            members = [
                r[0]
                for r in self._q(
                    "SELECT member_id FROM class_members WHERE tenant_id = ? AND class_id = ? "
                    "AND member_role = 'learner'",
                    (self.tenant_id, class_id),
                )
            ]
            ids = members if ids is None else [i for i in ids if i in set(members)]
        return self._list_entities("learner", ids)

    def get_profile(self, learner_id: str) -> Any:
        """The learner's :class:`~engine.domain.learners.LearnerProfile`."""
        return self.get_learner(learner_id).profile

    def put_profile(self, learner_id: str, profile: Any) -> Any:
        """Replace the learner's profile; returns the updated learner."""
        with self._driver.transaction():
            learner = dataclasses.replace(self.get_learner(learner_id), profile=profile)
            self.put_learners([learner])
        return learner

    # classes -----------------------------------------------------------------------------------
    def put_classes(self, classes: Iterable[Any]) -> int:
        """Insert or replace :class:`~engine.domain.classes.Class` objects (indexes members)."""
        return self._put_entities("class", classes)

    def get_class(self, class_id: str) -> Any:
        return self._get_entity("class", class_id)

    def list_classes(
        self, learner_id: str | None = None, teacher_id: str | None = None
    ) -> list[Any]:
        """All classes, or those with ``learner_id`` on the roster / ``teacher_id`` teaching."""
        if learner_id is None and teacher_id is None:
            return self._list_entities("class")
        ids: set[str] | None = None
        for member, role in ((learner_id, "learner"), (teacher_id, "teacher")):
            if member is None:
                continue
            found = {
                r[0]
                for r in self._q(
                    "SELECT class_id FROM class_members WHERE tenant_id = ? AND member_role = ? "
                    "AND member_id = ?",
                    (self.tenant_id, role, member),
                )
            }
            ids = found if ids is None else ids & found
        return self._list_entities("class", sorted(ids or ()))

    def delete_class(self, class_id: str) -> None:
        self._delete_entity("class", class_id)

    # teachers ----------------------------------------------------------------------------------
    def put_teachers(self, teachers: Iterable[Any]) -> int:
        """Insert or replace :class:`~engine.domain.classes.Teacher` objects."""
        return self._put_entities("teacher", teachers)

    def get_teacher(self, teacher_id: str) -> Any:
        return self._get_entity("teacher", teacher_id)

    def list_teachers(self, ids: Sequence[str] | None = None) -> list[Any]:
        return self._list_entities("teacher", ids)

    # =========================================================================================
    # Observations, mastery, history
    # =========================================================================================
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

    # =========================================================================================
    # Fitted models
    # =========================================================================================
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

    # =========================================================================================
    # Generic documents (plans, reviews, jobs, xAPI statements... for the service)
    # =========================================================================================
    def put_document(
        self,
        kind: str,
        doc_id: str,
        payload: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Document:
        """Create or replace a JSON document; returns it with its new version.

        ``expected_version``: ``None`` = write whatever is stored; ``0`` = the document must
        not exist yet; ``n`` = the stored version must be ``n`` (optimistic concurrency).
        A mismatch raises :class:`ConflictError`. Top-level keys in
        :data:`~engine.store.base.DOCUMENT_INDEX_KEYS` (string or null) are indexed.
        """
        for name, value in (("kind", kind), ("doc_id", doc_id)):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"document {name} must be a non-empty string, got {value!r}")
        if not isinstance(payload, Mapping):
            raise ValidationError(f"document payload must be a JSON object, got {type(payload).__name__}")
        index = []
        for key in DOCUMENT_INDEX_KEYS:
            value = payload.get(key)
            if value is not None and not isinstance(value, str):
                raise ValidationError(
                    f"document field {key!r} is indexed and must be a string or null, got {value!r}"
                )
            index.append(value)
        body = _dumps(dict(payload))
        now = _now()
        with self._driver.transaction():
            rows = self._driver.execute(
                "SELECT version, created_at FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                (self.tenant_id, kind, doc_id),
            )
            current = int(rows[0][0]) if rows else 0
            if expected_version is not None and expected_version != current:
                raise ConflictError(
                    f"{kind} {doc_id!r} is at version {current}, not {expected_version}; "
                    "reload it and apply your change again"
                )
            version = current + 1
            created = rows[0][1] if rows else now
            if rows:
                self._driver.execute(
                    "UPDATE documents SET version = ?, payload = ?, learner_id = ?, class_id = ?, "
                    "status = ?, parent_id = ?, updated_at = ? "
                    "WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                    (version, body, *index, now, self.tenant_id, kind, doc_id),
                )
            else:
                try:
                    self._driver.execute(
                        "INSERT INTO documents (tenant_id, kind, doc_id, version, payload, "
                        "learner_id, class_id, status, parent_id, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (self.tenant_id, kind, doc_id, version, body, *index, created, now),
                    )
                except self._driver.integrity_errors:
                    raise ConflictError(
                        f"{kind} {doc_id!r} was created concurrently; reload it and retry"
                    ) from None
        return Document(kind, doc_id, version, json.loads(body), parse_timestamp(created), parse_timestamp(now))

    def get_document(self, kind: str, doc_id: str) -> Document:
        """The document; :class:`NotFoundError` naming it when absent."""
        rows = self._q(
            "SELECT kind, doc_id, version, payload, created_at, updated_at FROM documents "
            "WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
            (self.tenant_id, kind, doc_id),
        )
        if not rows:
            raise NotFoundError(f"{kind} {doc_id!r} is not in tenant {self.tenant_id!r}")
        return _document(rows[0])

    def list_documents(
        self,
        kind: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
        **filters: str | None,
    ) -> list[Document]:
        """Documents of ``kind``, filtered by equality on indexed keys
        (``learner_id``, ``class_id``, ``status``, ``parent_id``; ``None`` matches null),
        ordered by creation time (then id).
        """
        sql = (
            "SELECT kind, doc_id, version, payload, created_at, updated_at FROM documents "
            "WHERE tenant_id = ? AND kind = ?"
        )
        params: list[Any] = [self.tenant_id, kind]
        for key, value in filters.items():
            if key not in DOCUMENT_INDEX_KEYS:
                raise ValidationError(
                    f"cannot filter documents on {key!r}; filter on one of {list(DOCUMENT_INDEX_KEYS)}"
                )
            if value is None:
                sql += f" AND {key} IS NULL"
            else:
                sql += f" AND {key} = ?"
                params.append(value)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY created_at {order}, doc_id {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        elif offset:
            sql += " LIMIT -1 OFFSET ?" if self.dialect == "sqlite" else " OFFSET ?"
            params.append(int(offset))
        return [_document(r) for r in self._q(sql, params)]

    def delete_document(self, kind: str, doc_id: str) -> None:
        """Delete a document; :class:`NotFoundError` when absent."""
        with self._driver.transaction():
            self.get_document(kind, doc_id)
            self._driver.execute(
                "DELETE FROM documents WHERE tenant_id = ? AND kind = ? AND doc_id = ?",
                (self.tenant_id, kind, doc_id),
            )

    # =========================================================================================
    # Audit log (append-only: the schema refuses UPDATE and DELETE on it)
    # =========================================================================================
    def append_audit(
        self, actor: str, action: str, resource: str, detail: Mapping[str, Any] | None = None
    ) -> AuditEntry:
        """Append one audit row. Keep learner data out of ``detail`` (ids and counts only)."""
        for name, value in (("actor", actor), ("action", action), ("resource", resource)):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"audit {name} must be a non-empty string, got {value!r}")
        body = _dumps(dict(detail or {}))
        now = _now()
        with self._driver.transaction():
            seq = self._driver.execute(
                "INSERT INTO audit_log (tenant_id, at, actor, action, resource, detail) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (self.tenant_id, now, actor, action, resource, body),
            )[0][0]
        return AuditEntry(int(seq), self.tenant_id, parse_timestamp(now), actor, action, resource, json.loads(body))

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        resource_prefix: str | None = None,
        after_seq: int | None = None,
        limit: int | None = 1000,
    ) -> list[AuditEntry]:
        """Audit rows of this tenant, oldest first, filtered by equality (or resource prefix)."""
        sql = (
            "SELECT id, tenant_id, at, actor, action, resource, detail FROM audit_log "
            "WHERE tenant_id = ?"
        )
        params: list[Any] = [self.tenant_id]
        for column, value in (("actor", actor), ("action", action), ("resource", resource)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if resource_prefix is not None:
            sql += " AND substr(resource, 1, ?) = ?"
            params += [len(resource_prefix), resource_prefix]
        if after_seq is not None:
            sql += " AND id > ?"
            params.append(int(after_seq))
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [
            AuditEntry(int(r[0]), r[1], parse_timestamp(r[2]), r[3], r[4], r[5], json.loads(r[6]))
            for r in self._q(sql, params)
        ]

    # =========================================================================================
    # API keys of this tenant
    # =========================================================================================
    def list_api_keys(self) -> list[ApiKey]:
        """Every key (live and revoked) of this tenant, oldest first."""
        return [
            _api_key(r)
            for r in self._q(
                "SELECT key_hash, tenant_id, role, subject, label, created_at, revoked_at "
                "FROM api_keys WHERE tenant_id = ? ORDER BY created_at, key_hash",
                (self.tenant_id,),
            )
        ]

    # =========================================================================================
    # Per-learner privacy: export and delete
    # =========================================================================================
    def export_learner(self, learner_id: str) -> dict[str, Any]:
        """Everything stored about one learner, as JSON-ready dicts.

        Keys: ``tenant_id``, ``learner_id``, ``exported_at``, ``learner`` (record with profile),
        ``classes`` (ids), ``observations``, ``mastery``, ``history``, ``documents``
        (``kind``, ``doc_id``, ``version``, ``payload``). :class:`NotFoundError` when the tenant
        holds nothing about this learner.
        """
        from engine.domain.serialize import to_record

        with self._read():
            try:
                learner = to_record(self.get_learner(learner_id))
            except NotFoundError:
                learner = None
            observations = [o.to_record() for o in self.list_observations(learner_id)]
            mastery = [m.to_record() for m in self.get_mastery(learner_id).values()]
            history = [c.to_record() for c in self.list_history(learner_id)]
            docs = [
                _document(r)
                for r in self._q(
                    "SELECT kind, doc_id, version, payload, created_at, updated_at FROM documents "
                    "WHERE tenant_id = ? AND learner_id = ? ORDER BY kind, doc_id",
                    (self.tenant_id, learner_id),
                )
            ]
            classes = [
                r[0]
                for r in self._q(
                    "SELECT class_id FROM class_members WHERE tenant_id = ? AND member_role = "
                    "'learner' AND member_id = ? ORDER BY class_id",
                    (self.tenant_id, learner_id),
                )
            ]
        if learner is None and not (observations or mastery or history or docs or classes):
            raise NotFoundError(
                f"learner {learner_id!r} is not in tenant {self.tenant_id!r}; nothing to export"
            )
        return {
            "tenant_id": self.tenant_id,
            "learner_id": learner_id,
            "exported_at": _now(),
            "learner": learner,
            "classes": classes,
            "observations": observations,
            "mastery": mastery,
            "history": history,
            "documents": [
                {"kind": d.kind, "doc_id": d.doc_id, "version": d.version, "payload": d.payload}
                for d in docs
            ],
        }

    def delete_learner(self, learner_id: str, actor: str = "system") -> dict[str, int]:
        """Erase one learner: record and profile, observations, mastery, history, documents with
        that ``learner_id``, and their place on class rosters. One transaction.

        Appends one audit row (``action="learner.delete"``, resource ``learner:<id>``) holding
        only the counts erased. Returns those counts. :class:`NotFoundError` when nothing is
        stored about the learner.
        """
        driver = self._driver
        tenant = self.tenant_id
        counts: dict[str, int] = {}
        with driver.transaction():
            for table in ("observations", "mastery", "mastery_history", "documents", "learners"):
                counts[table] = int(
                    driver.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE tenant_id = ? AND learner_id = ?",
                        (tenant, learner_id),
                    )[0][0]
                )
            class_ids = [
                r[0]
                for r in driver.execute(
                    "SELECT class_id FROM class_members WHERE tenant_id = ? AND member_role = "
                    "'learner' AND member_id = ?",
                    (tenant, learner_id),
                )
            ]
            counts["class_memberships"] = len(class_ids)
            if not any(counts.values()):
                raise NotFoundError(
                    f"learner {learner_id!r} is not in tenant {tenant!r}; nothing to delete"
                )
            self._invalidate_mastery_cache()
            for table in ("observations", "mastery", "mastery_history", "documents", "learners"):
                driver.execute(
                    f"DELETE FROM {table} WHERE tenant_id = ? AND learner_id = ?", (tenant, learner_id)
                )
            if class_ids:
                classes = self._list_entities("class", class_ids)
                updated = [
                    dataclasses.replace(k, roster=tuple(m for m in k.roster if m != learner_id))
                    for k in classes
                ]
                self._put_entities("class", updated)
            self.append_audit(actor, "learner.delete", f"learner:{learner_id}", counts)
        return counts


def _observation(row: Sequence[Any]) -> Observation:
    return Observation(
        observation_id=row[0],
        learner_id=row[1],
        activity_id=row[2],
        item_id=row[3],
        skill_ids=tuple(row[4].split(";")),
        score=float(row[5]),
        observed_at=parse_timestamp(row[6]),
        source=row[7],
    )


def _document(row: Sequence[Any]) -> Document:
    return Document(
        kind=row[0],
        doc_id=row[1],
        version=int(row[2]),
        payload=json.loads(row[3]),
        created_at=parse_timestamp(row[4]),
        updated_at=parse_timestamp(row[5]),
    )
