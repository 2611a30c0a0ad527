"""Issue 12 item 6: ``--demo --tenant t3`` on an existing demo database never prints (or
uses) the demo tenant's keys as t3's."""

from __future__ import annotations

from engine.access import hash_key
from engine.app import Pathwise
from engine.app.demo import ensure_demo
from service.cli.serve_command import banner
from service.settings import Settings
from tests.service.conftest import copy_db


def test_demo_in_a_second_tenant_prints_only_its_own_keys(template_db, tmp_path):
    pathwise = Pathwise.open(copy_db(template_db, tmp_path))
    try:
        creds = ensure_demo(pathwise, "t3")
        keys = list(creds["keys"].values()) + [t["key"] for t in creds["teachers"]]
        assert creds["keys"] and creds["teachers"]
        for key in keys:
            found = pathwise.store.find_api_key(hash_key(key))
            assert found is not None and found.tenant_id == "t3", key
        assert "pw-demo-admin" not in keys
        text = banner(Settings(tenant="t3"), creds)
        assert "pw-demo-" not in text and "pw-t3-admin" in text
        assert pathwise.page_login("t3", username="t-ortiz", password="demo") is not None
        # and the demo tenant keeps its own keys
        again = ensure_demo(pathwise, "demo")
        assert again["keys"]["admin"] == "pw-demo-admin"
    finally:
        pathwise.close()


def test_a_revoked_demo_key_is_not_printed(template_db, tmp_path):
    pathwise = Pathwise.open(copy_db(template_db, tmp_path))
    try:
        pathwise.store.revoke_api_key(hash_key("pw-demo-lms"))
        creds = ensure_demo(pathwise, "demo")
        assert "lms" not in creds["keys"] and creds["keys"]["admin"] == "pw-demo-admin"
    finally:
        pathwise.close()
