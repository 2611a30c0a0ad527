"""Use cases of rostering: OneRoster 1.2 imports (CSV set or REST service), the per-course and
per-grade class defaults new classes get, and the roster's retention rule (erase a learner's
data N days after they leave the roster) — a part of ``SchoolApp``.

An import merges the set into the stored mirror of OneRoster records (documents of kind
``oneroster``), derives the school it describes (:mod:`engine.roster.plan`) and writes only
what differs, in one transaction with its audit row: re-importing the same files changes
nothing. Ids are the OneRoster ``sourcedId``s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.access import Caller
from engine.app._admin import iso
from engine.app._learners import RosterCrudUseCases
from engine.errors import NotFoundError, ValidationError

MIRROR_KIND = "oneroster"
DEPARTURE_KIND = "roster_departure"
SETTINGS_KIND = "roster_settings"
DEFAULT_CLASS = {"model": {"type": "flex", "pullout_slots": 2, "pullout_minutes": 15,
                           "pullout_max_group": 6}, "size_cap": 40, "small_group_cap": 6}
_LEARNER_FILES = {"users": "sourcedId", "demographics": "sourcedId", "roles": "userSourcedId",
                  "enrollments": "userSourcedId", "userProfiles": "userSourcedId"}


def class_settings(defaults: Mapping[str, Any], course: str | None, grade: str) -> dict:
    """The settings of a new class: the course's default, else the grade's, else the
    tenant's, else :data:`DEFAULT_CLASS` (each ``{model, size_cap, small_group_cap}``)."""
    for scope, key in (("by_course", course), ("by_grade", grade)):
        found = (defaults.get(scope) or {}).get(key or "")
        if found:
            return {**DEFAULT_CLASS, **found}
    return {**DEFAULT_CLASS, **(defaults.get("default") or {})}


def build_model(settings: Mapping[str, Any], where: str):
    """The blended model of ``settings["model"]`` (``{"type": tag, ...fields}``)."""
    from engine.domain.classes import BLENDED_MODELS
    from engine.domain.serialize import from_record

    rec = settings.get("model") or {}
    tag = rec.get("type", "") if isinstance(rec, Mapping) else ""
    cls = BLENDED_MODELS.get(tag) if isinstance(tag, str) else None  # a list is not a tag
    if cls is None:
        raise ValidationError(f"{where}.model.type must be one of {', '.join(BLENDED_MODELS)}, "
                              f"got {rec!r}")
    try:
        return from_record(cls, dict(rec))
    except (TypeError, ValidationError) as exc:
        raise ValidationError(f"{where}.model: {exc}") from None


