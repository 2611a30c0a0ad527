"""Group commit: several requests' writes in one store transaction (issue 12 item 8).

On SQLite the whole database has one write lock, and each write transaction pays a fixed
cost besides its rows: taking the lock (another server process may hold it), ``BEGIN``, and a
``COMMIT`` that writes every page the transaction touched to the WAL -- the same table tails,
index leaves and learners' pages again for every request. When many small requests arrive at
once, one transaction for all of them pays that once. :func:`run_together` runs use cases
(calls that open their own transactions) inside one outer transaction; their own blocks join
it (:meth:`engine.store.driver.Driver.transaction`), so each sees the writes of those before
it, exactly as if they had run one after another.

A use case is all-or-nothing. When one of the group raises, the whole group is rolled back
and every call runs again alone, in its own transaction: the one that failed fails alone
(its error is its outcome), and the others commit as they would have without the group. A
call therefore must not act outside the store before it returns (the use cases that write
evidence and statements do not; their after-commit work, such as filling the mastery cache,
runs only for the transaction that commits). A failing request thus costs the others of its
group a second run: at most twice the work, and only in groups that hold a failing request.

Calls are grouped only where the store has one writer (:attr:`Store.one_writer`); elsewhere
(PostgreSQL) each runs alone as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call of a group gave: its return ``value``, or the ``error`` it raised."""

    value: Any = None
    error: Exception | None = None


def run_alone(call: Callable[[], Any]) -> Outcome:
    """``call()`` in its own transaction (the one it opens itself)."""
    try:
        return Outcome(value=call())
    except Exception as exc:  # the caller's error to re-raise, not ours to handle
        return Outcome(error=exc)


def run_together(store: Any, calls: Sequence[Callable[[], Any]]) -> list[Outcome]:
    """Run ``calls`` in one transaction of ``store`` (a :class:`~engine.store.sqlstore.Store`)
    and return one :class:`Outcome` per call, in order (module docstring). A single call, or
    a store with more than one writer, runs each call alone."""
    if len(calls) < 2 or not store.one_writer:
        return [run_alone(call) for call in calls]
    try:
        with store.transaction():
            values = [call() for call in calls]
    except Exception:  # one call failed, or the commit did: nothing of the group was written
        return [run_alone(call) for call in calls]
    return [Outcome(value=v) for v in values]
