"""The compact columnar observation log every kt model reads.

One row per (response event, skill). Rows are sorted by learner, then by the
log's order key, so each learner's history is one contiguous, time-ordered run.
Categorical columns are dense ``int32`` codes into the vocabularies kept beside
them; nothing here holds Python objects per row.

Reading files into this structure (CSV/Parquet, presets, validation) lives in
``kt.io``; this module only defines the structure and its invariants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kt.errors import LogFormatError


@dataclass(frozen=True)
class ObservationLog:
    """A validated, learner-then-time sorted log of observations.

    Attributes (``n`` = number of rows):
        learner: int32 (n,), code into ``learner_ids``.
        skill: int32 (n,), code into ``skill_names``.
        item: int32 (n,), code into ``item_ids`` (the problem/question answered).
        outcome: int8 (n,), 1 correct, 0 incorrect.
        order: int64 (n,), the source's order key (e.g. ASSISTments ``order_id``),
            strictly increasing within a learner except across skill copies of one event.
        event: int64 (n,), response-event id: rows that are skill copies of one answer
            (same learner, same item, consecutive) share it; increasing in row order.
        classes: extra categorical columns (e.g. ``"template_id"``) as int32 (n,) codes.
        learner_ids, skill_names, item_ids: vocabularies (numpy arrays of str).
        class_vocab: vocabulary per entry of ``classes``.
        source: free text describing where the log came from and what was filtered.
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
        )
