"""Loading and cleaning a log for replay: read, deduplicate, and say what was removed.

Deduplication (recorded in :class:`Cleaning`):

* an event that exactly repeats the previous event of the same learner (same item, same
  outcome, same skill set) is a duplicated row block and is dropped;
* a skill repeated inside one event is dropped (one copy per skill per answer);
* learners with fewer than ``min_events`` answers are dropped (default 1 = keep all).

Repeat answers to an item the learner saw earlier (not adjacent) are genuine re-attempts
and are kept; their number is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kt.errors import LogFormatError
from kt.log import ObservationLog


@dataclass(frozen=True)
class Cleaning:
    """What preprocessing removed or noticed (counts of rows/events)."""

    rows_in: int
    events_in: int
    duplicate_events_removed: int
    duplicate_rows_removed: int
    repeated_skill_rows_removed: int
    short_learner_rows_removed: int
    rows_out: int
    events_out: int
    learners_out: int
    multi_skill_events: int
    item_reattempt_events: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def read_log(path: str | Path, preset: str = "assistments") -> ObservationLog:
    """Read a CSV/Parquet log; uses ``kt.io.read_log`` (the project reader)."""
    path = Path(path)
    if not path.exists():
        raise LogFormatError(f"log file {path} does not exist; pass the path of a CSV or Parquet log")
    from kt.io import read_log as project_read_log

    return project_read_log(path, preset=preset)


def _events(log: ObservationLog) -> tuple[np.ndarray, np.ndarray]:
    n = len(log)
    starts = np.flatnonzero(np.r_[True, log.event[1:] != log.event[:-1]]) if n else np.zeros(0, int)
    return starts, np.r_[starts, n]


def clean_log(log: ObservationLog, min_events: int = 1) -> tuple[ObservationLog, Cleaning]:
    """Deduplicate ``log`` as described in the module docstring; returns (log, report)."""
    n = len(log)
    starts, ptr = _events(log)
    n_ev = len(starts)
    keep = np.ones(n, dtype=bool)
    # skill repeated inside one event (kt.log splits such runs, so usually none)
    ev_of_row = np.repeat(np.arange(n_ev), np.diff(ptr))
    key = ev_of_row.astype(np.int64) * (int(log.skill.max()) + 1 if n else 1) + log.skill
    _, first = np.unique(key, return_index=True)
    dup_skill = np.ones(n, dtype=bool)
    dup_skill[first] = False
    keep &= ~dup_skill
    # exact repeats of the previous event of the same learner
    sizes = np.diff(ptr)
    lrn = log.learner[starts]
    itm = log.item[starts]
    out = log.outcome[starts]
    sig = np.zeros(n_ev, dtype=np.int64)
    np.add.at(sig, ev_of_row, (log.skill.astype(np.int64) + 1) * 1_000_003 % 2_147_483_647)
    same = np.zeros(n_ev, dtype=bool)
    if n_ev > 1:
        same[1:] = (
            (lrn[1:] == lrn[:-1]) & (itm[1:] == itm[:-1]) & (out[1:] == out[:-1])
            & (sizes[1:] == sizes[:-1]) & (sig[1:] == sig[:-1])
        )
    dup_event_rows = np.repeat(same, sizes)
    keep &= ~dup_event_rows
    rows_dup_events = int((dup_event_rows & ~dup_skill).sum())
    # short learners
    kept_starts = same == 0
    ev_per_learner = np.bincount(lrn[kept_starts], minlength=log.n_learners)
    short = ev_per_learner < min_events
    short_rows = short[log.learner] & keep
    keep &= ~short_rows
    cleaned = log.take(np.flatnonzero(keep)) if not keep.all() else log
    c_starts, c_ptr = _events(cleaned)
    c_sizes = np.diff(c_ptr)
    pair = cleaned.learner[c_starts].astype(np.int64) * (len(cleaned.item_ids) + 1) + cleaned.item[c_starts]
    reattempts = len(pair) - len(np.unique(pair))
    report = Cleaning(
        rows_in=n,
        events_in=n_ev,
        duplicate_events_removed=int(same.sum()),
        duplicate_rows_removed=rows_dup_events,
        repeated_skill_rows_removed=int(dup_skill.sum()),
        short_learner_rows_removed=int(short_rows.sum()),
        rows_out=len(cleaned),
        events_out=len(c_starts),
        learners_out=int(len(np.unique(cleaned.learner))),
        multi_skill_events=int((c_sizes > 1).sum()),
        item_reattempt_events=int(reattempts),
    )
    return cleaned, report
