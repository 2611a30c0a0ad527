"""The LTI test rig: a real ``pathwise serve --demo`` and the test platform
(``tests/lti_platform/server.py``, built on ``lti1p3platform``) as two processes, and a
browser-like walk through login initiation and the auto-posted launch form."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.service.oidc_helpers import ADMIN, free_port, pathwise_server, running

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@contextlib.contextmanager
def platform_process(tool_base: str, client_id: str = "pathwise-client", deployment_id: str = "dep-1",
                     port: int | None = None) -> Iterator[str]:
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tests.lti_platform.server", "--port", str(port), "--tool", tool_base,
           "--client-id", client_id, "--deployment-id", deployment_id]
    with running(cmd, f"{base}/health", "LTI test platform"):
        yield base


@contextlib.contextmanager
def lti_rig(tmp: Path) -> Iterator[tuple[str, str, str]]:
    """``(pathwise URL, platform URL, store URL)``: the platform registered in tenant demo,
    t-ortiz and L001 linked by email (so the course's instructor and first student are them).
    Skips (fails under CI=true) when the lti1p3platform package is missing."""
    if importlib.util.find_spec("lti1p3platform") is None:
        from tests.e2e.conftest import _missing

        _missing("lti1p3platform is not installed (pip install lti1p3platform): the LTI tests need "
                 "a real platform")
    with pathwise_server(tmp) as pw, platform_process(f"{pw}/lti/demo") as lms:
        api = httpx.Client(base_url=pw, headers=AUTH)
        r = api.post("/v1/lti/platforms", json={
            "issuer": lms, "client_id": "pathwise-client", "deployment_ids": ["dep-1"],
            "jwks_url": f"{lms}/jwks", "auth_login_url": f"{lms}/authorize", "token_url": f"{lms}/token",
            "name": "Test LMS", "default_grade": "3"})
        assert r.status_code == 201, r.text
        for role, person, email in (("teacher", "t-ortiz", "ortiz@school.example"),
                                    ("student", "L001", "l001@students.example")):
            r = api.post("/v1/sso/identities", json={"role": role, "person_id": person, "email": email})
            assert r.status_code == 201, r.text
        yield pw, lms, f"sqlite:///{tmp / 'pw.db'}"


def launch_form(browser: httpx.Client, lms: str, **params) -> httpx.Response:
    """Start a launch on the platform and follow it to the platform's auto-posting form (or to
    the tool's refusal page)."""
    return browser.get(f"{lms}/start", params=params, follow_redirects=True)


def form_fields(page: httpx.Response) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action, page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    return action.group(1).replace("&amp;", "&"), fields


def launch(browser: httpx.Client, lms: str, **params) -> httpx.Response:
    """The tool's answer to the launch POST (not followed)."""
    page = launch_form(browser, lms, **params)
    assert page.status_code == 200, page.text
    action, fields = form_fields(page)
    return browser.post(action, data=fields, follow_redirects=False)
