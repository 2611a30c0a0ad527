"""Single sign-on through the API and the sign-in pages, against a real OpenID provider process
(``oidc-provider-mock``): students and guardians sign in to their own session; the provider
settings are validated field by field and the client secret is never returned; identity links
only name rostered people; the CLI sets the same settings."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.conftest import _missing
from tests.service.conftest import ADMIN, ORTIZ, copy_db
from tests.service.oidc_helpers import provider_process

STUDENT = {"sub": "idp-l001", "email": "l001@students.example", "email_verified": True}
UNVERIFIED = {"sub": "idp-l002", "email": "l002@students.example", "email_verified": False}
GUARDIAN = {"sub": "idp-g1", "email": "parent@home.example"}


@pytest.fixture(scope="module")
def idp():
    exe = shutil.which("oidc-provider-mock", path=str(Path(sys.executable).parent))
    if exe is None:
        _missing("oidc-provider-mock is not installed (pip install oidc-provider-mock)")
    with provider_process(exe, users=[STUDENT, UNVERIFIED, GUARDIAN]) as base:
        yield base


def _configure(client, idp: str, claim: str = "email") -> None:
    r = client.put("/v1/sso/provider", headers=ADMIN, json={
        "issuer": idp, "client_id": "pathwise-test", "client_secret": "s3cret", "match_claim": claim})
    assert r.status_code == 200, r.text


def _sign_in(client, sub: str) -> httpx.Response:
    """Walk the code flow: our /login/sso -> the provider's authorization form -> our callback."""
    start = client.get("/login/sso", follow_redirects=False)
    assert start.status_code == 303, start.text
    url = start.headers["location"]
    q = parse_qs(urlsplit(url).query)
    assert q["code_challenge_method"] == ["S256"] and q["nonce"] and q["state"]
    answer = httpx.post(url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def _session(client, resp) -> dict:
    from service.web.pages import signer

    value = resp.cookies.get("pathwise_session", "").strip('"')
    body = signer(type("R", (), {"app": client.app})()).loads(value)
    assert body is not None, resp.headers
    return body


def test_student_signs_in_to_their_own_session(fresh_client, idp):
    c = fresh_client
    _configure(c, idp)
    r = c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L001",
                                                           "email": STUDENT["email"]})
    assert r.status_code == 201, r.text
    done = _sign_in(c, STUDENT["sub"])
    assert done.status_code == 303 and done.headers["location"] == "/me"
    body = _session(c, done)
    principal = c.app.state.pathwise.principal_of(body["k"], "demo")
    assert (principal.role, principal.learner_id) == ("student", "L001")
    again = _sign_in(c, STUDENT["sub"])  # the same person keeps one sign-in key
    assert _session(c, again)["k"] == body["k"]
    page = c.get("/me")
    assert page.status_code == 200 and "Hi Umar!" in page.text  # L001's own page


def test_denied_at_the_provider_is_a_clear_page(fresh_client, idp):
    c = fresh_client
    _configure(c, idp)
    start = c.get("/login/sso", follow_redirects=False)
    answer = httpx.post(start.headers["location"], data={"action": "deny"})
    back = urlsplit(answer.headers["location"])
    assert "error=access_denied" in back.query
    r = c.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert r.status_code == 403 and "the identity provider answered &#39;access_denied&#39;" in r.text


def test_guardian_signs_in_by_sub(fresh_client, idp):
    from engine.domain.classes import Guardian

    c = fresh_client
    _configure(c, idp, claim="sub")
    school = c.app.state.pathwise.school("demo")
    school.store.put_guardians([Guardian("g-1", "Pat Parent", ("L001",))])
    c.app.state.pathwise.invalidate("demo")
    r = c.post("/v1/sso/identities", headers=ADMIN, json={"role": "guardian", "person_id": "g-1",
                                                           "sub": GUARDIAN["sub"]})
    assert r.status_code == 201, r.text
    done = _sign_in(c, GUARDIAN["sub"])
    assert done.status_code == 303 and done.headers["location"] == "/family"
    principal = c.app.state.pathwise.principal_of(_session(c, done)["k"], "demo")
    assert (principal.role, principal.guardian_id) == ("guardian", "g-1")


