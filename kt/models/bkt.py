"""BKT behind the online-model interface, and BKT with per-item difficulty.

``bkt`` / ``bkt-f``: per-skill parameters ``p_init, p_learn, p_forget, p_guess, p_slip``
fitted by :class:`kt.bkt.BKT` (EM; ``bkt-f`` also learns ``p_forget``). The online path
is BKT forward filtering per skill; a multi-skill question's P(correct) is the **mean of
its skills' P(correct)**, all computed before any of its copies is applied (then each
copy updates its own skill, as pyBKT does). Skills absent from the training data use
the mean of the fitted skills' parameters.

``bkt-item``: the BKT prediction plus an item offset, stacked by logistic regression:
P = sigmoid(a * logit(p_bkt) + c + d_item). ``a``, ``c`` and ``d_item`` are fitted
(L2, SciPy L-BFGS) on the training learners' own one-step BKT predictions. Still O(1)
per skill online: the BKT state is the whole learner state.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse

from kt.log import ObservationLog
from kt.models import _kernels as K
from kt.models.base import OnlineModel, event_pointers
from kt.models.logreg import fit_logistic

PARAMS = ("p_init", "p_learn", "p_forget", "p_guess", "p_slip")


class BKTModel(OnlineModel):
    """Standard BKT (``forgets=False``) or BKT+Forgets, fitted by ``kt.bkt.BKT``."""

    name: ClassVar[str] = "bkt"

    def __init__(self, forgets: bool = False, num_fits: int = 1, seed: int = 0, max_iter: int = 100):
        self.forgets = forgets
        self.num_fits = num_fits
        self.seed = seed
        self.max_iter = max_iter

    def get_params(self) -> dict[str, Any]:
        return {"forgets": self.forgets, "num_fits": self.num_fits, "seed": self.seed,
                "max_iter": self.max_iter}

    def _fit_bkt(self, log: ObservationLog) -> None:
        from kt.bkt import BKT

        est = BKT(forgets=bool(self.forgets), num_fits=int(self.num_fits), seed=int(self.seed),
                  max_iter=int(self.max_iter)).fit(log)
        self._set_bkt_rows(est.params())

    def _set_bkt_rows(self, rows: list[dict]) -> None:
        """Per-skill parameter table from ``kt.bkt.BKT.params()`` rows (classes averaged)."""
        table = np.full((5, self.n_skills_), np.nan)
        sums = np.zeros((5, self.n_skills_))
        counts = np.zeros((5, self.n_skills_))
        code = {str(n): i for i, n in enumerate(self.skill_names_)}
        for row in rows:  # tidy rows; classes (none here) are averaged
            k, j = code[str(row["skill"])], PARAMS.index(row["param"])
            sums[j, k] += row["value"]
            counts[j, k] += 1
        has = counts > 0
        table[has] = np.clip(sums[has] / counts[has], 0.0, 1.0)  # EM may overshoot by 1 ulp
        fitted = ~np.isnan(table[0])
        mean = table[:, fitted].mean(axis=1)
        table[:, ~fitted] = mean[:, None]
        self.params_ = table
        self.fitted_skills_ = fitted

    def _fit(self, log: ObservationLog) -> None:
        self._fit_bkt(log)

    def _after_bkt(self, log: ObservationLog) -> None:
        """Hook run after the per-skill parameters are set (used by ``bkt-item``)."""

    def _state_shape(self) -> tuple[int, int]:
        return 1, 1

    def _bkt(self, keys, vals, skill, outcome, ev_ptr, lr_ptr, out_p, out_mastery=None) -> int:
        t = self.params_
        return K.bkt_run(keys, vals, skill, outcome, ev_ptr, lr_ptr, t[0], t[1], t[2], t[3], t[4],
                         out_p, np.zeros(0) if out_mastery is None else out_mastery)

    def _run(self, keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p) -> int:
        return self._bkt(keys, vals, skill, outcome, ev_ptr, lr_ptr, out_p)

    def mastery(self, log: ObservationLog) -> np.ndarray:
        """P(mastered) of each row's skill right after that row (float64, n_rows), fresh learners."""
        self._check_fitted()
        ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
        rows = ev_ptr[lr_ptr[1:]] - ev_ptr[lr_ptr[:-1]]
        cap = 16
        while cap < 4 * int(rows.max()) + 4:
            cap *= 2
        out_p = np.empty(len(ev_ptr) - 1)
        out_m = np.empty(len(log))
        self._bkt(np.full(cap, -1, dtype=np.int64), np.zeros((cap, 1)), log.skill, log.outcome,
                  ev_ptr, lr_ptr, out_p, out_m)
        return out_m

    def skill_params(self, skill: str) -> dict[str, float]:
        self._check_fitted()
        k = int(np.flatnonzero(self.skill_names_ == skill)[0]) if skill in self.skill_names_ else -1
        if k < 0:
            from kt.errors import UnknownSkillError

            raise UnknownSkillError(f"skill {skill!r} was not in the fitted log")
        return dict(zip(PARAMS, self.params_[:, k].tolist(), strict=True))

    def _learned(self) -> dict[str, Any]:
        return {"params": {p: self.params_[i].tolist() for i, p in enumerate(PARAMS)},
                "fitted_skills": self.fitted_skills_.tolist()}

    def _restore(self, learned: dict[str, Any]) -> None:
        self.params_ = np.array([learned["params"][p] for p in PARAMS], dtype=np.float64)
        self.fitted_skills_ = np.asarray(learned["fitted_skills"], dtype=bool)
        if self.params_.shape != (5, self.n_skills_):
            raise ValueError(f"params shape {self.params_.shape}, expected (5, {self.n_skills_})")