class RosterUseCases(RosterCrudUseCases):
    """OneRoster imports, class defaults and retention; with the roster CRUD of
    :class:`~engine.app._learners.RosterCrudUseCases`."""

    # ---------------------------------------------------------------- OneRoster import
    def import_oneroster(self, by: Caller, source: Any, *, dry_run: bool = False) -> dict:
        """Import a OneRoster 1.2 CSV set (folder path, zip path or zip bytes); all or nothing.
        Returns the report (see :meth:`import_roster_set`)."""
        from engine.roster import read_set

        self.allow(by, "roster:write")
        return self.import_roster_set(by, read_set(source), dry_run=dry_run)

    def sync_oneroster(self, by: Caller, *, base_url: str, token_url: str, client_id: str,
                       client_secret: str, page_size: int = 100, dry_run: bool = False) -> dict:
        """Read a SIS's OneRoster 1.2 REST service (OAuth 2 client credentials) in full and
        import it like a bulk CSV set (:mod:`engine.roster.rest`). Returns the report."""
        from engine.roster.rest import fetch_set

        self.allow(by, "roster:write")
        rset = fetch_set(base_url, token_url=token_url, client_id=client_id,
                         client_secret=client_secret, page_size=page_size)
        return self.import_roster_set(by, rset, dry_run=dry_run)

    def import_roster_set(self, by: Caller, rset: Any, *, dry_run: bool = False) -> dict:
        """Apply a validated :class:`~engine.roster.RosterSet` in one transaction. Report:
        ``learners``/``teachers``/``guardians``/``classes`` each ``{created, updated,
        deactivated, unchanged}``; ``records`` (OneRoster rows ``changed``, ``removed``,
        ``stale`` = delta rows older than the stored one); ``ignored`` (reason -> count);
        ``ignored_files``; ``changes`` (total writes; 0 on a re-import)."""
        from engine.roster import derive, merge
        from engine.roster.errors import RosterFormatError

        self.allow(by, "roster:write")
        self.view  # noqa: B018  (load the school before the write lock is taken)
        with self.store.transaction():  # read, compare and write as one unit: concurrent imports serialise
            old: dict[str, dict[str, dict]] = {}
            for d in self.store.list_documents(MIRROR_KIND):
                old.setdefault(d.payload["file"], {})[d.payload["record"]["sourcedId"]] = d.payload["record"]
            mg = merge(old, rset)
            try:
                before = derive(old)
            except RosterFormatError:
                before = None  # stored records predate a rule; the new set is checked in full
            target = derive(mg.mirror, rset.rows)
            plan = _Plan(self, target, before, rset.rows)
            report = plan.report(mg, rset)
            if dry_run or not report["changes"]:
                return report
            self._write_mirror(old, mg.mirror, target)
            plan.write()
            self._audit(by, "write", "roster", detail={"op": f"import {rset.source}",
                                                       "changes": report["changes"]})
        self._invalidate()
        for tid in plan.gone["teachers"] + plan.gone["guardians"]:
            self._revoke_subject_keys(tid)
        self._map_roster_identities(by, target, plan.new_emails)
        return report

    def _write_mirror(self, old: dict, new: dict, target: Any) -> None:
        for file in set(old) | set(new):
            before, after = old.get(file, {}), new.get(file, {})
            for sid in before.keys() - after.keys():
                self.store.delete_document(MIRROR_KIND, f"{file}:{sid}")
            for sid, rec in after.items():
                if before.get(sid) != rec:
                    owner = rec.get(_LEARNER_FILES.get(file, ""), None)
                    payload = {"file": file, "record": rec,
                               "learner_id": owner if owner in target.learners else None}
                    self.store.put_document(MIRROR_KIND, f"{file}:{sid}", payload)

    def _revoke_subject_keys(self, subject: str) -> None:
        for k in self.store.list_api_keys():
            if k.subject == subject and k.revoked_at is None:
                self.home.store.revoke_api_key(k.key_hash)
        self.home.forget_cached_keys()

    def _map_roster_identities(self, by: Caller, target: Any, learner_ids: list[str]) -> None:
        """Students' roster e-mails become xAPI identities (engineer E's identity map:
        ``SchoolApp.set_xapi_identities``), so LRS statements by mbox find the learner."""
        entries = [{"agent": {"mbox": f"mailto:{target.people[lid]['email']}"}, "learner_id": lid}
                   for lid in learner_ids if "@" in (target.people[lid].get("email") or "")]
        if entries and hasattr(self, "set_xapi_identities"):
            self.set_xapi_identities(by, entries)

    # ---------------------------------------------------------------- class defaults
    def roster_settings(self, by: Caller) -> dict:
        """``class_defaults`` (``default``, ``by_course``, ``by_grade``: each ``{model,
        size_cap, small_group_cap}``) and ``retention_days`` (None: keep until erased)."""
        self.allow(by, "roster:write")
        return self._roster_settings()

    def _roster_settings(self) -> dict:
        try:
            found = dict(self.store.get_document(SETTINGS_KIND, "tenant").payload)
        except NotFoundError:
            found = {}
        return {"class_defaults": found.get("class_defaults") or {"default": DEFAULT_CLASS},
                "retention_days": found.get("retention_days")}

    def set_class_default(self, by: Caller, settings: Mapping[str, Any], *, course: str | None = None,
                          grade: str | None = None) -> dict:
        """Set the settings new classes of ``course`` (a course sourcedId) or ``grade`` (the
        grade label, ``"3"``) get, or the tenant default when neither is given. Validated by
        building a class with them. Existing classes keep theirs (edit them one by one)."""
        from engine.domain.classes import Class

        self.allow(by, "roster:write")
        if course and grade:
            raise ValidationError("give course or grade, not both")
        rec = {**DEFAULT_CLASS, **dict(settings)}
        unknown = set(rec) - set(DEFAULT_CLASS)
        if unknown:
            raise ValidationError(f"unknown class setting(s) {sorted(unknown)}; use model, size_cap, small_group_cap")
        Class("check", "check", grade or "any", ("t",), (), build_model(rec, "settings"),
              size_cap=rec["size_cap"], small_group_cap=rec["small_group_cap"])
        cur = self._roster_settings()
        defaults = dict(cur["class_defaults"])
        if course or grade:
            scope, key = ("by_course", course) if course else ("by_grade", grade)
            defaults[scope] = {**(defaults.get(scope) or {}), key: rec}
        else:
            defaults["default"] = rec
        with self.store.transaction():
            self.store.put_document(SETTINGS_KIND, "tenant", {**cur, "class_defaults": defaults})
            self._audit(by, "write", "roster.defaults", detail={"course": course, "grade": grade})
        return self._roster_settings()

    # ---------------------------------------------------------------- retention
    def set_retention(self, by: Caller, days: int | None) -> dict:
        """Erase a learner's data ``days`` after they leave the roster (None: keep)."""
        self.allow(by, "roster:write")
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650):
            raise ValidationError(f"retention days must be an integer 0..3650 (or none), got {days!r}")
        cur = self._roster_settings()
        with self.store.transaction():
            self.store.put_document(SETTINGS_KIND, "tenant", {**cur, "retention_days": days})
            self._audit(by, "write", "roster.retention", detail={"days": days})
        return self._roster_settings()

    def departures(self, by: Caller) -> list[dict]:
        """Learners who left the roster and are not erased yet: ``learner_id``, ``left_at``."""
        self.allow(by, "roster:write")
        return [{"learner_id": d.doc_id, "left_at": d.payload["left_at"]}
                for d in self.store.list_documents(DEPARTURE_KIND)]

    def apply_retention(self, by: Caller, *, now: datetime | None = None) -> dict:
        """Erase every learner who left the roster more than the tenant's retention days ago
        (still off the roster). Returns ``{retention_days, erased: [...], kept}``."""
        self.allow(by, "learner:delete")
        days = self._roster_settings()["retention_days"]
        now = now or datetime.now(UTC)
        out: dict[str, Any] = {"retention_days": days, "erased": [], "kept": 0}
        if days is None:
            out["kept"] = len(self.store.list_documents(DEPARTURE_KIND))
            return out
        cutoff = now - timedelta(days=days)
        for d in self.store.list_documents(DEPARTURE_KIND):
            left = datetime.fromisoformat(d.payload["left_at"].replace("Z", "+00:00"))
            on_roster = any(d.doc_id in c.roster for c in self.view.classes.values())
            if left > cutoff or on_roster:
                out["kept"] += 1
                continue
            self.erase_learner(by, d.doc_id)
            out["erased"].append(d.doc_id)
        return out


