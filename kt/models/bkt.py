"""BKT in the registry, and BKT with per-item difficulty.

``bkt`` / ``bkt-f`` are :class:`kt.bkt.BKT` itself (without / with ``forgets``): the replay and
the engine run the same model. ``cover_skills`` gives a fitted BKT the skills of a log
vocabulary it has no rows for, at the mean of its fitted skills' parameters (what the replay
uses for a held-out learner's skill absent from the training folds).

``bkt-item``: the BKT prediction plus an item offset, stacked by logistic regression:
P = sigmoid(a * logit(p_bkt) + c + d_item). ``a``, ``c`` and ``d_item`` are fitted
(L2, SciPy L-BFGS) on the training learners' own one-step BKT predictions. The BKT part is a
fitted :class:`kt.bkt.BKT` (``bkt_``) run by its own online kernels; its ``BKTState`` is the
whole learner state, and ``mastery`` is its P(mastered).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse

from kt.bkt.params import PARAM_NAMES, BKTState, SkillParams
from kt.errors import ModelFileError, NotFittedError, ParameterError
from kt.log import ObservationLog
from kt.models.base import FORMAT_VERSION, event_pointers
from kt.models.logreg import fit_logistic


def cover_skills(bkt, names: Sequence[str]):
    """``bkt`` (a fitted ``kt.bkt.BKT``) extended with every name of ``names`` it lacks, at the
    mean over its skills of their (class-averaged, clipped to [0, 1]) parameters; ``bkt``
    itself when nothing is missing."""
    have = set(bkt.skill_names_)
    missing = [str(n) for n in names if str(n) not in have]
    if not missing:
        return bkt
    table = np.array([[np.clip(np.mean(bkt.params_[s][p]), 0.0, 1.0) for s in bkt.skill_names_]
                      for p in PARAM_NAMES])
    mean = SkillParams(**dict(zip(PARAM_NAMES, table.mean(axis=1).tolist(), strict=True)))
    return bkt.with_skills(dict.fromkeys(missing, mean))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class BKTItem:
    """BKT(+forgets) with an item difficulty offset stacked on the BKT logit."""

    name: ClassVar[str] = "bkt-item"

    def __init__(self, forgets: bool = True, num_fits: int = 1, seed: int = 0, max_iter: int = 5000,
                 l2: float = 1.0):
        self.forgets = forgets
        self.num_fits = num_fits
        self.seed = seed
        self.max_iter = max_iter
        self.l2 = l2

    def get_params(self) -> dict[str, Any]:
        return {"forgets": self.forgets, "num_fits": self.num_fits, "seed": self.seed,
                "max_iter": self.max_iter, "l2": self.l2}

    # ------------------------------------------------------------------ fitting
    def fit(self, log: ObservationLog) -> BKTItem:
        """Fit BKT on ``log``, then the stacked item offsets on its one-step predictions."""
        from kt.bkt import BKT

        bkt = BKT(forgets=bool(self.forgets), num_fits=int(self.num_fits), seed=int(self.seed),
                  max_iter=int(self.max_iter)).fit(log)
        self._set_bkt(bkt, log)
        self._fit_offsets(log)
        return self

    def _set_bkt(self, bkt, log: ObservationLog) -> None:
        self.bkt_ = cover_skills(bkt, log.skill_names.tolist())
        self.skill_names_ = np.asarray(log.skill_names).astype(str)
        self.item_ids_ = np.asarray(log.item_ids).astype(str)
        self.n_skills_ = len(self.skill_names_)
        self.n_items_ = len(self.item_ids_)
        self._skill_pos = np.array([self.bkt_.skill_names_.index(n) for n in self.skill_names_],
                                   dtype=np.int64)

    def _bkt_event_p(self, log: ObservationLog, ev_ptr: np.ndarray) -> np.ndarray:
        """One-step BKT P(correct) per event of ``log`` (mean of its copies' batch P)."""
        pc = self.bkt_.predict(log).p_correct
        sums = np.add.reduceat(pc, ev_ptr[:-1]) if len(pc) else np.zeros(0)
        return sums / np.diff(ev_ptr)

    def _fit_offsets(self, log: ObservationLog) -> None:
        ev_ptr, _ = event_pointers(log.event, log.learner)
        p_bkt = self._bkt_event_p(log, ev_ptr)
        starts = ev_ptr[:-1]
        n = len(starts)
        n_cols = 2 + self.n_items_
        indptr = np.arange(0, 3 * n + 1, 3, dtype=np.int64)
        idx = np.column_stack([np.zeros(n, np.int64), np.ones(n, np.int64),
                               2 + log.item[starts].astype(np.int64)]).ravel()
        data = np.column_stack([np.ones(n), _logit(p_bkt), np.ones(n)]).ravel()
        X = scipy.sparse.csr_matrix((data, idx, indptr), shape=(n, n_cols))
        w = fit_logistic(X, log.outcome[starts].astype(np.float64), l2=self.l2)
        self.bias_, self.slope_ = float(w[0]), float(w[1])
        self.item_offset_ = np.r_[w[2:], 0.0]

    def _check_fitted(self) -> None:
        if not hasattr(self, "bkt_"):
            raise NotFittedError("BKTItem is not fitted; call fit(log) or load(path) first")

    # ------------------------------------------------------------------ online
    def init_state(self) -> BKTState:
        self._check_fitted()
        return self.bkt_.init_state()

    def _items(self, items, n: int) -> np.ndarray:
        if items is None:
            return np.full(n, self.n_items_, dtype=np.int64)
        arr = np.atleast_1d(np.asarray(items))
        if arr.dtype.kind in "iu":
            codes = arr.astype(np.int64).reshape(-1)
            if len(codes) and codes.max() >= self.n_items_:
                raise ParameterError(
                    f"item code {int(codes.max())} is outside 0..{self.n_items_ - 1}; pass -1 "
                    "for an unknown item")
        else:
            index = {n: i for i, n in enumerate(self.item_ids_.tolist())}
            codes = np.array([index.get(str(x), -1) for x in arr.reshape(-1)], dtype=np.int64)
        return np.where(codes < 0, self.n_items_, codes)

    def update_many(self, state: BKTState, skills, scores, items=None, events=None):
        """``kt.online`` contract: one stacked P(correct) per observation (see the module
        docstring); skills are names or codes of ``skill_names_`` (the fitted log's)."""
        self._check_fitted()
        sk = np.atleast_1d(np.asarray(skills))
        if sk.dtype.kind in "iu":
            sk = self._skill_pos[sk.astype(np.int64).reshape(-1)]
        new, p = self.bkt_.update_many(state, sk, scores, events=events)
        from kt.bkt.online import obs_pointers

        ptr = obs_pointers(events, len(sk))
        item = self._items(items, len(sk))[ptr[:-1]]
        z = self.bias_ + self.slope_ * _logit(p) + self.item_offset_[item]
        return new, 1.0 / (1.0 + np.exp(-z))

    def update_one(self, state: BKTState, skills, score: float, item=None):
        names = [skills] if isinstance(skills, str | int | np.integer) else list(skills)
        if not names:
            raise ParameterError("skills is empty; name at least one skill")
        n = len(names)
        new, p = self.update_many(state, names, np.full(n, float(score)),
                                  None if item is None else [item] * n, np.zeros(n, np.int64))
        return new, float(p[0])

    def mastery(self, state: BKTState, skill: str) -> float:
        """P(mastered) of the BKT part (``kt.online``: BKT's mastery)."""
        self._check_fitted()
        return self.bkt_.mastery(state, skill)

    def state_to_dict(self, state: BKTState) -> dict[str, Any]:
        return self.bkt_.state_to_dict(state)

    def state_from_dict(self, doc: dict[str, Any]) -> BKTState:
        return self.bkt_.state_from_dict(doc)

    def predict(self, log: ObservationLog) -> np.ndarray:
        """P(correct) per event of ``log``, every learner replayed from a fresh state."""
        self._check_fitted()
        ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
        out = np.empty(len(ev_ptr) - 1)
        for a, b in zip(lr_ptr[:-1], lr_ptr[1:], strict=True):
            r0, r1 = ev_ptr[a], ev_ptr[b]
            _, out[a:b] = self.update_many(self.init_state(), log.skill[r0:r1],
                                           log.outcome[r0:r1], log.item[r0:r1],
                                           log.event[r0:r1])
        return out

    # ------------------------------------------------------------------ documents
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format": "pathwise-kt-model", "version": FORMAT_VERSION, "model": self.name,
            "hyperparameters": self.get_params(), "skill_names": self.skill_names_.tolist(),
            "item_ids": self.item_ids_.tolist(),
            "learned": {"bkt": self.bkt_.to_dict(), "slope": self.slope_, "bias": self.bias_,
                        "item_offset": self.item_offset_.tolist()},
        }

    def save(self, path) -> None:
        import json
        from pathlib import Path

        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BKTItem:
        from kt.bkt import BKT

        if data.get("format") != "pathwise-kt-model" or data.get("version") != FORMAT_VERSION \
                or data.get("model") != cls.name:
            raise ModelFileError(
                f"not a pathwise-kt-model v{FORMAT_VERSION} {cls.name!r} document "
                f"(format={data.get('format')!r}, model={data.get('model')!r})")
        try:
            model = cls(**data["hyperparameters"])
            learned = data["learned"]
            bkt = BKT.from_dict(learned["bkt"])
            model.skill_names_ = np.asarray(data["skill_names"], dtype=str)
            model.item_ids_ = np.asarray(data["item_ids"], dtype=str)
            model.n_skills_ = len(model.skill_names_)
            model.n_items_ = len(model.item_ids_)
            model.bkt_ = bkt
            model._skill_pos = np.array([bkt.skill_names_.index(n) for n in model.skill_names_],
                                        dtype=np.int64)
            model.slope_ = float(learned["slope"])
            model.bias_ = float(learned["bias"])
            model.item_offset_ = np.asarray(learned["item_offset"], dtype=np.float64)
            if model.item_offset_.shape != (model.n_items_ + 1,):
                raise ValueError(f"item_offset has {model.item_offset_.shape}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model file is inconsistent: {exc}") from exc
        return model

    @classmethod
    def load(cls, path) -> BKTItem:
        from kt.models import load_model

        return load_model(path)
