"""Do a school's activities differ? The test that gates learned effectiveness
(:meth:`planner.effectiveness.EffectivenessModel.differ_test`), like the forgetting test gates
review (:meth:`planner.forgetting.ForgettingModel.forgets`).

Statistic. Each activity's tickets give a log-likelihood of its multiplier on ``GRID``
(the model's own, with its knowledge-before). Within each group of the hierarchy (kind x
modality, or with ``per_skill`` the first skill) the activities' log multipliers are drawn
around the group's level with spread ``sd``; T = max over ``SD_GRID`` of the tickets'
marginal log-likelihood minus its value at the smallest spread (activities equal within
their group). T >= 0.

Null. A likelihood-ratio rule would trust the model's own ticket likelihood, which every
misspecification of it (a prerequisite gate, learners who differ, guess and slip not the
model's) makes over-dispersed, and T then grows with evidence where activities are equal.
So the null distribution is by permutation: within each stratum (the activity's group and
the ticket's skill) the activity labels of the tickets are shuffled, which keeps everything
about who reached which skill when and removes only which activity came before the ticket.
The school's activities differ when T is larger than every one of ``n_perm`` permuted
statistics (p <= 1 / (n_perm + 1): 0.05 with the default 19) and T > 0.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array

from planner._logmath import _log_matmul, _logsumexp, _sum_rows
from planner._spreads import GRID, SD_GRID, group_log_prior, normal_kernel

N_PERM = 19
GROUP_SD = 0.8
"""The groups' own spread in the statistic (their level is a nuisance: a wide prior)."""


def activities_differ(model, n_perm: int = N_PERM, seed: int = 0) -> dict:
    """``{"differs": bool, "statistic": T, "p_value": p, "tickets": n, "activities": a}`` of
    ``model`` (an :class:`~planner.effectiveness.EffectivenessModel`) over its counted
    tickets (those that inform an activity); ``differs`` False when no stratum has tickets
    of two activities (nothing to compare). Deterministic for a given ``seed``."""
    q, counted = model.knowledge_before()
    rows = model._rows
    idx = [i for i in np.nonzero(counted)[0] if rows[i][0] is not None]
    acts = [rows[i][0] for i in idx]
    out = {"differs": False, "statistic": 0.0, "p_value": 1.0, "tickets": len(idx),
           "activities": len(set(acts))}
    strata: dict[tuple, int] = {}
    stratum = np.array([strata.setdefault((model._group_of[rows[i][0]], rows[i][1]), len(strata))
                        for i in idx], dtype=np.int64)
    units = {a: j for j, a in enumerate(dict.fromkeys(acts))}
    label = np.array([units[a] for a in acts], dtype=np.int64)
    pairs = np.unique(np.stack([stratum, label]), axis=1)
    if len(np.unique(pairs[0])) == pairs.shape[1]:  # every stratum has one activity
        return out
    ix = np.asarray(idx, dtype=np.int64)
    t = np.array([rows[i][3] for i in idx], dtype=float)
    sc = np.array([rows[i][4] for i in idx], dtype=float)
    stat = _Statistic(model._loglik(q[ix], t, sc), [model._group_of[a] for a in units])
    observed = stat(label)
    if observed <= 1e-9:  # equal activities fit best: every permutation ties, p = 1
        return out
    rng = np.random.default_rng(seed)
    by_stratum = np.argsort(stratum, kind="stable")  # positions, stratum by stratum
    perm = []
    for _ in range(n_perm):
        # the same positions get the labels of their stratum in a random order
        shuffled = np.empty_like(label)
        shuffled[by_stratum] = label[np.lexsort((rng.random(len(label)), stratum))]
        perm.append(stat(shuffled))
    p = (1 + sum(v >= observed - 1e-9 for v in perm)) / (1 + n_perm)
    out.update(statistic=float(observed), p_value=float(p),
               differs=bool(observed > 1e-9 and p <= 1.0 / (1 + n_perm) + 1e-12))
    return out


class _Statistic:
    """T of one labelling of the tickets (``ll`` (n, G) their log-likelihoods on ``GRID``,
    labels: each ticket's activity index); ``groups``: each activity's group, fixed by the
    real activities."""

    def __init__(self, ll: np.ndarray, groups: list) -> None:
        self.ll = ll
        keys: dict = {}
        self.unit_group = np.array([keys.setdefault(g, len(keys)) for g in groups], dtype=np.int64)
        self.n_units, self.n_groups = len(groups), len(keys)
        prior = group_log_prior(np.log(GRID), GROUP_SD)
        self.prior = prior - _logsumexp(prior, axis=0)

    def __call__(self, labels: np.ndarray) -> float:
        n = len(labels)  # each activity's summed rows, as one sparse product (no (n, G) copy)
        per_unit = csr_array((np.ones(n), (labels, np.arange(n))), shape=(self.n_units, n)) @ self.ll
        totals = []
        for sd in SD_GRID:
            marg = _log_matmul(per_unit, normal_kernel(sd).T)  # p(D_a | m_g)
            per_group = _sum_rows(marg, self.unit_group, self.n_groups)
            totals.append(float(np.sum(_logsumexp(per_group + self.prior[None, :], axis=1))))
        return max(totals) - totals[0]
