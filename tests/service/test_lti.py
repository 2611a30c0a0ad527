"""Pathwise as an LTI 1.3 tool, end to end against a real LTI 1.3 platform process built on the
``lti1p3platform`` library (its message building, signing, JWKS, token endpoint, deep-linking
validation, AGS and NRPS): launches land each person on their page, deep linking places content,
grades reach the gradebook, the roster follows the course, and forged, replayed, misaddressed and
foreign-deployment launches are refused with a clear message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from tests.service.lti_helpers import AUTH, form_fields, launch, launch_form, lti_rig

pytestmark = [pytest.mark.slow]
ORTIZ = {"Authorization": "Bearer pw-demo-teacher-t-ortiz"}
NGUYEN = {"Authorization": "Bearer pw-demo-teacher-t-nguyen"}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    with lti_rig(tmp_path_factory.mktemp("lti")) as (pw, lms, db):
        yield pw, lms, db


def _browser(pw: str) -> httpx.Client:
    return httpx.Client(base_url=pw, timeout=30)


def _class_id(pw: str) -> str:
    courses = httpx.get(f"{pw}/v1/lti/courses", headers=AUTH).json()
    assert len(courses) == 1 and courses[0]["class_id"], courses
    return courses[0]["class_id"]


def test_student_launch_syncs_the_course_and_lands_on_their_own_playlist(rig):
    pw, lms, _ = rig
    b = _browser(pw)
    r = launch(b, lms, user="stu-1")
    assert r.status_code == 303 and r.headers["location"] == "/me", r.text
    page = b.get("/me")
    assert page.status_code == 200 and "Hi Umar!" in page.text  # L001, matched by the course email
    cls = httpx.get(f"{pw}/v1/classes/{_class_id(pw)}", headers=AUTH).json()
    roster = {m["id"]: m["name"] for m in cls["roster"]}
    assert "L001" in roster and "Ben LMS-only" in roster.values() and len(roster) == 2


def test_teacher_launch_lands_on_the_class_page(rig):
    pw, lms, _ = rig
    b = _browser(pw)
    r = launch(b, lms, user="inst-1")
    cid = _class_id(pw)
    assert r.status_code == 303 and r.headers["location"] == f"/classes/{cid}", r.text
    page = b.get(r.headers["location"])
    assert page.status_code == 200 and "Grade 3 Math (LMS)" in page.text


def _deep_link(b: httpx.Client, lms: str, choice: str) -> httpx.Response:
    r = launch(b, lms, user="inst-1", kind="deeplink")
    assert r.status_code == 303 and "/lti/demo/deep-link?token=" in r.headers["location"], r.text
    page = b.get(r.headers["location"])
    assert page.status_code == 200 and "Today&#39;s playlist" in page.text, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    back = b.post(urlsplit(r.headers["location"]).path, data={"token": token, "csrf": csrf, "choice": choice})
    assert back.status_code == 200, back.text
    action, fields = form_fields(back)
    assert action == f"{lms}/deep_link_return" and set(fields) == {"JWT"}
    return httpx.post(action, data=fields)  # the platform validates the response with our JWKS


def test_deep_linking_places_todays_playlist_and_a_skills_activities(rig):
    pw, lms, _ = rig
    b = _browser(pw)
    assert _deep_link(b, lms, "playlist").text == "placed 1 item(s)"
    assert _deep_link(b, lms, "skill:3.G.A.1").text == "placed 1 item(s)"
    placed = httpx.get(f"{lms}/_test/state").json()["placed"]
    assert [p["custom"] for p in placed] == [{"pathwise_target": "playlist"},
                                            {"pathwise_target": "skill", "pathwise_skill": "3.G.A.1"}]
    assert [p["lineItem"]["resourceId"] for p in placed] == ["pathwise:progress", "pathwise:skill:3.G.A.1"]
    assert all(p["type"] == "ltiResourceLink" and p["url"] == f"{pw}/lti/demo/launch" for p in placed)
    student = _browser(pw)  # a student opens the placed playlist link
    r = launch(student, lms, user="stu-1", item=0)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    r = _browser(pw).post("/lti/demo/deep-link", data={"token": "nope", "choice": "playlist"})
    assert r.status_code in (303, 403)  # no session / no CSRF: nothing placed


def test_grades_reach_the_gradebook(rig):
    pw, lms, _ = rig
    cid = _class_id(pw)
    obs = [{"id": f"lti-obs-{k}", "learner_id": "L001", "activity_id": "A0001",
            "score": 1.0, "observed_at": f"2026-11-0{k + 1}T10:00:00Z"} for k in range(3)]
    r = httpx.post(f"{pw}/v1/evidence", headers={"Authorization": "Bearer pw-demo-lms"}, json={"observations": obs})
    assert r.status_code in (200, 201), r.text
    assert httpx.post(f"{pw}/v1/lti/classes/{cid}/grades", headers=NGUYEN).status_code == 403
    r = httpx.post(f"{pw}/v1/lti/classes/{cid}/grades", headers=ORTIZ, timeout=60)
    assert r.status_code == 200, r.text
    course = r.json()["courses"][0]
    assert course["line_items_created"] == 3 and course["learners_without_lms_account"] == 0
    state = httpx.get(f"{lms}/_test/state").json()
    items = {i["resourceId"]: i["id"] for i in state["lineitems"].values()}
    assert set(items) == {"pathwise:progress", "pathwise:mastery", "pathwise:skill:3.G.A.1"}
    by_user = {(s["userId"], rid): s for rid, lid in items.items() for s in state["scores"][lid]}
    assert {u for u, _ in by_user} == {"stu-1", "stu-2"}
    # the mapping of docs/lti.md, recomputed from the API's own mastery and skills
    mastery = httpx.get(f"{pw}/v1/learners/L001/mastery", headers=AUTH).json()
    p = {s["skill_id"]: s["p_mastered"] for s in mastery["skills"]}
    scope = [s["id"] for s in httpx.get(f"{pw}/v1/graph/skills", params={"grade": "3"}, headers=AUTH).json()]
    assert by_user[("stu-1", "pathwise:skill:3.G.A.1")]["scoreGiven"] == pytest.approx(100 * p["3.G.A.1"], abs=0.01)
    assert by_user[("stu-1", "pathwise:mastery")]["scoreGiven"] == pytest.approx(
        100 * sum(p.get(s, 0.0) for s in scope) / len(scope), abs=0.01)
    assert by_user[("stu-2", "pathwise:progress")]["activityProgress"] == "Initialized"
    assert all(s["scoreMaximum"] == 100 and s["gradingProgress"] == "FullyGraded" for s in by_user.values())
    again = httpx.post(f"{pw}/v1/lti/classes/{cid}/grades", headers=ORTIZ, timeout=60).json()
    assert again["courses"][0]["line_items_created"] == 0  # found again by resourceId


def test_roster_sync_follows_the_course(rig):
    pw, lms, _ = rig
    cid = _class_id(pw)
    new = [{"user_id": "inst-1", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
            "name": "Maria Ortiz", "email": "ortiz@school.example"},
           {"user_id": "stu-1", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "name": "Ava A.", "email": "l001@students.example"},
           {"user_id": "stu-2", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "name": "Ben LMS-only", "status": "Inactive"},
           {"user_id": "stu-3", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "name": "Cleo New"},
           {"user_id": "stu-4", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "name": "   ", "given_name": "Dee", "family_name": "Blank"}]  # a blank name: given + family
    assert httpx.put(f"{lms}/_test/members", json=new).status_code == 200
    r = httpx.post(f"{pw}/v1/lti/classes/{cid}/sync", headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["courses"][0] | {} == {"context_id": "course-101", "class_id": cid, "teachers": 1,
                                           "learners": 3, "people_created": 2}
    roster = {m["name"] for m in httpx.get(f"{pw}/v1/classes/{cid}", headers=AUTH).json()["roster"]}
    assert roster == {"Umar R.", "Cleo New", "Dee Blank"}
    assert httpx.post(f"{pw}/v1/lti/classes/{cid}/sync", headers=ORTIZ).status_code == 403
    assert httpx.put(f"{lms}/_test/members", json=new[1:]).status_code == 200  # no instructor left
    r = httpx.post(f"{pw}/v1/lti/classes/{cid}/sync", headers=AUTH, timeout=60)
    assert r.status_code == 502 and "has no active instructor" in r.json()["error"]["message"]
    assert {m["name"] for m in httpx.get(f"{pw}/v1/classes/{cid}", headers=AUTH).json()["roster"]} == roster
    assert httpx.put(f"{lms}/_test/members", json=new).status_code == 200


@pytest.mark.parametrize("attack, message", [
    ("forge", "bad signature: the id_token does not verify against the keys platform"),
    ("aud", "wrong audience: the id_token is addressed to ['someone-else']"),
    ("deployment", "unknown deployment 'dep-unregistered'"),
])
def test_bad_launches_are_refused(rig, attack, message):
    pw, lms, _ = rig
    b = _browser(pw)
    r = launch(b, lms, user="stu-1", attack=attack)
    assert r.status_code == 403 and message in r.text.replace("&#39;", "'"), r.text
    assert "pathwise_session" not in r.cookies


def test_replayed_launch_and_foreign_state_are_refused(rig):
    pw, lms, _ = rig
    b = _browser(pw)
    action, fields = form_fields(launch_form(b, lms, user="stu-1"))
    assert b.post(action, data=fields, follow_redirects=False).status_code == 303
    replay = _browser(pw).post(action, data=fields, follow_redirects=False)
    assert replay.status_code == 403 and "replayed launch: this nonce was already used" in replay.text
    action, fields = form_fields(launch_form(b, lms, user="stu-1"))
    r = b.post(action, data={**fields, "state": "made-up"}, follow_redirects=False)
    assert r.status_code == 403 and "unknown state" in r.text


def test_tool_keys_rotate_and_stay_verifiable(rig):
    pw, lms, _ = rig
    before = httpx.get(f"{pw}/lti/demo/jwks").json()["keys"]
    r = httpx.post(f"{pw}/v1/lti/keys/rotate", headers=AUTH)
    assert r.status_code == 200, r.text
    after = httpx.get(f"{pw}/lti/demo/jwks").json()["keys"]
    assert len(after) == len(before) + 1 and after[0]["kid"] == r.json()["active"] and after[1:] == before
    assert all(set(k) >= {"kid", "n", "e", "alg"} and not {"d", "p", "q"} & set(k) for k in after)
    assert "private" not in str(httpx.get(f"{pw}/v1/lti/keys", headers=AUTH).json())
    # the platform verifies messages signed with the new key (deep linking, service tokens)
    assert _deep_link(_browser(pw), lms, "playlist").text == "placed 1 item(s)"
    tokens = httpx.get(f"{lms}/_test/state").json()["tokens"]
    assert httpx.post(f"{pw}/v1/lti/classes/{_class_id(pw)}/grades", headers=AUTH, timeout=60).status_code == 200
    assert httpx.get(f"{lms}/_test/state").json()["tokens"] == tokens + 1


def test_tenant_export_holds_no_private_key(rig):
    pw, _, _ = rig
    r = httpx.get(f"{pw}/v1/admin/tenant-export", headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    kinds = {d["kind"] for d in r.json()["tables"]["documents"]}
    assert "lti_platform" in kinds and "lti_person" in kinds
    assert not kinds & {"lti_tool_key", "lti_state", "lti_nonce", "signin_key"}
    assert "PRIVATE KEY" not in r.text


def test_registration_is_validated(rig):
    pw, lms, _ = rig
    base = {"issuer": lms, "client_id": "other", "deployment_ids": ["d"], "jwks_url": f"{lms}/jwks",
            "auth_login_url": f"{lms}/authorize", "token_url": f"{lms}/token"}
    for change, text in (({"jwks_url": "jwks"}, "jwks_url 'jwks' is not an absolute"),
                         ({"token_url": "http://lms.example/token"}, "token_url 'http://lms.example/token' uses plain http"),
                         ({"deployment_ids": [""]}, "deployment_ids")):
        r = httpx.post(f"{pw}/v1/lti/platforms", headers=AUTH, json={**base, **change})
        assert r.status_code == 422 and text in r.text, r.text
    assert httpx.post(f"{pw}/v1/lti/platforms", headers=ORTIZ, json=base).status_code == 403
    listed = httpx.get(f"{pw}/v1/lti/platforms", headers=AUTH).json()
    assert len(listed) == 1 and listed[0]["tool"]["login_url"] == f"{pw}/lti/demo/login"
    assert httpx.get(f"{pw}/lti/no-such-school/jwks").status_code == 404  # no keys made for strangers
    r = httpx.get(f"{pw}/lti/demo/login", params={"iss": "https://unknown.example", "login_hint": "x",
                                                   "target_link_uri": f"{pw}/lti/demo/launch"})
    assert r.status_code == 403 and "no LTI platform is registered with issuer" in r.text


def test_command_line_registers_rotates_and_posts_grades(rig, capsys):
    from service.cli import main

    pw, lms, db = rig
    flags = ["--db", db, "--tenant", "demo"]
    assert main(["lti", "register", *flags, "--issuer", "https://lms.example", "--client-id", "cli-client",
                 "--deployment", "d1", "--deployment", "d2", "--jwks-url", "https://lms.example/jwks",
                 "--auth-login-url", "https://lms.example/auth", "--token-url", "https://lms.example/token",
                 "--base-url", "https://pathwise.example"]) == 0
    out = capsys.readouterr().out
    assert '"deployment_ids": [\n    "d1",\n    "d2"\n  ]' in out
    assert "login URL https://pathwise.example/lti/demo/login" in out
    assert main(["lti", "register", *flags, "--issuer", "https://lms.example", "--client-id", "x",
                 "--deployment", "d", "--jwks-url", "nope", "--auth-login-url", "https://lms.example/a",
                 "--token-url", "https://lms.example/t"]) == 1
    assert "--jwks-url 'nope' is not an absolute" in capsys.readouterr().err
    assert main(["lti", "list", *flags]) == 0 and "cli-client" in capsys.readouterr().out
    assert main(["lti", "rotate-key", *flags]) == 0
    assert main(["lti", "keys", *flags]) == 0
    listing = capsys.readouterr().out
    assert '"status": "retired"' in listing and "PRIVATE" not in listing
    assert main(["lti", "grades", *flags, _class_id(pw)]) == 0
    assert '"scores_posted": 9' in capsys.readouterr().out  # 3 learners with an LMS account x 3 line items
    assert main(["lti", "grades", *flags, "--all"]) == 0  # every linked class, as the schedule does
    out = capsys.readouterr().out
    assert '"scores_posted": 9' in out and '"failed": 0' in out
    assert main(["lti", "grades", *flags]) == 2 and "give a CLASS_ID or --all" in capsys.readouterr().err
    assert main(["lti", "grades", *flags, "--all", _class_id(pw)]) == 2
    assert main(["lti", "sync", *flags, "c-3-station"]) == 1
    assert "not linked to an LMS course" in capsys.readouterr().err


def test_scheduled_grade_passback_posts_every_class_once_per_interval(rig):
    from engine.app import Pathwise
    from service.lti_grades_job import grades_interval, grades_once

    pw, lms, db = rig
    home = Pathwise.open(db)  # a second process's view of the same store
    try:
        first = grades_once(home, "demo")
        assert not first["skipped"] and first["failed"] == 0
        assert [c["class_id"] for c in first["classes"]] == [_class_id(pw)]
        assert first["classes"][0]["courses"][0]["scores_posted"] > 0
        again = grades_once(home, "demo", min_interval_s=3600)  # another worker, same hour
        assert again["skipped"] and again["classes"] == []
    finally:
        home.close()
    assert grades_interval({}) == 3600 and grades_interval({"PATHWISE_LTI_GRADES_INTERVAL": "0"}) == 0
    with pytest.raises(ValueError, match="PATHWISE_LTI_GRADES_INTERVAL='hourly' must be a number of seconds"):
        grades_interval({"PATHWISE_LTI_GRADES_INTERVAL": "hourly"})
