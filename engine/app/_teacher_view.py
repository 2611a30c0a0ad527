"""Use cases of the teacher's class overview — a part of ``SchoolApp``: the class x skill
heatmap, "who needs me today", small groups formed from it, growth over time per learner,
and the activity search of the "add activity" picker.

Results carry numbers (mastery in [0, 1], ISO times, counts); the teacher pages put them in
plain words (``service.web.teacher_words``).

"Who needs me today" reads each learner's mastery history (one row per skill per answer,
``before``/``after``: P(mastered) around it; an answer that lowers mastery is a wrong answer,
the model guarantees it — ``engine.fitting.check_activatable``). A session is a day with
answers. In this order, a learner is:

- ``struggling``: at least :data:`WRONG_MIN` of their last :data:`RECENT` answers were wrong,
  or in their last session a skill's mastery fell by :data:`FALL` or more to below
  :data:`LOW`;
- ``stalled``: at least :data:`STALL_SESSIONS` sessions, and over the last
  :data:`STALL_SESSIONS` no skill rose by :data:`GAIN` or more and none became mastered, and
  not every skill they worked on is mastered;
- ``ready``: the skill they worked on last (or their playlist's first target) is mastered;
- ``not_started``: no answers yet;
- otherwise on track (not listed).

The student's voice for the teacher: the learner page carries the learner's recent "how did
it go?" ratings, the picks they made on choice boards (what was offered, what they chose,
when) and the profile fields the student and family wrote (who and when); the class page
says per card how many picks and ratings came since the card's playlist was made, and the
class's and learners' "students choose" switches.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from engine.access import Caller
from engine.app._admin import iso
from engine.app._student import CHOICE_KIND
from engine.errors import NotFoundError, ValidationError

GROUP_KIND = "small_group"
RECENT = 8  # answers looked at for "struggling"
WRONG_MIN = 5  # wrong answers among them
FALL = 0.3  # a fall of mastery in the last session that counts as struggling ...
LOW = 0.5  # ... when it ends below this
STALL_SESSIONS = 3
GAIN = 0.05
GROWTH_POINTS = 24  # points of a learner's growth line
SEARCH_LIMIT = 20
CATEGORIES = ("struggling", "stalled", "ready", "not_started")
VOICE_RECENT = 8  # ratings and picks shown on the learner page
VOICE_OWNERS = ("student", "parent")  # profile fields shown as the student's and family's words


def _sessions(rows) -> list:
    """Distinct days (UTC dates) of history rows, oldest first."""
    return sorted({r.at.astimezone(UTC).date() for r in rows})


def _struggling(rows, thr: float) -> dict | None:
    recent = rows[-RECENT:]
    wrong = [r for r in recent if r.after < r.before - 1e-9]
    day = _sessions(rows)[-1]
    window = [r for r in rows if r.at.astimezone(UTC).date() == day]
    fell: dict | None = None
    first: dict = {}
    for r in window:
        first.setdefault(r.skill_id, r.before)
    last = {r.skill_id: r.after for r in window}
    for k, p0 in first.items():
        drop = p0 - last[k]
        if drop >= FALL and last[k] < LOW and (fell is None or drop > fell["drop"]):
            fell = {"skill_id": k, "from": p0, "to": last[k], "drop": drop}
    if len(wrong) < WRONG_MIN and fell is None:
        return None
    counts: dict[str, int] = {}
    for r in wrong:
        counts[r.skill_id] = counts.get(r.skill_id, 0) + 1
    skill = fell["skill_id"] if fell else max(counts, key=counts.get)
    return {"category": "struggling", "skill_id": skill, "wrong": len(wrong), "answers": len(recent),
            "fell": fell, "last_at": iso(rows[-1].at)}


def _stalled(rows, thr: float) -> dict | None:
    days = _sessions(rows)
    if len(days) < STALL_SESSIONS:
        return None
    since = days[-STALL_SESSIONS]
    window = [r for r in rows if r.at.astimezone(UTC).date() >= since]
    first: dict = {}
    for r in window:
        first.setdefault(r.skill_id, r.before)
    last = {r.skill_id: r.after for r in window}
    if any(last[k] - p0 >= GAIN or (last[k] >= thr > p0) for k, p0 in first.items()):
        return None
    if all(p >= thr for p in last.values()):  # holding mastered skills is not being stuck
        return None
    skill = window[-1].skill_id
    return {"category": "stalled", "skill_id": skill, "sessions": STALL_SESSIONS, "p": last[skill],
            "last_at": iso(rows[-1].at)}


class TeacherViewUseCases:
    # ---------------------------------------------------------------- heatmap and growth
    def _class_skills(self, cls, mastery: dict) -> list:
        """The skills of the class's grade; for a grade without skills in the graph, the skills
        its learners have answers on."""
        skills = [s for s in self.view.skills.values() if s.grade == cls.grade]
        if not skills:
            seen = {k for m in mastery.values() for k in m}
            skills = [s for k, s in self.view.skills.items() if k in seen]
        return sorted(skills, key=lambda s: (s.domain, s.code))

    def _heatmap(self, cls, histories: dict) -> dict:
        mastery = self.store.get_mastery_many(cls.roster)
        skills = self._class_skills(cls, mastery)
        rows = []
        for lid in cls.roster:
            m = mastery.get(lid, {})
            cells = []
            for s in skills:
                st = m.get(s.id)
                cells.append({"p": st.p_mastered if st else None, "n": st.n_observations if st else 0,
                              "at": iso(st.updated_at) if st else None})
            learner = self.view.learners.get(lid)
            rows.append({"learner_id": lid, "name": learner.name if learner else lid, "cells": cells,
                         "growth": _growth_line([s.id for s in skills], histories.get(lid, []))})
        return {"skills": [{"id": s.id, "code": s.code, "title": s.title, "domain": s.domain} for s in skills],
                "rows": rows, "threshold": self.view.policy.mastered_threshold}

    def class_heatmap(self, by: Caller, class_id: str) -> dict:
        """Learners x the skills of the class's grade: per cell ``p`` (None: no answers),
        ``n`` answers and ``at`` (last change); per learner a ``growth`` line (mean mastery of
        the grade's skills after each session, at most :data:`GROWTH_POINTS` points)."""
        self.allow(by, "class:read", class_id=class_id)
        cls = self._class(class_id)
        out = self._heatmap(cls, {lid: self.store.list_history(lid) for lid in cls.roster})
        self._read(by, "class.heatmap", resource_id=class_id)
        return out

    # ---------------------------------------------------------------- who needs me today
    def _needs(self, cls, histories: dict) -> dict:
        thr = self.view.policy.mastered_threshold
        out: dict[str, list] = {k: [] for k in CATEGORIES}
        for lid in cls.roster:
            learner = self.view.learners.get(lid)
            rows = histories.get(lid, [])
            if not rows:
                item = {"category": "not_started"}
            else:
                item = _struggling(rows, thr) or _stalled(rows, thr) or self._ready_to_move(lid, rows, thr)
            if item is None:
                continue
            if item.get("skill_id"):
                item["skill_title"] = getattr(self.view.skills.get(item["skill_id"]), "title", item["skill_id"])
            out[item["category"]].append({"learner_id": lid, "name": learner.name if learner else lid, **item})
        return out

    def _ready_to_move(self, lid: str, rows, thr: float) -> dict | None:
        current, _pending = self._playlist_pair(lid)
        skill = None
        if current is not None and current.status not in ("rejected", "done") and current.items:
            skill = current.items[0].details.get("target_skill")
        skill = skill or rows[-1].skill_id
        st = self.engine.mastery(lid).get(skill)
        if st is None or st.p_mastered < thr:
            return None
        nxt = None
        graph = self.view.graph
        if graph is not None and skill in graph:
            probs = {k: s.p_mastered for k, s in self.engine.mastery(lid).items() if k in graph}
            ready = [k for k in graph.ready_to_learn(probs, mastered=thr)]
            after = [k for k in ready if k in graph.dependents(skill)] or ready
            nxt = after[0] if after else None
        return {"category": "ready", "skill_id": skill, "p": st.p_mastered, "last_at": iso(st.updated_at),
                "next_skill_id": nxt, "next_title": getattr(self.view.skills.get(nxt), "title", None)}

    def who_needs_me(self, by: Caller, class_id: str) -> dict:
        """Learners of the class by category (module doc), each with the facts of its
        reason: ``skill_id``/``skill_title``, and ``wrong``/``answers``/``fell`` (struggling),
        ``sessions``/``p`` (stalled), ``p``/``next_skill_id``/``next_title`` (ready),
        ``last_at``."""
        self.allow(by, "class:read", class_id=class_id)
        cls = self._class(class_id)
        out = self._needs(cls, {lid: self.store.list_history(lid) for lid in cls.roster})
        self._read(by, "class.needs", resource_id=class_id)
        return out

    def classes_overview(self, by: Caller) -> list[dict]:
        """:meth:`classes` with, per class, how many learners are in each "who needs me"
        category (``needs``: category -> count)."""
        out = self.classes(by)
        for c in out:
            cls = self._class(c["id"])
            needs = self._needs(cls, {lid: self.store.list_history(lid) for lid in cls.roster})
            c["needs"] = {k: len(v) for k, v in needs.items()}
        return out

    # ---------------------------------------------------------------- small groups
    def _groups(self, class_id: str) -> list[dict]:
        docs = self.store.list_documents(GROUP_KIND, class_id=class_id, newest_first=True)
        return [d.payload for d in docs if d.payload.get("status") == "open"]

    def class_groups(self, by: Caller, class_id: str) -> list[dict]:
        """The class's open small groups, newest first."""
        self.allow(by, "class:read", class_id=class_id)
        self._class(class_id)
        out = self._groups(class_id)
        self._read(by, "class.groups", resource_id=class_id)
        return out

    def form_group(self, by: Caller, class_id: str, skill_id: str, learner_ids: Sequence[str],
                   reason: str = "") -> dict:
        """Record a small group of learners of the class to work on ``skill_id`` with the
        teacher (``reason``: the "who needs me" category it came from, or free text up to 200
        characters). Audited; shown on the class page until closed."""
        self.allow(by, "plan:review", class_id=class_id)
        cls = self._class(class_id)
        ids = list(dict.fromkeys(learner_ids))
        if not ids:
            raise ValidationError("learner_ids: choose at least one learner for the group")
        outside = [lid for lid in ids if lid not in cls.roster]
        if outside:
            raise ValidationError(f"learner_ids: {outside} are not on class {class_id!r}'s roster")
        if skill_id not in self.view.skills:
            raise NotFoundError(f"skill_id: {skill_id!r} is not in the competency graph; pick one of the "
                                "class's skills")
        reason = (reason or "").strip()
        if len(reason) > 200:
            raise ValidationError(f"reason: {len(reason)} characters; keep it under 200")
        group_id = "g-" + uuid.uuid4().hex[:12]
        payload = {"group_id": group_id, "class_id": class_id, "skill_id": skill_id,
                   "skill_title": self.view.skills[skill_id].title, "learner_ids": ids,
                   "names": [getattr(self.view.learners.get(lid), "name", lid) for lid in ids],
                   "reason": reason, "status": "open", "created_by": by.principal.name or by.principal.subject,
                   "created_at": iso(datetime.now(UTC))}
        with self.store.transaction():
            self.store.put_document(GROUP_KIND, group_id, payload, expected_version=0)
            self._audit(by, "write", "class.group", resource_id=group_id,
                        detail={"class_id": class_id, "skill_id": skill_id, "learners": len(ids)})
        return payload

    def close_group(self, by: Caller, class_id: str, group_id: str) -> dict:
        """Mark a small group done (kept, no longer shown). Audited."""
        self.allow(by, "plan:review", class_id=class_id)
        try:
            doc = self.store.get_document(GROUP_KIND, group_id)
        except NotFoundError:
            raise NotFoundError(f"group {group_id!r} is not a group of class {class_id!r}") from None
        if doc.payload.get("class_id") != class_id:
            raise NotFoundError(f"group {group_id!r} is not a group of class {class_id!r}")
        payload = {**doc.payload, "status": "done", "closed_at": iso(datetime.now(UTC))}
        with self.store.transaction():
            self.store.put_document(GROUP_KIND, group_id, payload, expected_version=doc.version)
            self._audit(by, "write", "class.group", resource_id=group_id, detail={"op": "close"})
        return payload

    # ---------------------------------------------------------------- the class page
    def class_page(self, by: Caller, class_id: str) -> dict:
        """Everything the teacher's class page shows, read once: :meth:`class_overview`
        (without the catalog), the heatmap, who needs me today and the open small groups."""
        out = self.class_overview(by, class_id)
        cls = self._class(class_id)
        histories = {lid: self.store.list_history(lid) for lid in cls.roster}
        out.update(heatmap=self._heatmap(cls, histories), needs=self._needs(cls, histories),
                   groups=self._groups(class_id), choice=self._choice_switches(class_id, cls.roster))
        for card in out["cards"]:
            card["voice"] = self._voice_since(card["id"], card["plan"])
        return out

    def learner_page(self, by: Caller, learner_id: str, *, why_not: str | None = None) -> dict:
        """The teacher's learner page: :meth:`learner_overview` (without the catalog) plus
        the learner's language, accommodations, pace and growth per skill."""
        out = self.learner_overview(by, learner_id, why_not=why_not)
        out.pop("choices", None)
        learner = self._learner(learner_id)
        prof = learner.profile
        out.update(language=learner.language, pace=float(prof.value("pace")),
                   accommodations=sorted(getattr(a, "value", a) for a in prof.value("accommodations")),
                   growth=self._growth(learner_id), voice=self._voice(learner_id),
                   choice={"enabled": self.choice_enabled(learner_id),
                           "own": self._switch(f"learner:{learner_id}")})
        return out

    # ---------------------------------------------------------------- the student's voice
    def _switch(self, doc_id: str) -> bool | None:
        """A stored "students choose" switch (``class:<id>`` or ``learner:<id>``), None if unset."""
        try:
            return bool(self.store.get_document(CHOICE_KIND, doc_id).payload["enabled"])
        except NotFoundError:
            return None

    def _choice_switches(self, class_id: str, roster: Sequence[str]) -> dict:
        """``{"class": on (default on), "learners": {learner id: on}}`` (learners with their own
        switch only; a learner's switch wins over the class's)."""
        own = {lid: self._switch(f"learner:{lid}") for lid in roster}
        cls_on = self._switch(f"class:{class_id}")
        return {"class": True if cls_on is None else cls_on,
                "learners": {lid: v for lid, v in own.items() if v is not None}}

    def _voice_since(self, learner_id: str, plan) -> dict | None:
        """Picks on the card's playlist and ratings given since it was made: ``{"chose": n,
        "rated": n, "last_rating": 1..4 or None}``; None without a playlist or news."""
        if plan is None:
            return None
        chose = len(plan.body.get("choices", []))
        rated = [r for r in self._self_report_rows(learner_id)
                 if datetime.fromisoformat(r["at"]).timestamp() >= plan.created_at]
        if not chose and not rated:
            return None
        return {"chose": chose, "rated": len(rated), "last_rating": rated[0]["rating"] if rated else None}

    def _title(self, activity_id: str) -> str:
        return getattr(self.view.activities.get(activity_id), "title", activity_id)

    def _voice(self, learner_id: str) -> dict:
        """The learner's voice, newest first: ``ratings`` (rating 1..4, sentence, title, at),
        ``picks`` (chosen and the other offered titles, ``how`` in words, at) from their
        playlists, and ``story``: the profile fields the student or family own with value,
        who set them (role, name) and when (notes and goals one by one)."""
        from planner.choices import how_words

        picks = []
        for plan in self._plans(learner_id=learner_id, kind="playlist"):
            for c in plan.body.get("choices", []):
                picks.append({"at": c.get("at"), "chosen": self._title(c["chosen"]), "how": how_words(c.get("how", "")),
                              "others": [self._title(a) for a in c.get("offered", []) if a != c["chosen"]]})
            if len(picks) >= VOICE_RECENT:
                break
        picks.sort(key=lambda c: c["at"] or "", reverse=True)
        story = [e for e in self._profile_story(learner_id) if e["owner"] in VOICE_OWNERS]
        ratings = sorted(self._self_report_rows(learner_id), key=lambda r: r["at"], reverse=True)
        return {"ratings": ratings[:VOICE_RECENT], "picks": picks[:VOICE_RECENT],
                "story": story}

    # ---------------------------------------------------------------- activity search
    def search_activities(self, by: Caller, query: str, *, learner_id: str | None = None,
                          limit: int = SEARCH_LIMIT) -> list[dict]:
        """Activities whose title, id or skill code contains every word of ``query``
        (case-insensitive), the learner's language and grade first; at most ``limit``."""
        self.allow(by, "catalog:read")
        words = [w for w in (query or "").lower().split() if w]
        if not words:
            return []
        if len(query) > 100:
            raise ValidationError(f"q: {len(query)} characters; search with up to 100")
        if learner_id:
            self.allow(by, "learner:read", learner_id=learner_id)
        learner = self._learner(learner_id) if learner_id else None
        found = []
        for a in self.view.activities.values():
            codes = " ".join(getattr(self.view.skills.get(k), "code", k) for k in a.skill_ids)
            text = f"{a.title} {a.id} {codes}".lower()
            if all(w in text for w in words):
                grade_ok = learner is not None and any(
                    getattr(self.view.skills.get(k), "grade", None) == learner.grade for k in a.skill_ids)
                lang_ok = learner is not None and a.language == learner.language
                found.append((not lang_ok, not grade_ok, a.title, a))
        found.sort(key=lambda t: t[:3])
        return [{"id": a.id, "title": a.title, "minutes": a.duration_min,
                 "modality": getattr(a.modality, "value", a.modality), "language": a.language,
                 "skills": [getattr(self.view.skills.get(k), "code", k) for k in a.skill_ids]}
                for *_k, a in found[:max(1, min(int(limit), 50))]]


def _growth_line(skill_ids: list[str], rows) -> list[dict]:
    """Mean mastery of ``skill_ids`` (0 for a skill without answers) at the end of each
    session: ``[{at, p}]``, the last :data:`GROWTH_POINTS` sessions."""
    wanted = set(skill_ids)
    if not wanted:
        return []
    latest: dict[str, float] = {}
    points: list[dict] = []
    day = None
    for r in rows:
        if r.skill_id not in wanted:
            continue
        d = r.at.astimezone(UTC).date()
        if day is not None and d != day:
            points.append({"at": day.isoformat(), "p": sum(latest.values()) / len(wanted)})
        day = d
        latest[r.skill_id] = r.after
    if day is not None:
        points.append({"at": day.isoformat(), "p": sum(latest.values()) / len(wanted)})
    return points[-GROWTH_POINTS:]
