"""service.schedule: the background loop behind the scheduled LRS sync and LTI grade passback."""

from __future__ import annotations

import threading

from service.schedule import start_periodic


class _Log:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def exception(self, message: str, **_: object) -> None:
        self.failures.append(message)


def test_a_failing_pass_is_logged_and_the_next_one_still_runs():
    calls, third = [], threading.Event()

    def job() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the LMS is down")
        if len(calls) == 3:
            third.set()

    log = _Log()
    stop = start_periodic("test-job", 0.01, job, log)
    try:
        assert third.wait(5), calls
    finally:
        stop()
    assert log.failures == ["test-job pass failed"]
    n = len(calls)
    assert not any(t.name == "test-job" and t.is_alive() for t in threading.enumerate())
    assert len(calls) == n  # stopped means stopped


def test_run_first_false_waits_one_interval_and_stops_before_running():
    calls: list[int] = []
    stop = start_periodic("test-later", 3600, lambda: calls.append(1), _Log(), run_first=False)
    stop()  # returns at once: the wait is interrupted, the job never ran
    assert calls == []
