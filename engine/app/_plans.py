"""Use cases of recommendations and their review: a learner's playlist, a class's session plan
(with each learner's share), "why not X?", and the review lifecycle — one implementation for the
API and the teacher page — a part of ``SchoolApp``. The "teachers decide" rule is in
:mod:`engine.app._planstore`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine import planning, review
from engine.access import Caller
from engine.app._planstore import PlanStore
from engine.errors import ConflictError, NotFoundError, ValidationError

REVIEW_STEPS = ("approve", "reject", "activate", "complete", "edit", "regenerate")


class PlanUseCases(PlanStore):
    # ---------------------------------------------------------------- planning
    def _planning_input(self) -> planning.PlanningInput:
        inp = self.view.planning_input()
        if inp is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no competency graph; import one first")
        return inp

    def _learned(self, weights=None) -> planning.LearnedModels | None:
        """The tenant's learned models (activity effectiveness, forgetting) when the policy or
        an arm's ``weights`` switch either on, or the policy waits for a school test
        (``"when_shown"`` effectiveness or protection: the fit's tests decide), else None
        (nothing is read or fitted; with "when_shown" alone, None until a first fit has run in
        the background)."""
        policy = self.view.policy
        eff, fog = planning.learned_switches(policy, weights)
        shown = planning.learn_when_shown(policy, weights)
        if not (eff or fog or shown or planning.protect_when_shown(policy, weights)):
            return None
        return self._learned_models(effectiveness=eff or shown, wait=eff or fog)

    def _learned_models(self, *, effectiveness: bool, wait: bool) -> planning.LearnedModels | None:
        cache = self.__dict__.get("_learned_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_learned_cache", planning.LearnedCache())
        view = self.view

        def preferred() -> dict[str, list[str]]:  # read only when a fit runs, not per plan
            return {lid: [getattr(f, "value", f) for f in lr.profile.value("preferred_formats")]
                    for lid, lr in view.learners.items()}

        return cache.models(self.store, self._planning_input(), preferred, view.policy.mastered_threshold,
                            effectiveness=effectiveness, wait=wait)

    def forgetting_test(self, by: Caller) -> dict:
        """Does this school forget? The school-level test of its retention checks
        (:meth:`planning.LearnedModels.forgetting_test`: ``forgets``, ``evidence``,
        ``half_life_days``, ``retention_checks``), the policy's ``mode`` and whether playlists
        value what review protects now (``protecting``); fits the forgetting model if no fit
        is cached, whatever the policy."""
        self.allow(by, "policy:read")
        test = self._learned_models(effectiveness=False, wait=True).forgetting_test()
        policy = self.view.policy
        return {"mode": policy.protect_from_forgetting, **test, "protecting": policy.protects(test["forgets"])}

    def _plan_playlist(self, learner_id: str, *, class_id=None, budget_min=None, pins=(), removes=(),
                       validate: bool = True):
        """(items, conflicts, body) of one learner's playlist. ``validate``: unknown pins and
        removes are NotFoundError (caller input); otherwise (regeneration) ids no longer in
        the catalog, e.g. teacher mini-lessons, are skipped."""
        learner = self._learner(learner_id)
        cls = self._class(class_id) if class_id else self._class_of(learner_id)
        if cls is not None and learner_id not in cls.roster:
            raise ValidationError(f"learner {learner_id!r} is not on class {cls.id!r}'s roster")
        if validate:
            for aid in list(pins) + list(removes):
                self._activity(aid)
        else:
            known = self.view.activities
            pins = [a for a in pins if a in known]
            removes = [a for a in removes if a in known]
        arm = self._experiment_arm(learner_id)  # experiment hook (engine.app._experiments)
        if arm is not None and not arm.generates:
            raise ConflictError(f"learner {learner_id!r} is in arm {arm.name!r} of a running experiment, the "
                                "teacher's own sequence: the engine does not generate their playlists")
        items, conflicts, meta = planning.plan_playlist_for(
            self._planning_input(), learner, self.engine.mastery(learner_id), cls, budget_min=budget_min,
            pins=pins, removes=removes, policy=self.view.policy,
            planner=arm.planner if arm else "pathwise", weights=dict(arm.weights) if arm else None,
            learned=self._learned(arm.weights if arm else None))
        body = {"planner": meta, "class_id": cls.id if cls else None}
        return items, conflicts, body if arm is None else {**body, "experiment_arm": arm.name}

    def _plan_class(self, cls, *, keep_apart=(), keep_together=(), session=None):
        """(body, conflicts, playlists) from planner.classplan for the class's blended model."""
        learners = [self.view.learners[lid] for lid in cls.roster if lid in self.view.learners]
        mastery = {lr.id: self.engine.mastery(lr.id) for lr in learners}
        return planning.plan_class_session(self._planning_input(), cls, learners, mastery,
                                           keep_apart=keep_apart, keep_together=keep_together,
                                           session=session, policy=self.view.policy,
                                           learned=self._learned())

    # ---------------------------------------------------------------- playlists
    def generate_playlist(self, by: Caller, learner_id: str, *, budget_min: float | None = None,
                          pins: Sequence[str] = (), removes: Sequence[str] = (),
                          class_id: str | None = None) -> review.ReviewedPlan:
        """A new ``proposed`` playlist, stored beside (never over) a plan the teacher decided
        on. ``NothingToPlan`` when nothing at all can be planned (nothing is stored then)."""
        self.allow(by, "recommendation:read", learner_id=learner_id)
        items, conflicts, body = self._plan_playlist(learner_id, class_id=class_id, budget_min=budget_min,
                                                     pins=pins, removes=removes)
        if not items:
            from planner.errors import NothingToPlan

            why = "; ".join(c["message"] for c in conflicts) or (
                "no activity fits this learner's readiness, accommodations and the session's limits")
            raise NothingToPlan(f"nothing can be planned for learner {learner_id!r}: {why}")
        plan = review.new_plan("playlist", learner_id, items=items, body=body, conflicts=conflicts,
                               pins=pins, removes=removes)
        with self.store.transaction():
            self._save_plan(plan, new=True)
            self._audit(by, "write", "plan", learner_id=learner_id, resource_id=plan.plan_id,
                        detail={"op": "generate"})
        return plan

    def current_playlist(self, by: Caller, learner_id: str) -> tuple[review.ReviewedPlan, review.ReviewedPlan | None]:
        """``(current, pending)``: the playlist the learner follows (the teacher's decision,
        else the newest proposal) and a newer proposal waiting beside it (or None)."""
        self.allow(by, "recommendation:read", learner_id=learner_id)
        self._learner(learner_id)
        current, pending = self._open_playlists(learner_id)
        if current is None:
            raise NotFoundError(f"learner {learner_id!r} has no open playlist; POST to generate one")
        self._read(by, "plan", learner_id=learner_id, resource_id=current.plan_id)
        return current, pending

    def why_not(self, by: Caller, learner_id: str, activity_id: str, *, budget_min: float | None = None) -> dict:
        """Why is ``activity_id`` not in the learner's playlist? (one extra solve)"""
        self.allow(by, "recommendation:read", learner_id=learner_id)
        out = self._why_not(learner_id, activity_id, budget_min=budget_min)
        self._read(by, "plan.why_not", learner_id=learner_id, detail={"activity_id": activity_id})
        return out

    def _why_not(self, learner_id: str, activity_id: str, *, budget_min: float | None = None) -> dict:
        learner = self._learner(learner_id)
        self._activity(activity_id)
        current, _pending = self._open_playlists(learner_id)
        known = self.view.activities
        pins = [a for a in (current.pins if current else ()) if a in known and a != activity_id]
        removes = [a for a in (current.removes if current else ()) if a in known and a != activity_id]
        arm = self._experiment_arm(learner_id)  # the objective the learner's playlists use
        weights = dict(arm.weights) if arm is not None else None
        out = planning.why_not_for(self._planning_input(), learner, self.engine.mastery(learner_id),
                                   self._class_of(learner_id), activity_id, budget_min=budget_min,
                                   pins=pins, removes=removes, policy=self.view.policy,
                                   learned=self._learned(weights), weights=weights)
        if arm is not None:
            out["experiment_arm"] = arm.name
            if not arm.generates or arm.planner != "pathwise":
                source = "the teacher's own sequence" if not arm.generates else f"the {arm.planner!r} rule"
                out["note"] = (f"this learner is in arm {arm.name!r} of a running experiment, whose playlists "
                               f"come from {source}; this answer is what the Pathwise planner would do")
        return out

    # ---------------------------------------------------------------- class plans
    def generate_class_plan(self, by: Caller, class_id: str, *, keep_apart=(), keep_together=(),
                            session: str | None = None) -> review.ReviewedPlan:
        """A class plan and, from the same planner run, each learner's share as a playlist
        proposal: a refresh of the learner's waiting proposal, else a new proposal, stored
        beside any playlist the teacher decided on (never over it). One transaction."""
        self.allow(by, "recommendation:read", class_id=class_id)
        cls = self._class(class_id)
        body, conflicts, playlists = self._plan_class(cls, keep_apart=keep_apart, keep_together=keep_together,
                                                      session=session)
        plan = review.new_plan("class", class_id, body=body, conflicts=conflicts)
        writes = []
        for lid, (items, confl, meta) in playlists.items():
            if not items:  # nothing fits this learner in this session: no empty plan to review
                continue
            arm = self._experiment_arm(lid)  # the teacher's-own-sequence arm gets no proposal
            if arm is not None and not arm.generates:
                continue
            pl_body = {"planner": meta, "class_id": class_id, "class_plan_id": plan.plan_id}
            current, pending = self._open_playlists(lid)
            waiting = current if current is not None and current.status == "proposed" else pending
            if waiting is None:
                writes.append((review.new_plan("playlist", lid, items=items, conflicts=confl, body=pl_body), True))
            else:
                refreshed, _event = review.regenerate(waiting, "class-plan", items=items, body=pl_body,
                                                      conflicts=confl)
                writes.append((refreshed, False))
        detail = {"op": "generate", "class_id": class_id}
        with self.store.transaction():
            self._save_plan(plan, new=True)
            self._audit(by, "write", "plan", resource_id=plan.plan_id, detail=detail)
            for pl, new in writes:
                self._save_plan(pl, new=new)
                self._audit(by, "write", "plan", learner_id=pl.subject, resource_id=pl.plan_id, detail=detail)
        return plan

    def class_overview(self, by: Caller, class_id: str) -> dict:
        """What the teacher page shows of a class: detail, the current class plan and a pending
        one, each learner's current playlist with any proposal waiting beside it, their language
        and accommodations (the catalog is searched on demand: :meth:`search_activities`)."""
        self.allow(by, "class:read", class_id=class_id)
        cls = self._class(class_id)
        plan, pending = self._class_plan_pair(class_id)
        cards = []
        for lid in cls.roster:
            learner = self.view.learners.get(lid)
            current, waiting = self._playlist_pair(lid)
            accommodations = sorted(getattr(a, "value", a) for a in learner.profile.value("accommodations")) \
                if learner else []
            cards.append({"id": lid, "name": learner.name if learner else lid, "plan": current,
                          "pending": waiting, "language": learner.language if learner else None,
                          "accommodations": accommodations})
        self._read(by, "class.page", resource_id=class_id)
        return {"cls": self._class_detail(class_id), "plan": plan, "pending": pending, "cards": cards}

    def approve_all(self, by: Caller, class_id: str) -> dict:
        """Approve, in one transaction, the class's session plan and every learner's current
        playlist that waits for review (``proposed`` or ``edited``); a proposal waiting beside
        a playlist the teacher already decided on is left for them to compare. One audit row
        per plan. Returns ``{"approved": [plan ids], "learners": n}``."""
        self.allow(by, "plan:review", class_id=class_id)
        cls = self._class(class_id)
        todo = []
        plan, _pending = self._class_plan_pair(class_id)
        if plan is not None and plan.status in ("proposed", "edited"):
            todo.append(plan)
        for lid in cls.roster:
            current, _waiting = self._playlist_pair(lid)
            if current is not None and current.status in ("proposed", "edited"):
                todo.append(current)
        actor = by.principal.key_id
        done, learners = [], 0
        with self.store.transaction():
            for p in todo:
                fresh, version = self._plan_versioned(p.plan_id)  # the stored version, in the transaction
                if fresh.status not in ("proposed", "edited"):
                    continue
                updated, event = review.approve(fresh, actor)
                self._save_plan(updated, expected_version=version)
                self._audit(by, "review", "plan", learner_id=_learner_of(fresh), resource_id=fresh.plan_id,
                            detail={**event.to_record(), "batch": "approve_all", "class_id": class_id})
                done.append(fresh.plan_id)
                learners += fresh.kind == "playlist"
        return {"approved": done, "learners": learners}

    # ---------------------------------------------------------------- reading plans
    def list_plans(self, by: Caller, *, learner_id: str | None = None, class_id: str | None = None,
                   status: str | None = None) -> list[review.ReviewedPlan]:
        """Plans of a learner or a class (or both filters), newest first."""
        if learner_id is None and class_id is None:
            raise ValidationError("learner_id or class_id: give at least one")
        if learner_id is not None:
            self.allow(by, "recommendation:read", learner_id=learner_id)
        if class_id is not None:
            self.allow(by, "recommendation:read", class_id=class_id)
        plans = self._plans(learner_id=learner_id, class_id=class_id, status=status)
        self._read(by, "plan.list", learner_id=learner_id, detail={"class_id": class_id, "n": len(plans)})
        return plans

    def get_plan(self, by: Caller, plan_id: str) -> review.ReviewedPlan:
        plan, _version = self._plan_versioned(plan_id)
        self._allow_plan(by, plan, "recommendation:read")
        self._read(by, "plan", learner_id=_learner_of(plan), resource_id=plan_id)
        return plan

    def _allow_plan(self, by: Caller, plan: review.ReviewedPlan, action: str) -> None:
        if plan.kind == "playlist":
            self.allow(by, action, learner_id=plan.subject)
        else:
            self.allow(by, action, class_id=plan.subject)

    # ---------------------------------------------------------------- review
    def review(self, by: Caller, plan_id: str, step: str, **args: Any) -> review.ReviewedPlan:
        """One teacher review step on a plan: ``approve``, ``reject`` (``reason``),
        ``activate``, ``complete``, ``edit`` (``op`` pin/unpin/remove/add/reorder/up/down,
        ``activity_id``, ``order``, ``position``) or ``regenerate`` (re-plan with the
        teacher's pins and removals as constraints). A concurrent change to the same plan
        makes this a ConflictError; the step and its audit row commit together."""
        if step not in REVIEW_STEPS:
            raise ValidationError(f"unknown review step {step!r}; use one of {', '.join(REVIEW_STEPS)}")
        plan, doc_version = self._plan_versioned(plan_id)
        self._allow_plan(by, plan, "plan:review")
        actor = by.principal.key_id
        if step == "regenerate":  # plans outside the transaction
            updated, event = self._regenerated(plan, actor)
        elif step == "edit":
            updated, event = review.edit(plan, actor, **self._edit_args(plan, **args))
        elif step == "reject":
            updated, event = review.reject(plan, actor, args.get("reason", ""))
        else:
            updated, event = getattr(review, step)(plan, actor)
        with self.store.transaction():
            self._save_plan(updated, expected_version=doc_version)
            self._audit(by, "review", "plan", learner_id=_learner_of(plan), resource_id=plan_id,
                        detail=event.to_record())
        return updated

    def _regenerated(self, plan: review.ReviewedPlan, actor: str):
        if plan.kind == "playlist":
            items, conflicts, body = self._plan_playlist(plan.subject, class_id=plan.body.get("class_id"),
                                                         pins=plan.pins, removes=plan.removes, validate=False)
            return review.regenerate(plan, actor, items=items, body=body, conflicts=conflicts)
        body, conflicts, _playlists = self._plan_class(self._class(plan.subject))
        return review.regenerate(plan, actor, body=body, conflicts=conflicts)

    def _edit_args(self, plan: review.ReviewedPlan, *, op: str, activity_id: str | None = None,
                   order: Sequence[str] | None = None, position: int | None = None) -> dict:
        """``review.edit`` arguments; ``add`` looks the activity up, ``up``/``down`` (one-step
        moves, the teacher page's arrows) become a reorder."""
        if op == "add":
            if not activity_id:
                raise ValidationError("activity_id: required for op 'add'")
            act = self._activity(activity_id)
            item = review.PlanItem(activity_id=act.id, title=act.title, minutes=float(act.duration_min),
                                   skills=tuple(act.skill_ids), reason="Added by your teacher.",
                                   details={"basis": "teacher", "modality": getattr(act.modality, "value", act.modality)},
                                   added_by="teacher")
            return {"op": "add", "activity_id": activity_id, "new_item": item, "position": position}
        if op in ("up", "down"):
            ids = [i.activity_id for i in plan.items]
            k = ids.index(activity_id) if activity_id in ids else -1
            j = k - 1 if op == "up" else k + 1
            if 0 <= k < len(ids) and 0 <= j < len(ids):
                ids[k], ids[j] = ids[j], ids[k]
            return {"op": "reorder", "order": ids}
        return {"op": op, "activity_id": activity_id, "order": order}


def _learner_of(plan: review.ReviewedPlan) -> str | None:
    return plan.subject if plan.kind == "playlist" else None
