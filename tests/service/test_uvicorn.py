"""One real server: ``pathwise serve`` (uvicorn) on 127.0.0.1, a free port, bounded time."""

from __future__ import annotations

import httpx
import pytest

from tests._servers import pathwise_server
from tests.service.conftest import copy_db

pytestmark = pytest.mark.slow


def test_real_uvicorn_process(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    with pathwise_server(url, "--no-warm", env={"PATHWISE_LOG_LEVEL": "WARNING"},
                         seconds=90) as server:
        base = server.base
        with httpx.Client(base_url=base, timeout=30) as h:
            assert h.get("/v1/classes").status_code == 401
            admin = {"Authorization": "Bearer pw-demo-admin"}
            classes = h.get("/v1/classes", headers=admin).json()
            assert len(classes) == 7
            learner = h.get("/v1/classes/c-3-station", headers=admin).json()["roster"][0]["id"]
            r = h.post("/v1/evidence", headers={"Authorization": "Bearer pw-demo-lms"}, json={"observations": [
                {"id": "uv-1", "learner_id": learner, "activity_id": "A0001", "score": 1,
                 "observed_at": "2026-10-04T10:00:00Z"}]})
            assert r.status_code == 200 and r.json()["accepted"] == 1
            r = h.post(f"/v1/learners/{learner}/playlist", headers=admin)
            assert r.status_code == 200 and r.json()["items"]
            assert h.get("/").status_code in (200, 303, 307)
            assert "Pathwise API" in h.get("/openapi.json").text
    out = server.output()
    assert "Teacher page : http://127.0.0.1:" in out
    assert "API docs     :" in out
