"""Issue 12 item 6: login throttling and lockout, constant-time unknown users, scrypt hashes,
a 12-character minimum for user-set passwords, legacy PBKDF2 hashes upgraded at login."""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from engine.access import (
    LoginThrottle,
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from engine.app.pathwise import LOGIN_KIND
from engine.errors import ValidationError


def login(c, user="t-ortiz", password="demo"):
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    return c.post("/login", data={"username": user, "password": password, "next": "/", "csrf": token},
                  follow_redirects=False)


def test_username_locked_after_five_failures_even_with_the_right_password(fresh_client):
    c = fresh_client
    for _ in range(5):
        assert login(c, password="wrong").status_code == 401
    r = login(c)  # the right password is refused while locked
    assert r.status_code == 429 and "try again" in r.text and int(r.headers["Retry-After"]) > 0
    # another user from the same address is still allowed (address limit is 20)
    assert login(c, user="t-nguyen").status_code == 303


def test_client_address_locked_after_twenty_failures(fresh_client):
    c = fresh_client
    for i in range(20):
        assert login(c, user=f"nobody-{i}", password="wrong").status_code == 401
    assert login(c, user="t-nguyen").status_code == 429


def test_success_clears_the_username_count(fresh_client):
    c = fresh_client
    for _ in range(4):
        login(c, password="wrong")
    assert login(c).status_code == 303
    for _ in range(4):
        assert login(c, password="wrong").status_code == 401
    assert login(c).status_code == 303


def test_throttle_lock_expires_after_the_window():
    now = [1000.0]
    t = LoginThrottle(window_s=900, max_user=5, max_address=20, clock=lambda: now[0])
    for _ in range(5):
        t.failed("demo", "Alice", "10.0.0.1")
    assert t.retry_after("demo", "alice", "10.0.0.2") == pytest.approx(900)
    now[0] += 899
    assert t.retry_after("demo", "alice", None) > 0
    now[0] += 2
    assert t.retry_after("demo", "alice", None) == 0
    assert t.retry_after("other-tenant", "alice", None) == 0


def test_unknown_user_costs_as_much_as_a_wrong_password(fresh_client):
    c = fresh_client
    login(c, user="nobody-warmup")  # the dummy hash is computed once per cost

    def median(user):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            assert login(c, user=user, password="wrong").status_code == 401
            times.append(time.perf_counter() - t0)
        return sorted(times)[1]

    known, unknown = median("t-ortiz"), median("nobody-at-all")
    assert unknown > 0.5 * known, (known, unknown)


def test_scrypt_hash_and_new_password_minimum():
    enc = hash_password("correct horse battery", n=2**10)
    assert enc.startswith("scrypt$1024$8$1$") and verify_password("correct horse battery", enc)
    assert not verify_password("correct horse batterY", enc)
    assert not needs_rehash(enc, n=2**10) and needs_rehash(enc, n=2**15)
    with pytest.raises(ValidationError, match="at least 12 characters"):
        hash_password("short-pass1")
    with pytest.raises(ValidationError, match="at least 12 characters"):
        check_new_password("demo")
    assert not verify_password("x", "scrypt$notanumber$8$1$00$00")


def test_user_set_login_needs_twelve_characters_seeded_demo_does_not(fresh_client):
    school = fresh_client.app.state.pathwise.school("demo")
    with pytest.raises(ValidationError, match="at least 12"):
        school.setup_login("t-new", "demo", "pw-demo-teacher-t-new")
    assert school.setup_login("t-new2", "demo", "pw-demo-teacher-t-new2", seeded=True)


def test_legacy_pbkdf2_hash_verifies_and_is_upgraded_on_login(fresh_client):
    c = fresh_client
    pathwise = c.app.state.pathwise
    store = pathwise.store.for_tenant("demo")
    rec = store.get_document(LOGIN_KIND, "t-ortiz").payload
    salt = b"0123456789abcdef"
    legacy = "pbkdf2_sha256$1000${}${}".format(
        salt.hex(), hashlib.pbkdf2_hmac("sha256", b"demo", salt, 1000).hex())
    store.put_document(LOGIN_KIND, "t-ortiz", {**rec, "password": legacy})
    assert login(c).status_code == 303
    upgraded = store.get_document(LOGIN_KIND, "t-ortiz").payload["password"]
    assert upgraded.startswith("scrypt$") and verify_password("demo", upgraded)
    assert upgraded != legacy and login(c).status_code == 303


def test_login_failures_are_shared_by_every_server_process(tmp_path):
    """Two Pathwise instances on one store (two server processes): failures counted through
    one lock the username in the other, so --workers N does not multiply the attempts."""
    from engine.app import Pathwise

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Pathwise.open(url), Pathwise.open(url)
    try:
        for _ in range(3):
            first.login_throttle.failed("demo", "Alice", "10.0.0.1")
        for _ in range(2):
            second.login_throttle.failed("demo", "alice", "10.0.0.2")
        assert first.login_throttle.retry_after("demo", "alice", None) > 0
        assert second.login_throttle.retry_after("demo", "ALICE", None) > 0
        assert second.login_throttle.retry_after("demo", "bob", "10.0.0.1") == 0
        first.login_throttle.succeeded("demo", "alice")
        assert second.login_throttle.retry_after("demo", "alice", None) == 0
    finally:
        first.close()
        second.close()
