"""Pull from the district's LRS (issue 12 item 4) against a real Ralph LRS process
(``.peer/ralph``, fs backend), filled by the tincan client: ``pathwise lrs-sync`` imports
through the same path as POSTed statements, a second run imports nothing new, a run cut
short resumes from the stored cursor, and the scheduled job in the service does the same."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tincan import (
    Activity,
    Agent,
    AgentAccount,
    RemoteLRS,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)

from service.lrs_client import LrsClient
from tests.service.conftest import copy_db
from tests.service.xapi_live import (
    RALPH_PASSWORD,
    RALPH_USER,
    REPO,
    free_port,
    pathwise_server,
    ralph_server,
)

pytestmark = pytest.mark.slow
ADL = "http://adlnet.gov/expapi/verbs/"
ADMIN = {"Authorization": "Bearer pw-demo-admin"}
XH = {"Authorization": "Bearer pw-demo-lms", "X-Experience-API-Version": "1.0.3"}
LEARNERS = ["L001", "L002", "L003"]  # on the demo roster (account homePage https://lms.example)


def fill(endpoint: str, n: int, *, extra: list[Statement] = (), kept: list[dict] = ()) -> list[str]:
    """POST, in one batch through tincan, the ``kept`` statements (as an earlier Ralph returned
    them) and n new ones (with ids): answered with a score (evidence), every fourth
    'experienced' (stored only), the second about a learner nobody rostered; then ``extra``."""
    lrs = RemoteLRS(endpoint=endpoint, version="1.0.3", username=RALPH_USER, password=RALPH_PASSWORD)
    batch = [Statement.from_json(json.dumps({k: v for k, v in old.items() if k not in ("stored", "authority")}))
             for old in kept]
    # one second before sending: Ralph 5.1 filters 'since' on the timestamp, not on 'stored'
    # as the spec has it, and stamps 'stored' slightly before a timestamp it assigns itself
    sent_at = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(n):
        who = LEARNERS[i % len(LEARNERS)] if i != 1 else "NOT-ROSTERED"
        verb = "experienced" if i % 4 == 3 else "answered"
        s = Statement(actor=Agent(account=AgentAccount(home_page="https://lms.example", name=who)),
                      verb=Verb(id=ADL + verb, display={"en-US": verb}),
                      object=Activity(id=f"https://lms.example/activities/A000{1 + i % 3}"),
                      result=Result(score=Score(scaled=(i % 10) / 10), success=i % 2 == 0),
                      timestamp=sent_at)
        s.id = str(uuid.uuid4())
        batch.append(s)
    batch += list(extra)
    r = lrs.save_statements(batch)
    assert r.success, r.data
    return [str(s.id) for s in batch[len(kept):]]


def everything(endpoint: str) -> list[dict]:
    client = LrsClient(endpoint, RALPH_USER, RALPH_PASSWORD, page_size=1000)
    statements, more = client(None, None)
    assert more is None
    return statements


def sync(db_url: str, endpoint: str, tmp_path, *extra: str) -> dict:
    pw = tmp_path / "lrs-password"
    pw.write_text(RALPH_PASSWORD)
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "lrs-sync", endpoint, "--db", db_url, "--tenant", "demo",
         "--user", RALPH_USER, "--password-file", str(pw), "--page-size", "7", "--json", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_lrs_sync_imports_once_and_resumes(template_db, tmp_path):
    db = copy_db(template_db, tmp_path)
    port = free_port()
    with ralph_server(tmp_path / "ralph", tmp_path / "lrs-1", port) as (endpoint, _):
        first = fill(endpoint, 20)
        got = sync(db, endpoint, tmp_path)
        assert (got["received"], got["stored"], got["duplicates"], got["rejected"]) == (20, 20, 0, 0), got
        assert got["complete"] and got["pages"] == 3 and got["not_applied"] == 1  # NOT-ROSTERED
        again = sync(db, endpoint, tmp_path)
        assert (again["received"], again["stored"], again["rejected"]) == (0, 0, 0) and again["complete"], again
        kept = everything(endpoint)
    # The district LRS restarts holding the same 20 statements plus 10 new ones and a voiding
    # statement for one already imported (a new Ralph process: its fs backend takes one write).
    void = Statement(actor=Agent(mbox="mailto:lms@district.example"), verb=Verb(id=ADL + "voided"),
                     object=StatementRef(id=first[0]), timestamp=datetime.now(UTC) - timedelta(seconds=1))
    void.id = str(uuid.uuid4())
    with ralph_server(tmp_path / "ralph", tmp_path / "lrs-2", port) as (endpoint2, _):
        assert endpoint2 == endpoint  # the same source, so the same cursor
        second = fill(endpoint, 10, extra=[void], kept=kept)
        assert len(everything(endpoint)) == 31
        part = sync(db, endpoint, tmp_path, "--max-pages", "1")  # cut short after one page
        assert (part["received"], part["stored"], part["complete"]) == (7, 7, False), part
        rest = sync(db, endpoint, tmp_path)  # resumes at the stored 'more' link
        assert (rest["received"], rest["stored"], rest["duplicates"], rest["complete"]) == (4, 4, 0, True), rest
        last = sync(db, endpoint, tmp_path)
        assert (last["received"], last["stored"]) == (0, 0), last

    with pathwise_server(db) as base:
        h = httpx.Client(base_url=base, timeout=30)
        for sid in first[1:] + second:  # every statement readable like any POSTed one
            assert h.get("/xapi/statements", params={"statementId": sid}, headers=XH).status_code == 200, sid
        assert h.get("/xapi/statements", params={"statementId": first[0]}, headers=XH).status_code == 404
        assert h.get("/xapi/statements", params={"voidedStatementId": first[0]}, headers=XH).status_code == 200
        export = h.get("/v1/learners/L001/export", headers=ADMIN).json()["data"]
        evidence = {o["observation_id"] for o in export["observations"]}
        assert {f"xapi:{first[6]}", f"xapi:{first[9]}"} <= evidence  # L001 answered: evidence
        assert f"xapi:{first[3]}" not in evidence  # L001 experienced: stored only
        assert f"xapi:{first[0]}" not in evidence  # voided at the source
        pending = h.get("/v1/xapi/pending", headers=ADMIN).json()
        assert first[1] in {p["id"] for p in pending}


def test_scheduled_sync_in_the_service(template_db, tmp_path):
    with ralph_server(tmp_path / "ralph") as (endpoint, _):
        ids = fill(endpoint, 9)
        env = {"PATHWISE_LRS_SYNC_URL": endpoint, "PATHWISE_LRS_SYNC_INTERVAL": "0.5",
               "PATHWISE_LRS_SYNC_TENANT": "demo", "PATHWISE_LRS_USER": RALPH_USER,
               "PATHWISE_LRS_PASSWORD": RALPH_PASSWORD, "PATHWISE_LRS_SYNC_PAGE_SIZE": "4"}
        with pathwise_server(copy_db(template_db, tmp_path), env) as base:
            h = httpx.Client(base_url=base, timeout=30)

            def listed() -> list[str]:
                r = h.get("/xapi/statements", params={"limit": "0"}, headers=XH)
                return [s["id"] for s in r.json()["statements"]]

            deadline = time.monotonic() + 60
            while not set(ids) <= set(listed()):
                assert time.monotonic() < deadline, "the scheduled sync did not import the statements in 60 s"
                time.sleep(0.5)
            time.sleep(1.5)  # a few more passes: nothing new, nothing twice
            assert sorted(i for i in listed() if i in set(ids)) == sorted(ids)
            assert h.get("/v1/learners/L001/export", headers=ADMIN).json()["data"]["observations"]


def test_scheduled_sync_is_off_by_default():
    from service.lrs_sync_job import LrsSyncSettings

    assert not LrsSyncSettings.from_env({}).enabled
    assert not LrsSyncSettings.from_env({"PATHWISE_LRS_SYNC_URL": "http://lrs.example/xAPI/",
                                         "PATHWISE_LRS_SYNC_INTERVAL": "0"}).enabled
    on = LrsSyncSettings.from_env({"PATHWISE_LRS_SYNC_URL": "http://lrs.example/xAPI/"}, default_tenant="t1")
    assert on.enabled and on.interval_s == 300 and on.tenant == "t1"
    with pytest.raises(ValueError, match="PATHWISE_LRS_SYNC_INTERVAL"):
        LrsSyncSettings.from_env({"PATHWISE_LRS_SYNC_INTERVAL": "often"})


def test_lrs_sync_command_errors_name_the_fix(template_db, tmp_path):
    db = copy_db(template_db, tmp_path)
    out = subprocess.run([sys.executable, "-m", "service.cli", "lrs-sync", "ftp://lrs.example", "--db", db],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "must be an http(s) URL" in out.stderr
    port = free_port()  # nothing listens there
    out = subprocess.run([sys.executable, "-m", "service.cli", "lrs-sync", f"http://127.0.0.1:{port}/xAPI/",
                          "--db", db], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "failed" in out.stderr and "Traceback" not in out.stderr


def test_missing_ralph_skips_outside_ci_and_fails_under_ci(monkeypatch, tmp_path):
    from tests.service import xapi_live

    monkeypatch.setattr(xapi_live, "RALPH", tmp_path / "no-ralph" / "bin" / "ralph")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make ralph"):
        xapi_live.need_ralph()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="make ralph"):
        xapi_live.need_ralph()
