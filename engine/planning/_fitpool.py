"""One separate process per server process for the learned models' fits.

``run(fn, ...)`` calls a function there; ``fit_in_process`` is the fit's job (it opens the
store itself when another process can: a SQLite file or a PostgreSQL server,
``engine.store.shared_url``) and
returns the models without their evidence (``LearnedModels.compact``, :class:`FormatTable`).

A fit of the learned planner models (:mod:`engine.planning._learned`) is seconds of Python and
NumPy on a school's whole history (the demo school: 2.4-2.6 s of CPU on the slow development
machine). Run in a thread of the server process it holds the interpreter lock for most of
that time, so every request of the process waits behind it (``benchmarks/fit_stall.py``).
Here the fit process reads the history itself (for an in-memory store the calling thread
reads it and the rows are sent: about 2 MB pickled for the demo school) and only what planning
reads comes back (about 1.3 MB instead of the whole models' 4.8 MB, which took 62-64 ms of
the server's interpreter lock to load).

The process is a fresh interpreter started on first use (``python -m
engine.planning._fitpool``: no fork of a threaded server, and no re-run of the caller's main
script as ``multiprocessing``'s ``spawn`` does; its start imports NumPy and the planner once,
about 0.6 s of CPU) and kept for later fits, one at a time. When it
cannot be started or dies, the fit runs in the calling thread and a warning is logged, so a
fit is never lost. Nothing happens at import time.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_LOCK = threading.Lock()
_WORKER: _Worker | None = None
log = logging.getLogger("pathwise.planning")


def run(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in the fit process (``fn`` a module-level function, arguments
    and result picklable); in the calling thread, with a warning, when the process cannot be
    used. An exception raised by ``fn`` there is raised here. Blocks the calling thread (not
    the interpreter) until the result is there; one call at a time."""
    worker = None
    try:
        worker = _worker()
        ok, value = worker.call(fn, args, kwargs)
    except (OSError, EOFError, pickle.PickleError, ValueError) as exc:
        _discard(worker)
        log.warning("the learned models' fit process is unavailable (%r); fitting in this process", exc)
        return fn(*args, **kwargs)
    if not ok:
        raise value
    return value


NICE = 5
"""How much lower the fit process's scheduling priority is than its server process's (Unix
nice increment). Every server process fits its own models in the background (2.5-4 s of CPU
on the demo school, at start and then at most every max(60 s, 20 x the fit)); at the same
priority, two workers' first fits on a 2-core machine took the cores from the requests.
Measured (``pathwise serve --workers 2``, 200 observations/s, the first 6 s of playlists at
10/s after a start, 2 alternating rounds each): p50 / p99 99-808 / 876-2,278 ms at the same
priority, 32-43 / 88-184 ms at +5, 35 / 78-108 ms at +10. The cost falls on a request that
waits for a fit (a school that switched a learned model on explicitly, on its first plan or
after a catalog change) on a machine whose cores are all busy: with two busy processes on
two cores such a wait took 4.4 s at the same priority, 10.3 s at +5 and 26.3 s at +10."""


class _Worker:
    """``python -m engine.planning._fitpool``: a fresh interpreter (not ``multiprocessing``,
    whose ``spawn`` re-runs the parent's main script in the child when it lacks a
    ``__main__`` guard), fed length-prefixed pickles on its standard input, replying on its
    standard output; it ends when its input closes (this process ended or :func:`shutdown`)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "engine.planning._fitpool"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.owner = os.getpid()
        self.lock = threading.Lock()

    def call(self, fn, args, kwargs) -> tuple[bool, Any]:
        with self.lock:
            _send(self.proc.stdin, (fn, args, kwargs))
            return _receive(self.proc.stdout)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def _worker() -> _Worker:
    global _WORKER
    with _LOCK:
        w = _WORKER
        if w is None or w.owner != os.getpid() or w.proc.poll() is not None:  # none, forked, or ended
            _WORKER = w = _Worker()
        return w


def _discard(worker: _Worker | None = None) -> None:
    """Forget the fit process (``worker``: only if it is still the current one) and close it."""
    global _WORKER
    with _LOCK:
        w = _WORKER
        if worker is not None and w is not worker:
            w = worker  # another thread has started a new one already: keep that
        else:
            _WORKER = None
    if w is not None and w.owner == os.getpid():
        w.close()


def shutdown() -> None:
    """Stop the fit process (tests, server shutdown); the next fit starts a new one."""
    _discard()


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=5)
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _receive(stream) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the fit process closed its output")
    (n,) = struct.unpack("!Q", head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError("the fit process closed its output mid-reply")
    return pickle.loads(data)


def _serve() -> None:
    """The fit process: answer ``(fn, args, kwargs)`` requests with ``(True, result)`` or
    ``(False, exception)`` until the input closes, at ``NICE`` lower scheduling priority.
    Stray prints go to standard error."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; this ends with its input
    try:
        os.nice(NICE)
    except (AttributeError, OSError):  # not POSIX: the fit runs at the server's priority
        pass
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    while True:
        try:
            fn, args, kwargs = _receive(requests)
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - raised again in the caller
            reply = (False, exc)
        try:
            _send(replies, reply)
        except (pickle.PickleError, TypeError, AttributeError) as exc:  # an unpicklable result or error
            _send(replies, (False, RuntimeError(f"the fit's reply could not be sent: {exc!r}")))


@dataclass(frozen=True)
class FormatTable:
    """What planning reads of a fitted ``EffectivenessModel``: each learner's format
    multipliers (posterior means, ``values`` by ``(learner, format, declared)``; a learner and
    format without evidence: ``prior[declared]``) and the rescaling switches."""

    values: Mapping[tuple, float]
    prior: tuple[float, float]
    relative: bool
    per_skill: bool
    learns_formats: bool

    @classmethod
    def of(cls, eff, keys) -> FormatTable:
        """From a fitted model and the ``(learner, format, declared)`` keys of its tickets."""
        none = "\x00"  # no learner or format has this id: the prior alone
        return cls({k: eff.learner_format_multiplier(*k) for k in keys},
                   (eff.learner_format_multiplier(none, none, False), eff.learner_format_multiplier(none, none, True)),
                   eff.relative, eff.per_skill, eff.learns_formats)

    def learner_format_multiplier(self, learner_id: str, fmt: str, declared: bool) -> float:
        return self.values.get((learner_id, fmt, declared), self.prior[bool(declared)])


_OPEN: dict[str, Any] = {}
"""The fit process's open store by URL (kept between fits of the same store)."""


def fit_in_process(url: str, tenant: str, rows: list | None, activities: Sequence,
                   preferred: Mapping[str, Iterable[str]], threshold: float, marker: tuple[int, int],
                   effectiveness: bool) -> Any:
    """The fit process's job: read the tenant's history from the store at ``url`` unless
    ``rows`` are given, fit (:func:`~engine.planning._learned.fit_learned` when ``effectiveness``, else
    ``fit_forgetting``) and return the models ``LearnedModels.compact()`` (what
    planning reads, without the evidence: less to send back and load)."""
    from engine.planning._learned import _fit_rows, _read

    if rows is None:
        from engine.store import open_store

        if url not in _OPEN:  # one store open at a time: a server has one, a test suite many
            for old in _OPEN.values():
                old.close()
            _OPEN.clear()
            _OPEN[url] = open_store(url, migrate=False)
        rows = _read(_OPEN[url].for_tenant(tenant), effectiveness, threshold)
    return _fit_rows(rows, activities, preferred, threshold, marker, effectiveness).compact()


if __name__ == "__main__":
    _serve()
