"""The fast path of ``POST /xapi/statements`` (service.routes.xapi_fast) answers ordinary
requests exactly as the declared FastAPI route does, and leaves every other request to it."""

from __future__ import annotations

import base64
import uuid

import pytest

from service.routes import xapi_fast
from tests.service.conftest import LMS, NGUYEN, ORTIZ, roster
from tests.service.test_xapi import VERSION, stmt

X = {**LMS, **VERSION}
VOLATILE = {"x-request-id", "date", "content-length"}


@pytest.fixture()
def answered(monkeypatch):
    """Records whether the fast path answered each request (True) or passed it on (False)."""
    seen: list[bool] = []
    real = xapi_fast.XapiFastPath._answer

    async def spy(self, scope, messages, body):
        out = await real(self, scope, messages, body)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(xapi_fast.XapiFastPath, "_answer", spy)
    return seen


def both(c, make_request):
    """The response of the route (fast path off), then of the fast path on."""
    out = []
    for fast in (False, True):
        c.app.state.xapi_fast_path = fast
        try:
            out.append(make_request())
        finally:
            c.app.state.xapi_fast_path = True
    return out


def same(a, b, ids=True) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    assert {k for k in a.headers if k not in VOLATILE} == {k for k in b.headers if k not in VOLATILE}
    for k in a.headers:
        if k not in VOLATILE and k != "x-pathwise-not-applied":
            assert a.headers[k] == b.headers[k], k
    if not ids:
        assert _without_request_id(a.json()) == _without_request_id(b.json())


def _without_request_id(body):
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}
    return body


def test_ordinary_requests_are_answered_by_the_fast_path_as_the_route_does(fresh_client, answered):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    basic = {"Authorization": "Basic " + base64.b64encode(b"lms:pw-demo-lms").decode(), **VERSION}
    cases = [
        ("one statement, bearer", X, lambda: stmt(learner, sid=str(uuid.uuid4()))),
        ("array, X-API-Key", {"X-API-Key": "pw-demo-lms", **VERSION},
         lambda: [stmt(learner, sid=str(uuid.uuid4())), stmt(learner, sid=str(uuid.uuid4()), result={"success": False})]),
        ("basic auth, not applied: unknown learner", basic, lambda: [stmt("L-nobody", sid=str(uuid.uuid4()))]),
        ("no id: the store assigns one", X, lambda: stmt(learner)),
    ]
    for name, headers, body in cases:
        sent = []

        def post(headers=headers, body=body, sent=sent):
            b = body()
            sent.append(b)
            return c.post("/xapi/statements", headers=headers, json=b)

        answered.clear()
        route, fast = both(c, post)
        assert answered == [True], name  # only the second went the fast way (the first was switched off)
        same(route, fast)
        for r, b in ((route, sent[0]), (fast, sent[1])):
            stmts = b if isinstance(b, list) else [b]
            ids = r.json()
            assert len(ids) == len(stmts) and all(s.get("id", i) == i for s, i in zip(stmts, ids, strict=True)), name
        if "unknown learner" in name:
            assert "unknown learner" in fast.headers["x-pathwise-not-applied"]
            assert fast.headers["x-pathwise-not-applied-count"] == "1"
        assert fast.headers["cache-control"] == "no-store" and fast.headers["x-experience-api-version"] == "1.0.3"
        if name == "one statement, bearer":  # the fast path applies the evidence as the route does
            store = c.app.state.pathwise.store.for_tenant("demo")
            assert [store.get_statement(r.json()[0])["status"] for r in (route, fast)] == ["applied", "applied"]


def test_everything_else_is_answered_by_the_route(fresh_client, answered):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    taken = str(uuid.uuid4())
    assert c.post("/xapi/statements", headers=X, json=stmt(learner, sid=taken)).status_code == 200
    cases = {
        "no version header": (LMS, stmt(learner), 400),
        "bad version": ({**LMS, "X-Experience-API-Version": "0.9"}, stmt(learner), 400),
        "unknown key": ({"Authorization": "Bearer nope", **VERSION}, stmt(learner), 401),
        "no credentials": (VERSION, stmt(learner), 401),
        "invalid statement": (X, {**stmt(learner), "verb": {"id": "not an iri"}}, 400),
        "empty array": (X, [], 400),
        "same id, other content": (X, stmt(learner, sid=taken, result={"success": False}), 409),
        "teacher, learner outside their classes": ({**ORTIZ, **VERSION}, stmt("L-nobody", sid=str(uuid.uuid4())), 403),
    }
    cases["teacher voids outside their classes"] = ({**NGUYEN, **VERSION}, {  # learner is Ortiz's
        "id": str(uuid.uuid4()), "actor": {"mbox": "mailto:t@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}, "object": {"objectType": "StatementRef", "id": taken}}, 403)
    for name, (headers, body, status) in cases.items():
        answered.clear()
        route, fast = both(c, lambda headers=headers, body=body: c.post("/xapi/statements", headers=headers, json=body))
        assert route.status_code == status, (name, route.text)
        same(route, fast, ids=False)
        assert True not in answered, name
    # malformed JSON and a non-JSON content type: the route's answer, not the fast path's
    for name, headers, data in (("malformed JSON", {**X, "Content-Type": "application/json"}, b"{"),
                                ("form body", {**X, "Content-Type": "application/x-www-form-urlencoded"}, b"a=1")):
        answered.clear()
        route, fast = both(c, lambda headers=headers, data=data: c.post("/xapi/statements", headers=headers, content=data))
        assert route.status_code == 400, (name, route.text)
        same(route, fast, ids=False)
        assert True not in answered, name
