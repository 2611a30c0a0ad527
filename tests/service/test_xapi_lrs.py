"""xAPI like an LRS (issue 12 items 1, 2, 5, 6): every valid statement stored and acknowledged,
evidence by the verb table, an explicit identity map, and the teacher scope on voiding."""

from __future__ import annotations

import uuid

from tests.service.conftest import ADMIN, LMS, NGUYEN, ORTIZ, roster
from tests.service.test_xapi import VERSION, history, stmt

ADL = "http://adlnet.gov/expapi/verbs/"


def mastery(c, learner):
    return {m["skill_id"]: m["p_mastered"] for m in
            c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["skills"]}


def with_verb(s, verb):
    return {**s, "verb": {"id": ADL + verb}}


def stored_doc(c, sid):
    record = c.app.state.pathwise.store.for_tenant("demo").get_statement(sid)
    assert record is not None, f"statement {sid} is not stored"
    return record


def test_experienced_with_completion_false_does_not_move_mastery(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    before, n = mastery(c, learner), len(history(c, learner))
    for verb in ("experienced", "launched", "initialized", "progressed", "interacted", "terminated"):
        sid = str(uuid.uuid4())
        r = c.post("/xapi/statements", headers={**LMS, **VERSION},
                   json=with_verb(stmt(learner, sid=sid, result={"completion": False}), verb))
        assert r.status_code == 200 and r.json() == [sid], r.text
        assert "x-pathwise-not-applied" not in r.headers  # stored as intended, nothing to report
        assert stored_doc(c, sid)["applied"] is False
    made_up = {**stmt(learner, result={"success": False}), "verb": {"id": "https://example.org/verbs/clicked"}}
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=made_up).status_code == 200
    passed_no_result = {k: v for k, v in with_verb(stmt(learner), "passed").items() if k != "result"}
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=passed_no_result)
    assert r.status_code == 200 and "a result is required" in r.headers["x-pathwise-not-applied"]
    assert mastery(c, learner) == before and len(history(c, learner)) == n
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=with_verb(stmt(learner, result={"success": False}), "failed"))
    assert r.status_code == 200 and len(history(c, learner)) > n


def test_statements_are_stored_whole(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[1]
    sid = str(uuid.uuid4())
    s = stmt(learner, sid=sid)
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=s).status_code == 200
    doc = stored_doc(c, sid)
    assert doc["applied"] is True and doc["learner_id"] == learner
    kept = doc["statement"]
    assert {k: kept[k] for k in s} == s
    assert kept["version"] == "1.0.3" and kept["stored"].endswith("Z")
    assert kept["authority"]["objectType"] == "Agent" and kept["authority"]["account"]["name"]


def test_unknown_learner_or_activity_is_stored_not_applied(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[2]
    n = len(history(c, learner))
    good, nobody, no_act = (stmt(learner, sid=str(uuid.uuid4())), stmt("NOBODY", sid=str(uuid.uuid4())),
                            stmt(learner, sid=str(uuid.uuid4()), activity="NO-ACT"))
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=[good, nobody, no_act])
    assert r.status_code == 200, r.text
    assert r.json() == [good["id"], nobody["id"], no_act["id"]]
    assert r.headers["x-pathwise-not-applied-count"] == "2"
    report = r.headers["x-pathwise-not-applied"]
    assert "stored, not applied: unknown learner account:https://lms.example|NOBODY" in report
    assert "stored, not applied: unknown activity https://lms.example/activities/NO-ACT" in report
    assert len(history(c, learner)) == n + 1  # the good one applied
    assert stored_doc(c, nobody["id"])["statement"]["actor"] == nobody["actor"]
    # re-sending the batch is idempotent
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=[good, nobody, no_act]).status_code == 200
    assert len(history(c, learner)) == n + 1


def test_identity_map_no_guessing(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[3]
    n = len(history(c, learner))
    evil = {**stmt(learner), "actor": {"mbox": f"mailto:{learner}@evil.example"}}
    other_lms = {**stmt(learner, result={"success": False}),
                 "actor": {"account": {"homePage": "https://other-lms.example", "name": learner}}}
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=[evil, other_lms])
    assert r.status_code == 200 and r.headers["x-pathwise-not-applied-count"] == "2"
    assert f"unknown learner mbox:mailto:{learner.lower()}@evil.example" in r.headers["x-pathwise-not-applied"]
    assert len(history(c, learner)) == n
    # an admin maps the district address; only then it counts
    body = {"entries": [{"agent": {"mbox": "mailto:Jane.Doe@District.example"}, "learner_id": learner}]}
    assert c.put("/v1/xapi/identities", headers=LMS, json=body).status_code == 403
    r = c.put("/v1/xapi/identities", headers=ADMIN, json=body)
    assert r.status_code == 200 and r.json() == {"mapped": 1, "removed": 0}
    jane = {**stmt(learner, ts="2026-10-05T09:00:00Z"), "actor": {"mbox": "mailto:jane.doe@district.example"}}
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=jane)
    assert r.status_code == 200 and "x-pathwise-not-applied" not in r.headers
    assert len(history(c, learner)) == n + 1
    assert c.get("/v1/xapi/identities", headers=ORTIZ).status_code == 403
    seen = c.get("/v1/xapi/identities", headers=ADMIN, params={"limit": 10000}).json()
    assert seen["roster_home_pages"] == ["https://lms.example"]
    assert {"identity": "mbox:mailto:jane.doe@district.example", "learner_id": learner} in seen["entries"]
    bad = {"entries": [{"agent": {"mbox": "jane"}, "learner_id": learner}]}
    assert c.put("/v1/xapi/identities", headers=ADMIN, json=bad).status_code == 422
    unknown = {"entries": [{"agent": {"mbox": "mailto:x@y.example"}, "learner_id": "NOBODY"}]}
    assert c.put("/v1/xapi/identities", headers=ADMIN, json=unknown).status_code == 404


