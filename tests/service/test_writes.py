"""service.writes: a small write runs on the event loop, grouped with the writes queued there
in the same turn (group commit); a big one alone in the thread pool; each request gets its own
outcome, in its own context. End to end, concurrent evidence requests form groups on the real
store and a bad one fails alone."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from engine.app._together import run_alone
from service.logs import request_id_var
from service.writes import INLINE_MAX, WriteGroups, run_checked
from tests._locks import LockHolder
from tests.service.conftest import ADMIN, LMS, make_client, roster


class _Recorder:
    """A stand-in for Pathwise.run_together that records the groups it is given."""

    def __init__(self) -> None:
        self.groups: list[int] = []

    def try_write_turn(self) -> bool:
        return True

    def end_write_turn(self) -> None:
        pass

    def run_together(self, calls):
        self.groups.append(len(calls))
        return [run_alone(call) for call in calls]


def _in_own_loop(coroutine_fn):
    out: list = []  # a thread of its own: other tests may leave an event loop running here
    worker = threading.Thread(target=lambda: out.append(asyncio.run(coroutine_fn())))
    worker.start()
    worker.join()
    return out[0]


def test_small_writes_run_on_the_loop_thread_and_big_ones_in_the_pool():
    groups = WriteGroups(_Recorder())

    async def main():
        loop_thread = threading.get_ident()
        small = await groups.run(INLINE_MAX, lambda x, *, y: (threading.get_ident(), x + y), 1, y=2)
        big = await groups.run(INLINE_MAX + 1, lambda: threading.get_ident())
        return loop_thread, small, big

    loop_thread, small, big = _in_own_loop(main)
    assert small == (loop_thread, 3)
    assert big != loop_thread
    assert groups.pathwise.groups == [1], "the big write must not go through a group"


def test_writes_queued_in_one_turn_form_one_group_with_their_own_outcomes():
    recorder = _Recorder()
    groups = WriteGroups(recorder)

    def use_case(i: int) -> str:
        if i == 3:
            raise ValueError(f"request {i} is bad")
        return f"{request_id_var.get()}:{i}"

    async def one(i: int):
        request_id_var.set(f"req-{i}")  # each request task has its own context
        try:
            return await groups.run(1, use_case, i)
        except ValueError as exc:
            return exc

    async def main():
        first = await asyncio.gather(*(one(i) for i in range(6)))
        second = await one(7)  # alone: a group of one
        return first, second

    first, second = _in_own_loop(main)
    assert recorder.groups == [6, 1]
    assert first[:3] == ["req-0:0", "req-1:1", "req-2:2"] and first[4:] == ["req-4:4", "req-5:5"]
    assert isinstance(first[3], ValueError) and "request 3" in str(first[3])
    assert second == "req-7:7"
    assert (groups.groups, groups.calls) == (2, 7)


def test_a_failing_look_at_the_write_lock_does_not_leave_the_request_waiting():
    class Broken(_Recorder):
        def try_write_turn(self) -> bool:
            raise OSError("the lock file is gone")

    groups = WriteGroups(Broken())

    async def main():
        return await asyncio.wait_for(groups.run(1, lambda: "written"), timeout=5)

    assert _in_own_loop(main) == "written"


def test_a_split_write_prepares_on_the_loop_and_writes_in_a_group_unless_it_is_big():
    from types import SimpleNamespace

    recorder = _Recorder()
    app = SimpleNamespace(state=SimpleNamespace(write_groups=WriteGroups(recorder)))
    calls: list[tuple[str, int]] = []

    def prepare(x: int, *, plus: int) -> int:
        calls.append(("prepare", threading.get_ident()))
        return x + plus

    def write(prepared: int) -> int:
        calls.append(("write", threading.get_ident()))
        return prepared * 10

    async def main():
        loop_thread = threading.get_ident()
        small = await run_checked(app, INLINE_MAX, prepare, write, 1, plus=1)
        big = await run_checked(app, INLINE_MAX + 1, prepare, write, 2, plus=1)
        return loop_thread, small, big

    loop_thread, small, big = _in_own_loop(main)
    assert (small, big) == (20, 30)
    assert [name for name, _ in calls] == ["prepare", "write", "prepare", "write"]
    assert calls[0][1] == calls[1][1] == loop_thread, "a small request prepares and writes on the loop"
    assert calls[2][1] == calls[3][1] != loop_thread, "a big one does both in the pool"
    assert recorder.groups == [1], "only the small request's write goes through a group"


def _with_client(app, scenario):
    """``scenario(client)`` (async; an httpx client on ``app`` in process) run in a loop of
    its own; returns what it returns."""
    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await scenario(client)

    return _in_own_loop(main)


def _while_another_process_writes(app, scenario):
    """:func:`_with_client` while a real second process holds the store's write lock, which it
    gives back after 1 s; returns what ``scenario`` returns and the monotonic release time."""
    import time

    released: list[float] = []
    holder = LockHolder(app.state.pathwise.store._driver.path)

    def release() -> None:
        released.append(time.monotonic())
        holder.release()

    timer = threading.Timer(1.0, release)
    with holder:
        timer.start()
        try:
            out = _with_client(app, scenario)
        finally:
            timer.join()
    return out, released[0]


@pytest.fixture()
def app_and_learners(template_db, tmp_path):
    with make_client(template_db, tmp_path) as client:
        yield client.app, roster(client, "c-3-station")


def test_concurrent_evidence_requests_commit_in_groups_and_a_bad_one_fails_alone(app_and_learners):
    """12 concurrent requests: one reuses a stored id with another payload (a 409 only the
    write can find, inside the group), one names an unknown learner (a 404 found before the
    group: it never takes the write lock). The other ten commit, in fewer groups than requests."""
    app, learners = app_and_learners
    n = 12

    def body(i: int, score: float = 1.0) -> dict:
        learner = "nobody" if i == 7 else learners[i % len(learners)]
        return {"observations": [{"id": f"grouped-{i}", "learner_id": learner, "activity_id": "A0001",
                                  "score": score, "observed_at": f"2026-12-01T10:{i:02d}:00Z"}]}

    async def scenario(client):
        first = await client.post("/v1/evidence", json=body(5), headers=LMS)
        assert first.status_code == 200
        groups_before = (app.state.write_groups.groups, app.state.write_groups.calls)
        answers = await asyncio.gather(*(
            client.post("/v1/evidence", json=body(i, 0.0 if i == 5 else 1.0), headers=LMS)
            for i in range(n)))
        return groups_before, answers

    (groups_before, calls_before), answers = _with_client(app, scenario)
    statuses = [a.status_code for a in answers]
    assert statuses[5] == 409 and "grouped-5" in answers[5].text
    assert statuses[7] == 404 and "nobody" in answers[7].text
    good = [i for i in range(n) if i not in (5, 7)]
    assert [statuses[i] for i in good] == [200] * len(good)
    assert all(answers[i].json()["accepted"] == 1 for i in good)
    groups = app.state.write_groups
    calls, flushes = groups.calls - calls_before, groups.groups - groups_before
    assert calls == n - 1, "the unknown learner must be refused before the write group"
    assert flushes < calls, "concurrent requests were not grouped"
    school = app.state.pathwise.school("demo")
    stored = {o.observation_id: o for o in school.engine.store.list_observations()}
    assert {f"grouped-{i}" for i in good} <= set(stored) and "grouped-7" not in stored
    assert stored["grouped-5"].score == 1.0, "the conflicting request must change nothing"


def test_a_write_waiting_for_another_process_does_not_stop_the_loop(app_and_learners):
    """While another process holds the store's write lock, a write request waits without
    blocking its event loop: a read on the same loop is answered first, and the write goes
    through once the lock is free (before the change the loop itself waited in ``flock``)."""
    import time

    app, learners = app_and_learners
    body = {"observations": [{"id": "waits-1", "learner_id": learners[0], "activity_id": "A0001",
                              "score": 1.0, "observed_at": "2026-12-01T10:00:00Z"}]}

    async def scenario(client):
        write = asyncio.ensure_future(client.post("/v1/evidence", json=body, headers=LMS))
        await asyncio.sleep(0.2)
        # a read that writes nothing (a learner's mastery read is audited: a write)
        read = await client.get("/v1/catalog/activities?limit=5", headers=ADMIN)
        read_at = time.monotonic()
        return read, read_at, await write

    (read, read_at, write), released_at = _while_another_process_writes(app, scenario)
    assert read.status_code == 200 and write.status_code == 200
    assert read_at < released_at, "the read waited for another process's write lock"
    assert app.state.write_groups.polls > 0


def test_a_batch_is_checked_before_it_waits_for_the_write_lock(app_and_learners):
    """The rows are checked and made observations before the request joins a write group:
    while another process holds the write lock, a batch naming an unknown learner is refused
    at once (before, the check ran inside the group and waited for the lock), and a good one
    is written once the lock is free."""
    import time

    app, learners = app_and_learners

    def body(oid: str, learner: str) -> dict:
        return {"observations": [{"id": oid, "learner_id": learner, "activity_id": "A0001",
                                  "score": 1.0, "observed_at": "2026-12-01T10:00:00Z"}]}

    async def scenario(client):
        good = asyncio.ensure_future(client.post("/v1/evidence", json=body("checked-1", learners[0]),
                                                 headers=LMS))
        bad = await client.post("/v1/evidence", json=body("checked-2", "nobody"), headers=LMS)
        return bad, time.monotonic(), await good

    (bad, bad_at, good), released_at = _while_another_process_writes(app, scenario)
    assert bad.status_code == 404 and "nobody" in bad.text
    assert bad_at < released_at, "the bad batch waited for another process's write lock"
    assert good.status_code == 200 and good.json()["accepted"] == 1


def test_a_statement_is_checked_before_it_waits_for_the_write_lock(app_and_learners):
    """The same for xAPI: while another process holds the write lock, an invalid statement
    (no verb) is answered 400 at once; a valid one is stored once the lock is free."""
    import time
    import uuid

    app, _ = app_and_learners
    headers = {**LMS, "X-Experience-API-Version": "1.0.3"}
    good_id = str(uuid.uuid4())

    def statement(sid: str, verb: bool = True) -> dict:
        st = {"id": sid, "actor": {"objectType": "Agent", "mbox": "mailto:someone@example.org"},
              "object": {"objectType": "Activity", "id": "https://pathwise.example/activities/A0001"},
              "result": {"success": True}, "timestamp": "2026-12-01T10:00:00Z"}
        if verb:
            st["verb"] = {"id": "http://adlnet.gov/expapi/verbs/answered"}
        return st

    async def scenario(client):
        good = asyncio.ensure_future(client.post("/xapi/statements", json=[statement(good_id)], headers=headers))
        bad = await client.post("/xapi/statements", json=[statement(str(uuid.uuid4()), verb=False)],
                                headers=headers)
        return bad, time.monotonic(), await good

    (bad, bad_at, good), released_at = _while_another_process_writes(app, scenario)
    assert bad.status_code == 400 and "verb" in bad.text
    assert bad_at < released_at, "the invalid statement waited for another process's write lock"
    assert good.status_code == 200 and good.json() == [good_id]
