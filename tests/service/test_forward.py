"""One server process writes every evidence batch of 100+ observations; the others send theirs
to it (``service.forward``, ``Settings.forward_writes``). Two apps on one SQLite file stand in
for two worker processes: each has its own store connection, event loop and lock file
descriptor (``flock`` locks belong to the descriptor, so two in one process exclude each other
as two processes do). The real two-process server: tests/service/test_workers.py."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.app import create_app
from service.forward import FORWARD_MIN, _dumps
from service.settings import Settings
from tests.service.conftest import LMS, copy_db, roster, run_serve


def _app(url: str, demo: bool) -> TestClient:
    return TestClient(create_app(Settings(
        db_url=url, demo=demo, tenant="demo", warm_kernels=False, log_level="WARNING",
        session_secret="test-secret", forward_writes=True)))


def _batch(prefix: str, learners: list[str], n: int, score: float = 1.0) -> dict:
    return {"observations": [
        {"id": f"{prefix}-{i}", "learner_id": learners[i % len(learners)], "activity_id": "A0001",
         "score": score, "observed_at": f"2026-12-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z"}
        for i in range(n)]}


def test_batches_go_to_the_writer_small_ones_stay_and_errors_come_back(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    with _app(url, demo=True) as first, _app(url, demo=False) as second:
        writer, sender = first.app.state.forwarder, second.app.state.forwarder
        assert writer.is_writer and not sender.is_writer, "the first to start is the writer"
        learners = roster(first, "c-3-station")
        calls = second.app.state.write_groups.calls

        r = second.post("/v1/evidence", json=_batch("fw", learners, FORWARD_MIN), headers=LMS)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == FORWARD_MIN and r.json()["mastery_updates"] > 0
        assert (sender.forwarded, writer.served) == (1, 1)
        assert second.app.state.write_groups.calls == calls, "the sender must not write it"
        stored = {o.observation_id for o in
                  first.app.state.pathwise.school("demo").engine.store.list_observations()}
        assert {f"fw-{i}" for i in range(FORWARD_MIN)} <= stored

        r = second.post("/v1/evidence", json=_batch("small", learners, FORWARD_MIN - 1), headers=LMS)
        assert r.status_code == 200 and r.json()["accepted"] == FORWARD_MIN - 1
        assert sender.forwarded == 1 and second.app.state.write_groups.calls == calls + 1

        # the same ids with another score: the writer's ConflictError is the sender's 409
        r = second.post("/v1/evidence", json=_batch("fw", learners, FORWARD_MIN, 0.0), headers=LMS)
        assert r.status_code == 409 and "fw-" in r.text, r.text
        assert (sender.forwarded, writer.served) == (2, 1)
        # a check the sender makes itself: never sent
        bad = _batch("unknown", ["nobody"], FORWARD_MIN)
        r = second.post("/v1/evidence", json=bad, headers=LMS)
        assert r.status_code == 404 and "nobody" in r.text and sender.forwarded == 2


def test_when_the_writer_stops_the_sender_writes_and_takes_over(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    first = _app(url, demo=True)
    with first:
        learners = roster(first, "c-3-station")
        second = _app(url, demo=False)
        second.__enter__()
    # the writer has stopped (its lock is free and its socket gone)
    try:
        sender = second.app.state.forwarder
        assert not sender.is_writer
        r = second.post("/v1/evidence", json=_batch("after", learners, FORWARD_MIN), headers=LMS)
        assert r.status_code == 200 and r.json()["accepted"] == FORWARD_MIN, r.text
        assert sender.is_writer and sender.forwarded == 0, "it writes here and becomes the writer"
        with _app(url, demo=False) as third:
            assert not third.app.state.forwarder.is_writer
            r = third.post("/v1/evidence", json=_batch("third", learners, FORWARD_MIN), headers=LMS)
            assert r.status_code == 200 and r.json()["accepted"] == FORWARD_MIN
            assert third.app.state.forwarder.forwarded == 1 and sender.served == 1
    finally:
        second.__exit__(None, None, None)


def test_an_error_that_does_not_pickle_goes_back_as_its_text():
    import pickle

    class Local(Exception):  # a local class: pickle cannot find it by name
        pass

    status, error = pickle.loads(_dumps(("err", Local("boom"))))
    assert status == "err" and isinstance(error, RuntimeError) and "Local: boom" in str(error)


def test_off_without_the_setting_and_in_memory(template_db, tmp_path):
    url = copy_db(template_db, tmp_path)
    with TestClient(create_app(Settings(db_url=url, warm_kernels=False, log_level="WARNING"))) as c:
        assert c.app.state.forwarder is None
    with TestClient(create_app(Settings(db_url="sqlite://", warm_kernels=False,
                                        log_level="WARNING", forward_writes=True))) as c:
        assert c.app.state.forwarder is None


def test_a_writer_that_does_not_answer_in_time_means_writing_here(tmp_path, monkeypatch):
    """A writer that takes the batch and never answers: after ``TIMEOUT_S`` the sender gives
    up on it (closing that connection, which may still carry the answer), reports NOT_SENT so
    the route writes the batch itself, and tries to become the writer."""
    import asyncio
    import fcntl
    import os

    from service import forward

    monkeypatch.setattr(forward, "TIMEOUT_S", 0.2)
    db = str(tmp_path / "x.db")
    taken: list[bytes] = []

    async def silent(reader, writer):
        taken.append(await reader.read(4))  # reads the batch's start, answers nothing

    async def main():
        holder = os.open(db + ".writer", os.O_RDWR | os.O_CREAT)
        fcntl.flock(holder, fcntl.LOCK_EX)  # "the writer" holds the lock
        server = await asyncio.start_unix_server(silent, path=db + ".writer.sock")
        sender = await forward.Forwarder(app=None, db_file=db).start()
        assert not sender.is_writer and sender.forwards(forward.FORWARD_MIN)
        answer = await sender.send("demo", {"n": 1})
        assert answer is forward.NOT_SENT and taken and sender._idle == []
        assert not sender.forwards(forward.FORWARD_MIN), "it waits RETRY_S before trying again"
        assert not sender.is_writer, "the writer still holds its lock"
        server.close()
        os.close(holder)  # the writer stops
        sender._retry_at = 0.0
        assert await sender.send("demo", {"n": 1}) is forward.NOT_SENT
        assert sender.is_writer, "with the lock free, the sender becomes the writer"
        sender.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own: another test may
        pool.submit(asyncio.run, main()).result()  # leave an event loop running in this one


def test_serve_turns_it_on_only_for_several_workers(monkeypatch):
    one, env = run_serve(monkeypatch, workers=1)
    assert one.forward_writes is False and "PATHWISE_FORWARD_WRITES" not in env
    _, env = run_serve(monkeypatch, workers=2)
    assert env["PATHWISE_FORWARD_WRITES"] == "true"
    assert Settings.from_env(env).forward_writes is True


def _writer_process(url: str, *extra: str):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "service.writer_process", "--db", url, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_writer_process_writes_the_workers_batches_and_is_alone(template_db, tmp_path):
    """``service.writer_process`` (started by ``pathwise serve --workers N``): serving once it
    prints "ready"; a worker then forwards to it and the batch is stored; a second one on the
    same file refuses (exit 1); SIGINT (as SIGTERM) stops it and removes its socket."""
    import signal
    from pathlib import Path

    url = copy_db(template_db, tmp_path)
    sock = Path(url[len("sqlite:///"):] + ".writer.sock")
    proc = _writer_process(url)
    try:
        assert proc.stdout.readline().strip() == "ready" and sock.exists()
        second = _writer_process(url)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1 and "has a writer already" in err
        with _app(url, demo=False) as worker:
            learners = roster(worker, "c-3-station")
            assert not worker.app.state.forwarder.is_writer
            r = worker.post("/v1/evidence", json=_batch("wp", learners, FORWARD_MIN), headers=LMS)
            assert r.status_code == 200 and r.json()["accepted"] == FORWARD_MIN, r.text
            assert worker.app.state.forwarder.forwarded == 1
            assert worker.app.state.write_groups.calls == 0
        proc.send_signal(signal.SIGINT)  # Ctrl+C: a clean stop, no traceback
        assert proc.wait(timeout=30) == 0 and not sock.exists()
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


def test_the_writer_process_leaves_when_its_parent_is_gone(template_db, tmp_path):
    import os

    url = copy_db(template_db, tmp_path)
    proc = _writer_process(url, "--parent", str(os.getpid() + 10**6))  # never its parent
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