def test_teacher_voids_only_own_learners(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[4]  # Ortiz's class, not Nguyen's
    sid = str(uuid.uuid4())
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=stmt(learner, sid=sid)).status_code == 200

    def void(target):
        return {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:teacher@school.example"},
                "verb": {"id": ADL + "voided"}, "object": {"objectType": "StatementRef", "id": target}}

    r = c.post("/xapi/statements", headers={**NGUYEN, **VERSION}, json=void(sid))
    assert r.status_code == 403, r.text
    assert stored_doc(c, sid)["applied"] is True and not stored_doc(c, sid)["voided"]
    # nor a statement that has not arrived (its learner is unknown)
    assert c.post("/xapi/statements", headers={**NGUYEN, **VERSION}, json=void(str(uuid.uuid4()))).status_code == 403
    assert c.post("/xapi/statements", headers={**ORTIZ, **VERSION}, json=void(sid)).status_code == 200
    assert stored_doc(c, sid)["voided"] is True


def test_verb_table_per_tenant(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[5]
    table = c.get("/v1/xapi/verbs", headers=ADMIN).json()
    assert table["effective"][ADL + "answered"] == "attempt" and table["overrides"] == {}
    assert table["effective"][ADL + "experienced"] == "ignore"
    body = {"verbs": {ADL + "experienced": "attempt", ADL + "answered": "ignore"}}
    assert c.put("/v1/xapi/verbs", headers=LMS, json=body).status_code == 403
    assert c.put("/v1/xapi/verbs", headers=ADMIN, json={"verbs": {ADL + "answered": "maybe"}}).status_code == 422
    r = c.put("/v1/xapi/verbs", headers=ADMIN, json=body)
    assert r.status_code == 200 and r.json()["overrides"] == body["verbs"]
    n = len(history(c, learner))
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=stmt(learner)).status_code == 200  # answered: ignored now
    assert len(history(c, learner)) == n
    exp = with_verb(stmt(learner, result={"score": {"scaled": 0.9}}), "experienced")
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=exp).status_code == 200
    assert len(history(c, learner)) == n + 1


def test_pending_statements_apply_when_the_activity_or_identity_appears(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[6]
    n = len(history(c, learner))
    late_act = stmt(learner, sid=str(uuid.uuid4()), activity="A-NEW-1", ts="2026-10-06T09:00:00Z")
    by_mail = {**stmt(learner, sid=str(uuid.uuid4()), ts="2026-10-04T09:00:00Z"),
               "actor": {"mbox": "mailto:sam@district.example"}}
    ignored = with_verb(stmt("NOBODY", sid=str(uuid.uuid4())), "launched")
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=[late_act, by_mail, ignored])
    assert r.status_code == 200 and r.headers["x-pathwise-not-applied-count"] == "2"
    assert c.get("/v1/xapi/pending", headers=LMS).status_code == 403
    pending = c.get("/v1/xapi/pending", headers=ADMIN).json()
    assert {p["id"] for p in pending} == {late_act["id"], by_mail["id"]}
    assert len(history(c, learner)) == n
    # the identity map learns the address: that statement is applied
    body = {"entries": [{"agent": {"mbox": "mailto:sam@district.example"}, "learner_id": learner}]}
    assert c.put("/v1/xapi/identities", headers=ADMIN, json=body).status_code == 200
    assert len(history(c, learner)) == n + 1
    assert [p["id"] for p in c.get("/v1/xapi/pending", headers=ADMIN).json()] == [late_act["id"]]
    # the catalog gains the activity: the last one is applied
    r = c.post("/v1/catalog/activities", headers=ADMIN, json={
        "id": "A-NEW-1", "title": "new", "skills": [["3.OA.A.1", 1.0]], "kind": "practice",
        "modality": "online", "duration_min": 10})
    assert r.status_code == 201, r.text
    assert len(history(c, learner)) == n + 2
    assert c.get("/v1/xapi/pending", headers=ADMIN).json() == []
    assert stored_doc(c, late_act["id"])["applied"] is True
    assert c.post("/v1/xapi/pending/apply", headers=ADMIN).json() == {"applied": 0}


def test_erasing_a_learner_drops_their_identity_map_entries(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[7]
    ts = c.app.state.pathwise.store.for_tenant("demo")
    key = f"mbox:mailto:{learner.lower()}@school.example"  # seeded by the demo
    assert ts.get_document("xapi_identity", key).payload["learner_id"] == learner
    assert c.delete(f"/v1/learners/{learner}", headers=ADMIN).status_code == 200
    assert ts.list_documents("xapi_identity", learner_id=learner) == []
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=stmt(learner, mbox=True))
    assert r.status_code == 200 and "unknown learner" in r.headers["x-pathwise-not-applied"]
