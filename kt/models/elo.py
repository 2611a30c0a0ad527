"""Elo learner model: a global and a per-skill learner ability against item difficulty.

P(correct) = sigmoid(theta + mean_{k in skills} theta_k - b_item).

Uncertainty-based step size (Pelanek 2016): an ability or difficulty estimated from ``n``
previous answers moves by ``K(n) = alpha / (1 + beta * n)`` times the prediction error
``y - p``. New learners (n = 0) move fast, well-known ones slowly.

``fit`` replays the training learners' events in global time order (``order`` key) once,
starting every ability at 0, and learns item difficulties ``b_item_`` with step
``gamma * K(n_item)``. Difficulties are then frozen: online updates touch only the
learner's own abilities, so learners can be replayed independently (and in parallel).
Items never seen in training have difficulty 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from kt.errors import ParameterError
from kt.log import ObservationLog
from kt.models import _kernels as K
from kt.models.base import OnlineModel, event_pointers


class Elo(OnlineModel):
    """Elo with per-skill learner abilities and frozen item difficulties.

    Hyperparameters: ``alpha`` (> 0) and ``beta`` (>= 0) of K(n) = alpha / (1 + beta n);
    ``gamma`` (> 0) scales the item step while fitting; ``passes`` (>= 1) over the training data.
    Learned: ``b_item_`` float64 (n_items,) difficulty in logits; ``n_item_`` training answers per item.
    """

    name: ClassVar[str] = "elo"

    def __init__(self, alpha: float = 1.0, beta: float = 0.05, gamma: float = 1.0, passes: int = 1):
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.passes = passes

    def get_params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "passes": self.passes}

    def _check(self) -> None:
        if not self.alpha > 0:
            raise ParameterError(f"alpha={self.alpha!r} must be > 0")
        if not self.beta >= 0:
            raise ParameterError(f"beta={self.beta!r} must be >= 0")
        if not self.gamma > 0:
            raise ParameterError(f"gamma={self.gamma!r} must be > 0")
        if int(self.passes) < 1:
            raise ParameterError(f"passes={self.passes!r} must be >= 1")

    def _fit(self, log: ObservationLog) -> None:
        self._check()
        ev_ptr, _ = event_pointers(log.event, log.learner)
        starts = ev_ptr[:-1]
        ev_order = np.argsort(log.order[starts], kind="stable").astype(np.int64)
        b = np.zeros(self.n_items_ + 1)
        n_it = np.zeros(self.n_items_ + 1)
        for _ in range(int(self.passes)):
            K.elo_fit_pass(
                log.learner, log.skill, log.item, log.outcome, ev_ptr, ev_order,
                int(log.n_learners), self.n_skills_, b, n_it,
                float(self.alpha), float(self.beta), float(self.gamma),
            )
        b[-1] = 0.0
        self.b_item_ = b
        self.n_item_ = n_it

    def _state_shape(self) -> tuple[int, int]:
        return 2, 2

    def _run(self, keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p) -> int:
        return K.elo_run(keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, self.b_item_,
                         float(self.alpha), float(self.beta), out_p)

    def item_difficulty(self, item: str) -> float:
        """Difficulty (logits) of item id ``item``; 0 for an item unseen in training."""
        self._check_fitted()
        hits = np.flatnonzero(self.item_ids_ == str(item))
        return float(self.b_item_[hits[0]]) if len(hits) else 0.0

    def abilities(self, state) -> dict[str, float]:
        """Readable learner state: global ability and per-skill abilities by skill name."""
        out = {"global": float(state.totals[0])}
        for s in np.flatnonzero(state.keys >= 0):
            out[str(self.skill_names_[state.keys[s]])] = float(state.vals[s, 0])
        return out

    def _learned(self) -> dict[str, Any]:
        return {"b_item": self.b_item_.tolist(), "n_item": self.n_item_.tolist()}

    def _restore(self, learned: dict[str, Any]) -> None:
        self.b_item_ = np.asarray(learned["b_item"], dtype=np.float64)
        self.n_item_ = np.asarray(learned["n_item"], dtype=np.float64)
        if self.b_item_.shape != (self.n_items_ + 1,):
            raise ValueError(f"b_item has {self.b_item_.shape}, expected ({self.n_items_ + 1},)")
