"""Loading and cleaning a log for replay: read, drop exact duplicates, say what was removed.

Every answer is an answer: retries of an item, several steps of one skill in one problem and
runs of equal outcomes (also in logs without an item column) are replayed in full. Removed,
and counted by reason in :class:`Cleaning`:

* ``exact duplicate rows``: a row equal to an earlier row in learner, item, order key,
  outcome and skill (the first copy is kept);
* ``rows of learners under N answers``: only with ``min_events`` > 1 (default 1 keeps all);
* what the reader (``kt.io.read_log``) skipped, read from the notes it leaves in
  ``log.source``: rows without a skill name, no-response rows (outcome -1), scaffolding rows
  (``original`` != 1).

When any reason removes more than :data:`WARN_FRACTION` of the rows, :meth:`Cleaning.warnings`
says so (the report's first lines and the terminal show it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kt.errors import LogFormatError
from kt.log import ObservationLog

WARN_FRACTION = 0.01  # a removal reason above 1 % of the rows is flagged

# notes kt.io / kt.log write into log.source -> reason
_READER_NOTES = (
    (re.compile(r"dropped (\d+) rows without a skill name"), "rows without a skill name"),
    (re.compile(r"dropped (\d+) empty '~~' parts"), "empty '~~' skill parts"),
    (re.compile(r"(\d+) no-response rows"), "no-response rows (outcome -1)"),
)
_ORIGINAL_NOTE = re.compile(r"kept (\d+) of (\d+) rows with original == 1")


@dataclass(frozen=True)
class Cleaning:
    """What reading and cleaning removed (rows) and what they kept.

    ``removed`` maps a reason to a number of rows (reader skips included); ``rows_in`` is the
    rows that reached the reader's output plus the reader's skips, so ``removed`` fractions
    are of everything the file held (``~~`` cells count once per skill).
    """

    rows_in: int
    events_in: int
    removed: dict[str, int]
    rows_out: int
    events_out: int
    learners_out: int
    multi_skill_events: int
    item_reattempt_events: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**self.__dict__, "removed": dict(self.removed)}

    @property
    def rows_removed(self) -> int:
        return int(sum(self.removed.values()))

    def warnings(self) -> list[str]:
        """One line per reason that removed more than ``WARN_FRACTION`` of the rows."""
        out = []
        for reason, n in self.removed.items():
            if self.rows_in and n > WARN_FRACTION * self.rows_in:
                out.append(
                    f"WARNING: {n} of {self.rows_in} rows ({n / self.rows_in:.1%}) removed as "
                    f"{reason}; the metrics describe the remaining {self.rows_out} rows only."
                )
        return out

    def removed_text(self) -> str:
        """``"12 exact duplicate rows, 0 ..."`` (every reason, zero or not)."""
        if not self.removed:
            return "nothing"
        return ", ".join(f"{n} {reason}" for reason, n in self.removed.items())

    def kept_text(self) -> str:
        return (f"{self.rows_out} rows, {self.events_out} questions, {self.learners_out} "
                f"learners; {self.multi_skill_events} multi-skill questions; "
                f"{self.item_reattempt_events} later attempts at an item kept")

    def summary(self) -> str:
        """The lines printed on the terminal: warnings first, then removed and kept."""
        lines = self.warnings() + [f"removed: {self.removed_text()}", f"kept: {self.kept_text()}"]
        return "\n".join(lines)


def read_public_log(
    path: str | Path, preset: str | None = None, *, columns: dict | None = None,
    missing_skill: str = "drop",
) -> ObservationLog:
    """Read a CSV/Parquet log for replay with ``kt.io.read_log`` (layout detected when
    ``preset`` is None). Rows without a skill name are skipped by default (counted by
    :func:`clean_log` as a removal reason); pass ``missing_skill="error"`` to refuse them."""
    path = Path(path)
    if not path.exists():
        raise LogFormatError(f"log file {path} does not exist; pass the path of a CSV or Parquet log")
    from kt.io import read_log

    return read_log(path, preset=preset, columns=columns, missing_skill=missing_skill)


def reader_removals(source: str) -> dict[str, int]:
    """Rows the reader skipped, by reason, from the notes it left in ``log.source``."""
    out: dict[str, int] = {}
    match = _ORIGINAL_NOTE.search(source)
    if match:
        out["scaffolding rows (original != 1)"] = int(match.group(2)) - int(match.group(1))
    for pattern, reason in _READER_NOTES:
        match = pattern.search(source)
        if match:
            out[reason] = int(match.group(1))
    return out


def _event_starts(log: ObservationLog) -> np.ndarray:
    n = len(log)
    return np.flatnonzero(np.r_[True, log.event[1:] != log.event[:-1]]) if n else np.zeros(0, int)


def exact_duplicates(log: ObservationLog) -> np.ndarray:
    """Boolean (n,): rows equal to an earlier row in learner, item, order, outcome and skill."""
    n = len(log)
    dup = np.zeros(n, dtype=bool)
    if n < 2:
        return dup
    keys = (log.skill, log.outcome, log.item, log.order, log.learner)
    perm = np.lexsort(keys)  # stable: the first copy in row order comes first
    same = np.ones(n - 1, dtype=bool)
    for column in keys:
        sorted_col = column[perm]
        same &= sorted_col[1:] == sorted_col[:-1]
    dup[perm[1:][same]] = True
    return dup


def clean_log(log: ObservationLog, min_events: int = 1) -> tuple[ObservationLog, Cleaning]:
    """Drop exact duplicate rows and learners under ``min_events`` answers; returns
    (log, :class:`Cleaning`). Nothing else is removed."""
    n = len(log)
    n_ev = len(_event_starts(log))
    removed = reader_removals(log.source)
    keep = ~exact_duplicates(log)
    removed["exact duplicate rows"] = int(n - keep.sum())
    if min_events > 1:
        starts = _event_starts(log.take(keep))
        per_learner = np.bincount(log.learner[keep][starts], minlength=log.n_learners)
        short_rows = (per_learner < min_events)[log.learner] & keep
        keep &= ~short_rows
        removed[f"rows of learners under {min_events} answers"] = int(short_rows.sum())
    cleaned = log.take(np.flatnonzero(keep)) if not keep.all() else log
    c_starts = _event_starts(cleaned)
    c_sizes = np.diff(np.r_[c_starts, len(cleaned)])
    has_items = log.item_ids.tolist() != [""]  # no item column: nothing to re-attempt
    pair = (cleaned.learner[c_starts].astype(np.int64) * (len(cleaned.item_ids) + 1)
            + cleaned.item[c_starts])
    report = Cleaning(
        rows_in=n + sum(v for k, v in removed.items() if k in _reader_reasons()),
        events_in=n_ev,
        removed=removed,
        rows_out=len(cleaned),
        events_out=len(c_starts),
        learners_out=int(len(np.unique(cleaned.learner))),
        multi_skill_events=int((c_sizes > 1).sum()),
        item_reattempt_events=int(len(pair) - len(np.unique(pair))) if has_items else 0,
    )
    return cleaned, report


def _reader_reasons() -> set[str]:
    return {"scaffolding rows (original != 1)", *(reason for _, reason in _READER_NOTES)}
