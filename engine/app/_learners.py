"""Use cases of learners: mastery and its history, profile (who set what), ready-to-learn and
gaps under the tenant's mastery threshold, the teacher page's learner overview, per-learner
export and whole-learner erasure — a part of ``SchoolApp``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.access import Caller, pseudonymize
from engine.app._admin import iso
from engine.app._planstore import PLAN_KIND
from engine.errors import AccessDenied, NotFoundError, ValidationError


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


class LearnerUseCases:
    # ---------------------------------------------------------------- mastery
    def mastery(self, by: Caller, learner_id: str, *, threshold: float | None = None) -> dict:
        """``learner_id``, ``threshold`` (the tenant's unless given) and ``skills``: every skill
        with evidence (``skill_id, title, p_mastered, n_observations, updated_at``)."""
        self.allow(by, "learner:read", learner_id=learner_id)
        skills = self._mastery_rows(learner_id)
        self._read(by, "learner.mastery", learner_id=learner_id)
        return {"learner_id": learner_id, "threshold": self._threshold(threshold), "skills": skills}

    def _mastery_rows(self, learner_id: str) -> list[dict]:
        self._learner(learner_id)
        titles = self.view.skills
        return [
            {"skill_id": sid, "title": getattr(titles.get(sid), "title", ""), "p_mastered": st.p_mastered,
             "n_observations": st.n_observations, "updated_at": iso(st.updated_at)}
            for sid, st in sorted(self.engine.mastery(learner_id).items())
        ]

    def _threshold(self, threshold: float | None) -> float:
        return self.view.policy.mastered_threshold if threshold is None else float(threshold)

    def history(self, by: Caller, learner_id: str, *, skill_id: str | None = None, limit: int = 1000) -> dict:
        """Every mastery change of the learner (optionally one skill), oldest first, last ``limit``."""
        self.allow(by, "learner:read", learner_id=learner_id)
        self._learner(learner_id)
        if skill_id is not None and skill_id not in self.view.skills:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        rows = self.engine.history(learner_id, skill_id)[-limit:]
        points = [{"skill_id": c.skill_id, "observation_id": c.observation_id, "before": c.before,
                   "after": c.after, "at": iso(c.at)} for c in rows]
        self._read(by, "learner.history", learner_id=learner_id, detail={"skill_id": skill_id})
        return {"learner_id": learner_id, "skill_id": skill_id, "points": points}

    # ---------------------------------------------------------------- profile
    def profile(self, by: Caller, learner_id: str) -> dict:
        self.allow(by, "learner:read", learner_id=learner_id)
        out = self._profile_out(learner_id)
        self._read(by, "learner.profile", learner_id=learner_id)
        return out

    def _profile_out(self, learner_id: str) -> dict:
        from engine.domain.serialize import to_record

        learner = self._learner(learner_id)
        prof = learner.profile
        fields = {}
        for name in prof.FIELDS:
            p = getattr(prof, name)
            fields[name] = {"value": to_record(p.value), "set_by": _value(p.set_by), "set_at": iso(p.set_at)}
        history = [{"field": ch.field, "value": to_record(ch.previous.value),
                    "set_by": _value(ch.previous.set_by), "set_at": iso(ch.previous.set_at)}
                   for ch in prof.history]
        return {"learner_id": learner.id, "name": learner.name, "grade": learner.grade,
                "fields": fields, "history": history}

    def update_profile(self, by: Caller, learner_id: str, fields: Mapping[str, Any], set_by: str) -> dict:
        """Set profile fields, recording who set them (``student``, ``teacher``, ``parent``).

        Per-field ownership (:func:`engine.domain.learners.check_may_write`): a teacher writes
        only the fields a teacher owns, as ``set_by="teacher"``; an admin writes any field on
        behalf of its owner (``set_by`` must be that owner)."""
        self.allow(by, "learner:write", learner_id=learner_id)
        from engine.domain.learners import check_may_write

        check_may_write(set_by, fields)
        if by.principal.role == "teacher" and set_by != "teacher":
            raise AccessDenied(f"set_by={set_by!r}: a teacher writes profile fields as 'teacher'; "
                               "the student and the family write their own fields themselves")
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
        with self.store.transaction():
            self.store.put_profile(learner_id, prof)
            self._audit(by, "write", "learner.profile", learner_id=learner_id,
                        detail={"fields": sorted(fields), "set_by": set_by})
        self._invalidate()
        return self._profile_out(learner_id)

    # ---------------------------------------------------------------- readiness
    def _mastery_probs(self, learner_id: str) -> dict[str, float]:
        g = self._graph()
        return {k: st.p_mastered for k, st in self.engine.mastery(learner_id).items() if k in g}

    def ready_to_learn(self, by: Caller, learner_id: str, *, threshold: float | None = None) -> dict:
        """Skills not mastered whose prerequisites are all mastered (``threshold``: the tenant's)."""
        self.allow(by, "learner:read", learner_id=learner_id)
        thr = self._threshold(threshold)
        skills = self._ready(learner_id, thr)
        self._read(by, "learner.ready", learner_id=learner_id)
        return {"learner_id": learner_id, "threshold": thr, "skills": skills}

    def _ready(self, learner_id: str, thr: float) -> list[dict]:
        self._learner(learner_id)
        g = self._graph()
        m = self._mastery_probs(learner_id)
        return [{"skill_id": s, "title": g.skill(s).title, "p_mastered": m.get(s, 0.0)}
                for s in g.ready_to_learn(m, mastered=thr)]

    def gaps(self, by: Caller, learner_id: str, skill_id: str, *, threshold: float | None = None) -> dict:
        """Unmastered prerequisite ancestors of a skill, nearest and weakest first."""
        self.allow(by, "learner:read", learner_id=learner_id)
        gaps = self._gaps(learner_id, skill_id, self._threshold(threshold))
        self._read(by, "learner.gaps", learner_id=learner_id, detail={"skill_id": skill_id})
        return {"learner_id": learner_id, "skill_id": skill_id, "gaps": gaps}

    def _gaps(self, learner_id: str, skill_id: str, thr: float) -> list[dict]:
        self._learner(learner_id)
        g = self._graph()
        if skill_id not in g:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        m = self._mastery_probs(learner_id)
        return [{"skill_id": gap.skill_id, "title": g.skill(gap.skill_id).title,
                 "p_mastered": gap.mastery, "distance": gap.distance}
                for gap in g.gaps(skill_id, m, mastered=thr)]

    def learner_overview(self, by: Caller, learner_id: str, *, why_not: str | None = None) -> dict:
        """What the teacher page shows of one learner: profile, mastery (and by domain),
        ready-to-learn, the gaps under the three weakest skills, the current playlist and a
        pending proposal beside it, the class, and optionally "why not <activity>?"."""
        self.allow(by, "learner:read", learner_id=learner_id)
        thr = self.view.policy.mastered_threshold
        mastery = self._mastery_rows(learner_id)
        graph = self.view.graph
        ready = self._ready(learner_id, thr)[:12] if graph is not None else []
        weakest = sorted((m for m in mastery if m["n_observations"] >= 2), key=lambda m: m["p_mastered"])[:3]
        gaps = [{"skill": m, "gaps": self._gaps(learner_id, m["skill_id"], thr)[:6]
                 if graph is not None and m["skill_id"] in graph else []} for m in weakest]
        by_domain: dict[str, list] = {}
        for m in mastery:
            s = self.view.skills.get(m["skill_id"])
            by_domain.setdefault(getattr(s, "domain", "") or "other", []).append(
                {**m, "code": getattr(s, "code", m["skill_id"])})
        current, pending = self._playlist_pair(learner_id)
        answer = None
        if why_not:
            self.allow(by, "recommendation:read", learner_id=learner_id)
            answer = {**self._why_not(learner_id, why_not), "title": self._activity(why_not).title}
        self._read(by, "learner.page", learner_id=learner_id)
        return {"profile": self._profile_out(learner_id), "mastery": mastery, "ready": ready, "gaps": gaps,
                "by_domain": sorted(by_domain.items()), "plan": current, "pending": pending,
                "cls": self._class_of(learner_id), "threshold": thr, "why_not": answer,
                "titles": {sid: s.title for sid, s in self.view.skills.items()},
                "choices": sorted(self.view.activities.values(), key=lambda a: a.title)}

    # ---------------------------------------------------------------- export and erasure
    def export_learner(self, by: Caller, learner_id: str) -> dict:
        """Everything stored about one learner, JSON-ready (admin)."""
        self.allow(by, "learner:export", learner_id=learner_id)
        data = self.store.export_learner(learner_id)
        self._audit(by, "export", "learner", learner_id=learner_id)
        return data

    def erase_learner(self, by: Caller, learner_id: str) -> dict[str, int]:
        """Erase the learner in one transaction: record and profile, evidence, mastery and its
        history, the model's learner state, their playlists and xAPI statements, roster
        places, and their entries in their classes' class plans (which name every member).
        The audit keeps only that an erasure happened and a keyed hash of the id (earlier audit
        rows about the learner are rewritten to that hash). Returns counts."""
        self.allow(by, "learner:delete", learner_id=learner_id)
        class_ids = [c.id for c in self.view.classes.values() if learner_id in c.roster]
        with self.store.transaction():
            # the audit keeps a keyed hash of the id (HMAC with the tenant's secret): an
            # auditor who is given the id can check it; the log alone does not reveal it
            alias = pseudonymize(learner_id, "audit:" + self._tenant_secret())
            counts = self.store.delete_learner(learner_id, actor=by.principal.key_id, alias=alias)
            scrubbed = 0
            for cid in class_ids:
                for doc in self.store.list_documents(PLAN_KIND, class_id=cid, learner_id=None):
                    body = scrub_class_plan(doc.payload, learner_id)
                    if body is not None:
                        self.store.put_document(PLAN_KIND, doc.doc_id, body)
                        scrubbed += 1
            counts["class_plans_scrubbed"] = scrubbed
            counts.update(self._erase_credentials(learner_id))
            self._audit(by, "delete", "learner", detail={"erased": True, "learner": alias})
        self._invalidate()
        self.home.forget_cached_keys()
        return counts

    def _erase_credentials(self, learner_id: str) -> dict[str, int]:
        """The learner's own sign-in: their student keys (rows deleted, they name the learner)
        and their page logins (by username, which may be their name)."""
        from engine.app.pathwise import LOGIN_KIND

        keys = self.home.store.delete_api_keys_of(self.tenant, "student", learner_id)
        logins = 0
        for doc in self.store.list_documents(LOGIN_KIND):
            if doc.payload.get("role") == "student" and doc.payload.get("person") == learner_id:
                self.store.delete_document(LOGIN_KIND, doc.doc_id)
                logins += 1
        return {"student_keys": keys, "page_logins": logins}


def scrub_class_plan(payload: dict, learner_id: str) -> dict | None:
    """The class-plan payload without ``learner_id`` (groups, names, playlists, conflicts), or
    None when the learner does not appear in it."""
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


class RosterCrudUseCases:
    """Roster CRUD through the API (admins): learners, teachers, guardians and classes, with
    the domain's validation. A OneRoster import remains the source of names, grades and
    memberships for the records it manages; class settings (model, caps) are kept by it."""

    def put_learner(self, by: Caller, learner_id: str, *, name: str, grade: str,
                    language: str | None = None) -> dict:
        """Create or update a learner (profile and evidence are kept). ``created``: new?"""
        import dataclasses

        from engine.domain import Learner

        self.allow(by, "roster:write")
        cur = self.view.learners.get(learner_id)
        new = (Learner(learner_id, name, grade, language=language or "en") if cur is None else
               dataclasses.replace(cur, name=name, grade=grade, language=language or cur.language))
        with self.store.transaction():
            self.store.put_learners([new])
            try:
                self.store.delete_document("roster_departure", learner_id)  # back on the roster
            except NotFoundError:
                pass
            self._audit(by, "write", "roster.learner", learner_id=learner_id, detail={"created": cur is None})
        self._invalidate()
        return {"id": new.id, "name": new.name, "grade": new.grade, "language": new.language,
                "created": cur is None}

    def remove_learner_from_roster(self, by: Caller, learner_id: str) -> dict:
        """Take a learner off every class roster and record the departure: their data stays
        until the tenant's retention erases it (or an admin erases it now)."""
        import dataclasses

        self.allow(by, "roster:write")
        self._learner(learner_id)
        classes = [dataclasses.replace(c, roster=tuple(m for m in c.roster if m != learner_id))
                   for c in self.view.classes.values() if learner_id in c.roster]
        with self.store.transaction():
            self.store.put_classes(classes)
            self.store.put_document("roster_departure", learner_id,
                                    {"learner_id": learner_id, "left_at": iso(datetime.now(UTC))})
            self._audit(by, "delete", "roster.learner", learner_id=learner_id)
        self._invalidate()
        return {"learner_id": learner_id, "classes_left": [c.id for c in classes]}

    def put_teacher(self, by: Caller, teacher_id: str, *, name: str) -> dict:
        from engine.domain import Teacher

        self.allow(by, "roster:write")
        created = teacher_id in self.store.missing_ids("teacher", [teacher_id])
        with self.store.transaction():
            self.store.put_teachers([Teacher(teacher_id, name)])
            self._audit(by, "write", "roster.teacher", resource_id=teacher_id, detail={"created": created})
        return {"id": teacher_id, "name": name, "created": created}

    def delete_teacher(self, by: Caller, teacher_id: str) -> None:
        """Delete a teacher who teaches no class (their keys stop working with the roster)."""
        from engine.errors import ConflictError

        self.allow(by, "roster:write")
        teaching = sorted(c.id for c in self.view.classes.values() if teacher_id in c.teachers)
        if teaching:
            raise ConflictError(f"teacher {teacher_id!r} teaches {teaching}; take them off those classes first")
        with self.store.transaction():
            self.store.delete_teacher(teacher_id)
            self._audit(by, "delete", "roster.teacher", resource_id=teacher_id)
        self._revoke_subject_keys(teacher_id)

    def guardians(self, by: Caller) -> list[dict]:
        self.allow(by, "roster:write")
        return [{"id": g.id, "name": g.name, "learner_ids": list(g.learner_ids)}
                for g in sorted(self.view.guardians.values(), key=lambda g: g.id)]

    def put_guardian(self, by: Caller, guardian_id: str, *, name: str, learner_ids: list[str]) -> dict:
        """Create or update a guardian and their links (every learner id must exist)."""
        from engine.domain.classes import Guardian

        self.allow(by, "roster:write")
        unknown = [lid for lid in learner_ids if lid not in self.view.learners]
        if unknown:
            raise NotFoundError(f"learner_ids: {unknown} are not learners of tenant {self.tenant!r}; "
                                "add them first (PUT /v1/roster/learners/{id})")
        created = guardian_id not in self.view.guardians
        g = Guardian(guardian_id, name, tuple(dict.fromkeys(learner_ids)))
        with self.store.transaction():
            self.store.put_guardians([g])
            self._audit(by, "write", "roster.guardian", resource_id=guardian_id, detail={"created": created})
        self._invalidate()
        return {"id": g.id, "name": g.name, "learner_ids": list(g.learner_ids), "created": created}

    def delete_guardian(self, by: Caller, guardian_id: str) -> None:
        self.allow(by, "roster:write")
        if guardian_id not in self.view.guardians:
            raise NotFoundError(f"guardian {guardian_id!r} is not in tenant {self.tenant!r}")
        with self.store.transaction():
            self.store.delete_guardian(guardian_id)
            self._audit(by, "delete", "roster.guardian", resource_id=guardian_id)
        self._invalidate()

    def put_class(self, by: Caller, class_id: str, rec: Mapping[str, Any]) -> dict:
        """Create or update a class: ``name``, ``grade``, ``teachers``, ``roster`` and optional
        ``model`` (``{"type": ...}``), ``size_cap``, ``small_group_cap``; a new class without a
        model takes the roster defaults (course ``course`` if given, else its grade)."""
        import dataclasses

        from engine.app._roster import build_model, class_settings
        from engine.domain.classes import Class

        self.allow(by, "roster:write")
        missing = self.store.missing_ids("teacher", rec["teachers"])
        unknown = [lid for lid in rec["roster"] if lid not in self.view.learners]
        if missing or unknown:
            raise NotFoundError(f"teachers {missing} / roster {unknown} are not in tenant {self.tenant!r}; "
                                "add them first (PUT /v1/roster/teachers/{id}, /v1/roster/learners/{id})")
        cur = self.view.classes.get(class_id)
        base = ({k: rec.get(k) for k in ("model", "size_cap", "small_group_cap") if rec.get(k) is not None}
                if cur is not None else class_settings(self._roster_settings()["class_defaults"],
                                                       rec.get("course"), rec["grade"]) | {
                    k: rec[k] for k in ("model", "size_cap", "small_group_cap") if rec.get(k) is not None})
        fields = dict(name=rec["name"], grade=rec["grade"], teachers=tuple(rec["teachers"]),
                      roster=tuple(rec["roster"]))
        if "model" in base:
            fields["model"] = build_model(base, "body")
        fields.update({k: base[k] for k in ("size_cap", "small_group_cap") if k in base})
        new = dataclasses.replace(cur, **fields) if cur is not None else Class(class_id, **fields)
        with self.store.transaction():
            self.store.put_classes([new])
            self._audit(by, "write", "roster.class", resource_id=class_id, detail={"created": cur is None})
        self._invalidate()
        return {**self._class_detail(class_id), "created": cur is None}

    def delete_class(self, by: Caller, class_id: str) -> None:
        self.allow(by, "roster:write")
        self._class(class_id)
        with self.store.transaction():
            self.store.delete_class(class_id)
            self._audit(by, "delete", "roster.class", resource_id=class_id)
        self._invalidate()
