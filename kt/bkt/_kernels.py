"""Numba kernels of BKT: EM (Baum-Welch), batch filtering, online replay.

Private: call them only through ``kt.bkt.model`` / ``kt.bkt.online``, which validate
and convert inputs. Every kernel has a plain NumPy twin in ``tests/kt/bkt_reference.py``.

Data layout (built by ``kt.bkt.layout``), ``n`` rows, ``Q`` sequences, ``S`` skills:
    rows are grouped by skill, then learner, then time; one sequence = one (skill, learner) run.
    seq_start int64 (S+1): sequences of skill s are ``seq_start[s]:seq_start[s+1]``.
    seq_row int64 (Q): first row of each sequence; seq_len int64 (Q): its length (>= 1).
    seq_prior int32 (Q): prior class of the sequence (0 unless multiprior).
    obs int8 (n): 1 correct, 0 incorrect.
    soft float64 (n) or (0,): soft evidence (the log's scores in [0, 1]); empty = none, the
        E-step then reads ``obs``. With scores, P(s | mastered) = s (1 - slip) + (1 - s) slip
        and P(s | not mastered) = s guess + (1 - s)(1 - guess) (a latent correct/wrong
        outcome whose evidence weights are s and 1 - s): EM on that model (``_estep_soft``).
    gs int32 (n): guess/slip class of the row (0 unless multigs).
    lr int32 (n): learn class of the transition *after* the row (0 unless multilearn/multipair).
Class indices are local to the skill (EM) or global into flat parameter arrays (predict/replay).

Parameter arrays are flat float64; task ``t`` of EM (one (skill, restart) pair) owns
``guess[gs_off[t]:gs_off[t+1]]`` etc. Transition convention: ``p_learn`` = P(0 -> 1),
``p_forget`` = P(1 -> 0). State 1 = mastered.

Determinism: each EM task runs on one thread with a fixed summation order, so results are
bit-identical whatever the number of threads. No fastmath anywhere; ``error_model="numpy"``
(IEEE division, no Python ZeroDivisionError checks): every division that could see a zero
denominator is guarded explicitly, except a sequence's last-row posterior (``_share``), where
a zero probability of the whole sequence gives NaN counts and a -inf log-likelihood.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

# Rescale the unnormalised forward message when its mass drops below this.
_TINY = 1e-200


@njit(cache=True, inline="always", error_model="numpy")
def _filter_step(p, score, guess, slip, learn, forget):
    """One soft-evidence filtering step; returns (p_correct before, p_mastered after transition)."""
    p_correct = guess * (1.0 - p) + (1.0 - slip) * p
    like_m = score * (1.0 - slip) + (1.0 - score) * slip
    like_n = score * guess + (1.0 - score) * (1.0 - guess)
    num = p * like_m
    den = num + (1.0 - p) * like_n
    if den > 0.0:
        post = num / den
    else:
        post = p
    return p_correct, post * (1.0 - forget) + (1.0 - post) * learn


# Below this a denominator is divided by directly: its reciprocal could overflow.
_RECIP_SAFE = 1e-300


@njit(cache=True, inline="always", error_model="numpy")
def _share(x, y):
    """x / (x + y), y / (x + y) for x, y >= 0 with one division when the sum is not tiny
    (then the reciprocal is finite); two true divisions otherwise (0 / 0 stays NaN)."""
    d = x + y
    if d > _RECIP_SAFE:
        r = 1.0 / d
        return x * r, y * r
    return x / d, y / d


@njit(cache=True, inline="always", error_model="numpy")
def _weights(w, t, m00, n01, m10, n11):
    """Store the backward weights of step t: ``w[4t:4t+4]`` = w00, w01, w10, w11 with
    w_ij = A(i, j) alpha_t(j) / (A alpha_t)(i) (next state i, current state j); the
    arguments are the four products A(i, j) alpha_t(j). Returns the predicted state
    (A alpha_t)(0), (A alpha_t)(1). A zero denominator gives zero weights (pyBKT's NaN -> 0).
    """
    b0 = m00 + n01
    b1 = m10 + n11
    if b0 > 0.0:
        w[4 * t], w[4 * t + 1] = _share(m00, n01)
    else:
        w[4 * t] = 0.0
        w[4 * t + 1] = 0.0
    if b1 > 0.0:
        w[4 * t + 2], w[4 * t + 3] = _share(m10, n11)
    else:
        w[4 * t + 2] = 0.0
        w[4 * t + 3] = 0.0
    return b0, b1


@njit(cache=True, inline="always", error_model="numpy")
def _rescale(a0, a1, ll):
    """Rescale the forward message when its mass falls below ``_TINY``; the log of the scale
    goes into the log-likelihood. Returns (a0, a1, ll)."""
    s = a0 + a1
    if s < _TINY:
        return a0 / s, a1 / s, ll + np.log(s)
    return a0, a1, ll


@njit(cache=True, inline="always", error_model="numpy")
def _class_tables(tab, guess, slip, g0, n_gs, lrn, fgt):
    """Per-(class, observation) tables in ``tab`` for one learn class: coefficient row
    ``kt[(c*2+o)*4 : +4]`` = A(0,0) b_0, A(0,1) b_1, A(1,0) b_0, A(1,1) b_1 (b_j = P(o | state
    j) of guess/slip class c), emission row ``eb[(c*2+o)*2 : +2]`` = b_0, b_1. Returns
    (kt, eb), views of ``tab[:12 n_gs]``."""
    kt = tab[:n_gs * 8]
    eb = tab[n_gs * 8:n_gs * 12]
    for c in range(n_gs):
        g = guess[g0 + c]
        sl = slip[g0 + c]
        for o in range(2):
            b0 = g if o == 1 else 1.0 - g
            b1 = 1.0 - sl if o == 1 else sl
            j = c * 2 + o
            eb[j * 2] = b0
            eb[j * 2 + 1] = b1
            kt[j * 4] = (1.0 - lrn) * b0
            kt[j * 4 + 1] = fgt * b1
            kt[j * 4 + 2] = lrn * b0
            kt[j * 4 + 3] = (1.0 - fgt) * b1
    return kt, eb


@njit(cache=True, inline="always", error_model="numpy")
def _transition_table(tr, learn, forget, l0, n_lr):
    """Fill ``tr`` (n_lr*4) per learn class k with A(0,0), A(1,0), A(0,1), A(1,1) =
    1 - p_learn, p_learn, p_forget, 1 - p_forget of class ``l0 + k``."""
    for k in range(n_lr):
        lrn = learn[l0 + k]
        fgt = forget[l0 + k]
        tr[k * 4] = 1.0 - lrn
        tr[k * 4 + 1] = lrn
        tr[k * 4 + 2] = fgt
        tr[k * 4 + 3] = 1.0 - fgt


@njit(cache=True, inline="always", error_model="numpy")
def _back_counts(w, t, gm0, gm1, cnt_t, k):
    """One backward step with per-class transition counts: xi_t(i, j) = w_ij gamma_{t+1}(i)
    is added to ``cnt_t[k:k+4]``; returns gamma_t(0), gamma_t(1)."""
    p00 = w[4 * t] * gm0
    p01 = w[4 * t + 1] * gm0
    p10 = w[4 * t + 2] * gm1
    p11 = w[4 * t + 3] * gm1
    cnt_t[k] += p00
    cnt_t[k + 1] += p01
    cnt_t[k + 2] += p10
    cnt_t[k + 3] += p11
    return p00 + p10, p01 + p11


@njit(cache=True, inline="always", error_model="numpy")
def _back_step(w, t, gm0, gm1, t00, t01, t10, t11):
    """One backward step with scalar transition totals: xi_t(i, j) = w_ij gamma_{t+1}(i) is
    added to t_ij (next i, current j); returns gamma_t(0), gamma_t(1) and the four totals."""
    p00 = w[4 * t] * gm0
    p01 = w[4 * t + 1] * gm0
    p10 = w[4 * t + 2] * gm1
    p11 = w[4 * t + 3] * gm1
    return p00 + p10, p01 + p11, t00 + p00, t01 + p01, t10 + p10, t11 + p11


# Longer than 60 lines on purpose: forward and backward passes share their loop state in
# registers; splitting them into calls costs speed in this hot loop.
@njit(cache=True, inline="always", error_model="numpy")
def _estep(
    q_lo, q_hi, seq_row, seq_len, seq_prior, obs, gs, lr,
    guess, slip, learn, forget, prior, g0, l0, p0, n_gs, n_lr,
    cnt_e, cnt_t, cnt_i, tab, w, with_counts,
):
    """Scaled forward-backward over sequences ``q_lo:q_hi`` of one skill (any classes).

    Parameters are read at ``guess[g0 + class]`` etc. Expected counts are added to
    ``cnt_e`` (n_gs*4: [class, state, obs]), ``cnt_t`` (n_lr*4: [class, next, cur]) and
    ``cnt_i`` (n_prior*2: [class, state]) when ``with_counts``. Returns the log-likelihood.

    Forward keeps the unnormalised alpha_t (rescaled only when its mass falls below 1e-200;
    the log of every rescale and of the final mass add up to the log-likelihood). The
    backward pass is pyBKT's posterior form: xi_t(i, j) = w_ij gamma_{t+1}(i) with the
    weights w_ij = A(i, j) alpha_t(j) / (A alpha_t)(i), invariant to the scale of alpha_t,
    stored by the forward pass in ``w`` (4 per row). Both states' posteriors and all four
    transition counts are accumulated directly, never as 1 - x: a state or transition with
    a tiny expected mass (p_init 1e-8, say) keeps its full relative precision, so the M-step
    ratios built on it do too. Emission and transition probabilities are looked up in small
    per-class tables (no data-dependent branches).
    """
    em = tab[:n_gs * 4]  # [class, state, obs] emission probability
    for c in range(n_gs):
        g = guess[g0 + c]
        sl = slip[g0 + c]
        em[c * 4] = 1.0 - g
        em[c * 4 + 1] = g
        em[c * 4 + 2] = sl
        em[c * 4 + 3] = 1.0 - sl
    tr = tab[n_gs * 4:n_gs * 4 + n_lr * 4]  # [class]: A(0,0), A(1,0), A(0,1), A(1,1)
    _transition_table(tr, learn, forget, l0, n_lr)
    ll = 0.0
    for q in range(q_lo, q_hi):
        r0 = seq_row[q]
        n_t = seq_len[q]
        pc = seq_prior[q]
        a1 = prior[p0 + pc]
        a0 = 1.0 - a1
        for t in range(n_t - 1):
            i = r0 + t
            e = gs[i] * 4 + obs[i]
            f0 = a0 * em[e]
            f1 = a1 * em[e + 2]
            k = lr[i] * 4
            a0, a1 = _weights(w, t, tr[k] * f0, tr[k + 2] * f1, tr[k + 1] * f0, tr[k + 3] * f1)
            a0, a1, ll = _rescale(a0, a1, ll)
        i = r0 + n_t - 1
        e = gs[i] * 4 + obs[i]
        f0 = a0 * em[e]
        f1 = a1 * em[e + 2]
        ll += np.log(f0 + f1)
        if not with_counts:
            continue
        gm0, gm1 = _share(f0, f1)
        cnt_e[e] += gm0
        cnt_e[e + 2] += gm1
        for t in range(n_t - 2, -1, -1):
            i = r0 + t
            gm0, gm1 = _back_counts(w, t, gm0, gm1, cnt_t, lr[i] * 4)
            e = gs[i] * 4 + obs[i]
            cnt_e[e] += gm0
            cnt_e[e + 2] += gm1
        cnt_i[pc * 2] += gm0
        cnt_i[pc * 2 + 1] += gm1
    return ll


# Longer than 60 lines on purpose: forward and backward passes share their loop state in
# registers; splitting them into calls costs speed in this hot loop.
@njit(cache=True, inline="always", error_model="numpy")
def _estep1(
    q_lo, q_hi, seq_row, seq_len, seq_prior, obs,
    guess, slip, learn, forget, prior, g0, l0, p0,
    cnt_e, cnt_t, cnt_i, tab, w, with_counts,
):
    """``_estep`` for a skill with one guess/slip class and one learn class (the common case).

    Same recursion and the same direct accumulation, arranged for short dependency chains:
    the emission and transition are folded into per-observation coefficients
    k_ij(o) = A(i, j) b_j(o) (``_class_tables`` for the one class), and every count is a
    scalar accumulator (the emission counts as totals per state plus totals over correct
    rows).
    """
    kt, eb = _class_tables(tab, guess, slip, g0, 1, learn[l0], forget[l0])
    ll = 0.0
    t00 = 0.0  # sums of xi(next, cur)
    t01 = 0.0
    t10 = 0.0
    t11 = 0.0
    s0 = 0.0  # sums of gamma_t(0), gamma_t(1) over all rows, and over correct rows
    s1 = 0.0
    s0c = 0.0
    s1c = 0.0
    for q in range(q_lo, q_hi):
        r0 = seq_row[q]
        n_t = seq_len[q]
        pc = seq_prior[q]
        a1 = prior[p0 + pc]
        a0 = 1.0 - a1
        for t in range(n_t - 1):
            j = obs[r0 + t] * 4
            a0, a1 = _weights(w, t, a0 * kt[j], a1 * kt[j + 1], a0 * kt[j + 2], a1 * kt[j + 3])
            a0, a1, ll = _rescale(a0, a1, ll)
        o = obs[r0 + n_t - 1]
        f0 = a0 * eb[o * 2]
        f1 = a1 * eb[o * 2 + 1]
        ll += np.log(f0 + f1)
        if not with_counts:
            continue
        gm0, gm1 = _share(f0, f1)
        s0 += gm0
        s1 += gm1
        if o:
            s0c += gm0
            s1c += gm1
        for t in range(n_t - 2, -1, -1):
            gm0, gm1, t00, t01, t10, t11 = _back_step(w, t, gm0, gm1, t00, t01, t10, t11)
            s0 += gm0
            s1 += gm1
            o = obs[r0 + t]
            s0c += gm0 * o
            s1c += gm1 * o
        cnt_i[pc * 2] += gm0
        cnt_i[pc * 2 + 1] += gm1
    if with_counts:
        cnt_e[0] += s0 - s0c
        cnt_e[1] += s0c
        cnt_e[2] += s1 - s1c
        cnt_e[3] += s1c
        cnt_t[0] += t00
        cnt_t[1] += t01
        cnt_t[2] += t10
        cnt_t[3] += t11
    return ll


@njit(cache=True, inline="always", error_model="numpy")
def _estep_gs(
    q_lo, q_hi, seq_row, seq_len, seq_prior, obs, gs,
    guess, slip, learn, forget, prior, g0, l0, p0, n_gs,
    cnt_e, cnt_t, cnt_i, tab, w, with_counts,
):
    """``_estep`` for a skill with several guess/slip classes and one learn class (multigs).

    ``_estep1``'s arrangement with per-(class, observation) tables (``_class_tables``).
    Transition counts are scalar accumulators; the posteriors of both states are scattered
    per (class, obs).
    """
    lrn = learn[l0]
    fgt = forget[l0]
    kt, eb = _class_tables(tab, guess, slip, g0, n_gs, lrn, fgt)
    acc = tab[n_gs * 12:n_gs * 16]  # per (class, obs): sums of gamma_t(0), gamma_t(1)
    acc[:] = 0.0
    ll = 0.0
    t00 = 0.0
    t01 = 0.0
    t10 = 0.0
    t11 = 0.0
    for q in range(q_lo, q_hi):
        r0 = seq_row[q]
        n_t = seq_len[q]
        pc = seq_prior[q]
        a1 = prior[p0 + pc]
        a0 = 1.0 - a1
        for t in range(n_t - 1):
            j = (gs[r0 + t] * 2 + obs[r0 + t]) * 4
            a0, a1 = _weights(w, t, a0 * kt[j], a1 * kt[j + 1], a0 * kt[j + 2], a1 * kt[j + 3])
            a0, a1, ll = _rescale(a0, a1, ll)
        i = r0 + n_t - 1
        j = gs[i] * 2 + obs[i]
        f0 = a0 * eb[j * 2]
        f1 = a1 * eb[j * 2 + 1]
        ll += np.log(f0 + f1)
        if not with_counts:
            continue
        gm0, gm1 = _share(f0, f1)
        acc[j * 2] += gm0
        acc[j * 2 + 1] += gm1
        for t in range(n_t - 2, -1, -1):
            gm0, gm1, t00, t01, t10, t11 = _back_step(w, t, gm0, gm1, t00, t01, t10, t11)
            j = (gs[r0 + t] * 2 + obs[r0 + t]) * 2
            acc[j] += gm0
            acc[j + 1] += gm1
        cnt_i[pc * 2] += gm0
        cnt_i[pc * 2 + 1] += gm1
    if with_counts:
        for c in range(n_gs):
            for o in range(2):
                j = (c * 2 + o) * 2
                cnt_e[c * 4 + o] += acc[j]
                cnt_e[c * 4 + 2 + o] += acc[j + 1]
        cnt_t[0] += t00
        cnt_t[1] += t01
        cnt_t[2] += t10
        cnt_t[3] += t11
    return ll


@njit(cache=True, inline="always", error_model="numpy")
def _soft_like(s, g, sl):
    """P(evidence s | not mastered), P(evidence s | mastered) for guess g, slip sl. With
    s = 1 or 0 these are exactly g, 1 - sl or 1 - g, sl (the hard emissions)."""
    return s * g + (1.0 - s) * (1.0 - g), s * (1.0 - sl) + (1.0 - s) * sl


@njit(cache=True, inline="always", error_model="numpy")
def _soft_counts(cnt_e, c, s, g, sl, gm0, gm1):
    """Add one row's expected emission counts ``cnt_e[c*4 + state*2 + outcome]``: the state
    posterior times the responsibility of the latent correct / wrong outcome given the state
    (e.g. E[mastered & wrong] = gamma_1 (1 - s) slip / P(s | mastered)). The responsibility
    is formed first, so s = 1 or 0 adds exactly gamma and 0 (the hard E-step's counts)."""
    b0, b1 = _soft_like(s, g, sl)
    if b0 > 0.0:
        cnt_e[c * 4] += gm0 * ((1.0 - s) * (1.0 - g) / b0)
        cnt_e[c * 4 + 1] += gm0 * (s * g / b0)
    if b1 > 0.0:
        cnt_e[c * 4 + 2] += gm1 * ((1.0 - s) * sl / b1)
        cnt_e[c * 4 + 3] += gm1 * (s * (1.0 - sl) / b1)


@njit(cache=True, inline="always", error_model="numpy")
def _estep_soft(
    q_lo, q_hi, seq_row, seq_len, seq_prior, soft, gs, lr,
    guess, slip, learn, forget, prior, g0, l0, p0, n_lr,
    cnt_e, cnt_t, cnt_i, tab, w, with_counts,
):
    """``_estep`` with soft evidence ``soft`` (scores in [0, 1]) instead of outcomes, any
    classes: the emission of each row is ``_soft_like`` of its score, and the emission counts
    split each state's posterior between the latent correct and wrong outcome
    (``_soft_counts``). Same forward/backward recursion and transition counts as ``_estep``.
    """
    tr = tab[:n_lr * 4]  # [class]: A(0,0), A(1,0), A(0,1), A(1,1)
    _transition_table(tr, learn, forget, l0, n_lr)
    ll = 0.0
    for q in range(q_lo, q_hi):
        r0 = seq_row[q]
        n_t = seq_len[q]
        pc = seq_prior[q]
        a1 = prior[p0 + pc]
        a0 = 1.0 - a1
        for t in range(n_t - 1):
            i = r0 + t
            b0, b1 = _soft_like(soft[i], guess[g0 + gs[i]], slip[g0 + gs[i]])
            f0 = a0 * b0
            f1 = a1 * b1
            k = lr[i] * 4
            a0, a1 = _weights(w, t, tr[k] * f0, tr[k + 2] * f1, tr[k + 1] * f0, tr[k + 3] * f1)
            a0, a1, ll = _rescale(a0, a1, ll)
        i = r0 + n_t - 1
        b0, b1 = _soft_like(soft[i], guess[g0 + gs[i]], slip[g0 + gs[i]])
        f0 = a0 * b0
        f1 = a1 * b1
        ll += np.log(f0 + f1)
        if not with_counts:
            continue
        gm0, gm1 = _share(f0, f1)
        _soft_counts(cnt_e, gs[i], soft[i], guess[g0 + gs[i]], slip[g0 + gs[i]], gm0, gm1)
        for t in range(n_t - 2, -1, -1):
            i = r0 + t
            gm0, gm1 = _back_counts(w, t, gm0, gm1, cnt_t, lr[i] * 4)
            _soft_counts(cnt_e, gs[i], soft[i], guess[g0 + gs[i]], slip[g0 + gs[i]], gm0, gm1)
        cnt_i[pc * 2] += gm0
        cnt_i[pc * 2 + 1] += gm1
    return ll


@njit(cache=True, inline="always", error_model="numpy")
def _run_estep(
    q_lo, q_hi, seq_row, seq_len, seq_prior, obs, soft, gs, lr,
    guess, slip, learn, forget, prior, g0, l0, p0, n_gs, n_lr,
    cnt_e, cnt_t, cnt_i, tab, w, with_counts,
):
    """The E-step for this task's class counts. ``tab``: float64 scratch of at least
    16 n_gs + 4 n_lr entries for the per-class tables (allocated once per task, not per
    iteration: with thousands of item classes a fresh table per E-step is a fresh mapping
    of memory, page faults included); ``w``: 4 per row of the longest sequence. A non-empty
    ``soft`` selects the soft-evidence E-step."""
    if soft.shape[0] > 0:
        return _estep_soft(
            q_lo, q_hi, seq_row, seq_len, seq_prior, soft, gs, lr,
            guess, slip, learn, forget, prior, g0, l0, p0, n_lr,
            cnt_e, cnt_t, cnt_i, tab, w, with_counts,
        )
    if n_gs == 1 and n_lr == 1:
        return _estep1(
            q_lo, q_hi, seq_row, seq_len, seq_prior, obs,
            guess, slip, learn, forget, prior, g0, l0, p0,
            cnt_e, cnt_t, cnt_i, tab, w, with_counts,
        )
    if n_lr == 1:
        return _estep_gs(
            q_lo, q_hi, seq_row, seq_len, seq_prior, obs, gs,
            guess, slip, learn, forget, prior, g0, l0, p0, n_gs,
            cnt_e, cnt_t, cnt_i, tab, w, with_counts,
        )
    return _estep(
        q_lo, q_hi, seq_row, seq_len, seq_prior, obs, gs, lr,
        guess, slip, learn, forget, prior, g0, l0, p0, n_gs, n_lr,
        cnt_e, cnt_t, cnt_i, tab, w, with_counts,
    )


@njit(cache=True, inline="always", error_model="numpy")
def _ratio(a, b, default):
    """a / (a + b) of two expected counts, each clamped at 0 (counts recovered by subtraction
    can be -1e-17), so the result is a probability; ``default`` when both are 0."""
    a = max(a, 0.0)
    b = max(b, 0.0)
    d = a + b
    return a / d if d > 0.0 else default


@njit(cache=True, inline="always", error_model="numpy")
def _estimate(a, b, k, bnd, pse, default):
    """Parameter ``k``'s M-step value from its expected counts (``a`` for the event, ``b``
    against): the MAP estimate (a + pse[k, 0]) / (a + b + pse[k, 0] + pse[k, 1]) under a
    Beta(pse[k, 0] + 1, pse[k, 1] + 1) prior (pseudo-counts 0: maximum likelihood, pyBKT's
    rule, bit for bit), clipped to [bnd[k, 0], bnd[k, 1]]; ``default`` when all are 0."""
    v = _ratio(max(a, 0.0) + pse[k, 0], max(b, 0.0) + pse[k, 1], default)
    return min(max(v, bnd[k, 0]), bnd[k, 1])


@njit(cache=True, error_model="numpy")
def _log_prior(guess, slip, learn, forget, prior, g0, l0, p0, n_gs, n_lr, n_pr,
               fx_guess, fx_slip, fx_learn, fx_forget, fx_prior, fx_g0, fx_l0, fx_p0, pse):
    """Sum over the task's free parameters of pse[k, 0] log p + pse[k, 1] log(1 - p): the
    log Beta prior density up to a constant (0 where a pseudo-count is 0)."""
    total = 0.0
    for k in range(5):
        if k == 0:
            arr, fxa, o, f0, n = guess, fx_guess, g0, fx_g0, n_gs
        elif k == 1:
            arr, fxa, o, f0, n = slip, fx_slip, g0, fx_g0, n_gs
        elif k == 2:
            arr, fxa, o, f0, n = learn, fx_learn, l0, fx_l0, n_lr
        elif k == 3:
            arr, fxa, o, f0, n = forget, fx_forget, l0, fx_l0, n_lr
        else:
            arr, fxa, o, f0, n = prior, fx_prior, p0, fx_p0, n_pr
        for c in range(n):
            if fxa[f0 + c] == fxa[f0 + c]:
                continue  # fixed: a constant
            v = arr[o + c]
            if pse[k, 0] > 0.0:
                total += pse[k, 0] * np.log(v)
            if pse[k, 1] > 0.0:
                total += pse[k, 1] * np.log(1.0 - v)
    return total


@njit(cache=True, inline="always", error_model="numpy")
def _mstep(
    cnt_e, cnt_t, cnt_i, guess, slip, learn, forget, prior, g0, l0, p0,
    fx_guess, fx_slip, fx_learn, fx_forget, fx_prior, fx_g0, fx_l0, fx_p0,
    forgets, bnd, pse,
):
    """pyBKT's M-step rules, as MAP estimates when ``pse`` holds Beta pseudo-counts and
    clipped to the bounds ``bnd`` (``_estimate``; rows guess, slip, learn, forget, prior);
    fixed values (non-NaN ``fx_*``) override."""
    n_gs = cnt_e.shape[0] // 4
    for c in range(n_gs):
        g = _estimate(cnt_e[c * 4 + 1], cnt_e[c * 4], 0, bnd, pse, 0.5)
        sl = _estimate(cnt_e[c * 4 + 2], cnt_e[c * 4 + 3], 1, bnd, pse, 0.5)
        fx = fx_guess[fx_g0 + c]
        if fx == fx:
            g = fx
        fx = fx_slip[fx_g0 + c]
        if fx == fx:
            sl = fx
        guess[g0 + c] = g
        slip[g0 + c] = sl
    n_lr = cnt_t.shape[0] // 4
    for k in range(n_lr):
        # cnt_t layout: [class, next, cur]
        lrn = _estimate(cnt_t[k * 4 + 2], cnt_t[k * 4], 2, bnd, pse, 1.0)
        fgt = _estimate(cnt_t[k * 4 + 1], cnt_t[k * 4 + 3], 3, bnd, pse, 0.0)
        fx = fx_learn[fx_l0 + k]
        if fx == fx:
            lrn = fx
        fx = fx_forget[fx_l0 + k]
        if fx == fx:
            fgt = fx
        elif not forgets:
            fgt = 0.0
        learn[l0 + k] = lrn
        forget[l0 + k] = fgt
    n_pr = cnt_i.shape[0] // 2
    for c in range(n_pr):
        fx = fx_prior[fx_p0 + c]
        if fx == fx:
            prior[p0 + c] = fx
        else:
            prior[p0 + c] = _estimate(cnt_i[c * 2 + 1], cnt_i[c * 2], 4, bnd, pse,
                                      prior[p0 + c])


@njit(cache=True)
def _longest(seq_len, q_lo, q_hi):
    """Length of the longest sequence among ``seq_len[q_lo:q_hi]`` (at least 1): the size of
    one task's per-step scratch buffers."""
    longest = 1
    for q in range(q_lo, q_hi):
        if seq_len[q] > longest:
            longest = seq_len[q]
    return longest


class EMData(NamedTuple):
    """The skill-grouped rows of ``em_fit`` (module docstring): int64 seq_start (S+1),
    seq_row (Q), seq_len (Q); int32 seq_prior (Q); int8 obs (n); float64 soft (n) or (0,);
    int32 gs (n), lr (n) (class indices local to the skill)."""

    seq_start: np.ndarray
    seq_row: np.ndarray
    seq_len: np.ndarray
    seq_prior: np.ndarray
    obs: np.ndarray
    soft: np.ndarray
    gs: np.ndarray
    lr: np.ndarray


class EMTasks(NamedTuple):
    """The (skill, restart) tasks, int64: task t fits skill ``task_skill[t]`` with its
    parameters at ``gs_off[t]:gs_off[t+1]`` (guess/slip), ``lr_off`` (learn/forget),
    ``pr_off`` (prior); worker w runs ``order[worker_start[w]:worker_start[w+1]]``."""

    task_skill: np.ndarray
    order: np.ndarray
    worker_start: np.ndarray
    gs_off: np.ndarray
    lr_off: np.ndarray
    pr_off: np.ndarray


class EMParams(NamedTuple):
    """Flat float64 parameters (per task and class): starting values in, fitted values out.
    As ``EMFixed``'s first five fields: fixed values per skill and class (NaN = free)."""

    guess: np.ndarray
    slip: np.ndarray
    learn: np.ndarray
    forget: np.ndarray
    prior: np.ndarray


class EMFixed(NamedTuple):
    """Fixed values per skill and class (float64, NaN = free) and the per-skill class
    offsets (int64 (S+1)) into them."""

    guess: np.ndarray
    slip: np.ndarray
    learn: np.ndarray
    forget: np.ndarray
    prior: np.ndarray
    gs_off: np.ndarray
    lr_off: np.ndarray
    pr_off: np.ndarray


class EMSettings(NamedTuple):
    """forgets (bool: learn p_forget); ``bounds`` float64 (5, 2): [low, high] of every M-step's
    guess, slip, learn, forget, prior (rows in that order; [0, 1] = unbounded); ``pseudo``
    float64 (5, 2): Beta prior pseudo-counts (alpha - 1, beta - 1) per parameter, all 0 =
    maximum likelihood; max_iter (int); tol, rtol (float): the stopping rule of ``em_fit``."""

    forgets: bool
    bounds: np.ndarray
    pseudo: np.ndarray
    max_iter: int
    tol: float
    rtol: float


class EMOut(NamedTuple):
    """Per task: ll float64 (T,) final objective (log-likelihood, plus the log prior with
    pseudo-counts), n_iter int64 (T,) M-steps done, trace float64 (T, L) objective of the
    first L E-steps (NaN after the end; L may be below max_iter to bound memory)."""

    ll: np.ndarray
    n_iter: np.ndarray
    trace: np.ndarray


@njit(cache=True, error_model="numpy")
def _em_task(t, data, tasks, prm, fx, cfg, out):
    """EM of task ``t`` alone (see ``em_fit``): reads and writes only task t's slices.
    (One loop of ~50 lines over the iteration's E-step and M-step calls; the helpers it
    calls are inlined, so splitting it further would only move argument lists around.)"""
    s = tasks.task_skill[t]
    q_lo = data.seq_start[s]
    q_hi = data.seq_start[s + 1]
    w = np.empty(4 * _longest(data.seq_len, q_lo, q_hi))
    g0 = tasks.gs_off[t]
    l0 = tasks.lr_off[t]
    p0 = tasks.pr_off[t]
    n_gs = tasks.gs_off[t + 1] - g0
    n_lr = tasks.lr_off[t + 1] - l0
    n_pr = tasks.pr_off[t + 1] - p0
    cnt_e = np.zeros(n_gs * 4)
    cnt_t = np.zeros(n_lr * 4)
    cnt_i = np.zeros(n_pr * 2)
    tab = np.empty(16 * n_gs + 4 * n_lr)
    prev = -np.inf
    done = False
    n_iter = 0
    stop = cfg.tol > 0.0 or cfg.rtol > 0.0
    use_prior = False
    for k in range(5):
        if cfg.pseudo[k, 0] > 0.0 or cfg.pseudo[k, 1] > 0.0:
            use_prior = True
    ll = 0.0
    for it in range(cfg.max_iter):
        cnt_e[:] = 0.0
        cnt_t[:] = 0.0
        cnt_i[:] = 0.0
        ll = _run_estep(
            q_lo, q_hi, data.seq_row, data.seq_len, data.seq_prior, data.obs, data.soft,
            data.gs, data.lr, prm.guess, prm.slip, prm.learn, prm.forget, prm.prior,
            g0, l0, p0, n_gs, n_lr, cnt_e, cnt_t, cnt_i, tab, w, True,
        )
        if use_prior:
            ll += _log_prior(prm.guess, prm.slip, prm.learn, prm.forget, prm.prior, g0, l0, p0,
                             n_gs, n_lr, n_pr, fx.guess, fx.slip, fx.learn, fx.forget,
                             fx.prior, fx.gs_off[s], fx.lr_off[s], fx.pr_off[s], cfg.pseudo)
        if it < out.trace.shape[1]:
            out.trace[t, it] = ll
        if stop and it >= 1 and ll - prev <= cfg.tol + cfg.rtol * abs(prev):
            done = True
            break
        _mstep(
            cnt_e, cnt_t, cnt_i, prm.guess, prm.slip, prm.learn, prm.forget, prm.prior,
            g0, l0, p0, fx.guess, fx.slip, fx.learn, fx.forget, fx.prior,
            fx.gs_off[s], fx.lr_off[s], fx.pr_off[s], cfg.forgets, cfg.bounds, cfg.pseudo,
        )
        n_iter += 1
        prev = ll
    if not done:
        ll = _run_estep(
            q_lo, q_hi, data.seq_row, data.seq_len, data.seq_prior, data.obs, data.soft,
            data.gs, data.lr, prm.guess, prm.slip, prm.learn, prm.forget, prm.prior,
            g0, l0, p0, n_gs, n_lr, cnt_e, cnt_t, cnt_i, tab, w, False,
        )
        if use_prior:
            ll += _log_prior(prm.guess, prm.slip, prm.learn, prm.forget, prm.prior, g0, l0, p0,
                             n_gs, n_lr, n_pr, fx.guess, fx.slip, fx.learn, fx.forget,
                             fx.prior, fx.gs_off[s], fx.lr_off[s], fx.pr_off[s], cfg.pseudo)
    out.ll[t] = ll
    out.n_iter[t] = n_iter


@njit(cache=True, parallel=True, error_model="numpy")
def em_fit(data, tasks, prm, fx, cfg, out):
    """Baum-Welch EM for every (skill, restart) task in parallel, in place on ``prm``.

    data ``EMData`` (the rows), tasks ``EMTasks``, prm ``EMParams`` (starting values, then
    the fitted ones), fx ``EMFixed``, cfg ``EMSettings``, out ``EMOut``.
    Task t fits skill ``tasks.task_skill[t]`` with parameters at
    ``prm.guess[tasks.gs_off[t]:tasks.gs_off[t+1]]`` etc. Work is handed out as W worker
    lists: worker w runs the tasks ``tasks.order[worker_start[w]:worker_start[w+1]]`` in that
    order, one worker per prange iteration (``kt.bkt.schedule`` balances the lists by rows;
    Numba's own split of a prange is by count, which starves a thread when tasks differ in
    size). Neither the lists nor the thread count can change a result: each task is computed
    by one thread on its own slices. Fixed values ``fx`` are per skill, NaN = free.
    Iteration: E-step (log-likelihood LL_i of the current parameters, plus their log prior
    when ``cfg.pseudo`` has pseudo-counts: EM then maximises the posterior); stop without an
    M-step when ``tol > 0`` or ``rtol > 0``, i >= 1 and LL_i - LL_{i-1} <= tol + rtol |LL_{i-1}|
    (a gain of exactly 0 stops); else M-step. After ``max_iter`` M-steps one forward pass
    gives the final LL. ``out.ll[t]`` = LL of the returned parameters, ``out.n_iter[t]`` =
    M-steps done, ``out.trace[t, i]`` = LL_i (NaN after the end or past the trace width). Only the tasks listed in ``tasks.order`` run (a subset may be passed to fit in
    steps).
    """
    n_workers = tasks.worker_start.shape[0] - 1
    for w in prange(n_workers):
        for j in range(tasks.worker_start[w], tasks.worker_start[w + 1]):
            _em_task(tasks.order[j], data, tasks, prm, fx, cfg, out)


@njit(cache=True, parallel=True, error_model="numpy")
def predict(
    seq_row, seq_len, seq_prior, score, gs, lr, guess, slip, learn, forget, prior,
    out_pc, out_pm, out_pm_next,
):
    """Filter every sequence: per row P(correct) and P(mastered) before the row, and P(mastered)
    after it (incl. transition). Class indices are global. Same arithmetic as ``replay``."""
    for q in prange(seq_row.shape[0]):
        r0 = seq_row[q]
        p = prior[seq_prior[q]]
        for t in range(seq_len[q]):
            i = r0 + t
            c = gs[i]
            k = lr[i]
            pc, p_next = _filter_step(p, score[i], guess[c], slip[c], learn[k], forget[k])
            out_pc[i] = pc
            out_pm[i] = p
            out_pm_next[i] = p_next
            p = p_next


@njit(cache=True, error_model="numpy")
def replay(
    p_state, last_cls, obs_ptr, ev_skill, ev_score, ev_gs, ev_lr, ev_pr, ev_cls,
    guess, slip, learn, forget, prior, out_pc,
):
    """Apply observations in order to one learner's state (updated in place: pass a copy).

    ``obs_ptr`` int64 (n_obs + 1): rows ``obs_ptr[o]:obs_ptr[o+1]`` are the skill copies of
    observation ``o``; ``out_pc[o]`` = mean of the copies' P(correct), all computed before any
    copy is applied (a one-row observation: exactly that row's P(correct)), then each copy
    updates its skill in row order.
    ``p_state[k]`` NaN = no observation of skill k yet: the prior ``prior[ev_pr[e]]`` is used.
    ``last_cls[k]`` receives the item class of the last row of skill k.
    """
    for o in range(obs_ptr.shape[0] - 1):
        r0 = obs_ptr[o]
        r1 = obs_ptr[o + 1]
        if r1 - r0 > 1:
            acc = 0.0
            for e in range(r0, r1):
                k = ev_skill[e]
                p = p_state[k]
                if p != p:
                    p = prior[ev_pr[e]]
                c = ev_gs[e]
                acc += guess[c] * (1.0 - p) + (1.0 - slip[c]) * p
            out_pc[o] = acc / (r1 - r0)
        for e in range(r0, r1):
            k = ev_skill[e]
            p = p_state[k]
            if p != p:
                p = prior[ev_pr[e]]
            c = ev_gs[e]
            j = ev_lr[e]
            pc, p_next = _filter_step(p, ev_score[e], guess[c], slip[c], learn[j], forget[j])
            if r1 - r0 == 1:
                out_pc[o] = pc
            p_state[k] = p_next
            last_cls[k] = ev_cls[e]


@njit(cache=True, inline="always", error_model="numpy")
def observe(values, cells, skills, scores, table, r0, r1, before, after, record):
    """One observation of the online path without classes: rows ``r0:r1`` (distinct cells of
    one learner) of a (5, K) ``table`` (guess, slip, learn, forget, prior by skill column).

    values float64 (C,): P(mastered) per cell (NaN = no evidence yet: the skill's prior),
    updated in place; cells, skills int64 (m,): each row's cell and skill column; scores
    float64 (m,) in [0, 1] (not checked here). P(correct) is predicted once from the values
    before the observation (several rows: the mean of the rows'), then each row's cell takes
    one ``_filter_step`` in row order; with ``record`` each row's value before and after is
    written to ``before`` / ``after`` (m,). Returns the P(correct).

    The one implementation behind ``replay_simple`` (cells = skills) and
    ``kt.bkt._online_kernels`` (``trace_cells``: many learners' cells; ``replay_rows``).
    """
    if r1 - r0 > 1:
        acc = 0.0
        for e in range(r0, r1):
            k = skills[e]
            p = values[cells[e]]
            if p != p:
                p = table[4, k]
            acc += table[0, k] * (1.0 - p) + (1.0 - table[1, k]) * p
        p_obs = acc / (r1 - r0)
    else:
        p_obs = 0.0
    for e in range(r0, r1):
        k = skills[e]
        c = cells[e]
        p = values[c]
        if p != p:
            p = table[4, k]
        pc, p_next = _filter_step(p, scores[e], table[0, k], table[1, k], table[2, k],
                                  table[3, k])
        if r1 - r0 == 1:
            p_obs = pc
        if record:
            before[e] = p
            after[e] = p_next
        values[c] = p_next
    return p_obs


@njit(cache=True, error_model="numpy")
def replay_simple(p_state, last_cls, obs_ptr, ev_skill, ev_score, table, out_pc):
    """``replay`` for a model with one class per parameter: ``table`` float64 (5, K) holds
    skill k's guess, slip, learn, forget and prior in column k (one array: fewer arguments
    to check on each call of the online path). Same arithmetic as ``replay`` / ``predict``.

    Validates as it goes: returns -1 when every row was applied, else the index of the first
    row whose skill is outside 0..K-1 or whose score is outside [0, 1] (the caller then
    discards ``p_state``, so a bad batch changes nothing).
    """
    n_skills = p_state.shape[0]
    for o in range(obs_ptr.shape[0] - 1):
        r0 = obs_ptr[o]
        r1 = obs_ptr[o + 1]
        for e in range(r0, r1):
            k = ev_skill[e]
            if k < 0 or k >= n_skills or not (0.0 <= ev_score[e] <= 1.0):
                return e
            last_cls[k] = 0  # (a bad row later on discards last_cls with p_state)
        # cells = skills; no before/after record (out_pc stands in for the unused arrays)
        out_pc[o] = observe(p_state, ev_skill, ev_skill, ev_score, table, r0, r1, out_pc,
                            out_pc, False)
    return -1


@njit(cache=True, error_model="numpy")
def filter_one(p, score, table, k):
    """One observation of skill column ``k`` of a (5, K) ``replay_simple`` table: the online
    path's single-skill step (``_filter_step``; ``p`` NaN = no evidence yet: the prior).
    Returns (P(correct) before, P(mastered) after the observation and the transition)."""
    if p != p:
        p = table[4, k]
    return _filter_step(p, score, table[0, k], table[1, k], table[2, k], table[3, k])


@njit(cache=True, error_model="numpy")
def group_by_skill(skill, learner, outcome, position, n_pos):
    """Regroup learner-then-time sorted log rows by skill (stable counting sort).

    skill, learner: int32 (n,) log columns; outcome: int8 (n,); position: int64 (n_skill_codes,)
    layout position of each skill code (-1 = not selected). Returns
    (rows int64 (m,), obs int8 (m,), row_skill int64 (m,), seq_row int64 (Q,),
    seq_len int64 (Q,), seq_skill int64 (Q,), seq_start int64 (n_pos+1,)).
    """
    n = skill.shape[0]
    # pass 1 (sequential): rows and sequences per skill; a row starts a sequence when the
    # previous row of its skill (in log order) belongs to another learner
    counts = np.zeros(n_pos + 1, dtype=np.int64)
    seq_start = np.zeros(n_pos + 1, dtype=np.int64)
    last = np.full(n_pos, -1, dtype=np.int64)
    for i in range(n):
        p = position[skill[i]]
        if p >= 0:
            counts[p + 1] += 1
            if learner[i] != last[p]:
                seq_start[p + 1] += 1
                last[p] = learner[i]
    for p in range(n_pos):
        counts[p + 1] += counts[p]
        seq_start[p + 1] += seq_start[p]
    m = counts[n_pos]
    n_seq = seq_start[n_pos]
    # pass 2 (sequential reads, one write stream per skill): scatter rows and sequence starts
    rows = np.empty(m, dtype=np.int64)
    obs = np.empty(m, dtype=np.int8)
    seq_row = np.empty(n_seq, dtype=np.int64)
    fill = counts[:n_pos].copy()
    seq_fill = seq_start[:n_pos].copy()
    last[:] = -1
    for i in range(n):
        p = position[skill[i]]
        if p >= 0:
            j = fill[p]
            fill[p] = j + 1
            rows[j] = i
            obs[j] = outcome[i]
            if learner[i] != last[p]:
                seq_row[seq_fill[p]] = j
                seq_fill[p] += 1
                last[p] = learner[i]
    seq_len = np.empty(n_seq, dtype=np.int64)
    seq_skill = np.empty(n_seq, dtype=np.int64)
    for p in range(n_pos):
        for q in range(seq_start[p], seq_start[p + 1]):
            seq_skill[q] = p
            end = seq_row[q + 1] if q + 1 < seq_start[p + 1] else counts[p + 1]
            seq_len[q] = end - seq_row[q]
    return rows, obs, counts, seq_row, seq_len, seq_skill, seq_start


@njit(cache=True, error_model="numpy")
def code_classes(bounds, key, width):
    """Per-group dense class coding (groups = skills, contiguous ranges of ``key``).

    bounds: int64 (S+1,), group g is ``key[bounds[g]:bounds[g+1]]``; key: int64 (m,) codes in
    0..width-1. Returns (local int32 (m,): index of each code among its group's sorted
    distinct codes, codes int64 (u,): every group's sorted distinct codes concatenated,
    code_start int64 (S+1,): group g's codes are ``codes[code_start[g]:code_start[g+1]]``).
    O(m + sum of u_g log u_g) with one reusable table of ``width`` entries.
    """
    n_groups = bounds.shape[0] - 1
    m = key.shape[0]
    table = np.full(width, -1, dtype=np.int64)
    local = np.empty(m, dtype=np.int32)
    codes = np.empty(m, dtype=np.int64)
    code_start = np.zeros(n_groups + 1, dtype=np.int64)
    u = 0
    for g in range(n_groups):
        lo = bounds[g]
        hi = bounds[g + 1]
        first = u
        for j in range(lo, hi):
            c = key[j]
            if table[c] < 0:
                table[c] = 0
                codes[u] = c
                u += 1
        codes[first:u] = np.sort(codes[first:u])
        for i in range(first, u):
            table[codes[i]] = i - first
        for j in range(lo, hi):
            local[j] = table[key[j]]
        for i in range(first, u):
            table[codes[i]] = -1
        code_start[g + 1] = u
    return local, codes[:u].copy(), code_start
