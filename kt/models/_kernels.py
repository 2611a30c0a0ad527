"""Numba kernels of the online models (private; call them through ``kt.models``).

Conventions shared by every kernel:

* Rows are observations (one per skill copy), grouped into response events by
  ``ev_ptr`` (int64, ``n_events + 1``): rows ``ev_ptr[e]:ev_ptr[e+1]`` are the skill
  copies of event ``e``. Events are grouped into learners by ``lr_ptr`` (int64,
  ``n_learners + 1``, in event units). A learner's state is reset at each learner
  boundary except the first segment, which continues the state passed in.
* Every event is *predicted first from the state before it*, with all its skill
  copies seen together, and only then are the copies applied to the state. One
  probability per event is written to ``out_p``.
* Per-learner state lives in an open-addressing hash table: ``keys`` (int64, capacity
  a power of two, ``-1`` = empty) and ``vals`` (float64, ``(capacity, m)``). Skill ``k``
  has key ``k``; item ``i`` has key ``n_skills + i``. Absent keys read as the model's
  default. The Python wrappers size the table so it never fills past one half.

All arithmetic is plain IEEE float64 (no fastmath); each kernel has a NumPy/Python
twin in ``tests/kt/test_models_twins.py`` (checked by ``test_models_kernels.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = -1


@njit(cache=True)
def _hash_slot(keys, key):
    """Slot of ``key`` in ``keys`` or of the empty slot where it would go (linear probing)."""
    mask = keys.shape[0] - 1
    h = (key * 2654435761) & mask
    while True:
        k = keys[h]
        if k == key or k == EMPTY:
            return h
        h = (h + 1) & mask


@njit(cache=True, inline="always")
def _claim(keys, key, touched, n_touched):
    """Slot of ``key``, inserting the key (and recording its slot in ``touched``) when it is
    absent. Returns (slot, new n_touched, inserted)."""
    s = _hash_slot(keys, key)
    if keys[s] == EMPTY:
        keys[s] = key
        touched[n_touched] = s
        return s, n_touched + 1, True
    return s, n_touched, False


@njit(cache=True)
def rehash(keys, vals, new_capacity):
    """Copy a table into a new one of ``new_capacity`` (a power of two)."""
    new_keys = np.full(new_capacity, EMPTY, dtype=np.int64)
    new_vals = np.zeros((new_capacity, vals.shape[1]), dtype=np.float64)
    for s in range(keys.shape[0]):
        if keys[s] != EMPTY:
            t = _hash_slot(new_keys, keys[s])
            new_keys[t] = keys[s]
            for j in range(vals.shape[1]):
                new_vals[t, j] = vals[s, j]
    return new_keys, new_vals


@njit(cache=True)
def _occupied_slots(keys, touched):
    """Write the indices of non-empty slots of ``keys`` into ``touched``; return their count."""
    n = 0
    for s in range(keys.shape[0]):
        if keys[s] != EMPTY:
            touched[n] = s
            n += 1
    return n


@njit(cache=True)
def _clear(keys, vals, touched, n_touched):
    for j in range(n_touched):
        s = touched[j]
        keys[s] = EMPTY
        for c in range(vals.shape[1]):
            vals[s, c] = 0.0


@njit(cache=True)
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    z = np.exp(x)
    return z / (1.0 + z)


# --------------------------------------------------------------------------- counters / LR
# Per-key value columns of the counter models.
C_ATT = 0  # attempts
C_WIN = 1  # wins (correct answers)
C_DEC = 2  # then, per decay rate d: decayed wins at C_DEC + 2d, decayed fails at C_DEC + 2d + 1

# ``offsets`` (int64, 11): first design column of each feature block, -1 when the block is off.
O_ITEM = 0  # item one-hot                              (n_items columns)
O_SKILL = 1  # skill one-hot                            (n_skills)
O_SKILL_LOGA = 2  # per-skill log(1 + attempts)         (n_skills)
O_SKILL_LOGW = 3  # per-skill log(1 + wins)             (n_skills)
O_SKILL_PFAW = 4  # per-skill wins (PFA)                (n_skills)
O_SKILL_PFAF = 5  # per-skill fails (PFA)               (n_skills)
O_ITEM_LOG = 6  # log(1+attempts), log(1+wins) on this item (2 shared columns)
O_TOTAL_LOG = 7  # log(1+attempts), log(1+wins) in total   (2 shared)
O_SKILL_DEC = 8  # decayed wins/fails on the event's skills, mean (2 per decay, shared)
O_TOTAL_DEC = 9  # decayed wins/fails in total           (2 per decay, shared)
O_SKILL_DEC_PS = 10  # decayed wins/fails, per-skill weights (2 per decay x n_skills)
O_ELO = 11  # Elo abilities before the answer: global theta, mean skill theta_k (2 shared)
N_OFFSETS = 12


# Kept as one kernel over 60 lines (issue 10 item 9): one pass over all events updating ~12
# feature families in place; splitting would pass ~20 arrays per helper call per event (not timed).
@njit(cache=True)
def counters_run(
    keys,
    vals,
    totals,
    skill,
    item,
    outcome,
    ev_ptr,
    lr_ptr,
    n_skills,
    offsets,
    decays,
    weights,
    b_item,
    elo_ab,
    out_cols,
    out_vals,
    out_p,
):
    """Counter-feature logistic models (PFA, Best-LR, R-Best-LR) over learners' events.

    Args:
        keys, vals: the first learner's hash table (modified in place), ``vals`` has
            ``2 + 2 * len(decays)`` columns.
        totals: float64 (2 + 2 * len(decays),) learner totals (same layout), in place.
        skill, item: int32 (n_rows,); outcome int8 (n_rows,).
        ev_ptr, lr_ptr: event and learner boundaries (see module doc).
        n_skills: number of skills (item keys are offset by it).
        offsets: int64 (N_OFFSETS,) design column offsets (-1 = block off).
        decays: float64 (D,) decay factors in (0, 1).
        weights: float64 (n_columns,) or empty: logistic weights; column 0 is the bias.
        b_item: float64 (n_items + 1,) Elo item difficulty (used when offsets[O_ELO] >= 0; then
            vals and totals carry two more columns, theta and its update count, after the
            decayed counters), elo_ab: float64 (2,) Elo alpha, beta of K(n) = alpha/(1+beta n).
        out_cols, out_vals: (n_events, max_nnz) design rows (-1 padded) or shape (0, 0).
        out_p: float64 (n_events,) predicted P(correct) (0.5 with empty weights).
    Returns:
        number of used slots in the table after the last learner.
    """
    n_dec = decays.shape[0]
    n_learners = lr_ptr.shape[0] - 1
    write = out_cols.shape[0] > 0
    has_w = weights.shape[0] > 0
    cap = keys.shape[0]
    touched = np.empty(cap, dtype=np.int64)
    n_touched = _occupied_slots(keys, touched)
    maxnnz = out_cols.shape[1] if write else 64
    cols = np.empty(maxnnz + 8, dtype=np.int64)
    fv = np.empty(maxnnz + 8, dtype=np.float64)
    for lrn in range(n_learners):
        if lrn > 0:
            _clear(keys, vals, touched, n_touched)
            n_touched = 0
            for j in range(totals.shape[0]):
                totals[j] = 0.0
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            r0 = ev_ptr[e]
            r1 = ev_ptr[e + 1]
            nk = r1 - r0
            nnz = 0
            cols[nnz] = 0
            fv[nnz] = 1.0
            nnz += 1
            it = item[r0]
            if offsets[O_ITEM] >= 0:
                cols[nnz] = offsets[O_ITEM] + it
                fv[nnz] = 1.0
                nnz += 1
            if offsets[O_ITEM_LOG] >= 0:
                si = _hash_slot(keys, n_skills + it)
                a = 0.0
                w = 0.0
                if keys[si] != EMPTY:
                    a = vals[si, C_ATT]
                    w = vals[si, C_WIN]
                cols[nnz] = offsets[O_ITEM_LOG]
                fv[nnz] = np.log1p(a)
                cols[nnz + 1] = offsets[O_ITEM_LOG] + 1
                fv[nnz + 1] = np.log1p(w)
                nnz += 2
            if offsets[O_TOTAL_LOG] >= 0:
                cols[nnz] = offsets[O_TOTAL_LOG]
                fv[nnz] = np.log1p(totals[C_ATT])
                cols[nnz + 1] = offsets[O_TOTAL_LOG] + 1
                fv[nnz + 1] = np.log1p(totals[C_WIN])
                nnz += 2
            if offsets[O_TOTAL_DEC] >= 0:
                for d in range(n_dec):
                    cols[nnz] = offsets[O_TOTAL_DEC] + 2 * d
                    fv[nnz] = totals[C_DEC + 2 * d]
                    cols[nnz + 1] = offsets[O_TOTAL_DEC] + 2 * d + 1
                    fv[nnz + 1] = totals[C_DEC + 2 * d + 1]
                    nnz += 2
            ce = C_DEC + 2 * n_dec
            elo_z = 0.0
            if offsets[O_ELO] >= 0:
                th = 0.0
                for r in range(r0, r1):
                    sk = _hash_slot(keys, skill[r])
                    if keys[sk] != EMPTY:
                        th += vals[sk, ce]
                th /= nk
                elo_z = totals[ce] + th - b_item[item[r0]]
                cols[nnz] = offsets[O_ELO]
                fv[nnz] = totals[ce]
                cols[nnz + 1] = offsets[O_ELO] + 1
                fv[nnz + 1] = th
                nnz += 2
            if offsets[O_SKILL_DEC] >= 0:
                for d in range(n_dec):
                    cols[nnz] = offsets[O_SKILL_DEC] + 2 * d
                    fv[nnz] = 0.0
                    cols[nnz + 1] = offsets[O_SKILL_DEC] + 2 * d + 1
                    fv[nnz + 1] = 0.0
                    for r in range(r0, r1):
                        sk = _hash_slot(keys, skill[r])
                        if keys[sk] != EMPTY:
                            fv[nnz] += vals[sk, C_DEC + 2 * d] / nk
                            fv[nnz + 1] += vals[sk, C_DEC + 2 * d + 1] / nk
                    nnz += 2
            for r in range(r0, r1):
                k = skill[r]
                sk = _hash_slot(keys, k)
                present = keys[sk] != EMPTY
                a = vals[sk, C_ATT] if present else 0.0
                w = vals[sk, C_WIN] if present else 0.0
                if offsets[O_SKILL] >= 0:
                    cols[nnz] = offsets[O_SKILL] + k
                    fv[nnz] = 1.0
                    nnz += 1
                if offsets[O_SKILL_LOGA] >= 0:
                    cols[nnz] = offsets[O_SKILL_LOGA] + k
                    fv[nnz] = np.log1p(a)
                    nnz += 1
                if offsets[O_SKILL_LOGW] >= 0:
                    cols[nnz] = offsets[O_SKILL_LOGW] + k
                    fv[nnz] = np.log1p(w)
                    nnz += 1
                if offsets[O_SKILL_PFAW] >= 0:
                    cols[nnz] = offsets[O_SKILL_PFAW] + k
                    fv[nnz] = w
                    nnz += 1
                if offsets[O_SKILL_PFAF] >= 0:
                    cols[nnz] = offsets[O_SKILL_PFAF] + k
                    fv[nnz] = a - w
                    nnz += 1
                if offsets[O_SKILL_DEC_PS] >= 0:
                    for d in range(n_dec):
                        base = offsets[O_SKILL_DEC_PS] + (2 * d) * n_skills
                        cols[nnz] = base + k
                        fv[nnz] = vals[sk, C_DEC + 2 * d] if present else 0.0
                        cols[nnz + 1] = base + n_skills + k
                        fv[nnz + 1] = vals[sk, C_DEC + 2 * d + 1] if present else 0.0
                        nnz += 2
                if nnz > maxnnz:
                    break
            # predict
            if has_w:
                z = 0.0
                for j in range(nnz):
                    z += weights[cols[j]] * fv[j]
                out_p[e] = _sigmoid(z)
            else:
                out_p[e] = 0.5
            if write:
                for j in range(maxnnz):
                    if j < nnz:
                        out_cols[e, j] = cols[j]
                        out_vals[e, j] = fv[j]
                    else:
                        out_cols[e, j] = -1
                        out_vals[e, j] = 0.0
            # update: item, skills, totals
            y = float(outcome[r0])
            si, n_touched, _ = _claim(keys, n_skills + it, touched, n_touched)
            vals[si, C_ATT] += 1.0
            vals[si, C_WIN] += y
            for r in range(r0, r1):
                sk, n_touched, _ = _claim(keys, skill[r], touched, n_touched)
                yr = float(outcome[r])
                vals[sk, C_ATT] += 1.0
                vals[sk, C_WIN] += yr
                for d in range(n_dec):
                    lam = decays[d]
                    vals[sk, C_DEC + 2 * d] = lam * vals[sk, C_DEC + 2 * d] + yr
                    vals[sk, C_DEC + 2 * d + 1] = lam * vals[sk, C_DEC + 2 * d + 1] + (1.0 - yr)
            if offsets[O_ELO] >= 0:
                err = y - _sigmoid(elo_z)
                alpha = elo_ab[0]
                beta = elo_ab[1]
                totals[ce] += alpha / (1.0 + beta * totals[ce + 1]) * err
                totals[ce + 1] += 1.0
                for r in range(r0, r1):
                    sk = _hash_slot(keys, skill[r])
                    vals[sk, ce] += alpha / (1.0 + beta * vals[sk, ce + 1]) * err
                    vals[sk, ce + 1] += 1.0
            totals[C_ATT] += 1.0
            totals[C_WIN] += y
            for d in range(n_dec):
                lam = decays[d]
                totals[C_DEC + 2 * d] = lam * totals[C_DEC + 2 * d] + y
                totals[C_DEC + 2 * d + 1] = lam * totals[C_DEC + 2 * d + 1] + (1.0 - y)
    return n_touched


# --------------------------------------------------------------------------- Elo
# Per-skill value columns: ability theta_k, number of updates n_k. Totals: [theta, n].


@njit(cache=True)
def elo_run(keys, vals, totals, skill, item, outcome, ev_ptr, lr_ptr, b_item, alpha, beta, out_p):
    """Elo replay with frozen item difficulties.

    P(correct) = sigmoid(theta + mean_k theta_k - b_item). After the prediction, with
    error ``y - p``, theta += K(n) * err and each event skill's theta_k += K(n_k) * err,
    where K(n) = alpha / (1 + beta * n) and n counts the previous updates of that
    ability (the uncertainty-based step: large while little is known).

    Args:
        keys, vals: hash table (vals has 2 columns: theta_k, n_k); totals float64 (2,).
        b_item: float64 (n_items,) item difficulty (logits).
        alpha, beta: step size parameters (alpha > 0, beta >= 0).
    Returns:
        number of used slots.
    """
    n_learners = lr_ptr.shape[0] - 1
    cap = keys.shape[0]
    touched = np.empty(cap, dtype=np.int64)
    n_touched = _occupied_slots(keys, touched)
    for lrn in range(n_learners):
        if lrn > 0:
            _clear(keys, vals, touched, n_touched)
            n_touched = 0
            totals[0] = 0.0
            totals[1] = 0.0
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            r0 = ev_ptr[e]
            r1 = ev_ptr[e + 1]
            nk = r1 - r0
            th = 0.0
            for r in range(r0, r1):
                sk = _hash_slot(keys, skill[r])
                if keys[sk] != EMPTY:
                    th += vals[sk, 0]
            z = totals[0] + th / nk - b_item[item[r0]]
            p = _sigmoid(z)
            out_p[e] = p
            err = float(outcome[r0]) - p
            totals[0] += alpha / (1.0 + beta * totals[1]) * err
            totals[1] += 1.0
            for r in range(r0, r1):
                sk, n_touched, _ = _claim(keys, skill[r], touched, n_touched)
                vals[sk, 0] += alpha / (1.0 + beta * vals[sk, 1]) * err
                vals[sk, 1] += 1.0
    return n_touched


@njit(cache=True)
def elo_fit_pass(
    learner, skill, item, outcome, ev_ptr, ev_order, n_learners, n_skills, b_item, n_item,
    alpha, beta, gamma,
):
    """One Elo pass over training events in global time order, updating item difficulty.

    ``ev_order`` (int64, n_events) lists events in global time order. Learner abilities
    start at 0 and use K(n) = alpha / (1 + beta n); item difficulty b_i -= gamma * K(n_i) * err
    (in place in ``b_item`` / ``n_item``).
    """
    theta = np.zeros(n_learners)
    n_theta = np.zeros(n_learners)
    theta_k = np.zeros(n_learners * n_skills)
    n_k = np.zeros(n_learners * n_skills)
    loss = 0.0
    for j in range(ev_order.shape[0]):
        e = ev_order[j]
        r0 = ev_ptr[e]
        r1 = ev_ptr[e + 1]
        u = learner[r0]
        it = item[r0]
        th = 0.0
        for r in range(r0, r1):
            th += theta_k[u * n_skills + skill[r]]
        p = _sigmoid(theta[u] + th / (r1 - r0) - b_item[it])
        y = float(outcome[r0])
        err = y - p
        loss -= np.log(p) if y > 0.5 else np.log(1.0 - p)
        theta[u] += alpha / (1.0 + beta * n_theta[u]) * err
        n_theta[u] += 1.0
        for r in range(r0, r1):
            c = u * n_skills + skill[r]
            theta_k[c] += alpha / (1.0 + beta * n_k[c]) * err
            n_k[c] += 1.0
        b_item[it] -= gamma * alpha / (1.0 + beta * n_item[it]) * err
        n_item[it] += 1.0
    return loss


# --------------------------------------------------------------------------- skill transfer
@njit(cache=True, inline="always")
def _mean_vector(skill, outcome, r0, r1, vectors, skill_mean, v):
    """Mean skill vector of rows r0:r1 into ``v``; returns their mean residual y - skill_mean."""
    nk = r1 - r0
    for j in range(v.shape[0]):
        v[j] = 0.0
    res = 0.0
    for r in range(r0, r1):
        s = skill[r]
        for j in range(v.shape[0]):
            v[j] += vectors[s, j] / nk
        res += (float(outcome[r]) - skill_mean[s]) / nk
    return res


@njit(cache=True)
def transfer_run(h, skill, outcome, ev_ptr, lr_ptr, vectors, skill_mean, decays, weights,
                 out_feat, out_p):
    """Evidence from related skills: the learner's decayed sums of past residuals
    ``y - skill_mean`` times the answered skill's vector, read through the vector of the
    skill(s) now asked.

    Per event (skill copies averaged: ``v`` = mean skill vector, ``res`` = mean residual), the
    features before the answer are ``v . h_d`` for each decay ``d`` and ``v . h_all / (n + 1)``
    (cumulative sum over ``n`` previous answers); then ``h_d <- decays[d] h_d + res v``,
    ``h_all <- h_all + res v``, ``n <- n + 1``.

    Args:
        h: float64 ((D + 1) * k + 1,) the first learner's state (in place): D decayed vectors,
            the cumulative vector, the answer count; reset at each later learner.
        skill: int32 (n_rows,); outcome: int8 0/1 or float64 scores in [0, 1] (n_rows,).
        ev_ptr, lr_ptr: event and learner boundaries (module doc).
        vectors: float64 (n_skills, k) skill vectors; skill_mean: float64 (n_skills,) P(correct).
        decays: float64 (D,) in (0, 1).
        weights: float64 (D + 1,) or empty: the features' logistic weights; then
            ``out_p[e] <- sigmoid(logit(out_p[e]) + weights . features``) in place.
        out_feat: float64 (n_events, D + 1) features written, or shape (0, 0).
        out_p: float64 (n_events,) (read and written only with weights).
    """
    k = vectors.shape[1]
    n_dec = decays.shape[0]
    write = out_feat.shape[0] > 0
    has_w = weights.shape[0] > 0
    cnt = (n_dec + 1) * k
    v = np.empty(k)
    for lrn in range(lr_ptr.shape[0] - 1):
        if lrn > 0:
            for j in range(h.shape[0]):
                h[j] = 0.0
        for e in range(lr_ptr[lrn], lr_ptr[lrn + 1]):
            r0 = ev_ptr[e]
            r1 = ev_ptr[e + 1]
            res = _mean_vector(skill, outcome, r0, r1, vectors, skill_mean, v)
            z = 0.0
            for d in range(n_dec + 1):
                f = 0.0
                for j in range(k):
                    f += v[j] * h[d * k + j]
                if d == n_dec:
                    f /= h[cnt] + 1.0
                if write:
                    out_feat[e, d] = f
                if has_w:
                    z += weights[d] * f
            if has_w:
                p = min(max(out_p[e], 1e-15), 1.0 - 1e-15)
                out_p[e] = _sigmoid(np.log(p / (1.0 - p)) + z)
            for d in range(n_dec):
                lam = decays[d]
                for j in range(k):
                    h[d * k + j] = lam * h[d * k + j] + res * v[j]
            for j in range(k):
                h[n_dec * k + j] += res * v[j]
            h[cnt] += 1.0
