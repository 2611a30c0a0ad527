"""Use cases of the profile's owners and the family: writing the profile fields one owns
(:data:`engine.domain.learners.FIELD_OWNERS`), the profile's story (who wrote what, when),
a guardian's children, the guardian's weekly summary and their notes — a part of
``SchoolApp``.

Ownership: a student writes the fields a student owns on their own profile, a guardian the
guardian's fields of a linked child, a teacher the teacher's fields of a learner in their
classes; an admin writes any field on behalf of its owner (``on_behalf``). Every change keeps
who (role and name) and when, and the superseded value in the profile's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.access import Caller
from engine.app._admin import iso
from engine.domain.learners import FIELD_OWNERS, Actor, check_may_write
from engine.errors import ValidationError

ROLE_ACTOR = {"student": Actor.STUDENT, "guardian": Actor.PARENT, "teacher": Actor.TEACHER}
STORY_FIELDS = ("interests", "aspirations", "how_i_learn", "goals", "strengths", "growth_areas",
                "accommodations", "family_notes", "home_availability", "preferred_formats")
SKILL_FIELDS = ("strengths", "growth_areas")  # skill ids, shown by title
SUMMARY_DAYS = 7


def _plain(v: Any) -> Any:
    if isinstance(v, frozenset | set | tuple | list):
        return sorted(_plain(x) for x in v) if isinstance(v, frozenset | set) else [_plain(x) for x in v]
    return getattr(v, "value", v)


class FamilyUseCases:
    # ---------------------------------------------------------------- writing one's own fields
    def write_profile(self, by: Caller, learner_id: str, fields: Mapping[str, Any], *,
                      on_behalf: str | None = None) -> dict:
        """Set profile fields the caller owns (module doc); returns the profile story."""
        p = by.principal
        self.allow(by, "profile:write", learner_id=learner_id)
        if not fields:
            raise ValidationError("fields: give at least one field to set")
        if p.role == "admin":
            if on_behalf not in ("student", "parent", "teacher"):
                raise ValidationError(f"on_behalf={on_behalf!r}: an admin writes on behalf of the "
                                      "student, parent or teacher who owns the field")
            actor = Actor(on_behalf)
        else:
            actor = ROLE_ACTOR[p.role]
        check_may_write(actor, fields)
        learner = self._learner(learner_id)
        prof = learner.profile
        now = datetime.now(UTC)
        author = p.name or p.subject or p.role
        for name, value in fields.items():
            try:
                prof = prof.with_field(name, value, actor, max(now, getattr(prof, name).set_at), author)
            except ValidationError as exc:
                raise ValidationError(f"fields.{name}: {exc}") from None
        with self.store.transaction():
            self.store.put_profile(learner_id, prof)
            self._audit(by, "write", "learner.profile", learner_id=learner_id,
                        detail={"fields": sorted(fields), "set_by": actor.value})
        self._invalidate()
        return {"learner_id": learner_id, "fields": self._profile_story(learner_id)}

    def add_family_note(self, by: Caller, learner_id: str, text: str) -> dict:
        """A guardian adds one note to the child's profile (kept with who and when)."""
        text = (text or "").strip()
        if not text:
            raise ValidationError("text: write the note (it is empty)")
        self.allow(by, "profile:write", learner_id=learner_id)
        notes = list(self._learner(learner_id).profile.value("family_notes"))
        return self.write_profile(by, learner_id, {"family_notes": [*notes, text]},
                                  on_behalf="parent" if by.principal.role == "admin" else None)

    # ---------------------------------------------------------------- the story
    def _profile_story(self, learner_id: str) -> list[dict]:
        """Each shown field: value, owner, who set it (role, name) and when; notes one by one
        with their own author (from the history: a note's author is whoever added it)."""
        prof = self._learner(learner_id).profile
        out = []
        for name in STORY_FIELDS:
            cur = getattr(prof, name)
            value = _plain(cur.value)
            if name in SKILL_FIELDS:
                value = [self._skill_title(k) for k in value]
            entry = {"field": name, "owner": FIELD_OWNERS[name].value, "value": value,
                     "set_by": cur.set_by.value, "author": cur.author,
                     "set_at": iso(cur.set_at) if cur.set_at.year > 1970 else None}
            if name in ("family_notes", "goals"):
                entry["entries"] = self._entries(prof, name)
            out.append(entry)
        return out

    @staticmethod
    def _entries(prof, name: str) -> list[dict]:
        seen: set[str] = set()
        who: dict[str, dict] = {}
        for ch in prof.audit(name):
            for text in ch.previous.value:
                if text not in seen:
                    seen.add(text)
                    who[text] = {"text": text, "set_by": ch.previous.set_by.value,
                                 "author": ch.previous.author, "set_at": iso(ch.previous.set_at)}
        return [who[t] for t in prof.value(name)]

    def profile_story(self, by: Caller, learner_id: str) -> dict:
        self.allow(by, "learner:read", learner_id=learner_id)
        out = {"learner_id": learner_id, "fields": self._profile_story(learner_id)}
        self._read(by, "learner.profile", learner_id=learner_id)
        return out

    # ---------------------------------------------------------------- the guardian
    def my_children(self, by: Caller) -> list[dict]:
        """The learners a guardian is linked to (a student: themselves)."""
        scope = self.scope(by)
        ids = sorted(scope.learner_ids) if scope is not None else []
        out = [{"id": lid, "name": self.view.learners[lid].name, "grade": self.view.learners[lid].grade}
               for lid in ids if lid in self.view.learners]
        self._read(by, "learner.list", detail={"n": len(out)})
        return out

    def weekly_summary(self, by: Caller, learner_id: str, *, now: datetime | None = None) -> dict:
        """A week of the learner in facts the guardian page words: the skills worked on with
        mastery before and after, what is next (the current plan and ready skills), the
        teacher's notes (strengths, areas of growth), the child's goals and the family notes.
        The week ends now, or at the learner's latest evidence when nothing happened this
        week (``quiet_week``)."""
        self.allow(by, "learner:read", learner_id=learner_id)
        learner = self._learner(learner_id)
        rows = self.engine.history(learner_id, None)
        now = now or datetime.now(UTC)
        end = now
        if rows and rows[-1].at < now - timedelta(days=SUMMARY_DAYS):
            end = rows[-1].at
        start = end - timedelta(days=SUMMARY_DAYS)
        week: dict[str, dict] = {}
        for c in rows:
            if start < c.at <= end:
                w = week.setdefault(c.skill_id, {"skill_id": c.skill_id, "title": self._skill_title(c.skill_id),
                                                 "before": c.before, "after": c.after, "n": 0})
                w["after"], w["n"] = c.after, w["n"] + 1
        progress = self._progress(learner_id)
        plan = self._student_plan(learner_id)
        prof = learner.profile
        story = {e["field"]: e for e in self._profile_story(learner_id)}
        out = {
            "learner_id": learner_id, "name": learner.name, "grade": learner.grade,
            "from": iso(start), "to": iso(end), "quiet_week": end != now,
            "worked_on": sorted(week.values(), key=lambda w: -(w["after"] - w["before"])),
            "threshold": progress["threshold"], "counts": progress["counts"],
            "next": {"plan": [{"title": i.title, "minutes": i.minutes} for i in (plan.items if plan else ())],
                     "ready": [r["title"] for r in progress["skills"] if r["status"] == "ready"][:3]},
            "teacher_notes": {"strengths": [self._skill_title(k) for k in sorted(prof.value("strengths"))],
                              "growth_areas": [self._skill_title(k) for k in sorted(prof.value("growth_areas"))],
                              "author": story["strengths"]["author"] or story["growth_areas"]["author"]},
            "goals": story["goals"]["entries"], "aspirations": list(prof.value("aspirations")),
            "family_notes": story["family_notes"]["entries"],
            "home_availability": list(prof.value("home_availability")),
        }
        self._read(by, "learner.weekly_summary", learner_id=learner_id)
        return out
