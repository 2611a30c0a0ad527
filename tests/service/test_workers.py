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


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_each_worker_fits_in_its_own_helper_process_and_none_outlives_the_server(template_db, tmp_path):
    """Under uvicorn's real worker processes, the first playlists start the learned models'
    fit (engine.planning._fitpool): each worker that fitted has one helper process, none falls
    back to fitting in the worker, and no helper outlives the stopped server."""
    url = copy_db(template_db, tmp_path)
    helpers: list[int] = []
    with pathwise_server(url, "--no-warm", "--workers", "2", stop_seconds=30) as server:
        deadline = time.monotonic() + 120
        learners = [f"L{n:03d}" for n in range(1, 41)]
        while True:
            for lid in learners[:8]:  # fresh connections land on either worker
                with httpx.Client(base_url=server.base, timeout=60) as h:
                    r = h.post(f"/v1/learners/{lid}/playlist", headers=ADMIN)
                    assert r.status_code in (200, 201), r.text
            workers = _children(server.pid)
            helpers = [k for w in workers for k in _children(w) if "engine.planning._fitpool" in _cmdline(k)]
            if helpers:
                break
            assert time.monotonic() < deadline, f"no fit process under the workers {workers}"
            time.sleep(1.0)
        assert all(len([k for k in _children(w) if "_fitpool" in _cmdline(k)]) <= 1 for w in _children(server.pid))
    assert "fit process is unavailable" not in server.output()
    deadline = time.monotonic() + 20
    while any(_cmdline(k) for k in helpers):
        assert time.monotonic() < deadline, f"fit processes {helpers} outlived the server"
        time.sleep(0.2)


def test_concurrent_writes_through_two_workers_are_each_stored_once(template_db, tmp_path):
    """Group commit across two real server processes on one SQLite file: many single-
    observation requests at once, on fresh connections (so both workers write and poll for
    each other's write lock), one naming an unknown learner. Every good one is 200 and stored
    exactly once (sent again, each is a duplicate); the bad one is a 404 and stored nowhere."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    url = copy_db(template_db, tmp_path)
    lms = {"Authorization": "Bearer pw-demo-lms"}
    with pathwise_server(url, "--no-warm", "--workers", "2", stop_seconds=30) as server:
        with httpx.Client(base_url=server.base, timeout=30) as h:
            roster = h.get("/v1/classes/c-3-station", headers=ADMIN).json()["roster"]
        learners = [m["id"] for m in roster]
        n, bad = 60, 17

        def body(i: int) -> dict:
            return {"observations": [{
                "id": f"two-workers-{i}", "learner_id": "nobody" if i == bad else learners[i % len(learners)],
                "activity_id": "A0001", "score": 1.0, "observed_at": f"2026-12-01T10:{i % 60:02d}:00Z"}]}

        async def send_all() -> list[httpx.Response]:
            async def one(i: int) -> httpx.Response:
                async with httpx.AsyncClient(base_url=server.base, timeout=30) as c:  # a fresh connection
                    return await c.post("/v1/evidence", json=body(i), headers=lms)

            return await asyncio.gather(*(one(i) for i in range(n)))

        # in a thread of its own: another test may leave an event loop running in this one
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(asyncio.run, send_all()).result()
            again = pool.submit(asyncio.run, send_all()).result()
    assert first[bad].status_code == 404 and "nobody" in first[bad].text
    good = [i for i in range(n) if i != bad]
    assert [first[i].status_code for i in good] == [200] * len(good), [first[i].text for i in good][:3]
    assert all(first[i].json()["accepted"] == 1 for i in good)
    assert all(again[i].json() == {"accepted": 0, "duplicates": 1, "mastery_updates": 0} for i in good)


def _flock_holder(path: Path) -> int | None:
    """The pid holding an exclusive ``flock`` on ``path`` (from /proc/locks), else None."""
    inode = path.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and "WRITE" in parts and parts[-3].rsplit(":", 1)[-1] == str(inode):
            return int(parts[-4])
    return None


def test_batches_through_two_workers_are_written_by_one_even_after_it_is_killed(template_db, tmp_path):
    """``--workers 2`` on SQLite: one process (the writing process ``pathwise serve`` starts
    before its workers) holds ``<db>.writer`` and listens beside the database; batches of
    100+ observations sent to either worker are each stored once. After the writer is killed
    (``kill -9``), batches still go through: the workers write them, and one becomes the
    writer."""
    import asyncio
    import os
    import signal
    from concurrent.futures import ThreadPoolExecutor

    url = copy_db(template_db, tmp_path)
    db = Path(url[len("sqlite:///"):])
    lms = {"Authorization": "Bearer pw-demo-lms"}
    with pathwise_server(url, "--no-warm", "--workers", "2", stop_seconds=30) as server:
        with httpx.Client(base_url=server.base, timeout=30) as h:
            learners = [m["id"] for m in h.get("/v1/classes/c-3-station", headers=ADMIN).json()["roster"]]

        def body(tag: str, i: int) -> dict:
            return {"observations": [{
                "id": f"{tag}-{i}-{k}", "learner_id": learners[(i + k) % len(learners)],
                "activity_id": "A0001", "score": 1.0, "observed_at": f"2026-12-01T10:{k % 60:02d}:00Z"}
                for k in range(120)]}

        async def send_all(tag: str) -> list[httpx.Response]:
            async def one(i: int) -> httpx.Response:
                async with httpx.AsyncClient(base_url=server.base, timeout=60) as c:  # fresh connections
                    return await c.post("/v1/evidence", json=body(tag, i), headers=lms)

            return await asyncio.gather(*(one(i) for i in range(10)))

        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(asyncio.run, send_all("fw")).result()
            again = pool.submit(asyncio.run, send_all("fw")).result()
            writer = _flock_holder(Path(f"{db}.writer"))
            assert writer in _children(server.pid) and Path(f"{db}.writer.sock").exists()
            assert "service.writer_process" in _cmdline(writer), "a worker, not the writing process"
            os.kill(writer, signal.SIGKILL)
            after = pool.submit(asyncio.run, send_all("after-kill")).result()
    assert [r.status_code for r in first] == [200] * 10, [r.text for r in first][:2]
    assert all(r.json()["accepted"] == 120 for r in first)
    assert all(r.json() == {"accepted": 0, "duplicates": 120, "mastery_updates": 0} for r in again)
    assert [r.status_code for r in after] == [200] * 10, [r.text for r in after][:2]
    assert all(r.json()["accepted"] == 120 for r in after)
