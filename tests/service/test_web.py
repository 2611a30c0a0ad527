"""Teacher page through the test client: login, classes, class view, review forms."""

from __future__ import annotations

import re

from tests.service.conftest import ADMIN, roster


def login_token(c) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)


def login(c, user="t-ortiz", password="demo"):
    return c.post("/login", data={"username": user, "password": password, "next": "/", "csrf": login_token(c)},
                  follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_login_required_and_bad_password(fresh_client):
    c = fresh_client
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "Demo logins" in c.get("/login").text
    assert login(c, password="wrong").status_code == 401
    assert login(c, user="nobody").status_code == 401
    # an LMS key is not a teacher login
    r = c.post("/login", data={"api_key": "pw-demo-lms", "csrf": login_token(c)}, follow_redirects=False)
    assert r.status_code == 401


def test_teacher_flow(fresh_client):
    c = fresh_client
    r = login(c)
    assert r.status_code == 303
    home = c.get("/")
    assert "Grade 3 Math - Station Rotation" in home.text and "Lab Rotation" not in home.text
    page = c.get("/classes/c-3-station")
    assert page.status_code == 200 and "Generate session plan" in page.text
    token = csrf_of(page.text)
    assert c.post("/classes/c-3-station/plan", data={"csrf": "bad"}).status_code == 403
    r = c.post("/classes/c-3-station/plan", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get("/classes/c-3-station").text
    assert "Group A" in page and "Rotation" in page and "Approve" in page
    learner = roster(c, "c-3-station")[0]
    plan = c.get("/v1/plans", params={"learner_id": learner}, headers=ADMIN).json()[0]
    first = plan["items"][0]["activity_id"]
    # remove an item, approve; both persist
    r = c.post(f"/plans/{plan['plan_id']}/edit", data={"csrf": token, "op": "remove", "activity_id": first,
                                                        "back": "/classes/c-3-station"}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/plans/{plan['plan_id']}/approve", data={"csrf": token, "back": "/classes/c-3-station"},
               follow_redirects=False)
    assert r.status_code == 303
    saved = c.get(f"/v1/plans/{plan['plan_id']}", headers=ADMIN).json()
    assert saved["status"] == "approved" and first not in [i["activity_id"] for i in saved["items"]]
    # the learner page shows mastery, gaps and profile with provenance
    lp = c.get(f"/learners/{learner}")
    assert lp.status_code == 200 and "Mastery" in lp.text and "set by" in lp.text
    # other classes' pages and learners are forbidden
    assert c.get("/classes/c-4-lab").status_code == 403
    other = roster(c, "c-4-lab")[0]
    assert c.get(f"/learners/{other}").status_code == 403
    assert c.get("/classes/nope").status_code in (403, 404)
    r = c.post("/logout", data={"csrf": csrf_of(c.get("/").text)}, follow_redirects=False)
    assert r.status_code == 303


def test_login_with_teacher_key(fresh_client):
    c = fresh_client
    r = c.post("/login", data={"api_key": "pw-demo-teacher-t-nguyen", "csrf": login_token(c)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Lab Rotation" in c.get("/").text


def test_learner_page_why_not(fresh_client):
    c = fresh_client
    login(c)
    learner = roster(c, "c-3-station")[0]
    page = c.get(f"/learners/{learner}", params={"why_not": "A0001"})
    assert page.status_code == 200
    assert '<p class="reason" id="why-not"><strong>' in page.text  # the answer, in plain words
    found = c.get(f"/learners/{learner}", params={"find": "A0001"}).text  # the activity search
    assert f'/learners/{learner}?why_not=A0001#why-not' in found
    assert c.get(f"/learners/{learner}", params={"why_not": "NOPE"}).status_code == 404


def test_page_move_start_done(fresh_client):
    c = fresh_client
    login(c)
    learner = roster(c, "c-3-station")[0]
    plan = c.post(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()
    pid, ids = plan["plan_id"], [i["activity_id"] for i in plan["items"]]
    token = csrf_of(c.get("/classes/c-3-station").text)
    back = "/classes/c-3-station"
    if len(ids) >= 2:
        r = c.post(f"/plans/{pid}/edit", data={"csrf": token, "op": "down", "activity_id": ids[0], "back": back},
                   follow_redirects=False)
        assert r.status_code == 303
        moved = [i["activity_id"] for i in c.get(f"/v1/plans/{pid}", headers=ADMIN).json()["items"]]
        assert moved[:2] == [ids[1], ids[0]]
    for step, status in (("approve", "approved"), ("activate", "active"), ("complete", "done")):
        r = c.post(f"/plans/{pid}/{step}", data={"csrf": token, "back": back}, follow_redirects=False)
        assert r.status_code == 303, (step, r.text[:200])
        assert c.get(f"/v1/plans/{pid}", headers=ADMIN).json()["status"] == status
    # a step the lifecycle does not allow shows an error page, not a 500
    r = c.post(f"/plans/{pid}/approve", data={"csrf": token, "back": back})
    assert r.status_code == 409 and "cannot approve" in r.text


def test_teacher_page_shows_a_pending_proposal_next_to_the_approved_playlist(fresh_client):
    from tests.service.conftest import LMS

    c = fresh_client
    login(c)
    learner = roster(c, "c-3-station")[1]
    token = csrf_of(c.get("/classes/c-3-station").text)
    c.post("/classes/c-3-station/plan", data={"csrf": token})
    mine = c.get(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()
    r = c.post(f"/plans/{mine['plan_id']}/approve", data={"csrf": token, "back": "/classes/c-3-station"},
               follow_redirects=False)
    assert r.status_code == 303
    assert "New proposal waiting" not in c.get(f"/learners/{learner}").text
    lms = c.post(f"/v1/learners/{learner}/playlist", headers=LMS).json()
    for url in (f"/learners/{learner}", "/classes/c-3-station"):
        page = c.get(url).text
        assert "New proposal waiting" in page, url
        assert f"/plans/{mine['plan_id']}/" in page and f"/plans/{lms['plan_id']}/approve" in page
    # approving the proposal from the page makes it the current playlist
    c.post(f"/plans/{lms['plan_id']}/approve", data={"csrf": token, "back": f"/learners/{learner}"})
    assert c.get(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()["plan_id"] == lms["plan_id"]
    assert "New proposal waiting" not in c.get(f"/learners/{learner}").text
