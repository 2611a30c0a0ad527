"""LTI Advantage services as use cases (a part of ``SchoolApp`` through
:class:`engine.lti.usecases.LtiUseCases`): courses (``lti_context``), LMS people
(``lti_person``), NRPS roster sync and AGS grade passback.

Roster sync writes through the roster use cases of ``SchoolApp`` (``put_teacher``,
``put_learner``, ``put_class``, the same validation and audit as the roster API) as the
platform itself (an admin caller ``lti:<platform id>``): the platform was registered by an
admin, and its memberships are authenticated by its token endpoint. A member already linked
(same platform and LMS user id) or whose email is an identity link of the same role keeps their
Pathwise person; anyone else gets a new learner/teacher id ``lti-<10 hex>``. Inactive or
deleted members leave the class roster (their data stays, as for any departure).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx

from engine.access import Caller, Principal
from engine.domain.classes import MAX_CLASS_SIZE
from engine.errors import NotFoundError, ValidationError
from engine.lti import grades, messages
from engine.lti.errors import LmsServiceError
from engine.lti.registration import Platform
from engine.lti.services import SCOPE_LINEITEM, SCOPE_NRPS, SCOPE_SCORE, LmsClient

PERSON_KIND = "lti_person"
CONTEXT_KIND = "lti_context"
SCHEDULE_KIND = "lti_schedule"  # doc "grades": when the last scheduled grade pass started


def _hid(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


class AdvantageUseCases:
    # ---------------------------------------------------------------- people and courses
    def put_lti_person(self, platform: Platform, sub: str, role: str, person_id: str) -> None:
        self.store.put_document(PERSON_KIND, f"{platform.id}:{sub}", {
            "platform_id": platform.id, "sub": sub, "role": role, "person_id": person_id,
            "learner_id": person_id if role == "student" else None})

    def _context_doc(self, platform_id: str, context_id: str) -> dict | None:
        try:
            return dict(self.store.get_document(CONTEXT_KIND, f"{platform_id}:{context_id}").payload)
        except NotFoundError:
            return None

    def _remember_context(self, launch: messages.Launch) -> str | None:
        """Keep the course's title and latest service endpoints; its class id (or None)."""
        rec = self._context_doc(launch.platform_id, launch.context_id) or {
            "platform_id": launch.platform_id, "context_id": launch.context_id, "class_id": None,
            "placed_skills": []}
        new = {**rec, "title": launch.context_title or rec.get("title") or launch.context_id,
               "deployment_id": launch.deployment_id,
               "lineitems_url": launch.ags.get("lineitems") or rec.get("lineitems_url"),
               "ags_scopes": list(launch.ags.get("scope") or rec.get("ags_scopes") or []),
               "nrps_url": launch.nrps_url or rec.get("nrps_url")}
        if new != rec:
            self.store.put_document(CONTEXT_KIND, f"{launch.platform_id}:{launch.context_id}", new)
        return new["class_id"]

    def _place_skill(self, platform: Platform, context_id: str, skill_id: str) -> None:
        rec = self._context_doc(platform.id, context_id)
        if rec is not None and skill_id not in rec["placed_skills"]:
            rec["placed_skills"] = [*rec["placed_skills"], skill_id]
            self.store.put_document(CONTEXT_KIND, f"{platform.id}:{context_id}", rec)

    def lti_courses(self, by: Caller) -> list[dict]:
        """The LMS courses Pathwise has seen, with their class and service endpoints (admin)."""
        self.allow(by, "keys:admin")
        return self._all_courses()

    def _courses_of(self, class_id: str) -> list[dict]:
        return [d.payload for d in self.store.list_documents(CONTEXT_KIND, class_id=class_id)]

    # ---------------------------------------------------------------- NRPS roster sync
    def lti_sync(self, by: Caller, class_id: str, *, http: httpx.Client | None = None) -> dict:
        """Sync the class's roster from every LMS course linked to it (admin)."""
        self.allow(by, "roster:write")
        courses = self._courses_of(class_id)
        if not courses:
            raise NotFoundError(f"class {class_id!r} is not linked to an LMS course; launch Pathwise "
                                "from the course first")
        reports = [self._sync_report(self._platform(c["platform_id"]), c["context_id"], http)
                   for c in courses]
        return {"class_id": class_id, "courses": reports}

    def _sync_context(self, platform: Platform, context_id: str, *, http: httpx.Client | None = None) -> str:
        return self._sync_report(platform, context_id, http)["class_id"]

    def _sync_report(self, platform: Platform, context_id: str, http: httpx.Client | None) -> dict:
        rec = self._context_doc(platform.id, context_id)
        if rec is None or not rec.get("nrps_url"):
            raise LmsServiceError(f"course {context_id!r} of {platform.issuer!r} offers no roster service "
                                  "(NRPS) in its launches")
        with LmsClient(platform, self.tool_keys().sign, [SCOPE_NRPS], http) as lms:
            context, members = lms.members(rec["nrps_url"])
        by = Caller(Principal(self.tenant, "admin", f"lti:{platform.id}", name=f"LTI {platform.issuer}"),
                    via="lti")
        active = [(m, role) for m in members if m.get("user_id") and m.get("status", "Active") == "Active"
                  and (role := messages.pathwise_role(m.get("roles"))) in ("teacher", "student")]
        n_learners = len({str(m["user_id"]) for m, role in active if role == "student"})
        if not any(role == "teacher" for _, role in active):  # checked before any write
            raise LmsServiceError(f"course {context_id!r} has no active instructor; Pathwise classes "
                                  "need at least one teacher")
        if n_learners > MAX_CLASS_SIZE:
            raise LmsServiceError(f"course {context_id!r} has {n_learners} active learners; a Pathwise "
                                  f"class holds at most {MAX_CLASS_SIZE}: split the course into sections")
        try:
            return self._apply_members(by, platform, rec, context, context_id, active)
        except BaseException:
            self._invalidate()  # the cached school may hold what was rolled back
            raise

    def _apply_members(self, by: Caller, platform: Platform, rec: dict, context: dict, context_id: str,
                       active: list) -> dict:
        with self.store.transaction():  # the whole course or nothing: no half-synced class
            teachers, learners, created = [], [], 0
            for m, role in active:
                person, new = self._member_person(by, platform, m, role, rec["class_id"] or "",
                                                  platform.default_grade)
                created += new
                (teachers if role == "teacher" else learners).append(person)
            class_id = rec["class_id"] or f"lti-{_hid(platform.id, context_id)}"
            title = str(context.get("title") or rec.get("title") or context_id)
            cur = self.view.classes.get(class_id)
            self.put_class(by, class_id, {"name": cur.name if cur else title,
                                          "grade": cur.grade if cur else platform.default_grade,
                                          "teachers": list(dict.fromkeys(teachers)),
                                          "roster": list(dict.fromkeys(learners))})
            if rec["class_id"] != class_id:
                self.store.put_document(CONTEXT_KIND, f"{platform.id}:{context_id}",
                                        {**rec, "class_id": class_id})
        return {"context_id": context_id, "class_id": class_id, "teachers": len(set(teachers)),
                "learners": len(set(learners)), "people_created": created}

    def _member_person(self, by: Caller, platform: Platform, m: dict, role: str, class_id: str,
                       grade: str) -> tuple[str, int]:
        """The person id of an NRPS member (linked, matched by email, or created) and 1 when new."""
        sub = str(m["user_id"])
        name = (str(m.get("name") or "").strip()
                or " ".join(str(x).strip() for x in (m.get("given_name"), m.get("family_name"))
                            if x and str(x).strip())
                or sub)
        found = self._lti_person(platform, sub)
        if found is None and "@" in str(m.get("email") or ""):
            link = self.find_identity("email", str(m["email"]))
            found = (link.role, link.person_id) if link is not None and link.role == role else None
        new = 0
        if found is None:
            person_id = f"lti-{_hid(platform.id, sub)}"
            if role == "teacher":
                self.put_teacher(by, person_id, name=name)
            elif person_id not in self.view.learners:
                self.put_learner(by, person_id, name=name, grade=grade)
            new = 1
            found = (role, person_id)
        if self._lti_person(platform, sub) is None:
            self.put_lti_person(platform, sub, found[0], found[1])
        return found[1], new

    # ---------------------------------------------------------------- AGS grade passback
    def lti_post_grades(self, by: Caller, class_id: str, *, http: httpx.Client | None = None) -> dict:
        """Post every learner's progress and mastery (and placed skills) of ``class_id`` to the
        gradebooks of its LMS courses (the class's teachers or an admin). Line items Pathwise
        needs are created once (found again by ``resourceId``)."""
        self.allow(by, "class:read", class_id=class_id)
        cls = self._class(class_id)
        courses = [c for c in self._courses_of(class_id) if c.get("lineitems_url")]
        if not courses:
            raise NotFoundError(f"class {class_id!r} has no LMS gradebook: launch Pathwise from a course "
                                "with grade services first")
        threshold = self.view.policy.mastered_threshold
        scope = self._grade_scope(cls)
        mastery = {lid: {k: st.p_mastered for k, st in self.engine.mastery(lid).items()} for lid in cls.roster}
        out = []
        for course in courses:
            platform = self._platform(course["platform_id"])
            with LmsClient(platform, self.tool_keys().sign, [SCOPE_LINEITEM, SCOPE_SCORE], http) as lms:
                out.append(self._post_course(lms, platform, course, cls, mastery, scope, threshold))
        self._audit(by, "export", "lti_grades", resource_id=class_id,
                    detail={"scores": sum(c["scores_posted"] for c in out)})
        return {"class_id": class_id, "courses": out}

    def lti_post_all_grades(self, by: Caller, *, min_interval_s: float = 0.0,
                            http: httpx.Client | None = None) -> dict:
        """Post grades for every class linked to an LMS gradebook (admin), as
        :meth:`lti_post_grades` does for one. A class whose LMS fails is reported with its
        error and the others still post. With ``min_interval_s`` (seconds) the pass is skipped
        when one started less than that long ago in any process (the service's schedule runs in
        every worker; the store keeps when the last pass started)."""
        self.allow(by, "keys:admin")
        now = datetime.now(UTC)
        with self.store.transaction():
            try:
                last = datetime.fromisoformat(self.store.get_document(SCHEDULE_KIND, "grades").payload["at"])
            except NotFoundError:
                last = None
            if min_interval_s > 0 and last is not None and (now - last).total_seconds() < min_interval_s:
                return {"skipped": True, "last_pass_at": last.isoformat(), "classes": [], "failed": 0}
            self.store.put_document(SCHEDULE_KIND, "grades", {"at": now.isoformat()})
        class_ids = sorted({c["class_id"] for c in self._all_courses()
                            if c.get("class_id") and c.get("lineitems_url")})
        out = []
        for class_id in class_ids:
            try:
                out.append(self.lti_post_grades(by, class_id, http=http))
            except (LmsServiceError, NotFoundError, ValidationError) as exc:
                out.append({"class_id": class_id, "error": str(exc)})
        return {"skipped": False, "classes": out, "failed": sum("error" in c for c in out)}

    def _all_courses(self) -> list[dict]:
        return [d.payload for d in self.store.list_documents(CONTEXT_KIND)]

    def _grade_scope(self, cls: Any) -> list[str]:
        """The course's skills: the skills of the class's grade, else every skill the class has
        evidence on."""
        by_grade = sorted(s.id for s in self.view.skills.values() if getattr(s, "grade", "") == cls.grade)
        if by_grade:
            return by_grade
        return sorted({k for lid in cls.roster for k in self.engine.mastery(lid)})

    def _post_course(self, lms: LmsClient, platform: Platform, course: dict, cls: Any, mastery: dict,
                     scope: list[str], threshold: float) -> dict:
        wanted = grades.course_line_items(course.get("title") or cls.name, course.get("placed_skills") or [])
        have = {i.get("resourceId"): i for i in lms.line_items(course["lineitems_url"])}
        created = 0
        for item in wanted:
            if item["resourceId"] not in have:
                have[item["resourceId"]] = lms.create_line_item(course["lineitems_url"], item)
                created += 1
        subs = {d.payload["person_id"]: d.payload["sub"]
                for d in self.store.list_documents(PERSON_KIND) if d.payload["platform_id"] == platform.id}
        posted, skipped = 0, 0
        for lid in cls.roster:
            if lid not in subs:
                skipped += 1
                continue
            scores = grades.learner_scores(mastery[lid], scope, threshold, course.get("placed_skills") or [])
            for resource, (given, activity) in scores.items():
                if not have[resource].get("id"):
                    raise ValidationError(f"the platform returned line item {resource!r} without an id")
                lms.post_score(have[resource]["id"], grades.score_body(subs[lid], given, activity))
                posted += 1
        return {"context_id": course["context_id"], "line_items_created": created, "scores_posted": posted,
                "learners_without_lms_account": skipped}