class _Plan:
    """What an import writes: entities to put, remove and mark as departed."""

    def __init__(self, app: Any, target: Any, before: Any, rows: dict) -> None:
        self.app, self.t = app, target
        view = app.view
        self.put: dict[str, list] = {"learners": [], "teachers": [], "guardians": [], "classes": []}
        self.counts = {k: {"created": 0, "updated": 0, "deactivated": 0, "unchanged": 0} for k in self.put}
        self.gone: dict[str, list[str]] = {k: [] for k in self.put}
        self.returned: list[str] = []
        self.new_emails: list[str] = []
        self._learners(view, before)
        self._people(view, before)
        self._classes(view, before, rows)

    def _tally(self, kind: str, current: Any, new: Any) -> None:
        if current is None:
            self.counts[kind]["created"] += 1
        elif current == new:
            self.counts[kind]["unchanged"] += 1
            return
        else:
            self.counts[kind]["updated"] += 1
        self.put[kind].append(new)

    def _learners(self, view: Any, before: Any) -> None:
        from engine.domain import Learner

        departed = {d.doc_id for d in self.app.store.list_documents(DEPARTURE_KIND)}
        for lid, (name, grade) in self.t.learners.items():
            cur = view.learners.get(lid)
            new = Learner(lid, name, grade) if cur is None else dataclasses.replace(cur, name=name, grade=grade)
            self._tally("learners", cur, new)
            if cur is None or (before and before.people.get(lid, {}).get("email") != self.t.people[lid]["email"]):
                self.new_emails.append(lid)
            if lid in departed:
                self.returned.append(lid)
        if before:
            self.gone["learners"] = sorted(lid for lid in before.learners
                                           if lid not in self.t.learners and lid in view.learners
                                           and lid not in departed)
            self.counts["learners"]["deactivated"] = len(self.gone["learners"])

    def _people(self, view: Any, before: Any) -> None:
        from engine.domain import Teacher
        from engine.domain.classes import Guardian

        teachers = {t.id: t for t in self.app.store.list_teachers()}
        for tid, name in self.t.teachers.items():
            self._tally("teachers", teachers.get(tid), Teacher(tid, name))
        for gid, (name, kids) in self.t.guardians.items():
            self._tally("guardians", view.guardians.get(gid), Guardian(gid, name, kids))
        if before:
            self.gone["teachers"] = sorted(t for t in before.teachers if t not in self.t.teachers and t in teachers)
            self.gone["guardians"] = sorted(g for g in before.guardians
                                            if g not in self.t.guardians and g in view.guardians)
            for kind in ("teachers", "guardians"):
                self.counts[kind]["deactivated"] = len(self.gone[kind])

    def _classes(self, view: Any, before: Any, rows: dict) -> None:
        from engine.domain.classes import Class
        from engine.roster.errors import Issue, RosterFormatError

        defaults = self.app._roster_settings()["class_defaults"]
        issues = []
        for cid, c in self.t.classes.items():
            cur = view.classes.get(cid)
            try:
                if cur is None:
                    s = class_settings(defaults, c["course"], c["grade"])
                    new = Class(cid, c["name"], c["grade"], tuple(c["teachers"]), tuple(c["roster"]),
                                build_model(s, "class default"), size_cap=max(s["size_cap"], len(c["roster"])),
                                small_group_cap=s["small_group_cap"])
                else:
                    new = dataclasses.replace(cur, name=c["name"], grade=c["grade"], teachers=tuple(c["teachers"]),
                                              roster=tuple(c["roster"]), size_cap=max(cur.size_cap, len(c["roster"])))
            except ValidationError as exc:
                issues.append(Issue("classes.csv", rows.get("classes", {}).get(cid, 0), "",
                                    f"class {cid!r}: {exc}; change the class default (pathwise roster "
                                    "defaults) or the class's settings"))
                continue
            self._tally("classes", cur, new)
        if issues:
            raise RosterFormatError(issues)
        if before:
            self.gone["classes"] = sorted(c for c in before.classes if c not in self.t.classes and c in view.classes)
            self.counts["classes"]["deactivated"] = len(self.gone["classes"])

    def report(self, mg: Any, rset: Any) -> dict:
        writes = sum(len(v) for v in self.put.values()) + sum(len(v) for v in self.gone.values())
        writes += len(self.returned) + mg.upserts + mg.removed
        admins = sum(1 for p in self.t.people.values() if p["kind"] == "administrator")
        ignored = dict(self.t.ignored)
        if mg.not_kept:
            ignored["demographics and userProfiles rows (validated, not kept)"] = mg.not_kept
        return {**self.counts, "administrators": admins,
                "records": {"changed": mg.upserts, "removed": mg.removed, "stale": mg.stale},
                "ignored": dict(sorted(ignored.items())), "ignored_files": list(rset.ignored_files),
                "changes": writes}

    def write(self) -> None:
        s = self.app.store
        s.put_learners(self.put["learners"])
        s.put_teachers(self.put["teachers"])
        s.put_guardians(self.put["guardians"])
        for cid in self.gone["classes"]:
            s.delete_class(cid)
        s.put_classes(self.put["classes"])
        for tid in self.gone["teachers"]:
            s.delete_teacher(tid)
        for gid in self.gone["guardians"]:
            s.delete_guardian(gid)
        now = iso(datetime.now(UTC))
        for lid in self.gone["learners"]:
            s.put_document(DEPARTURE_KIND, lid, {"learner_id": lid, "left_at": now})
        for lid in self.returned:
            s.delete_document(DEPARTURE_KIND, lid)
