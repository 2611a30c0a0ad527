"""The unauthenticated LTI doors do not create or cache a school for a made-up tenant."""

from __future__ import annotations


def test_unknown_tenant_is_404_and_leaves_no_school_behind(client):
    pathwise = client.app.state.pathwise
    r = client.get("/lti/no-such-school/jwks")
    assert r.status_code == 404 and "no-such-school" in r.json()["error"]["message"]
    assert "no-such-school" not in pathwise._schools
    known = client.get("/lti/demo/jwks")  # an existing tenant: its own answer (no tool key yet)
    assert known.status_code == 404 and "register a platform" in known.json()["error"]["message"]
    assert "demo" in pathwise._schools
