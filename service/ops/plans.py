"""Playlists and class plans: generate, store, regenerate, why-not — a mixin of ``TenantBackend``."""

from __future__ import annotations

from engine import planning, review
from engine.errors import NotFoundError, ValidationError
from service.ops._common import (
    PLAN_KIND,
    _value,
)


class PlanOps:
    # ---------------------------------------------------------------- plans
    def _planning_input(self):
        inp = self.view.planning_input()
        if inp is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no competency graph; import one first")
        return inp

    def _playlist(self, learner_id: str, *, class_id=None, budget_min=None, pins=(), removes=(),
                  validate: bool = True):
        """Plan one learner's playlist. ``validate``: unknown pins/removes are 404 (API input);
        otherwise (regeneration) ids no longer in the catalog, e.g. mini-lessons, are skipped."""
        learner = self._learner(learner_id)
        cls = self.get_class(class_id) if class_id else self.class_of(learner_id)
        if cls is not None and learner_id not in cls.roster:
            raise ValidationError(f"learner {learner_id!r} is not on class {cls.id!r}'s roster")
        if validate:
            for aid in list(pins) + list(removes):
                self._activity(aid)
        else:
            known = self.view.activities
            pins = [a for a in pins if a in known]
            removes = [a for a in removes if a in known]
        inp = self._planning_input()
        items, conflicts, meta = planning.plan_playlist_for(
            inp, learner, self.ts.get_mastery(learner_id), cls, budget_min=budget_min,
            pins=pins, removes=removes)
        body = {"planner": meta, "class_id": cls.id if cls else None}
        return items, conflicts, body

    def generate_playlist(self, learner_id: str, *, budget_min=None, pins=(), removes=(), class_id=None,
                          audit=None):
        """Plan (outside any transaction), then store the plan and ``audit(plan)`` together."""
        items, conflicts, body = self._playlist(learner_id, class_id=class_id, budget_min=budget_min,
                                                pins=pins, removes=removes)
        if not items:  # an empty plan is not a plan: say why (409), store nothing
            from planner.errors import NothingToPlan

            why = "; ".join(c["message"] for c in conflicts) or (
                "no activity fits this learner's readiness, accommodations and the session's limits")
            raise NothingToPlan(f"nothing can be planned for learner {learner_id!r}: {why}")
        plan = review.new_plan("playlist", learner_id, items=items, body=body, conflicts=conflicts,
                               pins=pins, removes=removes)
        with self.ts.transaction():
            self.save_plan(plan, new=True)
            if audit is not None:
                audit(plan)
        return plan

    def generate_class_plan(self, class_id: str, *, keep_apart=(), keep_together=(), session=None,
                            audit=None):
        """A class plan and, from the same planner run, each learner's playlist (new, or a refresh
        of a still-proposed one). Plans outside any transaction; stores every plan and calls
        ``audit(plan)`` for each (class plan first) in one transaction."""
        cls = self.get_class(class_id)
        body, conflicts, playlists = _engine_class_plan(self, cls, keep_apart=keep_apart,
                                                        keep_together=keep_together, session=session)
        plan = review.new_plan("class", class_id, body=body, conflicts=conflicts)
        # Each learner's share of the session becomes their playlist: a new plan when they have
        # none open, a refresh of a still-unreviewed (proposed) one; reviewed ones are kept.
        writes = []
        for lid, (items, confl, meta) in playlists.items():
            if not items:  # nothing fits this learner in this session: no empty plan to review
                continue
            open_plan = self.latest_plan(learner_id=lid, kind="playlist", open_only=True)
            pl_body = {"planner": meta, "class_id": class_id, "class_plan_id": plan.plan_id}
            if open_plan is None:
                writes.append((review.new_plan("playlist", lid, items=items, conflicts=confl, body=pl_body),
                               True))
            elif open_plan.status == "proposed":
                refreshed, _event = review.regenerate(open_plan, "class-plan", items=items, body=pl_body,
                                                      conflicts=confl)
                writes.append((refreshed, False))
        with self.ts.transaction():
            self.save_plan(plan, new=True)
            if audit is not None:
                audit(plan)
            for pl, new in writes:
                self.save_plan(pl, new=new)
                if audit is not None:
                    audit(pl)
        return plan

    def regenerate_plan(self, plan, actor: str, *, expected_version: int | None = None, audit=None):
        """Re-plan (outside any transaction), then store and ``audit(event)`` together."""
        if plan.kind == "playlist":
            items, conflicts, body = self._playlist(plan.subject, class_id=plan.body.get("class_id"),
                                                    pins=plan.pins, removes=plan.removes, validate=False)
            updated, event = review.regenerate(plan, actor, items=items, body=body, conflicts=conflicts)
        else:
            cls = self.get_class(plan.subject)
            body, conflicts, _playlists = _engine_class_plan(self, cls)
            updated, event = review.regenerate(plan, actor, body=body, conflicts=conflicts)
        with self.ts.transaction():
            self.save_plan(updated, expected_version=expected_version)
            if audit is not None:
                audit(event)
        return updated, event

    def why_not(self, learner_id: str, activity_id: str, *, budget_min=None) -> dict:
        learner = self._learner(learner_id)
        self._activity(activity_id)
        cls = self.class_of(learner_id)
        latest = self.latest_plan(learner_id=learner_id, kind="playlist", open_only=True)
        known = self.view.activities
        pins = [a for a in (latest.pins if latest else ()) if a in known and a != activity_id]
        removes = [a for a in (latest.removes if latest else ()) if a in known and a != activity_id]
        return planning.why_not_for(self._planning_input(), learner, self.ts.get_mastery(learner_id), cls,
                                    activity_id, budget_min=budget_min, pins=pins, removes=removes)

    def plan_item_for(self, activity_id: str):
        act = self._activity(activity_id)
        return review.PlanItem(activity_id=act.id, title=act.title, minutes=float(act.duration_min),
                               skills=tuple(act.skill_ids), reason="Added by your teacher.",
                               details={"basis": "teacher", "modality": _value(act.modality)},
                               added_by="teacher")

    def save_plan(self, plan, *, new: bool = False, expected_version: int | None = None) -> None:
        """Store a plan; ``expected_version`` (the document version read) guards against
        lost updates: a concurrent change makes this a ConflictError (409)."""
        rec = plan.to_record()
        rec["learner_id"] = plan.subject if plan.kind == "playlist" else None
        rec["class_id"] = plan.subject if plan.kind == "class" else plan.body.get("class_id")
        self.ts.put_document(PLAN_KIND, plan.plan_id, rec,
                             expected_version=0 if new else expected_version)

    def get_plan(self, plan_id: str):
        return self.get_plan_versioned(plan_id)[0]

    def get_plan_versioned(self, plan_id: str):
        """(plan, stored document version)."""
        doc = self.ts.get_document(PLAN_KIND, plan_id)
        return review.ReviewedPlan.from_record(doc.payload), doc.version

    def list_plans(self, *, learner_id=None, class_id=None, status=None, kind=None) -> list:
        filters = {}
        if learner_id is not None:
            filters["learner_id"] = learner_id
        if class_id is not None:
            filters["class_id"] = class_id
        if status is not None:
            filters["status"] = status
        plans = [review.ReviewedPlan.from_record(d.payload)
                 for d in self.ts.list_documents(PLAN_KIND, newest_first=True, **filters)]
        if kind is not None:
            plans = [p for p in plans if p.kind == kind]
        return plans

    def latest_plan(self, *, learner_id=None, class_id=None, kind=None, open_only=False):
        """Newest plan that is still open (not rejected/done), else the newest at all."""
        plans = self.list_plans(learner_id=learner_id, class_id=class_id, kind=kind)
        open_plans = [p for p in plans if p.status not in ("rejected", "done")]
        if open_only:
            return open_plans[0] if open_plans else None
        plans = open_plans or plans
        return plans[0] if plans else None


def _engine_class_plan(tb, cls, *, keep_apart=(), keep_together=(), session=None):
    """(body, conflicts, playlists) from planner.classplan for the class's blended model."""
    inp = tb._planning_input()
    learners = [tb.view.learners[lid] for lid in cls.roster if lid in tb.view.learners]
    mastery = tb.ts.get_mastery_many([lr.id for lr in learners])
    return planning.plan_class_session(inp, cls, learners, mastery, keep_apart=keep_apart,
                                       keep_together=keep_together, session=session)
