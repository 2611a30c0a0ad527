"""Use cases of progress and the living Personalized Learning Plan (PLP): the progress map of
the learner's grade, growth over time per skill, the PLP (profile with who wrote what, goals,
the path for the next weeks, progress, accommodations, self-ratings) and its
acknowledgements by the student, a guardian and a teacher — a part of ``SchoolApp``.

Results carry numbers (mastery in [0, 1], ISO times); the pages put them in plain words.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.access import Caller
from engine.app._admin import iso
from engine.errors import AccessDenied, ValidationError

ACK_KIND = "plp_ack"
ACK_ROLES = ("student", "guardian", "teacher")
PATH_SKILLS = 6  # skills on the path for the next weeks
PATH_ACTIVITIES = 3  # activities shown per skill on the path
GROWTH_SKILLS = 8  # skills with a growth chart (most recently worked on first)
GROWTH_POINTS = 40  # points per chart (the newest)


class PlpUseCases:
    # ---------------------------------------------------------------- progress map
    def _grade_skills(self, grade: str) -> list:
        skills = [s for s in self.view.skills.values() if s.grade == grade]
        return skills or list(self.view.skills.values())

    def _progress(self, learner_id: str) -> dict:
        learner = self._learner(learner_id)
        thr = self.view.policy.mastered_threshold
        states = self.engine.mastery(learner_id)
        graph = self.view.graph
        probs = {k: st.p_mastered for k, st in states.items()}
        ready = set(graph.ready_to_learn(probs, mastered=thr)) if graph is not None else set()
        rows = []
        for s in sorted(self._grade_skills(learner.grade), key=lambda s: (s.domain, s.code)):
            p = probs.get(s.id, 0.0)
            status = "mastered" if p >= thr else "ready" if s.id in ready else "next"
            unlocks = []
            if graph is not None and s.id in graph and status != "mastered":
                unlocks = [graph.skill(d).title for d in graph.dependents(s.id)][:3]
            st = states.get(s.id)
            rows.append({"skill_id": s.id, "code": s.code, "title": s.title, "domain": s.domain,
                         "status": status, "p_mastered": p, "n_observations": st.n_observations if st else 0,
                         "updated_at": iso(st.updated_at) if st else None, "unlocks": unlocks})
        counts = {k: sum(r["status"] == k for r in rows) for k in ("mastered", "ready", "next")}
        return {"learner_id": learner_id, "grade": learner.grade, "threshold": thr, "counts": counts,
                "skills": rows}

    def progress_map(self, by: Caller, learner_id: str) -> dict:
        """The skills of the learner's grade as mastered / ready / next, each with what it
        unlocks (``counts`` per status; ``threshold``: the tenant's)."""
        self.allow(by, "learner:read", learner_id=learner_id)
        out = self._progress(learner_id)
        self._read(by, "learner.progress", learner_id=learner_id)
        return out

    # ---------------------------------------------------------------- growth
    def _growth(self, learner_id: str) -> list[dict]:
        rows = self.engine.history(learner_id, None)
        by_skill: dict[str, list] = {}
        for c in rows:
            by_skill.setdefault(c.skill_id, []).append(c)
        order = sorted(by_skill, key=lambda k: by_skill[k][-1].at, reverse=True)[:GROWTH_SKILLS]
        out = []
        for k in order:
            changes = by_skill[k][-GROWTH_POINTS:]
            s = self.view.skills.get(k)
            points = [{"at": iso(changes[0].at), "p": changes[0].before}]
            points += [{"at": iso(c.at), "p": c.after} for c in changes]
            out.append({"skill_id": k, "title": getattr(s, "title", k), "code": getattr(s, "code", k),
                        "first": changes[0].before, "last": changes[-1].after, "points": points,
                        "last_at": iso(changes[-1].at)})
        return out

    def growth(self, by: Caller, learner_id: str) -> dict:
        """Mastery over time for the skills most recently worked on (``points``: at, p)."""
        self.allow(by, "learner:read", learner_id=learner_id)
        self._learner(learner_id)
        out = {"learner_id": learner_id, "skills": self._growth(learner_id)}
        self._read(by, "learner.growth", learner_id=learner_id)
        return out

    # ---------------------------------------------------------------- the PLP
    def _path(self, learner_id: str, progress: dict) -> list[dict]:
        """The next weeks: the current playlist's skills first, then ready skills (goal skills
        first), each with a few activities of the catalog that work on it."""
        learner = self._learner(learner_id)
        plan = self._student_plan(learner_id)
        goals = set(learner.profile.value("goal_skills")) | set(learner.profile.value("growth_areas"))
        order: list[str] = []
        for it in plan.items if plan else ():
            k = it.details.get("target_skill") or (it.skills[0] if it.skills else None)
            if k and k not in order:
                order.append(k)
        ready = [r["skill_id"] for r in progress["skills"] if r["status"] == "ready"]
        ready.sort(key=lambda k: (k not in goals,))
        order += [k for k in ready if k not in order]
        language = learner.language
        path = []
        for k in order[:PATH_SKILLS]:
            acts = [a for a in self.view.activities.values() if k in a.skill_ids and a.language == language]
            planned = [it.title for it in (plan.items if plan else ()) if k in it.skills]
            titles = planned + [a.title for a in sorted(acts, key=lambda a: a.title) if a.title not in planned]
            s = self.view.skills.get(k)
            path.append({"skill_id": k, "title": getattr(s, "title", k), "code": getattr(s, "code", k),
                         "in_plan": bool(planned), "is_goal": k in goals,
                         "activities": titles[:PATH_ACTIVITIES]})
        return path

    def plp(self, by: Caller, learner_id: str) -> dict:
        """The learner's living PLP (module doc); JSON-ready."""
        self.allow(by, "learner:read", learner_id=learner_id)
        learner = self._learner(learner_id)
        progress = self._progress(learner_id)
        prof = learner.profile
        cls = self._class_of(learner_id)
        out = {
            "learner_id": learner.id, "name": learner.name, "grade": learner.grade,
            "language": learner.language, "class": {"id": cls.id, "name": cls.name} if cls else None,
            "profile": self._profile_story(learner_id),
            "goals": {"mine": list(prof.value("goals")), "aspirations": list(prof.value("aspirations")),
                      "goal_skills": [self._skill_title(k) for k in sorted(prof.value("goal_skills"))]},
            "path": self._path(learner_id, progress),
            "progress": {"counts": progress["counts"], "threshold": progress["threshold"],
                         "growth": self._growth(learner_id)[:4]},
            "accommodations": sorted(getattr(a, "value", a) for a in prof.value("accommodations")),
            "self_reports": self._self_report_rows(learner_id)[:5],
            "acknowledgements": self._acks(learner_id),
            "generated_at": iso(datetime.now(UTC)),
        }
        self._read(by, "learner.plp", learner_id=learner_id)
        return out

    def _skill_title(self, k: str) -> str:
        return getattr(self.view.skills.get(k), "title", k)

    # ---------------------------------------------------------------- acknowledgements
    def _acks(self, learner_id: str) -> list[dict]:
        return [d.payload for d in self.store.list_documents(ACK_KIND, learner_id=learner_id)]

    def acknowledge_plp(self, by: Caller, learner_id: str, note: str = "") -> dict:
        """The caller (the student, a linked guardian or a teacher of the learner) acknowledges
        the PLP as it is now; one acknowledgement per person, the newest kept."""
        p = by.principal
        if p.role not in ACK_ROLES:
            raise AccessDenied(f"role {p.role!r} does not acknowledge a PLP; the student, a guardian "
                               "or a teacher does")
        self.allow(by, "learner:read", learner_id=learner_id)
        self._learner(learner_id)
        note = (note or "").strip()
        if len(note) > 280:
            raise ValidationError(f"note has {len(note)} characters; keep it under 280")
        doc_id = f"{learner_id}:{p.role}:{p.subject}"
        payload = {"learner_id": learner_id, "role": p.role, "who": p.subject, "name": p.name or p.subject,
                   "note": note, "at": iso(datetime.now(UTC))}
        with self.store.transaction():
            self.store.put_document(ACK_KIND, doc_id, payload)
            self._audit(by, "write", "learner.plp_ack", learner_id=learner_id, resource_id=doc_id)
        return payload
