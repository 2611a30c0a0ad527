"""Issue 12 item 6: research exports carry day-coarse timestamps; an erased learner is
pseudonymised in the audit log with a keyed hash (earlier rows and the deletion row itself),
and the audit log stays append-only otherwise."""

from __future__ import annotations

import re

import pytest

from engine.access import pseudonymize
from tests.service.conftest import ADMIN, RESEARCHER


def test_research_export_timestamps_are_days(client):
    rows = client.get("/v1/research/export", params={"limit": 200}, headers=RESEARCHER).json()["observations"]
    assert rows and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["observed_at"]) for r in rows)


def test_erased_learner_is_a_keyed_hash_in_the_audit_log(fresh_client):
    c = fresh_client
    learner = "L006"
    assert c.get(f"/v1/learners/{learner}/mastery", headers=ADMIN).status_code == 200
    assert c.delete(f"/v1/learners/{learner}", headers=ADMIN).status_code in (200, 204)
    pathwise = c.app.state.pathwise
    ts = pathwise.store.for_tenant("demo")
    rows = ts.list_audit(limit=None)
    assert not any(r.resource.endswith(":" + learner) or learner in str(r.detail) for r in rows)
    secret = pathwise.school("demo")._tenant_secret()
    alias = pseudonymize(learner, "audit:" + secret)
    assert any(r.action == "learner.delete" and r.resource == f"learner:{alias}" for r in rows)
    assert any(r.action == "read" and r.resource == f"learner.mastery:{alias}" for r in rows)
    assert pseudonymize(learner, "audit:other-secret") != alias  # keyed: not a plain hash
    # the log stays append-only: no other rewrite is accepted
    first = rows[0].seq
    for sql in (f"UPDATE audit_log SET actor = 'x' WHERE id = {first}",
                f"UPDATE audit_log SET resource = 'learner.mastery:L007' WHERE id = {first}",
                f"DELETE FROM audit_log WHERE id = {first}"):
        with pytest.raises(Exception, match="append-only"):
            ts._q(sql)


def test_an_erased_student_can_no_longer_sign_in(fresh_client):
    """Erasure removes the student's own credentials: their API key (the row names them) and
    their page login; the key stops working at once in this process."""
    from engine.access import Caller, Principal

    c = fresh_client
    pathwise = c.app.state.pathwise
    school = pathwise.school("demo")
    admin = Caller(Principal(tenant="demo", role="admin", key_id="key_test"))
    _, key = school.create_key(admin, "student", name="Student L007", subject="L007")
    school.add_login(admin, "l007-student", "a long enough password", role="student", person="L007")
    me = {"Authorization": f"Bearer {key}"}
    assert c.get("/v1/learners/L007/mastery", headers=me).status_code == 200
    r = c.delete("/v1/learners/L007", headers=ADMIN)
    assert r.status_code in (200, 204), r.text
    assert c.get("/v1/learners/L007/mastery", headers=me).status_code == 401
    keys = pathwise.store.for_tenant("demo").list_api_keys()
    assert not any(k.subject == "L007" for k in keys)
    assert pathwise.page_login("demo", username="l007-student",
                               password="a long enough password") is None
