"""``pathwise serve --workers 2``: two real server processes on one SQLite file share the
port and stay coherent (issue 12 items 7 and 8)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests._servers import pathwise_server
from tests.service.conftest import copy_db

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer pw-demo-admin"}


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_two_workers_share_the_port_and_see_each_others_writes(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    with pathwise_server(url, "--no-warm", "--workers", "2", stop_seconds=30) as server:
        base = server.base
        # both workers answer on the port (uvicorn's supervisor is the parent)
        deadline = time.monotonic() + 60
        while len(_children(server.pid)) < 2:
            assert time.monotonic() < deadline, f"expected 2 workers, found {_children(server.pid)}"
            time.sleep(0.2)
        activity = {"id": "W-1", "title": "Made through one worker", "skills": [["3.OA.A.1", 1.0]],
                    "kind": "practice", "modality": "online", "place": "school",
                    "duration_min": 10, "difficulty": 0.4}
        for _ in range(20):  # both workers load (cache) the school before the write
            with httpx.Client(base_url=base, timeout=30) as h:
                assert h.get("/v1/catalog/activities?limit=1", headers=ADMIN).status_code == 200
        with httpx.Client(base_url=base, timeout=30) as h:
            skills = h.get("/v1/graph/skills", headers=ADMIN).json()
            activity["skills"] = [[skills[0]["id"], 1.0]]
            r = h.post("/v1/catalog/activities", headers=ADMIN, json=activity)
            assert r.status_code == 201, r.text
        time.sleep(1.0)
        # fresh connections land on either worker: every one must see the new activity
        for _ in range(20):
            with httpx.Client(base_url=base, timeout=30) as h:
                r = h.get("/v1/catalog/activities/W-1", headers=ADMIN)
                assert r.status_code == 200, r.text
    assert "(2 worker processes)" in server.output()
