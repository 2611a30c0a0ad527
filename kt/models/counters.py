"""Logistic models on per-learner counters: PFA, Best-LR and R-Best-LR.

All three keep, per learner, counters per skill and per item (attempts, wins, and
exponentially decayed wins/fails) plus learner totals, updated in O(1) per skill copy;
P(correct) = sigmoid(w . x) where ``x`` is built from the counters *before* the answer.
Multi-skill questions sum their skills' features (a Q-matrix row), so one probability
comes out per question.

* ``pfa``  (Pavlik, Cen & Koedinger 2009): skill easiness + per-skill weights on raw
  win and fail counts.
* ``best-lr`` (Gervet et al. 2020): item + skill one-hot, per-skill log(1+attempts) and
  log(1+wins), and shared log(1+attempts/wins) on this item and in total.
* ``r-best-lr``: Best-LR plus recency. For each decay factor lambda in ``decays``, the
  decayed wins ``dw <- lambda dw + y`` and fails ``df <- lambda df + (1-y)`` on the
  event's skills (mean over skills; shared and per-skill weights) and in total. Recent
  answers count most, which captures the within-session learning that plain counts blur.

Weights come from :func:`kt.models.logreg.fit_logistic` (SciPy L-BFGS, L2).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from kt.errors import ParameterError
from kt.log import ObservationLog
from kt.models import _kernels as K
from kt.models.base import OnlineModel, event_pointers
from kt.models.logreg import design_from_padded, fit_logistic

_ALL_BLOCKS = (
    "item", "skill", "skill_log", "pfa", "item_log", "total_log", "skill_decay",
    "total_decay", "skill_decay_per_skill",
)


class CounterLogisticModel(OnlineModel):
    """Shared machinery; subclasses fix ``blocks`` (the feature blocks used)."""

    name: ClassVar[str] = "counters"
    blocks: ClassVar[tuple[str, ...]] = ()

    def __init__(self, l2: float = 1.0, decays: tuple[float, ...] = (), max_iter: int = 300,
                 elo_alpha: float = 1.0, elo_beta: float = 0.05):
        self.l2 = l2
        self.decays = tuple(decays)
        self.max_iter = max_iter
        self.elo_alpha = elo_alpha
        self.elo_beta = elo_beta

    def get_params(self) -> dict[str, Any]:
        return {"l2": self.l2, "decays": list(self.decays), "max_iter": self.max_iter,
                "elo_alpha": self.elo_alpha, "elo_beta": self.elo_beta}

    # ----------------------------------------------------------------- layout
    def _layout(self) -> tuple[np.ndarray, int, dict[str, tuple[int, int]]]:
        """Design column offsets (int64, N_OFFSETS), number of columns, named column ranges."""
        for d in self.decays:
            if not 0.0 < float(d) < 1.0:
                raise ParameterError(f"decay {d!r} must be in (0, 1)")
        n_s, n_i, n_d = self.n_skills_, self.n_items_ + 1, len(self.decays)
        off = np.full(K.N_OFFSETS, -1, dtype=np.int64)
        ranges: dict[str, tuple[int, int]] = {"bias": (0, 1)}
        col = 1

        def add(slot: int, name: str, width: int) -> None:
            nonlocal col
            off[slot] = col
            ranges[name] = (col, col + width)
            col += width

        b = set(self.blocks)
        if "item" in b:
            add(K.O_ITEM, "item", n_i)
        if "skill" in b:
            add(K.O_SKILL, "skill", n_s)
        if "skill_log" in b:
            add(K.O_SKILL_LOGA, "skill_log_attempts", n_s)
            add(K.O_SKILL_LOGW, "skill_log_wins", n_s)
        if "pfa" in b:
            add(K.O_SKILL_PFAW, "skill_wins", n_s)
            add(K.O_SKILL_PFAF, "skill_fails", n_s)
        if "item_log" in b:
            add(K.O_ITEM_LOG, "item_log_attempts_wins", 2)
        if "total_log" in b:
            add(K.O_TOTAL_LOG, "total_log_attempts_wins", 2)
        if n_d and "skill_decay" in b:
            add(K.O_SKILL_DEC, "skill_decayed_wins_fails", 2 * n_d)
        if n_d and "total_decay" in b:
            add(K.O_TOTAL_DEC, "total_decayed_wins_fails", 2 * n_d)
        if n_d and "skill_decay_per_skill" in b:
            add(K.O_SKILL_DEC_PS, "skill_decayed_per_skill", 2 * n_d * n_s)
        if self.uses_elo:
            add(K.O_ELO, "elo_theta_global_skill", 2)
        return off, col, ranges

    @property
    def uses_elo(self) -> bool:
        return "elo" in self.blocks

    def _state_shape(self) -> tuple[int, int]:
        m = 2 + 2 * len(self.decays) + (2 if self.uses_elo else 0)
        return m, m

    def _max_nnz(self, max_skills: int) -> int:
        per_skill = 1 + 2 + 2 + 2 * len(self.decays)
        return 1 + 1 + 2 + 2 + 2 + 4 * len(self.decays) + max_skills * per_skill

    def _elo_arrays(self, b_item: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not self.uses_elo:
            return np.zeros(0), np.zeros(2)
        b = self.b_item_ if b_item is None else b_item
        return np.ascontiguousarray(b, dtype=np.float64), np.array([self.elo_alpha, self.elo_beta])

    def _kernel(self, keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, weights,
                out_cols, out_vals, out_p, b_item=None) -> int:
        b, ab = self._elo_arrays(b_item)
        return K.counters_run(
            keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, self.n_skills_,
            self.offsets_, np.asarray(self.decays, dtype=np.float64), weights, b, ab, out_cols,
            out_vals, out_p,
        )

    def design(self, log: ObservationLog, b_item: np.ndarray | None = None):
        """Sparse design matrix (n_events, n_columns) of ``log`` and event outcomes (n_events,).

        ``b_item``: Elo item difficulties to use for the Elo block (default: the fitted ones).
        """
        skill, item, outcome, event = self._validate_rows(log.skill, log.item, log.outcome, log.event)
        ev_ptr, lr_ptr = event_pointers(event, log.learner)
        m, t = self._state_shape()
        rows = ev_ptr[lr_ptr[1:]] - ev_ptr[lr_ptr[:-1]]
        cap = 16
        while cap < 4 * int(rows.max()) + 4:
            cap *= 2
        keys = np.full(cap, -1, dtype=np.int64)
        vals = np.zeros((cap, m))
        n_ev = len(ev_ptr) - 1
        max_nnz = self._max_nnz(int(np.diff(ev_ptr).max()))
        cols = np.empty((n_ev, max_nnz), dtype=np.int64)
        fvals = np.empty((n_ev, max_nnz), dtype=np.float64)
        out_p = np.empty(n_ev)
        self._kernel(keys, vals, np.zeros(t), skill, item, outcome, ev_ptr, lr_ptr,
                     np.zeros(0), cols, fvals, out_p, b_item)
        X = design_from_padded(cols, fvals, self.n_columns_)
        return X, outcome[ev_ptr[:-1]].astype(np.float64)

    def _fit(self, log: ObservationLog) -> None:
        self.offsets_, self.n_columns_, self.column_ranges_ = self._layout()
        if not self.uses_elo:
            X, y = self.design(log)
        else:
            X, y = self._crossfit_design(log)
        self.weights_ = fit_logistic(X, y, l2=self.l2, max_iter=self.max_iter)

    def _elo(self):
        from kt.models.elo import Elo

        return Elo(alpha=self.elo_alpha, beta=self.elo_beta)

    def _crossfit_design(self, log: ObservationLog):
        """Elo item difficulties fitted on one half of the training learners feed the Elo
        features of the other half (so training features look like test-time features);
        the online model then uses difficulties fitted on all training learners."""
        import scipy.sparse

        learners = np.unique(log.learner)
        half_of = np.zeros(log.n_learners, dtype=np.int8)
        half_of[learners[np.random.default_rng(0).permutation(len(learners)) % 2 == 1]] = 1
        row_half = half_of[log.learner]
        Xs, ys = [], []
        for h in (0, 1):
            mine = np.flatnonzero(row_half == h)
            other = np.flatnonzero(row_half != h)
            if len(mine) == 0:
                continue
            b = self._elo().fit(log.take(other)).b_item_ if len(other) else np.zeros(self.n_items_ + 1)
            X, y = self._half_design(log.take(mine), log.take(other), b)
            Xs.append(X)
            ys.append(y)
        self.b_item_ = self._elo().fit(log).b_item_
        return scipy.sparse.vstack(Xs).tocsr(), np.concatenate(ys)

    def _half_design(self, mine: ObservationLog, other: ObservationLog, b_item: np.ndarray):
        """Design of ``mine`` with Elo difficulties ``b_item`` fitted on ``other`` (subclasses
        fit their other offline parameters on ``other`` too)."""
        return self.design(mine, b_item)

    def _run(self, keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p) -> int:
        empty_c = np.zeros((0, 0), dtype=np.int64)
        empty_v = np.zeros((0, 0), dtype=np.float64)
        return self._kernel(keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr,
                            self.weights_, empty_c, empty_v, out_p)

    # ----------------------------------------------------------------- readable parameters
    def weight_table(self) -> dict[str, Any]:
        """Weights by block: per-skill blocks keyed by skill name, items by item id."""
        self._check_fitted()
        out: dict[str, Any] = {}
        names_i = list(self.item_ids_) + ["<unknown item>"]
        for block, (a, b) in self.column_ranges_.items():
            w = self.weights_[a:b]
            if block == "item":
                out[block] = dict(zip(names_i, w.tolist(), strict=True))
            elif b - a == self.n_skills_ and block.startswith("skill"):
                out[block] = dict(zip(self.skill_names_.tolist(), w.tolist(), strict=True))
            else:
                out[block] = w.tolist()
        return out

    def skill_params(self, skill: str) -> dict[str, float]:
        """The per-skill weights of ``skill`` (easiness, count weights...)."""
        self._check_fitted()
        hits = np.flatnonzero(self.skill_names_ == skill)
        if len(hits) == 0:
            from kt.errors import UnknownSkillError

            raise UnknownSkillError(f"skill {skill!r} was not in the fitted log")
        k = int(hits[0])
        out = {}
        for block, (a, b) in self.column_ranges_.items():
            if b - a == self.n_skills_ and block.startswith("skill"):
                out[block] = float(self.weights_[a + k])
        return out

    def _learned(self) -> dict[str, Any]:
        out = {"weights": self.weights_.tolist()}
        if self.uses_elo:
            out["b_item"] = self.b_item_.tolist()
        return out

    def _restore(self, learned: dict[str, Any]) -> None:
        self.offsets_, self.n_columns_, self.column_ranges_ = self._layout()
        if self.uses_elo:
            self.b_item_ = np.asarray(learned["b_item"], dtype=np.float64)
        w = np.asarray(learned["weights"], dtype=np.float64)
        if w.shape != (self.n_columns_,):
            raise ValueError(f"expected {self.n_columns_} weights, got {w.shape}")
        self.weights_ = w


class PFA(CounterLogisticModel):
    """Performance Factors Analysis: skill easiness + per-skill win/fail count weights."""

    name = "pfa"
    blocks = ("skill", "pfa")


class BestLR(CounterLogisticModel):
    """Best-LR (Gervet et al. 2020): items, skills, log-counts per skill, per item, in total."""

    name = "best-lr"
    blocks = ("item", "skill", "skill_log", "item_log", "total_log")


class RBestLR(CounterLogisticModel):
    """Best-LR + recency-decayed win/fail counters (per skill and in total)."""

    name = "r-best-lr"
    blocks = ("item", "skill", "skill_log", "item_log", "total_log", "skill_decay",
              "total_decay", "skill_decay_per_skill")

    def __init__(self, l2: float = 1.0, decays: tuple[float, ...] = (0.3, 0.7, 0.9),
                 max_iter: int = 300, elo_alpha: float = 1.0, elo_beta: float = 0.05):
        super().__init__(l2=l2, decays=tuple(decays), max_iter=max_iter, elo_alpha=elo_alpha,
                         elo_beta=elo_beta)


class RBestLRElo(RBestLR):
    """R-Best-LR plus the learner's Elo abilities (global and mean over the question's
    skills) as two more features; the abilities are updated online with the Elo rule
    against item difficulties ``b_item_`` learned by :class:`kt.models.elo.Elo`."""

    name = "r-best-lr-elo"
    blocks = RBestLR.blocks + ("elo",)
