"""The xAPI statement resource as 1.0.3 requires (issue 12 item 3): GET /xapi/statements
(by id, filtered, paged with ``more``), /xapi/about, Basic auth, the version header on
every response, statement sameness, voiding, and the spec's own example statements
(tests/service/data/xapi_spec_examples.json)."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path

import pytest

from tests.service.conftest import ADMIN, LMS, ORTIZ, RESEARCHER, roster
from tests.service.test_xapi import VERSION, stmt

SPEC = json.loads((Path(__file__).parent / "data" / "xapi_spec_examples.json").read_text())
X = {**LMS, **VERSION}
ACTOR = {"objectType": "Agent", "mbox": "mailto:spec-tester@example.com"}
SENT = {"id": "http://example.com/xapi/verbs#sent-a-statement", "display": {"en-US": "sent"}}


def spec_statements() -> list[tuple[str, dict]]:
    """Every example of the spec as a statement: Appendix A/D and 2.3.2 as written, the
    Appendix B objects and Appendix C interaction definitions inside a statement."""
    out = [(name, copy.deepcopy(s)) for name, s in SPEC["statements"].items()]
    out += [(name, {"actor": ACTOR, "verb": SENT, "object": copy.deepcopy(o)}) for name, o in SPEC["objects"].items()]
    out += [(name, {"actor": ACTOR, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                    "object": {"objectType": "Activity", "id": f"http://example.com/interactions/{name}",
                               "definition": copy.deepcopy(d)}, "result": {"response": "true"}})
            for name, d in SPEC["definitions"].items()]
    return out


def get(c, headers=X, **params):
    return c.get("/xapi/statements", headers=headers, params=params)


def test_every_spec_example_is_accepted_and_read_back(fresh_client):
    c = fresh_client
    examples = spec_statements()
    assert len(examples) == 19
    voiding_target = SPEC["statements"]["2.3.2.voiding"]["object"]["id"]
    for name, s in examples:
        r = c.post("/xapi/statements", headers=X, json=s)
        assert r.status_code == 200, (name, r.text)
        sid = r.json()[0]
        if "id" in s:
            assert sid == s["id"]
        back = get(c, statementId=sid)
        assert back.status_code == 200, (name, back.text)
        got = back.json()
        assert got["id"] == sid and got["verb"]["id"] == s["verb"]["id"] and got["actor"] == s["actor"]
        assert got["stored"].endswith("Z") and got["authority"]["objectType"] == "Agent"
        for acts in (got.get("context", {}).get("contextActivities") or {}).values():
            assert isinstance(acts, list)
    # the voiding example names a statement that never arrived: accepted, and when it
    # arrives later it is stored voided (never returned by statementId, never evidence)
    late = {"id": voiding_target, "actor": ACTOR, "verb": SENT, "object": {"id": "http://example.com/late"}}
    assert c.post("/xapi/statements", headers=X, json=late).status_code == 200
    assert get(c, statementId=voiding_target).status_code == 404
    assert get(c, voidedStatementId=voiding_target).json()["id"] == voiding_target
    everything = get(c, limit="0").json()["statements"]
    assert voiding_target not in {s["id"] for s in everything}
    assert {s["id"] for s in SPEC["statements"].values() if "id" in s} <= {s["id"] for s in everything}


@pytest.mark.parametrize("change", [
    lambda s: {**s, "verb": {**s["verb"], "display": {"fr-FR": "a répondu"}}},
    lambda s: {**s, "object": {**s["object"], "definition": {"name": {"en-US": "renamed"}}}},
    lambda s: {**s, "timestamp": "2026-10-02T11:00:00.000+02:00"},
    lambda s: {**s, "actor": {"objectType": "Agent", "mbox": "mailto:JANE.DOE@District.Example"}},
    lambda s: {**s, "context": {"contextActivities": {"parent": [{"id": "https://lms.example/courses/math-3"}]}}},
])
def test_resent_statement_that_the_spec_calls_the_same(client, change):
    base = {**stmt("L-nobody", sid=str(uuid.uuid4())), "actor": {"objectType": "Agent", "mbox": "mailto:jane.doe@district.example"},
            "context": {"contextActivities": {"parent": {"id": "https://lms.example/courses/math-3"}}}}
    assert client.post("/xapi/statements", headers=X, json=base).status_code == 200
    again = change(base)
    r = client.post("/xapi/statements", headers=X, json=again)
    assert r.status_code == 200 and r.json() == [base["id"]], r.text
    r = client.put("/xapi/statements", headers=X, params={"statementId": base["id"]}, json=again)
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("change", [
    lambda s: {**s, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}},
    lambda s: {**s, "result": {"success": False}},
    lambda s: {**s, "timestamp": "2026-10-02T09:00:01Z"},
    lambda s: {**s, "object": {"objectType": "Activity", "id": "https://lms.example/activities/A0002"}},
])
def test_resent_statement_that_really_differs_is_409(client, change):
    base = stmt("L-nobody", sid=str(uuid.uuid4()))
    assert client.post("/xapi/statements", headers=X, json=base).status_code == 200
    r = client.post("/xapi/statements", headers=X, json=change(base))
    assert r.status_code == 409 and r.headers["x-experience-api-version"] == "1.0.3"


def test_version_header_rules_and_every_error_carries_it(client):
    s = stmt("L-nobody")
    for version, status in (("1.0.3", 200), ("1.0", 200), ("1.0.0", 200), ("1.0.1", 200), ("2.0.0", 200),
                            ("0.95", 400), ("1.1.0", 400), ("banana", 400), ("3.0.0", 400)):
        r = client.post("/xapi/statements", headers={**LMS, "X-Experience-API-Version": version}, json=s)
        assert r.status_code == status, (version, r.text)
        assert r.headers["x-experience-api-version"] == ("2.0.0" if version == "2.0.0" else "1.0.3")
    missing = client.post("/xapi/statements", headers=LMS, json=s)
    assert missing.status_code == 400 and "X-Experience-API-Version" in missing.json()["error"]["message"]
    errors = [
        client.post("/xapi/statements", headers=VERSION, json=s),  # no credentials: 401
        client.post("/xapi/statements", headers={**RESEARCHER, **VERSION}, json=s),  # 403
        get(client, statementId=str(uuid.uuid4())),  # 404
        client.post("/xapi/statements", headers=X, json={**s, "actor": None}),  # 400
        client.post("/xapi/statements", headers=X, content=b"{not json"),  # 400, not 422
        client.put("/xapi/statements", headers=X, json=s),  # no statementId: 400, not 422
        get(client, limit="many"),  # 400
        get(client, colour="red"),  # unknown parameter: 400
        get(client, statementId=str(uuid.uuid4()), verb="http://adlnet.gov/expapi/verbs/answered"),  # 400
        client.delete("/xapi/statements", headers=X),  # 405
    ]
    assert [r.status_code for r in errors] == [401, 403, 404, 400, 400, 400, 400, 400, 400, 405]
    for r in errors:
        assert r.headers["x-experience-api-version"] == "1.0.3", r.status_code
    assert 'Basic realm="pathwise"' in errors[0].headers["www-authenticate"]


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", **VERSION}


def test_basic_auth_with_a_key(client):
    s = stmt("L-nobody", sid=str(uuid.uuid4()))
    assert client.post("/xapi/statements", headers=basic("lms-key", "pw-demo-lms"), json=s).status_code == 200
    assert client.post("/xapi/statements", headers=basic("pw-demo-lms", ""), json=s).status_code == 200
    assert get(client, headers=basic("anything", "pw-demo-lms"), statementId=s["id"]).json()["id"] == s["id"]
    for bad in (basic("lms", "wrong"), {"Authorization": "Basic !!!", **VERSION}, basic("", "")):
        assert client.post("/xapi/statements", headers=bad, json=s).status_code == 401
    # Bearer and X-API-Key keep working
    assert get(client, headers={"X-API-Key": "pw-demo-lms", **VERSION}, statementId=s["id"]).status_code == 200
    assert get(client, headers={**ADMIN, **VERSION}, statementId=s["id"]).status_code == 200
    assert get(client, headers={**ORTIZ, **VERSION}, statementId=s["id"]).status_code == 403


def test_about_needs_no_credentials(client):
    r = client.get("/xapi/about")
    assert r.status_code == 200 and "1.0.3" in r.json()["version"] and "2.0.0" in r.json()["version"]
    assert r.headers["x-experience-api-version"] == "1.0.3"
    assert client.get("/xapi/about", headers=VERSION).json()["version"] == ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]
    r = client.get("/xapi/about", headers={"X-Experience-API-Version": "2.0.0"})
    assert "2.0.0" in r.json()["version"] and r.headers["x-experience-api-version"] == "2.0.0"


def test_filters_paging_and_formats(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    reg = str(uuid.uuid4())
    sent = []
    for i in range(7):
        s = stmt(learner, sid=str(uuid.uuid4()), activity="A0001" if i % 2 else "A0002",
                 ts=f"2026-10-0{i + 1}T09:00:00Z")
        if i < 3:
            s["context"] = {"registration": reg, "contextActivities": {"grouping": [{"id": "https://lms.example/units/u7"}]}}
        if i == 6:
            s["verb"] = {"id": "http://adlnet.gov/expapi/verbs/passed"}
        assert c.post("/xapi/statements", headers=X, json=s).status_code == 200
        sent.append(s["id"])
    other = stmt("L-nobody", sid=str(uuid.uuid4()))
    assert c.post("/xapi/statements", headers=X, json=other).status_code == 200
    agent = json.dumps({"account": {"homePage": "https://lms.example", "name": learner}})

    def ids(**params):
        r = get(c, **params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["statements"]]

    assert ids(agent=agent) == sent[::-1]  # newest stored first
    assert ids(agent=agent, ascending="true") == sent
    assert ids(agent=agent, verb="http://adlnet.gov/expapi/verbs/passed") == [sent[6]]
    assert ids(agent=agent, activity="https://lms.example/activities/A0001") == [sent[5], sent[3], sent[1]]
    assert ids(registration=reg) == sent[2::-1]
    assert ids(activity="https://lms.example/units/u7") == []
    assert ids(activity="https://lms.example/units/u7", related_activities="true") == sent[2::-1]
    # paging: 3 per page, the more URL works to the end
    page = get(c, agent=agent, limit="3", ascending="true").json()
    seen = [s["id"] for s in page["statements"]]
    while page["more"]:
        assert page["more"].startswith("/xapi/statements?more=")
        page = c.get(page["more"], headers=X).json()
        seen += [s["id"] for s in page["statements"]]
    assert seen == sent
    # since/until on the stored time
    stored = {s["id"]: s["stored"] for s in get(c, agent=agent, limit="0").json()["statements"]}
    first = get(c, statementId=sent[0]).json()["stored"]
    assert set(ids(agent=agent, until=first)) == {i for i in sent if stored[i] <= first}
    assert set(ids(agent=agent, since=first)) == {i for i in sent if stored[i] > first}
    # format=ids keeps identifiers only
    one = get(c, statementId=sent[6], format="ids").json()
    assert one["verb"] == {"id": "http://adlnet.gov/expapi/verbs/passed"}
    assert set(one["object"]) == {"objectType", "id"}
    assert c.get("/xapi/statements", headers=X, params={"more": "garbage!"}).status_code == 400
    assert get(c, headers={**ADMIN, **VERSION}, agent=agent).status_code == 200


def test_voided_statements_leave_queries_and_evidence(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[1]
    sid = str(uuid.uuid4())
    assert c.post("/xapi/statements", headers=X, json=stmt(learner, sid=sid)).status_code == 200
    assert f"xapi:{sid}" in observations(c, learner)
    void = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:lms@school.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}, "object": {"objectType": "StatementRef", "id": sid}}
    assert c.post("/xapi/statements", headers=X, json=void).status_code == 200
    assert get(c, statementId=sid).status_code == 404
    assert get(c, voidedStatementId=sid).json()["id"] == sid
    assert get(c, voidedStatementId=void["id"]).status_code == 404
    listed = {s["id"] for s in get(c, limit="0").json()["statements"]}
    assert void["id"] in listed and sid not in listed
    # filters also return the statements that target a matching statement (1.0.3 2.1.3):
    # the voiding statement and a comment on the voided one match the learner's agent
    comment = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:teacher@school.example"},
               "verb": {"id": "http://adlnet.gov/expapi/verbs/commented"},
               "object": {"objectType": "StatementRef", "id": void["id"]}}
    assert c.post("/xapi/statements", headers=X, json=comment).status_code == 200
    agent = json.dumps({"account": {"homePage": "https://lms.example", "name": learner}})
    mine = [s["id"] for s in get(c, agent=agent, limit="0").json()["statements"]]
    assert mine[:2] == [comment["id"], void["id"]] and sid not in mine
    teacher = json.dumps({"mbox": "mailto:teacher@school.example"})
    assert [s["id"] for s in get(c, agent=teacher).json()["statements"]] == [comment["id"]]
    assert f"xapi:{sid}" not in observations(c, learner)


def observations(c, learner) -> set[str]:
    data = c.get(f"/v1/learners/{learner}/export", headers=ADMIN).json()["data"]
    return {o["observation_id"] for o in data["observations"]}


def test_statements_stored_as_documents_are_moved_on_first_read(fresh_client):
    """A statement kept as a document (before migration 0020, never indexed) is moved into
    xapi_statements on the first read and then found by every query."""
    from engine.store import _xapi

    c = fresh_client
    s = stmt("L-nobody", sid=str(uuid.uuid4()))
    assert c.post("/xapi/statements", headers=X, json=s).status_code == 200
    assert get(c, statementId=s["id"]).status_code == 200  # this process has read 'demo' once
    ts = c.app.state.pathwise.store.for_tenant("demo")
    record = ts.get_statement(s["id"])
    with ts.transaction():  # as a database from before 0020 holds it
        ts._driver.execute("DELETE FROM xapi_statement_refs WHERE tenant_id = 'demo'")
        ts._driver.execute("DELETE FROM xapi_statements WHERE tenant_id = 'demo'")
        ts.put_document(_xapi.STATEMENT_KIND, s["id"], record)
    assert get(c, statementId=s["id"]).status_code == 404  # the documents are checked once per process
    _xapi._BACKFILLED.clear()
    assert get(c, statementId=s["id"]).json()["id"] == s["id"]
    assert ts.list_documents(_xapi.STATEMENT_KIND) == []  # moved, not copied
    # a re-sent statement finds one still kept as a document: the same one, not a new row
    with ts.transaction():
        ts._driver.execute("DELETE FROM xapi_statement_refs WHERE tenant_id = 'demo'")
        ts._driver.execute("DELETE FROM xapi_statements WHERE tenant_id = 'demo'")
        ts.put_document(_xapi.STATEMENT_KIND, s["id"], record)
    _xapi._BACKFILLED.clear()
    assert c.post("/xapi/statements", headers=X, json=s).status_code == 200
    assert c.post("/xapi/statements", headers=X, json={**s, "result": {"success": False}}).status_code == 409
    assert ts.get_statement(s["id"]) == record
    agent = json.dumps({"account": {"homePage": "https://lms.example", "name": "L-nobody"}})
    assert s["id"] in {x["id"] for x in get(c, agent=agent).json()["statements"]}
    assert c.post("/xapi/statements", headers=X, json=stmt("L-nobody")).status_code == 200
    token = get(c, limit="1").json()["more"].split("more=")[1]
    doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**doc, "limit": 10**9}).encode()).decode()
    assert len(c.get("/xapi/statements", headers=X, params={"more": forged}).json()["statements"]) <= 500
