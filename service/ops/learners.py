"""Learners: mastery, history, profile, readiness, gaps, export, deletion, research export — a mixin of ``TenantBackend``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.access import pseudonymize
from engine.errors import NotFoundError, ValidationError
from service.ops._common import (
    PLAN_KIND,
    _iso,
    _value,
)


class LearnerOps:
    # ---------------------------------------------------------------- learners
    def _learner(self, learner_id: str):
        learner = self.view.learners.get(learner_id)
        if learner is None:
            raise NotFoundError(f"learner {learner_id!r} is not in tenant {self.tenant!r}")
        return learner

    def mastery(self, learner_id: str) -> list[dict]:
        self._learner(learner_id)
        titles = self.view.skills
        return [
            {"skill_id": sid, "title": getattr(titles.get(sid), "title", ""), "p_mastered": st.p_mastered,
             "n_observations": st.n_observations, "updated_at": _iso(st.updated_at)}
            for sid, st in sorted(self.ts.get_mastery(learner_id).items())
        ]

    def mastery_map(self, learner_id: str) -> dict[str, Any]:
        return self.ts.get_mastery(learner_id)

    def history(self, learner_id: str, skill_id: str | None, limit: int) -> list[dict]:
        self._learner(learner_id)
        if skill_id is not None and skill_id not in self.view.skills:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        rows = self.ts.list_history(learner_id, skill_id)[-limit:]
        return [{"skill_id": c.skill_id, "observation_id": c.observation_id, "before": c.before,
                 "after": c.after, "at": _iso(c.at)} for c in rows]

    def profile(self, learner_id: str) -> dict:
        from engine.domain.serialize import to_record

        learner = self._learner(learner_id)
        prof = learner.profile
        fields = {}
        for name in prof.FIELDS:
            p = getattr(prof, name)
            fields[name] = {"value": to_record(p.value), "set_by": _value(p.set_by), "set_at": _iso(p.set_at)}
        history = [{"field": ch.field, "value": to_record(ch.previous.value),
                    "set_by": _value(ch.previous.set_by), "set_at": _iso(ch.previous.set_at)}
                   for ch in prof.history]
        return {"learner_id": learner.id, "name": learner.name, "grade": learner.grade,
                "fields": fields, "history": history}

    def update_profile(self, learner_id: str, fields: Mapping[str, Any], set_by: str) -> dict:
        learner = self._learner(learner_id)
        now = datetime.now(UTC)
        prof = learner.profile
        for name, value in fields.items():
            if name not in prof.FIELDS:
                raise ValidationError(f"fields.{name}: unknown profile field; use one of {', '.join(prof.FIELDS)}")
            try:
                prof = prof.with_field(name, value, set_by, max(now, getattr(prof, name).set_at))
            except ValidationError as exc:
                raise ValidationError(f"fields.{name}: {exc}") from None
        self.ts.put_profile(learner_id, prof)
        self._invalidate()
        return self.profile(learner_id)

    def _graph(self):
        g = self.view.graph
        if g is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no competency graph; import one first")
        return g

    def _mastery_probs(self, learner_id: str) -> dict[str, float]:
        g = self._graph()
        return {k: st.p_mastered for k, st in self.ts.get_mastery(learner_id).items() if k in g}

    def ready_to_learn(self, learner_id: str, threshold: float) -> list[dict]:
        self._learner(learner_id)
        g = self._graph()
        m = self._mastery_probs(learner_id)
        return [{"skill_id": s, "title": g.skill(s).title, "p_mastered": m.get(s, 0.0)}
                for s in g.ready_to_learn(m, mastered=threshold)]

    def gaps(self, learner_id: str, skill_id: str, threshold: float) -> list[dict]:
        self._learner(learner_id)
        g = self._graph()
        if skill_id not in g:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        m = self._mastery_probs(learner_id)
        return [{"skill_id": gap.skill_id, "title": g.skill(gap.skill_id).title,
                 "p_mastered": gap.mastery, "distance": gap.distance}
                for gap in g.gaps(skill_id, m, mastered=threshold)]

    def export_learner(self, learner_id: str) -> dict:
        return self.ts.export_learner(learner_id)

    def delete_learner(self, learner_id: str) -> dict[str, int]:
        """Erase the learner (store: evidence, mastery, history, profile, their playlists and
        xAPI statements, roster places) and scrub them from their classes' class plans, which
        name every member; one transaction."""
        class_ids = [c.id for c in self.view.classes.values() if learner_id in c.roster]
        with self.ts.transaction():
            counts = self.ts.delete_learner(learner_id, actor="service")
            scrubbed = 0
            for cid in class_ids:
                for doc in self.ts.list_documents(PLAN_KIND, class_id=cid, learner_id=None):
                    body = scrub_class_plan(doc.payload, learner_id)
                    if body is not None:
                        self.ts.put_document(PLAN_KIND, doc.doc_id, body)
                        scrubbed += 1
            counts["class_plans_scrubbed"] = scrubbed
        self._invalidate()
        return counts

    def pseudonymized_observations(self, limit: int) -> list[dict]:
        secret = self.tenant_secret()
        out = []
        for o in self.ts.list_observations(limit=limit):
            rec = o.to_record()
            rec["learner_id"] = pseudonymize(o.learner_id, secret)
            rec["observation_id"] = pseudonymize(o.observation_id, secret)
            out.append(rec)
        return out


def scrub_class_plan(payload: dict, learner_id: str) -> dict | None:
    """The class-plan payload without ``learner_id`` (groups, names, playlists, conflicts), or
    None when the learner does not appear in it."""
    import json

    if learner_id not in json.dumps(payload):
        return None
    body = dict(payload.get("body") or {})
    groups = []
    for g in body.get("groups", []):
        members = list(g.get("learners", []))
        names = list(g.get("names", []))
        keep = [i for i, m in enumerate(members) if m != learner_id]
        groups.append({**g, "learners": [members[i] for i in keep],
                       "names": [names[i] for i in keep if i < len(names)]})
    body["groups"] = groups
    body["playlists"] = {k: v for k, v in (body.get("playlists") or {}).items() if k != learner_id}
    conflicts = [c for c in payload.get("conflicts", []) if learner_id not in json.dumps(c)]
    return {**payload, "body": body, "conflicts": conflicts}
