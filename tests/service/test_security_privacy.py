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
