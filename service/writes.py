"""Where a request's write use case runs: on the event loop, grouped with the other writes
waiting there (group commit), or, when it is big, alone in the thread pool.

A request carrying at most :data:`INLINE_MAX` observations or statements queues its use case
on its event loop and waits. The first one queued schedules a flush with ``call_soon``: it
runs after the requests already parsed in this turn of the loop, which queue theirs too, and
hands them all to :meth:`engine.app.pathwise.Pathwise.run_together` -- one store transaction
for the group where the store has one writer (SQLite), each alone with its own outcome when
one of them fails. At a low rate a group is one request (as before, the call runs on the
loop); under load the requests that arrived while the loop wrote, or while another process held
the write lock, form the next group, so the group grows with the load and the lock, ``BEGIN`` and ``COMMIT`` are paid
once per group instead of once per request (docs/performance.md, fifteenth session).

The loop does not wait for another server process's write: a flush first tries the store's
write lock without waiting (:meth:`~engine.app.pathwise.Pathwise.try_write_turn`) and, when
another process holds it, looks again :data:`POLL_S` later, answering other requests meanwhile
(their writes join the group). Waiting for the lock in a helper thread instead was tried and
was worse: the lock, once taken there, sat idle until the busy loop reached the flush.

Why the loop and not a thread: another thread of the same process would compete with the loop
for the interpreter lock, which the SQLite module releases and takes back around every row it
writes, while the store's write lock (one per database, shared with the other server
processes) is held -- a 500-observation batch then held it about twice as long as in process.
A bigger request (more than :data:`INLINE_MAX` items) would stall the loop's other requests
too long, so it still runs in the thread pool, alone.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from typing import Any

INLINE_MAX = 1000
"""Requests with at most this many observations or statements write on the event loop in a
group (module doc); bigger ones in the thread pool. Measured in process on the demo school
(fifteenth session): 500 observations take 13 ms, 1,000 take 41 ms (p50) -- about the longest
one request makes the loop's others wait."""


POLL_S = 0.001
"""Seconds between looks at the write lock while another server process holds it."""


class WriteGroups:
    """The write use cases queued on each event loop, flushed as groups (module doc)."""

    def __init__(self, pathwise: Any) -> None:
        self.pathwise = pathwise
        self._queued: dict[asyncio.AbstractEventLoop, list[tuple[Any, asyncio.Future]]] = {}
        self.groups = 0  # flushes run (tests read it)
        self.calls = 0  # calls run in them
        self.polls = 0  # times a group found another process writing and looked again later

    async def run(self, n: int, fn, /, *args, **kwargs) -> Any:
        """``fn(*args, **kwargs)`` for a request of ``n`` observations or statements: queued
        and grouped on this loop when ``n <= INLINE_MAX``, else alone in the thread pool.
        Returns what ``fn`` returns and raises what it raises."""
        if n > INLINE_MAX:
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        # the call runs in the flush's callback: give it this request's context (request id, actor)
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        queued = self._queued.get(loop)
        if queued is None:
            queued = self._queued[loop] = []
            loop.call_soon(self._start, loop)
        queued.append((call, done))
        return await done

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flush when no other process is writing; else look again in :data:`POLL_S` and
        serve requests meanwhile (those that write join this group)."""
        try:
            ready = self.pathwise.try_write_turn()
        except Exception:  # the store's own error then reaches the requests through the flush
            ready = True
        if ready:
            self._flush(loop)
            return
        self.polls += 1
        loop.call_later(POLL_S, self._start, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        queued = [(call, done) for call, done in self._queued.pop(loop, ()) if not done.done()]
        try:
            if not queued:  # every request of the group was cancelled (its client went away)
                return
            self.groups += 1
            self.calls += len(queued)
            outcomes = self.pathwise.run_together([call for call, _ in queued])
        except BaseException as exc:  # not a use case's error: fail the group's requests with it
            for _, done in queued:
                if not done.done():
                    done.set_exception(exc)
            raise
        finally:
            self.pathwise.end_write_turn()  # a group that wrote nothing gives the turn back
        for (_, done), outcome in zip(queued, outcomes, strict=True):
            if done.done():
                continue
            if outcome.error is None:
                done.set_result(outcome.value)
            else:
                done.set_exception(outcome.error)


async def run_write(app, n: int, fn, /, *args, **kwargs) -> Any:
    """:meth:`WriteGroups.run` of the FastAPI ``app``'s groups (made at start-up with its
    ``Pathwise``, ``service.app``)."""
    return await app.state.write_groups.run(n, fn, *args, **kwargs)


async def run_checked(app, n: int, prepare, write, /, *args, **kwargs) -> Any:
    """``write(prepare(*args, **kwargs))`` for a write use case split in two: for up to
    :data:`INLINE_MAX` items ``prepare`` runs here, on the event loop, before the request joins
    a write group -- its checks then never hold the store's write lock, and a request they
    refuse never waits for it -- and only ``write`` runs in the group; a bigger request runs
    both alone in the thread pool."""
    if n > INLINE_MAX:
        return await run_write(app, n, lambda: write(prepare(*args, **kwargs)))
    return await run_write(app, n, write, prepare(*args, **kwargs))
