"""The rostering API: OneRoster zip upload, its 422 fields, admin-only access, roster CRUD
with the domain's validation, class defaults, retention and the tenant export."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.service.conftest import ADMIN, LMS, ORTIZ

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "oneroster"
ZIP = {"Content-Type": "application/zip"}


def sample_zip(change=None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(SAMPLE.glob("*.csv")):
            text = p.read_text(encoding="utf-8")
            z.writestr(p.name, change(p.name, text) if change else text)
    return buf.getvalue()


def test_upload_then_reupload_changes_nothing(fresh_client):
    c = fresh_client
    r = c.post("/v1/roster/oneroster", content=sample_zip(), headers={**ADMIN, **ZIP})
    assert r.status_code == 200, r.text
    assert r.json()["learners"]["created"] == 60 and r.json()["guardians"]["created"] == 48
    again = c.post("/v1/roster/oneroster", content=sample_zip(), headers={**ADMIN, **ZIP})
    assert again.status_code == 200 and again.json()["changes"] == 0
    detail = c.get("/v1/classes/cls-m5", headers=ADMIN).json()
    assert detail["size"] == 32 and detail["model"] == "flex"
    guardians = c.get("/v1/roster/guardians", headers=ADMIN).json()
    assert len(guardians) == 48 and all(g["learner_ids"] for g in guardians)


def test_malformed_upload_is_422_with_one_field_per_problem(fresh_client):
    bad = sample_zip(lambda name, text: text.replace(",2026-08-24,", ",2026-24-08,")
                     if name == "enrollments.csv" else text.replace("scheduled", "lecture"))
    r = fresh_client.post("/v1/roster/oneroster", content=bad, headers={**ADMIN, **ZIP})
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert {"loc": ["classes.csv", "2", "classType"], "field": "classes.csv:2:classType",
            "msg": "'lecture' is not allowed; use one of homeroom, scheduled (or ext:<name>)",
            "type": "oneroster"} in fields
    assert any(f["loc"][0] == "enrollments.csv" and f["loc"][2] == "beginDate" for f in fields)
    assert fresh_client.get("/v1/classes/cls-m5", headers=ADMIN).status_code == 404  # nothing applied
    for body, msg in ((b"", "body is empty"), (b"PK-not-a-zip", "not a zip file")):
        r = fresh_client.post("/v1/roster/oneroster", content=body, headers={**ADMIN, **ZIP})
        assert r.status_code == 422 and msg in r.json()["error"]["message"]


def test_roster_writes_are_admin_only(client):
    for who in (ORTIZ, LMS):
        assert client.post("/v1/roster/oneroster", content=sample_zip(), headers={**who, **ZIP}).status_code == 403
        assert client.put("/v1/roster/learners/X1", json={"name": "X", "grade": "3"}, headers=who).status_code == 403
        assert client.get("/v1/roster/settings", headers=who).status_code == 403
        assert client.get("/v1/admin/tenant-export", headers=who).status_code == 403


def test_crud_validates_like_the_domain(fresh_client):
    c = fresh_client
    r = c.put("/v1/roster/learners/N001", json={"name": "Nia N.", "grade": "4"}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["created"] is True
    assert c.put("/v1/roster/learners/N001", json={"name": "Nia N.", "grade": "5"}, headers=ADMIN).json()["created"] is False
    assert c.put("/v1/roster/learners/N002", json={"name": "", "grade": "4"}, headers=ADMIN).status_code == 422
    assert c.put("/v1/roster/teachers/t-new", json={"name": "Mx New"}, headers=ADMIN).status_code == 200
    r = c.put("/v1/roster/guardians/g-1", json={"name": "Pat N.", "learner_ids": ["N001", "nobody"]}, headers=ADMIN)
    assert r.status_code == 404 and "nobody" in r.json()["error"]["message"]
    r = c.put("/v1/roster/guardians/g-1", json={"name": "Pat N.", "learner_ids": ["N001"]}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["learner_ids"] == ["N001"]
    body = {"name": "Math 4 new", "grade": "4", "teachers": ["t-new"], "roster": ["N001"]}
    r = c.put("/v1/roster/classes/c-new", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "flex" and r.json()["roster"][0]["id"] == "N001"  # the tenant default
    bad_model = {**body, "model": {"type": "station_rotation", "stations": []}}
    r = c.put("/v1/roster/classes/c-new", json=bad_model, headers=ADMIN)
    assert r.status_code == 422 and "stations is empty" in r.json()["error"]["message"]
    r = c.put("/v1/roster/classes/c-new", json={**body, "teachers": ["ghost"]}, headers=ADMIN)
    assert r.status_code == 404 and "ghost" in r.json()["error"]["message"]
    left = c.delete("/v1/roster/learners/N001", headers=ADMIN)
    assert left.status_code == 200 and left.json()["classes_left"] == ["c-new"]
    assert [d["learner_id"] for d in c.get("/v1/roster/departures", headers=ADMIN).json()] == ["N001"]
    assert c.put("/v1/roster/retention", json={"days": 0}, headers=ADMIN).json()["retention_days"] == 0
    run = c.post("/v1/roster/retention/apply", headers=ADMIN).json()
    assert run["erased"] == ["N001"]
    assert c.get("/v1/learners/N001/profile", headers=ADMIN).status_code == 404
    assert c.get("/v1/roster/guardians", headers=ADMIN).json() == [{"id": "g-1", "name": "Pat N.",
                                                                     "learner_ids": [], "created": None}]
    r = c.delete("/v1/roster/teachers/t-new", headers=ADMIN)
    assert r.status_code == 409 and "c-new" in r.json()["error"]["message"]
    assert c.delete("/v1/roster/classes/c-new", headers=ADMIN).status_code == 204
    assert c.delete("/v1/roster/teachers/t-new", headers=ADMIN).status_code == 204
    assert c.delete("/v1/roster/teachers/t-new", headers=ADMIN).status_code == 404
    assert c.delete("/v1/roster/guardians/g-1", headers=ADMIN).status_code == 204


def test_defaults_and_student_keys(fresh_client):
    c = fresh_client
    body = {"grade": "6", "settings": {"model": {"type": "flipped", "home_minutes": 20, "class_minutes": 45},
                                       "size_cap": 32}}
    r = c.put("/v1/roster/defaults", json=body, headers=ADMIN)
    assert r.status_code == 200 and r.json()["class_defaults"]["by_grade"]["6"]["size_cap"] == 32
    r = c.put("/v1/roster/defaults", json={"settings": {"model": {"type": "nope"}}}, headers=ADMIN)
    assert r.status_code == 422
    r = c.post("/v1/admin/keys", json={"role": "student"}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.subject"
    r = c.post("/v1/admin/keys", json={"role": "student", "subject": "nobody"}, headers=ADMIN)
    assert r.status_code == 404
    learner = c.get("/v1/classes/c-3-station", headers=ADMIN).json()["roster"][0]["id"]
    r = c.post("/v1/admin/keys", json={"role": "student", "subject": learner}, headers=ADMIN)
    assert r.status_code == 201
    me = {"Authorization": f"Bearer {r.json()['key']}"}
    assert c.get(f"/v1/learners/{learner}/profile", headers=me).status_code == 200
    other = c.get("/v1/classes/c-3-station", headers=ADMIN).json()["roster"][1]["id"]
    assert c.get(f"/v1/learners/{other}/profile", headers=me).status_code == 403


def test_tenant_export_holds_every_table_without_secrets(fresh_client):
    r = fresh_client.get("/v1/admin/tenant-export", headers=ADMIN)
    assert r.status_code == 200
    data = r.json()
    assert data["tenant_id"] == "demo"
    assert {"learners", "classes", "observations", "audit_log", "api_keys"} <= set(data["tables"])
    text = r.text
    assert "scrypt" not in text and "pbkdf2" not in text  # no password hashes
    assert all("key_hash" not in k and k["key_id"].startswith("key_") for k in data["tables"]["api_keys"])
    assert all(row["tenant_id"] == "demo" for rows in data["tables"].values() for row in rows)
