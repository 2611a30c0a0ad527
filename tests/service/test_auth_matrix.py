"""Auth matrix: every role × every resource, including cross-tenant and cross-class attempts.

Roles: lms, teacher of the learner's class (ortiz), teacher of another class (nguyen),
researcher, admin, and the rival tenant's admin and teacher. ``L`` is a learner of ortiz's
class c-3-station. Expected codes: 2xx allowed; 403 role or class forbids; 404 the other
tenant cannot even see the id (tenant scoping in the store).
"""

from __future__ import annotations

import uuid

import pytest

from tests.service.conftest import (
    ADMIN,
    LMS,
    NGUYEN,
    ORTIZ,
    RESEARCHER,
    RIVAL_ADMIN,
    RIVAL_TEACHER,
    roster,
)

ROLES = {"lms": LMS, "ortiz": ORTIZ, "nguyen": NGUYEN, "researcher": RESEARCHER, "admin": ADMIN,
         "rival_admin": RIVAL_ADMIN, "rival_teacher": RIVAL_TEACHER}
ORDER = list(ROLES)


def row(*codes):
    return dict(zip(ORDER, codes, strict=True))


#            lms  ortiz nguyen res  admin r_adm r_tch
MATRIX = {
    "evidence":        row(200, 200, 403, 403, 200, 404, 403),
    "xapi":            row(200, 200, 403, 403, 200, 200, 403),  # rival admin: stored, not applied (unknown learner)
    "mastery":         row(403, 200, 403, 403, 200, 404, 403),
    "history":         row(403, 200, 403, 403, 200, 404, 403),
    "profile_read":    row(403, 200, 403, 403, 200, 404, 403),
    "profile_write":   row(403, 200, 403, 403, 200, 404, 403),
    "ready":           row(403, 200, 403, 403, 200, 404, 403),
    "gaps":            row(403, 200, 403, 403, 200, 404, 403),
    "export":          row(403, 403, 403, 403, 200, 404, 403),
    "playlist":        row(200, 200, 403, 403, 200, 404, 403),
    "current_playlist": row(200, 200, 403, 403, 200, 404, 403),
    "why_not":         row(200, 200, 403, 403, 200, 404, 403),
    "class_plan":      row(200, 200, 403, 403, 200, 404, 403),
    "class_read":      row(403, 200, 403, 403, 200, 404, 403),
    "classes_list":    row(403, 200, 200, 403, 200, 200, 200),
    "plan_read":       row(200, 200, 403, 403, 200, 404, 404),
    "plan_approve":    row(403, 200, 403, 403, 200, 404, 404),
    "plan_edit":       row(403, 200, 403, 403, 200, 404, 404),
    "graph_import":    row(403, 403, 403, 403, 422, 422, 403),
    "graph_read":      row(200, 200, 200, 200, 200, 200, 200),
    "catalog_write":   row(403, 403, 403, 403, 201, 422, 403),
    "catalog_read":    row(200, 200, 200, 200, 200, 200, 200),
    "fit":             row(403, 403, 403, 202, 202, 202, 403),
    "models":          row(403, 403, 403, 200, 200, 200, 403),
    "research_export": row(403, 403, 403, 200, 200, 200, 403),
    "audit":           row(403, 403, 403, 403, 200, 200, 403),
    "keys":            row(403, 403, 403, 403, 201, 201, 403),
}


@pytest.fixture(scope="module")
def world(client):
    learner = roster(client, "c-3-station")[0]
    plan = client.post(f"/v1/learners/{learner}/playlist", headers=ADMIN).json()
    return {"L": learner, "plan": plan["plan_id"], "item": plan["items"][0]["activity_id"]}


