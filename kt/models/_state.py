"""Learner state of the online models and the table/pointer helpers they share.

Split out of :mod:`kt.models.base` (which re-exports every name here) to keep modules
under ~400 lines (issue 10 item 9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LearnerState:
    """Immutable per-learner state of an online model.

    Attributes:
        keys: int64 (capacity,) hash-table keys (-1 empty; skill k -> k, item i -> n_skills + i).
        vals: float64 (capacity, m) per-key values (model specific, e.g. counters or P(L)).
        totals: float64 (t,) learner-wide values (e.g. total attempts, global ability).
        n_used: number of occupied slots.
    """

    keys: np.ndarray
    vals: np.ndarray
    totals: np.ndarray
    n_used: int

    def __post_init__(self) -> None:
        for a in (self.keys, self.vals, self.totals):
            a.flags.writeable = False

    @classmethod
    def empty(cls, m: int, t: int, capacity: int = 16) -> LearnerState:
        return cls(
            keys=np.full(capacity, -1, dtype=np.int64),
            vals=np.zeros((capacity, m), dtype=np.float64),
            totals=np.zeros(t, dtype=np.float64),
            n_used=0,
        )

    def value(self, key: int) -> np.ndarray | None:
        """The value row of ``key`` or ``None`` when the learner has not touched it."""
        hits = np.flatnonzero(self.keys == key)
        return None if len(hits) == 0 else self.vals[hits[0]].copy()


def _pow2_at_least(n: int) -> int:
    c = 16
    while c < n:
        c *= 2
    return c


def writable_table(state: LearnerState, extra_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the state's table, grown so ``n_used + extra_keys`` stay under half full."""
    from kt.models import _kernels

    need = 2 * (state.n_used + extra_keys) + 2
    if need <= len(state.keys):
        return state.keys.copy(), state.vals.copy()
    return _kernels.rehash(state.keys, state.vals, _pow2_at_least(need))


def event_pointers(event: np.ndarray, learner: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row pointers of events (``n_events + 1``) and event pointers of learners.

    ``event``: int64 (n,) event ids, equal for consecutive skill copies of one answer.
    ``learner``: int32 (n,) or None (one learner). Returns ``(ev_ptr, lr_ptr)`` int64.
    """
    n = len(event)
    if n == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(2, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, event[1:] != event[:-1]])
    ev_ptr = np.r_[starts, n].astype(np.int64)
    if learner is None:
        lr_ptr = np.array([0, len(starts)], dtype=np.int64)
    else:
        lrn = learner[starts]
        lstarts = np.flatnonzero(np.r_[True, lrn[1:] != lrn[:-1]])
        lr_ptr = np.r_[lstarts, len(starts)].astype(np.int64)
    return ev_ptr, lr_ptr


def _max_rows(ev_ptr: np.ndarray, lr_ptr: np.ndarray) -> int:
    rows_per_learner = ev_ptr[lr_ptr[1:]] - ev_ptr[lr_ptr[:-1]]
    return int(rows_per_learner.max()) if len(rows_per_learner) else 1