class BKTForgets(BKTModel):
    """BKT with a learned ``p_forget`` per skill."""

    name = "bkt-f"

    def __init__(self, forgets: bool = True, num_fits: int = 1, seed: int = 0, max_iter: int = 100):
        super().__init__(forgets=forgets, num_fits=num_fits, seed=seed, max_iter=max_iter)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class BKTItem(BKTModel):
    """BKT(+forgets) with an item difficulty offset stacked on the BKT logit."""

    name = "bkt-item"

    def __init__(self, forgets: bool = True, num_fits: int = 1, seed: int = 0, max_iter: int = 100,
                 l2: float = 1.0):
        super().__init__(forgets=forgets, num_fits=num_fits, seed=seed, max_iter=max_iter)
        self.l2 = l2

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "l2": self.l2}

    def _fit(self, log: ObservationLog) -> None:
        self._fit_bkt(log)
        self._after_bkt(log)

    def _after_bkt(self, log: ObservationLog) -> None:
        self.slope_, self.bias_ = 1.0, 0.0
        self.item_offset_ = np.zeros(self.n_items_ + 1)
        p_bkt = self._predict_arrays_bkt(log)
        ev_ptr, _ = event_pointers(log.event, log.learner)
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

    def _predict_arrays_bkt(self, log: ObservationLog) -> np.ndarray:
        ev_ptr, lr_ptr = event_pointers(log.event, log.learner)
        rows = ev_ptr[lr_ptr[1:]] - ev_ptr[lr_ptr[:-1]]
        cap = 16
        while cap < 4 * int(rows.max()) + 4:
            cap *= 2
        out = np.empty(len(ev_ptr) - 1)
        self._bkt(np.full(cap, -1, dtype=np.int64), np.zeros((cap, 1)), log.skill, log.outcome,
                  ev_ptr, lr_ptr, out)
        return out

    def _run(self, keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, out_p) -> int:
        used = self._bkt(keys, vals, skill, outcome, ev_ptr, lr_ptr, out_p)
        z = self.bias_ + self.slope_ * _logit(out_p) + self.item_offset_[item[ev_ptr[:-1]]]
        out_p[:] = 1.0 / (1.0 + np.exp(-z))
        return used

    def _learned(self) -> dict[str, Any]:
        return {**super()._learned(), "slope": self.slope_, "bias": self.bias_,
                "item_offset": self.item_offset_.tolist()}

    def _restore(self, learned: dict[str, Any]) -> None:
        super()._restore(learned)
        self.slope_ = float(learned["slope"])
        self.bias_ = float(learned["bias"])
        self.item_offset_ = np.asarray(learned["item_offset"], dtype=np.float64)
