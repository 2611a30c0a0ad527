"""One separate process per server process for the learned models' fits.

A fit of the learned planner models (:mod:`engine.planning._learned`) is seconds of Python and
NumPy on a school's whole history (the demo school: 2.4-2.6 s of CPU on the slow development
machine). Run in a thread of the server process it holds the interpreter lock for most of
that time, so every request of the process waits behind it: measured as the first ingest
step's p99 rising from 73 to 167 ms (twelfth session, ``benchmarks/README.md``). Here the
history is read in the calling thread (the store's connections stay in their process), the
rows go to a process of their own (pickled: about 2 MB and 40 ms for the demo school), and
only the fitted models come back (about 5 MB, 60-90 ms to load).

The process is started with ``spawn`` on first use (no fork of a threaded server; its start
imports NumPy and the planner once, about 0.6 s of CPU) and kept for later fits. When it
cannot be started or dies, the fit runs in the calling thread and a warning is logged, so a
fit is never lost. Nothing happens at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.Lock()
_POOL: Any = None
_POOL_PID = 0
log = logging.getLogger("pathwise.planning")


def run(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in the fit process (``fn`` a module-level function, arguments
    and result picklable); in the calling thread, with a warning, when the process cannot be
    used. Blocks the calling thread (not the interpreter) until the result is there."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool = _pool()
        return pool.submit(fn, *args, **kwargs).result()
    except (BrokenProcessPool, OSError) as exc:
        _discard()
        log.warning("the learned models' fit process is unavailable (%s); fitting in this process", exc)
        return fn(*args, **kwargs)


def _pool():
    global _POOL, _POOL_PID
    with _LOCK:
        if _POOL is None or _POOL_PID != os.getpid():  # none yet, or inherited through a fork
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            _POOL_PID = os.getpid()
        return _POOL


def _discard() -> None:
    global _POOL
    with _LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the fit process (tests, server shutdown); the next fit starts a new one."""
    _discard()
