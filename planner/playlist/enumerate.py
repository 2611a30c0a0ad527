"""Exact solve of tiny playlist problems by vectorised enumeration (no solver call).

HiGHS through scipy costs a few milliseconds even on a trivial model; a class plan fills
two or three station slots for each of 30 learners, where every subset of at most
``length_max`` candidates can simply be scored at once with NumPy. Used when the number of
subsets is at most ``MAX_SUBSETS``; the value is the exact (not linearised) objective minus
the soft-row slack penalties, so the result is optimal for the same problem as the MILP.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from math import comb

import numpy as np

from planner.model import MODALITIES
from planner.playlist.candidates import Candidates
from planner.playlist.rows import hard_limits, soft_rows

MAX_SUBSETS = 6000


def n_subsets(n: int, length_max: int) -> int:
    return sum(comb(n, s) for s in range(min(n, length_max) + 1))


def enumerate_best(c: Candidates, *, churn: Mapping[int, float] | None = None,
                   churn_penalty: float = 0.0, extra_forced: tuple[int, ...] = (),
                   max_subsets: int = MAX_SUBSETS) -> np.ndarray | None:
    """Optimal selection (A,) by scoring every subset, or None when there are too many."""
    r, W = c.request, c.request.weights
    L = min(c.n, r.length_max)
    if n_subsets(c.n, L) > max_subsets:
        return None
    lim = hard_limits(c)
    rows = soft_rows(c, extra_forced)
    best_v, best_x = -np.inf, np.zeros(c.n)
    static = W.preference * c.pref
    if churn is not None and churn_penalty:
        prev = np.zeros(c.n, dtype=bool)
        prev[list(churn)] = True
        static = static + np.where(prev, churn_penalty, -churn_penalty)
        base_churn = -churn_penalty * len(churn)
    else:
        base_churn = 0.0
    coef = c.w * (1.0 - c.p)
    cap = np.where(np.isfinite(lim.fmt_cap), lim.fmt_cap, np.inf)
    for s in range(L + 1):
        if s == 0:
            idx = np.zeros((1, 0), dtype=np.int64)
        else:
            idx = np.array(list(combinations(range(c.n), s)), dtype=np.int64)
        X = np.zeros((len(idx), c.n))
        if s:
            np.put_along_axis(X, idx, 1.0, axis=1)
        ok = X @ c.duration <= r.budget_min + 1e-9
        for mi in range(len(MODALITIES)):
            if np.isfinite(lim.mod_hi[mi]):
                ok &= X @ (c.modality == mi) <= lim.mod_hi[mi]
        if lim.fmt.shape[1]:
            ok &= np.all(X @ lim.fmt <= cap, axis=1)
        if lim.touch.shape[1]:
            ok &= np.all(X @ lim.touch <= r.skill_cap, axis=1)
        if len(lim.chain_owner):
            met = X @ lim.chain.T > 0.5  # (m, R)
            has_owner = X[:, lim.chain_owner] > 0.5
            ok &= ~np.any(has_owner & ~met, axis=1)
        if not ok.any():
            continue
        X = X[ok]
        logkeep = X @ np.log1p(-c.T) if c.T.shape[1] else np.zeros((len(X), 0))
        v = (1.0 - np.exp(logkeep)) @ coef + X @ static + base_churn
        if W.variety and lim.fmt.shape[1]:
            v = v + W.variety * (X @ lim.fmt > 0).sum(axis=1)
        for row in rows:
            have = X[:, list(row.members)].sum(axis=1) if row.members else np.zeros(len(X))
            v = v - row.penalty * np.maximum(0.0, row.rhs - have)
        j = int(np.argmax(v))
        if v[j] > best_v + 1e-12:
            best_v, best_x = float(v[j]), X[j].copy()
    return best_x
