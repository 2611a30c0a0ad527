"""Single sign-on end to end: Chromium signs in to a real ``pathwise serve`` through a real
OpenID provider process (``oidc-provider-mock``), picking the user on the provider's own
authorization page. Also: a state mismatch, an unknown person and a wrong issuer are refused
with a clear page and no account is created.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.e2e.conftest import REPO, _missing
from tests.service.lti_helpers import launch, platform_process
from tests.service.oidc_helpers import ADMIN, free_port, pathwise_server, provider_process, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEACHER = {"sub": "idp-ortiz", "email": "Ortiz@School.example", "email_verified": True, "name": "Ms Ortiz"}
STRANGER = {"sub": "idp-stranger", "email": "stranger@elsewhere.example", "name": "Stranger"}


@pytest.fixture(scope="module")
def idp():
    exe = shutil.which("oidc-provider-mock", path=str(__import__("pathlib").Path(sys.executable).parent))
    if exe is None:
        _missing("oidc-provider-mock is not installed (pip install oidc-provider-mock)")
    with provider_process(exe, users=[TEACHER, STRANGER]) as base:
        yield base


@pytest.fixture(scope="module")
def site(tmp_path_factory, idp):
    with pathwise_server(tmp_path_factory.mktemp("oidc")) as base:
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"})
        r = api.put("/v1/sso/provider", json={"issuer": idp, "client_id": "pathwise-e2e",
                                              "client_secret": "e2e-secret", "match_claim": "email",
                                              "label": "Springfield ID"})
        assert r.status_code == 200, r.text
        r = api.post("/v1/sso/identities", json={"role": "teacher", "person_id": "t-ortiz",
                                                 "email": "ortiz@school.example"})
        assert r.status_code == 201, r.text
        yield base, api


def _keys(api) -> int:
    return len(api.get("/v1/admin/keys").json())


def _start(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.click("#sso")  # "Sign in with Springfield ID"


def test_teacher_signs_in_with_the_school_account(chromium, site, idp):
    base, api = site
    page = chromium.new_context().new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    assert page.locator("#sso").inner_text() == "Sign in with Springfield ID"
    _start(page, base)
    page.wait_for_url(f"{idp}/oauth2/authorize**")  # the provider's own authorization page
    assert "code_challenge_method=S256" in page.url and "code_challenge=" in page.url
    page.click(f"button[value='{TEACHER['sub']}']")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() == "My classes"
    assert page.locator("text=Grade 3 Math - Station Rotation").count() == 1
    audit = api.get("/v1/audit", params={"limit": 5000}).json()
    assert any(e["action"] == "login" and e["detail"].get("method") == "oidc" for e in audit)


def test_unknown_person_gets_a_clear_page_and_no_account(chromium, site):
    base, api = site
    before = _keys(api)
    page = chromium.new_context().new_page()
    page.set_default_timeout(30_000)
    _start(page, base)
    page.click(f"button[value='{STRANGER['sub']}']")
    page.wait_for_url(f"{base}/login/sso/callback**")
    text = page.locator("main").inner_text()
    assert "stranger@elsewhere.example is not on the roster of this school" in text
    assert "never creates accounts" in text
    from tests.e2e.test_student_page import axe_violations

    assert axe_violations(page) == [], "the refusal page has accessibility violations"
    assert _keys(api) == before
    page.goto(f"{base}/")
    assert "/login" in page.url  # not signed in


def test_answer_for_another_browser_is_refused_as_state_mismatch(chromium, site):
    base, _ = site
    victim_ctx, attacker_ctx = chromium.new_context(), chromium.new_context()
    attacker = attacker_ctx.new_page()
    attacker.set_default_timeout(30_000)
    _start(attacker, base)
    attacker.wait_for_url("**/oauth2/authorize**")
    # the attacker authorizes on the provider's page but keeps the answer (code + state) unused
    answer = attacker_ctx.request.post(attacker.url, form={"sub": TEACHER["sub"]}, max_redirects=0)
    callback = answer.headers["location"]
    assert "/login/sso/callback?" in callback and "code=" in callback and "state=" in callback
    victim = victim_ctx.new_page()
    victim.set_default_timeout(30_000)
    _start(victim, base)  # the victim has a sign-in of their own in progress (another state)
    victim.wait_for_url("**/oauth2/authorize**")
    victim.goto(callback)
    assert "state mismatch" in victim.locator("main").inner_text()
    victim.goto(f"{base}/")
    assert "/login" in victim.url


def test_wrong_issuer_is_refused(chromium, site, idp):
    base, api = site
    wrong = idp.replace("127.0.0.1", "localhost")  # same provider, another issuer identifier
    r = api.put("/v1/sso/provider", json={"issuer": wrong, "discovery_url": idp + "/.well-known/openid-configuration",
                                          "client_id": "pathwise-e2e", "label": "Springfield ID"})
    assert r.status_code == 200, r.text
    try:
        page = chromium.new_context().new_page()
        page.set_default_timeout(30_000)
        _start(page, base)
        text = page.locator("main").inner_text()
        assert "wrong issuer" in text and json.dumps(idp)[1:-1] in text
        assert "/login/sso" in page.url
    finally:
        api.put("/v1/sso/provider", json={"issuer": idp, "client_id": "pathwise-e2e", "label": "Springfield ID"})


def _readme_block(marker: str) -> list[str]:
    """The commands of a README block (backslash continuations joined, comments dropped)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker}:begin.*?```bash\n(.*?)```", text, re.S)
    assert block, f"README lost its {marker} block"
    joined = block.group(1).replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]


