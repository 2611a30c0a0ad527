"""Use cases of the student's own voice: today's plan with its choice boards, picking a
choice, "how did it go?" self-ratings, and the teacher's choice switch — a part of
``SchoolApp``.

Choice boards (:mod:`planner.choices`): every slot of the learner's current playlist offers
up to three ways to work on its target skill, all within every hard constraint. A pick
replaces the slot's item in the plan (the plan keeps its review status: every option was
allowed by the same constraints the teacher approved), is recorded in the plan's
``body["choices"]`` (the teacher sees it through the plan API) and its history, is audited,
and feeds the profile's learned preferences (``planner.choices.learn_preferences``: counts
kept in the profile's ``choices`` field as ``("pick:<tag>", "<chosen>/<expected>/<events>")``;
tags that reach the documented weight become preferred formats or groupings, set by the
system). Teachers switch choice on or off per class or per learner (a learner's switch wins
over the class's; the default is on).

Self-ratings: a rating r in 1..4 ("not yet" .. "I've got it") of an activity is stored as a
``self_report`` observation on the activity's skills with the soft score
``0.5 + SELF_REPORT_WEIGHT * ((r - 1) / 3 - 0.5)`` — with ``SELF_REPORT_WEIGHT = 0.2`` the
scores lie in [0.4, 0.6]. A score of 0.5 carries no evidence in the BKT likelihood (the
emission of a soft score s mixes the correct and incorrect likelihoods with weights s and
1 - s, which are equal at 0.5), so a self-rating moves mastery about a fifth as far as a
graded answer would; it is never rounded to right or wrong. The rating, the optional sentence
and the time are kept as a ``self_report`` document the teacher reads.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from engine import planning, review
from engine.access import Caller
from engine.app._admin import iso
from engine.domain.evidence import Observation
from engine.domain.learners import Actor
from engine.errors import ConflictError, NotFoundError, ValidationError

CHOICE_KIND = "choice_setting"
SELF_REPORT_KIND = "self_report"
SELF_REPORT_WEIGHT = 0.2
RATINGS = (1, 2, 3, 4)
MAX_SENTENCE = 280
PICK_PREFIX = "pick:"
OPEN = frozenset({"proposed", "approved", "edited", "active"})


def self_report_score(rating: int) -> float:
    """The soft score of a 1..4 self-rating (module doc): 0.4, 0.4667, 0.5333, 0.6."""
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise ValidationError(f"rating={rating!r}: give a whole number from 1 (not yet) to 4 (I've got it)")
    return 0.5 + SELF_REPORT_WEIGHT * ((rating - 1) / 3.0 - 0.5)


def _words(activity) -> dict[str, str]:
    """Where, with whom: plain codes the pages translate."""
    value = lambda x: getattr(x, "value", x)  # noqa: E731
    modality = value(activity.modality)
    if modality == "teacher_led":
        who = "teacher"
    elif activity.group_max >= 2 or modality == "collaborative":
        who = "partner" if activity.group_max == 2 else "group"
    else:
        who = "alone"
    return {"where": value(activity.place), "with_whom": who, "modality": modality,
            "formats": sorted(value(f) for f in activity.formats)}


class StudentUseCases:
    # ---------------------------------------------------------------- choice switch
    def choice_enabled(self, learner_id: str) -> bool:
        """Whether the learner may choose (learner switch, else class switch, else on)."""
        for doc_id in [f"learner:{learner_id}"] + [f"class:{c.id}" for c in self.view.classes.values()
                                                   if learner_id in c.roster]:
            try:
                return bool(self.store.get_document(CHOICE_KIND, doc_id).payload["enabled"])
            except NotFoundError:
                continue
        return True

    def set_choice(self, by: Caller, *, enabled: bool | None, class_id: str | None = None,
                   learner_id: str | None = None) -> dict:
        """Switch choice boards on or off for a class or one learner (teachers of the class,
        admins). ``enabled=None`` for a learner removes their own switch, so the class's
        setting applies again."""
        if (class_id is None) == (learner_id is None):
            raise ValidationError("give exactly one of class_id or learner_id")
        if enabled is None and class_id is not None:
            raise ValidationError("enabled=null only resets one learner to the class's setting; "
                                  "for a class use true or false")
        if enabled is not None and not isinstance(enabled, bool):
            raise ValidationError(f"enabled={enabled!r}: use true, false, or null (a learner "
                                  "follows the class's setting)")
        self.allow(by, "plan:review", class_id=class_id, learner_id=learner_id)
        if class_id is not None:
            self._class(class_id)
            doc_id = f"class:{class_id}"
        else:
            self._learner(learner_id)
            doc_id = f"learner:{learner_id}"
        payload = {"enabled": enabled, "class_id": class_id, "learner_id": learner_id,
                   "set_by": by.principal.key_id, "set_at": iso(datetime.now(UTC))}
        with self.store.transaction():
            if enabled is None:
                try:
                    self.store.delete_document(CHOICE_KIND, doc_id)
                except NotFoundError:
                    pass  # already following the class: nothing to undo
                payload["enabled"] = self.choice_enabled(learner_id)
                payload["follows_class"] = True
            else:
                self.store.put_document(CHOICE_KIND, doc_id, payload)
            self._audit(by, "write", "choice_setting", learner_id=learner_id, resource_id=doc_id,
                        detail={"enabled": enabled})
        return payload

    # ---------------------------------------------------------------- today
    def _student_plan(self, learner_id: str) -> review.ReviewedPlan | None:
        current, _pending = self._playlist_pair(learner_id)
        return current if current is not None and current.status in OPEN else None

    def _choice_sets(self, learner_id: str, plan: review.ReviewedPlan) -> list[Any]:
        from planner.choices import choice_sets

        learner = self._learner(learner_id)
        cls = self._class(plan.body["class_id"]) if plan.body.get("class_id") in self.view.classes \
            else self._class_of(learner_id)
        inp = self._planning_input()
        policy = self.view.policy
        pl_learner = planning.plan_learner(learner, self.engine.mastery(learner_id), inp.graph.ids,
                                           own_devices=planning.uses_own_devices(cls), policy=policy)
        request = planning.playlist_request(cls, pins=plan.pins, removes=plan.removes,
                                            known_activities=inp.by_id, policy=policy)
        catalog = inp.activities_for_grade(learner.grade)
        have = {a.id for a in catalog}
        catalog = catalog + tuple(a for a in inp.activities if a.id in {i.activity_id for i in plan.items}
                                  and a.id not in have)
        slots = [(i.activity_id, i.details.get("target_skill") or (i.skills[0] if i.skills else ""))
                 for i in plan.items]
        return list(choice_sets(inp.graph, catalog, pl_learner, request, slots))

    def today(self, by: Caller, learner_id: str) -> dict:
        """What the student does now: the current playlist's items (minutes, where, with whom,
        the reason), the choices to make (when choice is on), and the ratings given."""
        self.allow(by, "learner:read", learner_id=learner_id)
        learner = self._learner(learner_id)
        plan = self._student_plan(learner_id)
        rated = {r["activity_id"]: r for r in self._self_report_rows(learner_id)}
        items, choosing = [], plan is not None and self.choice_enabled(learner_id)
        sets = self._choice_sets(learner_id, plan) if choosing and self.view.graph is not None else []
        for pos, it in enumerate(plan.items if plan else ()):
            act = self.view.activities.get(it.activity_id)
            cs = sets[pos] if pos < len(sets) else None
            items.append({"position": pos, "activity_id": it.activity_id, "title": it.title,
                          "minutes": it.minutes, "skills": list(it.skills),
                          "target_title": it.details.get("target_title", ""),
                          **(_words(act) if act is not None else {"where": "", "with_whom": "",
                                                                   "modality": "", "formats": []}),
                          "chosen": self._chosen(plan, pos),
                          "options": [dataclasses.asdict(o) for o in cs.options] if cs and cs.has_choice else [],
                          "rating": rated.get(it.activity_id)})
        self._read(by, "learner.today", learner_id=learner_id)
        return {"learner_id": learner_id, "name": learner.name, "language": learner.language,
                "plan_id": plan.plan_id if plan else None, "status": plan.status if plan else None,
                "choice_enabled": self.choice_enabled(learner_id), "items": items,
                "total_minutes": plan.total_minutes if plan else 0.0}

    @staticmethod
    def _chosen(plan: review.ReviewedPlan, pos: int) -> dict | None:
        picks = [c for c in plan.body.get("choices", []) if c.get("position") == pos]
        return picks[-1] if picks else None

    # ---------------------------------------------------------------- choose
    def choose(self, by: Caller, learner_id: str, plan_id: str, position: int, activity_id: str) -> dict:
        """The student picks option ``activity_id`` for slot ``position`` of their current
        playlist ``plan_id`` (see the module doc). Returns the plan record."""
        self.allow(by, "plan:choose", learner_id=learner_id)
        if not self.choice_enabled(learner_id):
            raise ConflictError("choices are switched off for this learner; ask the teacher")
        plan, version = self._plan_versioned(plan_id)
        if plan.kind != "playlist" or plan.subject != learner_id:
            raise NotFoundError(f"plan {plan_id!r} is not a playlist of learner {learner_id!r}")
        if plan.status not in OPEN:
            raise ConflictError(f"plan {plan_id!r} is {plan.status!r}; choices are made on an open plan")
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(plan.items):
            raise ValidationError(f"position={position!r}: use a slot number from 0 to {len(plan.items) - 1}")
        cs = self._choice_sets(learner_id, plan)[position]
        offered = [o.activity_id for o in cs.options]
        if not cs.has_choice or activity_id not in offered:
            raise ValidationError(f"activity_id={activity_id!r} is not an option of slot {position}; "
                                  f"options: {offered if cs.has_choice else 'none (' + cs.why_fixed + ')'}")
        updated = self._swap(plan, position, cs, activity_id, by)
        learner = self._learner(learner_id)
        prof = self._learn_from_pick(learner.profile, cs, offered.index(activity_id), by)
        with self.store.transaction():
            self._save_plan(updated, expected_version=version)
            if prof is not learner.profile:
                self.store.put_profile(learner_id, prof)
            self._audit(by, "choose", "plan", learner_id=learner_id, resource_id=plan_id,
                        detail={"position": position, "chosen": activity_id, "offered": offered})
        if prof is not learner.profile:
            self._invalidate()
        return updated.to_record()

    def _swap(self, plan, position: int, cs, activity_id: str, by: Caller) -> review.ReviewedPlan:
        old = plan.items[position]
        option = next(o for o in cs.options if o.activity_id == activity_id)
        if activity_id == old.activity_id:
            items = plan.items
        else:
            act = self._activity(activity_id)
            item = review.PlanItem(
                activity_id=act.id, title=act.title, minutes=float(act.duration_min),
                skills=tuple(act.skill_ids), reason=f"You chose it: {option.reason}.",
                details={**dict(old.details), "basis": "choice", "modality": option.modality,
                         "expected_gain": option.expected_gain, "chosen_over": old.activity_id},
                added_by="student")
            items = plan.items[:position] + (item,) + plan.items[position + 1:]
        now = datetime.now(UTC)
        pick = {"position": position, "chosen": activity_id, "offered": [o.activity_id for o in cs.options],
                "how": option.how, "by": by.principal.key_id, "at": iso(now)}
        body = {**dict(plan.body), "choices": [*plan.body.get("choices", []), pick]}
        event = {"plan_id": plan.plan_id, "op": "choose", "actor": by.principal.key_id,
                 "status_before": plan.status, "status_after": plan.status, "at": now.timestamp(),
                 "detail": {"position": position, "activity_id": activity_id}}
        return dataclasses.replace(plan, items=items, body=body, updated_at=now.timestamp(),
                                   history=plan.history + (event,))

    def _learn_from_pick(self, prof, cs, chosen: int, by: Caller):
        """The profile with the pick counted and the learned preferences applied."""
        from planner.choices import activity_tags, learn_preferences, learned_preferences

        inp = self._planning_input()
        acts = {a.id: a for a in inp.activities}
        offered = [activity_tags(acts[o.activity_id]) if o.activity_id in acts else () for o in cs.options]
        pairs = dict(prof.value("choices"))
        counts = {k[len(PICK_PREFIX):]: tuple(float(x) for x in v.split("/"))
                  for k, v in pairs.items() if k.startswith(PICK_PREFIX)}
        counts = learn_preferences({k: (c, e, int(n)) for k, (c, e, n) in counts.items()}, offered, chosen)
        pairs.update({PICK_PREFIX + k: f"{c:g}/{round(e, 4):g}/{n}" for k, (c, e, n) in counts.items()})
        now = max(datetime.now(UTC), prof.choices.set_at)
        prof = prof.with_field("choices", pairs, Actor.SYSTEM, now, "learned from your choices")
        formats, groupings = learned_preferences(counts)
        for name, learned in (("preferred_formats", formats), ("preferred_groupings", groupings)):
            have = {getattr(v, "value", v) for v in prof.value(name)}
            if learned - have:
                prof = prof.with_field(name, have | learned, Actor.SYSTEM,
                                       max(now, getattr(prof, name).set_at), "learned from your choices")
        return prof

    # ---------------------------------------------------------------- how did it go?
    def rate_activity(self, by: Caller, learner_id: str, activity_id: str, rating: int,
                      sentence: str = "", *, at: datetime | None = None) -> dict:
        """The student's "how did it go?" (1-4 and an optional sentence): a soft self-report
        observation (module doc) and a ``self_report`` document for the teacher."""
        self.allow(by, "evidence:self-report", learner_id=learner_id)
        self._learner(learner_id)
        act = self._activity(activity_id)
        score = self_report_score(rating)
        sentence = (sentence or "").strip()
        if len(sentence) > MAX_SENTENCE:
            raise ValidationError(f"sentence has {len(sentence)} characters; keep it under {MAX_SENTENCE}")
        at = at or datetime.now(UTC)
        rid = f"sr-{uuid.uuid4().hex[:16]}"
        skills = tuple(s for s in act.skill_ids if s in self.view.skills) or tuple(act.skill_ids)
        obs = Observation(observation_id=rid, learner_id=learner_id, activity_id=act.id, skill_ids=skills,
                          score=score, observed_at=at, source="self_report")
        doc = {"learner_id": learner_id, "activity_id": act.id, "title": act.title, "rating": rating,
               "sentence": sentence, "score": round(score, 4), "observation_id": rid, "at": iso(at)}
        with self.store.transaction():
            self.engine.ingest([obs])
            self.store.put_document(SELF_REPORT_KIND, rid, doc, expected_version=0)
            self._audit(by, "write", "evidence.self_report", learner_id=learner_id, resource_id=rid,
                        detail={"activity_id": act.id, "rating": rating})
        return doc

    def _self_report_rows(self, learner_id: str) -> list[dict]:
        return [d.payload for d in self.store.list_documents(SELF_REPORT_KIND, learner_id=learner_id,
                                                              newest_first=True)]

    def self_reports(self, by: Caller, learner_id: str, *, limit: int = 100) -> list[dict]:
        """The learner's self-ratings, newest first (the teacher's view of "how did it go?")."""
        self.allow(by, "learner:read", learner_id=learner_id)
        self._learner(learner_id)
        rows = self._self_report_rows(learner_id)[:limit]
        self._read(by, "learner.self_reports", learner_id=learner_id)
        return rows
