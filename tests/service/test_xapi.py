"""xAPI 1.0.3 statement ingest: mapping, idempotency by statement id, voiding."""

from __future__ import annotations

import uuid

from tests.service.conftest import ADMIN, LMS, roster

VERSION = {"X-Experience-API-Version": "1.0.3"}


def stmt(learner, *, sid=None, result=None, mbox=False, activity="A0001", ts="2026-10-02T09:00:00Z"):
    actor = ({"objectType": "Agent", "mbox": f"mailto:{learner}@school.example"} if mbox
             else {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": learner}})
    s = {"actor": actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
         "object": {"objectType": "Activity", "id": f"https://lms.example/activities/{activity}"},
         "result": result if result is not None else {"score": {"scaled": 0.9}, "success": True},
         "timestamp": ts}
    if sid is not None:
        s["id"] = sid
    return s


def history(c, learner):
    return c.get(f"/v1/learners/{learner}/mastery/history", headers=ADMIN).json()["points"]


def test_single_statement_and_array(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    n0 = len(history(c, learner))
    sid = str(uuid.uuid4())
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=stmt(learner, sid=sid))
    assert r.status_code == 200, r.text
    assert r.json() == [sid]
    assert r.headers["x-experience-api-version"] == "1.0.3"
    n1 = len(history(c, learner))
    assert n1 > n0
    batch = [stmt(learner, sid=str(uuid.uuid4()), result={"success": False}),
             stmt(learner, sid=str(uuid.uuid4()), result={"completion": True}, mbox=True),
             stmt(learner, sid=str(uuid.uuid4()), result={"score": {"raw": 3, "min": 0, "max": 4}})]
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=batch)
    assert r.status_code == 200, r.text
    assert r.json() == [s["id"] for s in batch]
    assert len(history(c, learner)) > n1
    # outcomes: success false -> 0, completion -> 1, raw 3 of 0..4 -> 0.75
    export = c.get(f"/v1/learners/{learner}/export", headers=ADMIN).json()["data"]
    scores = {o["observation_id"]: o["score"] for o in export["observations"]}
    assert scores[f"xapi:{sid}"] == 0.9
    assert scores[f"xapi:{batch[0]['id']}"] == 0.0
    assert scores[f"xapi:{batch[1]['id']}"] == 1.0
    assert scores[f"xapi:{batch[2]['id']}"] == 0.75


def test_same_id_same_statement_once_different_409(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[1]
    sid = str(uuid.uuid4())
    s = stmt(learner, sid=sid)
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=s).status_code == 200
    n = len(history(c, learner))
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=s)
    assert r.status_code == 200 and r.json() == [sid]
    assert len(history(c, learner)) == n  # accepted once
    changed = stmt(learner, sid=sid, result={"score": {"scaled": 0.1}})
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=changed)
    assert r.status_code == 409
    assert sid in r.json()["error"]["message"]
    # the same id twice in one array with different content is also 409, and writes nothing
    other = str(uuid.uuid4())
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=[stmt(learner, sid=other),
                                                      stmt(learner, sid=other, result={"success": False})])
    assert r.status_code == 409
    assert len(history(c, learner)) == n


def test_two_identical_statements_without_id_are_two_observations(fresh_client):
    """The LRS assigns each statement without an id its own id: two sends, two observations."""
    c = fresh_client
    learner = roster(c, "c-3-station")[2]
    s = {k: v for k, v in stmt(learner).items() if k != "timestamp"}
    n = len(history(c, learner))
    r1 = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=s)
    r2 = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=s)
    assert r1.status_code == r2.status_code == 200
    assert r1.json() != r2.json()
    export = c.get(f"/v1/learners/{learner}/export", headers=ADMIN).json()["data"]
    obs = {o["observation_id"] for o in export["observations"]}
    assert {f"xapi:{r1.json()[0]}", f"xapi:{r2.json()[0]}"} <= obs
    assert len(history(c, learner)) > n


