"""App-level behaviour: health, credentials everywhere else, OpenAPI, errors, limits."""

from __future__ import annotations

import re

from tests.service.conftest import ADMIN, LMS

PATH_PARAMS = {"learner_id": "L001", "skill_id": "3.OA.A.1", "activity_id": "A0001",
               "class_id": "c-3-station", "plan_id": "plan_x", "job_id": "job_x", "key_id": "key_x",
               "version": "1", "teacher_id": "t-ortiz", "guardian_id": "g-x",
               "platform_id": "lti-x", "claim": "email", "value": "x@y.example",
               "experiment_id": "exp-x", "group_id": "g-x"}


def test_health_needs_no_credentials(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.headers["x-request-id"]


def test_every_other_endpoint_requires_credentials(client):
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, ops in spec["paths"].items():
        if path in ("/health", "/xapi/about"):  # /xapi/about: open, as the xAPI spec has it
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_PARAMS[m.group(1)], path)
        for method in ops:
            r = client.request(method.upper(), url, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["type"] == "unauthorized"
            checked += 1
    assert checked >= 35


def test_bad_key_is_401(client):
    r = client.get("/v1/classes", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.get("/v1/classes", headers={"X-API-Key": "pw-demo-admin"})
    assert r.status_code == 200


def test_openapi_is_complete(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for needed in ("/v1/evidence", "/xapi/statements", "/v1/learners/{learner_id}/mastery",
                   "/v1/learners/{learner_id}/mastery/history", "/v1/learners/{learner_id}/profile",
                   "/v1/graph/case", "/v1/learners/{learner_id}/ready-to-learn",
                   "/v1/learners/{learner_id}/gaps/{skill_id}", "/v1/catalog/activities",
                   "/v1/catalog/import", "/v1/learners/{learner_id}/playlist", "/v1/classes/{class_id}/plan",
                   "/v1/plans/{plan_id}/approve", "/v1/plans/{plan_id}/edit", "/v1/plans/{plan_id}/reject",
                   "/v1/plans/{plan_id}/regenerate", "/v1/models/fit", "/v1/models/jobs/{job_id}",
                   "/v1/learners/{learner_id}/export", "/v1/learners/{learner_id}", "/v1/research/export"):
        assert needed in paths, needed
    # every operation documents its success schema and the shared error body
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op["responses"], (method, path)
            if path not in ("/health", "/xapi/about"):  # both open, and take no input
                assert "422" in op["responses"] or "401" in op["responses"], (method, path)
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_docs_page_needs_no_internet(client):
    """/docs works on a school network without internet: every asset is served here."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200
    refs = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    refs += re.findall(r"""url: ?['"]([^'"]+)['"]""", page.text)
    assert refs and "/openapi.json" in refs
    assert not [r for r in refs if "//" in r], refs  # nothing from another host
    for ref in refs:
        assert client.get(ref).status_code == 200, ref
    assert "SwaggerUIBundle" in client.get("/static/swagger-ui/swagger-ui-bundle.js").text
    assert "/docs" not in client.get("/openapi.json").json()["paths"]


def test_field_level_422(client):
    r = client.post("/v1/evidence", headers=LMS, json={"observations": [
        {"id": "x", "learner_id": "L001", "activity_id": "A0001", "score": 1.7,
         "observed_at": "2026-10-01T10:00:00Z"}]})
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["type"] == "invalid"
    assert any(f["loc"][-1] == "score" for f in body["fields"])
    assert body["request_id"] == r.headers["x-request-id"]


def test_malformed_json_is_422_not_500(client):
    r = client.post("/v1/evidence", headers={**LMS, "content-type": "application/json"}, content=b"{oops")
    assert r.status_code == 422


def test_request_size_limit(client):
    big = b"x" * (client.app.state.settings.max_body_bytes + 10)
    r = client.post("/v1/evidence", headers={**LMS, "content-type": "application/json"}, content=big)
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "too_large"


def test_batch_count_limit(client):
    n = client.app.state.settings.max_batch + 1
    obs = [{"id": f"o{i}", "learner_id": "L001", "activity_id": "A0001", "score": 1,
            "observed_at": "2026-10-01T10:00:00Z"} for i in range(n)]
    r = client.post("/v1/evidence", headers=LMS, json={"observations": obs})
    assert r.status_code == 413


def test_request_id_is_echoed(client):
    r = client.get("/v1/classes", headers={**ADMIN, "X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


def test_unknown_route_is_json_404(client):
    r = client.get("/v1/nothing-here", headers=ADMIN)
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found"


def test_security_headers(client):
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in client.get("/docs").headers


def test_access_log_is_json_with_request_id_and_actor(client):
    import json
    import logging

    from service.logs import JsonFormatter

    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    log = logging.getLogger("pathwise.access")
    handler, level = Grab(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        client.get("/v1/classes", headers={**ADMIN, "X-Request-ID": "log-test-1"})
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    rows = [json.loads(r) for r in records]
    row = next(r for r in rows if r["request_id"] == "log-test-1")
    assert row["path"] == "/v1/classes" and row["status"] == 200 and row["ms"] >= 0
    assert row["tenant"] == "demo" and row["role"] == "admin" and row["actor"].startswith("key_")


def test_an_evidence_batch_and_its_audit_entry_are_written_together(fresh_client):
    """The use case's audit entry runs inside the ingest's own transaction (no outer one): a
    stored batch has its entry, a batch refused inside the ingest (409: a reused id with a
    new payload) leaves neither evidence nor an entry."""
    c = fresh_client

    def evidence_entries():
        rows = c.get("/v1/audit", headers=ADMIN, params={"limit": 5000}).json()
        return [r for r in rows if r["action"] == "write" and r["resource"] == "evidence"]

    before = len(evidence_entries())
    ok = {"id": "audit-1", "learner_id": "L001", "activity_id": "A0001", "score": 1,
          "observed_at": "2026-10-01T10:00:00Z"}
    r = c.post("/v1/evidence", headers=LMS, json={"observations": [ok]})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    entries = evidence_entries()
    assert len(entries) == before + 1
    assert entries[-1]["detail"]["accepted"] == 1 and entries[-1]["detail"]["learners"] == ["L001"]
    fresh = {**ok, "id": "audit-2", "observed_at": "2026-10-01T10:05:00Z"}
    changed = {**ok, "score": 0}
    r = c.post("/v1/evidence", headers=LMS, json={"observations": [fresh, changed]})
    assert r.status_code == 409
    assert len(evidence_entries()) == before + 1
    again = c.post("/v1/evidence", headers=LMS, json={"observations": [fresh]})
    assert again.json()["accepted"] == 1  # audit-2 was not stored by the refused batch
