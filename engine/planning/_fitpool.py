"""One separate process per server process for the learned models' fits.

``run(fn, ...)`` calls a function there; ``fit_in_process`` is the fit's job (it opens the
store itself when another process can: a SQLite file or a PostgreSQL server, ``shared``) and
returns the models without their evidence (``LearnedModels.compact``, :class:`FormatTable`).

A fit of the learned planner models (:mod:`engine.planning._learned`) is seconds of Python and
NumPy on a school's whole history (the demo school: 2.4-2.6 s of CPU on the slow development
machine). Run in a thread of the server process it holds the interpreter lock for most of
that time, so every request of the process waits behind it (``benchmarks/fit_stall.py``).
Here the fit process reads the history itself (for an in-memory store the calling thread
reads it and the rows are sent: about 2 MB pickled for the demo school) and only what planning
reads comes back (about 1.3 MB instead of the whole models' 4.8 MB, which took 60-90 ms of
the server's interpreter lock to load).

The process is started with ``spawn`` on first use (no fork of a threaded server; its start
imports NumPy and the planner once, about 0.6 s of CPU) and kept for later fits. When it
cannot be started or dies, the fit runs in the calling thread and a warning is logged, so a
fit is never lost. Nothing happens at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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


def shared(url: str) -> bool:
    """Whether another process can open the store at ``url`` (not an in-memory SQLite)."""
    return url.startswith(("postgresql://", "postgres://")) or (
        url.startswith("sqlite://") and url[len("sqlite://"):] not in ("", "/", "/:memory:", ":memory:"))


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
"""The fit process's open stores by URL (kept between fits)."""


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

        if url not in _OPEN:
            _OPEN[url] = open_store(url, migrate=False)
        rows = _read(_OPEN[url].for_tenant(tenant), effectiveness, threshold)
    return _fit_rows(rows, activities, preferred, threshold, marker, effectiveness).compact()