def test_readme_single_sign_on_and_lms_steps(chromium, idp, tmp_path):
    """README "Setting up your school" on an empty database: init the tenant and import the
    sample roster (the setup block), set the identity provider and register the LMS (the
    single sign-on block, as written but for the test's provider/LMS addresses); then the
    rostered teacher signs in through the provider and launches Pathwise from the LMS."""
    env = {**os.environ, "PATHWISE_DB": f"sqlite:///{tmp_path / 'school.db'}", "PATHWISE_WARM_KERNELS": "0"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    setup = [c for c in _readme_block("setup-school") if c.startswith("pathwise ")
             and c.split()[1:3] in (["admin", "init-tenant"], ["roster", "import"])]
    assert len(setup) == 2
    (tmp_path / "oidc-secret.txt").write_text("readme-secret\n")
    with platform_process(f"{base}/lti/maple", client_id="10000000000042", deployment_id="1") as lms:
        sso = [c.replace("https://login.maplegrove.example", idp).replace("https://lms.maplegrove.example", lms)
               .replace("oidc-secret.txt", str(tmp_path / "oidc-secret.txt")) for c in _readme_block("setup-school-sso")]
        assert [c.split()[1:3] for c in sso] == [["sso", "set"], ["lti", "register"]]
        for line in setup + sso:
            done = subprocess.run([sys.executable, "-m", "service.cli", *shlex.split(line)[1:]], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "login URL https://pathwise.maplegrove.example/lti/maple/login" in done.stdout
        serve = [sys.executable, "-m", "service.cli", "serve", "--tenant", "maple", "--port", str(port),
                 "--no-warm", "--log-level", "warning"]
        with running(serve, f"{base}/health", "pathwise serve", env=env):
            page = chromium.new_context().new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base}/login")
            page.click("#sso")
            page.wait_for_url(f"{idp}/oauth2/authorize**")
            page.fill("input[name=sub]", "erivera@maplegrove.example")  # the provider's own form
            page.click("button:has-text('Authorize')")
            page.wait_for_url(f"{base}/")
            assert page.locator("h1").inner_text() == "My classes"
            assert page.locator("text=Math 3 - Room 12").count() == 1
            members = [{"user_id": "lms-rivera", "name": "Elena Rivera", "email": "erivera@maplegrove.example",
                        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]},
                       {"user_id": "lms-liam", "name": "Liam Haddad", "email": "liam001@students.maplegrove.example",
                        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]}]
            assert httpx.put(f"{lms}/_test/members", json=members).status_code == 200
            browser = httpx.Client(base_url=base, timeout=30)
            r = launch(browser, lms, user="lms-rivera")
            assert r.status_code == 303 and r.headers["location"].startswith("/classes/lti-"), r.text
            assert "Grade 3 Math (LMS)" in browser.get(r.headers["location"]).text
            r = launch(httpx.Client(base_url=base, timeout=30), lms, user="lms-liam")
            assert r.status_code == 303 and r.headers["location"] == "/me", r.text