def test_unverified_email_and_unknown_people_are_refused(fresh_client, idp):
    c = fresh_client
    _configure(c, idp)
    c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L002",
                                                       "email": UNVERIFIED["email"]})
    before = len(c.get("/v1/admin/keys", headers=ADMIN).json())
    r = _sign_in(c, UNVERIFIED["sub"])
    assert r.status_code == 403 and "has not verified the email" in r.text
    r = _sign_in(c, "nobody@nowhere.example")  # the provider makes up this user (email = sub)
    assert r.status_code == 403 and "is not on the roster of this school" in r.text
    assert "pathwise_session" not in r.cookies
    assert len(c.get("/v1/admin/keys", headers=ADMIN).json()) == before
    refused = [e for e in c.get("/v1/audit", headers=ADMIN, params={"limit": 5000}).json()
               if e["action"] == "login_refused"]
    assert [e["detail"]["reason"] for e in refused] == ["email_not_verified", "unknown_person"]


def test_callback_without_a_started_sign_in_is_a_state_mismatch(fresh_client, idp):
    c = fresh_client
    _configure(c, idp)
    r = c.get("/login/sso/callback", params={"state": "forged", "code": "x"})
    assert r.status_code == 400 and "state mismatch" in r.text
    c.get("/login/sso", follow_redirects=False)  # a sign-in in progress, with its own state
    r = c.get("/login/sso/callback", params={"state": "forged", "code": "x"})
    assert r.status_code == 400 and "state mismatch" in r.text


def test_provider_settings_are_validated_and_the_secret_never_returned(fresh_client):
    c = fresh_client
    r = c.get("/v1/sso/provider", headers=ADMIN)
    assert r.status_code == 404 and "pathwise sso set" in r.json()["error"]["message"]
    r = c.put("/v1/sso/provider", headers=ADMIN, json={"issuer": "http://idp.example", "client_id": "x"})
    assert r.status_code == 422 and "uses plain http" in r.json()["error"]["message"]
    r = c.put("/v1/sso/provider", headers=ADMIN, json={"issuer": "idp.example", "client_id": "x"})
    assert r.status_code == 422 and "issuer 'idp.example' is not an absolute" in r.json()["error"]["message"]
    r = c.put("/v1/sso/provider", headers=ADMIN, json={"issuer": "https://idp.example", "client_id": "x",
                                                        "match_claim": "phone"})
    assert r.status_code == 422
    r = c.put("/v1/sso/provider", headers=ADMIN, json={"issuer": "https://idp.example/", "client_id": "x",
                                                        "client_secret": "top-secret"})
    assert r.status_code == 200 and "top-secret" not in r.text
    assert r.json() == {"issuer": "https://idp.example", "client_id": "x", "match_claim": "email",
                        "discovery_url": "https://idp.example/.well-known/openid-configuration",
                        "label": "your school account", "has_client_secret": True}
    r = c.put("/v1/sso/provider", headers=ADMIN, json={"issuer": "https://idp.example", "client_id": "y"})
    assert r.json()["has_client_secret"] is True  # omitted secret: the stored one is kept
    assert c.put("/v1/sso/provider", headers=ORTIZ, json={"issuer": "https://i.example", "client_id": "x"}
                 ).status_code == 403
    assert "Sign in with your school account" in c.get("/login").text
    export = c.get("/v1/admin/tenant-export", headers=ADMIN)
    assert export.status_code == 200 and "top-secret" not in export.text


