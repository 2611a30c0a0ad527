"""Issue 12 item 6: the tenant's last active admin key cannot be revoked (409, clear message)."""

from __future__ import annotations

from tests.service.conftest import ADMIN, RIVAL_ADMIN, auth


def _admin_ids(c, headers):
    return [k["key_id"] for k in c.get("/v1/admin/keys", headers=headers).json()
            if k["role"] == "admin" and not k["revoked"]]


def test_last_admin_key_cannot_be_revoked(fresh_client):
    c = fresh_client
    (only,) = _admin_ids(c, RIVAL_ADMIN)
    r = c.delete(f"/v1/admin/keys/{only}", headers=RIVAL_ADMIN)
    assert r.status_code == 409 and "last active admin key" in r.text
    assert c.get("/v1/admin/keys", headers=RIVAL_ADMIN).status_code == 200  # still works


def test_an_admin_key_can_be_revoked_while_another_remains(fresh_client):
    c = fresh_client
    made = c.post("/v1/admin/keys", headers=ADMIN, json={"role": "admin", "name": "second"}).json()
    second = auth(made["key"])
    (first,) = [k for k in _admin_ids(c, ADMIN) if k != made["key_id"]]
    assert c.delete(f"/v1/admin/keys/{first}", headers=second).status_code == 204
    assert c.get("/v1/admin/keys", headers=ADMIN).status_code == 401
    r = c.delete(f"/v1/admin/keys/{made['key_id']}", headers=second)
    assert r.status_code == 409 and "create another admin key" in r.text
