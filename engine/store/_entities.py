"""Tenant store part: skills and the competency graph, activities, learners (with profiles), classes, teachers,
guardians."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

from engine.errors import NotFoundError, ValidationError
from engine.store._sql import (
    _ENTITIES,
    TenantBase,
    _chunks,
    _domain_class,
    _dumps,
    _marks,
    _now,
)


class EntitiesPart(TenantBase):
    """Tenant store part: skills and the competency graph, activities, learners (with profiles), classes, teachers."""

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

    def delete_teacher(self, teacher_id: str) -> None:
        self._delete_entity("teacher", teacher_id)

    def delete_learner_record(self, learner_id: str) -> None:
        """Delete only the learner's record (no evidence): for roster corrections of a
        learner that has nothing else stored; erasure is :meth:`delete_learner`."""
        self._delete_entity("learner", learner_id)

    # guardians ---------------------------------------------------------------------------------
    def put_guardians(self, guardians: Iterable[Any]) -> int:
        """Insert or replace :class:`~engine.domain.classes.Guardian` objects (with their links)."""
        return self._put_entities("guardian", guardians)

    def get_guardian(self, guardian_id: str) -> Any:
        return self._get_entity("guardian", guardian_id)

    def list_guardians(self, ids: Sequence[str] | None = None) -> list[Any]:
        return self._list_entities("guardian", ids)

    def delete_guardian(self, guardian_id: str) -> None:
        self._delete_entity("guardian", guardian_id)
