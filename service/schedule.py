"""One background thread that repeats a job every ``interval_s`` seconds until stopped: the
service's scheduled work (LRS sync, LTI grade passback) runs on it."""

from __future__ import annotations

import threading
from collections.abc import Callable


def start_periodic(name: str, interval_s: float, job: Callable[[], None], log, *,
                   run_first: bool = True) -> Callable[[], None]:
    """Run ``job`` every ``interval_s`` seconds on a daemon thread named ``name`` (at once when
    ``run_first``, else after one interval). An exception is logged and the job runs again
    next interval. Returns a function that stops the thread (waits up to 10 s for a running
    pass)."""
    stop = threading.Event()

    def loop() -> None:
        if not run_first and stop.wait(interval_s):
            return
        while not stop.is_set():
            try:
                job()
            except Exception:  # a failed pass is logged and retried next interval
                log.exception(f"{name} pass failed")
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()

    def stopper() -> None:
        stop.set()
        thread.join(timeout=10)

    return stopper
