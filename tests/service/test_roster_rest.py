"""The OneRoster 1.2 REST consumer against a REST rostering service the test starts (real
HTTP, OAuth 2 client credentials, paging): the same school as the CSV set, idempotent, bad
credentials and malformed records refused with the endpoint named."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.access import Caller, Principal
from engine.app import Pathwise
from engine.roster import RosterFormatError, RosterSourceError
from tests.service.oneroster_rest_server import BASE, Server, make_app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "oneroster"
ADMIN = Caller(Principal(tenant="maple", role="admin", key_id="test"))


@pytest.fixture(scope="module")
def service():
    app = make_app(SAMPLE, "pathwise-client", "s3cret-value")
    with Server(app) as url:
        yield app, url


def sync(school, url, secret="s3cret-value", page_size=25):
    return school.sync_oneroster(ADMIN, base_url=url + BASE, token_url=url + "/token",
                                 client_id="pathwise-client", client_secret=secret, page_size=page_size)


def test_rest_sync_builds_the_same_school_as_the_csv_set(service, tmp_path):
    app, url = service
    pw = Pathwise.open(f"sqlite:///{tmp_path / 'rest.db'}")
    try:
        rest = pw.school("maple")
        app.state.requests.clear()
        report = sync(rest, url)
        assert {k: report[k]["created"] for k in ("learners", "teachers", "guardians", "classes")} == \
            {"learners": 60, "teachers": 4, "guardians": 48, "classes": 3}
        users = [r for r in app.state.requests if r[0] == "users"]
        assert [r[2] for r in users] == [0, 25, 50, 75, 100]  # 114 users, pages of 25
        assert sync(rest, url, page_size=100)["changes"] == 0
        csv_school = pw.school("csv")
        csv_school.import_oneroster(Caller(Principal(tenant="csv", role="admin", key_id="t")), SAMPLE)
        a, b = rest.view, csv_school.view
        assert a.learners == b.learners and a.guardians == b.guardians
        assert {k: (c.roster, c.teachers, c.grade) for k, c in a.classes.items()} == \
            {k: (c.roster, c.teachers, c.grade) for k, c in b.classes.items()}
    finally:
        pw.close()


def test_rest_refusals_name_the_problem(service, tmp_path):
    app, url = service
    pw = Pathwise.open(f"sqlite:///{tmp_path / 'rest.db'}")
    try:
        school = pw.school("maple")
        with pytest.raises(RosterSourceError, match="refused the client credentials"):
            sync(school, url, secret="wrong")
        from tests.service.oneroster_rest_server import collections

        data = collections(SAMPLE, url)
        data["users"][3] = {**data["users"][3], "givenName": None}
        data["enrollments"][0] = {**data["enrollments"][0], "role": "owner"}
        app.state.data = data
        with pytest.raises(RosterFormatError) as info:
            sync(school, url)
        got = {(i.file, i.row, i.column) for i in info.value.issues}
        assert {("GET /users", 4, "givenName"), ("GET /enrollments", 1, "role")} <= got
        assert school.view.learners == {}
    finally:
        app.state.data = None
        pw.close()


def test_cli_sync(service, tmp_path, capsys):
    from service.cli import main

    _, url = service
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value\n")
    argv = ["roster", "sync", "--db", f"sqlite:///{tmp_path / 'cli.db'}", "--tenant", "maple",
            "--base-url", url + BASE, "--token-url", url + "/token", "--client-id", "pathwise-client",
            "--client-secret-file", str(secret)]
    assert main(argv) == 0
    assert "learners   created 60" in capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("0 change(s)")