def test_identity_links_name_rostered_people_only(fresh_client):
    c = fresh_client
    r = c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L999",
                                                           "email": "x@y.example"})
    assert r.status_code == 404 and "not on the roster" in r.json()["error"]["message"]
    r = c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L001"})
    assert r.status_code == 422 and "email and/or sub" in r.json()["error"]["message"]
    r = c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L001",
                                                           "email": "not-an-email"})
    assert r.status_code == 422 and "not an email address" in r.json()["error"]["message"]
    assert c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L001",
                                                              "email": "A@B.example"}).status_code == 201
    r = c.post("/v1/sso/identities", headers=ADMIN, json={"role": "student", "person_id": "L002",
                                                           "email": "a@b.example"})
    assert r.status_code == 409 and "already linked to student 'L001'" in r.json()["error"]["message"]
    assert c.delete("/v1/sso/identities/email/a@b.example", headers=ADMIN).status_code == 204
    assert c.get("/v1/sso/identities", headers=ADMIN).json() == []


def test_cli_sets_the_provider_and_links(template_db, tmp_path, capsys):
    from service.cli import main

    db = copy_db(template_db, tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\n")
    assert main(["sso", "set", "--db", db, "--tenant", "demo", "--issuer", "https://idp.example",
                 "--client-id", "pw", "--client-secret-file", str(secret), "--match-claim", "sub"]) == 0
    assert "has_client_secret: True" in capsys.readouterr().out
    assert main(["sso", "link", "--db", db, "--tenant", "demo", "--role", "teacher",
                 "--person", "t-ortiz", "--sub", "abc"]) == 0
    assert main(["sso", "show", "--db", db, "--tenant", "demo"]) == 0
    out = capsys.readouterr().out
    assert "https://idp.example" in out and "sub:abc -> teacher t-ortiz" in out
    assert main(["sso", "set", "--db", db, "--tenant", "demo", "--issuer", "ftp://x",
                 "--client-id", "pw"]) == 1
    assert "--issuer" in capsys.readouterr().err


def test_rostered_people_sign_in_by_their_roster_email(template_db, tmp_path, idp):
    """A OneRoster import names people by email: the first sign-in of a rostered teacher finds
    them without any manual link (the roster's identities are read on a miss)."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(db_url=copy_db(template_db, tmp_path), tenant="maple", warm_kernels=False,
                        log_level="WARNING", session_secret="test-secret")
    with TestClient(create_app(settings)) as c:
        pw = c.app.state.pathwise
        school = pw.school("maple")
        _, key = school.setup_key("admin", name="maple admin")
        admin = {"Authorization": f"Bearer {key}"}
        r = c.post("/v1/roster/oneroster", headers={**admin, "Content-Type": "application/zip"},
                   content=_zip(Path(__file__).resolve().parents[2] / "data" / "oneroster"))
        assert r.status_code == 200, r.text
        r = c.put("/v1/sso/provider", headers=admin, json={"issuer": idp, "client_id": "pw-maple"})
        assert r.status_code == 200, r.text
        refused = _sign_in(c, "erivera@maplegrove.example")  # the provider wants a client secret
        assert refused.status_code == 403 and "refused the code exchange: invalid_client" in refused.text
        r = c.put("/v1/sso/provider", headers=admin, json={"issuer": idp, "client_id": "pw-maple",
                                                            "client_secret": "maple-secret"})
        done = _sign_in(c, "erivera@maplegrove.example")  # the provider's email = this sub
        assert done.status_code == 303 and done.headers["location"] == "/", done.text
        principal = pw.principal_of(_session(c, done)["k"], "maple")
        assert (principal.role, principal.teacher_id) == ("teacher", "tch-rivera")
        counts = c.post("/v1/sso/identities/sync-roster", headers=admin).json()
        assert counts["linked"] == 0 and counts["unchanged"] > 100 and counts["conflicts"] == 0


def _zip(folder: Path) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(folder.glob("*.csv")):
            z.write(f, f.name)
    return buf.getvalue()
