"""The xAPI statement resource over a real PostgreSQL store (migration 0020's PostgreSQL
variant): store, filter, page with 'more', void, erase."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.engine.pg import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.service.conftest import ADMIN, LMS
from tests.service.test_xapi import VERSION, stmt

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
X = {**LMS, **VERSION}


def test_statement_resource_on_postgres(postgres_url):  # noqa: F811
    from service.app import create_app

    app = create_app(Settings(db_url=postgres_url, demo=True, warm_kernels=False, log_level="WARNING"))
    with TestClient(app) as c:
        learner = c.get("/v1/classes/c-3-station", headers=ADMIN).json()["roster"][0]["id"]
        sent = [stmt(learner, sid=str(uuid.uuid4()), ts=f"2026-10-0{i + 1}T09:00:00Z") for i in range(5)]
        assert c.post("/xapi/statements", headers=X, json=sent).status_code == 200
        assert c.post("/xapi/statements", headers=X, json=sent[0]).status_code == 200  # the same: once
        agent = json.dumps({"account": {"homePage": "https://lms.example", "name": learner}})
        page = c.get("/xapi/statements", headers=X, params={"agent": agent, "limit": "2", "ascending": "true"}).json()
        seen = [s["id"] for s in page["statements"]]
        while page["more"]:
            page = c.get(page["more"], headers=X).json()
            seen += [s["id"] for s in page["statements"]]
        assert seen == [s["id"] for s in sent]
        void = {"actor": {"mbox": "mailto:lms@school.example"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                "object": {"objectType": "StatementRef", "id": sent[0]["id"]}}
        void_id = c.post("/xapi/statements", headers=X, json=void).json()[0]
        mine = c.get("/xapi/statements", headers=X, params={"agent": agent}).json()["statements"]
        assert [s["id"] for s in mine][0] == void_id  # targets a statement that matches the agent
        assert c.get("/xapi/statements", headers=X, params={"statementId": sent[0]["id"]}).status_code == 404
        assert c.get("/xapi/statements", headers=X, params={"voidedStatementId": sent[0]["id"]}).status_code == 200
        assert c.delete(f"/v1/learners/{learner}", headers=ADMIN).status_code == 200
        left = c.get("/xapi/statements", headers=X, params={"agent": agent}).json()["statements"]
        assert left == []
