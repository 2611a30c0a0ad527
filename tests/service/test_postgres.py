"""The same API over a real PostgreSQL store (temporary server from tests/engine/pg.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.engine.pg import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.service.conftest import ADMIN, LMS, ORTIZ

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_api_on_postgres(postgres_url):  # noqa: F811
    from service.app import create_app

    app = create_app(Settings(db_url=postgres_url, demo=True, warm_kernels=False, log_level="WARNING"))
    with TestClient(app) as c:
        assert c.get("/health").json()["store"] == "postgresql"
        learner = c.get("/v1/classes/c-3-station", headers=ORTIZ).json()["roster"][0]["id"]
        batch = {"observations": [{"id": "pg-1", "learner_id": learner, "activity_id": "A0001", "score": 1,
                                   "observed_at": "2026-10-05T10:00:00Z"}]}
        assert c.post("/v1/evidence", headers=LMS, json=batch).json()["accepted"] == 1
        assert c.post("/v1/evidence", headers=LMS, json=batch).json()["duplicates"] == 1
        plan = c.post(f"/v1/learners/{learner}/playlist", headers=ORTIZ).json()
        assert c.post(f"/v1/plans/{plan['plan_id']}/approve", headers=ORTIZ).json()["status"] == "approved"
        assert c.post("/v1/classes/c-7-flex/plan", headers=ADMIN, json={}).status_code == 200
        assert c.get(f"/v1/learners/{learner}/mastery", headers=LMS).status_code == 403
        assert c.delete(f"/v1/learners/{learner}", headers=ADMIN).status_code == 200
        assert c.get(f"/v1/learners/{learner}/export", headers=ADMIN).status_code == 404
        assert c.get(f"/v1/plans/{plan['plan_id']}", headers=ADMIN).status_code == 404
