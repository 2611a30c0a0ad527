"""Competency graph (CASE import, skills), activity catalog, classes — a mixin of ``TenantBackend``."""

from __future__ import annotations

from engine.errors import ConflictError, NotFoundError, ValidationError
from service.ops._common import (
    _value,
)


class CatalogOps:
    # ---------------------------------------------------------------- graph & catalog
    def import_case(self, package: dict) -> dict:
        from engine.graph import CompetencyGraph
        from engine.imports.case import load_case_package

        result = load_case_package(package)
        imported = result.graph
        current = self.view.graph
        if current is not None:
            new_ids = {s.id for s in imported.skills}
            skills = [s for s in current.skills if s.id not in new_ids] + list(imported.skills)
            edges = list(current.edges) + list(imported.edges)
            merged = CompetencyGraph(tuple(skills), tuple(edges), current.name)
        else:
            merged = imported
        self.ts.put_graph(merged)
        self._invalidate()
        n_pre = sum(1 for e in imported.edges if _value(e.kind) == "prerequisite")
        return {"skills": len(imported.skills), "prerequisites": n_pre, "document": result.document_id}

    def _skill_out(self, s) -> dict:
        g = self.view.graph
        pre = list(g.prerequisites(s.id)) if g is not None and s.id in g else []
        return {"id": s.id, "code": s.code, "title": s.title, "grade": s.grade, "domain": s.domain,
                "case_id": s.case_id, "prerequisites": pre}

    def skills(self, grade: str | None = None) -> list[dict]:
        return [self._skill_out(s) for s in self.view.skills.values() if grade is None or s.grade == grade]

    def skill(self, skill_id: str) -> dict:
        s = self.view.skills.get(skill_id)
        if s is None:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        return self._skill_out(s)

    def activities(self, skill_id: str | None = None) -> list[dict]:
        from engine.domain.serialize import to_record

        acts = self.view.activities.values()
        if skill_id is not None:
            acts = [a for a in acts if skill_id in a.skill_ids]
        return [to_record(a) for a in acts]

    def activity(self, activity_id: str) -> dict:
        from engine.domain.serialize import to_record

        return to_record(self._activity(activity_id))

    def _to_activity(self, rec: dict):
        from engine.domain.catalog import Activity
        from engine.domain.serialize import from_record

        rec = dict(rec)
        rec["skills"] = [list(p) for p in rec["skills"]]
        act = from_record(Activity, rec)
        unknown = [k for k in act.skill_ids if k not in self.view.skills]
        if unknown:
            raise ValidationError(f"activity {act.id!r} names unknown skill(s) {unknown}; import them first")
        return act

    def put_activity(self, rec: dict, *, create: bool) -> dict:
        act = self._to_activity(rec)
        if create and act.id in self.view.activities:
            raise ConflictError(f"activity {act.id!r} already exists; PUT it to replace")
        self.ts.put_activities([act])
        self._invalidate()
        return self.activity(act.id)

    def delete_activity(self, activity_id: str) -> None:
        self._activity(activity_id)
        self.ts.delete_activity(activity_id)
        self._invalidate()

    def import_activities(self, recs: list[dict], *, replace: bool) -> dict:
        acts = [self._to_activity(r) for r in recs]
        ids = [a.id for a in acts]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValidationError(f"activities {dup} appear more than once in the import")
        existing = set(self.view.activities)
        removed = sorted(existing - set(ids)) if replace else []
        with self.ts.transaction():
            self.ts.put_activities(acts)
            for aid in removed:
                self.ts.delete_activity(aid)
        self._invalidate()
        created = sum(1 for i in ids if i not in existing)
        return {"created": created, "updated": len(ids) - created, "removed": len(removed)}

    # ---------------------------------------------------------------- classes
    def classes(self) -> list[dict]:
        return [{"id": c.id, "name": c.name, "grade": c.grade, "model": type(c.model).tag,
                 "teachers": list(c.teachers), "size": len(c.roster)}
                for c in sorted(self.view.classes.values(), key=lambda c: c.name)]

    def get_class(self, class_id: str):
        c = self.view.classes.get(class_id)
        if c is None:
            raise NotFoundError(f"class {class_id!r} is not in tenant {self.tenant!r}")
        return c

    def class_detail(self, class_id: str) -> dict:
        from engine.domain.serialize import to_record

        c = self.get_class(class_id)
        learners = self.view.learners
        roster = [{"id": lid, "name": learners[lid].name if lid in learners else lid,
                   "grade": learners[lid].grade if lid in learners else ""} for lid in c.roster]
        return {"id": c.id, "name": c.name, "grade": c.grade, "model": type(c.model).tag,
                "teachers": list(c.teachers), "size": len(c.roster), "roster": roster,
                "settings": to_record(c.model)}

    def class_of(self, learner_id: str):
        for c in self.view.classes.values():
            if learner_id in c.roster:
                return c
        return None
