"""A real xAPI client library (``tincan``, the ADL/Rustici TinCanPython) against a live
``pathwise serve``: store, read back, query, page with ``more``, void, about — with HTTP
Basic auth, as LRS clients send it."""

from __future__ import annotations

import uuid

import httpx
import pytest
from tincan import (
    Activity,
    Agent,
    AgentAccount,
    Context,
    RemoteLRS,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)

from tests.service.conftest import copy_db
from tests.service.xapi_live import pathwise_server

pytestmark = pytest.mark.slow
ADL = "http://adlnet.gov/expapi/verbs/"


@pytest.fixture(scope="module")
def server(template_db, tmp_path_factory):
    with pathwise_server(copy_db(template_db, tmp_path_factory.mktemp("tincan"))) as base:
        yield base


def lrs(base: str, password: str = "pw-demo-lms") -> RemoteLRS:
    return RemoteLRS(endpoint=f"{base}/xapi/", version="1.0.3", username="lms", password=password)


def learner_ids(base: str) -> list[str]:
    r = httpx.get(f"{base}/v1/classes/c-3-station", headers={"Authorization": "Bearer pw-demo-admin"})
    return [m["id"] for m in r.json()["roster"]]


def answered(learner: str, activity: str, scaled: float, registration: str | None = None) -> Statement:
    return Statement(
        actor=Agent(name=learner, account=AgentAccount(home_page="https://lms.example", name=learner)),
        verb=Verb(id=ADL + "answered", display={"en-US": "answered"}),
        object=Activity(id=f"https://lms.example/activities/{activity}"),
        result=Result(score=Score(scaled=scaled), success=scaled >= 0.5),
        context=Context(registration=registration) if registration else None)


def mastery_points(base: str, learner: str) -> int:
    r = httpx.get(f"{base}/v1/learners/{learner}/mastery/history", headers={"Authorization": "Bearer pw-demo-admin"})
    return len(r.json()["points"])


def test_tincan_round_trip(server):
    client = lrs(server)
    about = client.about()
    assert about.success and "1.0.3" in about.content.version
    learner = learner_ids(server)[0]
    n0 = mastery_points(server, learner)
    reg = str(uuid.uuid4())

    one = answered(learner, "A0001", 0.9, reg)
    one_id = str(uuid.uuid4())
    one.id = one_id
    saved = client.save_statement(one)  # PUT with statementId
    assert saved.success, saved.data
    assert mastery_points(server, learner) > n0
    back = client.retrieve_statement(one_id)
    assert back.success and str(back.content.id) == one_id
    assert back.content.verb.id == ADL + "answered" and back.content.result.score.scaled == 0.9
    assert back.content.stored is not None and back.content.authority is not None

    batch = [answered(learner, "A0001" if i % 2 else "A0002", i / 10, reg) for i in range(1, 8)]
    saved = client.save_statements(batch)  # POST without ids: the LRS assigns them
    assert saved.success, saved.data
    ids = [str(s.id) for s in saved.content]
    assert len(set(ids)) == 7

    # query by agent + registration, 3 per page, newest first; follow 'more' to the end
    agent = Agent(account=AgentAccount(home_page="https://lms.example", name=learner))
    page = client.query_statements({"agent": agent, "registration": reg, "limit": 3})
    assert page.success, page.data
    seen = [str(s.id) for s in page.content.statements]
    pages = 1
    while page.content.more:
        page = client.more_statements(page.content)
        assert page.success, page.data
        seen += [str(s.id) for s in page.content.statements]
        pages += 1
    assert pages == 3 and seen == [*ids[::-1], one_id]
    asc = client.query_statements({"agent": agent, "registration": reg, "ascending": True, "limit": 0})
    assert [str(s.id) for s in asc.content.statements] == [one_id, *ids]
    by_verb = client.query_statements({"verb": Verb(id=ADL + "answered"), "registration": reg,
                                       "activity": Activity(id="https://lms.example/activities/A0002")})
    assert {str(s.id) for s in by_verb.content.statements} == {ids[i] for i in (1, 3, 5)}

    # void one: it leaves queries and evidence; the voided statement is read by voidedStatementId
    void = Statement(actor=Agent(mbox="mailto:lms@school.example"), verb=Verb(id=ADL + "voided"),
                     object=StatementRef(id=ids[0]))
    assert client.save_statement(void).success
    assert not client.retrieve_statement(ids[0]).success
    voided = client.retrieve_voided_statement(ids[0])
    assert voided.success and str(voided.content.id) == ids[0]
    after = client.query_statements({"registration": reg, "limit": 0})
    assert ids[0] not in {str(s.id) for s in after.content.statements}


def test_tincan_is_refused_with_a_wrong_key_or_version(server):
    bad = lrs(server, password="not-a-key")
    r = bad.save_statement(answered("L001", "A0001", 0.5))
    assert not r.success and r.response.status == 401
    old = lrs(server)
    old.version = "1.0.0"
    assert old.save_statement(answered("NOBODY", "A0001", 0.5)).success  # 1.0.x accepted
