"""Issue 12 item 6: no-store caching, a session secret kept in the store, logout revocation,
CSRF on /login and /logout, and the trusted-proxy setting."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.service.conftest import ADMIN, copy_db


def _app(db_url: str, **overrides) -> TestClient:
    from service.app import create_app

    settings = Settings(db_url=db_url, demo=False, tenant="demo", warm_kernels=False,
                        log_level="WARNING", **overrides)
    return TestClient(create_app(settings))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(c, user="t-ortiz", password="demo"):
    token = _csrf(c.get("/login").text)
    return c.post("/login", data={"username": user, "password": password, "next": "/", "csrf": token},
                  follow_redirects=False)


def test_pages_and_student_data_are_not_cached(client):
    r = client.get("/v1/learners/L001/mastery", headers=ADMIN)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert client.get("/login").headers["cache-control"] == "no-store"


def test_generated_session_secret_survives_restart_and_other_processes(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    with _app(url) as first:
        assert login(first).status_code == 303
        cookie = first.cookies.get("pathwise_session")
    with _app(url) as second:  # a restart, or another process on the same store
        second.cookies.set("pathwise_session", cookie)
        assert second.get("/", follow_redirects=False).status_code == 200


def test_logged_out_cookie_stops_working(fresh_client):
    c = fresh_client
    assert login(c).status_code == 303
    cookie = c.cookies.get("pathwise_session")
    home = c.get("/")
    assert home.status_code == 200
    assert c.post("/logout", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    assert c.post("/logout", data={"csrf": _csrf(home.text)}, follow_redirects=False).status_code == 303
    c.cookies.set("pathwise_session", cookie)  # a copy kept by an attacker or another tab
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_form_needs_its_csrf_token(fresh_client):
    c = fresh_client
    c.get("/login")
    data = {"username": "t-ortiz", "password": "demo", "next": "/"}
    r = c.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 403 and "pathwise_session" not in c.cookies
    r = c.post("/login", data={**data, "csrf": "0" * 32}, follow_redirects=False)
    assert r.status_code == 403
    assert login(c).status_code == 303


def _proxied(db_url: str, peer: str, **overrides) -> TestClient:
    from service.app import create_app

    settings = Settings(db_url=db_url, demo=True, tenant="demo", warm_kernels=False, log_level="WARNING",
                        session_secret="s", **overrides)
    return TestClient(create_app(settings), client=(peer, 4000))


def _proxied_login(c, **headers):
    r = c.get("/login", headers=headers)
    token = _csrf(r.text)
    c.cookies.set("pathwise_login", r.cookies["pathwise_login"])  # a Secure cookie over plain test http
    return c.post("/login", headers=headers, follow_redirects=False,
                  data={"username": "t-ortiz", "password": "demo", "next": "/", "csrf": token})


def test_secure_cookie_behind_a_trusted_tls_proxy(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with _proxied(url, "10.0.0.5", trusted_proxies=("10.0.0.0/24",)) as c:
        r = _proxied_login(c, **tls)
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
    with _proxied(url, "198.51.100.7", trusted_proxies=("10.0.0.0/24",)) as c:  # not a trusted peer
        r = _proxied_login(c, **tls)
        assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()


def test_throttling_uses_the_forwarded_client_address_only_from_trusted_proxies(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    with _proxied(url, "10.0.0.5", trusted_proxies=("10.0.0.5",)) as c:
        for i in range(20):
            token = _csrf(c.get("/login").text)
            c.post("/login", headers={"X-Forwarded-For": "203.0.113.9"},
                   data={"username": f"nobody-{i}", "password": "x", "csrf": token})
        # the attacker's address is locked; another client behind the same proxy is not
        assert _proxied_login(c, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 429
        assert _proxied_login(c, **{"X-Forwarded-For": "203.0.113.10"}).status_code == 303


def test_trusted_proxies_setting_is_read_and_checked():
    s = Settings.from_env({"PATHWISE_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"})
    assert s.trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    from service.middleware import parse_networks

    with pytest.raises(ValueError, match="PATHWISE_TRUSTED_PROXIES: 'proxy.local'"):
        parse_networks(["proxy.local"])
