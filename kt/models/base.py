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
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from kt.errors import LogFormatError, ModelFileError, NotFittedError, ParameterError
from kt.log import ObservationLog
from kt.models._state import (  # re-exported: kt.models.base is the public import path
    LearnerState,
    _max_rows,
    _pow2_at_least,
    event_pointers,
    writable_table,
)

__all__ = [
    "FORMAT_VERSION", "LearnerState", "OnlineModel", "event_pointers", "writable_table",
]

FORMAT_VERSION = 1


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
        self._fit_calibration(log)
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

    def _validate_rows(self, skill, item, outcome, event, soft: bool = False):
        """Checked contiguous rows; ``soft``: ``outcome`` is float64 scores in [0, 1] (the
        online path), else int8 0/1 (fitting and batch prediction)."""
        skill = np.ascontiguousarray(skill, dtype=np.int32)
        n = len(skill)
        item = np.zeros(n, dtype=np.int32) - 1 if item is None else np.ascontiguousarray(item, dtype=np.int32)
        outcome = np.ascontiguousarray(outcome, dtype=np.float64 if soft else np.int8)
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
        if soft:
            if n and not (outcome.min() >= 0.0 and outcome.max() <= 1.0):
                bad = float(outcome[~((outcome >= 0.0) & (outcome <= 1.0))][0])
                raise ParameterError(
                    f"score {bad!r} is outside [0, 1]; pass 0/1 or a partial score")
        elif n and not np.isin(outcome, (0, 1)).all():
            bad = int(outcome[~np.isin(outcome, (0, 1))][0])
            raise LogFormatError(f"outcome {bad} is not 0 or 1; outcomes must be 0/1")
        item = np.where(item < 0, self.n_items_, item).astype(np.int32)  # reserved unknown slot
        if event is None:
            event = np.arange(n, dtype=np.int64)
        event = np.ascontiguousarray(event, dtype=np.int64)
        if len(event) != n:
            raise LogFormatError(f"event has {len(event)} values for {n} rows")
        return skill, item, outcome, event

    def _codes(self, values, vocab: np.ndarray, kind: str, open_world: bool) -> np.ndarray:
        """int32 codes of names (or int codes passed through) in ``vocab``; an unknown name
        is -1 when ``open_world`` (items: no item evidence), else ``UnknownSkillError``."""
        arr = np.atleast_1d(np.asarray(values))
        if arr.dtype.kind in "iu":
            return arr.astype(np.int32).reshape(-1)
        names = arr.astype(str).reshape(-1)
        index = self._vocab_index(kind, vocab)
        codes = np.array([index.get(n, -1) for n in names], dtype=np.int32)
        if not open_world and np.any(codes < 0):
            from kt.errors import UnknownSkillError

            bad = names[np.flatnonzero(codes < 0)[0]]
            raise UnknownSkillError(
                f"{kind} {bad!r} was not in the fitted log; refit with it (names are "
                f"model.{kind}_names_)"
            )
        return codes

    def _vocab_index(self, kind: str, vocab: np.ndarray) -> dict:
        cache = self.__dict__.setdefault("_index_cache", {})
        if kind not in cache or cache[kind][0] is not vocab:
            cache[kind] = (vocab, {str(n): i for i, n in enumerate(vocab.tolist())})
        return cache[kind][1]

    def update_many(self, state: LearnerState, skills, scores, items=None, events=None):
        """Replay one learner's observations in order: predict each, then update.

        Args:
            state: the learner's current :class:`LearnerState` (not modified).
            skills: (n,) skill names or int codes (``0..n_skills_-1``), one row per skill copy.
            scores: (n,) scores in [0, 1] (soft evidence; 0/1 = incorrect/correct).
            items: (n,) item ids or int codes (an unknown id or -1 = an item with no
                item-specific evidence), or None.
            events: (n,) event ids; consecutive equal ids are skill copies of one observation.
                None = every row is its own observation.
        Returns:
            ``(new_state, p_correct)`` with ``p_correct`` float64 (n_observations,), one per
            observation, each computed before that observation was applied.
        """
        self._check_fitted()
        skill = self._codes(skills, self.skill_names_, "skill", False)
        item = None if items is None else self._codes(items, self.item_ids_, "item", True)
        skill, item, outcome, event = self._validate_rows(skill, item, scores, events,
                                                          soft=True)
        ev_ptr, lr_ptr = event_pointers(event)
        keys, vals = writable_table(state, 2 * len(skill))
        totals = state.totals.copy()
        out_p = np.empty(len(ev_ptr) - 1, dtype=np.float64)
        n_used = self._run(keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p)
        return LearnerState(keys, vals, totals, int(n_used)), out_p

    def update_one(self, state: LearnerState, skills, score: float, item=None):
        """One observation tagged with ``skills`` (a name/code or a sequence of them) with
        ``score`` in [0, 1], on ``item`` (id, code or None). Returns ``(new_state, p_correct)``
        with the probability predicted before the observation."""
        skills = np.atleast_1d(np.asarray(skills))
        n = len(skills)
        if n == 0:
            raise ParameterError("skills is empty; name at least one skill")
        items = None if item is None else np.full(n, item, dtype=object if isinstance(
            item, str) else np.int32)
        new_state, p = self.update_many(state, skills, np.full(n, score, dtype=np.float64),
                                        items, np.zeros(n, dtype=np.int64))
        return new_state, float(p[0])

    # ------------------------------------------------------------------ mastery
    def _typical_p(self, state: LearnerState, k: int) -> float:
        """P(correct) of skill code ``k`` on an item with no item-specific evidence, predicted
        from ``state`` (nothing is applied)."""
        _, p = self.update_many(state, np.array([k], np.int32), np.zeros(1),
                                np.array([-1], np.int32))
        return float(p[0])

    def mastery(self, state: LearnerState, skill: str) -> float:
        """P(correct) on a typical item of ``skill`` calibrated onto BKT's mastery scale with
        the skill's guess/slip fitted by standard BKT on the training log (``kt.online``):
        ``clip((p - p_guess) / (1 - p_slip - p_guess), 0, 1)``."""
        self._check_fitted()
        k = int(self._codes([skill], self.skill_names_, "skill", False)[0])
        p = self._typical_p(state, k)
        guess, slip = (float(x) for x in self.calibration_[:, k])
        span = 1.0 - slip - guess
        if span <= 0.0:
            return 1.0 if p > guess else 0.0
        return min(1.0, max(0.0, (p - guess) / span))

    def _fit_calibration(self, log: ObservationLog) -> None:
        """``calibration_`` float64 (2, n_skills): guess and slip per skill of a standard BKT
        fitted on ``log`` (skills without rows: the mean of the fitted skills)."""
        from kt.bkt import BKT

        bkt = BKT(seed=0).fit(log)
        table = np.full((2, self.n_skills_), np.nan)
        for name in bkt.skill_names_:
            prm = bkt.skill_params(name)
            table[:, self._vocab_index("skill", self.skill_names_)[name]] = (prm.p_guess,
                                                                            prm.p_slip)
        missing = np.isnan(table[0])
        table[:, missing] = np.nanmean(table, axis=1)[:, None] if (~missing).any() else 0.0
        self.calibration_ = table

    # ------------------------------------------------------------------ state documents
    def state_to_dict(self, state: LearnerState) -> dict[str, Any]:
        """JSON-ready state: {"skills": {name: values}, "items": {id: values}, "totals": [...]}
        (touched keys only; floats round-trip exactly)."""
        self._check_fitted()
        skills, items = {}, {}
        for slot in np.flatnonzero(state.keys >= 0):
            key = int(state.keys[slot])
            row = [float(v) for v in state.vals[slot]]
            if key < self.n_skills_:
                skills[str(self.skill_names_[key])] = row
            else:
                i = key - self.n_skills_
                items["" if i >= self.n_items_ else str(self.item_ids_[i])] = row
        return {"skills": skills, "items": items,
                "totals": [float(v) for v in state.totals]}

    def state_from_dict(self, doc: dict[str, Any]) -> LearnerState:
        """A state from :meth:`state_to_dict`'s document."""
        from kt.models import _kernels

        self._check_fitted()
        m, t = self._state_shape()
        try:
            keys = [int(self._codes([n], self.skill_names_, "skill", False)[0])
                    for n in doc["skills"]]
            rows = list(doc["skills"].values())
            for name, row in doc["items"].items():
                code = int(self._codes([name], self.item_ids_, "item", True)[0])
                keys.append(self.n_skills_ + (self.n_items_ if code < 0 else code))
                rows.append(row)
            vals = np.array(rows, dtype=np.float64).reshape(len(keys), m)
            totals = np.array(doc["totals"], dtype=np.float64).reshape(t)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParameterError(
                f"not a {self.name} state document ({exc}); pass what state_to_dict returned"
            ) from None
        cap = _pow2_at_least(2 * len(keys) + 2)
        k, v = _kernels.rehash(np.array(keys, dtype=np.int64), vals, cap)
        return LearnerState(k, v, totals, len(keys))

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
            "calibration": {"p_guess": self.calibration_[0].tolist(),
                            "p_slip": self.calibration_[1].tolist()},
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
            cal = data["calibration"]
            model.calibration_ = np.array([cal["p_guess"], cal["p_slip"]], dtype=np.float64)
            if model.calibration_.shape != (2, model.n_skills_):
                raise ValueError(f"calibration has shape {model.calibration_.shape}, "
                                 f"expected (2, {model.n_skills_})")
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
