"""From a OneRoster set to the school it describes: merge the set into the stored mirror of
OneRoster records (bulk replaces a file's records, delta upserts and deletes them by
``status`` and ``dateLastModified``), check the references, and derive the learners,
teachers, guardians and classes (pure functions; :mod:`engine.app._roster` applies them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from engine.domain.classes import MAX_CLASS_SIZE
from engine.roster import binding as b
from engine.roster.csvread import RosterSet
from engine.roster.errors import Issue, RosterFormatError

Mirror = dict[str, dict[str, dict]]  # file -> sourcedId -> record (status dropped: all live)

STUDENT_ROLES = ("student",)
TEACHER_ROLES = ("teacher",)
GUARDIAN_ROLES = ("guardian", "parent", "relative")
ADMIN_ROLES = ("districtAdministrator", "siteAdministrator", "systemAdministrator", "principal")
KINDS = {**{r: "student" for r in STUDENT_ROLES}, **{r: "teacher" for r in TEACHER_ROLES},
         **{r: "guardian" for r in GUARDIAN_ROLES}, **{r: "administrator" for r in ADMIN_ROLES}}


@dataclass
class Merge:
    """The mirror after the set, and what the set asked that was not applied."""

    mirror: Mirror
    stale: int = 0          # delta rows older than the stored record (dateLastModified)
    removed: int = 0        # records deleted (tobedeleted, or missing from a bulk file)
    upserts: int = 0        # records new or changed
    not_kept: int = 0       # rows of files Pathwise validates but does not keep (demographics)


def merge(old: Mirror, rset: RosterSet) -> Merge:
    """``old`` with ``rset`` applied (``old`` is not changed)."""
    new: Mirror = {f: dict(recs) for f, recs in old.items()}
    out = Merge(new)
    for name, mode in rset.modes.items():
        if name in NOT_KEPT_FILES:
            out.not_kept += len(rset.records.get(name, {}))
            continue
        before = old.get(name, {})
        incoming = rset.records.get(name, {})
        if mode == "bulk":
            after = {sid: _live(rec) for sid, rec in incoming.items()}
            out.removed += sum(1 for sid in before if sid not in after)
        else:
            after = dict(before)
            for sid, rec in incoming.items():
                stored = before.get(sid)
                if stored and (stored.get("dateLastModified") or "") > (rec.get("dateLastModified") or ""):
                    out.stale += 1
                elif rec.get("status") == "tobedeleted":
                    out.removed += after.pop(sid, None) is not None
                else:
                    after[sid] = _live(rec)
        out.upserts += sum(1 for sid, rec in after.items() if before.get(sid) != rec)
        new[name] = after
    out.removed += _cascade(new, rset)
    return out


_DEPENDENTS = (("enrollments", "userSourcedId", "users"), ("enrollments", "classSourcedId", "classes"),
               ("roles", "userSourcedId", "users"), ("demographics", "sourcedId", "users"),
               ("userProfiles", "userSourcedId", "users"))


def _cascade(m: Mirror, rset: RosterSet) -> int:
    """Drop stored records (not sent in this set) whose user or class is gone: a delta that
    deletes a user deletes their enrollments and roles with them. Returns how many."""
    dropped = 0
    for file, col, target in _DEPENDENTS:
        if not m.get(target) and target not in rset.modes:
            continue
        sent = rset.records.get(file, {})
        keep = m.get(target, {})
        for sid, rec in list(m.get(file, {}).items()):
            if sid not in sent and rec.get(col) not in keep:
                del m[file][sid]
                dropped += 1
    return dropped


# Data minimisation: validated but never kept (Pathwise does not use them; docs/privacy.md)
NOT_KEPT_FILES = ("demographics", "userProfiles")
NOT_KEPT_COLUMNS = ("status", "password", "sms", "phone")


def _live(rec: dict) -> dict:
    """The record as the mirror keeps it: live (no ``status``), without the columns Pathwise
    does not keep (passwords, phone numbers)."""
    return {k: v for k, v in rec.items() if k not in NOT_KEPT_COLUMNS}


@dataclass
class Target:
    """The school a mirror describes. ``learners``: id -> (name, grade); ``teachers``: id ->
    name; ``guardians``: id -> (name, learner ids); ``classes``: id -> dict(name, grade,
    course, teachers, roster); ``people``: id -> dict(kind, name, email, username, user_ids:
    the binding's ``{type:identifier}`` texts);
    ``ignored``: reasons -> count (users without a role Pathwise uses, classes without a
    teacher...)."""

    learners: dict[str, tuple[str, str]] = field(default_factory=dict)
    teachers: dict[str, str] = field(default_factory=dict)
    guardians: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    classes: dict[str, dict] = field(default_factory=dict)
    people: dict[str, dict] = field(default_factory=dict)
    ignored: Counter = field(default_factory=Counter)


def _name(u: dict) -> str:
    given = u.get("preferredGivenName") or u.get("givenName") or ""
    family = u.get("preferredFamilyName") or u.get("familyName") or ""
    return f"{given} {family}".strip() or u["sourcedId"]


def _kinds(m: Mirror) -> dict[str, str]:
    """user -> student/teacher/guardian/administrator/other: the primary role of roles.csv,
    else any role, else the role of their enrollments."""
    roles: dict[str, list[tuple[int, str]]] = {}
    for r in m.get("roles", {}).values():
        roles.setdefault(r["userSourcedId"], []).append((r["roleType"] != "primary", r["role"]))
    for e in m.get("enrollments", {}).values():
        roles.setdefault(e["userSourcedId"], []).append((2, e["role"]))
    return {uid: KINDS.get(sorted(found)[0][1], "other") for uid, found in roles.items()}


def derive(m: Mirror, rows: dict[str, dict[str, int]] | None = None) -> Target:
    """The school of mirror ``m`` (``rows``: file -> sourcedId -> CSV line, for messages).
    Raises :class:`RosterFormatError` for broken references and oversized classes."""
    rows = rows or {}
    issues = check_references(m, rows)
    t = Target()
    kinds = _kinds(m)
    users = m.get("users", {})
    for uid, u in users.items():
        kind = kinds.get(uid, "other")
        if not u.get("enabledUser", True):
            t.ignored["users disabled (enabledUser=false)"] += 1
            continue
        if kind == "other":
            t.ignored["users whose role Pathwise does not use (aide, counselor, proctor...)"] += 1
            continue
        t.people[uid] = {"kind": kind, "name": _name(u), "email": u.get("email"),
                         "username": u.get("username"),
                         "user_ids": [f"{{{i['type']}:{i['identifier']}}}" for i in u.get("userIds") or []]}
        if kind == "student":
            grades = u.get("grades") or []
            t.learners[uid] = (_name(u), b.grade_label(grades[0]) if grades else "")
        elif kind == "teacher":
            t.teachers[uid] = _name(u)
    named_by: dict[str, set[str]] = {}  # agent id -> the learners naming them as an agent
    for lid in t.learners:
        for agent in users[lid].get("agentSourcedIds") or []:
            named_by.setdefault(agent, set()).add(lid)
    for uid, p in t.people.items():
        if p["kind"] != "guardian":
            continue
        kids = {a for a in users[uid].get("agentSourcedIds") or [] if a in t.learners}
        t.guardians[uid] = (p["name"], tuple(sorted(kids | named_by.get(uid, set()))))
    _derive_classes(m, t, rows, issues)
    if issues:
        raise RosterFormatError(issues)
    for lid, (name, grade) in t.learners.items():  # learners without grades: their class's
        if not grade:
            found = [c["grade"] for c in t.classes.values() if lid in c["roster"]]
            t.learners[lid] = (name, found[0] if found else "unspecified")
    return t


def _derive_classes(m: Mirror, t: Target, rows: dict, issues: list[Issue]) -> None:
    courses = m.get("courses", {})
    members: dict[str, dict[str, list[str]]] = {}
    for e in sorted(m.get("enrollments", {}).values(), key=lambda e: e["sourcedId"]):
        uid = e["userSourcedId"]
        slot = "roster" if uid in t.learners else "teachers" if uid in t.teachers else None
        if slot is None or (e["role"] == "student") != (slot == "roster"):
            t.ignored["enrollments of users not rostered as that role"] += 1
            continue
        members.setdefault(e["classSourcedId"], {"roster": [], "teachers": []})[slot].append(uid)
    for cid, c in m.get("classes", {}).items():
        got = members.get(cid, {"roster": [], "teachers": []})
        if not got["teachers"]:
            t.ignored["classes without a teacher enrollment"] += 1
            continue
        roster = sorted(set(got["roster"]))
        if len(roster) > MAX_CLASS_SIZE:
            issues.append(Issue("enrollments.csv", 0, "classSourcedId",
                                f"class {cid!r} (classes.csv row {rows.get('classes', {}).get(cid, '?')}) "
                                f"has {len(roster)} students; Pathwise classes hold at most "
                                f"{MAX_CLASS_SIZE}: split the section"))
            continue
        grades = c.get("grades") or (courses.get(c["courseSourcedId"], {}).get("grades") or [])
        t.classes[cid] = {"name": c["title"], "grade": b.grade_label(grades[0]) if grades else "",
                          "course": c["courseSourcedId"], "teachers": sorted(set(got["teachers"])),
                          "roster": roster}
    for c in t.classes.values():
        if not c["grade"]:
            found = Counter(t.learners[lid][1] for lid in c["roster"] if t.learners[lid][1])
            c["grade"] = found.most_common(1)[0][0] if found else "unspecified"


_REFS = (  # (file, column, target file, is a list)
    ("enrollments", "classSourcedId", "classes", False),
    ("enrollments", "userSourcedId", "users", False),
    ("roles", "userSourcedId", "users", False),
    ("users", "agentSourcedIds", "users", True),
    ("classes", "courseSourcedId", "courses", False),
    ("demographics", "sourcedId", "users", False),
)


def check_references(m: Mirror, rows: dict[str, dict[str, int]]) -> list[Issue]:
    """Rows of this set (``rows``) that name a sourcedId the set, with the stored records,
    does not hold. A file never imported (no records at all) is not checked against."""
    issues = []
    for file, col, target, many in _REFS:
        known = m.get(target)
        if not known:
            continue
        for sid, rec in m.get(file, {}).items():
            refs = rec.get(col) or [] if many else [rec.get(col)]
            missing = [r for r in refs if r and r not in known]
            line = rows.get(file, {}).get(sid, 0)
            if missing and line:  # stored rows: their dependents cascade, stale agent links are unused
                issues.append(Issue(f"{file}.csv", line, col,
                                    f"names {', '.join(missing)} that {target}.csv does not hold; "
                                    f"add the {target} row or fix the id"))
    return sorted(issues, key=lambda i: (i.file, i.row))
