"""The one online-model interface every Pathwise knowledge-tracing model implements.

Style: scikit-learn for fitting (``__init__`` stores hyperparameters only; ``fit(log)``
returns ``self``; learned attributes end in ``_``), river for the online path
(``update_one`` / ``update_many`` take an immutable :class:`LearnerState` and return a
*new* state plus the predicted P(correct); the fitted model is never mutated).

Prediction unit: one **response event** (an answer). A question tagged with several
skills arrives as several rows (skill copies) sharing one event id; the model predicts it
once from the state before the event, combining its skills natively (mean for BKT's
per-skill probabilities, summed Q-matrix features for the logistic models, mean skill
ability for Elo), and only then applies every copy to the state. Copies are never scored
one by one.

Cost: ``update_many`` copies the learner's state once (size = number of skills/items the
learner has touched) and then does O(1) work per skill copy (hash-table lookups).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from kt.errors import LogFormatError, ModelFileError, NotFittedError, ParameterError
from kt.log import ObservationLog

FORMAT_VERSION = 1


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


class OnlineModel:
    """Base class: fitted offline on a log, then updated online per learner.

    Subclasses set ``name``, implement ``_fit(log)``, ``_run(...)``, ``_state_shape()``,
    ``get_params_dict()`` and ``_learned()`` / ``_restore(dict)``.
    """

    name: ClassVar[str] = "base"

    # ------------------------------------------------------------------ fitting
    def fit(self, log: ObservationLog) -> OnlineModel:
        """Fit on ``log`` (an :class:`~kt.log.ObservationLog`); returns ``self``."""
        if not isinstance(log, ObservationLog):
            raise LogFormatError(
                f"fit() needs a kt.log.ObservationLog, got {type(log).__name__}; "
                "read files with kt.io.read_log"
            )
        if len(log) == 0:
            raise LogFormatError("cannot fit on an empty log; pass a log with observations")
        self._begin_fit(log)
        self._fit(log)
        return self

    def _begin_fit(self, log: ObservationLog) -> None:
        """Record the log's vocabularies (learned attributes shared by every model)."""
        self.n_skills_ = int(log.n_skills)
        self.n_items_ = int(len(log.item_ids))
        self.skill_names_ = np.asarray(log.skill_names).astype(str)
        self.item_ids_ = np.asarray(log.item_ids).astype(str)

    def _fit(self, log: ObservationLog) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_skills_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted; call fit(log) or load(path) first"
            )

    # ------------------------------------------------------------------ online path
    def _state_shape(self) -> tuple[int, int]:  # (m value columns, t totals)
        raise NotImplementedError  # pragma: no cover

    def init_state(self) -> LearnerState:
        """The state of a learner with no evidence yet."""
        self._check_fitted()
        m, t = self._state_shape()
        return LearnerState.empty(m, t)

    def _validate_rows(self, skill, item, outcome, event):
        skill = np.ascontiguousarray(skill, dtype=np.int32)
        n = len(skill)
        item = np.zeros(n, dtype=np.int32) - 1 if item is None else np.ascontiguousarray(item, dtype=np.int32)
        outcome = np.ascontiguousarray(outcome, dtype=np.int8)
        if not (len(item) == n and len(outcome) == n):
            raise LogFormatError(
                f"skill, item and outcome must have equal lengths; got {n}, {len(item)}, {len(outcome)}"
            )
        if n and (skill.min() < 0 or skill.max() >= self.n_skills_):
            bad = int(skill[(skill < 0) | (skill >= self.n_skills_)][0])
            raise LogFormatError(
                f"skill code {bad} is outside 0..{self.n_skills_ - 1} of the fitted model; "
                "map skill names with model.skill_names_ (unknown skills need a refit)"
            )
        if n and item.max() >= self.n_items_:
            bad = int(item.max())
            raise LogFormatError(
                f"item code {bad} is outside 0..{self.n_items_ - 1}; pass -1 for an unknown item"
            )
        if n and not np.isin(outcome, (0, 1)).all():
            bad = int(outcome[~np.isin(outcome, (0, 1))][0])
            raise LogFormatError(f"outcome {bad} is not 0 or 1; outcomes must be 0/1")
        item = np.where(item < 0, self.n_items_, item).astype(np.int32)  # reserved unknown slot
        if event is None:
            event = np.arange(n, dtype=np.int64)
        event = np.ascontiguousarray(event, dtype=np.int64)
        if len(event) != n:
            raise LogFormatError(f"event has {len(event)} values for {n} rows")
        return skill, item, outcome, event

    def update_many(self, state: LearnerState, skill, item, outcome, event=None):
        """Replay one learner's answers in order: predict each event, then update.

        Args:
            state: the learner's current :class:`LearnerState` (not modified).
            skill: int (n,) skill codes (``0..n_skills_-1``), one row per skill copy.
            item: int (n,) item codes, -1 = unknown item, or None.
            outcome: 0/1 (n,).
            event: int (n,) event ids; consecutive equal ids are skill copies of one answer.
                None = every row is its own answer.
        Returns:
            ``(new_state, p_correct)`` with ``p_correct`` float64 (n_events,), one per answer,
            each computed before that answer was applied.
        """
        self._check_fitted()
        skill, item, outcome, event = self._validate_rows(skill, item, outcome, event)
        ev_ptr, lr_ptr = event_pointers(event)
        keys, vals = writable_table(state, 2 * len(skill))
        totals = state.totals.copy()
        out_p = np.empty(len(ev_ptr) - 1, dtype=np.float64)
        n_used = self._run(keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p)
        return LearnerState(keys, vals, totals, int(n_used)), out_p

    def update_one(self, state: LearnerState, skills, item: int, outcome: int):
        """One answer to ``item`` tagged with ``skills`` (an int or a sequence of skill codes).

        Returns ``(new_state, p_correct)`` with the probability predicted before the answer.
        """
        skills = np.atleast_1d(np.asarray(skills, dtype=np.int32))
        n = len(skills)
        new_state, p = self.update_many(
            state, skills, np.full(n, item, dtype=np.int32), np.full(n, outcome, dtype=np.int8),
            np.zeros(n, dtype=np.int64),
        )
        return new_state, float(p[0])

    def predict(self, log: ObservationLog) -> np.ndarray:
        """Replay every learner of ``log`` from a fresh state; P(correct) per event (n_events,).

        Equal to calling ``update_many`` learner by learner (the same kernel runs).
        """
        self._check_fitted()
        skill, item, outcome, event = self._validate_rows(log.skill, log.item, log.outcome, log.event)
        ev_ptr, lr_ptr = event_pointers(event, log.learner)
        return self._predict_arrays(skill, item, outcome, ev_ptr, lr_ptr)

    def _predict_arrays(self, skill, item, outcome, ev_ptr, lr_ptr) -> np.ndarray:
        m, t = self._state_shape()
        per_learner = _max_rows(ev_ptr, lr_ptr)
        cap = _pow2_at_least(4 * per_learner + 4)
        keys = np.full(cap, -1, dtype=np.int64)
        vals = np.zeros((cap, m))
        totals = np.zeros(t)
        out_p = np.empty(len(ev_ptr) - 1, dtype=np.float64)
        self._run(keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p)
        return out_p

    def _run(self, keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p) -> int:
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ parameters / IO
    def get_params(self) -> dict[str, Any]:
        """Hyperparameters (what ``__init__`` took)."""
        raise NotImplementedError  # pragma: no cover

    def _learned(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover

    def _restore(self, learned: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format": "pathwise-kt-model",
            "version": FORMAT_VERSION,
            "model": self.name,
            "hyperparameters": self.get_params(),
            "skill_names": self.skill_names_.tolist(),
            "item_ids": self.item_ids_.tolist(),
            "learned": self._learned(),
        }

    def save(self, path: str | Path) -> None:
        """Write the fitted model as JSON (readable parameters, vocabularies)."""
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnlineModel:
        if data.get("format") != "pathwise-kt-model" or data.get("version") != FORMAT_VERSION:
            raise ModelFileError(
                f"not a pathwise-kt-model v{FORMAT_VERSION} document "
                f"(format={data.get('format')!r}, version={data.get('version')!r})"
            )
        if data.get("model") != cls.name:
            raise ModelFileError(f"file holds model {data.get('model')!r}, not {cls.name!r}; "
                                 "use kt.models.load_model(path)")
        try:
            model = cls(**data["hyperparameters"])
            model.skill_names_ = np.asarray(data["skill_names"], dtype=str)
            model.item_ids_ = np.asarray(data["item_ids"], dtype=str)
            model.n_skills_ = len(model.skill_names_)
            model.n_items_ = len(model.item_ids_)
            model._restore(data["learned"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model file is inconsistent: {exc}") from exc
        return model

    @classmethod
    def load(cls, path: str | Path) -> OnlineModel:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"cannot read model file {path}: {exc}") from exc
        return cls.from_dict(data)


def _max_rows(ev_ptr: np.ndarray, lr_ptr: np.ndarray) -> int:
    rows_per_learner = ev_ptr[lr_ptr[1:]] - ev_ptr[lr_ptr[:-1]]
    return int(rows_per_learner.max()) if len(rows_per_learner) else 1


def check_unit(name: str, value: float, low: float = 0.0, high: float = 1.0, *, open_low=True) -> float:
    value = float(value)
    ok = (low < value if open_low else low <= value) and value < high
    if not ok:
        raise ParameterError(f"{name}={value!r} is outside ({low}, {high}); pick a value in range")
    return value
