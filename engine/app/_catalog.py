"""Use cases of the competency graph (CASE import merged into the tenant's graph), the
activity catalog and classes — a part of ``SchoolApp``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.access import Caller
from engine.errors import ConflictError, ValidationError


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def merge_graphs(current, imported):
    """``current`` with ``imported``'s skills and edges: an imported skill replaces the skill
    of the same id, every other current skill and edge is kept (``current`` None: the import)."""
    from engine.graph import CompetencyGraph

    if current is None:
        return imported
    new_ids = {s.id for s in imported.skills}
    skills = [s for s in current.skills if s.id not in new_ids] + list(imported.skills)
    edges = list(current.edges) + list(imported.edges)
    return CompetencyGraph(tuple(skills), tuple(edges), current.name)


class CatalogUseCases:
    # ---------------------------------------------------------------- competency graph
    def import_case(self, by: Caller, package: Mapping[str, Any]) -> dict:
        """Merge a 1EdTech CASE 1.0 package into the tenant's graph (see :func:`merge_graphs`);
        returns ``skills``, ``prerequisites`` (imported) and the CASE ``document`` id."""
        from engine.imports.case import load_case_package

        self.allow(by, "graph:write")
        result = load_case_package(package)
        imported = result.graph
        merged = merge_graphs(self.view.graph, imported)
        n_pre = sum(1 for e in imported.edges if _value(e.kind) == "prerequisite")
        out = {"skills": len(imported.skills), "prerequisites": n_pre, "document": result.document_id}
        with self.store.transaction():
            self.store.put_graph(merged)
            self._audit(by, "write", "graph", detail=out)
        self._invalidate()
        return out

    def _skill_out(self, s) -> dict:
        g = self.view.graph
        pre = list(g.prerequisites(s.id)) if g is not None and s.id in g else []
        return {"id": s.id, "code": s.code, "title": s.title, "grade": s.grade, "domain": s.domain,
                "case_id": s.case_id, "prerequisites": pre}

    def skills(self, by: Caller, *, grade: str | None = None) -> list[dict]:
        self.allow(by, "graph:read")
        return [self._skill_out(s) for s in self.view.skills.values() if grade is None or s.grade == grade]

    def skill(self, by: Caller, skill_id: str) -> dict:
        from engine.errors import NotFoundError

        self.allow(by, "graph:read")
        s = self.view.skills.get(skill_id)
        if s is None:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        return self._skill_out(s)

    # ---------------------------------------------------------------- catalog
    def activities(self, by: Caller, *, skill_id: str | None = None, limit: int | None = None) -> list[dict]:
        from engine.domain.serialize import to_record

        self.allow(by, "catalog:read")
        acts = [a for a in self.view.activities.values() if skill_id is None or skill_id in a.skill_ids]
        return [to_record(a) for a in acts[:limit]]

    def activity(self, by: Caller, activity_id: str) -> dict:
        from engine.domain.serialize import to_record

        self.allow(by, "catalog:read")
        return to_record(self._activity(activity_id))

    def _to_activity(self, rec: Mapping[str, Any]):
        from engine.domain.catalog import Activity
        from engine.domain.serialize import from_record

        rec = dict(rec)
        rec["skills"] = [list(p) for p in rec["skills"]]
        act = from_record(Activity, rec)
        unknown = [k for k in act.skill_ids if k not in self.view.skills]
        if unknown:
            raise ValidationError(f"activity {act.id!r} names unknown skill(s) {unknown}; import them first")
        return act

    def put_activity(self, by: Caller, rec: Mapping[str, Any], *, create: bool) -> dict:
        """Create (``create``: ConflictError when the id exists) or replace one activity."""
        from engine.domain.serialize import to_record

        self.allow(by, "catalog:write")
        act = self._to_activity(rec)
        if create and act.id in self.view.activities:
            raise ConflictError(f"activity {act.id!r} already exists; PUT it to replace")
        with self.store.transaction():
            self.store.put_activities([act])
            self._audit(by, "write", "catalog", resource_id=act.id, detail={"op": "create" if create else "put"})
        self._invalidate()
        self.apply_pending_statements()  # xAPI statements stored before the activity existed (_evidence.py)
        return to_record(act)

    def delete_activity(self, by: Caller, activity_id: str) -> None:
        self.allow(by, "catalog:write")
        self._activity(activity_id)
        with self.store.transaction():
            self.store.delete_activity(activity_id)
            self._audit(by, "delete", "catalog", resource_id=activity_id)
        self._invalidate()

    def import_activities(self, by: Caller, recs: Sequence[Mapping[str, Any]], *, replace: bool) -> dict:
        """Create or update many activities (all-or-nothing); ``replace`` drops the others."""
        self.allow(by, "catalog:write")
        acts = [self._to_activity(r) for r in recs]
        ids = [a.id for a in acts]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValidationError(f"activities {dup} appear more than once in the import")
        existing = set(self.view.activities)
        removed = sorted(existing - set(ids)) if replace else []
        created = sum(1 for i in ids if i not in existing)
        out = {"created": created, "updated": len(ids) - created, "removed": len(removed)}
        with self.store.transaction():
            self.store.put_activities(acts)
            for aid in removed:
                self.store.delete_activity(aid)
            self._audit(by, "write", "catalog", detail={"op": "import", **out})
        self._invalidate()
        self.apply_pending_statements()  # xAPI statements stored before the activity existed (_evidence.py)
        return out

    # ---------------------------------------------------------------- classes
    def classes(self, by: Caller) -> list[dict]:
        """Classes visible to the caller (a teacher sees only their own), by name."""
        self.allow(by, "class:read")
        scope = self.scope(by)
        return [{"id": c.id, "name": c.name, "grade": c.grade, "model": type(c.model).tag,
                 "teachers": list(c.teachers), "size": len(c.roster)}
                for c in sorted(self.view.classes.values(), key=lambda c: c.name)
                if scope is None or c.id in scope.class_ids]

    def class_detail(self, by: Caller, class_id: str) -> dict:
        self.allow(by, "class:read", class_id=class_id)
        out = self._class_detail(class_id)
        self._read(by, "class", resource_id=class_id)
        return out

    def _class_detail(self, class_id: str) -> dict:
        from engine.domain.serialize import to_record

        c = self._class(class_id)
        learners = self.view.learners
        roster = [{"id": lid, "name": learners[lid].name if lid in learners else lid,
                   "grade": learners[lid].grade if lid in learners else ""} for lid in c.roster]
        return {"id": c.id, "name": c.name, "grade": c.grade, "model": type(c.model).tag,
                "teachers": list(c.teachers), "size": len(c.roster), "roster": roster,
                "settings": to_record(c.model)}