def test_voiding_retracts_evidence(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[3]
    before = c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["skills"]
    sid = str(uuid.uuid4())
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=stmt(learner, sid=sid)).status_code == 200
    obs_ids = {o["observation_id"] for o in c.get(f"/v1/learners/{learner}/export", headers=ADMIN).json()["data"]["observations"]}
    assert f"xapi:{sid}" in obs_ids
    void = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:lms@school.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": sid}}
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=void)
    assert r.status_code == 200, r.text
    data = c.get(f"/v1/learners/{learner}/export", headers=ADMIN).json()["data"]
    assert f"xapi:{sid}" not in {o["observation_id"] for o in data["observations"]}
    after = c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).json()["skills"]
    # mastery recomputed from the remaining evidence: back to what it was
    assert {m["skill_id"]: round(m["p_mastered"], 9) for m in after} == \
           {m["skill_id"]: round(m["p_mastered"], 9) for m in before}
    # voiding a statement that has not arrived yet is accepted; the target then never counts
    late = str(uuid.uuid4())
    void2 = {**void, "id": str(uuid.uuid4()), "object": {"objectType": "StatementRef", "id": late}}
    assert c.post("/xapi/statements", headers={**LMS, **VERSION}, json=void2).status_code == 200
    n = len(history(c, learner))
    r = c.post("/xapi/statements", headers={**LMS, **VERSION}, json=stmt(learner, sid=late))
    assert r.status_code == 200 and r.json() == [late]
    assert "voided" in r.headers["x-pathwise-not-applied"]
    assert len(history(c, learner)) == n
    data = c.get(f"/v1/learners/{learner}/export", headers=ADMIN).json()["data"]
    assert f"xapi:{late}" not in {o["observation_id"] for o in data["observations"]}


def test_bad_statements_name_the_field(client):
    """Invalid xAPI is 400 naming the field and refuses the whole batch."""
    learner = roster(client, "c-3-station")[0]
    cases = [
        ({**stmt(learner), "id": "not-a-uuid"}, "id"),
        ({**stmt(learner), "actor": {"name": "x"}}, "actor"),
        ({**stmt(learner), "verb": {}}, "verb.id"),
        (stmt(learner, result={"score": {"scaled": 2}}), "result.score.scaled"),
        (stmt(learner, result={"success": "yes"}), "result.success"),
        (stmt(learner, ts="yesterday"), "timestamp"),
        ({**stmt(learner), "result": None}, "result"),
        ({**stmt(learner), "actor": {"mbox": f"mailto:{learner}@school.example",
                                     "account": {"homePage": "https://lms.example", "name": learner}}}, "actor"),
    ]
    for body, field in cases:
        r = client.post("/xapi/statements", headers={**LMS, **VERSION}, json=body)
        assert r.status_code == 400, (field, r.text)
        assert r.json()["error"]["fields"][0]["field"] == field, r.json()
    n = len(history(client, learner))
    good = stmt(learner, sid=str(uuid.uuid4()))
    r = client.post("/xapi/statements", headers={**LMS, **VERSION}, json=[good, {"verb": {}}])
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["field"].startswith("statements[1].")
    assert len(history(client, learner)) == n  # nothing written
    assert client.post("/xapi/statements", headers={**LMS, **VERSION}, json=[]).status_code == 400
    assert client.post("/xapi/statements", headers={**LMS, "X-Experience-API-Version": "0.9"},
                       json=stmt(learner)).status_code == 400


def test_put_statement_with_id(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[4]
    sid = str(uuid.uuid4())
    s = stmt(learner)
    r = c.put("/xapi/statements", params={"statementId": sid}, headers={**LMS, **VERSION}, json=s)
    assert r.status_code == 204, r.text
    assert r.headers["x-experience-api-version"] == "1.0.3"
    n = len(history(c, learner))
    assert c.put("/xapi/statements", params={"statementId": sid}, headers={**LMS, **VERSION}, json=s).status_code == 204
    assert len(history(c, learner)) == n
    changed = stmt(learner, result={"success": False})
    assert c.put("/xapi/statements", params={"statementId": sid}, headers={**LMS, **VERSION}, json=changed).status_code == 409
    other = {**s, "id": str(uuid.uuid4())}
    assert c.put("/xapi/statements", params={"statementId": sid}, headers={**LMS, **VERSION}, json=other).status_code == 409
    assert c.put("/xapi/statements", params={"statementId": "nope"}, headers={**LMS, **VERSION}, json=s).status_code == 400
    missing = c.put("/xapi/statements", headers={**LMS, **VERSION}, json=s)  # no statementId: 400, not 422
    assert missing.status_code == 400 and missing.headers["x-experience-api-version"] == "1.0.3"
