"""The compact columnar observation log every kt model reads.

One row per (response event, skill). Rows are sorted by learner, then by the
log's order key, so each learner's history is one contiguous, time-ordered run.
Categorical columns are dense ``int32`` codes into the vocabularies kept beside
them; nothing here holds Python objects per row.

Reading files into this structure (CSV/Parquet, presets, validation) lives in
``kt.io``; this module only defines the structure and its invariants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kt._build import assign_events, build_log
from kt._columns import (
    IdentityRows,
    check_score_outcome,
    code_labels,
    order_to_int64,
    outcome_to_int8,
    score_to_float64,
)
from kt.errors import LogFormatError

# the column helpers kt.io builds logs with are importable from here as well
__all__ = [
    "IdentityRows",
    "ObservationLog",
    "assign_events",
    "build_log",
    "code_labels",
    "order_to_int64",
    "outcome_to_int8",
    "score_to_float64",
]


@dataclass(frozen=True)
class ObservationLog:
    """A validated, learner-then-time sorted log of observations.

    Attributes (``n`` = number of rows):
        learner: int32 (n,), code into ``learner_ids``.
        skill: int32 (n,), code into ``skill_names``.
        item: int32 (n,), code into ``item_ids`` (the problem/question answered).
        outcome: int8 (n,), 1 correct, 0 incorrect. With a ``score`` column it is the score
            rounded at 0.5 (``score >= 0.5``), for code that needs 0/1 (metrics, the
            first-outcome prior classes of ``BKT(multiprior=True)``).
        order: int64 (n,), the source's order key (e.g. ASSISTments ``order_id``),
            strictly increasing within a learner except across skill copies of one event.
        event: int64 (n,), response-event id: rows that are skill copies of one answer
            share it (rows of one learner with one order key, and, where items group copies,
            consecutive keys with the same item and outcome and distinct skills; an exact
            duplicate row is its own event; ``assign_events``); 0, 1, 2... in row order.
            Models follow pyBKT and treat every row as an observation of its skill; ``event``
            lets consumers count answers instead (``n_events``).
        classes: extra categorical columns (e.g. ``"template_id"``) as int32 (n,) codes.
        learner_ids, skill_names, item_ids: vocabularies (numpy arrays of str).
        class_vocab: vocabulary per entry of ``classes``.
        source: free text describing where the log came from and what was filtered.
        score: float64 (n,) in [0, 1], or None. When present it is the graded evidence of
            each row (1 correct, 0 incorrect, in between partial credit): models that take
            soft evidence (``BKT.fit`` / ``predict`` / ``evaluate``) read it instead of
            ``outcome``. Kept by ``take`` and by the sort of ``from_arrays``.
    """

    learner: np.ndarray
    skill: np.ndarray
    item: np.ndarray
    outcome: np.ndarray
    order: np.ndarray
    event: np.ndarray
    learner_ids: np.ndarray
    skill_names: np.ndarray
    item_ids: np.ndarray
    classes: dict[str, np.ndarray] = field(default_factory=dict)
    class_vocab: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    score: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.outcome)
        expected = {
            "learner": np.int32,
            "skill": np.int32,
            "item": np.int32,
            "outcome": np.int8,
            "order": np.int64,
            "event": np.int64,
        }
        for name, dtype in expected.items():
            column = getattr(self, name)
            if not isinstance(column, np.ndarray) or column.dtype != dtype or column.shape != (n,):
                raise LogFormatError(
                    f"column {name!r} must be a {np.dtype(dtype).name} array of shape ({n},); "
                    f"got {getattr(column, 'dtype', type(column))} {getattr(column, 'shape', '')}. "
                    "Build logs with kt.io.read_log or ObservationLog.from_arrays."
                )
        for name, column in self.classes.items():
            if column.dtype != np.int32 or column.shape != (n,):
                raise LogFormatError(f"class column {name!r} must be int32 of shape ({n},)")
            if name not in self.class_vocab:
                raise LogFormatError(f"class column {name!r} has no vocabulary in class_vocab")
        score = self.score
        if score is not None and (
            not isinstance(score, np.ndarray) or score.dtype != np.float64 or score.shape != (n,)
        ):
            raise LogFormatError(
                f"column 'score' must be None or a float64 array of shape ({n},); got "
                f"{getattr(score, 'dtype', type(score))} {getattr(score, 'shape', '')}. "
                "Build logs with ObservationLog.from_arrays(..., score=...)."
            )

    def __len__(self) -> int:
        return len(self.outcome)

    @property
    def n_learners(self) -> int:
        return len(self.learner_ids)

    @property
    def n_skills(self) -> int:
        return len(self.skill_names)

    def skill_code(self, name: str) -> int:
        """Code of skill ``name``; raises ``KeyError`` naming the skill when absent."""
        hits = np.flatnonzero(self.skill_names == name)
        if len(hits) == 0:
            raise KeyError(f"skill {name!r} is not in this log")
        return int(hits[0])

    def take(self, rows: np.ndarray) -> ObservationLog:
        """A new log with only ``rows`` (a boolean mask or sorted index array); vocabularies kept."""
        return ObservationLog(
            learner=self.learner[rows],
            skill=self.skill[rows],
            item=self.item[rows],
            outcome=self.outcome[rows],
            order=self.order[rows],
            event=self.event[rows],
            learner_ids=self.learner_ids,
            skill_names=self.skill_names,
            item_ids=self.item_ids,
            classes={k: v[rows] for k, v in self.classes.items()},
            class_vocab=self.class_vocab,
            source=self.source,
            score=None if self.score is None else self.score[rows],
        )

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_events(self) -> int:
        """Number of distinct response events (answers); <= ``len(self)``."""
        if len(self.event) == 0:
            return 0
        return int(np.count_nonzero(np.diff(self.event)) + 1)

    @classmethod
    def from_arrays(
        cls,
        *,
        learner: Any,
        skill: Any,
        item: Any = None,
        outcome: Any = None,
        order: Any = None,
        classes: Mapping[str, Any] | None = None,
        source: str = "arrays",
        score: Any = None,
    ) -> ObservationLog:
        """Build a log from parallel 1-D arrays (lists, numpy or pyarrow arrays), any row order.

        ``learner``, ``skill``, ``item`` and each ``classes`` value may hold ``str`` or ``int``
        labels; they are coded to dense ``int32`` codes into sorted vocabularies (ints sorted
        numerically, then kept as their decimal strings). ``outcome`` must be 0/1, or -1
        ("no response", dropped like pyBKT's missing answers). ``order`` (int or float with
        integral values) defaults to the row position. ``item`` defaults to one item ``""``;
        then skill copies of one answer are recognised by an equal order key only.

        Rows are stable-sorted by learner, then order. Rows of one learner with one order key,
        and consecutive rows with the same item, outcome and distinct skills, are skill copies
        of one answer and share one ``event`` id (``assign_events``; an exact duplicate row is
        kept as its own event). Two rows of one learner with one order key but a different
        item or outcome raise :class:`~kt.errors.LogFormatError`.

        ``score`` (optional, floats in [0, 1]): graded evidence, kept as the ``score`` column
        (partial credit is soft evidence, never rounded). ``outcome`` may then be omitted: it
        is ``score >= 0.5``; when both are given, each answered row's outcome must equal its
        score rounded at 0.5 (rows with outcome -1 are dropped whatever their score).
        """
        if outcome is None and score is None:
            raise LogFormatError("pass 'outcome' (0/1 per observation) or 'score' (0..1)")
        score_arr = None if score is None else score_to_float64(score)
        if outcome is None:
            outcome = (score_arr >= 0.5).astype(np.int8)
        n = len(outcome)
        _check_lengths(n, {"learner": learner, "skill": skill, "score": score_arr, "item": item,
                           "order": order, **dict(classes or {})})
        order_arr = (
            np.arange(n, dtype=np.int64) if order is None else order_to_int64(order, "order")
        )
        outcome_arr = outcome_to_int8(np.asarray(outcome), "outcome")
        if score_arr is not None:
            check_score_outcome(score_arr, outcome_arr)
        return build_log(
            learner=np.asarray(learner),
            skill=np.asarray(skill),
            item=None if item is None else np.asarray(item),
            outcome=outcome_arr,
            score=score_arr,
            order=order_arr,
            classes={k: np.asarray(v) for k, v in (classes or {}).items()},
            source_row=IdentityRows(n),
            names={"learner": "learner", "skill": "skill", "item": "item", "order": "order"},
            source=source,
            owned=True,  # outcome, order and the codes below are fresh arrays
        )


def _check_lengths(n: int, columns: Mapping[str, Any]) -> None:
    """Every given column (None = not given) has ``n`` values, else a LogFormatError."""
    for name, values in columns.items():
        if values is not None and len(values) != n:
            raise LogFormatError(
                f"column {name!r} has {len(values)} values but 'outcome' has {n}; "
                "pass arrays of equal length (one entry per observation)"
            )
