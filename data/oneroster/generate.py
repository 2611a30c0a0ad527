"""Regenerate the sample OneRoster 1.2 CSV set of this folder (a small fictional school:
Maple Grove Elementary, grades 3-5 math, 60 students, 4 teachers, guardians, one aide and a
principal). Deterministic: ``python data/oneroster/generate.py`` rewrites the same files."""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from engine.roster.binding import columns  # noqa: E402

HERE = Path(__file__).resolve().parent
GIVEN = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Eli", "Luna", "Omar", "Ivy", "Leo", "Nora", "Kai",
         "Sofia", "Mateo", "Aria", "Ezra", "Maya", "Jonah", "Lila", "Diego", "Amara", "Theo",
         "Priya", "Owen", "Hana", "Felix", "Rosa", "Malik", "Jade", "Arjun"]
FAMILY = ["Garcia", "Nguyen", "Smith", "Okafor", "Patel", "Kim", "Rossi", "Haddad", "Lopez",
          "Chen", "Brown", "Silva", "Ali", "Novak", "Reyes", "Cohen", "Mensah", "Ito", "Khan",
          "Walker"]
SECTIONS = (("cls-m3", "Math 3 - Room 12", "crs-m3", "03", ["tch-rivera"], 14),
            ("cls-m4", "Math 4 - Room 14", "crs-m4", "04", ["tch-osei"], 14),
            ("cls-m5", "Math 5 - Room 20", "crs-m5", "05", ["tch-lindqvist", "tch-baker"], 32))


def rows():
    rng = random.Random(2026)
    out = {k: [] for k in ("orgs", "academicSessions", "courses", "classes", "users", "roles",
                           "enrollments", "demographics")}
    out["orgs"] += [["org-district", "", "", "Riverbend Unified", "district", "RBU", ""],
                    ["org-maple", "", "", "Maple Grove Elementary", "school", "MGE", "org-district"]]
    out["academicSessions"] += [
        ["as-2027", "", "", "2026-2027", "schoolYear", "2026-08-24", "2027-06-11", "", "2027"],
        ["as-2027-f", "", "", "Fall 2026", "semester", "2026-08-24", "2027-01-15", "as-2027", "2027"],
        ["as-2027-s", "", "", "Spring 2027", "semester", "2027-01-19", "2027-06-11", "as-2027", "2027"]]
    staff = [("tch-rivera", "Elena", "Rivera", "teacher"), ("tch-osei", "Kwame", "Osei", "teacher"),
             ("tch-lindqvist", "Sara", "Lindqvist", "teacher"), ("tch-baker", "Tom", "Baker", "teacher"),
             ("aide-park", "Jin", "Park", "aide"), ("adm-hughes", "Dana", "Hughes", "principal")]
    for sid, given, family, role in staff:
        user = f"{given[0].lower()}{family.lower()}"
        out["users"].append(_user(sid, user, f"{{SIS:{sid.upper()}}}", given, family,
                                  f"{user}@maplegrove.example", "", ""))
        out["roles"].append([f"r-{sid}", "", "", sid, "primary", role, "", "", "org-maple", ""])
    n = 0
    guardians: list[str] = []
    for cid, title, course, grade, teachers, size in SECTIONS:
        out["courses"].append([course, "", "", "as-2027", f"Mathematics {int(grade)}", f"MATH{grade}",
                               grade, "org-maple", "Mathematics", ""])
        out["classes"].append([cid, "", "", title, grade, course, cid.upper(), "scheduled",
                               title.split(" - ")[1], "org-maple", "as-2027-f,as-2027-s", "Mathematics",
                               "", "2"])
        for tid in teachers:
            out["enrollments"].append([f"e-{cid}-{tid}", "", "", cid, "org-maple", tid, "teacher",
                                       "true", "", ""])
        for _ in range(size):
            n += 1
            sid = f"stu-{n:03d}"
            given, family = GIVEN[n % len(GIVEN)], FAMILY[(n * 7) % len(FAMILY)]
            if n % 5 == 0 and guardians:  # a sibling: shares the previous student's guardian
                gid = guardians[-1]
            else:
                gid = f"grd-{len(guardians) + 1:03d}"
                guardians.append(gid)
                gname = GIVEN[(n * 3 + 5) % len(GIVEN)]
                out["users"].append(_user(gid, f"{gname.lower()}.{family.lower()}{n}", "", gname, family,
                                          f"{gname.lower()}.{family.lower()}{n}@family.example", "", sid))
                out["roles"].append([f"r-{gid}", "", "", gid, "primary", "guardian", "", "", "org-maple", ""])
            out["users"].append(_user(sid, f"{given.lower()}{n:03d}", f"{{SIS:S{n:05d}}}", given, family,
                                      f"{given.lower()}{n:03d}@students.maplegrove.example", grade, gid))
            out["roles"].append([f"r-{sid}", "", "", sid, "primary", "student", "", "", "org-maple", ""])
            out["enrollments"].append([f"e-{cid}-{sid}", "", "", cid, "org-maple", sid, "student", "",
                                       "2026-08-24", ""])
            if n % 10 == 1:
                out["demographics"].append([sid, "", "", f"201{rng.randint(5, 8)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                                            rng.choice(["female", "male"]), *[""] * 11])
    # guardian links on the guardian side too (agentSourcedIds lists their children)
    kids: dict[str, list[str]] = {}
    for u in out["users"]:
        if u[0].startswith("stu-"):
            kids.setdefault(u[13], []).append(u[0])
    for u in out["users"]:
        if u[0].startswith("grd-"):
            u[13] = ",".join(kids.get(u[0], []))
    out["enrollments"].append(["e-cls-m3-aide-park", "", "", "cls-m3", "org-maple", "aide-park",
                               "proctor", "", "", ""])
    return out


def _user(sid, username, user_ids, given, family, email, grade, agents):
    row = [sid, "", "", "true", username, user_ids, given, family, "", sid.upper(), email, "", "",
           agents, grade, "", "", "", "", "", "", "org-maple", ""]
    assert len(row) == len(columns("users"))
    return row


def main() -> None:
    data = rows()
    for name, body in data.items():
        with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns(name))
            w.writerows(body)
    with open(HERE / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerows([["propertyName", "value"], ["manifest.version", "1.0"], ["oneroster.version", "1.2"],
                     *[[f"file.{n}", "bulk" if n in data else "absent"] for n in
                       ("academicSessions", "categories", "classes", "classResources", "courses",
                        "courseResources", "demographics", "enrollments", "lineItems", "orgs",
                        "resources", "results", "roles", "userProfiles", "users")],
                     ["source.systemName", "Pathwise sample SIS"], ["source.systemCode", "pathwise-sample"]])


if __name__ == "__main__":
    main()