def call(client, name, headers, w):
    L, P = w["L"], w["plan"]
    uid = uuid.uuid4().hex
    if name == "evidence":
        return client.post("/v1/evidence", headers=headers, json={"observations": [
            {"id": f"m-{uid}", "learner_id": L, "activity_id": "A0001", "score": 1,
             "observed_at": "2026-10-03T10:00:00Z", "source": "teacher_observation"}]})
    if name == "xapi":
        return client.post("/xapi/statements", headers={**headers, "X-Experience-API-Version": "1.0.3"}, json={
            "id": str(uuid.uuid4()), "actor": {"account": {"homePage": "https://lms.example", "name": L}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "https://lms.example/activities/A0001"}, "result": {"success": True}})
    if name == "mastery":
        return client.get(f"/v1/learners/{L}/mastery", headers=headers)
    if name == "history":
        return client.get(f"/v1/learners/{L}/mastery/history", headers=headers)
    if name == "profile_read":
        return client.get(f"/v1/learners/{L}/profile", headers=headers)
    if name == "profile_write":
        return client.patch(f"/v1/learners/{L}/profile", headers=headers,
                            json={"set_by": "teacher", "fields": {"strengths": ["persistence"]}})
    if name == "ready":
        return client.get(f"/v1/learners/{L}/ready-to-learn", headers=headers)
    if name == "gaps":
        return client.get(f"/v1/learners/{L}/gaps/3.OA.A.1", headers=headers)
    if name == "export":
        return client.get(f"/v1/learners/{L}/export", headers=headers)
    if name == "playlist":
        return client.post(f"/v1/learners/{L}/playlist", headers=headers)
    if name == "current_playlist":
        return client.get(f"/v1/learners/{L}/playlist", headers=headers)
    if name == "why_not":
        return client.get(f"/v1/learners/{L}/why-not/A0001", headers=headers)
    if name == "class_plan":
        return client.post("/v1/classes/c-3-station/plan", headers=headers, json={})
    if name == "class_read":
        return client.get("/v1/classes/c-3-station", headers=headers)
    if name == "classes_list":
        return client.get("/v1/classes", headers=headers)
    if name == "plan_read":
        return client.get(f"/v1/plans/{P}", headers=headers)
    if name == "plan_approve":
        r = client.post(f"/v1/plans/{P}/approve", headers=headers)
        return r if r.status_code != 409 else type("R", (), {"status_code": 200})()  # already approved
    if name == "plan_edit":
        return client.post(f"/v1/plans/{P}/edit", headers=headers, json={"op": "pin", "activity_id": w["item"]})
    if name == "graph_import":
        return client.post("/v1/graph/case", headers=headers, json={"not": "a CASE package"})
    if name == "graph_read":
        return client.get("/v1/graph/skills", headers=headers)
    if name == "catalog_write":
        return client.post("/v1/catalog/activities", headers=headers, json={
            "id": f"X-{uid}", "title": "Matrix", "skills": [["3.OA.A.1", 1.0]], "kind": "practice",
            "modality": "online", "duration_min": 10})
    if name == "catalog_read":
        return client.get("/v1/catalog/activities", headers=headers)
    if name == "fit":
        return client.post("/v1/models/fit", headers=headers, json={"skills": ["3.OA.A.1", "r.1"], "max_iter": 3})
    if name == "models":
        return client.get("/v1/models", headers=headers)
    if name == "research_export":
        return client.get("/v1/research/export", params={"limit": 50}, headers=headers)
    if name == "audit":
        return client.get("/v1/audit", params={"limit": 10}, headers=headers)
    if name == "keys":
        return client.post("/v1/admin/keys", headers=headers, json={"role": "lms", "name": "m"})
    raise AssertionError(name)


CASES = [(name, role) for name in MATRIX for role in ORDER]


@pytest.mark.parametrize(("resource", "role"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_matrix(client, world, resource, role):
    r = call(client, resource, ROLES[role], world)
    assert r.status_code == MATRIX[resource][role], (resource, role, getattr(r, "text", ""))


def test_teacher_sees_only_own_classes(client):
    mine = {c["id"] for c in client.get("/v1/classes", headers=ORTIZ).json()}
    assert mine == {"c-3-station"}
    rival = {c["id"] for c in client.get("/v1/classes", headers=RIVAL_ADMIN).json()}
    assert rival == {"rc-1"}


def test_cross_tenant_plan_and_learner_invisible(client, world):
    assert client.get(f"/v1/plans/{world['plan']}", headers=RIVAL_ADMIN).status_code == 404
    assert client.get("/v1/learners/R001/mastery", headers=ADMIN).status_code == 404
    assert client.get("/v1/learners/R001/mastery", headers=RIVAL_TEACHER).status_code == 200


def test_delete_is_admin_only(fresh_client):
    c = fresh_client
    learner = roster(c, "c-3-station")[0]
    for headers in (LMS, ORTIZ, NGUYEN, RESEARCHER, RIVAL_TEACHER):
        assert c.delete(f"/v1/learners/{learner}", headers=headers).status_code == 403
    assert c.delete(f"/v1/learners/{learner}", headers=RIVAL_ADMIN).status_code == 404
    assert c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).status_code == 200
    assert c.delete(f"/v1/learners/{learner}", headers=ADMIN).status_code == 200


def test_revoked_key_stops_working(fresh_client):
    c = fresh_client
    made = c.post("/v1/admin/keys", headers=ADMIN, json={"role": "lms", "name": "temp"}).json()
    listed = {k["key_id"]: k for k in c.get("/v1/admin/keys", headers=ADMIN).json()}
    assert listed[made["key_id"]]["role"] == "lms" and not listed[made["key_id"]]["revoked"]
    assert made["key"] not in str(listed)
    assert all(k["key_id"].startswith("key_") for k in listed.values())
    assert c.get("/v1/admin/keys", headers=RIVAL_ADMIN).json() and \
        made["key_id"] not in {k["key_id"] for k in c.get("/v1/admin/keys", headers=RIVAL_ADMIN).json()}
    assert c.get("/v1/admin/keys", headers=ORTIZ).status_code == 403
    key = {"Authorization": f"Bearer {made['key']}"}
    assert c.get("/v1/graph/skills", headers=key).status_code == 200
    assert c.delete(f"/v1/admin/keys/{made['key_id']}", headers=ADMIN).status_code == 204
    assert c.get("/v1/graph/skills", headers=key).status_code == 401
    assert {k["key_id"]: k for k in c.get("/v1/admin/keys", headers=ADMIN).json()}[made["key_id"]]["revoked"]
    assert c.delete(f"/v1/admin/keys/{made['key_id']}", headers=ADMIN).status_code == 404
    teacher = c.post("/v1/admin/keys", headers=ADMIN, json={"role": "teacher"})
    assert teacher.status_code == 422
